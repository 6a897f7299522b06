/* Criterion suite for libflame: layout (frames, x, widths in samples) against what the
 * input implies, merging, ordering, pruning, malformed input, differential graphs,
 * fractional counts, reverse/inverted, XML escaping, and the SVG's rect attributes.
 * The randomized test prints its seed and replays one from HEED_SEED. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flame.h"
#include "parse.h"

#define MAXF 4096

struct fr {
	char name[64];
	unsigned int depth;
	double x, w, before, delta;
	int elided;
};

struct frames {
	struct fr f[MAXF];
	size_t n;
};

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	cr_assert(p, "out of memory");
	return p;
}

static int collect(const struct heed_flame_frame *fr, void *ctx)
{
	struct frames *fs = ctx;
	struct fr *d;

	cr_assert(fs->n < MAXF, "more frames than the test expects");
	d = &fs->f[fs->n++];
	cr_assert(fr->name_len < sizeof(d->name));
	memcpy(d->name, fr->name, fr->name_len);
	d->name[fr->name_len] = '\0';
	cr_assert_eq(strlen(fr->name), fr->name_len);
	d->depth = fr->depth;
	d->x = fr->x;
	d->w = fr->width;
	d->before = fr->before;
	d->delta = fr->delta;
	d->elided = fr->elided;
	return 0;
}

struct msgs {
	char buf[8192];
	int count;
};

static void on_err(void *ctx, const char *msg)
{
	struct msgs *m = ctx;
	size_t l = strlen(m->buf);

	snprintf(m->buf + l, sizeof(m->buf) - l, "%s\n", msg);
	m->count++;
}

static heed_flame *mk(struct heed_flame_opts *o, struct msgs *m)
{
	struct heed_flame_opts def;
	heed_flame *f = NULL;

	if (!o) {
		heed_flame_opts_init(&def);
		o = &def;
	}
	if (m) {
		memset(m, 0, sizeof(*m));
		o->on_error = on_err;
		o->error_ctx = m;
	}
	cr_assert_eq(heed_flame_new(o, &f), 0);
	return f;
}

static void add_text(heed_flame *f, const char *text)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");

	cr_assert(in);
	cr_assert_geq(heed_flame_parse_stream(f, in, "input"), 0);
	fclose(in);
}

static void layout(heed_flame *f, struct frames *fs)
{
	fs->n = 0;
	cr_assert_eq(heed_flame_foreach(f, collect, fs), 0);
}

static void expect(const struct frames *fs, size_t i, const char *name, unsigned int depth,
		   double x, double w)
{
	cr_assert_lt(i, fs->n, "frame %zu missing", i);
	cr_expect_str_eq(fs->f[i].name, name, "frame %zu", i);
	cr_expect_eq(fs->f[i].depth, depth, "frame %zu (%s) depth", i, name);
	cr_expect_float_eq(fs->f[i].x, x, 1e-9, "frame %zu (%s) x %g != %g", i, name, fs->f[i].x,
			   x);
	cr_expect_float_eq(fs->f[i].w, w, 1e-9, "frame %zu (%s) width %g != %g", i, name,
			   fs->f[i].w, w);
}

Test(flame, golden_layout)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	heed_flame *f = mk(NULL, NULL);

	/* Unsorted on purpose: the layout must not depend on line order. */
	add_text(f, "main;work;crc 7\n"
		    "main;idle 5\n"
		    "main 3\n"
		    "main;work 2\n"
		    "main;work;alloc 4\n"
		    "other 1\n");
	layout(f, fs);
	cr_assert_eq(fs->n, 7);
	expect(fs, 0, "all", 0, 0, 22);
	/* Own samples of "main" (3) come first, then idle, then work. */
	expect(fs, 1, "main", 1, 0, 21);
	expect(fs, 2, "idle", 2, 3, 5);
	expect(fs, 3, "work", 2, 8, 13);
	expect(fs, 4, "alloc", 3, 10, 4);
	expect(fs, 5, "crc", 3, 14, 7);
	expect(fs, 6, "other", 1, 21, 1);
	heed_flame_free(f);
	free(fs);
}

Test(flame, merges_identical_stacks)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	struct heed_flame_stats st;
	heed_flame *f = mk(NULL, NULL);

	add_text(f, "a;b 1\na;b 2\na;b;; 3\n\n  \r\na;c 4\n");
	layout(f, fs);
	cr_assert_eq(fs->n, 4);
	expect(fs, 1, "a", 1, 0, 10);
	expect(fs, 2, "b", 2, 0, 6);
	expect(fs, 3, "c", 2, 6, 4);
	heed_flame_stats(f, &st);
	cr_expect_eq(st.lines, 4);
	cr_expect_eq(st.bad, 0);
	cr_expect_eq(st.frames, 4);
	cr_expect_eq(st.depth, 2);
	cr_expect_float_eq(st.total, 10, 1e-12);
	heed_flame_free(f);
	free(fs);
}

Test(flame, sibling_order_is_sorted_folded_order)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	heed_flame *f = mk(NULL, NULL);

	/* As in sorted folded lines, where a name is followed by ';' and ' ' < '!' < ';'
	 * < 'b': "a b" < "a!" < "a" < "ab" < "b". */
	add_text(f, "r;ab;x 1\nr;a;x 2\nr;b;x 3\nr;a!;x 4\nr;a b;x 5\n");
	layout(f, fs);
	cr_assert_eq(fs->n, 12);
	expect(fs, 2, "a b", 2, 0, 5);
	expect(fs, 4, "a!", 2, 5, 4);
	expect(fs, 6, "a", 2, 9, 2);
	expect(fs, 8, "ab", 2, 11, 1);
	expect(fs, 10, "b", 2, 12, 3);
	heed_flame_free(f);
	free(fs);
}

Test(flame, fractional_counts_and_factor)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	struct heed_flame_opts o;
	heed_flame *f = mk(NULL, NULL);

	add_text(f, "a;b 0.5\na;b 0.25\na 1.125\nc 2.\n");
	layout(f, fs);
	expect(fs, 0, "all", 0, 0, 3.875);
	expect(fs, 1, "a", 1, 0, 1.875);
	expect(fs, 2, "b", 2, 1.125, 0.75);
	expect(fs, 3, "c", 1, 1.875, 2);
	heed_flame_free(f);

	heed_flame_opts_init(&o);
	o.factor = 4;
	f = mk(&o, NULL);
	add_text(f, "a;b 0.5\na 1.25\n");
	layout(f, fs);
	expect(fs, 1, "a", 1, 0, 7);
	expect(fs, 2, "b", 2, 5, 2);
	heed_flame_free(f);
	free(fs);
}

Test(flame, malformed_lines_reported_with_line_numbers)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	struct heed_flame_stats st;
	struct msgs *m = xcalloc(1, sizeof(*m));
	heed_flame *f = mk(NULL, m);

	add_text(f, "a;b 1\n"
		    "no count here\n"
		    "a;c 1.2.3\n"
		    "42\n"
		    "a;d -5\n"
		    "a;e 3\n");
	cr_expect_eq(m->count, 4, "messages: %s", m->buf);
	cr_expect(strstr(m->buf, "input:2: no sample count"), "%s", m->buf);
	cr_expect(strstr(m->buf, "input:3: no sample count"), "%s", m->buf);
	cr_expect(strstr(m->buf, "input:4: no sample count"), "%s", m->buf);
	cr_expect(strstr(m->buf, "input:5: no sample count"), "%s", m->buf);
	heed_flame_stats(f, &st);
	cr_expect_eq(st.lines, 2);
	cr_expect_eq(st.bad, 4);
	layout(f, fs);
	expect(fs, 0, "all", 0, 0, 4);
	heed_flame_free(f);
	free(fs);
	free(m);
}

Test(flame, add_line_rejects_a_newline_inside)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	struct heed_flame_stats st;
	struct msgs *m = xcalloc(1, sizeof(*m));
	heed_flame *f = mk(NULL, m);

	cr_expect_eq(heed_flame_add_line(f, "a;b 2\n", 6, "x", 1), 0);
	cr_expect_eq(heed_flame_add_line(f, " \n", 2, "x", 2), 0, "a blank line adds nothing");
	cr_expect_eq(heed_flame_add_line(f, "a\nb 1\n", 6, "x", 3), -EINVAL);
	cr_expect_eq(heed_flame_add_line(f, "a;c\n1", 5, NULL, 4), -EINVAL);
	cr_expect(strstr(m->buf, "x:3: a newline inside the stack"), "%s", m->buf);
	cr_expect(strstr(m->buf, "line 4: a newline inside the stack"), "%s", m->buf);
	heed_flame_stats(f, &st);
	cr_expect_eq(st.lines, 1);
	cr_expect_eq(st.bad, 2);
	layout(f, fs);
	cr_assert_eq(fs->n, 3, "nothing of a rejected line is added");
	expect(fs, 2, "b", 2, 0, 2);
	heed_flame_free(f);
	free(fs);
	free(m);
}

