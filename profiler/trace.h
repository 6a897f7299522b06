/* trace.h - heed-trace's tracing features, each the user side of one BPF program:
 *
 *   ops/usdt (usdt.bpf.c)  --ops and --usdt: latency histograms from USDT probes
 *   func     (func.bpf.c)  --func: uprobe + uretprobe latency per function
 *   stacks   (sampler_cpu.bpf.c, sampler_off.bpf.c)  --profile and --offcpu
 *
 * Every feature follows the BPF life cycle open -> size maps -> load -> attach, in
 * its *_open function, reads its maps in *_read (any number of times) and detaches
 * and frees everything in *_close (NULL allowed). Functions return 0 or a negative
 * errno and leave a sentence naming the object and the cause in err.
 */
#ifndef HEED_PROFILER_TRACE_H
#define HEED_PROFILER_TRACE_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lathist.h"
#include "links.h"
#include "procmaps.h"
#include "select.h"
#include "slow.h"
#include "symcache.h"

enum heed_ops_source {
	HEED_OPS_NONE,	     /* --ops not asked, or the target has no heed probes */
	HEED_OPS_BATCH,	     /* heed:ops__batch, records folded in kernel */
	HEED_OPS_START_DONE, /* heed:*__start / *__done pairs, one uprobe hit each */
};

typedef struct heed_usdt heed_usdt;

/* A process whose binaries are traced, and its maps. */
struct heed_proc_maps {
	pid_t pid;
	const struct heed_maps *maps;
};

/* Attaches --ops (when ops) and one slot per probe matching each "PROV:NAME[:argN]"
 * spec (NAME a glob; a "X__start"/"X__done" pair becomes one timed slot "PROV:X") in
 * the executables and libraries the nprocs processes map (each binary once,
 * whichever processes map it), once per (binary, probe), in the processes of to
 * (links.h: listed ones, or every process mapping the binary); whichever, the BPF
 * programs count only the tasks sel (select.h) selects. Some processes without
 * heed probes: err names them while the call succeeds; with none having any, *src
 * is HEED_OPS_NONE and the call still succeeds if --usdt attached something or
 * nusdt == 0 (-ENOENT when nothing matched and no spec waits for later code).
 * Without later, -ENOENT when a spec matches nothing; with later (heed_usdt_refresh
 * will see code mapped later) that is allowed and heed_usdt_unmatched tells at the
 * end. With per_pid the programs also keep a histogram per process and slot in the
 * kernel (heed_usdt_read_procs); without, they are the programs of before. specs must
 * outlive the returned object. */
int heed_usdt_open(const struct heed_pids *to, const struct heed_proc_maps *procs, size_t nprocs,
		   const heed_select *sel, int ops, int per_pid, char *const *specs, size_t nspecs,
		   int later, heed_usdt **out, enum heed_ops_source *src, char *err, size_t errlen);
/* Attaches what maps (read again after an exec or a dlopen, or of one more process)
 * newly holds for --ops and the specs; *src as for open. Returns the number of
 * probes newly attached (err then lists their files, "" for none), -E2BIG when the
 * histogram map is full, or an attach error (err says which). */
int heed_usdt_refresh(heed_usdt *u, const struct heed_maps *maps, enum heed_ops_source *src,
		      char *err, size_t errlen);
/* The first spec that has matched no probe so far, or NULL. */
const char *heed_usdt_unmatched(const heed_usdt *u);
/* The op histograms (HEED_USDT_OPS, named get put del cursor commit sync) then one
 * per --usdt slot; *lost gets the HEED_USDT_LOST_MAX counters. The array is owned by
 * u and refreshed by each call. */
int heed_usdt_read(heed_usdt *u, const struct heed_named_hist **h, size_t *n, uint64_t *lost);
/* With per_pid: the histograms of each selected process as the last heed_usdt_read
 * read them (slot: the index of its array), sorted by pid then slot, owned by u; none
 * without per_pid. The totals heed_usdt_read gives are their sums plus the events
 * whose process found no room in the kernel's map (HEED_PID_HISTS_MAX keys of
 * bpf/lathist.h), which lost's HEED_USDT_LOST_PID_FULL counts. */
void heed_usdt_read_procs(const heed_usdt *u, const struct heed_proc_hist **v, size_t *n);
void heed_usdt_close(heed_usdt *u);

typedef struct heed_func heed_func;

