/* Internal to the OTLP codec (tg_otlp*.c); not part of the public API. */
#ifndef TG_OTLP_INT_H
#define TG_OTLP_INT_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_arena.h"

/* Deepest message nesting accepted from a client, request message = 0.
 * protobuf-c's unpacker recurses without a bound, and everything after it
 * (rules, JSON output) recurses over AnyValue too, so both decoders refuse
 * deeper input instead of trusting the stack. 100 is what the reference
 * protobuf runtimes use. */
#define TG_OTLP_MAX_DEPTH 100

/* The OTLP/JSON name of a proto field: snake_case to lowerCamelCase.
 * Writes a NUL-terminated name into buf (truncated to len-1) and returns
 * buf. */
const char *tg_otlp__json_name(const char *proto_name, char *buf, size_t len);

/* 1 when the bytes field `f` is one of OTLP's ids that JSON spells in hex
 * (trace_id, span_id, parent_span_id); its decoded length goes to *len. */
int tg_otlp__is_hex_id(const ProtobufCFieldDescriptor *f, size_t *len);

/* The field of `d` numbered `id`, or NULL. Fields are sorted by number and
 * OTLP numbers them densely, so this is usually one comparison. */
/* tg_otlp_json_decode() with the failure's kind: TG_EPARSE (bad input,
 * message in err), TG_ETOO_BIG (the arena's limit was hit) or TG_ENOMEM. */
int tg_otlp__json_decode(const ProtobufCMessageDescriptor *desc, const char *json,
                         size_t len, tg_arena *arena, ProtobufCMessage **out, char *err,
                         size_t errlen);

static inline const ProtobufCFieldDescriptor *
tg_otlp__field(const ProtobufCMessageDescriptor *d, uint32_t id)
{
    if (id - 1u < d->n_fields && d->fields[id - 1].id == id)
        return &d->fields[id - 1];
    return protobuf_c_message_descriptor_get_field(d, id);
}

#endif
