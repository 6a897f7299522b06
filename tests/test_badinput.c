/*
 * test_badinput: every public function of heed.h given bad input returns a
 * documented code and does not crash.
 *
 * Bad input here means: NULL pointers; a transaction in the wrong state (a
 * reset read txn, a txn that failed with HEED_MAP_FULL, a read txn asked to
 * write); a dbi that was never opened, was opened in an aborted txn, was
 * dropped, or belongs to another environment; an empty or oversized key;
 * configuration calls out of order; a read-only environment asked for a
 * write txn; files that are not heed files. Freed handles are never used:
 * that is undefined behaviour for any C library, not bad input.
 */
#include <fcntl.h>

#include "common.h"
#include "internal.h"

static char tmpdir[64];
static heed_env *env;

/* An environment with room for four named databases, opened in dir. */
static heed_env *open_env(const char *dir, unsigned int flags)
{
	heed_env *e;
	int rc = env_open_dir(&e, dir, flags, 0, 0, 4);
	cr_assert_eq(rc, 0, "open %s: %s", dir, heed_strerror(rc));
	return e;
}

static void setup(void)
{
	tmpdir_make(tmpdir, sizeof(tmpdir), "badinput");
	env = open_env(tmpdir, 0);
}

static void teardown(void)
{
	heed_env_close(env);
	env = NULL;
	tmpdir_remove(tmpdir);
}

static heed_txn *begin(heed_env *e, unsigned int flags)
{
	heed_txn *txn = NULL;
	int rc = heed_txn_begin(e, NULL, flags, &txn);
	cr_assert_eq(rc, 0, "txn_begin: %s", heed_strerror(rc));
	return txn;
}

static void put_commit(heed_env *e, const char *k, const char *v)
{
	heed_txn *txn = begin(e, 0);
	heed_val key = hs(k), data = hs(v);
	cr_assert_eq(heed_put(txn, 0, &key, &data, 0), 0);
	cr_assert_eq(heed_txn_commit(txn), 0);
}

TestSuite(badinput, .init = setup, .fini = teardown);

/* Remove the lock file beside a NOSUBDIR data file. */
static void drop_lock_file(const char *path)
{
	char lock[200];
	snprintf(lock, sizeof(lock), "%s-lock", path);
	unlink(lock);
}

Test(badinput, null_env_and_config)
{
	cr_assert_eq(heed_env_create(NULL), EINVAL);
	cr_assert_eq(heed_env_set_mapsize(NULL, 1 << 20), EINVAL);
	cr_assert_eq(heed_env_set_maxdbs(NULL, 2), EINVAL);
	cr_assert_eq(heed_env_set_maxreaders(NULL, 2), EINVAL);
	cr_assert_eq(heed_env_set_pagesize(NULL, 4096), EINVAL);
	cr_assert_eq(heed_env_open(NULL, tmpdir, 0, 0644), EINVAL);
	cr_assert_eq(heed_env_sync(NULL, 1), EINVAL);
	heed_stat st;
	heed_envinfo info;
	cr_assert_eq(heed_env_stat(NULL, &st), EINVAL);
	cr_assert_eq(heed_env_stat(env, NULL), EINVAL);
	cr_assert_eq(heed_env_info(NULL, &info), EINVAL);
	cr_assert_eq(heed_env_info(env, NULL), EINVAL);
	cr_assert_eq(heed_env_get_maxkeysize(NULL), -1);
	heed_env_close(NULL);

	heed_env *e = NULL;
	cr_assert_eq(heed_env_create(&e), 0);
	cr_assert_eq(heed_env_open(e, NULL, 0, 0644), EINVAL);
	heed_env_close(e);
}

Test(badinput, null_txn_and_dbi)
{
	heed_txn *txn = NULL;
	heed_dbi dbi = 0;
	heed_stat st;
	cr_assert_eq(heed_txn_begin(NULL, NULL, 0, &txn), EINVAL);
	cr_assert_eq(heed_txn_begin(env, NULL, 0, NULL), EINVAL);
	cr_assert_eq(heed_txn_commit(NULL), EINVAL);
	heed_txn_abort(NULL);
	heed_txn_reset(NULL);
	cr_assert_eq(heed_txn_renew(NULL), EINVAL);
	cr_assert_eq(heed_txn_id(NULL), 0);
	cr_assert_eq(heed_dbi_open(NULL, NULL, 0, &dbi), EINVAL);
	cr_assert_eq(heed_dbi_stat(NULL, 0, &st), EINVAL);
	cr_assert_eq(heed_drop(NULL, 0, 0), EINVAL);

	txn = begin(env, 0);
	cr_assert_eq(heed_dbi_open(txn, NULL, 0, NULL), EINVAL);
	cr_assert_eq(heed_dbi_stat(txn, 0, NULL), EINVAL);
	heed_txn_abort(txn);
}

Test(badinput, null_data_ops)
{
	heed_val key = hs("k"), data = hs("v");
	cr_assert_eq(heed_get(NULL, 0, &key, &data), EINVAL);
	cr_assert_eq(heed_put(NULL, 0, &key, &data, 0), EINVAL);
	cr_assert_eq(heed_del(NULL, 0, &key, NULL), EINVAL);

	heed_txn *txn = begin(env, 0);
	cr_assert_eq(heed_get(txn, 0, NULL, &data), EINVAL);
	cr_assert_eq(heed_get(txn, 0, &key, NULL), EINVAL);
	cr_assert_eq(heed_put(txn, 0, NULL, &data, 0), EINVAL);
	cr_assert_eq(heed_put(txn, 0, &key, NULL, 0), EINVAL);
	cr_assert_eq(heed_del(txn, 0, NULL, NULL), EINVAL);
	heed_val nokey = {3, NULL};
	cr_assert_eq(heed_put(txn, 0, &nokey, &data, 0), EINVAL);
	cr_assert_eq(heed_get(txn, 0, &nokey, &data), EINVAL);
	heed_val nodata = {3, NULL};
	cr_assert_eq(heed_put(txn, 0, &key, &nodata, 0), EINVAL);
	/* A refused call must not have stored anything half-way. */
	heed_stat st;
	cr_assert_eq(heed_dbi_stat(txn, 0, &st), 0);
	cr_assert_eq(st.entries, 0);
	/* The txn is still good after all that. */
	cr_assert_eq(heed_put(txn, 0, &key, &data, 0), 0);
	cr_assert_eq(heed_txn_commit(txn), 0);
}

