/* OTLP/gRPC server: the listener, its connections and their socket I/O.
 *
 * Each accepted socket gets an nghttp2 server session. Bytes read are fed
 * to nghttp2_session_mem_recv at once (so one read buffer serves the whole
 * server); what nghttp2 queues is drained with nghttp2_session_mem_send
 * into one uv_write at a time, at most ~TG_GRPC_WRITE_CHUNK per write, so
 * a slow reader holds back only nghttp2's own queue, never a growing
 * buffer of ours. A connection ends when nghttp2 neither wants to read
 * nor to write (after GOAWAY and its last stream), on a socket error or
 * EOF, or on a framing error nghttp2 reports.
 *
 * Stream-level logic lives in recv_grpc_call.c; ownership and the memory
 * bound are described in recv_grpc_int.h. */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "recv_grpc_int.h"
#include "tg_list.h"
#include "tg_err.h"
#include "tg_log.h"

#define TG_GRPC_TIMEOUT_MAX_MS (UINT64_C(1) << 40) /* ~35 years */

void tg_grpc_options_default(tg_grpc_options *o)
{
    memset(o, 0, sizeof(*o));
    o->max_concurrent_streams = 100;
    o->max_message_bytes = 16u << 20;
    o->max_connections = 1024;
    o->idle_timeout_ms = 300000;
    o->request_timeout_ms = 30000;
    o->preface_timeout_ms = 10000;
    o->authorize = NULL;
    o->authorize_ctx = NULL;
}

/* ---- addresses -------------------------------------------------------------- */

/* ---- server lifetime -------------------------------------------------------- */

static void server_free(tg_grpc_server *s)
{
    if (s->cbs)
        nghttp2_session_callbacks_del(s->cbs);
    free(s);
}

static void on_stop_timer_closed(uv_handle_t *h)
{
    tg_grpc_server *s = h->data;
    void (*cb)(void *) = s->done_cb;
    void *ctx = s->done_ctx;

    server_free(s);
    if (cb)
        cb(ctx);
}

/* Once the listener and every connection are closed, close the last
 * handle; done_cb runs from its close callback. */
static void server_maybe_done(tg_grpc_server *s)
{
    if (!s->stopping || s->listener_open || s->nconns || s->nrefused)
        return;
    if (s->stop_timer_open) {
        s->stop_timer_open = 0;
        uv_close((uv_handle_t *)&s->stop_timer, on_stop_timer_closed);
    }
}

static void on_listener_closed(uv_handle_t *h)
{
    tg_grpc_server *s = h->data;

    s->listener_open = 0;
    server_maybe_done(s);
}

/* ---- connections ------------------------------------------------------------ */

static void on_conn_handle_closed(uv_handle_t *h)
{
    tg_grpc_conn *c = h->data;
    tg_grpc_server *s = c->srv;

    if (--c->handles_open > 0)
        return;
    TG_LIST_UNLINK(s->conns, c);
    s->nconns--;
    tg_http_tls_session_free(c->tls);
    if (c->capped)
        tg_listen_caps_give(s->opt.caps, c->src, c->src_len);
    free(c->wbuf);
    free(c);
    server_maybe_done(s);
}

void tg_grpc__conn_close(tg_grpc_conn *c)
{
    if (c->closing)
        return;
    if (c->in_recv) {
        c->close_pending = 1;
        return;
    }
    c->closing = 1;
    tg_grpc__conn_detach_calls(c);
    if (c->h2) {
        nghttp2_session_del(c->h2);
        c->h2 = NULL;
    }
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

static void on_write(uv_write_t *req, int status)
{
    tg_grpc_conn *c = req->data;

    c->writing = 0;
    c->wlen = 0;
    if (status < 0) {
        tg_grpc__conn_close(c);
        return;
    }
    tg_grpc__conn_flush(c);
}

/* Writes c->wbuf[0..wlen) (one write in flight at a time; on_write
 * empties it), or closes the connection when the write cannot start. */
static void write_wbuf(tg_grpc_conn *c)
{
    uv_buf_t buf = uv_buf_init((char *)c->wbuf, (unsigned)c->wlen);

    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &buf, 1, on_write) != 0) {
        tg_grpc__conn_close(c);
        return;
    }
    c->writing = 1;
}

