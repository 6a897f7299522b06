/*
 * btree.c - the copy-on-write B+tree: descent, insert with split, delete
 * with merge/redistribution, overflow values, drop.
 *
 * Copy-on-write: a write first "touches" the path from the root to the leaf:
 * each page not yet dirty in this txn is copied into a new page (new pgno),
 * the old one is freed (freelist.c keeps it until no snapshot can see it)
 * and the parent's child pointer (or the db root) is redirected.
 *
 * Balance rules:
 *   - a split puts the new node on the side that keeps both halves closest
 *     in size; inserting after the last node of a page (appends, sequential
 *     loads) moves only the new node to the new page, so pages fill fully;
 *   - after a delete, a page under a quarter full (or a branch with one
 *     child) merges with a neighbour when both fit in one page, else takes
 *     one node from it; a root branch with one child is replaced by that
 *     child and an empty root leaf is freed, so an emptied tree has depth 0.
 *
 * Nothing here keeps a cursor's path valid across a change: every change
 * bumps txn->mod and cursors re-seek from their saved key (cursor.c). The
 * one path kept is the last APPEND's, in the txn: the next APPEND to that
 * db starts from it only while mod still has the value that put left.
 */
#include "internal.h"
#include "probes.h"
#include "search.h"

#include <errno.h>
#include <stdlib.h>

#define P_TYPE (P_BRANCH | P_LEAF | P_OVERFLOW | P_META | P_FREELIST)

int bt_check_page(void *p, unsigned int psize, unsigned int want)
{
	struct page_hdr *h = page_hdr(p);

	if ((h->flags & P_TYPE) != want || (h->flags & ~(P_TYPE | P_DIRTY)))
		return HEED_CORRUPTED;
	if (h->lower != PAGE_HDR + SLOT_SIZE * (uint32_t)h->nkeys || h->lower > h->upper ||
	    h->upper > psize)
		return HEED_CORRUPTED;
	if (want == P_BRANCH && h->nkeys < 1)
		return HEED_CORRUPTED;
	if (h->cpl > MAX_KEYSIZE)
		return HEED_CORRUPTED;
	return 0;
}

/* Every node of an untrusted page within bounds, branch nodes holding a
 * child pgno, and the nodes' bytes adding up to no more than the node area
 * [upper, psize): a split, merge or redistribution copies them all and sizes
 * the destination by the header (overlapping nodes would overrun it). */
static int check_nodes(void *p, unsigned int psize)
{
	unsigned int i, n = page_hdr(p)->nkeys;
	int branch = (page_hdr(p)->flags & P_BRANCH) != 0;
	uint64_t bytes = 0;

	for (i = 0; i < n; i++) {
		unsigned char *node;

		if (node_check(p, i, psize))
			return HEED_CORRUPTED;
		node = page_node(p, i);
		if (node_ksize(node) > MAX_KEYSIZE || (branch && node_dsize(node) != 8))
			return HEED_CORRUPTED;
		bytes += node_size(node);
	}
	if (bytes > psize - page_hdr(p)->upper)
		return HEED_CORRUPTED;
	return 0;
}

void cursor_init(heed_cursor *c, heed_txn *txn, heed_dbi dbi)
{
	c->txn = txn;
	c->dbi = dbi;
	c->next = NULL;
	c->pos = CUR_UNSET;
	c->after_del = 0;
	c->mod = txn->mod;
	c->snum = 0;
	c->klen = 0;
	c->db = &txn->dbs[dbi];
	c->cmp = db_cmp(txn->env, dbi, 0);
	c->xc = NULL;
}

void cursor_init_values(heed_cursor *c, heed_txn *txn, heed_dbi dbi, struct dbrec *r)
{
	cursor_init(c, txn, dbi);
	c->db = r;
	c->cmp = db_cmp(txn->env, dbi, 1);
}

/* Search page p for key in the order cmp. The descents below are
 * instantiated twice, with cmp NULL (bytewise: the prefix search, no call
 * through a pointer, no test per page) and with a comparator, and choose
 * once per descent: a bytewise get costs what it did before orders came. */
static inline __attribute__((always_inline)) int node_search(heed_cmp_func *cmp, void *p,
							     unsigned int psize, unsigned int start,
							     const void *key, size_t klen,
							     struct search_res *r)
{
	if (!cmp)
		return heed_node_search(p, psize, start, key, klen, r);
	return heed_node_search_cmp(p, psize, start, key, klen, cmp, r);
}

static int load(heed_cursor *c, unsigned int lvl, uint64_t pgno)
{
	heed_txn *txn = c->txn;
	unsigned int depth = cur_db(c)->depth;
	void *p;
	int rc;

	if (lvl >= depth || depth > MAX_DEPTH)
		return HEED_CORRUPTED;
	rc = page_get(txn, pgno, &p);
	if (rc)
		return rc;
	rc = bt_check_page(p, txn->env->psize, lvl + 1 == depth ? P_LEAF : P_BRANCH);
	if (rc)
		return rc;
	c->pg[lvl] = p;
	return 0;
}

static int child_of(heed_cursor *c, unsigned int lvl, uint64_t *child)
{
	void *p = c->pg[lvl];

	if (c->ki[lvl] >= page_hdr(p)->nkeys || node_check(p, c->ki[lvl], c->txn->env->psize))
		return HEED_CORRUPTED;
	if (node_dsize(page_node(p, c->ki[lvl])) != 8)
		return HEED_CORRUPTED;
	*child = node_child(page_node(p, c->ki[lvl]));
	return 0;
}

static inline __attribute__((always_inline)) int seek_in(heed_cursor *c, heed_cmp_func *cmp,
							 const void *key, size_t klen, int *exact)
{
	heed_txn *txn = c->txn;
	struct dbrec *db = cur_db(c);
	unsigned int psize = txn->env->psize, lvl;
	uint64_t pgno = db->root;
	struct search_res r = {0, 0};
	int rc;

	c->snum = 0;
	c->pos = CUR_UNSET;
	c->after_del = 0;
	c->mod = txn->mod;
	*exact = 0;
	/* An INTEGERKEY key's size is checked here, where only the ordered
	 * descent pays for it (heed_put and heed_del rely on it). */
	if (cmp && !order_size_ok(db->flags, 0, klen))
		return HEED_BAD_VALSIZE;
	if (!pgno)
		return HEED_NOTFOUND;
	for (lvl = 0; lvl < db->depth; lvl++) {
		void *p;

		rc = load(c, lvl, pgno);
		if (rc)
			return rc;
		p = c->pg[lvl];
		if (lvl + 1 < db->depth) {
			if (node_search(cmp, p, psize, BRANCH_FIRST_KEY, key, klen, &r))
				return HEED_CORRUPTED;
			c->ki[lvl] = r.exact ? r.idx : r.idx - 1;
			rc = child_of(c, lvl, &pgno);
			if (rc)
				return rc;
		} else {
			if (node_search(cmp, p, psize, LEAF_FIRST_KEY, key, klen, &r))
				return HEED_CORRUPTED;
			c->ki[lvl] = r.idx;
		}
	}
	c->snum = db->depth;
	c->pos = CUR_ON;
	*exact = r.exact;
	return 0;
}

