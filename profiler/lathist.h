/* lathist.h - user side of the in-kernel latency histograms (layout in bpf/lathist.h):
 * summing the per-CPU copies, bucket bounds, percentiles, bcc-style text and JSON.
 */
#ifndef HEED_PROFILER_LATHIST_H
#define HEED_PROFILER_LATHIST_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* By path: this header shares its name with the BPF side's, as every feature does. */
#include "../bpf/lathist.h"
#include "json.h"

/* Reads slot `key` of a BPF_MAP_TYPE_PERCPU_ARRAY of struct heed_hist and sums every
 * CPU's copy into *out. Returns 0 or a negative errno of the lookup. */
int heed_hist_read(int map_fd, __u32 key, struct heed_hist *out);

/* Sums the per-CPU __u64 values of `key` in a per-CPU array map into *sum.
 * Returns 0 or a negative errno of the lookup. */
int heed_percpu_sum(int map_fd, __u32 key, uint64_t *sum);

/* Runs of a loaded program that the kernel skipped because another BPF program
 * was running on that CPU (bpf_prog_info.recursion_misses); 0 if unknown. */
uint64_t heed_prog_misses(int prog_fd);

/* One named histogram: what the features report. */
struct heed_named_hist {
	char *name;
	struct heed_hist h;
};

/* The histograms of one BPF map, slot i named v[i].name. */
struct heed_hists {
	struct heed_named_hist *v;
	size_t n;
};

/* The slot of the histogram called name, appended (zeroed) when new, into *slot.
 * Returns 0 or -ENOMEM. */
int heed_hists_slot(struct heed_hists *t, const char *name, size_t *slot);

/* Adds the events of from to to. */
void heed_hist_merge(struct heed_hist *to, const struct heed_hist *from);

/* Adds slot i of map_fd (as heed_hist_read) to v[i].h, for each i below n and t->n:
 * the held_hists of usdt.bpf.c and func.bpf.c. Returns 0 or the first lookup's
 * negative errno. */
int heed_hists_add(struct heed_hists *t, int map_fd, size_t n);

/* Refreshes every v[i].h from slot i of map_fd (as heed_hist_read). Returns 0 or the
 * first lookup's negative errno. */
int heed_hists_read(struct heed_hists *t, int map_fd);

/* Frees the names and the array; t is left empty. */
void heed_hists_free(struct heed_hists *t);

/* --per-pid: one process's histogram of one slot (bpf/lathist.h's pid_hists). */
struct heed_proc_hist {
	pid_t pid;
	char comm[16]; /* its name at its first event, NUL-terminated */
	size_t slot;   /* the slot's index in the feature's struct heed_hists */
	struct heed_hist h;
};

struct heed_proc_hists {
	struct heed_proc_hist *v; /* sorted by pid, then slot */
	size_t n;
};

/* Replaces t's entries with those of map_fd (a hash of struct heed_pid_key to struct
 * heed_pid_hist) whose slot is below nslots: the map's bytes are not trusted, an entry
 * naming no slot is left out. Returns 0, -ENOMEM or a lookup's negative errno. */
int heed_proc_hists_read(struct heed_proc_hists *t, int map_fd, size_t nslots);

/* Frees the array; t is left empty. */
void heed_proc_hists_free(struct heed_proc_hists *t);

/* --per-pid: the feature's histograms t hold only the events whose process found no
 * room in the kernel's map (bpf/pidhist.bpf.h); returns their number, and makes t the
 * totals by adding each process's histogram of p to its slot's. */
uint64_t heed_proc_hists_fold(struct heed_hists *t, const struct heed_proc_hists *p);

/* The bucket of value v, as the BPF side computes it. */
unsigned int heed_hist_bucket(uint64_t v);

/* Bounds [lo, hi) of bucket b (b < HEED_HIST_BUCKETS). */
void heed_hist_bounds(unsigned int b, uint64_t *lo, uint64_t *hi);

/* The p-th percentile (0 < p <= 100) as the highest value of the bucket holding it,
 * so it is exact within that bucket's width; 0 for an empty histogram. */
uint64_t heed_hist_pct(const struct heed_hist *h, double p);

/* Prints h as the bcc tools do: one row per power of two, count and a bar, then
 * count, errors, mean and p50/p90/p99. */
void heed_hist_print(FILE *f, const char *title, const struct heed_hist *h);

/* {"count":..,"errors":..,"mean_ns":..,"p50_ns":..,"p90_ns":..,"p99_ns":..,
 * "hist":[{"lo_ns":..,"hi_ns":..,"count":..},...]} with every non-empty bucket;
 * NULL when out of memory. */
json_t *heed_hist_json(const struct heed_hist *h);

#endif
