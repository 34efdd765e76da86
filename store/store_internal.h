/* Private to the store's own files (store*.c) and its unit test.
 *
 * Record value layout, every integer big-endian:
 *   off len
 *     0   4  magic "TGR1"
 *     4   2  record format: 2 (1: written before classification was kept;
 *            a 72-byte header, no classification, no expiry)
 *     6   1  signal
 *     7   1  reserved (0)
 *     8   8  ingest time, unix seconds
 *    16   8  t_min, unix ns
 *    24   8  t_max, unix ns
 *    32   8  items
 *    40   4  raw (protobuf) length
 *    44   4  compressed length
 *    48   4  number of trace ids
 *    52   4  number of services
 *    56   4  offset of the trace ids (16 bytes each)
 *    60   4  offset of the services (each: u16 length + bytes)
 *    64   4  offset of the zstd frame
 *    68   4  classification length (format 1: reserved, 0)
 *    72   8  expiry, unix seconds: the record's class retention ends
 *            (0: only the store's own age and size limits apply)
 *    80      trace ids, services, classification, zstd frame
 * The index keys sit uncompressed in the value so eviction can delete them
 * without decompressing anything; the classification (the rules engine's
 * tg_rules_classification_encode, opaque here) sits just before the frame,
 * so the egress view reads it without scanning the values again.
 *
 * Meta values are u64 big-endian under the TG_STORE_META_* names. */
#ifndef TG_STORE_INTERNAL_H
#define TG_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <zstd.h>

#include "store.h"
#include "tg_codec.h"

#define TG_REC_MAGIC 0x54475231u /* "TGR1" */
#define TG_REC_FORMAT 2
#define TG_REC_HDR_LEN 80
#define TG_REC_HDR_LEN_V1 72

/* Service names are indexed by at most this many bytes: an LMDB key is
 * limited to 511 bytes. A longer name is still matched exactly, against
 * the full name kept in the record header. */
#define TG_STORE_SVC_KEY_MAX 400
/* Longer service names (absurd in practice) are not indexed at all. */
#define TG_STORE_SVC_MAX 65535

#define TG_STORE_META_FORMAT "format"
#define TG_STORE_META_NEXT_SEQ "next_seq"

/* One eviction transaction deletes at most this many records, or index
 * keys, so a large backlog (a collector restarted after days) never builds
 * one giant transaction; tg_store_evict() loops until done. */
#define TG_STORE_EVICT_BATCH 4096
#define TG_STORE_EVICT_KEYS 65536

/* The running totals kept in meta, loaded and saved in each write txn. */
typedef struct tg_store_totals {
    uint64_t next_seq;
    uint64_t records;
    uint64_t record_bytes;
    uint64_t raw_bytes;
    uint64_t items[TG_SIGNAL_COUNT];
    uint64_t evicted_records;
    uint64_t evicted_items[TG_SIGNAL_COUNT];
    uint64_t expired_records; /* of evicted_records: by class retention */
    /* Largest t_max - t_min ever written: lets a time scan stop early. */
    uint64_t max_span[TG_SIGNAL_COUNT];
} tg_store_totals;

typedef uint64_t (*tg_store_clock_fn)(void *ctx);

struct tg_store {
    MDB_env *env;
    /* db_trace: the trace-id index of stores written before
     * by_trace_filter (read and pruned, never written); db_tfilter: one
     * trace-id filter per record (store_tfilter.c). */
    MDB_dbi db_records, db_trace, db_tfilter, db_time, db_svc, db_expiry, db_meta;
    /* db_tblock: one trace-id filter per block of about
     * TG_TBLOCK_RECORDS consecutive records (store_tfilter.c); tblock_base:
     * the first sequence a block may start at when none exists (the
     * store's next sequence when it opened). */
    MDB_dbi db_tblock;
    uint64_t tblock_base;
    uint8_t *tblock_ids; /* the writer's buffer for a block's ids */
    size_t tblock_ids_cap;
    int has_old_trace_index; /* db_trace held keys when the store opened */
    tg_store_options opt;
    char *data_path; /* <dir>/data.mdb, for the file size in stats */

    /* mdb_env_set_mapsize() needs no transaction active in the process.
     * Read transactions hold this shared for their whole life; a map
     * resize takes it exclusive. Writer-preferring so a steady stream of
     * readers cannot starve a resize. */
    pthread_rwlock_t map_lock;

    /* Serialises tg_store_write() and tg_store_evict() and guards what
     * only a writer touches: the compression context and buffers. */
    pthread_mutex_t write_lock;
    ZSTD_CCtx *cctx;
    uint8_t *stage; /* values of the records being written */
    size_t stage_cap;
    const tg_store_record *stage_recs; /* the records being written (their class names) */
    size_t *stage_off;                 /* per record: offset and length in stage */
    size_t *stage_len;
    size_t stage_n_cap;
    uint8_t *evbuf; /* copy of an evicted record's header and keys */
    size_t evbuf_cap;

    _Atomic uint64_t map_grows;
    _Atomic uint64_t full_evictions, full_refusals;
    /* Set by a failed write or probe, cleared by a good one; fail_why is
     * under fail_mu. */
    _Atomic int failing;
    pthread_mutex_t fail_mu;
    char fail_why[200];
    tg_store_clock_fn clock;
    void *clock_ctx;
};

