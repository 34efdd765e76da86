/* Residency rules: classify every field of an OTLP request once, then derive
 * what each destination may receive.
 *
 * Lifecycle, as the collector uses it:
 *
 *   policy = tg_rules_policy_load(files, n, &opt, &diag);   once per (re)load
 *   tg_rules_slot_swap(slot, policy);                        SIGHUP: atomic swap
 *   ...
 *   p = tg_rules_slot_acquire(slot);                         per request
 *   tg_rules_classify(p, msg, req_arena, &cls);              one scan
 *   tg_rules_view(cls, dest, out_arena, NULL, &view, &st);   per destination,
 *   ...                                                      no re-scan
 *   tg_rules_policy_unref(p);
 *
 * Ownership and threads. A policy is immutable after load (its only mutable
 * state is a table of atomic counters) and reference counted, so any number
 * of threads classify with it while a reload builds its successor. A
 * classification lives in the caller's arena and borrows the classified
 * message: both must outlive it, and the caller keeps a policy reference for
 * as long as the classification is used. A view is a new message in the
 * caller's arena that shares unchanged sub-messages and strings with the
 * classified message, so it is valid only while that message is; encode it
 * (protobuf_c_message_pack) before the request arena is reset.
 *
 * Fail closed. A value whose classification cannot finish (a match limit,
 * nesting too deep) is classified as the reserved class "rules.unclassifiable"
 * and every destination applies its `on_error` action (redact unless set).
 * Any function here that returns an error leaves no usable result: the
 * caller must then send nothing for that request.
 *
 * Nothing here logs, and no diagnostic ever quotes a telemetry value. */
#ifndef TG_RULES_H
#define TG_RULES_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_arena.h"

typedef struct tg_rules_policy tg_rules_policy;
typedef struct tg_rules_classification tg_rules_classification;
typedef struct tg_rules_slot tg_rules_slot;

/* Actions, ordered from least to most restrictive: when several classes
 * overlap in one value, the most restrictive action applies. */
enum tg_rules_action {
    TG_RULES_PASS = 0,       /* leaves unchanged */
    TG_RULES_GENERALISE = 1, /* IPv4 /24, IPv6 /48, number ranges, time buckets */
    TG_RULES_MASK = 2,       /* keep first/last N characters */
    TG_RULES_HASH = 3,       /* hmac-sha256:<key id>:<hex> */
    TG_RULES_REDACT = 4,     /* [REDACTED:<class>] or configured text */
    TG_RULES_DROP = 5,       /* the field (or matched text) is removed */
    TG_RULES_KEEP_LOCAL = 6, /* the whole record stays at the site */
};
#define TG_RULES_ACTION_COUNT 7

/* "pass", "generalise", "mask", "hash", "redact", "drop", "keep-local". */
const char *tg_rules_action_name(enum tg_rules_action a);

/* The class given to every unclassifiable value (fail closed). */
#define TG_RULES_CLASS_UNCLASSIFIABLE "rules.unclassifiable"

/* ---- loading ------------------------------------------------------------ */

/* Where a problem is: every error and warning names file, line and column
 * (1-based). */
typedef struct tg_rules_diag {
    char file[512];
    unsigned line, column;
    char message[512];
} tg_rules_diag;

typedef struct tg_rules_options {
    /* Base directory for relative key files; NULL: the directory of the
     * policy file that names the key. The collector passes its data dir. */
    const char *key_dir;
    /* Honour `create: true` on keys: write a new random key file (0600)
     * when it does not exist. Off by default: loading never writes. */
    int create_keys;
    /* A key whose source is missing gets a random in-memory key instead of
     * failing the load (for `tollgate rules test`); reported as a warning. */
    int ephemeral_keys;
    /* Refuse `include:` and key files (fuzzing, untrusted text). */
    int no_filesystem;
    /* Optional: called for each warning (the load still succeeds). */
    void (*warn)(void *ctx, const tg_rules_diag *d);
    void *warn_ctx;
} tg_rules_options;

/* One policy text held in memory; `name` is used in diagnostics. */
typedef struct tg_rules_source {
    const char *name;
    const char *text;
    size_t len;
} tg_rules_source;

/* Loads and compiles `paths` in order (merge order: docs/rules.md). Returns
 * a policy with one reference, or NULL with the first error in `err`
 * ("FILE:LINE:COLUMN: message" via tg_rules_diag_format). `opt` may be NULL. */
tg_rules_policy *tg_rules_policy_load(const char *const *paths, size_t n,
                                      const tg_rules_options *opt, tg_rules_diag *err);

/* The same from texts in memory; includes resolve relative to the current
 * directory unless opt->no_filesystem. */
