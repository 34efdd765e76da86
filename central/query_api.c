/* Federated queries at the centre, and the Tempo API Grafana reads.
 *
 * A user authenticates with a token from the users file; the user's one
 * role names the destination view every site applies before anything
 * leaves it. The centre never widens a clearance: it asks each site for
 * the role's view with the site's own token, and the site refuses (403)
 * anything above the cap it set for the centre (query.clients at the
 * site). The answer merges what the sites sent, and says per site what
 * happened (the `_sites` block) and whether it is partial. */
#include <ctype.h>
#include <stdarg.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "central_int.h"
#include <openssl/crypto.h>

#include "tg_codec.h"
#include "tg_err.h"
#include "tg_json.h"
#include "tg_units.h"
#include "tg_fanout.h"
#include "tg_merge.h"
#include "tg_otlp_view.h"
#include "tg_plan.h"
#include "tg_plan_eval.h"
#include "query_http.h"
#include "tg_log.h"
#include "tg_otlp.h"
#include "tg_stitch.h"
#include "tg_yaml.h"

/* ---- users and roles ------------------------------------------------------ */

/* The roles every centre knows; the users file may add or redefine. */
static const tg_role builtin_roles[] = {
    {"sre", "central", 0},
    {"compliance", "raw", 0},
    {"finance", "", 1},
};

static int read_roles(const char *file, const tg_ynode *map, tg_roles *out, char *err,
                      size_t errlen)
{
    static const char *const keys[] = {"view", "cost", NULL};

    out->n = 0;
    for (size_t i = 0; i < sizeof(builtin_roles) / sizeof(builtin_roles[0]); i++)
        out->v[out->n++] = builtin_roles[i];
    if (!map)
        return 0;
    if (map->kind != TG_YNODE_MAP)
        return tg_yaml_error(err, errlen, file, map,
                             "roles: expected a mapping of role -> {view, cost}");
    for (size_t i = 0; i < map->n; i++) {
        const tg_ynode *r = map->items[i], *x;
        tg_role role = {0};
        size_t j;
        int rc;

        if (map->keys[i]->len == 0 || map->keys[i]->len >= sizeof(role.name))
            return tg_yaml_error(err, errlen, file, map->keys[i],
                                 "role names are 1-63 bytes");
        snprintf(role.name, sizeof(role.name), "%s", map->keys[i]->str);
        if ((rc = tg_yaml_check_keys(file, r, keys, err, errlen)))
            return rc;
        if ((x = tg_yaml_get(r, "view")) &&
            (rc = tg_yaml_str(file, x, role.view, sizeof(role.view), err, errlen)))
            return rc;
        if ((x = tg_yaml_get(r, "cost")) &&
            (rc = tg_yaml_bool(file, x, &role.cost, err, errlen)))
            return rc;
        for (j = 0; j < out->n && strcmp(out->v[j].name, role.name) != 0; j++)
            ;
        if (j == out->n && out->n == TG_MAX_ROLES)
            return tg_yaml_error(err, errlen, file, map->keys[i],
                                 "too many roles (limit %d)", TG_MAX_ROLES);
        out->v[j] = role;
        if (j == out->n)
            out->n++;
    }
    return 0;
}

int tg_central_load_users(central *c, int initial)
{
    static const char *const top[] = {"users", "roles", NULL};
    char err[1200] = "", dir[1024];
    tg_access users = {0};
    tg_roles roles;
    tg_ynode *root;
    int rc = 0;

    if (!c->cfg.users_file[0]) {
        read_roles(NULL, NULL, &roles, err, sizeof(err));
        pthread_rwlock_wrlock(&c->sites_lock);
        c->roles = roles;
        pthread_rwlock_unlock(&c->sites_lock);
        if (initial)
            tg_info("no users file (--users): federated queries answer 401", "listen=%s",
                    c->cfg.listen);
        return 0;
    }
    snprintf(dir, sizeof(dir), "%s", c->cfg.users_file);
    if (!(root = tg_yaml_load_file(c->cfg.users_file, err, sizeof(err))))
        rc = TG_ECONFIG;
    if (!rc)
        rc = tg_yaml_check_keys(c->cfg.users_file, root, top, err, sizeof(err));
    if (!rc)
        rc = read_roles(c->cfg.users_file, tg_yaml_get(root, "roles"), &roles, err,
                        sizeof(err));
    if (!rc && !tg_yaml_get(root, "users"))
        rc = tg_yaml_error(err, sizeof(err), c->cfg.users_file, root,
                           "the file needs a \"users:\" list");
    if (!rc)
        rc = tg_access_read(c->cfg.users_file, dirname(dir), tg_yaml_get(root, "users"),
                            "role", NULL, &users, err, sizeof(err));
    for (size_t i = 0; !rc && i < users.n; i++) {
        size_t j;
        for (j = 0; j < roles.n && strcmp(roles.v[j].name, users.v[i].grant) != 0; j++)
            ;
        if (j == roles.n) {
            snprintf(err, sizeof(err),
                     "%s: user \"%s\" has role \"%s\", which is not defined",
                     c->cfg.users_file, users.v[i].name, users.v[i].grant);
            rc = TG_ECONFIG;
        }
    }
    tg_yaml_free(root);
    if (rc) {
        tg_access_free(&users);
        if (initial)
            fprintf(stderr, "tollgate central: %s\n", err);
        else
            tg_error("users file reload failed, keeping the previous one", "file=%s",
                     c->cfg.users_file);
        return -1;
    }
    pthread_rwlock_wrlock(&c->sites_lock);
    tg_access_free(&c->users);
    c->users = users;
    c->roles = roles;
    pthread_rwlock_unlock(&c->sites_lock);
    tg_info("users loaded", "file=%s users=%zu roles=%zu", c->cfg.users_file, users.n,
            roles.n);
    return 0;
}

const tg_role *tg_central_role(const central *c, const char *name)
{
    for (size_t i = 0; i < c->roles.n; i++)
        if (strcmp(c->roles.v[i].name, name) == 0)
            return &c->roles.v[i];
    return NULL;
}

/* ---- answering ------------------------------------------------------------ */

void tg_central_answer_json(tg_http_response *resp, int status, const json_t *doc)
{
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

    if (!s) {
        tg_http_response_text(resp, 500, "out of memory\n");
        return;
    }
    tg_http_response_set(resp, status, "application/json", s, strlen(s));
    free(s);
}

