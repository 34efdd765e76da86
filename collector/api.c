/* The site API; see api.h.
 *
 * Read requests are answered from the thread pool: the work callback reads
 * the store, rebuilds an OTLP message holding only what was asked for and
 * encodes it as OTLP/JSON; the after-work callback, back on the loop
 * thread, sends it. The HTTP request object is touched only on the loop
 * thread. */
#include "api.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tg_access.h"
#include "tg_codec.h"
#include "tg_otlp_view.h"
#include "tg_plan.h"
#include "tg_time.h"
#include "tg_err.h"
#include "tg_json.h"
#include "tg_units.h"
#include "tg_log.h"
#include "tg_otlp_json.h"

/* Decoded records to the memory their JSON answer takes at its peak (the
 * jansson tree and its text together, with the records): 112 MB at the peak
 * for 24 MiB of decoded records, measured with a span of 100,000
 * attributes. And how much reading, in one read or added up, after which
 * freed memory is trimmed. */
#define TG_API_JSON_FACTOR 5
#define TG_API_TRIM_BYTES (8u << 20)

/* What the reads have used since the last trim, over every worker: many
 * mid-sized reads leave each worker's malloc arena at its own high-water
 * mark (142 MB kept after 64 reads of 25,000-attribute spans), so memory is
 * given back once they add up to TG_API_TRIM_BYTES, not only after one
 * read that large. */
static _Atomic uint64_t read_bytes_untrimmed;

typedef Opentelemetry__Proto__Trace__V1__ResourceSpans resource_spans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans scope_spans;
typedef Opentelemetry__Proto__Trace__V1__Span span;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs resource_logs;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs scope_logs;
typedef Opentelemetry__Proto__Logs__V1__LogRecord log_record;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics resource_metrics;

enum read_kind {
    READ_TRACE,
    READ_LOGS,
    READ_METRICS,
    READ_STATUS,
    READ_SEARCH,
    READ_LOGQL,
    READ_TAGS,
    READ_LEDGER
};

/* A growable array of pointers in the read's arena. */
typedef struct ptr_vec {
    void **v;
    size_t n, cap;
} ptr_vec;

typedef struct api_read {
    uv_work_t work;
    tg_api *api;
    tg_http_request *req;
    enum read_kind kind;
    uint8_t trace_id[16];
    char service[256];
    int has_service;
    char bad[160]; /* a 400's message, when a parameter is refused */
    uint64_t t_from, t_to;
    size_t limit; /* items (log records, data points); 0 = none */
    size_t items;
    tg_arena arena;
    /* READ_SEARCH decodes each record here, reset per record: a scan of
     * millions of spans must not hold them all at once (hits are kept in
     * jansson objects, which do not live in an arena). */
    tg_arena scratch;
    tg_arena *decode; /* &arena, or &scratch while searching */
    ptr_vec out;      /* ResourceSpans / ResourceLogs / ResourceMetrics */
    int err;
    int status;
    /* The view the caller is cleared for and asked for: "raw" (full
     * fidelity at the site) or a destination of the residency policy,
     * applied to every request read before anything is encoded. */
    char view[64];
    char client[64];
    char asker[160]; /* the user and role the centre says it asks for */
    tg_view_rules vr;
    int use_view;
    tg_egress_tally tally;
    uint64_t records_read, bytes_read;
    /* READ_SEARCH: the parsed query, the hits by trace id, limits. READ_TRACE
     * with envelope: the federated answer's shape, this site alone. */
    tg_plan *plan;
    json_t *hits;
    size_t max_hits, spss;
    uint64_t spans_inspected, t0_ns;
    int envelope;
    int truncated; /* READ_LOGQL stopped at its limit */
    char tag[256]; /* READ_TAGS: the tag whose values are asked, or "" */
    char *body;    /* malloc'd response body */
    size_t body_len;
} api_read;

static int vec_push(tg_arena *a, ptr_vec *v, void *p)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        void **nv = tg_arena_alloc(a, cap * sizeof(*nv));
        if (!nv)
            return TG_ENOMEM;
        if (v->n)
            memcpy(nv, v->v, v->n * sizeof(*nv));
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = p;
    return 0;
}

static int service_matches(const api_read *rd,
                           const Opentelemetry__Proto__Resource__V1__Resource *r)
{
    return !rd->has_service || strcmp(tg_otlp_service_name(r), rd->service) == 0;
}

/* Decodes one stored request and, unless the caller reads raw, passes it
 * through the destination view it is cleared for: what is returned is
 * what may leave the site for this caller. A view that fails gives
 * nothing (fail closed). */
static ProtobufCMessage *unpack_viewed(api_read *rd, const ProtobufCMessageDescriptor *d,
                                       enum tg_signal sig, const uint8_t *data,
                                       size_t len)
{
    tg_arena *a = rd->decode ? rd->decode : &rd->arena;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, &a->pb, len, data), *out = NULL;

    rd->records_read++;
    rd->bytes_read += len;
    if (!m) {
        rd->err = TG_ENOMEM;
        return NULL;
    }
    if (!rd->use_view)
        return m;
    if (tg_view_rules_fn(&rd->vr, sig, m, NULL, 0, a, &out, &rd->tally) != 0 || !out) {
        rd->err = TG_EINVAL; /* fail closed: nothing of this request */
        return NULL;
    }
    return out;
}

/* What a read keeps of a stored request, level by level. keep_item: 1
 * keep, 0 drop, -1 drop it and stop reading. */
typedef int (*keep_fn)(api_read *rd, const void *msg);

/* The repeated message field `name` of m: the array (by address, so it can
 * be replaced) and its count. */
static ProtobufCMessage ***repeated(ProtobufCMessage *m, const char *name, size_t **n)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);

    *n = (size_t *)((char *)m + f->quantifier_offset);
    return (ProtobufCMessage ***)((char *)m + f->offset);
}

/* Filters a traces or logs request in place, resources -> scopes -> items
 * (the repeated fields names[0..2]): keeps the items keep_item accepts in
 * the resources keep_res accepts (NULL: all), drops scopes and resources
 * left empty, and appends the kept resources to rd->out. Returns 1 to stop
 * the scan (an error, or keep_item said so), else 0. */
static int keep_nested(api_read *rd, ProtobufCMessage *req, const char *const names[3],
                       keep_fn keep_res, keep_fn keep_item)
{
    size_t *nres, *nsc, *nit;
    ProtobufCMessage ***res = repeated(req, names[0], &nres);
    int stop = 0;

    for (size_t i = 0; i < *nres && !stop; i++) {
        ProtobufCMessage *r = (*res)[i], ***sc;
        ptr_vec scopes = {0};

        if (keep_res && !keep_res(rd, r))
            continue;
        sc = repeated(r, names[1], &nsc);
        for (size_t j = 0; j < *nsc && !stop; j++) {
            ProtobufCMessage ***it = repeated((*sc)[j], names[2], &nit);
            size_t kept = 0;

            for (size_t k = 0; k < *nit; k++) {
                int v = keep_item(rd, (*it)[k]);

                if (v < 0) {
                    stop = 1;
                    break;
                }
                if (v)
                    (*it)[kept++] = (*it)[k];
            }
            *nit = kept;
            if (kept && vec_push(&rd->arena, &scopes, (*sc)[j])) {
                rd->err = TG_ENOMEM;
                return 1;
            }
        }
        if (!scopes.n)
            continue;
        *sc = (ProtobufCMessage **)scopes.v;
        *nsc = scopes.n;
        if (vec_push(&rd->arena, &rd->out, r)) {
            rd->err = TG_ENOMEM;
            return 1;
        }
    }
    return stop;
}

static int span_in_trace(api_read *rd, const void *msg)
{
    const span *sp = msg;

    return sp->trace_id.len == 16 && memcmp(sp->trace_id.data, rd->trace_id, 16) == 0;
}

