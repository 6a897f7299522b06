/* badbatch.c - a target whose heed:ops__batch (tests/progs/heedbatch.d) hands over what
 * a broken or hostile libheed could, for heed-trace --ops's checks of untrusted bytes.
 *
 *   badbatch N   N rounds of: a batch of 20 good GET records and one of an unknown op;
 *                a batch of 40 records at an unreadable address; a batch claiming
 *                HEED_OPREC_BATCH + 1 records. Prints the counts heed-trace must
 *                report as "key value" lines.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "heedbatch_probes.h"
#include "parse.h"
#include "probe_abi.h"

#define GOOD	   20
#define UNREADABLE 40

/* The first page is never mapped: reading it faults. */
#define NOWHERE ((void *)(unsigned long)64)

static struct heed_oprec recs[HEED_OPREC_BATCH + 1];

/* Not inlined: one probe site for every batch. */
__attribute__((noinline)) void batch(void *r, unsigned int n)
{
	HEED_OPS_BATCH(r, n, HEED_OPREC_ABI, NULL);
}

int main(int argc, char **argv)
{
	uint64_t n, i;
	unsigned int k;

	if (argc != 2) {
		fprintf(stderr, "usage: badbatch N\n");
		return 2;
	}
	if (heed_parse_u64(argv[1], &n) != 0) {
		fprintf(stderr, "badbatch: N '%s': not a whole number\n", argv[1]);
		return 2;
	}
	for (k = 0; k < GOOD; k++)
		recs[k] = (struct heed_oprec){.ns = 100 + k, .op = HEED_OP_GET};
	recs[GOOD] = (struct heed_oprec){.ns = 100, .op = 99};
	for (i = 0; i < n; i++) {
		batch(recs, GOOD + 1);
		batch(NOWHERE, UNREADABLE);
		batch(recs, HEED_OPREC_BATCH + 1);
	}
	printf("get %" PRIu64 "\nops_bad_op %" PRIu64 "\nops_batch_unreadable %" PRIu64
	       "\nops_batch_too_big %" PRIu64 "\n",
	       n * GOOD, n, n * UNREADABLE, n * (HEED_OPREC_BATCH + 1));
	return 0;
}
