/* dashboard.c - see dashboard.h. */
#include "modules/dashboard/dashboard.h"

#include <stdint.h>
#include <string.h>

#include "core/bus.h"
#include "core/db.h"
#include "core/json.h"
#include "core/util.h"
#include "http/http.h"

static struct {
	struct app *app;
	sqlite3_stmt *class_put, *class_cancel, *booking_put, *add, *add_by_booking, *list;
	sqlite3_stmt *wait_put, *wait_leave, *wait_forget;
	sqlite3_stmt *room_put, *room_booking_put, *room_add, *room_add_by_booking,
	    *room_list;
} d;

/*
 * One statement adds to one counter column: the column is picked by a
 * bound index (never formatted into the SQL), so every handler shares it.
 */
#define ADD_SET \
	" SET booked = booked + (?2 = 1) * ?3," \
	" card_taken = card_taken + (?2 = 2) * ?3," \
	" card_refunded = card_refunded + (?2 = 3) * ?3," \
	" at_desk_due = at_desk_due + (?2 = 4) * ?3," \
	" credits_taken = credits_taken + (?2 = 5) * ?3," \
	" credits_refunded = credits_refunded + (?2 = 6) * ?3," \
	" review_count = review_count + (?2 = 7) * ?3," \
	" rating_sum = rating_sum + (?2 = 7) * ?4," \
	" waitlist = waitlist + (?2 = 8) * ?3"

/* The same for a room: the counters a room has (no credits, no line). */
#define ROOM_ADD_SET \
	" SET booked = booked + (?2 = 1) * ?3," \
	" card_taken = card_taken + (?2 = 2) * ?3," \
	" card_refunded = card_refunded + (?2 = 3) * ?3," \
	" at_desk_due = at_desk_due + (?2 = 4) * ?3," \
	" review_count = review_count + (?2 = 7) * ?3," \
	" rating_sum = rating_sum + (?2 = 7) * ?4"

enum counter { BOOKED = 1, CARD_TAKEN, CARD_REFUNDED, AT_DESK_DUE,
	CREDITS_TAKEN, CREDITS_REFUNDED, REVIEWS, WAITLIST };

