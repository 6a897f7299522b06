/*
 * fuzz_ops: the fuzz input is a program of operations on a fresh
 * environment, run against an in-memory model of the committed and the
 * pending state; every result must match the model exactly. Any mismatch
 * aborts, which libFuzzer reports as a crash with the input that caused it.
 *
 * Input: a sequence of operations, each an opcode byte and up to three
 * argument bytes (a key id, a value length class, a value seed). Keys are
 * 256 fixed byte strings with shared prefixes and lengths from 2 bytes to
 * the maximum key size; values are 0 bytes to a few overflow pages, their
 * content derived from (seed, length) so the model stores no data.
 *
 * Operations: put (plain, NOOVERWRITE, APPEND, RESERVE with the value
 * copied into the returned space after), del, get, commit, abort, cursor
 * walks both ways, SET_RANGE, cursor put (CURRENT, RESERVE)/del, drop,
 * reopen, and a read snapshot taken while the write txn is open, which
 * must see the committed state only. Nested write txns up to MAX_NEST deep: a child
 * begins (its parent then refuses a get), and commit and abort end the
 * innermost child when their argument is odd (an abort puts back the
 * pending state the child began from), else the top txn with its
 * children; the other operations run in the innermost txn. After every commit heed-check's walker
 * (check.c) must find the file clean.
 *
 * Opcodes 0xc0 and up work on a DUPSORT db (DB_NAME, its record the main
 * db's first key): 16 keys, each holding a set of 32 values (1 to 400
 * bytes, ordered by their first byte), modelled as a bit set per key: put
 * (plain, NODUPDATA, APPENDDUP; RESERVE, refused), delete of one value or of a key, GET_BOTH
 * and GET_BOTH_RANGE with the count, cursor deletes (one value, NODUPDATA)
 * and where the cursor lands, heed_get, and walks of every (key, value)
 * pair with NEXT/PREV, NEXT_NODUP/PREV_NODUP and NEXT_DUP/PREV_DUP. Inline
 * value lists, their growth into value trees and back are on those paths.
 * Opcodes 0xf0 and up (taken from the DUPSORT ones) work on a DUPFIXED db
 * (FIX_NAME): 8 keys of up to 32 values of 4 to 400 bytes, a bit set per
 * key: put (plain, NODUPDATA, APPENDDUP), HEED_MULTIPLE puts (the count
 * stored up to the first refusal), a value of another size
 * (HEED_BAD_VALSIZE), deletes, a key read in chunks forward (GET_MULTIPLE,
 * NEXT_MULTIPLE) and backward (PREV_MULTIPLE), whole walks with counts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_tmp.h"
#include "heed.h"
#include "internal.h"

#define NKEYS	 256
#define MAX_OPS	 2000
#define MAX_VLEN 20000
#define NDKEYS	 16
#define NDVALS	 32
#define DB_NAME	 "0dups" /* sorts before every key of the main db */
#define FIX_NAME "0fix"	 /* so does the DUPFIXED db's name */
#define NFKEYS	 8
#define NFVALS	 32

struct entry {
	uint8_t present;
	uint8_t seed;
	uint32_t len;
};

struct state {
	struct entry e[NKEYS];
	uint32_t dups[NDKEYS]; /* value ids present under each DUPSORT key */
	uint32_t fix[NFKEYS];  /* the same for the DUPFIXED db */
};

static const char *path;
static int maxkey;
static unsigned char keybuf[NKEYS][1024];
static size_t keylen[NKEYS];
static int order[NKEYS]; /* key ids sorted by key bytes */
static int rank_of[NKEYS];
static unsigned char vbuf[MAX_VLEN];
static unsigned char dkey[NDKEYS][4];
static unsigned char fkey[NFKEYS][4];
static unsigned char dval[NDVALS][400];
static size_t dvlen[NDVALS];

#define MAX_NEST 4

static heed_env *env;
static heed_txn *wtxn; /* the innermost write txn */
static struct state committed, pending;
static heed_txn *nest[MAX_NEST + 1];	 /* nest[0] the top txn, nest[depth] == wtxn */
static struct state began[MAX_NEST + 1]; /* pending when nest[i] began */
static int depth;

/* A mismatch with the model: libFuzzer saves the input that led here. */
#define fail(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_ops: ");                                                     \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

static int keycmp(const void *pa, const void *pb)
{
	int a = *(const int *)pa, b = *(const int *)pb;
	size_t n = keylen[a] < keylen[b] ? keylen[a] : keylen[b];
	int c = memcmp(keybuf[a], keybuf[b], n);
	if (c)
		return c;
	return (keylen[a] > keylen[b]) - (keylen[a] < keylen[b]);
}

/* Key id: two bytes that make it unique (16 groups of 16 sharing a first
 * byte), then filler; every 64th key is as long as keys may be. */
static void make_keys(void)
{
	for (int id = 0; id < NKEYS; id++) {
		size_t len = 2 + (size_t)(id * 5 % 11);
		if (id % 64 == 63)
			len = (size_t)maxkey < sizeof(keybuf[0]) ? (size_t)maxkey
								 : sizeof(keybuf[0]);
		keybuf[id][0] = (unsigned char)('A' + (id >> 4));
		keybuf[id][1] = (unsigned char)('a' + (id & 15));
		memset(keybuf[id] + 2, 'x', len - 2);
		keylen[id] = len;
		order[id] = id;
	}
	qsort(order, NKEYS, sizeof(order[0]), keycmp);
	for (int r = 0; r < NKEYS; r++)
		rank_of[order[r]] = r;
}

