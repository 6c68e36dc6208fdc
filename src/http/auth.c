/* auth.c - see auth.h. */
#include "http/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "core/db.h"
#include "core/log.h"
#include "core/util.h"

#define TOKEN_PREFIX "sd_"
#define TOKEN_RANDOM_BYTES 32
/* base64url of 32 bytes without padding is 43 characters. */
#define TOKEN_MAX 64

static struct {
	struct db *db;
	sqlite3_stmt *lookup, *insert, *has_admin, *revoke_id, *revoke_hash,
	    *member_known;
} a;

static const struct db_stmt_def stmts[] = {
	{ &a.lookup, "SELECT id, role, member_id FROM auth_tokens"
	    " WHERE hash = ? AND revoked_at IS NULL" },
	{ &a.insert, "INSERT INTO auth_tokens(hash, role, member_id, created_at)"
	    " VALUES (?, ?, ?, ?)" },
	{ &a.has_admin, "SELECT 1 FROM auth_tokens"
	    " WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1" },
	{ &a.revoke_id, "UPDATE auth_tokens SET revoked_at = ?"
	    " WHERE id = ? AND revoked_at IS NULL" },
	{ &a.revoke_hash, "UPDATE auth_tokens SET revoked_at = ?"
	    " WHERE hash = ? AND revoked_at IS NULL" },
	/* The CLI's one look at members: the public event, not their table. */
	{ &a.member_known, "SELECT 1 FROM outbox WHERE type = 'member.created'"
	    " AND json_extract(payload, '$.member_id') = ? LIMIT 1" },
};
#define NSTMTS (sizeof stmts / sizeof stmts[0])

int
auth_init(struct db *db)
{
	if (sodium_init() < 0) {
		log_error("libsodium failed to initialise", NULL);
		return -1;
	}
	a.db = db;
	return db_prepare_all(db, stmts, NSTMTS);
}

void
auth_fini(void)
{
	db_finalize_all(stmts, NSTMTS);
}

static void
token_hash(const char *token, unsigned char out[crypto_generichash_BYTES])
{
	crypto_generichash(out, crypto_generichash_BYTES,
	    (const unsigned char *)token, strlen(token), NULL, 0);
}

