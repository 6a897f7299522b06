/* sampler.h - what sampler_cpu.bpf.c and sampler_off.bpf.c share with profiler/ (an ABI: no
 * includes, fixed-size fields, explicit padding).
 *
 * Every sample travels to user space through a ring buffer as one record, aggregated
 * there: no stack map, so no stack is lost to a hash collision. A record is a struct
 * heed_sample, followed (unwinding by DWARF) by stack_len bytes of the thread's user
 * stack copied from its user rsp, which heed-trace unwinds with libdw:
 *
 *   offset  size                 field
 *   0       4                    kind (HEED_SAMPLE_*)
 *   4       4                    tid
 *   8       8                    count: 1 (on-CPU); switch-out: 1 runnable (preempted,
 *                                waits to run), 0 blocked; ns away (switch-in)
 *   16      4 x 4                nkern, nuser, stack_len, flags
 *   32      17 x 8               regs: user registers in DWARF order (x86-64 0..16)
 *   168     127 x 8              kips: kernel return addresses, innermost first
 *   1184    127 x 8              uips: user ones (frame-pointer walk), innermost first
 *   2200    8                    op: --slow's operation in flight (bpf/slow.h), or 0
 *   2208    4 + 4                pid (the tid's process, tgid), padding
 *   2216    8                    exec_id: the task's self_exec_id (changes at each exec)
 *   2224    16                   comm: the thread's name, NUL-padded
 *   2240    8                    time: bpf_ktime_get_ns (CLOCK_MONOTONIC) at the sample,
 *                                to pick the mappings of that moment (maptrack.h)
 *   2248    56                   padding: the stack copy starts 64-byte aligned (at
 *                                2248, the program took 17-19 us a run against
 *                                12-13 us at 2304 or 2240: profiler/scope_bench.sh)
 *   2304    stack_len            the user stack from regs[HEED_REG_SP] up
 *
 * A HEED_SAMPLE_IN record is only struct heed_sample_in: kind, tid, count (ns away)
 * and runq, the last ns of count spent runnable after a wakeup (--slow; else 0).
 */
#ifndef HEED_BPF_SAMPLER_H
#define HEED_BPF_SAMPLER_H

#define HEED_STACK_DEPTH 127 /* PERF_MAX_STACK_DEPTH */
/* x86-64 DWARF registers: rax rdx rcx rbx rsi rdi rbp rsp r8..r15, then rip (16). */
#define HEED_UNWIND_REGS 17
#define HEED_REG_BP	 6
#define HEED_REG_SP	 7
#define HEED_REG_IP	 16
/* The most user stack a record can carry (--unwind dwarf,BYTES); a power of two. */
#define HEED_STACK_COPY_MAX 65536

enum {
	HEED_SAMPLE_ON,	   /* profile: one on-CPU sample */
	HEED_SAMPLE_OUT,   /* offcpu: the thread left the CPU with these stacks */
	HEED_SAMPLE_IN,	   /* offcpu: the thread tid ran again after count ns */
	HEED_SAMPLE_OPEND, /* --slow: an operation ended (struct heed_slow_end, slow.h) */
};

/* flags */
#define HEED_SAMPLE_F_NO_USER 1u /* no user stack could be read (count it as lost) */
#define HEED_SAMPLE_F_NO_KERN 2u /* bpf_get_stack failed on the kernel stack */
#define HEED_SAMPLE_F_REGS    4u /* regs and the stack copy are valid (DWARF mode) */

struct heed_sample {
	__u32 kind;
	__u32 tid;
	__u64 count;
	__u32 nkern, nuser, stack_len, flags;
	__u64 regs[HEED_UNWIND_REGS];
	__u64 kips[HEED_STACK_DEPTH];
	__u64 uips[HEED_STACK_DEPTH];
	__u64 op; /* --slow: seq of the thread's operation in flight (slow.h), or 0 */
	__u32 pid;
	__u32 pad;
	__u64 exec_id;
	char comm[16];
	__u64 time;
	__u8 pad2[56]; /* the stack copy 64-byte aligned */
};

/* The whole of a HEED_SAMPLE_IN record: the first fields of struct heed_sample, and
 * runq <= count. */
struct heed_sample_in {
	__u32 kind;
	__u32 tid;
	__u64 count;
	__u64 runq; /* of count, ns from the thread's wakeup to its switch-in */
};

/* Per-CPU counters of what was sampled and what could not be recorded. */
enum {
	HEED_STACK_SAMPLES,	/* samples (profile) or switches (offcpu) of the target */
	HEED_STACK_U_FAILED,	/* user stack: could not be read at all */
	HEED_STACK_K_FAILED,	/* kernel stack: bpf_get_stack failed */
	HEED_STACK_RB_FULL,	/* the ring buffer was full: the record is lost */
	HEED_STACK_STARTS_FULL, /* offcpu: no room to remember a switch-out */
	HEED_STACK_STAT_MAX,
};

#endif
