/* The site API over a real socket: health, readiness, metrics and the read
 * path against a real LMDB store. The loop runs in its own thread; the test
 * is a libcurl client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>

#include "api.h"
#include "tg_err.h"
#include "tg_otlp_json.h"

static char dir[64];
static uv_loop_t loop;
static uv_async_t stop_async;
static pthread_t loop_thread;
static tg_store *store;
static tg_stats stats;
static tg_api api;
static tg_http_server *server;
static tg_access clients;
static tg_rules_slot *rules;
static tg_access_entry client_v[3] = {
    {"harness", "tok-raw-0123456789", "raw"},
    {"centre", "tok-central-0123456789", "central"},
    {"nobody", "tok-nobody-0123456789", "elsewhere"},
};
static const char *auth_header = "Authorization: Bearer tok-raw-0123456789";

/* The centre's view: e-mail addresses leave as keyed hashes. */
static const char *policy_text = "keys:\n"
                                 "  k1: {hex: 0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b}\n"
                                 "default_key: k1\n"
                                 "classes:\n"
                                 "  t.email: {detect: {keys: [mail], values: [email]}}\n"
                                 "destinations:\n"
                                 "  central: {actions: {default: hash}}\n";
static int port;

static const char *traces_json =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "\"value\":{\"stringValue\":\"cart\"}}]},\"scopeSpans\":[{\"spans\":["
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\","
    "\"name\":\"a\",\"startTimeUnixNano\":\"1000\",\"endTimeUnixNano\":\"2000\"},"
    "{\"traceId\":\"ffeeddccbbaa99887766554433221100\",\"spanId\":\"0102030405060709\","
    "\"name\":\"other-trace\",\"startTimeUnixNano\":\"1000\",\"endTimeUnixNano\":"
    "\"2000\"}"
    "]}]}]}";

static const char *logs_json_a =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "\"value\":{\"stringValue\":\"svc-a\"}}]},\"scopeLogs\":[{\"logRecords\":["
    "{\"timeUnixNano\":\"5000\",\"body\":{\"stringValue\":\"first\"}},"
    "{\"timeUnixNano\":\"6000\",\"body\":{\"stringValue\":\"second\"}}]}]}]}";

static const char *logs_json_cart =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "\"value\":{\"stringValue\":\"cart\"}}]},\"scopeLogs\":[{\"logRecords\":["
    "{\"timeUnixNano\":\"7000\",\"body\":{\"stringValue\":\"paid by "
    "ann@example.com\"}}]}]}]}";

static const char *logs_json_b =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "\"value\":{\"stringValue\":\"svc-b\"}}]},\"scopeLogs\":[{\"logRecords\":["
    "{\"timeUnixNano\":\"5000\",\"body\":{\"stringValue\":\"from-b\"}}]}]}]}";

static const char *metrics_json =
    "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "\"value\":{\"stringValue\":\"svc-a\"}}]},\"scopeMetrics\":[{\"metrics\":[{\"name\":"
    "\"requests\",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,"
    "\"dataPoints\":[{\"timeUnixNano\":\"7000\",\"asInt\":\"42\"}]}}]}]}]}";

static void write_json(enum tg_signal sig, const char *json)
{
    tg_arena a;
    tg_otlp_request req;
    tg_otlp_index idx;
    tg_store_record rec;
    uint8_t *buf;
    size_t len;
    char err[256];

    tg_arena_init(&a, 0, 0);
    assert_int_equal(tg_otlp_decode(sig, TG_ENC_JSON, (const uint8_t *)json, strlen(json),
                                    &a, &req, err, sizeof(err)),
                     0);
    assert_int_equal(tg_otlp_pack(&req, &a, &buf, &len), 0);
    assert_int_equal(tg_otlp_index_build(&req, &a, &idx), 0);
    memset(&rec, 0, sizeof(rec));
    rec.signal = sig;
    rec.data = buf;
    rec.len = len;
    rec.index = &idx;
    assert_int_equal(tg_store_write(store, &rec, 1, NULL), 0);
    tg_arena_destroy(&a);
}

static void on_stop(uv_async_t *h)
{
    (void)h;
    tg_http_server_stop(server, NULL, NULL);
    uv_close((uv_handle_t *)&stop_async, NULL);
}

static void *run_loop(void *arg)
{
    (void)arg;
    uv_run(&loop, UV_RUN_DEFAULT);
    return NULL;
}

