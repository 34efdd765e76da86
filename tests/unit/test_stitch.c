/* Stitching a cross-site trace: site tags, deduplication by (span id,
 * kind), Jaeger-style skew correction with the site as the host key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "tg_stitch.h"

#define MS 1000000ll
#define T0 1700000000000000000ll

/* One resource (service) with spans given as
 * (id, parent, kind, start_ms, end_ms) rows. */
struct row {
    const char *id, *parent;
    int kind;
    long long start_ms, end_ms;
};

static json_t *fragment(const char *service, const struct row *rows, size_t n)
{
    json_t *spans = json_array();
    char s[24], e[24];

    for (size_t i = 0; i < n; i++) {
        snprintf(s, sizeof(s), "%lld", T0 + rows[i].start_ms * MS);
        snprintf(e, sizeof(e), "%lld", T0 + rows[i].end_ms * MS);
        json_array_append_new(
            spans, json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:[{s:s}]}", "traceId",
                             "0af7651916cd43dd8448eb211c80319c", "spanId", rows[i].id,
                             "parentSpanId", rows[i].parent, "name", rows[i].id, "kind",
                             rows[i].kind, "startTimeUnixNano", s, "endTimeUnixNano", e,
                             "events", "timeUnixNano", s));
    }
    return json_pack("{s:[{s:{s:[{s:s,s:{s:s}}]},s:[{s:{},s:o}]}]}", "resourceSpans",
                     "resource", "attributes", "key", "service.name", "value",
                     "stringValue", service, "scopeSpans", "scope", "spans", spans);
}

/* Finds span `id` in the stitched document; *site gets its resource's
 * tollgate.site. */
static json_t *find_span(json_t *doc, const char *id, const char **site)
{
    size_t i, j, k, a;
    json_t *rs, *ss, *sp, *kv;

    json_array_foreach(json_object_get(doc, "resourceSpans"), i, rs)
    {
        json_array_foreach(json_object_get(rs, "scopeSpans"), j, ss)
        {
            json_array_foreach(json_object_get(ss, "spans"), k, sp)
            {
                if (strcmp(json_string_value(json_object_get(sp, "spanId")), id) != 0)
                    continue;
                *site = NULL;
                json_array_foreach(
                    json_object_get(json_object_get(rs, "resource"), "attributes"), a, kv)
                {
                    if (strcmp(json_string_value(json_object_get(kv, "key")),
                               "tollgate.site") == 0)
                        *site = json_string_value(
                            json_object_get(json_object_get(kv, "value"), "stringValue"));
                }
                return sp;
            }
        }
    }
    return NULL;
}

static long long start_ms(const json_t *sp)
{
    return (strtoll(json_string_value(json_object_get(sp, "startTimeUnixNano")), NULL,
                    10) -
            T0) /
           MS;
}

static const char *attr(const json_t *sp, const char *key)
{
    size_t i;
    json_t *kv;

    json_array_foreach(json_object_get(sp, "attributes"), i, kv)
    {
        if (strcmp(json_string_value(json_object_get(kv, "key")), key) == 0)
            return json_string_value(
                json_object_get(json_object_get(kv, "value"), "intValue"));
    }
    return NULL;
}

static void test_three_sites_one_trace(void **state)
{
    /* fra: the edge. nyc's clock runs 5 s ahead, so its server span seems
     * to start long after fra's client span ended. sgp's clock is right. */
    const struct row fra[] = {{"a1", "", 2, 0, 1000}, {"a2", "a1", 3, 100, 900}};
    const struct row fra_again[] = {{"a2", "a1", 3, 100, 900}};
    const struct row nyc[] = {{"b1", "a2", 2, 5150, 5750}, {"b2", "b1", 3, 5200, 5700}};
    const struct row sgp[] = {{"c1", "b2", 2, 250, 650}};
    tg_stitch_part parts[4];
    tg_stitch_options o = {.max_skew_ns = 60000 * MS};
    tg_stitch_stats st;
    json_t *docs[4], *out, *sp;
    const char *site;
    (void)state;

    docs[0] = fragment("edge", fra, 2);
    docs[1] = fragment("api", nyc, 2);
    docs[2] = fragment("model", sgp, 1);
    docs[3] = fragment("edge", fra_again, 1);
    parts[0] = (tg_stitch_part){"fra", docs[0], 0, 1};
    parts[1] = (tg_stitch_part){"nyc", docs[1], 5000 * MS, 1};
    parts[2] = (tg_stitch_part){"sgp", docs[2], 0, 0};
    parts[3] = (tg_stitch_part){"fra", docs[3], 0, 1};
    out = tg_stitch_trace(parts, 4, &o, &st);
    assert_non_null(out);

    assert_int_equal(st.spans, 5);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.roots, 1);
    assert_int_equal(st.sites, 3);

    /* Every span is there, tagged with its site. */
    assert_non_null(sp = find_span(out, "a1", &site));
    assert_string_equal(site, "fra");
    assert_int_equal(start_ms(sp), 0);
    assert_null(attr(sp, "tollgate.skew.adjusted_ns"));

    /* nyc's server span (600 ms) is centred in fra's client span (800 ms):
     * it starts at 100 + (800 - 600) / 2 = 200 ms. */
    assert_non_null(sp = find_span(out, "b1", &site));
    assert_string_equal(site, "nyc");
    assert_int_equal(start_ms(sp), 200);
    assert_string_equal(attr(sp, "tollgate.skew.adjusted_ns"), "-4950000000");
    assert_string_equal(attr(sp, "tollgate.skew.site_offset_ns"), "5000000000");
    /* Its event moved with it. */
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(sp, "events"), 0), "timeUnixNano")),
        json_string_value(json_object_get(sp, "startTimeUnixNano")));

    /* nyc's child inherits the shift (same site). */
    assert_non_null(sp = find_span(out, "b2", &site));
    assert_int_equal(start_ms(sp), 250);
    assert_string_equal(attr(sp, "tollgate.skew.adjusted_ns"), "-4950000000");

    /* sgp's span fits inside its (adjusted) nyc parent: 250..650 within
     * 250..750, so it is left alone. */
    assert_non_null(sp = find_span(out, "c1", &site));
    assert_string_equal(site, "sgp");
    assert_int_equal(start_ms(sp), 250);
    assert_null(attr(sp, "tollgate.skew.adjusted_ns"));
    assert_int_equal(st.adjusted, 2);

    json_decref(out);
    for (int i = 0; i < 4; i++)
        json_decref(docs[i]);
}

