/*
 * payment.h - card payments through the studio's payment provider.
 *
 * On class.capacity_reserved with payment_method "card" it records a charge
 * job (or, with [payment] provider = none, an `at_desk` payment the studio
 * collects in person). After the commit a worker sends the job with
 * libevent's HTTP client on the same loop, with an idempotency key derived
 * from the reservation, and records the answer in a new unit of work as
 * payment.succeeded / payment.failed. Timeouts, 5xx and refused
 * connections are retried with backoff, then fail as payment_unavailable;
 * a circuit breaker makes charges fail fast while the provider is down.
 * reservation.cancelled (with refund) and reservation.rejected refund a
 * succeeded charge (payment.refunded).
 */
#ifndef STUDIOD_PAYMENT_H
#define STUDIOD_PAYMENT_H

#include "core/app.h"

extern const struct module payment_module;

#endif
