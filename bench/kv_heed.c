/* kv_heed.c - the heed adapter of db_comparison (see kv.h). */
#include "kv.h"

#include <errno.h>
#include "heed.h"
#include <stdio.h>
#include <stdlib.h>

struct kv {
	heed_env *env;
	heed_dbi dbi;
	heed_txn *txn;
	char msg[256];
};

struct kv_reader {
	struct kv *kv;
	heed_txn *txn;
	heed_cursor *cur;
};

static int fail(struct kv *kv, const char *call, int rc)
{
	snprintf(kv->msg, sizeof(kv->msg), "heed: %s: %s", call, heed_strerror(rc));
	return rc > 0 ? -rc : -EIO;
}

/* A store in dir; dupsort: its data in a named DUPSORT db. */
static int open_store(const char *dir, int durable, int dupsort, unsigned int flags,
		      struct kv **out, char *err, size_t errlen)
{
	struct kv *kv = calloc(1, sizeof(*kv));
	heed_txn *txn;
	int rc;

	*out = NULL;
	if (!kv)
		return -ENOMEM;
	rc = heed_env_create(&kv->env);
	if (!rc)
		rc = heed_env_set_mapsize(kv->env, (size_t)16 << 30);
	if (!rc)
		rc = heed_env_set_maxreaders(kv->env, 64);
	if (!rc && dupsort)
		rc = heed_env_set_maxdbs(kv->env, 1);
	if (!rc)
		rc = heed_env_open(kv->env, dir, (durable ? 0 : HEED_NOSYNC) | flags, 0644);
	if (!rc)
		rc = heed_txn_begin(kv->env, NULL, 0, &txn);
	if (!rc) {
		rc = heed_dbi_open(txn, dupsort ? "dups" : NULL,
				   dupsort ? HEED_CREATE | HEED_DUPSORT : 0, &kv->dbi);
		if (!rc)
			rc = heed_txn_commit(txn);
		else
			heed_txn_abort(txn);
	}
	if (rc) {
		snprintf(err, errlen, "heed: open %s: %s", dir, heed_strerror(rc));
		heed_env_close(kv->env);
		free(kv);
		return rc > 0 ? -rc : -EIO;
	}
	*out = kv;
	return 0;
}

static int hd_open(const char *dir, int durable, struct kv **out, char *err, size_t errlen)
{
	return open_store(dir, durable, 0, 0, out, err, errlen);
}

/* heed with HEED_PWRITE: its commits write every page with pwrite, as before
 * core/wmap.c, so the table shows what the writable map buys. */
static int hd_open_pwrite(const char *dir, int durable, struct kv **out, char *err, size_t errlen)
{
	return open_store(dir, durable, 0, HEED_PWRITE, out, err, errlen);
}

static int hd_open_dups(const char *dir, struct kv **out, char *err, size_t errlen)
{
	return open_store(dir, 0, 1, 0, out, err, errlen);
}

static void hd_close(struct kv *kv)
{
	if (!kv)
		return;
	if (kv->txn)
		heed_txn_abort(kv->txn);
	heed_env_close(kv->env);
	free(kv);
}

static int hd_begin(struct kv *kv)
{
	int rc = heed_txn_begin(kv->env, NULL, 0, &kv->txn);

	return rc ? fail(kv, "heed_txn_begin", rc) : 0;
}

static int hd_put(struct kv *kv, const void *key, size_t klen, const void *val, size_t vlen,
		  int append)
{
	heed_val k = {klen, (void *)key}, v = {vlen, (void *)val};
	int rc = heed_put(kv->txn, kv->dbi, &k, &v, append ? HEED_APPEND : 0);

	return rc ? fail(kv, "heed_put", rc) : 0;
}

static int hd_del(struct kv *kv, const void *key, size_t klen)
{
	heed_val k = {klen, (void *)key};
	int rc = heed_del(kv->txn, kv->dbi, &k, NULL);

	return rc && rc != HEED_NOTFOUND ? fail(kv, "heed_del", rc) : 0;
}

static int hd_commit(struct kv *kv)
{
	int rc = heed_txn_commit(kv->txn);

	kv->txn = NULL;
	return rc ? fail(kv, "heed_txn_commit", rc) : 0;
}