Test(badinput, null_cursor)
{
	heed_val key = hs("k"), data = hs("v");
	heed_cursor *cur = NULL;
	cr_assert_eq(heed_cursor_open(NULL, 0, &cur), EINVAL);
	heed_cursor_close(NULL);
	cr_assert_eq(heed_cursor_get(NULL, &key, &data, HEED_FIRST), EINVAL);
	cr_assert_eq(heed_cursor_put(NULL, &key, &data, 0), EINVAL);
	cr_assert_eq(heed_cursor_del(NULL, 0), EINVAL);

	put_commit(env, "k", "v");
	heed_txn *txn = begin(env, 0);
	cr_assert_eq(heed_cursor_open(txn, 0, NULL), EINVAL);
	cr_assert_eq(heed_cursor_open(txn, 0, &cur), 0);
	cr_assert_eq(heed_cursor_get(cur, NULL, &data, HEED_SET), EINVAL);
	cr_assert_eq(heed_cursor_get(cur, NULL, &data, HEED_SET_RANGE), EINVAL);
	cr_assert_eq(heed_cursor_get(cur, &key, &data, (heed_cursor_op)999), EINVAL);
	cr_assert_eq(heed_cursor_put(cur, NULL, &data, 0), EINVAL);
	cr_assert_eq(heed_cursor_put(cur, &key, NULL, 0), EINVAL);
	cr_assert_eq(heed_cursor_del(cur, 0x1), EINVAL);
	heed_cursor_close(cur);
	/* Refused cursor calls leave the database as it was and the txn
	 * committable. */
	heed_stat st;
	cr_assert_eq(heed_dbi_stat(txn, 0, &st), 0);
	cr_assert_eq(st.entries, 1);
	cr_assert_eq(heed_txn_commit(txn), 0);
}

Test(badinput, strerror_names_every_code)
{
	static const int codes[] = {HEED_KEYEXIST, HEED_NOTFOUND,	  HEED_CORRUPTED,
				    HEED_PANIC,	   HEED_VERSION_MISMATCH, HEED_INVALID,
				    HEED_MAP_FULL, HEED_DBS_FULL,	  HEED_READERS_FULL,
				    HEED_BAD_TXN,  HEED_BAD_VALSIZE,	  HEED_BAD_DBI,
				    HEED_BUSY};
	const size_t n = sizeof(codes) / sizeof(codes[0]);
	for (size_t i = 0; i < n; i++) {
		const char *s = heed_strerror(codes[i]);
		cr_assert_not_null(s);
		cr_assert_gt(strlen(s), 0);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(s, heed_strerror(codes[j]),
					  "codes %d and %d share a text", codes[i], codes[j]);
	}
	cr_assert_not_null(heed_strerror(0));
	cr_assert_not_null(heed_strerror(-1));
	cr_assert_not_null(heed_strerror(-99999));
	cr_assert_not_null(heed_strerror(99999));
	cr_assert_str_eq(heed_strerror(EIO), strerror(EIO));
	cr_assert_not_null(heed_version(NULL, NULL, NULL));
}

Test(badinput, config_out_of_order)
{
	/* Before open: page sizes that are not a power of two in range. */
	heed_env *e = NULL;
	cr_assert_eq(heed_env_create(&e), 0);
	cr_assert_eq(heed_env_set_pagesize(e, 2048), EINVAL);
	cr_assert_eq(heed_env_set_pagesize(e, 131072), EINVAL);
	cr_assert_eq(heed_env_set_pagesize(e, 5000), EINVAL);
	cr_assert_eq(heed_env_set_pagesize(e, 0), EINVAL);
	cr_assert_eq(heed_env_set_pagesize(e, 8192), 0);
	heed_env_close(e);

	/* After open: only the map size may change. */
	cr_assert_eq(heed_env_set_maxdbs(env, 8), EINVAL);
	cr_assert_eq(heed_env_set_maxreaders(env, 8), EINVAL);
	cr_assert_eq(heed_env_set_pagesize(env, 8192), EINVAL);
	cr_assert_eq(heed_env_open(env, tmpdir, 0, 0644), EINVAL, "second open of one handle");

	/* Not while this process has a txn open. */
	heed_txn *txn = begin(env, HEED_RDONLY);
	cr_assert_neq(heed_env_set_mapsize(env, 64 << 20), 0);
	heed_txn_abort(txn);
	cr_assert_eq(heed_env_set_mapsize(env, 64 << 20), 0);

	/* Never below what the file uses. */
	txn = begin(env, 0);
	static char big[64 << 10];
	for (int i = 0; i < 64; i++) {
		char k[16];
		snprintf(k, sizeof(k), "key%03d", i);
		heed_val key = hs(k), data = {sizeof(big), big};
		cr_assert_eq(heed_put(txn, 0, &key, &data, 0), 0);
	}
	cr_assert_eq(heed_txn_commit(txn), 0);
	cr_assert_eq(heed_env_set_mapsize(env, 8192), EINVAL);
	put_commit(env, "after", "remap");
}

