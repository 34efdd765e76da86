/* The centre's web UI: the embedded static bundle under /ui/, sign-in and
 * sign-out, and the /ui/api/ endpoints the pages read.
 *
 * Sign-in trades a user's token (the same one the query API takes as a
 * bearer token) for a random session id in an HttpOnly, SameSite=Strict
 * cookie scoped to /ui; the token itself is never stored. Every /ui/api/
 * endpoint takes that cookie or a bearer token, answers 401 without either,
 * and 403 for a view the user's role does not include. */
#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central_int.h"
#include "cstore.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tg_time.h"
#include "ui_assets.h"
#include "ui_session.h"
#include "witness.h"

#define COOKIE_ATTRS "Path=/ui; HttpOnly; SameSite=Strict"
/* Same-origin only: the bundle has no inline script and fetches nothing
 * from elsewhere. */
#define SECURITY_HEADERS                                                                 \
    "X-Content-Type-Options: nosniff\r\n"                                                \
    "Content-Security-Policy: default-src 'self'; img-src 'self' data:; "                \
    "frame-ancestors 'none'\r\n"                                                         \
    "Cache-Control: no-store\r\n"

static uint64_t now_ms(void)
{
    return tg_mono_ns() / 1000000u;
}

/* Answers doc and releases it. */
static void json_answer(tg_http_response *resp, int status, json_t *doc)
{
    tg_central_answer_json(resp, status, doc);
    json_decref(doc);
}

static void json_error(tg_http_response *resp, int status, const char *msg)
{
    json_answer(resp, status, json_pack("{s:s}", "error", msg));
}

/* Who is asking: a session cookie or a bearer token. */
typedef struct ui_who {
    char user[64];
    char role[64];
    char view[64]; /* the destination view sites apply: "" for no telemetry */
    int cost;
} ui_who;

/* Fills who from the users file for `user` (or, with user NULL, for the
 * Authorization header's token). 0 or TG_ENOT_FOUND. */
static int who_from_users(central *c, const char *user, const char *authorization,
                          ui_who *who)
{
    const tg_access_entry *e;
    const tg_role *r;
    int rc = TG_ENOT_FOUND;

    pthread_rwlock_rdlock(&c->sites_lock);
    e = user ? tg_access_find(&c->users, user)
             : tg_access_authenticate(&c->users, authorization);
    r = e ? tg_central_role(c, e->grant) : NULL;
    if (e && r) {
        snprintf(who->user, sizeof(who->user), "%s", e->name);
        snprintf(who->role, sizeof(who->role), "%s", r->name);
        snprintf(who->view, sizeof(who->view), "%s", r->view);
        who->cost = r->cost;
        rc = 0;
    }
    pthread_rwlock_unlock(&c->sites_lock);
    return rc;
}

static int session_id(const tg_http_request *req, char *id, size_t idlen)
{
    const char *h = tg_http_header(req, "cookie", NULL);

    return h ? tg_ui_cookie_get(h, TG_UI_COOKIE, id, idlen) : -1;
}

/* 1 with who filled, or answers 401 and returns 0. */
static int authenticate(central *c, const tg_http_request *req, tg_http_response *resp,
                        ui_who *who)
{
    char id[TG_UI_SESSION_ID_LEN + 2], user[64];
    const char *h = tg_http_header(req, "authorization", NULL);

    memset(who, 0, sizeof(*who));
    if (session_id(req, id, sizeof(id)) > 0 && c->ui_sessions &&
        tg_ui_session_lookup(c->ui_sessions, id, now_ms(), user, sizeof(user)) == 0 &&
        who_from_users(c, user, NULL, who) == 0)
        return 1;
    if (h && who_from_users(c, NULL, h, who) == 0)
        return 1;
    snprintf(resp->headers, sizeof(resp->headers),
             "WWW-Authenticate: Bearer realm=\"tollgate\"\r\n");
    json_error(resp, 401, "sign in first (a session cookie or a bearer token)");
    return 0;
}

/* Audit state: the witness's status for the roles its own API admits
 * (compliance, sre), the audit report for compliance and admin
 * (audit_api.c); the audit view for any of them. */
static int sees_witness(const ui_who *who)
{
    return strcmp(who->role, "compliance") == 0 || strcmp(who->role, "sre") == 0;
}

