/*
 * test_harness - the bench harness: its statistics (bench/stats.h) and
 * heed_bench_main() end to end (sampling,
 * filters, fixed work, JSON results, baselines, bad options).
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "harness.h"
#include "json.h"
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

Test(stats, median_quantiles_mean_stddev)
{
	double odd[] = {5, 1, 3};
	double even[] = {4, 1, 3, 2};
	double sorted[] = {1, 2, 3, 4, 5};
	double x[] = {2, 4, 4, 4, 5, 5, 7, 9};

	cr_expect_float_eq(heed_stats_median(odd, 3), 3.0, 1e-12);
	cr_expect_float_eq(heed_stats_median(even, 4), 2.5, 1e-12);
	cr_expect_float_eq(heed_stats_quantile_sorted(sorted, 5, 0.25), 2.0, 1e-12);
	cr_expect_float_eq(heed_stats_quantile_sorted(sorted, 5, 0.1), 1.4, 1e-12);
	cr_expect_float_eq(heed_stats_mean(x, 8), 5.0, 1e-12);
	/* Sample standard deviation: sqrt(32 / 7). */
	cr_expect_float_eq(heed_stats_stddev(x, 8), sqrt(32.0 / 7), 1e-12);
	/* Deviations from 4.5: five of 0.5, two of 2.5, one of 4.5. */
	cr_expect_float_eq(heed_stats_mad(x, 8), 0.5, 1e-12);
	cr_expect(isnan(heed_stats_median(x, 0)));
	/* Inputs are not reordered. */
	cr_expect(odd[0] == 5 && odd[1] == 1 && odd[2] == 3);
}

Test(stats, tukey_classes)
{
	/* Quartiles 10 and 12 (IQR 2): mild beyond 3 of them, severe beyond 6. */
	double x[] = {10, 10, 10, 11, 11, 11, 12, 12, 12, 16, 30, 7, -5};
	struct heed_stats_outliers o;

	cr_assert_eq(heed_stats_tukey(x, sizeof(x) / sizeof(x[0]), &o), 0);
	cr_expect_eq(o.high_mild, 1, "16 is a mild high outlier");
	cr_expect_eq(o.high_severe, 1, "30 is a severe high outlier");
	cr_expect_eq(o.low_mild, 0, "7 is inside the fence (%zu)", o.low_mild);
	cr_expect_eq(o.low_severe, 1, "-5 is a severe low outlier");
}

Test(stats, bootstrap_interval_is_reproducible_and_brackets)
{
	double x[200], lo, hi, lo2, hi2, med;
	uint64_t rng = 7;

	for (int i = 0; i < 200; i++)
		x[i] = 100 + (double)(heed_stats_rand(&rng) % 1000) / 100;
	med = heed_stats_median(x, 200);
	cr_assert_eq(heed_stats_bootstrap_ci(x, 200, HEED_STATS_MEDIAN, 2000, 0.95, 1, &lo, &hi),
		     0);
	cr_expect(lo <= med && med <= hi, "median %g outside [%g, %g]", med, lo, hi);
	cr_expect(hi - lo < 3, "interval [%g, %g] too wide for 200 samples", lo, hi);
	cr_assert_eq(heed_stats_bootstrap_ci(x, 200, HEED_STATS_MEDIAN, 2000, 0.95, 1, &lo2, &hi2),
		     0);
	cr_expect(lo == lo2 && hi == hi2, "same seed, same interval");
	cr_assert_eq(heed_stats_bootstrap_ci(x, 200, HEED_STATS_MEAN, 2000, 0.95, 3, &lo, &hi), 0);
	cr_expect(lo <= heed_stats_mean(x, 200) && heed_stats_mean(x, 200) <= hi);
	cr_expect_eq(heed_stats_bootstrap_ci(x, 0, HEED_STATS_MEAN, 10, 0.95, 1, &lo, &hi),
		     -EINVAL);
	cr_expect_eq(heed_stats_bootstrap_ci(x, 5, HEED_STATS_MEAN, 10, 1.5, 1, &lo, &hi), -EINVAL);
}

Test(stats, bootstrap_ratio_of_medians)
{
	double a[50], b[50], lo, hi;
	uint64_t rng = 11;

	for (int i = 0; i < 50; i++) {
		a[i] = 1000 + (double)(heed_stats_rand(&rng) % 50);
		b[i] = 2 * a[i];
	}
	cr_assert_eq(heed_stats_bootstrap_ratio_ci(a, 50, b, 50, 2000, 0.95, 5, &lo, &hi), 0);
	cr_expect(lo > 1.9 && hi < 2.1 && lo <= 2 && 2 <= hi, "ratio interval [%g, %g]", lo, hi);
}

