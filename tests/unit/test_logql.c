/* LogQL: conformance tables (query, the log records of plan_fixture.h,
 * expected matches), metric expressions and their printed form, Grafana's
 * health check, and parse errors that name the column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plan_fixture.h"
#include "tg_err.h"
#include "tg_plan.h"
#include "tg_plan_eval.h"

#define R0 1
#define R1 2
#define R2 4
#define R3 8

static tg_plan *parse_ok(const char *q)
{
    char err[256];
    tg_plan *p = NULL;

    if (tg_logql_parse(q, strlen(q), &p, err, sizeof(err)) != 0)
        fail_msg("%s: %s", q, err);
    return p;
}

static char *print(const tg_plan *p)
{
    tg_strbuf b = {0};

    tg_plan_print(p, &b);
    assert_false(b.oom);
    return b.p ? b.p : strdup("");
}

static const struct {
    const char *q;
    unsigned want;
} match_table[] = {
    {"{service_name=\"checkout\"}", R0 | R1 | R3},
    {"{ service_name = \"checkout\" }", R0 | R1 | R3},
    {"{site=~\"de.*\"}", R0 | R2 | R3},
    {"{site=~\"de\"}", 0}, /* selector regexes are anchored */
    {"{service_name=\"checkout\", site!=\"us-cloud\"}", R0 | R3},
    {"{site!~\"de-.*\"}", R1},
    {"{k8s_namespace_name=\"shop\"}", R0},
    {"{k8s_namespace_name=\"\"}", R1 | R2 | R3}, /* absent reads as empty */
    {"{service_name=~\".+\"} |= \"timeout\"", R2 | R3},
    {"{service_name=~\".+\"} != \"timeout\"", R0 | R1},
    {"{service_name=~\".+\"} |~ \"status=50[0-9]\"", R3},
    {"{service_name=~\".+\"} |~ \"time\"", R2 | R3}, /* line regexes search */
    {"{service_name=~\".+\"} !~ \"^level=\"", R0 | R2},
    {"{service_name=~\".+\"} |= \"level\" != \"info\"", R0 | R3},
    {"{service_name=~\".+\"} |= `\"status\":502`", R0},
    {"{service_name=\"checkout\"} | json | level=\"error\"", R0},
    {"{service_name=\"checkout\"} | json | user_id=\"u1\"", R0},
    {"{service_name=\"checkout\"} | json | status >= 500", R0},
    {"{service_name=\"checkout\"} | json | latency > 1s", R0},
    {"{service_name=\"checkout\"} | json | msg=~\"pay.*\"", R0},
    {"{service_name=\"checkout\"} | logfmt | status >= 500", R3},
    {"{service_name=\"checkout\"} | logfmt | status == 200", R1},
    {"{service_name=\"checkout\"} | logfmt | status != 200", R3},
    {"{service_name=\"checkout\"} | logfmt | status < 300", R1},
    {"{service_name=\"checkout\"} | logfmt | status <= 503", R1 | R3},
    {"{service_name=\"checkout\"} | logfmt | duration > 1s", R3},
    {"{service_name=\"checkout\"} | logfmt | duration > 100ms and status == 200", R1},
    {"{service_name=\"checkout\"} | logfmt | status = 200 or status = 503", R1 | R3},
    {"{service_name=\"checkout\"} | logfmt | msg=~\".*timeout\"", R3},
    {"{service_name=\"checkout\"} | logfmt | msg!~\".*timeout\"", R0 | R1},
    {"{service_name=\"checkout\"} | logfmt | level!=\"error\"", R0 | R1},
    {"{service_name=\"checkout\"} | logfmt | (status >= 500, level=\"error\")", R3},
    {"{service_name=\"checkout\"} | logfmt | level=\"info\" or (status > 500 and "
     "duration >= 2s)",
     R1 | R3},
    {"{service_name=\"checkout\"} | logfmt | status >= 500 | level=\"error\"", R3},
    {"{service_name=\"checkout\"} | http_route=\"/pay\"", R0},
    {"{service_name=\"ledger\"} | level=\"WARN\"", R2},
    {"{site=\"de-onprem\"} | json | __error__=\"JSONParserErr\"", R2},
    {"{site=\"de-onprem\"} |= \"timeout\" | logfmt", R2},
    {"{service_name=\"checkout\"} | logfmt | drop status | status >= 500", 0},
    {"{service_name=\"checkout\"} | logfmt | drop level, msg | status >= 500", R3},
    {"{site=\"de-onprem\"} | json | drop __error__", R0 | R2},
    {"{site=\"de-onprem\"} | json | drop __error__ | __error__=\"\"", R0 | R2},
    {"{service_name=\"checkout\"} |= ``", R0 | R1 | R3},
};

