/* Classification and views: every place a value can hide, every value type,
 * URLs and SQL, resource conditions, allow-lists, one classification for
 * many views (sharing, no re-scan), fail-closed limits, unknown fields,
 * persistence, explain, threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "opentelemetry/proto/trace/v1/trace.pb-c.h"
#include "test_rules_util.h"
#include "tg_err.h"

#define EMAIL "leak.me@example.org"

static const char *base_policy =
    "keys: {k1: {hex: 00112233445566778899aabbccddeeff}}\n"
    "classes:\n"
    "  pii.email: {detect: {keys: [user.email, 'contact.*'], values: [email]}}\n"
    "  pci.pan: {detect: {values: [credit_card]}}\n"
    "  secret.token: {detect: {keys: [token, session_token]}}\n"
    "  pii.sql: {redact_text: '?', detect: {values: [{builtin: sql_literal, keys: "
    "[db.statement]}]}}\n"
    "  phi.flag: {detect: {keys: [hiv_positive]}}\n"
    "destinations:\n"
    "  redact: {actions: {default: redact}}\n"
    "  pass: {actions: {default: pass}}\n"
    "  strict:\n"
    "    unclassified: {allow_keys: [service.name, 'http.*', db.statement], bodies: "
    "drop}\n"
    "    actions: {default: redact, pii.email: hash, phi.*: keep-local}\n"
    "  filter:\n"
    "    unclassified: {allow_keys: [service.name, msg], bodies: filter}\n"
    "    actions: {default: redact}\n";

static tg_rules_policy *pol;

static int setup(void **state)
{
    (void)state;
    pol = tr_policy(base_policy);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tg_rules_policy_unref(pol);
    return 0;
}

#define S(k, v) "{\"key\":\"" k "\",\"value\":{\"stringValue\":\"" v "\"}}"

/* An e-mail in every string place of a trace, a log and a metric. */
static const char *all_places_traces =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[" S("service.name", "svc") "," S(
        "r",
        EMAIL) "],"
               "\"entityRefs\":[{\"type\":\"" EMAIL "\",\"idKeys\":[\"" EMAIL "\"]}]},"
               "\"schemaUrl\":\"" EMAIL "\","
               "\"scopeSpans\":[{\"scope\":{\"name\":\"" EMAIL "\",\"version\":\"" EMAIL
               "\",\"attributes\":[" S(
                   "s",
                   EMAIL) "]},"
                          "\"spans\":[{\"traceId\":\"5b8efff798038103d269b633813fc60c\","
                          "\"spanId\":\"eee19b7ec3c1b174\","
                          "\"name\":\"GET " EMAIL "\",\"traceState\":\"k=" EMAIL
                          "\",\"attributes\":[" S(
                              "a", EMAIL) "],"
                                          "\"events\":[{\"name\":\"" EMAIL
                                          "\",\"attributes\":[" S(
                                              "e",
                                              EMAIL) "]}],"
                                                     "\"links\":[{\"traceId\":"
                                                     "\"5b8efff798038103d269b633813fc60c"
                                                     "\",\"spanId\":\"eee19b7ec3c1b174\","
                                                     "\"traceState\":\"x=" EMAIL
                                                     "\",\"attributes\":[" S(
                                                         "l",
                                                         EMAIL) "]}],"
                                                                "\"status\":{\"code\":2,"
                                                                "\"message\":\"failed "
                                                                "for " EMAIL "\"}}]}]}]}";

static const char *all_places_logs =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[" S(
        "r",
        EMAIL) "]},\"scopeLogs\":[{\"logRecords\":["
               "{\"severityText\":\"" EMAIL "\",\"eventName\":\"" EMAIL
               "\",\"body\":{\"kvlistValue\":{\"values\":[" S(
                   "m",
                   EMAIL) ",{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{"
                          "\"stringValue\":\"" EMAIL "\"},"
                          "{\"kvlistValue\":{\"values\":[" S(
                              "deep",
                              EMAIL) "]}}]}}},"
                                     "{\"key\":\"" EMAIL
                                     "\",\"value\":{\"intValue\":\"1\"}}]}},"
                                     "\"attributes\":[" S(
                                         "a",
                                         EMAIL) ",{\"key\":\"b\",\"value\":{"
                                                "\"bytesValue\":"
                                                "\"bGVhay5tZUBleGFtcGxlLm9yZw==\"}}]}"
                                                "]}]}]}";

