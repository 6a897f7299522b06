/*
 * test_txn.c - transactions through core/heed.h: snapshot isolation under
 * concurrent reader threads, reset/renew, reader slots, writes in a read
 * txn, a failed txn, and the one-writer rule between threads.
 *
 * Handles of a committed or aborted txn are freed, so no test touches them;
 * "used after its end" is tested with a reset read txn, whose handle lives.
 * Worker threads never call cr_assert: they count violations in shared
 * state, and the test thread asserts on the counts.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>

#include "common.h"

static char dir[256];
static heed_env *env;

static void setup(void)
{
	tmpdir_make(dir, sizeof(dir), "txn");
}

static void teardown(void)
{
	heed_env_close(env);
	env = NULL;
	tmpdir_remove(dir);
}

TestSuite(txn, .init = setup, .fini = teardown, .timeout = 300);

static heed_txn *begin(unsigned int flags)
{
	heed_txn *txn = NULL;

	HEED_OK(heed_txn_begin(env, NULL, flags, &txn));
	return txn;
}

static heed_dbi main_dbi(heed_txn *txn)
{
	heed_dbi dbi = 0;

	HEED_OK(heed_dbi_open(txn, NULL, 0, &dbi));
	return dbi;
}

static void put_u64(heed_txn *txn, heed_dbi dbi, const char *k, uint64_t v)
{
	heed_val key = hs(k), val = hv(&v, sizeof(v));

	HEED_OK(heed_put(txn, dbi, &key, &val, 0));
}

static uint64_t get_u64(heed_txn *txn, heed_dbi dbi, const char *k)
{
	heed_val key = hs(k), val = {0};
	uint64_t v;

	HEED_OK(heed_get(txn, dbi, &key, &val));
	cr_assert_eq(val.size, sizeof(v), "%s: value of %zu bytes", k, val.size);
	memcpy(&v, val.data, sizeof(v));
	return v;
}

/*
 * Isolation. The db holds ACCOUNTS keys whose values sum to TOTAL, plus a
 * "gen" key; every key's value carries the generation in its high 32 bits.
 * Each writer commit moves money between random accounts, rewrites every
 * account with the new generation, and sometimes deletes and re-adds one
 * (so pages split, merge and get freed while readers hold old ones). A
 * reader scans its snapshot twice and must see one generation, the right
 * sum, every account, and the same data both times. The writer starts once
 * every reader has scanned a first snapshot, so every reader runs alongside it.
 */
#define ACCOUNTS 300
#define TOTAL	 ((uint64_t)ACCOUNTS * 1000)
#define READERS	 6
#define COMMITS	 400

struct iso {
	heed_dbi dbi;
	atomic_int done;
	atomic_long scans;
	atomic_long violations;
	atomic_long errors;
	char first_problem[256];
	pthread_mutex_t lock;
	pthread_barrier_t start; /* the readers' first scans, then the writer */
};

static void iso_problem(struct iso *st, const char *fmt, unsigned long long a, unsigned long long b)
{
	pthread_mutex_lock(&st->lock);
	if (!st->first_problem[0])
		snprintf(st->first_problem, sizeof(st->first_problem), fmt, a, b);
	pthread_mutex_unlock(&st->lock);
}

static void account_key(char *buf, size_t len, int i)
{
	snprintf(buf, len, "acct-%05d", i);
}

/* One scan of a snapshot: returns 0 and the sum and generation, or -1. */
static int iso_scan(struct iso *st, heed_txn *txn, uint64_t *sum, uint64_t *gen)
{
	heed_cursor *cur = NULL;
	heed_val key, val;
	uint64_t v, g = UINT64_MAX, s = 0;
	int n = 0, rc;

	if (heed_cursor_open(txn, st->dbi, &cur) != 0)
		return -1;
	while ((rc = heed_cursor_get(cur, &key, &val, HEED_NEXT)) == 0) {
		if (val.size != sizeof(v)) {
			heed_cursor_close(cur);
			return -1;
		}
		memcpy(&v, val.data, sizeof(v));
		if (key.size == 3 && memcmp(key.data, "gen", 3) == 0) {
			if (g != UINT64_MAX && g != v) {
				iso_problem(st, "gen key %llu vs accounts at %llu", v, g);
				atomic_fetch_add(&st->violations, 1);
			}
			g = v;
			continue;
		}
		if (g == UINT64_MAX)
			g = v >> 32;
		if (v >> 32 != g) {
			iso_problem(st, "mixed generations %llu and %llu in one snapshot",
				    (unsigned long long)(v >> 32), g);
			atomic_fetch_add(&st->violations, 1);
		}
		s += v & 0xffffffffu;
		n++;
	}
	heed_cursor_close(cur);
	if (rc != HEED_NOTFOUND)
		return -1;
	if (n != ACCOUNTS) {
		iso_problem(st, "snapshot has %llu accounts, expected %llu", (uint64_t)n,
			    (uint64_t)ACCOUNTS);
		atomic_fetch_add(&st->violations, 1);
	}
	*sum = s;
	*gen = g;
	return 0;
}

static void *iso_reader(void *arg)
{
	struct iso *st = arg;
	heed_txn *txn = NULL;
	uint64_t sum1, sum2, gen1, gen2;
	int renewals = 0, started = 0, rc = heed_txn_begin(env, NULL, HEED_RDONLY, &txn);

	if (rc != 0)
		atomic_fetch_add(&st->errors, 1);
	while (rc == 0) {
		if (iso_scan(st, txn, &sum1, &gen1) || iso_scan(st, txn, &sum2, &gen2)) {
			atomic_fetch_add(&st->errors, 1);
			break;
		}
		if (sum1 != TOTAL || sum2 != TOTAL) {
			iso_problem(st, "snapshot sums to %llu, expected %llu", sum1, TOTAL);
			atomic_fetch_add(&st->violations, 1);
		}
		if (gen1 != gen2) {
			iso_problem(st, "one snapshot changed generation from %llu to %llu", gen1,
				    gen2);
			atomic_fetch_add(&st->violations, 1);
		}
		atomic_fetch_add(&st->scans, 1);
		if (!started++)
			pthread_barrier_wait(&st->start);
		else if (atomic_load(&st->done))
			break;
		/* Alternate between a fresh txn and reset/renew. */
		if (renewals++ % 2) {
			heed_txn_reset(txn);
			if (heed_txn_renew(txn) != 0) {
				atomic_fetch_add(&st->errors, 1);
				break;
			}
		} else {
			heed_txn_abort(txn);
			txn = NULL;
			if (heed_txn_begin(env, NULL, HEED_RDONLY, &txn) != 0) {
				atomic_fetch_add(&st->errors, 1);
				break;
			}
		}
	}
	if (!started)
		pthread_barrier_wait(&st->start); /* failed first: let the writer go */
	heed_txn_abort(txn);
	return NULL;
}

