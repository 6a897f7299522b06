/*
 * heed-bench-compare - is the candidate build slower than the baseline?
 *
 * Sequential runs on a shared VM drift by 20% between identical builds, so
 * this runs the two suite binaries interleaved, round after round (A B,
 * then B A, so neither always runs second), and judges each case on the
 * paired per-round ratios candidate/base of the medians:
 *   - a one-sided Wilcoxon signed-rank test on log ratios says whether the
 *     candidate is slower (or faster) at all, at level --alpha;
 *   - the median ratio must also pass the noise threshold (--threshold), and
 *     the bootstrap interval of the median ratio must clear half of it.
 * All must hold for "regressed". With --icount the suites count
 * instructions under callgrind; the counts do not move, so one round is
 * enough and the ratio alone decides.
 *
 * --files BASE.json CAND.json compares two stored results: with instruction
 * counts as above; with times, on the bootstrap interval of the ratio of
 * the two runs' medians (sequential runs: trust it less).
 * Exit status: 0 no regression, 1 at least one regression, 2 error.
 */
#include "json.h"
#include "parse.h"
#include "stats.h"
#include "verdict.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ROUNDS 100

struct cmp_case {
	char *name;
	double base[MAX_ROUNDS], cand[MAX_ROUNDS];
	unsigned nbase, ncand;
	/* --files: each side's samples, for a test within one run. */
	double *samples[2];
	unsigned nsamples[2];
	double ratio, lo, hi, p_slower, p_faster;
	enum heed_verdict verdict; /* NONE: the case is missing on one side */
};

struct opts {
	unsigned rounds;
	double threshold, alpha;
	int icount, files;
	const char *out_json, *out_md, *label_base, *label_cand, *workdir;
	char **suite_args;
	int nsuite_args;
};

struct cmp {
	struct cmp_case *cases;
	size_t ncases, cap;
	char suite[128];
	char unit[32];
	char mode[16]; /* "time", "cputime" or "icount": never two in one comparison */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: heed-bench-compare [options] BASE_BIN CAND_BIN [-- SUITE_ARGS...]\n"
		   "       heed-bench-compare [options] --files BASE.json CAND.json\n"
		   "  --rounds N        interleaved rounds (default 6; --icount 1)\n"
		   "  --threshold PCT   slower by more than this is a regression (default 10)\n"
		   "  --alpha A         significance level of the Wilcoxon test (default 0.05)\n"
		   "  --icount          compare instruction counts (suites run under callgrind)\n"
		   "  --out-json FILE   write the comparison (schema heed-bench-compare v1)\n"
		   "  --out-md FILE     write the comparison as a Markdown table\n"
		   "  --label-base S, --label-cand S   names in the report\n"
		   "  --workdir DIR     keep each round's results here\n"
		   "exit status: 0 no regression, 1 regression, 2 error\n");
}

static struct cmp_case *find_case(struct cmp *c, const char *name, int create)
{
	for (size_t i = 0; i < c->ncases; i++)
		if (strcmp(c->cases[i].name, name) == 0)
			return &c->cases[i];
	if (!create)
		return NULL;
	if (c->ncases == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct cmp_case *n = realloc(c->cases, cap * sizeof(*n));

		if (!n)
			return NULL;
		c->cases = n;
		c->cap = cap;
	}
	memset(&c->cases[c->ncases], 0, sizeof(c->cases[0]));
	c->cases[c->ncases].name = strdup(name);
	if (!c->cases[c->ncases].name)
		return NULL;
	return &c->cases[c->ncases++];
}