void tg_central_answer_query(tg_http_response *resp, const char *kind, const char *via,
                             const char *user, const char *role, const char *view,
                             int status, json_t *doc, int name_asker)
{
    if (name_asker) {
        json_object_set_new(doc, "user", json_string(user));
        json_object_set_new(doc, "role", json_string(role));
    }
    tg_info("federated query", "kind=%s user=%s role=%s view=%s status=%d%s", kind, user,
            role, view, status, via);
    tg_central_answer_json(resp, status, doc);
    json_decref(doc);
}

void tg_central_answer_error(tg_http_response *resp, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    json_t *doc;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    doc = json_pack("{s:s}", "error", msg);
    tg_central_answer_json(resp, status, doc);
    json_decref(doc);
}

/* Who asks, and under which view. Fills user/role/view and returns 1, or
 * answers 401/403 and returns 0. */
/* The user and role of the request this worker thread is answering, as
 * a query-string fragment for the sites: each site records who asked in
 * its egress ledger. A worker thread answers one request at a time, and
 * tg_central_authorize sets this first, so it is always that request's. */
static _Thread_local char asker_q[200];

void tg_central_set_asker(const char *user, const char *role)
{
    asker_q[0] = '\0';
    if (user) {
        char *u = tg_query_http_escape(user), *r = tg_query_http_escape(role);
        if (u && r)
            snprintf(asker_q, sizeof(asker_q), "&user=%s&role=%s", u, r);
        free(u);
        free(r);
    }
}

int tg_central_error_column(const char *msg)
{
    char *end;
    long col;

    if (strncmp(msg, "column ", 7) != 0)
        return 0;
    col = strtol(msg + 7, &end, 10);
    return *end == ':' && col > 0 && col < 1000000 ? (int)col : 0;
}

int tg_central_caller(central *c, const tg_http_request *req, int sites_ok,
                      tg_central_who *who)
{
    const tg_access_entry *e = NULL;
    const tg_role *r;
    size_t hlen;
    const char *h = tg_http_header(req, "authorization", &hlen);
    char hdr[600] = "";
    int rc = h ? TG_EINVAL : TG_ENOT_FOUND;

    memset(who, 0, sizeof(*who));
    if (h && hlen < sizeof(hdr))
        snprintf(hdr, sizeof(hdr), "%.*s", (int)hlen, h);
    /* The users and sites are swapped by a SIGHUP reload: read them, even
     * their count, under the lock. */
    pthread_rwlock_rdlock(&c->sites_lock);
    if (hdr[0] && (e = tg_access_authenticate(&c->users, hdr))) {
        r = tg_central_role(c, e->grant);
        snprintf(who->user, sizeof(who->user), "%s", e->name);
        snprintf(who->role, sizeof(who->role), "%s", e->grant);
        snprintf(who->view, sizeof(who->view), "%s", r ? r->view : "");
        rc = 0;
    } else if (hdr[0] && sites_ok && strncmp(hdr, "Bearer ", 7) == 0) {
        for (size_t i = 0; i < c->sites.n && rc; i++)
            if (tg_sites_token_ok(&c->sites.v[i], hdr + 7, strlen(hdr + 7))) {
                snprintf(who->user, sizeof(who->user), "%s", c->sites.v[i].name);
                who->site = 1;
                rc = 0;
            }
    }
    if (rc && !c->users.n)
        rc = TG_ECONFIG;
    pthread_rwlock_unlock(&c->sites_lock);
    OPENSSL_cleanse(hdr, sizeof(hdr));
    return rc;
}

const char *tg_central_challenge(tg_http_response *resp, int rc)
{
    snprintf(resp->headers, sizeof(resp->headers),
             "WWW-Authenticate: Bearer realm=\"tollgate\"\r\n");
    return rc == TG_ECONFIG  ? "no users are configured at the centre (--users)"
           : rc == TG_EINVAL ? "unknown token"
                             : "a bearer token is required";
}

int tg_central_authenticate(central *c, const tg_http_request *req,
                            tg_http_response *resp)
{
    tg_central_who who;
    int rc = tg_central_caller(c, req, 0, &who);

    if (rc == 0)
        return 1;
    tg_central_answer_error(resp, 401, "%s", tg_central_challenge(resp, rc));
    return 0;
}

int tg_central_authorize(central *c, const tg_http_request *req, tg_http_response *resp,
                         char *user, char *role, char *view)
{
    tg_central_who who;
    int rc = tg_central_caller(c, req, 0, &who);

    memcpy(user, who.user, 64);
    memcpy(role, who.role, 64);
    memcpy(view, who.view, 64);
    tg_central_set_asker(rc == 0 ? user : NULL, role);
    if (rc != 0) {
        tg_central_answer_error(resp, 401, "%s", tg_central_challenge(resp, rc));
        return 0;
    }
    if (!view[0]) {
        tg_central_answer_error(resp, 403, "role \"%s\" may not query telemetry", role);
        return 0;
    }
    return 1;
}

static int param_true(const tg_http_request *req, const char *key)
{
    const char *q;
    size_t qlen;
    char buf[16];

    q = tg_http_query(req, &qlen);
    if (!q || tg_http_query_param(q, qlen, key, buf, sizeof(buf)) < 0)
        return 0;
    return strcmp(buf, "true") == 0 || strcmp(buf, "1") == 0;
}

/* The sites to ask: every registry entry with an api address, minus those
 * a `site` parameter (comma-separated) leaves out. Copies what it needs
 * under the lock. */
