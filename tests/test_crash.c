/*
 * test_crash.c - commits survive SIGKILL at any moment, whole or not at all.
 *
 * Each round forks a child that opens the env with the real library and
 * commits in a loop. Commit n writes K(n) keys "t<n>.<j>" (K and the value
 * sizes derived from n; some values take overflow pages), sets "last" to n
 * and deletes the keys of commit n - KEEP, so the db stays bounded and pages
 * are freed and reused; two commits in three write their keys through a
 * nested txn, some with an aborted grandchild whose key must never appear.
 * After heed_txn_commit returned 0 the child writes n
 * to a pipe. The parent kills it with SIGKILL after a random number of acks
 * plus a random delay, then checks:
 *   - heed-check DIR exits 0;
 *   - the env opens; L = "last" is the last acked commit or the single
 *     in-flight one after it (L = A or A + 1);
 *   - commits L-KEEP+1..L are present whole with the right values, commit
 *     L+1 is absent whole, and the entry count is exactly theirs plus one:
 *     nothing half-committed anywhere.
 * Rounds rotate durable, NOMETASYNC and NOSYNC opens (a killed process
 * loses nothing from the page cache, so all three must pass). Rounds run
 * ROUNDS times (HEED_CRASH_ROUNDS overrides); the seed prints and HEED_SEED
 * replays the parent's choices.
 */
#include <fcntl.h>
#include <signal.h>

#include "common.h"

#define ROUNDS 60
#define KEEP   8

static char dir[256];
static heed_env *env;

static void teardown(void)
{
	heed_env_close(env);
	env = NULL;
	tmpdir_remove(dir);
}

TestSuite(crash, .fini = teardown, .timeout = 900);

static uint64_t mix(uint64_t x)
{
	struct rng r = {x};

	return rng_next(&r);
}

/* Keys per commit: 1..40. */
static unsigned int keys_of(uint64_t n)
{
	return 1 + (unsigned int)(mix(n) % 40);
}

/* Value size of key j of commit n: mostly small, some overflow values. */
static size_t vsize_of(uint64_t n, unsigned int j)
{
	uint64_t h = mix(n * 1000 + j);

	return h % 10 == 0 ? 4096 + h % (3 * 4096) : 8 + h % 200;
}

static void key_of(char *buf, size_t len, uint64_t n, unsigned int j)
{
	snprintf(buf, len, "t%08llu.%02u", (unsigned long long)n, j);
}

/* The value bytes: n and j repeated, so a torn or stale value shows. */
static void fill_val(unsigned char *buf, size_t size, uint64_t n, unsigned int j)
{
	uint64_t word = n << 8 | j;
	size_t i;

	for (i = 0; i < size; i++)
		buf[i] = (unsigned char)(word >> (8 * (i % 8))) ^ (unsigned char)i;
}

enum child_exit { CHILD_OPEN = 10, CHILD_TXN, CHILD_WRITE, CHILD_COMMIT, CHILD_PIPE, CHILD_MEM };

