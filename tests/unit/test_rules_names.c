/* Names that always leave (span, event and metric names, status messages,
 * http.route, url.path, rpc.method) leave `central` as templates; other
 * destinations get them raw unless they ask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules_int.h"
#include "test_rules_util.h"

static void tmpl(const char *in, const char *want)
{
    tg_arena a;
    tg_strbuf sb;

    tg_arena_init(&a, 0, 0);
    sb = (tg_strbuf){.a = &a};
    tg_rules__name_template(in, strlen(in), NULL, 0, &sb);
    if (strcmp(sb.p ? sb.p : "", want))
        fail_msg("template of \"%s\"\n  want \"%s\"\n  got  \"%s\"", in, want,
                 sb.p ? sb.p : "");
    tg_arena_destroy(&a);
}

static void test_template_rules(void **state)
{
    (void)state;
    tmpl("GET /accounts/88231190/statements", "GET /accounts/{id}/statements");
    tmpl("charge 4411", "charge {num}");
    tmpl("charge 12.50 EUR", "charge {num} EUR");
    tmpl("GET /orders/550e8400-e29b-41d4-a716-446655440000", "GET /orders/{id}");
    tmpl("job 550e8400-e29b-41d4-a716-446655440000 done", "job {uuid} done");
    tmpl("blob 9f86d081884c7d65 read", "blob {hex} read");
    tmpl("GET /users/u_8Fk2LmQ9x/cart", "GET /users/{id}/cart");
    tmpl("GET /files/12345.json", "GET /files/{id}.json");
    /* wording stays */
    tmpl("checkout.process", "checkout.process");
    tmpl("GET /api/v1/orders/{id}", "GET /api/v1/orders/{id}");
    tmpl("http2 sha256 k8s s3 ec2 oauth2", "http2 sha256 k8s s3 ec2 oauth2");
    tmpl("grpc.health.v1.Health/Check", "grpc.health.v1.Health/Check");
    tmpl("SELECT orders", "SELECT orders");
    tmpl("pod checkout-7d9f8b6c5d-x2k4p", "pod {id}");
}

static const char policy_yaml[] = "version: 1\n"
                                  "classes:\n"
                                  "  pii.bank: {detect: {values: [iban]}}\n"
                                  "  pii.email: {detect: {values: [email]}}\n"
                                  "destinations:\n"
                                  "  central:\n"
                                  "    actions: {default: redact, pii.email: pass}\n"
                                  "  raw:\n"
                                  "    actions: {default: redact}\n"
                                  "  other:\n"
                                  "    names: template\n"
                                  "    actions: {default: redact}\n";

static const char spans_json[] =
    "{\"resourceSpans\":[{\"resource\":{},\"scopeSpans\":[{\"spans\":[{"
    "\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\","
    "\"name\":\"GET /accounts/DE89370400440532013000/statements\",\"kind\":2,"
    "\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\","
    "\"attributes\":["
    "{\"key\":\"http.route\",\"value\":{\"stringValue\":\"/accounts/4411/statements\"}},"
    "{\"key\":\"rpc.method\",\"value\":{\"stringValue\":\"Charge4411x\"}},"
    "{\"key\":\"note\",\"value\":{\"stringValue\":\"order 4411\"}}],"
    "\"events\":[{\"name\":\"mail ann@example.org sent\",\"timeUnixNano\":\"1\"}],"
    "\"status\":{\"code\":2,\"message\":\"timeout after 3000 ms\"}}]}]}]}";

static void test_central_view_templates_names(void **state)
{
    tg_rules_policy *p = tr_policy(policy_yaml);
    tg_arena a;
    char *out;

    (void)state;
    tg_arena_init(&a, 0, 0);
    out = tr_view(p, tr_decode(&a, TG_SIGNAL_TRACES, spans_json), "central", NULL);
    TR_CONTAINS(out, "\"GET /accounts/{id}/statements\"");
    TR_CONTAINS(out, "\"/accounts/{id}/statements\"");
    TR_CONTAINS(out, "\"{id}\"");                 /* rpc.method */
    TR_CONTAINS(out, "\"order 4411\"");           /* not a name: as it was */
    TR_CONTAINS(out, "\"mail {redacted} sent\""); /* a match, even one that passes */
    TR_CONTAINS(out, "\"timeout after {num} ms\"");
    TR_LACKS(out, "DE89");
    TR_LACKS(out, "ann@");
    free(out);
    /* another destination: names raw, but still shaped by their findings */
    out = tr_view(p, tr_decode(&a, TG_SIGNAL_TRACES, spans_json), "raw", NULL);
    TR_CONTAINS(out, "\"GET /accounts/[REDACTED:pii.bank]/statements\"");
    TR_CONTAINS(out, "\"/accounts/4411/statements\"");
    TR_CONTAINS(out, "\"timeout after 3000 ms\"");
    free(out);
    out = tr_view(p, tr_decode(&a, TG_SIGNAL_TRACES, spans_json), "other", NULL);
    TR_CONTAINS(out, "\"/accounts/{id}/statements\"");
    free(out);
    tg_arena_destroy(&a);
    tg_rules_policy_unref(p);
}

static void test_names_setting_is_checked(void **state)
{
    tg_rules_source src = {.name = "bad.yaml",
                           .text = "version: 1\ndestinations:\n  d:\n    names: maybe\n"};
    tg_rules_diag d;

    (void)state;
    src.len = strlen(src.text);
    assert_null(tg_rules_policy_load_sources(&src, 1, NULL, &d));
    assert_non_null(strstr(d.message, "names must be"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_rules),
        cmocka_unit_test(test_central_view_templates_names),
        cmocka_unit_test(test_names_setting_is_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
