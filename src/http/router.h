/*
 * router.h - method + path pattern matching, independent of evhttp so it
 * can be tested on its own. Patterns are literal segments and "{id}", which
 * matches a positive decimal integer of at most 18 digits (so it always fits
 * in int64), written without sign or leading zeros.
 */
#ifndef STUDIOD_ROUTER_H
#define STUDIOD_ROUTER_H

#include <stdint.h>

#define ROUTER_MAX_PARAMS 4

struct router;

enum router_result { ROUTER_MATCH, ROUTER_NOT_FOUND, ROUTER_BAD_METHOD };

struct router_match {
	const void *route;              /* the value given to router_add */
	int64_t params[ROUTER_MAX_PARAMS];
	int nparams;
	unsigned allow;                 /* ROUTER_BAD_METHOD: methods the path takes */
};

struct router *router_new(void);
void router_free(struct router *r);
/*
 * Add `route` under method (a bit, as evhttp's EVHTTP_REQ_*) and pattern
 * (e.g. "/api/v1/classes/{id}"); the pattern string must outlive r.
 */
void router_add(struct router *r, unsigned method, const char *pattern,
    const void *route);
/* Match a path (no query string). */
enum router_result router_match(const struct router *r, unsigned method,
    const char *path, struct router_match *m);

#endif
