/*
 * dash_model.c - load the results history and compare against the baseline
 * (the contract is in dash.h).
 *
 * Loading collects (commit, benchmark, result) triples in a flat list, since
 * the commit order is known only once every file's timestamp has been read;
 * dash_compare() then sorts the commits and lays the results out per
 * benchmark and commit.
 */
#include "dash.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "stats.h"

/* Bootstrap resamples for a ratio interval: the harness's --quick count,
 * enough for a stable 95% interval at a few ms per benchmark. */
#define RESAMPLES 2000
#define CONF	  0.95
#define SEED	  42

struct dash_pending {
	size_t commit;
	size_t bench;
	struct dash_result *r;
};

static void free_result(struct dash_result *r)
{
	if (r)
		free(r->samples);
	free(r);
}

static int find_commit(struct dash *d, const char *id, double time, int saved, size_t *out)
{
	struct dash_commit *c;

	for (size_t i = 0; i < d->ncommits; i++) {
		if (strcmp(d->commits[i].id, id) == 0) {
			if (time > d->commits[i].time)
				d->commits[i].time = time;
			*out = i;
			return 0;
		}
	}
	c = realloc(d->commits, (d->ncommits + 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	d->commits = c;
	c[d->ncommits].id = strdup(id);
	if (!c[d->ncommits].id)
		return -ENOMEM;
	c[d->ncommits].time = time;
	c[d->ncommits].saved = saved;
	*out = d->ncommits++;
	return 0;
}

static int find_bench(struct dash *d, const char *suite, const char *name, const char *unit,
		      size_t *out)
{
	struct dash_bench *b;

	for (size_t i = 0; i < d->nbenches; i++) {
		if (strcmp(d->benches[i].suite, suite) == 0 &&
		    strcmp(d->benches[i].name, name) == 0) {
			*out = i;
			return 0;
		}
	}
	b = realloc(d->benches, (d->nbenches + 1) * sizeof(*b));
	if (!b)
		return -ENOMEM;
	d->benches = b;
	b = &b[d->nbenches];
	memset(b, 0, sizeof(*b));
	b->suite = strdup(suite);
	b->name = strdup(name);
	b->unit = strdup(unit);
	*out = d->nbenches++;
	if (!b->suite || !b->name || !b->unit)
		return -ENOMEM;
	return 0;
}

static int add_pending(struct dash *d, size_t commit, size_t bench, struct dash_result *r)
{
	struct dash_pending *t = realloc(d->pending, (d->npending + 1) * sizeof(*t));

	if (!t)
		return -ENOMEM;
	d->pending = t;
	t[d->npending].commit = commit;
	t[d->npending].bench = bench;
	t[d->npending].r = r;
	d->npending++;
	return 0;
}

/* "2026-11-24T22:06:04Z" -> seconds since the epoch; NAN if malformed. */
static double parse_stamp(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	if (!end || *end)
		return NAN;
	return (double)timegm(&tm);
}

static int parse_result(const json_t *j, struct dash_result **out)
{
	const json_t *s = json_object_get(j, "samples"), *c;
	const json_t *ci = json_object_get(j, "median_ci");
	const json_t *tp = json_object_get(j, "throughput");
	struct dash_result *r = calloc(1, sizeof(*r));
	size_t i;

	if (!r)
		return -ENOMEM;
	r->value = heed_json_num(j, "median", NAN);
	r->lo = r->hi = r->value;
	if (json_is_number(json_array_get(ci, 0)) && json_is_number(json_array_get(ci, 1))) {
		r->lo = json_number_value(json_array_get(ci, 0));
		r->hi = json_number_value(json_array_get(ci, 1));
	}
	r->ops_per_s = heed_json_num(tp, "ops_per_s", 0);
	if (json_is_array(s)) {
		r->samples = calloc(json_array_size(s) ? json_array_size(s) : 1, sizeof(double));
		if (!r->samples) {
			free(r);
			return -ENOMEM;
		}
		json_array_foreach(s, i, c) if (json_is_number(c) &&
						isfinite(json_number_value(c)) &&
						json_number_value(c) >= 0)
			r->samples[r->nsamples++] = json_number_value(c);
	}
	/* written this way so a NaN fails every comparison and is refused */
	if (!(r->value >= 0) || !isfinite(r->value) || !(r->lo <= r->value) ||
	    !(r->hi >= r->value)) {
		free_result(r);
		return -EINVAL;
	}
	*out = r;
	return 0;
}

/* Loads DIR/<commit>-<suite>.json; other names are not results and are skipped. */
/* A saved baseline (DIR/<suite>.json) passes its name as commit; history
 * files (DIR/<commit>-<suite>.json) pass NULL. */
static int load_file(struct dash *d, const char *dir, const char *fname, const char *as_commit,
		     char *err, size_t errlen)
{
	char path[PATH_MAX], commit[128], fsuite[128];
	const char *sep = as_commit ? fname - 1 : strchr(fname, '-');
	size_t flen = strlen(fname);
	json_t *doc = NULL;
	const json_t *res, *r;
	size_t ri;
	const char *unit, *suite;
	struct stat st;
	size_t ci;
	double when;
	int rc;

	if (flen < 6 || strcmp(fname + flen - 5, ".json") != 0 || !sep ||
	    (!as_commit && sep == fname) || sep + 1 >= fname + flen - 5 ||
	    (!as_commit && (size_t)(sep - fname) >= sizeof(commit)))
		return 0;
	if (as_commit)
		snprintf(commit, sizeof(commit), "%s", as_commit);
	else
		snprintf(commit, sizeof(commit), "%.*s", (int)(sep - fname), fname);
	snprintf(fsuite, sizeof(fsuite), "%.*s", (int)(fname + flen - 5 - sep - 1), sep + 1);
	snprintf(path, sizeof(path), "%s/%s", dir, fname);
	/* heed_json_load's errors name the path */
	rc = heed_json_load(path, &doc, err, errlen);
	if (rc)
		return rc;
	res = json_object_get(doc, "results");
	if (!heed_json_str(doc, "schema") ||
	    strcmp(heed_json_str(doc, "schema"), "heed-bench") != 0 || !json_is_array(res)) {
		snprintf(err, errlen,
			 "%s: not a heed-bench results file (needs \"schema\":\"heed-bench\" and "
			 "a \"results\" array)",
			 path);
		rc = -EINVAL;
		goto cleanup;
	}
	if (heed_json_num(doc, "version", 0) != 1) {
		snprintf(err, errlen, "%s: heed-bench schema version %g, this heed-dash reads 1",
			 path, heed_json_num(doc, "version", 0));
		rc = -EINVAL;
		goto cleanup;
	}
	suite = heed_json_str(doc, "suite") ? heed_json_str(doc, "suite") : fsuite;
	unit = heed_json_str(doc, "mode");
	unit = unit && strcmp(unit, "icount") == 0 ? "instr" : "ns";
	when = parse_stamp(heed_json_str(doc, "timestamp"));
	if (isnan(when))
		when = stat(path, &st) == 0 ? (double)st.st_mtim.tv_sec : 0;
	if (d->threshold <= 0)
		d->threshold = heed_json_num(json_object_get(doc, "config"), "noise", 0);
	rc = find_commit(d, commit, when, as_commit != NULL, &ci);
	if (rc)
		goto cleanup;
	json_array_foreach(res, ri, r)
	{
		const char *name = heed_json_str(r, "name");
		struct dash_result *one = NULL;
		size_t bi;

		if (!name) {
			snprintf(err, errlen, "%s: a result has no \"name\"", path);
			rc = -EINVAL;
			goto cleanup;
		}
		rc = parse_result(r, &one);
		if (rc == -EINVAL)
			snprintf(
				err, errlen,
				"%s: result \"%s\": \"median\" or \"median_ci\" missing or invalid",
				path, name);
		if (!rc)
			rc = find_bench(d, suite, name, unit, &bi);
		if (!rc)
			rc = add_pending(d, ci, bi, one);
		if (rc) {
			free_result(one);
			goto cleanup;
		}
	}
	d->nfiles++;
cleanup:
	json_decref(doc);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every results file of dir (sorted, so a bad file is reported the
 * same way on every run): history files, or a saved baseline's when
 * as_commit is its name. */
static int load_dir(struct dash *d, const char *dir, const char *as_commit, char *err,
		    size_t errlen)
{
	DIR *dh = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, nfiles = d->nfiles;
	int rc = 0;

	if (!dh) {
		rc = -errno;
		snprintf(err, errlen, "%s %s: %s", as_commit ? "baseline" : "history", dir,
			 strerror(-rc));
		return rc;
	}
	while ((e = readdir(dh))) {
		char **nn;

		if (e->d_name[0] == '.')
			continue;
		nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn) {
			rc = -ENOMEM;
			goto cleanup;
		}
		names = nn;
		names[n] = strdup(e->d_name);
		if (!names[n]) {
			rc = -ENOMEM;
			goto cleanup;
		}
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n && !rc; i++)
		rc = load_file(d, dir, names[i], as_commit, err, errlen);
	if (!rc && d->nfiles == nfiles) {
		snprintf(err, errlen, "%s %s: no results files (%s)",
			 as_commit ? "baseline" : "history", dir,
			 as_commit ? "<suite>.json" : "<commit>-<suite>.json");
		rc = -ENOENT;
	}
cleanup:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", dir);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(dh);
	return rc;
}

int dash_load_history(struct dash *d, const char *dir, char *err, size_t errlen)
{
	return load_dir(d, dir, NULL, err, errlen);
}

int dash_load_baseline(struct dash *d, const char *dir, const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < d->ncommits; i++)
		if (strncmp(d->commits[i].id, name, strlen(name)) == 0)
			return 0;
	if (strchr(name, '/') || snprintf(path, sizeof(path), "%s/%s", dir, name) >= PATH_MAX) {
		snprintf(err, errlen,
			 "baseline %s: not a commit of the history nor a baseline name", name);
		return -EINVAL;
	}
	if (access(path, F_OK) != 0) {
		snprintf(err, errlen,
			 "baseline %s: no commit of that name in the history and no saved "
			 "baseline %s",
			 name, path);
		return -ENOENT;
	}
	return load_dir(d, path, name, err, errlen);
}

static int cmp_commit(const void *a, const void *b)
{
	const struct dash_commit *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void judge(struct dash *d, struct dash_bench *b)
{
	const struct dash_result *cur = b->at[d->newest];
	const struct dash_result *base = d->baseline >= 0 ? b->at[d->baseline] : NULL;

	b->verdict = HEED_VERDICT_NONE;
	if (!cur || !base || base->value <= 0)
		return;
	b->ratio = cur->value / base->value;
	if (strcmp(b->unit, "instr") == 0) {
		/* instruction counts are deterministic: the ratio is exact */
		b->ratio_lo = b->ratio_hi = b->ratio;
	} else if (cur->nsamples < 2 || base->nsamples < 2 ||
		   heed_stats_bootstrap_ratio_ci(base->samples, base->nsamples, cur->samples,
						 cur->nsamples, RESAMPLES, CONF, SEED, &b->ratio_lo,
						 &b->ratio_hi) != 0) {
		/* without samples, only intervals that do not overlap count */
		b->ratio_lo = base->hi > 0 ? cur->lo / base->hi : b->ratio;
		b->ratio_hi = base->lo > 0 ? cur->hi / base->lo : b->ratio;
	}
	b->verdict = heed_verdict_judge(b->ratio, b->ratio_lo, b->ratio_hi, d->threshold);
}

static int cmp_bench(const void *a, const void *b)
{
	const struct dash_bench *x = a, *y = b;
	int c = strcmp(x->suite, y->suite);

	return c ? c : strcmp(x->name, y->name);
}

int dash_compare(struct dash *d, const char *baseline, char *err, size_t errlen)
{
	size_t *rank = NULL;
	struct dash_commit *sorted = NULL;
	int rc = 0;

	d->newest = d->baseline = -1;
	if (d->threshold <= 0)
		d->threshold = 0.05;
	if (d->ncommits == 0) {
		if (baseline) {
			snprintf(err, errlen, "baseline %s: no results history to find it in",
				 baseline);
			return -EINVAL;
		}
		return 0;
	}
	/* rank[old index] = position in time order */
	rank = calloc(d->ncommits, sizeof(*rank));
	sorted = malloc(d->ncommits * sizeof(*sorted));
	if (!rank || !sorted) {
		rc = -ENOMEM;
		goto cleanup;
	}
	memcpy(sorted, d->commits, d->ncommits * sizeof(*sorted));
	qsort(sorted, d->ncommits, sizeof(*sorted), cmp_commit);
	for (size_t i = 0; i < d->ncommits; i++)
		for (size_t k = 0; k < d->ncommits; k++)
			if (sorted[k].id == d->commits[i].id)
				rank[i] = k;
	memcpy(d->commits, sorted, d->ncommits * sizeof(*sorted));
	for (size_t i = 0; i < d->nbenches; i++) {
		d->benches[i].at = calloc(d->ncommits, sizeof(struct dash_result *));
		if (!d->benches[i].at) {
			rc = -ENOMEM;
			goto cleanup;
		}
	}
	for (size_t i = 0; i < d->npending; i++) {
		const struct dash_pending *p = &d->pending[i];
		struct dash_result **slot = &d->benches[p->bench].at[rank[p->commit]];

		/* the same commit and benchmark twice (two files): the later file wins */
		free_result(*slot);
		*slot = p->r;
	}
	free(d->pending);
	d->pending = NULL;
	d->npending = 0;
	/* the newest commit of the history; a saved baseline is never it */
	for (size_t i = 0; i < d->ncommits; i++)
		if (!d->commits[i].saved)
			d->newest = (long)i;
	if (baseline) {
		size_t blen = strlen(baseline);

		for (size_t i = 0; i < d->ncommits; i++) {
			if (strncmp(d->commits[i].id, baseline, blen) != 0)
				continue;
			if (d->baseline >= 0) {
				snprintf(err, errlen,
					 "baseline %s: ambiguous, matches commits %s and %s",
					 baseline, d->commits[d->baseline].id, d->commits[i].id);
				rc = -EINVAL;
				goto cleanup;
			}
			d->baseline = (long)i;
		}
		if (d->baseline < 0) {
			snprintf(err, errlen, "baseline %s: no commit of that name in the history",
				 baseline);
			rc = -EINVAL;
			goto cleanup;
		}
	} else if (d->newest >= 1) {
		d->baseline = d->newest - 1;
	}
	if (d->newest < 0) {
		snprintf(err, errlen, "no commit in the history besides the baseline");
		rc = -EINVAL;
		goto cleanup;
	}
	qsort(d->benches, d->nbenches, sizeof(*d->benches), cmp_bench);
	for (size_t i = 0; i < d->nbenches; i++)
		judge(d, &d->benches[i]);
cleanup:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	free(rank);
	free(sorted);
	return rc;
}

static int push_str(char ***list, size_t *n, const char *s)
{
	char **l = realloc(*list, (*n + 1) * sizeof(*l));

	if (!l)
		return -ENOMEM;
	*list = l;
	l[*n] = strdup(s);
	if (!l[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

int dash_add_trace(struct dash *d, const char *path, char *err, size_t errlen)
{
	json_t *doc = NULL, **t;
	const char *base = strrchr(path, '/');
	int rc;

	rc = heed_json_load(path, &doc, err, errlen);
	if (rc)
		return rc;
	if (!json_object_get(doc, "ops") && !json_object_get(doc, "profile")) {
		snprintf(err, errlen,
			 "trace %s: not a heed-trace --json file (no \"ops\" or \"profile\")",
			 path);
		json_decref(doc);
		return -EINVAL;
	}
	t = realloc(d->traces, (d->ntraces + 1) * sizeof(json_t *));
	if (!t) {
		json_decref(doc);
		return -ENOMEM;
	}
	d->traces = t;
	rc = push_str(&d->trace_names, &d->ntraces, base ? base + 1 : path);
	if (rc) {
		json_decref(doc);
		return rc;
	}
	d->traces[d->ntraces - 1] = doc;
	return 0;
}

int dash_load_recs(struct dash *d, const char *path, char *err, size_t errlen)
{
	const json_t *list;
	int rc;

	rc = heed_json_load(path, &d->recs, err, errlen);
	if (rc)
		return rc;
	list = json_object_get(d->recs, "recommendations");
	if (!json_is_array(list)) {
		snprintf(err, errlen,
			 "recommendations %s: not a heed-profile recommendations file (no "
			 "\"recommendations\" array)",
			 path);
		json_decref(d->recs);
		d->recs = NULL;
		return -EINVAL;
	}
	return 0;
}

/* The path of target relative to directory from (both absolute, canonical). */
static void relpath(const char *from, const char *target, char *out, size_t outlen)
{
	size_t flen = strlen(from), i = 0, common = 0, used = 0;

	while (i < flen && from[i] == target[i]) {
		i++;
		if (from[i - 1] == '/')
			common = i;
	}
	if (i == flen && target[i] == '/')
		common = i + 1;
	out[0] = '\0';
	/* one "../" per component of from below the common prefix */
	for (size_t k = common; k < flen; k++) {
		if ((k == common || from[k - 1] == '/') && from[k] != '/' && used + 4 < outlen) {
			memcpy(out + used, "../", 4);
			used += 3;
		}
	}
	snprintf(out + used, outlen - used, "%s", target + common);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a > b && strcmp(s + a - b, suffix) == 0;
}

int dash_scan_flames(struct dash *d, const char *dir, const char *out_path, char *err,
		     size_t errlen)
{
	char absdir[PATH_MAX], outdir[PATH_MAX], tmp[2 * PATH_MAX + 2], rel[2 * PATH_MAX + 2];
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	DIR *dh;
	char *slash;
	int rc = 0;

	if (!realpath(dir, absdir)) {
		rc = -errno;
		snprintf(err, errlen, "flame directory %s: %s", dir, strerror(-rc));
		return rc;
	}
	snprintf(tmp, sizeof(tmp), "%s", out_path);
	slash = strrchr(tmp, '/');
	if (slash)
		*slash = '\0';
	if (!realpath(slash ? (tmp[0] ? tmp : "/") : ".", outdir)) {
		rc = -errno;
		snprintf(err, errlen, "output %s: its directory: %s", out_path, strerror(-rc));
		return rc;
	}
	dh = opendir(absdir);
	if (!dh) {
		rc = -errno;
		snprintf(err, errlen, "flame directory %s: %s", dir, strerror(-rc));
		return rc;
	}
	while ((e = readdir(dh)) && !rc)
		if (e->d_name[0] != '.' &&
		    (ends_with(e->d_name, ".svg") || ends_with(e->d_name, ".trace.json")))
			rc = push_str(&names, &n, e->d_name);
	closedir(dh);
	if (!rc && n)
		qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n && !rc; i++) {
		snprintf(tmp, sizeof(tmp), "%s/%s", absdir, names[i]);
		if (ends_with(names[i], ".trace.json")) {
			rc = dash_add_trace(d, tmp, err, errlen);
			continue;
		}
		relpath(outdir, tmp, rel, sizeof(rel));
		rc = push_str(&d->flames, &d->nflames, rel);
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "flame directory %s: out of memory", dir);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

void dash_free(struct dash *d)
{
	for (size_t i = 0; i < d->nbenches; i++) {
		for (size_t c = 0; d->benches[i].at && c < d->ncommits; c++)
			free_result(d->benches[i].at[c]);
		free(d->benches[i].at);
		free(d->benches[i].suite);
		free(d->benches[i].name);
		free(d->benches[i].unit);
	}
	for (size_t i = 0; i < d->npending; i++)
		free_result(d->pending[i].r);
	free(d->pending);
	for (size_t i = 0; i < d->ncommits; i++)
		free(d->commits[i].id);
	for (size_t i = 0; i < d->ntraces; i++) {
		json_decref(d->traces[i]);
		free(d->trace_names[i]);
	}
	for (size_t i = 0; i < d->nflames; i++)
		free(d->flames[i]);
	json_decref(d->recs);
	free(d->traces);
	free(d->trace_names);
	free(d->flames);
	free(d->benches);
	free(d->commits);
	memset(d, 0, sizeof(*d));
}
