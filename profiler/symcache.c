/* symcache.c - see symcache.h.
 *
 * Invariants:
 * 1. c->lock guards the list of files, every file's refs, the cache's refs and the
 *    kernel tables; f->lock guards f's libdw handles and its table of offsets. A
 *    thread holding f->lock never takes c->lock, so the two never deadlock.
 * 2. A file is on c->files exactly while refs > 0, and on c->idle (most recently
 *    released first, at most IDLE_MAX) after its last reference went, until it is
 *    taken again or pushed out; its frames never move or change once in its table,
 *    so a caller holding a reference reads them without a lock.
 * 3. libelf does not lock an Elf: the files' unwind_elf, shared by the Dwfls of all
 *    unwinders, are made, used (libdw's unwinding, its reference counts) and
 *    released under c->unwind_lock; the file's own reference last, by free_file,
 *    when no Dwfl holds one any more (each unwinder ends its Dwfl before it puts
 *    its files).
 */
#include "symcache.h"

#include "symtab.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define BUILD_ID_MAX 64

/* Files kept loaded after their last process let them go: a host that starts the
 * same programs over and over (compilers, shell tools, cron jobs under -a) would
 * otherwise load their symbols and resolve their addresses again for every
 * process, every interval of a continuous trace. Bounded by count: a file costs
 * its symbol tables, and an idle one is worth only what a new process of it saves. */
#define IDLE_MAX 64

/* One looked-up key: a file offset (in a file) or a kernel address. */
struct entry {
	uint64_t key;
	int used;
	size_t n;
	char **frames;
};

struct table {
	struct entry *v; /* open addressing, cap a power of two */
	size_t cap, used;
};

struct load {
	uint64_t off, filesz, vaddr; /* a PT_LOAD: file offsets [off, off + filesz) */
};

struct heed_symfile {
	struct heed_symfile *next;
	unsigned int refs;
	unsigned char id[BUILD_ID_MAX]; /* GNU build-id, idlen bytes (0: none) */
	size_t idlen;
	dev_t dev; /* the identity of the file as opened */
	ino_t ino;
	struct timespec mtime;
	off_t size;
	pthread_mutex_t lock;
	int fd;		 /* the file, for unwind_elf */
	Elf *unwind_elf; /* the unwinders' handle (c->unwind_lock), made on first use */
	Dwfl *dwfl;	 /* this file alone, at its link-time addresses */
	Dwfl_Module *mod;
	Dwfl_Callbacks cb;
	char *debug_path;
	struct load *load;
	size_t nload;
	heed_symtab *symtab; /* the module's symbols by address, read at first resolve */
	int symtab_read;
	struct table tab; /* by file offset */
};

struct ksym {
	uint64_t addr;
	char *name;
};

struct heed_symcache {
	pthread_mutex_t lock;
	unsigned int refs;
	heed_symfile *files;
	heed_symfile *idle; /* invariant 2 */
	size_t nidle;
	struct ksym *ks; /* sorted by address */
	size_t nks;
	int ks_loaded;
	struct table ktab; /* kernel names (n == 1) by address */
	struct heed_symcache_stats st;
	pthread_mutex_t unwind_lock; /* invariant 3 */
};

int heed_symcache_new(heed_symcache **out)
{
	heed_symcache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	elf_version(EV_CURRENT);
	c->ktab.cap = 4096;
	c->ktab.v = calloc(c->ktab.cap, sizeof(*c->ktab.v));
	if (!c->ktab.v) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->unwind_lock, NULL);
	c->refs = 1;
	*out = c;
	return 0;
}

heed_symcache *heed_symcache_ref(heed_symcache *c)
{
	pthread_mutex_lock(&c->lock);
	c->refs++;
	pthread_mutex_unlock(&c->lock);
	return c;
}

static void free_table(struct table *t)
{
	size_t i, j;

	for (i = 0; t->v && i < t->cap; i++) {
		for (j = 0; j < t->v[i].n; j++)
			free(t->v[i].frames[j]);
		free(t->v[i].frames);
	}
	free(t->v);
}

