/* Private to the HTTP server (tg_http.c, tg_http_conn.c, tg_http_tls.c,
 * tg_http_route.c) and its tests and fuzz target. Nothing else includes this.
 *
 * Ownership: the server owns its connections (a doubly linked list). A
 * connection owns its read buffer, header buffer, body buffer and the one
 * request object embedded in it. A connection is freed only when both its
 * handles (TCP and timer) have run their close callbacks and no request is
 * outstanding (delivered to the handler and not yet answered), so a handler
 * may answer a request whose client has gone. The server is freed after
 * done_cb, once the listener and every connection are gone. */
#ifndef TG_HTTP_INTERNAL_H
#define TG_HTTP_INTERNAL_H

#include "tg_http.h"

#include <http_parser.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Per-connection read buffer: reused for every read. */
#define TG_HTTP_READ_BUF (64 * 1024)
/* Preallocation from Content-Length stops here; beyond it the body buffer
 * grows as bytes arrive, so a lying Content-Length cannot reserve 16 MiB
 * per connection. */
#define TG_HTTP_PREALLOC_MAX (4 * 1024 * 1024)
/* Body buffers up to this size are kept for the next request on the
 * connection; larger ones are freed after the response, so idle keep-alive
 * connections hold little memory (re-allocating from the heap is cheap
 * next to receiving that many bytes). */
#define TG_HTTP_KEEP_BODY (64 * 1024)
/* After a final response on a connection that will close, read and discard
 * what the client still sends for this long, so its unread bytes do not
 * turn our close into a reset that destroys the response in flight. */
#define TG_HTTP_LINGER_MS 2000
/* Header fields per request; more is refused with 431. */
#define TG_HTTP_MAX_HEADERS 256

typedef struct tg_http_conn tg_http_conn;
typedef struct tg_http_tls_conn tg_http_tls_conn;

/* One buffer on its way to the socket. */
typedef struct tg_http_out {
    uv_write_t req;
    tg_http_conn *conn;
    char data[];
} tg_http_out;

enum tg_http_conn_state {
    TG_HTTP_READING, /* parsing; socket read while no bytes are left over */
    TG_HTTP_PENDING, /* request with the handler; reading stopped */
    TG_HTTP_WRITING, /* response being written; reading stopped */
    TG_HTTP_LINGER,  /* final response queued; discarding input until EOF */
};

/* What the connection's single timer is measuring. */
enum tg_http_phase {
    TG_HTTP_PH_NONE,
    TG_HTTP_PH_HEADER, /* accept or first byte of a request -> end of headers */
    TG_HTTP_PH_BODY,   /* end of headers -> end of message */
    TG_HTTP_PH_IDLE,   /* keep-alive, between requests */
    TG_HTTP_PH_WRITE,  /* response not yet taken by the kernel */
    TG_HTTP_PH_LINGER,
};

typedef struct tg_http_hdr {
    size_t name_off, name_len; /* offsets into conn->hbuf */
    size_t value_off, value_len;
} tg_http_hdr;

struct tg_http_request {
    tg_http_conn *conn;
    const char *method; /* static string from http_method_str() */
    const char *path;   /* into conn->hbuf, stable until the response */
    size_t path_len;
    const char *query; /* NULL when the target has no '?' */
    size_t query_len;
    uint64_t received_ns; /* wall clock at the end of the message */
};

struct tg_http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t cont_req; /* "100 Continue": at most one in flight */
    uv_shutdown_t shutdown_req;
    http_parser parser;
    tg_http_server *server;
    tg_http_conn *prev, *next;
    tg_http_request req;

    enum tg_http_conn_state state;
    enum tg_http_phase phase;
    int handles_open;
    unsigned closing : 1;         /* uv_close() called */
    unsigned reading : 1;         /* uv_read_start() in effect */
    unsigned in_process : 1;      /* inside conn_process(): no re-entry */
    unsigned req_outstanding : 1; /* handler holds conn->req */
    unsigned keep_alive : 1;      /* of the request being answered */
    unsigned rejected : 1;        /* over max_connections: 503 and close */
    unsigned active : 1;          /* counted in server->nactive */
    unsigned in_trailers : 1;     /* headers complete; ignore trailer fields */
    unsigned in_body : 1;         /* between the headers and the end of a body of
                                     known length: reads may go straight into it */
    unsigned last_cb : 2;         /* 0 none, 1 header field, 2 header value */

    int fail_status; /* set by a parser callback that refuses the request */
    const char *fail_msg;

    char *rbuf; /* TG_HTTP_READ_BUF bytes */
    char *ibuf; /* what was read last: rbuf, or the body's free tail; [rpos,
                   rlen) of it not yet parsed */
    size_t rpos, rlen;

    char *hbuf; /* request target, then header names and values */
    size_t hlen, hcap;
    size_t hbytes; /* header section size counted against the limit */
    size_t url_len;
    tg_http_hdr *hdrs;
    size_t nhdrs, hdrcap;

    uint8_t *body;
    size_t blen, bcap;

    tg_http_tls_conn *tls; /* NULL on a plain connection */
    char peer[64];
    uint8_t src[16];    /* the peer's address (4 or 16 bytes), for the per-source cap */
    uint8_t src_len;    /* 0: unknown (not counted against any source) */
    uint8_t capped;     /* holds a slot in the server's shared caps */
    char fail_buf[256]; /* a header check's refusal text (fail_msg points here) */
};

