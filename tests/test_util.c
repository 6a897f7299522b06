/* test_util.c - libheedutil: the pieces every tool and test shares (util/). */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirs.h"
#include "json.h"
#include "parse.h"
#include "units.h"
#include "verdict.h"

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

Test(json, parse_reads_nested_documents)
{
	const char *doc = "{\"a\": [1, 2.5, -3e2], \"s\": \"x\\\"\\u00e9\\n\", \"t\": true,"
			  " \"n\": null, \"o\": {\"k\": \"v\"}}";
	json_t *j;
	char err[128];

	cr_assert_eq(heed_json_parse(doc, strlen(doc), &j, err, sizeof(err)), 0, "%s", err);
	cr_expect_float_eq(json_number_value(json_array_get(json_object_get(j, "a"), 2)), -300,
			   1e-12);
	cr_expect_float_eq(heed_json_num(j, "a", 42), 42, 0, "an array is not a number");
	cr_expect_str_eq(heed_json_str(j, "s"), "x\"\xc3\xa9\n");
	cr_expect_null(heed_json_str(j, "t"));
	cr_expect_str_eq(heed_json_str(json_object_get(j, "o"), "k"), "v");
	cr_expect_float_eq(heed_json_num(j, "missing", 42), 42, 0);
	cr_expect_float_eq(heed_json_num(NULL, "a", 7), 7, 0);
	json_decref(j);
}

Test(json, parse_rejects_bad_input_with_a_sentence)
{
	static const char *const bad[] = {
		"{\"a\": 1,}", "[1 2]", "{\"a\" 1}", "\"abc", "{} x", "tru", "[\"\\u0000\"]", "",
	};
	char deep[10000], err[256];
	json_t *j;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_expect_eq(heed_json_parse(bad[i], strlen(bad[i]), &j, err, sizeof(err)), -EINVAL,
			     "accepted '%s'", bad[i]);
		cr_expect_null(j);
		cr_expect(strstr(err, "invalid JSON at byte") != NULL, "message '%s'", err);
	}
	/* A hostile file cannot exhaust the stack. */
	memset(deep, '[', 5000);
	memset(deep + 5000, ']', 5000);
	cr_expect_eq(heed_json_parse(deep, sizeof(deep), &j, err, sizeof(err)), -EINVAL);
	cr_expect_eq(heed_json_load("/nonexistent/x.json", &j, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "/nonexistent/x.json") != NULL, "message '%s'", err);
}

/* The document as heed_json_write writes it. */
static char *written(const json_t *doc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_eq(heed_json_write(f, doc), 0);
	fclose(f);
	return buf;
}

Test(json, numbers_and_strings_follow_our_rules)
{
	json_t *doc = json_object();
	char *text;

	cr_assert_not_null(doc);
	cr_assert_eq(heed_json_set(doc, "i", heed_json_number(123456789012.0)), 0);
	cr_assert_eq(heed_json_set(doc, "r", heed_json_number(0.1)), 0);
	cr_assert_eq(heed_json_set(doc, "nan", heed_json_number(NAN)), 0);
	cr_assert_eq(heed_json_set(doc, "inf", heed_json_number(INFINITY)), 0);
	cr_assert_eq(heed_json_set(doc, "big", heed_json_u64(UINT64_MAX)), 0);
	cr_assert_eq(heed_json_set(doc, "s", heed_json_string("a\"b\\c\n\t\x01")), 0);
	/* a symbol name that is not UTF-8, as a key and as a value */
	cr_assert_eq(heed_json_set(doc, "k\xff", heed_json_string("f\xc3(\xe2\x82")), 0);
	cr_assert_eq(heed_json_set(doc, "ok", NULL), -ENOMEM, "a failed constructor is an error");
	text = written(doc);
	cr_expect_str_eq(text, "{\"i\":123456789012,\"r\":0.10000000000000001,\"nan\":null,"
			       "\"inf\":null,\"big\":1.8446744073709552e19,"
			       "\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\","
			       "\"k\xef\xbf\xbd\":\"f\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\"}\n");
	free(text);
	json_decref(doc);
}

Test(json, rows_are_one_a_line)
{
	json_t *head = json_pack("{s:s,s:i}", "schema", "x", "version", 1);
	json_t *rows = json_pack("[{s:i},{s:i}]", "a", 1, "a", 2), *empty = json_array(), *back;
	json_t *none = json_object();
	char *buf = NULL, err[128];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert(head && rows && empty && none && f);
	cr_assert_eq(heed_json_write_rows(f, head, "results", rows), 0);
	cr_assert_eq(heed_json_write_rows(f, none, "r", empty), 0);
	cr_assert_eq(heed_json_write_rows(f, rows, "r", empty), -EINVAL);
	fclose(f);
	cr_expect_str_eq(
		buf, "{\"schema\":\"x\",\"version\":1,\"results\":[\n{\"a\":1},\n{\"a\":2}\n]}\n"
		     "{\"r\":[\n]}\n");
	cr_assert_eq(heed_json_parse(buf, strstr(buf, "]}\n") + 3 - buf, &back, err, sizeof(err)),
		     0, "%s", err);
	cr_expect_eq(json_array_size(json_object_get(back, "results")), 2);
	json_decref(back);
	free(buf);
	json_decref(head);
	json_decref(rows);
	json_decref(empty);
	json_decref(none);
}

