/* pprof.c - see pprof.h: building a profile, every item deduplicated (pprof_int.h says
 * how it is stored); pprof_write.c encodes it.
 */
#include "pprof_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Whether n more bytes stay within max_bytes (which may be below what an empty profile
 * takes: then nothing fits). */
static int fits(const heed_pprof *p, size_t n)
{
	return p->bytes <= p->max_bytes && n <= p->max_bytes - p->bytes;
}

/* Grows an array to hold at least need elements, counting the growth against max_bytes. */
static int grow(heed_pprof *p, void **v, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *n;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 4 / elem)
			return -ENOMEM;
		ncap *= 2;
	}
	if (!fits(p, (ncap - *cap) * elem))
		return -ENOSPC;
	n = realloc(*v, ncap * elem);
	if (!n)
		return -ENOMEM;
	p->bytes += (ncap - *cap) * elem;
	*v = n;
	*cap = ncap;
	return 0;
}

#define GROW(p, a, need) grow((p), (void **)&(a).v, &(a).cap, (need), sizeof(*(a).v))

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

static uint64_t hash_bytes(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Makes room for one more entry, keeping the table at most half full. */
static int table_reserve(heed_pprof *p, struct table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 64;
	struct slot *s;

	if ((t->n + 1) * 2 <= t->cap)
		return 0;
	if (!fits(p, (ncap - t->cap) * sizeof(*s)))
		return -ENOSPC;
	s = calloc(ncap, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		size_t j = t->s[i].hash & (ncap - 1);

		if (!t->s[i].idx)
			continue;
		while (s[j].idx)
			j = (j + 1) & (ncap - 1);
		s[j] = t->s[i];
	}
	p->bytes += (ncap - t->cap) * sizeof(*s);
	free(t->s);
	t->s = s;
	t->cap = ncap;
	return 0;
}

typedef int (*eq_fn)(const heed_pprof *p, size_t idx, const void *key);

/* Finds the item equal to key, or the empty slot where it goes. Returns the slot;
 * slot->idx is the item index + 1 when found, 0 otherwise. The table has room. */
static struct slot *table_find(const heed_pprof *p, const struct table *t, uint32_t h, eq_fn eq,
			       const void *key)
{
	size_t j = h & (t->cap - 1);

	while (t->s[j].idx) {
		if (t->s[j].hash == h && eq(p, t->s[j].idx - 1, key))
			return &t->s[j];
		j = (j + 1) & (t->cap - 1);
	}
	return &t->s[j];
}

static void table_set(struct table *t, struct slot *s, size_t idx, uint32_t h)
{
	s->idx = (uint32_t)(idx + 1);
	s->hash = h;
	t->n++;
}

struct str_key {
	const char *s;
	size_t len;
};

static int str_eq(const heed_pprof *p, size_t idx, const void *key)
{
	const struct str_key *k = key;
	const struct str *s = &p->strs.v[idx];

	return s->len == k->len && memcmp(p->chars.v + s->off, k->s, k->len) == 0;
}

/* Index of the string in the table, added if new. */
static int intern(heed_pprof *p, const char *s, size_t len, int64_t *idx)
{
	struct str_key k = {s ? s : "", s ? len : 0};
	uint32_t h = (uint32_t)hash_bytes(1469598103934665603ULL, k.s, k.len);
	struct slot *slot;
	int err;

	if (k.len == 0 && p->strs.n) {
		*idx = 0;
		return 0;
	}
	if (p->strs.n >= UINT32_MAX - 1)
		return -ENOSPC;
	err = table_reserve(p, &p->tstr);
	if (err)
		return err;
	slot = table_find(p, &p->tstr, h, str_eq, &k);
	if (slot->idx) {
		*idx = slot->idx - 1;
		return 0;
	}
	err = GROW(p, p->strs, p->strs.n + 1);
	if (!err)
		err = GROW(p, p->chars, p->chars.n + k.len);
	if (err)
		return err;
	if (k.len)
		memcpy(p->chars.v + p->chars.n, k.s, k.len);
	p->strs.v[p->strs.n] = (struct str){p->chars.n, k.len};
	p->chars.n += k.len;
	table_set(&p->tstr, slot, p->strs.n, h);
	*idx = (int64_t)p->strs.n++;
	return 0;
}

static int intern_z(heed_pprof *p, const char *s, int64_t *idx)
{
	return intern(p, s, s ? strlen(s) : 0, idx);
}

/* A function name, system name and file as (pointer, length). */
struct nline {
	const char *name, *sys, *file;
	size_t nlen, slen, flen;
	int64_t line;
};

static int func_eq(const heed_pprof *p, size_t idx, const void *key)
{
	return memcmp(&p->funcs.v[idx], key, sizeof(struct func)) == 0;
}

static int add_func(heed_pprof *p, const struct nline *l, uint64_t *id)
{
	struct func f;
	uint32_t h;
	struct slot *slot;
	int err;

	err = intern(p, l->name, l->nlen, &f.name);
	if (!err)
		f.sys = f.name;
	if (!err && l->sys)
		err = intern(p, l->sys, l->slen, &f.sys);
	if (!err)
		err = intern(p, l->file, l->flen, &f.file);
	if (!err)
		err = table_reserve(p, &p->tfunc);
	if (err)
		return err;
	h = (uint32_t)mix(mix(mix(0, (uint64_t)f.name), (uint64_t)f.sys), (uint64_t)f.file);
	slot = table_find(p, &p->tfunc, h, func_eq, &f);
	if (!slot->idx) {
		if (p->funcs.n >= UINT32_MAX - 1)
			return -ENOSPC;
		err = GROW(p, p->funcs, p->funcs.n + 1);
		if (err)
			return err;
		p->funcs.v[p->funcs.n] = f;
		table_set(&p->tfunc, slot, p->funcs.n++, h);
	}
	*id = slot->idx;
	return 0;
}

static int map_eq(const heed_pprof *p, size_t idx, const void *key)
{
	const struct mapping *a = &p->maps.v[idx], *b = key;

	return a->start == b->start && a->limit == b->limit && a->offset == b->offset &&
	       a->file == b->file && a->build_id == b->build_id && a->flags == b->flags;
}

int heed_pprof_add_mapping(heed_pprof *p, const struct heed_pprof_mapping *m, uint64_t *id)
{
	static const char hex[] = "0123456789abcdef";
	char bid[129];
	struct mapping r = {m->start, m->limit, m->offset, 0, 0, m->flags};
	struct slot *slot;
	uint32_t h;
	int err;

	if (m->limit < m->start || m->build_id_len > 64 || (m->build_id_len && !m->build_id))
		return -EINVAL;
	for (size_t i = 0; i < m->build_id_len; i++) {
		bid[2 * i] = hex[m->build_id[i] >> 4];
		bid[2 * i + 1] = hex[m->build_id[i] & 15];
	}
	err = intern_z(p, m->file, &r.file);
	if (!err)
		err = intern(p, bid, 2 * m->build_id_len, &r.build_id);
	if (!err)
		err = table_reserve(p, &p->tmap);
	if (err)
		return err;
	h = (uint32_t)mix(mix(mix(mix(mix(0, r.start), r.limit), r.offset), (uint64_t)r.file),
			  (uint64_t)r.build_id);
	slot = table_find(p, &p->tmap, h, map_eq, &r);
	if (!slot->idx) {
		if (p->maps.n >= UINT32_MAX - 1)
			return -ENOSPC;
		err = GROW(p, p->maps, p->maps.n + 1);
		if (err)
			return err;
		p->maps.v[p->maps.n] = r;
		table_set(&p->tmap, slot, p->maps.n++, h);
	}
	*id = slot->idx;
	return 0;
}

int heed_pprof_kernel_mapping(heed_pprof *p, uint64_t *id)
{
	struct heed_pprof_mapping m = {
		.limit = UINT64_MAX,
		.file = HEED_PPROF_KERNEL_MAPPING,
		.flags = HEED_PPROF_HAS_FUNCTIONS,
	};
	int err;

	if (p->kernel_mapping) {
		*id = p->kernel_mapping;
		return 0;
	}
	err = heed_pprof_add_mapping(p, &m, id);
	if (!err)
		p->kernel_mapping = *id;
	return err;
}

/* The location being looked up: its lines are staged at lines.v[lines.n]. */
struct loc_key {
	uint64_t mapping, addr;
	uint32_t nlines;
};

static int loc_eq(const heed_pprof *p, size_t idx, const void *key)
{
	const struct loc *l = &p->locs.v[idx];
	const struct loc_key *k = key;

	return l->mapping == k->mapping && l->addr == k->addr && l->nlines == k->nlines &&
	       (!k->nlines || memcmp(&p->lines.v[l->line_off], &p->lines.v[p->lines.n],
				     k->nlines * sizeof(struct line)) == 0);
}

static int add_loc(heed_pprof *p, uint64_t mapping, uint64_t addr, const struct nline *ls, size_t n,
		   uint64_t *id)
{
	struct loc_key k = {mapping, addr, (uint32_t)n};
	uint64_t h = mix(mix(0, mapping), addr);
	struct slot *slot;
	int err;

	if (mapping > p->maps.n || n > 65535 || (n && !ls))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		uint64_t fid;

		err = add_func(p, &ls[i], &fid);
		if (!err)
			err = GROW(p, p->lines, p->lines.n + i + 1);
		if (err)
			return err;
		p->lines.v[p->lines.n + i] = (struct line){fid, ls[i].line};
		h = mix(mix(h, fid), (uint64_t)ls[i].line);
	}
	err = table_reserve(p, &p->tloc);
	if (err)
		return err;
	slot = table_find(p, &p->tloc, (uint32_t)h, loc_eq, &k);
	if (!slot->idx) {
		if (p->locs.n >= UINT32_MAX - 1)
			return -ENOSPC;
		err = GROW(p, p->locs, p->locs.n + 1);
		if (err)
			return err;
		p->locs.v[p->locs.n] = (struct loc){mapping, addr, p->lines.n, (uint32_t)n};
		p->lines.n += n;
		table_set(&p->tloc, slot, p->locs.n++, (uint32_t)h);
	}
	*id = slot->idx;
	return 0;
}