static void free_file(heed_symfile *f)
{
	if (!f)
		return;
	if (f->dwfl)
		dwfl_end(f->dwfl);
	if (f->unwind_elf)
		elf_end(f->unwind_elf);
	if (f->fd >= 0)
		close(f->fd);
	free_table(&f->tab);
	heed_symtab_free(f->symtab);
	free(f->load);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void heed_symcache_free(heed_symcache *c)
{
	unsigned int left;
	size_t i;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	left = --c->refs;
	pthread_mutex_unlock(&c->lock);
	if (left)
		return;
	/* Every file holder holds a cache reference too: only idle files are left. */
	while (c->idle) {
		heed_symfile *f = c->idle;

		c->idle = f->next;
		free_file(f);
	}
	free_table(&c->ktab);
	for (i = 0; i < c->nks; i++)
		free(c->ks[i].name);
	free(c->ks);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->unwind_lock);
	free(c);
}

void heed_symcache_stats(heed_symcache *c, struct heed_symcache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->st;
	st->files_idle = c->nidle;
	pthread_mutex_unlock(&c->lock);
}

static size_t hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k;
}

/* The slot of key in t: either its entry or the empty slot to fill. */
static struct entry *probe(const struct table *t, uint64_t key)
{
	size_t i = hash(key) & (t->cap - 1);

	while (t->v[i].used && t->v[i].key != key)
		i = (i + 1) & (t->cap - 1);
	return &t->v[i];
}

/* Makes room for one more entry: doubles t when half full, so probes stay short. */
static int reserve(struct table *t)
{
	struct table nt = {.cap = t->cap * 2};
	size_t i;

	if ((t->used + 1) * 2 < t->cap)
		return 0;
	nt.v = calloc(nt.cap, sizeof(*nt.v));
	if (!nt.v)
		return -ENOMEM;
	for (i = 0; i < t->cap; i++)
		if (t->v[i].used)
			*probe(&nt, t->v[i].key) = t->v[i];
	nt.used = t->used;
	free(t->v);
	*t = nt;
	return 0;
}

struct frames {
	char **v;
	size_t n, cap;
};

static int push(struct frames *fr, char *name)
{
	if (!name)
		return -ENOMEM;
	if (fr->n == fr->cap) {
		size_t ncap = fr->cap ? fr->cap * 2 : 4;
		char **nv = realloc(fr->v, ncap * sizeof(*nv));

		if (!nv) {
			free(name);
			return -ENOMEM;
		}
		fr->v = nv;
		fr->cap = ncap;
	}
	fr->v[fr->n++] = name;
	return 0;
}

static void frames_free(struct frames *fr)
{
	while (fr->n)
		free(fr->v[--fr->n]);
	free(fr->v);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
	char *out = NULL;
	va_list ap;

	va_start(ap, f);
	if (vasprintf(&out, f, ap) < 0)
		out = NULL;
	va_end(ap);
	return out;
}

/* Stores fr as key's frames in t (t has room: reserve). */
static struct entry *store(struct table *t, uint64_t key, struct frames *fr)
{
	struct entry *e = probe(t, key);

	e->used = 1;
	e->key = key;
	e->frames = fr->v;
	e->n = fr->n;
	t->used++;
	return e;
}

/* The build-id of the ELF file open at fd, into f->id (f->idlen 0 without one). */
static void read_build_id(int fd, heed_symfile *f)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	const void *id = NULL;
	ssize_t len = elf ? dwelf_elf_gnu_build_id(elf, &id) : -1;

	if (len > 0 && len <= BUILD_ID_MAX) {
		memcpy(f->id, id, (size_t)len);
		f->idlen = (size_t)len;
	}
	if (elf)
		elf_end(elf);
}

static int same_file(const heed_symfile *x, const heed_symfile *f)
{
	if (x->dev == f->dev && x->ino == f->ino && x->size == f->size &&
	    x->mtime.tv_sec == f->mtime.tv_sec && x->mtime.tv_nsec == f->mtime.tv_nsec)
		return 1;
	return f->idlen && x->idlen == f->idlen && !memcmp(x->id, f->id, f->idlen);
}

/* The loaded file already known as f: the same file (device, inode, size and
 * modification time), or one with f's build-id, held or idle. An idle one goes
 * back on c->files; the caller takes the reference. With c->lock held. */
static heed_symfile *known(heed_symcache *c, const heed_symfile *f)
{
	heed_symfile *x, **p;

	for (x = c->files; x; x = x->next)
		if (same_file(x, f))
			return x;
	for (p = &c->idle; *p; p = &(*p)->next) {
		if (!same_file(*p, f))
			continue;
		x = *p;
		*p = x->next;
		c->nidle--;
		x->next = c->files;
		c->files = x;
		c->st.files_live++;
		return x;
	}
	return NULL;
}

