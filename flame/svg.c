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
#include <time.h>

#include "flame_int.h"
#include "flame_js.h"

#define OUT_BUF (1u << 16)

struct svg_ctx {
	heed_flame *f;
	struct flame_out *o;
	uint64_t rng;	   /* opts.random's generator */
	uint32_t *pal_ix;  /* --cp: name id -> pal[] index + 1 */
	uint32_t *attr_ix; /* --nameattr: name id -> attrs[] index + 1 */
	int err;
	size_t countname_len;
	double total; /* graph total, for percentages */
	double scale; /* px per sample */
	double y0;    /* y of the depth-0 rect */
	double step;  /* y increment per level (negative for a flame, positive icicle) */
	double charw; /* average glyph width, px */
	unsigned int maxdepth;
	size_t drawn;
	/* The flat palette of the stack being drawn when its first frame marks it
	 * off-CPU (heed-trace's [off-cpu] and [runqueue]), else HEED_FLAME_HOT. */
	enum heed_flame_palette stack_pal;
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

static int contains(const char *s, size_t len, const char *needle)
{
	return memmem(s, len, needle, strlen(needle)) != NULL;
}

static int ends_with_ann(const char *s, size_t len, char c)
{
	return len >= 4 && s[len - 4] == '_' && s[len - 3] == '[' && s[len - 2] == c &&
	       s[len - 1] == ']';
}

static int starts_with(const char *s, size_t len, const char *pfx)
{
	size_t n = strlen(pfx);

	return len >= n && memcmp(s, pfx, n) == 0;
}

/* flamegraph.pl's java rule: "L" optional, then a package root and '/'. */
static int java_name(const char *s, size_t len)
{
	static const char *const pfx[] = {"java/", "javax/", "jdk/", "net/",
					  "org/",  "com/",   "io/",  "sun/"};

	if (len && s[0] == 'L') {
		s++;
		len--;
	}
	for (size_t i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++) {
		if (starts_with(s, len, pfx[i]))
			return 1;
	}
	return 0;
}

/* inferno's python rule: a path part "python" or "Python" followed by only digits and
 * dots is the standard library. */
static int python_std(const char *s, size_t len)
{
	size_t b = 0;

	if (starts_with(s, len, "<built-in") || starts_with(s, len, "<method") ||
	    starts_with(s, len, "<frozen"))
		return 1;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '/' && s[i] != '\\')
			continue;
		if (i - b >= 6 &&
		    (memcmp(s + b, "python", 6) == 0 || memcmp(s + b, "Python", 6) == 0)) {
			size_t k = b + 6;

			while (k < i && ((s[k] >= '0' && s[k] <= '9') || s[k] == '.'))
				k++;
			if (k == i)
				return 1;
		}
		b = i + 1;
	}
	return 0;
}

static int python_site(const char *s, size_t len)
{
	size_t b = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '/' && s[i] != '\\')
			continue;
		if (i - b == 13 && memcmp(s + b, "site-packages", 13) == 0)
			return 1;
		b = i + 1;
	}
	return 0;
}

/* The flat palette a frame's name picks in a multi palette: flamegraph.pl's rules for
 * java, js, perl, wakeup and chain, inferno's for python and rust. hot keeps its
 * colours but, unlike flamegraph.pl, lets the annotations _[k] _[i] _[w] _[j] pick
 * orange, aqua and green (heed-trace marks kernel and inlined frames so). */
