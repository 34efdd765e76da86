/* tg_otlp: decoding and validation of OTLP requests, the index, and the
 * responses. Messages are built with protobuf-c in a test arena and packed,
 * so every test starts from bytes a real client could send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tg_err.h"
#include "tg_otlp.h"
#include "tg_otlp_json.h"

typedef Opentelemetry__Proto__Trace__V1__Span span_t;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans rspans_t;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans sspans_t;
typedef Opentelemetry__Proto__Logs__V1__LogRecord logrec_t;
typedef Opentelemetry__Proto__Metrics__V1__Metric metric_t;
typedef Opentelemetry__Proto__Resource__V1__Resource resource_t;

static tg_arena A;   /* builds test messages */
static tg_arena DEC; /* what the code under test decodes into */

static int setup(void **state)
{
    (void)state;
    tg_arena_init(&A, 64 * 1024, 0);
    tg_arena_init(&DEC, 64 * 1024, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tg_arena_destroy(&A);
    tg_arena_destroy(&DEC);
    return 0;
}

/* ---- builders ------------------------------------------------------------ */

static void *anew(size_t n)
{
    void *p = tg_arena_calloc(&A, n);
    assert_non_null(p);
    return p;
}

static char *astr(const char *s)
{
    return tg_arena_strndup(&A, s, strlen(s));
}

static tg_otlp_any *any_new(void)
{
    tg_otlp_any *v = anew(sizeof(*v));
    opentelemetry__proto__common__v1__any_value__init(v);
    return v;
}

static tg_otlp_any *any_str(const char *s)
{
    tg_otlp_any *v = any_new();
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = astr(s);
    return v;
}

static tg_otlp_any *any_int(int64_t i)
{
    tg_otlp_any *v = any_new();
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v->int_value = i;
    return v;
}

static tg_otlp_kv *kv(const char *key, tg_otlp_any *v)
{
    tg_otlp_kv *k = anew(sizeof(*k));
    opentelemetry__proto__common__v1__key_value__init(k);
    k->key = astr(key);
    k->value = v;
    return k;
}

static tg_otlp_any *any_kvlist(size_t n, tg_otlp_kv **kvs)
{
    tg_otlp_any *v = any_new();
    Opentelemetry__Proto__Common__V1__KeyValueList *l = anew(sizeof(*l));
    opentelemetry__proto__common__v1__key_value_list__init(l);
    l->n_values = n;
    l->values = anew(n * sizeof(*kvs));
    memcpy(l->values, kvs, n * sizeof(*kvs));
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
    v->kvlist_value = l;
    return v;
}

static tg_otlp_any *any_array1(tg_otlp_any *inner)
{
    tg_otlp_any *v = any_new();
    Opentelemetry__Proto__Common__V1__ArrayValue *a = anew(sizeof(*a));
    opentelemetry__proto__common__v1__array_value__init(a);
    a->n_values = 1;
    a->values = anew(sizeof(*a->values));
    a->values[0] = inner;
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    v->array_value = a;
    return v;
}

static resource_t *resource(const char *service)
{
    resource_t *r = anew(sizeof(*r));
    opentelemetry__proto__resource__v1__resource__init(r);
    r->n_attributes = 2;
    r->attributes = anew(2 * sizeof(tg_otlp_kv *));
    r->attributes[0] = kv("host.name", any_str("node-1"));
    r->attributes[1] =
        service ? kv("service.name", any_str(service)) : kv("other", any_int(1));
    return r;
}

static ProtobufCBinaryData id_bytes(size_t len, uint8_t fill)
{
    ProtobufCBinaryData b = {len, len ? anew(len) : NULL};
    for (size_t i = 0; i < len; i++)
        b.data[i] = (uint8_t)(fill + i);
    return b;
}

static span_t *span(size_t tid_len, uint8_t tid_fill, size_t sid_len, uint64_t start,
                    uint64_t end)
{
    span_t *s = anew(sizeof(*s));
    opentelemetry__proto__trace__v1__span__init(s);
    s->trace_id = id_bytes(tid_len, tid_fill);
    s->span_id = id_bytes(sid_len, 0x40);
    s->name = astr("GET /orders");
    s->start_time_unix_nano = start;
    s->end_time_unix_nano = end;
    return s;
}

static void span_attrs(span_t *s, size_t n, ...)
{
    va_list ap;
    s->n_attributes = n;
    s->attributes = anew(n * sizeof(tg_otlp_kv *));
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        s->attributes[i] = va_arg(ap, tg_otlp_kv *);
    va_end(ap);
}

static rspans_t *rspans(resource_t *res, size_t n, span_t **spans)
{
    rspans_t *rs = anew(sizeof(*rs));
    sspans_t *ss = anew(sizeof(*ss));
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    ss->n_spans = n;
    ss->spans = anew(n * sizeof(span_t *));
    if (n)
        memcpy(ss->spans, spans, n * sizeof(span_t *));
    rs->resource = res;
    rs->n_scope_spans = 1;
    rs->scope_spans = anew(sizeof(sspans_t *));
    rs->scope_spans[0] = ss;
    return rs;
}

static tg_otlp_traces_req *traces(size_t n, rspans_t **rs)
{
    tg_otlp_traces_req *r = anew(sizeof(*r));
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(r);
    r->n_resource_spans = n;
    r->resource_spans = anew(n * sizeof(rspans_t *));
    memcpy(r->resource_spans, rs, n * sizeof(rspans_t *));
    return r;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = anew(*len + 1);
    assert_int_equal(protobuf_c_message_pack(m, buf), *len);
    return buf;
}

static int decode_pb(enum tg_signal sig, const ProtobufCMessage *m, tg_otlp_request *req,
                     char *err, size_t errlen)
{
    size_t len;
    uint8_t *buf = pack(m, &len);
    return tg_otlp_decode(sig, TG_ENC_PROTOBUF, buf, len, &DEC, req, err, errlen);
}

/* ---- basics ---------------------------------------------------------------- */

static void test_signal_names(void **state)
{
    (void)state;
    assert_string_equal(tg_signal_name(TG_SIGNAL_TRACES), "traces");
    assert_string_equal(tg_signal_name(TG_SIGNAL_LOGS), "logs");
    assert_string_equal(tg_signal_name(TG_SIGNAL_METRICS), "metrics");
    assert_string_equal(tg_otlp_request_descriptor(TG_SIGNAL_TRACES)->short_name,
                        "ExportTraceServiceRequest");
    assert_string_equal(tg_otlp_request_descriptor(TG_SIGNAL_LOGS)->short_name,
                        "ExportLogsServiceRequest");
    assert_string_equal(tg_otlp_request_descriptor(TG_SIGNAL_METRICS)->short_name,
                        "ExportMetricsServiceRequest");
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(tg_utf8_valid("", 0));
    assert_true(tg_utf8_valid("plain ascii, longer than eight bytes", 36));
    assert_true(tg_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
    assert_true(tg_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
    assert_true(tg_utf8_valid("a\0b", 3));             /* NUL is valid UTF-8 */
    assert_false(tg_utf8_valid("\xff", 1));
    assert_false(tg_utf8_valid("abcdefgh\x80", 9));     /* lone continuation */
    assert_false(tg_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(tg_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
    assert_false(tg_utf8_valid("\xed\xa0\x80", 3));     /* surrogate U+D800 */
    assert_false(tg_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(tg_utf8_valid("\xe2\x82", 2));         /* truncated */
    assert_false(tg_utf8_valid("\xc3\xa9\xc3", 3));
}

/* ---- traces ---------------------------------------------------------------- */

static void test_decode_traces_protobuf(void **state)
{
    tg_otlp_request req;
    char err[256];
    span_t *s[2];
    (void)state;

    s[0] = span(16, 1, 8, 1000, 2000);
    s[1] = span(16, 1, 8, 1500, 3000);
    tg_otlp_kv *inner[2] = {kv("a", any_int(-7)), kv("b", any_str("x"))};
    span_attrs(s[0], 3, kv("http.route", any_str("/orders/{id}")), kv("n", any_int(42)),
               kv("nested", any_kvlist(2, inner)));
    rspans_t *rs = rspans(resource("checkout"), 2, s);
    tg_otlp_traces_req *r = traces(1, &rs);

    assert_int_equal(decode_pb(TG_SIGNAL_TRACES, &r->base, &req, err, sizeof(err)), 0);
    assert_int_equal(req.signal, TG_SIGNAL_TRACES);
    assert_int_equal(req.items, 2);
    assert_int_equal(req.rejected, 0);
    assert_int_equal(req.modified, 0);
    tg_otlp_traces_req *got = (tg_otlp_traces_req *)req.msg;
    assert_non_null(got);
    span_t *g = got->resource_spans[0]->scope_spans[0]->spans[0];
    assert_string_equal(g->name, "GET /orders");
    assert_int_equal(g->n_attributes, 3);
    assert_string_equal(g->attributes[0]->value->string_value, "/orders/{id}");
    assert_int_equal(g->attributes[1]->value->int_value, 42);
    assert_int_equal(g->attributes[2]->value->kvlist_value->values[0]->value->int_value,
                     -7);
    assert_memory_equal(g->trace_id.data, s[0]->trace_id.data, 16);
}

static void test_decode_empty_body(void **state)
{
    tg_otlp_request req;
    char err[128];
    (void)state;

    /* An empty protobuf body is a valid, empty request. */
    assert_int_equal(tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, NULL, 0, &DEC,
                                    &req, err, sizeof(err)),
                     0);
    assert_int_equal(req.items, 0);
    assert_non_null(req.msg);
}

static void test_span_id_validation(void **state)
{
    tg_otlp_request req;
    char err[256];
    span_t *s[6];
    (void)state;

    s[0] = span(16, 1, 8, 10, 20); /* ok */
    s[1] = span(15, 1, 8, 10, 20); /* short trace id */
    s[2] = span(16, 2, 0, 10, 20); /* no span id */
    s[3] = span(16, 3, 8, 10, 20); /* ok */
    s[4] = span(16, 0, 8, 10, 20); /* all-zero trace id (fill 0 makes 00 01 02..) */
    memset(s[4]->trace_id.data, 0, 16);
    s[5] = span(16, 4, 9, 10, 20); /* long span id */
    rspans_t *rs = rspans(resource("svc"), 6, s);
    tg_otlp_traces_req *r = traces(1, &rs);

    assert_int_equal(decode_pb(TG_SIGNAL_TRACES, &r->base, &req, err, sizeof(err)), 0);
    assert_int_equal(req.items, 2);
    assert_int_equal(req.rejected, 4);
    assert_int_equal(req.modified, 1);
    assert_non_null(strstr(req.reject_msg, "4 spans rejected"));
    assert_non_null(strstr(req.reject_msg, "trace_id or span_id"));
    sspans_t *ss = ((tg_otlp_traces_req *)req.msg)->resource_spans[0]->scope_spans[0];
    assert_int_equal(ss->n_spans, 2);
    assert_int_equal(ss->spans[0]->trace_id.data[0], 1);
    assert_int_equal(ss->spans[1]->trace_id.data[0], 3);

    /* The re-encoded request holds only the kept spans. */
    uint8_t *out;
    size_t outlen;
    assert_int_equal(tg_otlp_pack(&req, &DEC, &out, &outlen), 0);
    tg_otlp_traces_req *back = (tg_otlp_traces_req *)protobuf_c_message_unpack(
        tg_otlp_request_descriptor(TG_SIGNAL_TRACES), &DEC.pb, outlen, out);
    assert_non_null(back);
    assert_int_equal(back->resource_spans[0]->scope_spans[0]->n_spans, 2);

    /* All-zero span id, one rejection: singular wording. */
    span_t *z = span(16, 9, 8, 1, 2);
    memset(z->span_id.data, 0, 8);
    rs = rspans(resource("svc"), 1, &z);
    r = traces(1, &rs);
    assert_int_equal(decode_pb(TG_SIGNAL_TRACES, &r->base, &req, err, sizeof(err)), 0);
    assert_int_equal(req.rejected, 1);
    assert_int_equal(req.items, 0);
    assert_non_null(strstr(req.reject_msg, "1 span rejected"));
}

static void test_links_and_parent_ids(void **state)
{
    tg_otlp_request req;
    char err[256];
    span_t *s[2];
    (void)state;

    s[0] = span(16, 1, 8, 10, 20);
    s[0]->parent_span_id = id_bytes(4, 9); /* neither empty nor 8 bytes: rejected */
    s[1] = span(16, 2, 8, 10, 20);
    s[1]->dropped_links_count = 1;
    s[1]->n_links = 3;
    s[1]->links = anew(3 * sizeof(*s[1]->links));
    for (int i = 0; i < 3; i++) {
        s[1]->links[i] = anew(sizeof(**s[1]->links));
        opentelemetry__proto__trace__v1__span__link__init(s[1]->links[i]);
        s[1]->links[i]->trace_id = id_bytes(16, (uint8_t)(i + 1));
        s[1]->links[i]->span_id = id_bytes(i == 1 ? 5 : 8, 3);
    }
    rspans_t *rs = rspans(resource("svc"), 2, s);
    tg_otlp_traces_req *r = traces(1, &rs);
    assert_int_equal(decode_pb(TG_SIGNAL_TRACES, &r->base, &req, err, sizeof(err)), 0);
    assert_int_equal(req.items, 1);
    assert_int_equal(req.rejected, 1);
    span_t *kept =
        ((tg_otlp_traces_req *)req.msg)->resource_spans[0]->scope_spans[0]->spans[0];
    assert_int_equal(kept->n_links, 2);
    assert_int_equal(kept->links[0]->trace_id.data[0], 1);
    assert_int_equal(kept->links[1]->trace_id.data[0], 3);
    assert_int_equal(kept->dropped_links_count, 2);

    /* Only a bad link: the span stays, the request is marked modified. */
    s[1]->links[1]->span_id = id_bytes(5, 3);
    rs = rspans(resource("svc"), 1, &s[1]);
    r = traces(1, &rs);
    assert_int_equal(decode_pb(TG_SIGNAL_TRACES, &r->base, &req, err, sizeof(err)), 0);
    assert_int_equal(req.rejected, 0);
    assert_int_equal(req.items, 1);
    assert_int_equal(req.modified, 1);
}

static void test_invalid_utf8_protobuf(void **state)
{
    tg_otlp_request req;
    char err[256];
    span_t *s[2];
    (void)state;

    s[0] = span(16, 1, 8, 1, 2);
    s[1] = span(16, 1, 8, 1, 2);
    span_attrs(s[1], 3, kv("a", any_str("ok")), kv("b", any_int(1)),
               kv("user.email", any_str("secret\xff\xfe@example.com")));
    rspans_t *rs = rspans(resource("svc"), 2, s);
    tg_otlp_traces_req *r = traces(1, &rs);
    assert_int_equal(decode_pb(TG_SIGNAL_TRACES, &r->base, &req, err, sizeof(err)),
                     TG_EUTF8);
    assert_string_equal(
        err,
        "resourceSpans[0].scopeSpans[0].spans[1].attributes[2].value: invalid UTF-8");
    assert_null(strstr(err, "secret"));
    assert_null(req.msg);

    /* In a key, a span name, deep inside a kvlist, in the resource. */
    span_attrs(s[1], 1, kv("bad\xc0key", any_str("v")));
    assert_int_equal(decode_pb(TG_SIGNAL_TRACES, &r->base, &req, err, sizeof(err)),
                     TG_EUTF8);
    assert_string_equal(
        err, "resourceSpans[0].scopeSpans[0].spans[1].attributes[0].key: invalid UTF-8");

    s[1]->n_attributes = 0;
    s[0]->name = astr("\xed\xa0\x80");
    assert_int_equal(decode_pb(TG_SIGNAL_TRACES, &r->base, &req, err, sizeof(err)),
                     TG_EUTF8);
    assert_string_equal(err,
                        "resourceSpans[0].scopeSpans[0].spans[0].name: invalid UTF-8");

    s[0]->name = astr("fine");
    tg_otlp_kv *inner[2] = {kv("x", any_str("ok")), kv("y", any_array1(any_str("\x80")))};
    rs->resource->attributes[0] = kv("host", any_kvlist(2, inner));
    assert_int_equal(decode_pb(TG_SIGNAL_TRACES, &r->base, &req, err, sizeof(err)),
                     TG_EUTF8);
    assert_string_equal(err, "resourceSpans[0].resource.attributes[0].value.kvlistValue."
                             "values[1].value.arrayValue.values[0]: invalid UTF-8");
}

static void test_malformed_protobuf(void **state)
{
    tg_otlp_request req;
    char err[256];
    size_t len;
    span_t *s = span(16, 1, 8, 1, 2);
    (void)state;

    rspans_t *rs = rspans(resource("svc"), 1, &s);
    tg_otlp_traces_req *r = traces(1, &rs);
    uint8_t *buf = pack(&r->base, &len);

    /* Every truncation of a valid body is an error, never a crash. */
    for (size_t cut = 1; cut < len; cut++) {
        int rc = tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, buf, cut, &DEC, &req,
                                err, sizeof(err));
        assert_int_equal(rc, TG_EPARSE);
        assert_non_null(strstr(err, "malformed protobuf"));
    }

    /* Garbage. */
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, junk, sizeof(junk),
                                    &DEC, &req, err, sizeof(err)),
                     TG_EPARSE);
    /* A group wire type. */
    static const uint8_t group[] = {0x0b, 0x0c};
    assert_int_equal(tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, group,
                                    sizeof(group), &DEC, &req, err, sizeof(err)),
                     TG_EPARSE);
    /* resource_spans (a message) sent as a varint: well-formed wire, wrong
     * type, so protobuf-c refuses it. */
    static const uint8_t wrongtype[] = {0x08, 0x01};
    assert_int_equal(tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, wrongtype,
                                    sizeof(wrongtype), &DEC, &req, err, sizeof(err)),
                     TG_EPARSE);
    assert_non_null(strstr(err, "ExportTraceServiceRequest"));
    /* Length running past the end, inside a nested message. */
    static const uint8_t overrun[] = {0x0a, 0x04, 0x12, 0x10, 0x00, 0x00};
    assert_int_equal(tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, overrun,
                                    sizeof(overrun), &DEC, &req, err, sizeof(err)),
                     TG_EPARSE);
    assert_non_null(strstr(err, "in resourceSpans[0]"));
}

