// SPDX-License-Identifier: GPL-2.0
/* usdt.bpf.c - latency histograms from USDT probes: heed's batch probe (--ops), and
 * counts or start/done timing for any probe (--ops fallback, --usdt). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "opbatch.bpf.h"
#include "usdt.h"
#include "lathist.bpf.h"
#include "select.bpf.h"
#include "pidhist.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* HEED_NOTFOUND and HEED_KEYEXIST, set by user space from core/heed.h. */
const volatile int heed_notfound;
const volatile int heed_keyexist;

/* max_entries is set by user space: HEED_USDT_OPS plus one per --usdt probe. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HEED_USDT_OPS);
	__type(key, __u32);
	__type(value, struct heed_hist);
} hists SEC(".maps");

/* The ops of the batches whose run held its CPU's buffer (opbatch_hold): such a run is
 * alone on this CPU's copy, so it adds without atomic instructions. Those and hist_msb's
 * chain of dependent steps were most of the fold: by bpf_stats, a batch of 4096 gets took
 * 49 us with both, 44 with plain adds and 41 with lathist.bpf.h's table alone, 16-22 with
 * neither. Every other run adds atomically to hists; user space sums the two. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HEED_USDT_OPS);
	__type(key, __u32);
	__type(value, struct heed_hist);
} held_hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HEED_USDT_LOST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

struct start_key {
	__u32 tid;
	__u32 slot;
};

/* The open starts of one thread for one slot, innermost on top. */
struct opened {
	__u32 depth;
	__u32 pad;
	__u64 ts[HEED_USDT_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct start_key);
	__type(value, struct opened);
} starts SEC(".maps");

static __always_inline void lose(__u32 what, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&lost, &what);

	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline int failed(long rc)
{
	return rc != 0 && rc != heed_notfound && rc != heed_keyexist;
}

/* Hides d's range from clang so that it keeps the mask the verifier needs to see. */
static __always_inline __u32 depth_index(__u32 d)
{
	asm volatile("" : "+r"(d));
	return d & (HEED_USDT_DEPTH - 1);
}

/* bpf_loop callback: chunk c of the batch; 1 stops the loop. Counts, errors and sums
 * are added up in registers over a run of records of one op (all gets on a read
 * workload) and go to the map once per run and chunk: three atomic adds fewer per
 * record, the bulk of this program's time on a readrandom run (bpf_stats: 5.8 us per
 * batch of 256 before, see profiler/README.md). A run also looks its slot up once. */
static long add_chunk(__u32 c, struct opbatch *b)
{
	struct heed_oprec buf[OPBATCH_CHUNK];
	__u64 count = 0, errors = 0, sum = 0;
	struct heed_hist *h = NULL;
	__u32 i, op, len, bk, hop = HEED_USDT_OPS;
	bool alone = b->held;

	if (opbatch_chunk(b, c, buf, &len)) {
		lose(HEED_USDT_LOST_BATCH_FAULT, b->n - c * OPBATCH_CHUNK);
		return 1;
	}
	for (i = 0; i < OPBATCH_CHUNK; i++) {
		if (i >= len)
			break;
		op = HEED_OPREC_OP(buf[i].op);
		if (op >= HEED_USDT_OPS) {
			lose(HEED_USDT_LOST_BAD_OP, 1);
			continue;
		}
		if (op != hop) {
			hist_add_run(h, count, errors, sum, alone);
			count = errors = sum = 0;
			hop = op;
			if (alone)
				h = bpf_map_lookup_elem(&held_hists, &hop);
			else
				h = bpf_map_lookup_elem(&hists, &hop);
		}
		count++;
		errors += failed(buf[i].rc);
		sum += buf[i].ns;
		bk = hist_bucket(buf[i].ns);
		if (!h)
			continue;
		hist_bump(h, bk, alone);
	}
	hist_add_run(h, count, errors, sum, alone);
	return 0;
}

/* add_chunk for --per-pid: each run goes to its process's histogram (a batch is one
 * thread's, so one process's), or to the total's when there is no room (pid_hist_or).
 * A function of its own rather than add_chunk's body inlined with a constant flag:
 * that changes clang's code for add_chunk (7 instructions more, registers spilled
 * differently), and --per-pid off must run exactly the code it ran before. */
