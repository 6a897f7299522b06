/*
 * test_env.c - the environment through core/heed.h: map full and regrow,
 * value sizes from 0 bytes to 1 GiB, key size limits, page sizes, damaged
 * and foreign files, and several writer processes on one env.
 *
 * Damaged files are opened and read in a forked child: the parent checks
 * that the child was not killed by a signal and that every call returned an
 * allowed code. The data file is reached with HEED_NOSUBDIR (the path is the
 * file itself) so the test needs no knowledge of the directory layout.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>

#include "common.h"

static char dir[256];
static char file[300];
static heed_env *env;

static void setup(void)
{
	tmpdir_make(dir, sizeof(dir), "env");
	snprintf(file, sizeof(file), "%s/data", dir);
}

static void teardown(void)
{
	heed_env_close(env);
	env = NULL;
	tmpdir_remove(dir);
}

TestSuite(env, .init = setup, .fini = teardown, .timeout = 600);

static heed_txn *begin(heed_env *e, unsigned int flags)
{
	heed_txn *txn = NULL;

	HEED_OK(heed_txn_begin(e, NULL, flags, &txn));
	return txn;
}

static heed_dbi main_dbi(heed_txn *txn)
{
	heed_dbi dbi = 0;

	HEED_OK(heed_dbi_open(txn, NULL, 0, &dbi));
	return dbi;
}

static void fill_pattern(unsigned char *buf, size_t len, uint64_t tag)
{
	struct rng r = {tag};
	size_t i;
	uint64_t w;

	for (i = 0; i + 8 <= len; i += 8) {
		w = rng_next(&r);
		memcpy(buf + i, &w, 8);
	}
	for (; i < len; i++)
		buf[i] = (unsigned char)rng_next(&r);
}

/* FNV-1a over 8-byte words then the tail: fast enough for 1 GiB. */
static uint64_t checksum(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL, w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static void key_n(char *buf, size_t len, int i)
{
	snprintf(buf, len, "key-%08d", i);
}

Test(env, map_full_then_grow)
{
	heed_txn *txn;
	heed_dbi dbi;
	heed_val key, val;
	heed_envinfo info;
	unsigned char vb[2000];
	char kb[32];
	int i, rc = 0, failed_at = -1;

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 1 << 20, 0));
	HEED_OK(heed_env_info(env, &info));
	cr_assert_eq(info.mapsize, (size_t)1 << 20);
	txn = begin(env, 0);
	dbi = main_dbi(txn);
	key = hs("keep");
	val = hs("me");
	HEED_OK(heed_put(txn, dbi, &key, &val, 0));
	HEED_OK(heed_txn_commit(txn));

	/* 4 MB into a 1 MiB map: MAP_FULL, and the txn is failed. */
	txn = begin(env, 0);
	for (i = 0; i < 2000; i++) {
		key_n(kb, sizeof(kb), i);
		fill_pattern(vb, sizeof(vb), (uint64_t)i);
		key = hs(kb);
		val = hv(vb, sizeof(vb));
		rc = heed_put(txn, dbi, &key, &val, 0);
		if (rc) {
			failed_at = i;
			break;
		}
	}
	HEED_RC(rc, HEED_MAP_FULL);
	cr_assert_gt(failed_at, 10, "MAP_FULL after only %d values in a 1 MiB map", failed_at);
	heed_txn_abort(txn);

	/* The env is still usable and holds the previous commit only. */
	txn = begin(env, HEED_RDONLY);
	key = hs("keep");
	HEED_OK(heed_get(txn, dbi, &key, &val));
	key_n(kb, sizeof(kb), 0);
	key = hs(kb);
	HEED_RC(heed_get(txn, dbi, &key, &val), HEED_NOTFOUND);
	heed_txn_abort(txn);
	txn = begin(env, 0);
	key = hs("small");
	val = hs("write");
	HEED_OK(heed_put(txn, dbi, &key, &val, 0));
	HEED_OK(heed_txn_commit(txn));

	/* Grow the open env and retry the same txn: it fits now. */
	HEED_OK(heed_env_set_mapsize(env, 64 << 20));
	HEED_OK(heed_env_info(env, &info));
	cr_assert_eq(info.mapsize, (size_t)64 << 20);
	txn = begin(env, 0);
	for (i = 0; i < 2000; i++) {
		key_n(kb, sizeof(kb), i);
		fill_pattern(vb, sizeof(vb), (uint64_t)i);
		key = hs(kb);
		val = hv(vb, sizeof(vb));
		HEED_OK(heed_put(txn, dbi, &key, &val, 0));
	}
	HEED_OK(heed_txn_commit(txn));
	/* The map cannot shrink below what the file uses. */
	HEED_RC(heed_env_set_mapsize(env, 1 << 20), EINVAL);

	txn = begin(env, HEED_RDONLY);
	for (i = 0; i < 2000; i += 7) {
		key_n(kb, sizeof(kb), i);
		fill_pattern(vb, sizeof(vb), (uint64_t)i);
		key = hs(kb);
		HEED_OK(heed_get(txn, dbi, &key, &val));
		cr_assert(val.size == sizeof(vb) && memcmp(val.data, vb, sizeof(vb)) == 0,
			  "value %d differs after the regrow", i);
	}
	heed_txn_abort(txn);
	heed_env_close(env);
	env = NULL;
	HEED_CHECK_CLEAN(dir);
	/* A reopen with the default map size sees everything. */
	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 0));
	txn = begin(env, HEED_RDONLY);
	dbi = main_dbi(txn);
	key_n(kb, sizeof(kb), 1999);
	key = hs(kb);
	HEED_OK(heed_get(txn, dbi, &key, &val));
	heed_txn_abort(txn);
}

