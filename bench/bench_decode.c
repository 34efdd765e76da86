/* Decode + validate + index throughput for a realistic OTLP traces request.
 *
 * Builds one ExportTraceServiceRequest of 1,000 spans (5 services, 10
 * spans per trace, nine HTTP / DB / model attributes, one event per
 * span, about 550 bytes per span), packs it, then decodes it N times through
 * tg_otlp_decode() + tg_otlp_index_build() with a reused arena, the way
 * the ingest path does. Prints spans/s and MB/s per core (thread CPU
 * time); also JSON for contrast.
 *
 *   bench_decode [iterations [--no-json]]
 *   BENCH_BLOCK=65536 bench_decode   (arena block size, default 8 MiB) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tg_arena.h"
#include "tg_otlp.h"
#include "tg_otlp_json.h"

typedef Opentelemetry__Proto__Trace__V1__Span span_t;

#define NSPANS 1000
#define NSERVICES 5
#define ATTRS_PER_SPAN 9

static tg_otlp_kv *kv_str(const char *k, const char *v)
{
    tg_otlp_kv *kv = malloc(sizeof(*kv));
    tg_otlp_any *av = malloc(sizeof(*av));
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(av);
    av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    av->string_value = strdup(v);
    kv->key = strdup(k);
    kv->value = av;
    return kv;
}

static tg_otlp_kv *kv_int(const char *k, int64_t v)
{
    tg_otlp_kv *kv = kv_str(k, "");
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    kv->value->int_value = v;
    return kv;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fill_rand(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(next_rand() | 1);
}

static span_t *make_span(int i, const uint8_t *trace_id, uint64_t t0)
{
    static const char *routes[] = {"/api/v1/orders/{id}", "/api/v1/checkout",
                                   "/v1/chat/completions",
                                   "/api/v1/patients/{mrn}/records", "/healthz"};
    static const char *stmts[] = {
        "SELECT id, status, total FROM orders WHERE customer_id = $1 AND created_at > $2",
        "UPDATE inventory SET reserved = reserved + $1 WHERE sku = $2",
        "INSERT INTO audit_log (actor, action, ts) VALUES ($1, $2, now())"};
    span_t *sp = malloc(sizeof(*sp));
    char buf[128];
    int a = 0;

    opentelemetry__proto__trace__v1__span__init(sp);
    sp->trace_id.len = 16;
    sp->trace_id.data = malloc(16);
    memcpy(sp->trace_id.data, trace_id, 16);
    sp->span_id.len = 8;
    sp->span_id.data = malloc(8);
    fill_rand(sp->span_id.data, 8);
    if (i % 10) {
        sp->parent_span_id.len = 8;
        sp->parent_span_id.data = malloc(8);
        fill_rand(sp->parent_span_id.data, 8);
    }
    snprintf(buf, sizeof(buf), "%s %s", i % 3 ? "GET" : "POST", routes[i % 5]);
    sp->name = strdup(buf);
    sp->kind = 2 + i % 2;
    sp->start_time_unix_nano = t0 + (uint64_t)i * 1000000;
    sp->end_time_unix_nano =
        sp->start_time_unix_nano + 250000 + (uint64_t)(i % 97) * 1000;
    sp->flags = 0x301;
    sp->n_attributes = ATTRS_PER_SPAN;
    sp->attributes = malloc(ATTRS_PER_SPAN * sizeof(*sp->attributes));
    sp->attributes[a++] = kv_str("http.request.method", i % 3 ? "GET" : "POST");
    sp->attributes[a++] = kv_str("http.route", routes[i % 5]);
    sp->attributes[a++] = kv_int("http.response.status_code", i % 17 ? 200 : 503);
    snprintf(buf, sizeof(buf), "https://shop.example.com%s?session=%08" PRIx64,
             routes[i % 5], next_rand() & 0xffffffff);
    sp->attributes[a++] = kv_str("url.full", buf);
    sp->attributes[a++] = kv_str("db.system", "postgresql");
    sp->attributes[a++] = kv_str("db.query.text", stmts[i % 3]);
    sp->attributes[a++] = kv_str("gen_ai.request.model", "llama-3.1-70b-instruct");
    sp->attributes[a++] = kv_int("gen_ai.usage.input_tokens", 1000 + i % 500);
    snprintf(buf, sizeof(buf), "user-%06d@example.com", i % 1000);
    sp->attributes[a++] = kv_str("enduser.id", buf);

    sp->n_events = 1;
    sp->events = malloc(sizeof(*sp->events));
    sp->events[0] = malloc(sizeof(**sp->events));
    opentelemetry__proto__trace__v1__span__event__init(sp->events[0]);
    sp->events[0]->name = strdup("exception");
    sp->events[0]->time_unix_nano = sp->start_time_unix_nano + 1000;
    sp->events[0]->n_attributes = 1;
    sp->events[0]->attributes = malloc(sizeof(tg_otlp_kv *));
    sp->events[0]->attributes[0] = kv_str("exception.type", "TimeoutError");
    sp->status = malloc(sizeof(*sp->status));
    opentelemetry__proto__trace__v1__status__init(sp->status);
    sp->status->code = i % 17 ? 0 : 2;
    return sp;
}

static uint8_t *build_request(size_t *len)
{
    tg_otlp_traces_req req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    uint64_t t0 = 1700000000000000000ULL;
    uint8_t trace_id[16];
    int s = 0;
    uint8_t *buf;

    req.n_resource_spans = NSERVICES;
    req.resource_spans = malloc(NSERVICES * sizeof(*req.resource_spans));
    for (int r = 0; r < NSERVICES; r++) {
        Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = malloc(sizeof(*rs));
        Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = malloc(sizeof(*ss));
        Opentelemetry__Proto__Resource__V1__Resource *res = malloc(sizeof(*res));
        char name[32];

        opentelemetry__proto__trace__v1__resource_spans__init(rs);
        opentelemetry__proto__trace__v1__scope_spans__init(ss);
        opentelemetry__proto__resource__v1__resource__init(res);
        snprintf(name, sizeof(name), "checkout-%d", r);
        res->n_attributes = 4;
        res->attributes = malloc(4 * sizeof(tg_otlp_kv *));
        res->attributes[0] = kv_str("service.name", name);
        res->attributes[1] = kv_str("deployment.environment", "prod");
        res->attributes[2] = kv_str("cloud.region", "eu-central-1");
        res->attributes[3] = kv_str("host.name", "gpu-node-17.fra.example.com");
        rs->resource = res;
        ss->scope = malloc(sizeof(*ss->scope));
        opentelemetry__proto__common__v1__instrumentation_scope__init(ss->scope);
        ss->scope->name = strdup("io.opentelemetry.http");
        ss->scope->version = strdup("1.32.0");
        ss->n_spans = NSPANS / NSERVICES;
        ss->spans = malloc(ss->n_spans * sizeof(span_t *));
        for (size_t k = 0; k < ss->n_spans; k++, s++) {
            if (s % 10 == 0)
                fill_rand(trace_id, 16);
            ss->spans[k] = make_span(s, trace_id, t0);
        }
        rs->n_scope_spans = 1;
        rs->scope_spans = malloc(sizeof(*rs->scope_spans));
        rs->scope_spans[0] = ss;
        req.resource_spans[r] = rs;
    }
    *len = protobuf_c_message_get_packed_size(&req.base);
    buf = malloc(*len);
    protobuf_c_message_pack(&req.base, buf);
    return buf; /* the builder's small leaks end with the process */
}

