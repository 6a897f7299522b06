/* unwind.h - user stacks unwound in user space from a copy (bpf/sampler.h): the
 * registers and the top of the stack a BPF program took at the sample, walked with
 * libdw's CFI unwinder (.eh_frame, .debug_frame, and a separate debug file's for an
 * object without .eh_frame; where an object has no CFI, JIT code for instance, libdw
 * follows the frame pointer).
 *
 * Modules come from a maps snapshot; a pc outside every mapping of the snapshot
 * (a library dlopen'ed since) makes the unwinder read /proc/PID/maps again, at most
 * every HEED_UNWIND_REFRESH_MS, and the latest maps it read are kept for the
 * symbolizer: a process that exits keeps what was last seen. Maps not read from a
 * process (maps->pid 0: the kernel's records, maptrack.h) are never re-read: their
 * owner replaces them with heed_unwinder_set_maps.
 */
#ifndef HEED_PROFILER_UNWIND_H
#define HEED_PROFILER_UNWIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procmaps.h"
#include "symcache.h"

#define HEED_UNWIND_REFRESH_MS 100

typedef struct heed_unwinder heed_unwinder;

/* An unwinder for process pid over a copy of *maps, its files' ELF handles from
 * cache (it holds a reference; NULL: a cache of its own), shared with every other
 * unwinder of the cache: one descriptor and one handle per file however many
 * processes map it. Returns 0, -ENOMEM, or -EINVAL (libdw could not use the maps).
 * Free with heed_unwinder_free.
 *
 * An unwinder is used by one thread at a time; unwinders sharing a cache may be
 * used on different threads, which then take turns (the cache's unwind lock). */
int heed_unwinder_new(heed_symcache *cache, pid_t pid, const struct heed_maps *maps,
		      heed_unwinder **out);

/* Unwinds one sample: regs are the HEED_UNWIND_REGS user registers (bpf/sampler.h),
 * stack the len bytes copied from regs[HEED_REG_SP]. Writes the sampled pc then the
 * return addresses into pcs (at most max) and their number in *n. *complete is 1
 * when the walk reached the outermost frame (the CFI of _start or of a thread's
 * clone says there is no caller), 0 when it stopped before: the copy ended, a pc had
 * neither CFI nor a frame pointer, or max frames. Returns 0 or -ENOMEM. */
int heed_unwinder_run(heed_unwinder *u, const uint64_t *regs, const void *stack, size_t len,
		      uint64_t *pcs, size_t max, size_t *n, int *complete);

/* Replaces the unwinder's maps with a copy of *maps and reports their modules to
 * libdw (modules seen before keep their CFI). Returns 0, -ENOMEM, or -EINVAL (libdw
 * could not use the maps). */
int heed_unwinder_set_maps(heed_unwinder *u, const struct heed_maps *maps);

/* The latest maps the unwinder read (the snapshot it was given at first). */
const struct heed_maps *heed_unwinder_maps(const heed_unwinder *u);

void heed_unwinder_free(heed_unwinder *u);

#endif
