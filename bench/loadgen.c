/* loadgen: the OTLP ingest benchmark's load generator.
 *
 * It sends one pre-encoded ExportTraceServiceRequest (by default 1,000
 * realistic spans: HTTP, database and model calls, one event each, some
 * e-mail addresses and card numbers, about 490 bytes per span) as fast as
 * the collector acknowledges it, over OTLP/HTTP/1.1 keep-alive or OTLP/gRPC
 * (h2c, nghttp2), with N connections, each its own thread and its own
 * blocking socket, one request in flight per connection (or --streams K
 * concurrent gRPC streams). The run is bounded: --duration seconds, then
 * at most 10 s to drain what is in flight.
 *
 * Only acknowledged spans count: a 200 / grpc-status 0 after the
 * collector's durable commit. Refusals (429/503, RESOURCE_EXHAUSTED /
 * UNAVAILABLE) and errors are counted apart.
 *
 * Every request gets fresh trace ids: the payload is encoded once and the
 * low 8 bytes of each trace id are rewritten in place per request, so the
 * store indexes new traces instead of the same 50 over and over.
 *
 * With --pid, the collector's CPU time (utime+stime from /proc/PID/stat)
 * is read before and after, and its peak RSS (VmHWM from /proc/PID/status)
 * at the end. The last line of output is one "RESULT key=value ..." line
 * for scripts. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>
#include <nghttp2/nghttp2.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#define MAX_CONNS 256
#define MAX_STREAMS 64
#define MAX_DURATION_SEC 600
#define DRAIN_SEC 10

typedef Opentelemetry__Proto__Common__V1__KeyValue kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue any_t;
typedef Opentelemetry__Proto__Trace__V1__Span span_t;
typedef Opentelemetry__Proto__Trace__V1__Span__Event event_t;

enum proto { PROTO_HTTP, PROTO_GRPC };

typedef struct options {
    enum proto proto;
    char host[256];
    char port[16];
    int conns;
    int streams;
    double duration;
    int spans;
    unsigned long long seed;
    const char *payload_file;
    const char *write_payload;
    long pid;
    int quiet;
} options;

/* The encoded request and where its trace ids sit in it. */
typedef struct payload {
    uint8_t *buf;
    size_t len;
    size_t *id_off; /* offsets of every trace id occurrence */
    size_t n_id_off;
    size_t spans;
} payload;

typedef struct worker {
    int id;
    const options *opt;
    const payload *pl;
    double deadline;
    double drain_deadline;
    double *lat; /* acknowledgement latencies, seconds */
    size_t nlat, caplat;
    uint64_t ok, refused, errors, reconnects;
    uint64_t counter;
    double last_done;
    char first_error[512];
} worker;

/* ---- time and small helpers ---------------------------------------------- */

static double now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_sec(double s)
{
    struct timespec ts;

    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

static void die(const char *msg)
{
    fprintf(stderr, "loadgen: %s\n", msg);
    exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p)
        die("out of memory");
    return p;
}

static void record_latency(worker *w, double lat)
{
    if (w->nlat == w->caplat) {
        size_t cap = w->caplat ? w->caplat * 2 : 4096;
        double *n = realloc(w->lat, cap * sizeof(*n));

        if (!n)
            die("out of memory");
        w->lat = n;
        w->caplat = cap;
    }
    w->lat[w->nlat++] = lat;
}

static void note_error(worker *w, const char *fmt, const char *detail)
{
    w->errors++;
    if (!w->first_error[0])
        snprintf(w->first_error, sizeof(w->first_error), fmt, detail ? detail : "");
}

/* Rewrites the low 8 bytes of every trace id so this request's traces are
 * new ones: connection id in the top 16 bits, a per-connection counter
 * below. Spans of one trace keep sharing their (new) trace id. */
static void patch_ids(worker *w, uint8_t *buf)
{
    uint64_t v = ((uint64_t)(w->id & 0xffff) << 48) | (w->counter++ & 0xffffffffffffULL);

    for (size_t i = 0; i < w->pl->n_id_off; i++) {
        uint8_t *p = buf + w->pl->id_off[i] + 8;
        for (int b = 0; b < 8; b++)
            p[b] = (uint8_t)(v >> (56 - 8 * b));
    }
}

/* ---- the payload ---------------------------------------------------------- */

/* Everything the generated request points to is allocated here and freed
 * at once after packing. */
typedef struct gen {
    void **ptrs;
    size_t n, cap;
    uint64_t rng;
} gen;

static void *galloc(gen *g, size_t size)
{
    void *p = xcalloc(1, size);

    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 1024;
        g->ptrs = realloc(g->ptrs, g->cap * sizeof(*g->ptrs));
        if (!g->ptrs)
            die("out of memory");
    }
    g->ptrs[g->n++] = p;
    return p;
}

static char *gstr(gen *g, const char *s)
{
    size_t n = strlen(s);
    char *p = galloc(g, n + 1);

    memcpy(p, s, n + 1);
    return p;
}

static uint64_t rnd(gen *g)
{
    /* xorshift64*: deterministic for a given --seed. */
    g->rng ^= g->rng >> 12;
    g->rng ^= g->rng << 25;
    g->rng ^= g->rng >> 27;
    return g->rng * 2685821657736338717ULL;
}

static kv_t *kv_new(gen *g, const char *key)
{
    kv_t *kv = galloc(g, sizeof(*kv));
    any_t *v = galloc(g, sizeof(*v));

    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(v);
    kv->key = gstr(g, key);
    kv->value = v;
    return kv;
}

