/* Reports and the FOCUS export over allocated site-hours (tg_report.h). */
#include "tg_report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_array.h"
#include "tg_err.h"

#define MAX_HOURS (24 * 366 * 2)

typedef int (*line_cb)(void *ctx, const tg_cost_site *s, int64_t hour,
                       const tg_cost_line *l);

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* Hour, then service, model, team, run (bytewise), then measure: a total
 * order, so which workload takes a rounding remainder (the last) never
 * depends on the order rows were stored in. */
static int cmp_use(const void *a, const void *b)
{
    const tg_cost_usage *x = *(const tg_cost_usage *const *)a;
    const tg_cost_usage *y = *(const tg_cost_usage *const *)b;
    int c;

    if (x->hour != y->hour)
        return (x->hour > y->hour) - (x->hour < y->hour);
    if ((c = strcmp(or_empty(x->service), or_empty(y->service))) ||
        (c = strcmp(or_empty(x->model), or_empty(y->model))) ||
        (c = strcmp(or_empty(x->team), or_empty(y->team))) ||
        (c = strcmp(or_empty(x->run), or_empty(y->run))))
        return c;
    return (x->measure > y->measure) - (x->measure < y->measure);
}

/* Calls cb for every line of every site-hour of [from, to): hours without
 * use too, since capacity costs (and idles) whether used or not. */
static int each_line(const tg_cost_site *sites, size_t nsites, const tg_cost_usage *u,
                     size_t n, int64_t from, int64_t to, line_cb cb, void *ctx)
{
    const tg_cost_usage **rows = malloc((n + 1) * sizeof(*rows));
    tg_cost_use *uses = malloc((n + 1) * sizeof(*uses));
    tg_cost_line *lines = malloc((n + 64) * sizeof(*lines));
    int64_t h0 = from - ((from % 3600) + 3600) % 3600;
    int rc = 0;

    if (!rows || !uses || !lines)
        rc = TG_ENOMEM;
    if (!rc && (to - h0) / 3600 > MAX_HOURS)
        rc = TG_ETOO_BIG;
    for (size_t si = 0; si < nsites && !rc; si++) {
        const tg_cost_site *s = &sites[si];
        size_t nr = 0, at = 0;

        for (size_t i = 0; i < n; i++)
            if (u[i].site && strcmp(u[i].site, s->name) == 0 && u[i].hour >= h0 &&
                u[i].hour < to)
                rows[nr++] = &u[i];
        qsort(rows, nr, sizeof(*rows), cmp_use);
        for (int64_t h = h0; h < to && !rc; h += 3600) {
            size_t nu = 0;
            int k;
            while (at < nr && rows[at]->hour < h)
                at++;
            for (; at < nr && rows[at]->hour == h; at++) {
                const tg_cost_usage *r = rows[at];
                uses[nu++] = (tg_cost_use){or_empty(r->service), or_empty(r->model),
                                           or_empty(r->team),    or_empty(r->run),
                                           r->measure,           r->qty_micro};
            }
            k = tg_cost_allocate(s->model, s->region, h, uses, nu, lines, nu + 64);
            if (k < 0) {
                rc = k;
                break;
            }
            for (int i = 0; i < k && !rc; i++)
                rc = cb(ctx, s, h, &lines[i]);
        }
    }
    free(rows);
    free(uses);
    free(lines);
    return rc;
}

/* ---- the report ----------------------------------------------------------- */

typedef struct {
    tg_cost_report *r;
    enum tg_cost_by by;
    const tg_cost_site *cmp;
    const char *cmp_region;
} report_ctx;

static const char *line_key(const tg_cost_line *l, enum tg_cost_by by, char *buf,
                            size_t len)
{
    const char *v = NULL;

    switch (l->kind) {
    case TG_LINE_IDLE:
        snprintf(buf, len, "__idle__ %s", tg_asset_kind_name(l->asset));
        return buf;
    case TG_LINE_SHARED_IDLE:
        snprintf(buf, len, "__shared_idle__ %s",
                 l->measure < TG_MEASURE_COUNT ? tg_cost_measure_name(l->measure)
                                               : "all");
        return buf;
    case TG_LINE_UNUSED:
        snprintf(buf, len, "__unused__ %s", l->sku ? l->sku->sku : "");
        return buf;
    case TG_LINE_USAGE:
        break;
    }
    switch (by) {
    case TG_BY_SITE:
        return NULL; /* the site itself */
    case TG_BY_SERVICE:
        v = l->use->service;
        break;
    case TG_BY_MODEL:
        v = l->use->model;
        break;
    case TG_BY_TEAM:
        v = l->use->team;
        break;
    case TG_BY_RUN:
        v = l->use->run;
        break;
    }
    return v && v[0] ? v : "unattributed";
}

