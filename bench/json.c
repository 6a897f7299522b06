/*
 * json.c - see json.h. A recursive-descent parser; recursion is bounded by
 * MAX_DEPTH so a hostile file cannot exhaust the stack.
 */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

struct parser {
	const char *s;
	size_t len;
	size_t pos;
	char *err;
	size_t errlen;
	int nomem;
};

static int fail(struct parser *p, const char *what)
{
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "invalid JSON at byte %zu: %s", p->pos, what);
	return -EINVAL;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static int literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return fail(p, "unknown literal");
	p->pos += n;
	return 0;
}

static int hex4(struct parser *p, unsigned *out)
{
	unsigned v = 0;

	if (p->len - p->pos < 4)
		return fail(p, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = p->s[p->pos++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return fail(p, "bad hex digit in \\u escape");
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decoded text is never longer than its escaped form, so one buffer of the
 * raw length suffices. */
static int parse_string(struct parser *p, char **out)
{
	size_t start, end;
	char *o;
	size_t n = 0;
	int err;

	p->pos++;
	start = p->pos;
	for (end = start; end < p->len && p->s[end] != '"'; end++)
		if (p->s[end] == '\\')
			end++;
	if (end >= p->len)
		return fail(p, "unterminated string");
	o = malloc(end - start + 1);
	if (!o) {
		p->nomem = 1;
		return -ENOMEM;
	}
	while (p->pos < end) {
		unsigned char c = (unsigned char)p->s[p->pos++];
		unsigned cp = 0, lo = 0;

		if (c < 0x20) {
			err = fail(p, "control character in string");
			goto bad;
		}
		if (c != '\\') {
			o[n++] = (char)c;
			continue;
		}
		c = (unsigned char)p->s[p->pos++];
		switch (c) {
		case '"':
		case '\\':
		case '/':
			o[n++] = (char)c;
			break;
		case 'b':
			o[n++] = '\b';
			break;
		case 'f':
			o[n++] = '\f';
			break;
		case 'n':
			o[n++] = '\n';
			break;
		case 'r':
			o[n++] = '\r';
			break;
		case 't':
			o[n++] = '\t';
			break;
		case 'u':
			err = hex4(p, &cp);
			if (err)
				goto bad;
			if (cp >= 0xd800 && cp < 0xdc00 && p->len - p->pos >= 6 &&
			    p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u') {
				p->pos += 2;
				err = hex4(p, &lo);
				if (err)
					goto bad;
				if (lo < 0xdc00 || lo > 0xdfff) {
					err = fail(p, "unpaired surrogate");
					goto bad;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp == 0) {
				err = fail(p, "\\u0000 in string");
				goto bad;
			}
			n += put_utf8(o + n, cp);
			break;
		default:
			err = fail(p, "unknown escape");
			goto bad;
		}
	}
	o[n] = '\0';
	p->pos = end + 1;
	*out = o;
	return 0;
bad:
	free(o);
	return err;
}

static int parse_number(struct parser *p, double *out)
{
	char buf[64];
	size_t n = 0;
	char *endp;

	while (p->pos + n < p->len && n < sizeof(buf) - 1 &&
	       strchr("+-0123456789.eE", p->s[p->pos + n]) && p->s[p->pos + n] != '\0')
		n++;
	if (n == 0 || n == sizeof(buf) - 1)
		return fail(p, "bad number");
	memcpy(buf, p->s + p->pos, n);
	buf[n] = '\0';
	errno = 0;
	*out = strtod(buf, &endp);
	if (*endp != '\0' || errno == ERANGE)
		return fail(p, "bad number");
	p->pos += n;
	return 0;
}

static int parse_value(struct parser *p, struct heed_json *v, int depth);

static int parse_members(struct parser *p, struct heed_json *v, int depth, char close)
{
	struct heed_json **tail = &v->child;
	int err;

	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		struct heed_json *c = calloc(1, sizeof(*c));

		if (!c) {
			p->nomem = 1;
			return -ENOMEM;
		}
		*tail = c;
		tail = &c->next;
		skip_ws(p);
		if (close == '}') {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return fail(p, "expected a member name");
			err = parse_string(p, &c->key);
			if (err)
				return err;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return fail(p, "expected ':'");
			p->pos++;
		}
		err = parse_value(p, c, depth + 1);
		if (err)
			return err;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return 0;
		}
		return fail(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int parse_value(struct parser *p, struct heed_json *v, int depth)
{
	if (depth > MAX_DEPTH)
		return fail(p, "nested too deep");
	skip_ws(p);
	if (p->pos >= p->len)
		return fail(p, "unexpected end");
	switch (p->s[p->pos]) {
	case '{':
		v->type = HEED_JSON_OBJECT;
		return parse_members(p, v, depth, '}');
	case '[':
		v->type = HEED_JSON_ARRAY;
		return parse_members(p, v, depth, ']');
	case '"':
		v->type = HEED_JSON_STRING;
		return parse_string(p, &v->str);
	case 't':
		v->type = HEED_JSON_BOOL;
		v->num = 1;
		return literal(p, "true");
	case 'f':
		v->type = HEED_JSON_BOOL;
		return literal(p, "false");
	case 'n':
		v->type = HEED_JSON_NULL;
		return literal(p, "null");
	default:
		v->type = HEED_JSON_NUMBER;
		return parse_number(p, &v->num);
	}
}

int heed_json_parse(const char *text, size_t len, struct heed_json **out, char *err, size_t errlen)
{
	struct parser p = {.s = text, .len = len, .err = err, .errlen = errlen};
	struct heed_json *root = calloc(1, sizeof(*root));
	int rc;

	*out = NULL;
	if (!root)
		return -ENOMEM;
	rc = parse_value(&p, root, 0);
	if (!rc) {
		skip_ws(&p);
		if (p.pos != p.len)
			rc = fail(&p, "trailing characters");
	}
	if (rc) {
		if (p.nomem && err && errlen)
			snprintf(err, errlen, "out of memory parsing JSON");
		heed_json_free(root);
		return rc;
	}
	*out = root;
	return 0;
}

int heed_json_load(const char *path, struct heed_json **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len = 0;
	int rc = 0;

	*out = NULL;
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			char *nb = realloc(buf, cap ? cap * 2 : 65536);

			if (!nb) {
				rc = -ENOMEM;
				snprintf(err, errlen, "%s: out of memory", path);
				goto cleanup;
			}
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto cleanup;
	}
	rc = heed_json_parse(buf, len, out, err, errlen);
	if (rc && err && errlen) {
		char inner[256];

		snprintf(inner, sizeof(inner), "%s", err);
		snprintf(err, errlen, "%s: %s", path, inner);
	}
cleanup:
	free(buf);
	fclose(f);
	return rc;
}

const struct heed_json *heed_json_get(const struct heed_json *obj, const char *key)
{
	if (!obj || obj->type != HEED_JSON_OBJECT)
		return NULL;
	for (const struct heed_json *c = obj->child; c; c = c->next)
		if (c->key && strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

double heed_json_num(const struct heed_json *obj, const char *key, double dflt)
{
	const struct heed_json *v = heed_json_get(obj, key);

	return v && v->type == HEED_JSON_NUMBER ? v->num : dflt;
}

const char *heed_json_str(const struct heed_json *obj, const char *key)
{
	const struct heed_json *v = heed_json_get(obj, key);

	return v && v->type == HEED_JSON_STRING ? v->str : NULL;
}

void heed_json_free(struct heed_json *j)
{
	while (j) {
		struct heed_json *next = j->next;

		heed_json_free(j->child);
		free(j->str);
		free(j->key);
		free(j);
		j = next;
	}
}

void heed_json_write_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void heed_json_write_num(FILE *f, double v)
{
	if (!isfinite(v))
		fputs("null", f);
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%.17g", v);
}
