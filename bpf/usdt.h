/* usdt.h - what usdt.bpf.c shares with profiler/usdt.c (an ABI: no includes, fixed-size
 * fields). One skeleton serves --ops and --usdt: every traced thing owns a slot of the
 * histogram array; the slot and what to do with a hit travel in the BPF cookie.
 *
 * heed's batch probe ops__batch(recs, n) hands over n records, struct heed_oprec of
 * core/probe_abi.h, which usdt.bpf.c includes; the user side _Static_asserts that the
 * numbers below agree with it.
 */
#ifndef HEED_BPF_USDT_H
#define HEED_BPF_USDT_H

/* heed operations, numbered as core/probe_abi.h numbers them; ops own slots 0..5. */
#define HEED_USDT_OPS	   6
#define HEED_USDT_BATCH	   64	    /* most records one batch may carry */
#define HEED_USDT_NOTFOUND (-30798) /* HEED_NOTFOUND: a miss, not an error */
#define HEED_USDT_KEYEXIST (-30799) /* HEED_KEYEXIST: an expected answer, not an error */

/* Cookie: bits 0-15 slot, 16-23 kind, 24-31 1 + index of the argument holding the
 * result code (0: the probe has none). */
#define HEED_USDT_KIND_COUNT 0 /* count hits only */
#define HEED_USDT_KIND_START 1 /* remember the time, per thread and slot */
#define HEED_USDT_KIND_DONE  2 /* time since the matching start */

/* Indexes of the lost-event counters. */
enum {
	HEED_USDT_LOST_BATCH_N,	    /* a batch claimed more than HEED_USDT_BATCH records */
	HEED_USDT_LOST_BATCH_FAULT, /* records unreadable (counted per record) */
	HEED_USDT_LOST_BAD_OP,	    /* a record with an unknown op */
	HEED_USDT_LOST_NO_START,    /* a done without its start */
	HEED_USDT_LOST_RESTART,	    /* a start replaced an earlier one never done */
	HEED_USDT_LOST_STARTS_FULL, /* no room to remember a start */
	HEED_USDT_LOST_SKIPPED,	    /* runs the kernel skipped (another BPF program was
				       running on that CPU); user space reads it from
				       bpf_prog_info.recursion_misses */
	HEED_USDT_LOST_MAX,
};

#endif
