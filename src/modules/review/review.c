/* review.c - see review.h. Routes, handlers and SQL together: the module
 * is small. */
#include "modules/review/review.h"

#include <stdio.h>
#include <string.h>

#include "core/bus.h"
#include "core/db.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/http.h"
#include "http/validate.h"

#define COMMENT_MAX_CHARS 2000

static struct {
	struct app *app;
	sqlite3_stmt *class_put, *class_get, *attend_put, *attendance, *insert,
	    *get, *del, *list;
	sqlite3_stmt *room_put, *room_get, *room_attend_put, *room_attendance,
	    *room_insert, *room_list;
} r;

static const struct db_stmt_def stmts[] = {
	{ &r.class_put, "INSERT INTO review_classes(class_id, starts_at)"
	    " VALUES (?, ?) ON CONFLICT (class_id) DO UPDATE"
	    " SET starts_at = excluded.starts_at" },
	{ &r.class_get, "SELECT starts_at FROM review_classes WHERE class_id = ?" },
	{ &r.attend_put, "INSERT INTO review_attendance(reservation_id, member_id,"
	    " class_id, status) VALUES (?, ?, ?, ?) ON CONFLICT (reservation_id)"
	    " DO UPDATE SET status = excluded.status" },
	/* The member's confirmed reservation of the class (at most one is
	 * active), and whether it has been reviewed already. */
	{ &r.attendance, "SELECT a.reservation_id, v.id FROM review_attendance a"
	    " LEFT JOIN reviews v ON v.reservation_id = a.reservation_id"
	    " WHERE a.member_id = ? AND a.class_id = ? AND a.status = 'confirmed'"
	    " ORDER BY v.id IS NOT NULL, a.reservation_id DESC LIMIT 1" },
	{ &r.insert, "INSERT INTO reviews(class_id, reservation_id, member_id,"
	    " rating, comment, created_at) VALUES (?, ?, ?, ?, ?, ?)" },
	{ &r.get, "SELECT class_id, reservation_id, member_id, rating, room_id"
	    " FROM reviews WHERE id = ?" },
	{ &r.del, "DELETE FROM reviews WHERE id = ?" },
	{ &r.list, "SELECT id, rating, comment, created_at FROM reviews"
	    " WHERE class_id = ? AND id > ? ORDER BY id LIMIT ?" },
	/* Rooms: the same, from room.* and room bookings' reservation.*. */
	{ &r.room_put, "INSERT INTO review_rooms(room_id, status) VALUES (?, ?)"
	    " ON CONFLICT (room_id) DO UPDATE SET status = excluded.status" },
	{ &r.room_get, "SELECT 1 FROM review_rooms WHERE room_id = ?"
	    " AND status = 'active'" },
	{ &r.room_attend_put, "INSERT INTO review_room_attendance(reservation_id,"
	    " member_id, room_id, starts_at, status) VALUES (?, ?, ?, ?, ?)"
	    " ON CONFLICT (reservation_id) DO UPDATE SET status = excluded.status" },
	/* The member's confirmed slots of the room, best first: started and
	 * not reviewed; then not reviewed (not started); then reviewed. */
	{ &r.room_attendance, "SELECT a.reservation_id, v.id, a.starts_at"
	    " FROM review_room_attendance a"
	    " LEFT JOIN reviews v ON v.reservation_id = a.reservation_id"
	    " WHERE a.member_id = ?1 AND a.room_id = ?2 AND a.status = 'confirmed'"
	    " ORDER BY v.id IS NOT NULL, a.starts_at > ?3, a.starts_at DESC,"
	    " a.reservation_id DESC LIMIT 1" },
	{ &r.room_insert, "INSERT INTO reviews(room_id, reservation_id, member_id,"
	    " rating, comment, created_at) VALUES (?, ?, ?, ?, ?, ?)" },
	{ &r.room_list, "SELECT id, rating, comment, created_at FROM reviews"
	    " WHERE room_id = ? AND id > ? ORDER BY id LIMIT ?" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

/* class.created / class.updated: when the class starts. */
static int
on_class(const struct bus_event *ev, void *arg)
{
	(void)arg;
	if (db_bind(r.class_put, "ii", jget_int(ev->payload, "class_id"),
	    jget_int(ev->payload, "starts_at")) != 0)
		return -1;
	return db_exec(r.app->db, r.class_put) == 0 ? 0 : -1;
}

/* room.created / .updated / .removed: which rooms may be reviewed. */
static int
on_room(const struct bus_event *ev, void *arg)
{
	const char *status = jget_str(ev->payload, "status");

	(void)arg;
	if (db_bind(r.room_put, "it", jget_int(ev->payload, "room_id"),
	    status ? status : "active") != 0)
		return -1;
	return db_exec(r.app->db, r.room_put) == 0 ? 0 : -1;
}

/*
 * reservation.confirmed / .cancelled: who holds a place in which class, or
 * a slot of which room (those carry room_id and the slot's starts_at).
 */
static int
on_reservation(const struct bus_event *ev, void *arg)
{
	const json_t *p = ev->payload;
	int64_t room_id = jget_int(p, "room_id");

	(void)arg;
	if (room_id != 0) {
		if (db_bind(r.room_attend_put, "iiiit", jget_int(p,
		    "reservation_id"), jget_int(p, "member_id"), room_id,
		    jget_int(p, "starts_at"), jget_str(p, "status")) != 0)
			return -1;
		return db_exec(r.app->db, r.room_attend_put) == 0 ? 0 : -1;
	}
	if (db_bind(r.attend_put, "iiit", jget_int(p, "reservation_id"),
	    jget_int(p, "member_id"), jget_int(p, "class_id"),
	    jget_str(p, "status")) != 0)
		return -1;
	return db_exec(r.app->db, r.attend_put) == 0 ? 0 : -1;
}

/* The class's start: 1 known, 0 not, -1 error. */
static int
class_starts_at(int64_t class_id, int64_t *starts_at)
{
	int rc;

	if (db_bind(r.class_get, "i", class_id) != 0)
		return -1;
	rc = db_step(r.app->db, r.class_get);
	if (rc == 1)
		*starts_at = sqlite3_column_int64(r.class_get, 0);
	db_reset(r.class_get);
	return rc;
}

/* The reservation a review would belong to: 1 with *rid (and *reviewed
 * set if it has a review), 0 none, -1 error. */
static int
attended(int64_t member_id, int64_t class_id, int64_t *rid, int *reviewed)
{
	int rc;

	if (db_bind(r.attendance, "ii", member_id, class_id) != 0)
		return -1;
	rc = db_step(r.app->db, r.attendance);
	if (rc == 1) {
		*rid = sqlite3_column_int64(r.attendance, 0);
		*reviewed = sqlite3_column_type(r.attendance, 1) != SQLITE_NULL;
	}
	db_reset(r.attendance);
	return rc;
}

/* The room is known and not removed: 1, 0 not, -1 error. */
static int
room_active(int64_t room_id)
{
	if (db_bind(r.room_get, "i", room_id) != 0)
		return -1;
	return db_step_once(r.app->db, r.room_get);
}

/* The member's best slot of the room for a review: 1 with *rid, *starts_at
 * and *reviewed, 0 none, -1 error. */
static int
room_attended(int64_t member_id, int64_t room_id, int64_t *rid,
    int64_t *starts_at, int *reviewed)
{
	int rc;

	if (db_bind(r.room_attendance, "iii", member_id, room_id, now_s()) != 0)
		return -1;
	rc = db_step(r.app->db, r.room_attendance);
	if (rc == 1) {
		*rid = sqlite3_column_int64(r.room_attendance, 0);
		*reviewed = sqlite3_column_type(r.room_attendance, 1) != SQLITE_NULL;
		*starts_at = sqlite3_column_int64(r.room_attendance, 2);
	}
	db_reset(r.room_attendance);
	return rc;
}

/* key: "class_id" or "room_id", what the review is of. */
static json_t *
review_json(int64_t id, const char *key, int64_t of, int64_t rating,
    const char *comment, int64_t created_at)
{
	json_t *j = json_object();

	jput_int(j, "id", id);
	jput_int(j, key, of);
	jput_int(j, "rating", rating);
	jput_str(j, "comment", comment);
	jput_time(j, "created_at", created_at);
	return j;
}

/* Check the body; 0 with rating and comment (borrowed) set, or -1 replied. */
static int
read_body(struct http_req *req, int64_t *rating, const char **comment)
{
	static const char *const allowed[] = { "rating", "comment", NULL };
	json_t *body = http_body_object(req);
	struct vctx v;

	if (body == NULL)
		return -1;
	v_begin(&v, body, allowed);
	v_int(&v, "rating", V_REQUIRED, 1, 5, rating);
	v_string_or_null(&v, "comment", COMMENT_MAX_CHARS, comment);
	if (!v_ok(&v)) {
		http_problem_invalid(req, v_take(&v));
		return -1;
	}
	v_end(&v);
	return 0;
}

/* May the caller review class_id? 1 yes (*rid set), 0 replied, -1 error. */
static int
may_review(struct http_req *req, int64_t class_id, int64_t *rid)
{
	int64_t starts_at = 0;
	int reviewed = 0, rc = class_starts_at(class_id, &starts_at);

	if (rc <= 0)
		return rc < 0 ? -1 : http_not_found(req, "class", class_id) + 1;
	rc = attended(http_who(req)->member_id, class_id, rid, &reviewed);
	if (rc < 0)
		return -1;
	if (rc == 0)
		http_problem(req, 409, "not_attended", "No confirmed reservation",
		    "only a member with a confirmed reservation of class %lld may"
		    " review it", (long long)class_id);
	else if (now_s() < starts_at)
		http_problem(req, 409, "class_not_started", "Class has not started",
		    "class %lld can be reviewed once it has started",
		    (long long)class_id);
	else if (reviewed)
		http_problem(req, 409, "already_reviewed", "Already reviewed",
		    "reservation %lld has a review already", (long long)*rid);
	else
		return 1;
	return 0;
}

/* May the caller review room_id? The same rules, for a slot of the room:
 * 1 yes (*rid set), 0 replied, -1 error. */
static int
may_review_room(struct http_req *req, int64_t room_id, int64_t *rid)
{
	int64_t starts_at = 0;
	int reviewed = 0, rc = room_active(room_id);

	if (rc <= 0)
		return rc < 0 ? -1 : http_not_found(req, "room", room_id) + 1;
	rc = room_attended(http_who(req)->member_id, room_id, rid, &starts_at,
	    &reviewed);
	if (rc < 0)
		return -1;
	if (rc == 0)
		http_problem(req, 409, "not_attended", "No confirmed reservation",
		    "only a member with a confirmed booking of room %lld may"
		    " review it", (long long)room_id);
	else if (reviewed)
		http_problem(req, 409, "already_reviewed", "Already reviewed",
		    "reservation %lld has a review already", (long long)*rid);
	else if (now_s() < starts_at)
		http_problem(req, 409, "slot_not_started", "Slot has not started",
		    "room %lld can be reviewed once the booked slot has started",
		    (long long)room_id);
	else
		return 1;
	return 0;
}

/* POST /classes/{id}/reviews or /rooms/{id}/reviews (member) */
static int
post_review_of(struct http_req *req, int room)
{
	const char *key = room ? "room_id" : "class_id";
	int64_t class_id = http_param(req, 0), rating = 0, rid = 0, id;
	int64_t member_id = http_who(req)->member_id, now = now_s();
	const char *comment = NULL;
	char where[64], corr[40];
	int rc;

	if (read_body(req, &rating, &comment) != 0)
		return -1;
	rc = room ? may_review_room(req, class_id, &rid) :
	    may_review(req, class_id, &rid);
	if (rc <= 0)
		return -1;
	if (db_bind(room ? r.room_insert : r.insert, "iiiiti", class_id, rid,
	    member_id, rating, comment, now) != 0)
		return -1;
	rc = db_exec(r.app->db, room ? r.room_insert : r.insert);
	if (rc == DB_CONSTRAINT) {
		http_problem(req, 409, "already_reviewed", "Already reviewed",
		    "reservation %lld has a review already", (long long)rid);
		return -1;
	}
	if (rc != 0)
		return -1;
	id = db_last_insert_id(r.app->db);
	snprintf(corr, sizeof corr, "review:%lld", (long long)id);
	if (bus_publish(r.app->bus, "review.posted", corr, json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:s?, s:I}", "review_id", (json_int_t)id,
	    key, (json_int_t)class_id, "reservation_id", (json_int_t)rid,
	    "member_id", (json_int_t)member_id, "rating", (json_int_t)rating,
	    "comment", comment, "created_at", (json_int_t)now)) < 0)
		return -1;
	snprintf(where, sizeof where, API "/reviews/%lld", (long long)id);
	http_reply_at(req, 201, review_json(id, key, class_id, rating, comment,
	    now), where);
	log_info("review posted", "review_id=%lld %s=%lld rating=%lld",
	    (long long)id, key, (long long)class_id, (long long)rating);
	return 0;
}

