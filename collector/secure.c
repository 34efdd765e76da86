#include "secure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "tg_log.h"
#include "tg_wire.h"

int tg_secure_is_loopback(const char *addr)
{
    char host[128];
    const char *colon = strrchr(addr, ':');
    size_t n = colon ? (size_t)(colon - addr) : strlen(addr);

    if (n >= sizeof(host))
        return 0;
    memcpy(host, addr, n);
    host[n] = '\0';
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

static int tls_keys_ok(const char *what, const char *cert, const char *key,
                       const char *ca, int require, char *err, size_t errlen)
{
    if (!cert[0] != !key[0]) {
        snprintf(err, errlen, "%s.tls.cert_file and %s.tls.key_file go together", what,
                 what);
        return TG_ECONFIG;
    }
    if ((ca[0] || require) && !cert[0]) {
        snprintf(err, errlen,
                 "%s.tls client certificates need tls.cert_file and tls.key_file", what);
        return TG_ECONFIG;
    }
    if (require && !ca[0]) {
        snprintf(err, errlen, "%s.tls.require_client_cert needs tls.client_ca_file",
                 what);
        return TG_ECONFIG;
    }
    return 0;
}

int tg_secure_check(const tg_collector_config *cfg, size_t n_query_clients, char *err,
                    size_t errlen)
{
    int rc;

    if ((rc = tls_keys_ok("api", cfg->api_tls_cert_file, cfg->api_tls_key_file,
                          cfg->api_tls_client_ca_file, cfg->api_tls_require_client_cert,
                          err, errlen)) ||
        (rc = tls_keys_ok("receivers.otlp_http", cfg->http_tls_cert_file,
                          cfg->http_tls_key_file, cfg->http_tls_client_ca_file,
                          cfg->http_tls_require_client_cert, err, errlen)))
        return rc;
    if (cfg->api_insecure || tg_secure_is_loopback(cfg->api_listen))
        return 0;
    /* Beyond this host, the API serves stored telemetry at full fidelity:
     * tokens that cross the network in clear text protect nothing, and an
     * API without query clients answers nobody, which is never what an
     * operator who opened the port meant. */
    if (!cfg->api_tls_cert_file[0] || !n_query_clients) {
        snprintf(err, errlen,
                 "the site API would listen on %s, beyond loopback, %s; configure "
                 "api.tls.cert_file and api.tls.key_file and query.clients, or pass "
                 "--insecure-api (api.insecure: true) if this is on purpose",
                 cfg->api_listen,
                 !cfg->api_tls_cert_file[0] && !n_query_clients
                     ? "without TLS and without query clients (tokens)"
                 : !cfg->api_tls_cert_file[0] ? "without TLS"
                                              : "without query clients (tokens)");
        return TG_ECONFIG;
    }
    return 0;
}

static void opts(tg_http_tls_options *o, const char *cert, const char *key,
                 const char *ca, int require)
{
    memset(o, 0, sizeof(*o));
    o->cert_file = cert;
    o->key_file = key;
    o->client_ca_file = ca;
    o->require_client_cert = require;
}

static void api_opts(const tg_collector_config *c, tg_http_tls_options *o)
{
    opts(o, c->api_tls_cert_file, c->api_tls_key_file, c->api_tls_client_ca_file,
         c->api_tls_require_client_cert);
}

static void http_opts(const tg_collector_config *c, tg_http_tls_options *o)
{
    opts(o, c->http_tls_cert_file, c->http_tls_key_file, c->http_tls_client_ca_file,
         c->http_tls_require_client_cert);
}

int tg_secure_tls_load(const tg_collector_config *cfg, tg_secure_tls *out, char *err,
                       size_t errlen)
{
    tg_http_tls_options o;
    char why[512];

    memset(out, 0, sizeof(*out));
    if (cfg->api_tls_cert_file[0]) {
        api_opts(cfg, &o);
        if (!(out->api = tg_http_tls_new(&o, why, sizeof(why)))) {
            snprintf(err, errlen, "api.tls: %s", why);
            return TG_ECONFIG;
        }
    }
    if (cfg->http_tls_cert_file[0]) {
        http_opts(cfg, &o);
        if (!(out->http = tg_http_tls_new(&o, why, sizeof(why)))) {
            snprintf(err, errlen, "receivers.otlp_http.tls: %s", why);
            tg_secure_tls_free(out);
            return TG_ECONFIG;
        }
    }
    return 0;
}

void tg_secure_tls_reload(const tg_collector_config *cfg, tg_secure_tls *t)
{
    tg_http_tls_options o;
    char why[512];

    if (t->api) {
        api_opts(cfg, &o);
        if (tg_http_tls_reload(t->api, &o, why, sizeof(why)) == 0)
            tg_info("certificates reloaded", "listener=api");
        else
            tg_error("certificate reload failed, keeping the previous one",
                     "listener=api why=\"%s\"", why);
    }
    if (t->http) {
        http_opts(cfg, &o);
        if (tg_http_tls_reload(t->http, &o, why, sizeof(why)) == 0)
            tg_info("certificates reloaded", "listener=otlp_http");
        else
            tg_error("certificate reload failed, keeping the previous one",
                     "listener=otlp_http why=\"%s\"", why);
    }
}

void tg_secure_tls_free(tg_secure_tls *t)
{
    tg_http_tls_free(t->api);
    tg_http_tls_free(t->http);
    t->api = t->http = NULL;
}

int tg_secure_tokens_load(const char *what, const char (*files)[1024], size_t n,
                          tg_access *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!n)
        return 0;
    if (!(out->v = calloc(n, sizeof(*out->v)))) {
        snprintf(err, errlen, "out of memory");
        return TG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        tg_access_entry *e = &out->v[i];
        const char *base = strrchr(files[i], '/');
        int rc = tg_wire_read_token(files[i], e->token, sizeof(e->token));
        if (rc) {
            snprintf(err, errlen, "%s: cannot read a token from %s (%s)", what, files[i],
                     tg_wire_token_why(rc));
            tg_access_free(out);
            return TG_ECONFIG;
        }
        snprintf(e->name, sizeof(e->name), "%s", base ? base + 1 : files[i]);
        snprintf(e->grant, sizeof(e->grant), "ingest");
        out->n++;
    }
    return 0;
}