Test(flame, skipped_line_shows_control_bytes)
{
	struct msgs *m = xcalloc(1, sizeof(*m));
	heed_flame *f = mk(NULL, m);

	/* A NUL would end the quoted line, which then looked valid. */
	cr_expect_eq(heed_flame_add_line(f, "a;b 1\0x\x1b[2J\n", 12, "bin", 1), -EINVAL);
	cr_expect(strstr(m->buf, "bin:1: no sample count at the end; line skipped: "
				 "\"a;b 1\\x00x\\x1b[2J\""),
		  "%s", m->buf);
	heed_flame_free(f);
	free(m);
}

/* A stream that yields its text, then fails like a disk error. */
static ssize_t failing_read(void *cookie, char *buf, size_t size)
{
	const char **text = cookie;
	size_t n = strlen(*text);

	if (n == 0) {
		errno = EIO;
		return -1;
	}
	if (n > size)
		n = size;
	memcpy(buf, *text, n);
	*text += n;
	return (ssize_t)n;
}

Test(flame, read_error_adds_no_cut_line)
{
	/* The read fails inside "c;d 123": "c;d 12" must not be added, "a;b 1" kept. */
	const char *text = "a;b 1\nc;d 12";
	cookie_io_functions_t io = {.read = failing_read};
	struct heed_flame_stats st;
	struct msgs *m = xcalloc(1, sizeof(*m));
	heed_flame *f = mk(NULL, m);
	FILE *in = fopencookie(&text, "r", io);

	cr_assert(in);
	cr_expect_eq(heed_flame_parse_stream(f, in, "disk"), -EIO);
	fclose(in);
	cr_expect(strstr(m->buf, "disk: read error after line 1: Input/output error"), "%s",
		  m->buf);
	cr_expect_eq(m->count, 1, "only the read error is reported: %s", m->buf);
	heed_flame_stats(f, &st);
	cr_expect_eq(st.lines, 1, "the whole line before the error is kept");
	cr_expect_eq(st.bad, 0);
	cr_expect_float_eq(st.total, 1, 1e-12, "total %g", st.total);
	heed_flame_free(f);
	free(m);
}

Test(flame, no_valid_line_is_an_error)
{
	struct msgs *m = xcalloc(1, sizeof(*m));
	heed_flame *f = mk(NULL, m);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	add_text(f, "garbage\nmore garbage\n");
	cr_expect_eq(heed_flame_write_svg(f, out), -ENODATA);
	cr_expect(strstr(m->buf, "no valid folded line"), "%s", m->buf);
	cr_expect_eq(heed_flame_foreach(f, collect, NULL), -ENODATA);
	fclose(out);
	free(buf);
	heed_flame_free(f);
	free(m);
}

Test(flame, reverse_and_add_stack)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	struct heed_flame_opts o;
	const char *st1[] = {"a", "b", "c"};
	const char *bad[] = {"a;b"};
	const char *st2[] = {"a", "bXX"};
	size_t len2[] = {(size_t)-1, 1};
	heed_flame *f;

	heed_flame_opts_init(&o);
	o.reverse = 1;
	f = mk(&o, NULL);
	add_text(f, "a;b;c 2\nx;b;c 1\n");
	cr_expect_eq(heed_flame_add_stack(f, st1, NULL, 3, 4, -1), 0);
	cr_expect_eq(heed_flame_add_stack(f, bad, NULL, 1, 1, -1), -EINVAL);
	cr_expect_eq(heed_flame_add_stack(f, st1, NULL, 3, -1, -1), -EINVAL);
	cr_expect_eq(heed_flame_add_stack(f, st1, NULL, 3, 1, 2), -EINVAL,
		     "a differential stack in an ordinary graph");
	layout(f, fs);
	cr_assert_eq(fs->n, 5);
	expect(fs, 1, "c", 1, 0, 7);
	expect(fs, 2, "b", 2, 0, 7);
	expect(fs, 3, "a", 3, 0, 6);
	expect(fs, 4, "x", 3, 6, 1);
	heed_flame_free(f);

	f = mk(NULL, NULL);
	cr_expect_eq(heed_flame_add_stack(f, st2, len2, 2, 3, -1), 0);
	cr_expect_eq(heed_flame_add_stack(f, NULL, NULL, 0, 1, -1), 0);
	layout(f, fs);
	cr_assert_eq(fs->n, 3);
	expect(fs, 0, "all", 0, 0, 4);
	expect(fs, 1, "a", 1, 1, 3);
	expect(fs, 2, "b", 2, 1, 3);
	heed_flame_free(f);
	free(fs);
}

Test(flame, minwidth_pruning_is_counted)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	struct heed_flame_stats st;
	struct heed_flame_opts o;
	heed_flame *f;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	heed_flame_opts_init(&o);
	o.width = 1020;	 /* 1000 px of frames */
	o.minwidth = 10; /* so 1% of 1000 samples = 10 samples */
	f = mk(&o, NULL);
	add_text(f, "big;x 990\nsmall;y;z 9\ntiny 1\n");
	layout(f, fs);
	cr_assert_eq(fs->n, 7);
	for (size_t i = 0; i < fs->n; i++) {
		int want = strcmp(fs->f[i].name, "small") == 0 || strcmp(fs->f[i].name, "y") == 0 ||
			   strcmp(fs->f[i].name, "z") == 0 || strcmp(fs->f[i].name, "tiny") == 0;

		cr_expect_eq(fs->f[i].elided, want, "%s elided=%d", fs->f[i].name, fs->f[i].elided);
	}
	heed_flame_stats(f, &st);
	cr_expect_eq(st.frames, 7);
	cr_expect_eq(st.drawn, 3);
	cr_expect_eq(st.elided, 4);
	out = open_memstream(&buf, &len);
	cr_assert_eq(heed_flame_write_svg(f, out), 0);
	fclose(out);
	cr_expect(strstr(buf, "3 frames drawn, 4 elided"), "SVG comment missing");
	cr_expect(strstr(buf, "<title>x (990"), "x drawn");
	cr_expect_null(strstr(buf, "<title>small"), "small must be elided");
	cr_expect_null(strstr(buf, "<title>tiny"), "tiny must be elided");
	free(buf);
	heed_flame_free(f);
	free(fs);
}

struct rect {
	char title[128];
	double x, y, w;
	int r, g, b;
};

/* The number in attribute `key` (e.g. ` x="`) of the element at el. */
static double attr_num(const char *el, const char *key)
{
	const char *p = strstr(el, key), *close = strchr(el, '>');
	char *end;
	double v;

	cr_assert(p && close && p < close, "no %s in %.80s", key, el);
	v = strtod(p + strlen(key), &end);
	cr_assert_eq(*end, '"', "bad number for %s in %.80s", key, el);
	return v;
}

/* Pulls every frame <g> of an SVG: title text, rect x/y/width and fill. */
static size_t parse_rects(const char *svg, struct rect *r, size_t max)
{
	const char *p = strstr(svg, "<g id=\"frames\"");
	size_t n = 0;

	cr_assert(p, "no frames group");
	while ((p = strstr(p, "<g><title>")) && n < max) {
		const char *t = p + strlen("<g><title>"), *e = strstr(t, "</title>");
		const char *rect, *rgb;
		char *end;

		cr_assert(e);
		cr_assert_lt((size_t)(e - t), sizeof(r[n].title));
		memcpy(r[n].title, t, (size_t)(e - t));
		r[n].title[e - t] = '\0';
		rect = strstr(e, "<rect ");
		cr_assert(rect);
		r[n].x = attr_num(rect, " x=\"");
		r[n].y = attr_num(rect, " y=\"");
		r[n].w = attr_num(rect, " width=\"");
		rgb = strstr(rect, "fill=\"rgb(");
		cr_assert(rgb, "no fill: %.80s", rect);
		rgb += strlen("fill=\"rgb(");
		r[n].r = (int)strtol(rgb, &end, 10);
		cr_assert_eq(*end, ',');
		r[n].g = (int)strtol(end + 1, &end, 10);
		cr_assert_eq(*end, ',');
		r[n].b = (int)strtol(end + 1, &end, 10);
		cr_assert_eq(*end, ')');
		n++;
		p = e;
	}
	return n;
}

static char *render(heed_flame *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	cr_assert(out);
	cr_assert_eq(heed_flame_write_svg(f, out), 0);
	fclose(out);
	return buf;
}

