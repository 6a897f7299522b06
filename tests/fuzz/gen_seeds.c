/*
 * gen_seeds: writes the seed corpora of the fuzz targets.
 *   gen_seeds DIR   -> DIR/fuzz_open/<name>.heed, small valid data files
 *                      (empty, a few keys, an overflow value, named
 *                      databases, a two-level tree, 8 KiB pages, dbs in
 *                      the other key orders), damaged
 *                      files that once crashed libheed (a meta whose
 *                      next_pgno * psize wraps around 2^64, a db record
 *                      naming the main root: issue 10), and
 *                      DIR/fuzz_ops/<name>.ops, operation programs.
 * Run by hand when the on-disk format changes; the output is committed in
 * tests/fuzz/corpus/. Exits 1 with a message on any failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heed.h"
#include "internal.h"

static int put_keys(heed_env *env, heed_dbi dbi, int n, size_t vlen, const char *prefix)
{
	heed_txn *txn = NULL;
	int rc = heed_txn_begin(env, NULL, 0, &txn);
	char *v = calloc(1, vlen + 1);
	if (!v)
		rc = ENOMEM;
	for (int i = 0; rc == 0 && i < n; i++) {
		char k[32];
		snprintf(k, sizeof(k), "%s%05d", prefix, i);
		memset(v, 'a' + i % 26, vlen);
		heed_val key = {strlen(k), k}, val = {vlen, v};
		rc = heed_put(txn, dbi, &key, &val, 0);
	}
	free(v);
	if (rc != 0) {
		heed_txn_abort(txn);
		return rc;
	}
	return heed_txn_commit(txn);
}

static int named(heed_env *env)
{
	heed_txn *txn = NULL;
	heed_dbi a, b;
	int rc = heed_txn_begin(env, NULL, 0, &txn);
	if (rc != 0)
		return rc;
	rc = heed_dbi_open(txn, "alpha", HEED_CREATE, &a);
	if (rc == 0)
		rc = heed_dbi_open(txn, "beta", HEED_CREATE, &b);
	if (rc != 0) {
		heed_txn_abort(txn);
		return rc;
	}
	rc = heed_txn_commit(txn);
	if (rc == 0)
		rc = put_keys(env, a, 10, 20, "a");
	if (rc == 0)
		rc = put_keys(env, b, 3, 1500, "b");
	return rc;
}

/* Named dbs in the other orders: REVERSEKEY with REVERSEDUP values (40
 * keys of a few values each), INTEGERKEY (300 size_t keys, a tree with a
 * branch page). */
static int orders(heed_env *env)
{
	heed_txn *txn = NULL;
	heed_dbi r = 0, n = 0;
	int rc = heed_txn_begin(env, NULL, 0, &txn);
	if (rc == 0)
		rc = heed_dbi_open(txn, "reverse",
				   HEED_CREATE | HEED_DUPSORT | HEED_REVERSEKEY | HEED_REVERSEDUP,
				   &r);
	if (rc == 0)
		rc = heed_dbi_open(txn, "integer", HEED_CREATE | HEED_INTEGERKEY, &n);
	for (int i = 0; rc == 0 && i < 300; i++) {
		char k[16], v[16];
		size_t x = (size_t)i * 97u;
		snprintf(k, sizeof(k), "r%03d", i % 40);
		snprintf(v, sizeof(v), "v%04d", i);
		heed_val key = {strlen(k), k}, val = {strlen(v), v}, num = {sizeof(x), &x};
		rc = heed_put(txn, r, &key, &val, 0);
		if (rc == 0)
			rc = heed_put(txn, n, &num, &val, 0);
	}
	if (rc != 0) {
		heed_txn_abort(txn);
		return rc;
	}
	return heed_txn_commit(txn);
}

