/*
 * test_multiproc: one environment shared by several processes through its
 * lock file.
 *
 *   - consistent_snapshots: one writer process and READERS reader processes
 *     (fork; each opens its own env) run for HEED_MULTIPROC_SECS seconds
 *     (default 3). Every commit writes a generation of the set of genset.h;
 *     every reader snapshot must see one generation in all its keys, a
 *     matching checksum, and generations never going back.
 *     The writer starts once every reader holds a snapshot, so each reader
 *     must see it move, however late the machine schedules anyone.
 *   - killed_reader: a reader process that holds a snapshot is SIGKILLed;
 *     afterwards the writer's overwrite churn reuses pages again (last_pgno
 *     stops growing) and the reader slot is reclaimed.
 *   - killed_writer: a process SIGKILLed inside a write txn leaves no lock
 *     behind: the next writer gets in, and sees none of the dead txn's data.
 *   - writer_processes: two processes increment one counter, each in its own
 *     write txns; no increment is lost.
 *   - stale_sweep_spares_a_new_reader: a stale-slot sweep that judged a
 *     slot's owner dead, while a reader took the slot before the sweep
 *     claimed it (forced with lock.c's test hook), leaves that reader alone,
 *     also when the dead owner had the new reader's (recycled) pid.
 *   - recycled_pid_does_not_pin_pages: a slot naming a live process that
 *     never opened the env (a recycled pid) is reclaimed; the file stops
 *     growing.
 *   - reader_table_reset_when_unused: slots left in a lock file nobody has
 *     open (after a reboot, their pids may be alive again) are dropped by
 *     the next open; a lock file of the old layout is rewritten then, and
 *     refused while another env uses the file.
 * consistent_snapshots and writer_processes run again with HEED_NOSYNC, where
 * commits go through each writer's writable map (core/wmap.c).
 * heed-check runs on the environment at the end of each.
 *
 * Children report through their exit status and stderr only; they never call
 * Criterion assertions, and die with the test process. Randomized: HEED_SEED
 * replays value sizes.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>

#include "common.h"
#include "genset.h"
#include "internal.h"

#define READERS 3

static char tmpdir[256];
static uint64_t seed;

static void setup(void)
{
	tmpdir_make(tmpdir, sizeof(tmpdir), "multiproc");
	seed = test_seed("test_multiproc");
}

static void teardown(void)
{
	tmpdir_remove(tmpdir);
}

/* First thing in a forked child: it dies with the test process, however
 * the test ends (an assertion, a timeout), rather than live on as an orphan. */
static void die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
}

/* Of every env the processes open: HEED_NOSYNC sends their commits through
 * each writer's writable map on ext4 (core/wmap.c), beside other processes'
 * read-only maps and pwrites. */
static unsigned int open_flags;

/* Opens the shared env; in a child a failure ends the child. */
static heed_env *open_shared(int in_child)
{
	heed_env *env;
	int rc = env_open_dir(&env, tmpdir, open_flags, 0, 256 << 20, 0);
	if (rc != 0) {
		fprintf(stderr, "pid %d: open %s: %s\n", (int)getpid(), tmpdir, heed_strerror(rc));
		if (in_child)
			_exit(2);
		cr_assert_fail("open %s: %s", tmpdir, heed_strerror(rc));
	}
	return env;
}

/* Checks one snapshot; returns its generation, or 0 with a message on
 * stderr if it is inconsistent or holds no generation. */
