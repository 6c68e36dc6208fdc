/* reservation.c - the saga: event handlers, transitions and the sweeper. */
#include "modules/reservation/reservation.h"

#include <stdio.h>
#include <string.h>
#include <event2/event.h>

#include "core/batch.h"
#include "core/bus.h"
#include "core/config.h"
#include "core/db.h"
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
	return json_pack("{s:I, s:I, s:I, s:s, s:s?, s:I, s:I, s:o, s:o}",
	    "id", (json_int_t)r->id, "class_id", (json_int_t)r->class_id,
	    "member_id", (json_int_t)r->member_id, "status", r->status,
	    "reason", r->reason[0] ? r->reason : NULL,
	    "price", (json_int_t)r->price, "credits", (json_int_t)r->credits,
	    "created_at", http_time(r->created_at),
	    "updated_at", http_time(r->updated_at));
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
	struct res_class c;
	char type[48], corr[32];
	json_t *p;
	int rc = res_class_get(r->class_id, &c);

	if (rc < 0)
		return -1;
	p = json_pack("{s:I, s:I, s:I, s:s, s:s?, s:s, s:I, s:I, s:I, s:I, s:I}",
	    "reservation_id", (json_int_t)r->id, "class_id", (json_int_t)r->class_id,
	    "member_id", (json_int_t)r->member_id, "status", r->status,
	    "reason", r->reason[0] ? r->reason : NULL,
	    "class_title", rc == 1 ? c.title : "",
	    "starts_at", (json_int_t)c.starts_at, "ends_at", (json_int_t)c.ends_at,
	    "price", (json_int_t)r->price, "credits", (json_int_t)r->credits,
	    "created_at", (json_int_t)r->created_at);
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

static int64_t
payload_int(const json_t *p, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(p, key));
}

/* Load the saga's reservation if it is still pending: 1, 0 (not), -1. */
static int
load_pending(const json_t *payload, struct res_row *r)
{
	int rc = res_store_get(payload_int(payload, "reservation_id"), r);

	if (rc <= 0)
		return rc;
	return strcmp(r->status, "pending") == 0;
}

static int
on_capacity_reserved(const struct bus_event *ev, void *arg)
{
	struct res_row r;
	int rc = load_pending(ev->payload, &r);

	(void)arg;
	if (rc <= 0)
		return rc; /* cancelled meanwhile: the class releases it */
	r.price = payload_int(ev->payload, "price");
	r.credits = payload_int(ev->payload, "credits");
	if (res_store_set_amounts(r.id, r.price, r.credits) != 0)
		return -1;
	return res_transition(&r, "confirmed", NULL);
}

static int
on_refused(const struct bus_event *ev, void *arg)
{
	struct res_row r;
	int rc = load_pending(ev->payload, &r);

	(void)arg;
	if (rc <= 0)
		return rc;
	return res_transition(&r, "rejected", strcmp(ev->type, "class.full") == 0 ?
	    "class_full" : "booking_closed");
}

static int
on_class_changed(const struct bus_event *ev, void *arg)
{
	(void)arg;
	return res_class_upsert(ev->payload);
}

/* class.cancelled: cancel every active booking of it, each through the saga. */
static int
on_class_cancelled(const struct bus_event *ev, void *arg)
{
	int64_t class_id = payload_int(ev->payload, "class_id");
	int64_t ids[CANCEL_CHUNK];
	int n;

	(void)arg;
	if (res_class_set_cancelled(class_id) != 0)
		return -1;
	do {
		n = res_store_active_ids(class_id, ids, CANCEL_CHUNK);
		for (int i = 0; i < n; i++) {
			struct res_row r;

			if (res_store_get(ids[i], &r) != 1 ||
			    res_transition(&r, "cancelled", "class_cancelled") != 0)
				return -1;
		}
	} while (n == CANCEL_CHUNK);
	return n < 0 ? -1 : 0;
}

static int
on_member_created(const struct bus_event *ev, void *arg)
{
	(void)arg;
	return res_member_add(payload_int(ev->payload, "member_id"));
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
	{ "class.created", on_class_changed },
	{ "class.updated", on_class_changed },
	{ "class.cancelled", on_class_cancelled },
	{ "class.capacity_reserved", on_capacity_reserved },
	{ "class.full", on_refused },
	{ "class.booking_closed", on_refused },
	{ "member.created", on_member_created },
	{ BUS_DEAD_LETTERED, on_dead_letter },
	{ NULL, NULL },
};

/*
 * The sweeper: a saga still pending after pending_timeout_s is rejected
 * ("timeout"). It runs as a unit of work of its own in the batch.
 */
static struct {
	struct batch_item item;
	struct event *timer;
} sweeper;

static int
sweep_run(struct batch_item *item)
{
	int64_t ids[64], before = now_s() - res_app->cfg->pending_timeout_s;
	int n = res_store_stale_pending(before, ids, 64);

	(void)item;
	for (int i = 0; i < n; i++) {
		struct res_row r;

		if (res_store_get(ids[i], &r) != 1 ||
		    res_transition(&r, "rejected", "timeout") != 0)
			return -1;
		log_warn("saga timed out; rejected", "reservation_id=%lld",
		    (long long)r.id);
	}
	return n < 0 ? -1 : 0;
}

static int
sweep_settle(struct batch_item *item)
{
	(void)item;
	return 1;
}

static void
sweep_deliver(struct batch_item *item, int committed)
{
	(void)item;
	(void)committed;
}

static const struct batch_item_ops sweep_ops = {
	.run = sweep_run, .settle = sweep_settle, .deliver = sweep_deliver,
};

static void
on_sweep_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (!sweeper.item.queued)
		batch_submit(res_app->batch, &sweeper.item);
}

static int
reservation_init(struct app *app)
{
	int64_t every = app->cfg->pending_timeout_s < 60 ?
	    app->cfg->pending_timeout_s : 60;
	struct timeval tv = { (time_t)every, 0 };

	res_app = app;
	if (res_store_init(app) != 0)
		return -1;
	res_http_init(app);
	bus_subscribe(app->bus, "reservation", routes, NULL);
	sweeper.item.ops = &sweep_ops;
	sweeper.timer = event_new(app->base, -1, EV_PERSIST, on_sweep_timer, NULL);
	event_add(sweeper.timer, &tv);
	return 0;
}

static void
reservation_fini(struct app *app)
{
	if (sweeper.item.queued)
		batch_forget(app->batch, &sweeper.item);
	if (sweeper.timer != NULL)
		event_free(sweeper.timer);
	sweeper.timer = NULL;
	res_store_fini();
}

const struct module reservation_module = {
	.name = "reservation",
	.init = reservation_init,
	.fini = reservation_fini,
};
