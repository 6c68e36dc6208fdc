/* limits.c - see limits.h. */
#include "http/limits.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "core/app.h"
#include "core/config.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/ratelimit.h"
#include "core/util.h"
#include "http/server_internal.h"

#define CONN_BUCKETS 1024
#define MAX_ORIGINS 16

/* One client connection, from its bufferevent's creation to its release. */
struct conn {
	struct bufferevent *bev;    /* we hold a reference: see conn_sweep */
	struct evbuffer_cb_entry *watch;
	TAILQ_ENTRY(conn) link;
	struct conn *hnext;
	int64_t since_us;           /* start of the current wait */
	int reading;                /* a request has begun arriving */
	int busy;                   /* requests of ours in progress on it */
	int released;               /* evhttp has let go of it */
};

struct limits {
	struct http_server *srv;
	struct ratelimit *rl;
	int64_t max_inflight, max_headers, idle_us, request_us, rate;
	int rate_on, any_origin, norigins;
	char *origins[MAX_ORIGINS];
	char *origins_text;
	TAILQ_HEAD(, conn) conns;
	struct conn *hash[CONN_BUCKETS];
	struct event *sweep;
};

static size_t
bucket_of(const struct bufferevent *bev)
{
	uintptr_t p = (uintptr_t)bev;

	return (size_t)((p >> 4) ^ (p >> 14)) & (CONN_BUCKETS - 1);
}

static struct conn *
conn_find(struct limits *lim, const struct bufferevent *bev)
{
	struct conn *c = lim->hash[bucket_of(bev)];

	while (c != NULL && c->bev != bev)
		c = c->hnext;
	return c;
}

/* Take c out of the table and the list and give the bufferevent back. */
static void
conn_destroy(struct limits *lim, struct conn *c)
{
	struct conn **pp = &lim->hash[bucket_of(c->bev)];

	while (*pp != NULL && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp == c)
		*pp = c->hnext;
	TAILQ_REMOVE(&lim->conns, c, link);
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
	bufferevent_decref(c->bev);
	free(c);
}

/* Bytes came in: the first ones of a request start its clock. */
static void
on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	(void)buf;
	if (info->n_added > 0 && !c->reading && c->busy == 0) {
		c->reading = 1;
		c->since_us = mono_us();
	}
}

/*
 * evhttp asks for each new connection's bufferevent: make it ourselves,
 * keep a reference (so we can tell when evhttp has freed it: its callbacks
 * are cleared) and watch its input.
 */
static struct bufferevent *
make_bev(struct event_base *base, void *arg)
{
	struct limits *lim = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	struct conn *c;
	size_t b;

	if (bev == NULL)
		return NULL;
	c = xcalloc(1, sizeof *c);
	c->bev = bev;
	c->since_us = mono_us();
	bufferevent_incref(bev);
	c->watch = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
	b = bucket_of(bev);
	c->hnext = lim->hash[b];
	lim->hash[b] = c;
	TAILQ_INSERT_TAIL(&lim->conns, c, link);
	return bev;
}

/* Close a connection that was too slow; evhttp frees its half-read request. */
static void
conn_cut(struct limits *lim, struct conn *c)
{
	void *evcon = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
	log_info("slow client cut off", "waited_ms=%lld reading=%d",
	    (long long)(mono_us() - c->since_us) / 1000, c->reading);
	metrics_timeout();
	if (evcon != NULL)
		evhttp_connection_free(evcon);
	conn_destroy(lim, c);
}

/* Every few hundred ms: free what evhttp released, cut slow clients. */
static void
conn_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct limits *lim = arg;
	int64_t now = mono_us();
	struct conn *c, *next;

	(void)fd;
	(void)what;
	for (c = TAILQ_FIRST(&lim->conns); c != NULL; c = next) {
		bufferevent_data_cb readcb = NULL;

		next = TAILQ_NEXT(c, link);
		if (c->released)
			continue;
		bufferevent_getcb(c->bev, &readcb, NULL, NULL, NULL);
		if (readcb == NULL) {
			/* A request of ours still points at c: it frees it. */
			c->released = 1;
			if (c->busy == 0)
				conn_destroy(lim, c);
			continue;
		}
		if (c->busy > 0 ||
		    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
			continue;
		if (now - c->since_us > (c->reading ? lim->request_us :
		    lim->idle_us))
			conn_cut(lim, c);
	}
}