static kv_t *kv_str(gen *g, const char *key, const char *val)
{
    kv_t *kv = kv_new(g, key);

    kv->value->value_case =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    kv->value->string_value = gstr(g, val);
    return kv;
}

static kv_t *kv_int(gen *g, const char *key, int64_t val)
{
    kv_t *kv = kv_new(g, key);

    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    kv->value->int_value = val;
    return kv;
}

static kv_t *kv_dbl(gen *g, const char *key, double val)
{
    kv_t *kv = kv_new(g, key);

    kv->value->value_case =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    kv->value->double_value = val;
    return kv;
}

static kv_t *kv_bool(gen *g, const char *key, int val)
{
    kv_t *kv = kv_new(g, key);

    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    kv->value->bool_value = val ? 1 : 0;
    return kv;
}

static ProtobufCBinaryData rnd_bytes(gen *g, size_t n)
{
    ProtobufCBinaryData b;

    b.len = n;
    b.data = galloc(g, n);
    for (size_t i = 0; i < n; i++)
        b.data[i] = (uint8_t)rnd(g);
    /* An all-zero id is invalid in OTLP. */
    b.data[0] |= 1;
    return b;
}

static const char *const first_names[] = {"anna", "lukas", "mia",
                                          "noah", "emma",  "elias"};
static const char *const last_names[] = {"schmidt", "mueller", "weber", "fischer",
                                         "wagner"};
static const char *const routes[] = {"/api/v1/orders/{order_id}", "/api/v1/cart/items",
                                     "/api/v1/checkout", "/api/v1/recommendations",
                                     "/api/v1/users/{user_id}/profile"};
static const char *const models[] = {"gpt-4o-2024-08-06", "llama-3.1-70b-instruct",
                                     "mistral-large-2407"};
/* Test card numbers (Luhn-valid, issued for testing by the card schemes). */
static const char *const cards[] = {"4111 1111 1111 1111", "5555555555554444",
                                    "3782 822463 10005"};

/* Fills one span of kind `type` (0 server, 1 HTTP client, 2 database, 3
 * model call, 4 internal/payment) with its attributes and one event. */
static void fill_span(gen *g, span_t *s, int type, uint64_t t0, int idx)
{
    kv_t **a = galloc(g, 12 * sizeof(*a));
    event_t *ev = galloc(g, sizeof(*ev));
    kv_t **ea = galloc(g, 3 * sizeof(*ea));
    size_t n = 0, en = 0;
    char buf[256];
    const char *first = first_names[rnd(g) % 6], *last = last_names[rnd(g) % 5];
    uint64_t dur = 200000 + rnd(g) % 40000000;

    opentelemetry__proto__trace__v1__span__event__init(ev);
    s->start_time_unix_nano = t0 + (uint64_t)idx * 1000000 + rnd(g) % 100000;
    s->end_time_unix_nano = s->start_time_unix_nano + dur;
    ev->time_unix_nano = s->start_time_unix_nano + dur / 2;

    switch (type) {
    case 0: {
        const char *route = routes[rnd(g) % 5];
        snprintf(buf, sizeof(buf), "GET %s", route);
        s->name = gstr(g, buf);
        s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
        a[n++] = kv_str(g, "http.request.method", "GET");
        a[n++] = kv_str(g, "http.route", route);
        snprintf(buf, sizeof(buf),
                 "https://shop.example.eu/api/v1/orders/%" PRIu64 "?expand=items",
                 rnd(g) % 1000000);
        a[n++] = kv_str(g, "url.full", buf);
        a[n++] = kv_int(g, "http.response.status_code", (rnd(g) % 20) ? 200 : 503);
        a[n++] =
            kv_str(g, "user_agent.original",
                   "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0");
        snprintf(buf, sizeof(buf), "10.%u.%u.%u", (unsigned)(rnd(g) % 256),
                 (unsigned)(rnd(g) % 256), (unsigned)(rnd(g) % 256));
        a[n++] = kv_str(g, "client.address", buf);
        if (idx % 3 == 0) {
            snprintf(buf, sizeof(buf), "%s.%s@example.com", first, last);
            a[n++] = kv_str(g, "enduser.email", buf);
        }
        ev->name = gstr(g, "http.request.body.received");
        ea[en++] = kv_int(g, "http.request.body.size", (int64_t)(rnd(g) % 4096));
        break;
    }
    case 1:
        s->name = gstr(g, "POST inventory-service");
        s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
        a[n++] = kv_str(g, "http.request.method", "POST");
        a[n++] =
            kv_str(g, "url.full", "http://inventory.svc.cluster.local:8080/v2/reserve");
        a[n++] = kv_str(g, "server.address", "inventory.svc.cluster.local");
        a[n++] = kv_int(g, "server.port", 8080);
        a[n++] = kv_int(g, "http.response.status_code", 200);
        a[n++] = kv_str(g, "network.protocol.version", "1.1");
        ev->name = gstr(g, "http.retry");
        ea[en++] = kv_int(g, "http.request.resend_count", 1);
        break;
    case 2:
        s->name = gstr(g, "SELECT orders");
        s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
        a[n++] = kv_str(g, "db.system.name", "postgresql");
        a[n++] = kv_str(g, "db.namespace", "shop_orders");
        a[n++] = kv_str(g, "db.operation.name", "SELECT");
        a[n++] = kv_str(g, "db.query.text",
                        "SELECT o.id, o.total, o.currency, o.status FROM orders o WHERE "
                        "o.customer_id = $1 AND o.created_at > $2 ORDER BY o.created_at "
                        "DESC LIMIT 50");
        a[n++] = kv_str(g, "server.address", "pg-primary.db.internal");
        a[n++] = kv_int(g, "server.port", 5432);
        a[n++] = kv_int(g, "db.response.returned_rows", (int64_t)(rnd(g) % 50));
        ev->name = gstr(g, "db.connection.acquired");
        ea[en++] =
            kv_dbl(g, "db.client.connection.wait_time", (double)(rnd(g) % 1000) / 1e4);
        break;
    case 3: {
        const char *model = models[rnd(g) % 3];
        snprintf(buf, sizeof(buf), "chat %s", model);
        s->name = gstr(g, buf);
        s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
        a[n++] = kv_str(g, "gen_ai.operation.name", "chat");
        a[n++] = kv_str(g, "gen_ai.system", "openai");
        a[n++] = kv_str(g, "gen_ai.request.model", model);
        a[n++] = kv_dbl(g, "gen_ai.request.temperature", 0.2);
        a[n++] = kv_int(g, "gen_ai.usage.input_tokens", (int64_t)(200 + rnd(g) % 3000));
        a[n++] = kv_int(g, "gen_ai.usage.output_tokens", (int64_t)(20 + rnd(g) % 800));
        a[n++] = kv_str(g, "gen_ai.response.finish_reasons", "stop");
        ev->name = gstr(g, "gen_ai.user.message");
        snprintf(buf, sizeof(buf), "Where is my order? Reply to %s@example.org", first);
        ea[en++] = kv_str(g, "gen_ai.prompt", buf);
        break;
    }
    default:
        s->name = gstr(g, "authorize payment");
        s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL;
        a[n++] = kv_str(g, "payment.provider", "acme-pay");
        a[n++] = kv_str(g, "payment.card.number", cards[rnd(g) % 3]);
        a[n++] = kv_str(g, "payment.currency", "EUR");
        a[n++] = kv_dbl(g, "payment.amount", (double)(rnd(g) % 100000) / 100.0);
        a[n++] = kv_bool(g, "payment.3ds", (int)(rnd(g) % 2));
        snprintf(buf, sizeof(buf), "%s.%s@example.net", first, last);
        a[n++] = kv_str(g, "customer.email", buf);
        ev->name = gstr(g, "payment.authorized");
        ea[en++] = kv_str(g, "payment.auth_code", "A1B2C3");
        break;
    }
    snprintf(buf, sizeof(buf), "http-nio-exec-%u", (unsigned)(rnd(g) % 200));
    a[n++] = kv_str(g, "thread.name", buf);
    s->n_attributes = n;
    s->attributes = a;
    ev->n_attributes = en;
    ev->attributes = ea;
    s->n_events = 1;
    s->events = galloc(g, sizeof(event_t *));
    s->events[0] = ev;
    if (rnd(g) % 25 == 0) {
        Opentelemetry__Proto__Trace__V1__Status *st = galloc(g, sizeof(*st));
        opentelemetry__proto__trace__v1__status__init(st);
        st->code =
            OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
        st->message = gstr(g, "upstream deadline exceeded");
        s->status = st;
    }
}

