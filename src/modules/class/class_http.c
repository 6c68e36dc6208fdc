/* class_http.c - the class module's routes. */
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "core/bus.h"
#include "core/log.h"
#include "core/util.h"
#include "http/http.h"
#include "http/validate.h"
#include "modules/class/class_internal.h"

#define MAX_CAPACITY 100000
#define MAX_PRICE 100000000     /* minor units */
#define MAX_CREDITS 1000
#define MAX_SEATS 2000
#define MAX_SEAT_NAME 16

static const char *const fields[] = { "title", "instructor", "starts_at",
	"ends_at", "capacity", "price", "credits", "requires_approval", "seats",
	NULL };

/*
 * The seat map of a new class: 1..MAX_SEATS distinct names of 1..16
 * visible ASCII characters ("A1", "balcony-3"). Returns the array
 * (borrowed) or NULL with the error recorded; *present says it was given.
 */
static json_t *
read_seats(struct vctx *v, json_t *body, int *present)
{
	json_t *seats = json_object_get(body, "seats"), *seat;
	size_t i, j;

	*present = seats != NULL;
	if (seats == NULL)
		return NULL;
	if (!json_is_array(seats) || json_array_size(seats) == 0 ||
	    json_array_size(seats) > MAX_SEATS) {
		v_error(v, "seats", "must be an array of 1 to %d seat names",
		    MAX_SEATS);
		return NULL;
	}
	json_array_foreach(seats, i, seat) {
		const char *name = json_string_value(seat);
		size_t n = name ? strlen(name) : 0;

		if (n == 0 || n > MAX_SEAT_NAME ||
		    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_.") != n) {
			v_error(v, "seats", "seat %zu must be 1 to %d letters, digits,"
			    " '-', '_' or '.'", i + 1, MAX_SEAT_NAME);
			return NULL;
		}
		for (j = 0; j < i; j++)
			if (strcmp(name, json_string_value(json_array_get(seats, j)))
			    == 0) {
				v_error(v, "seats", "seat %s is listed twice", name);
				return NULL;
			}
	}
	return seats;
}

/*
 * Read the body's fields into c (required ones only when creating), then the
 * rules between fields. Strings in c are fresh copies. 0, or -1 with the
 * reply set.
 */
static int
read_fields(struct http_req *req, json_t *body, struct class_row *c,
    int creating)
{
	const char *title = NULL, *instructor = c->instructor;
	int64_t capacity = c->capacity;
	struct vctx v;
	json_t *seats;
	int has_capacity, has_seats;

	v_begin(&v, body, fields);
	v_string(&v, "title", creating ? V_REQUIRED : V_OPTIONAL, 200, &title);
	v_string_or_null(&v, "instructor", 200, &instructor);
	v_time(&v, "starts_at", creating ? V_REQUIRED : V_OPTIONAL, &c->starts_at);
	v_time(&v, "ends_at", creating ? V_REQUIRED : V_OPTIONAL, &c->ends_at);
	has_capacity = v_int(&v, "capacity", V_OPTIONAL, 1, MAX_CAPACITY,
	    &capacity) == 1;
	v_int(&v, "price", V_OPTIONAL, 0, MAX_PRICE, &c->price);
	v_int(&v, "credits", V_OPTIONAL, 0, MAX_CREDITS, &c->credits);
	v_bool(&v, "requires_approval", V_OPTIONAL, &c->requires_approval);
	seats = read_seats(&v, body, &has_seats);
	if (has_seats && !creating)
		v_error(&v, "seats", "a seat map is set when the class is created");
	if (seats != NULL) {
		/* A seated class has exactly its seats as places. */
		if (has_capacity && capacity != (int64_t)json_array_size(seats))
			v_error(&v, "capacity", "must equal the number of seats");
		capacity = (int64_t)json_array_size(seats);
		c->has_seats = 1;
	} else if (creating && !has_capacity && !has_seats) {
		v_error(&v, "capacity", "is required (or give seats)");
	} else if (!creating && c->has_seats && has_capacity &&
	    capacity != c->capacity) {
		v_error(&v, "capacity", "of a seated class is its number of seats");
	}
	c->capacity = capacity;
	if (v_ok(&v) && c->ends_at <= c->starts_at)
		v_error(&v, "ends_at", "must be after starts_at");
	if (!v_ok(&v)) {
		http_problem_invalid(req, v_take(&v));
		return -1;
	}
	v_end(&v);
	if (title != NULL) {
		free(c->title);
		c->title = xstrdup(title);
	}
	if (instructor != c->instructor) {
		char *copy = instructor ? xstrdup(instructor) : NULL;

		free(c->instructor);
		c->instructor = copy;
	}
	return 0;
}

