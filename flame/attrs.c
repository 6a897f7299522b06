/* attrs.c - per-name colours (flamegraph.pl's palette.map, --cp) and per-name SVG
 * attributes (--nameattr).
 *
 * Both files are read into vectors of (name id, value); the SVG writer turns them
 * into lookup tables indexed by name id when it draws, so names read but never drawn
 * cost nothing there and are still written back to the palette map.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame_int.h"

void flame_attrs_free(heed_flame *f)
{
	for (size_t i = 0; i < f->nattrs; i++) {
		free(f->attrs[i].id);
		free(f->attrs[i].cls);
		free(f->attrs[i].title);
		free(f->attrs[i].href);
		free(f->attrs[i].target);
	}
	free(f->attrs);
	free(f->pal);
}

int flame_pal_add(heed_flame *f, uint32_t name, uint32_t rgb)
{
	if (f->npal == f->cappal) {
		size_t cap = f->cappal ? f->cappal * 2 : 64;
		struct flame_pal *p = realloc(f->pal, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		f->pal = p;
		f->cappal = cap;
	}
	f->pal[f->npal++] = (struct flame_pal){name, rgb};
	return 0;
}

uint32_t *flame_pal_index(const heed_flame *f)
{
	uint32_t *ix = calloc(f->nnames ? f->nnames : 1, sizeof(*ix));

	for (size_t i = 0; ix && i < f->npal; i++)
		ix[f->pal[i].name] = (uint32_t)i + 1;
	return ix;
}

uint32_t *flame_attr_index(const heed_flame *f)
{
	uint32_t *ix = calloc(f->nnames ? f->nnames : 1, sizeof(*ix));

	for (size_t i = 0; ix && i < f->nattrs; i++)
		ix[f->attrs[i].name] = (uint32_t)i + 1;
	return ix;
}

long flame_each_line(heed_flame *f, FILE *in, const char *name,
		     int (*fn)(void *ctx, char *s, size_t n, unsigned long lineno), void *ctx)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	unsigned long lineno = 0;
	int err = 0;

	errno = 0;
	while ((got = getline(&line, &cap, in)) >= 0) {
		err = fn(ctx, line, (size_t)got, ++lineno);
		if (err)
			break;
		errno = 0;
	}
	if (!err && ferror(in)) {
		flame_err(f, "%s: read error after line %lu: %s", name, lineno,
			  strerror(errno ? errno : EIO));
		err = -EIO;
	} else if (err == -ENOMEM) {
		flame_err(f, "%s:%lu: out of memory", name, lineno);
	}
	free(line);
	return err ? err : (long)lineno;
}

struct lines_ctx {
	heed_flame *f;
	const char *name;
	int (*fn)(heed_flame *f, char *s, size_t n, const char *name, unsigned long lineno);
};

static int strip_nl(void *ctx, char *s, size_t n, unsigned long lineno)
{
	const struct lines_ctx *c = ctx;

	if (n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';
	return c->fn(c->f, s, n, c->name, lineno);
}

/* flame_each_line with fn given each line without its '\n'. */
static long read_lines(heed_flame *f, FILE *in, const char *name,
		       int (*fn)(heed_flame *f, char *s, size_t n, const char *name,
				 unsigned long lineno))
{
	struct lines_ctx c = {f, name, fn};

	return flame_each_line(f, in, name, strip_nl, &c);
}

static int pal_line(heed_flame *f, char *s, size_t n, const char *name, unsigned long lineno)
{
	/* Perl's split("->", $line): the name is what precedes the first "->". */
	const char *arrow = memmem(s, n, "->", 2);
	uint32_t id, rgb;

	if (n == 0)
		return 0;
	if (!arrow || flame_parse_rgb(arrow + 2, n - (size_t)(arrow + 2 - s), &rgb)) {
		flame_err(f, "%s:%lu: not a palette line (name->rgb(R,G,B)): \"%.60s\"", name,
			  lineno, s);
		return -EINVAL;
	}
	if (flame_intern(f, s, (size_t)(arrow - s), &id) || flame_pal_add(f, id, rgb))
		return -ENOMEM;
	return 0;
}

