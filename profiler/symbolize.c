/* symbolize.c - see symbolize.h. */
#include "symbolize.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <libelf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

struct entry {
	uint64_t key; /* the address; an entry is found by (key, ret) */
	int used;
	int ret; /* 1: looked up as a return address (at key - 1) */
	size_t n;
	char **frames;
};

struct ksym {
	uint64_t addr;
	char *name;
};

struct jit {
	uint64_t start, end;
	char *name;
};

struct heed_sym {
	struct heed_maps maps;
	struct jit *jit; /* perf map entries sorted by start */
	size_t njit;
	Dwfl *dwfl;
	char *debug_path;
	Dwfl_Callbacks cb;
	struct entry *tab; /* open addressing, cap a power of two */
	size_t cap, used;
	struct ksym *ks; /* sorted by address */
	size_t nks;
	int ks_loaded;
	struct entry *ktab; /* kernel names cached like user frames (n == 1) */
	size_t kcap, kused;
};

int heed_sym_new(const struct heed_maps *maps, heed_sym **out)
{
	heed_sym *s = calloc(1, sizeof(*s));
	FILE *f = NULL;
	int err = 0;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	err = heed_maps_parse(maps->text, maps->len, &s->maps);
	if (err)
		goto cleanup;
	s->debug_path = NULL; /* libdw's default: .debug, /usr/lib/debug */
	s->cb.find_elf = dwfl_linux_proc_find_elf;
	s->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	s->cb.debuginfo_path = &s->debug_path;
	s->dwfl = dwfl_begin(&s->cb);
	if (!s->dwfl) {
		err = -ENOMEM;
		goto cleanup;
	}
	f = fmemopen(s->maps.text, s->maps.len ? s->maps.len : 1, "r");
	if (!f) {
		err = -errno;
		goto cleanup;
	}
	dwfl_report_begin(s->dwfl);
	/* A file that cannot be opened any more only loses its names; its frames
	 * still print as [module+0xoff]. */
	if (dwfl_linux_proc_maps_report(s->dwfl, f) < 0) {
		err = -EINVAL;
		goto cleanup;
	}
	dwfl_report_end(s->dwfl, NULL, NULL);
	s->cap = 4096;
	s->tab = calloc(s->cap, sizeof(*s->tab));
	s->kcap = 4096;
	s->ktab = calloc(s->kcap, sizeof(*s->ktab));
	if (!s->tab || !s->ktab) {
		err = -ENOMEM;
		goto cleanup;
	}
	*out = s;
	s = NULL;
cleanup:
	if (f)
		fclose(f);
	heed_sym_free(s);
	return err;
}

static void free_tab(struct entry *t, size_t cap)
{
	size_t i, j;

	for (i = 0; t && i < cap; i++) {
		for (j = 0; j < t[i].n; j++)
			free(t[i].frames[j]);
		free(t[i].frames);
	}
	free(t);
}

void heed_sym_free(heed_sym *s)
{
	size_t i;

	if (!s)
		return;
	if (s->dwfl)
		dwfl_end(s->dwfl);
	free_tab(s->tab, s->cap);
	free_tab(s->ktab, s->kcap);
	for (i = 0; i < s->nks; i++)
		free(s->ks[i].name);
	free(s->ks);
	for (i = 0; i < s->njit; i++)
		free(s->jit[i].name);
	free(s->jit);
	heed_maps_free(&s->maps);
	free(s);
}

static size_t hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k;
}

/* The slot of (key, ret) in t: either the entry or the empty slot to fill. */
static struct entry *probe(struct entry *t, size_t cap, uint64_t key, int ret)
{
	size_t i = hash(key * 2 + ret) & (cap - 1);

	while (t[i].used && (t[i].key != key || t[i].ret != ret))
		i = (i + 1) & (cap - 1);
	return &t[i];
}

