#include "tg_fwd_config.h"

#include <stdio.h>
#include <string.h>

#include "tg_err.h"
#include "tg_view.h"
#include "tg_yaml.h"

void tg_forward_config_defaults(tg_forward_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->outbox_max_bytes = 256ull << 20;
    cfg->flush_interval_ms = 1000;
    cfg->max_batch_spans = 5000;
    cfg->heartbeat_interval_ms = 5000;
    cfg->retry_initial_ms = 250;
    cfg->retry_max_ms = 30000;
    cfg->request_timeout_ms = 30000;
    cfg->connect_timeout_ms = 5000;
    cfg->zstd_level = 3;
    cfg->send_spans = cfg->send_logs = cfg->send_metrics = 1;
    cfg->metrics_preset = 1;
    /* A metered default with OpenCost's default list prices (USD per
     * core-hour and GPU-hour, configs/default.json) so that cost records
     * are never silently zero; every site should set its own. */
    cfg->cost.kind = TG_COST_METERED;
    snprintf(cfg->cost.currency, sizeof(cfg->cost.currency), "USD");
    snprintf(cfg->cost.provider, sizeof(cfg->cost.provider), "unspecified");
    snprintf(cfg->cost.service_category, sizeof(cfg->cost.service_category),
             "AI and Machine Learning");
    cfg->cost.cpu_hour = 0.031611;
    cfg->cost.gpu_hour = 0.95;
    cfg->cost.gb_ingested = 0.0;
    cfg->cost.gb_stored = 0.04;
    cfg->cost.gb_forwarded = 0.09;
    cfg->cost.lifetime_years = 4;
    cfg->cost.gpu_share = 0.8;
}

#define CHECK(expr)                                                                      \
    do {                                                                                 \
        int rc_ = (expr);                                                                \
        if (rc_)                                                                         \
            return rc_;                                                                  \
    } while (0)

typedef struct loader {
    const char *file;
    char *err;
    size_t errlen;
} loader;