/* Builds the request: one resource, one scope, `nspans` spans in traces of
 * 20 (a server span and its children). */
static void build_payload(payload *pl, int nspans, unsigned long long seed)
{
    gen g = {0};
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss;
    Opentelemetry__Proto__Resource__V1__Resource res;
    Opentelemetry__Proto__Common__V1__InstrumentationScope scope;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp = &rs;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp = &ss;
    kv_t *rattrs[6];
    span_t **spans = xcalloc((size_t)nspans, sizeof(*spans));
    ProtobufCBinaryData trace_id = {0}, root_id = {0};
    struct timespec wall;
    uint64_t t0;

    g.rng = seed ? seed : 1;
    clock_gettime(CLOCK_REALTIME, &wall);
    t0 = (uint64_t)wall.tv_sec * 1000000000ULL - 60000000000ULL;

    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
    opentelemetry__proto__trace__v1__resource_spans__init(&rs);
    opentelemetry__proto__trace__v1__scope_spans__init(&ss);
    opentelemetry__proto__resource__v1__resource__init(&res);
    opentelemetry__proto__common__v1__instrumentation_scope__init(&scope);
    rattrs[0] = kv_str(&g, "service.name", "checkout-api");
    rattrs[1] = kv_str(&g, "service.version", "2.14.1");
    rattrs[2] = kv_str(&g, "deployment.environment.name", "production");
    rattrs[3] = kv_str(&g, "host.name", "fra-node-17.dc1.example.internal");
    rattrs[4] = kv_str(&g, "k8s.pod.name", "checkout-api-7d9f8c6b5-x2k4q");
    rattrs[5] = kv_str(&g, "cloud.region", "eu-central-1");
    res.n_attributes = 6;
    res.attributes = rattrs;
    scope.name = "opentelemetry-instrumentation-http";
    scope.version = "0.52.0";
    ss.scope = &scope;
    ss.n_spans = (size_t)nspans;
    ss.spans = spans;
    rs.resource = &res;
    rs.n_scope_spans = 1;
    rs.scope_spans = &ssp;
    req.n_resource_spans = 1;
    req.resource_spans = &rsp;

    for (int i = 0; i < nspans; i++) {
        span_t *s = galloc(&g, sizeof(*s));
        int in_trace = i % 20;
        static const int types[20] = {0, 1, 2, 3, 4, 2, 2, 1, 3, 2,
                                      1, 2, 3, 4, 2, 1, 2, 3, 2, 1};

        opentelemetry__proto__trace__v1__span__init(s);
        if (in_trace == 0) {
            trace_id = rnd_bytes(&g, 16);
            s->span_id = rnd_bytes(&g, 8);
            root_id = s->span_id;
        } else {
            s->span_id = rnd_bytes(&g, 8);
            s->parent_span_id = root_id;
        }
        s->trace_id = trace_id;
        s->flags = 0x101;
        fill_span(&g, s, types[in_trace], t0, in_trace);
        spans[i] = s;
    }

    pl->len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            &req);
    pl->buf = xcalloc(1, pl->len);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(
        &req, pl->buf);
    pl->spans = (size_t)nspans;
    for (size_t i = 0; i < g.n; i++)
        free(g.ptrs[i]);
    free(g.ptrs);
    free(spans);
}