/* known() with a reference taken on what it finds. */
static heed_symfile *take_known(heed_symcache *c, const heed_symfile *f)
{
	heed_symfile *x;

	pthread_mutex_lock(&c->lock);
	x = known(c, f);
	if (x) {
		x->refs++;
		c->refs++;
		c->st.files_shared++;
	}
	pthread_mutex_unlock(&c->lock);
	return x;
}

/* Opens a regular file at path, never blocking (a FIFO put at a mapping's path) nor
 * opening a device (a mapped device's map_files entry), and stats it. */
static int open_regular(const char *path, struct stat *st)
{
	int fd;

	if (stat(path, st) || !S_ISREG(st->st_mode))
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

/* Opens the file mapping m holds: its path when device and inode agree with the
 * maps, else /proc/PID/map_files/START-END, the kernel's handle on that mapping.
 * Writes the name to give libdw (the path, where debuglink is searched) into name. */
static int open_mapped(const struct heed_maps *maps, const struct heed_map *m, char *name,
		       size_t len)
{
	struct stat st;
	int fd;

	if (m->path[0] == '/' && strlen(m->path) < len) {
		fd = open_regular(m->path, &st);
		if (fd >= 0 && st.st_ino == m->ino && major(st.st_dev) == m->dev_major &&
		    minor(st.st_dev) == m->dev_minor) {
			snprintf(name, len, "%s", m->path);
			return fd;
		}
		if (fd >= 0)
			close(fd);
	}
	if (maps->pid <= 0)
		return -ENOENT;
	snprintf(name, len, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)maps->pid, m->start,
		 m->end);
	return open_regular(name, &st);
}

/* The PT_LOAD segments of f's ELF file, to turn file offsets into addresses. */
static int read_loads(heed_symfile *f)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(f->mod, &bias);
	size_t i, n;

	if (!elf || elf_getphdrnum(elf, &n))
		return -EINVAL;
	f->load = calloc(n ? n : 1, sizeof(*f->load));
	if (!f->load)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    ph.p_offset + ph.p_filesz >= ph.p_offset)
			f->load[f->nload++] = (struct load){ph.p_offset, ph.p_filesz, ph.p_vaddr};
	}
	return f->nload ? 0 : -EINVAL;
}

/* Sets up libdw for the file open at fd (consumed): one module at the addresses
 * it was linked at, debug files found the standard way. */
static int load(heed_symfile *f, const char *name, int fd)
{
	const char *base = strrchr(name, '/');

	f->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (f->fd < 0) {
		close(fd);
		return -errno;
	}
	f->cb.find_elf = dwfl_build_id_find_elf;
	f->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	f->cb.debuginfo_path = &f->debug_path; /* NULL: .debug, /usr/lib/debug */
	f->dwfl = dwfl_begin(&f->cb);
	if (!f->dwfl) {
		close(fd);
		return -ENOMEM;
	}
	dwfl_report_begin(f->dwfl);
	f->mod = dwfl_report_elf(f->dwfl, base ? base + 1 : name, name, fd, 0, true);
	dwfl_report_end(f->dwfl, NULL, NULL);
	if (!f->mod) {
		close(fd);
		return -EINVAL;
	}
	f->tab.cap = 1024;
	f->tab.v = calloc(f->tab.cap, sizeof(*f->tab.v));
	return f->tab.v ? read_loads(f) : -ENOMEM;
}

heed_symfile *heed_symcache_file(heed_symcache *c, const struct heed_maps *maps,
				 const struct heed_map *m)
{
	heed_symfile *f = NULL, *x;
	char name[4096];
	struct stat st;
	int fd, err;

	if (!m->ino || m->path[0] == '[' || !m->path[0])
		return NULL;
	fd = open_mapped(maps, m, name, sizeof(name));
	if (fd >= 0 && !fstat(fd, &st))
		f = calloc(1, sizeof(*f));
	if (!f) {
		if (fd >= 0)
			close(fd);
		pthread_mutex_lock(&c->lock);
		c->st.files_missing++;
		pthread_mutex_unlock(&c->lock);
		return NULL;
	}
	f->fd = -1;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->mtime = st.st_mtim;
	f->size = st.st_size;
	/* The same file as a loaded one needs no build-id read. */
	x = take_known(c, f);
	if (!x) {
		read_build_id(fd, f);
		x = take_known(c, f);
	}
	if (x) {
		close(fd);
		free(f);
		return x;
	}
	pthread_mutex_init(&f->lock, NULL);
	/* Loaded outside the lock: two threads meeting a new file at once may both
	 * load it; the second then keeps the first's. */
	err = load(f, name, fd);
	pthread_mutex_lock(&c->lock);
	x = err ? NULL : known(c, f);
	if (x) {
		x->refs++;
		c->st.files_shared++;
	} else if (!err) {
		f->refs = 1;
		f->next = c->files;
		c->files = f;
		c->st.files_loaded++;
		c->st.files_live++;
		x = f;
		f = NULL;
	} else {
		c->st.files_missing++;
	}
	if (x)
		c->refs++;
	pthread_mutex_unlock(&c->lock);
	free_file(f);
	return x;
}

