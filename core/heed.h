/*
 * heed.h - the public contract of libheed, an embedded key-value store.
 *
 * One memory-mapped file holds a copy-on-write B+tree per database. Readers
 * see a consistent snapshot and never block; one writer at a time; a commit
 * is atomic and, unless HEED_NOSYNC or HEED_NOMETASYNC is set, durable when
 * heed_txn_commit() returns 0.
 *
 * Return codes: 0 is success, a positive value is an errno (EINVAL, ENOMEM,
 * EIO, ENOSPC, EACCES, ...), heed's own conditions are the negative HEED_*
 * codes below. No function of this library prints, aborts or exits on bad
 * input; every one returns a code (or, for the void ones, does nothing
 * harmful with a NULL argument).
 *
 * Keys are compared bytewise (memcmp over the shorter length, then the
 * shorter key sorts first). A key is 1 to heed_env_get_maxkeysize() bytes; a
 * value is 0 to 0xffffffff bytes (LMDB's limit), within what the map can
 * hold (values larger than a page spill into overflow pages).
 *
 * heed follows LMDB 0.9's calls and codes (HEED_NOTFOUND == MDB_NOTFOUND,
 * ...); where the same calls give another result, core/README.md ("heed and
 * LMDB") lists each case, and tests/test_lmdb_diff.c runs both libraries.
 *
 * Threads: an environment is shared by all threads of a process. A
 * transaction and its cursors are used by one thread at a time (a read
 * transaction may outlive the thread that began it). Any number
 * of read transactions (up to heed_env_set_maxreaders) run in parallel with
 * the one write transaction; a thread may hold several read transactions.
 *
 * Memory returned by heed_get() and heed_cursor_get() points into the map:
 * it is valid until the transaction ends or, in a write transaction, until
 * the next write to the same database. The caller never frees it.
 */
#ifndef HEED_H
#define HEED_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HEED_API __attribute__((visibility("default")))

#define HEED_VERSION_MAJOR 0
#define HEED_VERSION_MINOR 1
#define HEED_VERSION_PATCH 0

typedef struct heed_env heed_env;
typedef struct heed_txn heed_txn;
typedef struct heed_cursor heed_cursor;
typedef unsigned int heed_dbi;

/* A byte string: size bytes at data. */
typedef struct heed_val {
	size_t size;
	void *data;
} heed_val;

/* Return codes (negative; positive values are errno). */
#define HEED_SUCCESS	      0
#define HEED_KEYEXIST	      (-30799) /* put with NOOVERWRITE: key exists */
#define HEED_NOTFOUND	      (-30798) /* no such key, or cursor at an end */
#define HEED_CORRUPTED	      (-30796) /* a page or meta fails its checks */
#define HEED_PANIC	      (-30795) /* env refuses writes after a failure */
#define HEED_VERSION_MISMATCH (-30794) /* heed file of another format */
#define HEED_INVALID	      (-30793) /* the file is not a heed file */
#define HEED_MAP_FULL	      (-30792) /* the map size is reached */
#define HEED_DBS_FULL	      (-30791) /* heed_env_set_maxdbs reached */
#define HEED_READERS_FULL     (-30790) /* every reader slot is taken */
#define HEED_BAD_TXN	      (-30782) /* txn finished, failed or wrong kind */
#define HEED_BAD_VALSIZE      (-30781) /* a key or value size the db does not take */
#define HEED_BAD_DBI	      (-30780) /* dbi not open in this env/txn */
#define HEED_BUSY	      (-30778) /* another process holds the writer */
#define HEED_INCOMPATIBLE     (-30784) /* key names a db, or a db name is a key */

/* Environment flags (heed_env_open). */
#define HEED_NOSUBDIR 0x4000  /* path is the data file, lock is path-lock */
#define HEED_NOSYNC   0x10000 /* commits do not fsync: fast, not durable */
#define HEED_RDONLY   0x20000 /* open read-only (also a txn flag) */
/* Data is synced, the meta page is not: a power loss may lose the last
 * commit (the next commit's sync makes it durable), never the database. */
