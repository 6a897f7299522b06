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
 * The probe fires with (records, n) when the buffer holds HEED_OPREC_BATCH
 * records and whenever a txn ends (commit, abort, reset) or heed_env_sync
 * returns, so once a thread's last txn has ended no record is pending.
 */
#ifndef HEED_PROBE_ABI_H
#define HEED_PROBE_ABI_H

#define HEED_OPREC_BATCH 64

enum {
	HEED_OP_GET,
	HEED_OP_PUT,
	HEED_OP_DEL,
	HEED_OP_CURSOR,
	HEED_OP_COMMIT,
	HEED_OP_SYNC,
	HEED_OP__COUNT,
};

struct heed_oprec {
	unsigned long long ns; /* duration of the op in nanoseconds */
	unsigned int op;       /* HEED_OP_* */
	int rc;		       /* its return code */
};

#endif