/* Attaches a uprobe and a uretprobe to each function matching any glob in the files
 * the nprocs processes map, once per (file, offset), in the processes of to (as
 * heed_usdt_open, per_pid too); "LIB:GLOB" limits a glob to
 * mapped files whose name starts with LIB ("libc:malloc"), a bare glob searches the
 * executable and every library; an IFUNC is attached at the implementation the
 * process mapping it resolved it to. -ENOENT: a glob matched nothing (allowed with
 * later, as for heed_usdt_open). globs must outlive the returned object. */
int heed_func_open(const struct heed_pids *to, const struct heed_proc_maps *procs, size_t nprocs,
		   const heed_select *sel, int per_pid, char *const *globs, size_t nglobs,
		   int later, heed_func **out, char *err, size_t errlen);
/* Attaches the functions that p's maps newly hold; returns their number or an
 * error (see heed_usdt_refresh). */
int heed_func_refresh(heed_func *f, const struct heed_proc_maps *p, char *err, size_t errlen);
const char *heed_func_unmatched(const heed_func *f);
int heed_func_read(heed_func *f, const struct heed_named_hist **h, size_t *n, uint64_t *lost);
/* As heed_usdt_read_procs, for heed_func_read's slots (HEED_FUNC_LOST_PID_FULL). */
void heed_func_read_procs(const heed_func *f, const struct heed_proc_hist **v, size_t *n);
void heed_func_close(heed_func *f);

typedef struct heed_watch heed_watch;

/* Watches pid (or, with -1, every process) for new code: an exec,
 * or the dynamic linker (found in maps) having mapped a program's or a dlopen's
 * libraries. With stop, the process is stopped (SIGSTOP) at each event until
 * heed_watch_poll's caller has attached to the new code and sent SIGCONT. */
int heed_watch_open(pid_t pid, const struct heed_maps *maps, const heed_select *sel, int stop,
		    heed_watch **out, char *err, size_t errlen);
/* An fd that polls readable when events are pending. */
int heed_watch_fd(const heed_watch *w);
/* A process that mapped new code. */
struct heed_watch_proc {
	pid_t pid;
	int exec; /* it exec'd: a new program */
};
/* Consumes pending events: *procs (owned by w, valid until the next poll) gets the
 * distinct processes they came from, *n of them; *stopped is set when one was
 * stopped. Returns the number of events or a negative errno. */
int heed_watch_poll(heed_watch *w, const struct heed_watch_proc **procs, size_t *n, int *stopped);
/* Events the ring buffer had no room for: code mapped then may not be traced. */
uint64_t heed_watch_lost(const heed_watch *w);
/* Watches the dynamic linker of maps too when it is a new one (after an exec). */
int heed_watch_update(heed_watch *w, const struct heed_maps *maps, char *err, size_t errlen);
void heed_watch_close(heed_watch *w);

typedef struct heed_sampler heed_sampler;

/* How user stacks are walked. */
enum heed_unwind {
	HEED_UNWIND_AUTO,  /* DWARF (below): right with or without frame pointers */
	HEED_UNWIND_FP,	   /* frame pointers, walked in the kernel: cheapest, wrong
			    * (callers skipped) in code built without them */
	HEED_UNWIND_DWARF, /* registers and the top of the stack copied at the sample,
			    * unwound by heed-trace with libdw from the objects' CFI */
};

#define HEED_UNWIND_STACK_DEFAULT 32768 /* bytes of user stack copied per sample */

struct heed_sampler_opts {
	int offcpu;	 /* 0: on-CPU samples at hz on every CPU; 1: off-CPU time */
	unsigned int hz; /* on-CPU only */
	enum heed_unwind unwind;
	unsigned int stack_bytes; /* DWARF: 4096..HEED_STACK_COPY_MAX; 0: the default */
	int slow_fd;		  /* --slow: heed_slow_threads_fd, or 0 */
	const heed_select *sel;	  /* the tasks sampled (select.h) */
	size_t procs_max;	  /* processes with user-space state; 0: the default */
	heed_symcache *symcache;  /* DWARF: the files, shared with the symbolizers;
				     NULL: the sampler's own */
};

/* Processes whose maps and unwinder a sampler keeps at once by default; with many
 * processes, 16 times as many programs that have ended keep their maps alone. */
#define HEED_SAMPLER_PROCS_DEFAULT 1024

