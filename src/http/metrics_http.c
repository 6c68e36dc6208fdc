/*
 * metrics_http.c - GET /metrics, and the core's own providers: in-flight
 * requests, group commit, outbox backlog and the age of its oldest
 * undelivered event, dead letters, saga outcomes, database size, build
 * info. Everything here runs only when /metrics is scraped.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/app.h"
#include "core/batch.h"
#include "core/bus.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "core/version.h"
#include "http/server_internal.h"

#define MAX_OUTCOMES 48

/*
 * Saga outcomes are read from the event log (a core table) rather than
 * asked of the reservation module: each scrape reads only the events
 * appended since the last one, and the first scrape after a start reads
 * them all once.
 */
static struct {
	struct app *app;
	sqlite3_stmt *max_id, *outcomes, *dead, *oldest;
	int64_t scanned;            /* outbox ids <= this are counted */
	struct {
		char outcome[16];
		char reason[40];
		uint64_t n;
	} out[MAX_OUTCOMES];
	int nout;
	time_t started;
} mh;

static const struct db_stmt_def stmts[] = {
	{ &mh.max_id, "SELECT coalesce(max(id), 0) FROM outbox" },
	{ &mh.outcomes, "SELECT substr(type, 13), json_extract(payload, '$.reason')"
	    " FROM outbox WHERE id > ? AND id <= ? AND type IN"
	    " ('reservation.confirmed', 'reservation.rejected',"
	    " 'reservation.cancelled', 'reservation.awaiting_approval')" },
	{ &mh.dead, "SELECT count(*) FROM bus_dead_letter" },
	{ &mh.oldest, "SELECT created_at FROM outbox WHERE id >"
	    " (SELECT coalesce(min(last_id), 0) FROM bus_cursor)"
	    " ORDER BY id LIMIT 1" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

static void
count_outcome(const char *outcome, const char *reason)
{
	int i;

	for (i = 0; i < mh.nout; i++)
		if (strcmp(mh.out[i].outcome, outcome) == 0 &&
		    strcmp(mh.out[i].reason, reason) == 0)
			break;
	if (i == mh.nout) {
		if (mh.nout == MAX_OUTCOMES) {
			i = MAX_OUTCOMES - 1;   /* a bounded label set */
			reason = "other";
		} else {
			mh.nout++;
		}
		snprintf(mh.out[i].outcome, sizeof mh.out[i].outcome, "%s", outcome);
		snprintf(mh.out[i].reason, sizeof mh.out[i].reason, "%s", reason);
	}
	mh.out[i].n++;
}

/* Count the outcome events appended since the last scrape. 0 or -1. */
static int
scan_outcomes(void)
{
	int64_t upto = 0;
	int rc = -1;

	if (db_step(mh.app->db, mh.max_id) != 1)
		goto out;
	upto = sqlite3_column_int64(mh.max_id, 0);
	if (db_bind(mh.outcomes, "ii", mh.scanned, upto) != 0)
		goto out;
	while ((rc = db_step(mh.app->db, mh.outcomes)) == 1) {
		const char *reason = (const char *)sqlite3_column_text(
		    mh.outcomes, 1);

		count_outcome((const char *)sqlite3_column_text(mh.outcomes, 0),
		    reason != NULL ? reason : "");
	}
	if (rc == 0)
		mh.scanned = upto;
out:
	db_reset(mh.max_id);
	db_reset(mh.outcomes);
	return rc;
}

/* One integer from a one-row statement, or -1. */
static int64_t
scalar(sqlite3_stmt *st, int64_t none)
{
	int64_t v = -1;
	int rc = db_step(mh.app->db, st);

	if (rc == 1)
		v = sqlite3_column_int64(st, 0);
	else if (rc == 0)
		v = none;
	db_reset(st);
	return v;
}

static int64_t
file_size(const char *path, const char *suffix)
{
	char *p = xasprintf("%s%s", path, suffix);
	struct stat st;
	int64_t n = stat(p, &st) == 0 ? (int64_t)st.st_size : 0;

	free(p);
	return n;
}

static void
gauge(FILE *out, const char *name, const char *help, long long v)
{
	metrics_head(out, name, "gauge", help);
	fprintf(out, "%s %lld\n", name, v);
}

static void
counter(FILE *out, const char *name, const char *help, unsigned long long v)
{
	metrics_head(out, name, "counter", help);
	fprintf(out, "%s %llu\n", name, v);
}

static void
core_process(FILE *out, struct app *app)
{
	const struct batch_stats *bs = batch_stats(app->batch);

	metrics_head(out, "studiod_build_info", "gauge",
	    "The running build; the value is always 1.");
	fprintf(out, "studiod_build_info{version=\"%s\",sqlite=\"%s\"} 1\n",
	    STUDIOD_VERSION, sqlite3_libversion());
	gauge(out, "studiod_start_time_seconds", "When the process started "
	    "(Unix time).", (long long)mh.started);
	gauge(out, "studiod_http_requests_in_flight", "Requests received and "
	    "not yet answered.", (long long)app->http->active);
	gauge(out, "studiod_draining", "1 while stopping (SIGTERM).",
	    app->draining);
	counter(out, "studiod_batches_total", "Group-commit transactions.",
	    bs->batches);
	counter(out, "studiod_batch_units_total", "Units of work committed in "
	    "them.", bs->items);
	counter(out, "studiod_batch_commit_failures_total", "Transactions whose "
	    "COMMIT failed (their requests got 503).", bs->commits_failed);
}

static void
core_database(FILE *out, struct app *app)
{
	int64_t oldest = scalar(mh.oldest, 0);
	int64_t age_ms = oldest > 0 ? now_ms() - oldest : 0;

	gauge(out, "studiod_database_size_bytes", "The database file plus its "
	    "write-ahead log.", (long long)(file_size(app->cfg->db_path, "") +
	    file_size(app->cfg->db_path, "-wal")));
	gauge(out, "studiod_outbox_backlog", "Events not yet delivered to every "
	    "consumer.", (long long)bus_backlog(app->bus));
	metrics_head(out, "studiod_outbox_oldest_undelivered_age_seconds",
	    "gauge", "Age of the oldest event some consumer has not taken "
	    "(0 when none).");
	fprintf(out, "studiod_outbox_oldest_undelivered_age_seconds %.3f\n",
	    age_ms > 0 ? (double)age_ms / 1000.0 : 0.0);
	gauge(out, "studiod_bus_dead_letters", "Events that failed every "
	    "attempt.", (long long)scalar(mh.dead, 0));
	(void)scan_outcomes();
	metrics_head(out, "studiod_saga_outcomes_total", "counter",
	    "Reservations settled, by outcome and reason (from the event log).");
	for (int i = 0; i < mh.nout; i++) {
		fprintf(out, "studiod_saga_outcomes_total{outcome=\"%s\","
		    "reason=\"", mh.out[i].outcome);
		metrics_label(out, mh.out[i].reason);
		fprintf(out, "\"} %llu\n", (unsigned long long)mh.out[i].n);
	}
}

static void
core_provider(FILE *out, void *arg)
{
	core_process(out, arg);
	core_database(out, arg);
}

int
http_metrics(struct http_req *req)
{
	size_t len = 0;
	char *text = metrics_render(&len);

	http_reply_text(req, 200, text, len);
	req->content_type = "text/plain; version=0.0.4; charset=utf-8";
	free(text);
	return 0;
}

void
http_metrics_init(struct app *app)
{
	mh.app = app;
	mh.started = time(NULL);
	if (db_prepare_all(app->db, stmts, NSTMTS) != 0)
		abort(); /* our own SQL on a migrated database */
	metrics_add_provider(core_provider, app);
}

void
http_metrics_fini(void)
{
	metrics_clear_providers();
	db_finalize_all(stmts, NSTMTS);
	memset(&mh, 0, sizeof mh);
}
