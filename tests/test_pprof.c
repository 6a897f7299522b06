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

static const struct heed_pprof_value_type samples_type[] = {{"samples", "count"}};

static heed_pprof *samples_profile(size_t max_bytes)
{
	struct heed_pprof_opts o = {
		.sample_types = samples_type, .nsample_types = 1, .max_bytes = max_bytes};
	heed_pprof *p;

	PP_OK(heed_pprof_new(&o, &p));
	return p;
}

static void add_folded(heed_pprof *p, const char *stack, int64_t count)
{
	PP_OK(heed_pprof_add_folded(p, stack, strlen(stack), &count));
}

Test(pprof, folded_stacks_inlined_and_kernel_frames)
{
	heed_pprof *p = samples_profile(0);
	struct heed_pprof_stats st;

	add_folded(p, "hot;__libc_start_call_main;hot_a;spin_inl_[i];deeper_[i]", 568);
	add_folded(p, "hot;__libc_start_call_main;hot_b", 227);
	add_folded(p, "hot;main;read;__x64_sys_read_[k];vfs_read_[k]", 10);
	/* The same stack again merges; trailing empty frames are dropped. */
	add_folded(p, "hot;__libc_start_call_main;hot_b;;", 3);
	add_folded(p, "idle", 4);
	heed_pprof_stats(p, &st);
	cr_assert_eq(st.samples, 4);
	/* hot_a+spin_inl+deeper is one location; __libc_start_call_main is shared. */
	cr_assert_eq(st.locations, 8);
	cr_assert_eq(st.functions, 10);
	cr_assert_eq(st.mappings, 1);
	PP_OK(heed_pprof_write_file(p, path_in("f.pb.gz")));
	heed_pprof_free(p);
	expect_out("-raw", path_in("f.pb.gz"),
		   "PeriodType:  \n"
		   "Period: 0\n"
		   "Samples:\n"
		   "samples/count\n"
		   "        568: 1 2 \n"
		   "                process:[hot]\n"
		   "        230: 3 2 \n"
		   "                process:[hot]\n"
		   "         10: 4 5 6 7 \n"
		   "                process:[hot]\n"
		   "          4: 8 \n"
		   "                process:[idle]\n"
		   "Locations\n"
		   "     1: 0x0 deeper :0 s=0\n"
		   "             spin_inl :0 s=0\n"
		   "             hot_a :0 s=0\n"
		   "     2: 0x0 __libc_start_call_main :0 s=0\n"
		   "     3: 0x0 hot_b :0 s=0\n"
		   "     4: 0x0 M=1 vfs_read :0 s=0\n"
		   "     5: 0x0 M=1 __x64_sys_read :0 s=0\n"
		   "     6: 0x0 read :0 s=0\n"
		   "     7: 0x0 main :0 s=0\n"
		   "     8: 0x0 idle :0 s=0\n"
		   "Mappings\n"
		   "1: 0x0/0xffffffffffffffff/0x0 [kernel.kallsyms]  [FN]\n");
}

Test(pprof, empty_profile)
{
	heed_pprof *p = samples_profile(0);
	char *got;

	PP_OK(heed_pprof_write_file(p, path_in("empty.pb.gz")));
	heed_pprof_free(p);
	/* Without a period pprof prints an empty one, and without mappings it adds a fake one. */
	expect_out("-raw", path_in("empty.pb.gz"),
		   "PeriodType:  \n"
		   "Period: 0\n"
		   "Samples:\n"
		   "samples/count\n"
		   "Locations\n"
		   "Mappings\n"
		   "1: 0x0/0x0/0x0   \n");
	got = pprof_out("-top", path_in("empty.pb.gz"));
	cr_assert(strstr(got, "Showing nodes accounting for 0, 0% of 0 total\n"), "%s", got);
	free(got);
}

