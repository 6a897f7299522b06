/*
 * page_alloc - how libheed allocates and frees pages: growth, freelist
 * reuse, overflow chains, and a long-lived reader that pins old pages
 * while the writer churns. Every case reports how far the file grew
 * ("pages_grown", from heed_env_info's last_pgno) next to its time, since
 * an allocator that is fast by never reusing pages is not fast.
 *
 *   grow            txns of 100 puts of new keys with 400-byte values
 *   churn           txns of 100 overwrites of random keys (no reader): the
 *                   freelist must absorb it, the file must stop growing
 *   churn_pinned    the same while one read txn, opened first, stays open:
 *                   nothing freed after it may be reused
 *   delete_reinsert txns deleting 100 random keys and putting them back
 *   overflow/SIZE   put a value of SIZE bytes (an overflow chain) in one
 *                   txn and delete it in the next: allocate and free a chain
 * Every case does a fixed amount of work (30 samples of 50 steps, --quick
 * 10). Keys are 16 bytes; 4 KiB pages; tmpfs with HEED_NOSYNC.
 */
#include "harness.h"
#include "stats.h"
#include "heed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_LEN 16
#define VAL_LEN 400
#define PER_TXN 100
#define MAX_VAL (1 << 20)

struct alloc {
	heed_bench *b;
	const char *name;
	char dir[512];
	heed_env *env;
	heed_dbi dbi;
	heed_txn *pin;
	uint64_t n;    /* keys in the tree */
	uint64_t next; /* grow: next new key */
	size_t big;    /* overflow: value size */
	uint64_t rng;
	char *val; /* MAX_VAL random bytes */
	int (*step)(struct alloc *a);
};

static int fail(struct alloc *a, const char *call, int rc)
{
	return heed_bench_fail(a->b, "%s: %s: %s", a->name, call, heed_strerror(rc));
}

static void env_close(struct alloc *a)
{
	heed_txn_abort(a->pin);
	a->pin = NULL;
	heed_env_close(a->env);
	a->env = NULL;
	if (a->dir[0])
		heed_bench_rmtree(a->dir);
	a->dir[0] = '\0';
}

static int pages_used(struct alloc *a, uint64_t *pages)
{
	heed_envinfo info;
	int rc = heed_env_info(a->env, &info);

	if (rc)
		return fail(a, "heed_env_info", rc);
	*pages = info.last_pgno;
	return 0;
}

/* One write txn over PER_TXN keys: new ones (fresh) or random present ones,
 * each deleted first with del_first. */
static int put_keys(struct alloc *a, int fresh, int del_first)
{
	heed_txn *txn;
	char key[KEY_LEN];
	int rc = heed_txn_begin(a->env, NULL, 0, &txn);

	if (rc)
		return fail(a, "heed_txn_begin", rc);
	for (int i = 0; i < PER_TXN && !rc; i++) {
		uint64_t id = fresh ? a->next++ : heed_stats_rand(&a->rng) % a->n;
		heed_val k = {KEY_LEN, key};
		heed_val v = {VAL_LEN, a->val + (id % 1024)};

		heed_bench_key(key, KEY_LEN, id);
		if (del_first)
			rc = heed_del(txn, a->dbi, &k, NULL);
		if (!rc)
			rc = heed_put(txn, a->dbi, &k, &v, 0);
	}
	if (rc) {
		heed_txn_abort(txn);
		return fail(a, del_first ? "heed_del/heed_put" : "heed_put", rc);
	}
	rc = heed_txn_commit(txn);
	return rc ? fail(a, "heed_txn_commit", rc) : 0;
}

static int step_grow(struct alloc *a)
{
	return put_keys(a, 1, 0);
}

static int step_churn(struct alloc *a)
{
	return put_keys(a, 0, 0);
}

static int step_delete_reinsert(struct alloc *a)
{
	return put_keys(a, 0, 1);
}

static int step_overflow(struct alloc *a)
{
	char key[KEY_LEN] = "overflow-value!";
	heed_val k = {KEY_LEN, key}, v = {a->big, a->val};
	heed_txn *txn;
	int rc = heed_txn_begin(a->env, NULL, 0, &txn);

	if (!rc) {
		rc = heed_put(txn, a->dbi, &k, &v, 0);
		if (!rc)
			rc = heed_txn_commit(txn);
		else
			heed_txn_abort(txn);
	}
	if (rc)
		return fail(a, "put of the big value", rc);
	rc = heed_txn_begin(a->env, NULL, 0, &txn);
	if (!rc) {
		rc = heed_del(txn, a->dbi, &k, NULL);
		if (!rc)
			rc = heed_txn_commit(txn);
		else
			heed_txn_abort(txn);
	}
	return rc ? fail(a, "delete of the big value", rc) : 0;
}

