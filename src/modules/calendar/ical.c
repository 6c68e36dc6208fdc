/* ical.c - see ical.h. */
#include "modules/calendar/ical.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"

/* RFC 5545 3.1: lines longer than 75 octets (CRLF excluded) are folded. */
#define ICAL_LINE_MAX 75

static void
add(struct ical *ic, const char *s, size_t n)
{
	if (ic->len + n + 1 > ic->cap) {
		ic->cap = (ic->len + n + 1) * 2 + 256;
		ic->buf = xrealloc(ic->buf, ic->cap);
	}
	memcpy(ic->buf + ic->len, s, n);
	ic->len += n;
	ic->buf[ic->len] = '\0';
}

void
ical_release(struct ical *ic)
{
	if (ic == NULL)
		return;
	free(ic->buf);
	memset(ic, 0, sizeof *ic);
}

/* Octets of the character starting at s[i]: its lead byte and the
 * continuation bytes after it (at most 4, so bad input still folds). */
static size_t
char_len(const char *s, size_t i, size_t n)
{
	size_t k = 1;

	while (k < 4 && i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80)
		k++;
	return k;
}

/* Append line (n octets, no CRLF) folded at 75 octets, then CRLF. */
static void
add_folded(struct ical *ic, const char *line, size_t n)
{
	size_t col = 0, i = 0, k;

	while (i < n) {
		k = char_len(line, i, n);
		if (col + k > ICAL_LINE_MAX) {
			add(ic, "\r\n ", 3);
			col = 1; /* the leading space counts */
		}
		add(ic, line + i, k);
		col += k;
		i += k;
	}
	add(ic, "\r\n", 2);
}

/* Append value escaped as TEXT (RFC 5545 3.3.11) to out. */
static void
add_escaped(struct ical *out, const char *v)
{
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '\\' || c == ';' || c == ',') {
			char esc[2] = { '\\', (char)c };

			add(out, esc, 2);
		} else if (c == '\n') {
			add(out, "\\n", 2);
		} else if ((c < 0x20 && c != '\t') || c == 0x7F) {
			continue; /* CR and other controls are not allowed in TEXT */
		} else {
			add(out, v, 1);
		}
	}
}

void
ical_prop(struct ical *ic, const char *name, const char *value, int text)
{
	struct ical line = { 0 };

	add(&line, name, strlen(name));
	add(&line, ":", 1);
	if (text)
		add_escaped(&line, value);
	else
		add(&line, value, strlen(value));
	add_folded(ic, line.buf, line.len);
	ical_release(&line);
}

void
ical_time(int64_t t, char buf[static 17])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm);
}

void
ical_begin(struct ical *ic, const char *calname)
{
	ical_prop(ic, "BEGIN", "VCALENDAR", 0);
	ical_prop(ic, "VERSION", "2.0", 0);
	ical_prop(ic, "PRODID", "-//studiod//EN", 0);
	ical_prop(ic, "CALSCALE", "GREGORIAN", 0);
	ical_prop(ic, "METHOD", "PUBLISH", 0);
	ical_prop(ic, "X-WR-CALNAME", calname, 1);
	/* How often a subscribed calendar should fetch the feed again. */
	ical_prop(ic, "REFRESH-INTERVAL;VALUE=DURATION", "PT1H", 0);
	ical_prop(ic, "X-PUBLISHED-TTL", "PT1H", 0);
}

void
ical_event(struct ical *ic, const struct ical_event *ev, int64_t now)
{
	char t[17], seq[24];

	ical_prop(ic, "BEGIN", "VEVENT", 0);
	ical_prop(ic, "UID", ev->uid, 0);
	ical_time(now, t);
	ical_prop(ic, "DTSTAMP", t, 0);
	ical_time(ev->starts_at, t);
	ical_prop(ic, "DTSTART", t, 0);
	ical_time(ev->ends_at, t);
	ical_prop(ic, "DTEND", t, 0);
	if (ev->summary != NULL)
		ical_prop(ic, "SUMMARY", ev->summary, 1);
	if (ev->location != NULL && ev->location[0] != '\0')
		ical_prop(ic, "LOCATION", ev->location, 1);
	if (ev->description != NULL && ev->description[0] != '\0')
		ical_prop(ic, "DESCRIPTION", ev->description, 1);
	ical_prop(ic, "STATUS", ev->cancelled ? "CANCELLED" : "CONFIRMED", 0);
	snprintf(seq, sizeof seq, "%lld", (long long)ev->sequence);
	ical_prop(ic, "SEQUENCE", seq, 0);
	ical_prop(ic, "END", "VEVENT", 0);
}

void
ical_end(struct ical *ic)
{
	ical_prop(ic, "END", "VCALENDAR", 0);
}
