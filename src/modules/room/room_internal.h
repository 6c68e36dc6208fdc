/* room_internal.h - shared by the room module's files only. */
#ifndef STUDIOD_ROOM_INTERNAL_H
#define STUDIOD_ROOM_INTERNAL_H

#include <stdint.h>
#include <jansson.h>

struct app;

struct room_row {
	int64_t id;
	char *name;
	int64_t hourly_price;
	int requires_approval;
	int removed;
	int64_t created_at, updated_at;
};

extern struct app *room_app;

/* room_store.c */
int room_store_init(struct app *app);
void room_store_fini(void);
void room_row_release(struct room_row *r);
int room_store_get(int64_t id, struct room_row *out);       /* 1, 0, -1 */
int room_store_insert(struct room_row *r);
int room_store_update(const struct room_row *r);
int room_store_remove(int64_t id);
int room_store_list(int64_t after, int64_t limit, json_t *items, int64_t *next);
/* 1 if a held slot of the room overlaps [from, to). */
int room_store_overlaps(int64_t room_id, int64_t from, int64_t to);
int room_store_hold(int64_t reservation_id, int64_t room_id, int64_t member_id,
    int64_t from, int64_t to);                                /* 1, 0, -1 */
int room_store_release(int64_t reservation_id, int64_t *room_id);
/* Held slots of the room overlapping [from, to), in order, as
 * {"starts_at","ends_at"} pairs of Unix times. */
int room_store_taken(int64_t room_id, int64_t from, int64_t to, json_t *out);

/* room.c */
json_t *room_to_json(const struct room_row *r);
json_t *room_event_payload(const struct room_row *r);
/* The price of [from, to) at the room's hourly price, rounded up. */
int64_t room_price(const struct room_row *r, int64_t from, int64_t to);

/* room_http.c */
void room_http_init(struct app *app);

#endif
