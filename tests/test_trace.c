/* test_trace.c - unit tests of heed-trace's modules, which need no root but one
 * (a histogram read from a real per-CPU map): histogram buckets and percentiles,
 * the JSON writer, /proc maps parsing, ELF symbols and USDT
 * notes, libdw symbolization of this process, and top-function counting.
 * Randomized tests print their seed; HEED_SEED replays one. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elfinfo.h"
#include "lathist.h"
#include "lathist.bpf.h"
#include "parse.h"
#include "procmaps.h"
#include "select.h"
#include "stacks.h"
#include "symbolize.h"
#include "unwind.h"

static uint64_t seed_rng(void)
{
	const char *s = getenv("HEED_SEED");
	uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();

	if (s)
		cr_assert_eq(heed_parse_u64(s, &seed), 0, "HEED_SEED=%s: not a whole number", s);

	fprintf(stderr, "test_trace: HEED_SEED=%" PRIu64 "\n", seed);
	return seed;
}

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void check_bucket(uint64_t v)
{
	unsigned int b = heed_hist_bucket(v);
	uint64_t lo, hi;

	cr_assert_lt(b, HEED_HIST_BUCKETS, "value %" PRIu64 " -> bucket %u", v, b);
	heed_hist_bounds(b, &lo, &hi);
	cr_assert(lo <= v && (v < hi || hi == UINT64_MAX),
		  "value %" PRIu64 " outside bucket %u [%" PRIu64 ", %" PRIu64 ")", v, b, lo, hi);
	/* HDR-style: a bucket is at most 1/8 of its lower bound wide (exact below 8). */
	if (v < 8)
		cr_assert_eq(hi - lo, 1);
	else
		cr_assert_leq(hi - lo, lo / 8, "bucket %u too wide", b);
}

Test(hist, buckets_hold_their_values)
{
	uint64_t s = seed_rng(), v;
	int i;

	for (v = 0; v < 4096; v++)
		check_bucket(v);
	check_bucket(UINT64_MAX);
	check_bucket(1ULL << 63);
	for (i = 0; i < 200000; i++) {
		v = next(&s) >> (next(&s) % 64);
		check_bucket(v);
	}
}

/* The BPF programs' bucket (bpf/lathist.bpf.h, branch-free) is the one user space
 * reads the histograms with. */
Test(hist, bpf_bucket_is_the_user_bucket)
{
	uint64_t s = seed_rng(), v;
	int i, k;

	for (v = 0; v < 4096; v++)
		cr_assert_eq(hist_bucket(v), heed_hist_bucket(v), "value %" PRIu64, v);
	for (k = 0; k < 64; k++)
		for (v = (1ULL << k) - 1; v <= (1ULL << k) + 1 && v >= (1ULL << k) - 1; v++)
			cr_assert_eq(hist_bucket(v), heed_hist_bucket(v), "value %" PRIu64, v);
	cr_assert_eq(hist_bucket(UINT64_MAX), heed_hist_bucket(UINT64_MAX));
	for (i = 0; i < 200000; i++) {
		v = next(&s) >> (next(&s) % 64);
		cr_assert_eq(hist_bucket(v), heed_hist_bucket(v), "value %" PRIu64, v);
	}
}

Test(hist, buckets_are_ordered_and_contiguous)
{
	uint64_t lo, hi, plo, phi;
	unsigned int b;

	heed_hist_bounds(0, &plo, &phi);
	cr_assert_eq(plo, 0);
	for (b = 1; b <= heed_hist_bucket(UINT64_MAX); b++) {
		heed_hist_bounds(b, &lo, &hi);
		cr_assert_eq(lo, phi, "bucket %u starts at %" PRIu64 ", previous ended %" PRIu64, b,
			     lo, phi);
		phi = hi;
	}
}