void heed_symfile_put(heed_symcache *c, heed_symfile *f)
{
	heed_symfile **p, *out = NULL;

	if (!f)
		return;
	pthread_mutex_lock(&c->lock);
	if (--f->refs == 0) {
		for (p = &c->files; *p != f; p = &(*p)->next)
			;
		*p = f->next;
		c->st.files_live--;
		f->next = c->idle;
		c->idle = f;
		if (++c->nidle > IDLE_MAX) {
			for (p = &c->idle; (*p)->next; p = &(*p)->next)
				;
			out = *p;
			*p = NULL;
			c->nidle--;
		}
	}
	pthread_mutex_unlock(&c->lock);
	free_file(out);
	heed_symcache_free(c);
}

void heed_symcache_unwind_lock(heed_symcache *c)
{
	pthread_mutex_lock(&c->unwind_lock);
}

void heed_symcache_unwind_unlock(heed_symcache *c)
{
	pthread_mutex_unlock(&c->unwind_lock);
}

Elf *heed_symfile_unwind_elf(heed_symfile *f)
{
	if (!f->unwind_elf)
		f->unwind_elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	/* A regular ELF file's handle is shared: libelf counts its references. */
	return f->unwind_elf ? elf_begin(f->fd, ELF_C_READ_MMAP, f->unwind_elf) : NULL;
}

/* Names of the subroutines inlined at pc, outermost first, appended to fr. */
static int add_inlined(Dwfl_Module *mod, Dwarf_Addr pc, struct frames *fr)
{
	Dwarf_Die *scopes = NULL, *cu;
	Dwarf_Addr bias;
	int n, i, err = 0;

	cu = dwfl_module_addrdie(mod, pc, &bias);
	if (!cu)
		return 0;
	n = dwarf_getscopes(cu, pc - bias, &scopes);
	for (i = n - 1; i >= 0; i--) {
		Dwarf_Attribute attr;
		const char *name;

		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		name = dwarf_formstring(dwarf_attr_integrate(&scopes[i], DW_AT_name, &attr));
		err = push(fr, fmt("%s_[i]", name ? name : "[inlined]"));
		if (err)
			break;
	}
	free(scopes);
	return err;
}

/* libstdc++'s demangler, a C function: no C++ in heed-trace for it. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/* A readable name: C++ and legacy Rust symbols demangled (the Rust hash,
 * "::h" and 16 hex digits, dropped), symbol versions ("@GLIBC_2.2.5") cut. */
static char *readable(const char *name)
{
	size_t len = strcspn(name, "@"), n;
	char *raw = strndup(name, len), *d;
	int status = -1;

	if (!raw || strncmp(raw, "_Z", 2) != 0)
		return raw;
	d = __cxa_demangle(raw, NULL, NULL, &status);
	if (status != 0 || !d) {
		free(d);
		return raw;
	}
	free(raw);
	n = strlen(d);
	if (n > 19 && !strncmp(d + n - 19, "::h", 3) &&
	    strspn(d + n - 16, "0123456789abcdef") == 16)
		d[n - 19] = 0;
	return d;
}

/* The frames at file offset off: none when no PT_LOAD maps it or no symbol holds
 * it. */
