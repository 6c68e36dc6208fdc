/*
 * webhook.h - outgoing webhooks: POST/GET /webhooks, DELETE /webhooks/{id},
 * GET /webhooks/{id}/deliveries (admin).
 *
 * Each event a hook asked for becomes a delivery job, written by the
 * module's handler in the same transaction as the event's other handling;
 * after the commit a worker POSTs it with libevent's HTTP client on the
 * loop (X-Studiod-Event, X-Studiod-Delivery, X-Studiod-Signature: sha256=
 * <HMAC-SHA256 of the body>), retries anything but a 2xx with exponential
 * backoff up to [notification] webhook_max_attempts, and records every
 * attempt. A slow or dead receiver holds only the worker's own slots;
 * pending jobs are sent again after a restart.
 */
#ifndef STUDIOD_WEBHOOK_H
#define STUDIOD_WEBHOOK_H

#include "core/app.h"

extern const struct module webhook_module;

#endif
