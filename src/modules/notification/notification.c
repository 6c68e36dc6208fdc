/* notification.c - see notification.h. Routes, handlers and SQL together:
 * the module is small. */
#include "modules/notification/notification.h"

#include <stdio.h>
#include <string.h>

#include "core/bus.h"
#include "core/db.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/http.h"

static struct {
	struct app *app;
	sqlite3_stmt *insert, *list;
} n;

static const struct db_stmt_def stmts[] = {
	{ &n.insert, "INSERT OR IGNORE INTO notifications(member_id, kind,"
	    " reservation_id, class_id, message, event_id, created_at)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?)" },
	{ &n.list, "SELECT id, kind, reservation_id, class_id, message, created_at"
	    " FROM notifications WHERE member_id = ? AND id > ? ORDER BY id LIMIT ?" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

static const struct {
	const char *reason, *text;
} reasons[] = {
	{ "class_full", "the class is full" },
	{ "already_booked", "you have already booked it" },
	{ "booking_closed", "booking for it is closed" },
	{ "timeout", "the booking could not be completed in time" },
	{ "saga_failed", "the booking could not be completed" },
	{ "insufficient_credits", "you do not have enough credits" },
	{ "payment_failed", "the payment was declined" },
	{ "payment_unavailable", "the payment service is unavailable; nothing was charged" },
	{ "member", "you cancelled it" },
	{ "admin", "the studio cancelled your booking" },
	{ "class_cancelled", "the studio cancelled the class" },
	{ "seat_taken", "the seat is taken" },
	{ "declined", "the studio declined it" },
	{ "approval_timeout", "the studio did not decide in time" },
};

static const char *
reason_text(const char *reason)
{
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (reason != NULL && strcmp(reasons[i].reason, reason) == 0)
			return reasons[i].text;
	return reason ? reason : "no reason given";
}

/* What a cancelled booking's member gets back, in words. */
static const char *
refund_text(const json_t *p)
{
	const char *method = jget_str(p, "payment_method");

	const char *status = jget_str(p, "payment_status");

	if (method == NULL || strcmp(method, "none") == 0)
		return "";
	if (status != NULL && strcmp(status, "at_desk") == 0)
		return " Nothing was paid online.";
	if (json_is_true(json_object_get(p, "refund")))
		return strcmp(method, "credits") == 0 ?
		    " Your credits are refunded." : " Your payment is refunded.";
	return " No refund: it was cancelled too close to the start.";
}

/* Add one inbox entry (member_id 0 is the studio's inbox). */
static int
notify(int64_t member_id, const char *kind, const json_t *p, const char *message,
    int64_t event_id)
{
	if (db_bind(n.insert, "itiitii", member_id, kind,
	    jget_int(p, "reservation_id"), jget_int(p, "class_id"), message,
	    event_id, now_s()) != 0 || db_exec(n.app->db, n.insert) != 0)
		return -1;
	log_info("notification sent", "channel=inbox member_id=%lld kind=%s"
	    " reservation_id=%lld", (long long)member_id, kind,
	    (long long)jget_int(p, "reservation_id"));
	return 0;
}

/*
 * reservation.{confirmed,rejected,cancelled,waitlisted,awaiting_approval}
 * -> one entry in the member's inbox; a request awaiting approval also
 * goes to the studio's.
 */
static int
on_reservation(const struct bus_event *ev, void *arg)
{
	const json_t *p = ev->payload;
	const char *title = jget_str(p, "class_title");
	const char *reason = jget_str(p, "reason");
	const char *status = ev->type + strlen("reservation.");
	char when[21], message[512], kind[48];

	(void)arg;
	time_format_rfc3339(jget_int(p, "starts_at"), when);
	if (strcmp(status, "confirmed") == 0)
		snprintf(message, sizeof message, "Booked: %s on %s.", title, when);
	else if (strcmp(status, "rejected") == 0)
		snprintf(message, sizeof message, "Not booked: %s on %s - %s.",
		    title, when, reason_text(reason));
	else if (strcmp(status, "waitlisted") == 0)
		snprintf(message, sizeof message, "On the waitlist: %s on %s - you"
		    " are number %lld in line.", title, when,
		    (long long)jget_int(p, "position"));
	else if (strcmp(status, "awaiting_approval") == 0)
		snprintf(message, sizeof message, "Requested: %s on %s - waiting for"
		    " the studio's approval.", title, when);
	else
		snprintf(message, sizeof message, "Cancelled: %s on %s - %s.%s",
		    title, when, reason_text(reason), refund_text(p));
	snprintf(kind, sizeof kind, "reservation_%s", status);
	if (notify(jget_int(p, "member_id"), kind, p, message, ev->id) != 0)
		return -1;
	if (strcmp(status, "awaiting_approval") != 0)
		return 0;
	snprintf(message, sizeof message, "Approval needed: member %lld asks for"
	    " %s on %s (reservation %lld).", (long long)jget_int(p, "member_id"),
	    title, when, (long long)jget_int(p, "reservation_id"));
	return notify(0, "approval_requested", p, message, ev->id);
}

/* GET /me/notifications */
static int
list_notifications(struct http_req *req)
{
	int64_t limit, after, next = 0, count = 0;
	json_t *items, *item;
	int rc;

	if (http_page(req, &limit, &after) != 0)
		return -1;
	if (db_bind(n.list, "iii", http_who(req)->member_id, after, limit + 1) != 0)
		return -1;
	items = json_array();
	while ((rc = db_step(n.app->db, n.list)) == 1) {
		int64_t id = sqlite3_column_int64(n.list, 0);

		if (count++ == limit)
			break;
		next = id;
		item = json_object();
		jput_int(item, "id", id);
		jput_str(item, "kind", (const char *)sqlite3_column_text(n.list, 1));
		jput_int(item, "reservation_id", sqlite3_column_int64(n.list, 2));
		jput_int(item, "class_id", sqlite3_column_int64(n.list, 3));
		jput_str(item, "message", (const char *)sqlite3_column_text(n.list, 4));
		jput_time(item, "created_at", sqlite3_column_int64(n.list, 5));
		json_array_append_new(items, item);
	}
	db_reset(n.list);
	if (rc < 0) {
		json_decref(items);
		return -1;
	}
	http_reply(req, 200, http_list(items, count > limit ? next : 0));
	return 0;
}

static const struct bus_route routes[] = {
	{ "reservation.confirmed", on_reservation, NULL },
	{ "reservation.rejected", on_reservation, NULL },
	{ "reservation.cancelled", on_reservation, NULL },
	{ "reservation.waitlisted", on_reservation, NULL },
	{ "reservation.awaiting_approval", on_reservation, NULL },
	{ NULL, NULL, NULL },
};

static const struct http_route http_routes[] = {
	/* A member's inbox; with the studio's token, the studio's (approvals). */
	{ EVHTTP_REQ_GET, API "/me/notifications", list_notifications,
	    ACCESS_USER },
};

static int
notification_init(struct app *app)
{
	n.app = app;
	if (db_prepare_all(app->db, stmts, NSTMTS) != 0)
		return -1;
	http_add_routes(app, http_routes, 1);
	bus_subscribe(app->bus, "notification", routes, NULL);
	return 0;
}

static void
notification_fini(struct app *app)
{
	(void)app;
	db_finalize_all(stmts, NSTMTS);
}

const struct module notification_module = {
	.name = "notification",
	.init = notification_init,
	.fini = notification_fini,
};
