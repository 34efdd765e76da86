#include <stdio.h>
#include <string.h>

#include "tg_central.h"
#include "tg_err.h"
#include "tg_yaml.h"

void tg_central_config_defaults(tg_central_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen, sizeof(c->listen), "127.0.0.1:9480");
    snprintf(c->data_dir, sizeof(c->data_dir), "./data");
    snprintf(c->log_level, sizeof(c->log_level), "info");
    c->max_age_sec = 30ull * 86400;
    c->max_bytes = 10ull << 30;
    c->max_body_bytes = 64ull << 20;
    c->max_connections = 256;
    c->cert_warn_sec = 14ull * 86400;
    c->skew_warn_ms = 1000;
    c->lag_warn_sec = 60;
}

#define CHECK(e)                                                                         \
    do {                                                                                 \
        int rc_ = (e);                                                                   \
        if (rc_)                                                                         \
            goto fail;                                                                   \
    } while (0)

int tg_central_config_load(const char *path, tg_central_config *out, char *err,
                           size_t errlen)
{
    static const char *const top[] = {"listen",    "data_dir", "sites",  "log",   "tls",
                                      "retention", "limits",   "status", "store", NULL};
    static const char *const logk[] = {"level", NULL};
    static const char *const tlsk[] = {"cert_file", "key_file", "client_ca_file",
                                       "require_client_cert", NULL};
    static const char *const retk[] = {"max_age", "max_bytes", NULL};
    static const char *const limk[] = {"max_body_bytes", "max_connections", NULL};
    static const char *const stk[] = {"cert_warn", "skew_warn", "lag_warn", NULL};
    static const char *const storek[] = {"sync", NULL};
    tg_ynode *root = tg_yaml_load_file(path, err, errlen);
    const tg_ynode *n, *x;
    tg_central_config c = *out;
    uint64_t ms;
    int sync = 1;

    if (!root)
        return TG_ECONFIG;
    CHECK(tg_yaml_check_keys(path, root, top, err, errlen));
    if ((n = tg_yaml_get(root, "listen")))
        CHECK(tg_yaml_str(path, n, c.listen, sizeof(c.listen), err, errlen));
    if ((n = tg_yaml_get(root, "data_dir")))
        CHECK(tg_yaml_str(path, n, c.data_dir, sizeof(c.data_dir), err, errlen));
    if ((n = tg_yaml_get(root, "sites")))
        CHECK(tg_yaml_str(path, n, c.sites_file, sizeof(c.sites_file), err, errlen));
    if ((n = tg_yaml_get(root, "log"))) {
        CHECK(tg_yaml_check_keys(path, n, logk, err, errlen));
        if ((x = tg_yaml_get(n, "level"))) {
            CHECK(tg_yaml_str(path, x, c.log_level, sizeof(c.log_level), err, errlen));
            if (strcmp(c.log_level, "debug") && strcmp(c.log_level, "info") &&
                strcmp(c.log_level, "warn") && strcmp(c.log_level, "error")) {
                tg_yaml_error(err, errlen, path, x,
                              "log.level is debug, info, warn or error");
                goto fail;
            }
        }
    }
    if ((n = tg_yaml_get(root, "tls"))) {
        CHECK(tg_yaml_check_keys(path, n, tlsk, err, errlen));
        if ((x = tg_yaml_get(n, "cert_file")))
            CHECK(tg_yaml_str(path, x, c.tls_cert_file, sizeof(c.tls_cert_file), err,
                              errlen));
        if ((x = tg_yaml_get(n, "key_file")))
            CHECK(tg_yaml_str(path, x, c.tls_key_file, sizeof(c.tls_key_file), err,
                              errlen));
        if ((x = tg_yaml_get(n, "client_ca_file")))
            CHECK(tg_yaml_str(path, x, c.tls_client_ca_file, sizeof(c.tls_client_ca_file),
                              err, errlen));
        if ((x = tg_yaml_get(n, "require_client_cert")))
            CHECK(tg_yaml_bool(path, x, &c.tls_require_client_cert, err, errlen));
        if (!c.tls_cert_file[0] != !c.tls_key_file[0]) {
            tg_yaml_error(err, errlen, path, n,
                          "tls.cert_file and tls.key_file go together");
            goto fail;
        }
        if ((c.tls_client_ca_file[0] || c.tls_require_client_cert) &&
            !c.tls_cert_file[0]) {
            tg_yaml_error(err, errlen, path, n,
                          "client certificates need tls.cert_file and tls.key_file");
            goto fail;
        }
        if (c.tls_require_client_cert && !c.tls_client_ca_file[0]) {
            tg_yaml_error(err, errlen, path, n,
                          "tls.require_client_cert needs tls.client_ca_file");
            goto fail;
        }
    }
    if ((n = tg_yaml_get(root, "retention"))) {
        CHECK(tg_yaml_check_keys(path, n, retk, err, errlen));
        if ((x = tg_yaml_get(n, "max_age"))) {
            CHECK(tg_yaml_duration_ms(path, x, &ms, err, errlen));
            c.max_age_sec = ms / 1000;
        }
        if ((x = tg_yaml_get(n, "max_bytes")))
            CHECK(tg_yaml_size(path, x, &c.max_bytes, err, errlen));
    }
    if ((n = tg_yaml_get(root, "limits"))) {
        CHECK(tg_yaml_check_keys(path, n, limk, err, errlen));
        if ((x = tg_yaml_get(n, "max_body_bytes")))
            CHECK(tg_yaml_size(path, x, &c.max_body_bytes, err, errlen));
        if ((x = tg_yaml_get(n, "max_connections")))
            CHECK(tg_yaml_u64(path, x, &c.max_connections, err, errlen));
        if (c.max_connections == 0 || c.max_body_bytes < 4096) {
            tg_yaml_error(err, errlen, path, n,
                          "limits need at least one connection and 4KiB of body");
            goto fail;
        }
    }
    if ((n = tg_yaml_get(root, "status"))) {
        CHECK(tg_yaml_check_keys(path, n, stk, err, errlen));
        if ((x = tg_yaml_get(n, "cert_warn"))) {
            CHECK(tg_yaml_duration_ms(path, x, &ms, err, errlen));
            c.cert_warn_sec = ms / 1000;
        }
        if ((x = tg_yaml_get(n, "skew_warn")))
            CHECK(tg_yaml_duration_ms(path, x, &c.skew_warn_ms, err, errlen));
        if ((x = tg_yaml_get(n, "lag_warn"))) {
            CHECK(tg_yaml_duration_ms(path, x, &ms, err, errlen));
            c.lag_warn_sec = ms / 1000;
        }
    }
    if ((n = tg_yaml_get(root, "store"))) {
        CHECK(tg_yaml_check_keys(path, n, storek, err, errlen));
        if ((x = tg_yaml_get(n, "sync"))) {
            CHECK(tg_yaml_bool(path, x, &sync, err, errlen));
            c.no_sync = !sync;
        }
    }
    tg_yaml_free(root);
    *out = c;
    return 0;
fail:
    tg_yaml_free(root);
    return TG_ECONFIG;
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: tollgate central [--config FILE] [--data DIR] [--listen ADDR] "
        "[--sites FILE]\n"
        "       tollgate central export [--config FILE] [--data DIR]\n\n"
        "Runs the central view: accepts scrubbed summaries, RED metrics, log templates,\n"
        "metrics and cost records from every site over HTTP(S), authenticates each site\n"
        "with its token from the sites registry, and keeps them in LMDB under "
        "DIR/central.\n"
        "`export` writes everything the centre holds as JSON lines on stdout.\n\n"
        "  --config FILE   YAML configuration (docs/central.md lists every key)\n"
        "  --data DIR      data directory (default ./data)\n"
        "  --listen ADDR   HOST:PORT for sites and the API (default 127.0.0.1:9480)\n"
        "  --sites FILE    the sites registry: sites: [{name, token_file, api}, ...]\n");
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
