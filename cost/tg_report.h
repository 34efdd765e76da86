/* Cost reports: a period's stored use, per site and hour, allocated under
 * each site's cost model (tg_alloc.h), then grouped by site, service,
 * model, team or run, with the idle lines apart, the counterfactual at
 * another site's prices and unit economics; or every line as a FOCUS row.
 * docs/cost.md, "Reports". */
#ifndef TG_REPORT_H
#define TG_REPORT_H

#include <stddef.h>

#include "tg_alloc.h"
#include "tg_focus.h"
#include "tg_strbuf.h"

typedef struct tg_cost_site {
    const char *name, *jurisdiction;
    const char *provider; /* ServiceProviderName: "AWS", or the IT organisation */
    const char *region;   /* the price sheets' region used for this site's use */
    const tg_costmodel *model;
} tg_cost_site;

/* One stored use row (strings borrowed; NULL or "" is unattributed). */
typedef struct tg_cost_usage {
    const char *site, *service, *model, *team, *run;
    int64_t hour; /* Unix s, a multiple of 3600 */
    enum tg_cost_measure measure;
    int64_t qty_micro;
} tg_cost_usage;

enum tg_cost_by { TG_BY_SITE, TG_BY_SERVICE, TG_BY_MODEL, TG_BY_TEAM, TG_BY_RUN };

typedef struct tg_cost_group {
    char key[128]; /* the group's value; "__idle__" etc. for unused capacity */
    char site[64]; /* the site (groups are per site, for side by side) */
    int amortised; /* the site's model is on-prem */
    int idle;      /* an idle, shared-idle or unused line */
    int orphan;    /* possibly orphaned reserved capacity */
    tg_money effective, billed, list;
    tg_money counterfactual; /* at the compared site's prices */
    int has_counterfactual;
    int64_t gpu_s_micro, cpu_s_micro, tokens_micro, inferences_micro;
} tg_cost_group;

typedef struct tg_cost_report {
    tg_cost_group *g;
    size_t n, cap;
    tg_money total_effective, total_billed, total_idle;
    char currency[8];
    char compare[64];
} tg_cost_report;

/* Builds the report of [from, to) grouped by `by`; `compare` (NULL: none)
 * names a site or a region whose prices give the counterfactual. Rows of
 * sites not in `sites` are skipped. 0, TG_ENOMEM, TG_ENOT_FOUND (compare
 * names nothing). Free with tg_cost_report_free. */
int tg_cost_report_build(const tg_cost_site *sites, size_t nsites, const tg_cost_usage *u,
                         size_t n, int64_t from, int64_t to, enum tg_cost_by by,
                         const char *compare, tg_cost_report *r);
void tg_cost_report_free(tg_cost_report *r);

/* The report as JSON (exact micro-unit integers and minor-unit strings). */
void tg_cost_report_json(const tg_cost_report *r, tg_strbuf *b);

/* Every allocated line of [from, to) as a FOCUS row, CSV (with header) or
 * JSON (an array). */
int tg_cost_focus_export(const tg_cost_site *sites, size_t nsites, const tg_cost_usage *u,
                         size_t n, int64_t from, int64_t to, int json, tg_strbuf *b);

#endif
