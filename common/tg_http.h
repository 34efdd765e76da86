/* The one HTTP/1.1 server: libuv, framed by http-parser (libhttp-parser),
 * plain or TLS (OpenSSL over memory BIOs, optionally mutual).
 *
 * It serves the OTLP/HTTP receiver, the site API and the central view. A
 * request is
 * delivered whole (headers and body, body capped at max_body_bytes) to one
 * handler; the handler answers with tg_http_respond(), at once or later
 * (after a commit, say). Keep-alive and pipelining: requests on one
 * connection are answered in order; reading pauses while one is pending.
 *
 * Limits, each answered with a clear status and message, never a crash:
 * too many connections (503 then close), request bodies beyond the
 * server-wide buffer budget (503 + Retry-After then close), header timeout and body
 * timeout (408 then close), body too large (413), header section too large (431),
 * malformed framing (400 then close), more than max_connections_per_source
 * from one address (503 then close), a request refused from its headers by
 * check_headers (its status, before any of the body is read). Each refusal
 * is counted in `refusals` by reason (tg_refuse.h). */
#ifndef TG_HTTP_H
#define TG_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tg_listen.h"
#include "tg_refuse.h"

typedef struct tg_http_server tg_http_server;
typedef struct tg_http_request tg_http_request;
typedef struct tg_http_tls tg_http_tls;
typedef struct tg_http_response tg_http_response;

/* Where a TLS server finds its files (PEM). */
typedef struct tg_http_tls_options {
    const char *cert_file;      /* certificate chain */
    const char *key_file;       /* its private key */
    const char *client_ca_file; /* NULL or "": no client certificates asked for;
                                   else one that does not verify against it fails
                                   the handshake */
    int require_client_cert;    /* with client_ca_file: fail the handshake
                                   without a client certificate */
    const char *alpn;           /* NULL: no ALPN. Else the one protocol the server
                                   speaks ("h2" for gRPC): selected when a client
                                   offers it; a client that offers others but not
                                   it fails the handshake */
} tg_http_tls_options;

/* Loads the certificate, key and client CA. NULL with a message naming the
 * file on failure. One context may serve several servers; it must outlive
 * every server using it (free it after their done_cb). */
tg_http_tls *tg_http_tls_new(const tg_http_tls_options *o, char *err, size_t errlen);
void tg_http_tls_free(tg_http_tls *t);
/* Loads the files again (a renewed certificate) into t: new connections
 * use them, open ones keep theirs. On failure t is unchanged. Safe from
 * any thread while loops serve with t (the swap is locked; a connection
 * holds its own reference to the context it began with). 0 or
 * TG_ECONFIG. */
int tg_http_tls_reload(tg_http_tls *t, const tg_http_tls_options *o, char *err,
                       size_t errlen);
/* Expiry of the server's own certificate, unix seconds. */
int64_t tg_http_tls_cert_not_after(const tg_http_tls *t);

/* One server-side TLS session over memory BIOs, for a server that frames
 * its own protocol over a libuv socket (the OTLP/gRPC receiver's HTTP/2;
 * tg_http's connections use the same sessions). Ciphertext read from the
 * socket goes in with _feed(); _read() runs the handshake and gives
 * plaintext; _write() encrypts; what OpenSSL has to send (handshake,
 * records, alerts) waits in the session until _take() copies it out.
 * Memory BIOs never block. Owned by one loop thread. */
typedef struct tg_http_tls_conn tg_http_tls_session;

/* `peer` names the client in debug logs (copied). NULL when out of memory. */
tg_http_tls_session *tg_http_tls_session_new(tg_http_tls *t, const char *peer);
void tg_http_tls_session_free(tg_http_tls_session *s);
/* 0, or TG_ENOMEM. */
int tg_http_tls_session_feed(tg_http_tls_session *s, const void *p, size_t n);
/* Plaintext bytes (> 0), 0 when more ciphertext is needed, TG_ECLOSED when
 * the client closed the session, TG_EPROTOCOL when it failed (handshake
 * refused: a client that does not speak TLS, a certificate that does not
 * verify, no common ALPN protocol). */
