/* room.c - the room module: lifecycle, JSON, and its saga steps. */
#include "modules/room/room.h"

#include <string.h>

#include "core/bus.h"
#include "core/db.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/http.h"
#include "modules/room/room_internal.h"

struct app *room_app;

json_t *
room_to_json(const struct room_row *r)
{
	json_t *j = json_object();

	jput_int(j, "id", r->id);
	jput_str(j, "name", r->name);
	jput_int(j, "hourly_price", r->hourly_price);
	jput_bool(j, "requires_approval", r->requires_approval);
	jput_str(j, "status", r->removed ? "removed" : "active");
	jput_time(j, "created_at", r->created_at);
	jput_time(j, "updated_at", r->updated_at);
	return j;
}

json_t *
room_event_payload(const struct room_row *r)
{
	return json_pack("{s:I, s:s, s:I, s:b, s:s}", "room_id", (json_int_t)r->id,
	    "name", r->name, "hourly_price", (json_int_t)r->hourly_price,
	    "requires_approval", r->requires_approval,
	    "status", r->removed ? "removed" : "active");
}

int64_t
room_price(const struct room_row *r, int64_t from, int64_t to)
{
	/* Per second, rounded up to the minor unit: 90 minutes at 2000/h is 3000. */
	return (r->hourly_price * (to - from) + 3599) / 3600;
}

static int
refuse(const char *type, const struct bus_event *ev, int64_t rid,
    int64_t room_id)
{
	return bus_publish(room_app->bus, type, ev->correlation_id, json_pack(
	    "{s:I, s:I}", "reservation_id", (json_int_t)rid, "room_id",
	    (json_int_t)room_id)) < 0 ? -1 : 0;
}

/*
 * reservation.requested for a room: hold the slot, or say why not. The
 * handlers run one at a time in the loop, so the overlap check and the
 * hold cannot interleave with another booking's: racing bookings of
 * overlapping slots end with exactly one holding it.
 */
static int
on_requested(const struct bus_event *ev, void *arg)
{
	int64_t rid = jget_int(ev->payload, "reservation_id");
	int64_t room_id = jget_int(ev->payload, "room_id");
	int64_t member_id = jget_int(ev->payload, "member_id");
	int64_t from = jget_int(ev->payload, "starts_at");
	int64_t to = jget_int(ev->payload, "ends_at");
	struct room_row r;
	int64_t price;
	json_t *p;
	int rc;

	(void)arg;
	if (room_id == 0)
		return 0; /* a class booking */
	rc = room_store_get(room_id, &r);
	if (rc <= 0 || r.removed || now_s() >= from) {
		room_row_release(&r);
		return rc < 0 ? -1 : refuse("room.booking_closed", ev, rid, room_id);
	}
	rc = room_store_overlaps(room_id, from, to);
	if (rc != 0) {
		room_row_release(&r);
		return rc < 0 ? -1 : refuse("room.slot_taken", ev, rid, room_id);
	}
	price = room_price(&r, from, to);
	if (room_store_hold(rid, room_id, member_id, from, to) < 0) {
		room_row_release(&r);
		return -1;
	}
	p = json_pack("{s:I, s:I, s:I, s:I, s:i, s:s, s:b, s:I, s:I}",
	    "reservation_id", (json_int_t)rid, "room_id", (json_int_t)room_id,
	    "member_id", (json_int_t)member_id, "price", (json_int_t)price,
	    "credits", 0, "payment_method", price > 0 ? "card" : "none",
	    "requires_approval", r.requires_approval,
	    "starts_at", (json_int_t)from, "ends_at", (json_int_t)to);
	room_row_release(&r);
	log_info("slot held", "reservation_id=%lld room_id=%lld",
	    (long long)rid, (long long)room_id);
	return bus_publish(room_app->bus, "room.slot_reserved", ev->correlation_id,
	    p) < 0 ? -1 : 0;
}

/* reservation.rejected / .cancelled: free the slot, if one was held. */
static int
on_ended(const struct bus_event *ev, void *arg)
{
	int64_t rid = jget_int(ev->payload, "reservation_id"), room_id = 0;
	int rc;

	(void)arg;
	if (jget_int(ev->payload, "room_id") == 0)
		return 0;
	rc = room_store_release(rid, &room_id);
	if (rc <= 0)
		return rc;
	return bus_publish(room_app->bus, "room.slot_released", ev->correlation_id,
	    json_pack("{s:I, s:I}", "reservation_id", (json_int_t)rid,
	    "room_id", (json_int_t)room_id)) < 0 ? -1 : 0;
}

/* The booking is of a room slot (not a class). */
static int
wants(const struct bus_event *ev, void *arg)
{
	(void)arg;
	return jget_int(ev->payload, "room_id") != 0;
}

static const struct bus_route routes[] = {
	{ "reservation.requested", on_requested, wants },
	{ "reservation.rejected", on_ended, wants },
	{ "reservation.cancelled", on_ended, wants },
	{ NULL, NULL, NULL },
};

static int
room_init(struct app *app)
{
	room_app = app;
	if (room_store_init(app) != 0)
		return -1;
	room_http_init(app);
	bus_subscribe(app->bus, "room", routes, NULL);
	return 0;
}

static void
room_fini(struct app *app)
{
	(void)app;
	room_store_fini();
}

const struct module room_module = {
	.name = "room",
	.init = room_init,
	.fini = room_fini,
};