static const char *all_places_metrics =
    "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[" S(
        "r",
        EMAIL) "]},\"scopeMetrics\":[{\"metrics\":["
               "{\"name\":\"m." EMAIL "\",\"description\":\"" EMAIL "\",\"unit\":\"" EMAIL
               "\","
               "\"metadata\":[" S(
                   "md",
                   EMAIL) "],"
                          "\"gauge\":{\"dataPoints\":[{\"asInt\":\"1\",\"attributes\":"
                          "[" S(
                              "g",
                              EMAIL) "],"
                                     "\"exemplars\":[{\"asDouble\":1,"
                                     "\"filteredAttributes\":[" S(
                                         "x",
                                         EMAIL) "]}]}]}},"
                                                "{\"name\":\"h\",\"histogram\":{"
                                                "\"dataPoints\":[{\"count\":\"1\","
                                                "\"attributes\":[" S(
                                                    "h",
                                                    EMAIL) "]}]}},"
                                                           "{\"name\":\"eh\","
                                                           "\"exponentialHistogram\":{"
                                                           "\"dataPoints\":[{\"count\":"
                                                           "\"1\",\"attributes\":[" S(
                                                               "eh",
                                                               EMAIL) "]}]}},"
                                                                      "{\"name\":\"su\","
                                                                      "\"summary\":{"
                                                                      "\"dataPoints\":[{"
                                                                      "\"count\":\"1\","
                                                                      "\"attributes\":"
                                                                      "[" S(
                                                                          "su",
                                                                          EMAIL) "]}]}},"
                                                                                 "{\"name"
                                                                                 "\":"
                                                                                 "\"sm\","
                                                                                 "\"sum\""
                                                                                 ":{"
                                                                                 "\"dataP"
                                                                                 "oints\""
                                                                                 ":[{"
                                                                                 "\"asDou"
                                                                                 "ble\":"
                                                                                 "2,"
                                                                                 "\"attri"
                                                                                 "butes\""
                                                                                 ":[" S(
                                                                                     "sm",
                                                                                     EMAIL) "]}]}}"
                                                                                            "]}]}]}";

static void check_all_places(enum tg_signal sig, const char *json, unsigned want_findings)
{
    tg_arena a;
    tg_rules_classification *c;
    tg_rules_classify_stats st;
    ProtobufCMessage *m, *out;
    char *text;
    int di = tg_rules_destination_index(pol, "redact");

    tg_arena_init(&a, 0, 0);
    m = tr_decode(&a, sig, json);
    assert_int_equal(tg_rules_classify(pol, m, &a, &c), 0);
    tg_rules_classification_stats(c, &st);
    if (st.findings != want_findings)
        fail_msg("%s: %llu findings, want %u", tg_signal_name(sig),
                 (unsigned long long)st.findings, want_findings);
    assert_int_equal(tg_rules_view(c, (size_t)di, &a, NULL, &out, NULL), 0);
    text = tg_otlp_json_encode(out, NULL);
    TR_LACKS(text, "leak.me");
    TR_LACKS(text, "bGVhay5tZUBleGFtcGxl"); /* the bytes value, base64 */
    TR_CONTAINS(text, "[REDACTED:pii.email]");
    free(text);
    /* and the pass view still has every one of them */
    di = tg_rules_destination_index(pol, "pass");
    assert_int_equal(tg_rules_view(c, (size_t)di, &a, NULL, &out, NULL), 0);
    assert_ptr_equal(out, m); /* nothing to change: the request itself */
    tg_arena_destroy(&a);
}

static void test_every_place_a_value_can_hide(void **state)
{
    (void)state;
    /* resource attr, entity type, entity id key, schema url, scope name,
     * version and attr, span name, trace state, attr, event name and attr,
     * link trace state and attr, status message */
    check_all_places(TG_SIGNAL_TRACES, all_places_traces, 15);
    /* resource attr, severity text, event name, body kvlist value, array
     * string, nested kvlist value, kvlist key, attr string, attr bytes */
    check_all_places(TG_SIGNAL_LOGS, all_places_logs, 9);
    /* resource attr, metric name, description, unit, metadata, gauge point
     * attr, exemplar attr, histogram, exp. histogram, summary, sum attrs */
    check_all_places(TG_SIGNAL_METRICS, all_places_metrics, 11);
}

static void test_every_value_type(void **state)
{
    tg_arena a;
    char *out;
    const char *attrs =
        "[{\"key\":\"card_int\",\"value\":{\"intValue\":\"4111111111111111\"}},"
        "{\"key\":\"card_dbl\",\"value\":{\"doubleValue\":4012888888881881}},"
        "{\"key\":\"hiv_positive\",\"value\":{\"boolValue\":true}},"
        "{\"key\":\"list\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"a@"
        "example.com\"},"
        "{\"stringValue\":\"b@example.com\"},{\"stringValue\":\"plain\"}]}}},"
        "{\"key\":\"user.email\",\"value\":{\"kvlistValue\":{\"values\":[" S(
            "x", "opaque") "]}}},"
                           "{\"key\":\"ratio\",\"value\":{\"doubleValue\":0.25}},"
                           "{\"key\":\"status\",\"value\":{\"intValue\":\"200\"}}]";

    (void)state;
    tg_arena_init(&a, 0, 0);
    out = tr_view(pol, tr_log(&a, "{\"stringValue\":\"x\"}", attrs), "redact", NULL);
    TR_LACKS(out, "4111111111111111");
    TR_LACKS(out, "4012888888881881");
    TR_LACKS(out, "example.com");
    TR_LACKS(out, "opaque"); /* a key-classified container goes whole */
    TR_CONTAINS(
        out, "{\"key\":\"card_int\",\"value\":{\"stringValue\":\"[REDACTED:pci.pan]\"}}");
    TR_CONTAINS(
        out,
        "{\"key\":\"hiv_positive\",\"value\":{\"stringValue\":\"[REDACTED:phi.flag]\"}}");
    TR_CONTAINS(out, "{\"stringValue\":\"plain\"}");
    TR_CONTAINS(out, "{\"key\":\"ratio\",\"value\":{\"doubleValue\":0.25}}");
    TR_CONTAINS(out, "{\"key\":\"status\",\"value\":{\"intValue\":\"200\"}}");
    free(out);
    tg_arena_destroy(&a);
}

