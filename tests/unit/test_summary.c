/* The built-in fail-closed view and the summariser: what a batch holds for
 * given OTLP requests, and that nothing the view removed leaves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "tg_err.h"
#include "tg_fwd_config.h"
#include "tg_otlp.h"
#include "tg_otlp_json.h"
#include "tg_summary.h"
#include "tg_view.h"
#include "tg_wire.h"

#define T0 "1700000000000000000"

static const char traces_json[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
    "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"checkout\"}},"
    "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"db-host-secret-7\"}}]},"
    "\"scopeSpans\":[{\"spans\":["
    "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\","
    "\"name\":\"POST /pay/4111111111111111\",\"kind\":2,\"startTimeUnixNano\":\"" T0 "\","
    "\"endTimeUnixNano\":\"1700000000250000000\",\"status\":{\"code\":2,\"message\":"
    "\"card 4111111111111111\"},"
    "\"attributes\":[{\"key\":\"http.route\",\"value\":{\"stringValue\":\"/pay\"}},"
    "{\"key\":\"user.email\",\"value\":{\"stringValue\":\"alice@example.com\"}},"
    "{\"key\":\"gen_ai.usage.input_tokens\",\"value\":{\"intValue\":\"1200\"}},"
    "{\"key\":\"gen_ai.usage.output_tokens\",\"value\":{\"intValue\":\"300\"}},"
    "{\"key\":\"http.route\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":"
    "\"bob@example.com\"}]}}}],"
    "\"events\":[{\"name\":\"exception\",\"attributes\":[{\"key\":\"exception.message\","
    "\"value\":{\"stringValue\":\"alice@example.com\"}}]}]},"
    "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b175\","
    "\"parentSpanId\":\"eee19b7ec3c1b174\",\"name\":\"POST "
    "/pay/5500000000000004\",\"kind\":2,"
    "\"startTimeUnixNano\":\"1700000000300000000\",\"endTimeUnixNano\":"
    "\"1700000000310000000\"}"
    "]}]},"
    "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
    "\"ledger\"}}]},"
    "\"scopeSpans\":[{\"spans\":[{\"traceId\":\"5b8efff798038103d269b633813fc60c\","
    "\"spanId\":\"aaa19b7ec3c1b175\",\"name\":\"INSERT\",\"kind\":3,"
    "\"startTimeUnixNano\":\"" T0 "\",\"endTimeUnixNano\":\"1700000000002000000\"}]}]}]}";

static const char logs_json[] =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "\"value\":"
    "{\"stringValue\":\"checkout\"}}]},\"scopeLogs\":[{\"logRecords\":["
    "{\"timeUnixNano\":\"" T0 "\",\"severityNumber\":17,\"body\":{\"stringValue\":"
    "\"payment failed for alice@example.com amount 12.50\"}},"
    "{\"timeUnixNano\":\"1700000001000000000\",\"severityNumber\":18,\"body\":{"
    "\"stringValue\":\"payment failed for bob@example.org amount 3.10\"}},"
    "{\"timeUnixNano\":\"1700000002000000000\",\"severityNumber\":9,\"body\":{"
    "\"kvlistValue\":{\"values\":[{\"key\":\"ssn\",\"value\":{\"stringValue\":\"078-05-"
    "1120\"}}]}}}"
    "]}]}]}";

static ProtobufCMessage *decode(enum tg_signal sig, const char *json, tg_arena *a)
{
    char err[256];
    ProtobufCMessage *m = tg_otlp_json_decode(tg_otlp_request_descriptor(sig), json,
                                              strlen(json), a, err, sizeof(err));
    if (!m)
        fail_msg("fixture does not decode: %s", err);
    return m;
}

/* Packs the built batch and returns it decoded again, times absolute. */
static Tollgate__V1__Batch *roundtrip(tg_summarizer *s, tg_arena *a, uint8_t **zbytes,
                                      size_t *zlen)
{
    Tollgate__V1__Batch b = TOLLGATE__V1__BATCH__INIT, *out;
    size_t raw;

    b.site = "fra";
    b.sequence = 1;
    assert_int_equal(tg_summarizer_build(s, &b, 1800000000000000000ull), 0);
    assert_int_equal(tg_wire_pack_batch(&b, 2, 1, zbytes, zlen, &raw), 0);
    assert_int_equal(tg_wire_unpack_batch(*zbytes, *zlen, 1 << 24, a, &out, NULL), 0);
    return out;
}

