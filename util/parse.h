/*
 * parse.h - numbers from options and environment variables, for every tool
 * and test of the toolkit (libheedutil.a; libheed does not use it).
 *
 * The whole string must be the number: leading blanks, a sign where none is
 * allowed, trailing junk ("12x", "0.5x", "1 "), an empty string and a value
 * out of range are refused, so "abc" is never taken as 0 nor "12x" as 12.
 * Range checks particular to an option stay with the caller.
 */
#ifndef HEED_UTIL_PARSE_H
#define HEED_UTIL_PARSE_H

#include <stdint.h>

/* A whole number written as a C integer constant: decimal (42), hex (0x2a)
 * or octal with a leading 0 (052), no sign. Returns 0 and sets *v, or
 * -EINVAL (not such a number; *v untouched) or -ERANGE (above UINT64_MAX). */
int heed_parse_u64(const char *s, uint64_t *v);

/* A finite real number as strtod reads it ("0.5", "1e-3", "-2"); "nan" and
 * "inf" are refused. Returns 0 and sets *v, -EINVAL or -ERANGE. */
int heed_parse_double(const char *s, double *v);

#endif
