/* kv_lmdb.c - the LMDB adapter of db_comparison (see kv.h). */
#include "kv.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>

struct kv {
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *txn;
	char msg[256];
};

struct kv_reader {
	struct kv *kv;
	MDB_txn *txn;
	MDB_cursor *cur;
};

static int fail(struct kv *kv, const char *call, int rc)
{
	snprintf(kv->msg, sizeof(kv->msg), "lmdb: %s: %s", call, mdb_strerror(rc));
	return rc > 0 ? -rc : -EIO;
}

/* A store in dir; dupsort: its data in a named DUPSORT db. */
static int open_store(const char *dir, int durable, int dupsort, unsigned int flags,
		      struct kv **out, char *err, size_t errlen)
{
	struct kv *kv = calloc(1, sizeof(*kv));
	MDB_txn *txn;
	int rc;

	*out = NULL;
	if (!kv)
		return -ENOMEM;
	rc = mdb_env_create(&kv->env);
	if (!rc)
		rc = mdb_env_set_mapsize(kv->env, (size_t)16 << 30);
	if (!rc)
		rc = mdb_env_set_maxreaders(kv->env, 64);
	if (!rc && dupsort)
		rc = mdb_env_set_maxdbs(kv->env, 1);
	if (!rc)
		rc = mdb_env_open(kv->env, dir, MDB_NOTLS | (durable ? 0 : MDB_NOSYNC) | flags,
				  0644);
	if (!rc)
		rc = mdb_txn_begin(kv->env, NULL, 0, &txn);
	if (!rc) {
		rc = mdb_dbi_open(txn, dupsort ? "dups" : NULL,
				  dupsort ? MDB_CREATE | MDB_DUPSORT : 0, &kv->dbi);
		if (!rc)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	if (rc) {
		snprintf(err, errlen, "lmdb: open %s: %s", dir, mdb_strerror(rc));
		mdb_env_close(kv->env);
		free(kv);
		return rc > 0 ? -rc : -EIO;
	}
	*out = kv;
	return 0;
}

static int lm_open(const char *dir, int durable, struct kv **out, char *err, size_t errlen)
{
	return open_store(dir, durable, 0, 0, out, err, errlen);
}

/* LMDB with MDB_WRITEMAP: its txns write into a writable map of the file,
 * the fastest way LMDB writes (and one that lets a stray pointer reach the
 * data), beside heed's commits through its writer's map. */
static int lm_open_writemap(const char *dir, int durable, struct kv **out, char *err, size_t errlen)
{
	return open_store(dir, durable, 0, MDB_WRITEMAP, out, err, errlen);
}

static int lm_open_dups(const char *dir, struct kv **out, char *err, size_t errlen)
{
	return open_store(dir, 0, 1, 0, out, err, errlen);
}

static void lm_close(struct kv *kv)
{
	if (!kv)
		return;
	if (kv->txn)
		mdb_txn_abort(kv->txn);
	mdb_env_close(kv->env);
	free(kv);
}

static int lm_begin(struct kv *kv)
{
	int rc = mdb_txn_begin(kv->env, NULL, 0, &kv->txn);

	return rc ? fail(kv, "mdb_txn_begin", rc) : 0;
}

static int lm_put(struct kv *kv, const void *key, size_t klen, const void *val, size_t vlen,
		  int append)
{
	MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
	int rc = mdb_put(kv->txn, kv->dbi, &k, &v, append ? MDB_APPEND : 0);

	return rc ? fail(kv, "mdb_put", rc) : 0;
}

static int lm_del(struct kv *kv, const void *key, size_t klen)
{
	MDB_val k = {klen, (void *)key};
	int rc = mdb_del(kv->txn, kv->dbi, &k, NULL);

	return rc && rc != MDB_NOTFOUND ? fail(kv, "mdb_del", rc) : 0;
}

static int lm_commit(struct kv *kv)
{
	int rc = mdb_txn_commit(kv->txn);

	kv->txn = NULL;
	return rc ? fail(kv, "mdb_txn_commit", rc) : 0;
}

static int lm_reader_open(struct kv *kv, struct kv_reader **out)
{
	struct kv_reader *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	r->kv = kv;
	rc = mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &r->txn);
	if (!rc) {
		rc = mdb_cursor_open(r->txn, kv->dbi, &r->cur);
		if (rc)
			mdb_txn_abort(r->txn);
	}
	if (rc) {
		free(r);
		return fail(kv, "mdb_txn_begin(RDONLY)", rc);
	}
	*out = r;
	return 0;
}

