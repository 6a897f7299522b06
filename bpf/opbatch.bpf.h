/* opbatch.bpf.h - reading the records of heed:ops__batch (core/probe_abi.h), shared by
 * usdt.bpf.c (--ops), func.bpf.c (--func on libheed's own functions) and slow.bpf.c.
 *
 * A batch is read a piece of OPBATCH_PIECE records at a time, each with one
 * bpf_probe_read_user, into a per-CPU buffer (a per-CPU value is at most 32 KiB, a
 * batch up to 64), and its chunks of 16 records copied from there onto the stack: the
 * helper call, not the bytes, is what reading costs (one call a 16-record chunk was 9
 * of the 16 ns per op of --ops's fold, bpf_stats; profiler/README.md). The run that
 * takes the buffer holds it (an exchanged flag) until it is done: a uprobe program can
 * be preempted, and another thread of the target then run it on this CPU, which would
 * overwrite the buffer. Such a run, or one whose piece is unreadable as a whole, reads
 * each chunk with a helper call instead (a chunk past the end of a short batch may lie
 * beyond readable memory: then record by record). Chunks are walked with bpf_loop
 * (kernel 5.17): the verifier checks one chunk, not all of a batch.
 */
#ifndef HEED_BPF_OPBATCH_BPF_H
#define HEED_BPF_OPBATCH_BPF_H

#include "probe_abi.h"

#define OPBATCH_CHUNK 16
#define OPBATCH_PIECE 1024

_Static_assert(HEED_OPREC_BATCH % OPBATCH_PIECE == 0 && (OPBATCH_PIECE & (OPBATCH_PIECE - 1)) == 0,
	       "a batch is whole pieces, a piece a power of two");

/* A piece of a batch, per CPU; busy while a run holds it. */
struct opbatch_buf {
	__u64 busy;
	struct heed_oprec recs[OPBATCH_PIECE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct opbatch_buf);
} opbatch_bufs SEC(".maps");

/* What a bpf_loop callback gets: the batch, and the cookie of the probe. */
struct opbatch {
	void *recs;
	__u32 n;
	__u32 piece_ok; /* held holds the current piece */
	__u64 cookie;
	struct opbatch_buf *held; /* this CPU's buffer, taken (opbatch_hold), or NULL */
};

/* Reads piece p of b into the held buffer; b->piece_ok says whether it did. */
static __always_inline void opbatch_piece(struct opbatch *b, __u32 p)
{
	__u64 first = (__u64)p * OPBATCH_PIECE, size;

	b->piece_ok = 0;
	if (!b->held || first >= b->n)
		return;
	size = (b->n - first) * sizeof(struct heed_oprec);
	if (size > sizeof(b->held->recs))
		size = sizeof(b->held->recs);
	/* Hidden from clang, which knows the bound and would drop the test the
	 * verifier needs to see. */
	asm volatile("" : "+r"(size));
	if (size > sizeof(b->held->recs))
		return;
	b->piece_ok = !bpf_probe_read_user(b->held->recs, size,
					   (const struct heed_oprec *)b->recs + first);
}

/* Takes this CPU's buffer for b's n <= HEED_OPREC_BATCH records when no other run
 * holds it (b->held says whether it did) and reads the first piece. Every
 * opbatch_hold has its opbatch_release. */
static __always_inline void opbatch_hold(struct opbatch *b)
{
	__u32 zero = 0;
	struct opbatch_buf *buf = bpf_map_lookup_elem(&opbatch_bufs, &zero);

	b->held = NULL;
	b->piece_ok = 0;
	if (!buf || __sync_lock_test_and_set(&buf->busy, 1))
		return;
	b->held = buf;
	opbatch_piece(b, 0);
}

static __always_inline void opbatch_release(struct opbatch *b)
{
	if (b->held)
		b->held->busy = 0;
}

/* Chunk c of b into buf; its length in *len (0 past the end). -1 when unreadable. */
static __always_inline int opbatch_chunk(struct opbatch *b, __u32 c, struct heed_oprec *buf,
					 __u32 *len)
{
	const struct heed_oprec *src = (const struct heed_oprec *)b->recs + c * OPBATCH_CHUNK;
	__u32 i;

	*len = c * OPBATCH_CHUNK < b->n ? b->n - c * OPBATCH_CHUNK : 0;
	if (*len > OPBATCH_CHUNK)
		*len = OPBATCH_CHUNK;
	if (!*len)
		return 0;
	if (c && c % (OPBATCH_PIECE / OPBATCH_CHUNK) == 0)
		opbatch_piece(b, c / (OPBATCH_PIECE / OPBATCH_CHUNK));
	if (b->piece_ok) {
		__builtin_memcpy(
			buf, &b->held->recs[(c * OPBATCH_CHUNK) & (OPBATCH_PIECE - OPBATCH_CHUNK)],
			OPBATCH_CHUNK * sizeof(*buf));
		return 0;
	}
	if (!bpf_probe_read_user(buf, OPBATCH_CHUNK * sizeof(*buf), src))
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
