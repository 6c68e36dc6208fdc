/* reservation_store.c - the reservation module's SQL, prepared once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "core/db.h"
#include "core/json.h"
#include "core/util.h"
#include "modules/reservation/reservation_internal.h"

#define COLUMNS "id, class_id, member_id, status, reason, price, credits," \
	" created_at, updated_at, payment_method, payment_status, payment_amount," \
	" provider_ref, refunded_amount, seat, room_id, starts_at, ends_at"
#define ACTIVE "('pending', 'awaiting_approval', 'confirmed')"

static struct {
	struct db *db;
	sqlite3_stmt *get, *insert, *set_status, *set_amounts, *set_payment,
	    *has_active,
	    *active_ids, *stale, *roster, *class_upsert, *class_cancel, *class_get,
	    *member_add, *member_get, *idem_get, *idem_insert, *idem_finish,
	    *seat_add, *seat_get, *position, *stale_awaiting, *room_upsert,
	    *room_get, *room_live;
} s;

static const struct db_stmt_def stmts[] = {
	{ &s.get, "SELECT " COLUMNS " FROM reservations WHERE id = ?" },
	{ &s.insert, "INSERT INTO reservations(class_id, member_id, status, reason,"
	    " price, credits, created_at, updated_at, seat, room_id, starts_at,"
	    " ends_at) VALUES (nullif(?, 0), ?, ?, ?, ?, ?, ?, ?, ?, nullif(?, 0),"
	    " nullif(?, 0), nullif(?, 0))" },
	{ &s.room_upsert, "INSERT INTO reservation_rooms(room_id, name,"
	    " hourly_price, requires_approval, status) VALUES (?, ?, ?, ?, ?)"
	    " ON CONFLICT (room_id) DO UPDATE SET name = excluded.name,"
	    " hourly_price = excluded.hourly_price,"
	    " requires_approval = excluded.requires_approval,"
	    " status = excluded.status" },
	{ &s.room_get, "SELECT room_id, name, hourly_price, requires_approval,"
	    " status FROM reservation_rooms WHERE room_id = ?" },
	{ &s.room_live, "SELECT id FROM reservations WHERE room_id = ?"
	    " AND status IN ('pending', 'awaiting_approval', 'confirmed')"
	    " ORDER BY id LIMIT ?" },
	{ &s.seat_add, "INSERT OR IGNORE INTO reservation_class_seats(class_id, seat)"
	    " VALUES (?, ?)" },
	{ &s.seat_get, "SELECT 1 FROM reservation_class_seats WHERE class_id = ?"
	    " AND seat = ?" },
	{ &s.position, "SELECT count(*) FROM reservations WHERE class_id = ?"
	    " AND status = 'waitlisted' AND id <= ?" },
	{ &s.stale_awaiting, "SELECT id FROM reservations"
	    " WHERE status = 'awaiting_approval' AND updated_at < ?"
	    " ORDER BY updated_at LIMIT ?" },
	{ &s.set_status, "UPDATE reservations SET status = ?, reason = ?,"
	    " updated_at = ? WHERE id = ?" },
	{ &s.set_amounts, "UPDATE reservations SET price = ?, credits = ?"
	    " WHERE id = ?" },
	{ &s.set_payment, "UPDATE reservations SET payment_method = ?,"
	    " payment_status = ?, payment_amount = ?, provider_ref = ?,"
	    " refunded_amount = ? WHERE id = ?" },
	/*
	 * The terms repeat reservations_one_active's WHERE word for word: only
	 * then can SQLite use that partial index (one seek) instead of walking
	 * every live booking of the class. Waiting in line counts as live.
	 */
	{ &s.has_active, "SELECT 1 FROM reservations WHERE class_id = ?"
	    " AND member_id = ? AND status IN ('pending', 'waitlisted',"
	    " 'awaiting_approval', 'confirmed') AND class_id IS NOT NULL" },
	{ &s.active_ids, "SELECT id FROM reservations WHERE class_id = ?"
	    " AND status IN " ACTIVE " ORDER BY id LIMIT ?" },
	/* updated_at: a booking promoted from the waitlist is pending anew. */
	{ &s.stale, "SELECT id FROM reservations WHERE status = 'pending'"
	    " AND updated_at < ? ORDER BY updated_at LIMIT ?" },
	{ &s.roster, "SELECT " COLUMNS " FROM reservations WHERE class_id = ?"
	    " AND id > ? ORDER BY id LIMIT ?" },
	{ &s.class_upsert, "INSERT INTO reservation_classes(class_id, title,"
	    " starts_at, ends_at, price, credits, status, requires_approval,"
	    " has_seats) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
	    " ON CONFLICT (class_id) DO UPDATE SET title = excluded.title,"
	    " starts_at = excluded.starts_at, ends_at = excluded.ends_at,"
	    " price = excluded.price, credits = excluded.credits,"
	    " status = excluded.status,"
	    " requires_approval = excluded.requires_approval" },
	{ &s.class_cancel, "UPDATE reservation_classes SET status = 'cancelled'"
	    " WHERE class_id = ?" },
	{ &s.class_get, "SELECT class_id, title, starts_at, ends_at, price, credits,"
	    " status, requires_approval, has_seats FROM reservation_classes"
	    " WHERE class_id = ?" },
	{ &s.member_add, "INSERT OR IGNORE INTO reservation_members(member_id)"
	    " VALUES (?)" },
	{ &s.member_get, "SELECT 1 FROM reservation_members WHERE member_id = ?" },
	{ &s.idem_get, "SELECT reservation_id, request_hash, status_code, body"
	    " FROM reservation_idempotency WHERE caller = ? AND key = ?" },
	{ &s.idem_insert, "INSERT INTO reservation_idempotency(caller, key,"
	    " request_hash, reservation_id, created_at) VALUES (?, ?, ?, ?, ?)" },
	{ &s.idem_finish, "UPDATE reservation_idempotency SET status_code = ?,"
	    " body = ? WHERE caller = ? AND key = ? AND status_code IS NULL" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

int
res_store_init(struct app *app)
{
	s.db = app->db;
	return db_prepare_all(app->db, stmts, NSTMTS);
}

void
res_store_fini(void)
{
	db_finalize_all(stmts, NSTMTS);
}

static void
text_col(char *dst, size_t n, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

static void
read_row(sqlite3_stmt *st, struct res_row *r)
{
	const unsigned char *reason = sqlite3_column_text(st, 4);

	r->id = sqlite3_column_int64(st, 0);
	r->class_id = sqlite3_column_int64(st, 1);
	r->member_id = sqlite3_column_int64(st, 2);
	snprintf(r->status, sizeof r->status, "%s", sqlite3_column_text(st, 3));
	snprintf(r->reason, sizeof r->reason, "%s", reason ? (const char *)reason : "");
	r->price = sqlite3_column_int64(st, 5);
	r->credits = sqlite3_column_int64(st, 6);
	r->created_at = sqlite3_column_int64(st, 7);
	r->updated_at = sqlite3_column_int64(st, 8);
	text_col(r->payment_method, sizeof r->payment_method, st, 9);
	text_col(r->payment_status, sizeof r->payment_status, st, 10);
	r->payment_amount = sqlite3_column_int64(st, 11);
	text_col(r->provider_ref, sizeof r->provider_ref, st, 12);
	r->refunded_amount = sqlite3_column_int64(st, 13);
	text_col(r->seat, sizeof r->seat, st, 14);
	r->room_id = sqlite3_column_int64(st, 15);
	r->starts_at = sqlite3_column_int64(st, 16);
	r->ends_at = sqlite3_column_int64(st, 17);
	r->refund = 0;
	r->waitlist = 0;
}

int
res_store_get(int64_t id, struct res_row *out)
{
	int rc;

	if (db_bind(s.get, "i", id) != 0)
		return -1;
	rc = db_step(s.db, s.get);
	if (rc == 1)
		read_row(s.get, out);
	db_reset(s.get);
	return rc < 0 ? -1 : rc;
}

int
res_store_insert(struct res_row *r)
{
	int rc;

	if (db_bind(s.insert, "iittiiiitiii", r->class_id, r->member_id,
	    r->status, r->reason[0] ? r->reason : NULL, r->price, r->credits,
	    r->created_at, r->updated_at, r->seat[0] ? r->seat : NULL, r->room_id,
	    r->starts_at, r->ends_at) != 0)
		return -1;
	rc = db_exec(s.db, s.insert);
	if (rc == 0)
		r->id = db_last_insert_id(s.db);
	return rc;
}

int
res_store_set_status(int64_t id, const char *status, const char *reason)
{
	if (db_bind(s.set_status, "ttii", status, reason, now_s(), id) != 0)
		return -1;
	return db_exec(s.db, s.set_status) == 0 ? 0 : -1;
}

int
res_store_set_amounts(int64_t id, int64_t price, int64_t credits)
{
	if (db_bind(s.set_amounts, "iii", price, credits, id) != 0)
		return -1;
	return db_exec(s.db, s.set_amounts) == 0 ? 0 : -1;
}

static const char *
or_null(const char *text)
{
	return text[0] ? text : NULL;
}

int
res_store_set_payment(const struct res_row *r)
{
	if (db_bind(s.set_payment, "ttitii", or_null(r->payment_method),
	    or_null(r->payment_status), r->payment_amount,
	    or_null(r->provider_ref), r->refunded_amount, r->id) != 0)
		return -1;
	return db_exec(s.db, s.set_payment) == 0 ? 0 : -1;
}

int
res_store_has_active(int64_t class_id, int64_t member_id)
{
	if (db_bind(s.has_active, "ii", class_id, member_id) != 0)
		return -1;
	return db_step_once(s.db, s.has_active);
}

static int
collect_ids(sqlite3_stmt *st, int64_t *ids, int max)
{
	int n = 0, rc = 0;

	while (n < max && (rc = db_step(s.db, st)) == 1)
		ids[n++] = sqlite3_column_int64(st, 0);
	db_reset(st);
	return rc < 0 ? -1 : n;
}

int
res_store_active_ids(int64_t class_id, int64_t *ids, int max)
{
	if (db_bind(s.active_ids, "ii", class_id, (int64_t)max) != 0)
		return -1;
	return collect_ids(s.active_ids, ids, max);
}

int
res_store_stale_pending(int64_t before, int64_t *ids, int max)
{
	if (db_bind(s.stale, "ii", before, (int64_t)max) != 0)
		return -1;
	return collect_ids(s.stale, ids, max);
}

int
res_store_roster(int64_t class_id, int64_t after, int64_t limit, json_t *items,
    int64_t *next)
{
	struct res_row r;
	int64_t n = 0;
	int rc;

	*next = 0;
	if (db_bind(s.roster, "iii", class_id, after, limit + 1) != 0)
		return -1;
	while ((rc = db_step(s.db, s.roster)) == 1) {
		if (n++ == limit) {
			*next = r.id;
			break;
		}
		read_row(s.roster, &r);
		json_array_append_new(items, res_to_json(&r));
	}
	db_reset(s.roster);
	return rc < 0 ? -1 : 0;
}

int
res_class_upsert(const json_t *p)
{
	const char *status = jget_str(p, "status");

	if (db_bind(s.class_upsert, "itiiiitii", jget_int(p, "class_id"),
	    jget_str(p, "title"), jget_int(p, "starts_at"), jget_int(p, "ends_at"),
	    jget_int(p, "price"), jget_int(p, "credits"),
	    status ? status : "scheduled",
	    (int64_t)json_is_true(json_object_get(p, "requires_approval")),
	    (int64_t)json_is_true(json_object_get(p, "has_seats"))) != 0)
		return -1;
	return db_exec(s.db, s.class_upsert) == 0 ? 0 : -1;
}

int
res_class_seat_add(int64_t class_id, const char *seat)
{
	if (db_bind(s.seat_add, "it", class_id, seat) != 0)
		return -1;
	return db_exec(s.db, s.seat_add) == 0 ? 0 : -1;
}

int
res_class_seat_exists(int64_t class_id, const char *seat)
{
	if (db_bind(s.seat_get, "it", class_id, seat) != 0)
		return -1;
	return db_step_once(s.db, s.seat_get);
}

int
res_room_upsert(const json_t *p)
{
	if (db_bind(s.room_upsert, "itiit", jget_int(p, "room_id"),
	    jget_str(p, "name"), jget_int(p, "hourly_price"),
	    (int64_t)json_is_true(json_object_get(p, "requires_approval")),
	    jget_str(p, "status")) != 0)
		return -1;
	return db_exec(s.db, s.room_upsert) == 0 ? 0 : -1;
}

int
res_room_get(int64_t room_id, struct res_room *out)
{
	int rc;

	memset(out, 0, sizeof *out);
	if (db_bind(s.room_get, "i", room_id) != 0)
		return -1;
	rc = db_step(s.db, s.room_get);
	if (rc == 1) {
		out->room_id = sqlite3_column_int64(s.room_get, 0);
		text_col(out->name, sizeof out->name, s.room_get, 1);
		out->hourly_price = sqlite3_column_int64(s.room_get, 2);
		out->requires_approval = sqlite3_column_int(s.room_get, 3);
		out->removed = strcmp((const char *)sqlite3_column_text(s.room_get,
		    4), "removed") == 0;
	}
	db_reset(s.room_get);
	return rc < 0 ? -1 : rc;
}

int
res_store_live_room_ids(int64_t room_id, int64_t *ids, int max)
{
	if (db_bind(s.room_live, "ii", room_id, (int64_t)max) != 0)
		return -1;
	return collect_ids(s.room_live, ids, max);
}

int64_t
res_store_position(const struct res_row *r)
{
	int64_t n = -1;

	if (db_bind(s.position, "ii", r->class_id, r->id) == 0 &&
	    db_step(s.db, s.position) == 1)
		n = sqlite3_column_int64(s.position, 0);
	db_reset(s.position);
	return n;
}

int
res_store_stale_awaiting(int64_t before, int64_t *ids, int max)
{
	if (db_bind(s.stale_awaiting, "ii", before, (int64_t)max) != 0)
		return -1;
	return collect_ids(s.stale_awaiting, ids, max);
}

int
res_class_set_cancelled(int64_t class_id)
{
	if (db_bind(s.class_cancel, "i", class_id) != 0)
		return -1;
	return db_exec(s.db, s.class_cancel) == 0 ? 0 : -1;
}

int
res_class_get(int64_t class_id, struct res_class *c)
{
	int rc;

	memset(c, 0, sizeof *c);
	if (db_bind(s.class_get, "i", class_id) != 0)
		return -1;
	rc = db_step(s.db, s.class_get);
	if (rc == 1) {
		c->class_id = sqlite3_column_int64(s.class_get, 0);
		c->title = db_column_strdup(s.class_get, 1);
		c->starts_at = sqlite3_column_int64(s.class_get, 2);
		c->ends_at = sqlite3_column_int64(s.class_get, 3);
		c->price = sqlite3_column_int64(s.class_get, 4);
		c->credits = sqlite3_column_int64(s.class_get, 5);
		c->cancelled = strcmp((const char *)sqlite3_column_text(
		    s.class_get, 6), "cancelled") == 0;
		c->requires_approval = sqlite3_column_int(s.class_get, 7);
		c->has_seats = sqlite3_column_int(s.class_get, 8);
	}
	db_reset(s.class_get);
	return rc < 0 ? -1 : rc;
}

void
res_class_release(struct res_class *c)
{
	free(c->title);
	c->title = NULL;
}

int
res_member_add(int64_t member_id)
{
	if (db_bind(s.member_add, "i", member_id) != 0)
		return -1;
	return db_exec(s.db, s.member_add) == 0 ? 0 : -1;
}

int
res_member_exists(int64_t member_id)
{
	if (db_bind(s.member_get, "i", member_id) != 0)
		return -1;
	return db_step_once(s.db, s.member_get);
}

int
res_idem_get(const char *caller, const char *key, struct res_idem *out)
{
	int rc;

	memset(out, 0, sizeof *out);
	if (db_bind(s.idem_get, "tt", caller, key) != 0)
		return -1;
	rc = db_step(s.db, s.idem_get);
	if (rc == 1) {
		const void *h = sqlite3_column_blob(s.idem_get, 1);

		out->reservation_id = sqlite3_column_int64(s.idem_get, 0);
		if (h != NULL && sqlite3_column_bytes(s.idem_get, 1) == 32)
			memcpy(out->hash, h, 32);
		out->status_code = sqlite3_column_int(s.idem_get, 2);
		out->body = db_column_strdup(s.idem_get, 3);
	}
	db_reset(s.idem_get);
	return rc < 0 ? -1 : rc;
}

int
res_idem_insert(const char *caller, const char *key,
    const unsigned char hash[32], int64_t reservation_id)
{
	if (db_bind(s.idem_insert, "tt", caller, key) != 0 ||
	    sqlite3_bind_blob(s.idem_insert, 3, hash, 32, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(s.idem_insert, 4, reservation_id) ||
	    sqlite3_bind_int64(s.idem_insert, 5, now_s()))
		return -1;
	return db_exec(s.db, s.idem_insert) == 0 ? 0 : -1;
}

int
res_idem_finish(const char *caller, const char *key, int status,
    const char *body)
{
	if (db_bind(s.idem_finish, "ittt", (int64_t)status, body, caller, key) != 0)
		return -1;
	return db_exec(s.db, s.idem_finish) == 0 ? 0 : -1;
}