static int setup(void **state)
{
    tg_store_options so;
    tg_http_options ho;
    int err = 0;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tg-api-XXXXXX");
    assert_non_null(mkdtemp(dir));
    tg_store_options_default(&so);
    so.no_sync = 1;
    store = tg_store_open(dir, &so, &err);
    assert_non_null(store);
    write_json(TG_SIGNAL_TRACES, traces_json);
    write_json(TG_SIGNAL_LOGS, logs_json_a);
    write_json(TG_SIGNAL_LOGS, logs_json_b);
    write_json(TG_SIGNAL_METRICS, metrics_json);

    assert_int_equal(uv_loop_init(&loop), 0);
    api.loop = &loop;
    api.store = store;
    api.stats = &stats;
    api.site = "test-site";
    {
        tg_rules_source src = {"test.yaml", policy_text, strlen(policy_text)};
        tg_rules_options opt;
        tg_rules_diag d;
        tg_rules_policy *p;
        memset(&opt, 0, sizeof(opt));
        opt.no_filesystem = 1;
        p = tg_rules_policy_load_sources(&src, 1, &opt, &d);
        assert_non_null(p);
        rules = tg_rules_slot_create(p);
        tg_rules_policy_unref(p);
    }
    clients.v = client_v;
    clients.n = 3;
    api.clients = &clients;
    api.rules = rules;
    atomic_store(&stats.items_received[TG_SIGNAL_TRACES][TG_TRANSPORT_GRPC], 7);
    tg_stats_observe_commit(&stats, 0.003);
    tg_http_options_default(&ho);
    server = tg_http_server_start(&loop, "127.0.0.1:0", &ho, tg_api_handle, &api, &err);
    assert_non_null(server);
    port = tg_http_server_port(server);
    uv_async_init(&loop, &stop_async, on_stop);
    pthread_create(&loop_thread, NULL, run_loop, NULL);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    uv_async_send(&stop_async);
    pthread_join(loop_thread, NULL);
    uv_loop_close(&loop);
    tg_store_close(store);
    tg_rules_slot_destroy(rules);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

typedef struct response {
    long status;
    char *body;
    size_t len;
} response;

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    response *r = ud;
    char *nb = realloc(r->body, r->len + sz * n + 1);
    memcpy(nb + r->len, p, sz * n);
    r->body = nb;
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static response get(const char *path)
{
    response r = {0};
    char url[256];
    CURL *c = curl_easy_init();

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *h = auth_header ? curl_slist_append(NULL, auth_header) : NULL;

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    if (!r.body)
        r.body = calloc(1, 1);
    return r;
}

static void test_health_and_ready(void **state)
{
    response r;

    (void)state;
    r = get("/healthz");
    assert_int_equal(r.status, 200);
    free(r.body);
    api.ready = 0;
    r = get("/readyz");
    assert_int_equal(r.status, 503);
    free(r.body);
    api.ready = 1;
    r = get("/readyz");
    assert_int_equal(r.status, 200);
    free(r.body);
}

static void test_metrics(void **state)
{
    response r = get("/metrics");

    (void)state;
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "tollgate_store_records 4\n"));
    assert_non_null(strstr(
        r.body,
        "tollgate_items_received_total{signal=\"traces\",transport=\"grpc\"} 7\n"));
    assert_non_null(strstr(r.body, "tollgate_store_items{signal=\"logs\"} 3\n"));
    assert_non_null(
        strstr(r.body, "tollgate_commit_duration_seconds_bucket{le=\"0.005\"} 1\n"));
    assert_non_null(strstr(r.body, "tollgate_commit_duration_seconds_count 1\n"));
    assert_non_null(strstr(r.body, "site=\"test-site\""));
    free(r.body);
}

static void test_trace_read_back(void **state)
{
    response r = get("/api/v1/traces/0102030405060708090a0b0c0d0e0f10");
    json_t *doc, *spans;

    (void)state;
    assert_int_equal(r.status, 200);
    doc = json_loads(r.body, 0, NULL);
    assert_non_null(doc);
    spans = json_object_get(
        json_array_get(
            json_object_get(json_array_get(json_object_get(doc, "resourceSpans"), 0),
                            "scopeSpans"),
            0),
        "spans");
    /* Only the asked trace's span; the other trace in the record is cut. */
    assert_int_equal(json_array_size(spans), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(spans, 0), "name")), "a");
    json_decref(doc);
    free(r.body);

    r = get("/api/v1/traces/00000000000000000000000000000099");
    assert_int_equal(r.status, 404);
    free(r.body);
    r = get("/api/v1/traces/xyz");
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "32 hexadecimal"));
    free(r.body);
}

