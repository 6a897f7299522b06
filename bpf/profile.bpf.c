// SPDX-License-Identifier: GPL-2.0
/* profile.bpf.c - on-CPU stack sampling: attached to a cpu-clock perf event on every
 * CPU, counts (user, kernel) stacks of the target process in kernel. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "stack.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 targ_tgid = 0;

SEC("perf_event")
int heed_profile(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct heed_stack_key key = {.tgid = id >> 32};

	if (key.tgid != targ_tgid)
		return 0;
	stat_add(HEED_STACK_SAMPLES, 1);
	stack_ids(ctx, &key);
	stack_count(&key, 1);
	return 0;
}
