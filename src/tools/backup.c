/* backup.c - see backup.h. */
#include "tools/backup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "core/util.h"

/* Copy src into a fresh file at tmp in one step (one read snapshot). */
static int
copy_pages(sqlite3 *src, const char *tmp, FILE *err)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b = NULL;
	int rc = -1;

	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		fprintf(err, "studiod backup: cannot create %s: %s\n", tmp,
		    dst != NULL ? sqlite3_errmsg(dst) : "out of memory");
		goto out;
	}
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (b == NULL) {
		fprintf(err, "studiod backup: %s\n", sqlite3_errmsg(dst));
		goto out;
	}
	/* -1: all pages in one step, so the copy is one consistent snapshot. */
	if (sqlite3_backup_step(b, -1) != SQLITE_DONE) {
		fprintf(err, "studiod backup: copy failed: %s\n",
		    sqlite3_errmsg(dst));
		goto out;
	}
	rc = 0;
out:
	if (b != NULL && sqlite3_backup_finish(b) != SQLITE_OK && rc == 0) {
		fprintf(err, "studiod backup: %s\n", sqlite3_errmsg(dst));
		rc = -1;
	}
	/* Leave a self-contained file: no -wal beside it. */
	if (rc == 0 && sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL,
	    NULL) != SQLITE_OK) {
		fprintf(err, "studiod backup: %s\n", sqlite3_errmsg(dst));
		rc = -1;
	}
	sqlite3_close(dst);
	return rc;
}

/* PRAGMA integrity_check on the copy: 0 when it answers "ok". */
static int
verify(const char *path, FILE *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL)
	    != SQLITE_OK) {
		fprintf(err, "studiod backup: cannot open the copy: %s\n",
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);

		if (line != NULL && strcmp(line, "ok") == 0 && rc == -1) {
			rc = 0;
			continue;
		}
		fprintf(err, "studiod backup: integrity_check: %s\n",
		    line ? line : "?");
		rc = -2;
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc == 0 ? 0 : -1;
}

int
backup_database(const char *db_path, const char *dest, int busy_timeout_ms,
    FILE *err)
{
	char *tmp = xasprintf("%s.tmp", dest);
	sqlite3 *src = NULL;
	int rc = 1;

	if (access(dest, F_OK) == 0) {
		fprintf(err, "studiod backup: %s exists; not overwriting it\n", dest);
		goto out;
	}
	unlink(tmp);
	if (sqlite3_open_v2(db_path, &src, SQLITE_OPEN_READONLY, NULL)
	    != SQLITE_OK) {
		fprintf(err, "studiod backup: cannot open %s: %s\n", db_path,
		    src != NULL ? sqlite3_errmsg(src) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(src, busy_timeout_ms);
	if (copy_pages(src, tmp, err) != 0 || verify(tmp, err) != 0)
		goto out;
	if (rename(tmp, dest) != 0) {
		fprintf(err, "studiod backup: rename to %s: %s\n", dest,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		unlink(tmp);
	sqlite3_close(src);
	free(tmp);
	return rc;
}
