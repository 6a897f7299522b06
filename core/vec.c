/*
 * vec.c - a growable vector of page numbers (or of txnid/pgno pairs) and
 * the sort of page numbers the freelist and the commit use.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

int pgvec_grow(struct pgvec *v)
{
	size_t cap = v->cap ? v->cap * 2 : 64;
	uint64_t *nv = realloc(v->v, cap * sizeof(*nv));

	if (!nv)
		return ENOMEM;
	v->v = nv;
	v->cap = cap;
	return 0;
}

int pgvec_reserve(struct pgvec *v, size_t n)
{
	uint64_t *nv;

	if (v->cap >= n)
		return 0;
	nv = realloc(v->v, n * sizeof(*nv));
	if (!nv)
		return ENOMEM;
	v->v = nv;
	v->cap = n;
	return 0;
}

void pgvec_free(struct pgvec *v)
{
	free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}

static void sift_down(uint64_t *v, size_t i, size_t n)
{
	uint64_t x = v[i];

	for (size_t c; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && v[c + 1] > v[c])
			c++;
		if (v[c] <= x)
			break;
		v[i] = v[c];
	}
	v[i] = x;
}

static void heap_sort(uint64_t *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	while (n > 1) {
		uint64_t t = v[--n];

		v[n] = v[0];
		v[0] = t;
		sift_down(v, 0, n);
	}
}

static void swap64(uint64_t *a, uint64_t *b)
{
	uint64_t t = *a;

	*a = *b;
	*b = t;
}

/* Introsort: quicksort on the median of three, insertion sort below 16
 * items, heap sort once depth partitions did not finish (a freelist read
 * from a crafted file cannot make it quadratic). qsort's comparator calls
 * made the sorts a quarter of the instructions of a random overwrite. It
 * sorts small vectors, and large ones when radix_sort has no memory. */
void pgno_sort_limit(uint64_t *v, size_t n, unsigned int depth)
{
	while (n > 16) {
		uint64_t pivot;
		size_t i = 0, j = n - 1;

		if (!depth--) {
			heap_sort(v, n);
			return;
		}
		if (v[n / 2] < v[0])
			swap64(&v[n / 2], &v[0]);
		if (v[n - 1] < v[0])
			swap64(&v[n - 1], &v[0]);
		if (v[n - 1] < v[n / 2])
			swap64(&v[n - 1], &v[n / 2]);
		pivot = v[n / 2];
		/* Hoare partition; the sorted ends stop both scans. */
		for (;;) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i >= j)
				break;
			swap64(&v[i++], &v[j--]);
		}
		/* [0, j] <= pivot <= [j+1, n): recurse into the smaller side. */
		if (j + 1 < n - j - 1) {
			pgno_sort_limit(v, j + 1, depth);
			v += j + 1;
			n -= j + 1;
		} else {
			pgno_sort_limit(v + j + 1, n - j - 1, depth);
			n = j + 1;
		}
	}
	for (size_t i = 1; i < n; i++) {
		uint64_t x = v[i];
		size_t k = i;

		for (; k && v[k - 1] > x; k--)
			v[k] = v[k - 1];
		v[k] = x;
	}
}

/*
 * LSD radix sort, a byte a pass, for the large sorts of a commit (the
 * freed pages, the reusable ones, the dirty page numbers: about a thousand
 * each per txn of 1000 random puts). Page numbers differ only in their low
 * two or three bytes (a 200 MiB file of 4 KiB pages needs 16 bits), and a
 * byte where every number agrees is skipped, so two or three linear passes
 * replace n log n compares: 3 of these sorts were 466 instructions per
 * random overwrite with introsort (callgrind, db_comparison overwrite/heed).
 * Returns nonzero when there is no memory for the scratch copy.
 */
static int radix_sort(uint64_t *v, size_t n)
{
	uint64_t diff = 0, *src = v, *dst, *scratch = malloc(n * sizeof(*v));
	size_t cnt[256];

	if (!scratch)
		return ENOMEM;
	dst = scratch;
	for (size_t i = 1; i < n; i++)
		diff |= v[i] ^ v[0];
	for (unsigned int shift = 0; shift < 64; shift += 8) {
		uint64_t *t;
		size_t sum = 0;

		if (!((diff >> shift) & 0xff))
			continue;
		memset(cnt, 0, sizeof(cnt));
		for (size_t i = 0; i < n; i++)
			cnt[(src[i] >> shift) & 0xff]++;
		for (unsigned int d = 0; d < 256; d++) {
			size_t c = cnt[d];

			cnt[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[cnt[(src[i] >> shift) & 0xff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(scratch);
	return 0;
}

/* Below this many items introsort is cheaper than radix's 256-entry
 * counts per pass. */
#define RADIX_MIN 256

void pgno_sort(uint64_t *v, size_t n)
{
	unsigned int depth = 0;

	if (n >= RADIX_MIN && !radix_sort(v, n))
		return;

	for (size_t m = n; m > 1; m >>= 1)
		depth += 2;
	pgno_sort_limit(v, n, depth);
}

/* Above this many ascending runs merging them costs more than a sort. */
#define MERGE_MAX_RUNS 4

void pgno_sort_runs(uint64_t *v, size_t n)
{
	size_t runs = 1, left, right, i;
	uint64_t *scratch;

	for (i = 1; i < n; i++)
		runs += v[i] < v[i - 1];
	if (runs == 1)
		return;
	scratch = runs <= MERGE_MAX_RUNS ? malloc(n * sizeof(*v)) : NULL;
	if (!scratch) {
		pgno_sort(v, n);
		return;
	}
	/* v[0, left) is sorted; merge the next run v[left, right) into it,
	 * the sorted part copied aside so the output never overtakes the
	 * run still being read. */
	for (left = 1; left < n && v[left] >= v[left - 1]; left++)
		;
	while (left < n) {
		size_t a = 0, b = left, o = 0;

		for (right = left + 1; right < n && v[right] >= v[right - 1]; right++)
			;
		memcpy(scratch, v, left * sizeof(*v));
		while (a < left && b < right)
			v[o++] = scratch[a] <= v[b] ? scratch[a++] : v[b++];
		while (a < left)
			v[o++] = scratch[a++];
		left = right;
	}
	free(scratch);
}
