/*
 * load: the load client for bench/run's server suite.
 *
 *   load -m MODE [-u] [-c CONNS] [-t SECONDS] [-w SECONDS] [-s SIZE] [-n COUNT] HOST PORT
 *
 * One thread, one level-triggered epoll set, non-blocking sockets. A client
 * with a thread or goroutine per connection spends the machine's second core
 * on waking itself up: on two cores a goroutine-per-connection Go client tops
 * out near 60k round trips/s, where one event loop drives a one-thread C epoll
 * server until that server has no idle time left. The harness shows that by
 * the server's CPU time next to each figure. (Connection set-up and bulk are
 * another matter on loopback: the connecting side's kernel does the whole
 * handshake, so there this client runs out of core before the C server does.)
 *
 * Modes:
 *   pingpong  CONNS TCP connections (-u: connected UDP sockets), each with one
 *             SIZE-byte payload in flight: send, wait for the whole echo,
 *             compare it byte for byte, send the next. Each round trip is
 *             timed with CLOCK_MONOTONIC from its send to the last byte back.
 *             A TCP echo missing for 2 s fails the run; a UDP one missing for
 *             200 ms counts as lost, and that socket sends the next payload.
 *             A connection counts as open once a first echo came back, and at
 *             most 4 are open without one (see open_all).
 *   connect   CONNS slots, each in a loop: connect, one SIZE-byte echo,
 *             close. Timed per cycle, from socket() to close().
 *   bulk      one TCP connection, SIZE-byte writes (default 64 KiB) while the
 *             echo is read back in the same loop and checked byte for byte
 *             against what was written; Gbit/s of verified echo.
 *   idle      opens CONNS TCP connections (at most 64 being set up at once,
 *             64 new ones a millisecond at most: see open_all), prints its line
 *             once every one is established, and holds them, one socket each,
 *             until stdin (when it is a pipe) closes, SIGTERM or SIGINT, or -t
 *             runs out (exit 1: nobody released them). A connection the
 *             server closes, or data on one, fails the run.
 *
 * pingpong, connect and bulk first run -w seconds unmeasured (default 0.3),
 * then measure for -t seconds (default 3); -n stops pingpong and connect
 * after COUNT measured round trips or connections instead. Round trips still
 * in flight at the end are collected (and counted in total_*, which is what
 * the server did while this process ran), not measured. Percentiles are
 * nearest-rank over at most 2^21 samples, a uniform random sample of all the
 * measured ones when there were more.
 *
 * Prints one JSON line on stdout. Exit status 0 on success, 1 on a run-time
 * failure (refused, timeout, corrupt or short echo, closed by the server,
 * a deadline), 2 on bad usage. Every phase has a deadline, and alarm(2) ends
 * the process if a bug ever outlives them all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000ull
#define MS 1000000ull
#define MAX_CONNS 100000
#define MAX_UDP 65507
#define MAX_TCP (1 << 20)
#define MIN_SIZE 16		  /* a payload carries its sequence number and connection */
#define MAX_SAMPLES (1 << 21)	  /* 16 MiB of RTT samples, then a reservoir */
#define TCP_REPLY_NS (2 * NS)	  /* a TCP echo this late fails the run */
#define UDP_LOST_NS (200 * MS)	  /* a UDP echo this late is lost */
#define CONNECT_PHASE_S 20	  /* to open every connection: a full backlog drops SYNs, retried after 1 s, 3 s, ... */
#define CYCLE_STALL_NS (10 * NS)  /* connect mode: one cycle this long fails the run */
#define DRAIN_NS (5 * NS)	  /* to collect what is in flight at the end */
#define PENDING_MAX 64		  /* connections being opened at once */
#define PRIME_MAX 4		  /* pingpong: connections open but not yet answered (see open_all) */
#define BATCH 256		  /* events per epoll_wait */
#define RBUF (256 * 1024)	  /* bulk: read size */
#define PERIOD 65521		  /* bulk: the pattern repeats every PERIOD bytes (a prime, so 64 KiB writes drift through it) */
#define TAG_STDIN (UINT64_MAX - 1)
#define TAG_SIGNAL (UINT64_MAX - 2)

enum mode { PINGPONG, CONNECT, BULK, IDLE };
static const char *mode_names[] = {"pingpong", "connect", "bulk", "idle"};

