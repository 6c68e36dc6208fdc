/*
 * check.h - `studiod check`: verify the invariants of ../shared/DESIGN.md on
 * a database, read-only. This is the one piece of code that reads several
 * modules' tables together, on purpose: it checks that modules which only
 * talk through events agree with each other.
 */
#ifndef STUDIOD_CHECK_H
#define STUDIOD_CHECK_H

#include <stdint.h>
#include <stdio.h>

/*
 * Print every violation to out, one per line, and a summary. A saga still
 * pending after pending_timeout_s counts as hanging. Returns 0 if all hold,
 * 1 if any is violated, 2 if the database cannot be read.
 */
int check_database(const char *path, int64_t pending_timeout_s, FILE *out);

#endif
