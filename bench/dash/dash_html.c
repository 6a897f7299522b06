/*
 * dash_html.c - render the dashboard as one self-contained HTML page.
 *
 * Everything is inline: the stylesheet and script (bench/dash/dash.css and
 * dash.js, embedded at build time), and every chart as SVG drawn here. The
 * page reads nothing from the network; the only outside references are the
 * relative links to flame graph SVGs. Every string that came from a file is
 * HTML-escaped.
 */
#include "dash.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "dash_assets.h"
#include "json.h"
#include "units.h"

/* Escapes s; with code, `spans` become <code> (advice is written in Markdown). */
static void esc_text(FILE *f, const char *s, int code)
{
	int open = 0;

	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		case '`':
			if (code) {
				fputs(open ? "</code>" : "<code>", f);
				open = !open;
				break;
			}
			fputc(*s, f);
			break;
		default:
			fputc(*s, f);
		}
	}
	if (open)
		fputs("</code>", f);
}

static void esc(FILE *f, const char *s)
{
	esc_text(f, s, 0);
}

static const char *commit_id(const struct dash *d, long i)
{
	return i >= 0 ? d->commits[i].id : "";
}

static void head(const struct dash *d, FILE *f)
{
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	size_t count[HEED_VERDICT_COUNT] = {0};

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	for (size_t i = 0; i < d->nbenches; i++)
		count[d->benches[i].verdict]++;
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>heed performance dashboard</title>\n<style>\n",
	      f);
	fputs(dash_css, f);
	fputs("</style></head>\n<body>\n<header><h1>heed performance dashboard</h1>\n"
	      "<p class=\"meta\">",
	      f);
	if (d->newest >= 0) {
		fputs("commit <code id=\"newest\">", f);
		esc(f, commit_id(d, d->newest));
		fputs("</code> against baseline <code id=\"baseline\">", f);
		esc(f, d->baseline >= 0 ? commit_id(d, d->baseline) : "none");
		fprintf(f,
			"</code> &middot; %zu commits, %zu result files, %zu benchmarks &middot; ",
			d->ncommits, d->nfiles, d->nbenches);
	}
	fprintf(f, "noise threshold %.0f%% &middot; generated %s</p>\n", 100 * d->threshold, when);
	fputs("<nav><a href=\"#compare\">Baseline</a><a href=\"#trends\">Trends</a>"
	      "<a href=\"#ops\">Operations</a><a href=\"#flames\">Flame graphs</a>"
	      "<a href=\"#recs\">Recommendations</a></nav>\n",
	      f);
	fprintf(f,
		"<div class=\"summary\"><span class=\"chip slower\" id=\"n-slower\">%zu "
		"slower</span>"
		"<span class=\"chip faster\" id=\"n-faster\">%zu faster</span>"
		"<span class=\"chip same\" id=\"n-same\">%zu no change</span>"
		"<span class=\"chip none\">%zu without baseline</span></div>\n</header>\n<main>\n",
		count[HEED_VERDICT_REGRESSED], count[HEED_VERDICT_IMPROVED],
		d->nbenches - count[HEED_VERDICT_REGRESSED] - count[HEED_VERDICT_IMPROVED] -
			count[HEED_VERDICT_NONE],
		count[HEED_VERDICT_NONE]);
}

/* The page's three colours: regressed, improved, the rest. */
static const char *verdict_class(enum heed_verdict v)
{
	switch (v) {
	case HEED_VERDICT_IMPROVED:
		return "faster";
	case HEED_VERDICT_REGRESSED:
		return "slower";
	case HEED_VERDICT_NONE:
		return "none";
	default:
		return "same";
	}
}

static const char *verdict_mark(enum heed_verdict v)
{
	switch (v) {
	case HEED_VERDICT_IMPROVED:
		return "&#9660;";
	case HEED_VERDICT_REGRESSED:
		return "&#9650;";
	case HEED_VERDICT_NONE:
		return "&ndash;";
	default:
		return "&#9679;";
	}
}

