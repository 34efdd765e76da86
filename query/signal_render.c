/* Metrics as text lines:
 *
 *   http.server.requests{service_name="checkout",route="/pay"} 42
 *
 * Histograms and summaries become Prometheus-style _bucket / _sum / _count
 * series, which is what people already know how to read. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "query_cli.h"

/* ---- metrics --------------------------------------------------------------- */

/* The shortest decimal that reads back as the same double. */
static void format_double(double d, char *buf, size_t len)
{
    if (isnan(d)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, len, d > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* Whole numbers as integers: "30", not "3e+01". */
    if (d == floor(d) && fabs(d) < 1e15) {
        snprintf(buf, len, "%.0f", d);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* OTLP/JSON doubles are numbers, or strings for NaN and the infinities. */
static int read_double(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (strcmp(s, "NaN") == 0) {
            *out = NAN;
            return 0;
        }
        if (strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0) {
            *out = s[0] == '-' ? -INFINITY : INFINITY;
            return 0;
        }
        *out = strtod(s, &end);
        return *s && !*end ? 0 : -1;
    }
    return -1;
}

/* A label value as Prometheus writes it: \\, \" and \n escaped. */
static void put_label_value(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", out);
        else if (*p == '"')
            fputs("\\\"", out);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
}

static void put_attr_value(FILE *out, const json_t *any)
{
    json_t *plain = tg_query_any_value(any);
    char buf[64];

    if (json_is_string(plain)) {
        put_label_value(out, json_string_value(plain));
    } else if (json_is_integer(plain)) {
        fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(plain));
    } else if (json_is_real(plain)) {
        format_double(json_real_value(plain), buf, sizeof(buf));
        fputs(buf, out);
    } else if (plain && !json_is_null(plain)) {
        char *text =
            json_dumps(plain, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        if (text)
            put_label_value(out, text);
        free(text);
    }
    json_decref(plain);
}

struct series {
    const char *service;
    const char *name;
    const json_t *attrs;
};

/* Prints `name[suffix]{service_name=..,attrs..[,extra_key="extra"]} value`,
 * without the braces when there is no label. */
static void put_sample(FILE *out, const struct series *s, const char *suffix,
                       const char *extra_key, const char *extra_value, const char *value)
{
    size_t i;
    const json_t *kv;
    int n = 0;
    bool known = strcmp(s->service, "unknown_service") != 0;
    bool labels = known || extra_key;

    json_array_foreach(s->attrs, i, kv) labels |=
        json_is_string(json_object_get(kv, "key"));
    tg_query_put_text(out, s->name);
    fputs(suffix, out);
    if (!labels) {
        fprintf(out, " %s\n", value);
        return;
    }
    fputc('{', out);
    if (known) {
        fputs("service_name=\"", out);
        put_label_value(out, s->service);
        fputc('"', out);
        n++;
    }
    json_array_foreach(s->attrs, i, kv)
    {
        const json_t *key = json_object_get(kv, "key");
        if (!json_is_string(key))
            continue;
        fputs(n++ ? "," : "", out);
        tg_query_put_text(out, json_string_value(key));
        fputs("=\"", out);
        put_attr_value(out, json_object_get(kv, "value"));
        fputc('"', out);
    }
    if (extra_key) {
        fprintf(out, "%s%s=\"", n++ ? "," : "", extra_key);
        put_label_value(out, extra_value);
        fputc('"', out);
    }
    fprintf(out, "} %s\n", value);
}

static void uint_text(const json_t *v, char *buf, size_t len)
{
    uint64_t u = 0;
    (void)tg_query_uint64(v, &u);
    snprintf(buf, len, "%" PRIu64, u);
}

/* asInt is an int64 as a string (or number); asDouble a double. */
static int number_point(const json_t *dp, char *buf, size_t len)
{
    const json_t *i = tg_query_field(dp, "asInt", "as_int");
    const json_t *d = tg_query_field(dp, "asDouble", "as_double");
    double x;

    if (json_is_integer(i)) {
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(i));
        return 0;
    }
    if (json_is_string(i)) {
        const char *s = json_string_value(i);
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (!*s || *end || errno)
            return -1;
        snprintf(buf, len, "%lld", v);
        return 0;
    }
    if (read_double(d, &x) == 0) {
        format_double(x, buf, len);
        return 0;
    }
    return -1;
}

/* The _sum (when the point has one) and _count samples every histogram
 * and summary point ends with. Returns the lines printed. */
static size_t put_sum_count(FILE *out, const struct series *s, const json_t *dp)
{
    char v[64];
    double sum;
    size_t lines = 1;

    if (read_double(json_object_get(dp, "sum"), &sum) == 0) {
        format_double(sum, v, sizeof(v));
        put_sample(out, s, "_sum", NULL, NULL, v);
        lines++;
    }
    uint_text(json_object_get(dp, "count"), v, sizeof(v));
    put_sample(out, s, "_count", NULL, NULL, v);
    return lines;
}

static size_t render_points(FILE *out, const char *service, const char *name,
                            const json_t *metric)
{
    const json_t *data, *dp;
    size_t lines = 0, i;
    char v[64];

    if ((data = json_object_get(metric, "gauge")) ||
        (data = json_object_get(metric, "sum"))) {
        json_array_foreach(tg_query_field(data, "dataPoints", "data_points"), i, dp)
        {
            struct series s = {service, name, json_object_get(dp, "attributes")};
            if (number_point(dp, v, sizeof(v)) != 0)
                continue;
            put_sample(out, &s, "", NULL, NULL, v);
            lines++;
        }
        return lines;
    }
    data = json_object_get(metric, "histogram");
    json_array_foreach(tg_query_field(data, "dataPoints", "data_points"), i, dp)
    {
        struct series s = {service, name, json_object_get(dp, "attributes")};
        const json_t *counts = tg_query_field(dp, "bucketCounts", "bucket_counts");
        const json_t *bounds = tg_query_field(dp, "explicitBounds", "explicit_bounds");
        uint64_t cum = 0;
        char le[64];

        for (size_t b = 0; b < json_array_size(counts); b++) {
            uint64_t c = 0;
            double bound;
            (void)tg_query_uint64(json_array_get(counts, b), &c);
            cum += c;
            if (b < json_array_size(bounds) &&
                read_double(json_array_get(bounds, b), &bound) == 0)
                format_double(bound, le, sizeof(le));
            else
                snprintf(le, sizeof(le), "+Inf");
            snprintf(v, sizeof(v), "%" PRIu64, cum);
            put_sample(out, &s, "_bucket", "le", le, v);
            lines++;
        }
        lines += put_sum_count(out, &s, dp);
    }
    data = tg_query_field(metric, "exponentialHistogram", "exponential_histogram");
    json_array_foreach(tg_query_field(data, "dataPoints", "data_points"), i, dp)
    {
        struct series s = {service, name, json_object_get(dp, "attributes")};

        lines += put_sum_count(out, &s, dp);
    }
    data = json_object_get(metric, "summary");
    json_array_foreach(tg_query_field(data, "dataPoints", "data_points"), i, dp)
    {
        struct series s = {service, name, json_object_get(dp, "attributes")};
        const json_t *q;
        size_t j;
        double x;
        char qs[64];

        json_array_foreach(tg_query_field(dp, "quantileValues", "quantile_values"), j, q)
        {
            if (read_double(json_object_get(q, "quantile"), &x) != 0)
                continue;
            format_double(x, qs, sizeof(qs));
            if (read_double(json_object_get(q, "value"), &x) != 0)
                continue;
            format_double(x, v, sizeof(v));
            put_sample(out, &s, "", "quantile", qs, v);
            lines++;
        }
        lines += put_sum_count(out, &s, dp);
    }
    return lines;
}

size_t tg_query_render_metrics(const json_t *doc, FILE *out)
{
    size_t lines = 0, i, j, k;
    const json_t *rm, *sm, *m;

    json_array_foreach(tg_query_field(doc, "resourceMetrics", "resource_metrics"), i, rm)
    {
        const char *service = tg_query_service_name(rm);
        json_array_foreach(tg_query_field(rm, "scopeMetrics", "scope_metrics"), j, sm)
        {
            json_array_foreach(json_object_get(sm, "metrics"), k, m)
            {
                const json_t *name = json_object_get(m, "name");
                if (!json_is_string(name))
                    continue;
                lines += render_points(out, service, json_string_value(name), m);
            }
        }
    }
    return lines;
}
