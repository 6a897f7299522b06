/*
 * freelist.c - page allocation and the freelist kept in the file.
 *
 * Pages freed by commit T were part of snapshot T-1. A reader of snapshot S
 * can reach them only if S < T, so they become reusable once T <= the
 * oldest snapshot any reader pins and T <= the cap of freelist_reuse_cap:
 * the snapshot this writer started from, or the one before it while that
 * snapshot's meta may not be on disk yet (HEED_NOMETASYNC). The file
 * stores the freelist as a chain of pages (page.h): records
 * [txnid][count][pgnos], txnid 0 for pages reusable now.
 *
 * A commit writes the head of the chain into fresh pages: what it freed,
 * what is pending, what stays reusable. The rest of the chain is the
 * frozen tail: segments of reusable pages an earlier commit of this
 * process wrote, each starting on a page of its own with a record header,
 * which later commits link to instead of rewriting. A long delete keeps
 * tens of thousands of pages reusable; rewriting them all at every commit
 * was a quarter of btree_ops delete/4k/1000000's instructions. A commit
 * leaving more than FREEZE_PAGES chain pages' worth of reusable pages
 * freezes all but one page's worth (the lowest numbers: allocation takes
 * the highest) into a new segment; a txn that runs out of reusable pages
 * thaws the newest segment (its pages become reusable, its chain pages are
 * freed like any page of the snapshot). Which part of the chain is frozen
 * only this process knows (env->fz_*): a chain read from the file is all
 * head, rewritten whole by the next commit, so the file format is the one
 * it always was.
 *
 * Writing the head allocates its pages from the reusable pages first,
 * which shrinks what must be written, so the loop that sizes it ends.
 *
 * The chain of the previous commit's head is freed by the commit that
 * replaces it, like any other page of the old snapshot.
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
		/* Read from the file, the whole chain is head. */
		env->fz_pgnos.n = env->fz_chain.n = env->fz_ends.n = 0;
		rc = freelist_read(env, txn->free_head, txn->next_pgno, &env->fl_recs,
				   &env->fl_chain);
		if (rc)
			return rc;
		env->fl_valid = 1;
		env->fl_txnid = txn->txnid - 1;
	}
	txn->fz_n = env->fz_ends.n / 2;
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
	/* In the records' order: only a run of pages (take_run) or a freeze
	 * needs them sorted, and sorting them at every load and the freed
	 * pages at every save was 108 Ir per random overwrite (callgrind). */
	txn->avail_sorted = 0;
	return 0;
}

/* Sort avail, for take_run and freeze. page_alloc takes from its end and
 * page_free appends pages this txn allocated and freed again, so after a
 * first sort only a tail is out of order: sorting that and merging costs
 * the tail, not the whole list (a long delete keeps tens of thousands of
 * pages there). */
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

/* Where frozen segment k's pages and chain pages lie in env's vectors. */
static void fz_bounds(const heed_env *env, size_t k, size_t *p0, size_t *p1, size_t *c0, size_t *c1)
{
	*p0 = k ? env->fz_ends.v[2 * k - 2] : 0;
	*c0 = k ? env->fz_ends.v[2 * k - 1] : 0;
	*p1 = env->fz_ends.v[2 * k];
	*c1 = env->fz_ends.v[2 * k + 1];
}

/* The first chain page of the segments txn keeps, 0 when none. */
static uint64_t fz_head(const heed_txn *txn)
{
	size_t p0, p1, c0, c1;

	if (!txn->fz_n)
		return 0;
	fz_bounds(txn->env, txn->fz_n - 1, &p0, &p1, &c0, &c1);
	return txn->env->fz_chain.v[c0];
}

/* Thaw the newest segment txn keeps: its pages become reusable, its chain
 * pages were the snapshot's and are freed. The env's copy stays as it is
 * until the commit is adopted, so an abort needs no undo. */
static int thaw(heed_txn *txn)
{
	heed_env *env = txn->env;
	size_t p0, p1, c0, c1;
	int rc;

	fz_bounds(env, txn->fz_n - 1, &p0, &p1, &c0, &c1);
	rc = pgvec_reserve(&txn->avail, txn->avail.n + (p1 - p0));
	if (!rc)
		rc = pgvec_reserve(&txn->freed, txn->freed.n + (c1 - c0));
	if (rc)
		return rc;
	memcpy(txn->avail.v + txn->avail.n, env->fz_pgnos.v + p0, (p1 - p0) * sizeof(uint64_t));
	txn->avail.n += p1 - p0;
	memcpy(txn->freed.v + txn->freed.n, env->fz_chain.v + c0, (c1 - c0) * sizeof(uint64_t));
	txn->freed.n += c1 - c0;
	txn->avail_sorted = 0;
	txn->fz_n--;
	return 0;
}

