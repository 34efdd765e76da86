/* Span summaries, RED, log templates and the batch they make (tg_summary.h).
 * Metrics and cost quantities are in sum_metrics.c. */
#include "sum_internal.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "tg_array.h"
#include "tg_err.h"
#include "tg_metric_map.h"
#include "tg_template.h"

#define MAX_SPAN_ATTRS 32
#define MAX_STRING 256

/* ---- small containers ------------------------------------------------- */

uint64_t tg_sum_hash(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull ^ seed;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

static size_t slot_of(const tg_sum_map *m, const char *k, size_t klen, uint64_t h)
{
    size_t i = (size_t)h & (m->cap - 1);

    for (;;) {
        const tg_sum_map_ent *e = &m->e[i];
        if (!e->k || (e->h == h && e->klen == klen && memcmp(e->k, k, klen) == 0))
            return i;
        i = (i + 1) & (m->cap - 1);
    }
}

void *tg_sum_map_get(const tg_sum_map *m, const char *k, size_t klen, uint64_t h)
{
    if (!m->cap)
        return NULL;
    return m->e[slot_of(m, k, klen, h)].v;
}

static int map_grow(tg_sum_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    tg_sum_map_ent *ne = calloc(ncap, sizeof(*ne)), *old = m->e;
    size_t ocap = m->cap;

    if (!ne)
        return -1;
    m->e = ne;
    m->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].k)
            m->e[slot_of(m, old[i].k, old[i].klen, old[i].h)] = old[i];
    free(old);
    return 0;
}

int tg_sum_map_put(tg_sum_map *m, const char *k, size_t klen, uint64_t h, void *v)
{
    size_t i;

    if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m) != 0)
        return -1;
    i = slot_of(m, k, klen, h);
    if (!m->e[i].k) {
        if (m->own_keys) {
            char *kc = malloc(klen ? klen : 1);
            if (!kc)
                return -1;
            memcpy(kc, k, klen);
            k = kc;
        }
        m->e[i].k = k;
        m->e[i].klen = (uint32_t)klen;
        m->e[i].h = h;
        m->n++;
    }
    m->e[i].v = v;
    return 0;
}

void tg_sum_map_clear(tg_sum_map *m)
{
    if (m->own_keys)
        for (size_t i = 0; i < m->cap; i++)
            if (m->e[i].k) {
                free((void *)m->e[i].k);
                free(m->e[i].v);
            }
    if (m->cap)
        memset(m->e, 0, m->cap * sizeof(*m->e));
    m->n = 0;
}

void tg_sum_map_free(tg_sum_map *m)
{
    tg_sum_map_clear(m);
    free(m->e);
    m->e = NULL;
    m->cap = 0;
}

int tg_sum_vec_push(tg_sum_vec *p, void *x)
{
    if (TG_ARRAY_ROOM(p->v, p->n, p->cap, 64))
        return -1;
    p->v[p->n++] = x;
    return 0;
}

void *tg_sum_entry(tg_summarizer *s, tg_sum_map *m, tg_sum_vec *list, const char *key,
                   size_t kl, uint64_t seed, size_t size, int *fresh)
{
    uint64_t h = tg_sum_hash(key, kl, seed);
    void *e = tg_sum_map_get(m, key, kl, h);
    const char *k;

    *fresh = 0;
    if (e)
        return e;
    k = tg_sum_intern(s, key, kl);
    e = tg_arena_calloc(&s->arena, size);
    if (!k || !e || tg_sum_map_put(m, k, kl, h, e) != 0 ||
        tg_sum_vec_push(list, e) != 0) {
        s->failed = 1;
        return NULL;
    }
    *fresh = 1;
    return e;
}

/* ---- helpers shared with sum_metrics.c -------------------------------- */

const char *tg_sum_intern(tg_summarizer *s, const char *p, size_t n)
{
    char *c = tg_arena_strndup(&s->arena, p, n);

    if (!c)
        s->failed = 1;
    return c;
}

void tg_sum_time(tg_summarizer *s, uint64_t t)
{
    if (!t)
        return;
    if (!s->base_ns)
        s->base_ns = t;
    if (!s->t_min || t < s->t_min)
        s->t_min = t;
    if (t > s->t_max)
        s->t_max = t;
}

