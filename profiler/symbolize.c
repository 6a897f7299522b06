/* symbolize.c - see symbolize.h. Per process: its maps, the shared file of each
 * mapping (symcache.h, found on first use) and the frames of each address asked;
 * names of files come from the cache, names of the process's own memory (vDSO, JIT
 * code, addresses without a symbol) are made here. */
#include "symbolize.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

struct entry {
	uint64_t key; /* the address; an entry is found by (key, ret) */
	int used;
	int ret;   /* 1: looked up as a return address (at key - 1) */
	int owned; /* frames are this symbolizer's, else a shared file's */
	size_t n;
	char **frames;
};

struct jit {
	uint64_t start, end;
	char *name;
};

struct heed_sym {
	heed_symcache *cache; /* a reference */
	struct heed_maps maps;
	struct mfile {
		heed_symfile *f; /* the file of one mapping of maps, or NULL */
		int tried;	 /* f was looked for (on first use) */
	} * files;
	struct jit *jit; /* perf map entries sorted by start */
	size_t njit;
	struct entry *tab; /* open addressing, cap a power of two */
	size_t cap, used;
};

int heed_sym_new(heed_symcache *cache, const struct heed_maps *maps, heed_sym **out)
{
	heed_sym *s = calloc(1, sizeof(*s));
	int err = 0;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	if (cache)
		s->cache = heed_symcache_ref(cache);
	else
		err = heed_symcache_new(&s->cache);
	if (!err)
		err = heed_maps_copy(maps, &s->maps);
	if (err)
		goto cleanup;
	s->files = calloc(s->maps.n ? s->maps.n : 1, sizeof(*s->files));
	s->cap = 4096;
	s->tab = calloc(s->cap, sizeof(*s->tab));
	if (!s->files || !s->tab) {
		err = -ENOMEM;
		goto cleanup;
	}
	*out = s;
	s = NULL;
cleanup:
	heed_sym_free(s);
	return err;
}

void heed_sym_free(heed_sym *s)
{
	size_t i, j;

	if (!s)
		return;
	for (i = 0; s->tab && i < s->cap; i++) {
		if (!s->tab[i].owned)
			continue;
		for (j = 0; j < s->tab[i].n; j++)
			free(s->tab[i].frames[j]);
		free(s->tab[i].frames);
	}
	free(s->tab);
	for (i = 0; s->files && i < s->maps.n; i++)
		heed_symfile_put(s->cache, s->files[i].f);
	free(s->files);
	for (i = 0; i < s->njit; i++)
		free(s->jit[i].name);
	free(s->jit);
	heed_maps_free(&s->maps);
	heed_symcache_free(s->cache);
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

/* Doubles the table when it is half full, so probes stay short. */
static int grow(heed_sym *s)
{
	struct entry *nt, *old = s->tab;
	size_t i, ncap = s->cap * 2;

	if ((s->used + 1) * 2 < s->cap)
		return 0;
	nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	for (i = 0; i < s->cap; i++)
		if (old[i].used)
			*probe(nt, ncap, old[i].key, old[i].ret) = old[i];
	free(old);
	s->tab = nt;
	s->cap = ncap;
	return 0;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
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

/* One frame of our own for an address no file names: JIT code, the vDSO, or
 * [module+0xOFF]. Returns the name (malloc'ed) or NULL on -ENOMEM. */
static char *own_name(const heed_sym *s, const struct heed_map *m, uint64_t addr, uint64_t pc)
{
	const char *name;
	char *out = NULL;
	int rc;

	if ((!m || !m->path[0]) && (name = jit_name(s, pc)))
		return strdup(name);
	if (m && !strcmp(m->path, "[vdso]") && (name = vdso_name(m, addr - m->start)))
		return strdup(name);
	if (m && m->path[0] == '[') /* [vdso], [stack]: already bracketed */
		rc = asprintf(&out, "[%.*s+0x%" PRIx64 "]", (int)strcspn(m->path + 1, "]"),
			      m->path + 1, addr - m->start);
	else if (m && m->path[0])
		rc = asprintf(&out, "[%s+0x%" PRIx64 "]", base_name(m->path),
			      addr - m->start + m->off);
	else
		rc = asprintf(&out, "[unknown+0x%" PRIx64 "]", addr);
	return rc < 0 ? NULL : out;
}

/* The frames of addr into *e (a new entry): a shared file's when one names the
 * address, else one of our own. */
static int resolve(heed_sym *s, uint64_t addr, int is_return, struct entry *e)
{
	uint64_t pc = is_return && addr ? addr - 1 : addr;
	const struct heed_map *m = heed_maps_find(&s->maps, pc);
	size_t i = m ? (size_t)(m - s->maps.v) : 0;
	char *name, **v;

	if (m && !s->files[i].tried) {
		s->files[i].f = heed_symcache_file(s->cache, &s->maps, m);
		s->files[i].tried = 1;
	}
	if (m && s->files[i].f) {
		const char *const *fr;
		int err = heed_symfile_frames(s->cache, s->files[i].f, pc - m->start + m->off, &fr,
					      &e->n);

		if (err)
			return err;
		if (e->n) {
			e->frames = (char **)fr;
			return 0;
		}
	}
	m = heed_maps_find(&s->maps, addr);
	v = malloc(sizeof(char *));
	name = v ? own_name(s, m, addr, pc) : NULL;
	if (!name) {
		free(v);
		return -ENOMEM;
	}
	v[0] = name;
	e->frames = v;
	e->n = 1;
	e->owned = 1;
	return 0;
}

int heed_sym_user(heed_sym *s, uint64_t addr, int is_return, const char *const **frames, size_t *n)
{
	struct entry *e, new = {.key = addr, .used = 1, .ret = !!is_return};
	int err;

	e = probe(s->tab, s->cap, addr, new.ret);
	if (!e->used) {
		err = resolve(s, addr, new.ret, &new);
		if (!err)
			err = grow(s);
		if (err) {
			if (new.owned) {
				free(new.frames[0]);
				free(new.frames);
			}
			return err;
		}
		e = probe(s->tab, s->cap, addr, new.ret);
		*e = new;
		s->used++;
	}
	*frames = (const char *const *)e->frames;
	*n = e->n;
	return 0;
}

const char *heed_sym_kernel(heed_sym *s, uint64_t addr)
{
	return heed_symcache_kernel(s->cache, addr);
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
