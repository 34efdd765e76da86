/* bench_forward: what forwarding to the central view costs.
 *
 *   1. Bytes on the wire per span forwarded (zstd batch inside the upload
 *      envelope) against the same spans as OTLP protobuf, in the protocol
 *      version a site sends (the highest); with --wire, only this, in every
 *      protocol version, for the built-in view and the rules view.
 *   2. The summarising path on one core: decode the stored request, apply
 *      the destination view, summarise, encode and compress the batch. With
 *      the built-in view, and with the residency rules' view (the shipped
 *      default policy) twice: classifying each request itself, and reading
 *      the classification stored with the request at ingest (what the
 *      collector does now).
 *   3. End to end: the real forwarder (worker and sender threads, durable
 *      outbox with fsync, HTTP to an in-process centre on loopback that
 *      stores each batch durably in its LMDB store) draining N requests;
 *      spans/s as acknowledged by the centre. Twice: from memory, and
 *      tailing a real local store (zstd records read back from LMDB), which
 *      is what a collector does.
 *
 * The spans are realistic AI-inference telemetry: HTTP, database and model
 * attributes, one event per span, some e-mails and card numbers, traces of
 * 8 spans over 4 services.
 *
 * usage: bench_forward [--requests N] [--spans-per-request N] [--dir DIR] [--wire] */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cstore.h"
#include "server.h"
#include "tg_arena.h"
#include "tg_err.h"
#include "store.h"
#include "tg_forward.h"
#include "tg_fwd_glue.h"
#include "tg_otlp.h"
#include "tg_summary.h"
#include "tg_rules.h"
#include "tg_view.h"
#include "tg_view_rules.h"
#include "tg_wire.h"

typedef Opentelemetry__Proto__Trace__V1__Span span_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue any_t;

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This thread's CPU time: to charge one step (encoding a batch) alone. */
static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static tg_otlp_kv *kv_s(tg_arena *a, const char *k, const char *v)
{
    tg_otlp_kv *kv = tg_arena_alloc(a, sizeof(*kv));
    any_t *av = tg_arena_alloc(a, sizeof(*av));
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(av);
    av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    av->string_value = tg_arena_strndup(a, v, strlen(v));
    kv->key = (char *)k;
    kv->value = av;
    return kv;
}

static tg_otlp_kv *kv_i(tg_arena *a, const char *k, int64_t v)
{
    tg_otlp_kv *kv = tg_arena_alloc(a, sizeof(*kv));
    any_t *av = tg_arena_alloc(a, sizeof(*av));
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(av);
    av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    av->int_value = v;
    kv->key = (char *)k;
    kv->value = av;
    return kv;
}

static const char *services[] = {"gateway", "inference", "feature-store", "vector-db"};
static const char *names[] = {"POST /v1/chat/completions",
                              "llm.generate",
                              "GET /features/{id}",
                              "SELECT embeddings",
                              "tokenize",
                              "rerank",
                              "cache.get",
                              "POST /v1/embeddings"};

