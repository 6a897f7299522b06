/*
 * test_api.c - libheed's API surface through core/heed.h only: every cursor
 * op in both directions with its edge cases, put flags (HEED_RESERVE too),
 * cursor put/del, drop, named databases and maxdbs, stat/info counts and
 * heed_strerror.
 * NULL arguments are test_badinput's.
 */
#include "common.h"

static char dir[256];
static heed_env *env;

static void setup(void)
{
	tmpdir_make(dir, sizeof(dir), "api");
	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 4));
}

static void teardown(void)
{
	heed_env_close(env);
	env = NULL;
	tmpdir_remove(dir);
}

TestSuite(api, .init = setup, .fini = teardown, .timeout = 120);

static heed_txn *wtxn(void)
{
	heed_txn *txn = NULL;

	HEED_OK(heed_txn_begin(env, NULL, 0, &txn));
	return txn;
}

static heed_txn *rtxn(void)
{
	heed_txn *txn = NULL;

	HEED_OK(heed_txn_begin(env, NULL, HEED_RDONLY, &txn));
	return txn;
}

static heed_dbi main_dbi(heed_txn *txn)
{
	heed_dbi dbi = 0;

	HEED_OK(heed_dbi_open(txn, NULL, 0, &dbi));
	return dbi;
}

static void put_str(heed_txn *txn, heed_dbi dbi, const char *k, const char *v)
{
	heed_val key = hs(k), val = hs(v);

	HEED_OK(heed_put(txn, dbi, &key, &val, 0));
}

static void assert_val(const heed_val *v, const char *want, const char *what)
{
	size_t n = strlen(want);

	cr_assert_eq(v->size, n, "%s: size %zu, expected %zu (\"%s\")", what, v->size, n, want);
	cr_assert(n == 0 || memcmp(v->data, want, n) == 0, "%s: got \"%.*s\", expected \"%s\"",
		  what, (int)v->size, (const char *)v->data, want);
}

static void assert_item(heed_cursor *cur, heed_cursor_op op, const char *k, const char *v)
{
	heed_val key = {0}, val = {0};

	HEED_OK(heed_cursor_get(cur, &key, &val, op));
	assert_val(&key, k, "cursor key");
	assert_val(&val, v, "cursor value");
}

static void assert_get(heed_txn *txn, heed_dbi dbi, const char *k, const char *v)
{
	heed_val key = hs(k), val = {0};

	HEED_OK(heed_get(txn, dbi, &key, &val));
	assert_val(&val, v, k);
}

static void assert_missing(heed_txn *txn, heed_dbi dbi, const char *k)
{
	heed_val key = hs(k), val = {0};

	HEED_RC(heed_get(txn, dbi, &key, &val), HEED_NOTFOUND);
}

static size_t dbi_entries(heed_txn *txn, heed_dbi dbi)
{
	heed_stat st;

	HEED_OK(heed_dbi_stat(txn, dbi, &st));
	return st.entries;
}

/* Five keys "b", "d", "f", "h", "j" with values "B".."J" in the main db. */
static void fill_five(void)
{
	static const char *keys[] = {"b", "d", "f", "h", "j"};
	static const char *vals[] = {"B", "D", "F", "H", "J"};
	heed_txn *txn = wtxn();
	heed_dbi dbi = main_dbi(txn);
	size_t i;

	for (i = 0; i < 5; i++)
		put_str(txn, dbi, keys[i], vals[i]);
	HEED_OK(heed_txn_commit(txn));
}

Test(api, version_and_strerror)
{
	static const int codes[] = {HEED_SUCCESS,      HEED_KEYEXIST, HEED_NOTFOUND,
				    HEED_CORRUPTED,    HEED_PANIC,    HEED_VERSION_MISMATCH,
				    HEED_INVALID,      HEED_MAP_FULL, HEED_DBS_FULL,
				    HEED_READERS_FULL, HEED_BAD_TXN,  HEED_BAD_VALSIZE,
				    HEED_BAD_DBI,      HEED_BUSY};
	const size_t n = sizeof(codes) / sizeof(codes[0]);
	int major = -1, minor = -1, patch = -1;
	const char *s;
	size_t i, j;

	s = heed_version(&major, &minor, &patch);
	cr_assert_not_null(s);
	cr_assert_eq(major, HEED_VERSION_MAJOR);
	cr_assert_eq(minor, HEED_VERSION_MINOR);
	cr_assert_eq(patch, HEED_VERSION_PATCH);
	cr_assert_not_null(heed_version(NULL, NULL, NULL));

	/* Every heed code has its own non-empty sentence. */
	for (i = 0; i < n; i++) {
		s = heed_strerror(codes[i]);
		cr_assert(s && *s, "heed_strerror(%d) is empty", codes[i]);
		for (j = 0; j < i; j++)
			cr_assert_str_neq(s, heed_strerror(codes[j]),
					  "codes %d and %d share the text \"%s\"", codes[i],
					  codes[j], s);
	}
	/* errno values and unknown codes are described too, never NULL. */
	for (i = 0; i < 5; i++) {
		static const int other[] = {EINVAL, ENOMEM, EIO, ENOSPC, EACCES};

		s = heed_strerror(other[i]);
		cr_assert(s && *s, "heed_strerror(%d) is empty", other[i]);
	}
	cr_assert_not_null(heed_strerror(-12345));
	cr_assert_not_null(heed_strerror(123456));
}

