/* webhook_internal.h - shared by the webhook module's files only. */
#ifndef STUDIOD_WEBHOOK_INTERNAL_H
#define STUDIOD_WEBHOOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct app;

/* "sha256=" + 64 hex digits + NUL */
#define WEBHOOK_SIG_LEN 72

/*
 * The X-Studiod-Signature value of body: "sha256=<hex HMAC-SHA256 of the
 * body keyed with secret>" (libsodium's HMAC, any key length). Pure.
 */
void webhook_sign(const char *secret, const void *body, size_t len,
    char out[WEBHOOK_SIG_LEN]);

/* webhook_sender.c: the worker. */
int webhook_sender_init(struct app *app);
void webhook_sender_fini(void);
/* Jobs may be due: look after the next commit. */
void webhook_sender_poke(void);

#endif
