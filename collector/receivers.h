/* The OTLP receivers' protocol glue: OTLP/HTTP routes on a tg_http
 * server and the OTLP/gRPC export handler, both mapped onto tg_ingest and
 * answering per their protocol's conventions. */
#ifndef TG_RECEIVERS_H
#define TG_RECEIVERS_H

#include "ingest.h"
#include "recv_grpc.h"
#include "tg_http.h"

typedef struct tg_receivers {
    tg_ingest *ing;
    uint64_t retry_after_sec; /* Retry-After under backpressure */
} tg_receivers;

/* tg_http_handler for the OTLP/HTTP port; data is a tg_receivers. */
void tg_receivers_http(tg_http_request *req, void *data);

/* tg_grpc_export_fn for the OTLP/gRPC port; data is a tg_receivers. */
void tg_receivers_grpc(void *data, tg_grpc_call *call, enum tg_signal sig,
                       enum tg_compression comp, const uint8_t *msg, size_t len);

#endif
