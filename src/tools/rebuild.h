/*
 * rebuild.h - `studiod rebuild-projections`: empty the read models (the
 * member's page, the dashboard, the classes' review statistics), move
 * their consumers' cursors back to the start of the event log, and replay
 * it into their own handlers. The result is what the live server had.
 *
 * Run it with the server stopped (the server keeps its cursors in memory).
 * It is safe to interrupt: the tables and the cursors are reset in one
 * transaction, and each replayed batch commits with its cursor advance, so
 * the next run - or the next start of the server - simply goes on.
 */
#ifndef STUDIOD_REBUILD_H
#define STUDIOD_REBUILD_H

#include <stdio.h>

struct config;

/* 0 on success, 1 on failure (reported to out and the log). */
int rebuild_projections(const struct config *cfg, FILE *out);

#endif
