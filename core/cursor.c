/*
 * cursor.c - the public cursor API.
 *
 * A cursor keeps its path (page, index per level). In a write txn every
 * change bumps txn->mod; a cursor whose saved mod differs re-seeks from the
 * key it saved when it last moved (at most MAX_KEYSIZE bytes, kept in the
 * cursor: no allocation). So cursors stay consistent after puts and deletes
 * through other cursors or heed_put/heed_del: a cursor whose item was
 * deleted lands on the next item, which NEXT then returns (PREV returns the
 * one before the deleted item). Read txns never change, so their cursors
 * never re-seek.
 *
 * NEXT past the last item (PREV before the first) returns HEED_NOTFOUND and
 * leaves the cursor on the last (first) item, or where it stood. SET_RANGE
 * past the last key leaves it at the end (after_del set, its saved key the
 * one searched): PREV returns the last item.
 */
#include "internal.h"
#include "probes.h"
#include "search.h"

#include <errno.h>
#include <stdlib.h>

#define OP_PUT 100
#define OP_DEL 200

HEED_API int heed_cursor_open(heed_txn *txn, heed_dbi dbi, heed_cursor **cur)
{
	heed_cursor *c;
	int rc;

	if (!cur)
		return EINVAL;
	*cur = NULL;
	rc = txn_check(txn, 0);
	if (!rc)
		rc = txn_db(txn, dbi);
	if (rc)
		return probe_rc(rc);
	c = malloc(sizeof(*c));
	if (!c)
		return ENOMEM;
	cursor_init(c, txn, dbi);
	c->next = txn->cursors;
	txn->cursors = c;
	*cur = c;
	return 0;
}

HEED_API void heed_cursor_close(heed_cursor *cur)
{
	heed_cursor **pp;

	if (!cur)
		return;
	for (pp = &cur->txn->cursors; *pp; pp = &(*pp)->next) {
		if (*pp == cur) {
			*pp = cur->next;
			break;
		}
	}
	free(cur);
}

static int beyond_end(heed_cursor *c)
{
	return !c->snum || c->ki[c->snum - 1] >= page_hdr(c->pg[c->snum - 1])->nkeys;
}

/* After a seek to a lower bound that fell past the end of its leaf, move
 * to the first item of the next leaf (or stay past the end). */
static int fix_end(heed_cursor *c)
{
	unsigned int top;
	int rc;

	if (!c->snum || !beyond_end(c))
		return 0;
	top = c->snum - 1;
	if (!page_hdr(c->pg[top])->nkeys)
		return 0;
	c->ki[top] = page_hdr(c->pg[top])->nkeys - 1u;
	rc = bt_next(c);
	if (rc == HEED_NOTFOUND) {
		c->ki[top] = page_hdr(c->pg[top])->nkeys;
		return 0;
	}
	return rc;
}

/* Remember the key under the cursor (write txns re-seek from it). The node
 * comes from the file: HEED_CORRUPTED when it is out of bounds. */
static int save_key(heed_cursor *c)
{
	unsigned char *n;
	void *p;
	unsigned int i;

	c->mod = c->txn->mod;
	if ((c->txn->flags & HEED_RDONLY) || beyond_end(c))
		return 0;
	p = c->pg[c->snum - 1];
	i = c->ki[c->snum - 1];
	if (node_check(p, i, c->txn->env->psize) || node_ksize(page_node(p, i)) > MAX_KEYSIZE)
		return HEED_CORRUPTED;
	n = page_node(p, i);
	c->klen = node_ksize(n);
	memcpy(c->kbuf, node_key(n), c->klen);
	return 0;
}

/* Re-take the path if the txn changed since the cursor moved. A cursor
 * left on the item after a deleted one stays so (its saved key is that
 * item's): a write elsewhere must not change what NEXT returns. */
static int restore(heed_cursor *c)
{
	int rc, exact, del = c->after_del;

	if (c->pos != CUR_ON || c->mod == c->txn->mod)
		return 0;
	rc = bt_seek(c, c->kbuf, c->klen, &exact);
	if (rc == HEED_NOTFOUND) {
		c->pos = CUR_UNSET;
		return 0;
	}
	if (rc)
		return rc;
	rc = fix_end(c);
	if (rc)
		return rc;
	if (!exact) {
		c->after_del = 1;
		return save_key(c);
	}
	c->after_del = del;
	return 0;
}

static int current(heed_cursor *c, heed_val *key, heed_val *data)
{
	unsigned char *n;
	int rc;

	if (beyond_end(c))
		return HEED_NOTFOUND;
	if (node_check(c->pg[c->snum - 1], c->ki[c->snum - 1], c->txn->env->psize))
		return HEED_CORRUPTED;
	n = page_node(c->pg[c->snum - 1], c->ki[c->snum - 1]);
	if (data) {
		rc = bt_node_value(c->txn, n, data);
		if (rc)
			return rc;
	}
	if (key) {
		key->data = node_key(n);
		key->size = node_ksize(n);
	}
	return 0;
}