/* Keeps the spans of rd->trace_id from one stored request. */
static int visit_trace(void *ctx, uint64_t seq, enum tg_signal sig, const uint8_t *data,
                       size_t len)
{
    static const char *const names[3] = {"resource_spans", "scope_spans", "spans"};
    api_read *rd = ctx;
    ProtobufCMessage *req;

    (void)seq;
    if (sig != TG_SIGNAL_TRACES)
        return 0;
    req = unpack_viewed(rd, tg_otlp_request_descriptor(sig), sig, data, len);
    if (!req)
        return 1;
    return keep_nested(rd, req, names, NULL, span_in_trace) && rd->err ? 1 : 0;
}

static int in_window(const api_read *rd, uint64_t t)
{
    return (!rd->t_from || t >= rd->t_from) && (!rd->t_to || t <= rd->t_to);
}

static int logs_resource(api_read *rd, const void *msg)
{
    return service_matches(rd, ((const resource_logs *)msg)->resource);
}

static int log_in_window(api_read *rd, const void *msg)
{
    const log_record *lr = msg;

    if (rd->limit && rd->items >= rd->limit)
        return -1;
    if (!in_window(rd,
                   lr->time_unix_nano ? lr->time_unix_nano : lr->observed_time_unix_nano))
        return 0;
    rd->items++;
    return 1;
}

static int visit_logs(void *ctx, uint64_t seq, enum tg_signal sig, const uint8_t *data,
                      size_t len)
{
    static const char *const names[3] = {"resource_logs", "scope_logs", "log_records"};
    api_read *rd = ctx;
    ProtobufCMessage *req;

    (void)seq;
    if (sig != TG_SIGNAL_LOGS)
        return 0;
    req = unpack_viewed(rd, tg_otlp_request_descriptor(sig), sig, data, len);
    if (!req || keep_nested(rd, req, names, logs_resource, log_in_window))
        return 1;
    return rd->limit && rd->items >= rd->limit;
}

/* Metrics are returned per stored resource block: a read-back, not a query
 * engine; the time window selects records by their indexed range. */
static int visit_metrics(void *ctx, uint64_t seq, enum tg_signal sig, const uint8_t *data,
                         size_t len)
{
    api_read *rd = ctx;
    tg_otlp_metrics_req *req;

    (void)seq;
    if (sig != TG_SIGNAL_METRICS)
        return 0;
    req = (tg_otlp_metrics_req *)unpack_viewed(
        rd,
        &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor,
        TG_SIGNAL_METRICS, data, len);
    if (!req)
        return 1;
    for (size_t i = 0; i < req->n_resource_metrics; i++) {
        resource_metrics *rm = req->resource_metrics[i];
        if (!service_matches(rd, rm->resource))
            continue;
        if (rd->limit && rd->items >= rd->limit)
            return 1;
        for (size_t j = 0; j < rm->n_scope_metrics; j++)
            for (size_t k = 0; k < rm->scope_metrics[j]->n_metrics; k++)
                rd->items += tg_otlp_metric_points(rm->scope_metrics[j]->metrics[k]);
        if (vec_push(&rd->arena, &rd->out, rm)) {
            rd->err = TG_ENOMEM;
            return 1;
        }
    }
    return 0;
}

static void set_body(api_read *rd, int status, char *body, size_t len)
{
    rd->status = status;
    rd->body = body;
    rd->body_len = len;
}

static void set_text(api_read *rd, int status, const char *fmt, const char *arg)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), fmt, arg);
    char *b = malloc((size_t)n + 1);

    if (b)
        memcpy(b, buf, (size_t)n + 1);
    set_body(rd, status, b, b ? (size_t)n : 0);
}

static void encode_status(api_read *rd)
{
    tg_store_stats st;
    json_t *o;
    char *s;

    if (tg_store_get_stats(rd->api->store, &st) != 0) {
        set_text(rd, 500, "{\"error\":\"%s\"}", "store stats unavailable");
        return;
    }
    o = json_pack(
        "{s:s, s:s, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I}, s:I, s:I}}",
        "site", rd->api->site, "version", TG_VERSION, "started_unix",
        (json_int_t)rd->api->started_unix, "store", "records", (json_int_t)st.records,
        "record_bytes", (json_int_t)st.record_bytes, "raw_bytes",
        (json_int_t)st.raw_bytes, "file_bytes", (json_int_t)st.file_bytes, "map_size",
        (json_int_t)st.map_size, "items", "traces",
        (json_int_t)st.items[TG_SIGNAL_TRACES], "logs",
        (json_int_t)st.items[TG_SIGNAL_LOGS], "metrics",
        (json_int_t)st.items[TG_SIGNAL_METRICS], "evicted_records",
        (json_int_t)st.evicted_records, "map_grows", (json_int_t)st.map_grows);
    if (o && rd->api->extra_status_json) {
        char *x = rd->api->extra_status_json(rd->api->extra_ctx);
        json_t *xj = x ? json_loads(x, 0, NULL) : NULL;
        free(x);
        if (xj)
            json_object_set_new(o, "forwarder", xj);
    }
    s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    set_body(rd, s ? 200 : 500, s, s ? strlen(s) : 0);
}

/* The scans (search, LogQL, tags) read millions of records: each is
 * decoded into the scratch arena, reset first, and viewed. NULL with
 * rd->err set when it cannot be. */
static ProtobufCMessage *scan_decode(api_read *rd, enum tg_signal sig,
                                     const uint8_t *data, size_t len)
{
    tg_arena_reset(&rd->scratch);
    return unpack_viewed(rd, tg_otlp_request_descriptor(sig), sig, data, len);
}

/* A scanned record of signal `want`, decoded and cut into per-span or
 * per-log-record views (tg_span_view or tg_log_view) in the scratch arena.
 * NULL with *stop 0 for a record of another signal, NULL with *stop 1 (and
 * rd->err set) when reading must stop. */
static void *scan_views(api_read *rd, enum tg_signal want, enum tg_signal sig,
                        const uint8_t *data, size_t len, size_t *n, int *stop)
{
    ProtobufCMessage *req;
    void *views = NULL;
    size_t *of;
    int rc;

    *stop = 0;
    if (sig != want)
        return NULL;
    if (!(req = scan_decode(rd, sig, data, len))) {
        *stop = 1;
        return NULL;
    }
    if (want == TG_SIGNAL_TRACES) {
        tg_span_view *sv;
        const Opentelemetry__Proto__Trace__V1__Span **spans;
        rc = tg_otlp_span_views((tg_otlp_traces_req *)req, rd->api->site, &rd->scratch,
                                &sv, &spans, &of, n);
        views = sv;
    } else {
        tg_log_view *lv;
        const Opentelemetry__Proto__Logs__V1__LogRecord **recs;
        rc = tg_otlp_log_views((tg_otlp_logs_req *)req, rd->api->site, &rd->scratch, &lv,
                               &recs, &of, n);
        views = lv;
    }
    if (rc != 0) {
        rd->err = TG_ENOMEM;
        *stop = 1;
        return NULL;
    }
    return views;
}

/* ---- TraceQL search, the site's part ------------------------------------
 *
 * The pushed-down filters are evaluated over every span of the stored
 * requests in the window, newest first, after the caller's view: what a
 * caller may not see, it cannot search by either (a raw value is no
 * oracle). A trace with a candidate span is a hit; the hit carries what
 * this site knows of it (its earliest start and latest end here, the root
 * if it is here, the matching spans and per-service counts). The centre
 * merges the sites' hits and, when the query needs the whole trace,
 * evaluates it on the stitched trace. */

#define SEARCH_MAX_TRACES 2000
/* The most records one logs or metrics scan returns. */
#define SCAN_MAX_LIMIT 100000

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    tg_hex_encode(b, n, out);
}

