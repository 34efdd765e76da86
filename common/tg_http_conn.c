/* One HTTP/1.1 connection: bytes in, http-parser framing, the request to
 * the handler, the response out, and every way a connection ends.
 *
 * Flow. Bytes land in the connection's reusable read buffer and are fed to
 * http-parser. on_message_complete pauses the parser, so execution stops
 * exactly at the end of one request; whatever follows (pipelined requests)
 * stays in the read buffer, reading stops (the rest queues in the kernel)
 * and the request goes to the handler. When the response has been written
 * the leftover bytes are parsed first, and only then is the socket read
 * again. So requests on a connection are answered strictly in order with
 * one request per connection in memory.
 *
 * Ending. Every refusal (400, 408, 413, 431, 501, 503) and every response
 * that closes the connection is followed by a lingering close: shut down
 * our side, then read and discard until the client's EOF or a short timer,
 * so unread client bytes cannot make the kernel reset the connection and
 * destroy the response before the client reads it.
 *
 * TLS. On a TLS connection the socket's bytes go into the session
 * (tg_http_tls.c) and the read buffer holds plaintext: when it is used up
 * the session is asked for more before the socket is read again. Every
 * write goes through conn_write(), which encrypts; what the handshake has
 * to send is flushed after each read. Nothing is answered before the
 * handshake is done: a refusal then is a plain close. */
#include "tg_list.h"
#include "tg_http_internal.h"

#include "tg_log.h"
#include "tg_time.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { CB_NONE, CB_FIELD, CB_VALUE };

static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_continue_written(uv_write_t *req, int status);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);
static void on_timer(uv_timer_t *t);
static void conn_process(tg_http_conn *c);

/* ---- lifetime ------------------------------------------------------------ */

tg_http_conn *tg_http__conn_new(tg_http_server *s)
{
    tg_http_conn *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    if (uv_tcp_init(s->loop, &c->tcp) != 0) {
        free(c);
        return NULL;
    }
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles_open = 2;
    c->server = s;
    c->req.conn = c;
    c->req.path = "";
    c->req.method = "";
    memcpy(c->peer, "unknown", sizeof("unknown"));
    TG_LIST_PUSH(s->conns, c);
    s->nconns++;
    return c;
}

/* Body buffers held: the server's, and the listener's on every loop. */
static void body_account(tg_http_server *s, size_t add, size_t sub)
{
    s->body_bytes = s->body_bytes + add - sub;
    if (s->opt.caps)
        tg_listen_caps_buffered(s->opt.caps, add, sub);
}

static void conn_maybe_free(tg_http_conn *c)
{
    tg_http_server *s = c->server;

    if (c->handles_open > 0 || c->req_outstanding)
        return;
    TG_LIST_UNLINK(s->conns, c);
    tg_http__tls_conn_free(c);
    free(c->rbuf);
    free(c->hbuf);
    free(c->hdrs);
    body_account(s, 0, c->bcap);
    free(c->body);
    free(c);
    /* May free the server: nothing may follow. */
    tg_http__server_conn_freed(s);
}

static void on_handle_close(uv_handle_t *h)
{
    tg_http_conn *c = h->data;

    if (--c->handles_open == 0)
        conn_maybe_free(c);
}

void tg_http__conn_close(tg_http_conn *c)
{
    tg_http_server *s = c->server;

    if (c->closing)
        return;
    c->closing = 1;
    c->reading = 0;
    if (c->active) {
        c->active = 0;
        s->nactive--;
    }
    if (c->capped) {
        c->capped = 0;
        tg_listen_caps_give(s->opt.caps, c->src, c->src_len);
    }
    if (c->rejected) {
        c->rejected = 0;
        s->nrejecting--;
    }
    uv_close((uv_handle_t *)&c->tcp, on_handle_close);
    uv_close((uv_handle_t *)&c->timer, on_handle_close);
}

/* ---- timer and reading --------------------------------------------------- */

static void conn_timer(tg_http_conn *c, enum tg_http_phase ph, uint64_t ms)
{
    c->phase = ph;
    if (ph == TG_HTTP_PH_NONE || ms == 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, ms, 0);
}