struct opts {
	enum mode mode;
	int udp;
	long conns, size, count;
	double secs, warm;
	const char *host, *port;
};

/* conn is one connection (or UDP socket, or connect-mode slot). */
struct conn {
	int fd;
	uint32_t gen;	   /* connect mode: bumped per cycle, so a stale event is ignored */
	int busy;	   /* a payload is in flight (pingpong), a cycle is running (connect) */
	int want_out;	   /* waiting for EPOLLOUT to finish a send */
	int connecting;	   /* connect mode: waiting for the connection */
	uint64_t seq;
	uint64_t sent_ns;  /* pingpong: when the payload in flight was sent; connect: cycle start */
	uint64_t retry_ns; /* connect mode: retry after EADDRNOTAVAIL at this time, 0 if not */
	long out_off, in_off;
	char *out, *in;
};

static struct opts o;
static struct sockaddr_storage addr;
static socklen_t addrlen;
static int ep, sfd;
static struct conn *conns;

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
	fprintf(stderr, "load: ");
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
		fprintf(stderr, "load: ");
		vfprintf(stderr, fmt, ap);
		fprintf(stderr, "\n");
		va_end(ap);
	}
	fprintf(stderr,
		"usage: load -m MODE [-u] [-c CONNS] [-t SECONDS] [-w SECONDS] [-s SIZE] [-n COUNT] HOST PORT\n"
		"  -m  pingpong, connect, bulk or idle\n"
		"  -u  UDP (pingpong only): connected UDP sockets instead of TCP connections\n"
		"  -c  connections, sockets or connect slots (default 1; 1-%d; bulk: 1)\n"
		"  -t  seconds to measure (default 3); idle: the longest hold (default 60)\n"
		"  -w  seconds of warm-up before measuring (default 0.3)\n"
		"  -s  payload bytes (default 64; bulk: the write size, default 65536; %d-%d, UDP to %d)\n"
		"  -n  pingpong, connect: stop after COUNT measured round trips or connections\n",
		MAX_CONNS, MIN_SIZE, MAX_TCP, MAX_UDP);
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
	int ch, m, have_mode = 0, have_t = 0, have_s = 0, have_c = 0;
	o = (struct opts){.conns = 1, .size = 64, .secs = 3, .warm = 0.3};
	while ((ch = getopt(argc, argv, "m:uc:t:w:s:n:h")) != -1) {
		switch (ch) {
		case 'm':
			for (m = 0; m < 4 && strcmp(optarg, mode_names[m]) != 0; m++)
				;
			if (m == 4)
				usage("-m: \"%s\" is not pingpong, connect, bulk or idle", optarg);
			o.mode = m;
			have_mode = 1;
			break;
		case 'u': o.udp = 1; break;
		case 'c': o.conns = whole(optarg, "-c", 1, MAX_CONNS), have_c = 1; break;
		case 't': o.secs = number(optarg, "-t", 0.01, 600), have_t = 1; break;
		case 'w': o.warm = number(optarg, "-w", 0, 60); break;
		case 's': o.size = whole(optarg, "-s", MIN_SIZE, MAX_TCP), have_s = 1; break;
		case 'n': o.count = whole(optarg, "-n", 1, 1e12); break;
		default: usage(NULL);
		}
	}
	if (!have_mode)
		usage("-m MODE is required");
	if (argc - optind != 2)
		usage("want HOST and PORT");
	o.host = argv[optind];
	o.port = argv[optind + 1];
	if (o.udp && o.mode != PINGPONG)
		usage("-u: UDP is for pingpong only");
	if (o.udp && o.size > MAX_UDP)
		usage("-s: a UDP payload is at most %d bytes", MAX_UDP);
	if (o.mode == BULK && have_c && o.conns != 1)
		usage("-c: bulk uses one connection");
	if (o.count && (o.mode == BULK || o.mode == IDLE))
		usage("-n: for pingpong and connect only");
	if (o.mode == BULK && !have_s)
		o.size = 64 * 1024;
	if (o.mode == CONNECT && o.size > 64 * 1024)
		usage("-s: connect mode sends at most 65536 bytes per connection");
	if (o.mode == IDLE && !have_t)
		o.secs = 60;
}

static void resolve(void)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = o.udp ? SOCK_DGRAM : SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai;
	int rc = getaddrinfo(o.host, o.port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "load: %s port %s: %s\n", o.host, o.port, gai_strerror(rc));
		exit(2);
	}
	memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
	addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

