/* unwind.c - see unwind.h. One Dwfl per target process, attached once with
 * callbacks that serve the current sample: its registers as the initial state, its
 * stack copy as the only memory. Modules and their CFI stay cached across samples,
 * so a sample costs the CFI lookups of its frames, not the opening of files. The
 * files themselves come from the shared cache (symcache.h): one descriptor and one
 * ELF handle per file for all processes, and the file a mapping really holds, not
 * whatever sits at its path now. */
#include "unwind.h"

#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <linux/types.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

struct ufile {
	heed_symfile *f; /* a file whose ELF handle the Dwfl holds */
};

struct heed_unwinder {
	pid_t pid;
	heed_symcache *cache; /* a reference */
	struct heed_maps maps;
	struct ufile *files;
	size_t nfiles, capfiles;
	Dwfl *dwfl;
	Dwfl_Callbacks cb;
	char *debug_path;
	Elf64_Ehdr arch;  /* an x86-64 ELF header, the image of arch_elf */
	Elf *arch_elf;	  /* what the thread state's backend is opened from */
	double refreshed; /* CLOCK_MONOTONIC seconds of the last maps re-read */
	/* The sample being unwound. */
	const uint64_t *regs;
	const unsigned char *stack;
	uint64_t sp;
	size_t len;
	uint64_t *pcs;
	size_t max, n;
	int full;	 /* stopped at max frames */
	int read_failed; /* a read past the end of the copy: libdw then leaves the
			  * register unknown and may end the walk as if at the outermost
			  * frame */
	int zero_end;	 /* a frame returned to 0: the end of a thread's chain */
};

/* libdw's find_elf: a file's module gets the cache's shared handle on the file
 * mapped at its start; anything else (the vDSO) what libdw finds itself. */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	heed_unwinder *u = *userdata;
	const struct heed_map *m = u ? heed_maps_find(&u->maps, base) : NULL;
	heed_symfile *f;

	if (!m || !m->ino || m->path[0] != '/')
		return dwfl_linux_proc_find_elf(mod, userdata, modname, base, file_name, elfp);
	*elfp = NULL;
	if (u->nfiles == u->capfiles) {
		size_t ncap = u->capfiles ? u->capfiles * 2 : 16;
		struct ufile *nv = realloc(u->files, ncap * sizeof(*nv));

		if (!nv)
			return -1;
		u->files = nv;
		u->capfiles = ncap;
	}
	f = heed_symcache_file(u->cache, &u->maps, m);
	if (!f)
		return -1;
	*elfp = heed_symfile_unwind_elf(f);
	*file_name = *elfp ? strdup(m->path) : NULL;
	if (!*elfp || !*file_name) {
		if (*elfp)
			elf_end(*elfp);
		*elfp = NULL;
		heed_symfile_put(u->cache, f);
		return -1;
	}
	u->files[u->nfiles++].f = f;
	return -1; /* no descriptor of its own: the handle is the cache's */
}

/* Whether elf has an .eh_frame, the CFI that a loaded process relies on. */
static int has_eh_frame(Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (!elf || elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || !sh.sh_size)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".eh_frame"))
			return 1;
	}
	return 0;
}

/* libdw's find_debuginfo: libdw asks for the separate debug file when .eh_frame
 * could not unwind a frame (a walk's last one, where the copy ended, too), for its
 * .debug_frame. Loading it sets up the file's whole DWARF in this process's Dwfl
 * (libc6-dbg's libc: 13.6 MB, decompressed) once per process, for no gain when the
 * file has .eh_frame: both are made from the same CFI directives. So only a file
 * without .eh_frame gets its debug file. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, GElf_Addr base,
			  const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	GElf_Addr bias;

	if (has_eh_frame(dwfl_module_getelf(mod, &bias)))
		return -1;
	return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
					    debuglink_crc, debuginfo_file_name);
}

static int set_userdata(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
			void *arg)
{
	(void)mod;
	(void)name;
	(void)start;
	*userdata = arg;
	return DWARF_CB_OK;
}

/* Reports the modules of u->maps to libdw: the first time, or again after a
 * refresh (modules seen before keep their CFI). Under the unwind lock. */
