/*
 * search.c - node search: scalar binary search and an AVX2 prefix scan.
 *
 * A slot holds 6 big-endian key bytes above the node offset: those after the
 * page's common prefix (page.h), so comparing slots as integers orders them
 * without touching the nodes: one cache line of slots covers 8 keys. The
 * searched key is compared with the common prefix once; a full key is read
 * only when slot prefixes tie (keys sharing 6 more bytes).
 *
 * The AVX2 path counts, 4 slots per instruction and without branches on the
 * data, how many slots have a prefix below the key's and how many have one
 * at or below it; only the tie range between the two counts needs full key
 * compares. On pages of keys with distinct prefixes that is 0 or 1 node read.
 */
#include "search.h"
#include "page.h"

#include <immintrin.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Binary search among [lo, hi) by full key: every slot there has a prefix
 * equal to the key's, or the caller did not narrow the range. */
static int full_search(void *p, unsigned int psize, unsigned int lo, unsigned int hi, uint64_t kp,
		       const void *key, size_t klen, struct search_res *res)
{
	uint64_t *slots = page_slots(p);

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		uint64_t sp = slots[mid] >> 16;
		unsigned char *n;
		int c;

		if (sp < kp) {
			lo = mid + 1;
			continue;
		}
		if (sp > kp) {
			hi = mid;
			continue;
		}
		if (node_check(p, mid, psize))
			return -1;
		n = page_node(p, mid);
		c = heed_keycmp(node_key(n), node_ksize(n), key, klen);
		if (c < 0) {
			lo = mid + 1;
		} else if (c > 0) {
			hi = mid;
		} else {
			res->idx = mid;
			res->exact = 1;
			return 0;
		}
	}
	res->idx = lo;
	res->exact = 0;
	return 0;
}

/* Compare key with the bytes every key of the page shares (read from its
 * first keyed node: slot 0 of a leaf, slot 1 of a branch). Returns -1 on a
 * damaged page, 1 when that decides the search (key below or above every key
 * of the page: res set), else 0 with *kp the key's slot prefix. */
static int common_prefix(void *p, unsigned int psize, unsigned int start, const void *key,
			 size_t klen, uint64_t *kp, struct search_res *res)
{
	unsigned int cpl = page_hdr(p)->cpl,
		     ref = (page_hdr(p)->flags & P_BRANCH) ? BRANCH_FIRST_KEY : LEAF_FIRST_KEY;
	unsigned char *n;
	int c;

	if (!cpl) {
		*kp = key_prefix(key, klen);
		return 0;
	}
	if (ref >= page_hdr(p)->nkeys || node_check(p, ref, psize))
		return -1;
	n = page_node(p, ref);
	if (node_ksize(n) < cpl)
		return -1;
	c = heed_bytecmp(key, node_key(n), klen < cpl ? klen : cpl);
	if (c == 0 && klen >= cpl) {
		*kp = key_prefix((const unsigned char *)key + cpl, klen - cpl);
		return 0;
	}
	/* A key that is a proper prefix of the common prefix sorts first. */
	res->idx = c > 0 ? page_hdr(p)->nkeys : start;
	res->exact = 0;
	return 1;
}

int heed_node_search_scalar(void *p, unsigned int psize, unsigned int start, const void *key,
			    size_t klen, struct search_res *res)
{
	uint64_t kp;
	int rc = common_prefix(p, psize, start, key, klen, &kp, res);

	if (rc)
		return rc < 0 ? -1 : 0;
	return full_search(p, psize, start, page_hdr(p)->nkeys, kp, key, klen, res);
}

__attribute__((target("avx2"))) static int avx2_search(void *p, unsigned int psize,
						       unsigned int start, const void *key,
						       size_t klen, struct search_res *res)
{
	const uint64_t sign = 1ULL << 63;
	uint64_t kp;
	const uint64_t *slots = page_slots(p);
	unsigned int n = page_hdr(p)->nkeys, i = start, lt = 0, le = 0;
	__m256i vsign, vlo, vhi;
	int rc = common_prefix(p, psize, start, key, klen, &kp, res);

	if (rc)
		return rc < 0 ? -1 : 0;
	vsign = _mm256_set1_epi64x((long long)sign);
	vlo = _mm256_set1_epi64x((long long)((kp << 16) ^ sign));
	vhi = _mm256_set1_epi64x((long long)(((kp << 16) | 0xffff) ^ sign));
	for (; i + 4 <= n; i += 4) {
		__m256i s =
			_mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(slots + i)), vsign);
		int mlt = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(vlo, s)));
		int mgt = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(s, vhi)));

		lt += (unsigned int)__builtin_popcount((unsigned int)mlt);
		le += 4 - (unsigned int)__builtin_popcount((unsigned int)mgt);
		if (mgt)
			goto counted;
	}
	for (; i < n; i++) {
		uint64_t sp = slots[i] >> 16;

		if (sp > kp)
			break;
		le++;
		if (sp < kp)
			lt++;
	}