/* descriptors makes room for n sockets plus a few, raising the soft limit up
 * to the hard one if it has to. */
static void descriptors(long n)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)n + 16;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		fail("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		usage("-c %ld needs %llu descriptors, and the limit is %llu (ulimit -Hn)", n,
		      (unsigned long long)want, (unsigned long long)rl.rlim_max);
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		fail("setrlimit to %llu descriptors: %s", (unsigned long long)want, strerror(errno));
}

static void watch(int op, int fd, unsigned events, uint64_t tag)
{
	struct epoll_event ev = {.events = events, .data.u64 = tag};
	if (epoll_ctl(ep, op, fd, &ev) < 0)
		fail("epoll_ctl: %s", strerror(errno));
}

/* dial starts a non-blocking connect. It returns 1 when connected at once, 0
 * when in progress, -1 when the kernel has no local port free (EADDRNOTAVAIL:
 * too many connections in TIME_WAIT), after closing the socket. */
static int dial(struct conn *c)
{
	int type = (o.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
	c->fd = socket(addr.ss_family, type, 0);
	if (c->fd < 0)
		fail("socket: %s", strerror(errno));
	if (!o.udp && o.mode == PINGPONG) {
		int one = 1;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	if (connect(c->fd, (struct sockaddr *)&addr, addrlen) == 0)
		return 1;
	if (errno == EINPROGRESS)
		return 0;
	if (errno == EADDRNOTAVAIL) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	fail("connect to %s port %s: %s", o.host, o.port, strerror(errno));
	return -1;
}

/* connected checks the outcome of a non-blocking connect. */
static void connected(struct conn *c)
{
	int err = 0;
	socklen_t n = sizeof err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &n) < 0)
		err = errno;
	if (err)
		fail("connect to %s port %s: %s", o.host, o.port, strerror(err));
}

/* --- payloads ------------------------------------------------------------ */

/* fill writes payload number seq of connection idx: the sequence number, the
 * connection, then bytes derived from both, so that an echo of any other
 * payload, or of this one cut or shifted, does not compare equal. */
static void fill(char *buf, long n, uint64_t seq, uint32_t idx)
{
	memcpy(buf, &seq, 8);
	memcpy(buf + 8, &idx, 4);
	uint32_t x = (uint32_t)seq * 2654435761u ^ idx * 40503u;
	for (long i = 12; i < n; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (char)(x >> 23);
	}
}

/* --- samples ------------------------------------------------------------- */

static uint64_t *samples;
static long nsamples, nseen;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static void record(uint64_t v)
{
	nseen++;
	if (nsamples < MAX_SAMPLES) {
		samples[nsamples++] = v;
		return;
	}
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	uint64_t j = rng % (uint64_t)nseen;
	if (j < MAX_SAMPLES)
		samples[j] = v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* pct returns the nearest-rank percentile of the sorted samples, in µs. */
static double pct(double p)
{
	if (!nsamples)
		return 0;
	long rank = (long)((p / 100.0) * nsamples + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > nsamples)
		rank = nsamples;
	return samples[rank - 1] / 1000.0;
}

static void sort_samples(void) { qsort(samples, nsamples, sizeof *samples, cmp_u64); }

/* process_cpu returns this process's user+system CPU time, in seconds. */
static double process_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* --- pingpong ------------------------------------------------------------ */

static long lost, late;

static void send_rest(struct conn *c, uint64_t idx)
{
	while (c->out_off < o.size) {
		ssize_t w = send(c->fd, c->out + c->out_off, o.size - c->out_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK || (o.udp && errno == ENOBUFS)) {
				if (o.udp) { /* dropped here: the lost timer sends the next */
					c->out_off = o.size;
					return;
				}
				if (!c->want_out)
					watch(EPOLL_CTL_MOD, c->fd, EPOLLIN | EPOLLOUT, idx);
				c->want_out = 1;
				return;
			}
			fail("send on connection %lu: %s", (unsigned long)idx, strerror(errno));
		}
		c->out_off += w;
	}
	if (c->want_out) {
		watch(EPOLL_CTL_MOD, c->fd, EPOLLIN, idx);
		c->want_out = 0;
	}
}

