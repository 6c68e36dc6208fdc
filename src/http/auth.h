/*
 * auth.h - bearer tokens. A token is "sd_" + 32 random bytes in base64url;
 * only its BLAKE2b-256 hash is stored, so a leaked database holds no usable
 * token. A token is shown once, when it is made.
 */
#ifndef STUDIOD_AUTH_H
#define STUDIOD_AUTH_H

#include <stdint.h>

#include "http/http.h"

struct db;

int auth_init(struct db *db);
void auth_fini(void);

/*
 * Resolve an Authorization header value. Returns 1 with *who filled for a
 * known, unrevoked token; 0 when header is NULL (anonymous); -1 for a
 * malformed or unknown one.
 */
int auth_resolve(const char *header, struct principal *who);

/*
 * Make a token for role (member_id > 0 for members) inside the open unit of
 * work. Returns the token (the caller frees it) or NULL.
 */
char *auth_token_issue(enum role role, int64_t member_id);

/*
 * On a database with no live admin token, make one and write it to path
 * (mode 0600). Outside any transaction. 0 or -1.
 */
int auth_bootstrap_admin(struct db *db, const char *path);

/*
 * `studiod token create`: make a token for role (member_id > 0 for a
 * member, who must exist: a member.created event names it) in its own
 * transaction. Returns the token (the caller frees) and its id, or NULL
 * with a reason in *why (static).
 */
char *auth_token_create(struct db *db, enum role role, int64_t member_id,
    int64_t *id, const char **why);
/*
 * `studiod token revoke`: revoke by token id ("7") or by the token itself
 * ("sd_..."). 1 revoked, 0 no such live token, -1 on a database error.
 */
int auth_token_revoke(struct db *db, const char *id_or_token);

#endif