static void load_payload(payload *pl, const char *path)
{
    FILE *f = fopen(path, "rb");
    long n = 0;

    if (!f)
        die("cannot open --payload file");
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0)
        die("cannot size --payload file");
    pl->len = (size_t)n;
    pl->buf = xcalloc(1, pl->len);
    if (fread(pl->buf, 1, pl->len, f) != pl->len)
        die("short read on --payload file");
    fclose(f);
}

/* Counts spans and finds every trace id occurrence in the encoding. */
static void index_payload(payload *pl)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req;
    size_t cap = 0;

    req =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            NULL, pl->len, pl->buf);
    if (!req)
        die("payload is not an ExportTraceServiceRequest");
    pl->spans = 0;
    pl->n_id_off = 0;
    for (size_t r = 0; r < req->n_resource_spans; r++) {
        for (size_t s = 0; s < req->resource_spans[r]->n_scope_spans; s++) {
            Opentelemetry__Proto__Trace__V1__ScopeSpans *ss =
                req->resource_spans[r]->scope_spans[s];
            pl->spans += ss->n_spans;
            cap += ss->n_spans;
        }
    }
    pl->id_off = xcalloc(cap, sizeof(*pl->id_off));
    /* Each span's trace_id field is encoded as 0x0a 0x10 + 16 bytes; a
     * search for the tag and the id pins each one down. */
    for (size_t r = 0; r < req->n_resource_spans; r++) {
        for (size_t s = 0; s < req->resource_spans[r]->n_scope_spans; s++) {
            Opentelemetry__Proto__Trace__V1__ScopeSpans *ss =
                req->resource_spans[r]->scope_spans[s];
            for (size_t i = 0; i < ss->n_spans; i++) {
                const ProtobufCBinaryData *id = &ss->spans[i]->trace_id;
                uint8_t pat[18];
                const uint8_t *from =
                    pl->n_id_off ? pl->buf + pl->id_off[pl->n_id_off - 1] : pl->buf;
                const uint8_t *hit;

                if (id->len != 16)
                    continue;
                pat[0] = 0x0a;
                pat[1] = 0x10;
                memcpy(pat + 2, id->data, 16);
                hit = memmem(from, pl->len - (size_t)(from - pl->buf), pat, sizeof(pat));
                if (hit)
                    pl->id_off[pl->n_id_off++] = (size_t)(hit - pl->buf) + 2;
            }
        }
    }
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
        req, NULL);
}

/* ---- sockets ----------------------------------------------------------- */

static int dial(const options *o)
{
    struct addrinfo hints = {0}, *ai = NULL, *p;
    int fd = -1, one = 1;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(o->host, o->port, &hints, &ai) != 0)
        return -1;
    for (p = ai; p; p = p->ai_next) {
        fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, p->ai_addr, p->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd >= 0) {
        /* A hung collector must not hang the benchmark past its bound. */
        struct timeval tv = {30, 0};
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    return fd;
}

static int send_all(int fd, const struct iovec *iov_in, int iovcnt)
{
    struct iovec iov[4];
    int i = 0;

    memcpy(iov, iov_in, (size_t)iovcnt * sizeof(*iov));
    while (i < iovcnt) {
        ssize_t n = writev(fd, iov + i, iovcnt - i);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (i < iovcnt && (size_t)n >= iov[i].iov_len) {
            n -= (ssize_t)iov[i].iov_len;
            i++;
        }
        if (i < iovcnt) {
            iov[i].iov_base = (char *)iov[i].iov_base + n;
            iov[i].iov_len -= (size_t)n;
        }
    }
    return 0;
}

/* ---- OTLP/HTTP ------------------------------------------------------------ */

typedef struct http_resp {
    int done;
    int retry_after;
    int in_retry_after;
    char body[200];
    size_t body_len;
} http_resp;

static int on_hdr_field(http_parser *p, const char *at, size_t len)
{
    http_resp *r = p->data;

    r->in_retry_after = len == 11 && strncasecmp(at, "retry-after", 11) == 0;
    return 0;
}

