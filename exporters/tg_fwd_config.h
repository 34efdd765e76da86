/* The forwarder's settings: outbox budget and batching, the link to the
 * central view (retries, heartbeat, TLS), what is sent, the estate's metric
 * naming, and the site's cost model.
 *
 * They are read from the `forward:` section of a YAML file (the site's
 * collector config, or a file of their own). Every key is declared once in
 * a table (common/tg_cfgtab.h) that gives the defaults, the loader and the
 * reference in docs/central.md. Unknown keys are errors with
 * file:line:column. */
#ifndef TG_FWD_CONFIG_H
#define TG_FWD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TG_FWD_MAX_RENAMES 64
#define TG_FWD_MAX_LABELS 32
#define TG_FWD_MAX_ALLOW 64

enum tg_cost_kind { TG_COST_METERED = 0, TG_COST_AMORTISED = 1 };

/* How the site prices what its telemetry reports. Metered: a cloud price
 * list per unit. Amortised (on-prem): the cluster's hourly cost is capex
 * spread over its lifetime plus power and operations, split between GPUs
 * and CPUs by gpu_share, then per GPU-hour and CPU-hour by their counts. */
typedef struct tg_cost_model {
    enum tg_cost_kind kind;
    char currency[8];          /* ISO 4217 */
    char provider[64];         /* FOCUS ProviderName */
    char region[64];           /* FOCUS RegionId */
    char service_category[64]; /* FOCUS ServiceCategory */
    /* the attributes whose values attribute a record (x_Model, x_Team,
     * x_Run); a value leaves only as the view passes it (summarize.c) */
    char model_attribute[128], team_attribute[128], run_attribute[128];
    /* metered prices (and, for amortised sites, the telemetry prices) */
    double cpu_hour, gpu_hour;
    double gb_ingested, gb_stored, gb_forwarded;
    double input_tokens_1k, output_tokens_1k;
    /* amortised */
    double capex, lifetime_years, power_kw, power_price_kwh, operations_per_year;
    double gpus, cpus, gpu_share;
} tg_cost_model;

/* One metric renaming rule: `from` is an exact name or a prefix ending in
 * '*' (then `to` replaces the prefix). Values are multiplied by `scale`
 * and the unit set to `unit` when given (ms -> s, percent -> ratio). */
typedef struct tg_metric_rename {
    char from[128];
    char to[128];
    char unit[32];
    double scale;
    int prefix;
} tg_metric_rename;

typedef struct tg_label_rename {
    char from[96];
    char to[96];
} tg_label_rename;

typedef struct tg_forward_config {
    uint64_t outbox_max_bytes;               /* outbox.max_bytes, 256MiB */
    uint64_t flush_interval_ms;              /* outbox.flush_interval, 1s */
    uint64_t max_batch_spans;                /* outbox.max_batch_spans, 5000 */
    uint64_t heartbeat_interval_ms;          /* heartbeat_interval, 5s */
    uint64_t audit_checkpoint_interval_ms;   /* audit.checkpoint_interval, 60s */
    uint64_t retry_initial_ms;               /* retry.initial, 250ms */
    uint64_t retry_max_ms;                   /* retry.max, 30s */
    uint64_t request_timeout_ms;             /* timeout, 30s */
    uint64_t connect_timeout_ms;             /* connect_timeout, 5s */
    int zstd_level;                          /* zstd_level, 3 */
    int send_spans, send_logs, send_metrics; /* send.{spans,logs,metrics}, true */
    char tls_ca_file[1024];                  /* tls.ca_file */
    char tls_cert_file[1024];                /* tls.cert_file (mutual TLS) */
    char tls_key_file[1024];                 /* tls.key_file */
    char jurisdiction[32];                   /* jurisdiction, e.g. "DE" or "US" */
    int view_builtin; /* view: rules (0, the residency policy's `central`
                         destination) | builtin (1, the allow-list view) */
    char allow_keys[TG_FWD_MAX_ALLOW]
                   [128]; /* allow_keys: extra keys for the built-in view */
    size_t n_allow_keys;
    /* span_resource_keys: resource attributes copied onto every span
     * summary of that resource (after the view), such as a model version
     * set on the resource (docs/models.md) */
    char span_resource_keys[8][128];
    size_t n_span_resource_keys;
    int metrics_preset; /* metrics.preset: prometheus (1) | none (0) */
    tg_metric_rename renames[TG_FWD_MAX_RENAMES]; /* metrics.rename */
    size_t n_renames;
    tg_label_rename labels[TG_FWD_MAX_LABELS]; /* metrics.labels */
    size_t n_labels;
    tg_cost_model cost; /* cost: */
} tg_forward_config;

void tg_forward_config_defaults(tg_forward_config *cfg);

/* The table of keys as Markdown (docs/central.md holds it verbatim; printed
 * by `tollgate collector --print-config-reference`). */
void tg_forward_config_write_reference(FILE *f);
/* How many keys the table declares. */
size_t tg_forward_config_key_count(void);

/* Loads `path` over cfg. With `section` ("forward"), only that top-level
 * key is read (absent: cfg unchanged); without, the whole document is the
 * forwarder's. Returns 0, or TG_ECONFIG / TG_EIO with "path:line:col:
 * message" in err. */
int tg_forward_config_load(const char *path, const char *section, tg_forward_config *cfg,
                           char *err, size_t errlen);
int tg_forward_config_load_buffer(const char *name, const char *buf, size_t len,
                                  const char *section, tg_forward_config *cfg, char *err,
                                  size_t errlen);

/* Price per consumed unit of `meter` under `m`, with the FOCUS units. */
typedef struct tg_meter_price {
    const char *consumed_unit; /* "s", "By", "{token}" */
    const char *pricing_unit;  /* "CPU-hour", "GB", "1K tokens" */
    double per_pricing_unit;   /* consumed units in one pricing unit */
    double unit_price;         /* currency per pricing unit */
    const char *sku_id;
} tg_meter_price;

/* Known meters: "cpu-seconds", "gpu-seconds", "telemetry-ingested",
 * "telemetry-stored", "telemetry-forwarded", "gen_ai-input-tokens",
 * "gen_ai-output-tokens", "gen_ai-requests" (counted, priced 0). Returns TG_ENOT_FOUND
 * for others. */
int tg_cost_price(const tg_cost_model *m, const char *meter, tg_meter_price *out);

/* The amortised hourly cost of the whole cluster (0 for metered). */
double tg_cost_hourly(const tg_cost_model *m);

#endif