/* CPU time of this thread: the machine may be shared, and the figure we
 * want is the cost per core. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double run(enum tg_encoding enc, const uint8_t *body, size_t len, int iters,
                  int with_index)
{
    tg_arena arena;
    char err[256];
    double t;

    /* One block that holds a whole decoded request: tg_arena_reset() keeps
     * the first block, so its pages stay mapped from one request to the
     * next (smaller blocks are freed and faulted in again every time). */
    tg_arena_init(&arena,
                  getenv("BENCH_BLOCK") ? (size_t)strtoul(getenv("BENCH_BLOCK"), NULL, 10)
                                        : 8 << 20,
                  0);
    t = now();
    for (int i = 0; i < iters; i++) {
        tg_otlp_request req;
        tg_otlp_index ix;
        tg_arena_reset(&arena);
        if (tg_otlp_decode(TG_SIGNAL_TRACES, enc, body, len, &arena, &req, err,
                           sizeof(err)) ||
            req.items != NSPANS) {
            fprintf(stderr, "decode failed: %s\n", err);
            exit(1);
        }
        if (with_index && (tg_otlp_index_build(&req, &arena, &ix) ||
                           ix.n_trace_ids != NSPANS / 10 || ix.n_services != NSERVICES)) {
            fprintf(stderr, "index failed\n");
            exit(1);
        }
    }
    t = now() - t;
    tg_arena_destroy(&arena);
    return t;
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 2000;
    size_t len, jlen;
    uint8_t *body = build_request(&len);
    tg_arena arena;
    tg_otlp_request req;
    char err[256], *json;
    double t;

    if (iters <= 0)
        iters = 2000;
    printf("request: %d spans, %zu bytes protobuf (%.0f bytes/span)\n", NSPANS, len,
           (double)len / NSPANS);

    run(TG_ENC_PROTOBUF, body, len, iters / 10 + 1, 1); /* warm up */
    t = run(TG_ENC_PROTOBUF, body, len, iters, 0);
    printf("protobuf decode+validate:        %9.0f spans/s  %7.1f MB/s\n",
           (double)NSPANS * iters / t, (double)len * iters / t / 1e6);
    t = run(TG_ENC_PROTOBUF, body, len, iters, 1);
    printf("protobuf decode+validate+index:  %9.0f spans/s  %7.1f MB/s\n",
           (double)NSPANS * iters / t, (double)len * iters / t / 1e6);

    if (argc > 2 && strcmp(argv[2], "--no-json") == 0) {
        free(body);
        return 0;
    }
    tg_arena_init(&arena, 1 << 20, 0);
    if (tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, body, len, &arena, &req, err,
                       sizeof(err))) {
        fprintf(stderr, "decode failed: %s\n", err);
        return 1;
    }
    json = tg_otlp_json_encode(req.msg, &jlen);
    tg_arena_destroy(&arena);
    if (!json)
        return 1;
    t = run(TG_ENC_JSON, (const uint8_t *)json, jlen, iters / 10 + 1, 1);
    printf("json decode+validate+index:      %9.0f spans/s  %7.1f MB/s  (%zu bytes)\n",
           (double)NSPANS * (iters / 10 + 1) / t,
           (double)jlen * (iters / 10 + 1) / t / 1e6, jlen);
    free(json);
    free(body);
    return 0;
}
