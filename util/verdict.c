/* verdict.c - the regression verdict (verdict.h). */
#include "verdict.h"

static const char *const names[HEED_VERDICT_COUNT] = {
	[HEED_VERDICT_NONE] = "not compared",
	[HEED_VERDICT_UNCHANGED] = "unchanged",
	[HEED_VERDICT_SLOWER] = "slower, within threshold",
	[HEED_VERDICT_FASTER] = "faster, within threshold",
	[HEED_VERDICT_REGRESSED] = "regressed",
	[HEED_VERDICT_IMPROVED] = "improved",
	[HEED_VERDICT_TOO_FEW] = "too few rounds",
};

enum heed_verdict heed_verdict_judge(double ratio, double lo, double hi, double threshold)
{
	if (lo > 1)
		return ratio > 1 + threshold ? HEED_VERDICT_REGRESSED : HEED_VERDICT_SLOWER;
	if (hi < 1)
		return ratio < 1 - threshold ? HEED_VERDICT_IMPROVED : HEED_VERDICT_FASTER;
	return HEED_VERDICT_UNCHANGED;
}

const char *heed_verdict_name(enum heed_verdict v)
{
	return (unsigned)v < HEED_VERDICT_COUNT ? names[v] : "?";
}
