/*
 * flood: a UDP flood from one source, for bench/soak.
 *
 *   flood [-t SECONDS] [-n COUNT] [-s SIZE] HOST PORT
 *
 * One connected UDP socket, so one source address and port, sends SIZE-byte
 * datagrams as fast as it can, a batch per sendmmsg(2), and between batches
 * reads back whatever echoes have arrived (recvmmsg(2)). It stops sending
 * after -t seconds (default 10), after COUNT datagrams (default 50,000,000),
 * or on SIGTERM or SIGINT, whichever comes first; then it collects echoes
 * until none has come for 100 ms (at most 1 s) and prints one JSON line.
 *
 * Every datagram carries its sequence number and bytes derived from it, as
 * load.c's payloads do. That matters twice. An echo server that guards
 * against loops may take a source sending the same bytes over and over for
 * one (loopback serve pauses a source that repeats the last echo 32 times
 * in a row): a constant payload would be measuring the guard, not the
 * server under flood. And every echo can be checked: one that is byte for
 * byte a datagram sent counts as echoed, once; the same sequence number
 * again counts as a dup; anything else as corrupt.
 *
 * Before flooding it sends one datagram at a time until one comes back (2 s
 * at most), then prints "flooding" on stdout: the server answers this
 * source, and the flood has begun. A refused send (ICMP port unreachable:
 * nothing listens any more) ends the run with exit status 1, as does no
 * first echo; bad usage exits 2. alarm(2) backs every deadline up.
 *
 * The JSON line: sent, echoed (intact and first of their number), lost
 * (sent - echoed: dropped by the server, its socket or ours, or refused),
 * corrupt, dup, blocked (sends that found our socket buffer full), the
 * rates over the sending time, stopped_by (time, count or signal), the
 * receive buffer we got (large, so that echoes are lost at the server,
 * not here) and our own CPU time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000ull
#define MS 1000000ull
#define BATCH 64		  /* datagrams per sendmmsg and per recvmmsg */
#define MIN_SIZE 16		  /* the sequence number, then at least 8 checked bytes */
#define MAX_SIZE 1472		  /* a flood of small datagrams; 1472 fills a 1500-byte MTU */
#define MAX_COUNT 1000000000L	  /* the dup bitmap is COUNT bits */
#define RCVBUF (8 << 20)	  /* so that echoes are lost at the server, not here */
#define FIRST_ECHO_NS (2 * NS)	  /* the server must answer within this */
#define FIRST_RESEND_NS (100 * MS) /* resend the first datagram this often */
#define QUIET_NS (100 * MS)	  /* the drain ends after this long without an echo */
#define DRAIN_NS (1 * NS)	  /* and after this long in any case */

static volatile sig_atomic_t signalled;
static int fd;
static long size = 64;
static uint64_t sent, echoed, corrupt, dups, blocked;
static uint8_t *seen; /* one bit per sequence number */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void fail(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "flood: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(status);
}

static void usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "flood: %s\n", msg);
	fprintf(stderr, "usage: flood [-t SECONDS] [-n COUNT] [-s SIZE] HOST PORT\n"
			"  -t  stop sending after this many seconds (default 10, at most 600)\n"
			"  -n  stop sending after COUNT datagrams (default 50000000, at most %ld)\n"
			"  -s  datagram bytes (default 64; %d-%d)\n",
		MAX_COUNT, MIN_SIZE, MAX_SIZE);
	exit(2);
}

static double number(const char *s, const char *flag, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *s == '\0' || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr, "flood: %s: \"%s\" is not a number from %g to %g\n", flag, s, lo, hi);
		usage(NULL);
	}
	return v;
}

static long whole(const char *s, const char *flag, long lo, long hi)
{
	double v = number(s, flag, lo, hi);
	if (v != (long)v) {
		fprintf(stderr, "flood: %s: \"%s\" is not a whole number\n", flag, s);
		usage(NULL);
	}
	return (long)v;
}

/* fill writes datagram seq: the sequence number, then bytes derived from it
 * (load.c's generator), so that no two datagrams are alike and a cut or
 * shifted echo does not compare equal. */
static void fill(char *buf, uint64_t seq)
{
	memcpy(buf, &seq, 8);
	uint32_t x = (uint32_t)seq * 2654435761u ^ (uint32_t)(seq >> 32) * 40503u;
	for (long i = 8; i < size; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (char)(x >> 23);
	}
}

/* check counts one datagram received: echoed, dup or corrupt. */
static void check(const char *buf, ssize_t n, int truncated, char *want)
{
	uint64_t seq;
	if (truncated || n != size) {
		corrupt++;
		return;
	}
	memcpy(&seq, buf, 8);
	if (seq == 0 || seq > sent) {
		corrupt++;
		return;
	}
	fill(want, seq);
	if (memcmp(want, buf, size) != 0) {
		corrupt++;
		return;
	}
	uint8_t bit = (uint8_t)(1u << (seq & 7));
	if (seen[seq >> 3] & bit) {
		dups++;
		return;
	}
	seen[seq >> 3] |= bit;
	echoed++;
}

static char *rbufs, *want;
static struct mmsghdr rmsgs[BATCH];
static struct iovec riov[BATCH];

/* drain reads every echo waiting, without blocking; it returns how many. */
static long drain(void)
{
	long got = 0;
	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			riov[i] = (struct iovec){.iov_base = rbufs + i * (size + 1), .iov_len = size + 1};
			rmsgs[i].msg_hdr = (struct msghdr){.msg_iov = &riov[i], .msg_iovlen = 1};
		}
		int n = recvmmsg(fd, rmsgs, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return got;
			if (errno == ECONNREFUSED)
				fail(1, "recv: %s (is the server still running?)", strerror(errno));
			fail(1, "recvmmsg: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++)
			check(riov[i].iov_base, rmsgs[i].msg_len, rmsgs[i].msg_hdr.msg_flags & MSG_TRUNC, want);
		got += n;
		if (n < BATCH)
			return got;
	}
}

