/*
 * dup.c - the values of a DUPSORT db's keys.
 *
 * A key of a DUPSORT db holds a sorted set of values (in the db's order of
 * values: bytewise, the shorter first on a tie, unless HEED_REVERSEDUP,
 * HEED_INTEGERDUP or heed_set_dupsort say another; db_cmp(.., 1)), in one
 * of three forms (page.h):
 *   - one value: a plain node;
 *   - a few: the node (flag N_DUPS) holds them inline as a sorted list of
 *     [u16 size][bytes], while the list takes at most DUP_LIST_MAX bytes;
 *   - more: the values are the keys of a tree of their own (its nodes carry
 *     no data), and the key's node (flag N_DUP) holds that tree's 48-byte
 *     record. A million values of one key are a tree of pages like any db,
 *     never one huge node.
 * A key moves up these forms as values come, and from a list back to one
 * value as they go (a tree stays a tree). The db's record counts every
 * value in `entries` and the pages of every value tree in its page counts.
 *
 * A cursor on such a db (c->xc set) stands on a key and on one of its
 * values: c->xon says the form (XON_ONE, XON_LIST: value c->xidx of c->xn,
 * XON_TREE: through c->xc). Changes to a value tree go through a cursor on
 * a copy of its record (c->xdb), which is then stored back into the key's
 * node.
 */
#include "internal.h"
#include "search.h"

#include <errno.h>
#include <string.h>

/* The largest inline list (bytes of the node's data): a sixteenth of a
 * page keeps a leaf of the db at sixteen such keys or more. */
#define DUP_LIST_MAX(psize) ((psize) / 16u)
#define LIST_BUF	    (MAX_PSIZE / 16u + 2u + MAX_KEYSIZE)

static int beyond(heed_cursor *c)
{
	return !c->snum || c->ki[c->snum - 1] >= page_hdr(c->pg[c->snum - 1])->nkeys;
}

static int cur_node(heed_cursor *c, unsigned char **n)
{
	if (beyond(c))
		return HEED_NOTFOUND;
	if (node_check(c->pg[c->snum - 1], c->ki[c->snum - 1], c->txn->env->psize))
		return HEED_CORRUPTED;
	*n = page_node(c->pg[c->snum - 1], c->ki[c->snum - 1]);
	return 0;
}

/* After a seek that fell past the end of its leaf: the first item of the
 * next leaf, or HEED_NOTFOUND (the cursor then past the end). */
static int leaf_fix(heed_cursor *c)
{
	unsigned int top = c->snum - 1, n;
	int rc;

	if (!beyond(c))
		return 0;
	n = page_hdr(c->pg[top])->nkeys;
	if (!n)
		return HEED_NOTFOUND;
	c->ki[top] = n - 1u;
	rc = bt_next(c);
	if (rc == HEED_NOTFOUND)
		c->ki[top] = n;
	return rc;
}

int dup_list_check(const unsigned char *d, uint32_t size, heed_cmp_func *cmp, unsigned int *count)
{
	const unsigned char *prev = NULL;
	unsigned int n = 0, plen = 0;
	uint32_t off = 0;

	while (off < size) {
		unsigned int len;

		if (size - off < 2)
			return HEED_CORRUPTED;
		len = rd16(d + off);
		if (len == 0 || len > MAX_KEYSIZE || size - off - 2 < len)
			return HEED_CORRUPTED;
		if (prev && heed_ordcmp(cmp, prev, plen, d + off + 2, len) >= 0)
			return HEED_CORRUPTED;
		prev = d + off + 2;
		plen = len;
		off += 2 + len;
		n++;
	}
	if (n < 2)
		return HEED_CORRUPTED;
	*count = n;
	return 0;
}

/* Value i of a checked list. */
static void list_get(const unsigned char *d, unsigned int i, heed_val *v)
{
	uint32_t off = 0;

	while (i--)
		off += 2u + rd16(d + off);
	v->size = rd16(d + off);
	v->data = (void *)(d + off + 2);
}

/* Append value v to the list being built in buf (used bytes *len). */
static void list_add(unsigned char *buf, uint32_t *len, const heed_val *v)
{
	uint16_t n = (uint16_t)v->size;

	memcpy(buf + *len, &n, 2);
	memcpy(buf + *len + 2, v->data, v->size);
	*len += 2u + (uint32_t)v->size;
}

