/*
 * db.h - the one SQLite connection: open with our pragmas, migrations,
 * prepared-statement tables, binding and transaction helpers.
 *
 * One connection is owned by the event loop, so nothing here locks. Command
 * functions and event handlers never BEGIN or COMMIT: the batch (batch.h)
 * opens one transaction per loop turn and wraps each unit of work in a
 * savepoint.
 */
#ifndef STUDIOD_DB_H
#define STUDIOD_DB_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

struct db {
	sqlite3 *sql;
	int savepoints;         /* open savepoint depth */
	sqlite3_stmt *begin, *commit, *rollback;
	sqlite3_stmt *sp_open, *sp_release, *sp_rollback;
};

/* Status of db_step / db_exec beyond 0 and -1. */
#define DB_CONSTRAINT (-2)

/* One statement of a module's table: where to keep it and its SQL. */
struct db_stmt_def {
	sqlite3_stmt **slot;
	const char *sql;
};

/*
 * Configure SQLite for this process before any connection exists: one
 * thread uses it, so no mutexes and no memory statistics. Call once, first.
 */
void db_global_init(void);

/*
 * Open (creating the file if needed) with WAL, foreign keys, the
 * given synchronous mode ("full"/"normal") and busy timeout. 0 or -1 (logged).
 */
int db_open(struct db **out, const char *path, const char *synchronous,
    int busy_timeout_ms);
/* Finalize our statements and close; NULL is fine. */
void db_close(struct db *db);

/* Apply every embedded migration not yet in schema_migrations, in order. */
int db_migrate(struct db *db);
/* 1 if every embedded migration is recorded, 0 if not, -1 on error. */
int db_migrations_current(struct db *db);

/* Prepare each statement of defs once (persistent). 0, or -1 (logged). */
int db_prepare_all(struct db *db, const struct db_stmt_def *defs, size_t n);
/* Finalize each statement of defs and clear the slots. */
void db_finalize_all(const struct db_stmt_def *defs, size_t n);

/*
 * Bind parameters 1..n by a format: 'i' int64_t, 't' const char * (NULL
 * binds NULL), 'n' NULL. Statement text with user data never exists here:
 * values only ever travel as bound parameters.
 */
int db_bind(sqlite3_stmt *st, const char *fmt, ...);
/* Step: 1 for a row, 0 when done, -1 or DB_CONSTRAINT on error (logged). */
int db_step(struct db *db, sqlite3_stmt *st);
/* Step once and reset: 1 if there was a row (an existence check), 0 if
 * not, -1 or DB_CONSTRAINT on error. */
int db_step_once(struct db *db, sqlite3_stmt *st);
/* Step a statement to completion and reset it: 0, -1 or DB_CONSTRAINT. */
int db_exec(struct db *db, sqlite3_stmt *st);
/* Reset and clear bindings; NULL is fine. */
void db_reset(sqlite3_stmt *st);
/* Copy column i as a fresh string (NULL for SQL NULL); the caller frees. */
char *db_column_strdup(sqlite3_stmt *st, int i);

/* Run a fixed statement (no user data) once; 0 or -1 (logged). */
int db_exec_sql(struct db *db, const char *sql);

/* The outer transaction of a batch. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);
int db_in_transaction(struct db *db);

/* A unit of work inside the batch. */
int db_savepoint(struct db *db);
void db_savepoint_release(struct db *db);
void db_savepoint_rollback(struct db *db);

int64_t db_last_insert_id(struct db *db);
int db_changes(struct db *db);

#endif
