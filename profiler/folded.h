/*
 * folded.h - a CPU profile as folded stacks, and its hot functions.
 *
 * Input is the folded format heed-trace --folded and flamegraph.pl use: one
 * "root;caller;...;leaf COUNT" per line, parsed by libflame (flame/flame.h: the
 * same rules as heed-flame), with whole sample counts on one column; identical
 * stacks are merged. Frame annotations (_[k] kernel,
 * _[i] inlined, _[j] JIT, _[w] waker) are kept in names and ignored by
 * heed_frame_match().
 *
 * heed_folded_rank() ranks every function by self samples (the function is the
 * leaf) and total samples (the function is anywhere on the stack, counted
 * once per stack even when recursive), so self <= total <= samples holds.
 *
 * Errors are 0 or a negative errno; -EINVAL comes with a sentence in err
 * naming the file and line.
 */
#ifndef HEED_FOLDED_H
#define HEED_FOLDED_H

#include <stddef.h>
#include <stdint.h>

struct heed_folded_stack {
	char *frames; /* "a;b;c", owned */
	uint64_t count;
};

struct heed_folded_func {
	char *name; /* owned */
	uint64_t self;
	uint64_t total;
};

struct heed_folded {
	uint64_t samples; /* sum of every stack's count */
	struct heed_folded_stack *stacks;
	size_t nstacks;
	size_t cap;
	struct heed_folded_func *funcs; /* after heed_folded_rank: by self, then total */
	size_t nfuncs;
	/* The build type the measured binaries came from: debug, default,
	 * release, native, pgo ("" when unknown). Read by the build rule. */
	char build[16];
};

/* Adds "frames COUNT"; blank lines and zero counts add nothing. -EINVAL when
 * libflame refuses the line, or the count is not a whole number of samples
 * below 2^64, or there is no frame. */
int heed_folded_add_line(struct heed_folded *p, const char *line);

/* Adds one stack with its count (frames joined by ';'). */
int heed_folded_add(struct heed_folded *p, const char *frames, uint64_t count);

/* Reads a folded file; err names the file and the bad line. */
int heed_folded_read(struct heed_folded *p, const char *path, char *err, size_t errlen);

/* Drops every stack with a frame matching one of the NULL-terminated
 * fnmatch patterns (annotations ignored) and returns the samples dropped;
 * heed-profile uses it to leave the tracer's own probe handling out.
 * Call before heed_folded_rank(). */
uint64_t heed_folded_drop(struct heed_folded *p, const char *const *patterns);

/* Fills p->funcs (replacing an earlier ranking). */
int heed_folded_rank(struct heed_folded *p);

/* Releases everything p owns and zeroes it; p itself is the caller's. */
void heed_folded_free(struct heed_folded *p);

/* Whether a frame (annotation stripped) matches an fnmatch(3) pattern. */
int heed_frame_match(const char *frame, size_t len, const char *pattern);

/* Whether a frame carries the kernel annotation _[k]. */
int heed_frame_is_kernel(const char *frame, size_t len);

#endif