/* Write the seat map of new class c, as the body gives it. */
static int
add_seats(const struct class_row *c, json_t *body)
{
	json_t *seats = json_object_get(body, "seats"), *seat;
	size_t i;

	if (!c->has_seats)
		return 0;
	json_array_foreach(seats, i, seat)
		if (class_store_add_seat(c->id, json_string_value(seat)) != 0)
			return -1;
	return 0;
}

/* POST /classes */
static int
create_class(struct http_req *req)
{
	json_t *body = http_body_object(req), *payload;
	struct class_row c = { 0 };
	char *where = NULL;
	int rc = -1;

	if (body == NULL)
		return -1;
	if (read_fields(req, body, &c, 1) != 0)
		goto out;
	c.created_at = c.updated_at = now_s();
	if (class_store_insert(&c) != 0 || add_seats(&c, body) != 0)
		goto out;
	payload = class_event_payload(&c);
	if (c.has_seats)
		json_object_set(payload, "seats", json_object_get(body, "seats"));
	if (bus_publish(class_app->bus, "class.created", NULL, payload) < 0)
		goto out;
	where = xasprintf(API "/classes/%lld", (long long)c.id);
	http_reply_at(req, 201, class_to_json(&c), where);
	log_info("class created", "class_id=%lld", (long long)c.id);
	rc = 0;
out:
	class_row_release(&c);
	free(where);
	return rc;
}

/*
 * The schedule is what every visitor reads, and it changes only when this
 * module writes (a class or a place), so its pages are cached by query
 * until the next write. Reads run only between batches, never inside an
 * open transaction, so a cached page always shows committed state.
 */
#define SCHEDULE_CACHE 32

static struct {
	struct {
		char key[96];
		uint64_t generation;
		char *body;
		size_t len;
	} page[SCHEDULE_CACHE];
	unsigned next;              /* the slot replaced next (round robin) */
} schedule;

static int
schedule_cached(struct http_req *req, const char *key)
{
	uint64_t now = class_store_generation();

	for (int i = 0; i < SCHEDULE_CACHE; i++)
		if (schedule.page[i].body != NULL &&
		    schedule.page[i].generation == now &&
		    strcmp(schedule.page[i].key, key) == 0) {
			http_reply_text(req, 200, schedule.page[i].body,
			    schedule.page[i].len);
			return 1;
		}
	return 0;
}

static void
schedule_store(const char *key, json_t *page)
{
	unsigned slot = schedule.next++ % SCHEDULE_CACHE;
	char *text = json_dumps(page, JSON_COMPACT);

	if (text == NULL)
		return;
	free(schedule.page[slot].body);
	snprintf(schedule.page[slot].key, sizeof schedule.page[slot].key, "%s", key);
	schedule.page[slot].generation = class_store_generation();
	schedule.page[slot].body = text;
	schedule.page[slot].len = strlen(text);
}

void
class_http_fini(void)
{
	for (int i = 0; i < SCHEDULE_CACHE; i++) {
		free(schedule.page[i].body);
		schedule.page[i].body = NULL;
	}
}

/* GET /classes?from=&to=&limit=&after= */
static int
list_classes(struct http_req *req)
{
	const char *from_s = http_query(req, "from"), *to_s = http_query(req, "to");
	int64_t from = 0, to = INT64_MAX, limit, after, next;
	json_t *errors = json_array(), *items, *page;
	char key[96];

	if (from_s != NULL && time_parse_rfc3339(from_s, &from) != 0)
		json_array_append_new(errors, json_pack("{s:s, s:s}", "field",
		    "from", "message", "must be an RFC 3339 time with an offset"));
	if (to_s != NULL && time_parse_rfc3339(to_s, &to) != 0)
		json_array_append_new(errors, json_pack("{s:s, s:s}", "field",
		    "to", "message", "must be an RFC 3339 time with an offset"));
	if (json_array_size(errors) > 0) {
		http_problem_invalid(req, errors);
		return -1;
	}
	json_decref(errors);
	if (http_page(req, &limit, &after) != 0)
		return -1;
	snprintf(key, sizeof key, "%lld/%lld/%lld/%lld", (long long)from,
	    (long long)to, (long long)limit, (long long)after);
	if (schedule_cached(req, key))
		return 0;
	items = json_array();
	if (class_store_list(from, to, after, limit, items, &next) != 0) {
		json_decref(items);
		return -1;
	}
	page = http_list(items, next);
	schedule_store(key, page);
	http_reply(req, 200, page);
	return 0;
}

