/* tg_otlp_json: the OTLP/JSON mapping in both directions. JSON literals are
 * written with single quotes (Q() turns them into double quotes) so they
 * stay readable. */
#include <math.h>
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
typedef Opentelemetry__Proto__Logs__V1__LogRecord logrec_t;
typedef Opentelemetry__Proto__Metrics__V1__Metric metric_t;

static tg_arena A;
static char err[512];

static int setup(void **state)
{
    (void)state;
    tg_arena_init(&A, 64 * 1024, 0);
    err[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tg_arena_destroy(&A);
    return 0;
}

/* 'x' -> "x"; the result lives in the arena. */
static const char *Q(const char *s)
{
    char *d = tg_arena_strndup(&A, s, strlen(s));
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

static ProtobufCMessage *dec(enum tg_signal sig, const char *json)
{
    return tg_otlp_json_decode(tg_otlp_request_descriptor(sig), json, strlen(json), &A,
                               err, sizeof(err));
}

/* Decode must fail; returns the error text. */
static const char *dec_err(enum tg_signal sig, const char *json)
{
    ProtobufCMessage *m = dec(sig, json);
    assert_null(m);
    assert_true(strncmp(err, "line ", 5) == 0);
    return err;
}

static char *enc(const ProtobufCMessage *m)
{
    size_t len;
    char *s = tg_otlp_json_encode(m, &len);
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    return s;
}

static span_t *first_span(ProtobufCMessage *m)
{
    tg_otlp_traces_req *r = (tg_otlp_traces_req *)m;
    assert_non_null(r);
    assert_true(r->n_resource_spans > 0);
    assert_true(r->resource_spans[0]->n_scope_spans > 0);
    assert_true(r->resource_spans[0]->scope_spans[0]->n_spans > 0);
    return r->resource_spans[0]->scope_spans[0]->spans[0];
}

static const char *wrap_span(const char *span_json)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf), "{'resourceSpans':[{'scopeSpans':[{'spans':[%s]}]}]}",
             span_json);
    return Q(buf);
}

/* ---- AnyValue ---------------------------------------------------------------- */

static const char *ANY_DOC =
    "{'resourceLogs':[{'scopeLogs':[{'logRecords':[{'body':{'kvlistValue':{'values':["
    "{'key':'s','value':{'stringValue':'h\\u00e9llo'}},"
    "{'key':'b','value':{'boolValue':true}},"
    "{'key':'i','value':{'intValue':'-9007199254740993'}},"
    "{'key':'i2','value':{'intValue':42}},"
    "{'key':'d','value':{'doubleValue':1.5}},"
    "{'key':'nan','value':{'doubleValue':'NaN'}},"
    "{'key':'inf','value':{'doubleValue':'-Infinity'}},"
    "{'key':'by','value':{'bytesValue':'AAEC/w=='}},"
    "{'key':'arr','value':{'arrayValue':{'values':[{'intValue':'1'},{'stringValue':'x'},"
    "{'arrayValue':{}}]}}},"
    "{'key':'empty','value':{}},"
    "{'key':'d2','value':{'doubleValue':'1e3'}}"
    "]}}}]}]}]}";