/* Add the medians of one result file to the base or candidate side. */
static int absorb(struct cmp *c, const char *path, int cand)
{
	json_t *doc = NULL;
	const json_t *res, *r;
	const char *suite, *unit, *mode;
	size_t i;
	char err[512];
	int rc = heed_json_load(path, &doc, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "heed-bench-compare: %s\n", err);
		return rc;
	}
	suite = heed_json_str(doc, "suite");
	unit = heed_json_str(doc, "unit");
	mode = heed_json_str(doc, "mode");
	res = json_object_get(doc, "results");
	if (!suite || !unit || !mode || !json_is_array(res) ||
	    heed_json_num(doc, "version", 0) != 1) {
		fprintf(stderr, "heed-bench-compare: %s: not a heed-bench v1 result file\n", path);
		rc = -EINVAL;
		goto cleanup;
	}
	if (c->suite[0] && (strcmp(c->suite, suite) != 0 || strcmp(c->unit, unit) != 0)) {
		fprintf(stderr, "heed-bench-compare: %s: suite %s in %s, expected %s in %s\n", path,
			suite, unit, c->suite, c->unit);
		rc = -EINVAL;
		goto cleanup;
	}
	/* Wall time against a thread's CPU time would judge the clock, not
	 * the code. */
	if (c->mode[0] && strcmp(c->mode, mode) != 0) {
		fprintf(stderr,
			"heed-bench-compare: %s: measured in %s mode, the other side in %s\n", path,
			mode, c->mode);
		rc = -EINVAL;
		goto cleanup;
	}
	snprintf(c->suite, sizeof(c->suite), "%s", suite);
	snprintf(c->unit, sizeof(c->unit), "%s", unit);
	snprintf(c->mode, sizeof(c->mode), "%s", mode);
	json_array_foreach(res, i, r)
	{
		const char *name = heed_json_str(r, "name");
		double med = heed_json_num(r, "median", NAN);
		struct cmp_case *cc;

		if (!name || !(med > 0))
			continue;
		cc = find_case(c, name, 1);
		if (!cc) {
			rc = -ENOMEM;
			goto cleanup;
		}
		if (!cc->samples[cand]) {
			const json_t *sa = json_object_get(r, "samples"), *x;
			size_t k = json_array_size(sa), j;

			cc->samples[cand] = calloc(k ? k : 1, sizeof(double));
			if (!cc->samples[cand]) {
				rc = -ENOMEM;
				goto cleanup;
			}
			json_array_foreach(sa, j, x) if (json_is_number(x))
				cc->samples[cand][cc->nsamples[cand]++] = json_number_value(x);
		}
		if (cand && cc->ncand < MAX_ROUNDS)
			cc->cand[cc->ncand++] = med;
		else if (!cand && cc->nbase < MAX_ROUNDS)
			cc->base[cc->nbase++] = med;
	}
cleanup:
	json_decref(doc);
	return rc;
}

/* Run one suite binary with --json path; its own output goes to a log. */
static int run_suite(const struct opts *o, const char *bin, const char *json, const char *log)
{
	char **av = calloc((size_t)o->nsuite_args + 5, sizeof(*av));
	int status, n = 0;
	pid_t pid;

	if (!av)
		return -ENOMEM;
	av[n++] = (char *)bin;
	for (int i = 0; i < o->nsuite_args; i++)
		av[n++] = o->suite_args[i];
	if (o->icount)
		av[n++] = "--icount";
	av[n++] = "--json";
	av[n++] = (char *)json;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		free(av);
		return -errno;
	}
	if (pid == 0) {
		if (!freopen(log, "w", stdout) || dup2(fileno(stdout), 2) < 0)
			_exit(127);
		execv(bin, av);
		fprintf(stderr, "heed-bench-compare: %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	free(av);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "heed-bench-compare: %s failed (see %s)\n", bin, log);
		return -EIO;
	}
	return 0;
}

/* 0, or -ENOMEM: a verdict without its interval or test could hide a
 * regression, so there is none. */
