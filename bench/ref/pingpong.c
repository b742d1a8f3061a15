/*
 * pingpong: the reference echo client for bench/run.
 *
 *   pingpong [-u] [-b] [-n COUNT] [-w WARMUP] [-s SIZE] HOST PORT
 *
 * One payload in flight at a time. Each round trip is timed with
 * CLOCK_MONOTONIC from just before send() to the last byte of the reply, and
 * the reply is compared byte for byte with what was sent. TCP by default
 * (TCP_NODELAY), -u for UDP on a connected socket. Blocking send/recv by
 * default; -b makes the socket non-blocking and spins on recv until the reply
 * is there, which is the kernel's own floor with no scheduler wake-up in it.
 *
 * Prints one JSON line on stdout:
 *   {"p50_us":..,"p90_us":..,"p99_us":..,"min_us":..,"max_us":..,"count":..}
 * Exit status 0 on success, 1 on a run-time failure (refused, timeout,
 * corrupt or short reply), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RECV_TIMEOUT_S 2 /* per reply; a reference must never hang */
#define MAX_UDP 65507
#define MAX_TCP (1 << 20)

struct opts {
	int udp, spin;
	long count, warmup, size;
	const char *host, *port;
};

static void usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "pingpong: %s\n", msg);
	fprintf(stderr, "usage: pingpong [-u] [-b] [-n COUNT] [-w WARMUP] [-s SIZE] HOST PORT\n"
			"  -u  UDP (connected socket) instead of TCP\n"
			"  -b  non-blocking socket, spin on recv (busy poll)\n"
			"  -n  measured round trips (default 10000)\n"
			"  -w  warm-up round trips, not measured (default 1000)\n"
			"  -s  payload bytes (default 64; 1-%d UDP, 1-%d TCP)\n",
		MAX_UDP, MAX_TCP);
	exit(2);
}

static void die(const char *what)
{
	fprintf(stderr, "pingpong: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long number(const char *s, const char *flag, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "pingpong: %s: \"%s\" is not a number from %ld to %ld\n", flag, s, lo, hi);
		exit(2);
	}
	return v;
}

static struct opts parse(int argc, char **argv)
{
	struct opts o = {.count = 10000, .warmup = 1000, .size = 64};
	int c;
	while ((c = getopt(argc, argv, "ubn:w:s:h")) != -1) {
		switch (c) {
		case 'u': o.udp = 1; break;
		case 'b': o.spin = 1; break;
		case 'n': o.count = number(optarg, "-n", 1, 100000000); break;
		case 'w': o.warmup = number(optarg, "-w", 0, 100000000); break;
		case 's': o.size = number(optarg, "-s", 1, MAX_TCP); break;
		case 'h': usage(NULL); break;
		default: usage(NULL);
		}
	}
	if (argc - optind != 2)
		usage("want HOST and PORT");
	if (o.udp && o.size > MAX_UDP)
		usage("-s: a UDP payload is at most 65507 bytes");
	o.host = argv[optind];
	o.port = argv[optind + 1];
	return o;
}

/* dial connects a blocking socket; -b switches it to non-blocking after. */
static int dial(const struct opts *o)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = o->udp ? SOCK_DGRAM : SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai;
	int rc = getaddrinfo(o->host, o->port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "pingpong: %s port %s: %s\n", o->host, o->port, gai_strerror(rc));
		exit(1);
	}
	int fd = socket(ai->ai_family, ai->ai_socktype, 0);
	if (fd < 0)
		die("socket");
	struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
		die("SO_RCVTIMEO");
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		die("SO_SNDTIMEO");
	if (!o->udp) {
		int one = 1;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
			die("TCP_NODELAY");
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("connect");
	freeaddrinfo(ai);
	if (o->spin && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		die("O_NONBLOCK");
	return fd;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* again reports whether a failed call should simply be retried. In spin mode
 * it also enforces the reply timeout that SO_RCVTIMEO gives blocking mode. */
static int again(const struct opts *o, uint64_t deadline)
{
	if (errno == EINTR)
		return 1;
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		return 0;
	if (!o->spin) {
		errno = ETIMEDOUT; /* SO_RCVTIMEO/SO_SNDTIMEO expired */
		return 0;
	}
	if (now_ns() > deadline) {
		errno = ETIMEDOUT;
		return 0;
	}
	return 1;
}

static void send_all(int fd, const struct opts *o, const char *buf, long n, uint64_t deadline)
{
	long off = 0;
	while (off < n) {
		ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
		if (w < 0) {
			if (again(o, deadline))
				continue;
			die("send");
		}
		off += w;
	}
}

/* recv_reply reads one full echo: size bytes of stream for TCP, or exactly one
 * datagram for UDP, which must be size bytes long. */
static void recv_reply(int fd, const struct opts *o, char *buf, long cap, uint64_t deadline)
{
	long off = 0;
	while (off < o->size) {
		ssize_t r = recv(fd, buf + off, o->udp ? cap : o->size - off, 0);
		if (r < 0) {
			if (again(o, deadline))
				continue;
			die(o->udp ? "recv (no reply)" : "recv");
		}
		if (r == 0 && !o->udp) {
			fprintf(stderr, "pingpong: connection closed by the server after %ld of %ld bytes\n", off, o->size);
			exit(1);
		}
		if (o->udp && r != o->size) {
			fprintf(stderr, "pingpong: reply of %zd bytes to a %ld-byte datagram\n", r, o->size);
			exit(1);
		}
		off += r;
	}
}

static void fill(char *buf, long n, long seq)
{
	/* The pattern changes with every round trip, so a stale or misordered
	 * echo does not compare equal. */
	for (long i = 0; i < n; i++)
		buf[i] = (char)((seq * 131 + i * 7) & 0xff);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* pct returns the nearest-rank percentile of sorted samples, in µs. */
static double pct(const uint64_t *s, long n, double p)
{
	long rank = (long)((p / 100.0) * n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return s[rank - 1] / 1000.0;
}

int main(int argc, char **argv)
{
	struct opts o = parse(argc, argv);
	int fd = dial(&o);
	long cap = o.udp ? MAX_UDP + 1 : o.size; /* +1 to see an oversized datagram */
	char *out = malloc(o.size), *in = malloc(cap);
	uint64_t *rtt = malloc(sizeof *rtt * o.count);
	if (!out || !in || !rtt)
		die("malloc");

	for (long i = 0; i < o.warmup + o.count; i++) {
		fill(out, o.size, i);
		uint64_t t0 = now_ns();
		uint64_t deadline = t0 + RECV_TIMEOUT_S * 1000000000ull;
		send_all(fd, &o, out, o.size, deadline);
		recv_reply(fd, &o, in, cap, deadline);
		uint64_t t1 = now_ns();
		if (memcmp(in, out, o.size) != 0) {
			fprintf(stderr, "pingpong: round trip %ld: the echo differs from what was sent\n", i);
			return 1;
		}
		if (i >= o.warmup)
			rtt[i - o.warmup] = t1 - t0;
	}
	close(fd);

	qsort(rtt, o.count, sizeof *rtt, cmp_u64);
	printf("{\"p50_us\":%.3f,\"p90_us\":%.3f,\"p99_us\":%.3f,\"min_us\":%.3f,\"max_us\":%.3f,\"count\":%ld}\n",
	       pct(rtt, o.count, 50), pct(rtt, o.count, 90), pct(rtt, o.count, 99),
	       rtt[0] / 1000.0, rtt[o.count - 1] / 1000.0, o.count);
	return 0;
}