static void test_match_table(void **state)
{
    tg_log_view v[4];
    size_t t;
    int i;

    (void)state;
    fx_logs(v);
    for (t = 0; t < sizeof(match_table) / sizeof(match_table[0]); t++) {
        tg_plan *p = parse_ok(match_table[t].q);
        unsigned got = 0;

        assert_null(p->metric);
        for (i = 0; i < 4; i++)
            if (tg_plan_log_match(p, &v[i]))
                got |= 1u << i;
        if (got != match_table[t].want)
            fail_msg("%s: records 0x%x, want 0x%x", match_table[t].q, got,
                     match_table[t].want);
        tg_plan_free(p);
    }
}

/* Metric queries: the canonical text, and the log query their site part
 * selects (checked against the records too). */
static const struct {
    const char *q, *canonical;
    unsigned want;
} metric_table[] = {
    {"count_over_time({service_name=\"checkout\"}[5m])",
     "count_over_time({service_name=\"checkout\"} [5m])", R0 | R1 | R3},
    {"rate({site=~\"de.*\"} |= \"timeout\" [1m])",
     "rate({site=~\"de.*\"} |= \"timeout\" [1m])", R2 | R3},
    {"rate({site=~\"de.*\"}[1m] |= \"timeout\")",
     "rate({site=~\"de.*\"} |= \"timeout\" [1m])", R2 | R3},
    {"bytes_over_time({service_name=\"ledger\"}[1h])",
     "bytes_over_time({service_name=\"ledger\"} [1h])", R2},
    {"bytes_rate({service_name=\"ledger\"}[90s])",
     "bytes_rate({service_name=\"ledger\"} [90s])", R2},
    {"sum by (site) (rate({service_name=\"checkout\"} | logfmt | status >= 500 [5m]))",
     "sum by (site) (rate({service_name=\"checkout\"} | logfmt | status >= 500.0 [5m]))",
     R3},
    {"sum(count_over_time({service_name=\"checkout\"}[5m])) by (service_name, site)",
     "sum by (service_name, site) (count_over_time({service_name=\"checkout\"} [5m]))",
     R0 | R1 | R3},
    {"avg without (pod) (rate({site=\"us-cloud\"}[30s]))",
     "avg without (pod) (rate({site=\"us-cloud\"} [30s]))", R1},
    {"min(rate({site=\"us-cloud\"}[30s]))", "min(rate({site=\"us-cloud\"} [30s]))", R1},
    /* an empty grouping is no grouping */
    {"max by () (rate({site=\"us-cloud\"}[30s]))", "max(rate({site=\"us-cloud\"} [30s]))",
     R1},
    {"count by (level) (count_over_time({site=\"us-cloud\"} | logfmt [5m]))",
     "count by (level) (count_over_time({site=\"us-cloud\"} | logfmt [5m]))", R1},
    /* Grafana's log-volume query */
    {"sum by (level) (count_over_time({service_name=\"checkout\"} | drop __error__[1m]))",
     "sum by (level) (count_over_time({service_name=\"checkout\"} | drop __error__ "
     "[1m]))",
     R0 | R1 | R3},
    {"sum(rate({site=\"us-cloud\"}[5m])) * 60",
     "sum(rate({site=\"us-cloud\"} [5m])) * 60", R1},
};

static void test_metric_table(void **state)
{
    tg_log_view v[4];
    size_t t;
    int i;

    (void)state;
    fx_logs(v);
    for (t = 0; t < sizeof(metric_table) / sizeof(metric_table[0]); t++) {
        tg_plan *p = parse_ok(metric_table[t].q), *p2;
        char *s = print(p), *s2;
        unsigned got = 0;
        double d;

        assert_non_null(p->metric);
        if (strcmp(s, metric_table[t].canonical) != 0)
            fail_msg("%s printed as %s", metric_table[t].q, s);
        p2 = parse_ok(s);
        s2 = print(p2);
        assert_string_equal(s, s2);
        for (i = 0; i < 4; i++)
            if (tg_plan_log_match(p, &v[i]))
                got |= 1u << i;
        if (got != metric_table[t].want)
            fail_msg("%s: records 0x%x, want 0x%x", metric_table[t].q, got,
                     metric_table[t].want);
        assert_int_equal(tg_plan_eval_constant(p, &d), TG_EINVAL);
        free(s);
        free(s2);
        tg_plan_free(p);
        tg_plan_free(p2);
    }
}