#define HEED_NOMETASYNC 0x40000
/* Commits write their pages with pwrite, never through a writable map of the
 * file (which heed uses for the reused pages of random updates where commits
 * do not sync their data: on tmpfs, and with HEED_NOSYNC on ext2/3/4; a store
 * instead of a system call per page. Readers' pointers stay in the read-only
 * map either way). */
#define HEED_PWRITE 0x8000000

/* Database flags (heed_dbi_open), LMDB's values. A named db keeps the
 * flags it was created with (they are stored in its record; opening it
 * with others changes nothing); the main db takes none (EINVAL). */
#define HEED_CREATE 0x40000 /* create the named database if missing */
/* A key holds a sorted set of values (duplicates): each value 1 to
 * heed_env_get_maxkeysize() bytes (HEED_BAD_VALSIZE otherwise; LMDB also
 * takes an empty one), ordered as keys are (bytewise) unless
 * HEED_INTEGERDUP, HEED_REVERSEDUP or heed_set_dupsort say otherwise. A
 * key's few values are stored inline in its node, many are a B+tree of
 * their own, so a million values of one key cost pages like a million
 * keys. heed_get returns a key's first value; heed_del with a value
 * deletes that one, without (data NULL) all of them; heed_stat's
 * entries count every value. */
#define HEED_DUPSORT 0x04
/* With HEED_DUPSORT: the values of a key all have the size of its first
 * (another size: HEED_BAD_VALSIZE), so that GET_MULTIPLE and friends hand
 * them out packed. Without HEED_DUPSORT: EINVAL (LMDB ignores it). */
#define HEED_DUPFIXED 0x10

/* Key order (heed_dbi_open; stored in the record like HEED_DUPSORT, LMDB's
 * values). Without one, keys (and a DUPSORT db's values) sort bytewise,
 * the shorter first on a tie. HEED_REVERSEKEY compares the bytes from the
 * last one back; HEED_INTEGERKEY takes keys that are a native unsigned int
 * or size_t (4 or 8 bytes, else HEED_BAD_VALSIZE; LMDB does not check) and
 * sorts them as numbers (a 4-byte key before an 8-byte one of the same
 * number). HEED_REVERSEKEY wins over HEED_INTEGERKEY, as in LMDB.
 * HEED_INTEGERDUP and HEED_REVERSEDUP order a DUPSORT db's values the same
 * ways (without HEED_DUPSORT: EINVAL; LMDB ignores them); HEED_INTEGERDUP
 * wins. heed_set_compare and heed_set_dupsort replace an order by the
 * caller's. */
#define HEED_REVERSEKEY 0x02
#define HEED_INTEGERKEY 0x08
#define HEED_INTEGERDUP 0x20
#define HEED_REVERSEDUP 0x40

/* Put flags (heed_put, heed_cursor_put). */
#define HEED_NOOVERWRITE 0x10	 /* fail with HEED_KEYEXIST if key exists */
#define HEED_CURRENT	 0x40	 /* cursor put: replace the current item */
#define HEED_APPEND	 0x20000 /* key sorts after every key; fast bulk load */
/* Store data->size bytes without copying them: data->data is set to the
 * space in the txn's page (its bytes unspecified), for the caller to fill
 * before the txn's next change (put, del, drop, a child txn's begin) or its
 * end. Inline and overflow values alike. EINVAL in a DUPSORT db (a value is
 * a key of its value tree and must be known to be placed; LMDB's docs forbid
 * it too, 0.9.24 does not check). */
#define HEED_RESERVE 0x10000
/* DUPSORT: fail with HEED_KEYEXIST if the value is already stored under the
 * key (without it, storing it again changes nothing and returns 0). */
#define HEED_NODUPDATA 0x20
/* DUPSORT: the value sorts after every value of the key (else
 * HEED_KEYEXIST, nothing stored): a key's values loaded in order. */