Test(pprof, empty_names)
{
	heed_pprof *p = samples_profile(0);
	struct heed_pprof_line anon = {.name = ""}, null_name = {.name = NULL};
	uint64_t l1, l2, l3;
	int64_t one = 1;

	PP_OK(heed_pprof_add_location(p, 0, 0x1234, &anon, 1, &l1));
	PP_OK(heed_pprof_add_location(p, 0, 0x1234, &null_name, 1, &l2));
	cr_assert_eq(l1, l2, "NULL and \"\" are the same name");
	PP_OK(heed_pprof_add_location(p, 0, 0x5678, NULL, 0, &l3));
	PP_OK(heed_pprof_add_sample(p, &l1, 1, &one, NULL, 0));
	PP_OK(heed_pprof_add_sample(p, &l3, 1, &one, NULL, 0));
	/* An empty frame inside a folded stack is a function with an empty name. */
	add_folded(p, "p;;leaf", 5);
	PP_OK(heed_pprof_write_file(p, path_in("e.pb.gz")));
	heed_pprof_free(p);
	expect_out("-raw", path_in("e.pb.gz"),
		   "PeriodType:  \n"
		   "Period: 0\n"
		   "Samples:\n"
		   "samples/count\n"
		   "          1: 1 \n"
		   "          1: 2 \n"
		   "          5: 3 4 \n"
		   "                process:[p]\n"
		   "Locations\n"
		   "     1: 0x1234 M=1  :0 s=0\n"
		   "     2: 0x5678 M=1 \n"
		   "     3: 0x0 M=1 leaf :0 s=0\n"
		   "     4: 0x0 M=1  :0 s=0\n"
		   "Mappings\n"
		   "1: 0x0/0x0/0x0   \n");
}

Test(pprof, huge_counts_and_overflow)
{
	heed_pprof *p = samples_profile(0);
	int64_t big = INT64_MAX - 1, one = 1;

	add_folded(p, "p;a", big);
	add_folded(p, "p;a", one);
	cr_assert_eq(heed_pprof_add_folded(p, "p;a", 3, &one), -EOVERFLOW);
	add_folded(p, "p;b", -5);
	PP_OK(heed_pprof_write_file(p, path_in("h.pb.gz")));
	heed_pprof_free(p);
	expect_out("-raw", path_in("h.pb.gz"),
		   "PeriodType:  \n"
		   "Period: 0\n"
		   "Samples:\n"
		   "samples/count\n"
		   " 9223372036854775807: 1 \n"
		   "                process:[p]\n"
		   "         -5: 2 \n"
		   "                process:[p]\n"
		   "Locations\n"
		   "     1: 0x0 M=1 a :0 s=0\n"
		   "     2: 0x0 M=1 b :0 s=0\n"
		   "Mappings\n"
		   "1: 0x0/0x0/0x0   \n");
}

/* Reads a protobuf varint at *pos; returns 0 when it runs past len or over 10 bytes. */
static int get_varint(const unsigned char *d, size_t len, size_t *pos, uint64_t *v)
{
	*v = 0;
	for (unsigned int shift = 0; shift < 70 && *pos < len; shift += 7) {
		unsigned char b = d[(*pos)++];

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 1;
	}
	return 0;
}

/* Without pprof: the file is one gzip member (magic, deflate, CRC and length checked by
 * zlib, nothing after it, and gzip -t agrees) holding a sequence of Profile fields whose
 * keys and lengths add up to exactly the payload. */
