/* member.c - see member.h. Small enough that routes and SQL live together. */
#include "modules/member/member.h"

#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "core/db.h"
#include "core/log.h"
#include "core/util.h"
#include "http/auth.h"
#include "http/http.h"
#include "http/validate.h"

static struct {
	struct app *app;
	sqlite3_stmt *insert, *get;
} m;

static const struct db_stmt_def stmts[] = {
	{ &m.insert, "INSERT INTO members(name, email, created_at) VALUES (?, ?, ?)" },
	{ &m.get, "SELECT id, name, email, created_at FROM members WHERE id = ?" },
};
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
		j = json_pack("{s:I, s:s, s:s, s:i, s:o}",
		    "id", (json_int_t)sqlite3_column_int64(m.get, 0),
		    "name", (const char *)sqlite3_column_text(m.get, 1),
		    "email", (const char *)sqlite3_column_text(m.get, 2),
		    "credits", 0,
		    "created_at", http_time(sqlite3_column_int64(m.get, 3)));
	*err = rc < 0;
	db_reset(m.get);
	return j;
}

/* POST /members {"name","email"} -> 201 with the token, shown this once. */
static int
create_member(struct http_req *req)
{
	static const char *const allowed[] = { "name", "email", NULL };
	json_t *body = http_body_object(req), *out;
	const char *name = NULL, *email = NULL;
	struct vctx v;
	char *token = NULL, *where = NULL;
	int64_t id, now = now_s();
	int rc = -1, err;

	if (body == NULL)
		return -1;
	v_begin(&v, body, allowed);
	v_string(&v, "name", V_REQUIRED, 200, &name);
	v_email(&v, "email", V_REQUIRED, &email);
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
	http_reply(req, 200, json_pack("{s:s, s:o}", "role", "member", "member", j));
	return 0;
}

static const struct http_route routes[] = {
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