#define HEED_APPENDDUP 0x40000
/* heed_cursor_put on a DUPFIXED db: data is an array of two heed_val, the
 * first the size of one value and the values packed at data[0].data, the
 * second's size their count; they are stored in turn (as HEED_NODUPDATA
 * or not, as the flags say) and data[1].size says how many were, also when
 * one fails. */
#define HEED_MULTIPLE 0x80000

/* Cursor operations (heed_cursor_get). */
typedef enum heed_cursor_op {
	HEED_FIRST,	  /* first item */
	HEED_GET_CURRENT, /* item at the cursor */
	HEED_LAST,	  /* last item */
	HEED_NEXT,	  /* next item; from an unpositioned cursor: first */
	HEED_PREV,	  /* previous item; from unpositioned: last */
	HEED_SET,	  /* position at key, data returned, key unchanged */
	HEED_SET_KEY,	  /* position at key, key and data returned */
	HEED_SET_RANGE,	  /* position at first key >= key; both returned */
	/* DUPSORT dbs (LMDB's names; the values differ, LMDB's numbering of
	 * the ops above being another). On a db without HEED_DUPSORT they
	 * give HEED_INCOMPATIBLE. NEXT and PREV step through every value of
	 * every key; SET, SET_KEY, SET_RANGE, FIRST and NEXT_NODUP land on a
	 * key's first value, LAST and PREV_NODUP on its last. */
	HEED_FIRST_DUP = 8,  /* first value of the current key (data only) */
	HEED_LAST_DUP,	     /* last value of the current key (data only) */
	HEED_NEXT_DUP,	     /* next value of the current key */
	HEED_PREV_DUP,	     /* previous value of the current key */
	HEED_NEXT_NODUP,     /* first value of the next key */
	HEED_PREV_NODUP,     /* last value of the previous key */
	HEED_GET_BOTH,	     /* position at key and value, both exact */
	HEED_GET_BOTH_RANGE, /* key exact, first of its values >= data */
	/* DUPFIXED dbs (else HEED_INCOMPATIBLE): the current key's values
	 * packed (data.size a multiple of the value size), from the cursor's
	 * value on, as many as fit in a page; the cursor then stands on the
	 * last one. The bytes are a copy the cursor owns, valid until its
	 * next operation (LMDB returns one of its pages, from its first
	 * value: its chunks start at page bounds, heed's at the cursor). */
	HEED_GET_MULTIPLE = 16, /* from the current value (data only) */
	HEED_NEXT_MULTIPLE,	/* from the next value of the key (NOTFOUND at its end) */
	HEED_PREV_MULTIPLE,	/* the chunk before the last one returned, or
				 * else ending at the cursor (data only) */
} heed_cursor_op;

/* Statistics of one database or of the main database. */
typedef struct heed_stat {
	unsigned int psize;    /* page size in bytes */
	unsigned int depth;    /* tree depth; 0 for an empty tree */
	size_t branch_pages;   /* internal pages */
	size_t leaf_pages;     /* leaf pages */
	size_t overflow_pages; /* pages of values larger than a node */
	size_t entries;	       /* key/value pairs */
} heed_stat;

/* Environment information. */
typedef struct heed_envinfo {
	size_t mapsize;		 /* bytes reserved for the map */
	size_t last_pgno;	 /* highest page number in use */
	size_t last_txnid;	 /* id of the last committed write txn */
	unsigned int maxreaders; /* reader slots */
	unsigned int numreaders; /* slots in use */
} heed_envinfo;

/* The version string; the three numbers when the pointers are not NULL. */
HEED_API const char *heed_version(int *major, int *minor, int *patch);

/* A one-line description of any return code of this library or errno. The
 * string is static; never NULL. */
HEED_API const char *heed_strerror(int err);

/* Allocate an environment handle. Configure it, then heed_env_open(). */
HEED_API int heed_env_create(heed_env **env);

