/* OTLP/gRPC server: real HTTP/2 over loopback TCP.
 *
 * The server runs on a libuv loop; the client is an nghttp2 client session
 * on the same loop, so each test drives real frames through real sockets
 * and steps the loop until the expected answer (or a 5 s guard) arrives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nghttp2/nghttp2.h>
#include <uv.h>
#include <zlib.h>

#include "recv_grpc.h"
#include "tg_log.h"

#define TRACES_PATH "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define LOGS_PATH "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
#define METRICS_PATH "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
#define MAX_STREAMS 64
#define MAX_HELD 64

static uv_loop_t loop;

/* ---- the export handler under test's control --------------------------------- */

enum handler_mode { FINISH_NOW, FINISH_LATER, HOLD };

static const uint8_t resp_bytes[] = {0x0a, 0x03, 'a', 'c', 'k'};

static struct {
    enum handler_mode mode;
    int status;          /* for FINISH_NOW */
    const char *message; /* for FINISH_NOW */
    uint64_t retry_ms;   /* for FINISH_NOW */
    uint64_t delay_ms;   /* for FINISH_LATER */
    size_t resp_len;     /* 0: resp_bytes; else that many bytes of 'r' */
    int ncalls;
    enum tg_signal sig;
    enum tg_compression comp;
    uint8_t *msg;
    size_t len;
    tg_grpc_call *held[MAX_HELD];
    int nheld;
} H;

typedef struct later {
    uv_timer_t timer;
    tg_grpc_call *call;
} later;

static void finish_ok(tg_grpc_call *call)
{
    if (H.resp_len) {
        uint8_t *r = malloc(H.resp_len);
        memset(r, 'r', H.resp_len);
        tg_grpc_call_finish(call, 0, NULL, r, H.resp_len, 0);
        free(r);
    } else {
        tg_grpc_call_finish(call, 0, NULL, resp_bytes, sizeof(resp_bytes), 0);
    }
}

static void on_later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_later(uv_timer_t *t)
{
    later *l = t->data;
    finish_ok(l->call);
    uv_close((uv_handle_t *)t, on_later_closed);
}

static void handler(void *data, tg_grpc_call *call, enum tg_signal sig,
                    enum tg_compression comp, const uint8_t *msg, size_t len)
{
    (void)data;
    H.ncalls++;
    H.sig = sig;
    H.comp = comp;
    free(H.msg);
    H.msg = malloc(len ? len : 1);
    memcpy(H.msg, msg, len);
    H.len = len;
    switch (H.mode) {
    case FINISH_NOW:
        if (H.status == 0)
            finish_ok(call);
        else
            tg_grpc_call_finish(call, H.status, H.message, NULL, 0, H.retry_ms);
        break;
    case FINISH_LATER: {
        later *l = calloc(1, sizeof(*l));
        l->call = call;
        l->timer.data = l;
        uv_timer_init(&loop, &l->timer);
        uv_timer_start(&l->timer, on_later, H.delay_ms, 0);
        break;
    }
    case HOLD:
        assert_true(H.nheld < MAX_HELD);
        H.held[H.nheld++] = call;
        break;
    }
}

/* ---- loop stepping ------------------------------------------------------------ */

static int guard_fired;

static void on_guard(uv_timer_t *t)
{
    (void)t;
    guard_fired = 1;
}

