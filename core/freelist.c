/*
 * freelist.c - page allocation and the freelist kept in the file.
 *
 * Pages freed by commit T were part of snapshot T-1. A reader of snapshot S
 * can reach them only if S < T, so they become reusable once T <= the
 * oldest snapshot any reader pins and T <= the cap of freelist_reuse_cap:
 * the snapshot this writer started from, or the one before it while that
 * snapshot's meta may not be on disk yet (HEED_NOMETASYNC). The file
 * stores the whole freelist, rewritten by every commit into fresh chain
 * pages (page.h): records [txnid][count][pgnos], txnid 0 for pages
 * reusable now. The chain of the previous commit is freed by the commit
 * that replaces it, like any other page of the old snapshot.
 *
 * Writing the chain allocates its pages from the reusable pages first,
 * which shrinks what must be written, so the loop that sizes it ends.
 *
 * Cost: a commit writes ceil(words / ((psize - 32) / 8)) chain pages; one
 * page while fewer than ~500 pages are free at 4 KiB.
 */
#include "internal.h"
#include "probes.h"

#include <errno.h>
#include <stdlib.h>

/* Read the chain at head into txnid/pgno pairs and the list of chain pages.
 * Every number is checked: a bad chain is HEED_CORRUPTED. */
int freelist_read(heed_env *env, uint64_t head, uint64_t next_pgno, struct pgvec *recs,
		  struct pgvec *chain)
{
	unsigned int per = (env->psize - FREELIST_DATA) / 8;
	uint64_t pg = head, txnid = 0, left = 0;
	int rc = 0, want_hdr = 2;

	recs->n = 0;
	chain->n = 0;
	while (pg) {
		unsigned char *p;
		uint32_t i, nw;

		if (pg < NUM_METAS || pg >= next_pgno || chain->n >= next_pgno)
			return HEED_CORRUPTED;
		p = env->map + pg * env->psize;
		if (page_hdr(p)->pgno != pg || page_hdr(p)->flags != P_FREELIST)
			return HEED_CORRUPTED;
		nw = page_hdr(p)->lower;
		if (nw > per)
			return HEED_CORRUPTED;
		rc = pgvec_push(chain, pg);
		if (rc)
			return rc;
		for (i = 0; i < nw; i++) {
			uint64_t w = rd64(p + FREELIST_DATA + 8 * i);

			if (want_hdr == 2) {
				txnid = w;
				want_hdr = 1;
			} else if (want_hdr == 1) {
				left = w;
				want_hdr = left ? 0 : 2;
				if (left >= next_pgno)
					return HEED_CORRUPTED;
			} else {
				if (w < NUM_METAS || w >= next_pgno)
					return HEED_CORRUPTED;
				rc = pgvec_push(recs, txnid);
				if (!rc)
					rc = pgvec_push(recs, w);
				if (rc)
					return rc;
				if (--left == 0)
					want_hdr = 2;
			}
		}
		pg = rd64(p + PAGE_HDR);
	}
	return want_hdr == 2 ? 0 : HEED_CORRUPTED;
}

/*
 * The newest snapshot whose pages a writer starting from meta m must keep.
 * Normally m's own: pages freed by commit m.txnid were in snapshot
 * m.txnid - 1, which no one can open any more. A meta written without a
 * sync (META_UNSYNCED) may not be on disk: a power loss before the next
 * commit's data sync completes brings back the meta before it, so that
 * snapshot's pages must survive this commit too (two snapshots kept, as
 * LMDB always does). This commit's data sync flushes m to disk (fdatasync
 * writes every dirty page of the file), so its successor may drop it.
 */
uint64_t freelist_reuse_cap(const struct meta *m)
{
	return (m->mflags & META_UNSYNCED) && m->txnid ? m->txnid - 1 : m->txnid;
}

int freelist_load(heed_txn *txn)
{
	heed_env *env = txn->env;
	size_t i;
	int rc;

	if (!env->fl_valid || env->fl_txnid != txn->txnid - 1) {
		env->fl_valid = 0;
		rc = freelist_read(env, txn->free_head, txn->next_pgno, &env->fl_recs,
				   &env->fl_chain);
		if (rc)
			return rc;
		env->fl_valid = 1;
		env->fl_txnid = txn->txnid - 1;
	}
	for (i = 0; i + 1 < env->fl_recs.n; i += 2) {
		uint64_t t = env->fl_recs.v[i], pg = env->fl_recs.v[i + 1];

		if (t <= txn->oldest)
			rc = pgvec_push(&txn->avail, pg);
		else if (!(rc = pgvec_push(&txn->pending, t)))
			rc = pgvec_push(&txn->pending, pg);
		if (rc)
			return rc;
	}
	for (i = 0; i < env->fl_chain.n; i++) {
		rc = pgvec_push(&txn->chain, env->fl_chain.v[i]);
		if (rc)
			return rc;
	}
	pgno_sort_runs(txn->avail.v, txn->avail.n);
	txn->avail_sorted = 1;
	return 0;
}

