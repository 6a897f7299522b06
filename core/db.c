/*
 * db.c - databases (dbi handles, stat, drop) and the point operations
 * heed_get, heed_put, heed_del.
 *
 * The main db (dbi 0) is a B+tree like any other; a named db is a node of
 * the main db whose key is its name and whose value (flag N_DBREC) is its
 * 48-byte record. A txn reads a named db's record the first time it uses
 * the dbi. Creating a db stores its (empty) record at once, so the main db
 * holds the name from then on (a put of that key is refused); later changes
 * of the record are written back at commit, or before the main db is
 * dropped (that drop frees the trees the records name).
 *
 * A dbi slot closed by a commit (drop with del 1) or an abort may be given
 * to another db while an older txn still holds state for it: env->dbseq
 * counts the names a slot had, and a txn whose state is of another count
 * does not use it (txn_db).
 */
#include "internal.h"
#include "probes.h"
#include "search.h"

#include <errno.h>
#include <stdlib.h>

static int key_ok(const heed_val *key)
{
	if (!key || !key->data)
		return EINVAL;
	if (key->size == 0 || key->size > MAX_KEYSIZE)
		return HEED_BAD_VALSIZE;
	return 0;
}

static int get(heed_txn *txn, heed_dbi dbi, const heed_val *key, heed_val *data)
{
	heed_cmp_func *cmp;
	unsigned char *node;
	int rc;

	rc = txn_check(txn, 0);
	if (!rc)
		rc = key_ok(key);
	if (!rc && !data)
		rc = EINVAL;
	if (!rc)
		rc = txn_db(txn, dbi);
	if (rc)
		return rc;
	/* Only a db in another order than bytewise has sizes to check. */
	cmp = db_cmp(txn->env, dbi, 0);
	if (!cmp)
		rc = bt_get(txn, dbi, key->data, key->size, &node);
	else if (!order_size_ok(txn->dbs[dbi].flags, 0, key->size))
		return HEED_BAD_VALSIZE;
	else
		rc = bt_get_cmp(txn, dbi, cmp, key->data, key->size, &node);
	if (!rc)
		rc = bt_node_value(txn, node, data); /* a DUPSORT key's first value */
	return txn_fail(txn, rc);
}

HEED_API int heed_get(heed_txn *txn, heed_dbi dbi, const heed_val *key, heed_val *data)
{
	uint64_t t0 = op_begin(HEED_OP_GET);
	unsigned long long ks = key ? key->size : 0, ds;
	int rc;

	PROBE(GET_START, dbi, ks);
	rc = get(txn, dbi, key, data);
	ds = rc ? 0 : data->size;
	PROBE(GET_DONE, dbi, rc, ds);
	op_end(OP_REC(HEED_OP_GET, HEED_FN_GET), rc, t0);
	return probe_rc(rc);
}

static int put(heed_txn *txn, heed_dbi dbi, const heed_val *key, heed_val *data, unsigned int flags)
{
	heed_cursor c, x;
	int rc, dup = 0;

	rc = txn_check(txn, 1);
	if (!rc)
		rc = key_ok(key);
	if (!rc)
		rc = txn_db(txn, dbi);
	if (!rc)
		dup = (txn->dbs[dbi].flags & HEED_DUPSORT) != 0;
	if (!rc &&
	    (!data || (data->size && !data->data && !(flags & HEED_RESERVE)) ||
	     (flags & ~(unsigned int)(HEED_NOOVERWRITE | HEED_APPEND |
				      (dup ? HEED_NODUPDATA | HEED_APPENDDUP : HEED_RESERVE)))))
		rc = EINVAL;
	/* An INTEGERKEY key's size: bt_seek (and the APPEND paths) check it. */
	if (!rc && (data->size > UINT32_MAX ||
		    (dup && (!data->size || data->size > MAX_KEYSIZE ||
			     !order_size_ok(txn->dbs[dbi].flags, 1, data->size)))))
		rc = HEED_BAD_VALSIZE;
	if (rc)
		return rc;
	cursor_init(&c, txn, dbi);
	if (dup) {
		c.xc = &x;
		rc = dup_put(&c, key, data, flags);
	} else {
		rc = (flags & HEED_RESERVE) ? bt_put_reserve(&c, key, data, flags)
					    : bt_put(&c, key, data, flags, 0);
	}
	/* HEED_BAD_VALSIZE: a DUPFIXED value of another size, refused before
	 * anything changed. */
	return rc == HEED_INCOMPATIBLE || rc == HEED_BAD_VALSIZE ? rc : txn_fail(txn, rc);
}

