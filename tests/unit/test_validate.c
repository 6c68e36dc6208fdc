/* test_validate.c - field validation of JSON objects and the errors[] array. */
#include <stdint.h>
#include <string.h>
#include <jansson.h>

#include "http/validate.h"
#include "suites.h"

/* Parse a JSON object (NUL escapes allowed so they can be rejected later). */
static json_t *
obj(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &err);

	ck_assert_msg(j != NULL, "bad test JSON %s: %s", text, err.text);
	return j;
}

/* errors[i] is {"field": field, "message": message}, and nothing more. */
static void
assert_error(json_t *errors, size_t i, const char *field, const char *message)
{
	json_t *e = json_array_get(errors, i);

	ck_assert_msg(e != NULL, "no error %zu", i);
	ck_assert(json_is_object(e));
	ck_assert_uint_eq(json_object_size(e), 2);
	ck_assert_str_eq(json_string_value(json_object_get(e, "field")), field);
	ck_assert_str_eq(json_string_value(json_object_get(e, "message")),
	    message);
}

static size_t
nerrors(const struct vctx *v)
{
	return json_array_size(v->errors);
}

START_TEST(test_begin_ok)
{
	static const char *const allowed[] = { "title", "capacity", NULL };
	json_t *o = obj("{\"title\": \"Yoga\", \"capacity\": 10}");
	struct vctx v;
	json_t *errors;

	v_begin(&v, o, allowed);
	ck_assert(v_ok(&v));
	errors = v_take(&v);
	ck_assert(json_is_array(errors));
	ck_assert_uint_eq(json_array_size(errors), 0);
	ck_assert_ptr_null(v.errors);
	json_decref(errors);
	v_end(&v);              /* after v_take: nothing left, must be harmless */
	json_decref(o);
}
END_TEST

START_TEST(test_unknown_fields)
{
	static const char *const allowed[] = { "title", NULL };
	json_t *o = obj("{\"title\": \"Yoga\", \"colour\": \"red\"}");
	struct vctx v;
	json_t *errors;

	v_begin(&v, o, allowed);
	ck_assert(!v_ok(&v));
	errors = v_take(&v);
	ck_assert_uint_eq(json_array_size(errors), 1);
	assert_error(errors, 0, "colour", "unknown field");
	json_decref(errors);
	json_decref(o);

	/* NULL allowed list: anything goes. */
	o = obj("{\"anything\": 1}");
	v_begin(&v, o, NULL);
	ck_assert(v_ok(&v));
	v_end(&v);
	json_decref(o);
}
END_TEST

START_TEST(test_errors_accumulate)
{
	static const char *const allowed[] = { "title", "capacity", "public",
	    NULL };
	json_t *o = obj("{\"title\": 5, \"capacity\": 0, \"extra\": true}");
	struct vctx v;
	const char *title = "untouched";
	int64_t cap = -1;
	int pub = -1;
	json_t *errors;

	v_begin(&v, o, allowed);
	ck_assert_int_eq(v_string(&v, "title", V_REQUIRED, 10, &title), -1);
	ck_assert_int_eq(v_int(&v, "capacity", V_REQUIRED, 1, 100, &cap), -1);
	ck_assert_int_eq(v_bool(&v, "public", V_REQUIRED, &pub), -1);
	ck_assert(!v_ok(&v));
	errors = v_take(&v);
	/* Every problem, in the order found. */
	ck_assert_uint_eq(json_array_size(errors), 4);
	assert_error(errors, 0, "extra", "unknown field");
	assert_error(errors, 1, "title", "must be a string");
	assert_error(errors, 2, "capacity", "must be an integer from 1 to 100");
	assert_error(errors, 3, "public", "is required");
	/* Invalid fields leave the outputs alone. */
	ck_assert_str_eq(title, "untouched");
	ck_assert_int_eq(cap, -1);
	ck_assert_int_eq(pub, -1);
	json_decref(errors);
	json_decref(o);
}
END_TEST

START_TEST(test_v_error)
{
	json_t *o = obj("{}");
	struct vctx v;
	json_t *errors;

	v_begin(&v, o, NULL);
	v_error(&v, "ends_at", "must be after %s", "starts_at");
	ck_assert(!v_ok(&v));
	errors = v_take(&v);
	assert_error(errors, 0, "ends_at", "must be after starts_at");
	json_decref(errors);
	json_decref(o);
}
END_TEST

