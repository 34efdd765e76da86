/* Internals of the OTLP/gRPC server, shared by its two halves:
 *   recv_grpc.c       listener, connections, socket I/O, timers, shutdown;
 *   recv_grpc_call.c  HTTP/2 streams as gRPC calls: nghttp2 callbacks,
 *                     message framing, responses and trailers.
 *
 * Ownership. The server owns its connections; a connection owns its
 * nghttp2 session and lists the calls whose stream is still open. A call
 * is shared by its stream and, once dispatched, by the export handler:
 * `refs` holds one bit for each, and the call is freed when both are gone.
 * A call whose stream or connection has gone is "detached" (conn == NULL)
 * and only waits for tg_grpc_call_finish() to free it; it never points at
 * the connection or server again, so either may be freed first.
 *
 * Memory bound. A call buffers at most one message (max_message_bytes + the
 * 5-byte prefix), growing as bytes arrive rather than trusting the declared
 * length. All partially received messages of the server together are
 * capped at TG_GRPC_BUFFER_MESSAGES x max_message_bytes; a stream that
 * would go beyond is answered RESOURCE_EXHAUSTED with a retry hint. Per
 * connection, nghttp2 queues at most one outbound write (~64 KiB) plus its
 * own bounded control-frame queue; a message is freed as soon as the
 * handler returns. */
#ifndef TG_RECV_GRPC_INT_H
#define TG_RECV_GRPC_INT_H

#include <nghttp2/nghttp2.h>

#include "recv_grpc.h"

/* Cap on all partially received messages, in units of max_message_bytes. */
#define TG_GRPC_BUFFER_MESSAGES 16
/* Per-stream and per-connection HTTP/2 receive windows. */
#define TG_GRPC_STREAM_WINDOW (1u << 20)
#define TG_GRPC_CONN_WINDOW (16u << 20)
/* One uv_write carries at most about this much; nghttp2 keeps the rest. */
#define TG_GRPC_WRITE_CHUNK (64u << 10)
/* After stop, connections with calls still in the handler get this long. */
#define TG_GRPC_STOP_GRACE_MS 10000
/* Retry hint when the server-wide receive budget is full. */
#define TG_GRPC_BUSY_RETRY_MS 1000
/* The codecs a request may name in grpc-encoding, as advertised in
 * grpc-accept-encoding. */
#define TG_GRPC_ACCEPT_ENCODING "identity,gzip,deflate,zstd"

typedef struct tg_grpc_conn tg_grpc_conn;

struct tg_grpc_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t stop_timer;
    tg_grpc_options opt;
    tg_grpc_export_fn fn;
    void *fn_data;
    nghttp2_session_callbacks *cbs;
    tg_grpc_conn *conns; /* doubly linked */
    size_t nconns;       /* including ones closing */
    size_t nrefused;     /* over-limit sockets still closing */
    size_t buffered;     /* bytes of partially received messages */
    size_t buffer_cap;
    int port;
    int stopping;
    int listener_open;
    int stop_timer_open;
    void (*done_cb)(void *ctx);
    void *done_ctx;
    uint8_t rbuf[64 * 1024]; /* read buffer: each read is consumed at once */
};

struct tg_grpc_conn {
    uv_tcp_t tcp;
    uv_timer_t timer; /* idle and request deadlines */
    tg_grpc_server *srv;
    tg_grpc_conn *prev, *next;
    nghttp2_session *h2; /* NULL once closing */
    tg_grpc_call *calls; /* calls whose stream is open, oldest first */
    tg_grpc_call *calls_tail;
    size_t ncalls;
    uint64_t idle_since; /* loop time when ncalls last became 0 */
    uv_write_t wreq;
    uint8_t *wbuf;
    size_t wlen, wcap;
    int writing;
    int in_recv;       /* inside nghttp2_session_mem_recv: no send, no close */
    int close_pending; /* close requested while in_recv */
    int closing;
    int handles_open;
    uint64_t preface_due; /* loop time; 0 once the preface and SETTINGS are in */
    size_t bytes_in;      /* until the preface is in */
    uint8_t src[16];      /* the peer's address, for the per-source cap */
    uint8_t src_len;
    tg_http_tls_session *tls; /* NULL: h2c */
    int tls_dead;             /* handshake or session failed: send what is
                                 pending (an alert), then close */
    uint8_t capped;           /* holds a slot in the server's shared caps */
};

enum tg_grpc_call_state {
    TG_GRPC_CALL_HEADERS,   /* request headers arriving */
    TG_GRPC_CALL_RECEIVING, /* accepted; message bytes arriving */
    TG_GRPC_CALL_HANDLER,   /* dispatched; waiting for tg_grpc_call_finish */
    TG_GRPC_CALL_RESPONDED, /* response submitted */
};

#define TG_GRPC_REF_STREAM 1u
#define TG_GRPC_REF_HANDLER 2u

struct tg_grpc_call {
    tg_grpc_conn *conn; /* NULL once detached */
    tg_grpc_call *prev, *next;
    int32_t stream_id;
    unsigned refs;
    enum tg_grpc_call_state state;
    uint64_t deadline; /* loop time by which the message must have arrived */

    /* request headers */
    enum tg_signal sig;
    enum tg_compression enc;
    unsigned known_path : 1, post : 1, grpc_ct : 1, enc_ok : 1, got_timeout : 1;
    const void *auth;    /* what authorize returned; NULL: not authorized */
    uint64_t timeout_ms; /* grpc-timeout, when got_timeout */
    char path[160];      /* for "unknown method" only; truncated */
    char bad_enc[40];    /* unsupported grpc-encoding, truncated */

    /* message framing: 5-byte prefix then the body */
    uint8_t prefix[5];
    uint8_t prefix_got;
    uint8_t nmsgs;    /* complete messages */
    uint32_t msg_len; /* declared length */
    uint8_t *buf;     /* body so far; counted in srv->buffered */
    size_t got, cap;

    /* response */
    int status;
    uint8_t *out; /* prefixed response message */
    size_t out_len, out_off;
    char *trailer_msg;     /* percent-encoded grpc-message, or NULL */
    char *trailer_details; /* base64 grpc-status-details-bin, or NULL */
    uint64_t pushback_ms;
};

/* recv_grpc_call.c */
int tg_grpc__callbacks_new(nghttp2_session_callbacks **out);
/* Detach every call of a connection that is going away. */
void tg_grpc__conn_detach_calls(tg_grpc_conn *c);
/* Answer calls whose message has not arrived by `now`. */
void tg_grpc__conn_expire_calls(tg_grpc_conn *c, uint64_t now);

/* recv_grpc.c */
/* Write what nghttp2 has queued, or close when the session is done. Does
 * nothing inside nghttp2_session_mem_recv: the read path flushes after. */
void tg_grpc__conn_flush(tg_grpc_conn *c);
void tg_grpc__conn_close(tg_grpc_conn *c);
/* Track a new call with an open stream (for deadlines and idleness). */
void tg_grpc__conn_add_call(tg_grpc_conn *c, tg_grpc_call *call);
void tg_grpc__conn_remove_call(tg_grpc_conn *c, tg_grpc_call *call);
/* Make sure the connection's timer fires within `ms` (a call deadline). */
void tg_grpc__conn_wake_within(tg_grpc_conn *c, uint64_t ms);

#endif