static size_t plan_sites(central *c, const tg_http_request *req, const char *path_fmt,
                         const char *arg, const char *view, site_call **out,
                         tg_fanout_target **targets)
{
    const char *q;
    size_t qlen, n = 0;
    char only[512] = "", ev[200];
    site_call *calls;

    q = tg_http_query(req, &qlen);
    if (q)
        tg_http_query_param(q, qlen, "site", only, sizeof(only));
    /* The view name goes into a query string: letters, digits, ._- only
     * (destination names cannot hold anything else that needs escaping). */
    snprintf(ev, sizeof(ev), "%s", view);
    pthread_rwlock_rdlock(&c->sites_lock);
    calls = calloc(c->sites.n ? c->sites.n : 1, sizeof(*calls));
    *targets = calloc(c->sites.n ? c->sites.n : 1, sizeof(**targets));
    for (size_t i = 0; calls && *targets && i < c->sites.n; i++) {
        const tg_site_entry *s = &c->sites.v[i];
        char path[8400];

        if (!s->api[0])
            continue;
        snprintf(calls[n].name, sizeof(calls[n].name), "%s", s->name);
        snprintf(calls[n].token, sizeof(calls[n].token), "%s", s->token);
        snprintf(path, sizeof(path), path_fmt, arg);
        snprintf(calls[n].url, sizeof(calls[n].url), "%s%s%sview=%s%s", s->api, path,
                 strchr(path, '?') ? "&" : "?", ev, asker_q);
        (*targets)[n].name = calls[n].name;
        (*targets)[n].url = calls[n].url;
        (*targets)[n].token = calls[n].token;
        if (only[0]) {
            /* `site=a,b`: the others are skipped, named as such. */
            char list[520];
            int hit = 0;
            snprintf(list, sizeof(list), ",%s,", only);
            {
                char needle[70];
                snprintf(needle, sizeof(needle), ",%s,", s->name);
                hit = strstr(list, needle) != NULL;
            }
            if (!hit) {
                (*targets)[n].skip = 1;
                (*targets)[n].skip_reason = "not selected by the site parameter";
            }
        }
        n++;
    }
    pthread_rwlock_unlock(&c->sites_lock);
    *out = calls;
    return n;
}

static void fanout_options(const central *c, tg_fanout_options *o)
{
    tg_fanout_options_default(o);
    if (c->cfg.query_site_timeout_ms)
        o->site_timeout_ms = c->cfg.query_site_timeout_ms;
    if (c->cfg.query_deadline_ms)
        o->deadline_ms = c->cfg.query_deadline_ms;
}

static int valid_trace_id(const char *s)
{
    size_t n = strlen(s);
    int nonzero = 0;

    if (n != 32)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return 0;
        nonzero |= s[i] != '0';
    }
    return nonzero;
}

/* One trace from every site, stitched. Fills *doc with
 * {trace, is_partial, _sites, warnings, stats} and returns the HTTP
 * status to answer with. */
/* The clock offset the centre measured for each site (the forwarding
 * handshakes' four timestamps), to mark skew-adjusted spans with. */
struct offsets {
    tg_stitch_part *parts;
    size_t n;
};

static int on_site_offset(void *ctx, const Tollgate__V1__CentralSite *s)
{
    struct offsets *o = ctx;

    if (!s->health || !s->health->clock_valid)
        return 0;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->parts[i].site, s->name) == 0) {
            o->parts[i].offset_ns = s->health->clock_offset_ns;
            o->parts[i].offset_known = 1;
        }
    return 0;
}

static int fetch_trace(central *c, const tg_http_request *req, const char *id,
                       const char *view, int require_complete, json_t **doc)
{
    tg_stitch_options so = {.max_skew_ns = (int64_t)c->cfg.query_max_skew_ms * 1000000};
    tg_stitch_stats st = {0};
    tg_stitch_part *parts;
    site_fanout sf;
    char path[96];
    json_t *trace;
    int status;

    snprintf(path, sizeof(path), "/api/v1/traces/%s", id);
    if (tg_central_fanout(c, req, path, view, NULL, 0, 0, &sf) != 0 ||
        !(parts = calloc(sf.n ? sf.n : 1, sizeof(*parts)))) {
        tg_central_fanout_free(&sf);
        *doc = json_pack("{s:s}", "error", "out of memory");
        return 503;
    }
    for (size_t i = 0; i < sf.n; i++) {
        parts[i].site = sf.targets[i].name;
        parts[i].traces_data = sf.docs[i];
    }
    {
        struct offsets o = {parts, sf.n};
        tg_cstore_sites(c->cs, on_site_offset, &o);
    }
    trace = tg_stitch_trace(parts, sf.n, &so, &st);
    *doc = json_pack("{s:s,s:o,s:{s:I,s:I,s:I,s:I,s:I},s:s}", "traceId", id, "trace",
                     trace ? trace : json_object(), "stats", "spans",
                     (json_int_t)st.spans, "sites", (json_int_t)st.sites, "duplicates",
                     (json_int_t)st.duplicates, "skew_adjusted", (json_int_t)st.adjusted,
                     "skew_refused", (json_int_t)st.skew_refused, "view", view);
    status = tg_central_fanout_finish(&sf, *doc, require_complete, st.spans ? 200 : 404);
    if (status == 404)
        json_object_set_new(*doc, "error", json_string("trace not found"));
    free(parts);
    tg_central_fanout_free(&sf);
    return status;
}

/* One trace by id, answered: id_text is the caller's, validated here; via
 * is appended to the log line. */
