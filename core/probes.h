/*
 * probes.h - probe sites of libheed (internal). PROBE(NAME, args) fires
 * heed:name when a tracer enabled it (one load and branch otherwise);
 * with HEED_PROBES=0 everything compiles out.
 *
 * op_begin()/op_end() time a public op into the ops__batch buffer (see
 * probe_abi.h); op_flush() at the end of a txn fires the batch when it is due
 * (opbatch.c). A function with a HEED_FN_* id calls op_end on every return
 * path.
 */
#ifndef HEED_PROBES_H
#define HEED_PROBES_H

#include "probe_abi.h"

#include <stdint.h>

#if HEED_PROBES
#include "heed_probes.h"
#define PROBE(name, ...)                                                                           \
	do {                                                                                       \
		if (HEED_##name##_ENABLED())                                                       \
			HEED_##name(__VA_ARGS__);                                                  \
	} while (0)
#define OPS_ENABLED()  HEED_OPS_BATCH_ENABLED()
#define SLOT_ENABLED() HEED_OPS_SLOT_ENABLED()
#else
/* Compiled out; the arguments still count as used (no warnings). */
static inline void probe_off(int unused, ...)
{
	(void)unused;
}
#define PROBE(name, ...) probe_off(0, __VA_ARGS__)
#define OPS_ENABLED()	 0
#define SLOT_ENABLED()	 0
#endif

void op_append(uint64_t t0, unsigned int op, int rc);
void op_flush(void);
uint64_t op_start(unsigned int op);

/* The start of an op of kind op (HEED_OP_*): 0 when untraced; else its start
 * time (never 0). While heed:ops__slot's semaphore is also set (--slow), the
 * op is numbered and, when no other is, in flight in the thread's struct
 * heed_opslot; the time's low bit says which (op_start). Every op_begin that
 * returned non-zero has its op_end. */
static inline uint64_t op_begin(unsigned int op)
{
	return __builtin_expect(OPS_ENABLED(), 0) ? op_start(op) : 0;
}

/* The record of a call of public function fn (HEED_FN_*), an op of kind op. */
#define OP_REC(op, fn) ((unsigned int)(op) | (unsigned int)(fn) << HEED_OPREC_FN_SHIFT)

/* Returns rc, so that an early return can record itself. */
static inline int op_end(unsigned int rec, int rc, uint64_t t0)
{
	if (__builtin_expect(t0 != 0, 0))
		op_append(t0, rec, rc);
	return rc;
}

/* Report errors other than the expected NOTFOUND/KEYEXIST. */
static inline int probe_rc(int rc)
{
	if (rc && rc != HEED_NOTFOUND && rc != HEED_KEYEXIST)
		PROBE(ERROR, rc);
	return rc;
}

#endif
