/* room_store.c - the room module's SQL, prepared once. */
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "core/db.h"
#include "core/util.h"
#include "modules/room/room_internal.h"

#define COLUMNS "id, name, hourly_price, requires_approval, status," \
	" created_at, updated_at"

static struct {
	struct db *db;
	sqlite3_stmt *get, *insert, *update, *remove, *list, *overlaps, *hold,
	    *release, *taken;
} s;

static const struct db_stmt_def stmts[] = {
	{ &s.get, "SELECT " COLUMNS " FROM rooms WHERE id = ?" },
	{ &s.insert, "INSERT INTO rooms(name, hourly_price, requires_approval,"
	    " created_at, updated_at) VALUES (?, ?, ?, ?, ?)" },
	{ &s.update, "UPDATE rooms SET name = ?, hourly_price = ?,"
	    " requires_approval = ?, updated_at = ? WHERE id = ?" },
	{ &s.remove, "UPDATE rooms SET status = 'removed', updated_at = ?"
	    " WHERE id = ?" },
	{ &s.list, "SELECT " COLUMNS " FROM rooms WHERE id > ?"
	    " AND status = 'active' ORDER BY id LIMIT ?" },
	/* Half-open ranges overlap when each starts before the other ends. */
	{ &s.overlaps, "SELECT 1 FROM room_slots WHERE room_id = ?"
	    " AND starts_at < ? AND ends_at > ? LIMIT 1" },
	{ &s.hold, "INSERT OR IGNORE INTO room_slots(reservation_id, room_id,"
	    " member_id, starts_at, ends_at, created_at) VALUES (?, ?, ?, ?, ?, ?)" },
	{ &s.release, "DELETE FROM room_slots WHERE reservation_id = ?"
	    " RETURNING room_id" },
	{ &s.taken, "SELECT max(starts_at, ?2), min(ends_at, ?3) FROM room_slots"
	    " WHERE room_id = ?1 AND starts_at < ?3 AND ends_at > ?2"
	    " ORDER BY starts_at" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

int
room_store_init(struct app *app)
{
	s.db = app->db;
	return db_prepare_all(app->db, stmts, NSTMTS);
}

void
room_store_fini(void)
{
	db_finalize_all(stmts, NSTMTS);
}

void
room_row_release(struct room_row *r)
{
	free(r->name);
	r->name = NULL;
}

static void
read_row(sqlite3_stmt *st, struct room_row *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->name = db_column_strdup(st, 1);
	r->hourly_price = sqlite3_column_int64(st, 2);
	r->requires_approval = sqlite3_column_int(st, 3);
	r->removed = strcmp((const char *)sqlite3_column_text(st, 4), "removed") == 0;
	r->created_at = sqlite3_column_int64(st, 5);
	r->updated_at = sqlite3_column_int64(st, 6);
}

int
room_store_get(int64_t id, struct room_row *out)
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
room_store_insert(struct room_row *r)
{
	if (db_bind(s.insert, "tiiii", r->name, r->hourly_price,
	    (int64_t)r->requires_approval, r->created_at, r->updated_at) != 0 ||
	    db_exec(s.db, s.insert) != 0)
		return -1;
	r->id = db_last_insert_id(s.db);
	return 0;
}

int
room_store_update(const struct room_row *r)
{
	if (db_bind(s.update, "tiiii", r->name, r->hourly_price,
	    (int64_t)r->requires_approval, r->updated_at, r->id) != 0)
		return -1;
	return db_exec(s.db, s.update) == 0 ? 0 : -1;
}

int
room_store_remove(int64_t id)
{
	if (db_bind(s.remove, "ii", now_s(), id) != 0)
		return -1;
	return db_exec(s.db, s.remove) == 0 ? 0 : -1;
}

int
room_store_list(int64_t after, int64_t limit, json_t *items, int64_t *next)
{
	struct room_row r;
	int64_t n = 0, last = 0;
	int rc;

	*next = 0;
	if (db_bind(s.list, "ii", after, limit + 1) != 0)
		return -1;
	while ((rc = db_step(s.db, s.list)) == 1) {
		if (n++ == limit) {
			*next = last;
			break;
		}
		read_row(s.list, &r);
		last = r.id;
		json_array_append_new(items, room_to_json(&r));
		room_row_release(&r);
	}
	db_reset(s.list);
	return rc < 0 ? -1 : 0;
}

int
room_store_overlaps(int64_t room_id, int64_t from, int64_t to)
{
	if (db_bind(s.overlaps, "iii", room_id, to, from) != 0)
		return -1;
	return db_step_once(s.db, s.overlaps);
}

int
room_store_hold(int64_t reservation_id, int64_t room_id, int64_t member_id,
    int64_t from, int64_t to)
{
	if (db_bind(s.hold, "iiiiii", reservation_id, room_id, member_id, from, to,
	    now_s()) != 0 || db_exec(s.db, s.hold) != 0)
		return -1;
	return db_changes(s.db) > 0;
}

int
room_store_release(int64_t reservation_id, int64_t *room_id)
{
	int rc;

	if (db_bind(s.release, "i", reservation_id) != 0)
		return -1;
	rc = db_step(s.db, s.release);
	if (rc == 1)
		*room_id = sqlite3_column_int64(s.release, 0);
	while (rc == 1 && db_step(s.db, s.release) == 1)
		;
	db_reset(s.release);
	return rc < 0 ? -1 : rc;
}

int
room_store_taken(int64_t room_id, int64_t from, int64_t to, json_t *out)
{
	int rc;

	if (db_bind(s.taken, "iii", room_id, from, to) != 0)
		return -1;
	while ((rc = db_step(s.db, s.taken)) == 1)
		json_array_append_new(out, json_pack("[I, I]",
		    (json_int_t)sqlite3_column_int64(s.taken, 0),
		    (json_int_t)sqlite3_column_int64(s.taken, 1)));
	db_reset(s.taken);
	return rc < 0 ? -1 : 0;
}
