/*
 * heed-load-dump [-f FILE] [-s NAME] [-N] [-T] [-a] [-n] PATH - load text
 * in the format of mdb_dump (heed-dump, LMDB's mdb_dump, Berkeley DB's
 * db_dump with format=bytevalue|print and type=btree) into a heed
 * environment; LMDB's mdb_load counterpart. Named heed-load-dump because
 * heed-load is the load generator.
 *
 * Input: sections of a header (KEY=VALUE lines up to HEADER=END), then
 * pairs of lines, a key and its value, each a space followed by the bytes
 * (in hex with format=bytevalue; with format=print as they are, '\\' for a
 * backslash, \hh for any byte), then DATA=END. With -T the input is
 * plain text: no header, no leading space, escaped as format=print; every
 * two lines are a key and its value, up to the end of the input.
 *
 * All of the input is read and checked before the environment is touched,
 * and loaded in one write txn: malformed input (named by its line number)
 * or a failed put loads nothing. Where mdb_load is lax this is strict: a
 * last line without its newline, or a section without DATA=END (a cut
 * dump), is an error, not a shorter load. A named database with
 * duplicates (dupsort=1, mdb_dump's, or duplicates=1; dupfixed=1,
 * integerdup=1, reversedup=1 with it) or another key order (integerkey=1,
 * reversekey=1) is loaded with those flags (an existing one must have the
 * same flags); the main database with any of them is refused: it holds the
 * named databases' records, in heed's own order.
 *
 * Exit 0 on success, 1 on a failure, 2 on a usage error.
 */
#include "heed.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DBS	  32767	       /* heed_env_set_maxdbs's limit */
#define MAX_KEY	  511	       /* heed_env_get_maxkeysize */
#define MAP_LIMIT (1ULL << 46) /* heed_env_set_mapsize's limit */
/* The flags of a db a header may set. */
#define DB_FLAGS                                                                                   \
	(HEED_DUPSORT | HEED_DUPFIXED | HEED_INTEGERKEY | HEED_INTEGERDUP | HEED_REVERSEKEY |      \
	 HEED_REVERSEDUP)

/* One key/value pair: offsets into the arena, and where the key was read. */
struct rec {
	size_t koff, klen, voff, vlen;
	size_t line;
};

struct section {
	char *name;	    /* NULL: the main database */
	size_t first, n;    /* records */
	unsigned int flags; /* DB_FLAGS of heed_dbi_open */
};

struct input {
	FILE *in;
	const char *src;
	size_t line;
	char *buf; /* the current line, getline's */
	size_t cap;
	size_t len; /* of the current line, without its newline */
	unsigned char *arena;
	size_t used, acap;
	struct rec *recs;
	size_t nrecs, rcap;
	struct section *secs;
	size_t nsecs, scap;
	size_t mapsize; /* the largest in the headers */
	unsigned int maxreaders, pagesize;
	int plaintext;
};

/* -h and --help print to stdout and succeed; a usage error prints to stderr. */
static int usage(FILE *f)
{
	fprintf(f, "usage: heed-load-dump [-f FILE] [-s NAME] [-N] [-T] [-a] [-n] PATH\n"
		   "  load a dump in mdb_dump's text format (heed-dump, mdb_dump) into PATH,\n"
		   "  an environment directory (created if missing) or, with -n, a data file\n"
		   "  -f FILE  read FILE instead of stdin\n"
		   "  -s NAME  load into the named database NAME the sections that name none\n"
		   "  -N       keep the value of a key that exists already (NOOVERWRITE)\n"
		   "  -T       plain text input: no header, a line per key and per value\n"
		   "  -a       the keys come in ascending order: append them (faster)\n"
		   "  nothing is loaded unless all of the input is valid and every put succeeds\n");
	return f == stdout ? 0 : 2;
}

