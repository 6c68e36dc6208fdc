/*
 * member.c - see member.h. Members, their tokens, and their credits ledger
 * (the balance is always the sum of the ledger, never stored). The ledger
 * takes part in the booking saga: it debits a class's credits on
 * class.capacity_reserved (payment_method "credits") and gives them back
 * when the booking is rejected or cancelled with a refund.
 */
#include "modules/member/member.h"

#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "core/db.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/auth.h"
#include "http/http.h"
#include "http/validate.h"

static struct {
	struct app *app;
	sqlite3_stmt *insert, *get, *balance, *ledger_add, *ledger_list,
	    *booking_debit, *calendar_get, *calendar_set;
} m;

static const struct db_stmt_def stmts[] = {
	{ &m.insert, "INSERT INTO members(name, email, created_at) VALUES (?, ?, ?)" },
	{ &m.get, "SELECT id, name, email, created_at FROM members WHERE id = ?" },
	{ &m.balance, "SELECT coalesce(sum(amount), 0) FROM member_credits"
	    " WHERE member_id = ?" },
	{ &m.ledger_add, "INSERT OR IGNORE INTO member_credits(member_id, amount,"
	    " reason, reservation_id, created_at) VALUES (?, ?, ?, ?, ?)" },
	{ &m.ledger_list, "SELECT id, amount, reason, reservation_id, created_at"
	    " FROM member_credits WHERE member_id = ? AND id > ? ORDER BY id LIMIT ?" },
	{ &m.booking_debit, "SELECT -amount FROM member_credits"
	    " WHERE reservation_id = ? AND reason = 'booking'" },
	{ &m.calendar_get, "SELECT calendar_url FROM members WHERE id = ?" },
	{ &m.calendar_set, "UPDATE members SET calendar_url = ? WHERE id = ?" },
};

#define MAX_CREDIT_CHANGE 100000

/* The member's balance (the ledger's sum), or -1 on error. */
static int64_t
balance_of(int64_t member_id)
{
	int64_t b = -1;

	if (db_bind(m.balance, "i", member_id) == 0 &&
	    db_step(m.app->db, m.balance) == 1)
		b = sqlite3_column_int64(m.balance, 0);
	db_reset(m.balance);
	return b;
}

/*
 * Append amount to the ledger. 1 written, 0 ignored (this reservation
 * already has a row of this reason), -1 error.
 */
static int
ledger_add(int64_t member_id, int64_t amount, const char *reason,
    int64_t reservation_id)
{
	if (db_bind(m.ledger_add, "iit", member_id, amount, reason) != 0)
		return -1;
	if (reservation_id > 0)
		sqlite3_bind_int64(m.ledger_add, 4, reservation_id);
	sqlite3_bind_int64(m.ledger_add, 5, now_s());
	if (db_exec(m.app->db, m.ledger_add) != 0)
		return -1;
	return db_changes(m.app->db) > 0;
}
#define NSTMTS (sizeof stmts / sizeof stmts[0])

/* The member as JSON, or NULL if there is none (or the query failed: *err). */
static json_t *
member_load(int64_t id, int *err)
{
	json_t *j = NULL;
	int rc;

	*err = 0;
	if (db_bind(m.get, "i", id) != 0) {
		*err = 1;
		return NULL;
	}
	rc = db_step(m.app->db, m.get);
	if (rc == 1)
		j = json_pack("{s:I, s:s, s:s, s:o}",
		    "id", (json_int_t)sqlite3_column_int64(m.get, 0),
		    "name", (const char *)sqlite3_column_text(m.get, 1),
		    "email", (const char *)sqlite3_column_text(m.get, 2),
		    "created_at", http_time(sqlite3_column_int64(m.get, 3)));
	*err = rc < 0;
	db_reset(m.get);
	if (j != NULL) {
		int64_t b = balance_of(id);

		if (b < 0) {
			json_decref(j);
			*err = 1;
			return NULL;
		}
		json_object_set_new(j, "credits", json_integer(b));
	}
	return j;
}