/* Runs the loop until pred(arg) holds; fails the test after `ms`. */
static int run_until_ms(int (*pred)(void *), void *arg, uint64_t ms)
{
    uv_timer_t guard;
    int ok;

    guard_fired = 0;
    uv_timer_init(&loop, &guard);
    uv_timer_start(&guard, on_guard, ms, 0);
    while (!(ok = pred(arg)) && !guard_fired)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    return ok;
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

static void run_for(uint64_t ms)
{
    run_until_ms(never, NULL, ms);
}

static int int_set(void *arg)
{
    return *(int *)arg != 0;
}

static int held_want;

static int enough_held(void *arg)
{
    (void)arg;
    return H.nheld >= held_want;
}

static void wait_held(int n)
{
    held_want = n;
    assert_true(run_until_ms(enough_held, NULL, 5000));
}

/* ---- server ----------------------------------------------------------------- */

static tg_grpc_server *srv;
static int srv_port;
static int srv_done;

static void on_srv_done(void *ctx)
{
    *(int *)ctx = 1;
}

static void start_server(const tg_grpc_options *opt)
{
    int err = 0;

    srv = tg_grpc_server_start(&loop, "127.0.0.1:0", opt, handler, NULL, &err);
    assert_non_null(srv);
    assert_int_equal(err, 0);
    srv_port = tg_grpc_server_port(srv);
    assert_true(srv_port > 0);
}

static void stop_server(void)
{
    srv_done = 0;
    tg_grpc_server_stop(srv, on_srv_done, &srv_done);
    assert_true(run_until_ms(int_set, &srv_done, 5000));
    srv = NULL;
}

/* ---- the nghttp2 client ----------------------------------------------------- */

typedef struct stream_res {
    int32_t id;
    int used;
    int closed;
    uint32_t close_code;
    int rst_recv;
    uint32_t rst_code;
    int http_status;
    int grpc_status; /* -1 until seen */
    int trailers_only;
    int got_trailers;
    char grpc_message[512];
    char pushback[32];
    char accept_enc[64];
    char details[512];
    uint8_t *data;
    size_t data_len;
    /* request body */
    uint8_t *body;
    size_t body_len, body_off, chunk;
    int end;
} stream_res;

typedef struct client {
    uv_tcp_t tcp;
    uv_connect_t creq;
    nghttp2_session *h2;
    int connected, connect_failed, eof, closed;
    int goaway;
    stream_res streams[MAX_STREAMS];
} client;

typedef struct cwrite {
    uv_write_t req;
    uint8_t *buf;
} cwrite;

static void on_cwrite(uv_write_t *req, int status)
{
    cwrite *w = (cwrite *)req;
    (void)status;
    free(w->buf);
    free(w);
}

static void raw_write(uv_tcp_t *t, const void *p, size_t n)
{
    cwrite *w = malloc(sizeof(*w));
    uv_buf_t b;

    w->buf = malloc(n);
    memcpy(w->buf, p, n);
    b = uv_buf_init((char *)w->buf, (unsigned)n);
    assert_int_equal(uv_write(&w->req, (uv_stream_t *)t, &b, 1, on_cwrite), 0);
}

static void client_flush(client *cl)
{
    uint8_t *acc = NULL;
    size_t len = 0;

    if (cl->eof || !cl->h2)
        return;
    for (;;) {
        const uint8_t *p;
        ssize_t n = nghttp2_session_mem_send(cl->h2, &p);
        assert_true(n >= 0);
        if (n == 0)
            break;
        acc = realloc(acc, len + (size_t)n);
        memcpy(acc + len, p, (size_t)n);
        len += (size_t)n;
    }
    if (len)
        raw_write(&cl->tcp, acc, len);
    free(acc);
}

static stream_res *stream_of(client *cl, int32_t id)
{
    for (int i = 0; i < MAX_STREAMS; i++)
        if (cl->streams[i].used && cl->streams[i].id == id)
            return &cl->streams[i];
    return NULL;
}

static void copy_val(char *dst, size_t cap, const uint8_t *v, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static int c_on_header(nghttp2_session *h2, const nghttp2_frame *frame,
                       const uint8_t *name, size_t namelen, const uint8_t *value,
                       size_t valuelen, uint8_t flags, void *ud)
{
    stream_res *r = stream_of(ud, frame->hd.stream_id);
    char v[600];

    (void)h2;
    (void)flags;
    if (!r)
        return 0;
    copy_val(v, sizeof(v), value, valuelen);
    if (namelen == 7 && memcmp(name, ":status", 7) == 0)
        r->http_status = (int)strtol(v, NULL, 10);
    else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
        r->grpc_status = (int)strtol(v, NULL, 10);
    else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0)
        copy_val(r->grpc_message, sizeof(r->grpc_message), value, valuelen);
    else if (namelen == 22 && memcmp(name, "grpc-retry-pushback-ms", 22) == 0)
        copy_val(r->pushback, sizeof(r->pushback), value, valuelen);
    else if (namelen == 20 && memcmp(name, "grpc-accept-encoding", 20) == 0)
        copy_val(r->accept_enc, sizeof(r->accept_enc), value, valuelen);
    else if (namelen == 23 && memcmp(name, "grpc-status-details-bin", 23) == 0)
        copy_val(r->details, sizeof(r->details), value, valuelen);
    return 0;
}

static int c_on_frame_recv(nghttp2_session *h2, const nghttp2_frame *frame, void *ud)
{
    client *cl = ud;
    stream_res *r = stream_of(cl, frame->hd.stream_id);

    (void)h2;
    if (frame->hd.type == NGHTTP2_GOAWAY)
        cl->goaway = 1;
    if (!r)
        return 0;
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
        r->rst_recv++;
        r->rst_code = frame->rst_stream.error_code;
    }
    if (frame->hd.type == NGHTTP2_HEADERS) {
        if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE &&
            (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
            r->trailers_only = 1;
        if (frame->headers.cat == NGHTTP2_HCAT_HEADERS)
            r->got_trailers = 1;
    }
    return 0;
}

static int c_on_data(nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data,
                     size_t len, void *ud)
{
    stream_res *r = stream_of(ud, id);

    (void)h2;
    (void)flags;
    if (!r)
        return 0;
    r->data = realloc(r->data, r->data_len + len);
    memcpy(r->data + r->data_len, data, len);
    r->data_len += len;
    return 0;
}

static int c_on_close(nghttp2_session *h2, int32_t id, uint32_t code, void *ud)
{
    stream_res *r = stream_of(ud, id);

    (void)h2;
    if (r) {
        r->closed = 1;
        r->close_code = code;
    }
    return 0;
}

static void c_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(sz);
    buf->len = sz;
}

static void c_on_closed(uv_handle_t *h)
{
    client *cl = h->data;
    cl->closed = 1;
}

static void c_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    client *cl = s->data;

    if (n < 0) {
        cl->eof = 1;
        uv_read_stop(s);
    } else if (n > 0 && cl->h2) {
        ssize_t rv =
            nghttp2_session_mem_recv(cl->h2, (const uint8_t *)buf->base, (size_t)n);
        assert_true(rv == n);
        client_flush(cl);
    }
    free(buf->base);
}