static const Tollgate__V1__CostRecord *cost(const Tollgate__V1__Batch *b, const char *svc,
                                            const char *meter)
{
    for (size_t i = 0; i < b->n_costs; i++)
        if (strcmp(b->costs[i]->service, svc) == 0 &&
            strcmp(b->costs[i]->meter, meter) == 0)
            return b->costs[i];
    return NULL;
}

static int contains(const uint8_t *p, size_t n, const char *needle)
{
    return memmem(p, n, needle, strlen(needle)) != NULL;
}

static void test_traces(void **state)
{
    tg_forward_config cfg;
    tg_summarizer *s;
    tg_arena a, b2;
    tg_egress_tally t;
    ProtobufCMessage *raw, *view;
    Tollgate__V1__Batch *b;
    uint8_t *z, *packed;
    size_t zlen, plen;
    tg_summary_counts c;

    (void)state;
    tg_forward_config_defaults(&cfg);
    s = tg_summarizer_create(&cfg);
    tg_arena_init(&a, 64 * 1024, 0);
    tg_arena_init(&b2, 64 * 1024, 0);
    tg_egress_tally_reset(&t);
    raw = decode(TG_SIGNAL_TRACES, traces_json, &a);
    assert_int_equal(
        tg_view_allowlist_fn(NULL, TG_SIGNAL_TRACES, raw, NULL, 0, &a, &view, &t), 0);
    assert_int_equal(tg_summarizer_add(s, TG_SIGNAL_TRACES, raw, view, 900, 100,
                                       1800000000000000000ull),
                     0);
    tg_summarizer_counts(s, &c);
    assert_int_equal(c.spans, 3);
    assert_int_equal(c.red, 2); /* both card numbers template to one operation */

    b = roundtrip(s, &b2, &z, &zlen);
    assert_int_equal(b->n_spans, 2);
    assert_string_equal(b->spans[0]->service, "checkout");
    assert_int_equal(b->spans[0]->n_spans, 2);
    {
        const Tollgate__V1__SpanSummary *sp = b->spans[0]->spans[0];
        assert_string_equal(sp->name, "POST /pay/<num>");
        assert_int_equal(sp->start_time_unix_nano, 1700000000000000000ull);
        assert_int_equal(sp->duration_ns, 250000000ull);
        assert_int_equal(sp->status_code, 2);
        assert_int_equal(sp->kind, 2);
        /* http.route (string) and the token counts pass; the e-mail and the
         * array-valued duplicate do not. */
        assert_int_equal(sp->n_attributes, 3);
        assert_string_equal(sp->attributes[0]->key, "http.route");
        assert_string_equal(sp->attributes[0]->string_value, "/pay");
        assert_int_equal(b->spans[0]->spans[1]->parent_span_id.len, 8);
    }
    {
        const Tollgate__V1__RedRecord *r = b->red[0];
        assert_string_equal(r->service, "checkout");
        assert_string_equal(r->operation, "POST /pay/<num>");
        assert_int_equal(r->requests, 2);
        assert_int_equal(r->errors, 1);
        assert_int_equal(r->minute_unix, 1700000000 / 60 * 60);
        assert_int_equal(r->latency_seconds->count, 2);
        assert_true(fabs(r->latency_seconds->sum - 0.26) < 1e-9);
    }
    /* Costs: tokens from the span, ingest volume split by spans per service. */
    assert_non_null(cost(b, "checkout", "gen_ai-input-tokens"));
    assert_true(cost(b, "checkout", "gen_ai-input-tokens")->consumed_quantity == 1200);
    assert_true(cost(b, "checkout", "gen_ai-output-tokens")->consumed_quantity == 300);
    assert_true(fabs(cost(b, "checkout", "telemetry-ingested")->consumed_quantity - 600) <
                1e-6);
    assert_true(fabs(cost(b, "ledger", "telemetry-ingested")->consumed_quantity - 300) <
                1e-6);
    assert_true(fabs(cost(b, "ledger", "telemetry-stored")->consumed_quantity -
                     100.0 / 3) < 1e-6);
    /* Metered pricing: 0.09 per GB forwarded etc.; billed == effective. */
    {
        const Tollgate__V1__CostRecord *cr = cost(b, "checkout", "telemetry-stored");
        assert_true(cr->billed_cost == cr->effective_cost);
        assert_string_equal(cr->cost_model, "metered");
        assert_string_equal(cr->charge_category, "Usage");
    }

    /* Byte for byte: no raw regulated value in what leaves. */
    plen = zlen;
    packed = z;
    {
        uint8_t *rawb;
        size_t rl;
        tg_arena_reset(&b2);
        assert_int_equal(tg_zstd_decompress(packed, plen, 1 << 24, &b2, &rawb, &rl), 0);
        assert_false(contains(rawb, rl, "alice@example.com"));
        assert_false(contains(rawb, rl, "bob@example.com"));
        assert_false(contains(rawb, rl, "4111111111111111"));
        assert_false(contains(rawb, rl, "5500000000000004"));
        assert_false(contains(rawb, rl, "db-host-secret-7"));
        assert_true(contains(rawb, rl, "checkout"));
    }
    /* The tally counted what the view did. */
    {
        uint64_t drop = 0, gen = 0;
        for (size_t i = 0; i < t.n; i++) {
            if (!strcmp(t.e[i].action, "drop"))
                drop = t.e[i].count;
            if (!strcmp(t.e[i].action, "generalise"))
                gen = t.e[i].count;
        }
        assert_true(drop >=
                    4); /* host.name, user.email, the array, the event, status msg */
        assert_true(gen >= 2); /* two span names */
    }
    free(z);
    /* After accounting, the next period carries the forwarded volume. */
    tg_summarizer_account_forwarded(s, 1000, 1800000000000000000ull);
    tg_summarizer_clear(s);
    tg_summarizer_counts(s, &c);
    assert_int_equal(c.spans, 0);
    assert_int_equal(c.costs, 2);
    tg_arena_reset(&b2);
    b = roundtrip(s, &b2, &z, &zlen);
    assert_true(fabs(cost(b, "checkout", "telemetry-forwarded")->consumed_quantity +
                     cost(b, "ledger", "telemetry-forwarded")->consumed_quantity - 1000) <
                1e-6);
    free(z);
    tg_arena_destroy(&a);
    tg_arena_destroy(&b2);
    tg_summarizer_destroy(s);
}