Test(api, bad_configuration)
{
	heed_env *e = NULL;
	heed_txn *txn = NULL;
	static const unsigned int bad[] = {0, 1, 512, 2048, 4095, 5000, 12288, 131072};
	size_t i;

	HEED_OK(heed_env_create(&e));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		HEED_RC(heed_env_set_pagesize(e, bad[i]), EINVAL);
	HEED_OK(heed_env_set_pagesize(e, 4096));
	HEED_OK(heed_env_set_pagesize(e, 65536));
	heed_env_close(e);

	/* A read txn cannot have a child (EINVAL, as LMDB). */
	txn = NULL;
	HEED_OK(heed_txn_begin(env, NULL, HEED_RDONLY, &txn));
	heed_txn *child = NULL;
	HEED_RC(heed_txn_begin(env, txn, 0, &child), EINVAL);
	cr_assert_null(child, "a failed heed_txn_begin should leave no handle");
	heed_txn_abort(txn);

	/* An env that failed to open may still be closed. */
	HEED_OK(heed_env_create(&e));
	cr_assert_neq(heed_env_open(e, "/nonexistent-heed-dir/x", 0, 0644), 0);
	heed_env_close(e);
}

Test(api, empty_database_cursor)
{
	heed_txn *txn = rtxn();
	heed_dbi dbi = main_dbi(txn);
	heed_cursor *cur;
	heed_val key = hs("m"), val = {0};
	heed_stat st;
	int rc;

	HEED_OK(heed_cursor_open(txn, dbi, &cur));
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_FIRST), HEED_NOTFOUND);
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_LAST), HEED_NOTFOUND);
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_NEXT), HEED_NOTFOUND);
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_PREV), HEED_NOTFOUND);
	key = hs("m");
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_SET), HEED_NOTFOUND);
	key = hs("m");
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_SET_KEY), HEED_NOTFOUND);
	key = hs("m");
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_SET_RANGE), HEED_NOTFOUND);
	/* An unpositioned cursor has no current item. */
	rc = heed_cursor_get(cur, &key, &val, HEED_GET_CURRENT);
	cr_assert(rc == HEED_NOTFOUND || rc == EINVAL,
		  "GET_CURRENT on an empty db returned %d (%s), expected NOTFOUND or EINVAL", rc,
		  heed_strerror(rc));
	heed_cursor_close(cur);
	key = hs("m");
	HEED_RC(heed_get(txn, dbi, &key, &val), HEED_NOTFOUND);
	HEED_OK(heed_dbi_stat(txn, dbi, &st));
	cr_assert_eq(st.entries, 0);
	cr_assert_eq(st.depth, 0);
	cr_assert_eq(st.leaf_pages + st.branch_pages + st.overflow_pages, 0);
	heed_txn_abort(txn);
}

Test(api, cursor_walks_and_edges)
{
	heed_txn *txn;
	heed_cursor *cur;
	heed_val key, val;
	char kbuf[8];
	heed_dbi dbi;

	fill_five();
	txn = rtxn();
	dbi = main_dbi(txn);
	HEED_OK(heed_cursor_open(txn, dbi, &cur));

	/* Forward from an unpositioned cursor: NEXT starts at the first. */
	assert_item(cur, HEED_NEXT, "b", "B");
	assert_item(cur, HEED_NEXT, "d", "D");
	assert_item(cur, HEED_NEXT, "f", "F");
	assert_item(cur, HEED_NEXT, "h", "H");
	assert_item(cur, HEED_NEXT, "j", "J");
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_NEXT), HEED_NOTFOUND);
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_NEXT), HEED_NOTFOUND);
	heed_cursor_close(cur);

	/* Backward from an unpositioned cursor: PREV starts at the last. */
	HEED_OK(heed_cursor_open(txn, dbi, &cur));
	assert_item(cur, HEED_PREV, "j", "J");
	assert_item(cur, HEED_PREV, "h", "H");
	assert_item(cur, HEED_PREV, "f", "F");
	assert_item(cur, HEED_PREV, "d", "D");
	assert_item(cur, HEED_PREV, "b", "B");
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_PREV), HEED_NOTFOUND);
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_PREV), HEED_NOTFOUND);

	/* FIRST / LAST and a step inward from each end. */
	assert_item(cur, HEED_FIRST, "b", "B");
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_PREV), HEED_NOTFOUND);
	assert_item(cur, HEED_LAST, "j", "J");
	assert_item(cur, HEED_GET_CURRENT, "j", "J");
	assert_item(cur, HEED_PREV, "h", "H");
	assert_item(cur, HEED_GET_CURRENT, "h", "H");
	assert_item(cur, HEED_FIRST, "b", "B");
	assert_item(cur, HEED_NEXT, "d", "D");

	/* SET returns the data and leaves the caller's key alone. */
	strcpy(kbuf, "f");
	key = hv(kbuf, 1);
	HEED_OK(heed_cursor_get(cur, &key, &val, HEED_SET));
	assert_val(&val, "F", "SET f");
	cr_assert_eq(key.data, (void *)kbuf, "SET must not change the key");
	cr_assert_eq(key.size, 1);
	assert_item(cur, HEED_NEXT, "h", "H");
	key = hs("f");
	HEED_OK(heed_cursor_get(cur, &key, &val, HEED_SET));
	assert_item(cur, HEED_PREV, "d", "D");
	key = hs("e");
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_SET), HEED_NOTFOUND);

	/* SET_KEY returns both. */
	key = hs("h");
	HEED_OK(heed_cursor_get(cur, &key, &val, HEED_SET_KEY));
	assert_val(&key, "h", "SET_KEY key");
	assert_val(&val, "H", "SET_KEY value");
	key = hs("i");
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_SET_KEY), HEED_NOTFOUND);

	/* SET_RANGE: exact, between, before the first, past the end. */
	key = hs("d");
	HEED_OK(heed_cursor_get(cur, &key, &val, HEED_SET_RANGE));
	assert_val(&key, "d", "SET_RANGE d");
	key = hs("e");
	HEED_OK(heed_cursor_get(cur, &key, &val, HEED_SET_RANGE));
	assert_val(&key, "f", "SET_RANGE e");
	assert_val(&val, "F", "SET_RANGE e value");
	assert_item(cur, HEED_PREV, "d", "D");
	key = hs("a");
	HEED_OK(heed_cursor_get(cur, &key, &val, HEED_SET_RANGE));
	assert_val(&key, "b", "SET_RANGE a");
	key = hs("ja");
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_SET_RANGE), HEED_NOTFOUND);
	key = hs("z");
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_SET_RANGE), HEED_NOTFOUND);
	/* The cursor is usable again after a miss. */
	assert_item(cur, HEED_LAST, "j", "J");
	heed_cursor_close(cur);
	heed_txn_abort(txn);
}

