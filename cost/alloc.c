/* Allocation of a site-hour's cost to the workloads that used it (tg_alloc.h). */
#include "tg_alloc.h"

#include <string.h>

#include "tg_err.h"

#define HOUR 3600

static tg_money ratio(tg_money a, __int128 num, __int128 den)
{
    return den > 0 ? tg_money_div_round((__int128)a * num, den, NULL) : 0;
}

static int64_t used(const tg_cost_use *uses, size_t n, enum tg_cost_measure j)
{
    int64_t u = 0;

    for (size_t i = 0; i < n; i++)
        if (uses[i].measure == j && uses[i].qty_micro > 0)
            u += uses[i].qty_micro;
    return u;
}

static int push(tg_cost_line *out, size_t cap, size_t *k, const tg_cost_line *l)
{
    if (*k >= cap)
        return TG_ETOO_BIG;
    out[(*k)++] = *l;
    return 0;
}

static int allocate_onprem(const tg_costmodel *m, int64_t h0, const tg_cost_use *uses,
                           size_t n, tg_cost_line *out, size_t cap, size_t *k)
{
    static const struct {
        enum tg_asset_kind kind;
        enum tg_cost_measure measure;
    } shared_by_use[] = {{TG_ASSET_GPU, TG_MEASURE_GPU_SECONDS},
                         {TG_ASSET_CPU, TG_MEASURE_CPU_SECONDS}};
    int64_t h1 = h0 + HOUR;
    tg_money pool, left;
    int rc, last_j = -1;

    for (size_t c = 0; c < 2; c++) {
        enum tg_cost_measure j = shared_by_use[c].measure;
        tg_money cap_cost = tg_cost_kind_capacity(m, shared_by_use[c].kind, h0, h1),
                 given = 0;
        __int128 cap_micro =
            (__int128)tg_cost_kind_capacity_seconds(m, shared_by_use[c].kind, h0, h1) *
            TG_MONEY_SCALE;
        __int128 denom = used(uses, n, j);
        tg_cost_line idle = {
            .kind = TG_LINE_IDLE, .asset = shared_by_use[c].kind, .measure = j};

        if (cap_cost == 0)
            continue;
        if (denom < cap_micro)
            denom = cap_micro; /* over-reported use shares the whole capacity, no more */
        for (size_t i = 0; i < n; i++)
            if (uses[i].measure == j && uses[i].qty_micro > 0) {
                tg_money s = ratio(cap_cost, uses[i].qty_micro, denom);
                out[i].effective += s;
                out[i].list += s;
                given += s;
            }
        idle.effective = idle.list = cap_cost - given;
        if (idle.effective && (rc = push(out, cap, k, &idle)))
            return rc;
    }

    /* the shared pool: facilities, operations, storage and network */
    pool = tg_cost_shared(m, h0, h1) +
           tg_cost_kind_capacity(m, TG_ASSET_STORAGE, h0, h1) +
           tg_cost_kind_capacity(m, TG_ASSET_NETWORK, h0, h1);
    for (int j = 0; j < TG_MEASURE_COUNT; j++)
        if (m->shared_split[j])
            last_j = j;
    if (pool && last_j < 0) {
        tg_cost_line l = {.kind = TG_LINE_SHARED_IDLE,
                          .measure = TG_MEASURE_COUNT,
                          .effective = pool,
                          .list = pool};
        return push(out, cap, k, &l);
    }
    left = pool;
    for (int j = 0; j <= last_j && pool; j++) {
        /* the last measure takes the pool's rounding remainder */
        tg_money part = j == last_j ? left : ratio(pool, m->shared_split[j], 100),
                 given = 0;
        int64_t u = used(uses, n, (enum tg_cost_measure)j);
        size_t last_use = n;

        if (!m->shared_split[j])
            continue;
        left -= part;
        if (u == 0) {
            tg_cost_line l = {.kind = TG_LINE_SHARED_IDLE,
                              .measure = (enum tg_cost_measure)j,
                              .effective = part,
                              .list = part};
            if (part && (rc = push(out, cap, k, &l)))
                return rc;
            continue;
        }
        for (size_t i = 0; i < n; i++)
            if ((int)uses[i].measure == j && uses[i].qty_micro > 0) {
                tg_money s = ratio(part, uses[i].qty_micro, u);
                out[i].effective += s;
                out[i].list += s;
                given += s;
                last_use = i;
            }
        /* the last user of the measure takes its rounding remainder */
        out[last_use].effective += part - given;
        out[last_use].list += part - given;
    }
    return 0;
}

