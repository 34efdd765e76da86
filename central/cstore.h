/* The central view's store: what every site sent, in LMDB.
 *
 *   sites    name                            -> CentralSite (sequence, health, counts)
 *   batches  site '\0' epoch(16) seq(u64 BE) -> u32 BE header length, CentralBatchHeader,
 *                                               the batch's zstd bytes as received
 *   epochs   site '\0' epoch(16)             -> u64 BE last sequence: the epochs a site
 *                                               has left, never accepted again
 *   red      site '\0' svc '\0' op '\0' kind(u32 BE) minute(i64 BE) -> RedRecord, merged
 *   logs     site '\0' svc '\0' sev(u32 BE) minute(i64 BE) id(u64 BE) -> LogTemplate,
 * merged costs    site '\0' svc '\0' meter '\0' hour(i64 BE)             -> CostRecord,
 * merged models   site '\0' model '\0' version '\0' bucket(i64 BE, unix ns) -> count,
 * first ns, last ns (3 x u64 BE), merged (models.h) meta     "format", "bytes"
 *
 * Batches are kept as they arrived (span summaries, metric points and shed
 * notices are read from them); aggregates that arrive in parts (RED, log
 * templates, cost records) are added up as they come, so the store holds
 * one row per key. Everything about one upload (the batch, the merged
 * aggregates, the site's new sequence) commits in one durable transaction
 * before the site is answered: a duplicate can never be half-applied.
 *
 * Threads: any; LMDB serialises writers. */
#ifndef TG_CSTORE_H
#define TG_CSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "tollgate/v1/forward.pb-c.h"

/* 2: batches keyed by (site, epoch, sequence) and the epochs table; a
 * version-1 store is migrated in place when opened for writing (its batches
 * take the epoch their site held). */
#define TG_CSTORE_FORMAT_VERSION 2

/* How far past a site's last sequence an upload may be: a site sends in
 * order and announces what its outbox shed, so a sequence further ahead
 * than this was never sent by it. */
#define TG_CSTORE_SEQ_WINDOW_DEFAULT (1ull << 20)

typedef struct tg_cstore tg_cstore;

typedef struct tg_cstore_options {
    uint64_t max_bytes;   /* batches' bytes budget; 0 = unlimited */
    uint64_t max_age_sec; /* by time received (aggregates: by their window) */
    int readonly;         /* for `tollgate central export` */
    int no_sync;          /* tests only */
    uint64_t seq_window;  /* 0 = TG_CSTORE_SEQ_WINDOW_DEFAULT */
} tg_cstore_options;

tg_cstore *tg_cstore_open(const char *dir, const tg_cstore_options *opt, int *err);
void tg_cstore_close(tg_cstore *cs);

/* Requests of one model version seen at the uploading site within one time
 * bucket (models.h): merged into the `models` rows with the batch. */
typedef struct tg_cstore_model_row {
    const char *model, *version;
    int64_t bucket_ns;
    uint64_t count;
    int64_t first_ns, last_ns;
} tg_cstore_model_row;

typedef struct tg_cstore_upload {
    const char *site;
    const uint8_t *epoch;             /* 16 bytes */
    uint64_t seq;                     /* 0: heartbeat */
    const Tollgate__V1__Batch *batch; /* decoded, times absolute; NULL for a heartbeat */
    const uint8_t *zstd;              /* the batch as received */
    size_t zlen;
    uint64_t raw_len;
    unsigned version;
    const Tollgate__V1__SiteHealth *health;
    uint64_t now_ns;
    int64_t t2_minus_t1;
    int64_t client_cert_not_after;
    const char *client_cert_cn;
    const tg_cstore_model_row *models; /* applied only with a new batch */
    size_t n_models;
} tg_cstore_upload;

/* An upload refused without effect (the site's counters still move). */
enum tg_cstore_refusal {
    TG_CSTORE_OK = 0,
    TG_CSTORE_OLD_EPOCH, /* an epoch the site has left */
    TG_CSTORE_AHEAD,     /* sequence more than the window past the last */
};

typedef struct tg_cstore_result {
    int duplicate;
    enum tg_cstore_refusal refused;
    uint64_t last_seq;
    uint64_t source_cursor; /* the highest the centre holds from the site */
    int epoch_changed;
    uint64_t invalid_records; /* aggregates refused as malformed */
} tg_cstore_result;

/* Applies one upload durably. An upload in a new epoch retires the site's
 * current one (kept in `epochs`, logged); an upload in a retired epoch, or
 * with a sequence more than the window ahead, is refused (r->refused) and
 * counted, and changes nothing else. Returns 0, TG_ESTORE or TG_ENOMEM. */
int tg_cstore_apply(tg_cstore *cs, const tg_cstore_upload *u, tg_cstore_result *r);

/* Retention pass (age and size budget). */
int tg_cstore_retain(tg_cstore *cs, uint64_t now_ns);

/* Every site's state, for the estate view. The callback gets an unpacked
 * message valid only during the call. */
typedef int (*tg_cstore_site_cb)(void *ctx, const Tollgate__V1__CentralSite *s);
int tg_cstore_sites(tg_cstore *cs, tg_cstore_site_cb cb, void *ctx);

/* Visitors for export, in key order. */
typedef int (*tg_cstore_batch_cb)(void *ctx, const char *site, uint64_t seq,
                                  const Tollgate__V1__CentralBatchHeader *h,
                                  const uint8_t *zstd, size_t zlen);
typedef int (*tg_cstore_row_cb)(void *ctx, const char *site, const ProtobufCMessage *row);

int tg_cstore_batches(tg_cstore *cs, tg_cstore_batch_cb cb, void *ctx);
/* which: "red", "logs" or "costs". */
int tg_cstore_rows(tg_cstore *cs, const char *which, tg_cstore_row_cb cb, void *ctx);

/* Every `models` row, in key order. A nonzero return stops the walk. */
typedef int (*tg_cstore_model_cb)(void *ctx, const char *site,
                                  const tg_cstore_model_row *row);
int tg_cstore_model_rows(tg_cstore *cs, tg_cstore_model_cb cb, void *ctx);

typedef struct tg_cstore_stats {
    uint64_t batches, bytes, red_rows, log_rows, cost_rows;
    uint64_t evicted_batches;
    uint64_t file_bytes;
} tg_cstore_stats;

int tg_cstore_get_stats(tg_cstore *cs, tg_cstore_stats *s);

/* The LMDB environment, for modules that keep their own dbs in it
 * (witness.h). Up to 16 named dbs in all. */
struct MDB_env;
struct MDB_env *tg_cstore_env(tg_cstore *cs);

#endif