static json_t *hit_for(api_read *rd, const uint8_t *trace_id)
{
    char hex[33];
    json_t *h;

    hex_of(trace_id, 16, hex);
    if ((h = json_object_get(rd->hits, hex)))
        return h;
    if (json_object_size(rd->hits) >= rd->max_hits)
        return NULL;
    h = json_pack("{s:s,s:s,s:s,s:I,s:I,s:[],s:{},s:I}", "traceID", hex,
                  "rootServiceName", "", "rootTraceName", "", "_start", (json_int_t)0,
                  "_end", (json_int_t)0, "_spans", "serviceStats", "matched",
                  (json_int_t)0);
    json_object_set_new(rd->hits, hex, h);
    return h;
}

static void hit_add_span(api_read *rd, json_t *h, const tg_span_view *v, int matched)
{
    json_int_t st = json_integer_value(json_object_get(h, "_start"));
    json_int_t en = json_integer_value(json_object_get(h, "_end"));
    json_t *stats = json_object_get(h, "serviceStats"), *svc;
    const char *service = v->service ? v->service : "unknown_service";
    char sid[17], buf[24];

    if (!st || (json_int_t)v->start_ns < st)
        json_object_set_new(h, "_start", json_integer((json_int_t)v->start_ns));
    if ((json_int_t)v->end_ns > en)
        json_object_set_new(h, "_end", json_integer((json_int_t)v->end_ns));
    if (!v->parent_id) {
        json_object_set_new(h, "rootServiceName", json_string(service));
        json_object_set_new(h, "rootTraceName", json_string(v->name ? v->name : ""));
    }
    if (!(svc = json_object_get(stats, service))) {
        svc = json_pack("{s:I,s:I}", "spanCount", (json_int_t)0, "errorCount",
                        (json_int_t)0);
        json_object_set_new(stats, service, svc);
    }
    json_object_set_new(
        svc, "spanCount",
        json_integer(json_integer_value(json_object_get(svc, "spanCount")) + 1));
    if (v->status == 2)
        json_object_set_new(
            svc, "errorCount",
            json_integer(json_integer_value(json_object_get(svc, "errorCount")) + 1));
    if (!matched)
        return;
    json_object_set_new(
        h, "matched",
        json_integer(json_integer_value(json_object_get(h, "matched")) + 1));
    if (json_array_size(json_object_get(h, "_spans")) >= rd->spss)
        return;
    hex_of(v->span_id, 8, sid);
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v->start_ns);
    {
        char dur[24];
        snprintf(
            dur, sizeof(dur), "%llu",
            (unsigned long long)(v->end_ns > v->start_ns ? v->end_ns - v->start_ns : 0));
        json_array_append_new(json_object_get(h, "_spans"),
                              json_pack("{s:s,s:s,s:s,s:s,s:s}", "spanID", sid, "name",
                                        v->name ? v->name : "", "startTimeUnixNano", buf,
                                        "durationNanos", dur, "service", service));
    }
}

static int visit_search(void *ctx, uint64_t seq, enum tg_signal sig, const uint8_t *data,
                        size_t len)
{
    api_read *rd = ctx;
    tg_span_view *views;
    size_t n;
    int stop;

    (void)seq;
    if (!(views = scan_views(rd, TG_SIGNAL_TRACES, sig, data, len, &n, &stop)))
        return stop;
    for (size_t i = 0; i < n; i++) {
        int cand;
        json_t *h;

        rd->spans_inspected++;
        if (!in_window(rd, views[i].start_ns))
            continue;
        cand = tg_plan_span_candidate(rd->plan, &views[i]);
        h = cand ? hit_for(rd, views[i].trace_id) : NULL;
        if (!h) {
            /* Not a match: it still tells a known hit its extent and root. */
            char hex[33];
            hex_of(views[i].trace_id, 16, hex);
            if ((h = json_object_get(rd->hits, hex)))
                hit_add_span(rd, h, &views[i], 0);
            continue;
        }
        hit_add_span(rd, h, &views[i], 1);
    }
    /* Scanned newest first: enough distinct traces, stop reading. */
    return json_object_size(rd->hits) >= rd->max_hits;
}

/* {"traces":[Tempo-shaped hits],"stats":{...}} */
static void encode_search(api_read *rd)
{
    json_t *arr = json_array(), *doc;
    const char *k;
    json_t *h;
    char *s;

    json_object_foreach(rd->hits, k, h)
    {
        json_int_t st = json_integer_value(json_object_get(h, "_start"));
        json_int_t en = json_integer_value(json_object_get(h, "_end"));
        char buf[24];
        json_t *set;

        snprintf(buf, sizeof(buf), "%lld", (long long)st);
        json_object_set_new(h, "startTimeUnixNano", json_string(buf));
        json_object_set_new(h, "durationMs", json_integer((en - st) / 1000000));
        set = json_pack("{s:O,s:O}", "spans", json_object_get(h, "_spans"), "matched",
                        json_object_get(h, "matched"));
        json_object_set_new(h, "spanSets", json_pack("[o]", set));
        json_object_del(h, "_start");
        json_object_del(h, "_end");
        json_object_del(h, "_spans");
        json_object_del(h, "matched");
        if (!*json_string_value(json_object_get(h, "rootServiceName"))) {
            json_object_del(h, "rootServiceName");
            json_object_del(h, "rootTraceName");
        }
        json_array_append(arr, h);
    }
    doc = json_pack("{s:o,s:{s:I,s:I,s:I,s:f},s:s,s:s}", "traces", arr, "stats",
                    "inspectedRecords", (json_int_t)rd->records_read, "inspectedSpans",
                    (json_int_t)rd->spans_inspected, "inspectedBytes",
                    (json_int_t)rd->bytes_read, "tookMs",
                    (double)(tg_mono_ns() - rd->t0_ns) / 1e6, "site", rd->api->site,
                    "view", rd->view);
    s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    set_body(rd, s ? 200 : 500, s, s ? strlen(s) : 0);
}

/* ---- LogQL, the site's part -------------------------------------------------
 *
 * The stream selector and the log pipeline run here, over the viewed
 * records. A log query answers the matching lines as Loki streams (labels:
 * service_name, site, and the selector's own labels), newest first, up to
 * the limit. A metric query answers no line at all: for each stream, the
 * times (and sizes) of the matching records, which is all the centre needs
 * to count, rate and aggregate; values never leave for a metric. */

#define LOGQL_MAX_SAMPLES 2000000

static json_t *stream_labels(const api_read *rd, const tg_log_view *v)
{
    json_t *l = json_pack("{s:s,s:s}", "service_name",
                          v->service ? v->service : "unknown_service", "site",
                          v->site ? v->site : "");

    for (size_t i = 0; i < rd->plan->nsel; i++) {
        const char *name = rd->plan->sel[i].name;
        char key[256];
        tg_pval pv;
        size_t n = strlen(name);

        if (json_object_get(l, name) || n >= sizeof(key) || !v->resource_attr)
            continue;
        for (size_t k = 0; k <= n; k++)
            key[k] = name[k] == '_' ? '.' : name[k];
        if ((v->resource_attr(v->ctx, name, &pv) || v->resource_attr(v->ctx, key, &pv)) &&
            pv.type == TG_PV_STR)
            json_object_set_new(l, name, json_stringn(pv.s, pv.len));
    }
    return l;
}