/* Report a malformed line; always returns -1. */
__attribute__((format(printf, 2, 3))) static int bad(struct input *in, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "heed-load-dump: %s: line %zu: ", in->src, in->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* s for a message: control and non-ASCII bytes as \xNN (input bytes must
 * not reach a terminal raw), cut at 60 bytes. */
static const char *shown(const char *s, char out[256])
{
	size_t i, o = 0;

	for (i = 0; s[i] && o < 250; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 60) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, 256 - o, "\\x%02x", c);
	}
	out[o] = 0;
	return out;
}

/* Read the next line: 1, or 0 at the end of the input, -1 on an error
 * (a read error, or a last line without its newline: a cut input). */
static int next_line(struct input *in)
{
	ssize_t n;

	errno = 0;
	n = getline(&in->buf, &in->cap, in->in);
	if (n < 0) {
		if (ferror(in->in)) {
			fprintf(stderr, "heed-load-dump: %s: read error after line %zu: %s\n",
				in->src, in->line, strerror(errno ? errno : EIO));
			return -1;
		}
		return 0;
	}
	in->line++;
	if (in->buf[n - 1] != '\n')
		return bad(in, "unexpected end of input: the last line has no newline");
	in->len = (size_t)n - 1;
	in->buf[in->len] = 0;
	/* A dump escapes every byte it cannot print: a raw NUL means damage
	 * (and would cut the header's strings short). */
	if (memchr(in->buf, 0, in->len))
		return bad(in, "a NUL byte (a dump writes it as 00 or \\00)");
	return 1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int arena_reserve(struct input *in, size_t n)
{
	if (in->used + n > in->acap) {
		size_t cap = in->acap ? in->acap : 1 << 16;
		unsigned char *a;

		while (cap < in->used + n)
			cap *= 2;
		a = realloc(in->arena, cap);
		if (!a)
			return ENOMEM;
		in->arena = a;
		in->acap = cap;
	}
	return 0;
}

/* Decode the current line from byte skip on into the arena: *off, *len. */
static int decode(struct input *in, size_t skip, int print, size_t *off, size_t *len)
{
	const unsigned char *s = (const unsigned char *)in->buf + skip;
	size_t n = in->len - skip, i;
	unsigned char *o;

	if (arena_reserve(in, n))
		return bad(in, "out of memory");
	o = in->arena + in->used;
	*off = in->used;
	if (!print) {
		if (n & 1)
			return bad(in, "an odd number of hex digits");
		for (i = 0; i < n; i += 2) {
			int hi = hexval(s[i]), lo = hexval(s[i + 1]);

			if (hi < 0 || lo < 0)
				return bad(in, "column %zu: not a hex digit",
					   skip + i + (hi >= 0) + 1);
			*o++ = (unsigned char)(hi * 16 + lo);
		}
	} else {
		for (i = 0; i < n; i++) {
			if (s[i] != '\\') {
				*o++ = s[i];
			} else if (i + 1 < n && s[i + 1] == '\\') {
				*o++ = '\\';
				i++;
			} else if (i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
				*o++ = (unsigned char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
				i += 2;
			} else {
				return bad(in,
					   "column %zu: a backslash must be followed by another "
					   "backslash or two hex digits",
					   skip + i + 1);
			}
		}
	}
	*len = (size_t)(o - (in->arena + in->used));
	in->used += *len;
	return 0;
}

static int add_rec(struct input *in, const struct rec *r)
{
	if (in->nrecs == in->rcap) {
		size_t cap = in->rcap ? 2 * in->rcap : 1024;
		struct rec *v = realloc(in->recs, cap * sizeof(*v));

		if (!v)
			return ENOMEM;
		in->recs = v;
		in->rcap = cap;
	}
	in->recs[in->nrecs++] = *r;
	return 0;
}

static int add_section(struct input *in, const char *name)
{
	struct section *s;

	if (in->nsecs == in->scap) {
		size_t cap = in->scap ? 2 * in->scap : 8;

		s = realloc(in->secs, cap * sizeof(*s));
		if (!s)
			return ENOMEM;
		in->secs = s;
		in->scap = cap;
	}
	s = &in->secs[in->nsecs];
	s->name = name ? strdup(name) : NULL;
	if (name && !s->name)
		return ENOMEM;
	s->first = in->nrecs;
	s->n = 0;
	s->flags = 0;
	in->nsecs++;
	return 0;
}

/* A decimal number of a header line: 0, or -1 (reported). */
static int number(struct input *in, const char *val, unsigned long long *out)
{
	char *end, buf[256];

	errno = 0;
	*out = strtoull(val, &end, 10);
	if (!isdigit((unsigned char)*val) || *end || errno)
		return bad(in, "not a decimal number: '%s'", shown(val, buf));
	return 0;
}

/* One header line KEY=VALUE (already split); *print set by format=. */
static int header_line(struct input *in, const char *key, const char *val, int *print,
		       char **dbname, unsigned int *dbflags)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} db_flags[] = {{"dupsort", HEED_DUPSORT},	 {"duplicates", HEED_DUPSORT},
			{"dupfixed", HEED_DUPFIXED},	 {"integerkey", HEED_INTEGERKEY},
			{"integerdup", HEED_INTEGERDUP}, {"reversekey", HEED_REVERSEKEY},
			{"reversedup", HEED_REVERSEDUP}};
	unsigned long long n;
	char buf[256];
	size_t i;

	if (!strcmp(key, "VERSION")) {
		if (number(in, val, &n))
			return -1;
		if (n < 1 || n > 3)
			return bad(in, "unsupported VERSION %s (1 to 3 are)", shown(val, buf));
	} else if (!strcmp(key, "format")) {
		if (!strcmp(val, "print"))
			*print = 1;
		else if (!strcmp(val, "bytevalue"))
			*print = 0;
		else
			return bad(in, "unsupported format '%s' (bytevalue or print are)",
				   shown(val, buf));
	} else if (!strcmp(key, "type")) {
		if (strcmp(val, "btree") != 0)
			return bad(in, "unsupported type '%s' (btree is)", shown(val, buf));
	} else if (!strcmp(key, "database")) {
		if (!*val || strlen(val) > MAX_KEY)
			return bad(in, "database name '%s' is empty or longer than 511 bytes",
				   shown(val, buf));
		free(*dbname);
		*dbname = strdup(val);
		if (!*dbname)
			return bad(in, "out of memory");
	} else if (!strcmp(key, "mapsize")) {
		if (number(in, val, &n))
			return -1;
		if (n > in->mapsize)
			in->mapsize = n > MAP_LIMIT ? MAP_LIMIT : (size_t)n;
	} else if (!strcmp(key, "maxreaders")) {
		if (number(in, val, &n))
			return -1;
		if (n >= 1 && n <= 65536 && !in->maxreaders)
			in->maxreaders = (unsigned int)n;
	} else if (!strcmp(key, "db_pagesize")) {
		if (number(in, val, &n))
			return -1;
		if (n >= 4096 && n <= 65536 && !(n & (n - 1)) && !in->pagesize)
			in->pagesize = (unsigned int)n;
	} else if (!strcmp(key, "mapaddr")) {
		return 0; /* LMDB's fixed map address: heed has none */
	} else {
		for (i = 0; i < sizeof(db_flags) / sizeof(db_flags[0]); i++) {
			if (strcmp(key, db_flags[i].name) != 0)
				continue;
			if (strcmp(val, "0") != 0)
				*dbflags |= db_flags[i].bit;
			return 0;
		}
		fprintf(stderr, "heed-load-dump: %s: line %zu: unrecognized keyword ignored: %s\n",
			in->src, in->line, shown(key, buf));
	}
	return 0;
}

