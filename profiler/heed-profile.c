/*
 * heed-profile - profile the benchmark suites and say what to optimize.
 *
 * For each suite (BUILD/bench/<name>) it runs
 *     heed-trace --ops --profile -F HZ --json DIR/<name>.trace.json
 *                --folded DIR/<name>.folded --flame DIR/<name>.svg
 *                -- BUILD/bench/<name> [--quick] --json DIR/<name>.bench.json
 * (db_comparison with --filter '/heed$': only heed's cases)
 * then ranks the hot functions of all suites together (self and total),
 * runs the rule table of recommend.c over them, and writes
 *     DIR/report.md             what was measured, hot functions, advice with evidence
 *     DIR/recommendations.json  the same for heed-dash --recommendations
 *     DIR/optimize.sh           builds with each compiler profile (the chosen
 *                               one first), measures each gain interleaved A/B
 *                               with heed-bench-compare, names the best
 * BUILD is the build tree heed-profile itself lives in (BUILD/bin/heed-profile).
 * Needs root: heed-trace loads BPF programs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "profile_optimize.h"
#include "dirs.h"
#include "json.h"
#include "parse.h"
#include "folded.h"
#include "recommend.h"

#define MAX_SUITES 16
#define MAX_RECS   16
#define TOP_FUNCS  20

struct suite {
	const char *name;
	double seconds;
	uint64_t overhead; /* samples in heed-trace's own probe handling, left out */
	struct heed_folded prof;
};

/* Frames of the tracer itself: with --ops every USDT site hit traps
 * (int3 -> uprobe -> BPF program). Samples landing there are the cost of
 * measuring, not of the code measured, and would otherwise rank first. */
static const char *const tracer_frames[] = {
	"*uprobe*", "handle_swbp", "*exc_int3*", "do_int3*", "bpf_prog_*", "*bpf_probe_read*", NULL,
};

struct opts {
	const char *benches[MAX_SUITES];
	size_t nbenches;
	const char *out;
	int quick;
	unsigned hz;
};

static void usage(FILE *f)
{
	fputs("usage: sudo heed-profile [--bench NAME]... [--out DIR] [--quick] [-F HZ]\n"
	      "  --bench NAME   profile this suite of BUILD/bench (repeatable; default: all;\n"
	      "                 db_comparison runs only its heed cases)\n"
	      "  --out DIR      where the report, flame graphs and optimize.sh go\n"
	      "                 (default: BUILD/profile)\n"
	      "  --quick        run the suites with --quick (small sizes, fewer samples)\n"
	      "  -F HZ          stack sampling frequency (default 499)\n",
	      f);
}

/* BUILD: the directory above the one holding this executable. */
static int find_build(char *build, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	for (int i = 0; i < 2; i++) {
		slash = strrchr(exe, '/');
		if (!slash)
			return -ENOENT;
		*slash = '\0';
	}
	snprintf(build, len, "%s", exe[0] ? exe : "/");
	return 0;
}

/* The build type of BUILD: build/<type>, or "default" for build itself. */
static void build_profile(const char *build, char *out, size_t len)
{
	const char *base = strrchr(build, '/');
	static const char *const known[] = {"debug", "release", "native", "pgo", "pgo-gen"};

	base = base ? base + 1 : build;
	snprintf(out, len, "default");
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(base, known[i]) == 0)
			snprintf(out, len, "%s", known[i]);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* db_comparison runs heed beside LMDB, SQLite, LevelDB and RocksDB: only its
 * heed cases are heed's profile (the others' hot code would dilute every
 * share the rules read), so it runs with this filter. */
static const char *suite_filter(const char *name)
{
	return strcmp(name, "db_comparison") == 0 ? "/heed$" : NULL;
}

/* Every executable regular file in BUILD/bench, sorted. */
static int list_suites(const char *build, struct opts *o, char **owned, size_t *nowned)
{
	char dir[PATH_MAX + 8], path[2 * PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *dh;

	snprintf(dir, sizeof(dir), "%s/bench", build);
	dh = opendir(dir);
	if (!dh)
		return -errno;
	while ((e = readdir(dh)) && o->nbenches < MAX_SUITES) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode) || access(path, X_OK))
			continue;
		owned[*nowned] = strdup(e->d_name);
		if (!owned[*nowned])
			break;
		o->benches[o->nbenches++] = owned[(*nowned)++];
	}
	closedir(dh);
	qsort(o->benches, o->nbenches, sizeof(o->benches[0]), cmp_str);
	return 0;
}

/* Runs argv with stdout and stderr to log; returns its exit status, or a
 * negative errno when it could not run. */