Test(hist, percentiles_within_a_bucket)
{
	static struct heed_hist h;
	uint64_t v, p50, p90, p99;

	memset(&h, 0, sizeof(h));
	for (v = 1; v <= 10000; v++) {
		h.slots[heed_hist_bucket(v * 100)]++;
		h.count++;
	}
	p50 = heed_hist_pct(&h, 50);
	p90 = heed_hist_pct(&h, 90);
	p99 = heed_hist_pct(&h, 99);
	cr_assert(p50 >= 500000 && p50 < 500000 + 500000 / 8 + 100, "p50 %" PRIu64, p50);
	cr_assert(p90 >= 900000 && p90 < 900000 + 900000 / 8 + 100, "p90 %" PRIu64, p90);
	cr_assert(p99 >= 990000 && p99 < 990000 + 990000 / 8 + 100, "p99 %" PRIu64, p99);
	memset(&h, 0, sizeof(h));
	cr_assert_eq(heed_hist_pct(&h, 50), 0);
}

/* A map's bytes are not trusted: counts in the buckets past UINT64_MAX's, which no
 * value maps to, are read as the last bucket's, and printing them indexes nothing past
 * its tables. A real per-CPU map (root, as CI runs). */
Test(hist, counts_past_the_last_bucket_are_read_into_it)
{
	int ncpu = libbpf_num_possible_cpus(), fd, c;
	unsigned int last = heed_hist_bucket(UINT64_MAX), b;
	static struct heed_hist h;
	struct heed_hist *v;
	__u32 key = 0;
	FILE *out;

	cr_assert_gt(ncpu, 0);
	v = calloc((size_t)ncpu, sizeof(*v));
	cr_assert_not_null(v);
	for (c = 0; c < ncpu; c++) {
		v[c].count = 3;
		v[c].slots[last] = 1;
		v[c].slots[HEED_HIST_BUCKETS - 1] = 2;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "clamp", sizeof(key), sizeof(*v), 1, NULL);
	cr_assert_geq(fd, 0, "bpf_map_create: %s (needs root)", strerror(errno));
	cr_assert_eq(bpf_map_update_elem(fd, &key, v, BPF_ANY), 0, "%s", strerror(errno));
	cr_assert_eq(heed_hist_read(fd, key, &h), 0);
	cr_assert_eq(h.slots[last], 3 * (uint64_t)ncpu);
	for (b = last + 1; b < HEED_HIST_BUCKETS; b++)
		cr_assert_eq(h.slots[b], 0, "bucket %u", b);
	cr_assert_geq(heed_hist_pct(&h, 99), 1ULL << 63);
	out = fopen("/dev/null", "w");
	cr_assert_not_null(out);
	heed_hist_print(out, "clamped", &h);
	fclose(out);
	close(fd);
	free(v);
}

Test(hist, named_slots_are_found_or_appended_zeroed)
{
	struct heed_hists t = {0};
	size_t a, b, again;

	cr_assert_eq(heed_hists_slot(&t, "get", &a), 0);
	cr_assert_eq(heed_hists_slot(&t, "put", &b), 0);
	cr_assert_eq(heed_hists_slot(&t, "get", &again), 0);
	cr_assert(a == 0 && b == 1 && again == 0, "slots %zu %zu %zu", a, b, again);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.v[1].name, "put");
	cr_assert(t.v[1].h.count == 0 && t.v[1].h.slots[0] == 0);
	heed_hists_free(&t);
	cr_assert(t.v == NULL && t.n == 0);
}

/* --per-pid: the kernel's totals hold only events whose process found no room; the
 * fold counts those and adds every process's histogram to its slot. */
