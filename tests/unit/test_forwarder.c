/* The forwarder end to end in one process: an in-memory source of OTLP
 * requests, the real outbox, sender and summariser, and a centre made of
 * the real server and central store behind a small upload handler that can
 * lose acknowledgements, disappear, speak an older protocol or run a
 * skewed clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <math.h>

#include <cmocka.h>
#include <pthread.h>

#include "cstore.h"
#include "server.h"
#include "tg_err.h"
#include "tg_forward.h"
#include "tg_otlp.h"
#include "tg_otlp_json.h"
#include "tg_wire.h"

/* ---- the source ------------------------------------------------------------ */

typedef struct rec {
    enum tg_signal sig;
    uint8_t *data;
    size_t len;
} rec;

typedef struct source {
    pthread_mutex_t mu;
    rec v[512];
    size_t n; /* seq i+1 is v[i] */
} source;

static int src_read(void *ctx, uint64_t after, size_t max, tg_fwd_visit_cb cb,
                    void *cbctx)
{
    source *s = ctx;
    size_t n;

    pthread_mutex_lock(&s->mu);
    n = s->n;
    pthread_mutex_unlock(&s->mu);
    for (uint64_t seq = after + 1; seq <= n && max > 0; seq++, max--) {
        tg_fwd_record r = {.seq = seq,
                           .signal = s->v[seq - 1].sig,
                           .data = s->v[seq - 1].data,
                           .len = s->v[seq - 1].len};
        if (cb(cbctx, &r))
            break;
    }
    return 0;
}

