/* Store and group-commit throughput, durable (fsync on every commit).
 *
 * Payloads are real OTLP ExportTraceServiceRequests packed with protobuf-c:
 * 1,000 spans (~490 KB), 100 traces of 10 spans, one service, attributes
 * shaped like HTTP server spans. Each stored request gets 100 fresh random
 * trace ids in its index, so by_trace grows as it would in production.
 *
 *   bench_store [dir] [seconds-per-phase] [nosync]
 *
 * "nosync" skips fsync (MDB_NOSYNC): the difference from a normal run is
 * what durability costs on this disk.
 *
 *   bench_store DIR grow GB [nosync]
 *
 * grows one store to GB gigabytes of compressed records, 16 requests per
 * transaction, and prints per gigabyte the bytes written per record, to
 * show whether write amplification stays flat as the store grows.
 *
 * dir defaults to a new directory under /tmp (removed at the end); it must
 * be on the disk being measured, not a tmpfs. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "committer.h"
#include "tg_arena.h"
#include "tg_err.h"
#include "tg_otlp.h"
#include <zstd.h>

#define SPANS 1000
#define TRACES 100
#define VARIANTS 8

typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static double now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pb_kv *kv_str(tg_arena *a, const char *key, const char *val)
{
    pb_kv *kv = tg_arena_alloc(a, sizeof(*kv));
    pb_any *v = tg_arena_alloc(a, sizeof(*v));

    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(v);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = tg_arena_strndup(a, val, strlen(val));
    kv->key = (char *)key;
    kv->value = v;
    return kv;
}

static pb_kv *kv_int(tg_arena *a, const char *key, int64_t val)
{
    pb_kv *kv = tg_arena_alloc(a, sizeof(*kv));
    pb_any *v = tg_arena_alloc(a, sizeof(*v));

    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(v);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v->int_value = val;
    kv->key = (char *)key;
    kv->value = v;
    return kv;
}

static uint8_t *rand_bytes(tg_arena *a, size_t n)
{
    uint8_t *p = tg_arena_alloc(a, n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
    return p;
}

/* One packed request of SPANS spans, malloc'd. */
static uint8_t *make_request(size_t *len)
{
    static const char *routes[] = {"/api/v1/orders/{id}",
                                   "/api/v1/cart",
                                   "/healthz",
                                   "/api/v1/users/{id}/profile",
                                   "/api/v2/search",
                                   "/api/v1/checkout",
                                   "/static/{asset}",
                                   "/api/v1/inventory"};
    static const char *methods[] = {"GET", "POST", "PUT", "DELETE"};
    static const char *names[] = {
        "HTTP GET",     "HTTP POST", "SELECT orders", "redis GET", "grpc.inventory.Check",
        "kafka.produce"};
    tg_arena a;
    tg_otlp_traces_req req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    Opentelemetry__Proto__Resource__V1__Resource res =
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    Opentelemetry__Proto__Common__V1__InstrumentationScope scope =
        OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp[1] = {&rs};
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp[1] = {&ss};
    pb_span **spans;
    pb_kv *rattrs[6];
    uint8_t *trace_ids[TRACES], *buf;
    uint64_t t0 = 1700000000000000000ull + (rnd() % 1000000000000ull);
    char tmp[160];

    tg_arena_init(&a, 1 << 20, 0);
    rattrs[0] = kv_str(&a, "service.name", "checkout-service");
    rattrs[1] = kv_str(&a, "service.version", "2.14.3");
    rattrs[2] = kv_str(&a, "deployment.environment", "production");
    rattrs[3] = kv_str(&a, "host.name", "ip-10-2-14-33.eu-central-1.compute.internal");
    rattrs[4] = kv_str(&a, "k8s.pod.name", "checkout-service-7d9c8b5f4-x2k8q");
    rattrs[5] = kv_str(&a, "telemetry.sdk.language", "go");
    res.attributes = rattrs;
    res.n_attributes = 6;
    rs.resource = &res;
    scope.name = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp";
    scope.version = "0.46.1";
    ss.scope = &scope;

    for (int t = 0; t < TRACES; t++)
        trace_ids[t] = rand_bytes(&a, 16);
    spans = tg_arena_alloc(&a, SPANS * sizeof(*spans));
    for (int i = 0; i < SPANS; i++) {
        pb_span *s = tg_arena_alloc(&a, sizeof(*s));
        pb_kv **at = tg_arena_alloc(&a, 8 * sizeof(*at));
        uint64_t start = t0 + (uint64_t)i * 1000003 + rnd() % 50000;
        int r = (int)(rnd() % 8), m = (int)(rnd() % 4);

        opentelemetry__proto__trace__v1__span__init(s);
        s->trace_id = (ProtobufCBinaryData){16, trace_ids[i % TRACES]};
        s->span_id = (ProtobufCBinaryData){8, rand_bytes(&a, 8)};
        if (i >= TRACES)
            s->parent_span_id = (ProtobufCBinaryData){8, rand_bytes(&a, 8)};
        s->name = (char *)names[rnd() % 6];
        s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
        s->start_time_unix_nano = start;
        s->end_time_unix_nano = start + 100000 + rnd() % 90000000;
        at[0] = kv_str(&a, "http.method", methods[m]);
        at[1] = kv_str(&a, "http.route", routes[r]);
        snprintf(tmp, sizeof(tmp), "https://shop.example.com%s?session=%08" PRIx32,
                 routes[r], (uint32_t)rnd());
        at[2] = kv_str(&a, "http.url", tmp);
        at[3] = kv_int(&a, "http.status_code", rnd() % 20 ? 200 : 503);
        snprintf(tmp, sizeof(tmp), "10.%d.%d.%d", (int)(rnd() % 4), (int)(rnd() % 256),
                 (int)(rnd() % 256));
        at[4] = kv_str(&a, "net.peer.ip", tmp);
        at[5] = kv_str(&a, "user_agent.original",
                       "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
                       "Gecko) Chrome/120.0 Safari/537.36");
        snprintf(tmp, sizeof(tmp), "user-%06d@example.com", (int)(rnd() % 1000000));
        at[6] = kv_str(&a, "enduser.id", tmp);
        at[7] = kv_int(&a, "http.response_content_length", (int64_t)(rnd() % 100000));
        s->attributes = at;
        s->n_attributes = 8;
        spans[i] = s;
    }
    ss.spans = spans;
    ss.n_spans = SPANS;
    rs.scope_spans = ssp;
    rs.n_scope_spans = 1;
    req.resource_spans = rsp;
    req.n_resource_spans = 1;
    *len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            &req);
    buf = malloc(*len);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req,
                                                                                   buf);
    tg_arena_destroy(&a);
    return buf;
}