/* Bytes of address space to map (default 1 GiB, rounded up to a page). The
 * file grows as pages are used, not to this size. Legal before open, and on
 * an open env when no transaction of this process is active: the map is
 * then remapped, never below the file's used size (EINVAL). */
HEED_API int heed_env_set_mapsize(heed_env *env, size_t bytes);

/* Named databases allowed (default 0: only the main database). Before
 * open. */
HEED_API int heed_env_set_maxdbs(heed_env *env, unsigned int n);

/* Concurrent read transactions allowed (default 126). Before open. The
 * lock file keeps the count of the env that set up its reader table (the
 * first to open it while no other env has it open). */
HEED_API int heed_env_set_maxreaders(heed_env *env, unsigned int n);

/* Page size for a new file: a power of two, 4096 to 65536 (default 4096);
 * EINVAL otherwise. Before open. An existing file keeps its own size. */
HEED_API int heed_env_set_pagesize(heed_env *env, unsigned int bytes);

/* Open or create the environment at path: a directory holding data.heed and
 * lock.heed, or with HEED_NOSUBDIR the data file itself (lock: path-lock).
 * Errors: errno from the file system; HEED_INVALID for a file that is not a
 * heed file (or a damaged lock file another env has open),
 * HEED_VERSION_MISMATCH for another format version (of the data file, or
 * of a lock file another env has open: one nobody has open is rewritten),
 * HEED_CORRUPTED when neither meta page is valid. A meta page fails (and the
 * other one is used, as after a torn write) when its checksum fails or any
 * field is out of bounds for the page size (heed-check reports the latter).
 * After a failed open the handle may only be closed. */
HEED_API int heed_env_open(heed_env *env, const char *path, unsigned int flags, mode_t mode);

/* Close the environment and free the handle; NULL is allowed. Every
 * transaction and cursor of it must have ended. */
HEED_API void heed_env_close(heed_env *env);

/* Flush the data file to disk. With force 0 only if the env is not NOSYNC. */
HEED_API int heed_env_sync(heed_env *env, int force);

/* Statistics of the main database as of the last commit. */
HEED_API int heed_env_stat(heed_env *env, heed_stat *st);

/* Information about the environment as of the last commit. */
HEED_API int heed_env_info(heed_env *env, heed_envinfo *info);

/* The largest key accepted, in bytes (at least 511); -1 for a NULL env. */
HEED_API int heed_env_get_maxkeysize(heed_env *env);

/* Begin a transaction: a read snapshot with HEED_RDONLY, else the write
 * transaction (one per environment; a second writer thread waits, a second
 * writer process waits or gets HEED_BUSY). Errors: HEED_READERS_FULL,
 * HEED_PANIC, EACCES (write txn on a read-only env), ENOMEM, HEED_MAP_FULL
 * (another process grew the data past this env's map: heed_env_set_mapsize),
 * HEED_CORRUPTED (the newest meta names pages past the end of the file).
 *
 * With a parent (a write txn of env, itself maybe a child) it begins a
 * nested write txn, to any depth: the child sees its parent's changes, its
 * commit folds its own into the parent, its abort leaves the parent as it
 * was; nothing reaches the file before the outermost txn commits. A parent
 * has one child at a time; until the child ends, every call on the parent
 * and its cursors returns HEED_BAD_TXN (and they work again after; the
 * parent's cursors re-seek and see what a committed child did). The child
 * has its parent's txn id, and costs the pages it changes, not a copy of
 * its parent's. Errors as LMDB's: EINVAL for a read-only parent or one of
 * another env, HEED_BAD_TXN for HEED_RDONLY with a parent or a parent that
 * is failed or has a child. */
HEED_API int heed_txn_begin(heed_env *env, heed_txn *parent, unsigned int flags, heed_txn **txn);