struct tg_http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    tg_http_options opt;
    tg_http_handler handler;
    void *data;
    int port;
    tg_http_conn *conns;
    size_t nconns;     /* allocated connection objects */
    size_t nactive;    /* open, counted against max_connections */
    size_t nrejecting; /* open, being told 503 */
    size_t body_bytes; /* capacity of every connection's body buffer */
    int listening;
    int stopping;
    int listener_closed;
    void (*done_cb)(void *ctx);
    void *done_ctx;
    uv_tcp_t sink; /* accepts and drops a client when memory runs out */
    int sink_busy;
    int sink_owed;           /* a connection waits for uv_accept() while sink_busy */
    char discard[16 * 1024]; /* lingering connections read into this */
};

/* A server with an initialised but unbound listener: tg_http_server_start()
 * binds it; the fuzz target feeds it connections with tg_http__adopt_fd(). */
tg_http_server *tg_http__server_new(uv_loop_t *loop, const tg_http_options *opt,
                                    tg_http_handler handler, void *data, int *err);

/* Serves HTTP on an already connected stream socket `fd` (ownership passes
 * to the server). Returns 0 or a negative TG_E* code. */
int tg_http__adopt_fd(tg_http_server *s, uv_os_sock_t fd);

/* Connection objects still allocated (open, or closed with a request out). */
size_t tg_http__conn_count(const tg_http_server *s);

/* tg_http_tls.c, called by tg_http_conn.c. Ciphertext read from the
 * socket is fed in; tg_http__tls_read() gives plaintext (0: needs more
 * ciphertext; negative: the session failed or the client closed it);
 * whatever OpenSSL has to send (handshake, records, alerts) waits until
 * tg_http__tls_drain() hands it over as one buffer. */
int tg_http__tls_conn_new(tg_http_conn *c, tg_http_tls *t);
void tg_http__tls_conn_free(tg_http_conn *c);
int tg_http__tls_feed(tg_http_conn *c, const char *p, size_t n);
ptrdiff_t tg_http__tls_read(tg_http_conn *c, char *buf, size_t cap);
int tg_http__tls_encrypt(tg_http_conn *c, const void *p, size_t n);
/* Queues close_notify when the session is up. */
void tg_http__tls_close_notify(tg_http_conn *c);
/* Pending output as a malloc'd tg_http_out (*len bytes), or NULL if none
 * (or out of memory: *len is then nonzero). */
tg_http_out *tg_http__tls_drain(tg_http_conn *c, size_t *len);
int tg_http__tls_ready(const tg_http_conn *c); /* handshake done */
const char *tg_http__tls_client_cn(const tg_http_conn *c);
int64_t tg_http__tls_client_not_after(const tg_http_conn *c);

/* tg_http_conn.c, called by tg_http.c. */
tg_http_conn *tg_http__conn_new(tg_http_server *s);
void tg_http__conn_start(tg_http_conn *c);
/* Refuses a new connection with 503 and closes it; per_source says which
 * cap it hit (for the message and the count). */
void tg_http__conn_reject(tg_http_conn *c, int per_source);
/* Fills c->src from the socket's peer address (and c->peer). */
void tg_http__conn_peer(tg_http_conn *c);
void tg_http__conn_close(tg_http_conn *c);
void tg_http__server_conn_freed(tg_http_server *s);
const char *tg_http__find_header(const tg_http_conn *c, const char *name, size_t *len);
void tg_http__respond(tg_http_conn *c, int status, const char *content_type,
                      const char *headers, const void *body, size_t len);

#endif
