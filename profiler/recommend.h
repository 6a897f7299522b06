/*
 * recommend.h - turn a CPU profile into concrete optimization advice.
 *
 * A fixed rule table (recommend.c) names, for each known cost centre of an
 * embedded B+tree store, the frames that show it (fnmatch patterns on
 * symbol names, annotations ignored), the share of samples at which it
 * matters, and what to do about it:
 *
 *   key-compare   key comparison / node search      -> SIMD or prefix search
 *   page-alloc    page allocation, freelist         -> freelist tuning
 *   sync          fsync / fdatasync / msync         -> batch commits, NOSYNC
 *   malloc        malloc / free                     -> arena allocation
 *   memcpy        memcpy / memmove as leaf          -> overflow pages, page size
 *   page-fault    kernel page-fault path            -> larger map, MAP_POPULATE
 *   cow-touch     copy-on-write of touched pages    -> bigger txns, APPEND
 *   page-split    B+tree page splits                -> APPEND, larger pages
 *   lock          mutex / futex                     -> fewer writers, batching
 *   build         user code built without LTO/PGO   -> make release / pgo
 *
 * A stack rule's share is the fraction of samples whose stack has a matching
 * frame anywhere ("total") or as the leaf ("self"); a stack counts once per
 * rule however many of its frames match. The build rule fires when
 * prof->build is "debug" or "default" and at least 20% of samples end in
 * user-space code, the code a compiler profile can speed up.
 *
 * A rule fires when its share reaches its threshold; recommendations come out
 * sorted by share, largest first, each with a sentence of evidence naming the
 * share and the top matching functions.
 */
#ifndef HEED_RECOMMEND_H
#define HEED_RECOMMEND_H

#include <stddef.h>

#include "folded.h"

struct heed_rec {
	const char *rule;   /* rule id, e.g. "key-compare" */
	const char *title;  /* what the profile shows */
	const char *advice; /* what to do */
	double share;	    /* fraction of samples behind it, 0..1 */
	double threshold;   /* the rule's threshold, 0..1 */
	char evidence[512]; /* one sentence: measured share, top functions */
};

/* Number of rules in the table. */
size_t heed_recommend_nrules(void);

/* Id of rule i (0 <= i < heed_recommend_nrules()), or NULL. */
const char *heed_recommend_rule_id(size_t i);

/*
 * Evaluates every rule on prof, which must have been ranked with
 * heed_folded_rank(). Writes at most max recommendations to out and their
 * number to *n. Returns 0, or -EINVAL when prof has no samples.
 */
int heed_recommend(const struct heed_folded *prof, struct heed_rec *out, size_t max, size_t *n);

#endif
