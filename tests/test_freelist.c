/*
 * test_freelist.c - page reuse in libheed (core/freelist.c, core/lock.c) and
 * the structural walker behind heed-check (core/check.c):
 *   - under a steady overwrite workload with short readers the file stops
 *     growing;
 *   - a long-lived reader keeps its snapshot intact while pages churn, and
 *     once it ends its pages are reused;
 *   - a reader process killed inside its txn does not pin pages for good;
 *   - the walker finds every page exactly once on a live db, and names the
 *     page of a planted fault (keys out of order, a leaked page);
 *   - a commit links to the frozen tail of the chain instead of rewriting
 *     it, and frozen pages are reused (thawed) before the file grows, by a
 *     nested txn too, whose abort leaves them frozen.
 * Randomized: HEED_SEED replays.
 */
#include "common.h"

#include <fcntl.h>
#include <signal.h>

#include "internal.h"

#define NKEYS 2000

static char dir[256];
static heed_env *env;

static void setup(void)
{
	tmpdir_make(dir, sizeof(dir), "freelist");
	HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 4096, 64u << 20, 0));
}

static void teardown(void)
{
	heed_env_close(env);
	env = NULL;
	tmpdir_remove(dir);
}

TestSuite(freelist, .init = setup, .fini = teardown);

static void put_gen(heed_txn *txn, unsigned int i, unsigned int gen, size_t vlen)
{
	char k[32], v[2048];
	heed_val key, val;

	snprintf(k, sizeof(k), "key%06u", i);
	memset(v, 'a' + (int)(gen % 26), sizeof(v));
	snprintf(v, sizeof(v), "%u", gen);
	key = hs(k);
	val = hv(v, vlen);
	HEED_OK(heed_put(txn, 0, &key, &val, 0));
}

static size_t last_pgno(void)
{
	heed_envinfo info;

	HEED_OK(heed_env_info(env, &info));
	return info.last_pgno;
}

/* Overwrite `per` random keys per commit, `commits` times. */
static void churn(struct rng *r, unsigned int commits, unsigned int per, unsigned int gen)
{
	unsigned int c, j;

	for (c = 0; c < commits; c++) {
		heed_txn *txn, *rd;

		HEED_OK(heed_txn_begin(env, NULL, HEED_RDONLY, &rd));
		HEED_OK(heed_txn_begin(env, NULL, 0, &txn));
		for (j = 0; j < per; j++)
			put_gen(txn, (unsigned int)rng_below(r, NKEYS), gen + c,
				(size_t)rng_range(r, 10, 300));
		HEED_OK(heed_txn_commit(txn));
		heed_txn_abort(rd);
	}
}

static void check_clean(void)
{
	char log[4096];
	int rc = run_heed_check(dir, log, sizeof(log));

	cr_assert_eq(rc, 0, "heed-check %s: exit %d: %s", dir, rc, log);
}

static void fill(void)
{
	heed_txn *txn;
	unsigned int i;

	HEED_OK(heed_txn_begin(env, NULL, 0, &txn));
	for (i = 0; i < NKEYS; i++)
		put_gen(txn, i, 0, 100);
	HEED_OK(heed_txn_commit(txn));
}

Test(freelist, file_stops_growing_under_overwrites)
{
	struct rng r = {test_seed("freelist::file_stops_growing")};
	size_t warm, end;

	fill();
	churn(&r, 300, 40, 1);
	warm = last_pgno();
	churn(&r, 1200, 40, 301);
	end = last_pgno();
	/* The high-water mark drifts with the random value sizes (seen: +7%);
	 * a leak of one page per commit would add 1200 pages (~700%). */
	cr_assert_leq(end, warm + warm / 4, "the file grew from %zu to %zu pages over 1200 commits",
		      warm, end);
	check_clean();
}

Test(freelist, long_reader_keeps_its_snapshot_then_pages_are_reused)
{
	struct rng r = {test_seed("freelist::long_reader")};
	heed_txn *old;
	heed_val key, val;
	size_t pinned, after;
	unsigned int i;

	fill();
	HEED_OK(heed_txn_begin(env, NULL, HEED_RDONLY, &old));
	churn(&r, 200, 40, 1);
	pinned = last_pgno();
	for (i = 0; i < NKEYS; i++) {
		char k[32];

		snprintf(k, sizeof(k), "key%06u", i);
		key = hs(k);
		HEED_OK(heed_get(old, 0, &key, &val));
		cr_assert(val.size == 100 && ((char *)val.data)[0] == '0',
			  "snapshot of key %u changed under a live reader", i);
	}
	heed_txn_abort(old);
	churn(&r, 400, 40, 201);
	after = last_pgno();
	cr_assert_leq(after, pinned + pinned / 4,
		      "pages freed while the reader lived were not reused: %zu -> %zu", pinned,
		      after);
	check_clean();
}

