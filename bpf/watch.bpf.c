// SPDX-License-Identifier: GPL-2.0
/* watch.bpf.c - tells heed-trace when its target maps new code (see watch.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "watch.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGSTOP 19

const volatile __u32 targ_tgid = 0;
const volatile __u32 stop = 0; /* stop the target until heed-trace attached */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

static __always_inline void tell(__u32 kind)
{
	struct heed_watch_event e = {.kind = kind};

	/* The whole process stops, so no other thread runs the new code first; the
	 * signal is delivered before this thread returns to user space. */
	if (stop)
		e.stopped = !bpf_send_signal(SIGSTOP);
	bpf_ringbuf_output(&events, &e, sizeof(e), 0);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(heed_watch_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == targ_tgid)
		tell(HEED_WATCH_EXEC);
	return 0;
}

/* Attached with the target's pid to the dynamic linker's _dl_debug_state. */
SEC("uprobe")
int heed_watch_library(struct pt_regs *ctx)
{
	tell(HEED_WATCH_LIBRARY);
	return 0;
}
