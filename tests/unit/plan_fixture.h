/* A fixed cross-site trace and a few log records, seen through the plan
 * evaluators' views; shared by test_traceql, test_logql and the two query
 * fuzz targets. Header-only: every function is static.
 *
 * The trace (times in ms from 0):
 *   s1 GET /checkout  server unset   0-500  frontend us-cloud   (root)
 *   s2 charge         client error 100-400  payments de-onprem  parent s1
 *   s3 db.query       internal ok  150-160  payments de-onprem  parent s2
 *   s4 render         internal unset 410-420 frontend us-cloud  parent s1
 *   s5 audit          producer unset 200-201 ledger  fr-onprem  parent s2
 * s3 carries two array attributes: tags ["a", "b"] and codes [1, 2]. */
#ifndef PLAN_FIXTURE_H
#define PLAN_FIXTURE_H

#include <string.h>

#include "tg_plan_eval.h"

typedef struct fx_attr {
    const char *key;
    tg_pval v;
} fx_attr;

typedef struct fx_rec {
    const fx_attr *span, *res;
} fx_rec;

#define FX_S(k, str)                                                                     \
    {                                                                                    \
        k,                                                                               \
        {                                                                                \
            TG_PV_STR, str, sizeof(str) - 1, 0, 0                                        \
        }                                                                                \
    }
#define FX_I(k, n)                                                                       \
    {                                                                                    \
        k,                                                                               \
        {                                                                                \
            TG_PV_INT, NULL, 0, n, 0                                                     \
        }                                                                                \
    }
#define FX_F(k, x)                                                                       \
    {                                                                                    \
        k,                                                                               \
        {                                                                                \
            TG_PV_FLOAT, NULL, 0, 0, x                                                   \
        }                                                                                \
    }
#define FX_B(k, b)                                                                       \
    {                                                                                    \
        k,                                                                               \
        {                                                                                \
            TG_PV_BOOL, NULL, 0, b, 0                                                    \
        }                                                                                \
    }
#define FX_END                                                                           \
    {                                                                                    \
        NULL,                                                                            \
        {                                                                                \
            TG_PV_NIL, NULL, 0, 0, 0                                                     \
        }                                                                                \
    }

static int fx_lookup(const fx_attr *a, const char *key, tg_pval *out)
{
    for (; a && a->key; a++)
        if (strcmp(a->key, key) == 0) {
            *out = a->v;
            return 1;
        }
    return 0;
}

static int fx_span_attr(const void *ctx, const char *key, tg_pval *out)
{
    return fx_lookup(((const fx_rec *)ctx)->span, key, out);
}

static int fx_res_attr(const void *ctx, const char *key, tg_pval *out)
{
    return fx_lookup(((const fx_rec *)ctx)->res, key, out);
}

static const fx_attr fx_s1[] = {FX_S("http.method", "GET"), FX_I("http.status_code", 200),
                                FX_S("a b", "spaced"),      FX_B("flag", 1),
                                FX_F("ratio", 0.5),         FX_END};
static const fx_attr fx_r1[] = {FX_S("service.name", "frontend"),
                                FX_S("deployment.environment", "prod"), FX_END};
static const fx_attr fx_s2[] = {FX_I("http.status_code", 502), FX_I("retry", 3), FX_END};
static const fx_attr fx_r2[] = {FX_S("service.name", "payments"), FX_S("region", "eu"),
                                FX_END};
static const tg_pval fx_tags[] = {{TG_PV_STR, "a", 1, 0, 0, NULL},
                                  {TG_PV_STR, "b", 1, 0, 0, NULL}};
static const tg_pval fx_codes[] = {{TG_PV_INT, NULL, 0, 1, 0, NULL},
                                   {TG_PV_INT, NULL, 0, 2, 0, NULL}};
static const fx_attr fx_s3[] = {FX_S("db.system", "postgres"),
                                {"tags", {TG_PV_ARRAY, NULL, 2, 0, 0, fx_tags}},
                                {"codes", {TG_PV_ARRAY, NULL, 2, 0, 0, fx_codes}},
                                FX_END};
static const fx_attr fx_s4[] = {FX_I("delta", -5), FX_END};

static const fx_rec fx_recs[5] = {
    {fx_s1, fx_r1}, {fx_s2, fx_r2}, {fx_s3, fx_r2}, {fx_s4, fx_r1}, {NULL, NULL},
};