static int conn_read_start(tg_http_conn *c)
{
    if (c->reading)
        return 0;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        return -1;
    c->reading = 1;
    return 0;
}

static void conn_read_stop(tg_http_conn *c)
{
    if (!c->reading)
        return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    tg_http_conn *c = h->data;

    (void)suggested;
    if (c->state == TG_HTTP_LINGER || !c->rbuf) {
        *buf = uv_buf_init(c->server->discard, sizeof(c->server->discard));
    } else if (c->in_body && !c->tls && c->blen < c->bcap && c->parser.content_length &&
               c->parser.content_length != ULLONG_MAX) {
        /* In a body of known length, with its buffer allocated: read
         * straight into it, no further than this body ends (what follows
         * is the next request's), and on_body finds the bytes in place.
         * Saves a copy of every body and most of the 64 KiB reads. */
        size_t room = c->bcap - c->blen;

        if (room > c->parser.content_length)
            room = (size_t)c->parser.content_length;
        if (room > UINT_MAX)
            room = UINT_MAX;
        *buf = uv_buf_init((char *)c->body + c->blen, (unsigned)room);
    } else {
        *buf = uv_buf_init(c->rbuf, TG_HTTP_READ_BUF);
    }
}

/* ---- writing ------------------------------------------------------------- */

/* A failed interim write shows up again on the final response. */
static void on_continue_written(uv_write_t *req, int status)
{
    (void)req;
    (void)status;
}

/* Handshake output and interim TLS records: a failure shows up again on
 * the next read or write. */
static void on_raw_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

/* Writes len bytes of o->data, encrypted on a TLS connection; `o` is
 * consumed either way. `cb` runs when the bytes are written. Returns 0 or
 * a libuv error. */
static int conn_write(tg_http_conn *c, tg_http_out *o, size_t len, uv_write_cb cb)
{
    uv_buf_t buf;
    int err;

    if (c->tls) {
        err = tg_http__tls_encrypt(c, o->data, len);
        free(o);
        if (err)
            return UV_EPROTO;
        o = tg_http__tls_drain(c, &len);
        if (!o)
            return UV_ENOMEM;
    }
    o->conn = c;
    buf = uv_buf_init(o->data, (unsigned int)len);
    err = uv_write(&o->req, (uv_stream_t *)&c->tcp, &buf, 1, cb);
    if (err)
        free(o);
    return err;
}

/* Sends what the TLS session has queued (handshake, tickets, alerts). */
static int conn_flush_tls(tg_http_conn *c)
{
    size_t len;
    tg_http_out *o = tg_http__tls_drain(c, &len);
    uv_buf_t buf;
    int err;

    if (!o)
        return len ? UV_ENOMEM : 0;
    buf = uv_buf_init(o->data, (unsigned int)len);
    err = uv_write(&o->req, (uv_stream_t *)&c->tcp, &buf, 1, on_raw_written);
    if (err)
        free(o);
    return err;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    tg_http_conn *c = req->handle->data;

    if (status < 0 && !c->closing)
        tg_http__conn_close(c);
}

/* Final response queued: shut down our side and discard input until the
 * client's EOF or TG_HTTP_LINGER_MS, whichever comes first. */
static void conn_linger(tg_http_conn *c)
{
    if (c->tls) {
        tg_http__tls_close_notify(c);
        (void)conn_flush_tls(c);
    }
    c->state = TG_HTTP_LINGER;
    c->rpos = c->rlen = 0;
    conn_timer(c, TG_HTTP_PH_LINGER, TG_HTTP_LINGER_MS);
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0 ||
        conn_read_start(c) != 0)
        tg_http__conn_close(c);
}

static void on_write(uv_write_t *req, int status)
{
    tg_http_out *o = (tg_http_out *)req;
    tg_http_conn *c = o->conn;

    free(o);
    if (c->closing)
        return;
    if (status < 0) {
        tg_http__conn_close(c);
        return;
    }
    if (c->state != TG_HTTP_WRITING)
        return; /* a refusal: the lingering close finishes the connection */
    if (!c->keep_alive || c->server->stopping) {
        conn_linger(c);
        return;
    }
    c->state = TG_HTTP_READING;
    conn_timer(c, TG_HTTP_PH_IDLE, c->server->opt.idle_timeout_ms);
    conn_process(c);
}

