// SPDX-License-Identifier: GPL-2.0
/* sampler_cpu.bpf.c - on-CPU stack sampling: attached to a cpu-clock perf event on every
 * CPU, sends each sample of a selected task (select.bpf.h) to user space (sampler.bpf.h),
 * which unwinds and counts the stacks. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "sampler.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("perf_event")
int heed_profile(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (!heed_selected())
		return 0;
	stat_add(HEED_STACK_SAMPLES, 1);
	stack_emit(ctx, HEED_SAMPLE_ON, (__u32)id, 1);
	return 0;
}
