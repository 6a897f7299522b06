/* svg.c - the SVG writer: geometry, colours, and the folded-text writer.
 *
 * Geometry (px): a title band of 3 font sizes at the top (5 with a subtitle), a
 * details band of 2 font sizes + 10 at the bottom, FLAME_XPAD on each side, one
 * frame_height per level. Frame rects keep their x and width in px; the embedded
 * script (flame.js) reads them back, with the band offsets from data-* attributes on
 * #frames, so the SVG carries no second copy of the layout.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame_int.h"
#include "flame_js.h"

#define OUT_BUF (1u << 16)

struct svg_ctx {
	heed_flame *f;
	struct flame_out *o;
	double total; /* graph total, for percentages */
	double scale; /* px per sample */
	double y0;    /* y of the depth-0 rect */
	double step;  /* y increment per level (negative for a flame, positive icicle) */
	double charw; /* average glyph width, px */
	unsigned int maxdepth;
	size_t drawn;
};

struct rgb {
	int r, g, b;
};

/* Fraction in [0,1) from the first three characters of name (after a "module`"
 * prefix; the last three when reversed) read as base-13 digits: the first character
 * picks one of 13 bands, the next ones a place inside it, so names sharing a prefix
 * share a hue across graphs while different prefixes spread over the palette. */
static double name_weight(const char *s, size_t len, int reversed)
{
	const char *tick = reversed ? NULL : memchr(s, '`', len);
	double v = 0;

	if (tick) {
		len -= (size_t)(tick + 1 - s);
		s = tick + 1;
	}
	for (size_t k = len < 3 ? len : 3; k-- > 0;) {
		unsigned char c = (unsigned char)(reversed ? s[len - 1 - k] : s[k]);

		v = (v + c % 13) / 13.0;
	}
	return v;
}

