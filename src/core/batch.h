/*
 * batch.h - group commit: the unit-of-work runner.
 *
 * Work submitted during one turn of the event loop runs together, right
 * after the loop has handed out that turn's I/O:
 *
 *   BEGIN IMMEDIATE
 *     for each new item:   SAVEPOINT; item->run(); RELEASE (or ROLLBACK TO)
 *     bus_dispatch()       saga steps and projections, a savepoint each
 *     for each item:       settle() - build the reply, or keep waiting
 *   COMMIT                 one fsync for all of it
 *   for each settled item: deliver(committed)  - replies leave only now
 *
 * A failed unit rolls back alone; a failed COMMIT rolls everything back and
 * every item of the batch is delivered with committed = 0 (the HTTP layer
 * answers 503), so nothing is acknowledged that is not on disk.
 */
#ifndef STUDIOD_BATCH_H
#define STUDIOD_BATCH_H

#include <sys/queue.h>

struct db;
struct bus;
struct event_base;
struct batch_item;

struct batch_item_ops {
	/* The command, inside its own savepoint: 0 keeps it, -1 rolls it back. */
	int (*run)(struct batch_item *item);
	/* After dispatch: 1 when its outcome is ready, 0 to wait for a later batch. */
	int (*settle)(struct batch_item *item);
	/* After COMMIT (committed = 1) or a failed one (0). Must not touch the db. */
	void (*deliver)(struct batch_item *item, int committed);
};

struct batch_item {
	const struct batch_item_ops *ops;
	TAILQ_ENTRY(batch_item) link;
	int ran;            /* run() has been called (in a committed batch or this one) */
	int in_this_batch;  /* run() was called in the batch now flushing */
	int queued;         /* on a list of the batch */
};

struct batch_stats {
	unsigned long long batches, items, commits_failed;
};

struct batch;

/*
 * max_units caps the new units of one transaction (1 = a commit per
 * request, i.e. no group commit); the rest go in the next one.
 */
struct batch *batch_new(struct event_base *base, struct db *db, struct bus *bus,
    int max_units);
void batch_free(struct batch *b);

/* Queue an item: run, settle and deliver follow in the next flush. */
void batch_submit(struct batch *b, struct batch_item *item);
/* A waiting item wants settle() again (a timer fired). */
void batch_wake(struct batch *b, struct batch_item *item);
/* Take an item off every list (its owner is going away). */
void batch_forget(struct batch *b, struct batch_item *item);
/* Schedule a flush even with no items: there may be events to dispatch. */
void batch_kick(struct batch *b);
/* Run a flush now (tests, shutdown). */
void batch_flush(struct batch *b);
/*
 * Call fn(arg) after every successful COMMIT (at most 4 hooks): work that
 * must leave the process (a payment provider call) starts only once the
 * job that describes it is on disk.
 */
void batch_on_commit(struct batch *b, void (*fn)(void *), void *arg);
/*
 * A periodic unit of work (a sweeper): fn(arg) runs in its own savepoint
 * of a batch every `seconds`, and once as soon as the loop runs; it returns
 * 0, or -1 to roll its work back. Stop it before the batch is freed.
 */
struct batch_every;
struct batch_every *batch_every(struct batch *b, struct event_base *base,
    int seconds, int (*fn)(void *arg), void *arg);
void batch_every_stop(struct batch *b, struct batch_every *t); /* NULL: no-op */

/* Deliver every item still queued or waiting as failed (shutdown). */
void batch_abandon(struct batch *b);
/* Items still waiting for their outcome. */
int batch_waiting(const struct batch *b);
const struct batch_stats *batch_stats(const struct batch *b);

/*
 * Test builds only: when set, the next flush commits its commands without
 * dispatching, then the process kills itself (SIGKILL) - a crash between
 * "event committed" and "event dispatched".
 */
void batch_arm_crash_before_dispatch(struct batch *b);

#endif
