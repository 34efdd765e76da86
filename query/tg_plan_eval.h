/* Evaluating a plan: the site part over one record (plan_eval.c) and the
 * centre part over one whole trace (trace_eval.c).
 *
 * Records are seen through small neutral views, so the evaluators need
 * neither the store nor the OTLP model: whoever holds a span fills a view
 * with borrowed pointers and callbacks for attribute lookup. */
#ifndef TG_PLAN_EVAL_H
#define TG_PLAN_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "tg_plan.h"

/* Looks up attribute `key` (NUL-terminated) of the record behind ctx. Returns
 * 1 and fills *out (pointers borrowed from the record) when present, 0 when
 * absent. A NULL callback means no attributes of that scope. */
typedef int (*tg_attr_fn)(const void *ctx, const char *key, tg_pval *out);

typedef struct tg_span_view {
    const char *name;           /* NUL-terminated; NULL reads as "" */
    int status;                 /* OTLP status code: 0 unset, 1 ok, 2 error */
    int kind;                   /* OTLP span kind: 0 unspecified .. 5 consumer */
    uint64_t start_ns, end_ns;  /* unix nanoseconds */
    const char *status_message; /* NULL reads as "" */
    const uint8_t *span_id;     /* 8 bytes */
    const uint8_t *trace_id;    /* 16 bytes */
    const uint8_t *parent_id;   /* 8 bytes, NULL (or all zero) for a root */
    const char *service;        /* resource service.name, NULL when none */
    const char *site;           /* the site that holds the span */
    tg_attr_fn span_attr, resource_attr;
    const void *ctx;
} tg_span_view;

typedef struct tg_log_view {
    uint64_t time_ns;
    const char *body; /* the line; NULL reads as "" */
    size_t body_len;
    const char *severity; /* severity text ("ERROR"), NULL when none */
    int severity_number;
    const char *service, *site;
    tg_attr_fn attr, resource_attr;
    const void *ctx;
} tg_log_view;

/* Three-valued results: a site cannot decide what needs the whole trace. */
enum tg_tri { TG_FALSE = 0, TG_TRUE = 1, TG_UNKNOWN = 2 };

/* The site's decision for a span: 1 when some pushed-down filter is true or
 * unknown for it (the span's trace is a candidate), else 0. */
int tg_plan_span_candidate(const tg_plan *p, const tg_span_view *v);

/* 0 when the plan cannot match anything held at `site` (every pushed-down
 * filter is false whatever the span, knowing only its site), 1 when it may.
 * For LogQL, the stream selector's `site` matchers. The fan-out prunes with
 * it. */
int tg_plan_site_may_match(const tg_plan *p, const char *site);

/* The site part of a LogQL plan over one record: 1 when the record passes
 * the selector and every pipeline stage, else 0. */
int tg_plan_log_match(const tg_plan *p, const tg_log_view *v);

/* The value of a scalar metric expression without any data (vector(1) +
 * vector(1), Grafana's health check): 0 and *out, or TG_EINVAL when the
 * expression needs log data. */
int tg_plan_eval_constant(const tg_plan *p, double *out);

/* --- centre: one stitched trace ---------------------------------------------- */

/* The fields a whole trace gives to trace-level intrinsics. */
typedef struct tg_trace_ctx {
    uint64_t start_ns, end_ns;
    const tg_span_view *root; /* NULL when the root span is missing */
} tg_trace_ctx;

void tg_trace_ctx_init(tg_trace_ctx *t, const tg_span_view *spans, size_t n);

/* One filter over one span with the trace known: TG_TRUE or TG_FALSE. */
int tg_plan_eval_filter_trace(const tg_plan *p, size_t filter, const tg_span_view *v,
                              const tg_trace_ctx *t);

/* A spanset of the answer: indices into the trace's span array, ascending,
 * the by() value that grouped it (TG_PV_NIL without by()), and the values of
 * the aggregates its pipeline computed, in stage order. */
typedef struct tg_spanset {
    size_t *spans;
    size_t nspans;
    tg_pval by;
    double *aggs;
    size_t naggs;
} tg_spanset;

typedef struct tg_trace_result {
    tg_spanset *sets;
    size_t nsets;
} tg_trace_result;

/* Evaluates the whole plan (spanset expression, pipeline) over the spans of
 * one stitched trace. The trace matches when res->nsets > 0. 0, TG_EINVAL for
 * a LogQL plan, or TG_ENOMEM. Free the result with tg_trace_result_free(). */
int tg_trace_eval(const tg_plan *p, const tg_span_view *spans, size_t n,
                  tg_trace_result *res);
void tg_trace_result_free(tg_trace_result *res);

/* Reads operand `o` of a span (with the trace context, or NULL at a site,
 * where trace-level intrinsics are absent): 1 and *out, 0 when absent. */
int tg_plan_operand_value(const tg_operand *o, const tg_span_view *v,
                          const tg_trace_ctx *t, tg_pval *out);

/* The service every pushed-down filter (or the LogQL selector) requires,
 * when there is one: the site then reads only that service's records
 * through its service index instead of every record in the window.
 * 1 and the name in out (NUL-terminated), or 0 when the query does not
 * pin one (or it does not fit in cap). */
int tg_plan_service_index(const tg_plan *p, char *out, size_t cap);

#endif