/* NEXT within the current leaf of an unchanged txn: the common step of a
 * scan, without the general path's calls. 1 when it did not apply. */
static inline int next_fast(heed_cursor *c, heed_val *key, heed_val *data)
{
	unsigned int top = c->snum - 1, i, psize;
	unsigned char *n;
	void *p;

	if (c->pos != CUR_ON || c->after_del || c->mod != c->txn->mod ||
	    c->txn->state != TXN_ACTIVE)
		return 1;
	p = c->pg[top];
	i = c->ki[top] + 1;
	if (i >= page_hdr(p)->nkeys)
		return 1;
	psize = c->txn->env->psize;
	if (node_check(p, i, psize))
		return 1;
	n = page_node(p, i);
	if ((node_flags(n) & N_BIG) || node_ksize(n) > MAX_KEYSIZE)
		return 1;
	/* Nodes lie in insertion order, not key order: the hardware does not
	 * see a scan's next node coming. Two ahead hides most of the miss
	 * (readseq +20%, bench/README.md). */
	if (i + 2 < page_hdr(p)->nkeys)
		__builtin_prefetch((char *)p + slot_off(page_slots(p)[i + 2]));
	c->ki[top] = i;
	if (data) {
		data->data = node_data(n);
		data->size = node_dsize(n);
	}
	if (key) {
		key->data = node_key(n);
		key->size = node_ksize(n);
	}
	return save_key(c); /* cannot fail: the node was checked */
}

static int cursor_get(heed_cursor *c, heed_val *key, heed_val *data, heed_cursor_op op)
{
	int rc, exact = 0, del;

	if (op == HEED_NEXT && !next_fast(c, key, data))
		return 0;

	rc = txn_check(c->txn, 0);
	if (rc)
		return rc;
	rc = restore(c);
	if (rc)
		return rc;
	del = c->after_del;
	switch (op) {
	case HEED_FIRST:
		rc = bt_first(c);
		break;
	case HEED_LAST:
		rc = bt_last(c);
		break;
	case HEED_NEXT:
		if (c->pos != CUR_ON) {
			rc = bt_first(c);
		} else if (del) {
			rc = beyond_end(c) ? HEED_NOTFOUND : 0;
		} else {
			rc = bt_next(c);
		}
		break;
	case HEED_PREV:
		if (c->pos != CUR_ON)
			rc = bt_last(c);
		else
			rc = bt_prev(c);
		break;
	case HEED_GET_CURRENT:
		if (c->pos != CUR_ON)
			return EINVAL;
		/* The item after a deleted one, once returned, is current. */
		rc = current(c, key, data);
		if (!rc)
			c->after_del = 0;
		return rc;
	case HEED_SET:
	case HEED_SET_KEY:
	case HEED_SET_RANGE:
		if (!key || !key->data || key->size == 0 || key->size > MAX_KEYSIZE)
			return key && key->data ? HEED_BAD_VALSIZE : EINVAL;
		rc = bt_seek(c, key->data, key->size, &exact);
		if (!rc && op == HEED_SET_RANGE)
			rc = fix_end(c);
		if (!rc && op == HEED_SET_RANGE && beyond_end(c)) {
			/* Past the last key the cursor stays at the end, before
			 * where the key would go (LMDB's too): PREV returns the
			 * last item, NEXT and GET_CURRENT HEED_NOTFOUND. */
			c->after_del = 1;
			c->klen = (unsigned int)key->size;
			memcpy(c->kbuf, key->data, key->size);
			c->mod = c->txn->mod;
			return HEED_NOTFOUND;
		}
		if (!rc && op != HEED_SET_RANGE && !exact)
			rc = HEED_NOTFOUND;
		if (rc) {
			c->pos = CUR_UNSET;
			c->snum = 0;
			return rc;
		}
		rc = current(c, op == HEED_SET ? NULL : key, data);
		if (!rc)
			rc = save_key(c);
		return rc;
	default:
		return EINVAL;
	}
	if (rc == HEED_NOTFOUND && (op == HEED_NEXT || op == HEED_PREV) && c->pos == CUR_ON) {
		/* It stays where it is, which is now its current item: NEXT
		 * after a failed PREV on the item after a deleted one moves
		 * on from that item, as in LMDB. */
		c->after_del = 0;
		return rc;
	}
	if (rc) {
		if (op == HEED_FIRST || op == HEED_LAST || c->pos != CUR_ON) {
			c->pos = CUR_UNSET;
			c->snum = 0;
		}
		return rc;
	}
	c->after_del = 0;
	rc = current(c, key, data);
	if (!rc)
		rc = save_key(c);
	return rc;
}

