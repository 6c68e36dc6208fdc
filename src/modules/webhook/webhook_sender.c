/*
 * webhook_sender.c - the worker: after each commit (and when a retry falls
 * due) it sends the due delivery jobs with libevent's HTTP client on the
 * loop, at most MAX_INFLIGHT at a time, and records each answer as a unit
 * of work of the batch: the attempt, and the job's new state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core/app.h"
#include "core/batch.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/util.h"
#include "modules/webhook/webhook_internal.h"

#define MAX_INFLIGHT 16
/* A failing receiver is retried at least this often once backed off. */
#define MAX_DELAY_MS (3600 * 1000)

struct send {
	struct batch_item item;     /* first: the unit that records the answer */
	int64_t id;                 /* webhook_deliveries.id */
	int attempts;               /* recorded before this one */
	int64_t started_us;
	int code;                   /* HTTP status, 0 for no answer */
	char error[64];
	struct evhttp_connection *conn;
	LIST_ENTRY(send) link;
};

static struct {
	struct app *app;
	int dirty;                  /* jobs may be due: look after the commit */
	int inflight;
	LIST_HEAD(, send) sends;
	struct event *timer;
	sqlite3_stmt *due, *next_due, *attempt, *update;
} s;

static const struct db_stmt_def stmts[] = {
	{ &s.due, "SELECT d.id, d.attempts, d.delivery_id, d.event_type, d.body,"
	    " h.url, h.secret FROM webhook_deliveries d JOIN webhooks h"
	    " ON h.id = d.webhook_id WHERE d.status = 'pending'"
	    " AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id"
	    " LIMIT 64" },
	{ &s.next_due, "SELECT min(next_attempt_at) FROM webhook_deliveries"
	    " WHERE status = 'pending'" },
	{ &s.attempt, "INSERT INTO webhook_attempts(delivery_id, attempt,"
	    " status_code, error, duration_ms, created_at)"
	    " VALUES (?, ?, ?, ?, ?, ?)" },
	{ &s.update, "UPDATE webhook_deliveries SET status = ?, attempts = ?,"
	    " next_attempt_at = ?, last_error = ?, updated_at = ?"
	    " WHERE id = ? AND status = 'pending'" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

static int
is_inflight(int64_t id)
{
	struct send *x;

	LIST_FOREACH(x, &s.sends, link)
		if (x->id == id)
			return 1;
	return 0;
}

static void
send_free(struct send *x)
{
	LIST_REMOVE(x, link);
	if (x->conn != NULL)
		evhttp_connection_free(x->conn);
	free(x);
}

/* The attempt, and the job's next state: done, failed, or retried later. */
static int
record_run(struct batch_item *item)
{
	struct send *x = (struct send *)item;
	const struct config *cfg = s.app->cfg;
	int attempts = x->attempts + 1, ok = x->code >= 200 && x->code < 300;
	int64_t now = now_ms(), delay = cfg->webhook_retry_base_ms;
	const char *status = ok ? "succeeded" :
	    attempts >= cfg->webhook_max_attempts ? "failed" : "pending";

	for (int i = 1; i < attempts && delay < MAX_DELAY_MS; i++)
		delay *= 2;
	if (db_bind(s.attempt, "iiitii", x->id, (int64_t)attempts,
	    (int64_t)x->code, ok ? NULL : x->error,
	    (mono_us() - x->started_us) / 1000, now) != 0)
		return -1;
	/* No answer at all is stored as a NULL status code. */
	if (x->code == 0)
		sqlite3_bind_null(s.attempt, 3);
	if (db_exec(s.app->db, s.attempt) != 0 ||
	    db_bind(s.update, "tiitii", status, (int64_t)attempts,
	    now + (delay < MAX_DELAY_MS ? delay : MAX_DELAY_MS),
	    ok ? NULL : x->error, now, x->id) != 0 ||
	    db_exec(s.app->db, s.update) != 0)
		return -1;
	if (!ok && strcmp(status, "failed") == 0)
		log_warn("webhook delivery failed for good", "delivery=%lld"
		    " attempts=%d error=\"%s\"", (long long)x->id, attempts, x->error);
	return 0;
}

static int
record_settle(struct batch_item *item)
{
	(void)item;
	return 1;
}

static void
record_deliver(struct batch_item *item, int committed)
{
	/* Not committed: the job is still pending and goes out again. */
	(void)committed;
	s.inflight--;
	s.dirty = 1;
	send_free((struct send *)item);
}

static const struct batch_item_ops record_ops = {
	.run = record_run, .settle = record_settle, .deliver = record_deliver,
};

static void
on_response(struct evhttp_request *req, void *arg)
{
	struct send *x = arg;

	x->code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	if (x->code == 0 && x->error[0] == '\0')
		snprintf(x->error, sizeof x->error, "no answer");
	else if (x->code != 0)
		snprintf(x->error, sizeof x->error, "answered %d", x->code);
	/* Recorded in the next batch; the connection is freed only then,
	 * never inside its own callback. */
	batch_submit(s.app->batch, &x->item);
}

static void
on_error(enum evhttp_request_error error, void *arg)
{
	struct send *x = arg;

	snprintf(x->error, sizeof x->error, "%s", error == EVREQ_HTTP_TIMEOUT ?
	    "timeout" : "connection failed");
}

/* Set the request's headers, body and signature. */
static void
fill_request(struct evhttp_request *req, const char *host, int port,
    sqlite3_stmt *st)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *body = (const char *)sqlite3_column_text(st, 4);
	size_t len = (size_t)sqlite3_column_bytes(st, 4);
	char sig[WEBHOOK_SIG_LEN], hostport[300];

	webhook_sign((const char *)sqlite3_column_text(st, 6), body, len, sig);
	snprintf(hostport, sizeof hostport, port == 80 ? "%s" : "%s:%d", host,
	    port);
	evhttp_add_header(h, "Host", hostport);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "studiod-webhook");
	evhttp_add_header(h, "X-Studiod-Event",
	    (const char *)sqlite3_column_text(st, 3));
	evhttp_add_header(h, "X-Studiod-Delivery",
	    (const char *)sqlite3_column_text(st, 2));
	evhttp_add_header(h, "X-Studiod-Signature", sig);
	evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
}

