/* FOCUS 1.4 rows as CSV and JSON (tg_focus.h). */
#include "tg_focus.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_costmodel.h"

#define CATEGORIES                                                                       \
    "AI and Machine Learning|Analytics|Business Applications|Compute|Databases|"         \
    "Developer Tools|Multicloud|Identity|Integration|Internet of Things|Management and " \
    "Governance|Media|Migration|Mobile|Networking|Security|Storage|Web|Other"

/* Columns from the FOCUS 1.4 cost and usage dataset this exporter can
 * fill, then ours (x_). The order is the output order. */
enum col {
    C_BILLED,
    C_EFFECTIVE,
    C_LIST,
    C_CONTRACTED,
    C_LIST_UP,
    C_CONTRACTED_UP,
    C_ACCOUNT,
    C_CURRENCY,
    C_BP_START,
    C_BP_END,
    C_CATEGORY,
    C_CLASS,
    C_DESCRIPTION,
    C_FREQUENCY,
    C_CP_START,
    C_CP_END,
    C_COMMIT_STATUS,
    C_CONSUMED_Q,
    C_CONSUMED_U,
    C_HOST,
    C_ISSUER,
    C_PRICING_CAT,
    C_PRICING_Q,
    C_PRICING_U,
    C_REGION,
    C_RESOURCE,
    C_SERVICE_CAT,
    C_SERVICE,
    C_PROVIDER,
    C_SKU,
    C_METER,
    C_TAGS,
    X_SITE,
    X_JURISDICTION,
    X_MODEL_KIND,
    X_TEAM,
    X_MODEL,
    X_RUN,
    X_WORKLOAD,
    X_ORPHAN,
    N_COLS
};

static const tg_focus_column cols[N_COLS] = {
    [C_BILLED] = {"BilledCost", TG_FOCUS_DECIMAL, 0, NULL},
    [C_EFFECTIVE] = {"EffectiveCost", TG_FOCUS_DECIMAL, 0, NULL},
    [C_LIST] = {"ListCost", TG_FOCUS_DECIMAL, 0, NULL},
    [C_CONTRACTED] = {"ContractedCost", TG_FOCUS_DECIMAL, 0, NULL},
    [C_LIST_UP] = {"ListUnitPrice", TG_FOCUS_DECIMAL, 1, NULL},
    [C_CONTRACTED_UP] = {"ContractedUnitPrice", TG_FOCUS_DECIMAL, 1, NULL},
    [C_ACCOUNT] = {"BillingAccountId", TG_FOCUS_STRING, 0, NULL},
    [C_CURRENCY] = {"BillingCurrency", TG_FOCUS_STRING, 0, NULL},
    [C_BP_START] = {"BillingPeriodStart", TG_FOCUS_DATETIME, 0, NULL},
    [C_BP_END] = {"BillingPeriodEnd", TG_FOCUS_DATETIME, 0, NULL},
    [C_CATEGORY] = {"ChargeCategory", TG_FOCUS_STRING, 0,
                    "Usage|Purchase|Tax|Credit|Adjustment"},
    [C_CLASS] = {"ChargeClass", TG_FOCUS_STRING, 1, "Correction"},
    [C_DESCRIPTION] = {"ChargeDescription", TG_FOCUS_STRING, 1, NULL},
    [C_FREQUENCY] = {"ChargeFrequency", TG_FOCUS_STRING, 0,
                     "One-Time|Recurring|Usage-Based"},
    [C_CP_START] = {"ChargePeriodStart", TG_FOCUS_DATETIME, 0, NULL},
    [C_CP_END] = {"ChargePeriodEnd", TG_FOCUS_DATETIME, 0, NULL},
    [C_COMMIT_STATUS] = {"CommitmentDiscountStatus", TG_FOCUS_STRING, 1, "Used|Unused"},
    [C_CONSUMED_Q] = {"ConsumedQuantity", TG_FOCUS_DECIMAL, 1, NULL},
    [C_CONSUMED_U] = {"ConsumedUnit", TG_FOCUS_STRING, 1, NULL},
    [C_HOST] = {"HostProviderName", TG_FOCUS_STRING, 0, NULL},
    [C_ISSUER] = {"InvoiceIssuerName", TG_FOCUS_STRING, 0, NULL},
    [C_PRICING_CAT] = {"PricingCategory", TG_FOCUS_STRING, 1,
                       "Standard|Dynamic|Committed|Other"},
    [C_PRICING_Q] = {"PricingQuantity", TG_FOCUS_DECIMAL, 1, NULL},
    [C_PRICING_U] = {"PricingUnit", TG_FOCUS_STRING, 1, NULL},
    [C_REGION] = {"RegionId", TG_FOCUS_STRING, 1, NULL},
    [C_RESOURCE] = {"ResourceId", TG_FOCUS_STRING, 1, NULL},
    [C_SERVICE_CAT] = {"ServiceCategory", TG_FOCUS_STRING, 0, CATEGORIES},
    [C_SERVICE] = {"ServiceName", TG_FOCUS_STRING, 0, NULL},
    [C_PROVIDER] = {"ServiceProviderName", TG_FOCUS_STRING, 0, NULL},
    [C_SKU] = {"SkuId", TG_FOCUS_STRING, 1, NULL},
    [C_METER] = {"SkuMeter", TG_FOCUS_STRING, 1, NULL},
    [C_TAGS] = {"Tags", TG_FOCUS_JSON, 1, NULL},
    [X_SITE] = {"x_Site", TG_FOCUS_STRING, 0, NULL},
    [X_JURISDICTION] = {"x_Jurisdiction", TG_FOCUS_STRING, 1, NULL},
    [X_MODEL_KIND] = {"x_CostModel", TG_FOCUS_STRING, 0, "amortised|metered"},
    [X_TEAM] = {"x_Team", TG_FOCUS_STRING, 1, NULL},
    [X_MODEL] = {"x_Model", TG_FOCUS_STRING, 1, NULL},
    [X_RUN] = {"x_Run", TG_FOCUS_STRING, 1, NULL},
    [X_WORKLOAD] = {"x_Workload", TG_FOCUS_STRING, 0,
                    "usage|__idle__|__shared_idle__|__unused__|purchase"},
    [X_ORPHAN] = {"x_PossiblyOrphaned", TG_FOCUS_STRING, 0, "true|false"},
};

