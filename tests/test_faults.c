/*
 * test_faults: libheed under injected I/O failures (tests/faults/fault.h).
 *
 * For every call index of a write transaction in turn, the injector fails
 * that one write/pwrite/fsync/fdatasync/msync/ftruncate/fallocate/mmap with
 * EIO or ENOSPC (optionally after writing half of the buffer: a torn page).
 * Each time, the contract of heed.h is checked:
 *   1. a commit that returns 0 is in the data, one that returns an error is
 *      not (a model of the committed state follows every commit);
 *   2. afterwards the environment either stays usable (the next write txn
 *      commits, reads see the model) or refuses write txns with HEED_PANIC;
 *   3. after closing and reopening without faults the data is exactly the
 *      model, and heed-check passes.
 * Also disk full while the file grows: ENOSPC on every call that would grow
 * the file, and a real 2 MiB tmpfs (needs root to mount it).
 *
 * Randomized: the seed is printed; HEED_SEED=<n> replays it.
 */
#include <sched.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/vfs.h>

#include "common.h"
#include "faults/fault.h"

#define NKEYS	     96
#define OPS_PER_STEP 12
#define MAX_INDEX    2000
#define ROUNDS	     4

/* The committed state: one optional value per key "key%03d". */
struct model {
	unsigned char *val[NKEYS];
	size_t len[NKEYS];
	int present[NKEYS];
};

static struct rng rng;

static void model_free(struct model *m)
{
	for (int i = 0; i < NKEYS; i++)
		free(m->val[i]);
	memset(m, 0, sizeof(*m));
}

static void model_copy(struct model *dst, const struct model *src)
{
	memset(dst, 0, sizeof(*dst));
	for (int i = 0; i < NKEYS; i++) {
		if (!src->present[i])
			continue;
		dst->present[i] = 1;
		dst->len[i] = src->len[i];
		dst->val[i] = malloc(src->len[i] + 1);
		cr_assert_not_null(dst->val[i]);
		memcpy(dst->val[i], src->val[i], src->len[i]);
	}
}

static char tmpdir[256];
static long panics;	       /* faults after which the env refused writes */
static unsigned int env_flags; /* of every env a test opens */

static void setup(void)
{
	tmpdir_make(tmpdir, sizeof(tmpdir), "faults");
	rng.s = test_seed("test_faults");
}

static void teardown(void)
{
	fault_disarm();
	/* Only tmpfs_full mounts here; for the others this fails harmlessly. */
	umount2(tmpdir, MNT_DETACH);
	tmpdir_remove(tmpdir);
}

static heed_env *env_open_at(const char *dir, int *rcp)
{
	heed_env *env;
	int rc = env_open_dir(&env, dir, env_flags, 0, 0, 0);
	if (rcp)
		*rcp = rc;
	else
		cr_assert_eq(rc, 0, "open %s: %s", dir, heed_strerror(rc));
	return env;
}

static void key_of(int i, char *buf, heed_val *k)
{
	snprintf(buf, 8, "key%03d", i);
	k->size = 6;
	k->data = buf;
}

/* The database equals m: a cursor walk sees exactly its keys in order with
 * their values, and a get finds each. */