/* A check-digit id that is a whole attribute value (string, int or integral
 * double) counts without a keyword at a site of its own country; inside
 * text, at another country's site, or at a site with none it still needs a
 * keyword. 111222333 passes the Dutch 11-proof, 86095742719 the German
 * tax id's rules. */
static void test_whole_value_ids_at_their_country(void **state)
{
    static const char *cls =
        "classes:\n"
        "  pii.national_id: {detect: {values: [nl_bsn, de_tax_id]}}\n"
        "destinations:\n"
        "  redact: {actions: {default: redact}}\n";
    const char *attrs =
        "[{\"key\":\"otel.a\",\"value\":{\"intValue\":\"111222333\"}},"
        "{\"key\":\"otel.b\",\"value\":{\"doubleValue\":111222333}}," S(
            "otel.c",
            "111222333") "," S("otel.d",
                               "seen 111222333 twice") ","
                                                       "{\"key\":\"otel.e\",\"value\":{"
                                                       "\"intValue\":\"86095742719\"}}]";
    char pol_nl[512], pol_none[512];
    tg_rules_policy *nl, *none;
    tg_arena a;
    char *out;

    (void)state;
    snprintf(pol_nl, sizeof(pol_nl), "site: {name: ams, jurisdiction: {country: NL}}\n%s",
             cls);
    snprintf(pol_none, sizeof(pol_none), "%s", cls);
    nl = tr_policy(pol_nl);
    none = tr_policy(pol_none);
    tg_arena_init(&a, 0, 0);
    out = tr_view(nl, tr_log(&a, "{\"stringValue\":\"x\"}", attrs), "redact", NULL);
    TR_CONTAINS(out, "{\"key\":\"otel.a\",\"value\":{\"stringValue\":\"[REDACTED:pii."
                     "national_id]\"}}");
    TR_CONTAINS(out, "{\"key\":\"otel.b\",\"value\":{\"stringValue\":\"[REDACTED:pii."
                     "national_id]\"}}");
    TR_CONTAINS(out, "{\"key\":\"otel.c\",\"value\":{\"stringValue\":\"[REDACTED:pii."
                     "national_id]\"}}");
    TR_CONTAINS(out, "seen 111222333 twice");
    TR_CONTAINS(out, "{\"key\":\"otel.e\",\"value\":{\"intValue\":\"86095742719\"}}");
    free(out);
    out = tr_view(none, tr_log(&a, "{\"stringValue\":\"x\"}", attrs), "redact", NULL);
    TR_CONTAINS(out, "{\"key\":\"otel.a\",\"value\":{\"intValue\":\"111222333\"}}");
    TR_CONTAINS(out, "{\"key\":\"otel.c\",\"value\":{\"stringValue\":\"111222333\"}}");
    free(out);
    tg_arena_destroy(&a);
    tg_rules_policy_unref(nl);
    tg_rules_policy_unref(none);
}

static void test_urls_and_sql(void **state)
{
    tg_arena a;
    char *out;
    const char *attrs = "[" S(
        "url.full", "https://shop.example/"
                    "cb?session_token=abc123&email=ann%40example."
                    "com&q=shoes") "," S("db.statement",
                                         "SELECT * FROM t WHERE name = 'Ann' AND "
                                         "id = 42") "," S("note", "price = 'free' and 42 "
                                                                  "items") "]";

    (void)state;
    tg_arena_init(&a, 0, 0);
    out = tr_view(pol, tr_log(&a, "{\"stringValue\":\"x\"}", attrs), "redact", NULL);
    /* query parameters: by name (a key rule) and by decoded value */
    TR_CONTAINS(
        out, "?session_token=[REDACTED:secret.token]&email=[REDACTED:pii.email]&q=shoes");
    /* literals obfuscated in db.statement only */
    TR_CONTAINS(out, "SELECT * FROM t WHERE name = ? AND id = ?");
    TR_CONTAINS(out, "price = 'free' and 42 items");
    free(out);
    tg_arena_destroy(&a);
}