/* Commit and free the transaction, whatever the result. For a write txn the
 * data is durable when this returns 0 (unless NOSYNC); on an error nothing
 * of the txn is visible and the previous state stays intact. Cursors of the
 * txn are closed. A txn with an open child commits the child first (and
 * its child first); a child's commit makes its changes its parent's (0, or
 * ENOMEM with the parent unchanged); committing a failed child returns
 * HEED_BAD_TXN and fails the parent, as LMDB does. */
HEED_API int heed_txn_commit(heed_txn *txn);

/* Abandon and free the transaction and its open children; NULL is allowed.
 * Cursors are closed. */
HEED_API void heed_txn_abort(heed_txn *txn);

/* Release a read transaction's snapshot but keep the handle for
 * heed_txn_renew(). Ignored for a write txn. */
HEED_API void heed_txn_reset(heed_txn *txn);

/* Take a fresh snapshot with a read txn that was reset. HEED_BAD_TXN if it
 * was not reset or is a write txn. */
HEED_API int heed_txn_renew(heed_txn *txn);

/* The id of the snapshot a read txn sees, or of the txn a write txn will
 * commit; 0 for NULL or a reset txn. */
HEED_API size_t heed_txn_id(heed_txn *txn);

/* Open a database: NULL names the main database; a name needs
 * heed_env_set_maxdbs. HEED_CREATE creates it (write txn only) and stores
 * its record in the main db at once: a scan of the main db meets the name
 * (its value, 48 bytes, is heed's), and a put or del of that key in the
 * main db is refused. Errors: HEED_NOTFOUND, HEED_DBS_FULL, EACCES,
 * HEED_INCOMPATIBLE (the name is a plain key of the main db), HEED_BAD_DBI
 * (a write txn holds state for a db whose handle number was since given to
 * this name). A handle opened in a txn that commits stays valid for the
 * env's life; one opened in a txn that aborts is closed. A handle number
 * freed (drop with del 1, abort) may be given to another db: an older read
 * txn then gets HEED_BAD_DBI through it, and its heed_dbi_open of the new
 * name looks in its own snapshot. */
HEED_API int heed_dbi_open(heed_txn *txn, const char *name, unsigned int flags, heed_dbi *dbi);

/* Statistics of one database as this txn sees it. */
HEED_API int heed_dbi_stat(heed_txn *txn, heed_dbi dbi, heed_stat *st);

/* The flags a database was created with (HEED_DUPSORT, HEED_DUPFIXED,
 * the order flags, or 0). */
HEED_API int heed_dbi_flags(heed_txn *txn, heed_dbi dbi, unsigned int *flags);

/* A key order: <0, 0 or >0 as a sorts before, with or after b. It must be
 * a total order, the same for every process and every txn that ever uses
 * the db (heed does not store it: a db used under another order gives
 * wrong answers; heed-check and heed-load-dump know only the orders of the
 * flags). Two keys that compare 0 are the same key. */
typedef int(heed_cmp_func)(const heed_val *a, const heed_val *b);

/* Order db dbi's keys (heed_set_compare) or, in a DUPSORT db, each key's
 * values (heed_set_dupsort) by cmp instead of the order its flags give
 * (cmp NULL: back to that one). As in LMDB the order belongs to the handle,
 * for every txn of the env, until the handle closes; set it right after
 * heed_dbi_open, before any txn reads or writes the db. Errors: EINVAL,
 * HEED_BAD_DBI, HEED_BAD_TXN; the main db (dbi 0) holds the named dbs'
 * records and keeps its order: EINVAL. */
HEED_API int heed_set_compare(heed_txn *txn, heed_dbi dbi, heed_cmp_func *cmp);
HEED_API int heed_set_dupsort(heed_txn *txn, heed_dbi dbi, heed_cmp_func *cmp);

/* Compare two keys (heed_cmp) or two values (heed_dcmp: the values' order
 * of a DUPSORT db, bytewise on another db) under db dbi's order: <0, 0,
 * >0. A bad txn or dbi compares bytewise (LMDB's have no error either). */
