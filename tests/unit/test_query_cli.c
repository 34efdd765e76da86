/* tollgate query: rendering of traces, logs and metrics from OTLP/JSON,
 * argument checking, and the HTTP client against a real socket served by
 * a thread with canned answers. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "query_cli.h"
#include "tg_err.h"

#define TRACE_ID "0af7651916cd43dd8448eb211c80319c"

/* t0 = 1700000000 s = 2023-11-14T22:13:20Z */
static const char trace_json[] =
    "{\"resourceSpans\":["
    " {\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{"
    "\"stringValue\":"
    "\"frontend\"}}]},"
    "  \"scopeSpans\":[{\"scope\":{\"name\":\"x\"},\"spans\":["
    "   {\"traceId\":\"" TRACE_ID
    "\",\"spanId\":\"aaaaaaaaaaaaaaaa\",\"name\":\"GET /checkout\","
    "    \"kind\":2,\"startTimeUnixNano\":\"1700000000000000000\","
    "    \"endTimeUnixNano\":\"1700000000250000000\",\"status\":{}},"
    "   {\"traceId\":\"" TRACE_ID "\",\"spanId\":\"bbbbbbbbbbbbbbbb\","
    "    \"parentSpanId\":\"aaaaaaaaaaaaaaaa\",\"name\":\"render\",\"kind\":1,"
    "    \"startTimeUnixNano\":\"1700000000200000000\","
    "    \"endTimeUnixNano\":\"1700000000240500000\"}]}]},"
    " {\"resource\":{\"attributes\":[{\"key\":\"host.name\",\"value\":{\"stringValue\":"
    "\"h\"}},"
    "   {\"key\":\"service.name\",\"value\":{\"stringValue\":\"payments\"}}]},"
    "  \"scopeSpans\":[{\"spans\":["
    "   {\"traceId\":\"" TRACE_ID "\",\"spanId\":\"dddddddddddddddd\","
    "    \"parentSpanId\":\"cccccccccccccccc\",\"name\":\"db\\nquery\",\"kind\":3,"
    "    \"startTimeUnixNano\":\"1700000000020000000\","
    "    "
    "\"endTimeUnixNano\":\"1700000000050000600\",\"status\":{\"code\":\"STATUS_CODE_OK\"}"
    "},"
    "   {\"traceId\":\"" TRACE_ID "\",\"spanId\":\"cccccccccccccccc\","
    "    "
    "\"parentSpanId\":\"aaaaaaaaaaaaaaaa\",\"name\":\"charge\",\"kind\":\"SPAN_KIND_"
    "CLIENT\","
    "    \"startTimeUnixNano\":\"1700000000010000000\","
    "    \"endTimeUnixNano\":\"1700000000130000400\","
    "    \"status\":{\"code\":2,\"message\":\"card declined\"}},"
    "   {\"traceId\":\"" TRACE_ID "\",\"spanId\":\"eeeeeeeeeeeeeeee\","
    "    \"parentSpanId\":\"ffffffffffffffff\",\"name\":\"retry\","
    "    \"startTimeUnixNano\":1700000000005000000,"
    "    \"endTimeUnixNano\":\"1700000000006000000\"}]}]},"
    " {\"scopeSpans\":[{\"spans\":["
    "   {\"traceId\":\"" TRACE_ID "\",\"spanId\":\"1111111111111111\",\"name\":\"cron\","
    "    \"kind\":0,\"startTimeUnixNano\":\"1700000000300000000\","
    "    \"endTimeUnixNano\":\"1700000000300000000\"}]}]}"
    "]}";

static const char trace_text[] =
    "trace " TRACE_ID ": 6 spans, 3 services, 300.000 ms\n"
    "  +0.000 ms  GET /checkout [frontend] 250.000 ms server\n"
    " +10.000 ms    charge [payments] 120.000 ms client ERROR: card declined\n"
    " +20.000 ms      db\\nquery [payments] 30.001 ms client ok\n"
    "+200.000 ms    render [frontend] 40.500 ms internal\n"
    "  +5.000 ms  retry [payments] 1.000 ms (parent missing)\n"
    "+300.000 ms  cron [unknown_service] 0.000 ms\n";

