/* select.h - the set of tasks a trace looks at: -a, -p PID[,PID...], -t TID[,TID...],
 * --cgroup PATH, --comm NAME (filters combine with AND), turned into the maps of
 * bpf/select.bpf.h, which every BPF program of the trace shares.
 *
 * Life cycle: heed_select_new checks the options and creates the maps; each BPF
 * object that includes select.bpf.h calls heed_select_reuse between its open and its
 * load; heed_select_free at the end (after the objects, which hold their own
 * references to the maps). Functions return 0 or a negative errno and leave a
 * sentence naming the option and the cause in err.
 *
 * Processes that start during the trace: -p selects the listed processes (all their
 * threads, also ones created later) but not their children, as perf -p; --cgroup
 * selects whatever runs in the cgroup or below it, children included; --comm and -a
 * whatever runs with that name or at all.
 */
#ifndef HEED_PROFILER_SELECT_H
#define HEED_PROFILER_SELECT_H

#include <bpf/libbpf.h>
#include <linux/types.h>
#include <stddef.h>
#include <sys/types.h>

/* By path: this header shares its name with the BPF side's, as every feature does. */
#include "../bpf/select.h"

struct heed_select_opts {
	const pid_t *pids; /* -p: processes, or NULL */
	size_t npids;
	const pid_t *tids; /* -t: threads, or NULL */
	size_t ntids;
	const char *cgroup; /* --cgroup: a cgroup v2 directory, or NULL */
	const char *comm;   /* --comm: a task name, or NULL */
};

typedef struct heed_select heed_select;

/* Parses "ID[,ID...]" (positive integers) into a new array *ids (free() it) of *n
 * distinct ids; opt names the option in err ("-p"). -EINVAL: malformed, or more than
 * HEED_SELECT_IDS_MAX ids. */
int heed_select_parse_ids(const char *opt, const char *arg, pid_t **ids, size_t *n, char *err,
			  size_t errlen);

/* Checks o and creates the maps. No filter at all selects everything (-a). Errors:
 * -ESRCH a listed pid or tid does not exist; -ENOTDIR the cgroup path is not a
 * directory on a cgroup2 mount (err names where cgroup2 is mounted, if it is);
 * -EINVAL an empty comm or one longer than the 15 bytes the kernel keeps; others
 * from the kernel (creating the maps). */
int heed_select_new(const struct heed_select_opts *o, heed_select **out, char *err, size_t errlen);

/* Makes obj (opened, not loaded) use s's maps. -ENOENT: obj has no select maps. */
int heed_select_reuse(const heed_select *s, struct bpf_object *obj, char *err, size_t errlen);

/* Whether every task is selected (no filter: -a). */
int heed_select_everything(const heed_select *s);

/* Whether process pid passes the filters that can be read from user space now
 * (its tgid in -p, its comm, its cgroup; a -t thread of it): 1, 0, or -ESRCH when it
 * is gone. For code that attaches per process what the kernel filter cannot. */
int heed_select_matches(const heed_select *s, pid_t pid);

void heed_select_free(heed_select *s);

#endif
