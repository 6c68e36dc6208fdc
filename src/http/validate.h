/*
 * validate.h - field-by-field checks of a JSON object that collect every
 * problem into an errors[] array ({"field","message"}), for one 422 that
 * names them all. Independent of HTTP, so it is unit-tested alone.
 *
 *   struct vctx v;
 *   v_begin(&v, body, allowed);            // unknown fields are errors
 *   v_string(&v, "title", V_REQUIRED, 200, &title);
 *   v_int(&v, "capacity", V_REQUIRED, 1, 10000, &capacity);
 *   if (!v_ok(&v)) { http_problem_invalid(req, v_take(&v)); ... }
 *
 * Each getter returns 1 when the field was present and valid (and stores
 * it), 0 when absent (out untouched), -1 when invalid (error recorded).
 */
#ifndef STUDIOD_VALIDATE_H
#define STUDIOD_VALIDATE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

enum { V_OPTIONAL = 0, V_REQUIRED = 1 };

struct vctx {
	json_t *obj;        /* borrowed */
	json_t *errors;     /* owned until v_take / v_end */
};

/* allowed: NULL-terminated field names, or NULL to allow any. */
void v_begin(struct vctx *v, json_t *obj, const char *const *allowed);
void v_end(struct vctx *v);
int v_ok(const struct vctx *v);
/* Hand over errors[] (the caller owns it); v is finished. */
json_t *v_take(struct vctx *v);
void v_error(struct vctx *v, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A string of 1..max_chars characters (UTF-8 code points); no ASCII control
 * characters other than tab, newline and carriage return.
 * *out is borrowed from the object. */
int v_string(struct vctx *v, const char *field, int required,
    size_t max_chars, const char **out);
/* Like v_string but null is accepted and stored as NULL. */
int v_string_or_null(struct vctx *v, const char *field, size_t max_chars,
    const char **out);
int v_int(struct vctx *v, const char *field, int required, int64_t min,
    int64_t max, int64_t *out);
int v_bool(struct vctx *v, const char *field, int required, int *out);
/* An RFC 3339 string with an offset, as Unix seconds. */
int v_time(struct vctx *v, const char *field, int required, int64_t *out);
/* A plausible e-mail address (one '@', a dot in the domain, <= 254 chars). */
int v_email(struct vctx *v, const char *field, int required, const char **out);

#endif