Test(badinput, open_bad_paths_and_files)
{
	char path[128];
	heed_env *e = NULL;

	snprintf(path, sizeof(path), "%s/missing/dir", tmpdir);
	cr_assert_eq(heed_env_create(&e), 0);
	cr_assert_eq(heed_env_open(e, path, 0, 0644), ENOENT);
	heed_env_close(e);

	/* A text file where data.heed should be. */
	char dir[64];
	tmpdir_make(dir, sizeof(dir), "badinput");
	snprintf(path, sizeof(path), "%s/data.heed", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < 1000; i++)
		fputs("this is not a heed file at all\n", f);
	fclose(f);
	cr_assert_eq(heed_env_create(&e), 0);
	cr_assert_eq(heed_env_open(e, dir, 0, 0644), HEED_INVALID);
	heed_env_close(e);

	/* Too short to hold a meta page. */
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("heed?", f);
	fclose(f);
	cr_assert_eq(heed_env_create(&e), 0);
	int rc = heed_env_open(e, dir, 0, 0644);
	cr_assert(rc == HEED_INVALID || rc == HEED_CORRUPTED, "short file: %s", heed_strerror(rc));
	heed_env_close(e);

	/* A directory where the data file should be (NOSUBDIR). */
	cr_assert_eq(heed_env_create(&e), 0);
	cr_assert_neq(heed_env_open(e, dir, HEED_NOSUBDIR, 0644), 0);
	heed_env_close(e);
	tmpdir_remove(dir);
}

Test(badinput, read_txn_asked_to_write)
{
	put_commit(env, "k", "v");
	heed_txn *txn = begin(env, HEED_RDONLY);
	heed_val key = hs("k"), data = hs("w");
	heed_dbi dbi;
	cr_assert_eq(heed_put(txn, 0, &key, &data, 0), EACCES);
	cr_assert_eq(heed_del(txn, 0, &key, NULL), EACCES);
	cr_assert_eq(heed_drop(txn, 0, 0), EACCES);
	cr_assert_eq(heed_dbi_open(txn, "new", HEED_CREATE, &dbi), EACCES);
	heed_cursor *cur;
	cr_assert_eq(heed_cursor_open(txn, 0, &cur), 0);
	cr_assert_eq(heed_cursor_get(cur, &key, &data, HEED_FIRST), 0);
	cr_assert_eq(heed_cursor_put(cur, &key, &data, HEED_CURRENT), EACCES);
	cr_assert_eq(heed_cursor_del(cur, 0), EACCES);
	heed_cursor_close(cur);
	/* The snapshot still reads the original value. */
	key = hs("k");
	cr_assert_eq(heed_get(txn, 0, &key, &data), 0);
	cr_assert_eq(data.size, 1);
	cr_assert_eq(memcmp(data.data, "v", 1), 0);
	heed_txn_abort(txn);
}

Test(badinput, readonly_env_refuses_write_txn)
{
	put_commit(env, "k", "v");
	heed_env *ro = NULL;
	cr_assert_eq(heed_env_create(&ro), 0);
	cr_assert_eq(heed_env_open(ro, tmpdir, HEED_RDONLY, 0644), 0);
	heed_txn *txn = NULL;
	cr_assert_eq(heed_txn_begin(ro, NULL, 0, &txn), EACCES);
	txn = begin(ro, HEED_RDONLY);
	heed_val key = hs("k"), data;
	cr_assert_eq(heed_get(txn, 0, &key, &data), 0);
	cr_assert_eq(data.size, 1);
	heed_txn_abort(txn);
	heed_env_close(ro);

	char dir[64];
	tmpdir_make(dir, sizeof(dir), "badinput");
	cr_assert_eq(heed_env_create(&ro), 0);
	cr_assert_neq(heed_env_open(ro, dir, HEED_RDONLY, 0644), 0,
		      "a read-only open must not create an environment");
	heed_env_close(ro);
	tmpdir_remove(dir);
}

Test(badinput, nested_txn_refused)
{
	heed_txn *parent = begin(env, HEED_RDONLY);
	heed_txn *child = NULL, *grand = NULL;

	/* As LMDB: a read-only parent is EINVAL; a read-only child, or a
	 * second child of a parent, HEED_BAD_TXN. */
	cr_assert_eq(heed_txn_begin(env, parent, 0, &child), EINVAL);
	cr_assert_null(child);
	heed_txn_abort(parent);
	parent = begin(env, 0);
	cr_assert_eq(heed_txn_begin(env, parent, HEED_RDONLY, &child), HEED_BAD_TXN);
	cr_assert_eq(heed_txn_begin(env, parent, 0, &child), 0);
	cr_assert_eq(heed_txn_begin(env, parent, 0, &grand), HEED_BAD_TXN);
	cr_assert_null(grand);
	heed_txn_abort(parent); /* aborts the child too */

	/* A parent of another env. */
	char dir2[64];
	heed_env *other;

	tmpdir_make(dir2, sizeof(dir2), "badinput");
	cr_assert_eq(heed_env_create(&other), 0);
	cr_assert_eq(heed_env_open(other, dir2, 0, 0644), 0);
	parent = begin(env, 0);
	cr_assert_eq(heed_txn_begin(other, parent, 0, &child), EINVAL);
	heed_txn_abort(parent);
	heed_env_close(other);
	tmpdir_remove(dir2);
}