HEED_API int heed_put(heed_txn *txn, heed_dbi dbi, const heed_val *key, heed_val *data,
		      unsigned int flags)
{
	uint64_t t0 = op_begin(HEED_OP_PUT);
	unsigned long long ks = key ? key->size : 0, ds = data ? data->size : 0;
	int rc;

	PROBE(PUT_START, dbi, ks, ds, flags);
	rc = put(txn, dbi, key, data, flags);
	PROBE(PUT_DONE, dbi, rc);
	op_end(OP_REC(HEED_OP_PUT, HEED_FN_PUT), rc, t0);
	return probe_rc(rc);
}

static int del(heed_txn *txn, heed_dbi dbi, const heed_val *key, const heed_val *data)
{
	heed_cursor c, x;
	int rc, exact;

	rc = txn_check(txn, 1);
	if (!rc)
		rc = key_ok(key);
	if (!rc)
		rc = txn_db(txn, dbi);
	if (!rc && data && (txn->dbs[dbi].flags & HEED_DUPSORT) &&
	    !order_size_ok(txn->dbs[dbi].flags, 1, data->size))
		rc = HEED_BAD_VALSIZE;
	if (rc)
		return rc;
	cursor_init(&c, txn, dbi);
	/* bt_seek: HEED_BAD_VALSIZE for an INTEGERKEY key of another size. */
	rc = bt_seek(&c, key->data, key->size, &exact);
	if (!rc && !exact)
		rc = HEED_NOTFOUND;
	if (rc)
		return rc == HEED_BAD_VALSIZE ? rc : txn_fail(txn, rc);
	if (node_flags(page_node(c.pg[c.snum - 1], c.ki[c.snum - 1])) & N_DBREC)
		return HEED_INCOMPATIBLE;
	if (!(txn->dbs[dbi].flags & HEED_DUPSORT))
		return txn_fail(txn, bt_del(&c));
	c.xc = &x;
	if (data) {
		if (data->size && !data->data)
			return EINVAL;
		rc = dup_find(&c, data->data, data->size, &exact);
		if (!rc && !exact)
			rc = HEED_NOTFOUND;
	} else {
		rc = dup_load(&c);
	}
	if (!rc)
		rc = dup_del(&c, data == NULL);
	return rc == HEED_NOTFOUND ? rc : txn_fail(txn, rc);
}

HEED_API int heed_del(heed_txn *txn, heed_dbi dbi, const heed_val *key, const heed_val *data)
{
	uint64_t t0 = op_begin(HEED_OP_DEL);
	unsigned long long ks = key ? key->size : 0;
	int rc;

	PROBE(DEL_START, dbi, ks);
	rc = del(txn, dbi, key, data);
	PROBE(DEL_DONE, dbi, rc);
	op_end(OP_REC(HEED_OP_DEL, HEED_FN_DEL), rc, t0);
	return probe_rc(rc);
}

/* A free dbi slot of the env, or 0 when maxdbs are open. Under dbimutex. */
static unsigned int dbi_slot(heed_env *env)
{
	unsigned int i;

	for (i = 1; i < env->numdbs; i++)
		if (!(atomic_load(&env->dbflags[i]) & DBI_VALID))
			return i;
	if (env->numdbs < env->maxdbs + 1)
		return env->numdbs++;
	return 0;
}

/* Give slot i the orders its db's flags choose, where the user set none. A
 * reopened handle stores what it held: the flags of a name's db change only
 * when it is dropped and created anew. */
static void order_set(heed_env *env, heed_dbi i, unsigned int dbflags)
{
	unsigned char f;

	pthread_mutex_lock(&env->dbimutex);
	f = atomic_load(&env->dbflags[i]);
	if (!(f & DBI_UCMP))
		atomic_store_explicit(&env->cmps[0][i], heed_flag_order(dbflags, 0),
				      memory_order_relaxed);
	if (!(f & DBI_UDCMP))
		atomic_store_explicit(&env->cmps[1][i], heed_flag_order(dbflags, 1),
				      memory_order_relaxed);
	pthread_mutex_unlock(&env->dbimutex);
}

