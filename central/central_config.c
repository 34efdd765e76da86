#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_audit_report.h"
#include "tg_central.h"
#include "tg_cfgtab.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tg_yaml.h"

#define F(m) TG_CFG_FIELD(tg_central_config, m)

static int load_models(void *base, const tg_ynode *v, const char *file, char *err,
                       size_t errlen)
{
    return tg_models_config_load(&((tg_central_config *)base)->models, v, file, err,
                                 errlen);
}

static const struct tg_cfg_key central_keys[] = {
    {.path = "listen",
     .type = TG_CFG_STRING,
     .def = "127.0.0.1:9480",
     F(listen),
     .flag = "listen",
     .metavar = "ADDR",
     .help = "Sites and the API (HOST:PORT)."},
    {.path = "data_dir",
     .type = TG_CFG_STRING,
     .def = "./data",
     F(data_dir),
     .flag = "data",
     .metavar = "DIR",
     .help = "The store is `data_dir/central`."},
    {.path = "sites",
     .type = TG_CFG_STRING,
     .def = "",
     F(sites_file),
     .flag = "sites",
     .metavar = "FILE",
     .help = "The sites registry (below)."},
    {.path = "users",
     .type = TG_CFG_STRING,
     .def = "",
     F(users_file),
     .flag = "users",
     .metavar = "FILE",
     .help = "The users who may query: users: [{name, token_file, role}, ...]."},
    {.path = "query.site_timeout",
     .type = TG_CFG_DURATION,
     .def = "5s",
     F(query_site_timeout_ms),
     .unit_ms = 1,
     .max = UINT64_MAX,
     .help = "How long one site may take to answer a federated query."},
    {.path = "query.deadline",
     .type = TG_CFG_DURATION,
     .def = "15s",
     F(query_deadline_ms),
     .unit_ms = 1,
     .max = UINT64_MAX,
     .help = "How long a federated query may take in all; a site past it is named as "
             "timed out."},
    {.path = "query.max_skew",
     .type = TG_CFG_DURATION,
     .def = "60s",
     F(query_max_skew_ms),
     .unit_ms = 1,
     .max = UINT64_MAX,
     .help =
         "Largest clock-skew shift applied when stitching a cross-site trace (0: none)."},
    {.path = "ui.session_ttl",
     .type = TG_CFG_DURATION,
     .def = "8h",
     F(ui_session_ttl_ms),
     .unit_ms = 1,
     .max = UINT64_MAX,
     .help = "How long a web UI sign-in lasts."},
    {.path = "log.level",
     .type = TG_CFG_ENUM,
     .def = "info",
     F(log_level),
     .choices = tg_log_level_names,
     .invalid = "log.level is debug, info, warn or error",
     .help = "Least severe level of the centre's own logs."},
    {.path = "tls.cert_file",
     .type = TG_CFG_STRING,
     .def = "",
     F(tls_cert_file),
     .help = "Serve HTTPS with this certificate (with tls.key_file)."},
    {.path = "tls.key_file",
     .type = TG_CFG_STRING,
     .def = "",
     F(tls_key_file),
     .help = "Private key of tls.cert_file."},
    {.path = "tls.client_ca_file",
     .type = TG_CFG_STRING,
     .def = "",
     F(tls_client_ca_file),
     .help = "Verify client certificates against it."},
    {.path = "tls.require_client_cert",
     .type = TG_CFG_BOOL,
     .def = "false",
     F(tls_require_client_cert),
     .help = "Refuse clients without one (mutual TLS; needs tls.client_ca_file)."},
    {.path = "retention.max_age",
     .type = TG_CFG_DURATION,
     .def = "30d",
     F(max_age_sec),
     .unit_ms = 1000,
     .truncate = 1,
     .max = UINT64_MAX,
     .help = "Batches by time received; aggregates by their window (whole seconds)."},
    {.path = "retention.max_bytes",
     .type = TG_CFG_SIZE,
     .def = "10GiB",
     F(max_bytes),
     .max = UINT64_MAX,
     .help = "Batches, oldest first across sites."},
    {.path = "limits.max_body_bytes",
     .type = TG_CFG_SIZE,
     .def = "64MiB",
     F(max_body_bytes),
     .max = UINT64_MAX,
     .help = "Largest upload accepted (at least 4KiB)."},
    {.path = "limits.max_connections",
     .type = TG_CFG_UINT,
     .def = "256",
     F(max_connections),
     .max = UINT64_MAX,
     .help = "Concurrent connections (at least 1)."},
    {.path = "status.cert_warn",
     .type = TG_CFG_DURATION,
     .def = "14d",
     F(cert_warn_sec),
     .unit_ms = 1000,
     .truncate = 1,
     .max = UINT64_MAX,
     .help = "Warn when a link certificate expires sooner."},
    {.path = "status.skew_warn",
     .type = TG_CFG_DURATION,
     .def = "1s",
     F(skew_warn_ms),
     .unit_ms = 1,
     .max = UINT64_MAX,
     .help = "Warn when a site's clock is further off."},
    {.path = "status.lag_warn",
     .type = TG_CFG_DURATION,
     .def = "60s",
     F(lag_warn_sec),
     .unit_ms = 1000,
     .truncate = 1,
     .max = UINT64_MAX,
     .help = "Warn when a site's oldest waiting batch is older."},
    {.path = "models",
     .type = TG_CFG_CUSTOM,
     .def = "{}",
     .load = load_models,
     .type_text = "mapping",
     .help = "Model version consistency across sites: attribute keys, SLOs and the "
             "authority per model (docs/models.md)."},
    {.path = "store.sync",
     .type = TG_CFG_BOOL,
     .def = "true",
     F(no_sync),
     .invert = 1,
     .help = "`false` only for tests and benchmarks."},
};