static int
post_review(struct http_req *req)
{
	return post_review_of(req, 0);
}

static int
post_room_review(struct http_req *req)
{
	return post_review_of(req, 1);
}

/* DELETE /reviews/{id} (its author or an admin) */
static int
delete_review(struct http_req *req)
{
	int64_t id = http_param(req, 0), class_id = 0, rid = 0, member_id = 0;
	int64_t rating = 0, room_id = 0;
	char corr[40];
	int rc;

	if (db_bind(r.get, "i", id) != 0)
		return -1;
	rc = db_step(r.app->db, r.get);
	if (rc == 1) {
		class_id = sqlite3_column_int64(r.get, 0);
		rid = sqlite3_column_int64(r.get, 1);
		member_id = sqlite3_column_int64(r.get, 2);
		rating = sqlite3_column_int64(r.get, 3);
		room_id = sqlite3_column_int64(r.get, 4);
	}
	db_reset(r.get);
	if (rc <= 0)
		return rc < 0 ? -1 : http_not_found(req, "review", id);
	if (!http_is_admin(req) && http_who(req)->member_id != member_id)
		return http_forbidden(req);
	if (db_bind(r.del, "i", id) != 0 || db_exec(r.app->db, r.del) != 0)
		return -1;
	snprintf(corr, sizeof corr, "review:%lld", (long long)id);
	if (bus_publish(r.app->bus, "review.deleted", corr, json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:s}", "review_id", (json_int_t)id,
	    room_id ? "room_id" : "class_id",
	    (json_int_t)(room_id ? room_id : class_id), "reservation_id", (json_int_t)rid,
	    "member_id", (json_int_t)member_id, "rating", (json_int_t)rating,
	    "by", http_is_admin(req) ? "admin" : "author")) < 0)
		return -1;
	http_reply(req, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id,
	    "status", "deleted"));
	return 0;
}

