/* Private to the summariser's files (summarize.c, sum_metrics.c). */
#ifndef TG_SUM_INTERNAL_H
#define TG_SUM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tg_exphist.h"
#include "tg_summary.h"

/* An open-addressing map from byte keys to pointers. Keys are borrowed
 * (they live in the period arena, or are malloc'd when `own_keys`). */
typedef struct tg_sum_map_ent {
    uint64_t h;
    const char *k;
    uint32_t klen;
    void *v;
} tg_sum_map_ent;

typedef struct tg_sum_map {
    tg_sum_map_ent *e;
    size_t cap, n;
    int own_keys;
} tg_sum_map;

uint64_t tg_sum_hash(const void *p, size_t n, uint64_t seed);
void *tg_sum_map_get(const tg_sum_map *m, const char *k, size_t klen, uint64_t h);
int tg_sum_map_put(tg_sum_map *m, const char *k, size_t klen, uint64_t h, void *v);
void tg_sum_map_clear(tg_sum_map *m);
void tg_sum_map_free(tg_sum_map *m);

/* A growable array of pointers (malloc'd; cleared, not freed, per period). */
typedef struct tg_sum_vec {
    void **v;
    size_t n, cap;
} tg_sum_vec;

int tg_sum_vec_push(tg_sum_vec *p, void *x);

typedef struct red_ent {
    const char *service, *operation;
    uint32_t kind;
    int64_t minute;
    uint64_t requests, errors;
    tg_exphist hist;
} red_ent;

typedef struct log_ent {
    const char *service, *tmpl;
    uint32_t severity;
    uint64_t id;
    int64_t minute;
    uint64_t count;
} log_ent;

/* Attribution dimensions of cost records (x_Model, x_Team, x_Run). */
enum { TG_DIM_MODEL, TG_DIM_TEAM, TG_DIM_RUN, TG_DIMS };
#define TG_DIM_MAX_VALUES 32

/* Each dimension's attribute values as the viewed request carries them: a
 * raw value attributes a record only if the view let it through unchanged,
 * so no value the view withheld or reshaped leaves in a cost record. */
typedef struct tg_sum_dims {
    const char *v[TG_DIMS][TG_DIM_MAX_VALUES];
    size_t n[TG_DIMS];
    /* Collected on first use: most spans carry no cost quantity, and
     * walking every viewed and raw attribute for every span was 8% of a
     * forwarding collector's CPU (perf, docs/benchmarks.md). */
    int ready;
    enum tg_signal sig;
    const ProtobufCMessage *viewed;
} tg_sum_dims;

typedef struct cost_ent {
    const char *service, *meter;
    const char *dim[TG_DIMS]; /* NULL: not attributed */
    int64_t hour;
    double qty;
} cost_ent;

typedef struct span_group {
    const char *service;
    tg_sum_vec spans;
} span_group;

/* A cumulative counter or gauge series seen before: the baseline for the
 * next delta. Keyed by a 64-bit hash of service, name and attributes. */
typedef struct series_state {
    double last;
    uint64_t t_ns;
} series_state;

typedef struct carry_ent {
    char service[128];
    int64_t hour;
    double bytes;
} carry_ent;

struct tg_summarizer {
    const tg_forward_config *cfg;
    tg_arena arena;        /* the period's strings and records */
    tg_sum_map groups;     /* service -> span_group */
    tg_sum_vec group_list; /* span_group*, in first-seen order */
    tg_sum_map red;        /* key -> red_ent */
    /* span name as sent -> name_ent (the name interned, and its template,
     * the RED operation): its size is the period's distinct names as sent */
    tg_sum_map ops;
    /* distinct span names of the period as stored: the view's name
     * templates make the sent ones fewer (cardinality at the centre) */
    tg_sum_map raw_names;
    tg_sum_vec red_list;
    tg_sum_map logs;
    tg_sum_vec log_list;
    tg_sum_vec metrics; /* Tollgate__V1__MetricPoint* */
    tg_sum_map costs;
    tg_sum_vec cost_list;
    tg_sum_map series; /* hash -> series_state (malloc'd, crosses periods) */
    carry_ent *carry;  /* forwarded volume waiting for the next period */
    size_t n_carry, cap_carry;
    uint64_t base_ns; /* time base of the period (first data time) */
    uint64_t t_min, t_max;
    uint64_t spans;
    uint64_t created_ns; /* first add: counters older than this give baselines */
    int failed;          /* an allocation failed in this period */
};

/* The entry for key in map m, made (zeroed, `size` bytes in the period
 * arena, also appended to list; *fresh 1) when absent; the caller fills a
 * fresh one. NULL (and s->failed set) when out of memory. */
void *tg_sum_entry(tg_summarizer *s, tg_sum_map *m, tg_sum_vec *list, const char *key,
                   size_t kl, uint64_t seed, size_t size, int *fresh);
/* Interned copy of [s, s+n) in the period arena (NULL on OOM). */
const char *tg_sum_intern(tg_summarizer *s, const char *p, size_t n);
void tg_sum_time(tg_summarizer *s, uint64_t t_ns);
void tg_sum_cost_add(tg_summarizer *s, const char *service, const char *meter,
                     int64_t hour, double qty);
/* The same, attributed to dims (TG_DIMS values, each NULL or a string). */
void tg_sum_cost_add_dims(tg_summarizer *s, const char *service, const char *const *dims,
                          const char *meter, int64_t hour, double qty);
/* "service.name" of a resource, or "unknown_service". */
/* Copies scalar attributes into wire KeyValues (labels renamed when
 * `map_labels`). */
int tg_sum_copy_attrs(tg_summarizer *s, tg_otlp_kv *const *attrs, size_t n,
                      int map_labels, Tollgate__V1__KeyValue ***out, size_t *nout);

/* sum_metrics.c */
int tg_sum_add_metrics(tg_summarizer *s, const tg_otlp_metrics_req *viewed);
/* Cost quantities of a raw request, attributed to the services in `allowed`
 * (names the viewed request carries). */
void tg_sum_cost_raw(tg_summarizer *s, enum tg_signal sig, const ProtobufCMessage *raw,
                     const char *const *allowed, size_t n_allowed, tg_sum_dims *dims,
                     uint64_t raw_bytes, uint64_t stored_bytes, uint64_t now_ns);
/* Sets d up for the viewed request; its values (traces: resource and span
 * attributes; metrics: resource attributes) are collected the first time
 * a cost record needs them. `viewed` must outlive d's use. */
void tg_sum_dims_viewed(const tg_summarizer *s, enum tg_signal sig,
                        const ProtobufCMessage *viewed, tg_sum_dims *d);

#endif