static void test_resource_conditions(void **state)
{
    tg_rules_policy *p =
        tr_policy("classes:\n"
                  "  t.billing: {detect: {keys: [acct], when: {service: ['bill*']}}}\n"
                  "  t.prod: {detect: {values: [email], when: {environment: prod}}}\n"
                  "  t.ns: {detect: {keys: [x], when: {resource: {k8s.namespace.name: "
                  "[payments]}}}}\n"
                  "destinations:\n  d: {actions: {default: redact}}\n");
    tg_arena a;
    char *out;
    const char *fmt =
        "{\"resourceLogs\":["
        "{\"resource\":{\"attributes\":[" S("service.name", "billing") "," S(
            "deployment.environment.name",
            "prod") "]},"
                    "\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\"a@"
                    "example.com\"},"
                    "\"attributes\":[" S("acct", "A-1") "," S(
                        "x",
                        "X-1") "]}]}]},"
                               "{\"resource\":{\"attributes\":[" S(
                                   "service.name",
                                   "searc"
                                   "h") "," S("deployment.environment",
                                              "dev") "," S("k8s.namespace.name",
                                                           "payments") "]},"
                                                                       "\"scopeLogs\":[{"
                                                                       "\"logRecords\":[{"
                                                                       "\"body\":{"
                                                                       "\"stringValue\":"
                                                                       "\"b@example."
                                                                       "com\"},"
                                                                       "\"attributes\":"
                                                                       "[" S(
                                                                           "acct",
                                                                           "A-"
                                                                           "2") "," S("x",
                                                                                      "X-"
                                                                                      "2") "]}]}"
                                                                                           "]}]"
                                                                                           "}";

    (void)state;
    tg_arena_init(&a, 0, 0);
    out = tr_view(p, tr_decode(&a, TG_SIGNAL_LOGS, fmt), "d", NULL);
    TR_LACKS(out, "A-1");           /* billing: acct classified */
    TR_CONTAINS(out, "\"A-2\"");    /* search: not */
    TR_LACKS(out, "a@example.com"); /* prod: e-mails classified */
    TR_CONTAINS(out, "b@example.com");
    TR_CONTAINS(out, "\"X-1\""); /* namespace condition */
    TR_LACKS(out, "X-2");
    free(out);
    tg_arena_destroy(&a);
    tg_rules_policy_unref(p);
}

static void test_allow_list_and_bodies(void **state)
{
    tg_arena a;
    tg_rules_view_stats st;
    char *out;
    const char *attrs = "[" S("service.name", "svc") "," S("http.route", "/x") "," S(
        "host.name", "h1") "," S("user.email", "ann@example.com") "," S("hiv_positive",
                                                                        "no") "]";

    (void)state;
    tg_arena_init(&a, 0, 0);
    out = tr_view(pol, tr_log(&a, "{\"stringValue\":\"hello\"}", attrs), "strict", &st);
    /* hiv_positive is phi: keep-local withholds the whole record */
    assert_int_equal(st.withheld, 1);
    TR_LACKS(out, "hello");
    free(out);
    attrs = "[" S("service.name", "svc") "," S("http.route", "/x") "," S(
        "host.name", "h1") "," S("user.email",
                                 "ann@example.com") "," S("other",
                                                          "mail bob@example.com") "]";
    out = tr_view(pol, tr_log(&a, "{\"stringValue\":\"hello\"}", attrs), "strict", &st);
    TR_CONTAINS(out, "\"http.route\"");
    TR_LACKS(out, "host.name"); /* not on the list */
    TR_LACKS(out, "\"other\""); /* not on the list, though it held a finding */
    TR_CONTAINS(out, "\"user.email\",\"value\":{\"stringValue\":\"hmac-sha256:k1:");
    TR_LACKS(out, "hello");                       /* bodies: drop */
    assert_int_equal(st.dropped_unclassified, 3); /* host.name, other, the body */
    free(out);
    /* bodies: filter applies the list to a structured body's keys */
    out = tr_view(
        pol,
        tr_log(&a,
               "{\"kvlistValue\":{\"values\":[" S("msg", "hi") "," S("user", "ann") "]}}",
               "[]"),
        "filter", NULL);
    TR_CONTAINS(out, "\"msg\"");
    TR_LACKS(out, "ann");
    free(out);
    tg_arena_destroy(&a);
}

