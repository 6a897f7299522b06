/* main.c - tests/progs/nofp: "nofp SECONDS" runs the chain of chain.h in a loop for
 * SECONDS; t_trace_unwind.sh checks that the samples carry it whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"

#define LEVEL(name, next)                                                                          \
	__attribute__((noipa)) static unsigned long name(unsigned long n)                          \
	{                                                                                          \
		volatile char pad[64];                                                             \
		unsigned long r;                                                                   \
                                                                                                   \
		memset((char *)pad, (int)n, sizeof(pad));                                          \
		r = next(n);                                                                       \
		return r + pad[n % sizeof(pad)];                                                   \
	}

LEVEL(ch5, lib6)
LEVEL(ch4, ch5)
LEVEL(ch3, ch4)
LEVEL(ch2, ch3)
LEVEL(ch1, ch2)
LEVEL(ch0, ch1)

int main(int argc, char **argv)
{
	struct timespec t0, t;
	unsigned long sum = 0;
	double secs = 0;
	char *end = NULL;

	if (argc == 2)
		secs = strtod(argv[1], &end);
	if (argc != 2 || end == argv[1] || *end || secs <= 0) {
		fprintf(stderr, "usage: nofp SECONDS\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		sum += ch0(200000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
	printf("sum %lu\n", sum);
	return 0;
}
