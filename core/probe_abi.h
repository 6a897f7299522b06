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
 * The probe fires with (records, n, HEED_OPREC_ABI) when the buffer is full
 * (n at most HEED_OPREC_BATCH: 4096 since 2026-12, 256 before, the layout the
 * same), when a txn ends or heed_env_sync returns and the thread's last firing
 * is a millisecond old (at every such end while heed:ops__slot's semaphore is
 * set too), and when the thread or the process exits: core/opbatch.c. Its third
 * argument, a constant in the probe's note, tells a tracer which layout the
 * records have.
 *
 * A record's op also names, in bits 8-15, the public function that wrote it
 * (HEED_FN_*, 0 for none): each of these functions writes exactly one record
 * a call, so heed-trace --func times them from the batch, without uprobes.
 * Bits 16-31 hold the low 16 bits of the op's number in its thread, never 0,
 * when the op was numbered; 0 when it was not.
 *
 * While the semaphore of a second probe, heed:ops__slot, is set too (by
 * heed-trace --slow, not --ops), each op is numbered and each thread keeps a
 * struct heed_opslot saying which op it has in flight, whose address is the
 * batch probe's fourth argument and ops__slot's only one (it fires at a
 * thread's first numbered op): --slow's samplers read it to tell which op a
 * stack was taken in, and find that op's duration later in its record, by its
 * number.
 */
#ifndef HEED_PROBE_ABI_H
#define HEED_PROBE_ABI_H

#define HEED_OPREC_BATCH 4096
/* 1: op and rc only; 2: function ids in op's bits 8-15; 3: op numbers in bits
 * 16-31, the op slot as fourth argument; 4: numbers and slot only while
 * heed:ops__slot's semaphore is set. */
#define HEED_OPREC_ABI 4

enum {
	HEED_OP_GET,
	HEED_OP_PUT,
	HEED_OP_DEL,
	HEED_OP_CURSOR,
	HEED_OP_COMMIT,
	HEED_OP_SYNC,
	HEED_OP__COUNT,
};

#define HEED_OPREC_FN_SHIFT  8
#define HEED_OPREC_SEQ_SHIFT 16
#define HEED_OPREC_OP(op)    ((op)&0xff)
#define HEED_OPREC_FN(op)    (((op) >> HEED_OPREC_FN_SHIFT) & 0xff)
#define HEED_OPREC_SEQ(op)   ((op) >> HEED_OPREC_SEQ_SHIFT)

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

/* The outermost op a thread has in flight. Written by that thread only; a
 * reader in another context may see it mid-update, and checks tid. */
struct heed_opslot {
	unsigned long long seq; /* ops the thread numbered, from 1 */
	unsigned long long cur; /* the number (seq) of the op in flight */
	unsigned int op;	/* 1 + its HEED_OP_*, 0 when none is in flight */
	unsigned int tid;	/* the thread's id, 0 until its first numbered op */
};

struct heed_oprec {
	unsigned long long ns; /* duration of the op in nanoseconds */
	unsigned int op;       /* HEED_OP_* | HEED_FN_* << 8 | (seq & 0xffff) << 16 */
	int rc;		       /* its return code */
};

#endif
