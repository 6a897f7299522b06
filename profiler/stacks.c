/* stacks.c - see stacks.h. */
#include "stacks.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include "flame.h"

struct buf {
	char *p;
	size_t len, cap;
};

static int put(struct buf *b, const char *s)
{
	size_t l = strlen(s);

	if (b->len + l + 2 > b->cap) {
		size_t ncap = (b->len + l + 2) * 2;
		char *np = realloc(b->p, ncap);

		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = ncap;
	}
	if (b->len)
		b->p[b->len++] = ';';
	/* ';' separates frames: a name must not carry one. */
	for (; *s; s++)
		b->p[b->len++] = *s == ';' ? ':' : *s;
	b->p[b->len] = 0;
	return 0;
}

/* User frames root first: "[truncated]" above a walk that stopped early. */
static int add_user(struct buf *b, heed_sym *sym, const struct heed_raw_stack *r)
{
	size_t j, n;
	uint32_t i;
	int err;

	if (r->flags & HEED_RAW_NO_USER)
		return put(b, "[lost user stack]");
	if (r->flags & HEED_RAW_TRUNCATED) {
		err = put(b, "[truncated]");
		if (err)
			return err;
	}
	for (i = r->nuser; i-- > 0;) {
		const char *const *fr;

		err = heed_sym_user(sym, r->pcs[i], i > 0, &fr, &n);
		if (err)
			return err;
		for (j = 0; j < n; j++) {
			err = put(b, fr[j]);
			if (err)
				return err;
		}
	}
	return 0;
}

/* The innermost frames of a tracepoint stack are our own program and the kernel's
 * trampoline to it: not the target's time. *skip: how many to leave out. */
static int kernel_skip(heed_sym *sym, const struct heed_raw_stack *r, uint32_t *skip)
{
	const uint64_t *ips = r->pcs + r->nuser;
	uint32_t i;

	for (i = 0; i < r->nkern; i++) {
		const char *name = heed_sym_kernel(sym, ips[i]);

		if (!name)
			return -ENOMEM;
		if (strncmp(name, "bpf_prog_", 9) != 0 && strncmp(name, "bpf_trace_run", 13) != 0 &&
		    strncmp(name, "__bpf_trace_", 12) != 0)
			break;
	}
	*skip = i;
	return 0;
}

static int add_kernel(struct buf *b, heed_sym *sym, const struct heed_raw_stack *r)
{
	const uint64_t *ips = r->pcs + r->nuser;
	uint32_t i, skip;
	int err;

	if (r->flags & HEED_RAW_NO_KERN)
		return put(b, "[lost kernel stack]");
	err = kernel_skip(sym, r, &skip);
	if (err)
		return err;
	for (i = r->nkern; i-- > skip;) {
		const char *name = heed_sym_kernel(sym, ips[i]);

		if (!name)
			return -ENOMEM;
		err = put(b, name);
		if (err)
			return err;
	}
	return 0;
}

static int by_folded(const void *x, const void *y)
{
	const struct heed_stack *a = x, *b = y;

	return strcmp(a->folded, b->folded);
}

/* Different stack ids can symbolize alike (other addresses in the same functions):
 * sort and merge them so each folded stack appears once. */
static void merge(struct heed_stacks *st)
{
	size_t i, o = 0;

	if (!st->n)
		return;
	qsort(st->v, st->n, sizeof(*st->v), by_folded);
	for (i = 1; i < st->n; i++) {
		if (!strcmp(st->v[i].folded, st->v[o].folded)) {
			st->v[o].count += st->v[i].count;
			free(st->v[i].folded);
		} else {
			st->v[++o] = st->v[i];
		}
	}
	st->n = o + 1;
}

