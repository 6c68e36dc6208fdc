/* reservation_http.c - booking, reading and cancelling over HTTP. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "core/app.h"
#include "core/config.h"
#include "core/db.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/http.h"
#include "http/validate.h"
#include "modules/reservation/reservation_internal.h"

#define IDEMPOTENCY_KEY_MAX 255

/* What a waiting POST /reservations needs when its saga settles. */
struct booking_wait {
	int64_t reservation_id;
	char caller[32];
	char *key;                  /* Idempotency-Key, or NULL */
};

static const struct {
	const char *code, *title;
} refusals[] = {
	{ "class_full", "Class is full" },
	{ "already_booked", "Already booked" },
	{ "booking_closed", "Booking is closed" },
	{ "timeout", "Booking timed out" },
	{ "saga_failed", "Booking failed" },
	{ "seat_taken", "Seat taken" },
	{ "slot_taken", "Slot taken" },
	{ "insufficient_credits", "Insufficient credits" },
	{ "payment_failed", "Payment failed" },
	{ "payment_unavailable", "Payment unavailable" },
};

static const char *
refusal_title(const char *code)
{
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
		if (strcmp(refusals[i].code, code) == 0)
			return refusals[i].title;
	return "Booking rejected";
}

static char *
location_of(int64_t id)
{
	return xasprintf(API "/reservations/%lld", (long long)id);
}

/*
 * Send a final answer from a reservation's JSON (steals j): 201 confirmed,
 * 200 cancelled meanwhile, or the 409 problem named by its reason.
 */
static void
answer_final(struct http_req *req, int status, json_t *j)
{
	int64_t id = jget_int(j, "id");
	const char *reason = jget_str(j, "reason");
	char *where = location_of(id);

	if (status == 409) {
		http_problem_x(req, 409, reason ? reason : "rejected",
		    refusal_title(reason ? reason : ""),
		    json_pack("{s:I}", "reservation_id", (json_int_t)id),
		    "reservation %lld was not booked: %s", (long long)id,
		    reason ? reason : "rejected");
		json_decref(j);
	} else {
		http_reply_at(req, status, j, where);
	}
	free(where);
}

/*
 * Turn the reservation's state into the POST answer: 1 with the reply set,
 * 0 while it is still pending and time remains. A final answer is stored
 * under the Idempotency-Key, so a replay gets exactly it.
 */
static int
settle_booking(struct http_req *req, void *arg, int timed_out)
{
	struct booking_wait *w = arg;
	struct res_row r;
	int rc = res_store_get(w->reservation_id, &r), status;
	json_t *j;

	if (rc != 1) {
		(void)http_internal_error(req);
		goto done;
	}
	if (strcmp(r.status, "confirmed") == 0)
		status = 201;
	else if (strcmp(r.status, "rejected") == 0)
		status = 409;
	else if (strcmp(r.status, "cancelled") == 0)
		status = 200;
	else if (!timed_out && strcmp(r.status, "pending") == 0)
		return 0;
	else
		status = 202;
	if (status == 202) {
		/* Pending past wait_ms, in line, or awaiting the studio: not final. */
		char *where = location_of(r.id);
		json_t *body = json_pack("{s:I, s:s}", "id", (json_int_t)r.id,
		    "status", r.status);

		if (strcmp(r.status, "waitlisted") == 0)
			jput_int(body, "position", res_store_position(&r));
		http_reply_at(req, 202, body, where);
		free(where);
		goto done;
	}
	j = res_to_json(&r);
	if (w->key != NULL) {
		char *text = json_dumps(j, JSON_COMPACT);

		if (text == NULL || res_idem_finish(w->caller, w->key, status,
		    text) != 0)
			log_warn("could not store the idempotent answer",
			    "reservation_id=%lld", (long long)r.id);
		free(text);
	}
	answer_final(req, status, j);
done:
	free(w->key);
	free(w);
	return 1;
}

static int read_place(struct vctx *v, const struct res_class *c,
    struct res_row *r);

static const char *const booking_fields[] = { "class_id", "room_id",
	"starts_at", "ends_at", "member_id", "seat", "waitlist", NULL };

/* A key is 1..255 visible ASCII characters. */
static int
key_valid(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > IDEMPOTENCY_KEY_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			return 0;
	return 1;
}

/* Hash of the body's canonical form, to catch a key reused for another request. */
static void
body_hash(json_t *body, unsigned char out[32])
{
	char *canon = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);

	crypto_generichash(out, 32, (const unsigned char *)canon, strlen(canon),
	    NULL, 0);
	free(canon);
}