int page_alloc(heed_txn *txn, unsigned int npages, uint64_t *pgno, void **page)
{
	heed_env *env = txn->env;
	uint64_t pg = 0;
	void *p = NULL;
	int rc;

	if (npages == 1 && !txn->avail.n && txn->fz_n && (rc = thaw(txn)))
		return rc;
	if (npages == 1 && txn->avail.n)
		pg = txn->avail.v[--txn->avail.n];
	else if (npages > 1)
		while (!(pg = take_run(txn, npages)) && txn->fz_n)
			if ((rc = thaw(txn)))
				return rc;
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

/* touch_page's copy-on-write frees the clean page it copied: page_free's
 * dirty_remove found nothing there, 52 Ir per random overwrite (callgrind). */
int page_free_clean(heed_txn *txn, uint64_t pgno)
{
	unsigned int npages = 1;

	PROBE(PAGE_FREE, pgno, npages);
	return pgvec_push(&txn->freed, pgno);
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

/* A commit freezes reusable pages once they fill more than this many
 * chain pages, keeping one page's worth for the next txns. */
#define FREEZE_PAGES 4

/* Allocate n chain pages into pages, each linked to the next. */
static int chain_alloc(heed_txn *txn, struct pgvec *pages, size_t n)
{
	heed_env *env = txn->env;
	int rc = 0;

	while (!rc && pages->n < n) {
		uint64_t pg;
		void *p;

		rc = page_alloc(txn, 1, &pg, &p);
		if (rc)
			break;
		page_hdr(p)->flags = P_FREELIST | P_DIRTY;
		memset((char *)p + PAGE_HDR, 0, env->psize - PAGE_HDR);
		if (pages->n) {
			void *prev = dirty_find(&txn->dirty, pages->v[pages->n - 1]);

			wr64((char *)prev + PAGE_HDR, pg);
		}
		rc = pgvec_push(pages, pg);
	}
	return rc;
}

/* Point the last of pages at next. */
static void chain_link(heed_txn *txn, const struct pgvec *pages, uint64_t next)
{
	if (pages->n)
		wr64((char *)dirty_find(&txn->dirty, pages->v[pages->n - 1]) + PAGE_HDR, next);
}

/* Move the lowest reusable pages into a new segment (out->seg_pgnos,
 * out->seg_chain) when there are more than FREEZE_PAGES chain pages of
 * them, leaving one page's worth. Its chain pages come from the highest
 * ones, so what it holds is known only after they are taken. */
static int freeze(heed_txn *txn, unsigned int per, struct fl_save *out)
{
	struct pgvec *a = &txn->avail;
	size_t keep = per, f;
	int rc;

	if (a->n <= (size_t)FREEZE_PAGES * per)
		return 0;
	avail_sort(txn);
	rc = chain_alloc(txn, &out->seg_chain, (2 + a->n - keep + per - 1) / per);
	if (rc)
		return rc;
	f = a->n - keep;
	rc = pgvec_reserve(&out->seg_pgnos, f);
	if (rc)
		return rc;
	memcpy(out->seg_pgnos.v, a->v, f * sizeof(uint64_t));
	out->seg_pgnos.n = f;
	memmove(a->v, a->v + f, keep * sizeof(uint64_t));
	a->n = keep;
	return 0;
}

/* Write the freelist: a new segment if freeze makes one, then the head
 * into new chain pages, linked to the new segment or else to the frozen
 * tail txn kept (all dirty, written with the rest). out->recs receives the
 * head's records as txnid/pgno pairs for the env's cache. */
int freelist_save(heed_txn *txn, struct fl_save *out)
{
	heed_env *env = txn->env;
	unsigned int per = (env->psize - FREELIST_DATA) / 8;
	struct chain_writer w = {.txn = txn, .pages = &out->chain, .per = per};
	size_t i, total = 0, words;
	uint64_t tail;
	int rc = 0;

	for (i = 0; i < txn->chain.n && !rc; i++)
		rc = pgvec_push(&txn->freed, txn->chain.v[i]);
	txn->chain.n = 0;
	if (!rc)
		rc = freeze(txn, per, out);
	/* Allocating may thaw a kept segment (its words join the head), so
	 * the tail is known only after this loop. */
	while (!rc && out->chain.n * per < chain_words(txn))
		rc = chain_alloc(txn, &out->chain, out->chain.n + 1);
	if (rc)
		return rc;
	tail = fz_head(txn);
	if (out->seg_chain.n) {
		struct chain_writer sw = {.txn = txn, .pages = &out->seg_chain, .per = per};
		uint64_t hdr[2] = {0, out->seg_pgnos.n};

		put_words(&sw, hdr, 2);
		put_words(&sw, out->seg_pgnos.v, out->seg_pgnos.n);
		chain_link(txn, &out->seg_chain, tail);
		tail = out->seg_chain.v[0];
		total += out->seg_pgnos.n;
	}
	chain_link(txn, &out->chain, tail);
	/* recs gets a txnid/pgno pair per page: one allocation, not doublings
	 * from 64 (realloc was 2.7% of delete/4k/1000000). */
	rc = pgvec_reserve(&out->recs, txn->pending.n + 2 * (txn->freed.n + txn->avail.n));
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
			if ((rc = pgvec_push(&out->recs, t)) ||
			    (rc = pgvec_push(&out->recs, txn->pending.v[j + 1])))
				return rc;
		}
		total += cnt;
	}
	if (txn->freed.n) {
		put_word(&w, txn->txnid);
		put_word(&w, txn->freed.n);
		put_words(&w, txn->freed.v, txn->freed.n);
		for (i = 0; i < txn->freed.n; i++) {
			if ((rc = pgvec_push(&out->recs, txn->txnid)) ||
			    (rc = pgvec_push(&out->recs, txn->freed.v[i])))
				return rc;
		}
		total += txn->freed.n;
	}
	if (txn->avail.n) {
		put_word(&w, 0);
		put_word(&w, txn->avail.n);
		put_words(&w, txn->avail.v, txn->avail.n);
		for (i = 0; i < txn->avail.n; i++) {
			if ((rc = pgvec_push(&out->recs, 0)) ||
			    (rc = pgvec_push(&out->recs, txn->avail.v[i])))
				return rc;
		}
		total += txn->avail.n;
	}
	words = txn->fz_n ? 2 * txn->fz_n - 2 : 0;
	txn->free_head = out->chain.n ? out->chain.v[0] : tail;
	txn->free_count = total + (txn->fz_n ? env->fz_ends.v[words] : 0);
	return 0;
}

