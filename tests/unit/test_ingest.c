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
#include "test_rules_util.h"

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

static fixture *fixture_new_opt(size_t max_pending, tg_commit_observer obs, void *obs_ctx,
                                const tg_ingest_options *io);

static fixture *fixture_new(size_t max_pending)
{
    return fixture_new_opt(max_pending, NULL, NULL, NULL);
}

static fixture *fixture_new_obs(size_t max_pending, tg_commit_observer obs, void *obs_ctx)
{
    return fixture_new_opt(max_pending, obs, obs_ctx, NULL);
}

static fixture *fixture_new_opt(size_t max_pending, tg_commit_observer obs, void *obs_ctx,
                                const tg_ingest_options *io)
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
    f->ing = tg_ingest_create(f->committer, &f->stats, io);
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
static uint8_t *make_traces(size_t n, int bad_span, const uint8_t trace_id[16],
                            size_t *len)
{
    tg_otlp_traces_req req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    Opentelemetry__Proto__Resource__V1__Resource res =
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
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
                                      TG_ENC_PROTOBUF, TG_COMP_NONE, body, len, on_done,
                                      &o, &r),
                     0);
    assert_int_equal(o.called, 0); /* never before the commit */
    wait_for(f, &o);
    assert_int_equal(o.res.status, 0);
    assert_int_equal(o.res.accepted, 3);
    assert_int_equal(tg_store_get_trace(f->store, tid, count_visit, &fd), 0);
    assert_int_equal(fd.records, 1);
    assert_int_equal(fd.bytes, len); /* stored byte for byte */
    assert_int_equal(
        atomic_load(&f->stats.items_accepted[TG_SIGNAL_TRACES][TG_TRANSPORT_HTTP]), 3);
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
                                      TG_ENC_PROTOBUF, TG_COMP_GZIP, z, zlen, on_done, &o,
                                      &r),
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
        "\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":"
        "\"eee19b7ec3c1b174\","
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
    assert_int_equal(
        atomic_load(&f->stats.requests_refused_bad[TG_SIGNAL_TRACES][TG_TRANSPORT_HTTP]),
        1);
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_LOGS, TG_TRANSPORT_HTTP,
                                      TG_ENC_JSON, TG_COMP_NONE,
                                      (const uint8_t *)"{\"resourceLogs\":[", 17, on_done,
                                      &o, &r),
                     TG_EPARSE);
    assert_non_null(strstr(r.message, "line"));
    /* truncated gzip */
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_LOGS, TG_TRANSPORT_HTTP,
                                      TG_ENC_PROTOBUF, TG_COMP_GZIP,
                                      (const uint8_t *)"\x1f\x8b\x08\x00", 4, on_done, &o,
                                      &r),
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
                                      TG_ENC_PROTOBUF, TG_COMP_NONE, body, len, on_done,
                                      &o, &r),
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
                                      TG_ENC_PROTOBUF, TG_COMP_NONE, (const uint8_t *)"",
                                      0, on_done, &o, &r),
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
    f = fixture_new_obs(len + len / 2, hold_first,
                        &h); /* room for one request and a half */
    memset(o, 0, sizeof(o));
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_TRACES, TG_TRANSPORT_HTTP,
                                      TG_ENC_PROTOBUF, TG_COMP_NONE, body, len, on_done,
                                      &o[0], &r),
                     0);
    sem_wait(&h.entered); /* the writer committed the first and is held */
    /* The first is still counted as pending until its completion: the
     * second fits in the bound only if the first is gone. */
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_TRACES, TG_TRANSPORT_HTTP,
                                      TG_ENC_PROTOBUF, TG_COMP_NONE, body, len, on_done,
                                      &o[1], &r),
                     TG_EBUSY);
    assert_non_null(strstr(r.message, "overloaded"));
    assert_int_equal(
        atomic_load(&f->stats.requests_refused_busy[TG_SIGNAL_TRACES][TG_TRANSPORT_HTTP]),
        1);
    assert_int_equal(
        atomic_load(&f->stats.items_refused[TG_SIGNAL_TRACES][TG_TRANSPORT_HTTP]), 20);
    sem_post(&h.release);
    wait_for(f, &o[0]);
    assert_int_equal(o[0].res.status, 0);
    assert_int_equal(o[1].called, 0); /* a refused submission is never called back */
    /* Once the queue has drained, the same request is accepted again. */
    assert_int_equal(tg_ingest_submit(f->ing, TG_SIGNAL_TRACES, TG_TRANSPORT_HTTP,
                                      TG_ENC_PROTOBUF, TG_COMP_NONE, body, len, on_done,
                                      &o[2], &r),
                     0);
    wait_for(f, &o[2]);
    assert_int_equal(o[2].res.status, 0);
    free(body);
    fixture_free(f);
    sem_destroy(&h.entered);
    sem_destroy(&h.release);
}

