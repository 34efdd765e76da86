/* The centre's routes, and the loop thread that serves them. */
#include "server.h"
#include "ui.h"

#include "tg_err.h"
#include "tg_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* First match wins; GET routes take HEAD too. */
static const tg_http_route routes[] = {
    {"POST", "/v1/upload", 0, NULL, tg_central_upload, tg_central_site_check},
    {"GET", "/healthz", 0, NULL, tg_central_healthz},
    {"GET", "/readyz", 0, NULL, tg_central_readyz},
    {"GET", "/metrics", 0, NULL, tg_central_metrics},
    {"POST", "/api/v1/witness/add-checkpoint", 0, NULL, tg_central_witness_add,
     tg_central_site_check},
    {"POST", "/add-checkpoint", 0, NULL, tg_central_witness_add, tg_central_site_check},
    {"POST", "/api/v1/witness/inclusion", 0, NULL, tg_central_witness_inclusion,
     tg_central_site_check},
    {"GET", "/api/v1/witness/status", 0, NULL, tg_central_witness_status},
    {"GET", "/api/v1/estate", 0, NULL, tg_central_api_estate},
    {"GET", "/api/v1/status", 0, NULL, tg_central_api_estate},
    {"GET", "/api/v1/models", 0, NULL, tg_central_models_api},
    {"GET", "/api/v1/query/trace/", 1, NULL, tg_central_query_trace},
    {"GET", "/api/v1/query/traces", 0, NULL, tg_central_query_traces},
    {"GET", "/api/v1/query/logs", 0, NULL, tg_central_query_logs},
    {"GET", "/loki/api/v1/query_range", 0, NULL, tg_central_loki_query_range},
    {"GET", "/loki/api/v1/query", 0, NULL, tg_central_loki_query},
    {"GET", "/loki/api/v1/labels", 0, NULL, tg_central_loki_labels},
    {"GET", "/loki/api/v1/label/", 1, NULL, tg_central_loki_labels},
    {"GET", "/loki/api/v1/series", 0, NULL, tg_central_loki_labels},
    {"GET", "/api/v1/cost/report", 0, NULL, tg_central_cost_report},
    {"GET", "/api/v1/cost/focus", 0, NULL, tg_central_cost_focus},
    {"GET", "/api/v1/audit/report", 0, NULL, tg_central_audit_report},
    {"GET", "/api/echo", 0, NULL, tg_central_tempo_echo},
    {"GET", "/api/search", 0, NULL, tg_central_tempo_search},
    {"GET", "/api/search/tags", 0, NULL, tg_central_tempo_tags},
    {"GET", "/api/v2/search/tags", 0, NULL, tg_central_tempo_tags},
    {"GET", "/api/search/tag/", 1, NULL, tg_central_tempo_tag_values},
    {"GET", "/api/v2/search/tag/", 1, NULL, tg_central_tempo_tag_values},
    {"GET", "/api/traces/", 1, NULL, tg_central_tempo_trace},
    {"GET", "/api/v2/traces/", 1, NULL, tg_central_tempo_trace},
    {"POST", "/ui/login", 0, NULL, tg_central_ui_login},
    {"POST", "/ui/logout", 0, NULL, tg_central_ui_logout},
    {"GET", "/ui/api/session", 0, NULL, tg_central_ui_session},
    {"GET", "/ui/api/estate", 0, NULL, tg_central_ui_estate},
    {"GET", "/ui/api/trace/", 1, NULL, tg_central_ui_trace},
    {"GET", "/ui/api/traces", 0, NULL, tg_central_ui_traces},
    {"GET", "/ui/api/logs", 0, NULL, tg_central_ui_logs},
    {"GET", "/ui/api/log-templates", 0, NULL, tg_central_ui_log_templates},
    {"GET", "/ui/api/cost/", 1, NULL, tg_central_ui_cost},
    {"GET", "/ui/api/audit/", 1, NULL, tg_central_ui_audit},
    {"GET", "/ui", 1, NULL, tg_central_ui_static},
};

struct tg_srv {
    uv_loop_t loop;
    uv_async_t stop_async;
    uv_thread_t thread;
    tg_http_server *http;
    tg_http_tls *tls;
    tg_http_router router;
    int port;
};

static void loop_main(void *arg)
{
    tg_srv *s = arg;

    uv_run(&s->loop, UV_RUN_DEFAULT);
}

