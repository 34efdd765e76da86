/* Fuzzes the cost model loader (cost/model_config.c) and, when a model
 * loads, its arithmetic over a period. Any input must give 0 or TG_ECONFIG
 * with a "t.yaml:L:C: " message, never a crash or a partly loaded model;
 * a loaded model's amounts are never negative. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_alloc.h"
#include "tg_costmodel.h"
#include "tg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tg_costmodel m;
    static tg_cost_line lines[64];
    char err[512];
    int rc;

    rc = tg_costmodel_load_buffer("t.yaml", (const char *)data, size, "cost_model", &m,
                                  err, sizeof(err));
    if (rc != 0) {
        if (rc != TG_ECONFIG && rc != TG_ENOMEM)
            abort();
        if (rc == TG_ECONFIG && strncmp(err, "t.yaml:", 7) != 0)
            abort();
        if (m.n_assets || m.n_sheets)
            abort();
        return 0;
    }
    for (size_t i = 0; i < m.n_assets; i++) {
        /* a day around the purchase and one around the end of life */
        int64_t t = m.assets[i].purchase_time, e = t + m.assets[i].lifetime_s;
        if (tg_cost_depreciation(&m.assets[i], t - 43200, t + 43200) < 0 ||
            tg_cost_depreciation(&m.assets[i], e - 43200, e + 43200) < 0 ||
            tg_cost_power(&m, &m.assets[i], t, t + 86400) < 0)
            abort();
    }
    if (m.n_sheets) {
        const tg_cost_use u = {"s", "", "", "", TG_MEASURE_GPU_SECONDS, 3600000000LL};
        int64_t h = m.sheets[0].valid_from;
        rc = tg_cost_allocate(&m, m.sheets[0].region, h, &u, 1, lines, 64);
        if (rc < 0 && rc != TG_ETOO_BIG)
            abort();
    }
    return 0;
}