int heed_pprof_add_location(heed_pprof *p, uint64_t mapping_id, uint64_t address,
			    const struct heed_pprof_line *lines, size_t nlines, uint64_t *id)
{
	struct nline *ls;
	int err;

	if (nlines > 65535 || (nlines && !lines))
		return -EINVAL;
	ls = calloc(nlines ? nlines : 1, sizeof(*ls));
	if (!ls)
		return -ENOMEM;
	for (size_t i = 0; i < nlines; i++) {
		const struct heed_pprof_line *l = &lines[i];

		ls[i] = (struct nline){l->name,
				       l->system_name,
				       l->file,
				       l->name ? strlen(l->name) : 0,
				       l->system_name ? strlen(l->system_name) : 0,
				       l->file ? strlen(l->file) : 0,
				       l->line};
	}
	err = add_loc(p, mapping_id, address, ls, nlines, id);
	free(ls);
	return err;
}

/* The sample being looked up: its location ids and labels are staged at the ends of
 * their pools. */
struct sample_key {
	uint32_t nlocs, nlabels;
};

static int sample_eq(const heed_pprof *p, size_t idx, const void *key)
{
	const struct sample *s = &p->samples.v[idx];
	const struct sample_key *k = key;

	return s->nlocs == k->nlocs && s->nlabels == k->nlabels &&
	       (!k->nlocs || memcmp(&p->locids.v[s->loc_off], &p->locids.v[p->locids.n],
				    k->nlocs * sizeof(uint64_t)) == 0) &&
	       (!k->nlabels || memcmp(&p->labels.v[s->lab_off], &p->labels.v[p->labels.n],
				      k->nlabels * sizeof(struct label)) == 0);
}