/* Queues one whole response. The body is copied: the caller may free its
 * buffer as soon as this returns. Returns 0 or a libuv error. */
static int conn_send(tg_http_conn *c, int status, const char *content_type,
                     const char *headers, const void *body, size_t len, int keep,
                     int head_only)
{
    const char *reason;
    size_t ctl, hl, cap, blen, n;
    int no_length;
    tg_http_out *o;

    if (status < 100 || status > 999)
        status = 500;
    reason = http_status_str((enum http_status)status);
    ctl = content_type ? strlen(content_type) : 0;
    hl = headers ? strlen(headers) : 0;
    /* 1xx, 204 and 304 carry neither a body nor a Content-Length. */
    no_length = status < 200 || status == 204 || status == 304;
    blen = (no_length || head_only) ? 0 : len;
    cap = 160 + strlen(reason) + ctl + hl;
    o = malloc(sizeof(*o) + cap + blen);
    if (!o)
        return UV_ENOMEM;
    o->conn = c;
    n = (size_t)snprintf(o->data, cap, "HTTP/1.1 %d %s\r\n", status, reason);
    if (content_type)
        n += (size_t)snprintf(o->data + n, cap - n, "Content-Type: %s\r\n", content_type);
    if (!no_length)
        n += (size_t)snprintf(o->data + n, cap - n, "Content-Length: %zu\r\n", len);
    memcpy(o->data + n, headers ? headers : "", hl);
    n += hl;
    if (!keep)
        n += (size_t)snprintf(o->data + n, cap - n, "Connection: close\r\n");
    else if (c->parser.http_major == 1 && c->parser.http_minor == 0)
        n += (size_t)snprintf(o->data + n, cap - n, "Connection: keep-alive\r\n");
    o->data[n++] = '\r';
    o->data[n++] = '\n';
    if (blen)
        memcpy(o->data + n, body, blen);
    return conn_write(c, o, n + blen, on_write);
}

/* Refuses the request being read with `status` and a text body, then
 * closes. */
static void conn_fail(tg_http_conn *c, int status, const char *msg)
{
    if (c->closing || c->state == TG_HTTP_LINGER)
        return;
    tg_debug("http request refused", "peer=%s status=%d", c->peer, status);
    if (c->tls && !tg_http__tls_ready(c)) {
        tg_http__conn_close(c); /* no session to answer in */
        return;
    }
    c->keep_alive = 0;
    /* A 401 names its scheme (RFC 9110, 11.6.1): every token here is a
     * bearer token. */
    if (conn_send(c, status, "text/plain; charset=utf-8",
                  status == 503   ? "Retry-After: 1\r\n"
                  : status == 401 ? "WWW-Authenticate: Bearer realm=\"tollgate\"\r\n"
                                  : NULL,
                  msg, strlen(msg), 0, 0) != 0) {
        tg_http__conn_close(c);
        return;
    }
    conn_linger(c);
}

static enum tg_refusal refusal_of(int status)
{
    switch (status) {
    case 401:
    case 403:
        return TG_REFUSED_UNAUTHORIZED;
    case 413:
        return TG_REFUSED_TOO_LARGE;
    case 431:
        return TG_REFUSED_HEADER_TOO_LARGE;
    case 429:
    case 503:
        return TG_REFUSED_BUSY;
    default:
        return TG_REFUSED_MALFORMED;
    }
}

