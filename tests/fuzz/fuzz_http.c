/*
 * fuzz_http.c - libFuzzer target for the whole request path, in process:
 * the router, the Authorization and Idempotency-Key headers, JSON body
 * parsing and every endpoint's validation and handler, through the batch
 * (group commit) and the saga. No socket: a request is built by hand and
 * handed to the server's own entry point; its reply frees it.
 *
 * Input: byte 0 picks the method, byte 1 the token (none, the studio, a
 * member, another member), then "path?query\n", header lines
 * "Name: value\n", an empty line, and the body.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "core/batch.h"
#include "core/bus.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/util.h"
#include "http/auth.h"
#include "http/server.h"
#include "studiod.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	char dir[64];
	struct config cfg;
	struct app app;
	char *tokens[4];            /* [0] none, admin, member 1, member 2 */
	int ready;
} f;

static void
teardown(void)
{
	char cmd[96];

	app_close(&f.app);
	config_release(&f.cfg);
	for (int i = 0; i < 4; i++)
		free(f.tokens[i]);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", f.dir);
}

/* A class, two members and tokens, written as the modules would. */
static void
seed_data(void)
{
	struct db *db = f.app.db;

	if (db_begin(db) != 0)
		abort();
	f.tokens[1] = auth_token_issue(ROLE_ADMIN, 0);
	for (int m = 1; m <= 2; m++) {
		char sql[160];

		snprintf(sql, sizeof sql, "INSERT INTO members(id, name, email, "
		    "created_at) VALUES (%d, 'm%d', 'm%d@fuzz.test', 0)", m, m, m);
		if (db_exec_sql(db, sql) != 0)
			abort();
		f.tokens[1 + m] = auth_token_issue(ROLE_MEMBER, m);
		bus_publish(f.app.bus, "member.created", NULL, json_pack("{s:i}",
		    "member_id", m));
	}
	if (db_exec_sql(db, "INSERT INTO classes(id, title, starts_at, ends_at,"
	    " capacity, created_at, updated_at) VALUES (1, 'Fuzz', 4102444800,"
	    " 4102448400, 2, 0, 0)") != 0)
		abort();
	bus_publish(f.app.bus, "class.created", NULL, json_pack("{s:i, s:s, s:I,"
	    " s:I, s:i, s:i, s:i, s:b, s:s}", "class_id", 1, "title", "Fuzz",
	    "starts_at", (json_int_t)4102444800, "ends_at", (json_int_t)4102448400,
	    "capacity", 2, "price", 0, "credits", 0, "requires_approval", 0,
	    "status", "scheduled"));
	if (bus_dispatch(f.app.bus) < 0 || db_commit(db) != 0)
		abort();
}

static void
setup(void)
{
	snprintf(f.dir, sizeof f.dir, "/tmp/studiod-fuzz-XXXXXX");
	if (mkdtemp(f.dir) == NULL)
		abort();
	db_global_init();
	log_set_level(LOG_ERROR);
	config_init(&f.cfg);
	free(f.cfg.db_path);
	f.cfg.db_path = xasprintf("%s/fuzz.db", f.dir);
	free(f.cfg.synchronous);
	f.cfg.synchronous = xstrdup("normal");
	f.cfg.wait_ms = 0;
	if (app_open(&f.app, &f.cfg) != 0)
		abort();
	seed_data();
	atexit(teardown);
	f.ready = 1;
}

static const enum evhttp_cmd_type methods[] = {
	EVHTTP_REQ_GET, EVHTTP_REQ_POST, EVHTTP_REQ_PATCH, EVHTTP_REQ_DELETE,
	EVHTTP_REQ_PUT, EVHTTP_REQ_HEAD, EVHTTP_REQ_OPTIONS,
};

/* The next line of [*p, end) without its '\n'; NULL at the end. */
static char *
next_line(const char **p, const char *end)
{
	const char *nl;

	if (*p >= end)
		return NULL;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL)
		nl = end;
	{
		char *line = strndup(*p, (size_t)(nl - *p));

		*p = nl < end ? nl + 1 : end;
		return line;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 2, *end = (const char *)data + size;
	struct evhttp_request *req;
	char *line, *auth;

	if (!f.ready)
		setup();
	if (size < 3)
		return 0;
	req = evhttp_request_new(NULL, NULL);
	req->kind = EVHTTP_REQUEST;
	req->type = methods[data[0] % (sizeof methods / sizeof methods[0])];
	req->major = 1;
	req->minor = 1;
	req->uri = next_line(&p, end);
	req->uri_elems = req->uri ? evhttp_uri_parse_with_flags(req->uri,
	    EVHTTP_URI_NONCONFORMANT) : NULL;
	if (req->uri_elems == NULL) {
		/* evhttp answers 400 itself before we see such a request. */
		evhttp_request_free(req);
		return 0;
	}
	if (f.tokens[data[1] % 4] != NULL) {
		auth = xasprintf("Bearer %s", f.tokens[data[1] % 4]);
		evhttp_add_header(req->input_headers, "Authorization", auth);
		free(auth);
	}
	while ((line = next_line(&p, end)) != NULL && line[0] != '\0') {
		char *colon = strchr(line, ':');

		/* The crash fault of test builds would end the fuzzer, not a bug. */
		if (colon != NULL && strncasecmp(line, "X-Test-Fault", 12) != 0) {
			*colon = '\0';
			(void)evhttp_add_header(req->input_headers, line,
			    colon + 1 + (colon[1] == ' '));
		}
		free(line);
	}
	free(line);
	if (p < end)
		evbuffer_add(req->input_buffer, p, (size_t)(end - p));
	http_server_handle(&f.app, req);
	batch_flush(f.app.batch);
	batch_abandon(f.app.batch);
	return 0;
}