Test(stats, wilcoxon_exact_values)
{
	double up[] = {0.1, 0.2, 0.3, 0.4, 0.5};
	double down[] = {-0.1, -0.2, -0.3, -0.4, -0.5};
	double mixed[] = {1, -2, 3, 4, 5};
	double ties[] = {1, 1, 1, 1, 1, 1};
	double zeros[] = {0, 0, 0};
	double with_zero[] = {0, 0.1, 0.2, 0.3, 0.4, 0.5};

	cr_expect_float_eq(heed_stats_wilcoxon_greater(up, 5), 1.0 / 32, 1e-12);
	cr_expect_float_eq(heed_stats_wilcoxon_greater(down, 5), 1.0, 1e-12);
	/* W+ = 13 of 15; subsets of 1..5 with sum >= 13: 3 of 32. */
	cr_expect_float_eq(heed_stats_wilcoxon_greater(mixed, 5), 3.0 / 32, 1e-12);
	cr_expect_float_eq(heed_stats_wilcoxon_greater(ties, 6), 1.0 / 64, 1e-12);
	cr_expect_float_eq(heed_stats_wilcoxon_greater(zeros, 3), 1.0, 1e-12);
	cr_expect_float_eq(heed_stats_wilcoxon_greater(with_zero, 6), 1.0 / 32, 1e-12);
}

Test(stats, wilcoxon_normal_approximation)
{
	double d[200];

	for (int i = 0; i < 200; i++)
		d[i] = i + 1;
	cr_expect_lt(heed_stats_wilcoxon_greater(d, 200), 1e-10);
	/* Symmetric around zero: p near one half. */
	for (int i = 0; i < 200; i++)
		d[i] = (i % 2 ? 1 : -1) * (floor(i / 2.0) + 1);
	cr_expect(fabs(heed_stats_wilcoxon_greater(d, 200) - 0.5) < 0.05);
}

Test(stats, permutation_is_a_reproducible_shuffle)
{
	uint32_t p[1000], q[1000], one = 7;
	unsigned char seen[1000] = {0};
	uint64_t s1 = 9, s2 = 9;
	size_t moved = 0;

	heed_stats_permutation(p, 1000, &s1);
	heed_stats_permutation(q, 1000, &s2);
	for (size_t i = 0; i < 1000; i++) {
		cr_assert_lt(p[i], 1000);
		cr_expect_eq(seen[p[i]]++, 0, "%u twice", p[i]);
		moved += p[i] != i;
	}
	cr_expect_gt(moved, 900, "a shuffle, not the identity (%zu moved)", moved);
	cr_expect_eq(memcmp(p, q, sizeof(p)), 0, "same seed, same order");
	cr_expect_eq(s1, s2);
	s1 = 9;
	heed_stats_permutation(NULL, 0, &s1);
	heed_stats_permutation(&one, 1, &s1);
	cr_expect_eq(one, 0);
	cr_expect_eq(s1, 9, "nothing to shuffle, no draws");
}

/* A suite with two cases: an automatic one and a fixed-work one. */
static unsigned fixed_calls, auto_calls;
static uint64_t fixed_total;
static volatile uint64_t sink;

static int spin(void *arg, uint64_t iters)
{
	(void)arg;
	auto_calls++;
	for (uint64_t i = 0; i < iters * 50; i++)
		sink += i;
	return 0;
}

static int fixed(void *arg, uint64_t iters)
{
	(void)arg;
	fixed_calls++;
	fixed_total += iters;
	for (uint64_t i = 0; i < iters * 50; i++)
		sink += i;
	return 0;
}

static int failing(void *arg, uint64_t iters)
{
	(void)arg;
	(void)iters;
	return -EIO;
}

static int fail_case;

static int tiny_suite(heed_bench *b)
{
	struct heed_bench_def a = {.name = "spin/auto", .routine = spin, .elems = 1, .bytes = 8};
	struct heed_bench_def f = {.name = "spin/fixed", .routine = fixed, .fixed_iters = 7};
	struct heed_bench_def x = {.name = "broken", .routine = failing};
	int rc = heed_bench_run(b, &a);

	if (!rc)
		rc = heed_bench_run(b, &f);
	if (!rc)
		heed_bench_extra(b, "answer", 42);
	if (!rc && fail_case)
		rc = heed_bench_run(b, &x);
	return rc;
}

