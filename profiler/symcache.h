/* symcache.h - symbol data shared by every process that maps the same file: one table
 * per file, not one per process, so that hundreds of processes of the same binaries
 * (heed-trace -a) cost one set of tables for each binary and library.
 *
 * A file is known by its GNU build-id, or by device, inode, modification time and size
 * when it has none: never by its path alone (two containers, or a binary replaced
 * during the trace, put different files at one path). The file a mapping holds is the
 * one at the mapping's path when that file's device and inode are the mapping's (as
 * /proc/PID/maps lists them), else the kernel's own handle on it,
 * /proc/PID/map_files/START-END (needs root, and the process alive): a file replaced
 * or deleted since is still found there. A mapping whose file cannot be found so is
 * never named from whatever sits at its path now.
 *
 * Per file: its ELF symbols and DWARF (inlined frames) through libdw, the symbols
 * also sorted by address at the first lookup (symtab.h), separate debug
 * files as libdw finds them (build-id and debuglink under /usr/lib/debug, debuginfod
 * when DEBUGINFOD_URLS is set), and the frames of each file offset asked, resolved once
 * for all processes. A file no process holds any more stays loaded, its file open,
 * among the 64 most recently released, for the next process of the same program.
 * The kernel's symbols (/proc/kallsyms) are read once per cache.
 *
 * Thread safety: a cache and its files lock themselves; symbolizers (symbolize.h) and
 * unwinders (unwind.h) sharing a cache may run on different threads at once. The
 * unwinders share one ELF handle per file, which libelf does not lock: they run one
 * at a time under the cache's unwind lock.
 */
#ifndef HEED_PROFILER_SYMCACHE_H
#define HEED_PROFILER_SYMCACHE_H

#include <libelf.h>
#include <stddef.h>
#include <stdint.h>

#include "procmaps.h"

typedef struct heed_symcache heed_symcache;
typedef struct heed_symfile heed_symfile;

/* An empty cache holding one reference (its creator's). Returns 0 or -ENOMEM. */
int heed_symcache_new(heed_symcache **out);

/* Takes one more reference on c (returned); every symbolizer and unwinder made with a
 * cache holds one, so the creator may drop its own at any time. */
heed_symcache *heed_symcache_ref(heed_symcache *c);

/* Drops one reference; the last one frees the cache. NULL is allowed. */
void heed_symcache_free(heed_symcache *c);

struct heed_symcache_stats {
	uint64_t files_loaded;	  /* files whose symbol data was set up (once per file) */
	uint64_t files_shared;	  /* mappings served by a file loaded already */
	uint64_t files_missing;	  /* mappings whose file could not be found (see above) */
	uint64_t files_live;	  /* files held now (the idle ones not counted) */
	uint64_t files_idle;	  /* files held by no process now, kept loaded */
	uint64_t frames_resolved; /* file offsets resolved (once per offset): symbol by
				   * a file's sorted table or libdw, DWARF by libdw */
	uint64_t frames_shared;	  /* file offsets answered from a file's table */
};

void heed_symcache_stats(heed_symcache *c, struct heed_symcache_stats *st);

/* The file that mapping m of *maps holds (maps->pid for map_files; 0 when the maps
 * were not read from a process), with a reference: release it with
 * heed_symfile_put. NULL when m is not a file's mapping, its file cannot be found
 * (counted in files_missing), or memory ran out. */
heed_symfile *heed_symcache_file(heed_symcache *c, const struct heed_maps *maps,
				 const struct heed_map *m);

void heed_symfile_put(heed_symcache *c, heed_symfile *f);

/* Frames at file offset off of f, root first: the function, then the frames inlined
 * into it there, innermost last ("name_[i]"); *n == 0 when no symbol covers off.
 * *frames stays valid while the caller holds its reference on f. Returns 0 or
 * -ENOMEM. */
int heed_symfile_frames(heed_symcache *c, heed_symfile *f, uint64_t off, const char *const **frames,
			size_t *n);

/* The unwinders' lock: held around every libdw call of a Dwfl that holds handles
 * from heed_symfile_unwind_elf, dwfl_end included. */
void heed_symcache_unwind_lock(heed_symcache *c);
void heed_symcache_unwind_unlock(heed_symcache *c);

/* With the unwind lock held: a new reference to f's ELF handle for unwinding (one
 * per file, shared by every unwinder: one mapping of the file, one descriptor),
 * released by elf_end (a Dwfl's find_elf hands it to libdw, which does); NULL when
 * libelf cannot read the file. The caller keeps its reference on f until then. */
Elf *heed_symfile_unwind_elf(heed_symfile *f);

/* Name of a kernel address ("name_[k]", "[kernel+0xADDR]_[k]" outside every
 * symbol or without kallsyms), valid while the caller holds its reference on c;
 * NULL on -ENOMEM. */
const char *heed_symcache_kernel(heed_symcache *c, uint64_t addr);

#endif