static void iso_write_all(heed_txn *txn, heed_dbi dbi, const uint64_t *bal, uint64_t gen)
{
	char k[32];
	int i;

	for (i = 0; i < ACCOUNTS; i++) {
		account_key(k, sizeof(k), i);
		put_u64(txn, dbi, k, gen << 32 | bal[i]);
	}
	put_u64(txn, dbi, "gen", gen);
}

Test(txn, snapshot_isolation_concurrent_readers)
{
	static struct iso st;
	pthread_t th[READERS];
	uint64_t bal[ACCOUNTS], gen = 1, amount, seed;
	struct rng rng;
	heed_txn *txn;
	char k[32];
	int i, c, from, to;

	seed = test_seed("txn::snapshot_isolation_concurrent_readers");
	rng.s = seed;
	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 0));
	pthread_mutex_init(&st.lock, NULL);
	cr_assert_eq(pthread_barrier_init(&st.start, NULL, READERS + 1), 0);
	for (i = 0; i < ACCOUNTS; i++)
		bal[i] = 1000;
	txn = begin(0);
	st.dbi = main_dbi(txn);
	iso_write_all(txn, st.dbi, bal, gen);
	HEED_OK(heed_txn_commit(txn));

	for (i = 0; i < READERS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, iso_reader, &st), 0);
	pthread_barrier_wait(&st.start);
	for (c = 0; c < COMMITS; c++) {
		uint64_t next[ACCOUNTS];

		memcpy(next, bal, sizeof(bal));
		for (i = 0; i < 20; i++) {
			from = (int)rng_below(&rng, ACCOUNTS);
			to = (int)rng_below(&rng, ACCOUNTS);
			amount = rng_below(&rng, next[from] + 1);
			next[from] -= amount;
			next[to] += amount;
		}
		txn = begin(0);
		/* Delete and re-add an account inside the txn: readers must never
		 * see it missing. */
		account_key(k, sizeof(k), (int)rng_below(&rng, ACCOUNTS));
		heed_val key = hs(k);
		HEED_OK(heed_del(txn, st.dbi, &key, NULL));
		iso_write_all(txn, st.dbi, next, gen + 1);
		/* Every tenth txn is aborted: readers must not see it either. */
		if (c % 10 == 9) {
			heed_txn_abort(txn);
			continue;
		}
		HEED_OK(heed_txn_commit(txn));
		memcpy(bal, next, sizeof(bal));
		gen++;
	}
	atomic_store(&st.done, 1);
	for (i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);

	cr_assert_eq(atomic_load(&st.errors), 0, "reader threads hit API errors");
	cr_assert_eq(atomic_load(&st.violations), 0, "isolation violated: %s", st.first_problem);
	cr_assert_gt(atomic_load(&st.scans), 0, "readers never completed a scan");
	fprintf(stderr, "isolation: %d commits, %ld reader scans, final generation %llu\n", COMMITS,
		atomic_load(&st.scans), (unsigned long long)gen);

	txn = begin(HEED_RDONLY);
	cr_assert_eq(get_u64(txn, st.dbi, "gen"), gen);
	for (i = 0; i < ACCOUNTS; i++) {
		account_key(k, sizeof(k), i);
		cr_assert_eq(get_u64(txn, st.dbi, k), gen << 32 | bal[i], "account %d", i);
	}
	heed_txn_abort(txn);
	HEED_CHECK_CLEAN(dir);
}

Test(txn, snapshot_is_stable_and_own_writes_visible)
{
	heed_txn *r, *w;
	heed_dbi dbi;
	heed_val key = hs("k"), val;

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 0));
	w = begin(0);
	dbi = main_dbi(w);
	put_u64(w, dbi, "k", 1);
	HEED_OK(heed_txn_commit(w));

	r = begin(HEED_RDONLY);
	w = begin(0);
	put_u64(w, dbi, "k", 2);
	put_u64(w, dbi, "new", 3);
	/* The writer sees its own writes, the reader does not. */
	cr_assert_eq(get_u64(w, dbi, "k"), 2);
	cr_assert_eq(get_u64(r, dbi, "k"), 1);
	key = hs("new");
	HEED_RC(heed_get(r, dbi, &key, &val), HEED_NOTFOUND);
	HEED_OK(heed_txn_commit(w));
	/* Nor after the commit: the snapshot is fixed at begin. */
	cr_assert_eq(get_u64(r, dbi, "k"), 1);
	HEED_RC(heed_get(r, dbi, &key, &val), HEED_NOTFOUND);
	heed_txn_abort(r);
	r = begin(HEED_RDONLY);
	cr_assert_eq(get_u64(r, dbi, "k"), 2);
	cr_assert_eq(get_u64(r, dbi, "new"), 3);
	heed_txn_abort(r);
}