/* One ExportTraceServiceRequest of n spans, packed. */
static uint8_t *make_request(size_t n, uint64_t t0, size_t *len)
{
    tg_arena a;
    tg_otlp_traces_req req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs[4];
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ss[4];
    Opentelemetry__Proto__Common__V1__InstrumentationScope scope =
        OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    span_t **spans[4];
    size_t counts[4] = {0};
    uint8_t *out;
    uint8_t trace[16] = {0}, parent[8] = {0};

    tg_arena_init(&a, 1 << 20, 0);
    scope.name = "@opentelemetry/instrumentation-http";
    scope.version = "0.57.0";
    for (int s = 0; s < 4; s++) {
        Opentelemetry__Proto__Resource__V1__Resource *r = tg_arena_alloc(&a, sizeof(*r));
        opentelemetry__proto__resource__v1__resource__init(r);
        r->attributes = tg_arena_alloc(&a, 6 * sizeof(tg_otlp_kv *));
        r->attributes[0] = kv_s(&a, "service.name", services[s]);
        r->attributes[1] = kv_s(&a, "host.name", "gpu-node-17.dc1.example.internal");
        r->attributes[2] = kv_s(&a, "deployment.environment.name", "production");
        r->attributes[3] = kv_s(&a, "cloud.region", "us-east-1");
        r->attributes[4] = kv_s(&a, "telemetry.sdk.language", "nodejs");
        r->attributes[5] = kv_s(&a, "telemetry.sdk.version", "2.0.1");
        r->n_attributes = 6;
        rs[s] = tg_arena_alloc(&a, sizeof(*rs[s]));
        opentelemetry__proto__trace__v1__resource_spans__init(rs[s]);
        rs[s]->resource = r;
        ss[s] = tg_arena_alloc(&a, sizeof(*ss[s]));
        opentelemetry__proto__trace__v1__scope_spans__init(ss[s]);
        ss[s]->scope = &scope;
        rs[s]->scope_spans = &ss[s];
        rs[s]->n_scope_spans = 1;
        spans[s] = tg_arena_alloc(&a, n * sizeof(span_t *));
    }
    for (size_t i = 0; i < n; i++) {
        int svc = (int)(i % 8) / 2;
        span_t *sp = tg_arena_alloc(&a, sizeof(*sp));
        Opentelemetry__Proto__Trace__V1__Span__Event *ev =
            tg_arena_alloc(&a, sizeof(*ev));
        Opentelemetry__Proto__Trace__V1__Status *st = tg_arena_alloc(&a, sizeof(*st));
        uint64_t x = next(), start;
        char buf[160];

        opentelemetry__proto__trace__v1__span__init(sp);
        if (i % 8 == 0) {
            uint64_t a1 = next(), a2 = next();
            memcpy(trace, &a1, 8);
            memcpy(trace + 8, &a2, 8);
        }
        sp->trace_id.data = tg_arena_alloc(&a, 16);
        memcpy(sp->trace_id.data, trace, 16);
        sp->trace_id.len = 16;
        sp->span_id.data = tg_arena_alloc(&a, 8);
        memcpy(sp->span_id.data, &x, 8);
        sp->span_id.len = 8;
        if (i % 8) {
            sp->parent_span_id.data = tg_arena_alloc(&a, 8);
            memcpy(sp->parent_span_id.data, parent, 8);
            sp->parent_span_id.len = 8;
        }
        memcpy(parent, &x, 8);
        sp->name = (char *)names[i % 8];
        sp->kind =
            i % 8 == 0
                ? OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER
                : OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
        start = t0 + i * 1000000ull + next() % 1000000;
        sp->start_time_unix_nano = start;
        sp->end_time_unix_nano = start + 1000000 + next() % 400000000;
        sp->attributes = tg_arena_alloc(&a, 11 * sizeof(tg_otlp_kv *));
        sp->attributes[0] = kv_s(&a, "http.request.method", i % 3 ? "POST" : "GET");
        sp->attributes[1] = kv_s(&a, "http.route", "/v1/chat/completions");
        sp->attributes[2] = kv_i(&a, "http.response.status_code", i % 23 ? 200 : 500);
        snprintf(buf, sizeof(buf),
                 "https://api.example.com/v1/chat?user=user%llu@example.com",
                 (unsigned long long)(next() % 100000));
        sp->attributes[3] = kv_s(&a, "url.full", buf);
        snprintf(buf, sizeof(buf), "user%llu@example.com",
                 (unsigned long long)(next() % 100000));
        sp->attributes[4] = kv_s(&a, "user.email", buf);
        sp->attributes[5] = kv_s(&a, "gen_ai.request.model", "llama-3-70b-instruct");
        sp->attributes[6] =
            kv_i(&a, "gen_ai.usage.input_tokens", (int64_t)(next() % 4000));
        sp->attributes[7] =
            kv_i(&a, "gen_ai.usage.output_tokens", (int64_t)(next() % 800));
        sp->attributes[8] = kv_s(&a, "db.system.name", "postgresql");
        snprintf(buf, sizeof(buf), "SELECT * FROM profiles WHERE id = %llu",
                 (unsigned long long)(next() % 1000000));
        sp->attributes[9] = kv_s(&a, "db.query.text", buf);
        sp->attributes[10] =
            kv_s(&a, "payment.card", i % 5 ? "none" : "4111111111111111");
        sp->n_attributes = 11;
        opentelemetry__proto__trace__v1__span__event__init(ev);
        ev->name = "gen_ai.content.prompt";
        ev->time_unix_nano = start + 500;
        ev->attributes = tg_arena_alloc(&a, 2 * sizeof(tg_otlp_kv *));
        ev->attributes[0] = kv_s(&a, "gen_ai.prompt", "summarise my last three invoices");
        ev->attributes[1] = kv_i(&a, "prompt.tokens", 42);
        ev->n_attributes = 2;
        sp->events = tg_arena_alloc(&a, sizeof(*sp->events));
        sp->events[0] = ev;
        sp->n_events = 1;
        opentelemetry__proto__trace__v1__status__init(st);
        st->code =
            i % 23
                ? 0
                : OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
        sp->status = st;
        spans[svc][counts[svc]++] = sp;
    }
    for (int s = 0; s < 4; s++) {
        ss[s]->spans = spans[s];
        ss[s]->n_spans = counts[s];
    }
    req.resource_spans = rs;
    req.n_resource_spans = 4;
    *len = protobuf_c_message_get_packed_size(&req.base);
    out = malloc(*len);
    protobuf_c_message_pack(&req.base, out);
    tg_arena_destroy(&a);
    return out;
}

