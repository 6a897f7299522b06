/* lathist.bpf.h - BPF-side helpers to fill a struct heed_hist (see lathist.h for the layout). */
#ifndef HEED_BPF_LATHIST_BPF_H
#define HEED_BPF_LATHIST_BPF_H

#include "lathist.h"

/* Index of the highest set bit of v (v > 0), branch-light so the verifier sees no loop. */
static __always_inline __u32 hist_msb(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

static __always_inline __u32 hist_bucket(__u64 v)
{
	__u32 e;

	if (v < HEED_HIST_SUB)
		return v;
	e = hist_msb(v);
	return (e - 2) * HEED_HIST_SUB + ((v >> (e - HEED_HIST_SUB_BITS)) & (HEED_HIST_SUB - 1));
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
	if (b < HEED_HIST_BUCKETS)
		__sync_fetch_and_add(&h->slots[b], 1);
}

#endif