HEED_API int heed_cursor_get(heed_cursor *cur, heed_val *key, heed_val *data, heed_cursor_op op)
{
	uint64_t t0 = op_begin();
	unsigned int dbi;
	int rc, iop = (int)op;

	if (!cur)
		return op_end(OP_REC(HEED_OP_CURSOR, HEED_FN_CURSOR_GET), EINVAL, t0);
	dbi = cur->dbi;
	PROBE(CURSOR_START, dbi, iop);
	rc = cursor_get(cur, key, data, op);
	if (rc && rc != HEED_NOTFOUND && rc != EINVAL && rc != HEED_BAD_VALSIZE)
		txn_fail(cur->txn, rc);
	PROBE(CURSOR_DONE, dbi, iop, rc);
	op_end(OP_REC(HEED_OP_CURSOR, HEED_FN_CURSOR_GET), rc, t0);
	return probe_rc(rc);
}

static int cursor_put(heed_cursor *c, const heed_val *key, heed_val *data, unsigned int flags)
{
	int rc, rc2, exact;

	rc = txn_check(c->txn, 1);
	if (rc)
		return rc;
	if (!key || !data || !key->data || (data->size && !data->data) ||
	    (flags & ~(HEED_NOOVERWRITE | HEED_CURRENT | HEED_APPEND)))
		return EINVAL;
	if (key->size == 0 || key->size > MAX_KEYSIZE || data->size > UINT32_MAX)
		return HEED_BAD_VALSIZE;
	if (flags & HEED_CURRENT) {
		heed_val k;

		rc = restore(c);
		if (rc)
			return rc;
		if (c->pos != CUR_ON || c->after_del)
			return EINVAL;
		rc = current(c, &k, NULL);
		if (rc)
			return rc == HEED_NOTFOUND ? EINVAL : rc;
		if (heed_keycmp(k.data, k.size, key->data, key->size))
			return EINVAL;
		flags &= ~(unsigned int)(HEED_CURRENT | HEED_NOOVERWRITE);
	}
	rc = bt_put(c, key, data, flags, 0);
	if (rc && rc != HEED_KEYEXIST) {
		c->pos = CUR_UNSET;
		c->snum = 0;
		return rc == HEED_INCOMPATIBLE ? rc : txn_fail(c->txn, rc);
	}
	rc2 = bt_seek(c, key->data, key->size, &exact);
	if (rc2 || !exact) {
		c->pos = CUR_UNSET;
		c->snum = 0;
		return rc2 ? txn_fail(c->txn, rc2) : rc;
	}
	rc2 = save_key(c);
	return rc2 ? txn_fail(c->txn, rc2) : rc;
}

HEED_API int heed_cursor_put(heed_cursor *cur, const heed_val *key, heed_val *data,
			     unsigned int flags)
{
	uint64_t t0 = op_begin();
	unsigned int dbi;
	int rc, iop = OP_PUT + (int)(flags & 1);

	if (!cur)
		return op_end(OP_REC(HEED_OP_CURSOR, HEED_FN_CURSOR_PUT), EINVAL, t0);
	dbi = cur->dbi;
	PROBE(CURSOR_START, dbi, iop);
	rc = cursor_put(cur, key, data, flags);
	PROBE(CURSOR_DONE, dbi, iop, rc);
	op_end(OP_REC(HEED_OP_CURSOR, HEED_FN_CURSOR_PUT), rc, t0);
	return probe_rc(rc);
}

static int cursor_del(heed_cursor *c, unsigned int flags)
{
	int rc, exact;

	rc = txn_check(c->txn, 1);
	if (rc)
		return rc;
	if (flags)
		return EINVAL;
	rc = restore(c);
	if (rc)
		return rc;
	if (c->pos != CUR_ON)
		return EINVAL;
	if (c->after_del || beyond_end(c))
		return HEED_NOTFOUND;
	if (node_check(c->pg[c->snum - 1], c->ki[c->snum - 1], c->txn->env->psize))
		return txn_fail(c->txn, HEED_CORRUPTED);
	if (node_flags(page_node(c->pg[c->snum - 1], c->ki[c->snum - 1])) & N_DBREC)
		return HEED_INCOMPATIBLE;
	rc = bt_del(c);
	if (rc)
		return txn_fail(c->txn, rc);
	rc = bt_seek(c, c->kbuf, c->klen, &exact);
	if (rc == HEED_NOTFOUND) {
		c->pos = CUR_UNSET;
		return 0;
	}
	if (!rc)
		rc = fix_end(c);
	if (rc)
		return txn_fail(c->txn, rc);
	c->after_del = 1;
	rc = save_key(c);
	return rc ? txn_fail(c->txn, rc) : 0;
}

HEED_API int heed_cursor_del(heed_cursor *cur, unsigned int flags)
{
	uint64_t t0 = op_begin();
	unsigned int dbi;
	int rc, iop = OP_DEL;

	if (!cur)
		return op_end(OP_REC(HEED_OP_CURSOR, HEED_FN_CURSOR_DEL), EINVAL, t0);
	dbi = cur->dbi;
	PROBE(CURSOR_START, dbi, iop);
	rc = cursor_del(cur, flags);
	PROBE(CURSOR_DONE, dbi, iop, rc);
	op_end(OP_REC(HEED_OP_CURSOR, HEED_FN_CURSOR_DEL), rc, t0);
	return probe_rc(rc);
}
