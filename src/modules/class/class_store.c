/* class_store.c - the class module's SQL, prepared once. */
#include <string.h>

#include "core/app.h"
#include "core/db.h"
#include "core/util.h"
#include "http/http.h"
#include "modules/class/class_internal.h"

#define COLUMNS "id, title, instructor, starts_at, ends_at, capacity, booked," \
	" price, credits, requires_approval, status, created_at, updated_at," \
	" has_seats, waitlist"

static struct {
	struct db *db;
	uint64_t generation;
	sqlite3_stmt *get, *insert, *update, *cancel, *list, *hold, *book,
	    *release, *unbook, *seat_add, *seat_exists, *seat_held, *seats,
	    *take, *wait_add, *wait_inc, *wait_remove, *wait_dec, *wait_first,
	    *wait_due;
} s;

static const struct db_stmt_def stmts[] = {
	{ &s.get, "SELECT " COLUMNS " FROM classes WHERE id = ?" },
	{ &s.insert, "INSERT INTO classes(title, instructor, starts_at, ends_at,"
	    " capacity, price, credits, requires_approval, created_at, updated_at,"
	    " has_seats) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" },
	{ &s.update, "UPDATE classes SET title = ?, instructor = ?, starts_at = ?,"
	    " ends_at = ?, capacity = ?, price = ?, credits = ?,"
	    " requires_approval = ?, updated_at = ? WHERE id = ?" },
	{ &s.cancel, "UPDATE classes SET status = 'cancelled', updated_at = ?"
	    " WHERE id = ? AND status <> 'cancelled'" },
	{ &s.list, "SELECT " COLUMNS " FROM classes WHERE id > ? AND starts_at >= ?"
	    " AND starts_at < ? ORDER BY id LIMIT ?" },
	{ &s.hold, "INSERT OR IGNORE INTO class_holds(reservation_id, class_id,"
	    " member_id, created_at, seat) VALUES (?, ?, ?, ?, ?)" },
	{ &s.book, "UPDATE classes SET booked = booked + 1 WHERE id = ?" },
	{ &s.release, "DELETE FROM class_holds WHERE reservation_id = ?"
	    " RETURNING class_id" },
	{ &s.unbook, "UPDATE classes SET booked = booked - 1 WHERE id = ?" },
	{ &s.seat_add, "INSERT INTO class_seats(class_id, seat) VALUES (?, ?)" },
	{ &s.seat_exists, "SELECT 1 FROM class_seats WHERE class_id = ?"
	    " AND seat = ?" },
	{ &s.seat_held, "SELECT 1 FROM class_holds WHERE class_id = ? AND seat = ?" },
	{ &s.seats, "SELECT s.seat, h.taken FROM class_seats s"
	    " LEFT JOIN class_holds h ON h.class_id = s.class_id AND h.seat = s.seat"
	    " WHERE s.class_id = ? ORDER BY s.rowid" },
	{ &s.take, "UPDATE class_holds SET taken = 1 WHERE reservation_id = ?" },
	{ &s.wait_add, "INSERT OR IGNORE INTO class_waitlist(reservation_id,"
	    " class_id, member_id, created_at) VALUES (?, ?, ?, ?)" },
	{ &s.wait_inc, "UPDATE classes SET waitlist = waitlist + 1 WHERE id = ?" },
	{ &s.wait_remove, "DELETE FROM class_waitlist WHERE reservation_id = ?"
	    " RETURNING class_id" },
	{ &s.wait_dec, "UPDATE classes SET waitlist = waitlist - 1 WHERE id = ?" },
	{ &s.wait_first, "SELECT reservation_id, member_id FROM class_waitlist"
	    " WHERE class_id = ? ORDER BY reservation_id LIMIT 1" },
	{ &s.wait_due, "SELECT w.reservation_id, w.class_id FROM class_waitlist w"
	    " JOIN classes c ON c.id = w.class_id WHERE c.starts_at <= ?"
	    " ORDER BY w.reservation_id LIMIT ?" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

int
class_store_init(struct app *app)
{
	s.db = app->db;
	return db_prepare_all(app->db, stmts, NSTMTS);
}

void
class_store_fini(void)
{
	db_finalize_all(stmts, NSTMTS);
}

void
class_row_release(struct class_row *c)
{
	free(c->title);
	free(c->instructor);
	c->title = c->instructor = NULL;
}

static void
read_row(sqlite3_stmt *st, struct class_row *c)
{
	c->id = sqlite3_column_int64(st, 0);
	c->title = db_column_strdup(st, 1);
	c->instructor = db_column_strdup(st, 2);
	c->starts_at = sqlite3_column_int64(st, 3);
	c->ends_at = sqlite3_column_int64(st, 4);
	c->capacity = sqlite3_column_int64(st, 5);
	c->booked = sqlite3_column_int64(st, 6);
	c->price = sqlite3_column_int64(st, 7);
	c->credits = sqlite3_column_int64(st, 8);
	c->requires_approval = sqlite3_column_int(st, 9);
	c->cancelled = strcmp((const char *)sqlite3_column_text(st, 10),
	    "cancelled") == 0;
	c->created_at = sqlite3_column_int64(st, 11);
	c->updated_at = sqlite3_column_int64(st, 12);
	c->has_seats = sqlite3_column_int(st, 13);
	c->waitlist = sqlite3_column_int64(st, 14);
}

uint64_t
class_store_generation(void)
{
	return s.generation;
}

void
class_store_touch(void)
{
	s.generation++;
}

int
class_store_get(int64_t id, struct class_row *out)
{
	int rc;

	memset(out, 0, sizeof *out);
	if (db_bind(s.get, "i", id) != 0)
		return -1;
	rc = db_step(s.db, s.get);
	if (rc == 1)
		read_row(s.get, out);
	db_reset(s.get);
	return rc < 0 ? -1 : rc;
}

int
class_store_insert(struct class_row *c)
{
	if (db_bind(s.insert, "ttiiiiiiiii", c->title, c->instructor, c->starts_at,
	    c->ends_at, c->capacity, c->price, c->credits,
	    (int64_t)c->requires_approval, c->created_at, c->updated_at,
	    (int64_t)c->has_seats) != 0 ||
	    db_exec(s.db, s.insert) != 0)
		return -1;
	s.generation++;
	c->id = db_last_insert_id(s.db);
	return 0;
}

int
class_store_update(const struct class_row *c)
{
	if (db_bind(s.update, "ttiiiiiiii", c->title, c->instructor, c->starts_at,
	    c->ends_at, c->capacity, c->price, c->credits,
	    (int64_t)c->requires_approval, c->updated_at, c->id) != 0)
		return -1;
	s.generation++;
	return db_exec(s.db, s.update) == 0 ? 0 : -1;
}

int
class_store_cancel(int64_t id)
{
	if (db_bind(s.cancel, "ii", now_s(), id) != 0)
		return -1;
	s.generation++;
	return db_exec(s.db, s.cancel) == 0 ? 0 : -1;
}

int
class_store_list(int64_t from, int64_t to, int64_t after, int64_t limit,
    json_t *items, int64_t *next)
{
	struct class_row c;
	int64_t n = 0;
	int rc;

	*next = 0;
	/* One row more than asked tells whether there is a next page. */
	if (db_bind(s.list, "iiii", after, from, to, limit + 1) != 0)
		return -1;
	while ((rc = db_step(s.db, s.list)) == 1) {
		if (n == limit) {
			*next = (int64_t)json_integer_value(json_object_get(
			    json_array_get(items, json_array_size(items) - 1), "id"));
			break;
		}
		read_row(s.list, &c);
		json_array_append_new(items, class_to_json(&c));
		class_row_release(&c);
		n++;
	}
	db_reset(s.list);
	return rc < 0 ? -1 : 0;
}

int
class_store_hold(int64_t reservation_id, int64_t class_id, int64_t member_id,
    const char *seat)
{
	if (db_bind(s.hold, "iiiit", reservation_id, class_id, member_id,
	    now_s(), seat) != 0 || db_exec(s.db, s.hold) != 0)
		return -1;
	if (db_changes(s.db) == 0)
		return 0;
	s.generation++;
	if (db_bind(s.book, "i", class_id) != 0 || db_exec(s.db, s.book) != 0)
		return -1;
	return 1;
}

int
class_store_release(int64_t reservation_id, int64_t *class_id)
{
	int rc;

	if (db_bind(s.release, "i", reservation_id) != 0)
		return -1;
	rc = db_step(s.db, s.release);
	if (rc == 1)
		*class_id = sqlite3_column_int64(s.release, 0);
	/* RETURNING: step to the end so the DELETE completes before reset. */
	while (rc == 1 && db_step(s.db, s.release) == 1)
		;
	db_reset(s.release);
	if (rc != 1)
		return rc < 0 ? -1 : 0;
	s.generation++;
	if (db_bind(s.unbook, "i", *class_id) != 0 ||
	    db_exec(s.db, s.unbook) != 0)
		return -1;
	return 1;
}

int
class_store_add_seat(int64_t class_id, const char *seat)
{
	if (db_bind(s.seat_add, "it", class_id, seat) != 0)
		return -1;
	return db_exec(s.db, s.seat_add) == 0 ? 0 : -1;
}

int
class_store_seat_exists(int64_t class_id, const char *seat)
{
	if (db_bind(s.seat_exists, "it", class_id, seat) != 0)
		return -1;
	return db_step_once(s.db, s.seat_exists);
}

int
class_store_seat_held(int64_t class_id, const char *seat)
{
	if (db_bind(s.seat_held, "it", class_id, seat) != 0)
		return -1;
	return db_step_once(s.db, s.seat_held);
}

int
class_store_seats(int64_t class_id, json_t *items)
{
	int rc;

	if (db_bind(s.seats, "i", class_id) != 0)
		return -1;
	while ((rc = db_step(s.db, s.seats)) == 1) {
		json_t *j = json_object();
		int held = sqlite3_column_type(s.seats, 1) != SQLITE_NULL;

		jput_str(j, "seat", (const char *)sqlite3_column_text(s.seats, 0));
		jput_str(j, "status", !held ? "free" :
		    sqlite3_column_int(s.seats, 1) ? "taken" : "held");
		json_array_append_new(items, j);
	}
	db_reset(s.seats);
	return rc < 0 ? -1 : 0;
}

int
class_store_take(int64_t reservation_id)
{
	if (db_bind(s.take, "i", reservation_id) != 0)
		return -1;
	s.generation++;
	return db_exec(s.db, s.take) == 0 ? 0 : -1;
}

int
class_store_wait(int64_t reservation_id, int64_t class_id, int64_t member_id)
{
	if (db_bind(s.wait_add, "iiii", reservation_id, class_id, member_id,
	    now_s()) != 0 || db_exec(s.db, s.wait_add) != 0)
		return -1;
	if (db_changes(s.db) == 0)
		return 0;
	s.generation++;
	if (db_bind(s.wait_inc, "i", class_id) != 0 ||
	    db_exec(s.db, s.wait_inc) != 0)
		return -1;
	return 1;
}

int
class_store_unwait(int64_t reservation_id, int64_t *class_id)
{
	int rc;

	if (db_bind(s.wait_remove, "i", reservation_id) != 0)
		return -1;
	rc = db_step(s.db, s.wait_remove);
	if (rc == 1)
		*class_id = sqlite3_column_int64(s.wait_remove, 0);
	while (rc == 1 && db_step(s.db, s.wait_remove) == 1)
		;
	db_reset(s.wait_remove);
	if (rc != 1)
		return rc < 0 ? -1 : 0;
	s.generation++;
	if (db_bind(s.wait_dec, "i", *class_id) != 0 ||
	    db_exec(s.db, s.wait_dec) != 0)
		return -1;
	return 1;
}

int
class_store_first_waiting(int64_t class_id, int64_t *reservation_id,
    int64_t *member_id)
{
	int rc;

	if (db_bind(s.wait_first, "i", class_id) != 0)
		return -1;
	rc = db_step(s.db, s.wait_first);
	if (rc == 1) {
		*reservation_id = sqlite3_column_int64(s.wait_first, 0);
		*member_id = sqlite3_column_int64(s.wait_first, 1);
	}
	db_reset(s.wait_first);
	return rc < 0 ? -1 : rc;
}

int
class_store_waiting_past(int64_t starts_before, int64_t *rids, int64_t *cids,
    int max)
{
	int n = 0, rc = 0;

	if (db_bind(s.wait_due, "ii", starts_before, (int64_t)max) != 0)
		return -1;
	while (n < max && (rc = db_step(s.db, s.wait_due)) == 1) {
		rids[n] = sqlite3_column_int64(s.wait_due, 0);
		cids[n] = sqlite3_column_int64(s.wait_due, 1);
		n++;
	}
	db_reset(s.wait_due);
	return rc < 0 ? -1 : n;
}