static uint64_t check_snapshot(heed_txn *txn)
{
	char why[160];
	uint64_t g = genset_check(txn, why, sizeof(why));
	if (g != 0 && g != UINT64_MAX)
		return g;
	fprintf(stderr, "pid %d: %s\n", (int)getpid(), g ? why : "no generation in the snapshot");
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double duration_s(void)
{
	const char *s = getenv("HEED_MULTIPROC_SECS");
	double d = 3.0;

	if (s)
		cr_assert(heed_parse_double(s, &d) == 0 && d > 0,
			  "HEED_MULTIPROC_SECS=%s: not a positive number of seconds", s);
	return d;
}

/* Reader child: snapshots until the deadline, and past it until it has seen
 * a commit of the writer (which starts only once every reader has written
 * to start_fd after its first snapshot), but not forever if the writer
 * failed. Writes the number of snapshots and of distinct generations it saw
 * to fd; exits 0 if all were consistent. */
static void reader_child(double until, int start_fd, int fd)
{
	heed_env *env = open_shared(1);
	uint64_t last = 0, snaps = 0, gens = 0;
	heed_txn *txn = NULL;
	int rc = heed_txn_begin(env, NULL, HEED_RDONLY, &txn);
	while (rc == 0 && (now_s() < until || gens < 2)) {
		if (now_s() > until + 60) {
			fprintf(stderr, "reader %d: no commit of the writer seen\n", (int)getpid());
			_exit(1);
		}
		uint64_t g = check_snapshot(txn);
		if (g == 0 || g < last) {
			if (g != 0)
				fprintf(stderr,
					"reader %d: generation went back from %" PRIu64
					" to %" PRIu64 "\n",
					(int)getpid(), last, g);
			_exit(1);
		}
		/* A snapshot reads the same twice, however the writer moves. */
		if (check_snapshot(txn) != g)
			_exit(1);
		if (snaps == 0 && write(start_fd, "r", 1) != 1)
			_exit(3);
		gens += g != last;
		last = g;
		snaps++;
		heed_txn_reset(txn);
		rc = heed_txn_renew(txn);
	}
	if (rc != 0) {
		fprintf(stderr, "reader %d: begin/renew: %s\n", (int)getpid(), heed_strerror(rc));
		_exit(1);
	}
	heed_txn_abort(txn);
	heed_env_close(env);
	uint64_t out[2] = {snaps, gens};
	_exit(write(fd, out, sizeof(out)) == (ssize_t)sizeof(out) ? 0 : 3);
}

/* Writer child: commits generations 2, 3, ... until the deadline, at least
 * two of them, from when every reader holds a snapshot of generation 1. */
static void writer_child(double until, int start_fd, int fd)
{
	heed_env *env = open_shared(1);
	uint64_t gen = 1;
	char c;
	for (int r = 0; r < READERS; r++) {
		if (read(start_fd, &c, 1) != 1) {
			fprintf(stderr, "writer: a reader did not start\n");
			_exit(1);
		}
	}
	do {
		int rc = genset_write(env, seed, ++gen);
		if (rc != 0) {
			fprintf(stderr, "writer: generation %" PRIu64 ": %s\n", gen,
				heed_strerror(rc));
			_exit(1);
		}
	} while (now_s() < until || gen < 3);
	heed_env_close(env);
	_exit(write(fd, &gen, sizeof(gen)) == (ssize_t)sizeof(gen) ? 0 : 3);
}

static void expect_exit0(pid_t pid, const char *who)
{
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid, "waitpid %s: %s", who, strerror(errno));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s (pid %d) failed: status %#x", who,
		  (int)pid, st);
}

TestSuite(multiproc, .init = setup, .fini = teardown, .timeout = 120);

static void consistent_snapshots(void)
{
	heed_env *env = open_shared(0);
	cr_assert_eq(genset_write(env, seed, 1), 0);
	heed_env_close(env);

	double until = now_s() + duration_s();
	int pipes[READERS + 1][2], start[2];
	pid_t pids[READERS + 1], parent = getpid();
	cr_assert_eq(pipe(start), 0);
	for (int p = 0; p <= READERS; p++) {
		cr_assert_eq(pipe(pipes[p]), 0);
		pids[p] = fork();
		cr_assert_geq(pids[p], 0, "fork: %s", strerror(errno));
		if (pids[p] == 0) {
			die_with_parent(parent);
			close(pipes[p][0]);
			if (p == READERS) {
				close(start[1]);
				writer_child(until, start[0], pipes[p][1]);
			}
			close(start[0]);
			reader_child(until, start[1], pipes[p][1]);
		}
		close(pipes[p][1]);
	}
	close(start[0]);
	close(start[1]);
	uint64_t commits = 0;
	for (int p = 0; p <= READERS; p++) {
		expect_exit0(pids[p], p == READERS ? "writer" : "reader");
		uint64_t out[2] = {0, 0};
		size_t want = p == READERS ? sizeof(uint64_t) : sizeof(out);
		cr_assert_eq(read(pipes[p][0], out, want), (ssize_t)want);
		close(pipes[p][0]);
		if (p == READERS) {
			commits = out[0];
			continue;
		}
		cr_log_info("reader %d: %" PRIu64 " snapshots, %" PRIu64 " generations", p, out[0],
			    out[1]);
		cr_assert_gt(out[0], 0, "reader %d verified no snapshot", p);
		cr_assert_geq(out[1], 2,
			      "reader %d saw one generation: it never overlapped the writer", p);
	}
	cr_log_info("writer: %" PRIu64 " generations", commits);
	cr_assert_gt(commits, 2, "the writer committed only %" PRIu64 " generations", commits);

	env = open_shared(0);
	heed_txn *txn;
	cr_assert_eq(heed_txn_begin(env, NULL, HEED_RDONLY, &txn), 0);
	cr_assert_eq(check_snapshot(txn), commits, "the last generation is the last committed");
	heed_txn_abort(txn);
	heed_env_close(env);
	HEED_CHECK_CLEAN(tmpdir);
}

