/* Metric points with the estate's naming, and the cost quantities the
 * telemetry reports about itself (tg_summary.h). */
#include "sum_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "tg_metric_map.h"

typedef Opentelemetry__Proto__Metrics__V1__Metric otlp_metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint number_point;

#define GPU_GAP_MAX_NS (300ull * 1000000000ull)

/* ---- metric points ------------------------------------------------------- */

static Tollgate__V1__MetricPoint *
new_point(tg_summarizer *s, const char *svc, const tg_metric_mapped *mm,
          const otlp_metric *m, Tollgate__V1__MetricPoint__Type type,
          tg_otlp_kv *const *attrs, size_t nattrs, uint64_t t)
{
    Tollgate__V1__MetricPoint *p = tg_arena_alloc(&s->arena, sizeof(*p));
    const char *unit = mm->unit ? mm->unit : (m->unit ? m->unit : "");

    if (!p)
        return NULL;
    tollgate__v1__metric_point__init(p);
    p->service = (char *)tg_sum_intern(s, svc, strnlen(svc, 256));
    p->name = (char *)tg_sum_intern(s, mm->name, strnlen(mm->name, 256));
    p->unit = (char *)tg_sum_intern(s, unit, strnlen(unit, 64));
    if (!p->service || !p->name || !p->unit)
        return NULL;
    p->type = type;
    if (tg_sum_copy_attrs(s, attrs, nattrs, 1, &p->labels, &p->n_labels) != 0)
        return NULL;
    p->time_unix_nano = t; /* made relative to the batch base at build */
    tg_sum_time(s, t);
    if (tg_sum_vec_push(&s->metrics, p) != 0)
        return NULL;
    return p;
}

static double number_value(const number_point *dp)
{
    if (dp->value_case ==
        OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT)
        return (double)dp->as_int;
    if (dp->value_case ==
        OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE)
        return dp->as_double;
    return NAN;
}

