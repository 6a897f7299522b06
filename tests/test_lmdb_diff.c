/*
 * test_lmdb_diff.c - heed against the real LMDB (Debian's liblmdb) on the
 * same calls: the rows of "heed and LMDB" in core/README.md.
 *
 * Each scenario is written once against a small adapter (struct side) and
 * run on both libraries, each in a fresh environment; it logs every call
 * and its result ("PREV=NOTFOUND NEXT=c ..."). heed's return codes have
 * LMDB's values (HEED_NOTFOUND == MDB_NOTFOUND, ...), so logs compare as
 * strings. Where heed matches LMDB the test asserts the two logs are equal
 * (and what they are); where heed keeps a difference on purpose the test
 * asserts both logs, so the table cannot drift from either library.
 */
#include <lmdb.h>
#include <stdarg.h>

#include "common.h"

enum cop { C_FIRST, C_LAST, C_NEXT, C_PREV, C_CURRENT, C_SET, C_SET_KEY, C_SET_RANGE };

/* One library behind the calls the scenarios make. dbi 0 is the main db;
 * cursors are numbered 0 and 1. */
struct side {
	const char *name;
	int (*begin)(struct side *s, int rdonly);
	int (*commit)(struct side *s);
	void (*abort)(struct side *s);
	void (*reset)(struct side *s);
	size_t (*txn_id)(struct side *s);
	int (*dbi_open)(struct side *s, const char *name, unsigned int flags, unsigned int *dbi);
	int (*put)(struct side *s, unsigned int dbi, const char *k, const void *v, size_t vlen,
		   unsigned int flags);
	int (*del)(struct side *s, unsigned int dbi, const char *k);
	int (*cur_open)(struct side *s, int i, unsigned int dbi);
	void (*cur_close)(struct side *s, int i);
	/* key out: the key at the cursor (NUL-terminated) on success. */
	int (*cur_get)(struct side *s, int i, enum cop op, const char *k, char *out);
	int (*cur_del)(struct side *s, int i);
};

static char dir[256];
static char logbuf[2][2048];

static void setup(void)
{
	tmpdir_make(dir, sizeof(dir), "lmdbdiff");
}

static void teardown(void)
{
	tmpdir_remove(dir);
}

TestSuite(lmdb_diff, .init = setup, .fini = teardown, .timeout = 60);

/* ---- heed ---- */

static struct {
	heed_env *env;
	heed_txn *txn;
	heed_cursor *cur[2];
} H;

static int h_begin(struct side *s, int rdonly)
{
	(void)s;
	return heed_txn_begin(H.env, NULL, rdonly ? HEED_RDONLY : 0, &H.txn);
}

static int h_commit(struct side *s)
{
	(void)s;
	H.cur[0] = H.cur[1] = NULL; /* heed frees a txn's cursors */
	return heed_txn_commit(H.txn);
}

static void h_abort(struct side *s)
{
	(void)s;
	H.cur[0] = H.cur[1] = NULL;
	heed_txn_abort(H.txn);
}

static void h_reset(struct side *s)
{
	(void)s;
	heed_txn_reset(H.txn);
}

static size_t h_txn_id(struct side *s)
{
	(void)s;
	return heed_txn_id(H.txn);
}

static int h_dbi_open(struct side *s, const char *name, unsigned int flags, unsigned int *dbi)
{
	(void)s;
	return heed_dbi_open(H.txn, name, flags, dbi);
}

static int h_put(struct side *s, unsigned int dbi, const char *k, const void *v, size_t vlen,
		 unsigned int flags)
{
	heed_val key = hs(k), val = hv(v, vlen);

	(void)s;
	return heed_put(H.txn, dbi, &key, &val, flags);
}

static int h_del(struct side *s, unsigned int dbi, const char *k)
{
	heed_val key = hs(k);

	(void)s;
	return heed_del(H.txn, dbi, &key, NULL);
}

static int h_cur_open(struct side *s, int i, unsigned int dbi)
{
	(void)s;
	return heed_cursor_open(H.txn, dbi, &H.cur[i]);
}

static void h_cur_close(struct side *s, int i)
{
	(void)s;
	heed_cursor_close(H.cur[i]);
	H.cur[i] = NULL;
}

static int h_cur_get(struct side *s, int i, enum cop op, const char *k, char *out)
{
	static const heed_cursor_op ops[] = {HEED_FIRST,   HEED_LAST,	     HEED_NEXT,
					     HEED_PREV,	   HEED_GET_CURRENT, HEED_SET,
					     HEED_SET_KEY, HEED_SET_RANGE};
	heed_val key = k ? hs(k) : hv(NULL, 0), val;
	int rc;

	(void)s;
	rc = heed_cursor_get(H.cur[i], &key, &val, ops[op]);
	if (!rc)
		snprintf(out, 64, "%.*s", (int)key.size, (const char *)key.data);
	return rc;
}

static int h_cur_del(struct side *s, int i)
{
	(void)s;
	return heed_cursor_del(H.cur[i], 0);
}

static struct side heed_side = {"heed",	     h_begin,	 h_commit, h_abort, h_reset,
				h_txn_id,    h_dbi_open, h_put,	   h_del,   h_cur_open,
				h_cur_close, h_cur_get,	 h_cur_del};

/* ---- LMDB ---- */

static struct {
	MDB_env *env;
	MDB_txn *txn;
	MDB_cursor *cur[2];
	MDB_dbi main; /* LMDB's main db is not dbi 0 (its freelist is) */
	int rdonly;
} L;

