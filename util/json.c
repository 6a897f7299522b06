/* json.c - our rules on top of jansson (json.h). */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(17))

int heed_json_parse(const char *text, size_t len, json_t **out, char *err, size_t errlen)
{
	json_error_t e;

	*out = json_loadb(text, len, 0, &e);
	if (*out)
		return 0;
	if (json_error_code(&e) == json_error_out_of_memory) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(err, errlen, "invalid JSON at byte %d (line %d, column %d): %s", e.position,
		 e.line, e.column, e.text);
	return -EINVAL;
}

/* The whole file into a malloc'd buffer: 0 or -errno. */
static int slurp(FILE *f, char **buf, size_t *len)
{
	size_t cap = 0;
	char *b = NULL;

	*len = 0;
	for (;;) {
		if (*len == cap) {
			char *nb = realloc(b, cap ? cap * 2 : 65536);

			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			cap = cap ? cap * 2 : 65536;
		}
		size_t got = fread(b + *len, 1, cap - *len, f);

		*len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		int rc = errno ? -errno : -EIO;

		free(b);
		return rc;
	}
	*buf = b;
	return 0;
}

int heed_json_load(const char *path, json_t **out, char *err, size_t errlen)
{
	char inner[256], *buf = NULL;
	size_t len;
	FILE *f;
	int rc;

	*out = NULL;
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	errno = 0;
	rc = slurp(f, &buf, &len);
	fclose(f);
	if (rc) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(-rc));
		return rc;
	}
	rc = heed_json_parse(buf, len, out, inner, sizeof(inner));
	if (rc)
		snprintf(err, errlen, "%s: %s", path, inner);
	free(buf);
	return rc;
}

double heed_json_num(const json_t *obj, const char *key, double dflt)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

const char *heed_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

json_t *heed_json_number(double v)
{
	if (!isfinite(v))
		return json_null();
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return json_integer((json_int_t)v);
	return json_real(v);
}

json_t *heed_json_u64(uint64_t v)
{
	/* json_int_t is signed: past INT64_MAX only a real can hold the size. */
	return v <= INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, at most U+10FFFF), 0 if there is none. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

static int utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t n; *p; p += n) {
		n = utf8_seq(p);
		if (!n)
			return 0;
	}
	return 1;
}

/* A malloc'd copy of s with each byte that starts no valid sequence
 * replaced by U+FFFD; NULL when out of memory. */
static char *utf8_fixed(const char *s)
{
	static const char repl[] = "\xef\xbf\xbd";
	char *buf = malloc(strlen(s) * 3 + 1);
	size_t o = 0;

	if (!buf)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_seq(p);

		if (n) {
			memcpy(buf + o, p, n);
			p += n;
		} else {
			n = 3;
			memcpy(buf + o, repl, n);
			p++;
		}
		o += n;
	}
	buf[o] = '\0';
	return buf;
}

json_t *heed_json_string(const char *s)
{
	char *fixed;
	json_t *j;

	if (!s || utf8_ok(s))
		return json_string(s);
	fixed = utf8_fixed(s);
	j = fixed ? json_string(fixed) : NULL;
	free(fixed);
	return j;
}

json_t *heed_json_numbers(const double *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (heed_json_push(a, heed_json_number(v[i]))) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

int heed_json_set(json_t *obj, const char *key, json_t *v)
{
	char *fixed = NULL;
	int rc;

	if (!v)
		return -ENOMEM;
	if (!utf8_ok(key)) {
		fixed = utf8_fixed(key);
		if (!fixed) {
			json_decref(v);
			return -ENOMEM;
		}
	}
	/* json_object_set_new releases v when it fails. */
	rc = json_object_set_new(obj, fixed ? fixed : key, v) == 0 ? 0 : -ENOMEM;
	free(fixed);
	return rc;
}

int heed_json_push(json_t *arr, json_t *v)
{
	return v && json_array_append_new(arr, v) == 0 ? 0 : -ENOMEM;
}

int heed_json_write(FILE *f, const json_t *doc)
{
	if (json_dumpf(doc, f, DUMP_FLAGS) != 0)
		return -EIO;
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}

int heed_json_write_rows(FILE *f, const json_t *head, const char *key, const json_t *rows)
{
	json_t *k = json_string(key);
	char *h = json_dumps(head, DUMP_FLAGS), *ks = k ? json_dumps(k, JSON_ENCODE_ANY) : NULL;
	size_t i, hl = h ? strlen(h) : 0;
	const json_t *row;
	int rc = 0;

	if (!json_is_object(head) || !json_is_array(rows)) {
		rc = -EINVAL;
		goto cleanup;
	}
	if (!h || !ks) {
		rc = -ENOMEM;
		goto cleanup;
	}
	/* h is "{...}": reopen it for one more member. */
	fprintf(f, "%.*s%s%s:[", (int)(hl - 1), h, hl > 2 ? "," : "", ks);
	json_array_foreach(rows, i, row)
	{
		fputs(i ? ",\n" : "\n", f);
		if (json_dumpf(row, f, DUMP_FLAGS | JSON_ENCODE_ANY) != 0)
			rc = -EIO;
	}
	fputs("\n]}\n", f);
	if (ferror(f))
		rc = -EIO;
cleanup:
	free(h);
	free(ks);
	json_decref(k);
	return rc;
}