static const char metrics_json[] =
    "{\"resourceMetrics\":["
    " {\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{"
    "\"stringValue\":"
    "\"checkout\"}}]},"
    "  \"scopeMetrics\":[{\"metrics\":["
    "   {\"name\":\"http.requests\",\"sum\":{\"isMonotonic\":true,\"dataPoints\":["
    "     {\"attributes\":[{\"key\":\"route\",\"value\":{\"stringValue\":\"/pay\"}}],"
    "      \"asInt\":\"42\"},"
    "     {\"attributes\":[{\"key\":\"route\",\"value\":{\"stringValue\":\"say "
    "\\\"hi\\\"\"}}],"
    "      \"asInt\":7}]}},"
    "   {\"name\":\"cpu.util\",\"gauge\":{\"dataPoints\":[{\"asDouble\":0.1},"
    "     {\"asDouble\":\"NaN\"}]}},"
    "   {\"name\":\"latency\",\"histogram\":{\"dataPoints\":["
    "     {\"attributes\":[{\"key\":\"code\",\"value\":{\"intValue\":\"200\"}}],"
    "      \"count\":\"6\",\"sum\":1.25,\"bucketCounts\":[\"1\",\"2\",\"3\"],"
    "      \"explicitBounds\":[0.1,0.5]}]}},"
    "   {\"name\":\"size\",\"exponentialHistogram\":{\"dataPoints\":["
    "     {\"count\":\"3\",\"sum\":30}]}},"
    "   {\"name\":\"rpc\",\"summary\":{\"dataPoints\":[{\"count\":\"10\",\"sum\":5.5,"
    "     \"quantileValues\":[{\"quantile\":0.5,\"value\":0.4},{\"quantile\":0.99,"
    "\"value\":1}]}]}}]}]},"
    " {\"scopeMetrics\":[{\"metrics\":[{\"name\":\"up\",\"gauge\":{\"dataPoints\":"
    "[{\"asInt\":\"1\"}]}}]}]}"
    "]}";

static const char metrics_text[] =
    "http.requests{service_name=\"checkout\",route=\"/pay\"} 42\n"
    "http.requests{service_name=\"checkout\",route=\"say \\\"hi\\\"\"} 7\n"
    "cpu.util{service_name=\"checkout\"} 0.1\n"
    "cpu.util{service_name=\"checkout\"} NaN\n"
    "latency_bucket{service_name=\"checkout\",code=\"200\",le=\"0.1\"} 1\n"
    "latency_bucket{service_name=\"checkout\",code=\"200\",le=\"0.5\"} 3\n"
    "latency_bucket{service_name=\"checkout\",code=\"200\",le=\"+Inf\"} 6\n"
    "latency_sum{service_name=\"checkout\",code=\"200\"} 1.25\n"
    "latency_count{service_name=\"checkout\",code=\"200\"} 6\n"
    "size_sum{service_name=\"checkout\"} 30\n"
    "size_count{service_name=\"checkout\"} 3\n"
    "rpc{service_name=\"checkout\",quantile=\"0.5\"} 0.4\n"
    "rpc{service_name=\"checkout\",quantile=\"0.99\"} 1\n"
    "rpc_sum{service_name=\"checkout\"} 5.5\n"
    "rpc_count{service_name=\"checkout\"} 10\n"
    "up 1\n";

/* ---- output capture -------------------------------------------------------- */

struct capture {
    char *buf;
    size_t len;
    FILE *f;
};

static void capture_open(struct capture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    assert_non_null(c->f);
}

static void capture_close(struct capture *c)
{
    fclose(c->f);
    c->f = NULL;
}

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *doc = json_loads(text, 0, &e);
    if (!doc)
        fail_msg("fixture JSON: line %d: %s", e.line, e.text);
    return doc;
}

/* ---- rendering ------------------------------------------------------------- */

static void test_render_trace_tree(void **state)
{
    json_t *doc = parse(trace_json);
    struct capture out;

    (void)state;
    capture_open(&out);
    assert_int_equal(tg_query_render_trace(doc, out.f), 6);
    capture_close(&out);
    assert_string_equal(out.buf, trace_text);
    free(out.buf);
    json_decref(doc);
}

/* A stitched trace: each span says its site, a skew shift is marked with
 * the site's measured offset, a withheld span with its classes. */
