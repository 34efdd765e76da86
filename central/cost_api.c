/* The centre's cost endpoints (docs/cost.md, "The centre's API"):
 *
 *   GET /api/v1/cost/report?from=DATE&to=DATE[&by=...][&compare=SITE|REGION]
 *   GET /api/v1/cost/focus?from=DATE&to=DATE[&format=csv|json]
 *
 * Both work from the cost records the sites forwarded (their measured use
 * per service, meter and hour) and the cost model the site registry names
 * for each site (sites.yaml `cost_model:`), allocated by cost/ at request
 * time, so a corrected model re-prices history.
 *
 * Authentication: a bearer token of a user in --users (any role: cost
 * lines carry no telemetry values) or of a site in --sites; 401 otherwise. */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central_int.h"
#include "cstore.h"
#include "server.h"
#include "tg_costmodel.h"
#include "tg_err.h"
#include "tg_report.h"
#include "tg_strbuf.h"

typedef struct {
    tg_cost_usage *v;
    size_t n, cap;
    int64_t from, to;
    int failed;
} usage_list;

static int meter_measure(const char *meter, enum tg_cost_measure *m)
{
    static const struct {
        const char *meter;
        enum tg_cost_measure m;
    } map[] = {
        {"gpu-seconds", TG_MEASURE_GPU_SECONDS},
        {"cpu-seconds", TG_MEASURE_CPU_SECONDS},
        {"gen_ai-input-tokens", TG_MEASURE_INPUT_TOKENS},
        {"gen_ai-output-tokens", TG_MEASURE_OUTPUT_TOKENS},
        {"gen_ai-requests", TG_MEASURE_INFERENCES},
    };
    for (size_t i = 0; meter && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(meter, map[i].meter) == 0) {
            *m = map[i].m;
            return 1;
        }
    return 0;
}

static void usage_free_one(tg_cost_usage *u)
{
    free((char *)u->site);
    free((char *)u->service);
    free((char *)u->model);
    free((char *)u->team);
    free((char *)u->run);
}

/* Keeps the rows of the period; quantities (not money) arrive as doubles
 * on the wire and become micro-units here, rounded to nearest. */
static int collect(void *ctx, const char *site, const ProtobufCMessage *row)
{
    usage_list *l = ctx;
    const Tollgate__V1__CostRecord *r = (const Tollgate__V1__CostRecord *)row;
    enum tg_cost_measure m;
    tg_cost_usage *u;

    if (r->hour_unix < l->from - 3599 || r->hour_unix >= l->to ||
        !meter_measure(r->meter, &m) || !isfinite(r->consumed_quantity) ||
        r->consumed_quantity <= 0 || r->consumed_quantity > 1e9)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        tg_cost_usage *v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            l->failed = 1;
            return TG_ENOMEM;
        }
        l->v = v;
        l->cap = cap;
    }
    u = &l->v[l->n];
    memset(u, 0, sizeof(*u));
    u->site = strdup(site);
    u->service = strdup(r->service ? r->service : "");
    u->model = strdup(r->model ? r->model : "");
    u->team = strdup(r->team ? r->team : "");
    u->run = strdup(r->run ? r->run : "");
    if (!u->site || !u->service || !u->model || !u->team || !u->run) {
        usage_free_one(u);
        l->failed = 1;
        return TG_ENOMEM;
    }
    u->hour = r->hour_unix;
    u->measure = m;
    u->qty_micro = llround(r->consumed_quantity * TG_MONEY_SCALE);
    l->n++;
    return 0;
}

static void usage_free(usage_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        usage_free_one(&l->v[i]);
    free(l->v);
}

static int param(const tg_http_request *req, const char *key, char *buf, size_t len)
{
    size_t qlen;
    const char *q = tg_http_query(req, &qlen);

    buf[0] = 0;
    return q && tg_http_query_param(q, qlen, key, buf, len) >= 0 && buf[0];
}