static uint64_t src_last(void *ctx)
{
    source *s = ctx;
    uint64_t n;
    pthread_mutex_lock(&s->mu);
    n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Adds a traces request with `spans` spans of a fresh trace. */
static void add_traces(source *s, int spans)
{
    char json[16384];
    size_t off = 0;
    tg_arena a;
    char err[128];
    ProtobufCMessage *m;
    static uint32_t counter;

    off += (size_t)snprintf(json + off, sizeof(json) - off,
                            "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"
                            "\"service.name\",\"value\":{\"stringValue\":\"svc\"}}]},"
                            "\"scopeSpans\":[{\"spans\":[");
    counter++;
    for (int i = 0; i < spans; i++)
        off += (size_t)snprintf(
            json + off, sizeof(json) - off,
            "%s{\"traceId\":\"%032x\",\"spanId\":\"%08x%08x\",\"name\":\"op\","
            "\"kind\":2,\"startTimeUnixNano\":\"1700000000000000000\","
            "\"endTimeUnixNano\":\"1700000000001000000\"}",
            i ? "," : "", counter, counter, (unsigned)i + 1);
    snprintf(json + off, sizeof(json) - off, "]}]}]}");
    tg_arena_init(&a, 64 * 1024, 0);
    m = tg_otlp_json_decode(tg_otlp_request_descriptor(TG_SIGNAL_TRACES), json,
                            strlen(json), &a, err, sizeof(err));
    assert_non_null(m);
    pthread_mutex_lock(&s->mu);
    assert_true(s->n < 512);
    s->v[s->n].sig = TG_SIGNAL_TRACES;
    s->v[s->n].len = protobuf_c_message_get_packed_size(m);
    s->v[s->n].data = malloc(s->v[s->n].len);
    protobuf_c_message_pack(m, s->v[s->n].data);
    s->n++;
    pthread_mutex_unlock(&s->mu);
    tg_arena_destroy(&a);
}

/* ---- the centre ------------------------------------------------------------- */

typedef struct centre {
    tg_cstore *cs;
    tg_srv *srv;
    int port;
    char dir[64];
    pthread_mutex_t mu;
    int lose_acks; /* apply, then answer 503 */
    unsigned max_version;
    int64_t skew_ns;
    uint64_t uploads, refused_version;
} centre;

static uint64_t wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void upload(const tg_http_request *req, tg_http_response *resp, void *ctx)
{
    centre *c = ctx;
    size_t body_len;
    const uint8_t *body = tg_http_body(req, &body_len);
    Tollgate__V1__Upload *up;
    Tollgate__V1__Batch *b = NULL;
    Tollgate__V1__UploadAck ack = TOLLGATE__V1__UPLOAD_ACK__INIT;
    tg_cstore_upload u;
    tg_cstore_result r;
    tg_arena a;
    uint8_t buf[256];
    size_t n;
    int lose;
    unsigned maxv;
    int64_t skew;
    uint64_t t2 = tg_http_received_ns(req);

    pthread_mutex_lock(&c->mu);
    lose = c->lose_acks;
    maxv = c->max_version;
    skew = c->skew_ns;
    c->uploads++;
    pthread_mutex_unlock(&c->mu);
    if (strtoul(tg_http_header(req, "X-Tollgate-Protocol", NULL), NULL, 10) > maxv) {
        snprintf(resp->headers, sizeof(resp->headers),
                 "X-Tollgate-Protocol-Supported: 1-%u\r\n", maxv);
        pthread_mutex_lock(&c->mu);
        c->refused_version++;
        pthread_mutex_unlock(&c->mu);
        tg_http_response_text(resp, 426, "version\n");
        return;
    }
    tg_arena_init(&a, 64 * 1024, 0);
    up = tollgate__v1__upload__unpack(&a.pb, body_len, body);
    assert_non_null(up);
    if (up->batch_zstd.len)
        assert_int_equal(tg_wire_unpack_batch(up->batch_zstd.data, up->batch_zstd.len,
                                              1 << 26, &a, &b, NULL),
                         0);
    memset(&u, 0, sizeof(u));
    u.site = up->site;
    u.epoch = up->epoch.data;
    u.seq = b ? up->sequence : 0;
    u.batch = b;
    u.zstd = up->batch_zstd.data;
    u.zlen = up->batch_zstd.len;
    u.version = up->protocol_version;
    u.health = up->health;
    u.now_ns = t2;
    assert_int_equal(tg_cstore_apply(c->cs, &u, &r), 0);
    if (lose && b) {
        tg_http_response_text(resp, 503, "lost\n");
        tg_arena_destroy(&a);
        return;
    }
    ack.protocol_version = up->protocol_version;
    ack.result = !b            ? TOLLGATE__V1__UPLOAD_ACK__RESULT__HEARTBEAT
                 : r.duplicate ? TOLLGATE__V1__UPLOAD_ACK__RESULT__DUPLICATE
                               : TOLLGATE__V1__UPLOAD_ACK__RESULT__ACCEPTED;
    ack.last_sequence = r.last_seq;
    ack.t1_unix_nano = up->t1_unix_nano;
    ack.t2_unix_nano = t2 + (uint64_t)skew;
    ack.t3_unix_nano = wall() + (uint64_t)skew;
    ack.central_version = "test";
    n = tollgate__v1__upload_ack__pack(&ack, buf);
    tg_http_response_set(resp, 200, "application/x-protobuf", buf, n);
    tg_arena_destroy(&a);
}

static const tg_http_route upload_route = {"POST", "/v1/upload", 0, NULL, upload};

static void centre_listen(centre *c)
{
    tg_srv_options o;
    char addr[64], err[256];

    memset(&o, 0, sizeof(o));
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", c->port);
    for (int i = 0; i < 50 && !c->srv; i++) {
        c->srv = tg_srv_start_routes(addr, &o, &upload_route, 1, c, err, sizeof(err));
        if (!c->srv)
            usleep(100000);
    }
    assert_non_null(c->srv);
    c->port = tg_srv_port(c->srv);
}

static centre *centre_start(void)
{
    centre *c = calloc(1, sizeof(*c));
    tg_cstore_options so;
    int err;

    snprintf(c->dir, sizeof(c->dir), "/tmp/tg_fwd_centre_XXXXXX");
    assert_non_null(mkdtemp(c->dir));
    memset(&so, 0, sizeof(so));
    so.no_sync = 1;
    c->cs = tg_cstore_open(c->dir, &so, &err);
    assert_non_null(c->cs);
    pthread_mutex_init(&c->mu, NULL);
    c->max_version = 2;
    centre_listen(c);
    return c;
}

static void centre_stop(centre *c)
{
    char cmd[128];
    tg_srv_stop(c->srv);
    tg_cstore_close(c->cs);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", c->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    free(c);
}

typedef struct site_figs {
    uint64_t spans, batches, duplicates, last_seq, gaps;
    unsigned version;
} site_figs;

static int on_site(void *ctx, const Tollgate__V1__CentralSite *s)
{
    site_figs *f = ctx;
    f->spans = s->spans;
    f->batches = s->batches;
    f->duplicates = s->duplicates;
    f->last_seq = s->last_sequence;
    f->gaps = s->gaps;
    f->version = s->protocol_version;
    return 0;
}

static site_figs figs(centre *c)
{
    site_figs f;
    memset(&f, 0, sizeof(f));
    tg_cstore_sites(c->cs, on_site, &f);
    return f;
}

/* Spans held at the centre, each exactly once, in sequence order. */
typedef struct span_check {
    uint64_t spans, last_seq;
    int out_of_order;
    uint8_t seen[4096][8];
    int dup;
} span_check;

static int check_batch(void *ctx, const char *site, uint64_t seq,
                       const Tollgate__V1__CentralBatchHeader *h, const uint8_t *z,
                       size_t zlen)
{
    span_check *sc = ctx;
    tg_arena a;
    Tollgate__V1__Batch *b;

    (void)site;
    (void)h;
    if (seq <= sc->last_seq)
        sc->out_of_order = 1;
    sc->last_seq = seq;
    tg_arena_init(&a, 64 * 1024, 0);
    assert_int_equal(tg_wire_unpack_batch(z, zlen, 1 << 26, &a, &b, NULL), 0);
    for (size_t i = 0; i < b->n_spans; i++)
        for (size_t j = 0; j < b->spans[i]->n_spans; j++) {
            const uint8_t *id = b->spans[i]->spans[j]->span_id.data;
            for (uint64_t k = 0; k < sc->spans && k < 4096; k++)
                if (memcmp(sc->seen[k], id, 8) == 0)
                    sc->dup = 1;
            if (sc->spans < 4096)
                memcpy(sc->seen[sc->spans], id, 8);
            sc->spans++;
        }
    tg_arena_destroy(&a);
    return 0;
}

/* ---- fixture -------------------------------------------------------------- */

typedef struct fx {
    source src;
    centre *c;
    tg_forwarder *f;
    char dir[64];
} fx;

static void start_forwarder(fx *x)
{
    tg_forward_config cfg;
    tg_forwarder_options o;
    char url[64], err[256];
    int rc;

    tg_forward_config_defaults(&cfg);
    cfg.flush_interval_ms = 50;
    cfg.heartbeat_interval_ms = 200;
    cfg.retry_initial_ms = 20;
    cfg.retry_max_ms = 200;
    cfg.connect_timeout_ms = 500;
    cfg.request_timeout_ms = 2000;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", x->c->port);
    memset(&o, 0, sizeof(o));
    o.site = "fra";
    o.data_dir = x->dir;
    o.central_url = url;
    o.token = "t";
    o.software_version = "test";
    o.source.read_after = src_read;
    o.source.last_seq = src_last;
    o.source.ctx = &x->src;
    o.cfg = &cfg;
    o.no_sync = 1;
    x->f = tg_forwarder_start(&o, &rc, err, sizeof(err));
    if (!x->f)
        fail_msg("forwarder: %s", err);
}

static int setup(void **state)
{
    fx *x = calloc(1, sizeof(*x));
    pthread_mutex_init(&x->src.mu, NULL);
    snprintf(x->dir, sizeof(x->dir), "/tmp/tg_fwd_site_XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    x->c = centre_start();
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    fx *x = *state;
    char cmd[128];

    if (x->f)
        tg_forwarder_stop(x->f);
    if (x->c)
        centre_stop(x->c);
    for (size_t i = 0; i < x->src.n; i++)
        free(x->src.v[i].data);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    free(x);
    return 0;
}

static int wait_spans(fx *x, uint64_t want, int ms)
{
    for (int i = 0; i < ms / 20; i++) {
        if (figs(x->c).spans >= want)
            return 1;
        usleep(20000);
    }
    return 0;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_exactly_once_despite_lost_acks(void **state)
{
    fx *x = *state;
    span_check sc;
    tg_forwarder_stats st;

    for (int i = 0; i < 10; i++)
        add_traces(&x->src, 5);
    start_forwarder(x);
    assert_true(wait_spans(x, 50, 5000));
    /* Acknowledgements now get lost: the site retries, the centre sees
     * duplicates and keeps one copy. */
    pthread_mutex_lock(&x->c->mu);
    x->c->lose_acks = 1;
    pthread_mutex_unlock(&x->c->mu);
    for (int i = 0; i < 10; i++)
        add_traces(&x->src, 5);
    tg_forwarder_kick(x->f);
    usleep(600000);
    pthread_mutex_lock(&x->c->mu);
    x->c->lose_acks = 0;
    pthread_mutex_unlock(&x->c->mu);
    assert_true(wait_spans(x, 100, 5000));
    usleep(300000);
    assert_true(figs(x->c).duplicates > 0);
    memset(&sc, 0, sizeof(sc));
    tg_cstore_batches(x->c->cs, check_batch, &sc);
    assert_int_equal(sc.spans, 100);
    assert_false(sc.dup);
    assert_false(sc.out_of_order);
    assert_int_equal(figs(x->c).spans, 100);
    tg_forwarder_get_stats(x->f, &st);
    assert_int_equal(st.spans, 100);
    assert_int_equal(st.outbox_batches, 0);
    assert_true(st.ledger_entries >= st.batches_appended);
}

static void test_partition_then_catch_up(void **state)
{
    fx *x = *state;
    tg_forwarder_stats st;
    span_check sc;
    int port;

    add_traces(&x->src, 3);
    start_forwarder(x);
    assert_true(wait_spans(x, 3, 5000));
    /* The centre disappears; the site keeps receiving. */
    port = x->c->port;
    tg_srv_stop(x->c->srv);
    x->c->srv = NULL;
    for (int i = 0; i < 20; i++)
        add_traces(&x->src, 4);
    tg_forwarder_kick(x->f);
    for (int i = 0; i < 100; i++) {
        tg_forwarder_get_stats(x->f, &st);
        if (st.outbox_batches > 0 && st.upload_errors > 0)
            break;
        usleep(20000);
    }
    assert_true(st.outbox_batches > 0);
    assert_true(st.upload_errors > 0);
    assert_true(st.backoff_ms > 0);
    assert_int_equal(figs(x->c).spans, 3);
    /* It comes back on the same address: everything arrives, once, in order. */
    x->c->port = port;
    centre_listen(x->c);
    assert_true(wait_spans(x, 83, 8000));
    usleep(300000);
    memset(&sc, 0, sizeof(sc));
    tg_cstore_batches(x->c->cs, check_batch, &sc);
    assert_int_equal(sc.spans, 83);
    assert_false(sc.dup);
    assert_false(sc.out_of_order);
    assert_int_equal(figs(x->c).gaps, 0);
    tg_forwarder_get_stats(x->f, &st);
    assert_int_equal(st.outbox_batches, 0);
    assert_false(st.partitioned);
}

static void test_older_centre_and_skewed_clock(void **state)
{
    fx *x = *state;
    tg_forwarder_stats st;
    uint64_t refused;

    pthread_mutex_lock(&x->c->mu);
    x->c->max_version = 1;
    x->c->skew_ns = 3000000000ll; /* the centre runs 3 s ahead */
    pthread_mutex_unlock(&x->c->mu);
    for (int i = 0; i < 5; i++)
        add_traces(&x->src, 2);
    start_forwarder(x);
    assert_true(wait_spans(x, 10, 5000));
    assert_int_equal(figs(x->c).version, 1);
    pthread_mutex_lock(&x->c->mu);
    refused = x->c->refused_version;
    pthread_mutex_unlock(&x->c->mu);
    assert_true(refused >= 1);
    usleep(500000); /* a few more samples */
    tg_forwarder_get_stats(x->f, &st);
    assert_int_equal(st.protocol_version, 1);
    assert_true(st.version_refusals >= 1);
    assert_true(st.clock_valid);
    /* Site minus centre: -3 s, within the round trip on loopback. */
    assert_true(llabs(st.clock_offset_ns + 3000000000ll) < 50000000ll);
}

static void test_restart_resumes_from_the_cursor(void **state)
{
    fx *x = *state;
    span_check sc;

    for (int i = 0; i < 6; i++)
        add_traces(&x->src, 3);
    start_forwarder(x);
    assert_true(wait_spans(x, 18, 5000));
    tg_forwarder_stop(x->f);
    x->f = NULL;
    for (int i = 0; i < 6; i++)
        add_traces(&x->src, 3);
    start_forwarder(x); /* same outbox: same epoch, cursor and sequence */
    assert_true(wait_spans(x, 36, 5000));
    usleep(300000);
    memset(&sc, 0, sizeof(sc));
    tg_cstore_batches(x->c->cs, check_batch, &sc);
    assert_int_equal(sc.spans, 36);
    assert_false(sc.dup);
    assert_false(sc.out_of_order);
    assert_int_equal(figs(x->c).gaps, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exactly_once_despite_lost_acks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_partition_then_catch_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_older_centre_and_skewed_clock, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart_resumes_from_the_cursor, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
