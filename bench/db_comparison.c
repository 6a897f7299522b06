/*
 * db_comparison - heed against LMDB, SQLite, LevelDB and RocksDB on the same
 * workloads: keys of 16 bytes ("%016llu", so key order is numeric order),
 * values of 100 random bytes, 1,000,000 keys (--quick: 100,000) on tmpfs.
 *
 *   fillseq     ascending keys into an empty store, 1000 puts per commit
 *               (heed and LMDB use their APPEND path)
 *   fillrandom  the same keys in a random order, 1000 puts per commit
 *   readrandom  point gets of random present keys, one snapshot per sample
 *   readseq     a cursor through the store in key order
 *   overwrite   random present keys get new values, 1000 per commit
 *   mixed       overwrite while two reader threads run readrandom; the
 *               readers' throughput is the extra "reader_ops_per_s"
 *   delete      every key, in random order, 1000 per commit
 *   durable     one put per commit, each commit synced, on a real disk
 *               (--disk-dir, default /var/tmp)
 *   durable1000 the same with 1000 puts per synced commit
 * Duplicates, heed and LMDB only (a DUPSORT db): n / 1000 keys (1,000;
 * --quick 100) each holding 1,000 values of 8 bytes (big-endian numbers):
 *   dupfill     the n (key, value) pairs in a random order, 1000 per commit
 *   dupget      GET_BOTH of random present pairs
 *   dupscan     a key's values in order (SET, then NEXT_DUP), random keys;
 *               an op is one value
 * A case is named workload/engine (filter with e.g. '/(heed|lmdb)$').
 * Workloads run engine by engine within each workload, so the engines
 * meet the machine in the same state; the write cases are fixed work (the
 * whole load split in samples) since each consumes the state it builds.
 */
#include "harness.h"
#include "stats.h"
#include "kv.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY_LEN	     16
#define VAL_LEN	     100
#define BATCH	     1000
#define FILL_SAMPLES 40
#define READERS	     2
#define NENGINES     7
#define DUP_VALS     1000 /* values per key in the dup* workloads */
#define DUP_VLEN     8

static const struct kv_engine *const engines[NENGINES] = {
	&kv_heed,   &kv_heed_pwrite, &kv_lmdb,	  &kv_lmdb_writemap,
	&kv_sqlite, &kv_leveldb,     &kv_rocksdb,
};

enum workload {
	W_FILLSEQ,
	W_FILLRANDOM,
	W_READRANDOM,
	W_READSEQ,
	W_OVERWRITE,
	W_MIXED,
	W_DELETE,
	W_DURABLE,
	W_DURABLE1000,
	W_DUPFILL,
	W_DUPGET,
	W_DUPSCAN,
	NWORKLOADS
};

static const char *const wl_names[NWORKLOADS] = {
	"fillseq", "fillrandom", "readrandom",	"readseq", "overwrite", "mixed",
	"delete",  "durable",	 "durable1000", "dupfill", "dupget",	"dupscan",
};

struct store {
	heed_bench *b;
	const struct kv_engine *eng;
	struct kv *kv;
	struct kv_reader *rd;
	const uint32_t *perm; /* a random order of 0..n-1 */
	uint64_t n;
	uint64_t dkeys; /* dup*: pair p is key p % dkeys, value p / dkeys */
	uint64_t pos;	/* progress of a fixed-work load */
	uint64_t rng;
	/* mixed: reader threads, their reads and the time they were counted over */
	uint64_t reader_seed;
	atomic_ullong reads;
	double read_ns, read_count;
	char dir[512];
	char val[VAL_LEN];
	int idx; /* in engines[], heed first */
	int seq; /* puts in key order: the engines' append path */
	enum workload wl;
	atomic_int stop;
	int reader_err;
};

/* Results for the closing table: ops/s and file sizes per engine. */
struct table {
	double ops[NWORKLOADS][NENGINES];
	double fill_bytes[NENGINES];
};

static int kv_fail(struct store *s, const char *what)
{
	return heed_bench_fail(s->b, "%s/%s: %s: %s", wl_names[s->wl], s->eng->name, what,
			       s->eng->error(s->kv));
}