static int visit_logql(void *ctx, uint64_t seq, enum tg_signal sig, const uint8_t *data,
                       size_t len)
{
    api_read *rd = ctx;
    tg_log_view *views;
    size_t n;
    int stop;

    (void)seq;
    if (!(views = scan_views(rd, TG_SIGNAL_LOGS, sig, data, len, &n, &stop)))
        return stop;
    for (size_t i = 0; i < n; i++) {
        json_t *labels, *stream;
        char *key, ts[24];

        rd->spans_inspected++;
        if (!in_window(rd, views[i].time_ns) || !tg_plan_log_match(rd->plan, &views[i]))
            continue;
        labels = stream_labels(rd, &views[i]);
        key = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
        if (!key) {
            json_decref(labels);
            rd->err = TG_ENOMEM;
            return 1;
        }
        if (!(stream = json_object_get(rd->hits, key))) {
            stream = rd->plan->metric
                         ? json_pack("{s:o,s:[],s:[]}", "stream", labels, "t", "bytes")
                         : json_pack("{s:o,s:[]}", "stream", labels, "values");
            json_object_set_new(rd->hits, key, stream);
        } else {
            json_decref(labels);
        }
        free(key);
        snprintf(ts, sizeof(ts), "%llu", (unsigned long long)views[i].time_ns);
        if (rd->plan->metric) {
            json_array_append_new(json_object_get(stream, "t"), json_string(ts));
            json_array_append_new(json_object_get(stream, "bytes"),
                                  json_integer((json_int_t)views[i].body_len));
        } else {
            json_array_append_new(json_object_get(stream, "values"),
                                  json_pack("[s,s%]", ts,
                                            views[i].body ? views[i].body : "",
                                            views[i].body_len));
        }
        if (++rd->items >= rd->limit) {
            rd->truncated = 1;
            return 1;
        }
    }
    return 0;
}

static void encode_logql(api_read *rd)
{
    json_t *arr = json_array(), *doc;
    const char *k;
    json_t *st;
    char *s;

    json_object_foreach(rd->hits, k, st)
    {
        json_array_append(arr, st);
    }
    doc = json_pack(
        "{s:s,s:o,s:b,s:{s:I,s:I,s:I,s:f},s:s,s:s}", "resultType",
        rd->plan->metric ? "samples" : "streams", "result", arr, "truncated",
        rd->truncated, "stats", "inspectedRecords", (json_int_t)rd->records_read,
        "inspectedLines", (json_int_t)rd->spans_inspected, "inspectedBytes",
        (json_int_t)rd->bytes_read, "tookMs", (double)(tg_mono_ns() - rd->t0_ns) / 1e6,
        "site", rd->api->site, "view", rd->view);
    s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    set_body(rd, s ? 200 : 500, s, s ? strlen(s) : 0);
}

/* ---- tag names and values, for query builders ------------------------------
 *
 * Grafana's TraceQL editor asks which attributes exist and which values
 * one takes. The site answers from its newest stored requests (at most
 * TAGS_MAX_RECORDS), under the caller's view, so a tag's values are what
 * the caller could search by. */

#define TAGS_MAX_RECORDS 200
#define TAGS_MAX_VALUES 1000

static void tag_collect(api_read *rd, const char *scope, tg_otlp_kv *const *kv, size_t n)
{
    json_t *names = json_object_get(rd->hits, scope);

    for (size_t i = 0; i < n; i++) {
        const tg_otlp_any *v = kv[i] ? kv[i]->value : NULL;
        if (!kv[i] || !kv[i]->key)
            continue;
        if (rd->tag[0]) {
            char buf[32];
            const char *val = NULL;
            if (strcmp(kv[i]->key, rd->tag) != 0 || !v)
                continue;
            if (v->value_case ==
                OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
                val = v->string_value;
            else if (v->value_case ==
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE) {
                snprintf(buf, sizeof(buf), "%lld", (long long)v->int_value);
                val = buf;
            }
            if (val && json_object_size(names) < TAGS_MAX_VALUES)
                json_object_set_new(names, val, json_true());
            continue;
        }
        json_object_set_new(names, kv[i]->key, json_true());
    }
}

static int visit_tags(void *ctx, uint64_t seq, enum tg_signal sig, const uint8_t *data,
                      size_t len)
{
    api_read *rd = ctx;
    tg_otlp_traces_req *req;

    (void)seq;
    if (sig != TG_SIGNAL_TRACES)
        return 0;
    if (!(req = (tg_otlp_traces_req *)scan_decode(rd, sig, data, len)))
        return 1;
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[i];
        if (rs->resource)
            tag_collect(rd, "resource", rs->resource->attributes,
                        rs->resource->n_attributes);
        for (size_t j = 0; j < rs->n_scope_spans; j++)
            for (size_t k = 0; k < rs->scope_spans[j]->n_spans; k++) {
                const Opentelemetry__Proto__Trace__V1__Span *sp =
                    rs->scope_spans[j]->spans[k];
                tag_collect(rd, "span", sp->attributes, sp->n_attributes);
            }
    }
    return ++rd->items >= TAGS_MAX_RECORDS;
}

static void encode_tags(api_read *rd)
{
    json_t *doc = json_object();
    const char *scope;
    json_t *set;
    char *s;

    json_object_foreach(rd->hits, scope, set)
    {
        json_object_set_new(doc, scope, tg_json_keys(set));
    }
    json_object_set_new(doc, "site", json_string(rd->api->site));
    s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    set_body(rd, s ? 200 : 500, s, s ? strlen(s) : 0);
}

/* The answered read, into the egress ledger, before it is sent: who,
 * under which view, what the view did, how much; never a value. */
static void record(api_read *rd)
{
    static const char *const kinds[] = {"trace",  "logs",  "metrics", "status",
                                        "traces", "logql", "tags"};
    tg_outbox_query q;
    char who[240];
    int rc;

    if (rd->kind == READ_STATUS || rd->kind == READ_LEDGER || rd->status != 200 ||
        !rd->api->record_query)
        return;
    snprintf(who, sizeof(who), "%s%s", rd->client, rd->asker);
    memset(&q, 0, sizeof(q));
    q.requester = who;
    q.view = rd->view;
    q.kind = kinds[rd->kind];
    q.tally = &rd->tally;
    q.records = rd->records_read;
    q.bytes_raw = rd->bytes_read;
    q.bytes_sent = rd->body_len;
    q.window_start_ns = rd->t_from;
    q.window_end_ns = rd->t_to;
    q.policy_version = rd->vr.version[0] ? rd->vr.version : NULL;
    if ((rc = rd->api->record_query(rd->api->record_ctx, &q)) != 0) {
        /* Fail closed, as an audit device does: unrecorded, unanswered. */
        free(rd->body);
        rd->body = NULL;
        tg_error("query not recorded in the egress ledger; not answered", "error=%s",
                 tg_strerror(rc));
        set_text(rd, 503, "{\"error\":\"%s\"}",
                 "the egress ledger cannot record this read: not answered");
    }
}

/* The scans (LogQL, search): every record of the window, or only the
 * service the query pins through the service index, each decoded into a
 * scratch arena reset per record. */
static void scan(api_read *rd, enum tg_signal sig, tg_store_visit_cb visit,
                 void (*encode)(api_read *rd))
{
    int rc;

    rd->t0_ns = tg_mono_ns();
    tg_arena_init(&rd->scratch, 1u << 20,
                  rd->api->max_read_bytes ? rd->api->max_read_bytes : 256u << 20);
    rd->decode = &rd->scratch;
    rd->has_service = tg_plan_service_index(rd->plan, rd->service, sizeof(rd->service));
    rc = tg_store_scan(rd->api->store, sig, rd->has_service ? rd->service : NULL,
                       rd->t_from, rd->t_to, 0, visit, rd);
    if (rc == 0 && rd->err)
        rc = rd->err;
    if (rc)
        set_text(rd, rc == TG_ENOMEM ? 413 : 500, "{\"error\":\"%s\"}",
                 rc == TG_ENOMEM ? "result too large: narrow the time window"
                                 : tg_strerror(rc));
    else
        encode(rd);
    tg_arena_destroy(&rd->scratch);
    rd->decode = NULL;
}

