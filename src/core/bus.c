/* bus.c - see bus.h. */
#include "core/bus.h"

#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "core/db.h"
#include "core/log.h"
#include "core/util.h"

struct consumer {
	char *name;
	const struct bus_route *routes;
	void *arg;
	int64_t cursor;             /* last event id passed (handled or skipped) */
	int64_t saved_cursor;       /* what bus_cursor holds in this transaction */
	/* Retry state for the event at cursor + 1, which failed. */
	int64_t failed_id;
	int attempts;
	int64_t retry_at_ms;        /* 0: not waiting */
};

struct bus {
	struct db *db;
	struct event_base *base;
	struct consumer *consumers;
	size_t nconsumers;
	int max_attempts;
	int retry_base_ms;
	struct event *retry_timer;
	void (*wakeup)(void *);
	void *wakeup_arg;
	sqlite3_stmt *insert, *select_after, *cursor_get, *cursor_add,
	    *cursor_set, *dead_letter, *count_after;
};

/* Events fetched per round; the rest come in the next round. */
#define FETCH 64

struct fetched {
	int64_t id;
	char *type;
	char *correlation_id;
	char *payload;
	int64_t created_at_ms;
};

static struct db_stmt_def *
stmt_defs(struct bus *bus, size_t *n)
{
	static struct db_stmt_def defs[7];

	defs[0] = (struct db_stmt_def){ &bus->insert, "INSERT INTO outbox"
	    "(type, correlation_id, payload, created_at) VALUES (?, ?, ?, ?)" };
	defs[1] = (struct db_stmt_def){ &bus->select_after, "SELECT id, type,"
	    " correlation_id, payload, created_at FROM outbox WHERE id > ?"
	    " ORDER BY id LIMIT 64" };
	defs[2] = (struct db_stmt_def){ &bus->cursor_get,
	    "SELECT last_id FROM bus_cursor WHERE consumer = ?" };
	defs[3] = (struct db_stmt_def){ &bus->cursor_add,
	    "INSERT INTO bus_cursor(consumer, last_id) VALUES (?, 0)" };
	defs[4] = (struct db_stmt_def){ &bus->cursor_set,
	    "UPDATE bus_cursor SET last_id = ? WHERE consumer = ?" };
	defs[5] = (struct db_stmt_def){ &bus->dead_letter, "INSERT INTO"
	    " bus_dead_letter(consumer, event_id, event_type, correlation_id,"
	    " attempts, created_at) VALUES (?, ?, ?, ?, ?, ?)" };
	defs[6] = (struct db_stmt_def){ &bus->count_after,
	    "SELECT count(*) FROM outbox WHERE id > ?" };
	*n = 7;
	return defs;
}

static void retry_due(evutil_socket_t fd, short what, void *arg);

struct bus *
bus_new(struct db *db, struct event_base *base, int max_attempts,
    int retry_base_ms)
{
	struct bus *bus = xcalloc(1, sizeof *bus);
	struct db_stmt_def *defs;
	size_t n;

	bus->db = db;
	bus->base = base;
	bus->max_attempts = max_attempts;
	bus->retry_base_ms = retry_base_ms;
	bus->retry_timer = evtimer_new(base, retry_due, bus);
	defs = stmt_defs(bus, &n);
	if (db_prepare_all(db, defs, n) != 0) {
		bus_free(bus);
		return NULL;
	}
	return bus;
}

void
bus_free(struct bus *bus)
{
	struct db_stmt_def *defs;
	size_t n;

	if (bus == NULL)
		return;
	defs = stmt_defs(bus, &n);
	db_finalize_all(defs, n);
	for (size_t i = 0; i < bus->nconsumers; i++)
		free(bus->consumers[i].name);
	free(bus->consumers);
	if (bus->retry_timer != NULL)
		event_free(bus->retry_timer);
	free(bus);
}

