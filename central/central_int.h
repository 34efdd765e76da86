/* The central daemon's state, shared by its handlers (central.c: uploads,
 * estate, metrics; query_api.c: federated queries and the Grafana APIs).
 * Internal to central/. */
#ifndef TG_CENTRAL_INT_H
#define TG_CENTRAL_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "server.h"
#include "tg_access.h"
#include "tg_arena.h"
#include "tg_central.h"
#include "tg_fanout.h"
#include "tg_plan.h"

/* What each role may see: the destination view a site applies for it
 * ("raw" for full fidelity, NULL for no telemetry at all) and whether it
 * may read the estate's cost. Built-in roles (sre, compliance, finance)
 * plus the users file's own `roles:`. */
#define TG_MAX_ROLES 32
typedef struct tg_role {
    char name[64];
    char view[64]; /* "" : may not query telemetry */
    int cost;
} tg_role;

typedef struct tg_roles {
    tg_role v[TG_MAX_ROLES];
    size_t n;
} tg_roles;

typedef struct central {
    tg_central_config cfg;
    tg_cstore *cs;
    tg_srv *srv;
    pthread_rwlock_t sites_lock; /* guards sites, users and roles (SIGHUP reloads) */
    tg_sites sites;
    tg_access users; /* --users: who may query, with which role */
    tg_roles roles;
    struct tg_ui_sessions *ui_sessions; /* the web UI's sign-ins (ui_session.h) */
    struct tg_witness *witness;         /* the sites' logs' witness (witness.h) */
    tg_models *models;                  /* model versions per site (models_api.c) */
    unsigned pmin, pmax;
    pthread_mutex_t ret_mu;
    pthread_cond_t ret_cv;
    int stopping;
    /* Published after the server starts; handlers run before that. */
    _Atomic int64_t server_cert_not_after;
    _Atomic uint64_t accepted, duplicates, heartbeats, refused_auth, refused_version,
        refused_bad, store_errors, invalid_records, refused_old_epoch, refused_ahead;
    _Atomic uint64_t witness_cosigned, witness_conflicts, witness_refused;
    tg_refusals refusals; /* by the HTTP server and the upload, by reason */
} central;

/* Loads the users file (users: [...] and optional roles: {NAME: {view, cost}})
 * into c->users and c->roles under the lock. initial: report to stderr. */
int tg_central_load_users(central *c, int initial);

/* The role of a user, or NULL. Call with sites_lock held. */
const tg_role *tg_central_role(const central *c, const char *name);

/* One site's call of a fan-out (the URL and token copied out of the
 * registry under its lock). */
typedef struct site_call {
    char name[64];
    char token[512];
    char url[9400];
} site_call;

/* A fan-out with its answers: docs[i] is site i's JSON answer when it
 * answered 200 with an object, else NULL (and res[i] says why). */
typedef struct site_fanout {
    site_call *calls;
    tg_fanout_target *targets;
    tg_fanout_result *res;
    json_t **docs;
    size_t n, asked, answered;
} site_fanout;

/* GETs `path` (with the role's view added) from every site with an API
 * address, minus those the `site` parameter, the plan's site matchers or
 * the window [from_ns, to_ns] (0: open; against each site's reported data
 * range) leave out. 0 or TG_ENOMEM. */
int tg_central_fanout(central *c, const tg_http_request *req, const char *path,
                      const char *view, const tg_plan *plan, uint64_t from_ns,
                      uint64_t to_ns, site_fanout *sf);
void tg_central_fanout_free(site_fanout *sf);

/* Adds the fan-out's `_sites` block, `is_partial` and warnings naming each
 * site that did not answer to `doc`, and decides the status: 502 when no
 * site that was asked answered, 503 when the answer is partial and
 * completeness was demanded (with `error` set), else `status`. */
int tg_central_fanout_finish(const site_fanout *sf, json_t *doc, int require_complete,
                             int status);

/* Authenticates a site by its upload token (and client certificate when
 * the registry names one): 0, or -1 after answering 401/403 (central.c). */
int tg_central_site_auth(central *c, const tg_http_request *req, const char *site,
                         tg_http_response *resp);

/* Answers with doc as compact JSON (doc is not released; NULL or a failed
 * encoding answers 500). */
void tg_central_answer_json(tg_http_response *resp, int status, const json_t *doc);
/* A federated query's answer: names the asker in doc when name_asker,
 * logs the query (kind, asker, view, status, then `via`), answers doc and
 * releases it. */
void tg_central_answer_query(tg_http_response *resp, const char *kind, const char *via,
                             const char *user, const char *role, const char *view,
                             int status, json_t *doc, int name_asker);

