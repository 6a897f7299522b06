/*
 * btree_ops - libheed's B+tree operations one by one, at page sizes of 4 KiB
 * and 16 KiB and trees of 1e3 to 1e6 keys (--quick: 1e3 and 1e4).
 *
 *   insert_seq   load n ascending keys into an empty tree (HEED_APPEND),
 *                1000 puts per commit; one iteration is the whole load
 *   insert_rand  the same keys in a random order
 *   get_hit      point get of a present key, in one read txn per sample
 *   get_miss     point get of an absent key (keys present are even)
 *   range_scan   SET_RANGE to a random key, then 99 NEXT: 100 items
 *   delete       delete every key of a full tree in random order, 1000 per
 *                commit; one iteration is the whole emptying
 * Keys are 16 bytes ("%016llu"), values 100 bytes. Environments live on
 * tmpfs (--tmpdir) with HEED_NOSYNC: the tree is measured, not the disk.
 */
#include "harness.h"
#include "stats.h"
#include "heed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_LEN	 16
#define VAL_LEN	 100
#define BATCH	 1000
#define SCAN_LEN 100

struct tree {
	heed_bench *b;
	const char *op;
	unsigned psize;
	uint64_t n;
	uint32_t *perm; /* random order of 0..n-1 */
	char dir[512];
	heed_env *env;
	heed_dbi dbi;
	heed_txn *rtxn;
	heed_cursor *cur;
	uint64_t rng;
	char val[VAL_LEN];
};

static int fail(struct tree *t, const char *call, int rc)
{
	return heed_bench_fail(t->b, "%s/%uk/%llu: %s: %s", t->op, t->psize / 1024,
			       (unsigned long long)t->n, call, heed_strerror(rc));
}

static void env_close(struct tree *t)
{
	heed_cursor_close(t->cur);
	t->cur = NULL;
	heed_txn_abort(t->rtxn);
	t->rtxn = NULL;
	heed_env_close(t->env);
	t->env = NULL;
	if (t->dir[0])
		heed_bench_rmtree(t->dir);
	t->dir[0] = '\0';
}

static int env_open(struct tree *t)
{
	heed_txn *txn;
	int rc;

	snprintf(t->dir, sizeof(t->dir), "%s/heed-btree-XXXXXX", heed_bench_tmpdir(t->b));
	if (!mkdtemp(t->dir)) {
		rc = errno;
		t->dir[0] = '\0';
		return fail(t, "mkdtemp", rc);
	}
	rc = heed_env_create(&t->env);
	if (!rc)
		rc = heed_env_set_mapsize(t->env, (size_t)8 << 30);
	if (!rc)
		rc = heed_env_set_pagesize(t->env, t->psize);
	if (!rc)
		rc = heed_env_open(t->env, t->dir, HEED_NOSYNC, 0644);
	if (rc) {
		env_close(t);
		return fail(t, "heed_env_open", rc);
	}
	rc = heed_txn_begin(t->env, NULL, 0, &txn);
	if (!rc) {
		rc = heed_dbi_open(txn, NULL, 0, &t->dbi);
		if (!rc)
			rc = heed_txn_commit(txn);
		else
			heed_txn_abort(txn);
	}
	if (rc) {
		env_close(t);
		return fail(t, "heed_dbi_open", rc);
	}
	return 0;
}

/* Put (seq: APPEND in key order) or delete all n keys, BATCH per commit.
 * Stored keys are 2 * i so that odd keys are misses. */
static int load(struct tree *t, int seq, int del)
{
	heed_txn *txn = NULL;
	char key[KEY_LEN];
	int rc = 0;

	for (uint64_t i = 0; i < t->n; i++) {
		heed_val k = {KEY_LEN, key}, v = {VAL_LEN, t->val};

		if (i % BATCH == 0) {
			rc = heed_txn_begin(t->env, NULL, 0, &txn);
			if (rc)
				return fail(t, "heed_txn_begin", rc);
		}
		heed_bench_key(key, KEY_LEN, 2 * (seq ? i : t->perm[i]));
		memcpy(t->val, &i, sizeof(i));
		rc = del ? heed_del(txn, t->dbi, &k, NULL)
			 : heed_put(txn, t->dbi, &k, &v, seq ? HEED_APPEND : 0);
		if (rc) {
			heed_txn_abort(txn);
			return fail(t, del ? "heed_del" : "heed_put", rc);
		}
		if ((i + 1) % BATCH == 0 || i + 1 == t->n) {
			rc = heed_txn_commit(txn);
			if (rc)
				return fail(t, "heed_txn_commit", rc);
		}
	}
	return 0;
}

/* insert_*: a fresh environment per iteration, made before the clock starts. */
static int fresh_setup(void *arg, uint64_t iters)
{
	(void)iters;
	return env_open(arg);
}

static int fresh_teardown(void *arg)
{
	env_close(arg);
	return 0;
}

static int insert_seq(void *arg, uint64_t iters)
{
	int rc = 0;

	for (uint64_t i = 0; i < iters && !rc; i++)
		rc = load(arg, 1, 0);
	return rc;
}

static int insert_rand(void *arg, uint64_t iters)
{
	int rc = 0;

	for (uint64_t i = 0; i < iters && !rc; i++)
		rc = load(arg, 0, 0);
	return rc;
}

/* delete: the full tree is loaded before the clock starts. */
static int full_setup(void *arg, uint64_t iters)
{
	int rc = env_open(arg);

	(void)iters;
	if (!rc)
		rc = load(arg, 0, 0);
	return rc;
}

static int delete_all(void *arg, uint64_t iters)
{
	int rc = 0;

	for (uint64_t i = 0; i < iters && !rc; i++)
		rc = load(arg, 0, 1);
	return rc;
}

