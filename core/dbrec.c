/*
 * dbrec.c - the records of named dbs in the main db, as a txn sees them:
 * loaded the first time the txn uses the dbi (txn_db), stored back when
 * changed (dbrecs_store: commit, and before the main db is dropped), and
 * read as a heed_stat (dbrec_stat). db.c says how records and dbi slots
 * work.
 */
#include "internal.h"
#include "search.h"

#include <stdatomic.h>
#include <string.h>

int txn_db(heed_txn *txn, heed_dbi dbi)
{
	heed_env *env = txn->env;
	unsigned char *node;
	int rc;

	if (dbi >= env->numdbs || !(atomic_load(&env->dbflags[dbi]) & DBI_VALID))
		return HEED_BAD_DBI;
	if (txn->dbst[dbi]) {
		/* The slot was closed and given to another db since. */
		if (txn->dbseq[dbi] != atomic_load_explicit(&env->dbseq[dbi], memory_order_relaxed))
			return HEED_BAD_DBI;
		if (txn->dbst[dbi] & DB_DROPPED)
			return HEED_BAD_DBI;
		if (txn->dbst[dbi] & DB_LOADED)
			return 0;
	} else {
		txn->dbseq[dbi] = atomic_load(&env->dbseq[dbi]);
	}
	rc = bt_get(txn, 0, env->dbnames[dbi], strlen(env->dbnames[dbi]), &node);
	if (rc == HEED_NOTFOUND)
		return HEED_BAD_DBI;
	if (rc)
		return rc;
	if (!(node_flags(node) & N_DBREC) || node_dsize(node) != sizeof(struct dbrec))
		return HEED_BAD_DBI;
	memcpy(&txn->dbs[dbi], node_data(node), sizeof(struct dbrec));
	if (txn->dbs[dbi].root >= txn->next_pgno || txn->dbs[dbi].depth > MAX_DEPTH ||
	    !dbflags_ok(txn->dbs[dbi].flags) ||
	    (txn->dbs[dbi].root == 0) != (txn->dbs[dbi].depth == 0))
		return HEED_CORRUPTED;
	txn->dbst[dbi] |= DB_LOADED;
	return 0;
}

heed_cmp_func *dbrec_order(heed_env *env, const void *name, size_t nlen, unsigned int dbflags,
			   int dup)
{
	heed_cmp_func *f = heed_flag_order(dbflags, dup);
	unsigned char bit = dup ? DBI_UDCMP : DBI_UCMP;
	unsigned int i;

	pthread_mutex_lock(&env->dbimutex);
	for (i = 1; i < env->numdbs; i++) {
		unsigned char fl = atomic_load(&env->dbflags[i]);

		if ((fl & DBI_VALID) && (fl & bit) && strlen(env->dbnames[i]) == nlen &&
		    !memcmp(env->dbnames[i], name, nlen))
			f = db_cmp(env, i, dup);
	}
	pthread_mutex_unlock(&env->dbimutex);
	return f;
}

/* Store db i's record (txn->dbs[i]) in the main db under its name. */
int dbrec_put(heed_txn *txn, heed_dbi i)
{
	heed_env *env = txn->env;
	heed_cursor c;
	heed_val k, d;

	k.data = env->dbnames[i];
	k.size = strlen(env->dbnames[i]);
	d.data = &txn->dbs[i];
	d.size = sizeof(struct dbrec);
	cursor_init(&c, txn, 0);
	return bt_put(&c, &k, &d, 0, N_DBREC);
}

int dbrecs_store(heed_txn *txn)
{
	heed_env *env = txn->env;
	unsigned int i;
	int rc;

	for (i = 1; i < env->numdbs; i++) {
		if ((txn->dbst[i] & (DB_DIRTY | DB_DROPPED)) != DB_DIRTY)
			continue;
		if (txn->dbseq[i] != atomic_load(&env->dbseq[i]))
			return HEED_BAD_DBI;
		rc = dbrec_put(txn, i);
		if (rc)
			return rc;
		txn->dbst[i] &= (unsigned char)~DB_DIRTY;
	}
	return 0;
}

void dbrec_stat(const struct dbrec *db, unsigned int psize, heed_stat *st)
{
	st->psize = psize;
	st->depth = db->depth;
	st->branch_pages = (size_t)db->branch_pages;
	st->leaf_pages = (size_t)db->leaf_pages;
	st->overflow_pages = (size_t)db->overflow_pages;
	st->entries = (size_t)db->entries;
}
