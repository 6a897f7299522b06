/* heed-flame: folded stacks (files or stdin) to an interactive SVG flame graph.
 * Exit status: 0 written, 1 no valid input or an I/O error, 2 bad usage. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "parse.h"

static void print_err(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "heed-flame: %s\n", msg);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: heed-flame [options] [FILE...] > graph.svg\n"
		"       heed-flame --diff BEFORE AFTER [options] > diff.svg\n"
		"Reads folded stacks (\"frame;frame;...;frame COUNT\", or \"... BEFORE AFTER\" for "
		"a\n"
		"differential graph) from FILEs or stdin and writes an interactive SVG.\n"
		"  --title TEXT        title (default \"Flame Graph\", \"Icicle Graph\" inverted)\n"
		"  --subtitle TEXT     second title line\n"
		"  --width PX          image width (default 1200)\n"
		"  --height PX         frame height (default 16)\n"
		"  --fontsize PX       font size (default 12)\n"
		"  --minwidth PX|N%%    elide frames narrower than this (default 0.1 px)\n"
		"  --colors PALETTE    hot (default) mem io java js perl python rust wakeup\n"
		"                      chain red green blue aqua yellow purple orange\n"
		"  --hash              colours keyed on the name's first characters\n"
		"  --random            colours drawn at random each run\n"
		"  --deterministic     colours fixed per name (the default)\n"
		"  --cp                consistent colours: read and update ./palette.map\n"
		"  --bgcolors COLOR    yellow blue green grey or #rrggbb (default: the palette's)\n"
		"  --fonttype FONT     font family (default Verdana)\n"
		"  --fontwidth F       average glyph width / font size (default 0.59)\n"
		"  --nameattr FILE     per-function SVG attributes (name TAB key=value...)\n"
		"  --notes TEXT        a comment in the SVG\n"
		"  --encoding NAME     the XML declaration's encoding\n"
		"  --search-color C    search highlight (default rgb(230,0,230))\n"
		"  --stroke-color C    outline every frame (default none)\n"
		"  --truncate-text-right  long labels keep their start (default, flamegraph.pl)\n"
		"  --truncate-text-left   long labels keep their end (inferno's default)\n"
		"  --no-javascript     a static SVG, no script\n"
		"  --flamechart        flame chart: input order is the x axis, no sorting\n"
		"  --inverted          icicle graph (root at the top)\n"
		"  --reverse           reverse each stack before merging\n"
		"  --countname NAME    what a count is (default \"samples\")\n"
		"  --nametype TEXT     label of the details line (default \"Function:\")\n"
		"  --total N           widths relative to N samples when larger than the sum\n"
		"  --factor F          multiply every count by F\n"
		"  --diff BEFORE AFTER differential graph of two profiles (widths from AFTER)\n"
		"  --negate            differential: widths from BEFORE, hues swapped\n"
		"  --diff-subtree      differential: a frame's change is its subtree's (default:\n"
		"                      only stacks ending in it, as flamegraph.pl)\n"
		"  -n, --normalize     --diff: scale BEFORE to AFTER's total (difffolded.pl -n)\n"
		"  -s, --strip-hex     replace hex addresses by 0x... (difffolded.pl -s)\n"
		"  --write-merged FILE also write the merged stacks as folded lines\n"
		"  --input FORMAT      folded (default), perf-script (`perf script` text, read\n"
		"                      as stackcollapse-perf.pl), bpftrace (printed stack maps)\n"
		"  --pid --tid         perf-script: process frames comm-PID, comm-PID/TID\n"
		"  --kernel --jit      perf-script: annotate kernel _[k], JIT _[j] frames\n"
		"  --all               perf-script: --kernel and --jit\n"
		"  --addrs             perf-script: [dso <addr>] for unknown symbols\n"
		"  --event-filter EV   perf-script: keep event EV (default: the first seen)\n"
		"  --folded            write the merged stacks as folded lines, not an SVG\n"
		"  -o, --output FILE   write the SVG to FILE instead of stdout\n"
		"  -v, --verbose       report frame counts (drawn, elided) on stderr\n"
		"  -h, --help          this text\n");
}

enum {
	OPT_TITLE = 256,
	OPT_SUBTITLE,
	OPT_WIDTH,
	OPT_HEIGHT,
	OPT_FONTSIZE,
	OPT_MINWIDTH,
	OPT_COLORS,
	OPT_HASH,
	OPT_INVERTED,
	OPT_REVERSE,
	OPT_COUNTNAME,
	OPT_NAMETYPE,
	OPT_TOTAL,
	OPT_FACTOR,
	OPT_DIFF,
	OPT_NEGATE,
	OPT_MERGED,
	OPT_SUBTREE,
	OPT_INPUT,
	OPT_PID,
	OPT_TID,
	OPT_KERNEL,
	OPT_JIT,
	OPT_ALL,
	OPT_ADDRS,
	OPT_EVENT,
	OPT_FOLDED,
	OPT_RANDOM,
	OPT_DETERMINISTIC,
	OPT_CP,
	OPT_BGCOLORS,
	OPT_FONTTYPE,
	OPT_FONTWIDTH,
	OPT_NAMEATTR,
	OPT_NOTES,
	OPT_ENCODING,
	OPT_SEARCHCOLOR,
	OPT_STROKECOLOR,
	OPT_TRUNC_RIGHT,
	OPT_TRUNC_LEFT,
	OPT_NOJS,
	OPT_FLAMECHART,
};

#define PALETTE_MAP "palette.map"

/* --cp: the colours of ./palette.map, if it exists (flamegraph.pl's file). */
static int read_palette(heed_flame *f)
{
	FILE *in = fopen(PALETTE_MAP, "r");
	long n;

	if (!in) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "heed-flame: %s: %s\n", PALETTE_MAP, strerror(errno));
		return -1;
	}
	n = heed_flame_palette_read(f, in, PALETTE_MAP);
	fclose(in);
	return n < 0 ? -1 : 0;
}

