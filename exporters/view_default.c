/* The built-in fail-closed view (tg_view.h) and the egress tally.
 *
 * Until the residency rules engine decides per class, nothing leaves that is
 * not known to be safe: attributes pass only when their key is on a short
 * list of schema keys that carry no personal values (methods, routes,
 * status codes, systems, models, regions), and free text (span names, log
 * bodies) leaves only as a template with every variable part replaced. */
#include "tg_view.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tg_err.h"
#include "tg_template.h"

const char *const tg_view_default_keys[] = {
    /* resource */
    "service.name", "service.namespace", "service.version", "deployment.environment",
    "deployment.environment.name", "cloud.provider", "cloud.region",
    "cloud.availability_zone", "cloud.platform", "telemetry.sdk.name",
    "telemetry.sdk.language", "telemetry.sdk.version", "host.arch", "os.type",
    "process.runtime.name", "process.runtime.version", "k8s.namespace.name",
    /* HTTP, RPC, databases, messaging */
    "http.request.method", "http.method", "http.response.status_code", "http.status_code",
    "http.route", "url.scheme", "network.protocol.name", "network.protocol.version",
    "network.transport", "rpc.system", "rpc.service", "rpc.method",
    "rpc.grpc.status_code", "db.system", "db.system.name", "db.operation",
    "db.operation.name", "db.collection.name", "messaging.system", "messaging.operation",
    "messaging.operation.type", "error.type", "exception.type", "otel.status_code",
    "peer.service", "server.port",
    /* generative AI */
    "gen_ai.system", "gen_ai.provider.name", "gen_ai.operation.name",
    "gen_ai.request.model", "gen_ai.response.model", "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens", "gen_ai.token.type", "ml.model.version",
    /* resources and cost */
    "cpu.mode", "state", "hw.type", "tollgate.cost.cpu_seconds",
    "tollgate.cost.gpu_seconds",
    /* Prometheus-style labels */
    "method", "code", "status", "route", "handler", "job", "quantile", "le", NULL};

void tg_egress_tally_reset(tg_egress_tally *t)
{
    t->n = 0;
}

void tg_egress_tally_add(tg_egress_tally *t, const char *data_class, const char *action,
                         uint64_t n)
{
    size_t i;

    if (n == 0)
        return;
    for (i = 0; i < t->n; i++) {
        if (strcmp(t->e[i].data_class, data_class) == 0 &&
            strcmp(t->e[i].action, action) == 0) {
            t->e[i].count += n;
            return;
        }
    }
    if (t->n == TG_TALLY_MAX) {
        /* Full: fold into the last entry's neighbour "other". */
        data_class = "other";
        for (i = 0; i < t->n; i++) {
            if (strcmp(t->e[i].data_class, data_class) == 0 &&
                strcmp(t->e[i].action, action) == 0) {
                t->e[i].count += n;
                return;
            }
        }
        i = t->n - 1;
        snprintf(t->e[i].data_class, sizeof(t->e[i].data_class), "other");
        snprintf(t->e[i].action, sizeof(t->e[i].action), "%s", action);
        t->e[i].count = n;
        return;
    }
    i = t->n++;
    snprintf(t->e[i].data_class, sizeof(t->e[i].data_class), "%s", data_class);
    snprintf(t->e[i].action, sizeof(t->e[i].action), "%s", action);
    t->e[i].count = n;
}

void tg_egress_tally_merge(tg_egress_tally *dst, const tg_egress_tally *src)
{
    for (size_t i = 0; i < src->n; i++)
        tg_egress_tally_add(dst, src->e[i].data_class, src->e[i].action, src->e[i].count);
}

/* The built-in keys in an open-addressing table of their hashes: one hash
 * and (almost always) one string compare per attribute, instead of a scan
 * of the whole list. Built once. */
#define KEYSET_SIZE 256 /* power of two, > 2x the built-in keys */

static const char *keyset[KEYSET_SIZE];
static pthread_once_t keyset_once = PTHREAD_ONCE_INIT;

static uint32_t key_hash(const char *k)
{
    uint32_t h = 2166136261u;

    for (; *k; k++) {
        h ^= (unsigned char)*k;
        h *= 16777619u;
    }
    return h;
}

static void keyset_build(void)
{
    for (const char *const *k = tg_view_default_keys; *k; k++) {
        uint32_t i = key_hash(*k) & (KEYSET_SIZE - 1);
        while (keyset[i])
            i = (i + 1) & (KEYSET_SIZE - 1);
        keyset[i] = *k;
    }
}