static size_t vlen_of(uint8_t cls)
{
	switch (cls % 5) {
	case 0:
		return 0;
	case 1:
		return cls % 40;
	case 2:
		return 100 + (size_t)cls * 7;
	case 3:
		return 3000 + (size_t)cls * 11;
	default:
		return 9000 + (size_t)cls * 40;
	}
}

static void fill_value(uint8_t seed, size_t len)
{
	for (size_t i = 0; i < len; i++)
		vbuf[i] = (unsigned char)(seed * 31 + i * 7 + (i >> 8));
}

static int value_ok(const struct entry *e, const heed_val *v)
{
	if (v->size != e->len)
		return 0;
	fill_value(e->seed, e->len);
	return memcmp(v->data, vbuf, e->len) == 0;
}

static heed_val key_val(int id)
{
	heed_val k = {keylen[id], keybuf[id]};
	return k;
}

static int id_of(const heed_val *k)
{
	for (int id = 0; id < NKEYS; id++)
		if (k->size == keylen[id] && memcmp(k->data, keybuf[id], k->size) == 0)
			return id;
	fail("a key that was never put came back (%d bytes)", (int)k->size);
}

static void open_env(void)
{
	if (heed_env_create(&env) != 0)
		fail("env_create");
	heed_env_set_mapsize(env, 256 << 20);
	heed_env_set_maxdbs(env, 3);
	int rc = heed_env_open(env, path, HEED_NOSUBDIR | HEED_NOSYNC, 0600);
	if (rc != 0)
		fail("env_open: %d", rc);
}

static void fresh_env(void)
{
	path = fuzz_env_path("fuzz-ops");
	if (!path)
		fail("mkdtemp: errno %d", errno);
	unlink(path);
	open_env();
	if (!maxkey) {
		maxkey = heed_env_get_maxkeysize(env);
		if (maxkey < 511)
			fail("max key size %d < %d", maxkey, 511);
		make_keys();
		for (int i = 0; i < NDKEYS; i++)
			snprintf((char *)dkey[i], sizeof(dkey[i]), "k%02d", i);
		for (int i = 0; i < NFKEYS; i++)
			snprintf((char *)fkey[i], sizeof(fkey[i]), "f%02d", i);
		for (int v = 0; v < NDVALS; v++) {
			static const size_t lens[] = {1, 9, 60, 400};
			dvlen[v] = lens[v % 4] + (size_t)v % 3;
			if (dvlen[v] > sizeof(dval[v]))
				dvlen[v] = sizeof(dval[v]);
			memset(dval[v], 'a' + v % 26, dvlen[v]);
			dval[v][0] = (unsigned char)(0x20 + v); /* the order */
		}
	}
	memset(&committed, 0, sizeof(committed));
	memset(&pending, 0, sizeof(pending));
}

static void report(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "fuzz_ops: heed-check: %s\n", msg);
}

/* After every commit the file passes heed-check's structural walk. */
static void check_structure(void)
{
	size_t pages = 0;
	int rc = heed_env_check(env, report, NULL, &pages);
	if (rc != 0)
		fail("heed-check walker after a commit: %d (%zu pages walked)", rc, pages);
}

static void need_wtxn(void)
{
	if (wtxn)
		return;
	int rc = heed_txn_begin(env, NULL, 0, &wtxn);
	if (rc != 0)
		fail("txn_begin: %d", rc);
	nest[0] = wtxn;
	depth = 0;
}

/* End the top write txn, and with it its open children. */
static void end_wtxn(int commit)
{
	if (!wtxn)
		return;
	if (commit) {
		int rc = heed_txn_commit(nest[0]);
		if (rc != 0)
			fail("commit: %d", rc);
		committed = pending;
		check_structure();
	} else {
		heed_txn_abort(nest[0]);
		pending = committed;
	}
	wtxn = NULL;
	depth = 0;
}

static void nest_begin(void)
{
	need_wtxn();
	if (depth == MAX_NEST)
		return;
	heed_txn *child;
	int rc = heed_txn_begin(env, wtxn, 0, &child);
	if (rc != 0)
		fail("nested txn_begin at depth %d: %d", depth + 1, rc);
	heed_val k = {1, "A"}, v;
	rc = heed_get(wtxn, 0, &k, &v);
	if (rc != HEED_BAD_TXN)
		fail("get on a parent with a child: %d", rc);
	began[++depth] = pending;
	nest[depth] = child;
	wtxn = child;
}

/* End the innermost child; its parent then sees its changes or not. */
static void nest_end(int commit)
{
	if (commit) {
		int rc = heed_txn_commit(wtxn);
		if (rc != 0)
			fail("nested commit at depth %d: %d", depth, rc);
	} else {
		heed_txn_abort(wtxn);
		pending = began[depth];
	}
	wtxn = nest[--depth];
}

/* The whole database seen by txn equals s, walking forward or backward. */
/* A named db's record in the main db: the model's keys start at 'A'. */
static int is_record(const heed_val *k)
{
	return k->size && *(const unsigned char *)k->data == '0';
}