START_TEST(test_string)
{
	json_t *o = obj("{\"title\": \"Yoga\", \"n\": 1, \"b\": true,"
	    " \"nul\": null, \"empty\": \"\", \"long\": \"abcd\","
	    " \"three\": \"abc\"}");
	struct vctx v;
	const char *s = "untouched";

	v_begin(&v, o, NULL);
	/* present */
	ck_assert_int_eq(v_string(&v, "title", V_REQUIRED, 200, &s), 1);
	ck_assert_str_eq(s, "Yoga");
	ck_assert_int_eq(v_string(&v, "three", V_OPTIONAL, 3, &s), 1);
	ck_assert_str_eq(s, "abc");
	ck_assert(v_ok(&v));
	/* absent, optional: 0, out untouched, no error */
	s = "untouched";
	ck_assert_int_eq(v_string(&v, "missing", V_OPTIONAL, 10, &s), 0);
	ck_assert_str_eq(s, "untouched");
	ck_assert(v_ok(&v));
	/* absent, required; and every kind of invalid */
	ck_assert_int_eq(v_string(&v, "missing", V_REQUIRED, 10, &s), -1);
	ck_assert_int_eq(v_string(&v, "n", V_REQUIRED, 10, &s), -1);
	ck_assert_int_eq(v_string(&v, "b", V_OPTIONAL, 10, &s), -1);
	ck_assert_int_eq(v_string(&v, "nul", V_OPTIONAL, 10, &s), -1);
	ck_assert_int_eq(v_string(&v, "empty", V_OPTIONAL, 10, &s), -1);
	ck_assert_int_eq(v_string(&v, "long", V_OPTIONAL, 3, &s), -1);
	ck_assert_str_eq(s, "untouched");
	ck_assert_uint_eq(nerrors(&v), 6);
	assert_error(v.errors, 0, "missing", "is required");
	assert_error(v.errors, 1, "n", "must be a string");
	assert_error(v.errors, 2, "b", "must be a string");
	assert_error(v.errors, 3, "nul", "must be a string");
	assert_error(v.errors, 4, "empty", "must be 1 to 10 characters");
	assert_error(v.errors, 5, "long", "must be 1 to 3 characters");
	v_end(&v);
	json_decref(o);
}
END_TEST

START_TEST(test_string_code_points)
{
	/* Three characters, nine bytes (U+65E5 U+672C U+8A9E); one 4-byte
	 * emoji; an accented Latin word. */
	json_t *o = obj("{\"ja\": \"\\u65e5\\u672c\\u8a9e\","
	    " \"ja4\": \"\\u65e5\\u672c\\u8a9ex\","
	    " \"emoji\": \"\\ud83e\\uddd8\","
	    " \"cafe\": \"caf\\u00e9\"}");
	struct vctx v;
	const char *s = NULL;

	v_begin(&v, o, NULL);
	ck_assert_int_eq(v_string(&v, "ja", V_REQUIRED, 3, &s), 1);
	ck_assert_uint_eq(strlen(s), 9);
	ck_assert_int_eq(v_string(&v, "emoji", V_REQUIRED, 1, &s), 1);
	ck_assert_uint_eq(strlen(s), 4);
	ck_assert_int_eq(v_string(&v, "cafe", V_REQUIRED, 4, &s), 1);
	ck_assert(v_ok(&v));
	ck_assert_int_eq(v_string(&v, "ja4", V_REQUIRED, 3, &s), -1);
	ck_assert_uint_eq(nerrors(&v), 1);
	assert_error(v.errors, 0, "ja4", "must be 1 to 3 characters");
	v_end(&v);
	json_decref(o);
}
END_TEST

