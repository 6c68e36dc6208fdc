/* db.c - see db.h. */
#include "core/db.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

/* Generated at build time from migrations/NNNN_*.sql (tools/embed-migrations). */
struct db_migration {
	const char *name;
	const char *sql;
};
extern const struct db_migration db_migrations[];
extern const size_t db_migrations_count;

static int
log_sql_error(struct db *db, const char *what)
{
	log_error("sqlite error", "what=\"%s\" code=%d err=\"%s\"", what,
	    sqlite3_extended_errcode(db->sql), sqlite3_errmsg(db->sql));
	return -1;
}

int
db_exec_sql(struct db *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db->sql, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_error("sqlite exec failed", "sql=\"%.60s\" err=\"%s\"", sql,
		    err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

void
db_global_init(void)
{
	/* Fails harmlessly (SQLITE_MISUSE) if SQLite was already initialised. */
	sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int
db_open(struct db **out, const char *path, const char *synchronous,
    int busy_timeout_ms)
{
	struct db *db = xcalloc(1, sizeof *db);
	char *pragma = NULL;
	const struct db_stmt_def defs[] = {
		{ &db->begin, "BEGIN IMMEDIATE" },
		{ &db->commit, "COMMIT" },
		{ &db->rollback, "ROLLBACK" },
		{ &db->sp_open, "SAVEPOINT unit" },
		{ &db->sp_release, "RELEASE unit" },
		{ &db->sp_rollback, "ROLLBACK TO unit" },
	};

	*out = NULL;
	if (sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_error("cannot open database", "path=\"%s\" err=\"%s\"", path,
		    db->sql ? sqlite3_errmsg(db->sql) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(db->sql, 1);
	sqlite3_busy_timeout(db->sql, busy_timeout_ms);
	/* synchronous is checked against full|normal by config. */
	/* A 64 MiB page cache keeps the working set of a busy studio in memory
	 * (the default 2 MiB made every booking re-read pages), and a larger
	 * checkpoint interval makes fewer, bigger checkpoints. */
	pragma = xasprintf("PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
	    " PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
	    " PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=4000;",
	    synchronous);
	if (db_exec_sql(db, pragma) != 0)
		goto fail;
	if (db_prepare_all(db, defs, sizeof defs / sizeof defs[0]) != 0)
		goto fail;
	free(pragma);
	*out = db;
	return 0;
fail:
	free(pragma);
	db_finalize_all(defs, sizeof defs / sizeof defs[0]);
	sqlite3_close(db->sql);
	free(db);
	return -1;
}

void
db_close(struct db *db)
{
	sqlite3_stmt *left;

	if (db == NULL)
		return;
	sqlite3_finalize(db->begin);
	sqlite3_finalize(db->commit);
	sqlite3_finalize(db->rollback);
	sqlite3_finalize(db->sp_open);
	sqlite3_finalize(db->sp_release);
	sqlite3_finalize(db->sp_rollback);
	/* Every module finalizes its own statements in fini (Fossil's rule). */
	left = sqlite3_next_stmt(db->sql, NULL);
	if (left != NULL)
		log_error("statement not finalized at close", "sql=\"%s\"",
		    sqlite3_sql(left));
	if (sqlite3_close(db->sql) != SQLITE_OK)
		log_error("database did not close cleanly", NULL);
	free(db);
}

int
db_prepare_all(struct db *db, const struct db_stmt_def *defs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (sqlite3_prepare_v3(db->sql, defs[i].sql, -1,
		    SQLITE_PREPARE_PERSISTENT, defs[i].slot, NULL) != SQLITE_OK) {
			log_error("cannot prepare statement", "sql=\"%s\" err=\"%s\"",
			    defs[i].sql, sqlite3_errmsg(db->sql));
			return -1;
		}
	}
	return 0;
}

void
db_finalize_all(const struct db_stmt_def *defs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_finalize(*defs[i].slot);
		*defs[i].slot = NULL;
	}
}

int
db_bind(sqlite3_stmt *st, const char *fmt, ...)
{
	va_list ap;
	int rc = SQLITE_OK, i;

	va_start(ap, fmt);
	for (i = 1; *fmt != '\0' && rc == SQLITE_OK; fmt++, i++) {
		switch (*fmt) {
		case 'i':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 't': {
			const char *s = va_arg(ap, const char *);

			rc = s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, i);
			break;
		}
		case 'n':
			rc = sqlite3_bind_null(st, i);
			break;
		default:
			abort(); /* a programming error in the format */
		}
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		log_error("cannot bind parameter", "index=%d sql=\"%s\"", i - 1,
		    sqlite3_sql(st));
		return -1;
	}
	return 0;
}

int
db_step(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		log_debug("constraint", "err=\"%s\"", sqlite3_errmsg(db->sql));
		return DB_CONSTRAINT;
	}
	return log_sql_error(db, sqlite3_sql(st));
}

int
db_step_once(struct db *db, sqlite3_stmt *st)
{
	int rc = db_step(db, st);

	db_reset(st);
	return rc;
}

int
db_exec(struct db *db, sqlite3_stmt *st)
{
	int rc;

	while ((rc = db_step(db, st)) == 1)
		;
	db_reset(st);
	return rc;
}

void
db_reset(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

char *
db_column_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? xstrdup((const char *)s) : NULL;
}

int
db_begin(struct db *db)
{
	return db_exec(db, db->begin) == 0 ? 0 : -1;
}

int
db_commit(struct db *db)
{
	return db_exec(db, db->commit) == 0 ? 0 : -1;
}

void
db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->sql))
		(void)db_exec(db, db->rollback);
	db->savepoints = 0;
}

