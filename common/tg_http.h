/* A small HTTP/1.1 server on libuv, framed by http-parser (libhttp-parser).
 *
 * It serves both the OTLP/HTTP receiver and the daemons' API. A request is
 * delivered whole (headers and body, body capped at max_body_bytes) to one
 * handler; the handler answers with tg_http_respond(), at once or later
 * (after a commit, say). Keep-alive and pipelining: requests on one
 * connection are answered in order; reading pauses while one is pending.
 *
 * Limits, each answered with a clear status and message, never a crash:
 * too many connections (503 then close), request bodies beyond the
 * server-wide buffer budget (503 + Retry-After then close), header timeout and body
 * timeout (408 then close), body too large (413), header section too large (431),
 * malformed framing (400 then close). */
#ifndef TG_HTTP_H
#define TG_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct tg_http_server tg_http_server;
typedef struct tg_http_request tg_http_request;

typedef struct tg_http_options {
    size_t max_connections;         /* default 1024 */
    size_t max_body_bytes;          /* default 16 MiB */
    size_t max_header_bytes;        /* default 64 KiB */
    uint64_t header_timeout_ms;     /* default 10 s: whole header section */
    uint64_t body_timeout_ms;       /* default 30 s: whole body */
    uint64_t idle_timeout_ms;       /* default 120 s: keep-alive idle */
    size_t max_buffered_body_bytes; /* all connections' body buffers together,
                                       default 256 MiB; beyond: 503 + Retry-After */
} tg_http_options;

void tg_http_options_default(tg_http_options *o);

/* Called on the loop thread with a complete request. The request stays
 * valid until tg_http_respond() is called on it, even if the client has
 * gone (then the response is discarded). */
typedef void (*tg_http_handler)(tg_http_request *req, void *data);

/* Binds `addr` ("HOST:PORT"; port 0 picks one). Returns NULL and *err. */
tg_http_server *tg_http_server_start(uv_loop_t *loop, const char *addr,
                                     const tg_http_options *opt, tg_http_handler handler,
                                     void *data, int *err);

/* The bound port (useful with port 0). */
int tg_http_server_port(const tg_http_server *s);

/* Stops accepting; closes idle connections; connections with a pending
 * request are closed after their response. Calls done_cb when all closed. */
void tg_http_server_stop(tg_http_server *s, void (*done_cb)(void *ctx), void *ctx);

/* Request accessors. Strings are not NUL-terminated unless stated. */
const char *tg_http_method(const tg_http_request *r); /* "GET", NUL-terminated */
const char *tg_http_path(const tg_http_request *r, size_t *len);  /* without query */
const char *tg_http_query(const tg_http_request *r, size_t *len); /* after '?', or NULL */
/* Header value by case-insensitive name, or NULL. */
const char *tg_http_header(const tg_http_request *r, const char *name, size_t *len);
const uint8_t *tg_http_body(const tg_http_request *r, size_t *len);
/* Peer address as "ip:port", NUL-terminated. */
const char *tg_http_peer(const tg_http_request *r);

/* Sends the response and releases the request. `headers` is extra header
 * lines, each ending in "\r\n", or NULL. Always succeeds from the caller's
 * view: a gone client just drops it. */
void tg_http_respond(tg_http_request *r, int status, const char *content_type,
                     const char *headers, const void *body, size_t len);

/* Query-string helper: value of `key` in `query` (URL-decoded into buf,
 * NUL-terminated). Returns length, or -1 if absent or too long. */
int tg_http_query_param(const char *query, size_t qlen, const char *key, char *buf,
                        size_t buflen);

#endif
