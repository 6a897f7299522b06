/* func.c - --func: the user side of bpf/func.bpf.c (see trace.h).
 *
 * Two paths: a uprobe and a uretprobe on a function in general; for libheed's
 * functions that time themselves (HEED_FN_* of core/probe_abi.h), the durations
 * libheed hands over in heed:ops__batch, when the file's probe says its records
 * carry function ids (third argument HEED_OPREC_ABI). The batch costs tens of
 * nanoseconds a call where a uprobe pair costs microseconds (profiler/README.md).
 */
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
#include "probe_abi.h"

/* Two perf events (uprobe and uretprobe) per function: keep the fd count sane. */
#define MAX_FUNCS 1000

/* Slots the histogram map holds beyond those planned at open: room for functions
 * of code mapped later (libraries loaded, a new program after exec). */
#define SPARE_SLOTS 128

struct target_fn {
	char *path; /* owned: the maps it came from are replaced */
	uint64_t off;
	size_t slot;
	unsigned int libfn; /* HEED_FN_*: timed from file's batch; 0: by uprobes */
	size_t file;	    /* index in libfiles when libfn */
};

/* The functions libheed times into its batch, and their ids there. */
static const struct {
	const char *name;
	unsigned int id;
} lib_fns[] = {
	{"heed_get", HEED_FN_GET},
	{"heed_put", HEED_FN_PUT},
	{"heed_del", HEED_FN_DEL},
	{"heed_cursor_get", HEED_FN_CURSOR_GET},
	{"heed_cursor_put", HEED_FN_CURSOR_PUT},
	{"heed_cursor_del", HEED_FN_CURSOR_DEL},
};

struct heed_func {
	struct func_bpf *skel;
	struct heed_links links;
	struct heed_hists h;
	size_t max_slots;      /* the histogram map's size, 0 before load */
	struct target_fn *fns; /* fns[0..attached) are attached */
	size_t nfns, attached;
	char *libfiles[HEED_FUNC_LIB_FILES]; /* files whose batch is read, owned */
	size_t nlibfiles, libattached;	     /* libfiles[0..libattached) attached */
	pid_t pid;
	char *const *globs;
	size_t nglobs;
	const char **unmatched; /* per glob: NULL once it matched, else its name or the
				   first IFUNC it matched that could not be resolved */
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

/* 1 when path's heed:ops__batch carries function ids: its third argument, the
 * constant HEED_OPREC_ABI, is 2 or more (ABI 3 added a fourth argument). */
static int batch_has_fns(const char *path)
{
	struct heed_elf_usdt *v = NULL;
	size_t n = 0, i;
	int yes = 0;

	if (heed_elf_usdt(path, &v, &n))
		return 0;
	for (i = 0; i < n && !yes; i++) {
		const char *abi = v[i].args ? strstr(v[i].args, " 4@$") : NULL;
		char *end;
		long a;

		if (!abi || !v[i].provider || !v[i].name || strcmp(v[i].provider, "heed") != 0 ||
		    strcmp(v[i].name, "ops__batch") != 0)
			continue;
		errno = 0;
		a = strtol(abi + 4, &end, 10);
		yes = !errno && end != abi + 4 && (*end == ' ' || !*end) && a >= 2 &&
		      a <= HEED_OPREC_ABI;
	}
	heed_elf_usdt_free(v, n);
	return yes;
}

static unsigned int lib_fn_id(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(lib_fns) / sizeof(lib_fns[0]); i++)
		if (!strcmp(lib_fns[i].name, name))
			return lib_fns[i].id;
	return 0;
}

/* path's index in f->libfiles, added if new; -1 when the list is full. */
static int lib_file(heed_func *f, const char *path, size_t *file)
{
	size_t i;

	for (i = 0; i < f->nlibfiles; i++)
		if (!strcmp(f->libfiles[i], path))
			break;
	if (i == f->nlibfiles) {
		if (i == HEED_FUNC_LIB_FILES)
			return -1;
		f->libfiles[i] = strdup(path);
		if (!f->libfiles[i])
			return -ENOMEM;
		f->nlibfiles++;
	}
	*file = i;
	return 0;
}

