/* The audit report at the centre (docs/audit.md, "The report"):
 *
 *   GET /api/v1/audit/report?from=DATE&to=DATE[&site=NAME][&format=json|csv|html|pdf]
 *
 * For each site in the registry with an `api:` address (or the one named),
 * the centre reads the site's transparency log over the site API with the
 * site's token: the newest signed checkpoint and every entry bundle it
 * covers, recomputes the Merkle root from those leaves and compares it with
 * the checkpoint's, checks the checkpoint's signature with the key the
 * witness pinned for the site and that the tree the witness cosigned is a
 * prefix of those leaves (a fork the witness recorded fails the site), and
 * reads the site's policy (classes with regulation,
 * legal basis and retention, destinations, every recorded version's text;
 * GET /api/v1/audit/policy). The figures are counted from the leaves by
 * report/, rendered in the format asked for. The Art. 30 fields the
 * policy cannot know come from the `audit:` section of the centre's
 * --config file.
 *
 * Who may ask: a user of --users whose role is compliance or admin (401
 * without a known token, 403 for another role). A site that cannot be
 * read is listed in the sites section with why; the others are counted. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central_int.h"
#include "query_http.h"
#include "server.h"
#include "tg_audit_checkpoint.h"
#include "tg_audit_merkle.h"
#include "tg_audit_note.h"
#include "tg_audit_report.h"
#include "tg_time.h"
#include "witness.h"
#include "tg_costmodel.h"
#include "tg_err.h"

#define LOG_MAX_LEAVES (1u << 20) /* a report reads at most a million leaves a site */
#define ANSWER_MAX (64u << 20)    /* one tile or the policy document */
#define SITE_TIMEOUT_MS 30000

/* The witness's word on a site (witness.h), copied under its call. */
typedef struct wit {
    int known;
    uint64_t cosigned_size, cosigned_ns, fork_size;
    tg_audit_hash cosigned_root;
    int fork, key_changed;
    char vkey[TG_AUDIT_NAME_MAX + 80];
} wit;

typedef struct site_ref {
    char name[64], token[512], api[256];
    wit w;
} site_ref;

static void audit_error(tg_http_response *resp, int status, const char *msg)
{
    json_t *doc = json_pack("{s:s}", "error", msg);
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

    json_decref(doc);
    if (s)
        tg_http_response_set(resp, status, "application/json", s, strlen(s));
    else
        tg_http_response_text(resp, 500, "out of memory\n");
    free(s);
}

static int get(const site_ref *s, const char *path, tg_query_http_answer *a, char *why,
               size_t cap)
{
    char url[600];
    tg_query_http_req q = {0};
    int rc;

    snprintf(url, sizeof(url), "%s/api/v1/audit/%s", s->api, path);
    q.url = url;
    q.accept = "*/*";
    q.token = s->token;
    q.timeout_ms = SITE_TIMEOUT_MS;
    q.max_body = ANSWER_MAX;
    rc = tg_query_http_get(&q, a);
    if (rc == 0 && a->status == 200)
        return 0;
    if (rc)
        snprintf(why, cap, "GET %s: %s", path, a->err[0] ? a->err : tg_strerror(rc));
    else
        snprintf(why, cap, "GET %s: HTTP %ld", path, a->status);
    return rc ? rc : TG_EIO;
}

/* The site's log: checkpoint, leaves (their hashes into tree), root check. */
typedef struct site_log {
    tg_audit_checkpoint cp;
    char root_b64[64];
    uint8_t **leaves;
    size_t *lens, n;
    int verified;
    int sig_checked; /* 1 valid, -1 invalid, 0 no key to check it with */
    char result[300];
    char witness[400];
} site_log;

static void site_log_free(site_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->leaves[i]);
    free(l->leaves);
    free(l->lens);
}