/* Distinct span names as stored and as sent: the view's templates shrink
 * the second (the default view templates the request in place, so the raw
 * request here is a second decode). */
static void test_name_cardinality(void **state)
{
    tg_forward_config cfg;
    tg_summarizer *s;
    tg_arena a;
    tg_egress_tally t;
    ProtobufCMessage *raw, *view, *in;
    tg_summary_counts c;
    size_t held;

    (void)state;
    tg_forward_config_defaults(&cfg);
    s = tg_summarizer_create(&cfg);
    tg_arena_init(&a, 64 * 1024, 0);
    tg_egress_tally_reset(&t);
    raw = decode(TG_SIGNAL_TRACES, traces_json, &a);
    in = decode(TG_SIGNAL_TRACES, traces_json, &a);
    assert_int_equal(
        tg_view_allowlist_fn(NULL, TG_SIGNAL_TRACES, in, NULL, 0, &a, &view, &t), 0);
    assert_int_equal(tg_summarizer_add(s, TG_SIGNAL_TRACES, raw, view, 900, 100,
                                       1800000000000000000ull),
                     0);
    tg_summarizer_counts(s, &c);
    assert_int_equal(c.names_raw, 3); /* two card paths and INSERT */
    assert_int_equal(c.names_sent, 2);
    /* the memory figure covers the period's arena and its tables */
    held = tg_summarizer_memory(s);
    assert_true(held > 256 * 1024);
    for (int i = 0; i < 200; i++)
        assert_int_equal(tg_summarizer_add(s, TG_SIGNAL_TRACES, raw, view, 900, 100,
                                           1800000000000000000ull),
                         0);
    assert_true(tg_summarizer_memory(s) > held);
    tg_summarizer_clear(s);
    tg_summarizer_counts(s, &c);
    assert_int_equal(c.names_raw, 0);
    tg_summarizer_destroy(s);
    tg_arena_destroy(&a);
}

