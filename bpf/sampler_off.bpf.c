// SPDX-License-Identifier: GPL-2.0
/* sampler_off.bpf.c - off-CPU time by stack: at sched_switch a selected thread that leaves
 * the CPU (prev is the current task there, select.bpf.h; idle never counts) sends its
 * stacks (HEED_SAMPLE_OUT) and remembers the time; when it runs again (it has an entry
 * in aways, whatever its name is by then) it sends the time it was away
 * (HEED_SAMPLE_IN), which user space adds to the stacks of its last switch-out. A
 * switch-out still runnable (TASK_RUNNING: preempted or yielding) says so, its time
 * away is waiting to run, not blocked. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "sampler.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} aways SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(heed_offcpu, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct heed_sample_in in = {.kind = HEED_SAMPLE_IN};
	__u64 ts, *p;
	__u32 tid;

	if (prev->pid && heed_selected()) {
		tid = prev->pid;
		ts = bpf_ktime_get_ns();
		if (bpf_map_update_elem(&aways, &tid, &ts, BPF_ANY))
			stat_add(HEED_STACK_STARTS_FULL, 1);
		else
			stack_emit(ctx, HEED_SAMPLE_OUT, tid, prev->__state == 0);
	}
	tid = next->pid;
	p = bpf_map_lookup_elem(&aways, &tid);
	if (p) {
		ts = *p;
		bpf_map_delete_elem(&aways, &tid);
		stat_add(HEED_STACK_SAMPLES, 1);
		in.tid = tid;
		in.count = bpf_ktime_get_ns() - ts;
		if (bpf_ringbuf_output(&samples, &in, sizeof(in), rb_flags()))
			stat_add(HEED_STACK_RB_FULL, 1);
	}
	return 0;
}