/* Read a header up to HEADER=END: 1 when a section starts, 0 at the end of
 * the input (before any header line), -1 on an error. */
static int read_header(struct input *in, int *print, const char *subname)
{
	char *name = NULL; /* of a database= line */
	unsigned int dbflags = 0;
	int rc, lines = 0;

	*print = 0;
	for (;;) {
		char *eq;

		rc = next_line(in);
		if (rc < 0)
			goto out;
		if (rc == 0) {
			if (lines || !in->nsecs)
				rc = bad(in, "%sunexpected end of input: no HEADER=END",
					 in->nsecs ? "" : "empty input: ");
			goto out;
		}
		lines++;
		if (!strcmp(in->buf, "HEADER=END"))
			break;
		eq = strchr(in->buf, '=');
		if (!eq || eq == in->buf) {
			rc = bad(in, "expected KEY=VALUE or HEADER=END in the header%s",
				 in->line == 1 ? " (-T reads plain text without a header)" : "");
			goto out;
		}
		*eq = 0;
		if (header_line(in, in->buf, eq + 1, print, &name, &dbflags)) {
			rc = -1;
			goto out;
		}
	}
	if (!(dbflags & HEED_DUPSORT) &&
	    (dbflags & (HEED_DUPFIXED | HEED_INTEGERDUP | HEED_REVERSEDUP))) {
		rc = bad(in, "%s=1 without dupsort=1: heed keeps it for duplicates",
			 (dbflags & HEED_DUPFIXED)     ? "dupfixed"
			 : (dbflags & HEED_INTEGERDUP) ? "integerdup"
						       : "reversedup");
		goto out;
	}
	if (dbflags && !name && !subname) {
		rc = bad(in,
			 "%s=1 for the main database: heed's holds no duplicates and keeps "
			 "its own order (load it into a named one with -s NAME)",
			 (dbflags & HEED_DUPSORT)      ? "dupsort"
			 : (dbflags & HEED_INTEGERKEY) ? "integerkey"
						       : "reversekey");
		goto out;
	}
	rc = add_section(in, name ? name : subname) ? bad(in, "out of memory") : 1;
	if (rc == 1)
		in->secs[in->nsecs - 1].flags = dbflags;
out:
	free(name);
	return rc;
}

