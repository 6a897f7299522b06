/*
 * recommend.c - the rule table that maps hot code to advice (recommend.h).
 *
 * Thresholds are shares of all samples. They are set where the cost is big
 * enough that the advice, followed, would move a benchmark by more than the
 * noise of this VM (a few percent): total-time rules at 5-15%, leaf rules at
 * 10%.
 */
#include "recommend.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum metric {
	M_TOTAL, /* a matching frame anywhere on the stack */
	M_SELF,	 /* the leaf frame matches */
	M_BUILD, /* the build type and the user-space share */
};

#define MAX_PATTERNS 16

struct rule {
	const char *id;
	const char *title;
	const char *advice;
	enum metric metric;
	/* heed's own cost centres: kernel frames (_[k]) with similar names, like
	 * the kernel's alloc_pages, are not evidence */
	int user_only;
	double threshold;
	const char *patterns[MAX_PATTERNS];
};

static const struct rule rules[] = {
	{"key-compare",
	 "Key comparison and node search dominate",
	 "Speed up the in-page search: compare a fixed-width key prefix stored in each node "
	 "(or SIMD-compare 16-byte prefixes) before falling back to memcmp, and keep keys short "
	 "or share prefixes so more of them fit in a cache line.",
	 M_TOTAL,
	 1,
	 0.15,
	 {"memcmp", "__memcmp*", "bcmp", "*cmp_key*", "*key_cmp*", "*keycmp*", "*cmp_keys*",
	  "*_search", "*search_*", "*node_find*", "*bsearch*"}},
	{"page-alloc",
	 "Page allocation and the freelist are hot",
	 "Tune the freelist: keep freed page numbers sorted in memory and take contiguous runs, "
	 "reuse pages freed by the same transaction without a freelist round trip, and end "
	 "long-lived readers sooner so freed pages become reusable.",
	 M_TOTAL,
	 1,
	 0.10,
	 {"*page_alloc*", "*alloc_page*", "*freelist*", "*page_free*", "*free_page*",
	  "*pgno_alloc*", "*spill*"}},
	{"sync",
	 "Commits wait on fsync/fdatasync/msync",
	 "Batch many updates into one write transaction (one sync per commit), or open the "
	 "environment with HEED_NOMETASYNC (one sync per commit instead of two) or HEED_NOSYNC "
	 "where losing the last commits on power loss is acceptable, and call heed_env_sync "
	 "periodically.",
	 M_TOTAL,
	 0,
	 0.05,
	 {"fsync", "fdatasync", "msync", "sync_file_range", "*sys_fsync", "*sys_fdatasync",
	  "*sys_msync", "do_fsync", "vfs_fsync*", "*file_fsync*", "*env_sync*"}},
	{"malloc",
	 "malloc and free take a visible share",
	 "Allocate per-transaction and per-cursor state from an arena that is reset, not freed, "
	 "at commit or abort, and reuse cursors and read transactions (heed_txn_reset/renew).",
	 M_TOTAL,
	 0,
	 0.05,
	 {"malloc", "free", "calloc", "realloc", "cfree", "__libc_malloc", "__libc_free",
	  "__libc_calloc", "__libc_realloc", "_int_malloc", "_int_free", "_int_realloc",
	  "malloc_consolidate", "sysmalloc", "tcache_*", "unlink_chunk*"}},
	{"memcpy",
	 "Copying bytes (memcpy/memmove) is a leaf hot spot",
	 "Large values are being copied: store values above a quarter page in overflow pages "
	 "and hand out pointers into the map instead of copies, use 16 KiB pages for big values, "
	 "and avoid shifting nodes on insert by appending (HEED_APPEND) when keys arrive sorted.",
	 M_SELF,
	 0,
	 0.10,
	 {"memcpy", "memmove", "__memcpy*", "__memmove*", "__mempcpy*", "mempcpy", "copy_user_*",
	  "rep_movs_alternative"}},
	{"page-fault",
	 "Page faults on the map are frequent",
	 "Set the map size once, large enough for the workload, so the map is not grown and "
	 "remapped; pre-fault hot ranges with MAP_POPULATE or madvise(MADV_WILLNEED), and keep "
	 "the data file on a file system with a warm page cache.",
	 M_TOTAL,
	 0,
	 0.05,
	 {"*page_fault*", "handle_mm_fault", "__handle_mm_fault", "handle_pte_fault",
	  "do_anonymous_page", "do_fault", "do_read_fault", "do_shared_fault", "filemap_fault",
	  "do_wp_page", "wp_page_copy", "filemap_map_pages"}},
	{"cow-touch",
	 "Copy-on-write of touched pages is hot",
	 "Every write transaction copies each page it touches once: put more updates in each "
	 "transaction so hot branch pages are copied once per batch, and insert in key order "
	 "(HEED_APPEND) so consecutive puts touch the same leaf.",
	 M_TOTAL,
	 1,
	 0.10,
	 {"touch_page", "touch_path", "*page_touch*", "*page_copy*", "*copy_page*", "dirty_add",
	  "dirty_find", "dirty_grow"}},
	{"page-split",
	 "B+tree page splits are hot",
	 "Inserts split pages often: insert sorted keys with HEED_APPEND (fills pages instead of "
	 "halving them), or use 16 KiB pages (heed_env_set_pagesize) for write-heavy workloads.",
	 M_TOTAL,
	 1,
	 0.10,
	 {"*page_split*", "*node_split*", "*split_page*", "*btree_split*", "*split_node*",
	  "split_insert"}},
	{"lock",
	 "Threads wait on locks",
	 "Reduce contention on the writer lock and the reader table: batch writes into fewer "
	 "transactions, give each reader thread its own long-lived read transaction "
	 "(reset/renew), and raise maxreaders if slots are scanned often.",
	 M_TOTAL,
	 0,
	 0.05,
	 {"pthread_mutex_lock", "pthread_mutex_unlock", "__pthread_mutex_lock*", "__lll_lock_wait*",
	  "pthread_rwlock_*", "futex_wait*", "futex_wake*", "*sys_futex", "do_futex",
	  "*spin_lock*"}},
	{"build",
	 "The code was built without LTO or PGO",
	 "Rebuild with a stronger compiler profile: `make release` (-O3 + LTO) lets the compiler "
	 "inline across libheed's modules, `make pgo` trains on the benchmark workload and lays "
	 "out hot paths, `make native` uses the host's instruction set. Run optimize.sh to "
	 "measure which wins here.",
	 M_BUILD,
	 0,
	 0.20,
	 {NULL}},
};