HEED_API int heed_cmp(heed_txn *txn, heed_dbi dbi, const heed_val *a, const heed_val *b);
HEED_API int heed_dcmp(heed_txn *txn, heed_dbi dbi, const heed_val *a, const heed_val *b);

/* Empty the database (del 0) or delete it and close its handle (del 1; not
 * for the main database: EINVAL). Write txn only. Emptying the main database
 * deletes every named database too (their pages are freed, their handles
 * close when the txn commits). HEED_CORRUPTED, the txn failed, when the
 * pages to free are damaged (one named twice, a record out of place). */
HEED_API int heed_drop(heed_txn *txn, heed_dbi dbi, int del);

/* Look up key; on success data points into the map. HEED_NOTFOUND if
 * absent; HEED_BAD_VALSIZE for an empty or oversized key (and in a
 * HEED_INTEGERKEY db one of another size than an unsigned int or a size_t,
 * here and in every call that takes a key; a HEED_INTEGERDUP value too). */
HEED_API int heed_get(heed_txn *txn, heed_dbi dbi, const heed_val *key, heed_val *data);

/* Store key -> data, replacing an old value unless HEED_NOOVERWRITE
 * (HEED_KEYEXIST, data set to the existing value). HEED_APPEND requires key
 * to sort after every key of the database (else HEED_KEYEXIST). Errors:
 * HEED_MAP_FULL (the txn fails: abort it, grow the map, retry),
 * HEED_BAD_VALSIZE (key size, or data over 0xffffffff bytes), EACCES (read
 * txn), HEED_BAD_TXN (failed txn), HEED_INCOMPATIBLE (main db: key is a
 * named database's name). HEED_KEYEXIST, HEED_BAD_VALSIZE and
 * HEED_INCOMPATIBLE leave the txn usable. */
HEED_API int heed_put(heed_txn *txn, heed_dbi dbi, const heed_val *key, heed_val *data,
		      unsigned int flags);

/* Delete key. data is ignored (except in a DUPSORT db: then it names the
 * one value to delete, HEED_NOTFOUND when the key does not hold it) and may
 * be NULL (a DUPSORT key: all its values).
 * HEED_NOTFOUND if absent; HEED_INCOMPATIBLE (the txn goes on; LMDB fails
 * it) for a named database's name in the main db: heed_drop deletes it. */
HEED_API int heed_del(heed_txn *txn, heed_dbi dbi, const heed_val *key, const heed_val *data);

/* Open a cursor on a database; it ends with its txn or heed_cursor_close.
 * The end of any txn (commit, abort) frees its cursors, a read txn's too
 * (LMDB leaves those to the user): heed_cursor_close after that is a use of
 * freed memory. */
HEED_API int heed_cursor_open(heed_txn *txn, heed_dbi dbi, heed_cursor **cur);

/* Close a cursor; NULL is allowed. */
HEED_API void heed_cursor_close(heed_cursor *cur);

/* Move the cursor per op and return the item there. HEED_NOTFOUND when
 * there is no such item: after FIRST, LAST, SET and SET_KEY the cursor is
 * then unpositioned (NEXT gives the first item, PREV the last); SET_RANGE
 * past the last key leaves it at the end (NEXT and GET_CURRENT:
 * HEED_NOTFOUND, PREV: the last item); a failed NEXT or PREV leaves it
 * where it stood, on an item GET_CURRENT returns and the next move starts
 * from. GET_CURRENT on an unpositioned cursor: EINVAL.
 * Puts and deletes through other cursors or heed_put/heed_del in the same
 * txn never invalidate a cursor: it re-finds its key; if that key was
 * deleted it stands on the next item, which NEXT or GET_CURRENT returns
 * (PREV returns the item before the deleted one). key may be NULL for ops
 * other than SET*; data may be NULL. */
HEED_API int heed_cursor_get(heed_cursor *cur, heed_val *key, heed_val *data, heed_cursor_op op);

