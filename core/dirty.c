/*
 * dirty.c - the dirty pages of a write txn and the buffers they live in.
 *
 * A write txn copies every page it touches into a malloc'd buffer (txn.c
 * says why) and finds it again by page number in its dirty table. Both
 * outlive the txn for the next writer: emptied tables and single-page
 * buffers are kept by the env. Only the writer (under the writer mutex)
 * uses them.
 *
 * A nested txn reads its ancestors' dirty pages through their tables and
 * copies one into its own table only when it changes it (dirty_shadow),
 * under the same page number: a child costs the pages it touches, never a
 * copy of its parent's set, and its abort frees just its own buffers.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

static size_t dhash(uint64_t pgno, size_t cap)
{
	return (size_t)((pgno * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
}

void *dirty_find(struct dirty_tab *t, uint64_t pgno)
{
	size_t i;

	if (!t->cap)
		return NULL;
	for (i = dhash(pgno, t->cap);; i = (i + 1) & (t->cap - 1)) {
		if (t->keys[i] == pgno)
			return t->pages[i];
		if (!t->keys[i])
			return NULL;
	}
}

static int dirty_grow(struct dirty_tab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 256, i, j;
	uint64_t *keys = calloc(cap, sizeof(*keys));
	void **pages = calloc(cap, sizeof(*pages));

	if (!keys || !pages) {
		free(keys);
		free(pages);
		return ENOMEM;
	}
	for (i = 0; i < t->cap; i++) {
		if (!t->keys[i])
			continue;
		for (j = dhash(t->keys[i], cap); keys[j]; j = (j + 1) & (cap - 1))
			;
		keys[j] = t->keys[i];
		pages[j] = t->pages[i];
	}
	free(t->keys);
	free(t->pages);
	t->keys = keys;
	t->pages = pages;
	t->cap = cap;
	return 0;
}

int dirty_add(struct dirty_tab *t, uint64_t pgno, void *page)
{
	size_t i;

	if ((t->n + 1) * 2 > t->cap) {
		int rc = dirty_grow(t);

		if (rc)
			return rc;
	}
	for (i = dhash(pgno, t->cap); t->keys[i]; i = (i + 1) & (t->cap - 1))
		;
	t->keys[i] = pgno;
	t->pages[i] = page;
	t->n++;
	return 0;
}

void *dirty_remove(struct dirty_tab *t, uint64_t pgno)
{
	size_t i, j, k;
	void *p;

	if (!t->cap)
		return NULL;
	for (i = dhash(pgno, t->cap); t->keys[i] != pgno; i = (i + 1) & (t->cap - 1))
		if (!t->keys[i])
			return NULL;
	p = t->pages[i];
	/* Backward-shift deletion keeps every probe chain unbroken. */
	for (j = i;;) {
		t->keys[i] = 0;
		for (;;) {
			j = (j + 1) & (t->cap - 1);
			if (!t->keys[j])
				goto done;
			k = dhash(t->keys[j], t->cap);
			if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		t->keys[i] = t->keys[j];
		t->pages[i] = t->pages[j];
		i = j;
	}
done:
	t->n--;
	return p;
}

int dirty_reserve(struct dirty_tab *t, size_t n)
{
	while ((n + 1) * 2 > t->cap) {
		int rc = dirty_grow(t);

		if (rc)
			return rc;
	}
	return 0;
}

void *dirty_set(struct dirty_tab *t, uint64_t pgno, void *page)
{
	size_t i;
	void *old;

	for (i = dhash(pgno, t->cap); t->keys[i]; i = (i + 1) & (t->cap - 1)) {
		if (t->keys[i] == pgno) {
			old = t->pages[i];
			t->pages[i] = page;
			return old;
		}
	}
	t->keys[i] = pgno;
	t->pages[i] = page;
	t->n++;
	return NULL;
}

void *dirty_find_up(heed_txn *txn, uint64_t pgno)
{
	for (; txn; txn = txn->parent) {
		void *p = txn->dirty.n ? dirty_find(&txn->dirty, pgno) : NULL;

		if (p)
			return p;
	}
	return NULL;
}

/* Page buffers: a write txn copies every page it touches, so single-page
 * buffers are recycled through a pool (at most POOL_BYTES) instead of
 * going back to malloc, which costs ~8% of a random-insert workload
 * (chunk coalescing, fresh zeroed pages from the kernel). Only the writer
 * (under the writer mutex) uses the pool. */
#define POOL_BYTES (64u << 20)

void *pgbuf_get(heed_env *env, unsigned int npages)
{
	void *p = NULL;

	if (npages == 1 && env->pool) {
		p = env->pool;
		memcpy(&env->pool, p, sizeof(void *));
		env->pool_n--;
		return p;
	}
	if (posix_memalign(&p, 64, (size_t)npages * env->psize))
		return NULL;
	/* Copy-on-write skips a page's free gap: a new buffer's must already
	 * hold defined bytes, since the whole page is written to the file. */
	if (npages == 1)
		memset(p, 0, env->psize);
	return p;
}

void pgbuf_put(heed_env *env, void *p, unsigned int npages)
{
	if (npages == 1 && env->pool_n < POOL_BYTES / env->psize) {
		memcpy(p, &env->pool, sizeof(void *));
		env->pool = p;
		env->pool_n++;
		return;
	}
	free(p);
}

void pgbuf_drain(heed_env *env)
{
	while (env->pool) {
		void *p = env->pool;

		memcpy(&env->pool, p, sizeof(void *));
		free(p);
	}
	env->pool_n = 0;
}

int dirty_shadow(heed_txn *txn, void **pp)
{
	void *p = *pp, *np;
	uint64_t pg = page_hdr(p)->pgno;
	int rc;

	if (dirty_find(&txn->dirty, pg) == p)
		return 0;
	np = pgbuf_get(txn->env, 1);
	if (!np)
		return ENOMEM;
	rc = dirty_add(&txn->dirty, pg, np);
	if (rc) {
		pgbuf_put(txn->env, np, 1);
		return rc;
	}
	/* As a first copy-on-write: the free gap stays as pgbuf_get left it. */
	memcpy(np, p, page_hdr(p)->lower);
	memcpy((char *)np + page_hdr(p)->upper, (char *)p + page_hdr(p)->upper,
	       txn->env->psize - page_hdr(p)->upper);
	*pp = np;
	return 0;
}

/* A dirty table up to this many slots is kept, emptied, for the next write
 * txn: growing it again from 256 slots, calloc and rehash at each doubling,
 * was 3% of a random overwrite's instructions (callgrind). */
#define DIRTY_KEEP (1u << 16)

void dirty_free(heed_env *env, struct dirty_tab *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++) {
		if (t->keys[i]) {
			struct page_hdr *h = page_hdr(t->pages[i]);

			pgbuf_put(env, t->pages[i], (h->flags & P_OVERFLOW) ? h->lower : 1);
		}
	}
	if (t->cap && t->cap <= DIRTY_KEEP && !env->dirty_spare.cap) {
		memset(t->keys, 0, t->cap * sizeof(*t->keys));
		t->n = 0;
		env->dirty_spare = *t;
	} else {
		free(t->keys);
		free(t->pages);
	}
	memset(t, 0, sizeof(*t));
}

void dirty_drain(heed_env *env)
{
	free(env->dirty_spare.keys);
	free(env->dirty_spare.pages);
	memset(&env->dirty_spare, 0, sizeof(env->dirty_spare));
}
