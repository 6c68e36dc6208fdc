/*
 * ratelimit.h - token buckets in a fixed-size table, keyed by a 64-bit
 * key (a token id, or a hash of a client address). No allocation after
 * ratelimit_new and no system calls: the caller passes the time.
 *
 * A bucket holds up to `burst` tokens and gains `rate` tokens a second; a
 * request takes one. The table never grows: a key that finds no free slot
 * among its few probe slots takes the one seen least recently (a full
 * bucket is no different from a fresh one, so that only ever forgets an
 * idle client).
 */
#ifndef STUDIOD_RATELIMIT_H
#define STUDIOD_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/* rate > 0 tokens a second, burst >= 1; slots is rounded up to a power of 2. */
struct ratelimit *ratelimit_new(double rate, double burst, size_t slots);
void ratelimit_free(struct ratelimit *rl);
/* New rate and burst (SIGHUP); existing buckets keep their tokens, capped. */
void ratelimit_configure(struct ratelimit *rl, double rate, double burst);

/*
 * Take one token from key's bucket at time now_us (monotonic). Returns 1
 * if the request may go on; 0 if not, with *retry_after_ms set to when
 * the next token is due (>= 1).
 */
int ratelimit_take(struct ratelimit *rl, uint64_t key, int64_t now_us,
    int64_t *retry_after_ms);

/* A 64-bit hash of a byte string (FNV-1a), to key anonymous clients. */
uint64_t ratelimit_hash(const void *data, size_t len);

#endif