Test(badinput, key_sizes)
{
	int max = heed_env_get_maxkeysize(env);
	cr_assert_geq(max, 511);
	char *buf = malloc((size_t)max + 2);
	cr_assert_not_null(buf);
	memset(buf, 'x', (size_t)max + 2);

	heed_txn *txn = begin(env, 0);
	heed_val data = hs("v");
	heed_val empty = {0, buf};
	cr_assert_eq(heed_put(txn, 0, &empty, &data, 0), HEED_BAD_VALSIZE);
	cr_assert_eq(heed_get(txn, 0, &empty, &data), HEED_BAD_VALSIZE);
	cr_assert_eq(heed_del(txn, 0, &empty, NULL), HEED_BAD_VALSIZE);
	heed_val toolong = {(size_t)max + 1, buf};
	cr_assert_eq(heed_put(txn, 0, &toolong, &data, 0), HEED_BAD_VALSIZE);
	cr_assert_eq(heed_get(txn, 0, &toolong, &data), HEED_BAD_VALSIZE);
	cr_assert_eq(heed_del(txn, 0, &toolong, NULL), HEED_BAD_VALSIZE);
	heed_val huge = {(size_t)1 << 40, buf};
	cr_assert_eq(heed_put(txn, 0, &huge, &data, 0), HEED_BAD_VALSIZE);

	heed_cursor *cur;
	cr_assert_eq(heed_cursor_open(txn, 0, &cur), 0);
	cr_assert_eq(heed_cursor_put(cur, &toolong, &data, 0), HEED_BAD_VALSIZE);
	cr_assert_eq(heed_cursor_put(cur, &empty, &data, 0), HEED_BAD_VALSIZE);
	cr_assert_eq(heed_cursor_get(cur, &empty, &data, HEED_SET), HEED_BAD_VALSIZE);
	heed_cursor_close(cur);

	/* The txn did not fail: the largest key is stored and read back. */
	heed_val maxkey = {(size_t)max, buf};
	cr_assert_eq(heed_put(txn, 0, &maxkey, &data, 0), 0);
	cr_assert_eq(heed_txn_commit(txn), 0);
	txn = begin(env, HEED_RDONLY);
	heed_val out;
	cr_assert_eq(heed_get(txn, 0, &maxkey, &out), 0);
	cr_assert_eq(out.size, 1);
	heed_txn_abort(txn);
	free(buf);
}

Test(badinput, dbi_not_open)
{
	put_commit(env, "k", "v");
	heed_txn *txn = begin(env, 0);
	heed_val key = hs("k"), data = hs("v");
	heed_stat st;
	heed_cursor *cur = NULL;
	const heed_dbi bad[] = {77, 4, 0xffffffffu};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		heed_dbi d = bad[i];
		cr_assert_eq(heed_get(txn, d, &key, &data), HEED_BAD_DBI, "dbi %u", d);
		cr_assert_eq(heed_put(txn, d, &key, &data, 0), HEED_BAD_DBI, "dbi %u", d);
		cr_assert_eq(heed_del(txn, d, &key, NULL), HEED_BAD_DBI, "dbi %u", d);
		cr_assert_eq(heed_dbi_stat(txn, d, &st), HEED_BAD_DBI, "dbi %u", d);
		cr_assert_eq(heed_drop(txn, d, 0), HEED_BAD_DBI, "dbi %u", d);
		cr_assert_eq(heed_cursor_open(txn, d, &cur), HEED_BAD_DBI, "dbi %u", d);
	}
	/* The main database is not deleted, only emptied. */
	cr_assert_eq(heed_drop(txn, 0, 1), EINVAL);
	cr_assert_eq(heed_get(txn, 0, &key, &data), 0);
	heed_txn_abort(txn);
}

Test(badinput, dbi_closed_by_abort_and_drop)
{
	heed_txn *txn = begin(env, 0);
	heed_dbi a, b;
	cr_assert_eq(heed_dbi_open(txn, "aborted", HEED_CREATE, &a), 0);
	heed_txn_abort(txn);

	txn = begin(env, 0);
	heed_val key = hs("k"), data = hs("v");
	cr_assert_eq(heed_put(txn, a, &key, &data, 0), HEED_BAD_DBI,
		     "a dbi opened in an aborted txn is closed");
	cr_assert_eq(heed_dbi_open(txn, "dropped", HEED_CREATE, &b), 0);
	cr_assert_eq(heed_put(txn, b, &key, &data, 0), 0);
	cr_assert_eq(heed_txn_commit(txn), 0);

	txn = begin(env, 0);
	cr_assert_eq(heed_drop(txn, b, 1), 0);
	cr_assert_eq(heed_put(txn, b, &key, &data, 0), HEED_BAD_DBI);
	cr_assert_eq(heed_txn_commit(txn), 0);

	txn = begin(env, HEED_RDONLY);
	cr_assert_eq(heed_get(txn, b, &key, &data), HEED_BAD_DBI);
	cr_assert_eq(heed_dbi_open(txn, "dropped", 0, &b), HEED_NOTFOUND);
	heed_txn_abort(txn);
}

Test(badinput, dbi_of_another_env)
{
	/* env has three named databases; other has none, so their handles
	 * are not open there. */
	heed_txn *txn = begin(env, 0);
	heed_dbi d[3];
	const char *names[] = {"a", "b", "c"};
	for (int i = 0; i < 3; i++)
		cr_assert_eq(heed_dbi_open(txn, names[i], HEED_CREATE, &d[i]), 0);
	cr_assert_eq(heed_txn_commit(txn), 0);

	char dir[64];
	tmpdir_make(dir, sizeof(dir), "badinput");
	heed_env *other = open_env(dir, 0);
	txn = begin(other, 0);
	heed_val key = hs("k"), data = hs("v");
	for (int i = 0; i < 3; i++) {
		if (d[i] == 0)
			continue;
		cr_assert_eq(heed_put(txn, d[i], &key, &data, 0), HEED_BAD_DBI);
		cr_assert_eq(heed_get(txn, d[i], &key, &data), HEED_BAD_DBI);
	}
	cr_assert_eq(heed_put(txn, 0, &key, &data, 0), 0);
	cr_assert_eq(heed_txn_commit(txn), 0);
	heed_env_close(other);
	tmpdir_remove(dir);
}

Test(badinput, named_db_limits)
{
	char dir[64];
	tmpdir_make(dir, sizeof(dir), "badinput");
	heed_env *e;
	HEED_OK(env_open_dir(&e, dir, 0, 0, 0, 0));
	heed_txn *txn = begin(e, 0);
	heed_dbi d;
	cr_assert_eq(heed_dbi_open(txn, "named", HEED_CREATE, &d), HEED_DBS_FULL,
		     "a named database needs set_maxdbs");
	heed_txn_abort(txn);
	heed_env_close(e);
	tmpdir_remove(dir);

	txn = begin(env, 0);
	char name[8];
	int rc = 0;
	for (int i = 0; i < 8 && rc == 0; i++) {
		snprintf(name, sizeof(name), "db%d", i);
		rc = heed_dbi_open(txn, name, HEED_CREATE, &d);
	}
	cr_assert_eq(rc, HEED_DBS_FULL);
	cr_assert_eq(heed_dbi_open(txn, "absent", 0, &d), HEED_NOTFOUND);
	heed_txn_abort(txn);
}

