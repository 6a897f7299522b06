/*
 * check.c - the structural walker behind heed-check (hidden symbol).
 *
 * On one read snapshot it verifies:
 *   - both meta pages: a meta whose checksum holds (written whole) must have
 *     every field in bounds and name no page past the end of the file (one
 *     that fails its checksum is a torn write, which open steps over); the
 *     newest valid one is walked;
 *   - every tree (main, and each named db found as an N_DBREC node of the
 *     main db): page types by level, header bounds, node bounds, the
 *     page's common prefix shared by every key, slot prefixes equal to
 *     their keys' bytes after it, keys strictly increasing within a page
 *     and within the bounds the parent's separators give (in the db's
 *     order: its flags', or the one a handle of this env has from
 *     heed_set_compare / heed_set_dupsort: heed-check knows only the
 *     flags'), a branch's slot 0
 *     key empty, no empty non-root page, overflow runs sized for their value;
 *   - in a DUPSORT db, the tree of each key's values (N_DUP nodes) as any
 *     tree, its values in order, its nodes without flags or data, its
 *     record's counts; each inline list of values (N_DUPS nodes) sorted
 *     and within its bounds; a single value of 1 to MAX_KEYSIZE bytes;
 *   - the counts of each db record (entries, branch, leaf, overflow pages;
 *     a DUPSORT db's count every value and every page of its value trees);
 *   - the freelist chain and records, and its free_count;
 *   - every page below next_pgno used exactly once: a meta page, a tree or
 *     overflow page, a freelist chain page, or a free page recorded in the
 *     freelist. Pages freed by the last commit are recorded there too (with
 *     its txnid), so there is no other pending state: anything else leaks.
 */
#include "internal.h"
#include "search.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct walker {
	heed_txn *txn;
	unsigned int psize;
	unsigned char *seen; /* kind of use per page, 0 = unused */
	heed_check_report report;
	void *arg;
	size_t pages;
	struct dbrec count;
	const char *dbname;
	int named;		    /* walking a named db: no db records in it */
	int dupsort;		    /* walking a DUPSORT db: N_DUP nodes allowed */
	int in_dup;		    /* walking a key's value tree */
	int dupfixed;		    /* walking a DUPFIXED db: a key's values of one size */
	unsigned int vsize;	    /* DUPFIXED: the size of the value tree's first value */
	heed_cmp_func *kcmp, *vcmp; /* the db's orders of keys and values (NULL: bytewise) */
	char msg[512];
};

enum { U_META = 1, U_TREE, U_OVERFLOW, U_CHAIN, U_FREE };

static const char *use_name(int u)
{
	switch (u) {
	case U_META:
		return "a meta page";
	case U_TREE:
		return "a tree page";
	case U_OVERFLOW:
		return "an overflow page";
	case U_CHAIN:
		return "a freelist page";
	default:
		return "a free page";
	}
}

static int report_fail(struct walker *w)
{
	w->report(w->arg, w->msg);
	return 1;
}

/* Report the first violation; evaluates to 1. */
#define FAIL(w, ...) (snprintf((w)->msg, sizeof((w)->msg), __VA_ARGS__), report_fail(w))

static int mark(struct walker *w, uint64_t pg, int use)
{
	if (pg >= w->txn->next_pgno)
		return FAIL(w, "page %llu: beyond the last page %llu (as %s)",
			    (unsigned long long)pg, (unsigned long long)w->txn->next_pgno - 1,
			    use_name(use));
	if (w->seen[pg])
		return FAIL(w, "page %llu: used twice: as %s and as %s", (unsigned long long)pg,
			    use_name(w->seen[pg]), use_name(use));
	w->seen[pg] = (unsigned char)use;
	w->pages++;
	return 0;
}

static int walk_db(struct walker *w, const char *name, const struct dbrec *rec);