static const struct db_stmt_def stmts[] = {
	{ &d.class_put, "INSERT INTO dashboard_classes(class_id, title, starts_at,"
	    " ends_at, capacity, status) VALUES (?, ?, ?, ?, ?, ?)"
	    " ON CONFLICT (class_id) DO UPDATE SET title = excluded.title,"
	    " starts_at = excluded.starts_at, ends_at = excluded.ends_at,"
	    " capacity = excluded.capacity, status = excluded.status" },
	{ &d.class_cancel, "UPDATE dashboard_classes SET status = 'cancelled'"
	    " WHERE class_id = ?" },
	{ &d.booking_put, "INSERT OR IGNORE INTO dashboard_bookings(reservation_id,"
	    " class_id) VALUES (?, ?)" },
	{ &d.add, "UPDATE dashboard_classes" ADD_SET " WHERE class_id = ?1" },
	{ &d.add_by_booking, "UPDATE dashboard_classes" ADD_SET
	    " WHERE class_id = (SELECT class_id FROM dashboard_bookings"
	    " WHERE reservation_id = ?1)" },
	/* The waitlist: who is in line, so leaving it counts only once. */
	{ &d.wait_put, "INSERT OR IGNORE INTO dashboard_waiting(reservation_id,"
	    " class_id) VALUES (?, ?)" },
	{ &d.wait_leave, "UPDATE dashboard_classes SET waitlist = waitlist - 1"
	    " WHERE class_id = (SELECT class_id FROM dashboard_waiting"
	    " WHERE reservation_id = ?)" },
	{ &d.wait_forget, "DELETE FROM dashboard_waiting WHERE reservation_id = ?" },
	/* The classes of the range and, on every row, the range's totals. */
	{ &d.list, "SELECT class_id, title, starts_at, ends_at, capacity, status,"
	    " booked, waitlist, card_taken, card_refunded, at_desk_due,"
	    " credits_taken, credits_refunded, review_count, rating_sum,"
	    " count(*) OVER w, sum(capacity) OVER w, sum(booked) OVER w,"
	    " sum(waitlist) OVER w, sum(card_taken) OVER w,"
	    " sum(card_refunded) OVER w, sum(at_desk_due) OVER w,"
	    " sum(credits_taken) OVER w, sum(credits_refunded) OVER w,"
	    " sum(review_count) OVER w, sum(rating_sum) OVER w"
	    " FROM dashboard_classes WHERE starts_at >= ? AND starts_at < ?"
	    " WINDOW w AS () ORDER BY starts_at, class_id" },
	/* Rooms: their facts, which room a booking is of, the counters. */
	{ &d.room_put, "INSERT INTO dashboard_rooms(room_id, name, hourly_price,"
	    " status) VALUES (?, ?, ?, ?) ON CONFLICT (room_id) DO UPDATE"
	    " SET name = excluded.name, hourly_price = excluded.hourly_price,"
	    " status = excluded.status" },
	{ &d.room_booking_put, "INSERT OR IGNORE INTO dashboard_room_bookings("
	    "reservation_id, room_id) VALUES (?, ?)" },
	{ &d.room_add, "UPDATE dashboard_rooms" ROOM_ADD_SET " WHERE room_id = ?1" },
	{ &d.room_add_by_booking, "UPDATE dashboard_rooms" ROOM_ADD_SET
	    " WHERE room_id = (SELECT room_id FROM dashboard_room_bookings"
	    " WHERE reservation_id = ?1)" },
	{ &d.room_list, "SELECT room_id, name, hourly_price, booked, card_taken,"
	    " card_refunded, at_desk_due, review_count, rating_sum"
	    " FROM dashboard_rooms WHERE status = 'active' ORDER BY room_id" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

static int
add_with(sqlite3_stmt *st, int64_t id, enum counter which, int64_t n,
    int64_t rating)
{
	if (db_bind(st, "iiii", id, (int64_t)which, n, rating) != 0)
		return -1;
	return db_exec(d.app->db, st) == 0 ? 0 : -1;
}

/*
 * Add n (and rating) to a counter of the class, or of the reservation's
 * class or room (a booking is of one or the other: the other matches no
 * row).
 */
static int
add(int by_booking, int64_t id, enum counter which, int64_t n, int64_t rating)
{
	if (!by_booking)
		return add_with(d.add, id, which, n, rating);
	if (add_with(d.add_by_booking, id, which, n, rating) != 0)
		return -1;
	return add_with(d.room_add_by_booking, id, which, n, rating);
}

/* room.created / .updated / .removed: the room's facts. */
static int
on_room(const struct bus_event *ev, void *arg)
{
	const json_t *p = ev->payload;
	const char *status = jget_str(p, "status");

	(void)arg;
	if (db_bind(d.room_put, "itit", jget_int(p, "room_id"),
	    jget_str(p, "name"), jget_int(p, "hourly_price"),
	    status ? status : "active") != 0)
		return -1;
	return db_exec(d.app->db, d.room_put) == 0 ? 0 : -1;
}

/* room.slot_reserved / _released: a live slot, and the booking's room. */
static int
on_slot(const struct bus_event *ev, void *arg)
{
	int64_t rid = jget_int(ev->payload, "reservation_id");
	int64_t room_id = jget_int(ev->payload, "room_id");
	int reserved = strcmp(ev->type, "room.slot_reserved") == 0;

	(void)arg;
	if (reserved && (db_bind(d.room_booking_put, "ii", rid, room_id) != 0 ||
	    db_exec(d.app->db, d.room_booking_put) != 0))
		return -1;
	return add_with(d.room_add, room_id, BOOKED, reserved ? 1 : -1, 0);
}

/* class.created / .updated: the class's facts. */
static int
on_class(const struct bus_event *ev, void *arg)
{
	const json_t *p = ev->payload;
	const char *status = jget_str(p, "status");

	(void)arg;
	if (db_bind(d.class_put, "itiiit", jget_int(p, "class_id"),
	    jget_str(p, "title"), jget_int(p, "starts_at"), jget_int(p, "ends_at"),
	    jget_int(p, "capacity"), status ? status : "scheduled") != 0)
		return -1;
	return db_exec(d.app->db, d.class_put) == 0 ? 0 : -1;
}

/* class.cancelled carries only the class's id. */
static int
on_class_cancelled(const struct bus_event *ev, void *arg)
{
	(void)arg;
	if (db_bind(d.class_cancel, "i", jget_int(ev->payload, "class_id")) != 0)
		return -1;
	return db_exec(d.app->db, d.class_cancel) == 0 ? 0 : -1;
}

/* class.waitlisted: one more in the class's line. */
static int
on_waitlisted(const struct bus_event *ev, void *arg)
{
	int64_t class_id = jget_int(ev->payload, "class_id");

	(void)arg;
	if (db_bind(d.wait_put, "ii", jget_int(ev->payload, "reservation_id"),
	    class_id) != 0 || db_exec(d.app->db, d.wait_put) != 0)
		return -1;
	if (db_changes(d.app->db) == 0)
		return 0; /* already counted */
	return add(0, class_id, WAITLIST, 1, 0);
}

/* The reservation leaves the line, if it was in it: one fewer. */
static int
leave_line(int64_t rid)
{
	if (db_bind(d.wait_leave, "i", rid) != 0 ||
	    db_exec(d.app->db, d.wait_leave) != 0 ||
	    db_bind(d.wait_forget, "i", rid) != 0)
		return -1;
	return db_exec(d.app->db, d.wait_forget) == 0 ? 0 : -1;
}

/*
 * class.capacity_reserved / _released: booked, and the booking's class; a
 * place given to the first in line ("promoted") also takes it off the line.
 */
static int
on_capacity(const struct bus_event *ev, void *arg)
{
	int64_t rid = jget_int(ev->payload, "reservation_id");
	int64_t class_id = jget_int(ev->payload, "class_id");
	int reserved = strcmp(ev->type, "class.capacity_reserved") == 0;

	(void)arg;
	if (reserved && (db_bind(d.booking_put, "ii", rid, class_id) != 0 ||
	    db_exec(d.app->db, d.booking_put) != 0))
		return -1;
	if (reserved && json_is_true(json_object_get(ev->payload, "promoted")) &&
	    leave_line(rid) != 0)
		return -1;
	return add(0, class_id, BOOKED, reserved ? 1 : -1, 0);
}

/*
 * Money. Card revenue taken is what the provider charged (payment.succeeded
 * with status "succeeded"); a booking paid at the desk (status "at_desk") is
 * money due, not taken, and stops being due when its booking ends.
 */
static int
on_money(const struct bus_event *ev, void *arg)
{
	const json_t *p = ev->payload;
	int64_t rid = jget_int(p, "reservation_id"), amount = jget_int(p, "amount");
	const char *status = jget_str(p, "status");
	enum counter which;

	(void)arg;
	if (strcmp(ev->type, "payment.succeeded") == 0)
		which = status != NULL && strcmp(status, "at_desk") == 0 ?
		    AT_DESK_DUE : CARD_TAKEN;
	else if (strcmp(ev->type, "payment.refunded") == 0)
		which = CARD_REFUNDED;
	else if (strcmp(ev->type, "credits.debited") == 0)
		which = CREDITS_TAKEN;
	else
		which = CREDITS_REFUNDED;
	return add(1, rid, which, amount, 0);
}

/*
 * reservation.cancelled / .rejected: out of the line if it was waiting; an
 * at-desk booking is no longer due.
 */
static int
on_reservation_ended(const struct bus_event *ev, void *arg)
{
	const char *status = jget_str(ev->payload, "payment_status");

	(void)arg;
	if (leave_line(jget_int(ev->payload, "reservation_id")) != 0)
		return -1;
	if (status == NULL || strcmp(status, "at_desk") != 0)
		return 0;
	return add(1, jget_int(ev->payload, "reservation_id"), AT_DESK_DUE,
	    -jget_int(ev->payload, "price"), 0);
}

static int
on_review(const struct bus_event *ev, void *arg)
{
	int64_t sign = strcmp(ev->type, "review.posted") == 0 ? 1 : -1;
	int64_t room_id = jget_int(ev->payload, "room_id");

	(void)arg;
	if (room_id != 0)
		return add_with(d.room_add, room_id, REVIEWS, sign,
		    sign * jget_int(ev->payload, "rating"));
	return add(0, jget_int(ev->payload, "class_id"), REVIEWS, sign,
	    sign * jget_int(ev->payload, "rating"));
}

/* The money and review columns from column i on, as JSON members of j. */
static void
put_figures(json_t *j, sqlite3_stmt *st, int i)
{
	int64_t taken = sqlite3_column_int64(st, i + 1);
	int64_t refunded = sqlite3_column_int64(st, i + 2);
	int64_t count = sqlite3_column_int64(st, i + 6);
	int64_t sum = sqlite3_column_int64(st, i + 7);

	jput_int(j, "waitlist", sqlite3_column_int64(st, i));
	json_object_set_new(j, "revenue", json_pack("{s:I, s:I, s:I, s:I}",
	    "taken", (json_int_t)taken, "refunded", (json_int_t)refunded,
	    "net", (json_int_t)(taken - refunded), "at_desk_due",
	    (json_int_t)sqlite3_column_int64(st, i + 3)));
	json_object_set_new(j, "credits", json_pack("{s:I, s:I}", "taken",
	    (json_int_t)sqlite3_column_int64(st, i + 4), "refunded",
	    (json_int_t)sqlite3_column_int64(st, i + 5)));
	jput_int(j, "review_count", count);
	json_object_set_new(j, "rating_avg", count > 0 ?
	    json_real((double)((sum * 200 + count) / (2 * count)) / 100.0) :
	    json_null());
}

static json_t *
class_json(sqlite3_stmt *st)
{
	json_t *j = json_object();
	int64_t capacity = sqlite3_column_int64(st, 4);
	int64_t booked = sqlite3_column_int64(st, 6);
	const char *status = (const char *)sqlite3_column_text(st, 5);

	jput_int(j, "class_id", sqlite3_column_int64(st, 0));
	jput_str(j, "title", (const char *)sqlite3_column_text(st, 1));
	jput_time(j, "starts_at", sqlite3_column_int64(st, 2));
	jput_time(j, "ends_at", sqlite3_column_int64(st, 3));
	jput_str(j, "status", status);
	jput_int(j, "capacity", capacity);
	jput_int(j, "booked", booked);
	jput_int(j, "remaining", strcmp(status, "cancelled") == 0 ||
	    booked > capacity ? 0 : capacity - booked);
	put_figures(j, st, 7);
	return j;
}

static json_t *
totals_json(sqlite3_stmt *st, int have_rows)
{
	json_t *t = json_object();
	int64_t capacity = have_rows ? sqlite3_column_int64(st, 16) : 0;
	int64_t booked = have_rows ? sqlite3_column_int64(st, 17) : 0;

	jput_int(t, "classes", have_rows ? sqlite3_column_int64(st, 15) : 0);
	jput_int(t, "capacity", capacity);
	jput_int(t, "booked", booked);
	if (have_rows) {
		put_figures(t, st, 18);
	} else {
		json_object_set_new(t, "revenue", json_pack("{s:i, s:i, s:i, s:i}",
		    "taken", 0, "refunded", 0, "net", 0, "at_desk_due", 0));
		json_object_set_new(t, "credits", json_pack("{s:i, s:i}", "taken", 0,
		    "refunded", 0));
		jput_int(t, "waitlist", 0);
		jput_int(t, "review_count", 0);
		json_object_set_new(t, "rating_avg", json_null());
	}
	return t;
}

static json_t *
room_json(sqlite3_stmt *st)
{
	json_t *j = json_object();
	int64_t taken = sqlite3_column_int64(st, 4);
	int64_t refunded = sqlite3_column_int64(st, 5);
	int64_t count = sqlite3_column_int64(st, 7);
	int64_t sum = sqlite3_column_int64(st, 8);

	jput_int(j, "room_id", sqlite3_column_int64(st, 0));
	jput_str(j, "name", (const char *)sqlite3_column_text(st, 1));
	jput_int(j, "hourly_price", sqlite3_column_int64(st, 2));
	jput_int(j, "booked", sqlite3_column_int64(st, 3));
	json_object_set_new(j, "revenue", json_pack("{s:I, s:I, s:I, s:I}",
	    "taken", (json_int_t)taken, "refunded", (json_int_t)refunded,
	    "net", (json_int_t)(taken - refunded), "at_desk_due",
	    (json_int_t)sqlite3_column_int64(st, 6)));
	jput_int(j, "review_count", count);
	json_object_set_new(j, "rating_avg", count > 0 ?
	    json_real((double)((sum * 200 + count) / (2 * count)) / 100.0) :
	    json_null());
	return j;
}

/* Every active room, all time (rooms are not in the range); NULL on error. */
static json_t *
rooms_json(void)
{
	json_t *rooms = json_array();
	int rc;

	while ((rc = db_step(d.app->db, d.room_list)) == 1)
		json_array_append_new(rooms, room_json(d.room_list));
	db_reset(d.room_list);
	if (rc < 0) {
		json_decref(rooms);
		return NULL;
	}
	return rooms;
}

/* from/to query times into *from, *to; 0, or -1 with a 422 set. */
static int
read_range(struct http_req *req, int64_t *from, int64_t *to)
{
	const char *from_s = http_query(req, "from"), *to_s = http_query(req, "to");
	json_t *errors = json_array();

	*from = now_s();
	*to = INT64_MAX;
	if (from_s != NULL && time_parse_rfc3339(from_s, from) != 0)
		json_array_append_new(errors, json_pack("{s:s, s:s}", "field",
		    "from", "message", "must be an RFC 3339 time with an offset"));
	if (to_s != NULL && time_parse_rfc3339(to_s, to) != 0)
		json_array_append_new(errors, json_pack("{s:s, s:s}", "field",
		    "to", "message", "must be an RFC 3339 time with an offset"));
	if (json_array_size(errors) > 0) {
		http_problem_invalid(req, errors);
		return -1;
	}
	json_decref(errors);
	return 0;
}

/* GET /dashboard?from=&to= (admin) */
static int
get_dashboard(struct http_req *req)
{
	int64_t from, to;
	json_t *classes, *totals = NULL, *rooms;
	int rc;

	if (read_range(req, &from, &to) != 0 ||
	    db_bind(d.list, "ii", from, to) != 0)
		return -1;
	classes = json_array();
	while ((rc = db_step(d.app->db, d.list)) == 1) {
		if (totals == NULL)
			totals = totals_json(d.list, 1);
		json_array_append_new(classes, class_json(d.list));
	}
	db_reset(d.list);
	if (rc < 0) {
		json_decref(classes);
		json_decref(totals);
		return -1;
	}
	if (totals == NULL)
		totals = totals_json(d.list, 0);
	if ((rooms = rooms_json()) == NULL) {
		json_decref(classes);
		json_decref(totals);
		return -1;
	}
	http_reply(req, 200, json_pack("{s:o, s:o, s:o, s:o, s:o}", "from",
	    http_time(from), "to", to == INT64_MAX ? json_null() : http_time(to),
	    "classes", classes, "totals", totals, "rooms", rooms));
	return 0;
}

static const struct bus_route routes[] = {
	{ "class.created", on_class, NULL },
	{ "class.updated", on_class, NULL },
	{ "class.cancelled", on_class_cancelled, NULL },
	{ "class.capacity_reserved", on_capacity, NULL },
	{ "class.capacity_released", on_capacity, NULL },
	{ "class.waitlisted", on_waitlisted, NULL },
	{ "room.created", on_room, NULL },
	{ "room.updated", on_room, NULL },
	{ "room.removed", on_room, NULL },
	{ "room.slot_reserved", on_slot, NULL },
	{ "room.slot_released", on_slot, NULL },
	{ "payment.succeeded", on_money, NULL },
	{ "payment.refunded", on_money, NULL },
	{ "credits.debited", on_money, NULL },
	{ "credits.refunded", on_money, NULL },
	{ "reservation.cancelled", on_reservation_ended, NULL },
	{ "reservation.rejected", on_reservation_ended, NULL },
	{ "review.posted", on_review, NULL },
	{ "review.deleted", on_review, NULL },
	{ NULL, NULL, NULL },
};

static const struct http_route http_routes[] = {
	{ EVHTTP_REQ_GET, API "/dashboard", get_dashboard, ACCESS_ADMIN },
};

static int
dashboard_init(struct app *app)
{
	d.app = app;
	if (db_prepare_all(app->db, stmts, NSTMTS) != 0)
		return -1;
	http_add_routes(app, http_routes, 1);
	bus_subscribe(app->bus, "dashboard", routes, NULL);
	return 0;
}

static void
dashboard_fini(struct app *app)
{
	(void)app;
	db_finalize_all(stmts, NSTMTS);
}

const struct module dashboard_module = {
	.name = "dashboard",
	.init = dashboard_init,
	.fini = dashboard_fini,
};
