/*
 * units.h - numbers for people, one style for every tool: three significant
 * digits and an SI prefix ("180 ns", "12.3 µs", "1.50 ms", "1.10 k instr",
 * "5.62 Mop/s"). The bench harness prints them, heed-dash shows them.
 * buf always ends up NUL-terminated (truncated if len is short).
 */
#ifndef HEED_UTIL_UNITS_H
#define HEED_UTIL_UNITS_H

#include <stddef.h>

/* A cost per iteration: unit "ns" scales to µs, ms and s; any other unit
 * ("instr") takes a k, M or G prefix: "1.10 k instr". */
void heed_fmt_value(char *buf, size_t len, double v, const char *unit);

/* A rate per second of unit ("op", "B"): "5.62 Mop/s", "651 MB/s". */
void heed_fmt_rate(char *buf, size_t len, double v, const char *unit);

#endif