const tg_focus_column *tg_focus_columns(size_t *n)
{
    *n = N_COLS;
    return cols;
}

void tg_focus_datetime(int64_t t, char *buf, size_t len)
{
    /* civil_from_days (Howard Hinnant) */
    int64_t days = (t >= 0 ? t : t - 86399) / 86400, secs = t - days * 86400;
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097,
            yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);

    snprintf(buf, len, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", (long long)y,
             (long long)m, (long long)d, (long long)(secs / 3600),
             (long long)(secs / 60 % 60), (long long)(secs % 60));
}

/* The first second of the month t falls in, and of the next. */
static void month_of(int64_t t, int64_t *start, int64_t *end)
{
    char b[32];
    int y, m;

    tg_focus_datetime(t, b, sizeof b);
    y = (int)strtol(b, NULL, 10);
    m = (int)strtol(b + 5, NULL, 10);
    *start = tg_cost_days_from_civil(y, m, 1) * 86400;
    *end = tg_cost_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) * 86400;
}

static const char *nz(const char *s)
{
    return s && s[0] ? s : NULL;
}

/* Column c of r as text in buf (or a constant); NULL for null. */
static const char *value(const tg_focus_row *r, enum col c, char *buf, size_t len)
{
    int64_t bs, be;

    switch (c) {
    case C_BILLED:
        return tg_money_format(r->billed, 6, buf, len) < 0 ? NULL : buf;
    case C_EFFECTIVE:
        return tg_money_format(r->effective, 6, buf, len) < 0 ? NULL : buf;
    case C_LIST:
        return tg_money_format(r->list, 6, buf, len) < 0 ? NULL : buf;
    case C_CONTRACTED:
        return tg_money_format(r->contracted, 6, buf, len) < 0 ? NULL : buf;
    case C_LIST_UP:
        return r->has_unit_prices && tg_money_format(r->list_unit_price, 6, buf, len) >= 0
                   ? buf
                   : NULL;
    case C_CONTRACTED_UP:
        return r->has_unit_prices &&
                       tg_money_format(r->contracted_unit_price, 6, buf, len) >= 0
                   ? buf
                   : NULL;
    case C_ACCOUNT:
        return nz(r->billing_account_id) ? r->billing_account_id : r->site;
    case C_CURRENCY:
        return r->currency;
    case C_BP_START:
    case C_BP_END:
        bs = r->billing_start;
        be = r->billing_end;
        if (!bs && !be)
            month_of(r->charge_start, &bs, &be);
        tg_focus_datetime(c == C_BP_START ? bs : be, buf, len);
        return buf;
    case C_CATEGORY:
        return nz(r->charge_category) ? r->charge_category : "Usage";
    case C_CLASS:
        return NULL;
    case C_DESCRIPTION:
        return nz(r->charge_description);
    case C_FREQUENCY:
        return nz(r->charge_frequency) ? r->charge_frequency : "Usage-Based";
    case C_CP_START:
        tg_focus_datetime(r->charge_start, buf, len);
        return buf;
    case C_CP_END:
        tg_focus_datetime(r->charge_end, buf, len);
        return buf;
    case C_COMMIT_STATUS:
        return nz(r->commitment_status);
    case C_CONSUMED_Q:
        return r->has_quantities && tg_money_format(r->consumed_micro, 6, buf, len) >= 0
                   ? buf
                   : NULL;
    case C_CONSUMED_U:
        return r->has_quantities ? nz(r->consumed_unit) : NULL;
    case C_HOST:
        return nz(r->host_provider) ? r->host_provider : r->service_provider;
    case C_ISSUER:
        return nz(r->invoice_issuer) ? r->invoice_issuer : r->service_provider;
    case C_PRICING_CAT:
        return nz(r->pricing_category);
    case C_PRICING_Q:
        return (r->has_quantities || r->has_pricing) &&
                       tg_money_format(r->pricing_micro, 6, buf, len) >= 0
                   ? buf
                   : NULL;
    case C_PRICING_U:
        return r->has_quantities || r->has_pricing ? nz(r->pricing_unit) : NULL;
    case C_REGION:
        return nz(r->region);
    case C_RESOURCE:
        return nz(r->resource_id);
    case C_SERVICE_CAT:
        return nz(r->service_category) ? r->service_category : "Compute";
    case C_SERVICE:
        return nz(r->service_name) ? r->service_name : "unattributed";
    case C_PROVIDER:
        return r->service_provider;
    case C_SKU:
        return nz(r->sku_id);
    case C_METER:
        return nz(r->sku_meter);
    case C_TAGS:
        return NULL;
    case X_SITE:
        return r->site;
    case X_JURISDICTION:
        return nz(r->jurisdiction);
    case X_MODEL_KIND:
        return r->cost_model;
    case X_TEAM:
        return nz(r->team);
    case X_MODEL:
        return nz(r->model);
    case X_RUN:
        return nz(r->run);
    case X_WORKLOAD:
        return nz(r->workload) ? r->workload : "usage";
    case X_ORPHAN:
        return r->possibly_orphaned ? "true" : "false";
    case N_COLS:
        break;
    }
    return NULL;
}

