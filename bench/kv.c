/* kv.c - what the kv adapters share (see kv.h). */
#include "kv.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

uint64_t kv_dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t total = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[1024];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0)
			total += S_ISDIR(st.st_mode) ? kv_dir_bytes(path)
						     : (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return total;
}