static void test_anyvalue_types(void **state)
{
    (void)state;
    ProtobufCMessage *m = dec(TG_SIGNAL_LOGS, Q(ANY_DOC));
    assert_non_null(m);
    logrec_t *l =
        ((tg_otlp_logs_req *)m)->resource_logs[0]->scope_logs[0]->log_records[0];
    assert_int_equal(l->body->value_case,
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE);
    Opentelemetry__Proto__Common__V1__KeyValueList *kv = l->body->kvlist_value;
    assert_int_equal(kv->n_values, 11);
    assert_string_equal(kv->values[0]->value->string_value, "h\xc3\xa9llo");
    assert_int_equal(kv->values[1]->value->value_case,
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
    assert_true(kv->values[1]->value->bool_value);
    assert_true(kv->values[2]->value->int_value == -9007199254740993LL);
    assert_int_equal(kv->values[3]->value->int_value, 42);
    assert_true(kv->values[4]->value->double_value == 1.5);
    assert_true(isnan(kv->values[5]->value->double_value));
    assert_true(isinf(kv->values[6]->value->double_value) &&
                kv->values[6]->value->double_value < 0);
    assert_int_equal(kv->values[7]->value->value_case,
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE);
    assert_int_equal(kv->values[7]->value->bytes_value.len, 4);
    assert_memory_equal(kv->values[7]->value->bytes_value.data, "\x00\x01\x02\xff", 4);
    Opentelemetry__Proto__Common__V1__ArrayValue *arr = kv->values[8]->value->array_value;
    assert_int_equal(arr->n_values, 3);
    assert_int_equal(arr->values[0]->int_value, 1);
    assert_string_equal(arr->values[1]->string_value, "x");
    assert_int_equal(arr->values[2]->array_value->n_values, 0);
    assert_int_equal(kv->values[9]->value->value_case,
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET);
    assert_true(kv->values[10]->value->double_value == 1000.0);

    /* And back out in the OTLP/JSON spelling. */
    char *out = enc(m);
    assert_non_null(
        strstr(out, "{\"key\":\"i\",\"value\":{\"intValue\":\"-9007199254740993\"}}"));
    assert_non_null(strstr(out, "{\"key\":\"i2\",\"value\":{\"intValue\":\"42\"}}"));
    assert_non_null(strstr(out, "{\"key\":\"nan\",\"value\":{\"doubleValue\":\"NaN\"}}"));
    assert_non_null(strstr(out, "{\"doubleValue\":\"-Infinity\"}"));
    assert_non_null(strstr(out, "{\"bytesValue\":\"AAEC/w==\"}"));
    assert_non_null(strstr(out, "{\"key\":\"empty\",\"value\":{}}"));
    assert_non_null(strstr(out, "{\"arrayValue\":{}}"));
    assert_non_null(strstr(out, "{\"boolValue\":true}"));
    free(out);
}

static void test_base64_variants(void **state)
{
    (void)state;
    static const char *ok[] = {"AAEC_w", "AAEC_w==", "AAEC/w", "", "QQ", "QUI="};
    static const size_t lens[] = {4, 4, 4, 0, 1, 2};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char doc[256];
        snprintf(doc, sizeof(doc),
                 "{'resourceLogs':[{'scopeLogs':[{'logRecords':[{'body':{'bytesValue':'%"
                 "s'}}]}]}]}",
                 ok[i]);
        ProtobufCMessage *m = dec(TG_SIGNAL_LOGS, Q(doc));
        assert_non_null(m);
        logrec_t *l =
            ((tg_otlp_logs_req *)m)->resource_logs[0]->scope_logs[0]->log_records[0];
        assert_int_equal(l->body->bytes_value.len, lens[i]);
    }
    const char *e =
        dec_err(TG_SIGNAL_LOGS, Q("{'resourceLogs':[{'scopeLogs':[{'logRecords':[{'body':"
                                  "{'bytesValue':'AA!C'}}]}]}]}"));
    assert_non_null(strstr(e, "invalid base64"));
    assert_non_null(strstr(e, "body.bytesValue"));
}

/* ---- metrics ------------------------------------------------------------------ */

static const char *METRICS_DOC =
    "{'resourceMetrics':[{'resource':{'attributes':[{'key':'service.name','value':{'"
    "stringValue':'gpu'}}]},"
    "'scopeMetrics':[{'scope':{'name':'meter','version':'1'},'metrics':["
    "{'name':'temp','unit':'Cel','gauge':{'dataPoints':[{'timeUnixNano':'"
    "1700000000000000000','asDouble':71.5,"
    "'attributes':[{'key':'gpu','value':{'intValue':'0'}}]}]}},"
    "{'name':'tokens','sum':{'aggregationTemporality':'AGGREGATION_TEMPORALITY_"
    "CUMULATIVE','isMonotonic':true,"
    "'dataPoints':[{'startTimeUnixNano':'1','timeUnixNano':'2','asInt':'12345678901234'}]"
    "}},"
    "{'name':'latency','histogram':{'aggregationTemporality':1,'dataPoints':["
    "{'timeUnixNano':'3','count':'3','sum':0,'min':-1.5,'max':2,'bucketCounts':['1',2,'0'"
    "],'explicitBounds':[0,1.5],"
    "'exemplars':[{'timeUnixNano':'3','asDouble':0.5,'traceId':'"
    "5b8efff798038103d269b633813fc60c','spanId':'eee19b7ec3c1b174'}]},"
    "{'timeUnixNano':'4','count':'0'}]}},"
    "{'name':'size','exponentialHistogram':{'aggregationTemporality':2,'dataPoints':["
    "{'timeUnixNano':'5','count':'7','sum':10.25,'scale':-3,'zeroCount':'1','"
    "zeroThreshold':1e-9,"
    "'positive':{'offset':-2,'bucketCounts':['1','2']},'negative':{'offset':1,'"
    "bucketCounts':['3']},'max':9}]}},"
    "{'name':'rtt','summary':{'dataPoints':[{'timeUnixNano':'6','count':'4','sum':8,"
    "'quantileValues':[{'quantile':0.5,'value':1.5},{'quantile':1,'value':4}]}]}}"
    "]}]}]}";

