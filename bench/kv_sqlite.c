/*
 * kv_sqlite.c - the SQLite adapter of db_comparison (see kv.h): one table
 * (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID, so the rows live in the
 * primary-key B-tree like the other engines' items; WAL journal so readers
 * run beside the writer. synchronous=FULL syncs the WAL at every commit
 * (durable), OFF never syncs.
 */
#include "kv.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

struct kv {
	char path[512];
	sqlite3 *db;
	sqlite3_stmt *put, *del, *begin, *commit;
	char msg[256];
};

struct kv_reader {
	struct kv *kv;
	sqlite3 *db;
	sqlite3_stmt *get, *scan, *begin, *commit;
};

static int fail(struct kv *kv, sqlite3 *db, const char *call)
{
	snprintf(kv->msg, sizeof(kv->msg), "sqlite: %s: %s", call, sqlite3_errmsg(db));
	return -EIO;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : rc;
}

static int connect(const char *path, sqlite3 **db)
{
	int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);

	if (!rc)
		rc = sqlite3_exec(*db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	return rc;
}

static void sq_close(struct kv *kv)
{
	if (!kv)
		return;
	sqlite3_finalize(kv->put);
	sqlite3_finalize(kv->del);
	sqlite3_finalize(kv->begin);
	sqlite3_finalize(kv->commit);
	sqlite3_close(kv->db);
	free(kv);
}

static int sq_open(const char *dir, int durable, struct kv **out, char *err, size_t errlen)
{
	struct kv *kv = calloc(1, sizeof(*kv));
	const char *sync = durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF";
	int rc;

	*out = NULL;
	if (!kv)
		return -ENOMEM;
	snprintf(kv->path, sizeof(kv->path), "%s/db.sqlite", dir);
	rc = connect(kv->path, &kv->db);
	if (!rc)
		rc = sqlite3_exec(kv->db, sync, NULL, NULL, NULL);
	if (!rc)
		rc = sqlite3_exec(kv->db, "PRAGMA cache_size=-262144", NULL, NULL, NULL);
	if (!rc)
		rc = sqlite3_exec(kv->db,
				  "CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID",
				  NULL, NULL, NULL);
	if (!rc)
		rc = sqlite3_prepare_v2(kv->db, "INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)",
					-1, &kv->put, NULL);
	if (!rc)
		rc = sqlite3_prepare_v2(kv->db, "DELETE FROM kv WHERE k = ?", -1, &kv->del, NULL);
	if (!rc)
		rc = sqlite3_prepare_v2(kv->db, "BEGIN", -1, &kv->begin, NULL);
	if (!rc)
		rc = sqlite3_prepare_v2(kv->db, "COMMIT", -1, &kv->commit, NULL);
	if (rc) {
		snprintf(err, errlen, "sqlite: open %s: %s", kv->path,
			 kv->db ? sqlite3_errmsg(kv->db) : sqlite3_errstr(rc));
		sq_close(kv);
		return -EIO;
	}
	*out = kv;
	return 0;
}

static int sq_begin(struct kv *kv)
{
	return step_done(kv->begin) ? fail(kv, kv->db, "BEGIN") : 0;
}

static int sq_put(struct kv *kv, const void *key, size_t klen, const void *val, size_t vlen,
		  int append)
{
	(void)append;
	sqlite3_bind_blob(kv->put, 1, key, (int)klen, SQLITE_STATIC);
	sqlite3_bind_blob(kv->put, 2, val, (int)vlen, SQLITE_STATIC);
	return step_done(kv->put) ? fail(kv, kv->db, "INSERT") : 0;
}

static int sq_del(struct kv *kv, const void *key, size_t klen)
{
	sqlite3_bind_blob(kv->del, 1, key, (int)klen, SQLITE_STATIC);
	return step_done(kv->del) ? fail(kv, kv->db, "DELETE") : 0;
}

static int sq_commit(struct kv *kv)
{
	return step_done(kv->commit) ? fail(kv, kv->db, "COMMIT") : 0;
}

static void reader_free(struct kv_reader *r)
{
	sqlite3_finalize(r->get);
	sqlite3_finalize(r->scan);
	sqlite3_finalize(r->begin);
	sqlite3_finalize(r->commit);
	sqlite3_close(r->db);
	free(r);
}

/* A reader is its own connection: SQLite connections are not shared
 * between threads here, and a read transaction (BEGIN ... COMMIT) holds
 * one WAL snapshot until refresh. */
static int sq_reader_open(struct kv *kv, struct kv_reader **out)
{
	struct kv_reader *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	r->kv = kv;
	rc = connect(kv->path, &r->db);
	if (!rc)
		rc = sqlite3_exec(r->db, "PRAGMA cache_size=-262144", NULL, NULL, NULL);
	if (!rc)
		rc = sqlite3_prepare_v2(r->db, "SELECT v FROM kv WHERE k = ?", -1, &r->get, NULL);
	if (!rc)
		rc = sqlite3_prepare_v2(r->db, "SELECT k, v FROM kv ORDER BY k", -1, &r->scan,
					NULL);
	if (!rc)
		rc = sqlite3_prepare_v2(r->db, "BEGIN", -1, &r->begin, NULL);
	if (!rc)
		rc = sqlite3_prepare_v2(r->db, "COMMIT", -1, &r->commit, NULL);
	if (!rc)
		rc = step_done(r->begin);
	if (rc) {
		fail(kv, r->db, "reader");
		reader_free(r);
		return -EIO;
	}
	*out = r;
	return 0;
}

static int sq_refresh(struct kv_reader *r)
{
	sqlite3_reset(r->scan);
	if (step_done(r->commit) || step_done(r->begin))
		return fail(r->kv, r->db, "refresh");
	return 0;
}

static int sq_get(struct kv_reader *r, const void *key, size_t klen, size_t *vlen)
{
	int rc;

	sqlite3_bind_blob(r->get, 1, key, (int)klen, SQLITE_STATIC);
	rc = sqlite3_step(r->get);
	if (rc == SQLITE_ROW) {
		*vlen = (size_t)sqlite3_column_bytes(r->get, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = 1;
	} else {
		rc = fail(r->kv, r->db, "SELECT");
	}
	sqlite3_reset(r->get);
	return rc;
}

static int sq_scan(struct kv_reader *r, uint64_t n, uint64_t *bytes)
{
	for (uint64_t i = 0; i < n; i++) {
		int rc = sqlite3_step(r->scan);

		if (rc == SQLITE_DONE) {
			sqlite3_reset(r->scan);
			rc = sqlite3_step(r->scan);
		}
		if (rc != SQLITE_ROW)
			return fail(r->kv, r->db, "SELECT scan");
		*bytes += (uint64_t)sqlite3_column_bytes(r->scan, 0) +
			  (uint64_t)sqlite3_column_bytes(r->scan, 1);
	}
	return 0;
}

static void sq_reader_close(struct kv_reader *r)
{
	if (!r)
		return;
	sqlite3_reset(r->scan);
	step_done(r->commit);
	reader_free(r);
}

static const char *sq_error(struct kv *kv)
{
	return kv->msg;
}

const struct kv_engine kv_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.put = sq_put,
	.del = sq_del,
	.commit = sq_commit,
	.reader_open = sq_reader_open,
	.refresh = sq_refresh,
	.get = sq_get,
	.scan = sq_scan,
	.reader_close = sq_reader_close,
	.error = sq_error,
};