Test(txn, reset_and_renew)
{
	heed_txn *r, *w;
	heed_dbi dbi;
	heed_val key = hs("k"), val;
	heed_cursor *cur;
	size_t id1;

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 0));
	w = begin(0);
	dbi = main_dbi(w);
	put_u64(w, dbi, "k", 1);
	HEED_OK(heed_txn_commit(w));

	r = begin(HEED_RDONLY);
	id1 = heed_txn_id(r);
	cr_assert_gt(id1, 0);
	cr_assert_eq(get_u64(r, dbi, "k"), 1);
	/* Renew needs a reset first. */
	HEED_RC(heed_txn_renew(r), HEED_BAD_TXN);
	heed_txn_reset(r);
	cr_assert_eq(heed_txn_id(r), 0, "a reset txn has no snapshot");
	/* A reset txn refuses every operation until renewed. */
	HEED_RC(heed_get(r, dbi, &key, &val), HEED_BAD_TXN);
	HEED_RC(heed_cursor_open(r, dbi, &cur), HEED_BAD_TXN);

	w = begin(0);
	put_u64(w, dbi, "k", 2);
	HEED_OK(heed_txn_commit(w));

	HEED_OK(heed_txn_renew(r));
	cr_assert_eq(heed_txn_id(r), id1 + 1);
	cr_assert_eq(get_u64(r, dbi, "k"), 2, "a renewed txn sees the latest commit");
	/* Reset twice is harmless; renew then works once. */
	heed_txn_reset(r);
	heed_txn_reset(r);
	HEED_OK(heed_txn_renew(r));
	HEED_RC(heed_txn_renew(r), HEED_BAD_TXN);
	heed_txn_abort(r);

	/* A reset txn may be aborted (freed) without renewing. */
	r = begin(HEED_RDONLY);
	heed_txn_reset(r);
	heed_txn_abort(r);

	/* reset is ignored for a write txn, renew refused. */
	w = begin(0);
	heed_txn_reset(w);
	HEED_RC(heed_txn_renew(w), HEED_BAD_TXN);
	put_u64(w, dbi, "k", 3);
	HEED_OK(heed_txn_commit(w));
	r = begin(HEED_RDONLY);
	cr_assert_eq(get_u64(r, dbi, "k"), 3);
	heed_txn_abort(r);
}

Test(txn, read_txn_cannot_write)
{
	heed_txn *r, *w;
	heed_dbi dbi, named;
	heed_val key = hs("k"), val = hs("v");
	heed_cursor *cur;

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 2));
	w = begin(0);
	dbi = main_dbi(w);
	HEED_OK(heed_put(w, dbi, &key, &val, 0));
	HEED_OK(heed_txn_commit(w));

	r = begin(HEED_RDONLY);
	val = hs("other");
	HEED_RC(heed_put(r, dbi, &key, &val, 0), EACCES);
	HEED_RC(heed_del(r, dbi, &key, NULL), EACCES);
	HEED_RC(heed_drop(r, dbi, 0), EACCES);
	HEED_RC(heed_dbi_open(r, "named", HEED_CREATE, &named), EACCES);
	HEED_OK(heed_cursor_open(r, dbi, &cur));
	HEED_OK(heed_cursor_get(cur, &key, &val, HEED_FIRST));
	val = hs("other");
	HEED_RC(heed_cursor_put(cur, &key, &val, HEED_CURRENT), EACCES);
	HEED_RC(heed_cursor_del(cur, 0), EACCES);
	heed_cursor_close(cur);
	/* The refused writes left the read txn usable and the data intact. */
	key = hs("k");
	HEED_OK(heed_get(r, dbi, &key, &val));
	cr_assert(val.size == 1 && memcmp(val.data, "v", 1) == 0);
	HEED_OK(heed_txn_commit(r));

	/* A read-only env refuses write txns. */
	heed_env_close(env);
	HEED_OK(env_open_dir(&env, dir, HEED_RDONLY, 0, 0, 0));
	HEED_RC(heed_txn_begin(env, NULL, 0, &w), EACCES);
	r = begin(HEED_RDONLY);
	/* Handles belong to one env: open the main db again. */
	dbi = main_dbi(r);
	key = hs("k");
	HEED_OK(heed_get(r, dbi, &key, &val));
	heed_txn_abort(r);
}

Test(txn, reader_slots)
{
	heed_txn *txns[16], *extra = NULL;
	heed_envinfo info;
	int i;

	HEED_OK(heed_env_create(&env));
	HEED_OK(heed_env_set_maxreaders(env, 16));
	HEED_OK(heed_env_open(env, dir, HEED_NOSYNC, 0644));
	HEED_OK(heed_env_info(env, &info));
	cr_assert_eq(info.maxreaders, 16);

	/* One thread may hold every slot. */
	for (i = 0; i < 16; i++)
		txns[i] = begin(HEED_RDONLY);
	HEED_OK(heed_env_info(env, &info));
	cr_assert_eq(info.numreaders, 16);
	HEED_RC(heed_txn_begin(env, NULL, HEED_RDONLY, &extra), HEED_READERS_FULL);
	/* The writer needs no reader slot. */
	extra = begin(0);
	heed_txn_abort(extra);
	heed_txn_abort(txns[3]);
	txns[3] = begin(HEED_RDONLY);
	/* A reset and renewed txn keeps working with every slot taken. */
	heed_txn_reset(txns[5]);
	HEED_OK(heed_txn_renew(txns[5]));
	for (i = 0; i < 16; i++)
		heed_txn_abort(txns[i]);
	HEED_OK(heed_env_info(env, &info));
	cr_assert_eq(info.numreaders, 0);
}

struct many {
	heed_dbi dbi;
	atomic_long bad;
	atomic_int go;
};

static void *many_reader(void *arg)
{
	struct many *m = arg;
	heed_txn *txn;
	heed_val key = hs("k"), val;
	int i;

	while (!atomic_load(&m->go))
		sched_yield();
	for (i = 0; i < 200; i++) {
		if (heed_txn_begin(env, NULL, HEED_RDONLY, &txn) != 0) {
			atomic_fetch_add(&m->bad, 1);
			return NULL;
		}
		if (heed_get(txn, m->dbi, &key, &val) != 0 || val.size != 8)
			atomic_fetch_add(&m->bad, 1);
		heed_txn_abort(txn);
	}
	return NULL;
}

Test(txn, many_reader_threads)
{
	static struct many m;
	pthread_t th[100];
	heed_txn *w;
	int i;

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 0));
	w = begin(0);
	m.dbi = main_dbi(w);
	put_u64(w, m.dbi, "k", 42);
	HEED_OK(heed_txn_commit(w));
	/* 100 threads within the default 126 slots, beginning at once. */
	for (i = 0; i < 100; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, many_reader, &m), 0);
	atomic_store(&m.go, 1);
	for (i = 0; i < 50; i++) {
		w = begin(0);
		put_u64(w, m.dbi, "k", (uint64_t)i);
		HEED_OK(heed_txn_commit(w));
	}
	for (i = 0; i < 100; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(atomic_load(&m.bad), 0, "%ld reader failures", atomic_load(&m.bad));
}