static char tmpdir[64];

static void make_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/heed-test-harness-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	fixed_calls = auto_calls = 0;
	fixed_total = 0;
	fail_case = 0;
}

static void remove_tmp(void)
{
	heed_bench_rmtree(tmpdir);
}

static int run_main(const char *extra1, const char *extra2, const char *json)
{
	char *argv[16];
	int argc = 0;

	argv[argc++] = "tiny";
	argv[argc++] = "--warm-up";
	argv[argc++] = "0.01";
	argv[argc++] = "--measure";
	argv[argc++] = "0.03";
	argv[argc++] = "--baseline-dir";
	argv[argc++] = tmpdir;
	if (json) {
		argv[argc++] = "--json";
		argv[argc++] = (char *)json;
	}
	if (extra1)
		argv[argc++] = (char *)extra1;
	if (extra2)
		argv[argc++] = (char *)extra2;
	argv[argc] = NULL;
	return heed_bench_main("tiny", argc, argv, tiny_suite);
}

Test(harness, json_results_follow_the_schema, .init = make_tmp, .fini = remove_tmp)
{
	char path[128], err[256];
	json_t *doc;
	const json_t *res, *r, *s;
	size_t i;
	unsigned n = 0;

	snprintf(path, sizeof(path), "%s/out.json", tmpdir);
	cr_assert_eq(run_main(NULL, NULL, path), 0);
	cr_assert_eq(heed_json_load(path, &doc, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(heed_json_str(doc, "schema"), "heed-bench");
	cr_expect_float_eq(heed_json_num(doc, "version", 0), 1, 0);
	cr_expect_str_eq(heed_json_str(doc, "suite"), "tiny");
	cr_expect_str_eq(heed_json_str(doc, "unit"), "ns");
	res = json_object_get(doc, "results");
	cr_assert(json_array_size(res) >= 2, "two results");
	r = json_array_get(res, 0);
	cr_expect_str_eq(heed_json_str(r, "name"), "spin/auto");
	json_array_foreach(json_object_get(r, "samples"), i, s)
	{
		cr_expect_gt(json_number_value(s), 0);
		n++;
	}
	cr_expect_eq(n, 30, "30 samples by default");
	cr_expect_gt(heed_json_num(json_object_get(r, "throughput"), "ops_per_s", 0), 0);
	cr_expect_gt(auto_calls, 30, "warm-up calls come on top of the samples");
	{
		const json_t *ci = json_object_get(r, "median_ci");
		double med = heed_json_num(r, "median", 0);

		cr_expect(json_number_value(json_array_get(ci, 0)) <= med &&
			  med <= json_number_value(json_array_get(ci, 1)));
	}
	r = json_array_get(res, 1);
	cr_expect_str_eq(heed_json_str(r, "name"), "spin/fixed");
	cr_expect_float_eq(heed_json_num(json_object_get(r, "extra"), "answer", 0), 42, 0);
	json_array_foreach(json_object_get(r, "iters"), i, s)
		cr_expect_float_eq(json_number_value(s), 7, 0);
	cr_expect_eq(fixed_calls, 30, "fixed work: no warm-up, one call a sample");
	cr_expect_eq(fixed_total, 30 * 7);
	json_decref(doc);
}

Test(harness, filter_selects_cases, .init = make_tmp, .fini = remove_tmp)
{
	char path[128], err[256];
	json_t *doc;
	const json_t *res;

	snprintf(path, sizeof(path), "%s/out.json", tmpdir);
	cr_assert_eq(run_main("--filter", "fixed$", path), 0);
	cr_assert_eq(heed_json_load(path, &doc, err, sizeof(err)), 0, "%s", err);
	res = json_object_get(doc, "results");
	cr_assert_not_null(json_array_get(res, 0));
	cr_expect_str_eq(heed_json_str(json_array_get(res, 0), "name"), "spin/fixed");
	cr_expect_null(json_array_get(res, 1));
	cr_expect_eq(auto_calls, 0);
	json_decref(doc);
}

Test(harness, baseline_saved_then_compared, .init = make_tmp, .fini = remove_tmp)
{
	char path[128], err[256];
	json_t *doc, *saved;
	const json_t *base;

	cr_assert_eq(run_main("--save-baseline", "first", NULL), 0);
	snprintf(path, sizeof(path), "%s/first/tiny.json", tmpdir);
	cr_assert_eq(access(path, R_OK), 0, "baseline file %s", path);
	snprintf(path, sizeof(path), "%s/second.json", tmpdir);
	cr_assert_eq(run_main("--baseline", "first", path), 0);
	cr_assert_eq(heed_json_load(path, &doc, err, sizeof(err)), 0, "%s", err);
	base = json_object_get(json_array_get(json_object_get(doc, "results"), 0), "baseline");
	cr_assert_not_null(base, "the result carries its comparison");
	cr_expect_str_eq(heed_json_str(base, "name"), "first");
	cr_expect_gt(heed_json_num(base, "ratio", 0), 0);
	cr_expect_not_null(heed_json_str(base, "verdict"));
	json_decref(doc);
	/* Each case is compared with its own entry of the saved file. */
	snprintf(path, sizeof(path), "%s/first/tiny.json", tmpdir);
	cr_assert_eq(heed_json_load(path, &saved, err, sizeof(err)), 0, "%s", err);
	snprintf(path, sizeof(path), "%s/second.json", tmpdir);
	cr_assert_eq(heed_json_load(path, &doc, err, sizeof(err)), 0, "%s", err);
	for (size_t i = 0; i < json_array_size(json_object_get(doc, "results")) &&
			   i < json_array_size(json_object_get(saved, "results"));
	     i++) {
		const json_t *r = json_array_get(json_object_get(doc, "results"), i);
		const json_t *o = json_array_get(json_object_get(saved, "results"), i);

		base = json_object_get(r, "baseline");
		cr_expect_str_eq(heed_json_str(r, "name"), heed_json_str(o, "name"));
		cr_assert_not_null(base, "%s: no comparison", heed_json_str(r, "name"));
		cr_expect_eq(heed_json_num(base, "median", 0), heed_json_num(o, "median", -1),
			     "%s: compared with another case", heed_json_str(r, "name"));
		cr_expect_float_eq(heed_json_num(base, "ratio", 0),
				   heed_json_num(r, "median", 0) / heed_json_num(o, "median", 1),
				   1e-9);
	}
	json_decref(saved);
	json_decref(doc);
}

/* Write baseline NAME for the tiny suite: 30 samples of one value per case. */
static void write_baseline(const char *name, double auto_ns, double fixed_ns)
{
	char path[192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s/tiny.json", tmpdir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{\"schema\":\"heed-bench\",\"version\":1,\"suite\":\"tiny\",\"mode\":\"time\","
	      "\"results\":[",
	      f);
	for (int c = 0; c < 2; c++) {
		fprintf(f, "%s{\"name\":\"%s\",\"samples\":[", c ? "," : "",
			c ? "spin/fixed" : "spin/auto");
		for (int i = 0; i < 30; i++)
			fprintf(f, "%s%.17g", i ? "," : "", c ? fixed_ns : auto_ns);
		fputs("]}", f);
	}
	fputs("]}\n", f);
	cr_assert_eq(fclose(f), 0);
}

Test(harness, baseline_verdicts, .init = make_tmp, .fini = remove_tmp)
{
	char path[128], err[256];
	json_t *doc;
	const json_t *r, *base;

	/* Far from anything a run measures, so the verdicts do not depend on
	 * the machine: a case a million times slower, one a million faster. */
	write_baseline("far", 1e-3, 1e12);
	snprintf(path, sizeof(path), "%s/out.json", tmpdir);
	cr_assert_eq(run_main("--baseline", "far", path), 0, "a regression is reported, not fatal");
	cr_assert_eq(heed_json_load(path, &doc, err, sizeof(err)), 0, "%s", err);
	r = json_array_get(json_object_get(doc, "results"), 0);
	base = json_object_get(r, "baseline");
	cr_assert_not_null(base);
	cr_expect_str_eq(heed_json_str(r, "name"), "spin/auto");
	cr_expect_float_eq(heed_json_num(base, "median", 0), 1e-3, 1e-15);
	cr_expect_str_eq(heed_json_str(base, "verdict"), "regressed");
	cr_expect_gt(json_number_value(json_array_get(json_object_get(base, "ratio_ci"), 0)), 1);
	r = json_array_get(json_object_get(doc, "results"), 1);
	base = json_object_get(r, "baseline");
	cr_assert_not_null(base);
	cr_expect_str_eq(heed_json_str(r, "name"), "spin/fixed");
	cr_expect_float_eq(heed_json_num(base, "median", 0), 1e12, 1);
	cr_expect_str_eq(heed_json_str(base, "verdict"), "improved");
	cr_expect_lt(json_number_value(json_array_get(json_object_get(base, "ratio_ci"), 1)), 1);
	json_decref(doc);
}

/* A suite that asks about its case before running it, as suites do before
 * expensive preparation. */
static int asking_suite(heed_bench *b)
{
	struct heed_bench_def a = {.name = "spin/auto", .routine = spin};

	if (!heed_bench_enabled(b, "spin/auto"))
		return tiny_suite(b);
	return heed_bench_run(b, &a);
}

Test(harness, list_prints_each_name_once, .init = make_tmp, .fini = remove_tmp)
{
	char *argv[] = {"tiny", "--list", NULL};

	cr_redirect_stdout();
	cr_assert_eq(heed_bench_main("tiny", 2, argv, asking_suite), 0);
	fflush(stdout);
	cr_assert_stdout_eq_str("spin/auto\nspin/fixed\n");
	cr_expect_eq(auto_calls + fixed_calls, 0, "listing runs nothing");
}

/* A case that waits: 2 ms asleep per iteration, almost no CPU. */
static int napping(void *arg, uint64_t iters)
{
	struct timespec ts = {0, 2000000};

	(void)arg;
	for (uint64_t i = 0; i < iters; i++)
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	return 0;
}

static int napping_suite(heed_bench *b)
{
	struct heed_bench_def d = {.name = "nap", .routine = napping, .fixed_iters = 1};

	return heed_bench_run(b, &d);
}

/* The median per iteration of the nap case run with the options given. */
static double nap_median(const char *mode_opt, const char *mode)
{
	char path[128], err[256];
	char *argv[] = {"tiny", "--json", path, (char *)mode_opt, NULL};
	json_t *doc;
	double med;

	snprintf(path, sizeof(path), "%s/nap.json", tmpdir);
	cr_assert_eq(heed_bench_main("tiny", mode_opt ? 4 : 3, argv, napping_suite), 0);
	cr_assert_eq(heed_json_load(path, &doc, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(heed_json_str(doc, "mode"), mode);
	cr_expect_str_eq(heed_json_str(doc, "unit"), "ns");
	med = heed_json_num(json_array_get(json_object_get(doc, "results"), 0), "median", -1);
	json_decref(doc);
	return med;
}

/* --cpu-time times the thread's CPU, which a sleep does not use: the
 * bounds are the sleep itself, which wall time cannot undercut and a
 * sleeping thread's CPU time cannot reach. */
Test(harness, cpu_time_leaves_out_waiting, .init = make_tmp, .fini = remove_tmp)
{
	double wall = nap_median(NULL, "time"), cpu = nap_median("--cpu-time", "cputime");

	cr_expect_geq(wall, 2e6, "wall time includes the 2 ms sleep: %.0f ns", wall);
	cr_expect(cpu >= 0 && cpu < 1e6, "CPU time leaves the sleep out: %.0f ns", cpu);
	cr_redirect_stderr();
	cr_expect_eq(run_main("--icount", "--cpu-time", NULL), 2, "two modes at once");
}

Test(harness, bad_usage_and_failures_exit_non_zero, .init = make_tmp, .fini = remove_tmp)
{
	cr_redirect_stderr();
	cr_expect_eq(run_main("--samples", "5", NULL), 2, "fewer than 30 samples");
	cr_expect_eq(run_main("--filter", "(", NULL), 2, "a bad regex");
	cr_expect_eq(run_main("--bogus", NULL, NULL), 2);
	cr_expect_eq(run_main("--seed", "12x", NULL), 2, "a seed with trailing junk");
	cr_expect_eq(run_main("--seed", "-1", NULL), 2, "a negative seed");
	cr_expect_eq(run_main("--seed", "0x2a", NULL), 0, "a hexadecimal seed");
	cr_expect_eq(run_main("--baseline", "nonexistent", NULL), 1, "a missing baseline");
	cr_expect_eq(run_main(NULL, NULL, "/dev/full"), 1, "results that cannot be written");
	fail_case = 1;
	cr_expect_eq(run_main(NULL, NULL, NULL), 1, "a failing case fails the run");
}