/* POST /members {"name","email"} -> 201 with the token, shown this once. */
static int
create_member(struct http_req *req)
{
	static const char *const allowed[] = { "name", "email", "credits", NULL };
	json_t *body = http_body_object(req), *out;
	const char *name = NULL, *email = NULL;
	struct vctx v;
	char *token = NULL, *where = NULL;
	int64_t id, now = now_s(), credits = 0;
	int rc = -1, err;

	if (body == NULL)
		return -1;
	v_begin(&v, body, allowed);
	v_string(&v, "name", V_REQUIRED, 200, &name);
	v_email(&v, "email", V_REQUIRED, &email);
	v_int(&v, "credits", V_OPTIONAL, 0, MAX_CREDIT_CHANGE, &credits);
	if (!v_ok(&v)) {
		http_problem_invalid(req, v_take(&v));
		goto out;
	}
	if (db_bind(m.insert, "tti", name, email, now) != 0)
		goto out;
	rc = db_exec(m.app->db, m.insert);
	if (rc == DB_CONSTRAINT) {
		http_problem(req, 409, "email_taken", "E-mail already registered",
		    "a member with this e-mail address exists");
		goto out;
	}
	if (rc != 0)
		goto out;
	rc = -1;
	id = db_last_insert_id(m.app->db);
	if (credits > 0 && ledger_add(id, credits, "initial grant", 0) < 0)
		goto out;
	token = auth_token_issue(ROLE_MEMBER, id);
	if (token == NULL)
		goto out;
	if (bus_publish(m.app->bus, "member.created", NULL, json_pack(
	    "{s:I, s:s, s:s}", "member_id", (json_int_t)id, "name", name,
	    "email", email)) < 0)
		goto out;
	out = member_load(id, &err);
	if (out == NULL)
		goto out;
	json_object_set_new(out, "token", json_string(token));
	where = xasprintf(API "/members/%lld", (long long)id);
	http_reply_at(req, 201, out, where);
	log_info("member created", "member_id=%lld", (long long)id);
	rc = 0;
out:
	v_end(&v);
	free(token);
	free(where);
	return rc;
}

/* GET /members/{id}: the studio, or that member. */
static int
get_member(struct http_req *req)
{
	int64_t id = http_param(req, 0);
	const struct principal *who = http_who(req);
	json_t *j;
	int err;

	if (who->role != ROLE_ADMIN && who->member_id != id)
		return http_forbidden(req);
	j = member_load(id, &err);
	if (j == NULL)
		return err ? -1 : http_not_found(req, "member", id);
	http_reply(req, 200, j);
	return 0;
}

/* Put the member's calendar feed path (or null) into j. 0 or -1. */
static int
put_calendar_url(json_t *j, int64_t id)
{
	int rc;

	if (db_bind(m.calendar_get, "i", id) != 0)
		return -1;
	rc = db_step(m.app->db, m.calendar_get);
	if (rc == 1)
		jput_str(j, "calendar_url",
		    (const char *)sqlite3_column_text(m.calendar_get, 0));
	db_reset(m.calendar_get);
	return rc == 1 ? 0 : -1;
}

/* GET /me: who the token belongs to. */
static int
get_me(struct http_req *req)
{
	const struct principal *who = http_who(req);
	json_t *j;
	int err;

	if (who->role == ROLE_ADMIN) {
		http_reply(req, 200, json_pack("{s:s}", "role", "admin"));
		return 0;
	}
	j = member_load(who->member_id, &err);
	if (j == NULL)
		return -1;
	if (put_calendar_url(j, who->member_id) != 0) {
		json_decref(j);
		return -1;
	}
	http_reply(req, 200, json_pack("{s:s, s:o}", "role", "member", "member", j));
	return 0;
}

