/* OTLP/gRPC server: HTTP/2 cleartext with prior knowledge (h2c), or over
 * TLS with ALPN "h2" (tg_http's TLS sessions), framed by nghttp2 over
 * libuv. Serves the unary Export method of the trace, logs and
 * metrics services:
 *   /opentelemetry.proto.collector.trace.v1.TraceService/Export
 *   /opentelemetry.proto.collector.logs.v1.LogsService/Export
 *   /opentelemetry.proto.collector.metrics.v1.MetricsService/Export
 *
 * The server knows nothing of decoding or storage: for each complete
 * request message it calls the export handler, which finishes the call
 * (at once or after a commit) with tg_grpc_call_finish(). */
#ifndef TG_RECV_GRPC_H
#define TG_RECV_GRPC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tg_compress.h"
#include "tg_http.h"
#include "tg_listen.h"
#include "tg_otlp.h"
#include "tg_refuse.h"

typedef struct tg_grpc_server tg_grpc_server;
typedef struct tg_grpc_call tg_grpc_call;

/* gRPC status codes used here. */
enum {
    TG_GRPC_OK = 0,
    TG_GRPC_CANCELLED = 1,
    TG_GRPC_INVALID_ARGUMENT = 3,
    TG_GRPC_DEADLINE_EXCEEDED = 4,
    TG_GRPC_PERMISSION_DENIED = 7,
    TG_GRPC_RESOURCE_EXHAUSTED = 8,
    TG_GRPC_UNIMPLEMENTED = 12,
    TG_GRPC_INTERNAL = 13,
    TG_GRPC_UNAVAILABLE = 14,
    TG_GRPC_UNAUTHENTICATED = 16,
};

typedef struct tg_grpc_options {
    uint32_t max_concurrent_streams; /* per connection, default 100 */
    size_t max_message_bytes;        /* compressed message cap, default 16 MiB */
    size_t max_connections;          /* default 1024 */
    uint64_t idle_timeout_ms;        /* default 300 s */
    uint64_t request_timeout_ms;     /* whole message must arrive within, default 30 s */
    uint64_t preface_timeout_ms;     /* the client's HTTP/2 preface and SETTINGS must
                                        arrive within, default 10 s: a socket that
                                        sends nothing does not hold a slot for the
                                        idle timeout */
    size_t max_connections_per_source; /* one address's share of max_connections;
                                          0: no cap of its own */
    tg_refusals *refusals;             /* NULL: refusals not counted */
    /* NULL: no authentication. Else called on the loop thread with the
     * call's `authorization` metadata ("" when absent); NULL refuses the
     * call with UNAUTHENTICATED, anything else is kept with the call
     * (tg_grpc_call_auth). */
    const void *(*authorize)(void *ctx, const char *authorization);
    void *authorize_ctx;
    tg_http_tls *tls; /* NULL: h2c. Else TLS (its context must carry ALPN
                         "h2" and outlive the server); a client that does
                         not complete the handshake within preface_timeout
                         is closed */
    /* Several loops serving one address (tg_listen.h): bind with
     * SO_REUSEPORT and count connections, connections per source and
     * buffered messages in `caps`, shared by the address's servers on every
     * loop. */
    int reuseport;
    tg_listen_caps *caps;
} tg_grpc_options;

void tg_grpc_options_default(tg_grpc_options *o);

/* One complete request message of `sig`. `msg` is the message body with
 * the 5-byte gRPC prefix removed, still compressed when comp != NONE (the
 * grpc-encoding header named the codec and the prefix flag was set). `msg`
 * is valid only during the call. */
typedef void (*tg_grpc_export_fn)(void *data, tg_grpc_call *call, enum tg_signal sig,
                                  enum tg_compression comp, const uint8_t *msg,
                                  size_t len);

tg_grpc_server *tg_grpc_server_start(uv_loop_t *loop, const char *addr,
                                     const tg_grpc_options *opt, tg_grpc_export_fn fn,
                                     void *data, int *err);
int tg_grpc_server_port(const tg_grpc_server *s);

/* The caps for the servers of one address on several loops, sized from
 * the options as one server would size its own. NULL: out of memory. */
tg_listen_caps *tg_grpc_caps_new(const tg_grpc_options *opt);

/* Finishes a call: on TG_GRPC_OK sends `resp` (a protobuf Export*Response)
 * as the single response message; otherwise no message. Trailers carry
 * grpc-status and grpc-message (percent-encoded). Safe if the client has
 * gone. `retry_after_ms` > 0 adds a retry-pushback hint for RESOURCE_EXHAUSTED
 * and UNAVAILABLE. */
void tg_grpc_call_finish(tg_grpc_call *call, int grpc_status, const char *message,
                         const uint8_t *resp, size_t resp_len, uint64_t retry_after_ms);

/* What authorize returned for this call (NULL without authentication). */
const void *tg_grpc_call_auth(const tg_grpc_call *call);

void tg_grpc_server_stop(tg_grpc_server *s, void (*done_cb)(void *ctx), void *ctx);

#endif