Test(api, key_order_is_bytewise)
{
	/* Inserted out of order; expected order: shorter prefix first, bytes
	 * unsigned. */
	static const unsigned char k0[] = {0x00}, k1[] = {'a'}, k2[] = {'a', 0x00},
				   k3[] = {'a', 'b'}, k4[] = {'b'}, k5[] = {0x7f}, k6[] = {0x80},
				   k7[] = {0xff}, k8[] = {0xff, 0xff};
	static const unsigned char *keys[] = {k0, k1, k2, k3, k4, k5, k6, k7, k8};
	static const size_t lens[] = {1, 1, 2, 2, 1, 1, 1, 1, 2};
	static const int insert_order[] = {8, 3, 0, 6, 1, 7, 4, 2, 5};
	heed_txn *txn = wtxn();
	heed_dbi dbi = main_dbi(txn);
	heed_cursor *cur;
	heed_val key, val;
	int i;

	for (i = 0; i < 9; i++) {
		int j = insert_order[i];

		key = hv(keys[j], lens[j]);
		val = hv(&j, sizeof(j));
		HEED_OK(heed_put(txn, dbi, &key, &val, 0));
	}
	HEED_OK(heed_txn_commit(txn));

	txn = rtxn();
	HEED_OK(heed_cursor_open(txn, dbi, &cur));
	for (i = 0; i < 9; i++) {
		HEED_OK(heed_cursor_get(cur, &key, &val, HEED_NEXT));
		cr_assert_eq(key.size, lens[i], "item %d: key size %zu", i, key.size);
		cr_assert(memcmp(key.data, keys[i], lens[i]) == 0, "item %d out of order", i);
		cr_assert_eq(val.size, sizeof(int));
		cr_assert(memcmp(val.data, &i, sizeof(int)) == 0, "item %d: wrong value", i);
	}
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_NEXT), HEED_NOTFOUND);
	heed_cursor_close(cur);
	heed_txn_abort(txn);
}

Test(api, put_get_del)
{
	heed_txn *txn = wtxn();
	heed_dbi dbi = main_dbi(txn);
	heed_val key, val, junk = hs("ignored");

	put_str(txn, dbi, "k", "v1");
	assert_get(txn, dbi, "k", "v1");
	put_str(txn, dbi, "k", "v2-longer");
	assert_get(txn, dbi, "k", "v2-longer");
	put_str(txn, dbi, "empty", "");
	assert_get(txn, dbi, "empty", "");
	cr_assert_eq(dbi_entries(txn, dbi), 2);

	/* del ignores data (no duplicates). */
	key = hs("k");
	HEED_OK(heed_del(txn, dbi, &key, &junk));
	assert_missing(txn, dbi, "k");
	HEED_RC(heed_del(txn, dbi, &key, NULL), HEED_NOTFOUND);
	cr_assert_eq(dbi_entries(txn, dbi), 1);

	/* Empty keys are refused everywhere. */
	key = hv("", 0);
	val = hs("x");
	HEED_RC(heed_put(txn, dbi, &key, &val, 0), HEED_BAD_VALSIZE);
	HEED_RC(heed_get(txn, dbi, &key, &val), HEED_BAD_VALSIZE);
	HEED_RC(heed_del(txn, dbi, &key, NULL), HEED_BAD_VALSIZE);
	HEED_OK(heed_txn_commit(txn));

	txn = rtxn();
	assert_get(txn, dbi, "empty", "");
	assert_missing(txn, dbi, "k");
	heed_txn_abort(txn);
}

Test(api, nooverwrite_returns_existing)
{
	heed_txn *txn = wtxn();
	heed_dbi dbi = main_dbi(txn);
	heed_val key = hs("k"), val = hs("first");
	heed_cursor *cur;

	HEED_OK(heed_put(txn, dbi, &key, &val, HEED_NOOVERWRITE));
	val = hs("second");
	HEED_RC(heed_put(txn, dbi, &key, &val, HEED_NOOVERWRITE), HEED_KEYEXIST);
	assert_val(&val, "first", "NOOVERWRITE data");
	assert_get(txn, dbi, "k", "first");

	HEED_OK(heed_cursor_open(txn, dbi, &cur));
	val = hs("third");
	HEED_RC(heed_cursor_put(cur, &key, &val, HEED_NOOVERWRITE), HEED_KEYEXIST);
	assert_val(&val, "first", "cursor NOOVERWRITE data");
	heed_cursor_close(cur);
	assert_get(txn, dbi, "k", "first");
	cr_assert_eq(dbi_entries(txn, dbi), 1);
	HEED_OK(heed_txn_commit(txn));
}

/* The bytes HEED_RESERVE tests write into reserved space: i's value. */
static void reserve_fill(unsigned char *v, size_t len, unsigned int i)
{
	size_t j;

	for (j = 0; j < len; j++)
		v[j] = (unsigned char)(i * 31 + j * 7 + (j >> 8));
}

static void assert_reserved(heed_txn *txn, heed_dbi dbi, const char *k, size_t len, unsigned int i)
{
	static unsigned char want[3 * 4096 + 7];
	heed_val key = hs(k), val = {0};

	reserve_fill(want, len, i);
	HEED_OK(heed_get(txn, dbi, &key, &val));
	cr_assert(val.size == len && !memcmp(val.data, want, len), "%s: %zu bytes, not its %zu", k,
		  val.size, len);
}