static void verify(heed_env *env, const struct model *m, const char *when)
{
	heed_txn *txn = NULL;
	int rc = heed_txn_begin(env, NULL, HEED_RDONLY, &txn);
	cr_assert_eq(rc, 0, "%s: read txn: %s", when, heed_strerror(rc));
	heed_cursor *cur = NULL;
	cr_assert_eq(heed_cursor_open(txn, 0, &cur), 0);
	heed_val k, v;
	int i = 0;
	for (rc = heed_cursor_get(cur, &k, &v, HEED_FIRST); rc == 0;
	     rc = heed_cursor_get(cur, &k, &v, HEED_NEXT)) {
		while (i < NKEYS && !m->present[i])
			i++;
		cr_assert_lt(i, NKEYS, "%s: extra key %.*s", when, (int)k.size, (char *)k.data);
		char kb[8];
		heed_val want;
		key_of(i, kb, &want);
		cr_assert(k.size == want.size && memcmp(k.data, want.data, k.size) == 0,
			  "%s: key %.*s where %s was expected", when, (int)k.size, (char *)k.data,
			  kb);
		cr_assert(v.size == m->len[i] && memcmp(v.data, m->val[i], v.size) == 0,
			  "%s: value of %s differs (%zu bytes, expected %zu)", when, kb, v.size,
			  m->len[i]);
		i++;
	}
	cr_assert_eq(rc, HEED_NOTFOUND, "%s: cursor walk: %s", when, heed_strerror(rc));
	while (i < NKEYS && !m->present[i])
		i++;
	cr_assert_eq(i, NKEYS, "%s: key%03d is missing", when, i);
	heed_cursor_close(cur);
	for (i = 0; i < NKEYS; i++) {
		char kb[8];
		key_of(i, kb, &k);
		rc = heed_get(txn, 0, &k, &v);
		cr_assert_eq(rc, m->present[i] ? 0 : HEED_NOTFOUND, "%s: get %s: %s", when, kb,
			     heed_strerror(rc));
	}
	heed_txn_abort(txn);
}

/* Sizes that exercise small leaves, full leaves and overflow chains. */
static size_t pick_len(void)
{
	static const size_t lens[] = {0, 1, 17, 100, 700, 3000, 5000, 9000, 20000};
	return lens[rng_below(&rng, sizeof(lens) / sizeof(lens[0]))];
}

/* One write txn of OPS_PER_STEP random puts and deletes, applied to m as
 * well. Returns the first error (of an op, or of the commit). */
static int step(heed_env *env, struct model *m)
{
	heed_txn *txn = NULL;
	int rc = heed_txn_begin(env, NULL, 0, &txn);
	if (rc != 0)
		return rc;
	for (int op = 0; op < OPS_PER_STEP; op++) {
		int i = (int)rng_below(&rng, NKEYS);
		char kb[8];
		heed_val k;
		key_of(i, kb, &k);
		if (rng_below(&rng, 4) == 0) {
			rc = heed_del(txn, 0, &k, NULL);
			if (rc == HEED_NOTFOUND && !m->present[i])
				rc = 0;
			if (rc != 0)
				goto fail;
			free(m->val[i]);
			m->val[i] = NULL;
			m->present[i] = 0;
			m->len[i] = 0;
			continue;
		}
		size_t len = pick_len();
		unsigned char *buf = malloc(len + 1);
		cr_assert_not_null(buf);
		uint64_t x = rng_next(&rng);
		for (size_t b = 0; b < len; b++)
			buf[b] = (unsigned char)(x >> ((b % 8) * 8)) ^ (unsigned char)b;
		heed_val v = {len, buf};
		rc = heed_put(txn, 0, &k, &v, 0);
		if (rc != 0) {
			free(buf);
			goto fail;
		}
		free(m->val[i]);
		m->val[i] = buf;
		m->len[i] = len;
		m->present[i] = 1;
	}
	return heed_txn_commit(txn);
fail:
	heed_txn_abort(txn);
	return rc;
}

/* Commits a few steps without faults so that faults hit a real tree. */
static heed_env *prepare(struct model *m)
{
	heed_env *env = env_open_at(tmpdir, NULL);
	memset(m, 0, sizeof(*m));
	for (int s = 0; s < 6; s++) {
		struct model next;
		model_copy(&next, m);
		int rc = step(env, &next);
		cr_assert_eq(rc, 0, "setup commit: %s", heed_strerror(rc));
		model_free(m);
		*m = next;
	}
	verify(env, m, "after setup");
	return env;
}

/* After a step that met a fault (result rc): the model follows the result,
 * the env is usable or panicked, and a clean reopen shows the model. */
