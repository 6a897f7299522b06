/*
 * test_copy: hot backup (heed_env_copy, copyfd, copy2, copyfd2 with and
 * without HEED_CP_COMPACT).
 *
 *   - during_commits: a writer thread commits in a loop into the main db
 *     and a named db (overflow values, empty values, deletes) and records
 *     the expected contents of every txnid. A copy streamed through a pipe
 *     is held up after its first bytes while the writer commits K more
 *     txns (so commits happen, for sure, while the copy's read txn runs);
 *     the copy then passes heed-check, reports the txnid it was taken at,
 *     and holds exactly what the writer recorded for it. Plain and compact,
 *     and a copy to a path with the writer running freely; the same with
 *     the writer in another process.
 *   - compact_free_file: a file whose pages are over 90% free compacts to
 *     exactly its tree pages plus two metas (at most a tenth of the plain
 *     copy), passes heed-check, holds the same data, and takes new commits.
 *   - compact_empty: a dropped db compacts to its two metas and takes commits.
 *   - refused: an existing data file (EEXIST, left intact), a missing
 *     directory, bad arguments; a failed write (ENOSPC on /dev/full, EFBIG
 *     under RLIMIT_FSIZE) leaves no file behind; NOSUBDIR envs copy to a file.
 *   - damaged: a compacting copy of a file with a leaked page or a page
 *     reached twice fails with HEED_CORRUPTED; the plain copy still copies.
 * Randomized: HEED_SEED replays the writer's operations.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "common.h"
#include "page.h"

#define NKEYS	400
#define NDBS	2
#define MAXTXN	256
#define OPS	24 /* per commit */
#define PRE	20 /* commits before a copy starts */
#define DURING	8  /* commits while a copy is held up */
#define VAL_MAX 12000

static char tmpdir[256];
static uint64_t seed;

static void setup(void)
{
	tmpdir_make(tmpdir, sizeof(tmpdir), "copy");
	seed = test_seed("test_copy");
}

static void teardown(void)
{
	tmpdir_remove(tmpdir);
}

TestSuite(copy, .init = setup, .fini = teardown, .timeout = 120);

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* The value of key k of db d at version ver: 0 to 400 bytes, one in 8
 * long enough for overflow pages. */
static size_t val_make(unsigned int d, unsigned int k, uint32_t ver, unsigned char *buf)
{
	uint64_t r = mix(seed ^ ((uint64_t)d << 60) ^ ((uint64_t)k << 32) ^ ver);
	size_t len = r % 8 == 0 ? 3000 + r % 9000 : r % 401, j;

	for (j = 0; j < len; j++)
		buf[j] = (unsigned char)((r >> ((j & 7) * 8)) ^ (j * 31));
	return len;
}

static void key_make(unsigned int k, char kb[16], heed_val *key)
{
	snprintf(kb, 16, "k%05u", k);
	*key = hs(kb);
}

/* Versions of every key (0: absent) after each txnid. */
struct model {
	uint32_t ver[NDBS][NKEYS];
};

struct writer {
	heed_env *env;
	heed_dbi dbi[NDBS];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int credits, stop, err;
	uint64_t last; /* txnid of the last commit */
	struct model cur;
	struct model *rec; /* [MAXTXN] */
	struct rng rng;
};

static int write_one(struct writer *w)
{
	unsigned char buf[VAL_MAX];
	heed_txn *txn;
	uint64_t id;
	int i, rc;

	rc = heed_txn_begin(w->env, NULL, 0, &txn);
	if (rc)
		return rc;
	id = heed_txn_id(txn);
	for (i = 0; i < OPS && !rc; i++) {
		unsigned int d = (unsigned int)rng_below(&w->rng, NDBS);
		unsigned int k = (unsigned int)rng_below(&w->rng, NKEYS);
		char kb[16];
		heed_val key, val;

		key_make(k, kb, &key);
		if (w->cur.ver[d][k] && rng_below(&w->rng, 4) == 0) {
			rc = heed_del(txn, w->dbi[d], &key, NULL);
			w->cur.ver[d][k] = 0;
			continue;
		}
		val = hv(buf, val_make(d, k, (uint32_t)id, buf));
		rc = heed_put(txn, w->dbi[d], &key, &val, 0);
		w->cur.ver[d][k] = (uint32_t)id;
	}
	if (rc) {
		heed_txn_abort(txn);
		return rc;
	}
	rc = heed_txn_commit(txn);
	if (rc)
		return rc;
	if (id >= MAXTXN)
		return ERANGE;
	w->rec[id] = w->cur;
	w->last = id;
	return 0;
}