Test(hist, per_pid_fold_counts_the_unattributed_and_sums_the_processes)
{
	struct heed_hists t = {0};
	struct heed_proc_hist p[3];
	struct heed_proc_hists ph = {p, 3};
	size_t get, put;

	cr_assert_eq(heed_hists_slot(&t, "get", &get), 0);
	cr_assert_eq(heed_hists_slot(&t, "put", &put), 0);
	memset(p, 0, sizeof(p));
	t.v[get].h.count = 2; /* two gets of a process beyond the map's room */
	t.v[get].h.errors = 1;
	t.v[get].h.sum_ns = 300;
	t.v[get].h.slots[heed_hist_bucket(100)] = 1;
	t.v[get].h.slots[heed_hist_bucket(200)] = 1;
	p[0] = (struct heed_proc_hist){.pid = 10, .slot = get};
	p[0].h.count = 3;
	p[0].h.sum_ns = 3000;
	p[0].h.slots[heed_hist_bucket(1000)] = 3;
	p[1] = (struct heed_proc_hist){.pid = 10, .slot = put};
	p[1].h.count = 1;
	p[1].h.sum_ns = 50;
	p[1].h.slots[heed_hist_bucket(50)] = 1;
	p[2] = (struct heed_proc_hist){.pid = 11, .slot = get};
	p[2].h.count = 5;
	p[2].h.errors = 2;
	p[2].h.sum_ns = 500;
	p[2].h.slots[heed_hist_bucket(100)] = 5;
	cr_assert_eq(heed_proc_hists_fold(&t, &ph), 2);
	cr_assert(t.v[get].h.count == 10 && t.v[get].h.errors == 3 && t.v[get].h.sum_ns == 3800,
		  "get %llu %llu %llu", (unsigned long long)t.v[get].h.count,
		  (unsigned long long)t.v[get].h.errors, (unsigned long long)t.v[get].h.sum_ns);
	cr_assert_eq(t.v[get].h.slots[heed_hist_bucket(100)], 6);
	cr_assert_eq(t.v[get].h.slots[heed_hist_bucket(200)], 1);
	cr_assert_eq(t.v[get].h.slots[heed_hist_bucket(1000)], 3);
	cr_assert(t.v[put].h.count == 1 && t.v[put].h.slots[heed_hist_bucket(50)] == 1);
	heed_hists_free(&t);
}

static const char maps_text[] =
	"55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1234   /usr/bin/prog\n"
	"55d0c0a02000-55d0c0a08000 r-xp 00002000 fd:01 1234   /usr/bin/prog with space\n"
	"7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n"
	"7ffd1c5f3000-7ffd1c5f5000 r-xp 00000000 00:00 0      [vdso]\n";

Test(procmaps, parses_and_finds)
{
	struct heed_maps m;
	const struct heed_map *x;

	cr_assert_eq(heed_maps_parse(maps_text, sizeof(maps_text) - 1, &m), 0);
	cr_assert_eq(m.n, 4);
	cr_assert_eq(m.v[1].start, 0x55d0c0a02000ULL);
	cr_assert_eq(m.v[1].off, 0x2000);
	cr_assert(m.v[1].exec && !m.v[0].exec);
	cr_assert_str_eq(m.v[1].path, "/usr/bin/prog with space");
	cr_assert_str_eq(m.v[2].path, "");
	cr_assert_str_eq(m.v[3].path, "[vdso]");
	cr_assert(m.v[1].dev_major == 0xfd && m.v[1].dev_minor == 1 && m.v[1].ino == 1234);
	cr_assert_eq(m.v[2].ino, 0);
	cr_assert_eq(m.pid, 0);
	x = heed_maps_find(&m, 0x55d0c0a02010ULL);
	cr_assert(x == &m.v[1]);
	cr_assert_null(heed_maps_find(&m, 0x1000));
	cr_assert_null(heed_maps_find(&m, 0x7f0000021000ULL));
	heed_maps_free(&m);
}