static int sees_report(const ui_who *who)
{
    return strcmp(who->role, "compliance") == 0 || strcmp(who->role, "admin") == 0;
}

static int sees_audit(const ui_who *who)
{
    return sees_witness(who) || sees_report(who);
}

/* What a role may open, in the order the navigation shows it. */
static json_t *views_of(const ui_who *who)
{
    json_t *v = json_array();

    json_array_append_new(v, json_string("estate"));
    if (who->view[0]) {
        json_array_append_new(v, json_string("traces"));
        json_array_append_new(v, json_string("logs"));
    }
    if (who->cost)
        json_array_append_new(v, json_string("cost"));
    if (sees_audit(who))
        json_array_append_new(v, json_string("audit"));
    return v;
}

static json_t *session_doc(const ui_who *who)
{
    return json_pack("{s:s, s:s, s:o}", "user", who->user, "role", who->role, "views",
                     views_of(who));
}

/* POST /ui/login {"token": "..."}: a session cookie for the token's user. */
void tg_central_ui_login(const tg_http_request *req, tg_http_response *resp, void *data)
{
    central *c = data;
    const uint8_t *body;
    size_t len;
    json_t *doc;
    const char *tok;
    char authz[600], id[TG_UI_SESSION_ID_LEN + 1];
    ui_who who;
    int found;

    body = tg_http_body(req, &len);
    doc = json_loadb((const char *)body, len, 0, NULL);
    tok = doc ? json_string_value(json_object_get(doc, "token")) : NULL;
    if (!tok || !tok[0] || strlen(tok) > 512) {
        json_decref(doc);
        json_error(resp, 400, "the body is {\"token\": \"...\"}");
        return;
    }
    snprintf(authz, sizeof(authz), "Bearer %s", tok);
    json_decref(doc);
    found = who_from_users(c, NULL, authz, &who) == 0;
    memset(authz, 0, sizeof(authz));
    if (!found) {
        tg_info("ui sign-in refused", "peer=%s", tg_http_peer(req));
        json_error(resp, 401, "unknown token");
        return;
    }
    if (!c->ui_sessions || tg_ui_session_create(c->ui_sessions, who.user, now_ms(), id)) {
        json_error(resp, 503, "cannot make a session");
        return;
    }
    snprintf(resp->headers, sizeof(resp->headers),
             "Set-Cookie: %s=%s; %s; Max-Age=%llu%s\r\n", TG_UI_COOKIE, id, COOKIE_ATTRS,
             (unsigned long long)(tg_ui_sessions_ttl_ms(c->ui_sessions) / 1000),
             tg_http_is_tls(req) ? "; Secure" : "");
    tg_info("ui sign-in", "user=%s role=%s", who.user, who.role);
    json_answer(resp, 200, session_doc(&who));
}

/* POST /ui/logout: ends the session and clears the cookie. */
void tg_central_ui_logout(const tg_http_request *req, tg_http_response *resp, void *data)
{
    central *c = data;
    char id[TG_UI_SESSION_ID_LEN + 2];

    if (session_id(req, id, sizeof(id)) > 0 && c->ui_sessions)
        tg_ui_session_remove(c->ui_sessions, id);
    snprintf(resp->headers, sizeof(resp->headers), "Set-Cookie: %s=; %s; Max-Age=0\r\n",
             TG_UI_COOKIE, COOKIE_ATTRS);
    json_answer(resp, 200, json_pack("{s:b}", "signed_out", 1));
}

/* GET /ui/api/session: who is signed in and what they may open. */
void tg_central_ui_session(const tg_http_request *req, tg_http_response *resp, void *data)
{
    ui_who who;

    if (!authenticate(data, req, resp, &who))
        return;
    json_answer(resp, 200, session_doc(&who));
}

/* GET /ui/api/estate: the estate document, to any signed-in user. */
void tg_central_ui_estate(const tg_http_request *req, tg_http_response *resp, void *data)
{
    ui_who who;

    if (!authenticate(data, req, resp, &who))
        return;
    tg_central_estate(req, resp, data);
}