static void test_one_classification_many_views_share(void **state)
{
    tg_arena a;
    tg_rules_classification *c;
    tg_rules_classify_stats before, after;
    ProtobufCMessage *m, *v1, *v2;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r, *o;
    const char *json = "{\"resourceSpans\":[{\"resource\":{},\"scopeSpans\":[{\"spans\":["
                       "{\"name\":\"clean-1\"},{\"name\":\"mail " EMAIL
                       "\"},{\"name\":\"clean-2\"}]}]}]}";

    (void)state;
    tg_arena_init(&a, 0, 0);
    m = tr_decode(&a, TG_SIGNAL_TRACES, json);
    assert_int_equal(tg_rules_classify(pol, m, &a, &c), 0);
    tg_rules_classification_stats(c, &before);
    assert_int_equal(tg_rules_view(c, (size_t)tg_rules_destination_index(pol, "redact"),
                                   &a, NULL, &v1, NULL),
                     0);
    assert_int_equal(tg_rules_view(c, (size_t)tg_rules_destination_index(pol, "pass"), &a,
                                   NULL, &v2, NULL),
                     0);
    tg_rules_classification_stats(c, &after);
    assert_memory_equal(&before, &after, sizeof(before));
    r = (void *)m;
    o = (void *)v1;
    /* the changed span is a copy; the clean ones are the very same objects */
    assert_ptr_not_equal(o, r);
    assert_ptr_equal(o->resource_spans[0]->resource, r->resource_spans[0]->resource);
    assert_ptr_equal(o->resource_spans[0]->scope_spans[0]->spans[0],
                     r->resource_spans[0]->scope_spans[0]->spans[0]);
    assert_ptr_not_equal(o->resource_spans[0]->scope_spans[0]->spans[1],
                         r->resource_spans[0]->scope_spans[0]->spans[1]);
    assert_ptr_equal(o->resource_spans[0]->scope_spans[0]->spans[2],
                     r->resource_spans[0]->scope_spans[0]->spans[2]);
    assert_string_equal(o->resource_spans[0]->scope_spans[0]->spans[1]->name,
                        "mail [REDACTED:pii.email]");
    /* the classified message is untouched */
    assert_string_equal(r->resource_spans[0]->scope_spans[0]->spans[1]->name,
                        "mail " EMAIL);
    assert_ptr_equal(v2, m);
    tg_arena_destroy(&a);
}

static void test_fail_closed_on_limits(void **state)
{
    tg_rules_policy *p =
        tr_policy("limits: {max_depth: 4, match_limit: 1000}\n"
                  "classes:\n"
                  "  t.slow: {detect: {values: [{pattern: '^(a+)+$'}]}}\n"
                  "destinations:\n  d: {actions: {default: pass}}\n");
    tg_arena a;
    tg_rules_classification *c;
    tg_rules_classify_stats st;
    char *out, body[200];
    ProtobufCMessage *m;

    (void)state;
    tg_arena_init(&a, 0, 0);
    /* catastrophic backtracking stops at the match limit: the value is
     * unclassifiable and gets the on_error action (redact), even where
     * every class passes */
    memset(body, 0, sizeof(body));
    memcpy(body, "{\"stringValue\":\"", 16);
    memset(body + 16, 'a', 40);
    memcpy(body + 56, "b\"}", 3);
    m = tr_log(&a, body, "[]");
    assert_int_equal(tg_rules_classify(p, m, &a, &c), 0);
    tg_rules_classification_stats(c, &st);
    assert_int_equal(st.failclosed, 1);
    out = tr_view(p, m, "d", NULL);
    TR_CONTAINS(out, "[REDACTED:rules.unclassifiable]");
    TR_LACKS(out, "aaaa");
    free(out);
    /* nesting deeper than max_depth */
    out = tr_view(p,
                  tr_log(&a,
                         "{\"kvlistValue\":{\"values\":[{\"key\":\"a\",\"value\":{"
                         "\"kvlistValue\":{\"values\":["
                         "{\"key\":\"b\",\"value\":{\"kvlistValue\":{\"values\":[{"
                         "\"key\":\"c\",\"value\":"
                         "{\"kvlistValue\":{\"values\":[{\"key\":\"d\",\"value\":{"
                         "\"kvlistValue\":{\"values\":["
                         "{\"key\":\"e\",\"value\":{\"stringValue\":\"deep "
                         "secret\"}}]}}}]}}}]}}}]}}}]}}",
                         "[]"),
                  "d", NULL);
    TR_LACKS(out, "deep secret");
    TR_CONTAINS(out, "[REDACTED:rules.unclassifiable]");
    free(out);
    tg_arena_destroy(&a);
    tg_rules_policy_unref(p);
}

static void test_unknown_fields_are_stripped(void **state)
{
    tg_arena a;
    ProtobufCMessage *m, *out;
    tg_rules_classification *c;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r, *o;
    ProtobufCMessageUnknownField uf;
    uint8_t data[] = "hidden " EMAIL;
    const char *json = "{\"resourceSpans\":[{\"resource\":{},\"scopeSpans\":[{\"spans\":["
                       "{\"name\":\"a\"}]}]}]}";
    size_t n;
    uint8_t *buf;

    (void)state;
    tg_arena_init(&a, 0, 0);
    m = tr_decode(&a, TG_SIGNAL_TRACES, json);
    r = (void *)m;
    /* a field from a future OTLP that this build does not know */
    uf.tag = 999;
    uf.wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
    uf.len = sizeof(data) - 1;
    uf.data = data;
    r->resource_spans[0]->scope_spans[0]->spans[0]->base.n_unknown_fields = 1;
    r->resource_spans[0]->scope_spans[0]->spans[0]->base.unknown_fields = &uf;
    assert_int_equal(tg_rules_classify(pol, m, &a, &c), 0);
    assert_int_equal(tg_rules_view(c, (size_t)tg_rules_destination_index(pol, "pass"), &a,
                                   NULL, &out, NULL),
                     0);
    o = (void *)out;
    assert_int_equal(
        o->resource_spans[0]->scope_spans[0]->spans[0]->base.n_unknown_fields, 0);
    n = protobuf_c_message_get_packed_size(out);
    buf = tg_arena_alloc(&a, n);
    protobuf_c_message_pack(out, buf);
    assert_null(memmem(buf, n, "leak.me", 7));
    tg_arena_destroy(&a);
}