int bt_seek(heed_cursor *c, const void *key, size_t klen, int *exact)
{
	if (!c->cmp)
		return seek_in(c, NULL, key, klen, exact);
	return seek_in(c, c->cmp, key, klen, exact);
}

static inline __attribute__((always_inline)) int get_in(heed_txn *txn, heed_dbi dbi,
							heed_cmp_func *cmp, const void *key,
							size_t klen, unsigned char **node)
{
	struct dbrec *db = &txn->dbs[dbi];
	unsigned int psize = txn->env->psize, lvl, depth = db->depth;
	uint64_t pgno = db->root;
	struct search_res r;
	void *p;
	int rc;

	if (!pgno)
		return HEED_NOTFOUND;
	if (depth > MAX_DEPTH)
		return HEED_CORRUPTED;
	for (lvl = 0;; lvl++) {
		rc = page_get(txn, pgno, &p);
		if (rc)
			return rc;
		if (lvl + 1 < depth) {
			unsigned int i;

			if (bt_check_page(p, psize, P_BRANCH) ||
			    node_search(cmp, p, psize, BRANCH_FIRST_KEY, key, klen, &r))
				return HEED_CORRUPTED;
			i = r.exact ? r.idx : r.idx - 1;
			if (node_check(p, i, psize) || node_dsize(page_node(p, i)) != 8)
				return HEED_CORRUPTED;
			pgno = node_child(page_node(p, i));
			continue;
		}
		if (bt_check_page(p, psize, P_LEAF) ||
		    node_search(cmp, p, psize, LEAF_FIRST_KEY, key, klen, &r))
			return HEED_CORRUPTED;
		if (!r.exact)
			return HEED_NOTFOUND;
		*node = page_node(p, r.idx);
		return 0;
	}
}

int bt_get(heed_txn *txn, heed_dbi dbi, const void *key, size_t klen, unsigned char **node)
{
	return get_in(txn, dbi, NULL, key, klen, node);
}

int bt_get_cmp(heed_txn *txn, heed_dbi dbi, heed_cmp_func *cmp, const void *key, size_t klen,
	       unsigned char **node)
{
	return get_in(txn, dbi, cmp, key, klen, node);
}

/* Descend from level lvl+1 to the leaf along the first (dir 0) or last
 * (dir 1) child of each page. */
static int descend_edge(heed_cursor *c, unsigned int lvl, int last)
{
	unsigned int depth = cur_db(c)->depth;
	uint64_t pgno;
	int rc;

	for (; lvl + 1 < depth; lvl++) {
		rc = child_of(c, lvl, &pgno);
		if (rc)
			return rc;
		rc = load(c, lvl + 1, pgno);
		if (rc)
			return rc;
		if (last && page_hdr(c->pg[lvl + 1])->nkeys == 0)
			return HEED_CORRUPTED;
		c->ki[lvl + 1] = last ? page_hdr(c->pg[lvl + 1])->nkeys - 1u : 0;
	}
	c->snum = depth;
	c->pos = CUR_ON;
	return 0;
}

static int bt_edge(heed_cursor *c, int last)
{
	struct dbrec *db = cur_db(c);
	int rc;

	c->snum = 0;
	c->pos = CUR_UNSET;
	c->after_del = 0;
	c->mod = c->txn->mod;
	if (!db->root)
		return HEED_NOTFOUND;
	rc = load(c, 0, db->root);
	if (rc)
		return rc;
	if (page_hdr(c->pg[0])->nkeys == 0) {
		/* An empty root leaf (only a damaged file has one): leave the
		 * path on it so an append can still insert there. */
		c->ki[0] = 0;
		c->snum = 1;
		return HEED_NOTFOUND;
	}
	c->ki[0] = last ? page_hdr(c->pg[0])->nkeys - 1u : 0;
	rc = descend_edge(c, 0, last);
	if (rc)
		return rc;
	if (page_hdr(c->pg[c->snum - 1])->nkeys == 0)
		return HEED_CORRUPTED;
	return 0;
}

int bt_first(heed_cursor *c)
{
	return bt_edge(c, 0);
}

int bt_last(heed_cursor *c)
{
	return bt_edge(c, 1);
}

int bt_next(heed_cursor *c)
{
	unsigned int top = c->snum - 1;
	int lvl;

	if (!c->snum)
		return HEED_NOTFOUND;
	if (c->ki[top] + 1 < page_hdr(c->pg[top])->nkeys) {
		c->ki[top]++;
		return 0;
	}
	for (lvl = (int)top - 1; lvl >= 0; lvl--)
		if (c->ki[lvl] + 1 < page_hdr(c->pg[lvl])->nkeys)
			break;
	if (lvl < 0)
		return HEED_NOTFOUND;
	c->ki[lvl]++;
	return descend_edge(c, (unsigned int)lvl, 0)
		       ?: (page_hdr(c->pg[top])->nkeys ? 0 : HEED_CORRUPTED);
}

int bt_prev(heed_cursor *c)
{
	unsigned int top = c->snum - 1;
	int lvl;

	if (!c->snum)
		return HEED_NOTFOUND;
	if (c->ki[top] > 0) {
		c->ki[top]--;
		return 0;
	}
	for (lvl = (int)top - 1; lvl >= 0; lvl--)
		if (c->ki[lvl] > 0)
			break;
	if (lvl < 0)
		return HEED_NOTFOUND;
	c->ki[lvl]--;
	return descend_edge(c, (unsigned int)lvl, 1);
}

