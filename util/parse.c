/* parse.c - numbers that are the whole string (parse.h). */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

int heed_parse_u64(const char *s, uint64_t *v)
{
	unsigned long long x;
	char *end;

	/* strtoull skips blanks and negates "-1" into a huge value: refuse both. */
	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*v = x;
	return 0;
}

int heed_parse_double(const char *s, double *v)
{
	char *end;
	double x;

	if (!s || !*s || isspace((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	x = strtod(s, &end);
	if (end == s || *end || !isfinite(x))
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*v = x;
	return 0;
}