static heed_env *check_after_fault(heed_env *env, struct model *m, struct model *next, int rc,
				   const char *what)
{
	if (rc == 0) {
		model_free(m);
		*m = *next;
	} else {
		model_free(next);
	}
	heed_txn *txn = NULL;
	int brc = heed_txn_begin(env, NULL, 0, &txn);
	cr_assert(brc == 0 || brc == HEED_PANIC,
		  "%s: after a failed commit a write txn gets %s, not success or HEED_PANIC", what,
		  heed_strerror(brc));
	panics += brc == HEED_PANIC;
	if (brc == 0) {
		heed_txn_abort(txn);
		verify(env, m, what);
		struct model again;
		model_copy(&again, m);
		int src = step(env, &again);
		cr_assert_eq(src, 0, "%s: the env stayed usable but the next commit failed: %s",
			     what, heed_strerror(src));
		model_free(m);
		*m = again;
	}
	heed_env_close(env);
	env = env_open_at(tmpdir, NULL);
	verify(env, m, what);
	heed_env_close(env);
	HEED_CHECK_CLEAN(tmpdir);
	return env_open_at(tmpdir, NULL);
}

/* Fails call index n of one step, for n = 0, 1, ... until steps make fewer
 * calls than n; returns how many indexes there were. Commits that failed
 * are added to *failures. */
static long one_round(heed_env **envp, struct model *m, unsigned int flags, int err, long *failures)
{
	long n;
	int clean = 0;
	for (n = 0; n < MAX_INDEX; n++) {
		struct model next;
		model_copy(&next, m);
		fault_arm(FAULT_ALL | flags, n, err);
		int rc = step(*envp, &next);
		fault_disarm();
		if (fault_injected() == 0) {
			cr_assert_eq(rc, 0, "commit without a fault failed: %s", heed_strerror(rc));
			model_free(m);
			*m = next;
			/* Steps differ in size: index n is past the end only if
			 * several steps in a row make fewer calls. */
			if (++clean == 3)
				break;
			n--;
			continue;
		}
		clean = 0;
		char what[96];
		snprintf(what, sizeof(what), "%s at call %ld (%s)", strerror(err), n,
			 fault_first_name());
		if (rc != 0) {
			(*failures)++;
			cr_assert(rc == err || rc == HEED_PANIC,
				  "%s: the commit returned %s, not the injected error", what,
				  heed_strerror(rc));
		}
		*envp = check_after_fault(*envp, m, &next, rc, what);
	}
	cr_assert_lt(n, MAX_INDEX, "a step made more than %d calls", MAX_INDEX);
	cr_assert_geq(n, 2, "a commit made only %ld wrapped calls: the injector is not reached", n);
	return n;
}

/* ROUNDS rounds of one_round, each over commits of other sizes. */
static void every_call_index(unsigned int flags, int err)
{
	struct model m;
	heed_env *env = prepare(&m);
	long failures = 0, indexes = 0;
	for (int round = 0; round < ROUNDS; round++)
		indexes += one_round(&env, &m, flags, err, &failures);
	cr_log_info("%d rounds, %ld call indexes failed in turn: %ld commits returned the error, "
		    "%ld left HEED_PANIC",
		    ROUNDS, indexes, failures, panics);
	cr_assert_gt(failures, 0, "no injected fault made a commit fail");
	heed_env_close(env);
	HEED_CHECK_CLEAN(tmpdir);
	model_free(&m);
}

TestSuite(faults, .init = setup, .fini = teardown);

Test(faults, commit_eio)
{
	every_call_index(0, EIO);
}

Test(faults, commit_enospc)
{
	every_call_index(0, ENOSPC);
}

Test(faults, commit_torn_eio)
{
	every_call_index(FAULT_TORN, EIO);
}

Test(faults, commit_torn_enospc)
{
	every_call_index(FAULT_TORN, ENOSPC);
}

/* Faults while opening an existing environment: open fails with an error
 * or succeeds, and the data is intact either way. */
Test(faults, open)
{
	struct model m;
	heed_env *env = prepare(&m);
	heed_env_close(env);
	long n;
	for (n = 0; n < MAX_INDEX; n++) {
		int rc;
		fault_arm(FAULT_ALL, n, EIO);
		env = env_open_at(tmpdir, &rc);
		fault_disarm();
		long injected = fault_injected();
		char what[64];
		snprintf(what, sizeof(what), "open with EIO at call %ld (%s)", n,
			 fault_first_name());
		if (env) {
			verify(env, &m, what);
			heed_env_close(env);
		}
		if (injected == 0) {
			cr_assert_eq(rc, 0, "open without a fault failed: %s", heed_strerror(rc));
			break;
		}
		env = env_open_at(tmpdir, NULL);
		verify(env, &m, what);
		heed_env_close(env);
	}
	cr_assert_gt(n, 0, "open made no wrapped call: the injector is not reached");
	HEED_CHECK_CLEAN(tmpdir);
	model_free(&m);
}