/* The data lines of a section, up to DATA=END (to the end with -T). */
static int read_data(struct input *in, int print)
{
	size_t skip = in->plaintext ? 0 : 1;
	struct rec r = {0};
	int rc, have_key = 0;

	for (;;) {
		rc = next_line(in);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (have_key)
				return bad(in, "unexpected end of input: a key without its value");
			if (!in->plaintext)
				return bad(in, "unexpected end of input: no DATA=END");
			return 0;
		}
		if (!in->plaintext && in->buf[0] != ' ') {
			if (strcmp(in->buf, "DATA=END") != 0)
				return bad(in, "expected a data line (a space, then the bytes) or "
					       "DATA=END");
			if (have_key)
				return bad(in, "DATA=END after a key without its value");
			return 0;
		}
		if (!have_key) {
			r.line = in->line;
			if (decode(in, skip, print, &r.koff, &r.klen))
				return -1;
			if (r.klen == 0 || r.klen > MAX_KEY)
				return bad(in, "a key of %zu bytes: heed keys are 1 to 511 bytes",
					   r.klen);
			have_key = 1;
			continue;
		}
		if (decode(in, skip, print, &r.voff, &r.vlen))
			return -1;
		if (add_rec(in, &r))
			return bad(in, "out of memory");
		in->secs[in->nsecs - 1].n++;
		have_key = 0;
	}
}

static int read_input(struct input *in, const char *subname)
{
	int print = 1, rc;

	if (in->plaintext) {
		if (add_section(in, subname))
			return bad(in, "out of memory");
		return read_data(in, print);
	}
	for (;;) {
		rc = read_header(in, &print, subname);
		if (rc <= 0)
			return rc;
		if (read_data(in, print))
			return -1;
	}
}

