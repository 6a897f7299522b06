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
#include <sys/stat.h>
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
	char **done;			     /* files planned for every glob, owned */
	size_t ndone;
	struct heed_pids to;	      /* the processes attached in */
	int per_pid;		      /* --per-pid: the *_pid programs, pid_hists */
	struct heed_proc_hists procs; /* their histograms, as last read */
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

/* Plans the functions of one file mapped by p matching glob g (not planned yet),
 * named bare when the file is p's executable (is_exe), else "FILE:NAME"; *unresolved
 * is set when an IFUNC of it is not resolved in p yet. */
static int plan_file(heed_func *f, const struct heed_proc_maps *p, size_t g, const char *path,
		     const char *glob, int is_exe, int *unresolved, char *err, size_t errlen)
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
		if (fns[j].ifunc && resolve_ifunc(p->pid, p->maps, path, &fns[j], &fpath, &off)) {
			*unresolved = 1;
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
		if (is_exe)
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

static int done_add(heed_func *f, const char *path)
{
	char **nv = realloc(f->done, (f->ndone + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	f->done = nv;
	nv[f->ndone] = strdup(path);
	return nv[f->ndone] ? (f->ndone++, 0) : -ENOMEM;
}

/* 1 when path was planned for every glob already (by another process mapping it). */
static int done_find(const heed_func *f, const char *path)
{
	size_t i;

	for (i = 0; i < f->ndone; i++)
		if (!strcmp(f->done[i], path))
			return 1;
	return 0;
}

/* Splits glob g into *lib ("" for none) and returns the GLOB part, NULL when
 * malformed. */
static const char *split_glob(const heed_func *f, size_t g, char *lib, size_t liblen)
{
	const char *glob = f->globs[g], *colon = strchr(glob, ':');

	lib[0] = 0;
	if (!colon)
		return glob;
	if ((size_t)(colon - glob) >= liblen || !colon[1])
		return NULL;
	memcpy(lib, glob, colon - glob);
	lib[colon - glob] = 0;
	return colon + 1;
}

/* Plans every glob over the executable files of p's maps not planned before. A file
 * with an IFUNC not resolved in p is looked at again in the next process. The
 * executable is told by identity, not by path: a path of the maps may be
 * /proc/PID/root/PATH (another mount namespace), where /proc/PID/exe reads PATH. */
static int plan(heed_func *f, const struct heed_proc_maps *p, char *err, size_t errlen)
{
	const struct heed_maps *maps = p->maps;
	struct stat exe, st;
	size_t g, i, k;
	char link[64], lib[256];
	const char *glob;
	int rc, unresolved, has_exe, is_exe;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)p->pid);
	has_exe = !stat(link, &exe);
	for (g = 0; g < f->nglobs; g++) {
		if (!split_glob(f, g, lib, sizeof(lib))) {
			snprintf(err, errlen, "--func %s: expected GLOB or LIB:GLOB", f->globs[g]);
			return -EINVAL;
		}
	}
	for (i = 0; i < maps->n; i++) {
		const char *path = maps->v[i].path;
		int seen = 0;

		if (!maps->v[i].exec || path[0] != '/' || done_find(f, path))
			continue;
		for (k = 0; k < i && !seen; k++)
			seen = maps->v[k].exec && !strcmp(maps->v[k].path, path);
		if (seen)
			continue;
		unresolved = 0;
		is_exe = has_exe && !stat(path, &st) && st.st_dev == exe.st_dev &&
			 st.st_ino == exe.st_ino;
		for (g = 0; g < f->nglobs; g++) {
			glob = split_glob(f, g, lib, sizeof(lib));
			if (lib[0] && !lib_matches(lib, path))
				continue;
			rc = plan_file(f, p, g, path, glob, is_exe, &unresolved, err, errlen);
			if (rc)
				return rc;
		}
		if (!unresolved) {
			rc = done_add(f, path);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* The batch program on file f->libattached, with its index as the cookie. */
static struct bpf_link *attach_batch(pid_t pid, void *arg)
{
	heed_func *f = arg;
	LIBBPF_OPTS(bpf_usdt_opts, o, .usdt_cookie = f->libattached);

	return bpf_program__attach_usdt(f->per_pid ? f->skel->progs.heed_fbatch_pid
						   : f->skel->progs.heed_func_batch,
					pid, f->libfiles[f->libattached], "heed", "ops__batch", &o);
}

/* A uprobe (ret 0) or a uretprobe on fn. */
struct fn_attach {
	heed_func *f;
	const struct target_fn *fn;
	int ret;
};

static struct bpf_link *attach_probe(pid_t pid, void *arg)
{
	const struct fn_attach *a = arg;
	struct bpf_uprobe_opts o = {
		.sz = sizeof(o), .retprobe = a->ret != 0, .bpf_cookie = a->fn->slot};

	const struct func_bpf *sk = a->f->skel;

	return bpf_program__attach_uprobe_opts(
		a->ret ? (a->f->per_pid ? sk->progs.heed_fexit_pid : sk->progs.heed_func_exit)
		       : sk->progs.heed_func_entry,
		pid, a->fn->path, a->fn->off, &o);
}

/* Routes fn's records of its file's batch to its slot, attaching the batch
 * program to the files up to fn's (file i with cookie i). */
static int lib_attach(heed_func *f, const struct target_fn *fn, char *err, size_t errlen)
{
	__u32 key = (__u32)(fn->file * HEED_FN__COUNT + fn->libfn), val = (__u32)fn->slot + 1;
	pid_t bad = -1;
	int rc;

	if (bpf_map_update_elem(bpf_map__fd(f->skel->maps.libfns), &key, &val, BPF_ANY)) {
		rc = -errno;
		snprintf(err, errlen, "cannot route %s to its histogram: %s", f->h.v[fn->slot].name,
			 strerror(-rc));
		return rc;
	}
	while (f->libattached <= fn->file) {
		rc = heed_links_attach(&f->links, &f->to, attach_batch, f, &bad);
		if (rc) {
			snprintf(err, errlen, "cannot attach to heed:ops__batch in %s: %s",
				 f->libfiles[f->libattached], strerror(-rc));
			return rc;
		}
		f->libattached++;
	}
	return 0;
}

/* Attaches the functions planned since the last call. */
static int attach_fns(heed_func *f, char *err, size_t errlen)
{
	int rc = 0;

	for (; !rc && f->skel && f->attached < f->nfns; f->attached++) {
		const struct target_fn *fn = &f->fns[f->attached];
		pid_t bad = -1;
		int r;

		if (fn->libfn) {
			rc = lib_attach(f, fn, err, errlen);
			continue;
		}
		for (r = 0; r < 2 && !rc; r++) {
			struct fn_attach a = {f, fn, r};

			rc = heed_links_attach(&f->links, &f->to, attach_probe, &a, &bad);
			if (rc)
				snprintf(err, errlen, "cannot attach a %s to %s in %s: %s",
					 r ? "uretprobe" : "uprobe", f->h.v[fn->slot].name,
					 fn->path, strerror(-rc));
		}
	}
	return rc;
}

/* Says in err why glob g matched nothing in the nprocs processes. */
static void say_unmatched(const heed_func *f, size_t g, const struct heed_proc_maps *procs,
			  size_t nprocs, char *err, size_t errlen)
{
	char who[64];

	if (nprocs == 1)
		snprintf(who, sizeof(who), "pid %d", (int)procs[0].pid);
	else
		snprintf(who, sizeof(who), "the %zu selected processes", nprocs);
	if (f->unmatched[g] == f->globs[g])
		snprintf(err, errlen,
			 "--func %s: no function matches in %s's executable%s or libraries",
			 f->globs[g], who, nprocs == 1 ? "" : "s");
	else
		snprintf(err, errlen,
			 "--func %s: it names an IFUNC and %s %s no resolved pointer to it in its "
			 "file (the file never calls it); name its implementation",
			 f->globs[g], who, nprocs == 1 ? "has" : "have");
}

int heed_func_open(const struct heed_pids *to, const struct heed_proc_maps *procs, size_t nprocs,
		   const heed_select *sel, int per_pid, char *const *globs, size_t nglobs,
		   int later, heed_func **out, char *err, size_t errlen)
{
	heed_func *f;
	size_t g, i;
	int rc;

	*out = NULL;
	err[0] = 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->per_pid = per_pid;
	f->globs = globs;
	f->nglobs = nglobs;
	f->unmatched = calloc(nglobs + 1, sizeof(*f->unmatched));
	if (!f->unmatched || heed_pids_copy(&f->to, to)) {
		rc = -ENOMEM;
		goto cleanup;
	}
	for (g = 0; g < nglobs; g++)
		f->unmatched[g] = globs[g];
	for (i = 0; i < nprocs; i++) {
		rc = plan(f, &procs[i], err, errlen);
		if (rc)
			goto cleanup;
	}
	for (g = 0; g < nglobs && !later; g++) {
		if (!f->unmatched[g])
			continue;
		say_unmatched(f, g, procs, nprocs, err, errlen);
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
	bpf_map__set_max_entries(f->skel->maps.held_hists, (__u32)f->max_slots);
	/* One program of each pair is loaded: without --per-pid, the code of before. */
	bpf_program__set_autoload(
		per_pid ? f->skel->progs.heed_func_exit : f->skel->progs.heed_fexit_pid, false);
	bpf_program__set_autoload(
		per_pid ? f->skel->progs.heed_func_batch : f->skel->progs.heed_fbatch_pid, false);
	if (!per_pid)
		bpf_map__set_max_entries(f->skel->maps.pid_hists, 1);
	rc = heed_select_reuse(sel, f->skel->obj, err, errlen);
	if (rc)
		goto cleanup;
	rc = func_bpf__load(f->skel);
	if (rc) {
		snprintf(err, errlen,
			 "the kernel rejected the func BPF programs: %s (run with -v for the "
			 "verifier log)",
			 strerror(-rc));
		goto cleanup;
	}
	rc = attach_fns(f, err, errlen);
	if (rc)
		goto cleanup;
	*out = f;
	f = NULL;
cleanup:
	heed_func_close(f);
	return rc;
}

int heed_func_refresh(heed_func *f, const struct heed_proc_maps *p, char *err, size_t errlen)
{
	size_t before = f->attached, i, k, len = 0;
	int rc, dup;

	err[0] = 0;
	rc = plan(f, p, err, errlen);
	if (!rc)
		rc = attach_fns(f, err, errlen);
	if (rc)
		return rc;
	for (i = before; i < f->attached && len < errlen; i++) {
		for (k = before, dup = 0; k < i && !dup; k++)
			dup = !strcmp(f->fns[k].path, f->fns[i].path);
		if (!dup)
			len += (size_t)snprintf(err + len, errlen - len, "%s%s", len ? ", " : "",
						f->fns[i].path);
	}
	return (int)(f->attached - before);
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
	if (!err)
		err = heed_hists_add(&f->h, bpf_map__fd(f->skel->maps.held_hists), f->h.n);
	if (err)
		return err;
	for (i = 0; i < HEED_FUNC_LOST_MAX; i++) {
		err = heed_percpu_sum(lfd, (__u32)i, &lost[i]);
		if (err)
			return err;
	}
	if (f->per_pid) {
		err = heed_proc_hists_read(&f->procs, bpf_map__fd(f->skel->maps.pid_hists), f->h.n);
		if (err)
			return err;
		lost[HEED_FUNC_LOST_PID_FULL] = heed_proc_hists_fold(&f->h, &f->procs);
	}
	lost[HEED_FUNC_LOST_SKIPPED] =
		heed_prog_misses(bpf_program__fd(f->skel->progs.heed_func_entry)) +
		heed_prog_misses(bpf_program__fd(f->per_pid ? f->skel->progs.heed_fexit_pid
							    : f->skel->progs.heed_func_exit)) +
		heed_prog_misses(bpf_program__fd(f->per_pid ? f->skel->progs.heed_fbatch_pid
							    : f->skel->progs.heed_func_batch));
	*h = f->h.v;
	*n = f->h.n;
	return 0;
}

void heed_func_read_procs(const heed_func *f, const struct heed_proc_hist **v, size_t *n)
{
	*v = f->procs.v;
	*n = f->procs.n;
}

void heed_func_close(heed_func *f)
{
	if (!f)
		return;
	heed_links_destroy(&f->links);
	func_bpf__destroy(f->skel);
	heed_hists_free(&f->h);
	heed_proc_hists_free(&f->procs);
	while (f->nfns)
		free(f->fns[--f->nfns].path);
	free(f->fns);
	while (f->nlibfiles)
		free(f->libfiles[--f->nlibfiles]);
	while (f->ndone)
		free(f->done[--f->ndone]);
	free(f->done);
	free(f->to.v);
	free(f->unmatched);
	free(f);
}
