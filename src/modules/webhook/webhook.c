/* webhook.c - see webhook.h: the routes, and the handler that turns an
 * event into delivery jobs. The worker is webhook_sender.c. */
#include "modules/webhook/webhook.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <event2/http.h>

#include "core/batch.h"
#include "core/bus.h"
#include "core/db.h"
#include "core/util.h"
#include "http/http.h"
#include "http/validate.h"
#include "modules/webhook/webhook_internal.h"

static struct {
	struct app *app;
	sqlite3_stmt *active, *enqueue, *insert, *list, *get, *del, *drop_jobs,
	    *deliveries;
	/* Live hooks as of the last commit, and whether one may have changed
	 * since (then every event is looked at, as before this cache). */
	int64_t live;
	int dirty;
} w;

static const struct db_stmt_def stmts[] = {
	{ &w.active, "SELECT count(*) FROM webhooks WHERE deleted_at IS NULL" },
	/* One job per live hook that asked for this type (or for "*"). */
	{ &w.enqueue, "INSERT OR IGNORE INTO webhook_deliveries(webhook_id,"
	    " event_id, event_type, delivery_id, body, status, next_attempt_at,"
	    " created_at, updated_at)"
	    " SELECT h.id, ?1, ?2, 'wh' || h.id || '-ev' || ?1, ?3, 'pending', ?4,"
	    " ?5, ?5 FROM webhooks h WHERE h.deleted_at IS NULL AND EXISTS"
	    " (SELECT 1 FROM json_each(h.events) e WHERE e.value IN (?2, '*'))" },
	{ &w.insert, "INSERT INTO webhooks(url, events, secret, created_at)"
	    " VALUES (?, ?, ?, ?)" },
	{ &w.list, "SELECT id, url, events, created_at FROM webhooks"
	    " WHERE deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?" },
	{ &w.get, "SELECT id FROM webhooks WHERE id = ? AND deleted_at IS NULL" },
	{ &w.del, "UPDATE webhooks SET deleted_at = ? WHERE id = ?" },
	{ &w.drop_jobs, "UPDATE webhook_deliveries SET status = 'failed',"
	    " last_error = 'webhook deleted', updated_at = ?"
	    " WHERE webhook_id = ? AND status = 'pending'" },
	{ &w.deliveries, "SELECT d.id, d.delivery_id, d.event_id, d.event_type,"
	    " d.status, d.last_error, d.created_at, (SELECT json_group_array("
	    "json_object('attempt', a.attempt, 'status_code', a.status_code,"
	    " 'error', a.error, 'duration_ms', a.duration_ms, 'at',"
	    " strftime('%Y-%m-%dT%H:%M:%SZ', a.created_at / 1000, 'unixepoch')))"
	    " FROM (SELECT * FROM webhook_attempts WHERE delivery_id = d.id"
	    " ORDER BY attempt) a) FROM webhook_deliveries d"
	    " WHERE d.webhook_id = ? AND d.id > ? ORDER BY d.id LIMIT ?" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

/* Every event type a hook may ask for: the routes of the handler. */
static int on_event(const struct bus_event *ev, void *arg);
static int wants_event(const struct bus_event *ev, void *arg);

static const struct bus_route routes[] = {
	{ "member.created", on_event, wants_event }, { "class.created", on_event, wants_event },
	{ "class.updated", on_event, wants_event }, { "class.cancelled", on_event, wants_event },
	{ "reservation.requested", on_event, wants_event },
	{ "reservation.confirmed", on_event, wants_event },
	{ "reservation.rejected", on_event, wants_event },
	{ "reservation.cancelled", on_event, wants_event },
	{ "class.capacity_reserved", on_event, wants_event },
	{ "class.capacity_released", on_event, wants_event }, { "class.full", on_event, wants_event },
	{ "class.booking_closed", on_event, wants_event }, { "credits.adjusted", on_event, wants_event },
	{ "credits.debited", on_event, wants_event }, { "credits.insufficient", on_event, wants_event },
	{ "credits.refunded", on_event, wants_event }, { "payment.succeeded", on_event, wants_event },
	{ "payment.failed", on_event, wants_event }, { "payment.refunded", on_event, wants_event },
	{ "payment.refund_failed", on_event, wants_event }, { "review.posted", on_event, wants_event },
	{ "review.deleted", on_event, wants_event }, { "bus.dead_lettered", on_event, wants_event },
	{ "reservation.waitlisted", on_event, wants_event },
	{ "reservation.awaiting_approval", on_event, wants_event },
	{ "class.waitlisted", on_event, wants_event }, { "class.seat_taken", on_event, wants_event },
	{ "room.created", on_event, wants_event }, { "room.updated", on_event, wants_event },
	{ "room.removed", on_event, wants_event }, { "room.slot_reserved", on_event, wants_event },
	{ "room.slot_taken", on_event, wants_event }, { "room.booking_closed", on_event, wants_event },
	{ "room.slot_released", on_event, wants_event },
	/* Not calendar.feed_changed: it carries a member's feed secret. */
	{ NULL, NULL, NULL },
};

/* Any subscribed event: a delivery job for each hook that wants it. */
/* Most studios have no hooks: then no event costs a savepoint or a query. */
static int
wants_event(const struct bus_event *ev, void *arg)
{
	(void)ev;
	(void)arg;
	return w.dirty || w.live > 0;
}

/* Live hooks now; -1 on error. Outside a transaction or inside one. */
static int64_t
count_live(void)
{
	int64_t n = -1;

	if (db_step(w.app->db, w.active) == 1)
		n = sqlite3_column_int64(w.active, 0);
	db_reset(w.active);
	return n;
}

/* After a commit that may have added or removed a hook: count again. */
static void
on_commit(void *arg)
{
	int64_t n;

	(void)arg;
	if (!w.dirty || (n = count_live()) < 0)
		return;
	w.live = n;
	w.dirty = 0;
}

static int
on_event(const struct bus_event *ev, void *arg)
{
	json_t *j;
	char *body;
	int64_t n;
	int rc;

	(void)arg;
	/* Hooks may have changed in this batch (wants_event let it through):
	 * with none live, skip building the body. */
	n = count_live();
	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	j = json_pack("{s:I, s:s, s:s?, s:O, s:o}", "id", (json_int_t)ev->id,
	    "type", ev->type, "correlation_id", ev->correlation_id, "payload",
	    ev->payload, "created_at", http_time(ev->created_at_ms / 1000));
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	rc = body != NULL && db_bind(w.enqueue, "ittii", ev->id, ev->type, body,
	    now_ms(), now_s()) == 0 && db_exec(w.app->db, w.enqueue) == 0;
	free(body);
	if (!rc)
		return -1;
	if (db_changes(w.app->db) > 0)
		webhook_sender_poke();
	return 0;
}

static int
known_type(const char *type)
{
	if (strcmp(type, "*") == 0)
		return 1;
	for (const struct bus_route *r = routes; r->type != NULL; r++)
		if (strcmp(r->type, type) == 0)
			return 1;
	return 0;
}

/* An http:// URL with a host (studiod does not speak TLS: put a proxy in
 * front of an https receiver). */
static int
valid_url(const char *url)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	int ok = u != NULL && evhttp_uri_get_scheme(u) != NULL &&
	    strcmp(evhttp_uri_get_scheme(u), "http") == 0 &&
	    evhttp_uri_get_host(u) != NULL && evhttp_uri_get_host(u)[0] != '\0';

	if (u != NULL)
		evhttp_uri_free(u); /* libevent 2.1's free does not take NULL */
	return ok;
}

/* Check "events": a non-empty array of known types. */
static void
check_events(struct vctx *v, json_t *events)
{
	size_t i;
	json_t *e;

	if (!json_is_array(events) || json_array_size(events) == 0 ||
	    json_array_size(events) > 64) {
		v_error(v, "events", "must be an array of 1 to 64 event types");
		return;
	}
	json_array_foreach(events, i, e)
		if (!json_is_string(e) || !known_type(json_string_value(e))) {
			v_error(v, "events", "item %zu is not a known event type"
			    " (or \"*\")", i);
			return;
		}
}

static json_t *
hook_json(int64_t id, const char *url, json_t *events, int64_t created_at)
{
	json_t *j = json_object();

	jput_int(j, "id", id);
	jput_str(j, "url", url);
	json_object_set_new(j, "events", events);
	jput_time(j, "created_at", created_at);
	return j;
}

/* POST /webhooks {"url","events","secret"} (admin) */
static int
create_hook(struct http_req *req)
{
	static const char *const allowed[] = { "url", "events", "secret", NULL };
	json_t *body = http_body_object(req), *events;
	const char *url = NULL, *secret = NULL;
	char *events_text, where[64];
	int64_t id, now = now_s();
	struct vctx v;

	w.dirty = 1; /* until the next commit, events look at the table */
	int rc;

	if (body == NULL)
		return -1;
	v_begin(&v, body, allowed);
	if (v_string(&v, "url", V_REQUIRED, 2000, &url) == 1 && !valid_url(url))
		v_error(&v, "url", "must be an http:// URL with a host");
	if (v_string(&v, "secret", V_REQUIRED, 256, &secret) == 1 &&
	    strlen(secret) < 16)
		v_error(&v, "secret", "must be 16 to 256 characters");
	events = json_object_get(body, "events");
	check_events(&v, events);
	if (!v_ok(&v)) {
		http_problem_invalid(req, v_take(&v));
		return -1;
	}
	v_end(&v);
	events_text = json_dumps(events, JSON_COMPACT);
	rc = db_bind(w.insert, "ttti", url, events_text, secret, now) == 0 &&
	    db_exec(w.app->db, w.insert) == 0;
	free(events_text);
	if (!rc)
		return -1;
	id = db_last_insert_id(w.app->db);
	snprintf(where, sizeof where, API "/webhooks/%lld", (long long)id);
	http_reply_at(req, 201, hook_json(id, url, json_deep_copy(events), now),
	    where);
	return 0;
}

/* GET /webhooks (admin) */
static int
list_hooks(struct http_req *req)
{
	int64_t limit, after, next = 0, count = 0;
	sqlite3_stmt *st = w.list;
	json_t *items;
	int rc;

	if (http_page(req, &limit, &after) != 0 ||
	    db_bind(st, "ii", after, limit + 1) != 0)
		return -1;
	items = json_array();
	while ((rc = db_step(w.app->db, st)) == 1) {
		if (count++ == limit)
			break;
		next = sqlite3_column_int64(st, 0);
		json_array_append_new(items, hook_json(next,
		    (const char *)sqlite3_column_text(st, 1),
		    json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL),
		    sqlite3_column_int64(st, 3)));
	}
	db_reset(st);
	if (rc < 0) {
		json_decref(items);
		return -1;
	}
	http_reply(req, 200, http_list(items, count > limit ? next : 0));
	return 0;
}

