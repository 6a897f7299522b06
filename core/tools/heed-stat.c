/*
 * heed-stat PATH [-a] [-r] - print the statistics of a heed environment,
 * like mdb_stat: environment info, freelist, the main db; -a every named
 * db (with its flags when it has any; a DUPSORT one also with its keys, as
 * its entries count values, and the most values a key has); -r the reader
 * table (slots in use: pid, thread id, snapshot txnid).
 */
#include "heed.h"
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STAT_MAXDBS 4096

static void print_stat(const char *title, const heed_stat *st)
{
	printf("Status of %s\n", title);
	printf("  Tree depth: %u\n", st->depth);
	printf("  Branch pages: %zu\n", st->branch_pages);
	printf("  Leaf pages: %zu\n", st->leaf_pages);
	printf("  Overflow pages: %zu\n", st->overflow_pages);
	printf("  Entries: %zu\n", st->entries);
}

/* The names of the db flags, one row a bit (LMDB's values and names): a
 * new flag gets its row here and shows in "Flags:". */
static const struct {
	unsigned int bit;
	const char *name;
} db_flag_names[] = {
	{HEED_REVERSEKEY, "REVERSEKEY"}, {HEED_DUPSORT, "DUPSORT"},
	{HEED_INTEGERKEY, "INTEGERKEY"}, {HEED_DUPFIXED, "DUPFIXED"},
	{HEED_INTEGERDUP, "INTEGERDUP"}, {HEED_REVERSEDUP, "REVERSEDUP"},
};

/* "  Flags: DUPSORT DUPFIXED": the named bits, then any other as hex, so
 * that a flag added to DB_PERSISTENT (internal.h: the bits a db record may
 * hold) before its row here still shows. */
static void print_flags(unsigned int flags)
{
	size_t i;

	printf("  Flags:");
	for (i = 0; i < sizeof(db_flag_names) / sizeof(db_flag_names[0]); i++)
		if (flags & db_flag_names[i].bit) {
			printf(" %s", db_flag_names[i].name);
			flags &= ~db_flag_names[i].bit;
		}
	if (flags)
		printf(" 0x%x", flags);
	printf("\n");
}

/* A DUPSORT db's keys and the most values one of them holds. */
static int print_dups(heed_txn *txn, heed_dbi dbi)
{
	heed_cursor *cur;
	size_t keys = 0, most = 0, n;
	int rc = heed_cursor_open(txn, dbi, &cur);

	while (!rc && !(rc = heed_cursor_get(cur, NULL, NULL, HEED_NEXT_NODUP))) {
		rc = heed_cursor_count(cur, &n);
		keys++;
		if (!rc && n > most)
			most = n;
	}
	heed_cursor_close(cur);
	if (rc != HEED_NOTFOUND)
		return rc;
	printf("  Keys: %zu\n", keys);
	printf("  Most values of a key: %zu\n", most);
	return 0;
}

/* Print every named db: the main db's keys that open as a db. */
static int print_named(heed_env *env, const char *path)
{
	heed_txn *txn;
	heed_cursor *cur;
	heed_val k, v;
	int rc;

	rc = heed_txn_begin(env, NULL, HEED_RDONLY, &txn);
	if (rc)
		return rc;
	rc = heed_cursor_open(txn, 0, &cur);
	while (!rc && !(rc = heed_cursor_get(cur, &k, &v, HEED_NEXT))) {
		char name[512];
		heed_dbi dbi;
		heed_stat st;
		unsigned int flags = 0;

		if (k.size >= sizeof(name) || memchr(k.data, 0, k.size))
			continue;
		memcpy(name, k.data, k.size);
		name[k.size] = 0;
		/* HEED_INCOMPATIBLE: the key holds user data, not a db. */
		rc = heed_dbi_open(txn, name, 0, &dbi);
		if (rc == HEED_INCOMPATIBLE) {
			rc = 0;
			continue;
		}
		if (!rc)
			rc = heed_dbi_stat(txn, dbi, &st);
		if (!rc)
			rc = heed_dbi_flags(txn, dbi, &flags);
		if (!rc)
			print_stat(name, &st);
		if (!rc && flags)
			print_flags(flags);
		if (!rc && (flags & HEED_DUPSORT))
			rc = print_dups(txn, dbi);
	}
	if (rc && rc != HEED_NOTFOUND)
		fprintf(stderr, "heed-stat: %s: reading the named dbs: %s\n", path,
			heed_strerror(rc));
	heed_txn_abort(txn);
	return rc == HEED_NOTFOUND ? 0 : rc;
}

