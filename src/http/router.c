/* router.c - see router.h. A linear scan: a few dozen routes, no tree needed. */
#include "http/router.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define MAX_SEGMENTS 16

struct entry {
	unsigned method;
	const char *segs[MAX_SEGMENTS];
	size_t seglen[MAX_SEGMENTS];
	int nsegs;
	const void *route;
};

struct router {
	struct entry *entries;
	size_t n;
	char **patterns;                /* our copies, split in place */
};

struct router *
router_new(void)
{
	return xcalloc(1, sizeof(struct router));
}

void
router_free(struct router *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->patterns[i]);
	free(r->patterns);
	free(r->entries);
	free(r);
}

/* Split "/a/b/c" into segments; -1 if there are too many or one is empty. */
static int
split(const char *path, const char **segs, size_t *lens)
{
	int n = 0;

	if (*path != '/')
		return -1;
	if (path[1] == '\0')
		return 0;
	while (*path == '/') {
		const char *start = ++path;

		while (*path != '/' && *path != '\0')
			path++;
		if (path == start || n == MAX_SEGMENTS)
			return -1;
		segs[n] = start;
		lens[n] = (size_t)(path - start);
		n++;
	}
	return *path == '\0' ? n : -1;
}

void
router_add(struct router *r, unsigned method, const char *pattern,
    const void *route)
{
	struct entry *e;

	r->entries = xrealloc(r->entries, (r->n + 1) * sizeof *r->entries);
	r->patterns = xrealloc(r->patterns, (r->n + 1) * sizeof *r->patterns);
	e = &r->entries[r->n];
	r->patterns[r->n] = xstrdup(pattern);
	r->n++;
	e->method = method;
	e->route = route;
	e->nsegs = split(r->patterns[r->n - 1], e->segs, e->seglen);
	if (e->nsegs < 0)
		abort(); /* a malformed pattern in our own table */
}

/* A positive int64 written in plain decimal, no sign or leading zero. */
static int
parse_id(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;

	if (len == 0 || len > 18 || s[0] == '0')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
entry_matches(const struct entry *e, const char **segs, const size_t *lens,
    int n, struct router_match *m)
{
	if (e->nsegs != n)
		return 0;
	m->nparams = 0;
	for (int i = 0; i < n; i++) {
		if (e->seglen[i] == 4 && memcmp(e->segs[i], "{id}", 4) == 0) {
			if (m->nparams == ROUTER_MAX_PARAMS ||
			    parse_id(segs[i], lens[i], &m->params[m->nparams]) != 0)
				return 0;
			m->nparams++;
		} else if (e->seglen[i] != lens[i] ||
		    memcmp(e->segs[i], segs[i], lens[i]) != 0) {
			return 0;
		}
	}
	return 1;
}

enum router_result
router_match(const struct router *r, unsigned method, const char *path,
    struct router_match *m)
{
	const char *segs[MAX_SEGMENTS];
	size_t lens[MAX_SEGMENTS];
	int n = split(path, segs, lens);

	memset(m, 0, sizeof *m);
	if (n < 0)
		return ROUTER_NOT_FOUND;
	for (size_t i = 0; i < r->n; i++) {
		struct router_match try = { 0 };

		if (!entry_matches(&r->entries[i], segs, lens, n, &try))
			continue;
		if (r->entries[i].method == method) {
			*m = try;
			m->route = r->entries[i].route;
			return ROUTER_MATCH;
		}
		m->allow |= r->entries[i].method;
	}
	return m->allow ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}
