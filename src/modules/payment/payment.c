/* payment.c - the payment saga step, the worker that sends jobs, and the
 * units of work that record what the provider answered. */
#include "modules/payment/payment.h"

#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "core/batch.h"
#include "core/bus.h"
#include "core/config.h"
#include "core/db.h"
#include "core/json.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "http/http.h"
#include "modules/payment/payment_internal.h"

#define MAX_SENDING 32
/* A refund is money owed: it is retried for ever, at most this far apart. */
#define REFUND_MAX_DELAY_MS (3600 * 1000)

struct app *pay_app;

static struct {
	int http;                   /* [payment] provider = http */
	int64_t started_ms;         /* charges older than this may have been sent */
	int dirty;                  /* a job may be due: look after the commit */
	struct event *timer;        /* the next retry */
	struct {
		enum job_kind kind;
		int64_t id;
	} sending[MAX_SENDING];
	int nsending;
} w;

/* An answer (or a fail-fast) waiting to be recorded in a unit of work. */
struct outcome_task {
	struct batch_item item;     /* first */
	struct pay_job job;
	enum outcome outcome;
	int fail_fast;
	char ref[128];
	char error[128];
};

static int
is_sending(enum job_kind kind, int64_t id)
{
	for (int i = 0; i < w.nsending; i++)
		if (w.sending[i].kind == kind && w.sending[i].id == id)
			return 1;
	return 0;
}

static void
sending_add(enum job_kind kind, int64_t id)
{
	w.sending[w.nsending].kind = kind;
	w.sending[w.nsending].id = id;
	w.nsending++;
}

static void
sending_remove(enum job_kind kind, int64_t id)
{
	for (int i = 0; i < w.nsending; i++)
		if (w.sending[i].kind == kind && w.sending[i].id == id) {
			w.sending[i] = w.sending[--w.nsending];
			return;
		}
}

static int
publish(const char *type, int64_t reservation_id, json_t *payload)
{
	char corr[40];

	snprintf(corr, sizeof corr, "reservation:%lld", (long long)reservation_id);
	json_object_set_new(payload, "reservation_id", json_integer(reservation_id));
	return bus_publish(pay_app->bus, type, corr, payload) < 0 ? -1 : 0;
}

static int64_t
backoff_ms(int attempts, int64_t cap)
{
	int64_t d = pay_app->cfg->payment_retry_base_ms;

	for (int i = 1; i < attempts && d < cap; i++)
		d *= 2;
	return d < cap ? d : cap;
}

/*
 * No answer: a timeout, a 5xx, a refused connection, or the breaker is open.
 * A 5xx or a refused connection means nothing was charged, and a charge is
 * retried up to max_attempts, then the booking fails (payment_unavailable).
 * A timeout is different: the provider may have charged. Such a charge (or
 * one a previous run may have sent without recording the answer) is never
 * given up: after max_attempts the booking is rejected - its place is
 * released - but the charge stays pending with void_requested and the
 * worker keeps asking with the same idempotency key until the provider
 * says what happened; a charge that went through is then refunded.
 */
static int
record_transient(const struct outcome_task *t, const struct pay_job *j,
    int void_requested)
{
	int sent = !t->fail_fast;
	int attempts = j->attempts + sent;
	int timed_out = sent && strcmp(t->error, "timeout") == 0;
	int unknown = j->outcome_unknown || timed_out ||
	    (j->attempts == 0 && j->due_ms < w.started_ms);
	int64_t next = now_ms() + backoff_ms(attempts > 0 ? attempts : 1,
	    REFUND_MAX_DELAY_MS);

	w.dirty = 1;
	if (timed_out && !j->outcome_unknown && pay_charge_mark_unknown(j->id) != 0)
		return -1;
	if (void_requested) {
		/* The booking is over: ask until we know, or stop - nothing was
		 * charged, and nothing more is to be charged for it. */
		if (unknown)
			return pay_charge_retry(j->id, attempts, next, t->error);
		if (pay_charge_retry(j->id, attempts, 0, t->error) != 0)
			return -1;
		return pay_charge_set(j->id, "failed", NULL, t->error);
	}
	if (sent && attempts < pay_app->cfg->payment_max_attempts)
		return pay_charge_retry(j->id, attempts, next, t->error);
	if (!unknown) {
		if (pay_charge_retry(j->id, attempts, 0, t->error) != 0 ||
		    pay_charge_set(j->id, "failed", NULL, t->error) != 0)
			return -1;
	} else if (pay_charge_retry(j->id, attempts, next, t->error) != 0 ||
	    pay_charge_void(j->id) != 0) {
		return -1;
	} else {
		log_warn("giving up on the booking, not on the charge: it may have"
		    " gone through, and will be asked again", "reservation_id=%lld",
		    (long long)j->reservation_id);
	}
	return publish("payment.failed", j->reservation_id, json_pack(
	    "{s:s, s:I}", "reason", "payment_unavailable", "amount",
	    (json_int_t)j->amount));
}