tg_rules_policy *tg_rules_policy_load_sources(const tg_rules_source *src, size_t n,
                                              const tg_rules_options *opt,
                                              tg_rules_diag *err);

tg_rules_policy *tg_rules_policy_ref(tg_rules_policy *p);
void tg_rules_policy_unref(tg_rules_policy *p);

/* "FILE:LINE:COLUMN: message" (or "FILE: message" without a position). */
void tg_rules_diag_format(const tg_rules_diag *d, char *buf, size_t len);

/* The policy version recorded with everything that leaves: "sha256:" and the
 * hex SHA-256 of the loaded files (names and bytes, in load order) and of
 * each key's id and fingerprint. Stable for the policy's lifetime. */
const char *tg_rules_policy_version(const tg_rules_policy *p);

/* The texts the policy was loaded from, in load order (includes where
 * they were read), each after a line "# ---- NAME": what the version's
 * digest covers but the keys. Stable for the policy's lifetime; the
 * collector records it per version for the audit report's diffs. */
const char *tg_rules_policy_text(const tg_rules_policy *p, size_t *len);

/* rules/default.yaml: $TOLLGATE_RULES_DIR/default.yaml if set, else the one
 * beside this library's sources, else /usr/share/tollgate/rules/default.yaml. */
const char *tg_rules_default_path(void);

/* ---- what a policy holds -------------------------------------------------- */

typedef struct tg_rules_site_info {
    const char *name;    /* "" if unset */
    const char *country; /* ISO 3166-1 alpha-2, "" if unset */
    const char *region;  /* "EU", "US", ..., "" if unset */
} tg_rules_site_info;

typedef struct tg_rules_class_info {
    const char *name; /* "pii.email" */
    const char *description;
    const char *regulation;  /* "GDPR Art. 4(1); GDPR Art. 9" */
    const char *legal_basis; /* "GDPR Art. 6(1)(f) (legitimate interests)", "" unset */
    uint64_t retention_sec;  /* local retention, 0 = the store's default */
} tg_rules_class_info;

typedef struct tg_rules_destination_info {
    const char *name;
    const char *country, *region, *purpose;
} tg_rules_destination_info;

void tg_rules_site(const tg_rules_policy *p, tg_rules_site_info *out);
size_t tg_rules_n_classes(const tg_rules_policy *p);
int tg_rules_class(const tg_rules_policy *p, size_t i, tg_rules_class_info *out);
size_t tg_rules_n_destinations(const tg_rules_policy *p);
int tg_rules_destination(const tg_rules_policy *p, size_t i,
                         tg_rules_destination_info *out);
/* Index of destination `name`, or TG_ENOT_FOUND. */
int tg_rules_destination_index(const tg_rules_policy *p, const char *name);
/* The action destination `dest` applies to class `cls`. */
enum tg_rules_action tg_rules_action_for(const tg_rules_policy *p, size_t dest,
                                         size_t cls);

/* The built-in detectors (for `tollgate rules detectors` and docs). */
typedef struct tg_rules_detector_info {
    const char *name; /* what a policy writes: values: [NAME] */
    const char *summary;
    const char *validator;       /* "" when the format has no check */
    const char *const *keywords; /* NULL-terminated, or NULL: never needs one */
} tg_rules_detector_info;

size_t tg_rules_n_detectors(void);
int tg_rules_detector(size_t i, tg_rules_detector_info *out);

/* ---- atomic swap ---------------------------------------------------------- */

/* A holder of the current policy for the daemon: readers acquire a
 * reference, a reload swaps in a new policy; the old one is freed when its
 * last reader lets go. `initial` may be NULL; the slot takes its own ref. */
tg_rules_slot *tg_rules_slot_create(tg_rules_policy *initial);
void tg_rules_slot_destroy(tg_rules_slot *s);
/* A new reference to the current policy (NULL if none); unref when done. */
tg_rules_policy *tg_rules_slot_acquire(tg_rules_slot *s);
/* Installs `p` (the slot takes its own reference) and drops the old one. */
void tg_rules_slot_swap(tg_rules_slot *s, tg_rules_policy *p);

/* ---- classification ------------------------------------------------------- */

/* Classifies every value of `msg`, an OTLP Export{Trace,Logs,Metrics}
 * ServiceRequest (or TracesData / LogsData / MetricsData), in one scan.
 * The result and its tables live in `arena`. Returns 0, TG_EINVAL (not an
 * OTLP request), TG_ENOMEM (the arena's limit) or TG_ETOO_BIG (more findings
 * than the policy's limit); on error nothing may be sent. */
int tg_rules_classify(const tg_rules_policy *p, const ProtobufCMessage *msg,
                      tg_arena *arena, tg_rules_classification **out);