/* GET /classes/{id} */
static int
get_class(struct http_req *req)
{
	int64_t id = http_param(req, 0);
	struct class_row c;
	int rc = class_store_get(id, &c);

	if (rc <= 0)
		return rc < 0 ? -1 : http_not_found(req, "class", id);
	http_reply(req, 200, class_to_json(&c));
	class_row_release(&c);
	return 0;
}

/* PATCH /classes/{id}: any field; never below what is booked. */
static int
patch_class(struct http_req *req)
{
	int64_t id = http_param(req, 0);
	json_t *body = http_body_object(req);
	struct class_row c;
	int64_t capacity_before;
	int rc;

	if (body == NULL)
		return -1;
	rc = class_store_get(id, &c);
	if (rc <= 0)
		return rc < 0 ? -1 : http_not_found(req, "class", id);
	capacity_before = c.capacity;
	rc = -1;
	if (c.cancelled) {
		http_problem(req, 409, "class_cancelled", "Class is cancelled",
		    "a cancelled class cannot be changed");
		goto out;
	}
	if (read_fields(req, body, &c, 0) != 0)
		goto out;
	if (c.capacity < c.booked) {
		http_problem_x(req, 409, "capacity_below_booked",
		    "Capacity below booked", json_pack("{s:I}", "booked",
		    (json_int_t)c.booked), "%lld places are booked; capacity %lld "
		    "would not hold them", (long long)c.booked,
		    (long long)c.capacity);
		goto out;
	}
	c.updated_at = now_s();
	if (class_store_update(&c) != 0 ||
	    bus_publish(class_app->bus, "class.updated", NULL,
	    class_event_payload(&c)) < 0)
		goto out;
	/* More places: those waiting in line get them, first come first. */
	for (int64_t i = capacity_before; i < c.capacity && c.waitlist > 0; i++)
		if (class_promote(id) != 0)
			goto out;
	class_row_release(&c);
	if (class_store_get(id, &c) != 1)
		goto out;
	http_reply(req, 200, class_to_json(&c));
	rc = 0;
out:
	class_row_release(&c);
	return rc;
}

/*
 * DELETE /classes/{id}: the class is cancelled, not erased (members'
 * history points at it); class.cancelled makes the reservation module
 * cancel every active booking through the saga.
 */
static int
delete_class(struct http_req *req)
{
	int64_t id = http_param(req, 0);
	struct class_row c;
	int rc = class_store_get(id, &c);

	if (rc <= 0)
		return rc < 0 ? -1 : http_not_found(req, "class", id);
	if (!c.cancelled) {
		if (class_store_cancel(id) != 0 ||
		    bus_publish(class_app->bus, "class.cancelled", NULL,
		    json_pack("{s:I}", "class_id", (json_int_t)id)) < 0) {
			class_row_release(&c);
			return -1;
		}
		log_info("class cancelled", "class_id=%lld", (long long)id);
	}
	class_row_release(&c);
	http_reply(req, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id,
	    "status", "cancelled"));
	return 0;
}

/* GET /classes/{id}/seats: each seat free, held (being booked) or taken. */
static int
class_seats(struct http_req *req)
{
	int64_t id = http_param(req, 0);
	struct class_row c;
	json_t *items;
	int rc = class_store_get(id, &c);

	if (rc <= 0)
		return rc < 0 ? -1 : http_not_found(req, "class", id);
	class_row_release(&c);
	items = json_array();
	if (class_store_seats(id, items) != 0) {
		json_decref(items);
		return -1;
	}
	http_reply(req, 200, http_list(items, 0));
	return 0;
}

static const struct http_route routes[] = {
	{ EVHTTP_REQ_POST, API "/classes", create_class, ACCESS_ADMIN },
	{ EVHTTP_REQ_GET, API "/classes", list_classes, ACCESS_PUBLIC },
	{ EVHTTP_REQ_GET, API "/classes/{id}", get_class, ACCESS_PUBLIC },
	{ EVHTTP_REQ_PATCH, API "/classes/{id}", patch_class, ACCESS_ADMIN },
	{ EVHTTP_REQ_DELETE, API "/classes/{id}", delete_class, ACCESS_ADMIN },
	{ EVHTTP_REQ_GET, API "/classes/{id}/seats", class_seats, ACCESS_PUBLIC },
};

void
class_http_init(struct app *app)
{
	http_add_routes(app, routes, (int)(sizeof routes / sizeof routes[0]));
}
