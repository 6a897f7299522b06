/*
 * heed-load - a workload generator for libheed that counts its own calls.
 *
 *   heed-load [-w WORKLOAD] [-n OPS | -d SECONDS] [-t THREADS] [-k KEYS]
 *             [-K KEYSIZE] [-V VALSIZE] [-P PAGESIZE] [--batch N] [--nosync]
 *             [--mapsize BYTES] [--pid-file F] [--wait-trace SEC] [--json] DIR
 *
 * Workloads (the measured phase runs OPS primary operations, or SECONDS):
 *   fill        heed_put(APPEND) of the keys after the db's last key
 *   fillrandom  heed_put of random keys below KEYS
 *   overwrite   heed_put of random existing keys (fills first)
 *   readrandom  heed_get of random keys, THREADS reader threads (fills first)
 *   readseq     cursor NEXT over the whole db, wrapping (fills first)
 *   mixed       a writer (puts, and del + put back) and THREADS readers
 * Write txns and read snapshots hold --batch operations each.
 *
 * The counts printed at the end cover EVERY libheed call of the process,
 * the setup phase included (the fill before readseq, readrandom, overwrite
 * and mixed; fill's lookup of the last key), in the categories of libheed's ops__batch probe
 * (core/probe_abi.h), so a tracer attached from the start sees the same
 * numbers: get (heed_get), put (heed_put), del (heed_del), cursor
 * (heed_cursor_get/put/del), commit (heed_txn_commit of write txns), sync
 * (heed_env_sync calls only; the probe's SYNC also counts the fdatasync of
 * each durable commit, so the two agree under --nosync). errors counts the
 * calls of each category that returned non-zero, HEED_NOTFOUND included.
 *
 * Keys are decimal numbers zero-padded to KEYSIZE bytes, so numeric and
 * byte order agree; values are VALSIZE bytes. The hot loops allocate
 * nothing and use a xorshift PRNG.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "heed.h"
#include "json.h"
#include "parse.h"

enum cat { C_GET, C_PUT, C_DEL, C_CURSOR, C_COMMIT, C_SYNC, C_N };
static const char *const cat_names[C_N] = {"get", "put", "del", "cursor", "commit", "sync"};

enum workload { W_FILL, W_FILLRANDOM, W_OVERWRITE, W_READRANDOM, W_READSEQ, W_MIXED };
static const char *const wl_names[] = {"fill",	     "fillrandom", "overwrite",
				       "readrandom", "readseq",	   "mixed"};
#define NWL (sizeof(wl_names) / sizeof(wl_names[0]))

/* Ops a thread claims at a time from the shared budget. */
#define CHUNK 256

struct counts {
	unsigned long long ops[C_N], errs[C_N];
};

struct opts {
	enum workload wl;
	unsigned long long nops; /* 0: run for secs */
	double secs;
	unsigned int threads;
	unsigned long long keys;
	unsigned int ksize, vsize, psize, batch;
	size_t mapsize;
	int nosync, json;
	const char *pidfile;
	double wait_trace;
	const char *dir;
};

struct load {
	struct opts o;
	heed_env *env;
	heed_dbi dbi;
	unsigned long long first;	   /* fill: the first key to append */
	unsigned char *val;		   /* VALSIZE bytes shared by every put */
	_Atomic unsigned long long budget; /* measured ops left to claim */
	atomic_int stop;
	pthread_mutex_t lock;
	char failure[512];
	double cpu_s; /* user + system time of the measured phase, every thread */
};

