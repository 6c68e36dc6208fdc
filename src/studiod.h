/*
 * studiod.h - putting the process together (app.c): the database, the
 * loop, the bus, the batch, the HTTP server and the modules, in order.
 */
#ifndef STUDIOD_STUDIOD_H
#define STUDIOD_STUDIOD_H

#include "core/app.h"

struct config;

/* Open (creating its folder) and migrate the database. 0 or -1 (logged). */
int app_open_database(const struct config *cfg, struct db **db);

/*
 * Build everything cfg describes and start every module, ready to listen
 * (http_server_listen) and run. On failure what was built is taken down
 * again. app is filled in; app_close takes it apart either way.
 */
int app_open(struct app *app, const struct config *cfg);
void app_close(struct app *app);

#endif