/* The scenarios' dbi 0 is the main db; named dbis are LMDB's own (>= 2). */
static MDB_dbi l_dbi(unsigned int dbi)
{
	return dbi ? dbi : L.main;
}

static void l_close_cursors(void)
{
	for (int i = 0; i < 2; i++) {
		if (L.cur[i])
			mdb_cursor_close(L.cur[i]);
		L.cur[i] = NULL;
	}
}

static int l_begin(struct side *s, int rdonly)
{
	int rc;

	(void)s;

	L.rdonly = rdonly;
	rc = mdb_txn_begin(L.env, NULL, rdonly ? MDB_RDONLY : 0, &L.txn);
	return rc ? rc : mdb_dbi_open(L.txn, NULL, 0, &L.main);
}

static int l_commit(struct side *s)
{
	(void)s;
	/* A write txn's cursors die with it; a read txn's are closed by
	 * the user, before or after (README: heed closes both). */
	if (L.rdonly)
		l_close_cursors();
	L.cur[0] = L.cur[1] = NULL;
	return mdb_txn_commit(L.txn);
}

static void l_abort(struct side *s)
{
	(void)s;
	if (L.rdonly)
		l_close_cursors();
	L.cur[0] = L.cur[1] = NULL;
	mdb_txn_abort(L.txn);
}

static void l_reset(struct side *s)
{
	(void)s;
	mdb_txn_reset(L.txn);
}

static size_t l_txn_id(struct side *s)
{
	(void)s;
	return mdb_txn_id(L.txn);
}

static int l_dbi_open(struct side *s, const char *name, unsigned int flags, unsigned int *dbi)
{
	(void)s;
	return mdb_dbi_open(L.txn, name, flags, dbi);
}

static int l_put(struct side *s, unsigned int dbi, const char *k, const void *v, size_t vlen,
		 unsigned int flags)
{
	MDB_val key = {strlen(k), (void *)k}, val = {vlen, (void *)v};

	(void)s;
	return mdb_put(L.txn, l_dbi(dbi), &key, &val, flags);
}

static int l_del(struct side *s, unsigned int dbi, const char *k)
{
	MDB_val key = {strlen(k), (void *)k};

	(void)s;
	return mdb_del(L.txn, l_dbi(dbi), &key, NULL);
}

static int l_cur_open(struct side *s, int i, unsigned int dbi)
{
	(void)s;
	return mdb_cursor_open(L.txn, l_dbi(dbi), &L.cur[i]);
}

static void l_cur_close(struct side *s, int i)
{
	(void)s;
	mdb_cursor_close(L.cur[i]);
	L.cur[i] = NULL;
}

static int l_cur_get(struct side *s, int i, enum cop op, const char *k, char *out)
{
	static const MDB_cursor_op ops[] = {MDB_FIRST,	     MDB_LAST, MDB_NEXT,    MDB_PREV,
					    MDB_GET_CURRENT, MDB_SET,  MDB_SET_KEY, MDB_SET_RANGE};
	MDB_val key = {k ? strlen(k) : 0, (void *)k}, val;
	int rc;

	(void)s;
	rc = mdb_cursor_get(L.cur[i], &key, &val, ops[op]);
	if (!rc)
		snprintf(out, 64, "%.*s", (int)key.mv_size, (const char *)key.mv_data);
	return rc;
}

static int l_cur_del(struct side *s, int i)
{
	(void)s;
	return mdb_cursor_del(L.cur[i], 0);
}

static struct side lmdb_side = {"lmdb",	     l_begin,	 l_commit, l_abort, l_reset,
				l_txn_id,    l_dbi_open, l_put,	   l_del,   l_cur_open,
				l_cur_close, l_cur_get,	 l_cur_del};

/* ---- running a scenario ---- */

static char *cur_log;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	size_t n = strlen(cur_log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cur_log + n, sizeof(logbuf[0]) - n, fmt, ap);
	va_end(ap);
}

static const char *code(int rc)
{
	static char buf[32];

	switch (rc) {
	case 0:
		return "0";
	case HEED_NOTFOUND:
		return "NOTFOUND";
	case HEED_KEYEXIST:
		return "KEYEXIST";
	case HEED_INCOMPATIBLE:
		return "INCOMPATIBLE";
	case HEED_BAD_VALSIZE:
		return "BAD_VALSIZE";
	case HEED_BAD_TXN:
		return "BAD_TXN";
	case HEED_BAD_DBI:
		return "BAD_DBI";
	case EINVAL:
		return "EINVAL";
	default:
		snprintf(buf, sizeof(buf), "%d", rc);
		return buf;
	}
}

static const char *const op_names[] = {"FIRST",	      "LAST", "NEXT",	 "PREV",
				       "GET_CURRENT", "SET",  "SET_KEY", "SET_RANGE"};

/* Log "OP[ key]=result " for one cursor op. */
static void get(struct side *s, int i, enum cop op, const char *k)
{
	char out[64];
	int rc = s->cur_get(s, i, op, k, out);

	logf_("%s%s%s=%s ", op_names[op], k ? " " : "", k ? k : "", rc ? code(rc) : out);
}

static void logrc(const char *what, int rc)
{
	logf_("%s=%s ", what, code(rc));
}

/* The main db's keys in order, logged as "scan=k1,k2,...". */
static void scan(struct side *s, int i)
{
	char out[64];
	int rc;

	logf_("scan=");
	for (rc = s->cur_get(s, i, C_FIRST, NULL, out); !rc;
	     rc = s->cur_get(s, i, C_NEXT, NULL, out))
		logf_("%s,", out);
	logf_("%s ", code(rc));
}

