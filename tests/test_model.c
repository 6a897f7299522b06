/*
 * test_model.c - model-based randomized test of libheed through core/heed.h.
 *
 * A write txn runs 100..1000 random operations (put plain, RESERVE,
 * NOOVERWRITE and APPEND; del; get; cursor walks from FIRST/LAST/SET/SET_KEY/SET_RANGE
 * forward or backward; cursor put plain and CURRENT; cursor del), each
 * checked against an in-memory model: one sorted array of entries per
 * database. The txn then commits (85%) or aborts; after every commit every
 * database is compared whole with its model by a cursor scan in both
 * directions plus its entry count. Inside a txn, nested txns begin and end
 * at random depths (up to MAXDEPTH): the model's undo log has a mark per
 * level, a child's abort undoes back to its mark, its commit keeps the
 * entries for the parent (a stack of states), and the parent is compared
 * whole from inside after one in 16 of them; the top txn's end ends the
 * children still open. Every ~25 commits the env is closed and
 * reopened (configured with another page size, which the file overrides)
 * and compared again. Named databases are created, emptied (drop 0, may be
 * aborted) and deleted (drop 1) now and then.
 *
 * Keys are 1..maxkeysize bytes, values 0..3 pages (overflow pages); the db
 * is kept near TARGET keys so every commit can be compared in full. The
 * main database also holds one record per named database (its name as the
 * key; the value is libheed's own), which the model tracks by key only.
 *
 * Two of the named dbs are HEED_DUPSORT, one of them HEED_DUPFIXED: their
 * model is the sorted array of (key, value) pairs, a key's sorted set of
 * values being its run of pairs. On them: puts with every flag
 * (NOOVERWRITE, NODUPDATA, APPENDDUP, APPEND; a DUPFIXED value of another
 * size: HEED_BAD_VALSIZE), through heed_put or a cursor, and HEED_MULTIPLE
 * on the DUPFIXED one; heed_del of a key, of a value, of a missing one;
 * GET_BOTH and GET_BOTH_RANGE; runs of FIRST_DUP, LAST_DUP, NEXT_DUP,
 * PREV_DUP, NEXT_NODUP, PREV_NODUP, NEXT, PREV, GET_CURRENT and (DUPFIXED)
 * GET_MULTIPLE, NEXT_MULTIPLE, PREV_MULTIPLE, with heed_cursor_count; cursor
 * put CURRENT and cursor del (NODUPDATA too), and where the cursor then
 * stands. A few hot keys collect hundreds of values (multi-page value
 * trees). Their full compares add a NEXT_NODUP walk with each key's count.
 *
 * Two tests, 4 KiB and 16 KiB pages, run OPS operations each (HEED_MODEL_OPS
 * overrides); the seed prints and HEED_SEED replays it. HEED_MODEL_TRACE=1
 * prints every operation (number, db, kind, key and value sizes) to stderr,
 * for turning a failing seed into a minimal reproduction.
 */
#include "common.h"

#define NDB	 5 /* the main db, two plain named ones, a DUPSORT and a DUPFIXED one */
#define TARGET	 800
#define OPS	 500000
#define MAXDBS	 6
#define NOTHING	 ((size_t)-1)
#define MAXDEPTH 4 /* nested txns below a top one */

static const char *const db_names[NDB] = {NULL, "~model-db-1", "~model-db-2", "~model-dups",
					  "~model-fixed"};
static const unsigned int db_flags[NDB] = {0, 0, 0, HEED_DUPSORT, HEED_DUPSORT | HEED_DUPFIXED};

struct ent {
	size_t klen, vlen;
	int dbrec; /* main db only: a named db's record, value not modelled */
	unsigned char *k, *v;
};

/* A db's model: its items sorted; in a DUPSORT db an item is a (key,
 * value) pair, sorted by key then value, and a key's items are its values. */
struct mdb {
	struct ent **a;
	size_t n, cap;
	unsigned int flags; /* db_flags */
	int exists;
	heed_dbi dbi;
	int handle; /* 0 none, 1 opened in the running txn, 2 valid */
};

enum undo_kind { U_SET, U_DROP, U_CREATE };

struct undo {
	enum undo_kind kind;
	int db;
	struct ent *old, *new; /* U_SET: new NULL for a delete, old NULL for an insert */
	struct ent **arr;      /* U_DROP: the dropped array */
	size_t n, cap;
};

struct model {
	struct rng rng;
	unsigned int psize;
	int maxks;
	char dir[256];
	heed_env *env;
	struct mdb db[NDB];
	struct undo *log;
	size_t nlog, caplog;
	unsigned char *kbuf, *vbuf; /* scratch for generated keys and values */
	unsigned long ops, commits, aborts, reopens, compares, nested, nested_aborts;
};

static struct model M;
static size_t marks[MAXDEPTH + 1]; /* M.nlog when each nested txn began */
static int tracing;

static void trace(const char *what, int db, size_t klen, size_t vlen)
{
	if (tracing)
		fprintf(stderr, "op %lu db %d %s klen %zu vlen %zu (db size %zu)\n", M.ops, db,
			what, klen, vlen, M.db[db].n);
}

static int keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Index of the first entry >= key; *found set when equal. */
static size_t lower_bound(struct mdb *d, const void *k, size_t klen, int *found)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (keycmp(d->a[mid]->k, d->a[mid]->klen, k, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < d->n && keycmp(d->a[lo]->k, d->a[lo]->klen, k, klen) == 0;
	return lo;
}

static int is_dup(const struct mdb *d)
{
	return (d->flags & HEED_DUPSORT) != 0;
}

/* Index of the first pair >= (k, v) of a DUPSORT db; *found when equal. */
static size_t pair_bound(struct mdb *d, const void *k, size_t klen, const void *v, size_t vlen,
			 int *found)
{
	size_t lo = 0, hi = d->n;
	int c = 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct ent *e = d->a[mid];

		c = keycmp(e->k, e->klen, k, klen);
		if (!c)
			c = keycmp(e->v, e->vlen, v, vlen);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < d->n && keycmp(d->a[lo]->k, d->a[lo]->klen, k, klen) == 0 &&
		 keycmp(d->a[lo]->v, d->a[lo]->vlen, v, vlen) == 0;
	return lo;
}

/* Where e's item is or belongs: by key, or by pair in a DUPSORT db. */
static size_t ent_bound(struct mdb *d, const struct ent *e, int *found)
{
	return is_dup(d) ? pair_bound(d, e->k, e->klen, e->v, e->vlen, found)
			 : lower_bound(d, e->k, e->klen, found);
}

static int same_key(const struct ent *a, const struct ent *b)
{
	return keycmp(a->k, a->klen, b->k, b->klen) == 0;
}

/* The first (last 0) or last (last 1) item of the key of item pos: pos
 * itself in a plain db. */
static size_t key_edge(struct mdb *d, size_t pos, int last)
{
	if (last)
		while (pos + 1 < d->n && same_key(d->a[pos + 1], d->a[pos]))
			pos++;
	else
		while (pos > 0 && same_key(d->a[pos - 1], d->a[pos]))
			pos--;
	return pos;
}

static struct ent *ent_new(const void *k, size_t klen, const void *v, size_t vlen, int dbrec)
{
	struct ent *e = malloc(sizeof(*e) + klen + vlen);

	cr_assert_not_null(e, "out of memory for the model");
	e->klen = klen;
	e->vlen = vlen;
	e->dbrec = dbrec;
	e->k = (unsigned char *)(e + 1);
	e->v = e->k + klen;
	memcpy(e->k, k, klen);
	if (vlen)
		memcpy(e->v, v, vlen);
	return e;
}

static void log_push(struct undo u)
{
	if (M.nlog == M.caplog) {
		M.caplog = M.caplog ? 2 * M.caplog : 1024;
		M.log = realloc(M.log, M.caplog * sizeof(*M.log));
		cr_assert_not_null(M.log);
	}
	M.log[M.nlog++] = u;
}

static void arr_insert(struct mdb *d, size_t pos, struct ent *e)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 256;
		d->a = realloc(d->a, d->cap * sizeof(struct ent *));
		cr_assert_not_null(d->a);
	}
	memmove(d->a + pos + 1, d->a + pos, (d->n - pos) * sizeof(struct ent *));
	d->a[pos] = e;
	d->n++;
}

