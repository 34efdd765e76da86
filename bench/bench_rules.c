/* bench_rules: how fast the residency rules classify telemetry.
 *
 *   bench_rules [--rules FILE]... [--seconds N] [--only scan|pipeline|classify]
 *               [--payload FILE]
 *
 * Loads the shipped policy (rules/default.yaml and its four packs, plus
 * rules/examples/site-fra.yaml for three destinations) unless --rules is
 * given, then measures on one thread:
 *
 *  1. scan: MB/s of realistic telemetry text (log lines, span names, URLs,
 *     SQL, user agents, JSON bodies, stack traces; about 2% of values carry
 *     a regulated value) through classification;
 *  2. pipeline: spans/s through classification alone (what ingest pays),
 *     with the per-request memo of clean values and without it (every
 *     value scanned), through classification plus a view for each of three
 *     destinations, on requests of 1,000 realistic spans, and the same with
 *     the three views packed to protobuf (what the forwarder sends).
 *     --payload FILE takes the requests from a packed
 *     ExportTraceServiceRequest instead (bench/loadgen --write-payload: the
 *     ingest benchmark's own spans).
 *
 * The scan figure is the scanner's own speed: it runs with the memo off,
 * so every byte counted is a byte scanned.
 *
 * It prints figures, it asserts nothing: see docs/rules.md for recorded
 * runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opentelemetry/proto/logs/v1/logs.pb-c.h"
#include "opentelemetry/proto/trace/v1/trace.pb-c.h"
#include "tg_otlp.h"
#include "tg_rules.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KV;
typedef Opentelemetry__Proto__Common__V1__AnyValue AV;

static uint64_t rs = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static unsigned pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

/* Figures are per core: time is this thread's CPU time, so other load on
 * the machine does not count against them. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- realistic text ------------------------------------------------------------------
 */

static const char *const routes[] = {"/api/v1/orders/{id}",
                                     "/api/v1/cart/checkout",
                                     "/healthz",
                                     "/api/v2/users/{id}/profile",
                                     "/v1/chat/completions",
                                     "/api/v1/search",
                                     "/static/app.js",
                                     "/api/v1/payments/{id}/capture"};
static const char *const services[] = {"checkout", "cart",           "payments",
                                       "search",   "inference-gw",   "feature-store",
                                       "auth",     "recommendations"};
static const char *const agents[] = {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                                     "(KHTML, like Gecko) Chrome/124.0 Safari/537.36",
                                     "okhttp/4.12.0", "python-requests/2.31.0",
                                     "Go-http-client/1.1",
                                     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac "
                                     "OS X) AppleWebKit/605.1.15 Mobile/15E148"};
static const char *const words[] = {
    "processed", "batch",   "retrying", "connection", "pool",     "timeout",
    "cache",     "miss",    "request",  "completed",  "upstream", "latency",
    "queue",     "worker",  "shard",    "replica",    "token",    "model",
    "inference", "feature", "vector",   "index"};

static void uuid(char *b)
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 36; i++)
        b[i] = (i == 8 || i == 13 || i == 18 || i == 23) ? '-' : hx[pick(16)];
    b[36] = '\0';
}

/* A regulated value now and then (~2% of values). */
static const char *maybe_regulated(char *buf, size_t n)
{
    switch (pick(100)) {
    case 0:
        snprintf(buf, n, "user%u@example.com", pick(100000));
        return buf;
    case 1:
        snprintf(buf, n, "203.0.%u.%u", pick(256), 1 + pick(250));
        return buf;
    default:
        return NULL;
    }
}