enum cost_kind { COST_REPORT, COST_FOCUS };

/* The registered sites that have a cost model, as the cost module sees
 * them; the caller holds sites_lock (the names point into the registry)
 * and frees the array. NULL when out of memory. */
static tg_cost_site *cost_sites(central *c, size_t *ns)
{
    tg_cost_site *sites = calloc(c->sites.n + 1, sizeof(*sites));

    *ns = 0;
    for (size_t i = 0; sites && i < c->sites.n; i++) {
        const tg_site_entry *e = &c->sites.v[i];
        if (e->cost)
            sites[(*ns)++] = (tg_cost_site){e->name, e->jurisdiction,
                                            e->provider[0] ? e->provider : e->name,
                                            e->region, e->cost};
    }
    return sites;
}

/* preauth: the caller has authenticated the request (the web UI's session). */
static void serve(const tg_http_request *req, tg_http_response *resp, central *c,
                  enum cost_kind kind, int preauth)
{
    static const char *const bys[] = {"site", "service", "model", "team", "run"};
    char from_s[40], to_s[40], by_s[16], cmp[64], fmt[16];
    usage_list u = {0};
    tg_cost_site *sites = NULL;
    size_t ns = 0;
    tg_strbuf b = {0};
    int by = TG_BY_SERVICE, rc = 0, csv = 0;

    if (!param(req, "from", from_s, sizeof from_s) ||
        !param(req, "to", to_s, sizeof to_s) || tg_cost_parse_date(from_s, &u.from) ||
        tg_cost_parse_date(to_s, &u.to) || u.to <= u.from) {
        tg_central_answer_error(
            resp, 400,
            "from and to are required: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, "
            "from before to");
        return;
    }
    if (param(req, "by", by_s, sizeof by_s)) {
        for (by = 0; by < 5 && strcmp(by_s, bys[by]) != 0; by++)
            ;
        if (by == 5) {
            tg_central_answer_error(resp, 400, "by: site, service, model, team or run");
            return;
        }
    }
    if (param(req, "format", fmt, sizeof fmt)) {
        csv = strcmp(fmt, "csv") == 0;
        if (!csv && strcmp(fmt, "json") != 0) {
            tg_central_answer_error(resp, 400, "format: csv or json");
            return;
        }
    }
    param(req, "compare", cmp, sizeof cmp);

    if (!preauth) {
        tg_central_who who;
        int arc = tg_central_caller(c, req, 1, &who);
        if (arc != 0) {
            tg_central_answer_error(resp, 401, "%s", tg_central_challenge(resp, arc));
            return;
        }
    }
    pthread_rwlock_rdlock(&c->sites_lock);
    sites = cost_sites(c, &ns);
    if (!sites || (c->cs && tg_cstore_rows(c->cs, "costs", collect, &u) != 0) || u.failed)
        rc = TG_ENOMEM;
    if (!rc && kind == COST_REPORT) {
        tg_cost_report r;
        rc = tg_cost_report_build(sites, ns, u.v, u.n, u.from, u.to, (enum tg_cost_by)by,
                                  cmp[0] ? cmp : NULL, &r);
        if (!rc) {
            tg_cost_report_json(&r, &b);
            tg_cost_report_free(&r);
        }
    } else if (!rc) {
        rc = tg_cost_focus_export(sites, ns, u.v, u.n, u.from, u.to, !csv, &b);
    }
    pthread_rwlock_unlock(&c->sites_lock);
    free(sites);
    usage_free(&u);
    if (rc == TG_ENOT_FOUND)
        tg_central_answer_error(
            resp, 400, "compare: no site or price-sheet region is called \"%s\"", cmp);
    else if (rc == TG_ETOO_BIG)
        tg_central_answer_error(resp, 400, "the period is longer than two years");
    else if (rc || b.oom)
        tg_central_answer_error(resp, 500, "cannot build the report: %s",
                                tg_strerror(rc ? rc : TG_ENOMEM));
    else
        tg_http_response_set(resp, 200, csv ? "text/csv" : "application/json", b.p,
                             b.len);
    free(b.p);
}

