/* test_util.c - RFC 3339 parsing and formatting, parse_int64. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "suites.h"

/* 2026-11-22T08:00:00Z */
#define T_2026_11_22_08 INT64_C(1795334400)

/* Parse s, which must succeed, and return its Unix time. */
static int64_t
parse_ok(const char *s)
{
	int64_t t = -12345;

	ck_assert_msg(time_parse_rfc3339(s, &t) == 0, "rejected \"%s\"", s);
	return t;
}

static void
parse_bad(const char *s)
{
	int64_t t = -12345;

	ck_assert_msg(time_parse_rfc3339(s, &t) == -1, "accepted \"%s\"", s);
}

START_TEST(test_parse_utc)
{
	ck_assert_int_eq(parse_ok("2026-11-22T08:00:00Z"), T_2026_11_22_08);
	ck_assert_int_eq(parse_ok("1970-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(parse_ok("1970-01-01T00:00:01Z"), 1);
	/* Lower-case separators are allowed by RFC 3339 section 5.6. */
	ck_assert_int_eq(parse_ok("2026-11-22t08:00:00z"), T_2026_11_22_08);
	ck_assert_int_eq(parse_ok("9999-12-31T23:59:59Z"), INT64_C(253402300799));
}
END_TEST

START_TEST(test_parse_offsets)
{
	/* The same instant written with different offsets. */
	ck_assert_int_eq(parse_ok("2026-11-22T09:00:00+01:00"), T_2026_11_22_08);
	ck_assert_int_eq(parse_ok("2026-11-22T08:00:00+00:00"), T_2026_11_22_08);
	ck_assert_int_eq(parse_ok("2026-11-22T08:00:00-00:00"), T_2026_11_22_08);
	ck_assert_int_eq(parse_ok("2026-11-22T02:30:00-05:30"), T_2026_11_22_08);
	ck_assert_int_eq(parse_ok("2026-11-22T17:45:00+09:45"), T_2026_11_22_08);
	/* An offset that crosses midnight. */
	ck_assert_int_eq(parse_ok("2026-11-21T23:00:00-09:00"), T_2026_11_22_08);
	ck_assert_int_eq(parse_ok("2026-11-22T08:00:00-05:30"),
	    INT64_C(1795354200));
}
END_TEST

START_TEST(test_parse_fraction)
{
	ck_assert_int_eq(parse_ok("2026-11-22T08:00:00.5Z"), T_2026_11_22_08);
	ck_assert_int_eq(parse_ok("2026-11-22T08:00:00.123456789Z"),
	    T_2026_11_22_08);
	ck_assert_int_eq(parse_ok("2026-11-22T09:00:00.999+01:00"),
	    T_2026_11_22_08);
	parse_bad("2026-11-22T08:00:00.Z");
	parse_bad("2026-11-22T08:00:00.");
	parse_bad("2026-11-22T08:00:00.1x2Z");
}
END_TEST

START_TEST(test_parse_requires_offset)
{
	parse_bad("2026-11-22T08:00:00");
	parse_bad("2026-11-22T08:00:00.5");
	parse_bad("2026-11-22T08:00");
	parse_bad("2026-11-22");
	parse_bad("2026-11-22T08:00:00+01");
	parse_bad("2026-11-22T08:00:00+0100");
	parse_bad("2026-11-22T08:00:00+1:00");
	parse_bad("2026-11-22T08:00:00+24:00");
	parse_bad("2026-11-22T08:00:00+01:60");
}
END_TEST

START_TEST(test_parse_bad_dates)
{
	parse_bad("2026-02-30T00:00:00Z");
	parse_bad("2026-02-29T00:00:00Z");     /* 2026 is not a leap year */
	parse_bad("2100-02-29T00:00:00Z");     /* nor is 2100 */
	parse_bad("2026-04-31T00:00:00Z");
	parse_bad("2026-13-01T00:00:00Z");
	parse_bad("2026-00-10T00:00:00Z");
	parse_bad("2026-11-00T00:00:00Z");
	parse_bad("2026-11-32T00:00:00Z");
	parse_bad("2026-11-22T24:00:00Z");
	parse_bad("2026-11-22T08:60:00Z");
	parse_bad("2026-11-22T08:00:60Z");
	parse_bad("1969-12-31T23:59:59Z");
	/* Leap days that do exist. */
	ck_assert_int_eq(parse_ok("2028-02-29T12:00:00Z"), INT64_C(1835438400));
	ck_assert_int_eq(parse_ok("2000-02-29T00:00:00Z"), INT64_C(951782400));
}
END_TEST

START_TEST(test_parse_garbage)
{
	parse_bad("");
	parse_bad("garbage");
	parse_bad("now");
	parse_bad("1795334400");
	parse_bad("2026-11-22 08:00:00Z");
	parse_bad("2026/11/22T08:00:00Z");
	parse_bad("26-11-22T08:00:00Z");
	parse_bad("2026-1-22T08:00:00Z");
	parse_bad("2026-11-22T8:00:00Z");
	parse_bad("+2026-11-22T08:00:00Z");
	parse_bad("2026-11-22T08:00:00ZZ");
}
END_TEST

START_TEST(test_parse_trailing)
{
	parse_bad("2026-11-22T08:00:00Z ");
	parse_bad("2026-11-22T08:00:00Zx");
	parse_bad("2026-11-22T08:00:00+01:00 ");
	parse_bad("2026-11-22T08:00:00+01:00:00");
	parse_bad(" 2026-11-22T08:00:00Z");
}
END_TEST

START_TEST(test_format)
{
	char buf[21];

	time_format_rfc3339(0, buf);
	ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
	time_format_rfc3339(T_2026_11_22_08, buf);
	ck_assert_str_eq(buf, "2026-11-22T08:00:00Z");
	time_format_rfc3339(INT64_C(1835438400), buf);
	ck_assert_str_eq(buf, "2028-02-29T12:00:00Z");
	time_format_rfc3339(INT64_C(253402300799), buf);
	ck_assert_str_eq(buf, "9999-12-31T23:59:59Z");
	ck_assert_uint_eq(strlen(buf), 20);
}
END_TEST

START_TEST(test_format_round_trip)
{
	static const int64_t times[] = { 0, 1, 59, 86399, 86400, 951782400,
	    1795334400, 1835438400, 1835481599, 4102444800, 253402300799 };
	static const char *const texts[] = { "2026-11-22T08:00:00Z",
	    "2028-02-29T23:59:59Z", "2024-12-31T00:00:00Z",
	    "1999-01-01T12:34:56Z" };
	char buf[21];

	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		time_format_rfc3339(times[i], buf);
		ck_assert_int_eq(parse_ok(buf), times[i]);
	}
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		time_format_rfc3339(parse_ok(texts[i]), buf);
		ck_assert_str_eq(buf, texts[i]);
	}
	/* An offset form comes back in UTC. */
	time_format_rfc3339(parse_ok("2026-11-22T09:00:00.250+01:00"), buf);
	ck_assert_str_eq(buf, "2026-11-22T08:00:00Z");
}
END_TEST