/* Faults while growing the map of an open environment. */
Test(faults, remap)
{
	struct model m;
	heed_env *env = prepare(&m);
	size_t size = 64 << 20;
	long n;
	for (n = 0; n < 16; n++) {
		fault_arm(FAULT_ALL, n, ENOMEM);
		int rc = heed_env_set_mapsize(env, size);
		fault_disarm();
		long injected = fault_injected();
		char what[64];
		snprintf(what, sizeof(what), "set_mapsize with ENOMEM at call %ld", n);
		struct model next;
		model_copy(&next, &m);
		int src = step(env, &next);
		if (src == HEED_PANIC) {
			model_free(&next);
			heed_env_close(env);
			env = env_open_at(tmpdir, NULL);
		} else {
			cr_assert_eq(src, 0, "%s (%s): next commit: %s", what, heed_strerror(rc),
				     heed_strerror(src));
			model_free(&m);
			m = next;
		}
		verify(env, &m, what);
		if (injected == 0) {
			cr_assert_eq(rc, 0, "set_mapsize without a fault failed: %s",
				     heed_strerror(rc));
			break;
		}
		size += 16 << 20;
	}
	cr_log_info("set_mapsize: %ld call indexes failed in turn", n);
	cr_assert_gt(n, 0, "set_mapsize made no wrapped call: the injector is not reached");
	heed_env_close(env);
	HEED_CHECK_CLEAN(tmpdir);
	model_free(&m);
}

/* Puts ever larger values until a commit fails (or max_steps pass): the
 * data outgrows the file. Returns the last result. */
static int grow_until_failure(heed_env *env, struct model *m, int max_steps, int *stepsp)
{
	int rc = 0;
	int steps;
	for (steps = 0; steps < max_steps && rc == 0; steps++) {
		heed_txn *txn = NULL;
		rc = heed_txn_begin(env, NULL, 0, &txn);
		if (rc != 0)
			break;
		int i = steps % NKEYS;
		char kb[8];
		heed_val k;
		key_of(i, kb, &k);
		size_t len = 20000 + (size_t)steps * 100;
		unsigned char *buf = malloc(len);
		cr_assert_not_null(buf);
		memset(buf, steps & 0xff, len);
		heed_val v = {len, buf};
		rc = heed_put(txn, 0, &k, &v, 0);
		if (rc == 0) {
			rc = heed_txn_commit(txn);
		} else {
			heed_txn_abort(txn);
		}
		if (rc != 0) {
			free(buf);
			break;
		}
		free(m->val[i]);
		m->val[i] = buf;
		m->len[i] = len;
		m->present[i] = 1;
	}
	*stepsp = steps;
	return rc;
}

/* A disk that is full for any call that would grow the file, from the
 * first one on: commits fail with ENOSPC (or HEED_PANIC) once the data
 * outgrows the file, losing nothing committed. */
Test(faults, growth_enospc)
{
	struct model m;
	heed_env *env = prepare(&m);
	int steps;
	fault_arm(FAULT_ALL | FAULT_STICKY | FAULT_GROWTH_ONLY, 0, ENOSPC);
	int rc = grow_until_failure(env, &m, 2000, &steps);
	fault_disarm();
	cr_assert_neq(rc, 0, "%d commits grew the data without a file growth call", steps);
	cr_assert(rc == ENOSPC || rc == HEED_PANIC, "disk full: commit returned %s",
		  heed_strerror(rc));
	cr_assert_gt(fault_injected(), 0, "the commit failed (%s) but not by the injected fault",
		     heed_strerror(rc));
	cr_log_info("disk full after %d steps (%s): %s", steps, fault_first_name(),
		    heed_strerror(rc));
	struct model none;
	memset(&none, 0, sizeof(none));
	env = check_after_fault(env, &m, &none, rc, "after disk full during growth");
	heed_env_close(env);
	HEED_CHECK_CLEAN(tmpdir);
	model_free(&m);
}

