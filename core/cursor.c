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
#include <limits.h>
#include <stdlib.h>

#define OP_PUT 100
#define OP_DEL 200

HEED_API int heed_cursor_open(heed_txn *txn, heed_dbi dbi, heed_cursor **cur)
{
	heed_cursor *c;
	int rc, dup, fixed;

	if (!cur)
		return EINVAL;
	*cur = NULL;
	rc = txn_use_db(txn, dbi, 0);
	if (rc)
		return probe_rc(rc);
	/* A DUPSORT db's cursor brings the one over its keys' values. */
	dup = (txn->dbs[dbi].flags & HEED_DUPSORT) != 0;
	fixed = (txn->dbs[dbi].flags & HEED_DUPFIXED) != 0;
	c = malloc(sizeof(*c) * (dup ? 2 : 1) + (fixed ? txn->env->psize : 0));
	if (!c)
		return ENOMEM;
	cursor_init(c, txn, dbi);
	c->xon = 0;
	c->dklen = 0;
	c->mbuf = fixed ? (unsigned char *)(c + 2) : NULL;
	c->mcount = 0;
	if (dup)
		c->xc = c + 1;
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
	    c->txn->state != TXN_ACTIVE || c->xc)
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

static int dcursor_get(heed_cursor *c, heed_val *key, heed_val *data, heed_cursor_op op);

/* A move op that failed with rc: after FIRST or LAST, or from no item, the
 * cursor is unset; else it stays on its item. Returns rc. */
static int move_failed(heed_cursor *c, heed_cursor_op op, int rc)
{
	if (op == HEED_FIRST || op == HEED_LAST || c->pos != CUR_ON) {
		c->pos = CUR_UNSET;
		c->snum = 0;
	}
	return rc;
}

static int cursor_get(heed_cursor *c, heed_val *key, heed_val *data, heed_cursor_op op)
{
	int rc, exact = 0, del;

	if (op == HEED_NEXT && !next_fast(c, key, data))
		return 0;
	if (c->xc)
		return dcursor_get(c, key, data, op);

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
	case HEED_FIRST_DUP:
	case HEED_LAST_DUP:
	case HEED_NEXT_DUP:
	case HEED_PREV_DUP:
	case HEED_NEXT_NODUP:
	case HEED_PREV_NODUP:
	case HEED_GET_BOTH:
	case HEED_GET_BOTH_RANGE:
	case HEED_GET_MULTIPLE:
	case HEED_NEXT_MULTIPLE:
	case HEED_PREV_MULTIPLE:
		return HEED_INCOMPATIBLE;
	case HEED_SET:
	case HEED_SET_KEY:
	case HEED_SET_RANGE:
		if (!key || !key->data || key->size == 0 || key->size > MAX_KEYSIZE)
			return key && key->data ? HEED_BAD_VALSIZE : EINVAL;
		if (!order_size_ok(cur_db(c)->flags, 0, key->size))
			return HEED_BAD_VALSIZE;
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
	if (rc)
		return move_failed(c, op, rc);
	c->after_del = 0;
	rc = current(c, key, data);
	if (!rc)
		rc = save_key(c);
	return rc;
}

HEED_API int heed_cursor_get(heed_cursor *cur, heed_val *key, heed_val *data, heed_cursor_op op)
{
	uint64_t t0 = op_begin(HEED_OP_CURSOR);
	unsigned int dbi;
	int rc, iop = (int)op;

	if (!cur)
		return op_end(OP_REC(HEED_OP_CURSOR, HEED_FN_CURSOR_GET), EINVAL, t0);
	dbi = cur->dbi;
	PROBE(CURSOR_START, dbi, iop);
	rc = cursor_get(cur, key, data, op);
	/* HEED_BAD_TXN: the txn is failed already, or has a child and must
	 * work again once it ends. */
	if (rc && rc != HEED_NOTFOUND && rc != EINVAL && rc != HEED_BAD_VALSIZE &&
	    rc != HEED_BAD_TXN && rc != HEED_INCOMPATIBLE)
		txn_fail(cur->txn, rc);
	PROBE(CURSOR_DONE, dbi, iop, rc);
	op_end(OP_REC(HEED_OP_CURSOR, HEED_FN_CURSOR_GET), rc, t0);
	return probe_rc(rc);
}

/* ---- DUPSORT dbs: a cursor stands on a (key, value) pair ---- */