/* Record a charge's answer (in the task's unit of work). */
static int
record_charge(const struct outcome_task *t)
{
	const struct config *cfg = pay_app->cfg;
	struct pay_job j;
	char status[16];
	int void_requested, rc = pay_charge_get(t->job.id, &j, status,
	    &void_requested);

	if (rc <= 0 || strcmp(status, "pending") != 0)
		return rc < 0 ? -1 : 0; /* recorded already */
	switch (t->outcome) {
	case OUT_SUCCEEDED:
		if (pay_charge_set(j.id, "succeeded", t->ref, NULL) != 0 ||
		    publish("payment.succeeded", j.reservation_id, json_pack(
		    "{s:I, s:I, s:s, s:s, s:s}", "payment_id", (json_int_t)j.id,
		    "amount", (json_int_t)j.amount, "currency", cfg->payment_currency,
		    "status", "succeeded", "provider_ref", t->ref)) != 0)
			return -1;
		if (void_requested) {
			/* The booking ended while the charge was in flight. */
			log_warn("charge succeeded after the booking ended; refunding",
			    "reservation_id=%lld", (long long)j.reservation_id);
			if (pay_refund_insert(j.id, j.amount) != 0)
				return -1;
			w.dirty = 1;
		}
		return 0;
	case OUT_DECLINED:
		if (pay_charge_set(j.id, "declined", t->ref[0] ? t->ref : NULL,
		    t->error) != 0)
			return -1;
		return publish("payment.failed", j.reservation_id, json_pack(
		    "{s:s, s:I}", "reason", "payment_failed", "amount",
		    (json_int_t)j.amount));
	case OUT_TRANSIENT:
		break;
	}
	return record_transient(t, &j, void_requested);
}

/* Record a refund's answer. A refund is never given up on. */
static int
record_refund(const struct outcome_task *t)
{
	struct pay_job j;
	char status[16];
	int rc = pay_refund_get(t->job.id, &j, status);

	if (rc <= 0 || strcmp(status, "pending") != 0)
		return rc < 0 ? -1 : 0;
	if (t->outcome == OUT_SUCCEEDED) {
		if (pay_refund_set(j.id, "succeeded", t->ref, NULL) != 0)
			return -1;
		return publish("payment.refunded", j.reservation_id, json_pack(
		    "{s:I, s:s}", "amount", (json_int_t)j.amount, "provider_ref",
		    t->ref));
	}
	if (t->outcome == OUT_DECLINED) {
		log_error("the provider refused a refund; settle it by hand",
		    "reservation_id=%lld error=\"%s\"", (long long)j.reservation_id,
		    t->error);
		if (pay_refund_set(j.id, "failed", NULL, t->error) != 0)
			return -1;
		return publish("payment.refund_failed", j.reservation_id, json_pack(
		    "{s:I, s:s}", "amount", (json_int_t)j.amount, "error", t->error));
	}
	w.dirty = 1;
	return pay_refund_retry(j.id, j.attempts + 1, now_ms() +
	    backoff_ms(j.attempts + 1, REFUND_MAX_DELAY_MS), t->error);
}

static int
task_run(struct batch_item *item)
{
	struct outcome_task *t = (struct outcome_task *)item;

	return t->job.kind == JOB_CHARGE ? record_charge(t) : record_refund(t);
}

static int
task_settle(struct batch_item *item)
{
	(void)item;
	return 1;
}

