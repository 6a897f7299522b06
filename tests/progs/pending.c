/* pending.c - a target for heed-trace's tests whose threads end with ops still in
 * their batch (core/opbatch.c): each leaves a read txn open, so no txn end hands
 * the batch over.
 *
 *   pending DIR N   puts N keys (one commit), then a second thread gets each
 *                   key in a read txn it never ends and returns; then the main
 *                   thread does the same and exits.
 *
 * The thread's records reach the tracer when it exits, the main thread's when
 * the process does. Prints "puts N gets 2N" when done, or exits 1 naming the
 * failed call.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "heed.h"
#include "parse.h"

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

/* N gets in a read txn left open. */
static void *read_all(void *unused)
{
	heed_txn *txn;
	heed_val key, val;
	char kb[32];
	uint64_t k;

	(void)unused;
	must(heed_txn_begin(env, NULL, HEED_RDONLY, &txn), "heed_txn_begin");
	for (k = 0; k < n; k++) {
		key = key_of(kb, sizeof(kb), k);
		must(heed_get(txn, dbi, &key, &val), "heed_get");
	}
	return NULL;
}

int main(int argc, char **argv)
{
	heed_txn *txn;
	heed_val key, val;
	pthread_t t;
	char kb[32];
	uint64_t k;

	if (argc != 3 || heed_parse_u64(argv[2], &n) || !n) {
		fprintf(stderr, "usage: pending DIR N\n");
		return 2;
	}
	mkdir(argv[1], 0755);
	must(heed_env_create(&env), "heed_env_create");
	must(heed_env_set_mapsize(env, 1UL << 28), "heed_env_set_mapsize");
	must(heed_env_open(env, argv[1], HEED_NOSYNC, 0644), "heed_env_open");
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
	read_all(NULL);
	printf("puts %" PRIu64 " gets %" PRIu64 "\n", n, 2 * n);
	fflush(stdout);
	exit(0);
}