Test(env, value_sizes)
{
	static const unsigned int psizes[] = {4096, 16384};
	size_t sizes[16], n = 0, i;
	unsigned int p;
	unsigned char *buf;
	heed_txn *txn;
	heed_dbi dbi;
	heed_val key, val;
	heed_stat st;
	char kb[32];

	for (p = 0; p < 2; p++) {
		size_t ps = psizes[p];
		char sub[300];

		snprintf(sub, sizeof(sub), "%s/p%zu", dir, ps);
		cr_assert_eq(mkdir(sub, 0755), 0);
		n = 0;
		sizes[n++] = 0;
		sizes[n++] = 1;
		sizes[n++] = ps / 4;
		sizes[n++] = ps / 2;
		sizes[n++] = ps - 1;
		sizes[n++] = ps;
		sizes[n++] = ps + 1;
		sizes[n++] = 2 * ps;
		sizes[n++] = 3 * ps + 17;
		sizes[n++] = 100 * ps;
		sizes[n++] = 1000 * ps + 5;
		buf = malloc(1000 * ps + 5);
		cr_assert_not_null(buf);

		HEED_OK(env_open_dir(&env, sub, HEED_NOSYNC, (unsigned int)ps, 0, 0));
		txn = begin(env, 0);
		dbi = main_dbi(txn);
		for (i = 0; i < n; i++) {
			snprintf(kb, sizeof(kb), "v%02zu", i);
			fill_pattern(buf, sizes[i], i + ps);
			key = hs(kb);
			val = hv(buf, sizes[i]);
			HEED_OK(heed_put(txn, dbi, &key, &val, 0));
		}
		HEED_OK(heed_txn_commit(txn));
		HEED_OK(heed_env_stat(env, &st));
		cr_assert_eq(st.entries, n);
		cr_assert_geq(st.overflow_pages, 1000 + 100, "psize %zu: %zu overflow pages", ps,
			      st.overflow_pages);

		txn = begin(env, HEED_RDONLY);
		for (i = 0; i < n; i++) {
			snprintf(kb, sizeof(kb), "v%02zu", i);
			fill_pattern(buf, sizes[i], i + ps);
			key = hs(kb);
			HEED_OK(heed_get(txn, dbi, &key, &val));
			cr_assert_eq(val.size, sizes[i], "psize %zu: value %zu has %zu bytes", ps,
				     i, val.size);
			cr_assert(sizes[i] == 0 || memcmp(val.data, buf, sizes[i]) == 0,
				  "psize %zu: value of %zu bytes differs", ps, sizes[i]);
		}
		heed_txn_abort(txn);

		/* Swap big and small values, delete some: overflow pages are
		 * freed and reused. */
		txn = begin(env, 0);
		for (i = 0; i < n; i++) {
			snprintf(kb, sizeof(kb), "v%02zu", i);
			key = hs(kb);
			if (i % 3 == 0) {
				HEED_OK(heed_del(txn, dbi, &key, NULL));
				continue;
			}
			fill_pattern(buf, sizes[n - 1 - i], 1000 + i);
			val = hv(buf, sizes[n - 1 - i]);
			HEED_OK(heed_put(txn, dbi, &key, &val, 0));
		}
		HEED_OK(heed_txn_commit(txn));
		txn = begin(env, HEED_RDONLY);
		for (i = 0; i < n; i++) {
			snprintf(kb, sizeof(kb), "v%02zu", i);
			key = hs(kb);
			if (i % 3 == 0) {
				HEED_RC(heed_get(txn, dbi, &key, &val), HEED_NOTFOUND);
				continue;
			}
			fill_pattern(buf, sizes[n - 1 - i], 1000 + i);
			HEED_OK(heed_get(txn, dbi, &key, &val));
			cr_assert_eq(val.size, sizes[n - 1 - i]);
			cr_assert(val.size == 0 || memcmp(val.data, buf, val.size) == 0,
				  "psize %zu: swapped value %zu differs", ps, i);
		}
		heed_txn_abort(txn);
		heed_env_close(env);
		env = NULL;
		free(buf);
		HEED_CHECK_CLEAN(sub);
	}
}

