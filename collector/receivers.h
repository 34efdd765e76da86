/* The OTLP receivers' protocol glue: OTLP/HTTP routes on a tg_http
 * server and the OTLP/gRPC export handler, both mapped onto tg_ingest and
 * answering per their protocol's conventions. */
#ifndef TG_RECEIVERS_H
#define TG_RECEIVERS_H

#include "ingest.h"
#include "recv_grpc.h"
#include "secure.h"
#include "tg_config.h"
#include "tg_http.h"

#define TG_RECEIVERS_MAX 4

typedef struct tg_receivers {
    tg_ingest *ing;
    uint64_t retry_after_sec; /* Retry-After under backpressure */
    tg_stats *stats;          /* refusals are counted here */
    tg_http_tls *http_tls;    /* OTLP/HTTP over TLS, or NULL (the collector's) */
    tg_http_tls *grpc_tls;    /* OTLP/gRPC over TLS (ALPN h2), or NULL */
    /* Bearer tokens each transport requires (token_files, tokens), with
     * what each may send for, or NULL / empty: none required. The
     * collector's; read-only while serving. */
    const tg_secure_tokens *grpc_tokens, *http_tokens;
    /* With several ingest loops: bind with SO_REUSEPORT and count against
     * caps shared by every loop's server of the kind (by index in
     * tg_receiver_list; NULL: the server's own). */
    int reuseport;
    tg_listen_caps *caps[TG_RECEIVERS_MAX];
} tg_receivers;

/* tg_http_handler for the OTLP/HTTP port; data is a tg_receivers. */
void tg_receivers_http(tg_http_request *req, void *data);

/* A receiver kind: a listener for one transport, started from the
 * collector's configuration with the tg_receivers above as its handler's
 * data. The collector starts every kind in tg_receiver_list and, on
 * shutdown, stops each one and waits for all their done callbacks. */
typedef struct tg_receiver_desc {
    const char *name;      /* "otlp-grpc", "otlp-http": the config section */
    const char *transport; /* "OTLP/gRPC", "OTLP/HTTP": for messages */
    /* The address it listens on, from the configuration. */
    const char *(*listen)(const tg_collector_config *cfg);
    /* Listens and answers on `loop`; NULL with *err on failure. */
    void *(*start)(uv_loop_t *loop, const tg_collector_config *cfg, tg_receivers *rx,
                   int *err);
    /* Stops accepting, answers what it holds, frees the server, then calls
     * done(ctx) if done is not NULL. */
    void (*stop)(void *server, void (*done)(void *ctx), void *ctx);
    /* The port it is bound to (the configured one, or the one port 0 got). */
    int (*port)(void *server);
    /* The caps the servers of this kind share across loops, sized from
     * the configuration. NULL: out of memory. */
    tg_listen_caps *(*caps_new)(const tg_collector_config *cfg);
} tg_receiver_desc;

/* The one list of receiver kinds, NULL-terminated, in start order. */
extern const tg_receiver_desc *const tg_receiver_list[];

#endif