static void test_logs(void **state)
{
    tg_forward_config cfg;
    tg_summarizer *s;
    tg_arena a, b2;
    ProtobufCMessage *raw, *view;
    Tollgate__V1__Batch *b;
    uint8_t *z, *rawb;
    size_t zlen, rl;

    (void)state;
    tg_forward_config_defaults(&cfg);
    s = tg_summarizer_create(&cfg);
    tg_arena_init(&a, 64 * 1024, 0);
    tg_arena_init(&b2, 64 * 1024, 0);
    raw = decode(TG_SIGNAL_LOGS, logs_json, &a);
    assert_int_equal(
        tg_view_allowlist_fn(NULL, TG_SIGNAL_LOGS, raw, NULL, 0, &a, &view, NULL), 0);
    assert_int_equal(tg_summarizer_add(s, TG_SIGNAL_LOGS, raw, view, 500, 0, 1), 0);
    b = roundtrip(s, &b2, &z, &zlen);
    assert_int_equal(b->n_logs, 2);
    assert_string_equal(b->logs[0]->template_, "payment failed for <email> amount <num>");
    assert_int_equal(b->logs[0]->count, 2); /* 17 and 18 are both ERROR */
    assert_int_equal(b->logs[0]->severity_number, 17);
    assert_string_equal(b->logs[1]->template_, "<structured>");
    assert_int_equal(b->logs[1]->severity_number, 9);
    assert_int_equal(b->n_spans, 0);
    assert_int_equal(tg_zstd_decompress(z, zlen, 1 << 24, &b2, &rawb, &rl), 0);
    assert_false(contains(rawb, rl, "alice@"));
    assert_false(contains(rawb, rl, "078-05-1120"));
    free(z);
    tg_arena_destroy(&a);
    tg_arena_destroy(&b2);
    tg_summarizer_destroy(s);
}

static char *metrics_json(double cpu, const char *t, double util)
{
    static char buf[4096];
    snprintf(
        buf, sizeof(buf),
        "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"trainer\"}}]},\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"process_cpu_seconds_total\",\"sum\":{\"aggregationTemporality\":2,"
        "\"isMonotonic\":true,\"dataPoints\":[{\"startTimeUnixNano\":"
        "\"1900000000000000000\","
        "\"timeUnixNano\":\"%s\",\"asDouble\":%g,\"attributes\":[{\"key\":\"method\","
        "\"value\":{\"stringValue\":\"GET\"}},{\"key\":\"user\",\"value\":{"
        "\"stringValue\":"
        "\"carol@example.com\"}}]}]}},"
        "{\"name\":\"DCGM_FI_DEV_GPU_UTIL\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":"
        "\"%s\",\"asDouble\":%g,\"attributes\":[{\"key\":\"gpu\",\"value\":{"
        "\"stringValue\":\"0\"}}]}]}}"
        "]}]}]}",
        t, cpu, t, util);
    return buf;
}