/* One put or del of the plain write workloads, at s->pos. */
static int write_one(struct store *s)
{
	char key[KEY_LEN];
	uint64_t k;
	int rc;

	if (s->wl == W_FILLSEQ || s->wl == W_DURABLE || s->wl == W_DURABLE1000)
		k = s->pos;
	else if (s->wl == W_OVERWRITE || s->wl == W_MIXED)
		k = heed_stats_rand(&s->rng) % s->n;
	else
		k = s->perm[s->pos % s->n];
	s->pos++;
	heed_bench_key(key, KEY_LEN, k);
	if (s->wl == W_DELETE) {
		rc = s->eng->del(s->kv, key, KEY_LEN);
	} else {
		memcpy(s->val, &s->pos, sizeof(s->pos));
		rc = s->eng->put(s->kv, key, KEY_LEN, s->val, VAL_LEN, s->seq);
	}
	return rc ? kv_fail(s, s->wl == W_DELETE ? "del" : "put") : 0;
}

/* The key and value of dup pair p. */
static void dup_pair(const struct store *s, uint64_t p, char *key, unsigned char *val)
{
	uint64_t v = p / s->dkeys;

	heed_bench_key(key, KEY_LEN, p % s->dkeys);
	for (int i = 0; i < DUP_VLEN; i++)
		val[i] = (unsigned char)(v >> (8 * (DUP_VLEN - 1 - i)));
}

static int put_pair(struct store *s, uint64_t p)
{
	char key[KEY_LEN];
	unsigned char val[DUP_VLEN];

	dup_pair(s, p, key, val);
	return s->eng->put(s->kv, key, KEY_LEN, val, DUP_VLEN, 0) ? kv_fail(s, "put") : 0;
}

/* dupget: GET_BOTH of random present pairs. */
static int dupget_routine(void *arg, uint64_t iters)
{
	struct store *s = arg;
	char key[KEY_LEN];
	unsigned char val[DUP_VLEN];
	int rc = s->eng->refresh(s->rd);

	if (rc)
		return kv_fail(s, "refresh");
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t p = heed_stats_rand(&s->rng) % s->n;

		dup_pair(s, p, key, val);
		rc = s->eng->get_both(s->rd, key, KEY_LEN, val, DUP_VLEN);
		if (rc < 0)
			return kv_fail(s, "get_both");
		if (rc > 0)
			return heed_bench_fail(s->b, "dupget/%s: pair %llu missing", s->eng->name,
					       (unsigned long long)p);
	}
	return 0;
}

/* dupscan: iters values, a random key's from its first on. */
static int dupscan_routine(void *arg, uint64_t iters)
{
	struct store *s = arg;
	char key[KEY_LEN];
	uint64_t done = 0, bytes = 0;

	while (done < iters) {
		uint64_t k = heed_stats_rand(&s->rng) % s->dkeys, n;
		uint64_t max = iters - done < DUP_VALS ? iters - done : DUP_VALS;

		heed_bench_key(key, KEY_LEN, k);
		if (s->eng->scan_dups(s->rd, key, KEY_LEN, max, &n, &bytes))
			return kv_fail(s, "scan_dups");
		if (n != max)
			return heed_bench_fail(s->b, "dupscan/%s: key %llu: %llu values of %llu",
					       s->eng->name, (unsigned long long)k,
					       (unsigned long long)n, (unsigned long long)max);
		done += n;
	}
	if (bytes != iters * DUP_VLEN)
		return heed_bench_fail(s->b, "dupscan/%s: %llu bytes read for %llu values",
				       s->eng->name, (unsigned long long)bytes,
				       (unsigned long long)iters);
	return 0;
}

/* Writes of fill, overwrite, delete, durable and dupfill: iters operations from where
 * the previous sample stopped, committed every BATCH (durable: every one). */
