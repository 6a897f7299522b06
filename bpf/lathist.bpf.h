/* lathist.bpf.h - BPF-side helpers to fill a struct heed_hist (see lathist.h for the layout). */
#ifndef HEED_BPF_LATHIST_BPF_H
#define HEED_BPF_LATHIST_BPF_H

#include "lathist.h"

/* Index of the highest set bit of v (v > 0). Without a branch: BPF has no conditional
 * move, and the branches of a binary search mispredict on latencies that straddle a
 * power of two (--ops on readrandom: 5.6 us per batch of 256 gets with them, 4.7 us
 * without, bpf_stats; profiler/README.md). Each step adds 2^k - 1 to v >> k, which is
 * below 2^k, and keeps the carry: 1 when v >> k != 0. */
static __always_inline __u32 hist_msb(__u64 v)
{
	__u64 r = 0, s;

	s = ((v >> 32) + 0xffffffffULL) >> 32 << 5;
	v >>= s;
	r += s;
	s = ((v >> 16) + 0xffff) >> 16 << 4;
	v >>= s;
	r += s;
	s = ((v >> 8) + 0xff) >> 8 << 3;
	v >>= s;
	r += s;
	s = ((v >> 4) + 0xf) >> 4 << 2;
	v >>= s;
	r += s;
	s = ((v >> 2) + 0x3) >> 2 << 1;
	v >>= s;
	r += s;
	return (__u32)(r + (v >> 1));
}

_Static_assert((HEED_HIST_BUCKETS & (HEED_HIST_BUCKETS - 1)) == 0 &&
		       (64 - 2) * HEED_HIST_SUB <= HEED_HIST_BUCKETS,
	       "hist_bucket masks its bucket with HEED_HIST_BUCKETS - 1");

/* The buckets of the values below HIST_SMALL, a table in .rodata made by the compiler:
 * most ops a tracer times (gets, puts) take under 4 us, and hist_msb's chain of dependent
 * steps was, with atomic adds, most of --ops's fold (usdt.bpf.c's held_hists). HB is
 * hist_bucket's arithmetic on a constant; test_trace checks the two agree on every value. */
#define HIST_SMALL 4096
#define HB_MSB(v)                                                                                  \
	((v) >= 2048   ? 11                                                                        \
	 : (v) >= 1024 ? 10                                                                        \
	 : (v) >= 512  ? 9                                                                         \
	 : (v) >= 256  ? 8                                                                         \
	 : (v) >= 128  ? 7                                                                         \
	 : (v) >= 64   ? 6                                                                         \
	 : (v) >= 32   ? 5                                                                         \
	 : (v) >= 16   ? 4                                                                         \
		       : 3)
#define HB(v)                                                                                      \
	((__u8)((v) < HEED_HIST_SUB ? (v)                                                          \
				    : (HB_MSB(v) - 2) * HEED_HIST_SUB +                            \
					      (((v) >> (HB_MSB(v) - HEED_HIST_SUB_BITS)) &         \
					       (HEED_HIST_SUB - 1))))
#define HB4(b)	  HB(b), HB((b) + 1), HB((b) + 2), HB((b) + 3)
#define HB16(b)	  HB4(b), HB4((b) + 4), HB4((b) + 8), HB4((b) + 12)
#define HB64(b)	  HB16(b), HB16((b) + 16), HB16((b) + 32), HB16((b) + 48)
#define HB256(b)  HB64(b), HB64((b) + 64), HB64((b) + 128), HB64((b) + 192)
#define HB1024(b) HB256(b), HB256((b) + 256), HB256((b) + 512), HB256((b) + 768)

static const __u8 hist_small[HIST_SMALL] = {HB1024(0), HB1024(1024), HB1024(2048), HB1024(3072)};

/* Below HEED_HIST_BUCKETS for any v (at most 495); the mask says so to the verifier,
 * which cannot follow the arithmetic of hist_msb. */
static __always_inline __u32 hist_bucket(__u64 v)
{
	__u32 e;

	if (v < HIST_SMALL)
		return hist_small[v];
	e = hist_msb(v);
	return ((e - 2) * HEED_HIST_SUB + ((v >> (e - HEED_HIST_SUB_BITS)) & (HEED_HIST_SUB - 1))) &
	       (HEED_HIST_BUCKETS - 1);
}

/* Adds a run of count events (errors failed, sum_ns their latencies) to h, atomically
 * unless the caller is alone on h (a batch's fold holding its CPU's buffer, writing a
 * map no other run does: usdt.bpf.c's and func.bpf.c's held_hists). No test of the
 * sums: the verifier would then follow each count apart, and a chunk's loop would
 * exceed its budget of a million instructions. */
static __always_inline void hist_add_run(struct heed_hist *h, __u64 count, __u64 errors, __u64 sum,
					 bool alone)
{
	if (!h)
		return;
	if (alone) {
		h->count += count;
		h->errors += errors;
		h->sum_ns += sum;
		return;
	}
	__sync_fetch_and_add(&h->count, count);
	__sync_fetch_and_add(&h->errors, errors);
	__sync_fetch_and_add(&h->sum_ns, sum);
}

/* One event more in h's bucket b (< HEED_HIST_BUCKETS), atomically unless alone on h
 * (as hist_add_run). */
static __always_inline void hist_bump(struct heed_hist *h, __u32 b, bool alone)
{
	if (alone)
		h->slots[b]++;
	else
		__sync_fetch_and_add(&h->slots[b], 1);
}

/* Atomic adds: the map is per CPU, but a uprobe program can be preempted by another
 * thread of the target hitting the same program on the same CPU. */
static __always_inline void hist_add(struct heed_hist *h, __u64 ns, int failed)
{
	__u32 b = hist_bucket(ns);

	__sync_fetch_and_add(&h->count, 1);
	if (failed)
		__sync_fetch_and_add(&h->errors, 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
	__sync_fetch_and_add(&h->slots[b], 1);
}

#endif
