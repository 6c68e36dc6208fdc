/* config.c - see config.h. */
#include "core/config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/util.h"

enum key_type { KEY_STRING, KEY_INT, KEY_ENUM, KEY_LISTEN };

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;          /* of the char * or int64_t in struct config */
	const char *def;        /* default, checked like any other value */
	int64_t min, max;       /* KEY_INT */
	const char *choices;    /* KEY_ENUM: "a|b|c" */
};

#define STR(s, k, f, d) { s, k, KEY_STRING, offsetof(struct config, f), d, 0, 0, NULL }
#define INT(s, k, f, d, lo, hi) { s, k, KEY_INT, offsetof(struct config, f), d, lo, hi, NULL }
#define ENUM(s, k, f, d, c) { s, k, KEY_ENUM, offsetof(struct config, f), d, 0, 0, c }

static const struct key keys[] = {
	{ "server", "listen", KEY_LISTEN, offsetof(struct config, listen),
	    "127.0.0.1:8088", 0, 0, NULL },
	INT("server", "max_body_bytes", max_body_bytes, "1048576", 64, 64 << 20),
	INT("server", "max_inflight", max_inflight, "1024", 1, 1000000),
	INT("server", "rate_per_second", rate_per_second, "0", 0, 1000000),
	INT("server", "rate_burst", rate_burst, "100", 1, 1000000),
	INT("server", "idle_timeout_ms", idle_timeout_ms, "30000", 100, 3600000),
	INT("server", "request_timeout_ms", request_timeout_ms, "30000", 100, 3600000),
	INT("server", "max_header_bytes", max_header_bytes, "16384", 1024, 1 << 20),
	INT("server", "max_headers", max_headers, "64", 4, 1000),
	STR("server", "cors_origins", cors_origins, ""),
	STR("database", "path", db_path, "data/studiod.db"),
	ENUM("database", "synchronous", synchronous, "full", "full|normal"),
	INT("database", "busy_timeout_ms", busy_timeout_ms, "5000", 0, 600000),
	INT("database", "batch_max_units", batch_max_units, "256", 1, 100000),
	INT("reservation", "wait_ms", wait_ms, "2000", 0, 60000),
	INT("reservation", "pending_timeout_s", pending_timeout_s, "300", 1, 86400),
	INT("reservation", "refund_cutoff_hours", refund_cutoff_hours, "12", 0, 8760),
	INT("reservation", "approval_timeout_hours", approval_timeout_hours, "48", 1,
	    8760),
	INT("reservation", "waitlist_cutoff_minutes", waitlist_cutoff_minutes, "60",
	    0, 10080),
	ENUM("payment", "provider", payment_provider, "none", "none|http"),
	STR("payment", "url", payment_url, ""),
	STR("payment", "api_key_file", payment_api_key_file, ""),
	STR("payment", "currency", payment_currency, "EUR"),
	INT("payment", "timeout_ms", payment_timeout_ms, "5000", 100, 120000),
	INT("payment", "max_attempts", payment_max_attempts, "3", 1, 20),
	INT("payment", "retry_base_ms", payment_retry_base_ms, "500", 10, 600000),
	INT("payment", "breaker_failures", breaker_failures, "5", 1, 1000),
	INT("payment", "breaker_open_ms", breaker_open_ms, "30000", 100, 3600000),
	INT("bus", "max_attempts", bus_max_attempts, "5", 1, 100),
	INT("bus", "retry_base_ms", bus_retry_base_ms, "100", 1, 600000),
	INT("bus", "retention_days", bus_retention_days, "90", 0, 36500),
	INT("notification", "webhook_max_attempts", webhook_max_attempts, "8", 1, 100),
	INT("notification", "webhook_retry_base_ms", webhook_retry_base_ms, "1000",
	    10, 3600000),
	INT("notification", "webhook_timeout_ms", webhook_timeout_ms, "5000", 100,
	    120000),
	ENUM("log", "level", log_level, "info", "debug|info|warn|error"),
	ENUM("log", "format", log_format, "logfmt", "logfmt|json"),
	STR("log", "file", log_file, ""),
	STR("auth", "admin_token_file", admin_token_file, ""),
};

#define NKEYS (sizeof keys / sizeof keys[0])

static char **
str_field(struct config *cfg, const struct key *k)
{
	return (char **)((char *)cfg + k->offset);
}

static int64_t *
int_field(struct config *cfg, const struct key *k)
{
	return (int64_t *)((char *)cfg + k->offset);
}