static void
task_deliver(struct batch_item *item, int committed)
{
	struct outcome_task *t = (struct outcome_task *)item;

	/* Not committed: the job is still pending and is simply sent again. */
	(void)committed;
	sending_remove(t->job.kind, t->job.id);
	w.dirty = 1;
	free(t);
}

static const struct batch_item_ops task_ops = {
	.run = task_run, .settle = task_settle, .deliver = task_deliver,
};

static void
submit_outcome(const struct pay_job *j, enum outcome o, const char *ref,
    const char *error, int fail_fast)
{
	struct outcome_task *t = xcalloc(1, sizeof *t);

	t->item.ops = &task_ops;
	t->job = *j;
	t->outcome = o;
	t->fail_fast = fail_fast;
	snprintf(t->ref, sizeof t->ref, "%s", ref ? ref : "");
	snprintf(t->error, sizeof t->error, "%s", error ? error : "");
	batch_submit(pay_app->batch, &t->item);
}

static void
on_provider_done(const struct pay_job *j, enum outcome o, const char *ref,
    const char *error)
{
	submit_outcome(j, o, ref, error, 0);
}

static void
arm_timer(int64_t now)
{
	int64_t next = pay_next_due(), delay;
	struct timeval tv;

	if (next <= 0)
		return;
	/* Due but held back (a half-open probe is out): look again shortly. */
	delay = next > now ? next - now : 50;
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(w.timer, &tv);
}

/* Send what is due, or fail charges fast while the breaker is open. */
static void
pump_kind(enum job_kind kind, int64_t now)
{
	int64_t ids[MAX_SENDING];
	int n = pay_due(kind, now, ids, MAX_SENDING);

	for (int i = 0; i < n && w.nsending < MAX_SENDING; i++) {
		struct pay_job j;
		char status[16];
		int void_requested, found;

		if (is_sending(kind, ids[i]))
			continue;
		found = kind == JOB_CHARGE ?
		    pay_charge_get(ids[i], &j, status, &void_requested) :
		    pay_refund_get(ids[i], &j, status);
		if (found != 1)
			continue;
		if (breaker_allows()) {
			sending_add(kind, j.id);
			provider_send(&j, on_provider_done);
		} else if (kind == JOB_CHARGE && strcmp(breaker_state(), "open") == 0) {
			sending_add(kind, j.id);
			submit_outcome(&j, OUT_TRANSIENT, NULL, "circuit breaker open", 1);
		}
	}
}

static void
pump(void)
{
	int64_t now = now_ms();

	if (!w.http || !w.dirty)
		return;
	w.dirty = 0;
	pump_kind(JOB_CHARGE, now);
	pump_kind(JOB_REFUND, now);
	arm_timer(now);
}

static void
on_commit(void *arg)
{
	(void)arg;
	pump();
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	w.dirty = 1;
	pump();
}

/* class.capacity_reserved paid by card: a charge job, or at the desk. */
static int
on_capacity_reserved(const struct bus_event *ev, void *arg)
{
	const json_t *p = ev->payload;
	const char *method = jget_str(p, "payment_method");
	int64_t rid = jget_int(p, "reservation_id");
	int64_t member = jget_int(p, "member_id");
	int64_t amount = jget_int(p, "price"), id;

	(void)arg;
	if (method == NULL || strcmp(method, "card") != 0)
		return 0;
	if (!w.http) {
		/* provider = none: the studio takes the money in person. */
		if (pay_charge_insert(rid, member, amount, "at_desk", &id) != 0)
			return -1;
		return publish("payment.succeeded", rid, json_pack(
		    "{s:I, s:I, s:s, s:s, s:n}", "payment_id", (json_int_t)id,
		    "amount", (json_int_t)amount, "currency",
		    pay_app->cfg->payment_currency, "status", "at_desk",
		    "provider_ref"));
	}
	if (!breaker_allows() && strcmp(breaker_state(), "open") == 0) {
		/* Fail fast: the place is released in this same commit. */
		if (pay_charge_insert(rid, member, amount, "failed", &id) != 0)
			return -1;
		log_info("charge failed fast: breaker open", "reservation_id=%lld",
		    (long long)rid);
		return publish("payment.failed", rid, json_pack("{s:s, s:I}",
		    "reason", "payment_unavailable", "amount", (json_int_t)amount));
	}
	if (pay_charge_insert(rid, member, amount, "pending", &id) != 0)
		return -1;
	w.dirty = 1;
	return 0;
}

