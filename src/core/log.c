/* log.c - see log.h. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level min_level = LOG_INFO;
static char context_buf[64];
static const char *context = context_buf;

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