static int add_values(heed_pprof *p, size_t idx, const int64_t *values)
{
	int64_t *acc = p->vals.v + idx * p->nvalues;
	int64_t sum[HEED_PPROF_MAX_VALUES] = {0};

	for (size_t i = 0; i < p->nvalues; i++)
		if (__builtin_add_overflow(acc[i], values[i], &sum[i]))
			return -EOVERFLOW;
	memcpy(acc, sum, p->nvalues * sizeof(*acc));
	return 0;
}

int heed_pprof_add_sample(heed_pprof *p, const uint64_t *locs, size_t nlocs, const int64_t *values,
			  const struct heed_pprof_label *labels, size_t nlabels)
{
	struct sample_key k = {(uint32_t)nlocs, (uint32_t)nlabels};
	uint64_t h = 0;
	struct slot *slot;
	int err;

	if (nlocs > 65535 || nlabels > 65535 || (nlocs && !locs) || (nlabels && !labels) || !values)
		return -EINVAL;
	err = GROW(p, p->locids, p->locids.n + nlocs);
	if (!err)
		err = GROW(p, p->labels, p->labels.n + nlabels);
	if (err)
		return err;
	for (size_t i = 0; i < nlocs; i++) {
		if (locs[i] == 0 || locs[i] > p->locs.n)
			return -EINVAL;
		p->locids.v[p->locids.n + i] = locs[i];
		h = mix(h, locs[i]);
	}
	for (size_t i = 0; i < nlabels; i++) {
		const struct heed_pprof_label *l = &labels[i];
		struct label r = {0, 0, 0, 0};

		if (!l->key)
			return -EINVAL;
		err = intern_z(p, l->key, &r.key);
		if (!err && l->str)
			err = intern_z(p, l->str, &r.str);
		if (!err && !l->str) {
			r.num = l->num;
			err = intern_z(p, l->num_unit, &r.unit);
		}
		if (err)
			return err;
		p->labels.v[p->labels.n + i] = r;
		h = mix(mix(mix(mix(h, (uint64_t)r.key), (uint64_t)r.str), (uint64_t)r.num),
			(uint64_t)r.unit);
	}
	err = table_reserve(p, &p->tsample);
	if (err)
		return err;
	slot = table_find(p, &p->tsample, (uint32_t)h, sample_eq, &k);
	if (slot->idx)
		return add_values(p, slot->idx - 1, values);
	if (p->samples.n >= UINT32_MAX - 1)
		return -ENOSPC;
	err = GROW(p, p->samples, p->samples.n + 1);
	if (!err)
		err = GROW(p, p->vals, (p->samples.n + 1) * p->nvalues);
	if (err)
		return err;
	p->samples.v[p->samples.n] =
		(struct sample){p->locids.n, p->labels.n, (uint32_t)nlocs, (uint32_t)nlabels};
	memcpy(&p->vals.v[p->samples.n * p->nvalues], values, p->nvalues * sizeof(*values));
	p->locids.n += nlocs;
	p->labels.n += nlabels;
	table_set(&p->tsample, slot, p->samples.n++, (uint32_t)h);
	return 0;
}