/* Validate an overflow run and return its first page and page count. */
static int overflow_get(heed_txn *txn, unsigned char *node, void **first, uint64_t *pgno,
			uint32_t *npages, uint64_t *size)
{
	unsigned int psize = txn->env->psize;
	unsigned char *d = node_data(node);
	void *p;
	int rc;

	if (node_dsize(node) != 16)
		return HEED_CORRUPTED;
	*pgno = rd64(d);
	*size = rd64(d + 8);
	rc = page_get(txn, *pgno, &p);
	if (rc)
		return rc;
	if ((page_hdr(p)->flags & ~P_DIRTY) != P_OVERFLOW)
		return HEED_CORRUPTED;
	*npages = page_hdr(p)->lower;
	if (*npages == 0 || *pgno + *npages > txn->next_pgno ||
	    *size > (uint64_t)*npages * psize - PAGE_HDR)
		return HEED_CORRUPTED;
	*first = p;
	return 0;
}

/* The first value of a DUPSORT key whose values are a tree (node N_DUP). */
static int dup_first_value(heed_txn *txn, unsigned char *node, heed_val *data)
{
	heed_cursor x;
	struct dbrec r;
	unsigned char *n;
	int rc;

	if (node_dsize(node) != sizeof(r))
		return HEED_CORRUPTED;
	memcpy(&r, node_data(node), sizeof(r));
	cursor_init(&x, txn, 0);
	x.db = &r;
	rc = bt_first(&x);
	if (rc)
		return rc == HEED_NOTFOUND ? HEED_CORRUPTED : rc;
	if (node_check(x.pg[x.snum - 1], x.ki[x.snum - 1], txn->env->psize))
		return HEED_CORRUPTED;
	n = page_node(x.pg[x.snum - 1], x.ki[x.snum - 1]);
	data->data = node_key(n);
	data->size = node_ksize(n);
	return 0;
}

int bt_node_value(heed_txn *txn, unsigned char *node, heed_val *data)
{
	if (node_flags(node) & (N_BIG | N_DUP | N_DUPS)) {
		uint64_t pg, size;
		uint32_t np;
		void *p;
		int rc;

		if (node_flags(node) & N_DUP)
			return dup_first_value(txn, node, data);
		if (node_flags(node) & N_DUPS) {
			/* A list's first value: [u16 size][bytes] ... */
			if (node_dsize(node) < 2 || !rd16(node_data(node)) ||
			    2u + rd16(node_data(node)) > node_dsize(node))
				return HEED_CORRUPTED;
			data->data = node_data(node) + 2;
			data->size = rd16(node_data(node));
			return 0;
		}
		rc = overflow_get(txn, node, &p, &pg, &np, &size);
		if (rc)
			return rc;
		data->data = (char *)p + PAGE_HDR;
		data->size = (size_t)size;
		return 0;
	}
	data->data = node_data(node);
	data->size = node_dsize(node);
	return 0;
}

/* ---- modification ---- */

static void page_init(void *p, unsigned int flags, unsigned int psize)
{
	struct page_hdr *h = page_hdr(p);

	/* The free middle is left as it is: every one-page buffer holds defined
	 * bytes (pgbuf_get zeroes new ones, the scratch page is calloc'd), and
	 * no reader looks between the slots and the nodes. */
	h->flags = (uint16_t)(flags | P_DIRTY);
	h->nkeys = 0;
	h->lower = PAGE_HDR;
	h->upper = psize;
	h->cpl = 0;
}

static unsigned int desc_size(const struct ndesc *d)
{
	return NODE_HDR + d->ksize + d->dsize;
}

/* The first keyed node of page p (slot 0 of a leaf, slot 1 of a branch, or
 * slot 0 of a branch in the middle of a borrow), NULL when it has none in
 * bounds. */
static unsigned char *first_keyed(void *p, unsigned int psize)
{
	unsigned int i, n = page_hdr(p)->nkeys;

	for (i = 0; i < n && i < 2; i++)
		if (!node_check(p, i, psize) && node_ksize(page_node(p, i)))
			return page_node(p, i);
	return NULL;
}

/* Set page p's common prefix length and rewrite every slot's prefix. Nodes
 * out of bounds (a damaged page) keep their slot: the page fails its checks
 * where they are read. */
static void set_prefix(void *p, unsigned int psize, unsigned int cpl)
{
	uint64_t *slots = page_slots(p);
	unsigned int i, n = page_hdr(p)->nkeys;

	page_hdr(p)->cpl = cpl;
	for (i = 0; i < n; i++) {
		unsigned char *node;

		if (node_check(p, i, psize))
			continue;
		node = page_node(p, i);
		slots[i] = make_slot(slot_prefix(node_key(node), node_ksize(node), cpl),
				     slot_off(slots[i]));
	}
}

/* Bytes a and b share from their start, at most max: eight at a time, the
 * first differing byte of a word its lowest set bit's (little-endian). */
static unsigned int common_len(const unsigned char *a, unsigned int an, const unsigned char *b,
			       unsigned int bn, unsigned int max)
{
	unsigned int i = 0, m = an < bn ? an : bn;

	if (m > max)
		m = max;
	for (; i + 8 <= m; i += 8) {
		uint64_t x, y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return i + (unsigned int)__builtin_ctzll(x ^ y) / 8;
	}
	for (; i < m && a[i] == b[i]; i++)
		;
	return i;
}

/* Give page p, which has no common prefix, the one its keys and key share:
 * what key, its first key ref and its last key share (keys in between share
 * it too), one pass over the slots once per page. Out of line: the common
 * case, a key sharing the page's prefix, takes no registers for it. */
static __attribute__((noinline)) void first_prefix(void *p, unsigned int psize,
						   const unsigned char *key, unsigned int klen,
						   unsigned char *ref)
{
	unsigned int n = page_hdr(p)->nkeys,
		     l = common_len(key, klen, node_key(ref), node_ksize(ref), MAX_KEYSIZE);
	unsigned char *last;

	if (l && !node_check(p, n - 1, psize)) {
		last = page_node(p, n - 1);
		if (last != ref)
			l = common_len(node_key(ref), node_ksize(ref), node_key(last),
				       node_ksize(last), l);
		if (l)
			set_prefix(p, psize, l);
	}
}

/* Make page p of c's tree's common prefix the longest one its keys and key
 * (not empty, about to be stored in it) share. A page with a prefix only
 * lowers it, when key does not share it (rare: keys come to a page in its
 * key range). A page without one (new, or of keys sharing nothing) gets one
 * when its keys do share bytes (first_prefix), unless its tree is in
 * another order than bytewise (c->cmp): then its keys between the first and
 * the last need not share what those two do, and its search reads no
 * prefix, so its cpl stays 0. */
