/*
 * harness.c - see harness.h.
 *
 * A case runs in three phases (time mode):
 *   1. warm-up: the routine with 1, 2, 4, ... iterations until --warm-up
 *      seconds pass; the total gives a first time per iteration;
 *   2. sampling: --samples samples of n iterations each, n chosen so the
 *      samples fill --measure seconds (at least one iteration);
 *   3. analysis: per-iteration times of the samples -> median, mean,
 *      stddev, MAD, bootstrap intervals, Tukey outliers, throughput.
 * Fixed-work cases skip 1 and use their own n.
 */
#include "harness.h"
#include "dirs.h"
#include "json.h"
#include "parse.h"
#include "stats.h"
#include "units.h"
#include "verdict.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#ifndef HEED_BENCH_BUILD_TYPE
#define HEED_BENCH_BUILD_TYPE "unknown"
#endif

#define SCHEMA_VERSION 1
#define MIN_SAMPLES    30
#define MAX_EXTRAS     8
#define CONF	       0.95
#define CG_ENV	       "HEED_BENCH_CALLGRIND_OUT"

struct extra {
	char key[48];
	double value;
};

struct result {
	char *name;
	unsigned n;	  /* samples */
	double *per_iter; /* ns or instructions per iteration, one per sample */
	uint64_t *iters;  /* iterations of each sample */
	double median, mean, stddev, mad;
	double median_lo, median_hi, mean_lo, mean_hi;
	struct heed_stats_outliers out;
	uint64_t elems, bytes;
	struct extra extras[MAX_EXTRAS];
	unsigned nextras;
	/* Against --baseline: median ratio new/old and its interval. */
	bool has_base;
	double base_median, ratio, ratio_lo, ratio_hi;
	enum heed_verdict verdict;
};

struct heed_bench {
	const char *suite;
	/* options */
	bool quick, list, icount, cputime;
	unsigned samples;
	double warmup_s, measure_s, noise;
	uint64_t seed;
	const char *json_path, *save_baseline, *baseline, *baseline_dir;
	const char *tmpdir, *diskdir;
	regex_t re;
	bool have_re;
	/* state */
	struct result *res;
	size_t nres, capres;
	json_t *base_doc;
	unsigned cg_dumps;
	char failmsg[512];
	/* --list: the names printed so far */
	char **listed;
	size_t nlisted;
};

/* Wall time, or with --cpu-time the calling thread's CPU time (user and
 * system): on a shared machine the time a case spends preempted by other
 * work is then not counted. */