static int add_metric(tg_summarizer *s, const char *svc, const otlp_metric *m)
{
    char buf[256];
    tg_metric_mapped mm;
    Tollgate__V1__MetricPoint *p;

    tg_metric_map_name(s->cfg, m->name ? m->name : "", buf, sizeof(buf), &mm);
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM: {
        int is_sum = m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
        size_t np = is_sum ? (m->sum ? m->sum->n_data_points : 0)
                           : (m->gauge ? m->gauge->n_data_points : 0);
        number_point **pts = is_sum ? (m->sum ? m->sum->data_points : NULL)
                                    : (m->gauge ? m->gauge->data_points : NULL);
        for (size_t i = 0; i < np; i++) {
            double v = number_value(pts[i]);
            if (isnan(v))
                continue;
            p = new_point(s, svc, &mm, m,
                          is_sum ? TOLLGATE__V1__METRIC_POINT__TYPE__SUM
                                 : TOLLGATE__V1__METRIC_POINT__TYPE__GAUGE,
                          pts[i]->attributes, pts[i]->n_attributes,
                          pts[i]->time_unix_nano);
            if (!p)
                return TG_ENOMEM;
            p->value = v * mm.scale;
            if (is_sum) {
                p->monotonic = m->sum->is_monotonic;
                p->temporality = (uint32_t)m->sum->aggregation_temporality;
            }
        }
        break;
    }
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        if (!m->histogram)
            break;
        for (size_t i = 0; i < m->histogram->n_data_points; i++) {
            Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *dp =
                m->histogram->data_points[i];
            p = new_point(s, svc, &mm, m, TOLLGATE__V1__METRIC_POINT__TYPE__HISTOGRAM,
                          dp->attributes, dp->n_attributes, dp->time_unix_nano);
            if (!p)
                return TG_ENOMEM;
            p->temporality = (uint32_t)m->histogram->aggregation_temporality;
            p->count = dp->count;
            p->sum = dp->_sum_case ? dp->sum * mm.scale : 0;
            if (dp->n_explicit_bounds) {
                p->explicit_bounds =
                    tg_arena_alloc(&s->arena, dp->n_explicit_bounds * sizeof(double));
                if (!p->explicit_bounds)
                    return TG_ENOMEM;
                for (size_t b = 0; b < dp->n_explicit_bounds; b++)
                    p->explicit_bounds[b] = dp->explicit_bounds[b] * mm.scale;
                p->n_explicit_bounds = dp->n_explicit_bounds;
            }
            if (dp->n_bucket_counts) {
                p->bucket_counts = tg_arena_memdup(
                    &s->arena, dp->bucket_counts, dp->n_bucket_counts * sizeof(uint64_t));
                if (!p->bucket_counts)
                    return TG_ENOMEM;
                p->n_bucket_counts = dp->n_bucket_counts;
            }
        }
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        if (!m->exponential_histogram)
            break;
        for (size_t i = 0; i < m->exponential_histogram->n_data_points; i++) {
            Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint *dp =
                m->exponential_histogram->data_points[i];
            Tollgate__V1__ExpHistogram *e;
            p = new_point(s, svc, &mm, m,
                          TOLLGATE__V1__METRIC_POINT__TYPE__EXPONENTIAL_HISTOGRAM,
                          dp->attributes, dp->n_attributes, dp->time_unix_nano);
            if (!p)
                return TG_ENOMEM;
            p->temporality = (uint32_t)m->exponential_histogram->aggregation_temporality;
            p->count = dp->count;
            p->sum = dp->_sum_case ? dp->sum : 0;
            e = tg_arena_alloc(&s->arena, sizeof(*e));
            if (!e)
                return TG_ENOMEM;
            tollgate__v1__exp_histogram__init(e);
            e->scale = dp->scale;
            e->zero_count = dp->zero_count;
            e->count = dp->count;
            e->sum = p->sum;
            e->min = dp->_min_case ? dp->min : 0;
            e->max = dp->_max_case ? dp->max : 0;
            if (dp->positive && dp->positive->n_bucket_counts) {
                e->offset = dp->positive->offset;
                e->n_counts = dp->positive->n_bucket_counts;
                /* The request arena goes away before the batch is packed. */
                e->counts = tg_arena_memdup(&s->arena, dp->positive->bucket_counts,
                                            e->n_counts * sizeof(uint64_t));
                if (!e->counts)
                    return TG_ENOMEM;
            }
            p->exp = e;
        }
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        if (!m->summary)
            break;
        for (size_t i = 0; i < m->summary->n_data_points; i++) {
            Opentelemetry__Proto__Metrics__V1__SummaryDataPoint *dp =
                m->summary->data_points[i];
            p = new_point(s, svc, &mm, m, TOLLGATE__V1__METRIC_POINT__TYPE__SUMMARY,
                          dp->attributes, dp->n_attributes, dp->time_unix_nano);
            if (!p)
                return TG_ENOMEM;
            p->count = dp->count;
            p->sum = dp->sum * mm.scale;
            if (dp->n_quantile_values) {
                p->quantiles =
                    tg_arena_alloc(&s->arena, 2 * dp->n_quantile_values * sizeof(double));
                if (!p->quantiles)
                    return TG_ENOMEM;
                for (size_t q = 0; q < dp->n_quantile_values; q++) {
                    p->quantiles[2 * q] = dp->quantile_values[q]->quantile;
                    p->quantiles[2 * q + 1] = dp->quantile_values[q]->value * mm.scale;
                }
                p->n_quantiles = 2 * dp->n_quantile_values;
            }
        }
        break;
    default:
        break;
    }
    return 0;
}

