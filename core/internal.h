/*
 * internal.h - the structures shared by libheed's modules (not installed).
 *
 * Who owns what:
 *   heed_env   the data file (fd, read-only shared map), the lock file (map
 *              of struct lock_hdr + reader slots), the dbi table, the
 *              writer mutex and the parsed freelist of the last commit.
 *   heed_txn   a snapshot (read) or the write state: dirty pages, freelist
 *              vectors, db records, its cursors. A nested write txn (a
 *              child, txn.c) holds only what it changed: its own dirty
 *              pages (copies of its ancestors' that it touched, and new
 *              ones), its own reusable list, the pages it freed.
 *   heed_cursor a path of (page, index) from the root to a leaf.
 */
#ifndef HEED_INTERNAL_H
#define HEED_INTERNAL_H

#include "heed.h"
#include "lock.h"
#include "page.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>

#define P_DIRTY 0x8000 /* in memory only: a page copied into this write txn */

/* A growable vector of page numbers (or of txnid/pgno pairs). */
struct pgvec {
	uint64_t *v;
	size_t n, cap;
};

/* Dirty pages of a write txn: open addressing on pgno (0 = empty). */
struct dirty_tab {
	uint64_t *keys;
	void **pages;
	size_t cap, n;
};

/* A node to write: the key, its flags and data bytes. */
struct ndesc {
	const unsigned char *key;
	unsigned int ksize;
	unsigned int flags;
	const unsigned char *data;
	uint32_t dsize;
	unsigned char inl[16]; /* child pgno or overflow reference */
};

#define DBI_VALID 0x01 /* the env slot names a database */
#define DBI_UCMP  0x02 /* its key order is the user's (heed_set_compare) */
#define DBI_UDCMP 0x04 /* its values' order is the user's (heed_set_dupsort) */

/* The flags of heed_dbi_open kept in a db's record (page.h). */
#define DB_ORDER      (HEED_REVERSEKEY | HEED_INTEGERKEY | HEED_INTEGERDUP | HEED_REVERSEDUP)
#define DB_PERSISTENT (HEED_DUPSORT | HEED_DUPFIXED | DB_ORDER)

/* Flags a db record may hold: DB_PERSISTENT ones, and those of a DUPSORT
 * db's values only with HEED_DUPSORT. */
static inline int dbflags_ok(uint32_t f)
{
	return !(f & ~(uint32_t)DB_PERSISTENT) &&
	       ((f & HEED_DUPSORT) || !(f & (HEED_DUPFIXED | HEED_INTEGERDUP | HEED_REVERSEDUP)));
}

/* Per-txn state of each dbi. */
#define DB_LOADED  0x01 /* dbs[i] read from the main db (or created) */
#define DB_DIRTY   0x02 /* record changed: written back at commit */
#define DB_CREATED 0x04 /* opened (and maybe created) by this txn */
#define DB_DROPPED 0x08 /* deleted by this txn */

#define TXN_ACTIVE  0
#define TXN_RESET   1
#define TXN_FAILED  2
#define TXN_BLOCKED 3 /* a write txn with a child: every op refused */

