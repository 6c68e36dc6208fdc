/* app.c - the composition root: the table of modules and the order in
 * which the process is built and taken apart. See studiod.h. */
#include "studiod.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <event2/event.h>

#include "core/batch.h"
#include "core/bus.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/util.h"
#include "http/auth.h"
#include "http/router.h"
#include "http/server.h"
#include "modules/calendar/calendar.h"
#include "modules/class/class.h"
#include "modules/dashboard/dashboard.h"
#include "modules/eventlog/eventlog.h"
#include "modules/member/member.h"
#include "modules/mypage/mypage.h"
#include "modules/notification/notification.h"
#include "modules/payment/payment.h"
#include "modules/reservation/reservation.h"
#include "modules/room/room.h"
#include "modules/webhook/webhook.h"
#include "modules/review/review.h"

/* Started in this order, finalised in reverse. */
static const struct module *const modules[] = {
	&member_module,
	&class_module,
	&room_module,
	&reservation_module,
	&payment_module,
	&notification_module,
	&mypage_module,
	&review_module,
	&dashboard_module,
	&eventlog_module,
	&webhook_module,
	&calendar_module,
};
#define NMODULES (sizeof modules / sizeof modules[0])

/* mkdir the database's folder if it is missing (one level, like data/). */
static int
ensure_parent_dir(const char *path)
{
	char *copy = xstrdup(path), *dir = dirname(copy);
	int rc = 0;

	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		log_error("cannot create the database folder", "dir=\"%s\" err=\"%s\"",
		    dir, strerror(errno));
		rc = -1;
	}
	free(copy);
	return rc;
}

int
app_open_database(const struct config *cfg, struct db **db)
{
	*db = NULL;
	if (ensure_parent_dir(cfg->db_path) != 0)
		return -1;
	if (db_open(db, cfg->db_path, cfg->synchronous,
	    (int)cfg->busy_timeout_ms) != 0)
		return -1;
	if (db_migrate(*db) != 0) {
		db_close(*db);
		*db = NULL;
		return -1;
	}
	return 0;
}

static void
on_bus_wakeup(void *arg)
{
	batch_kick(arg);
}

int
app_open(struct app *app, const struct config *cfg)
{
	memset(app, 0, sizeof *app);
	app->cfg = cfg;
	if (app_open_database(cfg, &app->db) != 0)
		return -1;
	app->base = event_base_new();
	app->router = router_new();
	app->bus = bus_new(app->db, app->base, (int)cfg->bus_max_attempts,
	    (int)cfg->bus_retry_base_ms);
	if (app->base == NULL || app->bus == NULL || auth_init(app->db) != 0)
		return -1;
	app->batch = batch_new(app->base, app->db, app->bus,
	    (int)cfg->batch_max_units);
	bus_set_wakeup(app->bus, on_bus_wakeup, app->batch);
	if (http_server_new(app) != 0)
		return -1;
	for (; app->modules_started < NMODULES; app->modules_started++) {
		const struct module *m = modules[app->modules_started];

		if (m->init(app) != 0) {
			log_error("module failed to start", "module=%s", m->name);
			return -1;
		}
	}
	return bus_start(app->bus);
}

void
app_close(struct app *app)
{
	http_server_free(app);
	while (app->modules_started > 0)
		modules[--app->modules_started]->fini(app);
	auth_fini();
	batch_free(app->batch);
	bus_free(app->bus);
	router_free(app->router);
	if (app->base != NULL)
		event_base_free(app->base);
	db_close(app->db);
	memset(app, 0, sizeof *app);
}