START_TEST(test_string_control_chars)
{
	json_t *o = obj("{\"soh\": \"a\\u0001b\", \"esc\": \"\\u001b[31m\","
	    " \"del\": \"a\\u007f\", \"nul\": \"a\\u0000b\","
	    " \"bell\": \"\\u0007\"}");
	static const char *const fields[] = { "soh", "esc", "del", "nul", "bell" };
	struct vctx v;
	const char *s = "untouched";

	v_begin(&v, o, NULL);
	for (size_t i = 0; i < 5; i++)
		ck_assert_msg(v_string(&v, fields[i], V_REQUIRED, 100, &s) == -1,
		    "accepted %s", fields[i]);
	ck_assert_str_eq(s, "untouched");
	ck_assert_uint_eq(nerrors(&v), 5);
	for (size_t i = 0; i < 5; i++)
		assert_error(v.errors, i, fields[i],
		    "must not contain control characters");
	v_end(&v);
	json_decref(o);
}
END_TEST

START_TEST(test_string_or_null)
{
	json_t *o = obj("{\"note\": \"hi\", \"gone\": null, \"n\": 3,"
	    " \"long\": \"abcdef\"}");
	struct vctx v;
	const char *s = "untouched";

	v_begin(&v, o, NULL);
	ck_assert_int_eq(v_string_or_null(&v, "note", 10, &s), 1);
	ck_assert_str_eq(s, "hi");
	ck_assert_int_eq(v_string_or_null(&v, "gone", 10, &s), 1);
	ck_assert_ptr_null(s);
	s = "untouched";
	ck_assert_int_eq(v_string_or_null(&v, "absent", 10, &s), 0);
	ck_assert_str_eq(s, "untouched");
	ck_assert(v_ok(&v));
	ck_assert_int_eq(v_string_or_null(&v, "n", 10, &s), -1);
	ck_assert_int_eq(v_string_or_null(&v, "long", 5, &s), -1);
	ck_assert_str_eq(s, "untouched");
	ck_assert_uint_eq(nerrors(&v), 2);
	assert_error(v.errors, 0, "n", "must be a string");
	assert_error(v.errors, 1, "long", "must be 1 to 5 characters");
	v_end(&v);
	json_decref(o);
}
END_TEST

START_TEST(test_int)
{
	json_t *o = obj("{\"cap\": 20, \"lo\": 1, \"hi\": 100, \"zero\": 0,"
	    " \"big\": 101, \"str\": \"5\", \"real\": 5.0, \"nul\": null,"
	    " \"neg\": -5, \"huge\": 9223372036854775807}");
	struct vctx v;
	int64_t n = -99;

	v_begin(&v, o, NULL);
	ck_assert_int_eq(v_int(&v, "cap", V_REQUIRED, 1, 100, &n), 1);
	ck_assert_int_eq(n, 20);
	/* Bounds are inclusive. */
	ck_assert_int_eq(v_int(&v, "lo", V_REQUIRED, 1, 100, &n), 1);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(v_int(&v, "hi", V_REQUIRED, 1, 100, &n), 1);
	ck_assert_int_eq(n, 100);
	ck_assert_int_eq(v_int(&v, "neg", V_REQUIRED, -10, 10, &n), 1);
	ck_assert_int_eq(n, -5);
	ck_assert_int_eq(v_int(&v, "huge", V_REQUIRED, 0, INT64_MAX, &n), 1);
	ck_assert_int_eq(n, INT64_MAX);
	ck_assert(v_ok(&v));
	n = -99;
	ck_assert_int_eq(v_int(&v, "absent", V_OPTIONAL, 1, 100, &n), 0);
	ck_assert_int_eq(n, -99);
	ck_assert(v_ok(&v));
	ck_assert_int_eq(v_int(&v, "absent", V_REQUIRED, 1, 100, &n), -1);
	ck_assert_int_eq(v_int(&v, "zero", V_REQUIRED, 1, 100, &n), -1);
	ck_assert_int_eq(v_int(&v, "big", V_REQUIRED, 1, 100, &n), -1);
	ck_assert_int_eq(v_int(&v, "str", V_REQUIRED, 1, 100, &n), -1);
	ck_assert_int_eq(v_int(&v, "real", V_REQUIRED, 1, 100, &n), -1);
	ck_assert_int_eq(v_int(&v, "nul", V_OPTIONAL, 1, 100, &n), -1);
	ck_assert_int_eq(n, -99);
	ck_assert_uint_eq(nerrors(&v), 6);
	assert_error(v.errors, 0, "absent", "is required");
	for (size_t i = 1; i < 6; i++)
		ck_assert_str_eq(json_string_value(json_object_get(
		    json_array_get(v.errors, i), "message")),
		    "must be an integer from 1 to 100");
	ck_assert_str_eq(json_string_value(json_object_get(
	    json_array_get(v.errors, 4), "field")), "real");
	v_end(&v);
	json_decref(o);
}
END_TEST

