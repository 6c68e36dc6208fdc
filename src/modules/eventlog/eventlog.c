/* eventlog.c - see eventlog.h. */
#include "modules/eventlog/eventlog.h"

#include <string.h>
#include <event2/event.h>

#include "core/batch.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/util.h"
#include "http/http.h"

#define PRUNE_EVERY_S 3600
/* Rows deleted per unit of work, so one prune never makes a huge commit. */
#define PRUNE_CHUNK 5000

static struct {
	struct app *app;
	struct event *timer;
	struct batch_item prune;
	int64_t pruned;             /* rows deleted by the unit in flight */
	sqlite3_stmt *list, *del;
} e;

static const struct db_stmt_def stmts[] = {
	{ &e.list, "SELECT id, type, correlation_id, payload, created_at"
	    " FROM outbox WHERE id > ? ORDER BY id LIMIT ?" },
	/*
	 * Only what every consumer has passed, so nothing undelivered is ever
	 * lost; and never the newest event: ids are rowids, and an empty
	 * outbox would hand out ids the cursors have already passed.
	 */
	{ &e.del, "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
	    " WHERE id <= (SELECT coalesce(min(last_id), 0) FROM bus_cursor)"
	    " AND id < (SELECT max(id) FROM outbox)"
	    " AND created_at < ? ORDER BY id LIMIT 5000)" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

/* GET /events?after=&limit= (admin) */
static int
list_events(struct http_req *req)
{
	int64_t limit, after, next = 0, count = 0;
	sqlite3_stmt *st = e.list;
	json_t *items, *item;
	int rc;

	if (http_page(req, &limit, &after) != 0 ||
	    db_bind(st, "ii", after, limit + 1) != 0)
		return -1;
	items = json_array();
	while ((rc = db_step(e.app->db, st)) == 1) {
		const char *payload = (const char *)sqlite3_column_text(st, 3);

		if (count++ == limit)
			break;
		next = sqlite3_column_int64(st, 0);
		item = json_object();
		jput_int(item, "id", next);
		jput_str(item, "type", (const char *)sqlite3_column_text(st, 1));
		jput_str(item, "correlation_id",
		    (const char *)sqlite3_column_text(st, 2));
		/* The outbox's CHECK (json_valid) makes this parse. */
		json_object_set_new(item, "payload", json_loads(payload, 0, NULL));
		jput_time(item, "created_at", sqlite3_column_int64(st, 4) / 1000);
		json_array_append_new(items, item);
	}
	db_reset(st);
	if (rc < 0) {
		json_decref(items);
		return -1;
	}
	http_reply(req, 200, http_list(items, count > limit ? next : 0));
	return 0;
}

static int
prune_run(struct batch_item *item)
{
	int64_t keep_ms = e.app->cfg->bus_retention_days * 86400 * 1000;

	(void)item;
	if (db_bind(e.del, "i", now_ms() - keep_ms) != 0 ||
	    db_exec(e.app->db, e.del) != 0)
		return -1;
	e.pruned = db_changes(e.app->db);
	return 0;
}

static int
prune_settle(struct batch_item *item)
{
	(void)item;
	return 1;
}

static void
arm(int64_t seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	evtimer_add(e.timer, &tv);
}

static void
prune_deliver(struct batch_item *item, int committed)
{
	(void)item;
	if (committed && e.pruned > 0)
		log_info("event log pruned", "events=%lld retention_days=%lld",
		    (long long)e.pruned, (long long)e.app->cfg->bus_retention_days);
	/* A full chunk: there is more to prune, go on at once. */
	arm(committed && e.pruned == PRUNE_CHUNK ? 0 : PRUNE_EVERY_S);
}

static const struct batch_item_ops prune_ops = {
	.run = prune_run, .settle = prune_settle, .deliver = prune_deliver,
};

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (e.prune.queued)
		return;
	e.pruned = 0;
	batch_submit(e.app->batch, &e.prune);
}

static const struct http_route http_routes[] = {
	{ EVHTTP_REQ_GET, API "/events", list_events, ACCESS_ADMIN },
};

static int
eventlog_init(struct app *app)
{
	memset(&e, 0, sizeof e);
	e.app = app;
	e.prune.ops = &prune_ops;
	if (db_prepare_all(app->db, stmts, NSTMTS) != 0)
		return -1;
	http_add_routes(app, http_routes, 1);
	e.timer = evtimer_new(app->base, on_timer, NULL);
	arm(0); /* at start, once the loop runs */
	return 0;
}

static void
eventlog_fini(struct app *app)
{
	(void)app;
	if (e.timer != NULL)
		event_free(e.timer);
	e.timer = NULL;
	batch_forget(e.app->batch, &e.prune);
	db_finalize_all(stmts, NSTMTS);
}

const struct module eventlog_module = {
	.name = "eventlog",
	.init = eventlog_init,
	.fini = eventlog_fini,
};
