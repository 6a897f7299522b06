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
#include <stdint.h>
#include <string.h>

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

/* The sign of memcmp(a, b, n) (-1, 0, 1), inline: libc's memcmp on the
 * 10-16 bytes of a page's common prefix or a key, about five a put, was 80
 * of an overwrite's 4131 Ir (db_comparison --icount). Words are compared
 * whole, the last one overlapping the one before (whose bytes are equal by
 * then), byte-swapped to order as big-endian; no byte outside [0, n) is read. */
static inline int heed_bytecmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	uint64_t u, v;
	uint32_t w, z;
	uint16_t h, g;
	size_t i;

	if (n >= 8) {
		for (i = 0; i + 8 < n; i += 8) {
			memcpy(&u, x + i, 8);
			memcpy(&v, y + i, 8);
			if (u != v)
				goto differ;
		}
		memcpy(&u, x + n - 8, 8);
		memcpy(&v, y + n - 8, 8);
		if (u == v)
			return 0;
	differ:
		u = __builtin_bswap64(u);
		v = __builtin_bswap64(v);
		return (u > v) - (u < v);
	}
	if (n >= 4) {
		memcpy(&w, x, 4);
		memcpy(&z, y, 4);
		if (w == z) {
			memcpy(&w, x + n - 4, 4);
			memcpy(&z, y + n - 4, 4);
		}
		w = __builtin_bswap32(w);
		z = __builtin_bswap32(z);
		return (w > z) - (w < z);
	}
	if (n >= 2) {
		memcpy(&h, x, 2);
		memcpy(&g, y, 2);
		if (h == g) {
			if (n == 2)
				return 0;
			return (x[2] > y[2]) - (x[2] < y[2]);
		}
		h = __builtin_bswap16(h);
		g = __builtin_bswap16(g);
		return (h > g) - (h < g);
	}
	return n ? (x[0] > y[0]) - (x[0] < y[0]) : 0;
}

/* Compare two keys bytewise, the shorter first on a tie: <0, 0, >0. */
static inline int heed_keycmp(const void *a, size_t an, const void *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = heed_bytecmp(a, b, n);

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
