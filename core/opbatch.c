/*
 * opbatch.c - the per-thread buffer of timed ops behind heed:ops__batch.
 *
 * Only touched when a tracer set the probe's semaphore (op_begin returned a
 * start time), so an untraced process never pays for the clock calls. One
 * USDT hit carries HEED_OPREC_BATCH ops: about 1/64 of a uprobe per op.
 */
#include "heed.h"
#include "probes.h"

#include <time.h>

static __thread struct heed_oprec recs[HEED_OPREC_BATCH];
static __thread unsigned int nrecs;

uint64_t op_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec + 1;
}

void op_flush(void)
{
	unsigned int n = nrecs;
	void *r = recs;

	if (!n)
		return;
	nrecs = 0;
#if HEED_PROBES
	HEED_OPS_BATCH(r, n);
#else
	(void)r;
#endif
}

void op_append(unsigned int op, int rc, uint64_t t0)
{
	unsigned int i = nrecs;

	recs[i].ns = op_clock() - t0;
	recs[i].op = op;
	recs[i].rc = rc;
	nrecs = i + 1;
	if (nrecs == HEED_OPREC_BATCH)
		op_flush();
}