/* A frame of a folded stack, its annotation removed. */
struct frame {
	const char *s;
	size_t len;
	int kernel, inlined;
};

static void parse_frame(struct frame *f, const char *s, size_t len)
{
	f->s = s;
	f->len = len;
	f->kernel = len >= 4 && memcmp(s + len - 4, "_[k]", 4) == 0;
	f->inlined = len >= 4 && memcmp(s + len - 4, "_[i]", 4) == 0;
	if (f->kernel || f->inlined)
		f->len -= 4;
}

int heed_pprof_add_folded(heed_pprof *p, const char *stack, size_t len, const int64_t *values)
{
	struct heed_pprof_label label = {.key = "process"};
	struct frame *fr = NULL;
	struct nline *ls = NULL;
	uint64_t *locs = NULL;
	size_t nfr = 0, nlocs = 0;
	char *proc = NULL;
	int err = -ENOMEM;

	if (!stack)
		return -EINVAL;
	/* Trailing empty frames are dropped, as flamegraph.pl drops them. */
	while (len && stack[len - 1] == ';')
		len--;
	if (len == 0)
		return -EINVAL;
	nfr = 1;
	for (size_t i = 0; i < len; i++)
		nfr += stack[i] == ';';
	fr = calloc(nfr, sizeof(*fr));
	ls = calloc(nfr, sizeof(*ls));
	locs = calloc(nfr, sizeof(*locs));
	if (!fr || !ls || !locs)
		goto cleanup;
	for (size_t i = 0, start = 0; i < nfr; i++) {
		const char *semi = memchr(stack + start, ';', len - start);
		size_t end = semi ? (size_t)(semi - stack) : len;

		parse_frame(&fr[i], stack + start, end - start);
		start = end + 1;
	}
	/* The process name as written, annotation and all. */
	proc = strndup(stack, nfr > 1 ? (size_t)(fr[1].s - stack) - 1 : len);
	if (!proc)
		goto cleanup;
	label.str = proc;
	/* A location is a frame and the _[i] frames after it (root to leaf), inlined into
	 * it: its lines go innermost first, so the group is read backwards. A stack of the
	 * process alone keeps it as its one frame too, since pprof drops samples without a
	 * location. */
	for (size_t i = nfr > 1, j; i < nfr; i = j) {
		uint64_t map = 0;

		for (j = i + 1; j < nfr && fr[j].inlined; j++)
			;
		for (size_t k = 0; k < j - i; k++)
			ls[k] = (struct nline){.name = fr[j - 1 - k].s, .nlen = fr[j - 1 - k].len};
		if (fr[i].kernel) {
			err = heed_pprof_kernel_mapping(p, &map);
			if (err)
				goto cleanup;
		}
		err = add_loc(p, map, 0, ls, j - i, &locs[nlocs++]);
		if (err)
			goto cleanup;
	}
	/* Leaf first. */
	for (size_t a = 0, b = nlocs; a + 1 < b; a++, b--) {
		uint64_t t = locs[a];

		locs[a] = locs[b - 1];
		locs[b - 1] = t;
	}
	err = heed_pprof_add_sample(p, locs, nlocs, values, &label, 1);
cleanup:
	free(proc);
	free(locs);
	free(ls);
	free(fr);
	return err;
}

