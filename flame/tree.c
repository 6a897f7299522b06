/* tree.c - the merged-stack trie: options, interning, adding stacks, finishing.
 *
 * Cost: one name-table probe and one child-table probe per frame not shared with the
 * previous line, no sort of the lines; finishing sorts only the distinct names and
 * links children with a counting sort over their ranks, O(nodes + names log names).
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame_int.h"

#define ARENA_BLOCK (1u << 20)
#define MAX_NODES   (UINT32_MAX - 2)

struct flame_arena_blk {
	struct flame_arena_blk *next;
	size_t used, cap;
	char data[];
};

void flame_err(heed_flame *f, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!f->o.on_error)
		return;
	va_start(ap, fmt);
	/* clang-tidy 14 loses track of va_start when given several files. */
	vsnprintf(msg, sizeof(msg), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	f->o.on_error(f->o.error_ctx, msg);
}

void heed_flame_opts_init(struct heed_flame_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->minwidth = -1;
}

int heed_flame_palette_parse(const char *name, enum heed_flame_palette *p)
{
	static const char *const names[] = {"hot",   "mem",  "io",    "java",	"wakeup", "red",
					    "green", "blue", "aqua",  "yellow", "purple", "orange",
					    "js",    "perl", "chain", "python", "rust"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*p = (enum heed_flame_palette)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int isxdigit_c(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The last word of a string is read overlapping the one before it, so no byte loop or
 * variable-length copy runs per name: a profile hashes a million of them. */
static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0x243f6a8885a308d3ull ^ (n * 0x9e3779b97f4a7c15ull);
	uint64_t w;

	if (n >= 8) {
		for (; n > 8; s += 8, n -= 8) {
			memcpy(&w, s, 8);
			h = (h ^ w) * 0xff51afd7ed558ccdull;
			h ^= h >> 29;
		}
		memcpy(&w, s + n - 8, 8);
	} else if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		w = (uint64_t)a << 32 | b;
	} else {
		w = n ? (uint64_t)(unsigned char)s[0] << 16 |
				    (uint64_t)(unsigned char)s[n / 2] << 8 | (unsigned char)s[n - 1]
		      : 0;
	}
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 32;
	h *= 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	return h;
}

static uint64_t hash_pair(uint32_t parent, uint32_t name)
{
	uint64_t h = (uint64_t)parent << 32 | name;

	/* murmur3's finalizer: the low bits used as the index depend on every bit. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

static char *arena_copy(heed_flame *f, const char *s, size_t n)
{
	struct flame_arena_blk *b = f->arena;
	char *p;

	if (!b || b->cap - b->used < n + 1) {
		size_t cap = n + 1 > ARENA_BLOCK ? n + 1 : ARENA_BLOCK;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = f->arena;
		b->used = 0;
		b->cap = cap;
		f->arena = b;
	}
	p = b->data + b->used;
	memcpy(p, s, n);
	p[n] = '\0';
	b->used += n + 1;
	return p;
}

static char *dup_opt(const char *s, int *err)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*err = -ENOMEM;
	return d;
}

static int bad_num(double v)
{
	return !isfinite(v) || v < 0;
}

static int grow(void **p, uint32_t *cap, size_t elem, uint32_t need)
{
	uint32_t n = *cap ? *cap : 256;
	void *q;

	while (n < need) {
		if (n > MAX_NODES / 2)
			return -ENOMEM;
		n *= 2;
	}
	q = realloc(*p, (size_t)n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

static int add_node(heed_flame *f, uint32_t parent, uint32_t name, uint32_t *id)
{
	struct flame_node *n;

	if (f->nnodes >= MAX_NODES)
		return -ENOMEM;
	if (f->nnodes == f->capnodes) {
		uint32_t cap = f->capnodes, ncap = cap;
		double *a, *b = NULL;

		if (grow((void **)&f->nodes, &ncap, sizeof(*f->nodes), f->nnodes + 1))
			return -ENOMEM;
		a = realloc(f->self_a, (size_t)ncap * sizeof(*a));
		if (a)
			f->self_a = a;
		if (a && f->self_b) {
			b = realloc(f->self_b, (size_t)ncap * sizeof(*b));
			if (b)
				f->self_b = b;
		}
		if (!a || (f->self_b && !b))
			return -ENOMEM;
		if (f->o.flamechart) {
			double *st = realloc(f->start, (size_t)ncap * sizeof(*st));
			uint32_t *lk;

			if (st)
				f->start = st;
			lk = st ? realloc(f->last_kid, (size_t)ncap * sizeof(*lk)) : NULL;
			if (!lk)
				return -ENOMEM;
			f->last_kid = lk;
		}
		f->capnodes = ncap;
	}
	n = &f->nodes[f->nnodes];
	n->parent = parent;
	n->name = name;
	n->child = FLAME_NONE;
	n->next = FLAME_NONE;
	n->nkids = 0;
	f->self_a[f->nnodes] = 0;
	if (f->self_b)
		f->self_b[f->nnodes] = 0;
	if (f->start) {
		f->start[f->nnodes] = f->chart_time;
		f->last_kid[f->nnodes] = FLAME_NONE;
	}
	*id = f->nnodes++;
	return 0;
}

/* A graph turning differential gets its AFTER column. */
static int enable_diff(heed_flame *f)
{
	if (f->self_b)
		return 0;
	f->self_b = calloc(f->capnodes ? f->capnodes : 1, sizeof(*f->self_b));
	return f->self_b ? 0 : -ENOMEM;
}

/* Reports a bad option; there is no graph yet to carry the callback. */
static void opt_err(const struct heed_flame_opts *o, const char *msg)
{
	if (o->on_error)
		o->on_error(o->error_ctx, msg);
}

/* flamegraph.pl's background for a palette when --bgcolors is not given. */
static const char *default_bg(enum heed_flame_palette p)
{
	switch (p) {
	case HEED_FLAME_MEM:
		return "green";
	case HEED_FLAME_IO:
	case HEED_FLAME_WAKEUP:
	case HEED_FLAME_CHAIN:
		return "blue";
	case HEED_FLAME_RED:
	case HEED_FLAME_GREEN:
	case HEED_FLAME_BLUE:
	case HEED_FLAME_AQUA:
	case HEED_FLAME_YELLOW:
	case HEED_FLAME_PURPLE:
	case HEED_FLAME_ORANGE:
		return "grey";
	default:
		return "yellow";
	}
}

static int is_hex_colour(const char *s)
{
	if (s[0] != '#' || strlen(s) != 7)
		return 0;
	for (int i = 1; i < 7; i++) {
		if (!isxdigit_c(s[i]))
			return 0;
	}
	return 1;
}

int flame_parse_rgb(const char *s, size_t n, uint32_t *rgb)
{
	size_t i = 4;
	uint32_t v = 0;

	if (n < 4 || memcmp(s, "rgb(", 4) != 0)
		return -1;
	for (int k = 0; k < 3; k++) {
		unsigned int c = 0, digits = 0;

		while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 4) {
			c = c * 10 + (unsigned int)(s[i++] - '0');
			digits++;
		}
		if (digits == 0 || c > 255 || i >= n || s[i] != (k < 2 ? ',' : ')'))
			return -1;
		i++;
		v = v << 8 | c;
	}
	if (i != n)
		return -1;
	*rgb = v;
	return 0;
}

/* A colour the SVG can carry in an attribute and a style sheet: "#rrggbb",
 * "rgb(R,G,B)" with R, G, B in 0..255, or a name of letters. */
static int is_colour(const char *s)
{
	uint32_t rgb;
	size_t n;

	if (is_hex_colour(s) || flame_parse_rgb(s, strlen(s), &rgb) == 0)
		return 1;
	for (n = 0; s[n]; n++) {
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z')))
			return 0;
	}
	return n > 0;
}

/* The style options, each reported by name when it cannot go into the SVG. */
static int check_style(const struct heed_flame_opts *o)
{
	static const char *const bgs[] = {"yellow", "blue", "green", "grey"};
	const char *why = NULL, *what = NULL;
	int ok = !o->bgcolors || is_hex_colour(o->bgcolors);

	for (size_t i = 0; !ok && i < sizeof(bgs) / sizeof(bgs[0]); i++)
		ok = strcmp(o->bgcolors, bgs[i]) == 0;
	if (!ok) {
		what = o->bgcolors;
		why = "bgcolors: not yellow, blue, green, grey or #rrggbb";
	} else if (o->search_color && !is_colour(o->search_color)) {
		what = o->search_color;
		why = "search color: not #rrggbb, rgb(R,G,B) or a colour name";
	} else if (o->stroke_color && !is_colour(o->stroke_color)) {
		what = o->stroke_color;
		why = "stroke color: not none, #rrggbb, rgb(R,G,B) or a colour name";
	} else if (o->notes && (strpbrk(o->notes, "<>") || strstr(o->notes, "--") ||
				(o->notes[0] && o->notes[strlen(o->notes) - 1] == '-'))) {
		what = o->notes;
		why = "notes: no '<', '>' or \"--\" (they go in an XML comment)";
	} else if (o->fonttype && (!o->fonttype[0] || strpbrk(o->fonttype, "{};<>\n"))) {
		what = o->fonttype;
		why = "fonttype: empty, or holds one of { } ; < > (it goes in a style sheet)";
	} else if (o->encoding) {
		const char *e = o->encoding;
		size_t n = strspn(
			e, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

		if (!((e[0] >= 'a' && e[0] <= 'z') || (e[0] >= 'A' && e[0] <= 'Z')) || e[n]) {
			what = e;
			why = "encoding: not a name of letters, digits, '.', '_' or '-'";
		}
	}
	if (!why)
		return 0;
	if (o->on_error) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s ('%.200s')", why, what);
		opt_err(o, msg);
	}
	return -EINVAL;
}

int heed_flame_new(const struct heed_flame_opts *o, heed_flame **out)
{
	struct heed_flame_opts def;
	heed_flame *f;
	uint32_t root, all;
	int err = 0;

	*out = NULL;
	if (!o) {
		heed_flame_opts_init(&def);
		o = &def;
	}
	if (bad_num(o->width) || bad_num(o->frame_height) || bad_num(o->font_size) ||
	    bad_num(o->factor) || bad_num(o->total) || !isfinite(o->minwidth) ||
	    bad_num(o->fontwidth) || (unsigned int)o->palette > HEED_FLAME_RUST) {
		opt_err(o, "a width, height, size, factor or total is negative or not finite, "
			   "or the palette is unknown");
		return -EINVAL;
	}
	if (o->width > 0 && o->width <= 2 * FLAME_XPAD) {
		opt_err(o, "the width must be above 20 px (10 px of margin on each side)");
		return -EINVAL;
	}
	err = check_style(o);
	if (err)
		return err;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->o = *o;
	if (f->o.width == 0)
		f->o.width = 1200;
	if (f->o.frame_height == 0)
		f->o.frame_height = 16;
	if (f->o.font_size == 0)
		f->o.font_size = 12;
	if (f->o.minwidth < 0)
		f->o.minwidth = 0.1;
	if (f->o.factor == 0)
		f->o.factor = 1;
	f->title = dup_opt(o->title, &err);
	f->subtitle = dup_opt(o->subtitle, &err);
	f->countname = dup_opt(o->countname ? o->countname : "samples", &err);
	f->nametype = dup_opt(o->nametype ? o->nametype : "Function:", &err);
	if (!f->title)
		f->title = dup_opt(f->o.flamechart ? "Flame Chart"
				   : f->o.inverted ? "Icicle Graph"
						   : "Flame Graph",
				   &err);
	f->bgcolors = dup_opt(o->bgcolors ? o->bgcolors : default_bg(o->palette), &err);
	f->fonttype = dup_opt(o->fonttype ? o->fonttype : "Verdana", &err);
	f->notes = dup_opt(o->notes, &err);
	f->encoding = dup_opt(o->encoding, &err);
	f->search_color = dup_opt(o->search_color ? o->search_color : "rgb(230,0,230)", &err);
	f->stroke_color = dup_opt(o->stroke_color, &err);
	f->o.bgcolors = f->bgcolors;
	f->o.fonttype = f->fonttype;
	f->o.notes = f->notes;
	f->o.encoding = f->encoding;
	f->o.search_color = f->search_color;
	f->o.stroke_color = f->stroke_color;
	if (f->o.fontwidth == 0)
		f->o.fontwidth = 0.59;
	f->o.title = f->title;
	f->o.subtitle = f->subtitle;
	f->o.countname = f->countname;
	f->o.nametype = f->nametype;
	if (err)
		goto fail;
	/* Name 0 is "all", the root's; a stack frame may also be called "all". */
	f->names = malloc(16 * sizeof(*f->names));
	f->name_tab = calloc(64, sizeof(*f->name_tab));
	if (!f->names || !f->name_tab)
		goto fail;
	f->capnames = 16;
	f->name_mask = 63;
	f->names[0].s = arena_copy(f, "all", 3);
	if (!f->names[0].s)
		goto fail;
	f->names[0].len = 3;
	f->names[0].hash = hash_bytes("all", 3);
	f->names[0].rank = 0;
	all = 0;
	f->name_tab[f->names[0].hash & f->name_mask] = all + 1;
	f->nnames = 1;
	f->chart_leaf = FLAME_NONE;
	if (add_node(f, FLAME_NONE, all, &root))
		goto fail;
	*out = f;
	return 0;
fail:
	heed_flame_free(f);
	return -ENOMEM;
}

void heed_flame_free(heed_flame *f)
{
	struct flame_arena_blk *b, *n;

	if (!f)
		return;
	for (b = f->arena; b; b = n) {
		n = b->next;
		free(b);
	}
	free(f->title);
	free(f->subtitle);
	free(f->countname);
	free(f->nametype);
	free(f->names);
	free(f->name_tab);
	free(f->nodes);
	free(f->self_a);
	free(f->self_b);
	free(f->kid_tab);
	free(f->prev);
	free(f->prev_end);
	free(f->prev_node);
	free(f->total_a);
	free(f->total_b);
	free(f->hexbuf);
	free(f->chainbuf);
	free(f->start);
	free(f->last_kid);
	free(f->bgcolors);
	free(f->fonttype);
	free(f->notes);
	free(f->encoding);
	free(f->search_color);
	free(f->stroke_color);
	flame_attrs_free(f);
	free(f);
}

/* memcmp for the short strings frame names are, without a library call per frame. */
static int same_bytes(const char *a, const char *b, size_t n)
{
	uint64_t x, y;

	if (n < 8) {
		while (n--) {
			if (*a++ != *b++)
				return 0;
		}
		return 1;
	}
	for (; n > 8; a += 8, b += 8, n -= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return 0;
	}
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return x == y;
}

static int rehash_names(heed_flame *f)
{
	uint32_t size = (f->name_mask + 1) * 2;
	uint32_t *tab = calloc(size, sizeof(*tab));

	if (!tab)
		return -ENOMEM;
	for (uint32_t i = 0; i < f->nnames; i++) {
		uint32_t j = f->names[i].hash & (size - 1);

		while (tab[j])
			j = (j + 1) & (size - 1);
		tab[j] = i + 1;
	}
	free(f->name_tab);
	f->name_tab = tab;
	f->name_mask = size - 1;
	return 0;
}

int flame_intern(heed_flame *f, const char *s, size_t len, uint32_t *id)
{
	uint64_t h = hash_bytes(s, len);
	uint32_t j = h & f->name_mask, v;
	struct flame_name *nm;

	while ((v = f->name_tab[j])) {
		nm = &f->names[v - 1];
		if (nm->hash == h && nm->len == len && same_bytes(nm->s, s, len)) {
			*id = v - 1;
			return 0;
		}
		j = (j + 1) & f->name_mask;
	}
	if (len > UINT32_MAX || f->nnames >= MAX_NODES)
		return -ENOMEM;
	if (f->nnames == f->capnames &&
	    grow((void **)&f->names, &f->capnames, sizeof(*f->names), f->nnames + 1))
		return -ENOMEM;
	nm = &f->names[f->nnames];
	nm->s = arena_copy(f, s, len);
	if (!nm->s)
		return -ENOMEM;
	nm->len = (uint32_t)len;
	nm->hash = h;
	nm->rank = 0;
	f->name_tab[j] = f->nnames + 1;
	*id = f->nnames++;
	/* Load at most 1/2 keeps probes short. */
	if ((uint64_t)f->nnames * 2 > f->name_mask)
		return rehash_names(f);
	return 0;
}

static void kid_put(struct flame_kid *tab, uint32_t mask, struct flame_kid k)
{
	uint32_t j = hash_pair(k.parent, k.name) & mask;

	while (tab[j].id)
		j = (j + 1) & mask;
	tab[j] = k;
}

/* Adds child id of a wide parent to the table, growing it at load 1/2. */
static int kid_insert(heed_flame *f, uint32_t id)
{
	struct flame_kid k = {f->nodes[id].parent, f->nodes[id].name, id + 1};

	if ((uint64_t)(f->nkid_tab + 1) * 2 > (uint64_t)f->kid_mask + 1 || !f->kid_tab) {
		uint32_t size = f->kid_tab ? (f->kid_mask + 1) * 2 : 1024;
		struct flame_kid *tab;

		if (f->kid_tab && size <= f->kid_mask)
			return -ENOMEM;
		tab = calloc(size, sizeof(*tab));
		if (!tab)
			return -ENOMEM;
		for (uint32_t j = 0; f->kid_tab && j <= f->kid_mask; j++) {
			if (f->kid_tab[j].id)
				kid_put(tab, size - 1, f->kid_tab[j]);
		}
		free(f->kid_tab);
		f->kid_tab = tab;
		f->kid_mask = size - 1;
	}
	kid_put(f->kid_tab, f->kid_mask, k);
	f->nkid_tab++;
	return 0;
}

static int get_child(heed_flame *f, uint32_t parent, uint32_t name, uint32_t *id)
{
	struct flame_node *p = &f->nodes[parent];
	uint32_t k;
	int err;

	if (f->o.flamechart) {
		/* Only the newest child, the one the previous line went through, merges:
		 * consecutive lines share their common frames, nothing else does (as
		 * flamegraph.pl's flow() merges only with the line before). */
		k = f->last_kid[parent];
		/* The previous line ended at parent: its children were closed there. */
		if (k != FLAME_NONE && parent != f->chart_leaf && f->nodes[k].name == name) {
			*id = k;
			return 0;
		}
	} else if (p->nkids <= FLAME_SCAN) {
		for (k = p->child; k != FLAME_NONE; k = f->nodes[k].next) {
			if (f->nodes[k].name == name) {
				*id = k;
				return 0;
			}
		}
	} else {
		uint32_t j = hash_pair(parent, name) & f->kid_mask;

		/* The key is in the slot: no node is read while probing. */
		for (; f->kid_tab[j].id; j = (j + 1) & f->kid_mask) {
			if (f->kid_tab[j].parent == parent && f->kid_tab[j].name == name) {
				*id = f->kid_tab[j].id - 1;
				return 0;
			}
		}
	}
	err = add_node(f, parent, name, id);
	if (err)
		return err;
	p = &f->nodes[parent];
	if (++p->nkids > f->maxkids)
		f->maxkids = p->nkids;
	f->finished = 0;
	if (f->o.flamechart) {
		/* Appended: the list stays in input order. */
		if (p->child == FLAME_NONE)
			p->child = *id;
		else
			f->nodes[f->last_kid[parent]].next = *id;
		f->last_kid[parent] = *id;
		return 0;
	}
	f->nodes[*id].next = p->child;
	p->child = *id;
	if (p->nkids == FLAME_SCAN + 1) {
		for (k = p->child; k != FLAME_NONE; k = f->nodes[k].next) {
			err = kid_insert(f, k);
			if (err)
				return err;
		}
	} else if (p->nkids > FLAME_SCAN) {
		return kid_insert(f, *id);
	}
	return 0;
}

static int frame_step(heed_flame *f, uint32_t *cur, const char *s, size_t len)
{
	uint32_t name;
	int err = flame_intern(f, s, len, &name);

	if (err)
		return err;
	return get_child(f, *cur, name, cur);
}

static void add_counts(heed_flame *f, uint32_t leaf, double a, double b)
{
	f->self_a[leaf] += a * f->o.factor;
	if (f->self_b)
		f->self_b[leaf] += b * f->o.factor;
	f->chart_time += (f->self_b ? b : a) * f->o.factor;
	f->chart_leaf = leaf;
	f->lines++;
	f->finished = 0;
}

/* Decides the graph's kind on its first stack; later ones must match. */
static int check_mode(heed_flame *f, int diff)
{
	enum flame_mode want = diff ? FLAME_MODE_DIFF : FLAME_MODE_ONE;

	if (f->mode == FLAME_MODE_ANY)
		f->mode = want;
	if (f->mode != want)
		return -EINVAL;
	return diff ? enable_diff(f) : 0;
}

int heed_flame_add_stack(heed_flame *f, const char *const *frames, const size_t *len, size_t n,
			 double before, double after)
{
	int diff = !(after < 0);
	uint32_t cur = 0;
	int err;

	if (bad_num(before) || (diff && !isfinite(after)) || (n && !frames))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		size_t l = len && len[i] != (size_t)-1 ? len[i] : strlen(frames[i]);

		if (memchr(frames[i], ';', l) || memchr(frames[i], '\n', l))
			return -EINVAL;
	}
	err = check_mode(f, diff);
	if (err)
		return err;
	for (size_t k = 0; k < n; k++) {
		size_t i = f->o.reverse ? n - 1 - k : k;
		size_t l = len && len[i] != (size_t)-1 ? len[i] : strlen(frames[i]);

		err = frame_step(f, &cur, frames[i], l);
		if (k + 1 > f->deepest)
			f->deepest = (uint32_t)(k + 1);
		if (err)
			return err;
	}
	/* The previous-line cache holds node ids of folded lines only. */
	f->prev_n = 0;
	f->prev_len = 0;
	add_counts(f, cur, before, diff ? after : 0);
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Parses the count ending at s[*end) as flamegraph.pl does: digits with an optional
 * fraction, preceded by whitespace. Moves *end before the count and one blank. */
static int take_count(const char *s, size_t *end, double *v)
{
	size_t e = *end, b = e, dot = 0;
	char tmp[64];

	while (b > 0 && ((s[b - 1] >= '0' && s[b - 1] <= '9') || s[b - 1] == '.')) {
		if (s[b - 1] == '.')
			dot++;
		b--;
	}
	if (b == e || b == 0 || s[b] == '.' || dot > 1 || !is_space(s[b - 1]))
		return -1;
	if (e - b >= sizeof(tmp))
		return -1;
	memcpy(tmp, s + b, e - b);
	tmp[e - b] = '\0';
	*v = strtod(tmp, NULL);
	if (!isfinite(*v))
		return -1;
	/* flamegraph.pl's "^(.*)\s+?(\d+(?:\.\d*)?)$" takes one blank as the separator:
	 * more blanks belong to the stack, so "a;  3" ends in a frame named " ". */
	*end = b ? b - 1 : 0;
	return 0;
}

/* Keeps the bytes of the line just walked for the next one's prefix comparison. */
static int remember(heed_flame *f, const char *s, size_t len)
{
	if (len + 1 > f->prev_cap) {
		size_t cap = (len + 1) * 2;
		char *p = realloc(f->prev, cap);

		if (!p)
			return -ENOMEM;
		f->prev = p;
		f->prev_cap = cap;
	}
	memcpy(f->prev, s, len);
	f->prev_len = len;
	return 0;
}

/* Makes room for frame i in prev_end[] and prev_node[]. */
static int prev_room(heed_flame *f, uint32_t i)
{
	uint32_t cap_end = f->prev_capn, cap_node = f->prev_capn;

	if (grow((void **)&f->prev_end, &cap_end, sizeof(*f->prev_end), i + 1) ||
	    grow((void **)&f->prev_node, &cap_node, sizeof(*f->prev_node), i + 1))
		return -ENOMEM;
	f->prev_capn = cap_end;
	return 0;
}

/* Walks the frames of stack s[0, len) root first, reusing the nodes of the previous
 * line's common prefix. */
static int add_path(heed_flame *f, const char *s, size_t len, uint32_t *leaf)
{
	size_t common = 0, pos = 0;
	uint32_t cur = 0, i = 0;
	int err;

	if (len > UINT32_MAX - 1)
		return -ENOMEM;
	while (common < len && common < f->prev_len && s[common] == f->prev[common])
		common++;
	/* Frame i is shared when its terminating ';' lies inside the common prefix. */
	while (i < f->prev_n && f->prev_end[i] < common && f->prev_end[i] < f->prev_len) {
		cur = f->prev_node[i];
		pos = f->prev_end[i] + 1;
		i++;
	}
	/* The arrays grow as frames come: counting the ';' first would read the line
	 * once more. */
	err = remember(f, s, len);
	for (; !err && pos <= len; i++) {
		const char *semi = memchr(s + pos, ';', len - pos);
		size_t end = semi ? (size_t)(semi - s) : len;

		err = frame_step(f, &cur, s + pos, end - pos);
		/* Kept per frame: a line failing half way leaves its nodes in the tree. */
		if (i + 1 > f->deepest)
			f->deepest = i + 1;
		if (!err && i >= f->prev_capn)
			err = prev_room(f, i);
		if (err)
			break;
		f->prev_end[i] = (uint32_t)end;
		f->prev_node[i] = cur;
		pos = end + 1;
	}
	if (err) {
		f->prev_n = 0;
		f->prev_len = 0;
		return err;
	}
	f->prev_n = i;
	*leaf = cur;
	return 0;
}

static int add_reversed(heed_flame *f, const char *s, size_t len, uint32_t *leaf)
{
	size_t end = len;
	uint32_t cur = 0, depth = 0;
	int err;

	for (;;) {
		size_t b = end;

		while (b > 0 && s[b - 1] != ';')
			b--;
		err = frame_step(f, &cur, s + b, end - b);
		if (++depth > f->deepest)
			f->deepest = depth;
		if (err)
			return err;
		if (b == 0)
			break;
		end = b - 1;
	}
	*leaf = cur;
	return 0;
}

#define SHOW_BYTES 60

/* Reports a skipped line with its first SHOW_BYTES bytes; control bytes show as "\xNN",
 * so a NUL cannot end the quoted line early nor an escape sequence reach a terminal. */
static void bad_line(heed_flame *f, const char *file, unsigned long lineno, const char *why,
		     const char *line, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char show[SHOW_BYTES * 4 + 1], *p = show;
	const char *more = len > SHOW_BYTES ? "..." : "";

	f->bad++;
	for (size_t i = 0; i < len && i < SHOW_BYTES; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c >= 0x20 && c != 0x7f) {
			*p++ = (char)c;
			continue;
		}
		*p++ = '\\';
		*p++ = 'x';
		*p++ = hex[c >> 4];
		*p++ = hex[c & 15];
	}
	*p = '\0';
	if (file)
		flame_err(f, "%s:%lu: %s; line skipped: \"%s%s\"", file, lineno, why, show, more);
	else
		flame_err(f, "line %lu: %s; line skipped: \"%s%s\"", lineno, why, show, more);
}