counted:
	if (lt == le) {
		res->idx = start + lt;
		res->exact = 0;
		return 0;
	}
	return full_search(p, psize, start + lt, start + le, kp, key, klen, res);
}

int heed_node_search_avx2(void *p, unsigned int psize, unsigned int start, const void *key,
			  size_t klen, struct search_res *res)
{
	if (!__builtin_cpu_supports("avx2"))
		return -1;
	return avx2_search(p, psize, start, key, klen, res);
}

/* Decided by the first search of any thread; several may decide at once
 * (all the same way), so the flag is atomic: relaxed, a plain load on x86. */
static _Atomic int use_avx2 = -1;

__attribute__((noinline, cold)) static int decide_avx2(void)
{
	const char *f = getenv("HEED_FORCE_SCALAR");
	int v;

	__builtin_cpu_init();
	v = (!f || *f == '0' || !*f) && __builtin_cpu_supports("avx2");
	atomic_store_explicit(&use_avx2, v, memory_order_relaxed);
	return v;
}

/* Inlined into heed_node_search: with the first search's decision out of
 * line, a search pays one load for it instead of a call around which
 * heed_node_search saved and restored its six arguments (30 Ir a page
 * visited, 120 of an overwrite's 4052: db_comparison --icount). */
static inline int uses_avx2(void)
{
	int v = atomic_load_explicit(&use_avx2, memory_order_relaxed);

	return v < 0 ? decide_avx2() : v;
}

int heed_search_uses_avx2(void)
{
	return uses_avx2();
}

int heed_node_search(void *p, unsigned int psize, unsigned int start, const void *key, size_t klen,
		     struct search_res *res)
{
	if (uses_avx2())
		return avx2_search(p, psize, start, key, klen, res);
	return heed_node_search_scalar(p, psize, start, key, klen, res);
}

int heed_node_search_cmp(void *p, unsigned int psize, unsigned int start, const void *key,
			 size_t klen, heed_cmp_func *cmp, struct search_res *res)
{
	unsigned int lo = start, hi = page_hdr(p)->nkeys;
	heed_val k = {klen, (void *)key}, nk;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		unsigned char *n;
		int c;

		if (node_check(p, mid, psize))
			return -1;
		n = page_node(p, mid);
		nk.data = node_key(n);
		nk.size = node_ksize(n);
		c = cmp(&nk, &k);
		if (c < 0) {
			lo = mid + 1;
		} else if (c > 0) {
			hi = mid;
		} else {
			res->idx = mid;
			res->exact = 1;
			return 0;
		}
	}
	res->idx = lo;
	res->exact = 0;
	return 0;
}

/* HEED_REVERSEKEY/REVERSEDUP: bytes compared from the last one back, the
 * shorter first when one ends (LMDB's order). */
static int cmp_reverse(const heed_val *a, const heed_val *b)
{
	const unsigned char *p = (const unsigned char *)a->data + a->size,
			    *q = (const unsigned char *)b->data + b->size;
	size_t n = a->size < b->size ? a->size : b->size;

	while (n--) {
		int d = *--p - *--q;

		if (d)
			return d;
	}
	return a->size < b->size ? -1 : a->size > b->size;
}

/* A native (little-endian) unsigned integer of any size up to 8 bytes. */
static uint64_t uint_value(const heed_val *v)
{
	uint64_t x = 0;

	memcpy(&x, v->data, v->size < 8 ? v->size : 8);
	return x;
}

/* HEED_INTEGERKEY/INTEGERDUP: unsigned ints and size_ts as numbers, the
 * shorter first on a tie so that only equal bytes compare 0. Keys of other
 * sizes are refused before they come here (heed_cmp may bring any: their
 * first 8 bytes are the number). */
static int cmp_uint(const heed_val *a, const heed_val *b)
{
	uint64_t x = uint_value(a), y = uint_value(b);

	if (x != y)
		return x < y ? -1 : 1;
	return a->size < b->size ? -1 : a->size > b->size;
}

heed_cmp_func *heed_flag_order(unsigned int dbflags, int dup)
{
	unsigned int rev = dup ? HEED_REVERSEDUP : HEED_REVERSEKEY,
		     num = dup ? HEED_INTEGERDUP : HEED_INTEGERKEY;

	if (dup && !(dbflags & HEED_DUPSORT))
		return NULL;
	/* LMDB: REVERSEKEY over INTEGERKEY, INTEGERDUP over REVERSEDUP. */
	if (dup ? (dbflags & num) : (dbflags & num) && !(dbflags & rev))
		return cmp_uint;
	return (dbflags & rev) ? cmp_reverse : NULL;
}
