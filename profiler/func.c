/* func.c - --func: the user side of bpf/func.bpf.c (see trace.h). */
#include "trace.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfinfo.h"
#include "func.h"
#include "func.skel.h"
#include "links.h"

/* Two perf events (uprobe and uretprobe) per function: keep the fd count sane. */
#define MAX_FUNCS 1000

struct heed_func {
	struct func_bpf *skel;
	struct heed_links links;
	struct heed_hists h;
};

struct target_fn {
	const char *path; /* points into the maps */
	uint64_t off;
	size_t slot;
};

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* "libc" names libc.so.6 and libc-2.36.so, not libcrypto.so. */
static int lib_matches(const char *lib, const char *path)
{
	const char *b = base_name(path);
	size_t l = strlen(lib);

	return !strncmp(b, lib, l) && (b[l] == 0 || b[l] == '.' || b[l] == '-');
}

/* The implementation the IFUNC fn of path resolved to in pid: the pointer the
 * dynamic linker stored in the file's IRELATIVE slot for fn's resolver, read from
 * the process and mapped back to a file and offset. -ENOENT when the file has no
 * such slot, -ESRCH/-EIO/-EFAULT when the process cannot be read or the pointer is
 * not in an executable file mapping (not resolved yet). */
static int resolve_ifunc(pid_t pid, const struct heed_maps *maps, const char *path,
			 const struct heed_elf_func *fn, const char **ipath, uint64_t *ioff)
{
	const struct heed_map *m = NULL, *im;
	uint64_t slot, delta, impl;
	char mem[64];
	size_t i;
	int fd, err;

	err = heed_elf_ifunc_slot(path, fn->addr, &slot, &delta);
	if (err)
		return err;
	for (i = 0; i < maps->n && !m; i++)
		if (!strcmp(maps->v[i].path, path))
			m = &maps->v[i];
	if (!m)
		return -ENOENT;
	snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)pid);
	fd = open(mem, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = pread(fd, &impl, sizeof(impl), (off_t)(m->start - m->off - delta + slot)) ==
			      sizeof(impl)
		      ? 0
		      : -EIO;
	close(fd);
	if (err)
		return err;
	im = heed_maps_find(maps, impl);
	if (!im || !im->exec || im->path[0] != '/')
		return -EFAULT;
	*ipath = im->path;
	*ioff = impl - im->start + im->off;
	return 0;
}

/* Resolves every glob into (file, offset, slot) triples. */
static int plan(heed_func *f, pid_t pid, const struct heed_maps *maps, char *const *globs,
		size_t nglobs, struct target_fn **out, size_t *nout, char *err, size_t errlen)
{
	struct target_fn *v = NULL;
	size_t cnt = 0, g, i, k, j;
	char exe[4096], link[64];
	ssize_t el;
	int rc = 0;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	el = readlink(link, exe, sizeof(exe) - 1);
	exe[el > 0 ? el : 0] = 0;
	for (g = 0; g < nglobs; g++) {
		const char *glob = globs[g], *colon = strchr(glob, ':');
		char lib[256] = "";
		const char *unresolved = NULL;
		int matched = 0;

		if (colon) {
			if ((size_t)(colon - glob) >= sizeof(lib) || !colon[1]) {
				snprintf(err, errlen, "--func %s: expected GLOB or LIB:GLOB", glob);
				rc = -EINVAL;
				goto cleanup;
			}
			memcpy(lib, glob, colon - glob);
			lib[colon - glob] = 0;
			glob = colon + 1;
		}
		for (i = 0; i < maps->n; i++) {
			const char *path = maps->v[i].path;
			struct heed_elf_func *fns = NULL;
			size_t nf = 0;
			int seen = 0;

			if (!maps->v[i].exec || path[0] != '/' ||
			    (lib[0] && !lib_matches(lib, path)))
				continue;
			for (k = 0; k < i && !seen; k++)
				seen = maps->v[k].exec && !strcmp(maps->v[k].path, path);
			if (seen || heed_elf_funcs(path, glob, &fns, &nf))
				continue;
			for (j = 0; j < nf; j++) {
				const char *fpath = path;
				uint64_t off = fns[j].off;
				char name[512];
				struct target_fn *nv;
				size_t slot;
				int dup = 0;

				/* An IFUNC is traced at what its resolver chose for this
				 * process: probing the resolver would count relocations. */
				if (fns[j].ifunc &&
				    resolve_ifunc(pid, maps, path, &fns[j], &fpath, &off)) {
					unresolved = unresolved ? unresolved : fns[j].name;
					continue;
				}
				matched = 1;
				/* One uprobe pair per function, however many globs match it:
				 * a second would count each call twice. */
				for (k = 0; k < cnt && !dup; k++)
					dup = v[k].off == off && !strcmp(v[k].path, fpath);
				if (dup)
					continue;

				if (!strcmp(path, exe))
					snprintf(name, sizeof(name), "%s", fns[j].name);
				else
					snprintf(name, sizeof(name), "%s:%s", base_name(path),
						 fns[j].name);
				rc = heed_hists_slot(&f->h, name, &slot);
				if (!rc && cnt >= MAX_FUNCS) {
					snprintf(
						err, errlen,
						"--func %s: matches more than %d functions; narrow "
						"the glob",
						globs[g], MAX_FUNCS);
					rc = -E2BIG;
				}
				nv = rc ? NULL : realloc(v, (cnt + 1) * sizeof(*v));
				if (!nv) {
					rc = rc ? rc : -ENOMEM;
					heed_elf_funcs_free(fns, nf);
					goto cleanup;
				}
				v = nv;
				v[cnt++] = (struct target_fn){fpath, off, slot};
			}
			heed_elf_funcs_free(fns, nf);
		}
		if (!matched && unresolved) {
			snprintf(err, errlen,
				 "--func %s: %s is an IFUNC and pid %d has no resolved pointer to "
				 "it in its file (it never calls it); name its implementation",
				 globs[g], unresolved, (int)pid);
			rc = -ENOENT;
			goto cleanup;
		}
		if (!matched) {
			snprintf(err, errlen,
				 "--func %s: no function matches in pid %d's executable or "
				 "libraries",
				 globs[g], (int)pid);
			rc = -ENOENT;
			goto cleanup;
		}
	}
	*out = v;
	*nout = cnt;
	return 0;
cleanup:
	free(v);
	return rc;
}