/* The trailing blanks of line[0, len) end at the returned length. */
static size_t trim_end(const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\n' || is_space(line[len - 1])))
		len--;
	return len;
}

/* Appends s[0, n) to the chain buffer at f->chainlen. -1 when out of memory. */
static int chain_put(heed_flame *f, const char *s, size_t n)
{
	if (f->chainlen + n > f->chaincap) {
		size_t cap = (f->chainlen + n) * 2 + 64;
		char *p = realloc(f->chainbuf, cap);

		if (!p)
			return -1;
		f->chainbuf = p;
		f->chaincap = cap;
	}
	memcpy(f->chainbuf + f->chainlen, s, n);
	f->chainlen += n;
	return 0;
}

/* The stack as flamegraph.pl rewrites it for --colors chain: split at ";--;" (empty
 * parts at the end dropped, as Perl's split does), the first part kept, then ";--;",
 * then the other parts joined by ";--;", each frame of them marked "_[w]" (a waker).
 * A stack without "--" so gains a "--" leaf, as there. With --reverse the frames are
 * reversed first. Returns the new stack (length f->chainlen) or NULL. */
static const char *chain_rewrite(heed_flame *f, const char *s, size_t len)
{
	static const char sep[] = ";--;";
	char *rev = NULL;
	size_t pos = 0, nparts = 0, keep;
	int err = 0;

	if (f->o.reverse) {
		size_t end = len;

		while (end > 0 && s[end - 1] == ';')
			end--;
		rev = malloc(end + 1);
		if (!rev)
			return NULL;
		for (size_t e = end, o = 0; e > 0 || o == 0;) {
			size_t b = e;

			while (b > 0 && s[b - 1] != ';')
				b--;
			memcpy(rev + o, s + b, e - b);
			o += e - b;
			if (b == 0) {
				len = o;
				break;
			}
			rev[o++] = ';';
			e = b - 1;
		}
		s = rev;
	}
	/* Perl's split drops empty parts at the end: the stack ends after the last
	 * non-empty part. */
	keep = len;
	while (keep >= 4 && memcmp(s + keep - 4, sep, 4) == 0)
		keep -= 4;
	f->chainlen = 0;
	while (!err && (pos < keep || nparts == 0)) {
		const char *m = keep > pos ? memmem(s + pos, keep - pos, sep, 4) : NULL;
		size_t e = m ? (size_t)(m - s) : keep;

		if (nparts == 0) {
			err = chain_put(f, s, e) || chain_put(f, sep, 4);
		} else {
			if (nparts > 1)
				err = chain_put(f, sep, 4);
			for (size_t i = pos; !err && i < e; i++)
				err = s[i] == ';' ? chain_put(f, "_[w];", 5)
						  : chain_put(f, s + i, 1);
			if (!err)
				err = chain_put(f, "_[w]", 4);
		}
		nparts++;
		if (!m)
			break;
		pos = e + 4;
	}
	free(rev);
	return err ? NULL : f->chainbuf;
}

