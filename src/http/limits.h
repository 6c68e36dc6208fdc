/*
 * limits.h - the front door, in front of every handler:
 *
 *  - overload: at most [server] max_inflight requests in progress; one more
 *    is answered 503 + Retry-After at once (the operations routes /healthz,
 *    /readyz and /metrics are never refused, so a monitor can still look);
 *  - a token bucket per token (per client address when anonymous),
 *    [server] rate_per_second / rate_burst: 429 + Retry-After;
 *  - slow clients: a connection gets [server] idle_timeout_ms to start a
 *    request (after connecting, or after its previous reply) and
 *    request_timeout_ms from the request's first byte to its last (headers
 *    and body), then it is closed: a slow-loris cannot hold a connection
 *    by trickling bytes, which evhttp's own inactivity timeout allows;
 *  - at most [server] max_headers header lines (431);
 *  - CORS for the origins in [server] cors_origins, preflights included.
 */
#ifndef STUDIOD_LIMITS_H
#define STUDIOD_LIMITS_H

#include <event2/keyvalq_struct.h>

struct config;
struct http_server;
struct http_req;

/* Set srv->limits from cfg and hook the connection tracker into evhttp. */
void limits_new(struct http_server *srv, const struct config *cfg);
/* After evhttp_free: release what evhttp left to us. NULL-safe. */
void limits_free(struct http_server *srv);
/* Apply cfg's limits again (SIGHUP). */
void limits_configure(struct http_server *srv, const struct config *cfg);

/*
 * A request has arrived (path may be NULL). 0 to go on; -1 when the reply
 * is set already (503 overload, 431, a CORS preflight's 204).
 */
int limits_admit(struct http_req *req, unsigned method, const char *path);
/*
 * After authentication: the rate limit of the caller (its token id, or its
 * address when anonymous). 0 to go on; -1 with a 429 set.
 */
int limits_rate(struct http_req *req, int authenticated);
/* In send_reply: CORS headers; the connection waits for its next request. */
void limits_reply(struct http_req *req, struct evkeyvalq *headers);

#endif