void
bus_subscribe(struct bus *bus, const char *name, const struct bus_route *routes,
    void *arg)
{
	struct consumer *c;

	bus->consumers = xrealloc(bus->consumers,
	    (bus->nconsumers + 1) * sizeof *bus->consumers);
	c = &bus->consumers[bus->nconsumers++];
	memset(c, 0, sizeof *c);
	c->name = xstrdup(name);
	c->routes = routes;
	c->arg = arg;
}

void
bus_set_wakeup(struct bus *bus, void (*fn)(void *), void *arg)
{
	bus->wakeup = fn;
	bus->wakeup_arg = arg;
}

static int
load_cursor(struct bus *bus, struct consumer *c)
{
	int rc;

	if (db_bind(bus->cursor_get, "t", c->name) != 0)
		return -1;
	rc = db_step(bus->db, bus->cursor_get);
	if (rc == 1)
		c->cursor = sqlite3_column_int64(bus->cursor_get, 0);
	db_reset(bus->cursor_get);
	if (rc == 0) {
		/* A new consumer starts at the beginning of the log. */
		c->cursor = 0;
		if (db_bind(bus->cursor_add, "t", c->name) != 0 ||
		    db_exec(bus->db, bus->cursor_add) != 0)
			return -1;
	}
	c->saved_cursor = c->cursor;
	return rc < 0 ? -1 : 0;
}

int
bus_start(struct bus *bus)
{
	for (size_t i = 0; i < bus->nconsumers; i++)
		if (load_cursor(bus, &bus->consumers[i]) != 0)
			return -1;
	return 0;
}

int
bus_reload(struct bus *bus)
{
	return bus_start(bus);
}

int64_t
bus_publish(struct bus *bus, const char *type, const char *correlation_id,
    json_t *payload)
{
	char *text = json_dumps(payload, JSON_COMPACT);
	int64_t id = -1;

	json_decref(payload);
	if (text == NULL)
		return -1;
	if (db_bind(bus->insert, "ttti", type, correlation_id, text, now_ms()) == 0 &&
	    db_exec(bus->db, bus->insert) == 0)
		id = db_last_insert_id(bus->db);
	free(text);
	if (id > 0)
		log_debug("event published", "event_id=%lld type=%s corr=%s",
		    (long long)id, type, correlation_id ? correlation_id : "-");
	return id;
}

static const struct bus_route *
find_route(const struct consumer *c, const char *type)
{
	for (const struct bus_route *r = c->routes; r->type != NULL; r++)
		if (strcmp(r->type, type) == 0)
			return r;
	return NULL;
}

static int
save_cursor(struct bus *bus, struct consumer *c)
{
	if (c->saved_cursor == c->cursor)
		return 0;
	if (db_bind(bus->cursor_set, "it", c->cursor, c->name) != 0 ||
	    db_exec(bus->db, bus->cursor_set) != 0)
		return -1;
	c->saved_cursor = c->cursor;
	return 0;
}

static void
arm_retry_timer(struct bus *bus)
{
	int64_t soonest = 0, now = now_ms();
	struct timeval tv;

	for (size_t i = 0; i < bus->nconsumers; i++) {
		int64_t at = bus->consumers[i].retry_at_ms;

		if (at != 0 && (soonest == 0 || at < soonest))
			soonest = at;
	}
	if (soonest == 0)
		return;
	soonest = soonest > now ? soonest - now : 0;
	tv.tv_sec = soonest / 1000;
	tv.tv_usec = (soonest % 1000) * 1000;
	evtimer_add(bus->retry_timer, &tv);
}

static void
retry_due(evutil_socket_t fd, short what, void *arg)
{
	struct bus *bus = arg;

	(void)fd;
	(void)what;
	if (bus->wakeup != NULL)
		bus->wakeup(bus->wakeup_arg);
}

/* The consumer may take events now (not waiting for a retry). */
static int
consumer_ready(const struct consumer *c, int64_t now)
{
	return c->retry_at_ms == 0 || c->retry_at_ms <= now;
}

