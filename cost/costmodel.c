/* The cost model's arithmetic: depreciation, power, shared cost, price
 * sheets and reservations over a period, each rounded once (tg_money.h). */
#include "tg_costmodel.h"

#include <string.h>

#include "tg_err.h"

static const char *const kind_names[] = {"cpu", "gpu", "storage", "network"};
static const char *const measure_names[] = {
    "gpu-seconds",         "cpu-seconds",          "memory-gb-hours", "stored-bytes",
    "gen_ai-input-tokens", "gen_ai-output-tokens", "gen_ai-requests"};

const char *tg_asset_kind_name(enum tg_asset_kind k)
{
    return (unsigned)k < TG_ASSET_KINDS ? kind_names[k] : "?";
}

const char *tg_cost_measure_name(enum tg_cost_measure m)
{
    return (unsigned)m < TG_MEASURE_COUNT ? measure_names[m] : "?";
}

static int64_t overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
    int64_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
    return hi > lo ? hi - lo : 0;
}

static tg_money round_div(__int128 n, __int128 d)
{
    return d > 0 ? tg_money_div_round(n, d, NULL) : 0;
}

tg_money tg_cost_depreciation(const tg_cost_asset *a, int64_t t0, int64_t t1)
{
    int64_t end = a->purchase_time + a->lifetime_s;
    __int128 depreciable = (__int128)(a->purchase_price - a->salvage) * a->count;
    tg_money total = 0, book, salvage;
    int64_t years;

    if (a->lifetime_s <= 0 || t1 <= t0)
        return 0;
    if (a->method == TG_DEP_STRAIGHT_LINE)
        return round_div(depreciable * overlap(t0, t1, a->purchase_time, end),
                         a->lifetime_s);

    /* declining balance, rate 2/N, year by year on the whole holding */
    years = a->lifetime_s / TG_COST_YEAR_S;
    if (years <= 0)
        years = 1;
    book = a->purchase_price * a->count;
    salvage = a->salvage * a->count;
    for (int64_t y = 0; y < years; y++) {
        int64_t y0 = a->purchase_time + y * TG_COST_YEAR_S, y1 = y0 + TG_COST_YEAR_S;
        tg_money dep = round_div((__int128)book * 2, years);
        int64_t ov;

        if (y == years - 1 || book - dep < salvage)
            dep = book - salvage;
        if (dep < 0)
            dep = 0;
        ov = overlap(t0, t1, y0, y1);
        if (ov)
            total += round_div((__int128)dep * ov, TG_COST_YEAR_S);
        book -= dep;
    }
    return total;
}

static tg_money price_at_hour(const tg_costmodel *m, int64_t t)
{
    int h = (int)((t % 86400 + 86400) % 86400 / 3600);

    for (size_t i = 0; i < m->n_tariff; i++) {
        const tg_cost_tariff *tf = &m->tariff[i];
        int in = tf->from_hour <= tf->to_hour ? h >= tf->from_hour && h < tf->to_hour
                                              : h >= tf->from_hour || h < tf->to_hour;
        if (in)
            return tf->price_kwh;
    }
    return m->price_kwh;
}

tg_money tg_cost_power(const tg_costmodel *m, const tg_cost_asset *a, int64_t t0,
                       int64_t t1)
{
    int64_t lo = t0 > a->purchase_time ? t0 : a->purchase_time;
    int64_t hi =
        t1 < a->purchase_time + a->lifetime_s ? t1 : a->purchase_time + a->lifetime_s;
    int64_t pue = m->pue_milli > 0 ? m->pue_milli : 1000;
    __int128 sum = 0; /* price (micro) x seconds, hour by hour */

    for (int64_t t = lo; t < hi;) {
        int64_t next = (t / 3600 + 1) * 3600;
        if (next > hi)
            next = hi;
        sum += (__int128)price_at_hour(m, t) * (next - t);
        t = next;
    }
    /* W x count x PUE/1000 x price x s / (1000 W/kW x 3600 s/h) */
    return round_div(sum * a->power_w * a->count * pue, (__int128)1000 * 1000 * 3600);
}

tg_money tg_cost_shared(const tg_costmodel *m, int64_t t0, int64_t t1)
{
    if (t1 <= t0)
        return 0;
    return round_div((__int128)(m->facilities_per_year + m->operations_per_year) *
                         (t1 - t0),
                     TG_COST_YEAR_S);
}

tg_money tg_cost_kind_capacity(const tg_costmodel *m, enum tg_asset_kind k, int64_t t0,
                               int64_t t1)
{
    tg_money total = 0;

    for (size_t i = 0; i < m->n_assets; i++)
        if (m->assets[i].kind == k)
            total += tg_cost_depreciation(&m->assets[i], t0, t1) +
                     tg_cost_power(m, &m->assets[i], t0, t1);
    return total;
}

int64_t tg_cost_kind_capacity_seconds(const tg_costmodel *m, enum tg_asset_kind k,
                                      int64_t t0, int64_t t1)
{
    int64_t total = 0;

    for (size_t i = 0; i < m->n_assets; i++) {
        const tg_cost_asset *a = &m->assets[i];
        if (a->kind == k)
            total += a->count *
                     overlap(t0, t1, a->purchase_time, a->purchase_time + a->lifetime_s);
    }
    return total;
}

static const tg_cost_sku *sheet_sku(const tg_price_sheet *s, enum tg_cost_measure meter)
{
    for (size_t i = 0; i < s->n_skus; i++)
        if (!s->skus[i].reserved && s->skus[i].meter == meter)
            return &s->skus[i];
    return NULL;
}

int tg_cost_sheet_cost(const tg_costmodel *m, const char *region,
                       enum tg_cost_measure meter, int64_t qty_micro, int64_t t0,
                       int64_t t1, tg_money *out)
{
    __int128 sum = 0; /* qty_micro x seconds x price / per_unit, by part */
    int64_t covered = 0, per_unit;

    if (t1 <= t0)
        return TG_EINVAL;
    /* each part costs qty x (part / period) x price / per_unit; the loader
     * gives a meter one pricing unit across sheets, so one division ends it */
    per_unit = 0;
    for (size_t i = 0; i < m->n_sheets; i++) {
        const tg_price_sheet *s = &m->sheets[i];
        const tg_cost_sku *k;
        int64_t ov;

        if (region && strcmp(region, s->region) != 0)
            continue;
        k = sheet_sku(s, meter);
        if (!k)
            continue;
        ov = overlap(t0, t1, s->valid_from, s->valid_to ? s->valid_to : INT64_MAX);
        if (!ov)
            continue;
        if (per_unit && per_unit != k->per_unit)
            return TG_EINVAL; /* one meter, one pricing unit across sheets */
        per_unit = k->per_unit;
        sum += (__int128)qty_micro * ov * k->price;
        covered += ov;
    }
    if (covered < t1 - t0)
        return TG_ENOT_FOUND;
    *out = round_div(sum, (__int128)(t1 - t0) * per_unit * TG_MONEY_SCALE);
    return 0;
}

tg_money tg_cost_reserved(const tg_cost_sku *s, int64_t t0, int64_t t1)
{
    int64_t ov;

    if (!s->reserved || s->term_s <= 0)
        return 0;
    ov = overlap(t0, t1, s->start, s->start + s->term_s);
    /* upfront x units x ov / term + hourly x units x ov / 3600, one rounding */
    return round_div((__int128)s->upfront * s->units * ov * 3600 +
                         (__int128)s->hourly * s->units * ov * s->term_s,
                     (__int128)s->term_s * 3600);
}