static int on_hdr_value(http_parser *p, const char *at, size_t len)
{
    http_resp *r = p->data;
    char tmp[16];

    if (r->in_retry_after && len < sizeof(tmp)) {
        memcpy(tmp, at, len);
        tmp[len] = '\0';
        r->retry_after = (int)strtol(tmp, NULL, 10);
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    http_resp *r = p->data;
    size_t room = sizeof(r->body) - 1 - r->body_len;

    if (len > room)
        len = room;
    memcpy(r->body + r->body_len, at, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

static int on_complete(http_parser *p)
{
    ((http_resp *)p->data)->done = 1;
    return 0;
}

static void *http_worker(void *arg)
{
    worker *w = arg;
    const options *o = w->opt;
    uint8_t *body = xcalloc(1, w->pl->len);
    char head[512];
    char rbuf[16384];
    http_parser_settings ps = {0};
    int fd = -1, hlen;

    memcpy(body, w->pl->buf, w->pl->len);
    ps.on_header_field = on_hdr_field;
    ps.on_header_value = on_hdr_value;
    ps.on_body = on_body;
    ps.on_message_complete = on_complete;
    hlen = snprintf(head, sizeof(head),
                    "POST /v1/traces HTTP/1.1\r\nHost: %s:%s\r\n"
                    "Content-Type: application/x-protobuf\r\nContent-Length: %zu\r\n"
                    "User-Agent: tollgate-loadgen\r\n\r\n",
                    o->host, o->port, w->pl->len);

    while (now_sec() < w->deadline) {
        http_parser parser;
        http_resp resp = {0};
        struct iovec iov[2];
        double t0;
        int broken = 0;

        if (fd < 0) {
            fd = dial(o);
            if (fd < 0) {
                note_error(w, "connect failed%s", NULL);
                sleep_sec(0.1);
                continue;
            }
            w->reconnects++;
        }
        patch_ids(w, body);
        iov[0].iov_base = head;
        iov[0].iov_len = (size_t)hlen;
        iov[1].iov_base = body;
        iov[1].iov_len = w->pl->len;
        t0 = now_sec();
        if (send_all(fd, iov, 2) != 0) {
            note_error(w, "send failed: %s", strerror(errno));
            close(fd);
            fd = -1;
            continue;
        }
        http_parser_init(&parser, HTTP_RESPONSE);
        parser.data = &resp;
        while (!resp.done) {
            ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                broken = 1;
                break;
            }
            if (http_parser_execute(&parser, &ps, rbuf, (size_t)n) != (size_t)n &&
                !resp.done) {
                broken = 1;
                break;
            }
        }
        if (broken) {
            note_error(w, "connection lost before the response%s", NULL);
            close(fd);
            fd = -1;
            continue;
        }
        if (parser.status_code == 200) {
            double t1 = now_sec();
            w->ok++;
            w->last_done = t1;
            record_latency(w, t1 - t0);
        } else if (parser.status_code == 429 || parser.status_code == 503) {
            w->refused++;
            sleep_sec(resp.retry_after > 0 ? (resp.retry_after > 1 ? 1.0 : 0.05) : 0.05);
        } else {
            char st[300];
            snprintf(st, sizeof(st), "HTTP %u: %s", parser.status_code, resp.body);
            note_error(w, "%s", st);
        }
        if (!http_should_keep_alive(&parser)) {
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    free(body);
    return NULL;
}

/* ---- OTLP/gRPC over h2c --------------------------------------------------- */

typedef struct h2_stream {
    int32_t id;   /* 0 = slot free */
    uint8_t *msg; /* 5-byte gRPC prefix + request */
    size_t len, off;
    double t0;
    int http_status;
    int grpc_status;
    char grpc_message[160];
} h2_stream;

typedef struct h2_conn {
    worker *w;
    int fd;
    int broken;
    int inflight;
    h2_stream st[MAX_STREAMS];
} h2_conn;

static ssize_t h2_send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags,
                          void *ud)
{
    h2_conn *c = ud;
    struct iovec iov = {(void *)data, len};

    (void)s;
    (void)flags;
    if (send_all(c->fd, &iov, 1) != 0) {
        c->broken = 1;
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return (ssize_t)len;
}

static ssize_t h2_read_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                          uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    h2_stream *st = src->ptr;
    size_t n = st->len - st->off;

    (void)s;
    (void)id;
    (void)ud;
    if (n > length)
        n = length;
    memcpy(buf, st->msg + st->off, n);
    st->off += n;
    if (st->off == st->len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int h2_header_cb(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen,
                        uint8_t flags, void *ud)
{
    h2_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    char tmp[16];

    (void)flags;
    (void)ud;
    if (!st)
        return 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0 && valuelen < sizeof(tmp)) {
        memcpy(tmp, value, valuelen);
        tmp[valuelen] = '\0';
        st->http_status = (int)strtol(tmp, NULL, 10);
    } else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0 &&
               valuelen < sizeof(tmp)) {
        memcpy(tmp, value, valuelen);
        tmp[valuelen] = '\0';
        st->grpc_status = (int)strtol(tmp, NULL, 10);
    } else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
        size_t n = valuelen < sizeof(st->grpc_message) - 1 ? valuelen
                                                           : sizeof(st->grpc_message) - 1;
        memcpy(st->grpc_message, value, n);
        st->grpc_message[n] = '\0';
    }
    return 0;
}

static int h2_close_cb(nghttp2_session *s, int32_t id, uint32_t error_code, void *ud)
{
    h2_conn *c = ud;
    h2_stream *st = nghttp2_session_get_stream_user_data(s, id);
    worker *w = c->w;

    if (!st)
        return 0;
    if (error_code == 0 && st->http_status == 200 && st->grpc_status == 0) {
        double t1 = now_sec();
        w->ok++;
        w->last_done = t1;
        record_latency(w, t1 - st->t0);
    } else if (st->grpc_status == 8 || st->grpc_status == 14) {
        w->refused++;
    } else {
        char msg[256];
        snprintf(msg, sizeof(msg), "gRPC stream error %u, HTTP %d, grpc-status %d: %s",
                 error_code, st->http_status, st->grpc_status, st->grpc_message);
        note_error(w, "%s", msg);
    }
    st->id = 0;
    c->inflight--;
    return 0;
}

static int h2_submit(h2_conn *c, nghttp2_session *s, const options *o, char *authority,
                     char *path)
{
    h2_stream *st = NULL;
    nghttp2_data_provider dp;
    int32_t id;
    nghttp2_nv hdrs[] = {
        {(uint8_t *)":method", (uint8_t *)"POST", 7, 4, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)":path", (uint8_t *)path, 5, strlen(path), NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)":authority", (uint8_t *)authority, 10, strlen(authority),
         NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16,
         NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"te", (uint8_t *)"trailers", 2, 8, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"user-agent", (uint8_t *)"tollgate-loadgen", 10, 16,
         NGHTTP2_NV_FLAG_NONE},
    };

    (void)o;
    for (int i = 0; i < MAX_STREAMS; i++) {
        if (c->st[i].id == 0 && c->st[i].msg) {
            st = &c->st[i];
            break;
        }
    }
    if (!st)
        return -1;
    patch_ids(c->w, st->msg + 5);
    st->off = 0;
    st->http_status = 0;
    st->grpc_status = -1;
    st->grpc_message[0] = '\0';
    st->t0 = now_sec();
    dp.source.ptr = st;
    dp.read_callback = h2_read_cb;
    id = nghttp2_submit_request(s, NULL, hdrs, sizeof(hdrs) / sizeof(hdrs[0]), &dp, st);
    if (id < 0)
        return -1;
    st->id = id;
    c->inflight++;
    return 0;
}