static const struct key *
find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
known_section(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0)
			return 1;
	return 0;
}

static int
enum_has(const char *choices, const char *v)
{
	size_t n = strlen(v);

	for (const char *p = choices; *p != '\0';) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncmp(p, v, n) == 0)
			return 1;
		p += len + (bar != NULL);
	}
	return 0;
}

/* "host:port" with a numeric IPv4 host or "[v6]"; port 0..65535. */
static int
parse_listen(const char *v, char **host, int *port)
{
	const char *colon = strrchr(v, ':');
	int64_t p;
	size_t hlen;

	if (colon == NULL || colon == v)
		return -1;
	if (parse_int64(colon + 1, 0, 65535, &p) != 0)
		return -1;
	hlen = (size_t)(colon - v);
	if (v[0] == '[') {
		if (hlen < 3 || v[hlen - 1] != ']')
			return -1;
		*host = strndup(v + 1, hlen - 2);
	} else {
		*host = strndup(v, hlen);
	}
	if (*host == NULL)
		abort();
	*port = (int)p;
	return 0;
}

/*
 * Check `value` against key k and store it. Returns NULL, or a static
 * message saying what is wrong.
 */
static const char *
set_value(struct config *cfg, const struct key *k, const char *value)
{
	static char why[160];
	int64_t n;

	switch (k->type) {
	case KEY_INT:
		if (parse_int64(value, k->min, k->max, &n) != 0) {
			snprintf(why, sizeof why,
			    "must be an integer from %lld to %lld",
			    (long long)k->min, (long long)k->max);
			return why;
		}
		*int_field(cfg, k) = n;
		return NULL;
	case KEY_ENUM:
		if (!enum_has(k->choices, value)) {
			snprintf(why, sizeof why, "must be one of %s", k->choices);
			return why;
		}
		break;
	case KEY_LISTEN: {
		char *host;
		int port;

		if (parse_listen(value, &host, &port) != 0)
			return "must be host:port, e.g. 127.0.0.1:8088";
		free(cfg->listen_host);
		cfg->listen_host = host;
		cfg->listen_port = port;
		break;
	}
	case KEY_STRING:
		break;
	}
	free(*str_field(cfg, k));
	*str_field(cfg, k) = xstrdup(value);
	return NULL;
}

void
config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < NKEYS; i++)
		if (set_value(cfg, &keys[i], keys[i].def) != NULL)
			abort(); /* a default that fails its own check */
}

void
config_release(struct config *cfg)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].type != KEY_INT)
			free(*str_field(cfg, &keys[i]));
	free(cfg->listen_host);
	memset(cfg, 0, sizeof *cfg);
}

/* Collects error lines into a growing string. */
struct errlog {
	FILE *f;
	char *buf;
	size_t len;
	int count;
};

static void
errlog_open(struct errlog *e)
{
	e->buf = NULL;
	e->len = 0;
	e->count = 0;
	e->f = open_memstream(&e->buf, &e->len);
	if (e->f == NULL)
		abort();
}

static void __attribute__((format(printf, 2, 3)))
errlog_add(struct errlog *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(e->f, fmt, ap);
	va_end(ap);
	fputc('\n', e->f);
	e->count++;
}

static int
errlog_close(struct errlog *e, char **errors)
{
	fclose(e->f);
	if (e->count == 0) {
		free(e->buf);
		*errors = NULL;
	} else {
		*errors = e->buf;
	}
	return e->count;
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

struct seen {
	unsigned char set[NKEYS];
};

/* Handle one ini line; `section` is the current section (updated in place). */
static void
ini_line(struct config *cfg, char *line, const char *name, int lineno,
    char *section, size_t section_size, struct seen *seen, struct errlog *e)
{
	char *s = trim(line), *eq, *key, *value;
	const struct key *k;
	const char *why;
	size_t vlen;

	if (*s == '\0' || *s == '#' || *s == ';')
		return;
	if (*s == '[') {
		char *close = strchr(s, ']');

		if (close == NULL || close[1] != '\0') {
			errlog_add(e, "%s:%d: malformed section header", name, lineno);
			return;
		}
		*close = '\0';
		snprintf(section, section_size, "%s", trim(s + 1));
		if (!known_section(section))
			errlog_add(e, "%s:%d: unknown section [%s]", name, lineno,
			    section);
		return;
	}
	eq = strchr(s, '=');
	if (eq == NULL) {
		errlog_add(e, "%s:%d: expected key = value", name, lineno);
		return;
	}
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	vlen = strlen(value);
	if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
		value[vlen - 1] = '\0';
		value++;
	}
	if (section[0] == '\0') {
		errlog_add(e, "%s:%d: key '%s' outside any section", name, lineno, key);
		return;
	}
	if (!known_section(section))
		return; /* already reported at the header */
	k = find_key(section, key);
	if (k == NULL) {
		errlog_add(e, "%s:%d: unknown key '%s' in [%s]", name, lineno, key,
		    section);
		return;
	}
	if (seen->set[k - keys]++) {
		errlog_add(e, "%s:%d: duplicate key '%s' in [%s]", name, lineno,
		    key, section);
		return;
	}
	why = set_value(cfg, k, value);
	if (why != NULL)
		errlog_add(e, "%s:%d: [%s] %s = \"%s\": %s", name, lineno, section,
		    key, value, why);
}