Test(pprof, valid_gzip_and_framing)
{
	heed_pprof *p = cpu_profile();
	unsigned char *in, *out;
	size_t inlen, outlen = 0, pos = 0, fields[16] = {0};
	z_stream z = {0};
	FILE *f;
	char cmd[512];
	int rc;

	PP_OK(heed_pprof_write_file(p, path_in("cpu.pb.gz")));
	heed_pprof_free(p);
	f = fopen(path_in("cpu.pb.gz"), "rb");
	cr_assert(f);
	in = (unsigned char *)slurp(f);
	fseek(f, 0, SEEK_END);
	inlen = (size_t)ftell(f);
	fclose(f);
	cr_assert(inlen > 18 && in[0] == 0x1f && in[1] == 0x8b && in[2] == 8, "no gzip header");
	out = malloc(1 << 20);
	cr_assert(out);
	cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = in;
	z.avail_in = (uInt)inlen;
	z.next_out = out;
	z.avail_out = 1 << 20;
	rc = inflate(&z, Z_FINISH);
	cr_assert_eq(rc, Z_STREAM_END, "inflate: %d (%s)", rc, z.msg ? z.msg : "");
	cr_assert_eq(z.avail_in, 0, "%u bytes after the gzip member", z.avail_in);
	outlen = z.total_out;
	inflateEnd(&z);
	snprintf(cmd, sizeof(cmd), "gzip -t %s", path_in("cpu.pb.gz"));
	cr_assert_eq(system(cmd), 0, "gzip -t rejects the file");

	while (pos < outlen) {
		uint64_t key, v;

		cr_assert(get_varint(out, outlen, &pos, &key), "truncated key at %zu", pos);
		cr_assert((key >> 3) >= 1 && (key >> 3) <= 12, "field %llu",
			  (unsigned long long)key);
		fields[key >> 3]++;
		cr_assert(get_varint(out, outlen, &pos, &v), "truncated value at %zu", pos);
		if ((key & 7) == 2) {
			cr_assert(v <= outlen - pos, "length %llu past the end",
				  (unsigned long long)v);
			pos += v;
		} else {
			cr_assert_eq(key & 7, 0, "wire type %llu", (unsigned long long)(key & 7));
		}
	}
	cr_assert_eq(pos, outlen);
	cr_assert_eq(fields[1], 2, "sample types");
	cr_assert_eq(fields[2], 3, "samples");
	cr_assert_eq(fields[3], 3, "mappings");
	cr_assert_eq(fields[4], 6, "locations");
	cr_assert_eq(fields[5], 7, "functions");
	cr_assert(fields[6] > 10, "strings");
	cr_assert_eq(out[0], 0x0a, "the first field is not sample_type");
	free(in);
	free(out);
}

/* Strings and functions are stored once: a function is its (name, system name, file). */
Test(pprof, deduplication)
{
	heed_pprof *p = samples_profile(0);
	struct heed_pprof_line a = {"f", NULL, "x.c", 1}, a2 = {"f", NULL, "x.c", 2},
			       b = {"f", NULL, "y.c", 1}, c = {"f", "_Z1fv", "x.c", 1};
	struct heed_pprof_mapping m = {0x1000, 0x2000, 0, "/bin/x", NULL, 0, 0};
	struct heed_pprof_stats st0, st;
	uint64_t id[6], m1, m2;

	heed_pprof_stats(p, &st0);
	PP_OK(heed_pprof_add_location(p, 0, 0x10, &a, 1, &id[0]));
	PP_OK(heed_pprof_add_location(p, 0, 0x20, &a2, 1, &id[1]));
	PP_OK(heed_pprof_add_location(p, 0, 0x30, &b, 1, &id[2]));
	PP_OK(heed_pprof_add_location(p, 0, 0x40, &c, 1, &id[3]));
	PP_OK(heed_pprof_add_location(p, 0, 0x10, &a, 1, &id[4]));
	PP_OK(heed_pprof_add_location(p, 0, 0x10, &a2, 1, &id[5]));
	cr_assert_eq(id[4], id[0], "an equal location is found again");
	cr_assert_neq(id[5], id[0], "another line is another location");
	PP_OK(heed_pprof_add_mapping(p, &m, &m1));
	PP_OK(heed_pprof_add_mapping(p, &m, &m2));
	cr_assert_eq(m1, m2);
	heed_pprof_stats(p, &st);
	cr_assert_eq(st.locations, 5);
	cr_assert_eq(st.functions, 3, "f@x.c, f@y.c and f/_Z1fv@x.c");
	cr_assert_eq(st.mappings, 1);
	/* "f", "x.c", "y.c", "_Z1fv", "/bin/x" */
	cr_assert_eq(st.strings, st0.strings + 5);
	heed_pprof_free(p);
}