static double now_ns(const heed_bench *b)
{
	struct timespec ts;

	clock_gettime(b->cputime ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The JSON document's and the baselines' name of the measuring mode. */
static const char *mode_name(const heed_bench *b)
{
	return b->icount ? "icount" : b->cputime ? "cputime" : "time";
}

int heed_bench_fail(heed_bench *b, const char *fmt, ...)
{
	va_list ap;
	/* Formatted aside first: an argument may be failmsg itself. */
	char msg[sizeof(b->failmsg)];

	va_start(ap, fmt);
	/* clang-tidy 14 flags ap as uninitialised, but only when another file
	 * was analysed before this one in the same run: a checker bug. */
	vsnprintf(msg, sizeof(msg), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	memcpy(b->failmsg, msg, sizeof(msg));
	return -EIO;
}

bool heed_bench_quick(const heed_bench *b)
{
	return b->quick;
}

uint64_t heed_bench_seed(const heed_bench *b)
{
	return b->seed;
}

const char *heed_bench_tmpdir(const heed_bench *b)
{
	return b->tmpdir;
}

const char *heed_bench_diskdir(const heed_bench *b)
{
	return b->diskdir;
}

/* Suites ask about a case before preparing it and heed_bench_run() asks
 * again: print each name the first time only. Out of memory, a name may
 * print twice; the listing is all that is at stake. */
static void list_once(heed_bench *b, const char *name)
{
	char **l;

	for (size_t i = 0; i < b->nlisted; i++)
		if (strcmp(b->listed[i], name) == 0)
			return;
	printf("%s\n", name);
	l = realloc(b->listed, (b->nlisted + 1) * sizeof(*l));
	if (!l)
		return;
	b->listed = l;
	l[b->nlisted] = strdup(name);
	if (l[b->nlisted])
		b->nlisted++;
}

bool heed_bench_enabled(heed_bench *b, const char *name)
{
	if (b->have_re && regexec(&b->re, name, 0, NULL, 0) != 0)
		return false;
	if (b->list) {
		list_once(b, name);
		return false;
	}
	return true;
}

int heed_bench_last_median(const heed_bench *b, double *median)
{
	if (b->nres == 0)
		return -ENOENT;
	*median = b->res[b->nres - 1].median;
	return 0;
}

int heed_bench_extra(heed_bench *b, const char *key, double value)
{
	struct result *r;

	if (b->nres == 0)
		return -ENOENT;
	r = &b->res[b->nres - 1];
	if (r->nextras == MAX_EXTRAS)
		return -ENOSPC;
	snprintf(r->extras[r->nextras].key, sizeof(r->extras[0].key), "%s", key);
	r->extras[r->nextras].value = value;
	r->nextras++;
	printf("%-40s %-8s %s = %.6g\n", "", "extra:", key, value);
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) ? -errno : 0;
}

int heed_bench_rmtree(const char *path)
{
	int rc = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

	if (rc == -1)
		return errno == ENOENT ? 0 : -errno;
	return rc;
}

static void fmt_value(const heed_bench *b, double v, char *buf, size_t len)
{
	heed_fmt_value(buf, len, v, b->icount ? "instr" : "ns");
}

static int add_result(heed_bench *b, const char *name, unsigned n, struct result **out)
{
	struct result *r;

	if (b->nres == b->capres) {
		size_t cap = b->capres ? b->capres * 2 : 32;
		struct result *nr = realloc(b->res, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		b->res = nr;
		b->capres = cap;
	}
	r = &b->res[b->nres];
	memset(r, 0, sizeof(*r));
	r->name = strdup(name);
	r->per_iter = calloc(n, sizeof(*r->per_iter));
	r->iters = calloc(n, sizeof(*r->iters));
	if (!r->name || !r->per_iter || !r->iters) {
		free(r->name);
		free(r->per_iter);
		free(r->iters);
		return -ENOMEM;
	}
	r->n = n;
	b->nres++;
	*out = r;
	return 0;
}

/* One call of the routine between its untimed setup and teardown; the
 * elapsed nanoseconds of the routine alone go to *ns. */
static int timed_call(const heed_bench *b, const struct heed_bench_def *d, uint64_t iters,
		      double *ns)
{
	double t0;
	int rc;

	if (d->setup) {
		rc = d->setup(d->arg, iters);
		if (rc)
			return rc;
	}
	t0 = now_ns(b);
	rc = d->routine(d->arg, iters);
	*ns = now_ns(b) - t0;
	if (!rc && d->teardown)
		rc = d->teardown(d->arg);
	return rc;
}

/* The instruction total of callgrind dump number k (the file valgrind wrote
 * for our k-th CALLGRIND_DUMP_STATS_AT). */
static int read_dump(const char *base, unsigned k, double *ir)
{
	char path[PATH_MAX], line[512];
	FILE *f;
	int rc = -ENODATA;

	snprintf(path, sizeof(path), "%s.%u", base, k);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "totals:", 7) == 0) {
			/* Ir is the first event, alone unless valgrind was run
			 * by hand with more (--cache-sim=yes, --branch-sim=yes).
			 * A count that is not one is refused, not taken as 0
			 * instructions (a run that looks infinitely fast). */
			char *v = line + 7 + strspn(line + 7, " ");

			v[strcspn(v, "\n ")] = '\0';
			rc = heed_parse_double(v, ir) ? -EBADMSG : 0;
			break;
		}
	fclose(f);
	return rc;
}

static int measure_icount(heed_bench *b, const struct heed_bench_def *d, struct result *r)
{
	const char *cg = getenv(CG_ENV);
	uint64_t iters = d->icount_iters  ? d->icount_iters
			 : d->fixed_iters ? d->fixed_iters
			 : b->quick	  ? 200
					  : 1000;
	double ir = 0;
	int rc;

	if (d->setup) {
		rc = d->setup(d->arg, iters);
		if (rc)
			return rc;
	}
	CALLGRIND_START_INSTRUMENTATION;
	CALLGRIND_TOGGLE_COLLECT;
	rc = d->routine(d->arg, iters);
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_STOP_INSTRUMENTATION;
	CALLGRIND_DUMP_STATS_AT(d->name);
	b->cg_dumps++;
	if (!rc && d->teardown)
		rc = d->teardown(d->arg);
	if (rc)
		return rc;
	rc = read_dump(cg, b->cg_dumps, &ir);
	if (rc)
		return heed_bench_fail(b, "%s: cannot read callgrind dump %s.%u: %s", d->name, cg,
				       b->cg_dumps, strerror(-rc));
	r->per_iter[0] = ir / (double)iters;
	r->iters[0] = iters;
	return 0;
}

static int measure_time(heed_bench *b, const struct heed_bench_def *d, struct result *r)
{
	uint64_t n = d->fixed_iters;
	double ns;
	int rc;

	if (!n) {
		double spent = 0, per_iter;
		uint64_t done = 0;

		for (uint64_t k = 1; spent < b->warmup_s * 1e9; k *= 2) {
			rc = timed_call(b, d, k, &ns);
			if (rc)
				return rc;
			spent += ns;
			done += k;
		}
		per_iter = spent / (double)done;
		n = (uint64_t)ceil(b->measure_s * 1e9 / r->n / (per_iter > 0 ? per_iter : 1));
		if (n == 0)
			n = 1;
	}
	for (unsigned s = 0; s < r->n; s++) {
		rc = timed_call(b, d, n, &ns);
		if (rc)
			return rc;
		r->per_iter[s] = ns / (double)n;
		r->iters[s] = n;
	}
	return 0;
}

static int analyse(heed_bench *b, struct result *r)
{
	unsigned resamples = b->quick ? 2000 : 10000;
	int rc;

	r->median = heed_stats_median(r->per_iter, r->n);
	r->mean = heed_stats_mean(r->per_iter, r->n);
	r->stddev = heed_stats_stddev(r->per_iter, r->n);
	r->mad = heed_stats_mad(r->per_iter, r->n);
	rc = heed_stats_tukey(r->per_iter, r->n, &r->out);
	if (!rc)
		rc = heed_stats_bootstrap_ci(r->per_iter, r->n, HEED_STATS_MEDIAN, resamples, CONF,
					     b->seed, &r->median_lo, &r->median_hi);
	if (!rc)
		rc = heed_stats_bootstrap_ci(r->per_iter, r->n, HEED_STATS_MEAN, resamples, CONF,
					     b->seed + 1, &r->mean_lo, &r->mean_hi);
	if (!rc && isnan(r->median))
		rc = -ENOMEM;
	return rc;
}

/* The samples of a case in the baseline document, or NULL. */
static const json_t *base_case(const heed_bench *b, const char *name)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(b->base_doc, "results"), i, c)
	{
		const char *n = heed_json_str(c, "name");

		if (n && strcmp(n, name) == 0)
			return c;
	}
	return NULL;
}