static void fit_prefix(heed_cursor *c, void *p, unsigned int psize, const unsigned char *key,
		       unsigned int klen)
{
	unsigned int cpl = page_hdr(p)->cpl;
	unsigned char *ref = first_keyed(p, psize);

	if (!ref) {
		if (cpl)
			set_prefix(p, psize, 0);
		return;
	}
	if (cpl) {
		if (klen >= cpl && node_ksize(ref) >= cpl && memcmp(key, node_key(ref), cpl) == 0)
			return;
		set_prefix(p, psize, common_len(key, klen, node_key(ref), node_ksize(ref), cpl));
		return;
	}
	if (!c->cmp)
		first_prefix(p, psize, key, klen, ref);
}

/* Store node d at slot idx of page p, whose common prefix d's key shares. */
static void node_put(void *p, unsigned int idx, const struct ndesc *d)
{
	struct page_hdr *h = page_hdr(p);
	uint64_t *slots = page_slots(p);
	unsigned int sz = desc_size(d);
	unsigned char *n;
	uint16_t v;

	h->upper -= sz;
	n = (unsigned char *)p + h->upper;
	v = (uint16_t)d->ksize;
	memcpy(n, &v, 2);
	v = (uint16_t)d->flags;
	memcpy(n + 2, &v, 2);
	memcpy(n + 4, &d->dsize, 4);
	if (d->ksize)
		memcpy(n + NODE_HDR, d->key, d->ksize);
	if (d->dsize)
		memcpy(n + NODE_HDR + d->ksize, d->data, d->dsize);
	memmove(slots + idx + 1, slots + idx, (h->nkeys - idx) * SLOT_SIZE);
	slots[idx] = make_slot(slot_prefix(d->key, d->ksize, h->cpl), h->upper);
	h->nkeys++;
	h->lower += SLOT_SIZE;
}

/* Insert d at slot idx of page p of c's tree. */
static void page_insert(heed_cursor *c, void *p, unsigned int idx, const struct ndesc *d)
{
	if (d->ksize)
		fit_prefix(c, p, c->txn->env->psize, d->key, d->ksize);
	node_put(p, idx, d);
}

/* The common prefix of the sorted keys d[first..last] of c's tree, 0 for
 * one key (the page gets one when its second key comes) or in another
 * order than bytewise. */
static unsigned int descs_prefix(heed_cursor *c, const struct ndesc *d, unsigned int first,
				 unsigned int last)
{
	if (first >= last || c->cmp)
		return 0;
	return common_len(d[first].key, d[first].ksize, d[last].key, d[last].ksize, MAX_KEYSIZE);
}

static void page_remove(void *p, unsigned int psize, unsigned int idx)
{
	struct page_hdr *h = page_hdr(p);
	uint64_t *slots = page_slots(p);
	unsigned int off = slot_off(slots[idx]), sz = node_size((unsigned char *)p + off), i;

	memmove((char *)p + h->upper + sz, (char *)p + h->upper, off - h->upper);
	for (i = 0; i < h->nkeys; i++)
		if (slot_off(slots[i]) < off)
			slots[i] += sz;
	memmove(slots + idx, slots + idx + 1, (h->nkeys - idx - 1) * SLOT_SIZE);
	h->nkeys--;
	h->lower -= SLOT_SIZE;
	h->upper += sz;
	/* No key left (a branch's slot 0 has none): no prefix to share. */
	if (h->cpl && !first_keyed(p, psize))
		h->cpl = 0;
}

static void node_desc(void *p, unsigned int i, struct ndesc *d)
{
	unsigned char *n = page_node(p, i);

	d->key = node_key(n);
	d->ksize = node_ksize(n);
	d->flags = node_flags(n);
	d->data = node_data(n);
	d->dsize = node_dsize(n);
}

static void branch_desc(struct ndesc *d, const void *key, unsigned int ksize, uint64_t child)
{
	d->key = key;
	d->ksize = ksize;
	d->flags = 0;
	wr64(d->inl, child);
	d->data = d->inl;
	d->dsize = 8;
}

static void db_dirty(heed_txn *txn, heed_dbi dbi)
{
	txn->dbst[dbi] |= DB_DIRTY;
}

/* Copy page *pp (child idx of parent, or the root when parent is NULL)
 * into this txn if it is not dirty yet. */
static int touch_page(heed_txn *txn, heed_dbi dbi, struct dbrec *db, void *parent, unsigned int idx,
		      void **pp)
{
	void *p = *pp, *np;
	uint64_t pg;
	int rc;

	if (page_hdr(p)->flags & P_DIRTY)
		return txn->parent ? dirty_shadow(txn, pp) : 0;
	rc = page_alloc(txn, 1, &pg, &np);
	if (rc)
		return rc;
	/* The free gap between slots and nodes is not copied: np holds bytes
	 * of an earlier page there (pgbuf_get), never uninitialised memory. */
	memcpy(np, p, page_hdr(p)->lower);
	memcpy((char *)np + page_hdr(p)->upper, (char *)p + page_hdr(p)->upper,
	       txn->env->psize - page_hdr(p)->upper);
	page_hdr(np)->pgno = pg;
	page_hdr(np)->flags |= P_DIRTY;
	rc = page_free_clean(txn, page_hdr(p)->pgno);
	if (rc)
		return rc;
	if (parent)
		wr64(node_data(page_node(parent, idx)), pg);
	else
		db->root = pg;
	db_dirty(txn, dbi);
	*pp = np;
	return 0;
}

static int touch_path(heed_cursor *c)
{
	unsigned int lvl;
	int rc;

	for (lvl = 0; lvl < c->snum; lvl++) {
		rc = touch_page(c->txn, c->dbi, cur_db(c), lvl ? c->pg[lvl - 1] : NULL,
				lvl ? c->ki[lvl - 1] : 0, &c->pg[lvl]);
		if (rc)
			return rc;
	}
	return 0;
}

static int insert_at(heed_cursor *c, unsigned int lvl, unsigned int idx, const struct ndesc *nd);

/* Where to split the nodes d[0..m-1] of a page (the new one among them)
 * so that both halves fit and the larger is smallest. 0 when none fits. */
static unsigned int split_point(const struct ndesc *d, unsigned int m, unsigned int usable,
				int leaf)
{
	unsigned int i, s = 0, best = ~0u, total = 0, left = 0;

	for (i = 0; i < m; i++)
		total += desc_size(&d[i]) + SLOT_SIZE;
	for (i = 1; i < m; i++) {
		unsigned int right, worst;

		left += desc_size(&d[i - 1]) + SLOT_SIZE;
		right = total - left - (leaf ? 0 : d[i].ksize);
		if (left > usable || right > usable)
			continue;
		worst = left > right ? left : right;
		if (worst < best) {
			best = worst;
			s = i;
		}
	}
	return s;
}