/* Over TLS, what nghttp2 queues is encrypted into the session (once the
 * handshake is done), and the session's ciphertext, handshake and alerts
 * included, is what goes out: at most about one TG_GRPC_WRITE_CHUNK per
 * write, as in the clear. */
static void conn_flush_tls(tg_grpc_conn *c)
{
    size_t n;

    while (!c->tls_dead && tg_http_tls_session_ready(c->tls) &&
           tg_http_tls_session_pending(c->tls) < TG_GRPC_WRITE_CHUNK) {
        const uint8_t *p;
        ssize_t m = nghttp2_session_mem_send(c->h2, &p);

        if (m == 0)
            break;
        if (m < 0 || tg_http_tls_session_write(c->tls, p, (size_t)m) != 0) {
            tg_grpc__conn_close(c);
            return;
        }
    }
    n = tg_http_tls_session_pending(c->tls);
    if (n > 0) {
        if (n > c->wcap) {
            uint8_t *nb = realloc(c->wbuf, n);
            if (!nb) {
                tg_grpc__conn_close(c);
                return;
            }
            c->wbuf = nb;
            c->wcap = n;
        }
        c->wlen = tg_http_tls_session_take(c->tls, c->wbuf, n);
        write_wbuf(c);
        return;
    }
    if (c->tls_dead ||
        (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)))
        tg_grpc__conn_close(c);
}

/* Ciphertext in, plaintext to nghttp2. *plain counts what nghttp2 took.
 * Returns nghttp2's error, or 0 (a TLS failure sets tls_dead). */
static ssize_t conn_recv_tls(tg_grpc_conn *c, const uint8_t *p, size_t n, size_t *plain)
{
    ptrdiff_t got;

    *plain = 0;
    if (c->tls_dead)
        return 0;
    if (tg_http_tls_session_feed(c->tls, p, n) != 0) {
        c->tls_dead = 1;
        return 0;
    }
    /* The ciphertext is in the session now: the read buffer takes the
     * plaintext. */
    while ((got = tg_http_tls_session_read(c->tls, c->srv->rbuf, sizeof(c->srv->rbuf))) >
           0) {
        ssize_t rv = nghttp2_session_mem_recv(c->h2, c->srv->rbuf, (size_t)got);
        if (rv < 0)
            return rv;
        *plain += (size_t)got;
    }
    if (got < 0) {
        if (got != TG_ECLOSED && !tg_http_tls_session_ready(c->tls))
            tg_refuse_count(c->srv->opt.refusals, TG_REFUSED_MALFORMED);
        c->tls_dead = 1;
    }
    return 0;
}

void tg_grpc__conn_flush(tg_grpc_conn *c)
{
    if (c->closing || c->in_recv || c->writing)
        return;
    if (c->tls) {
        conn_flush_tls(c);
        return;
    }
    while (c->wlen < TG_GRPC_WRITE_CHUNK) {
        const uint8_t *p;
        ssize_t n = nghttp2_session_mem_send(c->h2, &p);

        if (n < 0) {
            tg_debug("grpc connection send failed", "err=%s", nghttp2_strerror((int)n));
            tg_grpc__conn_close(c);
            return;
        }
        if (n == 0)
            break;
        if (c->wlen + (size_t)n > c->wcap) {
            size_t cap = c->wcap ? c->wcap : 16 * 1024;
            uint8_t *nb;
            while (cap < c->wlen + (size_t)n)
                cap *= 2;
            nb = realloc(c->wbuf, cap);
            if (!nb) {
                tg_grpc__conn_close(c);
                return;
            }
            c->wbuf = nb;
            c->wcap = cap;
        }
        memcpy(c->wbuf + c->wlen, p, (size_t)n);
        c->wlen += (size_t)n;
    }
    if (c->wlen > 0) {
        write_wbuf(c);
        return;
    }
    if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2))
        tg_grpc__conn_close(c);
}