static int add_fn(heed_func *f, const char *path, uint64_t off, size_t slot, unsigned int libfn,
		  size_t file)
{
	struct target_fn *nv = realloc(f->fns, (f->nfns + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	f->fns = nv;
	nv[f->nfns].path = strdup(path);
	if (!nv[f->nfns].path)
		return -ENOMEM;
	nv[f->nfns].off = off;
	nv[f->nfns].libfn = libfn;
	nv[f->nfns].file = file;
	nv[f->nfns++].slot = slot;
	return 0;
}

/* Plans the functions of one mapped file matching glob g (not planned yet). */
static int plan_file(heed_func *f, const struct heed_maps *maps, size_t g, const char *path,
		     const char *glob, const char *exe, char *err, size_t errlen)
{
	struct heed_elf_func *fns = NULL;
	size_t nf = 0, j, k;
	int rc = 0, batch;

	if (heed_elf_funcs(path, glob, &fns, &nf))
		return 0;
	batch = nf ? batch_has_fns(path) : 0;
	for (j = 0; j < nf && !rc; j++) {
		const char *fpath = path;
		uint64_t off = fns[j].off;
		char name[512];
		size_t slot, file = 0;
		unsigned int libfn = 0;
		int dup = 0;

		/* An IFUNC is traced at what its resolver chose for this process:
		 * probing the resolver would count relocations. */
		if (fns[j].ifunc && resolve_ifunc(f->pid, maps, path, &fns[j], &fpath, &off)) {
			if (f->unmatched[g] == f->globs[g])
				f->unmatched[g] = "an IFUNC";
			continue;
		}
		f->unmatched[g] = NULL;
		/* One uprobe pair per function, however many globs match it: a second
		 * would count each call twice. */
		for (k = 0; k < f->nfns && !dup; k++)
			dup = f->fns[k].off == off && !strcmp(f->fns[k].path, fpath);
		if (dup)
			continue;
		if (!strcmp(path, exe))
			snprintf(name, sizeof(name), "%s", fns[j].name);
		else
			snprintf(name, sizeof(name), "%s:%s", base_name(path), fns[j].name);
		rc = heed_hists_slot(&f->h, name, &slot);
		if (!rc && (f->nfns >= MAX_FUNCS || (f->max_slots && slot >= f->max_slots))) {
			snprintf(err, errlen,
				 "--func %s: more than %d functions, or %zu names, in all; narrow "
				 "the glob",
				 f->globs[g], MAX_FUNCS, f->max_slots);
			rc = -E2BIG;
		}
		/* A full list of files leaves the function to uprobes. */
		if (!rc && batch && !fns[j].ifunc)
			libfn = lib_fn_id(fns[j].name);
		if (!rc && libfn) {
			rc = lib_file(f, path, &file);
			if (rc == -1) {
				libfn = 0;
				rc = 0;
			}
		}
		if (!rc)
			rc = add_fn(f, fpath, off, slot, libfn, file);
	}
	heed_elf_funcs_free(fns, nf);
	return rc;
}

/* Plans every glob over the executable files of maps. */
static int plan(heed_func *f, const struct heed_maps *maps, char *err, size_t errlen)
{
	size_t g, i, k;
	char exe[4096], link[64];
	ssize_t el;
	int rc;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)f->pid);
	el = readlink(link, exe, sizeof(exe) - 1);
	exe[el > 0 ? el : 0] = 0;
	for (g = 0; g < f->nglobs; g++) {
		const char *glob = f->globs[g], *colon = strchr(glob, ':');
		char lib[256] = "";

		if (colon) {
			if ((size_t)(colon - glob) >= sizeof(lib) || !colon[1]) {
				snprintf(err, errlen, "--func %s: expected GLOB or LIB:GLOB", glob);
				return -EINVAL;
			}
			memcpy(lib, glob, colon - glob);
			lib[colon - glob] = 0;
			glob = colon + 1;
		}
		for (i = 0; i < maps->n; i++) {
			const char *path = maps->v[i].path;
			int seen = 0;

			if (!maps->v[i].exec || path[0] != '/' ||
			    (lib[0] && !lib_matches(lib, path)))
				continue;
			for (k = 0; k < i && !seen; k++)
				seen = maps->v[k].exec && !strcmp(maps->v[k].path, path);
			if (seen)
				continue;
			rc = plan_file(f, maps, g, path, glob, exe, err, errlen);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Routes fn's records of its file's batch to its slot, attaching the batch
 * program to the files up to fn's (file i with cookie i). */
static int lib_attach(heed_func *f, const struct target_fn *fn, char *err, size_t errlen)
{
	__u32 key = (__u32)(fn->file * HEED_FN__COUNT + fn->libfn), val = (__u32)fn->slot + 1;
	struct bpf_link *l;
	int rc;

	if (bpf_map_update_elem(bpf_map__fd(f->skel->maps.libfns), &key, &val, BPF_ANY)) {
		rc = -errno;
		snprintf(err, errlen, "cannot route %s to its histogram: %s", f->h.v[fn->slot].name,
			 strerror(-rc));
		return rc;
	}
	while (f->libattached <= fn->file) {
		LIBBPF_OPTS(bpf_usdt_opts, o, .usdt_cookie = f->libattached);

		l = bpf_program__attach_usdt(f->skel->progs.heed_func_batch, f->pid,
					     f->libfiles[f->libattached], "heed", "ops__batch", &o);
		if (!l) {
			rc = -errno;
			snprintf(err, errlen, "cannot attach to heed:ops__batch in %s: %s",
				 f->libfiles[f->libattached], strerror(-rc));
			return rc;
		}
		rc = heed_links_add(&f->links, l);
		if (rc)
			return rc;
		f->libattached++;
	}
	return 0;
}

/* Plans what maps holds and attaches the new functions. */
static int update(heed_func *f, const struct heed_maps *maps, char *err, size_t errlen)
{
	int rc = plan(f, maps, err, errlen);

	for (; !rc && f->skel && f->attached < f->nfns; f->attached++) {
		const struct target_fn *fn = &f->fns[f->attached];
		struct bpf_uprobe_opts eo = {.sz = sizeof(eo)};
		struct bpf_uprobe_opts ro = {
			.sz = sizeof(ro), .retprobe = true, .bpf_cookie = fn->slot};
		struct bpf_link *l;
		int r;

		if (fn->libfn) {
			rc = lib_attach(f, fn, err, errlen);
			continue;
		}
		for (r = 0; r < 2 && !rc; r++) {
			l = bpf_program__attach_uprobe_opts(
				r ? f->skel->progs.heed_func_exit : f->skel->progs.heed_func_entry,
				f->pid, fn->path, fn->off, r ? &ro : &eo);
			if (!l) {
				rc = -errno;
				snprintf(err, errlen, "cannot attach a %s to %s in %s: %s",
					 r ? "uretprobe" : "uprobe", f->h.v[fn->slot].name,
					 fn->path, strerror(-rc));
				break;
			}
			rc = heed_links_add(&f->links, l);
		}
	}
	return rc;
}

int heed_func_open(pid_t pid, const struct heed_maps *maps, char *const *globs, size_t nglobs,
		   int later, heed_func **out, char *err, size_t errlen)
{
	const char *bad;
	heed_func *f;
	size_t g;
	int rc;

	*out = NULL;
	err[0] = 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->pid = pid;
	f->globs = globs;
	f->nglobs = nglobs;
	f->unmatched = calloc(nglobs + 1, sizeof(*f->unmatched));
	if (!f->unmatched) {
		rc = -ENOMEM;
		goto cleanup;
	}
	for (g = 0; g < nglobs; g++)
		f->unmatched[g] = globs[g];
	rc = plan(f, maps, err, errlen);
	if (rc)
		goto cleanup;
	for (g = 0; g < nglobs && !later; g++) {
		bad = f->unmatched[g];
		if (!bad)
			continue;
		if (bad == globs[g])
			snprintf(err, errlen,
				 "--func %s: no function matches in pid %d's executable or "
				 "libraries",
				 globs[g], (int)pid);
		else
			snprintf(err, errlen,
				 "--func %s: it names an IFUNC and pid %d has no resolved pointer "
				 "to it in its file (the file never calls it); name its "
				 "implementation",
				 globs[g], (int)pid);
		rc = -ENOENT;
		goto cleanup;
	}
	f->skel = func_bpf__open();
	if (!f->skel) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the func BPF object: %s", strerror(-rc));
		goto cleanup;
	}
	f->max_slots = f->h.n + SPARE_SLOTS;
	bpf_map__set_max_entries(f->skel->maps.hists, (__u32)f->max_slots);
	rc = func_bpf__load(f->skel);
	if (rc) {
		snprintf(err, errlen,
			 "the kernel rejected the func BPF programs: %s (run with -v for the "
			 "verifier log)",
			 strerror(-rc));
		goto cleanup;
	}
	rc = update(f, maps, err, errlen);
	if (rc)
		goto cleanup;
	*out = f;
	f = NULL;
cleanup:
	heed_func_close(f);
	return rc;
}

int heed_func_refresh(heed_func *f, const struct heed_maps *maps, char *err, size_t errlen)
{
	err[0] = 0;
	return update(f, maps, err, errlen);
}

const char *heed_func_unmatched(const heed_func *f)
{
	size_t g;

	for (g = 0; g < f->nglobs; g++)
		if (f->unmatched[g])
			return f->globs[g];
	return NULL;
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
		heed_prog_misses(bpf_program__fd(f->skel->progs.heed_func_exit)) +
		heed_prog_misses(bpf_program__fd(f->skel->progs.heed_func_batch));
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
	while (f->nfns)
		free(f->fns[--f->nfns].path);
	free(f->fns);
	while (f->nlibfiles)
		free(f->libfiles[--f->nlibfiles]);
	free(f->unmatched);
	free(f);
}
