/* Helpers shared by the rules engine's unit tests: policies from text,
 * OTLP requests from OTLP/JSON, views back to compact JSON. Include after
 * cmocka.h. */
#ifndef TEST_RULES_UTIL_H
#define TEST_RULES_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "tg_otlp.h"
#include "tg_otlp_json.h"
#include "tg_rules.h"

static inline tg_rules_policy *tr_policy(const char *yaml)
{
    tg_rules_source src = {"test.yaml", yaml, strlen(yaml)};
    tg_rules_options opt;
    tg_rules_diag d;
    tg_rules_policy *p;

    memset(&opt, 0, sizeof(opt));
    opt.no_filesystem = 1;
    p = tg_rules_policy_load_sources(&src, 1, &opt, &d);
    if (!p)
        fail_msg("policy: %s:%u:%u: %s", d.file, d.line, d.column, d.message);
    return p;
}

/* 1 if `needle` occurs anywhere in the n bytes at `hay` (packed protobuf
 * included): the byte-for-byte leak check. */
static inline int tr_contains(const void *hay, size_t n, const char *needle)
{
    const unsigned char *h = hay;
    size_t m = strlen(needle);

    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(h + i, needle, m))
            return 1;
    return 0;
}

static inline ProtobufCMessage *tr_decode(tg_arena *a, enum tg_signal sig,
                                          const char *json)
{
    char err[256];
    ProtobufCMessage *m = tg_otlp_json_decode(tg_otlp_request_descriptor(sig), json,
                                              strlen(json), a, err, sizeof(err));
    if (!m)
        fail_msg("OTLP/JSON: %s", err);
    return m;
}

/* The view of `msg` for destination `dest` as compact OTLP/JSON (malloc'd). */
static inline char *tr_view(const tg_rules_policy *p, const ProtobufCMessage *msg,
                            const char *dest, tg_rules_view_stats *st)
{
    tg_arena a;
    tg_rules_classification *c;
    ProtobufCMessage *out;
    int di = tg_rules_destination_index(p, dest);
    char *json;

    assert_true(di >= 0);
    tg_arena_init(&a, 0, 0);
    assert_int_equal(tg_rules_classify(p, msg, &a, &c), 0);
    assert_int_equal(tg_rules_view(c, (size_t)di, &a, NULL, &out, st), 0);
    json = tg_otlp_json_encode(out, NULL);
    assert_non_null(json);
    tg_arena_destroy(&a);
    return json;
}

/* One log record with `body` (an OTLP/JSON AnyValue) and attributes (a JSON
 * array of KeyValue, may be "[]"), as a logs request. */
static inline ProtobufCMessage *tr_log(tg_arena *a, const char *body, const char *attrs)
{
    size_t n = strlen(body) + strlen(attrs) + 256;
    char *json = malloc(n);
    ProtobufCMessage *m;

    snprintf(
        json, n,
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"svc\"}}]},\"scopeLogs\":[{\"logRecords\":[{"
        "\"body\":%s,"
        "\"attributes\":%s}]}]}]}",
        body, attrs);
    m = tr_decode(a, TG_SIGNAL_LOGS, json);
    free(json);
    return m;
}

#define TR_CONTAINS(hay, needle)                                                         \
    do {                                                                                 \
        if (!strstr((hay), (needle)))                                                    \
            fail_msg("expected to find\n  %s\nin\n  %s", (needle), (hay));               \
    } while (0)

#define TR_LACKS(hay, needle)                                                            \
    do {                                                                                 \
        if (strstr((hay), (needle)))                                                     \
            fail_msg("did not expect\n  %s\nin\n  %s", (needle), (hay));                 \
    } while (0)

#endif