static void arr_remove(struct mdb *d, size_t pos)
{
	memmove(d->a + pos, d->a + pos + 1, (d->n - pos - 1) * sizeof(struct ent *));
	d->n--;
}

static void model_set(int db, const void *k, size_t klen, const void *v, size_t vlen, int dbrec)
{
	struct mdb *d = &M.db[db];
	struct ent *e = ent_new(k, klen, v, vlen, dbrec);
	int found;
	size_t pos = lower_bound(d, k, klen, &found);
	struct undo u = {.kind = U_SET, .db = db, .new = e};

	if (is_dup(d)) {
		/* A value the key holds already: nothing changes. */
		pos = pair_bound(d, k, klen, v, vlen, &found);
		if (found) {
			free(e);
			return;
		}
		arr_insert(d, pos, e);
		log_push(u);
		return;
	}
	if (found) {
		u.old = d->a[pos];
		d->a[pos] = e;
	} else {
		arr_insert(d, pos, e);
	}
	log_push(u);
}

static void model_del(int db, size_t pos)
{
	struct mdb *d = &M.db[db];
	struct undo u = {.kind = U_SET, .db = db, .old = d->a[pos]};

	arr_remove(d, pos);
	log_push(u);
}

static void model_drop(int db, int del)
{
	struct mdb *d = &M.db[db];
	struct undo u = {.kind = U_DROP, .db = db, .arr = d->a, .n = d->n, .cap = d->cap};

	log_push(u);
	d->a = NULL;
	d->n = d->cap = 0;
	if (del) {
		d->exists = 0;
		d->handle = 0;
	}
}

static void free_arr(struct ent **a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(a[i]);
	free(a);
}

static void model_commit(void)
{
	size_t i;
	int db;

	for (i = 0; i < M.nlog; i++) {
		if (M.log[i].kind == U_SET)
			free(M.log[i].old);
		else if (M.log[i].kind == U_DROP)
			free_arr(M.log[i].arr, M.log[i].n);
	}
	M.nlog = 0;
	for (db = 0; db < NDB; db++)
		if (M.db[db].handle == 1)
			M.db[db].handle = 2;
}

/* Undo the log back to mark: the state a nested txn began from. */
static void model_undo_to(size_t mark)
{
	int found;
	size_t pos;

	while (M.nlog > mark) {
		struct undo *u = &M.log[--M.nlog];
		struct mdb *d = &M.db[u->db];

		if (u->kind == U_SET && u->new) {
			pos = ent_bound(d, u->new, &found);
			cr_assert(found && d->a[pos] == u->new, "model undo lost an entry");
			if (u->old)
				d->a[pos] = u->old;
			else
				arr_remove(d, pos);
			free(u->new);
		} else if (u->kind == U_SET) {
			pos = ent_bound(d, u->old, &found);
			cr_assert(!found, "model undo of a delete finds the key present");
			arr_insert(d, pos, u->old);
		} else if (u->kind == U_DROP) {
			cr_assert_eq(d->n, 0, "model undo of a drop finds new entries");
			free(d->a);
			d->a = u->arr;
			d->n = u->n;
			d->cap = u->cap;
			d->exists = 1;
		} else {
			d->exists = 0;
		}
	}
}

static void model_abort(void)
{
	int db;

	model_undo_to(0);
	/* Handles opened in an aborted txn are closed. */
	for (db = 0; db < NDB; db++)
		if (M.db[db].handle == 1)
			M.db[db].handle = 0;
}

static size_t gen_key(void)
{
	uint64_t p = rng_below(&M.rng, 100);
	size_t len;

	if (p < 60)
		len = rng_range(&M.rng, 1, 8);
	else if (p < 90)
		len = rng_range(&M.rng, 9, 64);
	else
		len = rng_range(&M.rng, 65, (uint64_t)M.maxks);
	rng_fill(&M.rng, M.kbuf, len);
	/* Short keys from a small alphabet collide often: more replaces. */
	if (len <= 2) {
		size_t i;

		for (i = 0; i < len; i++)
			M.kbuf[i] = (unsigned char)('a' + M.kbuf[i] % 8);
	}
	/* Never a named db's name: the main db reserves those keys. */
	if (M.kbuf[0] == '~')
		M.kbuf[0] = '}';
	return len;
}

static size_t gen_val(void)
{
	uint64_t p = rng_below(&M.rng, 100);
	size_t len;

	if (p < 70)
		len = rng_below(&M.rng, 33);
	else if (p < 90)
		len = rng_below(&M.rng, M.psize + 1);
	else
		len = rng_range(&M.rng, M.psize, 3 * (uint64_t)M.psize);
	rng_fill(&M.rng, M.vbuf, len);
	return len;
}

static void assert_same_val(const struct ent *e, const heed_val *v, const char *what)
{
	if (e->dbrec)
		return;
	cr_assert_eq(v->size, e->vlen, "%s: value of %zu bytes, model has %zu (op %lu)", what,
		     v->size, e->vlen, M.ops);
	cr_assert(e->vlen == 0 || memcmp(v->data, e->v, e->vlen) == 0,
		  "%s: value bytes differ from the model (op %lu)", what, M.ops);
}

static void assert_same_item(const struct ent *e, const heed_val *k, const heed_val *v,
			     const char *what)
{
	cr_assert(keycmp(k->data, k->size, e->k, e->klen) == 0,
		  "%s: key of %zu bytes differs from the model's (%zu bytes) (op %lu)", what,
		  k->size, e->klen, M.ops);
	assert_same_val(e, v, what);
}

/* A database to operate on: an existing one with a handle. */
static int pick_db(void)
{
	int db = (int)rng_below(&M.rng, NDB);

	if (!M.db[db].exists || !M.db[db].handle)
		db = 0;
	return db;
}

/* An existing key (not a db record) or NOTHING. */
static size_t pick_existing(struct mdb *d)
{
	size_t pos;

	if (!d->n)
		return NOTHING;
	pos = rng_below(&M.rng, d->n);
	return d->a[pos]->dbrec ? NOTHING : pos;
}

