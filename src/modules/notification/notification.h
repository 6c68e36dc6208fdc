/*
 * notification.h - each member's inbox (GET /me/notifications), written by
 * handlers of reservation.confirmed / .rejected / .cancelled: one
 * notification per event, logged as "notification sent".
 */
#ifndef STUDIOD_NOTIFICATION_H
#define STUDIOD_NOTIFICATION_H

#include "core/app.h"

extern const struct module notification_module;

#endif
