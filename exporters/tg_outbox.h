/* The site's durable outbox for the central view, and its egress ledger.
 *
 * Its own LMDB environment (<data>/outbox), apart from the local store so
 * that forwarding can never make ingest wait on it:
 *   batches  seq(u64 BE)   -> zstd(Batch), canonical encoding (tg_wire.h)
 *   entries  seq(u64 BE)   -> OutboxEntry (counts, window, ledgered flag)
 *   ledger   index(u64 BE) -> EgressRecord, hash-chained
 *   meta     name          -> epoch, next_seq, cursor, acked, counters,
 *                             the pending shed notice
 *
 * Exactly once in effect: a batch and the source cursor it covers are
 * committed in one transaction, so after a crash the forwarder re-reads the
 * store from the cursor and nothing is summarised twice or lost. A batch
 * keeps its sequence number for life; the centre discards a sequence it
 * already holds. (site, epoch, sequence) is the idempotency key; the epoch
 * is 16 random bytes made when the outbox is created, so a site whose
 * outbox is wiped starts a new series the centre can tell apart.
 *
 * Budget: when the batches' bytes exceed max_bytes, the oldest batches
 * first lose their span summaries (aggregates are small and worth more),
 * then the oldest batches are dropped whole; never the batch in flight.
 * Each shedding is counted, written to the ledger in the same transaction,
 * and announced to the centre in the next batch (a ShedNotice).
 *
 * Ledger: an entry is durable before its batch leaves (tg_outbox_ledger_
 * egress() is called before the first send) and records batch id,
 * destination, time window, counts per data class x action, bytes and
 * policy version. entry_hash = SHA-256(0x00 || entry packed with
 * entry_hash empty), and each entry carries its predecessor's hash.
 *
 * Transparency log: every ledger entry is also a leaf of an RFC 6962
 * Merkle tree in this environment, written in the same transaction, with a
 * signed tlog-checkpoint of each new size (outbox_tlog.h, docs/audit.md).
 *
 * Threads: any; one mutex serialises writers (the forwarder's worker and
 * sender threads). */
#ifndef TG_OUTBOX_H
#define TG_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "tg_strbuf.h"
#include "tg_view.h"
#include "tollgate/v1/forward.pb-c.h"

#define TG_OUTBOX_FORMAT_VERSION 1

typedef struct tg_outbox tg_outbox;

typedef struct tg_outbox_options {
    uint64_t max_bytes;          /* budget for stored batches; default 256 MiB */
    int no_sync;                 /* tests and benchmarks only */
    const char *site;            /* for batch ids */
    const char *destination;     /* "central" */
    const char *destination_url; /* recorded in the ledger */
    int zstd_level;              /* re-compression when spans are shed */
    /* Where the site's log key lives (audit.key, created on first open);
     * NULL: the transparency log's checkpoints are not signed (tests). */
    const char *audit_key_dir;
} tg_outbox_options;

/* Opens (creating) the outbox in directory `dir`. NULL and *err on
 * failure (TG_EVERSION for another format). */
tg_outbox *tg_outbox_open(const char *dir, const tg_outbox_options *opt, int *err);
void tg_outbox_close(tg_outbox *ob);

const uint8_t *tg_outbox_epoch(const tg_outbox *ob); /* 16 bytes */
uint64_t tg_outbox_cursor(tg_outbox *ob);
uint64_t tg_outbox_next_seq(tg_outbox *ob);

/* The shed notice waiting to be carried by the next batch: 1 and *n
 * filled (strings static), or 0. */
int tg_outbox_pending_shed(tg_outbox *ob, Tollgate__V1__ShedNotice *n);

typedef struct tg_outbox_append {
    uint64_t seq; /* must be tg_outbox_next_seq(); ignored without a blob */
    const uint8_t *blob;
    size_t len;
    uint64_t raw_bytes;
    uint64_t records, spans;
    uint64_t window_start, window_end;
    const tg_egress_tally *tally;
    const char *policy_version;
    uint64_t cursor;  /* source records summarised through this seq */
    int carried_shed; /* the batch carries the pending shed notice */
    uint64_t now_ns;
} tg_outbox_append;

/* One durable transaction: the batch (if any), its entry, the cursor, and
 * the shedding the budget needs. Returns 0, TG_EINVAL (wrong seq) or
 * TG_ESTORE. */
int tg_outbox_put(tg_outbox *ob, const tg_outbox_append *a);

typedef struct tg_outbox_batch {
    uint64_t seq;
    uint8_t *blob; /* malloc'd copy */
    size_t len;
    uint64_t raw_bytes, records, spans, created_ns;
    int ledgered;
} tg_outbox_batch;

/* The oldest batch not yet acknowledged, copied out and marked in flight
 * (shedding leaves it alone until tg_outbox_release()). TG_ENOT_FOUND when
 * empty. */