Test(env, one_gib_value, .timeout = 900)
{
	const size_t gib = (size_t)1 << 30;
	struct statvfs vfs;
	unsigned char *buf;
	heed_txn *txn;
	heed_dbi dbi;
	heed_val key = hs("huge"), val;
	heed_stat st;
	uint64_t sum;

	cr_assert_eq(statvfs(dir, &vfs), 0, "statvfs %s: %s", dir, strerror(errno));
	cr_assert_geq((uint64_t)vfs.f_bavail * vfs.f_frsize, (uint64_t)3 * gib,
		      "%s has less than 3 GiB free: a 1 GiB value cannot be tested here", dir);
	buf = mmap(NULL, gib, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(buf, MAP_FAILED, "mmap 1 GiB: %s", strerror(errno));
	fill_pattern(buf, gib, 42);
	sum = checksum(buf, gib);

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 3 * gib, 0));
	txn = begin(env, 0);
	dbi = main_dbi(txn);
	val = hv(buf, gib);
	HEED_OK(heed_put(txn, dbi, &key, &val, 0));
	key = hs("small");
	val = hs("neighbour");
	HEED_OK(heed_put(txn, dbi, &key, &val, 0));
	HEED_OK(heed_txn_commit(txn));
	munmap(buf, gib);

	HEED_OK(heed_env_stat(env, &st));
	cr_assert_geq(st.overflow_pages, gib / st.psize);
	txn = begin(env, HEED_RDONLY);
	key = hs("huge");
	HEED_OK(heed_get(txn, dbi, &key, &val));
	cr_assert_eq(val.size, gib);
	cr_assert_eq(checksum(val.data, val.size), sum, "the 1 GiB value reads back different");
	key = hs("small");
	HEED_OK(heed_get(txn, dbi, &key, &val));
	cr_assert(val.size == 9 && memcmp(val.data, "neighbour", 9) == 0);
	heed_txn_abort(txn);

	/* Delete it: its pages are freed and the file stays consistent. */
	txn = begin(env, 0);
	key = hs("huge");
	HEED_OK(heed_del(txn, dbi, &key, NULL));
	HEED_OK(heed_txn_commit(txn));
	HEED_OK(heed_env_stat(env, &st));
	cr_assert_eq(st.overflow_pages, 0);
	heed_env_close(env);
	env = NULL;
	HEED_CHECK_CLEAN(dir);
}

static void key_limits(unsigned int psize)
{
	heed_txn *txn;
	heed_dbi dbi;
	heed_cursor *cur;
	heed_val key, val = hs("v"), k2;
	unsigned char *kb;
	int maxks;
	char sub[300];

	snprintf(sub, sizeof(sub), "%s/k%u", dir, psize);
	cr_assert_eq(mkdir(sub, 0755), 0);
	HEED_OK(env_open_dir(&env, sub, HEED_NOSYNC, psize, 0, 0));
	maxks = heed_env_get_maxkeysize(env);
	cr_assert_geq(maxks, 511);
	kb = malloc((size_t)maxks + 1);
	cr_assert_not_null(kb);
	memset(kb, 'k', (size_t)maxks + 1);

	txn = begin(env, 0);
	dbi = main_dbi(txn);
	key = hv(kb, (size_t)maxks);
	HEED_OK(heed_put(txn, dbi, &key, &val, 0));
	/* Many maximal keys, differing only at the end: splits with big keys. */
	for (int i = 0; i < 200; i++) {
		kb[maxks - 1] = (unsigned char)i;
		kb[maxks - 2] = (unsigned char)(i >> 8);
		HEED_OK(heed_put(txn, dbi, &key, &val, 0));
	}
	memset(kb, 'k', (size_t)maxks + 1);
	HEED_OK(heed_get(txn, dbi, &key, &val));

	key = hv(kb, (size_t)maxks + 1);
	HEED_RC(heed_put(txn, dbi, &key, &val, 0), HEED_BAD_VALSIZE);
	HEED_RC(heed_get(txn, dbi, &key, &val), HEED_BAD_VALSIZE);
	HEED_RC(heed_del(txn, dbi, &key, NULL), HEED_BAD_VALSIZE);
	HEED_OK(heed_cursor_open(txn, dbi, &cur));
	HEED_RC(heed_cursor_put(cur, &key, &val, 0), HEED_BAD_VALSIZE);
	k2 = key;
	HEED_RC(heed_cursor_get(cur, &k2, &val, HEED_SET), HEED_BAD_VALSIZE);
	k2 = hv(kb, (size_t)maxks);
	HEED_OK(heed_cursor_get(cur, &k2, &val, HEED_SET_KEY));
	cr_assert_eq(k2.size, (size_t)maxks);
	heed_cursor_close(cur);
	HEED_OK(heed_txn_commit(txn));
	txn = begin(env, HEED_RDONLY);
	key = hv(kb, (size_t)maxks);
	HEED_OK(heed_get(txn, dbi, &key, &val));
	heed_txn_abort(txn);
	heed_env_close(env);
	env = NULL;
	free(kb);
	HEED_CHECK_CLEAN(sub);
}

Test(env, key_size_limits)
{
	key_limits(4096);
	key_limits(65536);
}