static int write_routine(void *arg, uint64_t iters)
{
	struct store *s = arg;
	uint64_t batch = s->wl == W_DURABLE ? 1 : BATCH;
	int rc = 0;

	for (uint64_t i = 0; i < iters; i++) {
		if (i % batch == 0) {
			rc = s->eng->begin(s->kv);
			if (rc)
				return kv_fail(s, "begin");
		}
		rc = s->wl == W_DUPFILL ? put_pair(s, s->perm[s->pos++ % s->n]) : write_one(s);
		if (rc)
			return rc;
		if ((i + 1) % batch == 0 || i + 1 == iters) {
			rc = s->eng->commit(s->kv);
			if (rc)
				return kv_fail(s, "commit");
		}
	}
	return 0;
}

static int readrandom_routine(void *arg, uint64_t iters)
{
	struct store *s = arg;
	char key[KEY_LEN];
	size_t vlen;
	int rc = s->eng->refresh(s->rd);

	if (rc)
		return kv_fail(s, "refresh");
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t k = heed_stats_rand(&s->rng) % s->n;

		heed_bench_key(key, KEY_LEN, k);
		rc = s->eng->get(s->rd, key, KEY_LEN, &vlen);
		if (rc < 0)
			return kv_fail(s, "get");
		if (rc > 0 || vlen != VAL_LEN)
			return heed_bench_fail(s->b, "readrandom/%s: key %016llu: %s", s->eng->name,
					       (unsigned long long)k,
					       rc > 0 ? "missing" : "wrong value size");
	}
	return 0;
}

