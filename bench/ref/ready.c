/*
 * ready: how long a server takes from its start to its first line on stdout.
 *
 *   ready [-n STARTS] [-t SECONDS] PROGRAM [ARG...]
 *
 * Starts PROGRAM STARTS times (default 20), one after the other, with its
 * stdout on a pipe. Each time is from just before execv(2), read from
 * CLOCK_MONOTONIC in the child, to the parent reading the first newline: so
 * it holds the kernel's exec, the program's own start-up, binding, and the
 * write, and not the fork or anything of a shell's. After the line the
 * program gets SIGTERM and 5 s to exit (then SIGKILL); a start that prints
 * no line within -t seconds (default 5) fails the run. PROGRAM is a path,
 * not looked up in PATH. The children die with this process (PR_SET_PDEATHSIG).
 *
 * Prints one JSON line on stdout: nearest-rank percentiles of the starts,
 * in ms, and the first line the program printed the first time.
 * Exit status 0 on success, 1 on a run-time failure, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_STARTS 10000
#define STOP_S 5

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "ready: %s\n", msg);
	fprintf(stderr, "usage: ready [-n STARTS] [-t SECONDS] PROGRAM [ARG...]\n"
			"  -n  starts (default 20; 1-%d)\n"
			"  -t  seconds to wait for each first line (default 5; 1-60)\n",
		MAX_STARTS);
	exit(2);
}

static long number(const char *s, const char *flag, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "ready: %s: \"%s\" is not a number from %ld to %ld\n", flag, s, lo, hi);
		exit(2);
	}
	return v;
}

/* stop ends the child: SIGTERM, STOP_S seconds to exit, then SIGKILL. */
static void stop(pid_t pid)
{
	kill(pid, SIGTERM);
	for (int i = 0; i < STOP_S * 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(10000);
	}
	fprintf(stderr, "ready: pid %d still there %d s after SIGTERM: SIGKILL\n", (int)pid, STOP_S);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static double pct(const uint64_t *s, long n, double p)
{
	long rank = (long)((p / 100.0) * n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return s[rank - 1] / 1e6;
}

int main(int argc, char **argv)
{
	long starts = 20, wait_s = 5;
	int ch;
	while ((ch = getopt(argc, argv, "+n:t:h")) != -1) {
		switch (ch) {
		case 'n': starts = number(optarg, "-n", 1, MAX_STARTS); break;
		case 't': wait_s = number(optarg, "-t", 1, 60); break;
		default: usage(NULL);
		}
	}
	if (optind >= argc)
		usage("want PROGRAM");
	char **cmd = argv + optind;
	if (!strchr(cmd[0], '/'))
		usage("PROGRAM must be a path (./x or /usr/bin/x): it is not looked up in PATH");

	uint64_t *t = malloc(sizeof *t * starts);
	/* The child writes its start time here, just before execv. */
	volatile uint64_t *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!t || shared == MAP_FAILED) {
		perror("ready: memory");
		return 1;
	}
	char first[512] = "";
	pid_t parent = getpid();

	for (long i = 0; i < starts; i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			perror("ready: pipe");
			return 1;
		}
		*shared = 0;
		pid_t pid = fork();
		if (pid < 0) {
			perror("ready: fork");
			return 1;
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(127);
			dup2(p[1], 1); /* dup2 clears O_CLOEXEC on the copy */
			*shared = now_ns();
			execv(cmd[0], cmd);
			fprintf(stderr, "ready: %s: %s\n", cmd[0], strerror(errno));
			_exit(127);
		}
		close(p[1]);

		char buf[512];
		size_t have = 0;
		uint64_t deadline = now_ns() + (uint64_t)wait_s * 1000000000u, done = 0;
		while (!done) {
			uint64_t now = now_ns();
			if (now >= deadline) {
				fprintf(stderr, "ready: start %ld: no line on stdout within %ld s\n", i + 1, wait_s);
				stop(pid);
				return 1;
			}
			struct pollfd pfd = {.fd = p[0], .events = POLLIN};
			int n = poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1);
			if (n < 0 && errno != EINTR) {
				perror("ready: poll");
				stop(pid);
				return 1;
			}
			if (n <= 0)
				continue;
			ssize_t r = read(p[0], buf + have, sizeof buf - 1 - have);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				fprintf(stderr, "ready: start %ld: %s closed stdout before a whole line\n", i + 1, cmd[0]);
				stop(pid);
				return 1;
			}
			char *nl = memchr(buf + have, '\n', r);
			have += r;
			if (nl) {
				done = now_ns();
				*nl = '\0';
			} else if (have == sizeof buf - 1) {
				done = now_ns(); /* a first line this long is over anyway */
				buf[have] = '\0';
			}
		}
		if (!*shared) {
			fprintf(stderr, "ready: start %ld: the child recorded no start time\n", i + 1);
			stop(pid);
			return 1;
		}
		t[i] = done - *shared;
		if (i == 0)
			snprintf(first, sizeof first, "%s", buf);
		close(p[0]);
		stop(pid);
	}

	qsort(t, starts, sizeof *t, cmp_u64);
	printf("{\"starts\":%ld,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"min_ms\":%.3f,\"max_ms\":%.3f,\"first_line\":\"",
	       starts, pct(t, starts, 50), pct(t, starts, 90), pct(t, starts, 99), t[0] / 1e6, t[starts - 1] / 1e6);
	for (const char *c = first; *c; c++) /* JSON-escape what a server printed */
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if ((unsigned char)*c < 0x20)
			printf("\\u%04x", *c);
		else
			putchar(*c);
	printf("\"}\n");
	return 0;
}
