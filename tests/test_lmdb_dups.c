/*
 * test_lmdb_dups.c - DUPSORT dbs of heed against the real LMDB (Debian's
 * liblmdb 0.9.24): the same random operations on both, every return code,
 * key and value compared.
 *
 * Each run opens a named DUPSORT db in both libraries and applies a seeded
 * stream of puts (plain, NODUPDATA, NOOVERWRITE, APPEND), deletes (one value
 * or a whole key), gets, cursor moves with every op (FIRST..PREV_NODUP,
 * GET_BOTH, GET_BOTH_RANGE), cursor puts and deletes (one value, or
 * NODUPDATA: the key), cursor counts, commits and aborts. A few keys get
 * hundreds of long values, so their value trees have branch pages and split
 * and merge; the others hold one to a few. Every so often both dbs are
 * scanned whole and compared. HEED_SEED replays a run.
 *
 * Where heed keeps a documented difference (core/README.md, "heed and
 * LMDB") the stream steps around it: after a failed positioning (SET,
 * GET_BOTH, ... with HEED_NOTFOUND) heed's cursor is unpositioned and
 * LMDB's is not, so both cursors are put back on the first item. Values are
 * never empty (a DUPSORT value of heed is 1 to 511 bytes).
 *
 * The same stream runs on dbs in the other orders (struct variant): keys
 * and values that are native integers (INTEGERKEY, INTEGERDUP, with and
 * without DUPFIXED), compared from the end (REVERSEKEY, REVERSEDUP), and
 * the caller's comparators (heed_set_compare, heed_set_dupsort and LMDB's
 * mdb_set_compare, mdb_set_dupsort). Those use 2,000 keys, so that the
 * tree of keys splits and has branch pages too.
 */
#include <lmdb.h>

#include "common.h"
#include "internal.h" /* heed_env_check: a db in the caller's order */

#define NKEYS 24
#define HOT   3 /* keys 0..HOT-1 get many long values */
#define WARM  6 /* keys HOT..WARM-1 up to 40 values of 4 to 53 bytes */

/* How a stream's keys and values are made: text ("k07", ...), or native
 * unsigned integers of 4 or 8 bytes whose byte order is not their order. */
enum enc { ENC_STR, ENC_U32, ENC_U64 };

struct variant {
	const char *name;
	unsigned int hflags, lflags; /* with (MDB_)DUPSORT */
	enum enc kenc, venc;
	unsigned int nkeys;
	int custom; /* keys and values in the orders of the comparators below */
};

static const struct variant plain = {"DUPSORT", HEED_DUPSORT, MDB_DUPSORT, ENC_STR, ENC_STR, NKEYS,
				     0};
static const struct variant *V = &plain;

static char dir_h[256], dir_l[256], dir_c[256];
static heed_env *henv;
static MDB_env *lenv;
static heed_txn *ht;
static MDB_txn *lt;
static heed_dbi hd;
static MDB_dbi ld;
static heed_cursor *hc;
static MDB_cursor *lc;
static uint64_t step;
static char what[256];

static void setup(void)
{
	tmpdir_make(dir_h, sizeof(dir_h), "dups-h");
	tmpdir_make(dir_l, sizeof(dir_l), "dups-l");
	tmpdir_make(dir_c, sizeof(dir_c), "dups-c");
}

static void teardown(void)
{
	tmpdir_remove(dir_h);
	tmpdir_remove(dir_l);
	tmpdir_remove(dir_c);
}

/* HEED_TRACE=1 prints every call and both results (to replay a seed). */
#define SAME_RC(h, l)                                                                              \
	if (getenv("HEED_TRACE"))                                                                  \
		fprintf(stderr, "%" PRIu64 " %s: %d %d\n", step, what, (h), (l));                  \
	cr_assert_eq((h), (l), "step %" PRIu64 " %s: heed %d (%s), lmdb %d (%s)", step, what, (h), \
		     heed_strerror(h), (l), mdb_strerror(l))

/* The LMDB side in dir_l: mapsize 0 keeps LMDB's default map size. */
static void lmdb_open(size_t mapsize)
{
	cr_assert_eq(mdb_env_create(&lenv), 0);
	cr_assert_eq(mdb_env_set_maxdbs(lenv, 4), 0);
	if (mapsize)
		cr_assert_eq(mdb_env_set_mapsize(lenv, mapsize), 0);
	cr_assert_eq(mdb_env_open(lenv, dir_l, MDB_NOSYNC, 0644), 0);
}

static void same_val(const char *which, const heed_val *h, const MDB_val *l)
{
	cr_assert(h->size == l->mv_size && !memcmp(h->data, l->mv_data, h->size),
		  "step %" PRIu64 " %s: %s differs: heed %zu bytes '%.*s', lmdb %zu bytes '%.*s'",
		  step, what, which, h->size, (int)(h->size > 40 ? 40 : h->size), (char *)h->data,
		  l->mv_size, (int)(l->mv_size > 40 ? 40 : l->mv_size), (char *)l->mv_data);
}

static void begin(void)
{
	HEED_OK(heed_txn_begin(henv, NULL, 0, &ht));
	cr_assert_eq(mdb_txn_begin(lenv, NULL, 0, &lt), 0);
	HEED_OK(heed_cursor_open(ht, hd, &hc));
	cr_assert_eq(mdb_cursor_open(lt, ld, &lc), 0);
}

static void end(int commit)
{
	mdb_cursor_close(lc);
	if (commit) {
		int h = heed_txn_commit(ht), l = mdb_txn_commit(lt);

		snprintf(what, sizeof(what), "commit");
		SAME_RC(h, l);
	} else {
		heed_txn_abort(ht);
		mdb_txn_abort(lt);
	}
}

/* Key number i of the variant's encoding (k holds 16 bytes). */
static void key_bytes(unsigned int i, char *k, size_t *klen)
{
	uint32_t u32 = i * 97u; /* low byte first: not in numeric order */
	uint64_t u64 = (uint64_t)i * 97u + ((uint64_t)(i % 3) << 40);

	if (V->kenc == ENC_U32) {
		memcpy(k, &u32, 4);
		*klen = 4;
	} else if (V->kenc == ENC_U64) {
		memcpy(k, &u64, 8);
		*klen = 8;
	} else {
		*klen = (size_t)snprintf(k, 16, V->nkeys > 100 ? "k%04u" : "k%02u", i);
	}
}

/* A random key; its number. Many keys: a quarter are the hot and warm
 * ones, so their values still grow trees. */
static unsigned int make_key(struct rng *r, char *k, size_t *klen)
{
	unsigned int i =
		(unsigned)(V->nkeys > NKEYS && rng_below(r, 4) == 0 ? rng_below(r, WARM)
								    : rng_below(r, V->nkeys));

	key_bytes(i, k, klen);
	return i;
}

/* A value for key k: hot keys get long values from a wide range (a value
 * tree from the second value on), warm keys middling ones (an inline list
 * that outgrows its bound and becomes a tree), the others short ones from
 * a narrow range (a list; duplicates and misses both happen). */
static void make_val(struct rng *r, unsigned int key, char *v, size_t *vlen)
{
	unsigned int n;

	if (V->venc != ENC_STR) {
		/* As many distinct values as the text ones, as numbers. */
		uint32_t u32;
		uint64_t u64;

		n = (unsigned)rng_below(r, key < HOT ? 600 : key < WARM ? 40 : 8);
		u32 = n * 2654435761u;
		u64 = (uint64_t)n * 0x9e3779b97f4a7c15ull;
		if (V->venc == ENC_U32)
			memcpy(v, &u32, 4);
		else
			memcpy(v, &u64, 8);
		*vlen = V->venc == ENC_U32 ? 4 : 8;
		return;
	}
	if (key < HOT) {
		n = (unsigned)rng_below(r, 600);
		*vlen = (size_t)snprintf(v, 512, "v%04u", n);
		memset(v + *vlen, 'a' + (int)(n % 26), 120 + n % 200);
		*vlen += 120 + n % 200;
	} else if (key < WARM) {
		n = (unsigned)rng_below(r, 40);
		*vlen = (size_t)snprintf(v, 512, "w%02u", n);
		memset(v + *vlen, 'b', n + 1);
		*vlen += n + 1;
	} else {
		n = (unsigned)rng_below(r, 8);
		*vlen = (size_t)snprintf(v, 512, "%u", n * 7 % 10);
		if (rng_below(r, 3) == 0)
			*vlen += (size_t)snprintf(v + *vlen, 16, "x%u", n);
	}
}