static void test_nesting_limit(void **state)
{
    tg_otlp_request req;
    char err[256];
    (void)state;

    for (int depth = 40; depth <= 200; depth += 160) {
        tg_otlp_any *v = any_str("leaf");
        for (int i = 0; i < depth; i++)
            v = any_array1(v);
        resource_t *res = resource("svc");
        res->attributes[0] = kv("deep", v);
        span_t *s = span(16, 1, 8, 1, 2);
        rspans_t *rs = rspans(res, 1, &s);
        tg_otlp_traces_req *r = traces(1, &rs);
        int rc = decode_pb(TG_SIGNAL_TRACES, &r->base, &req, err, sizeof(err));
        if (depth == 40) {
            assert_int_equal(rc, 0); /* 85 levels: fine */
        } else {
            assert_int_equal(rc, TG_EPARSE);
            assert_non_null(strstr(err, "nested deeper than 100"));
        }
    }
}

static void test_arena_limit(void **state)
{
    tg_otlp_request req;
    char err[256];
    span_t *s[50];
    tg_arena small;
    size_t len;
    (void)state;

    for (int i = 0; i < 50; i++) {
        s[i] = span(16, 1, 8, 1, 2);
        span_attrs(s[i], 2, kv("a", any_str("some value of some length")),
                   kv("b", any_int(i)));
    }
    rspans_t *rs = rspans(resource("svc"), 50, s);
    tg_otlp_traces_req *r = traces(1, &rs);
    uint8_t *buf = pack(&r->base, &len);

    tg_arena_init(&small, 4096, 8192);
    assert_int_equal(tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, buf, len, &small,
                                    &req, err, sizeof(err)),
                     TG_ETOO_BIG);
    assert_non_null(strstr(err, "limit"));
    tg_arena_destroy(&small);

    tg_arena_init(&small, 4096, 1 << 20);
    assert_int_equal(tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, buf, len, &small,
                                    &req, err, sizeof(err)),
                     0);
    assert_int_equal(req.items, 50);
    tg_arena_destroy(&small);
}

