/* slow.h - what slow.bpf.c shares with sampler.bpf.h and profiler/slow.c (an ABI: no
 * includes, fixed-size fields). --slow OP:THRESHOLD joins an operation's latency to
 * the stacks sampled while it was in flight:
 *
 * - slow.bpf.c's start program (a uprobe or USDT start, the cookie its slot) numbers
 *   the thread's operation in slow_threads (seq, start time); its done program
 *   times it, adds the latency to the slot's histogram, judges it against the
 *   slot's threshold (written by user space, also for pNN thresholds) and counts it.
 * - sampler.bpf.h tags each on-CPU sample and off-CPU switch-out of a thread with an
 *   operation in flight with its seq (struct heed_sample.op) and marks the thread
 *   sampled; only then does the done program send a struct heed_slow_end through
 *   the samplers' own ring buffers, after that thread's tagged records, so user
 *   space files the held stacks as slow or fast in the order they happened.
 * - sampler_off.bpf.c's sched_wakeup program (loaded with --slow only) splits a
 *   blocked thread's time away at its wakeup: the rest is waiting to run.
 *
 * Only the outermost traced operation of a thread is timed: a --slow op nested in
 * another (or in itself) belongs to the outer one.
 *
 * heed's get, put, del and cursor take no probe hit per op: libheed keeps the op a
 * thread has in flight in a struct heed_opslot (core/probe_abi.h) while slow.bpf.c's
 * slot program holds heed:ops__slot's semaphore. That program, at a thread's first
 * numbered op, and the batch program, on heed:ops__batch, note the slot's address
 * in the thread's entry; the
 * samplers read the slot and tag with its op (HEED_SLOW_LIB | its number, in
 * tagged); the batch program times and judges each record of a --slow kind, and
 * sends the end of the tagged one when its record arrives.
 */
#ifndef HEED_BPF_SLOW_H
#define HEED_BPF_SLOW_H

#define HEED_SLOW_MAX	  8	/* --slow options */
#define HEED_SLOW_THREADS 16384 /* threads with an operation tracked at once */

/* slow_threads' value, keyed by tid. */
struct heed_slow_thread {
	__u64 seq;   /* the thread's current (depth > 0) or last operation, from 1 */
	__u64 start; /* bpf_ktime_get_ns() at its start */
	__u32 depth; /* nested starts open */
	__u32 sampled;
	__u64 slot;   /* address of the thread's struct heed_opslot, 0: none seen */
	__u64 tagged; /* HEED_SLOW_LIB | number of the heed op last tagged, 0: none */
	__u32 kinds;  /* bit HEED_OP_* set: --slow times that kind from the batch */
	__u32 pad;
};

/* Tags of heed ops timed from the batch, apart from the start/done ones' seq. */
#define HEED_SLOW_LIB (1ULL << 63)

struct heed_slow_end {
	__u32 kind; /* HEED_SAMPLE_OPEND (sampler.h) */
	__u32 tid;
	__u64 count; /* latency, ns */
	__u64 seq;
	__u32 slot;
	__u32 slow; /* latency > threshold */
};

/* Per-slot counters (per-CPU array, HEED_SLOW_MAX * HEED_SLOW_STAT_MAX). */
enum {
	HEED_SLOW_OPS,	   /* operations timed */
	HEED_SLOW_SLOW,	   /* of those, above the threshold */
	HEED_SLOW_SLOW_NS, /* their summed latency */
	HEED_SLOW_FULL,	   /* starts not tracked: slow_threads full */
	HEED_SLOW_RB_FULL, /* ends lost to a full ring buffer: their stacks are dropped */
	HEED_SLOW_STAT_MAX,
};

#endif
