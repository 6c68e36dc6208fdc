/* test_webhook.c - the webhook signature: HMAC-SHA256 (RFC 4231 vectors). */
#include <string.h>
#include <check.h>

#include "modules/webhook/webhook_internal.h"
#include "suites.h"

START_TEST(test_sign_rfc4231_case2)
{
	const char *data = "what do ya want for nothing?";
	char sig[WEBHOOK_SIG_LEN];

	webhook_sign("Jefe", data, strlen(data), sig);
	ck_assert_str_eq(sig, "sha256=5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(test_sign_long_key)
{
	/* RFC 4231 case 6: a key longer than the block is hashed first. */
	char key[132], sig[WEBHOOK_SIG_LEN];
	const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";

	memset(key, 0xaa, 131);
	key[131] = '\0';
	webhook_sign(key, data, strlen(data), sig);
	ck_assert_str_eq(sig, "sha256=60e431591ee0b67f0d8a26aacbf5b77f"
	    "8e0bc6213728c5140546040f0ee37f54");
}
END_TEST

START_TEST(test_sign_empty_body)
{
	char a[WEBHOOK_SIG_LEN], b[WEBHOOK_SIG_LEN];

	webhook_sign("k1", "", 0, a);
	webhook_sign("k2", "", 0, b);
	ck_assert_int_eq((int)strlen(a), WEBHOOK_SIG_LEN - 1);
	ck_assert_str_ne(a, b);
}
END_TEST

Suite *
webhook_suite(void)
{
	Suite *s = suite_create("webhook");
	TCase *tc = tcase_create("sign");

	tcase_add_test(tc, test_sign_rfc4231_case2);
	tcase_add_test(tc, test_sign_long_key);
	tcase_add_test(tc, test_sign_empty_body);
	suite_add_tcase(s, tc);
	return s;
}
