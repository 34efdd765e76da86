#include "tg_fwd_config.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_cfgtab.h"
#include "tg_err.h"
#include "tg_view.h"
#include "tg_yaml.h"

#define F(m) TG_CFG_FIELD(tg_forward_config, m)
#define PRICE(m, d, h)                                                                   \
    {                                                                                    \
        .path = "cost.metered." #m, .type = TG_CFG_DOUBLE, .def = d, F(cost.m),          \
        .dmin = 0, .dmax = INFINITY, .help = h                                           \
    }
#define AMORT(m, d, h)                                                                   \
    {                                                                                    \
        .path = "cost.amortised." #m, .type = TG_CFG_DOUBLE, .def = d, F(cost.m),        \
        .dmin = 0, .dmax = INFINITY, .help = h                                           \
    }

static int check_currency(const char *v, char *why, size_t whylen);
static int check_positive(const char *v, char *why, size_t whylen);
static int load_renames(void *base, const tg_ynode *v, const char *file, char *err,
                        size_t errlen);
static int load_labels(void *base, const tg_ynode *v, const char *file, char *err,
                       size_t errlen);
static int load_view(void *base, const tg_ynode *v, const char *file, char *err,
                     size_t errlen);

static const char *const preset_names[] = {"prometheus", "none", NULL};
static const int preset_values[] = {1, 0};
static const char *const cost_models[] = {"metered", "amortised", "amortized", NULL};
static const int cost_model_values[] = {TG_COST_METERED, TG_COST_AMORTISED,
                                        TG_COST_AMORTISED};

/* The `forward:` section, paths relative to it. The metered prices default
 * to OpenCost's list prices (USD per core-hour and GPU-hour,
 * configs/default.json) so that cost records are never silently zero;
 * every site should set its own. The telemetry prices appear under both
 * cost models and set the same members, so they share their defaults. */
