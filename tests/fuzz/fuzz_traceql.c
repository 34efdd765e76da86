/* Fuzzes the TraceQL parser. Any input either fails with "column N: ..."
 * or gives a plan whose canonical text parses to the same text; the plan is
 * then printed every way and evaluated, site and centre parts, on the fixed
 * trace of plan_fixture.h. */
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
    tg_span_view v[5];
    tg_trace_result res;
    int rc, i;

    rc = tg_traceql_parse((const char *)data, size, &p, err, sizeof(err));
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
    if (tg_traceql_parse(b.p, b.len, &p2, err, sizeof(err)) != 0)
        abort(); /* the canonical text must parse */
    tg_plan_print(p2, &b2);
    if (!b2.oom && (b2.len != b.len || memcmp(b.p, b2.p, b.len) != 0))
        abort(); /* and print the same */
    fx_trace(v);
    for (i = 0; i < 5; i++)
        (void)tg_plan_span_candidate(p, &v[i]);
    (void)tg_plan_site_may_match(p, "de-onprem");
    if (tg_trace_eval(p, v, 5, &res) == 0) {
        size_t s, k;

        for (s = 0; s < res.nsets; s++)
            for (k = 0; k < res.sets[s].nspans; k++)
                if (res.sets[s].spans[k] >= 5)
                    abort();
        tg_trace_result_free(&res);
    }
out:
    free(b.p);
    free(b2.p);
    free(site.p);
    free(ex.p);
    tg_plan_free(p);
    tg_plan_free(p2);
    return 0;
}
