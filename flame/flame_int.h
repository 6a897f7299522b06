/* flame_int.h - libflame internals shared by tree.c, svg.c, text.c, collapse.c and
 * attrs.c.
 *
 * The merged stacks form a trie held in flat arrays, ids instead of pointers, so a
 * node costs 20 bytes plus 8 per count column:
 *
 *   names[]   every distinct frame name once (interned): bytes in an arena, length,
 *             hash, and after sorting its rank (the order of sorted folded lines)
 *   nodes[]   node 0 is the root "all"; a node is (parent, name, child list); ids grow
 *             as nodes are created, so a parent's id is always below its children's,
 *             which lets totals be summed bottom-up in one backward pass
 *   self_a[], self_b[]  samples ending at each node (self_b: differential AFTER only)
 *
 * Finding a child: a parent with at most FLAME_SCAN children scans its list; above
 * that its children also go into one shared open-addressing table keyed by (parent,
 * name). Most nodes of a large profile are deep and have one child, so a new stack
 * mostly appends nodes sequentially instead of probing a huge table at random, which
 * cost a cache miss per frame.
 *
 * A flame chart (opts.flamechart) uses no table: only a parent's newest child, kept in
 * last_kid[], may be shared, lists stay in input order and start[] holds each node's
 * left edge (12 more bytes a node).
 *
 * Invariants: nodes[i].parent < i for i > 0; each (parent, name) appears once, except
 * in a flame chart; nkids counts the list; after flame_finish() each list is in
 * name-rank order (input order in a flame chart) and total >= self.
 */
#ifndef HEED_FLAME_INT_H
#define HEED_FLAME_INT_H

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "flame.h"

#define FLAME_NONE UINT32_MAX

struct flame_name {
	const char *s; /* NUL-terminated, in the arena */
	uint32_t len;
	uint32_t rank; /* position in bytewise order, set by flame_finish() */
	uint64_t hash;
};

struct flame_node {
	uint32_t parent;
	uint32_t name;
	uint32_t child; /* first child (in name order after flame_finish()) */
	uint32_t next;	/* next sibling */
	uint32_t nkids;
};

/* A list of 2 costs at most 2 reads of scattered nodes; wider parents use the table. */
#define FLAME_SCAN 2

/* A slot of the children table: the key is stored so probing reads no node. */
struct flame_kid {
	uint32_t parent;
	uint32_t name;
	uint32_t id; /* node id + 1; 0 marks an empty slot */
};

struct flame_arena_blk;

/* A palette map entry (--cp): read from a file, or a drawn frame's colour. */
struct flame_pal {
	uint32_t name;
	uint32_t rgb; /* 0xRRGGBB */
};

/* A --nameattr line: attributes for every frame of one name; NULL when absent. */
struct flame_attr {
	uint32_t name;
	char *id, *cls, *title, *href, *target;
};

/* How lines are read: undecided until the first valid line, or fixed. */
enum flame_mode { FLAME_MODE_ANY, FLAME_MODE_ONE, FLAME_MODE_DIFF };

struct heed_flame {
	struct heed_flame_opts o;
	char *title, *subtitle, *countname, *nametype; /* owned copies */
	char *bgcolors, *fonttype, *notes, *encoding, *search_color, *stroke_color;

	struct flame_name *names;
	uint32_t nnames, capnames;
	uint32_t *name_tab; /* open addressing, name id + 1, 0 empty */
	uint32_t name_mask;

	struct flame_node *nodes;
	double *self_a; /* samples ending here (BEFORE in a differential graph) */
	double *self_b; /* AFTER samples ending here (differential graphs only) */
	uint32_t nnodes, capnodes;
	struct flame_kid *kid_tab; /* children of wide parents */
	uint32_t kid_mask, nkid_tab;

	struct flame_arena_blk *arena;

	enum flame_mode mode;
	int diff_col;	     /* parse_diff: 1 adds to BEFORE, 2 to AFTER, 0 off */
	unsigned long lines; /* valid lines */
	unsigned long bad;   /* malformed lines */

	/* Lines from the same parent often repeat their prefix (sorted input): the
	 * previous stack's bytes and the node of each of its frames skip lookups. */
	char *prev;
	size_t prev_len, prev_cap;
	uint32_t *prev_end; /* offset of the ';' ending frame i, or prev_len */
	uint32_t *prev_node;
	uint32_t prev_n, prev_capn;

	char *hexbuf; /* a line rewritten by opts.strip_hex */
	size_t hexcap;
	char *chainbuf; /* a stack rewritten for the chain palette */
	size_t chainlen, chaincap;

	/* Flame charts: each node's left edge, the running total when it was made. */
	double *start;
	uint32_t *last_kid; /* each node's newest child, the only one a line may share */
	double chart_time;
	uint32_t chart_leaf; /* where the previous line ended */

	struct flame_pal *pal; /* --cp entries, later ones win */
	size_t npal, cappal;
	struct flame_attr *attrs; /* --nameattr lines, later ones win */
	size_t nattrs, capattrs;

