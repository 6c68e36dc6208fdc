/* log.c - see log.h. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static char context_buf[64];
static const char *context = context_buf;

static int json_format;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int
log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void
log_set_level(enum log_level level)
{
	min_level = level;
}

void
log_set_context(const char *rid)
{
	if (rid == NULL)
		context_buf[0] = '\0';
	else
		snprintf(context_buf, sizeof context_buf, "%s", rid);
	context = context_buf;
}

void
log_set_context_ref(const char *rid)
{
	context = rid != NULL ? rid : "";
}

void
log_set_format(int json)
{
	json_format = json;
}

int
log_open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return -1;
	if (dup2(fd, STDERR_FILENO) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Append s to line[*n] as the inside of a JSON string. */
static void
json_str(char *line, size_t size, size_t *n, const char *s, size_t len)
{
	for (size_t i = 0; i < len && *n < size - 8; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			line[(*n)++] = '\\';
			line[(*n)++] = (char)c;
		} else if (c < 0x20) {
			*n += (size_t)snprintf(line + *n, size - *n, "\\u%04x", c);
		} else {
			line[(*n)++] = (char)c;
		}
	}
}

/*
 * Turn the logfmt pairs of kv (key=value, key="quoted value") into JSON
 * members after line[*n]; a bare integer stays a number.
 */
static void
json_pairs(char *line, size_t size, size_t *n, const char *kv)
{
	while (*kv != '\0' && *n < size - 16) {
		const char *k = kv, *eq, *v, *end;
		int quoted, number;

		while (*k == ' ')
			k++;
		eq = strchr(k, '=');
		if (*k == '\0' || eq == NULL)
			return;
		quoted = eq[1] == '"';
		v = eq + 1 + quoted;
		end = quoted ? strchr(v, '"') : strchr(v, ' ');
		if (end == NULL)
			end = v + strlen(v);
		number = !quoted && end > v && strspn(v, "-0123456789") ==
		    (size_t)(end - v);
		line[(*n)++] = ',';
		line[(*n)++] = '"';
		json_str(line, size, n, k, (size_t)(eq - k));
		line[(*n)++] = '"';
		line[(*n)++] = ':';
		if (!number)
			line[(*n)++] = '"';
		json_str(line, size, n, v, (size_t)(end - v));
		if (!number)
			line[(*n)++] = '"';
		kv = *end == '"' ? end + 1 : end;
	}
}

/* The JSON form of one line: {"ts","level","rid"?,"msg",...pairs}. */
static size_t
json_line(char *line, size_t size, const char *ts, const char *level,
    const char *msg, const char *kv)
{
	size_t n = (size_t)snprintf(line, size, "{\"ts\":\"%s\",\"level\":\"%s\"",
	    ts, level);

	if (context[0] != '\0') {
		n += (size_t)snprintf(line + n, size - n, ",\"rid\":\"");
		json_str(line, size, &n, context, strlen(context));
		line[n++] = '"';
	}
	n += (size_t)snprintf(line + n, size - n, ",\"msg\":\"");
	json_str(line, size, &n, msg, strlen(msg));
	line[n++] = '"';
	if (kv != NULL)
		json_pairs(line, size, &n, kv);
	line[n++] = '}';
	return n;
}

/*
 * One line, formatted in a buffer and written with a single write(2):
 * stderr is unbuffered, and a line in six pieces cost six system calls (a
 * third of the server's time at info level). One write also keeps lines
 * whole if anything else writes to the same file.
 */
void
log_emit(enum log_level level, const char *msg, const char *kvfmt, ...)
{
	static time_t stamp_second = -1;
	static char stamp[24];
	char line[2048];
	struct timespec ts;
	size_t n;
	va_list ap;
	int k;

	if (level < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != stamp_second) {
		struct tm tm;

		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		stamp_second = ts.tv_sec;
	}
	if (json_format) {
		char kv[1536], when[48];

		kv[0] = '\0';
		if (kvfmt != NULL) {
			va_start(ap, kvfmt);
			vsnprintf(kv, sizeof kv, kvfmt, ap);
			va_end(ap);
		}
		snprintf(when, sizeof when, "%s.%03dZ", stamp,
		    (int)(ts.tv_nsec / 1000000));
		n = json_line(line, sizeof line - 1, when, level_names[level], msg,
		    kv);
		line[n++] = '\n';
		fwrite(line, 1, n, stderr);
		return;
	}
	k = snprintf(line, sizeof line, "ts=%s.%03ldZ level=%s%s%s msg=\"%s\"",
	    stamp, ts.tv_nsec / 1000000, level_names[level],
	    context[0] ? " rid=" : "", context, msg);
	n = k < 0 ? 0 : (size_t)k < sizeof line ? (size_t)k : sizeof line - 1;
	if (kvfmt != NULL && n < sizeof line - 2) {
		line[n++] = ' ';
		va_start(ap, kvfmt);
		k = vsnprintf(line + n, sizeof line - n, kvfmt, ap);
		va_end(ap);
		if (k > 0)
			n += (size_t)k < sizeof line - n ? (size_t)k : sizeof line - n - 1;
	}
	if (n > sizeof line - 2)
		n = sizeof line - 2; /* a truncated line still ends the line */
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}