static int read_log(const site_ref *s, site_log *l, char *why, size_t cap)
{
    tg_query_http_answer a;
    tg_audit_note note;
    tg_audit_memtree tree;
    tg_audit_hash root;
    int rc;

    memset(&tree, 0, sizeof(tree));
    if ((rc = get(s, "checkpoint", &a, why, cap))) {
        free(a.body);
        return rc;
    }
    rc = tg_audit_note_parse(a.body, a.len, &note);
    if (rc == 0 && s->w.vkey[0]) {
        /* the key the witness pinned for the site: its signature is checked */
        tg_audit_verifier v;
        if (tg_audit_verifier_parse(s->w.vkey, strlen(s->w.vkey), &v) == 0)
            l->sig_checked = tg_audit_note_verify(&note, &v, 1) == 0 ? 1 : -1;
    }
    if (rc == 0)
        rc = tg_audit_checkpoint_parse(note.text, note.text_len, &l->cp);
    if (rc == 0) {
        /* the root as the note writes it: its third line */
        const char *p = memchr(note.text, '\n', note.text_len);
        p = p ? memchr(p + 1, '\n', note.text_len - (size_t)(p + 1 - note.text)) : NULL;
        if (p) {
            const char *e =
                memchr(p + 1, '\n', note.text_len - (size_t)(p + 1 - note.text));
            snprintf(l->root_b64, sizeof(l->root_b64), "%.*s", e ? (int)(e - p - 1) : 0,
                     p + 1);
        }
    }
    free(a.body);
    if (rc) {
        snprintf(why, cap, "the site's checkpoint does not parse");
        return rc;
    }
    if (l->cp.size > LOG_MAX_LEAVES) {
        snprintf(why, cap, "the log holds %llu leaves, more than a report reads (%u)",
                 (unsigned long long)l->cp.size, LOG_MAX_LEAVES);
        return TG_ETOO_BIG;
    }
    l->leaves = calloc(l->cp.size ? l->cp.size : 1, sizeof(*l->leaves));
    l->lens = calloc(l->cp.size ? l->cp.size : 1, sizeof(*l->lens));
    if (!l->leaves || !l->lens)
        return TG_ENOMEM;
    for (uint64_t t = 0; rc == 0 && t * TG_AUDIT_TILE_WIDTH < l->cp.size; t++) {
        tg_audit_tile tile = {0, t, TG_AUDIT_TILE_WIDTH};
        char path[TG_AUDIT_TILE_PATH_MAX];
        const uint8_t *e;
        size_t off = 0, elen;

        if (l->cp.size - t * TG_AUDIT_TILE_WIDTH < TG_AUDIT_TILE_WIDTH)
            tile.width = (unsigned)(l->cp.size - t * TG_AUDIT_TILE_WIDTH);
        if ((rc = tg_audit_tile_path(&tile, 1, path, sizeof(path))) ||
            (rc = get(s, path, &a, why, cap))) {
            free(a.body);
            break;
        }
        while (rc == 0 && l->n < l->cp.size &&
               (rc = tg_audit_bundle_next((const uint8_t *)a.body, a.len, &off, &e,
                                          &elen)) == 1) {
            tg_audit_hash h;
            rc = 0;
            if (!(l->leaves[l->n] = malloc(elen ? elen : 1))) {
                rc = TG_ENOMEM;
                break;
            }
            memcpy(l->leaves[l->n], e, elen);
            l->lens[l->n++] = elen;
            tg_audit_leaf_hash(e, elen, &h);
            if (tg_audit_memtree_append(&tree, &h, 1))
                rc = TG_ENOMEM;
        }
        free(a.body);
    }
    if (rc == 0 && l->n != l->cp.size) {
        snprintf(l->result, sizeof(l->result),
                 "NOT verified: the site served %zu leaves for a checkpoint of %llu",
                 l->n, (unsigned long long)l->cp.size);
    } else if (rc == 0) {
        tg_audit_reader r = tg_audit_memtree_reader(&tree);
        rc = tg_audit_merkle_root(&r, l->cp.size, &root);
        if (rc == 0 && memcmp(root.b, l->cp.root.b, TG_AUDIT_HASH_LEN) != 0)
            snprintf(l->result, sizeof(l->result),
                     "NOT verified: the leaves the site served do not hash to its "
                     "checkpoint's root");
        else if (rc == 0 && l->sig_checked < 0)
            snprintf(l->result, sizeof(l->result),
                     "NOT verified: the checkpoint's signature is not the site's pinned "
                     "key's");
        else if (rc == 0 && s->w.fork)
            snprintf(l->result, sizeof(l->result),
                     "NOT verified: the witness recorded a fork at size %llu",
                     (unsigned long long)s->w.fork_size);
        else if (rc == 0) {
            l->verified = 1;
            snprintf(
                l->result, sizeof(l->result),
                "intact: the %zu leaves hash to the checkpoint's root; %s", l->n,
                l->sig_checked > 0
                    ? "its signature verifies with the key the witness pinned"
                    : "its signature is not checked here (no key pinned for the site)");
        }
        /* the witness: is the cosigned tree a prefix of these leaves? */
        if (rc == 0 && !s->w.known) {
            snprintf(l->witness, sizeof(l->witness), "%s",
                     "the witness knows no such site");
        } else if (rc == 0 && s->w.cosigned_size == 0) {
            snprintf(l->witness, sizeof(l->witness), "%s", "not cosigned yet");
        } else if (rc == 0 && s->w.cosigned_size > l->cp.size) {
            snprintf(l->witness, sizeof(l->witness),
                     "cosigned size %llu is beyond the site's checkpoint (%llu): NOT "
                     "consistent",
                     (unsigned long long)s->w.cosigned_size,
                     (unsigned long long)l->cp.size);
            l->verified = 0;
        } else if (rc == 0) {
            tg_audit_hash pre;
            int same = tg_audit_merkle_root(&r, s->w.cosigned_size, &pre) == 0 &&
                       memcmp(pre.b, s->w.cosigned_root.b, TG_AUDIT_HASH_LEN) == 0;
            snprintf(
                l->witness, sizeof(l->witness), "cosigned at size %llu%s; %s%s%s",
                (unsigned long long)s->w.cosigned_size,
                s->w.cosigned_size == l->cp.size ? " (this checkpoint)" : "",
                same ? "the cosigned root is the root of these leaves' prefix"
                     : "NOT consistent: the cosigned root is not these leaves' prefix",
                s->w.fork ? "; FORK recorded" : "",
                s->w.key_changed ? "; another key was offered" : "");
            if (!same)
                l->verified = 0;
        }
    }
    tg_audit_memtree_free(&tree);
    if (rc && !why[0])
        snprintf(why, cap, "%s", tg_strerror(rc));
    return rc;
}