/* A request ready to store: payload variant plus a fresh index. */
typedef struct bench_req {
    uint8_t ids[TRACES][16];
    tg_slice svc;
    tg_otlp_index ix;
    tg_store_record rec;
} bench_req;

static uint8_t *payloads[VARIANTS];
static size_t payload_len[VARIANTS];

static void req_fill(bench_req *r, uint64_t n)
{
    for (int t = 0; t < TRACES; t++)
        for (int b = 0; b < 16; b += 8) {
            uint64_t x = rnd();
            memcpy(&r->ids[t][b], &x, 8);
        }
    r->svc = (tg_slice){"checkout-service", 16};
    r->ix = (tg_otlp_index){1700000000000000000ull + n * 1000000000ull,
                            1700000000000000000ull + n * 1000000000ull + 999000000ull,
                            SPANS,
                            r->ids,
                            TRACES,
                            &r->svc,
                            1};
    r->rec = (tg_store_record){TG_SIGNAL_TRACES, payloads[n % VARIANTS],
                               payload_len[n % VARIANTS], &r->ix};
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

/* Bytes this process passed to write(2)/pwrite(2) (Linux): what LMDB
 * writes per commit, before the file system's own overhead. */
static uint64_t io_write_bytes(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    uint64_t v = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "wchar: %" SCNu64, &v) == 1)
            break;
    fclose(f);
    return v;
}

static char base_dir[256];
static int phase_no;
static int no_sync;

static tg_store *open_fresh(char *dir, size_t cap)
{
    tg_store_options o;
    int err;

    snprintf(dir, cap, "%s/phase%d", base_dir, phase_no++);
    tg_store_options_default(&o);
    o.no_sync = no_sync;
    tg_store *st = tg_store_open(dir, &o, &err);
    if (!st) {
        fprintf(stderr, "open %s failed: %d\n", dir, err);
        exit(1);
    }
    return st;
}

