/* FOCUS 1.4 cost and usage rows: the column list (name, type, whether null
 * is allowed, allowed values) written once here, and the rows as CSV
 * (RFC 4180) or JSON. docs/cost.md, "FOCUS export".
 *
 * 1.4 removed ProviderName and PublisherName: ServiceProviderName and
 * HostProviderName take their place. EffectiveCost carries amortisation;
 * BilledCost is 0 on amortised on-prem usage. Our own columns start with
 * x_. Decimals are exact (the micro-unit, six fraction digits), so a tool
 * that adds rows up gets the report's totals. */
#ifndef TG_FOCUS_H
#define TG_FOCUS_H

#include <stddef.h>
#include <stdint.h>

#include "tg_money.h"
#include "tg_strbuf.h"

enum tg_focus_type {
    TG_FOCUS_DECIMAL,
    TG_FOCUS_STRING,
    TG_FOCUS_DATETIME,
    TG_FOCUS_JSON
};

typedef struct tg_focus_column {
    const char *name;
    enum tg_focus_type type;
    int nullable;
    const char *allowed; /* "|"-separated values, or NULL for any */
} tg_focus_column;

/* One row. Strings NULL or "" are null; `has_*` say whether a nullable
 * decimal is present. */
typedef struct tg_focus_row {
    int64_t charge_start, charge_end;   /* Unix s */
    int64_t billing_start, billing_end; /* the month of charge_start by default (0) */
    tg_money billed, effective, list, contracted;
    tg_money list_unit_price, contracted_unit_price;
    int has_unit_prices;
    int64_t consumed_micro, pricing_micro; /* quantities x 10^-6 */
    int has_quantities;
    int has_pricing; /* PricingQuantity/Unit without ConsumedQuantity (Purchase rows) */
    const char *consumed_unit, *pricing_unit;
    const char *charge_category;  /* Usage | Purchase | ... */
    const char *charge_frequency; /* Usage-Based | Recurring | One-Time */
    const char *charge_description;
    const char *pricing_category;  /* Standard | Committed | ... */
    const char *commitment_status; /* Used | Unused | NULL */
    const char *currency;
    const char *billing_account_id, *invoice_issuer;
    const char *service_provider, *host_provider;
    const char *service_name, *service_category;
    const char *region, *resource_id, *sku_id, *sku_meter;
    /* x_ */
    const char *site, *jurisdiction, *cost_model, *team, *model, *run;
    const char *workload; /* usage | __idle__ | __shared_idle__ | __unused__ | purchase */
    int possibly_orphaned;
} tg_focus_row;

/* The columns, in output order. */
const tg_focus_column *tg_focus_columns(size_t *n);

/* Appends the CSV header line (csv) or nothing (json) to b. */
void tg_focus_csv_header(tg_strbuf *b);
/* Appends one CSV record (CRLF-terminated, fields quoted when needed). */
void tg_focus_csv_row(tg_strbuf *b, const tg_focus_row *r);
/* Appends one JSON object (no separator) with every column, null as null
 * and decimals as strings (exact). */
void tg_focus_json_row(tg_strbuf *b, const tg_focus_row *r);

/* Unix s as "YYYY-MM-DDTHH:MM:SSZ" into buf (>= 21 bytes). */
void tg_focus_datetime(int64_t t, char *buf, size_t len);

#endif