START_TEST(test_parse_int64_ok)
{
	int64_t v = 0;

	ck_assert_int_eq(parse_int64("0", 0, 10, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(parse_int64("42", 0, 100, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(parse_int64("-7", -10, 10, &v), 0);
	ck_assert_int_eq(v, -7);
	/* Both bounds are inclusive. */
	ck_assert_int_eq(parse_int64("64", 64, 128, &v), 0);
	ck_assert_int_eq(v, 64);
	ck_assert_int_eq(parse_int64("128", 64, 128, &v), 0);
	ck_assert_int_eq(v, 128);
	ck_assert_int_eq(parse_int64("9223372036854775807", INT64_MIN,
	    INT64_MAX, &v), 0);
	ck_assert_int_eq(v, INT64_MAX);
	ck_assert_int_eq(parse_int64("-9223372036854775808", INT64_MIN,
	    INT64_MAX, &v), 0);
	ck_assert_int_eq(v, INT64_MIN);
}
END_TEST

START_TEST(test_parse_int64_bounds)
{
	int64_t v = 99;

	ck_assert_int_eq(parse_int64("63", 64, 128, &v), -1);
	ck_assert_int_eq(parse_int64("129", 64, 128, &v), -1);
	ck_assert_int_eq(parse_int64("-1", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("9223372036854775808", INT64_MIN,
	    INT64_MAX, &v), -1);
	ck_assert_int_eq(parse_int64("-9223372036854775809", INT64_MIN,
	    INT64_MAX, &v), -1);
	ck_assert_int_eq(parse_int64("99999999999999999999999", INT64_MIN,
	    INT64_MAX, &v), -1);
	ck_assert_int_eq(v, 99);
}
END_TEST

START_TEST(test_parse_int64_syntax)
{
	int64_t v = 99;

	ck_assert_int_eq(parse_int64(NULL, 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64(" 1", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("1 ", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("\t1", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("1x", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("x1", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("0x5", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("1.0", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("-", 0, 10, &v), -1);
	ck_assert_int_eq(v, 99);
	/* Decimal even with a leading zero (not octal). */
	ck_assert_int_eq(parse_int64("010", 0, 100, &v), 0);
	ck_assert_int_eq(v, 10);
}
END_TEST

Suite *
util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("time");

	tcase_add_test(tc, test_parse_utc);
	tcase_add_test(tc, test_parse_offsets);
	tcase_add_test(tc, test_parse_fraction);
	tcase_add_test(tc, test_parse_requires_offset);
	tcase_add_test(tc, test_parse_bad_dates);
	tcase_add_test(tc, test_parse_garbage);
	tcase_add_test(tc, test_parse_trailing);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_format_round_trip);
	suite_add_tcase(s, tc);
	tc = tcase_create("parse_int64");
	tcase_add_test(tc, test_parse_int64_ok);
	tcase_add_test(tc, test_parse_int64_bounds);
	tcase_add_test(tc, test_parse_int64_syntax);
	suite_add_tcase(s, tc);
	return s;
}
