/* sampler.bpf.h - BPF-side stack capture shared by sampler_cpu.bpf.c and sampler_off.bpf.c: a
 * struct heed_sample (sampler.h) built in a per-CPU scratch slot and sent through the
 * ring buffer. */
#ifndef HEED_BPF_SAMPLER_BPF_H
#define HEED_BPF_SAMPLER_BPF_H

#include "probe_abi.h"
#include "sampler.h"
#include "select.bpf.h"
#include "slow.h"

/* Bytes of user stack to copy per sample: 0 walks frame pointers in the kernel
 * (bpf_get_stack) instead. At most HEED_STACK_COPY_MAX. */
const volatile __u32 stack_bytes = 0;

struct scratch {
	struct heed_sample s;
	/* A page of slack past the largest copy lets the verifier check a page
	 * read at any offset below HEED_STACK_COPY_MAX. */
	__u8 stack[HEED_STACK_COPY_MAX + 4096];
};

/* One slot per CPU (max_entries set by user space): a plain array because per-CPU
 * values are limited to 32 KiB. A program does not run twice at once on a CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* max_entries (bytes) set by user space before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HEED_STACK_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* --slow's operations in flight per thread (slow.h): reused from slow.bpf.c's map,
 * one unused entry without --slow. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct heed_slow_thread);
} slow_threads SEC(".maps");

/* The seq of tid's operation in flight, marked as sampled, or 0. tid is the
 * current thread: the heed op in flight is read from its own memory. */
static __always_inline __u64 slow_tag(__u32 tid)
{
	struct heed_slow_thread *t = bpf_map_lookup_elem(&slow_threads, &tid);
	struct heed_opslot o;

	if (!t)
		return 0;
	if (t->depth) {
		t->sampled = 1;
		return t->seq;
	}
	if (!t->slot || bpf_probe_read_user(&o, sizeof(o), (const void *)t->slot) || o.tid != tid ||
	    !o.op || o.op > 32 || !((t->kinds >> (o.op - 1)) & 1))
		return 0;
	t->tagged = HEED_SLOW_LIB | o.cur;
	return t->tagged;
}

static __always_inline void stat_add(__u32 what, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &what);

	if (v)
		__sync_fetch_and_add(v, n);
}

/* Wakes the reader only once a quarter of the ring buffer is full: a wakeup per
 * record cost heed-trace more system time than unwinding at thousands of context
 * switches a second. The reader also polls every 100 ms. */
static __always_inline __u64 rb_flags(void)
{
	return bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) >
			       bpf_ringbuf_query(&samples, BPF_RB_RING_SIZE) / 4
		       ? BPF_RB_FORCE_WAKEUP
		       : BPF_RB_NO_WAKEUP;
}

/* Copies up to stack_bytes of user stack from sp, a page at a time so that a stack
 * ending before stack_bytes (the top of the main thread's stack) still gives what
 * lies below its end. Returns the bytes copied. */
static __always_inline __u32 copy_stack(struct scratch *sc, __u64 sp)
{
	__u32 off = 0, chunk = 4096 - (sp & 4095), left, i;

	for (i = 0; i < HEED_STACK_COPY_MAX / 4096 + 1; i++) {
		if (off >= stack_bytes || off > HEED_STACK_COPY_MAX - 4096)
			break;
		left = stack_bytes - off;
		if (chunk > left)
			chunk = left;
		/* Bounds the verifier can see: the size in [1, 4096]. */
		barrier_var(chunk);
		chunk &= 0x1fff;
		if (chunk > 4096 || chunk == 0)
			break;
		barrier_var(off);
		off &= HEED_STACK_COPY_MAX - 1;
		if (bpf_probe_read_user(&sc->stack[off], chunk, (void *)(sp + off)))
			break;
		off += chunk;
		chunk = 4096;
	}
	return off;
}

/* The user registers of task, saved where it entered the kernel. */
static __always_inline int user_regs(struct task_struct *task, struct heed_sample *s)
{
	struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(task);

	if (!r)
		return -1;
	s->regs[0] = r->ax;
	s->regs[1] = r->dx;
	s->regs[2] = r->cx;
	s->regs[3] = r->bx;
	s->regs[4] = r->si;
	s->regs[5] = r->di;
	s->regs[HEED_REG_BP] = r->bp;
	s->regs[HEED_REG_SP] = r->sp;
	s->regs[8] = r->r8;
	s->regs[9] = r->r9;
	s->regs[10] = r->r10;
	s->regs[11] = r->r11;
	s->regs[12] = r->r12;
	s->regs[13] = r->r13;
	s->regs[14] = r->r14;
	s->regs[15] = r->r15;
	s->regs[HEED_REG_IP] = r->ip;
	return 0;
}

/* Sends a record of the current task's stacks: kernel return addresses, and the
 * user stack as frame-pointer return addresses or registers plus a stack copy. */
static __always_inline void stack_emit(void *ctx, __u32 kind, __u32 tid, __u64 count)
{
	__u32 cpu = bpf_get_smp_processor_id(), size = sizeof(struct heed_sample);
	struct scratch *sc = bpf_map_lookup_elem(&scratch, &cpu);
	struct task_struct *task = bpf_get_current_task_btf();
	struct heed_sample *s;
	long n;

	if (!sc)
		return;
	s = &sc->s;
	s->kind = kind;
	s->tid = tid;
	s->count = count;
	s->flags = 0;
	s->op = slow_tag(tid);
	s->pid = bpf_get_current_pid_tgid() >> 32;
	s->exec_id = task->self_exec_id;
	s->time = bpf_ktime_get_ns();
	if (bpf_get_current_comm(s->comm, sizeof(s->comm)))
		s->comm[0] = 0;
	s->nuser = s->nkern = s->stack_len = 0;
	n = bpf_get_stack(ctx, s->kips, sizeof(s->kips), 0);
	if (n >= 0) {
		s->nkern = n / 8;
	} else {
		s->flags |= HEED_SAMPLE_F_NO_KERN;
		stat_add(HEED_STACK_K_FAILED, 1);
	}
	if (!task->mm) {
		/* A kernel thread, or a thread past exit_mm(): no user part at all. */
	} else if (stack_bytes) {
		if (user_regs(task, s)) {
			s->flags |= HEED_SAMPLE_F_NO_USER;
			stat_add(HEED_STACK_U_FAILED, 1);
		} else {
			s->flags |= HEED_SAMPLE_F_REGS;
			s->stack_len = copy_stack(sc, s->regs[HEED_REG_SP]);
			size += s->stack_len;
		}
	} else {
		n = bpf_get_stack(ctx, s->uips, sizeof(s->uips), BPF_F_USER_STACK);
		if (n > 0) {
			s->nuser = n / 8;
		} else {
			s->flags |= HEED_SAMPLE_F_NO_USER;
			stat_add(HEED_STACK_U_FAILED, 1);
		}
	}
	if (size > sizeof(*sc))
		return;
	if (bpf_ringbuf_output(&samples, sc, size, rb_flags()))
		stat_add(HEED_STACK_RB_FULL, 1);
}

#endif
