/* flame.h - folded stacks to interactive SVG flame graphs (libflame).
 *
 * The contract of libflame, which heed-flame, heed-trace (--flame) and heed-dash use.
 *
 * Input is the folded format that flamegraph.pl reads, one stack per line:
 *
 *     root;child;...;leaf COUNT            a profile
 *     root;child;...;leaf COUNT1 COUNT2    a differential profile (before, after)
 *
 * Frames are any bytes but ';' and newline (spaces included). Counts are decimal,
 * fractional allowed ("12", "0.5"); empty frames at the end of a stack are dropped
 * (as Perl's split drops them for flamegraph.pl). A frame may end in one of the annotations
 * "_[k]" (kernel), "_[i]" (inlined), "_[j]" (JIT) or "_[w]" (waker), which pick its
 * colour as flamegraph.pl does. Identical stacks merge (counts add).
 *
 * Layout, as flamegraph.pl draws it (it sorts the lines, then merges neighbours): one
 * root frame "all" at depth 0 spans every sample; a frame's own samples (those in no
 * child) come first, then its children on the next level, in bytewise name order with
 * each name compared as if followed by ';' (so "a" sorts after "a!" and before "ab",
 * as in sorted folded lines); each starts where the previous one ends, so x positions
 * are cumulative samples. In a differential graph widths are the
 * second count (AFTER) and colours show the delta (red grew, blue shrank): by default,
 * as flamegraph.pl, only of the stacks ending in a frame (see opts.diff_subtree).
 *
 * The count follows one blank; more blanks belong to the stack ("a;  3" ends in a
 * frame named " "), as flamegraph.pl's line regex reads it. A line of no frame (" 3",
 * ";; 3") holds samples of no stack: they widen "all" alone, left of every frame, and
 * stay a line " 3" in folded output, as flamegraph.pl counts them.
 *
 * Errors: functions return 0 or a negative errno. The library never prints;
 * messages (a sentence naming the file, line and cause) go to the error callback of
 * the options, if any. Nothing here is thread-safe on one handle; separate handles
 * are independent.
 */
#ifndef HEED_FLAME_H
#define HEED_FLAME_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct heed_flame heed_flame;

/* Colour schemes, named as flamegraph.pl's --colors. */
enum heed_flame_palette {
	HEED_FLAME_HOT = 0, /* default: reds to yellows */
	HEED_FLAME_MEM,	    /* greens */
	HEED_FLAME_IO,	    /* blues */
	HEED_FLAME_JAVA,    /* by annotation and name: JIT green, inline aqua, kernel orange,
			       C++ yellow, other red */
	HEED_FLAME_WAKEUP,  /* aqua */
	HEED_FLAME_RED,
	HEED_FLAME_GREEN,
	HEED_FLAME_BLUE,
	HEED_FLAME_AQUA,
	HEED_FLAME_YELLOW,
	HEED_FLAME_PURPLE,
	HEED_FLAME_ORANGE,
	HEED_FLAME_JS,	   /* flamegraph.pl's: JIT green (path) or aqua, C++ yellow, ".js" paths
			      green, builtins (':') aqua, kernel orange, other red */
	HEED_FLAME_PERL,   /* C++ yellow, Perl green, kernel orange, other red */
	HEED_FLAME_CHAIN,  /* chain graphs: frames after the first "--" are wakers (aqua,
			      annotated "_[w]" as flamegraph.pl does), others blue */
	HEED_FLAME_PYTHON, /* inferno's: site-packages aqua, the standard library yellow,
			      other red */
	HEED_FLAME_RUST,   /* inferno's: core/std/alloc orange, other "::" aqua, other
			      yellow */
};

/* Receives one message per problem: a malformed line (which is skipped) or a
 * failure. msg is valid only during the call. */
typedef void (*heed_flame_error_fn)(void *ctx, const char *msg);

