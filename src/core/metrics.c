/* metrics.c - see metrics.h. */
#include "core/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* Requests by (route, method, status): an open-addressed table, no allocation. */
#define REQ_SLOTS 1024
#define MAX_PROVIDERS 16

struct req_count {
	const char *route;      /* NULL: slot empty */
	const char *method;
	int status;
	uint64_t count;
};

/* Latency buckets, in microseconds (Prometheus reports seconds). */
static const int64_t bucket_us[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000,
};
#define NBUCKETS (sizeof bucket_us / sizeof bucket_us[0])

static struct {
	struct req_count req[REQ_SLOTS];
	uint64_t req_overflow;
	uint64_t hist[NBUCKETS + 1];    /* last: +Inf only */
	uint64_t hist_count;
	int64_t hist_sum_us;
	uint64_t refused_overload, refused_rate, timeouts;
	struct {
		metrics_provider fn;
		void *arg;
	} providers[MAX_PROVIDERS];
	int nproviders;
} m;

static const char unmatched[] = "unmatched";

static size_t
req_slot(const char *route, const char *method, int status)
{
	uintptr_t h = (uintptr_t)route ^ ((uintptr_t)method << 7) ^
	    ((uintptr_t)status * 2654435761u);

	h ^= h >> 13;
	return (size_t)h & (REQ_SLOTS - 1);
}

void
metrics_request(const char *route, const char *method, int status,
    int64_t duration_us)
{
	size_t s, i;

	if (route == NULL)
		route = unmatched;
	s = req_slot(route, method, status);
	for (i = 0; i < 16; i++) {
		struct req_count *c = &m.req[(s + i) & (REQ_SLOTS - 1)];

		if (c->route == NULL) {
			c->route = route;
			c->method = method;
			c->status = status;
		}
		if (c->route == route && c->method == method &&
		    c->status == status) {
			c->count++;
			break;
		}
	}
	if (i == 16)
		m.req_overflow++;
	for (i = 0; i < NBUCKETS && duration_us > bucket_us[i]; i++)
		;
	m.hist[i]++;
	m.hist_count++;
	m.hist_sum_us += duration_us;
}

void
metrics_refused(const char *reason)
{
	if (strcmp(reason, "overload") == 0)
		m.refused_overload++;
	else
		m.refused_rate++;
}

void
metrics_timeout(void)
{
	m.timeouts++;
}

void
metrics_add_provider(metrics_provider fn, void *arg)
{
	if (m.nproviders == MAX_PROVIDERS)
		abort(); /* a programming error: raise the limit */
	m.providers[m.nproviders].fn = fn;
	m.providers[m.nproviders].arg = arg;
	m.nproviders++;
}

void
metrics_clear_providers(void)
{
	m.nproviders = 0;
}

void
metrics_head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_label(FILE *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', out);
		if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void
render_requests(FILE *out)
{
	uint64_t cum = 0;

	metrics_head(out, "studiod_http_requests_total", "counter",
	    "HTTP requests answered, by route pattern, method and status.");
	for (size_t i = 0; i < REQ_SLOTS; i++) {
		const struct req_count *c = &m.req[i];

		if (c->route == NULL)
			continue;
		fputs("studiod_http_requests_total{route=\"", out);
		metrics_label(out, c->route);
		fprintf(out, "\",method=\"%s\",status=\"%d\"} %llu\n", c->method,
		    c->status, (unsigned long long)c->count);
	}
	metrics_head(out, "studiod_http_requests_untracked_total", "counter",
	    "Requests not broken down by route (the table was full).");
	fprintf(out, "studiod_http_requests_untracked_total %llu\n",
	    (unsigned long long)m.req_overflow);
	metrics_head(out, "studiod_http_request_duration_seconds", "histogram",
	    "Time from a complete request to its reply.");
	for (size_t i = 0; i < NBUCKETS; i++) {
		cum += m.hist[i];
		fprintf(out, "studiod_http_request_duration_seconds_bucket"
		    "{le=\"%g\"} %llu\n", (double)bucket_us[i] / 1e6,
		    (unsigned long long)cum);
	}
	fprintf(out, "studiod_http_request_duration_seconds_bucket{le=\"+Inf\"} "
	    "%llu\n", (unsigned long long)m.hist_count);
	fprintf(out, "studiod_http_request_duration_seconds_sum %.6f\n",
	    (double)m.hist_sum_us / 1e6);
	fprintf(out, "studiod_http_request_duration_seconds_count %llu\n",
	    (unsigned long long)m.hist_count);
}

static void
render_front_door(FILE *out)
{
	metrics_head(out, "studiod_http_refused_total", "counter",
	    "Requests refused before any work: 503 overload, 429 rate limit.");
	fprintf(out, "studiod_http_refused_total{reason=\"overload\"} %llu\n",
	    (unsigned long long)m.refused_overload);
	fprintf(out, "studiod_http_refused_total{reason=\"rate_limit\"} %llu\n",
	    (unsigned long long)m.refused_rate);
	metrics_head(out, "studiod_http_client_timeouts_total", "counter",
	    "Connections closed because the client was too slow or idle too long.");
	fprintf(out, "studiod_http_client_timeouts_total %llu\n",
	    (unsigned long long)m.timeouts);
}

char *
metrics_render(size_t *len)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, len);

	if (out == NULL)
		abort();
	render_requests(out);
	render_front_door(out);
	for (int i = 0; i < m.nproviders; i++)
		m.providers[i].fn(out, m.providers[i].arg);
	fclose(out);
	return text;
}

void
metrics_reset(void)
{
	int n = m.nproviders;

	memset(m.req, 0, sizeof m.req);
	m.req_overflow = m.hist_count = 0;
	m.hist_sum_us = 0;
	memset(m.hist, 0, sizeof m.hist);
	m.refused_overload = m.refused_rate = m.timeouts = 0;
	m.nproviders = n;
}
