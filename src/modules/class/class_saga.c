/*
 * class_saga.c - the class module's saga steps: holding a place (a seat,
 * when the class has a seat map) for reservation.requested, or saying why
 * not; giving it back on reservation.rejected / .cancelled; the waitlist
 * (first come, first served) and promoting its first member whenever a
 * place frees up; and, near the start, telling those still waiting that
 * the class is full.
 */
#include <string.h>
#include <event2/event.h>

#include "core/app.h"
#include "core/batch.h"
#include "core/bus.h"
#include "core/config.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "modules/class/class_internal.h"

/* Reservations told "full" per sweep of the waitlist cutoff. */
#define SWEEP_CHUNK 64

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

/* No more promotions: the class starts within the waitlist cutoff. */
static int
past_cutoff(const struct class_row *c)
{
	return now_s() >= c->starts_at -
	    class_app->cfg->waitlist_cutoff_minutes * 60;
}

static int
announce(const char *type, const char *corr, json_t *payload)
{
	return bus_publish(class_app->bus, type, corr, payload) < 0 ? -1 : 0;
}

static int
refuse(const char *type, const char *corr, int64_t rid, int64_t class_id)
{
	return announce(type, corr, json_pack("{s:I, s:I}", "reservation_id",
	    (json_int_t)rid, "class_id", (json_int_t)class_id));
}

/* Hold a place (seat may be NULL) and publish class.capacity_reserved. */
static int
hold(const struct class_row *c, int64_t rid, int64_t member_id,
    const char *seat, int promoted)
{
	char corr[40];
	int held = class_store_hold(rid, c->id, member_id, seat);
	json_t *p;

	if (held < 0)
		return -1;
	snprintf(corr, sizeof corr, "reservation:%lld", (long long)rid);
	p = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:b, s:b}",
	    "reservation_id", (json_int_t)rid, "class_id", (json_int_t)c->id,
	    "member_id", (json_int_t)member_id, "price", (json_int_t)c->price,
	    "credits", (json_int_t)c->credits,
	    "booked", (json_int_t)(c->booked + held),
	    "payment_method", payment_method(c),
	    "requires_approval", c->requires_approval, "promoted", promoted);
	if (seat != NULL)
		json_object_set_new(p, "seat", json_string(seat));
	log_info(promoted ? "place held for the first in line" : "place held",
	    "reservation_id=%lld class_id=%lld seat=%s", (long long)rid,
	    (long long)c->id, seat ? seat : "-");
	return announce("class.capacity_reserved", corr, p);
}

/*
 * A place is free in class_id: give it to the first member in line, unless
 * the class is cancelled, full again or starts within the cutoff.
 */
int
class_promote(int64_t class_id)
{
	struct class_row c;
	int64_t rid, member_id, unused;
	int rc = class_store_get(class_id, &c);

	if (rc <= 0)
		return rc;
	rc = 0;
	if (c.cancelled || c.has_seats || c.booked >= c.capacity ||
	    past_cutoff(&c))
		goto out;
	rc = class_store_first_waiting(class_id, &rid, &member_id);
	if (rc <= 0)
		goto out;
	rc = -1;
	if (class_store_unwait(rid, &unused) < 0)
		goto out;
	rc = hold(&c, rid, member_id, NULL, 1);
out:
	class_row_release(&c);
	return rc;
}

/*
 * reservation.requested: hold a place, or say why not. The checks repeat
 * the reservation module's quick ones on purpose: this is the authority,
 * and the class may have changed since the request was taken.
 */