/* heed_flame_add_line for a line with no '\n' but maybe a trailing one: parse_stream
 * cuts lines at them, so it needs no second search for one. */
/* difffolded.pl -s: every "0x" and the hex digits after it become "0x...", so
 * stacks that differ only in addresses merge. Returns the rewritten line in
 * f->hexbuf, or NULL when out of memory. */
static const char *strip_hex(heed_flame *f, const char *line, size_t *len)
{
	size_t n = *len, o = 0;

	/* "0x" + one digit (3 bytes) becomes 5: the line grows by at most 2/3. */
	if (n * 2 + 8 > f->hexcap) {
		char *p = realloc(f->hexbuf, n * 2 + 8);

		if (!p)
			return NULL;
		f->hexbuf = p;
		f->hexcap = n * 2 + 8;
	}
	for (size_t i = 0; i < n;) {
		if (line[i] == '0' && i + 2 < n && line[i + 1] == 'x' && isxdigit_c(line[i + 2])) {
			memcpy(f->hexbuf + o, "0x...", 5);
			o += 5;
			for (i += 2; i < n && isxdigit_c(line[i]); i++)
				;
			continue;
		}
		f->hexbuf[o++] = line[i++];
	}
	*len = o;
	return f->hexbuf;
}

static int add_folded(heed_flame *f, const char *line, size_t len, const char *file,
		      unsigned long lineno)
{
	size_t end, mid, full, stack_end;
	double c1, c2 = 0;
	int diff = 0;
	uint32_t leaf = 0;
	int err;

	if (f->o.strip_hex) {
		line = strip_hex(f, line, &len);
		if (!line)
			return -ENOMEM;
	}
	end = trim_end(line, len);
	if (end == 0)
		return 0;
	full = end;
	if (take_count(line, &end, &c1)) {
		bad_line(f, file, lineno, "no sample count at the end", line, full);
		return -EINVAL;
	}
	/* A second count makes a differential line (BEFORE AFTER), unless the graph is
	 * already an ordinary one, whose frames may end in " 123". */
	mid = end;
	if (f->mode != FLAME_MODE_ONE && f->diff_col == 0 && take_count(line, &mid, &c2) == 0) {
		double t = c1;

		c1 = c2;
		c2 = t;
		end = mid;
		diff = 1;
	}
	stack_end = end;
	/* Trailing empty frames are dropped, as Perl's split drops them for flamegraph.pl. */
	while (end > 0 && line[end - 1] == ';')
		end--;
	/* Only a one-count line in a differential graph can disagree with the mode. */
	err = f->diff_col ? 0 : check_mode(f, diff);
	if (err == -ENOMEM)
		return err;
	if (err) {
		bad_line(f, file, lineno, "one count in a differential graph (two counts per line)",
			 line, full);
		return -EINVAL;
	}
	if (end == 0) {
		/* " 12": samples of no frame, which flamegraph.pl counts in "all" alone. */
		leaf = 0;
	} else if (f->o.palette == HEED_FLAME_CHAIN) {
		/* Rewritten whole (reversed first), then walked root first. */
		line = chain_rewrite(f, line, stack_end);
		if (!line)
			return -ENOMEM;
		end = f->chainlen;
		while (end > 0 && line[end - 1] == ';')
			end--;
		err = add_path(f, line, end, &leaf);
	} else {
		err = f->o.reverse ? add_reversed(f, line, end, &leaf)
				   : add_path(f, line, end, &leaf);
	}
	if (err)
		return err;
	if (f->diff_col == 1)
		add_counts(f, leaf, c1, 0);
	else if (f->diff_col == 2)
		add_counts(f, leaf, 0, c1);
	else
		add_counts(f, leaf, c1, diff ? c2 : 0);
	return 0;
}

