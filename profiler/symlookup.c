/* symlookup.c - what naming code addresses of one big file costs: loads FILE
 * through a symcache (as heed-trace does for a mapping of it) and resolves K
 * pseudo-random file offsets spread over its executable segments, each once (the
 * cache's table answers repeats), then prints the wall time of the first offset
 * (the file's symbols read) and of all of them.
 *
 *   build/bench/symlookup FILE [K]      (default 20000 offsets)
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "procmaps.h"
#include "symcache.h"

#define SEGS_MAX 16

struct seg {
	uint64_t off, len;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The executable PT_LOADs of path, as file offsets. */
static size_t exec_segs(const char *path, struct seg *s)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf = NULL;
	size_t i, nph, n = 0;

	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_getphdrnum(elf, &nph))
		goto cleanup;
	for (i = 0; i < nph && n < SEGS_MAX; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) &&
		    ph.p_filesz)
			s[n++] = (struct seg){ph.p_offset, ph.p_filesz};
	}
cleanup:
	elf_end(elf);
	close(fd);
	return n;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : NULL;
	size_t k = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000, nseg, i;
	struct seg seg[SEGS_MAX];
	struct heed_maps maps = {0};
	struct heed_map m = {0};
	struct heed_symcache_stats st;
	heed_symcache *c = NULL;
	heed_symfile *f = NULL;
	uint64_t seed = 12345;
	double t0, t1, t2;
	struct stat sb;
	int rc = 1;

	if (!path || !k || stat(path, &sb)) {
		fprintf(stderr, "usage: symlookup FILE [K]\n");
		return 2;
	}
	nseg = exec_segs(path, seg);
	if (!nseg) {
		fprintf(stderr, "symlookup: %s: no executable segment\n", path);
		return 1;
	}
	m = (struct heed_map){0,	 (uint64_t)sb.st_size, 0,
			      1,	 major(sb.st_dev),     minor(sb.st_dev),
			      sb.st_ino, (char *)path};
	maps.v = &m;
	maps.n = 1;
	if (heed_symcache_new(&c))
		return 1;
	f = heed_symcache_file(c, &maps, &m);
	if (!f) {
		fprintf(stderr, "symlookup: %s: not loaded\n", path);
		goto cleanup;
	}
	t0 = now_s();
	t1 = t0;
	for (i = 0; i < k; i++) {
		const struct seg *s = &seg[i % nseg];
		const char *const *fr;
		size_t n;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		if (heed_symfile_frames(c, f, s->off + (seed >> 17) % s->len, &fr, &n)) {
			fprintf(stderr, "symlookup: out of memory\n");
			goto cleanup;
		}
		if (!i)
			t1 = now_s();
	}
	t2 = now_s();
	heed_symcache_stats(c, &st);
	printf("symlookup: %s: %zu offsets (%" PRIu64 " distinct): first %.3f ms, all %.3f s, "
	       "%.2f us per offset\n",
	       path, k, st.frames_resolved, (t1 - t0) * 1e3, t2 - t0, (t2 - t0) * 1e6 / (double)k);
	rc = 0;
cleanup:
	if (f)
		heed_symfile_put(c, f);
	heed_symcache_free(c);
	return rc;
}