static void op_put(heed_txn *txn, int db)
{
	struct mdb *d = &M.db[db];
	size_t klen, vlen, pos;
	heed_val key, val;
	int found;
	uint64_t p = rng_below(&M.rng, 100);
	unsigned int flags = p < 70 ? 0 : p < 85 ? HEED_NOOVERWRITE : HEED_APPEND;
	struct ent *hit;

	pos = rng_below(&M.rng, 2) ? pick_existing(d) : NOTHING;
	if (pos != NOTHING) {
		klen = d->a[pos]->klen;
		memcpy(M.kbuf, d->a[pos]->k, klen);
	} else {
		klen = gen_key();
	}
	if (flags == HEED_APPEND && d->n && rng_below(&M.rng, 4)) {
		/* A key after the last: the last key grown by one byte, or with
		 * its last byte below 0xff raised when it is already maximal. */
		struct ent *last = d->a[d->n - 1];

		klen = last->klen;
		memcpy(M.kbuf, last->k, klen);
		if (klen < (size_t)M.maxks) {
			M.kbuf[klen++] = (unsigned char)rng_next(&M.rng);
		} else {
			while (klen && M.kbuf[klen - 1] == 0xff)
				klen--;
			if (!klen)
				return;
			M.kbuf[klen - 1]++;
		}
	}
	vlen = gen_val();
	key = hv(M.kbuf, klen);
	val = hv(M.vbuf, vlen);
	pos = lower_bound(d, M.kbuf, klen, &found);
	hit = found ? d->a[pos] : NULL;
	if (hit && hit->dbrec)
		return;
	trace(flags == HEED_NOOVERWRITE ? "put NOOVERWRITE"
	      : flags == HEED_APPEND	? "put APPEND"
					: "put",
	      db, klen, vlen);
	if (flags == HEED_NOOVERWRITE && hit) {
		HEED_RC(heed_put(txn, d->dbi, &key, &val, flags), HEED_KEYEXIST);
		assert_same_val(hit, &val, "NOOVERWRITE returned value");
		return;
	}
	if (flags == HEED_APPEND && d->n &&
	    keycmp(M.kbuf, klen, d->a[d->n - 1]->k, d->a[d->n - 1]->klen) <= 0) {
		HEED_RC(heed_put(txn, d->dbi, &key, &val, flags), HEED_KEYEXIST);
		return;
	}
	if (flags == 0 && rng_below(&M.rng, 4) == 0) {
		/* Reserved: the space is filled after the put. */
		trace("put RESERVE", db, klen, vlen);
		val.data = NULL;
		HEED_OK(heed_put(txn, d->dbi, &key, &val, HEED_RESERVE));
		cr_assert(val.size == vlen && (val.data || !vlen), "RESERVE gave no space");
		if (vlen)
			memcpy(val.data, M.vbuf, vlen);
	} else {
		HEED_OK(heed_put(txn, d->dbi, &key, &val, flags));
	}
	model_set(db, M.kbuf, klen, M.vbuf, vlen, 0);
}

static void op_del(heed_txn *txn, int db)
{
	struct mdb *d = &M.db[db];
	size_t pos = rng_below(&M.rng, 10) < 8 ? pick_existing(d) : NOTHING, klen;
	heed_val key;
	int found;

	if (pos != NOTHING) {
		key = hv(d->a[pos]->k, d->a[pos]->klen);
		trace("del", db, key.size, d->a[pos]->vlen);
		HEED_OK(heed_del(txn, d->dbi, &key, NULL));
		model_del(db, pos);
		return;
	}
	klen = gen_key();
	lower_bound(d, M.kbuf, klen, &found);
	if (found)
		return;
	key = hv(M.kbuf, klen);
	trace("del missing", db, klen, 0);
	HEED_RC(heed_del(txn, d->dbi, &key, NULL), HEED_NOTFOUND);
}

static void op_get(heed_txn *txn, int db)
{
	struct mdb *d = &M.db[db];
	size_t pos = rng_below(&M.rng, 10) < 7 && d->n ? rng_below(&M.rng, d->n) : NOTHING;
	size_t klen;
	heed_val key, val;
	int found;

	if (pos != NOTHING) {
		/* A DUPSORT key gives its first value. */
		pos = key_edge(d, pos, 0);
		key = hv(d->a[pos]->k, d->a[pos]->klen);
		HEED_OK(heed_get(txn, d->dbi, &key, &val));
		assert_same_val(d->a[pos], &val, "get");
		return;
	}
	klen = gen_key();
	pos = lower_bound(d, M.kbuf, klen, &found);
	key = hv(M.kbuf, klen);
	if (found) {
		HEED_OK(heed_get(txn, d->dbi, &key, &val));
		assert_same_val(d->a[pos], &val, "get");
	} else {
		HEED_RC(heed_get(txn, d->dbi, &key, &val), HEED_NOTFOUND);
	}
}

/* Position cur by a random op; returns the model index or NOTHING (after
 * checking that heed said NOTFOUND). */
static size_t cursor_position(heed_cursor *cur, struct mdb *d)
{
	static const heed_cursor_op ops[] = {HEED_FIRST, HEED_LAST, HEED_SET, HEED_SET_KEY,
					     HEED_SET_RANGE};
	heed_cursor_op op = ops[rng_below(&M.rng, 5)];
	heed_val key, val;
	size_t pos, klen;
	int found, rc;

	if (op == HEED_FIRST || op == HEED_LAST) {
		trace(op == HEED_FIRST ? "cursor FIRST" : "cursor LAST", (int)(d - M.db), 0, 0);
		rc = heed_cursor_get(cur, &key, &val, op);
		if (!d->n) {
			HEED_RC(rc, HEED_NOTFOUND);
			return NOTHING;
		}
		HEED_OK(rc);
		pos = op == HEED_FIRST ? 0 : d->n - 1;
		assert_same_item(d->a[pos], &key, &val, op == HEED_FIRST ? "FIRST" : "LAST");
		return pos;
	}
	if (d->n && rng_below(&M.rng, 2)) {
		pos = rng_below(&M.rng, d->n);
		klen = d->a[pos]->klen;
		memcpy(M.kbuf, d->a[pos]->k, klen);
		/* For SET_RANGE, aim just below an existing key now and then. */
		if (op == HEED_SET_RANGE && klen > 1 && rng_below(&M.rng, 2))
			klen--;
	} else {
		klen = gen_key();
	}
	pos = lower_bound(d, M.kbuf, klen, &found);
	key = hv(M.kbuf, klen);
	trace(op == HEED_SET	   ? "cursor SET"
	      : op == HEED_SET_KEY ? "cursor SET_KEY"
				   : "cursor SET_RANGE",
	      (int)(d - M.db), klen, 0);
	rc = heed_cursor_get(cur, &key, &val, op);
	if (op == HEED_SET_RANGE ? pos == d->n : !found) {
		HEED_RC(rc, HEED_NOTFOUND);
		return NOTHING;
	}
	HEED_OK(rc);
	if (op == HEED_SET) {
		cr_assert(key.data == M.kbuf && key.size == klen, "SET changed the key");
		assert_same_val(d->a[pos], &val, "SET");
	} else {
		assert_same_item(d->a[pos], &key, &val,
				 op == HEED_SET_KEY ? "SET_KEY" : "SET_RANGE");
	}
	return pos;
}

static void op_cursor_walk(heed_txn *txn, int db)
{
	struct mdb *d = &M.db[db];
	heed_cursor *cur;
	heed_val key, val;
	size_t pos;
	int steps = (int)rng_range(&M.rng, 1, 30), back = (int)rng_below(&M.rng, 2), rc;

	HEED_OK(heed_cursor_open(txn, d->dbi, &cur));
	pos = cursor_position(cur, d);
	trace(back ? "walk PREV" : "walk NEXT", db, (size_t)steps, 0);
	while (pos != NOTHING && steps--) {
		rc = heed_cursor_get(cur, &key, &val, back ? HEED_PREV : HEED_NEXT);
		if (back ? pos == 0 : pos + 1 == d->n) {
			HEED_RC(rc, HEED_NOTFOUND);
			break;
		}
		HEED_OK(rc);
		pos = back ? pos - 1 : pos + 1;
		assert_same_item(d->a[pos], &key, &val, back ? "PREV" : "NEXT");
	}
	heed_cursor_close(cur);
}

