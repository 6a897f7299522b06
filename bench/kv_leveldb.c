/*
 * kv_leveldb.c - the LevelDB adapter of db_comparison (see kv.h), through
 * its C API (leveldb/c.h). A batch is a WriteBatch written at commit, with
 * sync set when durable; a reader reads at a snapshot it replaces on refresh.
 */
#include "kv.h"

#include <errno.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>

struct kv {
	leveldb_t *db;
	leveldb_options_t *opts;
	leveldb_writeoptions_t *wopts;
	leveldb_writebatch_t *batch;
	char msg[256];
};

struct kv_reader {
	struct kv *kv;
	const leveldb_snapshot_t *snap;
	leveldb_readoptions_t *ropts;
	leveldb_iterator_t *it;
};

static int fail(struct kv *kv, const char *call, char *e)
{
	snprintf(kv->msg, sizeof(kv->msg), "leveldb: %s: %s", call, e);
	leveldb_free(e);
	return -EIO;
}

static int ld_open(const char *dir, int durable, struct kv **out, char *err, size_t errlen)
{
	struct kv *kv = calloc(1, sizeof(*kv));
	char *e = NULL;

	*out = NULL;
	if (!kv)
		return -ENOMEM;
	kv->opts = leveldb_options_create();
	leveldb_options_set_create_if_missing(kv->opts, 1);
	leveldb_options_set_error_if_exists(kv->opts, 1);
	leveldb_options_set_compression(kv->opts, leveldb_no_compression);
	kv->wopts = leveldb_writeoptions_create();
	leveldb_writeoptions_set_sync(kv->wopts, durable);
	kv->batch = leveldb_writebatch_create();
	kv->db = leveldb_open(kv->opts, dir, &e);
	if (e) {
		snprintf(err, errlen, "leveldb: open %s: %s", dir, e);
		leveldb_free(e);
		leveldb_writebatch_destroy(kv->batch);
		leveldb_writeoptions_destroy(kv->wopts);
		leveldb_options_destroy(kv->opts);
		free(kv);
		return -EIO;
	}
	*out = kv;
	return 0;
}

static void ld_close(struct kv *kv)
{
	if (!kv)
		return;
	leveldb_close(kv->db);
	leveldb_writebatch_destroy(kv->batch);
	leveldb_writeoptions_destroy(kv->wopts);
	leveldb_options_destroy(kv->opts);
	free(kv);
}

static int ld_begin(struct kv *kv)
{
	leveldb_writebatch_clear(kv->batch);
	return 0;
}

static int ld_put(struct kv *kv, const void *key, size_t klen, const void *val, size_t vlen,
		  int append)
{
	(void)append;
	leveldb_writebatch_put(kv->batch, key, klen, val, vlen);
	return 0;
}

static int ld_del(struct kv *kv, const void *key, size_t klen)
{
	leveldb_writebatch_delete(kv->batch, key, klen);
	return 0;
}

static int ld_commit(struct kv *kv)
{
	char *e = NULL;

	leveldb_write(kv->db, kv->wopts, kv->batch, &e);
	return e ? fail(kv, "write", e) : 0;
}

static void reader_release(struct kv_reader *r)
{
	if (r->it)
		leveldb_iter_destroy(r->it);
	if (r->snap)
		leveldb_release_snapshot(r->kv->db, r->snap);
	r->it = NULL;
	r->snap = NULL;
}

static int ld_refresh(struct kv_reader *r)
{
	reader_release(r);
	r->snap = leveldb_create_snapshot(r->kv->db);
	leveldb_readoptions_set_snapshot(r->ropts, r->snap);
	r->it = leveldb_create_iterator(r->kv->db, r->ropts);
	leveldb_iter_seek_to_first(r->it);
	return 0;
}

static int ld_reader_open(struct kv *kv, struct kv_reader **out)
{
	struct kv_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->kv = kv;
	r->ropts = leveldb_readoptions_create();
	*out = r;
	return ld_refresh(r);
}

static int ld_get(struct kv_reader *r, const void *key, size_t klen, size_t *vlen)
{
	char *e = NULL;
	char *v = leveldb_get(r->kv->db, r->ropts, key, klen, vlen, &e);

	if (e)
		return fail(r->kv, "get", e);
	if (!v)
		return 1;
	leveldb_free(v);
	return 0;
}

static int ld_scan(struct kv_reader *r, uint64_t n, uint64_t *bytes)
{
	for (uint64_t i = 0; i < n; i++) {
		size_t kl, vl;

		if (!leveldb_iter_valid(r->it)) {
			leveldb_iter_seek_to_first(r->it);
			if (!leveldb_iter_valid(r->it)) {
				snprintf(r->kv->msg, sizeof(r->kv->msg), "leveldb: scan: empty");
				return -ENOENT;
			}
		}
		leveldb_iter_key(r->it, &kl);
		leveldb_iter_value(r->it, &vl);
		*bytes += kl + vl;
		leveldb_iter_next(r->it);
	}
	return 0;
}

static void ld_reader_close(struct kv_reader *r)
{
	if (!r)
		return;
	reader_release(r);
	leveldb_readoptions_destroy(r->ropts);
	free(r);
}

static const char *ld_error(struct kv *kv)
{
	return kv->msg;
}

const struct kv_engine kv_leveldb = {
	.name = "leveldb",
	.open = ld_open,
	.close = ld_close,
	.begin = ld_begin,
	.put = ld_put,
	.del = ld_del,
	.commit = ld_commit,
	.reader_open = ld_reader_open,
	.refresh = ld_refresh,
	.get = ld_get,
	.scan = ld_scan,
	.reader_close = ld_reader_close,
	.error = ld_error,
};
