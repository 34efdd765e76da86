/* The site's durable local store: every OTLP request at full fidelity,
 * regulated fields included (this store never leaves the site).
 *
 * Layout (LMDB, one environment, named databases):
 *   records   seq(u64 BE) -> record header + zstd(protobuf Export*Request)
 *   by_trace  trace_id(16) + seq(8)                 -> (empty)
 *   by_time   signal(1) + t_min(u64 BE) + seq(8)    -> t_max(8)
 *   by_svc    signal(1) + service + '\0' + seq(8)   -> (empty)
 *   by_expiry expiry(u64 BE, unix s) + seq(8)       -> (empty)
 *   meta      "format", "next_seq", "bytes", "evictions", ... -> u64
 * A record keeps, uncompressed in its header, the index keys it created so
 * eviction can delete them without decompressing.
 *
 * One request is one record: indexing per request rather than per span
 * keeps LMDB writes per request at a handful, which is what lets one
 * write transaction carry hundreds of thousands of spans.
 *
 * Thread model: tg_store_write() from one writer thread at a time; reads
 * from any thread concurrently (MDB_NOTLS). */
#ifndef TG_STORE_H
#define TG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "tg_otlp.h"

/* 2: records carry their classification and class-retention expiry. A
 * format-1 store opens and is upgraded in place (its records stay
 * readable: they simply have neither). */
#define TG_STORE_FORMAT_VERSION 2

typedef struct tg_store tg_store;

/* What a write does when the store is full (the map at max_map_size, or
 * the disk): refuse it, or evict the oldest records (never one ingested
 * less than evict_floor_sec ago) and write. */
enum tg_store_on_full { TG_STORE_ON_FULL_REFUSE = 0, TG_STORE_ON_FULL_EVICT_OLDEST };

typedef struct tg_store_options {
    uint64_t max_bytes;        /* size budget for records; 0 = unlimited */
    uint64_t max_age_sec;      /* evict records ingested longer ago; 0 = keep */
    uint64_t initial_map_size; /* LMDB map size at open; grows on demand */
    uint64_t max_map_size;     /* the map never grows past it; 0 = unlimited */
    int on_full;               /* enum tg_store_on_full */
    uint64_t evict_floor_sec;  /* evict-oldest never takes younger records */
    int zstd_level;            /* 1 by default */
    int no_sync;               /* tests and benchmarks only: skip fsync */
} tg_store_options;

void tg_store_options_default(tg_store_options *o);

/* Opens (creating if needed) the store in `dir`. A store written with a
 * newer TG_STORE_FORMAT_VERSION (or an unknown one) fails with TG_EVERSION. */
tg_store *tg_store_open(const char *dir, const tg_store_options *opt, int *err);
void tg_store_close(tg_store *st);

/* One request to write. `data` is the protobuf Export*ServiceRequest.
 *
 * `cls` is the residency rules' classification of exactly that request
 * (tg_rules_classification_encode; opaque to the store), kept beside it so
 * egress views need no second scan. `retention_sec` is the shortest local
 * retention of the data classes the request carries: the record expires
 * that long after it is written, unless the store's own age limit comes
 * first (a class retention never lengthens it). 0: the store's limits. */
typedef struct tg_store_record {
    enum tg_signal signal;
    const uint8_t *data;
    size_t len;
    const tg_otlp_index *index;
    const uint8_t *cls; /* may be NULL */
    size_t cls_len;
    uint64_t retention_sec;
    /* The class whose retention set it (at most 63 bytes kept), so the
     * record's deletion is counted for that class (tg_store_expired_by_class);
     * NULL: none named. */
    const char *retention_class;
    /* `data` already compressed, as one zstd frame of its `len` bytes at
     * the store's level, by the writer's caller (an ingest loop, so the
     * one writer thread does not compress for every loop); data may then
     * be NULL. NULL: the store compresses data. */
    const uint8_t *zdata;
    size_t zlen;
} tg_store_record;

/* Writes `n` records in one durable transaction (group commit): either all
 * are committed and fsync'd, or none is. Grows the map when full. Applies
 * retention (age and size budget) in the same transaction. On success the
 * records' sequence numbers are written to seqs (if not NULL). */
int tg_store_write(tg_store *st, const tg_store_record *recs, size_t n, uint64_t *seqs);

/* Whether the last write (or probe) succeeded: 1, or 0 with the reason
 * the store cannot write in why ("full: ...", "disk full", "I/O error:
 * ..."). Any thread. */