static void read_work_in(uv_work_t *w)
{
    api_read *rd = w->data;
    ProtobufCMessage *msg;
    int rc;

    if (rd->kind == READ_STATUS) {
        encode_status(rd);
        return;
    }
    if (rd->kind == READ_LEDGER) {
        char *j = rd->api->ledger_json ? rd->api->ledger_json(rd->api->record_ctx) : NULL;
        if (j)
            set_body(rd, 200, j, strlen(j));
        else
            set_text(rd, 404, "{\"error\":\"%s\"}",
                     "this site keeps no egress ledger (it does not forward)");
        return;
    }
    if (rd->kind == READ_TAGS) {
        tg_arena_init(&rd->scratch, 1u << 20,
                      rd->api->max_read_bytes ? rd->api->max_read_bytes : 256u << 20);
        rd->decode = &rd->scratch;
        rc = tg_store_scan(rd->api->store, TG_SIGNAL_TRACES, NULL, 0, 0, 0, visit_tags,
                           rd);
        if (rc == 0 && rd->err)
            rc = rd->err;
        if (rc)
            set_text(rd, 500, "{\"error\":\"%s\"}", tg_strerror(rc));
        else
            encode_tags(rd);
        tg_arena_destroy(&rd->scratch);
        rd->decode = NULL;
        return;
    }
    if (rd->kind == READ_LOGQL) {
        scan(rd, TG_SIGNAL_LOGS, visit_logql, encode_logql);
        return;
    }
    if (rd->kind == READ_SEARCH) {
        scan(rd, TG_SIGNAL_TRACES, visit_search, encode_search);
        return;
    }
    if (rd->kind == READ_TRACE)
        rc = tg_store_get_trace(rd->api->store, rd->trace_id, visit_trace, rd);
    else
        rc = tg_store_scan(rd->api->store,
                           rd->kind == READ_LOGS ? TG_SIGNAL_LOGS : TG_SIGNAL_METRICS,
                           rd->has_service ? rd->service : NULL, rd->t_from, rd->t_to, 0,
                           rd->kind == READ_LOGS ? visit_logs : visit_metrics, rd);
    if (rc == 0 && rd->err)
        rc = rd->err;
    if (rc) {
        set_text(rd, rc == TG_ENOMEM ? 413 : 500, "{\"error\":\"%s\"}",
                 rc != TG_ENOMEM ? tg_strerror(rc)
                 : rd->kind == READ_TRACE
                     ? "trace too large to read within limits.max_read_bytes"
                     : "result too large: narrow the time window or limit");
        return;
    }
    if (rd->kind == READ_TRACE && rd->out.n == 0) {
        set_text(rd, 404, "{\"error\":\"%s\"}", "trace not found");
        return;
    }
    if (rd->kind == READ_TRACE) {
        tg_otlp_traces_req *m = tg_arena_alloc(&rd->arena, sizeof(*m));
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(m);
        m->resource_spans = (resource_spans **)rd->out.v;
        m->n_resource_spans = rd->out.n;
        msg = &m->base;
    } else if (rd->kind == READ_LOGS) {
        tg_otlp_logs_req *m = tg_arena_alloc(&rd->arena, sizeof(*m));
        opentelemetry__proto__collector__logs__v1__export_logs_service_request__init(m);
        m->resource_logs = (resource_logs **)rd->out.v;
        m->n_resource_logs = rd->out.n;
        msg = &m->base;
    } else {
        tg_otlp_metrics_req *m = tg_arena_alloc(&rd->arena, sizeof(*m));
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(
            m);
        m->resource_metrics = (resource_metrics **)rd->out.v;
        m->n_resource_metrics = rd->out.n;
        msg = &m->base;
    }
    /* The JSON tree and its text take several times the decoded records:
     * refuse before building them what would take the read past its cap. */
    if (rd->arena.used_total >
        (rd->api->max_read_bytes ? rd->api->max_read_bytes : 256u << 20) /
            TG_API_JSON_FACTOR) {
        set_text(rd, 413, "{\"error\":\"%s\"}",
                 "result too large to encode within limits.max_read_bytes");
        return;
    }
    if (rd->envelope) {
        /* The federated answer's shape, for one site: `tollgate query`
         * reads a site and the centre alike. */
        json_t *doc = json_pack("{s:o,s:b,s:{s:I,s:I,s:{s:{s:s}}},s:[],s:s}", "trace",
                                tg_otlp_json_from_message(msg), "is_partial", 0, "_sites",
                                "total", (json_int_t)1, "successful", (json_int_t)1,
                                "details", rd->api->site, "status", "successful",
                                "warnings", "view", rd->view);
        json_object_set_new(doc, "stats",
                            json_pack("{s:I,s:I,s:f}", "inspectedRecords",
                                      (json_int_t)rd->records_read, "inspectedBytes",
                                      (json_int_t)rd->bytes_read, "tookMs",
                                      (double)(tg_mono_ns() - rd->t0_ns) / 1e6));
        rd->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        rd->body_len = rd->body ? strlen(rd->body) : 0;
        json_decref(doc);
    } else {
        rd->body = tg_otlp_json_encode(msg, &rd->body_len);
    }
    rd->status = rd->body ? 200 : 500;
    tg_debug("read encoded", "decoded_bytes=%zu json_bytes=%zu", rd->arena.used_total,
             rd->body_len);
}

static void read_work(uv_work_t *w)
{
    ((api_read *)w->data)->t0_ns = tg_mono_ns();
    read_work_in(w);
    record(w->data);
}

static void read_done(uv_work_t *w, int status)
{
    api_read *rd = w->data;
    uint64_t used;
    int big;

    (void)status;
    tg_plan_free(rd->plan);
    json_decref(rd->hits);
    used = rd->arena.used_total + rd->body_len;
    big = atomic_fetch_add(&read_bytes_untrimmed, used) + used >= TG_API_TRIM_BYTES;
    if (big)
        atomic_store(&read_bytes_untrimmed, 0);
    tg_arena_destroy(&rd->arena);
    if (rd->use_view)
        pthread_mutex_destroy(&rd->vr.mu);
    /* Reads leave freed pages in the workers' malloc arenas; give them
     * back once the reads since the last trim add up, or each worker keeps
     * its largest read's memory. Before the answer, so a caller's next
     * read never finds this one's memory still held. */
    if (big)
        malloc_trim(0);
    if (rd->body)
        tg_http_respond(rd->req, rd->status, "application/json", NULL, rd->body,
                        rd->body_len);
    else
        tg_http_respond(rd->req, 500, "text/plain", NULL, "internal error\n", 15);
    free(rd->body);
    free(rd);
}

static int parse_trace_id(const char *s, size_t len, uint8_t out[16])
{
    if (len != 32 || tg_hex_decode(s, len, out, 16) != 16)
        return -1;
    return 0;
}

/* A whole-number query parameter, checked: 1 when absent, 0 when present
 * and within [min, max], -1 with a message for a 400 naming the parameter
 * in err (text, or a JSON body when json is set). Signs, fractions, spaces
 * and values past 2^64 are refused, never wrapped or clamped. */
static int qp_u64(const char *q, size_t qlen, const char *name, uint64_t min,
                  uint64_t max, uint64_t *out, int json, char *err, size_t errlen)
{
    char buf[32];
    int n = tg_http_query_param(q, qlen, name, buf, sizeof(buf));

    if (n == -1)
        return 1;
    if (n >= 0 && tg_parse_u64_range(buf, min, max, out) == 0)
        return 0;
    snprintf(err, errlen,
             json ? "{\"error\":\"bad %s: a whole number from %llu to %llu expected\"}"
                  : "bad %s: a whole number from %llu to %llu expected\n",
             name, (unsigned long long)min, (unsigned long long)max);
    return -1;
}

/* A text query parameter: 1 absent, 0 present, -1 longer than the buffer
 * (err says so, naming it): a long value is refused, never dropped. */
static int qp_str(const char *q, size_t qlen, const char *name, char *buf, size_t size,
                  int json, char *err, size_t errlen)
{
    int n = tg_http_query_param(q, qlen, name, buf, size);

    if (n >= 0)
        return 0;
    if (n == -1) {
        buf[0] = '\0';
        return 1;
    }
    snprintf(err, errlen,
             json ? "{\"error\":\"bad %s: at most %zu bytes\"}"
                  : "bad %s: at most %zu bytes\n",
             name, size - 1);
    return -1;
}

