/* stack.h - what profile.bpf.c and offcpu.bpf.c share with profiler/ (an ABI: no
 * includes, fixed-size fields, explicit padding). Both count stacks in a hash map
 * keyed by (process, user stack id, kernel stack id); the ids index a
 * BPF_MAP_TYPE_STACK_TRACE map of HEED_STACK_DEPTH addresses per entry.
 */
#ifndef HEED_BPF_STACK_H
#define HEED_BPF_STACK_H

#define HEED_STACK_DEPTH 127 /* PERF_MAX_STACK_DEPTH */

struct heed_stack_key {
	__u32 tgid;
	__s32 ustack; /* stack id, or a negative errno from bpf_get_stackid */
	__s32 kstack; /* -EFAULT (-14) when the sample has no kernel part */
	__u32 pad;
};

/* Per-CPU counters of what was sampled and what could not be recorded. */
enum {
	HEED_STACK_SAMPLES,	/* samples (profile) or switches (offcpu) of the target */
	HEED_STACK_U_COLLISION, /* user stack: -EEXIST, its hash bucket held another stack */
	HEED_STACK_U_FAILED,	/* user stack: any other error (-ENOMEM: stack map full) */
	HEED_STACK_K_COLLISION, /* kernel stack: -EEXIST */
	HEED_STACK_K_FAILED,	/* kernel stack: other errors except -EFAULT (no kernel part) */
	HEED_STACK_COUNTS_FULL, /* the counts map was full: the sample is lost */
	HEED_STACK_STARTS_FULL, /* offcpu: no room to remember a switch-out */
	HEED_STACK_STAT_MAX,
};

#endif