static void on_conn_timer(uv_timer_t *t);

static void conn_arm_timer(tg_grpc_conn *c)
{
    const tg_grpc_options *opt = &c->srv->opt;
    uint64_t now = uv_now(c->srv->loop), due = UINT64_MAX;

    if (c->closing)
        return;
    if (c->ncalls == 0)
        due = c->idle_since + opt->idle_timeout_ms;
    if (c->preface_due && c->preface_due < due)
        due = c->preface_due;
    for (tg_grpc_call *call = c->calls; call; call = call->next) {
        if (call->state <= TG_GRPC_CALL_RECEIVING && call->deadline < due)
            due = call->deadline;
    }
    if (due == UINT64_MAX)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_conn_timer, due > now ? due - now : 0, 0);
}

static void on_conn_timer(uv_timer_t *t)
{
    tg_grpc_conn *c = t->data;
    uint64_t now = uv_now(c->srv->loop);

    if (c->closing)
        return;
    if (c->preface_due && now >= c->preface_due) {
        tg_refuse_count(c->srv->opt.refusals, TG_REFUSED_PREFACE_TIMEOUT);
        tg_debug("grpc connection closed: no preface", "timeout_ms=%llu",
                 (unsigned long long)c->srv->opt.preface_timeout_ms);
        tg_grpc__conn_close(c);
        return;
    }
    tg_grpc__conn_expire_calls(c, now);
    if (c->ncalls == 0 && now >= c->idle_since + c->srv->opt.idle_timeout_ms) {
        /* GOAWAY(NO_ERROR); the flush closes once it is written. */
        tg_debug("grpc connection idle", "idle_ms=%llu",
                 (unsigned long long)c->srv->opt.idle_timeout_ms);
        nghttp2_session_terminate_session(c->h2, NGHTTP2_NO_ERROR);
    } else {
        conn_arm_timer(c);
    }
    tg_grpc__conn_flush(c);
}

void tg_grpc__conn_wake_within(tg_grpc_conn *c, uint64_t ms)
{
    if (c->closing)
        return;
    if (!uv_is_active((uv_handle_t *)&c->timer) || uv_timer_get_due_in(&c->timer) > ms)
        uv_timer_start(&c->timer, on_conn_timer, ms, 0);
}

void tg_grpc__conn_add_call(tg_grpc_conn *c, tg_grpc_call *call)
{
    call->deadline = uv_now(c->srv->loop) + c->srv->opt.request_timeout_ms;
    call->prev = c->calls_tail;
    call->next = NULL;
    if (c->calls_tail)
        c->calls_tail->next = call;
    else
        c->calls = call;
    c->calls_tail = call;
    c->ncalls++;
    tg_grpc__conn_wake_within(c, c->srv->opt.request_timeout_ms);
}