static void respond_text(tg_http_request *req, int status, const char *text)
{
    tg_http_respond(req, status, "text/plain; charset=utf-8", NULL, text, strlen(text));
}

/* Fills the service, time window and limit of a logs or metrics read from
 * the query string. Returns a message for a 400 (in rd->bad), or NULL. */
static const char *parse_scan_params(tg_http_request *req, api_read *rd)
{
    const char *q;
    size_t qlen;
    uint64_t limit = 1000;
    int rc;

    q = tg_http_query(req, &qlen);
    if (!q)
        q = "", qlen = 0;
    rc = qp_str(q, qlen, "service", rd->service, sizeof(rd->service), 0, rd->bad,
                sizeof(rd->bad));
    if (rc < 0)
        return rd->bad;
    rd->has_service = rc == 0;
    if (qp_u64(q, qlen, "start", 0, UINT64_MAX, &rd->t_from, 0, rd->bad,
               sizeof(rd->bad)) < 0 ||
        qp_u64(q, qlen, "end", 0, UINT64_MAX, &rd->t_to, 0, rd->bad, sizeof(rd->bad)) <
            0 ||
        qp_u64(q, qlen, "limit", 1, SCAN_MAX_LIMIT, &limit, 0, rd->bad, sizeof(rd->bad)) <
            0)
        return rd->bad;
    rd->limit = (size_t)limit;
    return NULL;
}

static void start_read(tg_api *api, tg_http_request *req, api_read *rd)
{
    rd->api = api;
    rd->req = req;
    rd->work.data = rd;
    tg_arena_init(&rd->arena, 1u << 20,
                  api->max_read_bytes ? api->max_read_bytes : 256u << 20);
    if (uv_queue_work(api->loop, &rd->work, read_work, read_done) != 0) {
        tg_arena_destroy(&rd->arena);
        free(rd);
        respond_text(req, 503, "busy\n");
    }
}

/* q (TraceQL), start and end (unix ns), limit (traces, default 20, at most
 * 2000), spss (spans per span set, default 3). Returns NULL, or a malloc'd
 * JSON error for a 400 naming the column of a bad query. */
static const char *parse_search(tg_http_request *req, api_read *rd)
{
    const char *q;
    size_t qlen;
    char query[4096], bad[160], perr[256];
    int rc;
    uint64_t v;
    json_t *e;
    char *out;

    rd->kind = READ_SEARCH;
    rd->max_hits = 20;
    rd->spss = 3;
    q = tg_http_query(req, &qlen);
    if (!q)
        q = "", qlen = 0;
    rc = qp_str(q, qlen, "q", query, sizeof(query), 1, bad, sizeof(bad));
    if (rc < 0)
        return strdup(bad);
    if (rc > 0)
        snprintf(query, sizeof(query), "{}");
    if (qp_u64(q, qlen, "start", 0, UINT64_MAX, &rd->t_from, 1, bad, sizeof(bad)) < 0 ||
        qp_u64(q, qlen, "end", 0, UINT64_MAX, &rd->t_to, 1, bad, sizeof(bad)) < 0)
        return strdup(bad);
    if ((rc = qp_u64(q, qlen, "limit", 1, UINT64_MAX, &v, 1, bad, sizeof(bad))) < 0)
        return strdup(bad);
    if (rc == 0) /* Tempo's clients ask for more than a site gives: capped */
        rd->max_hits = v > SEARCH_MAX_TRACES ? SEARCH_MAX_TRACES : (size_t)v;
    if ((rc = qp_u64(q, qlen, "spss", 0, UINT64_MAX, &v, 1, bad, sizeof(bad))) < 0)
        return strdup(bad);
    if (rc == 0)
        rd->spss = v > 100 ? 100 : (size_t)v;
    if (tg_traceql_parse(query, strlen(query), &rd->plan, perr, sizeof(perr)) != 0) {
        e = json_pack("{s:s}", "error", perr);
        out = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        return out ? out : strdup("{\"error\":\"bad query\"}");
    }
    if (!(rd->hits = json_object()))
        return strdup("{\"error\":\"out of memory\"}");
    return NULL;
}

/* q (LogQL), start and end (unix ns), limit (lines, default 100, at most
 * 5000; a metric query counts up to 2,000,000 records). NULL, or a
 * malloc'd JSON error for a 400 naming the column. */
static const char *parse_logql(tg_http_request *req, api_read *rd)
{
    const char *q;
    size_t qlen;
    char query[4096], bad[160], perr[256];
    int rc;
    uint64_t v;

    rd->kind = READ_LOGQL;
    rd->limit = 100;
    q = tg_http_query(req, &qlen);
    if (!q)
        q = "", qlen = 0;
    rc = qp_str(q, qlen, "q", query, sizeof(query), 1, bad, sizeof(bad));
    if (rc < 0)
        return strdup(bad);
    if (rc > 0)
        return strdup("{\"error\":\"q (a LogQL query) is required\"}");
    if (qp_u64(q, qlen, "start", 0, UINT64_MAX, &rd->t_from, 1, bad, sizeof(bad)) < 0 ||
        qp_u64(q, qlen, "end", 0, UINT64_MAX, &rd->t_to, 1, bad, sizeof(bad)) < 0)
        return strdup(bad);
    if ((rc = qp_u64(q, qlen, "limit", 1, UINT64_MAX, &v, 1, bad, sizeof(bad))) < 0)
        return strdup(bad);
    if (rc == 0)
        rd->limit = v > 5000 ? 5000 : (size_t)v;
    if (tg_logql_parse(query, strlen(query), &rd->plan, perr, sizeof(perr)) != 0) {
        json_t *e = json_pack("{s:s}", "error", perr);
        char *out = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        return out ? out : strdup("{\"error\":\"bad query\"}");
    }
    if (rd->plan->metric)
        rd->limit = LOGQL_MAX_SAMPLES;
    if (!(rd->hits = json_object()))
        return strdup("{\"error\":\"out of memory\"}");
    return NULL;
}

/* Authenticates the caller and settles the view it reads under: the
 * `view` parameter, or its entry's cap when absent. A caller capped at a
 * destination may read only that destination's view (two destinations'
 * views are not ordered, so "narrower" cannot be decided); one capped at
 * `raw` may read raw or any destination's view. Returns NULL, or a JSON
 * error body (static) with *status set to 401, 403 or 400. */
static const char *authorize(tg_api *api, tg_http_request *req, api_read *rd, int *status)
{
    const tg_access_entry *e;
    const char *q, *h;
    size_t qlen, hlen;
    char hdr[600];

    *status = 401;
    if (!api->clients || !api->clients->n)
        return "{\"error\":\"no query clients are configured at this site "
               "(query.clients in its configuration)\"}";
    h = tg_http_header(req, "authorization", &hlen);
    if (!h)
        return "{\"error\":\"a bearer token is required\"}";
    snprintf(hdr, sizeof(hdr), "%.*s",
             (int)(hlen < sizeof(hdr) - 1 ? hlen : sizeof(hdr) - 1), h);
    if (!(e = tg_access_authenticate(api->clients, hdr)))
        return "{\"error\":\"unknown token\"}";
    snprintf(rd->client, sizeof(rd->client), "%s", e->name);
    {
        const char *qq;
        size_t ql;
        char user[64] = "", role[64] = "";
        qq = tg_http_query(req, &ql);
        if (qq) {
            tg_http_query_param(qq, ql, "user", user, sizeof(user));
            tg_http_query_param(qq, ql, "role", role, sizeof(role));
        }
        if (user[0])
            snprintf(rd->asker, sizeof(rd->asker), " (user %s, role %s)", user,
                     role[0] ? role : "?");
    }
    q = tg_http_query(req, &qlen);
    if (!q || tg_http_query_param(q, qlen, "view", rd->view, sizeof(rd->view)) < 0 ||
        !rd->view[0])
        snprintf(rd->view, sizeof(rd->view), "%s", e->grant);
    *status = 403;
    if (strcmp(e->grant, "raw") != 0 && strcmp(rd->view, e->grant) != 0)
        return "{\"error\":\"the view asked for is beyond this client's cap\"}";
    if (strcmp(rd->view, "raw") == 0)
        return NULL;
    *status = 400;
    {
        tg_rules_policy *p = api->rules ? tg_rules_slot_acquire(api->rules) : NULL;
        int known = p && tg_rules_destination_index(p, rd->view) >= 0;
        if (p)
            tg_rules_policy_unref(p);
        if (!known)
            return "{\"error\":\"unknown view: raw or a destination of this site's "
                   "residency policy\"}";
    }
    rd->use_view = 1;
    rd->vr.slot = api->rules;
    rd->vr.destination = rd->view;
    pthread_mutex_init(&rd->vr.mu, NULL);
    return NULL;
}