/* first sends datagrams one at a time until an echo comes back. */
static void first(void)
{
	uint64_t start = now_ns();
	char *buf = malloc(size);
	if (!buf)
		fail(1, "malloc");
	while (!echoed) {
		uint64_t now = now_ns();
		if (now - start > FIRST_ECHO_NS)
			fail(1, "no echo of %llu datagrams within %llu s", (unsigned long long)sent, FIRST_ECHO_NS / NS);
		if (signalled)
			fail(1, "stopped by a signal before the first echo");
		fill(buf, ++sent);
		if (send(fd, buf, size, 0) < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
			fail(1, "send: %s", strerror(errno));
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t until = now + FIRST_RESEND_NS;
		while (!echoed && (now = now_ns()) < until) {
			poll(&p, 1, (int)((until - now) / MS) + 1);
			drain();
		}
	}
	free(buf);
}

static void on_signal(int sig) { (void)sig; signalled = 1; }

int main(int argc, char **argv)
{
	double secs = 10;
	long count = 50000000L;
	int ch;
	while ((ch = getopt(argc, argv, "t:n:s:h")) != -1) {
		switch (ch) {
		case 't': secs = number(optarg, "-t", 0.01, 600); break;
		case 'n': count = whole(optarg, "-n", 1, MAX_COUNT); break;
		case 's': size = whole(optarg, "-s", MIN_SIZE, MAX_SIZE); break;
		default: usage(NULL);
		}
	}
	if (argc - optind != 2)
		usage("want HOST and PORT");

	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV}, *ai;
	int rc = getaddrinfo(argv[optind], argv[optind + 1], &hints, &ai);
	if (rc != 0)
		fail(2, "%s port %s: %s", argv[optind], argv[optind + 1], gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail(1, "socket: %s", strerror(errno));
	/* SO_RCVBUFFORCE passes net.core.rmem_max when we may (root); if not,
	 * SO_RCVBUF gets what rmem_max allows. */
	int want_buf = RCVBUF, got_buf = 0;
	socklen_t len = sizeof got_buf;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want_buf, sizeof want_buf) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want_buf, sizeof want_buf);
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got_buf, &len);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		fail(1, "connect to %s port %s: %s", argv[optind], argv[optind + 1], strerror(errno));
	freeaddrinfo(ai);

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	alarm((unsigned)(secs + FIRST_ECHO_NS / NS + DRAIN_NS / NS + 10));

	seen = calloc(count / 8 + 64, 1); /* + what first() sends beyond COUNT */
	rbufs = malloc(BATCH * (size + 1));
	want = malloc(size);
	char *sbufs = malloc(BATCH * size);
	if (!seen || !rbufs || !want || !sbufs)
		fail(1, "malloc");
	struct mmsghdr smsgs[BATCH];
	struct iovec siov[BATCH];

	first();
	printf("flooding\n");
	fflush(stdout);

	uint64_t start = now_ns(), end = start + (uint64_t)(secs * NS);
	const char *why = "time";
	for (;;) {
		if (signalled) {
			why = "signal";
			break;
		}
		if (sent >= (uint64_t)count) {
			why = "count";
			break;
		}
		if (now_ns() >= end)
			break;
		int n = (int)(count - (long)sent < BATCH ? count - (long)sent : BATCH);
		for (int i = 0; i < n; i++) {
			fill(sbufs + i * size, sent + 1 + i);
			siov[i] = (struct iovec){.iov_base = sbufs + i * size, .iov_len = size};
			smsgs[i].msg_hdr = (struct msghdr){.msg_iov = &siov[i], .msg_iovlen = 1};
		}
		int w = sendmmsg(fd, smsgs, n, 0);
		if (w < 0) {
			if (errno == ECONNREFUSED)
				fail(1, "send: %s (is the server still running?)", strerror(errno));
			if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
				fail(1, "sendmmsg: %s", strerror(errno));
			/* The socket's send buffer is full: wait for room, or an echo. */
			blocked++;
			struct pollfd p = {.fd = fd, .events = POLLOUT | POLLIN};
			poll(&p, 1, 1);
			w = 0;
		}
		sent += w;
		drain();
	}
	uint64_t stopped = now_ns();

	/* Collect what is still on its way. */
	uint64_t last = stopped;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	for (uint64_t now = stopped; now - last < QUIET_NS && now - stopped < DRAIN_NS; now = now_ns()) {
		poll(&p, 1, 10);
		if (drain() > 0)
			last = now_ns();
	}

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double s = (stopped - start) / 1e9;
	printf("{\"mode\":\"flood\",\"size\":%ld,\"secs\":%.3f,\"stopped_by\":\"%s\",\"sent\":%llu,"
	       "\"echoed\":%llu,\"lost\":%llu,\"corrupt\":%llu,\"dup\":%llu,\"blocked\":%llu,"
	       "\"sent_per_s\":%.0f,\"echoed_per_s\":%.0f,\"rcvbuf\":%d,\"cpu_s\":%.3f}\n",
	       size, s, why, (unsigned long long)sent, (unsigned long long)echoed,
	       (unsigned long long)(sent - echoed), (unsigned long long)corrupt, (unsigned long long)dups,
	       (unsigned long long)blocked, s > 0 ? sent / s : 0, s > 0 ? echoed / s : 0, got_buf,
	       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return 0;
}
