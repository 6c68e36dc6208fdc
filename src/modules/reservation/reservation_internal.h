/* reservation_internal.h - shared by the reservation module's files only. */
#ifndef STUDIOD_RESERVATION_INTERNAL_H
#define STUDIOD_RESERVATION_INTERNAL_H

#include <stdint.h>
#include <jansson.h>

struct app;

struct res_row {
	int64_t id, class_id, member_id;
	int64_t room_id;            /* a room slot instead of a class (class_id 0) */
	int64_t starts_at, ends_at; /* the slot (rooms only) */
	char status[20];
	char reason[40];            /* "" when none */
	int64_t price, credits;
	int64_t created_at, updated_at;
	/* What was paid, from credits.* / payment.* events. */
	char payment_method[12];    /* "" (none) | credits | card */
	char payment_status[16];    /* pending | succeeded | at_desk | failed | refunded */
	int64_t payment_amount;
	char provider_ref[128];
	int64_t refunded_amount;
	char seat[17];              /* "" unless the class has a seat map */
	/* Not stored: carried by reservation.cancelled for the refund steps,
	 * and by reservation.requested for the class (join the waitlist). */
	int refund;
	int waitlist;
};

/* What this module knows of a class, from class.* events. */
struct res_class {
	int64_t class_id;
	char *title;
	int64_t starts_at, ends_at, price, credits;
	int cancelled;
	int requires_approval;
	int has_seats;
};

/* What this module knows of a room, from room.* events. */
struct res_room {
	int64_t room_id;
	char name[201];
	int64_t hourly_price;
	int requires_approval;
	int removed;
};

struct res_idem {
	int64_t reservation_id;
	unsigned char hash[32];
	int status_code;            /* 0 while the answer is not final */
	char *body;
};

extern struct app *res_app;

/* reservation_store.c */
int res_store_init(struct app *app);
void res_store_fini(void);
/* 1 found, 0 not, -1 error. */
int res_store_get(int64_t id, struct res_row *out);
/* Insert r (id set). 0, DB_CONSTRAINT (an active one exists), or -1. */
int res_store_insert(struct res_row *r);
int res_store_set_status(int64_t id, const char *status, const char *reason);
int res_store_set_amounts(int64_t id, int64_t price, int64_t credits);
/* Record the payment facts of r (method, status, amount, ref, refunded). */
int res_store_set_payment(const struct res_row *r);
/* 1 if the member has a live reservation of the class (waiting included). */
int res_store_has_active(int64_t class_id, int64_t member_id);
/* Ids of active reservations of a class, or of pending ones created before
 * `before` (class_id = 0); up to max, count returned or -1. */
int res_store_active_ids(int64_t class_id, int64_t *ids, int max);
int res_store_stale_pending(int64_t before, int64_t *ids, int max);
int res_store_roster(int64_t class_id, int64_t after, int64_t limit,
    json_t *items, int64_t *next);

int res_class_upsert(const json_t *payload);
int res_class_set_cancelled(int64_t class_id);
/* 1 found (c filled; release with res_class_release), 0 not, -1 error. */
int res_class_get(int64_t class_id, struct res_class *c);
void res_class_release(struct res_class *c);
/* The seat map of a class (from class.created): add one; is it on it. */
int res_class_seat_add(int64_t class_id, const char *seat);
int res_class_seat_exists(int64_t class_id, const char *seat);
/* Place in line of a waitlisted reservation (1 = next), or -1. */
int64_t res_store_position(const struct res_row *r);
/* Awaiting the studio since before `before`: ids (count or -1). */
int res_store_stale_awaiting(int64_t before, int64_t *ids, int max);
/* Rooms: this module's view, and a room's live bookings. */
int res_room_upsert(const json_t *payload);
int res_room_get(int64_t room_id, struct res_room *out);    /* 1, 0, -1 */
int res_store_live_room_ids(int64_t room_id, int64_t *ids, int max);
int res_member_add(int64_t member_id);
int res_member_exists(int64_t member_id);

/* 1 found, 0 not, -1 error. */
int res_idem_get(const char *caller, const char *key, struct res_idem *out);
int res_idem_insert(const char *caller, const char *key,
    const unsigned char hash[32], int64_t reservation_id);
int res_idem_finish(const char *caller, const char *key, int status,
    const char *body);

/* reservation.c */
json_t *res_to_json(const struct res_row *r);
/* Publish reservation.<requested|status> with r's full state. */
int res_publish_state(const struct res_row *r);
/* Move r to status (with reason) and publish reservation.<status>. */
int res_transition(struct res_row *r, const char *status, const char *reason);

/* reservation_http.c */
void res_http_init(struct app *app);

#endif
