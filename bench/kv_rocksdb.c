/*
 * kv_rocksdb.c - the RocksDB adapter of db_comparison (see kv.h), through
 * its C API (rocksdb/c.h). A batch is a WriteBatch written at commit, with
 * sync set when durable; a reader reads at a snapshot it replaces on refresh.
 */
#include "kv.h"

#include <errno.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>

struct kv {
	rocksdb_t *db;
	rocksdb_options_t *opts;
	rocksdb_writeoptions_t *wopts;
	rocksdb_writebatch_t *batch;
	char msg[256];
};

struct kv_reader {
	struct kv *kv;
	const rocksdb_snapshot_t *snap;
	rocksdb_readoptions_t *ropts;
	rocksdb_iterator_t *it;
};

static int fail(struct kv *kv, const char *call, char *e)
{
	snprintf(kv->msg, sizeof(kv->msg), "rocksdb: %s: %s", call, e);
	rocksdb_free(e);
	return -EIO;
}

static int rd_open(const char *dir, int durable, struct kv **out, char *err, size_t errlen)
{
	struct kv *kv = calloc(1, sizeof(*kv));
	char *e = NULL;

	*out = NULL;
	if (!kv)
		return -ENOMEM;
	kv->opts = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(kv->opts, 1);
	rocksdb_options_set_error_if_exists(kv->opts, 1);
	rocksdb_options_set_compression(kv->opts, rocksdb_no_compression);
	kv->wopts = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(kv->wopts, durable);
	kv->batch = rocksdb_writebatch_create();
	kv->db = rocksdb_open(kv->opts, dir, &e);
	if (e) {
		snprintf(err, errlen, "rocksdb: open %s: %s", dir, e);
		rocksdb_free(e);
		rocksdb_writebatch_destroy(kv->batch);
		rocksdb_writeoptions_destroy(kv->wopts);
		rocksdb_options_destroy(kv->opts);
		free(kv);
		return -EIO;
	}
	*out = kv;
	return 0;
}

static void rd_close(struct kv *kv)
{
	if (!kv)
		return;
	rocksdb_close(kv->db);
	rocksdb_writebatch_destroy(kv->batch);
	rocksdb_writeoptions_destroy(kv->wopts);
	rocksdb_options_destroy(kv->opts);
	free(kv);
}

static int rd_begin(struct kv *kv)
{
	rocksdb_writebatch_clear(kv->batch);
	return 0;
}

static int rd_put(struct kv *kv, const void *key, size_t klen, const void *val, size_t vlen,
		  int append)
{
	(void)append;
	rocksdb_writebatch_put(kv->batch, key, klen, val, vlen);
	return 0;
}

static int rd_del(struct kv *kv, const void *key, size_t klen)
{
	rocksdb_writebatch_delete(kv->batch, key, klen);
	return 0;
}

static int rd_commit(struct kv *kv)
{
	char *e = NULL;

	rocksdb_write(kv->db, kv->wopts, kv->batch, &e);
	return e ? fail(kv, "write", e) : 0;
}

static void reader_release(struct kv_reader *r)
{
	if (r->it)
		rocksdb_iter_destroy(r->it);
	if (r->snap)
		rocksdb_release_snapshot(r->kv->db, r->snap);
	r->it = NULL;
	r->snap = NULL;
}

static int rd_refresh(struct kv_reader *r)
{
	reader_release(r);
	r->snap = rocksdb_create_snapshot(r->kv->db);
	rocksdb_readoptions_set_snapshot(r->ropts, r->snap);
	r->it = rocksdb_create_iterator(r->kv->db, r->ropts);
	rocksdb_iter_seek_to_first(r->it);
	return 0;
}

static int rd_reader_open(struct kv *kv, struct kv_reader **out)
{
	struct kv_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->kv = kv;
	r->ropts = rocksdb_readoptions_create();
	*out = r;
	return rd_refresh(r);
}

static int rd_get(struct kv_reader *r, const void *key, size_t klen, size_t *vlen)
{
	char *e = NULL;
	char *v = rocksdb_get(r->kv->db, r->ropts, key, klen, vlen, &e);

	if (e)
		return fail(r->kv, "get", e);
	if (!v)
		return 1;
	rocksdb_free(v);
	return 0;
}

static int rd_scan(struct kv_reader *r, uint64_t n, uint64_t *bytes)
{
	for (uint64_t i = 0; i < n; i++) {
		size_t kl, vl;

		if (!rocksdb_iter_valid(r->it)) {
			rocksdb_iter_seek_to_first(r->it);
			if (!rocksdb_iter_valid(r->it)) {
				snprintf(r->kv->msg, sizeof(r->kv->msg), "rocksdb: scan: empty");
				return -ENOENT;
			}
		}
		rocksdb_iter_key(r->it, &kl);
		rocksdb_iter_value(r->it, &vl);
		*bytes += kl + vl;
		rocksdb_iter_next(r->it);
	}
	return 0;
}

static void rd_reader_close(struct kv_reader *r)
{
	if (!r)
		return;
	reader_release(r);
	rocksdb_readoptions_destroy(r->ropts);
	free(r);
}

static const char *rd_error(struct kv *kv)
{
	return kv->msg;
}

const struct kv_engine kv_rocksdb = {
	.name = "rocksdb",
	.open = rd_open,
	.close = rd_close,
	.begin = rd_begin,
	.put = rd_put,
	.del = rd_del,
	.commit = rd_commit,
	.reader_open = rd_reader_open,
	.refresh = rd_refresh,
	.get = rd_get,
	.scan = rd_scan,
	.reader_close = rd_reader_close,
	.error = rd_error,
};