static void *grpc_worker(void *arg)
{
    worker *w = arg;
    const options *o = w->opt;
    h2_conn c;
    nghttp2_session_callbacks *cbs;
    char authority[300];
    char path[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    uint8_t rbuf[16384];
    int k = o->streams;

    memset(&c, 0, sizeof(c));
    c.w = w;
    c.fd = -1;
    for (int i = 0; i < k; i++) {
        c.st[i].len = w->pl->len + 5;
        c.st[i].msg = xcalloc(1, c.st[i].len);
        c.st[i].msg[0] = 0;
        c.st[i].msg[1] = (uint8_t)(w->pl->len >> 24);
        c.st[i].msg[2] = (uint8_t)(w->pl->len >> 16);
        c.st[i].msg[3] = (uint8_t)(w->pl->len >> 8);
        c.st[i].msg[4] = (uint8_t)w->pl->len;
        memcpy(c.st[i].msg + 5, w->pl->buf, w->pl->len);
    }
    snprintf(authority, sizeof(authority), "%s:%s", o->host, o->port);
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        die("out of memory");
    nghttp2_session_callbacks_set_send_callback(cbs, h2_send_cb);
    nghttp2_session_callbacks_set_on_header_callback(cbs, h2_header_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2_close_cb);

    while (now_sec() < w->deadline) {
        nghttp2_session *s = NULL;
        nghttp2_settings_entry iv[2] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};

        c.fd = dial(o);
        if (c.fd < 0) {
            note_error(w, "connect failed%s", NULL);
            sleep_sec(0.1);
            continue;
        }
        w->reconnects++;
        c.broken = 0;
        c.inflight = 0;
        for (int i = 0; i < k; i++)
            c.st[i].id = 0;
        if (nghttp2_session_client_new(&s, cbs, &c) != 0)
            die("out of memory");
        nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, iv, 2);

        for (;;) {
            double t = now_sec();
            ssize_t n;
            struct pollfd pfd;

            while (t < w->deadline && c.inflight < k && !c.broken)
                if (h2_submit(&c, s, o, authority, path) != 0)
                    break;
            if (c.inflight == 0 && t >= w->deadline)
                break;
            if (t >= w->drain_deadline) {
                note_error(w, "requests still in flight at the drain deadline%s", NULL);
                break;
            }
            if (nghttp2_session_send(s) != 0 || c.broken)
                break;
            pfd.fd = c.fd;
            pfd.events = POLLIN;
            pfd.revents = 0;
            if (poll(&pfd, 1, 500) <= 0)
                continue;
            n = recv(c.fd, rbuf, sizeof(rbuf), 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                c.broken = 1;
                break;
            }
            if (nghttp2_session_mem_recv(s, rbuf, (size_t)n) < 0) {
                c.broken = 1;
                break;
            }
            if (!nghttp2_session_want_read(s) && !nghttp2_session_want_write(s)) {
                c.broken = 1; /* GOAWAY: reconnect */
                break;
            }
        }
        if (c.broken || c.inflight) {
            for (int i = 0; i < c.inflight; i++)
                note_error(w, "connection lost with a request in flight%s", NULL);
        }
        nghttp2_session_del(s);
        close(c.fd);
        c.fd = -1;
        if (!c.broken && now_sec() >= w->deadline)
            break;
    }
    nghttp2_session_callbacks_del(cbs);
    for (int i = 0; i < k; i++)
        free(c.st[i].msg);
    return NULL;
}

/* ---- the collector's own figures ----------------------------------------- */