void tg_grpc__conn_remove_call(tg_grpc_conn *c, tg_grpc_call *call)
{
    if (call->prev)
        call->prev->next = call->next;
    else
        c->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    else
        c->calls_tail = call->prev;
    call->prev = call->next = NULL;
    if (--c->ncalls == 0) {
        c->idle_since = uv_now(c->srv->loop);
        conn_arm_timer(c);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    tg_grpc_conn *c = h->data;

    (void)suggested;
    /* Safe to share: libuv delivers each read to its callback before it
     * allocates for the next, and nghttp2 copies what it keeps. */
    *buf = uv_buf_init((char *)c->srv->rbuf, sizeof(c->srv->rbuf));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    tg_grpc_conn *c = stream->data;
    size_t plain = (size_t)nread;
    ssize_t rv;

    if (nread == 0 || c->closing)
        return;
    if (nread < 0) {
        /* EOF or reset: calls still in the handler are detached. */
        tg_grpc__conn_close(c);
        return;
    }
    c->in_recv = 1;
    if (c->tls)
        rv = conn_recv_tls(c, (const uint8_t *)buf->base, (size_t)nread, &plain);
    else
        rv = nghttp2_session_mem_recv(c->h2, (const uint8_t *)buf->base, (size_t)nread);
    c->in_recv = 0;
    if (c->close_pending) {
        tg_grpc__conn_close(c);
        return;
    }
    if (c->tls_dead)
        uv_read_stop(stream);
    if (rv >= 0 && c->preface_due) {
        /* The 24-byte client magic and a 9-byte frame header, which nghttp2
         * accepted: the client speaks HTTP/2; from now on the idle and
         * request deadlines apply. Over TLS, plaintext only: the
         * handshake is inside the preface deadline. */
        c->bytes_in += plain;
        if (c->bytes_in >= NGHTTP2_CLIENT_MAGIC_LEN + 9) {
            c->preface_due = 0;
            conn_arm_timer(c);
        }
    }
    if (rv < 0) {
        tg_refuse_count(c->srv->opt.refusals, TG_REFUSED_MALFORMED);
        tg_debug("grpc connection error", "err=%s", nghttp2_strerror((int)rv));
        uv_read_stop(stream);
        /* Not HTTP/2 at all, or nghttp2 gave up on the peer: nothing to say. */
        if (rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC || rv == NGHTTP2_ERR_FLOODED ||
            nghttp2_is_fatal((int)rv) ||
            nghttp2_session_terminate_session(c->h2, NGHTTP2_PROTOCOL_ERROR) != 0) {
            tg_grpc__conn_close(c);
            return;
        }
    }
    tg_grpc__conn_flush(c);
}

static int conn_start_session(tg_grpc_conn *c)
{
    const tg_grpc_options *opt = &c->srv->opt;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, opt->max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, TG_GRPC_STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 64 * 1024},
    };

    if (nghttp2_session_server_new(&c->h2, c->srv->cbs, c) != 0)
        return TG_ENOMEM;
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv,
                                sizeof(iv) / sizeof(iv[0])) != 0 ||
        nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0,
                                              TG_GRPC_CONN_WINDOW) != 0)
        return TG_ENOMEM;
    return 0;
}

static void on_refused_closed(uv_handle_t *h)
{
    tg_grpc_server *s = h->data;

    free(h);
    s->nrefused--;
    server_maybe_done(s);
}

/* Over max_connections: accept and close at once, so the client sees the
 * refusal now instead of waiting in the backlog. */
static void refuse_connection(tg_grpc_server *s)
{
    uv_tcp_t *t = malloc(sizeof(*t));

    if (!t)
        return;
    uv_tcp_init(s->loop, t);
    t->data = s;
    s->nrefused++;
    if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)t) != 0)
        tg_debug("grpc accept failed", "%s", "");
    uv_close((uv_handle_t *)t, on_refused_closed);
}

/* One address may hold at most max_connections_per_source connections (a
 * walk over the list, once per accept), so one client cannot take every
 * slot from the SDKs. */