void heed_pprof_stats(const heed_pprof *p, struct heed_pprof_stats *st)
{
	st->samples = p->samples.n;
	st->locations = p->locs.n;
	st->functions = p->funcs.n;
	st->mappings = p->maps.n;
	st->strings = p->strs.n;
	st->bytes = p->bytes;
}

int heed_pprof_new(const struct heed_pprof_opts *o, heed_pprof **out)
{
	heed_pprof *p;
	int64_t empty;
	int err;

	*out = NULL;
	if (!o || o->nsample_types == 0 || o->nsample_types > HEED_PPROF_MAX_VALUES ||
	    !o->sample_types || o->period < 0 || o->duration_nanos < 0)
		return -EINVAL;
	for (size_t i = 0; i < o->nsample_types; i++)
		if (!o->sample_types[i].type || !o->sample_types[i].unit)
			return -EINVAL;
	if (o->period_type.type && !o->period_type.unit)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->o = *o;
	p->nvalues = o->nsample_types;
	p->max_bytes = o->max_bytes ? o->max_bytes : HEED_PPROF_DEFAULT_MAX_BYTES;
	p->bytes = sizeof(*p);
	err = intern(p, "", 0, &empty);
	for (size_t i = 0; !err && i < p->nvalues; i++) {
		err = intern_z(p, o->sample_types[i].type, &p->type_idx[i][0]);
		if (!err)
			err = intern_z(p, o->sample_types[i].unit, &p->type_idx[i][1]);
	}
	if (!err && o->period_type.type) {
		err = intern_z(p, o->period_type.type, &p->period_idx[0]);
		if (!err)
			err = intern_z(p, o->period_type.unit, &p->period_idx[1]);
	}
	/* The caller's strings are not kept: the string table holds them. */
	p->o.sample_types = NULL;
	p->o.period_type = (struct heed_pprof_value_type){NULL, NULL};
	if (err) {
		heed_pprof_free(p);
		return err;
	}
	*out = p;
	return 0;
}

void heed_pprof_free(heed_pprof *p)
{
	if (!p)
		return;
	free(p->chars.v);
	free(p->strs.v);
	free(p->funcs.v);
	free(p->lines.v);
	free(p->locs.v);
	free(p->maps.v);
	free(p->locids.v);
	free(p->labels.v);
	free(p->vals.v);
	free(p->samples.v);
	free(p->tstr.s);
	free(p->tfunc.s);
	free(p->tloc.s);
	free(p->tmap.s);
	free(p->tsample.s);
	free(p);
}