Test(flame, svg_rects_match_layout)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	struct rect *r = xcalloc(64, sizeof(*r));
	struct heed_flame_opts o;
	heed_flame *f;
	char *svg;
	size_t n;

	heed_flame_opts_init(&o);
	o.width = 1210; /* 1190 px for 17 samples: 70 px each */
	o.frame_height = 20;
	o.title = "T <&>";
	o.countname = "bytes";
	f = mk(&o, NULL);
	add_text(f, "main;work;crc 7\nmain;idle 5\nmain 3\nmain;work 2\n");
	layout(f, fs);
	svg = render(f);
	cr_expect(strstr(svg, ">T &lt;&amp;&gt;</text>"), "escaped title");
	n = parse_rects(svg, r, 64);
	cr_assert_eq(n, fs->n);
	for (size_t i = 0; i < n; i++) {
		char want[128];

		snprintf(want, sizeof(want), "%s (", fs->f[i].name);
		cr_expect_eq(strncmp(r[i].title, want, strlen(want)), 0, "%s vs %s", r[i].title,
			     want);
		cr_expect_float_eq(r[i].x, 10 + fs->f[i].x * 70, 0.006, "%s x", fs->f[i].name);
		cr_expect_float_eq(r[i].w, fs->f[i].w * 70, 0.006, "%s w", fs->f[i].name);
		if (i > 0)
			cr_expect_float_eq(r[i].y, r[0].y - 20.0 * fs->f[i].depth, 1e-9);
	}
	cr_expect_str_eq(r[0].title, "all (17 bytes, 100%)");
	cr_expect_str_eq(r[2].title, "idle (5 bytes, 29.41%)");
	free(svg);
	heed_flame_free(f);

	o.inverted = 1;
	o.title = NULL;
	f = mk(&o, NULL);
	add_text(f, "a;b 1\n");
	svg = render(f);
	n = parse_rects(svg, r, 64);
	cr_assert_eq(n, 3);
	/* Icicle: root on top, right below the 3-font-size title band. */
	cr_expect_float_eq(r[0].y, 36, 1e-9);
	cr_expect_float_eq(r[1].y, 56, 1e-9);
	cr_expect_float_eq(r[2].y, 76, 1e-9);
	cr_expect(strstr(svg, "Icicle Graph"));
	free(svg);
	heed_flame_free(f);
	free(r);
	free(fs);
}

Test(flame, differential_two_count_lines)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	struct rect *r = xcalloc(64, sizeof(*r));
	struct msgs *m = xcalloc(1, sizeof(*m));
	struct heed_flame_stats st;
	struct heed_flame_opts o;
	heed_flame *f;
	char *svg;

	f = mk(NULL, m);
	add_text(f, "main;grow 10 30\nmain;shrink 20 5\nmain;same 7 7\nmain;gone 4 0\n"
		    "main;one 3\n");
	cr_expect_eq(m->count, 1, "one-count line in a differential graph: %s", m->buf);
	cr_expect(strstr(m->buf, "input:5: one count in a differential graph"), "%s", m->buf);
	heed_flame_stats(f, &st);
	cr_expect_eq(st.differential, 1);
	layout(f, fs);
	cr_assert_eq(fs->n, 6);
	expect(fs, 1, "main", 1, 0, 42);
	expect(fs, 2, "gone", 2, 0, 0);
	expect(fs, 3, "grow", 2, 0, 30);
	expect(fs, 4, "same", 2, 30, 7);
	expect(fs, 5, "shrink", 2, 37, 5);
	cr_expect_float_eq(fs->f[1].before, 41, 1e-12);
	/* As flamegraph.pl: a delta only where stacks end; main ends none. */
	cr_expect_float_eq(fs->f[1].delta, 0, 1e-12);
	cr_expect_float_eq(fs->f[3].delta, 20, 1e-12);
	cr_expect_float_eq(fs->f[4].delta, 0, 1e-12);
	cr_expect_float_eq(fs->f[5].delta, -15, 1e-12);
	cr_expect(fs->f[2].elided, "zero-width frames are not drawn");

	svg = render(f);
	cr_assert_eq(parse_rects(svg, r, 64), 5);
	/* grow: +20 is the largest stack delta: full red. */
	cr_expect(r[2].r == 255 && r[2].g == 0 && r[2].b == 0, "grow %d,%d,%d", r[2].r, r[2].g,
		  r[2].b);
	/* same: white. */
	cr_expect(r[3].r == 255 && r[3].g == 255 && r[3].b == 255);
	/* shrink: -15 of 20: blue, r = g = 210 * 5 / 20. */
	cr_expect(r[4].b == 255 && r[4].r == 52 && r[4].g == 52, "shrink %d,%d,%d", r[4].r, r[4].g,
		  r[4].b);
	cr_expect(strstr(svg, "<title>shrink (5 samples, 11.90%; -35.71%)</title>"), "diff title");
	/* The root and main (no stack ends there) show no change and are white. */
	cr_expect(strstr(svg, "<title>all (42 samples, 100%)</title>"), "root title");
	cr_expect(strstr(svg, "<title>main (42 samples, 100.00%; 0.00%)</title>"), "main title");
	cr_expect(r[0].r == 255 && r[0].g == 255 && r[0].b == 255, "all is white");
	cr_expect(r[1].r == 255 && r[1].g == 255 && r[1].b == 255, "main is white");
	free(svg);
	heed_flame_free(f);

	/* diff_subtree: parents carry their subtree's change, the root too. */
	heed_flame_opts_init(&o);
	o.diff_subtree = 1;
	f = mk(&o, NULL);
	add_text(f, "main;grow 10 30\nmain;shrink 20 5\nmain;same 7 7\nmain;gone 4 0\n");
	layout(f, fs);
	cr_expect_float_eq(fs->f[0].delta, 1, 1e-12);
	cr_expect_float_eq(fs->f[1].delta, 1, 1e-12);
	cr_expect_float_eq(fs->f[3].delta, 20, 1e-12);
	svg = render(f);
	cr_expect(strstr(svg, "<title>main (42 samples, 100.00%; +2.38%)</title>"), "subtree main");
	cr_assert_eq(parse_rects(svg, r, 64), 5);
	/* +1 of the largest 20: nearly white red, g = b = 210 * 19 / 20. */
	cr_expect(r[1].r == 255 && r[1].g == 199 && r[1].b == 199, "main %d,%d,%d", r[1].r, r[1].g,
		  r[1].b);
	free(svg);
	heed_flame_free(f);

	/* --negate swaps the hues. */
	heed_flame_opts_init(&o);
	o.negate = 1;
	f = mk(&o, NULL);
	add_text(f, "main;grow 10 30\nmain;shrink 20 5\n");
	svg = render(f);
	cr_assert_eq(parse_rects(svg, r, 64), 4);
	cr_expect(r[2].b == 255 && r[2].r == 0, "negated grow is blue");
	cr_expect(r[3].r == 255 && r[3].b < 255, "negated shrink is red");
	free(svg);
	heed_flame_free(f);
	free(fs);
	free(r);
	free(m);
}

static char tmpdir[64];