static int resolve(heed_symfile *f, uint64_t off, struct frames *fr)
{
	const struct load *l = NULL;
	const char *name;
	Dwarf_Addr bias, pc;
	GElf_Off soff;
	GElf_Sym sym;
	uint64_t toff;
	size_t i;
	int err;

	for (i = 0; i < f->nload && !l; i++)
		if (off >= f->load[i].off && off - f->load[i].off < f->load[i].filesz)
			l = &f->load[i];
	if (!l || !dwfl_module_getelf(f->mod, &bias))
		return 0;
	/* A module's addresses are its file's virtual addresses plus its bias. */
	pc = off - l->off + l->vaddr + bias;
	if (!f->symtab_read) {
		err = heed_symtab_new(f->mod, &f->symtab);
		if (err)
			return err;
		f->symtab_read = 1;
	}
	/* libdw reads every symbol for each address: the table first. */
	if (!heed_symtab_lookup(f->symtab, pc, &name, &toff))
		name = dwfl_module_addrinfo(f->mod, pc, &soff, &sym, NULL, NULL, NULL);
	if (!name)
		return 0;
	err = push(fr, readable(name));
	return err ? err : add_inlined(f->mod, pc, fr);
}

int heed_symfile_frames(heed_symcache *c, heed_symfile *f, uint64_t off, const char *const **frames,
			size_t *n)
{
	struct frames fr = {0};
	struct entry *e;
	int err = 0, resolved = 0;

	pthread_mutex_lock(&f->lock);
	e = probe(&f->tab, off);
	if (!e->used) {
		resolved = 1;
		err = resolve(f, off, &fr);
		if (!err)
			err = reserve(&f->tab);
		if (!err)
			e = store(&f->tab, off, &fr);
		else
			frames_free(&fr);
	}
	/* Read under the lock: another thread's store may move the entry (not
	 * its frames). */
	if (!err) {
		*frames = (const char *const *)e->frames;
		*n = e->n;
	}
	pthread_mutex_unlock(&f->lock);
	if (err)
		return err;
	pthread_mutex_lock(&c->lock);
	if (resolved)
		c->st.frames_resolved++;
	else
		c->st.frames_shared++;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Text symbols of /proc/kallsyms; without it (or without root, all addresses 0)
 * kernel frames print as [kernel+0xADDR]. Returns 0 or -ENOMEM: a table cut short
 * would name addresses past its end after its last symbol. */
static int load_kallsyms(heed_symcache *c)
{
	char line[512];
	size_t cap = 0;
	int err = 0;
	FILE *f;

	c->ks_loaded = 1;
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		struct ksym *nv;
		char *end, type, *name;
		uint64_t addr;

		/* "ffffffff81000000 T _stext\t[module]" */
		errno = 0;
		addr = strtoull(line, &end, 16);
		if (end == line || errno || end[0] != ' ' || !end[1] || end[2] != ' ')
			continue;
		type = end[1];
		name = end + 3;
		name[strcspn(name, " \t\n")] = 0;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (!addr || !*name)
			continue;
		if (c->nks == cap) {
			cap = cap ? cap * 2 : 65536;
			nv = realloc(c->ks, cap * sizeof(*nv));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			c->ks = nv;
		}
		c->ks[c->nks].addr = addr;
		c->ks[c->nks].name = strdup(name);
		if (!c->ks[c->nks].name) {
			err = -ENOMEM;
			break;
		}
		c->nks++;
	}
	fclose(f);
	if (err) {
		while (c->nks)
			free(c->ks[--c->nks].name);
		free(c->ks);
		c->ks = NULL;
		c->ks_loaded = 0;
		return err;
	}
	qsort(c->ks, c->nks, sizeof(*c->ks), ksym_cmp);
	return 0;
}

/* heed_symcache_kernel with c->lock held. */
static const char *kernel_name(heed_symcache *c, uint64_t addr)
{
	struct frames fr = {0};
	size_t lo = 0, hi;
	struct entry *e;

	e = probe(&c->ktab, addr);
	if (e->used)
		return e->frames[0];
	if (!c->ks_loaded && load_kallsyms(c))
		return NULL;
	hi = c->nks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->ks[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (push(&fr, lo > 0 ? fmt("%s_[k]", c->ks[lo - 1].name)
			     : fmt("[kernel+0x%" PRIx64 "]_[k]", addr)) ||
	    reserve(&c->ktab)) {
		frames_free(&fr);
		return NULL;
	}
	return store(&c->ktab, addr, &fr)->frames[0];
}

const char *heed_symcache_kernel(heed_symcache *c, uint64_t addr)
{
	const char *name;

	pthread_mutex_lock(&c->lock);
	name = kernel_name(c, addr);
	pthread_mutex_unlock(&c->lock);
	return name;
}
