/* nested.c - a target for heed-trace's tests that writes through nested txns
 * of libheed, with known op counts:
 *
 *   nested DIR N   N rounds in the env at DIR, each: a top write txn, a
 *                  child with 3 puts and a get, a grandchild with a put it
 *                  aborts, the child's commit, a get on the top txn, the
 *                  top's commit; every 4th round also commits the top with
 *                  a child still open (one commit call for both).
 *
 * It prints what it did as "key value" lines (puts, gets, commits, txns
 * begun, aborts) on stdout when done, or exits 1 naming the failed call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "heed.h"
#include "parse.h"

static unsigned long puts_n, gets, commits, begins, aborts;

static void must(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "nested: %s: %s\n", what, heed_strerror(rc));
		exit(1);
	}
}

static heed_txn *begin(heed_env *env, heed_txn *parent)
{
	heed_txn *txn;

	must(heed_txn_begin(env, parent, 0, &txn), "heed_txn_begin");
	begins++;
	return txn;
}

static void put(heed_txn *txn, heed_dbi dbi, unsigned long k)
{
	char kb[32];
	heed_val key, val = {8, &k};

	snprintf(kb, sizeof(kb), "k%08lu", k);
	key = (heed_val){strlen(kb), kb};
	must(heed_put(txn, dbi, &key, &val, 0), "heed_put");
	puts_n++;
}

static void get(heed_txn *txn, heed_dbi dbi, unsigned long k)
{
	char kb[32];
	heed_val key, val;

	snprintf(kb, sizeof(kb), "k%08lu", k);
	key = (heed_val){strlen(kb), kb};
	must(heed_get(txn, dbi, &key, &val), "heed_get");
	gets++;
}

int main(int argc, char **argv)
{
	heed_env *env;
	heed_txn *top, *child, *grand;
	heed_dbi dbi;
	uint64_t n, i;

	if (argc != 3 || heed_parse_u64(argv[2], &n)) {
		fprintf(stderr, "usage: nested DIR N\n");
		return 2;
	}
	mkdir(argv[1], 0755);
	must(heed_env_create(&env), "heed_env_create");
	must(heed_env_open(env, argv[1], HEED_NOSYNC, 0644), "heed_env_open");
	for (i = 0; i < n; i++) {
		top = begin(env, NULL);
		must(heed_dbi_open(top, NULL, 0, &dbi), "heed_dbi_open");
		child = begin(env, top);
		put(child, dbi, 3 * i);
		put(child, dbi, 3 * i + 1);
		put(child, dbi, 3 * i + 2);
		get(child, dbi, 3 * i);
		grand = begin(env, child);
		put(grand, dbi, 1000000000 + i);
		heed_txn_abort(grand);
		aborts++;
		must(heed_txn_commit(child), "heed_txn_commit (child)");
		commits++;
		get(top, dbi, 3 * i + 1);
		if (i % 4 == 3) {
			child = begin(env, top);
			put(child, dbi, 2000000000 + i);
		}
		must(heed_txn_commit(top), "heed_txn_commit");
		commits++;
	}
	heed_env_close(env);
	printf("put %lu\nget %lu\ncommit %lu\nbegin %lu\nabort %lu\n", puts_n, gets, commits,
	       begins, aborts);
	return 0;
}
