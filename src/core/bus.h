/*
 * bus.h - the in-process event bus over the SQLite outbox.
 *
 * bus_publish() appends an event inside the caller's unit of work, so a
 * state change and its event commit together or not at all. bus_dispatch()
 * (called by the batch, inside the same transaction, after the commands)
 * hands every event past a consumer's cursor to that consumer, in id order,
 * each delivery in its own savepoint; the cursors are written at the end of
 * the dispatch, in the same transaction, so a handler's effect and its
 * cursor advance commit together: exactly once, and after a crash the next
 * start simply resumes from the cursors. If bus_dispatch fails, the caller
 * must roll the whole transaction back (and bus_reload).
 *
 * A handler that fails is rolled back and retried with exponential backoff;
 * that consumer waits (its order is kept) while the others go on. After
 * max_attempts the event is written to bus_dead_letter, the cursor moves
 * past it, and `bus.dead_lettered` is published so the saga that owns it
 * can compensate.
 */
#ifndef STUDIOD_BUS_H
#define STUDIOD_BUS_H

#include <stdint.h>
#include <jansson.h>

struct db;
struct event_base;

struct bus_event {
	int64_t id;
	const char *type;
	const char *correlation_id;
	json_t *payload;            /* borrowed; valid during the handler */
	int64_t created_at_ms;
};

/* 0 on success; -1 rolls the delivery back and schedules a retry. */
typedef int (*bus_handler)(const struct bus_event *ev, void *arg);

struct bus_route {
	const char *type;           /* exact event type */
	bus_handler fn;
	/*
	 * Optional: 0 when this consumer has nothing to do with ev (a room
	 * booking for the class module, a free booking for the payment
	 * module). Called before the delivery's savepoint, so the common "not
	 * mine" costs no SQL; it must only look at ev and memory.
	 */
	int (*wants)(const struct bus_event *ev, void *arg);
};

#define BUS_DEAD_LETTERED "bus.dead_lettered"

struct bus;

struct bus *bus_new(struct db *db, struct event_base *base, int max_attempts,
    int retry_base_ms);
void bus_free(struct bus *bus);

/*
 * Register consumer `name` with its routes (terminated by { NULL, NULL }).
 * The routes array must outlive the bus. Before bus_start only.
 */
void bus_subscribe(struct bus *bus, const char *name,
    const struct bus_route *routes, void *arg);
/* Load (or create) every consumer's cursor. Call once, outside a transaction. */
int bus_start(struct bus *bus);
/* Called when a retry falls due, so the owner can run a dispatch. */
void bus_set_wakeup(struct bus *bus, void (*fn)(void *), void *arg);

/*
 * Append an event to the outbox inside the open transaction. Steals payload.
 * Returns the new event id, or -1.
 */
int64_t bus_publish(struct bus *bus, const char *type,
    const char *correlation_id, json_t *payload);

/*
 * Deliver everything deliverable, until nothing is left (handlers publish
 * more as they go). Inside an open transaction. Returns the number of
 * deliveries made, or -1 if the database failed.
 */
int bus_dispatch(struct bus *bus);
/* After the batch's transaction was rolled back: re-read the cursors. */
int bus_reload(struct bus *bus);

/* Events not yet passed by every consumer (for readiness and draining). */
int64_t bus_backlog(struct bus *bus);

#endif
