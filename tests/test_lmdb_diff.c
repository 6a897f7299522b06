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