/* HEED_RESERVE: the space comes back to be filled, inline (new, replaced in
 * place, moved by splits) and overflow; NOOVERWRITE still hands back the
 * old value; the filled bytes are what commit writes. */
Test(api, reserve)
{
	heed_txn *txn = wtxn();
	heed_dbi dbi = main_dbi(txn);
	heed_val key = hs("a"), val = {5, NULL}, k, v;
	heed_cursor *cur;
	char name[16];
	unsigned int i;

	HEED_OK(heed_put(txn, dbi, &key, &val, HEED_RESERVE));
	cr_assert_eq(val.size, 5);
	reserve_fill(val.data, 5, 1);
	val = (heed_val){5, NULL};
	HEED_OK(heed_put(txn, dbi, &key, &val, HEED_RESERVE)); /* same size: in place */
	reserve_fill(val.data, 5, 2);
	val = (heed_val){9, NULL};
	HEED_RC(heed_put(txn, dbi, &key, &val, HEED_RESERVE | HEED_NOOVERWRITE), HEED_KEYEXIST);
	cr_assert_eq(val.size, 5, "NOOVERWRITE hands back the stored value");
	val = (heed_val){3, NULL};
	HEED_RC(heed_put(txn, dbi, &key, &val, 0), EINVAL); /* no data, no RESERVE */
	key = hs("big");
	val = (heed_val){3 * 4096 + 7, NULL};
	HEED_OK(heed_put(txn, dbi, &key, &val, HEED_RESERVE));
	reserve_fill(val.data, val.size, 3);
	key = hs("empty");
	val = (heed_val){0, NULL};
	HEED_OK(heed_put(txn, dbi, &key, &val, HEED_RESERVE));
	/* 300 values of 100 bytes: leaves split under new nodes. */
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "k%03u", (i * 7) % 300);
		key = hs(name);
		val = (heed_val){100, NULL};
		HEED_OK(heed_put(txn, dbi, &key, &val, HEED_RESERVE));
		reserve_fill(val.data, 100, 100 + (i * 7) % 300);
	}
	HEED_OK(heed_cursor_open(txn, dbi, &cur));
	key = hs("big");
	HEED_OK(heed_cursor_get(cur, &key, &v, HEED_SET));
	val = (heed_val){10, NULL};
	HEED_OK(heed_cursor_put(cur, &key, &val, HEED_CURRENT | HEED_RESERVE));
	reserve_fill(val.data, 10, 4);
	HEED_OK(heed_cursor_get(cur, &k, &v, HEED_GET_CURRENT));
	cr_assert(v.size == 10 && v.data == val.data, "the cursor stands on the reserved value");
	HEED_OK(heed_txn_commit(txn));

	txn = rtxn();
	assert_reserved(txn, dbi, "a", 5, 2);
	assert_reserved(txn, dbi, "big", 10, 4);
	assert_reserved(txn, dbi, "empty", 0, 0);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "k%03u", i);
		assert_reserved(txn, dbi, name, 100, 100 + i);
	}
	cr_assert_eq(dbi_entries(txn, dbi), 303);
	heed_txn_abort(txn);
	heed_env_close(env);
	env = NULL;
	HEED_CHECK_CLEAN(dir);
}

Test(api, append)
{
	heed_txn *txn = wtxn();
	heed_dbi dbi = main_dbi(txn);
	heed_val key, val = hs("v");
	char buf[16];
	int i;

	/* Into an empty db, then strictly ascending keys: enough for splits. */
	for (i = 0; i < 2000; i++) {
		snprintf(buf, sizeof(buf), "key%06d", i);
		key = hs(buf);
		HEED_OK(heed_put(txn, dbi, &key, &val, HEED_APPEND));
	}
	key = hs("key000500");
	HEED_RC(heed_put(txn, dbi, &key, &val, HEED_APPEND), HEED_KEYEXIST);
	key = hs("key001999");
	HEED_RC(heed_put(txn, dbi, &key, &val, HEED_APPEND), HEED_KEYEXIST);
	key = hs("a");
	HEED_RC(heed_put(txn, dbi, &key, &val, HEED_APPEND), HEED_KEYEXIST);
	key = hs("key001999a");
	HEED_OK(heed_put(txn, dbi, &key, &val, HEED_APPEND));
	cr_assert_eq(dbi_entries(txn, dbi), 2001);
	HEED_OK(heed_txn_commit(txn));

	txn = rtxn();
	for (i = 0; i < 2000; i += 97) {
		snprintf(buf, sizeof(buf), "key%06d", i);
		assert_get(txn, dbi, buf, "v");
	}
	cr_assert_eq(dbi_entries(txn, dbi), 2001);
	heed_txn_abort(txn);
}

/* APPEND's order check and the leaf prefix it keeps, with keys sharing 21
 * bytes (past the first 8-byte word an order check compares at once) and
 * keys that are prefixes of each other; heed-check then checks every
 * leaf's prefix and slots. */
