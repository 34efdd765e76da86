/* Every built-in detector against its corpus (tests/data/detectors/NAME.txt):
 * true positives must be found exactly where marked, near misses not at all.
 * The detector runs through the real engine: a one-class policy, a log
 * record whose body is the corpus line, and a view that redacts the class. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules_int.h"
#include "tg_otlp.h"

#define MARK "<<X>>"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

static tg_rules_policy *one_detector_policy(const char *name)
{
    char text[512];
    tg_rules_source src;
    tg_rules_diag d;
    tg_rules_policy *p;

    snprintf(text, sizeof(text),
             "version: 1\n"
             "classes:\n"
             "  t.x:\n"
             "    detect:\n"
             "      values: [{builtin: %s}]\n"
             "destinations:\n"
             "  d:\n"
             "    actions: {default: {action: redact, text: \"" MARK "\"}}\n",
             name);
    src.name = "corpus.yaml";
    src.text = text;
    src.len = strlen(text);
    p = tg_rules_policy_load_sources(&src, 1, NULL, &d);
    if (!p)
        fail_msg("policy for %s: %s", name, d.message);
    return p;
}

/* Runs `body` through classification and the view; returns the body that
 * leaves (malloc'd) or NULL if it was removed. */
static char *view_body(const tg_rules_policy *p, const char *body)
{
    tg_arena a;
    tg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    Opentelemetry__Proto__Logs__V1__LogRecord lr =
        OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
    Opentelemetry__Proto__Logs__V1__LogRecord *lrs[1] = {&lr};
    Opentelemetry__Proto__Logs__V1__ScopeLogs sl =
        OPENTELEMETRY__PROTO__LOGS__V1__SCOPE_LOGS__INIT;
    Opentelemetry__Proto__Logs__V1__ScopeLogs *sls[1] = {&sl};
    Opentelemetry__Proto__Logs__V1__ResourceLogs rl =
        OPENTELEMETRY__PROTO__LOGS__V1__RESOURCE_LOGS__INIT;
    Opentelemetry__Proto__Logs__V1__ResourceLogs *rls[1] = {&rl};
    tg_otlp_logs_req req =
        OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT;
    tg_rules_classification *c;
    ProtobufCMessage *out;
    tg_otlp_logs_req *o;
    char *res = NULL;

    v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v.string_value = (char *)body;
    lr.body = &v;
    sl.n_log_records = 1;
    sl.log_records = lrs;
    rl.n_scope_logs = 1;
    rl.scope_logs = sls;
    req.n_resource_logs = 1;
    req.resource_logs = rls;
    tg_arena_init(&a, 0, 0);
    assert_int_equal(tg_rules_classify(p, &req.base, &a, &c), 0);
    assert_int_equal(tg_rules_view(c, 0, &a, NULL, &out, NULL), 0);
    o = (tg_otlp_logs_req *)out;
    if (o->n_resource_logs && o->resource_logs[0]->n_scope_logs &&
        o->resource_logs[0]->scope_logs[0]->n_log_records &&
        o->resource_logs[0]->scope_logs[0]->log_records[0]->body) {
        const tg_otlp_any *b = o->resource_logs[0]->scope_logs[0]->log_records[0]->body;
        res = strdup(b->string_value);
    }
    tg_arena_destroy(&a);
    return res;
}

/* "\n" in a corpus line is a newline. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] == 'n') {
            *w++ = '\n';
            r++;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* input: the line without markers; expected: marked spans replaced. */
static void split_marks(const char *line, char *input, char *expected, size_t cap)
{
    size_t i = 0, o = 0;
    int in = 0;

    while (*line && i + 1 < cap && o + sizeof(MARK) < cap) {
        if (!strncmp(line, "[[", 2)) {
            in = 1;
            memcpy(expected + o, MARK, strlen(MARK));
            o += strlen(MARK);
            line += 2;
        } else if (!strncmp(line, "]]", 2) && in) {
            in = 0;
            line += 2;
        } else {
            input[i++] = *line;
            if (!in)
                expected[o++] = *line;
            line++;
        }
    }
    input[i] = expected[o] = '\0';
}