static void test_metrics_mapping_and_cost(void **state)
{
    tg_forward_config cfg;
    tg_summarizer *s;
    tg_arena a, b2;
    ProtobufCMessage *raw, *view;
    Tollgate__V1__Batch *b;
    uint8_t *z;
    size_t zlen;
    char err[256];
    static const char conf[] = "forward:\n"
                               "  metrics:\n"
                               "    rename:\n"
                               "      - {from: \"DCGM_*\", to: \"nvidia.dcgm.\"}\n"
                               "  cost:\n"
                               "    model: amortised\n"
                               "    currency: EUR\n"
                               "    provider: internal-it\n"
                               "    amortised:\n"
                               "      capex: 876000\n"
                               "      lifetime_years: 1\n"
                               "      gpus: 10\n"
                               "      cpus: 20\n"
                               "      gpu_share: 0.8\n";
    static const char *const extra[] = {"gpu"};
    tg_view_allowlist al = {extra, 1}; /* a site that lets the GPU index out */

    (void)state;
    tg_forward_config_defaults(&cfg);
    assert_int_equal(tg_forward_config_load_buffer("t.yaml", conf, strlen(conf),
                                                   "forward", &cfg, err, sizeof(err)),
                     0);
    /* 876000 over 8760 h = 100/h; GPUs get 80 of it over 10 GPUs. */
    assert_true(fabs(tg_cost_hourly(&cfg.cost) - 100) < 1e-9);
    s = tg_summarizer_create(&cfg);
    tg_arena_init(&a, 64 * 1024, 0);
    tg_arena_init(&b2, 64 * 1024, 0);
    /* Summariser created "before" the counters started (start time 1.9e18
     * is after the first add's clock, 1.89e18): the first sample counts. */
    raw = decode(TG_SIGNAL_METRICS, metrics_json(10, "1900000010000000000", 50), &a);
    assert_int_equal(
        tg_view_allowlist_fn(&al, TG_SIGNAL_METRICS, raw, NULL, 0, &a, &view, NULL), 0);
    assert_int_equal(tg_summarizer_add(s, TG_SIGNAL_METRICS, raw, view, 100, 0,
                                       1890000000000000000ull),
                     0);
    tg_arena_reset(&a);
    raw = decode(TG_SIGNAL_METRICS, metrics_json(13.5, "1900000020000000000", 50), &a);
    assert_int_equal(
        tg_view_allowlist_fn(&al, TG_SIGNAL_METRICS, raw, NULL, 0, &a, &view, NULL), 0);
    assert_int_equal(tg_summarizer_add(s, TG_SIGNAL_METRICS, raw, view, 100, 0,
                                       1890000000000000000ull),
                     0);
    b = roundtrip(s, &b2, &z, &zlen);
    assert_int_equal(b->n_metrics, 4);
    assert_string_equal(b->metrics[0]->name, "process.cpu.time");
    assert_string_equal(b->metrics[0]->unit, "s");
    assert_int_equal(b->metrics[0]->n_labels, 1); /* "user" is not on the allow-list */
    assert_string_equal(b->metrics[0]->labels[0]->key, "http.request.method");
    assert_string_equal(b->metrics[1]->name, "nvidia.dcgm.FI_DEV_GPU_UTIL");
    assert_string_equal(b->metrics[1]->labels[0]->key, "hw.id");
    assert_int_equal(b->metrics[0]->time_unix_nano, 1900000010000000000ull);
    {
        const Tollgate__V1__CostRecord *cpu = cost(b, "trainer", "cpu-seconds");
        const Tollgate__V1__CostRecord *gpu = cost(b, "trainer", "gpu-seconds");
        assert_non_null(cpu);
        assert_non_null(gpu);
        assert_true(fabs(cpu->consumed_quantity - 13.5) < 1e-9); /* 10, then +3.5 */
        assert_true(fabs(gpu->consumed_quantity - 5.0) < 1e-9);  /* 50% over 10 s */
        /* GPU-hour = 100 * 0.8 / 10 = 8 EUR; 5 s of it. */
        assert_true(fabs(gpu->list_unit_price - 8.0) < 1e-9);
        assert_true(fabs(gpu->effective_cost - 8.0 * 5 / 3600) < 1e-12);
        assert_true(gpu->billed_cost == 0); /* amortised usage is not invoiced */
        assert_string_equal(gpu->currency, "EUR");
        assert_string_equal(gpu->cost_model, "amortised");
        assert_string_equal(gpu->pricing_unit, "GPU-hour");
        /* CPU-hour = 100 * 0.2 / 20 = 1 EUR. */
        assert_true(fabs(cpu->list_unit_price - 1.0) < 1e-9);
    }
    free(z);
    tg_arena_destroy(&a);
    tg_arena_destroy(&b2);
    tg_summarizer_destroy(s);
}

/* A view that withholds the service name: cost records must not name it. */
static int hide_service(void *ctx, enum tg_signal sig, ProtobufCMessage *in,
                        const void *cls, tg_arena *arena, ProtobufCMessage **out,
                        tg_egress_tally *t)
{
    tg_otlp_traces_req *r = (tg_otlp_traces_req *)in;
    (void)ctx;
    (void)cls;
    (void)sig;
    (void)t;
    tg_view_allowlist_fn(NULL, TG_SIGNAL_TRACES, in, NULL, 0, arena, out, NULL);
    for (size_t i = 0; i < r->n_resource_spans; i++)
        if (r->resource_spans[i]->resource)
            r->resource_spans[i]->resource->n_attributes = 0;
    return 0;
}