static void test_unknown_fields_dropped(void **state)
{
    tg_otlp_request req;
    char err[128];
    size_t len;
    span_t *s = span(16, 1, 8, 1, 2);
    (void)state;

    rspans_t *rs = rspans(resource("svc"), 1, &s);
    tg_otlp_traces_req *r = traces(1, &rs);
    uint8_t *buf = pack(&r->base, &len);
    /* Append field 99 (length-delimited, "hidden") at the top level. */
    uint8_t *body = anew(len + 16);
    memcpy(body, buf, len);
    static const uint8_t extra[] = {0x9a, 0x06, 0x06, 'h', 'i', 'd', 'd', 'e', 'n'};
    memcpy(body + len, extra, sizeof(extra));

    assert_int_equal(tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, body,
                                    len + sizeof(extra), &DEC, &req, err, sizeof(err)),
                     0);
    assert_int_equal(req.modified, 1);
    assert_int_equal(req.items, 1);
    uint8_t *out;
    size_t outlen;
    assert_int_equal(tg_otlp_pack(&req, &DEC, &out, &outlen), 0);
    assert_int_equal(outlen, len);
    assert_memory_equal(out, buf, len);
}

static void test_nul_in_string(void **state)
{
    tg_otlp_request req;
    char err[128];
    size_t len;
    span_t *s = span(16, 1, 8, 1, 2);
    (void)state;

    s->name = astr("visible#hidden");
    rspans_t *rs = rspans(resource("svc"), 1, &s);
    tg_otlp_traces_req *r = traces(1, &rs);
    uint8_t *buf = pack(&r->base, &len);
    uint8_t *hash = memchr(buf, '#', len);
    assert_non_null(hash);
    *hash = '\0'; /* valid UTF-8, but not representable after decoding */

    /* Issue 15: refused, naming the field, rather than cut at the NUL
     * (the rest of the string was stored and forwarded unclassified). */
    assert_int_equal(tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, buf, len, &DEC,
                                    &req, err, sizeof(err)),
                     TG_EUTF8);
    assert_non_null(strstr(err, "NUL"));
    assert_non_null(strstr(err, "resourceSpans[0].scopeSpans[0].spans[0].name"));
    assert_null(strstr(err, "hidden"));
}