Test(badinput, reset_read_txn)
{
	put_commit(env, "k", "v");
	heed_txn *txn = begin(env, HEED_RDONLY);
	cr_assert_eq(heed_txn_renew(txn), HEED_BAD_TXN, "renew of a txn that was not reset");
	heed_txn_reset(txn);
	cr_assert_eq(heed_txn_id(txn), 0);
	heed_val key = hs("k"), data;
	heed_stat st;
	heed_cursor *cur = NULL;
	heed_dbi dbi;
	cr_assert_eq(heed_get(txn, 0, &key, &data), HEED_BAD_TXN);
	cr_assert_eq(heed_dbi_stat(txn, 0, &st), HEED_BAD_TXN);
	cr_assert_eq(heed_cursor_open(txn, 0, &cur), HEED_BAD_TXN);
	cr_assert_eq(heed_dbi_open(txn, NULL, 0, &dbi), HEED_BAD_TXN);
	heed_txn_reset(txn);
	cr_assert_eq(heed_txn_renew(txn), 0);
	cr_assert_neq(heed_txn_id(txn), 0);
	cr_assert_eq(heed_get(txn, 0, &key, &data), 0);
	heed_txn_abort(txn);
}

Test(badinput, reset_and_renew_write_txn)
{
	heed_txn *txn = begin(env, 0);
	heed_txn_reset(txn);
	cr_assert_eq(heed_txn_renew(txn), HEED_BAD_TXN);
	heed_val key = hs("k"), data = hs("v");
	cr_assert_eq(heed_put(txn, 0, &key, &data, 0), 0, "reset is ignored for a write txn");
	cr_assert_eq(heed_txn_commit(txn), 0);
}

Test(badinput, txn_failed_with_map_full)
{
	char dir[64];
	tmpdir_make(dir, sizeof(dir), "badinput");
	heed_env *e;
	HEED_OK(env_open_dir(&e, dir, 0, 0, 256 << 10, 0));
	put_commit(e, "kept", "yes");

	heed_txn *txn = begin(e, 0);
	static char value[1000];
	int rc = 0;
	int n;
	for (n = 0; n < 100000 && rc == 0; n++) {
		char k[16];
		snprintf(k, sizeof(k), "k%06d", n);
		heed_val key = hs(k), data = {sizeof(value), value};
		rc = heed_put(txn, 0, &key, &data, 0);
	}
	cr_assert_eq(rc, HEED_MAP_FULL, "after %d puts: %s", n, heed_strerror(rc));
	heed_val key = hs("kept"), data = hs("x");
	cr_assert_eq(heed_put(txn, 0, &key, &data, 0), HEED_BAD_TXN);
	cr_assert_eq(heed_get(txn, 0, &key, &data), HEED_BAD_TXN);
	cr_assert_eq(heed_del(txn, 0, &key, NULL), HEED_BAD_TXN);
	heed_cursor *cur = NULL;
	cr_assert_eq(heed_cursor_open(txn, 0, &cur), HEED_BAD_TXN);
	cr_assert_neq(heed_txn_commit(txn), 0, "a failed txn does not commit");

	/* Nothing of it is visible; the env is usable and grows. */
	txn = begin(e, HEED_RDONLY);
	heed_val k0 = hs("k000000");
	cr_assert_eq(heed_get(txn, 0, &k0, &data), HEED_NOTFOUND);
	cr_assert_eq(heed_get(txn, 0, &key, &data), 0);
	heed_txn_abort(txn);
	cr_assert_eq(heed_env_set_mapsize(e, 64 << 20), 0);
	txn = begin(e, 0);
	for (int i = 0; i < n; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%06d", i);
		heed_val kk = hs(k), dd = {sizeof(value), value};
		cr_assert_eq(heed_put(txn, 0, &kk, &dd, 0), 0);
	}
	cr_assert_eq(heed_txn_commit(txn), 0);
	heed_env_close(e);
	tmpdir_remove(dir);
}

Test(badinput, cursor_misuse)
{
	put_commit(env, "a", "1");
	put_commit(env, "b", "2");
	heed_txn *txn = begin(env, 0);
	heed_cursor *cur;
	cr_assert_eq(heed_cursor_open(txn, 0, &cur), 0);
	heed_val key = hs("zz"), data;
	int rc = heed_cursor_get(cur, &key, &data, HEED_GET_CURRENT);
	cr_assert(rc == EINVAL || rc == HEED_NOTFOUND, "GET_CURRENT unpositioned: %s",
		  heed_strerror(rc));
	rc = heed_cursor_del(cur, 0);
	cr_assert(rc == EINVAL || rc == HEED_NOTFOUND, "del unpositioned: %s", heed_strerror(rc));
	cr_assert_eq(heed_cursor_get(cur, &key, &data, HEED_SET), HEED_NOTFOUND);
	cr_assert_eq(heed_cursor_get(cur, &key, &data, HEED_FIRST), 0);
	heed_val other = hs("b"), nv = hs("9");
	cr_assert_eq(heed_cursor_put(cur, &other, &nv, HEED_CURRENT), EINVAL,
		     "CURRENT with another key");
	heed_val low = hs("0");
	cr_assert_eq(heed_cursor_put(cur, &low, &nv, HEED_APPEND), HEED_KEYEXIST);
	heed_val a = hs("a");
	cr_assert_eq(heed_cursor_put(cur, &a, &nv, HEED_NOOVERWRITE), HEED_KEYEXIST);
	heed_cursor_close(cur);

	heed_val old = hs("x");
	cr_assert_eq(heed_put(txn, 0, &a, &old, HEED_NOOVERWRITE), HEED_KEYEXIST);
	cr_assert_eq(old.size, 1);
	cr_assert_eq(memcmp(old.data, "1", 1), 0, "NOOVERWRITE returns the existing value");
	cr_assert_eq(heed_put(txn, 0, &low, &nv, HEED_APPEND), HEED_KEYEXIST);
	heed_val gone = hs("nope");
	cr_assert_eq(heed_del(txn, 0, &gone, NULL), HEED_NOTFOUND);
	cr_assert_eq(heed_txn_commit(txn), 0);

	txn = begin(env, HEED_RDONLY);
	cr_assert_eq(heed_get(txn, 0, &a, &data), 0);
	cr_assert_eq(memcmp(data.data, "1", 1), 0);
	cr_assert_eq(heed_get(txn, 0, &low, &data), HEED_NOTFOUND);
	heed_txn_abort(txn);
}