static int check_overflow(struct walker *w, uint64_t pgno, unsigned char *node)
{
	unsigned char *d = node_data(node);
	uint64_t op, size, i;
	uint32_t np;
	void *p;

	if (node_dsize(node) != 16)
		return FAIL(w, "page %llu: overflow reference of %u bytes, not 16",
			    (unsigned long long)pgno, node_dsize(node));
	op = rd64(d);
	size = rd64(d + 8);
	if (op < NUM_METAS || op >= w->txn->next_pgno)
		return FAIL(w, "page %llu: overflow page %llu out of range",
			    (unsigned long long)pgno, (unsigned long long)op);
	if (page_get(w->txn, op, &p))
		return FAIL(w, "page %llu: overflow page header names another page",
			    (unsigned long long)op);
	if ((page_hdr(p)->flags & ~P_DIRTY) != P_OVERFLOW)
		return FAIL(w, "page %llu: flags 0x%x, expected an overflow page",
			    (unsigned long long)op, page_hdr(p)->flags);
	np = page_hdr(p)->lower;
	if (np == 0 || op + np > w->txn->next_pgno)
		return FAIL(w, "page %llu: overflow run of %u pages beyond the last page",
			    (unsigned long long)op, np);
	if (size > (uint64_t)np * w->psize - PAGE_HDR ||
	    (uint64_t)np != (PAGE_HDR + size + w->psize - 1) / w->psize)
		return FAIL(w, "page %llu: overflow run of %u pages for a value of %llu bytes",
			    (unsigned long long)op, np, (unsigned long long)size);
	for (i = 0; i < np; i++)
		if (mark(w, op + i, U_OVERFLOW))
			return 1;
	w->count.overflow_pages += np;
	return 0;
}

static int walk_page(struct walker *w, uint64_t pgno, unsigned int lvl, unsigned int depth,
		     const unsigned char *lo, unsigned int lolen, const unsigned char *hi,
		     unsigned int hilen);

/* The value tree of node i of leaf pgno (an N_DUP node of a DUPSORT db). */
static int walk_dup(struct walker *w, uint64_t pgno, unsigned int i, unsigned char *node)
{
	struct dbrec rec, saved = w->count;

	if (!w->dupsort || (node_flags(node) & ~(unsigned int)N_DUP))
		return FAIL(w, "page %llu: node %u has flags 0x%x in db %s (not DUPSORT)",
			    (unsigned long long)pgno, i, node_flags(node), w->dbname);
	if (node_dsize(node) != sizeof(rec))
		return FAIL(w, "page %llu: value tree record %u of %u bytes",
			    (unsigned long long)pgno, i, node_dsize(node));
	memcpy(&rec, node_data(node), sizeof(rec));
	if (!rec.root || !rec.depth || rec.depth > MAX_DEPTH || rec.flags)
		return FAIL(w, "page %llu: value tree %u: root %llu, depth %u, flags 0x%x",
			    (unsigned long long)pgno, i, (unsigned long long)rec.root, rec.depth,
			    rec.flags);
	memset(&w->count, 0, sizeof(w->count));
	w->in_dup = 1;
	w->vsize = 0;
	if (walk_page(w, rec.root, 0, rec.depth, NULL, 0, NULL, 0))
		return 1;
	w->in_dup = 0;
	if (w->count.entries != rec.entries || w->count.leaf_pages != rec.leaf_pages ||
	    w->count.branch_pages != rec.branch_pages || rec.overflow_pages)
		return FAIL(w,
			    "page %llu: value tree %u: %llu values in %llu/%llu branch/leaf "
			    "pages found, its record says %llu in %llu/%llu",
			    (unsigned long long)pgno, i, (unsigned long long)w->count.entries,
			    (unsigned long long)w->count.branch_pages,
			    (unsigned long long)w->count.leaf_pages,
			    (unsigned long long)rec.entries, (unsigned long long)rec.branch_pages,
			    (unsigned long long)rec.leaf_pages);
	saved.entries += rec.entries - 1; /* the key's node was counted as one */
	saved.branch_pages += rec.branch_pages;
	saved.leaf_pages += rec.leaf_pages;
	w->count = saved;
	return 0;
}

