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
                          cfg->http_tls_require_client_cert, err, errlen)) ||
        (rc = tls_keys_ok("receivers.otlp_grpc", cfg->grpc_tls_cert_file,
                          cfg->grpc_tls_key_file, cfg->grpc_tls_client_ca_file,
                          cfg->grpc_tls_require_client_cert, err, errlen)))
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

/* gRPC over TLS is HTTP/2 negotiated with ALPN (gRPC's PROTOCOL-HTTP2). */
static void grpc_opts(const tg_collector_config *c, tg_http_tls_options *o)
{
    opts(o, c->grpc_tls_cert_file, c->grpc_tls_key_file, c->grpc_tls_client_ca_file,
         c->grpc_tls_require_client_cert);
    o->alpn = "h2";
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
    if (cfg->grpc_tls_cert_file[0]) {
        grpc_opts(cfg, &o);
        if (!(out->grpc = tg_http_tls_new(&o, why, sizeof(why)))) {
            snprintf(err, errlen, "receivers.otlp_grpc.tls: %s", why);
            tg_secure_tls_free(out);
            return TG_ECONFIG;
        }
    }
    return 0;
}

static void reload_one(tg_http_tls *t, const tg_http_tls_options *o, const char *listener)
{
    char why[512];

    if (!t)
        return;
    if (tg_http_tls_reload(t, o, why, sizeof(why)) == 0)
        tg_info("certificates reloaded", "listener=%s", listener);
    else
        tg_error("certificate reload failed, keeping the previous one",
                 "listener=%s why=\"%s\"", listener, why);
}

void tg_secure_tls_reload(const tg_collector_config *cfg, tg_secure_tls *t)
{
    tg_http_tls_options o;

    api_opts(cfg, &o);
    reload_one(t->api, &o, "api");
    http_opts(cfg, &o);
    reload_one(t->http, &o, "otlp_http");
    grpc_opts(cfg, &o);
    reload_one(t->grpc, &o, "otlp_grpc");
}

void tg_secure_tls_free(tg_secure_tls *t)
{
    tg_http_tls_free(t->api);
    tg_http_tls_free(t->http);
    tg_http_tls_free(t->grpc);
    t->api = t->http = t->grpc = NULL;
}

int tg_secure_tokens_load(const char *what, const char (*files)[1024], size_t n_files,
                          const tg_config_token *named, size_t n_named,
                          tg_secure_tokens *out, char *err, size_t errlen)
{
    size_t n = n_files + n_named;

    memset(out, 0, sizeof(*out));
    if (!n)
        return 0;
    out->access.v = calloc(n, sizeof(*out->access.v));
    out->scope = calloc(n, sizeof(*out->scope));
    out->entries = n_named ? calloc(n_named, sizeof(*out->entries)) : NULL;
    if (!out->access.v || !out->scope || (n_named && !out->entries)) {
        tg_secure_tokens_free(out);
        snprintf(err, errlen, "out of memory");
        return TG_ENOMEM;
    }
    if (n_named)
        memcpy(out->entries, named, n_named * sizeof(*named));
    for (size_t i = 0; i < n; i++) {
        tg_access_entry *e = &out->access.v[i];
        tg_secure_scope *sc = &out->scope[i];
        const char *file = i < n_files ? files[i] : named[i - n_files].token_file;
        const char *base = strrchr(file, '/');
        int rc = tg_wire_read_token(file, e->token, sizeof(e->token));

        if (rc) {
            snprintf(err, errlen, "%s.%s: cannot read a token from %s (%s)", what,
                     i < n_files ? "token_files" : "tokens", file, tg_wire_token_why(rc));
            tg_secure_tokens_free(out);
            return TG_ECONFIG;
        }
        if (i < n_files) {
            /* A name, cut to fit: the file's base name. */
            snprintf(e->name, sizeof(e->name), "%.*s", (int)sizeof(e->name) - 1,
                     base ? base + 1 : file);
        } else {
            const tg_config_token *ct = &out->entries[i - n_files];
            snprintf(e->name, sizeof(e->name), "%s", ct->name);
            sc->services = ct->services;
            sc->n_services = ct->n_services;
        }
        snprintf(sc->name, sizeof(sc->name), "%s", e->name);
        snprintf(e->grant, sizeof(e->grant), "ingest");
        out->access.n++;
        /* One token, one scope: with a token listed twice, which limit
         * applies would depend on the order of the list. */
        for (size_t j = 0; j < i; j++)
            if (strcmp(out->access.v[j].token, e->token) == 0) {
                snprintf(err, errlen,
                         "%s: %s and %s hold the same token: one token, one "
                         "scope",
                         what, out->access.v[j].name, e->name);
                tg_secure_tokens_free(out);
                return TG_ECONFIG;
            }
    }
    return 0;
}

void tg_secure_tokens_free(tg_secure_tokens *t)
{
    if (!t)
        return;
    tg_access_free(&t->access);
    free(t->scope);
    free(t->entries);
    t->scope = NULL;
    t->entries = NULL;
}

int tg_secure_tokens_required(const tg_secure_tokens *t)
{
    return t && t->access.n > 0;
}

const tg_secure_scope *tg_secure_authenticate(const tg_secure_tokens *t,
                                              const char *authorization)
{
    const tg_access_entry *e = tg_access_authenticate(&t->access, authorization);

    return e ? &t->scope[e - t->access.v] : NULL;
}

const tg_secure_scope *tg_secure_authenticate_request(const tg_secure_tokens *t,
                                                      const tg_http_request *req)
{
    char a[600];
    size_t alen = 0;
    const char *h = tg_http_header(req, "authorization", &alen);

    /* A value longer than any token cannot match one: cut, it still fails. */
    snprintf(a, sizeof(a), "%.*s",
             h ? (int)(alen < sizeof(a) - 1 ? alen : sizeof(a) - 1) : 0, h ? h : "");
    return tg_secure_authenticate(t, a);
}

int tg_secure_check_headers(const tg_secure_tokens *t, const tg_http_request *req,
                            tg_http_response *resp)
{
    if (!tg_secure_tokens_required(t) || tg_secure_authenticate_request(t, req))
        return 0;
    tg_http_response_text(
        resp, 401,
        tg_http_header(req, "authorization", NULL)
            ? "unknown bearer token\n"
            : "a bearer token is required (Authorization: Bearer ...)\n");
    return 1;
}

int tg_secure_scope_check(const tg_secure_scope *scope, const tg_otlp_index *ix,
                          char *msg, size_t msglen)
{
    if (!scope || !scope->n_services)
        return 0;
    for (size_t i = 0; i < ix->n_services; i++) {
        const tg_slice *sv = &ix->services[i];
        size_t k = 0;

        while (k < scope->n_services &&
               !(strlen(scope->services[k]) == sv->len &&
                 memcmp(scope->services[k], sv->ptr, sv->len) == 0))
            k++;
        if (k == scope->n_services) {
            snprintf(msg, msglen,
                     "the token \"%s\" may not send for service \"%.*s\" (it may "
                     "send for %zu listed service%s)",
                     scope->name, sv->len > 100 ? 100 : (int)sv->len, sv->ptr,
                     scope->n_services, scope->n_services == 1 ? "" : "s");
            return TG_EFORBIDDEN;
        }
    }
    return 0;
}