static void
parse_origins(struct limits *lim, const char *text)
{
	char *save = NULL, *tok;

	for (int i = 0; i < lim->norigins; i++)
		lim->origins[i] = NULL;
	free(lim->origins_text);
	lim->origins_text = xstrdup(text);
	lim->norigins = 0;
	lim->any_origin = 0;
	for (tok = strtok_r(lim->origins_text, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		if (strcmp(tok, "*") == 0)
			lim->any_origin = 1;
		else if (lim->norigins < MAX_ORIGINS)
			lim->origins[lim->norigins++] = tok;
	}
}

void
limits_configure(struct http_server *srv, const struct config *cfg)
{
	struct limits *lim = srv->limits;
	int64_t period_ms;
	struct timeval tv;

	lim->max_inflight = cfg->max_inflight;
	lim->max_headers = cfg->max_headers;
	lim->idle_us = cfg->idle_timeout_ms * 1000;
	lim->request_us = cfg->request_timeout_ms * 1000;
	lim->rate_on = cfg->rate_per_second > 0;
	lim->rate = cfg->rate_per_second;
	if (lim->rate_on && lim->rl == NULL)
		lim->rl = ratelimit_new((double)cfg->rate_per_second,
		    (double)cfg->rate_burst, 4096);
	else if (lim->rate_on)
		ratelimit_configure(lim->rl, (double)cfg->rate_per_second,
		    (double)cfg->rate_burst);
	parse_origins(lim, cfg->cors_origins);
	evhttp_set_max_headers_size(srv->evh, cfg->max_header_bytes);
	/* evhttp's own inactivity timeout backs ours up (and covers writes). */
	tv.tv_sec = (cfg->idle_timeout_ms > cfg->request_timeout_ms ?
	    cfg->idle_timeout_ms : cfg->request_timeout_ms) / 1000 + 1;
	tv.tv_usec = 0;
	evhttp_set_timeout_tv(srv->evh, &tv);
	period_ms = (cfg->idle_timeout_ms < cfg->request_timeout_ms ?
	    cfg->idle_timeout_ms : cfg->request_timeout_ms) / 4;
	period_ms = period_ms < 50 ? 50 : period_ms > 1000 ? 1000 : period_ms;
	tv.tv_sec = period_ms / 1000;
	tv.tv_usec = (period_ms % 1000) * 1000;
	evtimer_add(lim->sweep, &tv);
}

void
limits_new(struct http_server *srv, const struct config *cfg)
{
	struct limits *lim = xcalloc(1, sizeof *lim);

	lim->srv = srv;
	TAILQ_INIT(&lim->conns);
	lim->sweep = event_new(srv->app->base, -1, EV_PERSIST, conn_sweep, lim);
	srv->limits = lim;
	evhttp_set_bevcb(srv->evh, make_bev, lim);
	limits_configure(srv, cfg);
}

void
limits_free(struct http_server *srv)
{
	struct limits *lim = srv->limits;
	struct conn *c;

	if (lim == NULL)
		return;
	while ((c = TAILQ_FIRST(&lim->conns)) != NULL)
		conn_destroy(lim, c);
	if (lim->sweep != NULL)
		event_free(lim->sweep);
	ratelimit_free(lim->rl);
	free(lim->origins_text);
	free(lim);
	srv->limits = NULL;
}

/* Operations routes are never refused: a monitor must see an overload. */
static int
is_ops_path(const char *path)
{
	return path != NULL && (strcmp(path, "/healthz") == 0 ||
	    strcmp(path, "/readyz") == 0 || strcmp(path, "/metrics") == 0);
}

static const char *
allowed_origin(struct limits *lim, struct http_req *req)
{
	const char *origin = http_header(req, "Origin");

	if (origin == NULL || (lim->norigins == 0 && !lim->any_origin))
		return NULL;
	if (lim->any_origin)
		return "*";
	for (int i = 0; i < lim->norigins; i++)
		if (strcmp(origin, lim->origins[i]) == 0)
			return origin;
	return NULL;
}

/* An OPTIONS preflight from an allowed origin: 204 with what it may send. */
static int
preflight(struct http_req *req, struct evkeyvalq *h)
{
	if (http_header(req, "Access-Control-Request-Method") == NULL ||
	    allowed_origin(req->srv->limits, req) == NULL)
		return 0;
	evhttp_add_header(h, "Access-Control-Allow-Methods",
	    "GET, POST, PUT, PATCH, DELETE");
	evhttp_add_header(h, "Access-Control-Allow-Headers",
	    "Authorization, Content-Type, Idempotency-Key, X-Request-Id");
	evhttp_add_header(h, "Access-Control-Max-Age", "600");
	http_reply(req, 204, NULL);
	req->no_body = 1;
	return 1;
}

static int
count_headers(struct evkeyvalq *q)
{
	struct evkeyval *kv;
	int n = 0;

	TAILQ_FOREACH(kv, q, next)
		n++;
	return n;
}

int
limits_admit(struct http_req *req, unsigned method, const char *path)
{
	struct limits *lim = req->srv->limits;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req->ev);

	if (evcon != NULL) {
		req->conn = conn_find(lim, evhttp_connection_get_bufferevent(evcon));
		if (req->conn != NULL) {
			req->conn->busy++;
			req->conn->reading = 0;
		}
	}
	if (count_headers(evhttp_request_get_input_headers(req->ev)) >
	    lim->max_headers) {
		http_problem(req, 431, "too_many_headers",
		    "Request header fields too large",
		    "at most %lld header lines", (long long)lim->max_headers);
		return -1;
	}
	if (method == EVHTTP_REQ_OPTIONS &&
	    preflight(req, evhttp_request_get_output_headers(req->ev)))
		return -1;
	/* active counts this request too. */
	if (req->srv->active > (unsigned long)lim->max_inflight &&
	    !is_ops_path(path)) {
		metrics_refused("overload");
		http_problem(req, 503, "overloaded", "Service overloaded",
		    "more than %lld requests in progress; retry shortly",
		    (long long)lim->max_inflight);
		req->retry_after_s = 1;
		return -1;
	}
	return 0;
}