/* Named sections, which heed_env_set_maxdbs must allow. */
static size_t named_sections(const struct input *in)
{
	size_t i, n = 0;

	for (i = 0; i < in->nsecs; i++)
		n += in->secs[i].name != NULL;
	return n;
}

/* Where a load failed, for its message. */
struct failure {
	size_t line;	   /* of the record whose put failed, or 0 */
	const char *db;	   /* the database that would not open, or NULL */
	int begin, commit; /* the txn would not begin or commit */
	int dupsort;	   /* the db exists with other flags than the input's */
};

/* Put every record in one txn: 0, or a heed code with *f saying where. */
static int load_all(heed_env *env, const struct input *in, unsigned int putflags, size_t *skipped,
		    struct failure *f)
{
	heed_txn *txn = NULL;
	size_t i, j;
	int rc;

	*skipped = 0;
	memset(f, 0, sizeof(*f));
	rc = heed_txn_begin(env, NULL, 0, &txn);
	if (rc) {
		f->begin = 1;
		return rc;
	}
	for (i = 0; !rc && i < in->nsecs; i++) {
		const struct section *s = &in->secs[i];
		heed_dbi dbi;

		unsigned int have = 0;

		rc = heed_dbi_open(txn, s->name, s->name ? HEED_CREATE | s->flags : 0, &dbi);
		if (!rc)
			rc = heed_dbi_flags(txn, dbi, &have);
		/* An existing db of the name keeps its own flags. */
		if (!rc && (have & DB_FLAGS) != s->flags) {
			rc = HEED_INCOMPATIBLE;
			f->dupsort = 1;
		}
		if (rc)
			f->db = s->name;
		for (j = 0; !rc && j < s->n; j++) {
			const struct rec *r = &in->recs[s->first + j];
			heed_val k = {r->klen, in->arena + r->koff};
			heed_val v = {r->vlen, in->arena + r->voff};

			rc = heed_put(txn, dbi, &k, &v, putflags);
			if (rc == HEED_KEYEXIST && (putflags & HEED_NOOVERWRITE)) {
				(*skipped)++;
				rc = 0;
			}
			if (rc)
				f->line = r->line;
		}
	}
	if (rc) {
		heed_txn_abort(txn);
		return rc;
	}
	rc = heed_txn_commit(txn);
	f->commit = rc != 0;
	return rc;
}

/* A map the load fits in: the map is address space, not file size, so it
 * can be generous. A node takes 16 bytes besides its key and value (header
 * and slot), pages are at least half full, and a value that spills takes
 * less than twice its size in overflow pages: 4 times the input's bytes
 * and overheads, plus the file as it is, plus room for branches. */
static size_t map_estimate(const struct input *in, size_t filesize)
{
	size_t want = filesize + 4 * (in->used + 16 * in->nrecs) + (64u << 20);

	if (want < in->mapsize)
		want = in->mapsize;
	return want < MAP_LIMIT ? want : MAP_LIMIT;
}

/* Bytes of the data file the load adds to (0 for a new one). */
static size_t data_size(const char *path, unsigned int flags)
{
	char file[4096];
	struct stat st;

	snprintf(file, sizeof(file), (flags & HEED_NOSUBDIR) ? "%s" : "%s/data.heed", path);
	return stat(file, &st) == 0 ? (size_t)st.st_size : 0;
}

static int open_env(heed_env **env, const char *path, unsigned int flags, const struct input *in,
		    size_t mapsize)
{
	int rc = heed_env_create(env);

	if (!rc)
		rc = heed_env_set_maxdbs(*env, (unsigned int)named_sections(in));
	if (!rc && in->maxreaders)
		rc = heed_env_set_maxreaders(*env, in->maxreaders);
	if (!rc && in->pagesize)
		rc = heed_env_set_pagesize(*env, in->pagesize);
	if (!rc)
		rc = heed_env_set_mapsize(*env, mapsize);
	if (!rc)
		rc = heed_env_open(*env, path, flags, 0644);
	return rc;
}

