/* pprof.h - profiles in pprof's format: the gzipped profile.proto that `go tool pprof`,
 * Grafana Pyroscope and Parca read.
 *
 * A heed_pprof is built in memory, then written once. It holds:
 *
 *   sample types   one (type, unit) pair per value of every sample, e.g. samples/count and
 *                  cpu/nanoseconds for --profile, offcpu/nanoseconds for --offcpu;
 *   mappings       address ranges of files (start, limit, file offset, name, build-id);
 *   locations      an address in a mapping (or none) with its source lines: one line per
 *                  function, the innermost (inlined) first and the real function last;
 *   functions      (name, system name, file), each stored once;
 *   samples        a list of locations, leaf first, with values and labels;
 *   strings        every string once, in one table whose entry 0 is "".
 *
 * Everything added is deduplicated by content: adding an equal mapping, location or
 * function returns the id of the first; adding a sample whose locations and labels equal
 * an earlier one's adds the values to it. So memory grows with distinct stacks, not with
 * samples, and never beyond opts.max_bytes (the limit counts the arrays and hash tables
 * this module allocates). Ids are 1, 2, 3... in order of first addition; 0 means none.
 *
 * Strings given to any function are copied; NULL is taken as "". Errors are 0 or a
 * negative errno; nothing is printed. After an error the profile is still valid and
 * writable, without the item that failed (strings or functions it interned may stay).
 * A handle is not thread-safe.
 */
#ifndef HEED_PROFILER_PPROF_H
#define HEED_PROFILER_PPROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct heed_pprof heed_pprof;

/* At most this many values per sample (sample types). */
#define HEED_PPROF_MAX_VALUES 4
/* opts.max_bytes when 0: 512 MiB, about 10^6 distinct stacks of 30 frames. */
#define HEED_PPROF_DEFAULT_MAX_BYTES (512UL << 20)
/* The file name of the pseudo-mapping that holds kernel frames. */
#define HEED_PPROF_KERNEL_MAPPING "[kernel.kallsyms]"

struct heed_pprof_value_type {
	const char *type; /* "samples", "cpu", "offcpu" */
	const char *unit; /* "count", "nanoseconds" */
};

struct heed_pprof_opts {
	const struct heed_pprof_value_type *sample_types; /* 1..HEED_PPROF_MAX_VALUES */
	size_t nsample_types;
	/* What one sample stands for: for --profile at HZ, cpu/nanoseconds and 1e9 / HZ.
	 * period_type.type NULL: none (period ignored). */
	struct heed_pprof_value_type period_type;
	int64_t period;
	int64_t time_nanos;	/* start of the collection, ns since the epoch (UTC) */
	int64_t duration_nanos; /* length of the collection */
	size_t max_bytes;	/* memory limit of the builder; 0: HEED_PPROF_DEFAULT_MAX_BYTES */
};

/* Mapping flags: how far frames of the mapping are symbolized. A consumer (pprof, Parca)
 * symbolizes a mapping again only when HAS_FUNCTIONS is missing. */
#define HEED_PPROF_HAS_FUNCTIONS     (1U << 0)
#define HEED_PPROF_HAS_FILENAMES     (1U << 1)
#define HEED_PPROF_HAS_LINE_NUMBERS  (1U << 2)
#define HEED_PPROF_HAS_INLINE_FRAMES (1U << 3)

struct heed_pprof_mapping {
	uint64_t start;	 /* first address of the mapping */
	uint64_t limit;	 /* one past its last address; >= start */
	uint64_t offset; /* file offset that start maps */
	const char *file;
	const unsigned char *build_id; /* raw bytes (GNU build-id note), written as lowercase
					  hex; NULL or build_id_len 0: none */
	size_t build_id_len;	       /* at most 64 */
	unsigned int flags;	       /* HEED_PPROF_HAS_* */
};

/* One source line of a location: the function and, when known, where in it. */
struct heed_pprof_line {
	const char *name;	 /* function name as a human reads it (demangled) */
	const char *system_name; /* NULL: the same as name */
	const char *file;	 /* source file; NULL: unknown */
	int64_t line;		 /* 0: unknown */
};

/* A label of a sample: a string (str non-NULL) or a number with an optional unit. */
struct heed_pprof_label {
	const char *key; /* "process", "pid", "thread" */
	const char *str; /* NULL: a numeric label */
	int64_t num;
	const char *num_unit; /* numeric labels only; NULL: none */
};