/* Send the job of the current row of s.due. */
static void
send_one(sqlite3_stmt *st)
{
	const struct config *cfg = s.app->cfg;
	struct evhttp_uri *uri = evhttp_uri_parse(
	    (const char *)sqlite3_column_text(st, 5));
	struct timeval tv = { cfg->webhook_timeout_ms / 1000,
	    (cfg->webhook_timeout_ms % 1000) * 1000 };
	struct send *x = xcalloc(1, sizeof *x);
	struct evhttp_request *req;
	const char *path, *query;
	char *target;
	int port;

	x->item.ops = &record_ops;
	x->id = sqlite3_column_int64(st, 0);
	x->attempts = sqlite3_column_int(st, 1);
	x->started_us = mono_us();
	LIST_INSERT_HEAD(&s.sends, x, link);
	s.inflight++;
	if (uri == NULL || evhttp_uri_get_host(uri) == NULL) {
		snprintf(x->error, sizeof x->error, "bad url");
		batch_submit(s.app->batch, &x->item);
		if (uri != NULL)
			evhttp_uri_free(uri); /* it does not take NULL */
		return;
	}
	port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 80;
	path = evhttp_uri_get_path(uri);
	query = evhttp_uri_get_query(uri);
	target = xasprintf("%s%s%s", path && path[0] ? path : "/",
	    query ? "?" : "", query ? query : "");
	x->conn = evhttp_connection_base_new(s.app->base, NULL,
	    evhttp_uri_get_host(uri), (unsigned short)port);
	evhttp_connection_set_timeout_tv(x->conn, &tv);
	evhttp_connection_set_retries(x->conn, 0);
	req = evhttp_request_new(on_response, x);
	evhttp_request_set_error_cb(req, on_error);
	fill_request(req, evhttp_uri_get_host(uri), port, st);
	if (evhttp_make_request(x->conn, req, EVHTTP_REQ_POST, target) != 0) {
		/* libevent freed req: record a failed attempt. */
		snprintf(x->error, sizeof x->error, "request could not be started");
		batch_submit(s.app->batch, &x->item);
	}
	free(target);
	evhttp_uri_free(uri);
}

static void
arm_timer(int64_t now)
{
	int64_t next = 0, delay;
	struct timeval tv;

	if (db_step(s.app->db, s.next_due) == 1)
		next = sqlite3_column_int64(s.next_due, 0);
	db_reset(s.next_due);
	if (next <= 0)
		return;
	/* Due now but every slot is busy: a finished send pumps again. */
	delay = next > now ? next - now : 100;
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(s.timer, &tv);
}

/* Send what is due, within the in-flight limit. Outside any transaction. */
static void
pump(void)
{
	int64_t now = now_ms();
	int rc;

	if (!s.dirty || s.app->draining)
		return;
	s.dirty = 0;
	if (db_bind(s.due, "i", now) != 0)
		return;
	while (s.inflight < MAX_INFLIGHT && (rc = db_step(s.app->db, s.due)) == 1)
		if (!is_inflight(sqlite3_column_int64(s.due, 0)))
			send_one(s.due);
	db_reset(s.due);
	arm_timer(now);
}

static void
on_commit(void *arg)
{
	(void)arg;
	pump();
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	s.dirty = 1;
	pump();
}

void
webhook_sender_poke(void)
{
	s.dirty = 1;
}

int
webhook_sender_init(struct app *app)
{
	struct timeval now = { 0, 0 };

	memset(&s, 0, sizeof s);
	s.app = app;
	LIST_INIT(&s.sends);
	if (db_prepare_all(app->db, stmts, NSTMTS) != 0)
		return -1;
	s.timer = evtimer_new(app->base, on_timer, NULL);
	/* Jobs left pending by the last run go out once the loop runs. */
	evtimer_add(s.timer, &now);
	batch_on_commit(app->batch, on_commit, NULL);
	return 0;
}

void
webhook_sender_fini(void)
{
	/* Sends still in flight stay pending and go out at the next start. */
	while (!LIST_EMPTY(&s.sends)) {
		struct send *x = LIST_FIRST(&s.sends);

		if (s.app != NULL)
			batch_forget(s.app->batch, &x->item);
		send_free(x);
	}
	if (s.timer != NULL)
		event_free(s.timer);
	s.timer = NULL;
	db_finalize_all(stmts, NSTMTS);
}