int tg_sum_add_metrics(tg_summarizer *s, const tg_otlp_metrics_req *req)
{
    for (size_t i = 0; i < req->n_resource_metrics; i++) {
        const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm =
            req->resource_metrics[i];
        const char *svc = tg_otlp_service_name(rm->resource);
        for (size_t j = 0; j < rm->n_scope_metrics; j++) {
            const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
                rm->scope_metrics[j];
            for (size_t k = 0; k < sm->n_metrics; k++) {
                int rc = add_metric(s, svc, sm->metrics[k]);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- cost quantities ------------------------------------------------------- */

static const char *const cpu_counters[] = {
    "process.cpu.time",   "process_cpu_seconds_total",
    "container.cpu.time", "container_cpu_usage_seconds_total",
    "k8s.pod.cpu.time",   NULL};
static const char *const gpu_counters[] = {"gpu.time", "hw.gpu.time", "tollgate.gpu.time",
                                           NULL};
static const char *const gpu_gauges[] = {"hw.gpu.utilization", "gpu.utilization",
                                         "DCGM_FI_DEV_GPU_UTIL", "nvidia_gpu_utilization",
                                         NULL};

static int in_list(const char *const *l, const char *name)
{
    for (; *l; l++)
        if (strcmp(*l, name) == 0)
            return 1;
    return 0;
}

static const char *attributed(const char *svc, const char *const *allowed, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(allowed[i], svc) == 0)
            return allowed[i];
    return "unattributed";
}

static int64_t hour_of(uint64_t t_ns)
{
    return (int64_t)(t_ns / 1000000000ull / 3600 * 3600);
}

static double attr_number(const tg_otlp_kv *kv)
{
    if (!kv->value)
        return NAN;
    if (kv->value->value_case ==
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE)
        return (double)kv->value->int_value;
    if (kv->value->value_case ==
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE)
        return kv->value->double_value;
    return NAN;
}

/* A series' identity: service, metric name and its attributes. */
static uint64_t series_key(const char *svc, const char *name, const number_point *dp)
{
    uint64_t h = tg_sum_hash(svc, strlen(svc), 11);

    h = tg_sum_hash(name, strlen(name), h);
    for (size_t i = 0; i < dp->n_attributes; i++) {
        const tg_otlp_kv *kv = dp->attributes[i];
        if (!kv || !kv->key)
            continue;
        h = tg_sum_hash(kv->key, strlen(kv->key), h);
        if (kv->value &&
            kv->value->value_case ==
                OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE &&
            kv->value->string_value)
            h = tg_sum_hash(kv->value->string_value, strlen(kv->value->string_value), h);
        else if (kv->value)
            h = tg_sum_hash(&kv->value->int_value, sizeof(kv->value->int_value), h);
    }
    return h;
}

static series_state *series_get(tg_summarizer *s, uint64_t key, int *fresh)
{
    series_state *st = tg_sum_map_get(&s->series, (const char *)&key, 8, key);

    *fresh = 0;
    if (st)
        return st;
    st = calloc(1, sizeof(*st));
    if (!st || tg_sum_map_put(&s->series, (const char *)&key, 8, key, st) != 0) {
        free(st);
        return NULL;
    }
    *fresh = 1;
    return st;
}

static void cost_metric(tg_summarizer *s, const char *svc, const char *const *dims,
                        const otlp_metric *m, uint64_t created_ns)
{
    const char *name = m->name ? m->name : "";
    int cpu = in_list(cpu_counters, name), gpuc = in_list(gpu_counters, name);
    int gpug = in_list(gpu_gauges, name);

    if (!cpu && !gpuc && !gpug)
        return;
    if ((cpu || gpuc) &&
        m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM && m->sum) {
        const char *meter = cpu ? "cpu-seconds" : "gpu-seconds";
        int cumulative =
            m->sum->aggregation_temporality ==
            OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
        for (size_t i = 0; i < m->sum->n_data_points; i++) {
            const number_point *dp = m->sum->data_points[i];
            double v = number_value(dp), d = v;
            if (isnan(v) || v < 0)
                continue;
            if (cumulative) {
                int fresh;
                series_state *st = series_get(s, series_key(svc, name, dp), &fresh);
                if (!st)
                    continue;
                if (fresh) {
                    /* The first sight of a counter counts in full only if
                     * it started after this summariser did; older counters
                     * (a restart of ours) give a baseline. */
                    d = dp->start_time_unix_nano >= created_ns ? v : 0;
                } else {
                    d = v >= st->last ? v - st->last : v;
                }
                st->last = v;
                st->t_ns = dp->time_unix_nano;
            }
            tg_sum_cost_add_dims(s, svc, dims, meter, hour_of(dp->time_unix_nano), d);
        }
    }
    if (gpug && m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE &&
        m->gauge) {
        for (size_t i = 0; i < m->gauge->n_data_points; i++) {
            const number_point *dp = m->gauge->data_points[i];
            double u = number_value(dp);
            int fresh;
            series_state *st;
            if (isnan(u) || u < 0)
                continue;
            if (u > 1.0)
                u /= 100.0; /* a percentage */
            if (u > 1.0)
                u = 1.0;
            st = series_get(s, series_key(svc, name, dp), &fresh);
            if (!st)
                continue;
            if (!fresh && dp->time_unix_nano > st->t_ns) {
                uint64_t dt = dp->time_unix_nano - st->t_ns;
                if (dt > GPU_GAP_MAX_NS)
                    dt = GPU_GAP_MAX_NS;
                tg_sum_cost_add_dims(s, svc, dims, "gpu-seconds",
                                     hour_of(dp->time_unix_nano), u * (double)dt / 1e9);
            }
            st->last = u;
            st->t_ns = dp->time_unix_nano;
        }
    }
}

/* ---- attribution ----------------------------------------------------------- */

static const char *kv_string(const tg_otlp_kv *kv)
{
    if (!kv || !kv->value ||
        kv->value->value_case !=
            OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
        return NULL;
    return kv->value->string_value;
}

static const char *dim_key(const tg_summarizer *s, int d)
{
    const tg_cost_model *m = &s->cfg->cost;
    const char *k = d == TG_DIM_MODEL  ? m->model_attribute
                    : d == TG_DIM_TEAM ? m->team_attribute
                                       : m->run_attribute;
    return k[0] ? k : NULL;
}

/* Records each dimension's value among attrs into d (viewed side). Runs
 * over every viewed attribute of a request with a cost in it, so the key's
 * first byte is compared before anything else is read. */
static void dims_note(const tg_summarizer *s, tg_otlp_kv *const *attrs, size_t n,
                      tg_sum_dims *d)
{
    const char *keys[TG_DIMS];

    for (int k = 0; k < TG_DIMS; k++)
        keys[k] = dim_key(s, k);
    for (size_t i = 0; i < n; i++) {
        const char *ak = attrs[i] ? attrs[i]->key : NULL;
        if (!ak)
            continue;
        for (int k = 0; k < TG_DIMS; k++) {
            const char *v;
            size_t j;
            if (!keys[k] || ak[0] != keys[k][0] || strcmp(ak, keys[k]) != 0)
                continue;
            if (!(v = kv_string(attrs[i])))
                break;
            for (j = 0; j < d->n[k] && strcmp(d->v[k][j], v) != 0; j++)
                ;
            if (j == d->n[k] && d->n[k] < TG_DIM_MAX_VALUES)
                d->v[k][d->n[k]++] = v;
        }
    }
}

static void dims_collect(const tg_summarizer *s, tg_sum_dims *d)
{
    d->ready = 1;
    if (!d->viewed)
        return;
    if (d->sig == TG_SIGNAL_TRACES) {
        const tg_otlp_traces_req *r = (const tg_otlp_traces_req *)d->viewed;
        for (size_t i = 0; i < r->n_resource_spans; i++) {
            const Opentelemetry__Proto__Resource__V1__Resource *res =
                r->resource_spans[i]->resource;
            if (res)
                dims_note(s, res->attributes, res->n_attributes, d);
            for (size_t j = 0; j < r->resource_spans[i]->n_scope_spans; j++) {
                const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss =
                    r->resource_spans[i]->scope_spans[j];
                for (size_t k = 0; k < ss->n_spans; k++)
                    dims_note(s, ss->spans[k]->attributes, ss->spans[k]->n_attributes, d);
            }
        }
    } else if (d->sig == TG_SIGNAL_METRICS) {
        const tg_otlp_metrics_req *r = (const tg_otlp_metrics_req *)d->viewed;
        for (size_t i = 0; i < r->n_resource_metrics; i++) {
            const Opentelemetry__Proto__Resource__V1__Resource *res =
                r->resource_metrics[i]->resource;
            if (res)
                dims_note(s, res->attributes, res->n_attributes, d);
        }
    }
}

void tg_sum_dims_viewed(const tg_summarizer *s, enum tg_signal sig,
                        const ProtobufCMessage *viewed, tg_sum_dims *d)
{
    (void)s;
    memset(d, 0, sizeof(*d));
    d->sig = sig;
    d->viewed = viewed;
}

/* out[k]: the value of dimension k among attrs (raw side) if the view let
 * the same value through, else left as it was. */
static void dims_of(const tg_summarizer *s, tg_otlp_kv *const *attrs, size_t n,
                    tg_sum_dims *allowed, const char **out)
{
    const char *keys[TG_DIMS];

    if (!allowed)
        return;
    if (!allowed->ready && n > 0)
        dims_collect(s, allowed);
    for (int k = 0; k < TG_DIMS; k++)
        keys[k] = dim_key(s, k);
    for (size_t i = 0; i < n; i++) {
        const char *ak = attrs[i] ? attrs[i]->key : NULL;
        if (!ak)
            continue;
        for (int k = 0; k < TG_DIMS; k++) {
            const char *v;
            if (!keys[k] || ak[0] != keys[k][0] || strcmp(ak, keys[k]) != 0)
                continue;
            if (!(v = kv_string(attrs[i])))
                break;
            for (size_t j = 0; j < allowed->n[k]; j++)
                if (strcmp(allowed->v[k][j], v) == 0)
                    out[k] = allowed->v[k][j];
        }
    }
}

/* Whether a span carries anything cost_span records. */
static int span_costs(const Opentelemetry__Proto__Trace__V1__Span *sp)
{
    static const char *const keys[] = {
        "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
        "tollgate.cost.cpu_seconds", "tollgate.cost.gpu_seconds",
        "gen_ai.operation.name",     "gen_ai.request.model"};

    for (size_t i = 0; i < sp->n_attributes; i++) {
        const tg_otlp_kv *kv = sp->attributes[i];
        if (!kv || !kv->key || (kv->key[0] != 'g' && kv->key[0] != 't'))
            continue;
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            if (strcmp(kv->key, keys[k]) == 0)
                return 1;
    }
    return 0;
}

/* The resource's dimensions, found the first time one of its spans has a
 * cost to attribute. */
typedef struct res_dims {
    const char *v[TG_DIMS];
    int ready;
} res_dims;

static void cost_span(tg_summarizer *s, const char *svc,
                      const Opentelemetry__Proto__Resource__V1__Resource *res,
                      res_dims *rd, tg_sum_dims *allowed,
                      const Opentelemetry__Proto__Trace__V1__Span *sp)
{
    int64_t hour = hour_of(sp->start_time_unix_nano);
    const char *dims[TG_DIMS];
    int inference = 0;

    if (!span_costs(sp))
        return;
    if (!rd->ready) {
        rd->ready = 1;
        if (res)
            dims_of(s, res->attributes, res->n_attributes, allowed, rd->v);
    }
    memcpy(dims, rd->v, sizeof(dims));
    dims_of(s, sp->attributes, sp->n_attributes, allowed, dims);
    for (size_t i = 0; i < sp->n_attributes; i++) {
        const tg_otlp_kv *kv = sp->attributes[i];
        const char *meter = NULL;
        if (!kv || !kv->key || (kv->key[0] != 'g' && kv->key[0] != 't'))
            continue;
        if (strcmp(kv->key, "gen_ai.usage.input_tokens") == 0)
            meter = "gen_ai-input-tokens";
        else if (strcmp(kv->key, "gen_ai.usage.output_tokens") == 0)
            meter = "gen_ai-output-tokens";
        else if (strcmp(kv->key, "tollgate.cost.cpu_seconds") == 0)
            meter = "cpu-seconds";
        else if (strcmp(kv->key, "tollgate.cost.gpu_seconds") == 0)
            meter = "gpu-seconds";
        if (meter)
            tg_sum_cost_add_dims(s, svc, dims, meter, hour, attr_number(kv));
        /* an inference: a span of the GenAI semantic conventions */
        if (strcmp(kv->key, "gen_ai.operation.name") == 0 ||
            strcmp(kv->key, "gen_ai.request.model") == 0)
            inference = 1;
    }
    if (inference)
        tg_sum_cost_add_dims(s, svc, dims, "gen_ai-requests", hour, 1);
}

void tg_sum_cost_raw(tg_summarizer *s, enum tg_signal sig, const ProtobufCMessage *raw,
                     const char *const *allowed, size_t n_allowed, tg_sum_dims *dims,
                     uint64_t raw_bytes, uint64_t stored_bytes, uint64_t now_ns)
{
    const char *svc_name[64];
    uint64_t svc_items[64], total = 0;
    size_t nsvc = 0;
    int64_t hour = hour_of(now_ns);

    if (!s->created_ns)
        s->created_ns = now_ns;

#define ITEMS(svc, n)                                                                    \
    do {                                                                                 \
        const char *a_ = attributed((svc), allowed, n_allowed);                          \
        size_t j_;                                                                       \
        for (j_ = 0; j_ < nsvc; j_++)                                                    \
            if (strcmp(svc_name[j_], a_) == 0)                                           \
                break;                                                                   \
        if (j_ == nsvc && nsvc < 64) {                                                   \
            svc_name[nsvc] = a_;                                                         \
            svc_items[nsvc++] = 0;                                                       \
        }                                                                                \
        if (j_ < nsvc)                                                                   \
            svc_items[j_] += (n);                                                        \
        total += (n);                                                                    \
    } while (0)

    if (sig == TG_SIGNAL_TRACES) {
        const tg_otlp_traces_req *r = (const tg_otlp_traces_req *)raw;
        for (size_t i = 0; i < r->n_resource_spans; i++) {
            const Opentelemetry__Proto__Resource__V1__Resource *res =
                r->resource_spans[i]->resource;
            const char *svc = attributed(tg_otlp_service_name(res), allowed, n_allowed);
            res_dims rd = {{NULL, NULL, NULL}, 0};
            uint64_t n = 0;
            for (size_t j = 0; j < r->resource_spans[i]->n_scope_spans; j++) {
                const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss =
                    r->resource_spans[i]->scope_spans[j];
                n += ss->n_spans;
                for (size_t k = 0; k < ss->n_spans; k++)
                    cost_span(s, svc, res, &rd, dims, ss->spans[k]);
            }
            ITEMS(svc, n);
        }
    } else if (sig == TG_SIGNAL_LOGS) {
        const tg_otlp_logs_req *r = (const tg_otlp_logs_req *)raw;
        for (size_t i = 0; i < r->n_resource_logs; i++) {
            const char *svc = tg_otlp_service_name(r->resource_logs[i]->resource);
            uint64_t n = 0;
            for (size_t j = 0; j < r->resource_logs[i]->n_scope_logs; j++)
                n += r->resource_logs[i]->scope_logs[j]->n_log_records;
            ITEMS(svc, n);
        }
    } else {
        const tg_otlp_metrics_req *r = (const tg_otlp_metrics_req *)raw;
        for (size_t i = 0; i < r->n_resource_metrics; i++) {
            const Opentelemetry__Proto__Resource__V1__Resource *res =
                r->resource_metrics[i]->resource;
            const char *svc = attributed(tg_otlp_service_name(res), allowed, n_allowed);
            const char *rd[TG_DIMS] = {NULL, NULL, NULL};
            uint64_t n = 0;
            if (res)
                dims_of(s, res->attributes, res->n_attributes, dims, rd);
            for (size_t j = 0; j < r->resource_metrics[i]->n_scope_metrics; j++) {
                const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
                    r->resource_metrics[i]->scope_metrics[j];
                n += sm->n_metrics;
                for (size_t k = 0; k < sm->n_metrics; k++)
                    cost_metric(s, svc, rd, sm->metrics[k], s->created_ns);
            }
            ITEMS(svc, n);
        }
    }
#undef ITEMS
    if (total == 0)
        return;
    for (size_t i = 0; i < nsvc; i++) {
        double share = (double)svc_items[i] / (double)total;
        tg_sum_cost_add(s, svc_name[i], "telemetry-ingested", hour,
                        (double)raw_bytes * share);
        if (stored_bytes)
            tg_sum_cost_add(s, svc_name[i], "telemetry-stored", hour,
                            (double)stored_bytes * share);
    }
}