/* Classification remembers, per request, the values it found clean (with
 * their key and context) and does not scan them again when they repeat;
 * on by default. Off only to measure the scanner itself (benchmarks). */
void tg_rules_set_value_memo(int on);

typedef struct tg_rules_classify_stats {
    uint64_t places;           /* strings, numbers and containers looked at */
    uint64_t bytes_scanned;    /* bytes run through the detectors */
    uint64_t bytes_remembered; /* bytes not scanned: the same value, in the same
                                  context, was found clean earlier in the request */
    uint64_t findings;         /* classified spans of values */
    uint64_t failclosed;       /* values classified unclassifiable */
    uint64_t records;          /* spans, log records, metrics, data points */
} tg_rules_classify_stats;

void tg_rules_classification_stats(const tg_rules_classification *c,
                                   tg_rules_classify_stats *out);

/* The classes found in the request: writes up to `max` class indexes, returns
 * how many there are. With tg_rules_class() this gives per-class retention. */
size_t tg_rules_classification_classes(const tg_rules_classification *c, uint16_t *out,
                                       size_t max);

/* ---- views ------------------------------------------------------------------ */

/* One changed field, for `tollgate rules test`: never carries the raw
 * value, only what leaves. */
typedef struct tg_rules_change {
    const char
        *path; /* "resourceSpans[0].scopeSpans[0].spans[2].attributes[\"user.email\"]" */
    enum tg_rules_action action;
    const char *class_name;
    const char *regulation;
    const char *detector;    /* "builtin:email", "key:user.email", "pattern", ... */
    const char *rule;        /* where the detecting rule is: "packs/gdpr.yaml:14" */
    const char *action_rule; /* where the destination's action is, or "(default)" */
    const char *result;      /* what leaves, NULL when removed or withheld */
    size_t result_len;
    int whole_record; /* 1: the enclosing record was withheld */
} tg_rules_change;

typedef struct tg_rules_view_opts {
    void (*explain)(void *ctx, const tg_rules_change *ch);
    void *explain_ctx;
    /* Called once for each value or record the view changes or withholds
     * because of a finding, with the deciding class and action: explain's
     * class x action without its path and rule strings, which cost the
     * forwarder more than the view itself (the egress tally). Values
     * dropped for want of an allow_keys entry are not findings and are
     * not reported here (tg_rules_view_stats.dropped_unclassified). */
    void (*tally)(void *ctx, const char *class_name, enum tg_rules_action action);
    void *tally_ctx;
} tg_rules_view_opts;

typedef struct tg_rules_view_stats {
    uint64_t changed;  /* values transformed or removed */
    uint64_t withheld; /* records (resource groups, scopes, spans, logs, metrics, points)
                          kept local */
    uint64_t dropped_unclassified; /* attributes removed by an allow-list */
    uint64_t names_templated;      /* names that left as templates (changed) */
} tg_rules_view_stats;

/* The message destination `dest` may receive, in `arena`, derived from the
 * classification without scanning again. Counts class x action for the
 * destination in the policy's counters. Returns 0, TG_EINVAL or TG_ENOMEM.
 * `opt` and `st` may be NULL. */
int tg_rules_view(const tg_rules_classification *c, size_t dest, tg_arena *arena,
                  const tg_rules_view_opts *opt, ProtobufCMessage **out,
                  tg_rules_view_stats *st);

/* ---- counters for /metrics ---------------------------------------------- */

/* Calls cb for every non-zero count of values per destination x class x
 * action since the policy was loaded (plus what counts_inherit carried). */
void tg_rules_counts_foreach(const tg_rules_policy *p,
                             void (*cb)(void *ctx, const char *dest, const char *cls,
                                        const char *action, uint64_t n),
                             void *ctx);
/* Adds `old`'s counts into `p` for matching names, so a reload does not
 * reset the /metrics counters. Call before swapping `p` in. */
void tg_rules_counts_inherit(tg_rules_policy *p, const tg_rules_policy *old);

/* ---- keeping a classification with the raw data ----------------------------- */

/* A compact, position-based encoding of the classification (findings by
 * record and field ordinal) and the policy version, for the local store. */
int tg_rules_classification_encode(const tg_rules_classification *c, tg_arena *arena,
                                   uint8_t **out, size_t *len);

/* Rebuilds a classification for `msg` (the same message, decoded again)
 * without scanning. TG_EVERSION if the policy changed since it was encoded
 * (the caller classifies again), TG_EPARSE if the bytes do not fit `msg`. */
int tg_rules_classification_decode(const tg_rules_policy *p, const ProtobufCMessage *msg,
                                   const uint8_t *data, size_t len, tg_arena *arena,
                                   tg_rules_classification **out);

#endif