Test(api, append_long_shared_prefixes)
{
	heed_txn *txn = wtxn();
	heed_dbi dbi = main_dbi(txn);
	heed_val key, val = hs("v");
	char buf[48];
	int i;

	for (i = 0; i < 3000; i++) {
		snprintf(buf, sizeof(buf), "common-prefix-of-all-%06d", i);
		key = hs(buf);
		HEED_OK(heed_put(txn, dbi, &key, &val, HEED_APPEND));
	}
	key = hs("common-prefix-of-all-002998");
	HEED_RC(heed_put(txn, dbi, &key, &val, HEED_APPEND), HEED_KEYEXIST);
	key = hs("common-prefix-of-all-002999");
	HEED_RC(heed_put(txn, dbi, &key, &val, HEED_APPEND), HEED_KEYEXIST);
	key = hs("common-prefix-of-all-00299");
	HEED_RC(heed_put(txn, dbi, &key, &val, HEED_APPEND), HEED_KEYEXIST);
	key = hs("common-prefix-of-all-002999\x01");
	HEED_OK(heed_put(txn, dbi, &key, &val, HEED_APPEND));
	key = hs("common-prefix-of-all-003");
	HEED_OK(heed_put(txn, dbi, &key, &val, HEED_APPEND));
	key = hs("common-prefix-of-all-00300000");
	HEED_OK(heed_put(txn, dbi, &key, &val, HEED_APPEND));
	key = hs("common-prefix-of-all-0030000");
	HEED_RC(heed_put(txn, dbi, &key, &val, HEED_APPEND), HEED_KEYEXIST);
	key = hs("d");
	HEED_OK(heed_put(txn, dbi, &key, &val, HEED_APPEND));
	cr_assert_eq(dbi_entries(txn, dbi), 3004);
	HEED_OK(heed_txn_commit(txn));

	txn = rtxn();
	for (i = 0; i < 3000; i += 89) {
		snprintf(buf, sizeof(buf), "common-prefix-of-all-%06d", i);
		assert_get(txn, dbi, buf, "v");
	}
	assert_get(txn, dbi, "common-prefix-of-all-003", "v");
	assert_get(txn, dbi, "d", "v");
	heed_txn_abort(txn);
	heed_env_close(env);
	env = NULL;
	HEED_CHECK_CLEAN(dir);
}

Test(api, cursor_put)
{
	heed_txn *txn = wtxn();
	heed_dbi dbi = main_dbi(txn);
	heed_cursor *cur;
	heed_val key, val;

	HEED_OK(heed_cursor_open(txn, dbi, &cur));
	key = hs("m");
	val = hs("M");
	HEED_OK(heed_cursor_put(cur, &key, &val, 0));
	assert_item(cur, HEED_GET_CURRENT, "m", "M");
	key = hs("c");
	val = hs("C");
	HEED_OK(heed_cursor_put(cur, &key, &val, 0));
	/* The cursor is left on the stored item. */
	assert_item(cur, HEED_GET_CURRENT, "c", "C");
	assert_item(cur, HEED_NEXT, "m", "M");

	/* CURRENT replaces the value at the cursor, the key must match. */
	key = hs("m");
	val = hs("M2, longer than before");
	HEED_OK(heed_cursor_put(cur, &key, &val, HEED_CURRENT));
	assert_item(cur, HEED_GET_CURRENT, "m", "M2, longer than before");
	key = hs("c");
	val = hs("X");
	HEED_RC(heed_cursor_put(cur, &key, &val, HEED_CURRENT), EINVAL);
	assert_item(cur, HEED_FIRST, "c", "C");
	key = hs("c");
	val = hs("");
	HEED_OK(heed_cursor_put(cur, &key, &val, HEED_CURRENT));
	assert_item(cur, HEED_GET_CURRENT, "c", "");

	/* APPEND through a cursor follows heed_put's rule. */
	key = hs("a");
	val = hs("A");
	HEED_RC(heed_cursor_put(cur, &key, &val, HEED_APPEND), HEED_KEYEXIST);
	key = hs("z");
	val = hs("Z");
	HEED_OK(heed_cursor_put(cur, &key, &val, HEED_APPEND));
	assert_item(cur, HEED_GET_CURRENT, "z", "Z");
	heed_cursor_close(cur);
	cr_assert_eq(dbi_entries(txn, dbi), 3);
	HEED_OK(heed_txn_commit(txn));

	txn = rtxn();
	assert_get(txn, dbi, "c", "");
	assert_get(txn, dbi, "m", "M2, longer than before");
	assert_get(txn, dbi, "z", "Z");
	heed_txn_abort(txn);
}

Test(api, cursor_del)
{
	heed_txn *txn;
	heed_dbi dbi;
	heed_cursor *cur;
	heed_val key, val;
	int rc;

	fill_five();
	txn = wtxn();
	dbi = main_dbi(txn);
	HEED_OK(heed_cursor_open(txn, dbi, &cur));
	HEED_RC(heed_cursor_del(cur, 1), EINVAL);

	/* Delete from the middle: the cursor moves to the next item. */
	key = hs("f");
	HEED_OK(heed_cursor_get(cur, &key, &val, HEED_SET));
	HEED_RC(heed_cursor_del(cur, 0x10), EINVAL);
	HEED_OK(heed_cursor_del(cur, 0));
	assert_item(cur, HEED_GET_CURRENT, "h", "H");
	assert_missing(txn, dbi, "f");
	cr_assert_eq(dbi_entries(txn, dbi), 4);

	/* Delete the first, then the last. */
	assert_item(cur, HEED_FIRST, "b", "B");
	HEED_OK(heed_cursor_del(cur, 0));
	assert_item(cur, HEED_GET_CURRENT, "d", "D");
	assert_item(cur, HEED_LAST, "j", "J");
	HEED_OK(heed_cursor_del(cur, 0));
	assert_item(cur, HEED_LAST, "h", "H");
	cr_assert_eq(dbi_entries(txn, dbi), 2);

	/* Delete everything by repeated FIRST + del. */
	while ((rc = heed_cursor_get(cur, &key, &val, HEED_FIRST)) == 0)
		HEED_OK(heed_cursor_del(cur, 0));
	HEED_RC(rc, HEED_NOTFOUND);
	cr_assert_eq(dbi_entries(txn, dbi), 0);
	heed_cursor_close(cur);
	HEED_OK(heed_txn_commit(txn));

	txn = rtxn();
	cr_assert_eq(dbi_entries(txn, dbi), 0);
	heed_txn_abort(txn);
}