/* Doubles a table when it is half full, so probes stay short. */
static int grow(struct entry **t, size_t *cap, size_t used)
{
	struct entry *nt, *old = *t;
	size_t i, ncap = *cap * 2;

	if (used * 2 < *cap)
		return 0;
	nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	for (i = 0; i < *cap; i++)
		if (old[i].used)
			*probe(nt, ncap, old[i].key, old[i].ret) = old[i];
	free(old);
	*t = nt;
	*cap = ncap;
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

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
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

/* The target's vdso is the kernel's, the same image as ours when it has the same
 * size (a 32-bit process maps another one): its function at offset off, from our
 * own copy's dynamic symbols, or NULL. */
static const char *vdso_name(const struct heed_map *m, uint64_t off)
{
	const char *base = (const char *)getauxval(AT_SYSINFO_EHDR), *found = NULL;
	uint64_t size = m->end - m->start;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf *elf;

	if (!base)
		return NULL;
	elf_version(EV_CURRENT);
	elf = elf_memory((char *)base, size);
	if (!elf)
		return NULL;
	while (!found && (scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize ||
		    sh.sh_offset + sh.sh_size > size)
			continue;
		data = elf_getdata(scn, NULL);
		for (i = 0; data && i < sh.sh_size / sh.sh_entsize && !found; i++) {
			GElf_Sym sym;

			if (gelf_getsym(data, (int)i, &sym) &&
			    GELF_ST_TYPE(sym.st_info) == STT_FUNC && off >= sym.st_value &&
			    off < sym.st_value + sym.st_size)
				found = elf_strptr(elf, sh.sh_link, sym.st_name);
		}
	}
	/* found points into our own vdso, which lives as long as we do. */
	elf_end(elf);
	return found;
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

static const char *jit_name(const heed_sym *s, uint64_t addr)
{
	size_t lo = 0, hi = s->njit;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->jit[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && addr < s->jit[lo - 1].end ? s->jit[lo - 1].name : NULL;
}

static int resolve(heed_sym *s, uint64_t addr, int is_return, struct frames *fr)
{
	Dwarf_Addr pc = is_return && addr ? addr - 1 : addr;
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, pc);
	const struct heed_map *m;
	const char *name = NULL;
	GElf_Sym sym;
	GElf_Off off;

	if (mod)
		name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
	if (name) {
		int err = push(fr, readable(name));

		return err ? err : add_inlined(mod, pc, fr);
	}
	m = heed_maps_find(&s->maps, addr);
	if ((!m || !m->path[0]) && (name = jit_name(s, pc)))
		return push(fr, strdup(name));
	if (m && !strcmp(m->path, "[vdso]")) {
		name = vdso_name(m, addr - m->start);
		if (name)
			return push(fr, strdup(name));
	}
	if (m && m->path[0] == '[') /* [vdso], [stack]: already bracketed */
		return push(fr, fmt("[%.*s+0x%" PRIx64 "]", (int)strcspn(m->path + 1, "]"),
				    m->path + 1, addr - m->start));
	if (m && m->path[0])
		return push(fr, fmt("[%s+0x%" PRIx64 "]", base_name(m->path),
				    addr - m->start + m->off));
	return push(fr, fmt("[unknown+0x%" PRIx64 "]", addr));
}

int heed_sym_user(heed_sym *s, uint64_t addr, int is_return, const char *const **frames, size_t *n)
{
	struct frames fr = {0};
	struct entry *e;
	size_t i;
	int err;

	is_return = !!is_return;
	e = probe(s->tab, s->cap, addr, is_return);
	if (!e->used) {
		err = resolve(s, addr, is_return, &fr);
		if (!err)
			err = grow(&s->tab, &s->cap, s->used + 1);
		if (err) {
			for (i = 0; i < fr.n; i++)
				free(fr.v[i]);
			free(fr.v);
			return err;
		}
		e = probe(s->tab, s->cap, addr, is_return);
		e->used = 1;
		e->key = addr;
		e->ret = is_return;
		e->frames = fr.v;
		e->n = fr.n;
		s->used++;
	}
	*frames = (const char *const *)e->frames;
	*n = e->n;
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
static int load_kallsyms(heed_sym *s)
{
	char line[512];
	size_t cap = 0;
	int err = 0;
	FILE *f;

	s->ks_loaded = 1;
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
		if (s->nks == cap) {
			cap = cap ? cap * 2 : 65536;
			nv = realloc(s->ks, cap * sizeof(*nv));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			s->ks = nv;
		}
		s->ks[s->nks].addr = addr;
		s->ks[s->nks].name = strdup(name);
		if (!s->ks[s->nks].name) {
			err = -ENOMEM;
			break;
		}
		s->nks++;
	}
	fclose(f);
	if (err) {
		while (s->nks)
			free(s->ks[--s->nks].name);
		free(s->ks);
		s->ks = NULL;
		s->ks_loaded = 0;
		return err;
	}
	qsort(s->ks, s->nks, sizeof(*s->ks), ksym_cmp);
	return 0;
}

const char *heed_sym_kernel(heed_sym *s, uint64_t addr)
{
	size_t lo = 0, hi;
	struct entry *e;
	char *name;

	e = probe(s->ktab, s->kcap, addr, 0);
	if (e->used)
		return e->frames[0];
	if (!s->ks_loaded && load_kallsyms(s))
		return NULL;
	hi = s->nks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->ks[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0)
		name = fmt("%s_[k]", s->ks[lo - 1].name);
	else
		name = fmt("[kernel+0x%" PRIx64 "]_[k]", addr);
	if (!name || grow(&s->ktab, &s->kcap, s->kused + 1)) {
		free(name);
		return NULL;
	}
	e = probe(s->ktab, s->kcap, addr, 0);
	e->frames = malloc(sizeof(char *));
	if (!e->frames) {
		free(name);
		return NULL;
	}
	e->frames[0] = name;
	e->n = 1;
	e->used = 1;
	e->key = addr;
	s->kused++;
	return name;
}

static int jit_cmp(const void *a, const void *b)
{
	const struct jit *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* "START SIZE NAME": hexadecimal numbers without 0x, a name to the end of line. */
static int parse_jit(char *line, struct jit *j)
{
	uint64_t size;
	char *p = line, *end;

	errno = 0;
	j->start = strtoull(p, &end, 16);
	if (end == p || *end != ' ' || errno)
		return -EINVAL;
	p = end + 1;
	size = strtoull(p, &end, 16);
	if (end == p || *end != ' ' || errno || !size || j->start + size < j->start)
		return -EINVAL;
	j->end = j->start + size;
	p = end + 1;
	p[strcspn(p, "\n")] = 0;
	if (!*p)
		return -EINVAL;
	j->name = strdup(p);
	return j->name ? 0 : -ENOMEM;
}

int heed_sym_perfmap(heed_sym *s, const char *path, uid_t owner, size_t *bad)
{
	size_t cap = s->njit, n = 0;
	char *line = NULL;
	struct stat st;
	int err = 0, fd;
	FILE *f;

	*bad = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != owner)) {
		close(fd);
		return -EPERM;
	}
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	while (getline(&line, &n, f) > 0) {
		struct jit j;

		if (s->njit == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			struct jit *nv = realloc(s->jit, ncap * sizeof(*nv));

			if (!nv) {
				err = -ENOMEM;
				break;
			}
			s->jit = nv;
			cap = ncap;
		}
		err = parse_jit(line, &j);
		if (err == -ENOMEM)
			break;
		if (err) {
			(*bad)++;
			err = 0;
			continue;
		}
		s->jit[s->njit++] = j;
	}
	if (!err && ferror(f))
		err = -EIO;
	free(line);
	fclose(f);
	qsort(s->jit, s->njit, sizeof(*s->jit), jit_cmp);
	return err;
}
