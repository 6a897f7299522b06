/* stack.bpf.h - BPF-side stack capture shared by profile.bpf.c and offcpu.bpf.c. */
#ifndef HEED_BPF_STACK_BPF_H
#define HEED_BPF_STACK_BPF_H

#include "stack.h"

#define HEED_EFAULT 14
#define HEED_EEXIST 17

/* max_entries of both maps are set by user space before load. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, HEED_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct heed_stack_key);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HEED_STACK_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_add(__u32 what, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &what);

	if (v)
		__sync_fetch_and_add(v, n);
}

/* Both stack ids of the current task, failures counted by kind. */
static __always_inline void stack_ids(void *ctx, struct heed_stack_key *key)
{
	key->ustack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (key->ustack == -HEED_EEXIST)
		stat_add(HEED_STACK_U_COLLISION, 1);
	else if (key->ustack < 0)
		stat_add(HEED_STACK_U_FAILED, 1);
	key->kstack = bpf_get_stackid(ctx, &stacks, 0);
	if (key->kstack == -HEED_EEXIST)
		stat_add(HEED_STACK_K_COLLISION, 1);
	else if (key->kstack < 0 && key->kstack != -HEED_EFAULT)
		stat_add(HEED_STACK_K_FAILED, 1);
}

/* Adds n to the stack's count; a full map loses the sample, counted. */
static __always_inline void stack_count(struct heed_stack_key *key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counts, key), zero = 0;

	if (!v) {
		/* -EEXIST here means another CPU inserted it first: fine. */
		bpf_map_update_elem(&counts, key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&counts, key);
		if (!v) {
			stat_add(HEED_STACK_COUNTS_FULL, 1);
			return;
		}
	}
	__sync_fetch_and_add(v, n);
}

#endif