Test(env, page_sizes_persist)
{
	unsigned int ps, other;
	heed_txn *txn;
	heed_dbi dbi;
	heed_val key, val;
	heed_stat st;
	struct stat sb;
	char kb[32], fpath[320];
	int i;

	for (ps = 4096; ps <= 65536; ps *= 2) {
		snprintf(fpath, sizeof(fpath), "%s/ps%u.heed", dir, ps);
		HEED_OK(env_open_dir(&env, fpath, HEED_NOSYNC | HEED_NOSUBDIR, ps, 0, 0));
		HEED_OK(heed_env_stat(env, &st));
		cr_assert_eq(st.psize, ps);
		txn = begin(env, 0);
		dbi = main_dbi(txn);
		/* Enough data for a branch level at every page size. */
		for (i = 0; i < 6000; i++) {
			key_n(kb, sizeof(kb), i);
			key = hs(kb);
			val = hv(kb, 24);
			HEED_OK(heed_put(txn, dbi, &key, &val, 0));
		}
		HEED_OK(heed_txn_commit(txn));
		heed_env_close(env);
		env = NULL;
		cr_assert_eq(stat(fpath, &sb), 0);
		cr_assert_eq(sb.st_size % ps, 0, "file of %lld bytes, not whole %u-byte pages",
			     (long long)sb.st_size, ps);

		/* Reopen asking for another size: the file's wins. */
		other = ps == 4096 ? 65536 : 4096;
		HEED_OK(env_open_dir(&env, fpath, HEED_NOSYNC | HEED_NOSUBDIR, other, 0, 0));
		HEED_OK(heed_env_stat(env, &st));
		cr_assert_eq(st.psize, ps, "file made with %u-byte pages reopened as %u", ps,
			     st.psize);
		cr_assert_eq(st.entries, 6000);
		cr_assert_geq(st.depth, 2);
		txn = begin(env, HEED_RDONLY);
		dbi = main_dbi(txn);
		for (i = 0; i < 6000; i += 131) {
			key_n(kb, sizeof(kb), i);
			key = hs(kb);
			HEED_OK(heed_get(txn, dbi, &key, &val));
			cr_assert(val.size == 24 && memcmp(val.data, kb, 24) == 0);
		}
		heed_txn_abort(txn);
		/* It keeps taking writes at its own size. */
		txn = begin(env, 0);
		key = hs("after-reopen");
		val = hs("ok");
		HEED_OK(heed_put(txn, dbi, &key, &val, 0));
		HEED_OK(heed_txn_commit(txn));
		heed_env_close(env);
		env = NULL;
		HEED_CHECK_CLEAN(fpath);
	}
}

/*
 * Damaged and foreign files. probe_file() opens path (a data file, with
 * HEED_NOSUBDIR) in a child and exercises it: full scans both ways, a get
 * of every key the scan returned plus the keys the test wrote, then a write
 * txn. Every call must return success or one of the codes a damaged file
 * may give. The child exits 0 when they all did, 2 + the step when one did
 * not; the parent fails on any other exit and on any signal.
 */
static int allowed(int rc)
{
	return rc == 0 || rc == HEED_NOTFOUND || rc == HEED_CORRUPTED || rc == HEED_INVALID ||
	       rc == HEED_VERSION_MISMATCH || rc == HEED_BAD_TXN || rc == HEED_PANIC ||
	       rc == HEED_MAP_FULL || rc == EIO || rc == EINVAL;
}

#define PROBE_CHECK(expr, step)                                                                    \
	do {                                                                                       \
		int prc_ = (expr);                                                                 \
		if (!allowed(prc_)) {                                                              \
			fprintf(stderr, "probe step %d: %s returned %d (%s)\n", (step), #expr,     \
				prc_, heed_strerror(prc_));                                        \
			_exit(2 + (step));                                                         \
		}                                                                                  \
		if (prc_)                                                                          \
			goto done;                                                                 \
	} while (0)

/* Bytes read from the map are folded here so no read is optimized away. */
static volatile uint64_t probe_sink;

static void probe_child(const char *path, int nkeys)
{
	heed_env *e = NULL;
	heed_txn *txn = NULL;
	heed_cursor *cur = NULL;
	heed_dbi dbi;
	heed_val key, val;
	char kb[32];
	int i, rc, steps;

	PROBE_CHECK(env_open_dir(&e, path, HEED_NOSUBDIR | HEED_NOSYNC, 0, 0, 0), 0);
	PROBE_CHECK(heed_txn_begin(e, NULL, HEED_RDONLY, &txn), 1);
	PROBE_CHECK(heed_dbi_open(txn, NULL, 0, &dbi), 2);
	PROBE_CHECK(heed_cursor_open(txn, dbi, &cur), 3);
	/* Bounded walks: a damaged tree could loop. */
	for (steps = 0; steps < 100000; steps++) {
		rc = heed_cursor_get(cur, &key, &val, steps ? HEED_NEXT : HEED_FIRST);
		PROBE_CHECK(rc == HEED_NOTFOUND ? 0 : rc, 4);
		if (rc)
			break;
		/* Touch every byte handed back: it must be mapped. */
		probe_sink ^= checksum(key.data, key.size) ^ checksum(val.data, val.size);
	}
	for (steps = 0; steps < 100000; steps++) {
		rc = heed_cursor_get(cur, &key, &val, steps ? HEED_PREV : HEED_LAST);
		PROBE_CHECK(rc == HEED_NOTFOUND ? 0 : rc, 5);
		if (rc)
			break;
		probe_sink ^= checksum(key.data, key.size) ^ checksum(val.data, val.size);
	}
	heed_cursor_close(cur);
	cur = NULL;
	for (i = 0; i < nkeys; i++) {
		key_n(kb, sizeof(kb), i);
		key = hs(kb);
		rc = heed_get(txn, dbi, &key, &val);
		PROBE_CHECK(rc == HEED_NOTFOUND ? 0 : rc, 6);
		if (!rc)
			probe_sink ^= checksum(val.data, val.size);
	}
	heed_txn_abort(txn);
	txn = NULL;
	PROBE_CHECK(heed_txn_begin(e, NULL, 0, &txn), 7);
	PROBE_CHECK(heed_dbi_open(txn, NULL, 0, &dbi), 8);
	for (i = 0; i < 50; i++) {
		key_n(kb, sizeof(kb), i * 37);
		key = hs(kb);
		val = hs("rewritten");
		rc = heed_put(txn, dbi, &key, &val, 0);
		PROBE_CHECK(rc, 9);
		key_n(kb, sizeof(kb), i * 41 + 1);
		key = hs(kb);
		rc = heed_del(txn, dbi, &key, NULL);
		PROBE_CHECK(rc == HEED_NOTFOUND ? 0 : rc, 10);
	}
	rc = heed_txn_commit(txn);
	txn = NULL;
	PROBE_CHECK(rc, 11);
done:
	heed_cursor_close(cur);
	heed_txn_abort(txn);
	heed_env_close(e);
	_exit(0);
}