static void conn_fail_parse(tg_http_conn *c, enum http_errno e)
{
    char msg[160];

    if (!c->closing && c->state != TG_HTTP_LINGER)
        tg_refuse_count(c->server->opt.refusals,
                        c->fail_status             ? refusal_of(c->fail_status)
                        : e == HPE_HEADER_OVERFLOW ? TG_REFUSED_HEADER_TOO_LARGE
                                                   : TG_REFUSED_MALFORMED);
    if (c->fail_status) {
        conn_fail(c, c->fail_status, c->fail_msg);
    } else if (e == HPE_INVALID_TRANSFER_ENCODING) {
        conn_fail(c, 501, "unsupported transfer-encoding\n");
    } else if (e == HPE_HEADER_OVERFLOW) {
        conn_fail(c, 431, "request header section too large\n");
    } else {
        snprintf(msg, sizeof(msg), "malformed request: %s\n", http_errno_description(e));
        conn_fail(c, 400, msg);
    }
}

void tg_http__respond(tg_http_conn *c, int status, const char *content_type,
                      const char *headers, const void *body, size_t len)
{
    int keep;

    if (!c->req_outstanding)
        return; /* answered twice: the first answer stands */
    c->req_outstanding = 0;
    if (c->closing) {
        conn_maybe_free(c);
        return;
    }
    keep = c->keep_alive && !c->server->stopping;
    /* The body may point into c->body (an echo): send copies it first. */
    if (conn_send(c, status, content_type, headers, body, len, keep,
                  c->parser.method == HTTP_HEAD) != 0) {
        tg_http__conn_close(c);
        return;
    }
    if (c->bcap > TG_HTTP_KEEP_BODY) {
        body_account(c->server, 0, c->bcap);
        free(c->body);
        c->body = NULL;
        c->bcap = 0;
    }
    c->blen = 0;
    c->keep_alive = keep;
    c->state = TG_HTTP_WRITING;
    /* A client that stops reading must not hold the connection forever. */
    conn_timer(c, TG_HTTP_PH_WRITE, c->server->opt.idle_timeout_ms);
}

static void on_timer(uv_timer_t *t)
{
    tg_http_conn *c = t->data;

    switch (c->phase) {
    case TG_HTTP_PH_HEADER:
        /* A connection that never sent a byte is not a refused request,
         * but it held a slot until now: count it too. */
        tg_refuse_count(c->server->opt.refusals, TG_REFUSED_HEADER_TIMEOUT);
        conn_fail(c, 408, "timed out waiting for the request header section\n");
        break;
    case TG_HTTP_PH_BODY:
        tg_refuse_count(c->server->opt.refusals, TG_REFUSED_BODY_TIMEOUT);
        conn_fail(c, 408, "timed out waiting for the request body\n");
        break;
    default:
        tg_http__conn_close(c);
        break;
    }
}

/* ---- http-parser callbacks ----------------------------------------------- */

static int refuse(tg_http_conn *c, int status, const char *msg)
{
    c->fail_status = status;
    c->fail_msg = msg;
    return -1;
}

/* Bodies are buffered whole before the handler sees them; the sum over all
 * connections is bounded so many slow uploads cannot exhaust memory. */
static int body_budget_exceeded(const tg_http_conn *c, size_t new_cap)
{
    const tg_http_server *s = c->server;

    if (new_cap <= c->bcap)
        return 0;
    if (s->opt.caps)
        return tg_listen_caps_over_budget(s->opt.caps, new_cap - c->bcap);
    return s->body_bytes + (new_cap - c->bcap) > s->opt.max_buffered_body_bytes;
}

static int hdr_account(tg_http_conn *c, size_t n)
{
    c->hbytes += n;
    if (c->hbytes > c->server->opt.max_header_bytes)
        return refuse(c, 431, "request header section too large\n");
    return 0;
}

static int hbuf_append(tg_http_conn *c, const char *at, size_t len)
{
    if (c->hlen + len > c->hcap) {
        size_t cap = c->hcap ? c->hcap : 1024;
        char *p;

        while (cap < c->hlen + len)
            cap *= 2;
        p = realloc(c->hbuf, cap);
        if (!p)
            return refuse(c, 503, "out of memory\n");
        c->hbuf = p;
        c->hcap = cap;
    }
    memcpy(c->hbuf + c->hlen, at, len);
    c->hlen += len;
    return 0;
}