static void test_persisted_classification_replays(void **state)
{
    tg_arena a, b;
    ProtobufCMessage *m, *m2, *v1, *v2;
    tg_rules_classification *c, *c2;
    uint8_t *blob, *packed;
    size_t blen, plen;
    char *j1, *j2;
    tg_rules_policy *other;
    const char *di = "strict";

    (void)state;
    tg_arena_init(&a, 0, 0);
    tg_arena_init(&b, 0, 0);
    m = tr_decode(&a, TG_SIGNAL_LOGS, all_places_logs);
    assert_int_equal(tg_rules_classify(pol, m, &a, &c), 0);
    assert_int_equal(tg_rules_classification_encode(c, &a, &blob, &blen), 0);
    /* the store keeps the raw request and the classification; later: */
    plen = protobuf_c_message_get_packed_size(m);
    packed = tg_arena_alloc(&a, plen);
    protobuf_c_message_pack(m, packed);
    m2 = protobuf_c_message_unpack(tg_otlp_request_descriptor(TG_SIGNAL_LOGS), &b.pb,
                                   plen, packed);
    assert_non_null(m2);
    assert_int_equal(tg_rules_classification_decode(pol, m2, blob, blen, &b, &c2), 0);
    assert_int_equal(tg_rules_view(c, (size_t)tg_rules_destination_index(pol, di), &a,
                                   NULL, &v1, NULL),
                     0);
    assert_int_equal(tg_rules_view(c2, (size_t)tg_rules_destination_index(pol, di), &b,
                                   NULL, &v2, NULL),
                     0);
    j1 = tg_otlp_json_encode(v1, NULL);
    j2 = tg_otlp_json_encode(v2, NULL);
    assert_string_equal(j1, j2);
    free(j1);
    free(j2);
    /* another policy: the stored classification does not apply */
    other = tr_policy("classes: {x.y: {detect: {keys: [x]}}}\n");
    assert_int_equal(tg_rules_classification_decode(other, m2, blob, blen, &b, &c2),
                     TG_EVERSION);
    tg_rules_policy_unref(other);
    /* garbage is refused */
    blob[blen - 3] ^= 0x7f;
    assert_int_not_equal(tg_rules_classification_decode(pol, m2, blob, blen - 1, &b, &c2),
                         0);
    tg_arena_destroy(&a);
    tg_arena_destroy(&b);
}

typedef struct changes {
    int n;
    int saw_key_rule;
} changes;

static void on_change(void *ctx, const tg_rules_change *ch)
{
    changes *c = ctx;
    c->n++;
    if (!strcmp(
            ch->path,
            "resourceLogs[0].scopeLogs[0].logRecords[0].attributes[\"user.email\"]")) {
        assert_string_equal(ch->class_name, "pii.email");
        assert_string_equal(ch->detector, "key");
        assert_string_equal(ch->rule, "test.yaml:3");
        assert_string_equal(ch->action_rule, "test.yaml:13");
        assert_int_equal(ch->action, TG_RULES_HASH);
        assert_true(ch->result_len > 12 && !strncmp(ch->result, "hmac-sha256:k1:", 15));
        c->saw_key_rule = 1;
    }
    assert_null(strstr(ch->path, "ann@")); /* paths carry keys, never values */
}

static void test_explain_names_class_detector_and_rules(void **state)
{
    tg_arena a;
    tg_rules_classification *c;
    ProtobufCMessage *out;
    tg_rules_view_opts o;
    changes ch = {0, 0};
    uint16_t cls[8];

    (void)state;
    tg_arena_init(&a, 0, 0);
    assert_int_equal(tg_rules_classify(pol,
                                       tr_log(&a, "{\"stringValue\":\"hi\"}",
                                              "[" S("user.email", "ann@example.com") "]"),
                                       &a, &c),
                     0);
    assert_int_equal(tg_rules_classification_classes(c, cls, 8), 1);
    memset(&o, 0, sizeof(o));
    o.explain = on_change;
    o.explain_ctx = &ch;
    assert_int_equal(tg_rules_view(c, (size_t)tg_rules_destination_index(pol, "strict"),
                                   &a, &o, &out, NULL),
                     0);
    assert_true(ch.saw_key_rule);
    tg_arena_destroy(&a);
}

/* What the forwarder's egress tally sees must be what explain reports,
 * class x action, one per change, without the allow_keys drops. */
typedef struct pairs {
    char explained[16][64];
    char tallied[16][64];
    int ne, nt;
} pairs;

static void pair_explain(void *ctx, const tg_rules_change *ch)
{
    pairs *p = ctx;
    if (strcmp(ch->detector, "allow_keys") != 0 && p->ne < 16)
        snprintf(p->explained[p->ne++], 64, "%s/%s", ch->class_name,
                 tg_rules_action_name(ch->action));
}