/* Remember the key and the value under the cursor (write txns re-seek from
 * them). */
static int dsave(heed_cursor *c)
{
	heed_val v;
	int rc = save_key(c);

	if (rc || (c->txn->flags & HEED_RDONLY) || beyond_end(c))
		return rc;
	rc = dup_value(c, &v);
	if (rc)
		return rc;
	if (v.size > MAX_KEYSIZE)
		return HEED_CORRUPTED;
	c->vlen = (unsigned int)v.size;
	memcpy(c->vbuf, v.data, v.size);
	return 0;
}

/* restore() for a pair: the first pair at or after the saved one. */
static int drestore(heed_cursor *c)
{
	int rc, exact, del = c->after_del;

	if (c->pos != CUR_ON || c->mod == c->txn->mod)
		return 0;
	rc = dup_seek(c, c->kbuf, c->klen, c->vbuf, c->vlen, &exact);
	if (rc == HEED_NOTFOUND) {
		c->pos = CUR_UNSET;
		c->snum = 0;
		return 0;
	}
	if (rc)
		return rc;
	c->pos = CUR_ON;
	if (!exact) {
		c->after_del = 1;
		c->dklen = 0;
		return dsave(c);
	}
	c->after_del = del;
	c->mod = c->txn->mod;
	return 0;
}

static int dcurrent(heed_cursor *c, heed_val *key, heed_val *data)
{
	heed_val k;
	int rc;

	rc = current(c, &k, NULL);
	if (!rc && data)
		rc = dup_value(c, data);
	if (!rc && key)
		*key = k;
	return rc;
}

/* Move to the next (prev 0) or previous key's first (last) value. */
static int dstep_key(heed_cursor *c, int prev)
{
	int rc = prev ? bt_prev(c) : bt_next(c);

	return rc ? rc : dup_edge(c, prev);
}

/* Pack the key's values from the cursor's on into c->mbuf, as many as fit
 * in a page and at most max; the cursor ends on the last one packed. */
static int pack_values(heed_cursor *c, heed_val *data, unsigned int max)
{
	unsigned int psize = c->txn->env->psize;
	size_t used = 0, each = 0;
	heed_val v;
	int rc;

	c->mcount = 0;
	for (;;) {
		rc = dup_value(c, &v);
		if (rc)
			return rc;
		if (!each)
			each = v.size;
		if (v.size != each)
			return HEED_CORRUPTED; /* DUPFIXED: every value one size */
		memcpy(c->mbuf + used, v.data, v.size);
		used += v.size;
		c->mcount++;
		if (used + each > psize || c->mcount == max)
			break;
		rc = dup_step(c, 0);
		if (rc == HEED_NOTFOUND)
			break;
		if (rc)
			return rc;
	}
	data->data = c->mbuf;
	data->size = used;
	return 0;
}

/* PREV_MULTIPLE: back over skip values (the last chunk) to the value
 * before them, then to the first of the page of values ending there, and
 * those values (only: near the key's first value they are fewer than a
 * page, and packing on would return the last chunk's again). When there is
 * none before, the cursor stays where it stood: HEED_NOTFOUND. */
static int prev_chunk(heed_cursor *c, unsigned int skip, heed_val *data)
{
	unsigned int psize = c->txn->env->psize, i, j, n = 0;
	size_t used = 0;
	heed_val v;
	int rc;

	for (i = 0; i < skip; i++) {
		rc = dup_step(c, 1);
		if (rc) {
			for (j = 0; j < i && rc == HEED_NOTFOUND; j++)
				if (dup_step(c, 0))
					return HEED_CORRUPTED;
			return rc;
		}
	}
	for (;;) {
		rc = dup_value(c, &v);
		if (rc)
			return rc;
		used += v.size;
		n++;
		if (used + v.size > psize)
			break;
		rc = dup_step(c, 1);
		if (rc == HEED_NOTFOUND)
			break;
		if (rc)
			return rc;
	}
	return pack_values(c, data, n);
}

/* NEXT or NEXT_DUP to the next value in the current leaf of the key's
 * value tree, in an unchanged txn: a scan of a key's values without the
 * general path's calls. 1 when it did not apply (nothing moved), else the
 * op's result. */