static int log_line(char *b, size_t n)
{
    char u[40], r[64];
    const char *reg = maybe_regulated(r, sizeof(r));
    int k;

    uuid(u);
    switch (pick(6)) {
    case 0:
        k = snprintf(b, n,
                     "2024-03-05T14:%02u:%02u.%03uZ INFO [worker-%u] GET %s 200 %ums "
                     "request_id=%s "
                     "bytes=%u ua=\"%s\"",
                     pick(60), pick(60), pick(1000), pick(16), routes[pick(8)], pick(900),
                     u, pick(100000), agents[pick(5)]);
        break;
    case 1:
        k = snprintf(
            b, n,
            "{\"level\":\"warn\",\"msg\":\"%s %s after %u attempts\",\"service\":\"%s\","
            "\"trace_id\":\"%016llx%016llx\",\"duration_ms\":%u}",
            words[pick(22)], words[pick(22)], 1 + pick(5), services[pick(8)],
            (unsigned long long)rnd(), (unsigned long long)rnd(), pick(5000));
        break;
    case 2:
        k = snprintf(
            b, n,
            "java.lang.IllegalStateException: %s %s\n\tat com.example.%s.Service.handle"
            "(Service.java:%u)\n\tat "
            "com.example.%s.Controller.post(Controller.java:%u)\n\tat "
            "org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet."
            "java:%u)",
            words[pick(22)], words[pick(22)], services[pick(8)], pick(400),
            services[pick(8)], pick(400), pick(900));
        break;
    case 3:
        k = snprintf(b, n,
                     "SELECT o.id, o.total, o.status FROM orders o JOIN customers c ON "
                     "c.id = o.customer_id "
                     "WHERE o.created_at > $1 AND o.status = $2 ORDER BY o.created_at "
                     "DESC LIMIT 50");
        break;
    case 4:
        k = snprintf(
            b, n,
            "model=gpt-4o-mini prompt_tokens=%u completion_tokens=%u latency_ms=%u "
            "finish_reason=stop cache=%s shard=%u",
            pick(4000), pick(800), pick(3000), pick(2) ? "hit" : "miss", pick(64));
        break;
    default:
        k = snprintf(b, n, "%s %s %s in %u.%03us (%u items, %u retries) on pod %s-%x-%x",
                     words[pick(22)], words[pick(22)], words[pick(22)], pick(10),
                     pick(1000), pick(5000), pick(4), services[pick(8)],
                     (unsigned)rnd() & 0xfffff, (unsigned)rnd() & 0xfff);
    }
    if (reg && k > 0 && (size_t)k + strlen(reg) + 8 < n)
        k += snprintf(b + k, n - (size_t)k, " for %s", reg);
    return k;
}

/* ---- message builders
 * ------------------------------------------------------------------ */

static void *amsg(tg_arena *a, const ProtobufCMessageDescriptor *d)
{
    void *m = tg_arena_calloc(a, d->sizeof_message);
    protobuf_c_message_init(d, m);
    return m;
}

static AV *av_s(tg_arena *a, const char *s)
{
    AV *v = amsg(a, &opentelemetry__proto__common__v1__any_value__descriptor);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = tg_arena_strndup(a, s, strlen(s));
    return v;
}

static AV *av_i(tg_arena *a, int64_t i)
{
    AV *v = amsg(a, &opentelemetry__proto__common__v1__any_value__descriptor);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v->int_value = i;
    return v;
}

static KV *kv(tg_arena *a, const char *k, AV *v)
{
    KV *x = amsg(a, &opentelemetry__proto__common__v1__key_value__descriptor);
    x->key = tg_arena_strndup(a, k, strlen(k));
    x->value = v;
    return x;
}

