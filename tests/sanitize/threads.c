/*
 * threads: one environment shared by the threads of one process, the
 * program tests/t_sanitize.sh runs under ThreadSanitizer. It is a plain
 * program, not a Criterion suite, because Criterion cannot start under
 * TSan (Criterion issue #274: "Could not initialize inheritable arena").
 *
 *   - a writer thread commits COMMITS generations of the set of genset.h;
 *   - a second writer thread increments a counter in its own write txns, so
 *     two threads contend for the writer lock;
 *   - READERS reader threads take snapshots (begin, or reset + renew) until
 *     the writers are done; all keys of a snapshot must carry one
 *     generation and match the checksum, and generations never go back.
 *     The writers start once every reader has checked its first snapshot,
 *     so no reader can miss them all;
 *   - a thread polls heed_env_info and heed_env_stat meanwhile;
 *   - a thread takes over read txns that short-lived threads begin and
 *     then exit, checks each snapshot and ends it while the beginning
 *     thread may still be exiting (its reader slot then outlives it).
 * The handover thread waits for no barrier: a snapshot before the
 * first commit (generation 0) is consistent too.
 * At the end the counter and the last generation must be exact.
 *
 * Usage: threads [ignored...]; HEED_THREADS_COMMITS (default 300) sets the
 * length, HEED_SEED replays the value sizes. Exit 0 when every check held.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../env_open.h"
#include "../genset.h"
#include "parse.h"

#define READERS	   4
#define INCREMENTS 200

static heed_env *env;
static uint64_t seed;
static long commits = 300;
static atomic_int writers_left = 2;
static atomic_int failed;
static pthread_barrier_t start; /* the readers' first snapshots, then the writers */

static void failf(const char *what, int rc)
{
	fprintf(stderr, "threads: %s: %s\n", what, heed_strerror(rc));
	atomic_store(&failed, 1);
}

static void *writer(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	for (uint64_t gen = 1; gen <= (uint64_t)commits && !atomic_load(&failed); gen++) {
		int rc = genset_write(env, seed, gen);
		if (rc != 0) {
			failf("writer", rc);
			break;
		}
	}
	atomic_fetch_sub(&writers_left, 1);
	return NULL;
}

static void *incrementer(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	for (int i = 0; i < INCREMENTS && !atomic_load(&failed); i++) {
		heed_txn *txn = NULL;
		int rc = heed_txn_begin(env, NULL, 0, &txn);
		if (rc != 0) {
			failf("incrementer begin", rc);
			break;
		}
		heed_val k = {7, "counter"}, v;
		uint64_t n = 0;
		rc = heed_get(txn, 0, &k, &v);
		if (rc == 0 && v.size == sizeof(n)) {
			memcpy(&n, v.data, sizeof(n));
		} else if (rc != HEED_NOTFOUND) {
			heed_txn_abort(txn);
			failf("incrementer get", rc ? rc : HEED_CORRUPTED);
			break;
		}
		n++;
		v.size = sizeof(n);
		v.data = &n;
		rc = heed_put(txn, 0, &k, &v, 0);
		if (rc == 0) {
			rc = heed_txn_commit(txn);
		} else {
			heed_txn_abort(txn);
		}
		if (rc != 0) {
			failf("incrementer commit", rc);
			break;
		}
	}
	atomic_fetch_sub(&writers_left, 1);
	return NULL;
}

/* The generation of a consistent snapshot, 0 before the first commit,
 * UINT64_MAX (and a message) for an inconsistent one. */
static uint64_t check_snapshot(heed_txn *txn)
{
	char why[160];
	uint64_t g = genset_check(txn, why, sizeof(why));
	if (g == UINT64_MAX) {
		fprintf(stderr, "threads: %s\n", why);
		atomic_store(&failed, 1);
	}
	return g;
}

static void *reader(void *arg)
{
	long id = (long)(intptr_t)arg;
	uint64_t last = 0;
	long snaps = 0;
	heed_txn *txn = NULL;
	int rc = heed_txn_begin(env, NULL, HEED_RDONLY, &txn);
	while (rc == 0 && !atomic_load(&failed)) {
		uint64_t g = check_snapshot(txn);
		if (g == UINT64_MAX)
			break;
		if (g < last) {
			fprintf(stderr,
				"threads: reader %ld: generation %" PRIu64 " after %" PRIu64 "\n",
				id, g, last);
			atomic_store(&failed, 1);
			break;
		}
		last = g;
		if (snaps++ == 0)
			pthread_barrier_wait(&start);
		else if (atomic_load(&writers_left) == 0)
			break;
		/* Half the readers reuse their handle, half take a new one. */
		if (id % 2) {
			heed_txn_reset(txn);
			rc = heed_txn_renew(txn);
		} else {
			heed_txn_abort(txn);
			rc = heed_txn_begin(env, NULL, HEED_RDONLY, &txn);
		}
	}
	if (snaps == 0)
		pthread_barrier_wait(&start); /* failed first: let the others go */
	if (rc != 0)
		failf("reader begin/renew", rc);
	else
		heed_txn_abort(txn);
	fprintf(stderr, "threads: reader %ld: %ld snapshots, last generation %" PRIu64 "\n", id,
		snaps, last);
	return NULL;
}