static void test_render_stitched_trace(void **state)
{
    const char *text =
        "{\"resourceSpans\":["
        "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
        "{\"stringValue\":\"edge\"}},{\"key\":\"tollgate.site\",\"value\":"
        "{\"stringValue\":\"fra\"}}]},\"scopeSpans\":[{\"spans\":[{\"traceId\":"
        "\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"a1\",\"name\":\"GET /\","
        "\"kind\":2,\"startTimeUnixNano\":\"1000000000\",\"endTimeUnixNano\":"
        "\"2000000000\"}]}]},"
        "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
        "{\"stringValue\":\"api\"}},{\"key\":\"tollgate.site\",\"value\":"
        "{\"stringValue\":\"nyc\"}}]},\"scopeSpans\":[{\"spans\":[{\"traceId\":"
        "\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"b1\",\"parentSpanId\":"
        "\"a1\",\"name\":\"charge\",\"kind\":2,\"startTimeUnixNano\":\"1100000000\","
        "\"endTimeUnixNano\":\"1900000000\",\"attributes\":[{\"key\":"
        "\"tollgate.skew.adjusted_ns\",\"value\":{\"intValue\":\"-4950000000\"}},"
        "{\"key\":\"tollgate.skew.site_offset_ns\",\"value\":{\"intValue\":"
        "\"5000000000\"}}]},{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\","
        "\"spanId\":\"b2\",\"parentSpanId\":\"b1\",\"name\":\"\",\"kind\":3,"
        "\"startTimeUnixNano\":\"1200000000\",\"endTimeUnixNano\":\"1300000000\","
        "\"attributes\":[{\"key\":\"tollgate.withheld\",\"value\":{\"stringValue\":"
        "\"phi.mrn\"}}]}]}]}]}";
    const char *want =
        "trace 0af7651916cd43dd8448eb211c80319c: 3 spans, 2 services, 2 sites, "
        "1000.000 ms\n"
        "  +0.000 ms  GET / [edge @ fra] 1000.000 ms server\n"
        "+100.000 ms    charge [api @ nyc] 800.000 ms server [skew adjusted "
        "-4950.000 ms, site clock offset +5000.000 ms]\n"
        "+200.000 ms      (unnamed) [api @ nyc] 100.000 ms client [withheld "
        "at its site: phi.mrn]\n";
    json_t *doc = parse(text);
    struct capture out;

    (void)state;
    capture_open(&out);
    assert_int_equal(tg_query_render_trace(doc, out.f), 3);
    capture_close(&out);
    assert_string_equal(out.buf, want);
    free(out.buf);
    json_decref(doc);
}

/* A parent cycle and a self-parent: every span printed exactly once. */
static void test_render_trace_cycle(void **state)
{
    const char *text =
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
        "{\"traceId\":\"" TRACE_ID "\",\"spanId\":\"01\",\"parentSpanId\":\"02\","
        "\"name\":\"a\",\"startTimeUnixNano\":\"1000000\",\"endTimeUnixNano\":"
        "\"3000000\"},"
        "{\"spanId\":\"02\",\"parentSpanId\":\"01\",\"name\":\"b\","
        "\"startTimeUnixNano\":\"2000000\",\"endTimeUnixNano\":\"2500000\"},"
        "{\"spanId\":\"03\",\"parentSpanId\":\"03\",\"name\":\"self\","
        "\"startTimeUnixNano\":\"1500000\",\"endTimeUnixNano\":\"1600000\"}]}]}]}";
    json_t *doc = parse(text);
    struct capture out;

    (void)state;
    capture_open(&out);
    assert_int_equal(tg_query_render_trace(doc, out.f), 3);
    capture_close(&out);
    assert_string_equal(out.buf,
                        "trace " TRACE_ID ": 3 spans, 1 service, 2.000 ms\n"
                        "+0.500 ms  self [unknown_service] 0.100 ms (parent missing)\n"
                        "+0.000 ms  a [unknown_service] 2.000 ms\n"
                        "+1.000 ms    b [unknown_service] 0.500 ms\n");
    free(out.buf);
    json_decref(doc);
}

/* A 20000-deep chain: no recursion to overflow, indentation capped. */
static void test_render_trace_deep_chain(void **state)
{
    enum { N = 20000 };
    json_t *spans = json_array();
    json_t *doc =
        json_pack("{s:[{s:[{s:o}]}]}", "resourceSpans", "scopeSpans", "spans", spans);
    struct capture out;
    size_t lines = 0;
    char *last;

    (void)state;
    for (int i = 0; i < N; i++) {
        char id[17], parent[17];
        snprintf(id, sizeof(id), "%016x", i + 1);
        snprintf(parent, sizeof(parent), "%016x", i);
        json_array_append_new(spans, json_pack("{s:s,s:s,s:s,s:I,s:I}", "spanId", id,
                                               "parentSpanId", parent, "name", "s",
                                               "startTimeUnixNano", (json_int_t)i,
                                               "endTimeUnixNano", (json_int_t)i + 1));
    }
    capture_open(&out);
    assert_int_equal(tg_query_render_trace(doc, out.f), N);
    capture_close(&out);
    for (size_t i = 0; i < out.len; i++)
        lines += out.buf[i] == '\n';
    assert_int_equal(lines, N + 1);
    out.buf[out.len - 1] = '\0';
    last = strrchr(out.buf, '\n') + 1;
    /* "+0.020 ms" padded to the widest offset, two spaces, 40 indents. */
    assert_non_null(strstr(last, " ms  "
                                 "                                        "
                                 "                                        s ["));
    free(out.buf);
    json_decref(doc);
}