Test(txn, failed_txn_is_bad)
{
	heed_txn *w, *r;
	heed_dbi dbi;
	heed_val key, val;
	heed_cursor *cur = NULL;
	char kb[32], vb[1000];
	int i, rc = 0;

	/* A small map so a put fails with MAP_FULL and fails the txn. */
	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 1 << 20, 0));
	w = begin(0);
	dbi = main_dbi(w);
	put_u64(w, dbi, "before", 1);
	HEED_OK(heed_txn_commit(w));

	memset(vb, 'v', sizeof(vb));
	w = begin(0);
	HEED_OK(heed_cursor_open(w, dbi, &cur));
	for (i = 0; i < 10000; i++) {
		snprintf(kb, sizeof(kb), "key-%06d", i);
		key = hs(kb);
		val = hv(vb, sizeof(vb));
		rc = heed_put(w, dbi, &key, &val, 0);
		if (rc)
			break;
	}
	HEED_RC(rc, HEED_MAP_FULL);
	/* Every later operation of the failed txn says so. */
	key = hs("before");
	HEED_RC(heed_get(w, dbi, &key, &val), HEED_BAD_TXN);
	val = hs("x");
	HEED_RC(heed_put(w, dbi, &key, &val, 0), HEED_BAD_TXN);
	HEED_RC(heed_del(w, dbi, &key, NULL), HEED_BAD_TXN);
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_FIRST), HEED_BAD_TXN);
	HEED_RC(heed_cursor_put(cur, &key, &val, 0), HEED_BAD_TXN);
	HEED_RC(heed_drop(w, dbi, 0), HEED_BAD_TXN);
	/* Commit frees it and reports the failure; nothing becomes visible. */
	rc = heed_txn_commit(w);
	cr_assert_neq(rc, 0, "commit of a failed txn must fail");
	r = begin(HEED_RDONLY);
	cr_assert_eq(get_u64(r, dbi, "before"), 1);
	key = hs("key-000000");
	HEED_RC(heed_get(r, dbi, &key, &val), HEED_NOTFOUND);
	heed_txn_abort(r);
	/* The env takes new writers. */
	w = begin(0);
	put_u64(w, dbi, "after", 2);
	HEED_OK(heed_txn_commit(w));
	HEED_CHECK_CLEAN(dir);
}

struct writer2 {
	atomic_int began;
	atomic_int committed;
	heed_dbi dbi;
	int rc;
};

static void *second_writer(void *arg)
{
	struct writer2 *w2 = arg;
	heed_txn *txn = NULL;
	heed_val key = hs("k"), val;
	uint64_t v;

	w2->rc = heed_txn_begin(env, NULL, 0, &txn);
	if (w2->rc)
		return NULL;
	atomic_store(&w2->began, 1);
	/* Runs after the first writer committed: sees its value. */
	w2->rc = heed_get(txn, w2->dbi, &key, &val);
	if (w2->rc == 0 && val.size == 8) {
		memcpy(&v, val.data, 8);
		v++;
		val = hv(&v, 8);
		w2->rc = heed_put(txn, w2->dbi, &key, &val, 0);
	}
	if (w2->rc == 0)
		w2->rc = heed_txn_commit(txn);
	else
		heed_txn_abort(txn);
	atomic_store(&w2->committed, 1);
	return NULL;
}

Test(txn, second_writer_thread_waits)
{
	static struct writer2 w2;
	heed_txn *w, *r;
	pthread_t th;
	struct timespec ts = {0, 50 * 1000 * 1000};

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 0));
	w = begin(0);
	w2.dbi = main_dbi(w);
	put_u64(w, w2.dbi, "k", 10);
	HEED_OK(heed_txn_commit(w));

	w = begin(0);
	cr_assert_eq(pthread_create(&th, NULL, second_writer, &w2), 0);
	/* However long we wait, the second writer cannot begin while we hold
	 * the write txn (a wait too short only weakens the check). */
	nanosleep(&ts, NULL);
	cr_assert_eq(atomic_load(&w2.began), 0, "two write txns ran at once");
	put_u64(w, w2.dbi, "k", 20);
	HEED_OK(heed_txn_commit(w));
	pthread_join(th, NULL);
	HEED_OK(w2.rc);
	cr_assert_eq(atomic_load(&w2.committed), 1);
	r = begin(HEED_RDONLY);
	cr_assert_eq(get_u64(r, w2.dbi, "k"), 21, "the second writer must see the first's commit");
	heed_txn_abort(r);
}

/*
 * Runs of APPEND puts within a txn resume from the path the previous one
 * left (core/btree.c). Every other change in between must end that: puts
 * into another db, deletes of the last or any key, plain puts past the
 * end, overwrites that move the last node, cursor APPENDs, refused APPENDs.
 * Keys are 100 bytes ("%0100llu": numeric order) so 20,000 of them make a
 * tree 3 levels deep that splits at every level. A model of both dbs is
 * compared with a full scan before each commit, and heed-check runs after.
 */
#define APP_KEYS 400000
#define APP_KLEN 100

struct app_db {
	heed_dbi dbi;
	unsigned char ver[APP_KEYS]; /* 0: absent, else the value's version */
	uint64_t last;		     /* largest present number, or 0 */
	uint64_t n;
};

static void app_key(char *buf, uint64_t k)
{
	snprintf(buf, APP_KLEN + 1, "%0100llu", (unsigned long long)k);
}

/* The value of number k at version ver: its length and bytes follow both. */
static size_t app_val(unsigned char *buf, uint64_t k, unsigned int ver)
{
	size_t len = 1 + (k * 7 + ver * 13) % 60, i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(k + ver + i);
	return len;
}

static void app_last(struct app_db *d)
{
	while (d->last && !d->ver[d->last])
		d->last--;
}

static void app_put(heed_txn *txn, struct app_db *d, heed_cursor *cur, uint64_t k,
		    unsigned int flags)
{
	char kb[APP_KLEN + 1];
	unsigned char vb[64];
	unsigned int ver = d->ver[k] % 250 + 1;
	heed_val key, val;

	app_key(kb, k);
	key = hv(kb, APP_KLEN);
	val = hv(vb, app_val(vb, k, ver));
	if ((flags & HEED_APPEND) && k <= d->last) {
		HEED_RC(cur ? heed_cursor_put(cur, &key, &val, flags)
			    : heed_put(txn, d->dbi, &key, &val, flags),
			HEED_KEYEXIST);
		return;
	}
	HEED_OK(cur ? heed_cursor_put(cur, &key, &val, flags)
		    : heed_put(txn, d->dbi, &key, &val, flags));
	d->n += !d->ver[k];
	d->ver[k] = (unsigned char)ver;
	if (k > d->last)
		d->last = k;
}

