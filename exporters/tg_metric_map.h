/* One naming convention for the estate: metric names and label names are
 * mapped before metrics leave a site, so a Prometheus-style site and an
 * OpenTelemetry-style site land in the centre under the same names.
 *
 * Order: the site's own rename rules (first match wins), then, with
 * metrics.preset: prometheus, the built-in table of well-known Prometheus
 * names to OpenTelemetry semantic conventions. Labels: the site's renames,
 * then the preset's. */
#ifndef TG_METRIC_MAP_H
#define TG_METRIC_MAP_H

#include <stddef.h>

#include "tg_fwd_config.h"

typedef struct tg_metric_mapped {
    const char *name; /* the new name, or the input when unchanged */
    const char *unit; /* the new unit, or NULL to keep */
    double scale;     /* multiply values by this (1 when unchanged) */
} tg_metric_mapped;

/* Maps `name`. A prefix rule writes the new name into buf (cap bytes);
 * other results point at config or static strings. Returns 1 if mapped. */
int tg_metric_map_name(const tg_forward_config *cfg, const char *name, char *buf,
                       size_t cap, tg_metric_mapped *out);

/* The estate's name for label `key` (key itself when unchanged). */
const char *tg_metric_map_label(const tg_forward_config *cfg, const char *key);

#endif
