/* stacks.h - stack counts read from the kernel (sampler_cpu.bpf.c, sampler_off.bpf.c), turned
 * into symbolized folded stacks, top functions, folded files and flame graphs.
 *
 * A folded stack is "comm;root;...;leaf": user frames then kernel frames. A stack
 * that could not be read shows as a "[lost user stack]" or "[lost kernel stack]"
 * frame so its samples still count, and a user stack unwound only part of the way
 * starts with a "[truncated]" frame: never silently cut.
 */
#ifndef HEED_PROFILER_STACKS_H
#define HEED_PROFILER_STACKS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pprof.h"
#include "folded.h"
#include "symbolize.h"
#include "trace.h"

struct heed_stack {
	char *folded;
	uint64_t count;
};

struct heed_stacks {
	struct heed_stack *v;
	size_t n, cap;
	uint64_t total;
};

/* Symbolizes the n counted stacks of v (trace.h) and appends them to *out, merged
 * where they fold alike: under a root frame above comm when root is not NULL, each
 * count times mult (1 keeps the counts). Returns 0 or -ENOMEM. */
int heed_stacks_collect(const struct heed_raw_stack *const *v, size_t n, heed_sym *sym,
			const char *root, const char *comm, double mult, struct heed_stacks *out);

/* Writes "stack count" lines. Returns 0 or -EIO. */
int heed_stacks_write_folded(const struct heed_stacks *st, FILE *f);

/* Renders the stacks as an SVG flame graph through libflame. countname labels the
 * counts ("samples", "ns"). Returns 0 or a negative errno (message in err). */
int heed_stacks_write_flame(const struct heed_stacks *st, const char *path, const char *title,
			    const char *countname, char *err, size_t errlen);

/* A differential flame graph from before to after (colours by the change), each
 * stack's count times scale_b or scale_a (to compare per operation, say); with
 * before NULL an ordinary one of after. Returns as heed_stacks_write_flame. */
int heed_stacks_write_diff(const struct heed_stacks *before, double scale_b,
			   const struct heed_stacks *after, double scale_a, const char *path,
			   const char *title, const char *countname, char *err, size_t errlen);

/* Ranks the functions of st as heed_folded_rank does (out->funcs by self count, ties
 * by total), the comm root frame left out: it is not a function. *out starts zeroed;
 * free it with heed_folded_free, also on error. Returns 0 or -ENOMEM. */
int heed_stacks_top(const struct heed_stacks *st, struct heed_folded *out);

/* Adds the n counted stacks of v, taken in process pid (name comm, the sample's
 * "process" label; pid its "pid" label) to p: kernel frames in the kernel mapping, user
 * frames at their address in a mapping of maps (file, range, file offset and the
 * file's GNU build-id), inlined frames as inner lines of their caller's location, and
 * the "[truncated]", "[lost user stack]" and "[lost kernel stack]" frames as locations
 * without an address, as in the folded stacks. Sample value i is the count times
 * mult[i] (as many as p has sample types). Returns 0 or a heed_pprof_* error. */
int heed_stacks_pprof(const struct heed_raw_stack *const *v, size_t n, heed_sym *sym,
		      const struct heed_maps *maps, const char *comm, pid_t pid,
		      const int64_t *mult, size_t nmult, heed_pprof *p);

void heed_stacks_free(struct heed_stacks *st);

#endif
