/* procmaps.h - a snapshot of /proc/PID/maps: the text as read (for libdw, which can
 * report modules from it after the process is gone) and its parsed mappings.
 */
#ifndef HEED_PROFILER_PROCMAPS_H
#define HEED_PROFILER_PROCMAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct heed_map {
	uint64_t start, end, off;      /* [start, end) maps file offset off */
	int exec;		       /* mapped executable */
	uint64_t dev_major, dev_minor; /* the file's device, as the kernel lists it */
	uint64_t ino;		       /* its inode; 0 for anonymous memory */
	char *path;		       /* "/usr/lib/..", "[vdso]", or "" for anonymous memory */
};

struct heed_maps {
	char *text; /* the maps file as read, NUL-terminated */
	size_t len;
	struct heed_map *v; /* sorted by start, as the kernel lists them */
	size_t n;
	pid_t pid; /* the process read (heed_maps_read), 0 for parsed text */
};

/* Reads /proc/pid/maps into *m. Returns 0, -ESRCH (no such process), -ENOMEM, or
 * -EINVAL when a line cannot be parsed. Free with heed_maps_free. */
int heed_maps_read(pid_t pid, struct heed_maps *m);

/* Parses maps text (copied) into *m. Returns 0, -ENOMEM or -EINVAL. */
int heed_maps_parse(const char *text, size_t len, struct heed_maps *m);

/* A copy of *src (pid included) into *dst. Returns 0, -ENOMEM or -EINVAL. */
int heed_maps_copy(const struct heed_maps *src, struct heed_maps *dst);

/* The mapping holding addr, or NULL. */
const struct heed_map *heed_maps_find(const struct heed_maps *m, uint64_t addr);

/* Reads /proc/pid/maps again into *m when addr lies outside every mapping of *m
 * (a library mapped since) and the last read, *last (CLOCK_MONOTONIC seconds,
 * updated), is at least min_s old: an address that no mapping will ever hold costs
 * one read per min_s. A process that is gone keeps *m. Returns 1 when *m was
 * replaced, else 0. */
int heed_maps_refresh(pid_t pid, struct heed_maps *m, uint64_t addr, double min_s, double *last);

/* Releases what *m holds; a zeroed or freed *m is allowed. */
void heed_maps_free(struct heed_maps *m);

#endif
