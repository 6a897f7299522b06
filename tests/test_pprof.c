/* Criterion suite for profiler/pprof.c: profiles with known content, written and read
 * back by Debian's real `go tool pprof` (package golang-go), whose -raw, -top and
 * -traces output must match exactly: sample types, period, totals, function names with
 * inlined frames, labels, mappings with build-ids, the order of every stack. Plus edge
 * cases (empty profile, empty names, int64 counts, 10^5 distinct stacks), errors, and a
 * decoder-free check of the gzip framing. The randomized test prints its seed and
 * replays one from HEED_SEED. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common.h"
#include "pprof.h"

static char dir[64];

static void setup(void)
{
	tmpdir_make(dir, sizeof(dir), "pprof");
}

static void teardown(void)
{
	tmpdir_remove(dir);
}

TestSuite(pprof, .init = setup, .fini = teardown, .timeout = 120);

#define PP_OK(expr)                                                                                \
	do {                                                                                       \
		int rc_ = (expr);                                                                  \
		cr_assert_eq(rc_, 0, "%s returned %d (%s)", #expr, rc_, strerror(-rc_));           \
	} while (0)

static char *path_in(const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static char *slurp(FILE *f)
{
	size_t len = 0, cap = 1 << 16, n;
	char *s = malloc(cap);

	cr_assert(s);
	while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 4096) {
			cap *= 2;
			s = realloc(s, cap);
			cr_assert(s);
		}
	}
	s[len] = '\0';
	return s;
}

/* The stdout of `go tool pprof ARGS FILE`, in UTC, with its caches under the test's
 * directory (CI's HOME may not be writable); the test fails if pprof does. */
static char *pprof_out(const char *args, const char *file)
{
	char cmd[1024];
	FILE *f;
	char *out;
	int rc;

	cr_assert_eq(system("command -v go >/dev/null"), 0,
		     "go is missing: Debian's golang-go provides go tool pprof "
		     "(sh ci/install-deps.sh)");
	snprintf(cmd, sizeof(cmd),
		 "TZ=UTC HOME=%s GOCACHE=%s/gocache GOFLAGS= PPROF_TMPDIR=%s "
		 "go tool pprof -symbolize=none %s %s 2>%s/pprof.err",
		 dir, dir, dir, args, file, dir);
	f = popen(cmd, "r");
	cr_assert(f, "popen %s", cmd);
	out = slurp(f);
	rc = pclose(f);
	if (rc != 0) {
		FILE *e = fopen(path_in("pprof.err"), "r");
		char *msg = e ? slurp(e) : strdup("?");

		cr_assert_fail("%s exited %d: %s", cmd, rc, msg);
	}
	return out;
}

static void expect_out(const char *args, const char *file, const char *want)
{
	char *got = pprof_out(args, file);

	cr_assert_str_eq(got, want, "go tool pprof %s:\n--- got\n%s--- want\n%s", args, got, want);
	free(got);
}

static const struct heed_pprof_value_type cpu_types[] = {
	{"samples", "count"},
	{"cpu", "nanoseconds"},
};

/* A --profile at 100 Hz of two processes: "hot" (pid 42, two threads) with frames in
 * its executable, an inlined frame and a kernel stack; "db" (pid 7) with one frame in
 * libc. */