static void check_walk(heed_txn *txn, const struct state *s, int backward)
{
	heed_cursor *cur;
	int rc = heed_cursor_open(txn, 0, &cur);
	if (rc != 0)
		fail("cursor_open: %d", rc);
	int r = backward ? NKEYS - 1 : 0;
	heed_val k, v;
	size_t n = 0;
	for (rc = heed_cursor_get(cur, &k, &v, backward ? HEED_LAST : HEED_FIRST); rc == 0;
	     rc = heed_cursor_get(cur, &k, &v, backward ? HEED_PREV : HEED_NEXT)) {
		if (is_record(&k)) {
			n++; /* a named db's record: not a key of the model */
			continue;
		}
		while (r >= 0 && r < NKEYS && !s->e[order[r]].present)
			r += backward ? -1 : 1;
		if (r < 0 || r >= NKEYS)
			fail("walk: an extra key at position %d", (int)n);
		int id = id_of(&k);
		if (id != order[r])
			fail("walk: key %d where %d was expected", id, order[r]);
		if (!value_ok(&s->e[id], &v))
			fail("walk: value of key %d (%d bytes) differs", id, (int)v.size);
		r += backward ? -1 : 1;
		n++;
	}
	if (rc != HEED_NOTFOUND)
		fail("walk ended with %d", rc);
	while (r >= 0 && r < NKEYS && !s->e[order[r]].present)
		r += backward ? -1 : 1;
	if (r >= 0 && r < NKEYS)
		fail("walk: key %d is missing", order[r]);
	heed_cursor_close(cur);
	heed_stat st;
	rc = heed_dbi_stat(txn, 0, &st);
	if (rc != 0 || st.entries != n)
		fail("dbi_stat: rc %d, entries %d", rc, (int)st.entries);
}

/* ---- the DUPSORT db ---- */

static heed_dbi dups_dbi(heed_txn *txn, int create)
{
	heed_dbi d;
	int rc = heed_dbi_open(txn, DB_NAME, create ? HEED_CREATE | HEED_DUPSORT : 0, &d);

	if (rc == HEED_NOTFOUND && !create)
		return (heed_dbi)-1;
	if (rc != 0)
		fail("dbi_open %s: %d", DB_NAME, rc);
	return d;
}

static int dval_id(const heed_val *v)
{
	for (int i = 0; i < NDVALS; i++)
		if (v->size == dvlen[i] && !memcmp(v->data, dval[i], v->size))
			return i;
	fail("a value that was never put came back (%d bytes)", (int)v->size);
}

static int dkey_id(const heed_val *k)
{
	for (int i = 0; i < NDKEYS; i++)
		if (k->size == 3 && !memcmp(k->data, dkey[i], 3))
			return i;
	fail("a DUPSORT key that was never put came back (%d bytes)", (int)k->size);
}

/* The (key, value) pair after (k, v) in s (v -1: before the key's values):
 * 0 with *nk, *nv, or -1 when none. */
static int dnext(const struct state *s, int k, int v, int *nk, int *nv)
{
	for (; k < NDKEYS; k++, v = -1)
		for (int i = v + 1; i < NDVALS; i++)
			if (s->dups[k] >> i & 1) {
				*nk = k;
				*nv = i;
				return 0;
			}
	return -1;
}

static void dput(int k, int v, unsigned int flags)
{
	need_wtxn();
	heed_dbi d = dups_dbi(wtxn, 1);
	heed_val key = {3, dkey[k]}, val = {dvlen[v], dval[v]};
	uint32_t have = pending.dups[k];
	int expect = 0;

	if (flags & HEED_RESERVE)
		expect = EINVAL; /* a value is placed by its bytes */
	else if (have >> v & 1)
		expect = flags ? HEED_KEYEXIST : 0;
	else if ((flags & HEED_APPENDDUP) && (have >> v))
		expect = HEED_KEYEXIST;
	int rc = heed_put(wtxn, d, &key, &val, flags);
	if (rc != expect)
		fail("dup put %d/%d flags %x: %d, expected %d", k, v, flags, rc, expect);
	if (rc == 0)
		pending.dups[k] |= 1u << v;
}

static void ddel(int k, int v)
{
	need_wtxn();
	heed_dbi d = dups_dbi(wtxn, 1);
	heed_val key = {3, dkey[k]}, val = {v >= 0 ? dvlen[v] : 0, v >= 0 ? dval[v] : NULL};
	int present = v >= 0 ? (int)(pending.dups[k] >> v & 1) : pending.dups[k] != 0;
	int rc = heed_del(wtxn, d, &key, v >= 0 ? &val : NULL);

	if (rc != (present ? 0 : HEED_NOTFOUND))
		fail("dup del %d/%d: %d", k, v, rc);
	if (v >= 0)
		pending.dups[k] &= ~(1u << v);
	else
		pending.dups[k] = 0;
}

/* Every pair of s, walking with NEXT/PREV (how 0), the _NODUP moves and
 * FIRST_DUP/LAST_DUP (1), or NEXT_DUP/PREV_DUP within each key (2). */
