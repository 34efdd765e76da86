/* OTLP/HTTP and OTLP/gRPC requests onto tg_ingest; see receivers.h.
 *
 * Status mapping, one table for both protocols (OTLP specification,
 * "Failures" and "Throttling"):
 *   malformed body, bad UTF-8      400 Bad Request        INVALID_ARGUMENT
 *   body or decompression too big  413 Payload Too Large  RESOURCE_EXHAUSTED
 *   unknown encoding               415                    UNIMPLEMENTED
 *   a service the token may not    403 Forbidden          PERMISSION_DENIED
 *   write queue full               429 + Retry-After      RESOURCE_EXHAUSTED + pushback
 *   shutting down, store failure   503 + Retry-After      UNAVAILABLE */
#include "receivers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tg_err.h"
#include "tg_log.h"

typedef struct http_status_map {
    int err;
    int http;
    int grpc;
} http_status_map;

static const http_status_map status_map[] = {
    {TG_EPARSE, 400, TG_GRPC_INVALID_ARGUMENT},
    {TG_EUTF8, 400, TG_GRPC_INVALID_ARGUMENT},
    {TG_EINVAL, 400, TG_GRPC_INVALID_ARGUMENT},
    {TG_ETOO_BIG, 413, TG_GRPC_RESOURCE_EXHAUSTED},
    {TG_ENOMEM, 413, TG_GRPC_RESOURCE_EXHAUSTED},
    {TG_EUNSUPPORTED, 415, TG_GRPC_UNIMPLEMENTED},
    {TG_EBUSY, 429, TG_GRPC_RESOURCE_EXHAUSTED},
    {TG_EFORBIDDEN, 403, TG_GRPC_PERMISSION_DENIED},
    {TG_ECLOSED, 503, TG_GRPC_UNAVAILABLE},
};

static const http_status_map *map_err(int err)
{
    static const http_status_map fallback = {0, 503, TG_GRPC_UNAVAILABLE};

    for (size_t i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++)
        if (status_map[i].err == err)
            return &status_map[i];
    return &fallback;
}

/* ---- OTLP/HTTP ----------------------------------------------------------- */

typedef struct http_call {
    tg_receivers *rx;
    tg_http_request *req;
    enum tg_signal sig;
    enum tg_encoding enc;
} http_call;

static const char *enc_content_type(enum tg_encoding enc)
{
    return enc == TG_ENC_JSON ? "application/json" : "application/x-protobuf";
}

static void http_send_status(tg_receivers *rx, tg_http_request *req, enum tg_encoding enc,
                             int http_status, int grpc_code, const char *message)
{
    tg_arena arena;
    uint8_t *body = NULL;
    size_t len = 0;
    char headers[64] = "";

    if (http_status == 429 || http_status == 503)
        snprintf(headers, sizeof(headers), "Retry-After: %llu\r\n",
                 (unsigned long long)rx->retry_after_sec);
    else if (http_status == 401)
        snprintf(headers, sizeof(headers),
                 "WWW-Authenticate: Bearer realm=\"tollgate\"\r\n");
    tg_arena_init(&arena, 4096, 0);
    if (tg_otlp_encode_status(enc, grpc_code, message, &arena, &body, &len) == 0)
        tg_http_respond(req, http_status, enc_content_type(enc), headers, body, len);
    else
        tg_http_respond(req, http_status, "text/plain", headers, message,
                        strlen(message));
    tg_arena_destroy(&arena);
}

static void http_send_ok(tg_http_request *req, enum tg_signal sig, enum tg_encoding enc,
                         uint64_t rejected, const char *message)
{
    tg_arena arena;
    uint8_t *body = NULL;
    size_t len = 0;

    tg_arena_init(&arena, 4096, 0);
    if (tg_otlp_encode_response(sig, enc, rejected, message, &arena, &body, &len) != 0) {
        body = NULL;
        len = 0;
    }
    tg_http_respond(req, 200, enc_content_type(enc), NULL, body, len);
    tg_arena_destroy(&arena);
}