static int on_message_begin(http_parser *p)
{
    tg_http_conn *c = p->data;

    c->hlen = 0;
    c->hbytes = 0;
    c->url_len = 0;
    c->nhdrs = 0;
    c->blen = 0;
    c->last_cb = CB_NONE;
    c->in_trailers = 0;
    c->in_body = 0;
    c->req.path = "";
    c->req.path_len = 0;
    c->req.query = NULL;
    c->req.query_len = 0;
    /* The header clock starts at accept for a new connection and at the
     * first byte of each later request. */
    if (c->phase != TG_HTTP_PH_HEADER)
        conn_timer(c, TG_HTTP_PH_HEADER, c->server->opt.header_timeout_ms);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    tg_http_conn *c = p->data;

    if (hdr_account(c, len) || hbuf_append(c, at, len))
        return -1;
    c->url_len += len;
    return 0;
}

/* The last header field is whole: a NUL after its value makes every value
 * a C string (on_headers_complete writes it again after trimming). A
 * field without a value gets an empty one. */
static int hdr_end(tg_http_conn *c)
{
    tg_http_hdr *h;

    if (c->nhdrs == 0)
        return 0;
    h = &c->hdrs[c->nhdrs - 1];
    if (c->last_cb == CB_FIELD) {
        h->value_off = c->hlen;
        h->value_len = 0;
    }
    return hbuf_append(c, "", 1);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    tg_http_conn *c = p->data;
    tg_http_hdr *h;

    if (c->in_trailers)
        return 0; /* trailers are dropped; http-parser bounds their size */
    if (c->last_cb != CB_FIELD) {
        if (hdr_end(c))
            return -1;
        /* ": " and CRLF count against the limit too. */
        if (hdr_account(c, len + 4))
            return -1;
        if (c->nhdrs == TG_HTTP_MAX_HEADERS)
            return refuse(c, 431, "too many request header fields\n");
        if (c->nhdrs == c->hdrcap) {
            size_t cap = c->hdrcap ? c->hdrcap * 2 : 16;
            tg_http_hdr *n = realloc(c->hdrs, cap * sizeof(*n));

            if (!n)
                return refuse(c, 503, "out of memory\n");
            c->hdrs = n;
            c->hdrcap = cap;
        }
        h = &c->hdrs[c->nhdrs++];
        h->name_off = h->value_off = c->hlen;
        h->name_len = h->value_len = 0;
    } else if (hdr_account(c, len)) {
        return -1;
    }
    h = &c->hdrs[c->nhdrs - 1];
    if (hbuf_append(c, at, len))
        return -1;
    h->name_len += len;
    c->last_cb = CB_FIELD;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    tg_http_conn *c = p->data;
    tg_http_hdr *h;

    if (c->in_trailers)
        return 0;
    if (c->nhdrs == 0)
        return refuse(c, 400, "malformed request: header value without a name\n");
    if (hdr_account(c, len))
        return -1;
    h = &c->hdrs[c->nhdrs - 1];
    if (c->last_cb != CB_VALUE) {
        h->value_off = c->hlen;
        h->value_len = 0;
    }
    if (hbuf_append(c, at, len))
        return -1;
    h->value_len += len;
    c->last_cb = CB_VALUE;
    return 0;
}

const char *tg_http__find_header(const tg_http_conn *c, const char *name, size_t *len)
{
    size_t nl = strlen(name);

    for (size_t i = 0; i < c->nhdrs; i++) {
        const tg_http_hdr *h = &c->hdrs[i];

        if (h->name_len == nl && strncasecmp(c->hbuf + h->name_off, name, nl) == 0) {
            if (len)
                *len = h->value_len;
            return c->hbuf + h->value_off;
        }
    }
    return NULL;
}

static int value_is(const char *v, size_t vl, const char *want)
{
    size_t wl = strlen(want);

    return v && vl == wl && strncasecmp(v, want, wl) == 0;
}

/* Splits the request target into path and query. Origin form ("/p?q") is
 * split by hand; absolute form ("http://h/p?q") goes through
 * http_parser_parse_url, whose offsets are 16-bit. */
