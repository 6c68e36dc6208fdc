/*
 * class_reviews.c - the class's review statistics (review_count,
 * rating_avg on GET /classes/{id}): a read model of review.posted and
 * review.deleted, kept in class_review_stats by its own consumer
 * ("class_reviews") so `studiod rebuild-projections` can replay it alone
 * without replaying the class module's saga steps.
 */
#include "core/app.h"
#include "core/bus.h"
#include "core/db.h"
#include "core/json.h"
#include "http/http.h"
#include "modules/class/class_internal.h"

static struct {
	struct db *db;
	sqlite3_stmt *add, *get;
} cr;

static const struct db_stmt_def stmts[] = {
	{ &cr.add, "INSERT INTO class_review_stats(class_id, review_count,"
	    " rating_sum) VALUES (?, ?, ?) ON CONFLICT (class_id) DO UPDATE"
	    " SET review_count = review_count + excluded.review_count,"
	    " rating_sum = rating_sum + excluded.rating_sum" },
	{ &cr.get, "SELECT review_count, rating_sum FROM class_review_stats"
	    " WHERE class_id = ?" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

/* review.posted (+1, +rating) and review.deleted (-1, -rating). */
static int
on_review(const struct bus_event *ev, void *arg)
{
	int64_t sign = ev->type[7] == 'p' ? 1 : -1; /* "review.posted" */

	(void)arg;
	if (db_bind(cr.add, "iii", jget_int(ev->payload, "class_id"), sign,
	    sign * jget_int(ev->payload, "rating")) != 0 ||
	    db_exec(cr.db, cr.add) != 0)
		return -1;
	/* The cached schedule shows the statistics: it is stale now. */
	class_store_touch();
	return 0;
}

/* A review of a class (a room's carries room_id instead). */
static int
wants(const struct bus_event *ev, void *arg)
{
	(void)arg;
	return jget_int(ev->payload, "class_id") != 0;
}

static const struct bus_route routes[] = {
	{ "review.posted", on_review, wants },
	{ "review.deleted", on_review, wants },
	{ NULL, NULL, NULL },
};

int
class_reviews_init(struct app *app)
{
	cr.db = app->db;
	if (db_prepare_all(app->db, stmts, NSTMTS) != 0)
		return -1;
	bus_subscribe(app->bus, "class_reviews", routes, NULL);
	return 0;
}

void
class_reviews_fini(void)
{
	db_finalize_all(stmts, NSTMTS);
}

void
class_reviews_put(json_t *j, int64_t class_id)
{
	int64_t count = 0, sum = 0;

	if (db_bind(cr.get, "i", class_id) == 0 && db_step(cr.db, cr.get) == 1) {
		count = sqlite3_column_int64(cr.get, 0);
		sum = sqlite3_column_int64(cr.get, 1);
	}
	db_reset(cr.get);
	jput_int(j, "review_count", count);
	/* Rounded to two decimals (half up), as a number; null until the
	 * first review. */
	json_object_set_new(j, "rating_avg", count > 0 ?
	    json_real((double)((sum * 200 + count) / (2 * count)) / 100.0) :
	    json_null());
}