/* The server is gone: closing the last handle lets uv_run() return. */
static void on_http_stopped(void *ctx)
{
    tg_srv *s = ctx;

    uv_close((uv_handle_t *)&s->stop_async, NULL);
}

static void on_stop(uv_async_t *a)
{
    tg_srv *s = a->data;

    if (s->http) {
        tg_http_server_stop(s->http, on_http_stopped, s);
        s->http = NULL;
    }
}

tg_srv *tg_srv_start(const char *addr, const tg_srv_options *opt, void *ctx, char *err,
                     size_t errlen)
{
    return tg_srv_start_routes(addr, opt, routes, sizeof(routes) / sizeof(routes[0]), ctx,
                               err, errlen);
}

tg_srv *tg_srv_start_routes(const char *addr, const tg_srv_options *opt,
                            const tg_http_route *table, size_t n, void *ctx, char *err,
                            size_t errlen)
{
    tg_srv *s = calloc(1, sizeof(*s));
    tg_http_options o;
    int rc = 0;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (opt->tls_cert_file && opt->tls_cert_file[0]) {
        tg_http_tls_options to = {opt->tls_cert_file, opt->tls_key_file,
                                  opt->tls_client_ca_file, opt->tls_require_client_cert};

        s->tls = tg_http_tls_new(&to, err, errlen);
        if (!s->tls) {
            free(s);
            return NULL;
        }
    }
    if (uv_loop_init(&s->loop) != 0) {
        snprintf(err, errlen, "cannot create an event loop");
        tg_http_tls_free(s->tls);
        free(s);
        return NULL;
    }
    tg_http_options_default(&o);
    o.max_connections = opt->max_connections ? opt->max_connections : 256;
    o.max_body_bytes = opt->max_body_bytes ? opt->max_body_bytes : (size_t)64 << 20;
    /* Sites may be far away: the handshake counts against the header
     * clock, and a large batch on a slow link takes a while. */
    o.header_timeout_ms = opt->header_timeout_ms ? opt->header_timeout_ms : 30000;
    o.body_timeout_ms = opt->body_timeout_ms ? opt->body_timeout_ms : 120000;
    o.max_connections_per_source = opt->max_connections_per_source;
    o.refusals = opt->refusals;
    o.check_headers = tg_http_dispatch_check;
    o.tls = s->tls;
    s->router.routes = table;
    s->router.n = n;
    s->router.data = ctx;
    s->http = tg_http_server_start(&s->loop, addr, &o, tg_http_dispatch, &s->router, &rc);
    if (!s->http) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, tg_strerror(rc));
        goto fail;
    }
    s->port = tg_http_server_port(s->http);
    uv_async_init(&s->loop, &s->stop_async, on_stop);
    s->stop_async.data = s;
    if (uv_thread_create(&s->thread, loop_main, s) != 0) {
        snprintf(err, errlen, "cannot start the server thread");
        tg_http_server_stop(s->http, NULL, NULL);
        uv_close((uv_handle_t *)&s->stop_async, NULL);
        goto fail;
    }
    return s;
fail:
    uv_run(&s->loop, UV_RUN_DEFAULT); /* lets closed handles finish */
    uv_loop_close(&s->loop);
    tg_http_tls_free(s->tls);
    free(s);
    return NULL;
}

int tg_srv_port(const tg_srv *s)
{
    return s->port;
}

int64_t tg_srv_cert_not_after(const tg_srv *s)
{
    return tg_http_tls_cert_not_after(s->tls);
}

int tg_srv_reload_tls(tg_srv *s, const tg_srv_options *opt, char *err, size_t errlen)
{
    tg_http_tls_options to = {opt->tls_cert_file, opt->tls_key_file,
                              opt->tls_client_ca_file, opt->tls_require_client_cert,
                              NULL};

    return s->tls ? tg_http_tls_reload(s->tls, &to, err, errlen) : 0;
}

void tg_srv_stop(tg_srv *s)
{
    if (!s)
        return;
    uv_async_send(&s->stop_async);
    uv_thread_join(&s->thread);
    if (uv_loop_close(&s->loop) != 0)
        tg_warn("central server loop not closed cleanly", "port=%d", s->port);
    tg_http_tls_free(s->tls);
    free(s);
}