/* ---- classification at ingest ------------------------------------------ */

static const char *ingest_policy =
    "classes:\n"
    "  pii.email: {retention: 2h, detect: {values: [email]}}\n"
    "  secret.token: {retention: 30m, detect: {keys: [token]}}\n"
    "  pii.name: {detect: {keys: [user.name]}}\n"
    "destinations:\n"
    "  central: {actions: {default: redact}}\n";

/* A logs request (OTLP/JSON) with one record: body and attributes given. */
static char *logs_json(const char *body, const char *attrs)
{
    char *j = malloc(2048);
    snprintf(
        j, 2048,
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"shop\"}}]},\"scopeLogs\":[{\"logRecords\":[{"
        "\"timeUnixNano\":\"1700000000000000000\",\"body\":{\"stringValue\":\"%s\"},"
        "\"attributes\":[%s]}]}]}]}",
        body, attrs);
    return j;
}

typedef struct stored {
    int n;
    uint64_t ingest[8], expiry[8];
    uint8_t *cls[8];
    size_t cls_len[8];
    uint8_t *data[8];
    size_t len[8];
} stored;

static int keep_item(void *ctx, const tg_store_item *it)
{
    stored *st = ctx;
    int i = st->n++;

    assert_true(i < 8);
    st->ingest[i] = it->ingest_sec;
    st->expiry[i] = it->expiry_sec;
    st->cls_len[i] = it->cls_len;
    st->cls[i] = it->cls_len ? malloc(it->cls_len) : NULL;
    if (it->cls_len)
        memcpy(st->cls[i], it->cls, it->cls_len);
    st->data[i] = malloc(it->len ? it->len : 1);
    memcpy(st->data[i], it->data, it->len);
    st->len[i] = it->len;
    return 0;
}

static void stored_free(stored *st)
{
    for (int i = 0; i < st->n; i++) {
        free(st->cls[i]);
        free(st->data[i]);
    }
}

static void submit_json(fixture *f, enum tg_signal sig, const char *json)
{
    outcome o = {0};
    tg_ingest_result r;

    assert_int_equal(tg_ingest_submit(f->ing, sig, TG_TRANSPORT_HTTP, TG_ENC_JSON,
                                      TG_COMP_NONE, (const uint8_t *)json, strlen(json),
                                      on_done, &o, &r),
                     0);
    wait_for(f, &o);
    assert_int_equal(o.res.status, 0);
}

/* The central view of a stored record, built from its stored classification
 * (no scan), as packed protobuf. */
static uint8_t *view_from_stored(tg_rules_policy *p, const stored *st, int i, tg_arena *a,
                                 size_t *len)
{
    ProtobufCMessage *msg, *out;
    tg_rules_classification *c;
    uint8_t *buf;

    msg = protobuf_c_message_unpack(
        &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
        &a->pb, st->len[i], st->data[i]);
    assert_non_null(msg);
    assert_int_equal(
        tg_rules_classification_decode(p, msg, st->cls[i], st->cls_len[i], a, &c), 0);
    assert_int_equal(tg_rules_view(c, 0, a, NULL, &out, NULL), 0);
    *len = protobuf_c_message_get_packed_size(out);
    buf = tg_arena_alloc(a, *len + 1);
    protobuf_c_message_pack(out, buf);
    buf[*len] = 0;
    return buf;
}

