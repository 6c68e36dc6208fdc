/*
 * dashboard.h - GET /dashboard (admin): every class starting in [from, to)
 * (default: from now on) with capacity, booked, remaining, waitlist, money
 * taken and refunded, reviews, and the totals of the range - answered from
 * the module's own read model in one query. The tables are written only by
 * the handlers of class.*, reservation.*, payment.*, credits.* and review.*
 * events, so `studiod rebuild-projections` can replay them.
 */
#ifndef STUDIOD_DASHBOARD_H
#define STUDIOD_DASHBOARD_H

#include "core/app.h"

extern const struct module dashboard_module;

#endif
