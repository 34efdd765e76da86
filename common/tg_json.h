/* Small jansson helpers every JSON answer shares. */
#ifndef TG_JSON_H
#define TG_JSON_H

#include <jansson.h>
#include <stdint.h>

/* An unsigned 64-bit counter or sequence: a JSON number while readers (and
 * jansson, whose integers are signed) hold it exactly, its decimal string
 * beyond INT64_MAX; never a negative number. */
json_t *tg_json_u64(uint64_t v);

/* Appends the formatted text (cut at 1 KiB) to the array `arr` as a string:
 * the warnings lists of the status documents. */
void tg_json_appendf(json_t *arr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The keys of object obj, in its order, as a new array of strings (a set
 * kept as an object's keys, answered as a list). */
json_t *tg_json_keys(const json_t *obj);

#endif
