/* class.c - class module: lifecycle, JSON, and the saga steps it owns. */
#include "modules/class/class.h"

#include "core/bus.h"
#include "core/db.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/http.h"
#include "modules/class/class_internal.h"

struct app *class_app;

json_t *
class_to_json(const struct class_row *c)
{
	int64_t remaining = c->capacity - c->booked;
	json_t *j = json_object();

	jput_int(j, "id", c->id);
	jput_str(j, "title", c->title);
	jput_str(j, "instructor", c->instructor);
	jput_time(j, "starts_at", c->starts_at);
	jput_time(j, "ends_at", c->ends_at);
	jput_int(j, "capacity", c->capacity);
	jput_int(j, "booked", c->booked);
	jput_int(j, "remaining", c->cancelled || remaining < 0 ? 0 : remaining);
	jput_int(j, "price", c->price);
	jput_int(j, "credits", c->credits);
	jput_bool(j, "requires_approval", c->requires_approval);
	jput_str(j, "status", c->cancelled ? "cancelled" : "scheduled");
	class_reviews_put(j, c->id);
	jput_time(j, "created_at", c->created_at);
	jput_time(j, "updated_at", c->updated_at);
	return j;
}

json_t *
class_event_payload(const struct class_row *c)
{
	return json_pack("{s:I, s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:b, s:s}",
	    "class_id", (json_int_t)c->id, "title", c->title,
	    "instructor", c->instructor,
	    "starts_at", (json_int_t)c->starts_at, "ends_at", (json_int_t)c->ends_at,
	    "capacity", (json_int_t)c->capacity, "price", (json_int_t)c->price,
	    "credits", (json_int_t)c->credits,
	    "requires_approval", c->requires_approval,
	    "status", c->cancelled ? "cancelled" : "scheduled");
}

/*
 * How a place in c is paid - decided here, once, for every later step: a
 * class priced in credits takes credits (a class pack); otherwise a price
 * is charged by card; otherwise it is free.
 */
static const char *
payment_method(const struct class_row *c)
{
	if (c->credits > 0)
		return "credits";
	return c->price > 0 ? "card" : "none";
}

/*
 * reservation.requested: hold a place, or say why not. The checks repeat
 * the reservation module's quick ones on purpose: this is the authority,
 * and the class may have changed since the request was taken.
 */
static int
on_reservation_requested(const struct bus_event *ev, void *arg)
{
	int64_t rid = jget_int(ev->payload, "reservation_id");
	int64_t class_id = jget_int(ev->payload, "class_id");
	int64_t member_id = jget_int(ev->payload, "member_id");
	struct class_row c;
	const char *refusal = NULL;
	json_t *payload;
	int rc, held;

	(void)arg;
	rc = class_store_get(class_id, &c);
	if (rc < 0)
		return -1;
	if (rc == 0 || c.cancelled || now_s() >= c.starts_at)
		refusal = "class.booking_closed";
	else if (c.booked >= c.capacity)
		refusal = "class.full";
	if (refusal != NULL) {
		class_row_release(&c);
		return bus_publish(class_app->bus, refusal, ev->correlation_id,
		    json_pack("{s:I, s:I}", "reservation_id", (json_int_t)rid,
		    "class_id", (json_int_t)class_id)) < 0 ? -1 : 0;
	}
	held = class_store_hold(rid, class_id, member_id);
	if (held < 0) {
		class_row_release(&c);
		return -1;
	}
	payload = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
	    "reservation_id", (json_int_t)rid, "class_id", (json_int_t)class_id,
	    "member_id", (json_int_t)member_id, "price", (json_int_t)c.price,
	    "credits", (json_int_t)c.credits,
	    "booked", (json_int_t)(c.booked + held),
	    "payment_method", payment_method(&c));
	class_row_release(&c);
	log_info("place held", "reservation_id=%lld class_id=%lld",
	    (long long)rid, (long long)class_id);
	return bus_publish(class_app->bus, "class.capacity_reserved",
	    ev->correlation_id, payload) < 0 ? -1 : 0;
}

/* reservation.rejected / reservation.cancelled: give the place back. */
static int
on_reservation_ended(const struct bus_event *ev, void *arg)
{
	int64_t rid = jget_int(ev->payload, "reservation_id"), class_id = 0;
	int rc;

	(void)arg;
	rc = class_store_release(rid, &class_id);
	if (rc <= 0)
		return rc; /* nothing was held (e.g. rejected as full) */
	log_info("place released", "reservation_id=%lld class_id=%lld",
	    (long long)rid, (long long)class_id);
	return bus_publish(class_app->bus, "class.capacity_released",
	    ev->correlation_id, json_pack("{s:I, s:I}", "reservation_id",
	    (json_int_t)rid, "class_id", (json_int_t)class_id)) < 0 ? -1 : 0;
}

static const struct bus_route routes[] = {
	{ "reservation.requested", on_reservation_requested },
	{ "reservation.rejected", on_reservation_ended },
	{ "reservation.cancelled", on_reservation_ended },
	{ NULL, NULL },
};

static int
class_init(struct app *app)
{
	class_app = app;
	if (class_store_init(app) != 0)
		return -1;
	class_http_init(app);
	bus_subscribe(app->bus, "class", routes, NULL);
	return class_reviews_init(app);
}

static void
class_fini(struct app *app)
{
	(void)app;
	class_http_fini();
	class_reviews_fini();
	class_store_fini();
}

const struct module class_module = {
	.name = "class",
	.init = class_init,
	.fini = class_fini,
};
