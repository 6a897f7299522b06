/* hot.c - a target program for heed-trace's tests, with known behaviour:
 *
 *   hot cpu SEC    hot_a (about 70% of CPU, its work inlined from spin_inl) and
 *                  hot_b (about 30%) for SEC seconds of CPU time
 *   hot sys SEC    sys_heavy: reads /dev/zero (most time in the kernel), SEC s of CPU
 *   hot rec N      N times recurse(5): each level sleeps 2 ms then recurses
 *   hot usdt N     N timed tprog:work pairs (every 4th fails, rc -1) and N ticks
 *   hot idle SEC   sleeps
 *   hot calls N    N calls each of entry_nop (starts with a NOP, as libheed's
 *                  functions do) and entry_plain (an ordinary first instruction); prints the
 *                  ns per call of each, to compare uprobe costs under --func
 *
 * It prints what it did as "key value" lines on stdout when done.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"
#include "trace_probes.h"

static volatile unsigned long sink;

static double clock_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of the process: on a busy machine the cpu and sys modes still do SEC
 * seconds of work, so a profile gets its samples. */
static double cpu_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* Always inlined: its samples belong to hot_a's frame plus an inline frame. */
static inline __attribute__((always_inline)) void spin_inl(unsigned long n)
{
	unsigned long i, x = sink;

	for (i = 0; i < n; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
}

__attribute__((noinline)) void hot_a(void)
{
	spin_inl(700000);
}

__attribute__((noinline)) void hot_b(void)
{
	unsigned long i, x = sink;

	for (i = 0; i < 300000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
}

__attribute__((noinline)) void sys_heavy(int fd)
{
	static char buf[1 << 16];

	if (read(fd, buf, sizeof(buf)) < 0)
		sink++;
}

__attribute__((noinline)) void recurse(int n)
{
	struct timespec ts = {0, 2000000};

	nanosleep(&ts, NULL);
	if (n > 1)
		recurse(n - 1);
	sink++;
}

/* A uprobe on a NOP is emulated; on other first instructions the kernel may have to
 * single-step: --func 'entry_*' shows the difference. */
__attribute__((noinline, patchable_function_entry(1))) void entry_nop(void)
{
	sink++;
}

__attribute__((noinline)) void entry_plain(void)
{
	sink++;
}

static void time_calls(const char *name, void (*fn)(void), long n)
{
	double t0 = clock_s(CLOCK_MONOTONIC);
	long i;

	for (i = 0; i < n; i++)
		fn();
	printf("%s_ns %.1f\n", name, (clock_s(CLOCK_MONOTONIC) - t0) * 1e9 / (double)n);
}

__attribute__((noinline)) int work(int id)
{
	int rc = id % 4 == 3 ? -1 : 0;

	if (TPROG_WORK_START_ENABLED())
		TPROG_WORK_START(id);
	sink += id;
	if (TPROG_WORK_DONE_ENABLED())
		TPROG_WORK_DONE(id, rc);
	return rc;
}

int main(int argc, char **argv)
{
	double end, arg;
	long i, rounds = 0, failed = 0;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: hot cpu|sys|rec|usdt|calls|idle N\n");
		return 2;
	}
	if (heed_parse_double(argv[2], &arg) != 0 || arg < 0) {
		fprintf(stderr, "hot: N '%s': not a non-negative number\n", argv[2]);
		return 2;
	}
	end = cpu_s() + arg;
	if (!strcmp(argv[1], "cpu")) {
		while (cpu_s() < end) {
			hot_a();
			hot_b();
			rounds++;
		}
	} else if (!strcmp(argv[1], "sys")) {
		fd = open("/dev/zero", O_RDONLY);
		if (fd < 0) {
			perror("hot: /dev/zero");
			return 1;
		}
		while (cpu_s() < end) {
			sys_heavy(fd);
			rounds++;
		}
		close(fd);
	} else if (!strcmp(argv[1], "rec")) {
		for (i = 0; i < (long)arg; i++)
			recurse(5);
		rounds = (long)arg;
	} else if (!strcmp(argv[1], "usdt")) {
		for (i = 0; i < (long)arg; i++) {
			failed += work((int)i) != 0;
			if (TPROG_TICK_ENABLED())
				TPROG_TICK((unsigned long long)i);
		}
		rounds = (long)arg;
	} else if (!strcmp(argv[1], "calls")) {
		time_calls("entry_nop", entry_nop, (long)arg);
		time_calls("entry_plain", entry_plain, (long)arg);
		rounds = (long)arg;
	} else if (!strcmp(argv[1], "idle")) {
		end = clock_s(CLOCK_MONOTONIC) + arg;
		while (clock_s(CLOCK_MONOTONIC) < end)
			usleep(10000);
	} else {
		fprintf(stderr, "hot: unknown mode %s\n", argv[1]);
		return 2;
	}
	printf("rounds %ld\nfailed %ld\n", rounds, failed);
	return 0;
}
