/* What a destination may see of an OTLP request: the view callback the
 * forwarder runs on every committed request before summarising it, and the
 * built-in fail-closed view used until the residency rules are wired in.
 *
 * A view takes the request as decoded from the local store and gives back
 * the message the destination may receive (a new message in `arena`, or
 * `in` itself modified in place: the forwarder owns `in` and never reads
 * it again except for cost quantities, which are numbers). It tallies what
 * it did per data class x action, for the egress ledger. Returning an
 * error means nothing of the request leaves (fail closed). */
#ifndef TG_VIEW_H
#define TG_VIEW_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_arena.h"
#include "tg_otlp.h"

#define TG_TALLY_MAX 64

/* Counts per data class x action. A fixed table: a view with more pairs
 * folds the rest into ("other", action). */
typedef struct tg_egress_tally {
    size_t n;
    struct {
        char data_class[48];
        char action[16];
        uint64_t count;
    } e[TG_TALLY_MAX];
} tg_egress_tally;

void tg_egress_tally_reset(tg_egress_tally *t);
void tg_egress_tally_add(tg_egress_tally *t, const char *data_class, const char *action,
                         uint64_t n);
void tg_egress_tally_merge(tg_egress_tally *dst, const tg_egress_tally *src);

/* `cls` (cls_len bytes) is the classification the collector stored with
 * the request at ingest (the rules engine's encoding), or NULL: a view that
 * needs one and gets NULL, or one it cannot use (another policy), classifies
 * the request itself. */
typedef int (*tg_view_fn)(void *ctx, enum tg_signal sig, ProtobufCMessage *in,
                          const uint8_t *cls, size_t cls_len, tg_arena *arena,
                          ProtobufCMessage **out, tg_egress_tally *tally);

/* A destination view kind: its view function and the policy version it
 * records with everything that leaves (called per batch, so a reload shows
 * at once). The forwarder runs one, chosen by `forward.view`; every kind
 * is in one list (view_default.c, tg_views), looked up by name. */
typedef struct tg_view_desc {
    const char *name; /* "builtin", "rules": as `forward.view` spells it */
    tg_view_fn apply;
    const char *(*policy_version)(void *ctx);
} tg_view_desc;

/* The kind named `name`, or NULL. */
const tg_view_desc *tg_view_find(const char *name);

/* The built-in view ("builtin"; ctx is a tg_view_allowlist or NULL). Fail closed: every
 * attribute (resource, scope, span, event, link, log, data point) whose key is not on the
 * allow-list is removed, as are attribute values that are not scalars; span names and
 * status messages are reduced to templates (tg_template.h); log bodies are
 * reduced to templates; events, links, exemplars and metric descriptions
 * are removed. Counted as ("unclassified", "drop" | "pass" |
 * "generalise"). */
typedef struct tg_view_allowlist {
    const char *const *extra_keys; /* added to the built-in list */
    size_t n_extra;
} tg_view_allowlist;

/* tg_view_fn; ctx is a tg_view_allowlist or NULL. */
int tg_view_allowlist_fn(void *ctx, enum tg_signal sig, ProtobufCMessage *in,
                         const uint8_t *cls, size_t cls_len, tg_arena *arena,
                         ProtobufCMessage **out, tg_egress_tally *tally);

/* 1 if `key` is on the built-in allow-list (or ctx's extra keys). */
int tg_view_key_allowed(const tg_view_allowlist *al, const char *key);

/* The built-in allow-list, NULL-terminated (for docs and tests). */
extern const char *const tg_view_default_keys[];

extern const tg_view_desc tg_view_builtin;

#endif