static char *write_tmp(const char *name, const char *text)
{
	static char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	cr_assert(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void mk_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/test_flame.XXXXXX");
	cr_assert(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_expect_eq(system(cmd), 0);
}

/* cppcheck does not know Criterion's macros; .fini cleans up even after a failed assert. */
// cppcheck-suppress unknownMacro
Test(flame, diff_of_two_files_and_merged_output, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	char before[128], after[128], *buf = NULL;
	size_t len = 0;
	heed_flame *f, *g;
	FILE *out;

	snprintf(before, sizeof(before), "%s", write_tmp("before", "m;a 10\nm;b 5\nm;b 1\n"));
	snprintf(after, sizeof(after), "%s", write_tmp("after", "m;a 4\nm;c 8\n"));
	f = mk(NULL, NULL);
	cr_assert_eq(heed_flame_parse_diff(f, before, after), 0);
	layout(f, fs);
	cr_assert_eq(fs->n, 5);
	expect(fs, 1, "m", 1, 0, 12);
	expect(fs, 2, "a", 2, 0, 4);
	expect(fs, 3, "b", 2, 4, 0);
	expect(fs, 4, "c", 2, 4, 8);
	cr_expect_float_eq(fs->f[3].before, 6, 1e-12);
	cr_expect_float_eq(fs->f[2].delta, -6, 1e-12);
	out = open_memstream(&buf, &len);
	cr_assert_eq(heed_flame_write_folded(f, out), 0);
	fclose(out);
	cr_expect_str_eq(buf, "m;a 10 4\nm;b 6 0\nm;c 0 8\n");
	/* The merged file reads back as the same differential graph. */
	g = mk(NULL, NULL);
	add_text(g, buf);
	layout(g, fs);
	expect(fs, 4, "c", 2, 4, 8);
	cr_expect_float_eq(fs->f[3].before, 6, 1e-12);
	free(buf);
	heed_flame_free(g);
	heed_flame_free(f);
	free(fs);
}

// cppcheck-suppress unknownMacro
Test(flame, parse_file_errors, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct msgs *m = xcalloc(1, sizeof(*m));
	heed_flame *f = mk(NULL, m);
	char path[160];

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	cr_expect_eq(heed_flame_parse_file(f, path), -ENOENT);
	cr_expect(strstr(m->buf, "missing: No such file or directory"), "%s", m->buf);
	cr_expect_eq(heed_flame_parse_file(f, write_tmp("ok", "a 1\nb\n")), 1);
	cr_expect(strstr(m->buf, "/ok:2: no sample count"), "%s", m->buf);
	heed_flame_free(f);
	free(m);
}

Test(flame, xml_escaping_of_hostile_names)
{
	heed_flame *f = mk(NULL, NULL);
	char *svg;
	const char line[] = "a<b>&c\"d'e;\x01\x7f ctl;bad\xff\xc3(utf8;ok\xc3\xa9;"
			    "sur\xed\xa0\x80;nonchar\xef\xbf\xbe;]]> 3\n";

	add_text(f, line);
	svg = render(f);
	cr_expect(strstr(svg, "<title>a&lt;b&gt;&amp;c&quot;d&apos;e (3 samples"), "markup");
	cr_expect(strstr(svg, "<title>\\x01\x7f ctl ("), "control byte");
	cr_expect(strstr(svg, "<title>bad\\xff\\xc3(utf8 ("), "invalid UTF-8");
	cr_expect(strstr(svg, "<title>ok\xc3\xa9 ("), "valid UTF-8 kept");
	cr_expect(strstr(svg, "<title>sur\\xed\\xa0\\x80 ("), "surrogate");
	cr_expect(strstr(svg, "<title>nonchar\\xef\\xbf\\xbe ("), "U+FFFE");
	cr_expect(strstr(svg, "<title>]]&gt; ("), "]]> outside CDATA");
	free(svg);
	heed_flame_free(f);
}

Test(flame, options_validated)
{
	struct heed_flame_opts o;
	enum heed_flame_palette p;
	heed_flame *f = NULL;

	heed_flame_opts_init(&o);
	o.width = -1;
	cr_expect_eq(heed_flame_new(&o, &f), -EINVAL);
	cr_expect_null(f);
	heed_flame_opts_init(&o);
	o.frame_height = NAN;
	cr_expect_eq(heed_flame_new(&o, &f), -EINVAL);
	heed_flame_opts_init(&o);
	o.palette = (enum heed_flame_palette)99;
	cr_expect_eq(heed_flame_new(&o, &f), -EINVAL);
	cr_expect_eq(heed_flame_palette_parse("wakeup", &p), 0);
	cr_expect_eq(p, HEED_FLAME_WAKEUP);
	cr_expect_eq(heed_flame_palette_parse("orange", &p), 0);
	cr_expect_eq(p, HEED_FLAME_ORANGE);
	cr_expect_eq(heed_flame_palette_parse("pink", &p), -EINVAL);
	heed_flame_free(NULL);
}

Test(flame, annotation_colours)
{
	struct rect *r = xcalloc(16, sizeof(*r));
	heed_flame *f = mk(NULL, NULL);
	char *svg;

	add_text(f, "u;sys_read_[k] 1\nu;inl_[i] 1\nu;jit_[j] 1\nu;plain 1\n");
	svg = render(f);
	cr_assert_eq(parse_rects(svg, r, 16), 6);
	/* Order: inl_[i], jit_[j], plain, sys_read_[k]. */
	cr_expect(r[2].r >= 50 && r[2].r < 110 && r[2].g >= 165 && r[2].g == r[2].b, "inline aqua");
	cr_expect(r[3].g >= 200 && r[3].r < 110 && r[3].r == r[3].b, "jit green");
	cr_expect(r[4].r >= 205 && r[4].g <= 230 && r[4].b <= 55, "plain hot");
	cr_expect(r[5].r >= 190 && r[5].g >= 90 && r[5].g < 155 && r[5].b == 0, "kernel orange");
	free(svg);
	heed_flame_free(f);
	free(r);
}

/* Reference layout, independent of the trie: sort the distinct stacks as sequences
 * of frames (each name compared as if followed by ';', a prefix first); the stacks
 * under one frame are then contiguous, so its x is the sum of all earlier stacks and
 * its width the sum of its own. */
struct rstack {
	int nf;
	int f[8];
	double count;
};

static const char *rnames[] = {"a", "a!", "a b", "ab", "b", "\xc3\xa9", "x y", "a;"};
#define NRN 7 /* "a;" is not a valid frame: never generated */

static int ref_name_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;
	int c = memcmp(a, b, n);
	unsigned char ca, cb;

	if (c)
		return c;
	ca = la > n ? (unsigned char)a[n] : ';';
	cb = lb > n ? (unsigned char)b[n] : ';';
	if (ca != cb)
		return ca < cb ? -1 : 1;
	return (la > lb) - (la < lb);
}

static int rstack_cmp(const void *pa, const void *pb)
{
	const struct rstack *a = pa, *b = pb;

	for (int i = 0; i < a->nf && i < b->nf; i++) {
		int c = ref_name_cmp(rnames[a->f[i]], rnames[b->f[i]]);

		if (c)
			return c;
	}
	return (a->nf > b->nf) - (a->nf < b->nf);
}

Test(flame, randomized_layout_matches_reference)
{
	const char *env = getenv("HEED_SEED");
	uint64_t seed64 = (uint64_t)time(NULL);

	if (env)
		cr_assert_eq(heed_parse_u64(env, &seed64), 0, "HEED_SEED=%s: not a whole number",
			     env);
	unsigned int seed = (unsigned int)seed64;
	struct frames *fs = xcalloc(1, sizeof(*fs));
	struct rstack *st = xcalloc(400, sizeof(*st));
	char *text = xcalloc(1, 400 * 80);
	size_t tl = 0;
	heed_flame *f;
	int n = 0;

	printf("test_flame randomized: HEED_SEED=%u\n", seed);
	fflush(stdout);
	srand(seed);
	for (int round = 0; round < 20; round++) {
		n = 0;
		tl = 0;
		text[0] = '\0';
		f = mk(NULL, NULL);
		for (int i = 0; i < 300; i++) {
			struct rstack s = {.nf = 1 + rand() % 6, .count = 1 + rand() % 50};

			for (int k = 0; k < s.nf; k++)
				s.f[k] = rand() % NRN;
			if (rand() % 4 == 0)
				s.count += 0.5;
			for (int k = 0; k < s.nf; k++)
				tl += (size_t)sprintf(text + tl, "%s%s", k ? ";" : "",
						      rnames[s.f[k]]);
			tl += (size_t)sprintf(text + tl, " %g\n", s.count);
			/* Merge duplicates in the reference too. */
			int j;

			for (j = 0; j < n; j++) {
				if (rstack_cmp(&st[j], &s) == 0) {
					st[j].count += s.count;
					break;
				}
			}
			if (j == n)
				st[n++] = s;
		}
		add_text(f, text);
		qsort(st, (size_t)n, sizeof(*st), rstack_cmp);
		layout(f, fs);
		cr_assert_gt(fs->n, 100, "too few frames to test anything: %zu", fs->n);
		/* Every frame of the layout: find its stacks in the reference. */
		for (size_t i = 0; i < fs->n; i++) {
			struct fr *fr = &fs->f[i];
			int path[8], d = (int)fr->depth;
			double x = -1, w = 0;

			/* Rebuild this frame's path from the preceding frames. */
			for (size_t k = i + 1; k-- > 0 && d > 0;) {
				if ((int)fs->f[k].depth == d) {
					int id = -1;

					for (int q = 0; q < NRN; q++)
						if (strcmp(rnames[q], fs->f[k].name) == 0)
							id = q;
					cr_assert_geq(id, 0, "unknown frame %s", fs->f[k].name);
					path[--d] = id;
				}
			}
			d = (int)fr->depth;
			for (int s = 0, before = 1; s < n; s++) {
				int match = st[s].nf >= d;

				for (int k = 0; match && k < d; k++)
					match = st[s].f[k] == path[k];
				if (match) {
					if (x < 0)
						x = 0;
					w += st[s].count;
					before = 0;
				} else if (before) {
					x = x < 0 ? st[s].count : x + st[s].count;
				}
			}
			if (d == 0)
				x = 0;
			cr_assert_float_eq(fr->w, w, 1e-9, "seed %u round %d frame %zu (%s) width",
					   seed, round, i, fr->name);
			cr_assert_float_eq(fr->x, x < 0 ? 0 : x, 1e-9,
					   "seed %u round %d frame %zu (%s) x", seed, round, i,
					   fr->name);
		}
		heed_flame_free(f);
	}
	free(text);
	free(st);
	free(fs);
}

Test(flame, stream_reader_chunks_and_long_lines)
{
	size_t n = 40000, cap = n * 48 + (3u << 20) + 64, len = 0;
	char *text = xcalloc(1, cap);
	struct heed_flame_stats st;
	heed_flame *f = mk(NULL, NULL);

	/* Over 1 MiB, so lines straddle the reader's chunks; one 3 MiB line; CRLF; and a
	 * last line without its newline. */
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "main;frame_%05zu;leaf %zu\r\n", i % 1000,
				       i % 7 + 1);
	len += (size_t)sprintf(text + len, "main;");
	memset(text + len, 'x', 3u << 20);
	len += 3u << 20;
	sprintf(text + len, " 5\nmain;last 9");
	add_text(f, text);
	heed_flame_stats(f, &st);
	cr_expect_eq(st.lines, n + 2);
	cr_expect_eq(st.bad, 0);
	/* sum over i of (i % 7 + 1) for i < 40000, plus 5 and 9 */
	cr_expect_float_eq(st.total, 159995 + 14, 1e-9, "total %g", st.total);
	cr_expect_eq(st.frames, 2 + 2000 + 2);
	free(text);
	heed_flame_free(f);
}

