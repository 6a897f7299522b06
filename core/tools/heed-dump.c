/*
 * heed-dump [-a | -s NAME | -l] [-p] [-n] [-f FILE] PATH - write databases
 * of a heed environment as text in the format of LMDB's mdb_dump (and
 * Berkeley DB's db_dump), which heed-load-dump and mdb_load read back:
 *
 *   VERSION=3
 *   format=bytevalue          (print with -p)
 *   database=NAME             (named databases only)
 *   type=btree
 *   mapsize=N
 *   maxreaders=N
 *   duplicates=1              (a HEED_DUPSORT database)
 *   reversekey=1              then a line for each flag it has, in
 *   dupsort=1                  mdb_dump's order: reversekey, dupsort,
 *   ...                        integerkey, dupfixed, integerdup, reversedup
 *   db_pagesize=N
 *   HEADER=END
 *    6b6579                   one line per key, one per value: a space,
 *    76616c7565               then the bytes in hex (or, with -p, printable
 *   DATA=END                  bytes as they are, '\' as '\\', others \hh)
 *
 * The dump is one read snapshot. The main database's entries that are the
 * records of named databases are not dumped as data (mdb_dump prints their
 * raw bytes, which no loader can use): -a dumps the named databases as
 * sections of their own, after the main database's own entries (the main
 * section is left out when the main database holds only named databases).
 * Exit 0 on success, 1 on a failure, 2 on a usage error.
 */
#include "heed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DBS	   32767 /* heed_env_set_maxdbs's limit */
#define DBREC_SIZE 48	 /* a named db's record as a value of the main db */

struct names {
	char **v;
	size_t n, cap;
};

struct dumper {
	heed_env *env;
	heed_txn *txn;
	FILE *out;
	int print;
	const char *path;
};

static const char hexd[] = "0123456789abcdef";

/* -h and --help print to stdout and succeed; a usage error prints to stderr. */
static int usage(FILE *f)
{
	fprintf(f,
		"usage: heed-dump [-a | -s NAME | -l] [-p] [-n] [-f FILE] PATH\n"
		"  write the main database of PATH (an environment directory or data file)\n"
		"  in mdb_dump's text format; heed-load-dump (or mdb_load) reads it back\n"
		"  -a       every database: the main one's own entries, then each named one\n"
		"  -s NAME  the named database NAME only\n"
		"  -l       list the named databases, one per line\n"
		"  -p       printable: bytes 0x20..0x7e as they are, '\\' as '\\\\', others \\hh\n"
		"  -n       PATH is a data file (implied when it is a regular file)\n"
		"  -f FILE  write to FILE instead of stdout\n");
	return f == stdout ? 0 : 2;
}

static void put_val(FILE *out, const heed_val *v, int print)
{
	const unsigned char *c = v->data, *end = c + v->size;

	putc_unlocked(' ', out);
	for (; c < end; c++) {
		if (!print) {
			putc_unlocked(hexd[*c >> 4], out);
			putc_unlocked(hexd[*c & 15], out);
		} else if (*c >= 0x20 && *c < 0x7f) {
			if (*c == '\\')
				putc_unlocked('\\', out);
			putc_unlocked(*c, out);
		} else {
			putc_unlocked('\\', out);
			putc_unlocked(hexd[*c >> 4], out);
			putc_unlocked(hexd[*c & 15], out);
		}
	}
	putc_unlocked('\n', out);
}

static int names_add(struct names *n, const char *s)
{
	if (n->n == n->cap) {
		size_t cap = n->cap ? 2 * n->cap : 16;
		char **v = realloc(n->v, cap * sizeof(*v));

		if (!v)
			return ENOMEM;
		n->v = v;
		n->cap = cap;
	}
	n->v[n->n] = strdup(s);
	if (!n->v[n->n])
		return ENOMEM;
	n->n++;
	return 0;
}

