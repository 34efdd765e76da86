/* ingest: body -> decode -> index -> committer -> store, with a real LMDB
 * store in a temporary directory and a real libuv loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <semaphore.h>

#include "ingest.h"
#include "tg_err.h"

typedef struct fixture {
    char dir[64];
    uv_loop_t loop;
    tg_store *store;
    tg_committer *committer;
    tg_stats stats;
    tg_ingest *ing;
} fixture;

typedef struct outcome {
    int called;
    tg_ingest_result res;
} outcome;

static void rm_rf(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* An observer that holds the writer thread after its first transaction
 * until released, so submissions pile up deterministically. */
typedef struct holder {
    sem_t entered, release;
    int first;
} holder;

static void hold_first(void *ctx, double seconds, size_t records, size_t bytes)
{
    holder *h = ctx;

    (void)seconds;
    (void)records;
    (void)bytes;
    if (!h->first) {
        h->first = 1;
        sem_post(&h->entered);
        sem_wait(&h->release);
    }
}

static fixture *fixture_new_obs(size_t max_pending, tg_commit_observer obs, void *obs_ctx);

static fixture *fixture_new(size_t max_pending)
{
    return fixture_new_obs(max_pending, NULL, NULL);
}

static fixture *fixture_new_obs(size_t max_pending, tg_commit_observer obs, void *obs_ctx)
{
    fixture *f = calloc(1, sizeof(*f));
    tg_store_options so;
    tg_committer_options co = {0};
    int err = 0;

    snprintf(f->dir, sizeof(f->dir), "/tmp/tg-ingest-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    tg_store_options_default(&so);
    so.no_sync = 1;
    f->store = tg_store_open(f->dir, &so, &err);
    assert_non_null(f->store);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    co.max_pending_bytes = max_pending;
    f->committer = tg_committer_create(&f->loop, f->store, &co, obs, obs_ctx);
    assert_non_null(f->committer);
    f->ing = tg_ingest_create(f->committer, &f->stats, NULL);
    assert_non_null(f->ing);
    return f;
}

static void drained(void *ctx)
{
    *(int *)ctx = 1;
}

static void fixture_free(fixture *f)
{
    int done = 0;

    tg_committer_drain(f->committer, drained, &done);
    while (!done)
        uv_run(&f->loop, UV_RUN_ONCE);
    tg_committer_destroy(f->committer);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    tg_ingest_destroy(f->ing);
    tg_store_close(f->store);
    rm_rf(f->dir);
    free(f);
}

static void on_done(void *ctx, const tg_ingest_result *res)
{
    outcome *o = ctx;
    o->called++;
    o->res = *res;
}

static void wait_for(fixture *f, outcome *o)
{
    for (int i = 0; i < 10000 && !o->called; i++)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(o->called, 1);
}

/* A packed ExportTraceServiceRequest with `n` spans of one trace; span k
 * gets a bad (7-byte) span id when bad_span == k. */
static uint8_t *make_traces(size_t n, int bad_span, const uint8_t trace_id[16], size_t *len)
{
    tg_otlp_traces_req req = OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    Opentelemetry__Proto__Resource__V1__Resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    tg_otlp_kv kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    tg_otlp_any av = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp = &rs;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp = &ss;
    tg_otlp_kv *kvp = &kv;
    Opentelemetry__Proto__Trace__V1__Span *spans = calloc(n, sizeof(*spans));
    Opentelemetry__Proto__Trace__V1__Span **sp = calloc(n, sizeof(*sp));
    uint8_t(*ids)[8] = calloc(n, 8);
    uint8_t *out;

    av.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    av.string_value = "checkout";
    kv.key = "service.name";
    kv.value = &av;
    res.attributes = &kvp;
    res.n_attributes = 1;
    rs.resource = &res;
    for (size_t i = 0; i < n; i++) {
        opentelemetry__proto__trace__v1__span__init(&spans[i]);
        spans[i].trace_id.data = (uint8_t *)trace_id;
        spans[i].trace_id.len = 16;
        memset(ids[i], 0, 8);
        ids[i][0] = (uint8_t)(i + 1);
        spans[i].span_id.data = ids[i];
        spans[i].span_id.len = (int)i == bad_span ? 7 : 8;
        spans[i].name = "GET /cart";
        spans[i].start_time_unix_nano = 1700000000000000000ull + i;
        spans[i].end_time_unix_nano = 1700000000000001000ull + i;
        sp[i] = &spans[i];
    }
    ss.spans = sp;
    ss.n_spans = n;
    rs.scope_spans = &ssp;
    rs.n_scope_spans = 1;
    req.resource_spans = &rsp;
    req.n_resource_spans = 1;
    *len = protobuf_c_message_get_packed_size(&req.base);
    out = malloc(*len ? *len : 1);
    protobuf_c_message_pack(&req.base, out);
    free(spans);
    free(sp);
    free(ids);
    return out;
}

typedef struct found {
    int records;
    size_t bytes;
} found;

static int count_visit(void *ctx, uint64_t seq, enum tg_signal sig, const uint8_t *data,
                       size_t len)
{
    found *fd = ctx;
    (void)seq;
    (void)data;
    assert_int_equal(sig, TG_SIGNAL_TRACES);
    fd->records++;
    fd->bytes += len;
    return 0;
}

static const uint8_t tid[16] = {0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
                                0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c};

static void test_protobuf_commits_then_acks(void **state)
{
    fixture *f = fixture_new(0);
    outcome o = {0};
    tg_ingest_result r;
    found fd = {0};
    size_t len;
    uint8_t *body = make_traces(3, -1, tid, &len);

    (void)state;
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_TRACES, TG_TRANSPORT_HTTP,
                                      TG_ENC_PROTOBUF, TG_COMP_NONE, body, len, on_done, &o,
                                      &r),
                     0);
    assert_int_equal(o.called, 0); /* never before the commit */
    wait_for(f, &o);
    assert_int_equal(o.res.status, 0);
    assert_int_equal(o.res.accepted, 3);
    assert_int_equal(tg_store_get_trace(f->store, tid, count_visit, &fd), 0);
    assert_int_equal(fd.records, 1);
    assert_int_equal(fd.bytes, len); /* stored byte for byte */
    assert_int_equal(atomic_load(&f->stats.items_accepted[TG_SIGNAL_TRACES][TG_TRANSPORT_HTTP]), 3);
    free(body);
    fixture_free(f);
}

