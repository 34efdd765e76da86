/* A site's cost model: what its on-prem assets, power, facilities and
 * operations cost over any period, and the cloud price sheets its metered
 * use is priced at. Read from the `cost_model:` section of a YAML file
 * (the site's config, or a file of its own); docs/cost.md has the format.
 *
 * Times are Unix seconds (UTC); a year is 365 days (31,536,000 s) for
 * lifetimes, terms and "per year" amounts. Every amount is tg_money
 * (micro-units, cost/tg_money.h) and every function here rounds once. */
#ifndef TG_COSTMODEL_H
#define TG_COSTMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "tg_money.h"

#define TG_COST_YEAR_S 31536000LL
#define TG_COST_MAX_ASSETS 64
#define TG_COST_MAX_TARIFF 24
#define TG_COST_MAX_SHEETS 32
#define TG_COST_MAX_SKUS 32
/* Ceilings that keep every product of the arithmetic inside 128 bits: an
 * amount at most 10^9 currency units, count and units at most 10^6, power
 * 10^5 kW, PUE 10, lifetimes and terms 100 years. */
#define TG_COST_MAX_AMOUNT (1000000000LL * TG_MONEY_SCALE)

enum tg_asset_kind { TG_ASSET_CPU, TG_ASSET_GPU, TG_ASSET_STORAGE, TG_ASSET_NETWORK };
#define TG_ASSET_KINDS 4
enum tg_dep_method { TG_DEP_STRAIGHT_LINE, TG_DEP_DECLINING_BALANCE };

/* What a measured quantity is (and what shared cost is split by). */
enum tg_cost_measure {
    TG_MEASURE_GPU_SECONDS,
    TG_MEASURE_CPU_SECONDS,
    TG_MEASURE_MEMORY_GB_HOURS,
    TG_MEASURE_STORED_BYTES,
    TG_MEASURE_INPUT_TOKENS,
    TG_MEASURE_OUTPUT_TOKENS,
    TG_MEASURE_INFERENCES, /* GenAI requests: counted for unit economics, never priced */
    TG_MEASURE_COUNT
};

typedef struct tg_cost_asset {
    char name[64];
    enum tg_asset_kind kind;
    int64_t count;
    tg_money purchase_price; /* per unit */
    tg_money salvage;        /* per unit, at end of life */
    int64_t purchase_time;   /* Unix s */
    int64_t lifetime_s;      /* > 0; whole years for declining-balance */
    enum tg_dep_method method;
    int64_t power_w; /* per unit, watts (power_kw to 3 digits) */
} tg_cost_asset;

typedef struct tg_cost_tariff {
    int from_hour, to_hour; /* UTC hours [from, to), to may be < from (wraps) */
    tg_money price_kwh;
} tg_cost_tariff;

/* One priced SKU. A reserved (committed) SKU has an upfront fee amortised
 * over its term and an hourly fee, for `units` units, from `start`. */
typedef struct tg_cost_sku {
    char sku[64];
    enum tg_cost_measure meter;
    char unit[16];    /* PricingUnit: "GPU-hour", "1M tokens", ... */
    int64_t per_unit; /* consumed units in one pricing unit */
    tg_money price;   /* on-demand price per pricing unit */
    int reserved;     /* 1: a commitment */
    int64_t units;    /* reserved: how many */
    tg_money upfront; /* reserved: per unit, for the term */
    tg_money hourly;  /* reserved: per unit and hour */
    int64_t term_s;   /* reserved */
    int64_t start;    /* reserved: Unix s (default: the sheet's valid_from) */
    unsigned line, col;
} tg_cost_sku;

typedef struct tg_price_sheet {
    char provider[64]; /* ServiceProviderName */
    char region[64];   /* RegionId */
    char currency[8];
    int64_t valid_from, valid_to; /* [from, to); to 0: open */
    tg_cost_sku skus[TG_COST_MAX_SKUS];
    size_t n_skus;
} tg_price_sheet;