static int compare_base(heed_bench *b, struct result *r)
{
	const json_t *bs = json_object_get(base_case(b, r->name), "samples"), *c;
	double *old = NULL;
	size_t i, n = 0;
	int rc = 0;

	if (json_array_size(bs) == 0)
		return 0;
	old = malloc(json_array_size(bs) * sizeof(*old));
	if (!old)
		return -ENOMEM;
	json_array_foreach(bs, i, c) if (json_is_number(c)) old[n++] = json_number_value(c);
	if (n == 0)
		goto cleanup;
	r->base_median = heed_stats_median(old, n);
	r->ratio = r->base_median > 0 ? r->median / r->base_median : 1.0;
	if (b->icount) {
		/* Deterministic counts: the ratio is exact, only the noise band applies. */
		r->ratio_lo = r->ratio_hi = r->ratio;
	} else {
		rc = heed_stats_bootstrap_ratio_ci(old, n, r->per_iter, r->n,
						   b->quick ? 2000 : 10000, CONF, b->seed + 2,
						   &r->ratio_lo, &r->ratio_hi);
		if (rc)
			goto cleanup;
	}
	r->has_base = true;
	r->verdict = heed_verdict_judge(r->ratio, r->ratio_lo, r->ratio_hi, b->noise);
cleanup:
	free(old);
	return rc;
}