static ProtobufCMessage *logs_request(tg_arena *a, size_t n, uint64_t *bytes)
{
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req = amsg(
        a,
        &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor);
    Opentelemetry__Proto__Logs__V1__ResourceLogs *rl =
        amsg(a, &opentelemetry__proto__logs__v1__resource_logs__descriptor);
    Opentelemetry__Proto__Logs__V1__ScopeLogs *sl =
        amsg(a, &opentelemetry__proto__logs__v1__scope_logs__descriptor);
    Opentelemetry__Proto__Resource__V1__Resource *r =
        amsg(a, &opentelemetry__proto__resource__v1__resource__descriptor);
    char line[1024];

    r->n_attributes = 1;
    r->attributes = tg_arena_alloc(a, sizeof(KV *));
    r->attributes[0] = kv(a, "service.name", av_s(a, services[pick(8)]));
    rl->resource = r;
    req->n_resource_logs = 1;
    req->resource_logs = tg_arena_alloc(a, sizeof(rl));
    req->resource_logs[0] = rl;
    rl->n_scope_logs = 1;
    rl->scope_logs = tg_arena_alloc(a, sizeof(sl));
    rl->scope_logs[0] = sl;
    sl->n_log_records = n;
    sl->log_records = tg_arena_alloc(a, n * sizeof(*sl->log_records));
    for (size_t i = 0; i < n; i++) {
        Opentelemetry__Proto__Logs__V1__LogRecord *lr =
            amsg(a, &opentelemetry__proto__logs__v1__log_record__descriptor);
        int k = log_line(line, sizeof(line));
        lr->body = av_s(a, line);
        *bytes += (uint64_t)k;
        sl->log_records[i] = lr;
    }
    return &req->base;
}

static ProtobufCMessage *traces_request(tg_arena *a, size_t n)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = amsg(
        a,
        &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor);
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp =
        amsg(a, &opentelemetry__proto__trace__v1__resource_spans__descriptor);
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ss =
        amsg(a, &opentelemetry__proto__trace__v1__scope_spans__descriptor);
    Opentelemetry__Proto__Resource__V1__Resource *r =
        amsg(a, &opentelemetry__proto__resource__v1__resource__descriptor);
    Opentelemetry__Proto__Common__V1__InstrumentationScope *sc =
        amsg(a, &opentelemetry__proto__common__v1__instrumentation_scope__descriptor);
    char buf[512], reg[64], u[40];

    r->n_attributes = 5;
    r->attributes = tg_arena_alloc(a, 5 * sizeof(KV *));
    r->attributes[0] = kv(a, "service.name", av_s(a, services[pick(8)]));
    r->attributes[1] = kv(a, "service.version", av_s(a, "1.14.2"));
    r->attributes[2] = kv(a, "deployment.environment.name", av_s(a, "prod"));
    r->attributes[3] = kv(a, "host.name", av_s(a, "fra-node-17"));
    r->attributes[4] = kv(a, "k8s.pod.name", av_s(a, "checkout-7d9f8b6c5d-x2k4p"));
    rsp->resource = r;
    sc->name = "io.opentelemetry.instrumentation.http";
    sc->version = "2.3.0";
    ss->scope = sc;
    req->n_resource_spans = 1;
    req->resource_spans = tg_arena_alloc(a, sizeof(rsp));
    req->resource_spans[0] = rsp;
    rsp->n_scope_spans = 1;
    rsp->scope_spans = tg_arena_alloc(a, sizeof(ss));
    rsp->scope_spans[0] = ss;
    ss->n_spans = n;
    ss->spans = tg_arena_alloc(a, n * sizeof(*ss->spans));
    for (size_t i = 0; i < n; i++) {
        Opentelemetry__Proto__Trace__V1__Span *sp =
            amsg(a, &opentelemetry__proto__trace__v1__span__descriptor);
        const char *route = routes[pick(8)];
        const char *rv = maybe_regulated(reg, sizeof(reg));
        size_t k = 0;
        uint8_t *ids = tg_arena_alloc(a, 24);
        for (int b = 0; b < 24; b++)
            ids[b] = (uint8_t)rnd();
        sp->trace_id.data = ids;
        sp->trace_id.len = 16;
        sp->span_id.data = ids + 16;
        sp->span_id.len = 8;
        sp->start_time_unix_nano = 1730000000000000000ULL + i * 1000;
        sp->end_time_unix_nano = sp->start_time_unix_nano + pick(100000000);
        sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
        snprintf(buf, sizeof(buf), "%s %s", pick(2) ? "GET" : "POST", route);
        sp->name = tg_arena_strndup(a, buf, strlen(buf));
        sp->attributes = tg_arena_alloc(a, 12 * sizeof(KV *));
        sp->attributes[k++] =
            kv(a, "http.request.method", av_s(a, pick(2) ? "GET" : "POST"));
        sp->attributes[k++] = kv(a, "http.route", av_s(a, route));
        uuid(u);
        snprintf(buf, sizeof(buf), "https://shop.example.com%s?request_id=%s&page=%u",
                 route, u, pick(20));
        sp->attributes[k++] = kv(a, "url.full", av_s(a, buf));
        sp->attributes[k++] =
            kv(a, "http.response.status_code", av_i(a, pick(10) ? 200 : 503));
        sp->attributes[k++] = kv(a, "server.address", av_s(a, "shop.example.com"));
        sp->attributes[k++] = kv(a, "server.port", av_i(a, 443));
        sp->attributes[k++] = kv(a, "user_agent.original", av_s(a, agents[pick(5)]));
        sp->attributes[k++] = kv(a, "network.protocol.version", av_s(a, "1.1"));
        snprintf(buf, sizeof(buf), "u-%u", pick(1000000));
        sp->attributes[k++] = kv(a, "enduser.id", av_s(a, buf));
        if (pick(4) == 0)
            sp->attributes[k++] = kv(a, "db.statement",
                                     av_s(a, "SELECT id, total FROM orders WHERE "
                                             "customer_id = 42 AND status = 'open'"));
        if (rv)
            sp->attributes[k++] = kv(a, pick(2) ? "client.address" : "note", av_s(a, rv));
        sp->n_attributes = k;
        ss->spans[i] = sp;
    }
    return &req->base;
}

