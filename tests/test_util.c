/* test_util.c - libheedutil: the pieces every tool and test shares (util/). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "parse.h"

Test(parse, u64_takes_whole_numbers_only)
{
	uint64_t v = 7;

	cr_expect_eq(heed_parse_u64("42", &v), 0);
	cr_expect_eq(v, 42);
	cr_expect_eq(heed_parse_u64("0x2a", &v), 0);
	cr_expect_eq(v, 42);
	cr_expect_eq(heed_parse_u64("18446744073709551615", &v), 0);
	cr_expect_eq(v, UINT64_MAX);
	cr_expect_eq(heed_parse_u64("0", &v), 0);
	cr_expect_eq(v, 0);
	v = 7;
	/* the bugs of d816e59 and 78f682f: junk after the number, or no number */
	static const char *const bad[] = {"12x", "abc", "", " 1", "1 ", "-1", "+1", "0x", "1.5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(heed_parse_u64(bad[i], &v), -EINVAL, "'%s' was taken", bad[i]);
	cr_expect_eq(heed_parse_u64(NULL, &v), -EINVAL);
	cr_expect_eq(heed_parse_u64("18446744073709551616", &v), -ERANGE);
	cr_expect_eq(v, 7, "a refused string changed the value");
}

Test(parse, double_takes_finite_numbers_only)
{
	double v = 7;

	cr_expect_eq(heed_parse_double("0.5", &v), 0);
	cr_expect_eq(v, 0.5);
	cr_expect_eq(heed_parse_double("-2", &v), 0);
	cr_expect_eq(v, -2);
	cr_expect_eq(heed_parse_double("1e-3", &v), 0);
	cr_expect_eq(v, 1e-3);
	v = 7;
	static const char *const bad[] = {"0.5x", "x", "", " 1", "1 ", "nan", "inf", "1e999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_neq(heed_parse_double(bad[i], &v), 0, "'%s' was taken", bad[i]);
	cr_expect_eq(v, 7, "a refused string changed the value");
}
