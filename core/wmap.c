/*
 * wmap.c - the writer's writable map of the data file.
 *
 * A commit used to hand every dirty page to the kernel with pwrite: one
 * system call, one page-cache lookup and one copy per page, which on a
 * virtual machine whose system calls trap to the hypervisor was most of a
 * random write's time (bench/README.md, "Commits through a writable map").
 * Where this file can take it, a commit that mostly reuses pages (txn.c,
 * write_dirty: random updates) copies them into a second, writable shared
 * map of the file instead: no system call, and a fault only the first time
 * this process stores to a page. Pages new to the file still go with pwrite,
 * in runs.
 *
 * What stays as it was: a txn still builds its pages in private buffers
 * (txn.c says why), readers and cursors still get pointers into the
 * read-only map, the meta page is still written with pwrite after the data
 * pages, and fdatasync still orders the two (it writes back pages dirtied
 * through a shared map as it does pages written with pwrite).
 *
 * Only where commits do not sync their data: on tmpfs, or with HEED_NOSYNC.
 * After fdatasync the kernel write-protects the pages it wrote back, so the
 * next store to each faults (ext4's page_mkwrite, a journal handle): on ext4
 * a synced commit of 1000 puts took 2.4 times as long through the map as with
 * pwrite, and one of a single put 1.15 times (bench/README.md).
 *
 * Where a store through the map could fault (SIGBUS) instead of failing with
 * an error, the map is not used either:
 *   - file systems other than ext2/3/4 and tmpfs: a copy-on-write file
 *     system (btrfs, a reflinked XFS file) needs new blocks to overwrite a
 *     page, and a full disk would then kill the process;
 *   - a page of the file that is not known to own its blocks: before a
 *     commit's pages are copied, every byte of the file below them has been
 *     reserved with fallocate (each such byte once). Pages an earlier commit
 *     wrote own theirs already, unless a sparse copy of the file dropped a
 *     block of zeros. A reservation that fails (a full disk) sends that
 *     commit through pwrite, which reports ENOSPC as before;
 *   - HEED_PWRITE, and whenever the map or the file system refuses (an
 *     address space too small for a second map, fallocate unsupported).
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>

/* Turn the map off for this env's life: 0 so the caller writes with pwrite. */
static int wmap_off(heed_env *env)
{
	wmap_drop(env);
	env->wmap_state = WMAP_OFF;
	return 0;
}

static int wmap_open(heed_env *env)
{
	struct statfs fs;
	void *m;

	if ((env->flags & (HEED_PWRITE | HEED_RDONLY)) || fstatfs(env->fd, &fs) < 0)
		return wmap_off(env);
	if (fs.f_type != TMPFS_MAGIC &&
	    (fs.f_type != EXT4_SUPER_MAGIC || !(env->flags & HEED_NOSYNC)))
		return wmap_off(env);
	m = mmap(NULL, env->mapsize, PROT_READ | PROT_WRITE, MAP_SHARED, env->fd, 0);
	if (m == MAP_FAILED)
		return wmap_off(env);
	env->wmap = m;
	env->wmapsize = env->mapsize;
	env->wmap_state = WMAP_ON;
	return 1;
}

int wmap_ready(heed_env *env, uint64_t need)
{
	size_t size = env->filesize;

	if (env->wmap_state == WMAP_OFF)
		return 0;
	if (!env->wmap && !wmap_open(env))
		return 0;
	if (need > env->wmapsize || need > size)
		return 0;
	if (env->wmap_resv < need) {
		if (fallocate(env->fd, 0, (off_t)env->wmap_resv, (off_t)(need - env->wmap_resv)) <
		    0) {
			if (errno == EOPNOTSUPP || errno == ENOSYS)
				return wmap_off(env);
			return 0;
		}
		env->wmap_resv = need;
	}
	return 1;
}

void wmap_drop(heed_env *env)
{
	if (env->wmap)
		munmap(env->wmap, env->wmapsize);
	env->wmap = NULL;
	env->wmapsize = 0;
	if (env->wmap_state == WMAP_ON)
		env->wmap_state = WMAP_UNTRIED;
}