Test(multiproc, consistent_snapshots)
{
	consistent_snapshots();
}

Test(multiproc, consistent_snapshots_nosync)
{
	open_flags = HEED_NOSYNC;
	consistent_snapshots();
}

/* Overwrites the same keys: with no reader pinning old pages, the file
 * reaches a steady size. */
static void churn(heed_env *env, int commits)
{
	for (int c = 0; c < commits; c++) {
		heed_txn *txn;
		cr_assert_eq(heed_txn_begin(env, NULL, 0, &txn), 0);
		for (int i = 0; i < 16; i++) {
			char kb[16];
			unsigned char vb[2000];
			snprintf(kb, sizeof(kb), "churn%02d", i);
			memset(vb, c + i, sizeof(vb));
			heed_val k = {strlen(kb), kb}, v = {sizeof(vb), vb};
			cr_assert_eq(heed_put(txn, 0, &k, &v, 0), 0);
		}
		int rc = heed_txn_commit(txn);
		cr_assert_eq(rc, 0, "churn commit %d: %s", c, heed_strerror(rc));
	}
}

static size_t last_pgno(heed_env *env)
{
	heed_envinfo info;
	cr_assert_eq(heed_env_info(env, &info), 0);
	return info.last_pgno;
}

static unsigned int numreaders(heed_env *env)
{
	heed_envinfo info;
	cr_assert_eq(heed_env_info(env, &info), 0);
	return info.numreaders;
}

Test(multiproc, killed_reader)
{
	heed_env *env = open_shared(0);
	churn(env, 20);
	unsigned int readers_before = numreaders(env);

	int ready[2];
	pid_t parent = getpid();
	cr_assert_eq(pipe(ready), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		die_with_parent(parent);
		close(ready[0]);
		heed_env *cenv = open_shared(1);
		heed_txn *txn;
		if (heed_txn_begin(cenv, NULL, HEED_RDONLY, &txn) != 0)
			_exit(1);
		size_t id = heed_txn_id(txn);
		if (write(ready[1], &id, sizeof(id)) != (ssize_t)sizeof(id))
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	size_t pinned = 0;
	cr_assert_eq(read(ready[0], &pinned, sizeof(pinned)), (ssize_t)sizeof(pinned),
		     "the reader child did not start");
	close(ready[0]);
	cr_assert_gt(numreaders(env), readers_before, "a reader in another process is not counted");

	/* While the reader lives, nothing freed after its snapshot is reused. */
	size_t p0 = last_pgno(env);
	churn(env, 100);
	size_t p1 = last_pgno(env);
	cr_assert_gt(p1, p0 + 100, "a live reader (snapshot %zu) did not pin pages: %zu -> %zu",
		     pinned, p0, p1);

	cr_assert_eq(kill(pid, SIGKILL), 0);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);

	/* The dead reader's slot is cleared and its pages come back. */
	churn(env, 50);
	size_t p2 = last_pgno(env);
	churn(env, 200);
	size_t p3 = last_pgno(env);
	cr_log_info("last_pgno: %zu, reader alive %zu, after kill %zu, then %zu", p0, p1, p2, p3);
	cr_assert_leq(p3 - p2, (p1 - p0) / 10,
		      "pages still pinned after the reader died: last_pgno %zu -> %zu in 200 "
		      "commits (it grew %zu in 100 while the reader lived)",
		      p2, p3, p1 - p0);
	cr_assert_leq(numreaders(env), readers_before, "the dead reader's slot is still in use");
	heed_env_close(env);
	HEED_CHECK_CLEAN(tmpdir);
}

