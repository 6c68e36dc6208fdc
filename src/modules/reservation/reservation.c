/* reservation.c - the saga: event handlers, transitions and the sweeper. */
#include "modules/reservation/reservation.h"

#include <stdio.h>
#include <string.h>
#include <event2/event.h>

#include "core/batch.h"
#include "core/bus.h"
#include "core/config.h"
#include "core/db.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/http.h"
#include "modules/reservation/reservation_internal.h"

struct app *res_app;

/* Active reservations handled per class.cancelled round; more are rare. */
#define CANCEL_CHUNK 256

json_t *
res_to_json(const struct res_row *r)
{
	json_t *j = json_object(), *p;

	jput_int(j, "id", r->id);
	if (r->room_id) {
		jput_int(j, "room_id", r->room_id);
		jput_time(j, "starts_at", r->starts_at);
		jput_time(j, "ends_at", r->ends_at);
	} else {
		jput_int(j, "class_id", r->class_id);
	}
	jput_int(j, "member_id", r->member_id);
	jput_str(j, "status", r->status);
	jput_str(j, "reason", r->reason[0] ? r->reason : NULL);
	jput_int(j, "price", r->price);
	jput_int(j, "credits", r->credits);
	jput_time(j, "created_at", r->created_at);
	jput_time(j, "updated_at", r->updated_at);
	if (r->seat[0] != '\0')
		jput_str(j, "seat", r->seat);
	if (strcmp(r->status, "waitlisted") == 0)
		jput_int(j, "position", res_store_position(r));
	/* A free booking has no payment; credits and cards do. */
	if (r->payment_method[0] != '\0') {
		p = json_object();
		jput_str(p, "method", r->payment_method);
		jput_str(p, "status", r->payment_status[0] ? r->payment_status : NULL);
		jput_int(p, "amount", r->payment_amount);
		jput_str(p, "provider_ref", r->provider_ref[0] ? r->provider_ref : NULL);
		jput_int(p, "refunded", r->refunded_amount);
		json_object_set_new_nocheck(j, "payment", p);
	}
	return j;
}

static void
correlation(int64_t id, char buf[static 32])
{
	snprintf(buf, 32, "reservation:%lld", (long long)id);
}

/*
 * Every reservation.* event carries the whole reservation and the class
 * facts a reader needs (title, times), so projections never read back.
 */
int
res_publish_state(const struct res_row *r)
{
	struct res_class c = { 0 };
	struct res_room room;
	char type[48], corr[32];
	json_t *p;
	int rc = r->room_id ? res_room_get(r->room_id, &room) :
	    res_class_get(r->class_id, &c);

	if (rc < 0)
		return -1;
	p = json_object();
	jput_int(p, "reservation_id", r->id);
	if (r->room_id) {
		/* A room slot: the room's name stands where a class's title does. */
		jput_int(p, "room_id", r->room_id);
		jput_str(p, "class_title", rc == 1 ? room.name : "");
		jput_int(p, "starts_at", r->starts_at);
		jput_int(p, "ends_at", r->ends_at);
	} else {
		jput_int(p, "class_id", r->class_id);
		jput_str(p, "class_title", rc == 1 ? c.title : "");
		jput_int(p, "starts_at", c.starts_at);
		jput_int(p, "ends_at", c.ends_at);
	}
	jput_int(p, "member_id", r->member_id);
	jput_str(p, "status", r->status);
	jput_str(p, "reason", r->reason[0] ? r->reason : NULL);
	jput_int(p, "price", r->price);
	jput_int(p, "credits", r->credits);
	jput_int(p, "created_at", r->created_at);
	jput_str(p, "payment_method", r->payment_method[0] ? r->payment_method :
	    NULL);
	jput_bool(p, "refund", r->refund);
	if (r->seat[0] != '\0')
		jput_str(p, "seat", r->seat);
	if (r->waitlist)
		jput_bool(p, "waitlist", 1);
	if (strcmp(r->status, "waitlisted") == 0)
		jput_int(p, "position", res_store_position(r));
	if (r->payment_status[0] != '\0')
		jput_str(p, "payment_status", r->payment_status);
	res_class_release(&c);
	snprintf(type, sizeof type, "reservation.%s",
	    strcmp(r->status, "pending") == 0 ? "requested" : r->status);
	correlation(r->id, corr);
	return bus_publish(res_app->bus, type, corr, p) < 0 ? -1 : 0;
}