/* utime+stime of `pid` in seconds, or -1. */
static double proc_cpu_sec(long pid)
{
    char path[64], line[2048];
    FILE *f;
    char *p;
    unsigned long long ut = 0, st = 0;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    /* The command name may hold spaces and parentheses: fields are counted
     * from the last ')'. utime and stime are fields 14 and 15. */
    p = strrchr(line, ')');
    if (!p)
        return -1;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
               &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A "VmHWM:" style field of /proc/PID/status in KiB, or -1. */
static long proc_status_kib(long pid, const char *field)
{
    char path[64], line[256];
    FILE *f;
    long v = -1;
    size_t flen = strlen(field);

    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            v = strtol(line + flen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* This process's own CPU seconds: when they approach the wall time on the
 * one core loadgen is pinned to, the figures measure loadgen, not the
 * collector. */
static double self_cpu_sec(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return NAN;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- main ----------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double percentile(const double *sorted, size_t n, double q)
{
    size_t i;

    if (!n)
        return NAN;
    i = (size_t)ceil(q * (double)n);
    if (i > 0)
        i--;
    if (i >= n)
        i = n - 1;
    return sorted[i];
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: loadgen [--proto http|grpc] [--addr HOST:PORT] [--conns N] [--duration "
        "SEC]\n"
        "               [--streams K] [--spans N] [--seed S] [--payload FILE]\n"
        "               [--write-payload FILE] [--pid PID] [--quiet]\n"
        "\n"
        "Sends a pre-encoded OTLP ExportTraceServiceRequest to a collector as fast as "
        "it\n"
        "acknowledges, and prints spans/s, requests/s, p50/p99 acknowledgement latency\n"
        "and, with --pid, the collector's CPU-seconds per million spans and peak RSS.\n"
        "\n"
        "  --proto          http (OTLP/HTTP protobuf, default) or grpc (OTLP/gRPC, h2c)\n"
        "  --addr           collector address (default 127.0.0.1:4318, or :4317 for "
        "grpc)\n"
        "  --conns          connections, one thread each (default 1, at most %d)\n"
        "  --duration       seconds of load (default 10, at most %d)\n"
        "  --streams        concurrent gRPC streams per connection (default 1, at most "
        "%d)\n"
        "  --spans          spans per generated request (default 1000)\n"
        "  --seed           payload generator seed (default 1)\n"
        "  --payload        send this encoded ExportTraceServiceRequest instead\n"
        "  --write-payload  write the generated request to FILE and exit\n"
        "  --pid            the collector's process id, for CPU and RSS figures\n",
        MAX_CONNS, MAX_DURATION_SEC, MAX_STREAMS);
}

static void parse_addr(options *o, const char *addr)
{
    const char *colon = strrchr(addr, ':');
    size_t hl;

    if (!colon || colon == addr || !colon[1])
        die("--addr wants HOST:PORT");
    hl = (size_t)(colon - addr);
    if (hl >= sizeof(o->host) || strlen(colon + 1) >= sizeof(o->port))
        die("--addr too long");
    memcpy(o->host, addr, hl);
    o->host[hl] = '\0';
    if (o->host[0] == '[' && hl > 2 && o->host[hl - 1] == ']') {
        memmove(o->host, o->host + 1, hl - 2);
        o->host[hl - 2] = '\0';
    }
    snprintf(o->port, sizeof(o->port), "%s", colon + 1);
}

static long parse_long(const char *s, const char *what, long lo, long hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) {
        fprintf(stderr, "loadgen: %s must be an integer in [%ld, %ld]\n", what, lo, hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"proto", required_argument, NULL, 'P'},
        {"addr", required_argument, NULL, 'a'},
        {"conns", required_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'd'},
        {"streams", required_argument, NULL, 'k'},
        {"spans", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"payload", required_argument, NULL, 'f'},
        {"write-payload", required_argument, NULL, 'w'},
        {"pid", required_argument, NULL, 'p'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    options o = {0};
    payload pl = {0};
    const char *addr = NULL;
    worker *ws;
    pthread_t *th;
    double t_start, t_end = 0, cpu0 = -1, cpu1 = -1, self0, self1, *all;
    uint64_t ok = 0, refused = 0, errors = 0;
    size_t nall = 0, k = 0;
    const char *first_error = NULL;
    int ch;

    o.proto = PROTO_HTTP;
    o.conns = 1;
    o.streams = 1;
    o.duration = 10;
    o.spans = 1000;
    o.seed = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'P':
            if (strcmp(optarg, "http") == 0)
                o.proto = PROTO_HTTP;
            else if (strcmp(optarg, "grpc") == 0)
                o.proto = PROTO_GRPC;
            else
                die("--proto is http or grpc");
            break;
        case 'a':
            addr = optarg;
            break;
        case 'c':
            o.conns = (int)parse_long(optarg, "--conns", 1, MAX_CONNS);
            break;
        case 'd':
            o.duration = (double)parse_long(optarg, "--duration", 1, MAX_DURATION_SEC);
            break;
        case 'k':
            o.streams = (int)parse_long(optarg, "--streams", 1, MAX_STREAMS);
            break;
        case 'n':
            o.spans = (int)parse_long(optarg, "--spans", 1, 100000);
            break;
        case 's':
            o.seed = (unsigned long long)parse_long(optarg, "--seed", 1, 0x7fffffffL);
            break;
        case 'f':
            o.payload_file = optarg;
            break;
        case 'w':
            o.write_payload = optarg;
            break;
        case 'p':
            o.pid = parse_long(optarg, "--pid", 1, 0x7fffffffL);
            break;
        case 'q':
            o.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    parse_addr(&o, addr ? addr
                        : (o.proto == PROTO_GRPC ? "127.0.0.1:4317" : "127.0.0.1:4318"));
    signal(SIGPIPE, SIG_IGN);

    if (o.payload_file)
        load_payload(&pl, o.payload_file);
    else
        build_payload(&pl, o.spans, o.seed);
    index_payload(&pl);
    if (o.write_payload) {
        FILE *f = fopen(o.write_payload, "wb");
        if (!f || fwrite(pl.buf, 1, pl.len, f) != pl.len || fclose(f) != 0)
            die("cannot write --write-payload file");
        printf("wrote %zu bytes: %zu spans, %.1f bytes/span\n", pl.len, pl.spans,
               (double)pl.len / (double)pl.spans);
        free(pl.buf);
        free(pl.id_off);
        return 0;
    }
    if (!pl.spans)
        die("the payload holds no spans");
    if (!o.quiet)
        printf("payload: %zu bytes, %zu spans (%.1f bytes/span), %zu trace-id sites\n",
               pl.len, pl.spans, (double)pl.len / (double)pl.spans, pl.n_id_off);

    ws = xcalloc((size_t)o.conns, sizeof(*ws));
    th = xcalloc((size_t)o.conns, sizeof(*th));
    if (o.pid)
        cpu0 = proc_cpu_sec(o.pid);
    self0 = self_cpu_sec();
    t_start = now_sec();
    for (int i = 0; i < o.conns; i++) {
        ws[i].id = i + 1;
        ws[i].opt = &o;
        ws[i].pl = &pl;
        ws[i].deadline = t_start + o.duration;
        ws[i].drain_deadline = ws[i].deadline + DRAIN_SEC;
        ws[i].counter = (uint64_t)time(NULL) << 20;
        if (pthread_create(&th[i], NULL,
                           o.proto == PROTO_GRPC ? grpc_worker : http_worker,
                           &ws[i]) != 0)
            die("cannot start a thread");
    }
    for (int i = 0; i < o.conns; i++)
        pthread_join(th[i], NULL);
    if (o.pid)
        cpu1 = proc_cpu_sec(o.pid);
    self1 = self_cpu_sec();

    for (int i = 0; i < o.conns; i++) {
        ok += ws[i].ok;
        refused += ws[i].refused;
        errors += ws[i].errors;
        nall += ws[i].nlat;
        if (ws[i].last_done > t_end)
            t_end = ws[i].last_done;
        if (!first_error && ws[i].first_error[0])
            first_error = ws[i].first_error;
    }
    all = xcalloc(nall, sizeof(*all));
    for (int i = 0; i < o.conns; i++) {
        memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof(*all));
        k += ws[i].nlat;
        free(ws[i].lat);
    }
    qsort(all, nall, sizeof(*all), cmp_double);
    {
        double elapsed = (t_end > t_start ? t_end : now_sec()) - t_start;
        double spans_s = (double)ok * (double)pl.spans / elapsed;
        double req_s = (double)ok / elapsed;
        double p50 = percentile(all, nall, 0.50) * 1e3,
               p99 = percentile(all, nall, 0.99) * 1e3;
        double cpu = (cpu0 >= 0 && cpu1 >= 0) ? cpu1 - cpu0 : NAN;
        double cpu_per_m = ok ? cpu / ((double)ok * (double)pl.spans / 1e6) : NAN;
        long hwm = o.pid ? proc_status_kib(o.pid, "VmHWM") : -1;
        long rss = o.pid ? proc_status_kib(o.pid, "VmRSS") : -1;
        double self_pct = 100.0 * (self1 - self0) / elapsed;

        if (!o.quiet) {
            printf("%s, %d connection(s)%s, %.1f s: %" PRIu64
                   " requests acknowledged, %" PRIu64 " refused, %" PRIu64 " errors\n",
                   o.proto == PROTO_GRPC ? "OTLP/gRPC" : "OTLP/HTTP", o.conns,
                   o.proto == PROTO_GRPC && o.streams > 1 ? " x streams" : "", elapsed,
                   ok, refused, errors);
            printf("  spans/s         %.0f\n", spans_s);
            printf("  requests/s      %.1f\n", req_s);
            printf("  ack latency     p50 %.2f ms, p99 %.2f ms\n", p50, p99);
            if (o.pid) {
                printf("  collector CPU   %.2f s, %.3f CPU-s per million spans\n", cpu,
                       cpu_per_m);
                printf("  collector RSS   peak %.1f MiB (now %.1f MiB)\n",
                       (double)hwm / 1024.0, (double)rss / 1024.0);
            }
            printf("  loadgen CPU     %.0f%% of one core\n", self_pct);
            if (first_error)
                printf("  first error     %s\n", first_error);
        }
        printf("RESULT proto=%s conns=%d streams=%d duration_s=%.1f spans_per_req=%zu "
               "bytes_per_req=%zu ok_reqs=%" PRIu64 " refused=%" PRIu64 " errors=%" PRIu64
               " spans_per_s=%.0f req_per_s=%.1f p50_ms=%.2f p99_ms=%.2f cpu_s=%.2f "
               "cpu_s_per_mspans=%.3f peak_rss_mib=%.1f loadgen_cpu_pct=%.0f\n",
               o.proto == PROTO_GRPC ? "grpc" : "http", o.conns, o.streams, elapsed,
               pl.spans, pl.len, ok, refused, errors, spans_s, req_s, p50, p99, cpu,
               cpu_per_m, hwm >= 0 ? (double)hwm / 1024.0 : NAN, self_pct);
    }
    free(all);
    free(ws);
    free(th);
    free(pl.buf);
    free(pl.id_off);
    return errors && !ok ? 1 : 0;
}