/* Keys of page pgno must lie in [lo, hi) (NULL: unbounded). */
static int walk_page(struct walker *w, uint64_t pgno, unsigned int lvl, unsigned int depth,
		     const unsigned char *lo, unsigned int lolen, const unsigned char *hi,
		     unsigned int hilen)
{
	unsigned int psize = w->psize, i, n, leaf = lvl + 1 == depth, cpl, ref;
	unsigned char *prev = NULL;
	unsigned int prevlen = 0;
	heed_cmp_func *cmp = w->in_dup ? w->vcmp : w->kcmp;
	void *p;

	if (mark(w, pgno, U_TREE))
		return 1;
	if (page_get(w->txn, pgno, &p))
		return FAIL(w, "page %llu: header names page %llu", (unsigned long long)pgno,
			    (unsigned long long)page_hdr(w->txn->env->map + pgno * psize)->pgno);
	if (bt_check_page(p, psize, leaf ? P_LEAF : P_BRANCH))
		return FAIL(w, "page %llu: bad header for a %s at level %u (flags 0x%x, %u keys)",
			    (unsigned long long)pgno, leaf ? "leaf" : "branch", lvl,
			    page_hdr(p)->flags, page_hdr(p)->nkeys);
	n = page_hdr(p)->nkeys;
	if (n == 0)
		return FAIL(w, "page %llu: empty %s page", (unsigned long long)pgno,
			    leaf ? "leaf" : "branch");
	cpl = page_hdr(p)->cpl;
	ref = leaf ? 0 : 1;
	if (cpl && ref >= n)
		return FAIL(w, "page %llu: common prefix of %u bytes on a page without keys",
			    (unsigned long long)pgno, cpl);
	if (leaf)
		w->count.leaf_pages++;
	else
		w->count.branch_pages++;
	for (i = 0; i < n; i++) {
		unsigned char *node, *key;
		unsigned int kl;

		if (node_check(p, i, psize))
			return FAIL(w, "page %llu: node %u out of the page's bounds",
				    (unsigned long long)pgno, i);
		node = page_node(p, i);
		key = node_key(node);
		kl = node_ksize(node);
		if (kl > MAX_KEYSIZE || (kl == 0 && (leaf || i > 0)) || (!leaf && i == 0 && kl))
			return FAIL(w, "page %llu: node %u has a key of %u bytes",
				    (unsigned long long)pgno, i, kl);
		if (kl && kl < cpl)
			return FAIL(w,
				    "page %llu: key %u of %u bytes is shorter than the page's "
				    "common prefix of %u bytes",
				    (unsigned long long)pgno, i, kl, cpl);
		if (kl && i > ref && memcmp(key, node_key(page_node(p, ref)), cpl) != 0)
			return FAIL(w,
				    "page %llu: key %u does not share the page's common prefix "
				    "of %u bytes",
				    (unsigned long long)pgno, i, cpl);
		if (page_slots(p)[i] >> 16 != slot_prefix(key, kl, cpl))
			return FAIL(w, "page %llu: slot %u prefix does not match its key",
				    (unsigned long long)pgno, i);
		if (kl && prev && heed_ordcmp(cmp, prev, prevlen, key, kl) >= 0)
			return FAIL(w, "page %llu: key %u out of order", (unsigned long long)pgno,
				    i);
		if (kl && lo && heed_ordcmp(cmp, key, kl, lo, lolen) < 0)
			return FAIL(w, "page %llu: key %u below its parent's separator",
				    (unsigned long long)pgno, i);
		if (kl && hi && heed_ordcmp(cmp, key, kl, hi, hilen) >= 0)
			return FAIL(w, "page %llu: key %u not below the next separator",
				    (unsigned long long)pgno, i);
		if (kl) {
			prev = key;
			prevlen = kl;
		}
		if (!leaf) {
			const unsigned char *clo = i ? key : lo, *chi = hi;
			unsigned int clolen = i ? kl : lolen, chilen = hilen;

			if (node_dsize(node) != 8)
				return FAIL(w, "page %llu: branch node %u of %u data bytes",
					    (unsigned long long)pgno, i, node_dsize(node));
			if (i + 1 < n) {
				if (node_check(p, i + 1, psize))
					return FAIL(w, "page %llu: node %u out of bounds",
						    (unsigned long long)pgno, i + 1);
				chi = node_key(page_node(p, i + 1));
				chilen = node_ksize(page_node(p, i + 1));
			}
			if (walk_page(w, node_child(node), lvl + 1, depth, clo, clolen, chi,
				      chilen))
				return 1;
			continue;
		}
		w->count.entries++;
		if (w->in_dup) {
			if (node_flags(node) || node_dsize(node))
				return FAIL(w,
					    "page %llu: value %u of a value tree has flags 0x%x "
					    "and %u data bytes",
					    (unsigned long long)pgno, i, node_flags(node),
					    node_dsize(node));
			if (w->dupfixed && w->vsize && kl != w->vsize)
				return FAIL(w,
					    "page %llu: value %u of %u bytes in a DUPFIXED tree "
					    "of %u-byte values",
					    (unsigned long long)pgno, i, kl, w->vsize);
			w->vsize = kl;
			continue;
		}
		if (node_flags(node) & N_DUP) {
			if (walk_dup(w, pgno, i, node))
				return 1;
			continue;
		}
		if (node_flags(node) & N_DUPS) {
			unsigned int nv;

			if (!w->dupsort || node_flags(node) != N_DUPS ||
			    node_dsize(node) > psize / 16 ||
			    dup_list_check(node_data(node), node_dsize(node), w->vcmp, &nv))
				return FAIL(w,
					    "page %llu: node %u: a bad list of values (flags "
					    "0x%x, %u bytes) in db %s",
					    (unsigned long long)pgno, i, node_flags(node),
					    node_dsize(node), w->dbname);
			/* The list is checked: walk it for its sizes. */
			for (uint32_t off = 0; w->dupfixed && off < node_dsize(node);
			     off += 2u + rd16(node_data(node) + off))
				if (rd16(node_data(node) + off) != rd16(node_data(node)))
					return FAIL(w,
						    "page %llu: node %u: values of several sizes "
						    "in DUPFIXED db %s",
						    (unsigned long long)pgno, i, w->dbname);
			w->count.entries += nv - 1u;
			continue;
		}
		if (w->dupsort &&
		    (node_flags(node) || node_dsize(node) == 0 || node_dsize(node) > MAX_KEYSIZE))
			return FAIL(w,
				    "page %llu: value %u of %u bytes (flags 0x%x) in DUPSORT db %s",
				    (unsigned long long)pgno, i, node_dsize(node), node_flags(node),
				    w->dbname);
		if (node_flags(node) & ~(unsigned int)(N_BIG | N_DBREC))
			return FAIL(w, "page %llu: node %u has flags 0x%x",
				    (unsigned long long)pgno, i, node_flags(node));
		if ((node_flags(node) & N_BIG) && check_overflow(w, pgno, node))
			return 1;
		if ((node_flags(node) & N_DBREC) && w->named)
			return FAIL(w, "page %llu: node %u of db %s is a db record (main db only)",
				    (unsigned long long)pgno, i, w->dbname);
		if (node_flags(node) & N_DBREC) {
			struct dbrec rec;
			char name[MAX_KEYSIZE + 1];
			struct dbrec saved = w->count;
			const char *sname = w->dbname;

			if (node_dsize(node) != sizeof(rec) || (node_flags(node) & N_BIG))
				return FAIL(w, "page %llu: db record %u of %u bytes",
					    (unsigned long long)pgno, i, node_dsize(node));
			memcpy(&rec, node_data(node), sizeof(rec));
			memcpy(name, key, kl);
			name[kl] = 0;
			w->named = 1;
			if (walk_db(w, name, &rec))
				return 1;
			w->named = 0;
			w->dupsort = 0;
			w->dupfixed = 0;
			w->kcmp = NULL;
			w->vcmp = NULL;
			w->count = saved;
			w->dbname = sname;
		}
	}
	return 0;
}