static void app_del(heed_txn *txn, struct app_db *d, uint64_t k)
{
	char kb[APP_KLEN + 1];
	heed_val key;

	app_key(kb, k);
	key = hv(kb, APP_KLEN);
	HEED_OK(heed_del(txn, d->dbi, &key, NULL));
	d->ver[k] = 0;
	d->n--;
	app_last(d);
}

/* A present number below the last, by probing from a random one. */
static uint64_t app_some(struct rng *r, struct app_db *d)
{
	uint64_t k = rng_range(r, 1, d->last);

	while (!d->ver[k])
		k++;
	return k;
}

static void app_compare(heed_txn *txn, struct app_db *d, const char *what)
{
	heed_cursor *cur;
	heed_val key, val;
	char kb[APP_KLEN + 1];
	unsigned char vb[64];
	uint64_t k = 0, seen = 0;
	int rc;

	HEED_OK(heed_cursor_open(txn, d->dbi, &cur));
	for (rc = heed_cursor_get(cur, &key, &val, HEED_FIRST); !rc;
	     rc = heed_cursor_get(cur, &key, &val, HEED_NEXT)) {
		for (k++; k < APP_KEYS && !d->ver[k]; k++)
			;
		cr_assert_lt(k, APP_KEYS, "%s: more items than the model's %" PRIu64, what, d->n);
		app_key(kb, k);
		cr_assert(key.size == APP_KLEN && !memcmp(key.data, kb, APP_KLEN),
			  "%s: item %" PRIu64 " is not key %" PRIu64, what, seen, k);
		cr_assert(val.size == app_val(vb, k, d->ver[k]) && !memcmp(val.data, vb, val.size),
			  "%s: key %" PRIu64 " has a wrong value", what, k);
		seen++;
	}
	HEED_RC(rc, HEED_NOTFOUND);
	cr_assert_eq(seen, d->n, "%s: %" PRIu64 " items, the model has %" PRIu64, what, seen, d->n);
	heed_cursor_close(cur);
}

Test(txn, append_resumes_only_an_unchanged_path)
{
	struct rng r = {test_seed("txn::append_resumes")};
	static struct app_db dbs[2];
	char log[4096];
	heed_stat st;
	unsigned int depth = 0;
	int txns, i, cur_db = 0;

	memset(dbs, 0, sizeof(dbs));
	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, (size_t)1 << 30, 4));
	for (txns = 0; txns < 3; txns++) {
		heed_txn *txn = begin(0);
		heed_cursor *cur[2];

		HEED_OK(heed_dbi_open(txn, "a", HEED_CREATE, &dbs[0].dbi));
		HEED_OK(heed_dbi_open(txn, "b", HEED_CREATE, &dbs[1].dbi));
		HEED_OK(heed_cursor_open(txn, dbs[0].dbi, &cur[0]));
		HEED_OK(heed_cursor_open(txn, dbs[1].dbi, &cur[1]));
		for (i = 0; i < 20000; i++) {
			uint64_t p = rng_below(&r, 100);
			struct app_db *d;

			if (!rng_below(&r, 20))
				cur_db ^= 1;
			d = &dbs[cur_db];
			if (d->last + 4 >= APP_KEYS)
				break;
			if (p < 70 || !d->n)
				app_put(txn, d, NULL, d->last + rng_range(&r, 1, 3), HEED_APPEND);
			else if (p < 75)
				app_put(txn, d, NULL, rng_below(&r, 2) ? d->last : app_some(&r, d),
					HEED_APPEND);
			else if (p < 80)
				app_del(txn, d, d->last);
			else if (p < 84)
				app_del(txn, d, app_some(&r, d));
			else if (p < 88)
				app_put(txn, d, NULL, d->last + rng_range(&r, 1, 3), 0);
			else if (p < 92)
				app_put(txn, d, NULL, d->last, 0);
			else if (p < 96)
				app_put(txn, d, cur[cur_db], d->last + rng_range(&r, 0, 2),
					HEED_APPEND);
			else
				app_put(txn, &dbs[cur_db ^ 1], NULL, dbs[cur_db ^ 1].last + 1,
					HEED_APPEND);
		}
		app_compare(txn, &dbs[0], "db a");
		app_compare(txn, &dbs[1], "db b");
		HEED_OK(heed_dbi_stat(txn, dbs[0].dbi, &st));
		if (st.depth > depth)
			depth = st.depth;
		heed_cursor_close(cur[0]);
		heed_cursor_close(cur[1]);
		HEED_OK(heed_txn_commit(txn));
		cr_assert_eq(run_heed_check(dir, log, sizeof(log)), 0, "heed-check: %s", log);
	}
	cr_assert_geq(depth, 3, "db a reached depth %u only", depth);
}

/*
 * heed.h lets a txn move between threads. A read txn begun by a thread that
 * then exits keeps its snapshot (the thread's cached reader slot stays
 * pinned until the txn ends), its reads stay right after many overwriting
 * commits, and its end frees the slot.
 */
#define HANDOFF_KEYS 200

static void handoff_val(unsigned char *buf, size_t len, unsigned int i, unsigned int gen)
{
	memset(buf, (int)(i * 7 + gen * 13) & 0xff, len);
}

static void handoff_write(heed_dbi dbi, unsigned int gen)
{
	unsigned char vb[300];
	heed_txn *w = begin(0);
	char kb[16];
	unsigned int i;

	for (i = 0; i < HANDOFF_KEYS; i++) {
		heed_val key, val = hv(vb, sizeof(vb));

		snprintf(kb, sizeof(kb), "h%04u", i);
		key = hs(kb);
		handoff_val(vb, sizeof(vb), i, gen);
		HEED_OK(heed_put(w, dbi, &key, &val, 0));
	}
	HEED_OK(heed_txn_commit(w));
}

