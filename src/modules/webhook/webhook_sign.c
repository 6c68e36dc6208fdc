/* webhook_sign.c - the delivery signature (see webhook_internal.h). */
#include <sodium.h>
#include <string.h>

#include "modules/webhook/webhook_internal.h"

void
webhook_sign(const char *secret, const void *body, size_t len,
    char out[WEBHOOK_SIG_LEN])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	/* The _init form takes a key of any length, like HMAC itself. */
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret,
	    strlen(secret));
	crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(out, "sha256=", 7);
	sodium_bin2hex(out + 7, WEBHOOK_SIG_LEN - 7, mac, sizeof mac);
}
