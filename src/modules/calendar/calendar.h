/*
 * calendar.h - iCalendar feeds (RFC 5545) a phone calendar subscribes to:
 * each member's bookings (GET /calendar/members/{id}?key=) and the studio's
 * classes (GET /calendar/studio?key=). The key is a random secret per feed,
 * made on member.created (the studio's at the first start) and rotated by
 * POST /me/calendar/rotate; a wrong key is 404. The module keeps its own
 * read model of bookings and classes from reservation.* and class.* events
 * and publishes calendar.feed_changed {member_id, path} whenever a member's
 * feed is made or rotated (the member module shows the path in GET /me).
 */
#ifndef STUDIOD_CALENDAR_H
#define STUDIOD_CALENDAR_H

#include "core/app.h"

extern const struct module calendar_module;

#endif
