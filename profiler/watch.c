/* watch.c - the user side of bpf/watch.bpf.c (see trace.h and bpf/watch.h). */
#include "trace.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfinfo.h"
#include "links.h"
#include "watch.h"
#include "watch.skel.h"

_Static_assert(sizeof(struct heed_watch_event) == 16, "the layout of bpf/watch.h");

/* Dynamic linkers watched at most: one per exec'd program that has its own. */
#define MAX_LINKERS 8

struct heed_watch {
	struct watch_bpf *skel;
	struct ring_buffer *rb;
	struct heed_links links;
	pid_t pid;		    /* the target, or HEED_EVERY_PROCESS */
	char *linkers[MAX_LINKERS]; /* the dynamic linkers watched */
	size_t nlinkers;
	/* What the ring-buffer callback saw since the last poll: the distinct
	 * processes, whether one was stopped, the number of events. */
	struct heed_watch_proc *procs;
	size_t nprocs, cap;
	int stopped, events, nomem;
};

static int on_event(void *ctx, void *data, size_t len)
{
	heed_watch *w = ctx;
	struct heed_watch_event e;
	size_t i;

	if (len < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	w->events++;
	w->stopped |= e.stopped != 0;
	for (i = 0; i < w->nprocs && w->procs[i].pid != (pid_t)e.pid; i++)
		;
	if (i == w->nprocs) {
		if (w->nprocs == w->cap) {
			size_t ncap = w->cap ? w->cap * 2 : 16;
			struct heed_watch_proc *nv = realloc(w->procs, ncap * sizeof(*nv));

			if (!nv) {
				w->nomem = 1;
				return 0;
			}
			w->procs = nv;
			w->cap = ncap;
		}
		w->procs[w->nprocs++] = (struct heed_watch_proc){(pid_t)e.pid, 0};
	}
	w->procs[i].exec |= e.kind == HEED_WATCH_EXEC;
	return 0;
}

int heed_watch_update(heed_watch *w, const struct heed_maps *maps, char *err, size_t errlen)
{
	size_t i, k;
	int rc = 0;

	err[0] = 0;
	for (i = 0; i < maps->n && !rc; i++) {
		const struct heed_map *m = &maps->v[i];
		const char *base = strrchr(m->path, '/');
		struct bpf_uprobe_opts o = {.sz = sizeof(o)};
		struct heed_elf_func *fns = NULL;
		struct bpf_link *l;
		size_t nf = 0;
		int seen = 0;

		/* The dynamic linker: ld-linux-x86-64.so.2, ld-2.36.so, ld-musl-*.so. */
		if (!m->exec || m->path[0] != '/' || !base || strncmp(base + 1, "ld-", 3) != 0)
			continue;
		for (k = 0; k < w->nlinkers && !seen; k++)
			seen = !strcmp(w->linkers[k], m->path);
		if (seen || w->nlinkers == MAX_LINKERS)
			continue;
		if (heed_elf_funcs(m->path, "_dl_debug_state", &fns, &nf) || nf != 1) {
			heed_elf_funcs_free(fns, nf);
			continue;
		}
		l = bpf_program__attach_uprobe_opts(w->skel->progs.heed_watch_library, w->pid,
						    m->path, fns[0].off, &o);
		heed_elf_funcs_free(fns, nf);
		if (!l) {
			rc = -errno;
			snprintf(err, errlen, "cannot attach a uprobe to %s's _dl_debug_state: %s",
				 m->path, strerror(-rc));
			break;
		}
		rc = heed_links_add(&w->links, l);
		if (!rc) {
			w->linkers[w->nlinkers] = strdup(m->path);
			rc = w->linkers[w->nlinkers] ? 0 : -ENOMEM;
			w->nlinkers += !rc;
		}
	}
	return rc;
}

int heed_watch_open(pid_t pid, const struct heed_maps *maps, const heed_select *sel, int stop,
		    heed_watch **out, char *err, size_t errlen)
{
	struct bpf_link *l;
	heed_watch *w;
	int rc;

	*out = NULL;
	err[0] = 0;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->pid = pid;
	w->skel = watch_bpf__open();
	if (!w->skel) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the watch BPF object: %s", strerror(-rc));
		goto cleanup;
	}
	w->skel->rodata->stop = stop ? 1 : 0;
	rc = heed_select_reuse(sel, w->skel->obj, err, errlen);
	if (rc)
		goto cleanup;
	rc = watch_bpf__load(w->skel);
	if (rc) {
		snprintf(err, errlen,
			 "the kernel rejected the watch BPF programs: %s (run with -v for the "
			 "verifier log)",
			 strerror(-rc));
		goto cleanup;
	}
	w->rb = ring_buffer__new(bpf_map__fd(w->skel->maps.events), on_event, w, NULL);
	if (!w->rb) {
		rc = -errno;
		snprintf(err, errlen, "cannot read the watch ring buffer: %s", strerror(-rc));
		goto cleanup;
	}
	l = bpf_program__attach(w->skel->progs.heed_watch_exec);
	if (!l) {
		rc = -errno;
		snprintf(err, errlen, "cannot attach to sched_process_exec: %s", strerror(-rc));
		goto cleanup;
	}
	rc = heed_links_add(&w->links, l);
	if (rc)
		goto cleanup;
	rc = heed_watch_update(w, maps, err, errlen);
	if (rc)
		goto cleanup;
	*out = w;
	w = NULL;
cleanup:
	heed_watch_close(w);
	return rc;
}

int heed_watch_fd(const heed_watch *w)
{
	return ring_buffer__epoll_fd(w->rb);
}

int heed_watch_poll(heed_watch *w, const struct heed_watch_proc **procs, size_t *n, int *stopped)
{
	int rc;

	w->nprocs = 0;
	w->stopped = w->events = w->nomem = 0;
	rc = ring_buffer__consume(w->rb);
	*procs = w->procs;
	*n = w->nprocs;
	*stopped = w->stopped;
	if (rc >= 0 && w->nomem)
		rc = -ENOMEM;
	return rc < 0 ? rc : w->events;
}

uint64_t heed_watch_lost(const heed_watch *w)
{
	uint64_t n = 0;

	return heed_percpu_sum(bpf_map__fd(w->skel->maps.lost), HEED_WATCH_LOST_FULL, &n) ? 0 : n;
}

void heed_watch_close(heed_watch *w)
{
	if (!w)
		return;
	heed_links_destroy(&w->links);
	ring_buffer__free(w->rb);
	watch_bpf__destroy(w->skel);
	while (w->nlinkers)
		free(w->linkers[--w->nlinkers]);
	free(w->procs);
	free(w);
}
