/* jsonw.c - see jsonw.h. */
#include "jsonw.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>

void heed_jw_init(struct heed_jw *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->first[0] = 1;
	w->close[0] = 0;
	w->after_key = 0;
	w->err = 0;
}

static void fail(struct heed_jw *w, int err)
{
	if (!w->err)
		w->err = err;
}

/* Separator before a value or key at the current level. */
static void sep(struct heed_jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (!w->first[w->depth])
		fputc(',', w->f);
	w->first[w->depth] = 0;
}

static void open_level(struct heed_jw *w, char open, char close)
{
	sep(w);
	fputc(open, w->f);
	if (w->depth + 1 >= HEED_JW_DEPTH) {
		fail(w, -EINVAL);
		return;
	}
	w->depth++;
	w->first[w->depth] = 1;
	w->close[w->depth] = close;
}

void heed_jw_obj(struct heed_jw *w)
{
	open_level(w, '{', '}');
}

void heed_jw_arr(struct heed_jw *w)
{
	open_level(w, '[', ']');
}

void heed_jw_end(struct heed_jw *w)
{
	if (w->depth == 0) {
		fail(w, -EINVAL);
		return;
	}
	fputc(w->close[w->depth], w->f);
	w->depth--;
}

static void put_str(struct heed_jw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', w->f);
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(w->f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(w->f, "\\u%04x", *p);
		else
			fputc(*p, w->f);
	}
	fputc('"', w->f);
}

void heed_jw_key(struct heed_jw *w, const char *k)
{
	sep(w);
	put_str(w, k);
	fputc(':', w->f);
	w->after_key = 1;
}

void heed_jw_str(struct heed_jw *w, const char *s)
{
	sep(w);
	put_str(w, s);
}

void heed_jw_u64(struct heed_jw *w, uint64_t v)
{
	sep(w);
	fprintf(w->f, "%" PRIu64, v);
}

void heed_jw_i64(struct heed_jw *w, int64_t v)
{
	sep(w);
	fprintf(w->f, "%" PRId64, v);
}

void heed_jw_dbl(struct heed_jw *w, double v)
{
	sep(w);
	if (isfinite(v))
		fprintf(w->f, "%.6g", v);
	else
		fputs("null", w->f);
}

int heed_jw_close(struct heed_jw *w)
{
	if (w->depth != 0)
		fail(w, -EINVAL);
	fputc('\n', w->f);
	if (fflush(w->f) || ferror(w->f))
		fail(w, -EIO);
	return w->err;
}
