/*
 * test_ical.c - the calendar feeds' iCalendar writer (RFC 5545): TEXT
 * escaping, folding at 75 octets without splitting a UTF-8 sequence, CRLF
 * line endings, and the shape of a whole calendar.
 */
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "modules/calendar/ical.h"
#include "suites.h"

/* 1 if s[0..n) is well-formed UTF-8 (enough for these tests: no check of
 * overlong forms). */
static int
utf8_ok(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 :
		    (c & 0xF8) == 0xF0 ? 4 : 0;
		if (k == 0 || i + k > n)
			return 0;
		for (size_t j = 1; j < k; j++)
			if (((unsigned char)s[i + j] & 0xC0) != 0x80)
				return 0;
		i += k;
	}
	return 1;
}

/*
 * Check every physical line of text: ends in CRLF, at most 75 octets,
 * valid UTF-8 on its own; and unfold it into out (a buffer as large as
 * text). Returns the number of physical lines.
 */
static int
check_lines(const char *text, char *out)
{
	const char *p = text, *eol;
	int lines = 0;

	out[0] = '\0';
	while (*p != '\0') {
		eol = strstr(p, "\r\n");
		ck_assert_msg(eol != NULL, "line without CRLF: %s", p);
		ck_assert_msg(memchr(p, '\n', (size_t)(eol - p)) == NULL,
		    "bare LF in %s", p);
		ck_assert_msg(eol - p <= 75, "line of %d octets",
		    (int)(eol - p));
		ck_assert_msg(utf8_ok(p, (size_t)(eol - p)),
		    "a UTF-8 sequence split at a fold: %.*s", (int)(eol - p), p);
		if (*p == ' ' && lines > 0)
			strncat(out, p + 1, (size_t)(eol - p - 1));
		else {
			if (lines > 0)
				strcat(out, "\n");
			strncat(out, p, (size_t)(eol - p));
		}
		lines++;
		p = eol + 2;
	}
	return lines;
}

START_TEST(test_escape_text)
{
	struct ical ic = { 0 };

	ical_prop(&ic, "SUMMARY", "Yoga, Pilates; Barre\\Core\nline two\r\nthree", 1);
	ck_assert_str_eq(ic.buf, "SUMMARY:Yoga\\, Pilates\\; Barre\\\\Core\\n"
	    "line two\\nthree\r\n");
	ical_release(&ic);
	/* Not TEXT: written as it is. */
	ical_prop(&ic, "DTSTART", "20270110T070000Z", 0);
	ck_assert_str_eq(ic.buf, "DTSTART:20270110T070000Z\r\n");
	ical_release(&ic);
	/* Control characters other than tab are not allowed in TEXT. */
	ical_prop(&ic, "SUMMARY", "a\x01\tb\x7f", 1);
	ck_assert_str_eq(ic.buf, "SUMMARY:a\tb\r\n");
	ical_release(&ic);
	ical_release(NULL);
}
END_TEST

START_TEST(test_fold_at_75_octets)
{
	struct ical ic = { 0 };
	char value[300], unfolded[1024];

	/* "SUMMARY:" + 67 = 75 octets: one line, no fold. */
	memset(value, 'a', 67);
	value[67] = '\0';
	ical_prop(&ic, "SUMMARY", value, 1);
	ck_assert_int_eq(check_lines(ic.buf, unfolded), 1);
	ck_assert_uint_eq(strlen(ic.buf), 75 + 2);
	ical_release(&ic);
	/* One more octet folds: 75, then CRLF, space and the rest. */
	memset(value, 'a', 68);
	value[68] = '\0';
	ical_prop(&ic, "SUMMARY", value, 1);
	ck_assert_int_eq(check_lines(ic.buf, unfolded), 2);
	ck_assert(strncmp(ic.buf + 75, "\r\n a\r\n", 6) == 0);
	ical_release(&ic);
	/* A long value: every line at most 75 octets, and it unfolds back. */
	memset(value, 'x', 250);
	value[250] = '\0';
	ical_prop(&ic, "DESCRIPTION", value, 1);
	ck_assert_int_eq(check_lines(ic.buf, unfolded), 4);
	ck_assert_str_eq(unfolded + strlen("DESCRIPTION:"), value);
	ical_release(&ic);
}
END_TEST

