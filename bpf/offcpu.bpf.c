// SPDX-License-Identifier: GPL-2.0
/* offcpu.bpf.c - off-CPU time by stack: at sched_switch a target thread that leaves
 * the CPU records its stacks and the time; when it runs again the time it was away is
 * added to those stacks, in nanoseconds. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "stack.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 targ_tgid = 0;

struct away {
	__u64 ts;
	struct heed_stack_key key;
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
	struct away a = {}, *p;
	__u32 tid;

	if (prev->tgid == targ_tgid) {
		tid = prev->pid;
		a.ts = bpf_ktime_get_ns();
		a.key.tgid = targ_tgid;
		stack_ids(ctx, &a.key);
		if (bpf_map_update_elem(&aways, &tid, &a, BPF_ANY))
			stat_add(HEED_STACK_STARTS_FULL, 1);
	}
	if (next->tgid == targ_tgid) {
		tid = next->pid;
		p = bpf_map_lookup_elem(&aways, &tid);
		if (!p)
			return 0;
		a = *p;
		bpf_map_delete_elem(&aways, &tid);
		stat_add(HEED_STACK_SAMPLES, 1);
		stack_count(&a.key, bpf_ktime_get_ns() - a.ts);
	}
	return 0;
}
