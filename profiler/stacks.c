/* stacks.c - see stacks.h. */
#include "stacks.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/types.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "stack.h"

_Static_assert(sizeof(struct heed_stack_key) == 16, "heed_stack_key ABI");

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

static int add_user(struct buf *b, heed_sym *sym, int stacks_fd, __s32 id, __u64 *ips)
{
	int depth, i, err;
	size_t j, n;

	if (id < 0)
		return put(b, "[lost user stack]");
	if (bpf_map_lookup_elem(stacks_fd, &id, ips))
		return put(b, "[lost user stack]");
	for (depth = 0; depth < HEED_STACK_DEPTH && ips[depth]; depth++)
		;
	for (i = depth - 1; i >= 0; i--) {
		const char *const *fr;

		err = heed_sym_user(sym, ips[i], i > 0, &fr, &n);
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

static int add_kernel(struct buf *b, heed_sym *sym, int stacks_fd, __s32 id, __u64 *ips)
{
	int depth, i, skip, err;

	/* -EFAULT: the sample was taken in user mode, there is no kernel part. */
	if (id == -EFAULT)
		return 0;
	if (id < 0 || bpf_map_lookup_elem(stacks_fd, &id, ips))
		return put(b, "[lost kernel stack]");
	for (depth = 0; depth < HEED_STACK_DEPTH && ips[depth]; depth++)
		;
	/* The innermost frames of a tracepoint stack are our own program and the
	 * kernel's trampoline to it: not the target's time. */
	for (skip = 0; skip < depth; skip++) {
		const char *name = heed_sym_kernel(sym, ips[skip]);

		if (!name)
			return -ENOMEM;
		if (strncmp(name, "bpf_prog_", 9) != 0 && strncmp(name, "bpf_trace_run", 13) != 0 &&
		    strncmp(name, "__bpf_trace_", 12) != 0)
			break;
	}
	for (i = depth - 1; i >= skip; i--) {
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

int heed_stacks_collect(int counts_fd, int stacks_fd, heed_sym *sym, const char *comm,
			struct heed_stacks *out)
{
	struct heed_stack_key key, next, *prev = NULL;
	__u64 ips[HEED_STACK_DEPTH], count;
	struct buf b = {0};
	int err = 0;

	while (bpf_map_get_next_key(counts_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(counts_fd, &key, &count))
			continue;
		b.len = 0;
		err = put(&b, comm);
		if (!err)
			err = add_user(&b, sym, stacks_fd, key.ustack, ips);
		if (!err)
			err = add_kernel(&b, sym, stacks_fd, key.kstack, ips);
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
	struct errbuf eb = {err, errlen};
	struct heed_flame_opts o;
	heed_flame *fl = NULL;
	FILE *f = NULL;
	size_t i;
	int rc;

	err[0] = 0;
	heed_flame_opts_init(&o);
	o.title = title;
	o.countname = countname;
	o.on_error = flame_error;
	o.error_ctx = &eb;
	rc = heed_flame_new(&o, &fl);
	if (rc)
		goto cleanup;
	for (i = 0; i < st->n && !rc; i++) {
		char *line = NULL;
		int len = asprintf(&line, "%s %" PRIu64, st->v[i].folded, st->v[i].count);

		if (len < 0) {
			rc = -ENOMEM;
			break;
		}
		rc = heed_flame_add_line(fl, line, (size_t)len, NULL, i + 1);
		free(line);
	}
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

struct acc {
	struct heed_func_count *v;
	size_t n, cap;
	size_t *tab; /* open addressing: index + 1 into v, 0 empty */
	size_t tcap;
};

static size_t hash_str(const char *s, size_t len)
{
	size_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static int acc_grow(struct acc *a)
{
	size_t ncap = a->tcap ? a->tcap * 2 : 1024, i, *nt;

	nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	for (i = 0; i < a->n; i++) {
		size_t h = hash_str(a->v[i].name, strlen(a->v[i].name)) & (ncap - 1);

		while (nt[h])
			h = (h + 1) & (ncap - 1);
		nt[h] = i + 1;
	}
	free(a->tab);
	a->tab = nt;
	a->tcap = ncap;
	return 0;
}

/* The entry of name[0..len), created at zero. */
static struct heed_func_count *acc_get(struct acc *a, const char *name, size_t len)
{
	size_t h;

	if ((a->n + 1) * 2 > a->tcap && acc_grow(a))
		return NULL;
	h = hash_str(name, len) & (a->tcap - 1);
	while (a->tab[h]) {
		struct heed_func_count *e = &a->v[a->tab[h] - 1];

		if (strlen(e->name) == len && !memcmp(e->name, name, len))
			return e;
		h = (h + 1) & (a->tcap - 1);
	}
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 256;
		struct heed_func_count *nv = realloc(a->v, ncap * sizeof(*nv));

		if (!nv)
			return NULL;
		/* Zeroed so that every entry is defined, also to the analyzer. */
		memset(nv + a->cap, 0, (ncap - a->cap) * sizeof(*nv));
		a->v = nv;
		a->cap = ncap;
	}
	a->v[a->n].name = strndup(name, len);
	if (!a->v[a->n].name)
		return NULL;
	a->v[a->n].self = 0;
	a->v[a->n].total = 0;
	a->tab[h] = ++a->n;
	return &a->v[a->n - 1];
}

static int by_self(const void *x, const void *y)
{
	const struct heed_func_count *a = x, *b = y;

	if (a->self != b->self)
		return a->self < b->self ? 1 : -1;
	if (a->total != b->total)
		return a->total < b->total ? 1 : -1;
	return strcmp(a->name, b->name);
}

int heed_stacks_top(const struct heed_stacks *st, struct heed_func_count **out, size_t *n)
{
	size_t i, k, nseen, cap = 0, *seen = NULL, idx, leaf;
	struct heed_func_count *e;
	struct acc a = {0};
	int err = 0;

	for (i = 0; i < st->n; i++) {
		const char *p = strchr(st->v[i].folded, ';'), *q;

		nseen = 0;
		leaf = SIZE_MAX;
		/* The first frame is the comm: not a function. Entries move when a.v
		 * grows, so a stack's frames are remembered by index. */
		while (p) {
			int dup = 0;

			p++;
			q = strchr(p, ';');
			e = acc_get(&a, p, q ? (size_t)(q - p) : strlen(p));
			if (!e) {
				err = -ENOMEM;
				goto cleanup;
			}
			idx = (size_t)(e - a.v);
			leaf = idx;
			for (k = 0; k < nseen && !dup; k++)
				dup = seen[k] == idx;
			if (!dup) {
				if (nseen == cap) {
					size_t ncap = cap ? cap * 2 : 64, *ns;

					ns = realloc(seen, ncap * sizeof(*ns));
					if (!ns) {
						err = -ENOMEM;
						goto cleanup;
					}
					seen = ns;
					cap = ncap;
				}
				seen[nseen++] = idx;
			}
			p = q;
		}
		for (k = 0; a.v && k < nseen; k++)
			a.v[seen[k]].total += st->v[i].count;
		if (a.v && leaf != SIZE_MAX)
			a.v[leaf].self += st->v[i].count;
	}
	if (a.v && a.n)
		qsort(a.v, a.n, sizeof(*a.v), by_self);
	*out = a.v;
	*n = a.n;
	a.v = NULL;
	a.n = 0;
cleanup:
	free(seen);
	free(a.tab);
	heed_stacks_top_free(a.v, a.n);
	return err;
}

void heed_stacks_top_free(struct heed_func_count *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

void heed_stacks_free(struct heed_stacks *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		free(st->v[i].folded);
	free(st->v);
	memset(st, 0, sizeof(*st));
}