/* 1 if hook id exists (not deleted), 0 not, -1 error. */
static int
hook_exists(int64_t id)
{
	if (db_bind(w.get, "i", id) != 0)
		return -1;
	return db_step_once(w.app->db, w.get);
}

/* DELETE /webhooks/{id} (admin): its pending jobs are dropped as failed. */
static int
delete_hook(struct http_req *req)
{
	int64_t id = http_param(req, 0);
	int rc = hook_exists(id);

	w.dirty = 1;
	if (rc <= 0)
		return rc < 0 ? -1 : http_not_found(req, "webhook", id);
	if (db_bind(w.del, "ii", now_s(), id) != 0 ||
	    db_exec(w.app->db, w.del) != 0 ||
	    db_bind(w.drop_jobs, "ii", now_ms(), id) != 0 ||
	    db_exec(w.app->db, w.drop_jobs) != 0)
		return -1;
	http_reply(req, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id,
	    "status", "deleted"));
	return 0;
}

static json_t *
delivery_json(sqlite3_stmt *st)
{
	json_t *j = json_object();

	jput_int(j, "id", sqlite3_column_int64(st, 0));
	jput_str(j, "delivery_id", (const char *)sqlite3_column_text(st, 1));
	jput_int(j, "event_id", sqlite3_column_int64(st, 2));
	jput_str(j, "event_type", (const char *)sqlite3_column_text(st, 3));
	jput_str(j, "status", (const char *)sqlite3_column_text(st, 4));
	jput_str(j, "last_error", (const char *)sqlite3_column_text(st, 5));
	jput_time(j, "created_at", sqlite3_column_int64(st, 6));
	json_object_set_new(j, "attempts",
	    json_loads((const char *)sqlite3_column_text(st, 7), 0, NULL));
	return j;
}

