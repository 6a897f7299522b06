/* text.c - buffered output, number formatting and XML escaping for the SVG writer.
 *
 * A large graph writes a few hundred thousand numbers and names: printf-style
 * formatting of doubles would dominate the render time, so coordinates are printed
 * from integers here.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame_int.h"

void out_flush(struct flame_out *o)
{
	if (o->len && !o->err && fwrite(o->buf, 1, o->len, o->fp) != o->len)
		o->err = -EIO;
	o->len = 0;
}

void out_mem_slow(struct flame_out *o, const char *s, size_t n)
{
	out_flush(o);
	if (n > o->cap) {
		if (!o->err && fwrite(s, 1, n, o->fp) != n)
			o->err = -EIO;
		return;
	}
	memcpy(o->buf, s, n);
	o->len = n;
}

void out_str(struct flame_out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

void out_fmt(struct flame_out *o, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	/* clang-tidy 14 loses track of va_start when given several files. */
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		out_mem(o, tmp, (size_t)n);
		return;
	}
	out_flush(o);
	va_start(ap, fmt);
	if (!o->err && vfprintf(o->fp, fmt, ap) < 0)
		o->err = -EIO;
	va_end(ap);
}

void out_uint(struct flame_out *o, uint64_t u, int sep)
{
	char tmp[32];
	char *p = tmp + sizeof(tmp);
	int digits = 0;

	do {
		if (sep && digits && digits % 3 == 0)
			*--p = ',';
		*--p = (char)('0' + u % 10);
		u /= 10;
		digits++;
	} while (u);
	out_mem(o, p, (size_t)(tmp + sizeof(tmp) - p));
}

void out_num(struct flame_out *o, double v)
{
	int64_t c;
	char frac[3];

	if (!isfinite(v) || fabs(v) > 1e15) {
		out_fmt(o, "%.2f", isfinite(v) ? v : 0.0);
		return;
	}
	c = llround(v * 100);
	if (c < 0) {
		out_mem(o, "-", 1);
		c = -c;
	}
	out_uint(o, (uint64_t)c / 100, 0);
	c %= 100;
	if (c == 0)
		return;
	frac[0] = '.';
	frac[1] = (char)('0' + c / 10);
	frac[2] = (char)('0' + c % 10);
	out_mem(o, frac, c % 10 ? 3 : 2);
}

void out_count(struct flame_out *o, double v)
{
	char tmp[400];
	int n, digits, start;

	if (!isfinite(v)) {
		out_str(o, "0");
		return;
	}
	/* Integers below 2^63 (every real count) skip printf; %.0f would give the same. */
	if (v >= 0 && v < 9.2e18 && v == floor(v)) {
		out_uint(o, (uint64_t)v, 1);
		return;
	}
	n = snprintf(tmp, sizeof(tmp), "%.0f", v);
	if (n <= 0 || (size_t)n >= sizeof(tmp))
		return;
	start = tmp[0] == '-';
	out_mem(o, tmp, (size_t)start);
	digits = n - start;
	for (int i = start; i < n; i++) {
		out_mem(o, tmp + i, 1);
		digits--;
		if (digits > 0 && digits % 3 == 0)
			out_mem(o, ",", 1);
	}
}

/* Length of the valid UTF-8 sequence at s (at most n bytes) that XML 1.0 allows,
 * or 0 when the byte must be shown as "\xNN" (invalid, overlong, surrogate, beyond
 * U+10FFFF, U+FFFE/U+FFFF, or a control character other than tab). */
static size_t utf8_ok(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return s[0] >= 0x20 || s[0] == '\t' ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return len;
}

size_t xml_display_len(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t chars = 0;

	for (size_t i = 0; i < len;) {
		size_t l = utf8_ok(u + i, len - i);

		chars += l ? 1 : 4;
		i += l ? l : 1;
	}
	return chars;
}

void out_xml(struct flame_out *o, const char *s, size_t len, size_t maxchars)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t limit = SIZE_MAX, chars = 0, i = 0;
	static const char hex[] = "0123456789abcdef";

	if (maxchars != SIZE_MAX && xml_display_len(s, len) > maxchars)
		limit = maxchars >= 2 ? maxchars - 2 : 0;
	while (i < len && chars < limit) {
		size_t l = utf8_ok(u + i, len - i);
		/* Runs of plain bytes are copied at once. */
		size_t run = 0;

		while (i + run < len && chars + run < limit && u[i + run] >= 0x20 &&
		       u[i + run] < 0x80 && u[i + run] != '&' && u[i + run] != '<' &&
		       u[i + run] != '>' && u[i + run] != '"' && u[i + run] != '\'')
			run++;
		if (run) {
			out_mem(o, s + i, run);
			i += run;
			chars += run;
			continue;
		}
		if (l == 0) {
			char esc[4] = {'\\', 'x', hex[u[i] >> 4], hex[u[i] & 15]};

			if (chars + 4 > limit)
				break;
			out_mem(o, esc, 4);
			chars += 4;
			i++;
			continue;
		}
		switch (u[i]) {
		case '&':
			out_mem(o, "&amp;", 5);
			break;
		case '<':
			out_mem(o, "&lt;", 4);
			break;
		case '>':
			out_mem(o, "&gt;", 4);
			break;
		case '"':
			out_mem(o, "&quot;", 6);
			break;
		case '\'':
			out_mem(o, "&apos;", 6);
			break;
		default:
			out_mem(o, s + i, l);
		}
		i += l;
		chars++;
	}
	if (limit != SIZE_MAX)
		out_mem(o, "..", 2);
}

void out_xml_tail(struct flame_out *o, const char *s, size_t len, size_t maxchars)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t total = xml_display_len(s, len), skip, i = 0;

	if (total <= maxchars) {
		out_xml(o, s, len, SIZE_MAX);
		return;
	}
	out_mem(o, "..", 2);
	if (maxchars <= 2)
		return;
	/* Characters to drop from the front so maxchars - 2 remain. */
	skip = total - (maxchars - 2);
	while (i < len && skip > 0) {
		size_t l = utf8_ok(u + i, len - i);
		size_t shown = l ? 1 : 4;

		if (shown > skip)
			break; /* a "\xNN" is shown whole or not at all */
		skip -= shown;
		i += l ? l : 1;
	}
	if (skip > 0)
		i++;
	out_xml(o, s + i, len - i, SIZE_MAX);
}

void out_fixed2(struct flame_out *o, double v)
{
	double c = v * 100, r = nearbyint(c);
	uint64_t u;

	/* printf rounds the exact binary value; c carries one more rounding, which only
	 * matters next to a tie (x.xx5): there, and for huge values, printf decides. */
	if (!(fabs(c) < 1e15) || fabs(fabs(c - r) - 0.5) < 1e-6) {
		out_fmt(o, "%.2f", v);
		return;
	}
	if (signbit(v)) /* as printf: "-0.00" for a small negative value */
		out_mem(o, "-", 1);
	u = (uint64_t)fabs(r);
	out_uint(o, u / 100, 0);
	{
		char frac[3] = {'.', (char)('0' + u % 100 / 10), (char)('0' + u % 10)};

		out_mem(o, frac, 3);
	}
}