/* The site's policy document into the report (classes and destinations
 * of the first site read only: they are the report's columns). */
static void add_policy(tg_report *r, const json_t *doc, int first, tg_report_site *s)
{
    const json_t *v, *site = json_object_get(doc, "site");
    const char *k;
    size_t i;

    s->region = json_string_value(json_object_get(site, "region"));
    s->country = json_string_value(json_object_get(site, "country"));
    json_object_foreach((json_t *)json_object_get(doc, "texts"), k, v)
        tg_report_add_policy_text(r, k, json_string_value(v), json_string_length(v));
    if (!first)
        return;
    json_array_foreach(json_object_get(doc, "classes"), i, v)
    {
        tg_report_class c = {
            json_string_value(json_object_get(v, "name")),
            json_string_value(json_object_get(v, "description")),
            json_string_value(json_object_get(v, "regulation")),
            json_string_value(json_object_get(v, "legal_basis")),
            (uint64_t)json_integer_value(json_object_get(v, "retention_sec"))};
        if (c.name)
            tg_report_add_class(r, &c);
    }
    json_array_foreach(json_object_get(doc, "destinations"), i, v)
    {
        tg_report_destination d = {json_string_value(json_object_get(v, "name")),
                                   json_string_value(json_object_get(v, "country")),
                                   json_string_value(json_object_get(v, "region")),
                                   json_string_value(json_object_get(v, "purpose"))};
        if (d.name)
            tg_report_add_destination(r, &d);
    }
}

static int on_witness(void *ctx, const tg_witness_status *st)
{
    site_ref *refs = ((void **)ctx)[0];
    size_t n = *(size_t *)((void **)ctx)[1];

    for (size_t i = 0; i < n; i++) {
        wit *w = &refs[i].w;
        if (strcmp(refs[i].name, st->site) != 0)
            continue;
        w->known = 1;
        w->cosigned_size = st->cosigned_size;
        w->cosigned_root = st->cosigned_root;
        w->cosigned_ns = st->cosigned_ns;
        w->fork = st->fork;
        w->fork_size = st->fork_size;
        w->key_changed = st->key_changed;
        snprintf(w->vkey, sizeof(w->vkey), "%s", st->vkey);
    }
    return 0;
}

static int add_site(tg_report *r, const site_ref *s, int *first)
{
    tg_report_site rs;
    site_log l;
    tg_query_http_answer a;
    json_t *pol = NULL;
    char why[300] = "", origin[300];
    int rc;

    memset(&l, 0, sizeof(l));
    memset(&rs, 0, sizeof(rs));
    rs.name = s->name;
    rs.witness = "";
    rc = read_log(s, &l, why, sizeof(why));
    if (rc == 0 && get(s, "policy", &a, why, sizeof(why)) == 0)
        pol = json_loadb(a.body, a.len, 0, NULL);
    else if (rc == 0)
        rc = TG_EIO;
    if (rc == 0)
        free(a.body);
    if (pol) {
        add_policy(r, pol, *first, &rs);
        *first = 0;
    }
    snprintf(origin, sizeof(origin), "%s", l.cp.origin);
    rs.origin = origin;
    rs.tree_size = l.cp.size;
    rs.root = l.root_b64;
    rs.verified = rc == 0 && l.verified;
    rs.verify_result = rc ? why : l.result;
    rs.witness = l.witness;
    if (tg_report_add_site(r, &rs)) {
        rc = TG_ENOMEM;
    } else if (rc == 0) {
        /* retention figures too come from the leaves (their "retention"
         * entries), never from the site's word beside the log */
        for (size_t i = 0; i < l.n; i++)
            tg_report_add_leaf(r, l.leaves[i], l.lens[i]);
    }
    json_decref(pol);
    site_log_free(&l);
    return rc == TG_ENOMEM ? rc : 0;
}