static void test_gzip_body(void **state)
{
    fixture *f = fixture_new(0);
    outcome o = {0};
    tg_ingest_result r;
    found fd = {0};
    size_t len, zlen;
    uint8_t *body = make_traces(5, -1, tid, &len), *z;

    (void)state;
    assert_int_equal(tg_compress(TG_COMP_GZIP, 0, body, len, &z, &zlen), 0);
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_TRACES, TG_TRANSPORT_GRPC,
                                      TG_ENC_PROTOBUF, TG_COMP_GZIP, z, zlen, on_done, &o, &r),
                     0);
    wait_for(f, &o);
    assert_int_equal(o.res.accepted, 5);
    assert_int_equal(tg_store_get_trace(f->store, tid, count_visit, &fd), 0);
    assert_int_equal(fd.bytes, len);
    free(z);
    free(body);
    fixture_free(f);
}

static void test_json_body(void **state)
{
    fixture *f = fixture_new(0);
    outcome o = {0};
    tg_ingest_result r;
    found fd = {0};
    const char *json =
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"checkout\"}}]},\"scopeSpans\":[{\"spans\":[{"
        "\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\","
        "\"name\":\"GET /cart\",\"kind\":2,\"startTimeUnixNano\":\"1700000000000000000\","
        "\"endTimeUnixNano\":\"1700000000000001000\"}]}]}]}";

    (void)state;
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_TRACES, TG_TRANSPORT_HTTP,
                                      TG_ENC_JSON, TG_COMP_NONE, (const uint8_t *)json,
                                      strlen(json), on_done, &o, &r),
                     0);
    wait_for(f, &o);
    assert_int_equal(o.res.accepted, 1);
    assert_int_equal(tg_store_get_trace(f->store, tid, count_visit, &fd), 0);
    assert_int_equal(fd.records, 1);
    fixture_free(f);
}