static void op_cursor_put(heed_txn *txn, int db)
{
	struct mdb *d = &M.db[db];
	heed_cursor *cur;
	heed_val key, val, ck, cv;
	size_t pos, klen, vlen;
	int found;

	HEED_OK(heed_cursor_open(txn, d->dbi, &cur));
	if (rng_below(&M.rng, 2)) {
		pos = cursor_position(cur, d);
		if (pos != NOTHING && !d->a[pos]->dbrec) {
			klen = d->a[pos]->klen;
			memcpy(M.kbuf, d->a[pos]->k, klen);
			vlen = gen_val();
			key = hv(M.kbuf, klen);
			val = hv(M.vbuf, vlen);
			trace("cursor put CURRENT", db, klen, vlen);
			HEED_OK(heed_cursor_put(cur, &key, &val, HEED_CURRENT));
			model_set(db, M.kbuf, klen, M.vbuf, vlen, 0);
			HEED_OK(heed_cursor_get(cur, &ck, &cv, HEED_GET_CURRENT));
			assert_same_item(d->a[pos], &ck, &cv, "GET_CURRENT after put CURRENT");
		}
	} else {
		klen = gen_key();
		pos = lower_bound(d, M.kbuf, klen, &found);
		if (!(found && d->a[pos]->dbrec)) {
			vlen = gen_val();
			key = hv(M.kbuf, klen);
			val = hv(M.vbuf, vlen);
			trace("cursor put", db, klen, vlen);
			HEED_OK(heed_cursor_put(cur, &key, &val, 0));
			model_set(db, M.kbuf, klen, M.vbuf, vlen, 0);
			HEED_OK(heed_cursor_get(cur, &ck, &cv, HEED_GET_CURRENT));
			assert_same_item(d->a[pos], &ck, &cv, "GET_CURRENT after cursor put");
		}
	}
	heed_cursor_close(cur);
}

static void op_cursor_del(heed_txn *txn, int db)
{
	struct mdb *d = &M.db[db];
	heed_cursor *cur;
	heed_val key, val;
	size_t pos;
	int rc;

	HEED_OK(heed_cursor_open(txn, d->dbi, &cur));
	pos = cursor_position(cur, d);
	if (pos != NOTHING && !d->a[pos]->dbrec) {
		trace("cursor del", db, d->a[pos]->klen, d->a[pos]->vlen);
		HEED_OK(heed_cursor_del(cur, 0));
		model_del(db, pos);
		/* The cursor moved to the next item. */
		rc = heed_cursor_get(cur, &key, &val, HEED_GET_CURRENT);
		if (pos < d->n) {
			HEED_OK(rc);
			assert_same_item(d->a[pos], &key, &val, "GET_CURRENT after cursor del");
		} else {
			cr_assert(rc == HEED_NOTFOUND || rc == EINVAL,
				  "GET_CURRENT after deleting the last item returned %d (%s)", rc,
				  heed_strerror(rc));
		}
	}
	heed_cursor_close(cur);
}

/* ---- DUPSORT and DUPFIXED dbs: their own puts, deletes and moves ---- */

/* A key for a DUPSORT db, into M.kbuf: mostly one it holds already (many
 * values per key: inline lists grow into value trees). */
static size_t gen_dkey(struct mdb *d)
{
	size_t pos;

	uint64_t p = rng_below(&M.rng, 100);

	if (d->n && p < 80) {
		/* A quarter of these one of three hot keys, the first, the
		 * middle and the last: keys with hundreds of values, value
		 * trees of several pages. */
		pos = p < 20 ? (d->n - 1) * (p % 3) / 2 : rng_below(&M.rng, d->n);
		memcpy(M.kbuf, d->a[pos]->k, d->a[pos]->klen);
		return d->a[pos]->klen;
	}
	return gen_key();
}

/* The size of a DUPFIXED key's values: its first value's, or one from its
 * bytes for a new key (now and then another size: HEED_BAD_VALSIZE). */
static size_t fixed_size(struct mdb *d, size_t klen)
{
	int found;
	size_t pos = lower_bound(d, M.kbuf, klen, &found);

	if (rng_below(&M.rng, 12) == 0)
		return rng_range(&M.rng, 1, 40);
	if (found)
		return d->a[pos]->vlen;
	/* Long ones too, so that a page holds few and MULTIPLE ops return
	 * several chunks of a key. */
	return (M.kbuf[0] & 1) ? 1 + (size_t)(M.kbuf[0] ^ klen) % 16
			       : 100 + (size_t)(M.kbuf[0] ^ klen) % 300;
}

/* A value for key M.kbuf[0..klen) of a DUPSORT db, into M.vbuf: often one
 * the key holds, else short ones (collide), middling or long ones (a key's
 * values outgrow its node). 1..maxkeysize bytes. */
static size_t gen_dval(struct mdb *d, size_t klen)
{
	uint64_t p = rng_below(&M.rng, 100);
	int found;
	size_t pos = lower_bound(d, M.kbuf, klen, &found), len, i;

	if (found && p < 20) {
		pos = rng_range(&M.rng, pos, key_edge(d, pos, 1));
		memcpy(M.vbuf, d->a[pos]->v, d->a[pos]->vlen);
		return d->a[pos]->vlen;
	}
	if (d->flags & HEED_DUPFIXED)
		len = fixed_size(d, klen);
	else if (p < 70)
		len = rng_range(&M.rng, 1, 4);
	else if (p < 90)
		len = rng_range(&M.rng, 5, 64);
	else
		len = rng_range(&M.rng, 65, (uint64_t)M.maxks);
	rng_fill(&M.rng, M.vbuf, len);
	if (len <= 2)
		for (i = 0; i < len; i++)
			M.vbuf[i] = (unsigned char)('a' + M.vbuf[i] % 8);
	return len;
}

/* What a put of (k, v) with flags returns in DUPSORT db d; *insert when the
 * pair is then new. HEED_NOOVERWRITE on a held key hands back its first
 * value (at *pos). */
static int dput_expect(struct mdb *d, const unsigned char *k, size_t klen, const unsigned char *v,
		       size_t vlen, unsigned int flags, size_t *pos, int *insert)
{
	int kfound, pfound;
	size_t last;

	*insert = 0;
	*pos = lower_bound(d, k, klen, &kfound);
	if ((flags & HEED_APPEND) && d->n &&
	    keycmp(k, klen, d->a[d->n - 1]->k, d->a[d->n - 1]->klen) < 0)
		return HEED_KEYEXIST;
	if (!kfound) {
		*insert = 1;
		return 0;
	}
	if (flags & HEED_NOOVERWRITE)
		return HEED_KEYEXIST;
	if ((d->flags & HEED_DUPFIXED) && vlen != d->a[*pos]->vlen)
		return HEED_BAD_VALSIZE;
	last = key_edge(d, *pos, 1);
	pair_bound(d, k, klen, v, vlen, &pfound);
	if (pfound)
		return (flags & (HEED_NODUPDATA | HEED_APPENDDUP)) ? HEED_KEYEXIST : 0;
	if ((flags & HEED_APPENDDUP) && keycmp(v, vlen, d->a[last]->v, d->a[last]->vlen) < 0)
		return HEED_KEYEXIST;
	*insert = 1;
	return 0;
}

static const char *put_name(unsigned int flags)
{
	switch (flags) {
	case HEED_NOOVERWRITE:
		return "dup put NOOVERWRITE";
	case HEED_NODUPDATA:
		return "dup put NODUPDATA";
	case HEED_APPENDDUP:
		return "dup put APPENDDUP";
	case HEED_APPEND:
		return "dup put APPEND";
	default:
		return "dup put";
	}
}