static void compare_table(const struct dash *d, FILE *f)
{
	fputs("<section id=\"compare\"><h2>Against the baseline</h2>\n", f);
	if (d->nbenches == 0) {
		fputs("<p class=\"empty\">No benchmark results were given (--history).</p>"
		      "</section>\n",
		      f);
		return;
	}
	fputs("<p class=\"help\">Median cost per iteration (lower is better). Change is newest / "
	      "baseline &minus; 1 with its 95% interval; a change counts only when the interval "
	      "excludes zero and it exceeds the noise threshold.</p>\n"
	      "<input type=\"search\" id=\"filter\" placeholder=\"filter benchmarks\">\n"
	      "<table class=\"sortable\" id=\"compare-table\"><thead><tr>"
	      "<th data-type=\"text\">suite</th><th data-type=\"text\">benchmark</th>"
	      "<th data-type=\"num\">baseline</th><th data-type=\"num\">newest</th>"
	      "<th data-type=\"num\">change</th><th data-type=\"text\">95% interval</th>"
	      "<th data-type=\"text\">verdict</th><th data-type=\"num\">throughput</th>"
	      "</tr></thead><tbody>\n",
	      f);
	for (size_t i = 0; i < d->nbenches; i++) {
		const struct dash_bench *b = &d->benches[i];
		const struct dash_result *cur = b->at[d->newest];
		const struct dash_result *base = d->baseline >= 0 ? b->at[d->baseline] : NULL;
		char v[32];

		fprintf(f, "<tr class=\"%s\"><td>", verdict_class(b->verdict));
		esc(f, b->suite);
		fputs("</td><td class=\"name\">", f);
		esc(f, b->name);
		fputs("</td>", f);
		if (base) {
			heed_fmt_value(v, sizeof(v), base->value, b->unit);
			fprintf(f, "<td data-v=\"%.6g\">%s</td>", base->value, v);
		} else {
			fputs("<td data-v=\"-1\">&ndash;</td>", f);
		}
		if (cur) {
			heed_fmt_value(v, sizeof(v), cur->value, b->unit);
			fprintf(f, "<td data-v=\"%.6g\">%s</td>", cur->value, v);
		} else {
			fputs("<td data-v=\"-1\">&ndash;</td>", f);
		}
		if (b->verdict != HEED_VERDICT_NONE)
			fprintf(f,
				"<td data-v=\"%.6g\" class=\"num\">%+.1f%%</td>"
				"<td>[%+.1f%%, %+.1f%%]</td>",
				b->ratio - 1, 100 * (b->ratio - 1), 100 * (b->ratio_lo - 1),
				100 * (b->ratio_hi - 1));
		else
			fputs("<td data-v=\"0\">&ndash;</td><td>&ndash;</td>", f);
		fprintf(f, "<td class=\"verdict\">%s %s</td>", verdict_mark(b->verdict),
			heed_verdict_name(b->verdict));
		if (cur && cur->ops_per_s > 0) {
			heed_fmt_rate(v, sizeof(v), cur->ops_per_s, "op");
			fprintf(f, "<td data-v=\"%.6g\">%s</td></tr>\n", cur->ops_per_s, v);
		} else {
			fputs("<td data-v=\"0\">&ndash;</td></tr>\n", f);
		}
	}
	fputs("</tbody></table></section>\n", f);
}

/* One trend chart: the median per commit with its interval as a bar, the
 * baseline and newest points marked. Drawn at a fixed size; the y axis
 * spans the data (padded) so small changes are visible, and says so. */