static void print_readers(heed_env *env)
{
	unsigned int i, n = 0;

	printf("Reader Table\n");
	printf("  %10s %10s %20s\n", "pid", "tid", "txnid");
	for (i = 0; i < env->maxreaders; i++) {
		struct reader_slot *s = &env->slots[i];
		uint32_t pid = slot_pid(atomic_load(&s->owner));
		uint64_t txnid = atomic_load(&s->txnid);

		if (!pid || pid == SLOT_RECLAIM)
			continue;
		n++;
		if (txnid == SLOT_IDLE)
			printf("  %10u %10llu %20s\n", pid, (unsigned long long)s->tid, "-");
		else
			printf("  %10u %10llu %20llu\n", pid, (unsigned long long)s->tid,
			       (unsigned long long)txnid);
	}
	if (!n)
		printf("  (no reader slot in use)\n");
}

/* -h and --help print to stdout and succeed; a usage error prints to stderr. */
static int usage(FILE *f)
{
	fprintf(f, "usage: heed-stat PATH [-a] [-r]\n"
		   "  PATH: an environment directory, or a data file (NOSUBDIR)\n"
		   "  -a    also every named database\n"
		   "  -r    the reader table (slots in use)\n");
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	heed_env *env = NULL;
	heed_envinfo info;
	heed_stat st;
	struct stat sb;
	size_t nfree = 0, nchain = 0, nreuse = 0;
	unsigned int flags = HEED_RDONLY;
	int all = 0, readers = 0, i, rc;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return usage(stdout);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-a"))
			all = 1;
		else if (!strcmp(argv[i], "-r"))
			readers = 1;
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else
			return usage(stderr);
	}
	if (!path)
		return usage(stderr);
	if (stat(path, &sb) < 0) {
		fprintf(stderr, "heed-stat: %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (S_ISREG(sb.st_mode))
		flags |= HEED_NOSUBDIR;
	rc = heed_env_create(&env);
	if (!rc && all)
		rc = heed_env_set_maxdbs(env, STAT_MAXDBS);
	if (!rc)
		rc = heed_env_open(env, path, flags, 0644);
	if (!rc)
		rc = heed_env_info(env, &info);
	if (!rc)
		rc = heed_env_stat(env, &st);
	if (!rc)
		rc = heed_env_freelist(env, &nfree, &nchain, &nreuse);
	if (rc) {
		fprintf(stderr, "heed-stat: %s: %s\n", path, heed_strerror(rc));
		heed_env_close(env);
		return 1;
	}
	printf("Environment Info\n");
	printf("  Map size: %zu\n", info.mapsize);
	printf("  Page size: %u\n", st.psize);
	printf("  Last page number: %zu\n", info.last_pgno);
	printf("  Last transaction ID: %zu\n", info.last_txnid);
	printf("  Max readers: %u\n", info.maxreaders);
	printf("  Number of readers used: %u\n", info.numreaders);
	printf("Freelist Status\n");
	printf("  Free pages: %zu\n", nfree);
	printf("  Reusable now: %zu\n", nreuse);
	printf("  Freelist pages: %zu\n", nchain);
	if (readers)
		print_readers(env);
	print_stat("Main DB", &st);
	if (all)
		rc = print_named(env, path);
	heed_env_close(env);
	return rc ? 1 : 0;
}