/* A put of one value, with heed_put or through a cursor, which must then
 * stand on the pair. */
static void op_dput(heed_txn *txn, int db)
{
	struct mdb *d = &M.db[db];
	static const unsigned int fl[] = {
		0, 0, 0, HEED_NOOVERWRITE, HEED_NODUPDATA, HEED_APPENDDUP, HEED_APPEND};
	unsigned int flags = fl[rng_below(&M.rng, 7)];
	size_t klen = gen_dkey(d), vlen = gen_dval(d, klen), pos;
	heed_val key, val, ck, cv;
	heed_cursor *cur = NULL;
	int want, insert, found, rc;

	if (flags == HEED_APPENDDUP && rng_below(&M.rng, 2)) {
		/* A value after the key's last: its last grown by a byte. */
		pos = lower_bound(d, M.kbuf, klen, &found);
		if (found && !(d->flags & HEED_DUPFIXED)) {
			pos = key_edge(d, pos, 1);
			vlen = d->a[pos]->vlen;
			memcpy(M.vbuf, d->a[pos]->v, vlen);
			if (vlen < (size_t)M.maxks)
				M.vbuf[vlen++] = (unsigned char)rng_next(&M.rng);
		}
	}
	if (flags == HEED_APPEND && d->n && rng_below(&M.rng, 2)) {
		/* The last key (allowed) or one after it. */
		struct ent *last = d->a[d->n - 1];

		klen = last->klen;
		memcpy(M.kbuf, last->k, klen);
		if (klen < (size_t)M.maxks && rng_below(&M.rng, 2))
			M.kbuf[klen++] = (unsigned char)rng_next(&M.rng);
		vlen = gen_dval(d, klen);
	}
	pos = lower_bound(d, M.kbuf, klen, &found);
	if (found && d->a[pos]->dbrec)
		return;
	want = dput_expect(d, M.kbuf, klen, M.vbuf, vlen, flags, &pos, &insert);
	key = hv(M.kbuf, klen);
	val = hv(M.vbuf, vlen);
	trace(put_name(flags), db, klen, vlen);
	if (rng_below(&M.rng, 2)) {
		HEED_OK(heed_cursor_open(txn, d->dbi, &cur));
		rc = heed_cursor_put(cur, &key, &val, flags);
	} else {
		rc = heed_put(txn, d->dbi, &key, &val, flags);
	}
	cr_assert_eq(rc, want, "%s: %d (%s), the model expects %d (op %lu)", put_name(flags), rc,
		     heed_strerror(rc), want, M.ops);
	if (rc == HEED_KEYEXIST && flags == HEED_NOOVERWRITE)
		assert_same_val(d->a[pos], &val, "NOOVERWRITE's first value");
	if (insert)
		model_set(db, M.kbuf, klen, M.vbuf, vlen, 0);
	if (cur && !rc) {
		HEED_OK(heed_cursor_get(cur, &ck, &cv, HEED_GET_CURRENT));
		pos = pair_bound(d, M.kbuf, klen, M.vbuf, vlen, &found);
		cr_assert(found, "the model lost a pair");
		assert_same_item(d->a[pos], &ck, &cv, "GET_CURRENT after a dup cursor put");
	}
	heed_cursor_close(cur);
}

/* HEED_MULTIPLE on a DUPFIXED db: 1..8 values of one size stored in turn;
 * data[1].size counts those stored before the first refusal. */
static void op_dput_multiple(heed_txn *txn, int db)
{
	struct mdb *d = &M.db[db];
	unsigned int flags = rng_below(&M.rng, 3) ? 0 : HEED_NODUPDATA;
	size_t klen = gen_dkey(d), each = gen_dval(d, klen), n = rng_range(&M.rng, 1, 8), i, pos;
	static unsigned char buf[8 * 511]; /* values of a DUPSORT db: 1..511 bytes */
	heed_val key = hv(M.kbuf, klen), m[2];
	heed_cursor *cur;
	int want = 0, insert, found, rc;
	size_t stored = 0;

	cr_assert_leq(each, 511);
	pos = lower_bound(d, M.kbuf, klen, &found);
	if (found && d->a[pos]->dbrec)
		return;
	memcpy(buf, M.vbuf, each);
	for (i = 1; i < n; i++) {
		if (rng_below(&M.rng, 4) == 0)
			memcpy(buf + i * each, buf + rng_below(&M.rng, i) * each, each);
		else
			rng_fill(&M.rng, buf + i * each, each);
	}
	trace("dup put MULTIPLE", db, klen, n * each);
	HEED_OK(heed_cursor_open(txn, d->dbi, &cur));
	m[0] = hv(buf, each);
	m[1] = hv(NULL, n);
	rc = heed_cursor_put(cur, &key, m, HEED_MULTIPLE | flags);
	for (i = 0; i < n; i++) {
		want = dput_expect(d, M.kbuf, klen, buf + i * each, each, flags, &pos, &insert);
		if (want)
			break;
		stored++;
		if (insert)
			model_set(db, M.kbuf, klen, buf + i * each, each, 0);
	}
	cr_assert_eq(rc, want, "put MULTIPLE: %d, the model expects %d (op %lu)", rc, want, M.ops);
	cr_assert_eq(m[1].size, stored, "put MULTIPLE stored %zu, the model %zu (op %lu)",
		     m[1].size, stored, M.ops);
	heed_cursor_close(cur);
}

/* heed_del of a whole key (data NULL), of one of its values, of a value it
 * does not hold, or of a missing key. */
static void op_ddel(heed_txn *txn, int db)
{
	struct mdb *d = &M.db[db];
	uint64_t p = rng_below(&M.rng, 100);
	size_t pos = pick_existing(d), first, last, klen, vlen;
	heed_val key, val;
	int found;

	if (pos == NOTHING || p >= 90) {
		klen = gen_key();
		lower_bound(d, M.kbuf, klen, &found);
		if (found)
			return;
		key = hv(M.kbuf, klen);
		trace("dup del missing key", db, klen, 0);
		HEED_RC(heed_del(txn, d->dbi, &key, NULL), HEED_NOTFOUND);
		return;
	}
	first = key_edge(d, pos, 0);
	last = key_edge(d, pos, 1);
	key = hv(d->a[pos]->k, d->a[pos]->klen);
	if (p < 15) {
		trace("dup del key", db, key.size, last - first + 1);
		HEED_OK(heed_del(txn, d->dbi, &key, NULL));
		while (last-- > first)
			model_del(db, first);
		model_del(db, first);
		return;
	}
	if (p < 80) {
		trace("dup del value", db, key.size, d->a[pos]->vlen);
		val = hv(d->a[pos]->v, d->a[pos]->vlen);
		HEED_OK(heed_del(txn, d->dbi, &key, &val));
		model_del(db, pos);
		return;
	}
	klen = key.size;
	memcpy(M.kbuf, key.data, klen);
	vlen = gen_dval(d, klen);
	pair_bound(d, M.kbuf, klen, M.vbuf, vlen, &found);
	if (found)
		return;
	key = hv(M.kbuf, klen);
	val = hv(M.vbuf, vlen);
	trace("dup del missing value", db, klen, vlen);
	HEED_RC(heed_del(txn, d->dbi, &key, &val), HEED_NOTFOUND);
}

/* Position cur on an existing pair by GET_BOTH, or by GET_BOTH_RANGE (the
 * key's first value >= the one asked for); NOTHING after a NOTFOUND. */