static void test_cost_names_follow_the_view(void **state)
{
    tg_forward_config cfg;
    tg_summarizer *s;
    tg_arena a, b2;
    ProtobufCMessage *raw, *view;
    Tollgate__V1__Batch *b;
    uint8_t *z, *rawb;
    size_t zlen, rl;
    ProtobufCMessage *copy;

    (void)state;
    tg_forward_config_defaults(&cfg);
    s = tg_summarizer_create(&cfg);
    tg_arena_init(&a, 64 * 1024, 0);
    tg_arena_init(&b2, 64 * 1024, 0);
    raw = decode(TG_SIGNAL_TRACES, traces_json, &a);
    copy = decode(TG_SIGNAL_TRACES, traces_json, &a); /* the view works on its own copy */
    assert_int_equal(hide_service(NULL, TG_SIGNAL_TRACES, copy, NULL, &a, &view, NULL),
                     0);
    assert_int_equal(tg_summarizer_add(s, TG_SIGNAL_TRACES, raw, view, 900, 0, 1), 0);
    b = roundtrip(s, &b2, &z, &zlen);
    assert_non_null(cost(b, "unattributed", "gen_ai-input-tokens"));
    assert_null(cost(b, "checkout", "gen_ai-input-tokens"));
    tg_arena_reset(&b2);
    assert_int_equal(tg_zstd_decompress(z, zlen, 1 << 24, &b2, &rawb, &rl), 0);
    assert_false(contains(rawb, rl, "checkout"));
    assert_false(contains(rawb, rl, "ledger"));
    free(z);
    tg_arena_destroy(&a);
    tg_arena_destroy(&b2);
    tg_summarizer_destroy(s);
}

/* A span of the GenAI conventions, with a model, a run and (on its
 * resource) a team; the built-in view passes the model only. */