/* Run probe_child on path; fails the test with what on a crash or a
 * disallowed code. Returns nothing: passing is surviving. */
static void probe_file(const char *path, int nkeys, const char *what)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0)
		probe_child(path, nkeys);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(!WIFSIGNALED(status), "%s: libheed was killed by signal %d (%s)", what,
		  WTERMSIG(status), strsignal(WTERMSIG(status)));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "%s: a call returned a code not allowed for a damaged file (probe exit %d, "
		  "see stderr)",
		  what, WEXITSTATUS(status));
}

/* heed-check on a damaged file reports, never crashes: exit 0 or 1. */
static void check_survives(const char *path, const char *what)
{
	char log[4096];
	int st = run_heed_check(path, log, sizeof(log));

	cr_assert(st == 0 || st == 1, "%s: heed-check exited %d: %s", what, st, log);
}

/* Key i of build_tree: "key-%08d", padded with 'p' to 400 bytes for four
 * keys in five (long keys make a deep tree from few pages). */
static heed_val tree_key(char *kb, int i)
{
	memset(kb, 'p', 400);
	key_n(kb, 400, i);
	kb[12] = 'p';
	return hv(kb, i % 5 ? 400 : 12);
}

/* A file with a 3-level tree, some overflow values and a freelist, from as
 * few keys as that takes (each damaged variant rewrites the whole file).
 * Returns the number of keys written. */
static int build_tree(const char *path, heed_stat *st_out)
{
	heed_env *e;
	heed_txn *txn;
	heed_dbi dbi;
	heed_val key, val;
	unsigned char vb[9000];
	char kb[400];
	int i, n = 0;

	HEED_OK(env_open_dir(&e, path, HEED_NOSUBDIR | HEED_NOSYNC, 4096, 0, 0));
	do {
		txn = begin(e, 0);
		dbi = main_dbi(txn);
		for (i = n; i < n + 100; i++) {
			key = tree_key(kb, i);
			fill_pattern(vb, sizeof(vb), (uint64_t)i);
			val = hv(vb, i % 50 == 0 ? sizeof(vb) : 40);
			HEED_OK(heed_put(txn, dbi, &key, &val, 0));
		}
		n = i;
		HEED_OK(heed_txn_commit(txn));
		HEED_OK(heed_env_stat(e, st_out));
	} while (st_out->depth < 3 && n < 20000);
	cr_assert_geq(st_out->depth, 3, "%d keys made a tree of %u levels", n, st_out->depth);
	/* A last commit frees pages: the file gets a freelist. */
	txn = begin(e, 0);
	for (i = 0; i < n; i += 7) {
		key = tree_key(kb, i);
		HEED_OK(heed_del(txn, dbi, &key, NULL));
	}
	HEED_OK(heed_txn_commit(txn));
	HEED_OK(heed_env_stat(e, st_out));
	heed_env_close(e);
	return n;
}

static void read_file(const char *path, unsigned char **buf, size_t *len)
{
	struct stat sb;
	int fd = open(path, O_RDONLY);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(fstat(fd, &sb), 0);
	*len = (size_t)sb.st_size;
	*buf = malloc(*len ? *len : 1);
	cr_assert_not_null(*buf);
	cr_assert_eq(pread(fd, *buf, *len, 0), (ssize_t)*len);
	close(fd);
}

/* Make path hold exactly buf. No O_TRUNC: ext4 flushes a file truncated to
 * zero and rewritten on close, which would make the many rewrites of the
 * damaged-page test wait on the disk. */
static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0644);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(pwrite(fd, buf, len, 0), (ssize_t)len, "write %s: %s", path, strerror(errno));
	cr_assert_eq(ftruncate(fd, (off_t)len), 0, "truncate %s: %s", path, strerror(errno));
	close(fd);
}

/* Remove the lock file heed keeps beside a NOSUBDIR data file, so each
 * damaged variant starts without state of a previous one. */
static void drop_lock(const char *path)
{
	char lock[400];

	snprintf(lock, sizeof(lock), "%s-lock", path);
	unlink(lock);
}

Test(env, truncated_file)
{
	unsigned char *orig;
	size_t len, cut[6];
	heed_stat st;
	int nkeys = build_tree(file, &st), i;
	char what[128];

	read_file(file, &orig, &len);
	cr_assert_gt(len, 8 * 4096);
	cut[0] = 0;
	cut[1] = 100;
	cut[2] = 4096;
	cut[3] = 2 * 4096 + 1000;
	cut[4] = len / 2;
	cut[5] = len - 4096;
	for (i = 0; i < 6; i++) {
		write_file(file, orig, cut[i]);
		drop_lock(file);
		snprintf(what, sizeof(what), "file cut to %zu of %zu bytes", cut[i], len);
		probe_file(file, nkeys, what);
		check_survives(file, what);
	}
	free(orig);
}