/* GET /ui/api/trace/{id}: the stitched trace, under the user's view. */
void tg_central_ui_trace(const tg_http_request *req, tg_http_response *resp, void *data)
{
    static const char prefix[] = "/ui/api/trace/";
    const char *path;
    size_t plen;
    ui_who who;

    if (!authenticate(data, req, resp, &who))
        return;
    if (!who.view[0]) {
        json_error(resp, 403, "this role may not see traces");
        return;
    }
    path = tg_http_path(req, &plen);
    tg_central_trace_for(data, req, resp, who.user, who.role, who.view,
                         path + sizeof(prefix) - 1, plen - (sizeof(prefix) - 1));
}

/* 1 when who may read telemetry, else answers 403 and returns 0. */
static int needs_view(const ui_who *who, tg_http_response *resp)
{
    if (who->view[0])
        return 1;
    json_error(resp, 403, "this role may not see telemetry");
    return 0;
}

/* GET /ui/api/traces?q=TRACEQL&start=NS&end=NS&limit=N: the federated
 * TraceQL search, under the user's view. */
void tg_central_ui_traces(const tg_http_request *req, tg_http_response *resp, void *data)
{
    ui_who who;

    if (authenticate(data, req, resp, &who) && needs_view(&who, resp))
        tg_central_traces_for(data, req, resp, who.user, who.role, who.view);
}

/* GET /ui/api/logs?q=LOGQL&start=NS&end=NS&step=&limit=: the federated
 * LogQL query, under the user's view. */
void tg_central_ui_logs(const tg_http_request *req, tg_http_response *resp, void *data)
{
    ui_who who;

    if (authenticate(data, req, resp, &who) && needs_view(&who, resp))
        tg_central_logs_for(data, req, resp, who.user, who.role, who.view);
}

/* One (site, service, severity, template) and its count in the window. */
typedef struct tpl_row {
    const char *site;
    json_t *obj; /* {site, service, severity, template, template_id, count, ...} */
    uint64_t count;
} tpl_row;

typedef struct tpl_ctx {
    int64_t from_s, to_s;
    json_t *index; /* key -> tpl_row index (integer) */
    tpl_row *rows;
    size_t n, cap;
    int oom;
} tpl_ctx;

static int on_template(void *ctx, const char *site, const ProtobufCMessage *m)
{
    const Tollgate__V1__LogTemplate *l = (const Tollgate__V1__LogTemplate *)m;
    tpl_ctx *x = ctx;
    char key[400], id[17];
    json_t *at;
    tpl_row *r;

    if (l->minute_unix < x->from_s || l->minute_unix >= x->to_s)
        return 0;
    snprintf(key, sizeof(key), "%s\x1f%s\x1f%u\x1f%016llx", site, l->service,
             l->severity_number, (unsigned long long)l->template_id);
    at = json_object_get(x->index, key);
    if (at) {
        r = &x->rows[json_integer_value(at)];
    } else {
        if (x->n == x->cap) {
            size_t cap = x->cap ? x->cap * 2 : 64;
            /* A bound on what one answer holds: past it, say so. */
            tpl_row *v = x->n >= 100000 ? NULL : realloc(x->rows, cap * sizeof(*v));
            if (!v) {
                x->oom = 1;
                return 1;
            }
            x->rows = v;
            x->cap = cap;
        }
        r = &x->rows[x->n];
        r->count = 0;
        /* The id as hex, as `central export` writes it. */
        snprintf(id, sizeof(id), "%016llx", (unsigned long long)l->template_id);
        r->obj = json_pack("{s:s,s:s,s:i,s:s,s:s}", "site", site, "service",
                           l->service ? l->service : "", "severity_number",
                           (int)l->severity_number, "template",
                           l->template_ ? l->template_ : "", "template_id", id);
        if (!r->obj) {
            x->oom = 1;
            return 1;
        }
        r->site = json_string_value(json_object_get(r->obj, "site"));
        json_object_set_new(x->index, key, json_integer((json_int_t)x->n));
        x->n++;
    }
    r->count += l->count;
    return 0;
}

