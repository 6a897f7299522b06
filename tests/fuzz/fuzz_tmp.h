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

#endif