Test(pprof, errors)
{
	struct heed_pprof_value_type bad[] = {{"samples", NULL}};
	struct heed_pprof_opts o = {.sample_types = bad, .nsample_types = 1};
	struct heed_pprof_mapping m = {0x2000, 0x1000, 0, "/bin/x", NULL, 0, 0};
	struct heed_pprof_line l = {"f", NULL, NULL, 0};
	heed_pprof *p;
	uint64_t id, loc;
	int64_t one = 1;
	FILE *full;

	cr_assert_eq(heed_pprof_new(&o, &p), -EINVAL);
	cr_assert_null(p);
	o.nsample_types = 0;
	cr_assert_eq(heed_pprof_new(&o, &p), -EINVAL);
	o.sample_types = samples_type;
	o.nsample_types = HEED_PPROF_MAX_VALUES + 1;
	cr_assert_eq(heed_pprof_new(&o, &p), -EINVAL);
	heed_pprof_free(NULL);

	p = samples_profile(0);
	cr_assert_eq(heed_pprof_add_mapping(p, &m, &id), -EINVAL, "limit below start");
	m.limit = 0x3000;
	m.build_id_len = 65;
	m.build_id = (const unsigned char *)"x";
	cr_assert_eq(heed_pprof_add_mapping(p, &m, &id), -EINVAL, "build-id too long");
	cr_assert_eq(heed_pprof_add_location(p, 1, 0, &l, 1, &id), -EINVAL, "no mapping 1");
	cr_assert_eq(heed_pprof_add_location(p, 0, 0, NULL, 1, &id), -EINVAL);
	PP_OK(heed_pprof_add_location(p, 0, 0, &l, 1, &loc));
	id = loc + 1;
	cr_assert_eq(heed_pprof_add_sample(p, &id, 1, &one, NULL, 0), -EINVAL, "no location 2");
	id = 0;
	cr_assert_eq(heed_pprof_add_sample(p, &id, 1, &one, NULL, 0), -EINVAL, "location 0");
	{
		struct heed_pprof_label nokey = {.str = "x"};

		cr_assert_eq(heed_pprof_add_sample(p, &loc, 1, &one, &nokey, 1), -EINVAL);
	}
	cr_assert_eq(heed_pprof_add_folded(p, ";;", 2, &one), -EINVAL, "empty stack");
	cr_assert_eq(heed_pprof_add_folded(p, "", 0, &one), -EINVAL, "empty stack");
	PP_OK(heed_pprof_add_sample(p, &loc, 1, &one, NULL, 0));

	full = fopen("/dev/full", "wb");
	cr_assert(full);
	cr_assert_eq(heed_pprof_write(p, full), -EIO);
	fclose(full);
	cr_assert_eq(heed_pprof_write_file(p, path_in("no/such/dir.pb.gz")), -ENOENT);
	/* After all that, the profile is intact. */
	PP_OK(heed_pprof_write_file(p, path_in("ok.pb.gz")));
	heed_pprof_free(p);
	expect_out("-raw", path_in("ok.pb.gz"),
		   "PeriodType:  \n"
		   "Period: 0\n"
		   "Samples:\n"
		   "samples/count\n"
		   "          1: 1 \n"
		   "Locations\n"
		   "     1: 0x0 M=1 f :0 s=0\n"
		   "Mappings\n"
		   "1: 0x0/0x0/0x0   \n");
}

/* max_bytes bounds the builder: adding fails with -ENOSPC, and what was added before is
 * still written whole. */
