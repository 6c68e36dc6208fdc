/*
 * reservation.h - the booking saga's owner.
 *
 * POST /reservations records a `pending` reservation and
 * reservation.requested; the class module answers with
 * class.capacity_reserved (-> `confirmed`, reservation.confirmed) or
 * class.full / class.booking_closed (-> `rejected`, reservation.rejected).
 * The request waits, without blocking the loop, for the outcome. Cancel
 * publishes reservation.cancelled; class.cancelled cancels every active
 * booking of that class; a dead-lettered saga step, or a saga pending past
 * [reservation] pending_timeout_s, is rejected so nothing hangs.
 */
#ifndef STUDIOD_RESERVATION_H
#define STUDIOD_RESERVATION_H

#include "core/app.h"

extern const struct module reservation_module;

#endif
