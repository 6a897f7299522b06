/*
 * verdict.h - "did it get slower?": the one judgement and the one vocabulary
 * of the bench harness (--baseline), heed-bench-compare and heed-dash.
 *
 * The input is a cost ratio, candidate / baseline (time or instructions per
 * iteration: above 1 is slower), with its 95% interval [lo, hi] (lo == hi ==
 * ratio for exact instruction counts), and a threshold as a fraction (0.05:
 * changes under 5% do not count). The interval decides whether there is a
 * change at all, the threshold whether it matters:
 *
 *   interval above 1:  regressed if ratio > 1 + threshold, else "slower, within threshold"
 *   interval below 1:  improved  if ratio < 1 - threshold, else "faster, within threshold"
 *   interval around 1: unchanged
 */
#ifndef HEED_UTIL_VERDICT_H
#define HEED_UTIL_VERDICT_H

enum heed_verdict {
	HEED_VERDICT_NONE,	/* nothing to compare with */
	HEED_VERDICT_UNCHANGED, /* no significant change */
	HEED_VERDICT_SLOWER,	/* significantly slower, by less than the threshold */
	HEED_VERDICT_FASTER,	/* significantly faster, by less than the threshold */
	HEED_VERDICT_REGRESSED, /* slower by more than the threshold */
	HEED_VERDICT_IMPROVED,	/* faster by more than the threshold */
	HEED_VERDICT_TOO_FEW,	/* too few rounds for a test */
	HEED_VERDICT_COUNT,
};

/* The verdict by the interval rule above. */
enum heed_verdict heed_verdict_judge(double ratio, double lo, double hi, double threshold);

/* Its name as every report and JSON file writes it ("regressed", "slower,
 * within threshold", ...); "?" for a value out of range. */
const char *heed_verdict_name(enum heed_verdict v);

#endif