void tg_sum_cost_add(tg_summarizer *s, const char *service, const char *meter,
                     int64_t hour, double qty)
{
    tg_sum_cost_add_dims(s, service, NULL, meter, hour, qty);
}

void tg_sum_cost_add_dims(tg_summarizer *s, const char *service, const char *const *dims,
                          const char *meter, int64_t hour, double qty)
{
    char key[1024];
    size_t sl = strlen(service), ml = strlen(meter), kl, dl[TG_DIMS];
    int fresh;
    cost_ent *e;

    if (!(qty > 0) || !isfinite(qty))
        return;
    if (sl > MAX_STRING)
        sl = MAX_STRING;
    kl = 0;
    memcpy(key, service, sl);
    kl += sl;
    key[kl++] = '\x1f';
    memcpy(key + kl, meter, ml);
    kl += ml;
    for (int d = 0; d < TG_DIMS; d++) {
        const char *v = dims && dims[d] ? dims[d] : "";
        dl[d] = strlen(v);
        if (dl[d] > 128)
            dl[d] = 128;
        /* \x1e marks "attributed" apart from "attributed to the empty string" */
        key[kl++] = dims && dims[d] ? '\x1e' : '\x1f';
        memcpy(key + kl, v, dl[d]);
        kl += dl[d];
    }
    memcpy(key + kl, &hour, 8);
    kl += 8;
    if (!(e = tg_sum_entry(s, &s->costs, &s->cost_list, key, kl, 3, sizeof(*e), &fresh)))
        return;
    if (fresh) {
        e->service = tg_sum_intern(s, service, sl);
        e->meter = meter; /* static strings */
        e->hour = hour;
        for (int d = 0; d < TG_DIMS; d++)
            if (dims && dims[d] && !(e->dim[d] = tg_sum_intern(s, dims[d], dl[d])))
                s->failed = 1;
        if (!e->service)
            s->failed = 1;
    }
    e->qty += qty;
}

static Tollgate__V1__KeyValue *wire_kv(tg_summarizer *s, const char *key,
                                       const tg_otlp_any *v)
{
    Tollgate__V1__KeyValue *o = tg_arena_alloc(&s->arena, sizeof(*o));

    if (!o)
        return NULL;
    tollgate__v1__key_value__init(o);
    o->key = (char *)tg_sum_intern(s, key, strnlen(key, MAX_STRING));
    if (!o->key)
        return NULL;
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: {
        size_t n = strnlen(v->string_value ? v->string_value : "", MAX_STRING);
        /* Cut at a UTF-8 boundary so the centre's JSON stays valid. */
        while (n > 0 && n == MAX_STRING &&
               ((unsigned char)v->string_value[n] & 0xC0) == 0x80)
            n--;
        o->value_case = TOLLGATE__V1__KEY_VALUE__VALUE_STRING_VALUE;
        o->string_value =
            (char *)tg_sum_intern(s, v->string_value ? v->string_value : "", n);
        if (!o->string_value)
            return NULL;
        break;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        o->value_case = TOLLGATE__V1__KEY_VALUE__VALUE_INT_VALUE;
        o->int_value = v->int_value;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        o->value_case = TOLLGATE__V1__KEY_VALUE__VALUE_DOUBLE_VALUE;
        o->double_value = v->double_value;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        o->value_case = TOLLGATE__V1__KEY_VALUE__VALUE_BOOL_VALUE;
        o->bool_value = v->bool_value;
        break;
    default:
        return NULL;
    }
    return o;
}

int tg_sum_copy_attrs(tg_summarizer *s, tg_otlp_kv *const *attrs, size_t n,
                      int map_labels, Tollgate__V1__KeyValue ***out, size_t *nout)
{
    Tollgate__V1__KeyValue **arr;
    size_t w = 0;

    *out = NULL;
    *nout = 0;
    if (n == 0)
        return 0;
    if (n > MAX_SPAN_ATTRS)
        n = MAX_SPAN_ATTRS;
    arr = tg_arena_alloc(&s->arena, n * sizeof(*arr));
    if (!arr)
        return TG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const tg_otlp_kv *kv = attrs[i];
        const char *key;
        Tollgate__V1__KeyValue *o;
        if (!kv || !kv->key || !kv->value)
            continue;
        switch (kv->value->value_case) {
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
            break;
        default:
            continue; /* only scalars cross the boundary */
        }
        key = map_labels ? tg_metric_map_label(s->cfg, kv->key) : kv->key;
        o = wire_kv(s, key, kv->value);
        if (!o)
            return TG_ENOMEM;
        arr[w++] = o;
    }
    *out = arr;
    *nout = w;
    return 0;
}