static void c_on_connect(uv_connect_t *req, int status)
{
    client *cl = req->data;

    if (status < 0) {
        cl->connect_failed = 1;
        return;
    }
    cl->connected = 1;
    uv_read_start((uv_stream_t *)&cl->tcp, c_alloc, c_on_read);
}

static int connected_or_failed(void *arg)
{
    client *cl = arg;
    return cl->connected || cl->connect_failed;
}

/* Connects; with `h2`, an HTTP/2 client session exists before the first
 * byte arrives (the server's SETTINGS come at once). */
static client *client_connect_h2(int h2)
{
    client *cl = calloc(1, sizeof(*cl));
    struct sockaddr_in sa;

    if (h2) {
        nghttp2_session_callbacks *cbs;
        nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 4 << 20}};

        nghttp2_session_callbacks_new(&cbs);
        nghttp2_session_callbacks_set_on_header_callback(cbs, c_on_header);
        nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, c_on_frame_recv);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, c_on_data);
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs, c_on_close);
        assert_int_equal(nghttp2_session_client_new(&cl->h2, cbs, cl), 0);
        nghttp2_session_callbacks_del(cbs);
        nghttp2_submit_settings(cl->h2, NGHTTP2_FLAG_NONE, iv, 1);
    }
    uv_ip4_addr("127.0.0.1", srv_port, &sa);
    uv_tcp_init(&loop, &cl->tcp);
    cl->tcp.data = cl;
    cl->creq.data = cl;
    assert_int_equal(
        uv_tcp_connect(&cl->creq, &cl->tcp, (struct sockaddr *)&sa, c_on_connect), 0);
    assert_true(run_until_ms(connected_or_failed, cl, 5000));
    assert_true(cl->connected);
    client_flush(cl);
    return cl;
}

static client *client_connect_raw(void)
{
    return client_connect_h2(0);
}

static client *client_connect(void)
{
    return client_connect_h2(1);
}

static void client_free(client *cl)
{
    if (cl->h2)
        nghttp2_session_del(cl->h2);
    cl->h2 = NULL;
    if (!uv_is_closing((uv_handle_t *)&cl->tcp))
        uv_close((uv_handle_t *)&cl->tcp, c_on_closed);
    assert_true(run_until_ms(int_set, &cl->closed, 5000));
    for (int i = 0; i < MAX_STREAMS; i++) {
        free(cl->streams[i].data);
        free(cl->streams[i].body);
    }
    free(cl);
}