static const uint8_t fx_trace_id[16] = {1, 2,  3,  4,  5,  6,  7,  8,
                                        9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t fx_ids[6][8] = {
    {0},
    {0, 0, 0, 0, 0, 0, 0, 1},
    {0, 0, 0, 0, 0, 0, 0, 2},
    {0, 0, 0, 0, 0, 0, 0, 3},
    {0, 0, 0, 0, 0, 0, 0, 4},
    {0, 0, 0, 0, 0, 0, 0, 5},
};

#define FX_MS 1000000ULL
#define FX_T0 1700000000000000000ULL

__attribute__((unused)) static void fx_trace(tg_span_view v[5])
{
    static const struct {
        const char *name, *service, *site, *msg;
        int status, kind, parent;
        unsigned start, end;
    } d[5] = {
        {"GET /checkout", "frontend", "us-cloud", NULL, 0, 2, 0, 0, 500},
        {"charge", "payments", "de-onprem", "card declined", 2, 3, 1, 100, 400},
        {"db.query", "payments", "de-onprem", NULL, 1, 1, 2, 150, 160},
        {"render", "frontend", "us-cloud", NULL, 0, 1, 1, 410, 420},
        {"audit", "ledger", "fr-onprem", NULL, 0, 4, 2, 200, 201},
    };
    int i;

    memset(v, 0, 5 * sizeof(*v));
    for (i = 0; i < 5; i++) {
        v[i].name = d[i].name;
        v[i].service = d[i].service;
        v[i].site = d[i].site;
        v[i].status_message = d[i].msg;
        v[i].status = d[i].status;
        v[i].kind = d[i].kind;
        v[i].start_ns = FX_T0 + d[i].start * FX_MS;
        v[i].end_ns = FX_T0 + d[i].end * FX_MS;
        v[i].span_id = fx_ids[i + 1];
        v[i].trace_id = fx_trace_id;
        v[i].parent_id = d[i].parent ? fx_ids[d[i].parent] : NULL;
        v[i].span_attr = fx_span_attr;
        v[i].resource_attr = fx_res_attr;
        v[i].ctx = &fx_recs[i];
    }
}

/* Log records r0..r3. */
static const fx_attr fx_lres_checkout[] = {FX_S("service.name", "checkout"),
                                           FX_S("k8s.namespace.name", "shop"), FX_END};
static const fx_attr fx_lres_checkout2[] = {FX_S("service.name", "checkout"), FX_END};
static const fx_attr fx_lres_ledger[] = {FX_S("service.name", "ledger"), FX_END};
static const fx_attr fx_lattr0[] = {FX_S("http.route", "/pay"), FX_END};

static const fx_rec fx_lrecs[4] = {
    {fx_lattr0, fx_lres_checkout},
    {NULL, fx_lres_checkout2},
    {NULL, fx_lres_ledger},
    {NULL, fx_lres_checkout2},
};

__attribute__((unused)) static void fx_logs(tg_log_view v[4])
{
    static const struct {
        const char *service, *site, *sev, *body;
    } d[4] = {
        {"checkout", "de-onprem", "ERROR",
         "{\"level\":\"error\",\"status\":502,\"latency\":\"1.5s\",\"user\":{\"id\":"
         "\"u1\"},"
         "\"msg\":\"payment failed\"}"},
        {"checkout", "us-cloud", "INFO",
         "level=info status=200 duration=250ms msg=\"all good\""},
        {"ledger", "de-onprem", "WARN", "plain text line with timeout"},
        {"checkout", "de-east", "ERROR",
         "level=error status=503 duration=2s msg=\"upstream timeout\""},
    };
    int i;

    memset(v, 0, 4 * sizeof(*v));
    for (i = 0; i < 4; i++) {
        v[i].time_ns = FX_T0 + (uint64_t)i * FX_MS;
        v[i].body = d[i].body;
        v[i].body_len = strlen(d[i].body);
        v[i].severity = d[i].sev;
        v[i].service = d[i].service;
        v[i].site = d[i].site;
        v[i].attr = fx_span_attr;
        v[i].resource_attr = fx_res_attr;
        v[i].ctx = &fx_lrecs[i];
    }
}

#endif