/* The fill of the first frame whose title starts with name. */
static void fill_of(const char *svg, const char *name, int rgb[3])
{
	char key[64];
	const char *p, *q;

	snprintf(key, sizeof(key), "<g><title>%s (", name);
	p = strstr(svg, key);
	cr_assert(p, "no frame %s", name);
	q = strstr(p, "fill=\"rgb(");
	cr_assert(q);
	q += strlen("fill=\"rgb(");
	for (int i = 0; i < 3; i++) {
		char *end;

		rgb[i] = (int)strtol(q, &end, 10);
		q = end + 1;
	}
}

Test(flame, colours_are_stable_per_name)
{
	struct heed_flame_opts o;
	int a[3], b[3], c[3], d[3];
	heed_flame *f, *g;
	char *s1, *s2;

	for (int hash = 0; hash <= 1; hash++) {
		heed_flame_opts_init(&o);
		o.hash = hash;
		f = mk(&o, NULL);
		g = mk(&o, NULL);
		add_text(f, "main;heed_btree_search 5\nmain;heed_btree_split 1\n");
		add_text(g, "other;x;heed_btree_search 1\nzzz 9\n");
		s1 = render(f);
		s2 = render(g);
		fill_of(s1, "heed_btree_search", a);
		fill_of(s2, "heed_btree_search", b);
		cr_expect(a[0] == b[0] && a[1] == b[1] && a[2] == b[2],
			  "hash=%d: same name, same colour in two graphs", hash);
		if (hash) {
			/* Hot palette: green from the first characters, so names sharing
			 * them share it; another prefix gets another. */
			fill_of(s1, "heed_btree_split", c);
			fill_of(s2, "zzz", d);
			cr_expect_eq(a[1], c[1], "search/split green %d/%d", a[1], c[1]);
			cr_expect_neq(a[1], d[1], "search/zzz green %d/%d", a[1], d[1]);
		}
		free(s1);
		free(s2);
		heed_flame_free(f);
		heed_flame_free(g);
	}
}

/* flamegraph.pl's line regex keeps all but one blank before the count in the stack:
 * "write0_[j];  3" ends in a frame named " " that holds the 3 samples. */
Test(flame, blanks_before_the_count_are_a_frame)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	struct rect *r = xcalloc(16, sizeof(*r));
	heed_flame *f = mk(NULL, NULL);
	char *svg;

	add_text(f, "main;write0_[j];  3\nmain;b  2\nmain;b 1\n");
	layout(f, fs);
	cr_assert_eq(fs->n, 6);
	expect(fs, 1, "main", 1, 0, 6);
	expect(fs, 2, "b ", 2, 0, 2);
	expect(fs, 3, "b", 2, 2, 1);
	expect(fs, 4, "write0_[j]", 2, 3, 3);
	expect(fs, 5, " ", 3, 3, 3);
	svg = render(f);
	cr_assert_eq(parse_rects(svg, r, 16), 6);
	cr_expect_str_eq(r[5].title, "  (3 samples, 50.00%)");
	free(svg);
	heed_flame_free(f);
	free(r);
	free(fs);
}

/* Titles show "%.0f" of the count with flamegraph.pl's thousands separators, exact
 * for counts far beyond 1e15, and the percentage of that rounded count; the
 * annotations _[k] _[i] _[j] _[w] are not shown (they only pick colours). */
Test(flame, titles_show_counts_as_flamegraph_pl)
{
	struct rect *r = xcalloc(16, sizeof(*r));
	heed_flame *f = mk(NULL, NULL);
	char *svg, *label;

	add_text(f, "main;big 368934881474191032\n");
	svg = render(f);
	cr_assert_eq(parse_rects(svg, r, 16), 3);
	cr_expect_str_eq(r[0].title, "all (368,934,881,474,191,040 samples, 100%)");
	cr_expect_str_eq(r[2].title, "big (368,934,881,474,191,040 samples, 100.00%)");
	free(svg);
	heed_flame_free(f);

	f = mk(NULL, NULL);
	add_text(f, "m;half 2.5\nm;more 3.5\nm;k_[k] 1994\nm;i_[i] 1000\nm;j_[j] 1000\n"
		    "m;w_[w] 1000\nm;x_[x] 1000\n");
	svg = render(f);
	cr_assert_eq(parse_rects(svg, r, 16), 9);
	cr_expect_str_eq(r[0].title, "all (6,000 samples, 100%)");
	/* %.0f rounds half to even: 2.5 shows 2, 3.5 shows 4; 2/6000 = 0.03%. */
	cr_expect_str_eq(r[2].title, "half (2 samples, 0.03%)");
	cr_expect_str_eq(r[3].title, "i (1,000 samples, 16.67%)");
	cr_expect_str_eq(r[4].title, "j (1,000 samples, 16.67%)");
	cr_expect_str_eq(r[5].title, "k (1,994 samples, 33.23%)");
	cr_expect_str_eq(r[6].title, "more (4 samples, 0.07%)");
	cr_expect_str_eq(r[7].title, "w (1,000 samples, 16.67%)");
	cr_expect_str_eq(r[8].title, "x_[x] (1,000 samples, 16.67%)", "only kijw are annotations");
	label = strstr(svg, "<title>k (");
	cr_assert(label);
	label = strstr(label, "<text ");
	cr_assert(label);
	cr_expect_eq(strncmp(strchr(label, '>'), ">k</text>", 9), 0, "label: %.40s", label);
	/* The stripped annotation still picks the kernel colour. */
	cr_expect(r[5].r >= 190 && r[5].b == 0, "k_[k] orange");
	free(svg);
	heed_flame_free(f);
	free(r);
}

/* Frames named "--" and "-" (stack separators) are grey, as flamegraph.pl draws them. */
Test(flame, separator_frames_are_grey)
{
	struct rect *r = xcalloc(16, sizeof(*r));
	heed_flame *f = mk(NULL, NULL);
	char *svg;

	add_text(f, "a;--;b 1\na;-;c 1\n");
	svg = render(f);
	cr_assert_eq(parse_rects(svg, r, 16), 6);
	/* "--;" sorts before "-;". */
	cr_expect_str_eq(r[2].title, "-- (1 samples, 50.00%)");
	cr_expect(r[2].r == 160 && r[2].g == 160 && r[2].b == 160);
	cr_expect_str_eq(r[4].title, "- (1 samples, 50.00%)");
	cr_expect(r[4].r == 200 && r[4].g == 200 && r[4].b == 200);
	free(svg);
	heed_flame_free(f);
	free(r);
}

static char *folded_of(heed_flame *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	cr_assert(out);
	cr_assert_eq(heed_flame_write_folded(f, out), 0);
	fclose(out);
	return buf;
}

/* " 2" is a stack of no frame, as flamegraph.pl reads it ((.*) matches the empty
 * string before the blank): its samples widen "all" alone, left of every frame, and
 * the folded output keeps the line. "42", with no blank before the count, is no
 * line in flamegraph.pl either. */
Test(flame, a_stack_of_no_frame_counts_in_all)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	struct msgs *m = xcalloc(1, sizeof(*m));
	heed_flame *f = mk(NULL, m);
	char *out;

	add_text(f, "a;b 3\n 2\n;; 1\n42\n");
	cr_expect_eq(m->count, 1, "messages: %s", m->buf);
	cr_expect(strstr(m->buf, "input:4: no sample count"), "%s", m->buf);
	layout(f, fs);
	expect(fs, 0, "all", 0, 0, 6);
	expect(fs, 1, "a", 1, 3, 3);
	out = folded_of(f);
	cr_expect_str_eq(out, " 3\na;b 3\n");
	free(out);
	heed_flame_free(f);
	free(fs);
	free(m);
}