Test(verdict, interval_decides_threshold_weighs)
{
	/* interval above 1 */
	cr_expect_eq(heed_verdict_judge(1.30, 1.20, 1.40, 0.05), HEED_VERDICT_REGRESSED);
	cr_expect_eq(heed_verdict_judge(1.03, 1.01, 1.05, 0.05), HEED_VERDICT_SLOWER);
	/* interval below 1 */
	cr_expect_eq(heed_verdict_judge(0.70, 0.60, 0.80, 0.05), HEED_VERDICT_IMPROVED);
	cr_expect_eq(heed_verdict_judge(0.97, 0.95, 0.99, 0.05), HEED_VERDICT_FASTER);
	/* a large change that the interval does not support is no change */
	cr_expect_eq(heed_verdict_judge(1.30, 0.90, 1.70, 0.05), HEED_VERDICT_UNCHANGED);
	/* exact counts: the ratio is its own interval */
	cr_expect_eq(heed_verdict_judge(1.10, 1.10, 1.10, 0.05), HEED_VERDICT_REGRESSED);
	cr_expect_eq(heed_verdict_judge(1.0, 1.0, 1.0, 0.05), HEED_VERDICT_UNCHANGED);
	cr_expect_eq(heed_verdict_judge(1.0001, 1.0001, 1.0001, 0.05), HEED_VERDICT_SLOWER);
}

Test(verdict, one_name_each)
{
	cr_expect_str_eq(heed_verdict_name(HEED_VERDICT_REGRESSED), "regressed");
	cr_expect_str_eq(heed_verdict_name(HEED_VERDICT_IMPROVED), "improved");
	cr_expect_str_eq(heed_verdict_name(HEED_VERDICT_UNCHANGED), "unchanged");
	cr_expect_str_eq(heed_verdict_name(HEED_VERDICT_COUNT), "?");
	for (int i = 0; i < HEED_VERDICT_COUNT; i++) {
		cr_expect_not_null(heed_verdict_name(i));
		for (int j = 0; j < i; j++)
			cr_expect_str_neq(heed_verdict_name(i), heed_verdict_name(j));
	}
}

Test(units, three_digits_and_a_prefix)
{
	char b[32];

	heed_fmt_value(b, sizeof(b), 180, "ns");
	cr_expect_str_eq(b, "180 ns");
	heed_fmt_value(b, sizeof(b), 12345, "ns");
	cr_expect_str_eq(b, "12.3 \xc2\xb5s");
	heed_fmt_value(b, sizeof(b), 1.5e6, "ns");
	cr_expect_str_eq(b, "1.50 ms");
	heed_fmt_value(b, sizeof(b), 2.5e12, "ns");
	cr_expect_str_eq(b, "2500 s");
	heed_fmt_value(b, sizeof(b), 1100, "instr");
	cr_expect_str_eq(b, "1.10 k instr");
	heed_fmt_value(b, sizeof(b), 7, "instr");
	cr_expect_str_eq(b, "7.00 instr");
	heed_fmt_rate(b, sizeof(b), 5.619e6, "op");
	cr_expect_str_eq(b, "5.62 Mop/s");
	heed_fmt_rate(b, sizeof(b), 651.8e6, "B");
	cr_expect_str_eq(b, "652 MB/s");
	heed_fmt_rate(b, 6, 651.8e6, "B");
	cr_expect_str_eq(b, "652 M", "truncated, still a string");
}

Test(dirs, mkdirs_makes_every_parent)
{
	char root[] = "/tmp/heed-util-XXXXXX", path[128], file[160];
	struct stat st;
	FILE *f;

	cr_assert_not_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/a/b/c", root);
	cr_expect_eq(heed_mkdirs(path), 0);
	cr_expect(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	cr_expect_eq(heed_mkdirs(path), 0, "an existing directory is fine");
	snprintf(file, sizeof(file), "%s/a/f", root);
	f = fopen(file, "w");
	cr_assert_not_null(f);
	fclose(f);
	cr_expect_eq(heed_mkdirs(file), -ENOTDIR, "a file in the way");
	snprintf(path, sizeof(path), "%s/a/f/x", root);
	cr_expect_eq(heed_mkdirs(path), -ENOTDIR);
	cr_expect_eq(unlink(file), 0);
	snprintf(path, sizeof(path), "%s/a/b/c", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/a/b", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/a", root);
	rmdir(path);
	cr_expect_eq(rmdir(root), 0, "left something behind");
}
