/* Fuzzes the collector's configuration loader (YAML document, key table,
 * value parsers) and the size, duration and address parsers on raw text.
 * Any input must give 0 or a negative code with a "t.yaml:L:C: " message,
 * never a crash, a leak or a partially updated configuration. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_cfgtab.h"
#include "tg_config.h"
#include "config_internal.h"
#include "tg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_collector_config cfg, before;
    char err[512];
    char *text;
    uint64_t v;
    int rc;

    tg_config_defaults(&cfg);
    before = cfg;
    rc = tg_config_load_buffer("t.yaml", (const char *)data, size, &cfg, NULL, err,
                               sizeof(err));
    if (rc != 0) {
        if (rc != TG_ECONFIG && rc != TG_ENOMEM)
            abort();
        if (rc == TG_ECONFIG && strncmp(err, "t.yaml:", 7) != 0)
            abort();
        if (memcmp(&cfg, &before, sizeof(cfg)) != 0)
            abort();
    } else if (memchr(cfg.site, '\0', sizeof(cfg.site)) == NULL ||
               cfg.n_rules_files > TG_CONFIG_MAX_RULES) {
        abort();
    }

    /* The same bytes as one flag value. */
    if (size > 256)
        return 0;
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    (void)tg_parse_size(text, &v);
    (void)tg_parse_duration_ms(text, &v);
    (void)tg_cfgtab_check_address(text, err, sizeof(err));
    free(text);
    return 0;
}
