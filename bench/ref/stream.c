/*
 * stream: a second bulk client for bench/run's server suite, streaming the
 * way a plain blocking program does.
 *
 *   stream [-t SECONDS] [-w SECONDS] [-W BYTES] [-R BYTES] [-r BYTES] [-s BYTES] HOST PORT
 *
 * One TCP connection and two threads on blocking sockets: a writer that sends
 * -W bytes per send(2) for as long as it can, and a reader (the main thread)
 * that receives up to -R bytes per recv(2) and compares every byte with what
 * was written. load -m bulk does the same work in one thread with one epoll
 * loop, so its client never runs beside itself; here the client is two busy
 * threads, and with the server's own thread a two-core machine has three to
 * run. The stream is a fixed pattern (see load.c's bulk), so an echo that is
 * cut, shifted, repeated or reordered does not compare equal.
 *
 * -w seconds of streaming go first, unmeasured (default 0.3), then -t
 * seconds are measured (default 3): Gbit/s of verified echo, counted by the
 * reader. Then the writer stops, shuts its half down, and the reader takes
 * the rest of the echo up to the server's end of stream, which must come
 * when every byte sent is back. -r and -s set SO_RCVBUF and SO_SNDBUF before
 * connecting (default: the kernel's autotuning).
 *
 * No step waits for ever: connect, every send and every recv has a 2 s
 * timeout (SO_SNDTIMEO, SO_RCVTIMEO), the drain after the measured time has
 * 5 s, and alarm(2) ends the process past all of them.
 *
 * Prints one JSON line on stdout; beside the figure, how many bytes an
 * average recv(2) returned while measured (a server that echoes in small
 * pieces shows there) and each thread's CPU time. Exit status 0 on success,
 * 1 on a run-time failure (refused, timeout, corrupt or short echo, closed by
 * the server), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000ull
#define STALL_S 2	     /* connect, one send or one recv with no progress this long fails the run */
#define DRAIN_NS (5 * NS)    /* to get the rest of the echo back after the measured time */
#define MIN_IO 1
#define MAX_IO (16 << 20)
#define MAX_BUF (64 << 20)
#define PERIOD 65521 /* the pattern repeats every PERIOD bytes: a prime, so no write size lines up with it */

struct opts {
	double secs, warm;
	long wsize, rsize, rcvbuf, sndbuf;
	const char *host, *port;
};

static struct opts o;
static int fd;
static char *pat;
static atomic_int stop;
static atomic_ullong tx;			/* bytes the writer has sent */
static unsigned long long sends;		/* writer's send(2) calls */
static double writer_cpu;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "stream: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void usage(const char *fmt, ...)
{
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		fprintf(stderr, "stream: ");
		vfprintf(stderr, fmt, ap);
		fprintf(stderr, "\n");
		va_end(ap);
	}
	fprintf(stderr,
		"usage: stream [-t SECONDS] [-w SECONDS] [-W BYTES] [-R BYTES] [-r BYTES] [-s BYTES] HOST PORT\n"
		"  -t  seconds to measure (default 3)\n"
		"  -w  seconds of warm-up before measuring (default 0.3)\n"
		"  -W  bytes per send(2) of the writer thread (default 131072; %d-%d)\n"
		"  -R  bytes per recv(2) of the reader thread (default 131072; %d-%d)\n"
		"  -r  SO_RCVBUF before connecting (default: the kernel's autotuning)\n"
		"  -s  SO_SNDBUF before connecting (default: the kernel's autotuning)\n",
		MIN_IO, MAX_IO, MIN_IO, MAX_IO);
	exit(2);
}

static double number(const char *s, const char *flag, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *s == '\0' || *end != '\0' || !(v >= lo && v <= hi))
		usage("%s: \"%s\" is not a number from %g to %g", flag, s, lo, hi);
	return v;
}

static long whole(const char *s, const char *flag, long lo, long hi)
{
	double v = number(s, flag, lo, hi);
	if (v != (long)v)
		usage("%s: \"%s\" is not a whole number", flag, s);
	return (long)v;
}

static void parse(int argc, char **argv)
{
	int ch;
	o = (struct opts){.secs = 3, .warm = 0.3, .wsize = 128 << 10, .rsize = 128 << 10};
	while ((ch = getopt(argc, argv, "t:w:W:R:r:s:h")) != -1) {
		switch (ch) {
		case 't': o.secs = number(optarg, "-t", 0.01, 600); break;
		case 'w': o.warm = number(optarg, "-w", 0, 60); break;
		case 'W': o.wsize = whole(optarg, "-W", MIN_IO, MAX_IO); break;
		case 'R': o.rsize = whole(optarg, "-R", MIN_IO, MAX_IO); break;
		case 'r': o.rcvbuf = whole(optarg, "-r", 1, MAX_BUF); break;
		case 's': o.sndbuf = whole(optarg, "-s", 1, MAX_BUF); break;
		default: usage(NULL);
		}
	}
	if (argc - optind != 2)
		usage("want HOST and PORT");
	o.host = argv[optind];
	o.port = argv[optind + 1];
}

static double thread_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double process_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* dial connects a blocking socket with the buffer sizes asked for; the send
 * timeout, set first, also bounds connect(2). */
