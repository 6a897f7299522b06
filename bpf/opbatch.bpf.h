/* opbatch.bpf.h - reading the records of heed:ops__batch (core/probe_abi.h), shared by
 * usdt.bpf.c (--ops) and func.bpf.c (--func on libheed's own functions).
 *
 * Records are read in whole chunks onto the stack: 16 helper calls per full batch
 * instead of 256, and no per-CPU scratch buffer that another target thread could
 * overwrite by preempting us on this CPU (16 records are 256 of the 512 stack bytes).
 * A chunk past the end of a short batch may lie beyond readable memory: then that
 * chunk is read record by record. Chunks are walked with bpf_loop (kernel 5.17): the
 * verifier checks one chunk, not all 16 of a batch.
 */
#ifndef HEED_BPF_OPBATCH_BPF_H
#define HEED_BPF_OPBATCH_BPF_H

#include "probe_abi.h"

#define OPBATCH_CHUNK 16

/* What a bpf_loop callback gets: the batch, and the cookie of the probe. */
struct opbatch {
	void *recs;
	__u32 n;
	__u64 cookie;
};

/* Chunk c of b into buf; its length in *len (0 past the end). -1 when unreadable. */
static __always_inline int opbatch_chunk(const struct opbatch *b, __u32 c, struct heed_oprec *buf,
					 __u32 *len)
{
	const struct heed_oprec *src = (const struct heed_oprec *)b->recs + c * OPBATCH_CHUNK;
	__u32 i;

	*len = c * OPBATCH_CHUNK < b->n ? b->n - c * OPBATCH_CHUNK : 0;
	if (*len > OPBATCH_CHUNK)
		*len = OPBATCH_CHUNK;
	if (!*len || !bpf_probe_read_user(buf, OPBATCH_CHUNK * sizeof(*buf), src))
		return 0;
	for (i = 0; i < OPBATCH_CHUNK; i++) {
		if (i >= *len)
			break;
		if (bpf_probe_read_user(&buf[i], sizeof(*buf), src + i))
			return -1;
	}
	return 0;
}

/* Chunks of a batch of n records, for bpf_loop. */
static __always_inline __u32 opbatch_chunks(__u32 n)
{
	return (n + OPBATCH_CHUNK - 1) / OPBATCH_CHUNK;
}

#endif