static void scan_both(void)
{
	heed_cursor *c;
	MDB_cursor *m;
	heed_val hk, hv_;
	MDB_val lk, lv;
	size_t n = 0;
	int h, l;

	HEED_OK(heed_cursor_open(ht, hd, &c));
	cr_assert_eq(mdb_cursor_open(lt, ld, &m), 0);
	snprintf(what, sizeof(what), "scan");
	for (;;) {
		h = heed_cursor_get(c, &hk, &hv_, HEED_NEXT);
		l = mdb_cursor_get(m, &lk, &lv, MDB_NEXT);
		SAME_RC(h, l);
		if (h)
			break;
		same_val("scan key", &hk, &lk);
		same_val("scan value", &hv_, &lv);
		n++;
	}
	mdb_cursor_close(m);
	heed_cursor_close(c);
	{
		heed_stat hs_;
		MDB_stat ls;

		HEED_OK(heed_dbi_stat(ht, hd, &hs_));
		cr_assert_eq(mdb_stat(lt, ld, &ls), 0);
		cr_assert_eq(hs_.entries, ls.ms_entries, "step %" PRIu64 ": entries %zu, lmdb %zu",
			     step, hs_.entries, ls.ms_entries);
		cr_assert_eq(hs_.entries, n);
	}
}

/* Put both cursors on the first item (after heed's documented difference). */
static void resync(void)
{
	heed_val hk, hv_;
	MDB_val lk, lv;
	int h = heed_cursor_get(hc, &hk, &hv_, HEED_FIRST);
	int l = mdb_cursor_get(lc, &lk, &lv, MDB_FIRST);

	SAME_RC(h, l);
}

/* LMDB's LAST, and a NEXT* move that finds nothing, leave an end mark on
 * the key: until the cursor leaves it, every NEXT* move finds nothing
 * (after LAST and FIRST_DUP, NEXT misses the key's other values); heed's
 * cursor stands where it stood (README, "heed and LMDB"). LMDB's count
 * clears the mark: the stream counts after those. */
static void clear_end_mark(void)
{
	size_t hn = 0, ln = 0;
	int h, l;

	snprintf(what, sizeof(what), "count after LAST or a failed move");
	h = heed_cursor_count(hc, &hn);
	l = mdb_cursor_count(lc, &ln);
	SAME_RC(h, l);
	cr_assert_eq(hn, ln);
}

struct opmap {
	heed_cursor_op h;
	MDB_cursor_op l;
	const char *name;
	int key_out; /* both libraries return the key */
	int key_in;  /* the op takes a key (and GET_BOTH* a value) */
};

static const struct opmap ops[] = {
	{HEED_FIRST, MDB_FIRST, "FIRST", 1, 0},
	{HEED_LAST, MDB_LAST, "LAST", 1, 0},
	{HEED_NEXT, MDB_NEXT, "NEXT", 1, 0},
	{HEED_PREV, MDB_PREV, "PREV", 1, 0},
	{HEED_GET_CURRENT, MDB_GET_CURRENT, "GET_CURRENT", 1, 0},
	{HEED_SET, MDB_SET, "SET", 0, 1},
	{HEED_SET_KEY, MDB_SET_KEY, "SET_KEY", 1, 1},
	{HEED_SET_RANGE, MDB_SET_RANGE, "SET_RANGE", 1, 1},
	{HEED_FIRST_DUP, MDB_FIRST_DUP, "FIRST_DUP", 0, 0},
	{HEED_LAST_DUP, MDB_LAST_DUP, "LAST_DUP", 0, 0},
	{HEED_NEXT_DUP, MDB_NEXT_DUP, "NEXT_DUP", 1, 0},
	{HEED_PREV_DUP, MDB_PREV_DUP, "PREV_DUP", 1, 0},
	{HEED_NEXT_NODUP, MDB_NEXT_NODUP, "NEXT_NODUP", 1, 0},
	{HEED_PREV_NODUP, MDB_PREV_NODUP, "PREV_NODUP", 1, 0},
	{HEED_GET_BOTH, MDB_GET_BOTH, "GET_BOTH", 0, 2},
	{HEED_GET_BOTH_RANGE, MDB_GET_BOTH_RANGE, "GET_BOTH_RANGE", 0, 2},
};

static void cursor_op(struct rng *r, int *positioned)
{
	const struct opmap *o = &ops[rng_below(r, sizeof(ops) / sizeof(ops[0]))];
	char k[16], v[512];
	size_t klen = 0, vlen = 0;
	heed_val hk = {0, NULL}, hv_ = {0, NULL};
	MDB_val lk = {0, NULL}, lv = {0, NULL};
	unsigned int ki = 0;
	int h, l;

	/* An unpositioned cursor differs by design (README); FIRST_DUP and
	 * LAST_DUP need a positioned one in both. */
	if (!*positioned && o->h != HEED_FIRST && o->h != HEED_LAST && !o->key_in)
		return;
	if (o->key_in) {
		ki = make_key(r, k, &klen);
		hk = hv(k, klen);
		lk.mv_data = k;
		lk.mv_size = klen;
		if (o->key_in == 2) {
			make_val(r, ki, v, &vlen);
			hv_ = hv(v, vlen);
			lv.mv_data = v;
			lv.mv_size = vlen;
		}
	}
	snprintf(what, sizeof(what), "cursor %s key #%u", o->name, ki);
	h = heed_cursor_get(hc, &hk, &hv_, o->h);
	l = mdb_cursor_get(lc, &lk, &lv, o->l);
	SAME_RC(h, l);
	if (!h) {
		if (o->key_out)
			same_val("key", &hk, &lk);
		same_val("value", &hv_, &lv);
		*positioned = 1;
		if (o->h == HEED_LAST)
			clear_end_mark();
	} else if (h == HEED_NOTFOUND && !o->key_in && o->h != HEED_FIRST) {
		clear_end_mark();
	} else if (h == HEED_NOTFOUND && (o->key_in || o->h == HEED_FIRST || o->h == HEED_LAST)) {
		resync();
		*positioned = 1;
	}
}

/* The caller's orders of the custom variant, on (bytes, size): keys
 * bytewise descending; values by their last byte, then size, then bytes.
 * Both total, 0 only for equal bytes. */
static int keys_desc(const void *a, size_t an, const void *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c)
		return c < 0 ? 1 : -1;
	return an < bn ? 1 : an > bn ? -1 : 0;
}

static int vals_by_last(const void *a, size_t an, const void *b, size_t bn)
{
	int c = ((const unsigned char *)a)[an - 1] - ((const unsigned char *)b)[bn - 1];

	if (c)
		return c;
	if (an != bn)
		return an < bn ? -1 : 1;
	return memcmp(a, b, an);
}

static int h_keys(const heed_val *a, const heed_val *b)
{
	return keys_desc(a->data, a->size, b->data, b->size);
}

static int h_vals(const heed_val *a, const heed_val *b)
{
	return vals_by_last(a->data, a->size, b->data, b->size);
}

static int l_keys(const MDB_val *a, const MDB_val *b)
{
	return keys_desc(a->mv_data, a->mv_size, b->mv_data, b->mv_size);
}

