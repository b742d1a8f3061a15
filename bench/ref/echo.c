/*
 * echo: the reference echo server for bench/run.
 *
 *   echo [-b] [-p PORT]
 *
 * TCP and UDP echo on one port number of 127.0.0.1, served by one thread with
 * one level-triggered epoll set and non-blocking sockets. With port 0 (the
 * default) the kernel picks the TCP port and UDP binds the same number; if
 * that UDP port is taken, a new pair is tried. Once both are bound it prints
 * the port and a newline on stdout. -b spins (epoll_wait with timeout 0)
 * instead of sleeping in the kernel, for the both-ends-spinning floor.
 * SIGTERM or SIGINT stops it with exit status 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (64 * 1024)
#define BIND_TRIES 16

/* conn is one TCP connection. While an echo is only partly written, the rest
 * waits in buf and the connection waits for EPOLLOUT instead of reading. */
struct conn {
	int fd;
	size_t off, len;
	char buf[BUF];
};

/* Sentinels for the three kinds of descriptor that are not connections. */
static char tcp_tag, udp_tag, sig_tag;
static char udp_buf[BUF];

static void die(const char *what)
{
	fprintf(stderr, "echo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int bound(int type, int port)
{
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t n = sizeof a;
	if (getsockname(fd, (struct sockaddr *)&a, &n) < 0)
		die("getsockname");
	return ntohs(a.sin_port);
}

/* listen_pair binds TCP and UDP to the same port number and returns it. */
static int listen_pair(int want, int *tcp, int *udp)
{
	for (int i = 0; i < BIND_TRIES; i++) {
		if ((*tcp = bound(SOCK_STREAM, want)) < 0)
			die("bind tcp");
		int port = port_of(*tcp);
		if ((*udp = bound(SOCK_DGRAM, port)) >= 0) {
			/* The kernel caps the backlog at net.core.somaxconn, which
			 * is what Go's listeners ask for: with 128, a burst of
			 * connects (bench/run opens 10,000 idle ones) overflows it
			 * while this thread waits to be woken, and every dropped
			 * SYN costs its client a 1 s retransmit. */
			if (listen(*tcp, 65535) < 0)
				die("listen");
			return port;
		}
		if (errno != EADDRINUSE || want != 0)
			die("bind udp");
		close(*tcp);
	}
	fprintf(stderr, "echo: no port free for both tcp and udp after %d tries\n", BIND_TRIES);
	exit(1);
}

static void watch(int ep, int fd, unsigned events, void *ptr)
{
	struct epoll_event ev = {.events = events, .data.ptr = ptr};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl add");
}

static void rewatch(int ep, struct conn *c, unsigned events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl mod");
}

static void drop(struct conn *c)
{
	close(c->fd); /* also removes it from the epoll set */
	free(c);
}

static void accept_all(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				fprintf(stderr, "echo: accept: %s\n", strerror(errno));
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = malloc(sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->off = c->len = 0;
		watch(ep, fd, EPOLLIN, c);
	}
}

/* flush writes what is pending; it returns -1 when the peer is gone. */
static int flush(int ep, struct conn *c)
{
	while (c->off < c->len) {
		ssize_t w = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				rewatch(ep, c, EPOLLOUT);
				return 0;
			}
			return -1;
		}
		c->off += w;
	}
	c->off = c->len = 0;
	return 0;
}

static void serve_conn(int ep, struct conn *c)
{
	if (c->len > 0) { /* waiting for EPOLLOUT */
		if (flush(ep, c) < 0)
			drop(c);
		else if (c->len == 0)
			rewatch(ep, c, EPOLLIN);
		return;
	}
	ssize_t r = recv(c->fd, c->buf, BUF, 0);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r <= 0) { /* closed by the peer, or reset */
		drop(c);
		return;
	}
	c->off = 0;
	c->len = r;
	if (flush(ep, c) < 0)
		drop(c);
}

static void serve_udp(int fd)
{
	/* Drain what is queued; a reply the kernel cannot take now is dropped,
	 * as UDP allows. */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage from;
		socklen_t n = sizeof from;
		ssize_t r = recvfrom(fd, udp_buf, BUF, 0, (struct sockaddr *)&from, &n);
		if (r < 0)
			return;
		sendto(fd, udp_buf, r, MSG_NOSIGNAL, (struct sockaddr *)&from, n);
	}
}

/* port_arg returns the port number in s, or -1 when s is not one. */
static int port_arg(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	return (*s && !*end && v >= 0 && v <= 65535) ? (int)v : -1;
}

static int signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		die("sigprocmask");
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		die("signalfd");
	return fd;
}

int main(int argc, char **argv)
{
	int spin = 0, want = 0, ch;
	while ((ch = getopt(argc, argv, "bp:")) != -1) {
		if (ch == 'b')
			spin = 1;
		else if (ch == 'p' && (want = port_arg(optarg)) >= 0)
			continue;
		else
			goto usage;
	}
	if (optind != argc)
		goto usage;

	int sfd = signals(), tcp, udp;
	int port = listen_pair(want, &tcp, &udp);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	watch(ep, tcp, EPOLLIN, &tcp_tag);
	watch(ep, udp, EPOLLIN, &udp_tag);
	watch(ep, sfd, EPOLLIN, &sig_tag);
	printf("%d\n", port);
	fflush(stdout);

	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(ep, evs, 64, spin ? 0 : -1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &sig_tag)
				return 0;
			else if (p == &tcp_tag)
				accept_all(ep, tcp);
			else if (p == &udp_tag)
				serve_udp(udp);
			else
				serve_conn(ep, p);
		}
	}

usage:
	fprintf(stderr, "usage: echo [-b] [-p PORT]\n"
			"  -b  spin: epoll_wait with timeout 0 instead of sleeping\n"
			"  -p  port for both TCP and UDP on 127.0.0.1 (default 0: the kernel picks)\n");
	return 2;
}