int heed_stacks_collect(const struct heed_raw_stack *const *v, size_t n, heed_sym *sym,
			const char *root, const char *comm, double mult, struct heed_stacks *out)
{
	struct buf b = {0};
	uint64_t count;
	size_t k;
	int err = 0;

	for (k = 0; k < n; k++) {
		b.len = 0;
		err = root ? put(&b, root) : 0;
		if (!err)
			err = put(&b, comm);
		if (!err)
			err = add_user(&b, sym, v[k]);
		if (!err)
			err = add_kernel(&b, sym, v[k]);
		if (err)
			goto cleanup;
		if (out->n == out->cap) {
			size_t ncap = out->cap ? out->cap * 2 : 256;
			struct heed_stack *nv = realloc(out->v, ncap * sizeof(*nv));

			if (!nv) {
				err = -ENOMEM;
				goto cleanup;
			}
			out->v = nv;
			out->cap = ncap;
		}
		out->v[out->n].folded = strdup(b.p);
		if (!out->v[out->n].folded) {
			err = -ENOMEM;
			goto cleanup;
		}
		count = (uint64_t)(v[k]->count * mult);
		out->v[out->n++].count = count;
		out->total += count;
	}
	merge(out);
cleanup:
	free(b.p);
	return err;
}

int heed_stacks_write_folded(const struct heed_stacks *st, FILE *f)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		fprintf(f, "%s %" PRIu64 "\n", st->v[i].folded, st->v[i].count);
	return fflush(f) || ferror(f) ? -EIO : 0;
}

struct errbuf {
	char *p;
	size_t len;
};

static void flame_error(void *ctx, const char *msg)
{
	struct errbuf *e = ctx;

	if (!e->p[0])
		snprintf(e->p, e->len, "%s", msg);
}

int heed_stacks_write_flame(const struct heed_stacks *st, const char *path, const char *title,
			    const char *countname, char *err, size_t errlen)
{
	return heed_stacks_write_diff(NULL, 0, st, 1, path, title, countname, err, errlen);
}

/* Adds the stacks of st, each count times scale, as one side of a differential graph
 * (side 0 before, 1 after) or (side -1) as an ordinary one. */
static int add_side(heed_flame *fl, const struct heed_stacks *st, double scale, int side)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < st->n && !rc; i++) {
		double c = (double)st->v[i].count * scale;
		char *line = NULL;
		int len = side < 0 ? asprintf(&line, "%s %.17g", st->v[i].folded, c)
				   : asprintf(&line, "%s %.17g %.17g", st->v[i].folded,
					      side ? 0 : c, side ? c : 0);

		if (len < 0)
			return -ENOMEM;
		rc = heed_flame_add_line(fl, line, (size_t)len, NULL, i + 1);
		free(line);
	}
	return rc;
}

int heed_stacks_write_diff(const struct heed_stacks *before, double scale_b,
			   const struct heed_stacks *after, double scale_a, const char *path,
			   const char *title, const char *countname, char *err, size_t errlen)
{
	struct errbuf eb = {err, errlen};
	struct heed_flame_opts o;
	heed_flame *fl = NULL;
	FILE *f = NULL;
	int rc;

	err[0] = 0;
	heed_flame_opts_init(&o);
	o.title = title;
	o.countname = countname;
	/* A frame coloured by its whole subtree's change: slow_path's callees change
	 * too, not only its own samples. */
	o.diff_subtree = before != NULL;
	o.on_error = flame_error;
	o.error_ctx = &eb;
	rc = heed_flame_new(&o, &fl);
	if (rc)
		goto cleanup;
	if (before)
		rc = add_side(fl, before, scale_b, 0);
	if (!rc)
		rc = add_side(fl, after, scale_a, before ? 1 : -1);
	if (rc)
		goto cleanup;
	f = fopen(path, "we");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	rc = heed_flame_write_svg(fl, f);
cleanup:
	if (f && fclose(f) && !rc)
		rc = -EIO;
	if (rc && !err[0])
		snprintf(err, errlen, "%s: cannot write the flame graph: %s", path, strerror(-rc));
	heed_flame_free(fl);
	return rc;
}

int heed_stacks_top(const struct heed_stacks *st, struct heed_folded *out)
{
	size_t i;
	int err;

	for (i = 0; i < st->n; i++) {
		const char *frames = strchr(st->v[i].folded, ';');

		if (!frames)
			continue;
		err = heed_folded_add(out, frames + 1, st->v[i].count);
		if (err)
			return err;
	}
	return heed_folded_rank(out);
}