static int l_vals(const MDB_val *a, const MDB_val *b)
{
	return vals_by_last(a->mv_data, a->mv_size, b->mv_data, b->mv_size);
}

/* Open "dups" of env e in txn t (creating it when create): heed's, with
 * the variant's comparators; its flags as created. */
static void heed_dups_open(heed_txn *t, int create)
{
	unsigned int f = 0;

	HEED_OK(heed_dbi_open(t, "dups", create ? HEED_CREATE | V->hflags : 0, &hd));
	if (V->custom) {
		HEED_OK(heed_set_compare(t, hd, h_keys));
		HEED_OK(heed_set_dupsort(t, hd, h_vals));
	}
	HEED_OK(heed_dbi_flags(t, hd, &f));
	cr_assert_eq(f, V->hflags, "%s: flags 0x%x, created with 0x%x", V->name, f, V->hflags);
}

static void check_report(void *arg, const char *msg)
{
	snprintf(arg, 512, "%s", msg);
}

/* heed-check on dir: the tool, which knows the orders of the flags; for
 * the caller's order, the same walk in this process, on an env where the
 * handle has the comparators. */
static void check_clean(const char *path)
{
	heed_env *e;
	heed_txn *t;
	char msg[512] = "";

	if (!V->custom) {
		HEED_CHECK_CLEAN(path);
		return;
	}
	HEED_OK(env_open_dir(&e, path, HEED_NOSYNC, 0, 1u << 30, 4));
	HEED_OK(heed_txn_begin(e, NULL, 0, &t));
	heed_dups_open(t, 0);
	HEED_OK(heed_txn_commit(t));
	cr_assert_eq(heed_env_check(e, check_report, msg, NULL), 0, "%s: %s", path, msg);
	heed_env_close(e);
}

static void run(const struct variant *vr, unsigned int nops, uint64_t seed)
{
	struct rng r = {seed};
	heed_val hk, hv_;
	MDB_val lk, lv;
	char k[16], v[512];
	size_t klen, vlen;
	unsigned int ki;
	int h, l, positioned = 0;

	V = vr;
	HEED_OK(env_open_dir(&henv, dir_h, HEED_NOSYNC, 4096, 1u << 30, 4));
	lmdb_open(1u << 30);
	HEED_OK(heed_txn_begin(henv, NULL, 0, &ht));
	cr_assert_eq(mdb_txn_begin(lenv, NULL, 0, &lt), 0);
	heed_dups_open(ht, 1);
	cr_assert_eq(mdb_dbi_open(lt, "dups", MDB_CREATE | V->lflags, &ld), 0);
	if (V->custom) {
		cr_assert_eq(mdb_set_compare(lt, ld, l_keys), 0);
		cr_assert_eq(mdb_set_dupsort(lt, ld, l_vals), 0);
	}
	HEED_OK(heed_txn_commit(ht));
	cr_assert_eq(mdb_txn_commit(lt), 0);
	begin();
	for (step = 0; step < nops; step++) {
		unsigned int pick = (unsigned)rng_below(&r, 100);

		ki = make_key(&r, k, &klen);
		make_val(&r, ki, v, &vlen);
		hk = hv(k, klen);
		lk.mv_data = k;
		lk.mv_size = klen;
		hv_ = hv(v, vlen);
		lv.mv_data = v;
		lv.mv_size = vlen;
		if (pick < 30) {
			static const unsigned int fl[] = {0, 0, HEED_NODUPDATA, HEED_NOOVERWRITE,
							  HEED_APPENDDUP};
			unsigned int f = fl[rng_below(&r, 5)];
			unsigned int mf = f == HEED_NODUPDATA	  ? MDB_NODUPDATA
					  : f == HEED_NOOVERWRITE ? MDB_NOOVERWRITE
					  : f == HEED_APPENDDUP	  ? MDB_APPENDDUP
								  : 0;

			snprintf(what, sizeof(what), "put #%u flags %x", ki, f);
			h = heed_put(ht, hd, &hk, &hv_, f);
			l = mdb_put(lt, ld, &lk, &lv, mf);
			SAME_RC(h, l);
			if (h == HEED_KEYEXIST && f == HEED_NOOVERWRITE)
				same_val("existing value", &hv_, &lv);
			positioned = 0;
			resync();
			positioned = 1;
		} else if (pick < 40) {
			int all = rng_below(&r, 4) == 0;

			snprintf(what, sizeof(what), "del #%u%s", ki, all ? " all" : "");
			h = heed_del(ht, hd, &hk, all ? NULL : &hv_);
			l = mdb_del(lt, ld, &lk, all ? NULL : &lv);
			SAME_RC(h, l);
			resync();
			positioned = 1;
		} else if (pick < 45) {
			snprintf(what, sizeof(what), "get #%u", ki);
			h = heed_get(ht, hd, &hk, &hv_);
			l = mdb_get(lt, ld, &lk, &lv);
			SAME_RC(h, l);
			if (!h)
				same_val("get value", &hv_, &lv);
		} else if (pick < 80) {
			cursor_op(&r, &positioned);
		} else if (pick < 87) {
			unsigned int f = rng_below(&r, 2) ? HEED_NODUPDATA : 0;

			snprintf(what, sizeof(what), "cursor put #%u flags %x", ki, f);
			h = heed_cursor_put(hc, &hk, &hv_, f);
			l = mdb_cursor_put(lc, &lk, &lv, f ? MDB_NODUPDATA : 0);
			SAME_RC(h, l);
			if (!h || h == HEED_KEYEXIST) {
				snprintf(what, sizeof(what), "GET_CURRENT after cursor put #%u",
					 ki);
				h = heed_cursor_get(hc, &hk, &hv_, HEED_GET_CURRENT);
				l = mdb_cursor_get(lc, &lk, &lv, MDB_GET_CURRENT);
				SAME_RC(h, l);
				if (!h) {
					same_val("key", &hk, &lk);
					same_val("value", &hv_, &lv);
				}
				positioned = 1;
			}
		} else if (pick < 92) {
			unsigned int f = rng_below(&r, 3) == 0 ? HEED_NODUPDATA : 0;
			size_t hn = 0, ln = 0;

			if (!positioned)
				continue;
			snprintf(what, sizeof(what), "count before cursor del");
			h = heed_cursor_count(hc, &hn);
			l = mdb_cursor_count(lc, &ln);
			SAME_RC(h, l);
			snprintf(what, sizeof(what), "cursor del flags %x", f);
			h = heed_cursor_del(hc, f);
			l = mdb_cursor_del(lc, f ? MDB_NODUPDATA : 0);
			SAME_RC(h, l);
			if (!h && (f || hn == 1)) {
				/* The whole key went: LMDB's NEXT then skips the
				 * next key's first value when it has several
				 * (README, "heed and LMDB"). */
				resync();
				continue;
			}
			snprintf(what, sizeof(what), "NEXT after cursor del flags %x", f);
			h = heed_cursor_get(hc, &hk, &hv_, HEED_NEXT);
			l = mdb_cursor_get(lc, &lk, &lv, MDB_NEXT);
			SAME_RC(h, l);
			if (!h) {
				same_val("key", &hk, &lk);
				same_val("value", &hv_, &lv);
			} else if (h == HEED_NOTFOUND) {
				/* LMDB's cursor keeps a deleted mark on its
				 * key's values: after FIRST_DUP its NEXT stays
				 * and returns the first value twice (README). */
				resync();
			}
		} else if (pick < 95) {
			size_t hn = 0, ln = 0;

			if (!positioned)
				continue;
			snprintf(what, sizeof(what), "count");
			h = heed_cursor_count(hc, &hn);
			l = mdb_cursor_count(lc, &ln);
			SAME_RC(h, l);
			if (!h)
				cr_assert_eq(hn, ln, "step %" PRIu64 ": count %zu, lmdb %zu", step,
					     hn, ln);
		} else if (pick < 99) {
			if (pick == 98)
				scan_both();
			end(pick != 97);
			begin();
			positioned = 0;
		} else if (rng_below(&r, 8) == 0) {
			/* Emptied, the db stays DUPSORT. */
			snprintf(what, sizeof(what), "drop 0");
			h = heed_drop(ht, hd, 0);
			l = mdb_drop(lt, ld, 0);
			SAME_RC(h, l);
			resync();
		} else {
			scan_both();
		}
	}
	scan_both();
	end(1);
	/* A compacted copy holds the same values (its value trees renumbered);
	 * reopened, the db has the flags it was created with. */
	HEED_OK(heed_env_copy2(henv, dir_c, HEED_CP_COMPACT));
	heed_env_close(henv);
	check_clean(dir_h);
	check_clean(dir_c);
	HEED_OK(env_open_dir(&henv, dir_c, HEED_NOSYNC, 0, 1u << 30, 4));
	HEED_OK(heed_txn_begin(henv, NULL, 0, &ht));
	cr_assert_eq(mdb_txn_begin(lenv, NULL, 0, &lt), 0);
	heed_dups_open(ht, 0);
	scan_both();
	heed_txn_abort(ht);
	mdb_txn_abort(lt);
	heed_env_close(henv);
	mdb_env_close(lenv);
}

