/* lathist.h - the latency histogram shared by every BPF program and heed-trace (an ABI:
 * plain fixed-size fields, no includes; __u64 comes from vmlinux.h in BPF and from
 * <linux/types.h> in user space, which _Static_asserts the size).
 *
 * Layout: log2 buckets split into HEED_HIST_SUB linear sub-buckets (HDR style), so a
 * value is known within 1/8 of its power of two (12.5%). Bucket b holds
 *   b < 8:   exactly the value b (ns);
 *   b >= 8:  e = b / 8 + 2, s = b % 8: [2^e + s * 2^(e-3), 2^e + (s + 1) * 2^(e-3)).
 * The largest 64-bit value lands in bucket 495, so 512 buckets cover every u64.
 */
#ifndef HEED_BPF_LATHIST_H
#define HEED_BPF_LATHIST_H

#define HEED_HIST_SUB_BITS 3
#define HEED_HIST_SUB	   8
#define HEED_HIST_BUCKETS  512

struct heed_hist {
	__u64 count;  /* events recorded */
	__u64 errors; /* of those, failed (rc != 0, not "not found" or "key exists") */
	__u64 sum_ns; /* sum of latencies, for the mean */
	__u64 slots[HEED_HIST_BUCKETS];
};

/* --per-pid: a hash map of histograms keyed by process and slot (usdt.bpf.c, func.bpf.c),
 * filled next to the slot's histogram over all processes. Bounded: an event whose key
 * finds the map full is counted lost (*_per_pid_full) and stays in the total. */
#define HEED_PID_HISTS_MAX 4096

struct heed_pid_key {
	__u32 tgid;
	__u32 slot; /* as in the feature's histogram array */
};

struct heed_pid_hist {
	char comm[16]; /* the process's name (its main thread's) at its first event */
	struct heed_hist h;
};

#endif
