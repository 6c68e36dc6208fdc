/* test_router.c - method + path matching, {id} parameters, 404 and 405. */
#include <stdint.h>
#include <event2/http.h>

#include "http/router.h"
#include "suites.h"

/* Route values: only their addresses matter. */
static const int r_root, r_health, r_list, r_create, r_get, r_delete, r_mine,
    r_res, r_res_get;

static struct router *
make_router(void)
{
	struct router *r = router_new();

	router_add(r, EVHTTP_REQ_GET, "/", &r_root);
	router_add(r, EVHTTP_REQ_GET, "/healthz", &r_health);
	router_add(r, EVHTTP_REQ_GET, "/api/v1/classes", &r_list);
	router_add(r, EVHTTP_REQ_POST, "/api/v1/classes", &r_create);
	router_add(r, EVHTTP_REQ_GET, "/api/v1/classes/mine", &r_mine);
	router_add(r, EVHTTP_REQ_GET, "/api/v1/classes/{id}", &r_get);
	router_add(r, EVHTTP_REQ_DELETE, "/api/v1/classes/{id}", &r_delete);
	router_add(r, EVHTTP_REQ_GET, "/api/v1/classes/{id}/reservations", &r_res);
	router_add(r, EVHTTP_REQ_GET,
	    "/api/v1/classes/{id}/reservations/{id}", &r_res_get);
	return r;
}

static void
assert_not_found(const struct router *r, unsigned method, const char *path)
{
	struct router_match m;

	ck_assert_msg(router_match(r, method, path, &m) == ROUTER_NOT_FOUND,
	    "\"%s\" did not give 404", path);
	ck_assert_ptr_null(m.route);
	ck_assert_uint_eq(m.allow, 0);
}

START_TEST(test_literal)
{
	struct router *r = make_router();
	struct router_match m;

	ck_assert_int_eq(router_match(r, EVHTTP_REQ_GET, "/api/v1/classes", &m),
	    ROUTER_MATCH);
	ck_assert_ptr_eq(m.route, &r_list);
	ck_assert_int_eq(m.nparams, 0);
	ck_assert_int_eq(router_match(r, EVHTTP_REQ_POST, "/api/v1/classes", &m),
	    ROUTER_MATCH);
	ck_assert_ptr_eq(m.route, &r_create);
	ck_assert_int_eq(router_match(r, EVHTTP_REQ_GET, "/healthz", &m),
	    ROUTER_MATCH);
	ck_assert_ptr_eq(m.route, &r_health);
	ck_assert_int_eq(router_match(r, EVHTTP_REQ_GET, "/", &m), ROUTER_MATCH);
	ck_assert_ptr_eq(m.route, &r_root);
	ck_assert_int_eq(m.nparams, 0);
	/* A literal segment beside {id} wins over it ("mine" is no id). */
	ck_assert_int_eq(router_match(r, EVHTTP_REQ_GET, "/api/v1/classes/mine",
	    &m), ROUTER_MATCH);
	ck_assert_ptr_eq(m.route, &r_mine);
	ck_assert_int_eq(m.nparams, 0);
	router_free(r);
}
END_TEST

START_TEST(test_params)
{
	struct router *r = make_router();
	struct router_match m;

	ck_assert_int_eq(router_match(r, EVHTTP_REQ_GET, "/api/v1/classes/42",
	    &m), ROUTER_MATCH);
	ck_assert_ptr_eq(m.route, &r_get);
	ck_assert_int_eq(m.nparams, 1);
	ck_assert_int_eq(m.params[0], 42);

	ck_assert_int_eq(router_match(r, EVHTTP_REQ_DELETE, "/api/v1/classes/1",
	    &m), ROUTER_MATCH);
	ck_assert_ptr_eq(m.route, &r_delete);
	ck_assert_int_eq(m.params[0], 1);

	ck_assert_int_eq(router_match(r, EVHTTP_REQ_GET,
	    "/api/v1/classes/7/reservations", &m), ROUTER_MATCH);
	ck_assert_ptr_eq(m.route, &r_res);
	ck_assert_int_eq(m.nparams, 1);
	ck_assert_int_eq(m.params[0], 7);

	ck_assert_int_eq(router_match(r, EVHTTP_REQ_GET,
	    "/api/v1/classes/7/reservations/99", &m), ROUTER_MATCH);
	ck_assert_ptr_eq(m.route, &r_res_get);
	ck_assert_int_eq(m.nparams, 2);
	ck_assert_int_eq(m.params[0], 7);
	ck_assert_int_eq(m.params[1], 99);

	/* The longest id taken: 18 digits. */
	ck_assert_int_eq(router_match(r, EVHTTP_REQ_GET,
	    "/api/v1/classes/999999999999999999", &m), ROUTER_MATCH);
	ck_assert_int_eq(m.params[0], INT64_C(999999999999999999));
	ck_assert_int_eq(router_match(r, EVHTTP_REQ_GET,
	    "/api/v1/classes/10", &m), ROUTER_MATCH);
	ck_assert_int_eq(m.params[0], 10);
	router_free(r);
}
END_TEST