static void answer_trace(central *c, const tg_http_request *req, tg_http_response *resp,
                         const char *user, const char *role, const char *view,
                         const char *id_text, size_t id_len, const char *via)
{
    char id[64];
    json_t *doc;
    int status;

    snprintf(id, sizeof(id), "%.*s", (int)(id_len < 63 ? id_len : 63), id_text);
    for (char *p = id; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (id_len > 32 || !valid_trace_id(id)) {
        tg_central_answer_error(resp, 400,
                                "bad trace id: 32 hexadecimal characters, not all zero");
        return;
    }
    status = fetch_trace(c, req, id, view, param_true(req, "require_complete"), &doc);
    tg_central_answer_query(resp, "trace", via, user, role, view, status, doc, 1);
}

/* GET /api/v1/query/trace/{id}[?site=a,b&require_complete=true] */
void tg_central_query_trace(const tg_http_request *req, tg_http_response *resp,
                            void *data)
{
    central *c = data;
    char user[64], role[64], view[64];
    const char *path;
    size_t plen, pre = strlen("/api/v1/query/trace/");

    if (!tg_central_authorize(c, req, resp, user, role, view))
        return;
    path = tg_http_path(req, &plen);
    answer_trace(c, req, resp, user, role, view, path + pre, plen - pre, "");
}

/* ---- the Tempo API -------------------------------------------------------- */

/* GET /api/echo: Grafana's Tempo health check. */
void tg_central_tempo_echo(const tg_http_request *req, tg_http_response *resp, void *data)
{
    (void)req;
    (void)data;
    tg_http_response_set(resp, 200, "text/plain", "echo", 4);
}

/* Grafana asks for protobuf: v1 is tempopb.Trace, wire-identical to OTLP
 * TracesData (resource_spans = 1); v2 is TraceByIDResponse {trace = 1,
 * status = 3 (COMPLETE 0, PARTIAL 1), message = 4}. */
static void tempo_protobuf(tg_http_response *resp, const json_t *doc, int v2)
{
    char *text = json_dumps(json_object_get(doc, "trace"), JSON_COMPACT), errmsg[256];
    tg_arena a;
    tg_otlp_request r;
    uint8_t *pb = NULL, *out = NULL;
    size_t pblen = 0, n = 0;

    tg_arena_init(&a, 1 << 16, 512u << 20);
    if (!text ||
        tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_JSON, (const uint8_t *)text, strlen(text),
                       &a, &r, errmsg, sizeof(errmsg)) != 0 ||
        tg_otlp_pack(&r, &a, &pb, &pblen) != 0) {
        tg_http_response_text(resp, 500, "cannot encode the trace as protobuf\n");
        goto out;
    }
    if (!v2) {
        tg_http_response_set(resp, 200, "application/protobuf", pb, pblen);
        goto out;
    }
    {
        const char *msg =
            json_string_value(json_array_get(json_object_get(doc, "warnings"), 0));
        int partial = json_is_true(json_object_get(doc, "is_partial"));
        size_t mlen = msg ? strlen(msg) : 0;

        if (!(out = malloc(pblen + mlen + 32))) {
            tg_http_response_text(resp, 503, "out of memory\n");
            goto out;
        }
        out[n++] = 0x0a; /* field 1, length-delimited */
        n += tg_varint_put(out + n, pblen);
        memcpy(out + n, pb, pblen);
        n += pblen;
        if (partial) {
            out[n++] = 0x18; /* field 3, varint */
            out[n++] = 1;
            if (mlen) {
                out[n++] = 0x22; /* field 4, length-delimited */
                n += tg_varint_put(out + n, mlen);
                memcpy(out + n, msg, mlen);
                n += mlen;
            }
        }
        tg_http_response_set(resp, 200, "application/protobuf", out, n);
    }
out:
    free(out);
    free(text);
    tg_arena_destroy(&a);
}

/* GET /api/traces/{id} and /api/v2/traces/{id}: the stitched trace as
 * Tempo answers it. v1 is the trace itself (OTLP TracesData); v2 wraps it
 * with status PARTIAL and a message naming the missing sites. JSON here;
 * Grafana's protobuf form is tg_central_tempo_trace's Accept branch. */
void tg_central_tempo_trace(const tg_http_request *req, tg_http_response *resp,
                            void *data)
{
    central *c = data;
    char user[64], role[64], view[64], id[64];
    const char *path, *rest;
    size_t plen;
    json_t *doc, *out;
    int status, v2;

    if (!tg_central_authorize(c, req, resp, user, role, view))
        return;
    path = tg_http_path(req, &plen);
    v2 = plen > 15 && strncmp(path, "/api/v2/traces/", 15) == 0;
    rest = path + (v2 ? 15 : 12);
    snprintf(id, sizeof(id), "%.*s", (int)(plen - (size_t)(rest - path)), rest);
    for (char *p = id; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!valid_trace_id(id)) {
        tg_central_answer_error(resp, 400, "bad trace id");
        return;
    }
    status = fetch_trace(c, req, id, view, 0, &doc);
    if (status != 200) {
        /* Tempo answers a missing trace with 404 and a short text. */
        if (status == 404)
            tg_http_response_text(resp, 404, "trace not found\n");
        else
            tg_central_answer_json(resp, status, doc);
        json_decref(doc);
        return;
    }
    {
        const char *acc;
        size_t alen;
        acc = tg_http_header(req, "accept", &alen);
        if (acc && memmem(acc, alen, "application/protobuf", 20)) {
            tempo_protobuf(resp, doc, v2);
            json_decref(doc);
            return;
        }
    }
    if (v2) {
        json_t *w = json_array_get(json_object_get(doc, "warnings"), 0);
        int partial = json_is_true(json_object_get(doc, "is_partial"));
        out = json_pack("{s:O,s:s}", "trace", json_object_get(doc, "trace"), "status",
                        partial ? "PARTIAL" : "COMPLETE");
        if (partial && w)
            json_object_set(out, "message", w);
    } else {
        out = json_incref(json_object_get(doc, "trace"));
    }
    tg_central_answer_json(resp, 200, out);
    json_decref(out);
    json_decref(doc);
}

/* ---- TraceQL search -------------------------------------------------------- */

/* Whether the sites' hits are already the exact answer: one spanset
 * filter that a single span decides, no pipeline, no structure. Anything
 * else is evaluated again on each candidate's stitched trace. */
static int site_exact(const tg_plan *p)
{
    return p->nfilters == 1 && p->root && p->root->op == TG_SS_FILTER &&
           p->nstages == 0 && !p->filters[0].needs_trace;
}

/* Does the stitched trace in `doc` (fetch_trace's answer) match the plan
 * at the centre? */
static int centre_match(const tg_plan *p, const json_t *doc)
{
    json_t *trace = json_object_get(doc, "trace");
    char *text = json_dumps(trace, JSON_COMPACT), errmsg[256];
    tg_arena a;
    tg_otlp_request r;
    tg_span_view *views;
    const Opentelemetry__Proto__Trace__V1__Span **spans;
    size_t *rs_of, n;
    tg_trace_result res = {0};
    int match = 0;

    if (!text)
        return 0;
    tg_arena_init(&a, 1 << 16, 256u << 20);
    if (tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_JSON, (const uint8_t *)text, strlen(text),
                       &a, &r, errmsg, sizeof(errmsg)) == 0 &&
        tg_otlp_span_views((const tg_otlp_traces_req *)r.msg, "", &a, &views, &spans,
                           &rs_of, &n) == 0 &&
        tg_trace_eval(p, views, n, &res) == 0)
        match = res.nsets > 0;
    tg_trace_result_free(&res);
    tg_arena_destroy(&a);
    free(text);
    return match;
}

static const char *attr_str(const json_t *attrs, const char *key)
{
    size_t i;
    json_t *a;

    json_array_foreach(attrs, i, a)
    {
        const char *k = json_string_value(json_object_get(a, "key"));
        if (k && strcmp(k, key) == 0)
            return json_string_value(
                json_object_get(json_object_get(a, "value"), "stringValue"));
    }
    return NULL;
}

