/*
 * util.h - allocation that aborts on failure, and time helpers.
 *
 * Allocation failure is not recoverable in a server of this size, so the
 * x* wrappers abort instead of every caller checking (tmux's xmalloc).
 */
#ifndef STUDIOD_UTIL_H
#define STUDIOD_UTIL_H

#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* printf into a fresh string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Wall clock in Unix seconds / milliseconds. Tests may shift it (see util.c). */
int64_t now_s(void);
int64_t now_ms(void);
/* Monotonic microseconds, for measuring durations. */
int64_t mono_us(void);

/*
 * Parse an RFC 3339 timestamp that carries an offset ("2026-11-22T08:00:00Z",
 * "2026-11-22T09:00:00+01:00", fractional seconds allowed and dropped).
 * Returns 0 and the Unix time in *out, or -1 if s is not such a timestamp.
 */
int time_parse_rfc3339(const char *s, int64_t *out);
/* Format Unix time t as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). */
void time_format_rfc3339(int64_t t, char buf[static 21]);

/* Parse a whole decimal integer in [min, max]; 0 on success, -1 otherwise. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