static int dnext_fast(heed_cursor *c, heed_val *key, heed_val *data)
{
	heed_cursor *x = c->xc;
	unsigned int top, i;
	unsigned char *n;
	void *p;

	if (c->pos != CUR_ON || c->after_del || c->dklen || c->xon != XON_TREE ||
	    c->mod != c->txn->mod || c->txn->state != TXN_ACTIVE || !x->snum)
		return 1;
	top = x->snum - 1;
	p = x->pg[top];
	i = x->ki[top] + 1;
	if (i >= page_hdr(p)->nkeys || node_check(p, i, c->txn->env->psize))
		return 1;
	n = page_node(p, i);
	if (node_flags(n) || node_ksize(n) > MAX_KEYSIZE)
		return 1;
	/* Values put in random order lie in random order in the leaf: as
	 * next_fast, fetch the node two ahead. */
	if (i + 2 < page_hdr(p)->nkeys)
		__builtin_prefetch((char *)p + slot_off(page_slots(p)[i + 2]));
	if (key) {
		/* The key's node, where the cursor stands (not beyond the end:
		 * it is on one of the node's values). */
		void *kp = c->pg[c->snum - 1];

		if (node_check(kp, c->ki[c->snum - 1], c->txn->env->psize))
			return 1;
		key->data = node_key(page_node(kp, c->ki[c->snum - 1]));
		key->size = node_ksize(page_node(kp, c->ki[c->snum - 1]));
	}
	x->ki[top] = i;
	c->mcount = 0;
	if (data) {
		data->data = node_key(n);
		data->size = node_ksize(n);
	}
	/* A read txn's cursor never re-seeks: nothing to save. */
	return (c->txn->flags & HEED_RDONLY) ? 0 : dsave(c);
}