static void test_logs_by_service_and_limit(void **state)
{
    response r;

    (void)state;
    r = get("/api/v1/logs?service=svc-a");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"first\""));
    assert_non_null(strstr(r.body, "\"second\""));
    assert_null(strstr(r.body, "from-b"));
    free(r.body);
    r = get("/api/v1/logs?service=svc-a&limit=1");
    assert_non_null(strstr(r.body, "\"first\""));
    assert_null(strstr(r.body, "\"second\""));
    free(r.body);
    r = get("/api/v1/logs?start=5500");
    assert_non_null(strstr(r.body, "\"second\""));
    assert_null(strstr(r.body, "\"first\""));
    free(r.body);
    r = get("/api/v1/logs?limit=zero");
    assert_int_equal(r.status, 400);
    free(r.body);
}

static void test_metrics_read_back(void **state)
{
    response r = get("/api/v1/metrics?service=svc-a");

    (void)state;
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"requests\""));
    assert_non_null(strstr(r.body, "\"asInt\":\"42\""));
    free(r.body);
    r = get("/api/v1/metrics?service=nobody");
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "requests"));
    free(r.body);
}

static void test_status_and_unknown(void **state)
{
    response r = get("/api/v1/status");

    (void)state;
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"site\":\"test-site\""));
    assert_non_null(strstr(r.body, "\"records\":4"));
    free(r.body);
    r = get("/nope");
    assert_int_equal(r.status, 404);
    free(r.body);
}

/* Every data endpoint wants a token, and answers under the view the
 * token's entry is cleared for: 401 without one, 403 beyond its cap, 400
 * for a view the policy does not have; a destination's view hashes what
 * its policy says. Health and status stay open. */
static void test_auth_and_views(void **state)
{
    static const char *paths[] = {"/api/v1/traces/0102030405060708090a0b0c0d0e0f10",
                                  "/api/v1/logs?service=cart", "/api/v1/metrics"};
    response r;
    (void)state;

    write_json(TG_SIGNAL_LOGS, logs_json_cart); /* runs last: counts above stay */
    for (size_t i = 0; i < 3; i++) {
        auth_header = NULL;
        r = get(paths[i]);
        assert_int_equal(r.status, 401);
        assert_non_null(strstr(r.body, "bearer token"));
        free(r.body);
        auth_header = "Authorization: Bearer tok-wrong";
        r = get(paths[i]);
        assert_int_equal(r.status, 401);
        free(r.body);
    }
    auth_header = NULL;
    r = get("/healthz");
    assert_int_equal(r.status, 200);
    free(r.body);
    r = get("/api/v1/status");
    assert_int_equal(r.status, 200);
    free(r.body);

    /* The centre's entry is capped at the central view. */
    auth_header = "Authorization: Bearer tok-central-0123456789";
    r = get("/api/v1/logs?service=cart&view=raw");
    assert_int_equal(r.status, 403);
    free(r.body);
    r = get("/api/v1/logs?service=cart");
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "ann@example.com"));
    assert_non_null(strstr(r.body, "hmac-sha256:k1:"));
    free(r.body);
    /* A raw reader sees the value, and may narrow itself to a view. */
    auth_header = "Authorization: Bearer tok-raw-0123456789";
    r = get("/api/v1/logs?service=cart");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "ann@example.com"));
    free(r.body);
    r = get("/api/v1/logs?service=cart&view=central");
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "ann@example.com"));
    free(r.body);
    r = get("/api/v1/logs?service=cart&view=nope");
    assert_int_equal(r.status, 400);
    free(r.body);
    /* An entry capped at a view the policy lacks reads nothing. */
    auth_header = "Authorization: Bearer tok-nobody-0123456789";
    r = get("/api/v1/logs?service=cart");
    assert_int_equal(r.status, 400);
    free(r.body);
    auth_header = "Authorization: Bearer tok-raw-0123456789";
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_ready),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_trace_read_back),
        cmocka_unit_test(test_logs_by_service_and_limit),
        cmocka_unit_test(test_metrics_read_back),
        cmocka_unit_test(test_status_and_unknown),
        cmocka_unit_test(test_auth_and_views),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
