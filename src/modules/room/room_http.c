/* room_http.c - the room module's routes. */
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "core/bus.h"
#include "core/log.h"
#include "core/util.h"
#include "http/http.h"
#include "http/validate.h"
#include "modules/room/room_internal.h"

#define MAX_HOURLY_PRICE 10000000
/* An availability query covers at most this much time. */
#define MAX_RANGE_S (62 * 86400)

static const char *const fields[] = { "name", "hourly_price",
	"requires_approval", NULL };

/* Read the body into r (name required when creating). 0, or -1 + reply. */
static int
read_fields(struct http_req *req, json_t *body, struct room_row *r, int creating)
{
	const char *name = NULL;
	struct vctx v;

	v_begin(&v, body, fields);
	v_string(&v, "name", creating ? V_REQUIRED : V_OPTIONAL, 200, &name);
	v_int(&v, "hourly_price", V_OPTIONAL, 0, MAX_HOURLY_PRICE, &r->hourly_price);
	v_bool(&v, "requires_approval", V_OPTIONAL, &r->requires_approval);
	if (!v_ok(&v)) {
		http_problem_invalid(req, v_take(&v));
		return -1;
	}
	v_end(&v);
	if (name != NULL) {
		free(r->name);
		r->name = xstrdup(name);
	}
	return 0;
}

static int
publish(const char *type, const struct room_row *r)
{
	return bus_publish(room_app->bus, type, NULL, room_event_payload(r)) < 0 ?
	    -1 : 0;
}

/* Load {id}; 1, or 0/-1 with the reply set (a removed room is gone). */
static int
load(struct http_req *req, struct room_row *r)
{
	int64_t id = http_param(req, 0);
	int rc = room_store_get(id, r);

	if (rc == 1 && !r->removed)
		return 1;
	room_row_release(r);
	if (rc >= 0)
		http_not_found(req, "room", id);
	return rc < 0 ? -1 : 0;
}

/* POST /rooms */
static int
create_room(struct http_req *req)
{
	json_t *body = http_body_object(req);
	struct room_row r = { 0 };
	char *where = NULL;
	int rc = -1;

	if (body == NULL || read_fields(req, body, &r, 1) != 0)
		goto out;
	r.created_at = r.updated_at = now_s();
	if (room_store_insert(&r) != 0 || publish("room.created", &r) != 0)
		goto out;
	where = xasprintf(API "/rooms/%lld", (long long)r.id);
	http_reply_at(req, 201, room_to_json(&r), where);
	rc = 0;
out:
	room_row_release(&r);
	free(where);
	return rc;
}

/* GET /rooms */
static int
list_rooms(struct http_req *req)
{
	int64_t limit, after, next;
	json_t *items;

	if (http_page(req, &limit, &after) != 0)
		return -1;
	items = json_array();
	if (room_store_list(after, limit, items, &next) != 0) {
		json_decref(items);
		return -1;
	}
	http_reply(req, 200, http_list(items, next));
	return 0;
}

/* GET /rooms/{id} */
static int
get_room(struct http_req *req)
{
	struct room_row r;
	int rc = load(req, &r);

	if (rc <= 0)
		return rc;
	http_reply(req, 200, room_to_json(&r));
	room_row_release(&r);
	return 0;
}

/* PATCH /rooms/{id}: a new price applies to bookings made from now on. */
static int
patch_room(struct http_req *req)
{
	json_t *body = http_body_object(req);
	struct room_row r;
	int rc;

	if (body == NULL)
		return -1;
	rc = load(req, &r);
	if (rc <= 0)
		return rc;
	rc = -1;
	if (read_fields(req, body, &r, 0) != 0)
		goto out;
	r.updated_at = now_s();
	if (room_store_update(&r) != 0 || publish("room.updated", &r) != 0)
		goto out;
	http_reply(req, 200, room_to_json(&r));
	rc = 0;
out:
	room_row_release(&r);
	return rc;
}

/*
 * DELETE /rooms/{id}: the room is removed (kept for history); room.removed
 * makes the reservation module cancel its live bookings, with refunds.
 */
static int
delete_room(struct http_req *req)
{
	struct room_row r;
	int rc = load(req, &r);

	if (rc <= 0)
		return rc;
	r.removed = 1;
	rc = room_store_remove(r.id) == 0 && publish("room.removed", &r) == 0 ?
	    0 : -1;
	if (rc == 0)
		http_reply(req, 200, json_pack("{s:I, s:s}", "id", (json_int_t)r.id,
		    "status", "removed"));
	room_row_release(&r);
	return rc;
}

/* One interval of the availability answer. */
static void
add_interval(json_t *items, int64_t from, int64_t to, const char *status)
{
	json_t *j;

	if (to <= from)
		return;
	j = json_object();
	jput_time(j, "starts_at", from);
	jput_time(j, "ends_at", to);
	jput_str(j, "status", status);
	json_array_append_new(items, j);
}

/* GET /rooms/{id}/availability?from=&to=: free and taken intervals. */
static int
availability(struct http_req *req)
{
	const char *from_s = http_query(req, "from"), *to_s = http_query(req, "to");
	int64_t from = 0, to = 0, at;
	struct room_row r;
	json_t *taken, *items, *pair;
	size_t i;
	int rc;

	if (from_s == NULL || to_s == NULL || time_parse_rfc3339(from_s, &from) ||
	    time_parse_rfc3339(to_s, &to) || to <= from || to - from > MAX_RANGE_S) {
		http_problem_invalid(req, json_pack("[{s:s, s:s}]", "field", "from",
		    "message", "from and to are RFC 3339 times, from < to, at most"
		    " 62 days apart"));
		return -1;
	}
	rc = load(req, &r);
	if (rc <= 0)
		return rc;
	room_row_release(&r);
	taken = json_array();
	if (room_store_taken(http_param(req, 0), from, to, taken) != 0) {
		json_decref(taken);
		return -1;
	}
	items = json_array();
	at = from;
	json_array_foreach(taken, i, pair) {
		int64_t s = json_integer_value(json_array_get(pair, 0));
		int64_t e = json_integer_value(json_array_get(pair, 1));

		add_interval(items, at, s, "free");
		add_interval(items, s, e, "taken");
		at = e > at ? e : at;
	}
	add_interval(items, at, to, "free");
	json_decref(taken);
	http_reply(req, 200, http_list(items, 0));
	return 0;
}

static const struct http_route routes[] = {
	{ EVHTTP_REQ_POST, API "/rooms", create_room, ACCESS_ADMIN },
	{ EVHTTP_REQ_GET, API "/rooms", list_rooms, ACCESS_PUBLIC },
	{ EVHTTP_REQ_GET, API "/rooms/{id}", get_room, ACCESS_PUBLIC },
	{ EVHTTP_REQ_PATCH, API "/rooms/{id}", patch_room, ACCESS_ADMIN },
	{ EVHTTP_REQ_DELETE, API "/rooms/{id}", delete_room, ACCESS_ADMIN },
	{ EVHTTP_REQ_GET, API "/rooms/{id}/availability", availability,
	    ACCESS_PUBLIC },
};

void
room_http_init(struct app *app)
{
	http_add_routes(app, routes, (int)(sizeof routes / sizeof routes[0]));
}