static int load_cost(loader *L, const tg_ynode *n, tg_cost_model *m)
{
    static const char *const keys[] = {
        "model",   "currency",  "provider", "region", "service_category",
        "metered", "amortised", NULL};
    static const char *const mkeys[] = {
        "cpu_hour",     "gpu_hour",        "gb_ingested",      "gb_stored",
        "gb_forwarded", "input_tokens_1k", "output_tokens_1k", NULL};
    static const char *const akeys[] = {"capex",
                                        "lifetime_years",
                                        "power_kw",
                                        "power_price_kwh",
                                        "operations_per_year",
                                        "gpus",
                                        "cpus",
                                        "gpu_share",
                                        "gb_ingested",
                                        "gb_stored",
                                        "gb_forwarded",
                                        NULL};
    const tg_ynode *v;

    CHECK(tg_yaml_check_keys(L->file, n, keys, L->err, L->errlen));
    if ((v = tg_yaml_get(n, "model"))) {
        if (v->kind == TG_YNODE_SCALAR && strcmp(v->str, "metered") == 0)
            m->kind = TG_COST_METERED;
        else if (v->kind == TG_YNODE_SCALAR &&
                 (strcmp(v->str, "amortised") == 0 || strcmp(v->str, "amortized") == 0))
            m->kind = TG_COST_AMORTISED;
        else
            return tg_yaml_error(L->err, L->errlen, L->file, v,
                                 "cost.model must be metered or amortised");
    }
    if ((v = tg_yaml_get(n, "currency"))) {
        CHECK(
            tg_yaml_str(L->file, v, m->currency, sizeof(m->currency), L->err, L->errlen));
        if (strlen(m->currency) != 3)
            return tg_yaml_error(L->err, L->errlen, L->file, v,
                                 "currency must be an ISO 4217 code such as EUR");
    }
    if ((v = tg_yaml_get(n, "provider")))
        CHECK(
            tg_yaml_str(L->file, v, m->provider, sizeof(m->provider), L->err, L->errlen));
    if ((v = tg_yaml_get(n, "region")))
        CHECK(tg_yaml_str(L->file, v, m->region, sizeof(m->region), L->err, L->errlen));
    if ((v = tg_yaml_get(n, "service_category")))
        CHECK(tg_yaml_str(L->file, v, m->service_category, sizeof(m->service_category),
                          L->err, L->errlen));
    if ((v = tg_yaml_get(n, "metered"))) {
        double *dst[] = {&m->cpu_hour,        &m->gpu_hour,     &m->gb_ingested,
                         &m->gb_stored,       &m->gb_forwarded, &m->input_tokens_1k,
                         &m->output_tokens_1k};
        CHECK(tg_yaml_check_keys(L->file, v, mkeys, L->err, L->errlen));
        for (size_t i = 0; mkeys[i]; i++) {
            const tg_ynode *x = tg_yaml_get(v, mkeys[i]);
            if (x) {
                CHECK(tg_yaml_double(L->file, x, dst[i], L->err, L->errlen));
                if (*dst[i] < 0)
                    return tg_yaml_error(L->err, L->errlen, L->file, x,
                                         "prices cannot be negative");
            }
        }
    }
    if ((v = tg_yaml_get(n, "amortised"))) {
        double *dst[] = {&m->capex,
                         &m->lifetime_years,
                         &m->power_kw,
                         &m->power_price_kwh,
                         &m->operations_per_year,
                         &m->gpus,
                         &m->cpus,
                         &m->gpu_share,
                         &m->gb_ingested,
                         &m->gb_stored,
                         &m->gb_forwarded};
        CHECK(tg_yaml_check_keys(L->file, v, akeys, L->err, L->errlen));
        for (size_t i = 0; akeys[i]; i++) {
            const tg_ynode *x = tg_yaml_get(v, akeys[i]);
            if (x) {
                CHECK(tg_yaml_double(L->file, x, dst[i], L->err, L->errlen));
                if (*dst[i] < 0)
                    return tg_yaml_error(L->err, L->errlen, L->file, x,
                                         "values cannot be negative");
            }
        }
        if (m->gpu_share > 1) {
            return tg_yaml_error(L->err, L->errlen, L->file, tg_yaml_get(v, "gpu_share"),
                                 "gpu_share is a fraction between 0 and 1");
        }
        if (tg_yaml_get(v, "lifetime_years") && m->lifetime_years <= 0)
            return tg_yaml_error(L->err, L->errlen, L->file,
                                 tg_yaml_get(v, "lifetime_years"),
                                 "lifetime_years must be positive");
    }
    return 0;
}

