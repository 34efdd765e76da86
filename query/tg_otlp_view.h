/* OTLP spans seen through the query evaluator's neutral span view.
 *
 * The site evaluates pushed-down filters over the spans of each stored
 * request; the centre evaluates the whole query over a stitched trace
 * (decoded back into the same protobuf model). Both build their views
 * here, so an attribute is read the same way on both sides. Views borrow
 * from the request: they live as long as it and the arena. */
#ifndef TG_OTLP_VIEW_H
#define TG_OTLP_VIEW_H

#include <stddef.h>

#include "tg_arena.h"
#include "tg_otlp.h"
#include "tg_plan_eval.h"

/* One view per span of `req`, in document order, in `arena`. `site` is the
 * site holding the spans unless a resource says otherwise
 * (`tollgate.site`, as a stitched trace's resources do). For each view,
 * (*rs_of)[i] is the index of its ResourceSpans, and (*span_of)[i] the
 * span itself. Returns 0 or TG_ENOMEM. */
int tg_otlp_span_views(const tg_otlp_traces_req *req, const char *site, tg_arena *arena,
                       tg_span_view **views,
                       const Opentelemetry__Proto__Trace__V1__Span ***spans,
                       size_t **rs_of, size_t *n);

/* The same for log records: one tg_log_view each (string bodies are the
 * line; the severity text, if any, is the `level`). */
int tg_otlp_log_views(const tg_otlp_logs_req *req, const char *site, tg_arena *arena,
                      tg_log_view **views,
                      const Opentelemetry__Proto__Logs__V1__LogRecord ***records,
                      size_t **rl_of, size_t *n);

#endif
