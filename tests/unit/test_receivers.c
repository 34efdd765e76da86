/* OTLP/HTTP protocol glue over a real socket, a real ingest path and a
 * real LMDB store: each outcome's status code, content type and body. */
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

#include "receivers.h"
#include "tg_err.h"

static char dir[64];
static uv_loop_t loop;
static uv_async_t stop_async;
static pthread_t loop_thread;
static tg_store *store;
static tg_committer *committer;
static tg_stats stats;
static tg_ingest *ing;
static tg_receivers rx;
static tg_http_server *server;
static int port;

static const char *good_json =
    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
    "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\",\"name\":\"a\"}"
    ","
    "{\"traceId\":\"\",\"spanId\":\"0102030405060709\",\"name\":\"bad\"}]}]}]}";

static void on_stop(uv_async_t *h)
{
    (void)h;
    tg_http_server_stop(server, NULL, NULL);
    tg_committer_drain(committer, NULL, NULL);
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
    tg_ingest_options io = {0};
    int err = 0;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tg-rx-XXXXXX");
    assert_non_null(mkdtemp(dir));
    tg_store_options_default(&so);
    so.no_sync = 1;
    store = tg_store_open(dir, &so, &err);
    assert_non_null(store);
    assert_int_equal(uv_loop_init(&loop), 0);
    committer = tg_committer_create(&loop, store, NULL, NULL, NULL);
    io.max_decompressed_bytes = 1 << 20;
    ing = tg_ingest_create(committer, &stats, &io);
    rx.ing = ing;
    rx.retry_after_sec = 3;
    tg_http_options_default(&ho);
    ho.max_body_bytes = 4 << 20;
    server =
        tg_http_server_start(&loop, "127.0.0.1:0", &ho, tg_receivers_http, &rx, &err);
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
    tg_committer_destroy(committer);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    tg_ingest_destroy(ing);
    tg_store_close(store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

typedef struct response {
    long status;
    char *body;
    size_t len;
    char *ctype;
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

static response post(const char *path, const char *ctype, const char *cenc,
                     const void *body, size_t len)
{
    response r = {0};
    char url[256], h1[128], h2[128];
    struct curl_slist *hs = NULL;
    CURL *c = curl_easy_init();
    char *ct = NULL;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    snprintf(h1, sizeof(h1), "Content-Type: %s", ctype);
    hs = curl_slist_append(hs, h1);
    if (cenc) {
        snprintf(h2, sizeof(h2), "Content-Encoding: %s", cenc);
        hs = curl_slist_append(hs, h2);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    r.ctype = strdup(ct ? ct : "");
    curl_easy_cleanup(c);
    curl_slist_free_all(hs);
    if (!r.body)
        r.body = calloc(1, 1);
    return r;
}

static void response_free(response *r)
{
    free(r->body);
    free(r->ctype);
}

static void test_json_partial_success(void **state)
{
    response r =
        post("/v1/traces", "application/json", NULL, good_json, strlen(good_json));

    (void)state;
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    assert_non_null(strstr(r.body, "\"rejectedSpans\":\"1\""));
    response_free(&r);
}

static void test_protobuf_ok_and_empty(void **state)
{
    response r = post("/v1/logs", "application/x-protobuf", NULL, "", 0);

    (void)state;
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/x-protobuf");
    assert_int_equal(r.len, 0); /* empty response: no partial_success */
    response_free(&r);
}

static void test_bad_json_400_with_status(void **state)
{
    response r =
        post("/v1/traces", "application/json", NULL, "{\"resourceSpans\":[}", 19);

    (void)state;
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"code\":3"));
    assert_non_null(strstr(r.body, "line 1, column"));
    response_free(&r);
}

static void test_bad_protobuf_400(void **state)
{
    const char junk[] = "\x0a\xff\xff\xff\xff\x0f";
    response r =
        post("/v1/metrics", "application/x-protobuf", NULL, junk, sizeof(junk) - 1);
    Google__Rpc__Status *st;

    (void)state;
    assert_int_equal(r.status, 400);
    st = google__rpc__status__unpack(NULL, r.len, (const uint8_t *)r.body);
    assert_non_null(st);
    assert_int_equal(st->code, 3);
    assert_true(strlen(st->message) > 0);
    google__rpc__status__free_unpacked(st, NULL);
    response_free(&r);
}

static void test_unsupported_415(void **state)
{
    response r = post("/v1/traces", "text/plain", NULL, "x", 1);

    (void)state;
    assert_int_equal(r.status, 415);
    assert_non_null(strstr(r.body, "application/x-protobuf"));
    response_free(&r);
    r = post("/v1/traces", "application/json", "br", "x", 1);
    assert_int_equal(r.status, 415);
    assert_non_null(strstr(r.body, "Content-Encoding"));
    response_free(&r);
}

static void test_gzip_bomb_413(void **state)
{
    size_t n = 4 << 20, zlen;
    uint8_t *zeros = calloc(1, n), *z;
    response r;

    (void)state;
    assert_int_equal(tg_compress(TG_COMP_GZIP, 9, zeros, n, &z, &zlen), 0);
    r = post("/v1/traces", "application/x-protobuf", "gzip", z, zlen);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "exceeds the limit"));
    response_free(&r);
    free(z);
    free(zeros);
}

static void test_routes(void **state)
{
    response r = post("/v1/other", "application/json", NULL, "{}", 2);

    (void)state;
    assert_int_equal(r.status, 404);
    response_free(&r);
}

/* Exact counts, from this test's own requests alone: deltas over a
 * snapshot, so the order the tests run in does not matter. */
static void test_counts(void **state)
{
    const enum tg_signal T = TG_SIGNAL_TRACES;
    const enum tg_transport H = TG_TRANSPORT_HTTP;
    uint64_t acc = atomic_load(&stats.items_accepted[T][H]);
    uint64_t ref = atomic_load(&stats.items_refused[T][H]);
    uint64_t bad = atomic_load(&stats.requests_refused_bad[T][H]);
    uint64_t logs = atomic_load(&stats.items_accepted[TG_SIGNAL_LOGS][H]);
    response r;

    (void)state;
    /* one valid span accepted, one with an empty trace id rejected */
    r = post("/v1/traces", "application/json", NULL, good_json, strlen(good_json));
    assert_int_equal(r.status, 200);
    response_free(&r);
    assert_int_equal(atomic_load(&stats.items_accepted[T][H]) - acc, 1);
    assert_int_equal(atomic_load(&stats.items_refused[T][H]) - ref, 1);
    assert_int_equal(atomic_load(&stats.requests_refused_bad[T][H]) - bad, 0);

    /* a malformed request: refused as bad, no item counted */
    r = post("/v1/traces", "application/json", NULL, "{\"resourceSpans\":[}", 19);
    assert_int_equal(r.status, 400);
    response_free(&r);
    assert_int_equal(atomic_load(&stats.items_accepted[T][H]) - acc, 1);
    assert_int_equal(atomic_load(&stats.items_refused[T][H]) - ref, 1);
    assert_int_equal(atomic_load(&stats.requests_refused_bad[T][H]) - bad, 1);
    assert_int_equal(atomic_load(&stats.items_accepted[TG_SIGNAL_LOGS][H]), logs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_partial_success),
        cmocka_unit_test(test_protobuf_ok_and_empty),
        cmocka_unit_test(test_bad_json_400_with_status),
        cmocka_unit_test(test_bad_protobuf_400),
        cmocka_unit_test(test_unsupported_415),
        cmocka_unit_test(test_gzip_bomb_413),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_counts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