struct heed_env {
	int fd, lockfd;
	unsigned int flags;
	unsigned int psize;
	size_t mapsize;
	_Atomic size_t filesize; /* readers check it, the writer grows it */
	unsigned char *map;
	/* wmap.c: the writer's writable map, its size, the bytes of the file
	 * known to own their blocks, and whether the map is used. */
	unsigned char *wmap;
	size_t wmapsize;
	size_t wmap_resv;
	int wmap_state;
	struct lock_hdr *lock;
	size_t locksize;
	struct reader_slot *slots;
	unsigned int maxreaders, maxdbs;
	uint32_t pid; /* of the process that opened the env */
	int opened, panic;
	pthread_mutex_t wmutex;	  /* one write txn per env between threads */
	pthread_mutex_t dbimutex; /* the dbi table */
	pthread_key_t tkey;	  /* this thread's cached slot: its slot_local */
	int tkey_ok;
	struct slot_local *slot_local; /* maxreaders records */
	pthread_mutex_t slotmutex;     /* claims and frees of this env's slots */
	int slotmutex_ok;
	_Atomic int active; /* txns of this process: set_mapsize needs 0 */
	heed_txn *wtxn;
	_Atomic(heed_txn *) spare; /* a freed read txn kept for the next begin */
	unsigned int numdbs;	   /* dbi slots used, 1 + named */
	char **dbnames;
	_Atomic unsigned char *dbflags;
	/* Bumped each time a dbi slot is given a name: a txn holding state of
	 * slot i from before (txn->dbseq[i] differs) holds another db's. */
	_Atomic unsigned int *dbseq;
	/* The order of each dbi slot's keys (cmps[0]) and of its values
	 * (cmps[1], DUPSORT): NULL for bytewise, which the prefix search of
	 * search.c implements, else the function every compare calls. Set
	 * when the slot is opened, from the db's flags (heed_flag_order)
	 * unless the user set one (DBI_UCMP, DBI_UDCMP). Read by every txn of
	 * the env, so atomic (relaxed: plain loads). maxdbs + 1 each. */
	_Atomic(heed_cmp_func *) *cmps[2];
	/* freelist of the last commit of this process (valid while fl_txnid is
	 * the newest txnid): records as txnid/pgno pairs and the chain pages. */
	int fl_valid;
	uint64_t fl_txnid;
	struct pgvec fl_recs, fl_chain;
	/* The frozen tail of that chain (freelist.c): segments of reusable
	 * pages that commits link to instead of rewriting, oldest first. fz_pgnos
	 * holds their pages, fz_chain their chain pages (each segment's in
	 * chain order), fz_ends two words a segment: where its pages and its
	 * chain pages end in those vectors. */
	struct pgvec fz_pgnos, fz_chain, fz_ends;
	void *pool; /* spare single-page buffers, linked through their first word */
	size_t pool_n;
	struct dirty_tab dirty_spare; /* the last write txn's table, emptied */
	void *scratch;		      /* one page: splits build a page here */
	struct ndesc *descs;	      /* nodes of a page being split */
	char *datapath, *lockpath;
};

struct heed_txn {
	heed_env *env;
	unsigned int flags;
	int state;
	uint64_t txnid;	    /* snapshot (read) or id to commit (write) */
	uint64_t next_pgno; /* pages below are allocated */
	uint64_t old_pgno;  /* the snapshot's next_pgno: pages below were written */
	struct reader_slot *slot;
	int slot_cached; /* slot is the thread's own: keep it at txn end */
	uint64_t mod;	 /* bumped by every change: cursors re-seek */
	uint64_t free_head, free_count;
	struct dbrec *dbs;
	unsigned int *dbseq; /* env->dbseq[i] when dbst[i] was set */
	unsigned char *dbst;
	heed_cursor *cursors;
	/* write txn only */
	heed_txn *parent, *child; /* nested txns (txn.c) */
	uint64_t oldest;
	struct dirty_tab dirty;
	struct pgvec avail;   /* reusable now, sorted when avail_sorted */
	struct pgvec pending; /* txnid/pgno pairs not yet reusable */
	struct pgvec freed;   /* pages of the snapshot this txn freed */
	struct pgvec chain;   /* the snapshot's freelist pages */
	int avail_sorted;
	size_t fz_n; /* env's frozen segments this txn leaves as they are */
	/* The path to the last leaf of dbi app_dbi after an APPEND put, valid
	 * while app_mod == mod: the next APPEND resumes from it instead of
	 * descending from the root. Every page on it is dirty. */
	heed_dbi app_dbi;
	uint64_t app_mod;
	unsigned int app_snum;
	void *app_pg[MAX_DEPTH];
	unsigned int app_ki[MAX_DEPTH];
};

