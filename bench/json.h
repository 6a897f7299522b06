/*
 * json.h - a small JSON reader and string writer for the bench tools.
 *
 * The harness reads back its own result files (baselines, comparisons), so
 * this parses standard JSON (RFC 8259) into a tree: objects keep their keys
 * in order, numbers are doubles, strings are NUL-terminated UTF-8 (a string
 * with an embedded \u0000 is refused). Nesting is limited to 64 levels.
 * Nothing here prints; errors come back as a sentence in err.
 */
#ifndef HEED_BENCH_JSON_H
#define HEED_BENCH_JSON_H

#include <stddef.h>
#include <stdio.h>

enum heed_json_type {
	HEED_JSON_NULL,
	HEED_JSON_BOOL,
	HEED_JSON_NUMBER,
	HEED_JSON_STRING,
	HEED_JSON_ARRAY,
	HEED_JSON_OBJECT,
};

struct heed_json {
	enum heed_json_type type;
	double num;		 /* NUMBER; BOOL as 0 or 1 */
	char *str;		 /* STRING */
	char *key;		 /* the member name when the parent is an object */
	struct heed_json *child; /* first element or member */
	struct heed_json *next;	 /* next sibling */
};

/* Parse len bytes of text into *out (free with heed_json_free). Returns 0,
 * -EINVAL with a sentence in err (naming the byte offset), or -ENOMEM. */
int heed_json_parse(const char *text, size_t len, struct heed_json **out, char *err, size_t errlen);

/* Read and parse the file at path. Errors as heed_json_parse, plus -errno
 * from opening or reading it. */
int heed_json_load(const char *path, struct heed_json **out, char *err, size_t errlen);

/* The member key of an object, NULL if absent or obj is not an object. */
const struct heed_json *heed_json_get(const struct heed_json *obj, const char *key);

/* The number at member key, or dflt if absent or not a number. */
double heed_json_num(const struct heed_json *obj, const char *key, double dflt);

/* The string at member key, or NULL. */
const char *heed_json_str(const struct heed_json *obj, const char *key);

/* Free a tree; NULL is allowed. */
void heed_json_free(struct heed_json *j);

/* Write s as a JSON string literal, quotes included. */
void heed_json_write_str(FILE *f, const char *s);

/* Write a number: integers exactly, others with 17 significant digits;
 * non-finite values as null (JSON has no NaN). */
void heed_json_write_num(FILE *f, double v);

#endif