static int dcursor_get(heed_cursor *c, heed_val *key, heed_val *data, heed_cursor_op op)
{
	int rc, exact = 0, del, prev;
	unsigned int dk, skip;

	if (op == HEED_NEXT || op == HEED_NEXT_DUP) {
		rc = dnext_fast(c, key, data);
		if (rc != 1)
			return rc;
	}

	rc = txn_check(c->txn, 0);
	if (!rc)
		rc = drestore(c);
	if (rc)
		return rc;
	del = c->after_del;
	if (c->dklen && c->pos == CUR_ON &&
	    (op == HEED_PREV_DUP || op == HEED_PREV_NODUP || op == HEED_FIRST_DUP ||
	     op == HEED_LAST_DUP)) {
		/* Back on the key whose last value went: PREV_DUP and
		 * LAST_DUP give its (new) last value, FIRST_DUP its first. */
		rc = bt_seek(c, c->dkbuf, c->dklen, &exact);
		if (!rc && !exact)
			rc = HEED_CORRUPTED;
		if (!rc)
			rc = dup_edge(c, op != HEED_FIRST_DUP);
		if (rc)
			return rc;
		c->dklen = 0;
		c->after_del = del = 0;
		if (op == HEED_PREV_DUP || op == HEED_LAST_DUP) {
			if (op == HEED_LAST_DUP) {
				rc = dup_value(c, data);
				return rc ? rc : dsave(c);
			}
			rc = dcurrent(c, key, data);
			return rc ? rc : dsave(c);
		}
	}
	/* Any move leaves the key a cursor_del emptied the end of; GET_CURRENT
	 * and a move that fails where the cursor stands do not. */
	dk = c->dklen;
	if (op != HEED_GET_CURRENT)
		c->dklen = 0;
	if (op != HEED_GET_MULTIPLE && op != HEED_NEXT_MULTIPLE && op != HEED_PREV_MULTIPLE &&
	    op != HEED_GET_CURRENT)
		c->mcount = 0;
	switch (op) {
	case HEED_FIRST:
	case HEED_LAST:
		rc = op == HEED_LAST ? bt_last(c) : bt_first(c);
		if (!rc)
			rc = dup_edge(c, op == HEED_LAST);
		break;
	case HEED_NEXT:
	case HEED_PREV:
	case HEED_NEXT_DUP:
	case HEED_PREV_DUP:
	case HEED_NEXT_NODUP:
	case HEED_PREV_NODUP:
		prev = op == HEED_PREV || op == HEED_PREV_DUP || op == HEED_PREV_NODUP;
		if (c->pos != CUR_ON) {
			rc = prev ? bt_last(c) : bt_first(c);
			if (!rc)
				rc = dup_edge(c, prev);
		} else if (del && !prev) {
			rc = beyond_end(c) || op == HEED_NEXT_DUP ? HEED_NOTFOUND : 0;
		} else if (op == HEED_NEXT_NODUP || op == HEED_PREV_NODUP) {
			rc = dstep_key(c, prev);
		} else {
			rc = dup_step(c, prev);
			if (rc == HEED_NOTFOUND && (op == HEED_NEXT || op == HEED_PREV))
				rc = dstep_key(c, prev);
		}
		break;
	case HEED_FIRST_DUP:
	case HEED_LAST_DUP:
		if (!data || c->pos != CUR_ON)
			return EINVAL;
		if (beyond_end(c))
			return HEED_NOTFOUND;
		rc = dup_edge(c, op == HEED_LAST_DUP);
		if (!rc)
			rc = dup_value(c, data);
		if (!rc && !c->xon && key)
			rc = current(c, key, NULL);
		if (!rc) {
			c->after_del = 0;
			rc = dsave(c);
		}
		return rc;
	case HEED_GET_CURRENT:
		if (c->pos != CUR_ON)
			return EINVAL;
		rc = dcurrent(c, key, data);
		if (!rc)
			c->after_del = 0;
		return rc;
	case HEED_GET_MULTIPLE:
	case HEED_NEXT_MULTIPLE:
	case HEED_PREV_MULTIPLE:
		if (!c->mbuf)
			return HEED_INCOMPATIBLE;
		if (!data || (op == HEED_GET_MULTIPLE && c->pos != CUR_ON))
			return EINVAL;
		skip = c->mcount;
		if (c->pos != CUR_ON) {
			rc = op == HEED_PREV_MULTIPLE ? bt_last(c) : bt_first(c);
			if (!rc)
				rc = dup_edge(c, op == HEED_PREV_MULTIPLE);
			if (rc) {
				c->pos = CUR_UNSET;
				c->snum = 0;
				return rc;
			}
			skip = 0;
		} else if (beyond_end(c) || (del && op == HEED_NEXT_MULTIPLE)) {
			return HEED_NOTFOUND;
		} else if (op == HEED_NEXT_MULTIPLE) {
			rc = dup_step(c, 0);
			if (rc)
				return rc;
		}
		if (op == HEED_PREV_MULTIPLE)
			rc = prev_chunk(c, skip, data);
		else
			rc = pack_values(c, data, UINT_MAX);
		if (rc)
			return rc;
		c->after_del = 0;
		if (key && op == HEED_NEXT_MULTIPLE)
			rc = current(c, key, NULL);
		return rc ? rc : dsave(c);
	case HEED_SET:
	case HEED_SET_KEY:
	case HEED_SET_RANGE:
	case HEED_GET_BOTH:
	case HEED_GET_BOTH_RANGE:
		if (!key || !key->data || key->size == 0 || key->size > MAX_KEYSIZE)
			return key && key->data ? HEED_BAD_VALSIZE : EINVAL;
		if ((op == HEED_GET_BOTH || op == HEED_GET_BOTH_RANGE) &&
		    (!data || (data->size && !data->data)))
			return EINVAL;
		if (!order_size_ok(cur_db(c)->flags, 0, key->size) ||
		    ((op == HEED_GET_BOTH || op == HEED_GET_BOTH_RANGE) &&
		     !order_size_ok(cur_db(c)->flags, 1, data->size)))
			return HEED_BAD_VALSIZE;
		rc = bt_seek(c, key->data, key->size, &exact);
		if (!rc && op == HEED_SET_RANGE)
			rc = fix_end(c);
		if (!rc && op == HEED_SET_RANGE && beyond_end(c)) {
			c->after_del = 1;
			c->dklen = 0;
			c->klen = (unsigned int)key->size;
			memcpy(c->kbuf, key->data, key->size);
			c->vlen = 0;
			c->xon = 0;
			c->mod = c->txn->mod;
			return HEED_NOTFOUND;
		}
		if (!rc && op != HEED_SET_RANGE && !exact)
			rc = HEED_NOTFOUND;
		if (!rc && (op == HEED_GET_BOTH || op == HEED_GET_BOTH_RANGE)) {
			rc = dup_find(c, data->data, data->size, &exact);
			if (!rc && op == HEED_GET_BOTH && !exact)
				rc = HEED_NOTFOUND;
		} else if (!rc) {
			rc = dup_edge(c, 0);
		}
		if (rc) {
			c->pos = CUR_UNSET;
			c->snum = 0;
			return rc;
		}
		c->after_del = 0;
		rc = dcurrent(c, op == HEED_SET_KEY || op == HEED_SET_RANGE ? key : NULL, data);
		if (!rc)
			rc = dsave(c);
		return rc;
	default:
		return EINVAL;
	}
	if (rc == HEED_NOTFOUND && c->pos == CUR_ON && op != HEED_FIRST && op != HEED_LAST) {
		c->after_del = 0;
		c->dklen = dk;
		return rc;
	}
	if (rc)
		return move_failed(c, op, rc);
	c->after_del = 0;
	rc = dcurrent(c, key, data);
	if (!rc)
		rc = dsave(c);
	return rc;
}