static heed_pprof *cpu_profile(void)
{
	static const unsigned char bid[] = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x23};
	struct heed_pprof_opts o = {
		.sample_types = cpu_types,
		.nsample_types = 2,
		.period_type = {"cpu", "nanoseconds"},
		.period = 10000000,
		.time_nanos = 1700000000000000000LL,
		.duration_nanos = 5000000000LL,
	};
	struct heed_pprof_mapping exe = {0x400000,
					 0x402000,
					 0x1000,
					 "/usr/bin/hot",
					 bid,
					 sizeof(bid),
					 HEED_PPROF_HAS_FUNCTIONS | HEED_PPROF_HAS_INLINE_FRAMES};
	struct heed_pprof_mapping libc = {0x7f0000000000,	   0x7f0000100000, 0,
					  "/lib/libc.so.6",	   NULL,	   0,
					  HEED_PPROF_HAS_FUNCTIONS};
	struct heed_pprof_line spin[] = {
		{"spin_inl", NULL, "hot.c", 12},
		{"hot_a", NULL, "hot.c", 30},
	};
	struct heed_pprof_line main_l = {"main", NULL, "hot.c", 50};
	struct heed_pprof_line hot_b = {"hot_b", NULL, "hot.c", 40};
	struct heed_pprof_line vfs = {"vfs_read", NULL, NULL, 0};
	struct heed_pprof_line sysc = {"do_syscall_64", NULL, NULL, 0};
	struct heed_pprof_line memcpy_l = {"memcpy", "__memcpy_avx", NULL, 0};
	uint64_t m_exe, m_libc, m_k, l_spin, l_main, l_hotb, l_vfs, l_sys, l_memcpy;
	heed_pprof *p;

	PP_OK(heed_pprof_new(&o, &p));
	PP_OK(heed_pprof_add_mapping(p, &exe, &m_exe));
	PP_OK(heed_pprof_add_mapping(p, &libc, &m_libc));
	PP_OK(heed_pprof_kernel_mapping(p, &m_k));
	cr_assert_eq(m_exe, 1);
	cr_assert_eq(m_libc, 2);
	cr_assert_eq(m_k, 3);
	PP_OK(heed_pprof_add_location(p, m_exe, 0x401010, spin, 2, &l_spin));
	PP_OK(heed_pprof_add_location(p, m_exe, 0x401100, &main_l, 1, &l_main));
	PP_OK(heed_pprof_add_location(p, m_exe, 0x401050, &hot_b, 1, &l_hotb));
	PP_OK(heed_pprof_add_location(p, m_k, 0xffffffff81000000, &vfs, 1, &l_vfs));
	PP_OK(heed_pprof_add_location(p, m_k, 0xffffffff81000100, &sysc, 1, &l_sys));
	PP_OK(heed_pprof_add_location(p, m_libc, 0x7f0000001234, &memcpy_l, 1, &l_memcpy));

	{
		uint64_t s1[] = {l_spin, l_main};
		uint64_t s2[] = {l_vfs, l_sys, l_hotb, l_main};
		uint64_t s3[] = {l_memcpy};
		int64_t v1[] = {70, 700000000}, v2[] = {20, 200000000}, v3[] = {10, 100000000};
		struct heed_pprof_label t1[] = {
			{.key = "process", .str = "hot"},
			{.key = "pid", .num = 42},
			{.key = "thread", .str = "hot-1"},
		};
		struct heed_pprof_label t2[] = {
			{.key = "process", .str = "hot"},
			{.key = "pid", .num = 42},
			{.key = "thread", .str = "hot-2"},
		};
		struct heed_pprof_label t3[] = {
			{.key = "process", .str = "db"},
			{.key = "pid", .num = 7},
			{.key = "bytes", .num = 4096, .num_unit = "bytes"},
		};

		PP_OK(heed_pprof_add_sample(p, s1, 2, v1, t1, 3));
		PP_OK(heed_pprof_add_sample(p, s2, 4, v2, t2, 3));
		PP_OK(heed_pprof_add_sample(p, s3, 1, v3, t3, 3));
	}
	return p;
}