/* Split page lvl of the cursor path while inserting nd at idx. An insert
 * after the last node (appends, sequential loads) leaves the page as it is
 * and starts the right page with the new node alone: pages fill fully and
 * no node is copied. */
static int split_insert(heed_cursor *c, unsigned int lvl, unsigned int idx, const struct ndesc *nd)
{
	heed_txn *txn = c->txn;
	heed_env *env = txn->env;
	struct dbrec *db = cur_db(c);
	unsigned int psize = env->psize, i, m, s;
	void *p = c->pg[lvl], *rp, *rootp = NULL;
	int leaf = (page_hdr(p)->flags & P_LEAF) != 0, rc;
	unsigned int n = page_hdr(p)->nkeys;
	unsigned char sepk[MAX_KEYSIZE];
	unsigned int seplen;
	uint64_t rpg, rootpg = 0, lpg = page_hdr(p)->pgno;
	struct ndesc *d = env->descs;

	m = n + 1;
	if (idx == n) {
		d[n] = *nd;
		s = n;
	} else {
		if (check_nodes(p, psize))
			return HEED_CORRUPTED;
		for (i = 0; i < n; i++)
			node_desc(p, i, &d[i < idx ? i : i + 1]);
		d[idx] = *nd;
		s = split_point(d, m, psize - PAGE_HDR, leaf);
	}
	if (!s || d[s].ksize > MAX_KEYSIZE)
		return HEED_CORRUPTED;
	seplen = d[s].ksize;
	memcpy(sepk, d[s].key, seplen);
	rc = page_alloc(txn, 1, &rpg, &rp);
	if (rc)
		return rc;
	if (lvl == 0) {
		rc = page_alloc(txn, 1, &rootpg, &rootp);
		if (rc) {
			page_free(txn, rpg, 1);
			return rc;
		}
	}
	/* Both halves get their keys' common prefix before their nodes. */
	page_init(rp, leaf ? P_LEAF : P_BRANCH, psize);
	page_hdr(rp)->cpl = descs_prefix(c, d, leaf ? s : s + 1, m - 1);
	for (i = s; i < m; i++) {
		struct ndesc x = d[i];

		if (!leaf && i == s)
			x.ksize = 0;
		node_put(rp, i - s, &x);
	}
	if (idx != n) {
		memcpy(env->scratch, p, PAGE_HDR);
		page_init(env->scratch, leaf ? P_LEAF : P_BRANCH, psize);
		page_hdr(env->scratch)->cpl = descs_prefix(c, d, leaf ? 0 : 1, s - 1);
		for (i = 0; i < s; i++)
			node_put(env->scratch, i, &d[i]);
		memcpy(p, env->scratch, psize);
	}
	if (leaf)
		db->leaf_pages++;
	else
		db->branch_pages++;
	PROBE(PAGE_SPLIT, lpg, rpg, lvl);
	if (lvl == 0) {
		struct ndesc b;

		page_init(rootp, P_BRANCH, psize);
		branch_desc(&b, NULL, 0, lpg);
		page_insert(c, rootp, 0, &b);
		branch_desc(&b, sepk, seplen, rpg);
		page_insert(c, rootp, 1, &b);
		db->root = rootpg;
		db->depth++;
		db->branch_pages++;
		return 0;
	}
	{
		struct ndesc b;

		branch_desc(&b, sepk, seplen, rpg);
		return insert_at(c, lvl - 1, c->ki[lvl - 1] + 1, &b);
	}
}

static int insert_at(heed_cursor *c, unsigned int lvl, unsigned int idx, const struct ndesc *nd)
{
	void *p = c->pg[lvl];

	if (desc_size(nd) + SLOT_SIZE <= page_room(p)) {
		page_insert(c, p, idx, nd);
		return 0;
	}
	return split_insert(c, lvl, idx, nd);
}

static int free_overflow(heed_txn *txn, struct dbrec *db, unsigned char *node)
{
	uint64_t pg, size;
	uint32_t np;
	void *p;
	int rc = overflow_get(txn, node, &p, &pg, &np, &size);

	if (rc)
		return rc;
	db->overflow_pages -= np;
	return page_free(txn, pg, np);
}

/* Continue an APPEND from the path the previous one left in the txn, when
 * nothing changed since: 1 when c now stands on the last item. */
static int append_resume(heed_cursor *c)
{
	heed_txn *txn = c->txn;

	if (!txn->app_snum || txn->app_dbi != c->dbi || txn->app_mod != txn->mod ||
	    cur_is_values(c))
		return 0;
	c->snum = txn->app_snum;
	memcpy(c->pg, txn->app_pg, c->snum * sizeof(c->pg[0]));
	memcpy(c->ki, txn->app_ki, c->snum * sizeof(c->ki[0]));
	c->pos = CUR_ON;
	c->after_del = 0;
	c->mod = txn->mod;
	return 1;
}

/* Keep c's path, whose leaf just got the last item, for the next APPEND. A
 * split moved that item to a new page the path does not name: no hint. */
static void append_save(heed_cursor *c)
{
	heed_txn *txn = c->txn;
	unsigned int top = c->snum - 1;

	if (c->ki[top] >= page_hdr(c->pg[top])->nkeys || cur_is_values(c)) {
		txn->app_snum = 0;
		return;
	}
	txn->app_dbi = c->dbi;
	txn->app_mod = txn->mod;
	txn->app_snum = c->snum;
	memcpy(txn->app_pg, c->pg, c->snum * sizeof(c->pg[0]));
	memcpy(txn->app_ki, c->ki, c->snum * sizeof(c->ki[0]));
}

/* The largest node (with its slot) stored inline in a leaf: two always fit
 * in a page, so a split can always place the new node. */
static unsigned int node_max(unsigned int psize)
{
	return (psize - PAGE_HDR) / 2;
}

