/* check.c - see check.h. Each invariant is one query that returns the
 * violating rows as text; no query has user data in it. */
#include "tools/check.h"

#include <sqlite3.h>

#include "core/util.h"

/* Holding (or about to hold) a place. */
#define ACTIVE "('pending', 'awaiting_approval', 'confirmed')"
/* Not yet over: active, or waiting in line. */
#define LIVE "('pending', 'waitlisted', 'awaiting_approval', 'confirmed')"

static const struct invariant {
	const char *name;
	const char *sql;            /* ?1 = now (s), ?2 = pending timeout (s) */
} invariants[] = {
	{ "booked equals the places held",
	  "SELECT 'class ' || c.id || ': booked ' || c.booked || ', places held '"
	  " || (SELECT count(*) FROM class_holds h WHERE h.class_id = c.id)"
	  " FROM classes c WHERE c.booked <>"
	  " (SELECT count(*) FROM class_holds h WHERE h.class_id = c.id)" },
	{ "booked never exceeds capacity",
	  "SELECT 'class ' || id || ': booked ' || booked || ' > capacity '"
	  " || capacity FROM classes WHERE booked > capacity" },
	{ "every held place belongs to an active reservation",
	  "SELECT 'hold of reservation ' || h.reservation_id || ' (class '"
	  " || h.class_id || '): reservation is '"
	  " || coalesce(r.status, 'missing') FROM class_holds h"
	  " LEFT JOIN reservations r ON r.id = h.reservation_id"
	  " WHERE r.id IS NULL OR r.status NOT IN " ACTIVE },
	{ "every confirmed or awaiting reservation holds a place or a slot",
	  "SELECT 'reservation ' || r.id || ' is ' || r.status || ' without a place'"
	  " FROM reservations r WHERE r.status IN ('confirmed', 'awaiting_approval')"
	  " AND NOT EXISTS (SELECT 1 FROM class_holds h"
	  " WHERE h.reservation_id = r.id) AND NOT EXISTS (SELECT 1 FROM room_slots"
	  " t WHERE t.reservation_id = r.id)" },
	{ "every held slot belongs to an active reservation",
	  "SELECT 'slot of reservation ' || t.reservation_id || ' (room '"
	  " || t.room_id || '): reservation is ' || coalesce(r.status, 'missing')"
	  " FROM room_slots t LEFT JOIN reservations r ON r.id = t.reservation_id"
	  " WHERE r.id IS NULL OR r.status NOT IN " ACTIVE },
	{ "a room slot overlaps no other",
	  "SELECT 'room ' || a.room_id || ': reservations ' || a.reservation_id"
	  " || ' and ' || b.reservation_id || ' overlap' FROM room_slots a"
	  " JOIN room_slots b ON b.room_id = a.room_id"
	  " AND b.reservation_id > a.reservation_id"
	  " AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at" },
	{ "booked equals the count of active reservations",
	  "SELECT 'class ' || c.id || ': booked ' || c.booked || ', active '"
	  " || (SELECT count(*) FROM reservations r WHERE r.class_id = c.id"
	  " AND r.status IN " ACTIVE " AND EXISTS (SELECT 1 FROM class_holds h"
	  " WHERE h.reservation_id = r.id)) FROM classes c WHERE c.booked <>"
	  " (SELECT count(*) FROM reservations r WHERE r.class_id = c.id"
	  " AND r.status IN " ACTIVE " AND EXISTS (SELECT 1 FROM class_holds h"
	  " WHERE h.reservation_id = r.id))" },
	{ "one live reservation per member and class",
	  "SELECT 'member ' || member_id || ' has ' || count(*) || ' live"
	  " reservations of class ' || class_id FROM reservations WHERE status IN "
	  LIVE " AND class_id IS NOT NULL GROUP BY class_id, member_id"
	  " HAVING count(*) > 1" },
	{ "a seat has at most one active reservation",
	  "SELECT 'seat ' || seat || ' of class ' || class_id || ' has '"
	  " || count(*) || ' active reservations' FROM reservations"
	  " WHERE seat IS NOT NULL AND status IN " ACTIVE
	  " GROUP BY class_id, seat HAVING count(*) > 1" },
	{ "a held seat is the seat its reservation names",
	  "SELECT 'reservation ' || r.id || ' names seat ' || coalesce(r.seat, '-')"
	  " || ' but holds ' || coalesce(h.seat, '-') FROM class_holds h"
	  " JOIN reservations r ON r.id = h.reservation_id"
	  " WHERE h.seat IS NOT r.seat" },
	{ "the waitlist length is the line's",
	  "SELECT 'class ' || c.id || ': waitlist ' || c.waitlist || ', in line '"
	  " || (SELECT count(*) FROM class_waitlist w WHERE w.class_id = c.id)"
	  " FROM classes c WHERE c.waitlist <>"
	  " (SELECT count(*) FROM class_waitlist w WHERE w.class_id = c.id)" },
	{ "waitlisted reservations, and only they, are in line",
	  "SELECT 'reservation ' || r.id || ' is waitlisted but not in line'"
	  " FROM reservations r WHERE r.status = 'waitlisted' AND NOT EXISTS"
	  " (SELECT 1 FROM class_waitlist w WHERE w.reservation_id = r.id)"
	  " UNION ALL SELECT 'reservation ' || w.reservation_id || ' is in line"
	  " but ' || coalesce(r.status, 'missing') FROM class_waitlist w"
	  " LEFT JOIN reservations r ON r.id = w.reservation_id"
	  " WHERE coalesce(r.status, '') <> 'waitlisted'" },
	{ "every saga is settled or still live",
	  "SELECT 'reservation ' || id || ' pending since ' || updated_at"
	  " FROM reservations WHERE status = 'pending' AND updated_at < ?1 - ?2 - 60" },
	{ "no credit balance below zero",
	  "SELECT 'member ' || member_id || ': balance ' || sum(amount)"
	  " FROM member_credits GROUP BY member_id HAVING sum(amount) < 0" },
	{ "credits are debited only for a booking that took a place",
	  "SELECT 'reservation ' || d.reservation_id || ' debited but is '"
	  " || coalesce(r.status, 'missing') || ' and not refunded'"
	  " FROM member_credits d LEFT JOIN reservations r ON r.id = d.reservation_id"
	  " WHERE d.reason = 'booking' AND (r.id IS NULL OR r.status = 'rejected')"
	  " AND NOT EXISTS (SELECT 1 FROM member_credits f WHERE f.reason = 'refund'"
	  " AND f.reservation_id = d.reservation_id)" },
	{ "a confirmed card booking has a succeeded charge",
	  "SELECT 'reservation ' || r.id || ' confirmed with payment '"
	  " || coalesce(p.status, 'missing') FROM reservations r"
	  " LEFT JOIN payments p ON p.reservation_id = r.id"
	  " WHERE r.status = 'confirmed' AND r.payment_method = 'card'"
	  " AND (p.id IS NULL OR p.status NOT IN ('succeeded', 'at_desk'))" },
	{ "a succeeded charge belongs to a confirmed or refunded booking",
	  "SELECT 'charge ' || p.id || ' of reservation ' || p.reservation_id"
	  " || ' succeeded but the reservation is ' || coalesce(r.status, 'missing')"
	  " FROM payments p LEFT JOIN reservations r ON r.id = p.reservation_id"
	  " WHERE p.status = 'succeeded' AND coalesce(r.status, '') <> 'confirmed'"
	  " AND NOT EXISTS (SELECT 1 FROM payment_refunds f WHERE f.payment_id = p.id)"
	  " AND NOT (r.status = 'cancelled' AND r.payment_status <> 'refunded'"
	  " AND r.reason IN ('member', 'admin'))" },
	{ "the member's page agrees with the reservations",
	  "SELECT 'reservation ' || r.id || ' is ' || r.status || ', the member''s"
	  " page says ' || coalesce(m.status, 'nothing') FROM reservations r"
	  " LEFT JOIN mypage_reservations m ON m.reservation_id = r.id"
	  " WHERE m.status IS NOT r.status"
	  " AND NOT EXISTS (SELECT 1 FROM outbox o, bus_cursor c"
	  " WHERE c.consumer = 'mypage' AND o.id > c.last_id)" },
};

