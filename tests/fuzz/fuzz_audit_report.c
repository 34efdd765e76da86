/* Fuzzes the audit report's inputs: the bytes as a log leaf (an
 * EgressRecord from a site, read by the centre over the network) folded
 * into a report that is then built and rendered as JSON, CSV and HTML; as
 * the audit: section of a configuration file; and, split in two, as the
 * two policy texts the line diff compares. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_audit_report.h"
#include "tg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_report_site s = {.name = "fuzz",
                        .origin = "tollgate.site/fuzz",
                        .tree_size = 1,
                        .root = "AAAA",
                        .verified = 1,
                        .verify_result = "intact",
                        .witness = "",
                        .region = "EU",
                        .country = "DE"};
    tg_report *r = tg_report_new(0, UINT64_MAX);
    tg_report_config cfg;
    tg_strbuf out = {0};
    char err[512];
    json_t *m;

    if (!r)
        return 0;
    if (tg_report_add_site(r, &s) == 0) {
        tg_report_add_leaf(r, data, size);
        tg_report_add_leaf(r, data, size); /* the same leaf twice: counts add */
    }
    tg_report_add_policy_text(r, "sha256:a", (const char *)data, size / 2);
    if ((m = tg_report_build(r))) {
        for (int f = TG_REPORT_JSON; f <= TG_REPORT_HTML; f++) {
            out.len = 0;
            if (tg_report_render(m, (enum tg_report_format)f, &out, err, sizeof(err)) ==
                    0 &&
                out.oom)
                abort(); /* a render that succeeded must not have lost bytes */
        }
        json_decref(m);
    }
    free(out.p);
    tg_report_free(r);

    tg_report_config_defaults(&cfg);
    (void)tg_report_config_load_buffer("fuzz.yaml", (const char *)data, size, &cfg, err,
                                       sizeof(err));
    if (cfg.n_purposes > TG_REPORT_CFG_LIST || cfg.n_transfers > TG_REPORT_CFG_LIST)
        abort();

    out = (tg_strbuf){0};
    (void)tg_report_diff((const char *)data, size / 2, (const char *)data + size / 2,
                         size - size / 2, 2, &out);
    free(out.p);
    return 0;
}
