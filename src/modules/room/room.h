/*
 * room.h - rooms rented by the hour (a meeting room, the studio itself).
 *
 * The room module is the authority on time slots as the class module is on
 * places: on reservation.requested with a room_id it holds the slot - a
 * half-open range [starts_at, ends_at) that overlaps no other held slot of
 * the room - and publishes room.slot_reserved (with the price: the duration
 * times the hourly price) or room.slot_taken / room.booking_closed; it
 * frees the slot on reservation.rejected / .cancelled.
 *
 * Publishes: room.created, room.updated, room.removed, room.slot_reserved,
 * room.slot_taken, room.booking_closed, room.slot_released.
 */
#ifndef STUDIOD_ROOM_H
#define STUDIOD_ROOM_H

#include "core/app.h"

extern const struct module room_module;

#endif