START_TEST(test_bool)
{
	json_t *o = obj("{\"t\": true, \"f\": false, \"one\": 1,"
	    " \"str\": \"true\", \"nul\": null}");
	struct vctx v;
	int b = -1;

	v_begin(&v, o, NULL);
	ck_assert_int_eq(v_bool(&v, "t", V_REQUIRED, &b), 1);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(v_bool(&v, "f", V_REQUIRED, &b), 1);
	ck_assert_int_eq(b, 0);
	b = -1;
	ck_assert_int_eq(v_bool(&v, "absent", V_OPTIONAL, &b), 0);
	ck_assert_int_eq(b, -1);
	ck_assert(v_ok(&v));
	ck_assert_int_eq(v_bool(&v, "absent", V_REQUIRED, &b), -1);
	ck_assert_int_eq(v_bool(&v, "one", V_REQUIRED, &b), -1);
	ck_assert_int_eq(v_bool(&v, "str", V_REQUIRED, &b), -1);
	ck_assert_int_eq(v_bool(&v, "nul", V_OPTIONAL, &b), -1);
	ck_assert_int_eq(b, -1);
	ck_assert_uint_eq(nerrors(&v), 4);
	assert_error(v.errors, 0, "absent", "is required");
	assert_error(v.errors, 1, "one", "must be true or false");
	assert_error(v.errors, 2, "str", "must be true or false");
	assert_error(v.errors, 3, "nul", "must be true or false");
	v_end(&v);
	json_decref(o);
}
END_TEST

START_TEST(test_time)
{
	static const char msg[] = "must be an RFC 3339 time with an offset, "
	    "e.g. 2026-11-22T08:00:00Z";
	json_t *o = obj("{\"z\": \"2026-11-22T08:00:00Z\","
	    " \"off\": \"2026-11-22T09:00:00+01:00\","
	    " \"local\": \"2026-11-22T08:00:00\","
	    " \"feb30\": \"2026-02-30T08:00:00Z\","
	    " \"num\": 1795334400, \"junk\": \"tomorrow\"}");
	struct vctx v;
	int64_t t = -1;

	v_begin(&v, o, NULL);
	ck_assert_int_eq(v_time(&v, "z", V_REQUIRED, &t), 1);
	ck_assert_int_eq(t, INT64_C(1795334400));
	t = -1;
	ck_assert_int_eq(v_time(&v, "off", V_REQUIRED, &t), 1);
	ck_assert_int_eq(t, INT64_C(1795334400));
	t = -1;
	ck_assert_int_eq(v_time(&v, "absent", V_OPTIONAL, &t), 0);
	ck_assert_int_eq(t, -1);
	ck_assert(v_ok(&v));
	ck_assert_int_eq(v_time(&v, "absent", V_REQUIRED, &t), -1);
	ck_assert_int_eq(v_time(&v, "local", V_REQUIRED, &t), -1);
	ck_assert_int_eq(v_time(&v, "feb30", V_REQUIRED, &t), -1);
	ck_assert_int_eq(v_time(&v, "num", V_REQUIRED, &t), -1);
	ck_assert_int_eq(v_time(&v, "junk", V_OPTIONAL, &t), -1);
	ck_assert_int_eq(t, -1);
	ck_assert_uint_eq(nerrors(&v), 5);
	assert_error(v.errors, 0, "absent", "is required");
	assert_error(v.errors, 1, "local", msg);
	assert_error(v.errors, 2, "feb30", msg);
	assert_error(v.errors, 3, "num", msg);
	assert_error(v.errors, 4, "junk", msg);
	v_end(&v);
	json_decref(o);
}
END_TEST

