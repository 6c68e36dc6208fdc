/*
 * main.c - the command line: configuration, the commands, and `serve`'s
 * signals and loop. How the process is put together is app.c's.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <event2/event.h>

#include "core/app.h"
#include "core/batch.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/util.h"
#include "http/auth.h"
#include "http/server.h"
#include "studiod.h"
#include "tools/check.h"
#include "tools/rebuild.h"

#ifndef STUDIOD_VERSION
#define STUDIOD_VERSION "0.1.0"
#endif

extern char **environ;



static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: studiod [COMMAND] [--config PATH]\n"
	    "\n"
	    "commands:\n"
	    "  serve          run the server (the default)\n"
	    "  migrate        apply pending migrations and exit\n"
	    "  check-config   validate the configuration and exit\n"
	    "  check          verify the database's invariants (exit 1 on a violation)\n"
	    "  rebuild-projections  replay the event log into the read models\n"
	    "                 (the member's page, dashboard, review statistics)\n"
	    "  version        print the version\n"
	    "\n"
	    "Every config key can be overridden by STUDIOD_<SECTION>_<KEY>,\n"
	    "e.g. STUDIOD_SERVER_LISTEN=127.0.0.1:9000.\n");
}

/* Defaults, then the file, then the environment. 0, or -1 with errors printed. */
static int
load_config(struct config *cfg, const char *path)
{
	char *errors = NULL;
	int n = 0;

	config_init(cfg);
	if (path != NULL)
		n = config_apply_file(cfg, path, &errors);
	if (n == 0)
		n = config_apply_env(cfg, environ, &errors);
	if (n == 0)
		n = config_check(cfg, &errors);
	if (n > 0) {
		fprintf(stderr, "studiod: configuration is not valid:\n%s", errors);
		free(errors);
		config_release(cfg);
		return -1;
	}
	log_set_level((enum log_level)log_level_parse(cfg->log_level));
	return 0;
}

static char *
admin_token_path(const struct config *cfg)
{
	char *copy, *path;

	if (cfg->admin_token_file[0] != '\0')
		return xstrdup(cfg->admin_token_file);
	copy = xstrdup(cfg->db_path);
	path = xasprintf("%s/admin.token", dirname(copy));
	free(copy);
	return path;
}

static void
on_drained(void *arg)
{
	struct app *app = arg;

	log_info("drained; stopping", NULL);
	event_base_loopexit(app->base, NULL);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct app *app = arg;

	(void)what;
	if (app->draining)
		return;
	log_info("signal received; draining", "signal=%d", (int)sig);
	app->draining = 1;
	http_server_drain(app, (int)app->cfg->wait_ms + 5000, on_drained, app);
}

/* `studiod serve`: run until SIGINT/SIGTERM, then drain and stop. */
static int
serve(const struct config *cfg)
{
	struct app app;
	struct event *sigint = NULL, *sigterm = NULL;
	char *token_path = admin_token_path(cfg);
	int rc = 1;

	signal(SIGPIPE, SIG_IGN);
	if (app_open(&app, cfg) != 0)
		goto out;
	if (auth_bootstrap_admin(app.db, token_path) != 0 ||
	    http_server_listen(&app) != 0)
		goto out;
	sigint = evsignal_new(app.base, SIGINT, on_signal, &app);
	sigterm = evsignal_new(app.base, SIGTERM, on_signal, &app);
	evsignal_add(sigint, NULL);
	evsignal_add(sigterm, NULL);
	/* Anything committed but not dispatched before the last stop goes now. */
	batch_kick(app.batch);
	log_info("studiod started", "version=%s db=\"%s\"", STUDIOD_VERSION,
	    cfg->db_path);
	event_base_dispatch(app.base);
	/* A last flush: dispatch whatever the final batch left. */
	batch_kick(app.batch);
	batch_flush(app.batch);
	/* Past the drain deadline: whatever still waits is answered 503. */
	batch_abandon(app.batch);
	rc = 0;
	log_info("studiod stopped", "batches=%llu units=%llu failed_commits=%llu",
	    batch_stats(app.batch)->batches, batch_stats(app.batch)->items,
	    batch_stats(app.batch)->commits_failed);
out:
	if (sigint != NULL)
		event_free(sigint);
	if (sigterm != NULL)
		event_free(sigterm);
	app_close(&app);
	free(token_path);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *command = "serve";
	struct config cfg;
	struct db *db = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		command = argv[optind++];
	db_global_init();
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(command, "version") == 0) {
		printf("studiod %s\n", STUDIOD_VERSION);
		return 0;
	}
	if (load_config(&cfg, config_path) != 0)
		return 2;
	if (strcmp(command, "check-config") == 0) {
		printf("configuration is valid\n");
		rc = 0;
	} else if (strcmp(command, "check") == 0) {
		rc = check_database(cfg.db_path, cfg.pending_timeout_s, stdout);
	} else if (strcmp(command, "rebuild-projections") == 0) {
		rc = rebuild_projections(&cfg, stdout);
	} else if (strcmp(command, "migrate") == 0) {
		rc = app_open_database(&cfg, &db) == 0 ? 0 : 1;
		db_close(db);
	} else if (strcmp(command, "serve") == 0) {
		rc = serve(&cfg);
	} else {
		usage(stderr);
		rc = 2;
	}
	config_release(&cfg);
	return rc;
}