static void dwalk(heed_txn *txn, const struct state *s, int how, int backward)
{
	heed_dbi d = dups_dbi(txn, 0);
	heed_cursor *cur;
	heed_val k, v;
	size_t n = 0, want = 0;
	int rc, ek = backward ? NDKEYS - 1 : 0;

	for (int i = 0; i < NDKEYS; i++)
		want += (size_t)__builtin_popcount(s->dups[i]);
	if (d == (heed_dbi)-1) {
		if (want)
			fail("the DUPSORT db is missing");
		return;
	}
	if (heed_cursor_open(txn, d, &cur) != 0)
		fail("cursor_open dups");
	rc = heed_cursor_get(cur, &k, &v, backward ? HEED_LAST : HEED_FIRST);
	while (rc == 0) {
		int kid = dkey_id(&k), vid = dval_id(&v);
		size_t cnt;

		while (ek >= 0 && ek < NDKEYS && !s->dups[ek])
			ek += backward ? -1 : 1;
		if (kid != ek || !(s->dups[kid] >> vid & 1))
			fail("dup walk %d: pair %d/%d where key %d was expected", how, kid, vid,
			     ek);
		if (heed_cursor_count(cur, &cnt) != 0 ||
		    cnt != (size_t)__builtin_popcount(s->dups[kid]))
			fail("dup walk: count of key %d", kid);
		n++;
		if (how == 0) {
			rc = heed_cursor_get(cur, &k, &v, backward ? HEED_PREV : HEED_NEXT);
			if (rc == 0 && dkey_id(&k) != kid)
				ek += backward ? -1 : 1;
			continue;
		}
		/* The key's values, then the next key. */
		int steps = 1;
		while ((rc = heed_cursor_get(cur, &k, &v,
					     backward ? HEED_PREV_DUP : HEED_NEXT_DUP)) == 0) {
			int vv = dval_id(&v);
			if (dkey_id(&k) != kid || !(s->dups[kid] >> vv & 1) ||
			    (backward ? vv >= vid : vv <= vid))
				fail("dup walk: %s of key %d gave value %d after %d",
				     backward ? "PREV_DUP" : "NEXT_DUP", kid, vv, vid);
			vid = vv;
			steps++;
			n++;
		}
		if (rc != HEED_NOTFOUND || steps != __builtin_popcount(s->dups[kid]))
			fail("dup walk: key %d: %d values of %d (%d)", kid, steps,
			     __builtin_popcount(s->dups[kid]), rc);
		if (how == 1) {
			heed_val f;
			if (heed_cursor_get(cur, NULL, &f,
					    backward ? HEED_LAST_DUP : HEED_FIRST_DUP) ||
			    dval_id(&f) != (backward ? 31 - __builtin_clz(s->dups[kid])
						     : __builtin_ctz(s->dups[kid])))
				fail("dup walk: %s of key %d", backward ? "LAST_DUP" : "FIRST_DUP",
				     kid);
		}
		rc = heed_cursor_get(cur, &k, &v, backward ? HEED_PREV_NODUP : HEED_NEXT_NODUP);
		ek += backward ? -1 : 1;
		if (rc == 0) {
			/* NEXT_NODUP lands on a key's first value, PREV_NODUP
			 * on its last. */
			int kk = dkey_id(&k);
			if (dval_id(&v) != (backward ? 31 - __builtin_clz(s->dups[kk])
						     : __builtin_ctz(s->dups[kk])))
				fail("dup walk: %s landed inside key %d",
				     backward ? "PREV_NODUP" : "NEXT_NODUP", kk);
		}
	}
	if (rc != HEED_NOTFOUND || n != want)
		fail("dup walk %d: %zu pairs of %zu (%d)", how, n, want, rc);
	heed_cursor_close(cur);
	heed_stat st;
	if (heed_dbi_stat(txn, d, &st) != 0 || st.entries != want)
		fail("dup stat: %zu entries of %zu", st.entries, want);
}

/* GET_BOTH (exact) or GET_BOTH_RANGE of (k, v); with del, the cursor then
 * deletes what it found (NODUPDATA: the whole key) and must stand on the
 * next pair. */
static void dboth(int k, int v, int range, int del, unsigned int dflags)
{
	need_wtxn();
	heed_dbi d = dups_dbi(wtxn, 1);
	heed_cursor *cur;
	heed_val key = {3, dkey[k]}, val = {dvlen[v], dval[v]};
	int wk, wv, rc;

	if (heed_cursor_open(wtxn, d, &cur) != 0)
		fail("cursor_open dups");
	rc = heed_cursor_get(cur, &key, &val, range ? HEED_GET_BOTH_RANGE : HEED_GET_BOTH);
	int found = dnext(&pending, k, v - 1, &wk, &wv) == 0 && wk == k && (range || wv == v);
	if (rc != (found ? 0 : HEED_NOTFOUND))
		fail("GET_BOTH%s %d/%d: %d", range ? "_RANGE" : "", k, v, rc);
	if (rc == 0 && dval_id(&val) != wv)
		fail("GET_BOTH%s %d/%d: value %d, expected %d", range ? "_RANGE" : "", k, v,
		     dval_id(&val), wv);
	if (rc == 0 && del) {
		rc = heed_cursor_del(cur, dflags);
		if (rc != 0)
			fail("cursor_del %d/%d: %d", k, wv, rc);
		if (dflags)
			pending.dups[k] = 0;
		else
			pending.dups[k] &= ~(1u << wv);
		int nk, nv;
		int more = dnext(&pending, k, dflags ? NDVALS : wv, &nk, &nv) == 0;
		heed_val kk, vv;
		rc = heed_cursor_get(cur, &kk, &vv, HEED_NEXT);
		if (more ? rc != 0 || dkey_id(&kk) != nk || dval_id(&vv) != nv
			 : rc != HEED_NOTFOUND)
			fail("NEXT after cursor_del %d/%d flags %x: %d", k, wv, dflags, rc);
	}
	heed_cursor_close(cur);
}

