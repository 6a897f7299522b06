/* func.h - what func.bpf.c shares with profiler/func.c (an ABI: no includes). One
 * uprobe and one uretprobe per traced function; the BPF cookie is the function's slot
 * in the histogram array. Each thread keeps a stack of entry times indexed by its
 * call depth over all traced functions, so recursion and nesting time each call once.
 *
 * libheed's functions that time themselves into heed:ops__batch (the HEED_FN_* of
 * core/probe_abi.h) are read from the batch instead: one program per file holding
 * libheed, the file's index (< HEED_FUNC_LIB_FILES) as its cookie, and the map
 * libfns from file * HEED_FN__COUNT + HEED_FN_* to 1 + the function's slot.
 */
#ifndef HEED_BPF_FUNC_H
#define HEED_BPF_FUNC_H

/* Entry times kept per thread; deeper calls are counted lost. A power of two: the
 * BPF side masks indexes with it so the verifier sees them bounded. */
#define HEED_FUNC_DEPTH 32

/* Files holding libheed (the executable, libheed.so) whose batch is read. */
#define HEED_FUNC_LIB_FILES 8

enum {
	HEED_FUNC_LOST_DEEP,	     /* a return deeper than HEED_FUNC_DEPTH: not timed */
	HEED_FUNC_LOST_NO_ENTRY,     /* a return without its entry */
	HEED_FUNC_LOST_THREADS_FULL, /* no room for one more thread's stack */
	HEED_FUNC_LOST_BATCH,	     /* ops__batch records unreadable or too many */
	HEED_FUNC_LOST_SKIPPED,	     /* runs the kernel skipped, from bpf_prog_info */
	HEED_FUNC_LOST_PID_FULL,     /* --per-pid: calls whose process found no room (in
					the totals all the same), counted by user space */
	HEED_FUNC_LOST_MAX,
};

/* Their names in heed-trace's report and --json. */
#define HEED_FUNC_LOST_NAMES                                                                       \
	{                                                                                          \
		[HEED_FUNC_LOST_DEEP] = "func_too_deep",                                           \
		[HEED_FUNC_LOST_NO_ENTRY] = "func_return_without_entry",                           \
		[HEED_FUNC_LOST_THREADS_FULL] = "func_threads_full",                               \
		[HEED_FUNC_LOST_BATCH] = "func_batch_unreadable",                                  \
		[HEED_FUNC_LOST_SKIPPED] = "func_kernel_skipped",                                  \
		[HEED_FUNC_LOST_PID_FULL] = "func_per_pid_full",                                   \
	}

#endif
