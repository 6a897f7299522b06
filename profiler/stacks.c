/* stacks.c - see stacks.h. */
#include "stacks.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

static int add_kernel(struct buf *b, heed_sym *sym, const struct heed_raw_stack *r)
{
	const uint64_t *ips = r->pcs + r->nuser;
	uint32_t i, skip;
	int err;

	if (r->flags & HEED_RAW_NO_KERN)
		return put(b, "[lost kernel stack]");
	/* The innermost frames of a tracepoint stack are our own program and the
	 * kernel's trampoline to it: not the target's time. */
	for (skip = 0; skip < r->nkern; skip++) {
		const char *name = heed_sym_kernel(sym, ips[skip]);

		if (!name)
			return -ENOMEM;
		if (strncmp(name, "bpf_prog_", 9) != 0 && strncmp(name, "bpf_trace_run", 13) != 0 &&
		    strncmp(name, "__bpf_trace_", 12) != 0)
			break;
	}
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
			const char *comm, struct heed_stacks *out)
{
	struct buf b = {0};
	size_t k;
	int err = 0;

	for (k = 0; k < n; k++) {
		b.len = 0;
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
		out->v[out->n++].count = v[k]->count;
		out->total += v[k]->count;
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

int heed_stacks_top(const struct heed_stacks *st, struct heed_prof *out)
{
	size_t i;
	int err;

	for (i = 0; i < st->n; i++) {
		const char *frames = strchr(st->v[i].folded, ';');

		if (!frames)
			continue;
		err = heed_prof_add(out, frames + 1, st->v[i].count);
		if (err)
			return err;
	}
	return heed_prof_rank(out);
}

void heed_stacks_free(struct heed_stacks *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		free(st->v[i].folded);
	free(st->v);
	memset(st, 0, sizeof(*st));
}