static void test_malformed_fails_at_once(void **state)
{
    fixture *f = fixture_new(0);
    outcome o = {0};
    tg_ingest_result r;
    const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};

    (void)state;
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_TRACES, TG_TRANSPORT_HTTP,
                                      TG_ENC_PROTOBUF, TG_COMP_NONE, junk, sizeof(junk),
                                      on_done, &o, &r),
                     TG_EPARSE);
    assert_true(strlen(r.message) > 0);
    assert_int_equal(atomic_load(&f->stats.requests_refused_bad[TG_SIGNAL_TRACES][TG_TRANSPORT_HTTP]), 1);
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_LOGS, TG_TRANSPORT_HTTP, TG_ENC_JSON,
                                      TG_COMP_NONE, (const uint8_t *)"{\"resourceLogs\":[",
                                      17, on_done, &o, &r),
                     TG_EPARSE);
    assert_non_null(strstr(r.message, "line"));
    /* truncated gzip */
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_LOGS, TG_TRANSPORT_HTTP,
                                      TG_ENC_PROTOBUF, TG_COMP_GZIP,
                                      (const uint8_t *)"\x1f\x8b\x08\x00", 4, on_done, &o, &r),
                     TG_EPARSE);
    assert_non_null(strstr(r.message, "gzip"));
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(o.called, 0);
    fixture_free(f);
}

static void test_partial_success(void **state)
{
    fixture *f = fixture_new(0);
    outcome o = {0};
    tg_ingest_result r;
    size_t len;
    uint8_t *body = make_traces(4, 2, tid, &len);

    (void)state;
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_TRACES, TG_TRANSPORT_HTTP,
                                      TG_ENC_PROTOBUF, TG_COMP_NONE, body, len, on_done, &o,
                                      &r),
                     0);
    wait_for(f, &o);
    assert_int_equal(o.res.accepted, 3);
    assert_int_equal(o.res.rejected, 1);
    assert_true(strlen(o.res.message) > 0);
    free(body);
    fixture_free(f);
}

static void test_empty_request_done_at_once(void **state)
{
    fixture *f = fixture_new(0);
    outcome o = {0};
    tg_ingest_result r;

    (void)state;
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_METRICS, TG_TRANSPORT_HTTP,
                                      TG_ENC_PROTOBUF, TG_COMP_NONE, (const uint8_t *)"", 0,
                                      on_done, &o, &r),
                     TG_INGEST_DONE);
    assert_int_equal(r.rejected, 0);
    fixture_free(f);
}

static void test_backpressure(void **state)
{
    holder h = {0};
    fixture *f;
    outcome o[3];
    tg_ingest_result r;
    size_t len;
    uint8_t *body = make_traces(20, -1, tid, &len);

    (void)state;
    sem_init(&h.entered, 0, 0);
    sem_init(&h.release, 0, 0);
    f = fixture_new_obs(len + len / 2, hold_first, &h); /* room for one request and a half */
    memset(o, 0, sizeof(o));
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_TRACES, TG_TRANSPORT_HTTP,
                                      TG_ENC_PROTOBUF, TG_COMP_NONE, body, len, on_done, &o[0],
                                      &r),
                     0);
    sem_wait(&h.entered); /* the writer committed the first and is held */
    /* The first is still counted as pending until its completion: the
     * second fits in the bound only if the first is gone. */
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_TRACES, TG_TRANSPORT_HTTP,
                                      TG_ENC_PROTOBUF, TG_COMP_NONE, body, len, on_done, &o[1],
                                      &r),
                     TG_EBUSY);
    assert_non_null(strstr(r.message, "overloaded"));
    assert_int_equal(atomic_load(&f->stats.requests_refused_busy[TG_SIGNAL_TRACES][TG_TRANSPORT_HTTP]), 1);
    assert_int_equal(atomic_load(&f->stats.items_refused[TG_SIGNAL_TRACES][TG_TRANSPORT_HTTP]), 20);
    sem_post(&h.release);
    wait_for(f, &o[0]);
    assert_int_equal(o[0].res.status, 0);
    assert_int_equal(o[1].called, 0); /* a refused submission is never called back */
    /* Once the queue has drained, the same request is accepted again. */
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_TRACES, TG_TRANSPORT_HTTP,
                                      TG_ENC_PROTOBUF, TG_COMP_NONE, body, len, on_done, &o[2],
                                      &r),
                     0);
    wait_for(f, &o[2]);
    assert_int_equal(o[2].res.status, 0);
    free(body);
    fixture_free(f);
    sem_destroy(&h.entered);
    sem_destroy(&h.release);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protobuf_commits_then_acks),
        cmocka_unit_test(test_gzip_body),
        cmocka_unit_test(test_json_body),
        cmocka_unit_test(test_malformed_fails_at_once),
        cmocka_unit_test(test_partial_success),
        cmocka_unit_test(test_empty_request_done_at_once),
        cmocka_unit_test(test_backpressure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