/* GET /webhooks/{id}/deliveries (admin): each job with every attempt. */
static int
list_deliveries(struct http_req *req)
{
	int64_t id = http_param(req, 0), limit, after, next = 0, count = 0;
	sqlite3_stmt *st = w.deliveries;
	json_t *items;
	int rc = hook_exists(id);

	if (rc <= 0)
		return rc < 0 ? -1 : http_not_found(req, "webhook", id);
	if (http_page(req, &limit, &after) != 0 ||
	    db_bind(st, "iii", id, after, limit + 1) != 0)
		return -1;
	items = json_array();
	while ((rc = db_step(w.app->db, st)) == 1) {
		if (count++ == limit)
			break;
		next = sqlite3_column_int64(st, 0);
		json_array_append_new(items, delivery_json(st));
	}
	db_reset(st);
	if (rc < 0) {
		json_decref(items);
		return -1;
	}
	http_reply(req, 200, http_list(items, count > limit ? next : 0));
	return 0;
}

static const struct http_route http_routes[] = {
	{ EVHTTP_REQ_POST, API "/webhooks", create_hook, ACCESS_ADMIN },
	{ EVHTTP_REQ_GET, API "/webhooks", list_hooks, ACCESS_ADMIN },
	{ EVHTTP_REQ_DELETE, API "/webhooks/{id}", delete_hook, ACCESS_ADMIN },
	{ EVHTTP_REQ_GET, API "/webhooks/{id}/deliveries", list_deliveries,
	    ACCESS_ADMIN },
};

static int
webhook_init(struct app *app)
{
	w.app = app;
	if (db_prepare_all(app->db, stmts, NSTMTS) != 0 ||
	    webhook_sender_init(app) != 0)
		return -1;
	http_add_routes(app, http_routes,
	    (int)(sizeof http_routes / sizeof http_routes[0]));
	bus_subscribe(app->bus, "webhook", routes, NULL);
	w.live = count_live();
	w.dirty = w.live < 0;
	batch_on_commit(app->batch, on_commit, NULL);
	return 0;
}

static void
webhook_fini(struct app *app)
{
	(void)app;
	webhook_sender_fini();
	db_finalize_all(stmts, NSTMTS);
}

const struct module webhook_module = {
	.name = "webhook",
	.init = webhook_init,
	.fini = webhook_fini,
};