/* A real tmpfs of the given size (mount's "size=") on tmpdir, in a private
 * mount namespace, so that it goes away with this process however the test
 * ends. */
static void mount_tmpfs(const char *size)
{
	char opt[32];

	snprintf(opt, sizeof(opt), "size=%s", size);
	cr_assert_eq(geteuid(), 0, "this test mounts a tmpfs and needs root: run as root");
	cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare(CLONE_NEWNS): %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0,
		     "make mounts private: %s", strerror(errno));
	cr_assert_eq(mount("tmpfs", tmpdir, "tmpfs", 0, opt), 0, "mount tmpfs on %s: %s", tmpdir,
		     strerror(errno));
}

/* A real small file system: a 2 MiB tmpfs. Commits there go through the
 * writable map (core/wmap.c), whose pages are reserved with fallocate before
 * a store could fault: the disk full is an error, never a SIGBUS. */
Test(faults, tmpfs_full)
{
	mount_tmpfs("2m");
	struct model m;
	memset(&m, 0, sizeof(m));
	heed_env *env = env_open_at(tmpdir, NULL);
	int steps;
	int rc = grow_until_failure(env, &m, 2000, &steps);
	cr_assert_neq(rc, 0, "%d commits never filled a 2 MiB file system", steps);
	cr_assert(rc == ENOSPC || rc == HEED_PANIC, "full tmpfs: commit returned %s",
		  heed_strerror(rc));
	cr_log_info("tmpfs full after %d steps: %s", steps, heed_strerror(rc));
	verify(env, &m, "full tmpfs, same env");
	heed_env_close(env);
	env = env_open_at(tmpdir, NULL);
	verify(env, &m, "full tmpfs, reopened");
	heed_env_close(env);
	HEED_CHECK_CLEAN(tmpdir);
	model_free(&m);
	cr_assert_eq(umount2(tmpdir, MNT_DETACH), 0, "umount %s: %s", tmpdir, strerror(errno));
}

/* Where commits go through the writable map (tmpfs; ext4 with HEED_NOSYNC),
 * every fault of a commit's calls (the map's mmap, the fallocate that
 * reserves its pages, the meta's pwrite, a sync) keeps the contract. */
Test(faults, map_commit_eio)
{
	mount_tmpfs("256m");
	every_call_index(0, EIO);
}

Test(faults, map_commit_enospc)
{
	mount_tmpfs("256m");
	every_call_index(0, ENOSPC);
}

Test(faults, map_nosync_commit_enospc)
{
	env_flags = HEED_NOSYNC;
	every_call_index(0, ENOSPC);
}

#define OW_KEYS	  400
#define OW_COMMIT 40

/* Puts OW_COMMIT values over keys of gen[] (or all OW_KEYS when all) in one
 * txn; a key's value is its number and generation. */
static void ow_commit(heed_env *env, unsigned int *gen, int all)
{
	heed_txn *txn = NULL;

	cr_assert_eq(heed_txn_begin(env, NULL, 0, &txn), 0);
	for (int n = 0; n < (all ? OW_KEYS : OW_COMMIT); n++) {
		int i = all ? n : (int)rng_below(&rng, OW_KEYS);
		char kb[16], vb[100];
		heed_val k = {0, kb}, v = {sizeof(vb), vb};

		k.size = (size_t)snprintf(kb, sizeof(kb), "ow%04d", i);
		gen[i]++;
		memset(vb, 0, sizeof(vb));
		snprintf(vb, sizeof(vb), "%d/%u", i, gen[i]);
		cr_assert_eq(heed_put(txn, 0, &k, &v, 0), 0);
	}
	cr_assert_eq(heed_txn_commit(txn), 0);
}

/* Write calls (write, pwrite, pwritev) of 8 commits that overwrite values
 * of a tree of some 20 pages, each dirtying a dozen of them, in a new env
 * opened with flags (remap: with a new map size before them); the data is
 * checked after a reopen. */