/* Commit forever from "last" + 1; exits only on an error (by its code). */
static void child_run(int ackfd, unsigned int flags)
{
	static unsigned char val[4 * 4096];
	heed_env *e = NULL;
	heed_txn *txn = NULL, *top;
	heed_dbi dbi;
	heed_val key, data;
	uint64_t n = 0, m;
	char kb[32];
	unsigned int j;
	int rc;

	if (env_open_dir(&e, dir, flags, 0, 0, 0))
		_exit(CHILD_OPEN);
	if (heed_txn_begin(e, NULL, HEED_RDONLY, &txn) || heed_dbi_open(txn, NULL, 0, &dbi))
		_exit(CHILD_TXN);
	key = hs("last");
	rc = heed_get(txn, dbi, &key, &data);
	if (rc == 0 && data.size == sizeof(n))
		memcpy(&n, data.data, sizeof(n));
	else if (rc != HEED_NOTFOUND)
		_exit(CHILD_TXN);
	heed_txn_abort(txn);
	for (;;) {
		n++;
		if (heed_txn_begin(e, NULL, 0, &top))
			_exit(CHILD_TXN);
		/* Two commits in three write through a nested txn, and one of
		 * those also aborts a grandchild that wrote a key of its own:
		 * a kill while a child is open loses the whole top txn. */
		txn = top;
		if (n % 3 && heed_txn_begin(e, top, 0, &txn))
			_exit(CHILD_TXN);
		if (n % 3 == 2) {
			heed_txn *junk;

			key = hs("junk");
			data = hv(&n, sizeof(n));
			if (heed_txn_begin(e, txn, 0, &junk) || heed_put(junk, dbi, &key, &data, 0))
				_exit(CHILD_WRITE);
			heed_txn_abort(junk);
		}
		for (j = 0; j < keys_of(n); j++) {
			key_of(kb, sizeof(kb), n, j);
			key = hs(kb);
			data = hv(val, vsize_of(n, j));
			fill_val(val, data.size, n, j);
			if (heed_put(txn, dbi, &key, &data, 0))
				_exit(CHILD_WRITE);
		}
		if (n > KEEP) {
			m = n - KEEP;
			for (j = 0; j < keys_of(m); j++) {
				key_of(kb, sizeof(kb), m, j);
				key = hs(kb);
				if (heed_del(txn, dbi, &key, NULL))
					_exit(CHILD_WRITE);
			}
		}
		if (txn != top && heed_txn_commit(txn))
			_exit(CHILD_COMMIT);
		key = hs("last");
		data = hv(&n, sizeof(n));
		if (heed_put(top, dbi, &key, &data, 0))
			_exit(CHILD_WRITE);
		if (heed_txn_commit(top))
			_exit(CHILD_COMMIT);
		if (write(ackfd, &n, sizeof(n)) != (ssize_t)sizeof(n))
			_exit(CHILD_PIPE);
	}
}

/* Check the db after a kill; acked is the last acknowledged commit (0 for
 * none in any round so far). Returns the commit found as "last". */
static uint64_t verify(uint64_t acked, int round)
{
	static unsigned char want[4 * 4096];
	heed_txn *txn;
	heed_dbi dbi;
	heed_val key, data;
	heed_stat st;
	uint64_t last = 0, n, first;
	size_t expect_entries = 0;
	unsigned int j;
	char kb[32], path[300];
	int rc;

	/* Killed in its first open before the data file existed, or after it
	 * was created and before its two metas were written (one pwrite, so
	 * the file is empty or whole; the next writer's open writes them into
	 * an empty file): nothing to check yet (heed.h: a directory env keeps
	 * its data in data.heed). */
	snprintf(path, sizeof(path), "%s/data.heed", dir);
	if (acked == 0) {
		struct stat sb;

		if (stat(path, &sb) != 0) {
			cr_assert_eq(errno, ENOENT, "stat %s: %s", path, strerror(errno));
			return 0;
		}
		if (sb.st_size == 0)
			return 0;
	}
	HEED_CHECK_CLEAN(dir);
	HEED_OK(env_open_dir(&env, dir, 0, 0, 0, 0));
	HEED_OK(heed_txn_begin(env, NULL, HEED_RDONLY, &txn));
	HEED_OK(heed_dbi_open(txn, NULL, 0, &dbi));
	key = hs("last");
	rc = heed_get(txn, dbi, &key, &data);
	if (rc == 0) {
		cr_assert_eq(data.size, sizeof(last));
		memcpy(&last, data.data, sizeof(last));
		expect_entries = 1;
	} else {
		HEED_RC(rc, HEED_NOTFOUND);
	}
	cr_assert(last == acked || last == acked + 1,
		  "round %d: db holds commit %llu but commit %llu was acknowledged", round,
		  (unsigned long long)last, (unsigned long long)acked);

	first = last > KEEP ? last - KEEP + 1 : 1;
	for (n = first; n <= last + 1; n++) {
		for (j = 0; j < keys_of(n); j++) {
			key_of(kb, sizeof(kb), n, j);
			key = hs(kb);
			rc = heed_get(txn, dbi, &key, &data);
			if (n == last + 1) {
				cr_assert_eq(rc, HEED_NOTFOUND,
					     "round %d: key %s of the uncommitted commit %llu is "
					     "present (get returned %d)",
					     round, kb, (unsigned long long)n, rc);
				continue;
			}
			cr_assert_eq(rc, 0,
				     "round %d: key %s of commit %llu (last %llu) is missing: %s",
				     round, kb, (unsigned long long)n, (unsigned long long)last,
				     heed_strerror(rc));
			cr_assert_eq(data.size, vsize_of(n, j), "round %d: %s has %zu bytes", round,
				     kb, data.size);
			fill_val(want, data.size, n, j);
			cr_assert(memcmp(data.data, want, data.size) == 0,
				  "round %d: %s has wrong bytes", round, kb);
			expect_entries++;
		}
	}
	/* The deleted commit before the window is gone whole. */
	if (first > 1) {
		for (j = 0; j < keys_of(first - 1); j++) {
			key_of(kb, sizeof(kb), first - 1, j);
			key = hs(kb);
			HEED_RC(heed_get(txn, dbi, &key, &data), HEED_NOTFOUND);
		}
	}
	HEED_OK(heed_dbi_stat(txn, dbi, &st));
	cr_assert_eq(st.entries, expect_entries,
		     "round %d: %zu entries, commits %llu..%llu account for %zu", round, st.entries,
		     (unsigned long long)first, (unsigned long long)last, expect_entries);
	heed_txn_abort(txn);
	heed_env_close(env);
	env = NULL;
	return last;
}

