/* calendar.c - see calendar.h. Routes, handlers and SQL together: the
 * module is small; the iCalendar text is ical.c's. */
#include "modules/calendar/calendar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "core/bus.h"
#include "core/db.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/http.h"
#include "modules/calendar/ical.h"

#define FEED_CHANGED "calendar.feed_changed"
#define STUDIO 0                    /* calendar_feeds.member_id of the studio */
#define SECRET_BYTES 32
#define SECRET_HEX (2 * SECRET_BYTES + 1)
/* Events that ended longer ago than this are left out of a feed. */
#define HISTORY_S (366 * 24 * 3600)
#define CONTENT_TYPE "text/calendar; charset=utf-8"

static struct {
	struct app *app;
	sqlite3_stmt *feed_get, *feed_add, *feed_set, *booking_put,
	    *booking_cancel, *booking_follow, *class_put, *class_cancel,
	    *list_bookings, *list_classes;
} c;

static const struct db_stmt_def stmts[] = {
	{ &c.feed_get, "SELECT secret FROM calendar_feeds WHERE member_id = ?" },
	{ &c.feed_add, "INSERT OR IGNORE INTO calendar_feeds(member_id, secret,"
	    " created_at) VALUES (?, ?, ?)" },
	{ &c.feed_set, "INSERT INTO calendar_feeds(member_id, secret, created_at)"
	    " VALUES (?, ?, ?) ON CONFLICT (member_id) DO UPDATE"
	    " SET secret = excluded.secret, created_at = excluded.created_at" },
	{ &c.booking_put, "INSERT INTO calendar_bookings(reservation_id,"
	    " member_id, class_id, title, location, starts_at, ends_at, status)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, 'confirmed')"
	    " ON CONFLICT (reservation_id) DO UPDATE SET title = excluded.title,"
	    " location = excluded.location, starts_at = excluded.starts_at,"
	    " ends_at = excluded.ends_at, status = 'confirmed',"
	    " sequence = sequence + 1" },
	{ &c.booking_cancel, "UPDATE calendar_bookings SET status = 'cancelled',"
	    " sequence = sequence + 1"
	    " WHERE reservation_id = ? AND status <> 'cancelled'" },
	/* A class moved or renamed: its bookings follow. */
	{ &c.booking_follow, "UPDATE calendar_bookings SET title = ?2,"
	    " starts_at = ?3, ends_at = ?4, sequence = sequence + 1"
	    " WHERE class_id = ?1 AND (title <> ?2 OR starts_at <> ?3"
	    " OR ends_at <> ?4)" },
	{ &c.class_put, "INSERT INTO calendar_classes(class_id, title, instructor,"
	    " starts_at, ends_at, status) VALUES (?, ?, ?, ?, ?, ?)"
	    " ON CONFLICT (class_id) DO UPDATE SET title = excluded.title,"
	    " instructor = excluded.instructor, starts_at = excluded.starts_at,"
	    " ends_at = excluded.ends_at, status = excluded.status,"
	    " sequence = sequence + 1 WHERE title <> excluded.title"
	    " OR instructor IS NOT excluded.instructor"
	    " OR starts_at <> excluded.starts_at OR ends_at <> excluded.ends_at"
	    " OR status <> excluded.status" },
	{ &c.class_cancel, "UPDATE calendar_classes SET status = 'cancelled',"
	    " sequence = sequence + 1 WHERE class_id = ? AND status <> 'cancelled'" },
	{ &c.list_bookings, "SELECT reservation_id, title, location, starts_at,"
	    " ends_at, status, sequence FROM calendar_bookings"
	    " WHERE member_id = ? AND ends_at >= ? ORDER BY starts_at, reservation_id" },
	{ &c.list_classes, "SELECT class_id, title, instructor, starts_at, ends_at,"
	    " status, sequence FROM calendar_classes WHERE ends_at >= ?"
	    " ORDER BY starts_at, class_id" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

/* A fresh secret: SECRET_BYTES random bytes in hex. */
static void
new_secret(char hex[static SECRET_HEX])
{
	unsigned char raw[SECRET_BYTES];

	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(hex, SECRET_HEX, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
}

/* The feed's path with its key; the caller frees. */
static char *
feed_path(int64_t member_id, const char *secret)
{
	if (member_id == STUDIO)
		return xasprintf(API "/calendar/studio?key=%s", secret);
	return xasprintf(API "/calendar/members/%lld?key=%s",
	    (long long)member_id, secret);
}

/* Tell the member module a member's feed is at a new path. 0 or -1. */
static int
announce(int64_t member_id, const char *secret, const char *corr)
{
	char *path = feed_path(member_id, secret);
	int rc = bus_publish(c.app->bus, FEED_CHANGED, corr, json_pack(
	    "{s:I, s:s}", "member_id", (json_int_t)member_id, "path", path));

	free(path);
	return rc < 0 ? -1 : 0;
}

/*
 * The owner's secret into hex: 1 found, 0 none, -1 error.
 */
static int
feed_secret(int64_t owner, char hex[static SECRET_HEX])
{
	int rc;

	if (db_bind(c.feed_get, "i", owner) != 0)
		return -1;
	rc = db_step(c.app->db, c.feed_get);
	if (rc == 1)
		snprintf(hex, SECRET_HEX, "%s",
		    (const char *)sqlite3_column_text(c.feed_get, 0));
	db_reset(c.feed_get);
	return rc < 0 ? -1 : rc;
}

/* member.created: the member's feed, and its path for GET /me. */
static int
on_member_created(const struct bus_event *ev, void *arg)
{
	int64_t member_id = jget_int(ev->payload, "member_id");
	char secret[SECRET_HEX];

	(void)arg;
	new_secret(secret);
	if (db_bind(c.feed_add, "iti", member_id, secret, now_s()) != 0 ||
	    db_exec(c.app->db, c.feed_add) != 0)
		return -1;
	if (db_changes(c.app->db) == 0)
		return 0; /* it has one already */
	return announce(member_id, secret, ev->correlation_id);
}

/* reservation.confirmed: the booking goes into the member's feed. */
static int
on_confirmed(const struct bus_event *ev, void *arg)
{
	const json_t *p = ev->payload;
	const char *title = jget_str(p, "class_title"), *seat = jget_str(p, "seat");
	int64_t class_id = jget_int(p, "class_id");
	char location[128] = "";

	(void)arg;
	if (title == NULL)
		title = "";
	if (seat != NULL)
		snprintf(location, sizeof location, "Seat %s", seat);
	else if (jget_int(p, "room_id") != 0)
		snprintf(location, sizeof location, "%s", title); /* the room */
	if (db_bind(c.booking_put, "iiittii", jget_int(p, "reservation_id"),
	    jget_int(p, "member_id"), class_id, title,
	    location[0] ? location : NULL, jget_int(p, "starts_at"),
	    jget_int(p, "ends_at")) != 0)
		return -1;
	if (class_id == 0)
		sqlite3_bind_null(c.booking_put, 3); /* a room slot */
	return db_exec(c.app->db, c.booking_put) == 0 ? 0 : -1;
}

/*
 * reservation.cancelled / .rejected: a booking in the feed stays, marked
 * cancelled, so subscribed calendars remove it. One never confirmed (a
 * request, a place in line) was never in the feed: nothing to do.
 */
static int
on_ended(const struct bus_event *ev, void *arg)
{
	(void)arg;
	if (db_bind(c.booking_cancel, "i",
	    jget_int(ev->payload, "reservation_id")) != 0)
		return -1;
	return db_exec(c.app->db, c.booking_cancel) == 0 ? 0 : -1;
}

/* class.created / .updated: the studio feed's class, and its bookings. */
static int
on_class(const struct bus_event *ev, void *arg)
{
	const json_t *p = ev->payload;
	const char *title = jget_str(p, "title"), *status = jget_str(p, "status");
	int64_t id = jget_int(p, "class_id");
	int64_t starts = jget_int(p, "starts_at"), ends = jget_int(p, "ends_at");

	(void)arg;
	if (title == NULL)
		title = "";
	if (db_bind(c.class_put, "ittiit", id, title, jget_str(p, "instructor"),
	    starts, ends, status ? status : "scheduled") != 0 ||
	    db_exec(c.app->db, c.class_put) != 0)
		return -1;
	if (strcmp(ev->type, "class.updated") != 0)
		return 0;
	if (db_bind(c.booking_follow, "itii", id, title, starts, ends) != 0)
		return -1;
	return db_exec(c.app->db, c.booking_follow) == 0 ? 0 : -1;
}

/* class.cancelled carries only the class's id. */
static int
on_class_cancelled(const struct bus_event *ev, void *arg)
{
	(void)arg;
	if (db_bind(c.class_cancel, "i", jget_int(ev->payload, "class_id")) != 0)
		return -1;
	return db_exec(c.app->db, c.class_cancel) == 0 ? 0 : -1;
}

/*
 * Does key open owner's feed? 1 yes, 0 no, -1 error. The comparison takes
 * the same time wherever the key differs.
 */
static int
key_opens(int64_t owner, const char *key)
{
	char secret[SECRET_HEX];
	int rc = feed_secret(owner, secret);

	if (rc <= 0)
		return rc;
	return key != NULL && strlen(key) == SECRET_HEX - 1 &&
	    sodium_memcmp(key, secret, SECRET_HEX - 1) == 0;
}

/* The same 404 for an unknown feed and a wrong key: nothing to probe. */
static int
no_feed(struct http_req *req)
{
	http_problem(req, 404, "not_found", "Not found",
	    "no such calendar feed");
	return -1;
}

/* Append the rows of the member's bookings to ic. 0 or -1. */
static int
add_bookings(struct ical *ic, int64_t member_id, int64_t now)
{
	sqlite3_stmt *st = c.list_bookings;
	struct ical_event e;
	char uid[64];
	int rc;

	if (db_bind(st, "ii", member_id, now - HISTORY_S) != 0)
		return -1;
	while ((rc = db_step(c.app->db, st)) == 1) {
		snprintf(uid, sizeof uid, "reservation-%lld@studiod",
		    (long long)sqlite3_column_int64(st, 0));
		e = (struct ical_event){ .uid = uid,
		    .summary = (const char *)sqlite3_column_text(st, 1),
		    .location = (const char *)sqlite3_column_text(st, 2),
		    .starts_at = sqlite3_column_int64(st, 3),
		    .ends_at = sqlite3_column_int64(st, 4),
		    .cancelled = strcmp((const char *)sqlite3_column_text(st, 5),
		    "cancelled") == 0,
		    .sequence = sqlite3_column_int64(st, 6) };
		ical_event(ic, &e, now);
	}
	db_reset(st);
	return rc < 0 ? -1 : 0;
}

/* Append every class (the studio's feed) to ic. 0 or -1. */
static int
add_classes(struct ical *ic, int64_t now)
{
	sqlite3_stmt *st = c.list_classes;
	struct ical_event e;
	char uid[64], who[256];
	const char *instructor;
	int rc;

	if (db_bind(st, "i", now - HISTORY_S) != 0)
		return -1;
	while ((rc = db_step(c.app->db, st)) == 1) {
		snprintf(uid, sizeof uid, "class-%lld@studiod",
		    (long long)sqlite3_column_int64(st, 0));
		instructor = (const char *)sqlite3_column_text(st, 2);
		if (instructor != NULL)
			snprintf(who, sizeof who, "Instructor: %s", instructor);
		e = (struct ical_event){ .uid = uid,
		    .summary = (const char *)sqlite3_column_text(st, 1),
		    .description = instructor != NULL ? who : NULL,
		    .starts_at = sqlite3_column_int64(st, 3),
		    .ends_at = sqlite3_column_int64(st, 4),
		    .cancelled = strcmp((const char *)sqlite3_column_text(st, 5),
		    "cancelled") == 0,
		    .sequence = sqlite3_column_int64(st, 6) };
		ical_event(ic, &e, now);
	}
	db_reset(st);
	return rc < 0 ? -1 : 0;
}

/* Answer owner's feed if key opens it (404 if not). */
static int
serve_feed(struct http_req *req, int64_t owner)
{
	struct ical ic = { 0 };
	int64_t now = now_s();
	int rc = key_opens(owner, http_query(req, "key"));

	if (rc <= 0)
		return rc < 0 ? -1 : no_feed(req);
	rc = -1;
	ical_begin(&ic, owner == STUDIO ? "Studio classes" : "My bookings");
	if ((owner == STUDIO ? add_classes(&ic, now) :
	    add_bookings(&ic, owner, now)) != 0)
		goto out;
	ical_end(&ic);
	http_reply_raw(req, 200, CONTENT_TYPE, ic.buf, ic.len);
	rc = 0;
out:
	ical_release(&ic);
	return rc;
}

/* GET /calendar/members/{id}?key= (public: the key is the credential) */
static int
get_member_feed(struct http_req *req)
{
	int64_t id = http_param(req, 0);

	if (id <= 0)
		return no_feed(req); /* 0 is the studio's row, not a member's */
	return serve_feed(req, id);
}

/* GET /calendar/studio?key= */
static int
get_studio_feed(struct http_req *req)
{
	return serve_feed(req, STUDIO);
}

/* The caller's feed: the studio's for the admin, else the member's. */
static int64_t
owner_of(struct http_req *req)
{
	return http_is_admin(req) ? STUDIO : http_who(req)->member_id;
}

/* Reply {"url": <the feed's path>}. */
static void
reply_url(struct http_req *req, int64_t owner, const char *secret)
{
	char *path = feed_path(owner, secret);
	json_t *j = json_object();

	jput_str(j, "url", path);
	http_reply(req, 200, j);
	free(path);
}

/* GET /me/calendar: the caller's feed URL. */
static int
get_my_feed(struct http_req *req)
{
	int64_t owner = owner_of(req);
	char secret[SECRET_HEX];
	int rc = feed_secret(owner, secret);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		/* Members made before the event log's retention began. */
		http_problem(req, 404, "not_found", "Not found", "no calendar feed"
		    " yet: POST " API "/me/calendar/rotate makes one");
		return -1;
	}
	reply_url(req, owner, secret);
	return 0;
}

/*
 * POST /me/calendar/rotate: a new secret; the old URL stops working at
 * once. The admin rotates the studio's feed.
 */
static int
rotate_my_feed(struct http_req *req)
{
	int64_t owner = owner_of(req);
	char secret[SECRET_HEX];

	new_secret(secret);
	if (db_bind(c.feed_set, "iti", owner, secret, now_s()) != 0 ||
	    db_exec(c.app->db, c.feed_set) != 0)
		return -1;
	if (owner != STUDIO && announce(owner, secret, NULL) != 0)
		return -1;
	log_info("calendar feed rotated", "member_id=%lld", (long long)owner);
	reply_url(req, owner, secret);
	return 0;
}

static const struct bus_route routes[] = {
	{ "member.created", on_member_created, NULL },
	{ "reservation.confirmed", on_confirmed, NULL },
	{ "reservation.cancelled", on_ended, NULL },
	{ "reservation.rejected", on_ended, NULL },
	{ "class.created", on_class, NULL },
	{ "class.updated", on_class, NULL },
	{ "class.cancelled", on_class_cancelled, NULL },
	{ NULL, NULL, NULL },
};

static const struct http_route http_routes[] = {
	{ EVHTTP_REQ_GET, API "/calendar/members/{id}", get_member_feed,
	    ACCESS_PUBLIC },
	{ EVHTTP_REQ_GET, API "/calendar/studio", get_studio_feed, ACCESS_PUBLIC },
	{ EVHTTP_REQ_GET, API "/me/calendar", get_my_feed, ACCESS_USER },
	{ EVHTTP_REQ_POST, API "/me/calendar/rotate", rotate_my_feed, ACCESS_USER },
};

/* The studio's feed exists from the first start on. */
static int
studio_feed_ensure(void)
{
	char secret[SECRET_HEX];

	new_secret(secret);
	if (db_bind(c.feed_add, "iti", (int64_t)STUDIO, secret, now_s()) != 0)
		return -1;
	return db_exec(c.app->db, c.feed_add) == 0 ? 0 : -1;
}

static int
calendar_init(struct app *app)
{
	c.app = app;
	if (db_prepare_all(app->db, stmts, NSTMTS) != 0 ||
	    studio_feed_ensure() != 0)
		return -1;
	http_add_routes(app, http_routes,
	    (int)(sizeof http_routes / sizeof http_routes[0]));
	bus_subscribe(app->bus, "calendar", routes, NULL);
	return 0;
}

static void
calendar_fini(struct app *app)
{
	(void)app;
	db_finalize_all(stmts, NSTMTS);
}

const struct module calendar_module = {
	.name = "calendar",
	.init = calendar_init,
	.fini = calendar_fini,
};