/* Answers {"error": "<message>"} with the status. */
/* A whole-number query parameter in [min, max] into *out (def when absent
 * or empty). Returns 1, or 0 after answering 400 naming the parameter (not
 * digits, a sign, past 2^64, out of range, or too long). */
int tg_central_param_u64(const tg_http_request *req, tg_http_response *resp,
                         const char *key, uint64_t min, uint64_t max, uint64_t def,
                         uint64_t *out);
void tg_central_answer_error(tg_http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Who a request's bearer token names: a user of the users file (user,
 * role, and the role's view, "" for a role that sees no telemetry) or, when
 * sites_ok, a registered site (site 1, user its name). */
typedef struct tg_central_who {
    char user[64], role[64], view[64];
    int site;
} tg_central_who;

/* 0 with *who filled; TG_ENOT_FOUND without an Authorization header,
 * TG_EINVAL for a token nobody holds, TG_ECONFIG (either way) when the
 * centre has no users configured. Takes sites_lock (the caller must not
 * hold it); the header's copy is cleansed. */
int tg_central_caller(central *c, const tg_http_request *req, int sites_ok,
                      tg_central_who *who);

/* Sets the WWW-Authenticate challenge on resp and returns the 401's
 * reason for tg_central_caller's rc, for the handler to answer in its
 * own format. */
const char *tg_central_challenge(tg_http_response *resp, int rc);

/* Any user of the users file (whatever the role): for the estate and
 * /metrics, which carry health and aggregates but no telemetry values.
 * 1, or 0 after answering 401. */
int tg_central_authenticate(central *c, const tg_http_request *req,
                            tg_http_response *resp);
/* Who asks, and under which view: 1, or 0 after answering 401/403. user,
 * role and view are 64-byte buffers. */
int tg_central_authorize(central *c, const tg_http_request *req, tg_http_response *resp,
                         char *user, char *role, char *view);

/* The stitched trace `id` (id_len bytes, not NUL-terminated) as
 * GET /api/v1/query/trace/{id} answers it, for a caller already
 * authenticated as user/role with that view (the web UI). */
void tg_central_trace_for(central *c, const tg_http_request *req, tg_http_response *resp,
                          const char *user, const char *role, const char *view,
                          const char *id, size_t id_len);

/* Records who asks (user NULL: nobody) for the sites' egress ledgers: the
 * fan-outs this worker thread makes next carry it. tg_central_authorize
 * calls it; a handler that authenticates otherwise (the web UI) must. */
void tg_central_set_asker(const char *user, const char *role);

/* Appends the cost gauges of /metrics to b: the last complete UTC hour
 * before now_s priced per site and service, and its idle capacity
 * (tollgate_central_cost_hour_{effective,billed,idle}); nothing when no
 * site has a cost model. */
struct tg_strbuf;
void tg_central_cost_metrics(central *c, int64_t now_s, struct tg_strbuf *b);

/* N from a parser's "column N: ..." message, else 0. */
int tg_central_error_column(const char *msg);

/* The bodies of GET /api/v1/query/traces, /api/v1/query/logs and
 * /api/v1/cost/{report,focus} for a caller already authenticated (the web
 * UI). tg_central_traces_for and tg_central_logs_for record the asker. */
void tg_central_traces_for(central *c, const tg_http_request *req, tg_http_response *resp,
                           const char *user, const char *role, const char *view);
void tg_central_logs_for(central *c, const tg_http_request *req, tg_http_response *resp,
                         const char *user, const char *role, const char *view);
void tg_central_cost_for(central *c, const tg_http_request *req, tg_http_response *resp,
                         int focus);
/* GET /api/v1/audit/report's body for a caller already authenticated and
 * admitted (compliance or admin; the web UI). */
void tg_central_audit_report_for(central *c, const tg_http_request *req,
                                 tg_http_response *resp);

/* ---- model versions (models_api.c) ---------------------------------------- */

/* Creates c->models from the configuration, reads the registries it names
 * and what the store holds. initial: a bad registry is reported on stderr
 * and fails (exit 2); later (SIGHUP, tg_central_models_reload) the
 * previous registry is kept. 0, TG_ECONFIG, TG_ENOMEM or a store error. */
int tg_central_models_open(central *c);
void tg_central_models_reload(central *c);
void tg_central_models_close(central *c);

/* The model rows a batch carries (arena memory), for tg_cstore_apply to
 * merge with it; then, once applied as new, tg_central_models_applied adds
 * them to the picture in memory. */
int tg_central_models_rows(central *c, const Tollgate__V1__Batch *b, tg_arena *a,
                           tg_cstore_model_row **rows, size_t *n);
void tg_central_models_applied(central *c, const char *site,
                               const tg_cstore_model_row *rows, size_t n);

#endif
