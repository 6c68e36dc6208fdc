/*
 * review.h - members' reviews of the classes they attended:
 * POST /classes/{id}/reviews, GET /classes/{id}/reviews, DELETE /reviews/{id}.
 *
 * Who may review what is decided from the module's own projections of
 * class.* and reservation.* events (a confirmed reservation of a class that
 * has started, once per reservation). Publishes review.posted and
 * review.deleted; the statistics shown on a class are the class module's
 * read model of those events, never recomputed here.
 */
#ifndef STUDIOD_REVIEW_H
#define STUDIOD_REVIEW_H

#include "core/app.h"

extern const struct module review_module;

#endif