int dup_load(heed_cursor *c)
{
	unsigned char *n;
	struct dbrec *r = &c->xdb;
	int rc;

	c->xon = XON_ONE;
	rc = cur_node(c, &n);
	if (rc)
		return rc == HEED_NOTFOUND ? 0 : rc;
	if (node_flags(n) & (N_BIG | N_DBREC) ||
	    (node_flags(n) & (N_DUP | N_DUPS)) == (N_DUP | N_DUPS))
		return HEED_CORRUPTED;
	if (node_flags(n) & N_DUPS) {
		if (node_dsize(n) > DUP_LIST_MAX(c->txn->env->psize))
			return HEED_CORRUPTED;
		rc = dup_list_check(node_data(n), node_dsize(n), db_cmp(c->txn->env, c->dbi, 1),
				    &c->xn);
		if (rc)
			return rc;
		c->xon = XON_LIST;
		c->xidx = 0;
		return 0;
	}
	if (!(node_flags(n) & N_DUP))
		return 0;
	if (node_dsize(n) != sizeof(*r))
		return HEED_CORRUPTED;
	memcpy(r, node_data(n), sizeof(*r));
	if (!r->root || !r->depth || r->root >= c->txn->next_pgno || r->depth > MAX_DEPTH ||
	    r->entries < 1)
		return HEED_CORRUPTED;
	cursor_init_values(c->xc, c->txn, c->dbi, r);
	c->xon = XON_TREE;
	return 0;
}

int dup_edge(heed_cursor *c, int last)
{
	int rc = dup_load(c);

	if (rc || c->xon == XON_ONE)
		return rc;
	if (c->xon == XON_LIST) {
		c->xidx = last ? c->xn - 1 : 0;
		return 0;
	}
	rc = last ? bt_last(c->xc) : bt_first(c->xc);
	return rc == HEED_NOTFOUND ? HEED_CORRUPTED : rc;
}

int dup_step(heed_cursor *c, int prev)
{
	if (c->xon == XON_LIST) {
		if (prev ? c->xidx == 0 : c->xidx + 1 >= c->xn)
			return HEED_NOTFOUND;
		c->xidx = prev ? c->xidx - 1 : c->xidx + 1;
		return 0;
	}
	if (c->xon != XON_TREE)
		return HEED_NOTFOUND;
	return prev ? bt_prev(c->xc) : bt_next(c->xc);
}

int dup_value(heed_cursor *c, heed_val *data)
{
	unsigned char *n;
	int rc;

	if (c->xon == XON_TREE) {
		rc = cur_node(c->xc, &n);
		if (rc)
			return rc == HEED_NOTFOUND ? HEED_CORRUPTED : rc;
		if (node_ksize(n) > MAX_KEYSIZE || node_flags(n))
			return HEED_CORRUPTED;
		data->data = node_key(n);
		data->size = node_ksize(n);
		return 0;
	}
	rc = cur_node(c, &n);
	if (rc)
		return rc;
	if (c->xon == XON_LIST) {
		list_get(node_data(n), c->xidx, data);
		return 0;
	}
	return bt_node_value(c->txn, n, data);
}

int dup_count(heed_cursor *c, size_t *count)
{
	*count = c->xon == XON_TREE ? (size_t)c->xdb.entries : c->xon == XON_LIST ? c->xn : 1;
	return 0;
}

int dup_find(heed_cursor *c, const void *val, size_t vlen, int *exact)
{
	heed_val v;
	unsigned int i;
	int rc;

	*exact = 0;
	rc = dup_load(c);
	if (rc)
		return rc;
	if (c->xon == XON_TREE) {
		rc = bt_seek(c->xc, val, vlen, exact);
		if (rc)
			return rc == HEED_NOTFOUND ? HEED_CORRUPTED : rc;
		return leaf_fix(c->xc);
	}
	for (i = 0; i < (c->xon == XON_LIST ? c->xn : 1); i++) {
		c->xidx = i;
		rc = dup_value(c, &v);
		if (rc)
			return rc;
		rc = heed_ordcmp(db_cmp(c->txn->env, c->dbi, 1), val, vlen, v.data, v.size);
		if (rc <= 0) {
			*exact = rc == 0;
			return 0;
		}
	}
	return HEED_NOTFOUND;
}

