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
#include "tg_err.h"
#include "tg_log.h"
#include "tg_time.h"
#include "ui_assets.h"
#include "ui_session.h"

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

/* What a role may open, in the order the navigation shows it. */
static json_t *views_of(const ui_who *who)
{
    json_t *v = json_array();

    json_array_append_new(v, json_string("estate"));
    if (who->view[0])
        json_array_append_new(v, json_string("traces"));
    if (who->cost)
        json_array_append_new(v, json_string("cost"));
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
