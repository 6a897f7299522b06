/*
 * folded.c - folded stacks in, self/total ranking out. Folded text is
 * read by libflame (flame.h), the one parser of the format in the tree; its
 * merged stacks come back through heed_flame_foreach.
 *
 * Ranking costs one hash lookup per frame: the table is open-addressed and
 * kept at most half full, so large profiles (10^5 stacks) rank in
 * milliseconds.
 */
#include "folded.h"

#include "flame.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int heed_folded_add(struct heed_folded *p, const char *frames, uint64_t count)
{
	struct heed_folded_stack *s;

	if (p->nstacks == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 64;

		s = realloc(p->stacks, ncap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		p->stacks = s;
		p->cap = ncap;
	}
	s = &p->stacks[p->nstacks];
	s->frames = strdup(frames);
	if (!s->frames)
		return -ENOMEM;
	s->count = count;
	p->nstacks++;
	p->samples += count;
	return 0;
}

/* heed_flame_foreach's walk: the path of the frame being visited, and where each
 * level's name ends in it. */
struct walk {
	struct heed_folded *p;
	char *path;
	size_t cap;
	size_t *end;
	size_t nend;
};

/* Adds the stack ending at fr when samples end there. A frame's parent is visited
 * before it, so path holds the parent's stack when fr comes. */
static int on_frame(const struct heed_flame_frame *fr, void *ctx)
{
	struct walk *w = ctx;
	size_t at, need;

	if (fr->depth == 0)
		return fr->self > 0 ? -EINVAL : 0; /* samples of a line without frames */
	if (fr->depth >= w->nend) {
		size_t n = (size_t)fr->depth * 2 + 8;
		size_t *e = realloc(w->end, n * sizeof(*e));

		if (!e)
			return -ENOMEM;
		w->end = e;
		w->nend = n;
	}
	at = fr->depth == 1 ? 0 : w->end[fr->depth - 1] + 1;
	need = at + fr->name_len + 1;
	if (need > w->cap) {
		size_t n = need * 2;
		char *b = realloc(w->path, n);

		if (!b)
			return -ENOMEM;
		w->path = b;
		w->cap = n;
	}
	if (fr->depth > 1)
		w->path[at - 1] = ';';
	memcpy(w->path + at, fr->name, fr->name_len);
	w->path[at + fr->name_len] = '\0';
	w->end[fr->depth] = at + fr->name_len;
	if (fr->self <= 0)
		return 0;
	/* Samples are whole: "0.5" or 1e23 is not a CPU profile. */
	if (fr->self != floor(fr->self) || fr->self >= 18446744073709551616.0)
		return -EINVAL;
	return heed_folded_add(w->p, w->path, (uint64_t)fr->self);
}

/* Adds every stack of a parsed graph (identical stacks merged). -EINVAL for a
 * differential graph or counts that are not whole samples. */
static int add_graph(struct heed_folded *p, heed_flame *f)
{
	struct walk w = {.p = p};
	struct heed_flame_stats st;
	int rc;

	heed_flame_stats(f, &st);
	if (st.differential)
		return -EINVAL;
	rc = heed_flame_foreach(f, on_frame, &w);
	free(w.path);
	free(w.end);
	return rc == -ENODATA ? 0 : rc;
}

int heed_folded_add_line(struct heed_folded *p, const char *line)
{
	heed_flame *f;
	int rc = heed_flame_new(NULL, &f);

	if (rc)
		return rc;
	rc = heed_flame_add_line(f, line, strlen(line), NULL, 1);
	if (!rc)
		rc = add_graph(p, f);
	heed_flame_free(f);
	return rc;
}

int heed_folded_read(struct heed_folded *p, const char *path, char *err, size_t errlen)
{
	FILE *in = fopen(path, "re");
	heed_flame *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	ssize_t n;
	int rc;

	if (!in) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = heed_flame_new(NULL, &f);
	while (!rc && (n = getline(&line, &cap, in)) >= 0) {
		lineno++;
		rc = heed_flame_add_line(f, line, (size_t)n, path, lineno);
		if (rc == -EINVAL)
			snprintf(err, errlen,
				 "%s: line %lu: not a folded stack (\"frame;frame;... COUNT\")",
				 path, lineno);
	}
	if (!rc && ferror(in)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	}
	if (!rc) {
		rc = add_graph(p, f);
		if (rc == -EINVAL)
			snprintf(err, errlen,
				 "%s: not a CPU profile (one whole sample count per stack)", path);
	}
	if (rc && rc != -EINVAL && rc != -EIO)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	heed_flame_free(f);
	free(line);
	fclose(in);
	return rc;
}

static uint64_t hash_name(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* One slot of the open-addressed name table. */
struct slot {
	size_t func; /* index into funcs + 1; 0 = empty */
	/* the stack in which the function was last counted, so a recursive
	 * function adds its total once per stack */
	size_t last;
};

struct table {
	struct slot *slots;
	size_t mask;
};

static int rehash(struct heed_folded *p, struct table *t)
{
	size_t nmask = t->mask ? t->mask * 2 + 1 : 1023;
	struct slot *slots = calloc(nmask + 1, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; t->slots && i <= t->mask; i++) {
		const struct slot *o = &t->slots[i];
		const char *n;
		size_t h;

		if (!o->func)
			continue;
		n = p->funcs[o->func - 1].name;
		h = (size_t)hash_name(n, strlen(n)) & nmask;
		while (slots[h].func)
			h = (h + 1) & nmask;
		slots[h] = *o;
	}
	free(t->slots);
	t->slots = slots;
	t->mask = nmask;
	return 0;
}

static int cmp_func(const void *a, const void *b)
{
	const struct heed_folded_func *x = a, *y = b;

	if (x->self != y->self)
		return x->self < y->self ? 1 : -1;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Counts one frame of stack si; is_leaf adds to self too. */
static int count_frame(struct heed_folded *p, struct table *t, size_t *cap, const char *name,
		       size_t len, size_t si, uint64_t count, int is_leaf)
{
	struct heed_folded_func *f;
	struct slot *s;
	size_t h;
	int err;

	if ((p->nfuncs + 1) * 2 > t->mask + 1) {
		err = rehash(p, t);
		if (err)
			return err;
	}
	h = (size_t)hash_name(name, len) & t->mask;
	while (t->slots[h].func) {
		const char *n = p->funcs[t->slots[h].func - 1].name;

		if (strncmp(n, name, len) == 0 && n[len] == '\0')
			break;
		h = (h + 1) & t->mask;
	}
	s = &t->slots[h];
	if (!s->func) {
		if (p->nfuncs == *cap) {
			size_t ncap = *cap ? *cap * 2 : 256;

			f = realloc(p->funcs, ncap * sizeof(*f));
			if (!f)
				return -ENOMEM;
			p->funcs = f;
			*cap = ncap;
		}
		f = &p->funcs[p->nfuncs];
		f->name = strndup(name, len);
		if (!f->name)
			return -ENOMEM;
		f->self = 0;
		f->total = 0;
		p->nfuncs++;
		s->func = p->nfuncs;
		s->last = (size_t)-1;
	}
	f = &p->funcs[s->func - 1];
	if (is_leaf)
		f->self += count;
	if (s->last != si) {
		f->total += count;
		s->last = si;
	}
	return 0;
}

int heed_folded_rank(struct heed_folded *p)
{
	struct table t = {0};
	size_t cap = 0;
	int err = 0;

	for (size_t i = 0; i < p->nfuncs; i++)
		free(p->funcs[i].name);
	free(p->funcs);
	p->funcs = NULL;
	p->nfuncs = 0;
	for (size_t si = 0; si < p->nstacks; si++) {
		const char *s = p->stacks[si].frames;

		while (*s) {
			const char *e = strchr(s, ';');
			size_t len = e ? (size_t)(e - s) : strlen(s);

			if (len) {
				err = count_frame(p, &t, &cap, s, len, si, p->stacks[si].count,
						  e == NULL);
				if (err)
					goto cleanup;
			}
			if (!e)
				break;
			s = e + 1;
		}
	}
	if (p->nfuncs)
		qsort(p->funcs, p->nfuncs, sizeof(*p->funcs), cmp_func);
cleanup:
	free(t.slots);
	return err;
}

void heed_folded_free(struct heed_folded *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nstacks; i++)
		free(p->stacks[i].frames);
	for (size_t i = 0; i < p->nfuncs; i++)
		free(p->funcs[i].name);
	free(p->stacks);
	free(p->funcs);
	memset(p, 0, sizeof(*p));
}

static int stack_matches(const char *s, const char *const *patterns)
{
	while (*s) {
		const char *e = strchr(s, ';');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		for (size_t i = 0; patterns[i]; i++)
			if (heed_frame_match(s, len, patterns[i]))
				return 1;
		if (!e)
			break;
		s = e + 1;
	}
	return 0;
}

uint64_t heed_folded_drop(struct heed_folded *p, const char *const *patterns)
{
	uint64_t dropped = 0;
	size_t kept = 0;

	for (size_t i = 0; i < p->nstacks; i++) {
		if (stack_matches(p->stacks[i].frames, patterns)) {
			dropped += p->stacks[i].count;
			free(p->stacks[i].frames);
			continue;
		}
		p->stacks[kept++] = p->stacks[i];
	}
	p->nstacks = kept;
	p->samples -= dropped;
	return dropped;
}

/* Length of the frame name without a trailing "_[x]" annotation. */
static size_t bare_len(const char *frame, size_t len)
{
	if (len > 4 && frame[len - 4] == '_' && frame[len - 3] == '[' && frame[len - 1] == ']')
		return len - 4;
	return len;
}

int heed_frame_match(const char *frame, size_t len, const char *pattern)
{
	char buf[256];
	size_t n = bare_len(frame, len);

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, frame, n);
	buf[n] = '\0';
	return fnmatch(pattern, buf, 0) == 0;
}

int heed_frame_is_kernel(const char *frame, size_t len)
{
	return len > 4 && memcmp(frame + len - 4, "_[k]", 4) == 0;
}
