/* batch.c - see batch.h. */
#include "core/batch.h"

#include <signal.h>
#include <stdlib.h>
#include <event2/event.h>

#include "core/bus.h"
#include "core/db.h"
#include "core/log.h"
#include "core/util.h"

TAILQ_HEAD(item_list, batch_item);

struct batch {
	struct db *db;
	struct bus *bus;
	struct event *flush_ev;
	struct item_list incoming;  /* submitted, not yet run */
	struct item_list waiting;   /* ran, outcome not ready */
	int kicked;
	int max_units;
	struct {
		void (*fn)(void *);
		void *arg;
	} hooks[4];
	int nhooks;
	int crash_before_dispatch;
	struct batch_stats stats;
};

static void on_flush(evutil_socket_t fd, short what, void *arg);
static void deliver_all(struct item_list *ready, int committed);

struct batch *
batch_new(struct event_base *base, struct db *db, struct bus *bus, int max_units)
{
	struct batch *b = xcalloc(1, sizeof *b);

	b->max_units = max_units > 0 ? max_units : 1;
	b->db = db;
	b->bus = bus;
	TAILQ_INIT(&b->incoming);
	TAILQ_INIT(&b->waiting);
	b->flush_ev = event_new(base, -1, 0, on_flush, b);
	return b;
}

void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	event_free(b->flush_ev);
	free(b);
}

/*
 * event_active() from inside a callback appends to the queue being run, so
 * the flush runs after every request callback of this loop turn: the batch
 * is exactly "what arrived in one turn".
 */
static void
schedule(struct batch *b)
{
	if (!event_pending(b->flush_ev, EV_TIMEOUT, NULL))
		event_active(b->flush_ev, EV_TIMEOUT, 0);
}

void
batch_submit(struct batch *b, struct batch_item *item)
{
	item->ran = 0;
	item->in_this_batch = 0;
	item->queued = 1;
	TAILQ_INSERT_TAIL(&b->incoming, item, link);
	schedule(b);
}

void
batch_wake(struct batch *b, struct batch_item *item)
{
	(void)item; /* every waiting item is settled again at each flush */
	schedule(b);
}

void
batch_forget(struct batch *b, struct batch_item *item)
{
	struct batch_item *it;

	if (!item->queued)
		return;
	TAILQ_FOREACH(it, &b->incoming, link)
		if (it == item) {
			TAILQ_REMOVE(&b->incoming, item, link);
			item->queued = 0;
			return;
		}
	TAILQ_REMOVE(&b->waiting, item, link);
	item->queued = 0;
}

void
batch_kick(struct batch *b)
{
	b->kicked = 1;
	schedule(b);
}

void
batch_on_commit(struct batch *b, void (*fn)(void *), void *arg)
{
	if (b->nhooks == (int)(sizeof b->hooks / sizeof b->hooks[0]))
		abort(); /* a programming error: raise the limit */
	b->hooks[b->nhooks].fn = fn;
	b->hooks[b->nhooks].arg = arg;
	b->nhooks++;
}

void
batch_abandon(struct batch *b)
{
	struct item_list all;

	TAILQ_INIT(&all);
	TAILQ_CONCAT(&all, &b->incoming, link);
	TAILQ_CONCAT(&all, &b->waiting, link);
	deliver_all(&all, 0);
}

struct batch_every {
	struct batch_item item;     /* first: the batch hands this back */
	struct batch *batch;
	struct event *timer;
	int (*fn)(void *arg);
	void *arg;
};

static int
every_run(struct batch_item *item)
{
	struct batch_every *t = (struct batch_every *)item;

	return t->fn(t->arg);
}

static int
every_settle(struct batch_item *item)
{
	(void)item;
	return 1;
}

static void
every_deliver(struct batch_item *item, int committed)
{
	(void)item;
	(void)committed; /* a failed sweep simply runs again next time */
}

static const struct batch_item_ops every_ops = {
	.run = every_run, .settle = every_settle, .deliver = every_deliver,
};

static void
every_due(evutil_socket_t fd, short what, void *arg)
{
	struct batch_every *t = arg;

	(void)fd;
	(void)what;
	if (!t->item.queued)
		batch_submit(t->batch, &t->item);
}

struct batch_every *
batch_every(struct batch *b, struct event_base *base, int seconds,
    int (*fn)(void *arg), void *arg)
{
	struct batch_every *t = xcalloc(1, sizeof *t);
	struct timeval tv = { seconds, 0 };

	t->item.ops = &every_ops;
	t->batch = b;
	t->fn = fn;
	t->arg = arg;
	t->timer = event_new(base, -1, EV_PERSIST, every_due, t);
	event_add(t->timer, &tv);
	every_due(-1, 0, t);
	return t;
}

void
batch_every_stop(struct batch *b, struct batch_every *t)
{
	if (t == NULL)
		return;
	batch_forget(b, &t->item);
	event_free(t->timer);
	free(t);
}