/* Builds one env file; kind selects the content. */
static int make_env(const char *out, int kind)
{
	heed_env *env = NULL;
	int rc = heed_env_create(&env);
	if (rc == 0 && kind == 5)
		rc = heed_env_set_pagesize(env, 8192);
	if (rc == 0)
		rc = heed_env_set_maxdbs(env, 4);
	if (rc == 0)
		rc = heed_env_open(env, out, HEED_NOSUBDIR, 0644);
	if (rc == 0) {
		switch (kind) {
		case 0:
			break;
		case 1:
			rc = put_keys(env, 0, 20, 12, "k");
			break;
		case 2:
			rc = put_keys(env, 0, 1, 9000, "big");
			break;
		case 3:
			rc = named(env);
			break;
		case 4:
			rc = put_keys(env, 0, 400, 16, "tree");
			if (rc == 0)
				rc = put_keys(env, 0, 100, 16, "tree");
			break;
		case 6:
			rc = orders(env);
			break;
		default:
			rc = put_keys(env, 0, 50, 100, "p");
			break;
		}
	}
	/* The file grows in chunks; seeds keep only the pages in use so they
	 * stay small (libheed must accept that, as after any crash). */
	heed_envinfo info = {0};
	heed_stat st = {0};
	if (rc == 0)
		rc = heed_env_info(env, &info);
	if (rc == 0)
		rc = heed_env_stat(env, &st);
	heed_env_close(env);
	if (rc == 0 && truncate(out, (off_t)((info.last_pgno + 1) * st.psize)) != 0)
		rc = errno;
	return rc;
}

/* The trimmed file opens and holds what was put in it. */
static int reopen(const char *out, int kind)
{
	static const size_t entries[] = {0, 20, 1, 2, 400, 50, 2};
	heed_env *env = NULL;
	heed_stat st;
	int rc = heed_env_create(&env);
	if (rc == 0)
		rc = heed_env_set_maxdbs(env, 4);
	if (rc == 0)
		rc = heed_env_open(env, out, HEED_NOSUBDIR | HEED_RDONLY, 0644);
	if (rc == 0)
		rc = heed_env_stat(env, &st);
	if (rc == 0 && st.entries != entries[kind])
		rc = HEED_CORRUPTED;
	heed_env_close(env);
	return rc;
}

static int write_file(const char *path, const unsigned char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return errno;
	size_t n = fwrite(buf, 1, len, f);
	int rc = fclose(f);
	return n == len && rc == 0 ? 0 : EIO;
}

static int read_file(const char *path, unsigned char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return errno;
	int rc = fseek(f, 0, SEEK_END) == 0 ? 0 : errno;
	long n = rc == 0 ? ftell(f) : -1;
	*buf = n > 0 ? malloc((size_t)n) : NULL;
	if (!*buf || fseek(f, 0, SEEK_SET) != 0 || fread(*buf, 1, (size_t)n, f) != (size_t)n)
		rc = rc ? rc : EIO;
	fclose(f);
	*len = (size_t)n;
	return rc;
}

/* Damage a copy of a valid seed: kind 0 wraps the newest meta's next_pgno
 * (+2^52 pages: next_pgno * 4096 wraps to the real size) with a root past
 * the file; kind 1 wraps both metas; kind 2 points the record of the first
 * named db at the main root (a one-leaf main db). */
static int damage(const char *from, const char *to, int kind)
{
	const uint64_t wrap = (uint64_t)1 << 52;
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc = read_file(from, &buf, &len);
	if (rc != 0 || len < 3 * 4096) {
		free(buf);
		return rc ? rc : EINVAL;
	}
	struct meta *m0 = (struct meta *)buf, *m1 = (struct meta *)(buf + 4096);
	struct meta *newest = m1->txnid > m0->txnid ? m1 : m0;
	if (kind == 0 || kind == 1) {
		newest->next_pgno += wrap;
		newest->main.root += wrap;
		meta_seal(newest);
		if (kind == 1) {
			struct meta *older = newest == m0 ? m1 : m0;
			older->next_pgno += wrap;
			meta_seal(older);
		}
	} else {
		uint64_t root = newest->main.root;
		rc = EINVAL;
		if (newest->main.depth == 1 && (root + 1) * 4096 <= len) {
			unsigned char *p = buf + root * 4096;
			for (unsigned int i = 0; i < page_hdr(p)->nkeys && rc; i++) {
				unsigned char *n = page_node(p, i);
				if (!(node_flags(n) & N_DBREC))
					continue;
				struct dbrec r;
				memcpy(&r, node_data(n), sizeof(r));
				r.root = root;
				r.depth = 1;
				memcpy(node_data(n), &r, sizeof(r));
				rc = 0;
			}
		}
	}
	if (rc == 0)
		rc = write_file(to, buf, len);
	free(buf);
	return rc;
}

