/* tollgate query: the client side of a site's (or central's) query API.
 *
 * Fetching (query_cli.c over query_http.c, libcurl) is kept apart from rendering
 * (trace_render.c, signal_render.c): the renderers take a parsed OTLP/JSON
 * document and a FILE*, so they are tested without a server. Everything
 * printed that came from the server passes through tg_query_put_text(),
 * which escapes control characters: a span name must not be able to drive
 * the user's terminal. */
#ifndef TG_QUERY_CLI_H
#define TG_QUERY_CLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The whole command, with its output streams as parameters: argv[0] is
 * "query". Returns the exit status (0, 1 failure, 2 bad usage). */
int tg_query_run(int argc, char **argv, FILE *out, FILE *err);

/* Checks a trace id (32 hex digits, not all zero) and writes it in lower
 * case to out. Returns 0 or TG_EINVAL. */
int tg_query_parse_trace_id(const char *s, char out[33]);

/* Parses the LogQL stream selector subset `{}` or `{service_name="NAME"}`
 * (double quotes or backticks). service is "" for `{}`. Returns 0, or
 * TG_EINVAL with the reason in why. */
int tg_query_parse_selector(const char *s, char *service, size_t service_len, char *why,
                            size_t whylen);

/* OTLP/JSON TracesData as a span tree: a header line, then one line per
 * span, children indented under their parent and ordered by start time;
 * spans whose parent is absent are roots. Returns the number of spans. */
size_t tg_query_render_trace(const json_t *traces_data, FILE *out);

/* OTLP/JSON MetricsData, one `name{labels} value` line per data point
 * (histograms and summaries as _bucket/_sum/_count series, Prometheus
 * style). Returns the number of lines. */
size_t tg_query_render_metrics(const json_t *metrics_data, FILE *out);

/* ---- helpers shared by the renderers ---- */

/* Writes s with control characters (C0, DEL, C1) escaped. */
void tg_query_put_text(FILE *out, const char *s);

/* obj[camel] or, failing that, obj[snake] (OTLP/JSON accepts both). */
const json_t *tg_query_field(const json_t *obj, const char *camel, const char *snake);

/* An OTLP/JSON 64-bit integer: a decimal string or a JSON integer. */
int tg_query_uint64(const json_t *v, uint64_t *out);

/* obj.attributes[key] as text (a string value, or an OTLP/JSON int64,
 * which is a string), or NULL. */
const char *tg_query_attr_string(const json_t *obj, const char *key);

/* holder.resource.attributes[key] the same way, or NULL. */
const char *tg_query_resource_string(const json_t *holder, const char *key);

/* resource.attributes["service.name"] as a string, or "unknown_service". */
const char *tg_query_service_name(const json_t *resource_holder);

/* Nanoseconds since the epoch as RFC 3339 UTC with milliseconds. */
void tg_query_format_time(uint64_t ns, char *buf, size_t len);

/* An OTLP AnyValue as plain JSON (new reference; NULL if absent). */
json_t *tg_query_any_value(const json_t *any);

#endif
