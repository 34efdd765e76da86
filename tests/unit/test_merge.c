/* Merging search hits from several sites: one hit per trace id, earliest
 * start, longest duration, the root from whichever site holds it, a
 * deterministic newest-first order and the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "tg_merge.h"

static json_t *answer(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    assert_non_null(j);
    return j;
}

static void test_one_hit_per_trace(void **state)
{
    json_t *fra = answer(
        "{\"traces\":[{\"traceID\":\"t1\",\"rootServiceName\":\"edge\",\"rootTraceName\":"
        "\"GET "
        "/\",\"startTimeUnixNano\":\"1000\",\"durationMs\":40,\"spanSets\":[{\"matched\":"
        "1}],\"serviceStats\":{\"edge\":{\"spanCount\":2,\"errorCount\":0}}},"
        "{\"traceID\":\"t2\",\"rootServiceName\":\"edge\",\"startTimeUnixNano\":\"3000\","
        "\"durationMs\":5}]}");
    json_t *nyc = answer(
        "{\"traces\":[{\"traceID\":\"t1\",\"rootServiceName\":\"\",\"startTimeUnixNano\":"
        "\"900\",\"durationMs\":55,\"spanSets\":[{\"matched\":2}],\"serviceStats\":{"
        "\"api\":"
        "{\"spanCount\":3,\"errorCount\":1},\"edge\":{\"spanCount\":1,\"errorCount\":4}}}"
        ","
        "{\"traceID\":\"t3\",\"startTimeUnixNano\":\"2000\",\"durationMs\":7}]}");
    tg_merge_part parts[3] = {{"fra", fra}, {"nyc", nyc}, {"sgp", NULL}};
    size_t total = 0;
    json_t *out, *t1;
    (void)state;

    out = tg_merge_search(parts, 3, 0, &total);
    assert_non_null(out);
    assert_int_equal(total, 3);
    assert_int_equal(json_array_size(out), 3);
    /* Newest first: t2 (3000), t3 (2000), t1 (900 after the merge). */
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(out, 0), "traceID")), "t2");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(out, 1), "traceID")), "t3");
    t1 = json_array_get(out, 2);
    assert_string_equal(json_string_value(json_object_get(t1, "traceID")), "t1");
    assert_string_equal(json_string_value(json_object_get(t1, "startTimeUnixNano")),
                        "900");
    assert_int_equal(json_integer_value(json_object_get(t1, "durationMs")), 55);
    assert_string_equal(json_string_value(json_object_get(t1, "rootServiceName")),
                        "edge");
    assert_string_equal(json_string_value(json_object_get(t1, "rootTraceName")), "GET /");
    assert_int_equal(json_array_size(json_object_get(t1, "spanSets")), 2);
    assert_int_equal(json_array_size(json_object_get(t1, "sites")), 2);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(t1, "sites"), 1)), "nyc");
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(t1, "serviceStats"), "edge"), "errorCount")),
        4);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(t1, "serviceStats"), "api"), "spanCount")),
        3);
    /* t3 came without a root anywhere. */
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(out, 1), "rootServiceName")),
        "root span not yet received");
    json_decref(out);

    /* The limit cuts after ordering; the total still counts every trace. */
    out = tg_merge_search(parts, 3, 1, &total);
    assert_int_equal(total, 3);
    assert_int_equal(json_array_size(out), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(out, 0), "traceID")), "t2");
    json_decref(out);
    json_decref(fra);
    json_decref(nyc);
}

/* The same data in another site order gives the same answer. */
static void test_order_does_not_depend_on_sites(void **state)
{
    json_t *a = answer("{\"traces\":[{\"traceID\":\"b\",\"startTimeUnixNano\":\"5\"},"
                       "{\"traceID\":\"a\",\"startTimeUnixNano\":\"5\"}]}");
    json_t *b = answer("{\"traces\":[{\"traceID\":\"c\",\"startTimeUnixNano\":\"5\"}]}");
    tg_merge_part p1[2] = {{"x", a}, {"y", b}}, p2[2] = {{"y", b}, {"x", a}};
    json_t *o1 = tg_merge_search(p1, 2, 0, NULL), *o2 = tg_merge_search(p2, 2, 0, NULL);
    char *s1, *s2;
    (void)state;

    for (size_t i = 0; i < 3; i++)
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(o1, i), "traceID")),
            json_string_value(json_object_get(json_array_get(o2, i), "traceID")));
    s1 = json_dumps(o1, JSON_COMPACT);
    s2 = json_dumps(o2, JSON_COMPACT);
    assert_non_null(strstr(s1, "\"traceID\":\"a\""));
    assert_true(strstr(s1, "\"traceID\":\"a\"") < strstr(s1, "\"traceID\":\"b\""));
    free(s1);
    free(s2);
    json_decref(o1);
    json_decref(o2);
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_hit_per_trace),
        cmocka_unit_test(test_order_does_not_depend_on_sites),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
