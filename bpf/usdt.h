/* usdt.h - what usdt.bpf.c shares with profiler/usdt.c (an ABI: no system includes,
 * fixed-size fields). One skeleton serves --ops and --usdt: every traced thing owns a slot
 * of the histogram array; the slot and what to do with a hit travel in the BPF cookie.
 *
 * heed's batch probe ops__batch(recs, n) hands over n records, struct heed_oprec of
 * core/probe_abi.h, at most HEED_OPREC_BATCH of them. heed's answers that are not
 * errors (HEED_NOTFOUND, HEED_KEYEXIST of core/heed.h, which BPF code cannot include)
 * reach usdt.bpf.c as read-only data that user space sets before loading it.
 */
#ifndef HEED_BPF_USDT_H
#define HEED_BPF_USDT_H

#include "probe_abi.h"

/* heed operations own slots 0..HEED_USDT_OPS - 1, numbered as HEED_OP_*. */
#define HEED_USDT_OPS HEED_OP__COUNT

/* Cookie: bits 0-15 slot, 16-23 kind, 24-31 1 + index of the argument holding the
 * result code (0: errors are not counted), bit 32 set when the code follows heed's
 * convention (HEED_NOTFOUND and HEED_KEYEXIST are answers, not errors); without it
 * any non-zero code is an error. */
#define HEED_USDT_KIND_COUNT 0 /* count hits only */
#define HEED_USDT_KIND_START 1 /* push the time on the thread's stack for the slot */
#define HEED_USDT_KIND_DONE  2 /* time since the start on top of that stack */
#define HEED_USDT_COOKIE(slot, kind, rcarg, heedrc)                                                \
	((__u64)(slot) | (__u64)(kind) << 16 | (__u64)(rcarg) << 24 | (__u64)(heedrc) << 32)
#define HEED_USDT_COOKIE_SLOT(c)   ((__u32)((c)&0xffff))
#define HEED_USDT_COOKIE_KIND(c)   ((__u32)((c) >> 16) & 0xff)
#define HEED_USDT_COOKIE_RCARG(c)  ((__u32)((c) >> 24) & 0xff)
#define HEED_USDT_COOKIE_HEEDRC(c) ((__u32)((c) >> 32) & 1)

/* Open starts kept per (thread, slot): python's import__find__load pairs nest 7 deep
 * for "import json". Deeper starts are counted, their dones not timed. A power of
 * two: the BPF side masks indexes with it so the verifier sees them bounded. */
#define HEED_USDT_DEPTH 16

/* Indexes of the lost-event counters. */
enum {
	HEED_USDT_LOST_BATCH_N,	    /* a batch claimed more than HEED_OPREC_BATCH records */
	HEED_USDT_LOST_BATCH_FAULT, /* records unreadable (counted per record) */
	HEED_USDT_LOST_BAD_OP,	    /* a record with an unknown op */
	HEED_USDT_LOST_NO_START,    /* a done without its start */
	HEED_USDT_LOST_DEEP,	    /* a done deeper than HEED_USDT_DEPTH: not timed */
	HEED_USDT_LOST_STARTS_FULL, /* no room to remember a start */
	HEED_USDT_LOST_SKIPPED,	    /* runs the kernel skipped (another BPF program was
				       running on that CPU); user space reads it from
				       bpf_prog_info.recursion_misses */
	HEED_USDT_LOST_PID_FULL,    /* --per-pid: events whose process found no room in
				       pid_hists (in the totals all the same); user space
				       counts them in hists */
	HEED_USDT_LOST_MAX,
};

/* Their names in heed-trace's report and --json. */
#define HEED_USDT_LOST_NAMES                                                                       \
	{                                                                                          \
		[HEED_USDT_LOST_BATCH_N] = "ops_batch_too_big",                                    \
		[HEED_USDT_LOST_BATCH_FAULT] = "ops_batch_unreadable",                             \
		[HEED_USDT_LOST_BAD_OP] = "ops_bad_op",                                            \
		[HEED_USDT_LOST_NO_START] = "usdt_done_without_start",                             \
		[HEED_USDT_LOST_DEEP] = "usdt_too_deep",                                           \
		[HEED_USDT_LOST_STARTS_FULL] = "usdt_starts_full",                                 \
		[HEED_USDT_LOST_SKIPPED] = "usdt_kernel_skipped",                                  \
		[HEED_USDT_LOST_PID_FULL] = "usdt_per_pid_full",                                   \
	}

#endif