static void dget(heed_txn *txn, const struct state *s, int k)
{
	heed_dbi d = dups_dbi(txn, 0);
	heed_val key = {3, dkey[k]}, val;

	if (d == (heed_dbi)-1)
		return;
	int rc = heed_get(txn, d, &key, &val);
	if (rc != (s->dups[k] ? 0 : HEED_NOTFOUND))
		fail("dup get %d: %d", k, rc);
	if (rc == 0 && dval_id(&val) != __builtin_ctz(s->dups[k]))
		fail("dup get %d: not its first value", k);
}

/* A HEED_RESERVE put succeeded: its space (len bytes, in the txn's page)
 * gets the value the model expects, vbuf's. */
static void reserve_fill(heed_val *v, size_t len, const char *what, int id)
{
	if (v->size != len || (len && !v->data))
		fail("%s RESERVE key %d: %d bytes at %p", what, id, (int)v->size, v->data);
	if (len)
		memcpy(v->data, vbuf, len);
}

/* ---- the DUPFIXED db: NFKEYS keys, each up to NFVALS values of its own
 * size (4 to 400 bytes: several values a chunk, or a few), value v's first
 * byte its order ---- */

static const size_t fsize[4] = {4, 60, 200, 400};

static size_t fval(int k, int v, unsigned char *buf)
{
	size_t n = fsize[k % 4];

	memset(buf, 'a' + k, n);
	buf[0] = (unsigned char)(0x20 + v);
	return n;
}

static heed_dbi fix_dbi(heed_txn *txn, int create)
{
	heed_dbi d;
	int rc = heed_dbi_open(txn, FIX_NAME,
			       create ? HEED_CREATE | HEED_DUPSORT | HEED_DUPFIXED : 0, &d);

	if (rc == HEED_NOTFOUND && !create)
		return (heed_dbi)-1;
	if (rc != 0)
		fail("dbi_open %s: %d", FIX_NAME, rc);
	return d;
}

/* What a put of value v under key k returns (dput's rules). */
static int fput_expect(int k, int v, unsigned int flags)
{
	uint32_t have = pending.fix[k];

	if (have >> v & 1)
		return (flags & (HEED_NODUPDATA | HEED_APPENDDUP)) ? HEED_KEYEXIST : 0;
	if ((flags & HEED_APPENDDUP) && (have >> v))
		return HEED_KEYEXIST;
	return 0;
}

static void fput(int k, int v, unsigned int flags)
{
	need_wtxn();
	heed_dbi d = fix_dbi(wtxn, 1);
	unsigned char buf[400];
	heed_val key = {3, fkey[k]}, val = {fval(k, v, buf), buf};
	int expect = fput_expect(k, v, flags);
	int rc = heed_put(wtxn, d, &key, &val, flags);

	if (rc != expect)
		fail("fixed put %d/%d flags %x: %d, expected %d", k, v, flags, rc, expect);
	if (rc == 0)
		pending.fix[k] |= 1u << v;
}

/* HEED_MULTIPLE: the values of mask (in a rotated order) stored in turn
 * through a cursor; the count stored is where the first refusal stops. */
static void fput_multiple(int k, uint32_t mask, int rot, unsigned int flags)
{
	need_wtxn();
	heed_dbi d = fix_dbi(wtxn, 1);
	static unsigned char buf[NFVALS * 400];
	heed_val key = {3, fkey[k]}, m[2];
	heed_cursor *cur;
	size_t n = 0, stored = 0, each = fsize[k % 4];
	int vs[NFVALS], expect = 0;

	for (int i = 0; i < NFVALS; i++) {
		int v = (i + rot) % NFVALS;
		if (mask >> v & 1) {
			vs[n] = v;
			fval(k, v, buf + n * each);
			n++;
		}
	}
	if (heed_cursor_open(wtxn, d, &cur) != 0)
		fail("cursor_open fixed");
	m[0] = (heed_val){each, buf};
	m[1] = (heed_val){n, NULL};
	int rc = heed_cursor_put(cur, &key, m, HEED_MULTIPLE | flags);
	for (size_t i = 0; i < n; i++) {
		expect = fput_expect(k, vs[i], flags);
		if (expect)
			break;
		pending.fix[k] |= 1u << vs[i];
		stored++;
	}
	if (rc != expect || m[1].size != stored)
		fail("put MULTIPLE %d (%zu values, flags %x): %d with %zu stored, expected %d with "
		     "%zu",
		     k, n, flags, rc, m[1].size, expect, stored);
	heed_cursor_close(cur);
}