static void trend_chart(const struct dash *d, const struct dash_bench *b, FILE *f)
{
	const double W = 360, H = 150, L = 62, R = 12, T = 12, B = 34;
	double lo = INFINITY, hi = -INFINITY, pad;
	size_t n = 0, drawn = 0;
	char v1[32], v2[32];

	for (size_t c = 0; c < d->ncommits; c++) {
		const struct dash_result *r = b->at[c];

		if (!r)
			continue;
		lo = fmin(lo, r->lo);
		hi = fmax(hi, r->hi);
		n++;
	}
	fputs("<figure class=\"trend\" data-name=\"", f);
	esc(f, b->suite);
	fputc('/', f);
	esc(f, b->name);
	fputs("\"><figcaption><span class=\"suite\">", f);
	esc(f, b->suite);
	fputs("</span> ", f);
	esc(f, b->name);
	fprintf(f, " <span class=\"mark %s\">%s %s</span></figcaption>\n",
		verdict_class(b->verdict), verdict_mark(b->verdict), heed_verdict_name(b->verdict));
	pad = (hi - lo) * 0.1;
	if (pad <= 0)
		pad = hi > 0 ? hi * 0.05 : 1;
	lo = fmax(0, lo - pad);
	hi += pad;
	fprintf(f,
		"<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
		"aria-label=\"trend of ",
		W, H, W, H);
	esc(f, b->name);
	fputs("\">\n", f);
	heed_fmt_value(v1, sizeof(v1), hi, b->unit);
	heed_fmt_value(v2, sizeof(v2), lo, b->unit);
	fprintf(f,
		"<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>"
		"<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>"
		"<line class=\"grid\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>"
		"<text class=\"tick\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>"
		"<text class=\"tick\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>\n",
		L, T, L, H - B, L, H - B, W - R, H - B, L, T, W - R, T, L - 4, T + 4, v1, L - 4,
		H - B, v2);
	if (n == 0) {
		fputs("</svg></figure>\n", f);
		return;
	}
	{
		double span = hi - lo,
		       dx = d->ncommits > 1 ? (W - L - R - 20) / (d->ncommits - 1) : 0;
		double x0 = d->ncommits > 1 ? L + 10 : (L + W - R) / 2;

		fputs("<polyline class=\"line\" points=\"", f);
		for (size_t c = 0; c < d->ncommits; c++) {
			const struct dash_result *r = b->at[c];

			if (r)
				fprintf(f, "%s%.1f,%.1f", drawn++ ? " " : "", x0 + dx * c,
					T + (hi - r->value) / span * (H - T - B));
		}
		fputs("\"/>\n", f);
		for (size_t c = 0; c < d->ncommits; c++) {
			const struct dash_result *r = b->at[c];
			double x = x0 + dx * c;
			const char *cls = (long)c == d->newest	   ? "pt newest"
					  : (long)c == d->baseline ? "pt base"
								   : "pt";

			if (!r)
				continue;
			heed_fmt_value(v1, sizeof(v1), r->value, b->unit);
			fprintf(f,
				"<line class=\"ci\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
				"y2=\"%.1f\"/>"
				"<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" data-tip=\"",
				x, T + (hi - r->hi) / span * (H - T - B), x,
				T + (hi - r->lo) / span * (H - T - B), cls, x,
				T + (hi - r->value) / span * (H - T - B));
			esc(f, d->commits[c].id);
			fprintf(f, ": %s\"><title>", v1);
			esc(f, d->commits[c].id);
			fprintf(f, ": %s</title></circle>\n", v1);
			/* label every commit when few, else the first, the newest and
			 * the baseline, each only where it does not overlap another
			 * (a label is about 50 px wide) */
			if (d->ncommits <= 6 || (long)c == d->newest ||
			    ((c == 0 || (long)c == d->baseline) &&
			     fabs(x - (x0 + dx * (double)d->newest)) >= 50 &&
			     (c == 0 || x - x0 >= 50))) {
				fprintf(f,
					"<text class=\"tick\" x=\"%.1f\" y=\"%.0f\" "
					"text-anchor=\"middle\">",
					x, H - B + 16);
				fprintf(f, "%.7s</text>\n", d->commits[c].id);
			}
		}
	}
	fputs("</svg></figure>\n", f);
}

static void trends(const struct dash *d, FILE *f)
{
	fputs("<section id=\"trends\"><h2>Trends across commits</h2>\n", f);
	if (d->nbenches == 0) {
		fputs("<p class=\"empty\">No history to chart.</p></section>\n", f);
		return;
	}
	fputs("<p class=\"help\">Median per commit, oldest to newest, with its 95% interval. "
	      "<span class=\"key base\">&#9679;</span> baseline "
	      "<span class=\"key newest\">&#9679;</span> newest. Hover a point for its "
	      "value.</p>\n<div class=\"grid\">\n",
	      f);
	for (size_t i = 0; i < d->nbenches; i++)
		trend_chart(d, &d->benches[i], f);
	fputs("</div></section>\n", f);
}

