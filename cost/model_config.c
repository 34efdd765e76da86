/* Reads the `cost_model:` section (docs/cost.md, "The cost model"). Every
 * amount is read from its scalar's text (never through a double); every
 * error names FILE:LINE:COLUMN of the offending node. */
#include <stdlib.h>
#include <string.h>

#include "tg_costmodel.h"
#include "tg_err.h"
#include "tg_units.h"
#include "tg_yaml.h"

typedef struct {
    const char *file;
    char *err;
    size_t errlen;
} ctx;

static int scalar(ctx *c, const tg_ynode *n, const char *what)
{
    if (!n || n->kind != TG_YNODE_SCALAR)
        return tg_yaml_error(c->err, c->errlen, c->file, n, "%s: expected a scalar",
                             what);
    return 0;
}

/* A non-negative amount of money. */
static int money(ctx *c, const tg_ynode *n, const char *what, tg_money *out)
{
    int rc = scalar(c, n, what);

    if (rc)
        return rc;
    if (tg_money_parse(n->str, out) != 0)
        return tg_yaml_error(
            c->err, c->errlen, c->file, n,
            "%s: \"%s\" is not a decimal amount (up to 6 fraction digits)", what, n->str);
    if (*out < 0)
        return tg_yaml_error(c->err, c->errlen, c->file, n,
                             "%s: a price cannot be negative", what);
    return 0;
}

static int decimal(ctx *c, const tg_ynode *n, const char *what, int digits, int64_t *out)
{
    int rc = scalar(c, n, what);

    if (rc)
        return rc;
    if (tg_decimal_parse(n->str, digits, out) != 0 || *out < 0)
        return tg_yaml_error(
            c->err, c->errlen, c->file, n,
            "%s: \"%s\" is not a non-negative number with up to %d decimals", what,
            n->str, digits);
    return 0;
}

static int date(ctx *c, const tg_ynode *n, const char *what, int64_t *out)
{
    int rc = scalar(c, n, what);

    if (rc)
        return rc;
    if (tg_cost_parse_date(n->str, out) != 0)
        return tg_yaml_error(
            c->err, c->errlen, c->file, n,
            "%s: \"%s\" is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)", what,
            n->str);
    return 0;
}

static int duration_s(ctx *c, const tg_ynode *n, const char *what, int64_t *out)
{
    uint64_t ms;
    int rc = scalar(c, n, what);

    if (rc)
        return rc;
    if (tg_parse_duration_ms(n->str, &ms) != 0)
        return tg_yaml_error(c->err, c->errlen, c->file, n,
                             "%s: \"%s\" is not a duration (5y, 36w, 90d)", what, n->str);
    if (ms < 1000)
        return tg_yaml_error(c->err, c->errlen, c->file, n, "%s must be longer than zero",
                             what);
    if (ms > 100ull * TG_COST_YEAR_S * 1000)
        return tg_yaml_error(c->err, c->errlen, c->file, n, "%s: at most 100y", what);
    *out = (int64_t)(ms / 1000);
    return 0;
}

static int str(ctx *c, const tg_ynode *n, const char *what, char *out, size_t cap)
{
    int rc = scalar(c, n, what);

    if (rc)
        return rc;
    return tg_yaml_str(c->file, n, out, cap, c->err, c->errlen);
}