/* ---- traces ------------------------------------------------------------- */

static span_group *group_for(tg_summarizer *s, const char *svc)
{
    size_t n = strnlen(svc, MAX_STRING);
    uint64_t h = tg_sum_hash(svc, n, 1);
    span_group *g = tg_sum_map_get(&s->groups, svc, n, h);

    if (g)
        return g;
    g = tg_arena_calloc(&s->arena, sizeof(*g));
    if (!g)
        return NULL;
    g->service = tg_sum_intern(s, svc, n);
    if (!g->service || tg_sum_map_put(&s->groups, g->service, n, h, g) != 0 ||
        tg_sum_vec_push(&s->group_list, g) != 0)
        return NULL;
    return g;
}

/* A span name sent this period, interned once, and its operation (its
 * template). Names repeat thousands of times per period, so both are
 * remembered per period; the map's size is the period's distinct names as
 * sent. */
typedef struct name_ent {
    const char *name, *op;
    size_t op_len;
} name_ent;

static const name_ent *name_of(tg_summarizer *s, const char *name)
{
    static const name_ent none = {"", "", 0};
    size_t nl = strnlen(name, MAX_STRING);
    uint64_t h = tg_sum_hash(name, nl, 5);
    name_ent *e = tg_sum_map_get(&s->ops, name, nl, h);
    char buf[TG_TEMPLATE_MAX];
    size_t tl;

    if (e)
        return e;
    tl = tg_template_make(name, nl, buf, sizeof(buf));
    e = tg_arena_alloc(&s->arena, sizeof(*e));
    if (!e || !(e->name = tg_sum_intern(s, name, nl)) ||
        !(e->op = tg_sum_intern(s, buf, tl)) ||
        tg_sum_map_put(&s->ops, e->name, nl, h, e) != 0) {
        s->failed = 1;
        return &none;
    }
    e->op_len = tl;
    return e;
}

static void red_add(tg_summarizer *s, const char *svc, const name_ent *ne, uint32_t kind,
                    uint64_t start, uint64_t dur_ns, int error)
{
    char key[MAX_STRING + TG_TEMPLATE_MAX + 16];
    size_t ol = ne->op_len;
    const char *op = ne->op;
    size_t sl = strnlen(svc, MAX_STRING), kl;
    int64_t minute = (int64_t)(start / 1000000000ull / 60 * 60);
    int fresh;
    red_ent *e;

    memcpy(key, svc, sl);
    key[sl] = '\x1f';
    memcpy(key + sl + 1, op, ol);
    kl = sl + 1 + ol;
    key[kl++] = (char)kind;
    memcpy(key + kl, &minute, 8);
    kl += 8;
    if (!(e = tg_sum_entry(s, &s->red, &s->red_list, key, kl, 2, sizeof(*e), &fresh)))
        return;
    if (fresh) {
        e->service = tg_sum_intern(s, svc, sl);
        e->operation = tg_sum_intern(s, op, ol);
        e->kind = kind;
        e->minute = minute;
        tg_exphist_init(&e->hist);
        if (!e->service || !e->operation)
            s->failed = 1;
    }
    e->requests++;
    if (error)
        e->errors++;
    tg_exphist_record(&e->hist, (double)dur_ns / 1e9);
}

/* Remembers a distinct name in set m (for the cardinality counts). */
static void name_seen(tg_summarizer *s, tg_sum_map *m, const char *name)
{
    size_t n = strnlen(name, MAX_STRING);
    uint64_t h = tg_sum_hash(name, n, 11);
    const char *k;

    if (tg_sum_map_get(m, name, n, h))
        return;
    if (!(k = tg_sum_intern(s, name, n)) || tg_sum_map_put(m, k, n, h, (void *)k) != 0)
        s->failed = 1;
}

