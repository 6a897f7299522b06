/*
 * profile_stacks.c - folded stacks in, self/total ranking out.
 *
 * Ranking costs one hash lookup per frame: the table is open-addressed and
 * kept at most half full, so large profiles (10^5 stacks) rank in
 * milliseconds.
 */
#include "profile_stacks.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int heed_prof_add(struct heed_prof *p, const char *frames, uint64_t count)
{
	struct heed_prof_stack *s;

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

int heed_prof_add_line(struct heed_prof *p, const char *line)
{
	size_t len = strlen(line);
	const char *sp;
	uint64_t count = 0;
	char *frames;
	int err;

	while (len && isspace((unsigned char)line[len - 1]))
		len--;
	if (len == 0)
		return 0;
	sp = memrchr(line, ' ', len);
	if (!sp || sp == line || sp + 1 == line + len)
		return -EINVAL;
	for (const char *c = sp + 1; c < line + len; c++) {
		if (!isdigit((unsigned char)*c) || count > UINT64_MAX / 10 - 10)
			return -EINVAL;
		count = count * 10 + (uint64_t)(*c - '0');
	}
	if (count == 0)
		return 0;
	frames = strndup(line, (size_t)(sp - line));
	if (!frames)
		return -ENOMEM;
	err = heed_prof_add(p, frames, count);
	free(frames);
	return err;
}

int heed_prof_read_folded(struct heed_prof *p, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	int rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		rc = heed_prof_add_line(p, line);
		if (rc == -EINVAL) {
			snprintf(err, errlen,
				 "%s: line %zu: not a folded stack (\"frame;frame;... COUNT\")",
				 path, lineno);
			goto cleanup;
		}
		if (rc) {
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
			goto cleanup;
		}
	}
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	}
cleanup:
	free(line);
	fclose(f);
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

static int rehash(struct heed_prof *p, struct table *t)
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
	const struct heed_prof_func *x = a, *y = b;

	if (x->self != y->self)
		return x->self < y->self ? 1 : -1;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Counts one frame of stack si; is_leaf adds to self too. */
static int count_frame(struct heed_prof *p, struct table *t, size_t *cap, const char *name,
		       size_t len, size_t si, uint64_t count, int is_leaf)
{
	struct heed_prof_func *f;
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

int heed_prof_rank(struct heed_prof *p)
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

void heed_prof_free(struct heed_prof *p)
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

uint64_t heed_prof_drop(struct heed_prof *p, const char *const *patterns)
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
