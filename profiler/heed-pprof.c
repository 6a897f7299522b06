/*
 * heed-pprof - folded stacks to a pprof profile (gzipped profile.proto).
 *
 *     heed-pprof [-F HZ | --offcpu] FOLDED OUT.pb.gz
 *
 * FOLDED holds "process;root;...;leaf COUNT" lines as heed-trace --folded, perf script
 * | stackcollapse-perf.pl and bcc's profile -f write them; the first frame becomes the
 * sample's "process" label, "_[k]" frames kernel functions and "_[i]" frames inlined
 * ones (pprof.h, heed_pprof_add_folded). The counts are samples (samples/count); with
 * -F HZ each sample also counts 1e9/HZ ns of CPU (cpu/nanoseconds), with --offcpu the
 * counts are off-CPU nanoseconds (offcpu/nanoseconds). The profile's time is FOLDED's
 * modification time (when the stacks were written). Exit 0, 1 on any error, 2 on a
 * usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "parse.h"
#include "pprof.h"
#include "folded.h"

static void usage(FILE *f)
{
	/* FOLDED's line comes after the options: an indented line right after
	 * the usage line reads as more usage to completion/heed's parser. */
	fputs("usage: heed-pprof [-F HZ | --offcpu] FOLDED OUT.pb.gz\n"
	      "  -F HZ      counts are CPU samples taken at HZ: adds cpu/nanoseconds\n"
	      "  --offcpu   counts are off-CPU nanoseconds (heed-trace --offcpu)\n"
	      "  default    counts are samples (samples/count)\n"
	      "  FOLDED     \"process;frame;...;leaf COUNT\" lines (heed-trace --folded)\n",
	      f);
}

/* -F takes a positive rate; a billion Hz (one sample a nanosecond) bounds the
 * cpu/nanoseconds period at 1. */
static int parse_hz(const char *s, int64_t *hz)
{
	uint64_t v;

	if (heed_parse_u64(s, &v) || v == 0 || v > 1000000000)
		return -EINVAL;
	*hz = (int64_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"offcpu", no_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct heed_pprof_value_type types[2] = {{"samples", "count"}, {"cpu", "nanoseconds"}};
	struct heed_pprof_opts o = {.sample_types = types, .nsample_types = 1};
	struct heed_folded prof = {0};
	heed_pprof *p = NULL;
	int64_t hz = 0;
	int offcpu = 0, c, err, rc = 1;
	char msg[512];
	struct stat sb;

	while ((c = getopt_long(argc, argv, "F:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			if (parse_hz(optarg, &hz)) {
				fprintf(stderr, "heed-pprof: -F %s: not a frequency in Hz\n",
					optarg);
				return 2;
			}
			break;
		case 'o':
			offcpu = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2 || (hz && offcpu)) {
		usage(stderr);
		return 2;
	}
	if (hz) {
		o.nsample_types = 2;
		o.period_type = types[1];
		o.period = 1000000000 / hz;
	} else if (offcpu) {
		types[0] = (struct heed_pprof_value_type){"offcpu", "nanoseconds"};
	}
	err = heed_folded_read(&prof, argv[optind], msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "heed-pprof: %s\n", msg);
		goto cleanup;
	}
	if (stat(argv[optind], &sb) == 0)
		o.time_nanos = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	err = heed_pprof_new(&o, &p);
	if (err) {
		fprintf(stderr, "heed-pprof: %s\n", strerror(-err));
		goto cleanup;
	}
	for (size_t i = 0; i < prof.nstacks; i++) {
		const struct heed_folded_stack *s = &prof.stacks[i];
		int64_t v[2] = {(int64_t)s->count, 0};

		if (s->count > INT64_MAX ||
		    (hz && __builtin_mul_overflow((int64_t)s->count, o.period, &v[1])))
			err = -EOVERFLOW;
		else
			err = heed_pprof_add_folded(p, s->frames, strlen(s->frames), v);
		if (err == -EOVERFLOW) {
			fprintf(stderr,
				"heed-pprof: %s: stack %zu: its count is too large for pprof "
				"(int64)\n",
				argv[optind], i + 1);
			goto cleanup;
		}
		if (err) {
			fprintf(stderr, "heed-pprof: %s: stack %zu: %s\n", argv[optind], i + 1,
				strerror(-err));
			goto cleanup;
		}
	}
	err = heed_pprof_write_file(p, argv[optind + 1]);
	if (err) {
		fprintf(stderr, "heed-pprof: %s: %s\n", argv[optind + 1], strerror(-err));
		goto cleanup;
	}
	rc = 0;
cleanup:
	heed_pprof_free(p);
	heed_folded_free(&prof);
	return rc;
}