long heed_flame_palette_read(heed_flame *f, FILE *in, const char *name)
{
	size_t before = f->npal;
	long ret = read_lines(f, in, name ? name : "<palette>", pal_line);

	return ret < 0 ? ret : (long)(f->npal - before);
}

static int pal_cmp(const void *pa, const void *pb, void *ctx)
{
	const heed_flame *f = ctx;
	const struct flame_name *a = &f->names[*(const uint32_t *)pa];
	const struct flame_name *b = &f->names[*(const uint32_t *)pb];
	int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

int heed_flame_palette_write(heed_flame *f, FILE *out)
{
	uint32_t *ix = flame_pal_index(f), *order = NULL;
	size_t n = 0;
	int err = 0;

	if (!ix)
		return -ENOMEM;
	order = malloc((f->npal ? f->npal : 1) * sizeof(*order));
	if (!order) {
		free(ix);
		return -ENOMEM;
	}
	/* A name read twice keeps its last colour, written once. */
	for (size_t i = 0; i < f->npal; i++) {
		if (ix[f->pal[i].name] == i + 1)
			order[n++] = f->pal[i].name;
	}
	qsort_r(order, n, sizeof(*order), pal_cmp, f);
	for (size_t i = 0; i < n && !err; i++) {
		const struct flame_name *nm = &f->names[order[i]];
		uint32_t rgb = f->pal[ix[order[i]] - 1].rgb;

		if (fwrite(nm->s, 1, nm->len, out) != nm->len ||
		    fprintf(out, "->rgb(%u,%u,%u)\n", rgb >> 16, rgb >> 8 & 255, rgb & 255) < 0)
			err = -EIO;
	}
	if (!err && fflush(out) != 0)
		err = -EIO;
	free(order);
	free(ix);
	return err;
}

/* Sets one attribute of a; 1 when the key is not one heed-flame writes. */
static int set_attr(struct flame_attr *a, const char *key, size_t kn, const char *val)
{
	static const char *const keys[] = {"id", "class", "title", "href", "target"};
	char **slot[] = {&a->id, &a->cls, &a->title, &a->href, &a->target};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strlen(keys[i]) == kn && memcmp(keys[i], key, kn) == 0) {
			free(*slot[i]);
			*slot[i] = strdup(val);
			return *slot[i] ? 0 : -ENOMEM;
		}
	}
	return 1;
}

static int attr_line(heed_flame *f, char *s, size_t n, const char *name, unsigned long lineno)
{
	char *tab = memchr(s, '\t', n), *p;
	struct flame_attr *a;
	uint32_t id;

	if (n == 0)
		return 0;
	if (!tab) {
		flame_err(f, "%s:%lu: no tab after the name: \"%.60s\"", name, lineno, s);
		return -EINVAL;
	}
	if (flame_intern(f, s, (size_t)(tab - s), &id))
		return -ENOMEM;
	if (f->nattrs == f->capattrs) {
		size_t cap = f->capattrs ? f->capattrs * 2 : 16;
		struct flame_attr *na = realloc(f->attrs, cap * sizeof(*na));

		if (!na)
			return -ENOMEM;
		f->attrs = na;
		f->capattrs = cap;
	}
	a = &f->attrs[f->nattrs++];
	memset(a, 0, sizeof(*a));
	a->name = id;
	/* Tab-separated key=value pairs; a value may hold '=' (split /=/, $_, 2). */
	for (p = tab + 1; p && *p;) {
		char *next = strchr(p, '\t'), *eq;
		int r;

		if (next)
			*next++ = '\0';
		eq = strchr(p, '=');
		if (eq) {
			*eq = '\0';
			r = set_attr(a, p, (size_t)(eq - p), eq + 1);
			if (r < 0)
				return r;
			if (r > 0)
				flame_err(f, "%s:%lu: attribute '%.40s' is not supported; ignored",
					  name, lineno, p);
		}
		p = next;
	}
	return 0;
}

long heed_flame_nameattr_read(heed_flame *f, FILE *in, const char *name)
{
	return read_lines(f, in, name ? name : "<nameattr>", attr_line);
}