/* ---- an in-process centre ----------------------------------------------------- */

typedef struct centre {
    tg_cstore *cs;
    pthread_mutex_t mu;
    uint64_t spans, wire, uploads;
} centre;

static void upload(const tg_http_request *req, tg_http_response *resp, void *ctx)
{
    centre *c = ctx;
    size_t body_len;
    const uint8_t *body = tg_http_body(req, &body_len);
    Tollgate__V1__Upload *up;
    Tollgate__V1__Batch *b = NULL;
    Tollgate__V1__UploadAck ack = TOLLGATE__V1__UPLOAD_ACK__INIT;
    tg_cstore_upload u;
    tg_cstore_result r;
    tg_arena a;
    uint8_t buf[256];
    uint64_t spans = 0;

    tg_arena_init(&a, 1 << 20, 0);
    up = tollgate__v1__upload__unpack(&a.pb, body_len, body);
    if (!up) {
        tg_http_response_text(resp, 400, "bad\n");
        tg_arena_destroy(&a);
        return;
    }
    if (up->batch_zstd.len &&
        tg_wire_unpack_batch(up->batch_zstd.data, up->batch_zstd.len, 1 << 28, &a, &b,
                             NULL) != 0) {
        tg_http_response_text(resp, 400, "bad\n");
        tg_arena_destroy(&a);
        return;
    }
    memset(&u, 0, sizeof(u));
    u.site = up->site;
    u.epoch = up->epoch.data;
    u.seq = b ? up->sequence : 0;
    u.batch = b;
    u.zstd = up->batch_zstd.data;
    u.zlen = up->batch_zstd.len;
    u.version = up->protocol_version;
    u.health = up->health;
    u.now_ns = tg_http_received_ns(req);
    tg_cstore_apply(c->cs, &u, &r);
    if (b && !r.duplicate)
        for (size_t i = 0; i < b->n_spans; i++)
            spans += b->spans[i]->n_spans;
    pthread_mutex_lock(&c->mu);
    c->spans += spans;
    c->wire += body_len;
    c->uploads++;
    pthread_mutex_unlock(&c->mu);
    ack.protocol_version = up->protocol_version;
    ack.last_sequence = r.last_seq;
    ack.t1_unix_nano = up->t1_unix_nano;
    ack.t2_unix_nano = tg_http_received_ns(req);
    ack.t3_unix_nano = tg_http_received_ns(req);
    tg_http_response_set(resp, 200, "application/x-protobuf", buf,
                         tollgate__v1__upload_ack__pack(&ack, buf));
    tg_arena_destroy(&a);
}

static const tg_http_route upload_route = {"POST", "/v1/upload", 0, NULL, upload};

typedef struct source {
    uint8_t **req;
    size_t *len, n;
} source;

static int src_read(void *ctx, uint64_t after, size_t max, tg_fwd_visit_cb cb,
                    void *cbctx)
{
    source *s = ctx;
    for (uint64_t seq = after + 1; seq <= s->n && max > 0; seq++, max--) {
        tg_fwd_record r = {.seq = seq,
                           .signal = TG_SIGNAL_TRACES,
                           .data = s->req[seq - 1],
                           .len = s->len[seq - 1]};
        if (cb(cbctx, &r))
            break;
    }
    return 0;
}

static uint64_t src_last(void *ctx)
{
    return ((source *)ctx)->n;
}