/* Run one invariant; print each violation. The count, or -1. */
static int
run_one(sqlite3 *db, const struct invariant *inv, int64_t pending_timeout_s,
    FILE *out)
{
	sqlite3_stmt *st = NULL;
	int n = 0, rc;

	if (sqlite3_prepare_v2(db, inv->sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(out, "error: %s: %s\n", inv->name, sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, now_s());
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, pending_timeout_s);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fprintf(out, "violation: %s: %s\n", inv->name,
		    (const char *)sqlite3_column_text(st, 0));
		n++;
	}
	if (rc != SQLITE_DONE) {
		fprintf(out, "error: %s: %s\n", inv->name, sqlite3_errmsg(db));
		n = -1;
	}
	sqlite3_finalize(st);
	return n;
}

/* Events past some consumer's cursor: not a violation (the next start
 * dispatches them), but worth saying. */
static void
report_backlog(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM outbox WHERE id >"
	    " (SELECT coalesce(min(last_id), 0) FROM bus_cursor)", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_int64(st, 0) > 0)
		fprintf(out, "note: %lld event(s) not yet dispatched; the next start"
		    " dispatches them\n", (long long)sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
}

int
check_database(const char *path, int64_t pending_timeout_s, FILE *out)
{
	sqlite3 *db = NULL;
	int violations = 0, failed = 0;
	size_t n = sizeof invariants / sizeof invariants[0];

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(out, "error: cannot open %s: %s\n", path,
		    db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return 2;
	}
	sqlite3_busy_timeout(db, 5000);
	/* One read transaction: every invariant sees the same instant. */
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		int v = run_one(db, &invariants[i], pending_timeout_s, out);

		if (v < 0)
			failed = 1;
		else
			violations += v;
	}
	report_backlog(db, out);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	if (failed)
		return 2;
	fprintf(out, "%s: %zu invariants checked, %d violation(s)\n",
	    violations ? "FAILED" : "ok", n, violations);
	return violations ? 1 : 0;
}
