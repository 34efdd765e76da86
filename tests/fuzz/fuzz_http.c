/* Fuzz target: arbitrary bytes as the client side of one HTTP connection.
 *
 * Input: two control bytes, then the client's byte stream.
 *   ctl0 bit 0: max_body_bytes 64 (else 1 MiB)
 *   ctl0 bit 1: max_header_bytes 128 (else 64 KiB)
 *   ctl0 bits 2-3: handler: 0 answer at once (echo), 1 answer from a 0 ms
 *                  timer, 2 answer 204/HEAD-style at once, 3 like 1 but the
 *                  server is stopped halfway through the input
 *   ctl0 bit 4: requests go through a route table (tg_http_dispatch): GET
 *               /w... on a worker thread, POST /e and any method on
 *               /any... to the handler above, the rest 404 or 405
 *   ctl1: bytes per send (1..256), so fields arrive split across reads
 * The stream goes through a real socketpair into the server's read path;
 * responses are drained and dropped. Every run must end with the server
 * stopped, every handle closed and every byte freed (LeakSanitizer). */
#include "tg_http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct fz {
    uv_loop_t *loop;
    int mode;
    int done;
} fz;

typedef struct later {
    uv_timer_t t;
    tg_http_request *r;
} later;

static void answer(tg_http_request *r, int mode)
{
    size_t pl, ql, bl, hl;
    const char *path = tg_http_path(r, &pl);
    const char *q = tg_http_query(r, &ql);
    const uint8_t *body = tg_http_body(r, &bl);
    const char *h = tg_http_header(r, "Content-Type", &hl);
    char v[32];
    int n = q ? tg_http_query_param(q, ql, "a", v, sizeof(v)) : -1;

    if (h && h[hl] != '\0')
        abort(); /* header values are C strings */

    /* Touch every byte the accessors expose, so ASan sees bad bounds. */
    volatile unsigned sum = (unsigned)n + (unsigned)strlen(tg_http_method(r)) +
                            (unsigned)strlen(tg_http_peer(r));
    for (size_t i = 0; i < pl; i++)
        sum += (unsigned char)path[i];
    for (size_t i = 0; q && i < ql; i++)
        sum += (unsigned char)q[i];
    for (size_t i = 0; h && i < hl; i++)
        sum += (unsigned char)h[i];
    (void)sum;
    if (mode == 2)
        tg_http_respond(r, 204, NULL, NULL, body, bl);
    else
        tg_http_respond(r, 200, "application/octet-stream", "X-F: 1\r\n", body, bl);
}

static void on_later_close(uv_handle_t *h)
{
    free(h->data);
}

static void on_later(uv_timer_t *t)
{
    later *l = t->data;

    answer(l->r, 1);
    uv_close((uv_handle_t *)t, on_later_close);
}

static void handler(tg_http_request *r, void *data)
{
    fz *z = data;
    later *l;

    if (z->mode == 0 || z->mode == 2) {
        answer(r, z->mode);
        return;
    }
    l = malloc(sizeof(*l));
    if (!l)
        abort();
    l->r = r;
    uv_timer_init(z->loop, &l->t);
    l->t.data = l;
    uv_timer_start(&l->t, on_later, 0, 0);
}

/* On a worker thread: reads what the request exposes, answers with it. */
static void work(const tg_http_request *r, tg_http_response *resp, void *data)
{
    size_t pl, hl = 0, bl;
    const char *path = tg_http_path(r, &pl);
    const char *h = tg_http_header(r, "X-A", &hl);
    const uint8_t *body = tg_http_body(r, &bl);
    volatile unsigned sum = (unsigned)tg_http_received_ns(r);

    (void)data;
    if (h && h[hl] != '\0')
        abort();
    for (size_t i = 0; i < bl; i++)
        sum += body[i];
    (void)sum;
    tg_http_response_set(resp, 200, "text/plain", path, pl);
    if (h)
        snprintf(resp->headers, sizeof(resp->headers), "X-A-Len: %zu\r\n", hl);
}

static const tg_http_route routes[] = {
    {"GET", "/w", 1, NULL, work},
    {"POST", "/e", 0, handler, NULL},
    {NULL, "/any", 1, handler, NULL},
};

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_done(void *ctx)
{
    ((fz *)ctx)->done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_http_options o;
    tg_http_server *s;
    uv_loop_t loop;
    fz z = {0};
    tg_http_router router = {routes, sizeof(routes) / sizeof(routes[0]), &z};
    int routed;
    int sv[2], err = 0, stop_called = 0, shut = 0;
    size_t off = 0, chunk, iter = 0;
    char sink[16384];
    uint64_t t0 = mono_ms();

    if (size < 2)
        return 0;
    tg_http_options_default(&o);
    if (data[0] & 1)
        o.max_body_bytes = 64;
    if (data[0] & 2)
        o.max_header_bytes = 128;
    z.mode = (data[0] >> 2) & 3;
    routed = (data[0] >> 4) & 1;
    chunk = (size_t)data[1] + 1;
    data += 2;
    size -= 2;

    if (uv_loop_init(&loop) != 0)
        abort();
    z.loop = &loop;
    s = routed ? tg_http__server_new(&loop, &o, tg_http_dispatch, &router, &err)
               : tg_http__server_new(&loop, &o, handler, &z, &err);
    if (!s)
        abort();
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        abort();
    if (tg_http__adopt_fd(s, sv[1]) != 0)
        abort();

    while (!z.done) {
        if (!stop_called &&
            (tg_http__conn_count(s) == 0 || (z.mode == 3 && off >= size / 2))) {
            stop_called = 1;
            tg_http_server_stop(s, on_done, &z); /* s may be freed from here on */
        }
        if (off < size) {
            size_t n = size - off < chunk ? size - off : chunk;
            ssize_t w = send(sv[0], data + off, n, MSG_NOSIGNAL | MSG_DONTWAIT);

            if (w > 0)
                off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                off = size; /* the server closed: the rest is moot */
        }
        if (off == size && !shut) {
            shutdown(sv[0], SHUT_WR);
            shut = 1;
        }
        uv_run(&loop, UV_RUN_NOWAIT);
        while (recv(sv[0], sink, sizeof(sink), MSG_DONTWAIT) > 0)
            ;
        /* Every state ends once the client's EOF arrives; spinning far past
         * the input length means a connection that never finishes. The
         * clock is there for worker threads a busy machine starts late. */
        if (++iter > size + 100000 && mono_ms() - t0 > 5000)
            abort();
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    close(sv[0]);
    if (uv_loop_close(&loop) != 0)
        abort();
    return 0;
}