void tg_api_handle(tg_http_request *req, void *data)
{
    tg_api *api = data;
    const char *path;
    size_t plen;
    api_read *rd;
    const char *bad;
    static const char traces_prefix[] = "/api/v1/traces/";
    static const char qtrace_prefix[] = "/api/v1/query/trace/";

    path = tg_http_path(req, &plen);
    if (strcmp(tg_http_method(req), "GET") != 0) {
        tg_http_respond(req, 405, "text/plain", "Allow: GET\r\n", "method not allowed\n",
                        19);
        return;
    }
    if (plen == 8 && memcmp(path, "/healthz", 8) == 0) {
        respond_text(req, 200, "ok\n");
        return;
    }
    if (plen == 7 && memcmp(path, "/readyz", 7) == 0) {
        char why[400] = "", body[420];
        int ok = api->ready &&
                 (!api->health || api->health(api->health_ctx, why, sizeof(why)));
        snprintf(body, sizeof(body), "%s\n",
                 ok ? "ready" : (why[0] ? why : "not ready: starting or draining"));
        respond_text(req, ok ? 200 : 503, body);
        return;
    }
    if (plen == 8 && memcmp(path, "/metrics", 8) == 0) {
        size_t len;
        char *text = tg_api_render_metrics(api, &len);
        if (!text) {
            respond_text(req, 500, "metrics unavailable\n");
            return;
        }
        tg_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, text,
                        len);
        free(text);
        return;
    }
    if (tg_api_audit_route(api, req, path, plen))
        return;

    rd = calloc(1, sizeof(*rd));
    if (!rd) {
        respond_text(req, 503, "out of memory\n");
        return;
    }
    if (plen > sizeof(traces_prefix) - 1 &&
        memcmp(path, traces_prefix, sizeof(traces_prefix) - 1) == 0) {
        rd->kind = READ_TRACE;
        if (parse_trace_id(path + sizeof(traces_prefix) - 1,
                           plen - (sizeof(traces_prefix) - 1), rd->trace_id)) {
            free(rd);
            respond_text(req, 400, "bad trace id: 32 hexadecimal characters expected\n");
            return;
        }
    } else if (plen > sizeof(qtrace_prefix) - 1 &&
               memcmp(path, qtrace_prefix, sizeof(qtrace_prefix) - 1) == 0) {
        rd->kind = READ_TRACE;
        rd->envelope = 1;
        if (parse_trace_id(path + sizeof(qtrace_prefix) - 1,
                           plen - (sizeof(qtrace_prefix) - 1), rd->trace_id)) {
            free(rd);
            static const char msg[] =
                "{\"error\":\"bad trace id: 32 hexadecimal characters\"}";
            tg_http_respond(req, 400, "application/json", NULL, msg, sizeof(msg) - 1);
            return;
        }
    } else if (plen == 14 && memcmp(path, "/api/v1/ledger", 14) == 0) {
        rd->kind = READ_LEDGER;
    } else if (plen == 18 && memcmp(path, "/api/v1/query/tags", 18) == 0) {
        const char *q;
        size_t qlen;
        rd->kind = READ_TAGS;
        q = tg_http_query(req, &qlen);
        if (q)
            tg_http_query_param(q, qlen, "tag", rd->tag, sizeof(rd->tag));
        if (!(rd->hits = json_pack("{s:{},s:{}}", "resource", "span"))) {
            free(rd);
            respond_text(req, 503, "out of memory\n");
            return;
        }
    } else if (plen == 18 && memcmp(path, "/api/v1/query/logs", 18) == 0) {
        if ((bad = parse_logql(req, rd)) != NULL) {
            tg_http_respond(req, 400, "application/json", NULL, bad, strlen(bad));
            free((char *)bad);
            tg_plan_free(rd->plan);
            json_decref(rd->hits);
            free(rd);
            return;
        }
    } else if (plen == 20 && memcmp(path, "/api/v1/query/traces", 20) == 0) {
        if ((bad = parse_search(req, rd)) != NULL) {
            tg_http_respond(req, 400, "application/json", NULL, bad, strlen(bad));
            free((char *)bad);
            tg_plan_free(rd->plan);
            free(rd);
            return;
        }
    } else if ((plen == 12 && memcmp(path, "/api/v1/logs", 12) == 0) ||
               (plen == 15 && memcmp(path, "/api/v1/metrics", 15) == 0)) {
        rd->kind = plen == 12 ? READ_LOGS : READ_METRICS;
        bad = parse_scan_params(req, rd);
        if (bad) {
            respond_text(req, 400, bad); /* bad points into rd */
            free(rd);
            return;
        }
    } else if (plen == 14 && memcmp(path, "/api/v1/status", 14) == 0) {
        rd->kind = READ_STATUS;
    } else {
        free(rd);
        respond_text(req, 404, "not found\n");
        return;
    }
    /* Every data read: the caller shows a token, and gets at most the
     * view its entry allows. /api/v1/status carries no telemetry and stays
     * open like the health endpoints. */
    if (rd->kind != READ_STATUS) {
        int status;
        const char *why = authorize(api, req, rd, &status);
        if (why) {
            free(rd);
            tg_http_respond(
                req, status, "application/json",
                status == 401 ? "WWW-Authenticate: Bearer realm=\"tollgate\"\r\n" : NULL,
                why, strlen(why));
            return;
        }
    }
    start_read(api, req, rd);
}

/* ---- /metrics -------------------------------------------------------------- */

static const char *const transport_names[TG_TRANSPORT_COUNT] = {"grpc", "http"};

static void counter_family(FILE *f, const char *name, const char *help,
                           _Atomic uint64_t v[TG_SIGNAL_COUNT][TG_TRANSPORT_COUNT])
{
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (int s = 0; s < TG_SIGNAL_COUNT; s++)
        for (int t = 0; t < TG_TRANSPORT_COUNT; t++)
            fprintf(f, "%s{signal=\"%s\",transport=\"%s\"} %" PRIu64 "\n", name,
                    tg_signal_name((enum tg_signal)s), transport_names[t],
                    atomic_load(&v[s][t]));
}

static void gauge(FILE *f, const char *name, const char *help, uint64_t v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %" PRIu64 "\n", name, help, name, name,
            v);
}