Test(api, cursor_del_many_walk)
{
	/* Deleting every other item while walking crosses page boundaries. */
	heed_txn *txn = wtxn();
	heed_dbi dbi = main_dbi(txn);
	heed_cursor *cur;
	heed_val key, val;
	char buf[32], vbuf[64];
	int i, rc;

	memset(vbuf, 'v', sizeof(vbuf));
	for (i = 0; i < 3000; i++) {
		snprintf(buf, sizeof(buf), "%08d", i);
		key = hs(buf);
		val = hv(vbuf, sizeof(vbuf));
		HEED_OK(heed_put(txn, dbi, &key, &val, 0));
	}
	HEED_OK(heed_cursor_open(txn, dbi, &cur));
	rc = heed_cursor_get(cur, &key, &val, HEED_FIRST);
	for (i = 0; rc == 0; i++) {
		snprintf(buf, sizeof(buf), "%08d", i);
		cr_assert(key.size == 8 && memcmp(key.data, buf, 8) == 0,
			  "walk at %d found the wrong key", i);
		if (i % 2 == 0) {
			HEED_OK(heed_cursor_del(cur, 0));
			rc = heed_cursor_get(cur, &key, &val, HEED_GET_CURRENT);
			if (rc == HEED_NOTFOUND || rc == EINVAL)
				break;
		} else {
			rc = heed_cursor_get(cur, &key, &val, HEED_NEXT);
		}
	}
	cr_assert_eq(i, 3000, "walk stopped at %d of 3000", i);
	heed_cursor_close(cur);
	cr_assert_eq(dbi_entries(txn, dbi), 1500);
	HEED_OK(heed_txn_commit(txn));
	txn = rtxn();
	for (i = 0; i < 3000; i++) {
		snprintf(buf, sizeof(buf), "%08d", i);
		key = hs(buf);
		HEED_RC(heed_get(txn, dbi, &key, &val), i % 2 ? 0 : HEED_NOTFOUND);
	}
	heed_txn_abort(txn);
}

Test(api, drop)
{
	heed_txn *txn;
	heed_dbi dbi, a;
	heed_cursor *cur;
	heed_val key, val;

	fill_five();
	txn = wtxn();
	dbi = main_dbi(txn);
	HEED_RC(heed_drop(txn, dbi, 1), EINVAL);
	HEED_OK(heed_drop(txn, dbi, 0));
	cr_assert_eq(dbi_entries(txn, dbi), 0);
	HEED_OK(heed_cursor_open(txn, dbi, &cur));
	HEED_RC(heed_cursor_get(cur, &key, &val, HEED_FIRST), HEED_NOTFOUND);
	heed_cursor_close(cur);
	/* The emptied db takes new data in the same txn. */
	put_str(txn, dbi, "x", "X");
	HEED_OK(heed_txn_commit(txn));

	txn = rtxn();
	cr_assert_eq(dbi_entries(txn, dbi), 1);
	assert_get(txn, dbi, "x", "X");
	assert_missing(txn, dbi, "b");
	/* drop needs a write txn. */
	HEED_RC(heed_drop(txn, dbi, 0), EACCES);
	heed_txn_abort(txn);

	/* Delete a named db: its name is gone and its handle closed. */
	txn = wtxn();
	HEED_OK(heed_dbi_open(txn, "a", HEED_CREATE, &a));
	put_str(txn, a, "k", "v");
	HEED_OK(heed_txn_commit(txn));
	txn = wtxn();
	HEED_OK(heed_drop(txn, a, 1));
	HEED_OK(heed_txn_commit(txn));
	txn = rtxn();
	HEED_RC(heed_dbi_open(txn, "a", 0, &a), HEED_NOTFOUND);
	heed_txn_abort(txn);
	/* Re-created, it starts empty. */
	txn = wtxn();
	HEED_OK(heed_dbi_open(txn, "a", HEED_CREATE, &a));
	cr_assert_eq(dbi_entries(txn, a), 0);
	HEED_OK(heed_txn_commit(txn));

	/* Aborting a drop keeps the data. */
	txn = wtxn();
	HEED_OK(heed_drop(txn, dbi, 0));
	heed_txn_abort(txn);
	txn = rtxn();
	assert_get(txn, dbi, "x", "X");
	heed_txn_abort(txn);
}

Test(api, named_databases)
{
	heed_txn *txn;
	heed_dbi a, b, c, a2, m;
	heed_val key, val;

	txn = rtxn();
	HEED_RC(heed_dbi_open(txn, "a", 0, &a), HEED_NOTFOUND);
	HEED_RC(heed_dbi_open(txn, "a", HEED_CREATE, &a), EACCES);
	heed_txn_abort(txn);

	txn = wtxn();
	m = main_dbi(txn);
	HEED_OK(heed_dbi_open(txn, "a", HEED_CREATE, &a));
	HEED_OK(heed_dbi_open(txn, "b", HEED_CREATE, &b));
	cr_assert_neq(a, b);
	cr_assert_neq(a, m);
	HEED_OK(heed_dbi_open(txn, "a", 0, &a2));
	cr_assert_eq(a, a2, "the same name should give the same handle");
	put_str(txn, a, "k", "in a");
	put_str(txn, b, "k", "in b");
	put_str(txn, m, "k", "in main");
	HEED_OK(heed_txn_commit(txn));

	/* Handles of a committed txn stay valid; each db keeps its own data. */
	txn = rtxn();
	assert_get(txn, a, "k", "in a");
	assert_get(txn, b, "k", "in b");
	assert_get(txn, m, "k", "in main");
	cr_assert_eq(dbi_entries(txn, a), 1);
	heed_txn_abort(txn);

	/* A handle opened in an aborted txn is closed. */
	txn = wtxn();
	HEED_OK(heed_dbi_open(txn, "c", HEED_CREATE, &c));
	put_str(txn, c, "k", "in c");
	heed_txn_abort(txn);
	txn = rtxn();
	key = hs("k");
	HEED_RC(heed_get(txn, c, &key, &val), HEED_BAD_DBI);
	HEED_RC(heed_dbi_open(txn, "c", 0, &c), HEED_NOTFOUND);
	/* A handle number that was never opened. */
	HEED_RC(heed_get(txn, 1000, &key, &val), HEED_BAD_DBI);
	heed_txn_abort(txn);

	/* Survives a reopen of the env. */
	heed_env_close(env);
	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 4));
	txn = rtxn();
	HEED_OK(heed_dbi_open(txn, "b", 0, &b));
	assert_get(txn, b, "k", "in b");
	heed_txn_abort(txn);
}

