/* slowops.c - a target program for heed-trace --slow (tests/t_trace_slow.sh): N
 * operations, each a call of do_op between the USDT probes tprog:op__start and
 * tprog:op__done. Every operation does a little work in fast_work; every 50th is
 * slow on top of that:
 *
 *   slowops spin N        the slow ones spin 20 ms of CPU in slow_path
 *   slowops fsync N FILE  every operation writes 4 KiB to FILE; the slow ones
 *                         fsync it, a fast one does not
 *
 * It prints "ops N slow M" on stdout when done.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"
#include "trace_probes.h"

static volatile unsigned long sink;

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Inlined: the samples land in the function that spins, which no tail call hides. */
static inline __attribute__((always_inline)) void spin(double s)
{
	double end = cpu_s() + s;
	unsigned long x = sink;

	while (cpu_s() < end) {
		for (int i = 0; i < 1000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
	}
	sink = x;
}

__attribute__((noinline)) void fast_work(void)
{
	spin(50e-6);
}

__attribute__((noinline)) void slow_path(void)
{
	spin(20e-3);
}

/* fd < 0: spin mode. Returns 0 or -1 (a write failed). */
__attribute__((noinline)) int do_op(int i, int fd)
{
	static char page[4096];

	fast_work();
	if (fd >= 0 && write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
		return -1;
	if (i % 50 != 49)
		return 0;
	if (fd < 0)
		slow_path();
	else if (fsync(fd))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t n;
	int fd = -1, i, fsy;

	fsy = argc == 4 && !strcmp(argv[1], "fsync");
	if (!(fsy || (argc == 3 && !strcmp(argv[1], "spin"))) || heed_parse_u64(argv[2], &n) ||
	    n > 1000000) {
		fprintf(stderr, "usage: slowops spin N | slowops fsync N FILE\n");
		return 2;
	}
	if (fsy) {
		fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) {
			perror(argv[3]);
			return 1;
		}
	}
	for (i = 0; i < (int)n; i++) {
		TPROG_OP_START(i);
		if (do_op(i, fd)) {
			perror("write");
			return 1;
		}
		TPROG_OP_DONE(i);
	}
	if (fd >= 0)
		close(fd);
	printf("ops %d slow %d\n", (int)n, (int)n / 50);
	return 0;
}