/* A bar from p50 to p99 with a tick at p90, on a log scale shared by the
 * whole table (lmin..lmax in log10 ns). */
static void op_bar(FILE *f, double p50, double p90, double p99, double lmin, double lmax)
{
	const double W = 220;
	double span = lmax > lmin ? lmax - lmin : 1;
	double x50 = (log10(fmax(p50, 1)) - lmin) / span * W;
	double x90 = (log10(fmax(p90, 1)) - lmin) / span * W;
	double x99 = (log10(fmax(p99, 1)) - lmin) / span * W;

	fprintf(f,
		"<svg class=\"opbar\" viewBox=\"0 0 %.0f 14\" width=\"%.0f\" height=\"14\">"
		"<rect class=\"track\" x=\"0\" y=\"5\" width=\"%.0f\" height=\"4\"/>"
		"<rect class=\"range\" x=\"%.1f\" y=\"3\" width=\"%.1f\" height=\"8\"/>"
		"<line class=\"p90\" x1=\"%.1f\" y1=\"1\" x2=\"%.1f\" y2=\"13\"/></svg>",
		W, W, W, x50, fmax(x99 - x50, 2), x90, x90);
}

static void ops_table(const char *title, const json_t *ops, FILE *f)
{
	double lmin = INFINITY, lmax = -INFINITY;
	const char *key;
	const json_t *o;

	json_object_foreach((json_t *)ops, key, o)
	{
		double p50 = heed_json_num(o, "p50_ns", 0), p99 = heed_json_num(o, "p99_ns", 0);

		if (p50 > 0)
			lmin = fmin(lmin, log10(p50));
		if (p99 > 0)
			lmax = fmax(lmax, log10(p99));
	}
	if (!isfinite(lmin) || !isfinite(lmax)) {
		lmin = 0;
		lmax = 1;
	}
	lmin = floor(lmin);
	lmax = ceil(lmax);
	fputs("<h3>", f);
	esc(f, title);
	fputs("</h3>\n<table class=\"ops\"><thead><tr><th>operation</th><th>count</th>"
	      "<th>errors</th><th>p50</th><th>p90</th><th>p99</th><th>p50 &ndash; p99 (log)</th>"
	      "</tr></thead><tbody>\n",
	      f);
	json_object_foreach((json_t *)ops, key, o)
	{
		double p50 = heed_json_num(o, "p50_ns", 0), p90 = heed_json_num(o, "p90_ns", 0);
		double p99 = heed_json_num(o, "p99_ns", 0);
		char a[32], b[32], c[32];

		heed_fmt_value(a, sizeof(a), p50, "ns");
		heed_fmt_value(b, sizeof(b), p90, "ns");
		heed_fmt_value(c, sizeof(c), p99, "ns");
		fputs("<tr><td class=\"name\">", f);
		esc(f, key);
		fprintf(f, "</td><td>%.0f</td><td>%.0f</td><td>%s</td><td>%s</td><td>%s</td><td>",
			heed_json_num(o, "count", 0), heed_json_num(o, "errors", 0), a, b, c);
		op_bar(f, p50, p90, p99, lmin, lmax);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

static void ops(const struct dash *d, FILE *f)
{
	size_t shown = 0;

	fputs("<section id=\"ops\"><h2>Per-operation latency</h2>\n", f);
	for (size_t i = 0; i < d->ntraces; i++) {
		const json_t *o = json_object_get(d->traces[i], "ops");
		const json_t *fn = json_object_get(d->traces[i], "funcs");
		char title[512];

		if (json_object_size(o)) {
			snprintf(title, sizeof(title), "%s: heed operations", d->trace_names[i]);
			ops_table(title, o, f);
			shown++;
		}
		if (json_object_size(fn)) {
			snprintf(title, sizeof(title), "%s: traced functions", d->trace_names[i]);
			ops_table(title, fn, f);
			shown++;
		}
	}
	if (!shown)
		fputs("<p class=\"empty\">No heed-trace --json results with operation histograms "
		      "(give --flame-dir with *.trace.json, or --trace FILE).</p>\n",
		      f);
	fputs("</section>\n", f);
}

static void flames(const struct dash *d, FILE *f)
{
	fputs("<section id=\"flames\"><h2>Flame graphs</h2>\n", f);
	if (d->nflames == 0) {
		fputs("<p class=\"empty\">No flame graphs (--flame-dir).</p></section>\n", f);
		return;
	}
	fputs("<p class=\"help\">Open one for the interactive graph (hover, click to zoom, "
	      "search).</p>\n<div class=\"flames\">\n",
	      f);
	for (size_t i = 0; i < d->nflames; i++) {
		const char *base = strrchr(d->flames[i], '/');

		fputs("<a class=\"flame\" href=\"", f);
		esc(f, d->flames[i]);
		fputs("\"><img alt=\"\" src=\"", f);
		esc(f, d->flames[i]);
		fputs("\"><span>", f);
		esc(f, base ? base + 1 : d->flames[i]);
		fputs("</span></a>\n", f);
	}
	fputs("</div></section>\n", f);
}

static void recs(const struct dash *d, FILE *f)
{
	const json_t *list = json_object_get(d->recs, "recommendations");
	const json_t *top = json_object_get(d->recs, "top"), *r, *t;
	size_t i;

	fputs("<section id=\"recs\"><h2>Recommendations</h2>\n", f);
	if (!d->recs) {
		fputs("<p class=\"empty\">No recommendations (run heed-profile and give "
		      "--recommendations DIR/recommendations.json).</p></section>\n",
		      f);
		return;
	}
	fprintf(f,
		"<p class=\"help\">From heed-profile: %.0f CPU samples over %.1f s of the "
		"benchmarks, build type <code>",
		heed_json_num(d->recs, "samples", 0), heed_json_num(d->recs, "duration_s", 0));
	esc(f, heed_json_str(d->recs, "build"));
	fputs("</code>.</p>\n", f);
	if (!json_array_size(list))
		fputs("<p class=\"empty\">No rule fired: no cost centre reached its "
		      "threshold.</p>\n",
		      f);
	json_array_foreach(list, i, r)
	{
		fprintf(f, "<article class=\"rec\"><div class=\"share\">%.0f%%</div><div><h3>",
			100 * heed_json_num(r, "share", 0));
		esc(f, heed_json_str(r, "title"));
		fputs(" <code>", f);
		esc(f, heed_json_str(r, "rule"));
		fputs("</code></h3><p class=\"advice\">", f);
		esc_text(f, heed_json_str(r, "advice"), 1);
		fputs("</p><p class=\"evidence\">Evidence: ", f);
		esc(f, heed_json_str(r, "evidence"));
		fputs("</p></div></article>\n", f);
	}
	if (json_array_size(top)) {
		double samples = heed_json_num(d->recs, "samples", 0);
		/* bars are scaled to the hottest function, so the ranking reads at a glance */
		double most = heed_json_num(json_array_get(top, 0), "self", 0);

		fputs("<h3>Hottest functions</h3><table class=\"top\"><thead><tr><th>function</th>"
		      "<th>self</th><th>total</th></tr></thead><tbody>\n",
		      f);
		json_array_foreach(top, i, t)
		{
			if (i == 15)
				break;
			double self = heed_json_num(t, "self", 0),
			       total = heed_json_num(t, "total", 0);

			fputs("<tr><td class=\"name\">", f);
			esc(f, heed_json_str(t, "name"));
			fprintf(f,
				"</td><td><span class=\"pbar\" "
				"style=\"width:%.0fpx\"></span>%.1f%%</td>"
				"<td>%.1f%%</td></tr>\n",
				most > 0 ? 120 * self / most : 0,
				samples > 0 ? 100 * self / samples : 0,
				samples > 0 ? 100 * total / samples : 0);
		}
		fputs("</tbody></table>\n", f);
	}
	fputs("</section>\n", f);
}

int dash_write_html(const struct dash *d, FILE *f)
{
	head(d, f);
	compare_table(d, f);
	trends(d, f);
	ops(d, f);
	flames(d, f);
	recs(d, f);
	fputs("</main>\n<div id=\"tip\" hidden></div>\n<script>\n", f);
	fputs(dash_js, f);
	fputs("</script>\n</body></html>\n", f);
	return ferror(f) ? -EIO : 0;
}