/* v_email on one value: the getter's result; *nerr gets the error count. */
static int
email(const char *value, size_t *nerr)
{
	json_t *o = json_pack("{s:s}", "email", value);
	struct vctx v;
	const char *out = NULL;
	int rc;

	ck_assert_ptr_nonnull(o);
	v_begin(&v, o, NULL);
	rc = v_email(&v, "email", V_REQUIRED, &out);
	*nerr = nerrors(&v);
	if (rc == 1)
		ck_assert_str_eq(out, value);
	else
		ck_assert_ptr_null(out);
	if (*nerr == 1)
		ck_assert_str_eq(json_string_value(json_object_get(
		    json_array_get(v.errors, 0), "field")), "email");
	v_end(&v);
	json_decref(o);
	return rc;
}

START_TEST(test_email)
{
	static const char *const good[] = { "a@example.com", "ann.lee@studio.co.uk",
	    "x+tag@b.io", "\xc3\xa9t\xc3\xa9@example.com", NULL };
	static const char *const bad[] = { "", "plain", "@example.com",
	    "a@", "a@example", "a@.com", "a@example.", "a@@example.com",
	    "a@b@example.com", "a b@example.com", "a@exa mple.com",
	    "a@example.com\n", "\ta@example.com", NULL };
	size_t nerr;

	for (const char *const *p = good; *p != NULL; p++) {
		ck_assert_msg(email(*p, &nerr) == 1, "rejected %s", *p);
		ck_assert_uint_eq(nerr, 0);
	}
	for (const char *const *p = bad; *p != NULL; p++) {
		ck_assert_msg(email(*p, &nerr) == -1, "accepted \"%s\"", *p);
		ck_assert_uint_eq(nerr, 1);
	}
}
END_TEST

START_TEST(test_email_length_and_presence)
{
	char addr[300];
	json_t *o;
	struct vctx v;
	const char *out = "untouched";
	size_t nerr;

	/* 254 characters is the limit. */
	memset(addr, 'a', 242);
	memcpy(addr + 242, "@example.com", 13);
	ck_assert_uint_eq(strlen(addr), 254);
	ck_assert_int_eq(email(addr, &nerr), 1);
	memset(addr, 'a', 243);
	memcpy(addr + 243, "@example.com", 13);
	ck_assert_int_eq(email(addr, &nerr), -1);
	ck_assert_uint_eq(nerr, 1);

	o = obj("{\"email\": \"not-an-address\", \"n\": 5}");
	v_begin(&v, o, NULL);
	ck_assert_int_eq(v_email(&v, "absent", V_OPTIONAL, &out), 0);
	ck_assert_str_eq(out, "untouched");
	ck_assert(v_ok(&v));
	ck_assert_int_eq(v_email(&v, "absent", V_REQUIRED, &out), -1);
	ck_assert_int_eq(v_email(&v, "email", V_REQUIRED, &out), -1);
	ck_assert_int_eq(v_email(&v, "n", V_REQUIRED, &out), -1);
	ck_assert_str_eq(out, "untouched");
	ck_assert_uint_eq(nerrors(&v), 3);
	assert_error(v.errors, 0, "absent", "is required");
	assert_error(v.errors, 1, "email", "must be an e-mail address");
	assert_error(v.errors, 2, "n", "must be a string");
	v_end(&v);
	json_decref(o);
}
END_TEST

Suite *
validate_suite(void)
{
	Suite *s = suite_create("validate");
	TCase *tc = tcase_create("context");

	tcase_add_test(tc, test_begin_ok);
	tcase_add_test(tc, test_unknown_fields);
	tcase_add_test(tc, test_errors_accumulate);
	tcase_add_test(tc, test_v_error);
	suite_add_tcase(s, tc);
	tc = tcase_create("getters");
	tcase_add_test(tc, test_string);
	tcase_add_test(tc, test_string_code_points);
	tcase_add_test(tc, test_string_control_chars);
	tcase_add_test(tc, test_string_or_null);
	tcase_add_test(tc, test_int);
	tcase_add_test(tc, test_bool);
	tcase_add_test(tc, test_time);
	tcase_add_test(tc, test_email);
	tcase_add_test(tc, test_email_length_and_presence);
	suite_add_tcase(s, tc);
	return s;
}
