/* Allocation: one hour of a site's measured use turned into cost lines,
 * every line attributed to what used it (site, service, model, team, run),
 * plus the lines nobody used: idle on-prem capacity per asset kind, unused
 * reserved cloud capacity (flagged possibly orphaned when nothing at all
 * used its meter in the hour). docs/cost.md, "Allocation".
 *
 * The sum of a site-hour's lines is exactly the cost the model gives for
 * the hour: each line is rounded once and the idle (or unused) line takes
 * what the usage lines leave. */
#ifndef TG_ALLOC_H
#define TG_ALLOC_H

#include <stddef.h>

#include "tg_costmodel.h"

/* One workload's use of one measure in the hour. Strings are borrowed. */
typedef struct tg_cost_use {
    const char *service, *model, *team, *run;
    enum tg_cost_measure measure;
    int64_t qty_micro; /* consumed units x 10^-6 (s, GB-hours, bytes, tokens) */
} tg_cost_use;

enum tg_line_kind {
    TG_LINE_USAGE,       /* a workload's share */
    TG_LINE_IDLE,        /* on-prem capacity of `asset` nobody used */
    TG_LINE_SHARED_IDLE, /* shared cost whose measure nobody used */
    TG_LINE_UNUSED,      /* reserved cloud capacity nobody used */
};

typedef struct tg_cost_line {
    enum tg_line_kind kind;
    const tg_cost_use *use;   /* USAGE */
    enum tg_asset_kind asset; /* IDLE */
    enum tg_cost_measure measure;
    const tg_cost_sku *sku; /* UNUSED; USAGE priced at a sheet: the on-demand SKU */
    tg_money effective;     /* EffectiveCost (amortised) */
    tg_money billed;        /* BilledCost: 0 for on-prem and amortised upfront */
    tg_money list;          /* ListCost: on-demand price x quantity (cloud) */
    int orphan;             /* UNUSED and no use of its meter at all */
    int unpriced;           /* USAGE with no sheet covering the hour */
} tg_cost_line;

/* Allocates the hour [hour, hour + 3600) of a site under model m. On-prem
 * (m has assets): GPU and CPU capacity is shared by GPU- and CPU-seconds
 * in proportion to use (at most capacity: over-reported use scales down);
 * storage and network capacity, facilities and operations are the shared
 * pool, split by shared_split and then by each measure's use. Cloud (no
 * assets): use is priced at `region`'s sheet, reserved capacity covering
 * use first, at its amortised cost. Writes at most cap lines; returns the
 * count, or TG_ETOO_BIG when cap is short. */
int tg_cost_allocate(const tg_costmodel *m, const char *region, int64_t hour,
                     const tg_cost_use *uses, size_t n, tg_cost_line *out, size_t cap);

/* What use u would cost per hour at the other side's prices: on-prem use at
 * `region`'s sheet (TG_ENOT_FOUND if none covers it), or cloud use at the
 * on-prem model's full-utilisation rate (capacity cost / capacity seconds
 * of the kind; idle apart). */
int tg_cost_counterfactual_cloud(const tg_costmodel *cloud, const char *region,
                                 int64_t hour, const tg_cost_use *u, tg_money *out);
int tg_cost_counterfactual_onprem(const tg_costmodel *onprem, int64_t hour,
                                  const tg_cost_use *u, tg_money *out);

#endif