static void *handoff_begin(void *arg)
{
	heed_txn **out = arg;

	if (heed_txn_begin(env, NULL, HEED_RDONLY, out) != 0)
		*out = NULL;
	return NULL;
}

/* A read txn begun by a thread that has exited when this returns. */
static heed_txn *handed_over(void)
{
	heed_txn *txn = NULL;
	pthread_t th;

	cr_assert_eq(pthread_create(&th, NULL, handoff_begin, &txn), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_not_null(txn, "the thread could not begin a read txn");
	return txn;
}

static unsigned int handoff_wrong(heed_txn *txn, heed_dbi dbi, unsigned int gen)
{
	unsigned char want[300];
	unsigned int i, bad = 0;
	char kb[16];

	for (i = 0; i < HANDOFF_KEYS; i++) {
		heed_val key, val = {0};

		snprintf(kb, sizeof(kb), "h%04u", i);
		key = hs(kb);
		handoff_val(want, sizeof(want), i, gen);
		if (heed_get(txn, dbi, &key, &val) != 0 || val.size != sizeof(want) ||
		    memcmp(val.data, want, sizeof(want)) != 0)
			bad++;
	}
	return bad;
}

Test(txn, read_txn_outlives_the_thread_that_began_it)
{
	heed_txn *a, *b, *t[4];
	heed_envinfo info;
	heed_dbi dbi;
	unsigned int gen, bad, i;

	HEED_OK(heed_env_create(&env));
	HEED_OK(heed_env_set_maxreaders(env, 4));
	HEED_OK(heed_env_open(env, dir, HEED_NOSYNC, 0644));
	a = begin(0);
	dbi = main_dbi(a);
	heed_txn_abort(a);
	handoff_write(dbi, 0);
	a = handed_over();
	handoff_write(dbi, 1);
	b = handed_over();
	HEED_OK(heed_env_info(env, &info));
	cr_assert_eq(info.numreaders, 2, "the exited threads' txns hold %u slots", info.numreaders);
	for (gen = 2; gen < 40; gen++)
		handoff_write(dbi, gen);
	bad = handoff_wrong(a, dbi, 0);
	cr_assert_eq(bad, 0, "%u keys of the first handed-over snapshot are wrong", bad);
	bad = handoff_wrong(b, dbi, 1);
	cr_assert_eq(bad, 0, "%u keys of the second handed-over snapshot are wrong", bad);
	/* Reset and renew in this thread: a slot of this thread, newest data. */
	heed_txn_reset(b);
	HEED_OK(heed_txn_renew(b));
	cr_assert_eq(handoff_wrong(b, dbi, 39), 0);
	heed_txn_abort(a);
	heed_txn_abort(b);
	HEED_OK(heed_env_info(env, &info));
	cr_assert_eq(info.numreaders, 0);
	/* Every slot is free again: all four can be taken at once. */
	for (i = 0; i < 4; i++)
		t[i] = begin(HEED_RDONLY);
	for (i = 0; i < 4; i++)
		heed_txn_abort(t[i]);
}

/*
 * Nested write txns (heed_txn_begin with a parent).
 */
static heed_txn *child_of(heed_txn *parent)
{
	heed_txn *txn = NULL;

	HEED_OK(heed_txn_begin(env, parent, 0, &txn));
	cr_assert_eq(heed_txn_id(txn), heed_txn_id(parent), "a child has its parent's txn id");
	return txn;
}

/* The keys of dbi in txn, in order, joined by spaces. */
static const char *keys_of(heed_txn *txn, heed_dbi dbi)
{
	static char buf[4096];
	heed_cursor *cur;
	heed_val k, v;
	size_t n = 0;
	int rc, first = 1;

	buf[0] = 0;
	HEED_OK(heed_cursor_open(txn, dbi, &cur));
	while ((rc = heed_cursor_get(cur, &k, &v, first ? HEED_FIRST : HEED_NEXT)) == 0) {
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%.*s", first ? "" : " ",
				      (int)k.size, (const char *)k.data);
		first = 0;
	}
	HEED_RC(rc, HEED_NOTFOUND);
	heed_cursor_close(cur);
	return buf;
}

static void del_key(heed_txn *txn, heed_dbi dbi, const char *k)
{
	heed_val key = hs(k);

	HEED_OK(heed_del(txn, dbi, &key, NULL));
}

Test(txn, nested_commit_and_abort_at_any_depth)
{
	heed_txn *t, *c1, *c2, *c3, *r;
	heed_dbi dbi;

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 0));
	t = begin(0);
	dbi = main_dbi(t);
	put_u64(t, dbi, "a", 1);
	put_u64(t, dbi, "b", 1);
	c1 = child_of(t);
	put_u64(c1, dbi, "c", 2);
	del_key(c1, dbi, "a");
	c2 = child_of(c1);
	cr_assert_str_eq(keys_of(c2, dbi), "b c");
	put_u64(c2, dbi, "d", 3);
	put_u64(c2, dbi, "b", 3);
	c3 = child_of(c2);
	put_u64(c3, dbi, "e", 4);
	del_key(c3, dbi, "b");
	cr_assert_str_eq(keys_of(c3, dbi), "c d e");
	heed_txn_abort(c3);
	cr_assert_str_eq(keys_of(c2, dbi), "b c d");
	cr_assert_eq(get_u64(c2, dbi, "b"), 3);
	HEED_OK(heed_txn_commit(c2));
	cr_assert_str_eq(keys_of(c1, dbi), "b c d");
	cr_assert_eq(get_u64(c1, dbi, "b"), 3);
	heed_txn_abort(c1);
	/* The parent is exactly as before its child. */
	cr_assert_str_eq(keys_of(t, dbi), "a b");
	cr_assert_eq(get_u64(t, dbi, "b"), 1);
	c1 = child_of(t);
	put_u64(c1, dbi, "f", 5);
	HEED_OK(heed_txn_commit(c1));
	/* Nothing of it is visible to readers before the top commit. */
	r = begin(HEED_RDONLY);
	cr_assert_str_eq(keys_of(r, dbi), "");
	heed_txn_abort(r);
	HEED_OK(heed_txn_commit(t));
	r = begin(HEED_RDONLY);
	cr_assert_str_eq(keys_of(r, dbi), "a b f");
	heed_txn_abort(r);
	HEED_CHECK_CLEAN(dir);
}

