/* Fuzz target: the centre's whole upload handler, from the socket. The
 * request goes through a real socketpair into the one HTTP server, whose
 * route is the centre's own (POST /v1/upload with its header check), to
 * tg_central_upload on a worker thread and the centre's LMDB store, fresh
 * for every input in a temporary directory.
 *
 * Input: a control byte, then
 *   ctl bit 0 set: raw: the rest is the client's whole byte stream;
 *   else structured: a length byte L, L bytes of extra header lines, and
 *     the body; the target writes the request line and the headers a site
 *     sends (X-Tollgate-Site: fra, its token, the protocol version,
 *     Content-Length), with
 *     bit 1: a wrong token,  bit 2: no X-Tollgate-Site,
 *     bits 3-4: protocol version: the lowest, the highest, none, 99,
 *     bit 5: a chunked body,
 *     bit 6: the body is a Batch (protobuf), wrapped here the way a site
 *            sends it (Upload {site, epoch, sequence of the batch,
 *            batch_zstd}); else the body is the Upload itself;
 *     bit 7: the same request sent twice on the connection (the second
 *            is a duplicate).
 * Invariants: the server answers with an HTTP status line; a request
 * without the site's token is never accepted (no 200) and its batch never
 * reaches the store; every run ends with the server stopped, every handle
 * closed and every byte freed. */
#include "central_int.h"
#include "cstore.h"
#include "tg_http_internal.h"
#include "tg_log.h"
#include "tg_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char token[] = "fuzz-site-token-0123456789abcdef";

static central g_c;
static char g_dir[256];

static const tg_http_route routes[] = {
    {"POST", "/v1/upload", 0, NULL, tg_central_upload, tg_central_site_check},
};

static void remove_dir(void);

static void init_once(void)
{
    static int done;
    char tmpl[] = "/tmp/tg-fuzz-upload-XXXXXX";

    if (done)
        return;
    done = 1;
    /* Every refusal logs a line: millions of them say nothing here. */
    tg_log_set_level_name("error");
    if (!mkdtemp(tmpl))
        abort();
    snprintf(g_dir, sizeof(g_dir), "%s/central", tmpl);
    atexit(remove_dir);
    tg_central_config_defaults(&g_c.cfg);
    tg_protocol_range(&g_c.pmin, &g_c.pmax);
    pthread_rwlock_init(&g_c.sites_lock, NULL);
    g_c.sites.v = calloc(1, sizeof(*g_c.sites.v));
    if (!g_c.sites.v)
        abort();
    snprintf(g_c.sites.v[0].name, sizeof(g_c.sites.v[0].name), "fra");
    snprintf(g_c.sites.v[0].token, sizeof(g_c.sites.v[0].token), "%s", token);
    g_c.sites.n = 1;
}