static void split_target(tg_http_conn *c)
{
    const char *u = c->hbuf;
    size_t n = c->url_len;
    const char *q, *frag;

    c->req.query = NULL;
    c->req.query_len = 0;
    if (!u || n == 0) {
        c->req.path = "";
        c->req.path_len = 0;
        return;
    }
    if (u[0] != '/' && u[0] != '*' && n <= UINT16_MAX) {
        struct http_parser_url pu;

        http_parser_url_init(&pu);
        if (http_parser_parse_url(u, n, c->parser.method == HTTP_CONNECT, &pu) == 0) {
            if (pu.field_set & (1 << UF_PATH)) {
                c->req.path = u + pu.field_data[UF_PATH].off;
                c->req.path_len = pu.field_data[UF_PATH].len;
            } else {
                c->req.path = "/";
                c->req.path_len = 1;
            }
            if (pu.field_set & (1 << UF_QUERY)) {
                c->req.query = u + pu.field_data[UF_QUERY].off;
                c->req.query_len = pu.field_data[UF_QUERY].len;
            }
            return;
        }
    }
    frag = memchr(u, '#', n);
    if (frag)
        n = (size_t)(frag - u);
    q = memchr(u, '?', n);
    c->req.path = u;
    c->req.path_len = q ? (size_t)(q - u) : n;
    if (q) {
        c->req.query = q + 1;
        c->req.query_len = n - c->req.path_len - 1;
    }
}

/* The server's header check, before any body byte is buffered. A refusal
 * closes the connection: its body is never read, only discarded. */
static int check_headers(tg_http_conn *c)
{
    tg_http_response r;
    size_t n;
    int st;

    memset(&r, 0, sizeof(r));
    if (c->server->opt.check_headers(&c->req, c->server->data, &r) == 0) {
        free(r.body);
        return 0;
    }
    st = r.status >= 400 && r.status <= 599 ? r.status : 403;
    n = r.body && r.len ? r.len : 0;
    if (n > sizeof(c->fail_buf) - 1)
        n = sizeof(c->fail_buf) - 1;
    if (n)
        memcpy(c->fail_buf, r.body, n);
    else
        n = (size_t)snprintf(c->fail_buf, sizeof(c->fail_buf), "refused\n");
    c->fail_buf[n] = '\0';
    free(r.body);
    return refuse(c, st, c->fail_buf);
}