/* Programs for fuzz_ops: opcode, key, value class, seed (see fuzz_ops.c). */
static const unsigned char prog_basic[] = {0, 1,  1, 1, 0, 2,  2, 2, 7, 1,  8,
					   0, 10, 0, 5, 1, 10, 1, 8, 0, 13, 2};
static const unsigned char prog_big[] = {0, 9, 4,  9, 0,  10, 9,  10, 3, 9, 1,	1,
					 8, 0, 11, 5, 12, 9,  24, 7,  8, 0, 10, 1};
static const unsigned char prog_append[] = {4,	1, 1, 1, 4, 2,	1, 1,  4, 1,  1, 1, 4,
					    63, 2, 2, 8, 0, 15, 1, 10, 0, 28, 2, 9, 0};
static const unsigned char prog_churn[] = {0,  40, 3,  3,  0,  41, 3,  4,  0, 42, 3,  5, 8,
					   0,  5,  41, 14, 0,  0,  43, 2,  2, 13, 43, 9, 0,
					   15, 0,  10, 1,  11, 40, 12, 42, 6, 8,  0};
/* Nested txns: a child (opcode 29) with a grandchild aborted and one
 * committed (8/9 with an odd argument end the innermost), the top
 * committed with a child open, then aborted with one. */
static const unsigned char prog_nested[] = {
	0, 1, 1, 1, 29, 0, 0,  2, 2, 2, 5, 1, 29, 0, 0,	 3, 4,	3, 9, 1, 10, 0, 29, 0, 0,  4,
	1, 4, 8, 1, 8,	1, 29, 0, 0, 5, 1, 5, 8,  0, 10, 1, 29, 0, 0, 6, 1,  6, 9,  0, 13, 2};

/* The DUPSORT db (opcodes 0xc0 up): lists, a list grown into a tree, trees
 * (400-byte values), every walk, GET_BOTH, cursor deletes, commit, abort. */
static const unsigned char prog_dups[] = {
	0xc0, 1,    3,	  0,	0xc0, 1,    7,	  0,	0xc0, 1,    11,	  0,	0xc0, 1,    1,
	0,    0xc0, 1,	  5,	0,    0xc0, 2,	  1,	0,    0xc0, 2,	  2,	0,    0xc0, 2,
	5,    0,    0xc0, 2,	6,    0,    0xc0, 2,	9,    1,    0xc0, 2,	9,    2,    0xc0,
	2,    13,   0,	  0xc0, 2,    17,   0,	  0xc0, 2,    21,   0,	  0xc4, 0,    0,    0,
	0xc4, 0,    1,	  1,	0xc4, 0,    2,	  0,	8,    0,    0xc5, 1,	4,    1,    0xc6,
	1,    5,    0,	  0xc6, 2,    0,    3,	  0xc2, 1,    7,    0xc3, 2,	0xc7, 1,    0xc4,
	0,    1,    0,	  8,	0,    13,   3,	  0xc0, 3,    31,   2,	  0xc0, 3,    1,    2,
	9,    0,    15,	  1,	0xc4, 0,    0,	  1};

/* HEED_RESERVE (opcode 18, and 19 with NOOVERWRITE): inline, overflow and
 * replaced values, one refused on the existing key; a cursor put CURRENT
 * with it (44); the DUPSORT db refusing it (0xc0 with 3); then enough
 * reserved values of about 200 bytes in a row to split leaves; commit, reopen, walk. */
static const unsigned char prog_reserve[] = {
	18, 1,	1,  5,	18, 2,	3,    6,  18, 3,  4,  7,  19, 1,  2,  9,  18, 1,  2,  9,  10,
	0,  44, 2,  4,	8,  0,	0xc0, 1,  3,  3,  18, 40, 17, 40, 18, 41, 22, 41, 18, 42, 12,
	42, 18, 43, 17, 43, 18, 44,   22, 44, 18, 45, 12, 45, 18, 46, 17, 46, 18, 47, 22, 47,
	18, 48, 12, 48, 18, 49, 17,   49, 18, 50, 22, 50, 18, 51, 12, 51, 18, 52, 17, 52, 18,
	53, 22, 53, 18, 54, 12, 54,   18, 55, 17, 55, 18, 56, 22, 56, 18, 57, 12, 57, 18, 58,
	17, 58, 18, 59, 22, 59, 18,   60, 12, 60, 18, 61, 17, 61, 18, 62, 22, 62, 18, 63, 12,
	63, 18, 64, 17, 64, 18, 65,   22, 65, 18, 66, 12, 66, 18, 67, 17, 67, 18, 68, 22, 68,
	18, 69, 12, 69, 18, 70, 17,   70, 18, 71, 22, 71, 8,  0,  15, 1,  10, 0,  10, 1};

