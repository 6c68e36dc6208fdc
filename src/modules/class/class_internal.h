/* class_internal.h - shared by the class module's files only. */
#ifndef STUDIOD_CLASS_INTERNAL_H
#define STUDIOD_CLASS_INTERNAL_H

#include <stdint.h>
#include <jansson.h>

struct app;
struct bus_event;
struct http_req;

struct class_row {
	int64_t id;
	char *title;
	char *instructor;           /* may be NULL */
	int64_t starts_at, ends_at;
	int64_t capacity, booked;
	int64_t price, credits;
	int requires_approval;
	int cancelled;
	int has_seats;              /* the places are the seats of class_seats */
	int64_t waitlist;           /* members waiting in line */
	int64_t created_at, updated_at;
};

extern struct app *class_app;

/* class_store.c: every statement of the module. */
int class_store_init(struct app *app);
void class_store_fini(void);
void class_row_release(struct class_row *c);
/* 1 found, 0 not, -1 error. */
int class_store_get(int64_t id, struct class_row *out);
/* Insert c (its id is set). 0 or -1. */
int class_store_insert(struct class_row *c);
/* Write c's editable fields. 0 or -1. */
int class_store_update(const struct class_row *c);
int class_store_cancel(int64_t id);
/* Classes starting in [from, to) with id > after, up to limit, as JSON. */
int class_store_list(int64_t from, int64_t to, int64_t after, int64_t limit,
    json_t *items, int64_t *next);
/* Bumped by every write to classes or places: what was read before is stale. */
uint64_t class_store_generation(void);
/* Hold a place (seat may be NULL): 1 held, 0 already held for this
 * reservation, -1 error. */
int class_store_hold(int64_t reservation_id, int64_t class_id,
    int64_t member_id, const char *seat);
/* Seats: add to the map; is it on the map / held (1, 0, -1); the map with
 * each seat's state into items; mark a reservation's place confirmed. */
int class_store_add_seat(int64_t class_id, const char *seat);
int class_store_seat_exists(int64_t class_id, const char *seat);
int class_store_seat_held(int64_t class_id, const char *seat);
int class_store_seats(int64_t class_id, json_t *items);
int class_store_take(int64_t reservation_id);
/* The waitlist: join (1, 0 already in line, -1); leave (1 with *class_id,
 * 0 not in line, -1); the first in line (1, 0 none, -1); reservations still
 * waiting for classes that start before a time (count or -1). */
int class_store_wait(int64_t reservation_id, int64_t class_id,
    int64_t member_id);
int class_store_unwait(int64_t reservation_id, int64_t *class_id);
int class_store_first_waiting(int64_t class_id, int64_t *reservation_id,
    int64_t *member_id);
int class_store_waiting_past(int64_t starts_before, int64_t *rids,
    int64_t *cids, int max);
/* Release: 1 with *class_id set, 0 if nothing was held, -1 error. */
int class_store_release(int64_t reservation_id, int64_t *class_id);
/* A read model shown with the classes changed: bump the generation. */
void class_store_touch(void);

/* class.c */
json_t *class_to_json(const struct class_row *c);
/* The facts of c for class.created / class.updated. */
json_t *class_event_payload(const struct class_row *c);

/* class_reviews.c: review_count and rating_avg, fed by review.* events. */
int class_reviews_init(struct app *app);
void class_reviews_fini(void);
/* Set "review_count" and "rating_avg" of class class_id on j. */
void class_reviews_put(json_t *j, int64_t class_id);

/* class_saga.c: holds, releases, the waitlist. Handlers of reservation.*. */
int class_on_requested(const struct bus_event *ev, void *arg);
int class_on_ended(const struct bus_event *ev, void *arg);
int class_on_confirmed(const struct bus_event *ev, void *arg);
/* The booking is of a class (not a room slot). */
int class_wants(const struct bus_event *ev, void *arg);
/* A place may be free in class_id: promote the first in line (0/-1). */
int class_promote(int64_t class_id);
void class_saga_init(struct app *app);
void class_saga_fini(struct app *app);

/* class_reviews.c: review_count and rating_avg, fed by review.* events. */
int class_reviews_init(struct app *app);
void class_reviews_fini(void);
/* Set "review_count" and "rating_avg" of class class_id on j. */
void class_reviews_put(json_t *j, int64_t class_id);

/* class_http.c */
void class_http_init(struct app *app);
void class_http_fini(void);

#endif