static void names_free(struct names *n)
{
	size_t i;

	for (i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
}

/* A main-db key names a database when it is a valid name whose value is a
 * db record: heed_dbi_open tells (HEED_INCOMPATIBLE: plain data under that
 * key). */
static int is_db(struct dumper *d, const heed_val *key, const heed_val *data, char *name, int *yes)
{
	heed_dbi dbi;
	int rc;

	*yes = 0;
	if (data->size != DBREC_SIZE || memchr(key->data, 0, key->size))
		return 0;
	memcpy(name, key->data, key->size);
	name[key->size] = 0;
	rc = heed_dbi_open(d->txn, name, 0, &dbi);
	*yes = rc == 0;
	return rc == HEED_INCOMPATIBLE ? 0 : rc;
}

/* The names of the named databases, in key order. */
static int list_dbs(struct dumper *d, struct names *names, size_t *plain)
{
	heed_cursor *cur = NULL;
	heed_val k, v;
	char name[1024];
	int rc;

	*plain = 0;
	rc = heed_cursor_open(d->txn, 0, &cur);
	while (!rc && (rc = heed_cursor_get(cur, &k, &v, HEED_NEXT)) == 0) {
		int db = 0;

		if (k.size < sizeof(name))
			rc = is_db(d, &k, &v, name, &db);
		if (!rc && db)
			rc = names_add(names, name);
		else if (!rc)
			(*plain)++;
	}
	heed_cursor_close(cur);
	return rc == HEED_NOTFOUND ? 0 : rc;
}

static int header(struct dumper *d, const char *name, heed_dbi dbi)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} db_flags[] = {{HEED_REVERSEKEY, "reversekey"}, {HEED_DUPSORT, "dupsort"},
			{HEED_INTEGERKEY, "integerkey"}, {HEED_DUPFIXED, "dupfixed"},
			{HEED_INTEGERDUP, "integerdup"}, {HEED_REVERSEDUP, "reversedup"}};
	heed_envinfo info;
	heed_stat st;
	unsigned int flags = 0;
	size_t i;
	int rc = heed_env_info(d->env, &info);

	if (!rc)
		rc = heed_dbi_stat(d->txn, dbi, &st);
	if (!rc)
		rc = heed_dbi_flags(d->txn, dbi, &flags);
	if (rc)
		return rc;
	fprintf(d->out, "VERSION=3\nformat=%s\n", d->print ? "print" : "bytevalue");
	if (name)
		fprintf(d->out, "database=%s\n", name);
	fprintf(d->out, "type=btree\nmapsize=%zu\nmaxreaders=%u\n", info.mapsize, info.maxreaders);
	/* As mdb_dump 0.9.24 writes them: its mdb_load reads dupsort=1 (and
	 * ignores duplicates=1, with a warning). */
	if (flags & HEED_DUPSORT)
		fprintf(d->out, "duplicates=1\n");
	for (i = 0; i < sizeof(db_flags) / sizeof(db_flags[0]); i++)
		if (flags & db_flags[i].bit)
			fprintf(d->out, "%s=1\n", db_flags[i].name);
	fprintf(d->out, "db_pagesize=%u\nHEADER=END\n", st.psize);
	return 0;
}

/* One section. In the main db, skip the records of the databases in names
 * (sorted as the keys, so one pass matches them). */
static int dump_db(struct dumper *d, const char *name, const struct names *skip)
{
	heed_cursor *cur = NULL;
	heed_dbi dbi = 0;
	heed_val k, v;
	size_t j = 0;
	int rc = 0;

	if (name && strchr(name, '\n'))
		return EILSEQ; /* a database= line cannot hold it */
	if (name)
		rc = heed_dbi_open(d->txn, name, 0, &dbi);
	if (rc)
		return rc == HEED_NOTFOUND || rc == HEED_BAD_VALSIZE || rc == HEED_INCOMPATIBLE
			       ? ENOENT
			       : rc;
	rc = header(d, name, dbi);
	if (!rc)
		rc = heed_cursor_open(d->txn, dbi, &cur);
	while (!rc && (rc = heed_cursor_get(cur, &k, &v, HEED_NEXT)) == 0) {
		if (skip && j < skip->n && strlen(skip->v[j]) == k.size &&
		    !memcmp(skip->v[j], k.data, k.size)) {
			j++;
			continue;
		}
		put_val(d->out, &k, d->print);
		put_val(d->out, &v, d->print);
	}
	heed_cursor_close(cur);
	if (rc != HEED_NOTFOUND)
		return rc;
	fputs("DATA=END\n", d->out);
	return 0;
}