static int cmp_tpl(const void *a, const void *b)
{
    const tpl_row *x = a, *y = b;
    int c = strcmp(x->site, y->site);

    if (c)
        return c;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static int64_t param_i64(const tg_http_request *req, const char *key, int64_t def)
{
    const char *q;
    size_t qlen;
    char buf[32], *end;
    long long v;

    q = tg_http_query(req, &qlen);
    if (!q || tg_http_query_param(q, qlen, key, buf, sizeof(buf)) < 0 || !buf[0])
        return def;
    v = strtoll(buf, &end, 10);
    return *end ? def : (int64_t)v;
}

/* GET /ui/api/log-templates?start=NS&end=NS&limit=N: the log templates
 * every site forwarded, counted over the window (the minute rows the
 * centre holds), the `limit` (default 50) most frequent per site. */
void tg_central_ui_log_templates(const tg_http_request *req, tg_http_response *resp,
                                 void *data)
{
    central *c = data;
    ui_who who;
    tpl_ctx x = {0};
    int64_t now_s = (int64_t)(tg_wall_ns() / 1000000000ull), limit;
    json_t *sites, *doc;
    size_t shown = 0;

    if (!authenticate(c, req, resp, &who) || !needs_view(&who, resp))
        return;
    x.to_s = param_i64(req, "end", (now_s + 60) * 1000000000ll) / 1000000000ll;
    x.from_s = param_i64(req, "start", (x.to_s - 3600) * 1000000000ll) / 1000000000ll;
    limit = param_i64(req, "limit", 50);
    if (limit < 1 || limit > 1000)
        limit = 50;
    x.index = json_object();
    if (!x.index || (c->cs && tg_cstore_rows(c->cs, "logs", on_template, &x) != 0) ||
        x.oom) {
        for (size_t i = 0; i < x.n; i++)
            json_decref(x.rows[i].obj);
        free(x.rows);
        json_decref(x.index);
        json_error(resp, 503, "cannot read the log templates");
        return;
    }
    qsort(x.rows, x.n, sizeof(*x.rows), cmp_tpl);
    sites = json_object();
    for (size_t i = 0; i < x.n; i++) {
        json_t *site = json_object_get(sites, x.rows[i].site);
        if (!site) {
            site = json_pack("{s:[],s:I,s:I}", "templates", "total", (json_int_t)0,
                             "distinct", (json_int_t)0);
            json_object_set_new(sites, x.rows[i].site, site);
        }
        json_object_set_new(
            site, "total",
            json_integer(json_integer_value(json_object_get(site, "total")) +
                         (json_int_t)x.rows[i].count));
        json_object_set_new(
            site, "distinct",
            json_integer(json_integer_value(json_object_get(site, "distinct")) + 1));
        if ((int64_t)json_array_size(json_object_get(site, "templates")) < limit) {
            json_object_set_new(x.rows[i].obj, "count",
                                json_integer((json_int_t)x.rows[i].count));
            json_array_append(json_object_get(site, "templates"), x.rows[i].obj);
            shown++;
        }
        json_decref(x.rows[i].obj);
    }
    free(x.rows);
    json_decref(x.index);
    doc = json_pack("{s:o,s:I,s:I,s:I}", "sites", sites, "start",
                    (json_int_t)x.from_s * 1000000000ll, "end",
                    (json_int_t)x.to_s * 1000000000ll, "shown", (json_int_t)shown);
    json_answer(resp, 200, doc);
}

/* GET /ui/api/cost/report?... and /ui/api/cost/focus?...: the centre's cost
 * API for a role with cost: true; the FOCUS export as a download. */
void tg_central_ui_cost(const tg_http_request *req, tg_http_response *resp, void *data)
{
    static const char focus[] = "/ui/api/cost/focus";
    const char *path;
    size_t plen;
    ui_who who;
    int is_focus;

    if (!authenticate(data, req, resp, &who))
        return;
    if (!who.cost) {
        json_error(resp, 403, "this role may not see cost");
        return;
    }
    path = tg_http_path(req, &plen);
    is_focus = plen == sizeof(focus) - 1 && memcmp(path, focus, plen) == 0;
    if (!is_focus && !(plen == 19 && memcmp(path, "/ui/api/cost/report", 19) == 0)) {
        json_error(resp, 404, "not found");
        return;
    }
    if (is_focus)
        snprintf(resp->headers, sizeof(resp->headers),
                 "Content-Disposition: attachment; filename=\"focus.csv\"\r\n");
    tg_central_cost_for(data, req, resp, is_focus);
}

/* GET /ui/api/audit/witness and /ui/api/audit/report?...: audit state for
 * the roles that may see it. An API this centre does not have answers
 * {"available": false, "why": ...}, which the page shows as such. */
void tg_central_ui_audit(const tg_http_request *req, tg_http_response *resp, void *data)
{
    const char *path;
    size_t plen;
    ui_who who;

    if (!authenticate(data, req, resp, &who))
        return;
    if (!sees_audit(&who)) {
        json_error(resp, 403, "this role may not see audit state");
        return;
    }
    path = tg_http_path(req, &plen);
    if (plen == 21 && memcmp(path, "/ui/api/audit/witness", 21) == 0) {
        central *c = data;
        char *body;
        if (!sees_witness(&who))
            json_answer(
                resp, 200,
                json_pack("{s:b,s:s}", "available", 0, "why",
                          "the witness's status is for the compliance and sre roles"));
        else if (!c->witness ||
                 !(body = tg_witness_status_json(c->witness, tg_wall_ns())))
            json_answer(resp, 200,
                        json_pack("{s:b,s:s}", "available", 0, "why",
                                  "this centre runs no witness"));
        else {
            tg_http_response_set(resp, 200, "application/json", body, strlen(body));
            free(body);
        }
    } else if (plen == 20 && memcmp(path, "/ui/api/audit/report", 20) == 0) {
        if (!sees_report(&who)) {
            json_answer(
                resp, 200,
                json_pack("{s:b,s:s}", "available", 0, "why",
                          "the audit report is for the compliance and admin roles"));
            return;
        }
        tg_central_audit_report_for(data, req, resp);
        /* A download names its file; JSON is read by the page. */
        if (resp->status == 200 && resp->content_type &&
            strncmp(resp->content_type, "application/json", 16) != 0)
            snprintf(resp->headers, sizeof(resp->headers),
                     "Content-Disposition: attachment; filename=\"audit-report.%s\"\r\n",
                     strncmp(resp->content_type, "application/pdf", 15) == 0 ? "pdf"
                     : strncmp(resp->content_type, "text/html", 9) == 0      ? "html"
                                                                             : "csv");
    } else
        json_error(resp, 404, "not found");
}

static const char not_built[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>tollgate</title></head><body><h1>tollgate central</h1>"
    "<p>The web UI was not built into this binary: node and esbuild were not found "
    "when it was compiled. Run <code>npm ci</code>, then rebuild (<code>make "
    "build</code>).</p><p>The JSON API is served as usual: <a "
    "href=\"/api/v1/estate\">/api/v1/estate</a>.</p></body></html>\n";

static const tg_ui_asset *asset(const char *name, size_t len)
{
    for (size_t i = 0; i < tg_ui_assets_n; i++)
        if (strlen(tg_ui_assets[i].path) == len &&
            memcmp(tg_ui_assets[i].path, name, len) == 0)
            return &tg_ui_assets[i];
    return NULL;
}

/* GET /ui, /ui/ and /ui/FILE: the embedded bundle. Every page is the one
 * index.html (the views are chosen in the URL's fragment). */
void tg_central_ui_static(const tg_http_request *req, tg_http_response *resp, void *data)
{
    const char *path;
    const tg_ui_asset *a;
    size_t plen;

    (void)data;
    path = tg_http_path(req, &plen);
    if (plen == 3) {
        snprintf(resp->headers, sizeof(resp->headers), "Location: /ui/\r\n");
        tg_http_response_text(resp, 308, "/ui/\n");
        return;
    }
    if (path[3] != '/' || (plen >= 8 && memcmp(path, "/ui/api/", 8) == 0)) {
        tg_http_response_text(resp, 404, "not found\n");
        return;
    }
    path += 4;
    plen -= 4;
    if (plen == 0) {
        path = "index.html";
        plen = strlen(path);
    }
    if (tg_ui_assets_n == 0) {
        tg_http_response_set(
            resp, plen == 10 && memcmp(path, "index.html", 10) == 0 ? 200 : 404,
            "text/html; charset=utf-8", not_built, sizeof(not_built) - 1);
        return;
    }
    a = asset(path, plen);
    if (!a) {
        tg_http_response_text(resp, 404, "not found\n");
        return;
    }
    snprintf(resp->headers, sizeof(resp->headers), SECURITY_HEADERS);
    tg_http_response_set(resp, 200, a->content_type, a->data, a->len);
}