	/* Filled by flame_finish(); valid until the next add. */
	int finished;
	double *total_a, *total_b; /* per node, inclusive */
	unsigned int maxdepth;
	int counted;		  /* drawn, drawn_depth are valid */
	size_t drawn;		  /* frames at least minwidth wide */
	unsigned int drawn_depth; /* the deepest of them */
	uint32_t deepest;	  /* frames of the longest stack added */
	uint32_t maxkids;	  /* children of the widest node */
	double maxdelta;	  /* largest |self delta| of a stack (at least 1), for colour
				     intensity */
};

/* Interns name s[0, len): *id is its index in names[]. 0 or -ENOMEM. */
int flame_intern(heed_flame *f, const char *s, size_t len, uint32_t *id);

/* Parses exactly "rgb(R,G,B)" (0..255 each) in s[0, n) into 0xRRGGBB; 0 or -1. */
int flame_parse_rgb(const char *s, size_t n, uint32_t *rgb);

/* Frees the palette and attribute tables (attrs.c). */
void flame_attrs_free(heed_flame *f);

/* Per-name lookup tables, index + 1 into pal[]/attrs[] (0: none), built for the
 * names interned so far; the caller frees them. NULL and -ENOMEM on failure. */
uint32_t *flame_pal_index(const heed_flame *f);
uint32_t *flame_attr_index(const heed_flame *f);

/* Appends a palette entry. 0 or -ENOMEM. */
int flame_pal_add(heed_flame *f, uint32_t name, uint32_t rgb);

/* Calls fn for each line of in (with its '\n', if any; fn may change the line's
 * bytes) and stops at fn's first non-zero return. Returns the lines read, or a
 * negative errno: fn's, or -EIO on a read error (reported naming name, as is
 * -ENOMEM from fn). */
long flame_each_line(heed_flame *f, FILE *in, const char *name,
		     int (*fn)(void *ctx, char *s, size_t n, unsigned long lineno), void *ctx);

/* Reports a message through the error callback (no-op without one). */
void flame_err(heed_flame *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sorts names, links children in name order, sums totals. 0 or -ENOMEM. */
int flame_finish(heed_flame *f);

/* The frames drawn (at least minwidth wide) and the deepest of them, from one walk
 * per finished layout. 0 or -ENOMEM. */
int flame_count(heed_flame *f, size_t *drawn, unsigned int *depth);

/* Visits frames as heed_flame_foreach; with prune, elided frames and their subtrees
 * are skipped. */
int flame_walk(heed_flame *f, int prune, int (*fn)(const struct heed_flame_frame *fr, void *ctx),
	       void *ctx);

/* Graph total used for percentages and widths: max(sum of samples, opts.total). */
double flame_graph_total(const heed_flame *f);

/* Width in samples of a node: AFTER for a differential graph (the only kind with
 * a second column). Valid after flame_finish(). */
static inline double flame_width(const heed_flame *f, uint32_t id)
{
	return f->total_b ? f->total_b[id] : f->total_a[id];
}

/* Minimum drawn width, in samples, from opts.minwidth in px. */
double flame_min_samples(const heed_flame *f);

/* Image geometry shared by the SVG writer and the layout. */
#define FLAME_XPAD 10.0

/* A growable output buffer flushed to a FILE; err latches the first write error. */
struct flame_out {
	FILE *fp;
	char *buf;
	size_t len, cap;
	int err;
};

void out_flush(struct flame_out *o);
void out_mem_slow(struct flame_out *o, const char *s, size_t n);

/* Inline: an SVG of 70,000 frames appends a million small pieces. */
static inline void out_mem(struct flame_out *o, const char *s, size_t n)
{
	if (o->len + n > o->cap) {
		out_mem_slow(o, s, n);
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/* A string literal, its length known at compile time. */
#define out_lit(o, lit) out_mem((o), "" lit, sizeof(lit) - 1)
void out_str(struct flame_out *o, const char *s);
void out_fmt(struct flame_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* u in decimal, with a ',' between groups of three digits when sep. */
void out_uint(struct flame_out *o, uint64_t u, int sep);
/* v as printf's "%.2f" writes it, without printf in the common case. */
void out_fixed2(struct flame_out *o, double v);
/* v with at most 2 decimals, trailing zeros dropped: fast, for coordinates. */
void out_num(struct flame_out *o, double v);
/* A sample count as flamegraph.pl shows it: "%.0f" (exact for integers of any
 * size, fractions rounded) with a ',' between groups of three digits. */
void out_count(struct flame_out *o, double v);
/* XML-escapes s (text or attribute): markup characters become entities, control
 * characters and bytes that are not valid UTF-8 become the text "\xNN". At most
 * maxchars displayed characters; when longer, maxchars - 2 of them then "..". */
void out_xml(struct flame_out *o, const char *s, size_t len, size_t maxchars);
/* As out_xml, but a name longer than maxchars keeps its end: ".." then its last
 * maxchars - 2 displayed characters. */
void out_xml_tail(struct flame_out *o, const char *s, size_t len, size_t maxchars);
/* Characters out_xml would display for s. */
size_t xml_display_len(const char *s, size_t len);

#endif /* HEED_FLAME_INT_H */
