/*
 * txn.c - transaction life cycle and the commit (the dirty pages it
 * writes are kept by dirty.c).
 *
 * Life cycle of a txn:
 *   read:  begin (claim a reader slot, publish the snapshot) -> [reset ->
 *          renew]* -> commit or abort (slot back to idle).
 *   write: begin (writer mutex, then the lock file's writer lock) -> ops ->
 *          commit or abort (both release the locks). A failed op (map full,
 *          no memory, corrupt page met) marks the txn failed: every later op
 *          returns HEED_BAD_TXN and commit aborts.
 *   nested: a write txn (or a child) may have one child at a time, to any
 *          depth; the parent is TXN_BLOCKED, refusing every op
 *          (HEED_BAD_TXN), until the child ends. A child starts from its
 *          parent's state without copying its dirty pages (dirty.c), so
 *          its abort leaves the parent as it was, and its reusable pages
 *          are a copy of the parent's (a few bytes a page, as LMDB copies
 *          its reclaimed list). Its commit folds into the parent (fold): the
 *          parent's reservations are made first, so the fold itself cannot
 *          fail half-way. Ending a parent ends its open child the same way
 *          first (as LMDB: a commit commits it, an abort aborts it); a
 *          failed child's commit fails the parent too. Nothing reaches the
 *          file before the outermost txn commits.
 *
 * A txn builds its pages in malloc'd dirty buffers rather than in a
 * writable map: a stray pointer or a crash in the middle of a txn can never
 * scribble on committed pages, the map readers see stays read-only
 * (PROT_READ), and the pages a txn touches cost nothing until commit, which
 * writes them in pgno order, into the writer's own writable map where the
 * file allows it (wmap.c), else with pwrite, coalesced.
 *
 * Commit ordering (what makes a commit atomic and durable):
 *   1. Dirty named-db records go into the main db; the freelist (pages freed
 *      by this txn, the old chain, what is still pending or reusable) is
 *      written into new chain pages. Only pages no snapshot references are
 *      written: new pages or pages freed by commits no reader can see.
 *   2. The file grows (in chunks, never past the map) and every dirty page
 *      is written, then fdatasync (skipped with NOSYNC).
 *   3. The meta page txnid % 2 is written with the new root, next_pgno,
 *      freelist head and checksum, then fdatasync (skipped with NOSYNC or
 *      NOMETASYNC). Until it is written, the previous meta is the newest
 *      valid one and describes an intact tree. A NOMETASYNC meta is marked
 *      META_UNSYNCED: until the next commit's step 2 has synced it, a
 *      power loss may bring back the meta before it, so that next commit
 *      keeps the pages of both snapshots (freelist_reuse_cap).
 *   4. A failure in 2 returns the errno and leaves the file as it was (the
 *      written pages are unreferenced). A failure in 3 leaves the meta page
 *      unknown: the env refuses further writes with HEED_PANIC.
 *   5. Only after 3 does the env adopt the txn's freelist and dbi changes.
 */
#include "internal.h"
#include "probes.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

int txn_fail(heed_txn *txn, int rc)
{
	if (rc && rc != HEED_NOTFOUND && rc != HEED_KEYEXIST && !(txn->flags & HEED_RDONLY))
		txn->state = TXN_FAILED;
	return rc;
}

int txn_check(heed_txn *txn, int write)
{
	if (!txn)
		return EINVAL;
	if (txn->state != TXN_ACTIVE)
		return HEED_BAD_TXN;
	if (write && (txn->flags & HEED_RDONLY))
		return EACCES;
	return 0;
}

int txn_use_db(heed_txn *txn, heed_dbi dbi, int write)
{
	int rc = txn_check(txn, write);

	return rc ? rc : txn_db(txn, dbi);
}