Test(env, garbage_metas)
{
	unsigned char *orig, *bad;
	size_t len;
	heed_stat st;
	struct rng rng = {test_seed("env::garbage_metas")};
	heed_env *e;
	int nkeys = build_tree(file, &st), rc, which;
	char what[128];

	read_file(file, &orig, &len);
	bad = malloc(len);
	cr_assert_not_null(bad);

	/* Both metas garbage: open fails with a heed code, no crash. */
	memcpy(bad, orig, len);
	rng_fill(&rng, bad, 2 * 4096);
	write_file(file, bad, len);
	drop_lock(file);
	probe_file(file, nkeys, "both meta pages random");
	rc = env_open_dir(&e, file, HEED_NOSUBDIR, 0, 0, 0);
	cr_assert(rc == HEED_INVALID || rc == HEED_CORRUPTED || rc == HEED_VERSION_MISMATCH,
		  "open with both metas garbage returned %d (%s)", rc, heed_strerror(rc));
	check_survives(file, "both meta pages random");

	memcpy(bad, orig, len);
	memset(bad, 0, 2 * 4096);
	write_file(file, bad, len);
	drop_lock(file);
	probe_file(file, nkeys, "both meta pages zeroed");
	rc = env_open_dir(&e, file, HEED_NOSUBDIR, 0, 0, 0);
	cr_assert(rc != 0, "open with both metas zeroed succeeded");
	heed_env_close(e);

	/* Flip bytes past the magic in both metas: checksums fail. */
	memcpy(bad, orig, len);
	for (which = 0; which < 2; which++) {
		bad[which * 4096 + 50] ^= 0x5a;
		bad[which * 4096 + 100] ^= 0xa5;
	}
	write_file(file, bad, len);
	drop_lock(file);
	probe_file(file, nkeys, "both meta pages with flipped bytes");
	rc = env_open_dir(&e, file, HEED_NOSUBDIR, 0, 0, 0);
	cr_assert(rc != 0, "open with both metas damaged succeeded");
	heed_env_close(e);

	/* One meta garbage: the other one opens the file. */
	for (which = 0; which < 2; which++) {
		memcpy(bad, orig, len);
		rng_fill(&rng, bad + which * 4096, 4096);
		write_file(file, bad, len);
		drop_lock(file);
		snprintf(what, sizeof(what), "meta page %d random", which);
		probe_file(file, nkeys, what);
		HEED_OK(env_open_dir(&e, file, HEED_NOSUBDIR, 0, 0, 0));
		heed_env_close(e);
	}
	free(bad);
	free(orig);
}

Test(env, garbage_tree_pages)
{
	unsigned char *orig, *bad;
	size_t len, npages, pg;
	heed_stat st;
	struct rng rng = {test_seed("env::garbage_tree_pages")};
	int nkeys = build_tree(file, &st), pattern;
	char what[128];

	cr_assert_geq(st.depth, 3,
		      "the damaged-page test needs a 3-level tree, got %u (%zu branch, %zu leaf "
		      "pages, %zu entries)",
		      st.depth, st.branch_pages, st.leaf_pages, st.entries);
	read_file(file, &orig, &len);
	bad = malloc(len);
	cr_assert_not_null(bad);
	npages = len / 4096;
	/* Every page after the metas gets random bytes; every third page also
	 * 0xff bytes and a random header over intact contents. */
	for (pg = 2; pg < npages; pg++) {
		for (pattern = 0; pattern < (pg % 3 ? 1 : 3); pattern++) {
			memcpy(bad, orig, len);
			if (pattern == 0)
				rng_fill(&rng, bad + pg * 4096, 4096);
			else if (pattern == 1)
				memset(bad + pg * 4096, 0xff, 4096);
			else
				rng_fill(&rng, bad + pg * 4096, 32);
			write_file(file, bad, len);
			drop_lock(file);
			snprintf(what, sizeof(what), "page %zu of %zu overwritten (%s)", pg, npages,
				 pattern == 0	? "random"
				 : pattern == 1 ? "0xff"
						: "random header");
			probe_file(file, nkeys, what);
			check_survives(file, what);
		}
	}
	fprintf(stderr, "garbage_tree_pages: %zu damaged pages survived\n", npages - 2);
	free(bad);
	free(orig);
}

