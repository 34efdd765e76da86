/* Actions: what a classified value becomes in a destination's view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "test_rules_util.h"

/* key k1 is RFC 4231 test case 1's key (twenty 0x0b bytes) */
static const char *policy_text =
    "keys:\n"
    "  k1: {hex: 0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b}\n"
    "  k2: {hex: 000102030405060708090a0b0c0d0e0f}\n"
    "default_key: k1\n"
    "classes:\n"
    "  t.secret: {detect: {keys: [s]}}\n"
    "  t.email: {detect: {keys: [mail], values: [email]}}\n"
    "  t.card: {detect: {keys: [card], values: [credit_card]}}\n"
    "  t.ip: {detect: {keys: [ip], values: [ipv4, ipv6]}}\n"
    "  t.num: {detect: {keys: [age, n, when, dob]}}\n"
    "  t.dob: {detect: {values: [date_of_birth]}}\n"
    "  t.note: {redact_text: '<note>', detect: {keys: [note]}}\n"
    "  t.ssn: {detect: {values: [us_ssn]}}\n"
    "  t.digits: {detect: {values: [{pattern: '\\d{3}-\\d{2}'}]}}\n"
    "destinations:\n"
    "  hash1: {actions: {default: hash}}\n"
    "  hash2: {actions: {default: {action: hash, key: k2}}}\n"
    "  mask: {actions: {default: {action: mask, keep_first: 2, keep_last: 3, char: "
    "'#'}}}\n"
    "  mask4: {actions: {default: mask}}\n"
    "  redact: {actions: {default: redact, t.secret: {action: redact, text: 'XXX'}}}\n"
    "  gen: {actions: {default: generalise, t.num: {action: generalise, step: 5}}}\n"
    "  gen16: {actions: {default: {action: generalise, ipv4_prefix: 16, ipv6_prefix: 32, "
    "time_bucket: 1d}}}\n"
    "  drop: {actions: {default: drop}}\n"
    "  keep: {actions: {default: pass, t.card: keep-local}}\n"
    "  keepwhole: {withheld: whole, actions: {default: pass, t.card: keep-local}}\n"
    "  pass: {actions: {default: pass}}\n"
    "  mixed: {actions: {default: pass, t.ssn: drop, t.digits: mask}}\n";

static tg_rules_policy *pol;

static int setup(void **state)
{
    (void)state;
    pol = tr_policy(policy_text);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tg_rules_policy_unref(pol);
    return 0;
}

static char *view_attr(const char *dest, const char *attrs)
{
    tg_arena a;
    char *out;

    tg_arena_init(&a, 0, 0);
    out = tr_view(pol, tr_log(&a, "{\"stringValue\":\"-\"}", attrs), dest, NULL);
    tg_arena_destroy(&a);
    return out;
}