/* The same for OTLP/JSON: the same words, the field's path, and nothing of
 * jansson's (its own message names the JSON_ALLOW_NUL flag). */
static void test_nul_in_json_string(void **state)
{
    static const char *const bodies[] = {
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
        "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\","
        "\"name\":\"na\\u0000me\"}]}]}]}",
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"k\","
        "\"value\":{\"stringValue\":\"a\\u0000b\"}}]}}]}",
    };
    tg_otlp_request req;
    char err[256];
    (void)state;

    for (size_t i = 0; i < 2; i++) {
        int rc = tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_JSON, (const uint8_t *)bodies[i],
                                strlen(bodies[i]), &DEC, &req, err, sizeof(err));
        assert_true(rc == TG_EPARSE || rc == TG_EUTF8);
        assert_non_null(strstr(err, "NUL character (U+0000)"));
        assert_null(strstr(err, "JSON_"));
        assert_non_null(strstr(err, i == 0 ? "spans[0].name" : "value.stringValue"));
    }
}

static void test_pack_roundtrip(void **state)
{
    tg_otlp_request req;
    char err[128];
    size_t len, outlen;
    uint8_t *out;
    span_t *s[3] = {span(16, 1, 8, 5, 6), span(16, 2, 8, 7, 9), span(16, 3, 8, 1, 2)};
    (void)state;

    span_attrs(s[1], 2, kv("k", any_str("v")), kv("i", any_int(-1)));
    rspans_t *rs = rspans(resource("svc"), 3, s);
    tg_otlp_traces_req *r = traces(1, &rs);
    uint8_t *buf = pack(&r->base, &len);
    assert_int_equal(tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, buf, len, &DEC,
                                    &req, err, sizeof(err)),
                     0);
    assert_int_equal(tg_otlp_pack(&req, &DEC, &out, &outlen), 0);
    assert_int_equal(outlen, len);
    assert_memory_equal(out, buf, len);
}