static long commit_writes(unsigned int flags, int remap)
{
	unsigned int gen[OW_KEYS] = {0};
	heed_env *env;
	heed_txn *txn = NULL;
	long n;

	env_flags = flags;
	env = env_open_at(tmpdir, NULL);
	ow_commit(env, gen, 1);
	/* Until the first commits' pages are free to take, commits add pages. */
	for (int c = 0; c < 4; c++)
		ow_commit(env, gen, 0);
	if (remap) {
		/* A new map size drops the writable map; the next commit maps it again. */
		heed_envinfo info;

		cr_assert_eq(heed_env_info(env, &info), 0);
		cr_assert_eq(heed_env_set_mapsize(env, info.mapsize * 2), 0);
	}
	fault_arm(FAULT_WRITE, -1, 0);
	for (int c = 0; c < 8; c++)
		ow_commit(env, gen, 0);
	n = fault_disarm();
	heed_env_close(env);
	env = env_open_at(tmpdir, NULL);
	cr_assert_eq(heed_txn_begin(env, NULL, HEED_RDONLY, &txn), 0);
	for (int i = 0; i < OW_KEYS; i++) {
		char kb[16], want[100];
		heed_val k = {0, kb}, v;

		k.size = (size_t)snprintf(kb, sizeof(kb), "ow%04d", i);
		memset(want, 0, sizeof(want));
		snprintf(want, sizeof(want), "%d/%u", i, gen[i]);
		cr_assert_eq(heed_get(txn, 0, &k, &v), 0, "%s is missing", kb);
		cr_assert(v.size == sizeof(want) && memcmp(v.data, want, sizeof(want)) == 0,
			  "%s: not its last value %s", kb, want);
	}
	heed_txn_abort(txn);
	heed_env_close(env);
	HEED_CHECK_CLEAN(tmpdir);
	/* The next call starts from an empty environment. */
	for (int f = 0; f < 2; f++) {
		char path[300];

		snprintf(path, sizeof(path), "%s/%s", tmpdir, f ? "lock.heed" : "data.heed");
		cr_assert_eq(unlink(path), 0, "unlink %s: %s", path, strerror(errno));
	}
	return n;
}

/* Whether tmpdir is on a file system whose commits may go through the map. */
static int map_fs(int nosync)
{
	struct statfs fs;

	cr_assert_eq(statfs(tmpdir, &fs), 0, "statfs %s: %s", tmpdir, strerror(errno));
	return fs.f_type == TMPFS_MAGIC || (nosync && fs.f_type == EXT4_SUPER_MAGIC);
}

/* Through the map a commit makes one write call for its meta page, and one
 * more for a run of new pages when the freelist falls short; with pwrite it
 * makes one per run of pages. */
static void expect_map(long n, const char *what)
{
	cr_assert(n >= 8 && n <= 16,
		  "%s: %ld write calls in 8 commits, not 8 meta pages and at most 8 runs of new "
		  "pages",
		  what, n);
}

static void expect_pwrite(long n, const char *what)
{
	cr_assert_gt(n, 20, "%s: %ld write calls in 8 commits of a dozen pages each", what, n);
}

/* The map is used where it may be and only there. */
Test(faults, map_commits_write_only_the_meta)
{
	long synced = commit_writes(0, 0), nosync = commit_writes(HEED_NOSYNC, 0),
	     forced = commit_writes(HEED_NOSYNC | HEED_PWRITE, 0);

	cr_log_info("write calls of 8 commits in %s: synced %ld, HEED_NOSYNC %ld, "
		    "HEED_NOSYNC | HEED_PWRITE %ld",
		    tmpdir, synced, nosync, forced);
	expect_pwrite(forced, "HEED_PWRITE");
	if (map_fs(1))
		expect_map(nosync, "HEED_NOSYNC on ext4 or tmpfs");
	else
		expect_pwrite(nosync, "HEED_NOSYNC, neither on ext4 nor on tmpfs");
	if (map_fs(0))
		expect_map(synced, "synced commits on tmpfs");
	else
		expect_pwrite(synced, "synced commits, not on tmpfs");
}

Test(faults, map_commits_on_tmpfs)
{
	mount_tmpfs("256m");
	expect_map(commit_writes(0, 0), "tmpfs");
	expect_map(commit_writes(0, 1), "tmpfs, after a new map size");
}