/* Whatever shape the server sends, rendering never crashes. */
static void test_render_garbage(void **state)
{
    static const char *const docs[] = {
        "{}",
        "{\"resourceSpans\":5}",
        "{\"resourceSpans\":[1,\"x\",null,{\"scopeSpans\":{}}]}",
        "{\"resourceSpans\":[{\"resource\":5,\"scopeSpans\":[{\"spans\":[1,\"x\",{}]}]}]"
        "}",
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"kvlistValue\":"
        "5}},"
        "{\"timeUnixNano\":\"-1\",\"severityNumber\":99,\"body\":7}]}]}]}",
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":1},{\"name\":"
        "\"m\","
        "\"gauge\":{\"dataPoints\":[{},{\"asInt\":\"x\"},{\"asDouble\":true}]}},{"
        "\"name\":\"h\","
        "\"histogram\":{\"dataPoints\":[{\"bucketCounts\":[\"x\"],\"explicitBounds\":"
        "[\"y\"]}]}}]}]}]}",
    };
    struct capture out;

    (void)state;
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_t *doc = parse(docs[i]);
        capture_open(&out);
        tg_query_render_trace(doc, out.f);
        tg_query_render_metrics(doc, out.f);
        capture_close(&out);
        free(out.buf);
        json_decref(doc);
    }
    /* The one span-shaped object above renders as unnamed. */
    {
        json_t *doc = parse(docs[3]);
        capture_open(&out);
        assert_int_equal(tg_query_render_trace(doc, out.f), 1);
        capture_close(&out);
        assert_string_equal(out.buf, "trace (no id): 1 span, 1 service, 0.000 ms\n"
                                     "+0.000 ms  (unnamed) [unknown_service] 0.000 ms\n");
        free(out.buf);
        json_decref(doc);
    }
}

static void test_render_metrics(void **state)
{
    json_t *doc = parse(metrics_json);
    struct capture out;

    (void)state;
    capture_open(&out);
    assert_int_equal(tg_query_render_metrics(doc, out.f), 16);
    capture_close(&out);
    assert_string_equal(out.buf, metrics_text);
    free(out.buf);
    json_decref(doc);
}

static void test_put_text_escapes(void **state)
{
    struct capture out;

    (void)state;
    capture_open(&out);
    tg_query_put_text(out.f, "a\x1b[2Jb\tc\x7f\xc2\x9b"
                             "d\xc3\xa9");
    capture_close(&out);
    assert_string_equal(out.buf, "a\\x1b[2Jb\\tc\\x7f\\u009bd\xc3\xa9");
    free(out.buf);
}

/* ---- argument checking ------------------------------------------------------ */

static void test_trace_id_validation(void **state)
{
    char id[33];

    (void)state;
    assert_int_equal(tg_query_parse_trace_id("0AF7651916CD43DD8448EB211C80319C", id), 0);
    assert_string_equal(id, TRACE_ID);
    assert_int_equal(tg_query_parse_trace_id(TRACE_ID, id), 0);
    assert_int_equal(tg_query_parse_trace_id("0af7651916cd43dd8448eb211c80319", id),
                     TG_EINVAL);
    assert_int_equal(tg_query_parse_trace_id("0af7651916cd43dd8448eb211c80319c0", id),
                     TG_EINVAL);
    assert_int_equal(tg_query_parse_trace_id("0af7651916cd43dd8448eb211c80319g", id),
                     TG_EINVAL);
    assert_int_equal(tg_query_parse_trace_id("00000000000000000000000000000000", id),
                     TG_EINVAL);
    assert_int_equal(tg_query_parse_trace_id("", id), TG_EINVAL);
    assert_int_equal(tg_query_parse_trace_id("0af76519-16cd-43dd-8448-eb211c8031", id),
                     TG_EINVAL);
}