static void input_free(struct input *in)
{
	size_t i;

	for (i = 0; i < in->nsecs; i++)
		free(in->secs[i].name);
	free(in->secs);
	free(in->recs);
	free(in->arena);
	free(in->buf);
	if (in->in && in->in != stdin)
		fclose(in->in);
}

int main(int argc, char **argv)
{
	struct input in = {.in = stdin, .src = "stdin"};
	const char *subname = NULL, *infile = NULL, *path;
	unsigned int flags = 0, putflags = 0;
	size_t skipped = 0;
	struct failure f;
	heed_env *env = NULL;
	struct stat st;
	int opt, rc, ret = 1;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return usage(stdout);
	while ((opt = getopt(argc, argv, "f:s:NTanh")) != -1) {
		switch (opt) {
		case 'f':
			infile = optarg;
			break;
		case 's':
			if (!*optarg || strlen(optarg) > MAX_KEY) {
				fprintf(stderr, "heed-load-dump: -s: a name of 1 to 511 bytes\n");
				return 2;
			}
			subname = optarg;
			break;
		case 'N':
			putflags |= HEED_NOOVERWRITE;
			break;
		case 'T':
			in.plaintext = 1;
			break;
		case 'a':
			putflags |= HEED_APPEND;
			break;
		case 'n':
			flags |= HEED_NOSUBDIR;
			break;
		default:
			return usage(stderr);
		}
	}
	if (optind != argc - 1)
		return usage(stderr);
	path = argv[optind];
	if (infile) {
		in.in = fopen(infile, "r");
		in.src = infile;
		if (!in.in) {
			fprintf(stderr, "heed-load-dump: %s: %s\n", infile, strerror(errno));
			return 1;
		}
	}
	if (read_input(&in, subname))
		goto out;
	if (named_sections(&in) > MAX_DBS) {
		fprintf(stderr, "heed-load-dump: %s: more than %d named databases\n", in.src,
			MAX_DBS);
		goto out;
	}
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		flags |= HEED_NOSUBDIR;
	else if (!(flags & HEED_NOSUBDIR) && mkdir(path, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "heed-load-dump: %s: cannot create the directory: %s\n", path,
			strerror(errno));
		goto out;
	}
	rc = open_env(&env, path, flags, &in, map_estimate(&in, data_size(path, flags)));
	if (rc) {
		fprintf(stderr, "heed-load-dump: %s: cannot open: %s\n", path, heed_strerror(rc));
		goto out;
	}
	rc = load_all(env, &in, putflags, &skipped, &f);
	if (rc && f.line) {
		fprintf(stderr, "heed-load-dump: %s: line %zu: %s%s: nothing loaded\n", in.src,
			f.line,
			rc == HEED_KEYEXIST && (putflags & HEED_APPEND)
				? "key not above the previous one (-a): "
				: "",
			heed_strerror(rc));
	} else if (rc && f.db) {
		fprintf(stderr, "heed-load-dump: %s: database %s: %s: nothing loaded\n", path, f.db,
			f.dupsort ? "it exists, with other flags (DUPSORT, DUPFIXED or an order) "
				    "than the input's"
			: rc == HEED_INCOMPATIBLE
				? "the main database holds a plain key of that name"
				: heed_strerror(rc));
	} else if (rc) {
		fprintf(stderr, "heed-load-dump: %s: %s: %s: nothing loaded\n", path,
			f.begin	   ? "write txn"
			: f.commit ? "commit"
				   : "main database",
			heed_strerror(rc));
	}
	if (rc)
		goto out;
	if (skipped)
		fprintf(stderr, "heed-load-dump: %zu keys existed already and were kept (-N)\n",
			skipped);
	ret = 0;
out:
	heed_env_close(env);
	input_free(&in);
	return ret;
}
