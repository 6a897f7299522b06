/*
 * test_search.c - the node search of libheed (core/search.c): the scalar and
 * the AVX2 path give identical results, equal to a plain linear scan, on
 * random keys with shared prefixes, duplicate prefixes, short keys padded
 * with zero bytes, branch pages (slot 0 skipped), empty pages, pages whose
 * keys share a long common prefix (page.h: slots hold the bytes after it,
 * queries diverging inside it or shorter than it); a corrupt
 * node offset is reported by both. HEED_SEED replays a run.
 */
#include "common.h"

#include <sys/mman.h>

#include "page.h"
#include "search.h"

#define PSIZE 16384u

static struct rng rng;

struct key {
	unsigned char b[64];
	unsigned int n;
};

static int kcmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	return heed_keycmp(x->b, x->n, y->b, y->n);
}

/* A random key over a small alphabet so that prefixes are often shared. */
static void rand_key(struct key *k, unsigned int maxlen, unsigned int alpha)
{
	unsigned int i;

	k->n = 1 + (unsigned int)(rng_next(&rng) % maxlen);
	for (i = 0; i < k->n; i++)
		k->b[i] = (unsigned char)(rng_next(&rng) % alpha);
}

/* Sort, drop duplicates; returns the count left. */
static unsigned int uniq(struct key *k, unsigned int n)
{
	unsigned int i, m = 0;

	qsort(k, n, sizeof(*k), kcmp);
	for (i = 0; i < n; i++)
		if (!m || kcmp(&k[m - 1], &k[i]))
			k[m++] = k[i];
	return m;
}

/* Build a page (leaf, or branch with an empty slot-0 key) of the keys, with
 * the common prefix length heed gives a split page: what its first and last
 * keys share. */
static void build(void *p, const struct key *k, unsigned int n, int branch)
{
	struct page_hdr *h = page_hdr(p);
	unsigned int i, upper = PSIZE, first = branch ? 1 : 0, cpl = 0;

	memset(p, 0, PSIZE);
	h->flags = branch ? P_BRANCH : P_LEAF;
	if (n > first)
		while (cpl < k[first].n && cpl < k[n - 1].n && k[first].b[cpl] == k[n - 1].b[cpl])
			cpl++;
	h->cpl = cpl;
	for (i = 0; i < n; i++) {
		unsigned int kl = (branch && i == 0) ? 0 : k[i].n;
		unsigned int sz = NODE_HDR + kl + 4;
		unsigned char *node;
		uint16_t v16;

		upper -= sz;
		node = (unsigned char *)p + upper;
		v16 = (uint16_t)kl;
		memcpy(node, &v16, 2);
		memset(node + 2, 0, 2);
		node[4] = 4; /* dsize 4, little-endian */
		node[5] = node[6] = node[7] = 0;
		memcpy(node + NODE_HDR, k[i].b, kl);
		page_slots(p)[i] = make_slot(slot_prefix(k[i].b, kl, cpl), upper);
	}
	h->nkeys = (uint16_t)n;
	h->lower = PAGE_HDR + SLOT_SIZE * n;
	h->upper = upper;
	cr_assert_leq(h->lower, h->upper, "test keys overflow the page");
}

/* Reference: first index >= start whose key >= q. */
static void linear(const struct key *k, unsigned int n, unsigned int start, const struct key *q,
		   struct search_res *r)
{
	unsigned int i;

	for (i = start; i < n; i++) {
		int c = heed_keycmp(k[i].b, k[i].n, q->b, q->n);

		if (c >= 0) {
			r->idx = i;
			r->exact = c == 0;
			return;
		}
	}
	r->idx = n;
	r->exact = 0;
}

static void probe_all(void *p, const struct key *k, unsigned int n, int branch, const struct key *q)
{
	struct search_res ref, s, v;
	unsigned int start = branch ? 1 : 0;

	linear(k, n, start, q, &ref);
	cr_assert_eq(heed_node_search_scalar(p, PSIZE, start, q->b, q->n, &s), 0);
	cr_assert_eq(heed_node_search_avx2(p, PSIZE, start, q->b, q->n, &v), 0,
		     "this CPU lacks AVX2: the AVX2 search path cannot be tested here");
	cr_assert(s.idx == ref.idx && s.exact == ref.exact,
		  "scalar: idx %u exact %d, expected %u %d (n %u)", s.idx, s.exact, ref.idx,
		  ref.exact, n);
	cr_assert(v.idx == ref.idx && v.exact == ref.exact,
		  "avx2: idx %u exact %d, expected %u %d (n %u)", v.idx, v.exact, ref.idx,
		  ref.exact, n);
}