/* GET /classes/{id}/reviews or /rooms/{id}/reviews (public) */
static int
list_reviews_of(struct http_req *req, int room)
{
	int64_t class_id = http_param(req, 0), limit, after, next = 0, count = 0;
	int64_t starts_at;
	sqlite3_stmt *st = room ? r.room_list : r.list;
	json_t *items;
	int rc = room ? room_active(class_id) : class_starts_at(class_id,
	    &starts_at);

	if (rc <= 0)
		return rc < 0 ? -1 : http_not_found(req, room ? "room" : "class",
		    class_id);
	if (http_page(req, &limit, &after) != 0 ||
	    db_bind(st, "iii", class_id, after, limit + 1) != 0)
		return -1;
	items = json_array();
	while ((rc = db_step(r.app->db, st)) == 1) {
		if (count++ == limit)
			break;
		next = sqlite3_column_int64(st, 0);
		json_array_append_new(items, review_json(next,
		    room ? "room_id" : "class_id", class_id,
		    sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
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

static int
list_reviews(struct http_req *req)
{
	return list_reviews_of(req, 0);
}

static int
list_room_reviews(struct http_req *req)
{
	return list_reviews_of(req, 1);
}

static const struct bus_route routes[] = {
	{ "class.created", on_class, NULL },
	{ "class.updated", on_class, NULL },
	{ "room.created", on_room, NULL },
	{ "room.updated", on_room, NULL },
	{ "room.removed", on_room, NULL },
	{ "reservation.confirmed", on_reservation, NULL },
	{ "reservation.cancelled", on_reservation, NULL },
	{ NULL, NULL, NULL },
};

static const struct http_route http_routes[] = {
	{ EVHTTP_REQ_POST, API "/classes/{id}/reviews", post_review, ACCESS_MEMBER },
	{ EVHTTP_REQ_GET, API "/classes/{id}/reviews", list_reviews, ACCESS_PUBLIC },
	{ EVHTTP_REQ_POST, API "/rooms/{id}/reviews", post_room_review, ACCESS_MEMBER },
	{ EVHTTP_REQ_GET, API "/rooms/{id}/reviews", list_room_reviews, ACCESS_PUBLIC },
	{ EVHTTP_REQ_DELETE, API "/reviews/{id}", delete_review, ACCESS_USER },
};

static int
review_init(struct app *app)
{
	r.app = app;
	if (db_prepare_all(app->db, stmts, NSTMTS) != 0)
		return -1;
	http_add_routes(app, http_routes,
	    (int)(sizeof http_routes / sizeof http_routes[0]));
	bus_subscribe(app->bus, "review", routes, NULL);
	return 0;
}

static void
review_fini(struct app *app)
{
	(void)app;
	db_finalize_all(stmts, NSTMTS);
}

const struct module review_module = {
	.name = "review",
	.init = review_init,
	.fini = review_fini,
};