struct heed_cursor {
	heed_txn *txn;
	heed_dbi dbi;
	heed_cursor *next;
	int pos;       /* CUR_UNSET, CUR_ON, CUR_EOF */
	int after_del; /* cursor_del left it on the next item: NEXT stays */
	uint64_t mod;  /* txn->mod when the path was taken */
	unsigned int snum;
	void *pg[MAX_DEPTH];
	unsigned int ki[MAX_DEPTH];
	unsigned int klen;
	unsigned char kbuf[MAX_KEYSIZE];
	/* The record of the tree the cursor walks: its db's (&txn->dbs[dbi],
	 * which lives as long as the txn), or for the cursor over the values
	 * of one DUPSORT key (their tree, whose keys are the values) that
	 * tree's (set by dup.c). One load where the btree needs it. */
	struct dbrec *db;
	/* The order of that tree's keys (env->cmps): NULL bytewise. */
	heed_cmp_func *cmp;
	/* DUPSORT db: the cursor over the values of the key this one stands
	 * on, in use (xon, set by dup_load) when that key's values are a tree
	 * (node N_DUP); xdb is the tree's record, vbuf the value saved with
	 * kbuf. cursor_init leaves xon and dklen to the DUPSORT paths. */
	struct heed_cursor *xc;
	int xon;	       /* XON_ONE, XON_LIST, XON_TREE (dup.c) */
	unsigned int xidx, xn; /* XON_LIST: the value it is on, of how many */
	struct dbrec xdb;
	unsigned int vlen;
	unsigned char vbuf[MAX_KEYSIZE];
	/* After a cursor_del of its key's last value, the key (which keeps
	 * values before it): the _DUP moves, the _NODUP ones backwards and
	 * the count still work on that key, as in LMDB; 0 otherwise. */
	unsigned int dklen;
	unsigned char dkbuf[MAX_KEYSIZE];
	/* DUPFIXED db: a page of packed values for the MULTIPLE ops (after
	 * the two cursors in the same allocation), and how many values the
	 * last chunk held (PREV_MULTIPLE steps back over them). */
	unsigned char *mbuf;
	unsigned int mcount;
};

/* The tree cursor c walks: its db's, or the values of one DUPSORT key. */
static inline struct dbrec *cur_db(heed_cursor *c)
{
	return c->db;
}

/* The order of dbi's keys (dup 0) or values (dup 1), for any txn. */
static inline heed_cmp_func *db_cmp(heed_env *env, heed_dbi dbi, int dup)
{
	return atomic_load_explicit(&env->cmps[dup][dbi], memory_order_relaxed);
}

/* A key (dup 0) or a value (dup 1) of a db of flags dbflags has a size its
 * order takes: an HEED_INTEGERKEY key and an HEED_INTEGERDUP value are a
 * native unsigned int or size_t. */
static inline int order_size_ok(unsigned int dbflags, int dup, size_t size)
{
	return !(dbflags & (dup ? HEED_INTEGERDUP : HEED_INTEGERKEY)) ||
	       size == sizeof(unsigned int) || size == sizeof(size_t);
}

/* c walks the values of one DUPSORT key (not its db's own tree). */
static inline int cur_is_values(heed_cursor *c)
{
	return c->db != &c->txn->dbs[c->dbi];
}

#define CUR_UNSET 0
#define CUR_ON	  1
#define CUR_EOF	  2

/*
 * The functions below are grouped by the file that defines them, lowest
 * layer first. A file calls only files of a lower layer: the layers are in
 * core/README.md ("Layers"), and tests/t_layers.sh checks them from the
 * objects' symbols. search.c, opbatch.c and lock.c have their own headers
 * (search.h, probes.h, lock.h).
 */

/* meta.c */
int meta_check(const struct meta *m, unsigned int psize, uint64_t pgno);
int meta_pick(heed_env *env, struct meta *out);
/* Its checksum over the meta's bytes as they are (tests re-seal crafted metas). */
void meta_seal(struct meta *m);
/* Fill in the fields of a meta at page pgno that every meta of env holds
 * (page header, magic, version, sizes), then seal it: the caller set the
 * snapshot's fields. */