int main(int argc, char **argv)
{
	struct dumper d = {.out = stdout};
	struct names names = {0};
	const char *sub = NULL, *outfile = NULL;
	unsigned int flags = HEED_RDONLY;
	int opt, all = 0, list = 0, rc, ret = 1;
	size_t plain = 0, i;
	struct stat st;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return usage(stdout);
	while ((opt = getopt(argc, argv, "alpns:f:h")) != -1) {
		switch (opt) {
		case 'a':
			all = 1;
			break;
		case 'l':
			list = 1;
			break;
		case 'p':
			d.print = 1;
			break;
		case 'n':
			flags |= HEED_NOSUBDIR;
			break;
		case 's':
			sub = optarg;
			break;
		case 'f':
			outfile = optarg;
			break;
		default:
			return usage(stderr);
		}
	}
	if (optind != argc - 1 || all + list + (sub != NULL) > 1)
		return usage(stderr);
	d.path = argv[optind];
	if (stat(d.path, &st) < 0) {
		fprintf(stderr, "heed-dump: %s: %s\n", d.path, strerror(errno));
		return 1;
	}
	if (S_ISREG(st.st_mode))
		flags |= HEED_NOSUBDIR;
	rc = heed_env_create(&d.env);
	if (!rc)
		rc = heed_env_set_maxdbs(d.env, MAX_DBS);
	if (!rc)
		rc = heed_env_open(d.env, d.path, flags, 0644);
	if (!rc)
		rc = heed_txn_begin(d.env, NULL, HEED_RDONLY, &d.txn);
	if (rc) {
		fprintf(stderr, "heed-dump: %s: cannot open: %s\n", d.path, heed_strerror(rc));
		goto out;
	}
	rc = list_dbs(&d, &names, &plain);
	if (rc) {
		fprintf(stderr, "heed-dump: %s: listing the databases: %s\n", d.path,
			rc == HEED_DBS_FULL ? "more than 32767 named databases"
					    : heed_strerror(rc));
		goto out;
	}
	if (outfile) {
		d.out = fopen(outfile, "w");
		if (!d.out) {
			fprintf(stderr, "heed-dump: %s: %s\n", outfile, strerror(errno));
			goto out;
		}
	}
	setvbuf(d.out, NULL, _IOFBF, 1 << 20);
	if (list) {
		for (i = 0; i < names.n; i++)
			fprintf(d.out, "%s\n", names.v[i]);
	} else if (sub) {
		rc = dump_db(&d, sub, NULL);
		if (rc == ENOENT) {
			fprintf(stderr, "heed-dump: %s: no database named '%s'\n", d.path, sub);
			goto out;
		}
	} else {
		if (!all || plain || !names.n)
			rc = dump_db(&d, NULL, &names);
		for (i = 0; all && !rc && i < names.n; i++)
			rc = dump_db(&d, names.v[i], NULL);
	}
	if (rc == EILSEQ) {
		fprintf(stderr,
			"heed-dump: %s: a database name holds a newline, which the dump format "
			"cannot carry\n",
			d.path);
		goto out;
	}
	if (rc) {
		fprintf(stderr, "heed-dump: %s: %s\n", d.path, heed_strerror(rc));
		goto out;
	}
	if (fflush(d.out) != 0 || ferror(d.out)) {
		fprintf(stderr, "heed-dump: %s: %s\n", outfile ? outfile : "stdout",
			strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (d.out != stdout && d.out && fclose(d.out) != 0 && ret == 0) {
		fprintf(stderr, "heed-dump: %s: %s\n", outfile, strerror(errno));
		ret = 1;
	}
	names_free(&names);
	heed_txn_abort(d.txn);
	heed_env_close(d.env);
	return ret;
}