static int allocate_cloud(const tg_costmodel *m, const char *region, int64_t h0,
                          const tg_cost_use *uses, size_t n, tg_cost_line *out,
                          size_t cap, size_t *k)
{
    int64_t h1 = h0 + HOUR;
    int rc;

    for (size_t i = 0; i < n; i++) {
        tg_money c;
        if (uses[i].qty_micro <= 0 || uses[i].measure == TG_MEASURE_INFERENCES)
            continue;
        rc =
            tg_cost_sheet_cost(m, region, uses[i].measure, uses[i].qty_micro, h0, h1, &c);
        if (rc == TG_ENOT_FOUND)
            out[i].unpriced = 1;
        else if (rc == 0)
            out[i].list = c;
        else
            return rc;
    }
    for (int j = 0; j < TG_MEASURE_COUNT; j++) {
        tg_money r_cost = 0, r_billed = 0, given = 0, billed_given = 0, r_cov, rb_cov;
        __int128 r_qty = 0, covered;
        const tg_cost_sku *first = NULL;
        int64_t u = used(uses, n, (enum tg_cost_measure)j);
        tg_cost_line l = {.kind = TG_LINE_UNUSED, .measure = (enum tg_cost_measure)j};

        for (size_t si = 0; si < m->n_sheets; si++) {
            const tg_price_sheet *s = &m->sheets[si];
            if (region && strcmp(region, s->region) != 0)
                continue;
            for (size_t x = 0; x < s->n_skus; x++) {
                const tg_cost_sku *r = &s->skus[x];
                int64_t lo = h0 > r->start ? h0 : r->start;
                int64_t hi = h1 < r->start + r->term_s ? h1 : r->start + r->term_s;
                if (!r->reserved || (int)r->meter != j || hi <= lo)
                    continue;
                r_cost += tg_cost_reserved(r, h0, h1);
                r_billed += ratio(r->hourly, (__int128)r->units * (hi - lo), HOUR);
                /* units are pricing units an hour: consumed units x 10^-6 */
                r_qty +=
                    (__int128)r->units * r->per_unit * (hi - lo) * TG_MONEY_SCALE / HOUR;
                if (!first)
                    first = r;
            }
        }
        covered = u < r_qty ? u : r_qty;
        /* the reservation's cost of the covered part, then its share by use
         * (two steps, each rounded once, so no product passes 128 bits) */
        r_cov = r_qty > 0 ? ratio(r_cost, covered, r_qty) : 0;
        rb_cov = r_qty > 0 ? ratio(r_billed, covered, r_qty) : 0;
        for (size_t i = 0; i < n && r_qty > 0; i++) {
            tg_money od = 0;
            int64_t od_qty;
            if ((int)uses[i].measure != j || uses[i].qty_micro <= 0)
                continue;
            tg_money s = ratio(r_cov, uses[i].qty_micro, u);
            tg_money b = ratio(rb_cov, uses[i].qty_micro, u);
            od_qty = (int64_t)ratio(uses[i].qty_micro, u - covered, u);
            if (od_qty > 0 && tg_cost_sheet_cost(m, region, (enum tg_cost_measure)j,
                                                 od_qty, h0, h1, &od) != 0)
                od = 0;
            out[i].effective = s + od;
            out[i].billed = b + od;
            given += s;
            billed_given += b;
        }
        for (size_t i = 0; i < n && r_qty == 0; i++)
            if ((int)uses[i].measure == j) {
                out[i].effective = out[i].list;
                out[i].billed = out[i].list;
            }
        if (!first)
            continue;
        l.sku = first;
        l.effective = r_cost - given;
        l.billed = r_billed - billed_given;
        l.orphan = u == 0;
        if ((l.effective || l.orphan) && (rc = push(out, cap, k, &l)))
            return rc;
    }
    return 0;
}

int tg_cost_allocate(const tg_costmodel *m, const char *region, int64_t hour,
                     const tg_cost_use *uses, size_t n, tg_cost_line *out, size_t cap)
{
    size_t k = n;
    int rc;

    if (cap < n)
        return TG_ETOO_BIG;
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].kind = TG_LINE_USAGE;
        out[i].use = &uses[i];
        out[i].measure = uses[i].measure;
    }
    rc = m->n_assets ? allocate_onprem(m, hour, uses, n, out, cap, &k)
                     : allocate_cloud(m, region, hour, uses, n, out, cap, &k);
    return rc ? rc : (int)k;
}

int tg_cost_counterfactual_cloud(const tg_costmodel *cloud, const char *region,
                                 int64_t hour, const tg_cost_use *u, tg_money *out)
{
    return tg_cost_sheet_cost(cloud, region, u->measure, u->qty_micro, hour, hour + HOUR,
                              out);
}

int tg_cost_counterfactual_onprem(const tg_costmodel *onprem, int64_t hour,
                                  const tg_cost_use *u, tg_money *out)
{
    enum tg_asset_kind kind;
    int64_t secs;

    if (u->measure == TG_MEASURE_GPU_SECONDS)
        kind = TG_ASSET_GPU;
    else if (u->measure == TG_MEASURE_CPU_SECONDS)
        kind = TG_ASSET_CPU;
    else
        return TG_ENOT_FOUND;
    secs = tg_cost_kind_capacity_seconds(onprem, kind, hour, hour + HOUR);
    if (secs <= 0)
        return TG_ENOT_FOUND;
    *out = ratio(tg_cost_kind_capacity(onprem, kind, hour, hour + HOUR), u->qty_micro,
                 (__int128)secs * TG_MONEY_SCALE);
    return 0;
}