Test(api, maxdbs)
{
	heed_txn *txn;
	heed_dbi d;
	char name[8];
	int i;

	/* maxdbs 0: only the main database. */
	heed_env_close(env);
	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 0));
	txn = wtxn();
	HEED_RC(heed_dbi_open(txn, "x", HEED_CREATE, &d), HEED_DBS_FULL);
	heed_txn_abort(txn);
	heed_env_close(env);

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 3));
	txn = wtxn();
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "db%d", i);
		HEED_OK(heed_dbi_open(txn, name, HEED_CREATE, &d));
	}
	HEED_RC(heed_dbi_open(txn, "db3", HEED_CREATE, &d), HEED_DBS_FULL);
	/* The txn is still usable after DBS_FULL. */
	HEED_OK(heed_dbi_open(txn, "db1", 0, &d));
	put_str(txn, d, "k", "v");
	HEED_OK(heed_txn_commit(txn));
	txn = rtxn();
	assert_get(txn, d, "k", "v");
	heed_txn_abort(txn);
}

Test(api, stat_and_info)
{
	heed_txn *txn;
	heed_dbi dbi;
	heed_stat st;
	heed_envinfo info, info2;
	heed_val key, val;
	char buf[32];
	char *big;
	int i;

	HEED_OK(heed_env_info(env, &info));
	cr_assert_eq(info.mapsize, (size_t)1 << 30, "default map size is 1 GiB, got %zu",
		     info.mapsize);
	cr_assert_eq(info.maxreaders, 126);
	cr_assert_eq(info.numreaders, 0);
	HEED_OK(heed_env_stat(env, &st));
	cr_assert_eq(st.psize, 4096);
	cr_assert_eq(st.entries, 0);
	cr_assert_eq(st.depth, 0);
	cr_assert_geq(heed_env_get_maxkeysize(env), 511);

	txn = wtxn();
	dbi = main_dbi(txn);
	cr_assert_eq(heed_txn_id(txn), info.last_txnid + 1, "a write txn's id is the next txnid");
	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "key-%07d", i);
		key = hs(buf);
		val = hs(buf);
		HEED_OK(heed_put(txn, dbi, &key, &val, 0));
	}
	big = malloc(3 * 4096);
	cr_assert_not_null(big);
	memset(big, 'x', 3 * 4096);
	key = hs("big");
	val = hv(big, 3 * 4096);
	HEED_OK(heed_put(txn, dbi, &key, &val, 0));
	free(big);
	HEED_OK(heed_txn_commit(txn));

	HEED_OK(heed_env_stat(env, &st));
	cr_assert_eq(st.entries, 5001);
	cr_assert_geq(st.depth, 2, "5000 keys need a branch level");
	cr_assert_geq(st.branch_pages, 1);
	cr_assert_geq(st.leaf_pages, 5000 * 20 / 4096);
	cr_assert_geq(st.overflow_pages, 3, "a 3-page value needs >= 3 overflow pages");
	cr_assert_leq(st.overflow_pages, 4);
	HEED_OK(heed_env_info(env, &info2));
	cr_assert_eq(info2.last_txnid, info.last_txnid + 1);
	cr_assert_geq(info2.last_pgno, st.branch_pages + st.leaf_pages + st.overflow_pages);

	/* A read txn takes a reader slot and sees the committed txnid. */
	txn = rtxn();
	HEED_OK(heed_env_info(env, &info));
	cr_assert_eq(info.numreaders, 1);
	cr_assert_eq(heed_txn_id(txn), info2.last_txnid);
	HEED_OK(heed_dbi_stat(txn, dbi, &st));
	cr_assert_eq(st.entries, 5001);
	heed_txn_abort(txn);

	/* An aborted write txn changes neither the counts nor the txnid. */
	txn = wtxn();
	key = hs("key-0000001");
	HEED_OK(heed_del(txn, dbi, &key, NULL));
	heed_txn_abort(txn);
	HEED_OK(heed_env_stat(env, &st));
	cr_assert_eq(st.entries, 5001);
	HEED_OK(heed_env_info(env, &info));
	cr_assert_eq(info.last_txnid, info2.last_txnid);
	HEED_OK(heed_env_sync(env, 1));
	HEED_OK(heed_env_sync(env, 0));
}

/* n keys "<prefix>NNNNN" with 100-byte values into dbi: several pages. */
static void put_many(heed_txn *txn, heed_dbi dbi, const char *prefix, int n)
{
	char k[32], v[100];
	heed_val key, val;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "%s%05d", prefix, i);
		memset(v, 'a' + i % 26, sizeof(v));
		key = hs(k);
		val = hv(v, sizeof(v));
		HEED_OK(heed_put(txn, dbi, &key, &val, 0));
	}
}

/* Issue 10, item 2: dropping the main db frees the named dbs' trees as the
 * txn has them: a db changed in the txn (its pages were copied: the old
 * ones are freed already) and a db created and filled in it (no record on
 * disk yet). Before, the first had pages freed twice and the second
 * leaked. */