static size_t dposition(heed_cursor *cur, struct mdb *d)
{
	size_t pos = pick_existing(d), klen, vlen, want;
	int range = (int)rng_below(&M.rng, 2), found;
	heed_val key, val;

	if (pos == NOTHING)
		return NOTHING;
	klen = d->a[pos]->klen;
	memcpy(M.kbuf, d->a[pos]->k, klen);
	if (range || rng_below(&M.rng, 4) == 0) {
		vlen = gen_dval(d, klen);
	} else {
		vlen = d->a[pos]->vlen;
		memcpy(M.vbuf, d->a[pos]->v, vlen);
	}
	want = pair_bound(d, M.kbuf, klen, M.vbuf, vlen, &found);
	if (!range && !found)
		want = NOTHING;
	else if (range && (want == d->n || !same_key(d->a[want], d->a[pos])))
		want = NOTHING;
	key = hv(M.kbuf, klen);
	val = hv(M.vbuf, vlen);
	trace(range ? "cursor GET_BOTH_RANGE" : "cursor GET_BOTH", (int)(d - M.db), klen, vlen);
	if (want == NOTHING) {
		HEED_RC(heed_cursor_get(cur, &key, &val,
					range ? HEED_GET_BOTH_RANGE : HEED_GET_BOTH),
			HEED_NOTFOUND);
		return NOTHING;
	}
	HEED_OK(heed_cursor_get(cur, &key, &val, range ? HEED_GET_BOTH_RANGE : HEED_GET_BOTH));
	assert_same_val(d->a[want], &val, range ? "GET_BOTH_RANGE" : "GET_BOTH");
	return want;
}

/* The chunk a MULTIPLE op returns: the values first..first+cnt-1, packed. */
static void assert_chunk(struct mdb *d, size_t first, size_t cnt, const heed_val *v,
			 const char *what)
{
	size_t each = d->a[first]->vlen, i;

	cr_assert_eq(v->size, cnt * each, "%s: %zu bytes, the model %zu values of %zu (op %lu)",
		     what, v->size, cnt, each, M.ops);
	for (i = 0; i < cnt; i++)
		cr_assert(d->a[first + i]->vlen == each &&
				  !memcmp((const unsigned char *)v->data + i * each,
					  d->a[first + i]->v, each),
			  "%s: value %zu of the chunk differs (op %lu)", what, i, M.ops);
}

/* A random sequence of the DUPSORT moves (and the DUPFIXED MULTIPLE ops)
 * from a position, each checked against the model; a NOTFOUND ends it. */
static void op_dmoves(heed_txn *txn, int db)
{
	static const heed_cursor_op ops[] = {
		HEED_FIRST_DUP,	    HEED_LAST_DUP,    HEED_NEXT_DUP,	 HEED_PREV_DUP,
		HEED_NEXT_NODUP,    HEED_PREV_NODUP,  HEED_NEXT,	 HEED_PREV,
		HEED_GET_CURRENT,   HEED_GET_CURRENT, HEED_GET_MULTIPLE, HEED_NEXT_MULTIPLE,
		HEED_PREV_MULTIPLE,
	};
	struct mdb *d = &M.db[db];
	int fixed = (d->flags & HEED_DUPFIXED) != 0, steps = (int)rng_range(&M.rng, 1, 20);
	size_t pos, want, first, last, m = 0, chunk = 0, cnt;
	heed_cursor *cur;
	heed_val key, val;
	int rc;

	HEED_OK(heed_cursor_open(txn, d->dbi, &cur));
	pos = rng_below(&M.rng, 2) ? dposition(cur, d) : cursor_position(cur, d);
	while (pos != NOTHING && steps--) {
		heed_cursor_op op = ops[rng_below(&M.rng, fixed ? 13 : 10)];

		first = key_edge(d, pos, 0);
		last = key_edge(d, pos, 1);
		if (fixed)
			m = M.psize / d->a[pos]->vlen;
		cnt = 1;
		switch (op) {
		case HEED_FIRST_DUP:
			want = first;
			break;
		case HEED_LAST_DUP:
			want = last;
			break;
		case HEED_NEXT_DUP:
			want = pos < last ? pos + 1 : NOTHING;
			break;
		case HEED_PREV_DUP:
			want = pos > first ? pos - 1 : NOTHING;
			break;
		case HEED_NEXT_NODUP:
			want = last + 1 < d->n ? last + 1 : NOTHING;
			break;
		case HEED_PREV_NODUP:
			want = first ? first - 1 : NOTHING;
			break;
		case HEED_NEXT:
			want = pos + 1 < d->n ? pos + 1 : NOTHING;
			break;
		case HEED_PREV:
			want = pos ? pos - 1 : NOTHING;
			break;
		case HEED_GET_MULTIPLE:
			want = pos;
			cnt = last - pos + 1 < m ? last - pos + 1 : m;
			break;
		case HEED_NEXT_MULTIPLE:
			want = pos < last ? pos + 1 : NOTHING;
			cnt = want == NOTHING ? 0 : last - want + 1 < m ? last - want + 1 : m;
			break;
		case HEED_PREV_MULTIPLE:
			/* Back over the last chunk (none after another op),
			 * then the page of values ending there (fewer at the
			 * key's start). */
			want = pos >= first + chunk ? pos - chunk : NOTHING;
			if (want != NOTHING) {
				size_t end = want;

				want = end + 1 >= first + m ? end + 1 - m : first;
				cnt = end - want + 1;
			}
			break;
		default:
			want = pos;
			break;
		}
		trace(op == HEED_GET_CURRENT ? "dup move GET_CURRENT" : "dup move", db, (size_t)op,
		      0);
		key.size = 0;
		key.data = NULL;
		rc = heed_cursor_get(cur, &key, &val, op);
		if (want == NOTHING) {
			HEED_RC(rc, HEED_NOTFOUND);
			break;
		}
		HEED_OK(rc);
		if (op >= HEED_GET_MULTIPLE) {
			assert_chunk(d, want, cnt, &val, "MULTIPLE");
			pos = want + cnt - 1;
			chunk = cnt;
		} else {
			if (op == HEED_FIRST_DUP || op == HEED_LAST_DUP)
				assert_same_val(d->a[want], &val, "FIRST_DUP/LAST_DUP");
			else
				assert_same_item(d->a[want], &key, &val, "dup move");
			pos = want;
			if (op != HEED_GET_CURRENT) /* it keeps the last chunk */
				chunk = 0;
		}
		if (rng_below(&M.rng, 4) == 0) {
			size_t n;

			first = key_edge(d, pos, 0);
			last = key_edge(d, pos, 1);
			HEED_OK(heed_cursor_count(cur, &n));
			cr_assert_eq(n, last - first + 1,
				     "cursor_count %zu, the model %zu (op %lu)", n,
				     last - first + 1, M.ops);
		}
	}
	heed_cursor_close(cur);
}

/* Cursor put CURRENT (only an equal value is taken: EINVAL for another) or
 * cursor del of one value or (HEED_NODUPDATA) of the key; the cursor then
 * stands on the next pair, which GET_CURRENT and NEXT return. */
