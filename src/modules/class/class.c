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
	jput_int(j, "waitlist", c->waitlist);
	jput_bool(j, "seated", c->has_seats);
	class_reviews_put(j, c->id);
	jput_time(j, "created_at", c->created_at);
	jput_time(j, "updated_at", c->updated_at);
	return j;
}

json_t *
class_event_payload(const struct class_row *c)
{
	return json_pack("{s:I, s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:b, s:s, s:b}",
	    "class_id", (json_int_t)c->id, "title", c->title,
	    "instructor", c->instructor,
	    "starts_at", (json_int_t)c->starts_at, "ends_at", (json_int_t)c->ends_at,
	    "capacity", (json_int_t)c->capacity, "price", (json_int_t)c->price,
	    "credits", (json_int_t)c->credits,
	    "requires_approval", c->requires_approval,
	    "status", c->cancelled ? "cancelled" : "scheduled",
	    "has_seats", c->has_seats);
}

static const struct bus_route routes[] = {
	{ "reservation.requested", class_on_requested, class_wants },
	{ "reservation.rejected", class_on_ended, class_wants },
	{ "reservation.cancelled", class_on_ended, class_wants },
	{ "reservation.confirmed", class_on_confirmed, class_wants },
	{ NULL, NULL, NULL },
};

static int
class_init(struct app *app)
{
	class_app = app;
	if (class_store_init(app) != 0)
		return -1;
	class_http_init(app);
	class_saga_init(app);
	bus_subscribe(app->bus, "class", routes, NULL);
	return class_reviews_init(app);
}

static void
class_fini(struct app *app)
{
	class_saga_fini(app);
	class_http_fini();
	class_reviews_fini();
	class_store_fini();
}

const struct module class_module = {
	.name = "class",
	.init = class_init,
	.fini = class_fini,
};