static void raw_names(tg_summarizer *s, const tg_otlp_traces_req *req)
{
    for (size_t i = 0; i < req->n_resource_spans; i++)
        for (size_t j = 0; j < req->resource_spans[i]->n_scope_spans; j++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss =
                req->resource_spans[i]->scope_spans[j];
            for (size_t k = 0; k < ss->n_spans; k++)
                name_seen(s, &s->raw_names, ss->spans[k]->name ? ss->spans[k]->name : "");
        }
}

/* Appends the resource attributes `span_resource_keys` names (those the
 * view left on the resource, and only where the span has no attribute of
 * that key) to a span summary's attributes. */
static int add_resource_keys(tg_summarizer *s,
                             const Opentelemetry__Proto__Resource__V1__Resource *res,
                             Tollgate__V1__SpanSummary *o)
{
    const tg_forward_config *c = s->cfg;
    Tollgate__V1__KeyValue **arr;
    size_t n = o->n_attributes;

    if (!c->n_span_resource_keys || !res || !res->n_attributes)
        return 0;
    arr = tg_arena_alloc(&s->arena, (n + c->n_span_resource_keys) * sizeof(*arr));
    if (!arr)
        return TG_ENOMEM;
    if (n)
        memcpy(arr, o->attributes, n * sizeof(*arr));
    for (size_t k = 0; k < c->n_span_resource_keys; k++) {
        const char *want = c->span_resource_keys[k];
        Tollgate__V1__KeyValue **one;
        size_t n_one, i, dup = 0;
        for (i = 0; i < n && !dup; i++)
            dup = strcmp(arr[i]->key, want) == 0;
        for (i = 0; i < res->n_attributes && !dup; i++) {
            tg_otlp_kv *kv = res->attributes[i];
            if (!kv || !kv->key || strcmp(kv->key, want) != 0)
                continue;
            if (tg_sum_copy_attrs(s, &res->attributes[i], 1, 0, &one, &n_one) != 0)
                return TG_ENOMEM;
            if (n_one)
                arr[n++] = one[0];
            break;
        }
    }
    o->attributes = arr;
    o->n_attributes = n;
    return 0;
}

static int add_span(tg_summarizer *s, span_group *g, const char *svc,
                    const Opentelemetry__Proto__Resource__V1__Resource *res,
                    const Opentelemetry__Proto__Trace__V1__Span *sp)
{
    Tollgate__V1__SpanSummary *o;
    uint64_t dur = sp->end_time_unix_nano > sp->start_time_unix_nano
                       ? sp->end_time_unix_nano - sp->start_time_unix_nano
                       : 0;
    int error =
        sp->status &&
        sp->status->code ==
            OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    const name_ent *ne = name_of(s, sp->name ? sp->name : "");

    tg_sum_time(s, sp->start_time_unix_nano);
    tg_sum_time(s, sp->end_time_unix_nano);
    red_add(s, svc, ne, (uint32_t)sp->kind, sp->start_time_unix_nano, dur, error);
    if (!s->cfg->send_spans)
        return 0;
    /* The store's validation guarantees id lengths; check anyway, the
     * summary must never carry a malformed id. */
    if (sp->trace_id.len != 16 || sp->span_id.len != 8)
        return 0;
    o = tg_arena_alloc(&s->arena, sizeof(*o));
    if (!o)
        return TG_ENOMEM;
    tollgate__v1__span_summary__init(o);
    o->trace_id.data = tg_arena_alloc(&s->arena, 32);
    if (!o->trace_id.data)
        return TG_ENOMEM;
    memcpy(o->trace_id.data, sp->trace_id.data, 16);
    o->trace_id.len = 16;
    o->span_id.data = o->trace_id.data + 16;
    memcpy(o->span_id.data, sp->span_id.data, 8);
    o->span_id.len = 8;
    if (sp->parent_span_id.len == 8) {
        o->parent_span_id.data = o->trace_id.data + 24;
        memcpy(o->parent_span_id.data, sp->parent_span_id.data, 8);
        o->parent_span_id.len = 8;
    }
    o->name = (char *)ne->name;
    o->kind = (uint32_t)sp->kind;
    o->start_offset_ns = (int64_t)(sp->start_time_unix_nano - s->base_ns);
    o->duration_ns = dur;
    o->status_code = sp->status ? (uint32_t)sp->status->code : 0;
    if (tg_sum_copy_attrs(s, sp->attributes, sp->n_attributes, 0, &o->attributes,
                          &o->n_attributes) != 0)
        return TG_ENOMEM;
    if (add_resource_keys(s, res, o) != 0)
        return TG_ENOMEM;
    if (tg_sum_vec_push(&g->spans, o) != 0)
        return TG_ENOMEM;
    s->spans++;
    return 0;
}

