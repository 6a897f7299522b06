/* pprof_int.h - the profile builder's storage, shared by pprof.c (adding, deduplicating)
 * and pprof_write.c (encoding).
 *
 * Each kind of item lives in one growable array (id = index + 1) and its
 * variable parts (a location's lines, a sample's location ids, labels and values) in
 * shared pools addressed by offset, so 10^5 stacks cost a few allocations, not 10^6.
 * Open-addressed hash tables of item indices, at most half full, deduplicate: a new
 * item's variable parts are staged at the end of their pool, compared, and kept only
 * if the item is new.
 *
 * Invariants: item i of an array has id i + 1, and every id stored in another item
 * (a line's function, a location's mapping, a sample's locations) is at most that
 * array's count; index 0 of strs is ""; a table holds each index of its array once and
 * has at least twice as many slots as entries; vals holds nvalues per sample; bytes
 * counts the capacity of every array and table, never above max_bytes after a
 * successful call.
 */
#ifndef HEED_PROFILER_PPROF_INT_H
#define HEED_PROFILER_PPROF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "pprof.h"

struct str {
	size_t off; /* into chars */
	size_t len;
};

struct func {
	int64_t name, sys, file; /* string indices */
};

struct line {
	uint64_t func; /* function id */
	int64_t line;
};

struct loc {
	uint64_t mapping, addr;
	size_t line_off; /* into lines */
	uint32_t nlines;
};

struct mapping {
	uint64_t start, limit, offset;
	int64_t file, build_id; /* string indices */
	unsigned int flags;
};

struct label {
	int64_t key, str, num, unit; /* key, str, unit: string indices */
};

struct sample {
	size_t loc_off; /* into locids */
	size_t lab_off; /* into labels */
	uint32_t nlocs, nlabels;
	/* values at vals[index * nvalues] */
};

struct slot {
	uint32_t idx; /* item index + 1; 0: empty */
	uint32_t hash;
};

struct table {
	struct slot *s;
	size_t cap; /* power of two, or 0 */
	size_t n;
};

/* A growable array: data, count, capacity in elements. */
#define ARRAY(T)                                                                                   \
	struct {                                                                                   \
		T *v;                                                                              \
		size_t n, cap;                                                                     \
	}

struct heed_pprof {
	struct heed_pprof_opts o; /* its strings are not kept: type_idx, period_idx */
	int64_t type_idx[HEED_PPROF_MAX_VALUES][2];
	int64_t period_idx[2];
	size_t nvalues;
	size_t bytes, max_bytes;
	uint64_t kernel_mapping; /* 0 until first use */

	ARRAY(char) chars;
	ARRAY(struct str) strs;
	ARRAY(struct func) funcs;
	ARRAY(struct line) lines;
	ARRAY(struct loc) locs;
	ARRAY(struct mapping) maps;
	ARRAY(uint64_t) locids;
	ARRAY(struct label) labels;
	ARRAY(int64_t) vals;
	ARRAY(struct sample) samples;
	struct table tstr, tfunc, tloc, tmap, tsample;
};

#endif
