/*
 * test_recommend.c - the heed-profile rule table on synthetic profiles and
 * the folded-stack ranking it reads.
 *
 * Each rule gets a profile holding its evidence just above its threshold
 * (it must fire, alone) and just below (nothing may fire).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "folded.h"
#include "recommend.h"

struct rule_case {
	const char *rule;
	const char *stack; /* a stack that is evidence for the rule */
	double threshold;
};

/* Every evidence stack here is deliberately evidence for exactly one rule. */
static const struct rule_case cases[] = {
	{"key-compare", "main;heed_get;bt_seek;heed_node_search_avx2;avx2_search", 0.15},
	{"page-alloc", "main;heed_put;page_alloc;freelist_take", 0.10},
	{"sync", "main;heed_txn_commit;fdatasync;__x64_sys_fdatasync_[k];ext4_sync_file_[k]", 0.05},
	{"malloc", "main;heed_txn_begin;malloc;_int_malloc", 0.05},
	{"memcpy", "main;heed_put;__memmove_avx_unaligned_erms", 0.10},
	{"page-fault", "main;heed_get;asm_exc_page_fault_[k];handle_mm_fault_[k]", 0.05},
	{"cow-touch", "main;heed_put;bt_put;touch_path;touch_page", 0.10},
	{"page-split", "main;heed_put;bt_put;split_insert;node_move", 0.10},
	{"lock", "main;reader_thread;pthread_mutex_lock;__lll_lock_wait", 0.05},
};

/* 1000 samples: `hit` on the evidence stack, the rest in neutral code. */
static void make_profile(struct heed_folded *p, const char *stack, unsigned hit)
{
	memset(p, 0, sizeof(*p));
	cr_assert_eq(heed_folded_add(p, stack, hit), 0);
	cr_assert_eq(heed_folded_add(p, "main;bench_loop;compute_checksum", 1000 - hit), 0);
	cr_assert_eq(heed_folded_rank(p), 0);
}

Test(recommend, table_covers_every_rule)
{
	size_t n = heed_recommend_nrules();

	cr_assert_eq(n, sizeof(cases) / sizeof(cases[0]) + 1, "a rule has no test case");
	for (size_t i = 0; i < n; i++) {
		const char *id = heed_recommend_rule_id(i);
		int found = strcmp(id, "build") == 0;

		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
			found |= strcmp(cases[c].rule, id) == 0;
		cr_assert(found, "rule %s has no test case", id);
	}
	cr_assert_null(heed_recommend_rule_id(n));
}

Test(recommend, each_rule_fires_alone_above_threshold)
{
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct heed_folded p;
		struct heed_rec recs[16];
		unsigned hit = (unsigned)(cases[c].threshold * 1000) + 10;
		size_t n;

		make_profile(&p, cases[c].stack, hit);
		cr_assert_eq(heed_recommend(&p, recs, 16, &n), 0);
		cr_assert_eq(n, 1, "%s: %zu rules fired, expected 1", cases[c].rule, n);
		cr_assert_str_eq(recs[0].rule, cases[c].rule);
		cr_assert_float_eq(recs[0].share, hit / 1000.0, 1e-9, "%s", cases[c].rule);
		cr_assert_float_eq(recs[0].threshold, cases[c].threshold, 1e-9, "%s",
				   cases[c].rule);
		cr_assert_not_null(strstr(recs[0].evidence, "of 1000 samples"), "%s",
				   recs[0].evidence);
		cr_assert(strlen(recs[0].advice) > 40);
		heed_folded_free(&p);
	}
}

Test(recommend, no_rule_fires_below_threshold)
{
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct heed_folded p;
		struct heed_rec recs[16];
		size_t n;

		make_profile(&p, cases[c].stack, (unsigned)(cases[c].threshold * 1000) - 10);
		cr_assert_eq(heed_recommend(&p, recs, 16, &n), 0);
		cr_assert_eq(n, 0, "%s fired below its threshold: %s", n ? recs[0].rule : "",
			     n ? recs[0].evidence : "");
		heed_folded_free(&p);
	}
}