int
batch_waiting(const struct batch *b)
{
	int n = 0;
	const struct batch_item *it;

	TAILQ_FOREACH(it, &b->waiting, link)
		n++;
	return n;
}

const struct batch_stats *
batch_stats(const struct batch *b)
{
	return &b->stats;
}

void
batch_arm_crash_before_dispatch(struct batch *b)
{
	b->crash_before_dispatch = 1;
}

/* Run one item's command in its own savepoint. */
static void
run_item(struct batch *b, struct batch_item *it)
{
	it->ran = 1;
	it->in_this_batch = 1;
	if (db_savepoint(b->db) != 0)
		return; /* settle() will report the failure it recorded */
	if (it->ops->run(it) == 0)
		db_savepoint_release(b->db);
	else
		db_savepoint_rollback(b->db);
}

/*
 * Move every item of `from` whose outcome is ready onto `ready`, the rest
 * onto the waiting list.
 */
static void
settle_all(struct batch *b, struct item_list *from, struct item_list *ready)
{
	struct batch_item *it;

	while ((it = TAILQ_FIRST(from)) != NULL) {
		TAILQ_REMOVE(from, it, link);
		if (it->ops->settle(it))
			TAILQ_INSERT_TAIL(ready, it, link);
		else
			TAILQ_INSERT_TAIL(&b->waiting, it, link);
	}
}

/* Deliver every ready item; a failed commit fails those of this batch. */
static void
deliver_all(struct item_list *ready, int committed)
{
	struct batch_item *it;

	while ((it = TAILQ_FIRST(ready)) != NULL) {
		TAILQ_REMOVE(ready, it, link);
		it->queued = 0;
		it->ops->deliver(it, committed);
	}
}

void
batch_flush(struct batch *b)
{
	struct item_list work, waiting, ready;
	struct batch_item *it;
	int committed, dispatched;

	if (TAILQ_EMPTY(&b->incoming) && TAILQ_EMPTY(&b->waiting) && !b->kicked)
		return;
	b->kicked = 0;
	TAILQ_INIT(&work);
	TAILQ_INIT(&waiting);
	TAILQ_INIT(&ready);
	for (int n = 0; n < b->max_units && !TAILQ_EMPTY(&b->incoming); n++) {
		it = TAILQ_FIRST(&b->incoming);
		TAILQ_REMOVE(&b->incoming, it, link);
		TAILQ_INSERT_TAIL(&work, it, link);
	}
	if (!TAILQ_EMPTY(&b->incoming))
		schedule(b); /* the rest: the next transaction, right after this one */
	TAILQ_CONCAT(&waiting, &b->waiting, link);
	TAILQ_FOREACH(it, &waiting, link)
		it->in_this_batch = 0;

	if (db_begin(b->db) != 0) {
		TAILQ_CONCAT(&b->waiting, &waiting, link);
		deliver_all(&work, 0);
		return;
	}
	TAILQ_FOREACH(it, &work, link)
		run_item(b, it);
#ifdef STUDIOD_TEST_HOOKS
	if (b->crash_before_dispatch) {
		log_warn("test fault: committing without dispatch, then SIGKILL", NULL);
		(void)db_commit(b->db);
		raise(SIGKILL);
	}
#endif
	/* A dispatch that failed may have left effects without their cursor
	 * advance: the whole batch must roll back, never commit. */
	dispatched = bus_dispatch(b->bus) >= 0;
	if (!dispatched)
		log_error("dispatch failed; rolling the batch back", NULL);
	settle_all(b, &work, &ready);
	settle_all(b, &waiting, &ready);

	committed = dispatched && db_commit(b->db) == 0;
	b->stats.batches++;
	if (!committed) {
		struct item_list all;

		b->stats.commits_failed++;
		log_error("batch did not commit; answering 503 to its requests", NULL);
		db_rollback(b->db);
		(void)bus_reload(b->bus);
		/* Items that began in this batch lost their work: fail them. Items
		 * from earlier batches still stand; they settle again next time. */
		TAILQ_INIT(&all);
		TAILQ_CONCAT(&all, &ready, link);
		TAILQ_CONCAT(&all, &b->waiting, link);
		while ((it = TAILQ_FIRST(&all)) != NULL) {
			TAILQ_REMOVE(&all, it, link);
			TAILQ_INSERT_TAIL(it->in_this_batch ? &ready : &b->waiting,
			    it, link);
		}
		deliver_all(&ready, 0);
		if (!TAILQ_EMPTY(&b->waiting))
			schedule(b);
		return;
	}
	TAILQ_FOREACH(it, &ready, link)
		b->stats.items++;
	deliver_all(&ready, 1);
	for (int i = 0; i < b->nhooks; i++)
		b->hooks[i].fn(b->hooks[i].arg);
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	batch_flush(arg);
}
