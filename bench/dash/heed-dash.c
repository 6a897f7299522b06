/*
 * heed-dash - one self-contained HTML page from the stored benchmark results:
 * metrics against the baseline with significance marks, a trend chart per
 * benchmark, per-operation latency from heed-trace, flame graph links and
 * heed-profile's recommendations.
 *
 * The page is written to OUT.tmp and renamed over OUT only when complete, so
 * a failure never leaves a half page (or destroys the previous one).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dash.h"
#include "parse.h"

static void usage(FILE *f)
{
	fputs("usage: heed-dash [--history DIR] [--baseline NAME] [--baseline-dir DIR]\n"
	      "                 [--threshold PCT] [--flame-dir DIR] [--trace FILE]...\n"
	      "                 [--recommendations FILE]\n"
	      "                 -o OUT.html\n"
	      "  --history DIR          results history: DIR/<commit>-<suite>.json (heed-bench)\n"
	      "  --baseline NAME        compare the newest commit with this one: a commit id\n"
	      "                         (or prefix) of the history, else a baseline saved with\n"
	      "                         the suites' --save-baseline NAME (default: the commit\n"
	      "                         before the newest)\n"
	      "  --baseline-dir DIR     saved baselines (default: HISTORY/../baselines)\n"
	      "  --threshold PCT        changes smaller than this are noise (default: the\n"
	      "                         harness's --noise recorded in the results, else 5)\n"
	      "  --flame-dir DIR        link DIR/*.svg and read DIR/*.trace.json (heed-profile "
	      "--out)\n"
	      "  --trace FILE           a heed-trace --json file for the per-operation table\n"
	      "  --recommendations FILE heed-profile's recommendations.json\n"
	      "  -o OUT.html            the page to write\n",
	      f);
}

/* The harness keeps saved baselines beside the history:
 * build/perf-results/{history,baselines}. */
static const char *default_bdir(const char *history, char *buf, size_t len)
{
	snprintf(buf, len, "%s/../baselines", history);
	return buf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"history", required_argument, NULL, 'H'},
		{"baseline", required_argument, NULL, 'b'},
		{"baseline-dir", required_argument, NULL, 'B'},
		{"threshold", required_argument, NULL, 't'},
		{"flame-dir", required_argument, NULL, 'f'},
		{"trace", required_argument, NULL, 'T'},
		{"recommendations", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *history = NULL, *baseline = NULL, *flame_dir = NULL, *recs = NULL;
	const char *out = NULL, *baseline_dir = NULL;
	char **trace = calloc((size_t)argc, sizeof(*trace));
	size_t ntrace = 0;
	struct dash d = {0};
	char err[1024] = "", tmp[4096], bdir[4096];
	FILE *f = NULL;
	double pct;
	int c, rc = 0;

	if (!trace) {
		fputs("heed-dash: out of memory\n", stderr);
		return 1;
	}
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			history = optarg;
			break;
		case 'b':
			baseline = optarg;
			break;
		case 'B':
			baseline_dir = optarg;
			break;
		case 't':
			if (heed_parse_double(optarg, &pct) || !(pct > 0) || pct >= 100) {
				fprintf(stderr,
					"heed-dash: --threshold %s: expected a percentage above 0 "
					"and below 100\n",
					optarg);
				rc = 2;
				goto cleanup;
			}
			d.threshold = pct / 100;
			break;
		case 'f':
			flame_dir = optarg;
			break;
		case 'T':
			trace[ntrace++] = optarg;
			break;
		case 'r':
			recs = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			goto cleanup;
		default:
			usage(stderr);
			rc = 2;
			goto cleanup;
		}
	}
	if (!out || optind != argc) {
		fputs(!out ? "heed-dash: -o OUT.html is required\n"
			   : "heed-dash: unexpected argument\n",
		      stderr);
		usage(stderr);
		rc = 2;
		goto cleanup;
	}
	if (!history && !flame_dir && !ntrace && !recs) {
		fputs("heed-dash: nothing to show: give --history, --flame-dir, --trace or "
		      "--recommendations\n",
		      stderr);
		rc = 2;
		goto cleanup;
	}
	if (history)
		rc = dash_load_history(&d, history, err, sizeof(err));
	if (!rc && history && baseline)
		rc = dash_load_baseline(
			&d, baseline_dir ? baseline_dir : default_bdir(history, bdir, sizeof(bdir)),
			baseline, err, sizeof(err));
	if (!rc)
		rc = dash_compare(&d, baseline, err, sizeof(err));
	for (size_t i = 0; i < ntrace && !rc; i++)
		rc = dash_add_trace(&d, trace[i], err, sizeof(err));
	if (!rc && flame_dir)
		rc = dash_scan_flames(&d, flame_dir, out, err, sizeof(err));
	if (!rc && recs)
		rc = dash_load_recs(&d, recs, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "heed-dash: %s\n", err[0] ? err : strerror(-rc));
		rc = 1;
		goto cleanup;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "heed-dash: %s: %s\n", tmp, strerror(errno));
		rc = 1;
		goto cleanup;
	}
	rc = dash_write_html(&d, f);
	if (fclose(f) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, out) != 0)
		rc = -errno;
	if (rc) {
		fprintf(stderr, "heed-dash: %s: %s\n", out, strerror(-rc));
		unlink(tmp);
		rc = 1;
		goto cleanup;
	}
	printf("heed-dash: wrote %s (%zu benchmarks over %zu commit%s, %zu trace%s, %zu flame "
	       "graph%s%s)\n",
	       out, d.nbenches, d.ncommits, d.ncommits == 1 ? "" : "s", d.ntraces,
	       d.ntraces == 1 ? "" : "s", d.nflames, d.nflames == 1 ? "" : "s",
	       d.recs ? ", recommendations" : "");
cleanup:
	dash_free(&d);
	free(trace);
	return rc;
}
