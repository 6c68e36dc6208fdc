/* payment_store.c - the payment module's SQL, prepared once. */
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "core/app.h"
#include "core/config.h"
#include "core/db.h"
#include "core/util.h"
#include "modules/payment/payment_internal.h"

static struct {
	struct db *db;
	sqlite3_stmt *charge_insert, *charge_get, *charge_of, *charge_set,
	    *charge_retry, *charge_void, *charge_unknown, *refund_insert, *refund_get, *refund_set,
	    *refund_retry, *due_charges, *due_refunds, *next_due;
} s;

static const struct db_stmt_def stmts[] = {
	{ &s.charge_insert, "INSERT INTO payments(reservation_id, member_id, amount,"
	    " currency, status, idempotency_key, next_attempt_at, created_at,"
	    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)" },
	{ &s.charge_get, "SELECT id, reservation_id, amount, attempts,"
	    " idempotency_key, status, void_requested, next_attempt_at,"
	    " outcome_unknown FROM payments WHERE id = ?" },
	{ &s.charge_unknown, "UPDATE payments SET outcome_unknown = 1"
	    " WHERE id = ?" },
	{ &s.charge_of, "SELECT id, status, attempts FROM payments"
	    " WHERE reservation_id = ?" },
	{ &s.charge_set, "UPDATE payments SET status = ?, provider_ref = ?,"
	    " last_error = ?, updated_at = ? WHERE id = ?" },
	{ &s.charge_retry, "UPDATE payments SET attempts = ?, next_attempt_at = ?,"
	    " last_error = ?, updated_at = ? WHERE id = ?" },
	{ &s.charge_void, "UPDATE payments SET void_requested = 1 WHERE id = ?" },
	{ &s.refund_insert, "INSERT OR IGNORE INTO payment_refunds(payment_id,"
	    " amount, status, idempotency_key, next_attempt_at, created_at,"
	    " updated_at) VALUES (?, ?, 'pending', ?, ?, ?, ?)" },
	{ &s.refund_get, "SELECT r.id, p.reservation_id, r.amount, r.attempts,"
	    " r.idempotency_key, r.status, p.provider_ref FROM payment_refunds r"
	    " JOIN payments p ON p.id = r.payment_id WHERE r.id = ?" },
	{ &s.refund_set, "UPDATE payment_refunds SET status = ?, provider_ref = ?,"
	    " last_error = ?, updated_at = ? WHERE id = ?" },
	{ &s.refund_retry, "UPDATE payment_refunds SET attempts = ?,"
	    " next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?" },
	{ &s.due_charges, "SELECT id FROM payments WHERE status = 'pending'"
	    " AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?" },
	{ &s.due_refunds, "SELECT id FROM payment_refunds WHERE status = 'pending'"
	    " AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?" },
	{ &s.next_due, "SELECT min(t) FROM ("
	    " SELECT min(next_attempt_at) AS t FROM payments WHERE status = 'pending'"
	    " UNION ALL SELECT min(next_attempt_at) FROM payment_refunds"
	    " WHERE status = 'pending')" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

int
pay_store_init(struct app *app)
{
	s.db = app->db;
	return db_prepare_all(app->db, stmts, NSTMTS);
}

void
pay_store_fini(void)
{
	db_finalize_all(stmts, NSTMTS);
}

/*
 * An idempotency key: made once, stored in the job's row, and read from
 * there for every attempt, so a retry (after a crash too) repeats it. The
 * random part keeps it unique across databases: after a backup is
 * restored, a reused reservation id must not match an old charge.
 */
static void
make_key(char *key, size_t n, const char *kind, int64_t id)
{
	unsigned char rnd[8];
	char hex[sizeof rnd * 2 + 1];

	randombytes_buf(rnd, sizeof rnd);
	sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
	snprintf(key, n, "studiod-%s-%lld-%s", kind, (long long)id, hex);
}

int
pay_charge_insert(int64_t reservation_id, int64_t member_id, int64_t amount,
    const char *status, int64_t *id)
{
	char key[64];
	int64_t now = now_s();

	make_key(key, sizeof key, "charge", reservation_id);
	if (db_bind(s.charge_insert, "iiitttiii", reservation_id, member_id, amount,
	    pay_app->cfg->payment_currency, status, key, now_ms(), now, now) != 0 ||
	    db_exec(s.db, s.charge_insert) != 0)
		return -1;
	*id = db_last_insert_id(s.db);
	return 0;
}

static void
copy_text(char *dst, size_t n, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

int
pay_charge_get(int64_t id, struct pay_job *j, char status[16],
    int *void_requested)
{
	sqlite3_stmt *st = s.charge_get;
	int rc;

	memset(j, 0, sizeof *j);
	if (db_bind(st, "i", id) != 0)
		return -1;
	rc = db_step(s.db, st);
	if (rc == 1) {
		j->kind = JOB_CHARGE;
		j->id = sqlite3_column_int64(st, 0);
		j->reservation_id = sqlite3_column_int64(st, 1);
		j->amount = sqlite3_column_int64(st, 2);
		j->attempts = sqlite3_column_int(st, 3);
		copy_text(j->key, sizeof j->key, st, 4);
		copy_text(status, 16, st, 5);
		*void_requested = sqlite3_column_int(st, 6);
		j->due_ms = sqlite3_column_int64(st, 7);
		j->outcome_unknown = sqlite3_column_int(st, 8);
	}
	db_reset(st);
	return rc < 0 ? -1 : rc;
}

int
pay_refund_get(int64_t id, struct pay_job *j, char status[16])
{
	sqlite3_stmt *st = s.refund_get;
	int rc;

	memset(j, 0, sizeof *j);
	if (db_bind(st, "i", id) != 0)
		return -1;
	rc = db_step(s.db, st);
	if (rc == 1) {
		j->kind = JOB_REFUND;
		j->id = sqlite3_column_int64(st, 0);
		j->reservation_id = sqlite3_column_int64(st, 1);
		j->amount = sqlite3_column_int64(st, 2);
		j->attempts = sqlite3_column_int(st, 3);
		copy_text(j->key, sizeof j->key, st, 4);
		copy_text(status, 16, st, 5);
		copy_text(j->charge_ref, sizeof j->charge_ref, st, 6);
	}
	db_reset(st);
	return rc < 0 ? -1 : rc;
}

int
pay_charge_of(int64_t reservation_id, int64_t *id, char status[16],
    int *attempts)
{
	int rc;

	if (db_bind(s.charge_of, "i", reservation_id) != 0)
		return -1;
	rc = db_step(s.db, s.charge_of);
	if (rc == 1) {
		*id = sqlite3_column_int64(s.charge_of, 0);
		copy_text(status, 16, s.charge_of, 1);
		*attempts = sqlite3_column_int(s.charge_of, 2);
	}
	db_reset(s.charge_of);
	return rc < 0 ? -1 : rc;
}

static int
set_outcome(sqlite3_stmt *st, int64_t id, const char *status, const char *ref,
    const char *error)
{
	if (db_bind(st, "tttii", status, ref, error, now_s(), id) != 0)
		return -1;
	return db_exec(s.db, st) == 0 ? 0 : -1;
}

static int
set_retry(sqlite3_stmt *st, int64_t id, int attempts, int64_t next_at_ms,
    const char *error)
{
	if (db_bind(st, "iitii", (int64_t)attempts, next_at_ms, error, now_s(),
	    id) != 0)
		return -1;
	return db_exec(s.db, st) == 0 ? 0 : -1;
}

int
pay_charge_set(int64_t id, const char *status, const char *ref,
    const char *error)
{
	return set_outcome(s.charge_set, id, status, ref, error);
}

int
pay_charge_retry(int64_t id, int attempts, int64_t next_at_ms, const char *error)
{
	return set_retry(s.charge_retry, id, attempts, next_at_ms, error);
}

int
pay_charge_mark_unknown(int64_t id)
{
	if (db_bind(s.charge_unknown, "i", id) != 0)
		return -1;
	return db_exec(s.db, s.charge_unknown) == 0 ? 0 : -1;
}

int
pay_charge_void(int64_t id)
{
	if (db_bind(s.charge_void, "i", id) != 0)
		return -1;
	return db_exec(s.db, s.charge_void) == 0 ? 0 : -1;
}

int
pay_refund_insert(int64_t payment_id, int64_t amount)
{
	char key[64];
	int64_t now = now_s();

	make_key(key, sizeof key, "refund", payment_id);
	if (db_bind(s.refund_insert, "iitiii", payment_id, amount, key, now_ms(),
	    now, now) != 0)
		return -1;
	return db_exec(s.db, s.refund_insert) == 0 ? 0 : -1;
}

int
pay_refund_set(int64_t id, const char *status, const char *ref,
    const char *error)
{
	return set_outcome(s.refund_set, id, status, ref, error);
}

int
pay_refund_retry(int64_t id, int attempts, int64_t next_at_ms, const char *error)
{
	return set_retry(s.refund_retry, id, attempts, next_at_ms, error);
}

int
pay_due(enum job_kind kind, int64_t now, int64_t *ids, int max)
{
	sqlite3_stmt *st = kind == JOB_CHARGE ? s.due_charges : s.due_refunds;
	int n = 0, rc = 0;

	if (db_bind(st, "ii", now, (int64_t)max) != 0)
		return -1;
	while (n < max && (rc = db_step(s.db, st)) == 1)
		ids[n++] = sqlite3_column_int64(st, 0);
	db_reset(st);
	return rc < 0 ? -1 : n;
}

int64_t
pay_next_due(void)
{
	int64_t t = -1;

	if (db_step(s.db, s.next_due) == 1)
		t = sqlite3_column_int64(s.next_due, 0); /* NULL reads as 0 */
	db_reset(s.next_due);
	return t;
}