int
db_in_transaction(struct db *db)
{
	return !sqlite3_get_autocommit(db->sql);
}

int
db_savepoint(struct db *db)
{
	if (db_exec(db, db->sp_open) != 0)
		return -1;
	db->savepoints++;
	return 0;
}

void
db_savepoint_release(struct db *db)
{
	if (db_exec(db, db->sp_release) != 0)
		log_error("cannot release savepoint", NULL);
	db->savepoints--;
}

void
db_savepoint_rollback(struct db *db)
{
	/* ROLLBACK TO keeps the savepoint open; RELEASE then pops it. */
	if (db_exec(db, db->sp_rollback) != 0)
		log_error("cannot roll back savepoint", NULL);
	db_savepoint_release(db);
}

int64_t
db_last_insert_id(struct db *db)
{
	return sqlite3_last_insert_rowid(db->sql);
}

int
db_changes(struct db *db)
{
	return sqlite3_changes(db->sql);
}

static int
migration_applied(struct db *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db->sql,
	    "SELECT 1 FROM schema_migrations WHERE version = ?", -1, &st,
	    NULL) != SQLITE_OK)
		return log_sql_error(db, "schema_migrations");
	rc = db_bind(st, "t", name) == 0 ? db_step(db, st) : -1;
	sqlite3_finalize(st);
	return rc;
}

static int
record_migration(struct db *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db->sql, "INSERT INTO schema_migrations"
	    "(version, applied_at) VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK)
		return log_sql_error(db, "schema_migrations");
	if (db_bind(st, "ti", name, now_s()) == 0)
		rc = db_step(db, st) == 0 ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

int
db_migrate(struct db *db)
{
	if (db_exec_sql(db, "CREATE TABLE IF NOT EXISTS schema_migrations("
	    "version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)") != 0)
		return -1;
	for (size_t i = 0; i < db_migrations_count; i++) {
		const struct db_migration *m = &db_migrations[i];
		int applied = migration_applied(db, m->name);

		if (applied < 0)
			return -1;
		if (applied)
			continue;
		/* Each migration in its own transaction: all of it or none. */
		if (db_exec_sql(db, "BEGIN IMMEDIATE") != 0)
			return -1;
		if (db_exec_sql(db, m->sql) != 0 || record_migration(db, m->name)) {
			log_error("migration failed", "name=%s", m->name);
			db_exec_sql(db, "ROLLBACK");
			return -1;
		}
		if (db_exec_sql(db, "COMMIT") != 0)
			return -1;
		log_info("migration applied", "name=%s", m->name);
	}
	return 0;
}

int
db_migrations_current(struct db *db)
{
	for (size_t i = 0; i < db_migrations_count; i++) {
		int applied = migration_applied(db, db_migrations[i].name);

		if (applied != 1)
			return applied;
	}
	return 1;
}