static int judge(const struct opts *o, struct cmp_case *cc)
{
	unsigned n = cc->nbase < cc->ncand ? cc->nbase : cc->ncand;
	double ratios[MAX_ROUNDS], logs[MAX_ROUNDS], neg[MAX_ROUNDS];

	for (unsigned i = 0; i < n; i++) {
		ratios[i] = cc->cand[i] / cc->base[i];
		logs[i] = log(ratios[i]);
		neg[i] = -logs[i];
	}
	cc->ratio = heed_stats_median(ratios, n);
	if (!o->icount && n == 1 && cc->nsamples[0] > 1 && cc->nsamples[1] > 1) {
		/* One run per side (--files): the samples within each run, resampled
		 * independently, give the interval of the ratio of medians. */
		if (heed_stats_bootstrap_ratio_ci(cc->samples[0], cc->nsamples[0], cc->samples[1],
						  cc->nsamples[1], 10000, 0.95, 1, &cc->lo,
						  &cc->hi))
			return -ENOMEM;
		cc->p_slower = cc->p_faster = NAN;
		cc->verdict = heed_verdict_judge(cc->ratio, cc->lo, cc->hi, o->threshold);
		return 0;
	}
	if (o->icount || n < 2) {
		cc->lo = cc->hi = cc->ratio;
		cc->p_slower = cc->p_faster = NAN;
	} else {
		if (heed_stats_bootstrap_ci(ratios, n, HEED_STATS_MEDIAN, 10000, 0.95, 1, &cc->lo,
					    &cc->hi))
			return -ENOMEM;
		cc->p_slower = heed_stats_wilcoxon_greater(logs, n);
		cc->p_faster = heed_stats_wilcoxon_greater(neg, n);
		if (isnan(cc->p_slower) || isnan(cc->p_faster))
			return -ENOMEM;
	}
	if (o->icount) {
		/* Counts are exact: the interval is the ratio itself. */
		cc->verdict = heed_verdict_judge(cc->ratio, cc->lo, cc->hi, o->threshold);
	} else if (n < 2) {
		cc->verdict = HEED_VERDICT_TOO_FEW;
	} else if (cc->p_slower < o->alpha) {
		/* Many cases are tested at once, so one of them passes the test by
		 * chance now and then; also asking the interval to clear half the
		 * threshold keeps such a fluke from failing a run. */
		cc->verdict = cc->ratio > 1 + o->threshold && cc->lo > 1 + o->threshold / 2
				      ? HEED_VERDICT_REGRESSED
				      : HEED_VERDICT_SLOWER;
	} else if (cc->p_faster < o->alpha) {
		cc->verdict = cc->ratio < 1 - o->threshold && cc->hi < 1 - o->threshold / 2
				      ? HEED_VERDICT_IMPROVED
				      : HEED_VERDICT_FASTER;
	} else {
		cc->verdict = HEED_VERDICT_UNCHANGED;
	}
	return 0;
}

/* 0, or -1 with errno set. An earlier write that failed is seen by ferror,
 * not always by fclose. */