static const char genai_json[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
    "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"chat\"}},"
    "{\"key\":\"team\",\"value\":{\"stringValue\":\"web\"}}]},"
    "\"scopeSpans\":[{\"spans\":[{\"traceId\":\"5b8efff798038103d269b633813fc60c\","
    "\"spanId\":\"eee19b7ec3c1b174\",\"name\":\"chat\",\"kind\":3,"
    "\"startTimeUnixNano\":\"" T0 "\",\"endTimeUnixNano\":\"1700000000250000000\","
    "\"attributes\":["
    "{\"key\":\"gen_ai.request.model\",\"value\":{\"stringValue\":\"gpt-x\"}},"
    "{\"key\":\"ml.run.id\",\"value\":{\"stringValue\":\"run-secret-9\"}},"
    "{\"key\":\"gen_ai.usage.input_tokens\",\"value\":{\"intValue\":\"700\"}}]}]}]}]}";

static void test_cost_dimensions_follow_the_view(void **state)
{
    tg_forward_config cfg;
    tg_summarizer *s;
    tg_arena a, b2;
    ProtobufCMessage *raw, *view;
    Tollgate__V1__Batch *b;
    const Tollgate__V1__CostRecord *c;
    tg_egress_tally t;
    uint8_t *z, *rawb;
    size_t zlen, rl;

    (void)state;
    for (int allow_team = 0; allow_team < 2; allow_team++) {
        static const char *const extra[] = {"team"};
        tg_view_allowlist al = {extra, (size_t)allow_team};
        tg_forward_config_defaults(&cfg);
        s = tg_summarizer_create(&cfg);
        tg_arena_init(&a, 64 * 1024, 0);
        tg_arena_init(&b2, 64 * 1024, 0);
        tg_egress_tally_reset(&t);
        raw = decode(TG_SIGNAL_TRACES, genai_json, &a);
        assert_int_equal(tg_view_allowlist_fn(&al, TG_SIGNAL_TRACES,
                                              decode(TG_SIGNAL_TRACES, genai_json, &a),
                                              NULL, 0, &a, &view, &t),
                         0);
        assert_int_equal(tg_summarizer_add(s, TG_SIGNAL_TRACES, raw, view, 900, 0, 1), 0);
        b = roundtrip(s, &b2, &z, &zlen);
        c = cost(b, "chat", "gen_ai-input-tokens");
        assert_non_null(c);
        assert_true(c->consumed_quantity == 700);
        assert_string_equal(c->model, "gpt-x");
        assert_string_equal(c->run, ""); /* the view withholds ml.run.id */
        assert_string_equal(c->team, allow_team ? "web" : "");
        c = cost(b, "chat", "gen_ai-requests");
        assert_non_null(c);
        assert_true(c->consumed_quantity == 1);
        assert_true(c->effective_cost == 0);
        tg_arena_reset(&b2);
        assert_int_equal(tg_zstd_decompress(z, zlen, 1 << 24, &b2, &rawb, &rl), 0);
        assert_false(contains(rawb, rl, "run-secret-9"));
        free(z);
        tg_arena_destroy(&a);
        tg_arena_destroy(&b2);
        tg_summarizer_destroy(s);
    }
}

/* span_resource_keys: a model version set on the resource travels on each
 * span summary of it, when the view let it through, and a span's own
 * attribute of that key wins; a resource key the view removed does not
 * travel. (The built-in view templates a value with six digits or more,
 * so a calendar version such as 2026.11.3 would leave as "<num>".) */
static const char versioned_json[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
    "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"scorer\"}},"
    "{\"key\":\"ml.model.version\",\"value\":{\"stringValue\":\"r3.1\"}},"
    "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"db-host-secret-7\"}}]},"
    "\"scopeSpans\":[{\"spans\":["
    "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\","
    "\"name\":\"predict\",\"kind\":2,\"startTimeUnixNano\":\"" T0 "\","
    "\"endTimeUnixNano\":\"1700000000250000000\",\"attributes\":["
    "{\"key\":\"gen_ai.request.model\",\"value\":{\"stringValue\":\"fraud\"}}]},"
    "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b175\","
    "\"name\":\"predict\",\"kind\":2,\"startTimeUnixNano\":\"" T0 "\","
    "\"endTimeUnixNano\":\"1700000000250000000\",\"attributes\":["
    "{\"key\":\"ml.model.version\",\"value\":{\"stringValue\":\"r3.0\"}}]}"
    "]}]}]}";

static const char *span_attr(const Tollgate__V1__SpanSummary *sp, const char *key)
{
    for (size_t i = 0; i < sp->n_attributes; i++)
        if (strcmp(sp->attributes[i]->key, key) == 0)
            return sp->attributes[i]->string_value;
    return NULL;
}

static void test_span_resource_keys(void **state)
{
    tg_forward_config cfg;
    tg_summarizer *s;
    tg_arena a, b2;
    tg_egress_tally t;
    ProtobufCMessage *raw, *view;
    Tollgate__V1__Batch *b;
    uint8_t *z;
    size_t zlen;

    (void)state;
    tg_forward_config_defaults(&cfg);
    snprintf(cfg.span_resource_keys[0], sizeof(cfg.span_resource_keys[0]),
             "ml.model.version");
    snprintf(cfg.span_resource_keys[1], sizeof(cfg.span_resource_keys[1]), "host.name");
    cfg.n_span_resource_keys = 2;
    s = tg_summarizer_create(&cfg);
    tg_arena_init(&a, 64 * 1024, 0);
    tg_arena_init(&b2, 64 * 1024, 0);
    tg_egress_tally_reset(&t);
    raw = decode(TG_SIGNAL_TRACES, versioned_json, &a);
    assert_int_equal(
        tg_view_allowlist_fn(NULL, TG_SIGNAL_TRACES, raw, NULL, 0, &a, &view, &t), 0);
    assert_int_equal(tg_summarizer_add(s, TG_SIGNAL_TRACES, raw, view, 900, 100,
                                       1800000000000000000ull),
                     0);
    b = roundtrip(s, &b2, &z, &zlen);
    assert_int_equal(b->n_spans, 1);
    assert_int_equal(b->spans[0]->n_spans, 2);
    assert_string_equal(span_attr(b->spans[0]->spans[0], "ml.model.version"), "r3.1");
    assert_string_equal(span_attr(b->spans[0]->spans[0], "gen_ai.request.model"),
                        "fraud");
    assert_string_equal(span_attr(b->spans[0]->spans[1], "ml.model.version"), "r3.0");
    assert_int_equal(b->spans[0]->spans[1]->n_attributes, 1);
    assert_null(span_attr(b->spans[0]->spans[0], "host.name"));
    assert_null(memmem(z, zlen, "db-host-secret-7", 16));
    free(z);
    tg_arena_destroy(&a);
    tg_arena_destroy(&b2);
    tg_summarizer_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traces),
        cmocka_unit_test(test_name_cardinality),
        cmocka_unit_test(test_logs),
        cmocka_unit_test(test_metrics_mapping_and_cost),
        cmocka_unit_test(test_cost_names_follow_the_view),
        cmocka_unit_test(test_cost_dimensions_follow_the_view),
        cmocka_unit_test(test_span_resource_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