static void pair_tally(void *ctx, const char *class_name, enum tg_rules_action action)
{
    pairs *p = ctx;
    if (p->nt < 16)
        snprintf(p->tallied[p->nt++], 64, "%s/%s", class_name,
                 tg_rules_action_name(action));
}

static void test_tally_matches_explain(void **state)
{
    tg_arena a;
    tg_rules_classification *c;
    ProtobufCMessage *out;
    tg_rules_view_opts o;
    pairs pr;

    (void)state;
    memset(&pr, 0, sizeof(pr));
    tg_arena_init(&a, 0, 0);
    assert_int_equal(
        tg_rules_classify(pol,
                          tr_log(&a, "{\"stringValue\":\"mail bob@example.org now\"}",
                                 "[" S("user.email", "ann@example.com") "," S(
                                     "note", "card 4111 1111 1111 1111") "]"),
                          &a, &c),
        0);
    memset(&o, 0, sizeof(o));
    o.explain = pair_explain;
    o.explain_ctx = &pr;
    o.tally = pair_tally;
    o.tally_ctx = &pr;
    assert_int_equal(tg_rules_view(c, (size_t)tg_rules_destination_index(pol, "strict"),
                                   &a, &o, &out, NULL),
                     0);
    assert_true(pr.nt >= 2);
    assert_int_equal(pr.ne, pr.nt);
    for (int i = 0; i < pr.nt; i++)
        assert_string_equal(pr.explained[i], pr.tallied[i]);
    /* tally alone gives the same, with no explain callback at all */
    memset(&o, 0, sizeof(o));
    pr.nt = 0;
    o.tally = pair_tally;
    o.tally_ctx = &pr;
    assert_int_equal(tg_rules_view(c, (size_t)tg_rules_destination_index(pol, "strict"),
                                   &a, &o, &out, NULL),
                     0);
    assert_int_equal(pr.ne, pr.nt);
    for (int i = 0; i < pr.nt; i++)
        assert_string_equal(pr.explained[i], pr.tallied[i]);
    tg_arena_destroy(&a);
}

static void test_keys_as_data_and_replace(void **state)
{
    tg_arena a;
    char *out;
    tg_rules_policy *p;
    const char *texts[2] = {
        "classes:\n  t.e: {detect: {keys: [email]}}\ndestinations:\n  d: {actions: "
        "{default: redact}}\n",
        "classes:\n  t.e: {replace: true, detect: {keys: [contact]}}\n"};
    tg_rules_source src[2] = {{"a.yaml", texts[0], strlen(texts[0])},
                              {"b.yaml", texts[1], strlen(texts[1])}};
    tg_rules_diag d;

    (void)state;
    tg_arena_init(&a, 0, 0);
    /* a map keyed by e-mail addresses: the key is transformed */
    out = tr_view(pol,
                  tr_log(&a,
                         "{\"kvlistValue\":{\"values\":[{\"key\":\"ann@example.com\","
                         "\"value\":{\"intValue\":\"3\"}}]}}",
                         "[]"),
                  "redact", NULL);
    TR_LACKS(out, "ann@");
    TR_CONTAINS(out, "{\"key\":\"[REDACTED:pii.email]\",\"value\":{\"intValue\":\"3\"}}");
    free(out);
    /* replace: the earlier detect block no longer applies */
    p = tg_rules_policy_load_sources(src, 2, NULL, &d);
    assert_non_null(p);
    out = tr_view(p,
                  tr_log(&a, "{\"stringValue\":\"x\"}",
                         "[" S("email", "E1") "," S("contact", "C1") "]"),
                  "d", NULL);
    TR_CONTAINS(out, "\"E1\"");
    TR_LACKS(out, "C1");
    free(out);
    tg_rules_policy_unref(p);
    tg_arena_destroy(&a);
}

static void *worker(void *arg)
{
    tg_rules_slot *s = arg;

    for (int i = 0; i < 50; i++) {
        tg_rules_policy *p = tg_rules_slot_acquire(s);
        tg_arena a;
        char *out;
        tg_arena_init(&a, 0, 0);
        out = tr_view(p, tr_log(&a, "{\"stringValue\":\"mail ann@example.com\"}", "[]"),
                      "redact", NULL);
        if (strstr(out, "ann@"))
            abort();
        free(out);
        tg_arena_destroy(&a);
        tg_rules_policy_unref(p);
    }
    return NULL;
}

static void test_threads_share_a_policy_across_swaps(void **state)
{
    tg_rules_slot *s = tg_rules_slot_create(pol);
    pthread_t t[4];

    (void)state;
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, s), 0);
    for (int i = 0; i < 20; i++) {
        tg_rules_policy *p = tr_policy(base_policy);
        tg_rules_slot_swap(s, p);
        tg_rules_policy_unref(p);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    tg_rules_slot_destroy(s);
}