void meta_build(struct meta *m, const heed_env *env, uint64_t pgno);
/* The data file holds the pages below next_pgno (refreshes env->filesize):
 * 0, HEED_MAP_FULL past the map, HEED_CORRUPTED when the file is short. */
int env_refresh_size(heed_env *env, uint64_t next_pgno);

/* wmap.c */
enum { WMAP_UNTRIED, WMAP_ON, WMAP_OFF };
/* 1 when a commit may copy its pages below byte need into env->wmap (the
 * map is open and every byte of the file below need owns its blocks); 0 when
 * it must write them with pwrite. Writer only. */
int wmap_ready(heed_env *env, uint64_t need);
/* Unmap the writable map (close, a new map size); the next commit maps it
 * again unless it was turned off. */
void wmap_drop(heed_env *env);

/* vec.c */
int pgvec_grow(struct pgvec *v); /* double the capacity: 0 or ENOMEM */
/* Inline: a push is a store in all but one of 64 calls (the freelist pushes
 * each freed page; out of line it cost 8 instructions per random insert). */
static inline int pgvec_push(struct pgvec *v, uint64_t x)
{
	if (v->n == v->cap) {
		int rc = pgvec_grow(v);

		if (rc)
			return rc;
	}
	v->v[v->n++] = x;
	return 0;
}
/* Room for n items in all (one realloc); ENOMEM leaves v as it was. */
int pgvec_reserve(struct pgvec *v, size_t n);
void pgvec_free(struct pgvec *v);
void pgno_sort(uint64_t *v, size_t n); /* ascending, in place */
/* pgno_sort for v made of a few ascending runs, as avail is once its tail
 * is sorted (freelist.c, avail_sort): merges them in linear time. */
void pgno_sort_runs(uint64_t *v, size_t n);
/* pgno_sort after at most depth partition rounds (tests reach every path). */
void pgno_sort_limit(uint64_t *v, size_t n, unsigned int depth);

/* dirty.c */
void *pgbuf_get(heed_env *env, unsigned int npages);
void pgbuf_put(heed_env *env, void *p, unsigned int npages);
void pgbuf_drain(heed_env *env);
void *dirty_find(struct dirty_tab *t, uint64_t pgno);
int dirty_add(struct dirty_tab *t, uint64_t pgno, void *page);
void *dirty_remove(struct dirty_tab *t, uint64_t pgno);
/* Give t's pages back to the pool and keep t, emptied, as the env's spare
 * table (or free it); t is zeroed. */
void dirty_free(heed_env *env, struct dirty_tab *t);
void dirty_drain(heed_env *env);
/* Room for n entries in t without growing (so a merge cannot fail). */
int dirty_reserve(struct dirty_tab *t, size_t n);
/* Set pgno's page in t, which has room for it: the page it replaces, or
 * NULL. */
void *dirty_set(struct dirty_tab *t, uint64_t pgno, void *page);
/* A key every child's dirty table holds (with no page behind it), so
 * page_get's test of dirty.n sends it to its ancestors' tables: a meta
 * page's number, which page_get never looks up. */
#define DIRTY_CHILD_MARK 1
_Static_assert(DIRTY_CHILD_MARK < NUM_METAS, "the mark is no page page_get looks up");
/* The page of pgno dirty in txn or the nearest of its ancestors that has
 * it, or NULL. */
void *dirty_find_up(heed_txn *txn, uint64_t pgno);
/* The dirty page *pp of an ancestor, copied into child txn (same page
 * number: no snapshot holds it) unless txn has it already: 0 or ENOMEM. */
int dirty_shadow(heed_txn *txn, void **pp);