static const struct tg_cfg_key fwd_keys[] = {
    {.path = "outbox.max_bytes",
     .type = TG_CFG_SIZE,
     .def = "256MiB",
     F(outbox_max_bytes),
     .min = 65536,
     .max = UINT64_MAX,
     .help = "Disk budget for batches waiting to leave (at least 64KiB)."},
    {.path = "outbox.flush_interval",
     .type = TG_CFG_DURATION,
     .def = "1s",
     F(flush_interval_ms),
     .unit_ms = 1,
     .min = 10,
     .max = UINT64_MAX,
     .help = "A batch is made at least this often when there is data (at least 10ms)."},
    {.path = "outbox.max_batch_spans",
     .type = TG_CFG_UINT,
     .def = "5000",
     F(max_batch_spans),
     .min = 1,
     .max = 1000000,
     .help = "Or as soon as this many span summaries are waiting."},
    {.path = "heartbeat_interval",
     .type = TG_CFG_DURATION,
     .def = "5s",
     F(heartbeat_interval_ms),
     .unit_ms = 1,
     .min = 100,
     .max = UINT64_MAX,
     .help = "An empty exchange when idle: contact, health and a clock sample."},
    {.path = "audit.checkpoint_interval",
     .type = TG_CFG_DURATION,
     .def = "60s",
     F(audit_checkpoint_interval_ms),
     .unit_ms = 1,
     .min = 1000,
     .max = UINT64_MAX,
     .help = "The log's checkpoint goes to the centre's witness after every batch and at "
             "least this often (at least 1s)."},
    {.path = "retry.initial",
     .type = TG_CFG_DURATION,
     .def = "250ms",
     F(retry_initial_ms),
     .unit_ms = 1,
     .min = 1,
     .max = UINT64_MAX,
     .help = "First backoff after a failed upload; it doubles, with jitter."},
    {.path = "retry.max",
     .type = TG_CFG_DURATION,
     .def = "30s",
     F(retry_max_ms),
     .unit_ms = 1,
     .min = 1,
     .max = UINT64_MAX,
     .help = "Longest backoff (at least retry.initial)."},
    {.path = "timeout",
     .type = TG_CFG_DURATION,
     .def = "30s",
     F(request_timeout_ms),
     .unit_ms = 1,
     .min = 0,
     .max = UINT64_MAX,
     .help = "Longest one upload may take."},
    {.path = "connect_timeout",
     .type = TG_CFG_DURATION,
     .def = "5s",
     F(connect_timeout_ms),
     .unit_ms = 1,
     .min = 0,
     .max = UINT64_MAX,
     .help = "Longest connecting to the centre may take."},
    {.path = "zstd_level",
     .type = TG_CFG_UINT,
     .def = "3",
     F(zstd_level),
     .min = 1,
     .max = 19,
     .help = "Batch compression level."},
    {.path = "send.spans",
     .type = TG_CFG_BOOL,
     .def = "true",
     F(send_spans),
     .help = "Forward span summaries (RED and cost records always leave)."},
    {.path = "send.logs",
     .type = TG_CFG_BOOL,
     .def = "true",
     F(send_logs),
     .help = "Forward log template counts."},
    {.path = "send.metrics",
     .type = TG_CFG_BOOL,
     .def = "true",
     F(send_metrics),
     .help = "Forward metric points."},
    {.path = "tls.ca_file",
     .type = TG_CFG_STRING,
     .def = "",
     F(tls_ca_file),
     .help = "CA bundle that signed the centre's certificate."},
    {.path = "tls.cert_file",
     .type = TG_CFG_STRING,
     .def = "",
     F(tls_cert_file),
     .help = "Client certificate for mutual TLS (with tls.key_file)."},
    {.path = "tls.key_file",
     .type = TG_CFG_STRING,
     .def = "",
     F(tls_key_file),
     .help = "Private key of tls.cert_file."},
    {.path = "jurisdiction",
     .type = TG_CFG_STRING,
     .def = "",
     F(jurisdiction),
     .help = "Shown in the estate (e.g. `DE`)."},
    {.path = "view",
     .type = TG_CFG_CUSTOM,
     .def = "rules",
     .load = load_view,
     .type_text = "`rules` or `builtin`",
     .help = "`rules`: the residency policy's `central` destination (the collector's "
             "`--rules`, or `rules/default.yaml`); `builtin`: the allow-list view."},
    {.path = "allow_keys",
     .type = TG_CFG_STRING_LIST,
     .def = "",
     F(allow_keys),
     .count_offset = offsetof(tg_forward_config, n_allow_keys),
     .item_size = sizeof(((tg_forward_config *)0)->allow_keys[0]),
     .help = "Attribute keys the built-in view lets through besides its own list."},
    {.path = "span_resource_keys",
     .type = TG_CFG_STRING_LIST,
     .def = "",
     F(span_resource_keys),
     .count_offset = offsetof(tg_forward_config, n_span_resource_keys),
     .item_size = sizeof(((tg_forward_config *)0)->span_resource_keys[0]),
     .help = "Resource attributes copied onto each span summary when the view let them "
             "through, e.g. `ml.model.version` set on the resource (docs/models.md)."},
    {.path = "metrics.preset",
     .type = TG_CFG_ENUM,
     .def = "prometheus",
     F(metrics_preset),
     .choices = preset_names,
     .values = preset_values,
     .invalid = "metrics.preset must be prometheus or none",
     .help = "`prometheus` maps well-known Prometheus names to OpenTelemetry semantic "
             "conventions; `none` keeps names as they are."},
    {.path = "metrics.rename",
     .type = TG_CFG_CUSTOM,
     .load = load_renames,
     .type_text = "list of `{from, to, unit, scale}`",
     .help = "Metric renames; `from` ending in `*` is a prefix; values are multiplied "
             "by `scale` and given `unit`."},
    {.path = "metrics.labels",
     .type = TG_CFG_CUSTOM,
     .def = "{}",
     .load = load_labels,
     .type_text = "map of label names",
     .help = "Label renames, old name to new."},
    {.path = "cost.model",
     .type = TG_CFG_ENUM,
     .def = "metered",
     F(cost.kind),
     .choices = cost_models,
     .values = cost_model_values,
     .invalid = "cost.model must be metered or amortised",
     .help = "`metered` (a price list) or `amortised` (on-prem)."},
    {.path = "cost.currency",
     .type = TG_CFG_STRING,
     .def = "USD",
     F(cost.currency),
     .check = check_currency,
     .help = "FOCUS BillingCurrency, an ISO 4217 code."},
    {.path = "cost.provider",
     .type = TG_CFG_STRING,
     .def = "unspecified",
     F(cost.provider),
     .help = "FOCUS ProviderName."},
    {.path = "cost.region",
     .type = TG_CFG_STRING,
     .def = "",
     F(cost.region),
     .help = "FOCUS RegionId."},
    {.path = "cost.service_category",
     .type = TG_CFG_STRING,
     .def = "AI and Machine Learning",
     F(cost.service_category),
     .help = "FOCUS ServiceCategory."},
    {.path = "cost.model_attribute",
     .type = TG_CFG_STRING,
     .def = "gen_ai.request.model",
     F(cost.model_attribute),
     .help =
         "Span or resource attribute naming the model a cost record is for (x_Model)."},
    {.path = "cost.team_attribute",
     .type = TG_CFG_STRING,
     .def = "team",
     F(cost.team_attribute),
     .help = "Resource or span attribute naming the team (x_Team), e.g. "
             "`k8s.namespace.name`."},
    {.path = "cost.run_attribute",
     .type = TG_CFG_STRING,
     .def = "ml.run.id",
     F(cost.run_attribute),
     .help = "Span or resource attribute naming the training run (x_Run)."},
    PRICE(cpu_hour, "0.031611", "Price of a CPU core-hour."),
    PRICE(gpu_hour, "0.95", "Price of a GPU-hour."),
    PRICE(gb_ingested, "0", "Price of a GB of telemetry received."),
    PRICE(gb_stored, "0.04", "Price of a GB of telemetry stored."),
    PRICE(gb_forwarded, "0.09", "Price of a GB forwarded to the centre."),
    PRICE(input_tokens_1k, "0", "Price of 1,000 model input tokens."),
    PRICE(output_tokens_1k, "0", "Price of 1,000 model output tokens."),
    AMORT(capex, "0", "What the cluster cost to buy."),
    {.path = "cost.amortised.lifetime_years",
     .type = TG_CFG_DOUBLE,
     .def = "4",
     F(cost.lifetime_years),
     .dmin = 0,
     .dmax = INFINITY,
     .check = check_positive,
     .help = "Years the capex is spread over (more than 0)."},
    AMORT(power_kw, "0", "The cluster's average power draw in kW."),
    AMORT(power_price_kwh, "0", "Price of a kWh."),
    AMORT(operations_per_year, "0", "Running costs a year (staff, space, support)."),
    AMORT(gpus, "0", "GPUs in the cluster."),
    AMORT(cpus, "0", "CPU cores in the cluster."),
    {.path = "cost.amortised.gpu_share",
     .type = TG_CFG_DOUBLE,
     .def = "0.8",
     F(cost.gpu_share),
     .dmin = 0,
     .dmax = 1,
     .help = "Fraction of the hourly cost borne by the GPUs."},
    AMORT(gb_ingested, "0", "Internal price of a GB of telemetry received."),
    AMORT(gb_stored, "0.04", "Internal price of a GB of telemetry stored."),
    AMORT(gb_forwarded, "0.09", "Internal price of a GB forwarded."),
};

