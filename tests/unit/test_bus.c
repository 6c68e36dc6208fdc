/*
 * test_bus.c - the outbox event bus against a fresh migrated database:
 * delivery order, exactly-once effects, rollback isolation, resuming after
 * a restart, retry with backoff, dead letters and the backlog count.
 *
 * Every test gets a temporary directory, an event_base and (through
 * fx_open) a database and a bus; teardown frees all of it. The directories
 * live under one root per test case that the parent process removes, so a
 * failed test (whose forked child skips teardown) leaves nothing behind.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ftw.h>
#include <unistd.h>
#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

#include "core/bus.h"
#include "core/db.h"
#include "core/util.h"
#include "suites.h"

struct fixture {
	char dir[96];
	char path[128];
	struct db *db;
	struct event_base *base;
	struct bus *bus;
	int woken;              /* wakeup callbacks since wait_wakeup began */
};

#define MAX_SEEN 16

/* What one consumer saw, and how its handler behaves. */
struct rec {
	/* behaviour */
	int fail_first;         /* fail this many calls, then succeed */
	int fail_always;
	int fail_poison;        /* fail events whose payload has "poison": true */
	int insert_seen;        /* write the event id into table seen */
	int publish_b;          /* on an "a" event, publish a "b" event */
	/* observations */
	int calls;              /* handler invocations, failed ones included */
	int64_t call_ms[MAX_SEEN];      /* now_ms() at each invocation */
	int n;                  /* successful deliveries recorded below */
	int64_t ids[MAX_SEEN];
	char types[MAX_SEEN][40];
	char corr[MAX_SEEN][40];
	json_t *payloads[MAX_SEEN];     /* deep copies, owned */
};

static struct fixture fx;
static char root[64];
static struct rec rec_a, rec_b, rec_c;

static int record(const struct bus_event *ev, void *arg);

static const struct bus_route routes_a[] = {
	{ "a", record, NULL }, { NULL, NULL, NULL } };
static const struct bus_route routes_b[] = {
	{ "b", record, NULL }, { NULL, NULL, NULL } };
static const struct bus_route routes_ab[] = {
	{ "a", record, NULL }, { "b", record, NULL }, { NULL, NULL, NULL } };
static const struct bus_route routes_dl[] = {
	{ BUS_DEAD_LETTERED, record, NULL }, { NULL, NULL, NULL } };

static void
rec_release(struct rec *r)
{
	for (int i = 0; i < r->n; i++)
		json_decref(r->payloads[i]);
	memset(r, 0, sizeof *r);
}