static int run(char *const argv[], const char *log)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int status;
	pid_t pid;

	if (fd < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		dprintf(fd, "heed-profile: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static void tail_log(const char *log)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "tail -n 15 '%s' >&2", log);
	if (system(cmd) != 0)
		fprintf(stderr, "heed-profile: could not show %s\n", log);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int profile_suite(const char *build, const struct opts *o, struct suite *s)
{
	char trace[PATH_MAX], bin[PATH_MAX], hz[16], tjson[PATH_MAX], folded[PATH_MAX];
	char svg[PATH_MAX], bjson[PATH_MAX], log[PATH_MAX], err[PATH_MAX + 128];
	char *argv[24];
	int n = 0, rc;
	double t0;

	snprintf(hz, sizeof(hz), "%u", o->hz);
	if (snprintf(trace, sizeof(trace), "%s/bin/heed-trace", build) >= (int)sizeof(trace) ||
	    snprintf(bin, sizeof(bin), "%s/bench/%s", build, s->name) >= (int)sizeof(bin) ||
	    snprintf(tjson, sizeof(tjson), "%s/%s.trace.json", o->out, s->name) >=
		    (int)sizeof(tjson) ||
	    snprintf(folded, sizeof(folded), "%s/%s.folded", o->out, s->name) >=
		    (int)sizeof(folded) ||
	    snprintf(svg, sizeof(svg), "%s/%s.svg", o->out, s->name) >= (int)sizeof(svg) ||
	    snprintf(bjson, sizeof(bjson), "%s/%s.bench.json", o->out, s->name) >=
		    (int)sizeof(bjson) ||
	    snprintf(log, sizeof(log), "%s/%s.log", o->out, s->name) >= (int)sizeof(log)) {
		fprintf(stderr, "heed-profile: suite %s: %s: path too long\n", s->name, o->out);
		return -ENAMETOOLONG;
	}
	if (access(bin, X_OK)) {
		fprintf(stderr, "heed-profile: suite %s: %s: %s (run make bench first)\n", s->name,
			bin, strerror(errno));
		return -ENOENT;
	}
	argv[n++] = trace;
	argv[n++] = "--ops";
	argv[n++] = "--profile";
	argv[n++] = "-F";
	argv[n++] = hz;
	argv[n++] = "--json";
	argv[n++] = tjson;
	argv[n++] = "--folded";
	argv[n++] = folded;
	argv[n++] = "--flame";
	argv[n++] = svg;
	argv[n++] = "--";
	argv[n++] = bin;
	if (o->quick)
		argv[n++] = "--quick";
	if (suite_filter(s->name)) {
		argv[n++] = "--filter";
		argv[n++] = (char *)suite_filter(s->name);
	}
	argv[n++] = "--json";
	argv[n++] = bjson;
	argv[n] = NULL;
	printf("heed-profile: %s: profiling (log %s)\n", s->name, log);
	fflush(stdout);
	t0 = now_s();
	rc = run(argv, log);
	s->seconds = now_s() - t0;
	if (rc) {
		fprintf(stderr, "heed-profile: suite %s: heed-trace %s (exit %d); the end of %s:\n",
			s->name, rc < 0 ? strerror(-rc) : "failed", rc, log);
		tail_log(log);
		return rc < 0 ? rc : -EIO;
	}
	rc = heed_folded_read(&s->prof, folded, err, sizeof(err));
	if (!rc)
		s->overhead = heed_folded_drop(&s->prof, tracer_frames);
	if (!rc && s->prof.samples == 0) {
		snprintf(err, sizeof(err), "%s: no stack samples", folded);
		rc = -ENODATA;
	}
	if (!rc)
		rc = heed_folded_rank(&s->prof);
	if (rc) {
		fprintf(stderr, "heed-profile: suite %s: %s\n", s->name,
			err[0] ? err : strerror(-rc));
		return rc;
	}
	return 0;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Markdown table cells must not contain '|'; symbol names can (operator|). */
static void md_name(FILE *f, const char *s)
{
	fputc('`', f);
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else
			fputc(*s == '`' ? '\'' : *s, f);
	}
	fputc('`', f);
}

static void top_table(FILE *f, const struct heed_folded *p, size_t max)
{
	fputs("| # | function | self | total |\n|---:|---|---:|---:|\n", f);
	for (size_t i = 0; i < p->nfuncs && i < max; i++) {
		fprintf(f, "| %zu | ", i + 1);
		md_name(f, p->funcs[i].name);
		fprintf(f, " | %.1f%% | %.1f%% |\n", pct(p->funcs[i].self, p->samples),
			pct(p->funcs[i].total, p->samples));
	}
}

/* The compiler profile optimize.sh applies: PGO when most time is in user
 * code that a training run can lay out (the suites are that training run),
 * else -O3 + LTO. */
static const char *choose_profile(const struct heed_rec *recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(recs[i].rule, "build") == 0)
			return recs[i].share >= 0.5 ? "pgo" : "release";
	return "release";
}

static int write_report(const char *path, const struct opts *o, const char *build,
			const char *bprof, struct suite *s, size_t ns,
			const struct heed_folded *all, const struct heed_rec *recs, size_t nrecs,
			double secs, const char *chosen)
{
	FILE *f = fopen(path, "w");
	char when[64];
	time_t t = time(NULL);
	struct tm tm;

	uint64_t overhead = 0;

	if (!f)
		return -errno;
	for (size_t i = 0; i < ns; i++)
		overhead += s[i].overhead;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	fprintf(f,
		"# heed-profile report\n\nGenerated %s from the build in `%s` "
		"(build type **%s**).\n\n## What was measured\n\n",
		when, build, bprof);
	fprintf(f,
		"Each suite ran under `heed-trace --ops --profile -F %u` (on-CPU stack samples, "
		"user and kernel frames, every %.1f ms of CPU time)%s. In total **%llu samples** "
		"over **%.1f s** of wall time; another %llu samples (%.1f%%) fell in heed-trace's "
		"own probe handling (uprobe and BPF frames of the --ops histograms) and are left "
		"out of every share below.\n\n"
		"| suite | wall time | samples | probe overhead | flame graph | trace (ops, JSON) "
		"| "
		"bench results |\n"
		"|---|---:|---:|---:|---|---|---|\n",
		o->hz, 1000.0 / o->hz, o->quick ? " with `--quick`" : "",
		(unsigned long long)all->samples, secs, (unsigned long long)overhead,
		pct(overhead, overhead + all->samples));
	for (size_t i = 0; i < ns; i++)
		fprintf(f,
			"| %s | %.1f s | %llu | %llu | [%s.svg](%s.svg) | "
			"[%s.trace.json](%s.trace.json) | [%s.bench.json](%s.bench.json) |\n",
			s[i].name, s[i].seconds, (unsigned long long)s[i].prof.samples,
			(unsigned long long)s[i].overhead, s[i].name, s[i].name, s[i].name,
			s[i].name, s[i].name, s[i].name);
	fputs("\nThe flame graphs show every sample, probe handling included. ", f);
	fputs("Shares are of all samples: *self* counts samples where the function was "
	      "running, *total* those where it was anywhere on the stack.\n\n"
	      "## Hot functions, all suites\n\n",
	      f);
	top_table(f, all, TOP_FUNCS);
	for (size_t i = 0; i < ns; i++) {
		fprintf(f, "\n### %s\n\n", s[i].name);
		top_table(f, &s[i].prof, 8);
	}
	fputs("\n## Recommendations\n\n", f);
	if (nrecs == 0)
		fputs("No rule of the table fired: no known cost centre reached its threshold.\n",
		      f);
	for (size_t i = 0; i < nrecs; i++)
		fprintf(f,
			"%zu. **%s** (`%s`, %.1f%% of samples; fires at %.0f%%)  \n"
			"   %s  \n   *Evidence:* %s.\n\n",
			i + 1, recs[i].title, recs[i].rule, 100 * recs[i].share,
			100 * recs[i].threshold, recs[i].advice, recs[i].evidence);
	fprintf(f,
		"\n## Next step\n\n`%s/optimize.sh` builds the suites with `make %s`, then the "
		"other compiler profiles, measures each against this build with interleaved A/B "
		"rounds (`heed-bench-compare`) and prints each gain and the best. Name profiles to "
		"try only those: `optimize.sh native`.\n",
		o->out, chosen);
	if (fclose(f) != 0)
		return -errno;
	return 0;
}

static int write_recs_json(const char *path, const char *bprof, const struct heed_folded *all,
			   const struct heed_rec *recs, size_t nrecs, double secs)
{
	json_t *list = json_array(), *top = json_array(), *doc = NULL;
	int rc = list && top ? 0 : -ENOMEM;
	FILE *f;

	for (size_t i = 0; !rc && i < nrecs; i++)
		rc = heed_json_push(list, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "rule",
						    heed_json_string(recs[i].rule), "title",
						    heed_json_string(recs[i].title), "advice",
						    heed_json_string(recs[i].advice), "share",
						    heed_json_number(recs[i].share), "threshold",
						    heed_json_number(recs[i].threshold), "evidence",
						    heed_json_string(recs[i].evidence)));
	for (size_t i = 0; !rc && i < all->nfuncs && i < TOP_FUNCS; i++)
		rc = heed_json_push(top, json_pack("{s:o,s:o,s:o}", "name",
						   heed_json_string(all->funcs[i].name), "self",
						   heed_json_u64(all->funcs[i].self), "total",
						   heed_json_u64(all->funcs[i].total)));
	if (!rc) {
		doc = json_pack("{s:i,s:o,s:o,s:o,s:O,s:O}", "version", 1, "build",
				heed_json_string(bprof), "samples", heed_json_u64(all->samples),
				"duration_s", heed_json_number(secs), "recommendations", list,
				"top", top);
		if (!doc)
			rc = -ENOMEM;
	}
	if (!rc) {
		f = fopen(path, "w");
		if (!f) {
			rc = -errno;
		} else {
			rc = heed_json_write(f, doc);
			if (fclose(f) != 0 && !rc)
				rc = -errno;
		}
	}
	json_decref(doc);
	json_decref(list);
	json_decref(top);
	return rc;
}

