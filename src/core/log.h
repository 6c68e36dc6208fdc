/*
 * log.h - leveled logfmt lines on stderr (journald adds the time stamp
 * too, but a line that stands alone is easier to grep and to test).
 *
 *   log_info("reservation confirmed", "reservation_id=%lld", (long long)id);
 *
 * prints: ts=2026-11-21T10:00:00.123Z level=info rid=r1a2 msg="reservation confirmed" reservation_id=7
 * The second argument is a printf format for extra key=value pairs, or NULL.
 */
#ifndef STUDIOD_LOG_H
#define STUDIOD_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Parse "debug" | "info" | "warn" | "error"; -1 if unknown. */
int log_level_parse(const char *s);
void log_set_level(enum log_level level);
/*
 * The request id (or saga correlation id) printed on every line until the
 * next call; NULL clears it. The string is copied.
 */
void log_set_context(const char *rid);
/* The same without copying: rid must stay valid until the next call (the
 * hot path sets it once per event delivery). */
void log_set_context_ref(const char *rid);

/* 1: one JSON object per line instead of logfmt ([log] format = json). */
void log_set_format(int json);
/*
 * Send the log (stderr, fd 2) to path, appending; called again on SIGHUP
 * it reopens the file after a rotation. 0, or -1 with errno set.
 */
int log_open_file(const char *path);

void log_emit(enum log_level level, const char *msg, const char *kvfmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_emit(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_emit(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_emit(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_emit(LOG_ERROR, __VA_ARGS__)

#endif