/* ---- main ----------------------------------------------------------------------------
 */

int main(int argc, char **argv)
{
    const char *files[16];
    size_t nfiles = 0, nd;
    double seconds = 3.0;
    const char *only = "";
    const char *payload = NULL;
    uint8_t *pl = NULL;
    size_t pl_len = 0;
    char def[4096], site[4096];
    tg_rules_options opt;
    tg_rules_diag d;
    tg_rules_policy *p;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rules") && i + 1 < argc && nfiles < 16)
            files[nfiles++] = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--payload") && i + 1 < argc)
            payload = argv[++i];
        else {
            fprintf(stderr, "usage: bench_rules [--rules FILE]... [--seconds N] [--only "
                            "scan|pipeline|classify] [--payload FILE]\n");
            return 2;
        }
    }
    if (payload) {
        FILE *f = fopen(payload, "rb");
        long n;
        if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) ||
            !(pl = malloc((size_t)n)) || fread(pl, 1, (size_t)n, f) != (size_t)n) {
            fprintf(stderr, "bench_rules: cannot read %s\n", payload);
            return 2;
        }
        fclose(f);
        pl_len = (size_t)n;
    }
    if (!nfiles) {
        const char *dp = tg_rules_default_path();
        snprintf(def, sizeof(def), "%s", dp);
        snprintf(site, sizeof(site), "%.*s/examples/site-fra.yaml",
                 (int)(strrchr(dp, '/') - dp), dp);
        files[nfiles++] = def;
        files[nfiles++] = site;
    }
    memset(&opt, 0, sizeof(opt));
    opt.ephemeral_keys = 1;
    p = tg_rules_policy_load(files, nfiles, &opt, &d);
    if (!p) {
        char buf[1200];
        tg_rules_diag_format(&d, buf, sizeof(buf));
        fprintf(stderr, "%s\n", buf);
        return 1;
    }
    nd = tg_rules_n_destinations(p);
    printf("policy %s: %zu classes, %zu destinations\n", tg_rules_policy_version(p),
           tg_rules_n_classes(p), nd);

    /* 1. scan throughput */
    if (!strcmp(only, "") || !strcmp(only, "scan")) {
        tg_arena a;
        uint64_t bytes = 0, scanned = 0, findings = 0, values = 0;
        double t0, spent = 0, w0 = wall();
        ProtobufCMessage *reqs[8];
        uint64_t req_bytes[8] = {0};

        tg_arena_init(&a, 1 << 20, 0);
        for (int i = 0; i < 8; i++)
            reqs[i] = logs_request(&a, 2000, &req_bytes[i]);
        tg_rules_set_value_memo(0);
        for (int round = 0; spent < seconds; round++) {
            tg_arena ca;
            tg_rules_classification *c;
            tg_rules_classify_stats st;
            tg_arena_init(&ca, 1 << 20, 0);
            t0 = now();
            if (tg_rules_classify(p, reqs[round % 8], &ca, &c) != 0) {
                fprintf(stderr, "classify failed\n");
                return 1;
            }
            spent += now() - t0;
            tg_rules_classification_stats(c, &st);
            scanned += st.bytes_scanned;
            findings += st.findings;
            values += st.places;
            bytes += req_bytes[round % 8];
            tg_arena_destroy(&ca);
        }
        printf("scan: %.1f MB/s of telemetry text per core (%.2f ns/byte, %.0f values/s, "
               "%.2f%% of "
               "values with a finding; %.2f s CPU in %.2f s)\n",
               (double)scanned / spent / 1e6, spent * 1e9 / (double)scanned,
               (double)values / spent, 100.0 * (double)findings / (double)values, spent,
               wall() - w0);
        (void)bytes;
        tg_rules_set_value_memo(1);
        tg_arena_destroy(&a);
    }

    /* 2. spans/s through classification and three views; -2: classification
     * with the memo off */
    for (int pack = -2; pack < 2 && strcmp(only, "scan"); pack++) {
        if (!strcmp(only, "classify") && pack != -1)
            continue;
        tg_arena a;
        ProtobufCMessage *reqs[4];
        uint64_t spans = 0, per_req = 1000, scanned = 0, remembered = 0;
        double spent = 0, t0;
        size_t views = pack < 0 ? 0 : nd < 3 ? nd : 3;

        tg_arena_init(&a, 1 << 20, 0);
        for (int i = 0; i < 4; i++) {
            if (pl) {
                tg_otlp_request rq;
                char err[256];
                if (tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, pl, pl_len, &a, &rq,
                                   err, sizeof(err))) {
                    fprintf(stderr, "bench_rules: %s: %s\n", payload, err);
                    return 2;
                }
                reqs[i] = rq.msg;
                per_req = rq.items;
            } else {
                reqs[i] = traces_request(&a, 1000);
            }
        }
        tg_rules_set_value_memo(pack != -2);
        for (int round = 0; spent < seconds; round++) {
            tg_arena ca;
            tg_rules_classification *c;
            tg_arena_init(&ca, 4 << 20, 0);
            t0 = now();
            if (tg_rules_classify(p, reqs[round % 4], &ca, &c) != 0)
                return 1;
            {
                tg_rules_classify_stats cs;
                tg_rules_classification_stats(c, &cs);
                scanned += cs.bytes_scanned;
                remembered += cs.bytes_remembered;
            }
            for (size_t v = 0; v < views; v++) {
                ProtobufCMessage *out;
                if (tg_rules_view(c, v, &ca, NULL, &out, NULL) != 0)
                    return 1;
                if (pack > 0) {
                    size_t n = protobuf_c_message_get_packed_size(out);
                    uint8_t *buf = tg_arena_alloc(&ca, n);
                    protobuf_c_message_pack(out, buf);
                }
            }
            spent += now() - t0;
            spans += per_req;
            tg_arena_destroy(&ca);
        }
        if (pack < 0)
            printf("classification%s: %.0f spans/s per core (%.1f us CPU per 1000 spans; "
                   "%.0f%% of value bytes remembered, not scanned)\n",
                   pack == -2 ? " (memo off)" : "", (double)spans / spent,
                   spent / (double)spans * 1000.0 * 1e6,
                   scanned + remembered
                       ? 100.0 * (double)remembered / (double)(scanned + remembered)
                       : 0.0);
        else
            printf("pipeline%s: %.0f spans/s per core through classification + %zu views "
                   "(%.1f us "
                   "CPU per 1000-span request)\n",
                   pack ? " (views packed)" : "", (double)spans / spent, views,
                   spent / (double)spans * 1000.0 * 1e6);
        tg_arena_destroy(&a);
    }
    tg_rules_policy_unref(p);
    free(pl);
    return 0;
}