static void print_result(const heed_bench *b, const struct result *r)
{
	char a[32], m[32], c[32];
	size_t nout = r->out.low_severe + r->out.low_mild + r->out.high_mild + r->out.high_severe;

	fmt_value(b, r->median_lo, a, sizeof(a));
	fmt_value(b, r->median, m, sizeof(m));
	fmt_value(b, r->median_hi, c, sizeof(c));
	printf("%-40s %-8s [%s %s %s]\n", r->name, b->icount ? "icount:" : "time:", a, m, c);
	if (r->elems || r->bytes) {
		/* Faster is a larger rate, so the interval's ends swap. */
		double scale = b->icount ? 0 : 1e9;

		if (scale > 0 && r->elems) {
			heed_fmt_rate(a, sizeof(a), scale * (double)r->elems / r->median_hi, "op");
			heed_fmt_rate(m, sizeof(m), scale * (double)r->elems / r->median, "op");
			heed_fmt_rate(c, sizeof(c), scale * (double)r->elems / r->median_lo, "op");
			printf("%-40s %-8s [%s %s %s]\n", "", "thrpt:", a, m, c);
		}
		if (scale > 0 && r->bytes) {
			heed_fmt_rate(m, sizeof(m), scale * (double)r->bytes / r->median, "B");
			printf("%-40s %-8s %s\n", "", "bytes:", m);
		}
		if (b->icount && r->elems)
			printf("%-40s %-8s %.1f Ir/op\n", "",
			       "per op:", r->median / (double)r->elems);
	}
	if (!b->icount)
		printf("%-40s %-8s %u x %llu iters, mean %.4g stddev %.3g; %zu outliers "
		       "(%zu low severe, %zu low mild, %zu high mild, %zu high severe)\n",
		       "", "samples:", r->n, (unsigned long long)r->iters[0], r->mean, r->stddev,
		       nout, r->out.low_severe, r->out.low_mild, r->out.high_mild,
		       r->out.high_severe);
	if (r->has_base)
		printf("%-40s %-8s %+.2f%% [%+.2f%% %+.2f%%] %s (noise %.0f%%)\n", "",
		       "change:", (r->ratio - 1) * 100, (r->ratio_lo - 1) * 100,
		       (r->ratio_hi - 1) * 100, heed_verdict_name(r->verdict), b->noise * 100);
	fflush(stdout);
}

int heed_bench_run(heed_bench *b, const struct heed_bench_def *d)
{
	struct result *r;
	unsigned n;
	int rc;

	if (!heed_bench_enabled(b, d->name))
		return 0;
	if (b->icount && d->nondeterministic) {
		printf("%-40s %-8s left out: its threads make instruction counts move\n", d->name,
		       "icount:");
		return 0;
	}
	n = b->icount ? 1 : (d->fixed_iters && d->samples ? d->samples : b->samples);
	if (n < MIN_SAMPLES && !b->icount)
		n = MIN_SAMPLES;
	rc = add_result(b, d->name, n, &r);
	if (rc)
		return heed_bench_fail(b, "%s: out of memory", d->name);
	r->elems = d->elems;
	r->bytes = d->bytes;
	rc = b->icount ? measure_icount(b, d, r) : measure_time(b, d, r);
	if (rc) {
		if (!b->failmsg[0])
			heed_bench_fail(b, "%s: %s", d->name, strerror(rc < 0 ? -rc : rc));
		return rc;
	}
	rc = analyse(b, r);
	if (!rc && b->base_doc)
		rc = compare_base(b, r);
	if (rc)
		return heed_bench_fail(b, "%s: analysis: %s", d->name, strerror(-rc));
	print_result(b, r);
	return 0;
}