int bt_put(heed_cursor *c, const heed_val *key, heed_val *data, unsigned int flags,
	   unsigned int nflags)
{
	heed_txn *txn = c->txn;
	heed_env *env = txn->env;
	struct dbrec *db = cur_db(c);
	unsigned int psize = env->psize, top;
	struct ndesc nd;
	unsigned char *old = NULL;
	void *leaf;
	int rc, exact = 0, resumed = 0;
	/* An APPEND's key in bytewise order: the bytes it shares with the
	 * last key, so with every key of the leaf up to the leaf's prefix. */
	unsigned int shared = 0;

	if (flags & HEED_APPEND) {
		if (c->cmp && !order_size_ok(db->flags, 0, key->size))
			return HEED_BAD_VALSIZE; /* as bt_seek would */
		resumed = append_resume(c);
		rc = resumed ? 0 : bt_last(c);
		if (rc && rc != HEED_NOTFOUND)
			return rc;
		if (!rc) {
			unsigned char *ln = page_node(c->pg[c->snum - 1], c->ki[c->snum - 1]);

			if (node_check(c->pg[c->snum - 1], c->ki[c->snum - 1], psize))
				return HEED_CORRUPTED;
			if (c->cmp) {
				if (heed_ordcmp(c->cmp, node_key(ln), node_ksize(ln), key->data,
						key->size) >= 0)
					return HEED_KEYEXIST;
			} else {
				const unsigned char *k = key->data;
				unsigned int lk = node_ksize(ln);

				/* One pass gives the order and the shared bytes. */
				shared = common_len(node_key(ln), lk, k, (unsigned int)key->size,
						    MAX_KEYSIZE);
				if (shared == key->size ||
				    (shared < lk && node_key(ln)[shared] > k[shared]))
					return HEED_KEYEXIST;
			}
			c->ki[c->snum - 1]++;
		}
	} else {
		rc = bt_seek(c, key->data, key->size, &exact);
		if (rc && rc != HEED_NOTFOUND)
			return rc;
	}
	if (exact) {
		old = page_node(c->pg[c->snum - 1], c->ki[c->snum - 1]);
		if (flags & HEED_NOOVERWRITE) {
			rc = bt_node_value(txn, old, data);
			return rc ? rc : HEED_KEYEXIST;
		}
		if ((node_flags(old) & N_DBREC) != (nflags & N_DBREC))
			return HEED_INCOMPATIBLE;
	}
	nd.key = key->data;
	nd.ksize = (unsigned int)key->size;
	nd.flags = nflags;
	nd.data = data->data;
	nd.dsize = (uint32_t)data->size;
	if (NODE_HDR + key->size + data->size + SLOT_SIZE > node_max(psize)) {
		uint32_t np = (uint32_t)((PAGE_HDR + data->size + psize - 1) / psize);
		uint64_t pg;
		void *op;

		if ((PAGE_HDR + (uint64_t)data->size + psize - 1) / psize > UINT32_MAX)
			return HEED_MAP_FULL;
		rc = page_alloc(txn, np, &pg, &op);
		if (rc)
			return rc;
		page_hdr(op)->flags = P_OVERFLOW | P_DIRTY;
		page_hdr(op)->lower = np;
		/* No data: bt_put_reserve's, the whole payload zeroed. */
		if (data->size && data->data)
			memcpy((char *)op + PAGE_HDR, data->data, data->size);
		memset((char *)op + PAGE_HDR + (data->data ? data->size : 0), 0,
		       (size_t)np * psize - PAGE_HDR - (data->data ? data->size : 0));
		db->overflow_pages += np;
		wr64(nd.inl, pg);
		wr64(nd.inl + 8, data->size);
		nd.data = nd.inl;
		nd.dsize = 16;
		nd.flags |= N_BIG;
	}
	db_dirty(txn, c->dbi);
	txn->mod++;
	if (!db->root) {
		rc = page_alloc(txn, 1, &db->root, &leaf);
		if (rc)
			return rc;
		page_init(leaf, P_LEAF, psize);
		db->depth = 1;
		db->leaf_pages = 1;
		c->pg[0] = leaf;
		c->ki[0] = 0;
		c->snum = 1;
	} else if (!resumed) {
		/* A resumed path is this txn's own dirty pages (append_save):
		 * touching it again was 133 Ir of a fillseq put's 1274. */
		rc = touch_path(c);
		if (rc)
			return rc;
	}
	top = c->snum - 1;
	leaf = c->pg[top];
	if (exact) {
		old = page_node(leaf, c->ki[top]);
		if (node_flags(old) & N_BIG) {
			rc = free_overflow(txn, db, old);
			if (rc)
				return rc;
		}
		if (!(nd.flags & N_BIG) && node_flags(old) == nd.flags &&
		    node_dsize(old) == nd.dsize) {
			memcpy(node_data(old), nd.data, nd.dsize);
			return 0;
		}
		page_remove(leaf, psize, c->ki[top]);
		db->entries--;
	}
	/* An APPEND sharing the leaf's prefix leaves fit_prefix nothing to do
	 * (its check was 140 Ir of a fillseq put's 1146: callgrind). */
	if (page_hdr(leaf)->cpl && shared >= page_hdr(leaf)->cpl &&
	    desc_size(&nd) + SLOT_SIZE <= page_room(leaf)) {
		node_put(leaf, c->ki[top], &nd);
		db->entries++;
		/* No split: a resumed path is the saved one but for the leaf's
		 * index (copying it back was 30 Ir a put). */
		if (resumed) {
			txn->app_ki[top] = c->ki[top];
			txn->app_mod = txn->mod;
			return 0;
		}
	} else {
		rc = insert_at(c, top, c->ki[top], &nd);
		if (rc)
			return rc;
		db->entries++;
	}
	if (flags & HEED_APPEND)
		append_save(c);
	return 0;
}

/* The value of a HEED_RESERVE put's inline node: zeros, so that the page
 * never carries stale bytes the caller leaves unfilled (an inline node is
 * at most half a page; in .bss, it costs no file space). */
static unsigned char reserve_zeros[MAX_PSIZE / 2];

int bt_put_reserve(heed_cursor *c, const heed_val *key, heed_val *data, unsigned int flags)
{
	heed_val z = {data->size, NULL};
	unsigned char *n;
	void *first;
	uint64_t pg, size;
	uint32_t np;
	int rc, exact;

	if (NODE_HDR + key->size + data->size + SLOT_SIZE <= node_max(c->txn->env->psize))
		z.data = reserve_zeros;
	rc = bt_put(c, key, &z, flags & ~(unsigned int)HEED_RESERVE, 0);
	if (rc == HEED_KEYEXIST)
		*data = z;
	if (rc)
		return rc;
	/* Found again: a split may have moved the new node. */
	rc = bt_seek(c, key->data, key->size, &exact);
	if (!rc && !exact)
		rc = HEED_CORRUPTED;
	if (!rc && node_check(c->pg[c->snum - 1], c->ki[c->snum - 1], c->txn->env->psize))
		rc = HEED_CORRUPTED;
	if (rc)
		return rc;
	n = page_node(c->pg[c->snum - 1], c->ki[c->snum - 1]);
	if (!(node_flags(n) & N_BIG)) {
		data->data = node_data(n);
		return 0;
	}
	rc = overflow_get(c->txn, n, &first, &pg, &np, &size);
	if (!rc)
		data->data = (char *)first + PAGE_HDR;
	return rc;
}

