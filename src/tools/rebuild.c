/* rebuild.c - see rebuild.h. */
#include "tools/rebuild.h"

#include <stdint.h>
#include <stdio.h>

#include "core/app.h"
#include "core/batch.h"
#include "core/bus.h"
#include "core/db.h"
#include "studiod.h"

/*
 * The read models and the consumer that writes each. Only projections:
 * their handlers publish nothing and touch nothing else, so replaying them
 * has no effect but on these tables.
 */
static const struct {
	const char *consumer;
	const char *reset;          /* fixed SQL, no user data */
} projections[] = {
	{ "mypage", "DELETE FROM mypage_reservations" },
	{ "dashboard", "DELETE FROM dashboard_classes;"
	    " DELETE FROM dashboard_bookings; DELETE FROM dashboard_waiting;"
	    " DELETE FROM dashboard_rooms; DELETE FROM dashboard_room_bookings" },
	{ "class_reviews", "DELETE FROM class_review_stats" },
};
#define NPROJECTIONS (sizeof projections / sizeof projections[0])

/* Empty the tables and rewind the cursors, in one transaction. */
static int
reset_all(struct db *db)
{
	sqlite3_stmt *rewind = NULL, *first = NULL;
	struct db_stmt_def defs[] = {
		{ &rewind, "INSERT INTO bus_cursor(consumer, last_id) VALUES (?, 0)"
		    " ON CONFLICT (consumer) DO UPDATE SET last_id = 0" },
		{ &first, "SELECT coalesce(min(id), 1) FROM outbox" },
	};
	int rc = -1;

	if (db_prepare_all(db, defs, 2) != 0)
		return -1;
	if (db_step(db, first) == 1 && sqlite3_column_int64(first, 0) > 1)
		fprintf(stderr, "studiod: warning: the event log starts at event"
		    " %lld (older events were pruned, [bus] retention_days):"
		    " the rebuilt projections miss that history\n",
		    (long long)sqlite3_column_int64(first, 0));
	db_reset(first);
	if (db_begin(db) != 0)
		goto out;
	for (size_t i = 0; i < NPROJECTIONS; i++)
		if (db_exec_sql(db, projections[i].reset) != 0 ||
		    db_bind(rewind, "t", projections[i].consumer) != 0 ||
		    db_exec(db, rewind) != 0) {
			db_rollback(db);
			goto out;
		}
	rc = db_commit(db);
out:
	db_finalize_all(defs, 2);
	return rc;
}

/* Dispatch until every consumer is at the end of the log. */
static int
replay(struct app *app, int64_t *events)
{
	int64_t left = bus_backlog(app->bus), before;

	*events = left;
	while (left > 0) {
		before = left;
		batch_kick(app->batch);
		batch_flush(app->batch);
		left = bus_backlog(app->bus);
		if (left < 0 || left >= before)
			return -1; /* a handler fails: it would wait for a retry */
	}
	return left < 0 ? -1 : 0;
}

int
rebuild_projections(const struct config *cfg, FILE *out)
{
	struct db *db = NULL;
	struct app app;
	int64_t events = 0;
	int rc = 1;

	if (app_open_database(cfg, &db) != 0)
		goto out;
	if (reset_all(db) != 0)
		goto out;
	db_close(db);
	db = NULL;
	if (app_open(&app, cfg) != 0) {
		app_close(&app);
		goto out;
	}
	if (replay(&app, &events) == 0) {
		fprintf(out, "rebuilt %zu projections from %lld events\n",
		    NPROJECTIONS, (long long)events);
		rc = 0;
	} else {
		fprintf(out, "studiod: the replay stopped: a handler failed (see"
		    " the log); run it again\n");
	}
	app_close(&app);
out:
	db_close(db);
	if (rc != 0)
		fprintf(out, "studiod: rebuild-projections failed\n");
	return rc;
}