/* difffolded.pl -n: BEFORE counts become int(count * 10 / 7); -s: hex addresses are
 * one "0x..." so stacks differing only there merge. */
// cppcheck-suppress unknownMacro
Test(flame, diff_normalize_and_strip_hex, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct heed_flame_opts o;
	char before[128], after[128], *buf;
	heed_flame *f;

	snprintf(before, sizeof(before), "%s",
		 write_tmp("before", "m;a@0x7fA0 3\nm;b 4\nm;0x;0xg 1\n"));
	snprintf(after, sizeof(after), "%s", write_tmp("after", "m;a@0x1b 5\nm;b 5\nm;0x;0xg 1\n"));
	heed_flame_opts_init(&o);
	o.diff_normalize = 1;
	o.strip_hex = 1;
	f = mk(&o, NULL);
	cr_assert_eq(heed_flame_parse_diff(f, before, after), 0);
	buf = folded_of(f);
	/* Totals 8 and 11: 3 * 11 / 8 = 4.125, 4 * 11 / 8 = 5.5, 1 * 11 / 8 = 1.375. */
	cr_expect_str_eq(buf, "m;0x;0xg 1 1\nm;a@0x... 4 5\nm;b 5 5\n");
	free(buf);
	heed_flame_free(f);

	heed_flame_opts_init(&o);
	f = mk(&o, NULL);
	cr_assert_eq(heed_flame_parse_diff(f, before, after), 0);
	buf = folded_of(f);
	cr_expect_str_eq(buf, "m;0x;0xg 1 1\nm;a@0x1b 0 5\nm;a@0x7fA0 3 0\nm;b 4 5\n");
	free(buf);
	heed_flame_free(f);
}

/* perf script text exercising stackcollapse-perf.pl's rules; the expectations were
 * worked out from its documented rules (and agree with it run by hand). */
static const char perf_text[] = "# cmdline : /usr/bin/perf record -g ./app\n"
				"stray 99 1.0: 1 cycles:\n"
				"\n"
				"app worker 1234/1240 [001] 100.000001: 5 cycles:\n"
				"\tffffffff81000001 native_write+0x1f ([kernel.kallsyms])\n"
				"\tffffffff81000002 tcp_send (/lib/modules/6.1/build/vmlinux)\n"
				"\t7f0000000003 [unknown] (/usr/lib/libc.so.6)\n"
				"\t7f0000000004 [unknown] ([unknown])\n"
				"\t5555000005 ns::Cls::run(int, char const*) (/opt/app)\n"
				"\t5555000006 (anonymous namespace)::helper(int)+0x10 (/opt/app)\n"
				"\t5555000010 ns::(anonymous namespace)::f(int) (/opt/app)\n"
				"\t5555000007 net/http.(*Client).Do (/opt/app)\n"
				"\t5555000008 outer->inner_a->inner_b (/opt/app)\n"
				"\t5555000009 say\"hi'a;b (/opt/app)\n"
				"\t555500000a main (/opt/app)\n"
				"\n"
				"java 77 [000] 100.000003: cycles:\n"
				"\t7f000000000c Ljava/lang/Thread;.run()V (/tmp/perf-77.map)\n"
				"\t7f000000000d ([kernel.kallsyms])\n"
				"\t7f000000000e (java)\n"
				"\t7f000000000f (perf_thread) ([unknown])\n"
				"\n"
				"app 1234 [000] 100.000004: 7 page-faults:\n"
				"\t5555000011 main (/opt/app)\n"
				"\n"
				"app 0/0 [000] 100.000005: 00 cycles:\n"
				"\t5555000012   (/opt/app)\n"
				"\n"
				"garbage line\n"
				"app 1234/1240 [001] 100.000006: 3 cycles:\n"
				"\t555500000a main (/opt/app)\n";

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folded output with its lines in bytewise order, as the script prints them. */
static char *sorted_folded(heed_flame *f)
{
	char *buf = folded_of(f), *lines[64], *out;
	size_t n = 0, len = strlen(buf);

	for (char *p = strtok(buf, "\n"); p; p = strtok(NULL, "\n")) {
		cr_assert_lt(n, 64);
		lines[n++] = p;
	}
	qsort(lines, n, sizeof(lines[0]), line_cmp);
	out = xcalloc(len + 2, 1);
	for (size_t i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
	}
	free(buf);
	return out;
}

static char *collapse_perf(const struct heed_flame_perf_opts *po, struct msgs *m, long want)
{
	FILE *in = fmemopen((void *)perf_text, strlen(perf_text), "r");
	heed_flame *f = mk(NULL, m);
	char *out;

	cr_assert(in);
	cr_expect_eq(heed_flame_parse_perf(f, in, "perf.txt", po), want);
	fclose(in);
	out = sorted_folded(f);
	heed_flame_free(f);
	return out;
}

Test(flame, perf_script_folded_as_stackcollapse_perf)
{
	struct heed_flame_perf_opts po = {0};
	struct msgs *m = xcalloc(1, sizeof(*m));
	char *out;

	/* The sample at the end has no blank line after it: not counted. A period of
	 * "00" counts 0 (only "" and "0" count 1), a "0" tid makes the pid unknown. */
	out = collapse_perf(NULL, m, 4);
	cr_expect_str_eq(
		out, "app;  0\n"
		     "app_worker;main;sayhia:b;outer;inner_a_[i];inner_b_[i];net/http.(*Client)."
		     "Do;ns::(anonymous namespace)::f;ns::Cls::run;[unknown];[libc.so.6];"
		     "tcp_send;native_write 5\n"
		     "java;e;d;java/lang/Thread:.run 1\n"
		     "stray 1\n");
	cr_expect(strstr(m->buf, "perf.txt:29: unrecognized line skipped: \"garbage line\""), "%s",
		  m->buf);
	cr_expect(strstr(m->buf, "perf.txt: filtering for events of type: cycles"), "%s", m->buf);
	free(out);

	po.tid = 1;
	out = collapse_perf(&po, m, 4);
	cr_expect_str_eq(
		out, "app-?/0;  0\n"
		     "app_worker-1234/1240;main;sayhia:b;outer;inner_a_[i];inner_b_[i];net/http."
		     "(*Client).Do;ns::(anonymous namespace)::f;ns::Cls::run;[unknown];[libc.so."
		     "6];tcp_send;native_write 5\n"
		     "java-?/77;e;d;java/lang/Thread:.run 1\n"
		     "stray-?/99 1\n");
	free(out);

	memset(&po, 0, sizeof(po));
	po.pid = 1;
	po.kernel = po.jit = 1;
	out = collapse_perf(&po, m, 4);
	cr_expect_str_eq(
		out, "app-?;  0\n"
		     "app_worker-1234;main;sayhia:b;outer;inner_a_[i];inner_b_[i];net/http.(*"
		     "Client).Do;ns::(anonymous namespace)::f;ns::Cls::run;[unknown];[libc.so.6]"
		     ";tcp_send_[k];native_write_[k] 5\n"
		     "java-?;e;d_[k];java/lang/Thread:.run_[j] 1\n"
		     "stray-? 1\n");
	free(out);

	memset(&po, 0, sizeof(po));
	po.addrs = 1;
	out = collapse_perf(&po, m, 4);
	cr_expect(strstr(out, ";[unknown <7f0000000004>];[libc.so.6 <7f0000000003>];"), "%s", out);
	free(out);

	memset(&po, 0, sizeof(po));
	po.event = "page-faults";
	out = collapse_perf(&po, m, 1);
	cr_expect_str_eq(out, "app;main 7\n");
	free(out);
	free(m);
}

/* bpftrace's printed maps, as 0.17 prints @[ustack, kstack] and @p[comm, ustack(perf),
 * kstack]: each stack leaf first, key parts in order. */
Test(flame, bpftrace_maps)
{
	static const char text[] = "Attaching 2 probes...\n"
				   "\n"
				   "@[\n"
				   "    user_leaf+12\n"
				   "    main+40\n"
				   "    0x7f34ca4e824a\n"
				   ", \n"
				   "    read_zero+124\n"
				   "    ksys_read+111\n"
				   "]: 3\n"
				   "@[\n"
				   "    user_leaf+7\n"
				   "    main+40\n"
				   "    0x7f34ca4e824a\n"
				   ", ]: 4\n"
				   "@p[busy, \n"
				   "\t7f34ca5b92a7 sys_work+0x17 (/tmp/busy)\n"
				   "\t55df363cf28c 0x55df363cf28c ([unknown])\n"
				   ", \n"
				   "    a;b+3\n"
				   "]: 2\n"
				   "@q[busy, 42, ]: 5\n"
				   /* perf mode without a symbol: the address */
				   "@z[\n\t7f00 ([unknown])\n]: 6\n"
				   "@h[\n"
				   "    x+1\n"
				   "]: \n"
				   "@n: 7\n";
	struct msgs *m = xcalloc(1, sizeof(*m));
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	heed_flame *f = mk(NULL, m);
	char *out;

	cr_assert(in);
	cr_expect_eq(heed_flame_parse_bpftrace(f, in, "bt.txt"), 5);
	fclose(in);
	out = sorted_folded(f);
	cr_expect_str_eq(out, "0x7f34ca4e824a;main;user_leaf 4\n"
			      "0x7f34ca4e824a;main;user_leaf;ksys_read;read_zero 3\n"
			      "7f00 6\n"
			      "busy;0x55df363cf28c;sys_work;a:b 2\n"
			      "busy;42 5\n");
	cr_expect(strstr(m->buf, "bt.txt:28: no count after the key"), "%s", m->buf);
	free(out);
	heed_flame_free(f);
	free(m);
}