Test(env, foreign_files)
{
	struct rng rng = {test_seed("env::foreign_files")};
	unsigned char rnd[65536];
	char text[8192];
	size_t i;
	heed_env *e;
	int rc;

	rng_fill(&rng, rnd, sizeof(rnd));
	write_file(file, rnd, sizeof(rnd));
	probe_file(file, 10, "a file of random bytes");
	rc = env_open_dir(&e, file, HEED_NOSUBDIR, 0, 0, 0);
	HEED_RC(rc, HEED_INVALID);
	drop_lock(file);

	text[0] = '\0';
	for (i = 0; strlen(text) + 64 < sizeof(text); i++)
		strcat(text, "This is a text file, not a heed database at all.\n");
	write_file(file, text, strlen(text));
	probe_file(file, 10, "a text file");
	rc = env_open_dir(&e, file, HEED_NOSUBDIR, 0, 0, 0);
	HEED_RC(rc, HEED_INVALID);
	drop_lock(file);

	write_file(file, "hello\n", 6);
	probe_file(file, 10, "a 6-byte text file");
	rc = env_open_dir(&e, file, HEED_NOSUBDIR, 0, 0, 0);
	HEED_RC(rc, HEED_INVALID);
	drop_lock(file);

	/* An empty file holds nothing to lose: it may become a new env, or be
	 * refused; either way no crash. */
	write_file(file, "", 0);
	probe_file(file, 10, "an empty file");
	/* And the foreign bytes were not overwritten by a refused open. */
	write_file(file, rnd, sizeof(rnd));
	rc = env_open_dir(&e, file, HEED_NOSUBDIR, 0, 0, 0);
	cr_assert_neq(rc, 0);
	{
		unsigned char *after;
		size_t alen;

		read_file(file, &after, &alen);
		cr_assert(alen == sizeof(rnd) && memcmp(after, rnd, alen) == 0,
			  "a refused open changed the foreign file");
		free(after);
	}
}

/*
 * Several writer processes on one env. Each child opens the env itself and
 * makes ROUNDS increments of the counter "n", each writing key inc-<n> in
 * the same txn; a write txn that gets HEED_BUSY is retried. A reader child
 * checks every snapshot: entries == n + 1; the writers start once it has
 * checked its first, so it runs alongside them. At the end n == WRITERS * ROUNDS
 * and heed-check is clean: the writer lock worked across processes.
 */
#define MP_WRITERS 3
#define MP_ROUNDS  150

static int mp_writer(void)
{
	heed_env *e;
	heed_txn *txn;
	heed_dbi dbi;
	heed_val key, val;
	uint64_t n;
	char kb[32];
	int i, rc;

	if (env_open_dir(&e, dir, 0, 0, 0, 0))
		return 10;
	for (i = 0; i < MP_ROUNDS; i++) {
		while ((rc = heed_txn_begin(e, NULL, 0, &txn)) == HEED_BUSY)
			usleep(200); /* another process writes: wait our turn */
		if (rc)
			return 11;
		if (heed_dbi_open(txn, NULL, 0, &dbi))
			return 12;
		key = hs("n");
		rc = heed_get(txn, dbi, &key, &val);
		n = 0;
		if (rc == 0 && val.size == 8)
			memcpy(&n, val.data, 8);
		else if (rc != HEED_NOTFOUND)
			return 13;
		n++;
		val = hv(&n, 8);
		if (heed_put(txn, dbi, &key, &val, 0))
			return 14;
		snprintf(kb, sizeof(kb), "inc-%06llu", (unsigned long long)n);
		key = hs(kb);
		val = hv(&n, 8);
		if (heed_put(txn, dbi, &key, &val, HEED_NOOVERWRITE))
			return 15; /* KEYEXIST: two writers took the same n */
		if (heed_txn_commit(txn))
			return 16;
	}
	heed_env_close(e);
	return 0;
}

/* Checks snapshots until stopfile exists; writes a byte to ready_fd once
 * the first one is checked. */
static int mp_reader(const char *stopfile, int ready_fd)
{
	heed_env *e;
	heed_txn *txn;
	heed_dbi dbi;
	heed_val key = hs("n"), val;
	heed_stat st;
	uint64_t n;
	int rc;

	if (env_open_dir(&e, dir, 0, 0, 0, 0))
		return 20;
	do {
		if (heed_txn_begin(e, NULL, HEED_RDONLY, &txn) || heed_dbi_open(txn, NULL, 0, &dbi))
			return 21;
		rc = heed_get(txn, dbi, &key, &val);
		n = 0;
		if (rc == 0 && val.size == 8)
			memcpy(&n, val.data, 8);
		else if (rc != HEED_NOTFOUND)
			return 22;
		if (heed_dbi_stat(txn, dbi, &st))
			return 23;
		if (st.entries != (n ? n + 1 : 0))
			return 24; /* a snapshot mixed two commits */
		heed_txn_abort(txn);
		if (ready_fd >= 0) {
			if (write(ready_fd, "r", 1) != 1)
				return 25;
			close(ready_fd);
			ready_fd = -1;
		}
	} while (access(stopfile, F_OK) != 0);
	heed_env_close(e);
	return 0;
}