static int report(heed_unwinder *u)
{
	FILE *f = fmemopen(u->maps.text, u->maps.len ? u->maps.len : 1, "r");
	int rc;

	if (!f)
		return -errno;
	dwfl_report_begin(u->dwfl);
	rc = dwfl_linux_proc_maps_report(u->dwfl, f);
	dwfl_report_end(u->dwfl, NULL, NULL);
	fclose(f);
	if (rc >= 0)
		dwfl_getmodules(u->dwfl, set_userdata, u, 0);
	return rc < 0 ? -EINVAL : 0;
}

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	heed_unwinder *u = arg;

	(void)dwfl;
	if (*thread_argp)
		return 0;
	*thread_argp = u;
	return u->pid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)tid;
	*thread_argp = arg;
	return true;
}

/* Only the copied stack is readable: a read outside it ends the walk. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	heed_unwinder *u = arg;

	(void)dwfl;
	if (addr < u->sp)
		return false; /* a slot popped already (CFI of an epilogue): unknown */
	if (addr - u->sp > u->len || u->len - (addr - u->sp) < sizeof(*result)) {
		u->read_failed = 1;
		return false;
	}
	memcpy(result, u->stack + (addr - u->sp), sizeof(*result));
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	heed_unwinder *u = arg;

	return dwfl_thread_state_registers(thread, 0, HEED_UNWIND_REGS, u->regs);
}

static const Dwfl_Thread_Callbacks thread_cb = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

int heed_unwinder_new(heed_symcache *cache, pid_t pid, const struct heed_maps *maps,
		      heed_unwinder **out)
{
	heed_unwinder *u = calloc(1, sizeof(*u));
	int err = 0;

	*out = NULL;
	if (!u)
		return -ENOMEM;
	u->pid = pid;
	if (cache)
		u->cache = heed_symcache_ref(cache);
	else
		err = heed_symcache_new(&u->cache);
	if (!u->cache)
		goto cleanup;
	err = heed_maps_copy(maps, &u->maps);
	if (err)
		goto cleanup;
	u->cb.find_elf = find_elf;
	u->cb.find_debuginfo = find_debuginfo;
	u->cb.debuginfo_path = &u->debug_path;
	u->dwfl = dwfl_begin(&u->cb);
	if (!u->dwfl) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* Given no ELF, libdw borrows the backend of the first module it can load, and
	 * a later report that drops that module (the maps re-read) frees it under the
	 * thread state: an abort in libdw, seen with -a on a node process. A backend
	 * of our own, from a bare x86-64 header, lives as long as the Dwfl. */
	u->arch.e_ident[EI_MAG0] = ELFMAG0;
	u->arch.e_ident[EI_MAG1] = ELFMAG1;
	u->arch.e_ident[EI_MAG2] = ELFMAG2;
	u->arch.e_ident[EI_MAG3] = ELFMAG3;
	u->arch.e_ident[EI_CLASS] = ELFCLASS64;
	u->arch.e_ident[EI_DATA] = ELFDATA2LSB;
	u->arch.e_ident[EI_VERSION] = EV_CURRENT;
	u->arch.e_type = ET_EXEC;
	u->arch.e_machine = EM_X86_64;
	u->arch.e_version = EV_CURRENT;
	u->arch.e_ehsize = sizeof(u->arch);
	elf_version(EV_CURRENT);
	u->arch_elf = elf_memory((char *)&u->arch, sizeof(u->arch));
	if (!u->arch_elf) {
		err = -ENOMEM;
		goto cleanup;
	}
	heed_symcache_unwind_lock(u->cache);
	err = report(u);
	if (!err && !dwfl_attach_state(u->dwfl, u->arch_elf, pid, &thread_cb, u))
		err = -EINVAL;
	heed_symcache_unwind_unlock(u->cache);
	if (err)
		goto cleanup;
	*out = u;
	u = NULL;
cleanup:
	heed_unwinder_free(u);
	return err;
}