/*
 * reservation.rejected, or reservation.cancelled with "refund": true: give a
 * succeeded charge back; a charge still in flight is refunded when it lands.
 */
static int
on_reservation_ended(const struct bus_event *ev, void *arg)
{
	int64_t rid = jget_int(ev->payload, "reservation_id"), id;
	char status[16];
	struct pay_job j;
	int attempts, void_requested, rc;

	(void)arg;
	if (strcmp(ev->type, "reservation.cancelled") == 0 &&
	    !json_is_true(json_object_get(ev->payload, "refund")))
		return 0;
	rc = pay_charge_of(rid, &id, status, &attempts);
	if (rc <= 0)
		return rc;
	if (strcmp(status, "pending") == 0)
		return pay_charge_void(id);
	if (strcmp(status, "succeeded") != 0)
		return 0; /* declined, failed, or at the desk: nothing to give back */
	if (pay_charge_get(id, &j, status, &void_requested) != 1 ||
	    pay_refund_insert(id, j.amount) != 0)
		return -1;
	w.dirty = 1;
	return 0;
}

/* Paid by card (or at the desk): the only bookings this module handles. */
static int
paid_by_card(const struct bus_event *ev, void *arg)
{
	const char *method = jget_str(ev->payload, "payment_method");

	(void)arg;
	return method != NULL && strcmp(method, "card") == 0;
}

static const struct bus_route routes[] = {
	{ "class.capacity_reserved", on_capacity_reserved, paid_by_card },
	{ "room.slot_reserved", on_capacity_reserved, paid_by_card },
	{ "reservation.rejected", on_reservation_ended, paid_by_card },
	{ "reservation.cancelled", on_reservation_ended, paid_by_card },
	{ NULL, NULL, NULL },
};

static json_t *
ready_detail(void)
{
	return json_pack("{s:s, s:s, s:i, s:i}", "provider",
	    pay_app->cfg->payment_provider, "breaker", breaker_state(),
	    "consecutive_failures", breaker_failures_now(),
	    "in_flight", provider_inflight());
}

/* GET /metrics: the breaker as a labelled 0/1 gauge, and its failure run. */
static void
breaker_metrics(FILE *out, void *arg)
{
	static const char *const states[] = { "closed", "open", "half_open" };
	const char *now = breaker_state();

	(void)arg;
	metrics_head(out, "studiod_payment_breaker_state", "gauge",
	    "The payment provider's circuit breaker: 1 for its current state.");
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		fprintf(out, "studiod_payment_breaker_state{state=\"%s\"} %d\n",
		    states[i], strcmp(now, states[i]) == 0);
	metrics_head(out, "studiod_payment_consecutive_failures", "gauge",
	    "Provider failures in a row (the breaker opens at breaker_failures).");
	fprintf(out, "studiod_payment_consecutive_failures %d\n",
	    breaker_failures_now());
}

static int
payment_init(struct app *app)
{
	pay_app = app;
	memset(&w, 0, sizeof w);
	w.http = strcmp(app->cfg->payment_provider, "http") == 0;
	w.started_ms = now_ms();
	w.dirty = 1; /* jobs left pending by the last run go out at start */
	if (pay_store_init(app) != 0 || provider_init(app) != 0)
		return -1;
	w.timer = evtimer_new(app->base, on_timer, NULL);
	batch_on_commit(app->batch, on_commit, NULL);
	bus_subscribe(app->bus, "payment", routes, NULL);
	http_add_ready_detail(app, "payment", ready_detail);
	metrics_add_provider(breaker_metrics, NULL);
	return 0;
}

static void
payment_fini(struct app *app)
{
	(void)app;
	if (w.timer != NULL)
		event_free(w.timer);
	w.timer = NULL;
	provider_fini();
	pay_store_fini();
}

const struct module payment_module = {
	.name = "payment",
	.init = payment_init,
	.fini = payment_fini,
};