/* Get page pgno as txn sees it, validating its header. */
static inline int page_get(heed_txn *txn, uint64_t pgno, void **out)
{
	heed_env *env = txn->env;
	void *p;

	if (pgno < NUM_METAS || pgno >= txn->next_pgno)
		return HEED_CORRUPTED;
	/* A child's table is never empty (DIRTY_CHILD_MARK): a read txn pays
	 * one test here, nested or not. */
	if (txn->dirty.n) {
		p = dirty_find(&txn->dirty, pgno);
		if (!p && txn->parent)
			p = dirty_find_up(txn->parent, pgno);
		if (p) {
			*out = p;
			return 0;
		}
	}
	p = env->map + pgno * env->psize;
	if (page_hdr(p)->pgno != pgno || (page_hdr(p)->flags & P_DIRTY))
		return HEED_CORRUPTED;
	*out = p;
	return 0;
}

/* freelist.c */
uint64_t freelist_reuse_cap(const struct meta *m);
int freelist_load(heed_txn *txn);
int page_alloc(heed_txn *txn, unsigned int npages, uint64_t *pgno, void **page);
int page_free(heed_txn *txn, uint64_t pgno, unsigned int npages);
/* page_free of one page of the snapshot that no dirty table holds (a page
 * read from the map, without P_DIRTY): no lookup, it joins the freed. */
int page_free_clean(heed_txn *txn, uint64_t pgno);
/* What a commit's freelist_save leaves for freelist_adopt: the chain pages
 * it wrote and their records (txnid/pgno pairs), and a new frozen segment
 * (its pages and chain pages; both empty when it froze none). */
struct fl_save {
	struct pgvec chain, recs, seg_pgnos, seg_chain;
};
int freelist_save(heed_txn *txn, struct fl_save *out);
void freelist_adopt(heed_txn *txn, struct fl_save *s);
void freelist_save_free(struct fl_save *s);
void freelist_drop_cache(heed_env *env);
int freelist_read(heed_env *env, uint64_t head, uint64_t next_pgno, struct pgvec *recs,
		  struct pgvec *chain);

/* btree.c */
int bt_check_page(void *p, unsigned int psize, unsigned int want);
int bt_seek(heed_cursor *c, const void *key, size_t klen, int *exact);
int bt_first(heed_cursor *c);
int bt_last(heed_cursor *c);
int bt_next(heed_cursor *c);
int bt_prev(heed_cursor *c);
int bt_node_value(heed_txn *txn, unsigned char *node, heed_val *data);
/* The leaf node of key in db dbi, whose keys are in bytewise order (bt_get)
 * or in order cmp (bt_get_cmp, cmp not NULL): 0, HEED_NOTFOUND or an
 * error. */
int bt_get(heed_txn *txn, heed_dbi dbi, const void *key, size_t klen, unsigned char **node);
int bt_get_cmp(heed_txn *txn, heed_dbi dbi, heed_cmp_func *cmp, const void *key, size_t klen,
	       unsigned char **node);
/* Put c on the values of a DUPSORT key whose tree's record is r (c->xc of
 * a cursor of db dbi): cursor_init, then that tree and its order. */
void cursor_init_values(heed_cursor *c, heed_txn *txn, heed_dbi dbi, struct dbrec *r);
int bt_put(heed_cursor *c, const heed_val *key, heed_val *data, unsigned int flags,
	   unsigned int nflags);
/* A HEED_RESERVE put (plain dbs): data->size zero bytes stored, data->data
 * then points at them in the txn's page (HEED_KEYEXIST: at the stored
 * value, as bt_put). */
int bt_put_reserve(heed_cursor *c, const heed_val *key, heed_val *data, unsigned int flags);
int bt_del(heed_cursor *c);
int bt_drop(heed_txn *txn, heed_dbi dbi);
/* Free every page of the tree db names and empty db (nest: 2 for the main
 * db, whose N_DBREC nodes name trees; 1 for a db, whose N_DUP nodes do; 0
 * for a tree of values). A page reached twice (a damaged file) makes it
 * HEED_CORRUPTED before anything is freed: freeing it twice would put it on
 * the freelist twice. */
int bt_drop_tree(heed_txn *txn, struct dbrec *db, int nest);
void cursor_init(heed_cursor *c, heed_txn *txn, heed_dbi dbi);

