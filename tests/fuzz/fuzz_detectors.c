/* Fuzz target: every built-in detector (and a custom pattern) over
 * arbitrary bytes, through the real engine.
 *
 * The input becomes a log body string, an attribute key and a bytes value
 * of one request. Invariants: classification succeeds or fails cleanly; a
 * view that passes everything is the request itself unless a value was
 * unclassifiable (then it is redacted even there: fail closed); views
 * pack. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"
#include "tg_otlp.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static tg_rules_policy *policy(void)
{
    static tg_rules_policy *p;
    char text[8192];
    size_t off = 0;
    tg_rules_source src;
    tg_rules_diag d;

    if (p)
        return p;
    off += (size_t)snprintf(text + off, sizeof(text) - off,
                            "limits: {match_limit: 20000}\n"
                            "classes:\n  t.all:\n    detect:\n      keys: ['*secret*']\n"
                            "      values: [{pattern: '(a|b+)+c', keywords: [zz]}, ");
    for (size_t i = 0; i < tg_n_detectors; i++)
        off += (size_t)snprintf(text + off, sizeof(text) - off, "%s%s", i ? ", " : "",
                                tg_detectors[i]->name);
    snprintf(text + off, sizeof(text) - off,
             "]\ndestinations:\n  pass: {actions: {default: pass}}\n"
             "  redact: {actions: {default: redact}}\n"
             "  mask: {actions: {default: {action: mask, keep_first: 1, keep_last: 1}}}\n"
             "  gen: {actions: {default: generalise}}\n");
    src.name = "fuzz.yaml";
    src.text = text;
    src.len = strlen(text);
    p = tg_rules_policy_load_sources(&src, 1, NULL, &d);
    check(p != NULL, "the fuzz policy loads");
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_rules_policy *p = policy();
    char *text = malloc(size + 1);
    tg_otlp_any body = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT,
                bytes = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    tg_otlp_kv kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT, *kvs[1] = {&kv};
    Opentelemetry__Proto__Logs__V1__LogRecord
        lr = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT,
        *lrs[1] = {&lr};
    Opentelemetry__Proto__Logs__V1__ScopeLogs
        sl = OPENTELEMETRY__PROTO__LOGS__V1__SCOPE_LOGS__INIT,
        *sls[1] = {&sl};
    Opentelemetry__Proto__Logs__V1__ResourceLogs
        rl = OPENTELEMETRY__PROTO__LOGS__V1__RESOURCE_LOGS__INIT,
        *rls[1] = {&rl};
    tg_otlp_logs_req req =
        OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT;
    tg_arena a;
    tg_rules_classification *c;

    check(text != NULL, "malloc");
    /* strings end at a NUL in protobuf-c: keep the bytes before one */
    memcpy(text, data, size);
    text[size] = '\0';
    body.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    body.string_value = text;
    bytes.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
    bytes.bytes_value.data = (uint8_t *)data;
    bytes.bytes_value.len = size;
    kv.key = text;
    kv.value = &bytes;
    lr.body = &body;
    lr.n_attributes = 1;
    lr.attributes = kvs;
    sl.n_log_records = 1;
    sl.log_records = lrs;
    rl.n_scope_logs = 1;
    rl.scope_logs = sls;
    req.n_resource_logs = 1;
    req.resource_logs = rls;

    tg_arena_init(&a, 64 * 1024, 256u << 20);
    if (tg_rules_classify(p, &req.base, &a, &c) == 0) {
        tg_rules_classify_stats st;
        tg_rules_classification_stats(c, &st);
        for (size_t d = 0; d < tg_rules_n_destinations(p); d++) {
            ProtobufCMessage *out;
            size_t n;
            uint8_t *buf;
            check(tg_rules_view(c, d, &a, NULL, &out, NULL) == 0, "views succeed");
            if (d == 0)
                check((out == &req.base) == (st.failclosed == 0),
                      "pass-all shares the request unless something was unclassifiable");
            n = protobuf_c_message_get_packed_size(out);
            buf = tg_arena_alloc(&a, n ? n : 1);
            check(buf && protobuf_c_message_pack(out, buf) == n, "a view packs");
        }
    }
    tg_arena_destroy(&a);
    free(text);
    return 0;
}