int dup_seek(heed_cursor *c, const void *key, size_t klen, const void *val, size_t vlen, int *exact)
{
	int rc, ex;

	*exact = 0;
	rc = bt_seek(c, key, klen, &ex);
	if (rc)
		return rc;
	rc = leaf_fix(c);
	if (rc)
		return rc == HEED_NOTFOUND ? 0 : rc;
	if (ex) {
		rc = dup_find(c, val, vlen, exact);
		if (rc != HEED_NOTFOUND)
			return rc;
		rc = bt_next(c);
		if (rc == HEED_NOTFOUND) {
			c->ki[c->snum - 1]++;
			c->xon = XON_ONE;
			return 0;
		}
		if (rc)
			return rc;
	}
	return dup_edge(c, 0);
}

/* Add the page counts of value tree after minus before to c's db. */
static void account(heed_cursor *c, const struct dbrec *before, const struct dbrec *after)
{
	struct dbrec *db = &c->txn->dbs[c->dbi];

	db->branch_pages += after->branch_pages - before->branch_pages;
	db->leaf_pages += after->leaf_pages - before->leaf_pages;
	db->overflow_pages += after->overflow_pages - before->overflow_pages;
}

/* Store the values of key as data of node flags nflags (N_DUP: c->xdb's
 * tree; N_DUPS: a list; 0: one value), c's db counting delta more. */
static int store(heed_cursor *c, const heed_val *key, heed_val *data, unsigned int nflags,
		 int64_t delta)
{
	int rc = bt_put(c, key, data, 0, nflags);

	if (!rc)
		c->txn->dbs[c->dbi].entries += (uint64_t)delta;
	return rc;
}

static int store_tree(heed_cursor *c, const heed_val *key, int64_t delta)
{
	heed_val d = {sizeof(c->xdb), &c->xdb};

	return store(c, key, &d, N_DUP, delta);
}

/* The values of the list in buf (len bytes) as a new value tree. */
static int list_to_tree(heed_cursor *c, const unsigned char *buf, uint32_t len)
{
	heed_val none = {0, NULL}, v;
	struct dbrec before = {0};
	uint32_t off;
	int rc = 0;

	memset(&c->xdb, 0, sizeof(c->xdb));
	cursor_init_values(c->xc, c->txn, c->dbi, &c->xdb);
	for (off = 0; off < len && !rc; off += 2u + (uint32_t)v.size) {
		v.size = rd16(buf + off);
		v.data = (void *)(buf + off + 2);
		rc = bt_put(c->xc, &v, &none, 0, 0);
	}
	if (!rc)
		account(c, &before, &c->xdb);
	return rc;
}