Test(pprof, memory_limit)
{
	heed_pprof *p = samples_profile(256 << 10);
	struct heed_pprof_stats st;
	int64_t total = 0;
	char stack[64], want[128], *got;
	int err = 0, i;

	for (i = 0; i < 1000000; i++) {
		int64_t v = i + 1;

		snprintf(stack, sizeof(stack), "p;main;f%d;g%d", i % 100, i);
		err = heed_pprof_add_folded(p, stack, strlen(stack), &v);
		if (err)
			break;
		total += v;
	}
	cr_assert_eq(err, -ENOSPC, "stopped at %d with %d", i, err);
	heed_pprof_stats(p, &st);
	cr_assert(st.bytes <= 256 << 10, "%zu bytes", st.bytes);
	cr_assert(i > 500, "only %d stacks in 256 KiB", i);
	{
		/* A limit below what an empty profile takes is refused. */
		struct heed_pprof_opts o = {
			.sample_types = samples_type, .nsample_types = 1, .max_bytes = 1};
		heed_pprof *tiny;

		cr_assert_eq(heed_pprof_new(&o, &tiny), -ENOSPC);
	}
	PP_OK(heed_pprof_write_file(p, path_in("lim.pb.gz")));
	heed_pprof_free(p);
	got = pprof_out("-top -nodecount=1", path_in("lim.pb.gz"));
	snprintf(want, sizeof(want), "of %lld total\n", (long long)total);
	cr_assert(strstr(got, want), "want '%s' in:\n%s", want, got);
	free(got);
}

/* 10^5 distinct stacks of up to 24 frames: the totals and the hottest leaf go tool pprof
 * reports are those of the input, and the builder stays well under 64 MiB. */
Test(pprof, many_stacks)
{
	struct rng r = {test_seed("many_stacks")};
	heed_pprof *p = samples_profile(0);
	static int64_t self[1000];
	struct heed_pprof_stats st;
	int64_t total = 0, best = 0;
	char stack[512], want[160], *got;
	size_t top = 0, nbest = 0;

	for (int i = 0; i < 100000; i++) {
		int n = snprintf(stack, sizeof(stack), "proc%d;main;a%d;b%d", i % 5, i / 1000,
				 i % 1000);
		int depth = (int)rng_below(&r, 20);
		size_t leaf = rng_below(&r, 1000);
		int64_t v = (int64_t)rng_range(&r, 1, 1000);

		for (int d = 0; d < depth; d++)
			n += snprintf(stack + n, sizeof(stack) - (size_t)n, ";mid%d",
				      (int)rng_below(&r, 50));
		n += snprintf(stack + n, sizeof(stack) - (size_t)n, ";leaf%zu", leaf);
		PP_OK(heed_pprof_add_folded(p, stack, (size_t)n, &v));
		self[leaf] += v;
		total += v;
	}
	heed_pprof_stats(p, &st);
	cr_assert_eq(st.samples, 100000);
	cr_assert(st.bytes < 64 << 20, "%zu bytes for 10^5 stacks", st.bytes);
	PP_OK(heed_pprof_write_file(p, path_in("big.pb.gz")));
	heed_pprof_free(p);
	for (size_t i = 0; i < 1000; i++) {
		if (self[i] > best) {
			best = self[i];
			top = i;
			nbest = 0;
		}
		nbest += self[i] == best;
	}
	got = pprof_out("-top -nodecount=1 -nodefraction=0", path_in("big.pb.gz"));
	snprintf(want, sizeof(want), "of %lld total\n", (long long)total);
	cr_assert(strstr(got, want), "want '%s' in:\n%s", want, got);
	snprintf(want, sizeof(want), "\n%10lld ", (long long)best);
	cr_assert(strstr(got, want), "the hottest leaf has %lld:\n%s", (long long)best, got);
	if (nbest == 1) {
		snprintf(want, sizeof(want), "  leaf%zu\n", top);
		cr_assert(strstr(got, want), "leaf%zu is the hottest:\n%s", top, got);
	}
	free(got);
}