/* ---- logs and metrics --------------------------------------------------------- */

static logrec_t *logrec(size_t tid, size_t sid, uint64_t t, uint64_t observed)
{
    logrec_t *l = anew(sizeof(*l));
    opentelemetry__proto__logs__v1__log_record__init(l);
    l->trace_id = id_bytes(tid, 0x10);
    l->span_id = id_bytes(sid, 0x20);
    l->time_unix_nano = t;
    l->observed_time_unix_nano = observed;
    l->body = any_str("user logged in");
    return l;
}

static tg_otlp_logs_req *logs_req(resource_t *res, size_t n, logrec_t **recs)
{
    tg_otlp_logs_req *r = anew(sizeof(*r));
    Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = anew(sizeof(*rl));
    Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = anew(sizeof(*sl));
    opentelemetry__proto__collector__logs__v1__export_logs_service_request__init(r);
    opentelemetry__proto__logs__v1__resource_logs__init(rl);
    opentelemetry__proto__logs__v1__scope_logs__init(sl);
    sl->n_log_records = n;
    sl->log_records = anew(n * sizeof(logrec_t *));
    memcpy(sl->log_records, recs, n * sizeof(logrec_t *));
    rl->resource = res;
    rl->n_scope_logs = 1;
    rl->scope_logs = anew(sizeof(sl));
    rl->scope_logs[0] = sl;
    r->n_resource_logs = 1;
    r->resource_logs = anew(sizeof(rl));
    r->resource_logs[0] = rl;
    return r;
}

static void test_log_id_validation(void **state)
{
    tg_otlp_request req;
    char err[128];
    logrec_t *l[5] = {logrec(0, 0, 100, 0), logrec(16, 8, 0, 200), logrec(16, 0, 300, 0),
                      logrec(12, 8, 400, 0), logrec(0, 4, 500, 0)};
    (void)state;

    tg_otlp_logs_req *r = logs_req(resource("svc"), 5, l);
    assert_int_equal(decode_pb(TG_SIGNAL_LOGS, &r->base, &req, err, sizeof(err)), 0);
    assert_int_equal(req.items, 3);
    assert_int_equal(req.rejected, 2);
    assert_int_equal(req.modified, 1);
    assert_non_null(strstr(req.reject_msg, "2 log records rejected"));
}

static Opentelemetry__Proto__Metrics__V1__NumberDataPoint *ndp(uint64_t t)
{
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint *p = anew(sizeof(*p));
    opentelemetry__proto__metrics__v1__number_data_point__init(p);
    p->time_unix_nano = t;
    p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
    p->as_int = 3;
    return p;
}

