/*
 * kv.h - one interface over the key-value engines db_comparison measures:
 * heed, LMDB, SQLite (WAL, WITHOUT ROWID), LevelDB and RocksDB.
 *
 * Every adapter runs the same workload the same way: writes go in batches
 * (begin, put/del..., commit) from one thread; reads go through readers,
 * one per thread, each reading a snapshot it refreshes on request. With
 * durable set a commit returns only once the data is on stable storage;
 * otherwise no engine syncs (tmpfs runs measure the engines, not fsync).
 * Compression is off in LevelDB and RocksDB: values are random bytes.
 *
 * Functions return 0 or a negative errno-like code; on failure kv_error()
 * holds a sentence naming the engine, the call and the cause. Getting a
 * missing key is not a failure: get returns 1.
 */
#ifndef HEED_BENCH_KV_H
#define HEED_BENCH_KV_H

#include <stddef.h>
#include <stdint.h>

struct kv;
struct kv_reader;

struct kv_engine {
	const char *name;
	/* Create a new store in the empty directory dir. */
	int (*open)(const char *dir, int durable, struct kv **out, char *err, size_t errlen);
	void (*close)(struct kv *kv);
	int (*begin)(struct kv *kv);
	/* append: the key sorts after every key (engines with a bulk-append path use it). */
	int (*put)(struct kv *kv, const void *key, size_t klen, const void *val, size_t vlen,
		   int append);
	int (*del)(struct kv *kv, const void *key, size_t klen);
	int (*commit)(struct kv *kv);
	/* A reader for the calling thread; it sees the store as of its last refresh. */
	int (*reader_open)(struct kv *kv, struct kv_reader **out);
	int (*refresh)(struct kv_reader *r);
	/* 0 found (value length in *vlen), 1 absent, < 0 error. */
	int (*get)(struct kv_reader *r, const void *key, size_t klen, size_t *vlen);
	/* Read the next n items in key order, wrapping at the end; the bytes of
	 * keys and values read are added to *bytes. */
	int (*scan)(struct kv_reader *r, uint64_t n, uint64_t *bytes);
	void (*reader_close)(struct kv_reader *r);
	/* The last error of this store as a sentence. */
	const char *(*error)(struct kv *kv);
	/* Duplicates, for heed and LMDB (NULL in the other adapters). open_dups:
	 * as open, a store whose keys each hold a sorted set of values
	 * (DUPSORT, in a named database of both); put then adds val to key's. */
	int (*open_dups)(const char *dir, struct kv **out, char *err, size_t errlen);
	/* 0 when key holds val (a cursor's GET_BOTH), 1 when not, < 0 error. */
	int (*get_both)(struct kv_reader *r, const void *key, size_t klen, const void *val,
			size_t vlen);
	/* Step through key's values from its first (SET, then NEXT_DUP), at most
	 * max of them: how many in *n, their bytes added to *bytes. */
	int (*scan_dups)(struct kv_reader *r, const void *key, size_t klen, uint64_t max,
			 uint64_t *n, uint64_t *bytes);
};

extern const struct kv_engine kv_heed, kv_heed_pwrite, kv_lmdb, kv_lmdb_writemap, kv_sqlite,
	kv_leveldb, kv_rocksdb;

/* Bytes the files under dir occupy on their file system (allocated blocks). */
uint64_t kv_dir_bytes(const char *dir);

#endif
