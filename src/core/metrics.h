/*
 * metrics.h - counters for GET /metrics (Prometheus text format 0.0.4).
 *
 * The hot path only adds to plain integers in fixed tables: no allocation,
 * no lock (one thread), no SQL. Everything that costs something (database
 * size, outbox backlog, a module's state) is computed when /metrics is
 * scraped, by the providers registered here.
 *
 * A module that has something to show registers a provider in its init:
 *
 *   static void breaker_metrics(FILE *out, void *arg) {
 *       metrics_head(out, "studiod_payment_breaker_open", "gauge", "...");
 *       fprintf(out, "studiod_payment_breaker_open %d\n", is_open);
 *   }
 *   metrics_add_provider(breaker_metrics, NULL);
 */
#ifndef STUDIOD_METRICS_H
#define STUDIOD_METRICS_H

#include <stdint.h>
#include <stdio.h>

/*
 * Count one answered request. route is the matched pattern (static
 * storage; NULL for no route) and method its name (a literal).
 */
void metrics_request(const char *route, const char *method, int status,
    int64_t duration_us);
/* Requests refused at the front door, by reason ("overload", "rate_limit"). */
void metrics_refused(const char *reason);
/* A connection cut off by the slow-client timeouts. */
void metrics_timeout(void);

typedef void (*metrics_provider)(FILE *out, void *arg);
/* Call fn(out, arg) at every scrape (at most 16 providers). */
void metrics_add_provider(metrics_provider fn, void *arg);
/* Forget every provider (at shutdown, before modules go away). */
void metrics_clear_providers(void);

/* "# HELP name help\n# TYPE name type\n". */
void metrics_head(FILE *out, const char *name, const char *type,
    const char *help);
/* Write s as a label value (escapes \, " and newline). */
void metrics_label(FILE *out, const char *s);

/*
 * Write the whole exposition: the request counters and histogram, then
 * each provider. Returns the text (the caller frees) and its length.
 */
char *metrics_render(size_t *len);

/* Zero every counter (unit tests). */
void metrics_reset(void);

#endif