static int walk_db(struct walker *w, const char *name, const struct dbrec *rec)
{
	w->dbname = name;
	memset(&w->count, 0, sizeof(w->count));
	w->dupsort = (rec->flags & HEED_DUPSORT) != 0;
	w->dupfixed = (rec->flags & HEED_DUPFIXED) != 0;
	if (w->named) {
		w->kcmp = dbrec_order(w->txn->env, name, strlen(name), rec->flags, 0);
		w->vcmp = dbrec_order(w->txn->env, name, strlen(name), rec->flags, 1);
	}
	if (!dbflags_ok(rec->flags) || (rec->flags && !w->named))
		return FAIL(w, "db %s: flags 0x%x", name, rec->flags);
	if ((rec->root == 0) != (rec->depth == 0) || rec->depth > MAX_DEPTH)
		return FAIL(w, "db %s: root %llu with depth %u", name,
			    (unsigned long long)rec->root, rec->depth);
	if (rec->root && walk_page(w, rec->root, 0, rec->depth, NULL, 0, NULL, 0))
		return 1;
	w->dbname = name;
	if (w->count.entries != rec->entries)
		return FAIL(w, "db %s: %llu entries found, its record says %llu", name,
			    (unsigned long long)w->count.entries, (unsigned long long)rec->entries);
	if (w->count.leaf_pages != rec->leaf_pages || w->count.branch_pages != rec->branch_pages ||
	    w->count.overflow_pages != rec->overflow_pages)
		return FAIL(w,
			    "db %s: %llu/%llu/%llu branch/leaf/overflow pages found, its record "
			    "says %llu/%llu/%llu",
			    name, (unsigned long long)w->count.branch_pages,
			    (unsigned long long)w->count.leaf_pages,
			    (unsigned long long)w->count.overflow_pages,
			    (unsigned long long)rec->branch_pages,
			    (unsigned long long)rec->leaf_pages,
			    (unsigned long long)rec->overflow_pages);
	return 0;
}