/* Another size under a held key: HEED_BAD_VALSIZE, the txn goes on. */
static void fput_badsize(int k)
{
	need_wtxn();
	heed_dbi d = fix_dbi(wtxn, 1);
	unsigned char buf[401];
	heed_val key = {3, fkey[k]}, val = {fval(k, 0, buf) + 1, buf};
	int rc = heed_put(wtxn, d, &key, &val, 0);

	if (rc != (pending.fix[k] ? HEED_BAD_VALSIZE : 0))
		fail("fixed put of another size under key %d: %d", k, rc);
	if (rc == 0) {
		/* A new key took that size: delete it again, the model knows
		 * one size a key. */
		if (heed_del(wtxn, d, &key, NULL) != 0)
			fail("fixed del of key %d", k);
	}
}

static void fdel(int k, int v)
{
	need_wtxn();
	heed_dbi d = fix_dbi(wtxn, 1);
	unsigned char buf[400];
	heed_val key = {3, fkey[k]}, val = {v >= 0 ? fval(k, v, buf) : 0, buf};
	int present = v >= 0 ? (int)(pending.fix[k] >> v & 1) : pending.fix[k] != 0;
	int rc = heed_del(wtxn, d, &key, v >= 0 ? &val : NULL);

	if (rc != (present ? 0 : HEED_NOTFOUND))
		fail("fixed del %d/%d: %d", k, v, rc);
	pending.fix[k] &= v >= 0 ? ~(1u << v) : 0;
}

/* Key k's values read in chunks: GET_MULTIPLE then NEXT_MULTIPLE from its
 * first value, or PREV_MULTIPLE from its last; put together (back to front
 * for the latter) they are the key's values in order, each once. */
static void fchunks(heed_txn *txn, const struct state *s, int k, int backward)
{
	heed_dbi d = fix_dbi(txn, 0);
	static unsigned char want[NFVALS * 400], got[NFVALS * 400];
	heed_val key = {3, fkey[k]}, val;
	heed_cursor *cur;
	size_t n = 0, end, each = fsize[k % 4];
	int rc;

	if (d == (heed_dbi)-1)
		return;
	for (int v = 0; v < NFVALS; v++)
		if (s->fix[k] >> v & 1)
			n += fval(k, v, want + n);
	if (heed_cursor_open(txn, d, &cur) != 0)
		fail("cursor_open fixed");
	rc = heed_cursor_get(cur, &key, &val, HEED_SET);
	if (rc != (s->fix[k] ? 0 : HEED_NOTFOUND))
		fail("fixed SET %d: %d", k, rc);
	if (rc == 0 && backward)
		rc = heed_cursor_get(cur, &key, &val, HEED_LAST_DUP);
	for (end = backward ? n : 0; rc == 0;) {
		rc = heed_cursor_get(cur, &key, &val,
				     backward	? HEED_PREV_MULTIPLE
				     : end == 0 ? HEED_GET_MULTIPLE
						: HEED_NEXT_MULTIPLE);
		if (rc)
			break;
		if (!val.size || val.size % each ||
		    (backward ? val.size > end : val.size > n - end))
			fail("fixed key %d: a chunk of %zu bytes (%zu of %zu placed)", k, val.size,
			     end, n);
		if (backward)
			end -= val.size;
		memcpy(got + end, val.data, val.size);
		if (!backward)
			end += val.size;
	}
	if (s->fix[k] &&
	    (rc != HEED_NOTFOUND || end != (backward ? 0 : n) || memcmp(got, want, n) != 0))
		fail("fixed key %d: the %s chunks are not its values (%d, %zu of %zu)", k,
		     backward ? "PREV_MULTIPLE" : "NEXT_MULTIPLE", rc, end, n);
	heed_cursor_close(cur);
}

/* Every pair of the DUPFIXED db in order, the counts, the entries. */
static void fwalk(heed_txn *txn, const struct state *s)
{
	heed_dbi d = fix_dbi(txn, 0);
	heed_cursor *cur;
	heed_val k, v;
	unsigned char buf[400];
	size_t n = 0, want = 0, cnt;
	int rc, kk = 0, vv = -1;

	for (int i = 0; i < NFKEYS; i++)
		want += (size_t)__builtin_popcount(s->fix[i]);
	if (d == (heed_dbi)-1) {
		if (want)
			fail("the DUPFIXED db is missing");
		return;
	}
	if (heed_cursor_open(txn, d, &cur) != 0)
		fail("cursor_open fixed");
	for (rc = heed_cursor_get(cur, &k, &v, HEED_FIRST); rc == 0;
	     rc = heed_cursor_get(cur, &k, &v, HEED_NEXT)) {
		/* The model's next pair after (kk, vv). */
		do {
			if (++vv == NFVALS) {
				vv = 0;
				kk++;
			}
		} while (kk < NFKEYS && !(s->fix[kk] >> vv & 1));
		if (kk == NFKEYS || k.size != 3 || memcmp(k.data, fkey[kk], 3) != 0 ||
		    v.size != fval(kk, vv, buf) || memcmp(v.data, buf, v.size) != 0)
			fail("fixed walk: pair %zu is not %d/%d", n, kk, vv);
		if (heed_cursor_count(cur, &cnt) != 0 ||
		    cnt != (size_t)__builtin_popcount(s->fix[kk]))
			fail("fixed walk: count of key %d", kk);
		n++;
	}
	if (rc != HEED_NOTFOUND || n != want)
		fail("fixed walk: %zu pairs of %zu (%d)", n, want, rc);
	heed_cursor_close(cur);
	heed_stat st;
	if (heed_dbi_stat(txn, d, &st) != 0 || st.entries != want)
		fail("fixed stat: %zu entries of %zu", st.entries, want);
}