int
class_on_requested(const struct bus_event *ev, void *arg)
{
	int64_t rid = jget_int(ev->payload, "reservation_id");
	int64_t class_id = jget_int(ev->payload, "class_id");
	int64_t member_id = jget_int(ev->payload, "member_id");
	const char *seat = jget_str(ev->payload, "seat");
	int waitlist = json_is_true(json_object_get(ev->payload, "waitlist"));
	const char *corr = ev->correlation_id;
	struct class_row c;
	int rc;

	(void)arg;
	if (class_id == 0)
		return 0; /* a room slot: the room module's */
	rc = class_store_get(class_id, &c);
	if (rc <= 0 || c.cancelled || now_s() >= c.starts_at) {
		rc = rc < 0 ? -1 : refuse("class.booking_closed", corr, rid, class_id);
	} else if (c.has_seats && (seat == NULL ||
	    class_store_seat_exists(class_id, seat) != 1 ||
	    class_store_seat_held(class_id, seat) != 0)) {
		rc = refuse("class.seat_taken", corr, rid, class_id);
	} else if (c.booked >= c.capacity && waitlist && !c.has_seats &&
	    !past_cutoff(&c)) {
		rc = class_store_wait(rid, class_id, member_id);
		if (rc > 0)
			rc = announce("class.waitlisted", corr, json_pack("{s:I, s:I}",
			    "reservation_id", (json_int_t)rid, "class_id",
			    (json_int_t)class_id));
	} else if (c.booked >= c.capacity) {
		rc = refuse("class.full", corr, rid, class_id);
	} else {
		rc = hold(&c, rid, member_id, c.has_seats ? seat : NULL, 0);
	}
	class_row_release(&c);
	return rc < 0 ? -1 : 0;
}

/*
 * reservation.rejected / reservation.cancelled: leave the line, or give
 * the place back - and hand it to the first in line.
 */
int
class_on_ended(const struct bus_event *ev, void *arg)
{
	int64_t rid = jget_int(ev->payload, "reservation_id"), class_id = 0;
	int rc;

	(void)arg;
	rc = class_store_unwait(rid, &class_id);
	if (rc != 0)
		return rc < 0 ? -1 : 0; /* it was waiting: no place to give back */
	rc = class_store_release(rid, &class_id);
	if (rc <= 0)
		return rc; /* nothing was held (e.g. rejected as full) */
	log_info("place released", "reservation_id=%lld class_id=%lld",
	    (long long)rid, (long long)class_id);
	if (announce("class.capacity_released", ev->correlation_id,
	    json_pack("{s:I, s:I}", "reservation_id", (json_int_t)rid,
	    "class_id", (json_int_t)class_id)) != 0)
		return -1;
	return class_promote(class_id);
}

int
class_wants(const struct bus_event *ev, void *arg)
{
	(void)arg;
	return jget_int(ev->payload, "class_id") != 0;
}

/* reservation.confirmed: the place (the seat) is taken, no longer held. */
int
class_on_confirmed(const struct bus_event *ev, void *arg)
{
	(void)arg;
	return class_store_take(jget_int(ev->payload, "reservation_id"));
}

/*
 * The waitlist cutoff, a periodic unit of work (batch_every): every member
 * still waiting for a class that starts within the cutoff is told the
 * class is full (class.full; the reservation module rejects the booking).
 */
static struct batch_every *sweeper;

static int
sweep(void *arg)
{
	int64_t rids[SWEEP_CHUNK], cids[SWEEP_CHUNK], unused;
	int64_t before = now_s() + class_app->cfg->waitlist_cutoff_minutes * 60;
	int n = class_store_waiting_past(before, rids, cids, SWEEP_CHUNK);
	char corr[40];

	(void)arg;
	for (int i = 0; i < n; i++) {
		snprintf(corr, sizeof corr, "reservation:%lld", (long long)rids[i]);
		if (class_store_unwait(rids[i], &unused) < 0 ||
		    refuse("class.full", corr, rids[i], cids[i]) != 0)
			return -1;
	}
	if (n == SWEEP_CHUNK)
		batch_kick(class_app->batch); /* more: next batch */
	return n < 0 ? -1 : 0;
}

void
class_saga_init(struct app *app)
{
	sweeper = batch_every(app->batch, app->base, 15, sweep, NULL);
}

void
class_saga_fini(struct app *app)
{
	batch_every_stop(app->batch, sweeper);
	sweeper = NULL;
}
