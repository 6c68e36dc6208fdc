/*
 * mypage.h - the member's page (GET /me/reservations): a read model owned by
 * this module, written only by its handlers of reservation.* and
 * class.updated events, so it can be dropped and rebuilt from the outbox.
 */
#ifndef STUDIOD_MYPAGE_H
#define STUDIOD_MYPAGE_H

#include "core/app.h"

extern const struct module mypage_module;

#endif