static unsigned failures;

static void run_corpus(const tg_detector *det, unsigned *npos, unsigned *nneg)
{
    char path[1024], *text, *line, *next;
    tg_rules_policy *p = one_detector_policy(det->name);

    snprintf(path, sizeof(path), "%s/tests/data/detectors/%s.txt", TG_SOURCE_DIR,
             det->name);
    text = read_file(path);
    if (!text)
        fail_msg("no corpus for detector %s (%s)", det->name, path);
    *npos = *nneg = 0;
    for (line = text; line && *line; line = next) {
        char input[4096], expected[4096], *got;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (line[0] == '#' || !line[0])
            continue;
        if ((line[0] != '+' && line[0] != '-') || line[1] != ' ')
            fail_msg("%s: bad corpus line: %s", det->name, line);
        unescape(line + 2);
        split_marks(line + 2, input, expected, sizeof(input));
        got = view_body(p, input);
        if (line[0] == '+') {
            (*npos)++;
            if (!got || strcmp(got, expected)) {
                print_error("%s: true positive not found as marked\n  line: %s\n  want: "
                            "%s\n  got:  %s\n",
                            det->name, line + 2, expected, got ? got : "(removed)");
                failures++;
            }
        } else {
            (*nneg)++;
            if (!got || strcmp(got, input)) {
                print_error("%s: near miss was matched\n  line: %s\n  got:  %s\n",
                            det->name, input, got ? got : "(removed)");
                failures++;
            }
        }
        free(got);
    }
    free(text);
    tg_rules_policy_unref(p);
}

static void test_every_detector_passes_its_corpus(void **state)
{
    unsigned total_pos = 0, total_neg = 0;

    (void)state;
    for (size_t i = 0; i < tg_n_detectors; i++) {
        unsigned np, nn;
        run_corpus(tg_detectors[i], &np, &nn);
        if (np < 3 || nn < 3)
            fail_msg("%s: corpus needs at least 3 true positives and 3 near misses (has "
                     "%u, %u)",
                     tg_detectors[i]->name, np, nn);
        total_pos += np;
        total_neg += nn;
    }
    print_message("%zu detectors, %u true positives, %u near misses\n", tg_n_detectors,
                  total_pos, total_neg);
    assert_int_equal(failures, 0);
}

static void test_at_least_fifty_documented_detectors(void **state)
{
    (void)state;
    assert_true(tg_n_detectors >= 50);
    for (size_t i = 0; i < tg_n_detectors; i++) {
        const tg_detector *d = tg_detectors[i];
        assert_non_null(d->match);
        assert_true(d->summary && d->summary[0]);
        assert_non_null(d->validator);
        assert_int_equal(tg_detector_find(d->name), (int)i);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(d->name, tg_detectors[j]->name);
    }
}

static void test_checksum_helpers(void **state)
{
    (void)state;
    assert_true(tg_luhn_ok("4111111111111111", 16));
    assert_false(tg_luhn_ok("4111111111111112", 16));
    assert_true(tg_verhoeff_ok("2363", 4));
    assert_false(tg_verhoeff_ok("2364", 4));
    assert_true(tg_iban_mod97_ok("DE89370400440532013000", 22));
    assert_false(tg_iban_mod97_ok("DE89370400440532013001", 22));
    assert_true(tg_date_ok(2000, 2, 29));
    assert_false(tg_date_ok(1900, 2, 29));
    assert_false(tg_date_ok(2023, 4, 31));
}