/* Flame chart: input order is the x axis; only consecutive lines share frames, and a
 * line ending at a frame closes its children (flamegraph.pl --flamechart draws b at
 * 0, c at 1, b at 3 and, after "m 1" ended at m, a new b at 5). */
Test(flame, flamechart_keeps_input_order)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	struct heed_flame_opts o;
	heed_flame *f;
	char *svg;

	heed_flame_opts_init(&o);
	o.flamechart = 1;
	f = mk(&o, NULL);
	add_text(f, "m;b 1\nm;c 2\nm;b 1\nm 1\nm;b 3\n");
	layout(f, fs);
	cr_assert_eq(fs->n, 6);
	expect(fs, 0, "all", 0, 0, 8);
	expect(fs, 1, "m", 1, 0, 8);
	expect(fs, 2, "b", 2, 0, 1);
	expect(fs, 3, "c", 2, 1, 2);
	expect(fs, 4, "b", 2, 3, 1);
	expect(fs, 5, "b", 2, 5, 3);
	svg = render(f);
	cr_expect(strstr(svg, ">Flame Chart</text>"), "default title");
	free(svg);
	/* Adding after a layout keeps the order (children are appended). */
	add_text(f, "m;b;x 2\nm;d 1\n");
	layout(f, fs);
	cr_assert_eq(fs->n, 8);
	expect(fs, 5, "b", 2, 5, 5);
	expect(fs, 6, "x", 3, 8, 2);
	expect(fs, 7, "d", 2, 10, 1);
	heed_flame_free(f);
	free(fs);
}

/* The hue family of an rgb() as flamegraph.pl's flat palettes draw them. */
static char family(const struct rect *r)
{
	if (r->b == 0 && r->r >= 190 && r->g >= 90 && r->g <= 155)
		return 'o'; /* orange */
	if (r->g == r->b && r->r >= 200 && r->g >= 50 && r->g <= 130)
		return 'r'; /* red */
	if (r->r == r->b && r->g >= 200 && r->r >= 50 && r->r <= 110)
		return 'g'; /* green */
	if (r->r == r->g && r->b >= 205 && r->r >= 80 && r->r <= 140)
		return 'b'; /* blue */
	if (r->r == r->g && r->r >= 175 && r->r <= 230 && r->b >= 50 && r->b <= 70)
		return 'y'; /* yellow */
	if (r->g == r->b && r->r >= 50 && r->r <= 110 && r->g >= 165)
		return 'a'; /* aqua */
	if (r->r == 160 && r->g == 160 && r->b == 160)
		return '-'; /* the "--" separator */
	return '?';
}

/* Draws "root;NAME 1" for each name and returns the families, in name order. */
static void families(enum heed_flame_palette p, const char *text, char *out, size_t n)
{
	struct rect *r = xcalloc(64, sizeof(*r));
	struct heed_flame_opts o;
	heed_flame *f;
	char *svg;
	size_t got;

	heed_flame_opts_init(&o);
	o.palette = p;
	f = mk(&o, NULL);
	add_text(f, text);
	svg = render(f);
	got = parse_rects(svg, r, 64);
	cr_assert_eq(got, n + 2, "%zu frames", got);
	for (size_t i = 0; i < n; i++)
		out[i] = family(&r[i + 2]);
	out[n] = '\0';
	free(svg);
	heed_flame_free(f);
	free(r);
}

Test(flame, multi_palettes_pick_families_by_name)
{
	char got[32];

	/* js (flamegraph.pl): sorted as " ", "/a/b.js_[j]", "/srv/app.js:12", "B:Foo",
	 * "foo_[j]", "main", "ns::f", "x_[k]" */
	families(HEED_FLAME_JS,
		 "r;foo_[j] 1\nr;/a/b.js_[j] 1\nr;ns::f 1\nr;/srv/app.js:12 1\nr;B:Foo 1\n"
		 "r;  1\nr;x_[k] 1\nr;main 1\n",
		 got, 8);
	cr_expect_str_eq(got, "gggaaryo", "js: %s", got);
	/* perl: "Foo::bar", "Perl_pp_add", "main", "sys_read_[k]", "x.pl" */
	families(HEED_FLAME_PERL,
		 "r;Foo::bar 1\nr;Perl_pp_add 1\nr;x.pl 1\nr;sys_read_[k] 1\nr;main 1\n", got, 5);
	cr_expect_str_eq(got, "ygrog", "perl: %s", got);
	/* java (flamegraph.pl's order: "::" before _[k], _[i] before the package). */
	families(HEED_FLAME_JAVA, "r;Foo::bar_[k] 1\nr;java/lang/T.run_[i] 1\nr;Lorg/x/Y 1\n", got,
		 3);
	cr_expect_str_eq(got, "yga", "java: %s", got);
	/* python (inferno): sorted "/usr/lib/python3.11/json.py", "/v/site-packages/r.py",
	 * "<built-in len>", "app.py:main" */
	families(HEED_FLAME_PYTHON,
		 "r;/usr/lib/python3.11/json.py 1\nr;/v/lib/python3.11/site-packages/r.py 1\n"
		 "r;<built-in len> 1\nr;app.py:main 1\n",
		 got, 4);
	cr_expect_str_eq(got, "yayr", "python: %s", got);
	/* rust (inferno): "<core::future::from_generator::GenFuture<T> as F>::poll",
	 * "app`core::ptr::drop", "main", "myapp::run", "std::rt::lang_start" */
	families(HEED_FLAME_RUST,
		 "r;std::rt::lang_start 1\nr;app`core::ptr::drop 1\nr;myapp::run 1\nr;main 1\n"
		 "r;<core::future::from_generator::GenFuture<T> as F>::poll 1\n",
		 got, 5);
	cr_expect_str_eq(got, "aoyao", "rust: %s", got);
}

/* chain (flamegraph.pl): frames after the first "--" become wakers "_[w]" (aqua,
 * annotation not shown), the others blue; a stack without "--" gains a "--" leaf. */
Test(flame, chain_palette_marks_wakers)
{
	struct frames *fs = xcalloc(1, sizeof(*fs));
	struct rect *r = xcalloc(16, sizeof(*r));
	struct heed_flame_opts o;
	heed_flame *f;
	char *svg;

	heed_flame_opts_init(&o);
	o.palette = HEED_FLAME_CHAIN;
	f = mk(&o, NULL);
	add_text(f, "sleep;--;wake;run 2\nidle 1\n");
	layout(f, fs);
	cr_assert_eq(fs->n, 7);
	expect(fs, 1, "idle", 1, 0, 1);
	expect(fs, 2, "--", 2, 0, 1);
	expect(fs, 3, "sleep", 1, 1, 2);
	expect(fs, 4, "--", 2, 1, 2);
	expect(fs, 5, "wake_[w]", 3, 1, 2);
	expect(fs, 6, "run_[w]", 4, 1, 2);
	svg = render(f);
	cr_assert_eq(parse_rects(svg, r, 16), 7);
	cr_expect_eq(family(&r[3]), 'b', "sleep blue");
	cr_expect_eq(family(&r[4]), '-', "separator grey");
	cr_expect_eq(family(&r[5]), 'a', "waker aqua");
	cr_expect_str_eq(r[5].title, "wake (2 samples, 66.67%)");
	free(svg);
	heed_flame_free(f);
	free(r);
	free(fs);
}

static char *render_opts(struct heed_flame_opts *o, const char *text)
{
	heed_flame *f = mk(o, NULL);
	char *svg;

	add_text(f, text);
	svg = render(f);
	heed_flame_free(f);
	return svg;
}

