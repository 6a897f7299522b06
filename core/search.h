/*
 * search.h - node search in a branch or leaf page (internal).
 *
 * Both implementations (scalar and AVX2, picked at run time by CPUID) give
 * identical results: the first slot at or after `start` whose key is >= the
 * searched key. They read the 48-bit key prefixes of the slot array first
 * and compare full keys only among slots whose prefix equals the key's.
 */
#ifndef HEED_SEARCH_H
#define HEED_SEARCH_H

#include "heed.h"

#include <stddef.h>

struct search_res {
	unsigned int idx; /* first slot >= key, nkeys when none */
	int exact;	  /* key(idx) == key */
};

/* Search page p (psize bytes) for key. Returns 0, or -1 when a node met is
 * out of the page's bounds (a corrupt page). */
int heed_node_search(void *p, unsigned int psize, unsigned int start, const void *key, size_t klen,
		     struct search_res *res);

/* The scalar search, always available (tests compare the two). */
int heed_node_search_scalar(void *p, unsigned int psize, unsigned int start, const void *key,
			    size_t klen, struct search_res *res);

/* The AVX2 search; -1 with res untouched when the CPU lacks AVX2. */
int heed_node_search_avx2(void *p, unsigned int psize, unsigned int start, const void *key,
			  size_t klen, struct search_res *res);

/* 1 when heed_node_search uses AVX2. HEED_FORCE_SCALAR=1 in the environment
 * (read once, at the first search) forces the scalar path. */
int heed_search_uses_avx2(void);

/* The search of a db whose keys are in another order than bytewise
 * (heed_cmp_func): a binary search over the full keys, which are stored
 * whole; such a db's pages keep no common prefix (cpl 0), and their slot
 * prefixes, though kept, say nothing of the order. Same results and errors
 * as heed_node_search. */
int heed_node_search_cmp(void *p, unsigned int psize, unsigned int start, const void *key,
			 size_t klen, heed_cmp_func *cmp, struct search_res *res);

/* The orders the flags of a db choose: NULL for bytewise (which
 * heed_node_search implements without a call), else the function; dup 0
 * for the keys (HEED_REVERSEKEY, HEED_INTEGERKEY), 1 for a DUPSORT db's
 * values (HEED_REVERSEDUP, HEED_INTEGERDUP). */
heed_cmp_func *heed_flag_order(unsigned int dbflags, int dup);

/* Compare two keys bytewise, the shorter first on a tie: <0, 0, >0. */
static inline int heed_keycmp(const void *a, size_t an, const void *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = __builtin_memcmp(a, b, n);

	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

/* Compare two keys under order cmp (NULL: bytewise). */
static inline int heed_ordcmp(heed_cmp_func *cmp, const void *a, size_t an, const void *b,
			      size_t bn)
{
	heed_val x = {an, (void *)a}, y = {bn, (void *)b};

	if (!cmp)
		return heed_keycmp(a, an, b, bn);
	return cmp(&x, &y);
}

#endif