int heed_flame_add_line(heed_flame *f, const char *line, size_t len, const char *file,
			unsigned long lineno)
{
	size_t end = trim_end(line, len);

	if (memchr(line, '\n', end)) {
		bad_line(f, file, lineno, "a newline inside the stack", line, end);
		return -EINVAL;
	}
	return add_folded(f, line, end, file, lineno);
}

#define READ_CHUNK (1u << 20)

/* Lines are cut from 1 MiB reads in place: no per-line copy or call into stdio, and
 * glibc's fread of a request this large reads straight into our buffer. */
long heed_flame_parse_stream(heed_flame *f, FILE *in, const char *name)
{
	unsigned long before = f->lines, lineno = 0;
	size_t cap = READ_CHUNK, have = 0, got;
	char *buf = malloc(cap);
	int err = 0, eof = 0, read_errno = 0;

	if (!name)
		name = "<stdin>";
	if (!buf)
		return -ENOMEM;
	while (!eof) {
		size_t start = 0;
		char *nl;

		if (cap - have < READ_CHUNK / 2) {
			/* A line longer than the buffer: grow it. */
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		got = fread(buf + have, 1, cap - have, in);
		have += got;
		/* Taken now: the lines still to add may change errno. */
		if (ferror(in))
			read_errno = errno ? errno : EIO;
		eof = got == 0 || read_errno;
		/* After a failed read the bytes may end mid-line: only a clean end of file
		 * completes the last line, so a cut one is neither added nor reported. */
		while ((nl = memchr(buf + start, '\n', have - start)) ||
		       (eof && !read_errno && start < have)) {
			size_t end = nl ? (size_t)(nl - buf) + 1 : have;

			err = add_folded(f, buf + start, end - start, name, ++lineno);
			if (err == -ENOMEM)
				break;
			err = 0;
			start = end;
		}
		if (err)
			break;
		memmove(buf, buf + start, have - start);
		have -= start;
	}
	free(buf);
	if (err == -ENOMEM) {
		flame_err(f, "%s:%lu: out of memory", name, lineno);
		return -ENOMEM;
	}
	if (read_errno) {
		flame_err(f, "%s: read error after line %lu: %s", name, lineno,
			  strerror(read_errno));
		return -EIO;
	}
	return (long)(f->lines - before);
}

long heed_flame_parse_file(heed_flame *f, const char *path)
{
	FILE *in;
	long ret;
	int err;

	if (strcmp(path, "-") == 0)
		return heed_flame_parse_stream(f, stdin, NULL);
	in = fopen(path, "r");
	if (!in) {
		err = -errno;
		flame_err(f, "%s: %s", path, strerror(errno));
		return err;
	}
	ret = heed_flame_parse_stream(f, in, path);
	fclose(in);
	return ret;
}

/* difffolded.pl -n: each stack's BEFORE count becomes int(BEFORE * total AFTER /
 * total BEFORE), so both profiles weigh the same. */
static void normalize_before(heed_flame *f)
{
	double ta = 0, tb = 0;

	for (uint32_t i = 0; i < f->nnodes; i++) {
		ta += f->self_a[i];
		tb += f->self_b[i];
	}
	if (ta <= 0 || ta == tb)
		return;
	for (uint32_t i = 0; i < f->nnodes; i++)
		f->self_a[i] = floor(f->self_a[i] * tb / ta);
	f->finished = 0;
}

int heed_flame_parse_diff(heed_flame *f, const char *before, const char *after)
{
	long a, b;

	if (f->mode == FLAME_MODE_ONE) {
		flame_err(f, "%s: cannot add a differential profile to an ordinary graph", before);
		return -EINVAL;
	}
	if (enable_diff(f))
		return -ENOMEM;
	f->mode = FLAME_MODE_DIFF;
	f->diff_col = 1;
	a = heed_flame_parse_file(f, before);
	f->diff_col = 2;
	b = a < 0 ? 0 : heed_flame_parse_file(f, after);
	f->diff_col = 0;
	if (a < 0)
		return (int)a;
	if (b < 0)
		return (int)b;
	if (a + b == 0) {
		flame_err(f, "%s and %s: no valid folded line in either file", before, after);
		return -ENODATA;
	}
	if (f->o.diff_normalize)
		normalize_before(f);
	return 0;
}

/* Bytewise, each name as if followed by ';' (the order of sorted folded lines). */
static int name_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct flame_name *names = ctx;
	const struct flame_name *a = &names[*(const uint32_t *)pa];
	const struct flame_name *b = &names[*(const uint32_t *)pb];
	uint32_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->s, b->s, n);
	unsigned char ca, cb;

	if (c)
		return c;
	ca = a->len > n ? (unsigned char)a->s[n] : ';';
	cb = b->len > n ? (unsigned char)b->s[n] : ';';
	if (ca != cb)
		return ca < cb ? -1 : 1;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int key_cmp(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return a < b ? -1 : a > b;
}

