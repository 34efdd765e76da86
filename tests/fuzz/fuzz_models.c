/* Fuzzes the centre's `models:` section (central/models_config.c: the key
 * table, the rules' globs and durations) and the model registry file
 * reader, then runs the report over what a registry gave. Any input must
 * give 0 or TG_ECONFIG / TG_ENOMEM with a "t.yaml:L:C: " message, never a
 * crash or a leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"
#include "tg_err.h"
#include "tg_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_models_config cfg;
    tg_models_registry r = {0};
    char err[1400];
    tg_ynode *root;
    int rc;

    tg_models_config_defaults(&cfg);
    root = tg_yaml_load_buffer("t.yaml", (const char *)data, size, err, sizeof(err));
    if (root) {
        const tg_ynode *sec = tg_yaml_get(root, "models");
        if (sec) {
            rc = tg_models_config_load(&cfg, sec, "t.yaml", err, sizeof(err));
            if (rc != 0 && ((rc != TG_ECONFIG && rc != TG_ENOMEM) ||
                            (rc == TG_ECONFIG && strncmp(err, "t.yaml:", 7) != 0)))
                abort();
            if (cfg.n_rules > TG_MODELS_MAX_RULES)
                abort();
        }
        tg_yaml_free(root);
    }
    rc = tg_models_registry_load_buffer("t.yaml", (const char *)data, size, &r, err,
                                        sizeof(err));
    if (rc != 0) {
        if ((rc != TG_ECONFIG && rc != TG_ENOMEM) ||
            (rc == TG_ECONFIG && strncmp(err, "t.yaml:", 7) != 0))
            abort();
        return 0;
    }
    /* What a registry gave, as the authority of every model. */
    snprintf(cfg.rules[0].match, sizeof(cfg.rules[0].match), "*");
    snprintf(cfg.rules[0].registry, sizeof(cfg.rules[0].registry), "t.yaml");
    cfg.rules[0].site[0] = '\0';
    cfg.n_rules = 1;
    cfg.resolution_ms = 1000;
    {
        tg_models *m = tg_models_new(&cfg);
        if (m) {
            for (size_t i = 0; i < r.n; i++) {
                tg_models_obs o = {"s",
                                   r.v[i].model,
                                   r.v[i].version,
                                   tg_models_bucket(m, r.v[i].promoted_at_ns),
                                   1,
                                   r.v[i].promoted_at_ns,
                                   r.v[i].promoted_at_ns};
                tg_models_observe(m, &o, r.v[i].promoted_at_ns);
            }
            tg_models_set_registry(m, "t.yaml", &r);
            json_decref(tg_models_report(m, 0));
            tg_models_free(m);
        }
    }
    tg_models_registry_free(&r);
    return 0;
}
