/* units.c - one style of numbers for people (units.h). */
#include "units.h"

#include <stdio.h>
#include <string.h>

/* v scaled by thousands up to 10^9, and the index of the step taken. */
static int scale(double *v)
{
	int k = 0;

	while (*v >= 1000 && k < 3) {
		*v /= 1000;
		k++;
	}
	return k;
}

/* Decimals for three significant digits. */
static int decimals(double v)
{
	return v >= 100 ? 0 : v >= 10 ? 1 : 2;
}

void heed_fmt_value(char *buf, size_t len, double v, const char *unit)
{
	static const char *const tu[] = {"ns", "\xc2\xb5s", "ms", "s"};
	static const char *const su[] = {"", "k ", "M ", "G "};
	int k = scale(&v);

	if (strcmp(unit, "ns") == 0)
		snprintf(buf, len, "%.*f %s", decimals(v), v, tu[k]);
	else
		snprintf(buf, len, "%.*f %s%s", decimals(v), v, su[k], unit);
}

void heed_fmt_rate(char *buf, size_t len, double v, const char *unit)
{
	static const char *const su[] = {"", "k", "M", "G"};
	int k = scale(&v);

	snprintf(buf, len, "%.*f %s%s/s", decimals(v), v, su[k], unit);
}
