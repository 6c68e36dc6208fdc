/*
 * app.h - the process: what every module is handed at init, and the
 * module descriptor the composition root (main.c) lists.
 */
#ifndef STUDIOD_APP_H
#define STUDIOD_APP_H

struct config;
struct event_base;
struct db;
struct bus;
struct batch;
struct router;
struct http_server;

struct app {
	const struct config *cfg;
	struct event_base *base;
	struct db *db;
	struct bus *bus;
	struct batch *batch;
	struct router *router;
	struct http_server *http;
	int draining;           /* SIGTERM seen: not ready, finishing in-flight work */
	unsigned modules_started;
};

/*
 * A bounded context. init prepares its statements, registers its routes and
 * subscribes its handlers (0 or -1); fini undoes it and accepts a partial init.
 */
struct module {
	const char *name;
	int (*init)(struct app *app);
	void (*fini)(struct app *app);
};

#endif