static void op_put(int id, uint8_t cls, uint8_t seed, unsigned int flags)
{
	need_wtxn();
	size_t len = vlen_of(cls);
	fill_value(seed, len);
	heed_val k = key_val(id), v = {len, (flags & HEED_RESERVE) ? NULL : vbuf};
	int expect = 0;
	if ((flags & HEED_NOOVERWRITE) && pending.e[id].present)
		expect = HEED_KEYEXIST;
	if (flags & HEED_APPEND) {
		for (int r = rank_of[id]; r < NKEYS; r++)
			if (pending.e[order[r]].present)
				expect = HEED_KEYEXIST;
	}
	int rc = heed_put(wtxn, 0, &k, &v, flags);
	if (rc != expect)
		fail("put key %d: %d", id, rc);
	if (rc == HEED_KEYEXIST && (flags & HEED_NOOVERWRITE) && !value_ok(&pending.e[id], &v))
		fail("NOOVERWRITE on key %d returned another value (%d bytes)", id, (int)v.size);
	if (rc == 0 && (flags & HEED_RESERVE))
		reserve_fill(&v, len, "put", id);
	if (rc == 0) {
		pending.e[id].present = 1;
		pending.e[id].len = (uint32_t)len;
		pending.e[id].seed = seed;
	}
}

static void op_del(int id)
{
	need_wtxn();
	heed_val k = key_val(id);
	int rc = heed_del(wtxn, 0, &k, NULL);
	if (rc != (pending.e[id].present ? 0 : HEED_NOTFOUND))
		fail("del key %d: %d", id, rc);
	pending.e[id].present = 0;
}

static void op_get(heed_txn *txn, const struct state *s, int id)
{
	heed_val k = key_val(id), v;
	int rc = heed_get(txn, 0, &k, &v);
	if (rc != (s->e[id].present ? 0 : HEED_NOTFOUND))
		fail("get key %d: %d", id, rc);
	if (rc == 0 && !value_ok(&s->e[id], &v))
		fail("get key %d: value differs (%d bytes)", id, (int)v.size);
}

static void op_set_range(heed_txn *txn, const struct state *s, int id)
{
	heed_cursor *cur;
	if (heed_cursor_open(txn, 0, &cur) != 0)
		fail("cursor_open");
	heed_val k = key_val(id), v;
	int rc = heed_cursor_get(cur, &k, &v, HEED_SET_RANGE);
	int want = -1;
	for (int r = rank_of[id]; r < NKEYS && want < 0; r++)
		if (s->e[order[r]].present)
			want = order[r];
	if (want < 0 ? rc != HEED_NOTFOUND : rc != 0)
		fail("SET_RANGE key %d: %d", id, rc);
	if (rc == 0) {
		if (id_of(&k) != want || !value_ok(&s->e[want], &v))
			fail("SET_RANGE key %d: got another item than %d", id, want);
		/* One step back is the greatest key below (the named dbs'
		 * records sort before every key: as none). */
		int below = -1;
		for (int r = rank_of[want] - 1; r >= 0 && below < 0; r--)
			if (s->e[order[r]].present)
				below = order[r];
		rc = heed_cursor_get(cur, &k, &v, HEED_PREV);
		if (rc == 0 && is_record(&k))
			rc = HEED_NOTFOUND;
		if (below < 0 ? rc != HEED_NOTFOUND : (rc != 0 || id_of(&k) != below))
			fail("PREV after SET_RANGE %d: %d", id, rc);
	}
	heed_cursor_close(cur);
}

/* Cursor put with HEED_CURRENT (and flags) on key id, or cursor del of it. */
static void op_cursor_write(int id, uint8_t seed, int del, unsigned int flags)
{
	need_wtxn();
	heed_cursor *cur;
	if (heed_cursor_open(wtxn, 0, &cur) != 0)
		fail("cursor_open");
	heed_val k = key_val(id), v;
	int rc = heed_cursor_get(cur, &k, &v, HEED_SET_KEY);
	if (rc != (pending.e[id].present ? 0 : HEED_NOTFOUND))
		fail("SET_KEY key %d: %d", id, rc);
	if (rc == 0 && del) {
		rc = heed_cursor_del(cur, 0);
		if (rc != 0)
			fail("cursor_del key %d: %d", id, rc);
		pending.e[id].present = 0;
		int next = -1;
		for (int r = rank_of[id] + 1; r < NKEYS && next < 0; r++)
			if (pending.e[order[r]].present)
				next = order[r];
		rc = heed_cursor_get(cur, &k, &v, HEED_GET_CURRENT);
		if (next >= 0 && (rc != 0 || id_of(&k) != next))
			fail("after cursor_del of %d the cursor is not on the next key (%d)", id,
			     rc);
	} else if (rc == 0) {
		size_t len = vlen_of(seed);
		fill_value(seed, len);
		heed_val nk = key_val(id), nv = {len, (flags & HEED_RESERVE) ? NULL : vbuf};
		rc = heed_cursor_put(cur, &nk, &nv, HEED_CURRENT | flags);
		if (rc != 0)
			fail("cursor_put CURRENT key %d flags %x: %d", id, flags, rc);
		if (flags & HEED_RESERVE)
			reserve_fill(&nv, len, "cursor_put", id);
		pending.e[id].len = (uint32_t)len;
		pending.e[id].seed = seed;
	}
	heed_cursor_close(cur);
}

