/* test_config.c - config.ini parsing, defaults and environment overrides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "suites.h"

/* Lines in an error report (each error is one "\n"-terminated line). */
static int
count_lines(const char *s)
{
	int n = 0;

	for (; s != NULL && *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* Does some line of s start with prefix? */
static int
has_line_starting(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	while (s != NULL && *s != '\0') {
		if (strncmp(s, prefix, n) == 0)
			return 1;
		s = strchr(s, '\n');
		if (s != NULL)
			s++;
	}
	return 0;
}

/*
 * Apply ini text named "test.ini" to a fresh default config; returns the
 * error count and leaves the report in *errors (caller frees).
 */
static int
apply(struct config *cfg, const char *text, char **errors)
{
	config_init(cfg);
	*errors = (char *)"sentinel";
	return config_apply_ini(cfg, text, "test.ini", errors);
}

START_TEST(test_defaults)
{
	struct config cfg;

	config_init(&cfg);
	ck_assert_str_eq(cfg.listen, "127.0.0.1:8088");
	ck_assert_str_eq(cfg.listen_host, "127.0.0.1");
	ck_assert_int_eq(cfg.listen_port, 8088);
	ck_assert_int_eq(cfg.max_body_bytes, 1048576);
	ck_assert_str_eq(cfg.db_path, "data/studiod.db");
	ck_assert_str_eq(cfg.synchronous, "full");
	ck_assert_int_eq(cfg.busy_timeout_ms, 5000);
	ck_assert_int_eq(cfg.wait_ms, 2000);
	ck_assert_int_eq(cfg.pending_timeout_s, 300);
	ck_assert_int_eq(cfg.bus_max_attempts, 5);
	ck_assert_int_eq(cfg.bus_retry_base_ms, 100);
	ck_assert_str_eq(cfg.log_level, "info");
	ck_assert_str_eq(cfg.admin_token_file, "");
	config_release(&cfg);
	ck_assert_ptr_null(cfg.listen);
	ck_assert_ptr_null(cfg.listen_host);
	/* Reusable after release. */
	config_init(&cfg);
	ck_assert_int_eq(cfg.listen_port, 8088);
	config_release(&cfg);
}
END_TEST

START_TEST(test_ini_values)
{
	static const char text[] =
	    "[server]\n"
	    "listen = 0.0.0.0:9090\n"
	    "max_body_bytes = 2048\n"
	    "[database]\n"
	    "path = /var/lib/studiod/db.sqlite\n"
	    "synchronous = normal\n"
	    "busy_timeout_ms = 0\n"
	    "[reservation]\n"
	    "wait_ms = 60000\n"
	    "pending_timeout_s = 1\n"
	    "[bus]\n"
	    "max_attempts = 7\n"
	    "retry_base_ms = 25\n"
	    "[log]\n"
	    "level = debug\n"
	    "[auth]\n"
	    "admin_token_file = /etc/studiod/admin.token\n";
	struct config cfg;
	char *errors;

	ck_assert_int_eq(apply(&cfg, text, &errors), 0);
	ck_assert_ptr_null(errors);
	ck_assert_str_eq(cfg.listen, "0.0.0.0:9090");
	ck_assert_str_eq(cfg.listen_host, "0.0.0.0");
	ck_assert_int_eq(cfg.listen_port, 9090);
	ck_assert_int_eq(cfg.max_body_bytes, 2048);
	ck_assert_str_eq(cfg.db_path, "/var/lib/studiod/db.sqlite");
	ck_assert_str_eq(cfg.synchronous, "normal");
	ck_assert_int_eq(cfg.busy_timeout_ms, 0);
	ck_assert_int_eq(cfg.wait_ms, 60000);
	ck_assert_int_eq(cfg.pending_timeout_s, 1);
	ck_assert_int_eq(cfg.bus_max_attempts, 7);
	ck_assert_int_eq(cfg.bus_retry_base_ms, 25);
	ck_assert_str_eq(cfg.log_level, "debug");
	ck_assert_str_eq(cfg.admin_token_file, "/etc/studiod/admin.token");
	config_release(&cfg);
}
END_TEST

START_TEST(test_ini_partial_keeps_defaults)
{
	struct config cfg;
	char *errors;

	ck_assert_int_eq(apply(&cfg, "[bus]\nmax_attempts=3\n", &errors), 0);
	ck_assert_ptr_null(errors);
	ck_assert_int_eq(cfg.bus_max_attempts, 3);
	ck_assert_int_eq(cfg.bus_retry_base_ms, 100);
	ck_assert_str_eq(cfg.listen, "127.0.0.1:8088");
	ck_assert_str_eq(cfg.db_path, "data/studiod.db");
	config_release(&cfg);
}
END_TEST

START_TEST(test_ini_listen_ipv6)
{
	struct config cfg;
	char *errors;

	ck_assert_int_eq(apply(&cfg, "[server]\nlisten = [::1]:8080\n", &errors),
	    0);
	ck_assert_ptr_null(errors);
	ck_assert_str_eq(cfg.listen, "[::1]:8080");
	ck_assert_str_eq(cfg.listen_host, "::1");
	ck_assert_int_eq(cfg.listen_port, 8080);
	config_release(&cfg);
}
END_TEST

START_TEST(test_ini_quoted)
{
	static const char text[] =
	    "[database]\n"
	    "path = \"  my dir/studio.db  \"\n"
	    "synchronous = \"normal\"\n"
	    "[auth]\n"
	    "admin_token_file = \"\"\n";
	struct config cfg;
	char *errors;

	ck_assert_int_eq(apply(&cfg, text, &errors), 0);
	ck_assert_ptr_null(errors);
	/* The quotes go, the spaces inside them stay. */
	ck_assert_str_eq(cfg.db_path, "  my dir/studio.db  ");
	ck_assert_str_eq(cfg.synchronous, "normal");
	ck_assert_str_eq(cfg.admin_token_file, "");
	config_release(&cfg);
}
END_TEST

START_TEST(test_ini_comments_blank)
{
	static const char text[] =
	    "# studiod configuration\n"
	    "\n"
	    "; another comment style\n"
	    "   \t  \n"
	    "  [server]  \r\n"
	    "   # indented comment\n"
	    "\tlisten   =   10.0.0.1:8000   \r\n"
	    "\n"
	    "[log]\n"
	    "level=warn";                   /* no final newline */
	struct config cfg;
	char *errors;

	ck_assert_int_eq(apply(&cfg, text, &errors), 0);
	ck_assert_ptr_null(errors);
	ck_assert_str_eq(cfg.listen_host, "10.0.0.1");
	ck_assert_int_eq(cfg.listen_port, 8000);
	ck_assert_str_eq(cfg.log_level, "warn");
	config_release(&cfg);
}
END_TEST

START_TEST(test_ini_unknown_key)
{
	static const char text[] =
	    "[server]\n"
	    "listen = 1.2.3.4:1\n"
	    "lisen = 1.2.3.4:2\n"
	    "max_body_bytes = 4096\n";
	struct config cfg;
	char *errors;

	ck_assert_int_eq(apply(&cfg, text, &errors), 1);
	ck_assert_ptr_nonnull(errors);
	ck_assert_str_eq(errors, "test.ini:3: unknown key 'lisen' in [server]\n");
	/* The good lines around it still apply. */
	ck_assert_str_eq(cfg.listen_host, "1.2.3.4");
	ck_assert_int_eq(cfg.listen_port, 1);
	ck_assert_int_eq(cfg.max_body_bytes, 4096);
	free(errors);
	config_release(&cfg);
}
END_TEST

START_TEST(test_ini_unknown_section)
{
	static const char text[] =
	    "[server]\n"
	    "listen = 1.2.3.4:5\n"
	    "[nope]\n"
	    "whatever = 1\n";
	struct config cfg;
	char *errors;

	/* One error for the section; its keys are not reported again. */
	ck_assert_int_eq(apply(&cfg, text, &errors), 1);
	ck_assert_ptr_nonnull(errors);
	ck_assert_int_eq(count_lines(errors), 1);
	ck_assert(has_line_starting(errors, "test.ini:3: "));
	ck_assert_ptr_nonnull(strstr(errors, "unknown section [nope]"));
	free(errors);
	config_release(&cfg);
}
END_TEST

START_TEST(test_ini_bad_int)
{
	struct config cfg;
	char *errors;

	ck_assert_int_eq(apply(&cfg, "[server]\nmax_body_bytes = 63\n", &errors),
	    1);
	ck_assert(has_line_starting(errors, "test.ini:2: "));
	ck_assert_ptr_nonnull(strstr(errors, "max_body_bytes"));
	ck_assert_ptr_nonnull(strstr(errors,
	    "must be an integer from 64 to 67108864"));
	ck_assert_int_eq(cfg.max_body_bytes, 1048576); /* unchanged */
	free(errors);
	config_release(&cfg);

	ck_assert_int_eq(apply(&cfg, "[bus]\nmax_attempts = 101\n", &errors), 1);
	ck_assert(has_line_starting(errors, "test.ini:2: "));
	ck_assert_ptr_nonnull(strstr(errors, "from 1 to 100"));
	ck_assert_int_eq(cfg.bus_max_attempts, 5);
	free(errors);
	config_release(&cfg);

	ck_assert_int_eq(apply(&cfg, "[bus]\nmax_attempts = 0\n", &errors), 1);
	free(errors);
	config_release(&cfg);

	ck_assert_int_eq(apply(&cfg, "[bus]\nretry_base_ms = 10ms\n", &errors), 1);
	ck_assert_int_eq(cfg.bus_retry_base_ms, 100);
	free(errors);
	config_release(&cfg);

	ck_assert_int_eq(apply(&cfg, "[bus]\nretry_base_ms =\n", &errors), 1);
	free(errors);
	config_release(&cfg);

	ck_assert_int_eq(apply(&cfg,
	    "[reservation]\nwait_ms = 99999999999999999999\n", &errors), 1);
	ck_assert_int_eq(cfg.wait_ms, 2000);
	free(errors);
	config_release(&cfg);
}
END_TEST

START_TEST(test_ini_bad_listen)
{
	static const char *const bad[] = { "nohost", ":8088", "1.2.3.4:",
	    "1.2.3.4:70000", "1.2.3.4:-1", "1.2.3.4:http", "[::1:80", NULL };
	struct config cfg;
	char *errors, *text;

	for (const char *const *b = bad; *b != NULL; b++) {
		size_t n = strlen(*b) + 32;

		text = malloc(n);
		ck_assert_ptr_nonnull(text);
		snprintf(text, n, "[server]\nlisten = %s\n", *b);
		ck_assert_msg(apply(&cfg, text, &errors) == 1, "accepted %s", *b);
		ck_assert(has_line_starting(errors, "test.ini:2: "));
		ck_assert_str_eq(cfg.listen, "127.0.0.1:8088");
		ck_assert_str_eq(cfg.listen_host, "127.0.0.1");
		ck_assert_int_eq(cfg.listen_port, 8088);
		free(errors);
		free(text);
		config_release(&cfg);
	}
}
END_TEST

START_TEST(test_ini_bad_enum)
{
	struct config cfg;
	char *errors;

	ck_assert_int_eq(apply(&cfg, "[database]\nsynchronous = off\n", &errors),
	    1);
	ck_assert(has_line_starting(errors, "test.ini:2: "));
	ck_assert_ptr_nonnull(strstr(errors, "must be one of full|normal"));
	ck_assert_str_eq(cfg.synchronous, "full");
	free(errors);
	config_release(&cfg);

	/* Enums are exact: no case folding, no prefixes. */
	ck_assert_int_eq(apply(&cfg, "[log]\nlevel = INFO\n", &errors), 1);
	free(errors);
	config_release(&cfg);
	ck_assert_int_eq(apply(&cfg, "[log]\nlevel = err\n", &errors), 1);
	ck_assert_str_eq(cfg.log_level, "info");
	free(errors);
	config_release(&cfg);
}
END_TEST

START_TEST(test_ini_malformed)
{
	struct config cfg;
	char *errors;

	ck_assert_int_eq(apply(&cfg, "[server]\nlisten\n", &errors), 1);
	ck_assert_str_eq(errors, "test.ini:2: expected key = value\n");
	free(errors);
	config_release(&cfg);

	/* The broken header opens no section, so the key after it is
	 * reported too, on its own line. */
	ck_assert_int_eq(apply(&cfg, "\n[server\nlisten = 1.2.3.4:5\n", &errors),
	    2);
	ck_assert_int_eq(strncmp(errors,
	    "test.ini:2: malformed section header\n", 37), 0);
	ck_assert(has_line_starting(errors, "test.ini:3: "));
	ck_assert_str_eq(cfg.listen, "127.0.0.1:8088");
	free(errors);
	config_release(&cfg);

	ck_assert_int_eq(apply(&cfg, "[server]\n[]x\n", &errors), 1);
	ck_assert_str_eq(errors, "test.ini:2: malformed section header\n");
	free(errors);
	config_release(&cfg);

	ck_assert_int_eq(apply(&cfg, "listen = 1.2.3.4:5\n", &errors), 1);
	ck_assert(has_line_starting(errors, "test.ini:1: "));
	ck_assert_ptr_nonnull(strstr(errors, "outside any section"));
	ck_assert_str_eq(cfg.listen, "127.0.0.1:8088");
	free(errors);
	config_release(&cfg);
}
END_TEST

START_TEST(test_ini_duplicate_key)
{
	static const char text[] =
	    "[server]\n"
	    "listen = 1.1.1.1:1\n"
	    "listen = 2.2.2.2:2\n";
	struct config cfg;
	char *errors;

	ck_assert_int_eq(apply(&cfg, text, &errors), 1);
	ck_assert_str_eq(errors,
	    "test.ini:3: duplicate key 'listen' in [server]\n");
	free(errors);
	config_release(&cfg);
}
END_TEST

START_TEST(test_ini_several_errors)
{
	static const char text[] =
	    "[server]\n"                            /* 1 */
	    "bogus = 1\n"                           /* 2: unknown key */
	    "listen = 1.2.3.4:5\n"                  /* 3 */
	    "max_body_bytes = lots\n"               /* 4: bad int */
	    "[database]\n"                          /* 5 */
	    "synchronous = sometimes\n"             /* 6: bad enum */
	    "\n"                                    /* 7 */
	    "garbage line\n"                        /* 8: malformed */
	    "[bus]\n"                               /* 9 */
	    "max_attempts = 2\n"                    /* 10 */
	    "max_attempts = 3\n";                   /* 11: duplicate */
	struct config cfg;
	char *errors;
	const char *p;

	ck_assert_int_eq(apply(&cfg, text, &errors), 5);
	ck_assert_int_eq(count_lines(errors), 5);
	/* In file order, each with its own line number. */
	p = errors;
	ck_assert_int_eq(strncmp(p, "test.ini:2: ", 12), 0);
	p = strchr(p, '\n') + 1;
	ck_assert_int_eq(strncmp(p, "test.ini:4: ", 12), 0);
	p = strchr(p, '\n') + 1;
	ck_assert_int_eq(strncmp(p, "test.ini:6: ", 12), 0);
	p = strchr(p, '\n') + 1;
	ck_assert_int_eq(strncmp(p, "test.ini:8: ", 12), 0);
	p = strchr(p, '\n') + 1;
	ck_assert_int_eq(strncmp(p, "test.ini:11: ", 13), 0);
	/* The valid lines in between still applied. */
	ck_assert_int_eq(cfg.listen_port, 5);
	ck_assert_int_eq(cfg.bus_max_attempts, 2);
	free(errors);
	config_release(&cfg);
}
END_TEST

START_TEST(test_env_overrides)
{
	char *envp[] = {
		"PATH=/usr/bin:/bin",
		"STUDIOD_SERVER_LISTEN=127.0.0.1:9000",
		"STUDIOD_DATABASE_SYNCHRONOUS=normal",
		"STUDIOD_DATABASE_PATH=/tmp/x y.db",
		"STUDIOD_BUS_MAX_ATTEMPTS=9",
		"STUDIOD_LOG_LEVEL=error",
		NULL,
	};
	struct config cfg;
	char *errors = (char *)"sentinel";

	config_init(&cfg);
	/* The environment wins over the file. */
	ck_assert_int_eq(config_apply_ini(&cfg,
	    "[server]\nlisten = 10.0.0.1:1\n[bus]\nmax_attempts = 2\n"
	    "retry_base_ms = 7\n", "test.ini", &errors), 0);
	ck_assert_int_eq(config_apply_env(&cfg, envp, &errors), 0);
	ck_assert_ptr_null(errors);
	ck_assert_str_eq(cfg.listen, "127.0.0.1:9000");
	ck_assert_str_eq(cfg.listen_host, "127.0.0.1");
	ck_assert_int_eq(cfg.listen_port, 9000);
	ck_assert_str_eq(cfg.synchronous, "normal");
	ck_assert_str_eq(cfg.db_path, "/tmp/x y.db");
	ck_assert_int_eq(cfg.bus_max_attempts, 9);
	ck_assert_int_eq(cfg.bus_retry_base_ms, 7);    /* from the file */
	ck_assert_str_eq(cfg.log_level, "error");
	config_release(&cfg);
}
END_TEST

START_TEST(test_env_empty)
{
	char *envp[] = { NULL };
	struct config cfg;
	char *errors = (char *)"sentinel";

	config_init(&cfg);
	ck_assert_int_eq(config_apply_env(&cfg, envp, &errors), 0);
	ck_assert_ptr_null(errors);
	errors = (char *)"sentinel";
	ck_assert_int_eq(config_apply_env(&cfg, NULL, &errors), 0);
	ck_assert_ptr_null(errors);
	ck_assert_int_eq(cfg.listen_port, 8088);
	config_release(&cfg);
}
END_TEST

START_TEST(test_env_unknown_key)
{
	char *envp[] = { "STUDIOD_SERVER_LISTN=127.0.0.1:9000", NULL };
	struct config cfg;
	char *errors = NULL;

	config_init(&cfg);
	ck_assert_int_eq(config_apply_env(&cfg, envp, &errors), 1);
	ck_assert_ptr_nonnull(errors);
	ck_assert_int_eq(count_lines(errors), 1);
	ck_assert_ptr_nonnull(strstr(errors, "STUDIOD_SERVER_LISTN"));
	ck_assert_ptr_nonnull(strstr(errors, "unknown key"));
	ck_assert_int_eq(cfg.listen_port, 8088);
	free(errors);
	config_release(&cfg);
}
END_TEST

START_TEST(test_env_unrelated_ignored)
{
	char *envp[] = {
		"STUDIOD_FOO_BAR=1",
		"STUDIOD_TEST_CLOCK_OFFSET_S=3600",
		"STUDIOD=1",
		"STUDIOD_SERVER",
		"HOME=/root",
		NULL,
	};
	struct config cfg;
	char *errors = (char *)"sentinel";

	config_init(&cfg);
	ck_assert_int_eq(config_apply_env(&cfg, envp, &errors), 0);
	ck_assert_ptr_null(errors);
	ck_assert_int_eq(cfg.bus_max_attempts, 5);
	config_release(&cfg);
}
END_TEST

START_TEST(test_env_bad_value)
{
	char *envp[] = {
		"STUDIOD_DATABASE_BUSY_TIMEOUT_MS=-1",
		"STUDIOD_SERVER_LISTEN=127.0.0.1:9000",
		"STUDIOD_LOG_LEVEL=loud",
		NULL,
	};
	struct config cfg;
	char *errors = NULL;

	config_init(&cfg);
	ck_assert_int_eq(config_apply_env(&cfg, envp, &errors), 2);
	ck_assert_int_eq(count_lines(errors), 2);
	ck_assert(has_line_starting(errors,
	    "environment STUDIOD_DATABASE_BUSY_TIMEOUT_MS=\"-1\": "));
	ck_assert(has_line_starting(errors,
	    "environment STUDIOD_LOG_LEVEL=\"loud\": "));
	ck_assert_ptr_nonnull(strstr(errors, "must be one of debug|info|warn|error"));
	/* Bad values leave the setting alone; good ones still apply. */
	ck_assert_int_eq(cfg.busy_timeout_ms, 5000);
	ck_assert_str_eq(cfg.log_level, "info");
	ck_assert_int_eq(cfg.listen_port, 9000);
	free(errors);
	config_release(&cfg);
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("ini");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_ini_values);
	tcase_add_test(tc, test_ini_partial_keeps_defaults);
	tcase_add_test(tc, test_ini_listen_ipv6);
	tcase_add_test(tc, test_ini_quoted);
	tcase_add_test(tc, test_ini_comments_blank);
	tcase_add_test(tc, test_ini_unknown_key);
	tcase_add_test(tc, test_ini_unknown_section);
	tcase_add_test(tc, test_ini_bad_int);
	tcase_add_test(tc, test_ini_bad_listen);
	tcase_add_test(tc, test_ini_bad_enum);
	tcase_add_test(tc, test_ini_malformed);
	tcase_add_test(tc, test_ini_duplicate_key);
	tcase_add_test(tc, test_ini_several_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("env");
	tcase_add_test(tc, test_env_overrides);
	tcase_add_test(tc, test_env_empty);
	tcase_add_test(tc, test_env_unknown_key);
	tcase_add_test(tc, test_env_unrelated_ignored);
	tcase_add_test(tc, test_env_bad_value);
	suite_add_tcase(s, tc);
	return s;
}