/* Issue 10, item 7: a value over 0xffffffff bytes is HEED_BAD_VALSIZE (as
 * LMDB's MDB_BAD_VALSIZE), from heed_put and heed_cursor_put, and the txn
 * goes on. Before, sizes near SIZE_MAX wrapped and the put crashed. The
 * data pointer names a small buffer: nothing may read that many bytes. */
Test(badinput, value_sizes_over_4gib)
{
	static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 8, (size_t)UINT32_MAX + 1,
				       (size_t)1 << 40};
	char small[16] = "v";
	heed_txn *txn = begin(env, 0);
	heed_val key = hs("k");
	heed_cursor *cur;

	cr_assert_eq(heed_cursor_open(txn, 0, &cur), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		heed_val data = {sizes[i], small};
		int rc = heed_put(txn, 0, &key, &data, 0);
		cr_assert_eq(rc, HEED_BAD_VALSIZE, "put of %zu bytes: %d (%s)", sizes[i], rc,
			     heed_strerror(rc));
		rc = heed_cursor_put(cur, &key, &data, 0);
		cr_assert_eq(rc, HEED_BAD_VALSIZE, "cursor put of %zu bytes: %d (%s)", sizes[i], rc,
			     heed_strerror(rc));
		rc = heed_put(txn, 0, &key, &data, HEED_APPEND);
		cr_assert_eq(rc, HEED_BAD_VALSIZE, "append of %zu bytes: %d (%s)", sizes[i], rc,
			     heed_strerror(rc));
	}
	heed_cursor_close(cur);
	heed_val data = hs("fine");
	cr_assert_eq(heed_put(txn, 0, &key, &data, 0), 0);
	cr_assert_eq(heed_txn_commit(txn), 0);
	txn = begin(env, HEED_RDONLY);
	heed_val out;
	cr_assert_eq(heed_get(txn, 0, &key, &out), 0);
	cr_assert_eq(out.size, 4);
	heed_txn_abort(txn);
}

/* A NOSUBDIR file with keys k000..k049 in the main db and, when named, a
 * db "sub" of 20 keys; two commits at least, so both metas are valid. */
static void make_file(const char *path, int named)
{
	heed_env *e = NULL;
	heed_txn *txn;
	char k[16];

	cr_assert_eq(env_open_dir(&e, path, HEED_NOSUBDIR | HEED_NOSYNC, 0, 0, 4), 0);
	txn = begin(e, 0);
	for (int i = 0; i < 50; i++) {
		snprintf(k, sizeof(k), "k%03d", i);
		heed_val key = hs(k), val = hs("a value");
		cr_assert_eq(heed_put(txn, 0, &key, &val, 0), 0);
	}
	cr_assert_eq(heed_txn_commit(txn), 0);
	txn = begin(e, 0);
	if (named) {
		heed_dbi sub;
		cr_assert_eq(heed_dbi_open(txn, "sub", HEED_CREATE, &sub), 0);
		for (int i = 0; i < 20; i++) {
			snprintf(k, sizeof(k), "s%03d", i);
			heed_val key = hs(k), val = hs("in sub");
			cr_assert_eq(heed_put(txn, sub, &key, &val, 0), 0);
		}
	} else {
		heed_val key = hs("k000"), val = hs("changed");
		cr_assert_eq(heed_put(txn, 0, &key, &val, 0), 0);
	}
	cr_assert_eq(heed_txn_commit(txn), 0);
	heed_env_close(e);
	drop_lock_file(path);
}

static void rewrite_meta(const char *path, unsigned int which, const struct meta *m)
{
	int fd = open(path, O_WRONLY);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(pwrite(fd, m, sizeof(*m), (off_t)which * 4096), (ssize_t)sizeof(*m));
	close(fd);
}

static unsigned int read_metas(const char *path, struct meta m[2])
{
	int fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(pread(fd, &m[0], sizeof(m[0]), 0), (ssize_t)sizeof(m[0]));
	cr_assert_eq(pread(fd, &m[1], sizeof(m[1]), 4096), (ssize_t)sizeof(m[1]));
	close(fd);
	return m[1].txnid > m[0].txnid;
}

static void expect_damaged(const char *path, const char *what)
{
	char log[4096];
	int st = run_heed_check(path, log, sizeof(log));
	cr_assert_eq(st, 1, "heed-check on %s exited %d, expected 1 (damaged): %s", what, st, log);
	fprintf(stderr, "%s: %s", what, log);
}

/* Issue 10, item 5: a meta page with a valid checksum but a next_pgno near
 * 2^52 (next_pgno * 4096 wraps around 2^64 to a size the file has) and a
 * root or freelist head past the file. Before, open took it and heed_get
 * read far outside the map. Now such a meta counts as damaged: open falls
 * back to the other meta as for a torn one (both bad: HEED_CORRUPTED), and
 * heed-check reports the file. */