/* Commits one txn per credit until stopped. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	int rc;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (!w->credits && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop) {
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		pthread_mutex_unlock(&w->mu);
		rc = write_one(w);
		pthread_mutex_lock(&w->mu);
		w->credits--;
		if (rc) {
			w->err = rc;
			w->stop = 1;
		}
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
}

/* Let the writer commit n more txns and wait until it has. */
static void commit_more(struct writer *w, int n)
{
	pthread_mutex_lock(&w->mu);
	w->credits += n;
	pthread_cond_broadcast(&w->cv);
	while (w->credits && !w->stop)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

static uint64_t writer_last(struct writer *w)
{
	uint64_t t;

	pthread_mutex_lock(&w->mu);
	t = w->last;
	pthread_mutex_unlock(&w->mu);
	return t;
}

static void writer_start(struct writer *w, pthread_t *th, const char *dir)
{
	heed_txn *txn;
	static const char *names[NDBS] = {NULL, "side"};
	int d;

	memset(w, 0, sizeof(*w));
	w->rng.s = seed;
	w->rec = calloc(MAXTXN, sizeof(*w->rec));
	cr_assert_not_null(w->rec);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	HEED_OK(env_open_dir(&w->env, dir, HEED_NOSYNC, 0, 0, 4));
	HEED_OK(heed_txn_begin(w->env, NULL, 0, &txn));
	for (d = 0; d < NDBS; d++)
		HEED_OK(heed_dbi_open(txn, names[d], HEED_CREATE, &w->dbi[d]));
	HEED_OK(heed_txn_commit(txn));
	cr_assert_eq(pthread_create(th, NULL, writer_main, w), 0);
}

static void writer_stop(struct writer *w, pthread_t th)
{
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(th, NULL);
	cr_assert_eq(w->err, 0, "writer: %s", heed_strerror(w->err));
}

/* The copy at dir holds exactly the contents the writer recorded for its
 * txnid, which it returns. */
static uint64_t verify_copy(const char *dir, const struct model *rec)
{
	static const char *names[NDBS] = {NULL, "side"};
	unsigned char *want = malloc(VAL_MAX);
	heed_envinfo info;
	heed_env *env;
	heed_txn *txn;
	uint64_t id;
	int d;

	cr_assert_not_null(want);
	HEED_OK(env_open_dir(&env, dir, HEED_RDONLY, 0, 0, 4));
	HEED_OK(heed_env_info(env, &info));
	id = info.last_txnid;
	cr_assert(id > 0 && id < MAXTXN, "copy %s: txnid %" PRIu64, dir, id);
	HEED_OK(heed_txn_begin(env, NULL, HEED_RDONLY, &txn));
	for (d = 0; d < NDBS; d++) {
		heed_cursor *cur;
		heed_dbi dbi;
		heed_val k, v;
		size_t seen = 0, expect = 0;
		unsigned int i;
		int rc;

		HEED_OK(heed_dbi_open(txn, names[d], 0, &dbi));
		HEED_OK(heed_cursor_open(txn, dbi, &cur));
		while ((rc = heed_cursor_get(cur, &k, &v, HEED_NEXT)) == 0) {
			char kb[16];
			uint64_t key;
			size_t len;

			if (d == 0 && k.size == 4 && !memcmp(k.data, "side", 4))
				continue; /* the named db's record */
			cr_assert(k.size == 6, "copy %s db %d: a key of %zu bytes", dir, d, k.size);
			memcpy(kb, k.data, 6);
			kb[6] = 0;
			cr_assert(kb[0] == 'k' && strspn(kb + 1, "0123456789") == 5,
				  "copy %s db %d: key %s is not k%%05u", dir, d, kb);
			key = strtoull(kb + 1, NULL, 10);
			cr_assert(key < NKEYS && rec[id].ver[d][key],
				  "copy %s (txn %" PRIu64 ") db %d: key %s is not in the snapshot",
				  dir, id, d, kb);
			len = val_make((unsigned int)d, (unsigned int)key, rec[id].ver[d][key],
				       want);
			cr_assert(v.size == len && !memcmp(v.data, want, len),
				  "copy %s (txn %" PRIu64 ") db %d: key %s: another value", dir, id,
				  d, kb);
			seen++;
		}
		HEED_RC(rc, HEED_NOTFOUND);
		heed_cursor_close(cur);
		for (i = 0; i < NKEYS; i++)
			expect += rec[id].ver[d][i] != 0;
		cr_assert_eq(seen, expect, "copy %s (txn %" PRIu64 ") db %d: %zu keys, want %zu",
			     dir, id, d, seen, expect);
	}
	heed_txn_abort(txn);
	heed_env_close(env);
	free(want);
	return id;
}

/* Whoever commits: the writer thread, or a writer process (proc). */
struct committer {
	struct writer *w; /* thread */
	int credit_fd, ack_fd;
	uint64_t last; /* process: the txnid of its last ack */
	int err;
};

static uint64_t committer_last(struct committer *c)
{
	return c->w ? writer_last(c->w) : c->last;
}

/* Let n more txns commit and wait for them. */
static void committer_more(struct committer *c, int n)
{
	int i;

	if (c->w) {
		commit_more(c->w, n);
		return;
	}
	for (i = 0; i < n && !c->err; i++) {
		uint64_t id = 0;

		if (write(c->credit_fd, "c", 1) != 1 || read(c->ack_fd, &id, 8) != 8 || !id)
			c->err = EIO;
		c->last = id;
	}
}

/* The writer process: one commit per byte read from credit_fd, its txnid
 * (0 on an error) written back on ack_fd; it ends at EOF. Reports through
 * its acks and exit status only (no Criterion in a child). */
static void proc_writer(const char *dir, int credit_fd, int ack_fd, struct model *rec)
{
	static const char *names[NDBS] = {NULL, "side"};
	struct writer w;
	heed_txn *txn = NULL;
	uint64_t id;
	char c;
	int d, rc;

	memset(&w, 0, sizeof(w));
	w.rng.s = seed;
	w.rec = rec;
	rc = env_open_dir(&w.env, dir, HEED_NOSYNC, 0, 0, 4);
	if (!rc)
		rc = heed_txn_begin(w.env, NULL, 0, &txn);
	for (d = 0; d < NDBS && !rc; d++)
		rc = heed_dbi_open(txn, names[d], HEED_CREATE, &w.dbi[d]);
	if (!rc)
		rc = heed_txn_commit(txn);
	while (!rc && read(credit_fd, &c, 1) == 1) {
		rc = write_one(&w);
		id = rc ? 0 : w.last;
		if (write(ack_fd, &id, 8) != 8)
			_exit(3);
	}
	if (rc)
		fprintf(stderr, "writer process: %s\n", heed_strerror(rc));
	heed_env_close(w.env);
	_exit(rc ? 2 : 0);
}

/* Reads the copy from a pipe into a file; after the first bytes it lets
 * the writer commit DURING txns before it reads on, so the copy (blocked
 * in write) is in flight across those commits. */
struct drain {
	struct committer *c;
	int rfd, ofd, err;
	uint64_t held_at;      /* the writer's last txnid when the copy was held */
	atomic_int returned;   /* heed_env_copyfd2 has returned */
	int returned_too_soon; /* ... before the held-up commits were done */
};

static void *drain_main(void *arg)
{
	struct drain *dr = arg;
	char buf[65536];
	ssize_t n;
	int first = 1;

	while ((n = read(dr->rfd, buf, sizeof(buf))) > 0) {
		if (write(dr->ofd, buf, (size_t)n) != n) {
			dr->err = errno ? errno : EIO;
			break;
		}
		if (first) {
			first = 0;
			dr->held_at = committer_last(dr->c);
			committer_more(dr->c, DURING);
			dr->returned_too_soon = atomic_load(&dr->returned);
		}
	}
	if (n < 0)
		dr->err = errno;
	return NULL;
}

/* Stream a copy of env through a pipe into dst while c commits. */
static void copy_held(heed_env *env, struct committer *c, const char *dst, unsigned int flags,
		      const struct model *rec)
{
	struct drain dr = {.c = c};
	char file[320];
	struct stat fst;
	pthread_t dt;
	int fds[2];
	uint64_t id;

	snprintf(file, sizeof(file), "%s/data.heed", dst);
	cr_assert_eq(mkdir(dst, 0755), 0);
	cr_assert_eq(pipe(fds), 0);
	dr.rfd = fds[0];
	dr.ofd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644);
	cr_assert(dr.ofd >= 0, "%s: %s", file, strerror(errno));
	cr_assert_eq(pthread_create(&dt, NULL, drain_main, &dr), 0);
	HEED_OK(heed_env_copyfd2(env, fds[1], flags));
	atomic_store(&dr.returned, 1);
	close(fds[1]);
	pthread_join(dt, NULL);
	close(fds[0]);
	close(dr.ofd);
	cr_assert_eq(dr.err, 0, "drain: %s", strerror(dr.err));
	cr_assert_eq(c->err, 0, "the writer failed");
	/* The copy was taken before the held-up commits and ended after them. */
	cr_assert_eq(committer_last(c), dr.held_at + DURING,
		     "writer at %" PRIu64 ", held at %" PRIu64, committer_last(c), dr.held_at);
	/* More than a pipe holds: the copy was still writing after them. */
	cr_assert_eq(stat(file, &fst), 0);
	cr_assert(fst.st_size > 4 * 65536, "copy of %lld bytes", (long long)fst.st_size);
	cr_assert(!dr.returned_too_soon, "the copy ended before the held-up commits");
	HEED_CHECK_CLEAN(dst);
	id = verify_copy(dst, rec);
	cr_assert_eq(id, dr.held_at, "copy of txn %" PRIu64 ", the writer was at %" PRIu64, id,
		     dr.held_at);
}