Test(txn, nested_parent_is_blocked_while_its_child_runs)
{
	heed_txn *t, *c, *x = NULL;
	heed_cursor *cur, *cur2 = NULL;
	heed_dbi dbi, named = 0;
	heed_val key = hs("k"), val = hs("v");
	heed_stat st;

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 2));
	t = begin(0);
	dbi = main_dbi(t);
	put_u64(t, dbi, "m", 1);
	HEED_OK(heed_cursor_open(t, dbi, &cur));
	HEED_OK(heed_cursor_get(cur, &key, &val, HEED_FIRST));
	c = child_of(t);
	key = hs("k");
	HEED_RC(heed_get(t, dbi, &key, &val), HEED_BAD_TXN);
	HEED_RC(heed_put(t, dbi, &key, &val, 0), HEED_BAD_TXN);
	HEED_RC(heed_del(t, dbi, &key, NULL), HEED_BAD_TXN);
	HEED_RC(heed_cursor_open(t, dbi, &cur2), HEED_BAD_TXN);
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_FIRST), HEED_BAD_TXN);
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_NEXT), HEED_BAD_TXN);
	HEED_RC(heed_cursor_put(cur, &key, &val, 0), HEED_BAD_TXN);
	HEED_RC(heed_cursor_del(cur, 0), HEED_BAD_TXN);
	HEED_RC(heed_dbi_open(t, "named", HEED_CREATE, &named), HEED_BAD_TXN);
	HEED_RC(heed_dbi_stat(t, dbi, &st), HEED_BAD_TXN);
	HEED_RC(heed_drop(t, dbi, 0), HEED_BAD_TXN);
	HEED_RC(heed_txn_begin(env, t, 0, &x), HEED_BAD_TXN);
	cr_assert_null(x);
	HEED_RC(heed_txn_begin(env, c, HEED_RDONLY, &x), HEED_BAD_TXN);
	/* The child works, and after its commit the parent's cursor sees
	 * what it did. */
	put_u64(c, dbi, "a", 2);
	HEED_OK(heed_txn_commit(c));
	HEED_OK(heed_cursor_get(cur, &key, &val, HEED_GET_CURRENT));
	cr_assert(key.size == 1 && !memcmp(key.data, "m", 1));
	HEED_OK(heed_cursor_get(cur, &key, &val, HEED_PREV));
	cr_assert(key.size == 1 && !memcmp(key.data, "a", 1), "the parent's cursor sees a");
	HEED_OK(heed_dbi_stat(t, dbi, &st));
	cr_assert_eq(st.entries, 2);
	/* After an abort the cursor is where it was. */
	c = child_of(t);
	del_key(c, dbi, "a");
	put_u64(c, dbi, "b", 3);
	heed_txn_abort(c);
	HEED_OK(heed_cursor_get(cur, &key, &val, HEED_NEXT));
	cr_assert(key.size == 1 && !memcmp(key.data, "m", 1), "b came from an aborted child");
	HEED_OK(heed_txn_commit(t));
}

Test(txn, nested_ending_a_parent_ends_its_children)
{
	heed_txn *t, *c1, *c2, *r;
	heed_dbi dbi;

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 0));
	t = begin(0);
	dbi = main_dbi(t);
	put_u64(t, dbi, "t", 1);
	c1 = child_of(t);
	put_u64(c1, dbi, "c1", 2);
	c2 = child_of(c1);
	put_u64(c2, dbi, "c2", 3);
	HEED_OK(heed_txn_commit(t)); /* commits c2 into c1, c1 into t, then t */
	r = begin(HEED_RDONLY);
	cr_assert_str_eq(keys_of(r, dbi), "c1 c2 t");
	heed_txn_abort(r);

	t = begin(0);
	del_key(t, dbi, "t");
	c1 = child_of(t);
	put_u64(c1, dbi, "x1", 2);
	c2 = child_of(c1);
	put_u64(c2, dbi, "x2", 3);
	heed_txn_abort(t); /* aborts c2 and c1 first */
	/* No txn of this env is left: the map may be resized. */
	HEED_OK(heed_env_set_mapsize(env, 64u << 20));
	r = begin(HEED_RDONLY);
	cr_assert_str_eq(keys_of(r, dbi), "c1 c2 t");
	heed_txn_abort(r);
	t = begin(0);
	put_u64(t, dbi, "u", 4);
	HEED_OK(heed_txn_commit(t));
	HEED_CHECK_CLEAN(dir);
}

Test(txn, nested_failed_child)
{
	heed_txn *t, *c, *r;
	heed_dbi dbi;
	heed_val key, val;
	char kb[32], vb[1000];
	int i, rc = 0, fail_parent;

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 1 << 20, 0));
	t = begin(0);
	dbi = main_dbi(t);
	put_u64(t, dbi, "before", 1);
	HEED_OK(heed_txn_commit(t));
	memset(vb, 'v', sizeof(vb));
	/* A failed child aborted leaves its parent working; committed, it
	 * fails the parent (LMDB's rule). */
	for (fail_parent = 0; fail_parent < 2; fail_parent++) {
		t = begin(0);
		put_u64(t, dbi, "parent", 2);
		c = child_of(t);
		for (i = 0; i < 10000; i++) {
			snprintf(kb, sizeof(kb), "key-%06d", i);
			key = hs(kb);
			val = hv(vb, sizeof(vb));
			rc = heed_put(c, dbi, &key, &val, 0);
			if (rc)
				break;
		}
		HEED_RC(rc, HEED_MAP_FULL);
		key = hs("before");
		HEED_RC(heed_get(c, dbi, &key, &val), HEED_BAD_TXN);
		if (!fail_parent) {
			heed_txn_abort(c);
			cr_assert_eq(get_u64(t, dbi, "parent"), 2);
			put_u64(t, dbi, "after", 3);
			HEED_OK(heed_txn_commit(t));
			continue;
		}
		HEED_RC(heed_txn_commit(c), HEED_BAD_TXN);
		HEED_RC(heed_get(t, dbi, &key, &val), HEED_BAD_TXN);
		HEED_RC(heed_txn_commit(t), HEED_BAD_TXN);
	}
	r = begin(HEED_RDONLY);
	cr_assert_str_eq(keys_of(r, dbi), "after before parent");
	heed_txn_abort(r);
	HEED_CHECK_CLEAN(dir);
}

