/* The HTTP server: listening, accepting within max_connections, stopping,
 * and the request accessors. Per-connection work (framing, timers,
 * responses) lives in tg_http_conn.c. */
#include "tg_http_internal.h"

#include "tg_codec.h"
#include "tg_err.h"
#include "tg_log.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TG_HTTP_BACKLOG 511

void tg_http_options_default(tg_http_options *o)
{
    memset(o, 0, sizeof(*o));
    o->max_connections = 1024;
    o->max_body_bytes = 16u * 1024 * 1024;
    o->max_header_bytes = 64u * 1024;
    o->header_timeout_ms = 10000;
    o->body_timeout_ms = 30000;
    o->idle_timeout_ms = 120000;
    o->max_buffered_body_bytes = (size_t)256 << 20;
}

/* ---- teardown ------------------------------------------------------------ */

static void server_maybe_done(tg_http_server *s)
{
    void (*cb)(void *);
    void *ctx;

    if (!s->stopping || !s->listener_closed || s->nconns > 0 || s->sink_busy)
        return;
    cb = s->done_cb;
    ctx = s->done_ctx;
    free(s);
    if (cb)
        cb(ctx);
}

void tg_http__server_conn_freed(tg_http_server *s)
{
    s->nconns--;
    server_maybe_done(s);
}

static void on_listener_close(uv_handle_t *h)
{
    tg_http_server *s = h->data;

    s->listener_closed = 1;
    server_maybe_done(s);
}

/* A start that failed after the listener handle existed: the memory can go
 * only in the close callback, so mark the server as stopping with no one to
 * tell. */
static void server_abort(tg_http_server *s)
{
    s->stopping = 1;
    s->done_cb = NULL;
    uv_close((uv_handle_t *)&s->listener, on_listener_close);
}

void tg_http_server_stop(tg_http_server *s, void (*done_cb)(void *ctx), void *ctx)
{
    if (!s || s->stopping)
        return;
    s->stopping = 1;
    s->done_cb = done_cb;
    s->done_ctx = ctx;
    uv_close((uv_handle_t *)&s->listener, on_listener_close);
    /* Connections reading (idle or mid-request) close now; one whose
     * request is with the handler or whose response is being written
     * closes after that response (tg_http_conn.c checks `stopping`);
     * lingering ones finish on their own, within TG_HTTP_LINGER_MS. */
    for (tg_http_conn *c = s->conns; c; c = c->next)
        if (!c->closing && c->state == TG_HTTP_READING)
            tg_http__conn_close(c);
}

/* ---- accepting ----------------------------------------------------------- */

static void sink_accept(tg_http_server *s);

static void on_sink_close(uv_handle_t *h)
{
    tg_http_server *s = h->data;

    s->sink_busy = 0;
    if (s->sink_owed && !s->stopping) {
        s->sink_owed = 0;
        sink_accept(s);
        return;
    }
    server_maybe_done(s);
}

/* Out of memory for a connection: accept it anyway (libuv stops watching
 * the listener until the pending connection is accepted) and close it. */
static void sink_accept(tg_http_server *s)
{
    if (s->sink_busy) {
        s->sink_owed = 1;
        return;
    }
    if (uv_tcp_init(s->loop, &s->sink) != 0)
        return;
    s->sink.data = s;
    s->sink_busy = 1;
    (void)uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&s->sink);
    uv_close((uv_handle_t *)&s->sink, on_sink_close);
}

/* One address may hold at most max_connections_per_source of the active
 * connections, so a single client (slow or flooding) cannot take every
 * slot and lock out the others: a site's heartbeat still gets in. A walk
 * over the list: max_connections is in the hundreds, and this runs once per
 * accept. */
static int source_over_cap(tg_http_server *s, tg_http_conn *c)
{
    size_t cap = s->opt.max_connections_per_source, n = 0;

    if (!cap || cap >= s->opt.max_connections)
        return 0;
    tg_http__conn_peer(c);
    if (!c->src_len)
        return 0;
    for (const tg_http_conn *o = s->conns; o; o = o->next) {
        if (o != c && o->active && o->src_len == c->src_len &&
            memcmp(o->src, c->src, c->src_len) == 0 && ++n >= cap)
            return 1;
    }
    return 0;
}