/* Single-quoted for the shell: ' becomes '\''. */
static void sh_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* The repository root, where optimize.sh runs make: the nearest directory
 * above BUILD holding heed's sources. The profile does not give the depth
 * (make BUILD=build/x is the default profile two levels down). For a BUILD
 * outside any tree (make BUILD=/elsewhere): the directory we run in. */
static void find_top(const char *build, char *top, size_t len)
{
	char dir[PATH_MAX], marker[PATH_MAX + 32];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", build);
	while ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		snprintf(marker, sizeof(marker), "%s/profiler/profile_optimize.sh", dir);
		if (access(marker, F_OK) == 0) {
			snprintf(top, len, "%s", dir[0] ? dir : "/");
			return;
		}
	}
	if (!getcwd(top, len))
		snprintf(top, len, ".");
}

/* optimize.sh: a header with what this run found, then the fixed body
 * (profiler/profile_optimize.sh, embedded at build time), so the script can
 * be read, edited and rerun on its own. */
static int write_optimize(const char *path, const struct opts *o, const char *build,
			  const char *bprof, const struct suite *s, size_t ns, const char *chosen,
			  const struct heed_rec *recs, size_t nrecs)
{
	FILE *f = fopen(path, "w");
	char top[PATH_MAX];
	const char *why = "no compiler-profile rule fired; -O3 + LTO is the safe default";

	if (!f)
		return -errno;
	find_top(build, top, sizeof(top));
	for (size_t i = 0; i < nrecs; i++)
		if (strcmp(recs[i].rule, "build") == 0)
			why = recs[i].evidence;
	fprintf(f,
		"#!/usr/bin/env bash\n"
		"# Written by heed-profile: applies each compiler profile to the benchmark\n"
		"# suites, measures it against the profiled build (interleaved A/B rounds) and\n"
		"# says which gains most.\n"
		"#   tried first: make %s, because %s\n"
		"# Usage: optimize.sh [BUILD_TYPE...]   (release native pgo debug; default: all)\n",
		chosen, why);
	fputs("top=", f);
	sh_quote(f, top);
	fputs("\nbase_build=", f);
	sh_quote(f, build);
	fprintf(f, "\nbase_label=%s\nchosen=%s\nout=", bprof, chosen);
	sh_quote(f, o->out);
	fputs("\nsuites=(", f);
	for (size_t i = 0; i < ns; i++)
		fprintf(f, "%s%s", i ? " " : "", s[i].name);
	fprintf(f, ")\nsuite_args=(%s)\n", o->quick ? "--quick" : "");
	fputs(profile_optimize_sh, f);
	if (fclose(f) != 0)
		return -errno;
	if (chmod(path, 0755) != 0)
		return -errno;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"bench", required_argument, NULL, 'b'},
		{"out", required_argument, NULL, 'o'},
		{"quick", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	o->hz = 499;
	while ((c = getopt_long(argc, argv, "F:h", lo, NULL)) != -1) {
		uint64_t v;

		switch (c) {
		case 'b':
			if (o->nbenches == MAX_SUITES || !optarg[0] || strchr(optarg, '/')) {
				fprintf(stderr,
					"heed-profile: --bench %s: a suite name of BUILD/bench "
					"(at most %d)\n",
					optarg, MAX_SUITES);
				return 2;
			}
			o->benches[o->nbenches++] = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'q':
			o->quick = 1;
			break;
		case 'F':
			if (heed_parse_u64(optarg, &v) || v < 1 || v > 10000) {
				fprintf(stderr, "heed-profile: -F %s: a frequency 1..10000 Hz\n",
					optarg);
				return 2;
			}
			o->hz = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "heed-profile: unexpected argument %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct suite s[MAX_SUITES];
	struct heed_folded all = {0};
	struct heed_rec recs[MAX_RECS];
	char build[PATH_MAX], out[PATH_MAX], bprof[16], path[PATH_MAX + 32];
	char *owned[MAX_SUITES];
	size_t nowned = 0, nrecs = 0, ns = 0;
	const char *chosen;
	double secs = 0;
	int rc;

	memset(s, 0, sizeof(s));
	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (geteuid() != 0) {
		fputs("heed-profile: needs root: heed-trace loads BPF programs (CAP_BPF and "
		      "CAP_PERFMON); run it with sudo\n",
		      stderr);
		return 1;
	}
	rc = find_build(build, sizeof(build));
	if (rc) {
		fprintf(stderr, "heed-profile: cannot find its build directory: %s\n",
			strerror(-rc));
		return 1;
	}
	build_profile(build, bprof, sizeof(bprof));
	if (!o.out) {
		if (snprintf(out, sizeof(out), "%s/profile", build) >= (int)sizeof(out)) {
			fprintf(stderr, "heed-profile: %s: path too long\n", build);
			return 1;
		}
		o.out = out;
	}
	rc = heed_mkdirs(o.out);
	if (rc) {
		fprintf(stderr, "heed-profile: --out %s: %s\n", o.out, strerror(-rc));
		return 1;
	}
	if (o.nbenches == 0) {
		rc = list_suites(build, &o, owned, &nowned);
		if (rc || o.nbenches == 0) {
			fprintf(stderr,
				"heed-profile: no benchmark suites in %s/bench: run make "
				"bench first\n",
				build);
			rc = 1;
			goto cleanup;
		}
	}
	for (ns = 0; ns < o.nbenches; ns++) {
		s[ns].name = o.benches[ns];
		snprintf(s[ns].prof.build, sizeof(s[ns].prof.build), "%s", bprof);
		rc = profile_suite(build, &o, &s[ns]);
		if (rc) {
			ns++;
			rc = 1;
			goto cleanup;
		}
		secs += s[ns].seconds;
		for (size_t i = 0; i < s[ns].prof.nstacks && !rc; i++)
			rc = heed_folded_add(&all, s[ns].prof.stacks[i].frames,
					     s[ns].prof.stacks[i].count);
		if (rc) {
			ns++;
			fprintf(stderr, "heed-profile: %s\n", strerror(-rc));
			rc = 1;
			goto cleanup;
		}
	}
	snprintf(all.build, sizeof(all.build), "%s", bprof);
	rc = heed_folded_rank(&all);
	if (!rc)
		rc = heed_recommend(&all, recs, MAX_RECS, &nrecs);
	if (rc) {
		fprintf(stderr, "heed-profile: ranking the profile: %s\n", strerror(-rc));
		rc = 1;
		goto cleanup;
	}
	chosen = choose_profile(recs, nrecs);
	snprintf(path, sizeof(path), "%s/report.md", o.out);
	rc = write_report(path, &o, build, bprof, s, ns, &all, recs, nrecs, secs, chosen);
	if (!rc) {
		snprintf(path, sizeof(path), "%s/recommendations.json", o.out);
		rc = write_recs_json(path, bprof, &all, recs, nrecs, secs);
	}
	if (!rc) {
		snprintf(path, sizeof(path), "%s/optimize.sh", o.out);
		rc = write_optimize(path, &o, build, bprof, s, ns, chosen, recs, nrecs);
	}
	if (rc) {
		fprintf(stderr, "heed-profile: %s: %s\n", path, strerror(-rc));
		rc = 1;
		goto cleanup;
	}
	printf("heed-profile: %llu samples over %.1f s in %zu suites; top: %s (%.1f%% self)\n",
	       (unsigned long long)all.samples, secs, ns, all.nfuncs ? all.funcs[0].name : "-",
	       all.nfuncs ? pct(all.funcs[0].self, all.samples) : 0.0);
	for (size_t i = 0; i < nrecs; i++)
		printf("  %-12s %5.1f%%  %s\n", recs[i].rule, 100 * recs[i].share, recs[i].title);
	printf("heed-profile: wrote %s/report.md, recommendations.json, optimize.sh (make %s)\n",
	       o.out, chosen);
cleanup:
	for (size_t i = 0; i < ns; i++)
		heed_folded_free(&s[i].prof);
	heed_folded_free(&all);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	return rc;
}
