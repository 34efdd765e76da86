/* Fuzz target: the rules policy parser and compiler.
 *
 * The input is a policy file (no includes or key files: no filesystem). A
 * policy that loads is then used: a fixed request is classified and every
 * destination's view built, so whatever the parser accepted must also be
 * safe to run. A policy that fails must say where. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_otlp.h"
#include "tg_rules.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static ProtobufCMessage *sample(tg_arena *a)
{
    static Opentelemetry__Proto__Common__V1__AnyValue body, v1, v2;
    static Opentelemetry__Proto__Common__V1__KeyValue kv1, kv2, *kvs[2];
    static Opentelemetry__Proto__Logs__V1__LogRecord lr, *lrs[1];
    static Opentelemetry__Proto__Logs__V1__ScopeLogs sl, *sls[1];
    static Opentelemetry__Proto__Logs__V1__ResourceLogs rl, *rls[1];
    static tg_otlp_logs_req req;

    (void)a;
    opentelemetry__proto__common__v1__any_value__init(&body);
    body.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    body.string_value = "user bob@example.com card 4111 1111 1111 1111 ip 203.0.113.9 "
                        "GET /a?token=abc&email=x%40y.com ssn 536-22-1834";
    opentelemetry__proto__common__v1__any_value__init(&v1);
    v1.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v1.string_value = "SELECT * FROM t WHERE a = 'x' AND b = 42";
    opentelemetry__proto__common__v1__any_value__init(&v2);
    v2.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v2.int_value = 4111111111111111LL;
    opentelemetry__proto__common__v1__key_value__init(&kv1);
    kv1.key = "db.statement";
    kv1.value = &v1;
    opentelemetry__proto__common__v1__key_value__init(&kv2);
    kv2.key = "user.email";
    kv2.value = &v2;
    kvs[0] = &kv1;
    kvs[1] = &kv2;
    opentelemetry__proto__logs__v1__log_record__init(&lr);
    lr.body = &body;
    lr.n_attributes = 2;
    lr.attributes = kvs;
    lrs[0] = &lr;
    opentelemetry__proto__logs__v1__scope_logs__init(&sl);
    sl.n_log_records = 1;
    sl.log_records = lrs;
    sls[0] = &sl;
    opentelemetry__proto__logs__v1__resource_logs__init(&rl);
    rl.n_scope_logs = 1;
    rl.scope_logs = sls;
    rls[0] = &rl;
    opentelemetry__proto__collector__logs__v1__export_logs_service_request__init(&req);
    req.n_resource_logs = 1;
    req.resource_logs = rls;
    return &req.base;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_rules_source src = {"fuzz.yaml", (const char *)data, size};
    tg_rules_options opt;
    tg_rules_diag d;
    tg_rules_policy *p;
    tg_arena a;
    tg_rules_classification *c;

    memset(&opt, 0, sizeof(opt));
    opt.no_filesystem = 1;
    p = tg_rules_policy_load_sources(&src, 1, &opt, &d);
    if (!p) {
        check(d.message[0] != '\0', "a refused policy says why");
        check(!strcmp(d.file, "fuzz.yaml") || !d.file[0], "and where");
        return 0;
    }
    check(!strncmp(tg_rules_policy_version(p), "sha256:", 7), "a version");
    tg_arena_init(&a, 64 * 1024, 64u << 20);
    if (tg_rules_classify(p, sample(&a), &a, &c) == 0) {
        for (size_t i = 0; i < tg_rules_n_destinations(p); i++) {
            ProtobufCMessage *out;
            if (tg_rules_view(c, i, &a, NULL, &out, NULL) == 0) {
                size_t n = protobuf_c_message_get_packed_size(out);
                uint8_t *buf = tg_arena_alloc(&a, n ? n : 1);
                check(buf != NULL, "arena");
                check(protobuf_c_message_pack(out, buf) == n, "a view packs");
            }
        }
    }
    tg_arena_destroy(&a);
    tg_rules_policy_unref(p);
    return 0;
}
