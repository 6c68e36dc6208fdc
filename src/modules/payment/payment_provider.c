/*
 * payment_provider.c - the provider's HTTP API, spoken with libevent's HTTP
 * client on the server's own loop, and the circuit breaker in front of it.
 *
 *   POST {url}/charges {"amount","currency","reference","idempotency_key"}
 *        -> {"id","status":"succeeded"|"declined"}
 *   POST {url}/refunds {"charge_id","amount","idempotency_key"}
 *        -> {"id","status":"succeeded"}
 *   Authorization: Bearer <the key in [payment] api_key_file>
 *
 * A 2xx answer is read; 402 and other 4xx are a decline (the request can
 * never succeed as it is); a timeout, a refused connection or a 5xx is
 * transient: retried with the same idempotency key, and counted by the
 * breaker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "core/app.h"
#include "core/config.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "modules/payment/payment_internal.h"

enum breaker { CLOSED, OPEN, HALF_OPEN };

struct call {
	struct pay_job job;
	provider_done done;
	struct evhttp_connection *conn;
	enum evhttp_request_error error;
	int failed;
	int probe;
	LIST_ENTRY(call) link;
};

static struct {
	struct app *app;
	char host[256];
	int port;
	char base_path[512];
	char *api_key;
	LIST_HEAD(, call) calls;
	int inflight;
	enum breaker state;
	int failures;               /* consecutive transient failures */
	int64_t opened_at_ms;
	int probe_inflight;
} p;

static const char *const state_names[] = { "closed", "open", "half_open" };

const char *
breaker_state(void)
{
	/* Open past breaker_open_ms means the next request is the probe. */
	if (p.state == OPEN &&
	    now_ms() >= p.opened_at_ms + p.app->cfg->breaker_open_ms)
		return state_names[HALF_OPEN];
	return state_names[p.state];
}

int
breaker_failures_now(void)
{
	return p.failures;
}

int
provider_inflight(void)
{
	return p.inflight;
}

static void
breaker_set(enum breaker to)
{
	if (p.state == to)
		return;
	log_warn("payment breaker", "from=%s to=%s failures=%d",
	    state_names[p.state], state_names[to], p.failures);
	p.state = to;
	if (to == OPEN)
		p.opened_at_ms = now_ms();
}

int
breaker_allows(void)
{
	if (p.state == OPEN &&
	    now_ms() >= p.opened_at_ms + p.app->cfg->breaker_open_ms)
		breaker_set(HALF_OPEN);
	if (p.state == CLOSED)
		return 1;
	return p.state == HALF_OPEN && !p.probe_inflight;
}

/* Count an answer: any answer from the provider closes the breaker. */
static void
breaker_record(int transient, int probe)
{
	if (probe)
		p.probe_inflight = 0;
	if (!transient) {
		p.failures = 0;
		breaker_set(CLOSED);
		return;
	}
	p.failures++;
	if (probe || p.failures >= p.app->cfg->breaker_failures)
		breaker_set(OPEN);
}

static char *
read_key_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[512];
	size_t n;

	if (f == NULL) {
		log_error("cannot read the payment api key", "path=\"%s\" err=\"%s\"",
		    path, strerror(errno));
		return NULL;
	}
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return xstrdup(buf);
}

int
provider_init(struct app *app)
{
	const struct config *cfg = app->cfg;
	struct evhttp_uri *uri;
	const char *path;

	memset(&p, 0, sizeof p);
	p.app = app;
	LIST_INIT(&p.calls);
	if (strcmp(cfg->payment_provider, "http") != 0)
		return 0;
	uri = evhttp_uri_parse(cfg->payment_url);
	if (uri == NULL || evhttp_uri_get_host(uri) == NULL) {
		log_error("[payment] url cannot be parsed", "url=\"%s\"",
		    cfg->payment_url);
		if (uri != NULL)
			evhttp_uri_free(uri); /* it does not take NULL */
		return -1;
	}
	snprintf(p.host, sizeof p.host, "%s", evhttp_uri_get_host(uri));
	p.port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 80;
	path = evhttp_uri_get_path(uri);
	snprintf(p.base_path, sizeof p.base_path, "%s", path ? path : "");
	/* "/pay/" + "/charges" must not give "//charges". */
	while (strlen(p.base_path) > 0 && p.base_path[strlen(p.base_path) - 1] == '/')
		p.base_path[strlen(p.base_path) - 1] = '\0';
	evhttp_uri_free(uri);
	if (cfg->payment_api_key_file[0] != '\0') {
		p.api_key = read_key_file(cfg->payment_api_key_file);
		if (p.api_key == NULL)
			return -1;
	}
	log_info("payment provider", "url=%s", cfg->payment_url);
	return 0;
}

static void
call_free(struct call *c)
{
	LIST_REMOVE(c, link);
	if (c->conn != NULL)
		evhttp_connection_free(c->conn);
	free(c);
}

void
provider_fini(void)
{
	/* Calls still in flight at shutdown: the jobs stay pending and are
	 * sent again, with the same key, at the next start. */
	while (!LIST_EMPTY(&p.calls))
		call_free(LIST_FIRST(&p.calls));
	free(p.api_key);
	p.api_key = NULL;
}

static void
free_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	call_free(arg);
}

static void
on_error(enum evhttp_request_error error, void *arg)
{
	struct call *c = arg;

	c->failed = 1;
	c->error = error;
}