static void copy_through_pipe(unsigned int flags)
{
	char src[300], dst[300];
	struct committer c = {0};
	struct writer w;
	pthread_t wt;

	snprintf(src, sizeof(src), "%s/src", tmpdir);
	snprintf(dst, sizeof(dst), "%s/dst", tmpdir);
	cr_assert_eq(mkdir(src, 0755), 0);
	writer_start(&w, &wt, src);
	commit_more(&w, PRE);
	c.w = &w;
	copy_held(w.env, &c, dst, flags, w.rec);
	writer_stop(&w, wt);
	heed_env_close(w.env);
	free(w.rec);
}

Test(copy, during_commits_plain)
{
	copy_through_pipe(0);
}

Test(copy, during_commits_compact)
{
	copy_through_pipe(HEED_CP_COMPACT);
}

/* The writer is another process, with its own env; this process copies
 * (plain, then compacted) while it commits. */
Test(copy, during_commits_of_another_process)
{
	size_t recsize = MAXTXN * sizeof(struct model);
	struct committer c = {0};
	int credit[2], ack[2], status, i;
	char src[300], dst[300];
	struct model *rec;
	heed_env *env;
	pid_t pid, parent = getpid();

	snprintf(src, sizeof(src), "%s/src", tmpdir);
	cr_assert_eq(mkdir(src, 0755), 0);
	rec = mmap(NULL, recsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert(rec != MAP_FAILED);
	cr_assert_eq(pipe(credit), 0);
	cr_assert_eq(pipe(ack), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		close(credit[1]);
		close(ack[0]);
		proc_writer(src, credit[0], ack[1], rec);
	}
	close(credit[0]);
	close(ack[1]);
	c.credit_fd = credit[1];
	c.ack_fd = ack[0];
	committer_more(&c, PRE);
	cr_assert_eq(c.err, 0, "the writer process failed");
	HEED_OK(env_open_dir(&env, src, HEED_RDONLY, 0, 0, 4));
	for (i = 0; i < 2; i++) {
		snprintf(dst, sizeof(dst), "%s/dst%d", tmpdir, i);
		copy_held(env, &c, dst, i ? HEED_CP_COMPACT : 0, rec);
	}
	close(c.credit_fd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer process status %d",
		  status);
	close(c.ack_fd);
	heed_env_close(env);
	munmap(rec, recsize);
}

/* Copies to paths while the writer commits freely. */
Test(copy, during_commits_to_path)
{
	char src[300], dst[300];
	struct writer w;
	pthread_t wt;
	unsigned int i;

	snprintf(src, sizeof(src), "%s/src", tmpdir);
	cr_assert_eq(mkdir(src, 0755), 0);
	writer_start(&w, &wt, src);
	commit_more(&w, PRE);
	pthread_mutex_lock(&w.mu);
	w.credits += 4 * DURING;
	pthread_cond_broadcast(&w.cv);
	pthread_mutex_unlock(&w.mu);
	for (i = 0; i < 4; i++) {
		snprintf(dst, sizeof(dst), "%s/dst%u", tmpdir, i);
		cr_assert_eq(mkdir(dst, 0755), 0);
		HEED_OK(heed_env_copy2(w.env, dst, i & 1 ? HEED_CP_COMPACT : 0));
	}
	commit_more(&w, 0);
	writer_stop(&w, wt);
	for (i = 0; i < 4; i++) {
		snprintf(dst, sizeof(dst), "%s/dst%u", tmpdir, i);
		HEED_CHECK_CLEAN(dst);
		verify_copy(dst, w.rec);
	}
	heed_env_close(w.env);
	free(w.rec);
}

static size_t tree_pages(heed_env *env, const char *name)
{
	heed_txn *txn;
	heed_dbi dbi;
	heed_stat st;

	HEED_OK(heed_txn_begin(env, NULL, HEED_RDONLY, &txn));
	HEED_OK(heed_dbi_open(txn, name, 0, &dbi));
	HEED_OK(heed_dbi_stat(txn, dbi, &st));
	heed_txn_abort(txn);
	return st.branch_pages + st.leaf_pages + st.overflow_pages;
}

/* Every db of a and b (main and "big") holds the same pairs. */
static void same_contents(heed_env *a, heed_env *b)
{
	static const char *names[] = {NULL, "big"};
	heed_txn *ta, *tb;
	unsigned int d;

	HEED_OK(heed_txn_begin(a, NULL, HEED_RDONLY, &ta));
	HEED_OK(heed_txn_begin(b, NULL, HEED_RDONLY, &tb));
	for (d = 0; d < 2; d++) {
		heed_cursor *ca, *cb;
		heed_dbi da, db;
		heed_val ka, va, kb, vb;
		size_t n = 0;
		int ra, rb, dbrec;

		HEED_OK(heed_dbi_open(ta, names[d], 0, &da));
		HEED_OK(heed_dbi_open(tb, names[d], 0, &db));
		HEED_OK(heed_cursor_open(ta, da, &ca));
		HEED_OK(heed_cursor_open(tb, db, &cb));
		for (;;) {
			ra = heed_cursor_get(ca, &ka, &va, HEED_NEXT);
			rb = heed_cursor_get(cb, &kb, &vb, HEED_NEXT);
			cr_assert_eq(ra, rb, "db %u item %zu: %s against %s", d, n,
				     heed_strerror(ra), heed_strerror(rb));
			if (ra)
				break;
			cr_assert(ka.size == kb.size && !memcmp(ka.data, kb.data, ka.size),
				  "db %u item %zu: keys differ", d, n);
			/* The named db's record names its root, renumbered. */
			dbrec = d == 0 && ka.size == 3 && !memcmp(ka.data, "big", 3);
			cr_assert(
				dbrec || (va.size == vb.size && !memcmp(va.data, vb.data, va.size)),
				"db %u item %zu: values differ", d, n);
			n++;
		}
		HEED_RC(ra, HEED_NOTFOUND);
		heed_cursor_close(ca);
		heed_cursor_close(cb);
	}
	heed_txn_abort(ta);
	heed_txn_abort(tb);
}

Test(copy, compact_free_file)
{
	char src[300], plain[300], comp[300];
	unsigned char *val = malloc(VAL_MAX);
	heed_env *env, *pe, *ce;
	heed_envinfo si, ci, pi;
	heed_txn *txn;
	heed_dbi big;
	size_t used, i;
	heed_stat st;

	cr_assert_not_null(val);
	snprintf(src, sizeof(src), "%s/src", tmpdir);
	snprintf(plain, sizeof(plain), "%s/plain", tmpdir);
	snprintf(comp, sizeof(comp), "%s/comp", tmpdir);
	cr_assert_eq(mkdir(src, 0755), 0);
	cr_assert_eq(mkdir(plain, 0755), 0);
	cr_assert_eq(mkdir(comp, 0755), 0);
	HEED_OK(env_open_dir(&env, src, HEED_NOSYNC, 0, 0, 2));
	/* 30,000 small pairs and 300 overflow values, then 95% deleted. */
	HEED_OK(heed_txn_begin(env, NULL, 0, &txn));
	HEED_OK(heed_dbi_open(txn, "big", HEED_CREATE, &big));
	for (i = 0; i < 30000; i++) {
		char kb[16];
		heed_val k, v;

		snprintf(kb, sizeof(kb), "s%08zu", (i * 7919) % 30000);
		k = hs(kb);
		v = hv(val, val_make(0, (unsigned int)i, 1, val) % 200);
		HEED_OK(heed_put(txn, 0, &k, &v, 0));
		if (i < 300) {
			v = hv(val, 9000);
			HEED_OK(heed_put(txn, big, &k, &v, 0));
		}
	}
	HEED_OK(heed_txn_commit(txn));
	HEED_OK(heed_txn_begin(env, NULL, 0, &txn));
	for (i = 0; i < 30000; i++) {
		char kb[16];
		heed_val k;

		snprintf(kb, sizeof(kb), "s%08zu", i);
		k = hs(kb);
		if (i % 20)
			HEED_OK(heed_del(txn, 0, &k, NULL));
	}
	HEED_OK(heed_txn_commit(txn));
	HEED_OK(heed_txn_begin(env, NULL, 0, &txn));
	HEED_OK(heed_dbi_open(txn, "big", 0, &big));
	for (i = 0; i < 300; i++) {
		char kb[16];
		heed_val k;

		snprintf(kb, sizeof(kb), "s%08zu", (i * 7919) % 30000);
		k = hs(kb);
		if (i % 20)
			HEED_OK(heed_del(txn, big, &k, NULL));
	}
	HEED_OK(heed_txn_commit(txn));
	HEED_OK(heed_env_info(env, &si));
	used = tree_pages(env, NULL) + tree_pages(env, "big");
	cr_assert((used + NUM_METAS) * 10 <= si.last_pgno + 1,
		  "precondition: %zu of %zu pages in use, not 10%% or less", used + NUM_METAS,
		  si.last_pgno + 1);

	HEED_OK(heed_env_copy(env, plain));
	HEED_OK(heed_env_copy2(env, comp, HEED_CP_COMPACT));
	HEED_CHECK_CLEAN(plain);
	HEED_CHECK_CLEAN(comp);
	HEED_OK(env_open_dir(&pe, plain, 0, 0, 0, 2));
	HEED_OK(env_open_dir(&ce, comp, 0, 0, 0, 2));
	HEED_OK(heed_env_info(pe, &pi));
	HEED_OK(heed_env_info(ce, &ci));
	HEED_OK(heed_env_stat(ce, &st));
	cr_assert_eq(pi.last_pgno, si.last_pgno);
	cr_assert_eq(pi.last_txnid, si.last_txnid);
	cr_assert_eq(ci.last_txnid, si.last_txnid);
	/* Exactly the trees' pages and two metas: no free page, numbers in
	 * order from 2 (heed-check found every page below it used once). */
	cr_assert_eq(ci.last_pgno + 1, used + NUM_METAS, "compacted: %zu pages, trees use %zu",
		     ci.last_pgno + 1, used);
	cr_assert((ci.last_pgno + 1) * 10 <= pi.last_pgno + 1, "compacted %zu pages of %zu",
		  ci.last_pgno + 1, pi.last_pgno + 1);
	{
		char file[320];
		struct stat fs;

		snprintf(file, sizeof(file), "%s/data.heed", comp);
		cr_assert_eq(stat(file, &fs), 0);
		cr_assert_eq((size_t)fs.st_size, (ci.last_pgno + 1) * st.psize);
	}
	same_contents(env, pe);
	same_contents(env, ce);
	/* The copy takes commits: its freelist and metas are sound. */
	HEED_OK(heed_txn_begin(ce, NULL, 0, &txn));
	HEED_OK(heed_dbi_open(txn, "big", 0, &big));
	for (i = 0; i < 2000; i++) {
		char kb[16];
		heed_val k, v;

		snprintf(kb, sizeof(kb), "n%08zu", i);
		k = hs(kb);
		v = hv(val, i % 7 ? 50 : 5000);
		HEED_OK(heed_put(txn, i % 2 ? big : 0, &k, &v, 0));
	}
	HEED_OK(heed_txn_commit(txn));
	heed_env_close(ce);
	HEED_CHECK_CLEAN(comp);
	heed_env_close(pe);
	heed_env_close(env);
	free(val);
}

static void fill_small(heed_env *env, size_t n)
{
	heed_txn *txn;
	size_t i;

	HEED_OK(heed_txn_begin(env, NULL, 0, &txn));
	for (i = 0; i < n; i++) {
		char kb[16], vb[64];
		heed_val k, v;

		snprintf(kb, sizeof(kb), "f%08zu", i);
		snprintf(vb, sizeof(vb), "value of %zu, long enough to fill some pages", i);
		k = hs(kb);
		v = hs(vb);
		HEED_OK(heed_put(txn, 0, &k, &v, 0));
	}
	HEED_OK(heed_txn_commit(txn));
}

/* A db emptied by drop: the compacted copy is the two metas alone. */
Test(copy, compact_empty)
{
	char src[300], dst[300];
	heed_envinfo info;
	heed_env *env, *ce;
	heed_txn *txn;

	snprintf(src, sizeof(src), "%s/src", tmpdir);
	snprintf(dst, sizeof(dst), "%s/dst", tmpdir);
	cr_assert_eq(mkdir(src, 0755), 0);
	cr_assert_eq(mkdir(dst, 0755), 0);
	HEED_OK(env_open_dir(&env, src, HEED_NOSYNC, 0, 0, 0));
	fill_small(env, 3000);
	HEED_OK(heed_txn_begin(env, NULL, 0, &txn));
	HEED_OK(heed_drop(txn, 0, 0));
	HEED_OK(heed_txn_commit(txn));
	HEED_OK(heed_env_copy2(env, dst, HEED_CP_COMPACT));
	HEED_CHECK_CLEAN(dst);
	HEED_OK(env_open_dir(&ce, dst, 0, 0, 0, 0));
	HEED_OK(heed_env_info(ce, &info));
	cr_assert_eq(info.last_pgno, NUM_METAS - 1, "an empty compacted copy of %zu pages",
		     info.last_pgno + 1);
	fill_small(ce, 100);
	heed_env_close(ce);
	HEED_CHECK_CLEAN(dst);
	heed_env_close(env);
}

static uint64_t file_sum(const char *path)
{
	unsigned char buf[4096];
	uint64_t h = 0xcbf29ce484222325ULL;
	ssize_t n, i;
	int fd = open(path, O_RDONLY);

	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ULL;
	close(fd);
	return h;
}

Test(copy, refused)
{
	char src[300], dst[300], file[320], nosub[300];
	heed_env *env, *bare, *fenv;
	struct rlimit rl;
	uint64_t before;
	int fd;

	snprintf(src, sizeof(src), "%s/src", tmpdir);
	snprintf(dst, sizeof(dst), "%s/dst", tmpdir);
	snprintf(file, sizeof(file), "%s/data.heed", dst);
	cr_assert_eq(mkdir(src, 0755), 0);
	cr_assert_eq(mkdir(dst, 0755), 0);
	HEED_OK(env_open_dir(&env, src, HEED_NOSYNC, 0, 0, 0));
	fill_small(env, 3000);

	/* A data file there already: never replaced, whatever it holds. */
	HEED_OK(heed_env_copy(env, dst));
	before = file_sum(file);
	HEED_RC(heed_env_copy(env, dst), EEXIST);
	HEED_RC(heed_env_copy2(env, dst, HEED_CP_COMPACT), EEXIST);
	cr_assert_eq(file_sum(file), before, "a refused copy changed the existing file");
	HEED_RC(heed_env_copy(env, src), EEXIST); /* onto itself */

	snprintf(dst, sizeof(dst), "%s/missing/dir", tmpdir);
	HEED_RC(heed_env_copy(env, dst), ENOENT);
	HEED_RC(heed_env_copy(env, NULL), EINVAL);
	HEED_RC(heed_env_copy2(env, tmpdir, 0x80), EINVAL);
	HEED_RC(heed_env_copyfd(env, -1), EINVAL);
	HEED_RC(heed_env_copyfd2(env, 1, 0x80), EINVAL);
	HEED_RC(heed_env_copyfd(NULL, 1), EINVAL);
	HEED_OK(heed_env_create(&bare));
	HEED_RC(heed_env_copy(bare, tmpdir), EINVAL);
	heed_env_close(bare);

	/* Failed writes: the error comes back, a file made by the copy goes. */
	fd = open("/dev/full", O_WRONLY);
	cr_assert(fd >= 0, "/dev/full: %s", strerror(errno));
	HEED_RC(heed_env_copyfd(env, fd), ENOSPC);
	HEED_RC(heed_env_copyfd2(env, fd, HEED_CP_COMPACT), ENOSPC);
	close(fd);
	snprintf(dst, sizeof(dst), "%s/small", tmpdir);
	snprintf(file, sizeof(file), "%s/data.heed", dst);
	cr_assert_eq(mkdir(dst, 0755), 0);
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = 3 * 4096;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	HEED_RC(heed_env_copy(env, dst), EFBIG);
	HEED_RC(heed_env_copy2(env, dst, HEED_CP_COMPACT), EFBIG);
	rl.rlim_cur = rl.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	cr_assert(access(file, F_OK) != 0, "a failed copy left %s behind", file);
	HEED_OK(heed_env_copy2(env, dst, HEED_CP_COMPACT));
	HEED_CHECK_CLEAN(dst);

	/* NOSUBDIR: the path is the copy's data file. */
	snprintf(nosub, sizeof(nosub), "%s/flat.heed", tmpdir);
	HEED_OK(env_open_dir(&fenv, nosub, HEED_NOSUBDIR | HEED_NOSYNC, 0, 0, 0));
	fill_small(fenv, 500);
	snprintf(dst, sizeof(dst), "%s/flat-copy.heed", tmpdir);
	HEED_OK(heed_env_copy2(fenv, dst, HEED_CP_COMPACT));
	HEED_RC(heed_env_copy(fenv, dst), EEXIST);
	HEED_RC(heed_env_copy(fenv, nosub), EEXIST);
	HEED_CHECK_CLEAN(dst);
	heed_env_close(fenv);
	heed_env_close(env);
}

/* Rewrite the newest meta of the data file at path with fix applied. */
static void patch_meta(const char *path, void (*fix)(struct meta *m, int fd, unsigned int psize))
{
	struct meta m[2];
	int fd = open(path, O_RDWR), i;

	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(pread(fd, &m[0], sizeof(m[0]), 0), (ssize_t)sizeof(m[0]));
	cr_assert_eq(pread(fd, &m[1], sizeof(m[1]), m[0].psize), (ssize_t)sizeof(m[1]));
	i = m[1].txnid > m[0].txnid;
	fix(&m[i], fd, m[i].psize);
	m[i].checksum = heed_hash64(&m[i], __builtin_offsetof(struct meta, checksum));
	cr_assert_eq(pwrite(fd, &m[i], sizeof(m[i]), (off_t)i * m[i].psize), (ssize_t)sizeof(m[i]));
	close(fd);
}

/* One page more, in no tree and not free: a leak. */
static void add_leak(struct meta *m, int fd, unsigned int psize)
{
	m->next_pgno++;
	cr_assert_eq(ftruncate(fd, (off_t)(m->next_pgno * psize)), 0);
}

/* The root's second child is its first one again: a page reached twice. */
static void twice(struct meta *m, int fd, unsigned int psize)
{
	unsigned char *p = malloc(psize);
	off_t off = (off_t)(m->main.root * psize);
	uint64_t first;

	cr_assert_not_null(p);
	cr_assert(m->main.depth >= 2, "the tree must have a branch root");
	cr_assert_eq(pread(fd, p, psize, off), (ssize_t)psize);
	cr_assert(page_hdr(p)->nkeys >= 2);
	first = node_child(page_node(p, 0));
	wr64(node_data(page_node(p, 1)), first);
	cr_assert_eq(pwrite(fd, p, psize, off), (ssize_t)psize);
	free(p);
}

static void damaged(void (*fix)(struct meta *m, int fd, unsigned int psize))
{
	char src[300], dst[300], file[320];
	heed_env *env;

	snprintf(src, sizeof(src), "%s/src", tmpdir);
	snprintf(file, sizeof(file), "%s/data.heed", src);
	cr_assert_eq(mkdir(src, 0755), 0);
	HEED_OK(env_open_dir(&env, src, HEED_NOSYNC, 0, 0, 0));
	fill_small(env, 3000);
	heed_env_close(env);
	patch_meta(file, fix);
	HEED_OK(env_open_dir(&env, src, HEED_RDONLY, 0, 0, 0));
	snprintf(dst, sizeof(dst), "%s/comp", tmpdir);
	cr_assert_eq(mkdir(dst, 0755), 0);
	HEED_RC(heed_env_copy2(env, dst, HEED_CP_COMPACT), HEED_CORRUPTED);
	snprintf(file, sizeof(file), "%s/data.heed", dst);
	cr_assert(access(file, F_OK) != 0, "a failed copy left %s behind", file);
	snprintf(dst, sizeof(dst), "%s/plain", tmpdir);
	cr_assert_eq(mkdir(dst, 0755), 0);
	HEED_OK(heed_env_copy(env, dst));
	heed_env_close(env);
}

Test(copy, damaged_leak)
{
	damaged(add_leak);
}

Test(copy, damaged_page_twice)
{
	damaged(twice);
}