/* Insert ev's id into the scratch table seen; 0 or -1 (e.g. a duplicate). */
static int
insert_seen(int64_t id)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(fx.db->sql, "INSERT INTO seen(event_id) VALUES (?)",
	    -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * The one handler every test consumer uses; arg is its struct rec. Side
 * effects (row, published event) happen before it decides to fail, so a
 * failure shows whether they were rolled back.
 */
static int
record(const struct bus_event *ev, void *arg)
{
	struct rec *r = arg;
	int i;

	if (r->calls < MAX_SEEN)
		r->call_ms[r->calls] = now_ms();
	r->calls++;
	if (r->insert_seen && insert_seen(ev->id) != 0)
		return -1;
	if (r->publish_b && strcmp(ev->type, "a") == 0 &&
	    bus_publish(fx.bus, "b", ev->correlation_id,
	    json_pack("{s:I}", "from", (json_int_t)ev->id)) < 0)
		return -1;
	if (r->fail_always || r->calls <= r->fail_first ||
	    (r->fail_poison && json_is_true(json_object_get(ev->payload,
	    "poison"))))
		return -1;
	ck_assert_int_lt(r->n, MAX_SEEN);
	i = r->n++;
	r->ids[i] = ev->id;
	snprintf(r->types[i], sizeof r->types[i], "%s", ev->type);
	snprintf(r->corr[i], sizeof r->corr[i], "%s",
	    ev->correlation_id ? ev->correlation_id : "");
	r->payloads[i] = json_deep_copy(ev->payload);
	return 0;
}

static void
on_wakeup(void *arg)
{
	struct fixture *f = arg;

	f->woken++;
}

static void
on_guard(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/*
 * Run the event loop until the bus calls its wakeup or timeout_ms pass.
 * Returns 1 if the wakeup came.
 */
static int
wait_wakeup(int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct event *guard;
	int expired = 0;

	fx.woken = 0;
	guard = evtimer_new(fx.base, on_guard, &expired);
	ck_assert_ptr_nonnull(guard);
	evtimer_add(guard, &tv);
	while (!fx.woken && !expired)
		event_base_loop(fx.base, EVLOOP_ONCE);
	event_free(guard);
	return fx.woken > 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Open (or reopen) the database at fx.path and a bus on it; not started. */
static void
fx_open(int max_attempts, int retry_base_ms)
{
	ck_assert_int_eq(db_open(&fx.db, fx.path, "normal", 1000), 0);
	ck_assert_int_eq(db_migrate(fx.db), 0);
	ck_assert_int_eq(db_exec_sql(fx.db, "CREATE TABLE IF NOT EXISTS"
	    " seen(event_id INTEGER PRIMARY KEY)"), 0);
	fx.bus = bus_new(fx.db, fx.base, max_attempts, retry_base_ms);
	ck_assert_ptr_nonnull(fx.bus);
	bus_set_wakeup(fx.bus, on_wakeup, &fx);
}

static void
fx_start(void)
{
	ck_assert_int_eq(bus_start(fx.bus), 0);
}

/* Free the bus and close the database (a process stopping). */
static void
fx_close(void)
{
	bus_free(fx.bus);
	fx.bus = NULL;
	db_close(fx.db);
	fx.db = NULL;
}

static int
remove_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Unchecked fixture (the parent process): the root of every test's dir. */
static void
root_setup(void)
{
	snprintf(root, sizeof root, "/tmp/studiod-bus-XXXXXX");
	if (mkdtemp(root) == NULL)
		abort();
}

static void
root_teardown(void)
{
	(void)nftw(root, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void
setup(void)
{
	memset(&fx, 0, sizeof fx);
	memset(&rec_a, 0, sizeof rec_a);
	memset(&rec_b, 0, sizeof rec_b);
	memset(&rec_c, 0, sizeof rec_c);
	snprintf(fx.dir, sizeof fx.dir, "%s/t-XXXXXX", root);
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof fx.path, "%s/test.db", fx.dir);
	fx.base = event_base_new();
	ck_assert_ptr_nonnull(fx.base);
}

static void
teardown(void)
{
	char p[160];

	fx_close();
	if (fx.base != NULL)
		event_base_free(fx.base);
	fx.base = NULL;
	rec_release(&rec_a);
	rec_release(&rec_b);
	rec_release(&rec_c);
	unlink(fx.path);
	snprintf(p, sizeof p, "%s-wal", fx.path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", fx.path);
	unlink(p);
	rmdir(fx.dir);
}

/* Publish one event in its own transaction; returns its id. Steals payload. */
static int64_t
publish(const char *type, const char *corr, json_t *payload)
{
	int64_t id;

	ck_assert_int_eq(db_begin(fx.db), 0);
	id = bus_publish(fx.bus, type, corr, payload ? payload : json_object());
	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(db_commit(fx.db), 0);
	return id;
}

/* One dispatch in its own transaction, as the batch runs it. */
static int
dispatch(void)
{
	int n;

	ck_assert_int_eq(db_begin(fx.db), 0);
	n = bus_dispatch(fx.bus);
	ck_assert_int_ge(n, 0);
	ck_assert_int_eq(db_commit(fx.db), 0);
	return n;
}

/*
 * Wait for the bus's retry wakeup, then dispatch. libevent's timer may fire
 * a few milliseconds before now_ms() reaches the retry time (its coarse
 * monotonic clock); the margin keeps these tests about their own subject.
 * test_retry_timer_fires_early pins how the bus copes with an early fire.
 */
static int
retry_round(void)
{
	ck_assert_msg(wait_wakeup(5000), "no retry wakeup");
	sleep_ms(15);
	return dispatch();
}

/* A one-number query, with an optional text parameter ?1. */
static int64_t
q_int(const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	ck_assert_int_eq(sqlite3_prepare_v2(fx.db->sql, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (arg != NULL)
		ck_assert_int_eq(sqlite3_bind_text(st, 1, arg, -1,
		    SQLITE_TRANSIENT), SQLITE_OK);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		ck_abort_msg("no row for %s", sql);
	}
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int64_t
cursor_of(const char *consumer)
{
	return q_int("SELECT last_id FROM bus_cursor WHERE consumer = ?",
	    consumer);
}

static int64_t
count_rows(const char *table_sql)
{
	return q_int(table_sql, NULL);
}

/* (1) Events reach a consumer in id order, skipping types it ignores. */
START_TEST(test_order)
{
	int64_t id[5];

	fx_open(5, 10);
	bus_subscribe(fx.bus, "ordered", routes_ab, &rec_a);
	fx_start();
	ck_assert_int_eq(db_begin(fx.db), 0);
	id[0] = bus_publish(fx.bus, "a", "c1", json_pack("{s:i}", "n", 1));
	id[1] = bus_publish(fx.bus, "b", "c2", json_pack("{s:i}", "n", 2));
	id[2] = bus_publish(fx.bus, "other", NULL, json_pack("{s:i}", "n", 3));
	id[3] = bus_publish(fx.bus, "a", NULL, json_pack("{s:i}", "n", 4));
	ck_assert_int_eq(db_commit(fx.db), 0);
	id[4] = publish("b", "c5", json_pack("{s:i}", "n", 5));
	for (int i = 0; i < 4; i++)
		ck_assert_int_lt(id[i], id[i + 1]);

	ck_assert_int_eq(dispatch(), 4);
	ck_assert_int_eq(rec_a.n, 4);
	ck_assert_int_eq(rec_a.ids[0], id[0]);
	ck_assert_int_eq(rec_a.ids[1], id[1]);
	ck_assert_int_eq(rec_a.ids[2], id[3]);
	ck_assert_int_eq(rec_a.ids[3], id[4]);
	ck_assert_str_eq(rec_a.types[0], "a");
	ck_assert_str_eq(rec_a.types[1], "b");
	ck_assert_str_eq(rec_a.types[2], "a");
	ck_assert_str_eq(rec_a.types[3], "b");
	ck_assert_str_eq(rec_a.corr[0], "c1");
	ck_assert_str_eq(rec_a.corr[2], "");
	ck_assert_int_eq(json_integer_value(json_object_get(rec_a.payloads[0],
	    "n")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(rec_a.payloads[2],
	    "n")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(rec_a.payloads[3],
	    "n")), 5);
	ck_assert_int_eq(cursor_of("ordered"), id[4]);
	/* Nothing is delivered twice. */
	ck_assert_int_eq(dispatch(), 0);
	ck_assert_int_eq(rec_a.n, 4);
}
END_TEST

/* (1) An event published by a handler is delivered in the same dispatch. */
/* A route's wants(): only events whose payload has "mine": true. */
static int
wants_mine(const struct bus_event *ev, void *arg)
{
	(void)arg;
	return json_is_true(json_object_get(ev->payload, "mine"));
}

static const struct bus_route routes_filtered[] = {
	{ "a", record, wants_mine }, { NULL, NULL, NULL } };

START_TEST(test_wants_filters_before_delivery)
{
	int64_t skip, take, last;

	fx_open(5, 10);
	bus_subscribe(fx.bus, "picky", routes_filtered, &rec_a);
	fx_start();
	skip = publish("a", NULL, json_pack("{s:b}", "mine", 0));
	take = publish("a", NULL, json_pack("{s:b}", "mine", 1));
	last = publish("a", NULL, json_pack("{s:i}", "n", 3));
	ck_assert_int_lt(skip, take);
	/* One delivery: the handler never saw the other two... */
	ck_assert_int_eq(dispatch(), 1);
	ck_assert_int_eq(rec_a.calls, 1);
	ck_assert_int_eq(rec_a.n, 1);
	ck_assert_int_eq(rec_a.ids[0], take);
	/* ...and the cursor is past all three: nothing waits, nothing repeats. */
	ck_assert_int_eq(cursor_of("picky"), last);
	ck_assert_int_eq(dispatch(), 0);
	ck_assert_int_eq(rec_a.calls, 1);
}
END_TEST

START_TEST(test_publish_in_handler)
{
	int64_t id;

	fx_open(5, 10);
	rec_a.publish_b = 1;
	bus_subscribe(fx.bus, "chain", routes_ab, &rec_a);
	bus_subscribe(fx.bus, "listener", routes_b, &rec_b);
	fx_start();
	id = publish("a", "saga-1", NULL);

	/* chain: a, then the b it published; listener: that b. */
	ck_assert_int_eq(dispatch(), 3);
	ck_assert_int_eq(rec_a.n, 2);
	ck_assert_int_eq(rec_a.ids[0], id);
	ck_assert_str_eq(rec_a.types[0], "a");
	ck_assert_int_gt(rec_a.ids[1], id);
	ck_assert_str_eq(rec_a.types[1], "b");
	ck_assert_int_eq(rec_b.n, 1);
	ck_assert_int_eq(rec_b.ids[0], rec_a.ids[1]);
	ck_assert_str_eq(rec_b.corr[0], "saga-1");
	ck_assert_int_eq(json_integer_value(json_object_get(rec_b.payloads[0],
	    "from")), id);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM outbox"), 2);
	ck_assert_int_eq(cursor_of("chain"), rec_a.ids[1]);
	ck_assert_int_eq(cursor_of("listener"), rec_a.ids[1]);
	ck_assert_int_eq(bus_backlog(fx.bus), 0);
	ck_assert_int_eq(dispatch(), 0);
}
END_TEST

/* (2) A handler's effect happens once per event, and the cursor says so. */
START_TEST(test_exactly_once)
{
	int64_t last = 0;

	fx_open(5, 10);
	rec_a.insert_seen = 1;
	bus_subscribe(fx.bus, "writer", routes_a, &rec_a);
	fx_start();
	for (int i = 0; i < 3; i++)
		last = publish("a", NULL, NULL);

	ck_assert_int_eq(dispatch(), 3);
	ck_assert_int_eq(dispatch(), 0);
	ck_assert_int_eq(rec_a.calls, 3);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM seen"), 3);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM seen"
	    " WHERE event_id IN (SELECT id FROM outbox)"), 3);
	ck_assert_int_eq(cursor_of("writer"), last);

	last = publish("a", NULL, NULL);
	ck_assert_int_eq(dispatch(), 1);
	ck_assert_int_eq(dispatch(), 0);
	ck_assert_int_eq(rec_a.calls, 4);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM seen"), 4);
	ck_assert_int_eq(cursor_of("writer"), last);
}
END_TEST

/* (2) A dispatch whose transaction rolls back is redone after bus_reload. */
START_TEST(test_rollback_then_reload)
{
	int64_t last;

	fx_open(5, 10);
	rec_a.insert_seen = 1;
	bus_subscribe(fx.bus, "writer", routes_a, &rec_a);
	fx_start();
	publish("a", NULL, NULL);
	last = publish("a", NULL, NULL);

	ck_assert_int_eq(db_begin(fx.db), 0);
	ck_assert_int_eq(bus_dispatch(fx.bus), 2);
	db_rollback(fx.db);
	ck_assert_int_eq(bus_reload(fx.bus), 0);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM seen"), 0);
	ck_assert_int_eq(cursor_of("writer"), 0);
	ck_assert_int_eq(bus_backlog(fx.bus), 2);

	ck_assert_int_eq(dispatch(), 2);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM seen"), 2);
	ck_assert_int_eq(cursor_of("writer"), last);
	ck_assert_int_eq(rec_a.calls, 4);
}
END_TEST

/* (3) A failing handler leaves no trace: no row, no event, no cursor move. */
START_TEST(test_failed_handler_rolled_back)
{
	int64_t id;

	fx_open(5, 60000);      /* no retry falls due during the test */
	rec_a.insert_seen = 1;
	rec_a.publish_b = 1;
	rec_a.fail_always = 1;
	bus_subscribe(fx.bus, "writer", routes_a, &rec_a);
	fx_start();
	id = publish("a", NULL, NULL);

	ck_assert_int_eq(dispatch(), 0);
	ck_assert_int_eq(rec_a.calls, 1);
	ck_assert_int_eq(rec_a.n, 0);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM seen"), 0);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM outbox"), 1);
	ck_assert_int_eq(count_rows("SELECT max(id) FROM outbox"), id);
	ck_assert_int_eq(cursor_of("writer"), 0);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM bus_dead_letter"), 0);
	ck_assert_int_eq(bus_backlog(fx.bus), 1);
	/* Waiting for its retry: not called again yet. */
	ck_assert_int_eq(dispatch(), 0);
	ck_assert_int_eq(rec_a.calls, 1);
}
END_TEST

/* (4) After a restart every consumer resumes from its cursor. */
START_TEST(test_resume_after_reopen)
{
	int64_t e1, e2, e3;

	fx_open(5, 10);
	rec_a.insert_seen = 1;
	bus_subscribe(fx.bus, "writer", routes_a, &rec_a);
	fx_start();
	e1 = publish("a", NULL, NULL);
	ck_assert_int_eq(dispatch(), 1);
	ck_assert_int_eq(rec_a.n, 1);
	/* Committed but never dispatched: the crash window. */
	e2 = publish("a", NULL, NULL);
	e3 = publish("a", NULL, NULL);
	fx_close();
	rec_release(&rec_a);

	fx_open(5, 10);
	rec_a.insert_seen = 1;
	bus_subscribe(fx.bus, "writer", routes_a, &rec_a);
	bus_subscribe(fx.bus, "newcomer", routes_a, &rec_b);
	fx_start();
	ck_assert_int_eq(cursor_of("writer"), e1);
	ck_assert_int_eq(cursor_of("newcomer"), 0);
	ck_assert_int_eq(bus_backlog(fx.bus), 3);      /* newcomer has all */

	ck_assert_int_eq(dispatch(), 5);
	/* writer: only what it had not handled, each once. */
	ck_assert_int_eq(rec_a.calls, 2);
	ck_assert_int_eq(rec_a.n, 2);
	ck_assert_int_eq(rec_a.ids[0], e2);
	ck_assert_int_eq(rec_a.ids[1], e3);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM seen"), 3);
	/* A new consumer starts at the beginning of the log. */
	ck_assert_int_eq(rec_b.n, 3);
	ck_assert_int_eq(rec_b.ids[0], e1);
	ck_assert_int_eq(rec_b.ids[2], e3);
	ck_assert_int_eq(cursor_of("writer"), e3);
	ck_assert_int_eq(cursor_of("newcomer"), e3);
	ck_assert_int_eq(dispatch(), 0);
	ck_assert_int_eq(bus_backlog(fx.bus), 0);

	/* And once more across a restart with nothing new. */
	fx_close();
	rec_release(&rec_a);
	rec_release(&rec_b);
	fx_open(5, 10);
	bus_subscribe(fx.bus, "writer", routes_a, &rec_a);
	bus_subscribe(fx.bus, "newcomer", routes_a, &rec_b);
	fx_start();
	ck_assert_int_eq(bus_backlog(fx.bus), 0);
	ck_assert_int_eq(dispatch(), 0);
	ck_assert_int_eq(rec_a.calls + rec_b.calls, 0);
}
END_TEST

/*
 * (5) A handler fails twice, then succeeds: it is retried only when its
 * backoff (base, then 2 * base) has passed, in order, and the other
 * consumer is not held up meanwhile.
 */
START_TEST(test_retry_then_success)
{
	const int base = 200;
	int64_t e1, e2, t0;

	fx_open(5, base);
	rec_a.fail_first = 2;
	bus_subscribe(fx.bus, "flaky", routes_a, &rec_a);
	bus_subscribe(fx.bus, "steady", routes_a, &rec_b);
	fx_start();

	t0 = now_ms();
	e1 = publish("a", NULL, NULL);
	ck_assert_int_eq(dispatch(), 1);                /* steady only */
	ck_assert_int_eq(rec_a.calls, 1);
	ck_assert_int_eq(rec_a.n, 0);
	ck_assert_int_eq(rec_b.n, 1);
	/* Before the retry is due: steady goes on, flaky is not called. */
	e2 = publish("a", NULL, NULL);
	ck_assert_int_eq(dispatch(), 1);
	ck_assert_int_lt(now_ms() - t0, base);  /* else the test machine is too slow */
	ck_assert_int_eq(rec_a.calls, 1);
	ck_assert_int_eq(rec_b.n, 2);
	ck_assert_int_eq(rec_b.ids[1], e2);
	ck_assert_int_eq(cursor_of("steady"), e2);
	ck_assert_int_eq(cursor_of("flaky"), 0);
	ck_assert_int_eq(bus_backlog(fx.bus), 2);

	/* The timer calls the wakeup when the first backoff has passed. */
	ck_assert_int_eq(retry_round(), 0);             /* second failure */
	ck_assert_int_eq(rec_a.calls, 2);
	ck_assert_int_ge(rec_a.call_ms[1] - rec_a.call_ms[0], base);
	ck_assert_int_eq(dispatch(), 0);                /* not due again yet */
	ck_assert_int_eq(rec_a.calls, 2);

	/* The second backoff is twice the first. */
	ck_assert_int_eq(retry_round(), 2);
	ck_assert_int_ge(rec_a.call_ms[2] - rec_a.call_ms[1], 2 * base);
	ck_assert_int_eq(rec_a.calls, 4);       /* e1 took 3 attempts, e2 one */
	ck_assert_int_eq(rec_a.n, 2);
	ck_assert_int_eq(rec_a.ids[0], e1);
	ck_assert_int_eq(rec_a.ids[1], e2);
	ck_assert_int_eq(cursor_of("flaky"), e2);
	ck_assert_int_eq(rec_b.n, 2);           /* steady got nothing twice */
	ck_assert_int_eq(count_rows("SELECT count(*) FROM bus_dead_letter"), 0);
	ck_assert_int_eq(bus_backlog(fx.bus), 0);
	/* Nothing left to retry: no further wakeup. */
	ck_assert(!wait_wakeup(2 * base));
}
END_TEST

/*
 * (5) Two consumers wait for retries that fall due at different times. The
 * first wakeup serves the first; the second must still get a wakeup when
 * its own retry falls due, or it is stuck until something else happens to
 * run a dispatch.
 */
START_TEST(test_retry_wakeup_for_second_consumer)
{
	const int base = 200;
	int64_t e1, e2;

	fx_open(5, base);
	rec_a.fail_first = 1;
	rec_b.fail_first = 1;
	bus_subscribe(fx.bus, "first", routes_a, &rec_a);
	bus_subscribe(fx.bus, "second", routes_b, &rec_b);
	fx_start();

	e1 = publish("a", NULL, NULL);
	ck_assert_int_eq(dispatch(), 0);        /* first fails: due at +200 */
	sleep_ms(base / 2);
	e2 = publish("b", NULL, NULL);
	ck_assert_int_eq(dispatch(), 0);        /* second fails: due at +300 */
	ck_assert_int_eq(rec_a.calls, 1);
	ck_assert_int_eq(rec_b.calls, 1);

	ck_assert_int_eq(retry_round(), 1);
	ck_assert_int_eq(rec_a.n, 1);
	ck_assert_int_eq(rec_a.ids[0], e1);
	if (rec_b.n == 0) {
		/* second's retry is not due yet; its wakeup must still come. */
		ck_assert_msg(wait_wakeup(5 * base),
		    "no wakeup for the second consumer's retry (timer not re-armed)");
		sleep_ms(15);
		ck_assert_int_eq(dispatch(), 1);
	}
	ck_assert_int_ge(rec_b.call_ms[1] - rec_b.call_ms[0], base);
	ck_assert_int_eq(rec_b.n, 1);
	ck_assert_int_eq(rec_b.ids[0], e2);
	ck_assert_int_eq(bus_backlog(fx.bus), 0);
}
END_TEST

/* An event callback that dispatches late in its loop turn (see below). */
static void
dispatch_late(evutil_socket_t fd, short what, void *arg)
{
	int *rc = arg;

	(void)fd;
	(void)what;
	/* Earlier work of the same turn, as the batch runs its commands first. */
	sleep_ms(100);
	*rc = -1;
	if (db_begin(fx.db) != 0)
		return;
	if (bus_dispatch(fx.bus) < 0) {
		db_rollback(fx.db);
		return;
	}
	*rc = db_commit(fx.db);
}

/*
 * (5) In the server, bus_dispatch runs inside an event callback, where
 * libevent's cached time is as old as the loop turn, so the retry timer
 * fires that much before now_ms() reaches the retry time. The consumer must
 * still be retried: the dispatch that runs on the early wakeup has to arm
 * the timer again for the rest of the wait.
 */
START_TEST(test_retry_timer_fires_early)
{
	const int base = 200;
	struct timeval zero = { 0, 0 };
	struct event *ev;
	int rc = 1, rounds = 0;
	int64_t e1;

	fx_open(5, base);
	rec_a.fail_first = 1;
	bus_subscribe(fx.bus, "lonely", routes_a, &rec_a);
	fx_start();
	e1 = publish("a", NULL, NULL);

	ev = evtimer_new(fx.base, dispatch_late, &rc);
	ck_assert_ptr_nonnull(ev);
	evtimer_add(ev, &zero);
	event_base_loop(fx.base, EVLOOP_ONCE);
	event_free(ev);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(rec_a.calls, 1);
	ck_assert_int_eq(rec_a.n, 0);

	/* Do what the server does: dispatch whenever the bus wakes us. */
	while (rec_a.n == 0 && rounds++ < 10 && wait_wakeup(5 * base))
		dispatch();
	ck_assert_msg(rec_a.n == 1, "the retry never ran: the timer fired before"
	    " it was due and was not armed again (%d wakeups)", rounds - 1);
	ck_assert_int_eq(rec_a.ids[0], e1);
	ck_assert_int_ge(rec_a.call_ms[1] - rec_a.call_ms[0], base);
	ck_assert_int_eq(bus_backlog(fx.bus), 0);
}
END_TEST

/*
 * (6) A handler that keeps failing is dead-lettered after max_attempts: a
 * bus_dead_letter row, the cursor past it, bus.dead_lettered published
 * with the details, and the consumer unblocked.
 */
START_TEST(test_dead_letter)
{
	json_t *p, *orig;
	int64_t e1, e3;
	int rounds = 0;

	fx_open(3, 10);
	rec_a.fail_poison = 1;
	bus_subscribe(fx.bus, "doomed", routes_a, &rec_a);
	bus_subscribe(fx.bus, "watcher", routes_dl, &rec_b);
	bus_subscribe(fx.bus, "bystander", routes_a, &rec_c);
	fx_start();

	e1 = publish("a", "saga-7", json_pack("{s:b, s:s}", "poison", 1,
	    "k", "v"));
	ck_assert_int_eq(dispatch(), 1);                /* bystander */
	ck_assert_int_eq(rec_a.calls, 1);
	while (count_rows("SELECT count(*) FROM bus_dead_letter") == 0) {
		ck_assert_int_lt(++rounds, 10);
		retry_round();
	}
	ck_assert_int_eq(rounds, 2);
	ck_assert_int_eq(rec_a.calls, 3);
	ck_assert_int_eq(rec_a.n, 0);

	ck_assert_int_eq(count_rows("SELECT count(*) FROM bus_dead_letter"), 1);
	ck_assert_int_eq(q_int("SELECT event_id FROM bus_dead_letter"
	    " WHERE consumer = ?", "doomed"), e1);
	ck_assert_int_eq(q_int("SELECT attempts FROM bus_dead_letter"
	    " WHERE consumer = ?", "doomed"), 3);
	ck_assert_int_eq(q_int("SELECT count(*) FROM bus_dead_letter WHERE"
	    " event_type = 'a' AND correlation_id = ?", "saga-7"), 1);

	/* watcher heard about it exactly once. */
	ck_assert_int_eq(rec_b.n, 1);
	ck_assert_str_eq(rec_b.types[0], BUS_DEAD_LETTERED);
	ck_assert_int_gt(rec_b.ids[0], e1);
	ck_assert_str_eq(rec_b.corr[0], "saga-7");
	p = rec_b.payloads[0];
	ck_assert_str_eq(json_string_value(json_object_get(p, "consumer")),
	    "doomed");
	ck_assert_int_eq(json_integer_value(json_object_get(p, "event_id")), e1);
	ck_assert_str_eq(json_string_value(json_object_get(p, "event_type")), "a");
	ck_assert_int_eq(json_integer_value(json_object_get(p, "attempts")), 3);
	orig = json_pack("{s:b, s:s}", "poison", 1, "k", "v");
	ck_assert(json_equal(json_object_get(p, "payload"), orig));
	json_decref(orig);

	/* The cursor moved past the dead event (and the notice it ignores). */
	ck_assert_int_eq(cursor_of("doomed"), rec_b.ids[0]);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM outbox"), 2);
	ck_assert_int_eq(bus_backlog(fx.bus), 0);

	/* The consumer is unblocked: the next event goes through. */
	e3 = publish("a", NULL, NULL);
	ck_assert_int_eq(dispatch(), 2);
	ck_assert_int_eq(rec_a.n, 1);
	ck_assert_int_eq(rec_a.ids[0], e3);
	ck_assert_int_eq(rec_c.n, 2);
	ck_assert_int_eq(rec_b.n, 1);
}
END_TEST

/* (7) A failing bus.dead_lettered handler is dead-lettered without a loop. */
START_TEST(test_dead_letter_no_loop)
{
	int rounds = 0;
	int64_t e1, e2;

	fx_open(2, 10);
	rec_a.fail_always = 1;
	rec_b.fail_always = 1;
	bus_subscribe(fx.bus, "doomed", routes_a, &rec_a);
	bus_subscribe(fx.bus, "dl_fail", routes_dl, &rec_b);
	fx_start();

	e1 = publish("a", NULL, NULL);
	dispatch();
	while (count_rows("SELECT count(*) FROM bus_dead_letter") < 2) {
		ck_assert_int_lt(++rounds, 10);
		retry_round();
	}
	e2 = q_int("SELECT id FROM outbox WHERE type = ?", BUS_DEAD_LETTERED);
	ck_assert_int_eq(rec_a.calls, 2);
	ck_assert_int_eq(rec_b.calls, 2);
	ck_assert_int_eq(q_int("SELECT event_id FROM bus_dead_letter"
	    " WHERE consumer = ?", "doomed"), e1);
	ck_assert_int_eq(q_int("SELECT event_id FROM bus_dead_letter"
	    " WHERE consumer = ?", "dl_fail"), e2);
	ck_assert_int_eq(q_int("SELECT count(*) FROM bus_dead_letter WHERE"
	    " event_type = ?", BUS_DEAD_LETTERED), 1);
	/* Exactly one notice: the one about e1. */
	ck_assert_int_eq(q_int("SELECT count(*) FROM outbox WHERE type = ?",
	    BUS_DEAD_LETTERED), 1);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM outbox"), 2);
	ck_assert_int_eq(cursor_of("doomed"), e2);
	ck_assert_int_eq(cursor_of("dl_fail"), e2);
	ck_assert_int_eq(bus_backlog(fx.bus), 0);
	ck_assert(!wait_wakeup(100));
	ck_assert_int_eq(dispatch(), 0);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM outbox"), 2);
}
END_TEST

/* (8) bus_backlog counts events some consumer has not passed yet. */
START_TEST(test_backlog)
{
	fx_open(5, 10);
	rec_a.fail_first = 1;
	bus_subscribe(fx.bus, "a_side", routes_a, &rec_a);
	bus_subscribe(fx.bus, "b_side", routes_b, &rec_b);
	fx_start();
	ck_assert_int_eq(bus_backlog(fx.bus), 0);

	publish("a", NULL, NULL);
	publish("a", NULL, NULL);
	ck_assert_int_eq(bus_backlog(fx.bus), 2);
	publish("b", NULL, NULL);
	ck_assert_int_eq(bus_backlog(fx.bus), 3);

	/* b_side is done; a_side is waiting to retry its first event. */
	ck_assert_int_eq(dispatch(), 1);
	ck_assert_int_eq(rec_b.n, 1);
	ck_assert_int_eq(rec_a.n, 0);
	ck_assert_int_eq(bus_backlog(fx.bus), 3);

	ck_assert_int_eq(retry_round(), 2);
	ck_assert_int_eq(rec_a.n, 2);
	ck_assert_int_eq(bus_backlog(fx.bus), 0);

	publish("b", NULL, NULL);
	ck_assert_int_eq(bus_backlog(fx.bus), 1);
	ck_assert_int_eq(dispatch(), 1);
	ck_assert_int_eq(bus_backlog(fx.bus), 0);

	/* The count survives a restart (it comes from the cursors). */
	publish("a", NULL, NULL);
	publish("a", NULL, NULL);
	fx_close();
	rec_release(&rec_a);
	rec_release(&rec_b);
	fx_open(5, 10);
	bus_subscribe(fx.bus, "a_side", routes_a, &rec_a);
	bus_subscribe(fx.bus, "b_side", routes_b, &rec_b);
	fx_start();
	ck_assert_int_eq(bus_backlog(fx.bus), 2);
	ck_assert_int_eq(dispatch(), 2);
	ck_assert_int_eq(bus_backlog(fx.bus), 0);
}
END_TEST

Suite *
bus_suite(void)
{
	Suite *s = suite_create("bus");
	TCase *tc = tcase_create("delivery");

	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_publish_in_handler);
	tcase_add_test(tc, test_wants_filters_before_delivery);
	tcase_add_test(tc, test_exactly_once);
	tcase_add_test(tc, test_rollback_then_reload);
	tcase_add_test(tc, test_failed_handler_rolled_back);
	tcase_add_test(tc, test_resume_after_reopen);
	tcase_add_test(tc, test_backlog);
	suite_add_tcase(s, tc);
	tc = tcase_create("retry");
	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_retry_then_success);
	tcase_add_test(tc, test_retry_wakeup_for_second_consumer);
	tcase_add_test(tc, test_retry_timer_fires_early);
	tcase_add_test(tc, test_dead_letter);
	tcase_add_test(tc, test_dead_letter_no_loop);
	suite_add_tcase(s, tc);
	return s;
}