static int hd_reader_open(struct kv *kv, struct kv_reader **out)
{
	struct kv_reader *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	r->kv = kv;
	rc = heed_txn_begin(kv->env, NULL, HEED_RDONLY, &r->txn);
	if (!rc) {
		rc = heed_cursor_open(r->txn, kv->dbi, &r->cur);
		if (rc)
			heed_txn_abort(r->txn);
	}
	if (rc) {
		free(r);
		return fail(kv, "heed_txn_begin(RDONLY)", rc);
	}
	*out = r;
	return 0;
}

/* heed has no cursor renew: a cursor does not outlive its snapshot. */
static int hd_refresh(struct kv_reader *r)
{
	int rc;

	heed_cursor_close(r->cur);
	r->cur = NULL;
	heed_txn_reset(r->txn);
	rc = heed_txn_renew(r->txn);
	if (!rc)
		rc = heed_cursor_open(r->txn, r->kv->dbi, &r->cur);
	return rc ? fail(r->kv, "heed_txn_renew", rc) : 0;
}

static int hd_get(struct kv_reader *r, const void *key, size_t klen, size_t *vlen)
{
	heed_val k = {klen, (void *)key}, v;
	int rc = heed_get(r->txn, r->kv->dbi, &k, &v);

	if (rc == HEED_NOTFOUND)
		return 1;
	if (rc)
		return fail(r->kv, "heed_get", rc);
	*vlen = v.size;
	return 0;
}

static int hd_scan(struct kv_reader *r, uint64_t n, uint64_t *bytes)
{
	heed_val k, v;

	for (uint64_t i = 0; i < n; i++) {
		int rc = heed_cursor_get(r->cur, &k, &v, HEED_NEXT);

		if (rc == HEED_NOTFOUND)
			rc = heed_cursor_get(r->cur, &k, &v, HEED_FIRST);
		if (rc)
			return fail(r->kv, "heed_cursor_get", rc);
		*bytes += k.size + v.size;
	}
	return 0;
}

static int hd_get_both(struct kv_reader *r, const void *key, size_t klen, const void *val,
		       size_t vlen)
{
	heed_val k = {klen, (void *)key}, v = {vlen, (void *)val};
	int rc = heed_cursor_get(r->cur, &k, &v, HEED_GET_BOTH);

	if (rc == HEED_NOTFOUND)
		return 1;
	return rc ? fail(r->kv, "heed_cursor_get(GET_BOTH)", rc) : 0;
}

static int hd_scan_dups(struct kv_reader *r, const void *key, size_t klen, uint64_t max,
			uint64_t *n, uint64_t *bytes)
{
	heed_val k = {klen, (void *)key}, v;
	int rc = max ? heed_cursor_get(r->cur, &k, &v, HEED_SET) : HEED_NOTFOUND;

	for (*n = 0; !rc;
	     rc = ++*n < max ? heed_cursor_get(r->cur, &k, &v, HEED_NEXT_DUP) : HEED_NOTFOUND)
		*bytes += v.size;
	return rc == HEED_NOTFOUND ? 0 : fail(r->kv, "heed_cursor_get(NEXT_DUP)", rc);
}

static void hd_reader_close(struct kv_reader *r)
{
	if (!r)
		return;
	heed_cursor_close(r->cur);
	heed_txn_abort(r->txn);
	free(r);
}

static const char *hd_error(struct kv *kv)
{
	return kv->msg;
}

/* The calls both of this file's engines share. */
#define HD_CALLS                                                                                   \
	.close = hd_close, .begin = hd_begin, .put = hd_put, .del = hd_del, .commit = hd_commit,   \
	.reader_open = hd_reader_open, .refresh = hd_refresh, .get = hd_get, .scan = hd_scan,      \
	.reader_close = hd_reader_close, .error = hd_error

const struct kv_engine kv_heed = {
	.name = "heed",
	.open = hd_open,
	HD_CALLS,
	.open_dups = hd_open_dups,
	.get_both = hd_get_both,
	.scan_dups = hd_scan_dups,
};

const struct kv_engine kv_heed_pwrite = {
	.name = "heed-pwrite",
	.open = hd_open_pwrite,
	HD_CALLS,
};