/* Read the provider's answer into an outcome and its reference. */
static enum outcome
read_answer(struct evhttp_request *req, const struct call *c, char *ref,
    size_t refsize, char *why, size_t whysize)
{
	int code = req ? evhttp_request_get_response_code(req) : 0;
	struct evbuffer *in;
	const char *status, *id;
	json_t *j;
	enum outcome o;

	if (req == NULL || code == 0) {
		snprintf(why, whysize, "%s", c->error == EVREQ_HTTP_TIMEOUT ?
		    "timeout" : "connection failed");
		return OUT_TRANSIENT;
	}
	if (code >= 500) {
		snprintf(why, whysize, "provider answered %d", code);
		return OUT_TRANSIENT;
	}
	if (code >= 400) {
		snprintf(why, whysize, "provider refused with %d", code);
		return OUT_DECLINED;
	}
	in = evhttp_request_get_input_buffer(req);
	j = json_loadb((const char *)evbuffer_pullup(in, -1),
	    evbuffer_get_length(in), 0, NULL);
	status = jget_str(j, "status");
	id = jget_str(j, "id");
	if (status != NULL && strcmp(status, "succeeded") == 0 && id != NULL) {
		snprintf(ref, refsize, "%s", id);
		o = OUT_SUCCEEDED;
	} else if (status != NULL && strcmp(status, "declined") == 0 &&
	    c->job.kind == JOB_CHARGE) {
		snprintf(why, whysize, "declined");
		if (id != NULL)
			snprintf(ref, refsize, "%s", id);
		o = OUT_DECLINED;
	} else {
		snprintf(why, whysize, "unreadable answer");
		o = OUT_TRANSIENT;
	}
	json_decref(j);
	return o;
}

static void
on_response(struct evhttp_request *req, void *arg)
{
	struct call *c = arg;
	char ref[128] = "", why[128] = "";
	enum outcome o = read_answer(req, c, ref, sizeof ref, why, sizeof why);
	struct timeval now = { 0, 0 };

	p.inflight--;
	breaker_record(o == OUT_TRANSIENT, c->probe);
	log_info("payment provider answered", "kind=%s reservation_id=%lld"
	    " outcome=%s ref=%s why=\"%s\"", c->job.kind == JOB_CHARGE ? "charge" :
	    "refund", (long long)c->job.reservation_id, o == OUT_SUCCEEDED ?
	    "succeeded" : o == OUT_DECLINED ? "declined" : "transient", ref, why);
	c->done(&c->job, o, ref[0] ? ref : NULL, why[0] ? why : NULL);
	/* The connection cannot be freed inside its own callback. */
	event_base_once(p.app->base, -1, EV_TIMEOUT, free_later, c, &now);
}

void
provider_send(const struct pay_job *j, provider_done done)
{
	const struct config *cfg = p.app->cfg;
	struct call *c = xcalloc(1, sizeof *c);
	struct timeval tv = { cfg->payment_timeout_ms / 1000,
	    (cfg->payment_timeout_ms % 1000) * 1000 };
	struct evhttp_request *req;
	struct evkeyvalq *h;
	char path[600], auth[600], *body;
	json_t *b;

	c->job = *j;
	c->done = done;
	c->probe = p.state == HALF_OPEN;
	if (c->probe)
		p.probe_inflight = 1;
	LIST_INSERT_HEAD(&p.calls, c, link);
	c->conn = evhttp_connection_base_new(p.app->base, NULL, p.host,
	    (unsigned short)p.port);
	req = evhttp_request_new(on_response, c);
	evhttp_request_set_error_cb(req, on_error);
	evhttp_connection_set_timeout_tv(c->conn, &tv);
	evhttp_connection_set_retries(c->conn, 0);
	if (j->kind == JOB_CHARGE) {
		char reference[48];

		snprintf(reference, sizeof reference, "reservation:%lld",
		    (long long)j->reservation_id);
		b = json_pack("{s:I, s:s, s:s, s:s}", "amount", (json_int_t)j->amount,
		    "currency", cfg->payment_currency, "reference", reference,
		    "idempotency_key", j->key);
		snprintf(path, sizeof path, "%s/charges", p.base_path);
	} else {
		b = json_pack("{s:s, s:I, s:s}", "charge_id", j->charge_ref,
		    "amount", (json_int_t)j->amount, "idempotency_key", j->key);
		snprintf(path, sizeof path, "%s/refunds", p.base_path);
	}
	body = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", p.host);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Idempotency-Key", j->key);
	if (p.api_key != NULL) {
		snprintf(auth, sizeof auth, "Bearer %s", p.api_key);
		evhttp_add_header(h, "Authorization", auth);
	}
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	free(body);
	p.inflight++;
	if (evhttp_make_request(c->conn, req, EVHTTP_REQ_POST, path) != 0) {
		/* libevent freed req; answer as a failed connection, later. */
		struct timeval now = { 0, 0 };

		log_error("payment request could not be started", NULL);
		c->failed = 1;
		c->error = EVREQ_HTTP_EOF;
		p.inflight--;
		breaker_record(1, c->probe);
		done(j, OUT_TRANSIENT, NULL, "request could not be started");
		event_base_once(p.app->base, -1, EV_TIMEOUT, free_later, c, &now);
	}
}
