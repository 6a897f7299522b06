/* jsonw.h - a small streaming JSON writer for heed-trace's --json output.
 *
 * Calls nest objects and arrays up to HEED_JW_DEPTH; the writer inserts commas and
 * escapes strings (control characters as \u00XX, other bytes as they are). Write
 * errors are sticky: heed_jw_close() reports the first one.
 */
#ifndef HEED_PROFILER_JSONW_H
#define HEED_PROFILER_JSONW_H

#include <stdint.h>
#include <stdio.h>

#define HEED_JW_DEPTH 32

struct heed_jw {
	FILE *f;
	int depth;
	int first[HEED_JW_DEPTH];  /* no member written yet at this level */
	char close[HEED_JW_DEPTH]; /* '}' or ']' closing this level */
	int after_key;		   /* a key was written: the value needs no comma */
	int err;		   /* first error (negative errno), sticky */
};

void heed_jw_init(struct heed_jw *w, FILE *f);
void heed_jw_obj(struct heed_jw *w); /* { */
void heed_jw_arr(struct heed_jw *w); /* [ */
void heed_jw_end(struct heed_jw *w); /* } or ] */
void heed_jw_key(struct heed_jw *w, const char *k);
void heed_jw_str(struct heed_jw *w, const char *s);
void heed_jw_u64(struct heed_jw *w, uint64_t v);
void heed_jw_i64(struct heed_jw *w, int64_t v);
void heed_jw_dbl(struct heed_jw *w, double v); /* non-finite values are written as null */
/* Flushes; returns 0 or the first error (-EIO, or -EINVAL for unbalanced nesting). */
int heed_jw_close(struct heed_jw *w);

#endif