Test(pprof, raw_matches_what_was_built)
{
	heed_pprof *p = cpu_profile();

	PP_OK(heed_pprof_write_file(p, path_in("cpu.pb.gz")));
	heed_pprof_free(p);
	expect_out("-raw", path_in("cpu.pb.gz"),
		   "PeriodType: cpu nanoseconds\n"
		   "Period: 10000000\n"
		   "Time: 2023-11-14 22:13:20 +0000 UTC\n"
		   "Duration: 5s\n"
		   "Samples:\n"
		   "samples/count cpu/nanoseconds\n"
		   "         70  700000000: 1 2 \n"
		   "                process:[hot] thread:[hot-1]\n"
		   "                pid:[42]\n"
		   "         20  200000000: 3 4 5 2 \n"
		   "                process:[hot] thread:[hot-2]\n"
		   "                pid:[42]\n"
		   "         10  100000000: 6 \n"
		   "                process:[db]\n"
		   "                bytes:[4096 bytes] pid:[7]\n"
		   "Locations\n"
		   "     1: 0x401010 M=1 spin_inl hot.c:12 s=0\n"
		   "             hot_a hot.c:30 s=0\n"
		   "     2: 0x401100 M=1 main hot.c:50 s=0\n"
		   "     3: 0xffffffff81000000 M=2 vfs_read :0 s=0\n"
		   "     4: 0xffffffff81000100 M=2 do_syscall_64 :0 s=0\n"
		   "     5: 0x401050 M=1 hot_b hot.c:40 s=0\n"
		   "     6: 0x7f0000001234 M=3 memcpy :0 s=0(__memcpy_avx)\n"
		   "Mappings\n"
		   "1: 0x400000/0x402000/0x1000 /usr/bin/hot deadbeef0123 [FN][IN]\n"
		   "2: 0x0/0xffffffffffffffff/0x0 [kernel.kallsyms]  [FN]\n"
		   "3: 0x7f0000000000/0x7f0000100000/0x0 /lib/libc.so.6  [FN]\n");
}

Test(pprof, top_and_traces)
{
	heed_pprof *p = cpu_profile();

	PP_OK(heed_pprof_write_file(p, path_in("cpu.pb.gz")));
	heed_pprof_free(p);
	/* The default sample type is the last one: CPU time; -sample_index picks samples. */
	expect_out("-top -sample_index=samples", path_in("cpu.pb.gz"),
		   "File: hot\n"
		   "Build ID: deadbeef0123\n"
		   "Type: samples\n"
		   "Time: Nov 14, 2023 at 10:13pm (UTC)\n"
		   "Duration: 5s, Total samples = 100 \n"
		   "Showing nodes accounting for 100, 100% of 100 total\n"
		   "      flat  flat%   sum%        cum   cum%\n"
		   "        70 70.00% 70.00%         70 70.00%  spin_inl (inline)\n"
		   "        20 20.00% 90.00%         20 20.00%  vfs_read\n"
		   "        10 10.00%   100%         10 10.00%  memcpy\n"
		   "         0     0%   100%         20 20.00%  do_syscall_64\n"
		   "         0     0%   100%         70 70.00%  hot_a\n"
		   "         0     0%   100%         20 20.00%  hot_b\n"
		   "         0     0%   100%         90 90.00%  main\n");
	expect_out("-traces", path_in("cpu.pb.gz"),
		   "File: hot\n"
		   "Build ID: deadbeef0123\n"
		   "Type: cpu\n"
		   "Time: Nov 14, 2023 at 10:13pm (UTC)\n"
		   "Duration: 5s, Total samples = 1s (20.00%)\n"
		   "-----------+-------------------------------------------------------\n"
		   "    thread:  hot-1\n"
		   "   process:  hot\n"
		   "       pid:  42\n"
		   "     700ms   spin_inl (inline)\n"
		   "             hot_a\n"
		   "             main\n"
		   "-----------+-------------------------------------------------------\n"
		   "    thread:  hot-2\n"
		   "   process:  hot\n"
		   "       pid:  42\n"
		   "     200ms   vfs_read\n"
		   "             do_syscall_64\n"
		   "             hot_b\n"
		   "             main\n"
		   "-----------+-------------------------------------------------------\n"
		   "   process:  db\n"
		   "       pid:  7\n"
		   "     bytes:  4kB\n"
		   "     100ms   memcpy\n"
		   "-----------+-------------------------------------------------------\n");
	/* The process label splits the profile as Pyroscope and Parca split it. */
	expect_out("-top -tagfocus=process=db -sample_index=samples", path_in("cpu.pb.gz"),
		   "File: hot\n"
		   "Build ID: deadbeef0123\n"
		   "Type: samples\n"
		   "Time: Nov 14, 2023 at 10:13pm (UTC)\n"
		   "Duration: 5s, Total samples = 100 \n"
		   "Active filters:\n"
		   "   tagfocus=process=db\n"
		   "Showing nodes accounting for 10, 10.00% of 100 total\n"
		   "      flat  flat%   sum%        cum   cum%\n"
		   "        10 10.00% 10.00%         10 10.00%  memcpy\n");
}