/* Store through a cursor and leave it on the stored item. HEED_CURRENT
 * replaces the value at the cursor (key must be equal: EINVAL otherwise;
 * in a DUPSORT db the value too, as it cannot move in the order). Errors
 * and flags as heed_put. */
HEED_API int heed_cursor_put(heed_cursor *cur, const heed_val *key, heed_val *data,
			     unsigned int flags);

/* Delete the item at the cursor; the cursor moves to the next item (see
 * heed_cursor_get). flags must be 0 (EINVAL), or in a DUPSORT db
 * HEED_NODUPDATA: every value of the cursor's key; EINVAL on an unpositioned
 * cursor; HEED_NOTFOUND when its item is already deleted, through it or
 * another cursor (LMDB deletes the next item instead); HEED_INCOMPATIBLE on
 * a named database's record in the main db. */
HEED_API int heed_cursor_del(heed_cursor *cur, unsigned int flags);

/* The number of values of the cursor's key (DUPSORT dbs; 1 when it has one).
 * EINVAL on an unpositioned cursor, HEED_NOTFOUND past the end,
 * HEED_INCOMPATIBLE on a db without HEED_DUPSORT. */
HEED_API int heed_cursor_count(heed_cursor *cur, size_t *count);

/* Hot backup (copy.c). Each copy runs inside its own read transaction: the
 * writer and other readers keep working, and the copy holds the newest
 * commit as of the call (heed_env_info of the copy reports its txnid in
 * last_txnid). Like any long read txn it keeps the pages it sees from being
 * reused, so the source file may grow while a copy runs. The copy is a
 * complete environment: open it with heed_env_open (the lock file is made
 * then); heed-check passes on it when it passed on the source.
 *
 * Errors of all four: EINVAL (env not open, bad flags, fd < 0 or path
 * NULL), HEED_READERS_FULL, ENOMEM, the errno of a failed write (ENOSPC,
 * EBADF, EPIPE when SIGPIPE is ignored, ...), HEED_CORRUPTED (a compacting
 * copy met a damaged page, or a page in no tree and not free: a leak, which
 * heed-check names). */
#define HEED_CP_COMPACT 0x01 /* copy flag: omit free pages, renumber in order */

/* Copy to path: the directory that will hold the copy's data.heed (it must
 * exist), or with an env opened HEED_NOSUBDIR the copy's data file itself.
 * The file is created with the source file's mode and must not exist yet:
 * EEXIST (no existing file is ever overwritten), ENOENT for a missing
 * directory. It is synced (fdatasync) before this returns 0; on any error
 * the file is removed. */
HEED_API int heed_env_copy(heed_env *env, const char *path);

/* heed_env_copy with flags: 0, or HEED_CP_COMPACT for a compacted copy.
 * A plain copy is the snapshot page for page: both meta pages rewritten to
 * describe it (checksummed), then every page below its next page number,
 * free pages included (their bytes may be torn: the writer may reuse them
 * during the copy, and nothing reads them). A compacted copy walks every
 * tree (main, named dbs, overflow runs) and writes only their pages,
 * numbered from 2 in the order written (children before parents), with an
 * empty freelist: its size is what the data needs, whatever the source's
 * free space. It reads and checks every page, so it costs more CPU. */
HEED_API int heed_env_copy2(heed_env *env, const char *path, unsigned int flags);

/* Write the copy to fd, from its current offset, with write(2): a file
 * opened for writing, a pipe or a socket (the pages go out in order, never
 * with a seek). fd stays open and is not synced: the caller owns it. */
HEED_API int heed_env_copyfd(heed_env *env, int fd);

/* heed_env_copyfd with flags (0 or HEED_CP_COMPACT, as heed_env_copy2). */
HEED_API int heed_env_copyfd2(heed_env *env, int fd, unsigned int flags);

#ifdef __cplusplus
}
#endif

#endif
