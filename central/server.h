/* The central view's HTTP endpoints: its route table on the common HTTP
 * server (common/tg_http), plain or TLS (optionally mutual).
 *
 * The server runs on a libuv loop thread of its own; every centre handler
 * is a worker-thread handler (tg_http_work_handler), so it may block on
 * LMDB before it answers, and must be thread-safe. An endpoint is a
 * handler plus one line in the route table in server.c. */
#ifndef TG_CENTRAL_SERVER_H
#define TG_CENTRAL_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "tg_http.h"

typedef struct tg_srv tg_srv;

typedef struct tg_srv_options {
    size_t max_connections;    /* default 256 */
    size_t max_body_bytes;     /* default 64 MiB */
    const char *tls_cert_file; /* NULL or "": plain HTTP */
    const char *tls_key_file;
    const char *tls_client_ca_file; /* verify client certificates against it */
    int tls_require_client_cert;
    size_t max_connections_per_source; /* 0: no cap of its own */
    uint64_t header_timeout_ms;        /* default 30 s */
    uint64_t body_timeout_ms;          /* default 120 s */
    tg_refusals *refusals;             /* NULL: not counted */
} tg_srv_options;

/* Binds `addr` ("HOST:PORT", port 0 picks one) and starts serving the
 * centre's routes with `ctx` as every handler's data. NULL with a message
 * on failure (bind, TLS files). */
tg_srv *tg_srv_start(const char *addr, const tg_srv_options *opt, void *ctx, char *err,
                     size_t errlen);
/* The same with another route table (benchmarks, tests); `routes` must
 * outlive the server. */
tg_srv *tg_srv_start_routes(const char *addr, const tg_srv_options *opt,
                            const tg_http_route *routes, size_t n, void *ctx, char *err,
                            size_t errlen);
int tg_srv_port(const tg_srv *s);
/* Expiry of the server's own certificate (unix s), 0 without TLS. */
int64_t tg_srv_cert_not_after(const tg_srv *s);
/* On SIGHUP, from any thread: loads opt's certificate, key and client CA
 * again; new connections use them, open ones keep theirs. Files that fail
 * to load leave the ones in force. 0 (also without TLS), or TG_ECONFIG
 * with the reason in err. */
int tg_srv_reload_tls(tg_srv *s, const tg_srv_options *opt, char *err, size_t errlen);
/* Stops accepting, answers what handlers still hold, closes every
 * connection and joins the loop thread. */
void tg_srv_stop(tg_srv *s);

/* The handlers the route table names (central.c); data is the daemon. */
void tg_central_upload(const tg_http_request *req, tg_http_response *resp, void *data);
/* A site's request (upload, witness): its name and token checked from the
 * headers, before the body is read (on the loop thread). */
int tg_central_site_check(const tg_http_request *req, void *data, tg_http_response *resp);
void tg_central_healthz(const tg_http_request *req, tg_http_response *resp, void *data);
void tg_central_readyz(const tg_http_request *req, tg_http_response *resp, void *data);
void tg_central_estate(const tg_http_request *req, tg_http_response *resp, void *data);
void tg_central_api_estate(const tg_http_request *req, tg_http_response *resp,
                           void *data);
void tg_central_metrics(const tg_http_request *req, tg_http_response *resp, void *data);
void tg_central_witness_add(const tg_http_request *req, tg_http_response *resp,
                            void *data);
void tg_central_witness_inclusion(const tg_http_request *req, tg_http_response *resp,
                                  void *data);
void tg_central_witness_status(const tg_http_request *req, tg_http_response *resp,
                               void *data);
/* GET /api/v1/models (models_api.c): for a user's or a site's token. */
void tg_central_models_api(const tg_http_request *req, tg_http_response *resp,
                           void *data);
/* Federated queries and the Grafana APIs (query_api.c). */
void tg_central_query_trace(const tg_http_request *req, tg_http_response *resp,
                            void *data);
void tg_central_tempo_echo(const tg_http_request *req, tg_http_response *resp,
                           void *data);
void tg_central_tempo_trace(const tg_http_request *req, tg_http_response *resp,
                            void *data);
void tg_central_query_traces(const tg_http_request *req, tg_http_response *resp,
                             void *data);
void tg_central_tempo_search(const tg_http_request *req, tg_http_response *resp,
                             void *data);
void tg_central_tempo_tags(const tg_http_request *req, tg_http_response *resp,
                           void *data);
void tg_central_tempo_tag_values(const tg_http_request *req, tg_http_response *resp,
                                 void *data);
/* Federated LogQL and the Loki API (loki_api.c). */
void tg_central_query_logs(const tg_http_request *req, tg_http_response *resp,
                           void *data);
void tg_central_loki_query_range(const tg_http_request *req, tg_http_response *resp,
                                 void *data);
void tg_central_loki_query(const tg_http_request *req, tg_http_response *resp,
                           void *data);
void tg_central_loki_labels(const tg_http_request *req, tg_http_response *resp,
                            void *data);
/* The cost report and the FOCUS export (cost_api.c, docs/cost.md). */
void tg_central_cost_report(const tg_http_request *req, tg_http_response *resp,
                            void *data);
void tg_central_cost_focus(const tg_http_request *req, tg_http_response *resp,
                           void *data);
/* GET /api/v1/audit/report (audit_api.c). */
void tg_central_audit_report(const tg_http_request *req, tg_http_response *resp,
                             void *data);

#endif