/* Sort avail: freelist_load left it sorted, page_alloc takes from its end,
 * and page_free appends pages this txn allocated and freed again. Sorting
 * that tail and merging costs the tail, not the whole list: a long delete
 * keeps tens of thousands of pages there, and sorting them all at every
 * commit was 10% of btree_ops delete/4k/1000000's instructions. */
static void avail_sort(heed_txn *txn)
{
	struct pgvec *a = &txn->avail;
	size_t p = 1;

	if (txn->avail_sorted)
		return;
	while (p < a->n && a->v[p] >= a->v[p - 1])
		p++;
	if (p < a->n)
		pgno_sort(a->v + p, a->n - p);
	pgno_sort_runs(a->v, a->n);
	txn->avail_sorted = 1;
}

/* Take a run of n consecutive pages out of avail; 0 when there is none. */
static uint64_t take_run(heed_txn *txn, unsigned int n)
{
	struct pgvec *a = &txn->avail;
	size_t i;

	if (a->n < n)
		return 0;
	avail_sort(txn);
	for (i = a->n - n + 1; i-- > 0;) {
		if (a->v[i + n - 1] == a->v[i] + n - 1) {
			uint64_t pg = a->v[i];

			memmove(a->v + i, a->v + i + n, (a->n - i - n) * sizeof(uint64_t));
			a->n -= n;
			return pg;
		}
	}
	return 0;
}

int page_alloc(heed_txn *txn, unsigned int npages, uint64_t *pgno, void **page)
{
	heed_env *env = txn->env;
	uint64_t pg = 0;
	void *p = NULL;
	int rc;

	if (npages == 1 && txn->avail.n)
		pg = txn->avail.v[--txn->avail.n];
	else if (npages > 1)
		pg = take_run(txn, npages);
	if (!pg) {
		if ((txn->next_pgno + npages) * (uint64_t)env->psize > env->mapsize)
			return HEED_MAP_FULL;
		pg = txn->next_pgno;
		txn->next_pgno += npages;
	}
	p = pgbuf_get(env, npages);
	if (!p)
		goto nomem;
	rc = dirty_add(&txn->dirty, pg, p);
	if (rc) {
		pgbuf_put(env, p, npages);
		goto nomem;
	}
	memset(p, 0, PAGE_HDR);
	page_hdr(p)->pgno = pg;
	page_hdr(p)->flags = P_DIRTY;
	*pgno = pg;
	*page = p;
	PROBE(PAGE_ALLOC, pg, npages);
	return 0;
nomem:
	/* Give the number back so the txn's accounting stays exact. */
	if (pg + npages == txn->next_pgno) {
		txn->next_pgno = pg;
	} else {
		while (npages--)
			pgvec_push(&txn->avail, pg + npages);
		txn->avail_sorted = 0;
	}
	return ENOMEM;
}

int page_free(heed_txn *txn, uint64_t pgno, unsigned int npages)
{
	void *p = dirty_remove(&txn->dirty, pgno);
	unsigned int i;
	int rc = 0;

	PROBE(PAGE_FREE, pgno, npages);
	if (p || (txn->parent && dirty_find_up(txn->parent, pgno))) {
		/* Allocated by this txn or an ancestor: no snapshot sees it,
		 * reuse at once. An ancestor's buffer stays its own until this
		 * child commits (txn.c drops it then). */
		if (p)
			pgbuf_put(txn->env, p, npages);
		for (i = 0; i < npages && !rc; i++)
			rc = pgvec_push(&txn->avail, pgno + i);
		txn->avail_sorted = 0;
		return rc;
	}
	for (i = 0; i < npages && !rc; i++)
		rc = pgvec_push(&txn->freed, pgno + i);
	return rc;
}

/* Words the chain must hold for the current vectors. */
static size_t chain_words(heed_txn *txn)
{
	size_t w = 0, i;

	for (i = 0; i + 1 < txn->pending.n; i += 2) {
		if (i == 0 || txn->pending.v[i] != txn->pending.v[i - 2])
			w += 2;
		w++;
	}
	if (txn->freed.n)
		w += 2 + txn->freed.n;
	if (txn->avail.n)
		w += 2 + txn->avail.n;
	return w;
}

struct chain_writer {
	heed_txn *txn;
	struct pgvec *pages;
	unsigned char *cur;
	size_t page, used;
	unsigned int per;
};

/* Append n words, a page's share at a time: the freed and reusable pages
 * are most of the words, and a call per word was 24 Ir each (callgrind). */