static void http_committed(void *ctx, const tg_ingest_result *res)
{
    http_call *call = ctx;

    if (res->status == 0)
        http_send_ok(call->req, call->sig, call->enc, res->rejected, res->message);
    else
        http_send_status(call->rx, call->req, call->enc, 503, TG_GRPC_UNAVAILABLE,
                         res->message);
    free(call);
}

static int path_is(const char *p, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(p, want, len) == 0;
}

/* The media type without parameters ("application/json; charset=utf-8"). */
static int media_type_is(const char *v, size_t len, const char *want)
{
    size_t n = 0;

    while (n < len && v[n] != ';' && v[n] != ' ' && v[n] != '\t')
        n++;
    return n == strlen(want) && strncasecmp(v, want, n) == 0;
}

void tg_receivers_http(tg_http_request *req, void *data)
{
    tg_receivers *rx = data;
    enum tg_signal sig;
    enum tg_encoding enc;
    enum tg_compression comp = TG_COMP_NONE;
    tg_ingest_result res;
    const char *path, *ct, *ce;
    const uint8_t *body;
    size_t plen, ctlen, celen, blen;
    http_call *call;
    const tg_secure_scope *scope = NULL;
    char msg[160];
    int rc;

    path = tg_http_path(req, &plen);
    if (path_is(path, plen, "/v1/traces"))
        sig = TG_SIGNAL_TRACES;
    else if (path_is(path, plen, "/v1/logs"))
        sig = TG_SIGNAL_LOGS;
    else if (path_is(path, plen, "/v1/metrics"))
        sig = TG_SIGNAL_METRICS;
    else {
        static const char nf[] = "not found: OTLP/HTTP serves POST /v1/traces, "
                                 "/v1/logs and /v1/metrics\n";
        tg_http_respond(req, 404, "text/plain", NULL, nf, sizeof(nf) - 1);
        return;
    }
    /* The token was checked from the headers (http_check); its scope is
     * looked up again here, where the body is. */
    if (tg_secure_tokens_required(rx->http_tokens) &&
        !(scope = tg_secure_authenticate_request(rx->http_tokens, req))) {
        http_send_status(rx, req, TG_ENC_JSON, 401, TG_GRPC_UNAUTHENTICATED,
                         "a bearer token is required");
        return;
    }
    if (strcmp(tg_http_method(req), "POST") != 0) {
        static const char na[] = "method not allowed: use POST\n";
        tg_http_respond(req, 405, "text/plain", "Allow: POST\r\n", na, sizeof(na) - 1);
        return;
    }

    ct = tg_http_header(req, "content-type", &ctlen);
    if (ct && media_type_is(ct, ctlen, "application/x-protobuf"))
        enc = TG_ENC_PROTOBUF;
    else if (ct && media_type_is(ct, ctlen, "application/json"))
        enc = TG_ENC_JSON;
    else {
        snprintf(msg, sizeof(msg),
                 "unsupported content type: OTLP/HTTP accepts application/x-protobuf "
                 "and application/json");
        http_send_status(rx, req, TG_ENC_JSON, 415, TG_GRPC_INVALID_ARGUMENT, msg);
        return;
    }

    ce = tg_http_header(req, "content-encoding", &celen);
    if (ce && celen && tg_compression_parse(ce, celen, &comp) != 0) {
        snprintf(
            msg, sizeof(msg),
            "unsupported Content-Encoding: accepted are gzip, zstd, deflate, identity");
        http_send_status(rx, req, enc, 415, TG_GRPC_INVALID_ARGUMENT, msg);
        return;
    }

    call = malloc(sizeof(*call));
    if (!call) {
        http_send_status(rx, req, enc, 503, TG_GRPC_UNAVAILABLE,
                         "collector out of memory");
        return;
    }
    call->rx = rx;
    call->req = req;
    call->sig = sig;
    call->enc = enc;

    body = tg_http_body(req, &blen);
    rc = tg_ingest_submit_scoped(rx->ing, scope, sig, TG_TRANSPORT_HTTP, enc, comp, body,
                                 blen, http_committed, call, &res);
    if (rc == 0)
        return;
    free(call);
    if (rc == TG_INGEST_DONE) {
        http_send_ok(req, sig, enc, res.rejected, res.message);
        return;
    }
    http_send_status(rx, req, enc, map_err(rc)->http, map_err(rc)->grpc, res.message);
}