int tg_view_key_allowed(const tg_view_allowlist *al, const char *key)
{
    uint32_t i;

    pthread_once(&keyset_once, keyset_build);
    for (i = key_hash(key) & (KEYSET_SIZE - 1); keyset[i];
         i = (i + 1) & (KEYSET_SIZE - 1))
        if (strcmp(keyset[i], key) == 0)
            return 1;
    if (al)
        for (size_t j = 0; j < al->n_extra; j++)
            if (strcmp(al->extra_keys[j], key) == 0)
                return 1;
    return 0;
}

typedef struct vctx {
    const tg_view_allowlist *al;
    tg_arena *arena;
    uint64_t pass, drop, generalise;
    int oom;
} vctx;

static int scalar(const tg_otlp_any *v)
{
    if (!v)
        return 0;
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        return 1;
    default:
        return 0;
    }
}

static void templ(vctx *c, char **s);

/* A value under a safe key can still carry an identifier (a route with an
 * e-mail or a card number in it): an '@' or a run of six or more digits
 * makes it leave as a template instead. */
static int looks_identifying(const char *s)
{
    int run = 0;

    for (; *s; s++) {
        if (*s == '@')
            return 1;
        if (*s >= '0' && *s <= '9') {
            if (++run >= 6)
                return 1;
        } else if (*s != ' ' && *s != '-' && *s != '.') {
            run = 0;
        }
    }
    return 0;
}

/* Compacts the attribute array in place, keeping allowed scalar values. */
static void filter_attrs(vctx *c, tg_otlp_kv **attrs, size_t *n)
{
    size_t w = 0;

    for (size_t i = 0; i < *n; i++) {
        tg_otlp_kv *kv = attrs[i];
        if (kv && kv->key && scalar(kv->value) && tg_view_key_allowed(c->al, kv->key)) {
            if (kv->value->value_case ==
                    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE &&
                kv->value->string_value && looks_identifying(kv->value->string_value))
                templ(c, &kv->value->string_value);
            else
                c->pass++;
            attrs[w++] = kv;
        } else {
            c->drop++;
        }
    }
    *n = w;
}

/* Replaces *s with its template (in the arena) when it differs. */
static void templ(vctx *c, char **s)
{
    char buf[TG_TEMPLATE_MAX];
    size_t len, tl;

    if (!*s || !**s)
        return;
    len = strlen(*s);
    tl = tg_template_make(*s, len, buf, sizeof(buf));
    if (tl == len && memcmp(buf, *s, len) == 0) {
        c->pass++;
        return;
    }
    c->generalise++;
    *s = tg_arena_strndup(c->arena, buf, tl);
    if (!*s) {
        c->oom = 1;
        *s = "";
    }
}

/* Metric names are schema identifiers: kept when they look like one
 * (letters, digits and . _ : / -), templated otherwise. */
static void ident(vctx *c, char **s)
{
    for (const char *p = *s; p && *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == ':' ||
              ch == '/' || ch == '-')) {
            templ(c, s);
            return;
        }
    }
    c->pass++;
}

static void view_resource(vctx *c, Opentelemetry__Proto__Resource__V1__Resource *r)
{
    if (!r)
        return;
    filter_attrs(c, r->attributes, &r->n_attributes);
    r->n_entity_refs = 0;
}

static void view_scope(vctx *c, Opentelemetry__Proto__Common__V1__InstrumentationScope *s)
{
    if (!s)
        return;
    filter_attrs(c, s->attributes, &s->n_attributes);
}

static void view_traces(vctx *c, tg_otlp_traces_req *req)
{
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[i];
        view_resource(c, rs->resource);
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[j];
            view_scope(c, ss->scope);
            for (size_t k = 0; k < ss->n_spans; k++) {
                Opentelemetry__Proto__Trace__V1__Span *sp = ss->spans[k];
                templ(c, &sp->name);
                filter_attrs(c, sp->attributes, &sp->n_attributes);
                c->drop += sp->n_events + sp->n_links;
                sp->n_events = 0;
                sp->n_links = 0;
                sp->trace_state = "";
                if (sp->status && sp->status->message && sp->status->message[0]) {
                    sp->status->message = "";
                    c->drop++;
                }
            }
        }
    }
}