struct heed_sampler_stats {
	uint64_t samples;	 /* profile: samples; offcpu: switches back onto a CPU */
	uint64_t u_failed;	 /* samples without any user stack (not readable) */
	uint64_t truncated;	 /* samples whose user stack goes on above what was unwound */
	uint64_t k_failed;	 /* samples whose kernel stack could not be read */
	uint64_t dropped;	 /* records lost: ring buffer full, switch table full, bad */
	uint64_t prog_misses;	 /* runs the kernel skipped (another BPF program was active) */
	enum heed_unwind unwind; /* what ran: DWARF, or FP (asked, or auto without CFI
				  * unwinding for this process) */
	uint64_t unwound;	 /* DWARF: samples unwound, and the time it took */
	uint64_t unwind_ns;
	uint64_t procs;		/* processes with state now */
	uint64_t procs_dropped; /* samples of processes beyond procs_max: no user frames */
	/* Many processes (maptrack.h): mapping records the kernel could not write
	 * (its rings full), and programs or mappings not tracked (the caps): a
	 * process of them that exits before its samples are read loses user frames. */
	uint64_t maps_lost, maps_untracked;
};

/* One distinct stack, as counted: pcs holds nuser user addresses, the sampled one
 * first then return addresses, followed by nkern kernel addresses, innermost first. */
#define HEED_RAW_TRUNCATED 1u /* the user stack goes on above pcs[nuser - 1] */
#define HEED_RAW_NO_USER   2u /* no user stack could be read */
#define HEED_RAW_NO_KERN   4u /* the kernel stack could not be read */
#define HEED_RAW_RUNNABLE  8u /* off-CPU while runnable: waiting to run, not blocked */

struct heed_raw_stack {
	uint64_t count;	     /* samples, or ns off-CPU */
	uint64_t slow, fast; /* --slow: of count, held by slow and fast operations */
	uint32_t nuser, nkern, flags;
	pid_t pid;	  /* the process (tgid); 0 the idle task */
	uint64_t exec_id; /* which program of pid (an exec makes a new one); 0 with one
			   * process traced, whose maps are re-read instead */
	char comm[16];	  /* the thread's name at the sample, NUL-terminated */
	uint64_t pcs[];
};

/* Loads and attaches the sampler for the tasks of o->sel; records are read and
 * unwound by a thread of its own until the first _stats, _stacks or _maps call,
 * which stop the sampling. Each sampled process gets user-space state (its maps,
 * its unwinder) at its first sample, from its maps then, and a new one at its first
 * sample after an exec (a new program), each kept after it exits or execs. Many
 * processes: the maps of a sample's program as they were at the sample, from
 * /proc/PID/maps while it runs that program, else from the mappings the kernel
 * told (maptrack.h); a process that ran before the trace and exits before its
 * first sample is read loses its user frames ("[lost user stack]"). At most
 * o->procs_max processes have a full state at once, and 16 times as many programs
 * that have ended (all their samples read) their maps alone; samples of others are
 * counted (procs_dropped) with their kernel frames only.
 * With pid > 0 and maps, pid's state is made now from maps (the process traced
 * alone: an unwinder that cannot be set up is an error, or with --unwind auto
 * makes the whole trace walk frame pointers). */
int heed_sampler_open(pid_t pid, const struct heed_maps *maps, const struct heed_sampler_opts *o,
		      heed_sampler **out, char *err, size_t errlen);
int heed_sampler_stats(heed_sampler *p, struct heed_sampler_stats *st);
/* The distinct stacks with a count (owned by p), and the latest maps seen of process
 * pid: the snapshot at its first sample, or the maps re-read since when an address
 * fell outside it; NULL when it has none (a kernel thread, idle, no room). */
int heed_sampler_stacks(heed_sampler *p, const struct heed_raw_stack *const **v, size_t *n);
const struct heed_maps *heed_sampler_maps(heed_sampler *p, pid_t pid, uint64_t exec_id);
/* While sampling or after: copies the latest maps of pid (its program exec_id, as
 * the stacks say) to *maps (free with heed_maps_free). Returns 0, -ENOENT (no state
 * for it) or -ENOMEM. */
int heed_sampler_maps_copy(heed_sampler *p, pid_t pid, uint64_t exec_id, struct heed_maps *maps);
/* Forgets the processes that have exited or exec'd another program and have no
 * stack counted since the last take (theirs were taken and symbolized), so that the
 * state of a long trace stays bounded by the live processes. */
