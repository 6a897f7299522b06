/* symbolize.h - addresses to frame names with libdw (user) and /proc/kallsyms (kernel).
 *
 * User addresses resolve through the modules of a maps snapshot (procmaps.h), so a
 * process that has exited is still symbolized as long as its files exist. Names follow
 * flamegraph.pl's annotations: inlined frames end in "_[i]", kernel frames in "_[k]".
 * vDSO addresses are named from heed-trace's own vDSO, the same kernel image.
 * An address without a symbol becomes "[module+0xOFF]" (OFF the file offset) or
 * "[unknown+0xADDR]" outside every mapping: frames are never dropped. Results are
 * cached per address, and per file offset in the shared cache (symcache.h): the same
 * function in 200 processes of one binary is looked up once. C++ and legacy Rust names
 * (_ZN..17h<hash>E) are demangled
 * (__cxa_demangle; the Rust hash dropped). JIT code (anonymous memory) is named from
 * a perf map when one is loaded. Separate debug files are found by build-id and
 * debuglink under /usr/lib/debug, and through debuginfod when DEBUGINFOD_URLS is set
 * (heed-trace unsets it unless --debuginfod).
 */
#ifndef HEED_PROFILER_SYMBOLIZE_H
#define HEED_PROFILER_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procmaps.h"
#include "symcache.h"

typedef struct heed_sym heed_sym;

/* A symbolizer of one process over the mappings in *maps (copied; maps->pid, when
 * set, lets a file replaced or deleted since be found, see symcache.h), asking the
 * files' names of cache (it holds a reference) or, when cache is NULL, of a cache of
 * its own. Returns 0 or -ENOMEM. Free with heed_sym_free.
 *
 * A heed_sym is used by one thread at a time; heed_syms sharing a cache may be used
 * on different threads at once. */
int heed_sym_new(heed_symcache *cache, const struct heed_maps *maps, heed_sym **out);

void heed_sym_free(heed_sym *s);

/* Loads a perf map (/tmp/perf-PID.map: "START SIZE NAME" lines, START and SIZE in
 * hex, as node --perf-basic-prof, python -X perf and JVM agents write them) to name
 * addresses in anonymous memory or outside every mapping. The file must be a
 * regular file owned by root or by owner (the target's user), not a symbolic link:
 * anyone can create files in /tmp. Lines that do not parse are skipped and counted
 * in *bad. Returns 0, -ENOENT (no such file: nothing to load), -EPERM (another
 * owner, a link, not a regular file), -ENOMEM or another negative errno. */
int heed_sym_perfmap(heed_sym *s, const char *path, uid_t owner, size_t *bad);

/* Frames of one user address, root first: the function, then any frames inlined into
 * it at addr, innermost last. is_return: addr is a return address (looked up at
 * addr - 1, inside the call). *frames stays valid until heed_sym_free. Returns 0 or
 * -ENOMEM. */
int heed_sym_user(heed_sym *s, uint64_t addr, int is_return, const char *const **frames, size_t *n);

/* Name of a kernel address ("name_[k]"), valid until heed_sym_free; NULL on -ENOMEM.
 * kallsyms is read on first use, once per cache. */
const char *heed_sym_kernel(heed_sym *s, uint64_t addr);

#endif
