/* select.bpf.h - heed_selected(): whether the current task is one heed-trace traces
 * (select.h). Include it in a BPF object; profiler/select.c fills its maps. */
#ifndef HEED_BPF_SELECT_BPF_H
#define HEED_BPF_SELECT_BPF_H

#include "select.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct heed_select_cfg);
} select_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HEED_SELECT_IDS_MAX);
	__type(key, __u32);
	__type(value, __u8);
} select_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HEED_SELECT_IDS_MAX);
	__type(key, __u32);
	__type(value, __u8);
} select_tids SEC(".maps");

/* --cgroup: an fd of the cgroup v2 directory at index 0. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} select_cgroup SEC(".maps");

static __always_inline bool heed_comm_is(const char *want)
{
	char comm[HEED_SELECT_COMM_LEN];
	int i;

	if (bpf_get_current_comm(comm, sizeof(comm)))
		return false;
	for (i = 0; i < HEED_SELECT_COMM_LEN; i++) {
		if (comm[i] != want[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

/* Whether the current task passes every filter of select_cfg (select.h). */
static __always_inline bool heed_selected(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id, zero = 0;
	struct heed_select_cfg *c = bpf_map_lookup_elem(&select_cfg, &zero);

	if (!c)
		return false;
	if ((c->flags & HEED_SELECT_TGID) && !bpf_map_lookup_elem(&select_tgids, &tgid))
		return false;
	if ((c->flags & HEED_SELECT_TID) && !bpf_map_lookup_elem(&select_tids, &tid))
		return false;
	if ((c->flags & HEED_SELECT_CGROUP) &&
	    bpf_current_task_under_cgroup(&select_cgroup, 0) != 1)
		return false;
	if ((c->flags & HEED_SELECT_COMM) && !heed_comm_is(c->comm))
		return false;
	return true;
}

#endif