static void test_metric_types(void **state)
{
    (void)state;
    ProtobufCMessage *m = dec(TG_SIGNAL_METRICS, Q(METRICS_DOC));
    assert_non_null(m);
    tg_otlp_metrics_req *r = (tg_otlp_metrics_req *)m;
    metric_t **mt = r->resource_metrics[0]->scope_metrics[0]->metrics;
    assert_int_equal(r->resource_metrics[0]->scope_metrics[0]->n_metrics, 5);

    assert_int_equal(mt[0]->data_case,
                     OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
    assert_int_equal(
        mt[0]->gauge->data_points[0]->value_case,
        OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE);
    assert_true(mt[0]->gauge->data_points[0]->as_double == 71.5);
    assert_true(mt[0]->gauge->data_points[0]->time_unix_nano == 1700000000000000000ULL);

    assert_int_equal(mt[1]->data_case,
                     OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
    assert_int_equal(mt[1]->sum->aggregation_temporality, 2);
    assert_true(mt[1]->sum->is_monotonic);
    assert_true(mt[1]->sum->data_points[0]->as_int == 12345678901234LL);

    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *h =
        mt[2]->histogram->data_points[0];
    assert_int_equal(h->_sum_case,
                     OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM);
    assert_true(h->sum == 0.0);
    assert_int_equal(h->_min_case,
                     OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___MIN_MIN);
    assert_true(h->min == -1.5);
    assert_true(h->max == 2.0);
    assert_int_equal(h->n_bucket_counts, 3);
    assert_int_equal(h->bucket_counts[1], 2);
    assert_int_equal(h->n_explicit_bounds, 2);
    assert_int_equal(h->exemplars[0]->trace_id.len, 16);
    assert_int_equal(h->exemplars[0]->span_id.data[0], 0xee);
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *h2 =
        mt[2]->histogram->data_points[1];
    assert_int_equal(
        h2->_sum_case,
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM__NOT_SET);
    assert_int_equal(
        h2->_min_case,
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___MIN__NOT_SET);

    Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint *e =
        mt[3]->exponential_histogram->data_points[0];
    assert_int_equal(e->scale, -3);
    assert_int_equal(e->zero_count, 1);
    assert_true(e->zero_threshold == 1e-9);
    assert_int_equal(e->positive->offset, -2);
    assert_int_equal(e->positive->n_bucket_counts, 2);
    assert_int_equal(e->negative->bucket_counts[0], 3);
    assert_int_equal(
        e->_sum_case,
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___SUM_SUM);
    assert_int_equal(
        e->_min_case,
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___MIN__NOT_SET);
    assert_int_equal(
        e->_max_case,
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___MAX_MAX);

    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint *s =
        mt[4]->summary->data_points[0];
    assert_int_equal(s->count, 4);
    assert_true(s->sum == 8.0);
    assert_int_equal(s->n_quantile_values, 2);
    assert_true(s->quantile_values[1]->value == 4.0);

    char *out = enc(m);
    /* `_sum` oneofs come out as plain "sum", present even at zero. */
    assert_non_null(strstr(out, "\"count\":\"3\",\"sum\":0.0,"));
    assert_null(strstr(out, "_sum"));
    assert_non_null(
        strstr(out, "{\"timeUnixNano\":\"4\"}")); /* count 0 omitted, no sum */
    assert_non_null(strstr(out, "\"bucketCounts\":[\"1\",\"2\",\"0\"]"));
    assert_non_null(strstr(out, "\"aggregationTemporality\":2,\"isMonotonic\":true"));
    assert_non_null(strstr(out, "\"scale\":-3"));
    assert_non_null(
        strstr(out, "\"positive\":{\"offset\":-2,\"bucketCounts\":[\"1\",\"2\"]}"));
    assert_non_null(strstr(out, "\"asInt\":\"12345678901234\""));
    assert_non_null(strstr(out, "\"traceId\":\"5b8efff798038103d269b633813fc60c\""));
    free(out);
}

/* ---- ids, enums, names ------------------------------------------------------- */

static void test_hex_ids(void **state)
{
    (void)state;
    ProtobufCMessage *m = dec(
        TG_SIGNAL_TRACES,
        wrap_span(
            "{'traceId':'5B8EFFF798038103D269B633813FC60C','spanId':'EEE19B7EC3C1B174',"
            "'parentSpanId':'','links':[{'traceId':'00000000000000000000000000000001','"
            "spanId':'0102030405060708'}]}"));
    assert_non_null(m);
    span_t *s = first_span(m);
    assert_int_equal(s->trace_id.len, 16);
    assert_memory_equal(
        s->trace_id.data,
        "\x5b\x8e\xff\xf7\x98\x03\x81\x03\xd2\x69\xb6\x33\x81\x3f\xc6\x0c", 16);
    assert_int_equal(s->span_id.len, 8);
    assert_int_equal(s->parent_span_id.len, 0);
    assert_int_equal(s->links[0]->span_id.data[7], 8);
    char *out = enc(m);
    assert_non_null(strstr(out, "\"traceId\":\"5b8efff798038103d269b633813fc60c\","
                                "\"spanId\":\"eee19b7ec3c1b174\""));
    assert_null(strstr(out, "parentSpanId")); /* empty bytes are the default */
    free(out);

    const char *e = dec_err(TG_SIGNAL_TRACES,
                            wrap_span("{'traceId':'5b8efff798038103d269b633813fc6'}"));
    assert_non_null(strstr(e, "traceId: expected 32 hex digits"));
    e = dec_err(TG_SIGNAL_TRACES, wrap_span("{'spanId':'eee19b7ec3c1b17g'}"));
    assert_non_null(strstr(e, "spanId: expected 16 hex digits"));
    e = dec_err(TG_SIGNAL_TRACES, wrap_span("{'links':[{},{'traceId':'abc'}]}"));
    assert_non_null(
        strstr(e, "resourceSpans[0].scopeSpans[0].spans[0].links[1].traceId"));
    e = dec_err(TG_SIGNAL_LOGS,
                Q("{'resourceLogs':[{'scopeLogs':[{'logRecords':[{'spanId':12}]}]}]}"));
    assert_non_null(strstr(e, "logRecords[0].spanId: expected a string"));
}

static void test_enums(void **state)
{
    (void)state;
    ProtobufCMessage *m =
        dec(TG_SIGNAL_TRACES, wrap_span("{'kind':'SPAN_KIND_SERVER','status':{'code':'"
                                        "STATUS_CODE_ERROR','message':'boom'}}"));
    assert_non_null(m);
    span_t *s = first_span(m);
    assert_int_equal(s->kind, 2);
    assert_int_equal(s->status->code, 2);
    char *out = enc(m);
    assert_non_null(strstr(out, "\"kind\":2"));
    assert_non_null(strstr(out, "\"status\":{\"message\":\"boom\",\"code\":2}"));
    free(out);

    m = dec(TG_SIGNAL_TRACES, wrap_span("{'kind':3}"));
    assert_int_equal(first_span(m)->kind, 3);
    m = dec(TG_SIGNAL_TRACES, wrap_span("{'kind':'4'}"));
    assert_int_equal(first_span(m)->kind, 4);
    m = dec(TG_SIGNAL_LOGS, Q("{'resourceLogs':[{'scopeLogs':[{'logRecords':[{'"
                              "severityNumber':'SEVERITY_NUMBER_WARN'}]}]}]}"));
    assert_non_null(m);
    assert_int_equal(((tg_otlp_logs_req *)m)
                         ->resource_logs[0]
                         ->scope_logs[0]
                         ->log_records[0]
                         ->severity_number,
                     13);

    const char *e = dec_err(TG_SIGNAL_TRACES, wrap_span("{'kind':'SPAN_KIND_SERVERX'}"));
    assert_non_null(strstr(e, "kind: unknown SpanKind value"));
    e = dec_err(TG_SIGNAL_TRACES, wrap_span("{'kind':true}"));
    assert_non_null(strstr(e, "kind: expected an integer"));
}

static void test_snake_case_names(void **state)
{
    (void)state;
    ProtobufCMessage *m = dec(
        TG_SIGNAL_TRACES,
        Q("{'resource_spans':[{'scope_spans':[{'spans':[{'trace_id':'"
          "5b8efff798038103d269b633813fc60c',"
          "'span_id':'eee19b7ec3c1b174','parent_span_id':'0102030405060708','start_time_"
          "unix_nano':'7',"
          "'end_time_unix_nano':9,'dropped_attributes_count':2}]}],'schema_url':'u'}]}"));
    assert_non_null(m);
    span_t *s = first_span(m);
    assert_int_equal(s->trace_id.len, 16);
    assert_int_equal(s->parent_span_id.len, 8);
    assert_int_equal(s->start_time_unix_nano, 7);
    assert_int_equal(s->end_time_unix_nano, 9);
    assert_int_equal(s->dropped_attributes_count, 2);
    assert_string_equal(((tg_otlp_traces_req *)m)->resource_spans[0]->schema_url, "u");
    char *out = enc(m);
    assert_non_null(strstr(out, "\"droppedAttributesCount\":2"));
    assert_non_null(strstr(out, "\"schemaUrl\":\"u\""));
    free(out);
}

static void test_unknown_and_null(void **state)
{
    (void)state;
    ProtobufCMessage *m =
        dec(TG_SIGNAL_TRACES,
            wrap_span("{'name':'n','futureField':{'deep':[1,2,{'x':null}]},'kind':null,'"
                      "attributes':null,"
                      "'status':null,'TraceId':'not checked: not our field name'}"));
    assert_non_null(m);
    span_t *s = first_span(m);
    assert_string_equal(s->name, "n");
    assert_int_equal(s->kind, 0);
    assert_int_equal(s->n_attributes, 0);
    assert_null(s->status);

    const char *e = dec_err(TG_SIGNAL_TRACES, wrap_span("{'attributes':[null]}"));
    assert_non_null(strstr(e, "attributes[0]: expected an object"));
    e = dec_err(TG_SIGNAL_TRACES, wrap_span("{'attributes':{}}"));
    assert_non_null(strstr(e, "attributes: expected an array"));
}

/* ---- numbers ------------------------------------------------------------------- */

static void test_integer_forms(void **state)
{
    (void)state;
    ProtobufCMessage *m =
        dec(TG_SIGNAL_TRACES,
            wrap_span("{'startTimeUnixNano':'18446744073709551615','endTimeUnixNano':5.0,"
                      "'droppedAttributesCount':'4294967295',"
                      "'flags':256}"));
    assert_non_null(m);
    span_t *s = first_span(m);
    assert_true(s->start_time_unix_nano == UINT64_MAX);
    assert_int_equal(s->end_time_unix_nano, 5);
    assert_int_equal(s->dropped_attributes_count, UINT32_MAX);
    assert_int_equal(s->flags, 256);
    char *out = enc(m);
    assert_non_null(strstr(out, "\"startTimeUnixNano\":\"18446744073709551615\""));
    assert_non_null(strstr(out, "\"flags\":256"));
    assert_non_null(strstr(out, "\"droppedAttributesCount\":4294967295"));
    free(out);

    static const char *bad[] = {
        "{'startTimeUnixNano':'18446744073709551616'}", /* > uint64 */
        "{'startTimeUnixNano':'-1'}",
        "{'startTimeUnixNano':-1}",
        "{'startTimeUnixNano':' 5'}",
        "{'startTimeUnixNano':'0x10'}",
        "{'startTimeUnixNano':'5e3'}",
        "{'startTimeUnixNano':5.5}",
        "{'startTimeUnixNano':''}",
        "{'droppedAttributesCount':4294967296}",
        "{'droppedAttributesCount':'-3'}",
        "{'attributes':[{'key':'a','value':{'intValue':'9223372036854775808'}}]}",
        "{'attributes':[{'key':'a','value':{'intValue':1.25}}]}",
        "{'attributes':[{'key':'a','value':{'doubleValue':'inf'}}]}",
        "{'attributes':[{'key':'a','value':{'doubleValue':'0x1p3'}}]}",
        "{'attributes':[{'key':'a','value':{'doubleValue':true}}]}",
        "{'attributes':[{'key':'a','value':{'boolValue':'true'}}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ProtobufCMessage *b = dec(TG_SIGNAL_TRACES, wrap_span(bad[i]));
        if (b)
            fail_msg("accepted %s", bad[i]);
        assert_true(strncmp(err, "line 1, column ", 15) == 0);
    }
    m = dec(TG_SIGNAL_TRACES,
            wrap_span(
                "{'attributes':[{'key':'a','value':{'intValue':'-9223372036854775808'}},"
                "{'key':'b','value':{'doubleValue':'Infinity'}},"
                "{'key':'c','value':{'doubleValue':'-2.5e-3'}}]}"));
    assert_non_null(m);
    s = first_span(m);
    assert_true(s->attributes[0]->value->int_value == INT64_MIN);
    assert_true(isinf(s->attributes[1]->value->double_value));
    assert_true(s->attributes[2]->value->double_value == -2.5e-3);
}

/* ---- errors -------------------------------------------------------------------- */

static void test_syntax_errors(void **state)
{
    (void)state;
    const char *e =
        dec_err(TG_SIGNAL_TRACES, Q("{'resourceSpans':[{'schemaUrl':'secret-tok"));
    assert_string_equal(e, "line 1, column 42: premature end of input");

    e = dec_err(TG_SIGNAL_TRACES, Q("{'resourceSpans':\n  [{'schemaUrl': secret}]}"));
    assert_true(strncmp(e, "line 2, column ", 15) == 0);
    assert_non_null(strstr(e, "invalid token"));
    assert_null(strstr(e, "secret"));

    e = dec_err(TG_SIGNAL_TRACES, Q("{'resourceSpans':[{}]} trailing"));
    assert_null(strstr(e, "trailing"));
    assert_non_null(strstr(e, "end of file expected"));

    e = dec_err(TG_SIGNAL_TRACES, "");
    assert_true(strncmp(e, "line 1, column 0:", 17) == 0);

    e = dec_err(TG_SIGNAL_TRACES, "[1]");
    assert_string_equal(e, "line 1, column 1: expected an object");

    /* Invalid UTF-8 in the text, and a NUL escape. */
    e = dec_err(TG_SIGNAL_TRACES, Q("{'resourceSpans':[{'schemaUrl':'ab\xc3('}]}"));
    assert_true(strncmp(e, "line 1, column ", 15) == 0);
    e = dec_err(TG_SIGNAL_TRACES, Q("{'resourceSpans':[{'schemaUrl':'a\\u0000b'}]}"));
    assert_true(strncmp(e, "line 1, column ", 15) == 0);
}

static void test_type_error_position(void **state)
{
    (void)state;
    const char *doc =
        Q("{\n"
          "  'resourceSpans': [\n"
          "    {\n"
          "      'scopeSpans': [\n"
          "        { 'spans': [ { 'traceId': 'zz5B8EFFF798038103D269B633813FC6', "
          "'spanId': 'eee19b7ec3c1b174' } ] }\n"
          "      ]\n"
          "    }\n"
          "  ]\n"
          "}\n");
    const char *e = dec_err(TG_SIGNAL_TRACES, doc);
    assert_string_equal(
        e, "line 5, column 35: resourceSpans[0].scopeSpans[0].spans[0].traceId: "
           "expected 32 hex digits");

    /* Duplicate keys: the last one is the value in effect, and reported. */
    doc = Q("{'resourceSpans':[{'scopeSpans':[{'spans':[{'name':'ok',\n'name':7}]}]}]}");
    e = dec_err(TG_SIGNAL_TRACES, doc);
    assert_string_equal(e,
                        "line 2, column 8: resourceSpans[0].scopeSpans[0].spans[0].name: "
                        "expected a string");

    /* Escaped key and UTF-8 before the value: columns count characters. */
    doc = Q("{'resourceSpans':[{'schemaUrl':'\xc3\xa9\xc3\xa9','scope\\u0053pans':[{'"
            "spans':[{'kind':{}}]}]}]}");
    e = dec_err(TG_SIGNAL_TRACES, doc);
    assert_string_equal(
        e, "line 1, column 74: resourceSpans[0].scopeSpans[0].spans[0].kind: expected an "
           "integer");

    /* The value itself is never quoted. */
    e = dec_err(
        TG_SIGNAL_TRACES,
        wrap_span("{'attributes':[{'key':'a','value':{'intValue':'secret123'}}]}"));
    assert_null(strstr(e, "secret"));
    assert_non_null(strstr(e, "attributes[0].value.intValue: expected an integer"));
}

static void test_depth_limit(void **state)
{
    (void)state;
    char *doc = malloc(64 * 1024);
    size_t o = 0;
    o += (size_t)snprintf(
        doc + o, 1024, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":");
    for (int i = 0; i < 150; i++)
        o += (size_t)snprintf(doc + o, 64, "{\"arrayValue\":{\"values\":[");
    o += (size_t)snprintf(doc + o, 64, "{\"intValue\":1}");
    for (int i = 0; i < 150; i++)
        o += (size_t)snprintf(doc + o, 64, "]}}");
    o += (size_t)snprintf(doc + o, 64, "}]}]}]}");
    ProtobufCMessage *m = dec(TG_SIGNAL_LOGS, doc);
    free(doc);
    assert_null(m);
    assert_non_null(strstr(err, "nested deeper than 100 levels"));
}

static void test_arena_limit_json(void **state)
{
    tg_arena small;
    ProtobufCMessage *out;
    char e[256];
    (void)state;

    tg_arena_init(&small, 1024, 2048);
    const char *doc = Q(ANY_DOC);
    assert_null(tg_otlp_json_decode(tg_otlp_request_descriptor(TG_SIGNAL_LOGS), doc,
                                    strlen(doc), &small, e, sizeof(e)));
    assert_non_null(strstr(e, "limit"));
    tg_arena_destroy(&small);

    /* Through tg_otlp_decode the same failure is TG_ETOO_BIG. */
    tg_otlp_request req;
    tg_arena_init(&small, 1024, 2048);
    assert_int_equal(tg_otlp_decode(TG_SIGNAL_LOGS, TG_ENC_JSON, (const uint8_t *)doc,
                                    strlen(doc), &small, &req, e, sizeof(e)),
                     TG_ETOO_BIG);
    tg_arena_destroy(&small);
    (void)out;
}

/* ---- round trips ---------------------------------------------------------------- */

static const char *TRACE_DOC =
    "{'resourceSpans':[{'resource':{'attributes':[{'key':'service.name','value':{'"
    "stringValue':'cart'}},"
    "{'key':'pi','value':{'doubleValue':3.141592653589793}}],'droppedAttributesCount':1},"
    "'scopeSpans':[{'scope':{'name':'lib','attributes':[{'key':'k','value':{'boolValue':"
    "false}}]},"
    "'spans':[{'traceId':'5B8EFFF798038103D269B633813FC60C','spanId':'EEE19B7EC3C1B174',"
    "'parentSpanId':'0102030405060708','traceState':'a=b','flags':769,'name':'GET "
    "/x','kind':'SPAN_KIND_CLIENT',"
    "'startTimeUnixNano':1544712660000000000,'endTimeUnixNano':'1544712661000000000',"
    "'attributes':[{'key':'s','value':{'stringValue':''}},{'key':'d','value':{'"
    "doubleValue':0.1}},"
    "{'key':'neg','value':{'doubleValue':-0.0}},{'key':'by','value':{'bytesValue':'3q2+"
    "7w=='}}],"
    "'events':[{'timeUnixNano':'1544712660500000000','name':'ev','attributes':[{'key':'n'"
    ",'value':{'intValue':'-1'}}]}],"
    "'links':[{'traceId':'5b8efff798038103d269b633813fc60d','spanId':'eee19b7ec3c1b175','"
    "flags':1}],"
    "'status':{'code':2,'message':'failed'}},{'traceId':'"
    "5b8efff798038103d269b633813fc60c',"
    "'spanId':'eee19b7ec3c1b176','status':{}}]}],'schemaUrl':'https://opentelemetry.io/"
    "schemas/1.21.0'}]}";

static void test_round_trip_stable(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *d = tg_otlp_request_descriptor(TG_SIGNAL_TRACES);
    ProtobufCMessage *m1 = dec(TG_SIGNAL_TRACES, Q(TRACE_DOC));
    assert_non_null(m1);
    char *j1 = enc(m1);

    /* JSON -> message -> JSON is a fixed point. */
    ProtobufCMessage *m2 = tg_otlp_json_decode(d, j1, strlen(j1), &A, err, sizeof(err));
    assert_non_null(m2);
    char *j2 = enc(m2);
    assert_string_equal(j1, j2);

    /* message -> protobuf -> message -> JSON is the same JSON. */
    size_t len = protobuf_c_message_get_packed_size(m1);
    uint8_t *buf = tg_arena_alloc(&A, len);
    protobuf_c_message_pack(m1, buf);
    ProtobufCMessage *m3 = protobuf_c_message_unpack(d, &A.pb, len, buf);
    assert_non_null(m3);
    char *j3 = enc(m3);
    assert_string_equal(j1, j3);

    /* The OTLP/JSON spelling of what came in. */
    assert_non_null(strstr(j1, "\"traceId\":\"5b8efff798038103d269b633813fc60c\""));
    assert_non_null(strstr(j1, "\"startTimeUnixNano\":\"1544712660000000000\""));
    assert_non_null(strstr(j1, "\"kind\":3"));
    assert_non_null(strstr(j1, "\"flags\":769"));
    assert_non_null(strstr(j1, "{\"key\":\"s\",\"value\":{\"stringValue\":\"\"}}"));
    assert_non_null(strstr(j1, "\"doubleValue\":-0.0"));
    assert_non_null(strstr(j1, "\"bytesValue\":\"3q2+7w==\""));
    assert_non_null(strstr(j1, "\"status\":{}"));
    assert_non_null(strstr(j1, "\"resource\":{\"attributes\":"));
    assert_null(strstr(j1, "droppedEventsCount")); /* zero: omitted */
    assert_null(strstr(j1, "SPAN_KIND"));
    free(j1);
    free(j2);
    free(j3);
}

static void test_other_descriptors(void **state)
{
    (void)state;
    /* `tollgate rules test` reads TracesData/LogsData/MetricsData files. */
    const char *doc =
        Q("{'resourceLogs':[{'scopeLogs':[{'logRecords':[{'body':{'stringValue':'x'},"
          "'traceId':'5b8efff798038103d269b633813fc60c','eventName':'login'}]}]}]}");
    ProtobufCMessage *m =
        tg_otlp_json_decode(&opentelemetry__proto__logs__v1__logs_data__descriptor, doc,
                            strlen(doc), &A, err, sizeof(err));
    assert_non_null(m);
    Opentelemetry__Proto__Logs__V1__LogsData *ld =
        (Opentelemetry__Proto__Logs__V1__LogsData *)m;
    assert_string_equal(ld->resource_logs[0]->scope_logs[0]->log_records[0]->event_name,
                        "login");

    json_t *j = tg_otlp_json_from_message(m);
    assert_non_null(j);
    json_t *lr = json_array_get(
        json_object_get(
            json_array_get(
                json_object_get(json_array_get(json_object_get(j, "resourceLogs"), 0),
                                "scopeLogs"),
                0),
            "logRecords"),
        0);
    assert_string_equal(json_string_value(json_object_get(lr, "traceId")),
                        "5b8efff798038103d269b633813fc60c");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(lr, "body"), "stringValue")),
        "x");
    json_decref(j);
}

static void test_encode_invalid_utf8_in_memory(void **state)
{
    (void)state;
    /* A message built in memory (not decoded) with a bad string still
     * yields valid JSON. */
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    st.code = 3;
    st.message = (char *)"a\xff"
                         "b";
    char *out = enc(&st.base);
    assert_string_equal(out, "{\"code\":3,\"message\":\"a\xef\xbf\xbd"
                             "b\"}");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_anyvalue_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_base64_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metric_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hex_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enums, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snake_case_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integer_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_error_position, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arena_limit_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_descriptors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_invalid_utf8_in_memory, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