static void view_logs(vctx *c, tg_otlp_logs_req *req)
{
    for (size_t i = 0; i < req->n_resource_logs; i++) {
        Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = req->resource_logs[i];
        view_resource(c, rl->resource);
        for (size_t j = 0; j < rl->n_scope_logs; j++) {
            Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = rl->scope_logs[j];
            view_scope(c, sl->scope);
            for (size_t k = 0; k < sl->n_log_records; k++) {
                Opentelemetry__Proto__Logs__V1__LogRecord *lr = sl->log_records[k];
                filter_attrs(c, lr->attributes, &lr->n_attributes);
                if (lr->body) {
                    if (lr->body->value_case ==
                        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE) {
                        templ(c, &lr->body->string_value);
                    } else {
                        /* Structured or binary bodies: only their shape. */
                        lr->body->value_case =
                            OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
                        lr->body->string_value = "<structured>";
                        c->generalise++;
                    }
                }
                if (lr->severity_text && strlen(lr->severity_text) > 12) {
                    lr->severity_text = "";
                    c->drop++;
                }
                templ(c, &lr->event_name);
            }
        }
    }
}

static void view_points_attrs(vctx *c, Opentelemetry__Proto__Metrics__V1__Metric *m)
{
#define FILTER_POINTS(container)                                                         \
    do {                                                                                 \
        if (!(container))                                                                \
            break;                                                                       \
        for (size_t p = 0; p < (container)->n_data_points; p++) {                        \
            filter_attrs(c, (container)->data_points[p]->attributes,                     \
                         &(container)->data_points[p]->n_attributes);                    \
            c->drop += (container)->data_points[p]->n_exemplars;                         \
            (container)->data_points[p]->n_exemplars = 0;                                \
        }                                                                                \
    } while (0)
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        FILTER_POINTS(m->gauge);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        FILTER_POINTS(m->sum);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        FILTER_POINTS(m->histogram);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        FILTER_POINTS(m->exponential_histogram);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        if (m->summary)
            for (size_t p = 0; p < m->summary->n_data_points; p++)
                filter_attrs(c, m->summary->data_points[p]->attributes,
                             &m->summary->data_points[p]->n_attributes);
        break;
    default:
        break;
    }
#undef FILTER_POINTS
}

static void view_metrics(vctx *c, tg_otlp_metrics_req *req)
{
    for (size_t i = 0; i < req->n_resource_metrics; i++) {
        Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = req->resource_metrics[i];
        view_resource(c, rm->resource);
        for (size_t j = 0; j < rm->n_scope_metrics; j++) {
            Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = rm->scope_metrics[j];
            view_scope(c, sm->scope);
            for (size_t k = 0; k < sm->n_metrics; k++) {
                Opentelemetry__Proto__Metrics__V1__Metric *m = sm->metrics[k];
                if (m->description && m->description[0]) {
                    m->description = "";
                    c->drop++;
                }
                c->drop += m->n_metadata;
                m->n_metadata = 0;
                ident(c, &m->name);
                view_points_attrs(c, m);
            }
        }
    }
}

int tg_view_allowlist_fn(void *ctx, enum tg_signal sig, ProtobufCMessage *in,
                         const uint8_t *cls, size_t cls_len, tg_arena *arena,
                         ProtobufCMessage **out, tg_egress_tally *tally)
{
    vctx c;

    (void)cls;
    (void)cls_len;
    memset(&c, 0, sizeof(c));
    c.al = ctx;
    c.arena = arena;
    if (!in || in->descriptor != tg_otlp_request_descriptor(sig))
        return TG_EINVAL;
    switch (sig) {
    case TG_SIGNAL_TRACES:
        view_traces(&c, (tg_otlp_traces_req *)in);
        break;
    case TG_SIGNAL_LOGS:
        view_logs(&c, (tg_otlp_logs_req *)in);
        break;
    case TG_SIGNAL_METRICS:
        view_metrics(&c, (tg_otlp_metrics_req *)in);
        break;
    default:
        return TG_EINVAL;
    }
    if (c.oom)
        return TG_ENOMEM;
    if (tally) {
        tg_egress_tally_add(tally, "unclassified", "pass", c.pass);
        tg_egress_tally_add(tally, "unclassified", "drop", c.drop);
        tg_egress_tally_add(tally, "unclassified", "generalise", c.generalise);
    }
    *out = in;
    return 0;
}

static const char *builtin_policy(void *ctx)
{
    (void)ctx;
    return "builtin:allowlist-v1";
}

const tg_view_desc tg_view_builtin = {"builtin", tg_view_allowlist_fn, builtin_policy};

/* The rules engine's kind lives with it (view_rules.c). */
extern const tg_view_desc tg_view_rules_kind;

static const tg_view_desc *const tg_views[] = {&tg_view_builtin, &tg_view_rules_kind,
                                               NULL};

const tg_view_desc *tg_view_find(const char *name)
{
    for (size_t i = 0; tg_views[i]; i++)
        if (!strcmp(tg_views[i]->name, name))
            return tg_views[i];
    return NULL;
}