START_TEST(test_fold_multibyte)
{
	struct ical ic = { 0 };
	char value[1024], unfolded[4096];
	/* 2, 3 and 4 octets: é, €, and a lotus (U+1FAB7). */
	static const char *const chars[] = { "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\xaa\xb7" };

	/* 66 ASCII + "SUMMARY:" = 74; a 3-octet € would end at 77: it moves
	 * to the next line whole, and the first line has 74 octets. */
	memset(value, 'a', 66);
	strcpy(value + 66, "\xe2\x82\xac");
	ical_prop(&ic, "SUMMARY", value, 1);
	ck_assert_int_eq(check_lines(ic.buf, unfolded), 2);
	ck_assert(strncmp(ic.buf + 74, "\r\n \xe2\x82\xac\r\n", 8) == 0);
	ical_release(&ic);
	/* Every alignment of every width: no sequence split, exact round trip. */
	for (int w = 0; w < 3; w++) {
		for (int shift = 0; shift < 4; shift++) {
			size_t n = (size_t)shift;

			memset(value, 'b', n);
			for (int i = 0; i < 60; i++) {
				strcpy(value + n, chars[w]);
				n += strlen(chars[w]);
			}
			value[n] = '\0';
			ical_prop(&ic, "LOCATION", value, 1);
			ck_assert_int_ge(check_lines(ic.buf, unfolded), 2);
			ck_assert_str_eq(unfolded + strlen("LOCATION:"), value);
			ical_release(&ic);
		}
	}
}
END_TEST

START_TEST(test_time_utc)
{
	char t[17];

	ical_time(0, t);
	ck_assert_str_eq(t, "19700101T000000Z");
	ical_time(1799539200 + 7 * 3600 + 30 * 60 + 5, t);  /* 2027-01-10 */
	ck_assert_str_eq(t, "20270110T073005Z");
}
END_TEST

START_TEST(test_whole_calendar)
{
	struct ical ic = { 0 };
	char unfolded[4096];
	struct ical_event a = { .uid = "reservation-7@studiod",
		.starts_at = 1799539200, .ends_at = 1799542800,
		.summary = "Morning Yoga", .location = "Seat A1", .sequence = 0 };
	struct ical_event b = { .uid = "class-3@studiod",
		.starts_at = 1799539200, .ends_at = 1799542800,
		.summary = "Yin, slow", .cancelled = 1, .sequence = 2 };

	ical_begin(&ic, "My bookings");
	ical_event(&ic, &a, 1799000000);
	ical_event(&ic, &b, 1799000000);
	ical_end(&ic);
	check_lines(ic.buf, unfolded);
	ck_assert(strncmp(ic.buf, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
	    "PRODID:-//studiod//EN\r\nCALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n"
	    "X-WR-CALNAME:My bookings\r\n", 115) == 0);
	ck_assert_ptr_nonnull(strstr(ic.buf, "BEGIN:VEVENT\r\n"
	    "UID:reservation-7@studiod\r\nDTSTAMP:20270103T181320Z\r\n"
	    "DTSTART:20270110T000000Z\r\nDTEND:20270110T010000Z\r\n"
	    "SUMMARY:Morning Yoga\r\nLOCATION:Seat A1\r\nSTATUS:CONFIRMED\r\n"
	    "SEQUENCE:0\r\nEND:VEVENT\r\n"));
	ck_assert_ptr_nonnull(strstr(ic.buf, "UID:class-3@studiod\r\n"));
	ck_assert_ptr_nonnull(strstr(ic.buf, "SUMMARY:Yin\\, slow\r\n"
	    "STATUS:CANCELLED\r\nSEQUENCE:2\r\nEND:VEVENT\r\n"));
	ck_assert_ptr_null(strstr(strstr(ic.buf, "class-3"), "LOCATION"));
	ck_assert_str_eq(ic.buf + ic.len - 15, "END:VCALENDAR\r\n");
	ck_assert_uint_eq(strlen(ic.buf), ic.len);
	ical_release(&ic);
}
END_TEST

Suite *
ical_suite(void)
{
	Suite *s = suite_create("ical");
	TCase *tc = tcase_create("writer");

	tcase_add_test(tc, test_escape_text);
	tcase_add_test(tc, test_fold_at_75_octets);
	tcase_add_test(tc, test_fold_multibyte);
	tcase_add_test(tc, test_time_utc);
	tcase_add_test(tc, test_whole_calendar);
	suite_add_tcase(s, tc);
	return s;
}