int
res_transition(struct res_row *r, const char *status, const char *reason)
{
	if (res_store_set_status(r->id, status, reason) != 0)
		return -1;
	snprintf(r->status, sizeof r->status, "%s", status);
	snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
	r->updated_at = now_s();
	log_info("reservation state", "reservation_id=%lld status=%s reason=%s",
	    (long long)r->id, status, reason ? reason : "-");
	return res_publish_state(r);
}

/* Load the saga's reservation if it is still pending: 1, 0 (not), -1. */
static int
load_pending(const json_t *payload, struct res_row *r)
{
	int rc = res_store_get(jget_int(payload, "reservation_id"), r);

	if (rc <= 0)
		return rc;
	return strcmp(r->status, "pending") == 0;
}

/* Pending, or waiting in line for a place: 1, 0 (neither), -1. */
static int
load_unsettled(const json_t *payload, struct res_row *r)
{
	int rc = res_store_get(jget_int(payload, "reservation_id"), r);

	if (rc <= 0)
		return rc;
	return strcmp(r->status, "pending") == 0 ||
	    strcmp(r->status, "waitlisted") == 0;
}

/*
 * Held and paid: confirmed - or, for a class that requires the studio's
 * approval, awaiting it (POST /reservations/{id}/approve or /decline).
 */
static int
held_and_paid(struct res_row *r)
{
	struct res_class c = { 0 };
	struct res_room room;
	int rc, approval;

	if (r->room_id) {
		rc = res_room_get(r->room_id, &room);
		approval = rc == 1 && room.requires_approval;
	} else {
		rc = res_class_get(r->class_id, &c);
		approval = rc == 1 && c.requires_approval;
		res_class_release(&c);
	}
	if (rc < 0)
		return -1;
	return res_transition(r, approval ? "awaiting_approval" : "confirmed",
	    NULL);
}

/*
 * class.capacity_reserved: a free place confirms at once; a paid one waits
 * for credits.debited or payment.succeeded.
 */
static int
on_capacity_reserved(const struct bus_event *ev, void *arg)
{
	const char *method = jget_str(ev->payload, "payment_method");
	struct res_row r;
	int rc = load_unsettled(ev->payload, &r);

	(void)arg;
	if (rc <= 0)
		return rc; /* cancelled meanwhile: the class releases it */
	if (strcmp(r.status, "waitlisted") == 0) {
		/* Promoted from the line: the saga goes on from here. */
		if (res_store_set_status(r.id, "pending", NULL) != 0)
			return -1;
		snprintf(r.status, sizeof r.status, "pending");
	}
	r.price = jget_int(ev->payload, "price");
	r.credits = jget_int(ev->payload, "credits");
	if (res_store_set_amounts(r.id, r.price, r.credits) != 0)
		return -1;
	if (method == NULL || strcmp(method, "none") == 0)
		return held_and_paid(&r);
	snprintf(r.payment_method, sizeof r.payment_method, "%s", method);
	snprintf(r.payment_status, sizeof r.payment_status, "pending");
	r.payment_amount = strcmp(method, "credits") == 0 ? r.credits : r.price;
	return res_store_set_payment(&r);
}

/* Load the reservation an event names: 1, 0, -1. */
static int
load_named(const struct bus_event *ev, struct res_row *r)
{
	return res_store_get(jget_int(ev->payload, "reservation_id"), r);
}

/* credits.debited / payment.succeeded: paid; a pending booking confirms. */
static int
on_paid(const struct bus_event *ev, void *arg)
{
	const char *status = jget_str(ev->payload, "status");
	const char *ref = jget_str(ev->payload, "provider_ref");
	struct res_row r;
	int rc = load_named(ev, &r);

	(void)arg;
	if (rc <= 0)
		return rc;
	snprintf(r.payment_status, sizeof r.payment_status, "%s",
	    status ? status : "succeeded");
	snprintf(r.provider_ref, sizeof r.provider_ref, "%s", ref ? ref : "");
	r.payment_amount = jget_int(ev->payload, "amount");
	if (res_store_set_payment(&r) != 0)
		return -1;
	if (strcmp(r.status, "pending") != 0)
		return 0; /* it ended meanwhile: the refund steps give it back */
	return held_and_paid(&r);
}

/* credits.insufficient / payment.failed: not paid; the booking is rejected
 * (and reservation.rejected releases the place). */