static void on_connection(uv_stream_t *l, int status)
{
    tg_http_server *s = l->data;
    tg_http_conn *c;

    if (status < 0) {
        tg_warn("http accept failed", "err=%s", uv_strerror(status));
        return;
    }
    c = tg_http__conn_new(s);
    if (!c) {
        tg_error("http connection dropped", "reason=%s", "out of memory");
        sink_accept(s);
        return;
    }
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
        tg_http__conn_close(c);
        return;
    }
    if (s->opt.caps) {
        int why;

        tg_http__conn_peer(c);
        why = tg_listen_caps_take(s->opt.caps, c->src, c->src_len);
        c->capped = why == TG_LISTEN_OK;
        if (c->capped)
            tg_http__conn_start(c);
        else if (s->nrejecting < s->opt.max_connections)
            tg_http__conn_reject(c, why == TG_LISTEN_SOURCE_FULL);
        else
            tg_http__conn_close(c);
        return;
    }
    if (s->nactive < s->opt.max_connections && !source_over_cap(s, c))
        tg_http__conn_start(c);
    else if (s->nrejecting < s->opt.max_connections)
        tg_http__conn_reject(c, s->nactive < s->opt.max_connections);
    else
        tg_http__conn_close(c); /* flooded: not even a 503 */
}

int tg_http__adopt_fd(tg_http_server *s, uv_os_sock_t fd)
{
    tg_http_conn *c;

    if (s->stopping)
        return TG_ECLOSED;
    c = tg_http__conn_new(s);
    if (!c)
        return TG_ENOMEM;
    if (uv_tcp_open(&c->tcp, fd) != 0) {
        tg_http__conn_close(c);
        return TG_EIO;
    }
    tg_http__conn_start(c);
    return 0;
}

size_t tg_http__conn_count(const tg_http_server *s)
{
    return s->nconns;
}

/* ---- starting ------------------------------------------------------------ */

tg_http_server *tg_http__server_new(uv_loop_t *loop, const tg_http_options *opt,
                                    tg_http_handler handler, void *data, int *err)
{
    tg_http_server *s;
    tg_http_options def;
    struct sigaction sa;

    if (!loop || !handler) {
        if (err)
            *err = TG_EINVAL;
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        if (err)
            *err = TG_ENOMEM;
        return NULL;
    }
    /* A zero field means "the default", so callers may set only what they
     * care about. */
    tg_http_options_default(&def);
    s->opt = opt ? *opt : def;
    if (!s->opt.max_connections)
        s->opt.max_connections = def.max_connections;
    if (!s->opt.max_body_bytes)
        s->opt.max_body_bytes = def.max_body_bytes;
    if (!s->opt.max_header_bytes)
        s->opt.max_header_bytes = def.max_header_bytes;
    if (!s->opt.header_timeout_ms)
        s->opt.header_timeout_ms = def.header_timeout_ms;
    if (!s->opt.body_timeout_ms)
        s->opt.body_timeout_ms = def.body_timeout_ms;
    if (!s->opt.idle_timeout_ms)
        s->opt.idle_timeout_ms = def.idle_timeout_ms;
    if (!s->opt.max_buffered_body_bytes)
        s->opt.max_buffered_body_bytes = def.max_buffered_body_bytes;
    s->loop = loop;
    s->handler = handler;
    s->data = data;
    if (uv_tcp_init(loop, &s->listener) != 0) {
        free(s);
        if (err)
            *err = TG_EIO;
        return NULL;
    }
    s->listener.data = s;
    /* Writing to a socket the peer has closed raises SIGPIPE, whose default
     * action kills the process; a server must get EPIPE instead. Left alone
     * if the program installed its own disposition. */
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    return s;
}

static int uv_to_tg(int rc)
{
    switch (rc) {
    case UV_ENOMEM:
        return TG_ENOMEM;
    case UV_EINVAL:
    case UV_EAI_NONAME:
        return TG_EINVAL;
    default:
        return TG_EIO;
    }
}

tg_http_server *tg_http_server_start(uv_loop_t *loop, const char *addr,
                                     const tg_http_options *opt, tg_http_handler handler,
                                     void *data, int *err)
{
    struct sockaddr_storage ss;
    tg_http_server *s;
    int rc, sl;

    rc = tg_listen_parse_addr(addr, &ss);
    if (rc) {
        tg_warn("http bad listen address", "addr=%s", addr ? addr : "(null)");
        if (err)
            *err = rc;
        return NULL;
    }
    s = tg_http__server_new(loop, opt, handler, data, err);
    if (!s)
        return NULL;
    rc = tg_listen_bind(&s->listener, (const struct sockaddr *)&ss, s->opt.reuseport);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, TG_HTTP_BACKLOG, on_connection);
    if (rc == 0) {
        sl = sizeof(ss);
        rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &sl);
    }
    if (rc) {
        tg_warn("http listen failed", "addr=%s err=%s", addr, uv_strerror(rc));
        server_abort(s);
        if (err)
            *err = uv_to_tg(rc);
        return NULL;
    }
    s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    s->listening = 1;
    tg_debug("http listening", "addr=%s port=%d", addr, s->port);
    return s;
}

