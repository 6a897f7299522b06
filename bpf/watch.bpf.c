// SPDX-License-Identifier: GPL-2.0
/* watch.bpf.c - tells heed-trace when its target maps new code (see watch.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "select.bpf.h"
#include "watch.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGSTOP 19

const volatile __u32 stop = 0; /* stop the target until heed-trace attached */

/* 16 KiB: 512 events between two reads (a burst of execs under -a). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16384);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HEED_WATCH_LOST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

static __always_inline void tell(__u32 kind)
{
	struct heed_watch_event e = {.kind = kind,
				     .pid = (__u32)(bpf_get_current_pid_tgid() >> 32)};
	__u32 full = HEED_WATCH_LOST_FULL;
	__u64 *n;

	/* The whole process stops, so no other thread runs the new code first; the
	 * signal is delivered before this thread returns to user space. */
	if (stop)
		e.stopped = !bpf_send_signal(SIGSTOP);
	if (bpf_ringbuf_output(&events, &e, sizeof(e), 0)) {
		n = bpf_map_lookup_elem(&lost, &full);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(heed_watch_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (heed_selected())
		tell(HEED_WATCH_EXEC);
	return 0;
}

/* Attached to the dynamic linker's _dl_debug_state, in the target or in every
 * process (then the selection says whose calls count). */
SEC("uprobe")
int heed_watch_library(struct pt_regs *ctx)
{
	if (heed_selected())
		tell(HEED_WATCH_LIBRARY);
	return 0;
}