/* POST /members/{id}/credits {"amount","reason"}: grant (+) or remove (-). */
static int
change_credits(struct http_req *req)
{
	static const char *const allowed[] = { "amount", "reason", NULL };
	int64_t id = http_param(req, 0), amount = 0, balance;
	json_t *body = http_body_object(req), *j;
	const char *reason = NULL;
	struct vctx v;
	int err, rc = -1;

	if (body == NULL)
		return -1;
	v_begin(&v, body, allowed);
	if (v_int(&v, "amount", V_REQUIRED, -MAX_CREDIT_CHANGE, MAX_CREDIT_CHANGE,
	    &amount) == 1 && amount == 0)
		v_error(&v, "amount", "must not be 0");
	v_string(&v, "reason", V_REQUIRED, 200, &reason);
	if (!v_ok(&v)) {
		http_problem_invalid(req, v_take(&v));
		goto out;
	}
	j = member_load(id, &err);
	if (j == NULL) {
		if (!err)
			http_not_found(req, "member", id);
		goto out;
	}
	balance = jget_int(j, "credits");
	json_decref(j);
	if (balance + amount < 0) {
		http_problem_x(req, 409, "insufficient_credits", "Insufficient credits",
		    json_pack("{s:I}", "credits", (json_int_t)balance),
		    "the balance is %lld; it cannot go below 0", (long long)balance);
		goto out;
	}
	if (ledger_add(id, amount, reason, 0) < 0 ||
	    bus_publish(m.app->bus, "credits.adjusted", NULL, json_pack(
	    "{s:I, s:I, s:s, s:I}", "member_id", (json_int_t)id,
	    "amount", (json_int_t)amount, "reason", reason,
	    "balance", (json_int_t)(balance + amount))) < 0)
		goto out;
	http_reply(req, 200, json_pack("{s:I}", "credits",
	    (json_int_t)(balance + amount)));
	log_info("credits adjusted", "member_id=%lld amount=%lld balance=%lld",
	    (long long)id, (long long)amount, (long long)(balance + amount));
	rc = 0;
out:
	v_end(&v);
	return rc;
}

/* GET /members/{id}/credits: the ledger, oldest first, and the balance. */
static int
list_credits(struct http_req *req)
{
	int64_t id = http_param(req, 0), limit, after, next = 0, count = 0, b;
	const struct principal *who = http_who(req);
	sqlite3_stmt *st = m.ledger_list;
	json_t *items, *j;
	int rc, err;

	if (who->role != ROLE_ADMIN && who->member_id != id)
		return http_forbidden(req);
	if (http_page(req, &limit, &after) != 0)
		return -1;
	j = member_load(id, &err);
	if (j == NULL)
		return err ? -1 : http_not_found(req, "member", id);
	b = jget_int(j, "credits");
	json_decref(j);
	if (db_bind(st, "iii", id, after, limit + 1) != 0)
		return -1;
	items = json_array();
	while ((rc = db_step(m.app->db, st)) == 1) {
		if (count++ == limit)
			break;
		next = sqlite3_column_int64(st, 0);
		j = json_pack("{s:I, s:I, s:s, s:o}", "id", (json_int_t)next,
		    "amount", (json_int_t)sqlite3_column_int64(st, 1),
		    "reason", (const char *)sqlite3_column_text(st, 2),
		    "created_at", http_time(sqlite3_column_int64(st, 4)));
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			json_object_set_new(j, "reservation_id",
			    json_integer(sqlite3_column_int64(st, 3)));
		json_array_append_new(items, j);
	}
	db_reset(st);
	if (rc < 0) {
		json_decref(items);
		return -1;
	}
	j = http_list(items, count > limit ? next : 0);
	json_object_set_new(j, "credits", json_integer(b));
	http_reply(req, 200, j);
	return 0;
}

/* class.capacity_reserved paid in credits: debit them, or say there are too few. */
static int
on_capacity_reserved(const struct bus_event *ev, void *arg)
{
	const char *method = jget_str(ev->payload, "payment_method");
	int64_t rid = jget_int(ev->payload, "reservation_id");
	int64_t member_id = jget_int(ev->payload, "member_id");
	int64_t needed = jget_int(ev->payload, "credits"), balance;
	int written;

	(void)arg;
	if (method == NULL || strcmp(method, "credits") != 0)
		return 0;
	balance = balance_of(member_id);
	if (balance < 0)
		return -1;
	if (balance < needed) {
		log_info("credits insufficient", "reservation_id=%lld member_id=%lld"
		    " balance=%lld needed=%lld", (long long)rid, (long long)member_id,
		    (long long)balance, (long long)needed);
		return bus_publish(m.app->bus, "credits.insufficient",
		    ev->correlation_id, json_pack("{s:I, s:I, s:I, s:I}",
		    "reservation_id", (json_int_t)rid, "member_id",
		    (json_int_t)member_id, "needed", (json_int_t)needed,
		    "balance", (json_int_t)balance)) < 0 ? -1 : 0;
	}
	written = ledger_add(member_id, -needed, "booking", rid);
	if (written <= 0)
		return written; /* 0: already debited; nothing to say again */
	return bus_publish(m.app->bus, "credits.debited", ev->correlation_id,
	    json_pack("{s:I, s:I, s:I, s:I}", "reservation_id", (json_int_t)rid,
	    "member_id", (json_int_t)member_id, "amount", (json_int_t)needed,
	    "balance", (json_int_t)(balance - needed))) < 0 ? -1 : 0;
}

