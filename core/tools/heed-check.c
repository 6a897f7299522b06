/*
 * heed-check PATH - verify the structure of a heed environment.
 *
 * Checks both meta pages (one whose checksum holds must have every field in
 * bounds and its pages in the file), then walks every page of the newest
 * snapshot (check.c): tree order, page and node bounds, overflow runs, db
 * record counts, the freelist, and that every page is used exactly once. Exit 0 when clean, 1 with
 * the first violation (a damaged file: bad meta, magic, size or page), 2 on a usage or I/O error.
 */
#include "heed.h"
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void report(void *arg, const char *msg)
{
	fprintf(stderr, "heed-check: %s: %s\n", (const char *)arg, msg);
}

/* -h and --help print to stdout and succeed; a usage error prints to stderr. */
static int usage(FILE *f)
{
	fprintf(f, "usage: heed-check PATH\n"
		   "  PATH: an environment directory, or a data file (NOSUBDIR)\n"
		   "exit: 0 clean, 1 a violation (printed), 2 usage or I/O error\n");
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	const char *path;
	heed_env *env = NULL;
	heed_envinfo info;
	struct stat st;
	size_t pages = 0;
	unsigned int flags = HEED_RDONLY;
	int rc, ret = 2;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return usage(stdout);
	if (argc != 2 || argv[1][0] == '-')
		return usage(stderr);
	path = argv[1];
	if (stat(path, &st) < 0) {
		fprintf(stderr, "heed-check: %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (S_ISREG(st.st_mode))
		flags |= HEED_NOSUBDIR;
	rc = heed_env_create(&env);
	if (!rc)
		rc = heed_env_set_maxdbs(env, 0);
	if (!rc)
		rc = heed_env_open(env, path, flags, 0644);
	if (rc) {
		fprintf(stderr, "heed-check: %s: cannot open: %s\n", path, heed_strerror(rc));
		/* A damaged file (bad magic, size, version, meta) is a
		 * violation; a missing or unreadable one is an I/O error. */
		ret = (rc == HEED_CORRUPTED || rc == HEED_INVALID || rc == HEED_VERSION_MISMATCH)
			      ? 1
			      : 2;
		goto out;
	}
	rc = heed_env_check(env, report, (void *)path, &pages);
	if (rc == 0)
		rc = heed_env_info(env, &info);
	if (rc == 0) {
		printf("%s: clean: %zu pages checked, last txn %zu\n", path, pages,
		       info.last_txnid);
		ret = 0;
	} else if (rc == 1) {
		ret = 1;
	} else {
		fprintf(stderr, "heed-check: %s: %s\n", path, heed_strerror(rc));
		ret = (rc == HEED_CORRUPTED) ? 1 : 2;
	}
out:
	heed_env_close(env);
	return ret;
}