Test(badinput, meta_fields_out_of_bounds)
{
	char path[128];
	struct meta m[2], bad;
	const uint64_t wrap = (uint64_t)1 << 52;

	snprintf(path, sizeof(path), "%s/data", tmpdir);
	for (int variant = 0; variant < 4; variant++) {
		make_file(path, 0);
		unsigned int newest = read_metas(path, m);
		bad = m[newest];
		bad.next_pgno += wrap;
		if (variant == 1)
			bad.main.root = wrap + 7;
		if (variant == 2)
			bad.free_head = wrap + 3;
		if (variant == 3) {
			bad.next_pgno = m[newest].next_pgno;
			bad.free_count = UINT64_MAX;
		}
		meta_seal(&bad);
		rewrite_meta(path, newest, &bad);

		heed_env *e = NULL;
		int rc = env_open_dir(&e, path, HEED_NOSUBDIR, 0, 0, 4);
		cr_assert_eq(rc, 0, "variant %d: open: %s", variant, heed_strerror(rc));
		heed_txn *txn = begin(e, HEED_RDONLY);
		cr_assert_eq(heed_txn_id(txn), m[!newest].txnid, "variant %d: snapshot %zu",
			     variant, heed_txn_id(txn));
		heed_val key = hs("k000"), val;
		cr_assert_eq(heed_get(txn, 0, &key, &val), 0);
		cr_assert(val.size == 7 && !memcmp(val.data, "a value", 7),
			  "variant %d: the older snapshot's value", variant);
		heed_txn_abort(txn);
		heed_env_close(e);
		char what[64];
		snprintf(what, sizeof(what), "meta variant %d", variant);
		expect_damaged(path, what);

		/* Both metas so: nothing valid to open. */
		bad = m[!newest];
		bad.next_pgno += wrap;
		meta_seal(&bad);
		rewrite_meta(path, !newest, &bad);
		drop_lock_file(path);
		rc = env_open_dir(&e, path, HEED_NOSUBDIR, 0, 0, 4);
		cr_assert_eq(rc, HEED_CORRUPTED, "variant %d, both metas: open returned %d (%s)",
			     variant, rc, heed_strerror(rc));
		expect_damaged(path, "both metas wrapping");
		unlink(path);
		drop_lock_file(path);
	}
}

/* Issue 10, item 6: a damaged record in the main db that names the main
 * root as the root of db "sub". Before, heed_drop(main) recursed without
 * end (stack overflow); now it returns HEED_CORRUPTED (and the txn fails),
 * reads of "sub" stay bounded, and heed-check reports the file. */
Test(badinput, db_record_naming_the_main_root)
{
	char path[128];
	struct meta m[2];

	snprintf(path, sizeof(path), "%s/data", tmpdir);
	make_file(path, 1);
	unsigned int newest = read_metas(path, m);
	cr_assert_eq(m[newest].main.depth, 1, "the test needs a one-page main db");
	uint64_t root = m[newest].main.root;

	/* Point sub's record at the main root (the leaf page has no checksum). */
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	unsigned char page[4096];
	cr_assert_eq(pread(fd, page, sizeof(page), (off_t)(root * 4096)), (ssize_t)sizeof(page));
	int found = 0;
	for (unsigned int i = 0; i < page_hdr(page)->nkeys; i++) {
		unsigned char *n = page_node(page, i);
		if (node_ksize(n) == 3 && !memcmp(node_key(n), "sub", 3)) {
			cr_assert(node_flags(n) & N_DBREC);
			struct dbrec r;
			memcpy(&r, node_data(n), sizeof(r));
			r.root = root;
			r.depth = 1;
			memcpy(node_data(n), &r, sizeof(r));
			found = 1;
		}
	}
	cr_assert(found, "no record of sub in the main root");
	cr_assert_eq(pwrite(fd, page, sizeof(page), (off_t)(root * 4096)), (ssize_t)sizeof(page));
	close(fd);

	heed_env *e = NULL;
	cr_assert_eq(env_open_dir(&e, path, HEED_NOSUBDIR | HEED_NOSYNC, 0, 0, 4), 0);
	heed_txn *txn = begin(e, 0);
	heed_dbi sub;
	heed_cursor *cur;
	heed_val k, v;
	int n = 0, rc;
	cr_assert_eq(heed_dbi_open(txn, "sub", 0, &sub), 0);
	cr_assert_eq(heed_cursor_open(txn, sub, &cur), 0);
	for (rc = heed_cursor_get(cur, &k, &v, HEED_FIRST); rc == 0 && n < 1000;
	     rc = heed_cursor_get(cur, &k, &v, HEED_NEXT))
		n++;
	cr_assert_eq(rc, HEED_NOTFOUND, "a walk of sub ended with %d after %d items", rc, n);
	heed_cursor_close(cur);
	rc = heed_drop(txn, 0, 0);
	cr_assert_eq(rc, HEED_CORRUPTED, "drop(main) returned %d (%s)", rc, heed_strerror(rc));
	cr_assert_eq(heed_txn_commit(txn), HEED_BAD_TXN);
	heed_env_close(e);
	expect_damaged(path, "record naming the main root");
}

/* A DUPSORT file: key "a" holds three short values (an inline list), key
 * "b" 300 values of 100 bytes (a value tree). */
static void make_dup_file(const char *path)
{
	heed_env *e = NULL;
	heed_txn *txn;
	heed_dbi d;
	char v[100];

	cr_assert_eq(env_open_dir(&e, path, HEED_NOSUBDIR | HEED_NOSYNC, 0, 0, 4), 0);
	txn = begin(e, 0);
	cr_assert_eq(heed_dbi_open(txn, "d", HEED_CREATE | HEED_DUPSORT, &d), 0);
	for (int i = 1; i <= 3; i++) {
		snprintf(v, sizeof(v), "v%d", i);
		heed_val key = hs("a"), val = hs(v);
		cr_assert_eq(heed_put(txn, d, &key, &val, 0), 0);
	}
	memset(v, 'x', sizeof(v));
	for (int i = 0; i < 300; i++) {
		heed_val key = hs("b"), val = hv(v, sizeof(v));

		v[0] = (char)('0' + i / 100);
		v[1] = (char)('0' + i / 10 % 10);
		v[2] = (char)('0' + i % 10);
		cr_assert_eq(heed_put(txn, d, &key, &val, 0), 0);
	}
	cr_assert_eq(heed_txn_commit(txn), 0);
	heed_env_close(e);
	drop_lock_file(path);
}

