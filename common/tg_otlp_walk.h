/* OTLP's shape, by protobuf-c descriptor: what a walk over a request needs
 * to know (which messages are records, which are containers, where the
 * resource is). The rules engine's classification and views walk every
 * message this way rather than by hand (see tg_otlp_walk.c). */
#ifndef TG_OTLP_WALK_H
#define TG_OTLP_WALK_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

enum tg_otlp_node_kind {
    TG_OTLP_NODE_NONE = 0,
    TG_OTLP_NODE_RESOURCE,
    TG_OTLP_NODE_SCOPE,
    TG_OTLP_NODE_SPAN,
    TG_OTLP_NODE_LOG,
    TG_OTLP_NODE_METRIC,
    TG_OTLP_NODE_POINT,
};

/* What a message of type d is to a walk (enum tg_otlp_node_kind). */
int tg_otlp_node_kind(const ProtobufCMessageDescriptor *d);
/* An Export*ServiceRequest or a *Data message: where a walk starts. */
int tg_otlp_is_request(const ProtobufCMessageDescriptor *d);
int tg_otlp_is_kv(const ProtobufCMessageDescriptor *d);
int tg_otlp_is_anyvalue(const ProtobufCMessageDescriptor *d);
/* Is field f of `parent` a log record's body? */
int tg_otlp_is_body(const ProtobufCMessageDescriptor *parent,
                    const ProtobufCFieldDescriptor *f);
int tg_otlp_is_resource_container(const ProtobufCMessageDescriptor *d);
/* The Resource of a ResourceSpans/Logs/Metrics (NULL if none or not one). */
const ProtobufCMessage *tg_otlp_resource_of(const ProtobufCMessage *m);
/* Containers whose only purpose is to hold records (Resource*, Scope*,
 * the metric kinds): when withholding empties one, it goes too. */
int tg_otlp_is_container(const ProtobufCMessageDescriptor *d);
/* Is field f of message m present (oneof case matches)? */
int tg_otlp_field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f);
/* The OTLP/JSON (lowerCamelCase) name of field f in buf (truncated to
 * len - 1), returned; for explain paths. */
const char *tg_otlp_json_name(const ProtobufCFieldDescriptor *f, char *buf, size_t len);

#endif