Test(lmdb_dups, random_ops, .init = setup, .fini = teardown, .timeout = 300)
{
	run(&plain, 300000, test_seed("lmdb_dups random_ops"));
}

/* The stream on each order, LMDB's comparators against heed's. */
static const struct variant orders[] = {
	{"INTEGERKEY size_t, INTEGERDUP unsigned int",
	 HEED_DUPSORT | HEED_INTEGERKEY | HEED_INTEGERDUP,
	 MDB_DUPSORT | MDB_INTEGERKEY | MDB_INTEGERDUP, ENC_U64, ENC_U32, 2000, 0},
	{"INTEGERKEY unsigned int, DUPFIXED INTEGERDUP size_t",
	 HEED_DUPSORT | HEED_DUPFIXED | HEED_INTEGERKEY | HEED_INTEGERDUP,
	 MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERKEY | MDB_INTEGERDUP, ENC_U32, ENC_U64, 2000, 0},
	{"REVERSEKEY, REVERSEDUP", HEED_DUPSORT | HEED_REVERSEKEY | HEED_REVERSEDUP,
	 MDB_DUPSORT | MDB_REVERSEKEY | MDB_REVERSEDUP, ENC_STR, ENC_STR, 2000, 0},
	{"set_compare, set_dupsort", HEED_DUPSORT, MDB_DUPSORT, ENC_STR, ENC_STR, 2000, 1},
};

Test(lmdb_dups, orders, .init = setup, .fini = teardown, .timeout = 300)
{
	uint64_t seed = test_seed("lmdb_dups orders");
	size_t i;

	for (i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		fprintf(stderr, "lmdb_dups orders: %s\n", orders[i].name);
		run(&orders[i], 60000, seed + i);
		teardown();
		setup();
	}
}

/* 200,000 values of one key, put in random order: a tree of values (pages
 * in the db's counts, not one huge node), found by GET_BOTH, counted,
 * scanned in order, half deleted; equal to LMDB's at each step. */
/* The output of heed-stat -a on dir_h (it must succeed). */
static void stat_all(char *out, size_t outsize)
{
	char cmd[1200], bin[512];
	size_t got;
	FILE *f;

	snprintf(bin, sizeof(bin), "%s", heed_check_path());
	snprintf(cmd, sizeof(cmd), "%s/heed-stat -a %s", dirname(bin), dir_h);
	f = popen(cmd, "r");
	cr_assert_not_null(f, "%s", cmd);
	got = fread(out, 1, outsize - 1, f);
	out[got] = 0;
	cr_assert_eq(pclose(f), 0, "%s: %s", cmd, out);
}

Test(lmdb_dups, many_values_of_one_key, .init = setup, .fini = teardown, .timeout = 300)
{
	struct rng r = {test_seed("lmdb_dups many_values_of_one_key")};
	const unsigned int n = 200000;
	unsigned int i, *perm = malloc(n * sizeof(*perm));
	unsigned char v[8];
	heed_val hk = hs("key"), hv_;
	MDB_val lk = {3, "key"}, lv;
	heed_stat st;
	size_t hn = 0, ln = 0;
	int h, l;

	cr_assert_not_null(perm);
	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = n - 1; i > 0; i--) {
		unsigned int j = (unsigned)rng_below(&r, i + 1), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	HEED_OK(env_open_dir(&henv, dir_h, HEED_NOSYNC, 4096, 1u << 30, 4));
	lmdb_open(1u << 30);
	HEED_OK(heed_txn_begin(henv, NULL, 0, &ht));
	cr_assert_eq(mdb_txn_begin(lenv, NULL, 0, &lt), 0);
	HEED_OK(heed_dbi_open(ht, "dups", HEED_CREATE | HEED_DUPSORT, &hd));
	cr_assert_eq(mdb_dbi_open(lt, "dups", MDB_CREATE | MDB_DUPSORT, &ld), 0);
	snprintf(what, sizeof(what), "put");
	for (i = 0; i < n; i++) {
		uint64_t be = __builtin_bswap64(perm[i]);

		memcpy(v, &be, 8);
		hv_ = hv(v, 8);
		lv.mv_size = 8;
		lv.mv_data = v;
		h = heed_put(ht, hd, &hk, &hv_, HEED_NODUPDATA);
		l = mdb_put(lt, ld, &lk, &lv, MDB_NODUPDATA);
		SAME_RC(h, l);
	}
	HEED_OK(heed_txn_commit(ht));
	cr_assert_eq(mdb_txn_commit(lt), 0);
	begin();
	HEED_OK(heed_dbi_stat(ht, hd, &st));
	cr_assert_eq(st.entries, n);
	/* 200,000 values of 8 bytes take over a thousand leaf pages. */
	cr_assert_gt(st.leaf_pages, 1000, "%zu leaf pages", st.leaf_pages);
	cr_assert_gt(st.branch_pages, 1);
	snprintf(what, sizeof(what), "SET_KEY, count");
	cr_assert_eq(heed_cursor_get(hc, &hk, &hv_, HEED_SET_KEY), 0);
	cr_assert_eq(mdb_cursor_get(lc, &lk, &lv, MDB_SET_KEY), 0);
	HEED_OK(heed_cursor_count(hc, &hn));
	cr_assert_eq(mdb_cursor_count(lc, &ln), 0);
	cr_assert_eq(hn, n);
	cr_assert_eq(ln, n);
	for (i = 0; i < 2000; i++) {
		uint64_t x = rng_below(&r, n + 100), be = __builtin_bswap64(x);
		heed_val key = hk;
		MDB_val lkey = lk;

		memcpy(v, &be, 8);
		hv_ = hv(v, 8);
		lv.mv_size = 8;
		lv.mv_data = v;
		snprintf(what, sizeof(what), "GET_BOTH %" PRIu64, x);
		h = heed_cursor_get(hc, &key, &hv_, HEED_GET_BOTH);
		l = mdb_cursor_get(lc, &lkey, &lv, MDB_GET_BOTH);
		SAME_RC(h, l);
		cr_assert_eq(h, x < n ? 0 : HEED_NOTFOUND);
	}
	scan_both();
	snprintf(what, sizeof(what), "del");
	for (i = 0; i < n; i += 2) {
		uint64_t be = __builtin_bswap64(perm[i]);

		memcpy(v, &be, 8);
		hv_ = hv(v, 8);
		lv.mv_size = 8;
		lv.mv_data = v;
		h = heed_del(ht, hd, &hk, &hv_);
		l = mdb_del(lt, ld, &lk, &lv);
		SAME_RC(h, l);
		cr_assert_eq(h, 0);
	}
	scan_both();
	end(1);
	heed_env_close(henv);
	mdb_env_close(lenv);
	free(perm);
	HEED_CHECK_CLEAN(dir_h);
	{
		/* heed-stat -a names the flag and counts keys and values. */
		char out[4096];

		stat_all(out, sizeof(out));
		cr_assert(strstr(out, "Status of dups\n") &&
				  strstr(out, "  Entries: 100000\n  Flags: DUPSORT\n  Keys: 1\n"
					      "  Most values of a key: 100000\n"),
			  "heed-stat -a said:\n%s", out);
	}
}