/* A read snapshot taken while the write txn is open sees the committed
 * state only. */
static void op_snapshot(int id)
{
	heed_txn *rtxn;
	int rc = heed_txn_begin(env, NULL, HEED_RDONLY, &rtxn);
	if (rc != 0)
		fail("read txn: %d", rc);
	op_get(rtxn, &committed, id);
	check_walk(rtxn, &committed, id & 1);
	dwalk(rtxn, &committed, id % 3, id & 1);
	fwalk(rtxn, &committed);
	fchunks(rtxn, &committed, id % NFKEYS, id & 1);
	heed_txn_abort(rtxn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fresh_env();
	size_t pos = 0;
	for (int ops = 0; ops < MAX_OPS && pos < size; ops++) {
		uint8_t op = data[pos++];
		uint8_t a = pos < size ? data[pos++] : 0;
		uint8_t b = pos < size ? data[pos] : 0;
		uint8_t c = pos + 1 < size ? data[pos + 1] : 0;
		if (op >= 0xf0) {
			static const unsigned int ff[] = {0, HEED_NODUPDATA, HEED_APPENDDUP};
			int k = a % NFKEYS, v = b % NFVALS;

			switch (op % 8) {
			case 0:
				fput(k, v, ff[c % 3]);
				pos += 2;
				break;
			case 1:
				fput_multiple(k, (uint32_t)b << 8 | c | (uint32_t)a << 24, a >> 3,
					      (a & 0x80) ? HEED_NODUPDATA : 0);
				pos += 2;
				break;
			case 2:
				fdel(k, v);
				pos++;
				break;
			case 3:
				fdel(k, -1);
				break;
			case 4:
			case 5:
				need_wtxn();
				fchunks(wtxn, &pending, k, op & 1);
				break;
			case 6:
				need_wtxn();
				fwalk(wtxn, &pending);
				break;
			default:
				fput_badsize(k);
				break;
			}
			continue;
		}
		if (op >= 0xc0) {
			static const unsigned int pf[] = {0, HEED_NODUPDATA, HEED_APPENDDUP,
							  HEED_RESERVE};
			int k = a % NDKEYS, v = b % NDVALS;

			switch ((op - 0xc0) % 8) {
			case 0:
			case 1:
				dput(k, v, pf[c % 4]);
				pos += 2;
				break;
			case 2:
				ddel(k, v);
				pos++;
				break;
			case 3:
				ddel(k, -1);
				break;
			case 4:
				need_wtxn();
				dwalk(wtxn, &pending, b % 3, c & 1);
				pos += 2;
				break;
			case 5:
				dboth(k, v, c & 1, 0, 0);
				pos += 2;
				break;
			case 6:
				dboth(k, v, c & 1, 1, (c & 2) ? HEED_NODUPDATA : 0);
				pos += 2;
				break;
			default:
				need_wtxn();
				dget(wtxn, &pending, k);
				break;
			}
			continue;
		}
		switch (op % 16) {
		case 0:
		case 1:
		case 2:
			op_put(a, b, c, (op & 0x10) ? HEED_RESERVE : 0);
			pos += 2;
			break;
		case 3:
			op_put(a, b, c, HEED_NOOVERWRITE | ((op & 0x10) ? HEED_RESERVE : 0));
			pos += 2;
			break;
		case 4:
			op_put(a, b, c, HEED_APPEND);
			pos += 2;
			break;
		case 5:
		case 6:
			op_del(a);
			break;
		case 7:
			need_wtxn();
			op_get(wtxn, &pending, a);
			break;
		case 8:
		case 9:
			if (depth && (a & 1)) {
				nest_end(op % 16 == 8);
				check_walk(wtxn, &pending, a & 2);
			} else {
				end_wtxn(op % 16 == 8);
			}
			break;
		case 10:
			need_wtxn();
			check_walk(wtxn, &pending, a & 1);
			break;
		case 11:
			need_wtxn();
			op_set_range(wtxn, &pending, a);
			break;
		case 12:
			op_cursor_write(a, b, op & 0x10, (op & 0x20) ? HEED_RESERVE : 0);
			pos++;
			break;
		case 13:
			if (op & 0x10)
				nest_begin();
			else
				op_snapshot(a);
			break;
		case 14:
			need_wtxn();
			if (heed_drop(wtxn, 0, 0) != 0)
				fail("drop main");
			memset(&pending, 0, sizeof(pending));
			break;
		default:
			/* Reopen: the write txn commits first when a is odd. */
			end_wtxn(a & 1);
			heed_env_close(env);
			open_env();
			break;
		}
	}
	end_wtxn(1);
	heed_txn *rtxn;
	if (heed_txn_begin(env, NULL, HEED_RDONLY, &rtxn) != 0)
		fail("final read txn");
	check_walk(rtxn, &committed, 0);
	dwalk(rtxn, &committed, 0, 0);
	dwalk(rtxn, &committed, 1, 1);
	fwalk(rtxn, &committed);
	heed_txn_abort(rtxn);
	heed_env_close(env);
	env = NULL;
	return 0;
}