static tg_cost_group *group(tg_cost_report *r, const char *site, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->g[i].site, site) == 0 && strcmp(r->g[i].key, key) == 0)
            return &r->g[i];
    if (TG_ARRAY_ROOM(r->g, r->n, r->cap, 16))
        return NULL;
    memset(&r->g[r->n], 0, sizeof(r->g[0]));
    snprintf(r->g[r->n].site, sizeof(r->g[0].site), "%s", site);
    snprintf(r->g[r->n].key, sizeof(r->g[0].key), "%s", key);
    return &r->g[r->n++];
}

static int report_line(void *ctx, const tg_cost_site *s, int64_t hour,
                       const tg_cost_line *l)
{
    report_ctx *c = ctx;
    char buf[128];
    const char *key = line_key(l, c->by, buf, sizeof buf);
    tg_cost_group *g = group(c->r, s->name, key ? key : s->name);
    tg_money cf;

    if (!g)
        return TG_ENOMEM;
    g->amortised = s->model->n_assets > 0;
    g->idle = l->kind != TG_LINE_USAGE;
    g->orphan |= l->orphan;
    g->effective += l->effective;
    g->billed += l->billed;
    g->list += l->list;
    c->r->total_effective += l->effective;
    c->r->total_billed += l->billed;
    if (g->idle)
        c->r->total_idle += l->effective;
    if (l->kind != TG_LINE_USAGE)
        return 0;
    if (l->measure == TG_MEASURE_GPU_SECONDS)
        g->gpu_s_micro += l->use->qty_micro;
    else if (l->measure == TG_MEASURE_CPU_SECONDS)
        g->cpu_s_micro += l->use->qty_micro;
    else if (l->measure == TG_MEASURE_INPUT_TOKENS ||
             l->measure == TG_MEASURE_OUTPUT_TOKENS)
        g->tokens_micro += l->use->qty_micro;
    else if (l->measure == TG_MEASURE_INFERENCES)
        g->inferences_micro += l->use->qty_micro;
    if (c->cmp && c->cmp != s && l->measure != TG_MEASURE_INFERENCES) {
        int rc = c->cmp->model->n_assets
                     ? tg_cost_counterfactual_onprem(c->cmp->model, hour, l->use, &cf)
                     : tg_cost_counterfactual_cloud(c->cmp->model, c->cmp_region, hour,
                                                    l->use, &cf);
        g->has_counterfactual = 1;
        if (rc == 0)
            g->counterfactual += cf;
    }
    return 0;
}

int tg_cost_report_build(const tg_cost_site *sites, size_t nsites, const tg_cost_usage *u,
                         size_t n, int64_t from, int64_t to, enum tg_cost_by by,
                         const char *compare, tg_cost_report *r)
{
    report_ctx c = {r, by, NULL, NULL};
    int rc;

    memset(r, 0, sizeof(*r));
    snprintf(r->currency, sizeof r->currency, "%s",
             nsites ? sites[0].model->currency : "USD");
    if (compare && compare[0]) {
        for (size_t i = 0; i < nsites && !c.cmp; i++)
            if (strcmp(sites[i].name, compare) == 0)
                c.cmp = &sites[i];
        for (size_t i = 0; i < nsites && !c.cmp; i++)
            for (size_t j = 0; j < sites[i].model->n_sheets && !c.cmp; j++)
                if (strcmp(sites[i].model->sheets[j].region, compare) == 0) {
                    c.cmp = &sites[i];
                    c.cmp_region = compare;
                }
        if (!c.cmp)
            return TG_ENOT_FOUND;
        if (!c.cmp_region)
            c.cmp_region = c.cmp->region;
        snprintf(r->compare, sizeof r->compare, "%s", compare);
    }
    rc = each_line(sites, nsites, u, n, from, to, report_line, &c);
    if (rc)
        tg_cost_report_free(r);
    return rc;
}

void tg_cost_report_free(tg_cost_report *r)
{
    free(r->g);
    memset(r, 0, sizeof(*r));
}