static void conn_source(tg_grpc_conn *c)
{
    struct sockaddr_storage ss;
    int sl = sizeof(ss);

    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        memcpy(c->src, &((const struct sockaddr_in *)&ss)->sin_addr, 4);
        c->src_len = 4;
    } else if (ss.ss_family == AF_INET6) {
        memcpy(c->src, &((const struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        c->src_len = 16;
    }
}

static int source_over_cap(tg_grpc_server *s, tg_grpc_conn *c)
{
    size_t cap = s->opt.max_connections_per_source, n = 0;

    if (!cap || cap >= s->opt.max_connections)
        return 0;
    conn_source(c);
    if (!c->src_len)
        return 0;
    for (const tg_grpc_conn *o = s->conns; o; o = o->next) {
        if (o != c && !o->closing && o->src_len == c->src_len &&
            memcmp(o->src, c->src, c->src_len) == 0 && ++n >= cap)
            return 1;
    }
    return 0;
}

static void on_connection(uv_stream_t *server, int status)
{
    tg_grpc_server *s = server->data;
    tg_grpc_conn *c;

    if (status < 0 || s->stopping)
        return;
    if ((!s->opt.caps && s->nconns >= s->opt.max_connections) ||
        !(c = calloc(1, sizeof(*c)))) {
        tg_refuse_count(s->opt.refusals, TG_REFUSED_CONNECTIONS);
        tg_warn("grpc connection refused", "connections=%zu max=%zu", s->nconns,
                s->opt.max_connections);
        refuse_connection(s);
        return;
    }
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles_open = 2;
    c->idle_since = uv_now(s->loop);
    TG_LIST_PUSH(s->conns, c);
    s->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || conn_start_session(c) != 0) {
        tg_grpc__conn_close(c);
        return;
    }
    if (s->opt.caps) {
        int why;

        conn_source(c);
        why = tg_listen_caps_take(s->opt.caps, c->src, c->src_len);
        c->capped = why == TG_LISTEN_OK;
        if (!c->capped) {
            tg_refuse_count(s->opt.refusals, why == TG_LISTEN_SOURCE_FULL
                                                 ? TG_REFUSED_PER_SOURCE
                                                 : TG_REFUSED_CONNECTIONS);
            tg_debug("grpc connection refused", "reason=%s",
                     why == TG_LISTEN_SOURCE_FULL ? "max_connections_per_source"
                                                  : "max_connections");
            tg_grpc__conn_close(c);
            return;
        }
    } else if (source_over_cap(s, c)) {
        tg_refuse_count(s->opt.refusals, TG_REFUSED_PER_SOURCE);
        tg_debug("grpc connection refused", "reason=%s", "max_connections_per_source");
        tg_grpc__conn_close(c);
        return;
    }
    if (s->opt.tls && !(c->tls = tg_http_tls_session_new(s->opt.tls, "grpc"))) {
        tg_grpc__conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->preface_due = uv_now(s->loop) + s->opt.preface_timeout_ms;
    conn_arm_timer(c);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        tg_grpc__conn_close(c);
        return;
    }
    tg_grpc__conn_flush(c); /* our SETTINGS */
}

/* ---- public API ------------------------------------------------------------- */

static void on_start_failed(uv_handle_t *h)
{
    server_free(h->data);
}

tg_grpc_server *tg_grpc_server_start(uv_loop_t *loop, const char *addr,
                                     const tg_grpc_options *opt, tg_grpc_export_fn fn,
                                     void *data, int *err)
{
    tg_grpc_options def;
    struct sockaddr_storage ss;
    struct sockaddr_storage bound;
    int namelen = sizeof(bound);
    tg_grpc_server *s;
    int rv;

    tg_grpc_options_default(&def);
    if (!loop || !addr || !fn) {
        *err = TG_EINVAL;
        return NULL;
    }
    if ((rv = tg_listen_parse_addr(addr, &ss)) != 0) {
        *err = rv;
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        *err = TG_ENOMEM;
        return NULL;
    }
    s->loop = loop;
    s->opt = opt ? *opt : def;
    /* Zero means "the default" for every option. */
    if (!s->opt.max_concurrent_streams)
        s->opt.max_concurrent_streams = def.max_concurrent_streams;
    if (!s->opt.max_message_bytes)
        s->opt.max_message_bytes = def.max_message_bytes;
    if (s->opt.max_message_bytes > UINT32_MAX)
        s->opt.max_message_bytes = UINT32_MAX; /* the prefix's length field */
    if (!s->opt.max_connections)
        s->opt.max_connections = def.max_connections;
    if (!s->opt.idle_timeout_ms)
        s->opt.idle_timeout_ms = def.idle_timeout_ms;
    if (!s->opt.request_timeout_ms)
        s->opt.request_timeout_ms = def.request_timeout_ms;
    if (!s->opt.preface_timeout_ms)
        s->opt.preface_timeout_ms = def.preface_timeout_ms;
    if (s->opt.preface_timeout_ms > TG_GRPC_TIMEOUT_MAX_MS)
        s->opt.preface_timeout_ms = TG_GRPC_TIMEOUT_MAX_MS;
    /* Deadlines are loop time + timeout: keep the sum far from overflow. */
    if (s->opt.idle_timeout_ms > TG_GRPC_TIMEOUT_MAX_MS)
        s->opt.idle_timeout_ms = TG_GRPC_TIMEOUT_MAX_MS;
    if (s->opt.request_timeout_ms > TG_GRPC_TIMEOUT_MAX_MS)
        s->opt.request_timeout_ms = TG_GRPC_TIMEOUT_MAX_MS;
    s->buffer_cap = s->opt.max_message_bytes * TG_GRPC_BUFFER_MESSAGES;
    s->fn = fn;
    s->fn_data = data;
    if (tg_grpc__callbacks_new(&s->cbs) != 0) {
        server_free(s);
        *err = TG_ENOMEM;
        return NULL;
    }
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    rv = tg_listen_bind(&s->listener, (const struct sockaddr *)&ss, s->opt.reuseport);
    if (rv == 0)
        rv = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
    if (rv == 0)
        rv = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &namelen);
    if (rv != 0) {
        tg_error("grpc listen failed", "addr=%s err=%s", addr, uv_strerror(rv));
        uv_close((uv_handle_t *)&s->listener, on_start_failed);
        *err = TG_EIO;
        return NULL;
    }
    s->listener_open = 1;
    s->port =
        ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                          : ((struct sockaddr_in *)&bound)->sin_port);
    tg_info("grpc listening", "addr=%s port=%d", addr, s->port);
    return s;
}