/* ---- OTLP/gRPC ----------------------------------------------------------- */

typedef struct grpc_call {
    tg_receivers *rx;
    tg_grpc_call *call;
    enum tg_signal sig;
} grpc_call;

static void grpc_send_ok(tg_grpc_call *call, enum tg_signal sig, uint64_t rejected,
                         const char *message)
{
    tg_arena arena;
    uint8_t *body = NULL;
    size_t len = 0;

    tg_arena_init(&arena, 4096, 0);
    if (tg_otlp_encode_response(sig, TG_ENC_PROTOBUF, rejected, message, &arena, &body,
                                &len) != 0) {
        body = NULL;
        len = 0;
    }
    tg_grpc_call_finish(call, TG_GRPC_OK, NULL, body, len, 0);
    tg_arena_destroy(&arena);
}

static void grpc_committed(void *ctx, const tg_ingest_result *res)
{
    grpc_call *gc = ctx;

    if (res->status == 0)
        grpc_send_ok(gc->call, gc->sig, res->rejected, res->message);
    else
        tg_grpc_call_finish(gc->call, TG_GRPC_UNAVAILABLE, res->message, NULL, 0,
                            gc->rx->retry_after_sec * 1000);
    free(gc);
}

/* tg_grpc_export_fn for the OTLP/gRPC port; data is a tg_receivers. */
static void receivers_grpc(void *data, tg_grpc_call *call, enum tg_signal sig,
                           enum tg_compression comp, const uint8_t *msg, size_t len)
{
    tg_receivers *rx = data;
    tg_ingest_result res;
    grpc_call *gc = malloc(sizeof(*gc));
    const http_status_map *m;
    int rc;

    if (!gc) {
        tg_grpc_call_finish(call, TG_GRPC_UNAVAILABLE, "collector out of memory", NULL, 0,
                            rx->retry_after_sec * 1000);
        return;
    }
    gc->rx = rx;
    gc->call = call;
    gc->sig = sig;
    rc = tg_ingest_submit_scoped(rx->ing, tg_grpc_call_auth(call), sig, TG_TRANSPORT_GRPC,
                                 TG_ENC_PROTOBUF, comp, msg, len, grpc_committed, gc,
                                 &res);
    if (rc == 0)
        return;
    free(gc);
    if (rc == TG_INGEST_DONE) {
        grpc_send_ok(call, sig, res.rejected, res.message);
        return;
    }
    m = map_err(rc);
    tg_grpc_call_finish(call, m->grpc, res.message, NULL, 0,
                        (m->grpc == TG_GRPC_RESOURCE_EXHAUSTED && rc == TG_EBUSY) ||
                                m->grpc == TG_GRPC_UNAVAILABLE
                            ? rx->retry_after_sec * 1000
                            : 0);
}

/* ---- the receiver kinds -------------------------------------------------- */

static const char *grpc_listen(const tg_collector_config *cfg)
{
    return cfg->otlp_grpc_listen;
}

static const void *grpc_authorize(void *ctx, const char *authorization)
{
    const tg_receivers *rx = ctx;

    return tg_secure_authenticate(rx->grpc_tokens, authorization);
}

static void grpc_options(const tg_collector_config *cfg, tg_grpc_options *o)
{
    tg_grpc_options_default(o);
    o->max_concurrent_streams = cfg->grpc_max_concurrent_streams;
    o->max_message_bytes = cfg->grpc_max_message_bytes;
    o->max_connections = cfg->grpc_max_connections;
    o->idle_timeout_ms = cfg->grpc_idle_timeout_ms;
    o->request_timeout_ms = cfg->grpc_request_timeout_ms;
    o->preface_timeout_ms = cfg->grpc_preface_timeout_ms;
    o->max_connections_per_source = cfg->grpc_max_conns_per_source;
}