int tg_outbox_peek(tg_outbox *ob, tg_outbox_batch *out);
void tg_outbox_release(tg_outbox *ob);
void tg_outbox_batch_free(tg_outbox_batch *b);

/* Makes batch `seq`'s egress record durable, once per batch. */
int tg_outbox_ledger_egress(tg_outbox *ob, uint64_t seq, unsigned protocol_version,
                            uint64_t wire_bytes, uint64_t now_ns);

/* One answered query, as the site's API read it out: who asked, under
 * which view, the class x action counts of what the view did, how many
 * records were read and how many bytes left. Made durable in the ledger
 * before the answer is sent. */
typedef struct tg_outbox_query {
    const char *requester; /* "central (user alice, role sre)", "dpo" */
    const char *view;
    const char *kind;
    const tg_egress_tally *tally;
    uint64_t records, bytes_raw, bytes_sent;
    uint64_t window_start_ns, window_end_ns;
    const char *policy_version;
} tg_outbox_query;

int tg_outbox_ledger_query(tg_outbox *ob, const tg_outbox_query *q, uint64_t now_ns);

/* A counter of the site store's deletions, as the store keeps it: it only
 * grows, and it is written in the transaction that deletes the records it
 * counts (store.h). */
typedef struct tg_outbox_retention_count {
    const char *data_class; /* the class whose retention ended, or "(store limits)" */
    const char *action;     /* "expire" (a class retention), "evict" (store limits) */
    uint64_t total;         /* records deleted since the store was made */
} tg_outbox_retention_count;

/* Records a retention run in the ledger and the transparency log: when a
 * count grew since the counts the last "retention" entry covered, appends
 * an entry of event "retention" whose counts are the growth (class x
 * action -> records deleted; counts and names only, never a value), its
 * window the time since that entry, and the new totals beside it in the
 * same transaction. The store and the outbox are two LMDB environments, so
 * no one transaction holds both the deletion and its leaf; this keeps the
 * log exact all the same: a crash before the entry commits leaves the
 * totals as they were and the next call records the deletions then. A
 * count lower than its recorded total (the store was replaced) counts from
 * 0. *appended gets 1 when an entry was written. 0 or a TG_E code (the
 * entry is then not written). */
int tg_outbox_ledger_retention(tg_outbox *ob, const tg_outbox_retention_count *c,
                               size_t n, uint64_t now_ns, int *appended);

/* Reads the store's deletion counters (tg_store_expired_by_class per
 * class, action "expire"; the other evictions, by age, size budget or a
 * full store, as class "(store limits)", action "evict") and records them
 * with tg_outbox_ledger_retention. */
struct tg_store;
int tg_outbox_log_store_retention(tg_outbox *ob, struct tg_store *st, uint64_t now_ns,
                                  int *appended);

/* Records that the centre refused batch `seq` for good (malformed) and
 * drops it. */
int tg_outbox_reject(tg_outbox *ob, uint64_t seq, uint64_t now_ns);

/* Removes every batch with seq <= through: the centre holds them. */
int tg_outbox_ack(tg_outbox *ob, uint64_t through);

typedef struct tg_outbox_stats {
    uint64_t batches, bytes, records, spans;
    uint64_t oldest_created_ns; /* 0: empty */
    uint64_t next_seq, acked_seq, cursor;
    uint64_t shed_batches;  /* dropped whole */
    uint64_t shed_stripped; /* lost their span summaries */
    uint64_t shed_records, shed_spans, shed_bytes;
    uint64_t rejected;
    uint64_t ledger_entries;
    uint8_t ledger_head[32];
    uint64_t appended_bytes; /* since open, for the fill rate */
    uint64_t max_bytes;
    uint64_t tlog_size;     /* leaves in the transparency log */
    uint64_t tlog_failures; /* since open: appends that failed, egress refused */
} tg_outbox_stats;

void tg_outbox_get_stats(tg_outbox *ob, tg_outbox_stats *s);

/* Visits ledger entries in order; `bytes` is the stored encoding. */
typedef int (*tg_ledger_cb)(void *ctx, const Tollgate__V1__EgressRecord *r,
                            const uint8_t *bytes, size_t len);
int tg_outbox_ledger_foreach(tg_outbox *ob, tg_ledger_cb cb, void *ctx);

/* Recomputes every entry hash and link. Returns 0 (and *entries), or
 * TG_ESTORE with *bad set to the first index that does not verify. */
int tg_outbox_ledger_verify(tg_outbox *ob, uint64_t *entries, uint64_t *bad);

/* The transparency log as tlog-tiles serves it: path is "checkpoint",
 * "tile/L/N[.p/W]" or "tile/entries/N[.p/W]" (see outbox_tlog.h). 0,
 * TG_ENOT_FOUND, TG_EPARSE or TG_ENOMEM. Thread-safe (a read txn). */
int tg_outbox_audit_read(tg_outbox *ob, const char *path, size_t len, tg_strbuf *out);

#endif