void tg_focus_csv_header(tg_strbuf *b)
{
    for (int c = 0; c < N_COLS; c++) {
        if (c)
            tg_strbuf_putc(b, ',');
        tg_strbuf_put(b, cols[c].name, strlen(cols[c].name));
    }
    tg_strbuf_put(b, "\r\n", 2);
}

static void csv_field(tg_strbuf *b, const char *v)
{
    if (!v)
        return; /* null is the empty field */
    if (!strpbrk(v, ",\"\r\n")) {
        tg_strbuf_put(b, v, strlen(v));
        return;
    }
    tg_strbuf_putc(b, '"');
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            tg_strbuf_putc(b, '"');
        tg_strbuf_putc(b, *p);
    }
    tg_strbuf_putc(b, '"');
}

void tg_focus_csv_row(tg_strbuf *b, const tg_focus_row *r)
{
    char buf[64];

    for (int c = 0; c < N_COLS; c++) {
        if (c)
            tg_strbuf_putc(b, ',');
        csv_field(b, value(r, (enum col)c, buf, sizeof buf));
    }
    tg_strbuf_put(b, "\r\n", 2);
}

void tg_focus_json_row(tg_strbuf *b, const tg_focus_row *r)
{
    json_t *o = json_object();
    char buf[64], *s;

    if (!o) {
        b->oom = 1;
        return;
    }
    for (int c = 0; c < N_COLS; c++) {
        const char *v = value(r, (enum col)c, buf, sizeof buf);
        json_object_set_new(o, cols[c].name, v ? json_string(v) : json_null());
    }
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s) {
        b->oom = 1;
        return;
    }
    tg_strbuf_put(b, s, strlen(s));
    free(s);
}