/* Re-links node id's children in name-rank order. keys holds nkids entries. */
static void sort_kids(heed_flame *f, uint32_t id, uint64_t *keys)
{
	struct flame_node *p = &f->nodes[id];
	uint32_t n = 0, k;

	for (k = p->child; k != FLAME_NONE; k = f->nodes[k].next)
		keys[n++] = (uint64_t)f->names[f->nodes[k].name].rank << 32 | k;
	if (n <= 16) {
		for (uint32_t i = 1; i < n; i++) {
			uint64_t v = keys[i];
			uint32_t j = i;

			for (; j > 0 && keys[j - 1] > v; j--)
				keys[j] = keys[j - 1];
			keys[j] = v;
		}
	} else {
		qsort(keys, n, sizeof(*keys), key_cmp);
	}
	p->child = FLAME_NONE;
	while (n--) {
		k = (uint32_t)keys[n];
		f->nodes[k].next = p->child;
		p->child = k;
	}
}

int flame_finish(heed_flame *f)
{
	uint32_t *order = NULL, maxkids = 0;
	uint64_t *keys = NULL;
	uint32_t n = f->nnodes;
	int err = -ENOMEM;

	if (f->finished)
		return 0;
	assert(n > 0 && f->nnames > 0); /* the root and its name "all" always exist */
	maxkids = f->maxkids;
	order = malloc((size_t)f->nnames * sizeof(*order));
	keys = malloc(((size_t)maxkids + 1) * sizeof(*keys));
	free(f->total_a);
	free(f->total_b);
	f->total_a = malloc((size_t)n * sizeof(double));
	f->total_b = f->self_b ? malloc((size_t)n * sizeof(double)) : NULL;
	if (!order || !keys || !f->total_a || (f->self_b && !f->total_b))
		goto cleanup;

	for (uint32_t i = 0; i < f->nnames; i++)
		order[i] = i;
	qsort_r(order, f->nnames, sizeof(*order), name_cmp, f->names);
	for (uint32_t i = 0; i < f->nnames; i++)
		f->names[order[i]].rank = i;

	/* flamegraph.pl starts its largest change at 1: changes below one sample never
	 * saturate the colour. */
	f->maxdelta = 1;
	memcpy(f->total_a, f->self_a, (size_t)n * sizeof(double));
	if (f->total_b) {
		memcpy(f->total_b, f->self_b, (size_t)n * sizeof(double));
		for (uint32_t i = 0; i < n; i++) {
			double d = fabs(f->self_b[i] - f->self_a[i]);

			if (d > f->maxdelta)
				f->maxdelta = d;
		}
	}
	/* One pass over the nodes, children before parents: totals, and each list of
	 * children in name order (a flame chart's stay in the order they came). */
	for (uint32_t i = n; i-- > 0;) {
		const struct flame_node *nd = &f->nodes[i];

		if (nd->nkids > 1 && !f->o.flamechart)
			sort_kids(f, i, keys);
		if (i == 0)
			break;
		f->total_a[nd->parent] += f->total_a[i];
		if (f->total_b)
			f->total_b[nd->parent] += f->total_b[i];
	}
	/* The deepest node ends the longest stack added: no per-node depth is kept. */
	f->maxdepth = f->deepest;
	f->counted = 0;
	f->finished = 1;
	err = 0;
cleanup:
	free(order);
	free(keys);
	return err;
}