static tg_otlp_metrics_req *metrics_req(void)
{
    tg_otlp_metrics_req *r = anew(sizeof(*r));
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = anew(sizeof(*rm));
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = anew(sizeof(*sm));
    metric_t **m = anew(5 * sizeof(metric_t *));
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(r);
    opentelemetry__proto__metrics__v1__resource_metrics__init(rm);
    opentelemetry__proto__metrics__v1__scope_metrics__init(sm);

    for (int i = 0; i < 5; i++) {
        m[i] = anew(sizeof(metric_t));
        opentelemetry__proto__metrics__v1__metric__init(m[i]);
        m[i]->name = astr("m");
    }
    Opentelemetry__Proto__Metrics__V1__Gauge *g = anew(sizeof(*g));
    opentelemetry__proto__metrics__v1__gauge__init(g);
    g->n_data_points = 2;
    g->data_points = anew(2 * sizeof(void *));
    g->data_points[0] = ndp(5000);
    g->data_points[1] = ndp(7000);
    m[0]->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    m[0]->gauge = g;

    Opentelemetry__Proto__Metrics__V1__Sum *su = anew(sizeof(*su));
    opentelemetry__proto__metrics__v1__sum__init(su);
    su->n_data_points = 1;
    su->data_points = anew(sizeof(void *));
    su->data_points[0] = ndp(3000);
    m[1]->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
    m[1]->sum = su;

    Opentelemetry__Proto__Metrics__V1__Histogram *h = anew(sizeof(*h));
    opentelemetry__proto__metrics__v1__histogram__init(h);
    h->n_data_points = 1;
    h->data_points = anew(sizeof(void *));
    h->data_points[0] = anew(sizeof(**h->data_points));
    opentelemetry__proto__metrics__v1__histogram_data_point__init(h->data_points[0]);
    h->data_points[0]->time_unix_nano = 9000;
    m[2]->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
    m[2]->histogram = h;

    Opentelemetry__Proto__Metrics__V1__ExponentialHistogram *e = anew(sizeof(*e));
    opentelemetry__proto__metrics__v1__exponential_histogram__init(e);
    e->n_data_points = 1;
    e->data_points = anew(sizeof(void *));
    e->data_points[0] = anew(sizeof(**e->data_points));
    opentelemetry__proto__metrics__v1__exponential_histogram_data_point__init(
        e->data_points[0]);
    e->data_points[0]->time_unix_nano = 4000;
    m[3]->data_case =
        OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
    m[3]->exponential_histogram = e;

    Opentelemetry__Proto__Metrics__V1__Summary *sy = anew(sizeof(*sy));
    opentelemetry__proto__metrics__v1__summary__init(sy);
    sy->n_data_points = 2;
    sy->data_points = anew(2 * sizeof(void *));
    for (int i = 0; i < 2; i++) {
        sy->data_points[i] = anew(sizeof(**sy->data_points));
        opentelemetry__proto__metrics__v1__summary_data_point__init(sy->data_points[i]);
        sy->data_points[i]->time_unix_nano = i ? 0 : 6000; /* a point without time */
    }
    m[4]->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY;
    m[4]->summary = sy;

    sm->n_metrics = 5;
    sm->metrics = m;
    rm->resource = resource("metrics-svc");
    rm->n_scope_metrics = 1;
    rm->scope_metrics = anew(sizeof(sm));
    rm->scope_metrics[0] = sm;
    r->n_resource_metrics = 1;
    r->resource_metrics = anew(sizeof(rm));
    r->resource_metrics[0] = rm;
    return r;
}

static void test_metrics_items_and_index(void **state)
{
    tg_otlp_request req;
    tg_otlp_index ix;
    char err[128];
    (void)state;

    tg_otlp_metrics_req *mr = metrics_req();
    assert_int_equal(decode_pb(TG_SIGNAL_METRICS, &mr->base, &req, err, sizeof(err)), 0);
    assert_int_equal(req.items, 7);
    assert_int_equal(req.rejected, 0);
    assert_int_equal(req.modified, 0);

    /* An exemplar with a malformed trace id keeps its value, loses its ids. */
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint *p =
        mr->resource_metrics[0]->scope_metrics[0]->metrics[0]->gauge->data_points[0];
    p->n_exemplars = 1;
    p->exemplars = anew(sizeof(*p->exemplars));
    p->exemplars[0] = anew(sizeof(**p->exemplars));
    opentelemetry__proto__metrics__v1__exemplar__init(p->exemplars[0]);
    p->exemplars[0]->trace_id = id_bytes(7, 1);
    p->exemplars[0]->span_id = id_bytes(8, 1);
    p->exemplars[0]->value_case =
        OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
    p->exemplars[0]->as_double = 2.5;
    assert_int_equal(decode_pb(TG_SIGNAL_METRICS, &mr->base, &req, err, sizeof(err)), 0);
    assert_int_equal(req.items, 7);
    assert_int_equal(req.rejected, 0);
    assert_int_equal(req.modified, 1);
    Opentelemetry__Proto__Metrics__V1__Exemplar *ex = ((tg_otlp_metrics_req *)req.msg)
                                                          ->resource_metrics[0]
                                                          ->scope_metrics[0]
                                                          ->metrics[0]
                                                          ->gauge->data_points[0]
                                                          ->exemplars[0];
    assert_int_equal(ex->trace_id.len, 0);
    assert_int_equal(ex->span_id.len, 0);
    assert_true(ex->as_double == 2.5);
    assert_int_equal(tg_otlp_index_build(&req, &DEC, &ix), 0);
    assert_int_equal(ix.items, 7);
    assert_int_equal(ix.t_min, 3000);
    assert_int_equal(ix.t_max, 9000);
    assert_int_equal(ix.n_trace_ids, 0);
    assert_int_equal(ix.n_services, 1);
    assert_int_equal(ix.services[0].len, strlen("metrics-svc"));
    assert_memory_equal(ix.services[0].ptr, "metrics-svc", ix.services[0].len);
}