Test(txn, nested_named_dbs)
{
	heed_txn *t, *c, *r;
	heed_dbi dbi, p, c1, c2;
	heed_val key = hs("k"), val = hs("v");

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 4));
	t = begin(0);
	dbi = main_dbi(t);
	HEED_OK(heed_dbi_open(t, "p", HEED_CREATE, &p));
	c = child_of(t);
	HEED_OK(heed_dbi_open(c, "c1", HEED_CREATE, &c1));
	HEED_OK(heed_put(c, c1, &key, &val, 0));
	HEED_OK(heed_put(c, p, &key, &val, 0));
	heed_txn_abort(c);
	/* The child's handle died with it, the parent's did not. */
	HEED_RC(heed_put(t, c1, &key, &val, 0), HEED_BAD_DBI);
	HEED_RC(heed_get(t, p, &key, &val), HEED_NOTFOUND);
	cr_assert_str_eq(keys_of(t, dbi), "p");
	c = child_of(t);
	HEED_OK(heed_drop(c, p, 1));
	heed_txn_abort(c);
	HEED_OK(heed_put(t, p, &key, &val, 0));
	c = child_of(t);
	HEED_OK(heed_dbi_open(c, "c2", HEED_CREATE, &c2));
	HEED_OK(heed_put(c, c2, &key, &val, 0));
	HEED_OK(heed_txn_commit(c));
	HEED_OK(heed_get(t, c2, &key, &val));
	HEED_OK(heed_txn_commit(t));
	r = begin(HEED_RDONLY);
	cr_assert_str_eq(keys_of(r, dbi), "c2 p");
	HEED_OK(heed_dbi_open(r, "c2", 0, &c2));
	cr_assert_str_eq(keys_of(r, c2), "k");
	HEED_OK(heed_dbi_open(r, "p", 0, &p));
	cr_assert_str_eq(keys_of(r, p), "k");
	HEED_RC(heed_dbi_open(r, "c1", 0, &c1), HEED_NOTFOUND);
	heed_txn_abort(r);
	HEED_CHECK_CLEAN(dir);
}

static void append_range(heed_txn *txn, heed_dbi dbi, unsigned int lo, unsigned int hi)
{
	char kb[32];

	for (; lo < hi; lo++) {
		heed_val key, val;

		snprintf(kb, sizeof(kb), "k%06u", lo);
		key = hs(kb);
		val = hv(kb, 7);
		HEED_OK(heed_put(txn, dbi, &key, &val, HEED_APPEND));
	}
}

/* APPEND resumes from the last path: a child's appends fold into the
 * parent's, an aborted child's leave it as it was. */
Test(txn, nested_appends)
{
	heed_txn *t, *c, *c2, *r;
	heed_dbi dbi;
	heed_cursor *cur;
	heed_val key, val;
	char kb[32];
	unsigned int n = 0;
	int rc;

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 0));
	t = begin(0);
	dbi = main_dbi(t);
	append_range(t, dbi, 0, 500);
	c = child_of(t);
	append_range(c, dbi, 500, 1000);
	HEED_OK(heed_txn_commit(c));
	append_range(t, dbi, 1000, 1500);
	c = child_of(t);
	append_range(c, dbi, 1500, 2000);
	heed_txn_abort(c);
	append_range(t, dbi, 1500, 2500);
	c = child_of(t);
	append_range(c, dbi, 2500, 3000);
	c2 = child_of(c);
	append_range(c2, dbi, 3000, 3100);
	HEED_OK(heed_txn_commit(c2));
	append_range(c, dbi, 3100, 3200);
	HEED_OK(heed_txn_commit(c));
	HEED_OK(heed_txn_commit(t));
	r = begin(HEED_RDONLY);
	HEED_OK(heed_cursor_open(r, dbi, &cur));
	while ((rc = heed_cursor_get(cur, &key, &val, n ? HEED_NEXT : HEED_FIRST)) == 0) {
		snprintf(kb, sizeof(kb), "k%06u", n);
		cr_assert(key.size == 7 && !memcmp(key.data, kb, 7), "item %u is not %s", n, kb);
		n++;
	}
	HEED_RC(rc, HEED_NOTFOUND);
	heed_txn_abort(r);
	cr_assert_eq(n, 3200, "%u keys", n);
	HEED_CHECK_CLEAN(dir);
}

/* A child costs the pages it changes, not a copy of its parent's dirty
 * set: heap growth (mallinfo2) while a child of a txn with ~1,500 dirty
 * pages changes one key stays under 64 pages. */
Test(txn, nested_child_copies_only_what_it_touches)
{
	heed_txn *t, *c;
	heed_dbi dbi;
	heed_stat st;
	struct mallinfo2 before, after;
	char kb[32], vb[100];
	unsigned int i;
	size_t grew, parent_pages;

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 4096, 256u << 20, 0));
	t = begin(0);
	dbi = main_dbi(t);
	memset(vb, 'v', sizeof(vb));
	for (i = 0; i < 40000; i++) {
		heed_val key, val = hv(vb, sizeof(vb));

		snprintf(kb, sizeof(kb), "k%06u", i * 7919 % 40000);
		key = hs(kb);
		HEED_OK(heed_put(t, dbi, &key, &val, 0));
	}
	HEED_OK(heed_dbi_stat(t, dbi, &st));
	parent_pages = st.leaf_pages + st.branch_pages;
	cr_assert_gt(parent_pages, 1000);
	before = mallinfo2();
	c = child_of(t);
	put_u64(c, dbi, "k020000", 1);
	after = mallinfo2();
	grew = after.uordblks > before.uordblks ? after.uordblks - before.uordblks : 0;
	cr_assert_lt(grew, 64 * 4096,
		     "a child that changed one key took %zu bytes (parent: %zu pages)", grew,
		     parent_pages);
	heed_txn_abort(c);
	{
		heed_val key = hs("k020000"), val;

		HEED_OK(heed_get(t, dbi, &key, &val));
		cr_assert(val.size == sizeof(vb) && !memcmp(val.data, vb, sizeof(vb)),
			  "the aborted child's value reached the parent");
	}
	HEED_OK(heed_txn_commit(t));
	HEED_CHECK_CLEAN(dir);
}
