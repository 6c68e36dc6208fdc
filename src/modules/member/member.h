/*
 * member.h - the studio's members and their credits: POST /members (which shows the member's
 * token once), GET /members/{id}, GET /me. Publishes member.created.
 */
#ifndef STUDIOD_MEMBER_H
#define STUDIOD_MEMBER_H

#include "core/app.h"

extern const struct module member_module;

#endif