static void test_selector(void **state)
{
    static const struct {
        const char *in;
        int rc;
        const char *service_or_why;
    } cases[] = {
        {"{}", 0, ""},
        {" { } ", 0, ""},
        {"{service_name=\"checkout\"}", 0, "checkout"},
        {"{ service_name = `check out` }", 0, "check out"},
        {"{service_name=\"a\\\"b\\\\c\"}", 0, "a\"b\\c"},
        {"", TG_EINVAL, "expected {service_name=\"NAME\"} or {}"},
        {"service_name=\"x\"", TG_EINVAL, "expected {service_name=\"NAME\"} or {}"},
        {"{service_name=\"x\"", TG_EINVAL, "expected {service_name=\"NAME\"} or {}"},
        {"{service_name=\"\"}", TG_EINVAL, "expected {service_name=\"NAME\"} or {}"},
        {"{service_name=x}", TG_EINVAL, "expected {service_name=\"NAME\"} or {}"},
        {"{job=\"x\"}", TG_EINVAL,
         "only the service_name label is supported for now, not \"job\""},
        {"{service_name=~\"x.*\"}", TG_EINVAL, "only the = matcher is supported for now"},
        {"{service_name!=\"x\"}", TG_EINVAL, "only the = matcher is supported for now"},
        {"{service_name=\"x\", level=\"error\"}", TG_EINVAL,
         "only one matcher, on service_name, is supported for now"},
        {"{service_name=\"x\"} |= \"error\"", TG_EINVAL,
         "log pipelines after the selector are not supported yet"},
    };
    char service[64], why[160];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = tg_query_parse_selector(cases[i].in, service, sizeof(service), why,
                                         sizeof(why));
        if (rc != cases[i].rc)
            fail_msg("selector %s: rc %d", cases[i].in, rc);
        assert_string_equal(rc == 0 ? service : why, cases[i].service_or_why);
    }
}

#define ARGV(...) ((char *[]){"query", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"query", __VA_ARGS__}) / sizeof(char *)))
#define RUN(outp, errp, ...) run_query(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), outp, errp)

static int run_query(int argc, char **argv, struct capture *out, struct capture *err)
{
    int rc;

    capture_open(out);
    capture_open(err);
    rc = tg_query_run(argc, argv, out->f, err->f);
    capture_close(out);
    capture_close(err);
    return rc;
}

static void expect_usage_error(int argc, char **argv, const char *want_err)
{
    struct capture out, err;

    assert_int_equal(run_query(argc, argv, &out, &err), 2);
    assert_string_equal(out.buf, "");
    assert_string_equal(err.buf, want_err);
    free(out.buf);
    free(err.buf);
}

static void test_usage(void **state)
{
    struct capture out, err;

    (void)state;
    expect_usage_error(
        ARGC("trace", "xyz"), ARGV("trace", "xyz"),
        "tollgate query: invalid trace id \"xyz\": must be 32 hex characters, "
        "not all zero (see tollgate query --help)\n");
    expect_usage_error(
        ARGC("trace"), ARGV("trace"),
        "tollgate query: trace needs a TRACE_ID (see tollgate query --help)\n");
    expect_usage_error(
        ARGC("trace", TRACE_ID, "--since", "1h"),
        ARGV("trace", TRACE_ID, "--since", "1h"),
        "tollgate query: --since does not apply to trace (see tollgate query "
        "--help)\n");
    expect_usage_error(
        ARGC("spans", "x"), ARGV("spans", "x"),
        "tollgate query: unknown query \"spans\" (expected trace, traces, logs "
        "or metrics) (see tollgate query --help)\n");
    expect_usage_error(
        ARGC("trace", TRACE_ID, "extra"), ARGV("trace", TRACE_ID, "extra"),
        "tollgate query: unexpected argument \"extra\" (see tollgate query "
        "--help)\n");
    expect_usage_error(
        ARGC("--verbose", "trace", TRACE_ID), ARGV("--verbose", "trace", TRACE_ID),
        "tollgate query: unknown option --verbose (see tollgate query --help)\n");
    expect_usage_error(
        ARGC("trace", TRACE_ID, "--endpoint"), ARGV("trace", TRACE_ID, "--endpoint"),
        "tollgate query: option --endpoint needs a value (see tollgate query "
        "--help)\n");
    expect_usage_error(
        ARGC("--endpoint", "ftp://x", "trace", TRACE_ID),
        ARGV("--endpoint", "ftp://x", "trace", TRACE_ID),
        "tollgate query: invalid --endpoint \"ftp://x\": expected "
        "http://HOST:PORT or https://HOST:PORT (see tollgate query --help)\n");
    expect_usage_error(ARGC("--token", "a\r\nX-Evil: 1", "trace", TRACE_ID),
                       ARGV("--token", "a\r\nX-Evil: 1", "trace", TRACE_ID),
                       "tollgate query: the token contains a control character (see "
                       "tollgate query --help)\n");
    /* A bad LogQL query: exit 2 naming the column (parsed before asking). */
    expect_usage_error(
        ARGC("logs", "{job=}"), ARGV("logs", "{job=}"),
        "tollgate query: invalid LogQL query: column 6: expected a string, found "
        "'}'\n");
    expect_usage_error(
        ARGC("logs", "{job=\"x\"}", "--since", "yesterday"),
        ARGV("logs", "{job=\"x\"}", "--since", "yesterday"),
        "tollgate query: invalid --since \"yesterday\": expected a duration "
        "such as 15m or 2h (see tollgate query --help)\n");
    expect_usage_error(ARGC("logs", "{job=\"x\"}", "--limit", "0"),
                       ARGV("logs", "{job=\"x\"}", "--limit", "0"),
                       "tollgate query: invalid --limit \"0\": expected 1 to 5000 (see "
                       "tollgate query --help)\n");
    expect_usage_error(ARGC("metrics", "{}", "--limit=5"),
                       ARGV("metrics", "{}", "--limit=5"),
                       "tollgate query: --limit applies to logs only (see tollgate query "
                       "--help)\n");
    expect_usage_error(ARGC("logs"), ARGV("logs"),
                       "tollgate query: logs needs a LogQL query such as "
                       "'{service_name=\"checkout\"}' (see tollgate query --help)\n");

    /* No arguments: usage on stderr, exit 2. --help: usage on stdout, 0. */
    assert_int_equal(run_query(1, (char *[]){"query", NULL}, &out, &err), 2);
    assert_string_equal(out.buf, "");
    assert_non_null(strstr(err.buf, "usage: tollgate query"));
    free(out.buf);
    free(err.buf);
    assert_int_equal(RUN(&out, &err, "--help"), 0);
    assert_non_null(strstr(out.buf, "usage: tollgate query"));
    assert_non_null(strstr(out.buf, "--endpoint URL"));
    assert_string_equal(err.buf, "");
    free(out.buf);
    free(err.buf);

    assert_int_equal(RUN(&out, &err, "traces"), 2);
    assert_non_null(strstr(err.buf, "traces needs a TraceQL query"));
    free(out.buf);
    free(err.buf);
}