static void take_snapshot_fields(heed_txn *txn, const struct meta *m)
{
	txn->next_pgno = m->next_pgno;
	txn->old_pgno = m->next_pgno;
	txn->free_head = m->free_head;
	txn->free_count = m->free_count;
	txn->dbs[0] = m->main;
	memset(txn->dbst, 0, txn->env->maxdbs + 1);
	txn->dbst[0] = DB_LOADED;
}

static uint64_t newest_raw(heed_env *env)
{
	volatile const struct meta *m0 = (const struct meta *)env->map;
	volatile const struct meta *m1 = (const struct meta *)(env->map + env->psize);
	uint64_t t0 = m0->txnid, t1 = m1->txnid;

	return t0 > t1 ? t0 : t1;
}

static int read_snapshot(heed_txn *txn)
{
	heed_env *env = txn->env;
	struct meta m, again;
	int rc, tries = 0;

	for (;;) {
		rc = meta_pick(env, &m);
		if (rc)
			return rc;
		/* Invariant 3 of lock.c: publish, then check it is still newest.
		 * A raw txnid no newer than ours settles it without a second
		 * pick; a newer one may be a meta being written (or torn). */
		atomic_store(&txn->slot->txnid, m.txnid);
		atomic_thread_fence(memory_order_seq_cst);
		if (newest_raw(env) <= m.txnid)
			break;
		rc = meta_pick(env, &again);
		if (rc)
			return rc;
		if (again.txnid == m.txnid)
			break;
		if (++tries > 1000000)
			return HEED_BUSY;
	}
	rc = env_refresh_size(env, m.next_pgno);
	if (rc)
		return rc;
	txn->txnid = m.txnid;
	take_snapshot_fields(txn, &m);
	return 0;
}

static void release_reader(heed_txn *txn)
{
	if (txn->slot) {
		reader_release(txn->env, txn->slot, txn->slot_cached);
		txn->slot = NULL;
	}
}

static int write_begin(heed_txn *txn)
{
	heed_env *env = txn->env;
	struct meta m;
	int rc;

	pthread_mutex_lock(&env->wmutex);
	rc = lock_writer(env);
	if (rc) {
		pthread_mutex_unlock(&env->wmutex);
		return rc;
	}
	if (env->panic) {
		rc = HEED_PANIC;
		goto fail;
	}
	txn->dirty = env->dirty_spare;
	memset(&env->dirty_spare, 0, sizeof(env->dirty_spare));
	rc = meta_pick(env, &m);
	if (rc)
		goto fail;
	rc = env_refresh_size(env, m.next_pgno);
	if (rc)
		goto fail;
	txn->txnid = m.txnid + 1;
	take_snapshot_fields(txn, &m);
	txn->oldest = readers_oldest(env, freelist_reuse_cap(&m));
	rc = freelist_load(txn);
	if (rc)
		goto fail;
	env->wtxn = txn;
	return 0;
fail:
	dirty_free(env, &txn->dirty);
	lock_writer_release(env);
	pthread_mutex_unlock(&env->wmutex);
	return rc;
}

static void write_release(heed_txn *txn)
{
	heed_env *env = txn->env;

	if (txn->parent)
		dirty_remove(&txn->dirty, DIRTY_CHILD_MARK); /* no page to free */
	dirty_free(env, &txn->dirty);
	pgvec_free(&txn->avail);
	pgvec_free(&txn->pending);
	pgvec_free(&txn->freed);
	pgvec_free(&txn->chain);
	if (txn->parent) {
		/* A failed child's commit failed the parent: it stays so. */
		if (txn->parent->state == TXN_BLOCKED)
			txn->parent->state = TXN_ACTIVE;
		txn->parent->child = NULL;
		return;
	}
	env->wtxn = NULL;
	lock_writer_release(env);
	pthread_mutex_unlock(&env->wmutex);
}

