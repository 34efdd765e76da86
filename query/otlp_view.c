/* OTLP spans as tg_span_views: see tg_otlp_view.h. */
#include "tg_otlp_view.h"

#include <string.h>

#include "tg_err.h"

typedef Opentelemetry__Proto__Trace__V1__Span otlp_span;
typedef Opentelemetry__Proto__Resource__V1__Resource otlp_resource;

/* The record behind a view's callbacks: its span and its resource. */
struct holder {
    const otlp_span *sp;
    const otlp_resource *res;
};

static int kv_value(tg_otlp_kv *const *kv, size_t n, const char *key, tg_pval *out)
{
    for (size_t i = 0; i < n; i++) {
        const tg_otlp_any *v;
        if (!kv[i] || !kv[i]->key || strcmp(kv[i]->key, key) != 0 || !(v = kv[i]->value))
            continue;
        memset(out, 0, sizeof(*out));
        switch (v->value_case) {
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
            out->type = TG_PV_STR;
            out->s = v->string_value ? v->string_value : "";
            out->len = strlen(out->s);
            return 1;
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
            out->type = TG_PV_INT;
            out->i = v->int_value;
            return 1;
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
            out->type = TG_PV_FLOAT;
            out->f = v->double_value;
            return 1;
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
            out->type = TG_PV_BOOL;
            out->i = v->bool_value != 0;
            return 1;
        default:
            return 0; /* arrays, maps and bytes are not compared */
        }
    }
    return 0;
}

static int span_attr(const void *ctx, const char *key, tg_pval *out)
{
    const struct holder *h = ctx;
    return kv_value(h->sp->attributes, h->sp->n_attributes, key, out);
}

static int resource_attr(const void *ctx, const char *key, tg_pval *out)
{
    const struct holder *h = ctx;
    return h->res && kv_value(h->res->attributes, h->res->n_attributes, key, out);
}

static const char *resource_string(const otlp_resource *r, const char *key)
{
    tg_pval v;
    return r && kv_value(r->attributes, r->n_attributes, key, &v) && v.type == TG_PV_STR
               ? v.s
               : NULL;
}

int tg_otlp_span_views(const tg_otlp_traces_req *req, const char *site, tg_arena *arena,
                       tg_span_view **views, const otlp_span ***spans, size_t **rs_of,
                       size_t *n)
{
    size_t total = 0, k = 0;
    struct holder *hold;

    for (size_t i = 0; i < req->n_resource_spans; i++)
        for (size_t j = 0; j < req->resource_spans[i]->n_scope_spans; j++)
            total += req->resource_spans[i]->scope_spans[j]->n_spans;
    *views = tg_arena_calloc(arena, (total ? total : 1) * sizeof(**views));
    *spans = tg_arena_calloc(arena, (total ? total : 1) * sizeof(**spans));
    *rs_of = tg_arena_calloc(arena, (total ? total : 1) * sizeof(**rs_of));
    hold = tg_arena_calloc(arena, (total ? total : 1) * sizeof(*hold));
    if (!*views || !*spans || !*rs_of || !hold)
        return TG_ENOMEM;
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[i];
        const char *svc = resource_string(rs->resource, "service.name");
        const char *at = resource_string(rs->resource, "tollgate.site");

        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[j];
            for (size_t s = 0; s < ss->n_spans; s++) {
                const otlp_span *sp = ss->spans[s];
                tg_span_view *v = &(*views)[k];

                if (!sp || sp->trace_id.len != 16 || sp->span_id.len != 8)
                    continue;
                hold[k].sp = sp;
                hold[k].res = rs->resource;
                v->name = sp->name;
                v->status = sp->status ? (int)sp->status->code : 0;
                v->kind = (int)sp->kind;
                v->start_ns = sp->start_time_unix_nano;
                v->end_ns = sp->end_time_unix_nano;
                v->status_message = sp->status ? sp->status->message : NULL;
                v->span_id = sp->span_id.data;
                v->trace_id = sp->trace_id.data;
                v->parent_id =
                    sp->parent_span_id.len == 8 ? sp->parent_span_id.data : NULL;
                v->service = svc;
                v->site = at ? at : site;
                v->span_attr = span_attr;
                v->resource_attr = resource_attr;
                v->ctx = &hold[k];
                (*spans)[k] = sp;
                (*rs_of)[k] = i;
                k++;
            }
        }
    }
    *n = k;
    return 0;
}

/* ---- log records ----------------------------------------------------------- */

typedef Opentelemetry__Proto__Logs__V1__LogRecord otlp_log;

struct log_holder {
    const otlp_log *lr;
    const otlp_resource *res;
};

static int log_attr(const void *ctx, const char *key, tg_pval *out)
{
    const struct log_holder *h = ctx;
    return kv_value(h->lr->attributes, h->lr->n_attributes, key, out);
}

static int log_resource_attr(const void *ctx, const char *key, tg_pval *out)
{
    const struct log_holder *h = ctx;
    return h->res && kv_value(h->res->attributes, h->res->n_attributes, key, out);
}

int tg_otlp_log_views(const tg_otlp_logs_req *req, const char *site, tg_arena *arena,
                      tg_log_view **views, const otlp_log ***records, size_t **rl_of,
                      size_t *n)
{
    size_t total = 0, k = 0;
    struct log_holder *hold;

    for (size_t i = 0; i < req->n_resource_logs; i++)
        for (size_t j = 0; j < req->resource_logs[i]->n_scope_logs; j++)
            total += req->resource_logs[i]->scope_logs[j]->n_log_records;
    *views = tg_arena_calloc(arena, (total ? total : 1) * sizeof(**views));
    *records = tg_arena_calloc(arena, (total ? total : 1) * sizeof(**records));
    *rl_of = tg_arena_calloc(arena, (total ? total : 1) * sizeof(**rl_of));
    hold = tg_arena_calloc(arena, (total ? total : 1) * sizeof(*hold));
    if (!*views || !*records || !*rl_of || !hold)
        return TG_ENOMEM;
    for (size_t i = 0; i < req->n_resource_logs; i++) {
        const Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = req->resource_logs[i];
        const char *svc = resource_string(rl->resource, "service.name");
        const char *at = resource_string(rl->resource, "tollgate.site");

        for (size_t j = 0; j < rl->n_scope_logs; j++) {
            const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = rl->scope_logs[j];
            for (size_t s = 0; s < sl->n_log_records; s++) {
                const otlp_log *lr = sl->log_records[s];
                tg_log_view *v = &(*views)[k];

                if (!lr)
                    continue;
                hold[k].lr = lr;
                hold[k].res = rl->resource;
                v->time_ns =
                    lr->time_unix_nano ? lr->time_unix_nano : lr->observed_time_unix_nano;
                /* Lines are string bodies; any other body reads as empty. */
                if (lr->body &&
                    lr->body->value_case ==
                        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE &&
                    lr->body->string_value) {
                    v->body = lr->body->string_value;
                    v->body_len = strlen(v->body);
                }
                v->severity =
                    lr->severity_text && *lr->severity_text ? lr->severity_text : NULL;
                v->severity_number = (int)lr->severity_number;
                v->service = svc;
                v->site = at ? at : site;
                v->attr = log_attr;
                v->resource_attr = log_resource_attr;
                v->ctx = &hold[k];
                (*records)[k] = lr;
                (*rl_of)[k] = i;
                k++;
            }
        }
    }
    *n = k;
    return 0;
}
