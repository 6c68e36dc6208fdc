/*
 * suites.h - every Check suite of the unit test binary (tests/unit/main.c
 * runs them all).
 */
#ifndef STUDIOD_TEST_SUITES_H
#define STUDIOD_TEST_SUITES_H

#include <check.h>

Suite *util_suite(void);
Suite *config_suite(void);
Suite *router_suite(void);
Suite *validate_suite(void);
Suite *bus_suite(void);
Suite *batch_suite(void);
Suite *webhook_suite(void);
Suite *ratelimit_suite(void);
Suite *ical_suite(void);

#endif
