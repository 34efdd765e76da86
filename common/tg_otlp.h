/* The OTLP model as tollgate's receivers, store and API see it.
 *
 * A receiver hands tg_otlp_decode() a decompressed request body; it gets
 * back a validated protobuf-c message allocated in the caller's arena.
 * Validation removes items the store cannot index (a span whose trace id is
 * not 16 bytes, say) and counts them so the response can carry OTLP's
 * partial_success. Malformed bodies (bad protobuf, bad JSON, invalid UTF-8
 * in a string field) fail the whole request with a message that names the
 * problem and never quotes a telemetry value. */
#ifndef TG_OTLP_H
#define TG_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "tg_arena.h"
#include "tg_utf8.h" /* every string of the model is checked with it */

#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
    tg_otlp_traces_req;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest
    tg_otlp_logs_req;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest
    tg_otlp_metrics_req;
typedef Opentelemetry__Proto__Common__V1__KeyValue tg_otlp_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue tg_otlp_any;

enum tg_signal { TG_SIGNAL_TRACES = 0, TG_SIGNAL_LOGS = 1, TG_SIGNAL_METRICS = 2 };
#define TG_SIGNAL_COUNT 3

enum tg_encoding { TG_ENC_PROTOBUF = 0, TG_ENC_JSON = 1 };

/* A pointer+length view; not NUL-terminated unless stated. */
typedef struct tg_slice {
    const char *ptr;
    size_t len;
} tg_slice;

/* "traces", "logs", "metrics". */
const char *tg_signal_name(enum tg_signal sig);

/* The request message descriptor of `sig`'s Export call. */
const ProtobufCMessageDescriptor *tg_otlp_request_descriptor(enum tg_signal sig);

typedef struct tg_otlp_request {
    enum tg_signal signal;
    ProtobufCMessage *msg; /* Export*ServiceRequest, owned by the arena */
    uint64_t items;        /* spans, log records or data points kept */
    uint64_t rejected;     /* items removed by validation */
    int modified;          /* 1 when validation removed items: re-encode */
    char reject_msg[256];  /* partial_success.error_message if rejected */
} tg_otlp_request;

/* Decode and validate `body`. On failure returns TG_EPARSE, TG_EUTF8 or
 * TG_ETOO_BIG (the arena's limit was hit) and writes a message for the
 * client into errmsg. */
int tg_otlp_decode(enum tg_signal sig, enum tg_encoding enc, const uint8_t *body,
                   size_t len, tg_arena *arena, tg_otlp_request *out, char *errmsg,
                   size_t errlen);

/* Protobuf encoding of req->msg into the arena (for storage). */
int tg_otlp_pack(const tg_otlp_request *req, tg_arena *arena, uint8_t **out,
                 size_t *outlen);

/* What the store indexes a request by. Arrays live in the arena. */
typedef struct tg_otlp_index {
    uint64_t t_min, t_max; /* unix ns over all items; 0,0 if none */
    uint64_t items;
    uint8_t (*trace_ids)[16]; /* distinct trace ids (traces and logs) */
    size_t n_trace_ids;
    tg_slice *services; /* distinct resource service.name values */
    size_t n_services;
} tg_otlp_index;

int tg_otlp_index_build(const tg_otlp_request *req, tg_arena *arena, tg_otlp_index *out);

/* An Export*ServiceResponse, with partial_success when rejected > 0, in
 * the request's encoding. */
int tg_otlp_encode_response(enum tg_signal sig, enum tg_encoding enc, uint64_t rejected,
                            const char *message, tg_arena *arena, uint8_t **out,
                            size_t *outlen);

/* A google.rpc.Status {code, message} body for HTTP errors. */
int tg_otlp_encode_status(enum tg_encoding enc, int code, const char *message,
                          tg_arena *arena, uint8_t **out, size_t *outlen);

/* A resource's service.name, or "unknown_service" (OpenTelemetry's
 * default) when it is absent, empty or not a string. Points into the
 * message. */
const char *tg_otlp_service_name(const Opentelemetry__Proto__Resource__V1__Resource *r);

/* The data points of a metric, whatever its type. */
size_t tg_otlp_metric_points(const Opentelemetry__Proto__Metrics__V1__Metric *m);

#endif