static int end_to_end(const char *what, const tg_fwd_source *from,
                      tg_forward_config *cfgp, const char *dir, size_t total)
{
    tg_forward_config cfg = *cfgp;
    char sdir[256], cdir[256], cmd[600];
    centre c;
    tg_cstore_options so;
    tg_srv_options o;
    tg_srv *srv;
    tg_forwarder *f;
    tg_forwarder_options fo;
    char url[64], err[256];
    int rc;
    double t0, c0, dt, dc;
    tg_forwarder_stats st;

    snprintf(sdir, sizeof(sdir), "%s/bench_forward_site_XXXXXX", dir);
    snprintf(cdir, sizeof(cdir), "%s/bench_forward_centre_XXXXXX", dir);
    if (!mkdtemp(sdir) || !mkdtemp(cdir)) {
        perror("mkdtemp");
        return 1;
    }
    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&c.mu, NULL);
    memset(&so, 0, sizeof(so));
    c.cs = tg_cstore_open(cdir, &so, &rc);
    memset(&o, 0, sizeof(o));
    srv = tg_srv_start_routes("127.0.0.1:0", &o, &upload_route, 1, &c, err, sizeof(err));
    if (!c.cs || !srv) {
        fprintf(stderr, "centre: %s\n", err);
        return 1;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", tg_srv_port(srv));
    cfg.flush_interval_ms = 100;
    memset(&fo, 0, sizeof(fo));
    fo.site = "bench";
    fo.data_dir = sdir;
    fo.central_url = url;
    fo.token = "t";
    fo.software_version = "bench";
    fo.source = *from;
    fo.cfg = &cfg;
    t0 = now_s();
    c0 = cpu_s();
    f = tg_forwarder_start(&fo, &rc, err, sizeof(err));
    if (!f) {
        fprintf(stderr, "forwarder: %s\n", err);
        return 1;
    }
    for (;;) {
        uint64_t got;
        pthread_mutex_lock(&c.mu);
        got = c.spans;
        pthread_mutex_unlock(&c.mu);
        if (got >= total)
            break;
        usleep(2000);
    }
    dt = now_s() - t0;
    dc = cpu_s() - c0;
    tg_forwarder_get_stats(f, &st);
    printf(
        "end to end, %s (durable outbox with fsync, HTTP on loopback, durable centre):\n",
        what);
    printf("  %.0f spans/s delivered, %.2f CPU-s per million spans (site and centre), "
           "%llu batches, %.1f wire bytes/span\n",
           (double)(total) / dt, dc / (double)(total)*1e6,
           (unsigned long long)st.batches_delivered, (double)c.wire / (double)(total));
    tg_forwarder_stop(f);
    tg_srv_stop(srv);
    tg_cstore_close(c.cs);
    snprintf(cmd, sizeof(cmd), "rm -rf %s %s", sdir, cdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    return 0;
}

/* Section 2: decode, view (built-in when vr is NULL), summarise, encode and
 * compress, on this thread. With cls, the view reads the stored
 * classification of request i (cls[i], summarise_stored_len[i] bytes). */
static size_t *summarise_stored_len;
/* The protocol version batches are encoded in. */
static unsigned wire_version = TG_PROTOCOL_MAX;

static void summarise_path(const char *label, const source *src, tg_view_rules *vr,
                           uint8_t **cls, const tg_forward_config *cfg, size_t otlp_bytes,
                           size_t nreq, size_t per)
{
    tg_summarizer *s = tg_summarizer_create(cfg);
    tg_arena a;
    tg_egress_tally t;
    double t0 = now_s(), c0 = cpu_s(), dt, dc;
    uint64_t wire = 0, raw = 0, spans = 0, batches = 0;
    double enc_cpu = 0, dec_cpu = 0;
    tg_arena_init(&a, 1 << 20, 0);
    tg_egress_tally_reset(&t);
    for (size_t i = 0; i < nreq; i++) {
        ProtobufCMessage *m, *v;
        tg_summary_counts c;
        int rc;
        tg_arena_reset(&a);
        m = protobuf_c_message_unpack(tg_otlp_request_descriptor(TG_SIGNAL_TRACES), &a.pb,
                                      src->len[i], src->req[i]);
        if (vr)
            rc = tg_view_rules_fn(vr, TG_SIGNAL_TRACES, m, cls ? cls[i] : NULL,
                                  cls ? summarise_stored_len[i] : 0, &a, &v, &t);
        else
            rc = tg_view_allowlist_fn(NULL, TG_SIGNAL_TRACES, m, NULL, 0, &a, &v, &t);
        if (rc) {
            fprintf(stderr, "view failed: %s\n", tg_err_name(rc));
            exit(1);
        }
        tg_summarizer_add(s, TG_SIGNAL_TRACES, m, v, src->len[i], 0,
                          1800000000000000000ull);
        tg_summarizer_counts(s, &c);
        if (c.spans >= cfg->max_batch_spans || i + 1 == nreq) {
            Tollgate__V1__Batch b = TOLLGATE__V1__BATCH__INIT;
            uint8_t *z;
            size_t zl, rl;
            double e0;
            b.site = "bench";
            b.sequence = batches + 1;
            b.policy_version = vr ? vr->version : "builtin:allowlist-v1";
            tg_summarizer_build(s, &b, 1800000000000000000ull);
            e0 = thread_cpu_s();
            if (tg_wire_pack_batch(&b, wire_version, cfg->zstd_level, &z, &zl, &rl)) {
                fprintf(stderr, "batch encoding failed\n");
                exit(1);
            }
            enc_cpu += thread_cpu_s() - e0;
            {
                /* What the centre does with it: decompress and decode. */
                tg_arena da;
                Tollgate__V1__Batch *db;
                tg_arena_init(&da, 1 << 20, 0);
                e0 = thread_cpu_s();
                if (tg_wire_unpack_batch(z, zl, 1 << 28, &da, &db, NULL)) {
                    fprintf(stderr, "batch decoding failed\n");
                    exit(1);
                }
                dec_cpu += thread_cpu_s() - e0;
                tg_arena_destroy(&da);
            }
            wire += zl + 64; /* the upload envelope around it */
            raw += rl;
            spans += c.spans;
            batches++;
            free(z);
            tg_summarizer_clear(s);
        }
    }
    /* The centre's decoding is charged apart (one thread: its CPU time is
     * its wall time). */
    dt = now_s() - t0 - dec_cpu;
    dc = cpu_s() - c0 - dec_cpu;
    printf("summarise, %s (decode + view + summarise + encode protocol %u + zstd %d), "
           "one thread:\n",
           label, wire_version, cfg->zstd_level);
    printf("  %.0f spans/s, %.2f CPU-s per million spans, %llu batches\n",
           (double)spans / dt, dc / (double)spans * 1e6, (unsigned long long)batches);
    printf("  wire %.1f bytes/span (batch before zstd %.1f), OTLP %.1f bytes/span: "
           "%.1fx "
           "smaller (%.3f of OTLP)\n",
           (double)wire / (double)spans, (double)raw / (double)spans,
           (double)otlp_bytes / (double)(nreq * per), (double)otlp_bytes / (double)wire,
           (double)wire / (double)otlp_bytes);
    printf("  of which encoding + zstd %.2f CPU-s per million spans; the centre's "
           "decoding %.2f (not counted above)\n",
           enc_cpu / (double)spans * 1e6, dec_cpu / (double)spans * 1e6);
    tg_arena_destroy(&a);
    tg_summarizer_destroy(s);
}

int main(int argc, char **argv)
{
    size_t nreq = 100, per = 1000, otlp_bytes = 0;
    int wire_only = 0;
    const char *dir = "/tmp";
    source src;
    tg_forward_config cfg;

    /* As the collector does (collector.c): keep freed memory for reuse
     * rather than mapping and unmapping each large request buffer. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--wire") == 0)
            wire_only = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--wire") == 0)
            i--;
        else if (strcmp(argv[i], "--requests") == 0)
            nreq = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--spans-per-request") == 0)
            per = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
    }
    src.n = nreq;
    src.req = calloc(nreq, sizeof(*src.req));
    src.len = calloc(nreq, sizeof(*src.len));
    for (size_t i = 0; i < nreq; i++) {
        src.req[i] =
            make_request(per, 1800000000000000000ull + i * per * 1000000ull, &src.len[i]);
        otlp_bytes += src.len[i];
    }
    printf("workload: %zu requests x %zu spans, OTLP protobuf %.1f bytes/span\n", nreq,
           per, (double)otlp_bytes / (double)(nreq * per));
    tg_forward_config_defaults(&cfg);

    /* 2. The summarising path on one core, batches of max_batch_spans. */
    if (wire_only)
        for (wire_version = 1; wire_version < TG_PROTOCOL_MAX; wire_version++)
            summarise_path("built-in view", &src, NULL, NULL, &cfg, otlp_bytes, nreq,
                           per);
    summarise_path("built-in view", &src, NULL, NULL, &cfg, otlp_bytes, nreq, per);
    {
        tg_rules_options ro;
        tg_rules_diag d;
        const char *dp = tg_rules_default_path();
        tg_rules_policy *p;
        static tg_view_rules vr = {.destination = "central"};
        uint8_t **cls = calloc(nreq, sizeof(*cls));
        size_t *cls_len = calloc(nreq, sizeof(*cls_len));

        memset(&ro, 0, sizeof(ro));
        ro.ephemeral_keys = 1;
        p = tg_rules_policy_load(&dp, 1, &ro, &d);
        if (!p || !cls || !cls_len) {
            fprintf(stderr, "bench_forward: cannot load %s: %s\n", dp, d.message);
            return 1;
        }
        /* What ingest stores with each request. */
        for (size_t i = 0; i < nreq; i++) {
            tg_arena a;
            tg_rules_classification *c;
            uint8_t *e;
            tg_arena_init(&a, 1 << 20, 0);
            ProtobufCMessage *m =
                protobuf_c_message_unpack(tg_otlp_request_descriptor(TG_SIGNAL_TRACES),
                                          &a.pb, src.len[i], src.req[i]);
            if (!m || tg_rules_classify(p, m, &a, &c) ||
                tg_rules_classification_encode(c, &a, &e, &cls_len[i]))
                return 1;
            cls[i] = malloc(cls_len[i]);
            memcpy(cls[i], e, cls_len[i]);
            tg_arena_destroy(&a);
        }
        vr.slot = tg_rules_slot_create(p);
        pthread_mutex_init(&vr.mu, NULL);
        summarise_stored_len = cls_len;
        if (wire_only)
            for (wire_version = 1; wire_version <= TG_PROTOCOL_MAX; wire_version++)
                summarise_path("rules view, classification stored at ingest", &src, &vr,
                               cls, &cfg, otlp_bytes, nreq, per);
        else
            summarise_path("rules view, classifying each request", &src, &vr, NULL, &cfg,
                           otlp_bytes, nreq, per);
        if (!wire_only)
            summarise_path("rules view, classification stored at ingest", &src, &vr, cls,
                           &cfg, otlp_bytes, nreq, per);
        summarise_stored_len = NULL;
        for (size_t i = 0; i < nreq; i++)
            free(cls[i]);
        free(cls);
        free(cls_len);
        tg_rules_slot_destroy(vr.slot);
        pthread_mutex_destroy(&vr.mu);
        tg_rules_policy_unref(p);
    }

    if (wire_only)
        goto done;
    /* 3. End to end through the forwarder and a durable centre. */
    {
        tg_fwd_source ms = {src_read, src_last, NULL, &src};
        if (end_to_end("from memory", &ms, &cfg, dir, nreq * per) != 0)
            return 1;
    }
    {
        /* The same requests committed to a real store first. */
        char stdir[256], cmd2[300];
        tg_store_options so;
        tg_store *st;
        tg_fwd_store_source *ss;
        int rc;
        snprintf(stdir, sizeof(stdir), "%s/bench_forward_store_XXXXXX", dir);
        if (!mkdtemp(stdir)) {
            perror("mkdtemp");
            return 1;
        }
        tg_store_options_default(&so);
        so.no_sync = 1;
        st = tg_store_open(stdir, &so, &rc);
        if (!st) {
            fprintf(stderr, "store: %s\n", tg_strerror(rc));
            return 1;
        }
        for (size_t i = 0; i < nreq; i++) {
            tg_arena a;
            tg_otlp_request r;
            tg_otlp_index ix;
            tg_store_record rec;
            char e[128];
            tg_arena_init(&a, 1 << 20, 0);
            if (tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, src.req[i], src.len[i],
                               &a, &r, e, sizeof(e)) != 0 ||
                tg_otlp_index_build(&r, &a, &ix) != 0) {
                fprintf(stderr, "decode: %s\n", e);
                return 1;
            }
            memset(&rec, 0, sizeof(rec));
            rec.signal = TG_SIGNAL_TRACES;
            rec.data = src.req[i];
            rec.len = src.len[i];
            rec.index = &ix;
            if (tg_store_write(st, &rec, 1, NULL) != 0)
                return 1;
            tg_arena_destroy(&a);
        }
        ss = tg_fwd_store_source_create(st);
        {
            tg_fwd_source s2 = tg_fwd_store_source_get(ss);
            if (end_to_end("tailing the local store", &s2, &cfg, dir, nreq * per) != 0)
                return 1;
        }
        tg_fwd_store_source_destroy(ss);
        tg_store_close(st);
        snprintf(cmd2, sizeof(cmd2), "rm -rf %s", stdir);
        if (system(cmd2) != 0)
            fprintf(stderr, "cleanup failed\n");
    }
done:
    for (size_t i = 0; i < nreq; i++)
        free(src.req[i]);
    free(src.req);
    free(src.len);
    return 0;
}