typedef struct tg_costmodel {
    char currency[8];
    tg_cost_asset assets[TG_COST_MAX_ASSETS];
    size_t n_assets;
    int64_t pue_milli; /* 1.4 -> 1400; default 1000 */
    tg_money price_kwh;
    tg_cost_tariff tariff[TG_COST_MAX_TARIFF];
    size_t n_tariff;
    tg_money facilities_per_year, operations_per_year;
    int shared_split[TG_MEASURE_COUNT]; /* percent, sums to 100 (or all 0) */
    tg_price_sheet sheets[TG_COST_MAX_SHEETS];
    size_t n_sheets;
} tg_costmodel;

const char *tg_asset_kind_name(enum tg_asset_kind k);
const char *tg_cost_measure_name(enum tg_cost_measure m);

/* Loads `section` ("cost_model") of `path` (NULL: the whole document) into
 * m, which is zeroed first. Absent section: 0 and an empty model. Errors:
 * TG_ECONFIG with "FILE:LINE:COLUMN: message" in err (negative price,
 * lifetime zero, unknown asset kind, overlapping price sheets, unknown
 * key, ...), TG_EIO. */
int tg_costmodel_load(const char *path, const char *section, tg_costmodel *m, char *err,
                      size_t errlen);
int tg_costmodel_load_buffer(const char *name, const char *buf, size_t len,
                             const char *section, tg_costmodel *m, char *err,
                             size_t errlen);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t tg_cost_days_from_civil(int64_t y, int64_t mo, int64_t d);

/* "2026-01-31" or "2026-01-31T12:00:00Z" to Unix s; 0 or TG_EINVAL. */
int tg_cost_parse_date(const char *s, int64_t *out);

/* Depreciation of all `count` units of asset a over [t0, t1). Nothing
 * before purchase or after end of life; straight-line spreads (price -
 * salvage) evenly per second; declining-balance takes 2/N of the book
 * value each year (N = lifetime in years), never below salvage, the rest
 * to salvage in the last year, each year spread evenly per second. */
tg_money tg_cost_depreciation(const tg_cost_asset *a, int64_t t0, int64_t t1);

/* Energy cost of asset a over [t0, t1): power x count x PUE x the price of
 * each hour (the tariff's, or price_kwh). Zero outside the asset's life. */
tg_money tg_cost_power(const tg_costmodel *m, const tg_cost_asset *a, int64_t t0,
                       int64_t t1);

/* Facilities plus operations over [t0, t1), spread evenly per second. */
tg_money tg_cost_shared(const tg_costmodel *m, int64_t t0, int64_t t1);

/* On-prem cost of one asset kind over [t0, t1): depreciation plus power of
 * its assets. */
tg_money tg_cost_kind_capacity(const tg_costmodel *m, enum tg_asset_kind k, int64_t t0,
                               int64_t t1);
/* Asset-seconds of kind k in service over [t0, t1) (count x overlap). */
int64_t tg_cost_kind_capacity_seconds(const tg_costmodel *m, enum tg_asset_kind k,
                                      int64_t t0, int64_t t1);

/* The on-demand price in force for (region, meter) over [t0, t1), applied
 * to `qty_micro` consumed units x 10^-6 taken as spread evenly over the
 * period (a sheet that changes mid-period prices each part at its own
 * price). region NULL: any. TG_ENOT_FOUND when no sheet covers a part of
 * the period. */
int tg_cost_sheet_cost(const tg_costmodel *m, const char *region,
                       enum tg_cost_measure meter, int64_t qty_micro, int64_t t0,
                       int64_t t1, tg_money *out);

/* What reserved SKU s costs over [t0, t1): its upfront fee amortised over
 * the term plus its hourly fee, for its units, only within its term. */
tg_money tg_cost_reserved(const tg_cost_sku *s, int64_t t0, int64_t t1);

#endif
