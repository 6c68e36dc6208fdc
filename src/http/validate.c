/* validate.c - see validate.h. */
#include "http/validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void
v_begin(struct vctx *v, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *value;

	v->obj = obj;
	v->errors = json_array();
	if (allowed == NULL)
		return;
	json_object_foreach(obj, key, value) {
		const char *const *a;

		for (a = allowed; *a != NULL; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (*a == NULL)
			v_error(v, key, "unknown field");
	}
}

void
v_end(struct vctx *v)
{
	json_decref(v->errors);
	v->errors = NULL;
}

int
v_ok(const struct vctx *v)
{
	return json_array_size(v->errors) == 0;
}

json_t *
v_take(struct vctx *v)
{
	json_t *e = v->errors;

	v->errors = NULL;
	return e;
}

void
v_error(struct vctx *v, const char *field, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_array_append_new(v->errors, json_pack("{s:s, s:s}", "field", field,
	    "message", msg));
}

/* The field's value; NULL when absent. */
static json_t *
field(struct vctx *v, const char *name, int required)
{
	json_t *j = json_object_get(v->obj, name);

	if (j == NULL && required)
		v_error(v, name, "is required");
	return j;
}

/* Code points in valid UTF-8 (jansson guarantees validity), or -1 on a
 * control character. */
static long
utf8_chars(const char *s, size_t len)
{
	long n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			return -1;
		if (c == 0x7f)
			return -1;
		if ((c & 0xc0) != 0x80)
			n++;
	}
	return n;
}

static int
check_string(struct vctx *v, const char *name, json_t *j, size_t max_chars,
    const char **out)
{
	long n;

	if (!json_is_string(j)) {
		v_error(v, name, "must be a string");
		return -1;
	}
	n = utf8_chars(json_string_value(j), json_string_length(j));
	if (n < 0 || strlen(json_string_value(j)) != json_string_length(j)) {
		v_error(v, name, "must not contain control characters");
		return -1;
	}
	if (n == 0 || (size_t)n > max_chars) {
		v_error(v, name, "must be 1 to %zu characters", max_chars);
		return -1;
	}
	*out = json_string_value(j);
	return 1;
}

int
v_string(struct vctx *v, const char *name, int required, size_t max_chars,
    const char **out)
{
	json_t *j = field(v, name, required);

	if (j == NULL)
		return required ? -1 : 0;
	return check_string(v, name, j, max_chars, out);
}

int
v_string_or_null(struct vctx *v, const char *name, size_t max_chars,
    const char **out)
{
	json_t *j = field(v, name, 0);

	if (j == NULL)
		return 0;
	if (json_is_null(j)) {
		*out = NULL;
		return 1;
	}
	return check_string(v, name, j, max_chars, out);
}

int
v_int(struct vctx *v, const char *name, int required, int64_t min, int64_t max,
    int64_t *out)
{
	json_t *j = field(v, name, required);
	json_int_t n;

	if (j == NULL)
		return required ? -1 : 0;
	if (!json_is_integer(j)) {
		v_error(v, name, "must be an integer from %lld to %lld",
		    (long long)min, (long long)max);
		return -1;
	}
	n = json_integer_value(j);
	if (n < min || n > max) {
		v_error(v, name, "must be an integer from %lld to %lld",
		    (long long)min, (long long)max);
		return -1;
	}
	*out = n;
	return 1;
}

int
v_bool(struct vctx *v, const char *name, int required, int *out)
{
	json_t *j = field(v, name, required);

	if (j == NULL)
		return required ? -1 : 0;
	if (!json_is_boolean(j)) {
		v_error(v, name, "must be true or false");
		return -1;
	}
	*out = json_is_true(j);
	return 1;
}

int
v_time(struct vctx *v, const char *name, int required, int64_t *out)
{
	json_t *j = field(v, name, required);

	if (j == NULL)
		return required ? -1 : 0;
	if (!json_is_string(j) ||
	    time_parse_rfc3339(json_string_value(j), out) != 0) {
		v_error(v, name, "must be an RFC 3339 time with an offset, "
		    "e.g. 2026-11-22T08:00:00Z");
		return -1;
	}
	return 1;
}

int
v_email(struct vctx *v, const char *name, int required, const char **out)
{
	const char *s, *at, *dot;
	int rc = v_string(v, name, required, 254, &s);

	if (rc <= 0)
		return rc;
	at = strchr(s, '@');
	dot = at ? strchr(at, '.') : NULL;
	if (at == NULL || at == s || strchr(at + 1, '@') != NULL ||
	    dot == NULL || dot == at + 1 || dot[1] == '\0' ||
	    strpbrk(s, " \t\r\n") != NULL) {
		v_error(v, name, "must be an e-mail address");
		return -1;
	}
	*out = s;
	return 1;
}
