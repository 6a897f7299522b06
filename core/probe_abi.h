/*
 * probe_abi.h - the records of the heed:ops__batch probe, shared by libheed
 * and the BPF side of heed-trace. An ABI: no includes, fixed-width types
 * (unsigned long long is 64 bits on both sides), explicit layout.
 *
 * When a tracer sets the ops__batch semaphore, each public operation times
 * itself (CLOCK_MONOTONIC) and appends one record to a per-thread buffer:
 *   GET     heed_get
 *   PUT     heed_put
 *   DEL     heed_del
 *   CURSOR  heed_cursor_get, heed_cursor_put, heed_cursor_del
 *   COMMIT  heed_txn_commit of a write txn
 *   SYNC    heed_env_sync, and each fdatasync of a commit
 * The probe fires with (records, n, HEED_OPREC_ABI) when the buffer holds
 * HEED_OPREC_BATCH records and whenever a txn ends (commit, abort, reset) or
 * heed_env_sync returns, so once a thread's last txn has ended no record is
 * pending. Its third argument, a constant in the probe's note, tells a
 * tracer which layout the records have.
 *
 * A record's op also names, in bits 8-15, the public function that wrote it
 * (HEED_FN_*, 0 for none): each of these functions writes exactly one record
 * a call, so heed-trace --func times them from the batch, without uprobes.
 */
#ifndef HEED_PROBE_ABI_H
#define HEED_PROBE_ABI_H

#define HEED_OPREC_BATCH 256
/* 1: op and rc only; 2: function ids in op's bits 8-15. */
#define HEED_OPREC_ABI 2

enum {
	HEED_OP_GET,
	HEED_OP_PUT,
	HEED_OP_DEL,
	HEED_OP_CURSOR,
	HEED_OP_COMMIT,
	HEED_OP_SYNC,
	HEED_OP__COUNT,
};

#define HEED_OPREC_FN_SHIFT 8
#define HEED_OPREC_OP(op)   ((op)&0xff)
#define HEED_OPREC_FN(op)   (((op) >> HEED_OPREC_FN_SHIFT) & 0xff)

enum {
	HEED_FN_NONE,
	HEED_FN_GET,	    /* heed_get */
	HEED_FN_PUT,	    /* heed_put */
	HEED_FN_DEL,	    /* heed_del */
	HEED_FN_CURSOR_GET, /* heed_cursor_get */
	HEED_FN_CURSOR_PUT, /* heed_cursor_put */
	HEED_FN_CURSOR_DEL, /* heed_cursor_del */
	HEED_FN__COUNT,
};

struct heed_oprec {
	unsigned long long ns; /* duration of the op in nanoseconds */
	unsigned int op;       /* HEED_OP_* | HEED_FN_* << HEED_OPREC_FN_SHIFT */
	int rc;		       /* its return code */
};

#endif
