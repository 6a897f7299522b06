/*
 * stats.c - see stats.h. Sample sets are small (tens to a few thousand
 * values), so sorting copies is cheap next to the measurements themselves.
 */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t heed_stats_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void heed_stats_permutation(uint32_t *perm, size_t n, uint64_t *state)
{
	for (size_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	for (size_t i = n; i > 1; i--) {
		size_t j = heed_stats_rand(state) % i;
		uint32_t tmp = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = tmp;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

static double *sorted_copy(const double *x, size_t n)
{
	double *s = malloc(n * sizeof(*s));

	if (!s)
		return NULL;
	memcpy(s, x, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return s;
}

double heed_stats_mean(const double *x, size_t n)
{
	double sum = 0;

	if (n == 0)
		return NAN;
	for (size_t i = 0; i < n; i++)
		sum += x[i];
	return sum / (double)n;
}

double heed_stats_stddev(const double *x, size_t n)
{
	double m, ss = 0;

	if (n == 0)
		return NAN;
	if (n == 1)
		return 0;
	m = heed_stats_mean(x, n);
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - m) * (x[i] - m);
	return sqrt(ss / (double)(n - 1));
}

double heed_stats_quantile_sorted(const double *sorted, size_t n, double q)
{
	double pos, frac;
	size_t i;

	if (n == 0)
		return NAN;
	if (q <= 0)
		return sorted[0];
	if (q >= 1)
		return sorted[n - 1];
	pos = q * (double)(n - 1);
	i = (size_t)pos;
	frac = pos - (double)i;
	if (i + 1 >= n)
		return sorted[n - 1];
	return sorted[i] + frac * (sorted[i + 1] - sorted[i]);
}

double heed_stats_median(const double *x, size_t n)
{
	double *s, m;

	if (n == 0)
		return NAN;
	s = sorted_copy(x, n);
	if (!s)
		return NAN;
	m = heed_stats_quantile_sorted(s, n, 0.5);
	free(s);
	return m;
}

double heed_stats_mad(const double *x, size_t n)
{
	double med, *dev, mad;

	if (n == 0)
		return NAN;
	med = heed_stats_median(x, n);
	dev = malloc(n * sizeof(*dev));
	if (!dev)
		return NAN;
	for (size_t i = 0; i < n; i++)
		dev[i] = fabs(x[i] - med);
	mad = heed_stats_median(dev, n);
	free(dev);
	return mad;
}

int heed_stats_tukey(const double *x, size_t n, struct heed_stats_outliers *out)
{
	double *s, q1, q3, iqr;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	s = sorted_copy(x, n);
	if (!s)
		return -ENOMEM;
	q1 = heed_stats_quantile_sorted(s, n, 0.25);
	q3 = heed_stats_quantile_sorted(s, n, 0.75);
	iqr = q3 - q1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < q1 - 3 * iqr)
			out->low_severe++;
		else if (s[i] < q1 - 1.5 * iqr)
			out->low_mild++;
		else if (s[i] > q3 + 3 * iqr)
			out->high_severe++;
		else if (s[i] > q3 + 1.5 * iqr)
			out->high_mild++;
	}
	free(s);
	return 0;
}

static double estimate(double *x, size_t n, enum heed_stats_estimator est)
{
	if (est == HEED_STATS_MEAN)
		return heed_stats_mean(x, n);
	qsort(x, n, sizeof(*x), cmp_double);
	return heed_stats_quantile_sorted(x, n, 0.5);
}

static void resample(const double *x, size_t n, double *into, uint64_t *rng)
{
	for (size_t i = 0; i < n; i++)
		into[i] = x[heed_stats_rand(rng) % n];
}

/* The (1-conf)/2 and (1+conf)/2 quantiles of the bootstrap distribution. */
static void percentile_interval(double *dist, size_t n, double conf, double *lo, double *hi)
{
	qsort(dist, n, sizeof(*dist), cmp_double);
	*lo = heed_stats_quantile_sorted(dist, n, (1 - conf) / 2);
	*hi = heed_stats_quantile_sorted(dist, n, (1 + conf) / 2);
}

int heed_stats_bootstrap_ci(const double *x, size_t n, enum heed_stats_estimator est,
			    unsigned resamples, double conf, uint64_t seed, double *lo, double *hi)
{
	double *dist = NULL, *tmp = NULL;
	uint64_t rng = seed;
	int err = 0;

	if (n == 0 || resamples == 0 || !(conf > 0 && conf < 1))
		return -EINVAL;
	dist = malloc(resamples * sizeof(*dist));
	tmp = malloc(n * sizeof(*tmp));
	if (!dist || !tmp) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (unsigned r = 0; r < resamples; r++) {
		resample(x, n, tmp, &rng);
		dist[r] = estimate(tmp, n, est);
	}
	percentile_interval(dist, resamples, conf, lo, hi);
cleanup:
	free(dist);
	free(tmp);
	return err;
}

int heed_stats_bootstrap_ratio_ci(const double *a, size_t na, const double *b, size_t nb,
				  unsigned resamples, double conf, uint64_t seed, double *lo,
				  double *hi)
{
	double *dist = NULL, *ta = NULL, *tb = NULL;
	uint64_t rng = seed;
	int err = 0;

	if (na == 0 || nb == 0 || resamples == 0 || !(conf > 0 && conf < 1))
		return -EINVAL;
	dist = malloc(resamples * sizeof(*dist));
	ta = malloc(na * sizeof(*ta));
	tb = malloc(nb * sizeof(*tb));
	if (!dist || !ta || !tb) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (unsigned r = 0; r < resamples; r++) {
		double ma, mb;

		resample(a, na, ta, &rng);
		resample(b, nb, tb, &rng);
		ma = estimate(ta, na, HEED_STATS_MEDIAN);
		mb = estimate(tb, nb, HEED_STATS_MEDIAN);
		dist[r] = ma != 0 ? mb / ma : (mb == 0 ? 1.0 : INFINITY);
	}
	percentile_interval(dist, resamples, conf, lo, hi);
cleanup:
	free(dist);
	free(ta);
	free(tb);
	return err;
}

struct ranked {
	double abs;
	int positive;
};

static int cmp_ranked(const void *a, const void *b)
{
	return cmp_double(&((const struct ranked *)a)->abs, &((const struct ranked *)b)->abs);
}

/* P(W+ >= w2) under H0 where every signed rank is + or - with probability
 * 1/2. Ranks are doubled so mid-ranks of ties stay integers; the
 * distribution is built by dynamic programming over the sum, in doubles
 * (2^64 outcomes at most, far inside a double's exponent range). */
static double exact_upper_tail(const unsigned *rank2, size_t n, unsigned long w2)
{
	unsigned long total = 0;
	double *cnt, p = 0, all = 0;

	for (size_t i = 0; i < n; i++)
		total += rank2[i];
	cnt = calloc(total + 1, sizeof(*cnt));
	if (!cnt)
		return NAN;
	cnt[0] = 1;
	for (size_t i = 0; i < n; i++)
		for (unsigned long s = total; s >= rank2[i]; s--)
			cnt[s] += cnt[s - rank2[i]];
	for (unsigned long s = 0; s <= total; s++) {
		all += cnt[s];
		if (s >= w2)
			p += cnt[s];
	}
	free(cnt);
	return p / all;
}

double heed_stats_wilcoxon_greater(const double *d, size_t n)
{
	struct ranked *r;
	unsigned *rank2;
	unsigned long w2 = 0;
	double p, tie_term = 0;
	size_t m = 0;

	r = malloc((n ? n : 1) * sizeof(*r));
	rank2 = malloc((n ? n : 1) * sizeof(*rank2));
	if (!r || !rank2) {
		free(r);
		free(rank2);
		return NAN;
	}
	for (size_t i = 0; i < n; i++)
		if (d[i] != 0) {
			r[m].abs = fabs(d[i]);
			r[m].positive = d[i] > 0;
			m++;
		}
	if (m == 0) {
		p = 1.0;
		goto cleanup;
	}
	qsort(r, m, sizeof(*r), cmp_ranked);
	for (size_t i = 0; i < m;) {
		size_t j = i;

		while (j + 1 < m && r[j + 1].abs == r[i].abs)
			j++;
		/* Ranks i+1..j+1 share their mean; doubled: i + j + 2. */
		for (size_t k = i; k <= j; k++)
			rank2[k] = (unsigned)(i + j + 2);
		tie_term += (double)(j - i + 1) * ((double)(j - i + 1) * (j - i + 1) - 1);
		i = j + 1;
	}
	for (size_t i = 0; i < m; i++)
		if (r[i].positive)
			w2 += rank2[i];
	if (m <= 64) {
		p = exact_upper_tail(rank2, m, w2);
	} else {
		double mm = (double)m;
		double mu = mm * (mm + 1) / 4;
		double var = mm * (mm + 1) * (2 * mm + 1) / 24 - tie_term / 48;
		/* Continuity correction of half a rank. */
		double z = ((double)w2 / 2 - mu - 0.5) / sqrt(var);

		p = 0.5 * erfc(z / sqrt(2));
	}
cleanup:
	free(r);
	free(rank2);
	return p;
}
