/*
 * backup.h - `studiod backup PATH`: a consistent copy of a live database.
 *
 * It runs as its own process with its own read-only connection, so the
 * server never stops: SQLite's online backup API copies every page inside
 * one read transaction (WAL lets the server go on committing meanwhile),
 * into PATH.tmp; then the copy is opened and must pass PRAGMA
 * integrity_check before it is renamed to PATH. A backup that is there is
 * a good one.
 */
#ifndef STUDIOD_BACKUP_H
#define STUDIOD_BACKUP_H

#include <stdio.h>

/* 0 on success; 1 (with the reason on err) otherwise. PATH must not exist. */
int backup_database(const char *db_path, const char *dest, int busy_timeout_ms,
    FILE *err);

#endif