static const tg_cfgtab fwd_table = {fwd_keys, sizeof(fwd_keys) / sizeof(fwd_keys[0])};

void tg_forward_config_defaults(tg_forward_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    tg_cfgtab_defaults(&fwd_table, cfg);
}

void tg_forward_config_write_reference(FILE *f)
{
    tg_cfgtab_write_reference(&fwd_table, f);
}

size_t tg_forward_config_key_count(void)
{
    return fwd_table.n;
}

static int check_currency(const char *v, char *why, size_t whylen)
{
    if (strlen(v) == 3)
        return 0;
    snprintf(why, whylen, "is not an ISO 4217 code such as EUR");
    return TG_EINVAL;
}

static int check_positive(const char *v, char *why, size_t whylen)
{
    if (strtod(v, NULL) > 0)
        return 0;
    snprintf(why, whylen, "must be more than 0");
    return TG_EINVAL;
}

#define CHECK(expr)                                                                      \
    do {                                                                                 \
        int rc_ = (expr);                                                                \
        if (rc_)                                                                         \
            return rc_;                                                                  \
    } while (0)

static int load_renames(void *base, const tg_ynode *v, const char *file, char *err,
                        size_t errlen)
{
    static const char *const rkeys[] = {"from", "to", "unit", "scale", NULL};
    tg_forward_config *cfg = base;

    cfg->n_renames = 0;
    if (tg_yaml_is_null(v))
        return 0;
    if (v->kind != TG_YNODE_SEQ)
        return tg_yaml_error(err, errlen, file, v,
                             "metrics.rename is a list of {from, to, unit, scale}");
    for (size_t i = 0; i < v->n; i++) {
        const tg_ynode *r = v->items[i], *x;
        tg_metric_rename *mr;
        size_t fl;
        if (cfg->n_renames == TG_FWD_MAX_RENAMES)
            return tg_yaml_error(err, errlen, file, r, "at most %d rename rules",
                                 TG_FWD_MAX_RENAMES);
        CHECK(tg_yaml_check_keys(file, r, rkeys, err, errlen));
        mr = &cfg->renames[cfg->n_renames];
        memset(mr, 0, sizeof(*mr));
        mr->scale = 1;
        if (!(x = tg_yaml_get(r, "from")) || !tg_yaml_get(r, "to"))
            return tg_yaml_error(err, errlen, file, r, "a rename rule needs from and to");
        CHECK(tg_yaml_str(file, x, mr->from, sizeof(mr->from), err, errlen));
        CHECK(
            tg_yaml_str(file, tg_yaml_get(r, "to"), mr->to, sizeof(mr->to), err, errlen));
        fl = strlen(mr->from);
        if (fl > 0 && mr->from[fl - 1] == '*') {
            mr->prefix = 1;
            mr->from[fl - 1] = '\0';
        }
        if ((x = tg_yaml_get(r, "unit")))
            CHECK(tg_yaml_str(file, x, mr->unit, sizeof(mr->unit), err, errlen));
        if ((x = tg_yaml_get(r, "scale"))) {
            CHECK(tg_yaml_double(file, x, &mr->scale, err, errlen));
            if (mr->scale == 0)
                return tg_yaml_error(err, errlen, file, x, "scale cannot be 0");
        }
        cfg->n_renames++;
    }
    return 0;
}

