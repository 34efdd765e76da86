/* The site API: health, readiness, Prometheus metrics and the read path
 * that proves the store (traces by id, logs and metrics by service and
 * time). Store reads run on libuv's thread pool so a large read never
 * stalls ingest on the loop thread. */
#ifndef TG_API_H
#define TG_API_H

#include <uv.h>

#include "committer.h"
#include "stats.h"
#include "store.h"
#include "tg_access.h"
#include "tg_outbox.h"
#include "tg_http.h"
#include "tg_rules.h"
#include "tg_view_rules.h"

typedef struct tg_api {
    uv_loop_t *loop;
    tg_store *store;
    tg_stats *stats;
    /* The other ingest loops' counters, added to stats on /metrics
     * (collector/loops.c); n_loop_stats 0: none. */
    const tg_stats *const *loop_stats;
    size_t n_loop_stats;
    tg_committer *committer;
    const char *site;
    const char *data_dir; /* where the collector keeps DATA/policies/ (audit report) */
    uint64_t started_unix;
    int ready;             /* set once every listener is up, cleared on drain */
    size_t max_read_bytes; /* one read's decoded records and JSON together, default
                              256 MiB (the collector sets limits.max_read_bytes) */
    /* Who may read data (query.clients): without entries every data
     * endpoint answers 401. The residency policy gives the views. */
    const tg_access *clients;
    tg_rules_slot *rules;
    /* Records every answered data read in the site's egress ledger before
     * the answer is sent (the forwarder's outbox); a failure withholds the
     * answer (503). NULL when the site keeps no ledger (it does not
     * forward): reads are then answered unrecorded. Thread-safe. */
    int (*record_query)(void *ctx, const tg_outbox_query *q);
    /* The ledger as JSON for /api/v1/ledger (malloc'd), NULL: none kept. */
    char *(*ledger_json)(void *ctx);
    /* The transparency log as tlog-tiles (api_audit.c); NULL: none kept. */
    int (*audit_read)(void *ctx, const char *path, size_t len, tg_strbuf *out);
    void *record_ctx;
    /* Optional, thread-safe: the forwarder's figures, appended to /metrics
     * and added to /api/v1/status as "forwarder" (malloc'd text or NULL). */
    char *(*extra_metrics)(void *ctx, size_t *len);
    char *(*extra_status_json)(void *ctx);
    void *extra_ctx;
    /* Optional, thread-safe: 1 when the collector can do its job, or 0
     * with the reason (store cannot write, outbox cannot log, policy
     * failed to load) for /readyz's 503. */
    int (*health)(void *ctx, char *why, size_t len);
    void *health_ctx;
} tg_api;

/* tg_http_handler; data is a tg_api. */
void tg_api_handle(tg_http_request *req, void *data);

/* Answers GET /api/v1/audit/... (api_audit.c): 1 when path is one. */
int tg_api_audit_route(tg_api *api, tg_http_request *req, const char *path, size_t plen);

/* Prometheus text exposition of every collector figure, malloc'd. */
char *tg_api_render_metrics(tg_api *api, size_t *len);

#endif