static int on_headers_complete(http_parser *p)
{
    tg_http_conn *c = p->data;
    const tg_http_options *o = &c->server->opt;
    const char *v;
    size_t vl = 0;
    int has_body;

    if (hdr_end(c))
        return -1;
    c->in_trailers = 1;
    for (size_t i = 0; i < c->nhdrs; i++) {
        tg_http_hdr *h = &c->hdrs[i];

        while (h->value_len > 0 && (c->hbuf[h->value_off + h->value_len - 1] == ' ' ||
                                    c->hbuf[h->value_off + h->value_len - 1] == '\t'))
            h->value_len--;
        c->hbuf[h->value_off + h->value_len] = '\0';
    }
    split_target(c);
    c->req.method = http_method_str((enum http_method)p->method);

    /* http-parser accepts any coding list ending in chunked; we decode
     * nothing but chunked itself. */
    v = tg_http__find_header(c, "transfer-encoding", &vl);
    if (v && !value_is(v, vl, "chunked"))
        return refuse(c, 501, "unsupported transfer-encoding\n");
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > o->max_body_bytes)
        return refuse(c, 413, "request body too large\n");
    if (o->check_headers && check_headers(c))
        return -1;

    has_body =
        (p->flags & F_CHUNKED) || ((p->flags & F_CONTENTLENGTH) && p->content_length > 0);
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->bcap) {
        size_t want = p->content_length < TG_HTTP_PREALLOC_MAX ? (size_t)p->content_length
                                                               : TG_HTTP_PREALLOC_MAX;
        if (body_budget_exceeded(c, want))
            return refuse(c, 503, "server busy: too many request bodies in flight\n");
        /* Free then allocate: nothing to keep, so no realloc copy. */
        body_account(c->server, 0, c->bcap);
        free(c->body);
        c->body = malloc(want);
        c->bcap = c->body ? want : 0;
        body_account(c->server, c->bcap, 0);
    }
    v = tg_http__find_header(c, "expect", &vl);
    if (has_body && p->http_major == 1 && p->http_minor >= 1 &&
        value_is(v, vl, "100-continue")) {
        if (c->tls) {
            tg_http_out *co = malloc(sizeof(*co) + sizeof(continue_line));

            if (co) {
                memcpy(co->data, continue_line, sizeof(continue_line) - 1);
                (void)conn_write(c, co, sizeof(continue_line) - 1, on_raw_written);
            }
        } else {
            uv_buf_t b = uv_buf_init((char *)continue_line, sizeof(continue_line) - 1);

            (void)uv_write(&c->cont_req, (uv_stream_t *)&c->tcp, &b, 1,
                           on_continue_written);
        }
    }
    c->in_body = (p->flags & F_CONTENTLENGTH) && !(p->flags & F_CHUNKED) && has_body;
    if (has_body)
        conn_timer(c, TG_HTTP_PH_BODY, o->body_timeout_ms);
    else
        conn_timer(c, TG_HTTP_PH_NONE, 0);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    tg_http_conn *c = p->data;
    size_t need = c->blen + len;

    if (need > c->server->opt.max_body_bytes)
        return refuse(c, 413, "request body too large\n");
    if (need > c->bcap) {
        size_t cap = c->bcap ? c->bcap : 16 * 1024;
        uint8_t *b;

        while (cap < need)
            cap *= 2;
        if (cap > c->server->opt.max_body_bytes)
            cap = c->server->opt.max_body_bytes;
        if (body_budget_exceeded(c, cap))
            return refuse(c, 503, "server busy: too many request bodies in flight\n");
        b = realloc(c->body, cap);
        if (!b)
            return refuse(c, 503, "out of memory\n");
        body_account(c->server, cap - c->bcap, 0);
        c->body = b;
        c->bcap = cap;
    }
    if (at != (const char *)c->body + c->blen) /* else read in place (on_alloc) */
        memcpy(c->body + c->blen, at, len);
    c->blen = need;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    tg_http_conn *c = p->data;

    c->keep_alive = http_should_keep_alive(p) ? 1 : 0;
    c->in_body = 0;
    /* Stop right after this message: pipelined bytes wait their turn. */
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- the byte pump ------------------------------------------------------- */

/* The read buffer is used up: decrypt what the session holds into it.
 * Returns 1 with plaintext there, 0 when the socket must be read, -1 when
 * the connection is over (closed or lingering). */
static int conn_refill_tls(tg_http_conn *c)
{
    ptrdiff_t n = tg_http__tls_read(c, c->rbuf, TG_HTTP_READ_BUF);

    if (conn_flush_tls(c) != 0) {
        tg_http__conn_close(c);
        return -1;
    }
    if (n > 0) {
        c->ibuf = c->rbuf;
        c->rpos = 0;
        c->rlen = (size_t)n;
        return 1;
    }
    if (n == 0)
        return 0;
    /* A failed handshake: let the alert reach the client before closing. */
    c->keep_alive = 0;
    conn_linger(c);
    return -1;
}

/* Parses what is left in the read buffer, hands a complete request to the
 * handler, and reads the socket again only when no bytes are left over. */