/* ---- HTTP against a real socket --------------------------------------------- */

struct canned {
    int fd;
    int port;
    char response[16384];
    size_t response_len;
    char request[8192];
    size_t request_len;
    pthread_t thread;
};

/* Accepts one connection, reads the request head, sends the answer. */
static void *serve_one(void *arg)
{
    struct canned *c = arg;
    int conn = accept(c->fd, NULL, NULL);
    size_t off = 0;

    if (conn < 0)
        return NULL;
    while (c->request_len < sizeof(c->request) - 1) {
        ssize_t n = recv(conn, c->request + c->request_len,
                         sizeof(c->request) - 1 - c->request_len, 0);
        if (n <= 0)
            break;
        c->request_len += (size_t)n;
        c->request[c->request_len] = '\0';
        if (strstr(c->request, "\r\n\r\n"))
            break;
    }
    while (off < c->response_len) {
        ssize_t n = send(conn, c->response + off, c->response_len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(conn, SHUT_WR);
    close(conn);
    return NULL;
}

static int listen_any(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* The federated answer the centre (or a site) gives for one trace. */
static char *envelope(const char *trace)
{
    static char buf[16384];
    snprintf(
        buf, sizeof(buf),
        "{\"trace\":%s,\"is_partial\":false,\"_sites\":{\"total\":1},\"warnings\":[]}",
        trace);
    return buf;
}

static struct canned *serve(int status, const char *reason, const char *body)
{
    struct canned *c = calloc(1, sizeof(*c));

    assert_non_null(c);
    c->fd = listen_any(&c->port);
    c->response_len =
        (size_t)snprintf(c->response, sizeof(c->response),
                         "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         status, reason, strlen(body), body);
    assert_true(c->response_len < sizeof(c->response));
    assert_int_equal(pthread_create(&c->thread, NULL, serve_one, c), 0);
    return c;
}

static void serve_done(struct canned *c)
{
    pthread_join(c->thread, NULL);
    close(c->fd);
    free(c);
}

static void endpoint_of(const struct canned *c, char *buf, size_t len)
{
    snprintf(buf, len, "http://127.0.0.1:%d/", c->port);
}

static void test_http_trace(void **state)
{
    struct canned *c = serve(200, "OK", envelope(trace_json));
    struct capture out, err;
    char ep[64], request[8192];
    const char *line = "GET /api/v1/query/trace/" TRACE_ID " HTTP/1.1\r\n";

    (void)state;
    endpoint_of(c, ep, sizeof(ep));
    assert_int_equal(
        RUN(&out, &err, "--endpoint", ep, "trace", "0AF7651916CD43DD8448EB211C80319C"),
        0);
    memcpy(request, c->request, sizeof(request));
    serve_done(c);
    assert_string_equal(out.buf, trace_text);
    assert_string_equal(err.buf, "");
    /* The trailing '/' of the endpoint is dropped and the id lower-cased;
     * no token, no Authorization header. */
    assert_true(strncmp(request, line, strlen(line)) == 0);
    assert_null(strstr(request, "Authorization"));
    free(out.buf);
    free(err.buf);
}

static void test_http_trace_request(void **state)
{
    struct canned *c = serve(200, "OK", envelope(trace_json));
    struct capture out, err;
    char ep[64], request[8192];

    (void)state;
    endpoint_of(c, ep, sizeof(ep));
    assert_int_equal(
        RUN(&out, &err, "trace", TRACE_ID, "--json", "--endpoint", ep, "--token=s3cret"),
        0);
    memcpy(request, c->request, sizeof(request));
    serve_done(c);
    assert_true(strncmp(request, "GET /api/v1/query/trace/" TRACE_ID " HTTP/1.1\r\n",
                        strlen("GET /api/v1/query/trace/" TRACE_ID " HTTP/1.1\r\n")) ==
                0);
    assert_non_null(strstr(request, "\r\nAuthorization: Bearer s3cret\r\n"));
    assert_non_null(strstr(request, "\r\nAccept: application/json\r\n"));
    /* --json: exactly one JSON document, equal to what the server sent,
     * pretty-printed. */
    {
        json_t *want = parse(envelope(trace_json)), *got = json_loads(out.buf, 0, NULL);
        assert_non_null(got);
        assert_true(json_equal(want, got));
        assert_non_null(strstr(out.buf, "\n    \"resourceSpans\": [\n"));
        assert_int_equal(out.buf[out.len - 1], '\n');
        json_decref(want);
        json_decref(got);
    }
    free(out.buf);
    free(err.buf);
}

static void test_http_not_found(void **state)
{
    struct canned *c = serve(404, "Not Found", "{\"error\":\"no such trace\"}");
    struct capture out, err;
    char ep[64], want[256];

    (void)state;
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", c->port);
    assert_int_equal(RUN(&out, &err, "--endpoint", ep, "trace", TRACE_ID), 1);
    serve_done(c);
    snprintf(want, sizeof(want), "tollgate query: trace " TRACE_ID " not found\n");
    assert_string_equal(out.buf, "");
    assert_string_equal(err.buf, want);
    free(out.buf);
    free(err.buf);
}

static void test_http_empty_trace_is_not_found(void **state)
{
    struct canned *c = serve(200, "OK", envelope("{\"resourceSpans\":[]}"));
    struct capture out, err;
    char ep[64];

    (void)state;
    endpoint_of(c, ep, sizeof(ep));
    assert_int_equal(RUN(&out, &err, "--endpoint", ep, "trace", TRACE_ID), 1);
    serve_done(c);
    assert_string_equal(out.buf, "");
    assert_non_null(strstr(err.buf, "trace " TRACE_ID " not found"));
    free(out.buf);
    free(err.buf);
}

static void test_http_errors(void **state)
{
    struct capture out, err;
    char ep[64], want[512];
    struct canned *c;

    (void)state;
    c = serve(500, "Internal Server Error", "{\"error\":\"store unavailable\"}");
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", c->port);
    assert_int_equal(RUN(&out, &err, "--endpoint", ep, "trace", TRACE_ID), 1);
    serve_done(c);
    snprintf(want, sizeof(want),
             "tollgate query: %s/api/v1/query/trace/" TRACE_ID
             ": HTTP 500: store unavailable\n",
             ep);
    assert_string_equal(err.buf, want);
    free(out.buf);
    free(err.buf);

    c = serve(401, "Unauthorized", "bad token\nsecond line");
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", c->port);
    assert_int_equal(RUN(&out, &err, "--endpoint", ep, "trace", TRACE_ID), 1);
    serve_done(c);
    snprintf(want, sizeof(want),
             "tollgate query: %s/api/v1/query/trace/" TRACE_ID
             ": HTTP 401: bad token (check --token)\n",
             ep);
    assert_string_equal(err.buf, want);
    free(out.buf);
    free(err.buf);

    c = serve(400, "Bad Request", "{\"error\":{\"message\":\"bad selector\"}}");
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", c->port);
    assert_int_equal(RUN(&out, &err, "--endpoint", ep, "metrics", "{}"), 2);
    serve_done(c);
    assert_non_null(strstr(err.buf, ": HTTP 400: bad selector\n"));
    free(out.buf);
    free(err.buf);

    c = serve(200, "OK", "{\"resourceSpans\": [");
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", c->port);
    assert_int_equal(RUN(&out, &err, "--endpoint", ep, "trace", TRACE_ID), 1);
    serve_done(c);
    assert_non_null(strstr(err.buf, ": the answer is not valid JSON (line 1, column "));
    assert_string_equal(out.buf, "");
    free(out.buf);
    free(err.buf);
}

static void test_http_unreachable(void **state)
{
    struct capture out, err;
    char ep[64], want[256];
    int port, fd = listen_any(&port);

    (void)state;
    close(fd); /* nothing listens there now */
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
    assert_int_equal(RUN(&out, &err, "--endpoint", ep, "trace", TRACE_ID), 1);
    snprintf(want, sizeof(want),
             "tollgate query: cannot reach %s/api/v1/query/trace/" TRACE_ID ": ", ep);
    assert_string_equal(out.buf, "");
    assert_memory_equal(err.buf, want, strlen(want));
    free(out.buf);
    free(err.buf);
}

/* Reads the start= parameter of a request line. */
static uint64_t start_param(const char *request)
{
    const char *p = strstr(request, "start=");
    assert_non_null(p);
    return strtoull(p + 6, NULL, 10);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void test_http_logs(void **state)
{
    static const char answer[] =
        "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":["
        "{\"stream\":{\"service_name\":\"check out/v2\",\"site\":\"fra\"},\"values\":["
        "[\"1700000000000000000\",\"first "
        "line\"],[\"1700000001000000000\",\"second\\u001b[31m\"]]}]},"
        "\"is_partial\":true,\"warnings\":[\"site nyc: timed_out (timeout)\"]}";
    struct canned *c = serve(200, "OK", answer);
    struct capture out, err;
    char ep[64], request[8192];
    uint64_t start, want;
    const char *prefix =
        "GET /api/v1/query/logs?q=%7Bservice_name%3D%22check%20out%2Fv2%22%7D&start=";

    (void)state;
    endpoint_of(c, ep, sizeof(ep));
    assert_int_equal(RUN(&out, &err, "--endpoint", ep, "logs",
                         "{service_name=\"check out/v2\"}", "--since", "15m", "--limit",
                         "5"),
                     0);
    memcpy(request, c->request, sizeof(request));
    serve_done(c);
    want = now_ns() - 15ull * 60 * 1000000000u;
    assert_true(strncmp(request, prefix, strlen(prefix)) == 0);
    assert_non_null(strstr(request, "&limit=5&direction=forward HTTP/1.1\r\n"));
    start = start_param(request);
    assert_true(start <= want && want - start < 30ull * 1000000000u);
    assert_string_equal(out.buf,
                        "2023-11-14T22:13:20.000Z fra check out/v2 first line\n"
                        "2023-11-14T22:13:21.000Z fra check out/v2 second\\x1b[31m\n");
    /* A partial answer: exit 0, the missing site named on stderr. */
    assert_string_equal(err.buf,
                        "tollgate query: warning: site nyc: timed_out (timeout)\n");
    free(out.buf);
    free(err.buf);
}

static void test_http_metrics(void **state)
{
    struct canned *c = serve(200, "OK", metrics_json);
    struct capture out, err;
    char ep[64], request[8192];
    uint64_t start, want;

    (void)state;
    endpoint_of(c, ep, sizeof(ep));
    assert_int_equal(RUN(&out, &err, "--endpoint", ep, "metrics", "{}"), 0);
    memcpy(request, c->request, sizeof(request));
    serve_done(c);
    want = now_ns() - 3600ull * 1000000000u; /* default --since 1h */
    assert_true(strncmp(request, "GET /api/v1/metrics?start=", 26) == 0);
    assert_null(strstr(request, "service="));
    assert_null(strstr(request, "limit="));
    start = start_param(request);
    assert_true(start <= want && want - start < 30ull * 1000000000u);
    assert_string_equal(out.buf, metrics_text);
    free(out.buf);
    free(err.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_trace_tree),
        cmocka_unit_test(test_render_stitched_trace),
        cmocka_unit_test(test_render_trace_cycle),
        cmocka_unit_test(test_render_trace_deep_chain),
        cmocka_unit_test(test_render_garbage),
        cmocka_unit_test(test_render_metrics),
        cmocka_unit_test(test_put_text_escapes),
        cmocka_unit_test(test_trace_id_validation),
        cmocka_unit_test(test_selector),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_http_trace),
        cmocka_unit_test(test_http_trace_request),
        cmocka_unit_test(test_http_not_found),
        cmocka_unit_test(test_http_empty_trace_is_not_found),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_http_unreachable),
        cmocka_unit_test(test_http_logs),
        cmocka_unit_test(test_http_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
