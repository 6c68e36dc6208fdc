/*
 * test_batch.c - group commit: what one loop turn submits runs in one
 * transaction with a savepoint per unit, a failed unit rolls back alone,
 * replies are delivered only after COMMIT, a waiting item settles in a
 * later batch, and a dispatch that fails rolls the whole batch back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

#include "core/batch.h"
#include "core/bus.h"
#include "core/db.h"
#include "suites.h"

static struct {
	char dir[64];
	char path[96];
	struct db *db;
	struct event_base *base;
	struct bus *bus;
	struct batch *batch;
	sqlite3 *reader;            /* a second connection: sees only commits */
} fx;

struct unit {
	struct batch_item item;     /* first */
	int value;                  /* inserted into scratch(v) */
	int fail;                   /* run() returns -1 after its insert */
	int settle_after;           /* settle() says "not yet" this many times */
	int publish;                /* run() also publishes an event "poke" */
	int settles;
	int delivered;              /* 0 = not yet, 1 = committed, 2 = failed */
	int rows_seen_at_delivery;  /* scratch rows visible to the reader then */
};

static int
count_rows(sqlite3 *db, int value)
{
	sqlite3_stmt *st;
	int n = -1;

	sqlite3_prepare_v2(db, "SELECT count(*) FROM scratch WHERE v = ?", -1,
	    &st, NULL);
	sqlite3_bind_int(st, 1, value);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int
unit_run(struct batch_item *item)
{
	struct unit *u = (struct unit *)item;
	char sql[64];

	snprintf(sql, sizeof sql, "INSERT INTO scratch(v) VALUES (%d)", u->value);
	if (db_exec_sql(fx.db, sql) != 0)
		return -1;
	if (u->publish && bus_publish(fx.bus, "poke", NULL, json_object()) < 0)
		return -1;
	return u->fail ? -1 : 0;
}

static int
unit_settle(struct batch_item *item)
{
	struct unit *u = (struct unit *)item;

	return u->settles++ >= u->settle_after;
}

static void
unit_deliver(struct batch_item *item, int committed)
{
	struct unit *u = (struct unit *)item;

	u->delivered = committed ? 1 : 2;
	u->rows_seen_at_delivery = count_rows(fx.reader, u->value);
}

static const struct batch_item_ops unit_ops = {
	.run = unit_run, .settle = unit_settle, .deliver = unit_deliver,
};

/* A consumer that breaks the database under the dispatcher's feet: the
 * cursor write at the end of the dispatch fails. */
static int
break_cursors(const struct bus_event *ev, void *arg)
{
	(void)ev;
	(void)arg;
	return db_exec_sql(fx.db, "DROP TABLE bus_cursor");
}

static const struct bus_route breaking_routes[] = {
	{ "poke", break_cursors, NULL }, { NULL, NULL, NULL } };

static void
setup(void)
{
	snprintf(fx.dir, sizeof fx.dir, "/tmp/studiod-batch-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof fx.path, "%s/t.db", fx.dir);
	ck_assert_int_eq(db_open(&fx.db, fx.path, "normal", 1000), 0);
	ck_assert_int_eq(db_migrate(fx.db), 0);
	ck_assert_int_eq(db_exec_sql(fx.db, "CREATE TABLE scratch(v INTEGER)"), 0);
	fx.base = event_base_new();
	fx.bus = bus_new(fx.db, fx.base, 3, 10);
	fx.batch = batch_new(fx.base, fx.db, fx.bus, 256);
	ck_assert_int_eq(sqlite3_open_v2(fx.path, &fx.reader, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
}

static void
teardown(void)
{
	char cmd[128];

	sqlite3_close(fx.reader);
	batch_free(fx.batch);
	bus_free(fx.bus);
	event_base_free(fx.base);
	db_close(fx.db);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx.dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
start_bus(void)
{
	ck_assert_int_eq(bus_start(fx.bus), 0);
}

/* Run the loop until nothing is active (the flush included). */
static void
spin(void)
{
	event_base_loop(fx.base, EVLOOP_NONBLOCK);
}

START_TEST(test_one_turn_one_transaction)
{
	struct unit a = { .item.ops = &unit_ops, .value = 1 };
	struct unit b = { .item.ops = &unit_ops, .value = 2 };

	start_bus();
	batch_submit(fx.batch, &a.item);
	batch_submit(fx.batch, &b.item);
	ck_assert_int_eq(a.delivered, 0);  /* nothing before the loop turns */
	spin();
	ck_assert_int_eq(a.delivered, 1);
	ck_assert_int_eq(b.delivered, 1);
	/* Delivered after COMMIT: another connection already sees the rows. */
	ck_assert_int_eq(a.rows_seen_at_delivery, 1);
	ck_assert_int_eq(b.rows_seen_at_delivery, 1);
	ck_assert_uint_eq(batch_stats(fx.batch)->batches, 1);
	ck_assert_uint_eq(batch_stats(fx.batch)->items, 2);
}
END_TEST

START_TEST(test_max_units_splits_transactions)
{
	struct unit u[3] = {
		{ .item.ops = &unit_ops, .value = 1 },
		{ .item.ops = &unit_ops, .value = 2 },
		{ .item.ops = &unit_ops, .value = 3 },
	};

	batch_free(fx.batch);
	fx.batch = batch_new(fx.base, fx.db, fx.bus, 1);
	start_bus();
	for (int i = 0; i < 3; i++)
		batch_submit(fx.batch, &u[i].item);
	spin();
	spin();
	spin();
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(u[i].delivered, 1);
	ck_assert_uint_eq(batch_stats(fx.batch)->batches, 3);
}
END_TEST

START_TEST(test_failed_unit_rolls_back_alone)
{
	struct unit bad = { .item.ops = &unit_ops, .value = 1, .fail = 1 };
	struct unit good = { .item.ops = &unit_ops, .value = 2 };

	start_bus();
	batch_submit(fx.batch, &bad.item);
	batch_submit(fx.batch, &good.item);
	spin();
	ck_assert_int_eq(count_rows(fx.reader, 1), 0);
	ck_assert_int_eq(count_rows(fx.reader, 2), 1);
	/* Both are answered from a committed batch (bad with its own error). */
	ck_assert_int_eq(bad.delivered, 1);
	ck_assert_int_eq(good.delivered, 1);
}
END_TEST

START_TEST(test_waiting_item_settles_in_a_later_batch)
{
	struct unit w = { .item.ops = &unit_ops, .value = 1, .settle_after = 1 };
	struct unit other = { .item.ops = &unit_ops, .value = 2 };

	start_bus();
	batch_submit(fx.batch, &w.item);
	spin();
	ck_assert_int_eq(w.delivered, 0);
	ck_assert_int_eq(batch_waiting(fx.batch), 1);
	ck_assert_int_eq(count_rows(fx.reader, 1), 1); /* its work committed */
	batch_submit(fx.batch, &other.item);
	spin();
	ck_assert_int_eq(w.delivered, 1);
	ck_assert_int_eq(batch_waiting(fx.batch), 0);
	ck_assert_int_eq(count_rows(fx.reader, 1), 1); /* run() ran once */
}
END_TEST

/*
 * Regression: a dispatch that failed with a database error used to be
 * followed by COMMIT, keeping handler effects without their cursor
 * advance. Now the whole batch rolls back and every unit of it fails.
 */
START_TEST(test_failed_dispatch_rolls_the_batch_back)
{
	struct unit u = { .item.ops = &unit_ops, .value = 7, .publish = 1 };
	struct unit v = { .item.ops = &unit_ops, .value = 8 };

	bus_subscribe(fx.bus, "breaker", breaking_routes, NULL);
	start_bus();
	batch_submit(fx.batch, &u.item);
	batch_submit(fx.batch, &v.item);
	spin();
	ck_assert_int_eq(u.delivered, 2);
	ck_assert_int_eq(v.delivered, 2);
	ck_assert_int_eq(count_rows(fx.reader, 7), 0);
	ck_assert_int_eq(count_rows(fx.reader, 8), 0);
	/* The cursor table is still there: the DROP was rolled back too. */
	ck_assert_int_eq(db_exec_sql(fx.db, "SELECT * FROM bus_cursor"), 0);
	ck_assert_uint_eq(batch_stats(fx.batch)->commits_failed, 1);
}
END_TEST

/* A periodic task: inserts a row per run; fails (after inserting) when told. */
static int every_runs, every_fail;

static int
every_task(void *arg)
{
	(void)arg;
	every_runs++;
	if (db_exec_sql(fx.db, "INSERT INTO scratch(v) VALUES (42)") != 0)
		return -1;
	return every_fail ? -1 : 0;
}

START_TEST(test_every_runs_now_then_on_its_timer)
{
	struct batch_every *t;
	struct timeval wait = { 1, 200000 };

	every_runs = 0;
	every_fail = 0;
	start_bus();
	t = batch_every(fx.batch, fx.base, 1, every_task, NULL);
	spin();
	ck_assert_int_eq(every_runs, 1);             /* once as the loop runs */
	ck_assert_int_eq(count_rows(fx.reader, 42), 1);
	event_base_loopexit(fx.base, &wait);
	event_base_dispatch(fx.base);               /* its timer: once more */
	ck_assert_int_eq(every_runs, 2);
	ck_assert_int_eq(count_rows(fx.reader, 42), 2);
	batch_every_stop(fx.batch, t);
}
END_TEST

START_TEST(test_every_failure_rolls_its_work_back)
{
	struct batch_every *t;

	every_runs = 0;
	every_fail = 1;
	start_bus();
	t = batch_every(fx.batch, fx.base, 60, every_task, NULL);
	spin();
	ck_assert_int_eq(every_runs, 1);
	ck_assert_int_eq(count_rows(fx.reader, 42), 0);
	batch_every_stop(fx.batch, t);
}
END_TEST

Suite *
batch_suite(void)
{
	Suite *s = suite_create("batch");
	TCase *tc = tcase_create("group commit");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_one_turn_one_transaction);
	tcase_add_test(tc, test_max_units_splits_transactions);
	tcase_add_test(tc, test_failed_unit_rolls_back_alone);
	tcase_add_test(tc, test_waiting_item_settles_in_a_later_batch);
	tcase_add_test(tc, test_failed_dispatch_rolls_the_batch_back);
	tcase_add_test(tc, test_every_runs_now_then_on_its_timer);
	tcase_add_test(tc, test_every_failure_rolls_its_work_back);
	suite_add_tcase(s, tc);
	return s;
}
