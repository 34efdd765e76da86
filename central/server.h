/* The central view's HTTP/1.1 server, plain or TLS (optionally mutual),
 * framed by http-parser.
 *
 * Why not common/tg_http (libuv): it has no TLS, and the centre's peers
 * are a few dozen sites on long keep-alive connections, each sending one
 * request at a time. A thread per connection with blocking OpenSSL I/O is
 * the simplest correct TLS server for that load, and lets a handler write
 * to LMDB durably before it answers without any loop to keep unblocked.
 * Connections are capped; each has header, body and idle timeouts.
 *
 * The handler runs on the connection's thread; it must be thread-safe. */
#ifndef TG_CENTRAL_SERVER_H
#define TG_CENTRAL_SERVER_H

#include <stddef.h>
#include <stdint.h>

typedef struct tg_srv tg_srv;

typedef struct tg_srv_options {
    size_t max_connections;    /* default 256 */
    size_t max_body_bytes;     /* default 64 MiB */
    uint64_t timeout_ms;       /* reading a request, default 30 s */
    uint64_t idle_ms;          /* keep-alive idle, default 120 s */
    const char *tls_cert_file; /* NULL or "": plain HTTP */
    const char *tls_key_file;
    const char *tls_client_ca_file; /* verify client certificates against it */
    int tls_require_client_cert;
} tg_srv_options;

#define TG_SRV_MAX_HEADERS 32

typedef struct tg_srv_request {
    char method[16];
    char path[1024];
    char query[1024];
    size_t n_headers;
    struct {
        char name[64];
        char value[1024];
    } headers[TG_SRV_MAX_HEADERS];
    const uint8_t *body;
    size_t body_len;
    char peer[64];
    int tls;
    char client_cert_cn[256];      /* "" without a verified client certificate */
    int64_t client_cert_not_after; /* unix seconds, 0 without one */
    uint64_t received_ns;          /* wall clock when the request was complete */
} tg_srv_request;

typedef struct tg_srv_response {
    int status;
    const char *content_type;
    char headers[512]; /* extra header lines, each ending in \r\n */
    uint8_t *body;     /* malloc'd; the server frees it */
    size_t len;
} tg_srv_response;

typedef void (*tg_srv_handler)(void *ctx, const tg_srv_request *req,
                               tg_srv_response *resp);

/* Binds `addr` ("HOST:PORT", port 0 picks one) and starts accepting.
 * NULL with a message on failure (bind, TLS files). */
tg_srv *tg_srv_start(const char *addr, const tg_srv_options *opt, tg_srv_handler h,
                     void *ctx, char *err, size_t errlen);
int tg_srv_port(const tg_srv *s);
/* Expiry of the server's own certificate (unix s), 0 without TLS. */
int64_t tg_srv_cert_not_after(const tg_srv *s);
/* Stops accepting, closes every connection, waits for their threads. */
void tg_srv_stop(tg_srv *s);

/* Header value by case-insensitive name, or NULL. */
const char *tg_srv_header(const tg_srv_request *r, const char *name);

/* Sets a response with a copy of `body`. */
void tg_srv_reply(tg_srv_response *resp, int status, const char *content_type,
                  const void *body, size_t len);
void tg_srv_reply_text(tg_srv_response *resp, int status, const char *text);

#endif