/* ---- index ------------------------------------------------------------------- */

static int has_service(const tg_otlp_index *ix, const char *name)
{
    for (size_t i = 0; i < ix->n_services; i++)
        if (ix->services[i].len == strlen(name) &&
            memcmp(ix->services[i].ptr, name, ix->services[i].len) == 0)
            return 1;
    return 0;
}

static void test_index_traces(void **state)
{
    tg_otlp_request req;
    tg_otlp_index ix;
    char err[128];
    (void)state;

    span_t *a[3] = {span(16, 1, 8, 500, 900), span(16, 2, 8, 100, 200),
                    span(16, 1, 8, 300, 1200)};
    span_t *b[2] = {span(16, 2, 8, 150, 160), span(16, 3, 8, 0, 0)};
    span_t *c[1] = {span(16, 4, 8, 50, 60)};
    span_t *d[1] = {span(16, 1, 8, 70, 80)};
    rspans_t *rs[5] = {rspans(resource("checkout"), 3, a),
                       rspans(resource("payments"), 2, b), rspans(resource(NULL), 1, c),
                       rspans(resource(""), 1, d), rspans(resource("checkout"), 0, NULL)};
    rs[4]->resource = resource("idle"); /* no spans: not indexed */
    tg_otlp_traces_req *r = traces(5, rs);

    assert_int_equal(decode_pb(TG_SIGNAL_TRACES, &r->base, &req, err, sizeof(err)), 0);
    assert_int_equal(tg_otlp_index_build(&req, &DEC, &ix), 0);
    assert_int_equal(ix.items, 7);
    assert_int_equal(ix.t_min, 50);
    assert_int_equal(ix.t_max, 1200);
    assert_int_equal(ix.n_trace_ids, 4);
    for (uint8_t fill = 1; fill <= 4; fill++) {
        int found = 0;
        for (size_t i = 0; i < ix.n_trace_ids; i++)
            found += ix.trace_ids[i][0] == fill && ix.trace_ids[i][15] == fill + 15;
        assert_int_equal(found, 1);
    }
    assert_int_equal(ix.n_services, 3);
    assert_true(has_service(&ix, "checkout"));
    assert_true(has_service(&ix, "payments"));
    assert_true(has_service(&ix, "unknown_service"));
    assert_false(has_service(&ix, "idle"));
}

static void test_index_logs(void **state)
{
    tg_otlp_request req;
    tg_otlp_index ix;
    char err[128];
    logrec_t *l[4] = {logrec(16, 8, 0, 900), logrec(0, 0, 400, 100),
                      logrec(16, 0, 700, 0), logrec(0, 0, 0, 0)};
    (void)state;

    l[2]->trace_id.data[0] = 0x77;
    tg_otlp_logs_req *r = logs_req(resource("api"), 4, l);
    assert_int_equal(decode_pb(TG_SIGNAL_LOGS, &r->base, &req, err, sizeof(err)), 0);
    assert_int_equal(tg_otlp_index_build(&req, &DEC, &ix), 0);
    assert_int_equal(ix.items, 4);
    assert_int_equal(ix.t_min, 400); /* time wins over observed time */
    assert_int_equal(ix.t_max, 900); /* observed time when time is 0 */
    assert_int_equal(ix.n_trace_ids, 2);
    assert_int_equal(ix.n_services, 1);
    assert_true(has_service(&ix, "api"));
}

static void test_index_many(void **state)
{
    enum { NSPANS = 20000, NTRACES = 5003 };
    tg_otlp_request req;
    tg_otlp_index ix;
    char err[128];
    span_t **s = anew(NSPANS * sizeof(span_t *));
    (void)state;

    /* Interleaved so repeats are never adjacent. */
    for (int i = 0; i < NSPANS; i++) {
        s[i] = span(16, 0, 8, (uint64_t)i + 10, (uint64_t)i + 20);
        uint32_t t = (uint32_t)(i % NTRACES);
        memset(s[i]->trace_id.data, 0xAB, 16);
        memcpy(s[i]->trace_id.data + 3, &t, sizeof(t));
    }
    rspans_t *rs = rspans(resource("bulk"), NSPANS, s);
    tg_otlp_traces_req *r = traces(1, &rs);
    assert_int_equal(decode_pb(TG_SIGNAL_TRACES, &r->base, &req, err, sizeof(err)), 0);
    assert_int_equal(tg_otlp_index_build(&req, &DEC, &ix), 0);
    assert_int_equal(ix.n_trace_ids, NTRACES);
    assert_int_equal(ix.t_min, 10);
    assert_int_equal(ix.t_max, NSPANS - 1 + 20);
}

static void test_index_empty(void **state)
{
    tg_otlp_request req;
    tg_otlp_index ix;
    char err[128];
    (void)state;

    assert_int_equal(tg_otlp_decode(TG_SIGNAL_LOGS, TG_ENC_JSON, (const uint8_t *)"{}", 2,
                                    &DEC, &req, err, sizeof(err)),
                     0);
    assert_int_equal(tg_otlp_index_build(&req, &DEC, &ix), 0);
    assert_int_equal(ix.items, 0);
    assert_int_equal(ix.t_min, 0);
    assert_int_equal(ix.t_max, 0);
    assert_int_equal(ix.n_trace_ids, 0);
    assert_int_equal(ix.n_services, 0);
}

/* ---- JSON through tg_otlp_decode --------------------------------------------- */