static void put_words(struct chain_writer *w, const uint64_t *v, size_t n)
{
	while (n) {
		size_t k, i;

		if (!w->cur || w->used == w->per) {
			if (w->cur)
				w->page++;
			w->used = 0;
			w->cur = dirty_find(&w->txn->dirty, w->pages->v[w->page]);
		}
		k = w->per - w->used < n ? w->per - w->used : n;
		for (i = 0; i < k; i++)
			wr64(w->cur + FREELIST_DATA + 8 * (w->used + i), v[i]);
		w->used += k;
		page_hdr(w->cur)->lower = (uint32_t)w->used;
		v += k;
		n -= k;
	}
}

static void put_word(struct chain_writer *w, uint64_t x)
{
	put_words(w, &x, 1);
}

/* Write the freelist into new chain pages (dirty, written with the rest).
 * new_chain receives their numbers, recs the records as txnid/pgno pairs
 * for the env's cache. */
int freelist_save(heed_txn *txn, struct pgvec *new_chain, struct pgvec *recs)
{
	heed_env *env = txn->env;
	unsigned int per = (env->psize - FREELIST_DATA) / 8;
	struct chain_writer w = {.txn = txn, .pages = new_chain, .per = per};
	size_t i, total = 0;
	int rc = 0;

	for (i = 0; i < txn->chain.n && !rc; i++)
		rc = pgvec_push(&txn->freed, txn->chain.v[i]);
	txn->chain.n = 0;
	while (!rc && new_chain->n * per < chain_words(txn)) {
		uint64_t pg;
		void *p;

		rc = page_alloc(txn, 1, &pg, &p);
		if (rc)
			break;
		page_hdr(p)->flags = P_FREELIST | P_DIRTY;
		memset((char *)p + PAGE_HDR, 0, env->psize - PAGE_HDR);
		if (new_chain->n) {
			void *prev = dirty_find(&txn->dirty, new_chain->v[new_chain->n - 1]);

			wr64((char *)prev + PAGE_HDR, pg);
		}
		rc = pgvec_push(new_chain, pg);
	}
	if (rc)
		return rc;
	avail_sort(txn);
	/* recs gets a txnid/pgno pair per page: one allocation, not doublings
	 * from 64 (realloc was 2.7% of delete/4k/1000000). */
	rc = pgvec_reserve(recs, txn->pending.n + 2 * (txn->freed.n + txn->avail.n));
	if (rc)
		return rc;
	for (i = 0; i + 1 < txn->pending.n; i += 2) {
		uint64_t t = txn->pending.v[i];
		size_t j = i, cnt = 0;

		if (i && t == txn->pending.v[i - 2])
			continue;
		while (j + 1 < txn->pending.n && txn->pending.v[j] == t) {
			cnt++;
			j += 2;
		}
		put_word(&w, t);
		put_word(&w, cnt);
		for (j = i; j < i + 2 * cnt; j += 2) {
			put_word(&w, txn->pending.v[j + 1]);
			if ((rc = pgvec_push(recs, t)) ||
			    (rc = pgvec_push(recs, txn->pending.v[j + 1])))
				return rc;
		}
		total += cnt;
	}
	if (txn->freed.n) {
		pgno_sort(txn->freed.v, txn->freed.n);
		put_word(&w, txn->txnid);
		put_word(&w, txn->freed.n);
		put_words(&w, txn->freed.v, txn->freed.n);
		for (i = 0; i < txn->freed.n; i++) {
			if ((rc = pgvec_push(recs, txn->txnid)) ||
			    (rc = pgvec_push(recs, txn->freed.v[i])))
				return rc;
		}
		total += txn->freed.n;
	}
	if (txn->avail.n) {
		put_word(&w, 0);
		put_word(&w, txn->avail.n);
		put_words(&w, txn->avail.v, txn->avail.n);
		for (i = 0; i < txn->avail.n; i++) {
			if ((rc = pgvec_push(recs, 0)) || (rc = pgvec_push(recs, txn->avail.v[i])))
				return rc;
		}
		total += txn->avail.n;
	}
	txn->free_head = new_chain->n ? new_chain->v[0] : 0;
	txn->free_count = total;
	return 0;
}

int heed_env_freelist(heed_env *env, size_t *free_pages, size_t *chain_pages,
		      size_t *reusable_pages)
{
	struct pgvec recs = {0}, chain = {0};
	struct meta m;
	uint64_t oldest;
	size_t i, reuse = 0;
	int rc;

	if (!env || !env->opened)
		return EINVAL;
	rc = meta_pick(env, &m);
	if (rc)
		return rc;
	rc = env_refresh_size(env, m.next_pgno);
	if (rc)
		return rc;
	rc = freelist_read(env, m.free_head, m.next_pgno, &recs, &chain);
	if (rc)
		goto out;
	oldest = readers_oldest(env, freelist_reuse_cap(&m));
	for (i = 0; i + 1 < recs.n; i += 2)
		if (recs.v[i] <= oldest)
			reuse++;
	*free_pages = recs.n / 2;
	*chain_pages = chain.n;
	*reusable_pages = reuse;
out:
	pgvec_free(&recs);
	pgvec_free(&chain);
	return rc;
}