static int add_traces(tg_summarizer *s, const tg_otlp_traces_req *req)
{
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[i];
        const char *svc = tg_otlp_service_name(rs->resource);
        span_group *g = group_for(s, svc);
        if (!g)
            return TG_ENOMEM;
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[j];
            for (size_t k = 0; k < ss->n_spans; k++) {
                int rc = add_span(s, g, svc, rs->resource, ss->spans[k]);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- logs ---------------------------------------------------------------- */

static uint32_t norm_severity(uint32_t n)
{
    if (n == 0 || n > 24)
        return 0;
    return (n - 1) / 4 * 4 + 1;
}

static void add_log(tg_summarizer *s, const char *svc,
                    const Opentelemetry__Proto__Logs__V1__LogRecord *lr)
{
    char tmpl[TG_TEMPLATE_MAX], key[MAX_STRING + TG_TEMPLATE_MAX + 16];
    const char *body = "";
    size_t tl, sl = strnlen(svc, MAX_STRING), kl;
    uint64_t t = lr->time_unix_nano ? lr->time_unix_nano : lr->observed_time_unix_nano;
    uint32_t sev = norm_severity((uint32_t)lr->severity_number);
    int64_t minute = (int64_t)(t / 1000000000ull / 60 * 60);
    uint64_t id;
    int fresh;
    log_ent *e;

    if (lr->body && lr->body->value_case ==
                        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
        body = lr->body->string_value ? lr->body->string_value : "";
    else if (lr->body && lr->body->value_case !=
                             OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET)
        body = "<structured>";
    tl = tg_template_make(body, strlen(body), tmpl, sizeof(tmpl));
    id = tg_template_id(tmpl, tl);
    tg_sum_time(s, t);
    memcpy(key, svc, sl);
    kl = sl;
    key[kl++] = '\x1f';
    memcpy(key + kl, &id, 8);
    kl += 8;
    memcpy(key + kl, &sev, 4);
    kl += 4;
    memcpy(key + kl, &minute, 8);
    kl += 8;
    if (!(e = tg_sum_entry(s, &s->logs, &s->log_list, key, kl, 4, sizeof(*e), &fresh)))
        return;
    if (fresh) {
        e->service = tg_sum_intern(s, svc, sl);
        e->tmpl = tg_sum_intern(s, tmpl, tl);
        e->severity = sev;
        e->id = id;
        e->minute = minute;
        if (!e->service || !e->tmpl)
            s->failed = 1;
    }
    e->count++;
}

static int add_logs(tg_summarizer *s, const tg_otlp_logs_req *req)
{
    if (!s->cfg->send_logs)
        return 0;
    for (size_t i = 0; i < req->n_resource_logs; i++) {
        const Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = req->resource_logs[i];
        const char *svc = tg_otlp_service_name(rl->resource);
        for (size_t j = 0; j < rl->n_scope_logs; j++) {
            const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = rl->scope_logs[j];
            for (size_t k = 0; k < sl->n_log_records; k++)
                add_log(s, svc, sl->log_records[k]);
        }
    }
    return 0;
}

/* ---- the summariser -------------------------------------------------------- */

tg_summarizer *tg_summarizer_create(const tg_forward_config *cfg)
{
    tg_summarizer *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->cfg = cfg;
    tg_arena_init(&s->arena, 256 * 1024, 0);
    s->series.own_keys = 1;
    return s;
}

void tg_summarizer_destroy(tg_summarizer *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->group_list.n; i++)
        free(((span_group *)s->group_list.v[i])->spans.v);
    tg_sum_map_free(&s->groups);
    tg_sum_map_free(&s->red);
    tg_sum_map_free(&s->ops);
    tg_sum_map_free(&s->raw_names);
    tg_sum_map_free(&s->logs);
    tg_sum_map_free(&s->costs);
    tg_sum_map_free(&s->series);
    free(s->group_list.v);
    free(s->red_list.v);
    free(s->log_list.v);
    free(s->metrics.v);
    free(s->cost_list.v);
    free(s->carry);
    tg_arena_destroy(&s->arena);
    free(s);
}

/* The services of a viewed request: cost quantities may be attributed to
 * these names and no other. */
static size_t viewed_services(enum tg_signal sig, const ProtobufCMessage *v,
                              const char **out, size_t max)
{
    size_t n = 0;

#define COLLECT(arr, count)                                                              \
    for (size_t i = 0; i < (count) && n < max; i++) {                                    \
        const char *svc = tg_otlp_service_name((arr)[i]->resource);                      \
        size_t j;                                                                        \
        for (j = 0; j < n; j++)                                                          \
            if (strcmp(out[j], svc) == 0)                                                \
                break;                                                                   \
        if (j == n)                                                                      \
            out[n++] = svc;                                                              \
    }
    if (sig == TG_SIGNAL_TRACES) {
        const tg_otlp_traces_req *r = (const tg_otlp_traces_req *)v;
        COLLECT(r->resource_spans, r->n_resource_spans)
    } else if (sig == TG_SIGNAL_LOGS) {
        const tg_otlp_logs_req *r = (const tg_otlp_logs_req *)v;
        COLLECT(r->resource_logs, r->n_resource_logs)
    } else {
        const tg_otlp_metrics_req *r = (const tg_otlp_metrics_req *)v;
        COLLECT(r->resource_metrics, r->n_resource_metrics)
    }
#undef COLLECT
    return n;
}

int tg_summarizer_add(tg_summarizer *s, enum tg_signal sig, const ProtobufCMessage *raw,
                      const ProtobufCMessage *viewed, uint64_t raw_bytes,
                      uint64_t stored_bytes, uint64_t now_ns)
{
    const char *svcs[64];
    size_t nsvc = 0;
    tg_sum_dims dims;
    int rc = 0;

    if (s->failed)
        return TG_ENOMEM;
    memset(&dims, 0, sizeof(dims));
    if (viewed) {
        nsvc = viewed_services(sig, viewed, svcs, 64);
        tg_sum_dims_viewed(s, sig, viewed, &dims);
        switch (sig) {
        case TG_SIGNAL_TRACES:
            rc = add_traces(s, (const tg_otlp_traces_req *)viewed);
            break;
        case TG_SIGNAL_LOGS:
            rc = add_logs(s, (const tg_otlp_logs_req *)viewed);
            break;
        case TG_SIGNAL_METRICS:
            rc = s->cfg->send_metrics
                     ? tg_sum_add_metrics(s, (const tg_otlp_metrics_req *)viewed)
                     : 0;
            break;
        }
    }
    if (rc == 0 && raw && viewed && sig == TG_SIGNAL_TRACES)
        raw_names(s, (const tg_otlp_traces_req *)raw);
    if (rc == 0 && raw)
        tg_sum_cost_raw(s, sig, raw, svcs, nsvc, &dims, raw_bytes, stored_bytes, now_ns);
    if (rc || s->failed) {
        s->failed = 1;
        return TG_ENOMEM;
    }
    return 0;
}

size_t tg_summarizer_memory(const tg_summarizer *s)
{
    const tg_sum_map *maps[] = {&s->groups, &s->red,   &s->ops,   &s->raw_names,
                                &s->logs,   &s->costs, &s->series};
    const tg_sum_vec *vecs[] = {&s->group_list, &s->red_list, &s->log_list, &s->metrics,
                                &s->cost_list};
    size_t n = s->arena.used_total + s->cap_carry * sizeof(carry_ent);

    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
        n += maps[i]->cap * sizeof(tg_sum_map_ent);
    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++)
        n += vecs[i]->cap * sizeof(void *);
    for (size_t i = 0; i < s->group_list.n; i++)
        n += ((const span_group *)s->group_list.v[i])->spans.cap * sizeof(void *);
    return n;
}

void tg_summarizer_counts(const tg_summarizer *s, tg_summary_counts *c)
{
    memset(c, 0, sizeof(*c));
    c->spans = s->spans;
    c->red = s->red_list.n;
    c->logs = s->log_list.n;
    c->metrics = s->metrics.n;
    c->costs = s->cost_list.n;
    c->records = c->spans + c->red + c->logs + c->metrics + c->costs;
    c->t_min = s->t_min;
    c->t_max = s->t_max;
    c->names_raw = s->raw_names.n;
    c->names_sent = s->ops.n;
}

static Tollgate__V1__CostRecord *cost_record(tg_summarizer *s, const cost_ent *e)
{
    const tg_cost_model *m = &s->cfg->cost;
    Tollgate__V1__CostRecord *c;
    tg_meter_price pr;
    double pq, cost;

    if (tg_cost_price(m, e->meter, &pr) != 0)
        return NULL;
    c = tg_arena_alloc(&s->arena, sizeof(*c));
    if (!c)
        return NULL;
    tollgate__v1__cost_record__init(c);
    pq = e->qty / pr.per_pricing_unit;
    cost = pq * pr.unit_price;
    c->service = (char *)e->service;
    c->hour_unix = e->hour;
    c->meter = (char *)e->meter;
    c->consumed_quantity = e->qty;
    c->consumed_unit = (char *)pr.consumed_unit;
    c->pricing_quantity = pq;
    c->pricing_unit = (char *)pr.pricing_unit;
    c->list_unit_price = pr.unit_price;
    c->list_cost = cost;
    c->contracted_cost = cost;
    c->effective_cost = cost;
    /* FOCUS: on-prem usage is not invoiced (the purchase was); its
     * EffectiveCost carries the amortised share. */
    c->billed_cost = m->kind == TG_COST_AMORTISED ? 0 : cost;
    c->currency = (char *)m->currency;
    c->cost_model = m->kind == TG_COST_AMORTISED ? "amortised" : "metered";
    c->provider = (char *)m->provider;
    c->region = (char *)m->region;
    c->service_category = (char *)m->service_category;
    c->charge_category = "Usage";
    c->sku_id = (char *)pr.sku_id;
    if (e->dim[TG_DIM_MODEL])
        c->model = (char *)e->dim[TG_DIM_MODEL];
    if (e->dim[TG_DIM_TEAM])
        c->team = (char *)e->dim[TG_DIM_TEAM];
    if (e->dim[TG_DIM_RUN])
        c->run = (char *)e->dim[TG_DIM_RUN];
    return c;
}

int tg_summarizer_build(tg_summarizer *s, Tollgate__V1__Batch *b, uint64_t now_ns)
{
    size_t n;

    if (s->failed)
        return TG_ENOMEM;
    b->base_time_unix_nano = s->base_ns;
    b->window_start_unix_nano = s->t_min;
    b->window_end_unix_nano = s->t_max;
    b->created_unix_nano = now_ns;

    n = 0;
    b->spans = tg_arena_alloc(&s->arena, (s->group_list.n + 1) * sizeof(*b->spans));
    if (!b->spans)
        return TG_ENOMEM;
    for (size_t i = 0; i < s->group_list.n; i++) {
        span_group *g = s->group_list.v[i];
        Tollgate__V1__ServiceSpans *ss;
        if (g->spans.n == 0)
            continue;
        ss = tg_arena_alloc(&s->arena, sizeof(*ss));
        if (!ss)
            return TG_ENOMEM;
        tollgate__v1__service_spans__init(ss);
        ss->service = (char *)g->service;
        ss->spans = (Tollgate__V1__SpanSummary **)g->spans.v;
        ss->n_spans = g->spans.n;
        b->spans[n++] = ss;
    }
    b->n_spans = n;

    b->red = tg_arena_alloc(&s->arena, (s->red_list.n + 1) * sizeof(*b->red));
    if (!b->red)
        return TG_ENOMEM;
    for (size_t i = 0; i < s->red_list.n; i++) {
        red_ent *e = s->red_list.v[i];
        Tollgate__V1__RedRecord *r = tg_arena_alloc(&s->arena, sizeof(*r));
        if (!r)
            return TG_ENOMEM;
        tollgate__v1__red_record__init(r);
        r->service = (char *)e->service;
        r->operation = (char *)e->operation;
        r->kind = e->kind;
        r->minute_unix = e->minute;
        r->requests = e->requests;
        r->errors = e->errors;
        r->latency_seconds = tg_exphist_to_pb(&e->hist, &s->arena);
        if (!r->latency_seconds)
            return TG_ENOMEM;
        b->red[i] = r;
    }
    b->n_red = s->red_list.n;

    b->logs = tg_arena_alloc(&s->arena, (s->log_list.n + 1) * sizeof(*b->logs));
    if (!b->logs)
        return TG_ENOMEM;
    for (size_t i = 0; i < s->log_list.n; i++) {
        log_ent *e = s->log_list.v[i];
        Tollgate__V1__LogTemplate *l = tg_arena_alloc(&s->arena, sizeof(*l));
        if (!l)
            return TG_ENOMEM;
        tollgate__v1__log_template__init(l);
        l->service = (char *)e->service;
        l->severity_number = e->severity;
        l->template_ = (char *)e->tmpl;
        l->template_id = e->id;
        l->minute_unix = e->minute;
        l->count = e->count;
        b->logs[i] = l;
    }
    b->n_logs = s->log_list.n;

    b->metrics = (Tollgate__V1__MetricPoint **)s->metrics.v;
    b->n_metrics = s->metrics.n;
    for (size_t i = 0; i < s->metrics.n; i++) {
        Tollgate__V1__MetricPoint *p = s->metrics.v[i];
        p->time_offset_ns = (int64_t)(p->time_unix_nano - s->base_ns);
        p->time_unix_nano = 0;
    }

    n = 0;
    b->costs = tg_arena_alloc(&s->arena, (s->cost_list.n + 1) * sizeof(*b->costs));
    if (!b->costs)
        return TG_ENOMEM;
    for (size_t i = 0; i < s->cost_list.n; i++) {
        Tollgate__V1__CostRecord *c = cost_record(s, s->cost_list.v[i]);
        if (c)
            b->costs[n++] = c;
    }
    b->n_costs = n;
    return 0;
}

void tg_summarizer_account_forwarded(tg_summarizer *s, uint64_t wire_bytes,
                                     uint64_t now_ns)
{
    uint64_t total = 0;
    int64_t hour = (int64_t)(now_ns / 1000000000ull / 3600 * 3600);

    /* Shares by span summaries and RED records per service: what made the
     * batch big. */
    for (size_t i = 0; i < s->group_list.n; i++)
        total += ((span_group *)s->group_list.v[i])->spans.n;
    total += s->red_list.n + s->log_list.n + s->metrics.n;
    if (total == 0 || wire_bytes == 0)
        return;
    for (size_t i = 0; i < s->group_list.n; i++) {
        span_group *g = s->group_list.v[i];
        uint64_t recs = g->spans.n;
        for (size_t j = 0; j < s->red_list.n; j++)
            if (strcmp(((red_ent *)s->red_list.v[j])->service, g->service) == 0)
                recs++;
        if (!recs)
            continue;
        if (s->n_carry == s->cap_carry) {
            size_t nc = s->cap_carry ? s->cap_carry * 2 : 16;
            carry_ent *ncar = realloc(s->carry, nc * sizeof(*ncar));
            if (!ncar)
                return;
            s->carry = ncar;
            s->cap_carry = nc;
        }
        snprintf(s->carry[s->n_carry].service, sizeof(s->carry[0].service), "%s",
                 g->service);
        s->carry[s->n_carry].hour = hour;
        s->carry[s->n_carry].bytes = (double)wire_bytes * (double)recs / (double)total;
        s->n_carry++;
    }
}

void tg_summarizer_clear(tg_summarizer *s)
{
    for (size_t i = 0; i < s->group_list.n; i++)
        free(((span_group *)s->group_list.v[i])->spans.v);
    tg_sum_map_clear(&s->groups);
    tg_sum_map_clear(&s->red);
    tg_sum_map_clear(&s->logs);
    tg_sum_map_clear(&s->costs);
    tg_sum_map_clear(&s->ops);
    tg_sum_map_clear(&s->raw_names);
    s->group_list.n = s->red_list.n = s->log_list.n = s->metrics.n = s->cost_list.n = 0;
    tg_arena_reset(&s->arena);
    s->base_ns = s->t_min = s->t_max = 0;
    s->spans = 0;
    s->failed = 0;
    for (size_t i = 0; i < s->n_carry; i++)
        tg_sum_cost_add(s, s->carry[i].service, "telemetry-forwarded", s->carry[i].hour,
                        s->carry[i].bytes);
    s->n_carry = 0;
    /* Counter baselines are bounded: a site with churning series would
     * otherwise grow them forever. Dropping them loses one delta each. */
    if (s->series.n > 200000)
        tg_sum_map_clear(&s->series);
}
