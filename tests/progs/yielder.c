/* yielder.c - "yielder THREADS SECONDS": THREADS threads each call a chain of
 * three functions that yields the CPU in a loop, so that with more threads than
 * CPUs every CPU switches threads all the time: off-CPU records are built on all
 * CPUs at once (t_trace_unwind.sh). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double secs;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

__attribute__((noipa)) static void yield_c(double end)
{
	while (now() < end)
		sched_yield();
}

__attribute__((noipa)) static void yield_b(double end)
{
	yield_c(end);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noipa)) static void *yield_a(void *arg)
{
	(void)arg;
	yield_b(now() + secs);
	__asm__ volatile("" ::: "memory");
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[16];
	char *end1 = NULL, *end2 = NULL;
	long n = argc == 3 ? strtol(argv[1], &end1, 10) : 0;
	int i;

	if (argc == 3)
		secs = strtod(argv[2], &end2);
	if (argc != 3 || *end1 || *end2 || n < 1 || n > 16 || secs <= 0) {
		fprintf(stderr, "usage: yielder THREADS(1-16) SECONDS\n");
		return 2;
	}
	for (i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, yield_a, NULL)) {
			fprintf(stderr, "yielder: cannot create a thread\n");
			return 1;
		}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