static uint64_t u64_of(const json_t *v)
{
    return json_is_string(v) ? strtoull(json_string_value(v), NULL, 10)
                             : (uint64_t)json_integer_value(v);
}

/* Describes hit `h` by the whole stitched trace in `doc` (fetch_trace's
 * answer) rather than by the sites' matching spans: every site it
 * crossed, its root span and service, its extent, and errors per service. */
static void describe_hit(json_t *h, const json_t *doc)
{
    const json_t *rss = json_object_get(json_object_get(doc, "trace"), "resourceSpans");
    json_t *sites = json_array(), *stats = json_object(), *rs, *ss, *sp;
    json_t *ids = json_object();
    uint64_t t0 = UINT64_MAX, t1 = 0, root_start = UINT64_MAX;
    const char *root_svc = NULL, *root_name = NULL;
    size_t i, j, k;
    char b[24];

    if (!sites || !stats || !ids)
        goto out;
    /* Pass 1: every span id, to tell roots (no parent in the trace). */
    json_array_foreach(rss, i, rs)
        json_array_foreach(json_object_get(rs, "scopeSpans"), j, ss)
            json_array_foreach(json_object_get(ss, "spans"), k, sp)
    {
        const char *id = json_string_value(json_object_get(sp, "spanId"));
        if (id)
            json_object_set_new(ids, id, json_true());
    }
    json_array_foreach(rss, i, rs)
    {
        const json_t *attrs =
            json_object_get(json_object_get(rs, "resource"), "attributes");
        const char *site = attr_str(attrs, "tollgate.site"),
                   *svc = attr_str(attrs, "service.name");
        size_t n;
        json_t *x, *st;
        int seen = 0;

        svc = svc ? svc : "";
        json_array_foreach(sites, n, x) seen |=
            site && strcmp(json_string_value(x), site) == 0;
        if (site && !seen)
            json_array_append_new(sites, json_string(site));
        if (!(st = json_object_get(stats, svc))) {
            st = json_pack("{s:i,s:i}", "spanCount", 0, "errorCount", 0);
            json_object_set_new(stats, svc, st);
        }
        json_array_foreach(json_object_get(rs, "scopeSpans"), j, ss)
            json_array_foreach(json_object_get(ss, "spans"), k, sp)
        {
            uint64_t a = u64_of(json_object_get(sp, "startTimeUnixNano")),
                     e = u64_of(json_object_get(sp, "endTimeUnixNano"));
            const char *parent = json_string_value(json_object_get(sp, "parentSpanId"));
            const json_t *code = json_object_get(json_object_get(sp, "status"), "code");
            int err = json_integer_value(code) == 2 ||
                      (json_is_string(code) &&
                       strcmp(json_string_value(code), "STATUS_CODE_ERROR") == 0);

            json_object_set_new(
                st, "spanCount",
                json_integer(json_integer_value(json_object_get(st, "spanCount")) + 1));
            if (err)
                json_object_set_new(
                    st, "errorCount",
                    json_integer(json_integer_value(json_object_get(st, "errorCount")) +
                                 1));
            if (a && a < t0)
                t0 = a;
            if (e > t1)
                t1 = e;
            if ((!parent || !*parent || !json_object_get(ids, parent)) &&
                a < root_start) {
                root_start = a;
                root_svc = svc;
                root_name = json_string_value(json_object_get(sp, "name"));
            }
        }
    }
    if (!json_array_size(sites))
        goto out;
    json_object_set(h, "sites", sites);
    json_object_set(h, "serviceStats", stats);
    if (root_svc) {
        json_object_set_new(h, "rootServiceName", json_string(root_svc));
        json_object_set_new(h, "rootTraceName", json_string(root_name ? root_name : ""));
    }
    if (t0 != UINT64_MAX && t1 >= t0) {
        snprintf(b, sizeof(b), "%llu", (unsigned long long)t0);
        json_object_set_new(h, "startTimeUnixNano", json_string(b));
        json_object_set_new(h, "durationMs",
                            json_integer((json_int_t)((t1 - t0) / 1000000u)));
    }
out:
    json_decref(sites);
    json_decref(stats);
    json_decref(ids);
}

/* Runs a search; `start_ns`/`end_ns` 0 for open; `whole`: describe each
 * hit by its whole stitched trace (a trace-by-id fan-out per hit). Fills
 * *out with the answer document and returns the HTTP status. */
static int run_search(central *c, const tg_http_request *req, const char *q,
                      uint64_t start_ns, uint64_t end_ns, size_t limit, const char *view,
                      int require_complete, int whole, json_t **out)
{
    char perr[256], path[8300];
    tg_plan *plan = NULL;
    char *esc;
    site_fanout sf;
    tg_merge_part *parts;
    json_t *hits, *kept;
    size_t total = 0, fetched = 0;
    uint64_t spans_inspected = 0, bytes_inspected = 0;
    int status;

    if (tg_traceql_parse(q, strlen(q), &plan, perr, sizeof(perr)) != 0) {
        *out = json_pack("{s:s,s:i}", "error", perr, "column",
                         tg_central_error_column(perr));
        return 400;
    }
    if (!(esc = tg_query_http_escape(q))) {
        tg_plan_free(plan);
        *out = json_pack("{s:s}", "error", "out of memory");
        return 503;
    }
    snprintf(path, sizeof(path),
             "/api/v1/query/traces?q=%s&start=%llu&end=%llu&limit=%zu", esc,
             (unsigned long long)start_ns, (unsigned long long)end_ns,
             site_exact(plan) ? limit : (limit * 4 < 2000 ? limit * 4 : 2000));
    free(esc);
    if (tg_central_fanout(c, req, path, view, plan, start_ns, end_ns, &sf) != 0 ||
        !(parts = calloc(sf.n ? sf.n : 1, sizeof(*parts)))) {
        tg_central_fanout_free(&sf);
        tg_plan_free(plan);
        *out = json_pack("{s:s}", "error", "out of memory");
        return 503;
    }
    for (size_t i = 0; i < sf.n; i++) {
        const json_t *st = json_object_get(sf.docs[i], "stats");
        parts[i].site = sf.targets[i].name;
        parts[i].answer = sf.docs[i];
        spans_inspected +=
            (uint64_t)json_integer_value(json_object_get(st, "inspectedSpans"));
        bytes_inspected +=
            (uint64_t)json_integer_value(json_object_get(st, "inspectedBytes"));
    }
    hits = tg_merge_search(parts, sf.n, 0, &total);
    kept = json_array();
    for (size_t i = 0; i < json_array_size(hits) && json_array_size(kept) < limit; i++) {
        json_t *h = json_array_get(hits, i), *doc = NULL;
        if (site_exact(plan)) {
            if (whole &&
                fetch_trace(c, req, json_string_value(json_object_get(h, "traceID")),
                            view, 0, &doc) == 200)
                describe_hit(h, doc);
            json_decref(doc);
            json_array_append(kept, h);
            continue;
        }
        /* Newest first, until `limit` traces match or 100 were examined:
         * each examination is a trace-by-id fan-out. */
        if (fetched++ >= 100)
            break;
        if (fetch_trace(c, req, json_string_value(json_object_get(h, "traceID")), view, 0,
                        &doc) == 200 &&
            centre_match(plan, doc)) {
            if (whole)
                describe_hit(h, doc);
            json_array_append(kept, h);
        }
        json_decref(doc);
    }
    *out = json_pack("{s:o,s:{s:I,s:I,s:I,s:I,s:I,s:I},s:s}", "traces", kept, "metrics",
                     "inspectedSpans", (json_int_t)spans_inspected, "inspectedBytes",
                     (json_int_t)bytes_inspected, "candidateTraces", (json_int_t)total,
                     "examinedTraces", (json_int_t)fetched, "completedJobs",
                     (json_int_t)sf.answered, "totalJobs", (json_int_t)sf.asked, "view",
                     view);
    status = tg_central_fanout_finish(&sf, *out, require_complete, 200);
    json_decref(hits);
    free(parts);
    tg_central_fanout_free(&sf);
    tg_plan_free(plan);
    return status;
}