/*
 * reservation.rejected, or reservation.cancelled with "refund": true - give
 * back what the booking debited, once.
 */
static int
on_reservation_ended(const struct bus_event *ev, void *arg)
{
	int64_t rid = jget_int(ev->payload, "reservation_id");
	int64_t member_id = jget_int(ev->payload, "member_id"), amount = 0;
	int rc, written;

	(void)arg;
	if (strcmp(ev->type, "reservation.cancelled") == 0 &&
	    !json_is_true(json_object_get(ev->payload, "refund")))
		return 0;
	if (db_bind(m.booking_debit, "i", rid) != 0)
		return -1;
	rc = db_step(m.app->db, m.booking_debit);
	if (rc == 1)
		amount = sqlite3_column_int64(m.booking_debit, 0);
	db_reset(m.booking_debit);
	if (rc <= 0)
		return rc; /* nothing was debited */
	written = ledger_add(member_id, amount, "refund", rid);
	if (written <= 0)
		return written;
	log_info("credits refunded", "reservation_id=%lld member_id=%lld amount=%lld",
	    (long long)rid, (long long)member_id, (long long)amount);
	return bus_publish(m.app->bus, "credits.refunded", ev->correlation_id,
	    json_pack("{s:I, s:I, s:I}", "reservation_id", (json_int_t)rid,
	    "member_id", (json_int_t)member_id, "amount", (json_int_t)amount)) < 0 ?
	    -1 : 0;
}

/* calendar.feed_changed: the feed's new path, for GET /me. */
static int
on_feed_changed(const struct bus_event *ev, void *arg)
{
	(void)arg;
	if (db_bind(m.calendar_set, "ti", jget_str(ev->payload, "path"),
	    jget_int(ev->payload, "member_id")) != 0)
		return -1;
	return db_exec(m.app->db, m.calendar_set) == 0 ? 0 : -1;
}

static const struct bus_route bus_routes[] = {
	{ "calendar.feed_changed", on_feed_changed, NULL },
	{ "class.capacity_reserved", on_capacity_reserved, NULL },
	{ "reservation.rejected", on_reservation_ended, NULL },
	{ "reservation.cancelled", on_reservation_ended, NULL },
	{ NULL, NULL, NULL },
};

static const struct http_route routes[] = {
	{ EVHTTP_REQ_POST, API "/members/{id}/credits", change_credits,
	    ACCESS_ADMIN },
	{ EVHTTP_REQ_GET, API "/members/{id}/credits", list_credits, ACCESS_USER },
	{ EVHTTP_REQ_POST, API "/members", create_member, ACCESS_ADMIN },
	{ EVHTTP_REQ_GET, API "/members/{id}", get_member, ACCESS_USER },
	{ EVHTTP_REQ_GET, API "/me", get_me, ACCESS_USER },
};

static int
member_init(struct app *app)
{
	m.app = app;
	if (db_prepare_all(app->db, stmts, NSTMTS) != 0)
		return -1;
	http_add_routes(app, routes, (int)(sizeof routes / sizeof routes[0]));
	bus_subscribe(app->bus, "member", bus_routes, NULL);
	return 0;
}

static void
member_fini(struct app *app)
{
	(void)app;
	db_finalize_all(stmts, NSTMTS);
}

const struct module member_module = {
	.name = "member",
	.init = member_init,
	.fini = member_fini,
};
