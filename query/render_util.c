/* Small readers of OTLP/JSON documents shared by the renderers. They
 * tolerate any shape: a field of the wrong type reads as absent. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query_cli.h"
#include "tg_err.h"

void tg_query_put_text(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    for (; *p; p++) {
        if (*p == '\n') {
            fputs("\\n", out);
        } else if (*p == '\t') {
            fputs("\\t", out);
        } else if (*p == '\r') {
            fputs("\\r", out);
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(out, "\\x%02x", *p);
        } else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            /* U+0080..U+009F: C1 controls, which some terminals obey. */
            fprintf(out, "\\u%04x", p[1]);
            p++;
        } else {
            fputc(*p, out);
        }
    }
}

const json_t *tg_query_field(const json_t *obj, const char *camel, const char *snake)
{
    const json_t *v;

    if (!json_is_object(obj))
        return NULL;
    v = json_object_get(obj, camel);
    if (!v && snake)
        v = json_object_get(obj, snake);
    return v;
}

int tg_query_uint64(const json_t *v, uint64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return TG_EINVAL;
        *out = (uint64_t)i;
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        uint64_t x = 0;
        if (!*s)
            return TG_EINVAL;
        for (; *s; s++) {
            unsigned d;
            if (*s < '0' || *s > '9')
                return TG_EINVAL;
            d = (unsigned)(*s - '0');
            if (x > (UINT64_MAX - d) / 10)
                return TG_EINVAL;
            x = x * 10 + d;
        }
        *out = x;
        return 0;
    }
    return TG_EINVAL;
}

const char *tg_query_resource_string(const json_t *holder, const char *key)
{
    return tg_query_attr_string(json_object_get(holder, "resource"), key);
}

const char *tg_query_attr_string(const json_t *obj, const char *key)
{
    const json_t *attrs = tg_query_field(obj, "attributes", NULL);
    size_t i;
    const json_t *kv;

    json_array_foreach(attrs, i, kv)
    {
        const json_t *k = json_object_get(kv, "key"), *val, *sv;
        if (!json_is_string(k) || strcmp(json_string_value(k), key) != 0)
            continue;
        val = json_object_get(kv, "value");
        sv = tg_query_field(val, "stringValue", "string_value");
        if (!json_is_string(sv))
            sv = tg_query_field(val, "intValue", "int_value");
        if (json_is_string(sv))
            return json_string_value(sv);
    }
    return NULL;
}

const char *tg_query_service_name(const json_t *holder)
{
    const char *s = tg_query_resource_string(holder, "service.name");
    return s ? s : "unknown_service";
}

void tg_query_format_time(uint64_t ns, char *buf, size_t len)
{
    time_t secs = (time_t)(ns / 1000000000u);
    unsigned ms = (unsigned)(ns % 1000000000u / 1000000u);
    struct tm tm;

    if (!gmtime_r(&secs, &tm)) {
        snprintf(buf, len, "%" PRIu64, ns);
        return;
    }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

/* Nesting beyond this is shown as null: the document already passed
 * jansson's own depth limit, this only bounds our recursion further. */
#define ANY_MAX_DEPTH 64

static json_t *any_value(const json_t *any, int depth)
{
    const json_t *v;

    if (!json_is_object(any) || depth > ANY_MAX_DEPTH)
        return json_null();
    if ((v = tg_query_field(any, "stringValue", "string_value")))
        return json_is_string(v) ? json_deep_copy(v) : json_null();
    if ((v = tg_query_field(any, "boolValue", "bool_value")))
        return json_is_boolean(v) ? json_deep_copy(v) : json_null();
    if ((v = tg_query_field(any, "intValue", "int_value"))) {
        /* int64 arrives as a string; keep its digits exact. */
        if (json_is_integer(v))
            return json_deep_copy(v);
        if (json_is_string(v)) {
            const char *s = json_string_value(v);
            char *end;
            long long x;
            errno = 0;
            x = strtoll(s, &end, 10);
            if (*s && !*end && errno == 0)
                return json_integer(x);
            return json_deep_copy(v);
        }
        return json_null();
    }
    if ((v = tg_query_field(any, "doubleValue", "double_value")))
        return json_is_number(v) || json_is_string(v) ? json_deep_copy(v) : json_null();
    if ((v = tg_query_field(any, "bytesValue", "bytes_value")))
        return json_is_string(v) ? json_deep_copy(v) : json_null();
    if ((v = tg_query_field(any, "arrayValue", "array_value"))) {
        json_t *arr = json_array();
        size_t i;
        const json_t *item;
        json_array_foreach(json_object_get(v, "values"), i, item)
            json_array_append_new(arr, any_value(item, depth + 1));
        return arr;
    }
    if ((v = tg_query_field(any, "kvlistValue", "kvlist_value"))) {
        json_t *obj = json_object();
        size_t i;
        const json_t *kv;
        json_array_foreach(json_object_get(v, "values"), i, kv)
        {
            const json_t *key = json_object_get(kv, "key");
            if (json_is_string(key))
                json_object_set_new(obj, json_string_value(key),
                                    any_value(json_object_get(kv, "value"), depth + 1));
        }
        return obj;
    }
    return json_null();
}

json_t *tg_query_any_value(const json_t *any)
{
    return any ? any_value(any, 0) : NULL;
}
