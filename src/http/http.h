/*
 * http.h - what a module sees of HTTP: its route table, the request, and
 * the replies. Everything else (evhttp, batching, auth) is server.c's.
 *
 * A handler runs inside a unit of work (a savepoint of the batch) for
 * POST/PATCH/PUT/DELETE, or directly against committed state for GET. It
 * sets exactly one reply (http_reply, http_problem, ...) or calls
 * http_wait, and returns 0 to keep its writes or -1 to roll them back. A
 * handler that returns -1 without a reply answers 500.
 */
#ifndef STUDIOD_HTTP_H
#define STUDIOD_HTTP_H

#include <stdint.h>
#include <event2/http.h>
#include <jansson.h>

struct app;
struct http_req;

enum http_access {
	ACCESS_PUBLIC,      /* no token needed */
	ACCESS_USER,        /* any valid token; the handler checks ownership */
	ACCESS_ADMIN,       /* the studio */
	ACCESS_MEMBER,      /* a member's own token */
};

enum role { ROLE_NONE, ROLE_ADMIN, ROLE_MEMBER };

struct principal {
	enum role role;
	int64_t member_id;  /* ROLE_MEMBER only */
	int64_t token_id;
};

typedef int (*http_handler)(struct http_req *req);

struct http_route {
	unsigned method;    /* EVHTTP_REQ_GET, ... */
	const char *pattern;
	http_handler fn;
	enum http_access access;
};

#define API "/api/v1"

/* Add fn's JSON (a new reference) to GET /readyz under `name`. */
void http_add_ready_detail(struct app *app, const char *name,
    json_t *(*fn)(void));

/* Register a module's route table (static storage). */
void http_add_routes(struct app *app, const struct http_route *routes, int n);

struct app *http_app(struct http_req *req);
/* The i-th {id} of the path. */
int64_t http_param(struct http_req *req, int i);
/* A query parameter, or NULL. */
const char *http_query(struct http_req *req, const char *key);
const char *http_header(struct http_req *req, const char *name);
const struct principal *http_who(struct http_req *req);
int http_is_admin(struct http_req *req);
const char *http_request_id(struct http_req *req);

/*
 * The JSON object body, parsed once (borrowed). On a wrong content type,
 * bad JSON or a non-object it sets the 415/400 problem and returns NULL.
 */
json_t *http_body_object(struct http_req *req);

/*
 * ?limit= (default 50, 1..500) and ?after= (an id, default 0). On a bad
 * value it sets a 422 and returns -1.
 */
int http_page(struct http_req *req, int64_t *limit, int64_t *after);
/* {"items": items, "next": next or null}; steals items. */
json_t *http_list(json_t *items, int64_t next);

/* A Unix time as an RFC 3339 UTC JSON string; json null for t < 0. */
json_t *http_time(int64_t t);

/*
 * Set a member of a reply object without jansson's per-call format parsing
 * and UTF-8 checks: key is one of our literals, and strings come from our
 * own database (checked when they came in). jput_str takes NULL as null.
 */
void jput_int(json_t *o, const char *key, int64_t v);
void jput_str(json_t *o, const char *key, const char *s);
void jput_bool(json_t *o, const char *key, int b);
void jput_time(json_t *o, const char *key, int64_t t);

/* Replies. Each steals body. */
void http_reply(struct http_req *req, int status, json_t *body);
void http_reply_at(struct http_req *req, int status, json_t *body,
    const char *location);
/* A body already serialised as JSON (a cached reply); the text is copied. */
void http_reply_text(struct http_req *req, int status, const char *json,
    size_t len);
/*
 * A body that is not JSON (an iCalendar feed); the text is copied and
 * content_type, a literal, is sent as it is.
 */
void http_reply_raw(struct http_req *req, int status, const char *content_type,
    const char *body, size_t len);
/* An RFC 9457 problem; `extra` (may be NULL) is merged in and stolen. */
void http_problem_x(struct http_req *req, int status, const char *code,
    const char *title, json_t *extra, const char *detail, ...)
    __attribute__((format(printf, 6, 7)));
#define http_problem(req, status, code, title, ...) \
	http_problem_x(req, status, code, title, NULL, __VA_ARGS__)
/* 422 validation_failed with errors[] (stolen). */
void http_problem_invalid(struct http_req *req, json_t *errors);
/* 403 forbidden; returns -1 for `return http_forbidden(req);`. */
int http_forbidden(struct http_req *req);
/* 404 not_found for "<what> <id> does not exist"; returns -1. */
int http_not_found(struct http_req *req, const char *what, int64_t id);
/* 500; returns -1. */
int http_internal_error(struct http_req *req);

/*
 * Defer the reply: after each batch's dispatch fn(req, arg, timed_out) is
 * called until it sets a reply and returns 1; after timeout_ms it is called
 * once more with timed_out = 1 and must reply.
 */
typedef int (*http_settle_fn)(struct http_req *req, void *arg, int timed_out);
void http_wait(struct http_req *req, http_settle_fn fn, void *arg,
    int timeout_ms);

#endif
