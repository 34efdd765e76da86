/* Fuzzes the forwarder's configuration loader (the YAML tree, every key's
 * reader, the cost model) and the size and duration parsers. Any input
 * gives 0 or TG_ECONFIG with a "f.yaml:" message and leaves the
 * configuration untouched on error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "tg_fwd_config.h"
#include "tg_units.h"
#include "tg_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_forward_config cfg, before;
    char err[512], text[300];
    uint64_t v;
    int rc;

    tg_forward_config_defaults(&cfg);
    before = cfg;
    for (int pass = 0; pass < 2; pass++) {
        rc = tg_forward_config_load_buffer("f.yaml", (const char *)data, size,
                                           pass ? NULL : "forward", &cfg, err,
                                           sizeof(err));
        if (rc != 0) {
            if (rc != TG_ECONFIG || strncmp(err, "f.yaml", 6) != 0)
                abort();
            if (memcmp(&cfg, &before, sizeof(cfg)) != 0)
                abort();
        } else if (cfg.n_renames > TG_FWD_MAX_RENAMES ||
                   cfg.n_labels > TG_FWD_MAX_LABELS ||
                   cfg.n_allow_keys > TG_FWD_MAX_ALLOW || cfg.cost.gpu_share > 1) {
            abort();
        }
        cfg = before;
    }
    if (size < sizeof(text)) {
        memcpy(text, data, size);
        text[size] = '\0';
        tg_parse_size(text, &v);
        tg_parse_duration_ms(text, &v);
    }
    return 0;
}
