/* server.c - see server.h and http.h. */
#include "http/server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>
#include <systemd/sd-daemon.h>

#include "core/app.h"
#include "core/batch.h"
#include "core/bus.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "http/auth.h"
#include "http/http.h"
#include "http/limits.h"
#include "http/router.h"
#include "http/server_internal.h"

static void check_drained(struct http_server *srv);

/* Waiting for a saga. */

static void
on_wait_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct http_req *req = arg;

	(void)fd;
	(void)what;
	req->timed_out = 1;
	batch_wake(req->srv->app->batch, &req->item);
}

void
http_wait(struct http_req *req, http_settle_fn fn, void *arg, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	req->settle_fn = fn;
	req->settle_arg = arg;
	if (req->timer == NULL)
		req->timer = evtimer_new(req->srv->app->base, on_wait_timeout, req);
	evtimer_add(req->timer, &tv);
}

/* Sending. */

static void
req_free(struct http_req *req)
{
	if (req->timer != NULL)
		event_free(req->timer);
	evhttp_clear_headers(&req->query);
	json_decref(req->body);
	json_decref(req->reply);
	free(req->reply_text);
	free(req->location);
	free(req);
}

static void
on_complete(struct evhttp_request *ev, void *arg)
{
	struct http_server *srv = arg;

	(void)ev;
	srv->unflushed--;
	check_drained(srv);
}

static void
free_dumped(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/* Serialise j and hand the text to out by reference (no copy). */
static void
add_json(struct evbuffer *out, const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);

	if (text != NULL &&
	    evbuffer_add_reference(out, text, strlen(text), free_dumped, NULL) != 0)
		free(text);
}

static const char *
method_name(unsigned m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	default: return "OTHER";
	}
}

static void
send_reply(struct http_req *req)
{
	struct http_server *srv = req->srv;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req->ev);
	struct evbuffer *out = evhttp_request_get_output_buffer(req->ev);

	if (req->status == 0)
		(void)http_internal_error(req);
	if (!req->no_body)
		evhttp_add_header(h, "Content-Type", req->content_type != NULL ?
		    req->content_type : req->is_problem ?
		    "application/problem+json" : "application/json");
	evhttp_add_header(h, "X-Request-Id", req->rid);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (req->location != NULL)
		evhttp_add_header(h, "Location", req->location);
	if (req->allow[0] != '\0')
		evhttp_add_header(h, "Allow", req->allow);
	if (req->retry_after_s > 0) {
		char ra[16];

		snprintf(ra, sizeof ra, "%d", req->retry_after_s);
		evhttp_add_header(h, "Retry-After", ra);
	} else if (req->status == 503) {
		evhttp_add_header(h, "Retry-After", "1");
	}
	if (srv->app->draining)
		evhttp_add_header(h, "Connection", "close");
	limits_reply(req, h);
	if (req->no_body)
		;
	else if (req->reply_text != NULL)
		evbuffer_add(out, req->reply_text, req->reply_len);
	else
		add_json(out, req->reply);
	metrics_request(req->route != NULL ? req->route->pattern : NULL,
	    method_name(evhttp_request_get_command(req->ev)), req->status,
	    mono_us() - req->started_us);
	log_set_context(req->rid);
	log_info("request", "method=%s path=\"%s\" status=%d us=%lld",
	    method_name(evhttp_request_get_command(req->ev)),
	    evhttp_request_get_uri(req->ev), req->status,
	    (long long)(mono_us() - req->started_us));
	log_set_context(NULL);
	srv->active--;
	if (evhttp_request_get_connection(req->ev) != NULL) {
		evhttp_request_set_on_complete_cb(req->ev, on_complete, srv);
		srv->unflushed++;
	}
	/* With no connection left, evhttp frees the request here. */
	evhttp_send_reply(req->ev, req->status, NULL, NULL);
	req_free(req);
	check_drained(srv);
}