/*
 * Record that consumer c gave up on event ev: a dead-letter row, the cursor
 * past it, and bus.dead_lettered for the saga's owner. One savepoint.
 */
static int
dead_letter(struct bus *bus, struct consumer *c, const struct bus_event *ev)
{
	json_t *payload;
	int rc = -1;

	if (db_savepoint(bus->db) != 0)
		return -1;
	if (db_bind(bus->dead_letter, "tittii", c->name, ev->id, ev->type,
	    ev->correlation_id, (int64_t)c->attempts, now_ms()) != 0)
		goto out;
	if (db_exec(bus->db, bus->dead_letter) != 0)
		goto out;
	c->cursor = ev->id;
	if (save_cursor(bus, c) != 0)
		goto out;
	/* Never answer a dead letter about a dead letter: no loops. */
	if (strcmp(ev->type, BUS_DEAD_LETTERED) != 0) {
		payload = json_pack("{s:s, s:I, s:s, s:i, s:O}", "consumer", c->name,
		    "event_id", (json_int_t)ev->id, "event_type", ev->type,
		    "attempts", c->attempts, "payload", ev->payload);
		if (payload == NULL || bus_publish(bus, BUS_DEAD_LETTERED,
		    ev->correlation_id, payload) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc == 0) {
		db_savepoint_release(bus->db);
		log_error("event dead-lettered", "consumer=%s event_id=%lld type=%s"
		    " attempts=%d", c->name, (long long)ev->id, ev->type,
		    c->attempts);
	} else {
		db_savepoint_rollback(bus->db);
	}
	return rc;
}

/*
 * Hand ev to c: handler and cursor advance in one savepoint. On failure
 * roll back and schedule a retry, or dead-letter after the last attempt.
 * Returns 1 delivered, 0 deferred, -1 if the database failed.
 */
static int
deliver(struct bus *bus, struct consumer *c, const struct bus_event *ev,
    bus_handler fn)
{
	int64_t delay, before = c->cursor;

	if (db_savepoint(bus->db) != 0)
		return -1;
	log_set_context_ref(ev->correlation_id);
	/*
	 * The cursor advances in memory here and is written once at the end of
	 * the dispatch, in the same transaction as every handler's effects: the
	 * batch commits both or neither, so the effect is still exactly once.
	 */
	if (fn(ev, c->arg) == 0) {
		db_savepoint_release(bus->db);
		c->cursor = ev->id;
		c->attempts = 0;
		c->failed_id = 0;
		c->retry_at_ms = 0;
		return 1;
	}
	db_savepoint_rollback(bus->db);
	c->cursor = before;
	if (c->failed_id != ev->id) {
		c->failed_id = ev->id;
		c->attempts = 0;
	}
	c->attempts++;
	if (c->attempts >= bus->max_attempts) {
		int rc = dead_letter(bus, c, ev);

		c->attempts = 0;
		c->failed_id = 0;
		c->retry_at_ms = 0;
		return rc == 0 ? 1 : -1;
	}
	delay = (int64_t)bus->retry_base_ms << (c->attempts - 1);
	c->retry_at_ms = now_ms() + delay;
	log_warn("event handler failed; will retry", "consumer=%s event_id=%lld"
	    " type=%s attempt=%d retry_in_ms=%lld", c->name, (long long)ev->id,
	    ev->type, c->attempts, (long long)delay);
	arm_retry_timer(bus);
	return 0;
}

static void
fetched_free(struct fetched *f, int n)
{
	for (int i = 0; i < n; i++) {
		free(f[i].type);
		free(f[i].correlation_id);
		free(f[i].payload);
	}
}

/* Read up to FETCH events after `after` into f; the count, or -1. */
static int
fetch(struct bus *bus, int64_t after, struct fetched *f)
{
	sqlite3_stmt *st = bus->select_after;
	int n = 0, rc;

	if (db_bind(st, "i", after) != 0)
		return -1;
	while (n < FETCH && (rc = db_step(bus->db, st)) == 1) {
		f[n].id = sqlite3_column_int64(st, 0);
		f[n].type = db_column_strdup(st, 1);
		f[n].correlation_id = db_column_strdup(st, 2);
		f[n].payload = db_column_strdup(st, 3);
		f[n].created_at_ms = sqlite3_column_int64(st, 4);
		n++;
	}
	db_reset(st);
	return rc < 0 && n < FETCH ? (fetched_free(f, n), -1) : n;
}

/* One event to every ready consumer whose cursor is before it. */
static int
dispatch_one(struct bus *bus, const struct fetched *f, int64_t now)
{
	struct bus_event ev = { f->id, f->type, f->correlation_id, NULL,
	    f->created_at_ms };
	json_error_t jerr;
	int delivered = 0;

	for (size_t i = 0; i < bus->nconsumers; i++) {
		struct consumer *c = &bus->consumers[i];
		const struct bus_route *route;
		int rc;

		if (c->cursor >= f->id)
			continue;
		if (!consumer_ready(c, now))
			continue;
		route = find_route(c, f->type);
		if (route == NULL) {
			c->cursor = f->id; /* saved at the end of the round */
			continue;
		}
		if (ev.payload == NULL) {
			ev.payload = json_loads(f->payload, 0, &jerr);
			if (ev.payload == NULL)
				ev.payload = json_object(); /* never happens: we wrote it */
		}
		if (route->wants != NULL && !route->wants(&ev, c->arg)) {
			c->cursor = f->id; /* nothing to do: no savepoint, no SQL */
			continue;
		}
		rc = deliver(bus, c, &ev, route->fn);
		if (rc < 0) {
			json_decref(ev.payload);
			return -1;
		}
		delivered += rc;
	}
	json_decref(ev.payload);
	return delivered;
}

int
bus_dispatch(struct bus *bus)
{
	struct fetched f[FETCH];
	int64_t now = now_ms(), from = INT64_MAX;
	int total = 0, n;

	for (size_t i = 0; i < bus->nconsumers; i++) {
		struct consumer *c = &bus->consumers[i];

		if (c->retry_at_ms != 0 && c->retry_at_ms <= now)
			c->retry_at_ms = 0; /* due: its next delivery is the retry */
		if (consumer_ready(c, now) && c->cursor < from)
			from = c->cursor;
	}
	if (from == INT64_MAX)
		goto out;
	while ((n = fetch(bus, from, f)) > 0) {
		for (int i = 0; i < n; i++) {
			int rc = dispatch_one(bus, &f[i], now);

			if (rc < 0) {
				log_set_context_ref(NULL); /* it points into f */
				fetched_free(f, n);
				return -1;
			}
			total += rc;
		}
		from = f[n - 1].id;
		log_set_context_ref(NULL); /* it points into f */
		fetched_free(f, n);
	}
	log_set_context_ref(NULL);
	if (n < 0)
		return -1;
	for (size_t i = 0; i < bus->nconsumers; i++)
		if (save_cursor(bus, &bus->consumers[i]) != 0)
			return -1;
out:
	/* A consumer may still wait for its retry (the timer can fire a little
	 * early, or two consumers may be due at different times): re-arm. */
	arm_retry_timer(bus);
	return total;
}

int64_t
bus_backlog(struct bus *bus)
{
	int64_t from = INT64_MAX, n = -1;

	for (size_t i = 0; i < bus->nconsumers; i++)
		if (bus->consumers[i].cursor < from)
			from = bus->consumers[i].cursor;
	if (from == INT64_MAX)
		return 0;
	if (db_bind(bus->count_after, "i", from) == 0 &&
	    db_step(bus->db, bus->count_after) == 1)
		n = sqlite3_column_int64(bus->count_after, 0);
	db_reset(bus->count_after);
	return n;
}