tg_listen_caps *tg_grpc_caps_new(const tg_grpc_options *opt)
{
    tg_grpc_options def;
    size_t conns, msg;

    tg_grpc_options_default(&def);
    conns = opt->max_connections ? opt->max_connections : def.max_connections;
    msg = opt->max_message_bytes ? opt->max_message_bytes : def.max_message_bytes;
    if (msg > UINT32_MAX)
        msg = UINT32_MAX;
    return tg_listen_caps_new(conns, opt->max_connections_per_source,
                              msg * TG_GRPC_BUFFER_MESSAGES);
}

int tg_grpc_server_port(const tg_grpc_server *s)
{
    return s ? s->port : -1;
}

static void on_stop_grace(uv_timer_t *t)
{
    tg_grpc_server *s = t->data;
    tg_grpc_conn *c = s->conns;

    if (c)
        tg_warn("grpc stop grace expired", "connections=%zu", s->nconns);
    while (c) {
        tg_grpc_conn *next = c->next;
        tg_grpc__conn_close(c);
        c = next;
    }
}

void tg_grpc_server_stop(tg_grpc_server *s, void (*done_cb)(void *ctx), void *ctx)
{
    if (!s || s->stopping)
        return;
    s->stopping = 1;
    s->done_cb = done_cb;
    s->done_ctx = ctx;
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    uv_timer_init(s->loop, &s->stop_timer);
    s->stop_timer.data = s;
    s->stop_timer_open = 1;
    uv_timer_start(&s->stop_timer, on_stop_grace, TG_GRPC_STOP_GRACE_MS, 0);
    /* Streams already opened are served; the client moves new ones to a
     * new connection. Each connection closes after its last stream. */
    for (tg_grpc_conn *c = s->conns; c; c = c->next) {
        if (c->closing)
            continue;
        nghttp2_submit_shutdown_notice(c->h2);
        nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(c->h2),
                              NGHTTP2_NO_ERROR, NULL, 0);
        tg_grpc__conn_flush(c);
    }
    server_maybe_done(s);
}