/* Read cases share one loaded environment; each sample reads in its own txn. */
static int read_setup(void *arg, uint64_t iters)
{
	struct tree *t = arg;
	int rc = heed_txn_begin(t->env, NULL, HEED_RDONLY, &t->rtxn);

	(void)iters;
	if (!rc)
		rc = heed_cursor_open(t->rtxn, t->dbi, &t->cur);
	return rc ? fail(t, "read txn", rc) : 0;
}

static int read_teardown(void *arg)
{
	struct tree *t = arg;

	heed_cursor_close(t->cur);
	t->cur = NULL;
	heed_txn_abort(t->rtxn);
	t->rtxn = NULL;
	return 0;
}

static int get_some(struct tree *t, uint64_t iters, int miss)
{
	char key[KEY_LEN];
	heed_val k = {KEY_LEN, key}, v;

	for (uint64_t i = 0; i < iters; i++) {
		int rc;

		heed_bench_key(key, KEY_LEN,
			       2 * (heed_stats_rand(&t->rng) % t->n) + (miss ? 1 : 0));
		rc = heed_get(t->rtxn, t->dbi, &k, &v);
		if (miss ? rc != HEED_NOTFOUND : (rc || v.size != VAL_LEN))
			return fail(t, miss ? "heed_get of an absent key" : "heed_get",
				    rc ? rc : HEED_CORRUPTED);
	}
	return 0;
}

static int get_hit(void *arg, uint64_t iters)
{
	return get_some(arg, iters, 0);
}

static int get_miss(void *arg, uint64_t iters)
{
	return get_some(arg, iters, 1);
}

static int range_scan(void *arg, uint64_t iters)
{
	struct tree *t = arg;
	char key[KEY_LEN];

	for (uint64_t i = 0; i < iters; i++) {
		heed_val k = {KEY_LEN, key}, v;
		int rc;

		heed_bench_key(key, KEY_LEN, 2 * (heed_stats_rand(&t->rng) % t->n));
		rc = heed_cursor_get(t->cur, &k, &v, HEED_SET_RANGE);
		for (int j = 1; j < SCAN_LEN && !rc; j++) {
			rc = heed_cursor_get(t->cur, &k, &v, HEED_NEXT);
			if (rc == HEED_NOTFOUND)
				rc = heed_cursor_get(t->cur, &k, &v, HEED_FIRST);
		}
		if (rc)
			return fail(t, "heed_cursor_get", rc);
	}
	return 0;
}

static int run_sizes(heed_bench *b, struct tree *t)
{
	static const uint64_t full[] = {1000, 10000, 100000, 1000000};
	static const uint64_t quick[] = {1000, 10000};
	const uint64_t *sizes = heed_bench_quick(b) ? quick : full;
	size_t nsizes = heed_bench_quick(b) ? 2 : 4;
	static const char *const ops[] = {"insert_seq", "insert_rand", "get_hit",
					  "get_miss",	"range_scan",  "delete"};
	int rc = 0;

	for (size_t s = 0; s < nsizes && !rc; s++) {
		int need_loaded = 0;
		char names[6][64];

		t->n = sizes[s];
		free(t->perm);
		t->perm = malloc(t->n * sizeof(*t->perm));
		if (!t->perm)
			return heed_bench_fail(b, "out of memory");
		heed_stats_permutation(t->perm, t->n, &t->rng);
		for (int o = 0; o < 6; o++) {
			snprintf(names[o], sizeof(names[o]), "%s/%uk/%llu", ops[o], t->psize / 1024,
				 (unsigned long long)t->n);
			if (o >= 2 && o <= 4)
				need_loaded |= heed_bench_enabled(b, names[o]);
		}
		for (int o = 0; o < 6 && !rc; o++) {
			struct heed_bench_def d = {
				.name = names[o],
				.arg = t,
				.elems = t->n,
				.bytes = t->n * (KEY_LEN + VAL_LEN),
			};

			t->op = ops[o];
			if (o == 2 && need_loaded) {
				rc = env_open(t);
				if (!rc)
					rc = load(t, 0, 0);
				if (rc)
					break;
			}
			switch (o) {
			case 0:
			case 1:
				d.routine = o == 0 ? insert_seq : insert_rand;
				d.setup = fresh_setup;
				d.teardown = fresh_teardown;
				d.fixed_iters = 1;
				break;
			case 5:
				d.routine = delete_all;
				d.setup = full_setup;
				d.teardown = fresh_teardown;
				d.fixed_iters = 1;
				d.bytes = t->n * KEY_LEN;
				break;
			default:
				d.routine = o == 2 ? get_hit : o == 3 ? get_miss : range_scan;
				d.setup = read_setup;
				d.teardown = read_teardown;
				d.elems = o == 4 ? SCAN_LEN : 1;
				d.bytes = d.elems * (KEY_LEN + VAL_LEN);
				break;
			}
			rc = heed_bench_run(b, &d);
			if (o == 4 && need_loaded)
				env_close(t);
		}
	}
	return rc;
}

static int suite(heed_bench *b)
{
	struct tree t = {.b = b};
	int rc = 0;

	t.rng = heed_bench_seed(b);
	for (int i = 0; i < VAL_LEN; i++)
		t.val[i] = (char)heed_stats_rand(&t.rng);
	for (unsigned psize = 4096; psize <= 16384 && !rc; psize *= 4) {
		t.psize = psize;
		rc = run_sizes(b, &t);
	}
	env_close(&t);
	free(t.perm);
	return rc;
}

int main(int argc, char **argv)
{
	return heed_bench_main("btree_ops", argc, argv, suite);
}