/* A child of parent: its state as the parent has it, nothing changed. */
static int nested_begin(heed_txn *txn, heed_txn *parent)
{
	heed_env *env = txn->env;
	unsigned int i;
	int rc;

	txn->parent = parent;
	txn->txnid = parent->txnid;
	txn->next_pgno = parent->next_pgno;
	txn->old_pgno = parent->old_pgno;
	txn->free_head = parent->free_head;
	txn->free_count = parent->free_count;
	txn->oldest = parent->oldest;
	txn->mod = parent->mod;
	memcpy(txn->dbs, parent->dbs, (env->maxdbs + 1) * sizeof(*txn->dbs));
	memcpy(txn->dbseq, parent->dbseq, (env->maxdbs + 1) * sizeof(*txn->dbseq));
	/* The dbis the parent created stay its own: this child's abort
	 * closes only those it creates itself. */
	for (i = 0; i <= env->maxdbs; i++)
		txn->dbst[i] = (unsigned char)(parent->dbst[i] & ~DB_CREATED);
	for (i = 0; i < parent->avail.n; i++) {
		rc = pgvec_push(&txn->avail, parent->avail.v[i]);
		if (rc) {
			pgvec_free(&txn->avail);
			return rc;
		}
	}
	txn->avail_sorted = parent->avail_sorted;
	txn->fz_n = parent->fz_n;
	txn->dirty = env->dirty_spare;
	memset(&env->dirty_spare, 0, sizeof(env->dirty_spare));
	rc = dirty_add(&txn->dirty, DIRTY_CHILD_MARK, txn);
	if (rc) {
		dirty_free(env, &txn->dirty);
		pgvec_free(&txn->avail);
		return rc;
	}
	parent->child = txn;
	parent->state = TXN_BLOCKED;
	return 0;
}

HEED_API int heed_txn_begin(heed_env *env, heed_txn *parent, unsigned int flags, heed_txn **ret)
{
	heed_txn *txn;
	int rc, rdonly = (flags & HEED_RDONLY) != 0;

	if (!env || !ret || !env->opened)
		return EINVAL;
	*ret = NULL;
	if (!rdonly && (env->flags & HEED_RDONLY))
		return EACCES;
	/* As LMDB: a read-only parent is EINVAL, a read-only child or a
	 * parent that is failed or has a child HEED_BAD_TXN. */
	if (parent && (parent->env != env || (parent->flags & HEED_RDONLY)))
		return EINVAL;
	if (parent && (rdonly || txn_check(parent, 1)))
		return HEED_BAD_TXN;
	txn = rdonly ? atomic_exchange(&env->spare, NULL) : NULL;
	if (txn)
		memset(txn, 0, sizeof(*txn)); /* dbs/dbst are reset per snapshot */
	else
		txn = calloc(1, sizeof(*txn) + (env->maxdbs + 1) * (sizeof(struct dbrec) +
								    sizeof(unsigned int) + 1));
	if (!txn)
		return ENOMEM;
	txn->env = env;
	txn->flags = rdonly ? HEED_RDONLY : 0;
	txn->dbs = (struct dbrec *)(txn + 1);
	txn->dbseq = (unsigned int *)(txn->dbs + env->maxdbs + 1);
	txn->dbst = (unsigned char *)(txn->dbseq + env->maxdbs + 1);
	if (parent) {
		rc = nested_begin(txn, parent);
	} else if (rdonly) {
		rc = reader_acquire(env, &txn->slot, &txn->slot_cached);
		if (!rc) {
			rc = read_snapshot(txn);
			if (rc)
				release_reader(txn);
		}
	} else {
		rc = write_begin(txn);
	}
	if (rc) {
		free(txn);
		return probe_rc(rc);
	}
	atomic_fetch_add(&env->active, 1);
	{
		uint64_t id = txn->txnid;

		PROBE(TXN_BEGIN, id, rdonly);
	}
	*ret = txn;
	return 0;
}

static void close_cursors(heed_txn *txn)
{
	while (txn->cursors) {
		heed_cursor *c = txn->cursors;

		txn->cursors = c->next;
		free(c);
	}
}