/* The env takes a committed txn's freelist as its cache: the head's
 * records and chain, the segments the txn kept and the one it froze. Out
 * of memory here (after the meta is written) drops the cache: the next
 * writer reads the chain from the file. */
void freelist_adopt(heed_txn *txn, struct fl_save *s)
{
	heed_env *env = txn->env;
	size_t k = txn->fz_n;

	pgvec_free(&env->fl_recs);
	pgvec_free(&env->fl_chain);
	env->fl_recs = s->recs;
	env->fl_chain = s->chain;
	memset(&s->recs, 0, sizeof(s->recs));
	memset(&s->chain, 0, sizeof(s->chain));
	env->fl_txnid = txn->txnid;
	env->fl_valid = 1;
	env->fz_pgnos.n = k ? env->fz_ends.v[2 * k - 2] : 0;
	env->fz_chain.n = k ? env->fz_ends.v[2 * k - 1] : 0;
	env->fz_ends.n = 2 * k;
	if (!s->seg_pgnos.n)
		return;
	if (pgvec_reserve(&env->fz_pgnos, env->fz_pgnos.n + s->seg_pgnos.n) ||
	    pgvec_reserve(&env->fz_chain, env->fz_chain.n + s->seg_chain.n) ||
	    pgvec_reserve(&env->fz_ends, env->fz_ends.n + 2)) {
		env->fl_valid = 0;
		return;
	}
	memcpy(env->fz_pgnos.v + env->fz_pgnos.n, s->seg_pgnos.v,
	       s->seg_pgnos.n * sizeof(uint64_t));
	env->fz_pgnos.n += s->seg_pgnos.n;
	memcpy(env->fz_chain.v + env->fz_chain.n, s->seg_chain.v,
	       s->seg_chain.n * sizeof(uint64_t));
	env->fz_chain.n += s->seg_chain.n;
	env->fz_ends.v[env->fz_ends.n++] = env->fz_pgnos.n;
	env->fz_ends.v[env->fz_ends.n++] = env->fz_chain.n;
}

void freelist_save_free(struct fl_save *s)
{
	pgvec_free(&s->chain);
	pgvec_free(&s->recs);
	pgvec_free(&s->seg_pgnos);
	pgvec_free(&s->seg_chain);
}

void freelist_drop_cache(heed_env *env)
{
	env->fl_valid = 0;
	pgvec_free(&env->fl_recs);
	pgvec_free(&env->fl_chain);
	pgvec_free(&env->fz_pgnos);
	pgvec_free(&env->fz_chain);
	pgvec_free(&env->fz_ends);
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