Test(procmaps, bad_lines_are_errors)
{
	struct heed_maps m;
	static const char *bad[] = {"zz-10 r-xp 0 0:0 0\n",
				    "10-20\n",
				    "10-20 r-xp\n",
				    "10-20 r-xp 00x 0:0 0\n",
				    "10-20 r-xp 0 fd01 5 /a\n",
				    "10-20 r-xp 0 0:0 x5 /a\n"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(heed_maps_parse(bad[i], strlen(bad[i]), &m), -EINVAL, "%s", bad[i]);
	cr_assert_eq(heed_maps_read(-1, &m), -ESRCH);
	cr_assert_eq(heed_maps_read(getpid(), &m), 0);
	cr_assert_eq(m.pid, getpid());
	heed_maps_free(&m);
}

__attribute__((noinline)) int trace_marker_fn(int x)
{
	return x * 3 + 1;
}

Test(elfinfo, function_offsets_point_at_the_code)
{
	struct heed_elf_func *fns;
	unsigned char disk[16];
	size_t n;
	int fd;

	cr_assert_eq(heed_elf_funcs("/proc/self/exe", "trace_marker_*", &fns, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(fns[0].name, "trace_marker_fn");
	fd = open("/proc/self/exe", O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, disk, sizeof(disk), (off_t)fns[0].off), (ssize_t)sizeof(disk));
	close(fd);
	cr_assert_eq(memcmp(disk, (const void *)trace_marker_fn, sizeof(disk)), 0,
		     "the file offset of trace_marker_fn does not hold its code");
	heed_elf_funcs_free(fns, n);
	cr_assert_eq(heed_elf_funcs("/proc/self/exe", "no_such_fn_*", &fns, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(heed_elf_funcs("/nonexistent", "*", &fns, &n), -ENOENT);
	cr_assert_eq(heed_elf_funcs("/proc/self/maps", "*", &fns, &n), -EINVAL);
}

/* strlen is an IFUNC in glibc: the IRELATIVE slot found for its resolver holds, in
 * this very process, the implementation dlsym resolves strlen to. */
Test(elfinfo, ifunc_slot_holds_the_implementation)
{
	struct heed_elf_func *fns;
	const struct heed_map *m = NULL;
	struct heed_maps maps;
	uint64_t slot, delta;
	void *impl;
	size_t n, i;

	cr_assert_eq(heed_maps_read(getpid(), &maps), 0);
	for (i = 0; i < maps.n && !m; i++)
		if (strstr(maps.v[i].path, "/libc.so.6"))
			m = &maps.v[i];
	cr_assert_not_null(m, "libc.so.6 is not mapped");
	cr_assert_eq(heed_elf_funcs(m->path, "strlen", &fns, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert(fns[0].ifunc, "strlen of glibc should be an IFUNC");
	cr_assert_eq(heed_elf_ifunc_slot(m->path, fns[0].addr, &slot, &delta), 0);
	impl = dlsym(RTLD_DEFAULT, "strlen");
	cr_assert_not_null(impl);
	cr_assert_eq(*(void *const *)(uintptr_t)(m->start - m->off - delta + slot), impl,
		     "the IRELATIVE slot of strlen does not hold dlsym's strlen");
	cr_assert_eq(heed_elf_ifunc_slot(m->path, fns[0].addr + 1, &slot, &delta), -ENOENT);
	cr_assert_eq(heed_elf_ifunc_slot("/proc/self/maps", 0, &slot, &delta), -EINVAL);
	heed_elf_funcs_free(fns, n);
	heed_maps_free(&maps);
}

Test(elfinfo, usdt_notes)
{
	const char *b = getenv("HEED_BUILD") ? getenv("HEED_BUILD") : "build";
	struct heed_elf_usdt *v;
	char path[4096];
	size_t n, i;
	int start = 0, done = 0, tick = 0;

	snprintf(path, sizeof(path), "%s/tests/progs/hot", b);
	cr_assert_eq(heed_elf_usdt(path, &v, &n), 0, "%s unreadable (make check builds it)", path);
	for (i = 0; i < n; i++) {
		cr_assert_str_eq(v[i].provider, "tprog");
		start += !strcmp(v[i].name, "work__start");
		tick += !strcmp(v[i].name, "tick");
		if (!strcmp(v[i].name, "work__done")) {
			done = 1;
			cr_assert_not_null(strstr(v[i].args, "-4@"), "args %s", v[i].args);
		}
	}
	cr_assert(start && done && tick, "tprog probes missing from %s", path);
	heed_elf_usdt_free(v, n);
	cr_assert_eq(heed_elf_usdt("/proc/self/exe", &v, &n), 0);
	cr_assert_eq(n, 0);
}

Test(symbolize, own_functions_and_unknown_addresses)
{
	const char *const *fr;
	struct heed_maps m;
	heed_sym *s;
	const char *k;
	size_t n;

	cr_assert_eq(heed_maps_read(getpid(), &m), 0);
	cr_assert_eq(heed_sym_new(NULL, &m, &s), 0);
	cr_assert_eq(heed_sym_user(s, (uint64_t)(uintptr_t)trace_marker_fn + 1, 0, &fr, &n), 0);
	cr_assert_geq(n, 1);
	cr_assert_str_eq(fr[0], "trace_marker_fn");
	/* As a return address it is looked up one byte earlier: still inside. */
	cr_assert_eq(heed_sym_user(s, (uint64_t)(uintptr_t)trace_marker_fn + 2, 1, &fr, &n), 0);
	cr_assert_str_eq(fr[0], "trace_marker_fn");
	cr_assert_eq(heed_sym_user(s, 0x10, 0, &fr, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(fr[0], "[unknown+0x10]");
	k = heed_sym_kernel(s, 0xffffffff81000000ULL);
	cr_assert_not_null(k);
	cr_assert(strlen(k) > 4 && !strcmp(k + strlen(k) - 4, "_[k]"), "kernel frame %s", k);
	heed_sym_free(s);
	heed_maps_free(&m);
}

/* Named as a C++ compiler and as rustc (legacy mangling, with its hash) would. */
__attribute__((noinline)) int cxx_named(int x) __asm__("_ZN8heedtest9cxx_namedEi");
__attribute__((noinline)) int cxx_named(int x)
{
	return x * 3;
}
__attribute__((noinline)) int
rust_named(int x) __asm__("_ZN4heed4test10rust_named17h0123456789abcdefE");
__attribute__((noinline)) int rust_named(int x)
{
	return x * 5;
}

Test(symbolize, cxx_and_rust_names_demangled)
{
	const char *const *fr;
	struct heed_maps m;
	heed_sym *s;
	size_t n;

	cr_assert_eq(cxx_named(1) + rust_named(1), 8);
	cr_assert_eq(heed_maps_read(getpid(), &m), 0);
	cr_assert_eq(heed_sym_new(NULL, &m, &s), 0);
	cr_assert_eq(heed_sym_user(s, (uint64_t)(uintptr_t)cxx_named, 0, &fr, &n), 0);
	cr_assert_str_eq(fr[0], "heedtest::cxx_named(int)");
	cr_assert_eq(heed_sym_user(s, (uint64_t)(uintptr_t)rust_named, 0, &fr, &n), 0);
	cr_assert_str_eq(fr[0], "heed::test::rust_named");
	heed_sym_free(s);
	heed_maps_free(&m);
}

Test(symbolize, perf_map_names_jit_code)
{
	char path[] = "/tmp/heed-perfmap-XXXXXX";
	const char *const *fr;
	struct heed_maps m;
	size_t n, bad;
	heed_sym *s;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	/* Addresses below every mapping, as JIT code outside the snapshot would be. */
	fputs("2000 100 LazyCompile:*hot /x.js:1\n"
	      "1000 10 JS:*cold\n"
	      "zz 10 junk\n"
	      "3000 0 empty\n"
	      "4000 10\n",
	      f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(heed_maps_read(getpid(), &m), 0);
	cr_assert_eq(heed_sym_new(NULL, &m, &s), 0);
	cr_assert_eq(heed_sym_perfmap(s, "/nonexistent/perf-1.map", getuid(), &bad), -ENOENT);
	cr_assert_eq(heed_sym_perfmap(s, "/tmp", getuid(), &bad), -EPERM);
	if (getuid() != 0) /* root's files are always accepted */
		cr_assert_eq(heed_sym_perfmap(s, path, getuid() + 1, &bad), -EPERM);
	cr_assert_eq(heed_sym_perfmap(s, path, getuid(), &bad), 0);
	cr_assert_eq(bad, 3, "3 malformed lines, got %zu", bad);
	cr_assert_eq(heed_sym_user(s, 0x2080, 0, &fr, &n), 0);
	cr_assert_str_eq(fr[0], "LazyCompile:*hot /x.js:1");
	cr_assert_eq(heed_sym_user(s, 0x100f, 0, &fr, &n), 0);
	cr_assert_str_eq(fr[0], "JS:*cold");
	cr_assert_eq(heed_sym_user(s, 0x1010, 0, &fr, &n), 0);
	cr_assert_str_eq(fr[0], "[unknown+0x1010]");
	heed_sym_free(s);
	heed_maps_free(&m);
	unlink(path);
}

/* A copy of this thread's registers and stack as the BPF side takes them, from
 * three frames down, unwound with libdw: the frames come back in order. */
struct unw_copy {
	uint64_t regs[17];
	unsigned char stack[16384];
	size_t len;
};

/* Reads the frames above ours as the kernel does: ASan would see the redzones of
 * other frames, and memcpy is intercepted whatever the attribute. */
__attribute__((no_sanitize("address"))) static void copy_stack(unsigned char *dst, uint64_t sp,
							       size_t len)
{
	const volatile unsigned char *src = (const volatile unsigned char *)(uintptr_t)sp;
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = src[i];
}

__attribute__((noipa)) static void unw_take(struct unw_copy *c)
{
	const struct heed_map *mp;
	struct heed_maps m;
	uint64_t sp, bp, ip;

	__asm__ volatile("mov %%rsp, %0\n\tmov %%rbp, %1\n\tlea 0(%%rip), %2"
			 : "=r"(sp), "=r"(bp), "=r"(ip));
	memset(c->regs, 0, sizeof(c->regs));
	c->regs[6] = bp;
	c->regs[7] = sp;
	c->regs[16] = ip;
	cr_assert_eq(heed_maps_read(getpid(), &m), 0);
	mp = heed_maps_find(&m, sp);
	cr_assert_not_null(mp);
	c->len = mp->end - sp < sizeof(c->stack) ? mp->end - sp : sizeof(c->stack);
	copy_stack(c->stack, sp, c->len);
	heed_maps_free(&m);
}

__attribute__((noipa)) static void unw_l2(struct unw_copy *c)
{
	unw_take(c);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noipa)) static void unw_l1(struct unw_copy *c)
{
	unw_l2(c);
	__asm__ volatile("" ::: "memory");
}

Test(unwind, a_copied_stack_unwinds_in_order)
{
	static struct unw_copy c;
	const char *names[4] = {"unw_take", "unw_l2", "unw_l1", NULL};
	uint64_t pcs[64];
	struct heed_maps m;
	heed_unwinder *u;
	heed_sym *s;
	size_t n, i, want = 0;
	int complete;

	unw_l1(&c);
	cr_assert_eq(heed_maps_read(getpid(), &m), 0);
	cr_assert_eq(heed_unwinder_new(NULL, getpid(), &m, &u), 0);
	cr_assert_eq(heed_sym_new(NULL, &m, &s), 0);
	cr_assert_eq(heed_unwinder_run(u, c.regs, c.stack, c.len, pcs, 64, &n, &complete), 0);
	for (i = 0; i < n && names[want]; i++) {
		const char *const *fr;
		size_t nf;

		cr_assert_eq(heed_sym_user(s, pcs[i], i > 0, &fr, &nf), 0);
		if (!strcmp(fr[0], names[want]))
			want++;
	}
	cr_assert_null(names[want], "%s not found in order among %zu frames", names[want], n);
	/* Without the stack only the sampled frame is known: not complete. */
	cr_assert_eq(heed_unwinder_run(u, c.regs, c.stack, 0, pcs, 64, &n, &complete), 0);
	cr_assert_eq(complete, 0);
	cr_assert_leq(n, 1);
	/* Limited to 2 frames: not complete either. */
	cr_assert_eq(heed_unwinder_run(u, c.regs, c.stack, c.len, pcs, 2, &n, &complete), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(complete, 0);
	heed_sym_free(s);
	heed_unwinder_free(u);
	heed_maps_free(&m);
}

static int count_fds(void)
{
	char path[64];
	int fd, n = 0;

	for (fd = 0; fd < 4096; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

/* 20 unwinders on one cache, as for 20 processes of one binary: the same frames,
 * each file opened once for all of them, not once per unwinder. */
Test(unwind, unwinders_share_one_handle_per_file)
{
	static struct unw_copy c;
	uint64_t pcs[64], first[64];
	struct heed_symcache_stats st;
	heed_unwinder *u[20];
	heed_symcache *cache;
	struct heed_maps m;
	size_t n, n0 = 0, i;
	int complete, fds;

	unw_l1(&c);
	cr_assert_eq(heed_maps_read(getpid(), &m), 0);
	cr_assert_eq(heed_symcache_new(&cache), 0);
	fds = count_fds();
	for (i = 0; i < 20; i++) {
		cr_assert_eq(heed_unwinder_new(cache, getpid(), &m, &u[i]), 0);
		cr_assert_eq(
			heed_unwinder_run(u[i], c.regs, c.stack, c.len, pcs, 64, &n, &complete), 0);
		if (i == 0) {
			cr_assert_geq(n, 3);
			memcpy(first, pcs, n * sizeof(*pcs));
			n0 = n;
		}
		cr_assert_eq(n, n0);
		cr_assert_arr_eq(pcs, first, n * sizeof(*pcs));
	}
	heed_symcache_stats(cache, &st);
	cr_assert_geq(st.files_loaded, 1, "the unwinders opened their files themselves");
	cr_expect_eq(st.files_shared, 19 * st.files_loaded);
	/* Two descriptors per file (the symbols' and the unwinders'), not 20. */
	cr_expect_leq(count_fds() - fds, 2 * (int)st.files_loaded, "%d descriptors for %d files",
		      count_fds() - fds, (int)st.files_loaded);
	for (i = 0; i < 20; i++)
		heed_unwinder_free(u[i]);
	heed_symcache_stats(cache, &st);
	cr_expect_eq(st.files_live, 0);
	heed_symcache_free(cache);
	heed_maps_free(&m);
}

Test(stacks, top_counts_self_and_total_once_per_stack)
{
	struct heed_stack v[] = {
		{"comm;a;b", 3},
		{"comm;a;c", 2},
		{"comm;a;b;b", 1},
	};
	struct heed_stacks st = {v, 3, 3, 6};
	struct heed_folded p = {0};
	const struct heed_folded_func *top;
	size_t n;

	cr_assert_eq(heed_stacks_top(&st, &p), 0);
	top = p.funcs;
	n = p.nfuncs;
	cr_assert_eq(n, 3);
	cr_assert_str_eq(top[0].name, "b");
	cr_assert_eq(top[0].self, 4);
	cr_assert_eq(top[0].total, 4);
	cr_assert_str_eq(top[1].name, "c");
	cr_assert_eq(top[1].self, 2);
	cr_assert_str_eq(top[2].name, "a");
	cr_assert_eq(top[2].self, 0);
	cr_assert_eq(top[2].total, 6);
	heed_folded_free(&p);
}

/* -p A,B,...: positive ids, sorted and deduplicated; anything else is refused
 * with the option and the argument named. */
Test(select, parses_id_lists)
{
	char err[256];
	pid_t *ids = NULL;
	size_t n = 0;

	cr_assert_eq(heed_select_parse_ids("-p", "42", &ids, &n, err, sizeof(err)), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(ids[0], 42);
	free(ids);
	cr_assert_eq(heed_select_parse_ids("-p", "9,3,9,1", &ids, &n, err, sizeof(err)), 0);
	cr_assert_eq(n, 3);
	cr_assert(ids[0] == 1 && ids[1] == 3 && ids[2] == 9);
	free(ids);
	static const char *const bad[] = {"",	"1,",  ",1",	     "1,,2", "0",
					  "-1", "1,x", "2147483648", " 1",   "1 "};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		cr_assert_eq(heed_select_parse_ids("-p", bad[i], &ids, &n, err, sizeof(err)),
			     -EINVAL, "'%s' accepted", bad[i]);
		cr_assert_null(ids);
		cr_assert_eq(n, 0);
		cr_assert(strstr(err, "-p ") && strstr(err, "expected ID[,ID...]"), "%s: %s",
			  bad[i], err);
	}
}

Test(select, caps_id_lists)
{
	size_t len = (HEED_SELECT_IDS_MAX + 1) * 8;
	char *arg = malloc(len), err[256];
	pid_t *ids = NULL;
	size_t n = 0, off = 0;

	cr_assert_not_null(arg);
	for (int i = 1; i <= HEED_SELECT_IDS_MAX + 1; i++)
		off += (size_t)snprintf(arg + off, len - off, "%s%d", i > 1 ? "," : "", i);
	cr_assert_eq(heed_select_parse_ids("-p", arg, &ids, &n, err, sizeof(err)), -EINVAL);
	cr_assert_null(ids);
	cr_assert(strstr(err, "at most"), "%s", err);
	free(arg);
}
