/* payment_internal.h - shared by the payment module's files only. */
#ifndef STUDIOD_PAYMENT_INTERNAL_H
#define STUDIOD_PAYMENT_INTERNAL_H

#include <stdint.h>

struct app;

/* A charge or a refund: the unit of work the worker performs. */
enum job_kind { JOB_CHARGE, JOB_REFUND };

struct pay_job {
	enum job_kind kind;
	int64_t id;                 /* payments.id or payment_refunds.id */
	int64_t reservation_id;
	int64_t amount;
	int attempts;               /* answers recorded (a send may be unrecorded) */
	int64_t due_ms;             /* next_attempt_at: its creation, while attempts = 0 */
	int outcome_unknown;        /* a request timed out: it may have charged */
	char key[64];               /* idempotency key */
	char charge_ref[128];       /* JOB_REFUND: the provider's charge id */
};

/* What the provider answered. */
enum outcome { OUT_SUCCEEDED, OUT_DECLINED, OUT_TRANSIENT };

extern struct app *pay_app;

/* payment_store.c */
int pay_store_init(struct app *app);
void pay_store_fini(void);
/* Insert a charge; *id set. status "pending" or "at_desk". */
int pay_charge_insert(int64_t reservation_id, int64_t member_id, int64_t amount,
    const char *status, int64_t *id);
/* Load charge/refund job `id`: 1, 0, -1. */
int pay_charge_get(int64_t id, struct pay_job *j, char status[16],
    int *void_requested);
int pay_refund_get(int64_t id, struct pay_job *j, char status[16]);
/* The charge of a reservation: 1 found, 0 not, -1. */
int pay_charge_of(int64_t reservation_id, int64_t *id, char status[16],
    int *attempts);
int pay_charge_set(int64_t id, const char *status, const char *ref,
    const char *error);
int pay_charge_retry(int64_t id, int attempts, int64_t next_at_ms,
    const char *error);
int pay_charge_mark_unknown(int64_t id);
int pay_charge_void(int64_t id);
int pay_refund_insert(int64_t payment_id, int64_t amount);
int pay_refund_set(int64_t id, const char *status, const char *ref,
    const char *error);
int pay_refund_retry(int64_t id, int attempts, int64_t next_at_ms,
    const char *error);
/* Due jobs of a kind (status pending, next_attempt_at <= now_ms): ids. */
int pay_due(enum job_kind kind, int64_t now_ms, int64_t *ids, int max);
/* Earliest next_attempt_at of a pending job, 0 if none, -1 on error. */
int64_t pay_next_due(void);

/* payment_provider.c: the HTTP client and the circuit breaker. */
int provider_init(struct app *app);
void provider_fini(void);
/* May a request go out now? (closed, or the one half-open probe). */
int breaker_allows(void);
const char *breaker_state(void);
int breaker_failures_now(void);
/* Send job j; done(j, outcome, provider ref, error) is called later, once. */
typedef void (*provider_done)(const struct pay_job *j, enum outcome o,
    const char *ref, const char *error);
void provider_send(const struct pay_job *j, provider_done done);
int provider_inflight(void);

#endif