/* Only what we issue can match, so refuse anything else before hashing. */
static int
token_well_formed(const char *t, size_t len)
{
	if (len <= sizeof TOKEN_PREFIX - 1 || len > TOKEN_MAX ||
	    strncmp(t, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1) != 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

int
auth_resolve(const char *header, struct principal *who)
{
	unsigned char hash[crypto_generichash_BYTES];
	char token[TOKEN_MAX + 1];
	const char *t;
	size_t len;
	int rc;

	memset(who, 0, sizeof *who);
	if (header == NULL)
		return 0;
	if (strncasecmp(header, "Bearer ", 7) != 0)
		return -1;
	for (t = header + 7; *t == ' '; t++)
		;
	len = strlen(t);
	while (len > 0 && t[len - 1] == ' ')
		len--;
	if (!token_well_formed(t, len))
		return -1;
	memcpy(token, t, len);
	token[len] = '\0';
	token_hash(token, hash);
	if (sqlite3_bind_blob(a.lookup, 1, hash, sizeof hash, SQLITE_TRANSIENT)
	    != SQLITE_OK)
		return -1;
	rc = db_step(a.db, a.lookup);
	if (rc == 1) {
		const char *role = (const char *)sqlite3_column_text(a.lookup, 1);

		who->token_id = sqlite3_column_int64(a.lookup, 0);
		who->role = strcmp(role, "admin") == 0 ? ROLE_ADMIN : ROLE_MEMBER;
		who->member_id = sqlite3_column_int64(a.lookup, 2);
	}
	db_reset(a.lookup);
	return rc == 1 ? 1 : -1;
}

char *
auth_token_issue(enum role role, int64_t member_id)
{
	unsigned char raw[TOKEN_RANDOM_BYTES], hash[crypto_generichash_BYTES];
	char *token = xmalloc(TOKEN_MAX + 1);
	int rc;

	memcpy(token, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1);
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(token + sizeof TOKEN_PREFIX - 1,
	    TOKEN_MAX + 1 - (sizeof TOKEN_PREFIX - 1), raw, sizeof raw,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	token_hash(token, hash);
	sqlite3_bind_blob(a.insert, 1, hash, sizeof hash, SQLITE_TRANSIENT);
	sqlite3_bind_text(a.insert, 2, role == ROLE_ADMIN ? "admin" : "member",
	    -1, SQLITE_STATIC);
	if (role == ROLE_MEMBER)
		sqlite3_bind_int64(a.insert, 3, member_id);
	sqlite3_bind_int64(a.insert, 4, now_s());
	rc = db_exec(a.db, a.insert);
	sodium_memzero(raw, sizeof raw);
	if (rc != 0) {
		free(token);
		return NULL;
	}
	return token;
}

static int
write_secret_file(const char *path, const char *text)
{
	size_t len = strlen(text), off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	/* The file may have existed with wider permissions. */
	if (fchmod(fd, 0600) != 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail;
	return close(fd);
fail:
	close(fd);
	return -1;
}

int
auth_bootstrap_admin(struct db *db, const char *path)
{
	char *token = NULL, *line = NULL;
	int rc = db_step_once(db, a.has_admin);

	if (rc != 0)
		return rc == 1 ? 0 : -1;
	if (db_begin(db) != 0)
		return -1;
	token = auth_token_issue(ROLE_ADMIN, 0);
	if (token == NULL)
		goto fail;
	line = xasprintf("%s\n", token);
	/* Write the file before COMMIT: a token that was never saved is never live. */
	if (write_secret_file(path, line) != 0) {
		log_error("cannot write the admin token", "path=\"%s\" err=\"%s\"",
		    path, strerror(errno));
		goto fail;
	}
	if (db_commit(db) != 0)
		goto fail;
	log_info("admin token created; it is shown only in this file",
	    "path=\"%s\"", path);
	sodium_memzero(token, strlen(token));
	free(token);
	free(line);
	return 0;
fail:
	db_rollback(db);
	free(token);
	free(line);
	return -1;
}

char *
auth_token_create(struct db *db, enum role role, int64_t member_id,
    int64_t *id, const char **why)
{
	char *token = NULL;
	int known = 1;

	*why = "the database failed";
	if (db_begin(db) != 0)
		return NULL;
	if (role == ROLE_MEMBER) {
		known = db_bind(a.member_known, "i", member_id) == 0 ?
		    db_step_once(db, a.member_known) : -1;
	}
	if (known != 1) {
		if (known == 0)
			*why = "no such member";
		goto out;
	}
	token = auth_token_issue(role, member_id);
	if (token == NULL)
		goto out;
	*id = db_last_insert_id(db);
	if (db_commit(db) != 0) {
		free(token);
		token = NULL;
	}
out:
	if (token == NULL)
		db_rollback(db);
	return token;
}

int
auth_token_revoke(struct db *db, const char *id_or_token)
{
	unsigned char hash[crypto_generichash_BYTES];
	sqlite3_stmt *st;
	int64_t id;
	int rc;

	if (parse_int64(id_or_token, 1, INT64_MAX, &id) == 0) {
		st = a.revoke_id;
		rc = db_bind(st, "ii", now_s(), id);
	} else if (token_well_formed(id_or_token, strlen(id_or_token))) {
		token_hash(id_or_token, hash);
		st = a.revoke_hash;
		rc = db_bind(st, "i", now_s());
		if (rc == 0 && sqlite3_bind_blob(st, 2, hash, sizeof hash,
		    SQLITE_TRANSIENT) != SQLITE_OK)
			rc = -1;
	} else {
		return 0;
	}
	if (rc == 0)
		rc = db_exec(db, st);
	else
		db_reset(st);
	return rc != 0 ? -1 : db_changes(db) > 0;
}
