/*
 * ical.h - the calendar module's iCalendar (RFC 5545) writer: pure, no
 * database, no clock (the caller passes "now"), so it is unit-tested alone
 * (tests/unit/test_ical.c). Internal to src/modules/calendar.
 *
 * Every content line ends in CRLF and is folded at 75 octets (CRLF and one
 * space, never inside a UTF-8 sequence); TEXT values are escaped.
 */
#ifndef STUDIOD_ICAL_H
#define STUDIOD_ICAL_H

#include <stddef.h>
#include <stdint.h>

/* A growing text buffer; zero-initialise it, free buf with ical_release. */
struct ical {
	char *buf;
	size_t len, cap;
};

/* One VEVENT. Strings may be NULL (the property is left out) but uid. */
struct ical_event {
	const char *uid;            /* e.g. reservation-7@studiod */
	int64_t starts_at, ends_at; /* Unix seconds */
	const char *summary, *location, *description;
	int cancelled;              /* STATUS:CANCELLED, else CONFIRMED */
	int64_t sequence;
};

/* Free the buffer and zero ic; NULL is fine. */
void ical_release(struct ical *ic);

/*
 * Append one content line "name:value", folded. With text set the value is
 * escaped as a TEXT value (\\, \;, \, and \n; other control characters
 * are dropped); without, it is written as it is.
 */
void ical_prop(struct ical *ic, const char *name, const char *value, int text);

/* Unix seconds as an RFC 5545 UTC DATE-TIME: YYYYMMDDTHHMMSSZ. */
void ical_time(int64_t t, char buf[static 17]);

/* BEGIN:VCALENDAR and the calendar's properties (calname is TEXT). */
void ical_begin(struct ical *ic, const char *calname);
/* One VEVENT stamped with now (DTSTAMP). */
void ical_event(struct ical *ic, const struct ical_event *ev, int64_t now);
/* END:VCALENDAR. */
void ical_end(struct ical *ic);

#endif
