/* TraceQL: conformance tables (query, the fixed trace of plan_fixture.h,
 * expected spans) for the site part and the centre part, the plan's printed
 * forms, and parse errors that name the column. */
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

#define S1 1
#define S2 2
#define S3 4
#define S4 8
#define S5 16
#define ALL 31

static tg_plan *parse_ok(const char *q)
{
    char err[256];
    tg_plan *p = NULL;
    int rc = tg_traceql_parse(q, strlen(q), &p, err, sizeof(err));

    if (rc != 0)
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

/* Pushed down: which spans a site reports as candidates. */
static const struct {
    const char *q;
    unsigned want;
} site_table[] = {
    {"{}", ALL},
    {"{ }", ALL},
    {"{ name = \"charge\" }", S2},
    {"{name=\"charge\"}", S2},
    {"{ span.http.status_code >= 500 }", S2},
    {"{ .http.status_code = 200 }", S1},
    {"{ span.http.status_code = 200.0 }", S1},
    {"{ span.http.status_code = \"200\" }", 0},
    {"{ span.http.status_code >= 5e2 }", S2},
    {"{ span.http.status_code != 200 }", S2},
    {"{ span.http.status_code < 300 }", S1},
    {"{ span.http.status_code <= 200 }", S1},
    {"{ span.http.status_code > 200 }", S2},
    {"{ resource.region = \"eu\" }", S2 | S3},
    {"{ resource.deployment.environment != \"prod\" }", 0},
    {"{ resource.service.name = \"ledger\" }", S5},
    {"{ .service.name = \"frontend\" }", S1 | S4},
    {"{ status = error }", S2},
    {"{ status = ok }", S3},
    {"{ status = unset }", S1 | S4 | S5},
    {"{ status != ok }", S1 | S2 | S4 | S5},
    {"{ kind = server }", S1},
    {"{ kind = client || kind = producer }", S2 | S5},
    {"{ kind = internal }", S3 | S4},
    {"{ kind = consumer }", 0},
    {"{ kind = unspecified }", 0},
    {"{ kind != server }", S2 | S3 | S4 | S5},
    {"{ duration > 100ms }", S1 | S2},
    {"{ duration > 0.1s }", S1 | S2},
    {"{ duration <= 1ms }", S5},
    {"{ duration >= 1.5s }", 0},
    {"{ duration < 10000us }", S5},
    {"{ duration = 10000000ns }", S3 | S4},
    {"{ duration = 3ns }", 0},
    {"{ duration > 1h }", 0},
    {"{ duration < 1m }", ALL},
    {"{ duration >= 0.5s }", S1},
    {"{ statusMessage =~ \"card.*\" }", S2},
    {"{ statusMessage = \"card\" }", 0},
    {"{ statusMessage = \"card\\x20declined\" }", S2},
    {"{ statusMessage = \"card\\u0020declined\" }", S2},
    {"{ name =~ \"char\" }", 0},
    {"{ name =~ \"char.*\" }", S2},
    {"{ name =~ `db\\..*` }", S3},
    {"{ name !~ \".*e.*\" }", S5},
    {"{ name > \"d\" }", S3 | S4},
    {"{ span.\"a b\" = \"spaced\" }", S1},
    {"{ span.flag }", S1},
    {"{ !span.flag }", S2 | S3 | S4 | S5},
    {"{ span.flag = true }", S1},
    {"{ span.flag != false }", S1},
    {"{ true }", ALL},
    {"{ false }", 0},
    {"{ 1 = 1 }", ALL},
    {"{ span.ratio > 0.25 }", S1},
    {"{ span.ratio = 0.5 }", S1},
    {"{ span.delta = -5 }", S4},
    {"{ span.delta < 0 }", S4},
    {"{ span.retry = 3 && resource.service.name = \"payments\" }", S2},
    {"{ span.db.system = nil }", S1 | S2 | S4 | S5},
    {"{ span.db.system != nil }", S3},
    {"{ .db.system != nil }", S3},
    {"{ resource.db.system != nil }", 0},
    {"{ span.http.method =~ \"GET|POST\" }", S1},
    /* arrays: any element for = =~ > ..., every element for != !~ */
    {"{ span.tags = \"b\" }", S3},
    {"{ span.tags != \"b\" }", 0},
    {"{ span.tags != \"z\" }", S3},
    {"{ span.tags =~ \"a|z\" }", S3},
    {"{ span.tags !~ \"a\" }", 0},
    {"{ span.tags !~ \"[xy]\" }", S3},
    {"{ span.codes > 1 }", S3},
    {"{ span.codes > 2 }", 0},
    {"{ span.codes = 1.0 }", S3},
    {"{ span.tags != nil }", S3},
    {"{ .http.method = \"GET\" && kind = server }", S1},
    /* what Grafana's search builder writes */
    {"{resource.service.name=\"frontend\" && name=\"GET /checkout\" && duration>100ms && "
     "status=unset}",
     S1},
    {"{ site = \"de-onprem\" && status = error }", S2},
    {"{ site = \"de-onprem\" }", S2 | S3},
    {"{ site =~ \".*-onprem\" }", S2 | S3 | S5},
    {"{ resource.tollgate.site = \"fr-onprem\" }", S5},
    {"{ span:id = \"0000000000000002\" }", S2},
    {"{ trace:id = \"0102030405060708090A0B0C0D0E0F10\" }", ALL},
    {"{ trace:id = \"0102030405060708090a0b0c0d0e0f11\" }", 0},
    {"{ span:name = \"render\" }", S4},
    {"{ span:status = ok }", S3},
    {"{ span:kind = internal }", S3 | S4},
    {"{ span:duration > 250ms }", S1 | S2},
    {"{ span:statusMessage = \"card declined\" }", S2},
    {"{ !(status = error) && kind = internal }", S3 | S4},
    {"{ (name = \"audit\" || name = \"render\") && site = \"us-cloud\" }", S4},
    /* && binds tighter than || */
    {"{ status = ok || name = \"charge\" && kind = server }", S3},
    {"{ !!(name = \"audit\") }", S5},
    /* a site cannot know trace-level intrinsics: they keep the candidate */
    {"{ trace:duration > 1s }", ALL},
    {"{ trace:rootName = \"x\" && name = \"charge\" }", S2},
    {"{ !(trace:rootService = \"x\") || name = \"audit\" }", ALL},
    /* every filter of the spanset expression is pushed down */
    {"{ name = \"charge\" } && { name = \"audit\" }", S2 | S5},
    {"{ name = \"charge\" } > { name = \"db.query\" }", S2 | S3},
    {"{ name = \"render\" } | count() > 3", S4},
};

static void test_site_table(void **state)
{
    tg_span_view v[5];
    size_t t;
    int i;

    (void)state;
    fx_trace(v);
    for (t = 0; t < sizeof(site_table) / sizeof(site_table[0]); t++) {
        tg_plan *p = parse_ok(site_table[t].q);
        unsigned got = 0;

        for (i = 0; i < 5; i++)
            if (tg_plan_span_candidate(p, &v[i]))
                got |= 1u << i;
        if (got != site_table[t].want)
            fail_msg("%s: spans 0x%x, want 0x%x", site_table[t].q, got,
                     site_table[t].want);
        tg_plan_free(p);
    }
}

/* Evaluated at the centre on the whole trace: the spans of all spansets, and
 * how many spansets. */
static const struct {
    const char *q;
    unsigned want;
    size_t nsets;
} centre_table[] = {
    {"{ }", ALL, 1},
    {"{ name = \"nope\" }", 0, 0},
    {"{ name = \"charge\" } && { name = \"audit\" }", S2 | S5, 1},
    {"{ name = \"charge\" } && { name = \"nope\" }", 0, 0},
    {"{ name = \"charge\" } || { name = \"nope\" }", S2, 1},
    {"{ name = \"charge\" } || { name = \"audit\" }", S2 | S5, 1},
    {"{ kind = server } > { kind = client }", S2, 1},
    {"{ kind = server } > { name = \"db.query\" }", 0, 0},
    {"{ kind = server } >> { name = \"db.query\" }", S3, 1},
    {"{ kind = server } >> { }", S2 | S3 | S4 | S5, 1},
    {"{ name = \"db.query\" } < { }", S2, 1},
    {"{ name = \"db.query\" } << { }", S1 | S2, 1},
    {"{ name = \"db.query\" } << { kind = server }", S1, 1},
    {"{ name = \"db.query\" } ~ { }", S5, 1},
    {"{ name = \"charge\" } ~ { kind = internal }", S4, 1},
    {"{ kind = internal } ~ { kind = internal }", 0, 0},
    {"({ name = \"charge\" } > { name = \"db.query\" }) && { kind = server }", S1 | S3,
     1},
    {"{ site = \"us-cloud\" } > { site = \"de-onprem\" } > { site = \"de-onprem\" }", S3,
     1},
    {"{ trace:duration > 400ms }", ALL, 1},
    {"{ trace:duration > 1s }", 0, 0},
    {"{ trace:rootName = \"GET /checkout\" && status = error }", S2, 1},
    {"{ trace:rootService = \"frontend\" && site = \"fr-onprem\" }", S5, 1},
    {"{ } | count() > 4", ALL, 1},
    {"{ } | count() > 5", 0, 0},
    {"{ resource.service.name = \"payments\" } | count() = 2", S2 | S3, 1},
    {"{ } | avg(duration) > 100ms", ALL, 1},
    {"{ } | avg(duration) > 200ms", 0, 0},
    {"{ } | max(duration) >= 500ms", ALL, 1},
    {"{ } | min(duration) < 2ms", ALL, 1},
    {"{ } | sum(span.http.status_code) = 702", ALL, 1},
    {"{ } | sum(span.http.status_code) != 702", 0, 0},
    {"{ } | avg(span.ratio) <= 0.5", ALL, 1},
    {"{ } | min(span.nothing) > 0", 0, 0},
    {"{ } | by(resource.service.name) | count() > 1", S1 | S2 | S3 | S4, 2},
    {"{ } | by(site)", ALL, 3},
    {"{ } | by(kind) | count() = 2", S3 | S4, 1},
    {"{ } | select(span.http.method, name)", ALL, 1},
    {"{ kind != server } | { status = error }", S2, 1},
    {"{ } | { name = \"nope\" }", 0, 0},
    {"{ } | by(site) | { status = error } | count() = 1", S2, 1},
    {"{ } with(most_recent=true)", ALL, 1},
    {"{ } | count() > 2 with(most_recent=true)", ALL, 1},
};

static void test_centre_table(void **state)
{
    tg_span_view v[5];
    size_t t, s, k;

    (void)state;
    fx_trace(v);
    for (t = 0; t < sizeof(centre_table) / sizeof(centre_table[0]); t++) {
        tg_plan *p = parse_ok(centre_table[t].q);
        tg_trace_result res;
        unsigned got = 0;

        assert_int_equal(tg_trace_eval(p, v, 5, &res), 0);
        for (s = 0; s < res.nsets; s++)
            for (k = 0; k < res.sets[s].nspans; k++)
                got |= 1u << res.sets[s].spans[k];
        if (got != centre_table[t].want || res.nsets != centre_table[t].nsets)
            fail_msg("%s: spans 0x%x in %zu sets, want 0x%x in %zu", centre_table[t].q,
                     got, res.nsets, centre_table[t].want, centre_table[t].nsets);
        tg_trace_result_free(&res);
        tg_plan_free(p);
    }
}

static void test_pipeline_values(void **state)
{
    tg_span_view v[5];
    tg_trace_result res;
    tg_plan *p;
    size_t s;

    (void)state;
    fx_trace(v);
    p = parse_ok("{ } | by(resource.service.name) | avg(duration) >= 0ms");
    assert_int_equal(tg_trace_eval(p, v, 5, &res), 0);
    assert_int_equal(res.nsets, 3);
    for (s = 0; s < res.nsets; s++) {
        assert_int_equal(res.sets[s].by.type, TG_PV_STR);
        assert_int_equal(res.sets[s].naggs, 1);
        if (strcmp(res.sets[s].by.s, "payments") == 0)
            assert_true(res.sets[s].aggs[0] == 155.0 * 1e6); /* (300 + 10) / 2 ms */
        else if (strcmp(res.sets[s].by.s, "frontend") == 0)
            assert_true(res.sets[s].aggs[0] == 255.0 * 1e6);
        else
            assert_string_equal(res.sets[s].by.s, "ledger");
    }
    tg_trace_result_free(&res);
    assert_int_equal(p->most_recent, 0);
    tg_plan_free(p);

    p = parse_ok("{ } with(most_recent=true)");
    assert_int_equal(p->most_recent, 1);
    tg_plan_free(p);
}

/* A trace whose middle site did not answer: the structure is evaluated on
 * what arrived, and trace-level intrinsics see the root. */
static void test_missing_parent(void **state)
{
    tg_span_view v[5];
    tg_trace_result res;
    tg_plan *p;

    (void)state;
    fx_trace(v);
    p = parse_ok("{ kind = server } >> { name = \"db.query\" }");
    v[1] = v[4]; /* s2 (charge) is gone; s3's parent is missing */
    assert_int_equal(tg_trace_eval(p, v, 4, &res), 0);
    assert_int_equal(res.nsets, 0);
    tg_plan_free(p);
    p = parse_ok("{ trace:rootName = \"GET /checkout\" }");
    assert_int_equal(tg_trace_eval(p, v, 4, &res), 0);
    assert_int_equal(res.nsets, 1);
    assert_int_equal(res.sets[0].nspans, 4);
    tg_trace_result_free(&res);
    tg_plan_free(p);
}

static void test_plan_shape(void **state)
{
    tg_plan *p;
    tg_strbuf b = {0};

    (void)state;
    p = parse_ok("({ site = \"a\" } > { status = error }) && { trace:duration > 2s } | "
                 "{ kind = server } | count() > 1 | by(name) | select(.x)");
    assert_int_equal(p->nfilters, 4);
    assert_int_equal(p->nsite_filters, 3);
    assert_int_equal(p->filters[2].needs_trace, 1);
    assert_int_equal(p->filters[0].needs_trace, 0);
    assert_int_equal(p->root->op, TG_SS_AND);
    assert_int_equal(p->root->l->op, TG_SS_CHILD);
    assert_int_equal(p->nstages, 4);
    assert_int_equal(p->stages[0].kind, TG_ST_FILTER);
    assert_int_equal(p->stages[1].kind, TG_ST_AGG);
    assert_int_equal(p->stages[2].kind, TG_ST_BY);
    assert_int_equal(p->stages[3].kind, TG_ST_SELECT);
    assert_int_equal(p->filters[0].expr->a.intr, TG_IN_SITE);

    tg_plan_print_site(p, &b);
    assert_string_equal(b.p, "{ site = \"a\" } || { status = error } || "
                             "{ trace:duration > 2s }");
    free(b.p);
    b = (tg_strbuf){0};
    tg_plan_explain(p, &b);
    assert_non_null(strstr(b.p, "\"lang\":\"traceql\""));
    assert_non_null(
        strstr(b.p, "{\"filter\":\"{ trace:duration > 2s }\",\"needs_trace\":true}"));
    assert_non_null(strstr(b.p, "\"pipeline\":[\"{ kind = server }\",\"count() > 1\","
                                "\"by(name)\",\"select(.x)\"]"));
    free(b.p);
    tg_plan_free(p);
}

static const struct {
    const char *q, *canonical;
} print_table[] = {
    {"{name=\"x\"}", "{ name = \"x\" }"},
    {"{ span:name = \"x\" }", "{ name = \"x\" }"},
    {"{ resource.tollgate.site = \"x\" }", "{ site = \"x\" }"},
    {"{ .a = 1 && (.b = 2 || .c = 3) }", "{ .a = 1 && (.b = 2 || .c = 3) }"},
    {"{ .a = 1 || .b = 2 && .c = 3 }", "{ .a = 1 || .b = 2 && .c = 3 }"},
    {"{ (.a = 1 && .b = 2) || .c = 3 }", "{ .a = 1 && .b = 2 || .c = 3 }"},
    {"{ .a = 1 && (.b = 2 && .c = 3) }", "{ .a = 1 && (.b = 2 && .c = 3) }"},
    {"{ (.a = 1 || .b = 2) && .c = 3 }", "{ (.a = 1 || .b = 2) && .c = 3 }"},
    {"{ duration > 1.5s }", "{ duration > 1500ms }"},
    {"{ duration > 60s }", "{ duration > 1m }"},
    {"{ span.\"a b\" = `raw\\n` }", "{ span.\"a b\" = \"raw\\\\n\" }"},
    {"{ .x = 1.0 }", "{ .x = 1.0 }"},
    {"{ !(.x = nil) }", "{ !.x = nil }"},
    {"{ !(.x = 1 || .y = 2) }", "{ !(.x = 1 || .y = 2) }"},
    {"({ .a = 1 } > { .b = 1 }) && { .c = 1 }", "{ .a = 1 } > { .b = 1 } && { .c = 1 }"},
    {"({ .a = 1 } && { .b = 1 }) > { .c = 1 }",
     "({ .a = 1 } && { .b = 1 }) > { .c = 1 }"},
    {"{ .a = 1 } > ({ .b = 1 } > { .c = 1 })", "{ .a = 1 } > ({ .b = 1 } > { .c = 1 })"},
    {"{ span.2n = 1 }", "{ span.\"2n\" = 1 }"},
    {"{ kind = server } >> { status = error } | count() >= 2",
     "{ kind = server } >> { status = error } | count() >= 2"},
    {"{} | avg(duration) > 1s with (most_recent = true)",
     "{ } | avg(duration) > 1s with(most_recent=true)"},
};

static void test_print_round_trip(void **state)
{
    size_t t;

    (void)state;
    for (t = 0; t < sizeof(print_table) / sizeof(print_table[0]); t++) {
        tg_plan *p = parse_ok(print_table[t].q), *p2;
        char *s = print(p), *s2;

        if (strcmp(s, print_table[t].canonical) != 0)
            fail_msg("%s printed as %s, want %s", print_table[t].q, s,
                     print_table[t].canonical);
        p2 = parse_ok(s);
        s2 = print(p2);
        assert_string_equal(s, s2);
        free(s);
        free(s2);
        tg_plan_free(p);
        tg_plan_free(p2);
    }
    /* and every conformance query prints to text that parses to itself */
    for (t = 0; t < sizeof(centre_table) / sizeof(centre_table[0]); t++) {
        tg_plan *p = parse_ok(centre_table[t].q), *p2;
        char *s = print(p), *s2;

        p2 = parse_ok(s);
        s2 = print(p2);
        assert_string_equal(s, s2);
        free(s);
        free(s2);
        tg_plan_free(p);
        tg_plan_free(p2);
    }
    for (t = 0; t < sizeof(site_table) / sizeof(site_table[0]); t++) {
        tg_plan *p = parse_ok(site_table[t].q), *p2;
        char *s = print(p), *s2;

        p2 = parse_ok(s);
        s2 = print(p2);
        assert_string_equal(s, s2);
        free(s);
        free(s2);
        tg_plan_free(p);
        tg_plan_free(p2);
    }
}

static void test_site_pruning(void **state)
{
    tg_plan *p;

    (void)state;
    p = parse_ok("{ site = \"de-onprem\" && status = error }");
    assert_true(tg_plan_site_may_match(p, "de-onprem"));
    assert_false(tg_plan_site_may_match(p, "us-cloud"));
    tg_plan_free(p);
    p = parse_ok("{ name = \"x\" }");
    assert_true(tg_plan_site_may_match(p, "anything"));
    tg_plan_free(p);
    p = parse_ok("{ site = \"a\" } || { resource.tollgate.site =~ \"b.*\" }");
    assert_true(tg_plan_site_may_match(p, "a"));
    assert_true(tg_plan_site_may_match(p, "bee"));
    assert_false(tg_plan_site_may_match(p, "c"));
    tg_plan_free(p);
    p = parse_ok("{ !(site = \"a\") }");
    assert_false(tg_plan_site_may_match(p, "a"));
    assert_true(tg_plan_site_may_match(p, "b"));
    tg_plan_free(p);
}

/* query, expected column, a fragment of the message */
static const struct {
    const char *q;
    unsigned col;
    const char *frag;
} error_table[] = {
    {"", 1, "expected '{' or '('"},
    {"name = \"x\"", 1, "expected '{' or '('"},
    {"{ name = }", 10, "expected an attribute, an intrinsic or a literal"},
    {"{ name = \"x\" ", 14, "expected '&&', '||' or '}'"},
    {"{ status = \"error\" }", 12, "status compares with ok, error or unset"},
    {"{ status > error }", 12, "status supports only = and !="},
    {"{ kind = 3 }", 10, "kind compares with server"},
    {"{ name =~ 3 }", 11, "expected a string"},
    {"{ name =~ \"(\" }", 11, "invalid regular expression"},
    {"{ foo = 1 }", 3, "unknown name 'foo'"},
    {"{ event.x = 1 }", 3, "unsupported attribute scope 'event'"},
    {"{ span. = 1 }", 3, "expected an attribute name"},
    {"{ name = \"x } ", 10, "unterminated string"},
    {"{ duration > 5parsecs }", 14, "invalid number or duration"},
    {"{ name = \"x\" } & { }", 16, "unexpected '&'"},
    {"{ name = \"x\" } | foo()", 18, "expected a pipeline stage"},
    {"{ } with(fast=true)", 10, "expected a hint"},
    {"{ } with(most_recent=1)", 22, "expected true or false"},
    {"{ name }", 8, "expected a comparison operator"},
    {"{ 1 }", 3, "a literal alone is not a condition"},
    {"{ } }", 5, "expected '&&', '||', '>'"},
    {"{ name = \"a\\q\" }", 12, "invalid escape"},
    {"{ name = \"x\" } | avg() > 1", 22, "expected an attribute"},
    {"{ name = \"x\" } | count() > \"a\"", 28, "expected a number or a duration"},
    {"{ name = \"x\" } | count() =~ 1", 26, "expected a comparison"},
    {"{ name = \"\xc3\xa9\" && }", 17, "expected an attribute"},
    {"{ span.x = 99999999999999999999 }", 12, "integer out of range"},
    {"{ .x = 1 } | select()", 21, "expected an attribute or intrinsic"},
    {"{ .x = 1 } | by(.y", 19, "expected ')'"},
    {"({ .x = 1 }", 12, "expected ')'"},
    {"{ .x = 1 } >", 13, "expected '{' or '('"},
    {"{ .x = 1 } | count() > 1 { }", 26, "expected '|', 'with' or the end"},
    {"{ .x = 1 ) }", 10, "expected '&&', '||' or '}'"},
    {"{ .x = 1 # }", 10, "unexpected character '#'"},
};

static void test_errors(void **state)
{
    char err[256], want[32];
    size_t t;
    tg_plan *p;

    (void)state;
    for (t = 0; t < sizeof(error_table) / sizeof(error_table[0]); t++) {
        const char *q = error_table[t].q;
        int rc = tg_traceql_parse(q, strlen(q), &p, err, sizeof(err));

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
    char q[400], err[128];
    tg_plan *p;
    size_t i, n = 0;

    (void)state;
    q[n++] = '{';
    for (i = 0; i < 200; i++)
        q[n++] = '(';
    q[n] = '\0';
    assert_int_equal(tg_traceql_parse(q, n, &p, err, sizeof(err)), TG_EINVAL);
    assert_non_null(strstr(err, "nested too deeply"));
    n = 0;
    for (i = 0; i < 200; i++)
        q[n++] = '!';
    memcpy(q + n, "true", 4);
    n += 4;
    assert_int_equal(tg_traceql_parse(q, n, &p, err, sizeof(err)), TG_EINVAL);
    /* a NUL inside the query is just an unexpected character */
    assert_int_equal(tg_traceql_parse("{ }\0x", 5, &p, err, sizeof(err)), TG_EINVAL);
    assert_non_null(strstr(err, "column 4"));
}

static void test_durations(void **state)
{
    int64_t ns;

    (void)state;
    assert_int_equal(tg_plan_parse_duration("1.5s", 4, &ns), 0);
    assert_int_equal(ns, 1500000000LL);
    assert_int_equal(tg_plan_parse_duration("250ms", 5, &ns), 0);
    assert_int_equal(ns, 250000000LL);
    assert_int_equal(tg_plan_parse_duration("10us", 4, &ns), 0);
    assert_int_equal(ns, 10000LL);
    assert_int_equal(tg_plan_parse_duration("10\xc2\xb5s", 5, &ns), 0);
    assert_int_equal(ns, 10000LL);
    assert_int_equal(tg_plan_parse_duration("3ns", 3, &ns), 0);
    assert_int_equal(ns, 3);
    assert_int_equal(tg_plan_parse_duration("1h30m", 5, &ns), 0);
    assert_int_equal(ns, 5400000000000LL);
    assert_int_equal(tg_plan_parse_duration("1", 1, &ns), TG_EINVAL);
    assert_int_equal(tg_plan_parse_duration("s", 1, &ns), TG_EINVAL);
    assert_int_equal(tg_plan_parse_duration("1x", 2, &ns), TG_EINVAL);
    assert_int_equal(tg_plan_parse_duration("99999999999h", 12, &ns), TG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_site_table),      cmocka_unit_test(test_centre_table),
        cmocka_unit_test(test_pipeline_values), cmocka_unit_test(test_missing_parent),
        cmocka_unit_test(test_plan_shape),      cmocka_unit_test(test_print_round_trip),
        cmocka_unit_test(test_site_pruning),    cmocka_unit_test(test_errors),
        cmocka_unit_test(test_nesting_bounded), cmocka_unit_test(test_durations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