static void put_money(json_t *o, const char *name, tg_money m, int minor)
{
    char buf[40], key[64];

    tg_money_format(m, minor, buf, sizeof buf);
    json_object_set_new(o, name, json_string(buf));
    snprintf(key, sizeof key, "%s_micro", name);
    json_object_set_new(o, key, json_integer(m));
}

/* cost x per / qty, or JSON null without quantity */
static void put_rate(json_t *o, const char *name, tg_money cost, int64_t per, int64_t qty,
                     int minor)
{
    int64_t v;

    if (qty <= 0 || tg_money_muldiv(cost, per, qty, &v) != 0) {
        json_object_set_new(o, name, json_null());
        return;
    }
    put_money(o, name, v, minor);
}

void tg_cost_report_json(const tg_cost_report *r, tg_strbuf *b)
{
    int minor = tg_currency_minor(r->currency);
    json_t *doc = json_object(), *groups = json_array(), *tot = json_object();
    char *s;

    for (size_t i = 0; i < r->n; i++) {
        const tg_cost_group *g = &r->g[i];
        json_t *o = json_object();
        json_object_set_new(o, "site", json_string(g->site));
        json_object_set_new(o, "key", json_string(g->key));
        json_object_set_new(o, "cost_model",
                            json_string(g->amortised ? "amortised" : "metered"));
        json_object_set_new(o, "idle", json_boolean(g->idle));
        json_object_set_new(o, "possibly_orphaned", json_boolean(g->orphan));
        put_money(o, "effective_cost", g->effective, minor);
        put_money(o, "billed_cost", g->billed, minor);
        put_money(o, "list_cost", g->list, minor);
        if (g->has_counterfactual)
            put_money(o, "counterfactual_cost", g->counterfactual, minor);
        else
            json_object_set_new(o, "counterfactual_cost", json_null());
        json_object_set_new(o, "gpu_seconds_micro", json_integer(g->gpu_s_micro));
        json_object_set_new(o, "cpu_seconds_micro", json_integer(g->cpu_s_micro));
        json_object_set_new(o, "tokens_micro", json_integer(g->tokens_micro));
        json_object_set_new(o, "inferences_micro", json_integer(g->inferences_micro));
        /* unit economics: per GPU-hour (3600 s) and per million tokens */
        put_rate(o, "cost_per_gpu_hour", g->effective, 3600LL * TG_MONEY_SCALE,
                 g->gpu_s_micro, minor);
        put_rate(o, "cost_per_million_tokens", g->effective, 1000000LL * TG_MONEY_SCALE,
                 g->tokens_micro, minor);
        put_rate(o, "cost_per_1000_inferences", g->effective, 1000LL * TG_MONEY_SCALE,
                 g->inferences_micro, minor);
        json_array_append_new(groups, o);
    }
    json_object_set_new(doc, "currency", json_string(r->currency));
    json_object_set_new(doc, "compare",
                        r->compare[0] ? json_string(r->compare) : json_null());
    json_object_set_new(doc, "groups", groups);
    put_money(tot, "effective_cost", r->total_effective, minor);
    put_money(tot, "billed_cost", r->total_billed, minor);
    put_money(tot, "idle_cost", r->total_idle, minor);
    json_object_set_new(doc, "totals", tot);
    s = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!s) {
        b->oom = 1;
        return;
    }
    tg_strbuf_put(b, s, strlen(s));
    tg_strbuf_putc(b, '\n');
    free(s);
}

/* ---- FOCUS ---------------------------------------------------------------- */

typedef struct {
    tg_strbuf *b;
    int json, first;
} focus_ctx;

/* One FOCUS row in the export's format. */
static void put_row(focus_ctx *c, const tg_focus_row *r)
{
    if (c->json) {
        tg_strbuf_put(c->b, c->first ? "\n" : ",\n", c->first ? 1 : 2);
        tg_focus_json_row(c->b, r);
    } else {
        tg_focus_csv_row(c->b, r);
    }
    c->first = 0;
}

static const char *const units[] = {"s",       "s",       "GB-hour",  "By",
                                    "{token}", "{token}", "{request}"};

