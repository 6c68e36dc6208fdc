/* class_store.c - the class module's SQL, prepared once. */
#include <string.h>

#include "core/app.h"
#include "core/db.h"
#include "core/util.h"
#include "http/http.h"
#include "modules/class/class_internal.h"

#define COLUMNS "id, title, instructor, starts_at, ends_at, capacity, booked," \
	" price, credits, requires_approval, status, created_at, updated_at"

static struct {
	struct db *db;
	uint64_t generation;
	sqlite3_stmt *get, *insert, *update, *cancel, *list, *hold, *book,
	    *release, *unbook;
} s;

static const struct db_stmt_def stmts[] = {
	{ &s.get, "SELECT " COLUMNS " FROM classes WHERE id = ?" },
	{ &s.insert, "INSERT INTO classes(title, instructor, starts_at, ends_at,"
	    " capacity, price, credits, requires_approval, created_at, updated_at)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" },
	{ &s.update, "UPDATE classes SET title = ?, instructor = ?, starts_at = ?,"
	    " ends_at = ?, capacity = ?, price = ?, credits = ?,"
	    " requires_approval = ?, updated_at = ? WHERE id = ?" },
	{ &s.cancel, "UPDATE classes SET status = 'cancelled', updated_at = ?"
	    " WHERE id = ? AND status <> 'cancelled'" },
	{ &s.list, "SELECT " COLUMNS " FROM classes WHERE id > ? AND starts_at >= ?"
	    " AND starts_at < ? ORDER BY id LIMIT ?" },
	{ &s.hold, "INSERT OR IGNORE INTO class_holds(reservation_id, class_id,"
	    " member_id, created_at) VALUES (?, ?, ?, ?)" },
	{ &s.book, "UPDATE classes SET booked = booked + 1 WHERE id = ?" },
	{ &s.release, "DELETE FROM class_holds WHERE reservation_id = ?"
	    " RETURNING class_id" },
	{ &s.unbook, "UPDATE classes SET booked = booked - 1 WHERE id = ?" },
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
	if (db_bind(s.insert, "ttiiiiiiii", c->title, c->instructor, c->starts_at,
	    c->ends_at, c->capacity, c->price, c->credits,
	    (int64_t)c->requires_approval, c->created_at, c->updated_at) != 0 ||
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
class_store_hold(int64_t reservation_id, int64_t class_id, int64_t member_id)
{
	if (db_bind(s.hold, "iiii", reservation_id, class_id, member_id,
	    now_s()) != 0 || db_exec(s.db, s.hold) != 0)
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
