/*
 * heed-copy [-c] [-n] SRC [DST] - hot backup of a heed environment, as
 * LMDB's mdb_copy: heed_env_copy2 to DST, or heed_env_copyfd2 to stdout
 * when DST is omitted. -c compacts (no free pages, pages renumbered).
 *
 * SRC is an environment directory or a data file (then NOSUBDIR is
 * implied, as -n says explicitly). DST is then a directory, created when
 * missing (its parent must exist), or the copy's data file. Exit 0 on
 * success, 1 on a failed copy, 2 on a usage error.
 */
#include "heed.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* -h and --help print to stdout and succeed; a usage error prints to stderr. */
static int usage(FILE *f)
{
	fprintf(f, "usage: heed-copy [-c] [-n] SRC [DST]\n"
		   "  copy the newest commit of the environment SRC to DST (stdout if omitted)\n"
		   "  -c  compact: write only the pages of the trees, renumbered, no free pages\n"
		   "  -n  SRC and DST are data files, not directories (implied by a file SRC)\n"
		   "  DST must not hold a copy yet; a missing directory DST is created\n");
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	unsigned int flags = HEED_RDONLY, cpflags = 0;
	const char *src, *dst;
	heed_env *env = NULL;
	struct stat st;
	int opt, rc;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return usage(stdout);
	while ((opt = getopt(argc, argv, "cnh")) != -1) {
		switch (opt) {
		case 'c':
			cpflags |= HEED_CP_COMPACT;
			break;
		case 'n':
			flags |= HEED_NOSUBDIR;
			break;
		default:
			return usage(stderr);
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage(stderr);
	src = argv[optind];
	dst = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (stat(src, &st) < 0) {
		fprintf(stderr, "heed-copy: %s: %s\n", src, strerror(errno));
		return 1;
	}
	if (S_ISREG(st.st_mode))
		flags |= HEED_NOSUBDIR;
	if (!dst && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "heed-copy: refusing to write a database to a terminal\n");
		return 2;
	}
	if (dst && !(flags & HEED_NOSUBDIR) && mkdir(dst, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "heed-copy: %s: cannot create the directory: %s\n", dst,
			strerror(errno));
		return 1;
	}
	/* A closed reader of stdout makes write fail with EPIPE, reported. */
	signal(SIGPIPE, SIG_IGN);
	rc = heed_env_create(&env);
	if (!rc)
		rc = heed_env_set_maxdbs(env, 0);
	if (!rc)
		rc = heed_env_open(env, src, flags, 0644);
	if (rc) {
		fprintf(stderr, "heed-copy: %s: cannot open: %s\n", src, heed_strerror(rc));
		heed_env_close(env);
		return 1;
	}
	rc = dst ? heed_env_copy2(env, dst, cpflags)
		 : heed_env_copyfd2(env, STDOUT_FILENO, cpflags);
	heed_env_close(env);
	if (rc == EEXIST) {
		fprintf(stderr,
			"heed-copy: %s: already holds a data file; a copy never replaces one\n",
			dst);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "heed-copy: %s -> %s: %s\n", src, dst ? dst : "stdout",
			heed_strerror(rc));
		return 1;
	}
	return 0;
}