static void send_next(struct conn *c, uint64_t idx, uint64_t now)
{
	c->seq++;
	fill(c->out, o.size, c->seq, (uint32_t)idx);
	c->out_off = c->in_off = 0;
	c->busy = 1;
	c->sent_ns = now;
	send_rest(c, idx);
}

/* stale reports whether a datagram is the echo of an earlier payload of this
 * socket (a late reply to one counted lost). */
static int stale(const struct conn *c, const char *buf, ssize_t n, uint64_t idx)
{
	uint64_t seq;
	uint32_t who;
	if (n != o.size)
		return 0;
	memcpy(&seq, buf, 8);
	memcpy(&who, buf + 8, 4);
	if (who != (uint32_t)idx || seq >= c->seq || seq == 0)
		return 0;
	char *want = malloc(o.size);
	if (!want)
		fail("malloc");
	fill(want, o.size, seq, who);
	int same = memcmp(want, buf, o.size) == 0;
	free(want);
	return same;
}

/* read_echo reads what is there; it returns 1 when the echo in flight is
 * complete and correct, and fails the run on anything else but "not yet". */
static int read_echo(struct conn *c, uint64_t idx, char *scratch)
{
	if (o.udp) {
		for (;;) {
			ssize_t r = recv(c->fd, scratch, MAX_UDP + 1, 0);
			if (r < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					return 0;
				fail("recv on UDP socket %lu: %s", (unsigned long)idx, strerror(errno));
			}
			if (c->busy && r == o.size && memcmp(scratch, c->out, o.size) == 0)
				return 1;
			if (stale(c, scratch, r, idx)) {
				late++;
				continue;
			}
			fail("UDP socket %lu: a %zd-byte datagram that is no echo of a %ld-byte payload sent", (unsigned long)idx, r, o.size);
		}
	}
	if (!c->busy || c->in_off >= c->out_off) {
		ssize_t r = recv(c->fd, scratch, 1, 0);
		if (r == 0)
			fail("connection %lu closed by the server", (unsigned long)idx);
		if (r > 0)
			fail("connection %lu: more bytes back than were sent", (unsigned long)idx);
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		fail("recv on connection %lu: %s", (unsigned long)idx, strerror(errno));
	}
	ssize_t r = recv(c->fd, c->in + c->in_off, c->out_off - c->in_off, 0);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		fail("recv on connection %lu: %s", (unsigned long)idx, strerror(errno));
	}
	if (r == 0)
		fail("connection %lu closed by the server after %ld of %ld bytes", (unsigned long)idx, c->in_off, o.size);
	if (memcmp(c->in + c->in_off, c->out + c->in_off, r) != 0)
		fail("connection %lu: the echo differs from what was sent (payload %lu)", (unsigned long)idx, (unsigned long)c->seq);
	c->in_off += r;
	return c->in_off == o.size;
}

/* open_all opens every connection and leaves each one watched for events.
 *
 * Without scratch, a connection is open once its connect completes; up to
 * PENDING_MAX are being set up at once, and at most PENDING_MAX new ones go
 * out per millisecond. On loopback a connect often completes inside
 * connect(2), this thread's kernel doing the whole handshake before the
 * server has even woken up, so nothing else holds a burst back: 10,000 at
 * once overflowed the C reference's backlog of 128, and with others' work on
 * the machine even 4096, each dropped SYN costing a 1 s retransmit.
 *
 * With scratch (pingpong), a connection is open once the echo of a first
 * payload is back, and at most PRIME_MAX are open without one: a server that
 * forks per connection behind a small listen backlog (socat's is 5, inetd's
 * 10) falls behind a burst of connects, the kernel answers with SYN cookies,
 * and here some of those connections were still unserved 20 s later. UDP
 * sockets go one at a time: socat's UDP-LISTEN,fork hands its listening
 * socket to the child for the first peer, so the first datagrams of other
 * new peers queued there go to that child too, which echoes them joined
 * into one. These first round trips are set-up: they count in
 * total_round_trips only. */