void heed_sampler_prune(heed_sampler *p);
/* --slow: the stacks held by slow (slow = 1) or fast operations, with their count
 * in that profile (owned by p); the ring buffer heed_slow_attach sends the ends of
 * operations through; what was held per slot. */
int heed_sampler_slow_stacks(heed_sampler *p, int slow, const struct heed_raw_stack *const **v,
			     size_t *n);
/* --slow, offcpu: the blocked stacks (not runnable) of slot's slow operations, with
 * their time in them as count (owned by p). */
int heed_sampler_slow_blocked(heed_sampler *p, size_t slot, const struct heed_raw_stack *const **v,
			      size_t *n);
int heed_sampler_rb_fd(const heed_sampler *p);
struct heed_sampler_slow {
	uint64_t held[HEED_SLOW_MAX][2];     /* per slot: counts held by [fast, slow] operations */
	uint64_t runnable[HEED_SLOW_MAX][2]; /* of held, off-CPU while runnable */
	uint64_t overflow;		     /* samples dropped: a thread's held buffer was full */
	uint64_t orphans;		     /* samples dropped: their operation's end never came */
};
int heed_sampler_slow_stats(heed_sampler *p, struct heed_sampler_slow *st);
/* While sampling goes on (before any _stats, _stacks or _maps call): moves the stacks
 * counted since the open or the last take to *v (n of them, each with a count; free
 * with heed_raw_stacks_free), so that memory stays flat over a long trace (the maps
 * of their processes: heed_sampler_maps_copy). Returns 0, -EINVAL (sampling has
 * stopped), -ENOMEM or the reader's error. */
int heed_sampler_take(heed_sampler *p, struct heed_raw_stack ***v, size_t *n);
void heed_raw_stacks_free(struct heed_raw_stack **v, size_t n);
void heed_sampler_close(heed_sampler *p);

typedef struct heed_slow heed_slow;

/* --slow OP:THRESHOLD (slow.c). An op is a heed operation (get put del cursor
 * commit: heed's start/done probes), PROV:NAME (the USDT pair NAME__start and
 * NAME__done), or func:NAME (a uprobe and a uretprobe); THRESHOLD a time (ns us ms
 * s) or pNN (0 < NN < 100, from the op's live histogram). Returns 0 or -EINVAL with
 * a sentence in err. */
struct heed_slow_spec {
	char *prov, *name; /* prov NULL: func:NAME */
	const char *arg;   /* the option as given */
	uint64_t thresh_ns;
	double pct; /* 0: thresh_ns */
};
int heed_slow_parse(const char *arg, struct heed_slow_spec *out, char *err, size_t errlen);
void heed_slow_spec_free(struct heed_slow_spec *s);

/* Creates the map the samplers share (pass heed_slow_threads_fd to them), then
 * heed_slow_attach loads and attaches once they are open. */
int heed_slow_new(const struct heed_slow_spec *specs, size_t n, heed_slow **out, char *err,
		  size_t errlen);
int heed_slow_threads_fd(const heed_slow *s);
/* rb_on / rb_off: the samplers' ring buffer fds, or -1. Attaches each spec to the
 * first file of pid that has it (the executable, then its mapped libraries) and
 * starts the pNN thread. -ENOENT: a spec is in no file; with later
 * (heed_slow_refresh will see code mapped later) that is allowed and
 * heed_slow_unmatched tells at the end. */
int heed_slow_attach(heed_slow *s, pid_t pid, const struct heed_maps *maps, int rb_on, int rb_off,
		     int later, char *err, size_t errlen);
/* Attaches the specs not attached yet to what maps (read again after an exec or a
 * dlopen) holds. A spec attached stays on its file: after an exec, the new program's
 * copy of it is not traced. Returns 0 or an attach error (err says which). */
int heed_slow_refresh(heed_slow *s, const struct heed_maps *maps, char *err, size_t errlen);
/* The first spec not attached so far, or NULL. */
const struct heed_slow_spec *heed_slow_unmatched(const heed_slow *s);
struct heed_slow_op {
	uint64_t ops, slow, slow_ns, full, lost_ends, thresh_ns;
};
/* Stops the pNN thread; the counters of slot i. */
int heed_slow_read(heed_slow *s, size_t i, struct heed_slow_op *op);
void heed_slow_close(heed_slow *s);

#endif
