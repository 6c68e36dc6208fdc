/*
 * request.c - what a handler sees of its request (accessors, the parsed
 * body, paging) and the replies it sets (http.h). Sending them is
 * server.c's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core/util.h"
#include "http/http.h"
#include "http/server_internal.h"

/* Accessors for modules. */

struct app *
http_app(struct http_req *req)
{
	return req->srv->app;
}

int64_t
http_param(struct http_req *req, int i)
{
	return i < req->match.nparams ? req->match.params[i] : 0;
}

const char *
http_query(struct http_req *req, const char *key)
{
	return evhttp_find_header(&req->query, key);
}

const char *
http_header(struct http_req *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req->ev), name);
}

const struct principal *
http_who(struct http_req *req)
{
	return &req->who;
}

int
http_is_admin(struct http_req *req)
{
	return req->who.role == ROLE_ADMIN;
}

const char *
http_request_id(struct http_req *req)
{
	return req->rid;
}

/* Replies. */

static void
set_reply(struct http_req *req, int status, json_t *body, int is_problem)
{
	free(req->reply_text);      /* a later reply replaces an earlier one */
	req->reply_text = NULL;
	json_decref(req->reply);
	req->status = status;
	req->reply = body;
	req->is_problem = is_problem;
}

void
http_reply(struct http_req *req, int status, json_t *body)
{
	set_reply(req, status, body, 0);
}

void
http_reply_text(struct http_req *req, int status, const char *json, size_t len)
{
	set_reply(req, status, NULL, 0);
	req->reply_text = xmalloc(len);
	memcpy(req->reply_text, json, len);
	req->reply_len = len;
}

void
http_reply_raw(struct http_req *req, int status, const char *content_type,
    const char *body, size_t len)
{
	http_reply_text(req, status, body, len);
	req->content_type = content_type;
}

void
http_reply_at(struct http_req *req, int status, json_t *body,
    const char *location)
{
	free(req->location);
	req->location = xstrdup(location);
	set_reply(req, status, body, 0);
}

void
http_problem_x(struct http_req *req, int status, const char *code,
    const char *title, json_t *extra, const char *detail, ...)
{
	char text[512];
	va_list ap;
	json_t *p;

	va_start(ap, detail);
	vsnprintf(text, sizeof text, detail, ap);
	va_end(ap);
	p = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank",
	    "title", title, "status", status, "code", code, "detail", text);
	if (extra != NULL) {
		json_object_update(p, extra);
		json_decref(extra);
	}
	set_reply(req, status, p, 1);
}

void
http_problem_invalid(struct http_req *req, json_t *errors)
{
	http_problem_x(req, 422, "validation_failed", "Validation failed",
	    json_pack("{s:o}", "errors", errors),
	    "%zu field(s) are not valid", json_array_size(errors));
}

int
http_forbidden(struct http_req *req)
{
	http_problem(req, 403, "forbidden", "Forbidden",
	    "this token may not do that");
	return -1;
}

int
http_not_found(struct http_req *req, const char *what, int64_t id)
{
	http_problem(req, 404, "not_found", "Not found", "%s %lld does not exist",
	    what, (long long)id);
	return -1;
}

int
http_internal_error(struct http_req *req)
{
	http_problem(req, 500, "internal_error", "Internal error",
	    "the server failed; see its log for request %s", req->rid);
	return -1;
}

json_t *
http_body_object(struct http_req *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req->ev);
	const char *ctype = http_header(req, "Content-Type");
	size_t len = evbuffer_get_length(in), n;
	json_error_t err;
	json_t *j;

	if (req->body != NULL)
		return req->body;
	n = strlen("application/json");
	if (ctype == NULL || strncasecmp(ctype, "application/json", n) != 0 ||
	    (ctype[n] != '\0' && ctype[n] != ';' && ctype[n] != ' ')) {
		http_problem(req, 415, "unsupported_media_type",
		    "Unsupported media type",
		    "send the body as Content-Type: application/json");
		return NULL;
	}
	if (len == 0) {
		http_problem(req, 400, "invalid_json", "Invalid JSON",
		    "the request body is empty");
		return NULL;
	}
	j = json_loadb((const char *)evbuffer_pullup(in, -1), len,
	    JSON_REJECT_DUPLICATES, &err);
	if (j == NULL) {
		http_problem(req, 400, "invalid_json", "Invalid JSON",
		    "%s (line %d, column %d)", err.text, err.line, err.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		http_problem_invalid(req, json_pack("[{s:s, s:s}]", "field", "",
		    "message", "the body must be a JSON object"));
		return NULL;
	}
	req->body = j;
	return j;
}

int
http_page(struct http_req *req, int64_t *limit, int64_t *after)
{
	const char *l = http_query(req, "limit"), *a = http_query(req, "after");
	json_t *errors = json_array();

	*limit = 50;
	*after = 0;
	if (l != NULL && parse_int64(l, 1, 500, limit) != 0)
		json_array_append_new(errors, json_pack("{s:s, s:s}", "field",
		    "limit", "message", "must be an integer from 1 to 500"));
	if (a != NULL && parse_int64(a, 0, INT64_MAX, after) != 0)
		json_array_append_new(errors, json_pack("{s:s, s:s}", "field",
		    "after", "message", "must be an id (an integer >= 0)"));
	if (json_array_size(errors) == 0) {
		json_decref(errors);
		return 0;
	}
	http_problem_invalid(req, errors);
	return -1;
}

json_t *
http_list(json_t *items, int64_t next)
{
	return json_pack("{s:o, s:o}", "items", items, "next",
	    next > 0 ? json_integer(next) : json_null());
}

json_t *
http_time(int64_t t)
{
	char buf[21];

	if (t < 0)
		return json_null();
	time_format_rfc3339(t, buf);
	return json_string(buf);
}

void
jput_int(json_t *o, const char *key, int64_t v)
{
	json_object_set_new_nocheck(o, key, json_integer(v));
}

void
jput_str(json_t *o, const char *key, const char *str)
{
	json_object_set_new_nocheck(o, key, str ? json_string_nocheck(str) :
	    json_null());
}

void
jput_bool(json_t *o, const char *key, int b)
{
	json_object_set_new_nocheck(o, key, json_boolean(b));
}

void
jput_time(json_t *o, const char *key, int64_t t)
{
	char buf[21];

	if (t < 0) {
		json_object_set_new_nocheck(o, key, json_null());
		return;
	}
	time_format_rfc3339(t, buf);
	json_object_set_new_nocheck(o, key, json_stringn_nocheck(buf, 20));
}