static int dbi_open(heed_txn *txn, const char *name, unsigned int flags, heed_dbi *dbi)
{
	heed_env *env = txn->env;
	size_t len;
	unsigned int i;
	unsigned char *node = NULL;
	int rc, found, stale;

	len = strlen(name);
	if (len == 0 || len > MAX_KEYSIZE)
		return HEED_BAD_VALSIZE;
	if ((flags & ~(unsigned int)(HEED_CREATE | DB_PERSISTENT)) ||
	    (!(flags & HEED_DUPSORT) &&
	     (flags & (HEED_DUPFIXED | HEED_INTEGERDUP | HEED_REVERSEDUP))))
		return EINVAL;
	pthread_mutex_lock(&env->dbimutex);
	for (i = 1; i < env->numdbs; i++) {
		if ((atomic_load(&env->dbflags[i]) & DBI_VALID) && !strcmp(env->dbnames[i], name))
			break;
	}
	found = i < env->numdbs;
	stale = found && txn->dbst[i] && txn->dbseq[i] != atomic_load(&env->dbseq[i]);
	pthread_mutex_unlock(&env->dbimutex);
	if (stale) {
		/* This txn's state of slot i is of a db closed since: a read
		 * txn forgets it and looks the name up in its own snapshot; a
		 * write txn may have changed that db and cannot. */
		if (!(txn->flags & HEED_RDONLY))
			return HEED_BAD_DBI;
		txn->dbst[i] = 0;
	}
	if (found && !(txn->dbst[i] & DB_DROPPED)) {
		rc = txn_db(txn, i);
		if (rc != HEED_BAD_DBI) {
			if (!rc) {
				order_set(env, i, txn->dbs[i].flags);
				*dbi = i;
			}
			return rc;
		}
	}
	rc = bt_get(txn, 0, name, len, &node);
	if (rc && rc != HEED_NOTFOUND)
		return rc;
	if (!rc && !(node_flags(node) & N_DBREC))
		return HEED_INCOMPATIBLE; /* the main db holds user data under that name */
	if (rc == HEED_NOTFOUND) {
		if (!(flags & HEED_CREATE))
			return HEED_NOTFOUND;
		if (txn->flags & HEED_RDONLY)
			return EACCES;
	}
	if (!found) {
		char *copy = strdup(name);

		if (!copy)
			return ENOMEM;
		pthread_mutex_lock(&env->dbimutex);
		i = dbi_slot(env);
		if (i) {
			env->dbnames[i] = copy;
			txn->dbseq[i] = atomic_fetch_add(&env->dbseq[i], 1) + 1;
			atomic_store(&env->dbflags[i], DBI_VALID);
		}
		pthread_mutex_unlock(&env->dbimutex);
		if (!i) {
			free(copy);
			return HEED_DBS_FULL;
		}
		txn->dbst[i] = DB_CREATED;
	}
	if (rc == HEED_NOTFOUND) {
		memset(&txn->dbs[i], 0, sizeof(txn->dbs[i]));
		txn->dbs[i].flags = flags & DB_PERSISTENT;
		txn->dbst[i] = (unsigned char)((txn->dbst[i] & DB_CREATED) | DB_LOADED | DB_DIRTY);
		rc = dbrec_put(txn, i);
		if (rc)
			return rc;
	} else {
		txn->dbst[i] &= (unsigned char)~DB_DROPPED;
		rc = txn_db(txn, i);
		if (rc)
			return rc;
	}
	order_set(env, i, txn->dbs[i].flags);
	*dbi = i;
	return 0;
}

HEED_API int heed_dbi_open(heed_txn *txn, const char *name, unsigned int flags, heed_dbi *dbi)
{
	int rc;

	if (!dbi)
		return EINVAL;
	rc = txn_check(txn, 0);
	if (rc)
		return rc;
	if (!name) {
		/* The main db holds the named dbs' records: no duplicates. */
		if (flags & DB_PERSISTENT)
			return EINVAL;
		*dbi = 0;
		return 0;
	}
	if (!txn->env->maxdbs)
		return HEED_DBS_FULL;
	rc = dbi_open(txn, name, flags, dbi);
	return probe_rc(rc == EINVAL || rc == HEED_NOTFOUND || rc == HEED_DBS_FULL ||
					rc == EACCES || rc == HEED_BAD_VALSIZE ||
					rc == HEED_INCOMPATIBLE || rc == HEED_BAD_DBI
				? rc
				: txn_fail(txn, rc));
}

