/* The collector's counters, exported on /metrics. Plain atomics so the
 * loop thread and the writer thread update them without locks. Each
 * ingest loop counts in its own (no cache line shared between loops);
 * /metrics shows their sum. */
#ifndef TG_STATS_H
#define TG_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "tg_otlp.h"
#include "tg_refuse.h"

enum tg_transport { TG_TRANSPORT_GRPC = 0, TG_TRANSPORT_HTTP = 1 };
#define TG_TRANSPORT_COUNT 2

/* Commit latency histogram bucket upper bounds, seconds. */
#define TG_STATS_COMMIT_BUCKETS 12
extern const double tg_stats_commit_bounds[TG_STATS_COMMIT_BUCKETS];

typedef struct tg_stats {
    /* items per signal x transport */
    _Atomic uint64_t items_received[TG_SIGNAL_COUNT][TG_TRANSPORT_COUNT];
    _Atomic uint64_t items_accepted[TG_SIGNAL_COUNT][TG_TRANSPORT_COUNT];
    _Atomic uint64_t items_refused[TG_SIGNAL_COUNT][TG_TRANSPORT_COUNT];
    /* requests refused, by reason, per signal x transport */
    _Atomic uint64_t requests_refused_busy[TG_SIGNAL_COUNT][TG_TRANSPORT_COUNT];
    _Atomic uint64_t requests_refused_bad[TG_SIGNAL_COUNT][TG_TRANSPORT_COUNT];
    _Atomic uint64_t bytes_received[TG_SIGNAL_COUNT][TG_TRANSPORT_COUNT]; /* wire bytes */
    _Atomic uint64_t commit_count;
    _Atomic uint64_t commit_bucket[TG_STATS_COMMIT_BUCKETS + 1]; /* last = +Inf */
    _Atomic uint64_t commit_sum_us;
    _Atomic uint64_t connections_refused;
    _Atomic uint64_t timeouts;
    /* classification at ingest */
    _Atomic uint64_t classified;        /* requests classified and stored so */
    _Atomic uint64_t classify_failed;   /* stored unclassified, fail-closed retention */
    _Atomic uint64_t classify_ns;       /* time spent classifying and encoding */
    _Atomic uint64_t classify_findings; /* classified values (spans of values) */
    /* What each server refused before a handler saw it (and the receivers'
     * decompression caps), by reason: tollgate_refused_total. */
    tg_refusals refused_grpc, refused_http, refused_api;
} tg_stats;

void tg_stats_observe_commit(tg_stats *s, double seconds);

/* dst = base + more[0] + ... + more[n-1], counter by counter: /metrics
 * over the collector's own counters and each ingest loop's
 * (collector/loops.c). dst may not be one of the sources. */
void tg_stats_sum(tg_stats *dst, const tg_stats *base, const tg_stats *const *more,
                  size_t n);

/* Items accepted over every signal and transport. */
uint64_t tg_stats_items_accepted(const tg_stats *s);

#endif