/* Creates an empty profile. Returns 0, -EINVAL (no sample type or more than
 * HEED_PPROF_MAX_VALUES, a NULL type or unit, a negative period or duration), -ENOSPC
 * (max_bytes below what an empty profile takes) or -ENOMEM. Free *out with heed_pprof_free. */
int heed_pprof_new(const struct heed_pprof_opts *o, heed_pprof **out);

/* Frees everything; NULL is allowed. */
void heed_pprof_free(heed_pprof *p);

/* Adds a mapping (or finds an equal one) and sets *id. Returns 0, -EINVAL (limit below
 * start, build-id longer than 64 bytes), -ENOSPC (max_bytes reached) or -ENOMEM. */
int heed_pprof_add_mapping(heed_pprof *p, const struct heed_pprof_mapping *m, uint64_t *id);

/* The id of the pseudo-mapping HEED_PPROF_KERNEL_MAPPING (whole 64-bit range, no file,
 * HAS_FUNCTIONS), created on first use. Kernel frames go in locations of it. Returns as
 * heed_pprof_add_mapping. */
int heed_pprof_kernel_mapping(heed_pprof *p, uint64_t *id);

/* Adds a location (or finds an equal one: same mapping, address and lines) and sets
 * *id. mapping_id 0: none; otherwise an id returned above. lines[0] is the innermost
 * function at the address, lines[nlines - 1] the function the code belongs to; nlines 0
 * is an unsymbolized address. Returns 0, -EINVAL (unknown mapping id, lines NULL with
 * nlines > 0, nlines above 65535), -ENOSPC or -ENOMEM. */
int heed_pprof_add_location(heed_pprof *p, uint64_t mapping_id, uint64_t address,
			    const struct heed_pprof_line *lines, size_t nlines, uint64_t *id);

/* Adds a sample: nlocs location ids, leaf first (locs[0] is where the sample hit),
 * one value per sample type, and labels (keys should differ; a string and a numeric
 * label may share nothing but their key). Samples with equal locations and equal
 * labels (same order) merge: their values add. pprof ignores a sample without locations,
 * a string label "" and a numeric label 0 without unit. Returns 0, -EINVAL (an unknown location
 * id, locs or labels NULL with a non-zero count, a NULL label key, more than 65535
 * locations or labels), -EOVERFLOW (a merged value would not fit in int64; nothing is
 * added), -ENOSPC or -ENOMEM. */
int heed_pprof_add_sample(heed_pprof *p, const uint64_t *locs, size_t nlocs, const int64_t *values,
			  const struct heed_pprof_label *labels, size_t nlabels);

/* Adds one folded stack, "process;root;...;leaf" as heed-trace --folded, perf and bcc
 * write them (without the count): the first frame becomes the sample's "process" label,
 * the others locations without an address, one function each. A frame ending in "_[k]"
 * is a kernel function (its location is in the kernel mapping), and frames ending in
 * "_[i]" are inlined into the frame before them, so they join its location as inner
 * lines; both annotations are removed from the function names. A stack of one frame
 * (the process alone) is also that frame's only location, so that pprof, which drops
 * samples without locations, still counts it. values as heed_pprof_add_sample. Returns
 * as heed_pprof_add_sample, and -EINVAL for an empty stack. */
int heed_pprof_add_folded(heed_pprof *p, const char *stack, size_t len, const int64_t *values);

struct heed_pprof_stats {
	size_t samples, locations, functions, mappings, strings;
	size_t bytes; /* memory counted against max_bytes */
};

void heed_pprof_stats(const heed_pprof *p, struct heed_pprof_stats *st);

/* Writes the profile, gzip-compressed, to out. The profile is unchanged and may grow and
 * be written again. Returns 0, -EIO (a write failed), or -ENOMEM. */
int heed_pprof_write(heed_pprof *p, FILE *out);

/* Writes the profile to path atomically: to a temporary file in the same directory that
 * is renamed over path once complete, so a reader (a shipper polling a directory) never
 * sees a partial file. Returns 0, the negative errno of open/write/rename, or -ENOMEM. */
int heed_pprof_write_file(heed_pprof *p, const char *path);

#endif