static int load_labels(void *base, const tg_ynode *v, const char *file, char *err,
                       size_t errlen)
{
    tg_forward_config *cfg = base;

    cfg->n_labels = 0;
    if (tg_yaml_is_null(v))
        return 0;
    if (v->kind != TG_YNODE_MAP)
        return tg_yaml_error(err, errlen, file, v,
                             "metrics.labels maps old label names to new ones");
    for (size_t i = 0; i < v->n; i++) {
        tg_label_rename *lr;
        if (cfg->n_labels == TG_FWD_MAX_LABELS)
            return tg_yaml_error(err, errlen, file, v->keys[i],
                                 "at most %d label renames", TG_FWD_MAX_LABELS);
        lr = &cfg->labels[cfg->n_labels];
        CHECK(tg_yaml_str(file, v->keys[i], lr->from, sizeof(lr->from), err, errlen));
        CHECK(tg_yaml_str(file, v->items[i], lr->to, sizeof(lr->to), err, errlen));
        cfg->n_labels++;
    }
    return 0;
}

/* The view kinds are one list (exporters/view_default.c, tg_views). */
static int load_view(void *base, const tg_ynode *v, const char *file, char *err,
                     size_t errlen)
{
    tg_forward_config *cfg = base;
    const tg_view_desc *vd;
    char view[16];

    CHECK(tg_yaml_str(file, v, view, sizeof(view), err, errlen));
    if (!(vd = tg_view_find(view)))
        return tg_yaml_error(err, errlen, file, v, "view is \"rules\" or \"builtin\"");
    cfg->view_builtin = vd == &tg_view_builtin;
    return 0;
}

/* What one key cannot check alone, at the section that holds the keys. */
static int check_together(const tg_ynode *n, const tg_forward_config *cfg,
                          const char *file, char *err, size_t errlen)
{
    const tg_ynode *v;

    if ((v = tg_yaml_get(n, "retry")) &&
        (cfg->retry_initial_ms == 0 || cfg->retry_max_ms < cfg->retry_initial_ms))
        return tg_yaml_error(err, errlen, file, v,
                             "retry.initial must be > 0 and retry.max >= retry.initial");
    if ((v = tg_yaml_get(n, "tls")) && !cfg->tls_cert_file[0] != !cfg->tls_key_file[0])
        return tg_yaml_error(err, errlen, file, v,
                             "tls.cert_file and tls.key_file go together");
    return 0;
}

/* Loads the forwarder's keys from `root` (or its `section`) over cfg,
 * which is left untouched on error. */
static int load_tree(const char *name, const tg_ynode *root, const char *section,
                     tg_forward_config *cfg, char *err, size_t errlen)
{
    const tg_ynode *n = root;
    tg_forward_config *tmp;
    int rc;

    if (section) {
        if (root->kind != TG_YNODE_MAP)
            return tg_yaml_error(err, errlen, name, root, "expected a mapping");
        n = tg_yaml_get(root, section);
        if (!n || tg_yaml_is_null(n))
            return 0;
    }
    tmp = malloc(sizeof(*tmp));
    if (!tmp)
        return TG_ENOMEM;
    *tmp = *cfg;
    rc = tg_cfgtab_load(&fwd_table, tmp, n, name, NULL, NULL, err, errlen);
    if (rc == 0)
        rc = check_together(n, tmp, name, err, errlen);
    if (rc == 0)
        *cfg = *tmp;
    free(tmp);
    return rc;
}

