/*
 * dash.h - heed-dash's model: the results history, the baseline comparison,
 * and the page built from them.
 *
 * History layout (what ci/run-perf-suite.sh stores): one bench results file
 * per commit and suite, DIR/<commit>-<suite>.json, in the harness's
 * "heed-bench" JSON schema (bench/README.md). A commit id has no '-', so the
 * suite is everything after the first '-'. Commits are ordered by the time
 * their results were written (the document's "timestamp", else the file's
 * mtime), oldest first.
 *
 * The comparison is newest commit against the baseline (--baseline NAME, a
 * commit id or its prefix, or a baseline saved by the harness's
 * --save-baseline NAME; default the commit before the newest). For each
 * benchmark present in both, ratio = newest / baseline of the per-iteration
 * cost (time or instructions; lower is better) with a 95% interval: from the
 * raw samples by bootstrap when both sides have them, else the conservative
 * [lo_new / hi_base, hi_new / lo_base] from the two stored intervals;
 * instruction counts do not vary, so their ratio is exact. The verdict is
 * util/verdict.h's with the noise threshold; the page shows regressed cases
 * as "slower", improved ones as "faster", the others as "no change".
 *
 * Every function returns 0 or a negative errno; -EINVAL comes with a sentence
 * naming the file and the cause in err. Nothing prints.
 */
#ifndef HEED_DASH_H
#define HEED_DASH_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "verdict.h"
struct dash_pending;

struct dash_result {
	double value;	 /* per-iteration cost: ns (time) or instructions (icount) */
	double lo, hi;	 /* its 95% interval as stored (lo == hi == value if none) */
	double *samples; /* per-iteration samples, owned; NULL if not stored */
	size_t nsamples;
	double ops_per_s; /* throughput, 0 when not stored */
};

struct dash_bench {
	char *suite;
	char *name;
	char *unit;		   /* "ns" or "instr" */
	struct dash_result **at;   /* per commit (dash.commits order); NULL = absent */
	enum heed_verdict verdict; /* NONE: no baseline value to compare with */
	double ratio, ratio_lo, ratio_hi;
};

struct dash_commit {
	char *id;
	double time; /* seconds since the epoch */
	int saved;   /* a baseline saved by the harness, not a commit */
};

struct dash {
	struct dash_commit *commits; /* oldest first */
	size_t ncommits;
	struct dash_bench *benches; /* by suite, then name */
	size_t nbenches;
	size_t nfiles;
	long newest;	  /* index into commits, -1 when empty */
	long baseline;	  /* index into commits, -1 when none */
	double threshold; /* noise threshold, fraction (0.02 = 2%) */
	json_t **traces;  /* heed-trace --json documents */
	char **trace_names;
	size_t ntraces;
	json_t *recs;  /* heed-profile recommendations.json, or NULL */
	char **flames; /* flame graph hrefs, relative to the page */
	size_t nflames;
	/* results read but not yet laid out by commit (dash_model.c) */
	struct dash_pending *pending;
	size_t npending;
};

/* Loads every DIR/<commit>-<suite>.json. */
int dash_load_history(struct dash *d, const char *dir, char *err, size_t errlen);

/* Makes NAME comparable: nothing when it is (a prefix of) a commit of the
 * history, else loads the harness's saved baseline DIR/NAME/<suite>.json
 * (--save-baseline NAME) as a pseudo-commit named NAME. */
int dash_load_baseline(struct dash *d, const char *dir, const char *name, char *err, size_t errlen);

/* Picks newest and baseline (NAME may be NULL) and compares every benchmark. */
int dash_compare(struct dash *d, const char *baseline, char *err, size_t errlen);

/* Adds a heed-trace --json file for the per-operation breakdown. */
int dash_add_trace(struct dash *d, const char *path, char *err, size_t errlen);

/* Reads heed-profile's recommendations.json. */
int dash_load_recs(struct dash *d, const char *path, char *err, size_t errlen);

/* Adds every *.svg of dir, linked relative to the directory of out_path, and
 * every *.trace.json of dir as a trace. */
int dash_scan_flames(struct dash *d, const char *dir, const char *out_path, char *err,
		     size_t errlen);

/* Writes the page. -EIO when the stream fails. */
int dash_write_html(const struct dash *d, FILE *f);

void dash_free(struct dash *d);

#endif