static int set_order(heed_txn *txn, heed_dbi dbi, heed_cmp_func *cmp, int dup)
{
	unsigned char bit = dup ? DBI_UDCMP : DBI_UCMP;
	heed_env *env;
	int rc;

	rc = txn_use_db(txn, dbi, 0);
	if (rc)
		return probe_rc(rc);
	if (dbi == 0)
		return EINVAL;
	env = txn->env;
	pthread_mutex_lock(&env->dbimutex);
	if (cmp)
		atomic_fetch_or(&env->dbflags[dbi], bit);
	else
		atomic_fetch_and(&env->dbflags[dbi], (unsigned char)~bit);
	atomic_store_explicit(&env->cmps[dup][dbi],
			      cmp ? cmp : heed_flag_order(txn->dbs[dbi].flags, dup),
			      memory_order_relaxed);
	pthread_mutex_unlock(&env->dbimutex);
	return 0;
}

HEED_API int heed_set_compare(heed_txn *txn, heed_dbi dbi, heed_cmp_func *cmp)
{
	return set_order(txn, dbi, cmp, 0);
}

HEED_API int heed_set_dupsort(heed_txn *txn, heed_dbi dbi, heed_cmp_func *cmp)
{
	return set_order(txn, dbi, cmp, 1);
}

static int order_cmp(heed_txn *txn, heed_dbi dbi, int dup, const heed_val *a, const heed_val *b)
{
	heed_cmp_func *f = NULL;

	if (txn && dbi <= txn->env->maxdbs)
		f = db_cmp(txn->env, dbi, dup);
	return heed_ordcmp(f, a->data, a->size, b->data, b->size);
}

HEED_API int heed_cmp(heed_txn *txn, heed_dbi dbi, const heed_val *a, const heed_val *b)
{
	return order_cmp(txn, dbi, 0, a, b);
}

HEED_API int heed_dcmp(heed_txn *txn, heed_dbi dbi, const heed_val *a, const heed_val *b)
{
	return order_cmp(txn, dbi, 1, a, b);
}

HEED_API int heed_dbi_stat(heed_txn *txn, heed_dbi dbi, heed_stat *st)
{
	int rc;

	if (!st)
		return EINVAL;
	rc = txn_use_db(txn, dbi, 0);
	if (rc)
		return probe_rc(rc);
	dbrec_stat(&txn->dbs[dbi], txn->env->psize, st);
	return 0;
}

HEED_API int heed_dbi_flags(heed_txn *txn, heed_dbi dbi, unsigned int *flags)
{
	int rc;

	if (!flags)
		return EINVAL;
	rc = txn_use_db(txn, dbi, 0);
	if (rc)
		return probe_rc(rc);
	*flags = txn->dbs[dbi].flags;
	return 0;
}

HEED_API int heed_drop(heed_txn *txn, heed_dbi dbi, int del_db)
{
	heed_env *env;
	unsigned int i;
	int rc;

	rc = txn_use_db(txn, dbi, 1);
	if (!rc && del_db && dbi == 0)
		rc = EINVAL;
	if (rc)
		return probe_rc(rc);
	env = txn->env;
	/* The main db's records must name the trees as this txn has them. */
	rc = dbi == 0 ? dbrecs_store(txn) : 0;
	if (!rc)
		rc = bt_drop(txn, dbi);
	if (rc)
		return probe_rc(txn_fail(txn, rc));
	if (dbi == 0) {
		/* The named dbs' records went with the main tree. */
		pthread_mutex_lock(&env->dbimutex);
		for (i = 1; i < env->numdbs; i++) {
			if (!(atomic_load(&env->dbflags[i]) & DBI_VALID))
				continue;
			if (!txn->dbst[i])
				txn->dbseq[i] = atomic_load(&env->dbseq[i]);
			txn->dbst[i] |= DB_DROPPED;
		}
		pthread_mutex_unlock(&env->dbimutex);
		return 0;
	}
	if (del_db) {
		heed_cursor c;
		int exact;
		const char *name = env->dbnames[dbi];

		/* The record is in the main db since the db was created. */
		cursor_init(&c, txn, 0);
		rc = bt_seek(&c, name, strlen(name), &exact);
		if (rc == HEED_NOTFOUND || (!rc && !exact))
			rc = HEED_CORRUPTED;
		if (!rc)
			rc = bt_del(&c);
		if (rc)
			return probe_rc(txn_fail(txn, rc));
		txn->dbst[dbi] |= DB_DROPPED;
		txn->dbst[dbi] &= (unsigned char)~DB_DIRTY;
	}
	return 0;
}
