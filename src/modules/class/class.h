/*
 * class.h - the schedule. The studio creates, edits and cancels classes;
 * the class module is the one authority on places: it holds one for a
 * reservation.requested (or answers class.full / class.booking_closed) and
 * releases it on reservation.rejected / reservation.cancelled, so `booked`
 * always equals the number of held places.
 *
 * Publishes: class.created, class.updated, class.cancelled,
 * class.capacity_reserved, class.full, class.booking_closed,
 * class.capacity_released.
 */
#ifndef STUDIOD_CLASS_H
#define STUDIOD_CLASS_H

#include "core/app.h"

extern const struct module class_module;

#endif