/* Free the env's dbi slots whose txn state has a bit of which: the dbis an
 * aborted txn created (their records never reached the file) or those a
 * committed txn dropped; not a slot closed and reused since the txn took
 * its state (another db's now). */
static void forget_dbis(heed_txn *txn, unsigned char which)
{
	heed_env *env = txn->env;
	unsigned int i;

	pthread_mutex_lock(&env->dbimutex);
	for (i = 1; i < env->numdbs; i++) {
		if ((txn->dbst[i] & which) && txn->dbseq[i] == atomic_load(&env->dbseq[i])) {
			atomic_store(&env->dbflags[i], 0);
			free(env->dbnames[i]);
			env->dbnames[i] = NULL;
		}
	}
	pthread_mutex_unlock(&env->dbimutex);
}

static void txn_free(heed_txn *txn)
{
	heed_txn *none = NULL;

	close_cursors(txn);
	atomic_fetch_sub(&txn->env->active, 1);
	/* Keep one read txn for the next begin: saves a calloc and a free. */
	if (!(txn->flags & HEED_RDONLY) ||
	    !atomic_compare_exchange_strong(&txn->env->spare, &none, txn))
		free(txn);
	op_flush();
}

HEED_API void heed_txn_abort(heed_txn *txn)
{
	uint64_t id;

	if (!txn)
		return;
	if (txn->child)
		heed_txn_abort(txn->child);
	id = txn->txnid;
	PROBE(TXN_ABORT, id);
	/* Handles this txn opened die with it (heed.h, heed_dbi_open). */
	forget_dbis(txn, DB_CREATED);
	if (txn->flags & HEED_RDONLY)
		release_reader(txn);
	else
		write_release(txn);
	txn_free(txn);
}

HEED_API void heed_txn_reset(heed_txn *txn)
{
	heed_cursor *c;

	if (!txn || !(txn->flags & HEED_RDONLY) || txn->state == TXN_RESET)
		return;
	release_reader(txn);
	for (c = txn->cursors; c; c = c->next)
		c->pos = CUR_UNSET;
	txn->state = TXN_RESET;
	op_flush();
}

HEED_API int heed_txn_renew(heed_txn *txn)
{
	int rc;

	if (!txn)
		return EINVAL;
	if (!(txn->flags & HEED_RDONLY) || txn->state != TXN_RESET)
		return HEED_BAD_TXN;
	rc = reader_acquire(txn->env, &txn->slot, &txn->slot_cached);
	if (rc)
		return probe_rc(rc);
	rc = read_snapshot(txn);
	if (rc) {
		release_reader(txn);
		return probe_rc(rc);
	}
	txn->state = TXN_ACTIVE;
	return 0;
}

HEED_API size_t heed_txn_id(heed_txn *txn)
{
	if (!txn || txn->state == TXN_RESET)
		return 0;
	return (size_t)txn->txnid;
}

int sync_data(heed_env *env)
{
	uint64_t t0 = op_begin(HEED_OP_SYNC);
	int fd = env->fd, rc = 0;

	PROBE(SYNC_START, fd);
	if (fdatasync(fd) < 0)
		rc = errno;
	PROBE(SYNC_DONE, fd, rc);
	op_end(HEED_OP_SYNC, rc, t0);
	return rc;
}