int tg_central_param_u64(const tg_http_request *req, tg_http_response *resp,
                         const char *key, uint64_t min, uint64_t max, uint64_t def,
                         uint64_t *out)
{
    const char *q;
    size_t qlen;
    char buf[32];
    int n;

    q = tg_http_query(req, &qlen);
    n = q ? tg_http_query_param(q, qlen, key, buf, sizeof(buf)) : -1;
    if (n == -1 || n == 0) {
        *out = def;
        return 1;
    }
    if (n > 0 && tg_parse_u64_range(buf, min, max, out) == 0)
        return 1;
    tg_central_answer_error(resp, 400,
                            "bad %s: a whole number from %llu to %llu expected", key,
                            (unsigned long long)min, (unsigned long long)max);
    return 0;
}

/* The most traces one federated search asks for. */
#define QUERY_MAX_LIMIT 100000

/* GET /api/v1/query/traces?q=TRACEQL&start=NS&end=NS&limit=N[&site=a,b]
 * [&require_complete=true] */
void tg_central_query_traces(const tg_http_request *req, tg_http_response *resp,
                             void *data)
{
    central *c = data;
    char user[64], role[64], view[64];

    if (tg_central_authorize(c, req, resp, user, role, view))
        tg_central_traces_for(c, req, resp, user, role, view);
}

void tg_central_traces_for(central *c, const tg_http_request *req, tg_http_response *resp,
                           const char *user, const char *role, const char *view)
{
    char q[8192];
    const char *qs;
    size_t qlen;
    json_t *doc;
    uint64_t start, end, limit;
    int status, whole;

    tg_central_set_asker(user, role);
    qs = tg_http_query(req, &qlen);
    if (!qs || tg_http_query_param(qs, qlen, "q", q, sizeof(q)) < 0) {
        tg_central_answer_error(resp, 400,
                                "q (a TraceQL query of at most %zu bytes) is "
                                "required",
                                sizeof(q) - 1);
        return;
    }
    if (!tg_central_param_u64(req, resp, "start", 0, UINT64_MAX, 0, &start) ||
        !tg_central_param_u64(req, resp, "end", 0, UINT64_MAX, 0, &end) ||
        !tg_central_param_u64(req, resp, "limit", 1, QUERY_MAX_LIMIT, 20, &limit))
        return;
    whole = param_true(req, "whole");
    /* Each hit described whole costs a trace fan-out: at most 50. */
    if (whole && limit > 50)
        limit = 50;
    status = run_search(c, req, q, start, end, (size_t)limit, view,
                        param_true(req, "require_complete"), whole, &doc);
    tg_central_answer_query(resp, "traces", "", user, role, view, status, doc, 1);
}

/* GET /api/search?q=&limit=&start=S&end=S (Tempo: unix seconds). */
void tg_central_tempo_search(const tg_http_request *req, tg_http_response *resp,
                             void *data)
{
    central *c = data;
    char user[64], role[64], view[64], q[8192];
    const char *qs;
    size_t qlen;
    json_t *doc, *out;
    uint64_t start, end, limit;
    int status;

    if (!tg_central_authorize(c, req, resp, user, role, view))
        return;
    qs = tg_http_query(req, &qlen);
    if (qs && tg_http_query_param(qs, qlen, "q", q, sizeof(q)) == -2) {
        tg_central_answer_error(resp, 400, "bad q: at most %zu bytes", sizeof(q) - 1);
        return;
    }
    if (!qs || tg_http_query_param(qs, qlen, "q", q, sizeof(q)) < 0 || !q[0])
        snprintf(q, sizeof(q), "{}");
    /* Tempo's times are unix seconds */
    if (!tg_central_param_u64(req, resp, "start", 0, UINT64_MAX / 1000000000ull, 0,
                              &start) ||
        !tg_central_param_u64(req, resp, "end", 0, UINT64_MAX / 1000000000ull, 0, &end) ||
        !tg_central_param_u64(req, resp, "limit", 1, QUERY_MAX_LIMIT, 20, &limit))
        return;
    status = run_search(c, req, q, start * 1000000000ull, end * 1000000000ull,
                        (size_t)limit, view, 0, 0, &doc);
    if (status != 200) {
        tg_central_answer_json(resp, status, doc);
        json_decref(doc);
        return;
    }
    out = json_pack("{s:O,s:O}", "traces", json_object_get(doc, "traces"), "metrics",
                    json_object_get(doc, "metrics"));
    tg_central_answer_json(resp, 200, out);
    json_decref(out);
    json_decref(doc);
}

/* ---- a fan-out with its answers parsed (loki_api.c uses it too) ---------- */