/* The GNU build-ids of the files met while adding one profile's stacks, read once
 * per file. */
struct buildid {
	char *path;
	unsigned char id[64];
	size_t len; /* 0: none (no note, not ELF, unreadable) */
};

struct pp_ctx {
	heed_pprof *p;
	heed_sym *sym;
	const struct heed_maps *maps;
	struct buildid *ids;
	size_t nids;
	uint64_t *locs;
	size_t nlocs, cap;
};

static void read_buildid(const char *path, struct buildid *b)
{
	const void *id;
	Elf *elf = NULL;
	ssize_t len;
	int fd;

	b->len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	len = elf ? dwelf_elf_gnu_build_id(elf, &id) : -1;
	if (len > 0 && (size_t)len <= sizeof(b->id)) {
		memcpy(b->id, id, (size_t)len);
		b->len = (size_t)len;
	}
	elf_end(elf);
	close(fd);
}

static const struct buildid *buildid_of(struct pp_ctx *c, const char *path)
{
	struct buildid *nv;
	size_t i;

	for (i = 0; i < c->nids; i++)
		if (!strcmp(c->ids[i].path, path))
			return &c->ids[i];
	nv = realloc(c->ids, (c->nids + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	c->ids = nv;
	nv[c->nids].path = strdup(path);
	if (!nv[c->nids].path)
		return NULL;
	/* Only files: "[vdso]", "[heap]" and anonymous memory have none. */
	if (path[0] == '/')
		read_buildid(path, &nv[c->nids]);
	else
		nv[c->nids].len = 0;
	return &c->ids[c->nids++];
}

static int push_loc(struct pp_ctx *c, uint64_t id)
{
	if (c->nlocs == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 128;
		uint64_t *nv = realloc(c->locs, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		c->locs = nv;
		c->cap = ncap;
	}
	c->locs[c->nlocs++] = id;
	return 0;
}

/* A location without an address: a frame that stands for what could not be read. */
static int pp_named(struct pp_ctx *c, const char *name)
{
	struct heed_pprof_line l = {.name = name};
	uint64_t id;
	int err = heed_pprof_add_location(c->p, 0, 0, &l, 1, &id);

	return err ? err : push_loc(c, id);
}

/* A copy of name without its "_[k]" or "_[i]" annotation (NULL: no memory). */
static char *bare(const char *name)
{
	size_t l = strlen(name);

	if (l >= 4 && (!strcmp(name + l - 4, "_[k]") || !strcmp(name + l - 4, "_[i]")))
		l -= 4;
	return strndup(name, l);
}

static int pp_kernel(struct pp_ctx *c, const struct heed_raw_stack *r)
{
	const uint64_t *ips = r->pcs + r->nuser;
	uint64_t kmap = 0, id;
	uint32_t i, skip = 0;
	int err;

	if (r->flags & HEED_RAW_NO_KERN)
		return pp_named(c, "[lost kernel stack]");
	err = kernel_skip(c->sym, r, &skip);
	if (!err && skip < r->nkern)
		err = heed_pprof_kernel_mapping(c->p, &kmap);
	for (i = skip; i < r->nkern && !err; i++) {
		const char *name = heed_sym_kernel(c->sym, ips[i]);
		struct heed_pprof_line l = {0};
		char *b = name ? bare(name) : NULL;

		if (!b)
			return -ENOMEM;
		l.name = b;
		err = heed_pprof_add_location(c->p, kmap, ips[i], &l, 1, &id);
		free(b);
		if (!err)
			err = push_loc(c, id);
	}
	return err;
}

/* The mapping of addr in the profile (0: outside every mapping of the snapshot). */
static int pp_mapping(struct pp_ctx *c, uint64_t addr, uint64_t *id)
{
	const struct heed_map *m = heed_maps_find(c->maps, addr);
	struct heed_pprof_mapping pm = {0};
	const struct buildid *b;

	*id = 0;
	if (!m)
		return 0;
	b = buildid_of(c, m->path);
	if (!b)
		return -ENOMEM;
	pm.start = m->start;
	pm.limit = m->end;
	pm.offset = m->off;
	pm.file = m->path;
	pm.build_id = b->id;
	pm.build_id_len = b->len;
	pm.flags = HEED_PPROF_HAS_FUNCTIONS | HEED_PPROF_HAS_INLINE_FRAMES;
	return heed_pprof_add_mapping(c->p, &pm, id);
}

/* User frames leaf first; each address one location whose lines are the frames
 * symbolize.c gives it, innermost (inlined) first. */
static int pp_user(struct pp_ctx *c, const struct heed_raw_stack *r)
{
	struct heed_pprof_line *lines = NULL;
	size_t cap = 0, j, n = 0;
	uint32_t i;
	int err = 0;

	if (r->flags & HEED_RAW_NO_USER)
		return pp_named(c, "[lost user stack]");
	for (i = 0; i < r->nuser && !err; i++) {
		const char *const *fr;
		uint64_t mid, id;

		err = heed_sym_user(c->sym, r->pcs[i], i > 0, &fr, &n);
		if (!err && n > cap) {
			free(lines);
			cap = n;
			lines = calloc(cap, sizeof(*lines));
			if (!lines)
				err = -ENOMEM;
		}
		if (!err)
			err = pp_mapping(c, r->pcs[i], &mid);
		for (j = 0; j < n && !err; j++) {
			lines[j].name = bare(fr[n - 1 - j]);
			if (!lines[j].name)
				err = -ENOMEM;
		}
		if (!err)
			err = heed_pprof_add_location(c->p, mid, r->pcs[i], lines, n, &id);
		if (!err)
			err = push_loc(c, id);
		for (j = 0; j < n && lines; j++) {
			free((char *)lines[j].name);
			lines[j].name = NULL;
		}
	}
	if (!err && (r->flags & HEED_RAW_TRUNCATED))
		err = pp_named(c, "[truncated]");
	free(lines);
	return err;
}

int heed_stacks_pprof(const struct heed_raw_stack *const *v, size_t n, heed_sym *sym,
		      const struct heed_maps *maps, const char *comm, pid_t pid,
		      const int64_t *mult, size_t nmult, heed_pprof *p)
{
	struct pp_ctx c = {.p = p, .sym = sym, .maps = maps};
	struct heed_pprof_label labels[2] = {{.key = "process", .str = comm},
					     {.key = "pid", .num = pid}};
	int64_t values[HEED_PPROF_MAX_VALUES];
	size_t k, i;
	int err = 0;

	if (nmult > HEED_PPROF_MAX_VALUES)
		return -EINVAL;
	/* pprof names a profile after its first mapping: the program's (the first file
	 * mapped executable), not the kernel's or a library's. */
	for (i = 0; i < maps->n && n; i++)
		if (maps->v[i].exec && maps->v[i].path[0] == '/') {
			uint64_t id;

			err = pp_mapping(&c, maps->v[i].start, &id);
			break;
		}
	for (k = 0; k < n && !err; k++) {
		c.nlocs = 0;
		err = pp_kernel(&c, v[k]);
		if (!err)
			err = pp_user(&c, v[k]);
		/* pprof drops a sample without locations: it counts as the process. */
		if (!err && !c.nlocs)
			err = pp_named(&c, comm);
		for (i = 0; i < nmult && !err; i++)
			if (__builtin_mul_overflow((int64_t)v[k]->count, mult[i], &values[i]) ||
			    v[k]->count > INT64_MAX)
				err = -EOVERFLOW;
		if (!err)
			err = heed_pprof_add_sample(p, c.locs, c.nlocs, values, labels, 2);
	}
	for (i = 0; i < c.nids; i++)
		free(c.ids[i].path);
	free(c.ids);
	free(c.locs);
	return err;
}

void heed_stacks_free(struct heed_stacks *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		free(st->v[i].folded);
	free(st->v);
	memset(st, 0, sizeof(*st));
}
