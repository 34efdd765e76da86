/* tg_otlp_walk: OTLP's shape by descriptor, as the rules engine's walk
 * reads it, and the JSON field names its explain paths print (the same
 * spelling the OTLP/JSON codec writes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tg_otlp.h"
#include "tg_otlp_walk.h"

static const ProtobufCFieldDescriptor *field(const ProtobufCMessageDescriptor *d,
                                             const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(d, name);
    assert_non_null(f);
    return f;
}

static void test_node_kinds(void **state)
{
    (void)state;
    assert_int_equal(
        tg_otlp_node_kind(&opentelemetry__proto__resource__v1__resource__descriptor),
        TG_OTLP_NODE_RESOURCE);
    assert_int_equal(
        tg_otlp_node_kind(
            &opentelemetry__proto__common__v1__instrumentation_scope__descriptor),
        TG_OTLP_NODE_SCOPE);
    assert_int_equal(
        tg_otlp_node_kind(&opentelemetry__proto__trace__v1__span__descriptor),
        TG_OTLP_NODE_SPAN);
    assert_int_equal(
        tg_otlp_node_kind(&opentelemetry__proto__logs__v1__log_record__descriptor),
        TG_OTLP_NODE_LOG);
    assert_int_equal(
        tg_otlp_node_kind(&opentelemetry__proto__metrics__v1__metric__descriptor),
        TG_OTLP_NODE_METRIC);
    assert_int_equal(
        tg_otlp_node_kind(
            &opentelemetry__proto__metrics__v1__histogram_data_point__descriptor),
        TG_OTLP_NODE_POINT);
    assert_int_equal(
        tg_otlp_node_kind(&opentelemetry__proto__common__v1__key_value__descriptor),
        TG_OTLP_NODE_NONE);
}

static void test_shapes(void **state)
{
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    Opentelemetry__Proto__Resource__V1__Resource res =
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    Opentelemetry__Proto__Common__V1__AnyValue av =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;

    (void)state;
    assert_true(tg_otlp_is_request(
        &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor));
    assert_true(
        tg_otlp_is_request(&opentelemetry__proto__logs__v1__logs_data__descriptor));
    assert_false(tg_otlp_is_request(&opentelemetry__proto__trace__v1__span__descriptor));
    assert_true(tg_otlp_is_kv(&opentelemetry__proto__common__v1__key_value__descriptor));
    assert_true(
        tg_otlp_is_anyvalue(&opentelemetry__proto__common__v1__any_value__descriptor));
    assert_true(tg_otlp_is_body(
        &opentelemetry__proto__logs__v1__log_record__descriptor,
        field(&opentelemetry__proto__logs__v1__log_record__descriptor, "body")));
    assert_false(tg_otlp_is_body(
        &opentelemetry__proto__logs__v1__log_record__descriptor,
        field(&opentelemetry__proto__logs__v1__log_record__descriptor, "attributes")));
    assert_true(
        tg_otlp_is_container(&opentelemetry__proto__metrics__v1__sum__descriptor));
    assert_true(
        tg_otlp_is_container(&opentelemetry__proto__trace__v1__scope_spans__descriptor));
    assert_false(
        tg_otlp_is_container(&opentelemetry__proto__trace__v1__span__descriptor));
    assert_true(tg_otlp_is_resource_container(
        &opentelemetry__proto__logs__v1__resource_logs__descriptor));
    assert_null(tg_otlp_resource_of(&rs.base));
    rs.resource = &res;
    assert_ptr_equal(tg_otlp_resource_of(&rs.base), &res.base);
    assert_null(tg_otlp_resource_of(&res.base));

    /* a oneof member is present only when it is the case set */
    av.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    assert_true(tg_otlp_field_present(
        &av.base,
        field(&opentelemetry__proto__common__v1__any_value__descriptor, "string_value")));
    assert_false(tg_otlp_field_present(
        &av.base,
        field(&opentelemetry__proto__common__v1__any_value__descriptor, "int_value")));
    assert_true(tg_otlp_field_present(
        &rs.base, field(&opentelemetry__proto__trace__v1__resource_spans__descriptor,
                        "schema_url")));
}

static void test_json_name(void **state)
{
    char buf[32];

    (void)state;
    assert_string_equal(
        tg_otlp_json_name(field(&opentelemetry__proto__trace__v1__span__descriptor,
                                "start_time_unix_nano"),
                          buf, sizeof(buf)),
        "startTimeUnixNano");
    assert_string_equal(
        tg_otlp_json_name(
            field(&opentelemetry__proto__trace__v1__span__descriptor, "name"), buf,
            sizeof(buf)),
        "name");
    assert_string_equal(
        tg_otlp_json_name(
            field(&opentelemetry__proto__trace__v1__span__descriptor, "parent_span_id"),
            buf, 7),
        "parent"); /* truncated to fit, NUL included */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_kinds),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_json_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