/* Each site's data range as its last health report gave it. */
struct ranges {
    const tg_fanout_target *targets;
    size_t n;
    uint64_t *oldest, *newest;
    char (*jurisdiction)[16];
};

static int on_site_range(void *ctx, const Tollgate__V1__CentralSite *s)
{
    struct ranges *r = ctx;

    if (!s->health)
        return 0;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->targets[i].name, s->name) == 0) {
            r->oldest[i] = s->health->store_oldest_unix_nano;
            r->newest[i] = s->health->store_newest_unix_nano;
            snprintf(r->jurisdiction[i], sizeof(r->jurisdiction[i]), "%s",
                     s->health->jurisdiction ? s->health->jurisdiction : "");
        }
    return 0;
}

/* Pruning before asking, as Thanos prunes stores: a site whose data range
 * the window [from, to] misses holds nothing of it, and with
 * `jurisdiction=XX` a site reporting another jurisdiction is not asked;
 * both are skipped and named. The newest end is taken with ten minutes of
 * slack, since data keeps arriving between health reports. */
static void prune(central *c, const tg_http_request *req, site_fanout *sf, uint64_t from,
                  uint64_t to)
{
    const uint64_t slack = 600ull * 1000000000ull;
    size_t n = sf->n ? sf->n : 1;
    uint64_t *oldest = calloc(n, 2 * sizeof(uint64_t));
    char(*jur)[16] = calloc(n, sizeof(*jur));
    struct ranges r = {sf->targets, sf->n, oldest, oldest + n, jur};
    char want[16] = "";
    const char *q;
    size_t qlen;

    if (!oldest || !jur) {
        free(oldest);
        free(jur);
        return;
    }
    q = tg_http_query(req, &qlen);
    if (q)
        tg_http_query_param(q, qlen, "jurisdiction", want, sizeof(want));
    tg_cstore_sites(c->cs, on_site_range, &r);
    for (size_t i = 0; i < sf->n; i++) {
        if (sf->targets[i].skip)
            continue;
        if (want[0] && strcasecmp(want, jur[i]) != 0) {
            sf->targets[i].skip = 1;
            sf->targets[i].skip_reason = "outside the jurisdiction asked for";
            continue;
        }
        if (!r.oldest[i])
            continue; /* no data range known: ask */
        if ((to && to < r.oldest[i]) ||
            (from && r.newest[i] && from > r.newest[i] + slack)) {
            sf->targets[i].skip = 1;
            sf->targets[i].skip_reason = "holds no data in the query's time range";
        }
    }
    free(oldest);
    free(jur);
}

int tg_central_fanout(central *c, const tg_http_request *req, const char *path,
                      const char *view, const tg_plan *plan, uint64_t from_ns,
                      uint64_t to_ns, site_fanout *sf)
{
    tg_fanout_options fo;

    memset(sf, 0, sizeof(*sf));
    sf->n = plan_sites(c, req, "%s", path, view, &sf->calls, &sf->targets);
    sf->res = calloc(sf->n ? sf->n : 1, sizeof(*sf->res));
    sf->docs = calloc(sf->n ? sf->n : 1, sizeof(*sf->docs));
    if (!sf->calls || !sf->targets || !sf->res || !sf->docs) {
        tg_central_fanout_free(sf);
        return TG_ENOMEM;
    }
    for (size_t i = 0; plan && i < sf->n; i++)
        if (!sf->targets[i].skip && !tg_plan_site_may_match(plan, sf->targets[i].name)) {
            sf->targets[i].skip = 1;
            sf->targets[i].skip_reason = "the query's site matcher excludes it";
        }
    prune(c, req, sf, from_ns, to_ns);
    fanout_options(c, &fo);
    tg_fanout_run(sf->targets, sf->n, &fo, sf->res);
    for (size_t i = 0; i < sf->n; i++) {
        if (!sf->targets[i].skip)
            sf->asked++;
        if (sf->res[i].state != TG_SITE_SUCCESSFUL)
            continue;
        /* A 404 is an answer: the site holds nothing of it. */
        if (sf->res[i].http_status == 200) {
            sf->docs[i] = json_loadb(sf->res[i].body, sf->res[i].body_len, 0, NULL);
            if (!json_is_object(sf->docs[i])) {
                json_decref(sf->docs[i]);
                sf->docs[i] = NULL;
                sf->res[i].state = TG_SITE_FAILED;
                sf->res[i].reason = "bad_answer";
                continue;
            }
        }
        sf->answered++;
    }
    return 0;
}

int tg_central_fanout_finish(const site_fanout *sf, json_t *doc, int require_complete,
                             int status)
{
    int partial = 0;
    json_t *block = tg_fanout_status_json(sf->targets, sf->res, sf->n, &partial);
    json_t *warnings = json_object_get(doc, "warnings");
    char *warn;

    if (!json_is_array(warnings)) {
        warnings = json_array();
        json_object_set_new(doc, "warnings", warnings);
    }
    if ((warn = tg_fanout_warning_text(sf->targets, sf->res, sf->n))) {
        json_array_append_new(warnings, json_string(warn));
        free(warn);
    }
    json_object_set_new(doc, "is_partial", json_boolean(partial));
    json_object_set_new(doc, "_sites", block);
    if (sf->asked && !sf->answered) {
        json_object_set_new(doc, "error", json_string("no site answered"));
        return 502;
    }
    if (partial && require_complete) {
        json_object_set_new(doc, "error",
                            json_string("the answer is incomplete and completeness was "
                                        "demanded: see _sites"));
        return 503;
    }
    return status;
}

void tg_central_fanout_free(site_fanout *sf)
{
    for (size_t i = 0; sf->docs && i < sf->n; i++)
        json_decref(sf->docs[i]);
    if (sf->res)
        tg_fanout_results_free(sf->res, sf->n);
    free(sf->docs);
    free(sf->res);
    free(sf->targets);
    free(sf->calls);
    memset(sf, 0, sizeof(*sf));
}

/* ---- Tempo's tag APIs (the TraceQL editor's autocomplete) ------------------ */

static const char *const intrinsics[] = {
    "duration",          "kind",     "name", "status",         "statusMessage",
    "span:id",           "trace:id", "site", "trace:duration", "trace:rootName",
    "trace:rootService", NULL};