/* The DUPFIXED db (opcodes 0xf0 up): MULTIPLE puts of 400-byte values (3
 * chunks a key), chunk reads both ways, NODUPDATA and APPENDDUP refusals,
 * values of another size, deletes, a MULTIPLE put stopped by a refusal,
 * commit, abort, reopen, walks. */
static const unsigned char prog_fixed[] = {
	0xf1, 3,    0xff, 0xff, 0xf4, 3,    0xf5, 3,	0xf1, 1,    0xaa, 0x55, 0xf0, 2,
	5,    1,    0xf0, 2,	5,    1,    0xf0, 2,	3,    2,    0xf7, 2,	0xf7, 4,
	0xf6, 0,    8,	  0,	0xf2, 3,    4,	  0xf3, 1,    0xf1, 0x83, 0x0f, 0xf0, 0xf5,
	3,    0xf6, 0,	  9,	0,    0xf4, 3,	  15,	1,    0xf6, 0,	  0xf5, 3};

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds DIR\n");
		return 1;
	}
	static const char *names[] = {"empty", "small",	 "overflow", "named",
				      "tree",  "page8k", "orders"};
	char path[4096], lock[4200];
	snprintf(path, sizeof(path), "%s/fuzz_open", argv[1]);
	mkdir(argv[1], 0755);
	mkdir(path, 0755);
	for (int kind = 0; kind < 7; kind++) {
		snprintf(path, sizeof(path), "%s/fuzz_open/%s.heed", argv[1], names[kind]);
		snprintf(lock, sizeof(lock), "%s-lock", path);
		unlink(path);
		int rc = make_env(path, kind);
		if (rc == 0)
			rc = reopen(path, kind);
		unlink(lock);
		if (rc != 0) {
			fprintf(stderr, "gen_seeds: %s: %s\n", path, heed_strerror(rc));
			return 1;
		}
	}
	static const struct {
		const char *name, *from;
	} damaged[] = {
		{"meta-next-pgno-wraps", "small"},
		{"meta-both-wrap", "small"},
		{"dbrec-names-main-root", "named"},
	};
	for (int kind = 0; kind < 3; kind++) {
		char from[4096];
		snprintf(from, sizeof(from), "%s/fuzz_open/%s.heed", argv[1], damaged[kind].from);
		snprintf(path, sizeof(path), "%s/fuzz_open/%s.heed", argv[1], damaged[kind].name);
		int rc = damage(from, path, kind);
		if (rc != 0) {
			fprintf(stderr, "gen_seeds: %s: %s\n", path, strerror(rc));
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/fuzz_ops", argv[1]);
	mkdir(path, 0755);
	static const struct {
		const char *name;
		const unsigned char *prog;
		size_t len;
	} progs[] = {
		{"basic", prog_basic, sizeof(prog_basic)},
		{"big", prog_big, sizeof(prog_big)},
		{"append", prog_append, sizeof(prog_append)},
		{"churn", prog_churn, sizeof(prog_churn)},
		{"nested", prog_nested, sizeof(prog_nested)},
		{"dups", prog_dups, sizeof(prog_dups)},
		{"reserve", prog_reserve, sizeof(prog_reserve)},
		{"fixed", prog_fixed, sizeof(prog_fixed)},
	};
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		snprintf(path, sizeof(path), "%s/fuzz_ops/%s.ops", argv[1], progs[i].name);
		int rc = write_file(path, progs[i].prog, progs[i].len);
		if (rc != 0) {
			fprintf(stderr, "gen_seeds: %s: %s\n", path, strerror(rc));
			return 1;
		}
	}
	return 0;
}