/* Wait for reservation id and answer; takes ownership of nothing. */
static void
wait_for(struct http_req *req, int64_t id, const char *caller, const char *key)
{
	struct booking_wait *w = xcalloc(1, sizeof *w);

	w->reservation_id = id;
	snprintf(w->caller, sizeof w->caller, "%s", caller);
	w->key = key ? xstrdup(key) : NULL;
	http_wait(req, settle_booking, w, (int)http_app(req)->cfg->wait_ms);
}

/*
 * The same key again: the first answer again (or, while the first is not
 * final, wait for the same reservation). 1 handled, 0 key not seen before,
 * -1 error (reply set).
 */
static int
replay(struct http_req *req, const char *caller, const char *key,
    const unsigned char hash[32])
{
	struct res_idem idem;
	json_t *j = NULL;
	int rc = res_idem_get(caller, key, &idem);

	if (rc <= 0)
		return rc;
	if (sodium_memcmp(idem.hash, hash, 32) != 0) {
		http_problem_invalid(req, json_pack("[{s:s, s:s}]", "field",
		    "Idempotency-Key", "message",
		    "was already used with a different request body"));
		rc = -1;
	} else if (idem.status_code != 0 && idem.body != NULL &&
	    (j = json_loads(idem.body, 0, NULL)) != NULL) {
		answer_final(req, idem.status_code, j);
	} else {
		wait_for(req, idem.reservation_id, caller, key);
	}
	free(idem.body);
	return rc;
}

/* Who the booking is for: the member, or the member an admin names. */
static int
booking_member(struct http_req *req, struct vctx *v, int64_t *member_id)
{
	const struct principal *who = http_who(req);
	int64_t named = 0;
	int rc = v_int(v, "member_id", who->role == ROLE_ADMIN ? V_REQUIRED :
	    V_OPTIONAL, 1, INT64_MAX, &named);

	if (who->role == ROLE_MEMBER) {
		if (rc == 1 && named != who->member_id)
			return http_forbidden(req);
		*member_id = who->member_id;
		return 0;
	}
	*member_id = named;
	if (rc == 1 && res_member_exists(named) == 0)
		v_error(v, "member_id", "no such member");
	return 0;
}

/* A room slot is at least this long, and at most this. */
#define MIN_SLOT_S (15 * 60)
#define MAX_SLOT_S (14 * 86400)

/*
 * A booking of a class: the class must exist; a seat or the waitlist as
 * read_place says; refused at once when it started, was cancelled, or the
 * member already holds a live booking of it. 0, or -1 on error.
 */
static int
read_class(struct vctx *v, json_t *body, int64_t class_id, struct res_row *r,
    const char **refusal)
{
	struct res_class c;
	int rc = res_class_get(class_id, &c);

	if (rc <= 0) {
		if (rc == 0)
			v_error(v, "class_id", "no such class");
		return rc;
	}
	r->class_id = class_id;
	if (json_object_get(body, "starts_at") || json_object_get(body, "ends_at"))
		v_error(v, "starts_at", "is for a room; a class has its own times");
	rc = read_place(v, &c, r);
	r->price = c.price;
	r->credits = c.credits;
	if (c.cancelled || now_s() >= c.starts_at)
		*refusal = "booking_closed";
	else if (res_store_has_active(class_id, r->member_id) == 1)
		*refusal = "already_booked";
	res_class_release(&c);
	return rc;
}

/*
 * A booking of a room slot [starts_at, ends_at): the room must exist; the
 * slot is 15 minutes to 14 days; refused at once if it has begun. Its
 * price comes with room.slot_reserved (the room module's to compute).
 */
static int
read_room(struct vctx *v, json_t *body, int64_t room_id, struct res_row *r,
    const char **refusal)
{
	struct res_room room;
	int rc = res_room_get(room_id, &room);

	if (rc < 0)
		return -1;
	if (rc == 0 || room.removed)
		v_error(v, "room_id", "no such room");
	if (json_object_get(body, "seat") || json_object_get(body, "waitlist"))
		v_error(v, "room_id", "a room has no seats and no waitlist");
	if (v_time(v, "starts_at", V_REQUIRED, &r->starts_at) == 1 &&
	    v_time(v, "ends_at", V_REQUIRED, &r->ends_at) == 1 &&
	    (r->ends_at - r->starts_at < MIN_SLOT_S ||
	    r->ends_at - r->starts_at > MAX_SLOT_S))
		v_error(v, "ends_at", "a slot is 15 minutes to 14 days long");
	r->room_id = room_id;
	if (r->starts_at != 0 && now_s() >= r->starts_at)
		*refusal = "booking_closed";
	return 0;
}

