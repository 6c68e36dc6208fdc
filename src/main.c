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
#include <unistd.h>
#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "core/app.h"
#include "core/batch.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/util.h"
#include "core/version.h"
#include "http/auth.h"
#include "http/server.h"
#include "studiod.h"
#include "tools/backup.h"
#include "tools/check.h"
#include "tools/rebuild.h"


extern char **environ;

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


/* serve's state beside the app: the config path (for SIGHUP) and timers. */
struct serving {
	struct app *app;
	const char *config_path;
	struct event *watchdog;
};

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
	sd_notify(0, "STOPPING=1\nSTATUS=draining");
	app->draining = 1;
	http_server_drain(app, (int)app->cfg->wait_ms + 5000, on_drained, app);
}

/* Point stderr (the log) at [log] file, again on SIGHUP (logrotate). */
static int
open_log(const struct config *cfg)
{
	if (cfg->log_file[0] == '\0')
		return 0;
	if (log_open_file(cfg->log_file) != 0) {
		fprintf(stderr, "studiod: cannot open the log file %s: %s\n",
		    cfg->log_file, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * SIGHUP: reopen the log, then read the configuration again and apply what
 * can change in a running process: the log level and format and the front
 * door's limits. The rest (listen, database, modules) needs a restart; a
 * configuration that is not valid any more is refused and nothing changes.
 */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct serving *sv = arg;
	struct config cfg;

	(void)sig;
	(void)what;
	sd_notify(0, "RELOADING=1");
	(void)open_log(sv->app->cfg);
	if (load_config(&cfg, sv->config_path) != 0) {
		log_error("reload refused: the configuration is not valid", NULL);
		sd_notify(0, "READY=1");
		return;
	}
	log_set_format(strcmp(cfg.log_format, "json") == 0);
	http_server_reconfigure(sv->app, &cfg);
	log_info("configuration reloaded", "log_level=%s max_inflight=%lld "
	    "rate_per_second=%lld", cfg.log_level, (long long)cfg.max_inflight,
	    (long long)cfg.rate_per_second);
	config_release(&cfg);
	sd_notify(0, "READY=1");
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
}

/* WatchdogSec= set: ping at half the interval, from the loop itself, so a
 * wedged loop is restarted. */
static void
start_watchdog(struct serving *sv)
{
	uint64_t usec = 0;
	struct timeval tv;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	sv->watchdog = event_new(sv->app->base, -1, EV_PERSIST, on_watchdog, NULL);
	event_add(sv->watchdog, &tv);
	on_watchdog(-1, 0, NULL);
	log_info("systemd watchdog enabled", "ping_ms=%llu",
	    (unsigned long long)(usec / 1000));
}

/* `studiod serve`: run until SIGINT/SIGTERM, then drain and stop. */
static int
serve(const struct config *cfg, const char *config_path)
{
	struct app app;
	struct serving sv = { &app, config_path, NULL };
	struct event *sigs[3] = { NULL, NULL, NULL };
	char *token_path = admin_token_path(cfg);
	int rc = 1;

	memset(&app, 0, sizeof app);
	signal(SIGPIPE, SIG_IGN);
	if (open_log(cfg) != 0 || app_open(&app, cfg) != 0)
		goto out;
	if (auth_bootstrap_admin(app.db, token_path) != 0 ||
	    http_server_listen(&app) != 0)
		goto out;
	/* libevent restores these when its events go: a second SIGTERM during
	 * the final flush must not kill the process with a 143. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigs[0] = evsignal_new(app.base, SIGINT, on_signal, &app);
	sigs[1] = evsignal_new(app.base, SIGTERM, on_signal, &app);
	sigs[2] = evsignal_new(app.base, SIGHUP, on_hup, &sv);
	for (int i = 0; i < 3; i++)
		evsignal_add(sigs[i], NULL);
	/* Anything committed but not dispatched before the last stop goes now. */
	batch_kick(app.batch);
	start_watchdog(&sv);
	log_info("studiod started", "version=%s db=\"%s\"", STUDIOD_VERSION,
	    cfg->db_path);
	sd_notifyf(0, "READY=1\nSTATUS=serving\nMAINPID=%lu",
	    (unsigned long)getpid());
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
	for (int i = 0; i < 3; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	if (sv.watchdog != NULL)
		event_free(sv.watchdog);
	app_close(&app);
	free(token_path);
	return rc;
}

/* The command line after the global options. */
struct cmdline {
	const char *config_path;
	const char *role;           /* token create --role */
	const char *member;         /* token create --member */
	const char *pos[3];         /* positional arguments */
	int npos;
	struct config cfg;
};

struct command {
	const char *name;
	const char *args;           /* what follows the name in the usage */
	const char *help;
	int (*run)(struct cmdline *cl);
};

static int
cmd_serve(struct cmdline *cl)
{
	return serve(&cl->cfg, cl->config_path);
}

static int
cmd_migrate(struct cmdline *cl)
{
	struct db *db = NULL;
	int rc = app_open_database(&cl->cfg, &db) == 0 ? 0 : 1;

	db_close(db);
	return rc;
}

static int
cmd_check_config(struct cmdline *cl)
{
	(void)cl;
	printf("configuration is valid\n");
	return 0;
}

static int
cmd_check(struct cmdline *cl)
{
	return check_database(cl->cfg.db_path, cl->cfg.pending_timeout_s, stdout);
}

static int
cmd_rebuild(struct cmdline *cl)
{
	return rebuild_projections(&cl->cfg, stdout);
}

static int
cmd_version(struct cmdline *cl)
{
	(void)cl;
	printf("studiod %s (SQLite %s)\n", STUDIOD_VERSION, sqlite3_libversion());
	return 0;
}

static int
cmd_backup(struct cmdline *cl)
{
	int rc = backup_database(cl->cfg.db_path, cl->pos[0],
	    (int)cl->cfg.busy_timeout_ms, stderr);

	if (rc == 0)
		printf("backup written to %s (integrity_check ok)\n", cl->pos[0]);
	return rc;
}

/* token create --role admin|member [--member ID] | token revoke ID|TOKEN */
static int
cmd_token(struct cmdline *cl)
{
	struct db *db = NULL;
	int64_t member = 0, id = 0;
	const char *why = NULL;
	char *token = NULL;
	int create = strcmp(cl->pos[0], "create") == 0, rc = 1;
	enum role role = cl->role != NULL && strcmp(cl->role, "admin") == 0 ?
	    ROLE_ADMIN : ROLE_MEMBER;

	if (create && (cl->npos != 1 || cl->role == NULL ||
	    (strcmp(cl->role, "admin") != 0 && strcmp(cl->role, "member") != 0) ||
	    (role == ROLE_MEMBER) != (cl->member != NULL) || (cl->member != NULL &&
	    parse_int64(cl->member, 1, INT64_MAX, &member) != 0))) {
		fprintf(stderr, "studiod token create: --role admin, or --role "
		    "member --member ID\n");
		return 2;
	}
	if (!create && (strcmp(cl->pos[0], "revoke") != 0 || cl->npos != 2 ||
	    cl->role != NULL || cl->member != NULL)) {
		fprintf(stderr, "studiod token: create or revoke ID|TOKEN\n");
		return 2;
	}
	if (app_open_database(&cl->cfg, &db) != 0 || auth_init(db) != 0)
		goto out;
	if (create) {
		token = auth_token_create(db, role, member, &id, &why);
		if (token == NULL)
			fprintf(stderr, "studiod token create: %s\n", why);
		else
			printf("id=%lld role=%s token=%s\n", (long long)id,
			    cl->role, token);
		rc = token == NULL;
	} else {
		int n = auth_token_revoke(db, cl->pos[1]);

		if (n == 0)
			fprintf(stderr, "studiod token revoke: no such live "
			    "token\n");
		else if (n == 1)
			printf("revoked\n");
		rc = n == 1 ? 0 : 1;
	}
out:
	free(token);
	auth_fini();
	db_close(db);
	return rc;
}

static const struct command commands[] = {
	{ "serve", "", "run the server (the default command)", cmd_serve },
	{ "migrate", "", "apply pending migrations (embedded in the binary) and "
	    "exit", cmd_migrate },
	{ "check-config", "", "validate the configuration and exit",
	    cmd_check_config },
	{ "check", "", "verify the database's invariants (exit 1 on a "
	    "violation)", cmd_check },
	{ "rebuild-projections", "", "replay the event log into the read models",
	    cmd_rebuild },
	{ "backup", "PATH", "copy the live database to PATH (online, safe while "
	    "the server runs), then PRAGMA integrity_check the copy", cmd_backup },
	{ "token", "create --role admin|member [--member ID] | revoke ID|TOKEN",
	    "make a bearer token (printed once) or revoke one", cmd_token },
	{ "version", "", "print the version", cmd_version },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void
usage(FILE *f, const struct command *only)
{
	if (only != NULL) {
		fprintf(f, "usage: studiod %s%s%s [--config PATH]\n\n%s\n",
		    only->name, only->args[0] ? " " : "", only->args, only->help);
		return;
	}
	fprintf(f, "usage: studiod [--config PATH] [COMMAND] [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-20s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n`studiod COMMAND --help` for one command. Every config key "
	    "can be overridden\nby STUDIOD_<SECTION>_<KEY>, e.g. "
	    "STUDIOD_SERVER_LISTEN=127.0.0.1:9000.\n");
}

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/*
 * Options may come before or after the command. Returns 0, 1 for --help
 * (usage printed), or 2 on a usage error (printed).
 */
static int
parse_cmdline(int argc, char **argv, const struct command **cmd,
    struct cmdline *cl)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "role", required_argument, NULL, 'r' },
		{ "member", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	int c, help = 0, named;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (c == 'c')
			cl->config_path = optarg;
		else if (c == 'h')
			help = 1;
		else if (c == 'r')
			cl->role = optarg;
		else if (c == 'm')
			cl->member = optarg;
		else
			return usage(stderr, NULL), 2;
	}
	named = optind < argc;
	*cmd = find_command(named ? argv[optind++] : "serve");
	if (*cmd == NULL)
		return usage(stderr, NULL), 2;
	if (help)
		return usage(stdout, named ? *cmd : NULL), 1;
	while (optind < argc && cl->npos < 3)
		cl->pos[cl->npos++] = argv[optind++];
	if (optind < argc || (cl->npos > 0) != ((*cmd)->args[0] != '\0') ||
	    ((cl->role || cl->member) && (*cmd)->run != cmd_token) ||
	    ((*cmd)->run == cmd_backup && cl->npos != 1))
		return usage(stderr, *cmd), 2;
	return 0;
}

int
main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	struct cmdline cl;
	int rc;

	memset(&cl, 0, sizeof cl);
	rc = parse_cmdline(argc, argv, &cmd, &cl);
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	db_global_init();
	if (cmd->run == cmd_version)
		return cmd_version(&cl);
	if (load_config(&cl.cfg, cl.config_path) != 0)
		return 2;
	log_set_format(strcmp(cl.cfg.log_format, "json") == 0);
	rc = cmd->run(&cl);
	config_release(&cl.cfg);
	return rc;
}