Test(flame, random_colours_follow_the_seed)
{
	struct rect *a = xcalloc(32, sizeof(*a)), *b = xcalloc(32, sizeof(*b));
	struct heed_flame_opts o;
	char text[512] = "";
	char *s1, *s2, *s3;
	int differ = 0;

	for (int i = 0; i < 20; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "main;f%02d 1\n", i);
	heed_flame_opts_init(&o);
	o.random = 1;
	o.seed = 1;
	s1 = render_opts(&o, text);
	s2 = render_opts(&o, text);
	cr_expect_str_eq(s1, s2, "the same seed gives the same colours");
	o.seed = 2;
	s3 = render_opts(&o, text);
	cr_assert_eq(parse_rects(s1, a, 32), 22);
	cr_assert_eq(parse_rects(s3, b, 32), 22);
	for (int i = 2; i < 22; i++) {
		differ += a[i].r != b[i].r || a[i].g != b[i].g || a[i].b != b[i].b;
		cr_expect(a[i].r >= 205 && a[i].g <= 230 && a[i].b <= 55, "hot: %d,%d,%d", a[i].r,
			  a[i].g, a[i].b);
	}
	cr_expect_gt(differ, 10, "another seed, other colours (%d of 20 differ)", differ);
	free(s1);
	free(s2);
	free(s3);
	free(a);
	free(b);
}

/* --cp: a name in the palette map keeps its colour; drawn names are added; the map
 * is written sorted, as flamegraph.pl writes palette.map. */
Test(flame, palette_map_keeps_colours)
{
	static const char map[] = "main->rgb(1,2,3)\nunused->rgb(4,5,6)\n";
	struct heed_flame_opts o;
	struct msgs *m = xcalloc(1, sizeof(*m));
	FILE *in = fmemopen((void *)map, strlen(map), "r");
	char *svg, *buf = NULL, want[128];
	size_t len = 0;
	FILE *out;
	heed_flame *f;
	int rgb[3];

	heed_flame_opts_init(&o);
	o.consistent = 1;
	f = mk(&o, m);
	cr_assert(in);
	cr_expect_eq(heed_flame_palette_read(f, in, "palette.map"), 2);
	fclose(in);
	add_text(f, "main;work 1\n");
	svg = render(f);
	fill_of(svg, "main", rgb);
	cr_expect(rgb[0] == 1 && rgb[1] == 2 && rgb[2] == 3, "main from the map");
	fill_of(svg, "work", rgb);
	out = open_memstream(&buf, &len);
	cr_assert(out);
	cr_expect_eq(heed_flame_palette_write(f, out), 0);
	fclose(out);
	snprintf(want, sizeof(want), "main->rgb(1,2,3)\nunused->rgb(4,5,6)\nwork->rgb(%d,%d,%d)\n",
		 rgb[0], rgb[1], rgb[2]);
	cr_expect_str_eq(buf, want);
	free(buf);
	free(svg);
	in = fmemopen((void *)"ok->rgb(1,1,1)\nbad->red\n", 24, "r");
	cr_assert(in);
	cr_expect_eq(heed_flame_palette_read(f, in, "p.map"), -EINVAL);
	fclose(in);
	cr_expect(strstr(m->buf, "p.map:2: not a palette line"), "%s", m->buf);
	heed_flame_free(f);
	free(m);
}

/* --nameattr: id, class, title and a link on frames of one name. */
Test(flame, nameattr_sets_frame_attributes)
{
	static const char attrs[] = "work\tid=w1\tclass=hot x\ttitle=Work <1>\t"
				    "href=http://h/?a=1&b=2\tg_extra=onclick=x\n";
	struct heed_flame_opts o;
	struct msgs *m = xcalloc(1, sizeof(*m));
	FILE *in = fmemopen((void *)attrs, strlen(attrs), "r");
	heed_flame *f;
	char *svg;

	heed_flame_opts_init(&o);
	f = mk(&o, m);
	cr_assert(in);
	cr_expect_eq(heed_flame_nameattr_read(f, in, "attrs"), 1);
	fclose(in);
	cr_expect(strstr(m->buf, "attrs:1: attribute 'g_extra' is not supported"), "%s", m->buf);
	add_text(f, "main;work 1\n");
	svg = render(f);
	cr_expect(strstr(svg, "<a xlink:href=\"http://h/?a=1&amp;b=2\" target=\"_top\" id=\"w1\" "
			      "class=\"hot x\"><title>Work &lt;1&gt;</title><rect "),
		  "%s", strstr(svg, "<g id=\"frames\""));
	cr_expect(strstr(svg, "</text></a>\n"), "the link is closed");
	cr_expect(strstr(svg, "<g><title>main (1 samples"), "other frames unchanged");
	free(svg);
	in = fmemopen((void *)"no tab here\n", 12, "r");
	cr_assert(in);
	cr_expect_eq(heed_flame_nameattr_read(f, in, "attrs"), -EINVAL);
	fclose(in);
	cr_expect(strstr(m->buf, "attrs:1: no tab after the name"), "%s", m->buf);
	heed_flame_free(f);
	free(m);
}

/* Background, font, notes, encoding, search and stroke colours, truncation side and
 * the script's absence, each as it appears in the SVG. */
Test(flame, style_options_reach_the_svg)
{
	struct heed_flame_opts o;
	struct msgs *m = xcalloc(1, sizeof(*m));
	heed_flame *f = NULL;
	char *svg;

	heed_flame_opts_init(&o);
	o.palette = HEED_FLAME_MEM;
	svg = render_opts(&o, "a 1\n");
	cr_expect(strstr(svg, "stop-color=\"#eef2ee\""), "mem: green background");
	free(svg);
	heed_flame_opts_init(&o);
	o.bgcolors = "#123456";
	o.fonttype = "DejaVu Sans";
	o.notes = "built by test_flame";
	o.encoding = "ISO-8859-1";
	o.search_color = "#00ff00";
	o.stroke_color = "rgb(0,0,0)";
	o.no_javascript = 1;
	svg = render_opts(&o, "a 1\n");
	cr_expect_eq(strncmp(svg,
			     "<?xml version=\"1.0\" encoding=\"ISO-8859-1\" standalone=\"no\"?>",
			     59),
		     0, "%.80s", svg);
	cr_expect(strstr(svg, "<stop stop-color=\"#123456\" offset=\"5%\"/><stop "
			      "stop-color=\"#123456\""));
	cr_expect(strstr(svg, "text { font-family: DejaVu Sans, sans-serif;"));
	cr_expect(strstr(svg, "<!-- NOTES: built by test_flame -->"));
	cr_expect(strstr(svg, "data-searchcolor=\"#00ff00\""));
	cr_expect(strstr(svg, "#frames rect { stroke: rgb(0,0,0); stroke-width: 1; }"));
	cr_expect(!strstr(svg, "<script") && !strstr(svg, "onload") && !strstr(svg, ">Search<"),
		  "no script, no buttons");
	free(svg);

	/* 100 px for the one frame: (100 - 3) / (10 * 0.5) = 19 characters fit. */
	heed_flame_opts_init(&o);
	o.width = 120;
	o.font_size = 10;
	o.fontwidth = 0.5;
	svg = render_opts(&o, "abcdefghijklmnopqrstuvwxyz 1\n");
	cr_expect(strstr(svg, ">abcdefghijklmnopq..</text>"), "right truncation");
	free(svg);
	o.truncate_left = 1;
	svg = render_opts(&o, "abcdefghijklmnopqrstuvwxyz 1\n");
	cr_expect(strstr(svg, ">..jklmnopqrstuvwxyz</text>"), "left truncation");
	cr_expect(strstr(svg, "data-truncate=\"left\""));
	free(svg);

	heed_flame_opts_init(&o);
	o.on_error = on_err;
	o.error_ctx = m;
	o.notes = "a--b";
	cr_expect_eq(heed_flame_new(&o, &f), -EINVAL);
	o.notes = NULL;
	o.bgcolors = "pink";
	cr_expect_eq(heed_flame_new(&o, &f), -EINVAL);
	o.bgcolors = NULL;
	o.encoding = "UTF 8";
	cr_expect_eq(heed_flame_new(&o, &f), -EINVAL);
	o.encoding = NULL;
	o.stroke_color = "red;}";
	cr_expect_eq(heed_flame_new(&o, &f), -EINVAL);
	o.stroke_color = NULL;
	o.search_color = "rgb(300,0,0)";
	cr_expect_eq(heed_flame_new(&o, &f), -EINVAL);
	cr_expect(strstr(m->buf, "notes: no '<', '>' or \"--\""), "%s", m->buf);
	cr_expect(strstr(m->buf, "bgcolors: not yellow, blue, green, grey or #rrggbb ('pink')"),
		  "%s", m->buf);
	cr_expect(strstr(m->buf, "encoding: not a name"), "%s", m->buf);
	cr_expect(strstr(m->buf, "stroke color: not none"), "%s", m->buf);
	cr_expect(strstr(m->buf, "search color: not #rrggbb"), "%s", m->buf);
	cr_expect_null(f);
	free(m);
}