static void test_skew_beyond_the_bound_is_only_marked(void **state)
{
    const struct row fra[] = {{"a1", "", 3, 0, 1000}};
    const struct row nyc[] = {{"b1", "a1", 2, 90000, 90500}};
    tg_stitch_part parts[2];
    tg_stitch_options o = {.max_skew_ns = 1000 * MS};
    tg_stitch_stats st;
    json_t *d0 = fragment("edge", fra, 1), *d1 = fragment("api", nyc, 1), *out, *sp;
    const char *site;
    (void)state;

    parts[0] = (tg_stitch_part){"fra", d0, 0, 0};
    parts[1] = (tg_stitch_part){"nyc", d1, 0, 0};
    out = tg_stitch_trace(parts, 2, &o, &st);
    assert_non_null(sp = find_span(out, "b1", &site));
    assert_int_equal(start_ms(sp), 90000);
    assert_null(attr(sp, "tollgate.skew.adjusted_ns"));
    assert_non_null(attr(sp, "tollgate.skew.refused_ns"));
    assert_int_equal(st.adjusted, 0);
    assert_int_equal(st.skew_refused, 1);
    json_decref(out);
    json_decref(d0);
    json_decref(d1);
}

/* No bound set: stitched, never shifted. A missing parent makes a root;
 * a part that is not TracesData adds nothing. */
static void test_no_skew_bound_and_orphans(void **state)
{
    const struct row fra[] = {{"a1", "ffffffffffffffff", 2, 0, 1000}};
    const struct row nyc[] = {{"b1", "a1", 2, 5000, 5500}};
    json_t *d0 = fragment("edge", fra, 1), *d1 = fragment("api", nyc, 1);
    json_t *junk = json_pack("{s:s}", "resourceSpans", "nope"), *out, *sp;
    tg_stitch_part parts[3] = {{"fra", d0, 0, 0}, {"nyc", d1, 0, 0}, {"sgp", junk, 0, 0}};
    tg_stitch_stats st;
    const char *site;
    (void)state;

    out = tg_stitch_trace(parts, 3, NULL, &st);
    assert_int_equal(st.spans, 2);
    assert_int_equal(st.roots, 1);
    assert_int_equal(st.sites, 2);
    assert_non_null(sp = find_span(out, "b1", &site));
    assert_int_equal(start_ms(sp), 5000);
    json_decref(out);
    json_decref(d0);
    json_decref(d1);
    json_decref(junk);
}

/* The same span id with another kind is a distinct span (Zipkin-style
 * shared ids); the same id and kind twice is one. */
static void test_dedup_by_id_and_kind(void **state)
{
    const struct row a[] = {
        {"s1", "", 3, 0, 100}, {"s1", "", 2, 10, 90}, {"s1", "", 3, 0, 100}};
    json_t *d = fragment("x", a, 3), *out;
    tg_stitch_part p = {"fra", d, 0, 0};
    tg_stitch_stats st;
    (void)state;

    out = tg_stitch_trace(&p, 1, NULL, &st);
    assert_int_equal(st.spans, 2);
    assert_int_equal(st.duplicates, 1);
    json_decref(out);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_sites_one_trace),
        cmocka_unit_test(test_skew_beyond_the_bound_is_only_marked),
        cmocka_unit_test(test_no_skew_bound_and_orphans),
        cmocka_unit_test(test_dedup_by_id_and_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
