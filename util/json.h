/*
 * json.h - every JSON file of the tools is read and written through jansson
 * (Debian's libjansson, fuzzed upstream); these are the few rules of our own
 * on top of it. Callers use jansson's API (json_object_get, json_array_foreach,
 * json_pack ...) for everything else.
 *
 * Why jansson rather than json-c: objects keep their members in insertion
 * order (our files are read by people and by line tools, and their shape is
 * versioned), integers and reals are distinct types with 64-bit integers
 * (counts stay exact), and real numbers are written with a chosen precision.
 *
 * Our writing rules, the same for every file:
 * - compact (no blanks; ci scripts grep "key":value pairs), one document and
 *   a newline; heed_json_write_rows puts each element of one array on its
 *   own line (scripts count results line by line);
 * - a number that is a whole value below 2^53 is written as an integer, others
 *   with 17 significant digits, NaN and infinities as null (JSON has neither);
 * - strings are UTF-8: bytes that are not (a symbol name from a foreign ELF
 *   file) are written as U+FFFD, never as an invalid document.
 *
 * Functions returning int give 0 or a negative errno; with an err buffer, a
 * sentence naming the file and the place of a syntax error. Nothing prints.
 */
#ifndef HEED_UTIL_JSON_H
#define HEED_UTIL_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Parse len bytes into *out (json_decref it). -EINVAL with "invalid JSON at
 * byte N (line L, column C): cause" in err, or -ENOMEM. */
int heed_json_parse(const char *text, size_t len, json_t **out, char *err, size_t errlen);

/* Read and parse the file at path; err starts with the path. -errno from
 * opening or reading it (-ENOENT for a missing file), else as heed_json_parse. */
int heed_json_load(const char *path, json_t **out, char *err, size_t errlen);

/* The number (integer or real) at member key of obj, or dflt when obj is not
 * an object, the member is absent or is not a number. */
double heed_json_num(const json_t *obj, const char *key, double dflt);

/* The string at member key of obj, or NULL. Valid while obj lives. */
const char *heed_json_str(const json_t *obj, const char *key);

/* New values by the rules above; NULL only when out of memory. */
json_t *heed_json_number(double v);
json_t *heed_json_u64(uint64_t v);
json_t *heed_json_string(const char *s);
/* An array of n numbers. */
json_t *heed_json_numbers(const double *v, size_t n);

/* obj[key] = v, taking v's reference (v may be NULL: a failed constructor);
 * a key that is not UTF-8 is stored as heed_json_string would write it.
 * Returns 0 or -ENOMEM (obj is not an object, or out of memory); on error v
 * is released. */
int heed_json_set(json_t *obj, const char *key, json_t *v);
/* Append v to arr, as heed_json_set. */
int heed_json_push(json_t *arr, json_t *v);

/* Write doc compactly and a newline. 0, or -EIO when f failed (ferror). */
int heed_json_write(FILE *f, const json_t *doc);

/* Write the object head with one more member, key, the array rows, each
 * element on its own line: {"schema":...,"key":[\n{...},\n{...}\n]}\n.
 * 0, -EINVAL (head is not an object), -ENOMEM or -EIO. */
int heed_json_write_rows(FILE *f, const json_t *head, const char *key, const json_t *rows);

#endif