/* Authentication and role. 0 to go on, -1 with the reply set. */
static int
authorize(struct http_req *req)
{
	int rc = auth_resolve(http_header(req, "Authorization"), &req->who);

	if (limits_rate(req, rc == 1) != 0)
		return -1;
	if (rc < 0 || (rc == 0 && req->route->access != ACCESS_PUBLIC)) {
		http_problem(req, 401, "unauthorized", "Unauthorized",
		    rc < 0 ? "the bearer token is not valid" :
		    "send Authorization: Bearer <token>");
		return -1;
	}
	if ((req->route->access == ACCESS_ADMIN && req->who.role != ROLE_ADMIN) ||
	    (req->route->access == ACCESS_MEMBER && req->who.role != ROLE_MEMBER))
		return http_forbidden(req);
	return 0;
}

/* Call the handler; make sure a failure leaves a reply. */
static int
call_handler(struct http_req *req)
{
	int rc;

	log_set_context(req->rid);
	if (authorize(req) != 0)
		return 0;
	rc = req->route->fn(req);
	if (rc != 0 && req->status == 0)
		(void)http_internal_error(req);
	return rc;
}

/* Batch item operations: write requests. */

static int
item_run(struct batch_item *item)
{
	struct http_req *req = (struct http_req *)item;

#ifdef STUDIOD_TEST_HOOKS
	{
		const char *fault = http_header(req, "X-Test-Fault");

		if (fault != NULL && strcmp(fault, "crash-before-dispatch") == 0)
			batch_arm_crash_before_dispatch(req->srv->app->batch);
	}
#endif
	return call_handler(req);
}

static int
item_settle(struct batch_item *item)
{
	struct http_req *req = (struct http_req *)item;

	if (req->settle_fn == NULL || req->status != 0)
		return 1;
	log_set_context(req->rid);
	if (req->settle_fn(req, req->settle_arg, req->timed_out))
		return 1;
	if (req->timed_out) {
		(void)http_internal_error(req);
		return 1;
	}
	return 0;
}

static void
item_deliver(struct batch_item *item, int committed)
{
	struct http_req *req = (struct http_req *)item;

	if (!committed)
		http_problem(req, 503, "unavailable", "Service unavailable",
		    "the database could not commit; nothing was changed, retry");
	send_reply(req);
}

static const struct batch_item_ops item_ops = {
	.run = item_run,
	.settle = item_settle,
	.deliver = item_deliver,
};

/* Request entry. */

static void
make_request_id(struct http_server *srv, struct http_req *req)
{
	const char *given = evhttp_find_header(
	    evhttp_request_get_input_headers(req->ev), "X-Request-Id");
	size_t n = given ? strlen(given) : 0;

	if (n > 0 && n < sizeof req->rid &&
	    strspn(given, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.") == n) {
		memcpy(req->rid, given, n + 1);
		return;
	}
	snprintf(req->rid, sizeof req->rid, "%s-%lx", srv->rid_prefix,
	    ++srv->rid_seq);
}

static void
format_allow(unsigned mask, char *buf, size_t size)
{
	static const struct { unsigned bit; const char *name; } m[] = {
		{ EVHTTP_REQ_GET, "GET" }, { EVHTTP_REQ_POST, "POST" },
		{ EVHTTP_REQ_PUT, "PUT" }, { EVHTTP_REQ_PATCH, "PATCH" },
		{ EVHTTP_REQ_DELETE, "DELETE" },
	};

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		if (!(mask & m[i].bit))
			continue;
		if (buf[0] != '\0')
			strncat(buf, ", ", size - strlen(buf) - 1);
		strncat(buf, m[i].name, size - strlen(buf) - 1);
	}
}