/* Clean text must not trip any detector: prose, paths, ids, timestamps. */
static void test_clean_telemetry_has_no_findings(void **state)
{
    static const char *const clean[] = {
        "GET /api/v1/orders/{id} returned 200 in 35ms",
        "span checkout.process completed; retries=3 queue=payments-high",
        "trace 5b8efff798038103d269b633813fc60c span eee19b7ec3c1b174",
        "2024-03-05T14:23:11.512Z INFO worker-7 processed batch 1842 (1000 items) in "
        "1.73s",
        "k8s pod checkout-7d9f8b6c5d-x2k4p on node ip-10-0-1-17.ec2.internal restarted",
        "request_id=550e8400-e29b-41d4-a716-446655440000 status=ok bytes=18234",
        "SELECT id, total FROM orders WHERE customer_id = $1 AND created_at > $2",
        "java.lang.NullPointerException at "
        "com.example.CheckoutService.process(CheckoutService.java:142)",
        "model gpt-4o-mini tokens in=1532 out=211 latency_ms=842 finish_reason=stop",
        "version 1.2.3 build 20240305 commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
    };
    char text[8192];
    size_t off = 0;
    tg_rules_source src;
    tg_rules_diag d;
    tg_rules_policy *p;

    (void)state;
    off += (size_t)snprintf(text + off, sizeof(text) - off,
                            "version: 1\nclasses:\n  t.x:\n    detect:\n      values: [");
    for (size_t i = 0; i < tg_n_detectors; i++)
        if (strcmp(tg_detectors[i]->name, "sql_literal")) /* literals are its point */
            off += (size_t)snprintf(text + off, sizeof(text) - off, "%s%s", i ? ", " : "",
                                    tg_detectors[i]->name);
    snprintf(text + off, sizeof(text) - off,
             "]\ndestinations:\n  d:\n    actions: {default: redact}\n");
    src.name = "all.yaml";
    src.text = text;
    src.len = strlen(text);
    p = tg_rules_policy_load_sources(&src, 1, NULL, &d);
    if (!p)
        fail_msg("%s:%u:%u: %s", d.file, d.line, d.column, d.message);
    for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++) {
        char *got = view_body(p, clean[i]);
        if (!got || strcmp(got, clean[i]))
            fail_msg("clean text changed:\n  in:  %s\n  out: %s", clean[i],
                     got ? got : "(removed)");
        free(got);
    }
    tg_rules_policy_unref(p);
}

/* The generic secret detector is statistical: most random tokens must be
 * caught, and identifier-like text must not be. */