double flame_graph_total(const heed_flame *f)
{
	double t = flame_width(f, 0);

	return f->o.total > t ? f->o.total : t;
}

double flame_min_samples(const heed_flame *f)
{
	return f->o.minwidth * flame_graph_total(f) / (f->o.width - 2 * FLAME_XPAD);
}

int flame_walk(heed_flame *f, int prune, int (*fn)(const struct heed_flame_frame *fr, void *ctx),
	       void *ctx)
{
	struct heed_flame_frame fr;
	double *xs = NULL, minw, x = 0;
	uint32_t id = 0;
	unsigned int d = 0;
	int ret = 0;

	if (f->lines == 0)
		return -ENODATA;
	ret = flame_finish(f);
	if (ret)
		return ret;
	xs = calloc((size_t)f->maxdepth + 1, sizeof(*xs));
	if (!xs)
		return -ENOMEM;
	minw = flame_min_samples(f);
	for (;;) {
		const struct flame_node *n = &f->nodes[id];
		double w = flame_width(f, id);
		const struct flame_name *nm;

		fr.elided = w <= 0 || w < minw;
		/* Most frames of a large profile are elided: their name, counts and
		 * children are not read at all (each a cache miss). */
		if (prune && fr.elided)
			goto next;
		nm = &f->names[n->name];
		fr.name = nm->s;
		fr.name_len = nm->len;
		fr.depth = d;
		fr.x = f->start ? f->start[id] : x;
		fr.width = w;
		fr.self = f->self_b ? f->self_b[id] : f->self_a[id];
		fr.before = f->total_b ? f->total_a[id] : w;
		fr.delta = 0;
		if (f->total_b && (id != 0 || f->o.diff_subtree))
			fr.delta = f->o.diff_subtree ? w - f->total_a[id]
						     : f->self_b[id] - f->self_a[id];
		ret = fn(&fr, ctx);
		if (ret)
			break;
		/* Children are never wider than their parent: an elided frame's
		 * subtree is elided too. */
		if (n->child != FLAME_NONE) {
			/* A frame's own samples sit left of its children. */
			xs[d++] = x;
			x += fr.self;
			id = n->child;
			continue;
		}
	next:
		while (id != 0 && f->nodes[id].next == FLAME_NONE) {
			id = f->nodes[id].parent;
			x = xs[--d];
		}
		if (id == 0)
			break;
		x += flame_width(f, id);
		id = f->nodes[id].next;
	}
	free(xs);
	return ret;
}