/* The caller's bucket key: token ids odd, address hashes even. */
static uint64_t
caller_key(struct http_req *req, int authenticated)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req->ev);
	char *addr = NULL;
	ev_uint16_t port;

	if (authenticated && req->who.token_id > 0)
		return ((uint64_t)req->who.token_id << 1) | 1;
	if (evcon == NULL)
		return 0;
	evhttp_connection_get_peer(evcon, &addr, &port);
	if (addr == NULL)
		return 0;
	return ratelimit_hash(addr, strlen(addr)) << 1;
}

int
limits_rate(struct http_req *req, int authenticated)
{
	struct limits *lim = req->srv->limits;
	int64_t wait_ms = 0;
	uint64_t key;

	if (!lim->rate_on || req->route == NULL ||
	    strncmp(req->route->pattern, API "/", sizeof API) != 0)
		return 0;
	key = caller_key(req, authenticated);
	if (key == 0 || ratelimit_take(lim->rl, key, mono_us(), &wait_ms))
		return 0;
	metrics_refused("rate_limit");
	req->retry_after_s = (int)((wait_ms + 999) / 1000);
	http_problem(req, 429, "rate_limited", "Too many requests",
	    "the rate limit is %lld requests a second; retry in %lld ms",
	    (long long)lim->rate, (long long)wait_ms);
	return -1;
}

void
limits_reply(struct http_req *req, struct evkeyvalq *h)
{
	struct limits *lim = req->srv->limits;
	const char *origin = allowed_origin(lim, req);
	struct conn *c = req->conn;

	if (origin != NULL) {
		evhttp_add_header(h, "Access-Control-Allow-Origin", origin);
		evhttp_add_header(h, "Vary", "Origin");
		evhttp_add_header(h, "Access-Control-Expose-Headers",
		    "Location, Retry-After, X-Request-Id");
	}
	if (c == NULL)
		return;
	req->conn = NULL;
	if (--c->busy > 0)
		return;
	if (c->released) {
		conn_destroy(lim, c);
		return;
	}
	c->since_us = mono_us();
	c->reading = evbuffer_get_length(bufferevent_get_input(c->bev)) > 0;
}