int heed_func_open(pid_t pid, const struct heed_maps *maps, char *const *globs, size_t nglobs,
		   heed_func **out, char *err, size_t errlen)
{
	struct target_fn *fns = NULL;
	size_t nfns = 0, i;
	heed_func *f;
	int rc;

	*out = NULL;
	err[0] = 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	rc = plan(f, pid, maps, globs, nglobs, &fns, &nfns, err, errlen);
	if (rc)
		goto cleanup;
	f->skel = func_bpf__open();
	if (!f->skel) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the func BPF object: %s", strerror(-rc));
		goto cleanup;
	}
	bpf_map__set_max_entries(f->skel->maps.hists, (__u32)f->h.n);
	rc = func_bpf__load(f->skel);
	if (rc) {
		snprintf(err, errlen,
			 "the kernel rejected the func BPF programs: %s (run with -v for the "
			 "verifier log)",
			 strerror(-rc));
		goto cleanup;
	}
	for (i = 0; i < nfns; i++) {
		struct bpf_uprobe_opts eo = {.sz = sizeof(eo)};
		struct bpf_uprobe_opts ro = {
			.sz = sizeof(ro), .retprobe = true, .bpf_cookie = fns[i].slot};
		struct bpf_link *l;
		int r;

		for (r = 0; r < 2; r++) {
			l = bpf_program__attach_uprobe_opts(
				r ? f->skel->progs.heed_func_exit : f->skel->progs.heed_func_entry,
				pid, fns[i].path, fns[i].off, r ? &ro : &eo);
			if (!l) {
				rc = -errno;
				snprintf(err, errlen, "cannot attach a %s to %s in %s: %s",
					 r ? "uretprobe" : "uprobe", f->h.v[fns[i].slot].name,
					 fns[i].path, strerror(-rc));
				goto cleanup;
			}
			rc = heed_links_add(&f->links, l);
			if (rc)
				goto cleanup;
		}
	}
	*out = f;
	f = NULL;
cleanup:
	free(fns);
	heed_func_close(f);
	return rc;
}

int heed_func_read(heed_func *f, const struct heed_named_hist **h, size_t *n, uint64_t *lost)
{
	int hfd = bpf_map__fd(f->skel->maps.hists), lfd = bpf_map__fd(f->skel->maps.lost), err;
	size_t i;

	err = heed_hists_read(&f->h, hfd);
	if (err)
		return err;
	for (i = 0; i < HEED_FUNC_LOST_MAX; i++) {
		err = heed_percpu_sum(lfd, (__u32)i, &lost[i]);
		if (err)
			return err;
	}
	lost[HEED_FUNC_LOST_SKIPPED] =
		heed_prog_misses(bpf_program__fd(f->skel->progs.heed_func_entry)) +
		heed_prog_misses(bpf_program__fd(f->skel->progs.heed_func_exit));
	*h = f->h.v;
	*n = f->h.n;
	return 0;
}

void heed_func_close(heed_func *f)
{
	if (!f)
		return;
	heed_links_destroy(&f->links);
	func_bpf__destroy(f->skel);
	heed_hists_free(&f->h);
	free(f);
}
