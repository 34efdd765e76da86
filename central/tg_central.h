/* The central view daemon (`tollgate central`) and its export
 * (`tollgate central export`). See docs/central.md. */
#ifndef TG_CENTRAL_H
#define TG_CENTRAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cstore.h"
#include "models.h"
#include "sites.h"
#include "tg_strbuf.h"

typedef struct tg_central_config {
    char listen[128];      /* listen, 127.0.0.1:9480 */
    char data_dir[1024];   /* data_dir, ./data (the store is <data_dir>/central) */
    char sites_file[1024]; /* sites */
    char users_file[1024]; /* users */
    uint64_t query_site_timeout_ms; /* query.site_timeout, 5s */
    uint64_t query_deadline_ms;     /* query.deadline, 15s */
    uint64_t query_max_skew_ms;     /* query.max_skew, 60s */
    char log_level[16];             /* log.level */
    char tls_cert_file[1024];       /* tls.cert_file */
    char tls_key_file[1024];        /* tls.key_file */
    char tls_client_ca_file[1024];  /* tls.client_ca_file */
    int tls_require_client_cert;    /* tls.require_client_cert */
    uint64_t max_age_sec;           /* retention.max_age, 30d */
    uint64_t max_bytes;             /* retention.max_bytes, 10GiB */
    uint64_t max_body_bytes;        /* limits.max_body_bytes, 64MiB */
    uint64_t max_connections;       /* limits.max_connections, 256 */
    uint64_t cert_warn_sec;         /* status.cert_warn, 14d */
    uint64_t skew_warn_ms;          /* status.skew_warn, 1s */
    uint64_t lag_warn_sec;          /* status.lag_warn, 60s */
    int no_sync;                    /* store.sync: false (tests and benchmarks) */
    uint64_t ui_session_ttl_ms;     /* ui.session_ttl, 8h */
    tg_models_config models;        /* models: (models.h, docs/models.md) */
    char config_file[1024]; /* --config, "": none (the audit report reads its audit:) */
} tg_central_config;

void tg_central_config_defaults(tg_central_config *c);
/* The table of keys as Markdown (docs/central.md holds it verbatim;
 * `tollgate central --print-config-reference` prints it). */
void tg_central_config_write_reference(FILE *f);
int tg_central_config_load(const char *path, tg_central_config *c, char *err,
                           size_t errlen);
/* Defaults, --config, then flags (--data --listen --sites). Returns 0, 1
 * after --help or --print-config-reference, or TG_ECONFIG / TG_EINVAL
 * with err. */
int tg_central_config_from_args(int argc, char **argv, tg_central_config *c, char *err,
                                size_t errlen);

int tg_central_main(int argc, char **argv);
int tg_central_export_main(int argc, char **argv);

/* ---- the estate (estate.c) ------------------------------------------------ */

typedef struct tg_estate_ctx {
    const tg_central_config *cfg;
    const tg_sites *sites; /* may be NULL */
    unsigned protocol_min, protocol_max;
    int64_t server_cert_not_after;
    uint64_t now_ns;
    tg_models *models; /* may be NULL: adds the model versions (models.h) */
} tg_estate_ctx;

/* The estate as JSON text (malloc'd): the centre, then every site the
 * registry names or the store knows, with figures and warnings. */
char *tg_estate_json(tg_cstore *cs, const tg_estate_ctx *e);

/* Prometheus text for the same figures (malloc'd). */
char *tg_estate_metrics(tg_cstore *cs, const tg_estate_ctx *e, const char *extra);

/* Appends the estate's RED (requests, errors, latency histogram per site x
 * service x operation x kind) to b in Prometheus exposition
 * (central/red_metrics.c). 0, TG_ENOMEM or a store error. */
int tg_central_red_metrics(tg_cstore *cs, tg_strbuf *b);

/* Writes every record the centre holds as JSON lines. Returns 0 or TG_E*. */
int tg_central_export(tg_cstore *cs, FILE *out);

#endif