Test(multiproc, killed_writer)
{
	heed_env *env = open_shared(0);
	cr_assert_eq(genset_write(env, seed, 7), 0);
	heed_env_close(env);

	int ready[2];
	pid_t parent = getpid();
	cr_assert_eq(pipe(ready), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		die_with_parent(parent);
		close(ready[0]);
		heed_env *cenv = open_shared(1);
		heed_txn *txn;
		if (heed_txn_begin(cenv, NULL, 0, &txn) != 0)
			_exit(1);
		heed_val k = {5, "ghost"}, v = {5, "boo!!"};
		if (heed_put(txn, 0, &k, &v, 0) != 0)
			_exit(1);
		char c = 'w';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	char c;
	cr_assert_eq(read(ready[0], &c, 1), 1, "the writer child did not start");
	close(ready[0]);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);

	env = open_shared(0);
	heed_txn *txn;
	int rc;
	/* HEED_BUSY may be seen while the kernel releases the dead lock. */
	for (int tries = 0; (rc = heed_txn_begin(env, NULL, 0, &txn)) == HEED_BUSY && tries < 500;
	     tries++)
		usleep(10000);
	cr_assert_eq(rc, 0, "write txn after the writer died: %s", heed_strerror(rc));
	heed_val k = {5, "ghost"}, v;
	cr_assert_eq(heed_get(txn, 0, &k, &v), HEED_NOTFOUND, "the dead txn's put is visible");
	cr_assert_eq(check_snapshot(txn), 7);
	heed_txn_abort(txn);
	cr_assert_eq(genset_write(env, seed, 8), 0);
	heed_env_close(env);
	HEED_CHECK_CLEAN(tmpdir);
}

#define INCREMENTS 300

static int increment(heed_env *env)
{
	heed_txn *txn;
	int rc;
	while ((rc = heed_txn_begin(env, NULL, 0, &txn)) == HEED_BUSY)
		usleep(1000);
	if (rc != 0)
		return rc;
	heed_val k = {7, "counter"}, v;
	uint64_t n = 0;
	rc = heed_get(txn, 0, &k, &v);
	if (rc == 0 && v.size == sizeof(n))
		memcpy(&n, v.data, sizeof(n));
	else if (rc != HEED_NOTFOUND)
		goto fail;
	n++;
	v.size = sizeof(n);
	v.data = &n;
	rc = heed_put(txn, 0, &k, &v, 0);
	if (rc != 0)
		goto fail;
	return heed_txn_commit(txn);
fail:
	heed_txn_abort(txn);
	return rc ? rc : HEED_CORRUPTED;
}

static void writer_processes(void)
{
	pid_t pids[2], parent = getpid();
	for (int p = 0; p < 2; p++) {
		pids[p] = fork();
		cr_assert_geq(pids[p], 0, "fork: %s", strerror(errno));
		if (pids[p] == 0) {
			die_with_parent(parent);
			heed_env *env = open_shared(1);
			for (int i = 0; i < INCREMENTS; i++) {
				int rc = increment(env);
				if (rc != 0) {
					fprintf(stderr, "writer %d: increment %d: %s\n", p, i,
						heed_strerror(rc));
					_exit(1);
				}
			}
			heed_env_close(env);
			_exit(0);
		}
	}
	expect_exit0(pids[0], "writer 0");
	expect_exit0(pids[1], "writer 1");
	heed_env *env = open_shared(0);
	heed_txn *txn;
	cr_assert_eq(heed_txn_begin(env, NULL, HEED_RDONLY, &txn), 0);
	heed_val k = {7, "counter"}, v;
	cr_assert_eq(heed_get(txn, 0, &k, &v), 0);
	uint64_t n = 0;
	cr_assert_eq(v.size, sizeof(n));
	memcpy(&n, v.data, sizeof(n));
	cr_assert_eq(n, 2 * INCREMENTS, "lost updates: counter %" PRIu64 ", expected %d", n,
		     2 * INCREMENTS);
	heed_txn_abort(txn);
	heed_env_close(env);
	HEED_CHECK_CLEAN(tmpdir);
}

