/* symscale.c - what symbolizing the same stacks costs in 1 and in N processes of one
 * binary: starts N copies of /usr/bin/python3.11 (Debian's: libc has its DWARF in
 * libc6-dbg), takes a maps snapshot of each, symbolizes the same K file offsets of
 * python3.11's and libc's code in every one of them (each process its own heed_sym,
 * as heed-trace -a does, all sharing one symcache), and prints the wall time, the
 * growth of our resident memory with all symbolizers alive and the cache's counts.
 * Then an unwinder per process (sharing the cache) unwinds one empty sample at each
 * of K/10 of those offsets, which makes libdw find each file's CFI: time, memory and
 * the descriptors it holds.
 *
 *   build/bench/symscale [N [K]]      (default 50 processes, 2000 offsets per file)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/types.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procmaps.h"
#include "sampler.h"
#include "symbolize.h"
#include "unwind.h"

#define PYTHON "/usr/bin/python3.11"

struct child {
	pid_t pid;
	int in; /* its stdin: closing it ends the child */
	struct heed_maps maps;
	heed_sym *sym;
	heed_unwinder *unw;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_fds(void)
{
	char path[64];
	int fd, n = 0;

	for (fd = 0; fd < 65536; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

/* A python3.11 that prints a line once started (libc and all mapped) and waits for
 * the end of its stdin. */
static int start(struct child *c)
{
	int in[2], out[2];
	char b;

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (c->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(PYTHON, PYTHON, "-c", "import sys; print(flush=True); sys.stdin.read()",
		      (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	if (read(out[0], &b, 1) != 1) {
		close(out[0]);
		return -ECHILD;
	}
	close(out[0]);
	return 0;
}

static int is_file(const char *path, const char *base)
{
	const char *b = strrchr(path, '/');

	return b && !strcmp(b + 1, base);
}

/* Symbolizes k offsets spread over each executable mapping of python3.11 and libc;
 * counts the frames named (not "[file+0x..]"). */
static int run(heed_sym *s, const struct heed_maps *m, size_t k, size_t *named)
{
	size_t i, j;

	for (i = 0; i < m->n; i++) {
		const struct heed_map *x = &m->v[i];

		if (!x->exec || (!is_file(x->path, "python3.11") && !is_file(x->path, "libc.so.6")))
			continue;
		for (j = 0; j < k; j++) {
			uint64_t a = x->start + (x->end - x->start) / k * j;
			const char *const *fr;
			size_t n;
			int err = heed_sym_user(s, a, 1, &fr, &n);

			if (err)
				return err;
			*named += n && fr[0][0] != '[';
		}
	}
	return 0;
}

/* Unwinds an empty sample at k offsets spread over the same mappings as run(). */
static int unwind(heed_unwinder *u, const struct heed_maps *m, size_t k)
{
	uint64_t regs[HEED_UNWIND_REGS] = {0}, pcs[4];
	size_t i, j, n;
	int complete;

	for (i = 0; i < m->n; i++) {
		const struct heed_map *x = &m->v[i];

		if (!x->exec || (!is_file(x->path, "python3.11") && !is_file(x->path, "libc.so.6")))
			continue;
		for (j = 0; j < k; j++) {
			regs[HEED_REG_IP] = x->start + (x->end - x->start) / k * j;
			regs[HEED_REG_SP] = 0x1000;
			if (heed_unwinder_run(u, regs, pcs, 0, pcs, 4, &n, &complete))
				return -ENOMEM;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 50,
	       k = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000;
	struct child *c = calloc(n, sizeof(*c));
	struct heed_symcache_stats st;
	heed_symcache *cache = NULL;
	size_t i, named = 0;
	long rss0;
	double t0;
	int err = 0, fds0;

	if (!c || !n || !k) {
		fprintf(stderr, "usage: symscale [N [K]]\n");
		free(c);
		return 2;
	}
	for (i = 0; i < n && !err; i++)
		err = start(&c[i]);
	for (i = 0; i < n && !err; i++)
		err = heed_maps_read(c[i].pid, &c[i].maps);
	if (!err)
		err = heed_symcache_new(&cache);
	rss0 = rss_kib();
	t0 = now_s();
	for (i = 0; i < n && !err; i++) {
		err = heed_sym_new(cache, &c[i].maps, &c[i].sym);
		if (!err)
			err = run(c[i].sym, &c[i].maps, k, &named);
	}
	if (!err) {
		heed_symcache_stats(cache, &st);
		printf("symscale: %zu processes, %zu offsets per file: %.3f s, RSS +%ld KiB, "
		       "%zu frames named; files loaded %" PRIu64 ", shared %" PRIu64
		       ", offsets resolved %" PRIu64 ", shared %" PRIu64 "\n",
		       n, k, now_s() - t0, rss_kib() - rss0, named, st.files_loaded,
		       st.files_shared, st.frames_resolved, st.frames_shared);
	}
	rss0 = rss_kib();
	fds0 = count_fds();
	t0 = now_s();
	for (i = 0; i < n && !err; i++) {
		err = heed_unwinder_new(cache, c[i].pid, &c[i].maps, &c[i].unw);
		if (!err)
			err = unwind(c[i].unw, &c[i].maps, k / 10 ? k / 10 : 1);
	}
	if (!err)
		printf("symscale: %zu unwinders, %zu pcs per file: %.3f s, RSS +%ld KiB, "
		       "%d more descriptors\n",
		       n, k / 10 ? k / 10 : 1, now_s() - t0, rss_kib() - rss0, count_fds() - fds0);
	else
		fprintf(stderr, "symscale: %s\n", strerror(-err));
	for (i = 0; i < n; i++) {
		heed_unwinder_free(c[i].unw);
		heed_sym_free(c[i].sym);
		heed_maps_free(&c[i].maps);
		if (c[i].pid > 0) {
			close(c[i].in);
			waitpid(c[i].pid, NULL, 0);
		}
	}
	heed_symcache_free(cache);
	free(c);
	return err ? 1 : 0;
}