static void open_all(unsigned events, char *scratch)
{
	struct epoll_event evs[BATCH];
	uint64_t deadline = now_ns() + CONNECT_PHASE_S * NS;
	long next = 0, pending = 0, done = 0, cap = !scratch ? PENDING_MAX : o.udp ? 1 : PRIME_MAX;
	while (done < o.conns) {
		for (long round = 0; next < o.conns && pending < cap && round < PENDING_MAX; round++) {
			struct conn *c = &conns[next];
			int rc = dial(c);
			if (rc < 0)
				fail("connection %ld of %ld: no local port free (EADDRNOTAVAIL)", next + 1, o.conns);
			c->connecting = rc == 0;
			watch(EPOLL_CTL_ADD, c->fd, c->connecting ? EPOLLOUT : events, next);
			if (!c->connecting && scratch)
				send_next(c, next, now_ns());
			if (c->connecting || scratch)
				pending++;
			else
				done++;
			next++;
		}
		int n = epoll_wait(ep, evs, BATCH, next < o.conns ? 1 : 10);
		if (n < 0 && errno != EINTR)
			fail("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == TAG_SIGNAL)
				fail("stopped by a signal while connecting");
			struct conn *c = &conns[tag];
			if (c->connecting) {
				connected(c);
				c->connecting = 0;
				watch(EPOLL_CTL_MOD, c->fd, events, tag);
				if (scratch) {
					send_next(c, tag, now_ns());
				} else {
					pending--;
					done++;
				}
				continue;
			}
			if ((evs[i].events & EPOLLOUT) && c->want_out)
				send_rest(c, tag);
			if ((evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && read_echo(c, tag, scratch)) {
				c->busy = 0;
				pending--;
				done++;
			}
		}
		uint64_t now = now_ns();
		if (now > deadline)
			fail("only %ld of %ld connections %s within %d s", done, o.conns,
			     scratch ? "connected and echoed a first payload" : "established", CONNECT_PHASE_S);
		for (long i = 0; o.udp && i < next; i++) /* a first datagram may be lost while the server sets up */
			if (conns[i].busy && now - conns[i].sent_ns > UDP_LOST_NS)
				send_next(&conns[i], i, now);
	}
}

static void pingpong(void)
{
	struct epoll_event evs[BATCH];
	char *scratch = malloc(MAX_UDP + 1);
	samples = malloc(sizeof *samples * MAX_SAMPLES);
	if (!scratch || !samples)
		fail("malloc");
	for (long i = 0; i < o.conns; i++) {
		conns[i].out = malloc(o.size);
		conns[i].in = malloc(o.size);
		if (!conns[i].out || !conns[i].in)
			fail("malloc");
	}
	open_all(EPOLLIN, scratch);

	uint64_t start = now_ns(), t0 = start + (uint64_t)(o.warm * NS), t1 = t0 + (uint64_t)(o.secs * NS);
	uint64_t stop = 0, last_scan = start, measured = 0, total = o.conns;
	long busy = o.conns;
	for (long i = 0; i < o.conns; i++)
		send_next(&conns[i], i, now_ns());

	while (busy > 0) {
		int n = epoll_wait(ep, evs, BATCH, 10);
		if (n < 0 && errno != EINTR)
			fail("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			uint64_t idx = evs[i].data.u64;
			if (idx == TAG_SIGNAL)
				fail("stopped by a signal");
			struct conn *c = &conns[idx];
			if ((evs[i].events & EPOLLOUT) && c->want_out)
				send_rest(c, idx);
			if (!(evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				continue;
			if (!read_echo(c, idx, scratch))
				continue;
			uint64_t now = now_ns();
			total++;
			c->busy = 0;
			if (!stop && c->sent_ns >= t0 && now <= t1) {
				record(now - c->sent_ns);
				if (++measured == (uint64_t)o.count)
					stop = now;
			}
			if (!stop)
				send_next(c, idx, now);
			else
				busy--;
		}
		uint64_t now = now_ns();
		if (!stop && now >= t1)
			stop = t1;
		if (stop && !busy)
			break;
		if (now - last_scan < 20 * MS)
			continue;
		last_scan = now;
		for (long i = 0; i < o.conns; i++) {
			struct conn *c = &conns[i];
			if (!c->busy)
				continue;
			if (!o.udp && now - c->sent_ns > (stop ? DRAIN_NS : TCP_REPLY_NS))
				fail("connection %ld: no echo within %llu s", i, (stop ? DRAIN_NS : TCP_REPLY_NS) / NS);
			if (o.udp && now - c->sent_ns > UDP_LOST_NS) {
				lost++;
				if (stop) {
					c->busy = 0;
					busy--;
				} else {
					send_next(c, i, now);
				}
			}
		}
	}
	uint64_t end = now_ns();
	for (long i = 0; i < o.conns; i++)
		close(conns[i].fd);

	double secs = (stop - t0) / 1e9;
	if (!measured)
		fail("no round trip completed in the %.3f s measured", secs);
	sort_samples();
	printf("{\"mode\":\"pingpong\",\"proto\":\"%s\",\"conns\":%ld,\"size\":%ld,\"secs\":%.3f,"
	       "\"round_trips\":%llu,\"rps\":%.1f,\"p50_us\":%.3f,\"p90_us\":%.3f,\"p99_us\":%.3f,"
	       "\"max_us\":%.3f,\"samples\":%ld,\"total_round_trips\":%llu,\"lost\":%ld,\"late\":%ld,"
	       "\"elapsed_s\":%.3f,\"cpu_s\":%.3f}\n",
	       o.udp ? "udp" : "tcp", o.conns, o.size, secs, (unsigned long long)measured,
	       secs > 0 ? measured / secs : 0, pct(50), pct(90), pct(99), pct(100), nsamples,
	       (unsigned long long)total, lost, late, (end - start) / 1e9, process_cpu());
}

/* --- connect ------------------------------------------------------------- */

static uint64_t tag_of(long idx) { return (uint64_t)conns[idx].gen << 32 | (uint64_t)idx; }

static long addr_busy;

/* begin starts a cycle on slot idx: a new socket and its connect. */
static void begin(long idx, uint64_t now)
{
	struct conn *c = &conns[idx];
	c->gen++;
	c->retry_ns = 0;
	int rc = dial(c);
	if (rc < 0) { /* no local port free: try again in a millisecond */
		addr_busy++;
		c->retry_ns = now + MS;
		return;
	}
	c->busy = 1;
	c->sent_ns = now;
	c->seq++;
	fill(c->out, o.size, c->seq, (uint32_t)idx);
	c->in_off = 0;
	c->connecting = 1;
	watch(EPOLL_CTL_ADD, c->fd, EPOLLOUT, tag_of(idx));
}

/* advance moves a cycle on after an event; it returns 1 when the echo is
 * back whole and correct. */
static int advance(long idx, unsigned events)
{
	struct conn *c = &conns[idx];
	if (c->connecting) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return 0;
		connected(c);
		ssize_t w = send(c->fd, c->out, o.size, MSG_NOSIGNAL);
		if (w != o.size)
			fail("send on a new connection: %s", w < 0 ? strerror(errno) : "short write");
		c->connecting = 0;
		watch(EPOLL_CTL_MOD, c->fd, EPOLLIN, tag_of(idx));
		return 0;
	}
	ssize_t r = recv(c->fd, c->in + c->in_off, o.size - c->in_off, 0);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		fail("recv: %s", strerror(errno));
	}
	if (r == 0)
		fail("connection closed by the server after %ld of %ld bytes", c->in_off, o.size);
	if (memcmp(c->in + c->in_off, c->out + c->in_off, r) != 0)
		fail("the echo differs from what was sent");
	c->in_off += r;
	return c->in_off == o.size;
}

static void connect_loop(void)
{
	struct epoll_event evs[BATCH];
	samples = malloc(sizeof *samples * MAX_SAMPLES);
	if (!samples)
		fail("malloc");
	for (long i = 0; i < o.conns; i++) {
		conns[i].fd = -1;
		conns[i].out = malloc(o.size);
		conns[i].in = malloc(o.size);
		if (!conns[i].out || !conns[i].in)
			fail("malloc");
	}
	uint64_t start = now_ns(), t0 = start + (uint64_t)(o.warm * NS), t1 = t0 + (uint64_t)(o.secs * NS);
	uint64_t stop = 0, measured = 0, total = 0, last_scan = start;
	for (long i = 0; i < o.conns; i++)
		begin(i, start);

	while (!stop) {
		int waiting = 0;
		for (long i = 0; i < o.conns; i++)
			waiting |= conns[i].retry_ns != 0;
		int n = epoll_wait(ep, evs, BATCH, waiting ? 1 : 10);
		if (n < 0 && errno != EINTR)
			fail("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n && !stop; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == TAG_SIGNAL)
				fail("stopped by a signal");
			long idx = (long)(tag & 0xffffffffu);
			struct conn *c = &conns[idx];
			if ((uint32_t)(tag >> 32) != c->gen || !c->busy)
				continue; /* an event for a socket of an earlier cycle */
			if (!advance(idx, evs[i].events))
				continue;
			uint64_t now = now_ns();
			close(c->fd);
			c->fd = -1;
			c->busy = 0;
			total++;
			if (c->sent_ns >= t0 && now <= t1) {
				record(now - c->sent_ns);
				if (++measured == (uint64_t)o.count)
					stop = now;
			}
			if (!stop)
				begin(idx, now);
		}
		uint64_t now = now_ns();
		if (!stop && now >= t1)
			stop = t1;
		for (long i = 0; i < o.conns && !stop; i++)
			if (conns[i].retry_ns && now >= conns[i].retry_ns)
				begin(i, now);
		if (now - last_scan >= 100 * MS) {
			last_scan = now;
			for (long i = 0; i < o.conns; i++)
				if (conns[i].busy && now - conns[i].sent_ns > CYCLE_STALL_NS)
					fail("a connection made no progress for %llu s", CYCLE_STALL_NS / NS);
		}
	}
	/* Cycles still running are cut off: they count for nothing. */
	for (long i = 0; i < o.conns; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	uint64_t end = now_ns();

	double secs = (stop - t0) / 1e9;
	if (!measured)
		fail("no connection completed in the %.3f s measured", secs);
	sort_samples();
	printf("{\"mode\":\"connect\",\"conns\":%ld,\"size\":%ld,\"secs\":%.3f,\"connections\":%llu,"
	       "\"cps\":%.1f,\"p50_us\":%.3f,\"p90_us\":%.3f,\"p99_us\":%.3f,\"max_us\":%.3f,"
	       "\"samples\":%ld,\"total_connections\":%llu,\"addr_busy\":%ld,\"elapsed_s\":%.3f,\"cpu_s\":%.3f}\n",
	       o.conns, o.size, secs, (unsigned long long)measured, secs > 0 ? measured / secs : 0,
	       pct(50), pct(90), pct(99), pct(100), nsamples, (unsigned long long)total, addr_busy,
	       (end - start) / 1e9, process_cpu());
}

/* --- bulk ---------------------------------------------------------------- */

static void bulk(void)
{
	struct epoll_event evs[BATCH];
	long ext = o.size > RBUF ? o.size : RBUF;
	/* The stream is pat[offset % PERIOD]; the copy of its start after PERIOD
	 * makes every window of up to ext bytes one contiguous slice. */
	char *pat = malloc(PERIOD + ext), *rbuf = malloc(RBUF);
	if (!pat || !rbuf)
		fail("malloc");
	uint32_t x = 2463534242u;
	for (long i = 0; i < PERIOD; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		pat[i] = (char)x;
	}
	for (long i = 0; i < ext; i++)
		pat[PERIOD + i] = pat[i % PERIOD];

	open_all(EPOLLIN | EPOLLOUT, NULL);
	struct conn *c = &conns[0];
	uint64_t start = now_ns(), t0 = start + (uint64_t)(o.warm * NS), t1 = t0 + (uint64_t)(o.secs * NS);
	uint64_t tx = 0, rx = 0, rx0 = 0, rx1 = 0, m0 = 0, m1 = 0;
	int writing = 1;

	for (;;) {
		uint64_t now = now_ns();
		if (!m0 && now >= t0)
			m0 = now, rx0 = rx;
		if (writing && now >= t1) {
			m1 = now, rx1 = rx;
			writing = 0;
			watch(EPOLL_CTL_MOD, c->fd, EPOLLIN, 0);
		}
		if (!writing && rx == tx)
			break;
		if (!writing && now - m1 > DRAIN_NS)
			fail("%llu bytes still not echoed %llu s after the last write", (unsigned long long)(tx - rx), DRAIN_NS / NS);
		int n = epoll_wait(ep, evs, BATCH, 10);
		if (n < 0 && errno != EINTR)
			fail("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == TAG_SIGNAL)
				fail("stopped by a signal");
			unsigned e = evs[i].events;
			/* A few calls each way per wake-up, so that neither
			 * direction starves the other. */
			for (int k = 0; k < 4 && writing && (e & EPOLLOUT); k++) {
				ssize_t w = send(c->fd, pat + tx % PERIOD, o.size, MSG_NOSIGNAL);
				if (w < 0) {
					if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
						break;
					fail("send: %s", strerror(errno));
				}
				tx += w;
			}
			for (int k = 0; k < 4 && (e & (EPOLLIN | EPOLLERR | EPOLLHUP)); k++) {
				ssize_t r = recv(c->fd, rbuf, RBUF, 0);
				if (r < 0) {
					if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
						break;
					fail("recv: %s", strerror(errno));
				}
				if (r == 0)
					fail("closed by the server after %llu of %llu bytes", (unsigned long long)rx, (unsigned long long)tx);
				if (rx + r > tx)
					fail("more bytes back than were sent");
				if (memcmp(rbuf, pat + rx % PERIOD, r) != 0) {
					long at = 0;
					while (rbuf[at] == pat[(rx + at) % PERIOD])
						at++;
					fail("the echo differs from what was sent at byte %llu", (unsigned long long)(rx + at));
				}
				rx += r;
			}
		}
	}
	uint64_t end = now_ns();
	close(c->fd);
	double secs = (m1 - m0) / 1e9;
	printf("{\"mode\":\"bulk\",\"size\":%ld,\"secs\":%.3f,\"bytes\":%llu,\"gbps\":%.3f,"
	       "\"total_bytes\":%llu,\"verified\":true,\"elapsed_s\":%.3f,\"cpu_s\":%.3f}\n",
	       o.size, secs, (unsigned long long)(rx1 - rx0), secs > 0 ? (rx1 - rx0) * 8 / secs / 1e9 : 0,
	       (unsigned long long)rx, (end - start) / 1e9, process_cpu());
}

/* --- idle ---------------------------------------------------------------- */

static void idle(void)
{
	struct epoll_event evs[BATCH];
	struct stat st;
	uint64_t start = now_ns();
	open_all(EPOLLIN | EPOLLRDHUP, NULL);
	uint64_t up = now_ns();
	/* stdin counts only when it is a pipe or a socket: from /dev/null it
	 * would end the hold at once. */
	if (fstat(0, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		watch(EPOLL_CTL_ADD, 0, EPOLLIN, TAG_STDIN);
	printf("{\"mode\":\"idle\",\"conns\":%ld,\"established\":%ld,\"connect_s\":%.3f}\n", o.conns, o.conns,
	       (up - start) / 1e9);
	fflush(stdout);

	uint64_t deadline = up + (uint64_t)(o.secs * NS);
	for (;;) {
		uint64_t now = now_ns();
		if (now >= deadline)
			fail("held %ld connections for %g s and nobody released them (close stdin or send SIGTERM)", o.conns, o.secs);
		int n = epoll_wait(ep, evs, BATCH, (int)((deadline - now) / MS) + 1);
		if (n < 0 && errno != EINTR)
			fail("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == TAG_SIGNAL)
				exit(0);
			if (tag == TAG_STDIN) {
				char b[256];
				ssize_t r = read(0, b, sizeof b);
				if (r <= 0 && !(r < 0 && errno == EINTR))
					exit(0);
				continue;
			}
			char b;
			ssize_t r = recv(conns[tag].fd, &b, 1, MSG_DONTWAIT);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			fail("connection %lu of %ld: %s after %.1f s idle", (unsigned long)tag + 1, o.conns,
			     r > 0 ? "unexpected data" : r == 0 ? "closed by the server" : strerror(errno),
			     (now_ns() - up) / 1e9);
		}
	}
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	resolve();
	signal(SIGPIPE, SIG_IGN);
	descriptors(o.conns);

	/* The last resort against a hang: every phase has its own deadline, and
	 * this one is past all of them. */
	double limit = CONNECT_PHASE_S + o.warm + o.secs + DRAIN_NS / NS + 10;
	alarm((unsigned)limit + 1);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || (sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		fail("signalfd: %s", strerror(errno));
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fail("epoll_create1: %s", strerror(errno));
	watch(EPOLL_CTL_ADD, sfd, EPOLLIN, TAG_SIGNAL);
	if (!(conns = calloc(o.conns, sizeof *conns)))
		fail("calloc");

	switch (o.mode) {
	case PINGPONG: pingpong(); break;
	case CONNECT: connect_loop(); break;
	case BULK: bulk(); break;
	case IDLE: idle(); break;
	}
	return 0;
}