static json_t *pair(double lo, double hi)
{
	return json_pack("[oo]", heed_json_number(lo), heed_json_number(hi));
}

/* One result object, written on one line, so the file also reads well with grep. */
static json_t *result_json(const heed_bench *b, const struct result *r)
{
	json_t *extra = json_object(), *iters = json_array(), *j;
	int rc = extra && iters ? 0 : -ENOMEM;

	for (unsigned i = 0; !rc && i < r->nextras; i++)
		rc = heed_json_set(extra, r->extras[i].key, heed_json_number(r->extras[i].value));
	for (unsigned i = 0; !rc && i < r->n; i++)
		rc = heed_json_push(iters, heed_json_u64(r->iters[i]));
	j = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:I,s:I,s:I,s:I},s:{s:I,s:I}}", "name",
		      heed_json_string(r->name), "median", heed_json_number(r->median), "median_ci",
		      pair(r->median_lo, r->median_hi), "mean", heed_json_number(r->mean),
		      "mean_ci", pair(r->mean_lo, r->mean_hi), "stddev",
		      heed_json_number(r->stddev), "mad", heed_json_number(r->mad), "outliers",
		      "low_severe", (json_int_t)r->out.low_severe, "low_mild",
		      (json_int_t)r->out.low_mild, "high_mild", (json_int_t)r->out.high_mild,
		      "high_severe", (json_int_t)r->out.high_severe, "throughput", "elems_per_iter",
		      (json_int_t)r->elems, "bytes_per_iter", (json_int_t)r->bytes);
	if (!j)
		rc = -ENOMEM;
	if (!rc && !b->icount) {
		json_t *t = json_object_get(j, "throughput");

		rc = heed_json_set(
			t, "ops_per_s",
			heed_json_number(r->elems ? 1e9 * (double)r->elems / r->median : 0));
		if (!rc)
			rc = heed_json_set(
				t, "bytes_per_s",
				heed_json_number(r->bytes ? 1e9 * (double)r->bytes / r->median
							  : 0));
	}
	if (!rc) {
		rc = heed_json_set(j, "extra", extra);
		extra = NULL;
	}
	if (!rc && r->has_base)
		rc = heed_json_set(j, "baseline",
				   json_pack("{s:o,s:o,s:o,s:o,s:s}", "name",
					     heed_json_string(b->baseline), "median",
					     heed_json_number(r->base_median), "ratio",
					     heed_json_number(r->ratio), "ratio_ci",
					     pair(r->ratio_lo, r->ratio_hi), "verdict",
					     heed_verdict_name(r->verdict)));
	if (!rc) {
		rc = heed_json_set(j, "iters", iters);
		iters = NULL;
	}
	if (!rc)
		rc = heed_json_set(j, "samples", heed_json_numbers(r->per_iter, r->n));
	json_decref(extra);
	json_decref(iters);
	if (rc) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static int write_json(const heed_bench *b, const char *path)
{
	json_t *head = NULL, *rows = json_array();
	struct utsname u;
	char host[256] = "";
	time_t t = time(NULL);
	struct tm tm;
	char stamp[32];
	FILE *f = NULL;
	int rc = rows ? 0 : -ENOMEM;

	uname(&u);
	gethostname(host, sizeof(host) - 1);
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (size_t i = 0; !rc && i < b->nres; i++)
		rc = heed_json_push(rows, result_json(b, &b->res[i]));
	if (rc)
		goto cleanup;
	head = json_pack("{s:s,s:i,s:o,s:s,s:s,s:b,s:o,s:s,s:o,s:{s:o,s:o,s:I},s:o,"
			 "s:{s:I,s:o,s:o,s:o,s:o}}",
			 "schema", "heed-bench", "version", SCHEMA_VERSION, "suite",
			 heed_json_string(b->suite), "mode", mode_name(b), "unit",
			 b->icount ? "instructions" : "ns", "quick", b->quick, "profile",
			 heed_json_string(HEED_BENCH_BUILD_TYPE), "timestamp", stamp, "seed",
			 heed_json_u64(b->seed), "host", "name", heed_json_string(host), "kernel",
			 heed_json_string(u.release), "cpus",
			 (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "compiler",
			 heed_json_string(__VERSION__), "config", "samples", (json_int_t)b->samples,
			 "warmup_s", heed_json_number(b->warmup_s), "measure_s",
			 heed_json_number(b->measure_s), "noise", heed_json_number(b->noise),
			 "confidence", heed_json_number(CONF));
	if (!head) {
		rc = -ENOMEM;
		goto cleanup;
	}
	f = fopen(path, "w");
	if (!f) {
		rc = -errno;
		goto cleanup;
	}
	rc = heed_json_write_rows(f, head, "results", rows);
	if (fclose(f) != 0 && !rc)
		rc = -errno;
cleanup:
	json_decref(head);
	json_decref(rows);
	return rc;
}

static void baseline_path(const heed_bench *b, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%s.json", b->baseline_dir, name, b->suite);
}

static void usage(const char *suite, FILE *f)
{
	fprintf(f,
		"usage: %s [options]\n"
		"  --filter REGEX          run the cases whose name matches (POSIX ERE)\n"
		"  --list                  print the case names and exit\n"
		"  --quick                 small sizes, short measurement (CI)\n"
		"  --samples N             samples per case (default and minimum 30)\n"
		"  --warm-up SEC           warm-up time per case (default 1, --quick 0.1)\n"
		"  --measure SEC           measurement time per case (default 3, --quick 0.3)\n"
		"  --json FILE             write the results (schema heed-bench v1)\n"
		"  --save-baseline NAME    store the results as baseline NAME\n"
		"  --baseline NAME         compare with baseline NAME (sequential runs)\n"
		"  --baseline-dir DIR      where baselines live (build/perf-results/baselines)\n"
		"  --noise PCT             changes smaller than this are noise (default 5)\n"
		"  --icount                count instructions with callgrind (deterministic)\n"
		"  --cpu-time              time by the thread's CPU time, not wall time\n"
		"  --seed N                seed for keys (default HEED_SEED or 42)\n"
		"  --tmpdir DIR            scratch databases (default /dev/shm)\n"
		"  --disk-dir DIR          durable-commit cases (default /var/tmp)\n",
		suite);
}

static int parse_double(const char *s, double *out)
{
	return heed_parse_double(s, out) || !(*out >= 0) ? -EINVAL : 0;
}

static int parse_args(heed_bench *b, int argc, char **argv)
{
	static const struct option opts[] = {
		{"filter", required_argument, NULL, 'f'},
		{"list", no_argument, NULL, 'l'},
		{"quick", no_argument, NULL, 'q'},
		{"samples", required_argument, NULL, 'n'},
		{"warm-up", required_argument, NULL, 'w'},
		{"measure", required_argument, NULL, 'm'},
		{"json", required_argument, NULL, 'j'},
		{"save-baseline", required_argument, NULL, 'S'},
		{"baseline", required_argument, NULL, 'B'},
		{"baseline-dir", required_argument, NULL, 'D'},
		{"noise", required_argument, NULL, 'N'},
		{"icount", no_argument, NULL, 'I'},
		{"cpu-time", no_argument, NULL, 'C'},
		{"seed", required_argument, NULL, 's'},
		{"tmpdir", required_argument, NULL, 't'},
		{"disk-dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	double warm = -1, meas = -1, noise = 5, v;
	const char *filter = NULL, *env;
	int c;

	b->samples = MIN_SAMPLES;
	env = getenv("HEED_SEED");
	b->seed = 42;
	if (env && heed_parse_u64(env, &b->seed)) {
		fprintf(stderr, "%s: HEED_SEED=%s: not a whole number\n", b->suite, env);
		return -EINVAL;
	}
	b->baseline_dir = "build/perf-results/baselines";
	b->tmpdir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	b->diskdir = "/var/tmp";
	/* 0, not 1: glibc then resets its state, so main may run twice (tests). */
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			filter = optarg;
			break;
		case 'l':
			b->list = true;
			break;
		case 'q':
			b->quick = true;
			break;
		case 'n':
			if (parse_double(optarg, &v) || v < MIN_SAMPLES || v > 100000 ||
			    v != floor(v)) {
				fprintf(stderr, "%s: --samples %s: need a whole number >= %d\n",
					b->suite, optarg, MIN_SAMPLES);
				return -EINVAL;
			}
			b->samples = (unsigned)v;
			break;
		case 'w':
		case 'm':
		case 'N':
			if (parse_double(optarg, &v)) {
				fprintf(stderr, "%s: %s: not a non-negative number\n", b->suite,
					optarg);
				return -EINVAL;
			}
			*(c == 'w' ? &warm : c == 'm' ? &meas : &noise) = v;
			break;
		case 'j':
			b->json_path = optarg;
			break;
		case 'S':
			b->save_baseline = optarg;
			break;
		case 'B':
			b->baseline = optarg;
			break;
		case 'D':
			b->baseline_dir = optarg;
			break;
		case 'I':
			b->icount = true;
			break;
		case 'C':
			b->cputime = true;
			break;
		case 's':
			if (heed_parse_u64(optarg, &b->seed)) {
				fprintf(stderr, "%s: --seed %s: not a whole number\n", b->suite,
					optarg);
				return -EINVAL;
			}
			break;
		case 't':
			b->tmpdir = optarg;
			break;
		case 'd':
			b->diskdir = optarg;
			break;
		case 'h':
			usage(b->suite, stdout);
			return 1;
		default:
			usage(b->suite, stderr);
			return -EINVAL;
		}
	}
	if (b->icount && b->cputime) {
		fprintf(stderr, "%s: --icount and --cpu-time are two modes: choose one\n",
			b->suite);
		usage(b->suite, stderr);
		return -EINVAL;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", b->suite, argv[optind]);
		usage(b->suite, stderr);
		return -EINVAL;
	}
	b->warmup_s = warm >= 0 ? warm : b->quick ? 0.1 : 1.0;
	b->measure_s = meas >= 0 ? meas : b->quick ? 0.3 : 3.0;
	b->noise = noise / 100;
	if (filter) {
		int rc = regcomp(&b->re, filter, REG_EXTENDED | REG_NOSUB);

		if (rc) {
			char msg[128];

			regerror(rc, &b->re, msg, sizeof(msg));
			fprintf(stderr, "%s: --filter '%s': %s\n", b->suite, filter, msg);
			return -EINVAL;
		}
		b->have_re = true;
	}
	return 0;
}

/* --icount outside valgrind: run this same command under callgrind, with
 * collection off except inside the measured routines, and pass its exit
 * status on. Dumps go to a private directory removed afterwards. */
static int reexec_under_callgrind(const heed_bench *b, int argc, char **argv)
{
	char dir[] = "/tmp/heed-icount-XXXXXX", out[PATH_MAX], outarg[PATH_MAX + 32];
	char self[PATH_MAX];
	char **av = NULL;
	ssize_t len;
	pid_t pid;
	int status = 0, rc = 1;

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0) {
		fprintf(stderr, "%s: /proc/self/exe: %s\n", b->suite, strerror(errno));
		return 1;
	}
	self[len] = '\0';
	if (!mkdtemp(dir)) {
		fprintf(stderr, "%s: mkdtemp: %s\n", b->suite, strerror(errno));
		return 1;
	}
	snprintf(out, sizeof(out), "%s/cg.out", dir);
	snprintf(outarg, sizeof(outarg), "--callgrind-out-file=%s", out);
	av = calloc((size_t)argc + 8, sizeof(*av));
	if (!av) {
		fprintf(stderr, "%s: out of memory\n", b->suite);
		goto cleanup;
	}
	av[0] = "valgrind";
	av[1] = "--tool=callgrind";
	av[2] = "--collect-atstart=no";
	av[3] = "--instr-atstart=no";
	av[4] = "-q";
	av[5] = outarg;
	av[6] = self;
	for (int i = 1; i < argc; i++)
		av[6 + i] = argv[i];
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", b->suite, strerror(errno));
		goto cleanup;
	}
	if (pid == 0) {
		setenv(CG_ENV, out, 1);
		execvp("valgrind", av);
		fprintf(stderr, "%s: --icount needs valgrind: %s\n", b->suite, strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		fprintf(stderr, "%s: waitpid: %s\n", b->suite, strerror(errno));
		goto cleanup;
	}
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else
		fprintf(stderr, "%s: valgrind ended by signal %d\n", b->suite, WTERMSIG(status));
cleanup:
	free(av);
	heed_bench_rmtree(dir);
	return rc;
}