static void test_plan_shape(void **state)
{
    tg_plan *p;
    tg_strbuf b = {0};

    (void)state;
    p = parse_ok("sum by (site, service_name) (rate({service_name=\"x\", site=~\"de.*\"} "
                 "|= \"err\" | json | level=\"error\" [5m]))");
    assert_int_equal(p->metric->op, TG_MX_AGG);
    assert_int_equal(p->metric->agg, TG_AGG_SUM);
    assert_int_equal(p->metric->nlabels, 2);
    assert_string_equal(p->metric->labels[1], "service_name");
    assert_int_equal(p->metric->l->op, TG_MX_RANGE);
    assert_int_equal(p->metric->l->fn, TG_RF_RATE);
    assert_true(p->metric->l->range_ns == 300000000000LL);
    assert_int_equal(p->nsel, 2);
    assert_int_equal(p->sel[1].op, TG_LM_RE);
    assert_int_equal(p->npipe, 3);
    assert_int_equal(p->pipe[0].kind, TG_LS_LINE);
    assert_int_equal(p->pipe[1].kind, TG_LS_JSON);
    assert_int_equal(p->pipe[2].kind, TG_LS_LABEL);
    tg_plan_print_site(p, &b);
    assert_string_equal(b.p, "{service_name=\"x\", site=~\"de.*\"} |= \"err\" | json | "
                             "level=\"error\"");
    free(b.p);
    b = (tg_strbuf){0};
    tg_plan_explain(p, &b);
    assert_non_null(strstr(b.p, "\"lang\":\"logql\""));
    assert_non_null(strstr(b.p, "\"centre\":\"sum by (site, service_name) (rate("));
    free(b.p);
    assert_true(tg_plan_site_may_match(p, "de-onprem"));
    assert_false(tg_plan_site_may_match(p, "us-cloud"));
    tg_plan_free(p);
}

static void test_health_check(void **state)
{
    tg_plan *p;
    double d;

    (void)state;
    p = parse_ok("vector(1)+vector(1)");
    assert_null(p->metric->l->l);
    assert_int_equal(tg_plan_eval_constant(p, &d), 0);
    assert_true(d == 2.0);
    assert_false(p->has_selector);
    tg_plan_free(p);
    p = parse_ok("(vector(2) * 3 - 1) / 5");
    assert_int_equal(tg_plan_eval_constant(p, &d), 0);
    assert_true(d == 1.0);
    tg_plan_free(p);
    p = parse_ok("1 - (2 - 3) * 4 / (5 + 5)");
    assert_int_equal(tg_plan_eval_constant(p, &d), 0);
    assert_true(d == 1.4);
    {
        char *s = print(p);

        assert_string_equal(s, "1 - (2 - 3) * 4 / (5 + 5)");
        free(s);
    }
    tg_plan_free(p);
    p = parse_ok("1 + 2 * 3");
    assert_int_equal(tg_plan_eval_constant(p, &d), 0);
    assert_true(d == 7.0);
    tg_plan_free(p);
    p = parse_ok("-vector(-1)");
    assert_int_equal(tg_plan_eval_constant(p, &d), 0);
    assert_true(d == 1.0);
    tg_plan_free(p);
}

static void test_log_print_round_trip(void **state)
{
    size_t t;

    (void)state;
    for (t = 0; t < sizeof(match_table) / sizeof(match_table[0]); t++) {
        tg_plan *p = parse_ok(match_table[t].q), *p2;
        char *s = print(p), *s2;

        p2 = parse_ok(s);
        s2 = print(p2);
        assert_string_equal(s, s2);
        free(s);
        free(s2);
        tg_plan_free(p);
        tg_plan_free(p2);
    }
    {
        tg_plan *p =
            parse_ok("{a=\"b\",c!~`x\\d`}|=\"q\"|logfmt|x>1.5,y=\"z\"or w==250ms");
        char *s = print(p);

        assert_string_equal(s, "{a=\"b\", c!~\"x\\\\d\"} |= \"q\" | logfmt | "
                               "x > 1.5 and y=\"z\" or w == 250ms");
        free(s);
        tg_plan_free(p);
    }
}

