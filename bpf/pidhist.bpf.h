/* pidhist.bpf.h - --per-pid: the latency histograms of each process (struct heed_pid_key
 * to struct heed_pid_hist, bpf/lathist.h), in place of a feature's histograms over all
 * processes, which keep only what finds no room (pid_hist_or). Include it in the BPF
 * object of a feature that has --per-pid programs.
 */
#ifndef HEED_BPF_PIDHIST_BPF_H
#define HEED_BPF_PIDHIST_BPF_H

#include "lathist.h"

/* max_entries is set by user space: 1 without --per-pid, whose programs never touch
 * the map. Allocated as processes come: prealloc would take HEED_PID_HISTS_MAX values
 * of 4 KiB each at load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, HEED_PID_HISTS_MAX);
	__type(key, struct heed_pid_key);
	__type(value, struct heed_pid_hist);
} pid_hists SEC(".maps");

/* The zeros a new entry starts from: a heed_hist does not fit on the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct heed_pid_hist);
} pid_zero SEC(".maps");

/* The current process's histogram for slot, made the first time with the process's
 * name (its main thread's); NULL when the map is full. Callers look it up once per run
 * of records of one slot, as they do the total's. */
static __always_inline struct heed_hist *pid_hist(__u32 slot)
{
	struct heed_pid_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .slot = slot};
	struct heed_pid_hist *v = bpf_map_lookup_elem(&pid_hists, &k);
	struct task_struct *task;
	__u32 zero = 0;
	void *z;

	if (v)
		return &v->h;
	z = bpf_map_lookup_elem(&pid_zero, &zero);
	if (!z)
		return NULL;
	bpf_map_update_elem(&pid_hists, &k, z, BPF_NOEXIST);
	v = bpf_map_lookup_elem(&pid_hists, &k);
	if (!v)
		return NULL;
	/* Two threads may both get here first: both write the same name. */
	task = bpf_get_current_task_btf();
	bpf_probe_read_kernel_str(v->comm, sizeof(v->comm), task->group_leader->comm);
	return &v->h;
}

/* Where an event of slot goes under --per-pid: its process's histogram or, when the
 * map is full, slot of totals (the feature's histogram array, which then holds only
 * such events: user space counts them lost and adds the processes' to them for the
 * totals). One pointer, not one per histogram: a second nullable pointer carried
 * through a chunk's 16 records doubles the verifier's states at each, past its
 * million instructions. */
static __always_inline struct heed_hist *pid_hist_or(__u32 slot, void *totals)
{
	struct heed_hist *h = pid_hist(slot);

	return h ? h : bpf_map_lookup_elem(totals, &slot);
}

#endif