static int lm_refresh(struct kv_reader *r)
{
	int rc;

	mdb_txn_reset(r->txn);
	rc = mdb_txn_renew(r->txn);
	if (!rc)
		rc = mdb_cursor_renew(r->txn, r->cur);
	return rc ? fail(r->kv, "mdb_txn_renew", rc) : 0;
}

static int lm_get(struct kv_reader *r, const void *key, size_t klen, size_t *vlen)
{
	MDB_val k = {klen, (void *)key}, v;
	int rc = mdb_get(r->txn, r->kv->dbi, &k, &v);

	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc)
		return fail(r->kv, "mdb_get", rc);
	*vlen = v.mv_size;
	return 0;
}

static int lm_scan(struct kv_reader *r, uint64_t n, uint64_t *bytes)
{
	MDB_val k, v;

	for (uint64_t i = 0; i < n; i++) {
		int rc = mdb_cursor_get(r->cur, &k, &v, MDB_NEXT);

		if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(r->cur, &k, &v, MDB_FIRST);
		if (rc)
			return fail(r->kv, "mdb_cursor_get", rc);
		*bytes += k.mv_size + v.mv_size;
	}
	return 0;
}

static int lm_get_both(struct kv_reader *r, const void *key, size_t klen, const void *val,
		       size_t vlen)
{
	MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
	int rc = mdb_cursor_get(r->cur, &k, &v, MDB_GET_BOTH);

	if (rc == MDB_NOTFOUND)
		return 1;
	return rc ? fail(r->kv, "mdb_cursor_get(GET_BOTH)", rc) : 0;
}

static int lm_scan_dups(struct kv_reader *r, const void *key, size_t klen, uint64_t max,
			uint64_t *n, uint64_t *bytes)
{
	MDB_val k = {klen, (void *)key}, v;
	int rc = max ? mdb_cursor_get(r->cur, &k, &v, MDB_SET) : MDB_NOTFOUND;

	for (*n = 0; !rc;
	     rc = ++*n < max ? mdb_cursor_get(r->cur, &k, &v, MDB_NEXT_DUP) : MDB_NOTFOUND)
		*bytes += v.mv_size;
	return rc == MDB_NOTFOUND ? 0 : fail(r->kv, "mdb_cursor_get(NEXT_DUP)", rc);
}

static void lm_reader_close(struct kv_reader *r)
{
	if (!r)
		return;
	mdb_cursor_close(r->cur);
	mdb_txn_abort(r->txn);
	free(r);
}

static const char *lm_error(struct kv *kv)
{
	return kv->msg;
}

/* The calls both of this file's engines share. */
#define LM_CALLS                                                                                   \
	.close = lm_close, .begin = lm_begin, .put = lm_put, .del = lm_del, .commit = lm_commit,   \
	.reader_open = lm_reader_open, .refresh = lm_refresh, .get = lm_get, .scan = lm_scan,      \
	.reader_close = lm_reader_close, .error = lm_error

const struct kv_engine kv_lmdb = {
	.name = "lmdb",
	.open = lm_open,
	LM_CALLS,
	.open_dups = lm_open_dups,
	.get_both = lm_get_both,
	.scan_dups = lm_scan_dups,
};

const struct kv_engine kv_lmdb_writemap = {
	.name = "lmdb-writemap",
	.open = lm_open_writemap,
	LM_CALLS,
};
