/* ratelimit.c - see ratelimit.h. */
#include "core/ratelimit.h"

#include <stdlib.h>

#include "core/util.h"

#define PROBES 8

struct bucket {
	uint64_t key;           /* 0: empty */
	double tokens;
	int64_t last_us;        /* when tokens was last brought up to date */
};

struct ratelimit {
	double rate, burst;
	size_t mask;
	struct bucket *slots;
};

struct ratelimit *
ratelimit_new(double rate, double burst, size_t slots)
{
	struct ratelimit *rl = xcalloc(1, sizeof *rl);
	size_t n = 16;

	while (n < slots)
		n <<= 1;
	rl->mask = n - 1;
	rl->slots = xcalloc(n, sizeof *rl->slots);
	ratelimit_configure(rl, rate, burst);
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	free(rl->slots);
	free(rl);
}

void
ratelimit_configure(struct ratelimit *rl, double rate, double burst)
{
	rl->rate = rate > 0 ? rate : 1;
	rl->burst = burst >= 1 ? burst : 1;
}

uint64_t
ratelimit_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Mix the key so that sequential ids spread over the table. */
static size_t
slot_of(const struct ratelimit *rl, uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & rl->mask;
}

/* The bucket of key: its own, else an empty one, else the stalest. */
static struct bucket *
find(struct ratelimit *rl, uint64_t key, int64_t now_us)
{
	size_t s = slot_of(rl, key);
	struct bucket *victim = NULL;

	for (int i = 0; i < PROBES; i++) {
		struct bucket *b = &rl->slots[(s + (size_t)i) & rl->mask];

		if (b->key == key)
			return b;
		if (victim == NULL || b->key == 0 ||
		    (victim->key != 0 && b->last_us < victim->last_us))
			victim = b;
	}
	victim->key = key;
	victim->tokens = rl->burst;
	victim->last_us = now_us;
	return victim;
}

int
ratelimit_take(struct ratelimit *rl, uint64_t key, int64_t now_us,
    int64_t *retry_after_ms)
{
	struct bucket *b;
	double wait_s;

	if (key == 0)
		key = 1;        /* 0 marks an empty slot */
	b = find(rl, key, now_us);
	if (now_us > b->last_us) {
		b->tokens += (double)(now_us - b->last_us) / 1e6 * rl->rate;
		b->last_us = now_us;
	}
	if (b->tokens > rl->burst)
		b->tokens = rl->burst;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 1;
	}
	wait_s = (1.0 - b->tokens) / rl->rate;
	/* Round up without libm: a client told "now" would only be refused again. */
	*retry_after_ms = (int64_t)(wait_s * 1000.0) + 1;
	if (*retry_after_ms < 1)
		*retry_after_ms = 1;
	return 0;
}