static void op_dcursor_write(heed_txn *txn, int db)
{
	struct mdb *d = &M.db[db];
	heed_cursor *cur;
	heed_val key, val;
	size_t pos, first, last, vlen;
	int rc, all = (int)rng_below(&M.rng, 8) == 0;

	HEED_OK(heed_cursor_open(txn, d->dbi, &cur));
	pos = rng_below(&M.rng, 2) ? dposition(cur, d) : cursor_position(cur, d);
	if (pos == NOTHING || d->a[pos]->dbrec) {
		heed_cursor_close(cur);
		return;
	}
	if (rng_below(&M.rng, 2)) {
		key = hv(d->a[pos]->k, d->a[pos]->klen);
		vlen = d->a[pos]->vlen;
		memcpy(M.vbuf, d->a[pos]->v, vlen);
		if (rng_below(&M.rng, 2))
			M.vbuf[rng_below(&M.rng, vlen)] ^= 1;
		val = hv(M.vbuf, vlen);
		trace("dup cursor put CURRENT", db, key.size, vlen);
		rc = heed_cursor_put(cur, &key, &val, HEED_CURRENT);
		HEED_RC(rc, memcmp(M.vbuf, d->a[pos]->v, vlen) ? EINVAL : 0);
		heed_cursor_close(cur);
		return;
	}
	first = key_edge(d, pos, 0);
	last = key_edge(d, pos, 1);
	trace(all ? "dup cursor del NODUPDATA" : "dup cursor del", db, d->a[pos]->klen,
	      all ? last - first + 1 : 1);
	HEED_OK(heed_cursor_del(cur, all ? HEED_NODUPDATA : 0));
	if (all) {
		while (last-- > first)
			model_del(db, first);
		model_del(db, first);
		pos = first;
	} else {
		model_del(db, pos);
	}
	rc = heed_cursor_get(cur, &key, &val, rng_below(&M.rng, 2) ? HEED_NEXT : HEED_GET_CURRENT);
	if (pos < d->n) {
		HEED_OK(rc);
		assert_same_item(d->a[pos], &key, &val, "the pair after a dup cursor del");
	} else {
		cr_assert(rc == HEED_NOTFOUND || rc == EINVAL,
			  "after deleting the last pair: %d (%s)", rc, heed_strerror(rc));
	}
	heed_cursor_close(cur);
}

static void compare_db(heed_txn *txn, int db)
{
	struct mdb *d = &M.db[db];
	heed_cursor *cur;
	heed_val key, val;
	heed_stat st;
	size_t i;
	int rc;

	HEED_OK(heed_dbi_stat(txn, d->dbi, &st));
	cr_assert_eq(st.entries, d->n, "db %d has %zu entries, the model %zu (op %lu)", db,
		     st.entries, d->n, M.ops);
	cr_assert_eq(st.psize, M.psize);
	HEED_OK(heed_cursor_open(txn, d->dbi, &cur));
	for (i = 0; (rc = heed_cursor_get(cur, &key, &val, i ? HEED_NEXT : HEED_FIRST)) == 0; i++) {
		cr_assert_lt(i, d->n, "forward scan of db %d finds more than %zu items", db, d->n);
		assert_same_item(d->a[i], &key, &val, "forward scan");
	}
	HEED_RC(rc, HEED_NOTFOUND);
	cr_assert_eq(i, d->n, "forward scan of db %d found %zu items, the model %zu", db, i, d->n);
	for (i = d->n;
	     (rc = heed_cursor_get(cur, &key, &val, i == d->n ? HEED_LAST : HEED_PREV)) == 0; i--) {
		cr_assert_gt(i, 0, "backward scan of db %d finds more than %zu items", db, d->n);
		assert_same_item(d->a[i - 1], &key, &val, "backward scan");
	}
	HEED_RC(rc, HEED_NOTFOUND);
	cr_assert_eq(i, 0, "backward scan of db %d stopped %zu items short", db, i);
	/* A DUPSORT db key by key: each key's first value and its count. */
	for (i = 0; is_dup(d) &&
		    (rc = heed_cursor_get(cur, &key, &val, i ? HEED_NEXT_NODUP : HEED_FIRST)) == 0;
	     i = key_edge(d, i, 1) + 1) {
		size_t n;

		cr_assert_lt(i, d->n, "NEXT_NODUP scan of db %d goes past the model", db);
		assert_same_item(d->a[i], &key, &val, "NEXT_NODUP scan");
		HEED_OK(heed_cursor_count(cur, &n));
		cr_assert_eq(n, key_edge(d, i, 1) - i + 1, "db %d: cursor_count %zu, the model %zu",
			     db, n, key_edge(d, i, 1) - i + 1);
	}
	if (is_dup(d)) {
		HEED_RC(rc, HEED_NOTFOUND);
		cr_assert_eq(i, d->n, "NEXT_NODUP scan of db %d stopped short", db);
	}
	heed_cursor_close(cur);
}

static void compare_all(void)
{
	heed_txn *txn;
	heed_dbi dbi;
	int db;

	HEED_OK(heed_txn_begin(M.env, NULL, HEED_RDONLY, &txn));
	for (db = 0; db < NDB; db++) {
		if (M.db[db].exists)
			compare_db(txn, db);
		else
			HEED_RC(heed_dbi_open(txn, db_names[db], 0, &dbi), HEED_NOTFOUND);
	}
	heed_txn_abort(txn);
	M.compares++;
}

/* Open the handles a write txn needs: main always, named ones without a
 * valid handle (those are closed again if the txn aborts). */
static void open_handles(heed_txn *txn)
{
	int db;

	HEED_OK(heed_dbi_open(txn, NULL, 0, &M.db[0].dbi));
	M.db[0].handle = 2;
	for (db = 1; db < NDB; db++) {
		if (M.db[db].exists && !M.db[db].handle) {
			HEED_OK(heed_dbi_open(txn, db_names[db], 0, &M.db[db].dbi));
			M.db[db].handle = 1;
		}
	}
}

/* A txn of its own that creates or deletes a named db, or drops one's
 * contents; create and delete always commit. */
static void named_db_txn(void)
{
	int db = (int)rng_range(&M.rng, 1, NDB - 1);
	struct mdb *d = &M.db[db];
	heed_txn *txn;
	int abort_it = 0;

	HEED_OK(heed_txn_begin(M.env, NULL, 0, &txn));
	open_handles(txn);
	if (!d->exists) {
		trace("create db", db, 0, 0);
		HEED_OK(heed_dbi_open(txn, db_names[db], HEED_CREATE | d->flags, &d->dbi));
		d->exists = 1;
		d->handle = 1;
		log_push((struct undo){.kind = U_CREATE, .db = db});
		model_set(0, db_names[db], strlen(db_names[db]), NULL, 0, 1);
	} else if (rng_below(&M.rng, 2)) {
		trace("drop db (delete)", db, 0, 0);
		HEED_OK(heed_drop(txn, d->dbi, 1));
		model_drop(db, 1);
		int found;
		size_t pos = lower_bound(&M.db[0], db_names[db], strlen(db_names[db]), &found);

		cr_assert(found, "model lost the record of db %d", db);
		model_del(0, pos);
	} else {
		trace("drop db (empty)", db, 0, 0);
		HEED_OK(heed_drop(txn, d->dbi, 0));
		model_drop(db, 0);
		abort_it = rng_below(&M.rng, 3) == 0;
	}
	if (abort_it) {
		trace("abort", db, 0, 0);
		heed_txn_abort(txn);
		model_abort();
		M.aborts++;
	} else {
		trace("commit", db, 0, 0);
		HEED_OK(heed_txn_commit(txn));
		model_commit();
		M.commits++;
		compare_all();
	}
}

