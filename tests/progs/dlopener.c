/* dlopener.c - "dlopener LIB SYMBOL SECONDS": sleeps 0.2 s (heed-trace attaches
 * before), then dlopen()s LIB and calls its unsigned long SYMBOL(unsigned long) in
 * a loop for SECONDS, then exits: its frames come from a library that was not
 * mapped at attach, in a process gone by the time the stacks are symbolized. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long (*fn)(unsigned long), sum = 0;
	struct timespec t0, t;
	double secs = 0;
	char *end = NULL;
	void *h;

	if (argc == 4)
		secs = strtod(argv[3], &end);
	if (argc != 4 || end == argv[3] || *end || secs <= 0) {
		fprintf(stderr, "usage: dlopener LIB SYMBOL SECONDS\n");
		return 2;
	}
	usleep(200000);
	h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		fprintf(stderr, "dlopener: %s\n", dlerror());
		return 1;
	}
	*(void **)&fn = dlsym(h, argv[2]);
	if (!fn) {
		fprintf(stderr, "dlopener: %s\n", dlerror());
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		sum += fn(100000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
	printf("sum %lu\n", sum);
	return 0;
}
