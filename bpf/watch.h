/* watch.h - what watch.bpf.c shares with profiler/watch.c (an ABI: no includes).
 * A traced process mapping new code: an exec (sched_process_exec) or the dynamic
 * linker announcing a changed library list (its _dl_debug_state hook, called after
 * the libraries of a program or of a dlopen are mapped). Each is one ring-buffer
 * event naming the process; with the stop knob set the process is also stopped
 * (SIGSTOP) before it runs on, so heed-trace attaches to the new code before it can
 * run, then lets it go (SIGCONT).
 */
#ifndef HEED_BPF_WATCH_H
#define HEED_BPF_WATCH_H

#define HEED_WATCH_EXEC	   1 /* the target exec'd: a new program */
#define HEED_WATCH_LIBRARY 2 /* the dynamic linker changed the library list */

struct heed_watch_event {
	__u32 kind;    /* HEED_WATCH_* */
	__u32 stopped; /* 1: the process was sent SIGSTOP */
	__u32 pid;     /* the process (tgid) */
	__u32 pad;
};

/* Indexes of the counters of the lost array. */
enum {
	HEED_WATCH_LOST_FULL, /* the ring buffer was full: an event is missing */
	HEED_WATCH_LOST_MAX,
};

#endif
