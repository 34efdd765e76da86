/* The index keys of one request: time range, distinct trace ids, distinct
 * services. Runs on every request on the ingest path, so it makes one pass
 * over the items, keeps its sets as open-addressing tables in the request
 * arena and allocates nothing per item.
 *
 * The tables hash with a per-process random seed: trace ids and service
 * names come from clients, and a table a client can fill with collisions
 * would turn one request into quadratic work. */
#include "tg_otlp.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "tg_err.h"
#include "tg_hash.h"
#include "tg_time.h"

typedef Opentelemetry__Proto__Metrics__V1__Metric tg_metric;

static uint64_t g_seed[2];
static pthread_once_t g_seed_once = PTHREAD_ONCE_INIT;

static void seed_init(void)
{
    if (getrandom(g_seed, sizeof(g_seed), GRND_NONBLOCK) != (ssize_t)sizeof(g_seed)) {
        uint64_t t = tg_mono_ns();
        g_seed[0] = t % 1000000000u * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)&t;
        g_seed[1] =
            t / 1000000000u * 0xC2B2AE3D27D4EB4FULL ^ (uint64_t)(uintptr_t)&g_seed;
    }
}

/* Slots hold 1 + the index of the member in the dense output array; 0 is
 * an empty slot. The table is at least twice the number of members. */
typedef struct hset {
    uint32_t *slots;
    size_t mask;
} hset;

static int hset_init(hset *h, size_t max_members, tg_arena *arena)
{
    size_t cap = 16;

    while (cap < 2 * max_members)
        cap <<= 1;
    h->slots = tg_arena_calloc(arena, cap * sizeof(uint32_t));
    h->mask = cap - 1;
    return h->slots ? 0 : TG_ENOMEM;
}

typedef struct index_state {
    tg_otlp_index *ix;
    hset ids;
    hset svcs;
    size_t max_ids;
    size_t max_svcs;
    uint64_t t_min, t_max;
    const uint8_t *last_id; /* consecutive spans usually share a trace */
} index_state;

static inline void see_time(index_state *st, uint64_t t)
{
    if (!t)
        return;
    if (t < st->t_min)
        st->t_min = t;
    if (t > st->t_max)
        st->t_max = t;
}

static void add_trace_id(index_state *st, const uint8_t *id)
{
    tg_otlp_index *ix = st->ix;
    uint64_t lo, hi;
    size_t i;

    if (st->last_id && memcmp(st->last_id, id, 16) == 0)
        return;
    st->last_id = id;
    memcpy(&lo, id, 8);
    memcpy(&hi, id + 8, 8);
    i = (size_t)tg_mix64(tg_mix64(lo ^ g_seed[0]) + (hi ^ g_seed[1])) & st->ids.mask;
    for (;;) {
        uint32_t s = st->ids.slots[i];
        if (!s)
            break;
        if (memcmp(ix->trace_ids[s - 1], id, 16) == 0)
            return;
        i = (i + 1) & st->ids.mask;
    }
    if (ix->n_trace_ids >= st->max_ids)
        return; /* cannot happen: max_ids counts every candidate */
    memcpy(ix->trace_ids[ix->n_trace_ids], id, 16);
    st->ids.slots[i] = (uint32_t)++ix->n_trace_ids;
}

static void add_service(index_state *st, const char *name, size_t len)
{
    tg_otlp_index *ix = st->ix;
    uint64_t h = g_seed[1];
    size_t i;

    for (size_t k = 0; k < len; k++)
        h = (h ^ (unsigned char)name[k]) * 0x100000001B3ULL;
    i = (size_t)tg_mix64(h ^ len) & st->svcs.mask;
    for (;;) {
        uint32_t s = st->svcs.slots[i];
        if (!s)
            break;
        if (ix->services[s - 1].len == len &&
            memcmp(ix->services[s - 1].ptr, name, len) == 0)
            return;
        i = (i + 1) & st->svcs.mask;
    }
    if (ix->n_services >= st->max_svcs)
        return;
    ix->services[ix->n_services].ptr = name;
    ix->services[ix->n_services].len = len;
    st->svcs.slots[i] = (uint32_t)++ix->n_services;
}

static void resource_service(index_state *st,
                             const Opentelemetry__Proto__Resource__V1__Resource *res)
{
    const char *name = tg_otlp_service_name(res);

    add_service(st, name, strlen(name));
}

/* ---- per signal ------------------------------------------------------------ */

static void count_traces(const tg_otlp_traces_req *req, size_t *items, size_t *resources)
{
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[i];
        for (size_t j = 0; j < rs->n_scope_spans; j++)
            *items += rs->scope_spans[j]->n_spans;
    }
    *resources = req->n_resource_spans;
}

static void index_traces(index_state *st, const tg_otlp_traces_req *req)
{
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[i];
        size_t n = 0;
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[j];
            for (size_t k = 0; k < ss->n_spans; k++) {
                const Opentelemetry__Proto__Trace__V1__Span *sp = ss->spans[k];
                see_time(st, sp->start_time_unix_nano);
                see_time(st, sp->end_time_unix_nano);
                if (sp->trace_id.len == 16)
                    add_trace_id(st, sp->trace_id.data);
            }
            n += ss->n_spans;
        }
        if (n)
            resource_service(st, rs->resource);
    }
}

