/* The receivers' shared path from a request body to the local store:
 * decompress, decode, validate, index, classify, submit to the committer.
 * Both the OTLP/gRPC and OTLP/HTTP receivers call it; they differ only in
 * framing.
 *
 * Classification. With a rules slot, every request is classified once, at
 * ingest, by the policy in force, and the classification is stored with
 * the raw record: the egress views read it instead of scanning again, and
 * the record's local retention is the shortest retention of the data
 * classes it carries. It runs on the loop, right after decoding, while the
 * decoded request is still in cache (a separate classifying thread was
 * measured slower, on two cores as on one: docs/architecture.md). A request
 * that cannot be classified (a limit hit) is stored without a
 * classification and with the policy's shortest retention: fail closed,
 * and its egress view classifies it again (and fails closed again).
 *
 * tg_ingest_submit() either fails at once (returns a negative code and
 * fills result->message; the callback is never called), finishes at once
 * (TG_INGEST_DONE: nothing to store), or returns 0 and calls the callback
 * on the loop thread once the data is durable.
 *
 * One tg_ingest per ingest loop (collector/loops.c): its arena, counters
 * and rate-limited warnings are that loop's; the policy slot and the
 * committer are shared. */
#ifndef TG_INGEST_H
#define TG_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "committer.h"
#include "stats.h"
#include "tg_compress.h"
#include "tg_otlp.h"

typedef struct tg_ingest tg_ingest;

typedef struct tg_ingest_result {
    int status;        /* 0, or TG_E* */
    uint64_t accepted; /* items committed */
    uint64_t rejected; /* items removed by validation (partial success) */
    char message[256]; /* for the client: error or partial-success text */
} tg_ingest_result;

typedef void (*tg_ingest_cb)(void *ctx, const tg_ingest_result *res);

typedef struct tg_rules_slot tg_rules_slot;

typedef struct tg_ingest_options {
    size_t max_decompressed_bytes; /* bomb guard, default 64 MiB */
    uint64_t max_decompress_ratio; /* and at most this times the body (0: none) */
    size_t max_decode_bytes;       /* arena limit per request, default 256 MiB */
    tg_rules_slot *rules;          /* the residency policy; NULL: store unclassified */
    int zstd_level;                /* compress records here for the store, at its level
                                      (store.zstd_level); 0: the store's writer does */
    tg_commit_port *port;          /* submit through it (an ingest loop other than the
                                      committer's own); NULL: directly */
} tg_ingest_options;

tg_ingest *tg_ingest_create(tg_committer *committer, tg_stats *stats,
                            const tg_ingest_options *opt);
void tg_ingest_destroy(tg_ingest *ing);

/* Returned by tg_ingest_submit() when the request held nothing to store
 * (empty, or every item rejected): *result is final, no callback. */
#define TG_INGEST_DONE 1

/* `body` is the request body as received; `comp` its compression. Errors
 * returned at once: TG_EPARSE, TG_EUTF8, TG_ETOO_BIG (decompressed size),
 * TG_EUNSUPPORTED, TG_EBUSY (backpressure), TG_ECLOSED (shutting down). */
int tg_ingest_submit(tg_ingest *ing, enum tg_signal sig, enum tg_transport tr,
                     enum tg_encoding enc, enum tg_compression comp, const uint8_t *body,
                     size_t len, tg_ingest_cb cb, void *ctx, tg_ingest_result *result);

/* The same for a caller whose token may send only for some services
 * (secure.h; NULL: any): a request carrying another service is refused
 * with TG_EFORBIDDEN, counted as service_not_allowed, before it is
 * classified or queued. */
struct tg_secure_scope;
int tg_ingest_submit_scoped(tg_ingest *ing, const struct tg_secure_scope *scope,
                            enum tg_signal sig, enum tg_transport tr,
                            enum tg_encoding enc, enum tg_compression comp,
                            const uint8_t *body, size_t len, tg_ingest_cb cb, void *ctx,
                            tg_ingest_result *result);

#endif