static void conn_process(tg_http_conn *c)
{
    tg_http_server *s = c->server;

    if (c->in_process)
        return;
    c->in_process = 1;
    while (!c->closing && c->state == TG_HTTP_READING) {
        size_t n, left = c->rlen - c->rpos;
        enum http_errno e;

        if (left == 0) {
            int got = c->tls ? conn_refill_tls(c) : 0;

            if (got > 0)
                continue;
            if (got == 0 && conn_read_start(c) != 0)
                tg_http__conn_close(c);
            break;
        }
        c->fail_status = 0;
        n = http_parser_execute(&c->parser, &parser_settings, c->ibuf + c->rpos, left);
        e = HTTP_PARSER_ERRNO(&c->parser);
        c->rpos += n <= left ? n : left;
        if (e == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            /* After an upgrade request the bytes that follow belong to
             * another protocol, and after a closing request to nobody. */
            if (c->parser.upgrade || !c->keep_alive) {
                c->keep_alive = 0;
                c->rpos = c->rlen;
            }
            conn_read_stop(c);
            /* However long the handler takes, no timer answers for it. */
            conn_timer(c, TG_HTTP_PH_NONE, 0);
            c->state = TG_HTTP_PENDING;
            c->req_outstanding = 1;
            c->req.received_ns = tg_wall_ns();
            s->handler(&c->req, s->data);
            continue;
        }
        if (e != HPE_OK) {
            conn_fail_parse(c, e);
            break;
        }
        if (n != left) {
            conn_fail(c, 400, "malformed request: protocol upgrade not supported\n");
            break;
        }
    }
    c->in_process = 0;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    tg_http_conn *c = st->data;

    (void)buf;
    if (nread == 0)
        return;
    if (nread < 0) {
        /* EOF or error: a half-received request is abandoned silently. */
        tg_http__conn_close(c);
        return;
    }
    if (c->state != TG_HTTP_READING)
        return;          /* lingering: discarded */
    c->ibuf = buf->base; /* rbuf, or the body's tail (on_alloc) */
    if (c->tls) {
        /* The read buffer was used up (reading starts only then): it held
         * ciphertext, now in the session. */
        c->ibuf = c->rbuf;
        c->rpos = c->rlen = 0;
        if (tg_http__tls_feed(c, c->rbuf, (size_t)nread) != 0) {
            tg_http__conn_close(c);
            return;
        }
    } else {
        c->rpos = 0;
        c->rlen = (size_t)nread;
    }
    conn_process(c);
}

/* ---- starting ------------------------------------------------------------ */

void tg_http__conn_peer(tg_http_conn *c)
{
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    char ip[INET6_ADDRSTRLEN];

    if (c->src_len)
        return; /* already known */
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

        memcpy(c->src, &a->sin_addr, 4);
        c->src_len = 4;

        if (uv_ip4_name(a, ip, sizeof(ip)) == 0)
            snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

        memcpy(c->src, &a->sin6_addr, 16);
        c->src_len = 16;

        if (uv_ip6_name(a, ip, sizeof(ip)) == 0)
            snprintf(c->peer, sizeof(c->peer), "[%s]:%u", ip,
                     (unsigned)ntohs(a->sin6_port));
    }
}

void tg_http__conn_start(tg_http_conn *c)
{
    tg_http_server *s = c->server;

    c->active = 1;
    s->nactive++;
    c->rbuf = malloc(TG_HTTP_READ_BUF);
    if (!c->rbuf) {
        tg_http__conn_close(c);
        return;
    }
    c->ibuf = c->rbuf;
    (void)uv_tcp_nodelay(&c->tcp, 1); /* fails harmlessly on non-TCP sockets */
    tg_http__conn_peer(c);
    if (s->opt.tls && tg_http__tls_conn_new(c, s->opt.tls) != 0) {
        tg_http__conn_close(c);
        return;
    }
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->state = TG_HTTP_READING;
    conn_timer(c, TG_HTTP_PH_HEADER, s->opt.header_timeout_ms);
    conn_process(c);
}

void tg_http__conn_reject(tg_http_conn *c, int per_source)
{
    const char *msg = per_source ? "server busy: too many connections from your address\n"
                                 : "server busy: too many connections\n";

    c->rejected = 1;
    c->server->nrejecting++;
    tg_http__conn_peer(c);
    tg_refuse_count(c->server->opt.refusals,
                    per_source ? TG_REFUSED_PER_SOURCE : TG_REFUSED_CONNECTIONS);
    tg_debug("http connection refused", "peer=%s reason=%s", c->peer,
             per_source ? "max_connections_per_source" : "max_connections");
    if (c->server->opt.tls) {
        tg_http__conn_close(c); /* a 503 would need a handshake first */
        return;
    }
    if (conn_send(c, 503, "text/plain; charset=utf-8", "Retry-After: 1\r\n", msg,
                  strlen(msg), 0, 0) != 0) {
        tg_http__conn_close(c);
        return;
    }
    conn_linger(c);
}
