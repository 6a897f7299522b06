// SPDX-License-Identifier: GPL-2.0
/* sampler_off.bpf.c - off-CPU time by stack: at sched_switch a selected thread that leaves
 * the CPU (prev is the current task there, select.bpf.h; idle never counts) sends its
 * stacks (HEED_SAMPLE_OUT) and remembers the time; when it runs again (it has an entry
 * in aways, whatever its name is by then) it sends the time it was away
 * (HEED_SAMPLE_IN), which user space adds to the stacks of its last switch-out. A
 * switch-out still runnable (preempted or yielding) says so, its time away is waiting
 * to run, not blocked. With --slow, sched_wakeup also notes when a blocked thread
 * became runnable: the rest of its time away is runqueue latency (heed_sample_in.runq). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "sampler.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct away {
	__u64 out;  /* when the thread left the CPU */
	__u64 woke; /* when it was woken since, or 0 */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct away);
} aways SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(heed_offcpu, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct heed_sample_in in = {.kind = HEED_SAMPLE_IN};
	struct away a = {}, *p;
	__u64 now;
	__u32 tid;

	if (prev->pid && heed_selected()) {
		tid = prev->pid;
		a.out = bpf_ktime_get_ns();
		if (bpf_map_update_elem(&aways, &tid, &a, BPF_ANY))
			stat_add(HEED_STACK_STARTS_FULL, 1);
		else
			/* Preempted between setting a sleeping state and schedule(),
			 * a thread is still on the runqueue. */
			stack_emit(ctx, HEED_SAMPLE_OUT, tid, preempt || prev->__state == 0);
	}
	tid = next->pid;
	p = bpf_map_lookup_elem(&aways, &tid);
	if (p) {
		a = *p;
		bpf_map_delete_elem(&aways, &tid);
		stat_add(HEED_STACK_SAMPLES, 1);
		now = bpf_ktime_get_ns();
		in.tid = tid;
		in.count = now - a.out;
		in.runq = a.woke ? now - a.woke : 0;
		if (bpf_ringbuf_output(&samples, &in, sizeof(in), rb_flags()))
			stat_add(HEED_STACK_RB_FULL, 1);
	}
	return 0;
}

/* A thread that blocked is runnable again (--slow only: loaded with it). A new
 * thread (sched_wakeup_new) needs no program: it has no switch-out to split, nor
 * an operation in flight before it first runs. */
SEC("tp_btf/sched_wakeup")
int BPF_PROG(heed_wakeup, struct task_struct *t)
{
	struct away *p;
	__u32 tid;

	/* The waker is current here: the woken thread was selected if it has an entry. */
	tid = t->pid;
	p = bpf_map_lookup_elem(&aways, &tid);
	if (p && !p->woke)
		p->woke = bpf_ktime_get_ns();
	return 0;
}