static void bench_free(heed_bench *b)
{
	for (size_t i = 0; i < b->nres; i++) {
		free(b->res[i].name);
		free(b->res[i].per_iter);
		free(b->res[i].iters);
	}
	free(b->res);
	for (size_t i = 0; i < b->nlisted; i++)
		free(b->listed[i]);
	free(b->listed);
	json_decref(b->base_doc);
	if (b->have_re)
		regfree(&b->re);
}

static int finish(heed_bench *b)
{
	char path[PATH_MAX];
	int rc;

	if (b->json_path) {
		rc = write_json(b, b->json_path);
		if (rc) {
			fprintf(stderr, "%s: %s: %s\n", b->suite, b->json_path, strerror(-rc));
			return 1;
		}
	}
	if (b->save_baseline) {
		baseline_path(b, b->save_baseline, path, sizeof(path));
		*strrchr(path, '/') = '\0';
		rc = heed_mkdirs(path);
		baseline_path(b, b->save_baseline, path, sizeof(path));
		if (!rc)
			rc = write_json(b, path);
		if (rc) {
			fprintf(stderr, "%s: baseline %s: %s\n", b->suite, path, strerror(-rc));
			return 1;
		}
		printf("saved baseline '%s' to %s\n", b->save_baseline, path);
	}
	return 0;
}

