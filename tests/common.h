/*
 * common.h - helpers shared by libheed's API-level test suites (header only,
 * so every suite links without an extra object).
 *
 * - a seeded PRNG (splitmix64): every randomized test calls test_seed(),
 *   which prints the seed and takes HEED_SEED from the environment to replay;
 * - a temporary directory under /tmp, made with mkdtemp and removed whole
 *   (kept when HEED_KEEP_TMP=1, to inspect a failure);
 * - HEED_OK / HEED_RC assertions that name the failing call and its code;
 * - env_open_dir() (env_open.h), and run_heed_check() which runs heed-check
 *   (heed_check_path).
 *
 * Criterion runs each test in its own process, so a test may keep its state
 * in file-scope variables. Code that runs in a forked child must not use
 * cr_assert: it reports through its exit status instead.
 */
#ifndef HEED_TESTS_COMMON_H
#define HEED_TESTS_COMMON_H

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "env_open.h"
#include "heed.h"
#include "parse.h"

struct rng {
	uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. The modulo bias is irrelevant for tests. */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

/* Uniform in [lo, hi]. */
static inline uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	return lo + rng_below(r, hi - lo + 1);
}

static inline void rng_fill(struct rng *r, void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)rng_next(r);
}

/* The seed of a randomized test: HEED_SEED if set, else from the clock and
 * pid. Printed so a failure can be replayed. */
static inline uint64_t test_seed(const char *test)
{
	const char *env = getenv("HEED_SEED");
	struct timespec ts;
	uint64_t seed;

	if (env && *env) {
		cr_assert_eq(heed_parse_u64(env, &seed), 0, "HEED_SEED=%s: not a whole number",
			     env);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
		       ((uint64_t)getpid() << 32);
	}
	fprintf(stderr, "%s: seed %" PRIu64 " (replay with HEED_SEED=%" PRIu64 ")\n", test, seed,
		seed);
	return seed;
}

#define HEED_OK(expr)                                                                              \
	do {                                                                                       \
		int rc_ = (expr);                                                                  \
		cr_assert_eq(rc_, 0, "%s returned %d: %s", #expr, rc_, heed_strerror(rc_));        \
	} while (0)

#define HEED_RC(expr, want)                                                                        \
	do {                                                                                       \
		int rc_ = (expr), want_ = (want);                                                  \
		cr_assert_eq(rc_, want_, "%s returned %d (%s), expected %d (%s)", #expr, rc_,      \
			     heed_strerror(rc_), want_, heed_strerror(want_));                     \
	} while (0)

static inline heed_val hv(const void *data, size_t size)
{
	heed_val v = {.size = size, .data = (void *)data};

	return v;
}

static inline heed_val hs(const char *s)
{
	return hv(s, strlen(s));
}

/* Make a fresh directory /tmp/heed-<what>-XXXXXX into buf. */
static inline void tmpdir_make(char *buf, size_t len, const char *what)
{
	int n = snprintf(buf, len, "/tmp/heed-%s-XXXXXX", what);

	cr_assert(n > 0 && (size_t)n < len, "temp dir name for %s too long", what);
	cr_assert_not_null(mkdtemp(buf), "mkdtemp %s: %s", buf, strerror(errno));
}

static inline int tmpdir_unlink_one(const char *path, const struct stat *st, int type,
				    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Remove a temp dir and everything under it; an empty path is ignored.
 * HEED_KEEP_TMP=1 keeps it (and says where) to inspect a failure. */
static inline void tmpdir_remove(const char *path)
{
	const char *keep = getenv("HEED_KEEP_TMP");

	if (!path || !*path)
		return;
	if (keep && *keep == '1') {
		fprintf(stderr, "kept %s (HEED_KEEP_TMP=1)\n", path);
		return;
	}
	nftw(path, tmpdir_unlink_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The heed-check binary: $HEED_BUILD/bin/heed-check, else the one of the
 * build this suite belongs to (suites live in BUILD/tests, heed-check in
 * BUILD/bin), so that `make BUILD=x test` never checks with another build's. */
static inline const char *heed_check_path(void)
{
	static char path[512];
	const char *build = getenv("HEED_BUILD");
	char self[480];
	ssize_t n;

	if (build && *build) {
		snprintf(path, sizeof(path), "%s/bin/heed-check", build);
		return path;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "%s/../bin/heed-check", dirname(self));
	return path;
}

/* Run heed-check on path with its output in logbuf (NUL-terminated,
 * truncated to len). Returns its exit status, or -1 when it could not be
 * run or died by a signal (logbuf then says why). */
static inline int run_heed_check(const char *path, char *logbuf, size_t len)
{
	const char *bin = heed_check_path();
	int fds[2], status;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	logbuf[0] = '\0';
	if (access(bin, X_OK) != 0) {
		snprintf(logbuf, len, "%s: %s (build it first, or set HEED_BUILD)", bin,
			 strerror(errno));
		return -1;
	}
	if (pipe(fds) != 0) {
		snprintf(logbuf, len, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(logbuf, len, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execl(bin, bin, path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], logbuf + used, len - 1 - used)) > 0) {
		used += (size_t)n;
		if (used == len - 1) {
			char sink[512];

			while (read(fds[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	logbuf[used] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0) {
		snprintf(logbuf, len, "waitpid heed-check: %s", strerror(errno));
		return -1;
	}
	if (WIFSIGNALED(status)) {
		snprintf(logbuf + used, len - used, "[heed-check killed by signal %d]",
			 WTERMSIG(status));
		return -1;
	}
	return WEXITSTATUS(status);
}

#define HEED_CHECK_CLEAN(path)                                                                     \
	do {                                                                                       \
		char log_[4096];                                                                   \
		int st_ = run_heed_check((path), log_, sizeof(log_));                              \
		cr_assert_eq(st_, 0, "heed-check %s exited %d: %s", (path), st_, log_);            \
	} while (0)

#endif