static long add_chunk_pid(__u32 c, struct opbatch *b)
{
	struct heed_oprec buf[OPBATCH_CHUNK];
	__u64 count = 0, errors = 0, sum = 0;
	struct heed_hist *h = NULL;
	__u32 i, op, len, bk, hop = HEED_USDT_OPS;

	if (opbatch_chunk(b, c, buf, &len)) {
		lose(HEED_USDT_LOST_BATCH_FAULT, b->n - c * OPBATCH_CHUNK);
		return 1;
	}
	for (i = 0; i < OPBATCH_CHUNK; i++) {
		if (i >= len)
			break;
		op = HEED_OPREC_OP(buf[i].op);
		if (op >= HEED_USDT_OPS) {
			lose(HEED_USDT_LOST_BAD_OP, 1);
			continue;
		}
		if (op != hop) {
			hist_add_run(h, count, errors, sum, false);
			count = errors = sum = 0;
			hop = op;
			h = pid_hist_or(hop, &hists);
		}
		count++;
		errors += failed(buf[i].rc);
		sum += buf[i].ns;
		bk = hist_bucket(buf[i].ns);
		if (h)
			__sync_fetch_and_add(&h->slots[bk], 1);
	}
	hist_add_run(h, count, errors, sum, false);
	return 0;
}

static __always_inline int ops_batch(void *recs, unsigned int n, const bool per_pid)
{
	struct opbatch b = {.recs = recs, .n = n};

	/* Attached to every process mapping the file when several are traced. */
	if (!heed_selected())
		return 0;
	if (n > HEED_OPREC_BATCH) {
		lose(HEED_USDT_LOST_BATCH_N, n);
		return 0;
	}
	opbatch_hold(&b);
	bpf_loop(opbatch_chunks(n), per_pid ? add_chunk_pid : add_chunk, &b, 0);
	opbatch_release(&b);
	return 0;
}

/* Two programs, user space loading one: --per-pid costs nothing when not asked. */
SEC("usdt")
int BPF_USDT(heed_ops_batch, void *recs, unsigned int n)
{
	return ops_batch(recs, n, false);
}

SEC("usdt")
int BPF_USDT(heed_ops_pid, void *recs, unsigned int n)
{
	return ops_batch(recs, n, true);
}

static __always_inline int usdt_hit(struct pt_regs *ctx, const bool per_pid)
{
	__u64 cookie = bpf_usdt_cookie(ctx), now;
	__u32 slot = HEED_USDT_COOKIE_SLOT(cookie), kind = HEED_USDT_COOKIE_KIND(cookie),
	      rcarg = HEED_USDT_COOKIE_RCARG(cookie), d;
	struct start_key key;
	struct heed_hist *h;
	struct opened *o;
	long rc = 0;

	if (!heed_selected())
		return 0;
	/* A counted probe needs neither the clock nor the thread id: two helper
	 * calls fewer on each of its hits. */
	if (kind == HEED_USDT_KIND_COUNT) {
		h = per_pid ? pid_hist_or(slot, &hists) : bpf_map_lookup_elem(&hists, &slot);
		if (!h)
			return 0;
		if (rcarg && !bpf_usdt_arg(ctx, rcarg - 1, &rc) && rc)
			__sync_fetch_and_add(&h->errors, 1);
		__sync_fetch_and_add(&h->count, 1);
		return 0;
	}
	now = bpf_ktime_get_ns();
	key.tid = (__u32)bpf_get_current_pid_tgid();
	key.slot = slot;
	o = bpf_map_lookup_elem(&starts, &key);
	if (kind == HEED_USDT_KIND_START) {
		if (!o) {
			/* Zeroed here, not at the top: 17 stores that every start of a
			 * thread but its first would pay. */
			struct opened zero = {};

			bpf_map_update_elem(&starts, &key, &zero, BPF_NOEXIST);
			o = bpf_map_lookup_elem(&starts, &key);
			if (!o) {
				lose(HEED_USDT_LOST_STARTS_FULL, 1);
				return 0;
			}
		}
		/* Only this thread touches its entry: no atomics needed. */
		d = o->depth;
		if (d < HEED_USDT_DEPTH)
			o->ts[depth_index(d)] = now;
		o->depth = d + 1;
		return 0;
	}
	h = per_pid ? pid_hist_or(slot, &hists) : bpf_map_lookup_elem(&hists, &slot);
	if (!h)
		return 0;
	if (!o || o->depth == 0) {
		lose(HEED_USDT_LOST_NO_START, 1);
		return 0;
	}
	d = o->depth - 1;
	o->depth = d;
	if (d >= HEED_USDT_DEPTH) {
		lose(HEED_USDT_LOST_DEEP, 1);
		return 0;
	}
	now -= o->ts[depth_index(d)];
	/* A thread with nothing open gives its entry back: threads come and go. */
	if (d == 0)
		bpf_map_delete_elem(&starts, &key);
	if (rcarg)
		bpf_usdt_arg(ctx, rcarg - 1, &rc);
	hist_add(h, now, !rcarg ? 0 : HEED_USDT_COOKIE_HEEDRC(cookie) ? failed((int)rc) : rc != 0);
	return 0;
}

SEC("usdt")
int heed_usdt_hit(struct pt_regs *ctx)
{
	return usdt_hit(ctx, false);
}

SEC("usdt")
int heed_usdt_pid(struct pt_regs *ctx)
{
	return usdt_hit(ctx, true);
}
