/*
 * eventlog.h - the outbox as a feed for integrations (GET /events?after=
 * &limit=, admin), and its retention: an event older than [bus]
 * retention_days that every subscriber has passed is pruned, at start and
 * then every hour, in units of work of the batch.
 */
#ifndef STUDIOD_EVENTLOG_H
#define STUDIOD_EVENTLOG_H

#include "core/app.h"

extern const struct module eventlog_module;

#endif