#define NRULES (sizeof(rules) / sizeof(rules[0]))

size_t heed_recommend_nrules(void)
{
	return NRULES;
}

const char *heed_recommend_rule_id(size_t i)
{
	return i < NRULES ? rules[i].id : NULL;
}

static int frame_matches(const struct rule *r, const char *frame, size_t len)
{
	if (r->user_only && heed_frame_is_kernel(frame, len))
		return 0;
	for (size_t i = 0; i < MAX_PATTERNS && r->patterns[i]; i++)
		if (heed_frame_match(frame, len, r->patterns[i]))
			return 1;
	return 0;
}

/* Samples behind rule r: stacks with a matching frame (anywhere, or as leaf). */
static uint64_t stack_share(const struct rule *r, const struct heed_folded *p)
{
	uint64_t hit = 0;

	for (size_t si = 0; si < p->nstacks; si++) {
		const char *s = p->stacks[si].frames;

		while (*s) {
			const char *e = strchr(s, ';');
			size_t len = e ? (size_t)(e - s) : strlen(s);
			int leaf = e == NULL;

			if ((r->metric == M_TOTAL || leaf) && frame_matches(r, s, len)) {
				hit += p->stacks[si].count;
				break;
			}
			if (!e)
				break;
			s = e + 1;
		}
	}
	return hit;
}