int dup_put(heed_cursor *c, const heed_val *key, heed_val *data, unsigned int flags)
{
	unsigned char kbuf[MAX_KEYSIZE], lbuf[LIST_BUF];
	heed_val none = {0, NULL}, v, k = {key->size, kbuf}, l = {0, lbuf};
	struct dbrec before;
	unsigned int i, n;
	uint32_t len = 0;
	int rc, exact, added = 0;

	if (flags & HEED_APPEND) {
		if (c->cmp && !order_size_ok(cur_db(c)->flags, 0, key->size))
			return HEED_BAD_VALSIZE; /* as bt_seek would */
		rc = bt_last(c);
		if (rc && rc != HEED_NOTFOUND)
			return rc;
		if (!rc) {
			unsigned char *nd;

			rc = cur_node(c, &nd);
			if (rc)
				return rc;
			if (heed_ordcmp(c->cmp, node_key(nd), node_ksize(nd), key->data,
					key->size) > 0)
				return HEED_KEYEXIST;
		}
	}
	rc = bt_seek(c, key->data, key->size, &exact);
	if (rc && rc != HEED_NOTFOUND)
		return rc;
	if (!exact)
		return bt_put(c, key, data, 0, 0);
	if (flags & HEED_NOOVERWRITE) {
		rc = dup_edge(c, 0);
		if (!rc)
			rc = dup_value(c, data);
		return rc ? rc : HEED_KEYEXIST;
	}
	memcpy(kbuf, key->data, key->size);
	if (c->txn->dbs[c->dbi].flags & HEED_DUPFIXED) {
		/* Every value of the key has the size of its first. */
		rc = dup_edge(c, 0);
		if (!rc)
			rc = dup_value(c, &v);
		if (rc)
			return rc;
		if (v.size != data->size)
			return HEED_BAD_VALSIZE;
	}
	rc = dup_load(c);
	if (rc)
		return rc;
	if (c->xon == XON_TREE) {
		before = c->xdb;
		/* APPENDDUP is the tree's APPEND: after its last key, else
		 * HEED_KEYEXIST. */
		rc = bt_put(c->xc, data, &none,
			    (flags & HEED_APPENDDUP) ? HEED_APPEND : HEED_NOOVERWRITE, 0);
		if (rc == HEED_KEYEXIST)
			return (flags & (HEED_NODUPDATA | HEED_APPENDDUP)) ? HEED_KEYEXIST : 0;
		if (rc)
			return rc;
		account(c, &before, &c->xdb);
		return store_tree(c, &k, 1);
	}
	/* One value or a list: the list with data in its place, in lbuf. */
	n = c->xon == XON_LIST ? c->xn : 1;
	for (i = 0; i < n; i++) {
		c->xidx = i;
		rc = dup_value(c, &v);
		if (rc)
			return rc;
		if (v.size == 0 || v.size > MAX_KEYSIZE)
			return HEED_CORRUPTED;
		rc = heed_ordcmp(db_cmp(c->txn->env, c->dbi, 1), data->data, data->size, v.data,
				 v.size);
		if (rc == 0 || (rc < 0 && (flags & HEED_APPENDDUP)))
			return (flags & (HEED_NODUPDATA | HEED_APPENDDUP)) ? HEED_KEYEXIST : 0;
		if (rc < 0 && !added) {
			list_add(lbuf, &len, data);
			added = 1;
		}
		if (len + 2u + v.size > sizeof(lbuf))
			return HEED_CORRUPTED;
		list_add(lbuf, &len, &v);
	}
	if (!added)
		list_add(lbuf, &len, data);
	l.size = len;
	if (len <= DUP_LIST_MAX(c->txn->env->psize))
		return store(c, &k, &l, N_DUPS, 1);
	rc = list_to_tree(c, lbuf, len);
	return rc ? rc : store_tree(c, &k, 1);
}

int dup_del(heed_cursor *c, int all)
{
	unsigned char kbuf[MAX_KEYSIZE], lbuf[LIST_BUF], *n;
	struct dbrec before = c->xdb, none = {0};
	heed_val k = {0, kbuf}, v, l = {0, lbuf};
	uint32_t len = 0;
	unsigned int i, xidx = c->xidx;
	int rc;

	if (c->xon == XON_TREE && (all || c->xdb.entries < 2)) {
		rc = bt_drop_tree(c->txn, &c->xdb, 0);
		if (rc)
			return rc;
		account(c, &before, &none);
		c->txn->dbs[c->dbi].entries -= before.entries - 1;
		c->xon = XON_ONE;
	}
	if (c->xon == XON_LIST && all) {
		c->txn->dbs[c->dbi].entries -= c->xn - 1u;
		c->xon = XON_ONE;
	}
	if (c->xon == XON_ONE)
		return bt_del(c);
	rc = cur_node(c, &n);
	if (rc)
		return rc == HEED_NOTFOUND ? HEED_CORRUPTED : rc;
	k.size = node_ksize(n);
	memcpy(kbuf, node_key(n), k.size);
	if (c->xon == XON_LIST) {
		/* The others, copied: the node moves when it is rewritten. */
		for (i = 0; i < c->xn; i++) {
			if (i == xidx)
				continue;
			list_get(node_data(n), i, &v);
			list_add(lbuf, &len, &v);
		}
		l.size = len;
		if (c->xn > 2)
			return store(c, &k, &l, N_DUPS, -1);
		l.size = rd16(lbuf);
		l.data = lbuf + 2;
		return store(c, &k, &l, 0, -1);
	}
	rc = bt_del(c->xc);
	if (rc)
		return rc;
	account(c, &before, &c->xdb);
	return store_tree(c, &k, -1);
}