static int
on_not_paid(const struct bus_event *ev, void *arg)
{
	const char *reason = jget_str(ev->payload, "reason");
	struct res_row r;
	int rc = load_named(ev, &r);

	(void)arg;
	if (rc <= 0)
		return rc;
	snprintf(r.payment_status, sizeof r.payment_status, "failed");
	if (res_store_set_payment(&r) != 0)
		return -1;
	if (strcmp(r.status, "pending") != 0)
		return 0;
	return res_transition(&r, "rejected", strcmp(ev->type,
	    "credits.insufficient") == 0 ? "insufficient_credits" :
	    reason ? reason : "payment_failed");
}

/* payment.refund_failed: the provider refused; the studio must settle it. */
static int
on_refund_failed(const struct bus_event *ev, void *arg)
{
	struct res_row r;
	int rc = load_named(ev, &r);

	(void)arg;
	if (rc <= 0)
		return rc;
	snprintf(r.payment_status, sizeof r.payment_status, "refund_failed");
	return res_store_set_payment(&r);
}

/* credits.refunded / payment.refunded */
static int
on_refunded(const struct bus_event *ev, void *arg)
{
	struct res_row r;
	int rc = load_named(ev, &r);

	(void)arg;
	if (rc <= 0)
		return rc;
	r.refunded_amount += jget_int(ev->payload, "amount");
	snprintf(r.payment_status, sizeof r.payment_status, "refunded");
	return res_store_set_payment(&r);
}

/* class.full, class.booking_closed, class.seat_taken: not booked. */
static int
on_refused(const struct bus_event *ev, void *arg)
{
	struct res_row r;
	int rc = load_unsettled(ev->payload, &r);

	(void)arg;
	if (rc <= 0)
		return rc;
	return res_transition(&r, "rejected",
	    strcmp(ev->type, "class.full") == 0 ? "class_full" :
	    strcmp(ev->type, "class.seat_taken") == 0 ? "seat_taken" :
	    strcmp(ev->type, "room.slot_taken") == 0 ? "slot_taken" :
	    "booking_closed");
}

/* class.waitlisted: in line for the next free place. */
static int
on_waitlisted(const struct bus_event *ev, void *arg)
{
	struct res_row r;
	int rc = load_pending(ev->payload, &r);

	(void)arg;
	if (rc <= 0)
		return rc;
	return res_transition(&r, "waitlisted", NULL);
}

/* class.created / class.updated: this module's view of the class. */
static int
on_class_changed(const struct bus_event *ev, void *arg)
{
	json_t *seat;
	size_t i;

	(void)arg;
	if (res_class_upsert(ev->payload) != 0)
		return -1;
	json_array_foreach(json_object_get(ev->payload, "seats"), i, seat)
		if (res_class_seat_add(jget_int(ev->payload, "class_id"),
		    json_string_value(seat)) != 0)
			return -1;
	return 0;
}

/* class.cancelled: cancel every active booking of it, each through the saga. */
static int
on_class_cancelled(const struct bus_event *ev, void *arg)
{
	int64_t class_id = jget_int(ev->payload, "class_id");
	int64_t ids[CANCEL_CHUNK];
	int n;

	(void)arg;
	if (res_class_set_cancelled(class_id) != 0)
		return -1;
	do {
		n = res_store_active_ids(class_id, ids, CANCEL_CHUNK);
		for (int i = 0; i < n; i++) {
			struct res_row r;

			if (res_store_get(ids[i], &r) != 1)
				return -1;
			r.refund = 1; /* the studio cancelled: always refunded */
			if (res_transition(&r, "cancelled", "class_cancelled") != 0)
				return -1;
		}
	} while (n == CANCEL_CHUNK);
	return n < 0 ? -1 : 0;
}

/* room.created / room.updated: this module's view of the room. */
static int
on_room_changed(const struct bus_event *ev, void *arg)
{
	(void)arg;
	return res_room_upsert(ev->payload);
}

/* room.removed: its live bookings are cancelled, with refunds. */
static int
on_room_removed(const struct bus_event *ev, void *arg)
{
	int64_t ids[CANCEL_CHUNK];
	int n;

	(void)arg;
	if (res_room_upsert(ev->payload) != 0)
		return -1;
	do {
		n = res_store_live_room_ids(jget_int(ev->payload, "room_id"), ids,
		    CANCEL_CHUNK);
		for (int i = 0; i < n; i++) {
			struct res_row r;

			if (res_store_get(ids[i], &r) != 1)
				return -1;
			r.refund = 1;
			if (res_transition(&r, "cancelled", "room_removed") != 0)
				return -1;
		}
	} while (n == CANCEL_CHUNK);
	return n < 0 ? -1 : 0;
}