static void test_generic_secret_rates(void **state)
{
    static const char b62[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    static const char *const words[] = {"get",  "User",    "Profile", "Settings",
                                        "v2",   "Order",   "Service", "Handler",
                                        "Impl", "Factory", "Bean",    "3"};
    tg_rules_policy *p = one_detector_policy("generic_secret");
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    unsigned caught = 0, false_pos = 0;

    (void)state;
    for (int t = 0; t < 400; t++) {
        char tok[40], line[64], *got;
        for (int i = 0; i < 32; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            tok[i] = b62[x % 62];
        }
        tok[32] = '\0';
        snprintf(line, sizeof(line), "key %s", tok);
        got = view_body(p, line);
        caught += got && !strcmp(got, "key " MARK);
        free(got);
    }
    for (int t = 0; t < 400; t++) {
        char line[256] = "";
        size_t off = 0;
        char *got;
        for (int w = 0; w < 6; w++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            off += (size_t)snprintf(line + off, sizeof(line) - off, "%s", words[x % 12]);
        }
        got = view_body(p, line);
        false_pos += !got || strcmp(got, line) != 0;
        free(got);
    }
    print_message(
        "generic_secret: %u/400 random tokens caught, %u/400 identifiers flagged\n",
        caught, false_pos);
    assert_true(caught >= 380);
    assert_true(false_pos <= 8);
    tg_rules_policy_unref(p);
}

/* The documented keyword rule: words, not substrings; separators in keys. */
static void test_keywords_are_words(void **state)
{
    static const char *const kw[] = {"tel", "social security", "birth"};
    static const uint8_t len[] = {3, 15, 5};
    static const struct {
        const char *text;
        int found;
    } cases[] = {
        {"tel: ", 1},          {"user.tel", 1},
        {"userTel", 1},        {"TEL", 1},
        {"tels", 1},           {"otel.duration_ns", 0},
        {"hotel", 0},          {"telemetry", 0},
        {"HOTEL", 0},          {"social_security", 1},
        {"socialSecurity", 1}, {"social-security", 1},
        {"birthdate", 1},      {"rebirth", 0},
        {"x2tel", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (tg_keywords_in(kw, len, 3, cases[i].text, strlen(cases[i].text)) !=
            cases[i].found)
            fail_msg("keyword rule wrong for \"%s\"", cases[i].text);
    /* bytes before `from` decide the word start only */
    assert_false(tg_keywords_from(kw, len, 3, "hotel", 5, 2));
    assert_true(tg_keywords_from(kw, len, 3, "a tel", 5, 2));
}

/* Percent-encoded URLs: paths as well as queries, nested encodings; the
 * shaped match is encoded again. */
static void test_url_values_decoded(void **state)
{
    static const struct {
        const char *det, *in, *want;
    } cases[] = {
        {"iban", "GET /accounts/DE89%203704%200044%200532%200130%2000/statements",
         "GET /accounts/%3C%3CX%3E%3E/statements"},
        {"email", "/users/ann%2540example.org/orders", "/users/%3C%3CX%3E%3E/orders"},
        {"email", "/users/ann%252540example.org/x", "/users/%3C%3CX%3E%3E/x"},
        {"credit_card", "/pay/4111%2D1111%2D1111%2D1111?x=1", "/pay/%3C%3CX%3E%3E?x=1"},
        /* four rounds: beyond the bound, left as it is */
        {"email", "/u/ann%25252540example.org", "/u/ann%25252540example.org"},
        {"iban", "/files/report%20final%202024.pdf", "/files/report%20final%202024.pdf"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tg_rules_policy *p = one_detector_policy(cases[i].det);
        char *got = view_body(p, cases[i].in);
        if (!got || strcmp(got, cases[i].want))
            fail_msg("%s: %s\n  want %s\n  got  %s", cases[i].det, cases[i].in,
                     cases[i].want, got ? got : "(removed)");
        free(got);
        tg_rules_policy_unref(p);
    }
}

/* The site's region (or the `phone.region` hint) lets a national number
 * written with its trunk prefix count without a keyword. */
static void test_phone_region(void **state)
{
    static const char *const texts[] = {
        "version: 1\nsite: {jurisdiction: {country: DE}}\n",
        "version: 1\nsite: {jurisdiction: {country: FR}}\nphone: {region: DE}\n",
    };
    char text[1024];

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        tg_rules_source src;
        tg_rules_diag d;
        tg_rules_policy *p;
        char *got;

        snprintf(text, sizeof(text),
                 "%sclasses:\n  t.x:\n    detect:\n      values: [phone_national]\n"
                 "destinations:\n  d:\n    actions: {default: {action: redact, text: "
                 "\"" MARK "\"}}\n",
                 texts[i]);
        src.name = "region.yaml";
        src.text = text;
        src.len = strlen(text);
        p = tg_rules_policy_load_sources(&src, 1, NULL, &d);
        if (!p)
            fail_msg("%s", d.message);
        got = view_body(p, "call back (0174) 1234567 today");
        assert_string_equal(got, "call back " MARK " today");
        free(got);
        got = view_body(p, "order 0174/1234567 shipped");
        assert_string_equal(got, "order " MARK " shipped");
        free(got);
        /* not a German number: stays */
        got = view_body(p, "ref (0000) 1234567");
        assert_string_equal(got, "ref (0000) 1234567");
        free(got);
        /* a bare run still needs a keyword */
        got = view_body(p, "took 01741234567 ns");
        assert_string_equal(got, "took 01741234567 ns");
        free(got);
        tg_rules_policy_unref(p);
    }
    {
        tg_rules_source src = {.name = "bad.yaml",
                               .text = "version: 1\nphone: {region: XY}\n"};
        tg_rules_diag d;
        src.len = strlen(src.text);
        assert_null(tg_rules_policy_load_sources(&src, 1, NULL, &d));
        assert_non_null(strstr(d.message, "phone region"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_at_least_fifty_documented_detectors),
        cmocka_unit_test(test_checksum_helpers),
        cmocka_unit_test(test_every_detector_passes_its_corpus),
        cmocka_unit_test(test_clean_telemetry_has_no_findings),
        cmocka_unit_test(test_generic_secret_rates),
        cmocka_unit_test(test_keywords_are_words),
        cmocka_unit_test(test_url_values_decoded),
        cmocka_unit_test(test_phone_region),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