/* What is booked: a class (class_id) or a room slot (room_id). */
static int
read_target(struct vctx *v, json_t *body, struct res_row *r,
    const char **refusal)
{
	int64_t class_id = 0, room_id = 0;
	int has_class = v_int(v, "class_id", V_OPTIONAL, 1, INT64_MAX,
	    &class_id) == 1;
	int has_room = v_int(v, "room_id", V_OPTIONAL, 1, INT64_MAX,
	    &room_id) == 1;

	if (!v_ok(v))
		return 0;
	if (has_class == has_room) {
		v_error(v, "class_id", "give class_id, or room_id with starts_at and"
		    " ends_at");
		return 0;
	}
	return has_class ? read_class(v, body, class_id, r, refusal) :
	    read_room(v, body, room_id, r, refusal);
}

/*
 * POST /reservations: record `pending` + reservation.requested and wait for
 * the saga. The quick checks here give good answers early; the class and
 * room modules stay the authorities on places and slots.
 */
static int
create_reservation(struct http_req *req)
{
	json_t *body = http_body_object(req);
	const char *key = http_header(req, "Idempotency-Key");
	const char *refusal = NULL;
	struct res_row r = { 0 };
	unsigned char hash[32];
	char caller[32];
	struct vctx v;
	int rc = -1;

	if (body == NULL)
		return -1;
	v_begin(&v, body, booking_fields);
	if (key != NULL && !key_valid(key))
		v_error(&v, "Idempotency-Key", "must be 1 to %d visible ASCII "
		    "characters", IDEMPOTENCY_KEY_MAX);
	if (booking_member(req, &v, &r.member_id) != 0 ||
	    read_target(&v, body, &r, &refusal) != 0)
		goto out;
	if (!v_ok(&v)) {
		http_problem_invalid(req, v_take(&v));
		goto out;
	}
	snprintf(caller, sizeof caller, "token:%lld",
	    (long long)http_who(req)->token_id);
	if (key != NULL) {
		body_hash(body, hash);
		rc = replay(req, caller, key, hash);
		if (rc != 0) {
			rc = rc > 0 ? 0 : -1; /* answered (or waiting) from the key */
			goto out;
		}
		rc = -1;
	}
	snprintf(r.status, sizeof r.status, "%s", refusal ? "rejected" : "pending");
	snprintf(r.reason, sizeof r.reason, "%s", refusal ? refusal : "");
	r.created_at = r.updated_at = now_s();
	if (res_store_insert(&r) != 0 ||
	    (key != NULL && res_idem_insert(caller, key, hash, r.id) != 0))
		goto out;
	log_info(refusal ? "reservation refused" : "reservation requested",
	    "reservation_id=%lld class_id=%lld room_id=%lld member_id=%lld"
	    " reason=%s", (long long)r.id, (long long)r.class_id,
	    (long long)r.room_id, (long long)r.member_id, refusal ? refusal : "-");
	if (res_publish_state(&r) != 0)
		goto out;
	wait_for(req, r.id, caller, key);
	rc = 0;
out:
	v_end(&v);
	return rc;
}

/*
 * What place the booking asks for: a seat of the map (required for a seated
 * class, refused otherwise) and whether to join the waitlist when full (not
 * for seated classes: a seat is a particular place). 0, or -1 on error.
 */
static int
read_place(struct vctx *v, const struct res_class *c, struct res_row *r)
{
	const char *seat = NULL;
	int has_seat = v_string(v, "seat", V_OPTIONAL, 16, &seat) == 1, rc;

	if (v_bool(v, "waitlist", V_OPTIONAL, &r->waitlist) == 1 && r->waitlist &&
	    c->has_seats)
		v_error(v, "waitlist", "a seated class has no waitlist");
	if (!c->has_seats) {
		if (has_seat)
			v_error(v, "seat", "this class has no seat map");
		return 0;
	}
	if (!has_seat) {
		v_error(v, "seat", "is required: this class has assigned seats");
		return 0;
	}
	rc = res_class_seat_exists(c->class_id, seat);
	if (rc < 0)
		return -1;
	if (rc == 0)
		v_error(v, "seat", "is not on this class's seat map");
	snprintf(r->seat, sizeof r->seat, "%s", seat);
	return 0;
}

/* Load {id} and check the caller may see it: 0, or -1 with the reply set. */
static int
load_owned(struct http_req *req, struct res_row *r)
{
	int64_t id = http_param(req, 0);
	const struct principal *who = http_who(req);
	int rc = res_store_get(id, r);

	if (rc <= 0)
		return rc < 0 ? -1 : http_not_found(req, "reservation", id);
	if (who->role != ROLE_ADMIN && who->member_id != r->member_id)
		return http_forbidden(req);
	return 0;
}

