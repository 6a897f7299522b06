/*
 * dup.c - the values of a DUPSORT db's keys.
 *
 * A key of a DUPSORT db holds a sorted set of values (memcmp order, the
 * shorter first on a tie, as keys). One value is stored as a plain node;
 * from the second on, the values are the keys of a tree of their own (its
 * nodes carry no data), and the key's node (flag N_DUP) holds that tree's
 * 48-byte record (page.h). A million values of one key are thus a tree of
 * pages like any db, never one huge node. The db's record counts every
 * value in `entries` and the pages of every value tree in its page counts.
 *
 * A cursor on such a db (c->xc set) stands on a key and, when the key's
 * values are a tree, on one of them through c->xc (c->xon). Changes to a
 * value tree go through a cursor on a copy of its record (c->xdb), which is
 * then stored back into the key's node.
 */
#include "internal.h"
#include "search.h"

#include <errno.h>
#include <string.h>

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

int dup_load(heed_cursor *c)
{
	unsigned char *n;
	struct dbrec *r = &c->xdb;
	int rc;

	c->xon = 0;
	rc = cur_node(c, &n);
	if (rc)
		return rc == HEED_NOTFOUND ? 0 : rc;
	if (node_flags(n) & (N_BIG | N_DBREC))
		return HEED_CORRUPTED;
	if (!(node_flags(n) & N_DUP))
		return 0;
	if (node_dsize(n) != sizeof(*r))
		return HEED_CORRUPTED;
	memcpy(r, node_data(n), sizeof(*r));
	if (!r->root || !r->depth || r->root >= c->txn->next_pgno || r->depth > MAX_DEPTH ||
	    r->entries < 1)
		return HEED_CORRUPTED;
	cursor_init(c->xc, c->txn, c->dbi);
	c->xc->db = r;
	c->xon = 1;
	return 0;
}

int dup_edge(heed_cursor *c, int last)
{
	int rc = dup_load(c);

	if (rc || !c->xon)
		return rc;
	rc = last ? bt_last(c->xc) : bt_first(c->xc);
	return rc == HEED_NOTFOUND ? HEED_CORRUPTED : rc;
}

int dup_step(heed_cursor *c, int prev)
{
	if (!c->xon)
		return HEED_NOTFOUND;
	return prev ? bt_prev(c->xc) : bt_next(c->xc);
}

int dup_value(heed_cursor *c, heed_val *data)
{
	unsigned char *n;
	int rc;

	if (c->xon) {
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
	return bt_node_value(c->txn, n, data);
}

int dup_count(heed_cursor *c, size_t *count)
{
	*count = c->xon ? (size_t)c->xdb.entries : 1;
	return 0;
}

int dup_find(heed_cursor *c, const void *val, size_t vlen, int *exact)
{
	heed_val v;
	int rc;

	*exact = 0;
	rc = dup_load(c);
	if (rc)
		return rc;
	if (c->xon) {
		rc = bt_seek(c->xc, val, vlen, exact);
		if (rc)
			return rc == HEED_NOTFOUND ? HEED_CORRUPTED : rc;
		return leaf_fix(c->xc);
	}
	rc = dup_value(c, &v);
	if (rc)
		return rc;
	rc = heed_keycmp(val, vlen, v.data, v.size);
	if (rc > 0)
		return HEED_NOTFOUND;
	*exact = rc == 0;
	return 0;
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
			c->xon = 0;
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

/* Store c->xdb as the values of key (c's db record counted one more value
 * by delta). */
static int store_tree(heed_cursor *c, const heed_val *key, int64_t delta)
{
	heed_val d = {sizeof(c->xdb), &c->xdb};
	int rc = bt_put(c, key, &d, 0, N_DUP);

	if (!rc)
		c->txn->dbs[c->dbi].entries += (uint64_t)delta;
	return rc;
}

int dup_put(heed_cursor *c, const heed_val *key, heed_val *data, unsigned int flags)
{
	unsigned char vbuf[MAX_KEYSIZE], kbuf[MAX_KEYSIZE];
	heed_val none = {0, NULL}, old, k = {key->size, kbuf};
	struct dbrec before;
	int rc, exact;

	if (flags & HEED_APPEND) {
		rc = bt_last(c);
		if (rc && rc != HEED_NOTFOUND)
			return rc;
		if (!rc) {
			unsigned char *n;

			rc = cur_node(c, &n);
			if (rc)
				return rc;
			if (heed_keycmp(node_key(n), node_ksize(n), key->data, key->size) > 0)
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
	rc = dup_load(c);
	if (rc)
		return rc;
	if (c->xon) {
		before = c->xdb;
		rc = bt_put(c->xc, data, &none, HEED_NOOVERWRITE, 0);
		if (rc == HEED_KEYEXIST)
			return (flags & HEED_NODUPDATA) ? HEED_KEYEXIST : 0;
		if (rc)
			return rc;
		account(c, &before, &c->xdb);
		return store_tree(c, &k, 1);
	}
	rc = dup_value(c, &old);
	if (rc)
		return rc;
	if (!heed_keycmp(data->data, data->size, old.data, old.size))
		return (flags & HEED_NODUPDATA) ? HEED_KEYEXIST : 0;
	if (old.size == 0 || old.size > MAX_KEYSIZE)
		return HEED_CORRUPTED;
	memcpy(vbuf, old.data, old.size);
	old.data = vbuf;
	memset(&c->xdb, 0, sizeof(c->xdb));
	memset(&before, 0, sizeof(before));
	cursor_init(c->xc, c->txn, c->dbi);
	c->xc->db = &c->xdb;
	rc = bt_put(c->xc, &old, &none, 0, 0);
	if (!rc)
		rc = bt_put(c->xc, data, &none, 0, 0);
	if (rc)
		return rc;
	account(c, &before, &c->xdb);
	return store_tree(c, &k, 1);
}

int dup_del(heed_cursor *c, int all)
{
	unsigned char kbuf[MAX_KEYSIZE], *n;
	struct dbrec before = c->xdb, none = {0};
	heed_val k = {0, kbuf};
	int rc;

	if (c->xon && (all || c->xdb.entries < 2)) {
		rc = bt_drop_tree(c->txn, &c->xdb, 0);
		if (rc)
			return rc;
		account(c, &before, &none);
		c->txn->dbs[c->dbi].entries -= before.entries - 1;
		c->xon = 0;
	}
	if (!c->xon)
		return bt_del(c);
	rc = cur_node(c, &n);
	if (rc)
		return rc == HEED_NOTFOUND ? HEED_CORRUPTED : rc;
	k.size = node_ksize(n);
	memcpy(kbuf, node_key(n), k.size);
	rc = bt_del(c->xc);
	if (rc)
		return rc;
	account(c, &before, &c->xdb);
	return store_tree(c, &k, -1);
}