static enum heed_flame_palette frame_palette(enum heed_flame_palette p, const char *s, size_t len)
{
	switch (p) {
	case HEED_FLAME_HOT:
		if (ends_with_ann(s, len, 'k'))
			return HEED_FLAME_ORANGE;
		if (ends_with_ann(s, len, 'i') || ends_with_ann(s, len, 'w'))
			return HEED_FLAME_AQUA;
		if (ends_with_ann(s, len, 'j'))
			return HEED_FLAME_GREEN;
		return p;
	case HEED_FLAME_JAVA:
		if (ends_with_ann(s, len, 'j'))
			return HEED_FLAME_GREEN;
		if (ends_with_ann(s, len, 'i'))
			return HEED_FLAME_AQUA;
		if (java_name(s, len) || contains(s, len, ":::"))
			return HEED_FLAME_GREEN;
		if (contains(s, len, "::"))
			return HEED_FLAME_YELLOW;
		return ends_with_ann(s, len, 'k') ? HEED_FLAME_ORANGE : HEED_FLAME_RED;
	case HEED_FLAME_PERL:
		if (contains(s, len, "::"))
			return HEED_FLAME_YELLOW;
		if (contains(s, len, "Perl") || contains(s, len, ".pl"))
			return HEED_FLAME_GREEN;
		return ends_with_ann(s, len, 'k') ? HEED_FLAME_ORANGE : HEED_FLAME_RED;
	case HEED_FLAME_JS: {
		const char *slash = memchr(s, '/', len);

		if (ends_with_ann(s, len, 'j'))
			return slash ? HEED_FLAME_GREEN : HEED_FLAME_AQUA;
		if (contains(s, len, "::"))
			return HEED_FLAME_YELLOW;
		if (slash && contains(slash, len - (size_t)(slash - s), ".js"))
			return HEED_FLAME_GREEN;
		if (memchr(s, ':', len))
			return HEED_FLAME_AQUA;
		if (len == 1 && s[0] == ' ')
			return HEED_FLAME_GREEN; /* a missing symbol */
		return contains(s, len, "_[k]") ? HEED_FLAME_ORANGE : HEED_FLAME_RED;
	}
	case HEED_FLAME_WAKEUP:
		return HEED_FLAME_AQUA;
	case HEED_FLAME_CHAIN:
		return contains(s, len, "_[w]") ? HEED_FLAME_AQUA : HEED_FLAME_BLUE;
	case HEED_FLAME_PYTHON:
		if (python_site(s, len))
			return HEED_FLAME_AQUA;
		return python_std(s, len) ? HEED_FLAME_YELLOW : HEED_FLAME_RED;
	case HEED_FLAME_RUST: {
		const char *tick = memchr(s, '`', len);

		if (tick) {
			len -= (size_t)(tick + 1 - s);
			s = tick + 1;
		}
		if (starts_with(s, len, "core::") || starts_with(s, len, "std::") ||
		    starts_with(s, len, "alloc::") ||
		    (starts_with(s, len, "<core::") &&
		     !starts_with(s, len, "<core::future::from_generator::GenFuture<T>")) ||
		    starts_with(s, len, "<std::") || starts_with(s, len, "<alloc::"))
			return HEED_FLAME_ORANGE;
		return contains(s, len, "::") ? HEED_FLAME_AQUA : HEED_FLAME_YELLOW;
	}
	default:
		return p;
	}
}