static char *view_body(const char *dest, const char *text)
{
    tg_arena a;
    char body[1024], *out;

    snprintf(body, sizeof(body), "{\"stringValue\":\"%s\"}", text);
    tg_arena_init(&a, 0, 0);
    out = tr_view(pol, tr_log(&a, body, "[]"), dest, NULL);
    tg_arena_destroy(&a);
    return out;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void test_hash_is_hmac_sha256_with_key_id(void **state)
{
    char *out, want[200];

    (void)state;
    /* RFC 4231 test case 1: HMAC-SHA256(0x0b * 20, "Hi There") */
    out =
        view_attr("hash1", "[{\"key\":\"s\",\"value\":{\"stringValue\":\"Hi There\"}}]");
    TR_CONTAINS(out,
                "\"hmac-sha256:k1:"
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7\"");
    TR_LACKS(out, "Hi There");
    free(out);
    /* many values in one view: the keyed context is reused, the digest stays right */
    out = view_attr("hash1", "[{\"key\":\"s\",\"value\":{\"stringValue\":\"Hi There\"}},"
                             "{\"key\":\"s\",\"value\":{\"stringValue\":\"Hi There\"}},"
                             "{\"key\":\"s\",\"value\":{\"stringValue\":\"other\"}},"
                             "{\"key\":\"s\",\"value\":{\"stringValue\":\"Hi There\"}}]");
    {
        const char *want1 =
            "hmac-sha256:k1:"
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
        int count = 0;
        for (const char *q = strstr(out, want1); q; q = strstr(q + 1, want1))
            count++;
        assert_int_equal(count, 3);
    }
    free(out);
    /* the second key: another id, another digest (independently computed) */
    {
        static const unsigned char k2[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                             8, 9, 10, 11, 12, 13, 14, 15};
        unsigned char mac[32];
        unsigned int ml = 0;
        char h[65];
        HMAC(EVP_sha256(), k2, sizeof(k2), (const unsigned char *)"Hi There", 8, mac,
             &ml);
        hex(mac, 32, h);
        snprintf(want, sizeof(want), "\"hmac-sha256:k2:%s\"", h);
    }
    out =
        view_attr("hash2", "[{\"key\":\"s\",\"value\":{\"stringValue\":\"Hi There\"}}]");
    TR_CONTAINS(out, want);
    free(out);
}

static char *extract_hash(const char *json, char *buf)
{
    const char *p = strstr(json, "hmac-sha256:");
    assert_non_null(p);
    memcpy(buf, p, 12 + 3 + 64);
    buf[79] = '\0';
    return buf;
}

static void test_hash_joins_formats_of_one_value(void **state)
{
    char a[80], b[80], c[80], d[80];
    char *o1 = view_body("hash1", "paid 4111 1111 1111 1111"),
         *o2 = view_body("hash1", "paid 4111-1111-1111-1111"),
         *o3 = view_body("hash1", "mail Jane.Doe@Example.com"),
         *o4 = view_attr(
             "hash1",
             "[{\"key\":\"mail\",\"value\":{\"stringValue\":\"jane.doe@example.com\"}}]");

    (void)state;
    /* a card in two layouts, an e-mail in two cases and under a key: joinable */
    assert_string_equal(extract_hash(o1, a), extract_hash(o2, b));
    assert_string_equal(extract_hash(o3, c), extract_hash(o4, d));
    assert_string_not_equal(a, c);
    TR_LACKS(o1, "4111");
    TR_LACKS(o3, "Jane");
    free(o1);
    free(o2);
    free(o3);
    free(o4);
}

static void test_mask_keeps_ends_and_separators(void **state)
{
    char *out;

    (void)state;
    out = view_body("mask", "card 4111 1111 1111 1111 ok");
    TR_CONTAINS(out, "card 41## #### #### #111 ok");
    free(out);
    out = view_body("mask4", "card 4111-1111-1111-1111");
    TR_CONTAINS(out, "card ****-****-****-1111");
    free(out);
    /* a value too short to keep anything is masked whole */
    out = view_attr("mask", "[{\"key\":\"s\",\"value\":{\"stringValue\":\"abcd\"}}]");
    TR_CONTAINS(out, "\"####\"");
    free(out);
    /* multi-byte characters are masked as characters (valid UTF-8 stays) */
    out = view_attr(
        "mask4",
        "[{\"key\":\"s\",\"value\":{\"stringValue\":\"J\xc3\xbcrgen M\xc3\xbcller\"}}]");
    TR_CONTAINS(out, "\"****** **ller\"");
    free(out);
    /* numbers become masked strings */
    out = view_attr("mask4",
                    "[{\"key\":\"card\",\"value\":{\"intValue\":\"4111111111111111\"}}]");
    TR_CONTAINS(out, "\"************1111\"");
    free(out);
}

static void test_redact_texts(void **state)
{
    char *out;

    (void)state;
    out = view_attr("redact",
                    "[{\"key\":\"mail\",\"value\":{\"stringValue\":\"x@example.com\"}},"
                    "{\"key\":\"s\",\"value\":{\"stringValue\":\"pw\"}},"
                    "{\"key\":\"note\",\"value\":{\"boolValue\":true}}]");
    TR_CONTAINS(out, "\"[REDACTED:t.email]\"");
    TR_CONTAINS(out, "\"XXX\"");
    TR_CONTAINS(out, "\"<note>\"");
    TR_LACKS(out, "example.com");
    free(out);
}

static void test_generalise(void **state)
{
    char *out;

    (void)state;
    out = view_body("gen",
                    "from 203.0.113.42 and 2001:db8:abcd:12::1, mail a.b@Example.ORG, "
                    "dob 1985-03-12");
    TR_CONTAINS(
        out, "from 203.0.113.0/24 and 2001:db8:abcd::/48, mail *@example.org, dob 1985");
    free(out);
    out = view_body("gen16", "from 203.0.113.42 and 2001:db8:abcd:12::1");
    TR_CONTAINS(out, "from 203.0.0.0/16 and 2001:db8::/32");
    free(out);
    out = view_attr("gen",
                    "[{\"key\":\"age\",\"value\":{\"intValue\":\"37\"}},"
                    "{\"key\":\"n\",\"value\":{\"stringValue\":\"12345\"}},"
                    "{\"key\":\"ip\",\"value\":{\"stringValue\":\"198.51.100.7\"}}]");
    TR_CONTAINS(out, "\"35-39\""); /* step 5 */
    TR_CONTAINS(out, "\"12345-12349\"");
    TR_CONTAINS(out, "\"198.51.100.0/24\"");
    free(out);
    out = view_attr(
        "gen16",
        "[{\"key\":\"n\",\"value\":{\"intValue\":\"37\"}},"
        "{\"key\":\"when\",\"value\":{\"stringValue\":\"2024-03-05T14:23:11Z\"}}]");
    TR_CONTAINS(out, "\"30-39\""); /* by magnitude */
    TR_CONTAINS(out, "\"2024-03-05\"");
    free(out);
    out = view_attr(
        "gen",
        "[{\"key\":\"when\",\"value\":{\"stringValue\":\"2024-03-05T14:23:11.5Z\"}}]");
    TR_CONTAINS(out, "\"2024-03-05T14:00:00Z\"");
    free(out);
    /* nothing to generalise: redacted, never passed */
    out = view_attr("gen",
                    "[{\"key\":\"s\",\"value\":{\"stringValue\":\"opaque secret\"}}]");
    TR_CONTAINS(out, "\"[REDACTED:t.secret]\"");
    free(out);
}

static void test_drop_removes_fields_and_text(void **state)
{
    tg_arena a;
    tg_rules_view_stats st;
    char *out;

    (void)state;
    out = view_attr("drop",
                    "[{\"key\":\"mail\",\"value\":{\"stringValue\":\"x@example.com\"}},"
                    "{\"key\":\"other\",\"value\":{\"stringValue\":\"kept\"}}]");
    TR_LACKS(out, "\"mail\"");
    TR_LACKS(out, "example.com");
    TR_CONTAINS(out, "\"kept\"");
    free(out);
    out = view_body("drop", "write to x@example.com today");
    TR_CONTAINS(out, "\"write to  today\"");
    free(out);
    /* a body that was nothing but the dropped value goes */
    tg_arena_init(&a, 0, 0);
    out = tr_view(pol, tr_log(&a, "{\"stringValue\":\"x@example.com\"}", "[]"), "drop",
                  &st);
    TR_LACKS(out, "\"body\"");
    assert_int_equal(st.changed, 1);
    tg_arena_destroy(&a);
    free(out);
}

static void test_keep_local_withholds_the_record(void **state)
{
    tg_arena a;
    tg_rules_view_stats st;
    char *out;
    const char *json =
        "{\"resourceLogs\":[{\"resource\":{},\"scopeLogs\":[{\"logRecords\":["
        "{\"timeUnixNano\":\"1700000000000000000\",\"severityNumber\":17,"
        "\"severityText\":\"card-desk\",\"traceId\":\"0af7651916cd43dd8448eb211c80319c\","
        "\"body\":{\"stringValue\":\"card 4111111111111111\"},"
        "\"attributes\":[{\"key\":\"clerk\",\"value\":{\"stringValue\":\"ann\"}}]},"
        "{\"body\":{\"stringValue\":\"clean\"}}]}]}]}";
    const char *only =
        "{\"resourceLogs\":[{\"resource\":{},\"scopeLogs\":[{\"logRecords\":["
        "{\"body\":{\"stringValue\":\"card 4111111111111111\"}}]}]}]}";

    (void)state;
    tg_arena_init(&a, 0, 0);
    /* By default the record leaves as a skeleton: time, severity number,
     * trace id and the classes; its values, body and attributes stay. */
    out = tr_view(pol, tr_decode(&a, TG_SIGNAL_LOGS, json), "keep", &st);
    TR_LACKS(out, "4111");
    TR_LACKS(out, "card-desk");
    TR_LACKS(out, "ann");
    TR_CONTAINS(out, "\"clean\"");
    TR_CONTAINS(out, "\"body\":{\"stringValue\":\"<withheld: t.card>\"}");
    TR_CONTAINS(out,
                "{\"key\":\"tollgate.withheld\",\"value\":{\"stringValue\":\"t.card\"}}");
    TR_CONTAINS(out, "\"timeUnixNano\":\"1700000000000000000\"");
    TR_CONTAINS(out, "\"severityNumber\":17");
    TR_CONTAINS(out, "\"traceId\":\"0af7651916cd43dd8448eb211c80319c\"");
    assert_int_equal(st.withheld, 1);
    free(out);
    /* `withheld: whole` asks for the old behaviour: the record goes, and
     * containers it empties go too. */
    out = tr_view(pol, tr_decode(&a, TG_SIGNAL_LOGS, json), "keepwhole", &st);
    TR_LACKS(out, "4111");
    TR_LACKS(out, "withheld");
    TR_CONTAINS(out, "\"clean\"");
    assert_int_equal(st.withheld, 1);
    free(out);
    out = tr_view(pol, tr_decode(&a, TG_SIGNAL_LOGS, only), "keepwhole", &st);
    assert_string_equal(out, "{}");
    free(out);
    tg_arena_destroy(&a);
}

/* A span of a keep-local class leaves as a skeleton: ids, parent, kind,
 * times and status code, never its name, attributes, events or status
 * message. A resource of that class makes every span under it one. */
static void test_keep_local_span_skeleton(void **state)
{
    tg_arena a;
    tg_rules_view_stats st;
    char *out;
    const char *json =
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"pay\"}}]},\"scopeSpans\":[{\"spans\":["
        "{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":"
        "\"b7ad6b7169203331\","
        "\"parentSpanId\":\"00f067aa0ba902b7\",\"name\":\"charge 4111111111111111\","
        "\"kind\":3,\"startTimeUnixNano\":\"1000\",\"endTimeUnixNano\":\"2000\","
        "\"attributes\":[{\"key\":\"clerk\",\"value\":{\"stringValue\":\"ann\"}}],"
        "\"events\":[{\"name\":\"retry\",\"timeUnixNano\":\"1500\"}],"
        "\"status\":{\"code\":2,\"message\":\"declined for ann\"}}]}]}]}";
    const char *res =
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"card\","
        "\"value\":{\"stringValue\":\"4111111111111111\"}},{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"pay\"}}]},\"scopeSpans\":[{\"spans\":["
        "{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":"
        "\"b7ad6b7169203331\","
        "\"name\":\"GET /\",\"kind\":2,\"startTimeUnixNano\":\"1000\","
        "\"endTimeUnixNano\":\"2000\"}]}]}]}";

    (void)state;
    tg_arena_init(&a, 0, 0);
    out = tr_view(pol, tr_decode(&a, TG_SIGNAL_TRACES, json), "keep", &st);
    TR_LACKS(out, "4111");
    TR_LACKS(out, "ann");
    TR_LACKS(out, "retry");
    TR_CONTAINS(out, "\"spanId\":\"b7ad6b7169203331\"");
    TR_CONTAINS(out, "\"parentSpanId\":\"00f067aa0ba902b7\"");
    TR_CONTAINS(out, "\"kind\":3");
    TR_CONTAINS(out, "\"startTimeUnixNano\":\"1000\"");
    TR_CONTAINS(out, "\"endTimeUnixNano\":\"2000\"");
    TR_CONTAINS(out, "\"status\":{\"code\":2}");
    TR_CONTAINS(out, "\"tollgate.withheld\"");
    TR_CONTAINS(out, "\"stringValue\":\"pay\""); /* the resource was clean */
    assert_int_equal(st.withheld, 1);
    free(out);

    out = tr_view(pol, tr_decode(&a, TG_SIGNAL_TRACES, res), "keep", &st);
    TR_LACKS(out, "4111");
    TR_LACKS(out, "GET /");
    TR_CONTAINS(out, "\"spanId\":\"b7ad6b7169203331\"");
    TR_CONTAINS(out,
                "{\"key\":\"tollgate.withheld\",\"value\":{\"stringValue\":\"t.card\"}}");
    free(out);
    tg_arena_destroy(&a);
}

static void test_overlaps_take_the_strictest(void **state)
{
    char *out;

    (void)state;
    /* "536-22-1834": an SSN (drop) overlapping a 3-2 digits pattern (mask):
     * the union leaves as the stricter action */
    out = view_body("mixed", "ssn 536-22-1834 and 123-45 here");
    TR_LACKS(out, "536");
    TR_LACKS(out, "1834");
    TR_CONTAINS(out, "ssn  and *23-45 here");
    free(out);
}

static void test_pass_leaves_unchanged(void **state)
{
    char *out;

    (void)state;
    out = view_body("pass", "mail x@example.com card 4111111111111111");
    TR_CONTAINS(out, "mail x@example.com card 4111111111111111");
    free(out);
}

typedef struct count_acc {
    uint64_t hash_email, mask_card, other;
} count_acc;

static void count_cb(void *ctx, const char *dest, const char *cls, const char *action,
                     uint64_t n)
{
    count_acc *c = ctx;
    if (!strcmp(dest, "d") && !strcmp(cls, "t.email") && !strcmp(action, "hash"))
        c->hash_email += n;
    else if (!strcmp(dest, "d") && !strcmp(cls, "t.card") && !strcmp(action, "mask"))
        c->mask_card += n;
    else
        c->other += n;
}

static void test_counts_per_class_action_destination(void **state)
{
    tg_rules_policy *p =
        tr_policy("keys: {k: {hex: 00112233445566778899aabbccddeeff}}\n"
                  "classes:\n  t.email: {detect: {values: [email]}}\n"
                  "  t.card: {detect: {values: [credit_card]}}\n"
                  "destinations:\n  d: {actions: {t.email: hash, t.card: mask}}\n");
    tg_rules_policy *q = tr_policy("classes:\n  t.email: {detect: {values: [email]}}\n"
                                   "destinations:\n  d: {actions: {default: redact}}\n");
    count_acc c = {0, 0, 0};
    tg_arena a;

    (void)state;
    tg_arena_init(&a, 0, 0);
    for (int i = 0; i < 3; i++) {
        char *out = tr_view(
            p,
            tr_log(&a,
                   "{\"stringValue\":\"a@example.com b@example.com 4111111111111111\"}",
                   "[]"),
            "d", NULL);
        free(out);
    }
    tg_arena_destroy(&a);
    tg_rules_counts_foreach(p, count_cb, &c);
    assert_int_equal(c.hash_email, 6);
    assert_int_equal(c.mask_card, 3);
    assert_int_equal(c.other, 0);
    /* a reload carries the counters over by name */
    memset(&c, 0, sizeof(c));
    tg_rules_counts_inherit(q, p);
    tg_rules_counts_foreach(q, count_cb, &c);
    assert_int_equal(c.hash_email, 6);
    assert_int_equal(c.mask_card, 0); /* t.card does not exist in q */
    tg_rules_policy_unref(p);
    tg_rules_policy_unref(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_is_hmac_sha256_with_key_id),
        cmocka_unit_test(test_hash_joins_formats_of_one_value),
        cmocka_unit_test(test_mask_keeps_ends_and_separators),
        cmocka_unit_test(test_redact_texts),
        cmocka_unit_test(test_generalise),
        cmocka_unit_test(test_drop_removes_fields_and_text),
        cmocka_unit_test(test_keep_local_withholds_the_record),
        cmocka_unit_test(test_keep_local_span_skeleton),
        cmocka_unit_test(test_overlaps_take_the_strictest),
        cmocka_unit_test(test_pass_leaves_unchanged),
        cmocka_unit_test(test_counts_per_class_action_destination),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