int heed_flame_foreach(heed_flame *f, int (*fn)(const struct heed_flame_frame *fr, void *ctx),
		       void *ctx)
{
	return flame_walk(f, 0, fn, ctx);
}

static int count_drawn_depth(const struct heed_flame_frame *fr, void *ctx)
{
	heed_flame *f = ctx;

	f->drawn++;
	if (fr->depth > f->drawn_depth)
		f->drawn_depth = fr->depth;
	return 0;
}

int flame_count(heed_flame *f, size_t *drawn, unsigned int *depth)
{
	int err = flame_finish(f);

	if (!err && !f->counted) {
		f->drawn = 0;
		f->drawn_depth = 0;
		err = flame_walk(f, 1, count_drawn_depth, f);
		f->counted = !err;
	}
	*drawn = f->drawn;
	*depth = f->drawn_depth;
	return err;
}

void heed_flame_stats(heed_flame *f, struct heed_flame_stats *st)
{
	unsigned int depth;

	memset(st, 0, sizeof(*st));
	st->lines = f->lines;
	st->bad = f->bad;
	st->differential = f->mode == FLAME_MODE_DIFF;
	if (f->lines == 0 || flame_finish(f))
		return;
	st->total = flame_width(f, 0);
	st->frames = f->nnodes;
	st->depth = f->maxdepth;
	if (flame_count(f, &st->drawn, &depth))
		st->drawn = 0;
	st->elided = st->frames - st->drawn;
}