void tg_central_cost_report(const tg_http_request *req, tg_http_response *resp,
                            void *data)
{
    serve(req, resp, data, COST_REPORT, 0);
}

void tg_central_cost_focus(const tg_http_request *req, tg_http_response *resp, void *data)
{
    serve(req, resp, data, COST_FOCUS, 0);
}

void tg_central_cost_for(central *c, const tg_http_request *req, tg_http_response *resp,
                         int focus)
{
    serve(req, resp, c, focus ? COST_FOCUS : COST_REPORT, 1);
}

/* One gauge line: NAME{site="..",LABEL=".."[,cost_model=".."]} value. */
static void gauge(tg_strbuf *b, const char *name, const tg_cost_group *g,
                  const char *label, const char *value, const char *currency, tg_money m)
{
    tg_strbuf_printf(b, "%s{site=\"", name);
    tg_strbuf_label(b, g->site);
    tg_strbuf_printf(b, "\",%s=\"", label);
    tg_strbuf_label(b, value);
    tg_strbuf_printf(b, "\",cost_model=\"%s\",currency=\"",
                     g->amortised ? "amortised" : "metered");
    tg_strbuf_label(b, currency);
    tg_strbuf_printf(b, "\"} %.6f\n", (double)m / TG_MONEY_SCALE);
}

void tg_central_cost_metrics(central *c, int64_t now_s, tg_strbuf *b)
{
    usage_list u = {0};
    tg_cost_site *sites;
    tg_cost_report r;
    size_t ns = 0;
    int rc;

    u.to = now_s / 3600 * 3600;
    u.from = u.to - 3600;
    pthread_rwlock_rdlock(&c->sites_lock);
    sites = cost_sites(c, &ns);
    rc = !sites || !ns || (c->cs && tg_cstore_rows(c->cs, "costs", collect, &u) != 0) ||
                 u.failed
             ? -1
             : tg_cost_report_build(sites, ns, u.v, u.n, u.from, u.to, TG_BY_SERVICE,
                                    NULL, &r);
    pthread_rwlock_unlock(&c->sites_lock);
    free(sites);
    usage_free(&u);
    if (rc)
        return;
    tg_strbuf_printf(
        b, "# HELP tollgate_central_cost_hour_effective EffectiveCost of the last "
           "complete UTC hour per site and service (docs/cost.md).\n"
           "# TYPE tollgate_central_cost_hour_effective gauge\n");
    for (size_t i = 0; i < r.n; i++)
        if (!r.g[i].idle)
            gauge(b, "tollgate_central_cost_hour_effective", &r.g[i], "service",
                  r.g[i].key, r.currency, r.g[i].effective);
    tg_strbuf_printf(b, "# HELP tollgate_central_cost_hour_billed BilledCost of the last "
                        "complete UTC hour per site and service.\n"
                        "# TYPE tollgate_central_cost_hour_billed gauge\n");
    for (size_t i = 0; i < r.n; i++)
        if (!r.g[i].idle)
            gauge(b, "tollgate_central_cost_hour_billed", &r.g[i], "service", r.g[i].key,
                  r.currency, r.g[i].billed);
    tg_strbuf_printf(b,
                     "# HELP tollgate_central_cost_hour_idle EffectiveCost of idle, "
                     "shared-idle and unused capacity in the last complete UTC hour, per "
                     "site and line (\"__idle__ gpu\", ...).\n"
                     "# TYPE tollgate_central_cost_hour_idle gauge\n");
    for (size_t i = 0; i < r.n; i++)
        if (r.g[i].idle)
            gauge(b, "tollgate_central_cost_hour_idle", &r.g[i], "line", r.g[i].key,
                  r.currency, r.g[i].effective);
    tg_cost_report_free(&r);
}
