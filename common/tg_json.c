#include "tg_json.h"

#include <stdarg.h>
#include <stdio.h>

json_t *tg_json_u64(uint64_t v)
{
    char b[24];

    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
    return json_string(b);
}

void tg_json_appendf(json_t *arr, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    json_array_append_new(arr, json_string(buf));
}

json_t *tg_json_keys(const json_t *obj)
{
    json_t *arr = json_array();
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)obj, k, v)
    {
        (void)v;
        json_array_append_new(arr, json_string(k));
    }
    return arr;
}
