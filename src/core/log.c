/* log.c - see log.h. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level min_level = LOG_INFO;
static char context[64];

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
		context[0] = '\0';
	else
		snprintf(context, sizeof context, "%s", rid);
}

void
log_emit(enum log_level level, const char *msg, const char *kvfmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	va_list ap;

	if (level < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	flockfile(stderr);
	fprintf(stderr, "ts=%s.%03ldZ level=%s", stamp, ts.tv_nsec / 1000000,
	    level_names[level]);
	if (context[0] != '\0')
		fprintf(stderr, " rid=%s", context);
	fprintf(stderr, " msg=\"%s\"", msg);
	if (kvfmt != NULL) {
		fputc(' ', stderr);
		va_start(ap, kvfmt);
		vfprintf(stderr, kvfmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	funlockfile(stderr);
}
