// SPDX-License-Identifier: GPL-2.0
/* func.bpf.c - per-function latency from a uprobe and a uretprobe on each function,
 * or, for libheed's own functions, from the durations libheed hands over in
 * heed:ops__batch (see func.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "func.h"
#include "opbatch.bpf.h"
#include "lathist.bpf.h"
#include "select.bpf.h"
#include "pidhist.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct frames {
	__u32 depth;
	__u32 pad;
	__u64 ts[HEED_FUNC_DEPTH];
};

/* max_entries is set by user space: one slot per traced function. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct heed_hist);
} hists SEC(".maps");

/* The calls of the batches whose run held its CPU's buffer, slot for slot as hists
 * (max_entries set alike): added without atomic instructions, as usdt.bpf.c's
 * held_hists, which user space sums with hists. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct heed_hist);
} held_hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct frames);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HEED_FUNC_LOST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HEED_FUNC_LIB_FILES *HEED_FN__COUNT);
	__type(key, __u32);
	__type(value, __u32);
} libfns SEC(".maps");

/* Hides d's range from clang so that it keeps the mask the verifier needs to see. */
static __always_inline __u32 slot_index(__u32 d)
{
	asm volatile("" : "+r"(d));
	return d & (HEED_FUNC_DEPTH - 1);
}

static __always_inline void lose_n(__u32 what, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&lost, &what);

	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline void lose(__u32 what)
{
	lose_n(what, 1);
}

SEC("uprobe")
int heed_func_entry(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct frames *f;
	__u32 d;

	/* Attached to every process mapping the file when several are traced. */
	if (!heed_selected())
		return 0;
	f = bpf_map_lookup_elem(&threads, &tid);
	if (!f) {
		/* Zeroed here, not at the top: 33 stores that a thread's every call but its
		 * first would pay. */
		struct frames zero = {};

		bpf_map_update_elem(&threads, &tid, &zero, BPF_NOEXIST);
		f = bpf_map_lookup_elem(&threads, &tid);
		if (!f) {
			lose(HEED_FUNC_LOST_THREADS_FULL);
			return 0;
		}
	}
	/* Only this thread touches its entry: no atomics needed. */
	d = f->depth;
	if (d < HEED_FUNC_DEPTH)
		f->ts[slot_index(d)] = bpf_ktime_get_ns();
	f->depth = d + 1;
	return 0;
}

static __always_inline int func_exit(struct pt_regs *ctx, const bool per_pid)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), slot = bpf_get_attach_cookie(ctx), d;
	struct frames *f;
	struct heed_hist *h;

	if (!heed_selected())
		return 0;
	f = bpf_map_lookup_elem(&threads, &tid);
	if (!f || f->depth == 0) {
		lose(HEED_FUNC_LOST_NO_ENTRY);
		return 0;
	}
	d = f->depth - 1;
	f->depth = d;
	if (d >= HEED_FUNC_DEPTH) {
		lose(HEED_FUNC_LOST_DEEP);
		return 0;
	}
	h = per_pid ? pid_hist_or(slot, &hists) : bpf_map_lookup_elem(&hists, &slot);
	if (h)
		hist_add(h, now - f->ts[slot_index(d)], 0);
	return 0;
}

/* Two programs, user space loading one: --per-pid costs nothing when not asked. */
SEC("uretprobe")
int heed_func_exit(struct pt_regs *ctx)
{
	return func_exit(ctx, false);
}

SEC("uretprobe")
int heed_fexit_pid(struct pt_regs *ctx)
{
	return func_exit(ctx, true);
}

/* bpf_loop callback: the records of chunk c that name a traced function. Counts and
 * sums are added up over a run of one function (all heed_get on a read workload),
 * which looks its histogram up once, and go to the map once per run and chunk. */
static long add_chunk(__u32 c, struct opbatch *b)
{
	struct heed_oprec buf[OPBATCH_CHUNK];
	__u32 i, fn, key, len, slot, bk, hfn = HEED_FN__COUNT, *s;
	__u64 count = 0, sum = 0;
	struct heed_hist *h = NULL;
	bool alone = b->held;

	if (opbatch_chunk(b, c, buf, &len)) {
		lose_n(HEED_FUNC_LOST_BATCH, b->n - c * OPBATCH_CHUNK);
		return 1;
	}
	for (i = 0; i < OPBATCH_CHUNK; i++) {
		if (i >= len)
			break;
		fn = HEED_OPREC_FN(buf[i].op);
		if (fn == HEED_FN_NONE || fn >= HEED_FN__COUNT)
			continue;
		if (fn != hfn) {
			hist_add_run(h, count, 0, sum, alone);
			count = sum = 0;
			hfn = fn;
			h = NULL;
			key = (__u32)b->cookie * HEED_FN__COUNT + fn;
			s = bpf_map_lookup_elem(&libfns, &key);
			if (s && *s) {
				slot = *s - 1;
				if (alone)
					h = bpf_map_lookup_elem(&held_hists, &slot);
				else
					h = bpf_map_lookup_elem(&hists, &slot);
			}
		}
		if (!h)
			continue;
		count++;
		sum += buf[i].ns;
		bk = hist_bucket(buf[i].ns);
		hist_bump(h, bk, alone);
	}
	hist_add_run(h, count, 0, sum, alone);
	return 0;
}

/* add_chunk for --per-pid: each call goes to its process's histogram (a batch is one
 * thread's), or to the total's when there is no room (pid_hist_or). A function of
 * its own, as usdt.bpf.c's add_chunk_pid, so that add_chunk stays the code it was. */
static long add_chunk_pid(__u32 c, struct opbatch *b)
{
	struct heed_oprec buf[OPBATCH_CHUNK];
	__u32 i, fn, key, len, hfn = HEED_FN__COUNT, *s;
	struct heed_hist *h = NULL;

	if (opbatch_chunk(b, c, buf, &len)) {
		lose_n(HEED_FUNC_LOST_BATCH, b->n - c * OPBATCH_CHUNK);
		return 1;
	}
	for (i = 0; i < OPBATCH_CHUNK; i++) {
		if (i >= len)
			break;
		fn = HEED_OPREC_FN(buf[i].op);
		if (fn == HEED_FN_NONE || fn >= HEED_FN__COUNT)
			continue;
		if (fn != hfn) {
			hfn = fn;
			h = NULL;
			key = (__u32)b->cookie * HEED_FN__COUNT + fn;
			s = bpf_map_lookup_elem(&libfns, &key);
			if (s && *s)
				h = pid_hist_or(*s - 1, &hists);
		}
		if (h)
			hist_add(h, buf[i].ns, 0);
	}
	return 0;
}

static __always_inline int func_batch(struct pt_regs *ctx, void *recs, unsigned int n,
				      const bool per_pid)
{
	struct opbatch b = {.recs = recs, .n = n, .cookie = bpf_usdt_cookie(ctx)};

	if (!heed_selected())
		return 0;
	if (n > HEED_OPREC_BATCH || b.cookie >= HEED_FUNC_LIB_FILES) {
		lose_n(HEED_FUNC_LOST_BATCH, n);
		return 0;
	}
	opbatch_hold(&b);
	bpf_loop(opbatch_chunks(n), per_pid ? add_chunk_pid : add_chunk, &b, 0);
	opbatch_release(&b);
	return 0;
}

SEC("usdt")
int BPF_USDT(heed_func_batch, void *recs, unsigned int n)
{
	return func_batch(ctx, recs, n, false);
}

SEC("usdt")
int BPF_USDT(heed_fbatch_pid, void *recs, unsigned int n)
{
	return func_batch(ctx, recs, n, true);
}