struct heed_flame_opts {
	const char *title;     /* NULL: "Flame Graph" ("Icicle Graph" when inverted) */
	const char *subtitle;  /* NULL: none */
	const char *countname; /* NULL: "samples" */
	const char *nametype;  /* NULL: "Function:" */
	double width;	       /* image width in px; 0: 1200 */
	double frame_height;   /* px per level; 0: 16 */
	double font_size;      /* px; 0: 12 */
	double minwidth;       /* frames narrower than this (px) are elided; < 0: 0.1 */
	double factor;	       /* every count is multiplied by this; 0: 1 */
	double total;	       /* when larger than the sum of counts, widths are relative to
				  it (to compare graphs); 0: the sum */
	enum heed_flame_palette palette;
	int hash;		 /* colours from the name only, weighting its first characters, so
				    a function keeps its hue across graphs; otherwise each name still
				    gets a fixed colour, only less related to similar names */
	int inverted;		 /* icicle: root at the top, stacks grow down */
	int reverse;		 /* reverse each stack (leaf first) before merging */
	int negate;		 /* differential: swap red and blue, and the sign of deltas shown */
	int diff_subtree;	 /* differential: a frame's delta is its whole subtree's change;
				    default (flamegraph.pl): only the samples of stacks ending
				    in it (its self samples), so parents show 0 and are white */
	int diff_normalize;	 /* parse_diff: scale each BEFORE count to int(count * total
				    AFTER / total BEFORE), as difffolded.pl -n */
	int strip_hex;		 /* folded lines: "0x" and the hex digits after it become
				    "0x...", as difffolded.pl -s */
	int flamechart;		 /* flame chart: no sorting, input order is the x axis, only
				    consecutive lines merge their common frames; title "Flame Chart" */
	int random;		 /* colours drawn at random per frame (seeded by seed) */
	unsigned long long seed; /* random: the same seed gives the same colours; 0:
				    from the clock */
	int consistent;		 /* --cp: colours from the palette read with
				    heed_flame_palette_read, new names added to it */
	const char *bgcolors;	 /* NULL: the palette's ("yellow" for hot, java, js, perl;
				    "blue" for io, wakeup, chain; "green" for mem; "grey" for
				    the flat ones); "yellow", "blue", "green", "grey" or "#rrggbb" */
	const char *fonttype;	 /* NULL: "Verdana" */
	double fontwidth;	 /* average glyph width / font size; 0: 0.59 */
	const char *notes;	 /* a comment in the SVG; no '<', '>' or "--" */
	const char *encoding;	 /* the XML declaration's encoding ([A-Za-z][A-Za-z0-9._-]*) */
	const char *search_color;     /* search highlight: "#rrggbb", "rgb(r,g,b)" or a colour
					 name; NULL: rgb(230,0,230) */
	const char *stroke_color;     /* outline of every frame, same forms; NULL or "none":
					 none */
	int truncate_left;	      /* labels too long keep their end ("..name"); default: their
					 start ("na..", flamegraph.pl's) */
	int no_javascript;	      /* a static SVG: no script, no interactivity */
	heed_flame_error_fn on_error; /* NULL: messages are dropped */
	void *error_ctx;
};

/* Fills *o with the defaults above (all zero/NULL, minwidth -1). */
void heed_flame_opts_init(struct heed_flame_opts *o);

/* Creates an empty flame graph. o may be NULL (defaults); the strings it points to
 * are copied. Returns 0, -EINVAL (width, frame_height, factor, total or fontwidth
 * negative or not finite, palette unknown, bgcolors, a colour, notes or encoding
 * not of the forms above; reported) or -ENOMEM. The caller frees *out with
 * heed_flame_free. */
int heed_flame_new(const struct heed_flame_opts *o, heed_flame **out);

/* Frees everything; NULL is allowed. */
void heed_flame_free(heed_flame *f);

/* Adds one stack of n frames, root first (leaf first with opts.reverse), with the
 * counts before and after: for an ordinary profile pass after < 0 (the stack counts
 * `before` samples); with after >= 0 the graph becomes differential (the stack is
 * `after` samples wide, coloured by after - before). Frames are bytes of the given
 * lengths (no ';' or '\n'; any other byte is kept and escaped on output); len NULL
 * or len[i] == (size_t)-1 means frames[i] is NUL-terminated. n == 0 adds the samples
 * to "all". Returns 0, -EINVAL (negative or not finite count, n > 0 with frames NULL,
 * a frame containing ';' or '\n', a differential count added to a graph that already
 * has ordinary ones or the reverse) or -ENOMEM. */