static void remove_store(void)
{
    char p[300];

    snprintf(p, sizeof(p), "%s/data.mdb", g_dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", g_dir);
    unlink(p);
    rmdir(g_dir);
}

/* The temporary directory goes with the process. */
static void remove_dir(void)
{
    char parent[256];
    char *slash;

    remove_store();
    snprintf(parent, sizeof(parent), "%s", g_dir);
    if ((slash = strrchr(parent, '/')))
        *slash = '\0';
    rmdir(parent);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The body a site would send for the Batch in `b` (protobuf), or NULL when
 * it cannot be built. */
static uint8_t *wrap_batch(const uint8_t *b, size_t blen, unsigned version, size_t *len)
{
    static const uint8_t epoch[16] = {1, 2,  3,  4,  5,  6,  7,  8,
                                      9, 10, 11, 12, 13, 14, 15, 16};
    Tollgate__V1__Upload up = TOLLGATE__V1__UPLOAD__INIT;
    Tollgate__V1__Batch *batch = tollgate__v1__batch__unpack(NULL, blen, b);
    uint8_t *z = NULL, *out = NULL;
    size_t zl = 0;

    up.protocol_version = version;
    up.site = (char *)"fra";
    up.epoch.data = (uint8_t *)epoch;
    up.epoch.len = sizeof(epoch);
    up.t1_unix_nano = 1;
    if (blen && tg_zstd_compress(b, blen, 1, &z, &zl) == 0) {
        up.batch_zstd.data = z;
        up.batch_zstd.len = zl;
        up.batch_raw_bytes = blen;
        up.sequence = batch ? batch->sequence : 1;
    }
    if (batch)
        tollgate__v1__batch__free_unpacked(batch, NULL);
    *len = tollgate__v1__upload__get_packed_size(&up);
    out = malloc(*len ? *len : 1);
    if (out)
        tollgate__v1__upload__pack(&up, out);
    free(z);
    return out;
}

/* The client's bytes in structured mode, malloc'd. */
static char *structured(uint8_t ctl, const uint8_t *p, size_t n, size_t *outlen)
{
    unsigned version = ((ctl >> 3) & 3) == 0   ? g_c.pmin
                       : ((ctl >> 3) & 3) == 1 ? g_c.pmax
                       : ((ctl >> 3) & 3) == 3 ? 99
                                               : 0;
    size_t hl = n ? p[0] : 0, blen, cap, len = 0;
    const uint8_t *hdrs = p + (n ? 1 : 0), *body;
    uint8_t *wrapped = NULL;
    char *out;
    int reps = (ctl & 0x80) ? 2 : 1;

    if (n)
        n--;
    if (hl > n)
        hl = n;
    body = hdrs + hl;
    blen = n - hl;
    if (ctl & 0x40) {
        wrapped = wrap_batch(body, blen, version ? version : g_c.pmax, &blen);
        if (!wrapped)
            return NULL;
        body = wrapped;
    }
    cap = (512 + hl + blen + 64) * (size_t)reps;
    out = malloc(cap);
    if (!out) {
        free(wrapped);
        return NULL;
    }
    for (int r = 0; r < reps; r++) {
        len += (size_t)snprintf(out + len, cap - len,
                                "POST /v1/upload HTTP/1.1\r\nHost: c\r\n");
        if (!(ctl & 4))
            len += (size_t)snprintf(out + len, cap - len, "X-Tollgate-Site: fra\r\n");
        len += (size_t)snprintf(out + len, cap - len, "Authorization: Bearer %s\r\n",
                                (ctl & 2) ? "not-the-token" : token);
        if (version)
            len += (size_t)snprintf(out + len, cap - len, "X-Tollgate-Protocol: %u\r\n",
                                    version);
        memcpy(out + len, hdrs, hl);
        len += hl;
        if (ctl & 0x20)
            len += (size_t)snprintf(out + len, cap - len,
                                    "Transfer-Encoding: chunked\r\n\r\n%zx\r\n", blen);
        else
            len += (size_t)snprintf(out + len, cap - len, "Content-Length: %zu\r\n\r\n",
                                    blen);
        memcpy(out + len, body, blen);
        len += blen;
        if (ctl & 0x20)
            len +=
                (size_t)snprintf(out + len, cap - len, "%s0\r\n\r\n", blen ? "\r\n" : "");
    }
    free(wrapped);
    *outlen = len;
    return out;
}

static void on_done(void *ctx)
{
    *(int *)ctx = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_http_router router = {routes, 1, &g_c};
    tg_cstore_options so;
    tg_http_options o;
    tg_http_server *s;
    uv_loop_t loop;
    uint8_t ctl;
    char *req = NULL, answer[16] = "";
    const char *in;
    size_t len, off = 0, got = 0, iter = 0;
    int sv[2], err = 0, done = 0, stop_called = 0, shut = 0;
    uint64_t t0 = mono_ms();

    if (size < 1)
        return 0;
    init_once();
    ctl = data[0];
    if (ctl & 1) {
        in = (const char *)data + 1;
        len = size - 1;
    } else {
        if (!(req = structured(ctl, data + 1, size - 1, &len)))
            return 0;
        in = req;
    }
    memset(&so, 0, sizeof(so));
    so.no_sync = 1;
    remove_store();
    if (!(g_c.cs = tg_cstore_open(g_dir, &so, &err)))
        abort();

    if (uv_loop_init(&loop) != 0)
        abort();
    tg_http_options_default(&o);
    o.max_body_bytes = 1u << 20;
    o.check_headers = tg_http_dispatch_check;
    o.refusals = &g_c.refusals;
    s = tg_http__server_new(&loop, &o, tg_http_dispatch, &router, &err);
    if (!s || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 ||
        tg_http__adopt_fd(s, sv[1]) != 0)
        abort();
    while (!done) {
        char sink[16384];
        ssize_t r;

        if (!stop_called && tg_http__conn_count(s) == 0) {
            stop_called = 1;
            tg_http_server_stop(s, on_done, &done);
        }
        if (off < len) {
            size_t n = len - off < 4096 ? len - off : 4096;
            ssize_t w = send(sv[0], in + off, n, MSG_NOSIGNAL | MSG_DONTWAIT);

            if (w > 0)
                off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                off = len;
        }
        if (off == len && !shut) {
            shutdown(sv[0], SHUT_WR);
            shut = 1;
        }
        uv_run(&loop, UV_RUN_NOWAIT);
        while ((r = recv(sv[0], sink, sizeof(sink), MSG_DONTWAIT)) > 0) {
            if (got < sizeof(answer) - 1) {
                size_t k = (size_t)r < sizeof(answer) - 1 - got
                               ? (size_t)r
                               : sizeof(answer) - 1 - got;
                memcpy(answer + got, sink, k);
                got += k;
            }
        }
        /* Upload handlers run on libuv's worker threads: the clock covers
         * a busy machine starting them late. */
        if (++iter > len + 100000 && mono_ms() - t0 > 10000)
            abort();
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    close(sv[0]);
    if (uv_loop_close(&loop) != 0)
        abort();

    if (got && strncmp(answer, "HTTP/1.1 ", 9) != 0)
        abort();
    if (!(ctl & 1) && (ctl & 6)) {
        /* No token, or no site: refused, and nothing stored. */
        tg_cstore_stats st;
        if (got >= 12 && memcmp(answer + 9, "200", 3) == 0)
            abort();
        if (tg_cstore_get_stats(g_c.cs, &st) == 0 && st.batches != 0)
            abort();
    }
    tg_cstore_close(g_c.cs);
    g_c.cs = NULL;
    remove_store();
    free(req);
    return 0;
}