static int dput_one(heed_cursor *c, const heed_val *key, heed_val *data, unsigned int flags)
{
	int rc, rc2, exact;

	if (data->size == 0 || data->size > MAX_KEYSIZE ||
	    !order_size_ok(cur_db(c)->flags, 1, data->size))
		return HEED_BAD_VALSIZE;
	if (flags & HEED_CURRENT) {
		heed_val k, v;

		rc = drestore(c);
		if (rc)
			return rc;
		if (c->pos != CUR_ON || c->after_del)
			return EINVAL;
		rc = dcurrent(c, &k, &v);
		if (rc)
			return rc == HEED_NOTFOUND ? EINVAL : rc;
		/* A value keeps its place in the order: only an equal one. */
		if (heed_ordcmp(c->cmp, k.data, k.size, key->data, key->size) ||
		    heed_ordcmp(db_cmp(c->txn->env, c->dbi, 1), v.data, v.size, data->data,
				data->size))
			return EINVAL;
		return 0;
	}
	rc = dup_put(c, key, data, flags);
	if (rc && rc != HEED_KEYEXIST) {
		c->pos = CUR_UNSET;
		c->snum = 0;
		return rc == HEED_BAD_VALSIZE ? rc : txn_fail(c->txn, rc);
	}
	rc2 = dup_seek(c, key->data, key->size, data->data, data->size, &exact);
	if (rc2 || !exact) {
		c->pos = CUR_UNSET;
		c->snum = 0;
		return rc2 ? txn_fail(c->txn, rc2) : rc;
	}
	c->pos = CUR_ON;
	c->after_del = 0;
	c->dklen = 0;
	rc2 = dsave(c);
	return rc2 ? txn_fail(c->txn, rc2) : rc;
}

/* A put through a DUPSORT cursor; HEED_MULTIPLE: data[0] holds one value's
 * size and the packed values, data[1] their count in, the count stored out. */
static int dcursor_put(heed_cursor *c, const heed_val *key, heed_val *data, unsigned int flags)
{
	size_t i, n, each;
	heed_val v;
	int rc = 0;

	if (!(flags & HEED_MULTIPLE))
		return dput_one(c, key, data, flags);
	if (!c->mbuf || (flags & HEED_CURRENT))
		return c->mbuf ? EINVAL : HEED_INCOMPATIBLE;
	n = data[1].size;
	each = data[0].size;
	if (n && !data[0].data)
		return EINVAL;
	data[1].size = 0;
	for (i = 0; i < n && !rc; i++) {
		v.size = each;
		v.data = (char *)data[0].data + i * each;
		rc = dput_one(c, key, &v, flags & ~(unsigned int)HEED_MULTIPLE);
		if (!rc)
			data[1].size = i + 1;
	}
	return rc;
}