/* The node of key k (one byte) on a leaf of file path: its file offset.
 * The last one found: a page copied by a later commit has a higher number
 * than the one it replaced (pages a commit frees are not reused by it). */
static off_t find_node(const char *path, char k, unsigned int flag)
{
	unsigned char pg[4096];
	int fd = open(path, O_RDONLY);
	off_t at = -1;

	cr_assert_geq(fd, 0);
	for (off_t p = 2; pread(fd, pg, sizeof(pg), p * 4096) == 4096; p++) {
		if (page_hdr(pg)->flags != P_LEAF)
			continue;
		for (unsigned int i = 0; i < page_hdr(pg)->nkeys; i++) {
			unsigned char *n = page_node(pg, i);

			if (node_ksize(n) == 1 && n[NODE_HDR] == (unsigned char)k &&
			    node_flags(n) == flag)
				at = p * 4096 + (n - pg);
		}
	}
	close(fd);
	cr_assert_geq(at, 0, "no node %c with flags %x in %s", k, flag, path);
	return at;
}

static void patch(const char *path, off_t at, const void *bytes, size_t n)
{
	int fd = open(path, O_WRONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, bytes, n, at), (ssize_t)n);
	close(fd);
}

/* Every read of key k of db "d" in path meets the damage: HEED_CORRUPTED. */
static void expect_corrupted_key(const char *path, const char *k)
{
	heed_env *e = NULL;
	heed_txn *txn;
	heed_cursor *c;
	heed_dbi d;
	heed_val key = hs(k), val = hs("v2");
	size_t n;

	cr_assert_eq(env_open_dir(&e, path, HEED_NOSUBDIR | HEED_RDONLY, 0, 0, 4), 0);
	txn = begin(e, HEED_RDONLY);
	cr_assert_eq(heed_dbi_open(txn, "d", 0, &d), 0);
	cr_assert_eq(heed_cursor_open(txn, d, &c), 0);
	HEED_RC(heed_cursor_get(c, &key, NULL, HEED_SET), HEED_CORRUPTED);
	HEED_RC(heed_cursor_get(c, &key, &val, HEED_GET_BOTH), HEED_CORRUPTED);
	HEED_RC(heed_cursor_count(c, &n), EINVAL);
	heed_txn_abort(txn);
	txn = NULL;
	/* A write txn's delete of the key fails the txn, nothing freed. */
	heed_env_close(e);
	drop_lock_file(path);
	cr_assert_eq(env_open_dir(&e, path, HEED_NOSUBDIR, 0, 0, 4), 0);
	txn = begin(e, 0);
	cr_assert_eq(heed_dbi_open(txn, "d", 0, &d), 0);
	HEED_RC(heed_del(txn, d, &key, NULL), HEED_CORRUPTED);
	HEED_RC(heed_txn_commit(txn), HEED_BAD_TXN);
	heed_env_close(e);
	drop_lock_file(path);
}

Test(badinput, dupsort_damaged_values)
{
	char path[128];
	off_t at;

	/* A list whose first value sorts after the second. */
	snprintf(path, sizeof(path), "%s/list-order", tmpdir);
	make_dup_file(path);
	at = find_node(path, 'a', N_DUPS);
	patch(path, at + NODE_HDR + 1 + 2 + 1, "9", 1);
	expect_corrupted_key(path, "a");
	expect_damaged(path, "a list out of order");
	/* A list value running past the node. */
	snprintf(path, sizeof(path), "%s/list-size", tmpdir);
	make_dup_file(path);
	at = find_node(path, 'a', N_DUPS);
	patch(path, at + NODE_HDR + 1, "\xff\x00", 2);
	expect_corrupted_key(path, "a");
	expect_damaged(path, "a list value past its node");
	/* A value tree whose root is past the end of the file. */
	snprintf(path, sizeof(path), "%s/tree-root", tmpdir);
	make_dup_file(path);
	at = find_node(path, 'b', N_DUP);
	patch(path, at + NODE_HDR + 1, "\xff\xff\x00\x00\x00\x00\x00\x00", 8);
	expect_corrupted_key(path, "b");
	expect_damaged(path, "a value tree's root past the file");
	/* The db's record made DUPFIXED over values of several sizes. */
	snprintf(path, sizeof(path), "%s/fixed-sizes", tmpdir);
	make_dup_file(path);
	{
		/* key "a": v1, v2, v3 and one more, longer */
		heed_env *e = NULL;
		heed_txn *txn;
		heed_dbi d;
		heed_val key = hs("a"), val = hs("v4 longer");

		cr_assert_eq(env_open_dir(&e, path, HEED_NOSUBDIR | HEED_NOSYNC, 0, 0, 4), 0);
		txn = begin(e, 0);
		cr_assert_eq(heed_dbi_open(txn, "d", 0, &d), 0);
		cr_assert_eq(heed_put(txn, d, &key, &val, 0), 0);
		cr_assert_eq(heed_txn_commit(txn), 0);
		heed_env_close(e);
		drop_lock_file(path);
	}
	at = find_node(path, 'd', N_DBREC);
	patch(path, at + NODE_HDR + 1 + 12, "\x14", 1);
	expect_damaged(path, "DUPFIXED over values of several sizes");
	/* The db's record made REVERSEDUP: key b's values 000x.., 001x.., ...
	 * are out of that order (compared from the end, 010 sorts before 009),
	 * which heed-check verifies from the flags. */
	snprintf(path, sizeof(path), "%s/reversedup", tmpdir);
	make_dup_file(path);
	at = find_node(path, 'd', N_DBREC);
	patch(path, at + NODE_HDR + 1 + 12, "\x44", 1);
	expect_damaged(path, "values out of the order of REVERSEDUP");
}
