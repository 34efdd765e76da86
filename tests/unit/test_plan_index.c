/* Index use: which queries let a site read one service's records through
 * its service index instead of every record of the window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tg_plan.h"
#include "tg_plan_eval.h"

static int pinned(const char *q, int logql, char *out)
{
    tg_plan *p = NULL;
    char err[256];
    int r;

    if (logql)
        assert_int_equal(tg_logql_parse(q, strlen(q), &p, err, sizeof(err)), 0);
    else
        assert_int_equal(tg_traceql_parse(q, strlen(q), &p, err, sizeof(err)), 0);
    r = tg_plan_service_index(p, out, 64);
    tg_plan_free(p);
    return r;
}

static void test_service_index(void **state)
{
    char svc[64];
    (void)state;

    assert_int_equal(
        pinned("{ resource.service.name = \"cart\" && status = error }", 0, svc), 1);
    assert_string_equal(svc, "cart");
    assert_int_equal(
        pinned("{ .service.name = \"cart\" } >> { resource.service.name = \"cart\" }", 0,
               svc),
        1);
    assert_string_equal(svc, "cart");
    /* Two services, an OR, a span attribute, a regex, nothing: no index. */
    assert_int_equal(
        pinned("{ resource.service.name = \"a\" } && { resource.service.name = \"b\" }",
               0, svc),
        0);
    assert_int_equal(
        pinned("{ resource.service.name = \"a\" || status = error }", 0, svc), 0);
    assert_int_equal(pinned("{ span.service.name = \"a\" }", 0, svc), 0);
    assert_int_equal(pinned("{ resource.service.name =~ \"a.*\" }", 0, svc), 0);
    assert_int_equal(pinned("{ }", 0, svc), 0);
    /* LogQL: an equality on service_name in the selector. */
    assert_int_equal(pinned("{service_name=\"cart\", site=~\"de.*\"} |= \"x\"", 1, svc),
                     1);
    assert_string_equal(svc, "cart");
    assert_int_equal(pinned("{service_name=~\"cart|api\"}", 1, svc), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