static void count_logs(const tg_otlp_logs_req *req, size_t *items, size_t *resources)
{
    for (size_t i = 0; i < req->n_resource_logs; i++) {
        const Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = req->resource_logs[i];
        for (size_t j = 0; j < rl->n_scope_logs; j++)
            *items += rl->scope_logs[j]->n_log_records;
    }
    *resources = req->n_resource_logs;
}

static void index_logs(index_state *st, const tg_otlp_logs_req *req)
{
    for (size_t i = 0; i < req->n_resource_logs; i++) {
        const Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = req->resource_logs[i];
        size_t n = 0;
        for (size_t j = 0; j < rl->n_scope_logs; j++) {
            const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = rl->scope_logs[j];
            for (size_t k = 0; k < sl->n_log_records; k++) {
                const Opentelemetry__Proto__Logs__V1__LogRecord *lr = sl->log_records[k];
                see_time(st, lr->time_unix_nano ? lr->time_unix_nano
                                                : lr->observed_time_unix_nano);
                if (lr->trace_id.len == 16)
                    add_trace_id(st, lr->trace_id.data);
            }
            n += sl->n_log_records;
        }
        if (n)
            resource_service(st, rl->resource);
    }
}

/* Data points of every kind carry their time at the same field; the
 * macro spares five copies of the same loop. */
#define SEE_POINTS(st, agg)                                                              \
    do {                                                                                 \
        if (agg) {                                                                       \
            for (size_t p_ = 0; p_ < (agg)->n_data_points; p_++)                         \
                see_time(st, (agg)->data_points[p_]->time_unix_nano);                    \
            n += (agg)->n_data_points;                                                   \
        }                                                                                \
    } while (0)

static size_t index_metric(index_state *st, const tg_metric *m)
{
    size_t n = 0;

    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        SEE_POINTS(st, m->gauge);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        SEE_POINTS(st, m->sum);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        SEE_POINTS(st, m->histogram);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        SEE_POINTS(st, m->exponential_histogram);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        SEE_POINTS(st, m->summary);
        break;
    default:
        break;
    }
    return n;
}

static void index_metrics(index_state *st, const tg_otlp_metrics_req *req,
                          uint64_t *items)
{
    for (size_t i = 0; i < req->n_resource_metrics; i++) {
        const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm =
            req->resource_metrics[i];
        size_t n = 0;
        for (size_t j = 0; j < rm->n_scope_metrics; j++) {
            const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
                rm->scope_metrics[j];
            for (size_t k = 0; k < sm->n_metrics; k++)
                n += index_metric(st, sm->metrics[k]);
        }
        if (n)
            resource_service(st, rm->resource);
        *items += n;
    }
}

int tg_otlp_index_build(const tg_otlp_request *req, tg_arena *arena, tg_otlp_index *out)
{
    index_state st = {.ix = out, .t_min = UINT64_MAX, .t_max = 0};
    size_t items = 0, resources = 0;

    if (!req || !req->msg || !arena || !out)
        return TG_EINVAL;
    memset(out, 0, sizeof(*out));
    pthread_once(&g_seed_once, seed_init);

    switch (req->signal) {
    case TG_SIGNAL_TRACES:
        count_traces((const tg_otlp_traces_req *)req->msg, &items, &resources);
        st.max_ids = items;
        break;
    case TG_SIGNAL_LOGS:
        count_logs((const tg_otlp_logs_req *)req->msg, &items, &resources);
        st.max_ids = items;
        break;
    case TG_SIGNAL_METRICS:
        resources = ((const tg_otlp_metrics_req *)req->msg)->n_resource_metrics;
        break;
    default:
        return TG_EINVAL;
    }
    if (items > UINT32_MAX - 1 || resources > UINT32_MAX - 1)
        return TG_ETOO_BIG;
    st.max_svcs = resources;

    if (st.max_ids) {
        out->trace_ids = tg_arena_alloc(arena, st.max_ids * 16);
        if (!out->trace_ids || hset_init(&st.ids, st.max_ids, arena))
            return TG_ENOMEM;
    }
    if (st.max_svcs) {
        out->services = tg_arena_alloc(arena, st.max_svcs * sizeof(tg_slice));
        if (!out->services || hset_init(&st.svcs, st.max_svcs, arena))
            return TG_ENOMEM;
    }

    switch (req->signal) {
    case TG_SIGNAL_TRACES:
        index_traces(&st, (const tg_otlp_traces_req *)req->msg);
        out->items = items;
        break;
    case TG_SIGNAL_LOGS:
        index_logs(&st, (const tg_otlp_logs_req *)req->msg);
        out->items = items;
        break;
    case TG_SIGNAL_METRICS:
        index_metrics(&st, (const tg_otlp_metrics_req *)req->msg, &out->items);
        break;
    }
    if (st.t_max) {
        out->t_min = st.t_min;
        out->t_max = st.t_max;
    }
    return 0;
}