/* Replace the key of node idx of branch page lvl (its child stays). */
static int replace_key(heed_cursor *c, unsigned int lvl, unsigned int idx, const void *key,
		       unsigned int klen)
{
	void *p = c->pg[lvl];
	unsigned char *n = page_node(p, idx);
	uint64_t child = node_child(n);
	struct ndesc b;

	if (node_ksize(n) == klen) {
		fit_prefix(c, p, c->txn->env->psize, key, klen);
		memcpy(node_key(n), key, klen);
		page_slots(p)[idx] = make_slot(slot_prefix(key, klen, page_hdr(p)->cpl),
					       slot_off(page_slots(p)[idx]));
		return 0;
	}
	page_remove(p, c->txn->env->psize, idx);
	branch_desc(&b, key, klen, child);
	return insert_at(c, lvl, idx, &b);
}

static void count_page(struct dbrec *db, int leaf, int delta)
{
	if (leaf)
		db->leaf_pages += (uint64_t)(int64_t)delta;
	else
		db->branch_pages += (uint64_t)(int64_t)delta;
}

/* Move one node from sibling sib into p (sib is right of p when right). */
static int borrow(heed_cursor *c, unsigned int lvl, void *p, void *sib, int right,
		  unsigned int sep_idx)
{
	void *parent = c->pg[lvl - 1];
	int leaf = (page_hdr(p)->flags & P_LEAF) != 0;
	unsigned int psize = c->txn->env->psize;
	unsigned char kbuf[MAX_KEYSIZE];
	unsigned int klen;
	struct ndesc d;

	if (page_hdr(sib)->nkeys < 2)
		return 0;
	if (right) {
		unsigned char *sep = page_node(parent, sep_idx);

		node_desc(sib, 0, &d);
		if (!leaf) {
			d.key = node_key(sep);
			d.ksize = node_ksize(sep);
		}
		if (desc_size(&d) + SLOT_SIZE > page_room(p))
			return 0;
		page_insert(c, p, page_hdr(p)->nkeys, &d);
		page_remove(sib, psize, 0);
		node_desc(sib, 0, &d);
		klen = d.ksize;
		memcpy(kbuf, d.key, klen);
		if (!leaf) {
			uint64_t child = node_child(page_node(sib, 0));

			page_remove(sib, psize, 0);
			branch_desc(&d, NULL, 0, child);
			page_insert(c, sib, 0, &d);
		}
		return replace_key(c, lvl - 1, sep_idx, kbuf, klen);
	}
	node_desc(sib, page_hdr(sib)->nkeys - 1u, &d);
	klen = d.ksize;
	memcpy(kbuf, d.key, klen);
	if (leaf) {
		if (desc_size(&d) + SLOT_SIZE > page_room(p))
			return 0;
		page_insert(c, p, 0, &d);
	} else {
		unsigned char *sep = page_node(parent, sep_idx);
		uint64_t c0 = node_child(page_node(p, 0)),
			 cl = node_child(page_node(sib, page_hdr(sib)->nkeys - 1u));
		struct ndesc b;

		if (NODE_HDR * 2 + 16 + node_ksize(sep) + 2 * SLOT_SIZE > page_room(p))
			return 0;
		page_remove(p, psize, 0);
		branch_desc(&b, node_key(sep), node_ksize(sep), c0);
		page_insert(c, p, 0, &b);
		branch_desc(&b, NULL, 0, cl);
		page_insert(c, p, 0, &b);
	}
	page_remove(sib, psize, page_hdr(sib)->nkeys - 1u);
	return replace_key(c, lvl - 1, sep_idx, kbuf, klen);
}

static int rebalance(heed_cursor *c, unsigned int lvl)
{
	heed_txn *txn = c->txn;
	struct dbrec *db = cur_db(c);
	unsigned int psize = txn->env->psize;
	int rc;

	for (;;) {
		void *p = c->pg[lvl], *parent, *sib, *left, *right;
		int leaf = (page_hdr(p)->flags & P_LEAF) != 0;
		unsigned int n = page_hdr(p)->nkeys, pi, si, ri, i, extra;
		uint64_t rpg, lpg;

		if (lvl == 0) {
			if (leaf && n == 0) {
				rc = page_free(txn, page_hdr(p)->pgno, 1);
				db->root = 0;
				db->depth = 0;
				db->leaf_pages = 0;
				return rc;
			}
			if (!leaf && n == 0) {
				/* Its only child was removed: the tree is empty. */
				rc = page_free(txn, page_hdr(p)->pgno, 1);
				memset(db, 0, sizeof(*db));
				return rc;
			}
			if (!leaf && n == 1) {
				uint64_t child;

				if (check_nodes(p, psize))
					return HEED_CORRUPTED;
				child = node_child(page_node(p, 0));
				rc = page_free(txn, page_hdr(p)->pgno, 1);
				if (rc)
					return rc;
				db->root = child;
				db->depth--;
				db->branch_pages--;
			}
			return 0;
		}
		if (page_used(p, psize) >= psize / 4 && n >= (leaf ? 1u : 2u))
			return 0;
		parent = c->pg[lvl - 1];
		pi = c->ki[lvl - 1];
		/* Both pages were read from the file with only the nodes the
		 * search probed checked; a merge or borrow moves all of them. */
		if (check_nodes(p, psize) || check_nodes(parent, psize) ||
		    pi >= page_hdr(parent)->nkeys)
			return HEED_CORRUPTED;
		if (page_hdr(parent)->nkeys < 2) {
			/* An only child (left by an append split) has no sibling
			 * to merge with; once empty it goes, and its parent is
			 * rebalanced in turn. */
			if (n > 0)
				return 0;
			lpg = page_hdr(p)->pgno;
			rc = page_free(txn, lpg, 1);
			if (rc)
				return rc;
			count_page(db, leaf, -1);
			page_remove(parent, psize, pi);
			lvl--;
			continue;
		}
		si = pi > 0 ? pi - 1 : pi + 1;
		if (node_check(parent, si, psize))
			return HEED_CORRUPTED;
		rc = page_get(txn, node_child(page_node(parent, si)), &sib);
		if (rc)
			return rc;
		rc = bt_check_page(sib, psize, leaf ? P_LEAF : P_BRANCH);
		if (!rc)
			rc = check_nodes(sib, psize);
		if (rc)
			return rc;
		/* A damaged child pointer can name a page already on the path
		 * (or a page this txn allocated for it): merging a page into
		 * itself would copy it without end. */
		for (i = 0; i < c->snum; i++)
			if (c->pg[i] == sib)
				return HEED_CORRUPTED;
		rc = touch_page(txn, c->dbi, db, parent, si, &sib);
		if (rc)
			return rc;
		left = pi > 0 ? sib : p;
		right = pi > 0 ? p : sib;
		ri = pi > 0 ? pi : pi + 1;
		/* An empty branch page needs no separator: merged into its
		 * right neighbour, that one's first node keeps its empty key. */
		extra = (leaf || n == 0) ? 0 : node_ksize(page_node(parent, ri));
		if (page_used(left, psize) + page_used(right, psize) + extra > psize - PAGE_HDR)
			return borrow(c, lvl, p, sib, pi == 0, ri);
		for (i = 0; i < page_hdr(right)->nkeys; i++) {
			struct ndesc d;

			node_desc(right, i, &d);
			if (!leaf && i == 0 && page_hdr(left)->nkeys) {
				d.key = node_key(page_node(parent, ri));
				d.ksize = node_ksize(page_node(parent, ri));
			}
			page_insert(c, left, page_hdr(left)->nkeys, &d);
		}
		rpg = page_hdr(right)->pgno;
		lpg = page_hdr(left)->pgno;
		PROBE(PAGE_MERGE, rpg, lpg, lvl);
		rc = page_free(txn, rpg, 1);
		if (rc)
			return rc;
		count_page(db, leaf, -1);
		page_remove(parent, psize, ri);
		c->ki[lvl - 1] = ri - 1;
		lvl--;
	}
}