/* xorshift64*: random colours without libc's global state. */
static double rnd(uint64_t *st)
{
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return (double)((*st * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

static struct rgb frame_color(const heed_flame *f, uint64_t *rng, const char *s, size_t len,
			      enum heed_flame_palette pal)
{
	double v1, v2, v3;
	struct rgb c = {0, 0, 0};

	if (f->o.random) {
		v1 = rnd(rng);
		v2 = rnd(rng);
		v3 = rnd(rng);
	} else if (f->o.hash) {
		v1 = name_weight(s, len, 0);
		v2 = v3 = name_weight(s, len, 1);
	} else {
		uint64_t h = mix64(s, len);

		v1 = (double)(h & 0xffff) / 65536.0;
		v2 = (double)(h >> 16 & 0xffff) / 65536.0;
		v3 = (double)(h >> 32 & 0xffff) / 65536.0;
	}
	switch (pal) {
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
	default: /* multi palettes resolve to a flat one above */
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

	if (sign && part > 0)
		out_mem(o, "+", 1);
	out_fixed2(o, p);
	out_mem(o, "%", 1);
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

static void out_attr(struct flame_out *o, const char *name, const char *val)
{
	out_fmt(o, " %s=\"", name);
	out_xml(o, val, strlen(val), SIZE_MAX);
	out_mem(o, "\"", 1);
}

/* A first frame that marks its stack as time off the CPU, as heed-trace writes
 * them: blocked ([off-cpu], io's blues, as flamegraph.pl --colors=io draws off-CPU
 * graphs) or runnable, waiting for a CPU ([runqueue], purples). In the hot palette
 * their frames take that colour, so that a graph mixing on- and off-CPU stacks
 * (heed-trace --slow-flame) reads them apart. */
static enum heed_flame_palette off_cpu_palette(const char *s, size_t len)
{
	if (len == 9 && !memcmp(s, "[off-cpu]", 9))
		return HEED_FLAME_IO;
	if (len == 10 && !memcmp(s, "[runqueue]", 10))
		return HEED_FLAME_PURPLE;
	return HEED_FLAME_HOT;
}

/* The frame's fill: separators grey, a change's colour, the palette map's, or the
 * palette's (recorded in the map with --cp). */
static struct rgb fill_of(struct svg_ctx *c, const struct heed_flame_frame *fr, uint32_t nid)
{
	heed_flame *f = c->f;
	struct rgb col;

	if (fr->name_len == 2 && memcmp(fr->name, "--", 2) == 0)
		return (struct rgb){160, 160, 160}; /* separators, as flamegraph.pl */
	if (fr->name_len == 1 && fr->name[0] == '-')
		return (struct rgb){200, 200, 200};
	if (f->mode == FLAME_MODE_DIFF)
		return diff_color(f, fr->delta);
	if (c->pal_ix && fr->depth && c->pal_ix[nid]) {
		uint32_t rgb = f->pal[c->pal_ix[nid] - 1].rgb;

		return (struct rgb){(int)(rgb >> 16), (int)(rgb >> 8 & 255), (int)(rgb & 255)};
	}
	/* --cp keeps one colour per name: an off-CPU stack's would stick to it. */
	col = frame_color(f, &c->rng, fr->name, fr->name_len,
			  f->o.palette == HEED_FLAME_HOT && c->stack_pal != HEED_FLAME_HOT &&
					  !c->pal_ix
				  ? c->stack_pal
				  : frame_palette(f->o.palette, fr->name, fr->name_len));
	if (c->pal_ix && fr->depth) {
		if (flame_pal_add(f, nid, (uint32_t)(col.r << 16 | col.g << 8 | col.b)))
			c->err = -ENOMEM;
		else
			c->pal_ix[nid] = (uint32_t)f->npal;
	}
	return col;
}

/* Opens the frame's element: <g>, or <a> when --nameattr gives it a link. */
static void open_frame(struct flame_out *o, const struct flame_attr *a)
{
	if (!a) {
		out_lit(o, "<g>");
		return;
	}
	out_str(o, a->href ? "<a" : "<g");
	if (a->href) {
		out_attr(o, "xlink:href", a->href);
		out_attr(o, "target", a->target ? a->target : "_top");
	}
	if (a->id)
		out_attr(o, "id", a->id);
	if (a->cls)
		out_attr(o, "class", a->cls);
	out_mem(o, ">", 1);
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
	/* flamegraph.pl's percentages are of the count it shows, rounded by "%.0f". */
	double shown = nearbyint(fr->width);
	const struct flame_attr *a = NULL;
	uint32_t nid = 0;
	struct rgb col;

	if ((c->pal_ix || c->attr_ix) && fr->depth && flame_intern(f, fr->name, fr->name_len, &nid))
		return -ENOMEM;
	if (c->attr_ix && fr->depth && c->attr_ix[nid])
		a = &f->attrs[c->attr_ix[nid] - 1];
	if (fr->depth <= 1)
		c->stack_pal = fr->depth ? off_cpu_palette(fr->name, fr->name_len) : HEED_FLAME_HOT;
	col = fill_of(c, fr, nid);
	open_frame(o, a);
	out_lit(o, "<title>");
	if (a && a->title) {
		out_xml(o, a->title, strlen(a->title), SIZE_MAX);
	} else {
		out_xml(o, fr->name, nlen, SIZE_MAX);
		out_lit(o, " (");
		out_count(o, fr->width);
		out_mem(o, " ", 1);
		out_xml(o, f->countname, c->countname_len, SIZE_MAX);
		out_lit(o, ", ");
		if (fr->depth == 0)
			out_lit(o, "100%");
		else
			out_pct(o, shown, c->total, 0);
		if (f->mode == FLAME_MODE_DIFF && (fr->depth || f->o.diff_subtree)) {
			/* With negate the hues are swapped, and so is the sign shown. */
			out_lit(o, "; ");
			out_pct(o, f->o.negate ? -fr->delta : fr->delta, c->total, 1);
		}
		out_mem(o, ")", 1);
	}
	out_lit(o, "</title><rect x=\"");
	out_num(o, x);
	out_lit(o, "\" y=\"");
	out_num(o, y);
	out_lit(o, "\" width=\"");
	out_num(o, w);
	out_lit(o, "\" height=\"");
	out_num(o, f->o.frame_height - 1);
	out_lit(o, "\" fill=\"rgb(");
	out_uint(o, (uint64_t)col.r, 0);
	out_mem(o, ",", 1);
	out_uint(o, (uint64_t)col.g, 0);
	out_mem(o, ",", 1);
	out_uint(o, (uint64_t)col.b, 0);
	out_lit(o, ")\"/>");
	if (fit >= 3) {
		out_lit(o, "<text x=\"");
		out_num(o, x + 3);
		out_lit(o, "\" y=\"");
		out_num(o, y + f->o.frame_height / 2 + f->o.font_size * 0.35);
		out_lit(o, "\">");
		if (f->o.truncate_left)
			out_xml_tail(o, fr->name, nlen, fit);
		else
			out_xml(o, fr->name, nlen, fit);
		out_lit(o, "</text>");
	}
	out_str(o, a && a->href ? "</a>\n" : "</g>\n");
	return c->err ? c->err : o->err;
}

/* flamegraph.pl's background gradients. */
static void bg_colors(const char *bg, const char **c1, const char **c2)
{
	*c1 = "#eeeeee";
	*c2 = "#eeeeb0";
	if (strcmp(bg, "blue") == 0) {
		*c2 = "#e0e0ff";
	} else if (strcmp(bg, "green") == 0) {
		*c1 = "#eef2ee";
		*c2 = "#e0ffe0";
	} else if (strcmp(bg, "grey") == 0) {
		*c1 = "#f8f8f8";
		*c2 = "#e8e8e8";
	} else if (bg[0] == '#') {
		*c1 = *c2 = bg;
	}
}

static void write_buttons(struct svg_ctx *c, double height, double ypad2)
{
	struct flame_out *o = c->o;
	double fs = c->f->o.font_size, w = c->f->o.width;

	out_fmt(o, "<text id=\"details\" x=\"%g\" y=\"", FLAME_XPAD);
	out_num(o, height - ypad2 / 2);
	out_lit(o, "\"> </text>\n");
	out_fmt(o, "<text id=\"unzoom\" class=\"hide\" x=\"%g\" y=\"", FLAME_XPAD);
	out_num(o, fs * 2);
	out_lit(o, "\">Reset Zoom</text>\n<text id=\"search\" x=\"");
	out_num(o, w - FLAME_XPAD - 100);
	out_lit(o, "\" y=\"");
	out_num(o, fs * 2);
	out_lit(o, "\">Search</text>\n<text id=\"ic\" x=\"");
	out_num(o, w - FLAME_XPAD - 16);
	out_lit(o, "\" y=\"");
	out_num(o, fs * 2);
	out_lit(o, "\">ic</text>\n<text id=\"matched\" x=\"");
	out_num(o, w - FLAME_XPAD - 100);
	out_lit(o, "\" y=\"");
	out_num(o, height - ypad2 / 2);
	out_lit(o, "\"> </text>\n");
}

static void write_head(struct svg_ctx *c, double height, double ypad2)
{
	struct flame_out *o = c->o;
	heed_flame *f = c->f;
	double fs = f->o.font_size, w = f->o.width;
	size_t elided = f->nnodes - c->drawn;
	int js = !f->o.no_javascript;
	const char *bg1, *bg2;

	out_lit(o, "<?xml version=\"1.0\"");
	if (f->encoding)
		out_attr(o, "encoding", f->encoding);
	out_str(o, " standalone=\"no\"?>\n"
		   "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
		   "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n");
	out_lit(o, "<svg version=\"1.1\" width=\"");
	out_num(o, w);
	out_lit(o, "\" height=\"");
	out_num(o, height);
	out_lit(o, "\" viewBox=\"0 0 ");
	out_num(o, w);
	out_mem(o, " ", 1);
	out_num(o, height);
	out_str(o, js ? "\" onload=\"init()\"" : "\"");
	out_str(o, " xmlns=\"http://www.w3.org/2000/svg\" "
		   "xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n");
	out_fmt(o,
		"<!-- heed-flame: %zu frames drawn, %zu elided (narrower than %g px), "
		"%lu lines, %lu malformed -->\n",
		c->drawn, elided, f->o.minwidth, f->lines, f->bad);
	if (f->notes) {
		out_lit(o, "<!-- NOTES: ");
		out_xml(o, f->notes, strlen(f->notes), SIZE_MAX);
		out_lit(o, " -->\n");
	}
	bg_colors(f->bgcolors, &bg1, &bg2);
	out_fmt(o,
		"<defs><linearGradient id=\"bg\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
		"<stop stop-color=\"%s\" offset=\"5%%\"/>"
		"<stop stop-color=\"%s\" offset=\"95%%\"/></linearGradient></defs>\n",
		bg1, bg2);
	out_lit(o, "<style type=\"text/css\">\ntext { font-family: ");
	out_xml(o, f->fonttype, strlen(f->fonttype), SIZE_MAX);
	out_fmt(o,
		", sans-serif; font-size: %gpx; fill: rgb(0,0,0); }\n"
		"#frames > * { cursor: pointer; }\n"
		"#frames rect { rx: 2px; ry: 2px; }\n"
		"#frames > *:hover > rect { stroke: rgb(0,0,0); stroke-width: 0.5; }\n"
		"#title { text-anchor: middle; font-size: %gpx; }\n"
		"#subtitle { text-anchor: middle; fill: rgb(160,160,160); }\n"
		"#search, #ic, #unzoom { cursor: pointer; opacity: 0.6; }\n"
		"#search:hover, #ic:hover, #ic.on, #unzoom:hover { opacity: 1; }\n"
		".hide { display: none; }\n"
		".parent { opacity: 0.5; }\n",
		fs, fs + 5);
	if (f->stroke_color && strcmp(f->stroke_color, "none") != 0)
		out_fmt(o, "#frames rect { stroke: %s; stroke-width: 1; }\n", f->stroke_color);
	out_lit(o, "</style>\n");
	if (js) {
		out_lit(o, "<script type=\"text/ecmascript\"><![CDATA[\n");
		out_mem(o, flame_js, sizeof(flame_js) - 1);
		out_lit(o, "]]></script>\n");
	}
	out_lit(o, "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"url(#bg)\"/>\n");
	out_lit(o, "<text id=\"title\" x=\"");
	out_num(o, w / 2);
	out_lit(o, "\" y=\"");
	out_num(o, fs * 2);
	out_lit(o, "\">");
	out_xml(o, f->title, strlen(f->title), SIZE_MAX);
	out_lit(o, "</text>\n");
	if (f->subtitle) {
		out_lit(o, "<text id=\"subtitle\" x=\"");
		out_num(o, w / 2);
		out_lit(o, "\" y=\"");
		out_num(o, fs * 4);
		out_lit(o, "\">");
		out_xml(o, f->subtitle, strlen(f->subtitle), SIZE_MAX);
		out_lit(o, "</text>\n");
	}
	/* Without the script the buttons would do nothing. */
	if (js)
		write_buttons(c, height, ypad2);
	out_lit(o, "<g id=\"frames\"");
	out_attr(o, "data-nametype", f->nametype);
	out_attr(o, "data-searchcolor", f->search_color);
	out_fmt(o, " data-fontwidth=\"%g\"", f->o.fontwidth);
	if (f->o.truncate_left)
		out_lit(o, " data-truncate=\"left\"");
	out_fmt(o, " data-xpad=\"%g\" data-width=\"", FLAME_XPAD);
	out_num(o, w);
	out_lit(o, "\" data-fontsize=\"");
	out_num(o, fs);
	out_lit(o, "\" data-fh=\"");
	out_num(o, f->o.frame_height);
	out_lit(o, "\" data-y0=\"");
	out_num(o, c->y0);
	out_lit(o, "\">\n");
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
	c.charw = fs * f->o.fontwidth;
	c.countname_len = strlen(f->countname);
	c.rng = f->o.seed ? f->o.seed
			  : (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)clock();
	c.rng |= 1; /* xorshift never leaves 0 */
	if (f->o.consistent)
		c.pal_ix = flame_pal_index(f);
	if (f->nattrs)
		c.attr_ix = flame_attr_index(f);
	if ((f->o.consistent && !c.pal_ix) || (f->nattrs && !c.attr_ix)) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = flame_count(f, &c.drawn, &c.maxdepth);
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
	free(c.pal_ix);
	free(c.attr_ix);
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

	/* The root's own samples (stacks of no frame) are a line of no frame, " 12". */
	if (f->self_a[0] != 0 || (f->self_b && f->self_b[0] != 0)) {
		out_plain(o, f->self_a[0]);
		if (f->self_b)
			out_plain(o, f->self_b[0]);
		out_mem(o, "\n", 1);
	}
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
