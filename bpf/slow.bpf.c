// SPDX-License-Identifier: GPL-2.0
/* slow.bpf.c - --slow: times the operations of each --slow option per thread and
 * judges them against their threshold (see slow.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "sampler.h"
#include "slow.h"
#include "opbatch.bpf.h"
#include "lathist.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* 1 + the slot of the --slow option timing heed op kind k from the batch, 0: none
 * (set by user space). */
const volatile __u32 batch_slot[8];
/* Bit k set when batch_slot[k]. */
const volatile __u32 batch_kinds;

/* Shared with the samplers (sampler.bpf.h): user space creates it and both reuse it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HEED_SLOW_THREADS);
	__type(key, __u32);
	__type(value, struct heed_slow_thread);
} slow_threads SEC(".maps");

/* The ring buffers of --profile and --offcpu (reused; a small one of our own for a
 * sampler not running). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb_on SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb_off SEC(".maps");

/* Threshold of each slot, ns: set by user space (again every 100 ms for pNN). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HEED_SLOW_MAX);
	__type(key, __u32);
	__type(value, __u64);
} thresholds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HEED_SLOW_MAX);
	__type(key, __u32);
	__type(value, struct heed_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HEED_SLOW_MAX *HEED_SLOW_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_add(__u32 slot, __u32 what, __u64 n)
{
	__u32 k = slot * HEED_SLOW_STAT_MAX + what;
	__u64 *v = bpf_map_lookup_elem(&stats, &k);

	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline int slow_start(__u32 slot)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct heed_slow_thread *t = bpf_map_lookup_elem(&slow_threads, &tid);

	if (!t) {
		struct heed_slow_thread zero = {};

		bpf_map_update_elem(&slow_threads, &tid, &zero, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&slow_threads, &tid);
		if (!t) {
			stat_add(slot, HEED_SLOW_FULL, 1);
			return 0;
		}
	}
	/* Only this thread touches its entry, but for sampler.bpf.h's sampled flag. */
	if (t->depth++ == 0) {
		t->seq++;
		t->sampled = 0;
		t->start = bpf_ktime_get_ns();
	}
	return 0;
}

static __always_inline int slow_done(__u32 slot)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct heed_slow_thread *t = bpf_map_lookup_elem(&slow_threads, &tid);
	struct heed_slow_end e = {.kind = HEED_SAMPLE_OPEND, .tid = tid, .slot = slot};
	struct heed_hist *h;
	__u64 *thr;

	if (!t || t->depth == 0 || --t->depth)
		return 0;
	e.count = bpf_ktime_get_ns() - t->start;
	e.seq = t->seq;
	h = bpf_map_lookup_elem(&hists, &slot);
	if (h)
		hist_add(h, e.count, 0);
	thr = bpf_map_lookup_elem(&thresholds, &slot);
	e.slow = thr && *thr && e.count > *thr;
	stat_add(slot, HEED_SLOW_OPS, 1);
	if (e.slow) {
		stat_add(slot, HEED_SLOW_SLOW, 1);
		stat_add(slot, HEED_SLOW_SLOW_NS, e.count);
	}
	if (!t->sampled)
		return 0;
	/* Both samplers hold stacks of this op: each buffer gets the end, whether
	 * or not the other one had room (0 is success). */
	if (bpf_ringbuf_output(&rb_on, &e, sizeof(e), 0))
		stat_add(slot, HEED_SLOW_RB_FULL, 1);
	if (bpf_ringbuf_output(&rb_off, &e, sizeof(e), 0))
		stat_add(slot, HEED_SLOW_RB_FULL, 1);
	return 0;
}

SEC("uprobe")
int heed_slow_start(struct pt_regs *ctx)
{
	return slow_start((__u32)bpf_get_attach_cookie(ctx) & (HEED_SLOW_MAX - 1));
}

SEC("uprobe")
int heed_slow_done(struct pt_regs *ctx)
{
	return slow_done((__u32)bpf_get_attach_cookie(ctx) & (HEED_SLOW_MAX - 1));
}

SEC("usdt")
int heed_slow_ustart(struct pt_regs *ctx)
{
	return slow_start((__u32)bpf_usdt_cookie(ctx) & (HEED_SLOW_MAX - 1));
}