static int param(const tg_http_request *req, const char *key, char *buf, size_t len)
{
    size_t qlen;
    const char *q = tg_http_query(req, &qlen);

    buf[0] = 0;
    return q && tg_http_query_param(q, qlen, key, buf, len) >= 0 && buf[0];
}

/* A compliance or admin user's token: 1, or answered 401/403 and 0. */
static int authorized(central *c, const tg_http_request *req, tg_http_response *resp)
{
    tg_central_who who;
    int rc = tg_central_caller(c, req, 0, &who);

    if (rc != 0) {
        audit_error(resp, 401, tg_central_challenge(resp, rc));
        return 0;
    }
    if (strcmp(who.role, "compliance") != 0 && strcmp(who.role, "admin") != 0) {
        audit_error(resp, 403, "the audit report is for the compliance and admin roles");
        return 0;
    }
    return 1;
}

void tg_central_audit_report(const tg_http_request *req, tg_http_response *resp,
                             void *data)
{
    if (authorized(data, req, resp))
        tg_central_audit_report_for(data, req, resp);
}

void tg_central_audit_report_for(central *c, const tg_http_request *req,
                                 tg_http_response *resp)
{
    static const char *const types[] = {"application/json", "text/csv; charset=utf-8",
                                        "text/html; charset=utf-8", "application/pdf"};
    char from_s[40], to_s[40], only[64], fmt[16], err[1200] = "";
    int64_t t0, t1;
    enum tg_report_format f = TG_REPORT_JSON;
    tg_report_config cfg;
    site_ref *refs = NULL;
    size_t n = 0;
    tg_report *r;
    json_t *model = NULL;
    tg_strbuf out = {0};
    int first = 1, rc = 0;

    if (!param(req, "from", from_s, sizeof(from_s)) ||
        !param(req, "to", to_s, sizeof(to_s)) || tg_cost_parse_date(from_s, &t0) ||
        tg_cost_parse_date(to_s, &t1) || t1 <= t0 || t0 < 0) {
        audit_error(resp, 400,
                    "from and to are required: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, "
                    "from before to");
        return;
    }
    if (param(req, "format", fmt, sizeof(fmt)) && tg_report_format_parse(fmt, &f)) {
        audit_error(resp, 400, "format: json, csv, html or pdf");
        return;
    }
    param(req, "site", only, sizeof(only));
    tg_report_config_defaults(&cfg);
    if (c->cfg.config_file[0] &&
        tg_report_config_load(c->cfg.config_file, &cfg, err, sizeof(err))) {
        audit_error(resp, 500, err);
        return;
    }
    pthread_rwlock_rdlock(&c->sites_lock);
    refs = calloc(c->sites.n ? c->sites.n : 1, sizeof(*refs));
    for (size_t i = 0; refs && i < c->sites.n; i++) {
        const tg_site_entry *e = &c->sites.v[i];
        if (!e->api[0] || (only[0] && strcmp(only, e->name) != 0))
            continue;
        snprintf(refs[n].name, sizeof(refs[n].name), "%s", e->name);
        snprintf(refs[n].token, sizeof(refs[n].token), "%s", e->token);
        snprintf(refs[n].api, sizeof(refs[n].api), "%s", e->api);
        n++;
    }
    pthread_rwlock_unlock(&c->sites_lock);
    if (refs && c->witness) {
        void *ctx[2] = {refs, &n};
        tg_witness_status_foreach(c->witness, tg_wall_ns(), on_witness, ctx);
    }
    r = refs ? tg_report_new((uint64_t)t0 * 1000000000u, (uint64_t)t1 * 1000000000u)
             : NULL;
    if (!r) {
        free(refs);
        audit_error(resp, 500, "out of memory");
        return;
    }
    tg_report_set_config(r, &cfg);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = add_site(r, &refs[i], &first);
    free(refs);
    if (rc == 0 && !(model = tg_report_build(r)))
        rc = TG_ENOMEM;
    tg_report_free(r);
    if (rc == 0)
        rc = tg_report_render(model, f, &out, err, sizeof(err));
    json_decref(model);
    if (rc)
        audit_error(resp, 500, err[0] ? err : tg_strerror(rc));
    else
        tg_http_response_set(resp, 200, types[f], out.p, out.len);
    free(out.p);
}