static void must(int rc, const char *what, struct side *s)
{
	cr_assert_eq(rc, 0, "%s: %s: %d (%s)", s->name, what, rc, heed_strerror(rc));
}

/* A fresh write txn on the main db holding keys (a comma list). */
static void fill(struct side *s, const char *keys)
{
	char k[16];
	const char *p = keys;

	must(s->begin(s, 0), "begin", s);
	while (*p) {
		size_t n = strcspn(p, ",");

		snprintf(k, sizeof(k), "%.*s", (int)n, p);
		must(s->put(s, 0, k, "v", 1, 0), "put", s);
		p += n + (p[n] == ',');
	}
}

typedef void (*scenario)(struct side *s);

/* Run sc on both libraries, each in a new env under dir, into logbuf[0]
 * (heed) and logbuf[1] (LMDB). */
static void run_both(scenario sc, const char *tag)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/%s-heed", dir, tag);
	cr_assert_eq(mkdir(path, 0755), 0);
	HEED_OK(env_open_dir(&H.env, path, HEED_NOSYNC, 0, 0, 4));
	logbuf[0][0] = 0;
	cur_log = logbuf[0];
	sc(&heed_side);
	heed_env_close(H.env);

	snprintf(path, sizeof(path), "%s/%s-lmdb", dir, tag);
	cr_assert_eq(mkdir(path, 0755), 0);
	cr_assert_eq(mdb_env_create(&L.env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(L.env, 4), 0);
	cr_assert_eq(mdb_env_open(L.env, path, MDB_NOSYNC, 0644), 0);
	logbuf[1][0] = 0;
	cur_log = logbuf[1];
	sc(&lmdb_side);
	mdb_env_close(L.env);
	fprintf(stderr, "%s\n  heed: %s\n  lmdb: %s\n", tag, logbuf[0], logbuf[1]);
}

