/*
 * dirs.h - directories the tools write their results into.
 */
#ifndef HEED_UTIL_DIRS_H
#define HEED_UTIL_DIRS_H

/* Create path and every missing parent (mode 0755), as mkdir -p. Returns 0
 * (also when it exists), -ENAMETOOLONG, or the -errno of the mkdir that
 * failed (-ENOTDIR when a component is a file). */
int heed_mkdirs(const char *path);

#endif