static int dcursor_del(heed_cursor *c, unsigned int flags)
{
	unsigned char dk[MAX_KEYSIZE];
	unsigned int dklen;
	size_t before;
	heed_val k;
	int rc, exact;

	if (flags & ~(unsigned int)HEED_NODUPDATA)
		return EINVAL;
	rc = drestore(c);
	if (rc)
		return rc;
	if (c->pos != CUR_ON)
		return EINVAL;
	if (c->dklen && (flags & HEED_NODUPDATA)) {
		/* Still on the key whose last value went: the rest of it. */
		rc = bt_seek(c, c->dkbuf, c->dklen, &exact);
		if (!rc && !exact)
			rc = HEED_CORRUPTED;
		if (!rc)
			rc = dup_load(c);
		if (rc)
			return txn_fail(c->txn, rc);
		c->klen = c->dklen;
		memcpy(c->kbuf, c->dkbuf, c->dklen);
		c->vlen = 0;
		c->after_del = 0;
	}
	if (c->after_del || beyond_end(c))
		return HEED_NOTFOUND;
	rc = dcurrent(c, &k, NULL);
	if (!rc)
		rc = dup_count(c, &before);
	if (rc)
		return txn_fail(c->txn, rc);
	dklen = (unsigned int)k.size;
	memcpy(dk, k.data, dklen);
	if (flags & HEED_NODUPDATA)
		before = 1;
	rc = dup_del(c, (flags & HEED_NODUPDATA) != 0);
	if (rc)
		return txn_fail(c->txn, rc);
	rc = dup_seek(c, c->kbuf, c->klen, c->vbuf, c->vlen, &exact);
	if (rc == HEED_NOTFOUND) {
		c->pos = CUR_UNSET;
		c->snum = 0;
		return 0;
	}
	if (rc)
		return txn_fail(c->txn, rc);
	c->pos = CUR_ON;
	c->after_del = 1;
	c->dklen = 0;
	/* The key keeps values, all before the deleted one: the cursor is
	 * past them, on the next key, yet still "on" this one for the _DUP
	 * and backward _NODUP moves (dklen). */
	if (before > 1 && (beyond_end(c) || (!(rc = dcurrent(c, &k, NULL)) &&
					     heed_ordcmp(c->cmp, k.data, k.size, dk, dklen)))) {
		c->dklen = dklen;
		memcpy(c->dkbuf, dk, dklen);
	}
	if (!rc)
		rc = dsave(c);
	return rc ? txn_fail(c->txn, rc) : 0;
}

HEED_API int heed_cursor_count(heed_cursor *cur, size_t *count)
{
	int rc;

	if (!cur || !count)
		return EINVAL;
	rc = txn_check(cur->txn, 0);
	if (rc)
		return rc;
	if (!cur->xc)
		return HEED_INCOMPATIBLE;
	rc = drestore(cur);
	if (rc)
		return probe_rc(txn_fail(cur->txn, rc));
	if (cur->pos != CUR_ON)
		return EINVAL;
	if (cur->dklen) {
		/* Still on the key whose last value went (cursor_del). */
		heed_cursor t, tx;
		int exact;

		cursor_init(&t, cur->txn, cur->dbi);
		t.xc = &tx;
		t.dklen = 0;
		rc = bt_seek(&t, cur->dkbuf, cur->dklen, &exact);
		if (!rc && !exact)
			rc = HEED_CORRUPTED;
		if (!rc)
			rc = dup_load(&t);
		return rc ? probe_rc(txn_fail(cur->txn, rc)) : dup_count(&t, count);
	}
	if (beyond_end(cur))
		return HEED_NOTFOUND;
	return dup_count(cur, count);
}

static int cursor_put(heed_cursor *c, const heed_val *key, heed_val *data, unsigned int flags)
{
	int rc, rc2, exact;

	rc = txn_check(c->txn, 1);
	if (rc)
		return rc;
	if (!key || !data || !key->data || (data->size && !data->data && !(flags & HEED_RESERVE)) ||
	    (flags & ~(HEED_NOOVERWRITE | HEED_CURRENT | HEED_APPEND | HEED_NODUPDATA |
		       HEED_APPENDDUP | HEED_MULTIPLE | HEED_RESERVE)))
		return EINVAL;
	if (key->size == 0 || key->size > MAX_KEYSIZE || data->size > UINT32_MAX ||
	    !order_size_ok(cur_db(c)->flags, 0, key->size))
		return HEED_BAD_VALSIZE;
	if (c->xc)
		return flags & HEED_RESERVE ? EINVAL : dcursor_put(c, key, data, flags);
	if (flags & (HEED_NODUPDATA | HEED_APPENDDUP | HEED_MULTIPLE))
		return EINVAL;
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
		if (heed_ordcmp(c->cmp, k.data, k.size, key->data, key->size))
			return EINVAL;
		flags &= ~(unsigned int)(HEED_CURRENT | HEED_NOOVERWRITE);
	}
	rc = (flags & HEED_RESERVE) ? bt_put_reserve(c, key, data, flags)
				    : bt_put(c, key, data, flags, 0);
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
	uint64_t t0 = op_begin(HEED_OP_CURSOR);
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
	if (c->xc)
		return dcursor_del(c, flags);
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
	uint64_t t0 = op_begin(HEED_OP_CURSOR);
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
