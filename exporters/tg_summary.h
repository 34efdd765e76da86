/* The summariser: turns viewed OTLP requests into what the central view
 * receives, accumulated between two outbox flushes:
 *
 *   span summaries   one per span (ids, service, name, kind, start,
 *                    duration, status, the attributes the view let through)
 *   RED              per service x operation x kind x minute: requests,
 *                    errors, latency as an exponential histogram
 *   log templates    per service x severity x template x minute: a count
 *   metric points    after the estate's name and label mapping
 *   cost records     per service x hour x meter (FOCUS-shaped)
 *
 * Every aggregate is an increment over the period since the last flush, so
 * a crash that loses a period loses nothing: the forwarder re-reads the
 * store from its durable cursor and the period is summarised again, and the
 * centre adds increments up.
 *
 * Cost quantities (CPU-seconds, GPU-seconds, tokens) are read from the
 * request as stored (`raw`): they are numbers, and a view may have removed
 * the attributes that carry them. They are attributed to a service name
 * only if the viewed request carries that name; otherwise to
 * "unattributed", so no name the view withheld leaves through cost
 * records.
 *
 * Not thread-safe: one summariser per forwarder worker thread. */
#ifndef TG_SUMMARY_H
#define TG_SUMMARY_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "tg_arena.h"
#include "tg_fwd_config.h"
#include "tg_otlp.h"
#include "tollgate/v1/forward.pb-c.h"

typedef struct tg_summarizer tg_summarizer;

tg_summarizer *tg_summarizer_create(const tg_forward_config *cfg);
void tg_summarizer_destroy(tg_summarizer *s);

/* Adds one request. raw_bytes: its protobuf size as ingested;
 * stored_bytes: its size in the local store (0 if unknown). Returns 0 or
 * TG_ENOMEM (the period is then unusable: clear and summarise again). */
int tg_summarizer_add(tg_summarizer *s, enum tg_signal sig, const ProtobufCMessage *raw,
                      const ProtobufCMessage *viewed, uint64_t raw_bytes,
                      uint64_t stored_bytes, uint64_t now_ns);

typedef struct tg_summary_counts {
    uint64_t spans, red, logs, metrics, costs;
    uint64_t records;      /* all of the above */
    uint64_t t_min, t_max; /* data time covered, unix ns (0 if none) */
    /* distinct span names this period: as stored at the site, and as sent
     * (after the view's name templates) */
    uint64_t names_raw, names_sent;
} tg_summary_counts;

void tg_summarizer_counts(const tg_summarizer *s, tg_summary_counts *c);

/* Fills `b` (already initialised; site, sequence and policy set by the
 * caller) with everything accumulated. The batch points into the
 * summariser's memory: pack it before the next add or clear. */
int tg_summarizer_build(tg_summarizer *s, Tollgate__V1__Batch *b, uint64_t now_ns);

/* Attributes the wire bytes of the batch just built to its services as
 * telemetry-forwarded volume of the current hour; it leaves with the next
 * batch. Call after build, before clear. */
void tg_summarizer_account_forwarded(tg_summarizer *s, uint64_t wire_bytes,
                                     uint64_t now_ns);

/* Bytes the summariser holds now: its period arena (blocks, used or not)
 * and its maps' and lists' tables. What a forwarder's memory grows with
 * (the period's span summaries, up to outbox.max_batch_spans). */
size_t tg_summarizer_memory(const tg_summarizer *s);

/* Starts a new period (keeps what crosses periods: counter baselines and
 * forwarded volume not yet sent). */
void tg_summarizer_clear(tg_summarizer *s);

#endif