static int
on_member_created(const struct bus_event *ev, void *arg)
{
	(void)arg;
	return res_member_add(jget_int(ev->payload, "member_id"));
}

/*
 * A saga step was given up on. If its reservation has not settled, reject
 * it (the class module releases any place on reservation.rejected), so the
 * member is told and nothing hangs. A settled booking stands: a failed
 * notification does not undo a confirmed place.
 */
static int
on_dead_letter(const struct bus_event *ev, void *arg)
{
	const json_t *orig = json_object_get(ev->payload, "payload");
	struct res_row r;
	int rc;

	(void)arg;
	if (json_object_get(orig, "reservation_id") == NULL)
		return 0;
	rc = load_pending(orig, &r);
	if (rc <= 0)
		return rc;
	return res_transition(&r, "rejected", "saga_failed");
}

static const struct bus_route routes[] = {
	{ "class.created", on_class_changed, NULL },
	{ "class.updated", on_class_changed, NULL },
	{ "class.cancelled", on_class_cancelled, NULL },
	{ "class.capacity_reserved", on_capacity_reserved, NULL },
	{ "class.full", on_refused, NULL },
	{ "class.booking_closed", on_refused, NULL },
	{ "class.seat_taken", on_refused, NULL },
	{ "class.waitlisted", on_waitlisted, NULL },
	{ "room.created", on_room_changed, NULL },
	{ "room.updated", on_room_changed, NULL },
	{ "room.removed", on_room_removed, NULL },
	{ "room.slot_reserved", on_capacity_reserved, NULL },
	{ "room.slot_taken", on_refused, NULL },
	{ "room.booking_closed", on_refused, NULL },
	{ "credits.debited", on_paid, NULL },
	{ "payment.succeeded", on_paid, NULL },
	{ "credits.insufficient", on_not_paid, NULL },
	{ "payment.failed", on_not_paid, NULL },
	{ "credits.refunded", on_refunded, NULL },
	{ "payment.refunded", on_refunded, NULL },
	{ "payment.refund_failed", on_refund_failed, NULL },
	{ "member.created", on_member_created, NULL },
	{ BUS_DEAD_LETTERED, on_dead_letter, NULL },
	{ NULL, NULL, NULL },
};

/*
 * The sweeper, a periodic unit of work (batch_every): a saga still pending
 * after pending_timeout_s is rejected ("timeout"); a request the studio has
 * not decided within approval_timeout_hours is declined.
 */
static struct batch_every *sweeper;

static int
sweep(void *arg)
{
	int64_t ids[64], before = now_s() - res_app->cfg->pending_timeout_s;
	int n = res_store_stale_pending(before, ids, 64);

	(void)arg;
	for (int i = 0; i < n; i++) {
		struct res_row r;

		if (res_store_get(ids[i], &r) != 1 ||
		    res_transition(&r, "rejected", "timeout") != 0)
			return -1;
		log_warn("saga timed out; rejected", "reservation_id=%lld",
		    (long long)r.id);
	}
	if (n < 0)
		return -1;
	/* Requests the studio did not decide in time are declined. */
	before = now_s() - res_app->cfg->approval_timeout_hours * 3600;
	n = res_store_stale_awaiting(before, ids, 64);
	for (int i = 0; i < n; i++) {
		struct res_row r;

		if (res_store_get(ids[i], &r) != 1 ||
		    res_transition(&r, "rejected", "approval_timeout") != 0)
			return -1;
	}
	return n < 0 ? -1 : 0;
}

static int
reservation_init(struct app *app)
{
	int every = app->cfg->pending_timeout_s < 60 ?
	    (int)app->cfg->pending_timeout_s : 60;

	res_app = app;
	if (res_store_init(app) != 0)
		return -1;
	res_http_init(app);
	bus_subscribe(app->bus, "reservation", routes, NULL);
	sweeper = batch_every(app->batch, app->base, every, sweep, NULL);
	return 0;
}

static void
reservation_fini(struct app *app)
{
	batch_every_stop(app->batch, sweeper);
	sweeper = NULL;
	res_store_fini();
}

const struct module reservation_module = {
	.name = "reservation",
	.init = reservation_init,
	.fini = reservation_fini,
};
