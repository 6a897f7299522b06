/* pending.c - a target for heed-trace's tests whose threads end with ops still in
 * their batch (core/opbatch.c): each leaves a read txn open, so no txn end hands
 * the batch over.
 *
 *   pending DIR N [fork]   puts N keys (one commit), then a second thread
 *                          gets each key in a read txn it never ends and
 *                          returns; with fork, a child process then gets each
 *                          key in a read txn it ends, and exits; then the main
 *                          thread does the same as the thread and exits.
 *
 * The thread's records reach the tracer when it exits, the main thread's when
 * the process does. The child runs the probe's site after its parent fired it
 * (and Linux 6.18 may have made it a call to a trampoline the child lacks).
 * Prints "puts N gets 2N" when done, or exits 1 naming the failed call or the
 * child's death.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heed.h"
#include "parse.h"

static const char *dir;
static heed_env *env;
static heed_dbi dbi;
static uint64_t n;

static void must(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "pending: %s: %s\n", what, heed_strerror(rc));
		exit(1);
	}
}

static heed_val key_of(char *kb, size_t size, uint64_t k)
{
	snprintf(kb, size, "k%08" PRIu64, k);
	return (heed_val){strlen(kb), kb};
}

/* Gets each key in txn. */
static void read_in(heed_txn *txn)
{
	heed_val key, val;
	char kb[32];
	uint64_t k;

	for (k = 0; k < n; k++) {
		key = key_of(kb, sizeof(kb), k);
		must(heed_get(txn, dbi, &key, &val), "heed_get");
	}
}

/* N gets in a read txn left open. */
static void *read_all(void *unused)
{
	heed_txn *txn;

	(void)unused;
	must(heed_txn_begin(env, NULL, HEED_RDONLY, &txn), "heed_txn_begin");
	read_in(txn);
	return NULL;
}

/* A child process's N gets in a read txn it ends. */
static void forked_reads(void)
{
	heed_txn *txn;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		must(errno, "fork");
	if (!pid) {
		/* An env of its own: one is not used across a fork. */
		must(heed_env_create(&env), "heed_env_create in the child");
		must(heed_env_open(env, dir, HEED_RDONLY, 0644), "heed_env_open in the child");
		must(heed_txn_begin(env, NULL, HEED_RDONLY, &txn), "heed_txn_begin in the child");
		must(heed_dbi_open(txn, NULL, 0, &dbi), "heed_dbi_open in the child");
		read_in(txn);
		heed_txn_abort(txn);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "pending: the child did not exit 0 (status %#x)\n", status);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	heed_txn *txn;
	heed_val key, val;
	pthread_t t;
	char kb[32];
	uint64_t k;

	if (argc < 3 || argc > 4 || heed_parse_u64(argv[2], &n) || !n ||
	    (argc == 4 && strcmp(argv[3], "fork") != 0)) {
		fprintf(stderr, "usage: pending DIR N [fork]\n");
		return 2;
	}
	dir = argv[1];
	mkdir(dir, 0755);
	must(heed_env_create(&env), "heed_env_create");
	must(heed_env_set_mapsize(env, 1UL << 28), "heed_env_set_mapsize");
	must(heed_env_open(env, dir, HEED_NOSYNC, 0644), "heed_env_open");
	must(heed_txn_begin(env, NULL, 0, &txn), "heed_txn_begin");
	must(heed_dbi_open(txn, NULL, 0, &dbi), "heed_dbi_open");
	for (k = 0; k < n; k++) {
		key = key_of(kb, sizeof(kb), k);
		val = (heed_val){8, &k};
		must(heed_put(txn, dbi, &key, &val, 0), "heed_put");
	}
	must(heed_txn_commit(txn), "heed_txn_commit");
	if (pthread_create(&t, NULL, read_all, NULL) || pthread_join(t, NULL)) {
		fprintf(stderr, "pending: cannot run the reader thread\n");
		return 1;
	}
	if (argc == 4)
		forked_reads();
	read_all(NULL);
	printf("puts %" PRIu64 " gets %" PRIu64 "\n", n, 2 * n);
	fflush(stdout);
	exit(0);
}
