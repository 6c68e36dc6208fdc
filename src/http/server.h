/*
 * server.h - the evhttp front: listening, per-request state, handing write
 * requests to the batch and reads straight to their handler, and draining.
 */
#ifndef STUDIOD_SERVER_H
#define STUDIOD_SERVER_H

struct app;

/* Create the server (routes can be added from now on) and its core routes. */
int http_server_new(struct app *app);
/* Bind and start accepting. 0 or -1 (logged). */
int http_server_listen(struct app *app);
/*
 * Stop accepting, answer new requests on open connections with 503, and
 * call done() once nothing is in flight (or after deadline_ms).
 */
void http_server_drain(struct app *app, int deadline_ms, void (*done)(void *),
    void *arg);
void http_server_free(struct app *app);
/* SIGHUP: apply cfg's front-door limits (max_inflight, rates, timeouts,
 * header and body limits, CORS); listen changes need a restart. */
struct config;
void http_server_reconfigure(struct app *app, const struct config *cfg);

#if defined(STUDIOD_TEST_HOOKS) || defined(STUDIOD_FUZZ)
struct evhttp_request;
/* Fuzzing only: treat req (built by hand, with no connection) as if it had
 * just arrived; the reply frees it. */
void http_server_handle(struct app *app, struct evhttp_request *req);
#endif

#endif