/* %XX decoded in place, again and again: Grafana encodes the tag twice. */
static void url_decode_all(char *s)
{
    while (strchr(s, '%')) {
        char *w = s;
        int changed = 0;
        for (const char *r = s; *r;) {
            if (r[0] == '%' && isxdigit((unsigned char)r[1]) &&
                isxdigit((unsigned char)r[2])) {
                char hex[3] = {r[1], r[2], 0};
                *w++ = (char)strtol(hex, NULL, 16);
                r += 3;
                changed = 1;
            } else {
                *w++ = *r++;
            }
        }
        *w = '\0';
        if (!changed)
            break;
    }
}

/* Every site's tags (tag == NULL) or one tag's values, merged and sorted,
 * as {"resource":[...],"span":[...]}. */
static json_t *gather_tags(central *c, const tg_http_request *req, const char *view,
                           const char *tag, int *partial)
{
    char path[600], *esc = tag ? tg_query_http_escape(tag) : NULL;
    site_fanout sf;
    json_t *sets = json_pack("{s:{},s:{}}", "resource", "span"), *out = json_object(),
           *block;
    const char *scope;
    json_t *set;

    snprintf(path, sizeof(path), "/api/v1/query/tags%s%s", esc ? "?tag=" : "",
             esc ? esc : "");
    free(esc);
    if (tg_central_fanout(c, req, path, view, NULL, 0, 0, &sf) == 0) {
        for (size_t i = 0; i < sf.n; i++)
            json_object_foreach(sets, scope, set)
            {
                size_t k;
                json_t *v;
                json_array_foreach(json_object_get(sf.docs[i], scope), k, v)
                {
                    json_object_set_new(set, json_string_value(v), json_true());
                }
            }
        block = tg_fanout_status_json(sf.targets, sf.res, sf.n, partial);
        json_decref(block);
        tg_central_fanout_free(&sf);
    }
    json_object_foreach(sets, scope, set)
    {
        json_object_set_new(out, scope, tg_json_keys(set));
    }
    json_decref(sets);
    return out;
}

/* GET /api/search/tags and /api/v2/search/tags */
void tg_central_tempo_tags(const tg_http_request *req, tg_http_response *resp, void *data)
{
    central *c = data;
    char user[64], role[64], view[64];
    const char *path;
    size_t plen;
    int partial = 0, v2;
    json_t *tags, *out;

    if (!tg_central_authorize(c, req, resp, user, role, view))
        return;
    path = tg_http_path(req, &plen);
    v2 = plen > 8 && strncmp(path, "/api/v2/", 8) == 0;
    tags = gather_tags(c, req, view, NULL, &partial);
    if (v2) {
        json_t *in = json_array();
        for (size_t i = 0; intrinsics[i]; i++)
            json_array_append_new(in, json_string(intrinsics[i]));
        out =
            json_pack("{s:[{s:s,s:O},{s:s,s:O},{s:s,s:o}]}", "scopes", "name", "resource",
                      "tags", json_object_get(tags, "resource"), "name", "span", "tags",
                      json_object_get(tags, "span"), "name", "intrinsic", "tags", in);
    } else {
        json_t *all = json_array();
        json_array_extend(all, json_object_get(tags, "resource"));
        json_array_extend(all, json_object_get(tags, "span"));
        out = json_pack("{s:o}", "tagNames", all);
    }
    tg_central_answer_json(resp, 200, out);
    json_decref(out);
    json_decref(tags);
}

/* GET /api/search/tag/{tag}/values and /api/v2/search/tag/{tag}/values */
void tg_central_tempo_tag_values(const tg_http_request *req, tg_http_response *resp,
                                 void *data)
{
    static const char *const status_v[] = {"ok", "error", "unset", NULL};
    static const char *const kind_v[] = {"unspecified", "internal", "server", "client",
                                         "producer",    "consumer", NULL};
    central *c = data;
    char user[64], role[64], view[64], tag[300];
    const char *path, *key, *const *keyword = NULL;
    size_t plen, skip;
    int partial = 0, v2;
    json_t *vals = json_array(), *out;

    if (!tg_central_authorize(c, req, resp, user, role, view)) {
        json_decref(vals);
        return;
    }
    path = tg_http_path(req, &plen);
    v2 = strncmp(path, "/api/v2/", 8) == 0;
    skip = v2 ? strlen("/api/v2/search/tag/") : strlen("/api/search/tag/");
    if (plen < skip + 8 || strncmp(path + plen - 7, "/values", 7) != 0) {
        json_decref(vals);
        tg_central_answer_error(resp, 404, "not found");
        return;
    }
    snprintf(tag, sizeof(tag), "%.*s", (int)(plen - skip - 7), path + skip);
    url_decode_all(tag);
    key = tag;
    if (strcmp(tag, "status") == 0)
        keyword = status_v;
    else if (strcmp(tag, "kind") == 0)
        keyword = kind_v;
    else if (strcmp(tag, "site") == 0 || strcmp(tag, "resource.tollgate.site") == 0) {
        pthread_rwlock_rdlock(&c->sites_lock);
        for (size_t i = 0; i < c->sites.n; i++)
            json_array_append_new(vals, json_string(c->sites.v[i].name));
        pthread_rwlock_unlock(&c->sites_lock);
    } else {
        json_t *got;
        if (strncmp(key, "resource.", 9) == 0)
            key += 9;
        else if (strncmp(key, "span.", 5) == 0)
            key += 5;
        else if (key[0] == '.')
            key += 1;
        got = gather_tags(c, req, view, key, &partial);
        json_array_extend(vals, json_object_get(got, "resource"));
        json_array_extend(vals, json_object_get(got, "span"));
        json_decref(got);
    }
    for (size_t i = 0; keyword && keyword[i]; i++)
        json_array_append_new(vals, json_string(keyword[i]));
    if (v2) {
        json_t *typed = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v)
        {
            json_array_append_new(typed,
                                  json_pack("{s:s,s:O}", "type",
                                            keyword ? "keyword" : "string", "value", v));
        }
        out = json_pack("{s:o}", "tagValues", typed);
    } else {
        out = json_pack("{s:O}", "tagValues", vals);
    }
    tg_central_answer_json(resp, 200, out);
    json_decref(out);
    json_decref(vals);
}

void tg_central_trace_for(central *c, const tg_http_request *req, tg_http_response *resp,
                          const char *user, const char *role, const char *view,
                          const char *id_text, size_t id_len)
{
    tg_central_set_asker(user, role);
    answer_trace(c, req, resp, user, role, view, id_text, id_len, " via=ui");
}