static tg_listen_caps *grpc_caps_new(const tg_collector_config *cfg)
{
    tg_grpc_options o;

    grpc_options(cfg, &o);
    return tg_grpc_caps_new(&o);
}

static int grpc_port(void *server)
{
    return tg_grpc_server_port(server);
}

static void *grpc_start(uv_loop_t *loop, const tg_collector_config *cfg, tg_receivers *rx,
                        int *err)
{
    tg_grpc_options o;

    grpc_options(cfg, &o);
    o.reuseport = rx->reuseport;
    o.caps = rx->caps[0];
    o.refusals = rx->stats ? &rx->stats->refused_grpc : NULL;
    if (tg_secure_tokens_required(rx->grpc_tokens)) {
        o.authorize = grpc_authorize;
        o.authorize_ctx = rx;
    }
    o.tls = rx->grpc_tls;
    return tg_grpc_server_start(loop, cfg->otlp_grpc_listen, &o, receivers_grpc, rx, err);
}

static void grpc_stop(void *server, void (*done)(void *ctx), void *ctx)
{
    tg_grpc_server_stop(server, done, ctx);
}

static const char *http_listen(const tg_collector_config *cfg)
{
    return cfg->otlp_http_listen;
}

/* A token is checked before the body is read: an unauthenticated 50 MB
 * upload costs no body buffer. */
static int http_check(const tg_http_request *req, void *data, tg_http_response *resp)
{
    const tg_receivers *rx = data;

    return tg_secure_check_headers(rx->http_tokens, req, resp);
}

static void http_options(const tg_collector_config *cfg, tg_http_options *o)
{
    tg_http_options_default(o);
    o->max_body_bytes = cfg->http_max_body_bytes;
    o->max_buffered_body_bytes = cfg->http_max_buffered_body_bytes;
    o->max_connections = cfg->http_max_connections;
    o->header_timeout_ms = cfg->http_header_timeout_ms;
    o->body_timeout_ms = cfg->http_body_timeout_ms;
    o->idle_timeout_ms = cfg->http_idle_timeout_ms;
    o->max_connections_per_source = cfg->http_max_conns_per_source;
}

static tg_listen_caps *http_caps_new(const tg_collector_config *cfg)
{
    tg_http_options o;

    http_options(cfg, &o);
    return tg_http_caps_new(&o);
}

static int http_port(void *server)
{
    return tg_http_server_port(server);
}

static void *http_start(uv_loop_t *loop, const tg_collector_config *cfg, tg_receivers *rx,
                        int *err)
{
    tg_http_options o;

    http_options(cfg, &o);
    o.reuseport = rx->reuseport;
    o.caps = rx->caps[1];
    o.refusals = rx->stats ? &rx->stats->refused_http : NULL;
    o.tls = rx->http_tls;
    o.check_headers = http_check;
    return tg_http_server_start(loop, cfg->otlp_http_listen, &o, tg_receivers_http, rx,
                                err);
}

static void http_stop(void *server, void (*done)(void *ctx), void *ctx)
{
    tg_http_server_stop(server, done, ctx);
}

/* Their index in tg_receiver_list is their index in tg_receivers.caps. */
static const tg_receiver_desc recv_otlp_grpc = {"otlp-grpc",  "OTLP/gRPC", grpc_listen,
                                                grpc_start,   grpc_stop,   grpc_port,
                                                grpc_caps_new};
static const tg_receiver_desc recv_otlp_http = {"otlp-http",  "OTLP/HTTP", http_listen,
                                                http_start,   http_stop,   http_port,
                                                http_caps_new};

const tg_receiver_desc *const tg_receiver_list[] = {&recv_otlp_grpc, &recv_otlp_http,
                                                    NULL};

_Static_assert(sizeof(tg_receiver_list) / sizeof(tg_receiver_list[0]) <=
                   TG_RECEIVERS_MAX + 1,
               "raise TG_RECEIVERS_MAX");