static int readseq_routine(void *arg, uint64_t iters)
{
	struct store *s = arg;
	uint64_t bytes = 0;

	if (s->eng->scan(s->rd, iters, &bytes))
		return kv_fail(s, "scan");
	if (bytes != iters * (KEY_LEN + VAL_LEN))
		return heed_bench_fail(s->b, "readseq/%s: %llu bytes read for %llu items",
				       s->eng->name, (unsigned long long)bytes,
				       (unsigned long long)iters);
	return 0;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *reader_main(void *arg)
{
	struct store *s = arg;
	struct kv_reader *rd = NULL;
	uint64_t rng = (uint64_t)pthread_self() ^ s->reader_seed;
	char key[KEY_LEN];
	size_t vlen;
	int rc;

	rc = s->eng->reader_open(s->kv, &rd);
	while (!rc && !atomic_load(&s->stop)) {
		for (int i = 0; i < BATCH && !rc; i++) {
			heed_bench_key(key, KEY_LEN, heed_stats_rand(&rng) % s->n);
			rc = s->eng->get(rd, key, KEY_LEN, &vlen);
		}
		if (!rc)
			rc = s->eng->refresh(rd);
		atomic_fetch_add(&s->reads, BATCH);
	}
	if (rc)
		s->reader_err = rc;
	if (rd)
		s->eng->reader_close(rd);
	return NULL;
}

/* mixed: the writer's samples are timed by the harness; the readers' reads
 * are counted over the same windows. */
static int mixed_routine(void *arg, uint64_t iters)
{
	struct store *s = arg;
	unsigned long long r0 = atomic_load(&s->reads);
	double t0 = now_ns();
	int rc = write_routine(arg, iters);

	s->read_ns += now_ns() - t0;
	s->read_count += (double)(atomic_load(&s->reads) - r0);
	return rc;
}

/* dups: a duplicates store (open_dups). */
static int open_store(struct store *s, const char *base, int durable, int dups)
{
	char err[512];
	int rc;

	snprintf(s->dir, sizeof(s->dir), "%s/heed-dbcmp-%s-XXXXXX", base, s->eng->name);
	if (!mkdtemp(s->dir))
		return heed_bench_fail(s->b, "%s: mkdtemp in %s: %s", s->eng->name, base,
				       strerror(errno));
	rc = dups ? s->eng->open_dups(s->dir, &s->kv, err, sizeof(err))
		  : s->eng->open(s->dir, durable, &s->kv, err, sizeof(err));
	if (rc) {
		heed_bench_rmtree(s->dir);
		return heed_bench_fail(s->b, "%s", err);
	}
	/* run_case() sets these for a case that runs; a load outside a case
	 * (fillrandom filtered out) must not inherit the previous store's. */
	s->pos = 0;
	s->seq = 0;
	return 0;
}

static void close_store(struct store *s)
{
	if (s->rd)
		s->eng->reader_close(s->rd);
	s->rd = NULL;
	if (s->kv)
		s->eng->close(s->kv);
	s->kv = NULL;
	if (s->dir[0])
		heed_bench_rmtree(s->dir);
	s->dir[0] = '\0';
}

/* Run workload wl on store s; record ops/s for the table. */
static int run_case(struct store *s, enum workload wl, uint64_t fixed, unsigned samples,
		    struct table *t)
{
	int ei = s->idx;
	char name[64];
	struct heed_bench_def d = {
		.name = name,
		.arg = s,
		.elems = 1,
		.bytes = wl == W_DELETE	   ? KEY_LEN
			 : wl == W_DUPSCAN ? DUP_VLEN
			 : wl >= W_DUPFILL ? KEY_LEN + DUP_VLEN
					   : KEY_LEN + VAL_LEN,
		.fixed_iters = fixed,
		.samples = samples,
		.nondeterministic = wl == W_MIXED,
	};
	double median;
	int rc;

	snprintf(name, sizeof(name), "%s/%s", wl_names[wl], s->eng->name);
	if (!heed_bench_enabled(s->b, name))
		return 0;
	s->wl = wl;
	s->pos = 0;
	s->seq = wl == W_FILLSEQ;
	d.routine = wl == W_READRANDOM ? readrandom_routine
		    : wl == W_READSEQ  ? readseq_routine
		    : wl == W_MIXED    ? mixed_routine
		    : wl == W_DUPGET   ? dupget_routine
		    : wl == W_DUPSCAN  ? dupscan_routine
				       : write_routine;
	rc = heed_bench_run(s->b, &d);
	if (rc)
		return rc;
	if (heed_bench_last_median(s->b, &median) == 0 && median > 0)
		t->ops[wl][ei] = 1e9 / median;
	if (ei > 0 && t->ops[wl][0] > 0 && t->ops[wl][ei] > 0)
		heed_bench_extra(s->b, "vs_heed", t->ops[wl][ei] / t->ops[wl][0]);
	return 0;
}

/* Which engines have a case among workloads from..to; returns how many. */
static int engines_enabled(heed_bench *b, int from, int to, int *en)
{
	char name[64];
	int any = 0;

	for (int e = 0; e < NENGINES; e++) {
		en[e] = 0;
		for (int w = from; w <= to; w++) {
			snprintf(name, sizeof(name), "%s/%s", wl_names[w], engines[e]->name);
			en[e] |= heed_bench_enabled(b, name);
		}
		any += en[e];
	}
	return any;
}

/* "1.23M (0.95x)": a rate and its ratio to heed's. */
static void cell(double v, double heed, int mib, char *buf, size_t len)
{
	int off;

	if (v <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	if (mib)
		off = snprintf(buf, len, "%.1f MiB", v / 1048576);
	else if (v >= 1e6)
		off = snprintf(buf, len, "%.2fM", v / 1e6);
	else if (v >= 1e4)
		off = snprintf(buf, len, "%.1fK", v / 1e3);
	else
		off = snprintf(buf, len, "%.0f", v);
	if (heed > 0 && off > 0 && (size_t)off < len)
		snprintf(buf + off, len - (size_t)off, " (%.2fx)", v / heed);
}

static void print_table(const struct table *t, uint64_t n)
{
	char buf[48];

	printf("\n%llu keys of %d bytes, values of %d bytes; dup*: %llu keys each with %d values "
	       "of %d bytes; ops/s (ratio to heed)\n\n",
	       (unsigned long long)n, KEY_LEN, VAL_LEN, (unsigned long long)(n / DUP_VALS),
	       DUP_VALS, DUP_VLEN);
	printf("| %-22s |", "workload");
	for (int e = 0; e < NENGINES; e++)
		printf(" %-18s |", engines[e]->name);
	printf("\n|------------------------|");
	for (int e = 0; e < NENGINES; e++)
		printf("-------------------:|");
	printf("\n");
	for (int w = 0; w < NWORKLOADS; w++) {
		printf("| %-22s |", wl_names[w]);
		for (int e = 0; e < NENGINES; e++) {
			cell(t->ops[w][e], t->ops[w][0], 0, buf, sizeof(buf));
			printf(" %18s |", buf);
		}
		printf("\n");
	}
	printf("| %-22s |", "file after fillrandom");
	for (int e = 0; e < NENGINES; e++) {
		cell(t->fill_bytes[e], t->fill_bytes[0], 1, buf, sizeof(buf));
		printf(" %18s |", buf);
	}
	printf("\n\n");
}

static int suite(heed_bench *b)
{
	uint64_t n = heed_bench_quick(b) ? 100000 : 1000000;
	uint64_t rng = heed_bench_seed(b);
	uint64_t fill = n / FILL_SAMPLES;
	struct store st[NENGINES];
	struct table *t = calloc(1, sizeof(*t));
	uint32_t *perm = malloc(n * sizeof(*perm));
	int en[NENGINES];
	double median;
	int rc = 0;

	memset(st, 0, sizeof(st));
	if (!t || !perm) {
		rc = heed_bench_fail(b, "out of memory");
		goto cleanup;
	}
	heed_stats_permutation(perm, n, &rng);
	for (int e = 0; e < NENGINES; e++) {
		st[e].b = b;
		st[e].eng = engines[e];
		st[e].idx = e;
		st[e].n = n;
		st[e].dkeys = n / DUP_VALS;
		st[e].perm = perm;
		st[e].rng = heed_bench_seed(b) + (uint64_t)e;
		for (int i = 0; i < VAL_LEN; i++)
			st[e].val[i] = (char)heed_stats_rand(&rng);
	}

	if (engines_enabled(b, W_FILLSEQ, W_FILLSEQ, en))
		for (int e = 0; e < NENGINES && !rc; e++) {
			if (!en[e])
				continue;
			rc = open_store(&st[e], heed_bench_tmpdir(b), 0, 0);
			if (!rc)
				rc = run_case(&st[e], W_FILLSEQ, fill, FILL_SAMPLES, t);
			if (!rc && st[e].pos)
				heed_bench_extra(b, "file_bytes", (double)kv_dir_bytes(st[e].dir));
			close_store(&st[e]);
		}

	/* One store per engine for the rest: filled, read, overwritten, emptied. */
	if (!rc && engines_enabled(b, W_FILLRANDOM, W_DELETE, en)) {
		for (int e = 0; e < NENGINES && !rc; e++) {
			if (!en[e])
				continue;
			rc = open_store(&st[e], heed_bench_tmpdir(b), 0, 0);
			if (!rc)
				rc = run_case(&st[e], W_FILLRANDOM, fill, FILL_SAMPLES, t);
			if (!rc && st[e].pos < n) {
				/* fillrandom is filtered out, or --icount counted only
				 * its first puts: load the rest untimed. */
				st[e].wl = W_FILLRANDOM;
				rc = write_routine(&st[e], n - st[e].pos);
			}
			if (!rc) {
				t->fill_bytes[e] = (double)kv_dir_bytes(st[e].dir);
				heed_bench_extra(b, "file_bytes", t->fill_bytes[e]);
			}
		}
		for (int e = 0; e < NENGINES && !rc; e++) {
			if (!en[e])
				continue;
			rc = st[e].eng->reader_open(st[e].kv, &st[e].rd);
			if (rc)
				rc = kv_fail(&st[e], "reader");
		}
		for (int e = 0; e < NENGINES && !rc; e++)
			rc = run_case(&st[e], W_READRANDOM, 0, 0, t);
		for (int e = 0; e < NENGINES && !rc; e++)
			rc = run_case(&st[e], W_READSEQ, 0, 0, t);
		for (int e = 0; e < NENGINES; e++) {
			if (st[e].rd)
				st[e].eng->reader_close(st[e].rd);
			st[e].rd = NULL;
		}
		for (int e = 0; e < NENGINES && !rc; e++)
			rc = run_case(&st[e], W_OVERWRITE, fill, FILL_SAMPLES, t);
		for (int e = 0; e < NENGINES && !rc; e++) {
			pthread_t th[READERS];
			int started = 0;
			char name[64];

			snprintf(name, sizeof(name), "mixed/%s", engines[e]->name);
			if (!heed_bench_enabled(b, name))
				continue;
			atomic_store(&st[e].stop, 0);
			st[e].reader_seed = heed_stats_rand(&rng);
			for (; started < READERS; started++)
				if (pthread_create(&th[started], NULL, reader_main, &st[e]))
					break;
			if (started < READERS)
				rc = heed_bench_fail(b, "mixed/%s: cannot start reader threads",
						     engines[e]->name);
			if (!rc)
				rc = run_case(&st[e], W_MIXED, n / 100, 30, t);
			atomic_store(&st[e].stop, 1);
			for (int i = 0; i < started; i++)
				pthread_join(th[i], NULL);
			if (!rc && st[e].reader_err)
				rc = heed_bench_fail(b, "mixed/%s: a reader failed: %s",
						     engines[e]->name, engines[e]->error(st[e].kv));
			if (!rc && st[e].read_ns > 0)
				heed_bench_extra(b, "reader_ops_per_s",
						 st[e].read_count * 1e9 / st[e].read_ns);
		}
		for (int e = 0; e < NENGINES && !rc; e++)
			rc = run_case(&st[e], W_DELETE, fill, FILL_SAMPLES, t);
		for (int e = 0; e < NENGINES; e++)
			close_store(&st[e]);
	}

	/* Duplicates: one DUPSORT store per engine that has them. */
	if (!rc && engines_enabled(b, W_DUPFILL, W_DUPSCAN, en)) {
		for (int e = 0; e < NENGINES && !rc; e++) {
			if (!en[e] || !engines[e]->open_dups)
				continue;
			rc = open_store(&st[e], heed_bench_tmpdir(b), 0, 1);
			if (!rc)
				rc = run_case(&st[e], W_DUPFILL, fill, FILL_SAMPLES, t);
			if (!rc && st[e].pos < n) {
				st[e].wl = W_DUPFILL;
				rc = write_routine(&st[e], n - st[e].pos);
			}
			if (!rc)
				rc = st[e].eng->reader_open(st[e].kv, &st[e].rd);
			if (rc && !st[e].rd)
				rc = kv_fail(&st[e], "reader");
		}
		for (int e = 0; e < NENGINES && !rc; e++)
			if (st[e].rd)
				rc = run_case(&st[e], W_DUPGET, 0, 0, t);
		for (int e = 0; e < NENGINES && !rc; e++)
			if (st[e].rd)
				rc = run_case(&st[e], W_DUPSCAN, 0, 0, t);
		for (int e = 0; e < NENGINES; e++)
			close_store(&st[e]);
	}

	/* durable: 10 commits of one put a sample (--quick 3); durable1000:
	 * one commit of BATCH puts a sample. A fresh store for each. */
	for (int w = W_DURABLE; w <= W_DURABLE1000 && !rc; w++) {
		uint64_t per = w == W_DURABLE1000 ? BATCH : heed_bench_quick(b) ? 3 : 10;

		if (!engines_enabled(b, w, w, en))
			continue;
		for (int e = 0; e < NENGINES && !rc; e++) {
			if (!en[e])
				continue;
			rc = open_store(&st[e], heed_bench_diskdir(b), 1, 0);
			if (!rc)
				rc = run_case(&st[e], (enum workload)w, per, 30, t);
			close_store(&st[e]);
		}
	}
	/* No table when no case ran: --list, or a --filter that matched nothing. */
	if (!rc && heed_bench_last_median(b, &median) == 0)
		print_table(t, n);
cleanup:
	for (int e = 0; e < NENGINES; e++)
		close_store(&st[e]);
	free(perm);
	free(t);
	return rc;
}

int main(int argc, char **argv)
{
	return heed_bench_main("db_comparison", argc, argv, suite);
}