/* Samples whose leaf frame is user-space code (no _[k] annotation). */
static uint64_t user_share(const struct heed_folded *p)
{
	uint64_t hit = 0;

	for (size_t si = 0; si < p->nstacks; si++) {
		const char *s = p->stacks[si].frames;
		const char *leaf = strrchr(s, ';');

		leaf = leaf ? leaf + 1 : s;
		if (*leaf && !heed_frame_is_kernel(leaf, strlen(leaf)))
			hit += p->stacks[si].count;
	}
	return hit;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Appends the three matching functions with the largest share to ev. */
static void top_matches(const struct rule *r, const struct heed_folded *p, char *ev, size_t evlen)
{
	const struct heed_folded_func *top[3] = {NULL, NULL, NULL};
	size_t used = strlen(ev);

	for (size_t i = 0; i < p->nfuncs; i++) {
		const struct heed_folded_func *f = &p->funcs[i];
		uint64_t v = r->metric == M_SELF ? f->self : f->total;

		if (v == 0 || !frame_matches(r, f->name, strlen(f->name)))
			continue;
		for (int k = 0; k < 3; k++) {
			uint64_t tv;

			if (!top[k]) {
				top[k] = f;
				break;
			}
			tv = r->metric == M_SELF ? top[k]->self : top[k]->total;
			if (v > tv) {
				for (int m = 2; m > k; m--)
					top[m] = top[m - 1];
				top[k] = f;
				break;
			}
		}
	}
	for (int k = 0; k < 3 && top[k] && used < evlen; k++) {
		int w = snprintf(ev + used, evlen - used, "%s %s (%.1f%% self, %.1f%% total)",
				 k ? "," : "; top:", top[k]->name, pct(top[k]->self, p->samples),
				 pct(top[k]->total, p->samples));

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static int cmp_rec(const struct heed_rec *a, const struct heed_rec *b)
{
	return a->share < b->share ? 1 : a->share > b->share ? -1 : 0;
}

int heed_recommend(const struct heed_folded *prof, struct heed_rec *out, size_t max, size_t *n)
{
	*n = 0;
	if (prof->samples == 0)
		return -EINVAL;
	for (size_t i = 0; i < NRULES; i++) {
		const struct rule *r = &rules[i];
		struct heed_rec rec = {.rule = r->id,
				       .title = r->title,
				       .advice = r->advice,
				       .threshold = r->threshold};
		uint64_t hit;
		size_t k;

		if (r->metric == M_BUILD) {
			if (strcmp(prof->build, "debug") != 0 &&
			    strcmp(prof->build, "default") != 0)
				continue;
			hit = user_share(prof);
			rec.share = (double)hit / (double)prof->samples;
			snprintf(rec.evidence, sizeof(rec.evidence),
				 "the measured binaries were built with BUILD_TYPE=%s (%s); %.1f%% "
				 "of "
				 "%llu samples end in user-space code that a compiler profile can "
				 "speed up",
				 prof->build,
				 strcmp(prof->build, "debug") == 0 ? "-O0" : "-O2, no LTO, no PGO",
				 100.0 * rec.share, (unsigned long long)prof->samples);
		} else {
			hit = stack_share(r, prof);
			rec.share = (double)hit / (double)prof->samples;
			snprintf(rec.evidence, sizeof(rec.evidence),
				 "%.1f%% of %llu samples have %s", 100.0 * rec.share,
				 (unsigned long long)prof->samples,
				 r->metric == M_SELF ? "a matching function as the leaf"
						     : "a matching function on the stack");
			top_matches(r, prof, rec.evidence, sizeof(rec.evidence));
		}
		if (rec.share < r->threshold)
			continue;
		/* insertion keeps out sorted by share; the smallest falls off */
		for (k = *n; k > 0 && cmp_rec(&out[k - 1], &rec) > 0; k--)
			if (k < max)
				out[k] = out[k - 1];
		if (k < max) {
			out[k] = rec;
			if (*n < max)
				(*n)++;
		}
	}
	return 0;
}