static int pwrite_all(int fd, struct iovec *iov, int n, off_t off)
{
	while (n > 0) {
		/* One page (most runs of a random write): pwrite spares the
		 * kernel importing an iovec. */
		ssize_t w = n == 1 ? pwrite(fd, iov->iov_base, iov->iov_len, off)
				   : pwritev(fd, iov, n, off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (w == 0)
			return EIO;
		off += w;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Grow the file to hold next_pgno pages: in chunks of an eighth of the
 * file (at least 1 MiB), so a growing db does not pay a size change (and a
 * journal commit in the file system) on every commit; never past the map. */
static int grow_file(heed_env *env, uint64_t next_pgno)
{
	uint64_t need = next_pgno * (uint64_t)env->psize, to;
	struct stat st;

	if (need <= env->filesize)
		return 0;
	/* Another process may have grown it further: never shrink a file. */
	if (fstat(env->fd, &st) < 0)
		return errno;
	env->filesize = (size_t)st.st_size;
	if (need <= env->filesize)
		return 0;
	to = need + (env->filesize / 8 > (1u << 20) ? env->filesize / 8 : (1u << 20));
	to = (to + env->psize - 1) / env->psize * env->psize;
	if (to > env->mapsize)
		to = env->mapsize;
	if (ftruncate(env->fd, (off_t)to) < 0)
		return errno;
	env->filesize = (size_t)to;
	return 0;
}

/* Pages a dirty buffer holds: an overflow run's length, else 1. */
static uint32_t page_npages(void *p)
{
	return (page_hdr(p)->flags & P_OVERFLOW) ? page_hdr(p)->lower : 1;
}

/* Write every dirty page, in pgno order: copied into the writable map
 * (wmap.c), or with pwrite, where runs of consecutive pages go out in one
 * pwritev. */
static int write_dirty(heed_txn *txn)
{
	heed_env *env = txn->env;
	struct dirty_tab *t = &txn->dirty;
	struct iovec iov[256];
	uint64_t *pg;
	size_t i, n = 0, j, reused;
	int rc;

	if (!t->n)
		return 0;
	pg = malloc(t->n * sizeof(*pg));
	if (!pg)
		return ENOMEM;
	for (i = 0; i < t->cap; i++)
		if (t->keys[i])
			pg[n++] = t->keys[i];
	pgno_sort(pg, n);
	rc = grow_file(env, txn->next_pgno);
	/* Pages an earlier commit wrote (freed, now reused) sort first. */
	for (reused = 0; reused < n && pg[reused] < txn->old_pgno; reused++)
		;
	i = 0;
	/* The first store to a page through a user mapping faults, and on this
	 * project's VMs (PVM guests) that is a trap to the hypervisor costing
	 * several pwrites, which prefaulting (MADV_POPULATE_WRITE) does not
	 * spare. A random-update commit reuses pages that recent commits wrote
	 * through the map, warm: overwrite 2.0 us a put against 6.3 with pwrite.
	 * An append reuses a few pages, each for the first time, and adds new
	 * ones: fillseq took 218 ns a put through the map, 181 with pwrite. So the
	 * map takes a commit's reused pages when they are most of its pages; new
	 * pages always go with pwrite, in runs. */
	if (!rc && reused * 2 >= n && wmap_ready(env, txn->old_pgno * env->psize))
		for (; i < reused; i++) {
			void *p = dirty_find(t, pg[i]);
			size_t np = page_npages(p);

			if (pg[i] + np > txn->old_pgno)
				break;
			page_hdr(p)->flags &= (uint16_t)~P_DIRTY;
			memcpy(env->wmap + pg[i] * env->psize, p, np * env->psize);
		}
	while (i < n && !rc) {
		int k = 0;
		uint64_t end = pg[i];

		for (j = i; j < n && k < 256 && pg[j] == end; j++, k++) {
			void *p = dirty_find(t, pg[j]);
			unsigned int np = page_npages(p);

			page_hdr(p)->flags &= (uint16_t)~P_DIRTY;
			iov[k].iov_base = p;
			iov[k].iov_len = (size_t)np * env->psize;
			end += np;
		}
		rc = pwrite_all(env->fd, iov, k, (off_t)(pg[i] * env->psize));
		i = j;
	}
	free(pg);
	return rc;
}

/* Make the env adopt the committed txn: freelist cache, dbi table. */
static void adopt(heed_txn *txn, struct fl_save *fl)
{
	freelist_adopt(txn, fl);
	forget_dbis(txn, DB_DROPPED);
}

static int write_commit(heed_txn *txn)
{
	heed_env *env = txn->env;
	struct fl_save fl = {0};
	struct meta m, old;
	off_t off;
	uint64_t id = txn->txnid, ndirty;
	int rc;

	rc = dbrecs_store(txn);
	if (!rc)
		rc = freelist_save(txn, &fl);
	if (rc)
		goto out;
	ndirty = txn->dirty.n;
	PROBE(TXN_COMMIT_START, id, ndirty);
	rc = write_dirty(txn);
	if (!rc && !(env->flags & HEED_NOSYNC))
		rc = sync_data(env);
	if (rc)
		goto out;
	memset(&m, 0, sizeof(m));
	m.txnid = txn->txnid;
	m.next_pgno = txn->next_pgno;
	m.free_head = txn->free_head;
	m.free_count = txn->free_count;
	/* Ordering 3 skips the meta's sync: the next writer must keep this
	 * snapshot's predecessor (freelist_reuse_cap). With NOSYNC nothing is
	 * ordered on disk, so keeping it would buy nothing. */
	if ((env->flags & (HEED_NOSYNC | HEED_NOMETASYNC)) == HEED_NOMETASYNC)
		m.mflags = META_UNSYNCED;
	m.main = txn->dbs[0];
	meta_build(&m, env, txn->txnid % NUM_METAS);
	off = (off_t)(m.hdr.pgno * env->psize);
	memcpy(&old, env->map + off, sizeof(old));
	assert(txn->next_pgno * env->psize <= env->filesize); /* ordering 2 before 3 */
	errno = 0;
	if (pwrite(env->fd, &m, sizeof(m), off) != (ssize_t)sizeof(m)) {
		rc = errno ? errno : EIO;
		goto undo;
	}
	if (!(env->flags & (HEED_NOSYNC | HEED_NOMETASYNC))) {
		rc = sync_data(env);
		if (rc)
			goto undo;
	}
	adopt(txn, &fl);
	goto out;
undo:
	/* The new meta may be in the page cache, whole or torn: put back the
	 * one it replaced so the previous commit stays the newest valid meta
	 * for every reader and for the next open. What reached the disk is
	 * unknown, so the env takes no more writes. */
	if (pwrite(env->fd, &old, sizeof(old), off) != (ssize_t)sizeof(old))
		rc = rc ? rc : EIO;
	env->panic = 1;
out:
	PROBE(TXN_COMMIT_DONE, id, rc);
	freelist_save_free(&fl);
	return rc;
}

/* Fold child txn into its parent (the commit of a nested txn), then free
 * it. What the parent has that the child replaced or freed goes; the
 * parent's cursors re-seek (mod), its APPEND path is the child's. */
static int fold(heed_txn *txn)
{
	heed_env *env = txn->env;
	heed_txn *p = txn->parent;
	struct dirty_tab *t = &txn->dirty;
	uint64_t id = txn->txnid, ndirty;
	size_t i;
	int rc;

	dirty_remove(t, DIRTY_CHILD_MARK);
	ndirty = t->n;
	PROBE(TXN_COMMIT_START, id, ndirty);
	rc = dirty_reserve(&p->dirty, p->dirty.n + t->n);
	while (!rc && p->freed.cap < p->freed.n + txn->freed.n)
		rc = pgvec_grow(&p->freed);
	if (rc)
		goto out;
	/* Pages the child freed that an ancestor had dirty: reusable (in the
	 * child's avail), so their buffers go. */
	for (i = 0; i < txn->avail.n; i++) {
		void *old = dirty_remove(&p->dirty, txn->avail.v[i]);

		if (old)
			pgbuf_put(env, old, page_npages(old));
	}
	for (i = 0; i < t->cap; i++) {
		void *old;
		uint32_t np, k;

		if (!t->keys[i])
			continue;
		old = dirty_set(&p->dirty, t->keys[i], t->pages[i]);
		if (old)
			pgbuf_put(env, old, page_npages(old));
		/* A run the child allocated may cover pages an ancestor has
		 * dirty that the child freed and took again. */
		np = page_npages(t->pages[i]);
		for (k = 1; k < np; k++) {
			old = dirty_remove(&p->dirty, t->keys[i] + k);
			if (old)
				pgbuf_put(env, old, page_npages(old));
		}
		t->keys[i] = 0;
	}
	t->n = 0;
	if (txn->freed.n)
		memcpy(p->freed.v + p->freed.n, txn->freed.v, txn->freed.n * sizeof(uint64_t));
	p->freed.n += txn->freed.n;
	pgvec_free(&p->avail);
	p->avail = txn->avail;
	p->avail_sorted = txn->avail_sorted;
	p->fz_n = txn->fz_n; /* the segments it thawed are in avail and freed */
	memset(&txn->avail, 0, sizeof(txn->avail));
	p->next_pgno = txn->next_pgno;
	memcpy(p->dbs, txn->dbs, (env->maxdbs + 1) * sizeof(*p->dbs));
	memcpy(p->dbseq, txn->dbseq, (env->maxdbs + 1) * sizeof(*p->dbseq));
	for (i = 0; i <= env->maxdbs; i++)
		p->dbst[i] = (unsigned char)(txn->dbst[i] | (p->dbst[i] & DB_CREATED));
	if (txn->mod != p->mod) {
		p->mod = txn->mod;
		p->app_snum = 0;
		if (txn->app_snum && txn->app_mod == txn->mod) {
			p->app_dbi = txn->app_dbi;
			p->app_mod = txn->app_mod;
			p->app_snum = txn->app_snum;
			memcpy(p->app_pg, txn->app_pg, sizeof(p->app_pg));
			memcpy(p->app_ki, txn->app_ki, sizeof(p->app_ki));
		}
	}
out:
	PROBE(TXN_COMMIT_DONE, id, rc);
	if (rc)
		forget_dbis(txn, DB_CREATED);
	write_release(txn);
	txn_free(txn);
	return rc;
}

/* Commit txn's open child (and its own, first), as LMDB: a child that
 * fails to commit fails txn. */
static int commit_children(heed_txn *txn)
{
	heed_txn *c = txn->child;
	int rc;

	if (!c)
		return 0;
	rc = commit_children(c);
	if (!rc && c->state != TXN_ACTIVE) {
		rc = HEED_BAD_TXN;
		txn->state = TXN_FAILED;
	}
	if (rc) {
		heed_txn_abort(c);
		return rc;
	}
	return fold(c);
}

HEED_API int heed_txn_commit(heed_txn *txn)
{
	uint64_t t0;
	int rc;

	if (!txn)
		return EINVAL;
	if (txn->flags & HEED_RDONLY) {
		release_reader(txn);
		txn_free(txn);
		return 0;
	}
	if (txn->state != TXN_ACTIVE && txn->state != TXN_BLOCKED) {
		/* A failed child fails its parent (LMDB's rule). */
		if (txn->parent)
			txn->parent->state = TXN_FAILED;
		heed_txn_abort(txn);
		return HEED_BAD_TXN;
	}
	t0 = op_begin(HEED_OP_COMMIT);
	rc = commit_children(txn);
	if (rc) {
		if (txn->parent)
			txn->parent->state = TXN_FAILED;
		heed_txn_abort(txn);
		op_end(HEED_OP_COMMIT, rc, t0);
		return probe_rc(rc);
	}
	if (txn->parent) {
		rc = fold(txn);
		op_end(HEED_OP_COMMIT, rc, t0);
		return probe_rc(rc);
	}
	rc = write_commit(txn);
	if (rc) {
		forget_dbis(txn, DB_CREATED);
		/* The env's cached freelist may hold what this txn consumed. */
		txn->env->fl_valid = 0;
	}
	write_release(txn);
	op_end(HEED_OP_COMMIT, rc, t0);
	txn_free(txn);
	return probe_rc(rc);
}
