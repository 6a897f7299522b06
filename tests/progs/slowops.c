/* slowops.c - a target program for heed-trace --slow (tests/t_trace_slow.sh): N
 * operations, each a call of do_op between the USDT probes tprog:op__start and
 * tprog:op__done. Every operation does a little work in fast_work; every 50th is
 * slow on top of that:
 *
 *   slowops spin N        the slow ones spin 20 ms of CPU in slow_path
 *   slowops fsync N FILE  every operation writes 4 KiB to FILE; the slow ones
 *                         fsync it, a fast one does not
 *   slowops wake N        the process pins itself to one CPU; the slow ones block
 *                         on a pipe that a SCHED_FIFO thread writes 1 ms later,
 *                         before it spins 8 ms: the woken operation waits that
 *                         long for the CPU (runqueue latency)
 *
 * It prints "ops N slow M" on stdout when done, in wake mode followed by
 * " runq_ns R wait_ns W", as the program itself measured them over the slow
 * operations: R from each write of the pipe to the return of the read it woke,
 * W the whole time spent asking and waiting.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* wake mode: the operations ask the waker through req and wait on ack. */
static int req[2] = {-1, -1}, ack[2] = {-1, -1};
static _Atomic double woken_at; /* when the waker wrote ack */
static double runq_s, wait_s;	/* summed ack write to read return; whole waits */

static void *waker(void *arg)
{
	char c;

	(void)arg;
	while (read(req[0], &c, 1) == 1) {
		double end;

		usleep(1000);
		atomic_store(&woken_at, mono_s());
		if (write(ack[1], &c, 1) != 1)
			break;
		/* A SCHED_FIFO thread is not preempted by the woken one. */
		end = mono_s() + 8e-3;
		while (mono_s() < end)
			;
	}
	return NULL;
}

__attribute__((noinline)) int wait_woken(void)
{
	double t0 = mono_s(), t1;
	char c = 0;

	if (write(req[1], &c, 1) != 1 || read(ack[0], &c, 1) != 1)
		return -1;
	t1 = mono_s();
	runq_s += t1 - atomic_load(&woken_at);
	wait_s += t1 - t0;
	return 0;
}

/* Pins the process to the CPU it runs on and starts the waker at SCHED_FIFO 1. */
static int start_waker(void)
{
	struct sched_param sp = {.sched_priority = 1};
	pthread_attr_t a;
	pthread_t t;
	cpu_set_t one;
	int rc;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one) || pipe(req) || pipe(ack)) {
		perror("slowops: pinning to a CPU or a pipe");
		return -1;
	}
	pthread_attr_init(&a);
	pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&a, SCHED_FIFO);
	pthread_attr_setschedparam(&a, &sp);
	rc = pthread_create(&t, &a, waker, NULL);
	pthread_attr_destroy(&a);
	if (rc) {
		fprintf(stderr, "slowops: a SCHED_FIFO thread: %s (needs root)\n", strerror(rc));
		return -1;
	}
	return 0;
}

enum mode { SPIN, FSYNC, WAKE };

/* Returns 0 or -1 (a write or a read failed). */
__attribute__((noinline)) int do_op(int i, enum mode m, int fd)
{
	static char page[4096];

	fast_work();
	if (m == FSYNC && write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
		return -1;
	if (i % 50 != 49)
		return 0;
	if (m == SPIN)
		slow_path();
	else if (m == WAKE)
		return wait_woken();
	else if (fsync(fd))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	enum mode m = SPIN;
	int fd = -1, i, usage = 0;
	uint64_t n;

	if (argc == 4 && !strcmp(argv[1], "fsync"))
		m = FSYNC;
	else if (argc == 3 && !strcmp(argv[1], "wake"))
		m = WAKE;
	else
		usage = argc != 3 || strcmp(argv[1], "spin") != 0;
	if (usage || heed_parse_u64(argv[2], &n) || n > 1000000) {
		fprintf(stderr, "usage: slowops spin N | slowops fsync N FILE | slowops wake N\n");
		return 2;
	}
	if (m == WAKE && start_waker())
		return 1;
	if (m == FSYNC) {
		fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) {
			perror(argv[3]);
			return 1;
		}
	}
	for (i = 0; i < (int)n; i++) {
		TPROG_OP_START(i);
		if (do_op(i, m, fd)) {
			perror("slowops: write or read");
			return 1;
		}
		TPROG_OP_DONE(i);
	}
	if (fd >= 0)
		close(fd);
	printf("ops %d slow %d", (int)n, (int)n / 50);
	if (m == WAKE)
		printf(" runq_ns %.0f wait_ns %.0f", runq_s * 1e9, wait_s * 1e9);
	printf("\n");
	return 0;
}