static int load_metrics(loader *L, const tg_ynode *n, tg_forward_config *cfg)
{
    static const char *const keys[] = {"preset", "rename", "labels", NULL};
    static const char *const rkeys[] = {"from", "to", "unit", "scale", NULL};
    const tg_ynode *v;

    CHECK(tg_yaml_check_keys(L->file, n, keys, L->err, L->errlen));
    if ((v = tg_yaml_get(n, "preset"))) {
        if (v->kind == TG_YNODE_SCALAR && strcmp(v->str, "prometheus") == 0)
            cfg->metrics_preset = 1;
        else if (v->kind == TG_YNODE_SCALAR && strcmp(v->str, "none") == 0)
            cfg->metrics_preset = 0;
        else
            return tg_yaml_error(L->err, L->errlen, L->file, v,
                                 "metrics.preset must be prometheus or none");
    }
    if ((v = tg_yaml_get(n, "rename"))) {
        if (v->kind != TG_YNODE_SEQ)
            return tg_yaml_error(L->err, L->errlen, L->file, v,
                                 "metrics.rename is a list of {from, to, unit, scale}");
        for (size_t i = 0; i < v->n; i++) {
            const tg_ynode *r = v->items[i], *x;
            tg_metric_rename *mr;
            size_t fl;
            if (cfg->n_renames == TG_FWD_MAX_RENAMES)
                return tg_yaml_error(L->err, L->errlen, L->file, r,
                                     "at most %d rename rules", TG_FWD_MAX_RENAMES);
            CHECK(tg_yaml_check_keys(L->file, r, rkeys, L->err, L->errlen));
            mr = &cfg->renames[cfg->n_renames];
            memset(mr, 0, sizeof(*mr));
            mr->scale = 1;
            if (!(x = tg_yaml_get(r, "from")) || !tg_yaml_get(r, "to"))
                return tg_yaml_error(L->err, L->errlen, L->file, r,
                                     "a rename rule needs from and to");
            CHECK(tg_yaml_str(L->file, x, mr->from, sizeof(mr->from), L->err, L->errlen));
            CHECK(tg_yaml_str(L->file, tg_yaml_get(r, "to"), mr->to, sizeof(mr->to),
                              L->err, L->errlen));
            fl = strlen(mr->from);
            if (fl > 0 && mr->from[fl - 1] == '*') {
                mr->prefix = 1;
                mr->from[fl - 1] = '\0';
            }
            if ((x = tg_yaml_get(r, "unit")))
                CHECK(tg_yaml_str(L->file, x, mr->unit, sizeof(mr->unit), L->err,
                                  L->errlen));
            if ((x = tg_yaml_get(r, "scale"))) {
                CHECK(tg_yaml_double(L->file, x, &mr->scale, L->err, L->errlen));
                if (mr->scale == 0)
                    return tg_yaml_error(L->err, L->errlen, L->file, x,
                                         "scale cannot be 0");
            }
            cfg->n_renames++;
        }
    }
    if ((v = tg_yaml_get(n, "labels"))) {
        if (v->kind != TG_YNODE_MAP)
            return tg_yaml_error(L->err, L->errlen, L->file, v,
                                 "metrics.labels maps old label names to new ones");
        for (size_t i = 0; i < v->n; i++) {
            tg_label_rename *lr;
            if (cfg->n_labels == TG_FWD_MAX_LABELS)
                return tg_yaml_error(L->err, L->errlen, L->file, v->keys[i],
                                     "at most %d label renames", TG_FWD_MAX_LABELS);
            lr = &cfg->labels[cfg->n_labels];
            CHECK(tg_yaml_str(L->file, v->keys[i], lr->from, sizeof(lr->from), L->err,
                              L->errlen));
            CHECK(tg_yaml_str(L->file, v->items[i], lr->to, sizeof(lr->to), L->err,
                              L->errlen));
            cfg->n_labels++;
        }
    }
    return 0;
}

