/*
 * probes.h - probe sites of libheed (internal). PROBE(NAME, args) fires
 * heed:name when a tracer enabled it (one load and branch otherwise);
 * with HEED_PROBES=0 everything compiles out.
 *
 * op_begin()/op_end() time a public op into the ops__batch buffer (see
 * probe_abi.h); op_flush() fires the batch at the end of a txn.
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
#define OPS_ENABLED() HEED_OPS_BATCH_ENABLED()
#else
/* Compiled out; the arguments still count as used (no warnings). */
static inline void probe_off(int unused, ...)
{
	(void)unused;
}
#define PROBE(name, ...) probe_off(0, __VA_ARGS__)
#define OPS_ENABLED()	 0
#endif

uint64_t op_clock(void);
void op_append(unsigned int op, int rc, uint64_t t0);
void op_flush(void);

/* 0 when untraced; else the start time (never 0). */
static inline uint64_t op_begin(void)
{
	return __builtin_expect(OPS_ENABLED(), 0) ? op_clock() : 0;
}

static inline void op_end(unsigned int op, int rc, uint64_t t0)
{
	if (__builtin_expect(t0 != 0, 0))
		op_append(op, rc, t0);
}

/* Report errors other than the expected NOTFOUND/KEYEXIST. */
static inline int probe_rc(int rc)
{
	if (rc && rc != HEED_NOTFOUND && rc != HEED_KEYEXIST)
		PROBE(ERROR, rc);
	return rc;
}

#endif