static int close_report(FILE *f)
{
	int failed = ferror(f);

	if (fclose(f) != 0)
		return -1;
	if (failed) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* One result a line: profile_optimize.sh's awk reads the ratios line by line. */
static int write_json(const struct opts *o, const struct cmp *c, unsigned rounds, int regressions)
{
	json_t *head, *rows = json_array();
	FILE *f = NULL;
	int rc = rows ? 0 : -ENOMEM;

	for (size_t i = 0; !rc && i < c->ncases; i++) {
		const struct cmp_case *cc = &c->cases[i];

		rc = heed_json_push(rows,
				    json_pack("{s:o,s:o,s:[oo],s:o,s:o,s:s,s:o,s:o}", "name",
					      heed_json_string(cc->name), "ratio",
					      heed_json_number(cc->ratio), "ratio_ci",
					      heed_json_number(cc->lo), heed_json_number(cc->hi),
					      "p_slower", heed_json_number(cc->p_slower),
					      "p_faster", heed_json_number(cc->p_faster), "verdict",
					      heed_verdict_name(cc->verdict), "base",
					      heed_json_numbers(cc->base, cc->nbase), "candidate",
					      heed_json_numbers(cc->cand, cc->ncand)));
	}
	head = json_pack("{s:s,s:i,s:o,s:s,s:o,s:o,s:o,s:I,s:o,s:o,s:i}", "schema",
			 "heed-bench-compare", "version", 1, "suite", heed_json_string(c->suite),
			 "mode",
			 c->mode[0]  ? c->mode
			 : o->icount ? "icount"
				     : "time",
			 "unit", heed_json_string(c->unit), "base", heed_json_string(o->label_base),
			 "candidate", heed_json_string(o->label_cand), "rounds", (json_int_t)rounds,
			 "threshold", heed_json_number(o->threshold), "alpha",
			 heed_json_number(o->alpha), "regressions", regressions);
	if (!rc && !head)
		rc = -ENOMEM;
	if (!rc) {
		f = fopen(o->out_json, "w");
		if (!f)
			rc = -errno;
	}
	if (!rc) {
		rc = heed_json_write_rows(f, head, "results", rows);
		if (close_report(f) && !rc)
			rc = -errno;
	}
	json_decref(head);
	json_decref(rows);
	return rc;
}

static int write_reports(const struct opts *o, const struct cmp *c, unsigned rounds,
			 int regressions)
{
	FILE *f;
	int rc;

	if (o->out_json) {
		rc = write_json(o, c, rounds, regressions);
		if (rc) {
			fprintf(stderr, "heed-bench-compare: %s: %s\n", o->out_json, strerror(-rc));
			return rc;
		}
	}
	if (o->out_md) {
		f = fopen(o->out_md, "w");
		if (!f)
			goto fail_md;
		fprintf(f,
			"## %s: %s vs %s\n\n%s, %u round%s%s, threshold %.1f%%, alpha %.3g: "
			"%d regression%s\n\n",
			c->suite, o->label_cand, o->label_base,
			o->icount ? "instruction counts" : "wall time", rounds,
			rounds == 1 ? "" : "s", o->icount || o->files ? "" : " interleaved",
			o->threshold * 100, o->alpha, regressions, regressions == 1 ? "" : "s");
		fprintf(f,
			"| benchmark | base (%s/iter) | candidate | change | 95%% CI | p(slower) "
			"| verdict |\n|---|---:|---:|---:|---|---:|---|\n",
			c->unit);
		for (size_t i = 0; i < c->ncases; i++) {
			const struct cmp_case *cc = &c->cases[i];
			char ci[64], p[32];

			if (cc->verdict == HEED_VERDICT_NONE) {
				fprintf(f, "| %s | | | | | | %s |\n", cc->name,
					heed_verdict_name(cc->verdict));
				continue;
			}
			if (o->icount)
				snprintf(ci, sizeof(ci), "exact");
			else
				snprintf(ci, sizeof(ci), "[%+.1f%%, %+.1f%%]", (cc->lo - 1) * 100,
					 (cc->hi - 1) * 100);
			if (isnan(cc->p_slower))
				snprintf(p, sizeof(p), "-");
			else
				snprintf(p, sizeof(p), "%.3g", cc->p_slower);
			fprintf(f, "| %s | %.4g | %.4g | %+.2f%% | %s | %s | %s%s%s |\n", cc->name,
				heed_stats_median(cc->base, cc->nbase),
				heed_stats_median(cc->cand, cc->ncand), (cc->ratio - 1) * 100, ci,
				p, cc->verdict == HEED_VERDICT_REGRESSED ? "**" : "",
				heed_verdict_name(cc->verdict),
				cc->verdict == HEED_VERDICT_REGRESSED ? "**" : "");
		}
		fputc('\n', f);
		if (close_report(f))
			goto fail_md;
	}
	return 0;
fail_md:
	rc = -errno;
	fprintf(stderr, "heed-bench-compare: %s: %s\n", o->out_md, strerror(-rc));
	return rc;
}

static int parse(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{"rounds", required_argument, NULL, 'r'},
		{"threshold", required_argument, NULL, 't'},
		{"alpha", required_argument, NULL, 'a'},
		{"icount", no_argument, NULL, 'i'},
		{"files", no_argument, NULL, 'f'},
		{"out-json", required_argument, NULL, 'j'},
		{"out-md", required_argument, NULL, 'm'},
		{"label-base", required_argument, NULL, 'B'},
		{"label-cand", required_argument, NULL, 'C'},
		{"workdir", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	uint64_t rounds = 0;
	double pct;

	o->threshold = 0.10;
	o->alpha = 0.05;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (heed_parse_u64(optarg, &rounds) || rounds < 1 || rounds > MAX_ROUNDS) {
				fprintf(stderr, "heed-bench-compare: --rounds %s: 1 to %d\n",
					optarg, MAX_ROUNDS);
				return -EINVAL;
			}
			break;
		case 't':
			if (heed_parse_double(optarg, &pct) || !(pct >= 0)) {
				fprintf(stderr,
					"heed-bench-compare: --threshold %s: a percentage\n",
					optarg);
				return -EINVAL;
			}
			o->threshold = pct / 100;
			break;
		case 'a':
			if (heed_parse_double(optarg, &o->alpha) ||
			    !(o->alpha > 0 && o->alpha < 1)) {
				fprintf(stderr, "heed-bench-compare: --alpha %s: between 0 and 1\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'i':
			o->icount = 1;
			break;
		case 'f':
			o->files = 1;
			break;
		case 'j':
			o->out_json = optarg;
			break;
		case 'm':
			o->out_md = optarg;
			break;
		case 'B':
			o->label_base = optarg;
			break;
		case 'C':
			o->label_cand = optarg;
			break;
		case 'w':
			o->workdir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (argc - optind < 2) {
		usage(stderr);
		return -EINVAL;
	}
	o->rounds = rounds > 0 ? (unsigned)rounds : (o->icount || o->files) ? 1 : 6;
	if (o->files)
		o->rounds = 1;
	if (!o->label_base)
		o->label_base = argv[optind];
	if (!o->label_cand)
		o->label_cand = argv[optind + 1];
	o->suite_args = argv + optind + 2;
	o->nsuite_args = argc - optind - 2;
	if (o->nsuite_args > 0 && strcmp(o->suite_args[0], "--") == 0) {
		o->suite_args++;
		o->nsuite_args--;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct cmp c = {0};
	char tmpl[] = "/tmp/heed-compare-XXXXXX", path[PATH_MAX], log[PATH_MAX];
	const char *dir;
	int rc, status = 2, regressions = 0, made_dir = 0;

	rc = parse(&o, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (o.files) {
		if (absorb(&c, argv[optind], 0) || absorb(&c, argv[optind + 1], 1))
			goto cleanup;
	} else {
		dir = o.workdir;
		if (!dir) {
			dir = mkdtemp(tmpl);
			if (!dir) {
				fprintf(stderr, "heed-bench-compare: mkdtemp: %s\n",
					strerror(errno));
				goto cleanup;
			}
			made_dir = 1;
		}
		for (unsigned r = 0; r < o.rounds; r++) {
			/* A B in even rounds, B A in odd ones. */
			for (int k = 0; k < 2; k++) {
				int cand = (int)((r + (unsigned)k) % 2);
				const char *side = cand ? "cand" : "base";

				snprintf(path, sizeof(path), "%s/%s.%u.json", dir, side, r);
				snprintf(log, sizeof(log), "%s/%s.%u.log", dir, side, r);
				printf("round %u/%u: %s\n", r + 1, o.rounds,
				       cand ? o.label_cand : o.label_base);
				fflush(stdout);
				if (run_suite(&o, argv[optind + cand], path, log) ||
				    absorb(&c, path, cand))
					goto cleanup;
			}
		}
	}
	for (size_t i = 0; i < c.ncases; i++) {
		struct cmp_case *cc = &c.cases[i];

		if (cc->nbase == 0 || cc->ncand == 0)
			continue;
		if (judge(&o, cc)) {
			fprintf(stderr, "heed-bench-compare: %s: out of memory\n", cc->name);
			goto cleanup;
		}
		if (cc->verdict == HEED_VERDICT_REGRESSED)
			regressions++;
		printf("%-44s %+7.2f%%  [%+.1f%% %+.1f%%]  %s\n", cc->name, (cc->ratio - 1) * 100,
		       (cc->lo - 1) * 100, (cc->hi - 1) * 100, heed_verdict_name(cc->verdict));
	}
	if (write_reports(&o, &c, o.rounds, regressions))
		goto cleanup;
	printf("%s: %d regression%s past %.1f%%\n", c.suite, regressions,
	       regressions == 1 ? "" : "s", o.threshold * 100);
	status = regressions ? 1 : 0;
cleanup:
	if (made_dir) {
		for (unsigned r = 0; r < o.rounds; r++)
			for (int k = 0; k < 2; k++) {
				snprintf(path, sizeof(path), "%s/%s.%u.json", tmpl,
					 k ? "cand" : "base", r);
				unlink(path);
				snprintf(path, sizeof(path), "%s/%s.%u.log", tmpl,
					 k ? "cand" : "base", r);
				if (status != 2)
					unlink(path);
			}
		if (status != 2)
			rmdir(tmpl);
		else
			fprintf(stderr, "heed-bench-compare: logs kept in %s\n", tmpl);
	}
	for (size_t i = 0; i < c.ncases; i++) {
		free(c.cases[i].name);
		free(c.cases[i].samples[0]);
		free(c.cases[i].samples[1]);
	}
	free(c.cases);
	return status;
}