static int on_frame(Dwfl_Frame *state, void *arg)
{
	heed_unwinder *u = arg;
	Dwarf_Addr pc;

	if (!dwfl_frame_pc(state, &pc, NULL))
		return DWARF_CB_ABORT;
	if (!pc) {
		u->zero_end = 1;
		return DWARF_CB_ABORT;
	}
	if (u->n == u->max) {
		u->full = 1;
		return DWARF_CB_ABORT;
	}
	u->pcs[u->n++] = pc;
	return DWARF_CB_OK;
}

/* Walks the sample; returns 1 when it reached the outermost frame: libdw found no
 * caller (the CFI says the return address is undefined) or a frame returned to 0,
 * without a read past the copy on the way. */
static int walk(heed_unwinder *u)
{
	int rc;

	u->n = 0;
	u->full = u->read_failed = u->zero_end = 0;
	rc = dwfl_getthread_frames(u->dwfl, u->pid, on_frame, u);
	return (rc == 0 || (rc == DWARF_CB_ABORT && u->zero_end)) && !u->full && !u->read_failed;
}

/* Re-reads the maps when addr lies outside them (heed_maps_refresh) and reports
 * the modules again. Returns 1 when they changed. */
static int refresh(heed_unwinder *u, uint64_t addr)
{
	/* Maps not read from the process (the kernel's records, maptrack.h): their
	 * owner keeps them up to date, and the pid may be another program by now. */
	if (u->maps.pid <= 0)
		return 0;
	return heed_maps_refresh(u->pid, &u->maps, addr, HEED_UNWIND_REFRESH_MS / 1e3,
				 &u->refreshed) &&
	       report(u) == 0;
}

int heed_unwinder_run(heed_unwinder *u, const uint64_t *regs, const void *stack, size_t len,
		      uint64_t *pcs, size_t max, size_t *n, int *complete)
{
	size_t i;

	u->regs = regs;
	u->stack = stack;
	u->sp = regs[HEED_REG_SP];
	u->len = len;
	u->pcs = pcs;
	u->max = max;
	heed_symcache_unwind_lock(u->cache);
	*complete = walk(u);
	/* A pc no mapping holds may be in a library mapped since the last maps read
	 * (libdw then walked it by frame pointer, or not at all): read them again
	 * and walk once more. */
	for (i = 0; i < u->n; i++)
		if (refresh(u, u->pcs[i])) {
			*complete = walk(u);
			break;
		}
	if (!u->n && refresh(u, regs[HEED_REG_IP]))
		*complete = walk(u);
	heed_symcache_unwind_unlock(u->cache);
	*n = u->n;
	return 0;
}

int heed_unwinder_set_maps(heed_unwinder *u, const struct heed_maps *maps)
{
	struct heed_maps copy;
	int err = heed_maps_copy(maps, &copy);

	if (err)
		return err;
	heed_symcache_unwind_lock(u->cache);
	heed_maps_free(&u->maps);
	u->maps = copy;
	err = report(u);
	heed_symcache_unwind_unlock(u->cache);
	return err;
}

const struct heed_maps *heed_unwinder_maps(const heed_unwinder *u)
{
	return &u->maps;
}

void heed_unwinder_free(heed_unwinder *u)
{
	if (!u)
		return;
	if (u->dwfl) {
		/* dwfl_end releases the shared handles (invariant 3 of symcache.c). */
		heed_symcache_unwind_lock(u->cache);
		dwfl_end(u->dwfl);
		heed_symcache_unwind_unlock(u->cache);
	}
	if (u->arch_elf)
		elf_end(u->arch_elf);
	while (u->nfiles)
		heed_symfile_put(u->cache, u->files[--u->nfiles].f);
	free(u->files);
	heed_maps_free(&u->maps);
	heed_symcache_free(u->cache);
	free(u);
}