#define SAME(sc, want)                                                                             \
	do {                                                                                       \
		run_both(sc, #sc);                                                                 \
		cr_assert_str_eq(logbuf[1], want, "LMDB %s: %s", #sc, logbuf[1]);                  \
		cr_assert_str_eq(logbuf[0], logbuf[1], "%s: heed: %s\nLMDB: %s", #sc, logbuf[0],   \
				 logbuf[1]);                                                       \
	} while (0)

#define DIFFER(sc, want_heed, want_lmdb)                                                           \
	do {                                                                                       \
		run_both(sc, #sc);                                                                 \
		cr_assert_str_eq(logbuf[1], want_lmdb, "LMDB %s: %s", #sc, logbuf[1]);             \
		cr_assert_str_eq(logbuf[0], want_heed, "heed %s: %s", #sc, logbuf[0]);             \
	} while (0)

/* ---- scenarios ---- */

/* Issue 10, item 11: keys a b c, cursor on a, delete a; PREV fails; then
 * NEXT, with or without an unrelated put in between. */
static void next_after_failed_prev(struct side *s)
{
	for (int put_between = 0; put_between < 2; put_between++) {
		fill(s, "a,b,c");
		must(s->cur_open(s, 0, 0), "cursor", s);
		get(s, 0, C_SET_KEY, "a");
		logrc("del", s->cur_del(s, 0));
		get(s, 0, C_PREV, NULL);
		if (put_between)
			logrc("put z", s->put(s, 0, "z", "v", 1, 0));
		get(s, 0, C_NEXT, NULL);
		get(s, 0, C_CURRENT, NULL);
		s->abort(s);
	}
}

/* After a cursor delete, an unrelated put does not change what NEXT returns
 * (the item after the deleted one). */
static void next_after_delete_and_put(struct side *s)
{
	fill(s, "a,b,c");
	must(s->cur_open(s, 0, 0), "cursor", s);
	get(s, 0, C_SET_KEY, "b");
	logrc("del", s->cur_del(s, 0));
	logrc("put 0", s->put(s, 0, "0", "v", 1, 0));
	get(s, 0, C_NEXT, NULL);
	get(s, 0, C_PREV, NULL);
	s->abort(s);
}

/* SET_RANGE past the last key, then GET_CURRENT, NEXT, PREV. */
static void set_range_past_end(struct side *s)
{
	fill(s, "a,b,c");
	must(s->cur_open(s, 0, 0), "cursor", s);
	get(s, 0, C_SET_RANGE, "zz");
	get(s, 0, C_CURRENT, NULL);
	get(s, 0, C_NEXT, NULL);
	get(s, 0, C_SET_RANGE, "zz");
	get(s, 0, C_PREV, NULL);
	get(s, 0, C_PREV, NULL);
	s->abort(s);
}

/* SET of a missing key, then NEXT, PREV or GET_CURRENT. */
static void set_missing_then_move(struct side *s)
{
	fill(s, "a,b,c");
	must(s->cur_open(s, 0, 0), "cursor", s);
	get(s, 0, C_SET, "bb");
	get(s, 0, C_NEXT, NULL);
	get(s, 0, C_SET, "bb");
	get(s, 0, C_PREV, NULL);
	get(s, 0, C_SET, "bb");
	get(s, 0, C_CURRENT, NULL);
	s->abort(s);
}

/* Two cursors on b; the first deletes it, then the second deletes "its"
 * item. */
static void delete_twice_through_two_cursors(struct side *s)
{
	fill(s, "a,b,c,d");
	must(s->cur_open(s, 0, 0), "cursor", s);
	must(s->cur_open(s, 1, 0), "cursor", s);
	get(s, 0, C_SET_KEY, "b");
	get(s, 1, C_SET_KEY, "b");
	logrc("del 0", s->cur_del(s, 0));
	logrc("del 1", s->cur_del(s, 1));
	scan(s, 0);
	s->abort(s);
}

/* A db created in this txn, seen from the main db: a scan meets its
 * record, its name is not a key for put or del, nor a plain key a db. */
static void db_name_and_main_keys(struct side *s)
{
	unsigned int d, x;

	fill(s, "a,k");
	must(s->dbi_open(s, "sub", HEED_CREATE, &d), "dbi_open", s);
	must(s->cur_open(s, 0, 0), "cursor", s);
	scan(s, 0);
	logrc("put sub", s->put(s, 0, "sub", "v", 1, 0));
	logrc("put sub NOOVERWRITE", s->put(s, 0, "sub", "v", 1, HEED_NOOVERWRITE));
	logrc("dbi_open k", s->dbi_open(s, "k", 0, &x));
	logrc("dbi_open k CREATE", s->dbi_open(s, "k", HEED_CREATE, &x));
	logrc("put b", s->put(s, 0, "b", "v", 1, 0));
	logrc("commit", s->commit(s));
	must(s->begin(s, 1), "begin", s);
	must(s->cur_open(s, 0, 0), "cursor", s);
	scan(s, 0);
	s->abort(s);
}

/* heed_del of a db's name in the main db. */
static void del_db_name(struct side *s)
{
	unsigned int d;

	fill(s, "a");
	must(s->dbi_open(s, "sub", HEED_CREATE, &d), "dbi_open", s);
	logrc("del sub", s->del(s, 0, "sub"));
	logrc("put b", s->put(s, 0, "b", "v", 1, 0));
	logrc("commit", s->commit(s));
}

/* Values of more than 0xffffffff bytes (the data pointer names a small
 * buffer: nothing may read that far). */
static void huge_values(struct side *s)
{
	static const char small[8] = "v";

	fill(s, "a");
	logrc("put 4G", s->put(s, 0, "k", small, (size_t)UINT32_MAX + 1, 0));
	logrc("put SIZE_MAX", s->put(s, 0, "k", small, SIZE_MAX, 0));
	logrc("put b", s->put(s, 0, "b", "v", 1, 0));
	logrc("commit", s->commit(s));
}

/* The id of a read txn before and after reset, and after renew. */
static void txn_id_after_reset(struct side *s)
{
	fill(s, "a");
	must(s->commit(s), "commit", s);
	must(s->begin(s, 1), "begin", s);
	logf_("id=%zu ", s->txn_id(s));
	s->reset(s);
	logf_("reset id=%zu ", s->txn_id(s));
	s->abort(s);
}

Test(lmdb_diff, next_after_failed_prev)
{
	SAME(next_after_failed_prev,
	     "SET_KEY a=a del=0 PREV=NOTFOUND NEXT=c GET_CURRENT=c "
	     "SET_KEY a=a del=0 PREV=NOTFOUND put z=0 NEXT=c GET_CURRENT=c ");
}

Test(lmdb_diff, next_after_delete_and_put)
{
	SAME(next_after_delete_and_put, "SET_KEY b=b del=0 put 0=0 NEXT=c PREV=a ");
}

Test(lmdb_diff, set_range_past_end)
{
	SAME(set_range_past_end, "SET_RANGE zz=NOTFOUND GET_CURRENT=NOTFOUND NEXT=NOTFOUND "
				 "SET_RANGE zz=NOTFOUND PREV=c PREV=b ");
}

/* Kept: a failed SET leaves heed's cursor unpositioned (NEXT: the first
 * item, PREV: the last, GET_CURRENT: EINVAL), as after any failed
 * positioning. LMDB's is positioned and not: GET_CURRENT returns the item
 * after the missing key, NEXT says there is none. */
Test(lmdb_diff, set_missing_then_move)
{
	DIFFER(set_missing_then_move,
	       "SET bb=NOTFOUND NEXT=a SET bb=NOTFOUND PREV=c SET bb=NOTFOUND GET_CURRENT=EINVAL ",
	       "SET bb=NOTFOUND NEXT=NOTFOUND SET bb=NOTFOUND PREV=b SET bb=NOTFOUND "
	       "GET_CURRENT=c ");
}

/* Kept: heed refuses to delete an item that is already gone; LMDB
 * silently deletes the next one (c). */
Test(lmdb_diff, delete_twice_through_two_cursors)
{
	DIFFER(delete_twice_through_two_cursors,
	       "SET_KEY b=b SET_KEY b=b del 0=0 del 1=NOTFOUND scan=a,c,d,NOTFOUND ",
	       "SET_KEY b=b SET_KEY b=b del 0=0 del 1=0 scan=a,d,NOTFOUND ");
}

Test(lmdb_diff, db_name_and_main_keys)
{
	SAME(db_name_and_main_keys,
	     "scan=a,k,sub,NOTFOUND put sub=INCOMPATIBLE put sub NOOVERWRITE=KEYEXIST "
	     "dbi_open k=INCOMPATIBLE dbi_open k CREATE=INCOMPATIBLE put b=0 commit=0 "
	     "scan=a,b,k,sub,NOTFOUND ");
}

/* Kept: heed refuses the delete and the txn goes on; LMDB's refusal
 * fails the whole txn. */
Test(lmdb_diff, del_db_name)
{
	DIFFER(del_db_name, "del sub=INCOMPATIBLE put b=0 commit=0 ",
	       "del sub=INCOMPATIBLE put b=BAD_TXN commit=BAD_TXN ");
}

Test(lmdb_diff, huge_values)
{
	SAME(huge_values, "put 4G=BAD_VALSIZE put SIZE_MAX=BAD_VALSIZE put b=0 commit=0 ");
}

/* Kept: a reset read txn has no snapshot, heed_txn_id says 0. */
Test(lmdb_diff, txn_id_after_reset)
{
	DIFFER(txn_id_after_reset, "id=1 reset id=0 ", "id=1 reset id=1 ");
}

/*
 * Nested txns, random: the same seeded sequence of calls on heed and on
 * LMDB, each in its own environment. Inside a top write txn, children
 * begin and end (commit or abort) at random depths up to NEST_DEPTH; ops
 * (put plain or NOOVERWRITE, del, get, a cursor walk from SET_RANGE) run
 * in the innermost txn, and now and then on a parent (HEED_BAD_TXN on
 * both) or as a second child of a blocked parent. Every return code, key
 * and value must be equal; a parent's cursor opened before a child began
 * is read after the child ended. After each top-level commit both stores
 * are compared whole and heed-check runs. HEED_SEED replays. The same on a
 * REVERSEKEY db (half the steps): the order of keys in every path.
 */
#define NEST_DEPTH 5
#define NEST_KEYS  400
#define NEST_STEPS 30000

struct nest {
	struct rng rng;
	heed_env *henv;
	MDB_env *lenv;
	heed_txn *h[NEST_DEPTH + 1];
	MDB_txn *l[NEST_DEPTH + 1];
	heed_dbi hdbi;
	MDB_dbi ldbi;
	unsigned int hflags, lflags; /* of the db, heed's and LMDB's */
	int depth;		     /* -1: no txn */
	unsigned char val[3 * 4096 + 100];
	unsigned long step;
};

static void nest_key(struct nest *n, char *k)
{
	snprintf(k, 16, "k%05u", (unsigned int)rng_below(&n->rng, NEST_KEYS));
}

static size_t nest_val(struct nest *n)
{
	uint64_t p = rng_below(&n->rng, 100);
	size_t len = p < 80   ? rng_below(&n->rng, 40)
		     : p < 95 ? rng_below(&n->rng, 2000)
			      : rng_range(&n->rng, 2000, 3 * 4096);

	rng_fill(&n->rng, n->val, len);
	return len;
}

#define NEST_EQ(a, b, what)                                                                        \
	cr_assert_eq((a), (b), "step %lu depth %d: %s: heed %d, lmdb %d", n->step, n->depth,       \
		     (what), (int)(a), (int)(b))

static void nest_same_val(struct nest *n, const heed_val *hv_, const MDB_val *lv, const char *what)
{
	cr_assert(hv_->size == lv->mv_size &&
			  (!lv->mv_size || !memcmp(hv_->data, lv->mv_data, lv->mv_size)),
		  "step %lu: %s: values differ (%zu and %zu bytes)", n->step, what, hv_->size,
		  lv->mv_size);
}

/* A walk of up to 20 items from SET_RANGE of a random key, in txn h / l. */
static void nest_walk(struct nest *n, heed_txn *ht, MDB_txn *lt)
{
	heed_cursor *hc;
	MDB_cursor *lc;
	char k[16];
	int i, hr, lr, back = (int)rng_below(&n->rng, 2);

	nest_key(n, k);
	hr = heed_cursor_open(ht, n->hdbi, &hc);
	lr = mdb_cursor_open(lt, n->ldbi, &lc);
	NEST_EQ(hr, lr, "cursor_open");
	if (hr)
		return;
	for (i = 0; i < 20; i++) {
		heed_val hk = hs(k), hv_ = {0};
		MDB_val lk = {strlen(k), k}, lv = {0};

		hr = heed_cursor_get(hc, &hk, &hv_,
				     i ? (back ? HEED_PREV : HEED_NEXT) : HEED_SET_RANGE);
		lr = mdb_cursor_get(lc, &lk, &lv, i ? (back ? MDB_PREV : MDB_NEXT) : MDB_SET_RANGE);
		NEST_EQ(hr, lr, "cursor walk");
		if (hr)
			break;
		cr_assert(hk.size == lk.mv_size && !memcmp(hk.data, lk.mv_data, lk.mv_size),
			  "step %lu: walk: keys differ", n->step);
		nest_same_val(n, &hv_, &lv, "walk");
	}
	heed_cursor_close(hc);
	mdb_cursor_close(lc);
}

/* A put on both, through heed_put or a cursor (at random), with flags
 * (heed's values, LMDB's too). HEED_RESERVE: the value is copied into the
 * returned space afterwards, as a caller of either would. */
static void nest_put(struct nest *n, heed_txn *ht, MDB_txn *lt, heed_val *hk, heed_val *hv_,
		     MDB_val *lk, MDB_val *lv, unsigned int flags)
{
	heed_cursor *hc = NULL;
	MDB_cursor *lc = NULL;
	int hr, lr;

	if (flags & HEED_RESERVE) {
		hv_->data = NULL;
		lv->mv_data = NULL;
	}
	if (rng_below(&n->rng, 2)) {
		hr = heed_cursor_open(ht, n->hdbi, &hc);
		lr = mdb_cursor_open(lt, n->ldbi, &lc);
		NEST_EQ(hr, lr, "cursor_open");
		if (hr)
			return;
		hr = heed_cursor_put(hc, hk, hv_, flags);
		lr = mdb_cursor_put(lc, lk, lv, flags);
	} else {
		hr = heed_put(ht, n->hdbi, hk, hv_, flags);
		lr = mdb_put(lt, n->ldbi, lk, lv, flags);
	}
	NEST_EQ(hr, lr, flags & HEED_RESERVE ? "put RESERVE" : "put");
	if (hr == HEED_KEYEXIST)
		nest_same_val(n, hv_, lv, "NOOVERWRITE's existing value");
	if (!hr && (flags & HEED_RESERVE)) {
		cr_assert(hv_->data || !hv_->size, "step %lu: RESERVE gave no space", n->step);
		if (hv_->size) {
			memcpy(hv_->data, n->val, hv_->size);
			memcpy(lv->mv_data, n->val, lv->mv_size);
		}
	}
	heed_cursor_close(hc);
	if (lc)
		mdb_cursor_close(lc);
}

static void nest_op(struct nest *n, heed_txn *ht, MDB_txn *lt)
{
	uint64_t p = rng_below(&n->rng, 100);
	char k[16];
	heed_val hk, hv_ = {0};
	MDB_val lk, lv = {0};
	int hr, lr;

	nest_key(n, k);
	hk = hs(k);
	lk = (MDB_val){strlen(k), k};
	if (p < 45) {
		unsigned int flags = rng_below(&n->rng, 5) == 0 ? HEED_NOOVERWRITE : 0;

		/* A third of the puts reserve the space and fill it after. */
		if (rng_below(&n->rng, 3) == 0)
			flags |= HEED_RESERVE;
		hv_ = hv(n->val, nest_val(n));
		lv = (MDB_val){hv_.size, n->val};
		nest_put(n, ht, lt, &hk, &hv_, &lk, &lv, flags);
	} else if (p < 65) {
		hr = heed_del(ht, n->hdbi, &hk, NULL);
		lr = mdb_del(lt, n->ldbi, &lk, NULL);
		NEST_EQ(hr, lr, "del");
	} else if (p < 90) {
		hr = heed_get(ht, n->hdbi, &hk, &hv_);
		lr = mdb_get(lt, n->ldbi, &lk, &lv);
		NEST_EQ(hr, lr, "get");
		if (!hr)
			nest_same_val(n, &hv_, &lv, "get");
	} else {
		nest_walk(n, ht, lt);
	}
}

/* Both stores equal, item by item, in read txns. */
static void nest_compare(struct nest *n)
{
	heed_txn *ht;
	MDB_txn *lt;
	heed_cursor *hc;
	MDB_cursor *lc;
	int hr, lr, first = 1;

	HEED_OK(heed_txn_begin(n->henv, NULL, HEED_RDONLY, &ht));
	cr_assert_eq(mdb_txn_begin(n->lenv, NULL, MDB_RDONLY, &lt), 0);
	HEED_OK(heed_cursor_open(ht, n->hdbi, &hc));
	cr_assert_eq(mdb_cursor_open(lt, n->ldbi, &lc), 0);
	for (;; first = 0) {
		heed_val hk, hv_;
		MDB_val lk, lv;

		hr = heed_cursor_get(hc, &hk, &hv_, first ? HEED_FIRST : HEED_NEXT);
		lr = mdb_cursor_get(lc, &lk, &lv, first ? MDB_FIRST : MDB_NEXT);
		NEST_EQ(hr, lr, "compare scan");
		if (hr)
			break;
		cr_assert(hk.size == lk.mv_size && !memcmp(hk.data, lk.mv_data, lk.mv_size),
			  "step %lu: committed stores differ in keys", n->step);
		nest_same_val(n, &hv_, &lv, "committed value");
	}
	mdb_cursor_close(lc);
	heed_txn_abort(ht);
	mdb_txn_abort(lt);
}

/* End the txn at depth d (and every child below it) on both sides. */
static void nest_end(struct nest *n, int d, int commit, char *hdir)
{
	int hr = 0, lr = 0;

	if (commit) {
		hr = heed_txn_commit(n->h[d]);
		lr = mdb_txn_commit(n->l[d]);
		NEST_EQ(hr, lr, d ? "nested commit" : "commit");
	} else {
		heed_txn_abort(n->h[d]);
		mdb_txn_abort(n->l[d]);
	}
	n->depth = d - 1;
	if (d == 0 && commit) {
		nest_compare(n);
		HEED_CHECK_CLEAN(hdir);
	}
}

static void nest_open(struct nest *n, char *hdir, char *ldir)
{
	heed_txn *t;
	MDB_txn *lt;

	HEED_OK(env_open_dir(&n->henv, hdir, HEED_NOSYNC, 4096, 64u << 20, 2));
	cr_assert_eq(mdb_env_create(&n->lenv), 0);
	cr_assert_eq(mdb_env_set_mapsize(n->lenv, 64u << 20), 0);
	cr_assert_eq(mdb_env_set_maxdbs(n->lenv, 2), 0);
	cr_assert_eq(mdb_env_open(n->lenv, ldir, MDB_NOSYNC, 0644), 0);
	/* A named db: its record lives in the main db, so folds carry it. */
	HEED_OK(heed_txn_begin(n->henv, NULL, 0, &t));
	HEED_OK(heed_dbi_open(t, "nested", HEED_CREATE | n->hflags, &n->hdbi));
	HEED_OK(heed_txn_commit(t));
	cr_assert_eq(mdb_txn_begin(n->lenv, NULL, 0, &lt), 0);
	cr_assert_eq(mdb_dbi_open(lt, "nested", MDB_CREATE | n->lflags, &n->ldbi), 0);
	cr_assert_eq(mdb_txn_commit(lt), 0);
}

static void nested_run(const char *name, unsigned int hflags, unsigned int lflags,
		       unsigned long steps)
{
	static struct nest N;
	struct nest *n = &N;
	char hdir[300], ldir[300];
	unsigned long nested = 0, nested_aborts = 0, parent_cursor_reads = 0;

	n->rng.s = test_seed(name);
	n->hflags = hflags;
	n->lflags = lflags;
	snprintf(hdir, sizeof(hdir), "%s/heed", dir);
	snprintf(ldir, sizeof(ldir), "%s/lmdb", dir);
	cr_assert_eq(mkdir(hdir, 0755), 0);
	cr_assert_eq(mkdir(ldir, 0755), 0);
	nest_open(n, hdir, ldir);
	n->depth = -1;
	for (n->step = 0; n->step < steps; n->step++) {
		uint64_t p = rng_below(&n->rng, 1000);
		int hr, lr, d = n->depth;

		if (d < 0) {
			HEED_OK(heed_txn_begin(n->henv, NULL, 0, &n->h[0]));
			cr_assert_eq(mdb_txn_begin(n->lenv, NULL, 0, &n->l[0]), 0);
			n->depth = 0;
			continue;
		}
		if (p < 40 && d < NEST_DEPTH) {
			heed_cursor *hc = NULL;
			MDB_cursor *lc = NULL;
			char k[16];
			int child_commit;

			/* A cursor of the parent, read after the child ends. */
			if (rng_below(&n->rng, 3) == 0) {
				heed_val hk, hv_;
				MDB_val lk, lv;

				nest_key(n, k);
				hk = hs(k);
				lk = (MDB_val){strlen(k), k};
				HEED_OK(heed_cursor_open(n->h[d], n->hdbi, &hc));
				cr_assert_eq(mdb_cursor_open(n->l[d], n->ldbi, &lc), 0);
				hr = heed_cursor_get(hc, &hk, &hv_, HEED_SET_RANGE);
				lr = mdb_cursor_get(lc, &lk, &lv, MDB_SET_RANGE);
				NEST_EQ(hr, lr, "parent cursor SET_RANGE");
				/* Past the end, a later put after its key is seen by
				 * heed's GET_CURRENT, not LMDB's, nested or not:
				 * another matter than nesting, left out here. */
				if (hr) {
					heed_cursor_close(hc);
					mdb_cursor_close(lc);
					hc = NULL;
				}
			}
			hr = heed_txn_begin(n->henv, n->h[d], 0, &n->h[d + 1]);
			lr = mdb_txn_begin(n->lenv, n->l[d], 0, &n->l[d + 1]);
			NEST_EQ(hr, lr, "nested begin");
			cr_assert_eq(heed_txn_id(n->h[d + 1]), heed_txn_id(n->h[d]));
			cr_assert_eq(mdb_txn_id(n->l[d + 1]), mdb_txn_id(n->l[d]));
			n->depth = d + 1;
			nested++;
			if (!hc)
				continue;
			/* Ops in the child, then it ends; the parent's cursor
			 * stays on its key (the child never deletes it here:
			 * LMDB's cursor follows a delete differently). */
			child_commit = (int)rng_below(&n->rng, 2);
			for (int i = (int)rng_below(&n->rng, 30); i > 0; i--) {
				char dk[16];
				heed_val hk;
				MDB_val lk;

				nest_key(n, dk);
				hk = hs(dk);
				lk = (MDB_val){strlen(dk), dk};
				hr = heed_put(n->h[d + 1], n->hdbi, &hk, &(heed_val){3, "new"}, 0);
				lr = mdb_put(n->l[d + 1], n->ldbi, &lk, &(MDB_val){3, "new"}, 0);
				NEST_EQ(hr, lr, "put in a child");
			}
			nest_end(n, d + 1, child_commit, hdir);
			nested_aborts += !child_commit;
			for (int i = 0; i < 5; i++) {
				heed_val hk, hv_;
				MDB_val lk, lv;

				hr = heed_cursor_get(hc, &hk, &hv_,
						     i ? HEED_NEXT : HEED_GET_CURRENT);
				lr = mdb_cursor_get(lc, &lk, &lv, i ? MDB_NEXT : MDB_GET_CURRENT);
				NEST_EQ(hr, lr, "parent cursor after the child");
				if (hr)
					break;
				cr_assert(hk.size == lk.mv_size &&
						  !memcmp(hk.data, lk.mv_data, lk.mv_size),
					  "step %lu: parent cursor keys differ", n->step);
				nest_same_val(n, &hv_, &lv, "parent cursor");
			}
			parent_cursor_reads++;
			heed_cursor_close(hc);
			mdb_cursor_close(lc);
			continue;
		}
		if (p < 70 && d > 0) {
			int commit = rng_below(&n->rng, 5) >= 2;

			nested_aborts += !commit;
			nest_end(n, d, commit, hdir);
			continue;
		}
		if (p < 75 && d > 0) {
			/* A blocked parent: ops and a second child refused. */
			heed_txn *hx = NULL;
			MDB_txn *lx = NULL;
			int pd = (int)rng_below(&n->rng, (uint64_t)d);

			hr = heed_txn_begin(n->henv, n->h[pd], 0, &hx);
			lr = mdb_txn_begin(n->lenv, n->l[pd], 0, &lx);
			NEST_EQ(hr, lr, "second child of a blocked parent");
			nest_op(n, n->h[pd], n->l[pd]);
			continue;
		}
		if (p < 80) {
			/* The top txn ends; its open children with it. */
			int commit = rng_below(&n->rng, 5) >= 1;

			nest_end(n, 0, commit, hdir);
			continue;
		}
		nest_op(n, n->h[d], n->l[d]);
	}
	if (n->depth >= 0)
		nest_end(n, 0, 1, hdir);
	fprintf(stderr, "%s: %lu steps, %lu nested txns (%lu aborted), %lu parent cursor reads\n",
		name, n->step, nested, nested_aborts, parent_cursor_reads);
	heed_env_close(n->henv);
	mdb_env_close(n->lenv);
}

Test(lmdb_diff, nested_random, .timeout = 300)
{
	nested_run("lmdb_diff::nested_random", 0, 0, NEST_STEPS);
}

Test(lmdb_diff, nested_random_reversekey, .timeout = 300)
{
	nested_run("lmdb_diff::nested_random_reversekey", HEED_REVERSEKEY, MDB_REVERSEKEY,
		   NEST_STEPS / 2);
}

/* core/README.md, "heed and LMDB": a parent's cursor used while its child
 * is open. LMDB moves the parent's cursors into the child (and back at its
 * end), so the cursor works and its move stays after the child's commit;
 * heed refuses it like every call on the parent, and the cursor stays on
 * its item. Both asserted. */
static void parent_cursor_in_child(char *log, int use_lmdb, const char *path)
{
	int rc1, rc2, rc3;
	char k1[8] = "", k3[8] = "";

	if (use_lmdb) {
		MDB_env *e;
		MDB_txn *t, *c;
		MDB_dbi d;
		MDB_cursor *cur;
		MDB_val k, v = {1, "v"};

		cr_assert_eq(mdb_env_create(&e), 0);
		cr_assert_eq(mdb_env_open(e, path, MDB_NOSYNC, 0644), 0);
		cr_assert_eq(mdb_txn_begin(e, NULL, 0, &t), 0);
		cr_assert_eq(mdb_dbi_open(t, NULL, 0, &d), 0);
		for (const char *p = "abc"; *p; p++) {
			k = (MDB_val){1, (void *)p};
			cr_assert_eq(mdb_put(t, d, &k, &v, 0), 0);
		}
		cr_assert_eq(mdb_cursor_open(t, d, &cur), 0);
		cr_assert_eq(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
		cr_assert_eq(mdb_txn_begin(e, t, 0, &c), 0);
		rc1 = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		if (!rc1)
			snprintf(k1, sizeof(k1), "%.*s", (int)k.mv_size, (char *)k.mv_data);
		rc2 = mdb_txn_commit(c);
		rc3 = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		if (!rc3)
			snprintf(k3, sizeof(k3), "%.*s", (int)k.mv_size, (char *)k.mv_data);
		mdb_txn_abort(t);
		mdb_env_close(e);
	} else {
		heed_env *e;
		heed_txn *t, *c;
		heed_dbi d;
		heed_cursor *cur;
		heed_val k, v = {1, "v"};

		HEED_OK(env_open_dir(&e, path, HEED_NOSYNC, 0, 0, 0));
		HEED_OK(heed_txn_begin(e, NULL, 0, &t));
		HEED_OK(heed_dbi_open(t, NULL, 0, &d));
		for (const char *p = "abc"; *p; p++) {
			k = (heed_val){1, (void *)p};
			HEED_OK(heed_put(t, d, &k, &v, 0));
		}
		HEED_OK(heed_cursor_open(t, d, &cur));
		HEED_OK(heed_cursor_get(cur, &k, &v, HEED_FIRST));
		HEED_OK(heed_txn_begin(e, t, 0, &c));
		rc1 = heed_cursor_get(cur, &k, &v, HEED_NEXT);
		if (!rc1)
			snprintf(k1, sizeof(k1), "%.*s", (int)k.size, (char *)k.data);
		rc2 = heed_txn_commit(c);
		rc3 = heed_cursor_get(cur, &k, &v, HEED_NEXT);
		if (!rc3)
			snprintf(k3, sizeof(k3), "%.*s", (int)k.size, (char *)k.data);
		heed_txn_abort(t);
		heed_env_close(e);
	}
	snprintf(log, 128, "NEXT in child=%s%s commit=%s NEXT after=%s%s", code(rc1), k1, code(rc2),
		 code(rc3), k3);
}

Test(lmdb_diff, parent_cursor_while_a_child_is_open)
{
	char h[128], l[128], hdir[300], ldir[300];

	snprintf(hdir, sizeof(hdir), "%s/heed", dir);
	snprintf(ldir, sizeof(ldir), "%s/lmdb", dir);
	cr_assert_eq(mkdir(hdir, 0755), 0);
	cr_assert_eq(mkdir(ldir, 0755), 0);
	parent_cursor_in_child(l, 1, ldir);
	parent_cursor_in_child(h, 0, hdir);
	cr_assert_str_eq(l, "NEXT in child=0b commit=0 NEXT after=0c", "lmdb: %s", l);
	cr_assert_str_eq(h, "NEXT in child=BAD_TXN commit=0 NEXT after=0b", "heed: %s", h);
}
