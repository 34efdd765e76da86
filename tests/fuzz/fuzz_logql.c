/* Fuzzes the LogQL parser. Any input either fails with "column N: ..." or
 * gives a plan whose canonical text parses to the same text; the plan is
 * then printed every way and evaluated on the log records of
 * plan_fixture.h (and as a constant, Grafana's health check). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/plan_fixture.h"
#include "tg_err.h"
#include "tg_plan.h"
#include "tg_plan_eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    tg_plan *p = NULL, *p2 = NULL;
    tg_strbuf b = {0}, b2 = {0}, site = {0}, ex = {0};
    tg_log_view v[4];
    double d;
    int rc, i;

    rc = tg_logql_parse((const char *)data, size, &p, err, sizeof(err));
    if (rc == TG_EINVAL) {
        if (strncmp(err, "column ", 7) != 0 || p)
            abort();
        return 0;
    }
    if (rc != 0)
        return 0;
    tg_plan_print(p, &b);
    tg_plan_print_site(p, &site);
    tg_plan_explain(p, &ex);
    if (b.oom || !b.p)
        goto out;
    if (tg_logql_parse(b.p, b.len, &p2, err, sizeof(err)) != 0)
        abort();
    tg_plan_print(p2, &b2);
    if (!b2.oom && (b2.len != b.len || memcmp(b.p, b2.p, b.len) != 0))
        abort();
    fx_logs(v);
    for (i = 0; i < 4; i++)
        (void)tg_plan_log_match(p, &v[i]);
    (void)tg_plan_site_may_match(p, "de-onprem");
    (void)tg_plan_eval_constant(p, &d);
out:
    free(b.p);
    free(b2.p);
    free(site.p);
    free(ex.p);
    tg_plan_free(p);
    tg_plan_free(p2);
    return 0;
}