static ssize_t body_read(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    stream_res *r = src->ptr;
    size_t n = r->body_len - r->body_off;

    (void)h2;
    (void)id;
    (void)ud;
    if (n > length)
        n = length;
    if (r->chunk && n > r->chunk)
        n = r->chunk;
    if (n)
        memcpy(buf, r->body + r->body_off, n);
    r->body_off += n;
    if (r->body_off == r->body_len) {
        if (r->end)
            *flags |= NGHTTP2_DATA_FLAG_EOF;
        else if (n == 0)
            return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

typedef struct req_opts {
    const char *method;       /* default POST */
    const char *content_type; /* default application/grpc */
    const char *encoding;     /* grpc-encoding, or NULL */
    const char *timeout;      /* grpc-timeout, or NULL */
    int no_end;               /* keep the stream open after the body */
    size_t chunk;             /* max bytes per DATA frame, 0: any */
    int headers_only;         /* END_STREAM on HEADERS */
} req_opts;

/* Submits one request (body is copied); flushes. */
static stream_res *client_call(client *cl, const char *path, const uint8_t *body,
                               size_t len, const req_opts *o)
{
    static const req_opts none;
    stream_res *r = NULL;
    nghttp2_nv nva[8];
    size_t n = 0;
    nghttp2_data_provider prd;
    const char *method, *ct;

    if (!o)
        o = &none;
    method = o->method ? o->method : "POST";
    ct = o->content_type ? o->content_type : "application/grpc";
#define NV(a, b)                                                                         \
    nva[n++] = (nghttp2_nv){(uint8_t *)(a), (uint8_t *)(b), strlen(a), strlen(b),        \
                            NGHTTP2_NV_FLAG_NONE}
    NV(":method", method);
    NV(":scheme", "http");
    NV(":path", path);
    NV(":authority", "127.0.0.1");
    NV("content-type", ct);
    NV("te", "trailers");
    if (o->encoding)
        NV("grpc-encoding", o->encoding);
    if (o->timeout)
        NV("grpc-timeout", o->timeout);
#undef NV
    for (int i = 0; i < MAX_STREAMS; i++) {
        if (!cl->streams[i].used) {
            r = &cl->streams[i];
            break;
        }
    }
    assert_non_null(r);
    r->used = 1;
    r->grpc_status = -1;
    r->body = malloc(len ? len : 1);
    if (len)
        memcpy(r->body, body, len);
    r->body_len = len;
    r->chunk = o->chunk;
    r->end = !o->no_end;
    prd.source.ptr = r;
    prd.read_callback = body_read;
    r->id =
        nghttp2_submit_request(cl->h2, NULL, nva, n, o->headers_only ? NULL : &prd, r);
    assert_true(r->id > 0);
    client_flush(cl);
    return r;
}

/* A gRPC length-prefixed message (caller frees). */
static uint8_t *grpc_frame(const void *msg, size_t len, int flag, size_t *outlen)
{
    uint8_t *p = malloc(5 + len);

    p[0] = (uint8_t)flag;
    p[1] = (uint8_t)(len >> 24);
    p[2] = (uint8_t)(len >> 16);
    p[3] = (uint8_t)(len >> 8);
    p[4] = (uint8_t)len;
    if (len)
        memcpy(p + 5, msg, len);
    *outlen = 5 + len;
    return p;
}

static stream_res *unary(client *cl, const char *path, const void *msg, size_t len,
                         const req_opts *o)
{
    size_t flen;
    uint8_t *f = grpc_frame(msg, len, o && o->encoding ? 1 : 0, &flen);
    stream_res *r = client_call(cl, path, f, flen, o);
    free(f);
    return r;
}

static int stream_closed(void *arg)
{
    return ((stream_res *)arg)->closed;
}

static void wait_closed(stream_res *r)
{
    assert_true(run_until_ms(stream_closed, r, 5000));
}

static int client_eof(void *arg)
{
    return ((client *)arg)->eof;
}

static void assert_ok_response(const stream_res *r)
{
    assert_true(r->closed);
    assert_int_equal(r->close_code, NGHTTP2_NO_ERROR);
    assert_int_equal(r->http_status, 200);
    assert_false(r->trailers_only);
    assert_true(r->got_trailers);
    assert_int_equal(r->grpc_status, 0);
    assert_int_equal(r->data_len, 5 + sizeof(resp_bytes));
    assert_int_equal(r->data[0], 0);
    assert_int_equal(r->data[4], sizeof(resp_bytes));
    assert_memory_equal(r->data + 5, resp_bytes, sizeof(resp_bytes));
}

/* ---- fixtures --------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    memset(&H, 0, sizeof(H));
    uv_loop_init(&loop);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (srv)
        stop_server();
    uv_run(&loop, UV_RUN_DEFAULT);
    /* Every handle the server opened has been closed. */
    assert_int_equal(uv_loop_close(&loop), 0);
    free(H.msg);
    H.msg = NULL;
    return 0;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_unary_ok(void **state)
{
    client *cl;
    stream_res *r;
    static const char *paths[] = {TRACES_PATH, LOGS_PATH, METRICS_PATH};
    static const enum tg_signal sigs[] = {TG_SIGNAL_TRACES, TG_SIGNAL_LOGS,
                                          TG_SIGNAL_METRICS};

    (void)state;
    start_server(NULL);
    cl = client_connect();
    for (int i = 0; i < 3; i++) {
        r = unary(cl, paths[i], "hello", 5, NULL);
        wait_closed(r);
        assert_ok_response(r);
        assert_int_equal(r->rst_recv, 0);
        assert_int_equal(H.ncalls, i + 1);
        assert_int_equal(H.sig, sigs[i]);
        assert_int_equal(H.comp, TG_COMP_NONE);
        assert_int_equal(H.len, 5);
        assert_memory_equal(H.msg, "hello", 5);
        /* Advertised so grpc-js keeps compressing. */
        assert_string_equal(r->accept_enc, "identity,gzip,deflate,zstd");
    }
    client_free(cl);
}

static void test_empty_message_and_split_frames(void **state)
{
    client *cl;
    stream_res *r;
    req_opts o = {.chunk = 3}; /* the prefix arrives split over two frames */
    uint8_t big[1000];

    (void)state;
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    start_server(NULL);
    cl = client_connect();
    r = unary(cl, TRACES_PATH, NULL, 0, NULL);
    wait_closed(r);
    assert_ok_response(r);
    assert_int_equal(H.len, 0);

    r = unary(cl, LOGS_PATH, big, sizeof(big), &o);
    wait_closed(r);
    assert_ok_response(r);
    assert_int_equal(H.len, sizeof(big));
    assert_memory_equal(H.msg, big, sizeof(big));
    client_free(cl);
}

/* 3 MiB is past both the stream window and one write: flow control and
 * WINDOW_UPDATE must keep it moving; a 200 KiB response spans writes. */
static void test_large_message_and_response(void **state)
{
    size_t len = 3u << 20;
    uint8_t *big = malloc(len);
    client *cl;
    stream_res *r;

    (void)state;
    for (size_t i = 0; i < len; i++)
        big[i] = (uint8_t)(i ^ (i >> 8));
    H.resp_len = 200 * 1024;
    start_server(NULL);
    cl = client_connect();
    r = unary(cl, METRICS_PATH, big, len, NULL);
    wait_closed(r);
    assert_int_equal(r->grpc_status, 0);
    assert_int_equal(H.len, len);
    assert_memory_equal(H.msg, big, len);
    assert_int_equal(r->data_len, 5 + H.resp_len);
    assert_int_equal(r->data[1], (H.resp_len >> 24) & 0xff);
    assert_int_equal(r->data[2], (H.resp_len >> 16) & 0xff);
    assert_int_equal(r->data[3], (H.resp_len >> 8) & 0xff);
    assert_int_equal(r->data[5 + H.resp_len - 1], 'r');
    free(big);
    client_free(cl);
}

static void test_concurrent_streams(void **state)
{
    client *cl;
    stream_res *r[20];
    char msg[32];

    (void)state;
    H.mode = HOLD;
    start_server(NULL);
    cl = client_connect();
    for (int i = 0; i < 20; i++) {
        int n = snprintf(msg, sizeof(msg), "message %d", i);
        r[i] = unary(cl, TRACES_PATH, msg, (size_t)n, NULL);
    }
    /* All 20 reach the handler before any is answered: truly concurrent. */
    wait_held(20);
    for (int i = 19; i >= 0; i--)
        finish_ok(H.held[i]);
    for (int i = 0; i < 20; i++) {
        wait_closed(r[i]);
        assert_ok_response(r[i]);
    }
    assert_int_equal(H.ncalls, 20);
    client_free(cl);
}

static uint8_t *gzip_bytes(const void *in, size_t len, size_t *outlen)
{
    z_stream z;
    uint8_t *out = malloc(len + 64);

    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)(len + 64);
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *outlen = z.total_out;
    deflateEnd(&z);
    return out;
}

static void test_gzip_message(void **state)
{
    static const char text[] = "a gzip-compressed export request, repeated, repeated";
    client *cl;
    stream_res *r;
    size_t zlen, flen;
    uint8_t *z = gzip_bytes(text, sizeof(text), &zlen), *f, plain[256];
    req_opts o = {.encoding = "gzip"};
    uLongf plen = sizeof(plain);

    (void)state;
    start_server(NULL);
    cl = client_connect();
    r = unary(cl, TRACES_PATH, z, zlen, &o);
    wait_closed(r);
    assert_ok_response(r);
    assert_int_equal(H.comp, TG_COMP_GZIP);
    assert_int_equal(H.len, zlen);
    assert_memory_equal(H.msg, z, zlen);
    /* What the handler got really is the gzip stream of the text. */
    {
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        inflateInit2(&zs, 31);
        zs.next_in = H.msg;
        zs.avail_in = (uInt)H.len;
        zs.next_out = plain;
        zs.avail_out = (uInt)plen;
        assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
        assert_int_equal(zs.total_out, sizeof(text));
        assert_memory_equal(plain, text, sizeof(text));
        inflateEnd(&zs);
    }

    /* Flag byte 0 under grpc-encoding gzip: this message is not compressed. */
    f = grpc_frame("plain", 5, 0, &flen);
    r = client_call(cl, TRACES_PATH, f, flen, &o);
    wait_closed(r);
    assert_ok_response(r);
    assert_int_equal(H.comp, TG_COMP_NONE);
    assert_memory_equal(H.msg, "plain", 5);
    free(f);

    o.encoding = "zstd";
    r = unary(cl, LOGS_PATH, "zz", 2, &o);
    wait_closed(r);
    assert_int_equal(r->grpc_status, 0);
    assert_int_equal(H.comp, TG_COMP_ZSTD);
    free(z);
    client_free(cl);
}

static void test_unknown_path(void **state)
{
    client *cl;
    stream_res *r;

    (void)state;
    start_server(NULL);
    cl = client_connect();
    r = unary(cl, "/grpc.health.v1.Health/Check", "x", 1, NULL);
    wait_closed(r);
    assert_int_equal(r->http_status, 200);
    assert_true(r->trailers_only);
    assert_int_equal(r->grpc_status, 12);
    assert_string_equal(r->grpc_message, "unknown method /grpc.health.v1.Health/Check");
    assert_int_equal(r->data_len, 0);
    assert_int_equal(H.ncalls, 0);
    client_free(cl);
}

static void test_unknown_encoding(void **state)
{
    client *cl;
    stream_res *r;
    req_opts o = {.encoding = "snappy"};

    (void)state;
    start_server(NULL);
    cl = client_connect();
    r = unary(cl, TRACES_PATH, "x", 1, &o);
    wait_closed(r);
    assert_true(r->trailers_only);
    assert_int_equal(r->grpc_status, 12);
    assert_string_equal(r->grpc_message, "grpc-encoding snappy not supported");
    assert_string_equal(r->accept_enc, "identity,gzip,deflate,zstd");
    assert_int_equal(H.ncalls, 0);
    client_free(cl);
}

static void test_not_grpc(void **state)
{
    client *cl;
    stream_res *r;
    req_opts json = {.content_type = "application/json"};
    req_opts web = {.content_type = "application/grpc-web"};
    req_opts get = {.method = "GET", .headers_only = 1};
    req_opts plus = {.content_type = "application/grpc+proto; charset=utf-8"};

    (void)state;
    start_server(NULL);
    cl = client_connect();
    r = unary(cl, TRACES_PATH, "x", 1, &json);
    wait_closed(r);
    assert_int_equal(r->http_status, 415);
    assert_int_equal(r->grpc_status, -1);
    r = unary(cl, TRACES_PATH, "x", 1, &web);
    wait_closed(r);
    assert_int_equal(r->http_status, 415);
    r = client_call(cl, TRACES_PATH, NULL, 0, &get);
    wait_closed(r);
    assert_int_equal(r->http_status, 405);
    r = unary(cl, TRACES_PATH, "x", 1, &plus);
    wait_closed(r);
    assert_int_equal(r->grpc_status, 0);
    assert_int_equal(H.ncalls, 1);
    client_free(cl);
}

static void test_oversized_message(void **state)
{
    tg_grpc_options opt;
    client *cl;
    stream_res *r;
    uint8_t big[2000];
    req_opts o = {.chunk = 500};

    (void)state;
    memset(big, 'b', sizeof(big));
    tg_grpc_options_default(&opt);
    opt.max_message_bytes = 1024;
    start_server(&opt);
    cl = client_connect();
    r = unary(cl, TRACES_PATH, big, sizeof(big), &o);
    wait_closed(r);
    assert_true(r->trailers_only);
    assert_int_equal(r->grpc_status, 8);
    assert_string_equal(r->grpc_message,
                        "request message of 2000 bytes exceeds the limit of 1024 bytes");
    assert_int_equal(H.ncalls, 0);
    /* At the limit is fine, and the connection is still good. */
    r = unary(cl, TRACES_PATH, big, 1024, NULL);
    wait_closed(r);
    assert_ok_response(r);
    client_free(cl);
}

static void test_framing_errors(void **state)
{
    client *cl;
    stream_res *r;
    req_opts headers_only = {.headers_only = 1};
    size_t l1, l2;
    uint8_t *f1 = grpc_frame("one", 3, 0, &l1), *f2 = grpc_frame("two", 3, 0, &l2);
    uint8_t two[64], bad_flag[8];

    (void)state;
    start_server(NULL);
    cl = client_connect();

    r = client_call(cl, TRACES_PATH, NULL, 0, &headers_only);
    wait_closed(r);
    assert_int_equal(r->grpc_status, 13);
    assert_string_equal(r->grpc_message, "no request message on a unary call");

    memcpy(two, f1, l1);
    memcpy(two + l1, f2, l2);
    r = client_call(cl, TRACES_PATH, two, l1 + l2, NULL);
    wait_closed(r);
    assert_int_equal(r->grpc_status, 13);
    assert_string_equal(r->grpc_message, "more than one request message on a unary call");

    r = client_call(cl, TRACES_PATH, f1, l1 - 1, NULL);
    wait_closed(r);
    assert_int_equal(r->grpc_status, 13);
    assert_string_equal(r->grpc_message, "truncated request message: 2 of 3 bytes");

    r = client_call(cl, TRACES_PATH, f1, 3, NULL);
    wait_closed(r);
    assert_int_equal(r->grpc_status, 13);
    assert_string_equal(r->grpc_message, "truncated request message: 0 of 0 bytes");

    /* Compressed flag with no grpc-encoding, and a flag that is not 0 or 1. */
    memcpy(bad_flag, f1, l1);
    bad_flag[0] = 1;
    r = client_call(cl, TRACES_PATH, bad_flag, l1, NULL);
    wait_closed(r);
    assert_int_equal(r->grpc_status, 13);
    assert_string_equal(r->grpc_message, "compressed message without a grpc-encoding");
    bad_flag[0] = 7;
    r = client_call(cl, TRACES_PATH, bad_flag, l1, NULL);
    wait_closed(r);
    assert_int_equal(r->grpc_status, 13);
    assert_string_equal(r->grpc_message, "invalid message flag 7");

    assert_int_equal(H.ncalls, 0);
    free(f1);
    free(f2);
    client_free(cl);
}

static void test_async_finish(void **state)
{
    client *cl;
    stream_res *r;
    uint64_t t0;

    (void)state;
    H.mode = FINISH_LATER;
    H.delay_ms = 60;
    start_server(NULL);
    cl = client_connect();
    t0 = uv_now(&loop);
    r = unary(cl, TRACES_PATH, "later", 5, NULL);
    wait_closed(r);
    assert_ok_response(r);
    assert_true(uv_now(&loop) - t0 >= 50);
    client_free(cl);
}

/* Decodes the standard base64 alphabet, padded or not. */
static size_t b64_decode(const char *in, uint8_t *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;

    for (; *in && *in != '='; in++) {
        const char *p = strchr(tab, *in);
        assert_non_null(p);
        acc = acc << 6 | (uint32_t)(p - tab);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n;
}

static void test_resource_exhausted_pushback(void **state)
{
    client *cl;
    stream_res *r;
    uint8_t det[512];
    size_t n;
    static const uint8_t want_head[] = {0x08, 0x08, 0x12, 0x04, 'b', 'u', 's', 'y', 0x1a};
    static const uint8_t want_delay[] = {0x0a, 0x08, 0x08, 0x01, 0x10,
                                         0x80, 0xca, 0xb5, 0xee, 0x01};

    (void)state;
    H.status = 8;
    H.message = "busy";
    H.retry_ms = 1500;
    start_server(NULL);
    cl = client_connect();
    r = unary(cl, TRACES_PATH, "x", 1, NULL);
    wait_closed(r);
    assert_true(r->trailers_only);
    assert_int_equal(r->grpc_status, 8);
    assert_string_equal(r->grpc_message, "busy");
    assert_string_equal(r->pushback, "1500");
    /* google.rpc.Status{8, "busy", [Any{RetryInfo{1.5 s}}]} */
    n = b64_decode(r->details, det);
    assert_true(n > sizeof(want_head) + sizeof(want_delay));
    assert_memory_equal(det, want_head, sizeof(want_head));
    assert_non_null(memmem(det, n, "type.googleapis.com/google.rpc.RetryInfo", 40));
    assert_memory_equal(det + n - sizeof(want_delay), want_delay, sizeof(want_delay));

    /* No pushback for other codes, or without a delay. */
    H.status = 3;
    H.message = "bad";
    r = unary(cl, TRACES_PATH, "x", 1, NULL);
    wait_closed(r);
    assert_int_equal(r->grpc_status, 3);
    assert_string_equal(r->pushback, "");
    assert_string_equal(r->details, "");
    client_free(cl);
}

static void test_message_percent_encoded(void **state)
{
    client *cl;
    stream_res *r;

    (void)state;
    H.status = 3;
    H.message = "100% bad \xc3\xa9\n\xff\xc3";
    start_server(NULL);
    cl = client_connect();
    r = unary(cl, TRACES_PATH, "x", 1, NULL);
    wait_closed(r);
    assert_int_equal(r->grpc_status, 3);
    /* Invalid UTF-8 becomes '?': grpc-js's decodeURI would throw on it. */
    assert_string_equal(r->grpc_message, "100%25 bad %C3%A9%0A??");
    client_free(cl);
}

static void test_client_reset_before_finish(void **state)
{
    client *cl;
    stream_res *r;

    (void)state;
    H.mode = HOLD;
    start_server(NULL);
    cl = client_connect();
    r = unary(cl, TRACES_PATH, "x", 1, NULL);
    wait_held(1);
    nghttp2_submit_rst_stream(cl->h2, NGHTTP2_FLAG_NONE, r->id, NGHTTP2_CANCEL);
    client_flush(cl);
    run_for(50);
    /* The stream is gone; finishing must only free the call. */
    finish_ok(H.held[0]);
    run_for(20);
    /* The connection still serves. */
    r = unary(cl, TRACES_PATH, "y", 1, NULL);
    wait_held(2);
    finish_ok(H.held[1]);
    wait_closed(r);
    assert_ok_response(r);
    client_free(cl);
}

static void test_client_disconnect_before_finish(void **state)
{
    client *cl;
    stream_res *r;

    (void)state;
    H.mode = HOLD;
    start_server(NULL);
    cl = client_connect();
    unary(cl, TRACES_PATH, "x", 1, NULL);
    unary(cl, LOGS_PATH, "y", 1, NULL);
    wait_held(2);
    assert_int_equal(H.ncalls, 2);
    client_free(cl);
    run_for(50);
    /* Finishing a call whose client has gone only frees it: the server
     * goes on serving new connections. */
    finish_ok(H.held[0]);
    H.mode = FINISH_NOW;
    cl = client_connect();
    r = unary(cl, TRACES_PATH, "z", 1, NULL);
    wait_closed(r);
    assert_ok_response(r);
    assert_int_equal(H.ncalls, 3);
    assert_memory_equal(H.msg, "z", 1);
    client_free(cl);
    /* A held call whose connection is gone does not hold up the stop, and
     * may be finished after it: the call outlives the server. */
    srv_done = 0;
    tg_grpc_server_stop(srv, on_srv_done, &srv_done);
    assert_true(run_until_ms(int_set, &srv_done, 5000));
    srv = NULL;
    tg_grpc_call_finish(H.held[1], 8, "late", NULL, 0, 100);
    assert_int_equal(H.ncalls, 3);
}

static void test_garbage_preface(void **state)
{
    static const char garbage[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    client *raw, *cl;
    stream_res *r;

    (void)state;
    start_server(NULL);
    raw = client_connect_raw();
    raw_write(&raw->tcp, garbage, sizeof(garbage) - 1);
    assert_true(run_until_ms(client_eof, raw, 5000));
    client_free(raw);

    /* A valid preface followed by a malformed frame: GOAWAY, then close. */
    raw = client_connect_raw();
    {
        uint8_t bad[NGHTTP2_CLIENT_MAGIC_LEN + 9 + 9];
        memcpy(bad, NGHTTP2_CLIENT_MAGIC, NGHTTP2_CLIENT_MAGIC_LEN);
        /* empty SETTINGS */
        memcpy(bad + 24, "\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);
        /* DATA on stream 0 is a connection error */
        memcpy(bad + 33, "\x00\x00\x00\x00\x00\x00\x00\x00\x00", 9);
        raw_write(&raw->tcp, bad, sizeof(bad));
    }
    assert_true(run_until_ms(client_eof, raw, 5000));
    client_free(raw);

    cl = client_connect();
    r = unary(cl, TRACES_PATH, "ok", 2, NULL);
    wait_closed(r);
    assert_ok_response(r);
    client_free(cl);
}

static void test_request_timeout(void **state)
{
    tg_grpc_options opt;
    client *cl;
    stream_res *r, *r2;
    req_opts partial = {.no_end = 1};
    req_opts deadline = {.no_end = 1, .timeout = "80m"};
    uint64_t t0;

    (void)state;
    tg_grpc_options_default(&opt);
    opt.request_timeout_ms = 150;
    start_server(&opt);
    cl = client_connect();
    t0 = uv_now(&loop);
    r = client_call(cl, TRACES_PATH, (const uint8_t *)"\0\0\0\0\x10part", 9, &partial);
    r2 = client_call(cl, TRACES_PATH, (const uint8_t *)"\0\0\0\0\x10part", 9, &deadline);
    wait_closed(r2);
    assert_int_equal(r2->grpc_status, 4);
    assert_string_equal(r2->grpc_message, "request message not received within 80 ms");
    assert_true(uv_now(&loop) - t0 >= 70);
    wait_closed(r);
    assert_int_equal(r->grpc_status, 4);
    assert_string_equal(r->grpc_message, "request message not received within 150 ms");
    assert_true(uv_now(&loop) - t0 >= 140);
    /* The client is told to stop sending, without error. */
    assert_int_equal(r->rst_recv, 1);
    assert_int_equal(r->rst_code, NGHTTP2_NO_ERROR);
    assert_int_equal(H.ncalls, 0);
    client_free(cl);
}

static void test_idle_timeout(void **state)
{
    tg_grpc_options opt;
    client *cl;
    stream_res *r;

    (void)state;
    tg_grpc_options_default(&opt);
    opt.idle_timeout_ms = 100;
    start_server(&opt);
    cl = client_connect();
    r = unary(cl, TRACES_PATH, "x", 1, NULL);
    wait_closed(r);
    assert_ok_response(r);
    assert_false(cl->goaway);
    assert_true(run_until_ms(client_eof, cl, 5000));
    assert_true(cl->goaway);
    client_free(cl);
}

static void test_max_connections(void **state)
{
    tg_grpc_options opt;
    client *a, *b;
    stream_res *r;

    (void)state;
    tg_grpc_options_default(&opt);
    opt.max_connections = 1;
    start_server(&opt);
    a = client_connect();
    r = unary(a, TRACES_PATH, "a", 1, NULL);
    wait_closed(r);
    b = client_connect();
    assert_true(run_until_ms(client_eof, b, 5000));
    assert_false(a->eof);
    r = unary(a, TRACES_PATH, "a", 1, NULL);
    wait_closed(r);
    assert_ok_response(r);
    client_free(b);
    client_free(a);
    /* The slot is free again. */
    run_for(20);
    b = client_connect();
    r = unary(b, TRACES_PATH, "b", 1, NULL);
    wait_closed(r);
    assert_ok_response(r);
    client_free(b);
}

static void test_stop_finishes_inflight(void **state)
{
    client *cl;
    stream_res *r;

    (void)state;
    H.mode = HOLD;
    start_server(NULL);
    cl = client_connect();
    r = unary(cl, TRACES_PATH, "x", 1, NULL);
    wait_held(1);
    srv_done = 0;
    tg_grpc_server_stop(srv, on_srv_done, &srv_done);
    assert_true(run_until_ms(int_set, &cl->goaway, 5000));
    assert_false(srv_done);
    assert_false(r->closed);
    finish_ok(H.held[0]);
    wait_closed(r);
    assert_ok_response(r);
    assert_true(run_until_ms(int_set, &srv_done, 5000));
    srv = NULL;
    assert_true(run_until_ms(client_eof, cl, 5000));
    client_free(cl);
}

static stream_res **budget_streams;

static int four_closed(void *arg)
{
    int n = 0;

    (void)arg;
    for (int i = 0; i < 20; i++)
        n += budget_streams[i]->closed;
    return n >= 4;
}

/* The server-wide cap on partially received messages: 16 x max message. */
static void test_receive_budget(void **state)
{
    tg_grpc_options opt;
    client *cl;
    stream_res *r[20];
    uint8_t body[1005];
    req_opts partial = {.no_end = 1};
    int busy = 0, open = 0;

    (void)state;
    memset(body, 'q', sizeof(body));
    body[0] = 0; /* a 1000-byte message */
    body[1] = 0;
    body[2] = 0;
    body[3] = 0x03;
    body[4] = 0xe8;
    tg_grpc_options_default(&opt);
    opt.max_message_bytes = 1024;
    start_server(&opt);
    cl = client_connect();
    /* 999 of 1000 bytes each: all stay partial. */
    for (int i = 0; i < 20; i++)
        r[i] = client_call(cl, TRACES_PATH, body, sizeof(body) - 1, &partial);
    budget_streams = r;
    assert_true(run_until_ms(four_closed, NULL, 5000));
    run_for(50); /* and no more */
    for (int i = 0; i < 20; i++) {
        if (r[i]->closed) {
            busy++;
            assert_int_equal(r[i]->grpc_status, 8);
            assert_string_equal(r[i]->grpc_message,
                                "server busy: too much request data in flight");
            assert_string_equal(r[i]->pushback, "1000");
        } else {
            open++;
        }
    }
    assert_int_equal(open, 16);
    assert_int_equal(busy, 4);
    client_free(cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unary_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_message_and_split_frames, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_large_message_and_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_grpc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_framing_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_exhausted_pushback, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_message_percent_encoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_reset_before_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_disconnect_before_finish, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_garbage_preface, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_finishes_inflight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_budget, setup, teardown),
    };

    tg_log_set_level(getenv("TG_TEST_DEBUG") ? TG_LOG_DEBUG : TG_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