static void test_decode_json_request(void **state)
{
    static const char body[] =
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"cart\"}}]},\"scopeSpans\":[{\"spans\":["
        "{\"traceId\":\"5B8EFFF798038103D269B633813FC60C\",\"spanId\":"
        "\"EEE19B7EC3C1B174\","
        "\"name\":\"a\",\"startTimeUnixNano\":\"1544712660000000000\"},"
        "{\"traceId\":\"\",\"spanId\":\"eee19b7ec3c1b174\",\"name\":\"no trace "
        "id\"}]}]}]}";
    tg_otlp_request req;
    tg_otlp_index ix;
    char err[256];
    (void)state;

    assert_int_equal(tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_JSON, (const uint8_t *)body,
                                    strlen(body), &DEC, &req, err, sizeof(err)),
                     0);
    assert_int_equal(req.items, 1);
    assert_int_equal(req.rejected, 1);
    assert_int_equal(tg_otlp_index_build(&req, &DEC, &ix), 0);
    assert_int_equal(ix.n_trace_ids, 1);
    assert_int_equal(ix.trace_ids[0][0], 0x5b);
    assert_int_equal(ix.t_min, 1544712660000000000ULL);
    assert_true(has_service(&ix, "cart"));

    /* Raw invalid UTF-8 inside a JSON string: the parser finds it, with a position. */
    static const char bad[] = "{\"resourceSpans\":[{\"schemaUrl\":\"x\xff\"}]}";
    assert_int_equal(tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_JSON, (const uint8_t *)bad,
                                    strlen(bad), &DEC, &req, err, sizeof(err)),
                     TG_EUTF8);
    assert_non_null(strstr(err, "line 1, column"));

    /* Truncated. */
    assert_int_equal(tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_JSON, (const uint8_t *)body,
                                    60, &DEC, &req, err, sizeof(err)),
                     TG_EPARSE);
    assert_non_null(strstr(err, "line 1, column"));
}

/* ---- responses -------------------------------------------------------------------- */

static void test_response_json(void **state)
{
    uint8_t *out;
    size_t len;
    (void)state;

    assert_int_equal(tg_otlp_encode_response(TG_SIGNAL_TRACES, TG_ENC_JSON, 2,
                                             "2 spans rejected", &DEC, &out, &len),
                     0);
    assert_string_equal((char *)out, "{\"partialSuccess\":{\"rejectedSpans\":\"2\","
                                     "\"errorMessage\":\"2 spans rejected\"}}");
    assert_int_equal(len, strlen((char *)out));
    assert_int_equal(
        tg_otlp_encode_response(TG_SIGNAL_LOGS, TG_ENC_JSON, 1, "x", &DEC, &out, &len),
        0);
    assert_string_equal(
        (char *)out,
        "{\"partialSuccess\":{\"rejectedLogRecords\":\"1\",\"errorMessage\":\"x\"}}");
    assert_int_equal(tg_otlp_encode_response(TG_SIGNAL_METRICS, TG_ENC_JSON, 3, NULL,
                                             &DEC, &out, &len),
                     0);
    assert_string_equal((char *)out,
                        "{\"partialSuccess\":{\"rejectedDataPoints\":\"3\"}}");
    assert_int_equal(tg_otlp_encode_response(TG_SIGNAL_TRACES, TG_ENC_JSON, 0, "ignored",
                                             &DEC, &out, &len),
                     0);
    assert_string_equal((char *)out, "{}");
    assert_int_equal(len, 2);

    assert_int_equal(tg_otlp_encode_status(TG_ENC_JSON, 3, "line 1, column 2: bad \"x\"",
                                           &DEC, &out, &len),
                     0);
    assert_string_equal((char *)out,
                        "{\"code\":3,\"message\":\"line 1, column 2: bad \\\"x\\\"\"}");
}

static void test_response_protobuf(void **state)
{
    uint8_t *out;
    size_t len;
    (void)state;

    assert_int_equal(tg_otlp_encode_response(TG_SIGNAL_TRACES, TG_ENC_PROTOBUF, 5, "five",
                                             &DEC, &out, &len),
                     0);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            &DEC.pb, len, out);
    assert_non_null(r);
    assert_non_null(r->partial_success);
    assert_int_equal(r->partial_success->rejected_spans, 5);
    assert_string_equal(r->partial_success->error_message, "five");

    assert_int_equal(tg_otlp_encode_response(TG_SIGNAL_LOGS, TG_ENC_PROTOBUF, 0, NULL,
                                             &DEC, &out, &len),
                     0);
    assert_int_equal(len, 0); /* an empty response message */

    assert_int_equal(tg_otlp_encode_response(TG_SIGNAL_METRICS, TG_ENC_PROTOBUF, 9, "m",
                                             &DEC, &out, &len),
                     0);
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse *m =
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__unpack(
            &DEC.pb, len, out);
    assert_non_null(m);
    assert_int_equal(m->partial_success->rejected_data_points, 9);

    assert_int_equal(tg_otlp_encode_status(TG_ENC_PROTOBUF, 8, "busy", &DEC, &out, &len),
                     0);
    Google__Rpc__Status *st = google__rpc__status__unpack(&DEC.pb, len, out);
    assert_non_null(st);
    assert_int_equal(st->code, 8);
    assert_string_equal(st->message, "busy");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signal_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_traces_protobuf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_empty_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_id_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links_and_parent_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_protobuf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_protobuf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nesting_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arena_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_fields_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_in_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_in_json_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pack_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_id_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_items_and_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_traces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_json_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_protobuf, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
