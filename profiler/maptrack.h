/* maptrack.h - the executable mappings of processes as the kernel tells them, not as
 * /proc shows them later: a process that exits (or execs) before its samples are read
 * keeps the mappings it had when they were taken, as perf record -a learns them.
 *
 * One software dummy perf event per CPU, system-wide (pid -1), sends the kernel's
 * side-band records of every task: PERF_RECORD_MMAP2 for each executable mapping,
 * PERF_RECORD_COMM with PERF_RECORD_MISC_COMM_EXEC at each exec, PERF_RECORD_FORK and
 * PERF_RECORD_EXIT, each stamped with its CLOCK_MONOTONIC time (the clock of
 * bpf_ktime_get_ns, which stamps the samples), and PERF_RECORD_LOST when a ring was
 * full. Records are applied in time order to per-process tables:
 *
 * - a program is one generation of a process: it starts at the process's fork (a copy
 *   of its parent's mappings, when the parent's are known) or at an exec (empty, then
 *   filled by the MMAP2 records the exec and the dynamic linker cause), and ends at
 *   the next exec or at the exit;
 * - only generations that began during the trace are known whole. A process that
 *   was running at the start is known from its first exec on: its mappings from
 *   before are /proc/PID/maps's to tell (the records only say what changes);
 * - mappings are files by path, device and inode as the kernel names them (the host's
 *   mount namespace: a process of another mount namespace that has exited leaves
 *   paths that may not exist here), or anonymous executable memory (JIT code);
 *   munmap is not told, a mapping over an older one replaces the part it covers.
 *
 * Bounded: at most procs_max processes are tracked at once (others are counted as
 * untracked), HEED_MAPTRACK_MAPS_MAX mappings per program; a program that ended (exec
 * or exit) is forgotten once heed_maptrack_retire says the samples taken before its end
 * have all been read.
 *
 * Not thread-safe: one thread uses a tracker at a time.
 */
#ifndef HEED_PROFILER_MAPTRACK_H
#define HEED_PROFILER_MAPTRACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procmaps.h"

/* Processes tracked at once by default; mappings kept per program. */
#define HEED_MAPTRACK_PROCS_DEFAULT 4096
#define HEED_MAPTRACK_MAPS_MAX	    4096
/* How long a program is kept after its end: a sample taken before the end is in the
 * samples' ring buffer within microseconds, so a drain that starts this long after
 * the end has read every sample of it (a ring buffer record is committed by the BPF
 * program that reserved it, before the program returns). */
#define HEED_MAPTRACK_GRACE_NS 1000000000ull

typedef struct heed_maptrack heed_maptrack;

/* Opens the per-CPU events (procs_max 0: HEED_MAPTRACK_PROCS_DEFAULT). Returns 0, or a
 * negative errno with a sentence in err (no permission: needs CAP_PERFMON). */
int heed_maptrack_open(size_t procs_max, heed_maptrack **out, char *err, size_t errlen);

/* Applies the records stamped before the call, in time order; those stamped while
 * it reads the rings wait for the next drain (one of them may be written to a ring
 * read before that of a record it precedes). Returns 0 or -ENOMEM. */
int heed_maptrack_drain(heed_maptrack *t);

/* Queues one record for the drains, applied among the rings' own in time order: a
 * struct perf_event_header whose size is len, its body, then its time (u64), as the
 * rings hold them (maptrack.c); the first drain that begins after that time applies
 * it. For records read elsewhere: tests feed records in orders the rings give only
 * now and then. Returns 0, -EINVAL (not such a record), -ENOMEM. */
int heed_maptrack_queue(heed_maptrack *t, const void *rec, size_t len);

/* What the tracker knows of the program process pid ran at time (CLOCK_MONOTONIC ns). */
struct heed_maptrack_prog {
	uint64_t start;	  /* its fork or exec */
	uint64_t version; /* changes with every mapping added */
	int live;	  /* still running that program: no exec or exit told since */
};

/* 1 with *prog when the tracker knows every mapping of pid's program at time, 0
 * when it does not (the process ran before the trace, or is untracked). */
int heed_maptrack_find(const heed_maptrack *t, pid_t pid, uint64_t time,
		       struct heed_maptrack_prog *prog);

/* The mappings of that program now, as /proc/PID/maps text parsed into *m (m->pid 0:
 * files are opened by path, there is no map_files to fall back on). Returns 0, -ENOENT
 * (not known, see _find), -ENOMEM. Free with heed_maps_free. */
int heed_maptrack_maps(const heed_maptrack *t, pid_t pid, uint64_t time, struct heed_maps *m);

/* Forgets the programs that ended before now - HEED_MAPTRACK_GRACE_NS; now is when a
 * drain of the samples' ring buffer began that ran until it was empty. */
void heed_maptrack_retire(heed_maptrack *t, uint64_t now);

struct heed_maptrack_stats {
	uint64_t lost;	       /* records the kernel could not write (rings full) */
	uint64_t untracked;    /* processes not tracked: procs_max were */
	uint64_t maps_dropped; /* mappings beyond HEED_MAPTRACK_MAPS_MAX, or unusable */
	uint64_t procs;	       /* processes tracked now */
};

void heed_maptrack_stats(const heed_maptrack *t, struct heed_maptrack_stats *st);

/* Closes the events and frees everything; NULL is allowed. */
void heed_maptrack_close(heed_maptrack *t);

#endif