tg_listen_caps *tg_http_caps_new(const tg_http_options *opt)
{
    tg_http_options def;

    tg_http_options_default(&def);
    return tg_listen_caps_new(opt->max_connections ? opt->max_connections
                                                   : def.max_connections,
                              opt->max_connections_per_source,
                              opt->max_buffered_body_bytes ? opt->max_buffered_body_bytes
                                                           : def.max_buffered_body_bytes);
}

int tg_http_server_port(const tg_http_server *s)
{
    return s ? s->port : -1;
}

/* ---- requests ------------------------------------------------------------ */

const char *tg_http_method(const tg_http_request *r)
{
    return r->method;
}

const char *tg_http_path(const tg_http_request *r, size_t *len)
{
    if (len)
        *len = r->path_len;
    return r->path;
}

const char *tg_http_query(const tg_http_request *r, size_t *len)
{
    if (len)
        *len = r->query ? r->query_len : 0;
    return r->query;
}

const char *tg_http_header(const tg_http_request *r, const char *name, size_t *len)
{
    if (!name)
        return NULL;
    return tg_http__find_header(r->conn, name, len);
}

const uint8_t *tg_http_body(const tg_http_request *r, size_t *len)
{
    static const uint8_t empty[1];
    const tg_http_conn *c = r->conn;

    if (len)
        *len = c->blen;
    return c->body && c->blen ? c->body : empty;
}

const char *tg_http_peer(const tg_http_request *r)
{
    return r->conn->peer;
}

uint64_t tg_http_received_ns(const tg_http_request *r)
{
    return r->received_ns;
}

int tg_http_is_tls(const tg_http_request *r)
{
    return r->conn->tls != NULL;
}

const char *tg_http_client_cn(const tg_http_request *r)
{
    return tg_http__tls_client_cn(r->conn);
}

int64_t tg_http_client_not_after(const tg_http_request *r)
{
    return tg_http__tls_client_not_after(r->conn);
}

void tg_http_respond(tg_http_request *r, int status, const char *content_type,
                     const char *headers, const void *body, size_t len)
{
    if (!r)
        return;
    tg_http__respond(r->conn, status, content_type, headers, body, len);
}

/* ---- query strings ------------------------------------------------------- */

/* Next decoded byte of a form-urlencoded run; a '%' not followed by two
 * hex digits stands for itself. */
static int url_next(const char **p, const char *end)
{
    unsigned char ch = (unsigned char)*(*p)++;

    if (ch == '+')
        return ' ';
    if (ch == '%' && end - *p >= 2) {
        int hi = tg_hex_digit((unsigned char)(*p)[0]),
            lo = tg_hex_digit((unsigned char)(*p)[1]);

        if (hi >= 0 && lo >= 0) {
            *p += 2;
            return hi * 16 + lo;
        }
    }
    return ch;
}

int tg_http_query_param(const char *query, size_t qlen, const char *key, char *buf,
                        size_t buflen)
{
    const char *seg, *end;

    if (!query || !key || !*key || !buf || buflen == 0)
        return -1;
    seg = query;
    end = query + qlen;
    for (;;) {
        const char *amp = memchr(seg, '&', (size_t)(end - seg));
        const char *send = amp ? amp : end;
        const char *eq = memchr(seg, '=', (size_t)(send - seg));
        const char *kend = eq ? eq : send;
        const char *p = seg, *k = key;

        while (p < kend && *k && url_next(&p, kend) == (unsigned char)*k)
            k++;
        if (p == kend && *k == '\0') {
            size_t n = 0;

            p = eq ? eq + 1 : send;
            while (p < send) {
                int ch = url_next(&p, send);

                if (n + 1 >= buflen || n >= INT_MAX)
                    return -2;
                buf[n++] = (char)ch;
            }
            buf[n] = '\0';
            return (int)n;
        }
        if (!amp)
            return -1;
        seg = amp + 1;
    }
}
