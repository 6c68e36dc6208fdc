/*
 * server_internal.h - the server's own state, shared by the files of the
 * evhttp front (server.c, limits.c, metrics_http.c) and nobody else.
 */
#ifndef STUDIOD_SERVER_INTERNAL_H
#define STUDIOD_SERVER_INTERNAL_H

#include <stdint.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "core/batch.h"
#include "http/http.h"
#include "http/router.h"

struct limits;
struct conn;

struct http_server {
	struct app *app;
	struct evhttp *evh;
	struct evhttp_bound_socket *sock;
	unsigned long active;       /* received, not yet answered */
	unsigned long unflushed;    /* answered, not yet written out */
	char rid_prefix[9];
	unsigned long rid_seq;
	struct event *drain_timer;
	struct {
		const char *name;
		json_t *(*fn)(void);
	} ready_details[8];
	int nready_details;
	struct limits *limits;      /* the front door (limits.c) */
	void (*drain_done)(void *);
	void *drain_arg;
};

struct http_req {
	struct batch_item item;     /* first member: the batch hands this back */
	struct http_server *srv;
	struct evhttp_request *ev;
	const struct http_route *route;
	struct router_match match;
	struct evkeyvalq query;
	struct principal who;
	char rid[65];
	json_t *body;
	int status;                 /* 0 until a reply is set */
	json_t *reply;
	char *reply_text;           /* or a body serialised already */
	size_t reply_len;
	int is_problem;
	char *location;
	char allow[80];
	http_settle_fn settle_fn;
	void *settle_arg;
	struct event *timer;
	int timed_out;
	int64_t started_us;
	struct conn *conn;          /* its connection's tracker (limits.c), or NULL */
	const char *content_type;   /* overrides the JSON content type */
	int retry_after_s;          /* > 0: send Retry-After */
	int no_body;                /* 204: headers only */
};

/* metrics_http.c: GET /metrics and the core's own metrics providers. */
int http_metrics(struct http_req *req);
void http_metrics_init(struct app *app);
void http_metrics_fini(void);

#endif