static int load_section(loader *L, const tg_ynode *n, tg_forward_config *cfg)
{
    static const char *const keys[] = {"outbox",
                                       "heartbeat_interval",
                                       "retry",
                                       "timeout",
                                       "connect_timeout",
                                       "zstd_level",
                                       "send",
                                       "tls",
                                       "jurisdiction",
                                       "view",
                                       "allow_keys",
                                       "metrics",
                                       "cost",
                                       NULL};
    static const char *const okeys[] = {"max_bytes", "flush_interval", "max_batch_spans",
                                        NULL};
    static const char *const rkeys[] = {"initial", "max", NULL};
    static const char *const skeys[] = {"spans", "logs", "metrics", NULL};
    static const char *const tkeys[] = {"ca_file", "cert_file", "key_file", NULL};
    const tg_ynode *v, *x;
    uint64_t u;

    CHECK(tg_yaml_check_keys(L->file, n, keys, L->err, L->errlen));
    if ((v = tg_yaml_get(n, "outbox"))) {
        CHECK(tg_yaml_check_keys(L->file, v, okeys, L->err, L->errlen));
        if ((x = tg_yaml_get(v, "max_bytes"))) {
            CHECK(tg_yaml_size(L->file, x, &cfg->outbox_max_bytes, L->err, L->errlen));
            if (cfg->outbox_max_bytes < 65536)
                return tg_yaml_error(L->err, L->errlen, L->file, x,
                                     "outbox.max_bytes must be at least 64KiB");
        }
        if ((x = tg_yaml_get(v, "flush_interval"))) {
            CHECK(tg_yaml_duration_ms(L->file, x, &cfg->flush_interval_ms, L->err,
                                      L->errlen));
            if (cfg->flush_interval_ms < 10)
                return tg_yaml_error(L->err, L->errlen, L->file, x,
                                     "flush_interval must be at least 10ms");
        }
        if ((x = tg_yaml_get(v, "max_batch_spans"))) {
            CHECK(tg_yaml_u64(L->file, x, &cfg->max_batch_spans, L->err, L->errlen));
            if (cfg->max_batch_spans == 0 || cfg->max_batch_spans > 1000000)
                return tg_yaml_error(L->err, L->errlen, L->file, x,
                                     "max_batch_spans must be between 1 and 1000000");
        }
    }
    if ((v = tg_yaml_get(n, "heartbeat_interval"))) {
        CHECK(tg_yaml_duration_ms(L->file, v, &cfg->heartbeat_interval_ms, L->err,
                                  L->errlen));
        if (cfg->heartbeat_interval_ms < 100)
            return tg_yaml_error(L->err, L->errlen, L->file, v,
                                 "heartbeat_interval must be at least 100ms");
    }
    if ((v = tg_yaml_get(n, "retry"))) {
        CHECK(tg_yaml_check_keys(L->file, v, rkeys, L->err, L->errlen));
        if ((x = tg_yaml_get(v, "initial")))
            CHECK(tg_yaml_duration_ms(L->file, x, &cfg->retry_initial_ms, L->err,
                                      L->errlen));
        if ((x = tg_yaml_get(v, "max")))
            CHECK(tg_yaml_duration_ms(L->file, x, &cfg->retry_max_ms, L->err, L->errlen));
        if (cfg->retry_initial_ms == 0 || cfg->retry_max_ms < cfg->retry_initial_ms)
            return tg_yaml_error(
                L->err, L->errlen, L->file, v,
                "retry.initial must be > 0 and retry.max >= retry.initial");
    }
    if ((v = tg_yaml_get(n, "timeout")))
        CHECK(
            tg_yaml_duration_ms(L->file, v, &cfg->request_timeout_ms, L->err, L->errlen));
    if ((v = tg_yaml_get(n, "connect_timeout")))
        CHECK(
            tg_yaml_duration_ms(L->file, v, &cfg->connect_timeout_ms, L->err, L->errlen));
    if ((v = tg_yaml_get(n, "zstd_level"))) {
        CHECK(tg_yaml_u64(L->file, v, &u, L->err, L->errlen));
        if (u < 1 || u > 19)
            return tg_yaml_error(L->err, L->errlen, L->file, v,
                                 "zstd_level must be between 1 and 19");
        cfg->zstd_level = (int)u;
    }
    if ((v = tg_yaml_get(n, "send"))) {
        CHECK(tg_yaml_check_keys(L->file, v, skeys, L->err, L->errlen));
        if ((x = tg_yaml_get(v, "spans")))
            CHECK(tg_yaml_bool(L->file, x, &cfg->send_spans, L->err, L->errlen));
        if ((x = tg_yaml_get(v, "logs")))
            CHECK(tg_yaml_bool(L->file, x, &cfg->send_logs, L->err, L->errlen));
        if ((x = tg_yaml_get(v, "metrics")))
            CHECK(tg_yaml_bool(L->file, x, &cfg->send_metrics, L->err, L->errlen));
    }
    if ((v = tg_yaml_get(n, "tls"))) {
        CHECK(tg_yaml_check_keys(L->file, v, tkeys, L->err, L->errlen));
        if ((x = tg_yaml_get(v, "ca_file")))
            CHECK(tg_yaml_str(L->file, x, cfg->tls_ca_file, sizeof(cfg->tls_ca_file),
                              L->err, L->errlen));
        if ((x = tg_yaml_get(v, "cert_file")))
            CHECK(tg_yaml_str(L->file, x, cfg->tls_cert_file, sizeof(cfg->tls_cert_file),
                              L->err, L->errlen));
        if ((x = tg_yaml_get(v, "key_file")))
            CHECK(tg_yaml_str(L->file, x, cfg->tls_key_file, sizeof(cfg->tls_key_file),
                              L->err, L->errlen));
        if (!cfg->tls_cert_file[0] != !cfg->tls_key_file[0])
            return tg_yaml_error(L->err, L->errlen, L->file, v,
                                 "tls.cert_file and tls.key_file go together");
    }
    if ((v = tg_yaml_get(n, "view"))) {
        char view[16];
        const tg_view_desc *vd;
        CHECK(tg_yaml_str(L->file, v, view, sizeof(view), L->err, L->errlen));
        if (!(vd = tg_view_find(view)))
            return tg_yaml_error(L->err, L->errlen, L->file, v,
                                 "view is \"rules\" or \"builtin\"");
        cfg->view_builtin = vd == &tg_view_builtin;
    }
    if ((v = tg_yaml_get(n, "jurisdiction")))
        CHECK(tg_yaml_str(L->file, v, cfg->jurisdiction, sizeof(cfg->jurisdiction),
                          L->err, L->errlen));
    if ((v = tg_yaml_get(n, "allow_keys"))) {
        if (v->kind != TG_YNODE_SEQ)
            return tg_yaml_error(L->err, L->errlen, L->file, v,
                                 "allow_keys is a list of attribute keys");
        for (size_t i = 0; i < v->n; i++) {
            if (cfg->n_allow_keys == TG_FWD_MAX_ALLOW)
                return tg_yaml_error(L->err, L->errlen, L->file, v->items[i],
                                     "at most %d allow_keys", TG_FWD_MAX_ALLOW);
            CHECK(tg_yaml_str(L->file, v->items[i], cfg->allow_keys[cfg->n_allow_keys],
                              sizeof(cfg->allow_keys[0]), L->err, L->errlen));
            cfg->n_allow_keys++;
        }
    }
    if ((v = tg_yaml_get(n, "metrics")))
        CHECK(load_metrics(L, v, cfg));
    if ((v = tg_yaml_get(n, "cost")))
        CHECK(load_cost(L, v, &cfg->cost));
    return 0;
}

