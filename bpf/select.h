/* select.h - which tasks heed-trace's BPF programs look at (select.bpf.h), shared with
 * profiler/select.c (an ABI: no includes, fixed-size fields).
 *
 * The selection is a conjunction: a task is selected when it passes every filter whose
 * flag is set in struct heed_select_cfg; with no flag set (-a) every task is, kernel
 * threads and the idle tasks included. User space creates the maps once and every BPF
 * object that includes select.bpf.h reuses them (bpf_map__reuse_fd before load), so
 * all programs of one trace see the same set.
 */
#ifndef HEED_BPF_SELECT_H
#define HEED_BPF_SELECT_H

#define HEED_SELECT_TGID   1u /* its process (tgid) is a key of select_tgids (-p) */
#define HEED_SELECT_TID	   2u /* the thread (tid) is a key of select_tids (-t) */
#define HEED_SELECT_CGROUP 4u /* it is in the cgroup v2 of select_cgroup[0] or below */
#define HEED_SELECT_COMM   8u /* its comm (the thread's name) equals comm */

/* Entries of select_tgids and of select_tids. */
#define HEED_SELECT_IDS_MAX  4096
#define HEED_SELECT_COMM_LEN 16 /* the kernel's TASK_COMM_LEN */

/* The one value of the select_cfg array. */
struct heed_select_cfg {
	__u32 flags; /* HEED_SELECT_* */
	__u32 pad;
	char comm[HEED_SELECT_COMM_LEN]; /* NUL-padded */
};

#endif
