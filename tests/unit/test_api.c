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
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_cleanup(c);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_ready),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_trace_read_back),
        cmocka_unit_test(test_logs_by_service_and_limit),
        cmocka_unit_test(test_metrics_read_back),
        cmocka_unit_test(test_status_and_unknown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