Test(multiproc, writer_processes)
{
	writer_processes();
}

Test(multiproc, writer_processes_nosync)
{
	open_flags = HEED_NOSYNC;
	writer_processes();
}

/* The pid of a process that has exited and been reaped. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return pid;
}

/* A live process that never opens the env: what a recycled pid names. */
static pid_t idle_child(void)
{
	pid_t parent = getpid(), pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		die_with_parent(parent);
		for (;;)
			pause();
	}
	return pid;
}

static void end_child(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

static uint64_t last_txnid(heed_env *env)
{
	heed_envinfo info;
	cr_assert_eq(heed_env_info(env, &info), 0);
	return info.last_txnid;
}

/* Puts a pid and a pinned snapshot into slot i, as a process that opened
 * the env would have left them (generation 5). */
static void plant_slot(heed_env *env, unsigned int i, pid_t pid, uint64_t txnid)
{
	struct reader_slot *s = &env->slots[i];
	atomic_store(&s->owner, (5ULL << 32) | (uint32_t)pid);
	atomic_store(&s->txnid, txnid);
}

static heed_env *hook_env2;
static heed_txn *hook_txn;
static int hook_calls;
static unsigned int hook_slot;

/* Runs inside the sweep of slot i, after it judged the owner dead: another
 * sweeper frees the slot first, then a reader of another env claims it. */
static void stale_hook(heed_env *env, unsigned int i)
{
	struct reader_slot *s = &env->slots[i];
	lock_stale_hook = NULL;
	hook_calls++;
	hook_slot = i;
	atomic_store(&s->txnid, SLOT_IDLE);
	atomic_store(&s->owner, atomic_load(&s->owner) & 0xffffffff00000000ULL);
	if (heed_txn_begin(hook_env2, NULL, HEED_RDONLY, &hook_txn) != 0)
		hook_txn = NULL;
}

/* The churn values the snapshot after churn commit c holds. */
static int churn_values_are(heed_txn *txn, int c)
{
	for (int i = 0; i < 16; i++) {
		char kb[16];
		unsigned char want[2000];
		heed_val k, v;
		snprintf(kb, sizeof(kb), "churn%02d", i);
		k.size = strlen(kb);
		k.data = kb;
		memset(want, c + i, sizeof(want));
		if (heed_get(txn, 0, &k, &v) != 0 || v.size != sizeof(want) ||
		    memcmp(v.data, want, sizeof(want)) != 0)
			return 0;
	}
	return 1;
}

/* A dead owner with pid planted_pid pins the snapshot before the last
 * commit; a write txn's sweep finds it, and the hook lets a reader of a
 * second env of this process take the slot before the sweep claims it. */
static void sweep_race(pid_t planted_pid)
{
	heed_env *env = open_shared(0);
	churn(env, 5);
	hook_env2 = open_shared(0);
	plant_slot(env, 0, planted_pid, last_txnid(env) - 1);
	lock_stale_hook = stale_hook;
	heed_txn *w;
	cr_assert_eq(heed_txn_begin(env, NULL, 0, &w), 0);
	heed_txn_abort(w);
	cr_assert_eq(hook_calls, 1, "the dead reader's slot was not swept");
	cr_assert_eq(hook_slot, 0);
	cr_assert_not_null(hook_txn, "the new reader could not begin");
	struct reader_slot *s = &env->slots[0];
	cr_assert_eq(slot_pid(atomic_load(&s->owner)), (uint32_t)getpid(),
		     "the new reader did not take the swept slot");
	cr_assert_eq(atomic_load(&s->txnid), (uint64_t)heed_txn_id(hook_txn),
		     "the sweep wiped the snapshot of the reader that took the slot");
	/* Its snapshot stays whole while the writer churns. */
	churn(env, 60);
	cr_assert(churn_values_are(hook_txn, 4), "the new reader's snapshot was overwritten");
	heed_txn_abort(hook_txn);
	heed_env_close(hook_env2);
	heed_env_close(env);
	HEED_CHECK_CLEAN(tmpdir);
}

Test(multiproc, stale_sweep_spares_a_new_reader)
{
	sweep_race(dead_pid());
}

/* The dead owner had this process's pid (recycled): only the slot's
 * generation tells the new reader from it. */
Test(multiproc, stale_sweep_spares_a_new_reader_with_the_same_pid)
{
	sweep_race(getpid());
}

Test(multiproc, recycled_pid_does_not_pin_pages)
{
	heed_env *env = open_shared(0);
	churn(env, 20);
	unsigned int readers_before = numreaders(env);
	heed_envinfo info;
	cr_assert_eq(heed_env_info(env, &info), 0);
	pid_t child = idle_child();
	plant_slot(env, info.maxreaders - 1, child, last_txnid(env));
	churn(env, 50);
	size_t p0 = last_pgno(env);
	churn(env, 300);
	size_t p1 = last_pgno(env);
	unsigned int readers_after = numreaders(env);
	int alive = kill(child, 0) == 0;
	end_child(child);
	cr_assert(alive, "the idle child died: the test proves nothing");
	cr_log_info("last_pgno %zu -> %zu in 300 commits", p0, p1);
	/* Pinned, each commit adds ~10 pages (16 values of 2000 bytes). */
	cr_assert_leq(p1 - p0, 100,
		      "a slot of a live process that never opened the env pins pages: "
		      "last_pgno %zu -> %zu in 300 commits",
		      p0, p1);
	cr_assert_leq(readers_after, readers_before, "the planted slot is still counted");
	heed_env_close(env);
	HEED_CHECK_CLEAN(tmpdir);
}

static void lock_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/lock.heed", tmpdir);
}