static int pick(ctx *c, const tg_ynode *n, const char *what, const char *const *names,
                size_t count, int *out)
{
    int rc = scalar(c, n, what);

    if (rc)
        return rc;
    for (size_t i = 0; i < count; i++)
        if (strcmp(n->str, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    return tg_yaml_error(c->err, c->errlen, c->file, n, "%s: unknown value \"%s\"", what,
                         n->str);
}

static const char *const kinds[] = {"cpu", "gpu", "storage", "network"};
static const char *const methods[] = {"straight-line", "declining-balance"};
static const char *const measures[] = {
    "gpu-seconds",         "cpu-seconds",          "memory-gb-hours", "stored-bytes",
    "gen_ai-input-tokens", "gen_ai-output-tokens", "gen_ai-requests"};

/* Pricing units a SKU may be quoted in, with consumed units in one. */
static const struct {
    const char *unit;
    int64_t per_unit;
    enum tg_cost_measure meter;
} units[] = {
    {"GPU-hour", 3600, TG_MEASURE_GPU_SECONDS},
    {"CPU-hour", 3600, TG_MEASURE_CPU_SECONDS},
    {"GB-hour", 1, TG_MEASURE_MEMORY_GB_HOURS},
    {"GB", 1000000000, TG_MEASURE_STORED_BYTES},
    {"1K tokens", 1000, TG_MEASURE_INPUT_TOKENS},
    {"1M tokens", 1000000, TG_MEASURE_INPUT_TOKENS},
    {"1K tokens", 1000, TG_MEASURE_OUTPUT_TOKENS},
    {"1M tokens", 1000000, TG_MEASURE_OUTPUT_TOKENS},
};

static int load_asset(ctx *c, const tg_ynode *n, tg_cost_asset *a)
{
    static const char *const keys[] = {
        "name",     "kind",   "count",   "purchase_price", "purchase_date",
        "lifetime", "method", "salvage", "power_kw",       NULL};
    const tg_ynode *v;
    uint64_t count;
    int rc, k = 0;

    if (n->kind != TG_YNODE_MAP)
        return tg_yaml_error(c->err, c->errlen, c->file, n, "assets: expected a mapping");
    if ((rc = tg_yaml_check_keys(c->file, n, keys, c->err, c->errlen)))
        return rc;
    for (const char *const *r = keys; *r && strcmp(*r, "salvage"); r++)
        if (!tg_yaml_get(n, *r) && strcmp(*r, "method") && strcmp(*r, "power_kw"))
            return tg_yaml_error(c->err, c->errlen, c->file, n, "asset: %s is required",
                                 *r);
    if ((rc = str(c, tg_yaml_get(n, "name"), "name", a->name, sizeof a->name)) ||
        (rc = pick(c, tg_yaml_get(n, "kind"), "kind (cpu|gpu|storage|network)", kinds, 4,
                   &k)))
        return rc;
    a->kind = (enum tg_asset_kind)k;
    v = tg_yaml_get(n, "count");
    if ((rc = tg_yaml_u64(c->file, v, &count, c->err, c->errlen)))
        return rc;
    if (count == 0 || count > 1000000)
        return tg_yaml_error(c->err, c->errlen, c->file, v, "count must be 1..1000000");
    a->count = (int64_t)count;
    if ((rc = money(c, tg_yaml_get(n, "purchase_price"), "purchase_price",
                    &a->purchase_price)) ||
        (rc = date(c, tg_yaml_get(n, "purchase_date"), "purchase_date",
                   &a->purchase_time)) ||
        (rc = duration_s(c, tg_yaml_get(n, "lifetime"), "lifetime", &a->lifetime_s)))
        return rc;
    k = 0;
    if ((v = tg_yaml_get(n, "method")) && (rc = pick(c, v, "method", methods, 2, &k)))
        return rc;
    a->method = (enum tg_dep_method)k;
    if (a->method == TG_DEP_DECLINING_BALANCE && a->lifetime_s % TG_COST_YEAR_S)
        return tg_yaml_error(c->err, c->errlen, c->file, tg_yaml_get(n, "lifetime"),
                             "declining-balance needs a lifetime in whole years (5y)");
    if ((v = tg_yaml_get(n, "salvage")) && (rc = money(c, v, "salvage", &a->salvage)))
        return rc;
    if (a->salvage > a->purchase_price)
        return tg_yaml_error(c->err, c->errlen, c->file, v,
                             "salvage exceeds purchase_price");
    if ((v = tg_yaml_get(n, "power_kw")) &&
        (rc = decimal(c, v, "power_kw", 3, &a->power_w)))
        return rc;
    return 0;
}

static int load_power(ctx *c, const tg_ynode *n, tg_costmodel *m)
{
    static const char *const keys[] = {"pue", "price_kwh", "tariff", NULL};
    static const char *const tkeys[] = {"from", "to", "price_kwh", NULL};
    const tg_ynode *v;
    int rc;

    if (n->kind != TG_YNODE_MAP)
        return tg_yaml_error(c->err, c->errlen, c->file, n, "power: expected a mapping");
    if ((rc = tg_yaml_check_keys(c->file, n, keys, c->err, c->errlen)))
        return rc;
    if ((v = tg_yaml_get(n, "pue"))) {
        if ((rc = decimal(c, v, "pue", 3, &m->pue_milli)))
            return rc;
        if (m->pue_milli < 1000 || m->pue_milli > 10000)
            return tg_yaml_error(c->err, c->errlen, c->file, v, "pue is 1.0 to 10");
    }
    if ((v = tg_yaml_get(n, "price_kwh")) &&
        (rc = money(c, v, "price_kwh", &m->price_kwh)))
        return rc;
    if (!(v = tg_yaml_get(n, "tariff")) || tg_yaml_is_null(v))
        return 0;
    if (v->kind != TG_YNODE_SEQ || v->n > TG_COST_MAX_TARIFF)
        return tg_yaml_error(c->err, c->errlen, c->file, v,
                             "tariff: expected a list (at most %d)", TG_COST_MAX_TARIFF);
    for (size_t i = 0; i < v->n; i++) {
        const tg_ynode *t = v->items[i];
        tg_cost_tariff *tf = &m->tariff[m->n_tariff];
        uint64_t h;
        if (t->kind != TG_YNODE_MAP)
            return tg_yaml_error(c->err, c->errlen, c->file, t,
                                 "tariff: expected a mapping");
        if ((rc = tg_yaml_check_keys(c->file, t, tkeys, c->err, c->errlen)))
            return rc;
        for (int e = 0; e < 2; e++) {
            const tg_ynode *hn = tg_yaml_get(t, e ? "to" : "from");
            if (!hn)
                return tg_yaml_error(c->err, c->errlen, c->file, t,
                                     "tariff: from and to are required");
            if ((rc = tg_yaml_u64(c->file, hn, &h, c->err, c->errlen)))
                return rc;
            if (h > 24)
                return tg_yaml_error(c->err, c->errlen, c->file, hn,
                                     "tariff: an hour is 0..24 (UTC)");
            *(e ? &tf->to_hour : &tf->from_hour) = (int)h;
        }
        if (!tg_yaml_get(t, "price_kwh"))
            return tg_yaml_error(c->err, c->errlen, c->file, t,
                                 "tariff: price_kwh is required");
        if ((rc = money(c, tg_yaml_get(t, "price_kwh"), "price_kwh", &tf->price_kwh)))
            return rc;
        m->n_tariff++;
    }
    return 0;
}

static int load_split(ctx *c, const tg_ynode *n, tg_costmodel *m)
{
    int sum = 0, rc;

    if (n->kind != TG_YNODE_MAP)
        return tg_yaml_error(c->err, c->errlen, c->file, n,
                             "shared_split: expected a mapping of measure to percent");
    for (size_t i = 0; i < n->n; i++) {
        uint64_t pct;
        int k;
        if ((rc = pick(c, n->keys[i], "shared_split measure", measures, 4, &k)) ||
            (rc = tg_yaml_u64(c->file, n->items[i], &pct, c->err, c->errlen)))
            return rc;
        if (pct > 100)
            return tg_yaml_error(c->err, c->errlen, c->file, n->items[i],
                                 "a percent is 0..100");
        m->shared_split[k] = (int)pct;
        sum += (int)pct;
    }
    if (sum != 100)
        return tg_yaml_error(c->err, c->errlen, c->file, n,
                             "shared_split: percents sum to %d, not 100", sum);
    return 0;
}

static int load_sku(ctx *c, const tg_ynode *n, const tg_price_sheet *s, int reserved,
                    tg_cost_sku *k)
{
    static const char *const keys[] = {"sku", "meter", "unit", "price", NULL};
    static const char *const rkeys[] = {"sku",    "meter", "unit",  "units", "upfront",
                                        "hourly", "term",  "start", NULL};
    const tg_ynode *v;
    int rc, meter;
    uint64_t u;

    if (n->kind != TG_YNODE_MAP)
        return tg_yaml_error(c->err, c->errlen, c->file, n, "sku: expected a mapping");
    if ((rc = tg_yaml_check_keys(c->file, n, reserved ? rkeys : keys, c->err, c->errlen)))
        return rc;
    k->line = n->line;
    k->col = n->col;
    k->reserved = reserved;
    if (!tg_yaml_get(n, "sku") || !tg_yaml_get(n, "meter") || !tg_yaml_get(n, "unit"))
        return tg_yaml_error(c->err, c->errlen, c->file, n,
                             "sku, meter and unit are required");
    if ((rc = str(c, tg_yaml_get(n, "sku"), "sku", k->sku, sizeof k->sku)) ||
        (rc = pick(c, tg_yaml_get(n, "meter"), "meter", measures, TG_MEASURE_COUNT,
                   &meter)) ||
        (rc = str(c, tg_yaml_get(n, "unit"), "unit", k->unit, sizeof k->unit)))
        return rc;
    k->meter = (enum tg_cost_measure)meter;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && !k->per_unit; i++)
        if (units[i].meter == k->meter && strcmp(units[i].unit, k->unit) == 0)
            k->per_unit = units[i].per_unit;
    if (!k->per_unit)
        return tg_yaml_error(c->err, c->errlen, c->file, tg_yaml_get(n, "unit"),
                             "unit \"%s\" does not price meter %s", k->unit,
                             measures[meter]);
    if (!reserved) {
        if (!(v = tg_yaml_get(n, "price")))
            return tg_yaml_error(c->err, c->errlen, c->file, n, "price is required");
        return money(c, v, "price", &k->price);
    }
    if (!(v = tg_yaml_get(n, "units")) || !tg_yaml_get(n, "upfront") ||
        !tg_yaml_get(n, "term"))
        return tg_yaml_error(c->err, c->errlen, c->file, n,
                             "reserved: units, upfront and term are required");
    if ((rc = tg_yaml_u64(c->file, v, &u, c->err, c->errlen)))
        return rc;
    if (u == 0 || u > 1000000)
        return tg_yaml_error(c->err, c->errlen, c->file, v, "units must be 1..1000000");
    k->units = (int64_t)u;
    if ((rc = money(c, tg_yaml_get(n, "upfront"), "upfront", &k->upfront)) ||
        (rc = duration_s(c, tg_yaml_get(n, "term"), "term", &k->term_s)))
        return rc;
    if ((v = tg_yaml_get(n, "hourly")) && (rc = money(c, v, "hourly", &k->hourly)))
        return rc;
    k->start = s->valid_from;
    if ((v = tg_yaml_get(n, "start")) && (rc = date(c, v, "start", &k->start)))
        return rc;
    return 0;
}

static int load_sheet(ctx *c, const tg_ynode *n, tg_costmodel *m, tg_price_sheet *s)
{
    static const char *const keys[] = {"provider", "region", "currency", "valid_from",
                                       "valid_to", "skus",   "reserved", NULL};
    const tg_ynode *v;
    int rc;

    if (n->kind != TG_YNODE_MAP)
        return tg_yaml_error(c->err, c->errlen, c->file, n,
                             "price_sheets: expected a mapping");
    if ((rc = tg_yaml_check_keys(c->file, n, keys, c->err, c->errlen)))
        return rc;
    if (!tg_yaml_get(n, "provider") || !tg_yaml_get(n, "region") ||
        !tg_yaml_get(n, "valid_from"))
        return tg_yaml_error(c->err, c->errlen, c->file, n,
                             "price sheet: provider, region and valid_from are required");
    if ((rc = str(c, tg_yaml_get(n, "provider"), "provider", s->provider,
                  sizeof s->provider)) ||
        (rc = str(c, tg_yaml_get(n, "region"), "region", s->region, sizeof s->region)) ||
        (rc = date(c, tg_yaml_get(n, "valid_from"), "valid_from", &s->valid_from)))
        return rc;
    memcpy(s->currency, m->currency, sizeof s->currency);
    if ((v = tg_yaml_get(n, "currency")) &&
        (rc = str(c, v, "currency", s->currency, sizeof s->currency)))
        return rc;
    if (strcmp(s->currency, m->currency) != 0)
        return tg_yaml_error(
            c->err, c->errlen, c->file, v,
            "currency %s differs from the model's %s (one currency per site)",
            s->currency, m->currency);
    if ((v = tg_yaml_get(n, "valid_to"))) {
        if ((rc = date(c, v, "valid_to", &s->valid_to)))
            return rc;
        if (s->valid_to <= s->valid_from)
            return tg_yaml_error(c->err, c->errlen, c->file, v,
                                 "valid_to must be after valid_from");
    }
    for (int r = 0; r < 2; r++) {
        const tg_ynode *l = tg_yaml_get(n, r ? "reserved" : "skus");
        if (!l || tg_yaml_is_null(l))
            continue;
        if (l->kind != TG_YNODE_SEQ || s->n_skus + l->n > TG_COST_MAX_SKUS)
            return tg_yaml_error(c->err, c->errlen, c->file, l,
                                 "expected a list (at most %d SKUs)", TG_COST_MAX_SKUS);
        for (size_t i = 0; i < l->n; i++) {
            tg_cost_sku *k = &s->skus[s->n_skus];
            if ((rc = load_sku(c, l->items[i], s, r, k)))
                return rc;
            for (size_t j = 0; j < s->n_skus; j++)
                if (!r && !s->skus[j].reserved && s->skus[j].meter == k->meter)
                    return tg_yaml_error(c->err, c->errlen, c->file, l->items[i],
                                         "a sheet prices meter %s once",
                                         measures[k->meter]);
            s->n_skus++;
        }
    }
    return 0;
}

static int64_t sheet_end(const tg_price_sheet *s)
{
    return s->valid_to ? s->valid_to : INT64_MAX;
}

/* Two sheets of one region overlapping in time would price the same use
 * twice; a meter keeps one pricing unit across a region's sheets. */
static int check_sheets(ctx *c, const tg_ynode *list, const tg_costmodel *m)
{
    for (size_t i = 0; i < m->n_sheets; i++)
        for (size_t j = 0; j < i; j++) {
            const tg_price_sheet *a = &m->sheets[j], *b = &m->sheets[i];
            if (strcmp(a->region, b->region) != 0 ||
                strcmp(a->provider, b->provider) != 0)
                continue;
            if (b->valid_from < sheet_end(a) && a->valid_from < sheet_end(b))
                return tg_yaml_error(c->err, c->errlen, c->file, list->items[i],
                                     "price sheet overlaps the one at line %u for %s %s",
                                     list->items[j]->line, b->provider, b->region);
            for (size_t x = 0; x < a->n_skus; x++)
                for (size_t y = 0; y < b->n_skus; y++)
                    if (!a->skus[x].reserved && !b->skus[y].reserved &&
                        a->skus[x].meter == b->skus[y].meter &&
                        a->skus[x].per_unit != b->skus[y].per_unit)
                        return tg_yaml_error(
                            c->err, c->errlen, c->file, list->items[i],
                            "meter %s is priced per %s here and per %s at "
                            "line %u",
                            measures[b->skus[y].meter], b->skus[y].unit, a->skus[x].unit,
                            list->items[j]->line);
        }
    return 0;
}

static int load_model(ctx *c, const tg_ynode *n, tg_costmodel *m)
{
    static const char *const keys[] = {"currency",
                                       "assets",
                                       "power",
                                       "facilities_per_year",
                                       "operations_per_year",
                                       "shared_split",
                                       "price_sheets",
                                       NULL};
    const tg_ynode *v;
    int rc;

    if (n->kind != TG_YNODE_MAP)
        return tg_yaml_error(c->err, c->errlen, c->file, n,
                             "cost_model: expected a mapping");
    if ((rc = tg_yaml_check_keys(c->file, n, keys, c->err, c->errlen)))
        return rc;
    memcpy(m->currency, "USD", 4);
    m->pue_milli = 1000;
    if ((v = tg_yaml_get(n, "currency"))) {
        if ((rc = str(c, v, "currency", m->currency, sizeof m->currency)))
            return rc;
        if (strlen(m->currency) != 3)
            return tg_yaml_error(c->err, c->errlen, c->file, v,
                                 "currency: an ISO 4217 code (EUR)");
    }
    if ((v = tg_yaml_get(n, "assets")) && !tg_yaml_is_null(v)) {
        if (v->kind != TG_YNODE_SEQ || v->n > TG_COST_MAX_ASSETS)
            return tg_yaml_error(c->err, c->errlen, c->file, v,
                                 "assets: expected a list (at most %d)",
                                 TG_COST_MAX_ASSETS);
        for (size_t i = 0; i < v->n; i++)
            if ((rc = load_asset(c, v->items[i], &m->assets[m->n_assets++])))
                return rc;
    }
    if ((v = tg_yaml_get(n, "power")) && !tg_yaml_is_null(v) &&
        (rc = load_power(c, v, m)))
        return rc;
    if ((v = tg_yaml_get(n, "facilities_per_year")) &&
        (rc = money(c, v, "facilities_per_year", &m->facilities_per_year)))
        return rc;
    if ((v = tg_yaml_get(n, "operations_per_year")) &&
        (rc = money(c, v, "operations_per_year", &m->operations_per_year)))
        return rc;
    if ((v = tg_yaml_get(n, "shared_split")) && !tg_yaml_is_null(v) &&
        (rc = load_split(c, v, m)))
        return rc;
    if ((v = tg_yaml_get(n, "price_sheets")) && !tg_yaml_is_null(v)) {
        if (v->kind != TG_YNODE_SEQ || v->n > TG_COST_MAX_SHEETS)
            return tg_yaml_error(c->err, c->errlen, c->file, v,
                                 "price_sheets: expected a list (at most %d)",
                                 TG_COST_MAX_SHEETS);
        for (size_t i = 0; i < v->n; i++)
            if ((rc = load_sheet(c, v->items[i], m, &m->sheets[m->n_sheets++])))
                return rc;
        if ((rc = check_sheets(c, v, m)))
            return rc;
    }
    return 0;
}

static int load_root(const char *name, const tg_ynode *root, const char *section,
                     tg_costmodel *m, char *err, size_t errlen)
{
    ctx c = {name, err, errlen};
    tg_costmodel *tmp;
    int rc;

    memset(m, 0, sizeof(*m));
    m->pue_milli = 1000;
    memcpy(m->currency, "USD", 4);
    if (section) {
        if (root->kind != TG_YNODE_MAP)
            return tg_yaml_error(err, errlen, name, root, "expected a mapping");
        root = tg_yaml_get(root, section);
        if (!root || tg_yaml_is_null(root))
            return 0;
    }
    tmp = calloc(1, sizeof(*tmp));
    if (!tmp)
        return TG_ENOMEM;
    rc = load_model(&c, root, tmp);
    if (rc == 0)
        *m = *tmp;
    free(tmp);
    return rc ? TG_ECONFIG : 0;
}

int tg_costmodel_load_buffer(const char *name, const char *buf, size_t len,
                             const char *section, tg_costmodel *m, char *err,
                             size_t errlen)
{
    tg_ynode *root;
    int rc;

    /* Zeroed first, whatever fails: never a model left from before. */
    memset(m, 0, sizeof(*m));
    if (!(root = tg_yaml_load_buffer(name, buf, len, err, errlen)))
        return TG_ECONFIG;
    rc = load_root(name, root, section, m, err, errlen);
    tg_yaml_free(root);
    return rc;
}

int tg_costmodel_load(const char *path, const char *section, tg_costmodel *m, char *err,
                      size_t errlen)
{
    tg_ynode *root;
    int rc;

    memset(m, 0, sizeof(*m));
    if (!(root = tg_yaml_load_file(path, err, errlen)))
        return TG_ECONFIG;
    rc = load_root(path, root, section, m, err, errlen);
    tg_yaml_free(root);
    return rc;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
int64_t tg_cost_days_from_civil(int64_t y, int64_t mo, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= mo <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int64_t *out)
{
    int64_t v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int tg_cost_parse_date(const char *s, int64_t *out)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t y, mo, d, h = 0, mi = 0, se = 0;
    size_t len = s ? strlen(s) : 0;

    if ((len != 10 && len != 20) || digits(s, 4, &y) || s[4] != '-' ||
        digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d))
        return TG_EINVAL;
    if (len == 20 && (s[10] != 'T' || digits(s + 11, 2, &h) || s[13] != ':' ||
                      digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se) ||
                      s[19] != 'Z'))
        return TG_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 59)
        return TG_EINVAL;
    if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return TG_EINVAL;
    *out = tg_cost_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}
