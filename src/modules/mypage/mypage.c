/* mypage.c - see mypage.h. */
#include "modules/mypage/mypage.h"

#include <string.h>

#include "core/bus.h"
#include "core/db.h"
#include "core/json.h"
#include "core/util.h"
#include "http/http.h"

static struct {
	struct app *app;
	sqlite3_stmt *upsert, *retitle, *list;
} p;

static const struct db_stmt_def stmts[] = {
	{ &p.upsert, "INSERT INTO mypage_reservations(reservation_id, member_id,"
	    " class_id, class_title, starts_at, ends_at, status, reason, price,"
	    " credits, created_at, updated_at, seat, room_id)"
	    " VALUES (?, ?, nullif(?, 0), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, nullif(?, 0))"
	    " ON CONFLICT (reservation_id) DO UPDATE SET status = excluded.status,"
	    " reason = excluded.reason, price = excluded.price,"
	    " credits = excluded.credits, updated_at = excluded.updated_at" },
	{ &p.retitle, "UPDATE mypage_reservations SET class_title = ?,"
	    " starts_at = ?, ends_at = ? WHERE class_id = ?" },
	{ &p.list, "SELECT reservation_id, class_id, class_title, starts_at,"
	    " ends_at, status, reason, price, credits, created_at, updated_at, seat,"
	    " room_id FROM mypage_reservations WHERE member_id = ? AND reservation_id > ?"
	    " ORDER BY reservation_id LIMIT ?" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

/* Any reservation.* event: the row takes the state the event carries. */
static int
on_reservation(const struct bus_event *ev, void *arg)
{
	const json_t *e = ev->payload;

	(void)arg;
	if (db_bind(p.upsert, "iiitiittiiiiti", jget_int(e, "reservation_id"),
	    jget_int(e, "member_id"), jget_int(e, "class_id"),
	    jget_str(e, "class_title"),
	    jget_int(e, "starts_at"), jget_int(e, "ends_at"),
	    jget_str(e, "status"),
	    jget_str(e, "reason"),
	    jget_int(e, "price"), jget_int(e, "credits"), jget_int(e, "created_at"),
	    ev->created_at_ms / 1000, jget_str(e, "seat"),
	    jget_int(e, "room_id")) != 0)
		return -1;
	return db_exec(p.app->db, p.upsert) == 0 ? 0 : -1;
}

/* class.updated: a new title or time shows on every member's page. */
static int
on_class_updated(const struct bus_event *ev, void *arg)
{
	const json_t *e = ev->payload;

	(void)arg;
	if (db_bind(p.retitle, "tiii",
	    jget_str(e, "title"),
	    jget_int(e, "starts_at"), jget_int(e, "ends_at"),
	    jget_int(e, "class_id")) != 0)
		return -1;
	return db_exec(p.app->db, p.retitle) == 0 ? 0 : -1;
}

/* GET /me/reservations */
static int
list_mine(struct http_req *req)
{
	int64_t limit, after, next = 0, count = 0;
	sqlite3_stmt *st = p.list;
	json_t *items, *item;
	int rc;

	if (http_page(req, &limit, &after) != 0)
		return -1;
	if (db_bind(st, "iii", http_who(req)->member_id, after, limit + 1) != 0)
		return -1;
	items = json_array();
	while ((rc = db_step(p.app->db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);

		if (count++ == limit)
			break;
		next = id;
		item = json_object();
		jput_int(item, "id", id);
		if (sqlite3_column_type(st, 12) != SQLITE_NULL)
			jput_int(item, "room_id", sqlite3_column_int64(st, 12));
		else
			jput_int(item, "class_id", sqlite3_column_int64(st, 1));
		jput_str(item, "class_title", (const char *)sqlite3_column_text(st, 2));
		jput_time(item, "starts_at", sqlite3_column_int64(st, 3));
		jput_time(item, "ends_at", sqlite3_column_int64(st, 4));
		jput_str(item, "status", (const char *)sqlite3_column_text(st, 5));
		jput_str(item, "reason", (const char *)sqlite3_column_text(st, 6));
		jput_int(item, "price", sqlite3_column_int64(st, 7));
		jput_int(item, "credits", sqlite3_column_int64(st, 8));
		jput_time(item, "created_at", sqlite3_column_int64(st, 9));
		jput_time(item, "updated_at", sqlite3_column_int64(st, 10));
		if (sqlite3_column_type(st, 11) != SQLITE_NULL)
			jput_str(item, "seat", (const char *)sqlite3_column_text(st, 11));
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

static const struct bus_route routes[] = {
	{ "reservation.requested", on_reservation, NULL },
	{ "reservation.confirmed", on_reservation, NULL },
	{ "reservation.rejected", on_reservation, NULL },
	{ "reservation.cancelled", on_reservation, NULL },
	{ "reservation.waitlisted", on_reservation, NULL },
	{ "reservation.awaiting_approval", on_reservation, NULL },
	{ "class.updated", on_class_updated, NULL },
	{ NULL, NULL, NULL },
};

static const struct http_route http_routes[] = {
	{ EVHTTP_REQ_GET, API "/me/reservations", list_mine, ACCESS_MEMBER },
};

static int
mypage_init(struct app *app)
{
	p.app = app;
	if (db_prepare_all(app->db, stmts, NSTMTS) != 0)
		return -1;
	http_add_routes(app, http_routes, 1);
	bus_subscribe(app->bus, "mypage", routes, NULL);
	return 0;
}

static void
mypage_fini(struct app *app)
{
	(void)app;
	db_finalize_all(stmts, NSTMTS);
}

const struct module mypage_module = {
	.name = "mypage",
	.init = mypage_init,
	.fini = mypage_fini,
};