/* Writes a slot (txnid, pid) straight into the lock file: the layout's
 * owner word has the pid in its low 32 bits, as the old one had its pid. */
static void poke_slot(unsigned int i, uint64_t txnid, uint32_t pid)
{
	char path[300];
	lock_path(path, sizeof(path));
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	off_t off = 64 + 64 * (off_t)i;
	cr_assert_eq(pwrite(fd, &txnid, 8, off), 8);
	cr_assert_eq(pwrite(fd, &pid, 4, off + 8), 4);
	close(fd);
}

static void poke_version(uint32_t version)
{
	char path[300];
	lock_path(path, sizeof(path));
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(pwrite(fd, &version, 4, 4), 4);
	close(fd);
}

Test(multiproc, reader_table_reset_when_unused)
{
	heed_env *env = open_shared(0);
	churn(env, 5);
	heed_env_close(env);

	/* Left by processes before a reboot: pids now alive again. */
	pid_t child = idle_child();
	poke_slot(0, 1, (uint32_t)getpid());
	poke_slot(3, 2, (uint32_t)child);
	env = open_shared(0);
	unsigned int n = numreaders(env);
	end_child(child);
	cr_assert_eq(n, 0, "%u slots of a lock file nobody had open survived", n);

	/* The old layout while another env uses the file: refused. */
	heed_env *other;
	poke_version(1);
	cr_assert_eq(heed_env_create(&other), 0);
	int rc = heed_env_open(other, tmpdir, 0, 0644);
	heed_env_close(other);
	poke_version(LOCK_VERSION);
	cr_assert_eq(rc, HEED_VERSION_MISMATCH, "a lock file of version 1 in use: open gave %s",
		     heed_strerror(rc));
	heed_env_close(env);

	/* The old layout with nobody using it: rewritten, never read. */
	poke_slot(1, 1, (uint32_t)getpid());
	poke_version(1);
	env = open_shared(0);
	cr_assert_eq(numreaders(env), 0);
	heed_txn *txn;
	cr_assert_eq(heed_txn_begin(env, NULL, HEED_RDONLY, &txn), 0);
	cr_assert(churn_values_are(txn, 4));
	heed_txn_abort(txn);
	heed_env_close(env);
	HEED_CHECK_CLEAN(tmpdir);
}