static void
on_request(struct evhttp_request *ev, void *arg)
{
	struct http_server *srv = arg;
	struct http_req *req = xcalloc(1, sizeof *req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	unsigned method = evhttp_request_get_command(ev);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;

	req->srv = srv;
	req->ev = ev;
	req->started_us = mono_us();
	req->item.ops = &item_ops;
	TAILQ_INIT(&req->query);
	srv->active++;
	make_request_id(srv, req);
	if (method == EVHTTP_REQ_HEAD)
		method = EVHTTP_REQ_GET;
	if (limits_admit(req, method, path) != 0)
		goto reply_now;
	if (srv->app->draining) {
		http_problem(req, 503, "draining", "Shutting down",
		    "the server is stopping; retry shortly");
		goto reply_now;
	}
	if (path == NULL || (q != NULL && evhttp_parse_query_str(q, &req->query))) {
		http_problem(req, 400, "bad_request", "Bad request",
		    "the request target cannot be parsed");
		goto reply_now;
	}
	switch (router_match(srv->app->router, method, path, &req->match)) {
	case ROUTER_NOT_FOUND:
		http_problem(req, 404, "not_found", "Not found",
		    "no route for this path");
		goto reply_now;
	case ROUTER_BAD_METHOD:
		format_allow(req->match.allow, req->allow, sizeof req->allow);
		http_problem(req, 405, "method_not_allowed", "Method not allowed",
		    "this path takes %s", req->allow);
		goto reply_now;
	case ROUTER_MATCH:
		break;
	}
	req->route = req->match.route;
	if (method == EVHTTP_REQ_GET) {
		/* Reads see only committed state (no transaction is open between
		 * callbacks), so they answer at once without joining a batch. */
		(void)call_handler(req);
		goto reply_now;
	}
	batch_submit(srv->app->batch, &req->item);
	return;
reply_now:
	send_reply(req);
}

#if defined(STUDIOD_TEST_HOOKS) || defined(STUDIOD_FUZZ)
void
http_server_handle(struct app *app, struct evhttp_request *req)
{
	on_request(req, app->http);
}
#endif

/* Core routes. */

static int
healthz(struct http_req *req)
{
	http_reply(req, 200, json_pack("{s:s}", "status", "ok"));
	return 0;
}

static int
readyz(struct http_req *req)
{
	struct app *app = http_app(req);
	int migrations = db_migrations_current(app->db);
	int64_t backlog = bus_backlog(app->bus);
	json_t *checks = json_pack("{s:s, s:b, s:I}",
	    "migrations", migrations == 1 ? "ok" : "pending",
	    "draining", app->draining, "outbox_backlog", (json_int_t)backlog);

	for (int i = 0; i < app->http->nready_details; i++)
		json_object_set_new(checks, app->http->ready_details[i].name,
		    app->http->ready_details[i].fn());
	if (migrations != 1 || backlog < 0 || app->draining) {
		http_problem_x(req, 503, "not_ready", "Not ready",
		    json_pack("{s:o}", "checks", checks), "%s", app->draining ?
		    "draining" : "the database is not ready");
		return 0;
	}
	http_reply(req, 200, json_pack("{s:s, s:o}", "status", "ready", "checks",
	    checks));
	return 0;
}

static const struct http_route core_routes[] = {
	{ EVHTTP_REQ_GET, "/healthz", healthz, ACCESS_PUBLIC },
	{ EVHTTP_REQ_GET, "/readyz", readyz, ACCESS_PUBLIC },
	{ EVHTTP_REQ_GET, "/metrics", http_metrics, ACCESS_PUBLIC },
};

void
http_add_ready_detail(struct app *app, const char *name, json_t *(*fn)(void))
{
	struct http_server *srv = app->http;

	if (srv->nready_details == 8)
		abort(); /* a programming error: raise the limit */
	srv->ready_details[srv->nready_details].name = name;
	srv->ready_details[srv->nready_details].fn = fn;
	srv->nready_details++;
}

void
http_add_routes(struct app *app, const struct http_route *routes, int n)
{
	for (int i = 0; i < n; i++)
		router_add(app->router, routes[i].method, routes[i].pattern,
		    &routes[i]);
}

int
http_server_new(struct app *app)
{
	struct http_server *srv = xcalloc(1, sizeof *srv);
	unsigned char rnd[4];

	srv->app = app;
	srv->evh = evhttp_new(app->base);
	if (srv->evh == NULL) {
		free(srv);
		return -1;
	}
	randombytes_buf(rnd, sizeof rnd);
	snprintf(srv->rid_prefix, sizeof srv->rid_prefix, "%02x%02x%02x%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3]);
	evhttp_set_max_body_size(srv->evh, app->cfg->max_body_bytes);
	evhttp_set_allowed_methods(srv->evh, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(srv->evh, on_request, srv);
	app->http = srv;
	limits_new(srv, app->cfg);
	http_metrics_init(app);
	http_add_routes(app, core_routes,
	    (int)(sizeof core_routes / sizeof core_routes[0]));
	return 0;
}

/*
 * A socket passed by systemd (socket activation: LISTEN_FDS) is used as
 * it is, so connections queued while studiod restarts are not lost;
 * otherwise bind [server] listen.
 */
int
http_server_listen(struct app *app)
{
	struct http_server *srv = app->http;
	const struct config *cfg = app->cfg;
	int n = sd_listen_fds(1);

	if (n > 1)
		log_warn("more than one socket passed; using the first",
		    "count=%d", n);
	if (n > 0) {
		evutil_make_socket_nonblocking(SD_LISTEN_FDS_START);
		srv->sock = evhttp_accept_socket_with_handle(srv->evh,
		    SD_LISTEN_FDS_START);
		if (srv->sock == NULL) {
			log_error("cannot accept on the passed socket", "fd=%d",
			    SD_LISTEN_FDS_START);
			return -1;
		}
		log_info("listening on the socket systemd passed",
		    "fd=%d (listen ignored)", SD_LISTEN_FDS_START);
		return 0;
	}
	srv->sock = evhttp_bind_socket_with_handle(srv->evh, cfg->listen_host,
	    (ev_uint16_t)cfg->listen_port);
	if (srv->sock == NULL) {
		log_error("cannot listen", "listen=%s", cfg->listen);
		return -1;
	}
	log_info("listening", "listen=%s", cfg->listen);
	return 0;
}

void
http_server_reconfigure(struct app *app, const struct config *cfg)
{
	evhttp_set_max_body_size(app->http->evh, cfg->max_body_bytes);
	limits_configure(app->http, cfg);
}

static void
check_drained(struct http_server *srv)
{
	if (srv->drain_done == NULL || srv->active > 0 || srv->unflushed > 0)
		return;
	if (batch_waiting(srv->app->batch) > 0)
		return;
	evtimer_del(srv->drain_timer);
	srv->drain_done(srv->drain_arg);
	srv->drain_done = NULL;
}

static void
on_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *srv = arg;

	(void)fd;
	(void)what;
	log_warn("drain deadline reached", "active=%lu unflushed=%lu",
	    srv->active, srv->unflushed);
	srv->active = 0;
	srv->unflushed = 0;
	check_drained(srv);
}

void
http_server_drain(struct app *app, int deadline_ms, void (*done)(void *),
    void *arg)
{
	struct http_server *srv = app->http;
	struct timeval tv = { deadline_ms / 1000, (deadline_ms % 1000) * 1000 };

	if (srv->sock != NULL) {
		evhttp_del_accept_socket(srv->evh, srv->sock);
		srv->sock = NULL;
	}
	srv->drain_done = done;
	srv->drain_arg = arg;
	srv->drain_timer = evtimer_new(app->base, on_drain_deadline, srv);
	evtimer_add(srv->drain_timer, &tv);
	check_drained(srv);
}

void
http_server_free(struct app *app)
{
	struct http_server *srv = app->http;

	if (srv == NULL)
		return;
	http_metrics_fini();
	evhttp_free(srv->evh);
	limits_free(srv);
	if (srv->drain_timer != NULL)
		event_free(srv->drain_timer);
	free(srv);
	app->http = NULL;
}