/* GET /reservations/{id} */
static int
get_reservation(struct http_req *req)
{
	struct res_row r;

	if (load_owned(req, &r) != 0)
		return -1;
	http_reply(req, 200, res_to_json(&r));
	return 0;
}

/*
 * A cancel at least [reservation] refund_cutoff_hours before the start is
 * refunded; a later one is not (the place may go unsold). A booking still
 * pending or awaiting the studio is always refunded: it never stood.
 */
static int
refund_due(const struct res_row *r)
{
	struct res_class c;
	int64_t cutoff = res_app->cfg->refund_cutoff_hours * 3600;
	int due = 1;

	if (strcmp(r->status, "confirmed") != 0)
		return 1;
	if (r->room_id)
		return now_s() <= r->starts_at - cutoff;
	if (res_class_get(r->class_id, &c) == 1)
		due = now_s() <= c.starts_at - cutoff;
	res_class_release(&c);
	return due;
}

/* POST /reservations/{id}/cancel: idempotent; the saga releases the place. */
static int
cancel_reservation(struct http_req *req)
{
	struct res_row r;

	if (load_owned(req, &r) != 0)
		return -1;
	if (strcmp(r.status, "rejected") == 0) {
		http_problem_x(req, 409, "not_cancellable", "Not cancellable",
		    json_pack("{s:I}", "reservation_id", (json_int_t)r.id),
		    "reservation %lld was rejected (%s); there is nothing to cancel",
		    (long long)r.id, r.reason);
		return 0;
	}
	if (strcmp(r.status, "cancelled") != 0) {
		r.refund = refund_due(&r);
		if (res_transition(&r, "cancelled", http_is_admin(req) ? "admin" :
		    "member") != 0)
			return -1;
	}
	http_reply(req, 200, res_to_json(&r));
	return 0;
}

/* GET /classes/{id}/reservations: the roster, for the studio. */
static int
class_roster(struct http_req *req)
{
	int64_t limit, after, next;
	json_t *items;

	struct res_class c;
	int found;

	if (http_page(req, &limit, &after) != 0)
		return -1;
	found = res_class_get(http_param(req, 0), &c);
	res_class_release(&c);
	if (found <= 0)
		return found < 0 ? -1 : http_not_found(req, "class", http_param(req, 0));
	items = json_array();
	if (res_store_roster(http_param(req, 0), after, limit, items, &next) != 0) {
		json_decref(items);
		return -1;
	}
	http_reply(req, 200, http_list(items, next));
	return 0;
}

/* POST /reservations/{id}/approve and /decline: the studio decides. */
static int
decide(struct http_req *req, int approve)
{
	struct res_row r;

	if (load_owned(req, &r) != 0)
		return -1;
	if (strcmp(r.status, "awaiting_approval") != 0) {
		http_problem_x(req, 409, "not_awaiting_approval",
		    "Not awaiting approval", json_pack("{s:I, s:s}",
		    "reservation_id", (json_int_t)r.id, "reservation_status", r.status),
		    "reservation %lld is %s", (long long)r.id, r.status);
		return 0;
	}
	if (res_transition(&r, approve ? "confirmed" : "rejected",
	    approve ? NULL : "declined") != 0)
		return -1;
	http_reply(req, 200, res_to_json(&r));
	return 0;
}

static int
approve_reservation(struct http_req *req)
{
	return decide(req, 1);
}

static int
decline_reservation(struct http_req *req)
{
	return decide(req, 0);
}

static const struct http_route routes[] = {
	{ EVHTTP_REQ_POST, API "/reservations", create_reservation, ACCESS_USER },
	{ EVHTTP_REQ_GET, API "/reservations/{id}", get_reservation, ACCESS_USER },
	{ EVHTTP_REQ_POST, API "/reservations/{id}/cancel", cancel_reservation,
	    ACCESS_USER },
	{ EVHTTP_REQ_POST, API "/reservations/{id}/approve", approve_reservation,
	    ACCESS_ADMIN },
	{ EVHTTP_REQ_POST, API "/reservations/{id}/decline", decline_reservation,
	    ACCESS_ADMIN },
	{ EVHTTP_REQ_GET, API "/classes/{id}/reservations", class_roster,
	    ACCESS_ADMIN },
};

void
res_http_init(struct app *app)
{
	http_add_routes(app, routes, (int)(sizeof routes / sizeof routes[0]));
}