int bt_del(heed_cursor *c)
{
	heed_txn *txn = c->txn;
	struct dbrec *db = cur_db(c);
	unsigned int top = c->snum - 1;
	unsigned char *n;
	int rc;

	db_dirty(txn, c->dbi);
	txn->mod++;
	rc = touch_path(c);
	if (rc)
		return rc;
	if (c->ki[top] >= page_hdr(c->pg[top])->nkeys ||
	    node_check(c->pg[top], c->ki[top], txn->env->psize))
		return HEED_CORRUPTED;
	n = page_node(c->pg[top], c->ki[top]);
	if (node_flags(n) & N_BIG) {
		rc = free_overflow(txn, db, n);
		if (rc)
			return rc;
	}
	page_remove(c->pg[top], txn->env->psize, c->ki[top]);
	db->entries--;
	return rebalance(c, top);
}

/* The pages a drop frees, gathered before any is freed: runs as
 * (pgno, npages) pairs, and every page of them for the check that none is
 * named twice. */
struct drop_set {
	struct pgvec runs, pages;
};

static int drop_add(struct drop_set *s, uint64_t pgno, uint32_t npages)
{
	uint32_t i;
	int rc = pgvec_push(&s->runs, pgno);

	if (!rc)
		rc = pgvec_push(&s->runs, npages);
	for (i = 0; i < npages && !rc; i++)
		rc = pgvec_push(&s->pages, pgno + i);
	return rc;
}

/* Gather the tree below pgno. Named dbs' records (N_DBREC nodes) belong to
 * the main db only (nest 2), the value trees of DUPSORT keys (N_DUP nodes)
 * to a db (nest 1 or 2); a value tree holds neither (nest 0). Each nested
 * tree is gathered one nesting level down, so a damaged record naming a
 * page of an outer tree cannot send this into endless recursion (the depth
 * is at most 3 * MAX_DEPTH). */
static int drop_gather(heed_txn *txn, struct drop_set *s, uint64_t pgno, unsigned int lvl,
		       unsigned int depth, int nest)
{
	unsigned int psize = txn->env->psize, i, n;
	void *p;
	int rc;

	if (lvl >= depth)
		return HEED_CORRUPTED;
	rc = page_get(txn, pgno, &p);
	if (rc)
		return rc;
	rc = bt_check_page(p, psize, lvl + 1 == depth ? P_LEAF : P_BRANCH);
	if (!rc)
		rc = check_nodes(p, psize);
	if (rc)
		return rc;
	n = page_hdr(p)->nkeys;
	for (i = 0; i < n && !rc; i++) {
		unsigned char *node = page_node(p, i);

		if (lvl + 1 < depth) {
			rc = drop_gather(txn, s, node_child(node), lvl + 1, depth, nest);
		} else if (node_flags(node) & N_BIG) {
			uint64_t pg, size;
			uint32_t np;
			void *op;

			rc = overflow_get(txn, node, &op, &pg, &np, &size);
			if (!rc)
				rc = drop_add(s, pg, np);
		} else if (node_flags(node) & (N_DBREC | N_DUP)) {
			int dup = (node_flags(node) & N_DUP) != 0;
			struct dbrec r;

			if (nest < (dup ? 1 : 2) || node_dsize(node) != sizeof(r))
				return HEED_CORRUPTED;
			memcpy(&r, node_data(node), sizeof(r));
			if ((r.root == 0) != (r.depth == 0) || r.depth > MAX_DEPTH)
				return HEED_CORRUPTED;
			if (r.root)
				rc = drop_gather(txn, s, r.root, 0, r.depth, dup ? 0 : 1);
		}
	}
	return rc ? rc : drop_add(s, pgno, 1);
}

int bt_drop_tree(heed_txn *txn, struct dbrec *db, int nest)
{
	struct drop_set s = {{0}, {0}};
	uint32_t flags;
	size_t i;
	int rc = 0;

	if (db->root)
		rc = drop_gather(txn, &s, db->root, 0, db->depth, nest);
	if (!rc) {
		pgno_sort(s.pages.v, s.pages.n);
		for (i = 1; i < s.pages.n && !rc; i++)
			if (s.pages.v[i] == s.pages.v[i - 1])
				rc = HEED_CORRUPTED;
	}
	for (i = 0; i + 1 < s.runs.n && !rc; i += 2)
		rc = page_free(txn, s.runs.v[i], (unsigned int)s.runs.v[i + 1]);
	pgvec_free(&s.runs);
	pgvec_free(&s.pages);
	if (rc)
		return rc;
	flags = db->flags; /* an emptied db keeps its flags (DUPSORT) */
	memset(db, 0, sizeof(*db));
	db->flags = flags;
	txn->mod++;
	return 0;
}

int bt_drop(heed_txn *txn, heed_dbi dbi)
{
	int rc = bt_drop_tree(txn, &txn->dbs[dbi], dbi == 0 ? 2 : 1);

	if (!rc)
		db_dirty(txn, dbi);
	return rc;
}