int tg_store_writable(tg_store *st, char *why, size_t len);

/* A small durable write (a meta key), so that a store that failed learns
 * when it can write again without waiting for a client's data. Returns 0
 * or a TG_E* code, and updates tg_store_writable(). */
int tg_store_probe(tg_store *st);

/* Records evicted to make room under `on_full: evict-oldest`, and writes
 * refused because the store was full. */
uint64_t tg_store_full_evictions(tg_store *st);
uint64_t tg_store_full_refusals(tg_store *st);

/* Drops this process's mappings of store pages (they stay in the page
 * cache; the next read re-faults them). LMDB reads B-tree pages through a
 * shared file mapping, so without this the resident set grows with the
 * data touched, not with the collector's own memory. Called by the writer
 * thread between transactions. */
int tg_store_trim_resident(tg_store *st);

/* The store's durable count of records deleted because a class retention
 * ended, per class named at write (tg_store_record.retention_class; records
 * written without one, or before the count existed, under "(unrecorded)"):
 * meta keys TG_STORE_META_EXPIRED_CLASS "<class>", u64 BE, written in the
 * deleting transaction. cb is called once per class; 0 or a TG_E code. */
#define TG_STORE_META_EXPIRED_CLASS "expired_class."
int tg_store_expired_by_class(tg_store *st,
                              void (*cb)(void *ctx, const char *cls, uint64_t n),
                              void *ctx);

/* Applies retention without writing (the collector calls it periodically). */
int tg_store_evict(tg_store *st, uint64_t now_unix_sec);

/* A record as read back: the decompressed protobuf request. `data` is
 * valid only during the callback. Return non-zero from the callback to stop. */
typedef int (*tg_store_visit_cb)(void *ctx, uint64_t seq, enum tg_signal sig,
                                 const uint8_t *data, size_t len);

/* Visits every record that holds spans (or logs) of `trace_id`, oldest
 * first. The callback filters items itself. */
int tg_store_get_trace(tg_store *st, const uint8_t trace_id[16], tg_store_visit_cb cb,
                       void *ctx);

/* Visits records of `signal` whose time range overlaps [t_from, t_to]
 * (unix ns; 0 means open), restricted to `service` if not NULL, newest
 * first, at most `limit` records (0 = no limit). */
int tg_store_scan(tg_store *st, enum tg_signal signal, const char *service,
                  uint64_t t_from, uint64_t t_to, size_t limit, tg_store_visit_cb cb,
                  void *ctx);

/* A record as the tail reader sees it; pointers valid during the callback. */
typedef struct tg_store_item {
    uint64_t seq;
    enum tg_signal signal;
    uint64_t ingest_sec;
    uint64_t expiry_sec; /* 0: none */
    const uint8_t *data; /* the decompressed protobuf request */
    size_t len;
    const uint8_t *cls; /* the stored classification, NULL when none */
    size_t cls_len;
} tg_store_item;

typedef int (*tg_store_tail_cb)(void *ctx, const tg_store_item *it);

/* Visits records with seq > after_seq in ascending seq order (commit
 * order), at most `limit` (0 = no limit): the forwarder tails the store
 * with it. Not to be called from inside another visitor. */
int tg_store_read_after(tg_store *st, uint64_t after_seq, size_t limit,
                        tg_store_tail_cb cb, void *ctx);

/* The newest committed record's seq (0 when none was ever written). */
uint64_t tg_store_last_seq(tg_store *st);

/* The time range the store holds data for, over every signal (unix ns;
 * 0, 0 when empty): the centre skips a site whose range a query's window
 * misses. */
int tg_store_time_range(tg_store *st, uint64_t *oldest, uint64_t *newest);

typedef struct tg_store_stats {
    uint64_t records;
    uint64_t record_bytes; /* compressed bytes held, the size budget's unit */
    uint64_t raw_bytes;    /* uncompressed protobuf bytes held */
    uint64_t items[TG_SIGNAL_COUNT];
    uint64_t evicted_records;
    uint64_t evicted_items[TG_SIGNAL_COUNT];
    uint64_t expired_records;  /* of evicted_records: a class retention ended */
    uint64_t expiring_records; /* held records with a class-retention expiry */
    uint64_t map_size;         /* current LMDB map size */
    uint64_t file_bytes;       /* size of data.mdb on disk */
    uint64_t map_grows;
} tg_store_stats;

int tg_store_get_stats(tg_store *st, tg_store_stats *out);

#endif