struct worker {
	struct load *L;
	struct counts c;
	uint64_t rng;
	unsigned long long done; /* measured primary ops */
	int writer;
	char *kbuf;
	pthread_t th;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* User + system time of the process so far, every thread's (microseconds). */
static double cpu_now(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Record the first failure and stop every thread. */
static void fail(struct load *L, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&L->lock);
	if (!L->failure[0]) {
		va_start(ap, fmt);
		vsnprintf(L->failure, sizeof(L->failure), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&L->lock);
	atomic_store(&L->stop, 1);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Key i: decimal, zero-padded to ksize bytes (the caller checked it fits). */
static void fmt_key(char *buf, unsigned int ksize, unsigned long long i)
{
	unsigned int p = ksize;

	while (p > 0) {
		buf[--p] = (char)('0' + i % 10);
		i /= 10;
	}
}

static int parse_key(const heed_val *k, unsigned int ksize, unsigned long long *out)
{
	const char *p = k->data;
	unsigned long long v = 0;
	size_t i;

	if (k->size != ksize)
		return -1;
	for (i = 0; i < k->size; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned long long)(p[i] - '0');
	}
	*out = v;
	return 0;
}

/* Counted wrappers: one per libheed call the tool makes. */
static int c_get(struct counts *c, heed_txn *t, heed_dbi d, heed_val *k, heed_val *v)
{
	int rc = heed_get(t, d, k, v);

	c->ops[C_GET]++;
	c->errs[C_GET] += rc != 0;
	return rc;
}

static int c_put(struct counts *c, heed_txn *t, heed_dbi d, heed_val *k, heed_val *v,
		 unsigned int flags)
{
	int rc = heed_put(t, d, k, v, flags);

	c->ops[C_PUT]++;
	c->errs[C_PUT] += rc != 0;
	return rc;
}

static int c_del(struct counts *c, heed_txn *t, heed_dbi d, heed_val *k)
{
	int rc = heed_del(t, d, k, NULL);

	c->ops[C_DEL]++;
	c->errs[C_DEL] += rc != 0;
	return rc;
}

static int c_cursor_get(struct counts *c, heed_cursor *cur, heed_val *k, heed_val *v,
			heed_cursor_op op)
{
	int rc = heed_cursor_get(cur, k, v, op);

	c->ops[C_CURSOR]++;
	c->errs[C_CURSOR] += rc != 0;
	return rc;
}

static int c_commit(struct counts *c, heed_txn *t)
{
	int rc = heed_txn_commit(t);

	c->ops[C_COMMIT]++;
	c->errs[C_COMMIT] += rc != 0;
	return rc;
}

static int c_sync(struct counts *c, heed_env *env)
{
	int rc = heed_env_sync(env, 1);

	c->ops[C_SYNC]++;
	c->errs[C_SYNC] += rc != 0;
	return rc;
}

/* Claim up to CHUNK measured ops; 0 when the budget or the time is over. */
static unsigned int claim(struct load *L)
{
	unsigned long long left;

	if (atomic_load(&L->stop))
		return 0;
	if (!L->o.nops)
		return CHUNK;
	left = atomic_load(&L->budget);
	while (left) {
		unsigned long long take = left < CHUNK ? left : CHUNK;

		if (atomic_compare_exchange_weak(&L->budget, &left, left - take))
			return (unsigned int)take;
	}
	return 0;
}

static int begin(struct load *L, unsigned int flags, heed_txn **txn)
{
	int rc = heed_txn_begin(L->env, NULL, flags, txn);

	if (rc)
		fail(L, "heed-load: %s: cannot begin a %s transaction: %s", L->o.dir,
		     flags ? "read" : "write", heed_strerror(rc));
	return rc;
}

static int commit(struct load *L, struct counts *c, heed_txn *txn)
{
	int rc = c_commit(c, txn);

	if (rc)
		fail(L, "heed-load: %s: commit failed: %s", L->o.dir, heed_strerror(rc));
	return rc;
}

/*
 * Write key i in the current write txn, begun when *txn is NULL: a put with
 * flags, after a delete of the key when del (mixed's writer). The txn
 * commits once it holds --batch writes (*txn is then NULL). 0, or -1 after
 * fail().
 */
static int write_key(struct worker *w, heed_txn **txn, unsigned long long *in_txn,
		     unsigned long long i, unsigned int flags, int del)
{
	struct load *L = w->L;
	heed_val key = {L->o.ksize, w->kbuf}, val = {L->o.vsize, L->val};
	const char *op = flags & HEED_APPEND ? "append" : "put";
	heed_txn *full;
	int rc;

	if (!*txn && begin(L, 0, txn))
		return -1;
	fmt_key(w->kbuf, L->o.ksize, i);
	if (del && (rc = c_del(&w->c, *txn, L->dbi, &key)) != 0)
		op = "del";
	else
		rc = c_put(&w->c, *txn, L->dbi, &key, &val, flags);
	if (rc) {
		heed_txn_abort(*txn);
		*txn = NULL;
		fail(L, "heed-load: %s: %s of key %llu failed: %s", L->o.dir, op, i,
		     heed_strerror(rc));
		return -1;
	}
	if (++*in_txn < L->o.batch)
		return 0;
	full = *txn;
	*txn = NULL;
	*in_txn = 0;
	return commit(L, &w->c, full) ? -1 : 0;
}

/* Number of entries in the main db (no counted call: heed_dbi_stat is not
 * one of the probe's categories). */
static int db_entries(struct load *L, size_t *n)
{
	heed_txn *txn;
	heed_stat st;
	int rc;

	if (begin(L, HEED_RDONLY, &txn))
		return -1;
	rc = heed_dbi_stat(txn, L->dbi, &st);
	heed_txn_abort(txn);
	if (rc) {
		fail(L, "heed-load: %s: cannot read the db's statistics: %s", L->o.dir,
		     heed_strerror(rc));
		return -1;
	}
	*n = st.entries;
	return 0;
}

/* The key after the db's last one, which must be one of ours. */
static int next_append_key(struct worker *w, unsigned long long *next)
{
	struct load *L = w->L;
	heed_txn *txn;
	heed_cursor *cur;
	heed_val k, v;
	unsigned long long last;
	int rc;

	if (begin(L, HEED_RDONLY, &txn))
		return -1;
	rc = heed_cursor_open(txn, L->dbi, &cur);
	if (rc) {
		heed_txn_abort(txn);
		fail(L, "heed-load: %s: cannot open a cursor: %s", L->o.dir, heed_strerror(rc));
		return -1;
	}
	rc = c_cursor_get(&w->c, cur, &k, &v, HEED_LAST);
	if (rc == HEED_NOTFOUND) {
		*next = 0;
		rc = 0;
	} else if (rc == 0 && parse_key(&k, L->o.ksize, &last) == 0) {
		*next = last + 1;
	} else if (rc == 0) {
		fail(L, "heed-load: %s: the db's last key is not a %u-digit heed-load key",
		     L->o.dir, L->o.ksize);
		rc = -1;
	} else {
		fail(L, "heed-load: %s: cannot read the last key: %s", L->o.dir, heed_strerror(rc));
	}
	heed_cursor_close(cur);
	heed_txn_abort(txn);
	return rc ? -1 : 0;
}

/* Appends after the db's last key (fill). */
static void append_keys(struct worker *w)
{
	struct load *L = w->L;
	heed_txn *txn = NULL;
	unsigned long long in_txn = 0;
	unsigned int got;

	while ((got = claim(L))) {
		for (; got; got--) {
			if (write_key(w, &txn, &in_txn, L->first + w->done, HEED_APPEND, 0))
				return;
			w->done++;
		}
	}
	if (txn)
		commit(L, &w->c, txn);
}

/* Random puts (overwrite: every key exists already). */
static void random_puts(struct worker *w)
{
	struct load *L = w->L;
	heed_txn *txn = NULL;
	unsigned long long in_txn = 0, i;
	unsigned int got;
	int del;

	while ((got = claim(L))) {
		for (; got; got--) {
			i = xorshift(&w->rng) % L->o.keys;
			/* mixed: one write in ten is a delete and a put back in the
			 * same txn (two ops of the budget), so readers always find
			 * every key. */
			del = w->writer && got >= 2 && xorshift(&w->rng) % 10 == 0;
			if (write_key(w, &txn, &in_txn, i, 0, del))
				return;
			w->done++;
			if (del) {
				w->done++;
				got--;
			}
		}
	}
	if (txn)
		commit(L, &w->c, txn);
}

/* Random gets of keys that exist; a read snapshot per --batch gets. */
static void random_gets(struct worker *w)
{
	struct load *L = w->L;
	heed_txn *txn = NULL;
	heed_val key = {L->o.ksize, w->kbuf}, val;
	unsigned long long in_txn = 0, i;
	unsigned int got;
	int rc;

	if (begin(L, HEED_RDONLY, &txn))
		return;
	while ((got = claim(L))) {
		for (; got; got--) {
			i = xorshift(&w->rng) % L->o.keys;
			fmt_key(w->kbuf, L->o.ksize, i);
			rc = c_get(&w->c, txn, L->dbi, &key, &val);
			if (rc) {
				heed_txn_abort(txn);
				fail(L, "heed-load: %s: get of key %llu failed: %s", L->o.dir, i,
				     heed_strerror(rc));
				return;
			}
			w->done++;
			if (++in_txn == L->o.batch) {
				heed_txn_reset(txn);
				rc = heed_txn_renew(txn);
				if (rc) {
					heed_txn_abort(txn);
					fail(L, "heed-load: %s: cannot renew a read txn: %s",
					     L->o.dir, heed_strerror(rc));
					return;
				}
				in_txn = 0;
			}
		}
	}
	heed_txn_abort(txn);
}

/* Cursor NEXT over the db, wrapping at the end (that NOTFOUND is counted). */
static void seq_reads(struct worker *w)
{
	struct load *L = w->L;
	heed_txn *txn = NULL;
	heed_cursor *cur = NULL;
	heed_cursor_op op = HEED_NEXT;
	heed_val key, val;
	unsigned int got;
	int rc;

	if (begin(L, HEED_RDONLY, &txn))
		return;
	rc = heed_cursor_open(txn, L->dbi, &cur);
	if (rc) {
		heed_txn_abort(txn);
		fail(L, "heed-load: %s: cannot open a cursor: %s", L->o.dir, heed_strerror(rc));
		return;
	}
	while ((got = claim(L))) {
		for (; got; got--) {
			rc = c_cursor_get(&w->c, cur, &key, &val, op);
			w->done++;
			/* Past the end the cursor stays on the last item: FIRST
			 * starts over without a new cursor (an allocation). */
			op = rc == HEED_NOTFOUND ? HEED_FIRST : HEED_NEXT;
			if (rc && rc != HEED_NOTFOUND) {
				fail(L, "heed-load: %s: sequential read failed: %s", L->o.dir,
				     heed_strerror(rc));
				goto out;
			}
		}
	}
out:
	heed_cursor_close(cur);
	heed_txn_abort(txn);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct load *L = w->L;

	switch (L->o.wl) {
	case W_FILLRANDOM:
	case W_OVERWRITE:
		random_puts(w);
		break;
	case W_READRANDOM:
		random_gets(w);
		break;
	case W_READSEQ:
		seq_reads(w);
		break;
	case W_MIXED:
		if (w->writer)
			random_puts(w);
		else
			random_gets(w);
		break;
	case W_FILL:
		append_keys(w);
		break;
	}
	return NULL;
}

/* Fill the db to KEYS keys before a read or overwrite workload: append
 * when empty, else put every key (existing ones are overwritten). */
static int prefill(struct worker *w)
{
	struct load *L = w->L;
	heed_txn *txn = NULL;
	unsigned long long i, in_txn = 0;
	unsigned int flags;
	size_t n;

	if (db_entries(L, &n))
		return -1;
	if (n >= L->o.keys)
		return 0;
	flags = n ? 0 : HEED_APPEND;
	for (i = 0; i < L->o.keys; i++) {
		if (write_key(w, &txn, &in_txn, i, flags, 0))
			return -1;
	}
	return txn && commit(L, &w->c, txn) ? -1 : 0;
}

static void add_counts(struct counts *to, const struct counts *from)
{
	int i;

	for (i = 0; i < C_N; i++) {
		to->ops[i] += from->ops[i];
		to->errs[i] += from->errs[i];
	}
}

static unsigned long long sum_ops(const struct counts *c)
{
	return c->ops[C_GET] + c->ops[C_PUT] + c->ops[C_DEL] + c->ops[C_CURSOR];
}

/* The --json line. Out of memory or a failed write exits 1: a partial line
 * would read as a result. */
static void report_json(const struct load *L, const struct counts *total,
			unsigned long long fill_ops, double fill_s, unsigned long long measured,
			double measured_s)
{
	json_t *ops = json_object(), *errs = json_object(), *doc = NULL;
	int i, rc = ops && errs ? 0 : -ENOMEM;

	for (i = 0; !rc && i < C_N; i++) {
		rc = heed_json_set(ops, cat_names[i], heed_json_u64(total->ops[i]));
		if (!rc)
			rc = heed_json_set(errs, cat_names[i], heed_json_u64(total->errs[i]));
	}
	if (!rc)
		doc = json_pack(
			"{s:s,s:o,s:o,s:O,s:O,s:o,s:o,s:{s:o,s:o},s:I,s:o,s:I,s:I,s:I,s:I,s:b,"
			"s:i}",
			"workload", wl_names[L->o.wl], "seconds", heed_json_number(measured_s),
			"cpu_seconds", heed_json_number(L->cpu_s), "ops", ops, "errors", errs,
			"ops_per_sec",
			heed_json_number(measured_s > 0 ? (double)measured / measured_s : 0),
			"measured_ops", heed_json_u64(measured), "setup", "ops",
			heed_json_u64(fill_ops), "seconds", heed_json_number(fill_s), "threads",
			(json_int_t)L->o.threads, "keys", heed_json_u64(L->o.keys), "key_size",
			(json_int_t)L->o.ksize, "value_size", (json_int_t)L->o.vsize, "page_size",
			(json_int_t)L->o.psize, "batch", (json_int_t)L->o.batch, "nosync",
			L->o.nosync, "pid", (int)getpid());
	if (!doc)
		rc = -ENOMEM;
	if (!rc)
		rc = heed_json_write(stdout, doc);
	json_decref(doc);
	json_decref(ops);
	json_decref(errs);
	if (rc) {
		fprintf(stderr, "heed-load: --json: %s\n", strerror(-rc));
		exit(1);
	}
}

static void report(const struct load *L, const struct counts *total, unsigned long long fill_ops,
		   double fill_s, unsigned long long measured, double measured_s)
{
	double rate = measured_s > 0 ? (double)measured / measured_s : 0;
	int i;

	if (L->o.json) {
		report_json(L, total, fill_ops, fill_s, measured, measured_s);
		return;
	}
	printf("heed-load: %s  keys %llu  key %u B  value %u B  page %u B  batch %u  "
	       "threads %u%s\n",
	       wl_names[L->o.wl], L->o.keys, L->o.ksize, L->o.vsize, L->o.psize, L->o.batch,
	       L->o.threads, L->o.nosync ? "  nosync" : "");
	printf("%-10s %12s %10s %14s\n", "phase", "ops", "seconds", "ops/s");
	if (fill_ops)
		printf("%-10s %12llu %10.3f %14.0f\n", "setup", fill_ops, fill_s,
		       fill_s > 0 ? (double)fill_ops / fill_s : 0);
	printf("%-10s %12llu %10.3f %14.0f\n", "measured", measured, measured_s, rate);
	printf("%-10s %12s %10s\n", "call", "count", "errors");
	for (i = 0; i < C_N; i++)
		printf("%-10s %12llu %10llu\n", cat_names[i], total->ops[i], total->errs[i]);
	printf("(every call of the process, setup included; errors include HEED_NOTFOUND; "
	       "sync counts heed_env_sync calls only)\n");
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: heed-load [-w WORKLOAD] [-n OPS | -d SECONDS] [-t THREADS] [-k KEYS]\n"
		"                 [-K KEYSIZE] [-V VALSIZE] [-P PAGESIZE] [--batch N] [--nosync]\n"
		"                 [--mapsize BYTES] [--pid-file F] [--wait-trace SEC] [--json] "
		"DIR\n"
		"workloads: fill fillrandom overwrite readrandom readseq mixed "
		"(default readrandom)\n"
		"defaults: -n 100000, -t 1 (mixed: 2 readers), -k 100000, -K 16, -V 100,\n"
		"          -P 4096, --batch 1000\n");
}

static int parse_ull(const char *s, const char *what, unsigned long long min,
		     unsigned long long max, unsigned long long *out)
{
	uint64_t v;

	if (heed_parse_u64(s, &v) || v < min || v > max) {
		fprintf(stderr, "heed-load: %s '%s': expected a number from %llu to %llu\n", what,
			s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_secs(const char *s, const char *what, double *out)
{
	double v;

	if (heed_parse_double(s, &v) || !(v >= 0) || v > 1e6) {
		fprintf(stderr, "heed-load: %s '%s': expected seconds from 0 to 1000000\n", what,
			s);
		return -1;
	}
	*out = v;
	return 0;
}

enum { O_BATCH = 256, O_NOSYNC, O_PIDFILE, O_WAIT, O_JSON, O_OPS, O_MAPSIZE };

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"batch", required_argument, NULL, O_BATCH},
		{"nosync", no_argument, NULL, O_NOSYNC},
		{"pid-file", required_argument, NULL, O_PIDFILE},
		{"wait-trace", required_argument, NULL, O_WAIT},
		{"json", no_argument, NULL, O_JSON},
		{"ops", required_argument, NULL, O_OPS},
		{"mapsize", required_argument, NULL, O_MAPSIZE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long long v;
	int c, have_n = 0, have_t = 0;
	size_t i;

	memset(o, 0, sizeof(*o));
	o->wl = W_READRANDOM;
	o->nops = 100000;
	o->threads = 1;
	o->keys = 100000;
	o->ksize = 16;
	o->vsize = 100;
	o->psize = 4096;
	o->batch = 1000;
	while ((c = getopt_long(argc, argv, "w:n:d:t:k:K:V:P:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			for (i = 0; i < NWL && strcmp(optarg, wl_names[i]) != 0; i++)
				;
			if (i == NWL) {
				fprintf(stderr, "heed-load: unknown workload '%s'\n", optarg);
				usage(stderr);
				return -1;
			}
			o->wl = (enum workload)i;
			break;
		case 'n':
		case O_OPS:
			if (parse_ull(optarg, "op count", 1, 1ULL << 50, &o->nops))
				return -1;
			have_n = 1;
			break;
		case 'd':
			if (parse_secs(optarg, "duration", &o->secs))
				return -1;
			if (o->secs <= 0) {
				fprintf(stderr, "heed-load: duration must be above 0 seconds\n");
				return -1;
			}
			break;
		case 't':
			if (parse_ull(optarg, "thread count", 1, 256, &v))
				return -1;
			o->threads = (unsigned int)v;
			have_t = 1;
			break;
		case 'k':
			if (parse_ull(optarg, "key count", 1, 1ULL << 40, &o->keys))
				return -1;
			break;
		case 'K':
			if (parse_ull(optarg, "key size", 1, 65536, &v))
				return -1;
			o->ksize = (unsigned int)v;
			break;
		case 'V':
			if (parse_ull(optarg, "value size", 0, 1ULL << 30, &v))
				return -1;
			o->vsize = (unsigned int)v;
			break;
		case 'P':
			if (parse_ull(optarg, "page size", 4096, 65536, &v))
				return -1;
			o->psize = (unsigned int)v;
			break;
		case O_BATCH:
			if (parse_ull(optarg, "batch", 1, 1ULL << 30, &v))
				return -1;
			o->batch = (unsigned int)v;
			break;
		case O_NOSYNC:
			o->nosync = 1;
			break;
		case O_PIDFILE:
			o->pidfile = optarg;
			break;
		case O_WAIT:
			if (parse_secs(optarg, "--wait-trace", &o->wait_trace))
				return -1;
			break;
		case O_JSON:
			o->json = 1;
			break;
		case O_MAPSIZE:
			if (parse_ull(optarg, "map size", 1 << 20, 1ULL << 44, &v))
				return -1;
			o->mapsize = (size_t)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "heed-load: expected one DIR argument\n");
		usage(stderr);
		return -1;
	}
	o->dir = argv[optind];
	if (have_n && o->secs > 0) {
		fprintf(stderr, "heed-load: -n and -d exclude each other\n");
		return -1;
	}
	if (o->secs > 0)
		o->nops = 0;
	if (o->wl == W_MIXED && !have_t)
		o->threads = 2;
	if ((o->wl == W_FILL || o->wl == W_FILLRANDOM || o->wl == W_OVERWRITE ||
	     o->wl == W_READSEQ) &&
	    o->threads != 1) {
		fprintf(stderr,
			"heed-load: %s runs on one thread (-t is for readrandom and mixed)\n",
			wl_names[o->wl]);
		return -1;
	}
	return 0;
}

/* Digits of the largest key a run can write must fit in KEYSIZE. */
static int check_key_room(const struct opts *o)
{
	unsigned long long top = o->keys - 1, cap = 1;
	unsigned int digits = 0;

	if (o->wl == W_FILL)
		top += o->nops ? o->nops : 1ULL << 40;
	while (cap <= top && digits < 20) {
		cap *= 10;
		digits++;
	}
	if (digits < 1)
		digits = 1;
	if (o->ksize < digits) {
		fprintf(stderr,
			"heed-load: key size %u cannot hold key numbers up to %llu (%u digits)\n",
			o->ksize, top, digits);
		return -1;
	}
	return 0;
}

static int open_env(struct load *L)
{
	const struct opts *o = &L->o;
	size_t need = (size_t)o->keys * (o->ksize + o->vsize + 64) * 3 + ((size_t)64 << 20);
	heed_txn *txn;
	int rc, maxks;

	if (mkdir(o->dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "heed-load: %s: cannot create the directory: %s\n", o->dir,
			strerror(errno));
		return -1;
	}
	rc = heed_env_create(&L->env);
	if (!rc)
		rc = heed_env_set_pagesize(L->env, o->psize);
	if (!rc)
		rc = heed_env_set_mapsize(
			L->env, o->mapsize ? o->mapsize
					   : (need > ((size_t)1 << 30) ? need : (size_t)1 << 30));
	if (!rc)
		rc = heed_env_set_maxreaders(L->env, o->threads + 8);
	if (rc) {
		fprintf(stderr, "heed-load: %s: cannot configure the environment: %s\n", o->dir,
			heed_strerror(rc));
		return -1;
	}
	rc = heed_env_open(L->env, o->dir, o->nosync ? HEED_NOSYNC : 0, 0644);
	if (rc) {
		fprintf(stderr, "heed-load: %s: cannot open the environment: %s\n", o->dir,
			heed_strerror(rc));
		return -1;
	}
	maxks = heed_env_get_maxkeysize(L->env);
	if ((int)o->ksize > maxks) {
		fprintf(stderr, "heed-load: key size %u is above this env's maximum of %d\n",
			o->ksize, maxks);
		return -1;
	}
	rc = heed_txn_begin(L->env, NULL, HEED_RDONLY, &txn);
	if (!rc) {
		rc = heed_dbi_open(txn, NULL, 0, &L->dbi);
		heed_txn_abort(txn);
	}
	if (rc) {
		fprintf(stderr, "heed-load: %s: cannot open the main database: %s\n", o->dir,
			heed_strerror(rc));
		return -1;
	}
	return 0;
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0) {
		fprintf(stderr, "heed-load: %s: cannot write the pid file: %s\n", path,
			strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	if (fclose(f)) {
		fprintf(stderr, "heed-load: %s: cannot write the pid file: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void sleep_secs(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Run the measured phase on n workers; the first is the writer in mixed. */
static int run_measured(struct load *L, struct worker *ws, unsigned int n)
{
	unsigned int i, started = 0;
	double deadline;

	atomic_store(&L->budget, L->o.nops);
	for (i = 0; i < n; i++) {
		if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i])) {
			fail(L, "heed-load: cannot start worker thread %u", i);
			break;
		}
		started++;
	}
	if (!L->o.nops && started == n) {
		deadline = now() + L->o.secs;
		while (!atomic_load(&L->stop) && now() < deadline)
			sleep_secs(deadline - now() > 0.05 ? 0.05 : deadline - now());
		atomic_store(&L->stop, 1);
	}
	for (i = 0; i < started; i++)
		pthread_join(ws[i].th, NULL);
	return L->failure[0] ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct load L;
	struct worker *ws = NULL;
	struct counts total = {0};
	unsigned long long fill_ops = 0, measured = 0;
	double t0, fill_s = 0, measured_s;
	unsigned int nworkers = 0, i;
	int rc = 1;

	if (parse_args(argc, argv, &L.o) || check_key_room(&L.o))
		return 2;
	pthread_mutex_init(&L.lock, NULL);
	L.val = malloc(L.o.vsize ? L.o.vsize : 1);
	if (!L.val) {
		fprintf(stderr, "heed-load: out of memory for a %u-byte value\n", L.o.vsize);
		return 1;
	}
	for (i = 0; i < L.o.vsize; i++)
		L.val[i] = (unsigned char)('a' + i % 26);
	if (open_env(&L))
		goto cleanup;
	if (L.o.pidfile && write_pidfile(L.o.pidfile))
		goto cleanup;
	if (L.o.wait_trace > 0)
		sleep_secs(L.o.wait_trace);

	nworkers = L.o.threads + (L.o.wl == W_MIXED);
	ws = calloc(nworkers, sizeof(*ws));
	if (!ws) {
		fprintf(stderr, "heed-load: out of memory for %u workers\n", nworkers);
		goto cleanup;
	}
	for (i = 0; i < nworkers; i++) {
		ws[i].L = &L;
		ws[i].rng = 0x9e3779b97f4a7c15ULL * (i + 1) ^ (uint64_t)getpid();
		/* mixed's writer also deletes (and puts back) some keys. */
		ws[i].writer = L.o.wl == W_MIXED && i == 0;
		ws[i].kbuf = malloc(L.o.ksize);
		if (!ws[i].kbuf) {
			fprintf(stderr, "heed-load: out of memory for keys\n");
			goto cleanup;
		}
	}

	t0 = now();
	if (L.o.wl == W_READRANDOM || L.o.wl == W_READSEQ || L.o.wl == W_OVERWRITE ||
	    L.o.wl == W_MIXED) {
		if (prefill(&ws[0]))
			goto fail;
	}
	if (L.o.wl == W_FILL && next_append_key(&ws[0], &L.first))
		goto fail;
	fill_s = now() - t0;
	fill_ops = sum_ops(&ws[0].c);

	t0 = now();
	L.cpu_s = cpu_now();
	if (run_measured(&L, ws, nworkers))
		goto fail;
	for (i = 0; i < nworkers; i++)
		measured += ws[i].done;
	/* Writes end with an explicit flush, which also makes sync countable. */
	if (L.o.wl != W_READRANDOM && L.o.wl != W_READSEQ) {
		int src = c_sync(&ws[0].c, L.env);

		if (src) {
			fail(&L, "heed-load: %s: sync failed: %s", L.o.dir, heed_strerror(src));
			goto fail;
		}
	}
	measured_s = now() - t0;
	L.cpu_s = cpu_now() - L.cpu_s;
	for (i = 0; i < nworkers; i++)
		add_counts(&total, &ws[i].c);
	report(&L, &total, fill_ops, fill_s, measured, measured_s);
	rc = fflush(stdout) ? 1 : 0;
	goto cleanup;
fail:
	fprintf(stderr, "%s\n", L.failure[0] ? L.failure : "heed-load: failed");
cleanup:
	if (ws) {
		for (i = 0; i < nworkers; i++)
			free(ws[i].kbuf);
		free(ws);
	}
	heed_env_close(L.env);
	free(L.val);
	return rc;
}