Test(freelist, dead_reader_process_does_not_pin_pages)
{
	struct rng r = {test_seed("freelist::dead_reader")};
	int fds[2], status, killed;
	ssize_t got;
	char c;
	pid_t pid;
	size_t warm, end;

	fill();
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		heed_env *e2;
		heed_txn *t;

		if (env_open_dir(&e2, dir, 0, 0, 64u << 20, 0) ||
		    heed_txn_begin(e2, NULL, HEED_RDONLY, &t))
			_exit(1);
		if (write(fds[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	/* With our write end closed, a child that dies before its write ends
	 * the read; the kill comes before any assertion, so a failure cannot
	 * leave the paused child behind. */
	close(fds[1]);
	got = read(fds[0], &c, 1);
	close(fds[0]);
	killed = kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(got, 1, "the reader child failed to start");
	cr_assert_eq(killed, 0);
	churn(&r, 200, 40, 1);
	warm = last_pgno();
	churn(&r, 600, 40, 201);
	end = last_pgno();
	cr_assert_leq(end, warm + warm / 4,
		      "a dead reader's slot still pins pages: %zu -> %zu pages", warm, end);
	check_clean();
}

struct report {
	char msg[512];
	int n;
};

static void collect(void *arg, const char *msg)
{
	struct report *r = arg;

	if (!r->n++)
		snprintf(r->msg, sizeof(r->msg), "%s", msg);
}

Test(freelist, walker_counts_every_page_once)
{
	struct rng r = {test_seed("freelist::walker")};
	struct report rep = {{0}, 0};
	heed_envinfo info;
	size_t pages = 0;

	fill();
	churn(&r, 50, 40, 1);
	HEED_OK(heed_env_info(env, &info));
	cr_assert_eq(heed_env_check(env, collect, &rep, &pages), 0, "walker: %s", rep.msg);
	cr_assert_eq(pages, info.last_pgno + 1, "walked %zu pages of %zu", pages,
		     info.last_pgno + 1);
}

#define BIGKEYS 12000

/* Put (or delete, with vlen 0) keys from..to-1 of 1000-byte values, in
 * txn or, when txn is NULL, in a txn of their own. */
static void big_range(heed_txn *txn, unsigned int from, unsigned int to, size_t vlen)
{
	heed_txn *own = NULL;
	char k[32], v[1000];
	heed_val key, val;
	unsigned int i;

	if (!txn)
		HEED_OK(heed_txn_begin(env, NULL, 0, &own));
	memset(v, 'b', sizeof(v));
	for (i = from; i < to; i++) {
		snprintf(k, sizeof(k), "big%06u", i);
		key = hs(k);
		val = hv(v, vlen);
		if (vlen)
			HEED_OK(heed_put(own ? own : txn, 0, &key, &val, 0));
		else
			HEED_OK(heed_del(own ? own : txn, 0, &key, NULL));
	}
	if (own)
		HEED_OK(heed_txn_commit(own));
}

/* The newest commit's chain pages, in chain order. */
static void chain_pages(struct pgvec *chain)
{
	struct pgvec recs = {0};
	struct meta m;

	HEED_OK(meta_pick(env, &m));
	HEED_OK(freelist_read(env, m.free_head, m.next_pgno, &recs, chain));
	pgvec_free(&recs);
}

static size_t shared_pages(const struct pgvec *a, const struct pgvec *b)
{
	size_t i, j, n = 0;

	for (i = 0; i < a->n; i++)
		for (j = 0; j < b->n; j++)
			n += a->v[i] == b->v[j];
	return n;
}

Test(freelist, a_commit_keeps_the_frozen_tail_of_the_chain)
{
	struct pgvec before = {0}, after = {0};
	size_t shared;

	big_range(NULL, 0, BIGKEYS, 1000);
	big_range(NULL, 0, BIGKEYS - 10, 0);
	/* The deleted pages are reusable from here: this commit freezes
	 * them, the next two only link to them. */
	big_range(NULL, BIGKEYS, BIGKEYS + 1, 1000);
	big_range(NULL, BIGKEYS + 1, BIGKEYS + 2, 1000);
	chain_pages(&before);
	big_range(NULL, BIGKEYS + 2, BIGKEYS + 3, 1000);
	chain_pages(&after);
	shared = shared_pages(&before, &after);
	/* ~4000 reusable pages fill 8 chain pages at 4 KiB; the head a
	 * one-put commit rewrites is one or two. */
	cr_assert_geq(before.n, 6, "a chain of %zu pages after freeing ~4000", before.n);
	cr_assert_geq(shared, before.n - 2,
		      "a one-put commit rewrote the chain: %zu of its %zu pages shared", shared,
		      before.n);
	pgvec_free(&before);
	pgvec_free(&after);
	check_clean();
}

Test(freelist, frozen_pages_are_reused_before_the_file_grows)
{
	heed_txn *txn, *child;
	size_t full, refill;
	unsigned int round;

	big_range(NULL, 0, BIGKEYS, 1000);
	full = last_pgno();
	for (round = 0; round < 3; round++) {
		/* Freed in three steps: three segments, newest first. */
		big_range(NULL, 0, BIGKEYS / 3, 0);
		big_range(NULL, 0, 1, 1000);
		big_range(NULL, BIGKEYS / 3, 2 * BIGKEYS / 3, 0);
		big_range(NULL, 1, 2, 1000);
		big_range(NULL, 2 * BIGKEYS / 3, BIGKEYS, 0);
		big_range(NULL, 2, 3, 1000);
		check_clean();
		/* A child thaws what it needs; its abort leaves the segments
		 * frozen for the parent, which thaws them again. */
		HEED_OK(heed_txn_begin(env, NULL, 0, &txn));
		HEED_OK(heed_txn_begin(env, txn, 0, &child));
		big_range(child, 0, BIGKEYS, 1000);
		heed_txn_abort(child);
		if (round == 1) {
			big_range(txn, 0, BIGKEYS, 1000);
		} else {
			HEED_OK(heed_txn_begin(env, txn, 0, &child));
			big_range(child, 0, BIGKEYS, 1000);
			HEED_OK(heed_txn_commit(child));
		}
		HEED_OK(heed_txn_commit(txn));
		check_clean();
		if (round == 1) {
			/* A reopened env reads the whole chain as head. */
			heed_env_close(env);
			HEED_OK(env_open_dir(&env, dir, HEED_NOSYNC, 4096, 64u << 20, 0));
		}
	}
	refill = last_pgno();
	/* Frozen pages left unused would double the file (~4000 pages). */
	cr_assert_leq(refill, full + full / 8, "refilling grew the file from %zu to %zu pages",
		      full, refill);
}

/* Find the first leaf page with at least 3 keys in the data file. */
static off_t find_leaf(int fd, unsigned char *page)
{
	off_t off;

	for (off = 2 * 4096;; off += 4096) {
		cr_assert_eq(pread(fd, page, 4096, off), 4096, "no leaf page found");
		if (page_hdr(page)->flags == P_LEAF && page_hdr(page)->nkeys >= 3)
			return off;
	}
}

Test(freelist, walker_names_keys_out_of_order)
{
	struct report rep = {{0}, 0};
	unsigned char page[4096];
	char path[300];
	uint64_t s;
	off_t off;
	int fd;

	fill();
	heed_env_close(env);
	env = NULL;
	snprintf(path, sizeof(path), "%s/data.heed", dir);
	fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	off = find_leaf(fd, page);
	s = page_slots(page)[0];
	page_slots(page)[0] = page_slots(page)[1];
	page_slots(page)[1] = s;
	cr_assert_eq(pwrite(fd, page, 4096, off), 4096);
	close(fd);
	HEED_OK(env_open_dir(&env, dir, HEED_RDONLY, 0, 0, 0));
	cr_assert_eq(heed_env_check(env, collect, &rep, NULL), 1, "a swapped slot went unnoticed");
	cr_assert(strstr(rep.msg, "out of order"), "walker said: %s", rep.msg);
	{
		char want[64];

		snprintf(want, sizeof(want), "page %lld:", (long long)(off / 4096));
		cr_assert(strstr(rep.msg, want), "walker said '%s', expected it to name %s",
			  rep.msg, want);
	}
}

Test(freelist, walker_names_a_leaked_page)
{
	struct report rep = {{0}, 0};
	heed_txn *txn;
	heed_val key, val;
	uint64_t pg;
	void *p;
	char log[4096];

	fill();
	/* Allocate a page inside a txn and drop it from the txn's books: the
	 * commit then records it nowhere. */
	HEED_OK(heed_txn_begin(env, NULL, 0, &txn));
	HEED_OK(page_alloc(txn, 1, &pg, &p));
	page_hdr(p)->flags = P_LEAF | P_DIRTY;
	page_hdr(p)->lower = PAGE_HDR;
	page_hdr(p)->upper = 4096;
	key = hs("key000001");
	val = hs("x");
	HEED_OK(heed_put(txn, 0, &key, &val, 0));
	HEED_OK(heed_txn_commit(txn));
	cr_assert_eq(heed_env_check(env, collect, &rep, NULL), 1, "a leaked page went unnoticed");
	{
		char want[64];

		snprintf(want, sizeof(want), "page %llu: leaked", (unsigned long long)pg);
		cr_assert(strstr(rep.msg, want), "walker said '%s', expected '%s'", rep.msg, want);
	}
	cr_assert_eq(run_heed_check(dir, log, sizeof(log)), 1, "heed-check exit status: %s", log);
	cr_assert(strstr(log, "leaked"), "heed-check said: %s", log);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Fill v with one of the shapes page numbers come in, or that break a
 * quicksort: random, few distinct, sorted, reversed, sorted runs (a merged
 * freelist), organ pipe, all equal. */
static void sort_input(struct rng *r, uint64_t *v, size_t n, unsigned int shape)
{
	for (size_t i = 0; i < n; i++) {
		switch (shape) {
		case 0:
			v[i] = rng_next(r);
			break;
		case 1:
			v[i] = rng_below(r, 5);
			break;
		case 2:
			v[i] = 2 + i;
			break;
		case 3:
			v[i] = n - i;
			break;
		case 4:
			v[i] = (i % 97) * 1000 + i / 97;
			break;
		case 5:
			v[i] = i < n / 2 ? i : n - i;
			break;
		default:
			v[i] = 7;
			break;
		}
	}
}

/* pgno_sort_runs against qsort on 1 to 6 ascending runs of random page
 * numbers (merged up to 4, sorted beyond) and on every shape of
 * sort_input. */
Test(freelist, pgno_sort_runs_matches_qsort)
{
	static const size_t sizes[] = {0, 1, 2, 3, 17, 1000, 4099};
	struct rng r = {test_seed("freelist::pgno_sort_runs")};
	uint64_t *v = malloc(4099 * sizeof(*v)), *want = malloc(4099 * sizeof(*want));

	cr_assert(v && want);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];

		for (unsigned int k = 1; k <= 6 + 7; k++) {
			if (k <= 6) {
				size_t cut[7] = {0};

				for (unsigned int c = 1; c < k; c++)
					cut[c] = (size_t)rng_below(&r, n + 1);
				cut[k] = n;
				qsort(cut, k + 1, sizeof(*cut), cmp_size);
				for (size_t i = 0; i < n; i++)
					want[i] = rng_below(&r, 3000);
				for (unsigned int c = 0; c < k; c++)
					qsort(want + cut[c], cut[c + 1] - cut[c], sizeof(*want),
					      cmp_u64);
			} else {
				sort_input(&r, want, n, k - 7);
			}
			memcpy(v, want, n * sizeof(*v));
			qsort(want, n, sizeof(*want), cmp_u64);
			pgno_sort_runs(v, n);
			cr_assert(!memcmp(v, want, n * sizeof(*v)),
				  "%zu items, case %u: not sorted", n, k);
		}
	}
	free(v);
	free(want);
}

/* pgno_sort against qsort on every shape and on sizes around its insertion
 * sort cutoff, with the depth limit at 0 (heap sort only), small (mixed)
 * and the one pgno_sort uses. */
Test(freelist, pgno_sort_matches_qsort)
{
	static const size_t sizes[] = {0, 1, 2, 15, 16, 17, 33, 100, 1000, 65537};
	struct rng r = {test_seed("freelist::pgno_sort")};
	uint64_t *v = malloc(65537 * sizeof(*v)), *want = malloc(65537 * sizeof(*want));

	cr_assert(v && want);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (unsigned int shape = 0; shape < 7; shape++) {
			for (unsigned int limit = 0; limit < 3; limit++) {
				size_t n = sizes[s];

				sort_input(&r, want, n, shape);
				memcpy(v, want, n * sizeof(*v));
				qsort(want, n, sizeof(*want), cmp_u64);
				if (limit == 2)
					pgno_sort(v, n);
				else
					pgno_sort_limit(v, n, limit * 3);
				cr_assert(!memcmp(v, want, n * sizeof(*v)),
					  "%zu items of shape %u, depth limit %u: not sorted", n,
					  shape, limit * 3);
			}
		}
	}
	free(v);
	free(want);
}
