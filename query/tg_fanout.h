/* Fan-out: one request sent to many sites at once, answered within a
 * deadline, each site's outcome named.
 *
 * The centre asks every site that may hold an answer in parallel (libcurl
 * multi on the calling thread) and never waits past the query's deadline:
 * a site that is down, refuses, stalls or answers garbage becomes a status
 * entry with a reason, never a hang and never a failed query on its own.
 * The caller decides what a partial answer means (warn, or fail when the
 * asker demanded completeness); this module only reports, in the shape of
 * Elasticsearch's `_clusters` block and Thanos's partial-response
 * warnings.
 *
 * Ownership: tg_fanout_run fills caller-provided results; each result's
 * body is malloc'd and freed by tg_fanout_results_free. */
#ifndef TG_FANOUT_H
#define TG_FANOUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* What became of one site's part of a query. */
#define TG_SITE_STATES(XX)                                                               \
    XX(SUCCESSFUL, "successful") /* answered 2xx (or 404: holds nothing) */              \
    XX(PARTIAL, "partial")       /* answered, but said its answer is cut */              \
    XX(SKIPPED, "skipped")       /* pruned before asking (time, matcher) */              \
    XX(FAILED, "failed")         /* unreachable, refused or bad answer */                \
    XX(TIMED_OUT, "timed_out")   /* no answer before its deadline */

typedef enum {
#define TG_SITE_STATE_ENUM(name, str) TG_SITE_##name,
    TG_SITE_STATES(TG_SITE_STATE_ENUM)
#undef TG_SITE_STATE_ENUM
} tg_site_state;

/* One site to ask. */
typedef struct {
    const char *name;  /* the site's name, as the registry has it */
    const char *url;   /* the whole URL, query string included */
    const char *token; /* bearer token, or NULL */
    int skip;          /* set by the caller's pruning: not asked */
    const char *skip_reason;
} tg_fanout_target;

typedef struct {
    uint64_t site_timeout_ms; /* one site's limit; shorter than deadline */
    uint64_t deadline_ms;     /* the whole fan-out's limit */
    uint64_t connect_timeout_ms;
    size_t max_body_bytes; /* a bigger answer fails that site */
    const char *ca_file;   /* TLS: CA bundle for https sites, or NULL */
    const char *cert_file; /* TLS client certificate (mTLS), or NULL */
    const char *key_file;
    const char *accept; /* Accept header, default application/json */
} tg_fanout_options;

void tg_fanout_options_default(tg_fanout_options *o);

typedef struct {
    tg_site_state state;
    /* Why a site is not successful: "unreachable", "refused" (401/403),
     * "timeout" (its own limit), "deadline" (the query's), "too_large",
     * "http_status", "skipped: ..." or the caller's skip reason. Static. */
    const char *reason;
    char message[256]; /* detail for people: the site's own error words */
    long http_status;  /* 0 when no HTTP answer arrived */
    double took_ms;
    char *body; /* NUL-terminated answer (any status), or NULL */
    size_t body_len;
} tg_fanout_result;

/* Asks every target not marked skip, in parallel, and fills out[i] for
 * targets[i]. Returns 0 when the fan-out ran (whatever each site did), or
 * TG_ENOMEM / TG_EINVAL. Never takes longer than deadline_ms plus a few
 * milliseconds of bookkeeping. */
int tg_fanout_run(const tg_fanout_target *targets, size_t n, const tg_fanout_options *opt,
                  tg_fanout_result *out);

void tg_fanout_results_free(tg_fanout_result *r, size_t n);

/* The per-site status block every federated answer carries:
 * {"total":N,"successful":N,"partial":N,"skipped":N,"failed":N,
 *  "timed_out":N,"details":{"SITE":{"status":"...","took_ms":N,
 *  "reason":"...","message":"..."},...}}
 * Returns a new reference; *is_partial set when any site is not
 * successful (a skipped site counts: it was pruned, which the caller only
 * does when it cannot hold data, so skipped does NOT make it partial). */
json_t *tg_fanout_status_json(const tg_fanout_target *targets, const tg_fanout_result *r,
                              size_t n, int *is_partial);

/* "site fra: timed out after 2000 ms; site nyc: unreachable (...)" for
 * warnings arrays and stderr; malloc'd, or NULL when every site answered. */
char *tg_fanout_warning_text(const tg_fanout_target *targets, const tg_fanout_result *r,
                             size_t n);

#endif
