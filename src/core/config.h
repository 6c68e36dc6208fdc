/*
 * config.h - config.ini plus STUDIOD_<SECTION>_<KEY> environment overrides.
 *
 * Every key has a type, a default and a range in one table (config.c); a
 * value from the file or the environment goes through the same check, and
 * every bad line is reported as "file:line: ..." before the server refuses
 * to start.
 */
#ifndef STUDIOD_CONFIG_H
#define STUDIOD_CONFIG_H

#include <stdint.h>

struct config {
	/* [server] */
	char *listen;            /* "host:port" as given */
	char *listen_host;       /* parsed from listen */
	int listen_port;
	int64_t max_body_bytes;
	int64_t max_inflight;     /* requests in progress; beyond, 503 at once */
	int64_t rate_per_second;  /* token bucket per token or address; 0 = off */
	int64_t rate_burst;
	int64_t idle_timeout_ms;  /* a connection with no request in it */
	int64_t request_timeout_ms; /* first byte to complete request */
	int64_t max_header_bytes;
	int64_t max_headers;
	char *cors_origins;      /* "", "*" or "https://a, https://b" */
	/* [database] */
	char *db_path;
	char *synchronous;       /* "full" | "normal" */
	int64_t busy_timeout_ms;
	int64_t batch_max_units;  /* units of work per transaction (group commit) */
	/* [reservation] */
	int64_t wait_ms;         /* how long POST /reservations waits to settle */
	int64_t pending_timeout_s; /* a saga still pending after this is failed */
	int64_t refund_cutoff_hours; /* later cancels are not refunded */
	int64_t approval_timeout_hours; /* undecided requests are declined */
	int64_t waitlist_cutoff_minutes; /* no promotion this close to the start */
	/* [payment] */
	char *payment_provider;  /* "none" | "http" */
	char *payment_url;       /* http://host:port/base, provider = http */
	char *payment_api_key_file;
	char *payment_currency;
	int64_t payment_timeout_ms;
	int64_t payment_max_attempts;
	int64_t payment_retry_base_ms;
	int64_t breaker_failures;
	int64_t breaker_open_ms;
	/* [bus] */
	int64_t bus_max_attempts;
	int64_t bus_retry_base_ms;
	int64_t bus_retention_days; /* events kept this long after all passed them */
	/* [notification] */
	int64_t webhook_max_attempts;
	int64_t webhook_retry_base_ms;
	int64_t webhook_timeout_ms;
	/* [log] */
	char *log_level;
	char *log_format;        /* "logfmt" | "json" */
	char *log_file;          /* "" means stderr; reopened on SIGHUP */
	/* [auth] */
	char *admin_token_file;  /* "" means admin.token beside the database */
};

/* Fill cfg with every default. Cannot fail. */
void config_init(struct config *cfg);
/* Free every string cfg owns; cfg may be reused after config_init. */
void config_release(struct config *cfg);

/*
 * Apply the ini text (named `name` in messages) on top of cfg. Returns the
 * number of errors; each is appended to *errors as one "name:line: ..." line
 * (*errors is a string the caller frees, NULL when there were none).
 */
int config_apply_ini(struct config *cfg, const char *text, const char *name,
    char **errors);
/* Read `path` and apply it as above; a file that cannot be read is an error. */
int config_apply_file(struct config *cfg, const char *path, char **errors);
/*
 * Rules between keys (e.g. provider = http needs a url), after the file and
 * the environment. Returns the number of errors, as config_apply_ini.
 */
int config_check(const struct config *cfg, char **errors);
/*
 * Apply STUDIOD_<SECTION>_<KEY>=value entries of envp (NULL-terminated, like
 * environ). An entry naming a known section but an unknown key is an error.
 */
int config_apply_env(struct config *cfg, char *const *envp, char **errors);

#endif