/* The per-request memo of clean values must never change a result: the
 * same value under a different key (a key-scoped detector, a keyword in the
 * key), in another resource (a `when` condition) or in another place type
 * is classified in its own context. Classified with the memo on and off,
 * the encoded classifications are identical byte for byte. */
static void test_value_memo_changes_nothing(void **state)
{
    static const char *policy =
        "classes:\n"
        "  pii.sql: {detect: {values: [{builtin: sql_literal, keys: [db.statement]}]}}\n"
        "  phi.mrn:\n"
        "    detect:\n"
        "      values:\n"
        "        - pattern: '\\b[A-Z]{0,3}-?\\d{6,10}\\b'\n"
        "          keywords: [mrn]\n"
        "          window: 32\n"
        "  pci.billing_ref:\n"
        "    detect:\n"
        "      values: [{pattern: 'REF-[0-9]{4}'}]\n"
        "      when: {service: ['billing*']}\n"
        "  pii.email: {detect: {values: [email]}}\n"
        "destinations:\n"
        "  central: {actions: {default: redact}}\n";
    /* Values repeated under keys that change their meaning. */
    static const char *vals[] = {
        "SELECT * FROM t WHERE name = 'Ann' AND id = 42",
        "patient 12345678 admitted",
        "invoice REF-2024 settled now",
        "a perfectly ordinary status line",
    };
    static const char *keys[] = {"db.statement", "note", "mrn", "message"};
    static const char *services[] = {"billing-api", "shop", "billing-worker"};
    tg_rules_policy *p = tr_policy(policy);
    size_t cap = 1 << 20, n = 0;
    char *json = malloc(cap);
    tg_arena a;
    ProtobufCMessage *m;
    tg_rules_classification *c_on, *c_off;
    tg_rules_classify_stats st;
    uint8_t *e_on, *e_off;
    size_t l_on, l_off;

    (void)state;
    n += (size_t)snprintf(json + n, cap - n, "{\"resourceLogs\":[");
    for (int r = 0; r < 3; r++) {
        n +=
            (size_t)snprintf(json + n, cap - n,
                             "%s{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
                             "\"value\":{\"stringValue\":\"%s\"}}]},\"scopeLogs\":[{"
                             "\"logRecords\":[",
                             r ? "," : "", services[r]);
        for (int i = 0; i < 120; i++) {
            n += (size_t)snprintf(json + n, cap - n,
                                  "%s{\"body\":{\"stringValue\":\"%s\"},\"attributes\":[",
                                  i ? "," : "", vals[(i / 4) % 4]);
            for (int k = 0; k < 4; k++)
                n += (size_t)snprintf(
                    json + n, cap - n,
                    "%s{\"key\":\"%s\",\"value\":{\"stringValue\":\"%s\"}}", k ? "," : "",
                    keys[(k + i) % 4], vals[(k + i / 3) % 4]);
            n += (size_t)snprintf(json + n, cap - n, "]}");
        }
        n += (size_t)snprintf(json + n, cap - n, "]}]}");
    }
    n += (size_t)snprintf(json + n, cap - n, "]}");
    assert_true(n < cap);

    tg_arena_init(&a, 0, 0);
    m = tr_decode(&a, TG_SIGNAL_LOGS, json);
    tg_rules_set_value_memo(1);
    assert_int_equal(tg_rules_classify(p, m, &a, &c_on), 0);
    tg_rules_classification_stats(c_on, &st);
    assert_true(st.bytes_remembered > 0); /* the memo was used */
    assert_true(st.findings > 0);
    tg_rules_set_value_memo(0);
    assert_int_equal(tg_rules_classify(p, m, &a, &c_off), 0);
    tg_rules_set_value_memo(1);
    tg_rules_classification_stats(c_off, &st);
    assert_int_equal(st.bytes_remembered, 0);
    assert_int_equal(tg_rules_classification_encode(c_on, &a, &e_on, &l_on), 0);
    assert_int_equal(tg_rules_classification_encode(c_off, &a, &e_off, &l_off), 0);
    assert_int_equal(l_on, l_off);
    assert_memory_equal(e_on, e_off, l_on);
    tg_arena_destroy(&a);
    free(json);
    tg_rules_policy_unref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_place_a_value_can_hide),
        cmocka_unit_test(test_every_value_type),
        cmocka_unit_test(test_whole_value_ids_at_their_country),
        cmocka_unit_test(test_urls_and_sql),
        cmocka_unit_test(test_resource_conditions),
        cmocka_unit_test(test_allow_list_and_bodies),
        cmocka_unit_test(test_one_classification_many_views_share),
        cmocka_unit_test(test_fail_closed_on_limits),
        cmocka_unit_test(test_unknown_fields_are_stripped),
        cmocka_unit_test(test_persisted_classification_replays),
        cmocka_unit_test(test_explain_names_class_detector_and_rules),
        cmocka_unit_test(test_tally_matches_explain),
        cmocka_unit_test(test_keys_as_data_and_replace),
        cmocka_unit_test(test_threads_share_a_policy_across_swaps),
        cmocka_unit_test(test_value_memo_changes_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
