/* symtab.c - see symtab.h.
 *
 * Invariant: v is sorted by address, then by symbol index; maxend[i] is the
 * highest end (address + size) among v[0..i], so the symbols holding an address
 * are found walking back from the last one starting at or below it, while maxend
 * is above it. gmaxend[i] is the same over libdw's first pass alone, and label[i]
 * is 1 + the position of the last sizeless symbol among v[0..i] (0: none).
 */
#include "symtab.h"

#include <errno.h>
#include <gelf.h>
#include <stdlib.h>

/* Symbols walked back from an address before the table gives up on it (a huge
 * symbol spanning many small ones): libdw answers those. */
#define WALK_MAX 64

struct sym {
	uint64_t addr, size;
	const char *name;
	uint32_t index;
	uint8_t rank;	/* 3 GLOBAL, 2 WEAK, 1 LOCAL, 0 other: higher preferred */
	uint8_t global; /* in libdw's first pass (from its first global on) */
};

struct heed_symtab {
	struct sym *v;
	uint64_t *maxend, *gmaxend;
	uint32_t *label;
	size_t n;
};

static int rank(const GElf_Sym *s)
{
	switch (GELF_ST_BIND(s->st_info)) {
	case STB_GLOBAL:
		return 3;
	case STB_WEAK:
		return 2;
	case STB_LOCAL:
		return 1;
	default:
		return 0;
	}
}

static int by_addr(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Whether libdw's address search considers symbol s at all. */
static int eligible(const char *name, const GElf_Sym *s)
{
	int type = GELF_ST_TYPE(s->st_info);

	return name && name[0] && s->st_shndx != SHN_UNDEF && type != STT_SECTION &&
	       type != STT_FILE && type != STT_TLS;
}

int heed_symtab_new(Dwfl_Module *mod, heed_symtab **out)
{
	heed_symtab *t = NULL;
	struct sym *v;
	int nsym = dwfl_module_getsymtab(mod), first = dwfl_module_getsymtab_first_global(mod);
	int i, err = 0;
	size_t j;

	*out = NULL;
	if (nsym <= 1 || first < 0)
		return 0;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->v = calloc((size_t)nsym, sizeof(*t->v));
	if (!t->v) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 1; i < nsym; i++) {
		GElf_Sym s;
		GElf_Addr addr, bias = 0;
		GElf_Word shndx;
		Elf *elf = NULL;
		const char *name = dwfl_module_getsym_info(mod, i, &s, &addr, &shndx, &elf, &bias);

		if (!eligible(name, &s))
			continue;
		/* libdw tries a symbol at two addresses where they differ
		 * (function descriptors): not modelled here. */
		if (addr != s.st_value + bias)
			goto cleanup;
		t->v[t->n++] =
			(struct sym){addr,	  s.st_size,	     name,
				     (uint32_t)i, (uint8_t)rank(&s), first <= 1 || i >= first};
	}
	/* Only the eligible ones kept: most of a .symtab can be data and locals
	 * without a section. */
	v = realloc(t->v, (t->n ? t->n : 1) * sizeof(*t->v));
	if (v)
		t->v = v;
	t->maxend = calloc(t->n ? t->n : 1, sizeof(*t->maxend));
	t->gmaxend = calloc(t->n ? t->n : 1, sizeof(*t->gmaxend));
	t->label = calloc(t->n ? t->n : 1, sizeof(*t->label));
	if (!t->maxend || !t->gmaxend || !t->label) {
		err = -ENOMEM;
		goto cleanup;
	}
	qsort(t->v, t->n, sizeof(*t->v), by_addr);
	for (j = 0; j < t->n; j++) {
		uint64_t end = t->v[j].addr + t->v[j].size;

		if (end < t->v[j].addr)
			goto cleanup; /* wraps: libdw's arithmetic, not modelled */
		t->maxend[j] = j && t->maxend[j - 1] > end ? t->maxend[j - 1] : end;
		t->gmaxend[j] = j ? t->gmaxend[j - 1] : 0;
		if (t->v[j].global && end > t->gmaxend[j])
			t->gmaxend[j] = end;
		t->label[j] = t->v[j].size ? (j ? t->label[j - 1] : 0) : (uint32_t)j + 1;
	}
	*out = t;
	return 0;
cleanup:
	heed_symtab_free(t);
	return err;
}

void heed_symtab_free(heed_symtab *t)
{
	if (!t)
		return;
	free(t->v);
	free(t->maxend);
	free(t->gmaxend);
	free(t->label);
	free(t);
}

size_t heed_symtab_count(const heed_symtab *t)
{
	return t ? t->n : 0;
}

/* Index past the last symbol starting at or below addr. */
static size_t upper(const heed_symtab *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The best of one pass's sized symbols holding the address: best binding, then
 * first index; NULL when they are not aliases of one another (libdw's choice
 * among them depends on their order in its table). */
static const struct sym *pick(const struct sym *const *c, size_t n)
{
	const struct sym *best = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (best && (c[i]->addr != best->addr || c[i]->size != best->size))
			return NULL;
		if (!best || c[i]->rank > best->rank ||
		    (c[i]->rank == best->rank && c[i]->index < best->index))
			best = c[i];
	}
	return best;
}

/* Whether libdw finds no symbol for addr, held by no sized symbol below
 * position u: no sizeless symbol at or below addr, or the highest one ends
 * below the end of a first-pass symbol at or below addr (libdw takes a sizeless
 * symbol only above every end it has seen, and its first pass always runs). */
static int none(const heed_symtab *t, size_t u)
{
	return !u || !t->label[u - 1] || t->gmaxend[u - 1] > t->v[t->label[u - 1] - 1].addr;
}

int heed_symtab_lookup(const heed_symtab *t, uint64_t addr, const char **name, uint64_t *off)
{
	const struct sym *glob[WALK_MAX], *loc[WALK_MAX], *s;
	size_t i, u, ng = 0, nl = 0, walked = 0;
	int label_at_addr = 0;

	if (!t)
		return 0;
	u = upper(t, addr);
	for (i = u; i-- > 0;) {
		const struct sym *v = &t->v[i];

		if (t->maxend[i] <= addr && v->addr != addr)
			break;
		if (++walked > WALK_MAX)
			return 0;
		if (!v->size) {
			label_at_addr |= v->global && v->addr == addr;
			continue;
		}
		if (addr - v->addr >= v->size)
			continue;
		if (v->global)
			glob[ng++] = v;
		else
			loc[nl++] = v;
	}
	/* libdw searches the locals only when the globals gave no sized symbol
	 * and no sizeless one exactly at addr. */
	if (ng)
		s = pick(glob, ng);
	else if (nl && !label_at_addr)
		s = pick(loc, nl);
	else if (!nl && none(t, u)) {
		*name = NULL;
		*off = 0;
		return 1;
	} else
		s = NULL;
	if (!s)
		return 0;
	*name = s->name;
	*off = addr - s->addr;
	return 1;
}