int
config_apply_ini(struct config *cfg, const char *text, const char *name,
    char **errors)
{
	char section[64] = "";
	struct seen seen;
	struct errlog e;
	char *copy = xstrdup(text), *line, *save = NULL;
	int lineno = 0;
	const char *p = copy;

	memset(&seen, 0, sizeof seen);
	errlog_open(&e);
	/* Walk lines by hand: strtok would merge blank lines and lose numbers. */
	for (line = copy; p != NULL; line = save) {
		char *nl = strchr(line, '\n');

		lineno++;
		if (nl != NULL) {
			*nl = '\0';
			save = nl + 1;
		}
		p = nl;
		if (strchr(line, '\r') != NULL)
			*strchr(line, '\r') = '\0';
		ini_line(cfg, line, name, lineno, section, sizeof section, &seen, &e);
	}
	free(copy);
	return errlog_close(&e, errors);
}

int
config_apply_file(struct config *cfg, const char *path, char **errors)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0, len = 0, n;
	int rc;

	if (f == NULL) {
		*errors = xasprintf("%s: cannot open: %m\n", path);
		return 1;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			text = xrealloc(text, cap + 1);
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	text[len] = '\0';
	if (strlen(text) != len) {
		free(text);
		*errors = xasprintf("%s: contains a NUL byte\n", path);
		return 1;
	}
	rc = config_apply_ini(cfg, text, path, errors);
	free(text);
	return rc;
}

int
config_check(const struct config *cfg, char **errors)
{
	struct errlog e;
	size_t n = strlen(cfg->payment_currency);

	errlog_open(&e);
	if (n != 3 || strspn(cfg->payment_currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
		errlog_add(&e, "[payment] currency = \"%s\": must be an ISO 4217 "
		    "code such as EUR", cfg->payment_currency);
	if (strcmp(cfg->payment_provider, "http") == 0 &&
	    strncmp(cfg->payment_url, "http://", 7) != 0)
		errlog_add(&e, "[payment] url = \"%s\": provider = http needs an "
		    "http:// URL (put a TLS-terminating adapter in front of a "
		    "provider that speaks https)", cfg->payment_url);
	return errlog_close(&e, errors);
}

int
config_apply_env(struct config *cfg, char *const *envp, char **errors)
{
	static const char prefix[] = "STUDIOD_";
	struct errlog e;

	errlog_open(&e);
	for (; envp != NULL && *envp != NULL; envp++) {
		const char *entry = *envp, *eq = strchr(entry, '=');
		char name[128];
		const struct key *match = NULL;
		int section_known = 0;
		const char *why;

		if (strncmp(entry, prefix, sizeof prefix - 1) != 0 || eq == NULL)
			continue;
		snprintf(name, sizeof name, "%.*s", (int)(eq - entry), entry);
		for (size_t i = 0; i < NKEYS; i++) {
			char want[128];
			size_t slen = strlen(keys[i].section);

			if (strncasecmp(name + sizeof prefix - 1, keys[i].section,
			    slen) == 0 && name[sizeof prefix - 1 + slen] == '_')
				section_known = 1;
			snprintf(want, sizeof want, "%s%s_%s", prefix,
			    keys[i].section, keys[i].name);
			if (strcasecmp(want, name) == 0)
				match = &keys[i];
		}
		if (match == NULL) {
			if (section_known)
				errlog_add(&e, "environment %s: unknown key", name);
			continue;
		}
		why = set_value(cfg, match, eq + 1);
		if (why != NULL)
			errlog_add(&e, "environment %s=\"%s\": %s", name, eq + 1, why);
	}
	return errlog_close(&e, errors);
}