static int routine(void *arg, uint64_t iters)
{
	struct alloc *a = arg;
	int rc = 0;

	for (uint64_t i = 0; i < iters && !rc; i++)
		rc = a->step(a);
	return rc;
}

static int env_open(struct alloc *a, uint64_t keys)
{
	heed_txn *txn;
	int rc;

	snprintf(a->dir, sizeof(a->dir), "%s/heed-alloc-XXXXXX", heed_bench_tmpdir(a->b));
	if (!mkdtemp(a->dir)) {
		rc = errno;
		a->dir[0] = '\0';
		return fail(a, "mkdtemp", rc);
	}
	rc = heed_env_create(&a->env);
	if (!rc)
		rc = heed_env_set_mapsize(a->env, (size_t)8 << 30);
	if (!rc)
		rc = heed_env_open(a->env, a->dir, HEED_NOSYNC, 0644);
	if (!rc) {
		rc = heed_txn_begin(a->env, NULL, 0, &txn);
		if (!rc) {
			rc = heed_dbi_open(txn, NULL, 0, &a->dbi);
			if (!rc)
				rc = heed_txn_commit(txn);
			else
				heed_txn_abort(txn);
		}
	}
	if (rc) {
		env_close(a);
		return fail(a, "open", rc);
	}
	a->next = 0;
	while (!rc && a->next < keys)
		rc = put_keys(a, 1, 0);
	a->n = a->next;
	return rc;
}

/* Measure one case on a fresh environment of keys keys and report the
 * pages the file grew by while it ran. */
static int run_case(struct alloc *a, const char *name, uint64_t keys, int pin, size_t big,
		    int (*step)(struct alloc *a), uint64_t elems, uint64_t bytes)
{
	struct heed_bench_def d = {
		.name = name,
		.routine = routine,
		.arg = a,
		.elems = elems,
		.bytes = bytes,
		/* Fixed work, so that pages_grown compares across runs. */
		.fixed_iters = heed_bench_quick(a->b) ? 10 : 50,
	};
	uint64_t before = 0, after = 0;
	int rc;

	if (!heed_bench_enabled(a->b, name))
		return 0;
	a->name = name;
	a->step = step;
	a->big = big;
	rc = env_open(a, keys);
	if (!rc && pin) {
		rc = heed_txn_begin(a->env, NULL, HEED_RDONLY, &a->pin);
		if (rc)
			rc = fail(a, "pinning read txn", rc);
	}
	if (!rc)
		rc = pages_used(a, &before);
	if (!rc)
		rc = heed_bench_run(a->b, &d);
	if (!rc)
		rc = pages_used(a, &after);
	if (rc)
		goto cleanup;
	heed_bench_extra(a->b, "pages_before", (double)before);
	heed_bench_extra(a->b, "pages_grown", (double)(after - before));
cleanup:
	env_close(a);
	return rc;
}

static int suite(heed_bench *b)
{
	static const size_t bigs[] = {16384, 262144, MAX_VAL};
	struct alloc a = {.b = b};
	uint64_t keys = heed_bench_quick(b) ? 10000 : 100000;
	int rc;

	a.rng = heed_bench_seed(b);
	a.val = malloc(MAX_VAL + 1024);
	if (!a.val)
		return heed_bench_fail(b, "out of memory");
	for (size_t i = 0; i < MAX_VAL + 1024; i++)
		a.val[i] = (char)heed_stats_rand(&a.rng);
	rc = run_case(&a, "grow", 0, 0, 0, step_grow, PER_TXN, PER_TXN * VAL_LEN);
	if (!rc)
		rc = run_case(&a, "churn", keys, 0, 0, step_churn, PER_TXN, PER_TXN * VAL_LEN);
	if (!rc)
		rc = run_case(&a, "churn_pinned", keys, 1, 0, step_churn, PER_TXN,
			      PER_TXN * VAL_LEN);
	if (!rc)
		rc = run_case(&a, "delete_reinsert", keys, 0, 0, step_delete_reinsert, PER_TXN,
			      PER_TXN * VAL_LEN);
	for (size_t i = 0; i < sizeof(bigs) / sizeof(bigs[0]) && !rc; i++) {
		char name[64];

		snprintf(name, sizeof(name), "overflow/%zu", bigs[i]);
		rc = run_case(&a, name, 1000, 0, bigs[i], step_overflow, 1, bigs[i]);
	}
	free(a.val);
	return rc;
}

int main(int argc, char **argv)
{
	return heed_bench_main("page_alloc", argc, argv, suite);
}