static void reopen(void)
{
	static const unsigned int other[] = {4096, 8192, 16384, 65536};
	heed_stat st;
	heed_txn *txn;
	int db;

	trace("reopen", 0, 0, 0);
	heed_env_close(M.env);
	M.env = NULL;
	/* The file keeps its page size whatever the new handle asks for. */
	HEED_OK(env_open_dir(&M.env, M.dir, HEED_NOSYNC, other[rng_below(&M.rng, 4)], 0, MAXDBS));
	HEED_OK(heed_env_stat(M.env, &st));
	cr_assert_eq(st.psize, M.psize, "reopened env has page size %u, the file %u", st.psize,
		     M.psize);
	for (db = 0; db < NDB; db++)
		M.db[db].handle = 0;
	HEED_OK(heed_txn_begin(M.env, NULL, 0, &txn));
	open_handles(txn);
	HEED_OK(heed_txn_commit(txn));
	model_commit();
	M.reopens++;
	compare_all();
}

/* Nested txns: begin a child of the innermost txn (its model state is the
 * undo log's mark), or end the innermost child by commit (its log entries
 * become the parent's) or abort (undone to the mark), then compare the
 * parent with the model from inside it. While a child runs its parent
 * refuses ops. Returns the new depth. */
static unsigned int nested_step(heed_txn **stack, unsigned int depth)
{
	heed_val k = {1, "a"}, v;
	int db;

	if (depth < MAXDEPTH && (depth == 0 || rng_below(&M.rng, 2))) {
		trace("nested begin", (int)depth + 1, 0, 0);
		HEED_OK(heed_txn_begin(M.env, stack[depth], 0, &stack[depth + 1]));
		marks[depth + 1] = M.nlog;
		HEED_RC(heed_get(stack[depth], M.db[0].dbi, &k, &v), HEED_BAD_TXN);
		M.nested++;
		return depth + 1;
	}
	if (rng_below(&M.rng, 5) < 2) {
		trace("nested abort", (int)depth, 0, 0);
		heed_txn_abort(stack[depth]);
		model_undo_to(marks[depth]);
		M.nested_aborts++;
	} else {
		trace("nested commit", (int)depth, 0, 0);
		HEED_OK(heed_txn_commit(stack[depth]));
	}
	depth--;
	if (rng_below(&M.rng, 16) == 0)
		for (db = 0; db < NDB; db++)
			if (M.db[db].exists)
				compare_db(stack[depth], db);
	return depth;
}

/* Whether a named db exists: emptying the main db would delete it. */
static int named_exist(void)
{
	int db;

	for (db = 1; db < NDB; db++)
		if (M.db[db].exists)
			return 1;
	return 0;
}

/* One op on a DUPSORT db, p in 0..99 (puts below 35). */
static void dup_op(heed_txn *txn, int db, uint64_t p)
{
	if (p < 30)
		op_dput(txn, db);
	else if (p < 35 && (M.db[db].flags & HEED_DUPFIXED))
		op_dput_multiple(txn, db);
	else if (p < 35)
		op_dput(txn, db);
	else if (p < 45)
		op_ddel(txn, db);
	else if (p < 50)
		op_get(txn, db);
	else if (p < 58)
		op_cursor_walk(txn, db);
	else if (p < 88)
		op_dmoves(txn, db);
	else
		op_dcursor_write(txn, db);
}

static void run_model(unsigned int psize, const char *name)
{
	unsigned long total = OPS;
	const char *env_ops = getenv("HEED_MODEL_OPS");
	heed_txn *txn, *stack[MAXDEPTH + 1];
	unsigned int depth;
	int db;

	if (env_ops && *env_ops) {
		uint64_t v;

		cr_assert_eq(heed_parse_u64(env_ops, &v), 0,
			     "HEED_MODEL_OPS=%s: not a whole number", env_ops);
		total = (unsigned long)v;
	}
	env_ops = getenv("HEED_MODEL_TRACE");
	tracing = env_ops && *env_ops == '1';
	M.rng.s = test_seed(name);
	M.psize = psize;
	tmpdir_make(M.dir, sizeof(M.dir), "model");
	HEED_OK(env_open_dir(&M.env, M.dir, HEED_NOSYNC, psize, 0, MAXDBS));
	M.maxks = heed_env_get_maxkeysize(M.env);
	cr_assert_geq(M.maxks, 511);
	M.kbuf = malloc((size_t)M.maxks + 1);
	M.vbuf = malloc(3 * (size_t)psize + 1);
	cr_assert(M.kbuf && M.vbuf);
	M.db[0].exists = 1;
	for (db = 0; db < NDB; db++)
		M.db[db].flags = db_flags[db];

	while (M.ops < total) {
		unsigned long n = rng_range(&M.rng, 100, 1000), i;

		if (rng_below(&M.rng, 100) < 3) {
			named_db_txn();
			continue;
		}
		if (M.commits && rng_below(&M.rng, 25) == 0)
			reopen();
		HEED_OK(heed_txn_begin(M.env, NULL, 0, &txn));
		open_handles(txn);
		if (rng_below(&M.rng, 200) == 0 && !named_exist()) {
			trace("drop main (empty)", 0, 0, 0);
			HEED_OK(heed_drop(txn, M.db[0].dbi, 0));
			model_drop(0, 0);
		}
		depth = 0;
		stack[0] = txn;
		for (i = 0; i < n; i++, M.ops++) {
			uint64_t p = rng_below(&M.rng, 100);

			if (rng_below(&M.rng, 100) < 3)
				depth = nested_step(stack, depth);
			txn = stack[depth];

			db = pick_db();
			/* Keep each db near TARGET keys: deletes win when above. */
			if (M.db[db].n > TARGET && p < 35)
				p = 35 + p % 12;
			if (is_dup(&M.db[db]))
				dup_op(txn, db, p);
			else if (p < 35)
				op_put(txn, db);
			else if (p < 47)
				op_del(txn, db);
			else if (p < 65)
				op_get(txn, db);
			else if (p < 80)
				op_cursor_walk(txn, db);
			else if (p < 90)
				op_cursor_put(txn, db);
			else
				op_cursor_del(txn, db);
		}
		/* Children still open end with the top txn (LMDB's rule). */
		txn = stack[0];
		if (rng_below(&M.rng, 100) < 15) {
			trace("abort", 0, 0, 0);
			heed_txn_abort(txn);
			model_abort();
			M.aborts++;
		} else {
			trace("commit", 0, 0, 0);
			HEED_OK(heed_txn_commit(txn));
			model_commit();
			M.commits++;
			compare_all();
		}
	}
	reopen();
	fprintf(stderr,
		"%s: %lu ops, %lu commits, %lu aborts, %lu nested txns (%lu aborted), %lu "
		"reopens, %lu full compares, final sizes %zu/%zu/%zu/%zu/%zu\n",
		name, M.ops, M.commits, M.aborts, M.nested, M.nested_aborts, M.reopens, M.compares,
		M.db[0].n, M.db[1].n, M.db[2].n, M.db[3].n, M.db[4].n);
	heed_env_close(M.env);
	M.env = NULL;
	HEED_CHECK_CLEAN(M.dir);
}

static void teardown(void)
{
	int db;

	heed_env_close(M.env);
	tmpdir_remove(M.dir);
	for (db = 0; db < NDB; db++)
		free_arr(M.db[db].a, M.db[db].n);
	free(M.log);
	free(M.kbuf);
	free(M.vbuf);
	memset(&M, 0, sizeof(M));
}

TestSuite(model, .fini = teardown, .timeout = 900);

Test(model, pages_4k)
{
	run_model(4096, "model::pages_4k");
}

Test(model, pages_16k)
{
	run_model(16384, "model::pages_16k");
}