/* Adds delta to the u64 meta counter `name` in txn (0 when absent). */
int tg_store__meta_add(tg_store *st, MDB_txn *txn, const char *name, uint64_t delta);

/* Replaces the wall clock used for ingest times and age retention (tests). */
void tg_store_set_clock(tg_store *st, tg_store_clock_fn fn, void *ctx);

uint64_t tg_store__now(tg_store *st);

int tg_store__totals_load(tg_store *st, MDB_txn *txn, tg_store_totals *t);
int tg_store__totals_save(tg_store *st, MDB_txn *txn, const tg_store_totals *t);

/* on_full: evict-oldest. Evicts, in its own transaction, the oldest
 * records ingested at least floor_sec before now until about `want` bytes
 * of records are gone (at most TG_STORE_EVICT_BATCH). *evicted counts
 * them; 0 when none is old enough. Returns an MDB error code. */
int tg_store__evict_oldest(tg_store *st, uint64_t now, uint64_t floor_sec, size_t want,
                           size_t *evicted);

/* Evicts, in `txn`, the oldest records while over the size budget or older
 * than the age limit, never a record with seq >= keep_from. Stops at the
 * TG_STORE_EVICT_* caps and then sets *more. Returns an MDB error code;
 * *evicted counts records. */
int tg_store__retain(tg_store *st, MDB_txn *txn, tg_store_totals *t, uint64_t now,
                     uint64_t keep_from, size_t *evicted, int *more);

/* Grows the map after MDB_MAP_FULL; `need` is a lower bound on the bytes
 * the failed transaction wanted. Caller holds write_lock and no txn. */
int tg_store__grow(tg_store *st, size_t need);

int tg_store__mdb_err(int rc);

/* A parsed record header; pointers refer into the value. */
typedef struct tg_rec_view {
    enum tg_signal signal;
    uint64_t ingest_sec, t_min, t_max, items;
    uint64_t expiry_sec; /* 0: none */
    uint32_t raw_len, comp_len, n_trace, n_svc, cls_len;
    const uint8_t *trace_ids;
    const uint8_t *services; /* n_svc x (u16 len + bytes) */
    const uint8_t *cls;      /* cls_len bytes, NULL when none */
    const uint8_t *payload;
    size_t keys_end; /* offset where the zstd frame starts */
} tg_rec_view;

/* Validates the header against the value length; TG_ESTORE if corrupt. */
int tg_rec_parse(const uint8_t *v, size_t len, tg_rec_view *out);

/* by_svc key for (signal, service name, seq) into buf (>= 10 +
 * TG_STORE_SVC_KEY_MAX bytes); returns the key length. */
size_t tg_store__svc_key(uint8_t *buf, enum tg_signal sig, const char *name, size_t len,
                         uint64_t seq);

/* ---- trace-id filters (store_tfilter.c) ---- */

#define TG_TFILTER_BITS_PER_ID 10
#define TG_TFILTER_K 7

/* Bytes of the filter for n distinct ids (a multiple of 8, at least 8). */
size_t tg_store__tfilter_len(uint32_t n_ids);

/* Fills f (len bytes, from tg_store__tfilter_len) with the n ids, 16 bytes
 * each, at ids. */
void tg_store__tfilter_build(const uint8_t *ids, uint32_t n_ids, uint8_t *f, size_t len);

/* 0 when the record whose filter is f certainly does not hold id; 1 when it
 * may (a hit is confirmed against the record's own list). */
int tg_store__tfilter_may_hold(const uint8_t *f, size_t len, const uint8_t id[16]);

/* Block filters: a lookup by trace id tests one filter per block first
 * and reads the per-record filters of the blocks that may hold the id
 * only, so its cost grows with the store by blocks, not by records. */
#define TG_TBLOCK_RECORDS 1024

/* Bytes of a block's filter for n ids: region-local (store_tfilter.c). */
size_t tg_store__tblock_filter_len(uint64_t n_ids);

/* Fills a block's filter f (len bytes, from tg_store__tblock_filter_len)
 * with the n ids, 16 bytes each. */
void tg_store__tblock_build(const uint8_t *ids, uint64_t n_ids, uint8_t *f, size_t len);

/* As tg_store__tfilter_may_hold, for a block's filter. */
int tg_store__tblock_may_hold(const uint8_t *f, size_t len, const uint8_t id[16]);

/* In the write transaction, after the records and the retention: drops
 * the blocks whose records are all gone, and closes a block over the
 * records not yet in one when there are TG_TBLOCK_RECORDS of them.
 * next_seq: the sequence the next record will get. An MDB code. */
int tg_store__tblocks_update(tg_store *st, MDB_txn *txn, uint64_t next_seq);

/* Calls visit(ctx, seq) for every record whose filter may hold id, oldest
 * first, testing the block filters before the records' own; stops at the
 * first nonzero return and returns it, or an MDB code. */
typedef int (*tg_store__tfilter_visit)(void *ctx, uint64_t seq);
int tg_store__tfilter_lookup(tg_store *st, MDB_txn *txn, const uint8_t id[16],
                             tg_store__tfilter_visit visit, void *ctx);

#endif