int heed_flame_add_stack(heed_flame *f, const char *const *frames, const size_t *len, size_t n,
			 double before, double after);

/* Adds one folded line (without or with its trailing newline) as heed-flame reads it.
 * Returns 0, -EINVAL if the line is malformed (nothing is added; the message names
 * `file`:`lineno`, or just the line number when file is NULL) or -ENOMEM. Blank lines
 * return 0 and add nothing. */
int heed_flame_add_line(heed_flame *f, const char *line, size_t len, const char *file,
			unsigned long lineno);

/* Reads folded lines from a stream until EOF. Malformed lines are reported through
 * the error callback (named `name`:LINE; name NULL means "<stdin>") and skipped.
 * Returns the number of valid lines added (>= 0), -EIO on a read error or -ENOMEM. */
long heed_flame_parse_stream(heed_flame *f, FILE *in, const char *name);

/* Opens path ("-" is stdin) and parses it as heed_flame_parse_stream. Returns the
 * number of valid lines, or a negative errno of open/read (the message names the
 * path and the cause) or -ENOMEM. */
long heed_flame_parse_file(heed_flame *f, const char *path);

/* Reads two profiles and adds each stack as a differential line: counts from BEFORE
 * and AFTER (0 where a stack is absent on one side), as difffolded.pl merges them.
 * Returns 0, the negative errno of parse_file, -ENODATA if both files hold no valid
 * line, -EINVAL if the graph already holds one-count stacks (each reported) or
 * -ENOMEM. */
int heed_flame_parse_diff(heed_flame *f, const char *before, const char *after);

/* What stackcollapse-perf.pl's options change, for heed_flame_parse_perf. */
struct heed_flame_perf_opts {
	int pid;	   /* process name frame "comm-PID" (--pid) */
	int tid;	   /* "comm-PID/TID" (--tid) */
	int kernel;	   /* append "_[k]" to kernel frames (dso "[...]" or "...vmlinux") */
	int jit;	   /* append "_[j]" to frames of /tmp/perf-PID.map */
	int addrs;	   /* "[dso <addr>]" instead of "[dso]" for unknown symbols */
	const char *event; /* keep only samples of this event; NULL: the first one seen */
};

/* Reads `perf script` text (stacks recorded with -g) and adds each sample as
 * `perf script | stackcollapse-perf.pl` would fold it: the process name (comm, blanks
 * as '_') as the root frame, then the frames root first; the count is the sample's
 * period (1 when absent); symbols lose their "+0x..." offset and "(...)" arguments
 * (not Go's "pkg.(*T).M" nor "(anonymous namespace)"), ';' becomes ':' and quotes are
 * dropped; "[unknown]" becomes "[dso file name]" ("[unknown]" when the dso is unknown
 * too); "a->b" (inlined, older perf) is two frames, the second with "_[i]"; a "java"
 * process's "Lpkg/Cls" loses the 'L'; only the first event type is kept (or
 * po->event). po may be NULL. Lines it cannot read are reported (name:LINE) and
 * skipped, and a last sample without its closing blank line is not counted, as the
 * script does. Not supported: the script's --inline/--context (addr2line) and
 * --srcline. Returns the number of samples added, -EIO on a read error (reported),
 * -EINVAL (a differential graph) or -ENOMEM. */
long heed_flame_parse_perf(heed_flame *f, FILE *in, const char *name,
			   const struct heed_flame_perf_opts *po);