static void *poller(void *arg)
{
	(void)arg;
	size_t last = 0;
	while (atomic_load(&writers_left) > 0 && !atomic_load(&failed)) {
		heed_envinfo info;
		heed_stat st;
		int rc = heed_env_info(env, &info);
		if (rc == 0)
			rc = heed_env_stat(env, &st);
		if (rc != 0) {
			failf("env_info/env_stat", rc);
			break;
		}
		if (info.last_txnid < last) {
			fprintf(stderr, "threads: last_txnid went back\n");
			atomic_store(&failed, 1);
		}
		last = info.last_txnid;
		usleep(1000);
	}
	return NULL;
}

/* Begins a read txn, hands it over through arg, exits. */
static void *beginner(void *arg)
{
	_Atomic(heed_txn *) *slot = arg;
	heed_txn *txn = NULL;
	int rc = heed_txn_begin(env, NULL, HEED_RDONLY, &txn);
	if (rc != 0) {
		failf("handed-over read txn begin", rc);
		txn = NULL;
	}
	atomic_store(slot, rc ? (heed_txn *)-1 : txn);
	return NULL;
}

static void *handover(void *arg)
{
	(void)arg;
	long n = 0;
	while (atomic_load(&writers_left) > 0 && !atomic_load(&failed)) {
		_Atomic(heed_txn *) slot = NULL;
		heed_txn *txn;
		pthread_t th;
		if (pthread_create(&th, NULL, beginner, &slot) != 0) {
			failf("pthread_create", EAGAIN);
			break;
		}
		while (!(txn = atomic_load(&slot)))
			sched_yield();
		if (txn != (heed_txn *)-1) {
			check_snapshot(txn);
			heed_txn_abort(txn);
			n++;
		}
		pthread_join(th, NULL);
	}
	fprintf(stderr, "threads: %ld read txns handed over\n", n);
	return NULL;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	const char *s = getenv("HEED_SEED");
	seed = (uint64_t)time(NULL);
	if (s && *s && heed_parse_u64(s, &seed) != 0) {
		fprintf(stderr, "threads: HEED_SEED=%s: not a whole number\n", s);
		return 2;
	}
	const char *c = getenv("HEED_THREADS_COMMITS");
	uint64_t nc;
	if (c && *c) {
		if (heed_parse_u64(c, &nc) != 0 || nc < 1 || nc > 100000000) {
			fprintf(stderr, "threads: HEED_THREADS_COMMITS=%s: not a count 1..1e8\n",
				c);
			return 2;
		}
		commits = (long)nc;
	}
	fprintf(stderr,
		"threads: seed %" PRIu64 " (replay with HEED_SEED=%" PRIu64 "), %ld commits\n",
		seed, seed, commits);

	char dir[] = "/tmp/heed-threads-XXXXXX";
	if (!mkdtemp(dir)) {
		fprintf(stderr, "threads: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	int rc = env_open_dir(&env, dir, HEED_NOSYNC, 0, 0, 0);
	if (rc != 0) {
		fprintf(stderr, "threads: open %s: %s\n", dir, heed_strerror(rc));
		nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
		return 1;
	}

	pthread_t th[READERS + 4];
	int n = 0, err = pthread_barrier_init(&start, NULL, READERS + 2);
	if (err == 0) {
		err |= pthread_create(&th[n++], NULL, writer, NULL);
		err |= pthread_create(&th[n++], NULL, incrementer, NULL);
		err |= pthread_create(&th[n++], NULL, poller, NULL);
		err |= pthread_create(&th[n++], NULL, handover, NULL);
		for (long r = 0; r < READERS; r++)
			err |= pthread_create(&th[n++], NULL, reader, (void *)(intptr_t)r);
	}
	if (err) {
		fprintf(stderr, "threads: pthread_barrier_init/pthread_create failed\n");
		return 1;
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);

	if (!atomic_load(&failed)) {
		heed_txn *txn = NULL;
		rc = heed_txn_begin(env, NULL, HEED_RDONLY, &txn);
		if (rc != 0) {
			failf("final read txn", rc);
		} else {
			heed_val k = {7, "counter"}, v;
			uint64_t cnt = 0;
			if (heed_get(txn, 0, &k, &v) == 0 && v.size == sizeof(cnt))
				memcpy(&cnt, v.data, sizeof(cnt));
			uint64_t g = check_snapshot(txn);
			if (cnt != INCREMENTS || g != (uint64_t)commits) {
				fprintf(stderr,
					"threads: counter %" PRIu64
					" (expected %d), generation %" PRIu64 " (expected %ld)\n",
					cnt, INCREMENTS, g, commits);
				atomic_store(&failed, 1);
			}
			heed_txn_abort(txn);
		}
	}
	heed_env_close(env);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	if (atomic_load(&failed))
		return 1;
	fprintf(stderr, "threads: ok\n");
	return 0;
}