static uint64_t mix64(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static int has_suffix(const char *s, size_t len, const char *suf)
{
	size_t n = strlen(suf);

	return len >= n && memcmp(s + len - n, suf, n) == 0;
}

static int contains(const char *s, size_t len, const char *needle)
{
	return memmem(s, len, needle, strlen(needle)) != NULL;
}

/* The palette a frame uses: annotations first (as flamegraph.pl's multi palettes),
 * then the java rules, else the graph's own palette. */
static enum heed_flame_palette frame_palette(enum heed_flame_palette p, const char *s, size_t len)
{
	static const char *const java_pfx[] = {"java/", "javax/", "jdk/", "net/",
					       "org/",	"com/",	  "io/",  "sun/"};

	if (p != HEED_FLAME_HOT && p != HEED_FLAME_JAVA && p != HEED_FLAME_WAKEUP)
		return p;
	if (has_suffix(s, len, "_[k]"))
		return HEED_FLAME_ORANGE;
	if (has_suffix(s, len, "_[i]") || has_suffix(s, len, "_[w]"))
		return HEED_FLAME_AQUA;
	if (has_suffix(s, len, "_[j]"))
		return HEED_FLAME_GREEN;
	if (p == HEED_FLAME_WAKEUP)
		return HEED_FLAME_AQUA;
	if (p != HEED_FLAME_JAVA)
		return p;
	if (len && s[0] == 'L') {
		s++;
		len--;
	}
	for (size_t i = 0; i < sizeof(java_pfx) / sizeof(java_pfx[0]); i++) {
		if (len >= strlen(java_pfx[i]) && memcmp(s, java_pfx[i], strlen(java_pfx[i])) == 0)
			return HEED_FLAME_GREEN;
	}
	if (contains(s, len, ":::"))
		return HEED_FLAME_GREEN;
	if (contains(s, len, "::"))
		return HEED_FLAME_YELLOW;
	return HEED_FLAME_RED;
}

static struct rgb frame_color(const heed_flame *f, const char *s, size_t len)
{
	double v1, v2, v3;
	struct rgb c = {0, 0, 0};

	if (f->o.hash) {
		v1 = name_weight(s, len, 0);
		v2 = v3 = name_weight(s, len, 1);
	} else {
		uint64_t h = mix64(s, len);

		v1 = (double)(h & 0xffff) / 65536.0;
		v2 = (double)(h >> 16 & 0xffff) / 65536.0;
		v3 = (double)(h >> 32 & 0xffff) / 65536.0;
	}
	switch (frame_palette(f->o.palette, s, len)) {
	case HEED_FLAME_HOT:
		c = (struct rgb){205 + (int)(50 * v3), (int)(230 * v1), (int)(55 * v2)};
		break;
	case HEED_FLAME_MEM:
		c = (struct rgb){0, 190 + (int)(50 * v2), (int)(210 * v1)};
		break;
	case HEED_FLAME_IO:
		c = (struct rgb){80 + (int)(60 * v1), 80 + (int)(60 * v1), 190 + (int)(55 * v2)};
		break;
	case HEED_FLAME_RED:
		c = (struct rgb){200 + (int)(55 * v1), 50 + (int)(80 * v1), 50 + (int)(80 * v1)};
		break;
	case HEED_FLAME_GREEN:
		c = (struct rgb){50 + (int)(60 * v1), 200 + (int)(55 * v1), 50 + (int)(60 * v1)};
		break;
	case HEED_FLAME_BLUE:
		c = (struct rgb){80 + (int)(60 * v1), 80 + (int)(60 * v1), 205 + (int)(50 * v1)};
		break;
	case HEED_FLAME_AQUA:
		c = (struct rgb){50 + (int)(60 * v1), 165 + (int)(55 * v1), 165 + (int)(55 * v1)};
		break;
	case HEED_FLAME_YELLOW:
		c = (struct rgb){175 + (int)(55 * v1), 175 + (int)(55 * v1), 50 + (int)(20 * v1)};
		break;
	case HEED_FLAME_PURPLE:
		c = (struct rgb){190 + (int)(65 * v1), 80 + (int)(60 * v1), 190 + (int)(65 * v1)};
		break;
	case HEED_FLAME_ORANGE:
		c = (struct rgb){190 + (int)(65 * v1), 90 + (int)(65 * v1), 0};
		break;
	case HEED_FLAME_JAVA:
	case HEED_FLAME_WAKEUP:
		break;
	}
	return c;
}

/* Red where a frame grew, blue where it shrank, white unchanged; full intensity at the
 * largest change of a single stack (larger frame totals saturate). */
static struct rgb diff_color(const heed_flame *f, double delta)
{
	double v = f->o.negate ? -delta : delta, t;
	struct rgb c = {255, 255, 255};

	if (v == 0)
		return c;
	t = 210 * (f->maxdelta - fabs(v)) / f->maxdelta;
	if (t < 0)
		t = 0;
	if (v > 0)
		c.g = c.b = (int)t;
	else
		c.r = c.g = (int)t;
	return c;
}

/* A percentage as flamegraph.pl prints it: "%.2f", with '+' before a positive
 * change when sign. */
static void out_pct(struct flame_out *o, double part, double whole, int sign)
{
	double p = whole > 0 && part != 0 ? 100 * part / whole : 0; /* no "-0.00" */

	out_fmt(o, sign && part > 0 ? "+%.2f%%" : "%.2f%%", p);
}

/* Length of a name without its annotation (_[k], _[i], _[j] or _[w]): the
 * annotation picks the colour and is not shown. */
static size_t shown_len(const char *s, size_t len)
{
	if (len >= 4 && s[len - 4] == '_' && s[len - 3] == '[' && s[len - 1] == ']' &&
	    (s[len - 2] == 'k' || s[len - 2] == 'i' || s[len - 2] == 'j' || s[len - 2] == 'w'))
		return len - 4;
	return len;
}

static int count_frame(const struct heed_flame_frame *fr, void *arg)
{
	struct svg_ctx *c = arg;

	c->drawn++;
	if (fr->depth > c->maxdepth)
		c->maxdepth = fr->depth;
	return 0;
}

static int emit_frame(const struct heed_flame_frame *fr, void *arg)
{
	struct svg_ctx *c = arg;
	struct flame_out *o = c->o;
	heed_flame *f = c->f;
	double x = FLAME_XPAD + fr->x * c->scale, w = fr->width * c->scale;
	double y = c->y0 + c->step * fr->depth;
	size_t fit = w > 3 ? (size_t)((w - 3) / c->charw) : 0;
	size_t nlen = fr->depth ? shown_len(fr->name, fr->name_len) : fr->name_len;
	struct rgb col;
	/* flamegraph.pl's percentages are of the count it shows, rounded by "%.0f". */
	double shown = nearbyint(fr->width);

	if (fr->name_len == 2 && memcmp(fr->name, "--", 2) == 0)
		col = (struct rgb){160, 160, 160}; /* separators, as flamegraph.pl */
	else if (fr->name_len == 1 && fr->name[0] == '-')
		col = (struct rgb){200, 200, 200};
	else if (f->mode == FLAME_MODE_DIFF)
		col = diff_color(f, fr->delta);
	else
		col = frame_color(f, fr->name, fr->name_len);
	out_str(o, "<g><title>");
	out_xml(o, fr->name, nlen, SIZE_MAX);
	out_str(o, " (");
	out_count(o, fr->width);
	out_mem(o, " ", 1);
	out_xml(o, f->countname, strlen(f->countname), SIZE_MAX);
	out_str(o, ", ");
	if (fr->depth == 0)
		out_str(o, "100%");
	else
		out_pct(o, shown, c->total, 0);
	if (f->mode == FLAME_MODE_DIFF && (fr->depth || f->o.diff_subtree)) {
		/* With negate the hues are swapped, and so is the sign shown. */
		out_str(o, "; ");
		out_pct(o, f->o.negate ? -fr->delta : fr->delta, c->total, 1);
	}
	out_str(o, ")</title><rect x=\"");
	out_num(o, x);
	out_str(o, "\" y=\"");
	out_num(o, y);
	out_str(o, "\" width=\"");
	out_num(o, w);
	out_str(o, "\" height=\"");
	out_num(o, f->o.frame_height - 1);
	out_fmt(o, "\" fill=\"rgb(%d,%d,%d)\"/>", col.r, col.g, col.b);
	if (fit >= 3) {
		out_str(o, "<text x=\"");
		out_num(o, x + 3);
		out_str(o, "\" y=\"");
		out_num(o, y + f->o.frame_height / 2 + f->o.font_size * 0.35);
		out_str(o, "\">");
		out_xml(o, fr->name, nlen, fit);
		out_str(o, "</text>");
	}
	out_str(o, "</g>\n");
	return o->err;
}

static void out_attr(struct flame_out *o, const char *name, const char *val)
{
	out_fmt(o, " %s=\"", name);
	out_xml(o, val, strlen(val), SIZE_MAX);
	out_mem(o, "\"", 1);
}

static void write_head(struct svg_ctx *c, double height, double ypad2)
{
	struct flame_out *o = c->o;
	heed_flame *f = c->f;
	double fs = f->o.font_size, w = f->o.width;
	size_t elided = f->nnodes - c->drawn;

	out_str(o, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		   "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
		   "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n");
	out_str(o, "<svg version=\"1.1\" width=\"");
	out_num(o, w);
	out_str(o, "\" height=\"");
	out_num(o, height);
	out_str(o, "\" viewBox=\"0 0 ");
	out_num(o, w);
	out_mem(o, " ", 1);
	out_num(o, height);
	out_str(o, "\" onload=\"init()\" xmlns=\"http://www.w3.org/2000/svg\">\n");
	out_fmt(o,
		"<!-- heed-flame: %zu frames drawn, %zu elided (narrower than %g px), "
		"%lu lines, %lu malformed -->\n",
		c->drawn, elided, f->o.minwidth, f->lines, f->bad);
	out_str(o, "<defs><linearGradient id=\"bg\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
		   "<stop stop-color=\"#eeeeee\" offset=\"5%\"/>"
		   "<stop stop-color=\"#eeeeb0\" offset=\"95%\"/></linearGradient></defs>\n");
	out_fmt(o,
		"<style type=\"text/css\">\n"
		"text { font-family: Verdana, sans-serif; font-size: %gpx; fill: rgb(0,0,0); }\n"
		"#frames > g { cursor: pointer; }\n"
		"#frames rect { rx: 2px; ry: 2px; }\n"
		"#frames > g:hover > rect { stroke: rgb(0,0,0); stroke-width: 0.5; }\n"
		"#title { text-anchor: middle; font-size: %gpx; }\n"
		"#subtitle { text-anchor: middle; fill: rgb(160,160,160); }\n"
		"#search, #ic, #unzoom { cursor: pointer; opacity: 0.6; }\n"
		"#search:hover, #ic:hover, #ic.on, #unzoom:hover { opacity: 1; }\n"
		".hide { display: none; }\n"
		".parent { opacity: 0.5; }\n"
		"</style>\n",
		fs, fs + 5);
	out_str(o, "<script type=\"text/ecmascript\"><![CDATA[\n");
	out_mem(o, flame_js, sizeof(flame_js) - 1);
	out_str(o, "]]></script>\n");
	out_str(o, "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"url(#bg)\"/>\n");
	out_str(o, "<text id=\"title\" x=\"");
	out_num(o, w / 2);
	out_str(o, "\" y=\"");
	out_num(o, fs * 2);
	out_str(o, "\">");
	out_xml(o, f->title, strlen(f->title), SIZE_MAX);
	out_str(o, "</text>\n");
	if (f->subtitle) {
		out_str(o, "<text id=\"subtitle\" x=\"");
		out_num(o, w / 2);
		out_str(o, "\" y=\"");
		out_num(o, fs * 4);
		out_str(o, "\">");
		out_xml(o, f->subtitle, strlen(f->subtitle), SIZE_MAX);
		out_str(o, "</text>\n");
	}
	out_fmt(o, "<text id=\"details\" x=\"%g\" y=\"", FLAME_XPAD);
	out_num(o, height - ypad2 / 2);
	out_str(o, "\"> </text>\n");
	out_fmt(o, "<text id=\"unzoom\" class=\"hide\" x=\"%g\" y=\"", FLAME_XPAD);
	out_num(o, fs * 2);
	out_str(o, "\">Reset Zoom</text>\n<text id=\"search\" x=\"");
	out_num(o, w - FLAME_XPAD - 100);
	out_str(o, "\" y=\"");
	out_num(o, fs * 2);
	out_str(o, "\">Search</text>\n<text id=\"ic\" x=\"");
	out_num(o, w - FLAME_XPAD - 16);
	out_str(o, "\" y=\"");
	out_num(o, fs * 2);
	out_str(o, "\">ic</text>\n<text id=\"matched\" x=\"");
	out_num(o, w - FLAME_XPAD - 100);
	out_str(o, "\" y=\"");
	out_num(o, height - ypad2 / 2);
	out_str(o, "\"> </text>\n");
	out_str(o, "<g id=\"frames\"");
	out_attr(o, "data-nametype", f->nametype);
	out_fmt(o, " data-xpad=\"%g\" data-width=\"", FLAME_XPAD);
	out_num(o, w);
	out_str(o, "\" data-fontsize=\"");
	out_num(o, fs);
	out_str(o, "\" data-fh=\"");
	out_num(o, f->o.frame_height);
	out_str(o, "\" data-y0=\"");
	out_num(o, c->y0);
	out_str(o, "\">\n");
}

int heed_flame_write_svg(heed_flame *f, FILE *fp)
{
	struct flame_out o = {.fp = fp};
	struct svg_ctx c = {.f = f, .o = &o};
	double fs = f->o.font_size, fh = f->o.frame_height, ypad1, ypad2, height;
	int err;

	if (f->lines == 0) {
		flame_err(f, "no stack to draw: the input held no valid folded line");
		return -ENODATA;
	}
	err = flame_finish(f);
	if (err)
		return err;
	c.total = flame_graph_total(f);
	if (c.total <= 0) {
		flame_err(f, "no stack to draw: every count is zero");
		return -ENODATA;
	}
	o.buf = malloc(OUT_BUF);
	if (!o.buf)
		return -ENOMEM;
	o.cap = OUT_BUF;
	c.scale = (f->o.width - 2 * FLAME_XPAD) / c.total;
	c.charw = fs * 0.59;
	err = flame_walk(f, 1, count_frame, &c);
	if (err)
		goto cleanup;
	ypad1 = fs * 3 + (f->subtitle ? fs * 2 : 0);
	ypad2 = fs * 2 + 10;
	height = (c.maxdepth + 1) * fh + ypad1 + ypad2;
	if (f->o.inverted) {
		c.y0 = ypad1;
		c.step = fh;
	} else {
		/* One px of padding below each frame, as flamegraph.pl leaves it. */
		c.y0 = height - ypad2 - fh + 1;
		c.step = -fh;
	}
	write_head(&c, height, ypad2);
	err = flame_walk(f, 1, emit_frame, &c);
	if (err)
		goto cleanup;
	out_str(&o, "</g>\n</svg>\n");
	out_flush(&o);
	if (!o.err && fflush(fp) != 0)
		o.err = -EIO;
	err = o.err;
cleanup:
	free(o.buf);
	return err;
}

/* " COUNT" of a folded line: integers exactly (any size), fractions to 15 digits. */
static void out_plain(struct flame_out *o, double v)
{
	out_fmt(o, v == floor(v) && fabs(v) < 1e300 ? " %.0f" : " %.15g", v);
}

/* Appends name to the path buffer at len (after a ';' unless first). */
static int path_push(char **path, size_t *cap, size_t *len, const struct flame_name *nm)
{
	size_t need = *len + nm->len + 2;

	if (need > *cap) {
		char *p = realloc(*path, need * 2);

		if (!p)
			return -ENOMEM;
		*path = p;
		*cap = need * 2;
	}
	if (*len)
		(*path)[(*len)++] = ';';
	memcpy(*path + *len, nm->s, nm->len);
	*len += nm->len;
	return 0;
}

/* Iterative pre-order walk: a stack thousands of frames deep needs no C recursion. */
static int emit_folded(heed_flame *f, struct flame_out *o, size_t *lens)
{
	char *path = NULL;
	size_t cap = 0, len = 0;
	uint32_t id = f->nodes[0].child;
	unsigned int d = 0;
	int err = 0;

	while (id != FLAME_NONE && !o->err) {
		const struct flame_node *n = &f->nodes[id];

		lens[d] = len;
		err = path_push(&path, &cap, &len, &f->names[n->name]);
		if (err)
			break;
		/* A leaf is a line even with a zero count (stackcollapse-perf.pl prints
		 * "app;idle 0" for a period of 0). */
		if (f->self_a[id] != 0 || (f->self_b && f->self_b[id] != 0) ||
		    n->child == FLAME_NONE) {
			out_mem(o, path, len);
			out_plain(o, f->self_a[id]);
			if (f->self_b)
				out_plain(o, f->self_b[id]);
			out_mem(o, "\n", 1);
		}
		if (n->child != FLAME_NONE) {
			d++;
			id = n->child;
			continue;
		}
		while (id != FLAME_NONE && f->nodes[id].next == FLAME_NONE) {
			id = f->nodes[id].parent;
			if (id == 0) {
				id = FLAME_NONE;
				break;
			}
			d--;
		}
		if (id == FLAME_NONE)
			break;
		len = lens[d];
		id = f->nodes[id].next;
	}
	free(path);
	return err ? err : o->err;
}

int heed_flame_write_folded(heed_flame *f, FILE *fp)
{
	struct flame_out o = {.fp = fp};
	size_t *lens = NULL;
	int err;

	if (f->lines == 0)
		return -ENODATA;
	err = flame_finish(f);
	if (err)
		return err;
	o.buf = malloc(OUT_BUF);
	if (!o.buf)
		return -ENOMEM;
	o.cap = OUT_BUF;
	lens = calloc((size_t)f->maxdepth + 1, sizeof(*lens));
	err = lens ? emit_folded(f, &o, lens) : -ENOMEM;
	out_flush(&o);
	if (!err && !o.err && fflush(fp) != 0)
		o.err = -EIO;
	if (!err)
		err = o.err;
	free(lens);
	free(o.buf);
	return err;
}
