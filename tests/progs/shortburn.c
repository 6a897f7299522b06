/* shortburn.c - a short-lived target for heed-trace's tests (t_trace_exit.sh): a
 * process that is gone before heed-trace reads its samples, so that only the
 * mappings the kernel told at its exec can symbolize them.
 *
 *   shortburn burn MS               short_burn: MS ms of CPU time, then exits
 *   shortburn exec MS PROG ARG...   before_exec: MS ms of CPU time, then execs PROG
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"

static volatile unsigned long sink;

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time, not wall time: on a loaded machine the samples still come. */
__attribute__((noinline)) static void short_burn(double ms)
{
	double end = cpu_ms() + ms;
	unsigned long i;

	while (cpu_ms() < end)
		for (i = 0; i < 10000; i++)
			sink += i;
}

__attribute__((noinline)) static void before_exec(double ms)
{
	double end = cpu_ms() + ms;
	unsigned long i;

	while (cpu_ms() < end)
		for (i = 0; i < 10000; i++)
			sink += i * 3;
}

int main(int argc, char **argv)
{
	double ms;

	if (argc < 3 || heed_parse_double(argv[2], &ms) != 0 || ms < 0 ||
	    (!strcmp(argv[1], "exec") && argc < 4)) {
		fprintf(stderr, "usage: shortburn burn MS | shortburn exec MS PROG ARG...\n");
		return 2;
	}
	if (!strcmp(argv[1], "burn")) {
		short_burn(ms);
		return 0;
	}
	if (!strcmp(argv[1], "exec")) {
		before_exec(ms);
		execv(argv[3], argv + 3);
		perror(argv[3]);
		return 1;
	}
	fprintf(stderr, "shortburn: unknown mode %s\n", argv[1]);
	return 2;
}