#define XON_ONE	 0 /* the key has one value (a plain node) */
#define XON_TREE 1 /* its values are a tree (N_DUP) */
#define XON_LIST 2 /* its values are an inline list (N_DUPS) */

/* dup.c: the values of a DUPSORT db's keys (c->xc set). dup_load reads the
 * values of the key c stands on (c->xon: a tree, then c->xc walks it);
 * dup_edge puts c on the key's first or last value, dup_step on the next
 * or previous one (HEED_NOTFOUND past the key's last or first), dup_find
 * on its first value >= val (HEED_NOTFOUND when all are smaller), dup_seek
 * on the first (key, value) pair >= (key, val) (beyond the end when none).
 * dup_put adds a value (HEED_NOOVERWRITE: HEED_KEYEXIST with the first
 * value when the key exists; HEED_NODUPDATA: HEED_KEYEXIST when the value
 * does; else an existing value is a success that changes nothing);
 * dup_del deletes the value c stands on, or all of its key's. */
int dup_load(heed_cursor *c);
int dup_edge(heed_cursor *c, int last);
int dup_step(heed_cursor *c, int prev);
int dup_value(heed_cursor *c, heed_val *data);
int dup_count(heed_cursor *c, size_t *count);
int dup_find(heed_cursor *c, const void *val, size_t vlen, int *exact);
int dup_seek(heed_cursor *c, const void *key, size_t klen, const void *val, size_t vlen,
	     int *exact);
int dup_put(heed_cursor *c, const heed_val *key, heed_val *data, unsigned int flags);
int dup_del(heed_cursor *c, int all);
/* An inline list of values (an N_DUPS node's data): sorted (order cmp), each 1 to
 * MAX_KEYSIZE bytes, two or more: 0 with their count, or HEED_CORRUPTED. */
int dup_list_check(const unsigned char *d, uint32_t size, heed_cmp_func *cmp, unsigned int *count);

/* dbrec.c */
/* Make txn->dbs[dbi] valid for txn (the record read from the main db the
 * first time): 0, HEED_BAD_DBI for a closed, reused or dropped slot. */
int txn_db(heed_txn *txn, heed_dbi dbi);
int dbrec_put(heed_txn *txn, heed_dbi i);
/* Write every changed named-db record into the main db (commit, and
 * before the main db is dropped). HEED_BAD_DBI when a changed db's slot was
 * closed and reused under the txn. */
int dbrecs_store(heed_txn *txn);
/* The order of the keys (dup 0) or values (dup 1) of the named db name
 * (nlen bytes) of flags dbflags: its flags' (heed_flag_order), or the
 * user's where a handle of env on that name has one (heed-check's walk and
 * the compacting copy, which meet dbs by name). */
heed_cmp_func *dbrec_order(heed_env *env, const void *name, size_t nlen, unsigned int dbflags,
			   int dup);
/* heed_stat of a db record (heed_dbi_stat, heed_env_stat). */
void dbrec_stat(const struct dbrec *db, unsigned int psize, heed_stat *st);

/* txn.c */
int txn_fail(heed_txn *txn, int rc);
int txn_check(heed_txn *txn, int write);
/* txn_check then txn_db: the checks an op on db dbi starts with. */
int txn_use_db(heed_txn *txn, heed_dbi dbi, int write);
int sync_data(heed_env *env); /* fdatasync of the data file, probed and timed */

/* env.c */
int env_check(heed_env *env);

/* check.c: the structural walker heed-check runs (hidden, linked from
 * libheed.a). Calls report for the first violation with a sentence naming
 * the page; returns 0 when clean, 1 on a violation, else an error code. */
typedef void (*heed_check_report)(void *arg, const char *msg);
int heed_env_check(heed_env *env, heed_check_report report, void *arg, size_t *pages_walked);

/* Freelist totals of the last commit (heed-stat). */
int heed_env_freelist(heed_env *env, size_t *free_pages, size_t *chain_pages,
		      size_t *reusable_pages);

#endif
