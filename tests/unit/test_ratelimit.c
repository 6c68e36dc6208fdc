/* test_ratelimit.c - the token buckets of the front door, and the metrics
 * exposition's request counters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"
#include "core/ratelimit.h"
#include "suites.h"

#define SEC INT64_C(1000000)

START_TEST(test_burst_then_refused)
{
	struct ratelimit *rl = ratelimit_new(2, 5, 64);
	int64_t wait = 0;

	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(ratelimit_take(rl, 7, 100 * SEC, &wait), 1);
	ck_assert_int_eq(ratelimit_take(rl, 7, 100 * SEC, &wait), 0);
	/* 2 tokens a second: the next one is due in 500 ms. */
	ck_assert_int_ge(wait, 500);
	ck_assert_int_le(wait, 501);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_refill_and_cap)
{
	struct ratelimit *rl = ratelimit_new(2, 3, 64);
	int64_t wait = 0, t = 10 * SEC;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ratelimit_take(rl, 1, t, &wait), 1);
	ck_assert_int_eq(ratelimit_take(rl, 1, t, &wait), 0);
	/* Half a second later one token is back, not two. */
	t += SEC / 2;
	ck_assert_int_eq(ratelimit_take(rl, 1, t, &wait), 1);
	ck_assert_int_eq(ratelimit_take(rl, 1, t, &wait), 0);
	/* An hour idle refills to the burst, never beyond it. */
	t += 3600 * SEC;
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ratelimit_take(rl, 1, t, &wait), 1);
	ck_assert_int_eq(ratelimit_take(rl, 1, t, &wait), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_keys_are_independent)
{
	struct ratelimit *rl = ratelimit_new(1, 1, 64);
	int64_t wait = 0;

	ck_assert_int_eq(ratelimit_take(rl, 1, SEC, &wait), 1);
	ck_assert_int_eq(ratelimit_take(rl, 1, SEC, &wait), 0);
	ck_assert_int_eq(ratelimit_take(rl, 2, SEC, &wait), 1);
	ck_assert_int_eq(ratelimit_take(rl, 3, SEC, &wait), 1);
	ratelimit_free(rl);
}
END_TEST

/* A full table forgets the stalest bucket, never refuses to answer. */
START_TEST(test_full_table_evicts)
{
	struct ratelimit *rl = ratelimit_new(1, 1, 16);
	int64_t wait = 0;

	for (uint64_t k = 1; k <= 1000; k++)
		ck_assert_int_eq(ratelimit_take(rl, k, (int64_t)k, &wait), 1);
	/* The most recent key is still remembered. */
	ck_assert_int_eq(ratelimit_take(rl, 1000, 1000, &wait), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_configure_caps_tokens)
{
	struct ratelimit *rl = ratelimit_new(100, 100, 16);
	int64_t wait = 0;

	ck_assert_int_eq(ratelimit_take(rl, 5, SEC, &wait), 1);
	/* 99 tokens left, capped to the new burst of 2. */
	ratelimit_configure(rl, 1, 2);
	ck_assert_int_eq(ratelimit_take(rl, 5, SEC, &wait), 1);
	ck_assert_int_eq(ratelimit_take(rl, 5, SEC, &wait), 1);
	ck_assert_int_eq(ratelimit_take(rl, 5, SEC, &wait), 0);
	ck_assert_int_ge(wait, 1);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_hash_spreads)
{
	ck_assert(ratelimit_hash("127.0.0.1", 9) != ratelimit_hash("127.0.0.2", 9));
	ck_assert(ratelimit_hash("", 0) != 0);
}
END_TEST

static const char route_a[] = "/api/v1/classes";

START_TEST(test_metrics_counts_and_histogram)
{
	size_t len = 0;
	char *text;

	metrics_reset();
	metrics_request(route_a, "GET", 200, 500);
	metrics_request(route_a, "GET", 200, 3000);
	metrics_request(route_a, "GET", 404, 2000000);
	metrics_request(NULL, "GET", 404, 10);
	text = metrics_render(&len);
	ck_assert_uint_eq(strlen(text), len);
	ck_assert_ptr_nonnull(strstr(text, "studiod_http_requests_total{route="
	    "\"/api/v1/classes\",method=\"GET\",status=\"200\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "{route=\"unmatched\",method=\"GET\","
	    "status=\"404\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "studiod_http_request_duration_seconds_bucket{le=\"0.001\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "studiod_http_request_duration_seconds_bucket{le=\"0.005\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "studiod_http_request_duration_seconds_bucket{le=\"+Inf\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "studiod_http_request_duration_seconds_count 4\n"));
	free(text);
	metrics_reset();
}
END_TEST

Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_burst_then_refused);
	tcase_add_test(tc, test_refill_and_cap);
	tcase_add_test(tc, test_keys_are_independent);
	tcase_add_test(tc, test_full_table_evicts);
	tcase_add_test(tc, test_configure_caps_tokens);
	tcase_add_test(tc, test_hash_spreads);
	tcase_add_test(tc, test_metrics_counts_and_histogram);
	suite_add_tcase(s, tc);
	return s;
}