static int walk_freelist(struct walker *w)
{
	struct pgvec recs = {0}, chain = {0};
	size_t i;
	int rc;

	rc = freelist_read(w->txn->env, w->txn->free_head, w->txn->next_pgno, &recs, &chain);
	if (rc) {
		rc = FAIL(w, "freelist: the chain from page %llu is malformed (%s)",
			  (unsigned long long)w->txn->free_head, heed_strerror(rc));
		goto out;
	}
	for (i = 0; i < chain.n && !rc; i++)
		rc = mark(w, chain.v[i], U_CHAIN);
	for (i = 1; i < recs.n && !rc; i += 2)
		rc = mark(w, recs.v[i], U_FREE);
	if (!rc && recs.n / 2 != w->txn->free_count)
		rc = FAIL(w, "freelist: %zu pages recorded, the meta says %llu", recs.n / 2,
			  (unsigned long long)w->txn->free_count);
out:
	pgvec_free(&recs);
	pgvec_free(&chain);
	return rc;
}

/* Each meta page that was written whole (magic, version and checksum
 * hold) has its fields in bounds and its pages in the file: open would
 * step over such a meta silently, as if it were torn. */
static int check_metas(struct walker *w)
{
	heed_env *env = w->txn->env;
	unsigned int i;

	for (i = 0; i < NUM_METAS; i++) {
		struct meta m;

		memcpy(&m, env->map + (size_t)i * w->psize, sizeof(m));
		if (m.magic != HEED_MAGIC || !format_version_ok(m.version) ||
		    m.checksum != heed_hash64(&m, __builtin_offsetof(struct meta, checksum)))
			continue;
		if (meta_check(&m, w->psize, i))
			return FAIL(
				w,
				"meta page %u: a field out of bounds under a valid checksum "
				"(txn %llu, next_pgno %llu, root %llu, depth %u, free_head %llu, "
				"free_count %llu)",
				i, (unsigned long long)m.txnid, (unsigned long long)m.next_pgno,
				(unsigned long long)m.main.root, m.main.depth,
				(unsigned long long)m.free_head, (unsigned long long)m.free_count);
		if (m.next_pgno * w->psize > env->filesize)
			return FAIL(w,
				    "meta page %u: txn %llu names %llu pages, the file holds %llu",
				    i, (unsigned long long)m.txnid, (unsigned long long)m.next_pgno,
				    (unsigned long long)(env->filesize / w->psize));
	}
	return 0;
}

int heed_env_check(heed_env *env, heed_check_report report, void *arg, size_t *pages_walked)
{
	struct walker w = {0};
	heed_txn *txn;
	uint64_t pg;
	int rc;

	if (!env || !report)
		return EINVAL;
	rc = heed_txn_begin(env, NULL, HEED_RDONLY, &txn);
	if (rc)
		return rc;
	w.txn = txn;
	w.psize = env->psize;
	w.report = report;
	w.arg = arg;
	w.seen = calloc(txn->next_pgno, 1);
	if (!w.seen) {
		rc = ENOMEM;
		goto out;
	}
	rc = check_metas(&w) || mark(&w, 0, U_META) || mark(&w, 1, U_META);
	if (!rc)
		rc = walk_db(&w, "main", &txn->dbs[0]);
	if (!rc)
		rc = walk_freelist(&w);
	for (pg = NUM_METAS; !rc && pg < txn->next_pgno; pg++)
		if (!w.seen[pg])
			rc = FAIL(&w, "page %llu: leaked: in no tree and not in the freelist",
				  (unsigned long long)pg);
	if (pages_walked)
		*pages_walked = w.pages;
out:
	free(w.seen);
	heed_txn_abort(txn);
	return rc;
}