static void remove_store(tg_store *st, const char *dir)
{
    char p[320];

    tg_store_close(st);
    snprintf(p, sizeof(p), "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static void print_store(tg_store *st)
{
    tg_store_stats s;

    tg_store_get_stats(st, &s);
    printf("    store: %" PRIu64
           " records, raw %.1f MB -> records %.1f MB (ratio %.1fx), "
           "data.mdb %.1f MB, map grows %" PRIu64 "\n",
           s.records, (double)s.raw_bytes / 1e6, (double)s.record_bytes / 1e6,
           s.record_bytes ? (double)s.raw_bytes / (double)s.record_bytes : 0.0,
           (double)s.file_bytes / 1e6, s.map_grows);
}

/* Direct tg_store_write, `group` records per durable transaction. */
static void bench_direct(size_t group, double seconds, size_t prefill)
{
    char dir[320];
    tg_store *st = open_fresh(dir, sizeof(dir));
    bench_req *reqs = calloc(group, sizeof(*reqs));
    tg_store_record *recs = calloc(group, sizeof(*recs));
    size_t cap = 1 << 16, ntx = 0, nrec = 0;
    double *lat = malloc(cap * sizeof(*lat)), t_start, t_end;
    uint64_t serial = 0, raw = 0;

    if (prefill) {
        /* Grow by_trace first (untimed; tiny payloads, full indexes) to
         * see index write amplification on a store that is not empty. */
        size_t chunk = 256;
        bench_req *pre = calloc(chunk, sizeof(*pre));
        tg_store_record *pr = calloc(chunk, sizeof(*pr));
        static const uint8_t tiny[64];
        for (size_t done = 0; done < prefill; done += chunk) {
            for (size_t i = 0; i < chunk; i++) {
                req_fill(&pre[i], serial++);
                pre[i].rec.data = tiny; /* the index is what is being grown */
                pre[i].rec.len = sizeof(tiny);
                pr[i] = pre[i].rec;
            }
            if (tg_store_write(st, pr, chunk, NULL)) {
                fprintf(stderr, "prefill failed\n");
                exit(1);
            }
        }
        free(pre);
        free(pr);
    }

    uint64_t io0 = io_write_bytes();
    t_start = now_sec();
    do {
        for (size_t i = 0; i < group; i++) {
            req_fill(&reqs[i], serial++);
            recs[i] = reqs[i].rec;
            raw += recs[i].len;
        }
        double t0 = now_sec();
        if (tg_store_write(st, recs, group, NULL)) {
            fprintf(stderr, "write failed\n");
            exit(1);
        }
        t_end = now_sec();
        if (ntx < cap)
            lat[ntx] = t_end - t0;
        ntx++;
        nrec += group;
    } while (t_end - t_start < seconds);

    double el = t_end - t_start;
    uint64_t io = io_write_bytes() - io0;
    size_t nl = ntx < cap ? ntx : cap;
    printf("  group %3zu%s: %7.1f txn/s  %7.1f records/s  %9.0f spans/s  %6.1f MB/s raw  "
           "commit p50 %6.2f ms  p99 %6.2f ms  disk %.0f KB/record\n",
           group, prefill ? " (prefilled)" : "", (double)ntx / el, (double)nrec / el,
           (double)nrec * SPANS / el, (double)raw / el / 1e6, pct(lat, nl, 0.5) * 1e3,
           pct(lat, nl, 0.99) * 1e3, (double)io / (double)nrec / 1e3);
    print_store(st);
    remove_store(st, dir);
    free(reqs);
    free(recs);
    free(lat);
}

/* --- through the committer: `window` clients, each sending its next
 * request as soon as the previous one is acknowledged. */

typedef struct client {
    struct cbench *b;
    struct client *next_parked;
    bench_req req;
    double sent;
} client;

typedef struct cbench {
    tg_committer *c;
    client *clients;
    size_t window;
    double deadline;
    size_t done, busy, failed;
    double *lat;
    size_t lat_n, lat_cap;
    uint64_t serial, raw;
    _Atomic size_t txns;
    _Atomic size_t txn_records;
    client *parked; /* refused with TG_EBUSY, resent after the next ack */
} cbench;

static void on_commit(void *ctx, int status);

static void send_one(client *cl)
{
    cbench *b = cl->b;

    req_fill(&cl->req, b->serial++);
    cl->sent = now_sec();
    int rc = tg_committer_submit(b->c, &cl->req.rec, on_commit, cl);
    if (rc == TG_EBUSY) {
        /* A real client backs off and retries; here, after the next ack. */
        b->busy++;
        cl->next_parked = b->parked;
        b->parked = cl;
        return;
    }
    if (rc) {
        fprintf(stderr, "submit failed: %d\n", rc);
        exit(1);
    }
    b->raw += cl->req.rec.len;
}

static void on_commit(void *ctx, int status)
{
    client *cl = ctx;
    cbench *b = cl->b;
    double t = now_sec();

    if (status)
        b->failed++;
    if (b->lat_n < b->lat_cap)
        b->lat[b->lat_n++] = t - cl->sent;
    b->done++;
    if (t >= b->deadline)
        return;
    send_one(cl);
    client *p = b->parked;
    b->parked = NULL;
    while (p) {
        client *next = p->next_parked;
        send_one(p);
        p = next;
    }
}

static void observe(void *ctx, double seconds, size_t records, size_t bytes)
{
    cbench *b = ctx;

    (void)seconds;
    (void)bytes;
    atomic_fetch_add(&b->txns, 1);
    atomic_fetch_add(&b->txn_records, records);
}

static void bench_committer(size_t window, double seconds)
{
    char dir[320];
    tg_store *st = open_fresh(dir, sizeof(dir));
    uv_loop_t loop;
    cbench b;
    double t0, el;

    memset(&b, 0, sizeof(b));
    uv_loop_init(&loop);
    b.window = window;
    b.lat_cap = 1 << 18;
    b.lat = malloc(b.lat_cap * sizeof(*b.lat));
    b.clients = calloc(window, sizeof(*b.clients));
    b.c = tg_committer_create(&loop, st, NULL, observe, &b);
    uint64_t io0 = io_write_bytes();
    t0 = now_sec();
    b.deadline = t0 + seconds;
    for (size_t i = 0; i < window; i++) {
        b.clients[i].b = &b;
        send_one(&b.clients[i]);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    el = now_sec() - t0;
    uint64_t io = io_write_bytes() - io0;
    size_t txns = atomic_load(&b.txns);
    printf("  %3zu clients: %7.1f req/s  %9.0f spans/s  %6.1f MB/s raw  %6.1f txn/s "
           "(avg group %.1f)  ack p50 %6.2f ms  p99 %6.2f ms  disk %.0f KB/record  "
           "busy %zu  failed %zu\n",
           window, (double)b.done / el, (double)b.done * SPANS / el,
           (double)b.raw / el / 1e6, (double)txns / el,
           txns ? (double)atomic_load(&b.txn_records) / (double)txns : 0,
           pct(b.lat, b.lat_n, 0.5) * 1e3, pct(b.lat, b.lat_n, 0.99) * 1e3,
           b.done ? (double)io / (double)b.done / 1e3 : 0.0, b.busy, b.failed);
    print_store(st);
    tg_committer_drain(b.c, NULL, NULL);
    tg_committer_destroy(b.c);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    remove_store(st, dir);
    free(b.lat);
    free(b.clients);
}

static void bench_zstd(void)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(payload_len[0]), z = 0;
    uint8_t *out = malloc(cap);
    int n = 200;
    double t0 = now_sec();

    for (int i = 0; i < n; i++)
        z = ZSTD_compressCCtx(cctx, out, cap, payloads[i % VARIANTS],
                              payload_len[i % VARIANTS], 1);
    double el = now_sec() - t0;
    printf("  zstd level 1 alone: %.0f requests/s, %.0f MB/s, %zu -> %zu bytes (%.1fx)\n",
           n / el, (double)payload_len[0] * n / el / 1e6, payload_len[(n - 1) % VARIANTS],
           z, (double)payload_len[(n - 1) % VARIANTS] / (double)z);
    free(out);
    ZSTD_freeCCtx(cctx);
}

static int count_visit(void *ctx, uint64_t seq, enum tg_signal sig, const uint8_t *data,
                       size_t len)
{
    (void)seq;
    (void)sig;
    (void)data;
    (void)len;
    ++*(size_t *)ctx;
    return 0;
}

/* Grows one store to `gb` GB of compressed records and prints, per GB,
 * the bytes written per record and per compressed byte; then the time of
 * trace-by-id lookups spread over the whole store. */
static void bench_grow(double gb)
{
    enum { GROUP = 16, SAMPLES = 200 };
    static uint8_t sample[SAMPLES][16];
    size_t nsample = 0;
    char dir[320];
    tg_store *st = open_fresh(dir, sizeof(dir));
    bench_req *reqs = calloc(GROUP, sizeof(*reqs));
    tg_store_record recs[GROUP];
    uint64_t serial = 0, nrec = 0, rec0 = 0, comp0 = 0, io0 = io_write_bytes();
    double t0 = now_sec();
    tg_store_stats s;
    int next_gb = 1;

    printf("growing one store to %.0f GB of records, %d requests per transaction:\n", gb,
           GROUP);
    for (;;) {
        for (size_t i = 0; i < GROUP; i++) {
            req_fill(&reqs[i], serial++);
            recs[i] = reqs[i].rec;
        }
        if (tg_store_write(st, recs, GROUP, NULL)) {
            fprintf(stderr, "write failed\n");
            exit(1);
        }
        nrec += GROUP;
        if (nsample < SAMPLES && nrec % 512 == 0)
            memcpy(sample[nsample++], reqs[0].ids[0], 16);
        tg_store_get_stats(st, &s);
        if ((double)s.record_bytes >= (double)next_gb * 1e9) {
            uint64_t io = io_write_bytes();
            double per = (double)(io - io0) / (double)(nrec - rec0);
            double comp = (double)(s.record_bytes - comp0) / (double)(nrec - rec0);

            printf("  %2d GB: %8" PRIu64 " records  %6.1f KB written per record  "
                   "%5.2fx the compressed record  data.mdb %.1f GB  %.0f s\n",
                   next_gb, s.records, per / 1e3, per / comp, (double)s.file_bytes / 1e9,
                   now_sec() - t0);
            fflush(stdout);
            io0 = io;
            rec0 = nrec;
            comp0 = s.record_bytes;
            if (next_gb++ >= (int)gb)
                break;
        }
    }
    /* Twice: the first pass finds what the writes left in the page cache,
     * the second what one pass brought in. */
    for (int pass = 0; pass < 2; pass++) {
        double *lat = malloc(nsample * sizeof(*lat));
        size_t found = 0;

        for (size_t i = 0; i < nsample && lat; i++) {
            size_t n = 0;
            double t = now_sec();

            tg_store_get_trace(st, sample[i], count_visit, &n);
            lat[i] = now_sec() - t;
            found += n > 0;
        }
        if (lat && nsample)
            printf("  trace by id over %" PRIu64
                   " records (%s): %zu lookups, %zu found, p50 %.2f ms, "
                   "p99 %.2f ms\n",
                   s.records, pass ? "again" : "first pass", nsample, found,
                   pct(lat, nsample, 0.5) * 1e3, pct(lat, nsample, 0.99) * 1e3);
        free(lat);
    }
    remove_store(st, dir);
    free(reqs);
}

int main(int argc, char **argv)
{
    double seconds = argc > 2 ? strtod(argv[2], NULL) : 3.0;
    int own_dir = argc < 2 || !argv[1][0];

    int grow = argc > 3 && strcmp(argv[2], "grow") == 0;

    no_sync = argc > (grow ? 4 : 3) && strcmp(argv[grow ? 4 : 3], "nosync") == 0;

    if (own_dir) {
        snprintf(base_dir, sizeof(base_dir), "/tmp/tg_bench_store_XXXXXX");
        if (!mkdtemp(base_dir)) {
            perror("mkdtemp");
            return 1;
        }
    } else {
        snprintf(base_dir, sizeof(base_dir), "%s", argv[1]);
        mkdir(base_dir, 0750);
    }
    for (int i = 0; i < VARIANTS; i++)
        payloads[i] = make_request(&payload_len[i]);
    printf("bench_store: %d-span OTLP requests, %zu bytes each, %d trace ids + 1 service "
           "indexed, fsync %s, %.1f s per phase, dir %s\n",
           SPANS, payload_len[0], TRACES, no_sync ? "OFF" : "on", seconds, base_dir);
    if (grow) {
        bench_grow(strtod(argv[3], NULL));
        for (int i = 0; i < VARIANTS; i++)
            free(payloads[i]);
        return 0;
    }
    bench_zstd();
    printf("direct tg_store_write, N requests per durable transaction:\n");
    bench_direct(1, seconds, 0);
    bench_direct(4, seconds, 0);
    bench_direct(16, seconds, 0);
    bench_direct(16, seconds, 20000);
    printf("through the committer (group commit), N clients each waiting for its ack:\n");
    bench_committer(1, seconds);
    bench_committer(16, seconds);
    bench_committer(64, seconds);
    for (int i = 0; i < VARIANTS; i++)
        free(payloads[i]);
    if (own_dir)
        rmdir(base_dir);
    return 0;
}