static void run_random(unsigned int maxlen, unsigned int alpha, int branch, unsigned int rounds)
{
	static struct key keys[400];
	static unsigned char page[PSIZE] __attribute__((aligned(64)));
	unsigned int r, i, n;

	rng.s = test_seed("test_search");
	for (r = 0; r < rounds; r++) {
		n = (unsigned int)(rng_next(&rng) % 300);
		for (i = 0; i < n; i++)
			rand_key(&keys[i], maxlen, alpha);
		n = uniq(keys, n);
		if (branch && n == 0)
			continue; /* a branch page always has its slot 0 */
		build(page, keys, n, branch);
		for (i = 0; i < n; i++)
			probe_all(page, keys, n, branch, &keys[i]);
		for (i = 0; i < 200; i++) {
			struct key q;

			rand_key(&q, maxlen + 2, alpha + 1);
			probe_all(page, keys, n, branch, &q);
		}
	}
}

/* key_prefix's loads for each length equal the byte-at-a-time reference:
 * the first six bytes big-endian, zero-padded, never a byte past the key
 * (each key ends where the buffer does). */
Test(search, key_prefix_of_every_length)
{
	unsigned char buf[64];

	rng.s = test_seed("test_search");
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (unsigned char)rng_next(&rng);
		for (size_t n = 0; n <= 12; n++) {
			const unsigned char *k = buf + sizeof(buf) - n;
			uint64_t want = 0;

			for (size_t i = 0; i < 6; i++)
				want = (want << 8) | (i < n ? k[i] : 0);
			cr_assert_eq(key_prefix(k, n), want, "n %zu: %#llx, want %#llx", n,
				     (unsigned long long)key_prefix(k, n),
				     (unsigned long long)want);
		}
	}
}

static int sign(int c)
{
	return (c > 0) - (c < 0);
}

/* heed_bytecmp against memcmp's sign for lengths 0-17 (the word loop, its
 * overlapping last word, the 4-, 2- and 1-byte steps), a difference at each
 * byte position (bytes after it differing too, in the other direction),
 * byte values whose order a signed compare reverses; each operand starts
 * at a page's start and ends at a page's end between inaccessible pages,
 * so a read outside [0, n) faults. */
