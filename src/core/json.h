/*
 * json.h - reading members of a JSON object (an event payload, a
 * provider's answer) without repeating jansson's two-call idiom.
 */
#ifndef STUDIOD_JSON_H
#define STUDIOD_JSON_H

#include <stdint.h>
#include <jansson.h>

/* The member as an integer; 0 if it is absent or not an integer. */
static inline int64_t
jget_int(const json_t *o, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(o, key));
}

/* The member as a string (borrowed); NULL if absent or not a string. */
static inline const char *
jget_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

#endif