Test(crash, sigkill_during_commits)
{
	static const unsigned int modes[] = {0, HEED_NOMETASYNC, HEED_NOSYNC};
	static const char *const mode_names[] = {"durable", "nometasync", "nosync"};
	const char *env_rounds = getenv("HEED_CRASH_ROUNDS");
	uint64_t nrounds = ROUNDS;

	if (env_rounds && *env_rounds)
		cr_assert(heed_parse_u64(env_rounds, &nrounds) == 0 && nrounds <= 1000000,
			  "HEED_CRASH_ROUNDS=%s: not a whole number up to 1000000", env_rounds);
	int rounds = (int)nrounds;
	struct rng rng = {test_seed("crash::sigkill_during_commits")};
	uint64_t acked = 0, last, ack;
	unsigned long total_acks = 0;
	int round, fds[2], status;
	pid_t pid;

	tmpdir_make(dir, sizeof(dir), "crash");
	for (round = 0; round < rounds; round++) {
		unsigned int mode = (unsigned int)(round % 3);
		/* Mostly after some acks; one round in eight while opening. */
		uint64_t wait_acks = rng_below(&rng, 8) == 0 ? 0 : rng_range(&rng, 1, 150);
		struct timespec delay = {0, (long)rng_below(&rng, 3000) * 1000};
		uint64_t got = 0;

		cr_assert_eq(pipe(fds), 0, "pipe: %s", strerror(errno));
		pid = fork();
		cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
		if (pid == 0) {
			close(fds[0]);
			child_run(fds[1], modes[mode]);
			_exit(1);
		}
		close(fds[1]);
		while (got < wait_acks && read(fds[0], &ack, sizeof(ack)) == sizeof(ack)) {
			acked = ack;
			got++;
		}
		nanosleep(&delay, NULL);
		kill(pid, SIGKILL);
		/* Acks written before the kill still count. */
		while (read(fds[0], &ack, sizeof(ack)) == sizeof(ack)) {
			acked = ack;
			got++;
		}
		close(fds[0]);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			  "round %d (%s): the writer child died on its own (exit %d): it failed "
			  "an operation",
			  round, mode_names[mode], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		total_acks += got;
		last = verify(acked, round);
		/* An in-flight commit that landed is the base of the next round. */
		acked = last;
	}
	fprintf(stderr, "crash: %d rounds, %lu acknowledged commits, last commit %llu\n", rounds,
		total_acks, (unsigned long long)acked);
	cr_assert_gt(total_acks, 0, "no commit was ever acknowledged");
}

/*
 * HEED_NOMETASYNC and a power loss: the meta of a commit may never reach
 * the disk while the data of the commits after it does (their data sync
 * flushes their pages, and a power loss in the middle of it can keep the
 * previous meta page off the disk). The image such a loss leaves is the
 * file as it is now with both meta pages as they were two commits ago; the
 * snapshot it names must be whole. Each round saves the meta pages, makes
 * two commits that overwrite a third of the keys (freeing and reusing
 * pages), then opens a copy of the file with the saved meta pages put back.
 */
#define PL_KEYS	  300
#define PL_ROUNDS 20

static void pl_key(char *buf, size_t len, unsigned int i)
{
	snprintf(buf, len, "k%04u", i);
}

static size_t pl_vsize(unsigned int i, uint64_t gen)
{
	return 50 + mix(gen * PL_KEYS + i) % 400;
}