SEC("usdt")
int heed_slow_udone(struct pt_regs *ctx)
{
	return slow_done((__u32)bpf_usdt_cookie(ctx) & (HEED_SLOW_MAX - 1));
}

/* A batch of heed:ops__batch, for judge_chunk. */
struct slowbatch {
	struct opbatch b;
	__u32 tid;
};

/* Times and judges the records of chunk c of a --slow kind; sends the end of the
 * thread's tagged op when its record is among them. 1 stops the loop. */
static long judge_chunk(__u32 c, struct slowbatch *sb)
{
	struct heed_oprec buf[OPBATCH_CHUNK];
	struct heed_slow_thread *t;
	struct heed_hist *h;
	__u32 i, len, op, slot;
	__u64 *thr, ns;

	if (opbatch_chunk(&sb->b, c, buf, &len))
		return 1;
	t = bpf_map_lookup_elem(&slow_threads, &sb->tid);
	for (i = 0; i < OPBATCH_CHUNK; i++) {
		struct heed_slow_end e = {.kind = HEED_SAMPLE_OPEND, .tid = sb->tid};

		if (i >= len)
			break;
		op = HEED_OPREC_OP(buf[i].op);
		if (op >= HEED_OP__COUNT || !batch_slot[op & 7])
			continue;
		slot = (batch_slot[op & 7] - 1) & (HEED_SLOW_MAX - 1);
		ns = buf[i].ns;
		h = bpf_map_lookup_elem(&hists, &slot);
		if (h)
			hist_add(h, ns, 0);
		thr = bpf_map_lookup_elem(&thresholds, &slot);
		e.slow = thr && *thr && ns > *thr;
		stat_add(slot, HEED_SLOW_OPS, 1);
		if (e.slow) {
			stat_add(slot, HEED_SLOW_SLOW, 1);
			stat_add(slot, HEED_SLOW_SLOW_NS, ns);
		}
		if (!t || !t->tagged || (t->tagged & 0xffff) != HEED_OPREC_SEQ(buf[i].op))
			continue;
		e.count = ns;
		e.seq = t->tagged;
		e.slot = slot;
		t->tagged = 0;
		if (bpf_ringbuf_output(&rb_on, &e, sizeof(e), 0))
			stat_add(slot, HEED_SLOW_RB_FULL, 1);
		if (bpf_ringbuf_output(&rb_off, &e, sizeof(e), 0))
			stat_add(slot, HEED_SLOW_RB_FULL, 1);
	}
	return 0;
}

/* Notes the address of thread tid's struct heed_opslot, where the samplers read
 * the op it has in flight. */
static __always_inline void note_slot(__u32 tid, void *opslot)
{
	struct heed_slow_thread *t = bpf_map_lookup_elem(&slow_threads, &tid);

	if (!t) {
		struct heed_slow_thread zero = {};

		bpf_map_update_elem(&slow_threads, &tid, &zero, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&slow_threads, &tid);
	}
	if (t) {
		t->slot = (__u64)opslot;
		t->kinds = batch_kinds;
	}
}

/* heed:ops__slot: a thread's first numbered op. Its samples are tagged from this
 * op on, not only after its first batch; and attaching this program sets the
 * semaphore that has libheed number ops at all. */
SEC("usdt")
int BPF_USDT(heed_slow_slot, void *opslot)
{
	note_slot((__u32)bpf_get_current_pid_tgid(), opslot);
	return 0;
}

SEC("usdt")
int BPF_USDT(heed_slow_batch, void *recs, unsigned int n, unsigned int abi, void *opslot)
{
	struct slowbatch sb = {.b = {.recs = recs, .n = n},
			       .tid = (__u32)bpf_get_current_pid_tgid()};

	/* An older libheed numbers ops another way, or not at all. */
	if (abi != HEED_OPREC_ABI || n > HEED_OPREC_BATCH)
		return 0;
	note_slot(sb.tid, opslot);
	opbatch_hold(&sb.b);
	bpf_loop(opbatch_chunks(n), judge_chunk, &sb, 0);
	opbatch_release(&sb.b);
	return 0;
}
