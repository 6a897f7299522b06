/* test_symcache.c - symbol tables shared per file (profiler/symcache.h): many
 * processes of one binary load its tables once, and two files met at one path (a
 * binary replaced between two snapshots) each name their own process's frames.
 * Needs root: a replaced file is found through /proc/PID/map_files. Starts Debian's
 * /usr/bin/python3.11 and build/tests/progs/hot (HEED_BUILD, default build). */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elfinfo.h"
#include "procmaps.h"
#include "symbolize.h"
#include "symtab.h"

#define PYTHON "/usr/bin/python3.11"
#define NPROC  20

struct child {
	pid_t pid;
	int in; /* its stdin: closing it ends a python */
	struct heed_maps maps;
	heed_sym *sym;
};

/* Starts argv[0] with stdin a pipe and waits until its maps list libc: the
 * dynamic linker has mapped everything then. */
static void start(struct child *c, char *const argv[], char *const envp[])
{
	int in[2], i;

	cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	c->pid = fork();
	cr_assert_geq(c->pid, 0);
	if (c->pid == 0) {
		dup2(in[0], 0);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(in[0]);
	c->in = in[1];
	for (i = 0; i < 500; i++) {
		int err = heed_maps_read(c->pid, &c->maps);

		/* Read in the middle of the exec (its memory swapped while read). */
		if (err == -ESRCH && waitpid(c->pid, NULL, WNOHANG) == 0) {
			usleep(10000);
			continue;
		}
		cr_assert_eq(err, 0, "%s exited", argv[0]);
		if (strstr(c->maps.text, "libc.so.6") && strstr(c->maps.text, argv[0]))
			return;
		heed_maps_free(&c->maps);
		usleep(10000);
	}
	cr_assert_fail("%s did not map libc in 5 s", argv[0]);
}

static void stop(struct child *c)
{
	heed_sym_free(c->sym);
	heed_maps_free(&c->maps);
	close(c->in);
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
}

/* The file offset of function fn of path. */
static uint64_t func_off(const char *path, const char *fn)
{
	struct heed_elf_func *v;
	uint64_t off;
	size_t n;

	cr_assert_eq(heed_elf_funcs(path, fn, &v, &n), 0, "%s unreadable", path);
	cr_assert_eq(n, 1, "%s: %zu functions named %s", path, n, fn);
	off = v[0].off;
	heed_elf_funcs_free(v, n);
	return off;
}

/* Where file offset off of path is mapped executable in c. */
static uint64_t addr_of(const struct child *c, const char *path, uint64_t off)
{
	size_t i;

	for (i = 0; i < c->maps.n; i++) {
		const struct heed_map *m = &c->maps.v[i];

		if (m->exec && !strcmp(m->path, path) && off >= m->off &&
		    off - m->off < m->end - m->start)
			return m->start + off - m->off;
	}
	cr_assert_fail("pid %d does not map %s+0x%llx", (int)c->pid, path, (unsigned long long)off);
	return 0;
}

/* The libc that c maps. */
static const char *libc_of(const struct child *c)
{
	size_t i;

	for (i = 0; i < c->maps.n; i++)
		if (c->maps.v[i].exec && strstr(c->maps.v[i].path, "/libc.so.6"))
			return c->maps.v[i].path;
	cr_assert_fail("pid %d maps no libc", (int)c->pid);
	return NULL;
}

static void expect_name(heed_sym *s, uint64_t addr, const char *want)
{
	const char *const *fr;
	size_t n;

	cr_assert_eq(heed_sym_user(s, addr, 0, &fr, &n), 0);
	cr_assert_geq(n, 1);
	cr_assert_str_eq(fr[0], want);
}

Test(symcache, same_binary_in_many_processes_loads_once)
{
	char *argv[] = {PYTHON, "-c", "import sys; sys.stdin.read()", NULL};
	char *envp[] = {NULL};
	struct child c[NPROC];
	struct heed_symcache_stats st;
	heed_symcache *cache;
	uint64_t py, lc;
	size_t i;

	cr_assert_eq(access(PYTHON, X_OK), 0, "%s is needed (Debian's python3.11)", PYTHON);
	cr_assert_eq(heed_symcache_new(&cache), 0);
	py = func_off(PYTHON, "Py_BytesMain");
	for (i = 0; i < NPROC; i++)
		start(&c[i], argv, envp);
	lc = func_off(libc_of(&c[0]), "__libc_start_main");
	for (i = 0; i < NPROC; i++) {
		cr_assert_eq(heed_sym_new(cache, &c[i].maps, &c[i].sym), 0);
		expect_name(c[i].sym, addr_of(&c[i], PYTHON, py), "Py_BytesMain");
		expect_name(c[i].sym, addr_of(&c[i], libc_of(&c[i]), lc), "__libc_start_main");
	}
	heed_symcache_stats(cache, &st);
	cr_expect_eq(st.files_loaded, 2, "python3.11 and libc loaded %llu times, not once each",
		     (unsigned long long)st.files_loaded);
	cr_expect_eq(st.files_shared, 2 * (NPROC - 1));
	cr_expect_eq(st.files_live, 2);
	cr_expect_eq(st.frames_resolved, 2, "each function looked up %llu / 2 times",
		     (unsigned long long)st.frames_resolved);
	cr_expect_eq(st.frames_shared, 2 * (NPROC - 1));
	for (i = 0; i < NPROC; i++)
		stop(&c[i]);
	heed_symcache_stats(cache, &st);
	cr_expect_eq(st.files_live, 0, "the files outlive their processes' symbolizers");
	heed_symcache_free(cache);
}

static void copy(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t r;

	cr_assert_geq(in, 0, "%s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	cr_assert_geq(out, 0, "%s: %s", to, strerror(errno));
	while ((r = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, (size_t)r), r);
	cr_assert_eq(r, 0);
	close(in);
	close(out);
}

Test(symcache, a_binary_replaced_at_its_path_names_each_process_right)
{
	const char *b = getenv("HEED_BUILD") ? getenv("HEED_BUILD") : "build";
	char dir[] = "/tmp/heed-symcache-XXXXXX", x[64], hot[4096];
	char *envp[] = {"PYTHONHOME=/usr", NULL}, *noenv[] = {NULL};
	struct heed_symcache_stats st;
	uint64_t hot_a, py_main, a;
	struct heed_maps gone;
	const char *const *fr;
	heed_symcache *cache;
	struct child c[2];
	heed_sym *s;
	size_t n;

	cr_assert_eq(geteuid(), 0, "needs root: a replaced file is read from /proc/PID/map_files");
	snprintf(hot, sizeof(hot), "%s/tests/progs/hot", b);
	cr_assert_eq(access(hot, X_OK), 0, "%s missing (make check builds it)", hot);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(x, sizeof(x), "%s/x", dir);
	cr_assert_eq(heed_symcache_new(&cache), 0);

	/* x is hot, then python3.11: two files, two inodes, one path. */
	copy(hot, x);
	hot_a = func_off(x, "hot_a");
	start(&c[0], (char *[]){x, "idle", "30", NULL}, noenv);
	cr_assert_eq(unlink(x), 0);
	copy(PYTHON, x);
	py_main = func_off(x, "Py_BytesMain");
	start(&c[1], (char *[]){x, "-c", "import sys; sys.stdin.read()", NULL}, envp);

	cr_assert_eq(heed_sym_new(cache, &c[0].maps, &c[0].sym), 0);
	cr_assert_eq(heed_sym_new(cache, &c[1].maps, &c[1].sym), 0);
	a = addr_of(&c[0], x, hot_a);
	expect_name(c[0].sym, a, "hot_a");
	expect_name(c[1].sym, addr_of(&c[1], x, py_main), "Py_BytesMain");
	heed_symcache_stats(cache, &st);
	cr_expect_eq(st.files_missing, 0);

	/* Once hot's process is gone its file is too: a snapshot of it keeps its
	 * frames as offsets, never python's names. */
	cr_assert_eq(heed_maps_copy(&c[0].maps, &gone), 0);
	stop(&c[0]);
	cr_assert_eq(heed_sym_new(cache, &gone, &s), 0);
	cr_assert_eq(heed_sym_user(s, a, 0, &fr, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(strncmp(fr[0], "[x+0x", 5), 0, "a gone process's frame named %s", fr[0]);
	heed_symcache_stats(cache, &st);
	cr_expect_eq(st.files_missing, 1);
	heed_sym_free(s);
	heed_maps_free(&gone);
	stop(&c[1]);
	heed_symcache_free(cache);
	unlink(x);
	rmdir(dir);
}

/* Two files with one build-id (a binary copied, as in two containers' images):
 * one table. */
Test(symcache, copies_with_one_build_id_share_a_table)
{
	char dir[] = "/tmp/heed-symcache-XXXXXX", y[64];
	char *envp[] = {"PYTHONHOME=/usr", NULL};
	struct heed_symcache_stats st;
	heed_symcache *cache;
	struct child c[2];
	uint64_t py;

	cr_assert_eq(access(PYTHON, X_OK), 0, "%s is needed (Debian's python3.11)", PYTHON);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(y, sizeof(y), "%s/y", dir);
	copy(PYTHON, y);
	py = func_off(PYTHON, "Py_BytesMain");
	start(&c[0], (char *[]){PYTHON, "-c", "import sys; sys.stdin.read()", NULL}, envp);
	start(&c[1], (char *[]){y, "-c", "import sys; sys.stdin.read()", NULL}, envp);
	cr_assert_eq(heed_symcache_new(&cache), 0);
	cr_assert_eq(heed_sym_new(cache, &c[0].maps, &c[0].sym), 0);
	cr_assert_eq(heed_sym_new(cache, &c[1].maps, &c[1].sym), 0);
	expect_name(c[0].sym, addr_of(&c[0], PYTHON, py), "Py_BytesMain");
	expect_name(c[1].sym, addr_of(&c[1], y, py), "Py_BytesMain");
	heed_symcache_stats(cache, &st);
	cr_expect_eq(st.files_loaded, 1, "%llu tables for one build-id",
		     (unsigned long long)st.files_loaded);
	cr_expect_eq(st.files_shared, 1);
	cr_expect_eq(st.frames_resolved, 1);
	stop(&c[0]);
	stop(&c[1]);
	heed_symcache_free(cache);
	unlink(y);
	rmdir(dir);
}

/* Every unwinder gets the one ELF handle of a file, counted by libelf. */
Test(symcache, one_unwind_handle_per_file)
{
	struct heed_maps m;
	heed_symcache *cache;
	heed_symfile *f, *g;
	Elf *a, *b;
	size_t i;

	cr_assert_eq(heed_maps_read(getpid(), &m), 0);
	cr_assert_eq(heed_symcache_new(&cache), 0);
	for (i = 0; i < m.n && !(m.v[i].exec && m.v[i].ino); i++)
		;
	cr_assert_lt(i, m.n, "no executable file mapping in our maps");
	f = heed_symcache_file(cache, &m, &m.v[i]);
	g = heed_symcache_file(cache, &m, &m.v[i]);
	cr_assert(f && f == g, "one file, two entries");
	heed_symcache_unwind_lock(cache);
	a = heed_symfile_unwind_elf(f);
	b = heed_symfile_unwind_elf(g);
	cr_assert(a && a == b, "two ELF handles for one file");
	cr_assert_eq(elf_kind(a), ELF_K_ELF);
	elf_end(a);
	elf_end(b);
	heed_symcache_unwind_unlock(cache);
	heed_symfile_put(cache, f);
	heed_symfile_put(cache, g);
	heed_symcache_free(cache);
	heed_maps_free(&m);
}

/* A snapshot's path now a FIFO (or a device) is not opened for reading: that would
 * block (or touch the device). Its frames keep their offsets. */
Test(symcache, a_fifo_at_a_mapped_path_is_not_opened, .timeout = 20)
{
	char dir[] = "/tmp/heed-symcache-XXXXXX", fifo[64], text[256];
	const char *const *fr;
	struct heed_maps m;
	struct stat st;
	heed_sym *s;
	size_t n;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(stat(fifo, &st), 0);
	snprintf(text, sizeof(text), "1000-2000 r-xp 00000000 %02x:%02x %llu %s\n",
		 major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino, fifo);
	cr_assert_eq(heed_maps_parse(text, strlen(text), &m), 0);
	cr_assert_eq(heed_sym_new(NULL, &m, &s), 0);
	cr_assert_eq(heed_sym_user(s, 0x1800, 0, &fr, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(fr[0], "[fifo+0x800]");
	heed_sym_free(s);
	heed_maps_free(&m);
	unlink(fifo);
	rmdir(dir);
}

/* The file at path, as a mapping of it would name it. */
static heed_symfile *file_at(heed_symcache *cache, const char *path)
{
	char text[256];
	struct heed_maps m;
	heed_symfile *f;
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	snprintf(text, sizeof(text), "1000-2000 r-xp 00000000 %02x:%02x %llu %s\n",
		 major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino, path);
	cr_assert_eq(heed_maps_parse(text, strlen(text), &m), 0);
	f = heed_symcache_file(cache, &m, &m.v[0]);
	heed_maps_free(&m);
	cr_assert_not_null(f, "%s not loaded", path);
	return f;
}

static uint64_t loaded(heed_symcache *cache)
{
	struct heed_symcache_stats st;

	heed_symcache_stats(cache, &st);
	return st.files_loaded;
}

/* A program run again after its last process ended (a compiler, a shell tool under
 * -a) finds its file loaded still; the 64 most recently released stay, an older one
 * is loaded again. Copies without a build-id, each its own file by inode. */
Test(symcache, released_files_stay_loaded_for_the_next_process, .timeout = 60)
{
	char dir[] = "/tmp/heed-symcache-XXXXXX", p[80], cmd[256];
	heed_symcache *cache;
	heed_symfile *f;
	int i;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "objcopy --remove-section=.note.gnu.build-id /usr/bin/true %s/t0", dir);
	cr_assert_eq(system(cmd), 0, "objcopy (binutils) is needed: %s", cmd);
	for (i = 1; i <= 64; i++) {
		char from[80];

		snprintf(from, sizeof(from), "%s/t0", dir);
		snprintf(p, sizeof(p), "%s/t%d", dir, i);
		copy(from, p);
	}
	cr_assert_eq(heed_symcache_new(&cache), 0);
	snprintf(p, sizeof(p), "%s/t0", dir);
	heed_symfile_put(cache, file_at(cache, p));
	f = file_at(cache, p);
	cr_expect_eq(loaded(cache), 1, "a released file was loaded again at once");
	heed_symfile_put(cache, f);
	for (i = 1; i <= 64; i++) {
		snprintf(p, sizeof(p), "%s/t%d", dir, i);
		heed_symfile_put(cache, file_at(cache, p));
	}
	cr_expect_eq(loaded(cache), 65, "copies without a build-id are distinct files");
	heed_symfile_put(cache, file_at(cache, p));
	cr_expect_eq(loaded(cache), 65, "the most recently released file was loaded again");
	snprintf(p, sizeof(p), "%s/t0", dir);
	heed_symfile_put(cache, file_at(cache, p));
	cr_expect_eq(loaded(cache), 66, "65 files released, and the oldest was kept");
	heed_symcache_free(cache);
	for (i = 0; i <= 64; i++) {
		snprintf(p, sizeof(p), "%s/t%d", dir, i);
		unlink(p);
	}
	rmdir(dir);
}

struct probe_count {
	size_t probes, certain;
};

/* Where the table answers for addr, it must be libdw's own answer. */
static void compare_at(Dwfl_Module *mod, const heed_symtab *t, const char *path, uint64_t addr,
		       struct probe_count *pc)
{
	const char *want, *got;
	GElf_Off woff;
	GElf_Sym sym;
	uint64_t off;

	pc->probes++;
	if (!heed_symtab_lookup(t, addr, &got, &off))
		return;
	pc->certain++;
	want = dwfl_module_addrinfo(mod, addr, &woff, &sym, NULL, NULL, NULL);
	if (!got || !want) {
		cr_assert_eq(got, want, "%s+0x%llx: table says %s, libdw %s", path,
			     (unsigned long long)addr, got ? got : "nothing",
			     want ? want : "nothing");
		return;
	}
	cr_assert_str_eq(got, want, "%s+0x%llx", path, (unsigned long long)addr);
	cr_assert_eq(off, woff, "%s+0x%llx: %s+0x%llx, libdw +0x%llx", path,
		     (unsigned long long)addr, got, (unsigned long long)off,
		     (unsigned long long)woff);
}

/* Every function's first, middle and last byte and 3000 pseudo-random addresses
 * in each executable segment of path (every byte of a smaller one), symbol table
 * against libdw; the table must answer at least min_share of them. */
static void differential(const char *path, double min_share)
{
	static char *debug_path;
	Dwfl_Callbacks cb = {.find_elf = dwfl_build_id_find_elf,
			     .find_debuginfo = dwfl_standard_find_debuginfo,
			     .debuginfo_path = &debug_path};
	struct probe_count pc = {0};
	Dwfl *dwfl = dwfl_begin(&cb);
	Dwfl_Module *mod;
	heed_symtab *t;
	GElf_Addr bias;
	uint64_t seed = 12345;
	Elf *elf;
	size_t i, nph;
	int n, fd = open(path, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_not_null(dwfl);
	dwfl_report_begin(dwfl);
	mod = dwfl_report_elf(dwfl, "m", path, fd, 0, true);
	dwfl_report_end(dwfl, NULL, NULL);
	cr_assert_not_null(mod, "%s: %s", path, dwfl_errmsg(-1));
	cr_assert_eq(heed_symtab_new(mod, &t), 0);
	cr_assert_not_null(t, "%s: no table", path);
	n = dwfl_module_getsymtab(mod);
	for (i = 1; i < (size_t)n; i++) {
		GElf_Sym s;
		GElf_Addr a;
		const char *name = dwfl_module_getsym_info(mod, (int)i, &s, &a, NULL, NULL, NULL);

		if (!name || GELF_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF)
			continue;
		compare_at(mod, t, path, a, &pc);
		if (s.st_size) {
			compare_at(mod, t, path, a + s.st_size / 2, &pc);
			compare_at(mod, t, path, a + s.st_size - 1, &pc);
		}
	}
	elf = dwfl_module_getelf(mod, &bias);
	cr_assert_not_null(elf);
	cr_assert_eq(elf_getphdrnum(elf, &nph), 0);
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;
		int k;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    !(ph.p_flags & PF_X) || !ph.p_memsz)
			continue;
		for (k = 0; k < 3000; k++) {
			uint64_t at = (uint64_t)k;

			if (ph.p_memsz > 3000) {
				seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
				at = (seed >> 17) % ph.p_memsz;
			} else if (at >= ph.p_memsz)
				break;
			compare_at(mod, t, path, bias + ph.p_vaddr + at, &pc);
		}
	}
	cr_log_info("%s: %zu symbols, %zu of %zu addresses answered by the table", path,
		    heed_symtab_count(t), pc.certain, pc.probes);
	/* A table that answers nothing would pass the comparisons above. */
	cr_assert_geq((double)pc.certain, min_share * (double)pc.probes,
		      "%s: table answered %zu of %zu", path, pc.certain, pc.probes);
	heed_symtab_free(t);
	dwfl_end(dwfl);
}

Test(symcache, symbol_table_names_what_libdw_names)
{
	const char *b = getenv("HEED_BUILD") ? getenv("HEED_BUILD") : "build";
	char path[4096];

	differential(PYTHON, 0.99);
	differential("/lib/x86_64-linux-gnu/libc.so.6", 0.99);
	differential("/usr/lib/x86_64-linux-gnu/libsqlite3.so.0", 0.99);
	/* The table leaves sizeless labels to libdw: crt's (deregister_tm_clones,
	 * frame_dummy ...) are a quarter of a small program's text, a few bytes of a
	 * big one's. */
	snprintf(path, sizeof(path), "%s/tests/progs/hot", b);
	differential(path, 0.75);
	/* Nested symbols and a global label in a local function: what the table
	 * does not answer is not counted, what it answers must be right. */
	snprintf(path, sizeof(path), "%s/tests/progs/symodd", b);
	differential(path, 0.3);
}