Test(env, writer_processes)
{
	pid_t pids[MP_WRITERS + 1];
	int wstatus[MP_WRITERS];
	char stopfile[300];
	heed_txn *txn;
	heed_dbi dbi;
	heed_val key = hs("n"), val;
	heed_stat st;
	uint64_t n;
	int i, status, ready[2];
	char c;

	snprintf(stopfile, sizeof(stopfile), "%s/stop", dir);
	/* Create the env first so every child opens an existing one. */
	HEED_OK(env_open_dir(&env, dir, 0, 0, 0, 0));
	heed_env_close(env);
	env = NULL;
	cr_assert_eq(pipe(ready), 0);
	pids[MP_WRITERS] = fork();
	cr_assert_geq(pids[MP_WRITERS], 0, "fork: %s", strerror(errno));
	if (pids[MP_WRITERS] == 0) {
		/* Dies with the test if an assertion ends it before the stop file. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[0]);
		_exit(mp_reader(stopfile, ready[1]));
	}
	close(ready[1]);
	cr_assert_eq(read(ready[0], &c, 1), 1,
		     "the reader process failed before its first snapshot");
	close(ready[0]);
	for (i = 0; i < MP_WRITERS; i++) {
		pids[i] = fork();
		cr_assert_geq(pids[i], 0, "fork: %s", strerror(errno));
		if (pids[i] == 0)
			_exit(mp_writer());
	}
	for (i = 0; i < MP_WRITERS; i++)
		cr_assert_eq(waitpid(pids[i], &wstatus[i], 0), pids[i]);
	/* The reader runs until the stop file exists: stop it before any
	 * assertion can end the test, or it spins on as an orphan. */
	write_file(stopfile, "", 0);
	cr_assert_eq(waitpid(pids[MP_WRITERS], &status, 0), pids[MP_WRITERS]);
	for (i = 0; i < MP_WRITERS; i++)
		cr_assert(
			WIFEXITED(wstatus[i]) && WEXITSTATUS(wstatus[i]) == 0,
			"writer process %d failed (exit %d, signal %d): 10 open, 11 begin, 13 get, "
			"15 two writers took the same counter value, 16 commit",
			i, WIFEXITED(wstatus[i]) ? WEXITSTATUS(wstatus[i]) : -1,
			WIFSIGNALED(wstatus[i]) ? WTERMSIG(wstatus[i]) : 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "reader process failed (exit %d): 24 means a snapshot mixed two commits",
		  WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	HEED_CHECK_CLEAN(dir);
	HEED_OK(env_open_dir(&env, dir, 0, 0, 0, 0));
	txn = begin(env, HEED_RDONLY);
	dbi = main_dbi(txn);
	HEED_OK(heed_get(txn, dbi, &key, &val));
	memcpy(&n, val.data, 8);
	cr_assert_eq(n, (uint64_t)MP_WRITERS * MP_ROUNDS, "counter %llu after %d increments",
		     (unsigned long long)n, MP_WRITERS * MP_ROUNDS);
	HEED_OK(heed_dbi_stat(txn, dbi, &st));
	cr_assert_eq(st.entries, n + 1);
	heed_txn_abort(txn);
}

/* An env opened while another process commits: the file grows between the
 * opener's fstat and its reading of the newest meta, which then names pages
 * past the size it saw. That is growth, not truncation: every open must
 * succeed (writer_processes met HEED_CORRUPTED here once in CI). */
Test(env, open_while_another_process_grows_the_file)
{
	char vb[3000];
	pid_t pid;
	int i, st, opened = 0;

	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 0));
	heed_env_close(env);
	env = NULL;
	memset(vb, 'g', sizeof(vb));
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		heed_env *e;
		heed_txn *txn;
		char kb[32];

		if (env_open_dir(&e, dir, HEED_NOSYNC, 0, 0, 0))
			_exit(10);
		for (i = 0; i < 4000; i++) {
			heed_val key, val = hv(vb, sizeof(vb));

			snprintf(kb, sizeof(kb), "grow-%06d", i);
			key = hs(kb);
			if (heed_txn_begin(e, NULL, 0, &txn) || heed_put(txn, 0, &key, &val, 0) ||
			    heed_txn_commit(txn))
				_exit(11);
		}
		heed_env_close(e);
		_exit(0);
	}
	while (waitpid(pid, &st, WNOHANG) == 0) {
		heed_env *e;
		int rc = env_open_dir(&e, dir, HEED_RDONLY, 0, 0, 0);

		if (rc) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			cr_assert_fail("open number %d while the file grows: %s", opened,
				       heed_strerror(rc));
		}
		heed_env_close(e);
		opened++;
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the writer failed (exit %d)",
		  WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	cr_assert_gt(opened, 0);
}

/* Several processes open one new env at the same moment: whoever comes
 * second may find the data file while its creator is writing the metas.
 * Every opener must get the env, none HEED_INVALID. 40 rounds of 4
 * processes, released together. */
Test(env, concurrent_create)
{
	char sub[300];
	int round;

	for (round = 0; round < 40; round++) {
		pid_t pids[4];
		int go[2], i;

		snprintf(sub, sizeof(sub), "%s/r%d", dir, round);
		cr_assert_eq(mkdir(sub, 0755), 0, "mkdir %s: %s", sub, strerror(errno));
		cr_assert_eq(pipe(go), 0);
		for (i = 0; i < 4; i++) {
			pids[i] = fork();
			cr_assert_geq(pids[i], 0, "fork: %s", strerror(errno));
			if (pids[i] == 0) {
				heed_env *e;
				char c;
				int rc;

				close(go[1]);
				if (read(go[0], &c, 1) < 0)
					_exit(100);
				rc = env_open_dir(&e, sub, HEED_NOSYNC, 0, 0, 0);
				if (!rc)
					heed_env_close(e);
				_exit(rc == 0 ? 0 : rc == HEED_INVALID ? 1 : 2);
			}
		}
		close(go[0]);
		close(go[1]); /* EOF releases every child at once */
		for (i = 0; i < 4; i++) {
			int st;

			cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
			cr_assert(
				WIFEXITED(st) && WEXITSTATUS(st) == 0,
				"round %d: opener %d failed (exit %d: 1 is HEED_INVALID, 2 another "
				"error)",
				round, i, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		}
	}
}