Test(api, drop_main_frees_named_dbs_as_the_txn_has_them)
{
	heed_txn *txn;
	heed_dbi m, a, b;

	txn = wtxn();
	m = main_dbi(txn);
	HEED_OK(heed_dbi_open(txn, "a", HEED_CREATE, &a));
	put_many(txn, a, "a", 300);
	put_many(txn, m, "m", 50);
	HEED_OK(heed_txn_commit(txn));
	HEED_CHECK_CLEAN(dir);

	txn = wtxn();
	put_many(txn, a, "b", 300);
	HEED_OK(heed_dbi_open(txn, "b", HEED_CREATE, &b));
	put_many(txn, b, "c", 300);
	HEED_OK(heed_drop(txn, m, 0));
	cr_assert_eq(dbi_entries(txn, m), 0);
	HEED_RC(heed_dbi_stat(txn, a, &(heed_stat){0}), HEED_BAD_DBI);
	HEED_OK(heed_txn_commit(txn));
	HEED_CHECK_CLEAN(dir);

	/* The next writer reuses the freed pages without harm. */
	txn = wtxn();
	put_many(txn, m, "n", 400);
	HEED_RC(heed_dbi_open(txn, "a", 0, &a), HEED_NOTFOUND);
	HEED_OK(heed_dbi_open(txn, "a", HEED_CREATE, &a));
	put_many(txn, a, "d", 100);
	HEED_OK(heed_txn_commit(txn));
	HEED_CHECK_CLEAN(dir);
	txn = rtxn();
	cr_assert_eq(dbi_entries(txn, m), 401, "400 keys and the record of a");
	cr_assert_eq(dbi_entries(txn, a), 100);
	heed_txn_abort(txn);
}

/* Issue 10, item 9: a db's record is in the main db from its creation on,
 * so a put of its name as a main-db key is refused (HEED_INCOMPATIBLE, as
 * LMDB) and the rest of the txn commits. Before, the put returned 0 and the
 * commit failed with EINVAL, losing the whole txn. */
Test(api, db_name_is_not_a_main_key)
{
	heed_txn *txn;
	heed_dbi m, s, x;
	heed_cursor *cur;
	heed_val key, val;

	txn = wtxn();
	m = main_dbi(txn);
	put_str(txn, m, "k1", "one");
	HEED_OK(heed_dbi_open(txn, "sub", HEED_CREATE, &s));
	key = hs("sub");
	val = hs("user data");
	HEED_RC(heed_put(txn, m, &key, &val, 0), HEED_INCOMPATIBLE);
	HEED_RC(heed_put(txn, m, &key, &val, HEED_NOOVERWRITE), HEED_KEYEXIST);
	HEED_RC(heed_del(txn, m, &key, NULL), HEED_INCOMPATIBLE);
	put_str(txn, m, "k2", "two");
	put_str(txn, s, "x", "in sub");
	/* A scan of the main db meets the record. */
	HEED_OK(heed_cursor_open(txn, m, &cur));
	assert_item(cur, HEED_FIRST, "k1", "one");
	assert_item(cur, HEED_NEXT, "k2", "two");
	HEED_OK(heed_cursor_get(cur, &key, &val, HEED_NEXT));
	assert_val(&key, "sub", "the db record's key");
	cr_assert_eq(val.size, 48, "a db record is 48 bytes, got %zu", val.size);
	HEED_RC(heed_cursor_put(cur, &key, &val, HEED_CURRENT), HEED_INCOMPATIBLE);
	HEED_OK(heed_cursor_get(cur, &key, &val, HEED_SET_KEY));
	HEED_RC(heed_cursor_del(cur, 0), HEED_INCOMPATIBLE);
	heed_cursor_close(cur);
	/* A plain key cannot be opened as a db, with or without CREATE. */
	HEED_RC(heed_dbi_open(txn, "k1", 0, &x), HEED_INCOMPATIBLE);
	HEED_RC(heed_dbi_open(txn, "k1", HEED_CREATE, &x), HEED_INCOMPATIBLE);
	HEED_OK(heed_txn_commit(txn));
	HEED_CHECK_CLEAN(dir);

	txn = rtxn();
	assert_get(txn, m, "k1", "one");
	assert_get(txn, m, "k2", "two");
	assert_get(txn, s, "x", "in sub");
	cr_assert_eq(dbi_entries(txn, m), 3);
	heed_txn_abort(txn);
}

/* Issue 10, item 8: a read txn R holds state for "sub"; a writer deletes
 * "sub" and "other" gets its dbi number. R must not read sub's values as
 * "other", and aborting R must not close "other" for the environment. */
Test(api, dbi_reused_under_an_older_read_txn)
{
	heed_txn *txn, *r;
	heed_dbi s, s2, o, o2;
	heed_val key = hs("k"), val;

	txn = wtxn();
	HEED_OK(heed_dbi_open(txn, "sub", HEED_CREATE, &s));
	put_str(txn, s, "k", "sub's value");
	HEED_OK(heed_txn_commit(txn));
	/* A fresh handle: R is the first to open "sub" in it. */
	heed_env_close(env);
	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 4));

	r = rtxn();
	HEED_OK(heed_dbi_open(r, "sub", 0, &s));
	assert_get(r, s, "k", "sub's value");

	txn = wtxn();
	HEED_OK(heed_dbi_open(txn, "sub", 0, &s2));
	cr_assert_eq(s2, s);
	HEED_OK(heed_drop(txn, s2, 1));
	HEED_OK(heed_txn_commit(txn));
	txn = wtxn();
	HEED_OK(heed_dbi_open(txn, "other", HEED_CREATE, &o));
	put_str(txn, o, "k", "other's value");
	HEED_OK(heed_txn_commit(txn));
	cr_assert_eq(o, s, "the test needs \"other\" to reuse sub's dbi (%u, %u)", o, s);

	/* R's snapshot has no "other"; its dbi does not read sub's values. */
	HEED_RC(heed_dbi_open(r, "other", 0, &o2), HEED_NOTFOUND);
	HEED_RC(heed_get(r, o, &key, &val), HEED_BAD_DBI);
	heed_txn_abort(r);

	txn = rtxn();
	assert_get(txn, o, "k", "other's value");
	HEED_OK(heed_dbi_open(txn, "other", 0, &o2));
	cr_assert_eq(o2, o);
	heed_txn_abort(txn);
}