/* Reads bpftrace's printed maps: each entry "@name[key]: COUNT" whose key holds
 * stacks (ustack, kstack: one frame a line, leaf first; stacks separated by a line
 * starting with ',') and values (comm, pid: frames in the key's order) is one stack,
 * key parts in order, each stack root first: @[ustack, kstack] gives the user frames
 * then the kernel frames above them. Offsets ("+123", "+0x7b") are dropped so one
 * function is one frame; perf-mode frames ("addr sym+0x7b (dso)") keep the symbol.
 * Other lines are ignored; an entry without an integer count is reported and
 * skipped. Returns the number of entries added, -EIO, -EINVAL or -ENOMEM. */
long heed_flame_parse_bpftrace(heed_flame *f, FILE *in, const char *name);

/* Reads a palette map as flamegraph.pl --cp writes it, "name->rgb(R,G,B)" a line: with
 * opts.consistent those names keep these colours. Returns the number of entries,
 * -EINVAL on a malformed line (reported as name:LINE; nothing after it is read),
 * -EIO or -ENOMEM. */
long heed_flame_palette_read(heed_flame *f, FILE *in, const char *name);

/* Writes the palette map: the entries read and the colour of every frame drawn by
 * heed_flame_write_svg with opts.consistent, sorted by name. 0, -EIO or -ENOMEM. */
int heed_flame_palette_write(heed_flame *f, FILE *out);

/* Reads flamegraph.pl's --nameattr file: "name<TAB>key=value<TAB>key=value..." a
 * line; frames of that name get the attributes: id, class, title (replaces the
 * tooltip), href and target (the frame becomes a link). Other keys are reported and
 * ignored. Returns the number of lines read, -EINVAL on a line without a tab
 * (reported), -EIO or -ENOMEM. */
long heed_flame_nameattr_read(heed_flame *f, FILE *in, const char *name);

/* Writes the merged stacks as folded lines, children in layout order: "stack COUNT"
 * or, for a differential graph, "stack BEFORE AFTER". Returns 0, -ENODATA if the
 * graph is empty, or -EIO on a write error. */
int heed_flame_write_folded(heed_flame *f, FILE *out);

/* Writes one self-contained interactive SVG (inline script, no network). Returns 0,
 * -ENODATA if no sample was added (reported), -EIO on a write error or -ENOMEM. */
int heed_flame_write_svg(heed_flame *f, FILE *out);

/* One frame of the layout, as heed_flame_foreach reports it. */
struct heed_flame_frame {
	const char *name; /* as added (not escaped); NUL-terminated; "all" for the root */
	size_t name_len;
	unsigned int depth; /* 0 for the root */
	double x;	    /* left edge, in samples from the left of the graph */
	double width;	    /* in samples (the AFTER count for a differential graph) */
	double self;	    /* samples in no child */
	double before;	    /* differential only: BEFORE samples; else equals width */
	double delta;	    /* differential only: the change the graph shows: AFTER - BEFORE
			       of the frame's self samples (0 for the root), or of its
			       subtree (width - before) with opts.diff_subtree; else 0 */
	int elided;	    /* narrower than minwidth: not drawn in the SVG */
};

/* Calls fn for every frame, parents before children, siblings left to right; stops
 * and returns fn's value when it is non-zero. Returns 0 or -ENODATA if empty. */
int heed_flame_foreach(heed_flame *f, int (*fn)(const struct heed_flame_frame *fr, void *ctx),
		       void *ctx);

struct heed_flame_stats {
	double total;	     /* samples in the graph (width of "all") */
	unsigned long lines; /* valid lines added */
	unsigned long bad;   /* malformed lines skipped */
	size_t frames;	     /* distinct frames in the merged tree, root included */
	size_t drawn;	     /* frames at least minwidth wide */
	size_t elided;	     /* frames narrower than minwidth (not drawn) */
	unsigned int depth;  /* deepest level */
	int differential;    /* 1 for a two-count graph */
};

/* Fills *st. drawn/elided follow the options' width and minwidth. */
void heed_flame_stats(heed_flame *f, struct heed_flame_stats *st);

/* Parses a --colors name; returns 0 and sets *p, or -EINVAL. */
int heed_flame_palette_parse(const char *name, enum heed_flame_palette *p);

#ifdef __cplusplus
}
#endif

#endif /* HEED_FLAME_H */