int tg_forward_config_load_buffer(const char *name, const char *buf, size_t len,
                                  const char *section, tg_forward_config *cfg, char *err,
                                  size_t errlen)
{
    tg_ynode *root = tg_yaml_load_buffer(name, buf, len, err, errlen);
    const tg_ynode *n;
    tg_forward_config tmp;
    loader L = {name, err, errlen};
    int rc;

    if (!root)
        return TG_ECONFIG;
    n = root;
    if (section) {
        if (root->kind != TG_YNODE_MAP) {
            rc = tg_yaml_error(err, errlen, name, root, "expected a mapping");
            tg_yaml_free(root);
            return rc;
        }
        n = tg_yaml_get(root, section);
        if (!n) {
            tg_yaml_free(root);
            return 0;
        }
    }
    /* cfg is left untouched on error. */
    tmp = *cfg;
    rc = load_section(&L, n, &tmp);
    if (rc == 0)
        *cfg = tmp;
    tg_yaml_free(root);
    return rc;
}

int tg_forward_config_load(const char *path, const char *section, tg_forward_config *cfg,
                           char *err, size_t errlen)
{
    tg_ynode *root = tg_yaml_load_file(path, err, errlen);
    const tg_ynode *n;
    tg_forward_config tmp;
    loader L = {path, err, errlen};
    int rc;

    if (!root)
        return TG_ECONFIG;
    n = section ? tg_yaml_get(root, section) : root;
    if (!n) {
        tg_yaml_free(root);
        return 0;
    }
    tmp = *cfg;
    rc = load_section(&L, n, &tmp);
    if (rc == 0)
        *cfg = tmp;
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
    }
    return 0;
}
