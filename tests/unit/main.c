/*
 * main.c - the unit test runner: every suite in one SRunner. Exits 0 only
 * when every test passed. Set CK_FORK=no to run in one process (valgrind).
 */
#include <stdlib.h>

#include "core/log.h"
#include "suites.h"

int
main(void)
{
	SRunner *sr;
	int failed;

	/* Retries and dead letters log warnings on purpose; keep the output short. */
	log_set_level(LOG_ERROR);
	sr = srunner_create(util_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, router_suite());
	srunner_add_suite(sr, validate_suite());
	srunner_add_suite(sr, bus_suite());
	srunner_add_suite(sr, batch_suite());
	srunner_add_suite(sr, webhook_suite());
	srunner_add_suite(sr, ratelimit_suite());
	srunner_add_suite(sr, ical_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