Test(recommend, evidence_names_the_top_function)
{
	struct heed_folded p;
	struct heed_rec recs[4];
	size_t n;

	make_profile(&p, "main;heed_get;node_search;memcmp", 400);
	cr_assert_eq(heed_recommend(&p, recs, 4, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_not_null(strstr(recs[0].evidence, "40.0% of 1000 samples"), "%s",
			   recs[0].evidence);
	cr_assert_not_null(strstr(recs[0].evidence, "node_search (0.0% self, 40.0% total)"), "%s",
			   recs[0].evidence);
	cr_assert_not_null(strstr(recs[0].evidence, "memcmp (40.0% self, 40.0% total)"), "%s",
			   recs[0].evidence);
	heed_folded_free(&p);
}

Test(recommend, memcpy_counts_only_as_leaf)
{
	struct heed_folded p;
	struct heed_rec recs[4];
	size_t n;

	make_profile(&p, "main;memcpy;copy_loop", 500);
	cr_assert_eq(heed_recommend(&p, recs, 4, &n), 0);
	cr_assert_eq(n, 0);
	heed_folded_free(&p);
}

Test(recommend, heed_rules_ignore_kernel_namesakes)
{
	struct heed_folded p;
	struct heed_rec recs[4];
	size_t n;

	make_profile(&p, "main;heed_put;pwrite;vfs_write_[k];alloc_pages_mpol_[k];page_alloc_[k]",
		     500);
	cr_assert_eq(heed_recommend(&p, recs, 4, &n), 0);
	cr_assert_eq(n, 0, "%s fired on kernel frames", n ? recs[0].rule : "");
	heed_folded_free(&p);
}

Test(recommend, build_rule_needs_weak_profile_and_user_time)
{
	static const struct {
		const char *build;
		unsigned user;
		int fires;
	} bc[] = {
		{"default", 300, 1}, {"debug", 300, 1},	  {"release", 300, 0}, {"pgo", 900, 0},
		{"native", 900, 0},  {"default", 150, 0}, {"", 900, 0},
	};

	for (size_t i = 0; i < sizeof(bc) / sizeof(bc[0]); i++) {
		struct heed_folded p = {0};
		struct heed_rec recs[4];
		size_t n;

		snprintf(p.build, sizeof(p.build), "%s", bc[i].build);
		cr_assert_eq(heed_folded_add(&p, "main;bench_loop;compute_checksum", bc[i].user),
			     0);
		cr_assert_eq(heed_folded_add(&p, "main;read;do_syscall_64_[k];vfs_read_[k]",
					     1000 - bc[i].user),
			     0);
		cr_assert_eq(heed_folded_rank(&p), 0);
		cr_assert_eq(heed_recommend(&p, recs, 4, &n), 0);
		cr_assert_eq(n, (size_t)bc[i].fires, "build '%s' user %u", bc[i].build, bc[i].user);
		if (bc[i].fires) {
			cr_assert_str_eq(recs[0].rule, "build");
			cr_assert_not_null(strstr(recs[0].evidence, bc[i].build));
		}
		heed_folded_free(&p);
	}
}

Test(recommend, sorted_by_share_and_bounded)
{
	struct heed_folded p = {0};
	struct heed_rec recs[2];
	size_t n;

	cr_assert_eq(heed_folded_add(&p, "main;heed_txn_commit;fdatasync", 100), 0);
	cr_assert_eq(heed_folded_add(&p, "main;heed_get;node_search", 500), 0);
	cr_assert_eq(heed_folded_add(&p, "main;heed_put;page_alloc", 200), 0);
	cr_assert_eq(heed_folded_add(&p, "main;other", 200), 0);
	cr_assert_eq(heed_folded_rank(&p), 0);
	cr_assert_eq(heed_recommend(&p, recs, 2, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(recs[0].rule, "key-compare");
	cr_assert_str_eq(recs[1].rule, "page-alloc");
	heed_folded_free(&p);
}

Test(recommend, empty_profile_is_an_error)
{
	struct heed_folded p = {0};
	struct heed_rec recs[2];
	size_t n = 7;

	cr_assert_eq(heed_recommend(&p, recs, 2, &n), -EINVAL);
	cr_assert_eq(n, 0);
}

Test(stacks, self_and_total_with_recursion)
{
	struct heed_folded p = {0};

	cr_assert_eq(heed_folded_add_line(&p, "main;walk;walk;walk;memcmp 10\n"), 0);
	cr_assert_eq(heed_folded_add_line(&p, "main;walk 5"), 0);
	cr_assert_eq(heed_folded_add_line(&p, "   \n"), 0);
	cr_assert_eq(heed_folded_add_line(&p, "main;idle_[k] 3"), 0);
	cr_assert_eq(p.samples, 18);
	cr_assert_eq(heed_folded_rank(&p), 0);
	cr_assert_eq(p.nfuncs, 4);
	cr_assert_str_eq(p.funcs[0].name, "memcmp");
	cr_assert_eq(p.funcs[0].self, 10);
	cr_assert_str_eq(p.funcs[1].name, "walk");
	cr_assert_eq(p.funcs[1].self, 5);
	cr_assert_eq(p.funcs[1].total, 15, "recursion counted once per stack");
	cr_assert_str_eq(p.funcs[2].name, "idle_[k]");
	cr_assert_str_eq(p.funcs[3].name, "main");
	cr_assert_eq(p.funcs[3].total, 18);
	cr_assert_eq(p.funcs[3].self, 0);
	heed_folded_free(&p);
}

Test(stacks, drop_removes_matching_stacks)
{
	static const char *const tracer[] = {"*uprobe*", "bpf_prog_*", NULL};
	struct heed_folded p = {0};

	cr_assert_eq(
		heed_folded_add(&p, "main;heed_get;asm_exc_int3_[k];uprobe_notify_resume_[k]", 7),
		0);
	cr_assert_eq(heed_folded_add(&p, "main;heed_get;memcmp", 5), 0);
	cr_assert_eq(heed_folded_add(&p, "main;x;bpf_prog_6deef7357e7b4530_usdt_[k]", 2), 0);
	cr_assert_eq(heed_folded_drop(&p, tracer), 9);
	cr_assert_eq(p.samples, 5);
	cr_assert_eq(p.nstacks, 1);
	cr_assert_str_eq(p.stacks[0].frames, "main;heed_get;memcmp");
	heed_folded_free(&p);
}

Test(stacks, bad_lines_are_refused)
{
	struct heed_folded p = {0};

	cr_assert_eq(heed_folded_add_line(&p, "main;walk"), -EINVAL);
	cr_assert_eq(heed_folded_add_line(&p, "main;walk 1x"), -EINVAL);
	cr_assert_eq(heed_folded_add_line(&p, " 12"), -EINVAL);
	cr_assert_eq(heed_folded_add_line(&p, "main;walk 99999999999999999999999"), -EINVAL);
	cr_assert_eq(p.samples, 0);
	heed_folded_free(&p);
}

Test(stacks, folded_file_errors_name_file_and_line)
{
	char dir[] = "/tmp/heed-test-recommend-XXXXXX";
	char path[64], err[256];
	struct heed_folded p = {0};
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.folded", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("a;b 3\na;c 4\ngarbage\n", f);
	fclose(f);
	cr_assert_eq(heed_folded_read(&p, path, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "line 3"), "%s", err);
	cr_assert_not_null(strstr(err, path), "%s", err);
	heed_folded_free(&p);
	unlink(path);
	cr_assert_eq(heed_folded_read(&p, path, err, sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, "No such file"), "%s", err);
	rmdir(dir);
}

Test(stacks, frame_match_ignores_annotations)
{
	cr_assert(heed_frame_match("ext4_sync_file_[k]", 18, "ext4_sync_*"));
	cr_assert(heed_frame_match("node_search_[i]", 15, "node_search"));
	cr_assert_not(heed_frame_match("node_searchx", 12, "node_search"));
	cr_assert(heed_frame_is_kernel("vfs_read_[k]", 12));
	cr_assert_not(heed_frame_is_kernel("vfs_read_[i]", 12));
}

/* folded reads folded lines through libflame, so heed-profile and
 * heed-flame read one file the same way. */
Test(stacks, folded_lines_follow_libflame_rules)
{
	struct heed_folded p = {0};

	/* two counts: a differential line, not "a;b 3" with 4 samples */
	cr_assert_eq(heed_folded_add_line(&p, "a;b 3 4"), -EINVAL);
	cr_assert_eq(heed_folded_add_line(&p, "a;b 0.5"), -EINVAL, "half a sample");
	/* trailing empty frames are dropped, as flamegraph.pl drops them */
	cr_assert_eq(heed_folded_add_line(&p, "a;b;; 3"), 0);
	cr_assert_eq(heed_folded_add_line(&p, "a b;c 2"), 0, "a frame may hold a space");
	cr_assert_eq(p.nstacks, 2);
	cr_assert_str_eq(p.stacks[0].frames, "a;b");
	cr_assert_str_eq(p.stacks[1].frames, "a b;c");
	cr_assert_eq(p.samples, 5);
	heed_folded_free(&p);
}