START_TEST(test_not_found)
{
	struct router *r = make_router();

	assert_not_found(r, EVHTTP_REQ_GET, "/api/v1/nope");
	assert_not_found(r, EVHTTP_REQ_GET, "/api/v1");
	assert_not_found(r, EVHTTP_REQ_GET, "/api/v1/class");
	assert_not_found(r, EVHTTP_REQ_GET, "/api/v1/classesX");
	assert_not_found(r, EVHTTP_REQ_GET, "/API/v1/classes");
	assert_not_found(r, EVHTTP_REQ_GET, "/api/v1/classes/1/2");
	assert_not_found(r, EVHTTP_REQ_GET, "/api/v1/classes/1/reservations/2/3");
	assert_not_found(r, EVHTTP_REQ_GET, "api/v1/classes");
	assert_not_found(r, EVHTTP_REQ_GET, "");
	/* Deeper than the router splits at all. */
	assert_not_found(r, EVHTTP_REQ_GET,
	    "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t");
	router_free(r);
}
END_TEST

START_TEST(test_trailing_slash)
{
	struct router *r = make_router();

	assert_not_found(r, EVHTTP_REQ_GET, "/api/v1/classes/");
	assert_not_found(r, EVHTTP_REQ_GET, "/api/v1/classes/42/");
	assert_not_found(r, EVHTTP_REQ_GET, "/healthz/");
	assert_not_found(r, EVHTTP_REQ_POST, "/api/v1/classes/");
	router_free(r);
}
END_TEST

START_TEST(test_empty_segment)
{
	struct router *r = make_router();

	assert_not_found(r, EVHTTP_REQ_GET, "//api/v1/classes");
	assert_not_found(r, EVHTTP_REQ_GET, "/api//v1/classes");
	assert_not_found(r, EVHTTP_REQ_GET, "/api/v1//classes");
	assert_not_found(r, EVHTTP_REQ_GET, "/api/v1/classes//42");
	assert_not_found(r, EVHTTP_REQ_GET, "//");
	router_free(r);
}
END_TEST

START_TEST(test_bad_ids)
{
	static const char *const bad[] = {
		"/api/v1/classes/abc",
		"/api/v1/classes/12a",
		"/api/v1/classes/a12",
		"/api/v1/classes/-1",
		"/api/v1/classes/+1",
		"/api/v1/classes/1.5",
		"/api/v1/classes/1e3",
		"/api/v1/classes/0x10",
		"/api/v1/classes/%31",
		"/api/v1/classes/0",
		"/api/v1/classes/00",
		"/api/v1/classes/007",
		"/api/v1/classes/01",
		/* 19 digits: over the 18-digit cap (and here over INT64_MAX). */
		"/api/v1/classes/1000000000000000000",
		"/api/v1/classes/9223372036854775808",
		"/api/v1/classes/9999999999999999999",
		"/api/v1/classes/99999999999999999999999999",
		"/api/v1/classes/7/reservations/0",
		"/api/v1/classes/0/reservations/7",
		"/api/v1/classes/7/reservations/x",
		NULL,
	};
	struct router *r = make_router();

	for (const char *const *p = bad; *p != NULL; p++) {
		assert_not_found(r, EVHTTP_REQ_GET, *p);
		/* Not even a 405: the path does not exist for any method. */
		assert_not_found(r, EVHTTP_REQ_PUT, *p);
	}
	router_free(r);
}
END_TEST

START_TEST(test_bad_method)
{
	struct router *r = make_router();
	struct router_match m;

	ck_assert_int_eq(router_match(r, EVHTTP_REQ_PUT, "/api/v1/classes/42",
	    &m), ROUTER_BAD_METHOD);
	ck_assert_uint_eq(m.allow, EVHTTP_REQ_GET | EVHTTP_REQ_DELETE);
	ck_assert_ptr_null(m.route);

	ck_assert_int_eq(router_match(r, EVHTTP_REQ_DELETE, "/api/v1/classes",
	    &m), ROUTER_BAD_METHOD);
	ck_assert_uint_eq(m.allow, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	ck_assert_ptr_null(m.route);

	ck_assert_int_eq(router_match(r, EVHTTP_REQ_POST, "/healthz", &m),
	    ROUTER_BAD_METHOD);
	ck_assert_uint_eq(m.allow, EVHTTP_REQ_GET);

	/* "mine" exists only as GET; {id} does not take it, so DELETE is 405
	 * with GET alone. */
	ck_assert_int_eq(router_match(r, EVHTTP_REQ_DELETE,
	    "/api/v1/classes/mine", &m), ROUTER_BAD_METHOD);
	ck_assert_uint_eq(m.allow, EVHTTP_REQ_GET);

	/* A match after a 405 candidate still matches. */
	ck_assert_int_eq(router_match(r, EVHTTP_REQ_DELETE, "/api/v1/classes/5",
	    &m), ROUTER_MATCH);
	ck_assert_ptr_eq(m.route, &r_delete);
	ck_assert_int_eq(m.params[0], 5);
	router_free(r);
}
END_TEST

START_TEST(test_empty_router)
{
	struct router *r = router_new();
	struct router_match m;

	ck_assert_int_eq(router_match(r, EVHTTP_REQ_GET, "/", &m),
	    ROUTER_NOT_FOUND);
	ck_assert_ptr_null(m.route);
	router_free(r);
	router_free(NULL);
}
END_TEST

Suite *
router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("match");

	tcase_add_test(tc, test_literal);
	tcase_add_test(tc, test_params);
	tcase_add_test(tc, test_not_found);
	tcase_add_test(tc, test_trailing_slash);
	tcase_add_test(tc, test_empty_segment);
	tcase_add_test(tc, test_bad_ids);
	tcase_add_test(tc, test_bad_method);
	tcase_add_test(tc, test_empty_router);
	suite_add_tcase(s, tc);
	return s;
}