static int focus_line(void *ctx, const tg_cost_site *s, int64_t hour,
                      const tg_cost_line *l)
{
    focus_ctx *c = ctx;
    tg_focus_row r = {0};
    int amortised = s->model->n_assets > 0;

    if (l->kind == TG_LINE_USAGE && !l->effective && !l->billed && !l->list &&
        !l->unpriced)
        return 0; /* nothing to say: e.g. tokens on-prem, priced through GPU time */
    r.charge_start = hour;
    r.charge_end = hour + 3600;
    r.billed = l->billed;
    r.effective = l->effective;
    r.list = r.contracted = l->list;
    r.currency = s->model->currency;
    r.service_provider = s->provider;
    r.region = s->region;
    r.site = s->name;
    r.jurisdiction = s->jurisdiction;
    r.cost_model = amortised ? "amortised" : "metered";
    r.service_category = "AI and Machine Learning";
    r.sku_meter = l->measure < TG_MEASURE_COUNT ? tg_cost_measure_name(l->measure) : NULL;
    r.possibly_orphaned = l->orphan;
    switch (l->kind) {
    case TG_LINE_USAGE:
        r.service_name = l->use->service;
        r.team = l->use->team;
        r.model = l->use->model;
        r.run = l->use->run;
        r.has_quantities = 1;
        r.consumed_micro = r.pricing_micro = l->use->qty_micro;
        r.consumed_unit = r.pricing_unit = units[l->measure];
        r.pricing_category = amortised ? "Other" : "Standard";
        r.charge_description = l->unpriced ? "no price sheet covers this use" : NULL;
        break;
    case TG_LINE_IDLE:
        r.workload = "__idle__";
        r.sku_meter = tg_asset_kind_name(l->asset);
        r.charge_description = "on-prem capacity no workload used";
        break;
    case TG_LINE_SHARED_IDLE:
        r.workload = "__shared_idle__";
        r.charge_description = "shared cost whose measure no workload used";
        break;
    case TG_LINE_UNUSED:
        r.workload = "__unused__";
        r.sku_id = l->sku ? l->sku->sku : NULL;
        r.commitment_status = "Unused";
        r.pricing_category = "Committed";
        r.charge_description =
            l->orphan
                ? "reserved capacity, possibly orphaned: no telemetry shows work on it"
                : "reserved capacity left unused";
        break;
    }
    put_row(c, &r);
    return c->b->oom ? TG_ENOMEM : 0;
}

/* On-prem purchases in the period: the cash out (BilledCost) that the
 * Usage rows' EffectiveCost amortises (FOCUS's rule for prepaid
 * purchases: EffectiveCost 0 here). */
static void focus_purchases(focus_ctx *c, const tg_cost_site *s, int64_t from, int64_t to)
{
    for (size_t i = 0; i < s->model->n_assets; i++) {
        const tg_cost_asset *a = &s->model->assets[i];
        tg_focus_row r = {0};
        if (a->purchase_time < from || a->purchase_time >= to)
            continue;
        r.charge_start = a->purchase_time;
        r.charge_end = a->purchase_time + 86400;
        r.billed = r.list = r.contracted = a->purchase_price * a->count;
        r.has_unit_prices = 1;
        r.list_unit_price = r.contracted_unit_price = a->purchase_price;
        r.has_pricing = 1;
        r.pricing_micro = a->count * TG_MONEY_SCALE;
        r.pricing_unit = "Unit";
        r.charge_category = "Purchase";
        r.charge_frequency = "One-Time";
        r.pricing_category = "Standard";
        r.charge_description = "on-prem asset purchase, amortised by the Usage rows";
        r.currency = s->model->currency;
        r.service_provider = s->provider;
        r.region = s->region;
        r.site = s->name;
        r.jurisdiction = s->jurisdiction;
        r.cost_model = "amortised";
        r.service_category = "Compute";
        r.service_name = "on-prem capacity";
        r.resource_id = a->name;
        r.sku_id = a->name;
        r.sku_meter = tg_asset_kind_name(a->kind);
        r.workload = "purchase";
        put_row(c, &r);
    }
}

int tg_cost_focus_export(const tg_cost_site *sites, size_t nsites, const tg_cost_usage *u,
                         size_t n, int64_t from, int64_t to, int json, tg_strbuf *b)
{
    focus_ctx c = {b, json, 1};
    int rc;

    if (json)
        tg_strbuf_putc(b, '[');
    else
        tg_focus_csv_header(b);
    for (size_t i = 0; i < nsites; i++)
        focus_purchases(&c, &sites[i], from, to);
    rc = each_line(sites, nsites, u, n, from, to, focus_line, &c);
    if (json)
        tg_strbuf_put(b, "\n]\n", 3);
    return rc ? rc : b->oom ? TG_ENOMEM : 0;
}
