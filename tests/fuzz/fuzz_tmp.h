/*
 * fuzz_tmp.h - where the fuzz targets keep their environment files: a fresh
 * directory under $HEED_FUZZ_TMP, else /dev/shm (a tmpfs: an ext4 file that
 * is truncated or unlinked is written back, which would cut the executions
 * per second several times), else /tmp. Removed at exit; a crashing run
 * leaves it behind for inspection.
 */
#ifndef HEED_FUZZ_TMP_H
#define HEED_FUZZ_TMP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Fills buf with a new directory path; returns buf, or NULL (errno set). */
static inline char *fuzz_mkdtemp(char *buf, size_t len, const char *name)
{
	const char *base = getenv("HEED_FUZZ_TMP");
	if (!base || !*base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(buf, len, "%s/heed-%s-XXXXXX", base, name);
	return mkdtemp(buf);
}

/* A target's data file (opened with HEED_NOSUBDIR) and its lock file, in
 * the directory fuzz_env_path makes on first use. */
static char fuzz_dir[256], fuzz_path[300], fuzz_lockpath[320];

static inline void fuzz_files_remove(void)
{
	unlink(fuzz_path);
	unlink(fuzz_lockpath);
	rmdir(fuzz_dir);
}

/* The data file's path for the next input, with the previous input's lock
 * file removed; the files go at exit. NULL (errno set) if the directory
 * cannot be made. */
static inline const char *fuzz_env_path(const char *name)
{
	if (!fuzz_path[0]) {
		if (!fuzz_mkdtemp(fuzz_dir, sizeof(fuzz_dir), name))
			return NULL;
		snprintf(fuzz_path, sizeof(fuzz_path), "%s/data.heed", fuzz_dir);
		snprintf(fuzz_lockpath, sizeof(fuzz_lockpath), "%s-lock", fuzz_path);
		atexit(fuzz_files_remove);
	}
	unlink(fuzz_lockpath);
	return fuzz_path;
}

#endif
