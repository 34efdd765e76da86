/* What a walk over OTLP needs to know about its shape, by descriptor.
 *
 * Classification and views walk messages through protobuf-c's descriptors
 * rather than by hand, so every string field of every message is a place
 * (span names, event names, status messages, metric names and descriptions,
 * entity keys, schema URLs, fields added by a newer OTLP) without a list to
 * keep in sync. Only the structure that carries meaning is named here:
 * which messages are records, which are containers, where the resource is. */
#include "tg_otlp_walk.h"

#include "tg_otlp.h"
#include "tg_otlp_int.h"

#include "opentelemetry/proto/logs/v1/logs.pb-c.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb-c.h"
#include "opentelemetry/proto/trace/v1/trace.pb-c.h"

int tg_otlp_node_kind(const ProtobufCMessageDescriptor *d)
{
    if (d == &opentelemetry__proto__resource__v1__resource__descriptor)
        return TG_OTLP_NODE_RESOURCE;
    if (d == &opentelemetry__proto__common__v1__instrumentation_scope__descriptor)
        return TG_OTLP_NODE_SCOPE;
    if (d == &opentelemetry__proto__trace__v1__span__descriptor)
        return TG_OTLP_NODE_SPAN;
    if (d == &opentelemetry__proto__logs__v1__log_record__descriptor)
        return TG_OTLP_NODE_LOG;
    if (d == &opentelemetry__proto__metrics__v1__metric__descriptor)
        return TG_OTLP_NODE_METRIC;
    if (d == &opentelemetry__proto__metrics__v1__number_data_point__descriptor ||
        d == &opentelemetry__proto__metrics__v1__histogram_data_point__descriptor ||
        d ==
            &opentelemetry__proto__metrics__v1__exponential_histogram_data_point__descriptor ||
        d == &opentelemetry__proto__metrics__v1__summary_data_point__descriptor)
        return TG_OTLP_NODE_POINT;
    return TG_OTLP_NODE_NONE;
}

int tg_otlp_is_request(const ProtobufCMessageDescriptor *d)
{
    return d ==
               &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor ||
           d ==
               &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor ||
           d ==
               &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor ||
           d == &opentelemetry__proto__trace__v1__traces_data__descriptor ||
           d == &opentelemetry__proto__logs__v1__logs_data__descriptor ||
           d == &opentelemetry__proto__metrics__v1__metrics_data__descriptor;
}

int tg_otlp_is_kv(const ProtobufCMessageDescriptor *d)
{
    return d == &opentelemetry__proto__common__v1__key_value__descriptor;
}

int tg_otlp_is_anyvalue(const ProtobufCMessageDescriptor *d)
{
    return d == &opentelemetry__proto__common__v1__any_value__descriptor;
}

int tg_otlp_is_body(const ProtobufCMessageDescriptor *parent,
                    const ProtobufCFieldDescriptor *f)
{
    return parent == &opentelemetry__proto__logs__v1__log_record__descriptor &&
           f->id == 5;
}

const ProtobufCMessage *tg_otlp_resource_of(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    if (d == &opentelemetry__proto__trace__v1__resource_spans__descriptor)
        return (const ProtobufCMessage
                    *)((const Opentelemetry__Proto__Trace__V1__ResourceSpans *)m)
            ->resource;
    if (d == &opentelemetry__proto__logs__v1__resource_logs__descriptor)
        return (const ProtobufCMessage
                    *)((const Opentelemetry__Proto__Logs__V1__ResourceLogs *)m)
            ->resource;
    if (d == &opentelemetry__proto__metrics__v1__resource_metrics__descriptor)
        return (const ProtobufCMessage
                    *)((const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *)m)
            ->resource;
    return NULL;
}

int tg_otlp_is_resource_container(const ProtobufCMessageDescriptor *d)
{
    return d == &opentelemetry__proto__trace__v1__resource_spans__descriptor ||
           d == &opentelemetry__proto__logs__v1__resource_logs__descriptor ||
           d == &opentelemetry__proto__metrics__v1__resource_metrics__descriptor;
}

/* Containers whose only purpose is to hold records: when withholding empties
 * them, they go too. */
int tg_otlp_is_container(const ProtobufCMessageDescriptor *d)
{
    return d == &opentelemetry__proto__trace__v1__resource_spans__descriptor ||
           d == &opentelemetry__proto__trace__v1__scope_spans__descriptor ||
           d == &opentelemetry__proto__logs__v1__resource_logs__descriptor ||
           d == &opentelemetry__proto__logs__v1__scope_logs__descriptor ||
           d == &opentelemetry__proto__metrics__v1__resource_metrics__descriptor ||
           d == &opentelemetry__proto__metrics__v1__scope_metrics__descriptor ||
           d == &opentelemetry__proto__metrics__v1__gauge__descriptor ||
           d == &opentelemetry__proto__metrics__v1__sum__descriptor ||
           d == &opentelemetry__proto__metrics__v1__histogram__descriptor ||
           d == &opentelemetry__proto__metrics__v1__exponential_histogram__descriptor ||
           d == &opentelemetry__proto__metrics__v1__summary__descriptor;
}

int tg_otlp_field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t which = *(const uint32_t *)((const char *)m + f->quantifier_offset);
        return which == f->id;
    }
    return 1;
}

const char *tg_otlp_json_name(const ProtobufCFieldDescriptor *f, char *buf, size_t len)
{
    return tg_otlp__json_name(f->name, buf, len);
}