ptrdiff_t tg_http_tls_session_read(tg_http_tls_session *s, void *buf, size_t cap);
/* Encrypts all n bytes; 0, or TG_EPROTOCOL before the handshake is done or
 * after a failure. */
int tg_http_tls_session_write(tg_http_tls_session *s, const void *p, size_t n);
/* Ciphertext waiting to be sent, and up to n of it copied out (returns the
 * count). */
size_t tg_http_tls_session_pending(const tg_http_tls_session *s);
size_t tg_http_tls_session_take(tg_http_tls_session *s, void *buf, size_t n);
/* 1 once the handshake is done (and the session has not failed). */
int tg_http_tls_session_ready(const tg_http_tls_session *s);

typedef struct tg_http_options {
    size_t max_connections;            /* default 1024 */
    size_t max_body_bytes;             /* default 16 MiB */
    size_t max_header_bytes;           /* default 64 KiB */
    uint64_t header_timeout_ms;        /* default 10 s: whole header section */
    uint64_t body_timeout_ms;          /* default 30 s: whole body */
    uint64_t idle_timeout_ms;          /* default 120 s: keep-alive idle */
    size_t max_buffered_body_bytes;    /* all connections' body buffers together,
                                          default 256 MiB; beyond: 503 + Retry-After */
    tg_http_tls *tls;                  /* NULL: plain HTTP. Over TLS a refused
                                          connection (max_connections) or a failed
                                          handshake is closed without an answer */
    size_t max_connections_per_source; /* one client address's share of
                                          max_connections; 0: no cap of its own */
    tg_refusals *refusals;             /* NULL: refusals not counted; else it
                                          must outlive the server */
    /* NULL, or called on the loop thread when a request's header section
     * is complete, before any of its body is read (tg_http_header_check
     * below; data is the handler's). */
    int (*check_headers)(const tg_http_request *req, void *data, tg_http_response *resp);
    /* Several loops serving one address (tg_listen.h): bind with
     * SO_REUSEPORT, and count connections, connections per source and
     * buffered bodies in `caps`, shared by the address's servers on every
     * loop (which then hold max_connections, max_connections_per_source
     * and max_buffered_body_bytes; the fields above must match them). */
    int reuseport;
    tg_listen_caps *caps;
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

/* The caps for the servers of one address on several loops, sized from
 * the options as one server would size its own. NULL: out of memory. */
tg_listen_caps *tg_http_caps_new(const tg_http_options *opt);

/* The bound port (useful with port 0). */
int tg_http_server_port(const tg_http_server *s);

/* Stops accepting; closes idle connections; connections with a pending
 * request are closed after their response. Calls done_cb when all closed. */
void tg_http_server_stop(tg_http_server *s, void (*done_cb)(void *ctx), void *ctx);

/* Request accessors. Strings are not NUL-terminated unless stated. */
const char *tg_http_method(const tg_http_request *r); /* "GET", NUL-terminated */
const char *tg_http_path(const tg_http_request *r, size_t *len);  /* without query */
const char *tg_http_query(const tg_http_request *r, size_t *len); /* after '?', or NULL */
/* Header value by case-insensitive name, or NULL; NUL-terminated, with
 * *len (if given) its length. */
const char *tg_http_header(const tg_http_request *r, const char *name, size_t *len);
const uint8_t *tg_http_body(const tg_http_request *r, size_t *len);
/* Peer address as "ip:port", NUL-terminated. */
const char *tg_http_peer(const tg_http_request *r);
/* Wall clock (unix ns) when the request was complete, before any queueing. */
uint64_t tg_http_received_ns(const tg_http_request *r);
/* 1 when the request came over TLS. */
int tg_http_is_tls(const tg_http_request *r);
/* The verified client certificate's subject CN, NUL-terminated, "" without
 * one; and its notAfter (unix s, 0 without one). */
const char *tg_http_client_cn(const tg_http_request *r);
int64_t tg_http_client_not_after(const tg_http_request *r);

/* Sends the response and releases the request. `headers` is extra header
 * lines, each ending in "\r\n", or NULL. Always succeeds from the caller's
 * view: a gone client just drops it. */
void tg_http_respond(tg_http_request *r, int status, const char *content_type,
                     const char *headers, const void *body, size_t len);

/* Query-string helper: value of `key` in `query` (URL-decoded into buf,
 * NUL-terminated). Returns length, -1 if absent, or -2 if present but
 * longer than buflen - 1 (so a caller can refuse it rather than ignore it). */
int tg_http_query_param(const char *query, size_t qlen, const char *key, char *buf,
                        size_t buflen);

/* ---- routes --------------------------------------------------------------
 *
 * A daemon's endpoints as one table: method, path (or path prefix), and a
 * handler that runs either on the loop thread (answering with
 * tg_http_respond(), at once or later) or on a libuv worker thread, where it
 * may block (LMDB, the network) and fills a tg_http_response that the
 * server sends from the loop thread. */

/* What a worker-thread handler answers. Zero-initialised by the server;
 * status 0 when the handler returns is answered 500. */
typedef struct tg_http_response {
    int status;
    const char *content_type; /* a static string, or NULL */
    char headers[512];        /* extra header lines, each ending in "\r\n" */
    void *body;               /* malloc'd; the server frees it */
    size_t len;
} tg_http_response;

/* Sets status, content type and a copy of `body` (replacing any earlier
 * body). Out of memory: 503 with no body. */
void tg_http_response_set(tg_http_response *resp, int status, const char *content_type,
                          const void *body, size_t len);
/* A text/plain answer. */
void tg_http_response_text(tg_http_response *resp, int status, const char *text);

/* Runs on a worker thread. The request's accessors may be used; the
 * request must not be answered with tg_http_respond(). */
typedef void (*tg_http_work_handler)(const tg_http_request *req, tg_http_response *resp,
                                     void *data);

/* Runs on the loop thread as soon as a request's header section is complete,
 * before its body is read, so a request that cannot be authorised from its
 * headers costs no body buffer (40 unauthenticated 60 MB uploads cost
 * nothing). Returns 0 to read the body and run the handler; nonzero to
 * refuse: resp holds the status and text (its extra headers are not sent),
 * the connection is closed after it, and the refusal counts as
 * "unauthorized" for 401 and 403. Must not block. */
typedef int (*tg_http_header_check)(const tg_http_request *req, void *data,
                                    tg_http_response *resp);

typedef struct tg_http_route {
    const char *method; /* "GET" (which HEAD also takes), "POST"...; NULL: any */
    const char *path;   /* the whole path, or its beginning when prefix is set */
    int prefix;
    tg_http_handler handler;    /* on the loop thread, or NULL and: */
    tg_http_work_handler work;  /* on a worker thread */
    tg_http_header_check check; /* NULL, or refuses from the headers */
} tg_http_route;

typedef struct tg_http_router {
    const tg_http_route *routes;
    size_t n;
    void *data; /* handed to every handler */
} tg_http_router;

/* A tg_http_handler whose data is a tg_http_router. The first route whose
 * path and method match takes the request. A path no route has is 404
 * "not found"; a path whose routes want other methods is 405 with Allow
 * and "<METHOD> only". */
void tg_http_dispatch(tg_http_request *req, void *router);

/* The check_headers of a server whose handler is tg_http_dispatch: runs
 * the check of the route that will take the request, if it has one. */
int tg_http_dispatch_check(const tg_http_request *req, void *router,
                           tg_http_response *resp);

#endif
