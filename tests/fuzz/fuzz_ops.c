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
 * Operations: put (plain, NOOVERWRITE, APPEND), del, get, commit, abort,
 * cursor walks both ways, SET_RANGE, cursor put/del, drop, reopen, and a
 * read snapshot taken while the write txn is open, which must see the
 * committed state only. Nested write txns up to MAX_NEST deep: a child
 * begins (its parent then refuses a get), and commit and abort end the
 * innermost child when their argument is odd (an abort puts back the
 * pending state the child began from), else the top txn with its
 * children; the other operations run in the innermost txn. After every commit heed-check's walker
 * (check.c) must find the file clean.
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

struct entry {
	uint8_t present;
	uint8_t seed;
	uint32_t len;
};

struct state {
	struct entry e[NKEYS];
};

static const char *path;
static int maxkey;
static unsigned char keybuf[NKEYS][1024];
static size_t keylen[NKEYS];
static int order[NKEYS]; /* key ids sorted by key bytes */
static int rank_of[NKEYS];
static unsigned char vbuf[MAX_VLEN];

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

static void op_put(int id, uint8_t cls, uint8_t seed, unsigned int flags)
{
	need_wtxn();
	size_t len = vlen_of(cls);
	fill_value(seed, len);
	heed_val k = key_val(id), v = {len, vbuf};
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
		/* One step back is the greatest key below. */
		int below = -1;
		for (int r = rank_of[want] - 1; r >= 0 && below < 0; r--)
			if (s->e[order[r]].present)
				below = order[r];
		rc = heed_cursor_get(cur, &k, &v, HEED_PREV);
		if (below < 0 ? rc != HEED_NOTFOUND : (rc != 0 || id_of(&k) != below))
			fail("PREV after SET_RANGE %d: %d", id, rc);
	}
	heed_cursor_close(cur);
}

/* Cursor put with HEED_CURRENT on key id, or cursor del of it. */
static void op_cursor_write(int id, uint8_t seed, int del)
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
		heed_val nk = key_val(id), nv = {len, vbuf};
		rc = heed_cursor_put(cur, &nk, &nv, HEED_CURRENT);
		if (rc != 0)
			fail("cursor_put CURRENT key %d: %d", id, rc);
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
		switch (op % 16) {
		case 0:
		case 1:
		case 2:
			op_put(a, b, c, 0);
			pos += 2;
			break;
		case 3:
			op_put(a, b, c, HEED_NOOVERWRITE);
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
			op_cursor_write(a, b, op & 0x10);
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
	heed_txn_abort(rtxn);
	heed_env_close(env);
	env = NULL;
	return 0;
}
