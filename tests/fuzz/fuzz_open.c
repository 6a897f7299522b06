/*
 * fuzz_open: the fuzz input is written as a heed data file (HEED_NOSUBDIR)
 * and opened as an environment, which is then walked: env stat and info,
 * cursors over the main database both ways, a get and a SET_RANGE of every
 * key seen, every main-database key tried as a named database and walked,
 * heed-check's walker, a small write txn (put, del, commit) and a drop of
 * the main database with its named ones (aborted). Whatever the bytes, libheed
 * must return errors, never crash, hang, leak or touch memory out of
 * bounds: libFuzzer with ASan and UBSan finds out.
 *
 * Every loop is bounded (MAX_STEPS), so a hang is libheed's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_tmp.h"
#include "heed.h"
#include "internal.h"

#define MAX_STEPS 4096
#define MAX_NAMES 8

static const char *path;

static void die(const char *what, int err)
{
	fprintf(stderr, "fuzz_open: %s: %s\n", what, strerror(err));
	abort();
}

static void write_input(const uint8_t *data, size_t size)
{
	path = fuzz_env_path("fuzz-open");
	if (!path)
		die("mkdtemp", errno);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die(path, errno);
	size_t off = 0;
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0)
			die("write", n < 0 ? errno : EIO);
		off += (size_t)n;
	}
	close(fd);
}

/* Reads every byte returned so ASan sees any out-of-bounds pointer. */
static unsigned int touch(const heed_val *v)
{
	unsigned int sum = 0;
	const unsigned char *p = v->data;
	for (size_t i = 0; i < v->size; i++)
		sum += p[i];
	return sum;
}

static volatile unsigned int sink;

/* A damaged file is expected here; only a crash or a leak is a finding. */
static void ignore_report(void *arg, const char *msg)
{
	(void)arg;
	sink += (unsigned int)msg[0];
}

/* Walks dbi both ways; copies up to MAX_NAMES short keys into names. */
static int walk(heed_txn *txn, heed_dbi dbi, char names[][64], int *nnames)
{
	heed_cursor *cur = NULL;
	int rc = heed_cursor_open(txn, dbi, &cur);
	if (rc != 0)
		return rc;
	heed_val k, v;
	int steps = 0;
	for (rc = heed_cursor_get(cur, &k, &v, HEED_FIRST); rc == 0 && steps < MAX_STEPS;
	     rc = heed_cursor_get(cur, &k, &v, HEED_NEXT), steps++) {
		sink += touch(&k) + touch(&v);
		if (names && *nnames < MAX_NAMES && k.size > 0 && k.size < 64 &&
		    !memchr(k.data, 0, k.size)) {
			memcpy(names[*nnames], k.data, k.size);
			names[*nnames][k.size] = '\0';
			(*nnames)++;
		}
		/* A point lookup and a range seek of the same key. */
		heed_val g;
		if (heed_get(txn, dbi, &k, &g) == 0)
			sink += touch(&g);
		heed_cursor *c2 = NULL;
		if (heed_cursor_open(txn, dbi, &c2) == 0) {
			heed_val rk = k, rv;
			if (heed_cursor_get(c2, &rk, &rv, HEED_SET_RANGE) == 0)
				sink += touch(&rk) + touch(&rv);
			if (heed_cursor_get(c2, &rk, &rv, HEED_PREV) == 0)
				sink += touch(&rk) + touch(&rv);
			heed_cursor_close(c2);
		}
	}
	steps = 0;
	for (rc = heed_cursor_get(cur, &k, &v, HEED_LAST); rc == 0 && steps < MAX_STEPS;
	     rc = heed_cursor_get(cur, &k, &v, HEED_PREV), steps++)
		sink += touch(&k) + touch(&v);
	heed_cursor_close(cur);
	return rc;
}

static void small_write(heed_env *env)
{
	heed_txn *txn = NULL;
	if (heed_txn_begin(env, NULL, 0, &txn) != 0)
		return;
	heed_val k = {4, "fuzz"}, v = {5, "value"};
	int rc = heed_put(txn, 0, &k, &v, 0);
	char big[6000];
	memset(big, 'b', sizeof(big));
	heed_val bk = {3, "big"}, bv = {sizeof(big), big};
	if (rc == 0)
		rc = heed_put(txn, 0, &bk, &bv, 0);
	heed_cursor *cur = NULL;
	if (rc == 0 && heed_cursor_open(txn, 0, &cur) == 0) {
		heed_val ck, cv;
		if (heed_cursor_get(cur, &ck, &cv, HEED_FIRST) == 0)
			rc = heed_cursor_del(cur, 0);
		heed_cursor_close(cur);
	}
	if (rc == 0 || rc == HEED_NOTFOUND) {
		heed_txn_commit(txn);
	} else {
		heed_txn_abort(txn);
	}
}

/* Free every tree, the named dbs' too, then abort: the walk follows every
 * page and record of the file. */
static void drop_all(heed_env *env)
{
	heed_txn *txn = NULL;
	if (heed_txn_begin(env, NULL, 0, &txn) != 0)
		return;
	heed_drop(txn, 0, 0);
	heed_txn_abort(txn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	write_input(data, size);
	heed_env *env = NULL;
	if (heed_env_create(&env) != 0)
		die("heed_env_create", ENOMEM);
	heed_env_set_mapsize(env, 64 << 20);
	heed_env_set_maxdbs(env, MAX_NAMES);
	if (heed_env_open(env, path, HEED_NOSUBDIR | HEED_NOSYNC, 0600) != 0) {
		heed_env_close(env);
		return 0;
	}
	heed_stat st;
	heed_envinfo info;
	heed_env_stat(env, &st);
	heed_env_info(env, &info);
	/* heed-check's walker meets the same bytes. */
	size_t pages;
	heed_env_check(env, ignore_report, NULL, &pages);

	heed_txn *txn = NULL;
	if (heed_txn_begin(env, NULL, HEED_RDONLY, &txn) == 0) {
		char names[MAX_NAMES][64];
		int nnames = 0;
		heed_dbi_stat(txn, 0, &st);
		walk(txn, 0, names, &nnames);
		for (int i = 0; i < nnames; i++) {
			heed_dbi dbi;
			if (heed_dbi_open(txn, names[i], 0, &dbi) != 0)
				continue;
			heed_dbi_stat(txn, dbi, &st);
			walk(txn, dbi, NULL, NULL);
		}
		heed_txn_abort(txn);
	}
	drop_all(env);
	small_write(env);
	heed_env_close(env);
	return 0;
}