static int load_baseline(heed_bench *b)
{
	char path[PATH_MAX], err[512];
	const char *mode;
	int rc;

	baseline_path(b, b->baseline, path, sizeof(path));
	rc = heed_json_load(path, &b->base_doc, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s: baseline '%s': %s\n", b->suite, b->baseline, err);
		return rc;
	}
	mode = heed_json_str(b->base_doc, "mode");
	if (!mode || strcmp(mode, mode_name(b)) != 0) {
		fprintf(stderr,
			"%s: baseline '%s' (%s) was measured in %s mode, this run in %s mode\n",
			b->suite, b->baseline, path, mode ? mode : "an unknown", mode_name(b));
		return -EINVAL;
	}
	return 0;
}

int heed_bench_main(const char *suite, int argc, char **argv, heed_bench_suite_fn fn)
{
	heed_bench b = {.suite = suite};
	int rc, status = 1;

	rc = parse_args(&b, argc, argv);
	if (rc) {
		status = rc > 0 ? 0 : 2;
		goto cleanup;
	}
	if (b.icount && !b.list && !RUNNING_ON_VALGRIND) {
		status = reexec_under_callgrind(&b, argc, argv);
		goto cleanup;
	}
	if (b.icount && !b.list && !getenv(CG_ENV)) {
		fprintf(stderr,
			"%s: --icount under valgrind needs %s (run without valgrind: the "
			"harness starts callgrind itself)\n",
			suite, CG_ENV);
		goto cleanup;
	}
	if (b.baseline && !b.list && load_baseline(&b))
		goto cleanup;
	if (!b.list)
		printf("%s: %s mode%s, seed %llu, profile %s\n", suite,
		       b.icount	   ? "instruction-count"
		       : b.cputime ? "cpu-time"
				   : "wall-time",
		       b.quick ? ", quick" : "", (unsigned long long)b.seed, HEED_BENCH_BUILD_TYPE);
	rc = fn(&b);
	if (rc) {
		fprintf(stderr, "%s: %s\n", suite,
			b.failmsg[0] ? b.failmsg : strerror(rc < 0 ? -rc : rc));
		goto cleanup;
	}
	status = b.list ? 0 : finish(&b);
cleanup:
	bench_free(&b);
	return status;
}

void heed_bench_key(char *k, unsigned int len, uint64_t i)
{
	while (len-- > 0) {
		k[len] = (char)('0' + i % 10);
		i /= 10;
	}
}