char *tg_api_render_metrics(tg_api *api, size_t *len)
{
    tg_stats sum, *s = &sum; /* the collector's and every ingest loop's */
    tg_store_stats st;
    char *buf = NULL;
    size_t size = 0;
    uint64_t cum = 0;
    FILE *f = open_memstream(&buf, &size);

    if (!f)
        return NULL;
    tg_stats_sum(&sum, api->stats, api->loop_stats, api->n_loop_stats);
    memset(&st, 0, sizeof(st));
    tg_store_get_stats(api->store, &st);

    fprintf(f,
            "# HELP tollgate_build_info Build and site of this collector.\n"
            "# TYPE tollgate_build_info gauge\n"
            "tollgate_build_info{version=\"%s\",site=\"%s\"} 1\n",
            TG_VERSION, api->site);
    counter_family(f, "tollgate_items_received_total",
                   "Spans, log records and data points received.", s->items_received);
    counter_family(f, "tollgate_items_accepted_total",
                   "Items committed to the local store and acknowledged.",
                   s->items_accepted);
    counter_family(
        f, "tollgate_items_refused_total",
        "Items refused: rejected by validation, backpressure or store failure.",
        s->items_refused);
    counter_family(f, "tollgate_received_bytes_total",
                   "Request bytes received as sent (before decompression).",
                   s->bytes_received);
    fprintf(
        f,
        "# HELP tollgate_requests_refused_total Requests refused before decoding "
        "completed or before commit.\n# TYPE tollgate_requests_refused_total counter\n");
    for (int sg = 0; sg < TG_SIGNAL_COUNT; sg++)
        for (int t = 0; t < TG_TRANSPORT_COUNT; t++) {
            fprintf(f,
                    "tollgate_requests_refused_total{signal=\"%s\",transport=\"%s\","
                    "reason=\"backpressure\"} %" PRIu64 "\n",
                    tg_signal_name((enum tg_signal)sg), transport_names[t],
                    atomic_load(&s->requests_refused_busy[sg][t]));
            fprintf(f,
                    "tollgate_requests_refused_total{signal=\"%s\",transport=\"%s\","
                    "reason=\"bad_request\"} %" PRIu64 "\n",
                    tg_signal_name((enum tg_signal)sg), transport_names[t],
                    atomic_load(&s->requests_refused_bad[sg][t]));
        }

    {
        static const char *const servers[] = {"otlp_grpc", "otlp_http", "api"};
        const tg_refusals *const counts[] = {&s->refused_grpc, &s->refused_http,
                                             &s->refused_api};
        char rbuf[4096];
        size_t rlen = 0;

        (void)tg_refuse_format(rbuf, sizeof(rbuf), &rlen, servers, counts, 3);
        fputs(rbuf, f);
    }
    gauge(f, "tollgate_store_bytes",
          "Compressed bytes of records held (the size budget's unit).", st.record_bytes);
    gauge(f, "tollgate_store_raw_bytes", "Uncompressed protobuf bytes of records held.",
          st.raw_bytes);
    gauge(f, "tollgate_store_records", "Records (requests) held in the local store.",
          st.records);
    gauge(f, "tollgate_store_file_bytes", "Size of the LMDB data file.", st.file_bytes);
    gauge(f, "tollgate_store_map_bytes", "Current LMDB map size.", st.map_size);
    fprintf(f,
            "# HELP tollgate_store_map_grows_total Times the LMDB map was enlarged.\n"
            "# TYPE tollgate_store_map_grows_total counter\n"
            "tollgate_store_map_grows_total %" PRIu64 "\n",
            st.map_grows);
    fprintf(
        f,
        "# HELP tollgate_store_full_evictions_total Records evicted to make room in a "
        "full store (store.on_full: evict-oldest).\n"
        "# TYPE tollgate_store_full_evictions_total counter\n"
        "tollgate_store_full_evictions_total %" PRIu64 "\n"
        "# HELP tollgate_store_full_refusals_total Writes refused because the store was "
        "full.\n"
        "# TYPE tollgate_store_full_refusals_total counter\n"
        "tollgate_store_full_refusals_total %" PRIu64 "\n",
        tg_store_full_evictions(api->store), tg_store_full_refusals(api->store));
    {
        char why[400];
        int ok = api->ready &&
                 (!api->health || api->health(api->health_ctx, why, sizeof(why)));
        gauge(f, "tollgate_ready", "1 when /readyz answers 200.", (uint64_t)ok);
    }
    fprintf(f, "# HELP tollgate_store_items Items held in the local store.\n"
               "# TYPE tollgate_store_items gauge\n");
    for (int sg = 0; sg < TG_SIGNAL_COUNT; sg++)
        fprintf(f, "tollgate_store_items{signal=\"%s\"} %" PRIu64 "\n",
                tg_signal_name((enum tg_signal)sg), st.items[sg]);
    fprintf(f, "# HELP tollgate_evictions_total Items evicted by retention (age or size "
               "budget).\n# TYPE tollgate_evictions_total counter\n");
    for (int sg = 0; sg < TG_SIGNAL_COUNT; sg++)
        fprintf(f, "tollgate_evictions_total{signal=\"%s\"} %" PRIu64 "\n",
                tg_signal_name((enum tg_signal)sg), st.evicted_items[sg]);
    fprintf(f,
            "# HELP tollgate_evicted_records_total Records evicted by retention.\n"
            "# TYPE tollgate_evicted_records_total counter\n"
            "tollgate_evicted_records_total %" PRIu64 "\n",
            st.evicted_records);
    fprintf(f,
            "# HELP tollgate_store_expired_records_total Records deleted because a data "
            "class they carry reached its local retention.\n"
            "# TYPE tollgate_store_expired_records_total counter\n"
            "tollgate_store_expired_records_total %" PRIu64 "\n",
            st.expired_records);
    gauge(f, "tollgate_store_expiring_records",
          "Records held with a class-retention expiry (shorter than the store's).",
          st.expiring_records);
    fprintf(f,
            "# HELP tollgate_ingest_classified_requests_total Requests classified at "
            "ingest and stored with their classification.\n"
            "# TYPE tollgate_ingest_classified_requests_total counter\n"
            "tollgate_ingest_classified_requests_total %" PRIu64 "\n",
            atomic_load(&s->classified));
    fprintf(f,
            "# HELP tollgate_ingest_classify_failures_total Requests that could not be "
            "classified at ingest (stored with the shortest class retention).\n"
            "# TYPE tollgate_ingest_classify_failures_total counter\n"
            "tollgate_ingest_classify_failures_total %" PRIu64 "\n",
            atomic_load(&s->classify_failed));
    fprintf(f,
            "# HELP tollgate_ingest_classify_seconds_total Time spent classifying at "
            "ingest.\n# TYPE tollgate_ingest_classify_seconds_total counter\n"
            "tollgate_ingest_classify_seconds_total %.6f\n",
            (double)atomic_load(&s->classify_ns) / 1e9);
    fprintf(f,
            "# HELP tollgate_ingest_classified_values_total Values (or spans of values) "
            "found regulated at ingest.\n"
            "# TYPE tollgate_ingest_classified_values_total counter\n"
            "tollgate_ingest_classified_values_total %" PRIu64 "\n",
            atomic_load(&s->classify_findings));
    gauge(f, "tollgate_commit_queue_bytes", "Bytes waiting for or in a commit.",
          api->committer ? tg_committer_pending_bytes(api->committer) : 0);

    fprintf(f,
            "# HELP tollgate_commit_duration_seconds Durable write transaction latency.\n"
            "# TYPE tollgate_commit_duration_seconds histogram\n");
    for (int i = 0; i < TG_STATS_COMMIT_BUCKETS; i++) {
        cum += atomic_load(&s->commit_bucket[i]);
        fprintf(f, "tollgate_commit_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                tg_stats_commit_bounds[i], cum);
    }
    cum += atomic_load(&s->commit_bucket[TG_STATS_COMMIT_BUCKETS]);
    fprintf(f, "tollgate_commit_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
    fprintf(f, "tollgate_commit_duration_seconds_sum %.6f\n",
            (double)atomic_load(&s->commit_sum_us) / 1e6);
    fprintf(f, "tollgate_commit_duration_seconds_count %" PRIu64 "\n",
            atomic_load(&s->commit_count));
    if (api->extra_metrics) {
        size_t xl = 0;
        char *x = api->extra_metrics(api->extra_ctx, &xl);
        if (x)
            fwrite(x, 1, xl, f);
        free(x);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *len = size;
    return buf;
}
