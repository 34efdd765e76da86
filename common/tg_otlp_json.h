/* OTLP/JSON <-> protobuf-c messages, driven by protobuf-c descriptors so
 * one codec serves every OTLP message type.
 *
 * The mapping is OTLP's: lowerCamelCase field names (snake_case accepted on
 * input), trace_id / span_id / parent_span_id as hex (other bytes base64),
 * enums as numbers (names accepted on input), 64-bit integers as decimal
 * strings (numbers accepted on input), default values omitted on output,
 * unknown fields ignored on input. */
#ifndef TG_OTLP_JSON_H
#define TG_OTLP_JSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "tg_arena.h"

/* Parse `json` into a message of type `desc` allocated in `arena`.
 * Returns NULL and writes "line L, column C: reason" into err on failure
 * (bad JSON, invalid UTF-8, wrong type, bad hex id). */
ProtobufCMessage *tg_otlp_json_decode(const ProtobufCMessageDescriptor *desc,
                                      const char *json, size_t len, tg_arena *arena,
                                      char *err, size_t errlen);

/* A new jansson object for `msg` (caller json_decref()s it). */
json_t *tg_otlp_json_from_message(const ProtobufCMessage *msg);

/* `msg` as compact JSON text, malloc'd, NUL-terminated; NULL on OOM. */
char *tg_otlp_json_encode(const ProtobufCMessage *msg, size_t *len);

#endif
