/* The residency rules engine (rules/tg_rules.h) as a forwarder view: the
 * `central` destination's view of each request, classified once with the
 * policy currently in the collector's slot (so a SIGHUP reload applies to
 * the next request), with class x action counted for the egress ledger and
 * the policy's version recorded with every batch.
 *
 * No second scan: the classification the collector stored with the request
 * at ingest is decoded and used as it is. Only a request stored without one
 * (classification failed at ingest, or a store from before it was kept), or
 * classified under another policy (a reload since), is classified again.
 *
 * Wiring, in the collector:
 *   static tg_view_rules vr = {.destination = "central"};
 *   vr.slot = rules_slot; pthread_mutex_init(&vr.mu, NULL);
 *   link_opts.view = &tg_view_rules_kind; link_opts.view_ctx = &vr;
 *
 * Fail closed: no policy, a policy without the destination, or a failed
 * classification: nothing of the request leaves. */
#ifndef TG_VIEW_RULES_H
#define TG_VIEW_RULES_H

#include <pthread.h>

#include "tg_view.h"

typedef struct tg_rules_slot tg_rules_slot;

typedef struct tg_view_rules {
    tg_rules_slot *slot;     /* the collector's policy holder */
    const char *destination; /* "central" */
    pthread_mutex_t mu;      /* guards version and the counts */
    char version[96];        /* of the policy last used */
    /* Requests whose stored classification was used; classified here
     * because none was stored; classified here because it was stored under
     * another policy (or did not fit the request). */
    uint64_t n_stored, n_unstored, n_stale;
} tg_view_rules;

/* tg_view_fn; ctx is a tg_view_rules. `classification`, if not NULL, must
 * be the engine's classification of `in` itself. */
int tg_view_rules_fn(void *ctx, enum tg_signal sig, ProtobufCMessage *in,
                     const uint8_t *cls, size_t cls_len, tg_arena *arena,
                     ProtobufCMessage **out, tg_egress_tally *tally);

/* The three counts above, read consistently. */
void tg_view_rules_counts(tg_view_rules *vr, uint64_t *stored, uint64_t *unstored,
                          uint64_t *stale);

/* The rules engine's view kind ("rules"; ctx is a tg_view_rules). */
extern const tg_view_desc tg_view_rules_kind;

#endif