Test(search, bytecmp_every_length_and_position)
{
	static const unsigned char vals[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char *m[2], buf[2][17];

	rng.s = test_seed("test_search");
	for (int i = 0; i < 2; i++) {
		m[i] = mmap(NULL, (size_t)ps * 3, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		cr_assert_neq(m[i], MAP_FAILED);
		cr_assert_eq(mprotect(m[i], (size_t)ps, PROT_NONE), 0);
		cr_assert_eq(mprotect(m[i] + 2 * ps, (size_t)ps, PROT_NONE), 0);
	}
	for (size_t n = 0; n <= 17; n++) {
		for (size_t pos = 0; pos <= n; pos++) {
			for (size_t x = 0; x < sizeof(vals); x++) {
				for (size_t y = 0; y < sizeof(vals); y++) {
					for (size_t i = 0; i < n; i++)
						buf[0][i] = buf[1][i] =
							(unsigned char)rng_next(&rng);
					/* pos == n: equal bytes, all compared. */
					if (pos < n) {
						buf[0][pos] = vals[x];
						buf[1][pos] = vals[y];
						for (size_t i = pos + 1; i < n; i++)
							buf[1][i] =
								(unsigned char)(vals[x] < vals[y]
											? 0
											: 0xff);
						for (size_t i = pos + 1; i < n; i++)
							buf[0][i] =
								(unsigned char)(vals[x] < vals[y]
											? 0xff
											: 0);
					}
					for (int at_end = 0; at_end < 2; at_end++) {
						unsigned char *a =
							m[0] + ps + (at_end ? (size_t)ps - n : 0);
						unsigned char *b =
							m[1] + ps + (at_end ? (size_t)ps - n : 0);
						int want = sign(memcmp(buf[0], buf[1], n));

						memcpy(a, buf[0], n);
						memcpy(b, buf[1], n);
						cr_assert_eq(heed_bytecmp(a, b, n), want,
							     "n %zu, bytes %#x and %#x at %zu: %d, "
							     "want %d",
							     n, vals[x], vals[y], pos,
							     heed_bytecmp(a, b, n), want);
						cr_assert_eq(heed_bytecmp(b, a, n), -want,
							     "n %zu, reversed, at %zu", n, pos);
						/* Keys of unequal lengths: the shorter first on a
						 * tie. */
						if (n && pos == n)
							cr_assert_lt(heed_keycmp(a, n - 1, b, n), 0,
								     "n %zu", n);
						if (n && pos == n)
							cr_assert_gt(heed_keycmp(a, n, b, n - 1), 0,
								     "n %zu", n);
					}
				}
			}
		}
	}
	for (int i = 0; i < 2; i++)
		munmap(m[i], (size_t)ps * 3);
}

Test(search, random_keys_distinct_prefixes)
{
	run_random(24, 256, 0, 200);
}

Test(search, shared_prefixes_small_alphabet)
{
	run_random(12, 3, 0, 200);
}

Test(search, long_shared_prefixes)
{
	/* Two-letter alphabet and long keys: most slots tie on the prefix. */
	run_random(40, 2, 0, 100);
}

Test(search, branch_pages_skip_slot0)
{
	run_random(16, 4, 1, 200);
}

/* db_bench-style keys: zero-padded decimal numbers sharing their first ten
 * or more bytes, the case the page's common prefix exists for. Queries
 * inside the page's range, beyond it, diverging inside the common prefix,
 * shorter than it, and empty. */
Test(search, numeric_keys_long_common_prefix)
{
	static struct key keys[300];
	static unsigned char page[PSIZE] __attribute__((aligned(64)));
	unsigned int r, i, n, branch;

	rng.s = test_seed("test_search");
	for (r = 0; r < 200; r++) {
		unsigned long long base = rng_next(&rng) % 1000000,
				   span = 1 + rng_next(&rng) % 5000;
		struct key q;

		branch = r & 1;
		n = 1 + (unsigned int)(rng_next(&rng) % 250);
		for (i = 0; i < n; i++) {
			snprintf((char *)keys[i].b, sizeof(keys[i].b), "%016llu",
				 base + rng_next(&rng) % span);
			keys[i].n = 16;
		}
		n = uniq(keys, n);
		if (branch && n < 2)
			continue;
		build(page, keys, n, (int)branch);
		for (i = 0; i < n; i++)
			probe_all(page, keys, n, (int)branch, &keys[i]);
		for (i = 0; i < 300; i++) {
			memset(q.b, 0, sizeof(q.b));
			snprintf((char *)q.b, sizeof(q.b), "%016llu",
				 base + rng_next(&rng) % (span + 10));
			q.n = 16;
			if (i % 5 == 1)
				q.b[rng_next(&rng) % 16] =
					(unsigned char)rng_next(&rng); /* may leave the prefix */
			if (i % 5 == 2)
				q.n = (unsigned int)(rng_next(&rng) %
						     17); /* shorter, down to empty */
			if (i % 5 == 3)
				q.n = 17 + (unsigned int)(rng_next(&rng) %
							  8); /* longer: zero-padded tail */
			probe_all(page, keys, n, (int)branch, &q);
		}
	}
}

Test(search, zero_padding_and_short_keys)
{
	static unsigned char page[PSIZE] __attribute__((aligned(64)));
	struct key k[8] = {
		{{'a'}, 1},
		{{'a', 0}, 2},
		{{'a', 0, 0}, 3},
		{{'a', 0, 0, 0, 0, 0, 0}, 7},
		{{'a', 1}, 2},
		{{'a', 'b', 'c', 'd', 'e', 'f'}, 6},
		{{'a', 'b', 'c', 'd', 'e', 'f', 'g'}, 7},
		{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 8},
	};
	unsigned int n = uniq(k, 8), i;
	struct key q;

	build(page, k, n, 0);
	for (i = 0; i < n; i++)
		probe_all(page, k, n, 0, &k[i]);
	q.n = 5;
	memset(q.b, 0, sizeof(q.b));
	q.b[0] = 'a';
	probe_all(page, k, n, 0, &q);
	q.n = 9;
	memset(q.b, 0xff, 9);
	probe_all(page, k, n, 0, &q);
}

Test(search, empty_page)
{
	static unsigned char page[PSIZE] __attribute__((aligned(64)));
	struct key q = {{'x'}, 1};
	struct search_res s = {9, 9}, v = {9, 9};

	build(page, NULL, 0, 0);
	cr_assert_eq(heed_node_search_scalar(page, PSIZE, 0, q.b, q.n, &s), 0);
	cr_assert_eq(heed_node_search_avx2(page, PSIZE, 0, q.b, q.n, &v), 0,
		     "this CPU lacks AVX2: the AVX2 search path cannot be tested here");
	cr_assert(s.idx == 0 && !s.exact && v.idx == 0 && !v.exact);
}

Test(search, corrupt_node_offset_is_an_error)
{
	static unsigned char page[PSIZE] __attribute__((aligned(64)));
	struct key k[4] = {{"aaaaaaa1", 8}, {"aaaaaaa2", 8}, {"aaaaaaa3", 8}, {"aaaaaaa4", 8}};
	struct search_res r;

	build(page, k, 4, 0);
	/* Slot 1 points below the node area (into the slot array). */
	page_slots(page)[1] = make_slot(slot_prefix(k[1].b, 8, page_hdr(page)->cpl), 8);
	page_slots(page)[2] = make_slot(slot_prefix(k[2].b, 8, page_hdr(page)->cpl), 8);
	cr_assert_eq(heed_node_search_scalar(page, PSIZE, 0, k[1].b, 8, &r), -1);
	cr_assert_eq(heed_node_search_avx2(page, PSIZE, 0, k[1].b, 8, &r), -1);
}

Test(search, dispatcher_honours_force_scalar)
{
	cr_assert_eq(setenv("HEED_FORCE_SCALAR", "1", 1), 0);
	cr_assert_eq(heed_search_uses_avx2(), 0, "HEED_FORCE_SCALAR=1 must force the scalar path");
}

/* The whole engine on keys with long shared prefixes, through whichever
 * search path the dispatcher picks: every key found, scan in order. */
static void engine_roundtrip(unsigned int psize)
{
	static unsigned char stored[20000];
	char dir[256];
	heed_env *env;
	heed_txn *txn;
	heed_cursor *cur;
	heed_val k, v, prev = {0, NULL};
	char key[64];
	unsigned int i, n = sizeof(stored), seen = 0, distinct = 0;

	rng.s = test_seed("test_search");
	tmpdir_make(dir, sizeof(dir), "search");
	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, psize, 0, 0));
	cr_assert_eq(heed_txn_begin(env, NULL, 0, &txn), 0);
	for (i = 0; i < n; i++) {
		unsigned int r = (unsigned int)(rng_next(&rng) % n);

		distinct += !stored[r];
		stored[r] = 1;
		snprintf(key, sizeof(key), "shared/prefix/%c/%08u", 'a' + r % 3, r);
		k.data = key;
		k.size = strlen(key);
		v = k;
		cr_assert_eq(heed_put(txn, 0, &k, &v, 0), 0);
	}
	cr_assert_eq(heed_txn_commit(txn), 0);
	cr_assert_eq(heed_txn_begin(env, NULL, HEED_RDONLY, &txn), 0);
	cr_assert_eq(heed_cursor_open(txn, 0, &cur), 0);
	while (heed_cursor_get(cur, &k, &v, HEED_NEXT) == 0) {
		heed_val g;

		cr_assert(!prev.data || heed_keycmp(prev.data, prev.size, k.data, k.size) < 0,
			  "scan out of order at item %u", seen);
		cr_assert_eq(heed_get(txn, 0, &k, &g), 0, "item %u of the scan not found by get",
			     seen);
		cr_assert(g.size == k.size && !memcmp(g.data, k.data, k.size));
		prev = k;
		seen++;
	}
	cr_assert_gt(seen, n / 2, "only %u distinct keys stored", seen);
	cr_assert_eq(seen, distinct, "the scan found %u keys, %u were put", seen, distinct);
	for (i = 0; i < n; i++) {
		if (!stored[i])
			continue;
		snprintf(key, sizeof(key), "shared/prefix/%c/%08u", 'a' + i % 3, i);
		k = hs(key);
		cr_assert_eq(heed_get(txn, 0, &k, &v), 0, "%s was put but is not found", key);
		cr_assert(v.size == k.size && !memcmp(v.data, k.data, k.size), "%s: wrong value",
			  key);
	}
	heed_txn_abort(txn);
	heed_env_close(env);
	tmpdir_remove(dir);
}

Test(search, engine_with_avx2)
{
	cr_assert_eq(heed_search_uses_avx2(), 1,
		     "this CPU lacks AVX2 (or HEED_FORCE_SCALAR is set): the AVX2 path cannot be "
		     "tested here");
	engine_roundtrip(4096);
}

Test(search, engine_forced_scalar)
{
	cr_assert_eq(setenv("HEED_FORCE_SCALAR", "1", 1), 0);
	cr_assert_eq(heed_search_uses_avx2(), 0);
	engine_roundtrip(65536);
}