static void dial(void)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai;
	int rc = getaddrinfo(o.host, o.port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "stream: %s port %s: %s\n", o.host, o.port, gai_strerror(rc));
		exit(2);
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("socket: %s", strerror(errno));
	struct timeval tv = {.tv_sec = STALL_S};
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
		fail("setsockopt SO_SNDTIMEO/SO_RCVTIMEO: %s", strerror(errno));
	int rcv = (int)o.rcvbuf, snd = (int)o.sndbuf;
	if (rcv && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv) < 0)
		fail("setsockopt SO_RCVBUF: %s", strerror(errno));
	if (snd && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd) < 0)
		fail("setsockopt SO_SNDBUF: %s", strerror(errno));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		fail("connect to %s port %s: %s", o.host, o.port,
		     errno == EINPROGRESS ? "no connection within 2 s" : strerror(errno));
	freeaddrinfo(ai);
}

/* writer sends the pattern, -W bytes a call, until the reader says stop,
 * then shuts its half of the connection down. */
static void *writer(void *arg)
{
	(void)arg;
	unsigned long long off = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		ssize_t w = send(fd, pat + off % PERIOD, o.wsize, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				fail("send: no progress for %d s (%llu bytes sent)", STALL_S, off);
			fail("send: %s (%llu bytes sent)", strerror(errno), off);
		}
		sends++;
		off += w;
		atomic_store_explicit(&tx, off, memory_order_release);
	}
	if (shutdown(fd, SHUT_WR) < 0)
		fail("shutdown: %s", strerror(errno));
	writer_cpu = thread_cpu();
	return NULL;
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned)(STALL_S + o.warm + o.secs + DRAIN_NS / NS + 10));

	long ext = o.wsize > o.rsize ? o.wsize : o.rsize;
	/* The stream is pat[offset % PERIOD]; the copy of its start after PERIOD
	 * makes every window of up to ext bytes one contiguous slice. */
	pat = malloc(PERIOD + ext);
	char *rbuf = malloc(o.rsize);
	if (!pat || !rbuf)
		fail("malloc");
	uint32_t x = 2463534242u;
	for (long i = 0; i < PERIOD; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		pat[i] = (char)x;
	}
	for (long i = 0; i < ext; i++)
		pat[PERIOD + i] = pat[i % PERIOD];

	dial();

	pthread_t wt;
	uint64_t start = now_ns(), t0 = start + (uint64_t)(o.warm * NS), t1 = t0 + (uint64_t)(o.secs * NS);
	uint64_t m0 = 0, m1 = 0;
	unsigned long long rx = 0, rx0 = 0, rx1 = 0, recvs = 0, recvs0 = 0, recvs1 = 0;
	int rc = pthread_create(&wt, NULL, writer, NULL);
	if (rc != 0)
		fail("pthread_create: %s", strerror(rc));

	for (;;) {
		ssize_t r = recv(fd, rbuf, o.rsize, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				fail("recv: no echo for %d s (%llu of %llu bytes back)", STALL_S, rx,
				     (unsigned long long)atomic_load(&tx));
			fail("recv: %s", strerror(errno));
		}
		if (r == 0)
			break;
		if (memcmp(rbuf, pat + rx % PERIOD, r) != 0) {
			long at = 0;
			while (rbuf[at] == pat[(rx + at) % PERIOD])
				at++;
			fail("the echo differs from what was sent at byte %llu", rx + at);
		}
		rx += r;
		recvs++;
		uint64_t now = now_ns();
		if (!m0 && now >= t0)
			m0 = now, rx0 = rx, recvs0 = recvs;
		if (!m1 && now >= t1) {
			m1 = now, rx1 = rx, recvs1 = recvs;
			atomic_store(&stop, 1);
		}
		if (m1 && now - m1 > DRAIN_NS)
			fail("%llu bytes still not echoed %llu s after the last write",
			     (unsigned long long)atomic_load(&tx) - rx, DRAIN_NS / NS);
	}
	if (!m1)
		fail("closed by the server after %llu of %llu bytes", rx, (unsigned long long)atomic_load(&tx));
	pthread_join(wt, NULL);
	unsigned long long sent = atomic_load(&tx);
	if (rx != sent)
		fail("closed by the server after %llu of %llu bytes", rx, sent);
	uint64_t end = now_ns();
	/* The sizes the buffers grew to (or were set to), as the run ends. */
	int rcvbuf = 0, sndbuf = 0;
	socklen_t n = sizeof rcvbuf;
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &n);
	n = sizeof sndbuf;
	getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &n);
	close(fd);
	double secs = (m1 - m0) / 1e9;
	unsigned long long bytes = rx1 - rx0, calls = recvs1 - recvs0;
	printf("{\"mode\":\"stream\",\"write_size\":%ld,\"read_size\":%ld,\"rcvbuf\":%d,\"sndbuf\":%d,"
	       "\"secs\":%.3f,\"bytes\":%llu,\"gbps\":%.3f,\"bytes_per_recv\":%.0f,\"sends\":%llu,"
	       "\"total_bytes\":%llu,\"verified\":true,\"elapsed_s\":%.3f,\"cpu_s\":%.3f,"
	       "\"writer_cpu_s\":%.3f,\"reader_cpu_s\":%.3f}\n",
	       o.wsize, o.rsize, rcvbuf, sndbuf, secs, bytes, secs > 0 ? bytes * 8 / secs / 1e9 : 0,
	       calls ? (double)bytes / calls : 0, sends, rx, (end - start) / 1e9, process_cpu(), writer_cpu,
	       thread_cpu());
	return 0;
}
