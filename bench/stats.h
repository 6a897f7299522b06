/*
 * stats.h - the statistics behind the bench harness and heed-bench-compare.
 *
 * Pure functions over arrays of doubles (and a random permutation for the
 * suites' key orders): no I/O, no global state. Inputs are
 * never modified (functions that need order sort a private copy). Functions
 * that allocate return -ENOMEM on failure; the others cannot fail. An empty
 * input (n == 0) gives NAN for a statistic and -EINVAL for an interval.
 *
 * Randomness (bootstrap) comes from a caller-given seed, so every interval
 * is reproducible.
 */
#ifndef HEED_BENCH_STATS_H
#define HEED_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Tukey's fences over the interquartile range: mild outliers lie beyond
 * 1.5 IQR from the quartiles, severe ones beyond 3 IQR. */
struct heed_stats_outliers {
	size_t low_severe;
	size_t low_mild;
	size_t high_mild;
	size_t high_severe;
};

/* The statistic a bootstrap interval is about. */
enum heed_stats_estimator {
	HEED_STATS_MEDIAN,
	HEED_STATS_MEAN,
};

/* The next number of a splitmix64 generator; *state advances. */
uint64_t heed_stats_rand(uint64_t *state);

/* Fill perm with a random order of 0..n-1 (Fisher-Yates on heed_stats_rand;
 * *state advances): the suites' random key orders. */
void heed_stats_permutation(uint32_t *perm, size_t n, uint64_t *state);

double heed_stats_mean(const double *x, size_t n);

/* Sample standard deviation (n - 1 in the denominator); 0 for n == 1. */
double heed_stats_stddev(const double *x, size_t n);

/* Quantile q in [0, 1] of sorted x, linear interpolation between ranks. */
double heed_stats_quantile_sorted(const double *sorted, size_t n, double q);

/* The median of x (NAN on n == 0 or allocation failure). */
double heed_stats_median(const double *x, size_t n);

/* Median absolute deviation from the median (unscaled). */
double heed_stats_mad(const double *x, size_t n);

/* Count Tukey outliers of x into *out. 0 or -ENOMEM. */
int heed_stats_tukey(const double *x, size_t n, struct heed_stats_outliers *out);

/* Percentile bootstrap interval of the estimator of x at confidence conf
 * (e.g. 0.95) from resamples resamples. 0, -EINVAL or -ENOMEM. */
int heed_stats_bootstrap_ci(const double *x, size_t n, enum heed_stats_estimator est,
			    unsigned resamples, double conf, uint64_t seed, double *lo, double *hi);

/* Percentile bootstrap interval of median(b) / median(a) for two
 * independent sample sets (each resampled on its own). */
int heed_stats_bootstrap_ratio_ci(const double *a, size_t na, const double *b, size_t nb,
				  unsigned resamples, double conf, uint64_t seed, double *lo,
				  double *hi);

/* One-sided Wilcoxon signed-rank test: the p-value of the hypothesis that
 * the differences d are centred above zero (H1: median(d) > 0). Zeros are
 * dropped, ties get mid-ranks. Exact (the permutation distribution of the
 * ranks) for up to 64 non-zero differences, normal approximation beyond.
 * Returns 1.0 when no difference is non-zero, NAN on allocation failure. */
double heed_stats_wilcoxon_greater(const double *d, size_t n);

#endif