static void check_classified(void)
{
    tg_rules_policy *p = tr_policy(ingest_policy), *other;
    tg_rules_slot *slot = tg_rules_slot_create(p);
    tg_ingest_options io = {.rules = slot};
    fixture *f = fixture_new_opt(0, NULL, NULL, &io);
    char *a = logs_json("order for ann@example.org shipped", "");
    char *b = logs_json("login ok", "{\"key\":\"token\",\"value\":{\"stringValue\":"
                                    "\"s3cr3t\"}},{\"key\":\"who\",\"value\":{"
                                    "\"stringValue\":\"bob@example.org\"}}");
    char *c = logs_json("nothing to see", "{\"key\":\"user.name\",\"value\":{"
                                          "\"stringValue\":\"Ann\"}}");
    char *d = logs_json("plain", "");
    stored st = {0};
    tg_arena ar;
    uint8_t *v;
    size_t vlen;

    submit_json(f, TG_SIGNAL_LOGS, a);
    submit_json(f, TG_SIGNAL_LOGS, b);
    submit_json(f, TG_SIGNAL_LOGS, c);
    submit_json(f, TG_SIGNAL_LOGS, d);
    assert_int_equal(tg_store_read_after(f->store, 0, 0, keep_item, &st), 0);
    assert_int_equal(st.n, 4);

    /* Every record carries its classification... */
    for (int i = 0; i < 4; i++)
        assert_true(st.cls_len[i] > 0);
    /* ...and expires with the shortest retention of its classes: e-mail 2h;
     * token 30m beats e-mail; a class without retention, or none at all,
     * leaves only the store's limits. */
    assert_int_equal(st.expiry[0], st.ingest[0] + 7200);
    assert_int_equal(st.expiry[1], st.ingest[1] + 1800);
    assert_int_equal(st.expiry[2], 0);
    assert_int_equal(st.expiry[3], 0);

    /* The stored classification rebuilds the view without a scan. */
    tg_arena_init(&ar, 0, 0);
    v = view_from_stored(p, &st, 0, &ar, &vlen);
    assert_false(tr_contains(v, vlen, "ann@example.org"));
    assert_true(tr_contains(v, vlen, "[REDACTED:pii.email]"));
    v = view_from_stored(p, &st, 1, &ar, &vlen);
    assert_false(tr_contains(v, vlen, "s3cr3t"));
    assert_false(tr_contains(v, vlen, "bob@example.org"));
    v = view_from_stored(p, &st, 3, &ar, &vlen);
    assert_true(tr_contains(v, vlen, "plain"));

    /* Under another policy the stored classification is refused. */
    other = tr_policy("classes:\n  pii.email: {detect: {values: [email]}}\n"
                      "destinations:\n  central: {actions: {default: redact}}\n");
    {
        ProtobufCMessage *msg = protobuf_c_message_unpack(
            &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
            &ar.pb, st.len[0], st.data[0]);
        tg_rules_classification *cl;
        assert_int_equal(tg_rules_classification_decode(other, msg, st.cls[0],
                                                        st.cls_len[0], &ar, &cl),
                         TG_EVERSION);
    }

    assert_int_equal(atomic_load(&f->stats.classified), 4);
    assert_int_equal(atomic_load(&f->stats.classify_failed), 0);
    assert_true(atomic_load(&f->stats.classify_findings) >= 4);

    tg_arena_destroy(&ar);
    stored_free(&st);
    free(a);
    free(b);
    free(c);
    free(d);
    fixture_free(f);
    tg_rules_slot_destroy(slot);
    tg_rules_policy_unref(p);
    tg_rules_policy_unref(other);
}

static void test_classified_at_ingest(void **state)
{
    (void)state;
    check_classified();
}

/* A request that cannot be classified (the findings limit) is stored with
 * no classification and the policy's shortest retention: fail closed. */
static void test_classification_failure_fails_closed(void **state)
{
    tg_rules_policy *p =
        tr_policy("limits: {max_findings: 16}\n"
                  "classes:\n"
                  "  pii.email: {retention: 2h, detect: {values: [email]}}\n"
                  "  pci.cvv: {retention: 1h, detect: {keys: [cvv]}}\n"
                  "destinations:\n"
                  "  central: {actions: {default: redact}}\n");
    tg_rules_slot *slot = tg_rules_slot_create(p);
    tg_ingest_options io = {.rules = slot};
    fixture *f = fixture_new_opt(0, NULL, NULL, &io);
    char many[1024] = "";
    char *a;
    stored st = {0};

    (void)state;
    for (int i = 0; i < 20; i++) /* more findings than the limit */
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "u%d@example.org ", i);
    a = logs_json(many, "");
    submit_json(f, TG_SIGNAL_LOGS, a);
    assert_int_equal(tg_store_read_after(f->store, 0, 0, keep_item, &st), 0);
    assert_int_equal(st.n, 1);
    assert_int_equal(st.cls_len[0], 0);
    assert_int_equal(st.expiry[0], st.ingest[0] + 3600);
    assert_int_equal(atomic_load(&f->stats.classify_failed), 1);
    /* Every failure is counted (the log says it once per 10 s). */
    submit_json(f, TG_SIGNAL_LOGS, a);
    assert_int_equal(atomic_load(&f->stats.classify_failed), 2);
    stored_free(&st);
    free(a);
    fixture_free(f);
    tg_rules_slot_destroy(slot);
    tg_rules_policy_unref(p);
}

/* Without a policy nothing is classified and nothing expires early. */
static void test_no_policy_stores_unclassified(void **state)
{
    fixture *f = fixture_new(0);
    char *a = logs_json("order for ann@example.org shipped", "");
    stored st = {0};

    (void)state;
    submit_json(f, TG_SIGNAL_LOGS, a);
    assert_int_equal(tg_store_read_after(f->store, 0, 0, keep_item, &st), 0);
    assert_int_equal(st.n, 1);
    assert_int_equal(st.cls_len[0], 0);
    assert_int_equal(st.expiry[0], 0);
    stored_free(&st);
    free(a);
    fixture_free(f);
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
        cmocka_unit_test(test_classified_at_ingest),
        cmocka_unit_test(test_classification_failure_fails_closed),
        cmocka_unit_test(test_no_policy_stores_unclassified),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