static const struct {
    const char *q;
    unsigned col;
    const char *frag;
} error_table[] = {
    {"", 1, "expected a log query, a metric expression or a number"},
    {"{service_name=\"x\"", 18, "expected ',' or '}'"},
    {"{}", 2, "expected a label matcher"},
    {"{a=b}", 4, "expected a string"},
    {"{a>\"b\"}", 3, "expected =, !=, =~ or !~"},
    {"{a=\"b\"} |= 3", 12, "expected a string after the line filter"},
    {"{a=\"b\"} | line_format \"x\"", 11, "unsupported pipeline stage 'line_format'"},
    {"{a=\"b\"} | json foo", 16, "parser parameters are not supported"},
    {"{a=\"b\"} | status > \"x\"", 20, "expected a number or a duration"},
    {"{a=\"b\"} | status =~ 5", 21, "expected a string"},
    {"{a=~\"(\"}", 5, "invalid regular expression"},
    {"{a=\"b\"} |~ \"[\"", 12, "invalid regular expression"},
    {"rate({a=\"b\"})", 13, "expected a range such as [5m]"},
    {"rate({a=\"b\"}[5x])", 14, "invalid number or duration"},
    {"rate({a=\"b\"}[5])", 14, "expected a duration"},
    {"rate({a=\"b\"}[0s])", 14, "longer than zero"},
    {"rate({a=\"b\"}[5m] [5m])", 18, "range given twice"},
    {"foo({a=\"b\"}[5m])", 1, "unknown function 'foo'"},
    {"sum by (a (rate({a=\"b\"}[5m]))", 11, "expected a label name or ')'"},
    {"sum by (a) (rate({a=\"b\"}[5m])) by (b)", 32, "grouping given twice"},
    {"vector(1) +", 12, "expected a log query, a metric expression or a number"},
    {"vector(1) + {a=\"b\"}", 13, "a log query cannot be used as a number"},
    {"vector(x)", 8, "expected a number"},
    {"{a=\"b\"} | json | level=", 24, "expected a string"},
    {"{a=\"b\"} ! \"x\"", 9, "unexpected '!'"},
    {"count_over_time({a=\"b\"}[5m]) + count_over_time({c=\"d\"}[5m])", 48,
     "only one log query"},
    {"{a=\"b\"}[5m]", 8, "expected a line filter"},
    {"vector(1) vector(1)", 11, "expected an operator"},
    {"{a=\"b\"} | (x=\"1\"", 17, "expected ')'"},
    {"{a=\"\xc3\xa9\", }", 9, "expected a label name"},
    {"{a=\"b\"} # x", 9, "unexpected character '#'"},
    {"{a=\"b\"} | drop x=\"y\"", 17, "drop with a matcher is not supported"},
    {"{a=\"b\"} | drop", 15, "expected a label name"},
};

static void test_errors(void **state)
{
    char err[256], want[32];
    size_t t;
    tg_plan *p;

    (void)state;
    for (t = 0; t < sizeof(error_table) / sizeof(error_table[0]); t++) {
        const char *q = error_table[t].q;
        int rc = tg_logql_parse(q, strlen(q), &p, err, sizeof(err));

        if (rc != TG_EINVAL)
            fail_msg("%s: rc %d, want TG_EINVAL", q, rc);
        assert_null(p);
        snprintf(want, sizeof(want), "column %u: ", error_table[t].col);
        if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, error_table[t].frag))
            fail_msg("%s: got \"%s\", want \"%s...%s\"", q, err, want,
                     error_table[t].frag);
    }
}

static void test_nesting_bounded(void **state)
{
    char q[300], err[128];
    tg_plan *p;
    size_t i;

    (void)state;
    for (i = 0; i < 200; i++)
        q[i] = '(';
    assert_int_equal(tg_logql_parse(q, 200, &p, err, sizeof(err)), TG_EINVAL);
    assert_non_null(strstr(err, "nested too deeply"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_table),          cmocka_unit_test(test_metric_table),
        cmocka_unit_test(test_plan_shape),           cmocka_unit_test(test_health_check),
        cmocka_unit_test(test_log_print_round_trip), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_nesting_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
