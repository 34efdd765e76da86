/* The forwarder: a site's link to the central view.
 *
 *   local store --(source: committed requests, in order)--> worker thread
 *       decode -> destination view (tg_view.h) -> summarise (tg_summary.h)
 *       -> outbox (tg_outbox.h: batch + source cursor, one durable commit)
 *   outbox --> sender thread --(HTTP(S), libcurl, zstd protobuf)--> centre
 *
 * Why it tails the store instead of being handed requests: the outbox
 * cursor names the last store record summarised, so a crash (kill -9 at any
 * moment) resumes exactly where the durable outbox ends and nothing is
 * summarised twice or skipped. It also keeps forwarding off the ingest
 * path entirely: ingest commits and answers; forwarding follows at its own
 * pace, and a partition only grows the outbox (bounded by its budget).
 *
 * Threads: a worker (summarise and append) and a sender (a blocking libcurl
 * easy handle, one batch in flight, which is what keeps per-site order; a
 * dedicated thread keeps TLS handshakes and retries off the libuv loop).
 * All public calls are thread-safe. */
#ifndef TG_FORWARD_H
#define TG_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "tg_fwd_config.h"
#include "store.h"
#include "tg_wire.h"
#include "tg_otlp.h"
#include "tg_outbox.h"
#include "tg_view.h"

typedef struct tg_forwarder tg_forwarder;

/* A committed record as the store's tail reader gives it (store.h): the
 * protobuf Export*ServiceRequest as stored, and the residency
 * classification stored with it at ingest (NULL when none: the view then
 * classifies itself). Valid during the visit only. */
typedef tg_store_item tg_fwd_record;

/* Visitor for committed records. Return non-zero to stop. */
typedef int (*tg_fwd_visit_cb)(void *ctx, const tg_fwd_record *r);

/* Where committed requests come from: the local store, or a test double. */
typedef struct tg_fwd_source {
    /* Visits records with sequence > after, ascending, at most `max`. */
    int (*read_after)(void *src, uint64_t after, size_t max, tg_fwd_visit_cb cb,
                      void *ctx);
    /* Newest committed sequence (0 if none), for the lag figure. */
    uint64_t (*last_seq)(void *src);
    /* Stored (compressed) bytes per raw byte, for cost records; NULL: 0. */
    double (*stored_ratio)(void *src);
    void *ctx;
    /* The time range of the data held (unix ns), reported to the centre
     * so federated queries skip a site holding nothing of their window;
     * NULL: not reported. */
    int (*time_range)(void *src, uint64_t *oldest, uint64_t *newest);
    /* Items (spans, log records, data points) stored since the store
     * began, evicted ones included: the estate's ingest figure; NULL: not
     * reported. */
    uint64_t (*items_ingested)(void *src);
} tg_fwd_source;

typedef struct tg_forwarder_options {
    const char *site;
    const char *data_dir;         /* the outbox lives in <data_dir>/outbox */
    const char *central_url;      /* e.g. "http://127.0.0.1:9480" or https://... */
    const char *token;            /* bearer token presented to the centre */
    const char *software_version; /* TG_VERSION */
    tg_fwd_source source;
    const tg_view_desc *view; /* NULL: the built-in fail-closed view */
    void *view_ctx;
    const tg_forward_config *cfg; /* copied; NULL: defaults */
    int no_sync;                  /* tests only */
} tg_forwarder_options;

/* Opens the outbox and starts both threads. NULL and *err on failure
 * (message in errmsg). */
tg_forwarder *tg_forwarder_start(const tg_forwarder_options *opt, int *err, char *errmsg,
                                 size_t errlen);

/* New records were committed: summarise soon (optional; the worker also
 * polls). Safe from any thread, cheap. */
void tg_forwarder_kick(tg_forwarder *f);

/* Flushes what has been summarised to the outbox, stops both threads
 * (an upload in progress is abandoned and retried at the next start) and
 * frees everything. */
void tg_forwarder_stop(tg_forwarder *f);

typedef struct tg_forwarder_stats {
    uint64_t requests_read, requests_skipped, decode_failures, view_failures;
    uint64_t source_cursor, source_last, source_lag;
    /* The worker's largest memory since start: its decode arena (one
     * stored request decoded, viewed and classified) and its summariser
     * (one period), in bytes. */
    uint64_t mem_decode_peak, mem_summary_peak;
    uint64_t spans, red, logs, metrics, costs; /* records summarised */
    /* distinct span names per period, summed over periods: as stored, and
     * as sent after the view's name templates (the cardinality drop) */
    uint64_t names_raw, names_sent;
    uint64_t batches_appended;
    /* outbox */
    uint64_t outbox_batches, outbox_bytes, outbox_records, outbox_budget;
    double outbox_oldest_age_s; /* 0: empty */
    double budget_seconds_left; /* < 0: not filling */
    uint64_t shed_batches, shed_stripped, shed_records, shed_spans, rejected;
    uint64_t ledger_entries;
    uint64_t tlog_size, tlog_failures; /* transparency log leaves; refused appends */
    /* the centre's witness: the size it last cosigned and when (0: never),
     * forks it reported (409/422 on our own log), other failures */
    uint64_t witness_size, witness_cosigned_ns, witness_forks, witness_errors;
    char witness_error[160];
    /* link */
    uint64_t uploads_accepted, uploads_duplicate, heartbeats, upload_errors;
    uint64_t auth_failures, version_refusals;
    uint64_t wire_bytes, raw_bytes;
    uint64_t batches_delivered, acked_seq;
    uint64_t last_contact_ns; /* site clock, 0: never */
    int partitioned;          /* no successful exchange recently */
    unsigned protocol_version, protocol_min, protocol_max;
    char central_version[32];
    int clock_valid;
    int64_t clock_offset_ns; /* site minus centre */
    uint64_t clock_rtt_ns;
    int64_t server_cert_not_after, client_cert_not_after; /* unix s, 0 none */
    uint64_t backoff_ms;
    char last_error[160];
    char policy_version[96];
} tg_forwarder_stats;

void tg_forwarder_get_stats(tg_forwarder *f, tg_forwarder_stats *s);

/* 1 while the outbox takes batches and ledger entries, or 0 with why: its
 * last append or egress ledger write failed (cleared by the next that
 * succeeds). Any thread. */
int tg_forwarder_outbox_ok(tg_forwarder *f, char *why, size_t len);

/* Prometheus text for every figure above, malloc'd (NUL-terminated). */
char *tg_forwarder_render_metrics(tg_forwarder *f, size_t *len);

/* The same as a JSON object (for the site's /api/v1/status), malloc'd. */
char *tg_forwarder_status_json(tg_forwarder *f);

/* Makes an answered query durable in the egress ledger (see
 * tg_outbox_ledger_query). 0, or an error: the answer must not be sent. */
int tg_forwarder_record_query(tg_forwarder *f, const tg_outbox_query *q);

/* Records in the log what the site's store deleted since the last call
 * (tg_outbox_log_store_retention; outbox_retention.c): the collector calls
 * it after each retention pass. 0 or a TG_E code. */
int tg_forwarder_record_retention(tg_forwarder *f, tg_store *st);

/* Every egress ledger entry (batches, shedding, answered queries) as a
 * JSON document {"entries": [...]}, malloc'd, or NULL. Entries hold ids,
 * counts and hashes only. */
char *tg_forwarder_ledger_json(tg_forwarder *f);

/* The site's transparency log, served as tlog-tiles (tg_outbox_audit_read). */
int tg_forwarder_audit_read(tg_forwarder *f, const char *path, size_t len,
                            tg_strbuf *out);

#endif
