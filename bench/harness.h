/*
 * harness.h - the benchmark harness every heed suite runs on.
 *
 * What Criterion.rs does, in C: a suite's main() hands its cases to
 * heed_bench_main(), which parses the command line, runs each case that
 * passes --filter (warm-up, an automatic iteration count, at least 30
 * timed samples), prints median/mean with bootstrap confidence intervals,
 * Tukey outliers and throughput, and writes the JSON document described in
 * bench/README.md ("heed-bench" schema, version 1).
 *
 * Two ways to measure:
 *   time     CLOCK_MONOTONIC around each sample (default);
 *   cputime  --cpu-time: the calling thread's CPU time around each sample
 *            (CLOCK_THREAD_CPUTIME_ID, user and system), which leaves out
 *            the time other work on a shared machine preempted the case, and
 *            the time it waited (a sync, other threads): for cases that
 *            compute and call the kernel, not for those that wait on a disk;
 *   icount   --icount: instructions counted by valgrind's callgrind over the
 *            measured routine only (setup is not instrumented). The harness
 *            re-executes its binary under valgrind itself. The counts do not
 *            move between runs of the same binary, so small changes can be
 *            judged on a noisy machine.
 *
 * Change detection against a stored baseline (--save-baseline/--baseline)
 * compares runs made at different times; on a shared VM prefer
 * heed-bench-compare, which interleaves the two binaries.
 *
 * Errors: functions return 0 or a negative errno, never exit. A suite that
 * fails reports why with heed_bench_fail(); heed_bench_main() prints that
 * sentence and returns a non-zero exit status.
 */
#ifndef HEED_BENCH_HARNESS_H
#define HEED_BENCH_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct heed_bench heed_bench;

/* One benchmark case. Only name and routine are required. */
struct heed_bench_def {
	/* Unique within the suite, e.g. "get_hit/4k/100000"; --filter matches it. */
	const char *name;
	/* Timed: run iters iterations of the operation. 0 or a negative errno. */
	int (*routine)(void *arg, uint64_t iters);
	/* Untimed, before every call of routine, with the iters it will get. */
	int (*setup)(void *arg, uint64_t iters);
	/* Untimed, after every call of routine. */
	int (*teardown)(void *arg);
	void *arg;
	/* Operations and bytes one iteration processes, for throughput; 0: none. */
	uint64_t elems;
	uint64_t bytes;
	/* Fixed work: every sample runs exactly this many iterations and there is
	 * no warm-up, for routines that consume their state (a fill that carries
	 * on where the previous sample stopped). 0: automatic iteration count. */
	uint64_t fixed_iters;
	/* Samples of a fixed-work case (at least 30); 0: the run's --samples. */
	unsigned samples;
	/* Iterations measured by --icount; 0: fixed_iters, else 1000 (--quick 200). */
	uint64_t icount_iters;
	/* The case runs threads whose interleaving changes the instruction
	 * count: --icount leaves it out and says so. */
	bool nondeterministic;
};

/* The suite body: call heed_bench_run() for each case. 0 or a negative errno
 * (with heed_bench_fail() for a message). */
typedef int (*heed_bench_suite_fn)(heed_bench *b);

/* Run a suite as a command; returns the process exit status (0 ok, 1 a case
 * or the suite failed, 2 bad usage). `suite --help` lists the options. */
int heed_bench_main(const char *suite, int argc, char **argv, heed_bench_suite_fn fn);

/* Measure one case and record its result. Returns 0 when the case ran or was
 * filtered out, else the routine's error (the run then fails). */
int heed_bench_run(heed_bench *b, const struct heed_bench_def *def);

/* True when a case of this name would run: it passes --filter, and we are
 * not only listing names. Suites ask before expensive preparation. With
 * --list, a name that passes --filter is printed, once however often asked. */
bool heed_bench_enabled(heed_bench *b, const char *name);

/* --quick: suites use small sizes. */
bool heed_bench_quick(const heed_bench *b);

/* The run's seed (--seed, HEED_SEED, else 42): suites derive their keys from
 * it so two runs do the same work. */
uint64_t heed_bench_seed(const heed_bench *b);

/* Directory for scratch databases: --tmpdir, else /dev/shm (tmpfs), else /tmp. */
const char *heed_bench_tmpdir(const heed_bench *b);

/* Directory on a real disk for durable-commit cases: --disk-dir, else /var/tmp. */
const char *heed_bench_diskdir(const heed_bench *b);

/* The median (ns, or instructions with --icount, per iteration) of the case
 * that ran last into *median. 0, or -ENOENT when no case ran yet. */
int heed_bench_last_median(const heed_bench *b, double *median);

/* Attach a named number (file size, reader throughput, ...) to the result
 * of the case that ran last; shown in the report and under "extra" in JSON.
 * 0, -ENOENT (no case ran yet), -ENOSPC (too many extras). */
int heed_bench_extra(heed_bench *b, const char *key, double value);

/* Write i as len decimal digits, zero-padded, into k (no terminator): the
 * suites' keys, so that key order is numeric order, as in db_bench. */
void heed_bench_key(char *k, unsigned int len, uint64_t i);

/* Record why the suite failed (printf format); returns -EIO for chaining:
 * return heed_bench_fail(b, "fill: %s", heed_strerror(rc)); */
int heed_bench_fail(heed_bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Remove a directory tree (scratch databases). 0 or a negative errno. */
int heed_bench_rmtree(const char *path);

#endif