static void pl_put(heed_txn *txn, heed_dbi dbi, unsigned int i, uint64_t gen)
{
	unsigned char val[512];
	char kb[16];
	heed_val key, data;

	pl_key(kb, sizeof(kb), i);
	key = hs(kb);
	data = hv(val, pl_vsize(i, gen));
	fill_val(val, data.size, gen, i % 256);
	HEED_OK(heed_put(txn, dbi, &key, &data, 0));
}

static void pl_commit(struct rng *r, uint64_t *gens, uint64_t gen)
{
	heed_txn *txn;
	heed_dbi dbi;
	unsigned int i;

	HEED_OK(heed_txn_begin(env, NULL, 0, &txn));
	HEED_OK(heed_dbi_open(txn, NULL, 0, &dbi));
	for (i = 0; i < PL_KEYS; i++) {
		if (gens[i] && rng_below(r, 3))
			continue;
		gens[i] = gen;
		pl_put(txn, dbi, i, gen);
	}
	HEED_OK(heed_txn_commit(txn));
}

/* Opens the image at path and checks every key against gens. */
static void pl_verify(const char *path, const uint64_t *gens, int round)
{
	unsigned char want[512];
	heed_env *img;
	heed_txn *txn;
	heed_dbi dbi;
	heed_val key, data;
	heed_stat st;
	char kb[16];
	unsigned int i;
	int rc;

	HEED_CHECK_CLEAN(path);
	HEED_OK(env_open_dir(&img, path, HEED_NOSUBDIR | HEED_RDONLY, 0, 0, 0));
	HEED_OK(heed_txn_begin(img, NULL, HEED_RDONLY, &txn));
	HEED_OK(heed_dbi_open(txn, NULL, 0, &dbi));
	for (i = 0; i < PL_KEYS; i++) {
		pl_key(kb, sizeof(kb), i);
		key = hs(kb);
		rc = heed_get(txn, dbi, &key, &data);
		cr_assert_eq(rc, 0, "round %d: %s of the restored commit: %s", round, kb,
			     heed_strerror(rc));
		cr_assert_eq(data.size, pl_vsize(i, gens[i]), "round %d: %s has %zu bytes", round,
			     kb, data.size);
		fill_val(want, data.size, gens[i], i % 256);
		cr_assert(memcmp(data.data, want, data.size) == 0,
			  "round %d: %s has the bytes of another commit", round, kb);
	}
	HEED_OK(heed_dbi_stat(txn, dbi, &st));
	cr_assert_eq(st.entries, PL_KEYS, "round %d: %zu entries", round, st.entries);
	heed_txn_abort(txn);
	heed_env_close(img);
}

Test(crash, nometasync_power_loss_keeps_the_previous_commit)
{
	struct rng r = {test_seed("crash::nometasync_power_loss")};
	uint64_t gens[PL_KEYS] = {0}, saved[PL_KEYS], gen = 1;
	unsigned char metas[2 * 4096], *file;
	char data[300], img[300], lock[310];
	size_t len;
	int round, fd;

	tmpdir_make(dir, sizeof(dir), "crash-pl");
	snprintf(data, sizeof(data), "%s/data.heed", dir);
	snprintf(img, sizeof(img), "%s/image", dir);
	snprintf(lock, sizeof(lock), "%s-lock", img);
	HEED_OK(env_open_dir(&env, dir, HEED_NOMETASYNC, 4096, 0, 0));
	pl_commit(&r, gens, gen++);
	for (round = 0; round < PL_ROUNDS; round++) {
		fd = open(data, O_RDONLY);
		cr_assert_geq(fd, 0, "%s: %s", data, strerror(errno));
		cr_assert_eq(pread(fd, metas, sizeof(metas), 0), (ssize_t)sizeof(metas));
		close(fd);
		memcpy(saved, gens, sizeof(gens));
		pl_commit(&r, gens, gen++);
		pl_commit(&r, gens, gen++);

		fd = open(data, O_RDONLY);
		cr_assert_geq(fd, 0, "%s: %s", data, strerror(errno));
		len = (size_t)lseek(fd, 0, SEEK_END);
		file = malloc(len);
		cr_assert_not_null(file);
		cr_assert_eq(pread(fd, file, len, 0), (ssize_t)len);
		close(fd);
		memcpy(file, metas, sizeof(metas));
		fd = open(img, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		cr_assert_geq(fd, 0, "%s: %s", img, strerror(errno));
		cr_assert_eq(write(fd, file, len), (ssize_t)len);
		close(fd);
		free(file);
		pl_verify(img, saved, round);
		unlink(img);
		unlink(lock);
	}
}