/* Writes PATH with EMIT (the palette map, the merged stacks); -1 on a failure,
 * reported naming WHAT. */
static int write_file(heed_flame *f, const char *path, int (*emit)(heed_flame *, FILE *),
		      const char *what)
{
	FILE *out = fopen(path, "w");
	int err;

	if (!out) {
		fprintf(stderr, "heed-flame: %s: %s\n", path, strerror(errno));
		return -1;
	}
	err = emit(f, out);
	if (fclose(out) != 0 && !err)
		err = -EIO;
	if (err) {
		fprintf(stderr, "heed-flame: %s: cannot write %s: %s\n", path, what,
			strerror(-err));
		return -1;
	}
	return 0;
}

static int read_nameattr(heed_flame *f, const char *path)
{
	FILE *in = fopen(path, "r");
	long n;

	if (!in) {
		fprintf(stderr, "heed-flame: %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = heed_flame_nameattr_read(f, in, path);
	fclose(in);
	return n < 0 ? -1 : 0;
}

enum input_format { IN_FOLDED, IN_PERF, IN_BPFTRACE };

/* Reads one input ("-" is stdin) in the given format; < 0 on a failure (reported). */
static long read_input(heed_flame *f, const char *path, enum input_format fmt,
		       const struct heed_flame_perf_opts *po)
{
	FILE *in = stdin;
	const char *name = NULL;
	long ret;

	if (fmt == IN_FOLDED)
		return path ? heed_flame_parse_file(f, path)
			    : heed_flame_parse_stream(f, stdin, NULL);
	if (path && strcmp(path, "-") != 0) {
		in = fopen(path, "r");
		if (!in) {
			fprintf(stderr, "heed-flame: %s: %s\n", path, strerror(errno));
			return -1;
		}
		name = path;
	}
	ret = fmt == IN_PERF ? heed_flame_parse_perf(f, in, name, po)
			     : heed_flame_parse_bpftrace(f, in, name);
	if (in != stdin)
		fclose(in);
	return ret;
}

static int parse_num(const char *opt, const char *s, double *v)
{
	if (heed_parse_double(s, v) || *v < 0) {
		fprintf(stderr, "heed-flame: --%s: '%s' is not a non-negative number\n", opt, s);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"title", required_argument, NULL, OPT_TITLE},
		{"subtitle", required_argument, NULL, OPT_SUBTITLE},
		{"width", required_argument, NULL, OPT_WIDTH},
		{"height", required_argument, NULL, OPT_HEIGHT},
		{"fontsize", required_argument, NULL, OPT_FONTSIZE},
		{"minwidth", required_argument, NULL, OPT_MINWIDTH},
		{"colors", required_argument, NULL, OPT_COLORS},
		{"color", required_argument, NULL, OPT_COLORS},
		{"hash", no_argument, NULL, OPT_HASH},
		{"inverted", no_argument, NULL, OPT_INVERTED},
		{"reverse", no_argument, NULL, OPT_REVERSE},
		{"countname", required_argument, NULL, OPT_COUNTNAME},
		{"nametype", required_argument, NULL, OPT_NAMETYPE},
		{"total", required_argument, NULL, OPT_TOTAL},
		{"factor", required_argument, NULL, OPT_FACTOR},
		{"diff", no_argument, NULL, OPT_DIFF},
		{"negate", no_argument, NULL, OPT_NEGATE},
		{"write-merged", required_argument, NULL, OPT_MERGED},
		{"diff-subtree", no_argument, NULL, OPT_SUBTREE},
		{"normalize", no_argument, NULL, 'n'},
		{"strip-hex", no_argument, NULL, 's'},
		{"input", required_argument, NULL, OPT_INPUT},
		{"pid", no_argument, NULL, OPT_PID},
		{"tid", no_argument, NULL, OPT_TID},
		{"kernel", no_argument, NULL, OPT_KERNEL},
		{"jit", no_argument, NULL, OPT_JIT},
		{"all", no_argument, NULL, OPT_ALL},
		{"addrs", no_argument, NULL, OPT_ADDRS},
		{"event-filter", required_argument, NULL, OPT_EVENT},
		{"folded", no_argument, NULL, OPT_FOLDED},
		{"random", no_argument, NULL, OPT_RANDOM},
		{"deterministic", no_argument, NULL, OPT_DETERMINISTIC},
		{"cp", no_argument, NULL, OPT_CP},
		{"bgcolors", required_argument, NULL, OPT_BGCOLORS},
		{"fonttype", required_argument, NULL, OPT_FONTTYPE},
		{"fontwidth", required_argument, NULL, OPT_FONTWIDTH},
		{"nameattr", required_argument, NULL, OPT_NAMEATTR},
		{"notes", required_argument, NULL, OPT_NOTES},
		{"encoding", required_argument, NULL, OPT_ENCODING},
		{"search-color", required_argument, NULL, OPT_SEARCHCOLOR},
		{"stroke-color", required_argument, NULL, OPT_STROKECOLOR},
		{"truncate-text-right", no_argument, NULL, OPT_TRUNC_RIGHT},
		{"truncate-text-left", no_argument, NULL, OPT_TRUNC_LEFT},
		{"no-javascript", no_argument, NULL, OPT_NOJS},
		{"flamechart", no_argument, NULL, OPT_FLAMECHART},
		{"output", required_argument, NULL, 'o'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct heed_flame_opts o;
	struct heed_flame_stats st;
	heed_flame *f = NULL;
	const char *merged = NULL, *output = NULL, *nameattr = NULL;
	FILE *out = stdout;
	int diff = 0, verbose = 0, folded = 0, perf_only = 0, c, li = 0, err, ret = 1;
	enum input_format fmt = IN_FOLDED;
	struct heed_flame_perf_opts po = {0};
	double v, minpct = -1;

	heed_flame_opts_init(&o);
	o.on_error = print_err;
	while ((c = getopt_long(argc, argv, "o:vhns", longopts, &li)) != -1) {
		switch (c) {
		case OPT_TITLE:
			o.title = optarg;
			break;
		case OPT_SUBTITLE:
			o.subtitle = optarg;
			break;
		case OPT_MINWIDTH:
			/* "N%" is a share of the graph's width, as flamegraph.pl takes it. */
			if (optarg[0] && optarg[strlen(optarg) - 1] == '%') {
				char num[64];

				snprintf(num, sizeof(num), "%.*s", (int)strlen(optarg) - 1, optarg);
				if (parse_num(longopts[li].name, num, &minpct) || minpct > 100)
					return 2;
				break;
			}
			minpct = -1;
			/* fall through */
		case OPT_WIDTH:
		case OPT_HEIGHT:
		case OPT_FONTSIZE:
		case OPT_TOTAL:
		case OPT_FACTOR:
			if (parse_num(longopts[li].name, optarg, &v))
				return 2;
			if ((c == OPT_WIDTH || c == OPT_HEIGHT || c == OPT_FONTSIZE ||
			     c == OPT_FACTOR) &&
			    v == 0) {
				fprintf(stderr, "heed-flame: a width, height, font size or factor "
						"must be above 0\n");
				return 2;
			}
			if (c == OPT_WIDTH)
				o.width = v;
			else if (c == OPT_HEIGHT)
				o.frame_height = v;
			else if (c == OPT_FONTSIZE)
				o.font_size = v;
			else if (c == OPT_MINWIDTH)
				o.minwidth = v;
			else if (c == OPT_TOTAL)
				o.total = v;
			else
				o.factor = v;
			break;
		case OPT_COLORS:
			if (heed_flame_palette_parse(optarg, &o.palette)) {
				fprintf(stderr, "heed-flame: --colors: unknown palette '%s'\n",
					optarg);
				return 2;
			}
			break;
		case OPT_HASH:
			o.hash = 1;
			break;
		case OPT_INVERTED:
			o.inverted = 1;
			break;
		case OPT_REVERSE:
			o.reverse = 1;
			break;
		case OPT_COUNTNAME:
			o.countname = optarg;
			break;
		case OPT_NAMETYPE:
			o.nametype = optarg;
			break;
		case OPT_DIFF:
			diff = 1;
			break;
		case OPT_NEGATE:
			o.negate = 1;
			break;
		case OPT_MERGED:
			merged = optarg;
			break;
		case OPT_SUBTREE:
			o.diff_subtree = 1;
			break;
		case 'n':
			o.diff_normalize = 1;
			break;
		case OPT_INPUT:
			if (strcmp(optarg, "folded") == 0) {
				fmt = IN_FOLDED;
			} else if (strcmp(optarg, "perf-script") == 0 ||
				   strcmp(optarg, "perf") == 0) {
				fmt = IN_PERF;
			} else if (strcmp(optarg, "bpftrace") == 0) {
				fmt = IN_BPFTRACE;
			} else {
				fprintf(stderr,
					"heed-flame: --input: unknown format '%s' (folded, "
					"perf-script, bpftrace)\n",
					optarg);
				return 2;
			}
			break;
		case OPT_PID:
			po.pid = perf_only = 1;
			break;
		case OPT_TID:
			po.tid = perf_only = 1;
			break;
		case OPT_KERNEL:
			po.kernel = perf_only = 1;
			break;
		case OPT_JIT:
			po.jit = perf_only = 1;
			break;
		case OPT_ALL:
			po.kernel = po.jit = perf_only = 1;
			break;
		case OPT_ADDRS:
			po.addrs = perf_only = 1;
			break;
		case OPT_EVENT:
			po.event = optarg;
			perf_only = 1;
			break;
		case OPT_FOLDED:
			folded = 1;
			break;
		case OPT_RANDOM:
			o.random = 1;
			break;
		case OPT_DETERMINISTIC:
			o.random = 0;
			break;
		case OPT_CP:
			o.consistent = 1;
			break;
		case OPT_BGCOLORS:
			o.bgcolors = optarg;
			break;
		case OPT_FONTTYPE:
			o.fonttype = optarg;
			break;
		case OPT_FONTWIDTH:
			if (parse_num(longopts[li].name, optarg, &o.fontwidth))
				return 2;
			if (o.fontwidth == 0) {
				fprintf(stderr, "heed-flame: --fontwidth must be above 0\n");
				return 2;
			}
			break;
		case OPT_NAMEATTR:
			nameattr = optarg;
			break;
		case OPT_NOTES:
			o.notes = optarg;
			break;
		case OPT_ENCODING:
			o.encoding = optarg;
			break;
		case OPT_SEARCHCOLOR:
			o.search_color = optarg;
			break;
		case OPT_STROKECOLOR:
			o.stroke_color = optarg;
			break;
		case OPT_TRUNC_RIGHT:
			o.truncate_left = 0;
			break;
		case OPT_TRUNC_LEFT:
			o.truncate_left = 1;
			break;
		case OPT_NOJS:
			o.no_javascript = 1;
			break;
		case OPT_FLAMECHART:
			o.flamechart = 1;
			break;
		case 's':
			o.strip_hex = 1;
			break;
		case 'o':
			output = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (diff && argc - optind != 2) {
		fprintf(stderr, "heed-flame: --diff needs two files, BEFORE and AFTER\n");
		return 2;
	}
	if (o.diff_normalize && !diff) {
		fprintf(stderr, "heed-flame: --normalize needs --diff BEFORE AFTER\n");
		return 2;
	}
	if (perf_only && fmt != IN_PERF) {
		fprintf(stderr, "heed-flame: --pid, --tid, --kernel, --jit, --all, --addrs and "
				"--event-filter need --input perf-script\n");
		return 2;
	}
	if (diff && fmt != IN_FOLDED) {
		fprintf(stderr, "heed-flame: --diff reads folded files (fold each profile with "
				"--folded first)\n");
		return 2;
	}
	if (minpct >= 0)
		o.minwidth = minpct / 100 * ((o.width > 0 ? o.width : 1200) - 20);
	err = heed_flame_new(&o, &f);
	if (err == -EINVAL)
		return 2; /* the option at fault was named through print_err */
	if (err) {
		fprintf(stderr, "heed-flame: cannot set up the graph: %s\n", strerror(-err));
		return 1;
	}
	if ((o.consistent && read_palette(f)) || (nameattr && read_nameattr(f, nameattr)))
		goto cleanup;
	if (diff) {
		/* Widths come from the second profile: --negate swaps the files so BEFORE
		 * gives the widths, and the swapped hues keep red meaning "grew". */
		const char *before = argv[optind], *after = argv[optind + 1];

		err = o.negate ? heed_flame_parse_diff(f, after, before)
			       : heed_flame_parse_diff(f, before, after);
		if (err)
			goto cleanup;
	} else if (optind == argc) {
		if (read_input(f, NULL, fmt, &po) < 0)
			goto cleanup;
	} else {
		for (int i = optind; i < argc; i++) {
			if (read_input(f, argv[i], fmt, &po) < 0)
				goto cleanup;
		}
	}
	heed_flame_stats(f, &st);
	if (st.lines == 0) {
		fprintf(stderr, "heed-flame: no %s in the input (%lu malformed)\n",
			fmt == IN_FOLDED ? "valid folded line"
			: fmt == IN_PERF ? "sample with a stack"
					 : "map entry with a count",
			st.bad);
		goto cleanup;
	}
	if (merged && write_file(f, merged, heed_flame_write_folded, "the merged stacks"))
		goto cleanup;
	if (output) {
		out = fopen(output, "w");
		if (!out) {
			fprintf(stderr, "heed-flame: %s: %s\n", output, strerror(errno));
			goto cleanup;
		}
	}
	err = folded ? heed_flame_write_folded(f, out) : heed_flame_write_svg(f, out);
	if (output && fclose(out) != 0 && !err)
		err = -EIO;
	if (err) {
		fprintf(stderr, "heed-flame: %s: cannot write the %s: %s\n",
			output ? output : "<stdout>", folded ? "folded stacks" : "SVG",
			strerror(-err));
		goto cleanup;
	}
	if (o.consistent && !folded &&
	    write_file(f, PALETTE_MAP, heed_flame_palette_write, "the palette map"))
		goto cleanup;
	if (verbose)
		fprintf(stderr,
			"heed-flame: %lu lines (%lu malformed), %.15g %s, %zu frames: %zu drawn, "
			"%zu elided (narrower than %g px), depth %u\n",
			st.lines, st.bad, st.total, o.countname ? o.countname : "samples",
			st.frames, st.drawn, st.elided, o.minwidth < 0 ? 0.1 : o.minwidth,
			st.depth);
	ret = 0;
cleanup:
	heed_flame_free(f);
	return ret;
}