/* ---- the DUPSORT rows of core/README.md's "heed and LMDB" table: each
 * runs on both libraries and asserts both columns ---- */

static void open_both(unsigned int hflags, unsigned int lflags)
{
	HEED_OK(env_open_dir(&henv, dir_h, HEED_NOSYNC, 4096, 1u << 30, 4));
	lmdb_open(0);
	HEED_OK(heed_txn_begin(henv, NULL, 0, &ht));
	cr_assert_eq(mdb_txn_begin(lenv, NULL, 0, &lt), 0);
	HEED_OK(heed_dbi_open(ht, "d", HEED_CREATE | hflags, &hd));
	cr_assert_eq(mdb_dbi_open(lt, "d", MDB_CREATE | lflags, &ld), 0);
	HEED_OK(heed_cursor_open(ht, hd, &hc));
	cr_assert_eq(mdb_cursor_open(lt, ld, &lc), 0);
}

static void close_both(void)
{
	end(1);
	heed_env_close(henv);
	mdb_env_close(lenv);
}

/* Put "k=v1,v2,..." in both; each put must succeed in both. */
static void put_both(const char *k, const char *vals)
{
	char buf[64], *save = NULL, *v;

	snprintf(buf, sizeof(buf), "%s", vals);
	for (v = strtok_r(buf, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
		heed_val hk = hs(k), hv_ = hs(v);
		MDB_val lk = {strlen(k), (void *)k}, lv = {strlen(v), v};

		HEED_OK(heed_put(ht, hd, &hk, &hv_, 0));
		cr_assert_eq(mdb_put(lt, ld, &lk, &lv, 0), 0);
	}
}

/* Put n values of 200 bytes under k, "000xxx..." up: enough for LMDB to
 * move them from a sub-page of the key's node to a sub-database. */
static void put_long(const char *k, unsigned int n)
{
	char v[200];
	unsigned int i;

	memset(v, 'x', sizeof(v));
	for (i = 0; i < n; i++) {
		heed_val hk = hs(k), hv_ = hv(v, sizeof(v));
		MDB_val lk = {strlen(k), (void *)k}, lv = {sizeof(v), v};

		v[0] = (char)('0' + i / 100);
		v[1] = (char)('0' + i / 10 % 10);
		v[2] = (char)('0' + i % 10);
		HEED_OK(heed_put(ht, hd, &hk, &hv_, 0));
		cr_assert_eq(mdb_put(lt, ld, &lk, &lv, 0), 0);
	}
}

/* A cursor op on each side, as "key/value", "value" (data only) or a code. */
static void op_both(heed_cursor_op hop, MDB_cursor_op lop, char *hout, char *lout)
{
	heed_val hk = {0, NULL}, hv_ = {0, NULL};
	MDB_val lk = {0, NULL}, lv = {0, NULL};
	int h = heed_cursor_get(hc, &hk, &hv_, hop), l = mdb_cursor_get(lc, &lk, &lv, lop);

	if (h)
		snprintf(hout, 64, "%d", h);
	else
		snprintf(hout, 64, "%.*s", (int)(hv_.size > 3 ? 3 : hv_.size), (char *)hv_.data);
	if (l)
		snprintf(lout, 64, "%d", l);
	else
		snprintf(lout, 64, "%.*s", (int)(lv.mv_size > 3 ? 3 : lv.mv_size),
			 (char *)lv.mv_data);
}

#define BOTH(hop, lop, hwant, lwant)                                                               \
	do {                                                                                       \
		char h_[64], l_[64];                                                               \
		op_both(hop, lop, h_, l_);                                                         \
		cr_assert_str_eq(h_, hwant, "heed %s: %s, expected %s", #hop, h_, hwant);          \
		cr_assert_str_eq(l_, lwant, "lmdb %s: %s, expected %s", #lop, l_, lwant);          \
	} while (0)

#define NF "-30798"

Test(lmdb_dups, empty_value, .init = setup, .fini = teardown)
{
	heed_val hk = hs("a"), hv_ = {0, ""};
	MDB_val lk = {1, "a"}, lv = {0, ""};

	open_both(HEED_DUPSORT, MDB_DUPSORT);
	HEED_RC(heed_put(ht, hd, &hk, &hv_, 0), HEED_BAD_VALSIZE);
	cr_assert_eq(mdb_put(lt, ld, &lk, &lv, 0), 0);
	close_both();
}

Test(lmdb_dups, dup_ops_without_dupsort, .init = setup, .fini = teardown)
{
	open_both(0, 0);
	put_both("a", "1");
	put_both("b", "2");
	BOTH(HEED_FIRST, MDB_FIRST, "1", "1");
	BOTH(HEED_NEXT_DUP, MDB_NEXT_DUP, "-30784", "2");
	BOTH(HEED_FIRST_DUP, MDB_FIRST_DUP, "-30784", "-30784");
	close_both();
}

Test(lmdb_dups, end_mark_after_last, .init = setup, .fini = teardown)
{
	open_both(HEED_DUPSORT, MDB_DUPSORT);
	put_both("a", "1,2,3");
	BOTH(HEED_LAST, MDB_LAST, "3", "3");
	BOTH(HEED_FIRST_DUP, MDB_FIRST_DUP, "1", "1");
	BOTH(HEED_NEXT, MDB_NEXT, "2", NF);
	close_both();
}

Test(lmdb_dups, first_dup_after_deleting_the_last_value, .init = setup, .fini = teardown)
{
	open_both(HEED_DUPSORT, MDB_DUPSORT);
	put_long("a", 40);
	BOTH(HEED_LAST, MDB_LAST, "039", "039");
	clear_end_mark();
	HEED_OK(heed_cursor_del(hc, 0));
	cr_assert_eq(mdb_cursor_del(lc, 0), 0);
	BOTH(HEED_NEXT, MDB_NEXT, NF, NF);
	clear_end_mark();
	BOTH(HEED_FIRST_DUP, MDB_FIRST_DUP, "000", "000");
	BOTH(HEED_NEXT, MDB_NEXT, "001", "000");
	close_both();
}

/* DUPFIXED: 8-byte values under 5 keys, put one by one and by HEED_MULTIPLE
 * batches, some deleted; each key's values read back by GET_MULTIPLE and
 * NEXT_MULTIPLE are LMDB's, byte for byte (the chunks differ: LMDB's are
 * its pages), and PREV_MULTIPLE from the end gives them again. */
Test(lmdb_dups, dupfixed_multiple, .init = setup, .fini = teardown, .timeout = 120)
{
	struct rng r = {test_seed("lmdb_dups dupfixed_multiple")};
	static unsigned char batch[8 * 700], hall[8 * 20000], lall[8 * 20000], rall[8 * 20000];
	char k[8];
	int h, l;

	open_both(HEED_DUPSORT | HEED_DUPFIXED, MDB_DUPSORT | MDB_DUPFIXED);
	for (step = 0; step < 4000; step++) {
		unsigned int op = (unsigned)rng_below(&r, 10), n = 1 + (unsigned)rng_below(&r, 700);
		heed_val hk, hv_;
		MDB_val lk, lv;

		snprintf(k, sizeof(k), "k%u", (unsigned)rng_below(&r, 5));
		hk = hs(k);
		lk.mv_size = strlen(k);
		lk.mv_data = k;
		for (unsigned int i = 0; i < n; i++) {
			uint64_t x = __builtin_bswap64(rng_below(&r, 5000));
			memcpy(batch + 8 * i, &x, 8);
		}
		if (op < 5) {
			hv_ = hv(batch, 8);
			lv.mv_size = 8;
			lv.mv_data = batch;
			snprintf(what, sizeof(what), "put %s", k);
			h = heed_put(ht, hd, &hk, &hv_, op & 1 ? HEED_NODUPDATA : 0);
			l = mdb_put(lt, ld, &lk, &lv, op & 1 ? MDB_NODUPDATA : 0);
			SAME_RC(h, l);
		} else if (op < 7) {
			heed_val hm[2] = {{8, batch}, {n, NULL}};
			MDB_val lm[2] = {{8, batch}, {n, NULL}};

			snprintf(what, sizeof(what), "put MULTIPLE %s x%u", k, n);
			h = heed_cursor_put(hc, &hk, hm, HEED_MULTIPLE);
			l = mdb_cursor_put(lc, &lk, lm, MDB_MULTIPLE);
			SAME_RC(h, l);
			cr_assert_eq(hm[1].size, lm[1].mv_size,
				     "step %" PRIu64 ": %zu stored, lmdb %zu", step, hm[1].size,
				     lm[1].mv_size);
		} else if (op < 9) {
			hv_ = hv(batch, 8);
			lv.mv_size = 8;
			lv.mv_data = batch;
			snprintf(what, sizeof(what), "del %s", k);
			h = heed_del(ht, hd, &hk, &hv_);
			l = mdb_del(lt, ld, &lk, &lv);
			SAME_RC(h, l);
		} else {
			/* Every key's values, by chunks. */
			for (unsigned int key = 0; key < 5; key++) {
				size_t hn = 0, ln = 0, rn = 0, lastn = 0;

				snprintf(k, sizeof(k), "k%u", key);
				hk = hs(k);
				lk.mv_size = strlen(k);
				lk.mv_data = k;
				snprintf(what, sizeof(what), "SET %s", k);
				h = heed_cursor_get(hc, &hk, &hv_, HEED_SET);
				l = mdb_cursor_get(lc, &lk, &lv, MDB_SET);
				SAME_RC(h, l);
				if (h)
					continue;
				snprintf(what, sizeof(what), "GET_MULTIPLE %s", k);
				h = heed_cursor_get(hc, &hk, &hv_, HEED_GET_MULTIPLE);
				l = mdb_cursor_get(lc, &lk, &lv, MDB_GET_MULTIPLE);
				SAME_RC(h, l);
				while (!h) {
					cr_assert(hv_.size % 8 == 0 && hv_.size &&
						  hn + hv_.size <= sizeof(hall));
					memcpy(hall + hn, hv_.data, hv_.size);
					hn += hv_.size;
					lastn = hv_.size;
					h = heed_cursor_get(hc, &hk, &hv_, HEED_NEXT_MULTIPLE);
				}
				cr_assert_eq(h, HEED_NOTFOUND);
				/* On a key of one value LMDB's GET_MULTIPLE succeeds and
				 * leaves data as SET left it: that value. */
				while (!l) {
					memcpy(lall + ln, lv.mv_data, lv.mv_size);
					ln += lv.mv_size;
					l = mdb_cursor_get(lc, &lk, &lv, MDB_NEXT_MULTIPLE);
				}
				cr_assert(hn == ln && !memcmp(hall, lall, hn),
					  "step %" PRIu64 " key %s: %zu bytes by chunks, lmdb %zu",
					  step, k, hn, ln);
				/* Backwards from the last chunk: the bytes before it. */
				for (h = heed_cursor_get(hc, &hk, &hv_, HEED_PREV_MULTIPLE); !h;
				     h = heed_cursor_get(hc, &hk, &hv_, HEED_PREV_MULTIPLE)) {
					cr_assert(rn + hv_.size <= hn - lastn);
					memcpy(rall + hn - lastn - rn - hv_.size, hv_.data,
					       hv_.size);
					rn += hv_.size;
				}
				cr_assert_eq(h, HEED_NOTFOUND);
				cr_assert(rn == hn - lastn && !memcmp(rall, hall, rn),
					  "key %s: PREV_MULTIPLE gave %zu bytes of %zu, or others",
					  k, rn, hn - lastn);
			}
			resync();
		}
	}
	scan_both();
	close_both();
	HEED_CHECK_CLEAN(dir_h);
}

/* DUPFIXED: another size under a key is refused and the txn goes on; the
 * MULTIPLE ops are refused on a db without DUPFIXED, DUPFIXED without
 * DUPSORT too. */
Test(lmdb_dups, dupfixed_refusals, .init = setup, .fini = teardown)
{
	heed_val k = hs("a"), v4 = hs("abcd"), v5 = hs("abcde"), v;
	heed_cursor *c;
	heed_dbi plain;

	open_both(HEED_DUPSORT | HEED_DUPFIXED, MDB_DUPSORT | MDB_DUPFIXED);
	HEED_OK(heed_put(ht, hd, &k, &v4, 0));
	HEED_RC(heed_put(ht, hd, &k, &v5, 0), HEED_BAD_VALSIZE);
	v5.size = 4;
	v5.data = "abce";
	HEED_OK(heed_put(ht, hd, &k, &v5, 0));
	HEED_RC(heed_dbi_open(ht, "f", HEED_CREATE | HEED_DUPFIXED, &plain), EINVAL);
	HEED_RC(heed_dbi_open(ht, NULL, HEED_DUPSORT, &plain), EINVAL);
	HEED_OK(heed_dbi_open(ht, "p", HEED_CREATE | HEED_DUPSORT, &plain));
	HEED_OK(heed_cursor_open(ht, plain, &c));
	HEED_OK(heed_put(ht, plain, &k, &v4, 0));
	HEED_OK(heed_cursor_get(c, &k, &v, HEED_FIRST));
	HEED_RC(heed_cursor_get(c, &k, &v, HEED_GET_MULTIPLE), HEED_INCOMPATIBLE);
	{
		heed_val m[2] = {{4, "abcd"}, {1, NULL}};
		HEED_RC(heed_cursor_put(c, &k, m, HEED_MULTIPLE), HEED_INCOMPATIBLE);
	}
	close_both();
	HEED_CHECK_CLEAN(dir_h);
}

/* ---- the orders' rows of core/README.md's "heed and LMDB" table ---- */

/* Put size_t key x in both (APPEND or not): both codes, which must agree. */
static int put_num(uint64_t x, unsigned int hflags, unsigned int lflags)
{
	size_t n = (size_t)x;
	heed_val hk = hv(&n, sizeof(n)), hv_ = hs("v");
	MDB_val lk = {sizeof(n), &n}, lv = {1, "v"};
	int h = heed_put(ht, hd, &hk, &hv_, hflags), l = mdb_put(lt, ld, &lk, &lv, lflags);

	snprintf(what, sizeof(what), "put %" PRIu64 " flags %x", x, hflags);
	SAME_RC(h, l);
	return h;
}

/* A native unsigned int or size_t key as decimal, "/4" after one of 4 bytes. */
static size_t num_text(char *out, size_t len, const void *k, size_t klen, int first)
{
	uint64_t x = 0;

	memcpy(&x, k, klen < 8 ? klen : 8);
	return (size_t)snprintf(out, len, "%s%" PRIu64 "%s", first ? "" : " ", x,
				klen == 4 ? "/4" : "");
}

/* The keys of both dbs in their order ("1 2 256"). */
static void scan_nums(char *hout, char *lout, size_t len)
{
	heed_val hk, hv_;
	MDB_val lk, lv;
	size_t hu = 0, lu = 0;
	int first;

	hout[0] = lout[0] = 0;
	for (first = 1; !heed_cursor_get(hc, &hk, &hv_, first ? HEED_FIRST : HEED_NEXT); first = 0)
		hu += num_text(hout + hu, len - hu, hk.data, hk.size, first);
	for (first = 1; !mdb_cursor_get(lc, &lk, &lv, first ? MDB_FIRST : MDB_NEXT); first = 0)
		lu += num_text(lout + lu, len - lu, lk.mv_data, lk.mv_size, first);
}

static int h_bytes(const heed_val *a, const heed_val *b)
{
	int c = memcmp(a->data, b->data, a->size < b->size ? a->size : b->size);

	return c ? c : (a->size > b->size) - (a->size < b->size);
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

/* INTEGERKEY: keys in numeric order, APPEND checked in it, heed_cmp equal
 * to mdb_cmp; a key of another size than an unsigned int or a size_t is
 * HEED_BAD_VALSIZE (LMDB does not check: its compare reads past the
 * shorter key) and the txn goes on; the flag holds after a reopen. */
Test(lmdb_dups, integerkey, .init = setup, .fini = teardown)
{
	char hs_[256], ls_[256], three[3] = {1, 2, 3};
	size_t a = 256, b = 2;
	heed_val ha = hv(&a, sizeof(a)), hb = hv(&b, sizeof(b)), h3 = hv(three, 3), v, key;
	MDB_val la = {sizeof(a), &a}, lb = {sizeof(b), &b};
	unsigned int f = 0;

	open_both(HEED_INTEGERKEY, MDB_INTEGERKEY);
	/* Into the empty db, where an APPEND compares with nothing. */
	HEED_RC(heed_put(ht, hd, &h3, &ha, HEED_APPEND), HEED_BAD_VALSIZE);
	cr_assert_eq(put_num(1, HEED_APPEND, MDB_APPEND), 0);
	cr_assert_eq(put_num(2, HEED_APPEND, MDB_APPEND), 0);
	cr_assert_eq(put_num(256, HEED_APPEND, MDB_APPEND), 0);
	cr_assert_eq(put_num(65536, HEED_APPEND, MDB_APPEND), 0);
	cr_assert_eq(put_num(3, HEED_APPEND, MDB_APPEND), HEED_KEYEXIST);
	cr_assert_eq(put_num(3, 0, 0), 0);
	scan_nums(hs_, ls_, sizeof(hs_));
	cr_assert_str_eq(hs_, "1 2 3 256 65536");
	cr_assert_str_eq(ls_, hs_);
	cr_assert_eq(sign(heed_cmp(ht, hd, &ha, &hb)), 1);
	cr_assert_eq(sign(heed_cmp(ht, hd, &ha, &hb)), sign(mdb_cmp(lt, ld, &la, &lb)));
	cr_assert_eq(sign(heed_cmp(ht, hd, &hb, &ha)), sign(mdb_cmp(lt, ld, &lb, &la)));
	cr_assert_eq(heed_cmp(ht, hd, &ha, &ha), 0);
	HEED_RC(heed_put(ht, hd, &h3, &ha, 0), HEED_BAD_VALSIZE);
	HEED_RC(heed_put(ht, hd, &h3, &ha, HEED_APPEND), HEED_BAD_VALSIZE);
	HEED_RC(heed_get(ht, hd, &h3, &v), HEED_BAD_VALSIZE);
	HEED_RC(heed_del(ht, hd, &h3, NULL), HEED_BAD_VALSIZE);
	HEED_RC(heed_cursor_get(hc, &h3, &v, HEED_SET_RANGE), HEED_BAD_VALSIZE);
	HEED_RC(heed_cursor_put(hc, &h3, &ha, 0), HEED_BAD_VALSIZE);
	cr_assert_eq(put_num(4, 0, 0), 0); /* the txn goes on */
	/* The main db keeps heed's own order: no order flags, no comparator. */
	HEED_RC(heed_dbi_open(ht, NULL, HEED_INTEGERKEY, &f), EINVAL);
	HEED_RC(heed_set_compare(ht, 0, NULL), EINVAL);
	close_both();
	HEED_CHECK_CLEAN(dir_h);
	HEED_OK(env_open_dir(&henv, dir_h, HEED_NOSYNC, 0, 1u << 30, 4));
	HEED_OK(heed_txn_begin(henv, NULL, HEED_RDONLY, &ht));
	HEED_OK(heed_dbi_open(ht, "d", 0, &hd));
	HEED_OK(heed_dbi_flags(ht, hd, &f));
	cr_assert_eq(f, HEED_INTEGERKEY);
	HEED_OK(heed_cursor_open(ht, hd, &hc));
	HEED_OK(heed_cursor_get(hc, &key, &v, HEED_LAST));
	cr_assert_eq(key.size, sizeof(a));
	memcpy(&a, key.data, sizeof(a));
	cr_assert_eq(a, 65536, "the last key after a reopen: %zu", a);
	heed_txn_abort(ht);
	heed_env_close(henv);
}

/* Flags: INTEGERDUP or REVERSEDUP without DUPSORT are EINVAL (LMDB ignores
 * them, as DUPFIXED); REVERSEKEY wins over INTEGERKEY, as in LMDB; an
 * INTEGERDUP value of 5 bytes is HEED_BAD_VALSIZE; heed_dcmp is mdb_dcmp,
 * APPENDDUP follows INTEGERDUP's order; heed_set_compare(NULL) goes back to
 * the flags' order. */
Test(lmdb_dups, order_flags, .init = setup, .fini = teardown)
{
	char hs_[256], ls_[256];
	uint32_t x = 256, y = 2;
	heed_val hx = hv(&x, 4), hy = hv(&y, 4), k = hs("k"), five = hs("abcde");
	MDB_val lx = {4, &x}, ly = {4, &y};
	heed_dbi other;

	open_both(HEED_DUPSORT | HEED_INTEGERDUP, MDB_DUPSORT | MDB_INTEGERDUP);
	HEED_RC(heed_dbi_open(ht, "e", HEED_CREATE | HEED_INTEGERDUP, &other), EINVAL);
	HEED_RC(heed_dbi_open(ht, "e", HEED_CREATE | HEED_REVERSEDUP, &other), EINVAL);
	cr_assert_eq(sign(heed_dcmp(ht, hd, &hx, &hy)), 1);
	cr_assert_eq(sign(heed_dcmp(ht, hd, &hx, &hy)), sign(mdb_dcmp(lt, ld, &lx, &ly)));
	HEED_RC(heed_put(ht, hd, &k, &five, 0), HEED_BAD_VALSIZE);
	HEED_OK(heed_put(ht, hd, &k, &hx, 0));
	/* 2 sorts before 256 as a number (bytewise after: 02 00 > 00 01). */
	HEED_RC(heed_put(ht, hd, &k, &hy, HEED_APPENDDUP), HEED_KEYEXIST);
	HEED_OK(heed_set_dupsort(ht, hd, h_bytes));
	cr_assert_eq(sign(heed_dcmp(ht, hd, &hx, &hy)), -1);
	HEED_OK(heed_set_dupsort(ht, hd, NULL));
	cr_assert_eq(sign(heed_dcmp(ht, hd, &hx, &hy)), 1);
	HEED_OK(heed_dbi_open(ht, "ik", HEED_CREATE | HEED_INTEGERKEY, &other));
	cr_assert_eq(sign(heed_cmp(ht, other, &hx, &hy)), 1);
	HEED_OK(heed_set_compare(ht, other, h_bytes));
	cr_assert_eq(sign(heed_cmp(ht, other, &hx, &hy)), -1);
	HEED_OK(heed_set_compare(ht, other, NULL));
	cr_assert_eq(sign(heed_cmp(ht, other, &hx, &hy)), 1);
	close_both();
	/* REVERSEKEY | INTEGERKEY: keys compared from their last byte. */
	tmpdir_remove(dir_h);
	tmpdir_remove(dir_l);
	setup();
	open_both(HEED_REVERSEKEY | HEED_INTEGERKEY, MDB_REVERSEKEY | MDB_INTEGERKEY);
	cr_assert_eq(put_num(1, 0, 0), 0);
	cr_assert_eq(put_num(256, 0, 0), 0);
	{
		/* 5 as an unsigned int, 05 00 00 00: from the end, its 05
		 * meets byte 4 of a size_t, 00 for 1 and 256, so it sorts
		 * after both; as numbers it would sort between them. */
		heed_val h5 = hv(&x, 4), one = hs("v");
		MDB_val l5 = {4, &x}, lone = {1, "v"};

		x = 5;
		HEED_OK(heed_put(ht, hd, &h5, &one, 0));
		cr_assert_eq(mdb_put(lt, ld, &l5, &lone, 0), 0);
	}
	scan_nums(hs_, ls_, sizeof(hs_));
	cr_assert_str_eq(hs_, "1 256 5/4");
	cr_assert_str_eq(ls_, hs_);
	close_both();
	HEED_CHECK_CLEAN(dir_h);
}
/* HEED_RESERVE in a DUPSORT db: heed refuses it (a value must be known to
 * be placed among the key's values); LMDB's docs forbid it, 0.9.24 takes
 * it and stores a value (what bytes is not said). Nothing is stored in heed. */
Test(lmdb_dups, reserve_refused, .init = setup, .fini = teardown)
{
	heed_val hk = hs("a"), hv_ = {3, NULL};
	MDB_val lk = {1, "a"}, lv = {3, "xyz"};

	open_both(HEED_DUPSORT, MDB_DUPSORT);
	HEED_RC(heed_put(ht, hd, &hk, &hv_, HEED_RESERVE), EINVAL);
	HEED_RC(heed_cursor_put(hc, &hk, &hv_, HEED_RESERVE), EINVAL);
	cr_assert_eq(mdb_put(lt, ld, &lk, &lv, MDB_RESERVE), 0);
	cr_assert_eq(mdb_cursor_put(lc, &lk, &lv, MDB_RESERVE), 0);
	HEED_RC(heed_cursor_get(hc, &hk, &hv_, HEED_FIRST), HEED_NOTFOUND);
	cr_assert_eq(mdb_cursor_get(lc, &lk, &lv, MDB_FIRST), 0);
	close_both();
	HEED_CHECK_CLEAN(dir_h);
}

/* heed-stat -a: each named db's flags by name (none for a plain db), and a
 * DUPSORT db's keys beside its entries, which count values. */
Test(lmdb_dups, heed_stat_flags_and_keys, .init = setup, .fini = teardown)
{
	static const struct {
		const char *name;
		unsigned int flags;
		const char *vals[3]; /* of keys a, b, c; "" none */
		const char *want;
	} dbs[] = {
		{"fixed",
		 HEED_DUPSORT | HEED_DUPFIXED,
		 {"1,2,3", "4", "5,6"},
		 "Status of fixed\n  Tree depth: 1\n  Branch pages: 0\n  Leaf pages: 1\n"
		 "  Overflow pages: 0\n  Entries: 6\n  Flags: DUPSORT DUPFIXED\n  Keys: 3\n"
		 "  Most values of a key: 3\n"},
		{"plain",
		 0,
		 {"1", "2", ""},
		 "Status of plain\n  Tree depth: 1\n  Branch pages: 0\n  Leaf pages: 1\n"
		 "  Overflow pages: 0\n  Entries: 2\nStatus of "},
		{"reversed",
		 HEED_DUPSORT | HEED_REVERSEKEY | HEED_REVERSEDUP,
		 {"x,y", "", ""},
		 "Status of reversed\n  Tree depth: 1\n  Branch pages: 0\n  Leaf pages: 1\n"
		 "  Overflow pages: 0\n  Entries: 2\n  Flags: REVERSEKEY DUPSORT REVERSEDUP\n"
		 "  Keys: 1\n  Most values of a key: 2\n"},
		{"sorted",
		 HEED_DUPSORT,
		 {"x,yy", "", "z"},
		 "Status of sorted\n  Tree depth: 1\n  Branch pages: 0\n  Leaf pages: 1\n"
		 "  Overflow pages: 0\n  Entries: 3\n  Flags: DUPSORT\n  Keys: 2\n"
		 "  Most values of a key: 2\n"},
	};
	char out[4096], key[2] = "a", buf[16], *save, *v;
	heed_txn *txn;
	heed_dbi dbi;
	size_t i, j;

	HEED_OK(env_open_dir(&henv, dir_h, HEED_NOSYNC, 4096, 1u << 30, 4));
	HEED_OK(heed_txn_begin(henv, NULL, 0, &txn));
	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		HEED_OK(heed_dbi_open(txn, dbs[i].name, HEED_CREATE | dbs[i].flags, &dbi));
		for (j = 0; j < 3; j++) {
			key[0] = (char)('a' + j);
			snprintf(buf, sizeof(buf), "%s", dbs[i].vals[j]);
			for (save = NULL, v = strtok_r(buf, ",", &save); v;
			     v = strtok_r(NULL, ",", &save)) {
				heed_val hk = hs(key), hv_ = hs(v);

				HEED_OK(heed_put(txn, dbi, &hk, &hv_, 0));
			}
		}
	}
	HEED_OK(heed_txn_commit(txn));
	heed_env_close(henv);
	stat_all(out, sizeof(out));
	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		cr_assert(strstr(out, dbs[i].want), "heed-stat -a lacks\n%s\nin\n%s", dbs[i].want,
			  out);
}

/* PREV_MULTIPLE from a key's last value, repeated: the chunks, back to
 * front, are the key's values, each once. 25 values of 400 bytes, 10 to a
 * 4 KiB chunk: chunks 15..24, 5..14, then 0..4 (a packing forward from the
 * key's first value used to give 0..9 again). heed only: LMDB's chunks are
 * its pages, and its PREV_MULTIPLE from the last value starts a page back. */
Test(lmdb_dups, prev_multiple_walk, .init = setup, .fini = teardown)
{
	static unsigned char want[25 * 400], got[25 * 400];
	heed_val k = hs("a"), v;
	size_t end = sizeof(got), i;
	unsigned int chunks = 0;
	int rc;

	HEED_OK(env_open_dir(&henv, dir_h, HEED_NOSYNC, 4096, 1u << 30, 4));
	HEED_OK(heed_txn_begin(henv, NULL, 0, &ht));
	HEED_OK(heed_dbi_open(ht, "d", HEED_CREATE | HEED_DUPSORT | HEED_DUPFIXED, &hd));
	for (i = 0; i < 25; i++) {
		memset(want + i * 400, 'a' + (int)(i % 26), 400);
		want[i * 400] = (unsigned char)i;
		v = hv(want + i * 400, 400);
		HEED_OK(heed_put(ht, hd, &k, &v, 0));
	}
	HEED_OK(heed_cursor_open(ht, hd, &hc));
	v = hv(want + 24 * 400, 400);
	HEED_OK(heed_cursor_get(hc, &k, &v, HEED_GET_BOTH));
	while ((rc = heed_cursor_get(hc, &k, &v, HEED_PREV_MULTIPLE)) == 0) {
		cr_assert(v.size % 400 == 0 && v.size <= end, "chunk %u: %zu bytes, %zu left",
			  chunks, v.size, end);
		end -= v.size;
		memcpy(got + end, v.data, v.size);
		chunks++;
	}
	HEED_RC(rc, HEED_NOTFOUND);
	cr_assert_eq(end, 0, "the chunks hold %zu bytes of %zu", sizeof(got) - end, sizeof(got));
	cr_assert(!memcmp(got, want, sizeof(got)), "the chunks are not the values in order");
	cr_assert_eq(chunks, 3);
	HEED_OK(heed_txn_commit(ht));
	heed_env_close(henv);
}