int tg_forward_config_load_buffer(const char *name, const char *buf, size_t len,
                                  const char *section, tg_forward_config *cfg, char *err,
                                  size_t errlen)
{
    tg_ynode *root = tg_yaml_load_buffer(name, buf, len, err, errlen);
    int rc;

    if (!root)
        return TG_ECONFIG;
    rc = load_tree(name, root, section, cfg, err, errlen);
    tg_yaml_free(root);
    return rc;
}

int tg_forward_config_load(const char *path, const char *section, tg_forward_config *cfg,
                           char *err, size_t errlen)
{
    tg_ynode *root = tg_yaml_load_file(path, err, errlen);
    int rc;

    if (!root)
        return TG_ECONFIG;
    rc = load_tree(path, root, section, cfg, err, errlen);
    tg_yaml_free(root);
    return rc;
}

double tg_cost_hourly(const tg_cost_model *m)
{
    double h = 0;

    if (m->kind != TG_COST_AMORTISED)
        return 0;
    if (m->lifetime_years > 0)
        h += m->capex / (m->lifetime_years * 8760.0);
    h += m->power_kw * m->power_price_kwh;
    h += m->operations_per_year / 8760.0;
    return h;
}

/* The meters a cost record can carry: FOCUS units, the SKU, and which of
 * the model's prices applies (tg_cost_price works the amount out). */
enum meter_price {
    PRICE_CPU,
    PRICE_GPU,
    PRICE_GB_INGESTED,
    PRICE_GB_STORED,
    PRICE_GB_FORWARDED,
    PRICE_INPUT_TOKENS,
    PRICE_OUTPUT_TOKENS,
    PRICE_NONE, /* counted, not priced at the site */
};

static const struct meter_def {
    const char *meter, *consumed_unit, *pricing_unit, *sku_id;
    double per_pricing_unit;
    enum meter_price price;
} meters[] = {
    {"cpu-seconds", "s", "CPU-hour", "cpu-hour", 3600, PRICE_CPU},
    {"gpu-seconds", "s", "GPU-hour", "gpu-hour", 3600, PRICE_GPU},
    {"telemetry-ingested", "By", "GB", "telemetry-ingest-gb", 1e9, PRICE_GB_INGESTED},
    {"telemetry-stored", "By", "GB", "telemetry-storage-gb", 1e9, PRICE_GB_STORED},
    {"telemetry-forwarded", "By", "GB", "telemetry-egress-gb", 1e9, PRICE_GB_FORWARDED},
    {"gen_ai-input-tokens", "{token}", "1K tokens", "gen_ai-input-1k-tokens", 1000,
     PRICE_INPUT_TOKENS},
    {"gen_ai-output-tokens", "{token}", "1K tokens", "gen_ai-output-1k-tokens", 1000,
     PRICE_OUTPUT_TOKENS},
    {"gen_ai-requests", "{request}", "1K requests", "gen_ai-1k-requests", 1000,
     PRICE_NONE},
};

int tg_cost_price(const tg_cost_model *m, const char *meter, tg_meter_price *out)
{
    const struct meter_def *d = NULL;
    int amortised = m->kind == TG_COST_AMORTISED;
    double hourly = tg_cost_hourly(m);
    double share = m->gpus > 0 ? m->gpu_share : 0;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < sizeof(meters) / sizeof(meters[0]) && !d; i++)
        if (strcmp(meter, meters[i].meter) == 0)
            d = &meters[i];
    if (!d)
        return TG_ENOT_FOUND;
    out->consumed_unit = d->consumed_unit;
    out->pricing_unit = d->pricing_unit;
    out->per_pricing_unit = d->per_pricing_unit;
    out->sku_id = d->sku_id;
    switch (d->price) {
    case PRICE_CPU:
        out->unit_price = !amortised    ? m->cpu_hour
                          : m->cpus > 0 ? hourly * (1 - share) / m->cpus
                                        : 0;
        break;
    case PRICE_GPU:
        out->unit_price = !amortised    ? m->gpu_hour
                          : m->gpus > 0 ? hourly * share / m->gpus
                                        : 0;
        break;
    case PRICE_GB_INGESTED:
        out->unit_price = m->gb_ingested;
        break;
    case PRICE_GB_STORED:
        out->unit_price = m->gb_stored;
        break;
    case PRICE_GB_FORWARDED:
        out->unit_price = m->gb_forwarded;
        break;
    case PRICE_INPUT_TOKENS:
        out->unit_price = amortised ? 0 : m->input_tokens_1k;
        break;
    case PRICE_OUTPUT_TOKENS:
        out->unit_price = amortised ? 0 : m->output_tokens_1k;
        break;
    case PRICE_NONE:
        out->unit_price = 0;
        break;
    }
    return 0;
}