static const tg_cfgtab central_table = {central_keys,
                                        sizeof(central_keys) / sizeof(central_keys[0])};

void tg_central_config_defaults(tg_central_config *c)
{
    memset(c, 0, sizeof(*c));
    tg_cfgtab_defaults(&central_table, c);
    tg_models_config_defaults(&c->models);
}

void tg_central_config_write_reference(FILE *f)
{
    tg_cfgtab_write_reference(&central_table, f);
}

/* What one key cannot check alone, at the section that holds the keys. */
static int check_together(const tg_ynode *root, const tg_central_config *c,
                          const char *path, char *err, size_t errlen)
{
    const tg_ynode *n;

    if ((n = tg_yaml_get(root, "tls"))) {
        if (!c->tls_cert_file[0] != !c->tls_key_file[0])
            return tg_yaml_error(err, errlen, path, n,
                                 "tls.cert_file and tls.key_file go together");
        if ((c->tls_client_ca_file[0] || c->tls_require_client_cert) &&
            !c->tls_cert_file[0])
            return tg_yaml_error(
                err, errlen, path, n,
                "client certificates need tls.cert_file and tls.key_file");
        if (c->tls_require_client_cert && !c->tls_client_ca_file[0])
            return tg_yaml_error(err, errlen, path, n,
                                 "tls.require_client_cert needs tls.client_ca_file");
    }
    if ((n = tg_yaml_get(root, "limits")) &&
        (c->max_connections == 0 || c->max_body_bytes < 4096))
        return tg_yaml_error(err, errlen, path, n,
                             "limits need at least one connection and 4KiB of body");
    return 0;
}

int tg_central_config_load(const char *path, tg_central_config *out, char *err,
                           size_t errlen)
{
    /* audit: is the audit report's (report/config.c), read from the same file */
    static const char *const skip[] = {"audit", NULL};
    tg_ynode *root = tg_yaml_load_file(path, err, errlen);
    tg_central_config c = *out;
    int rc;

    if (!root)
        return TG_ECONFIG;
    rc = tg_cfgtab_load(&central_table, &c, root, path, skip, NULL, err, errlen);
    if (rc == 0)
        rc = check_together(root, &c, path, err, errlen);
    tg_yaml_free(root);
    if (rc == 0)
        *out = c;
    return rc;
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: tollgate central [--config FILE] [--data DIR] [--listen ADDR] "
        "[--sites FILE] [--users FILE]\n"
        "       tollgate central export [--config FILE] [--data DIR]\n\n"
        "Runs the central view: accepts scrubbed summaries, RED metrics, log templates,\n"
        "metrics and cost records from every site over HTTP(S), authenticates each site\n"
        "with its token from the sites registry, and keeps them in LMDB under "
        "DIR/central.\n"
        "`export` writes everything the centre holds as JSON lines on stdout.\n\n"
        "  --config FILE   YAML configuration (docs/central.md lists every key)\n"
        "  --data DIR      data directory (default ./data)\n"
        "  --listen ADDR   HOST:PORT for sites and the API (default 127.0.0.1:9480)\n"
        "  --sites FILE    the sites registry: sites: [{name, token_file, api}, ...]\n"
        "  --users FILE    who may query: users: [{name, token_file, role}, ...]\n"
        "  --print-config-reference\n"
        "                  print every configuration key as a Markdown table\n");
}

int tg_central_config_from_args(int argc, char **argv, tg_central_config *c, char *err,
                                size_t errlen)
{
    const char *config = NULL;
    int rc;

    tg_central_config_defaults(c);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(argv[i], "--print-config-reference") == 0) {
            tg_central_config_write_reference(stdout);
            return 1;
        }
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "--config needs a file");
                return TG_EINVAL;
            }
            config = argv[++i];
        }
    }
    if (config && (rc = tg_central_config_load(config, c, err, errlen)))
        return rc;
    if (config) {
        /* the audit: section is checked at start-up, though only the audit
         * report reads it (central/audit_api.c) */
        tg_report_config *a = malloc(sizeof(*a));
        if (!a)
            return TG_ENOMEM;
        tg_report_config_defaults(a);
        rc = tg_report_config_load(config, a, err, errlen);
        free(a);
        if (rc)
            return rc;
        snprintf(c->config_file, sizeof(c->config_file), "%s", config);
    }
    for (int i = 1; i < argc; i++) {
        char *dst = NULL;
        size_t cap = 0;
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        } else if (strcmp(argv[i], "--data") == 0) {
            dst = c->data_dir;
            cap = sizeof(c->data_dir);
        } else if (strcmp(argv[i], "--listen") == 0) {
            dst = c->listen;
            cap = sizeof(c->listen);
        } else if (strcmp(argv[i], "--sites") == 0) {
            dst = c->sites_file;
            cap = sizeof(c->sites_file);
        } else if (strcmp(argv[i], "--users") == 0) {
            dst = c->users_file;
            cap = sizeof(c->users_file);
        } else {
            snprintf(err, errlen, "unknown argument \"%s\" (see --help)", argv[i]);
            return TG_EINVAL;
        }
        if (i + 1 >= argc || !argv[i + 1][0]) {
            snprintf(err, errlen, "%s needs a value", argv[i]);
            return TG_EINVAL;
        }
        if (strlen(argv[i + 1]) >= cap) {
            snprintf(err, errlen, "%s value too long", argv[i]);
            return TG_EINVAL;
        }
        snprintf(dst, cap, "%s", argv[++i]);
    }
    return 0;
}
