/* The site API's transparency log routes (c2sp.org/tlog-tiles), beside
 * api.c's router:
 *
 *   GET /api/v1/audit/checkpoint              the newest signed checkpoint
 *   GET /api/v1/audit/tile/L/N[.p/W]          hash tiles
 *   GET /api/v1/audit/tile/entries/N[.p/W]    entry bundles (ledger entries)
 *   GET /api/v1/audit/checkpoints[?from=N]    every signed checkpoint of size
 *                                             >= N, oldest first, a page at a
 *                                             time (JSON; outbox_tlog.h)
 *   GET /api/v1/audit/proof?batch=ID          a tlog-proof file for a batch's
 *                                             ledger entry
 *   GET /api/v1/audit/consistency?old=M&size=N  the consistency proof M -> N
 *   GET /api/v1/audit/policy                  what the audit report needs of the
 *                                             site's policy (JSON, below)
 *
 * Entries carry counts, ids and hashes only, never a value; still, like
 * every data endpoint, a caller shows a query client's token. Reads are
 * short LMDB read transactions, answered on the loop thread. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "tg_access.h"
#include "tg_err.h"
#include "tg_policy_archive.h"
#include "tg_strbuf.h"

#define AUDIT_PREFIX "/api/v1/audit/"

static void respond(tg_http_request *req, int status, const char *msg)
{
    tg_http_respond(req, status, "text/plain; charset=utf-8", NULL, msg, strlen(msg));
}

static int add_text(void *ctx, const char *version, const char *text, size_t len)
{
    json_object_set_new(ctx, version, json_stringn_nocheck(text, len));
    return 0;
}

/* The archived policy texts (rules/tg_policy_archive.h) into texts as
 * version -> text. */
static void policy_texts(const char *data_dir, json_t *texts)
{
    if (data_dir)
        (void)tg_policy_archive_each(data_dir, add_text, texts);
}

static void add_count(void *ctx, const char *cls, uint64_t n)
{
    json_object_set_new(ctx, cls, json_integer((json_int_t)n));
}

/* GET /api/v1/audit/policy: the policy in force as the audit report reads
 * it (site, classes with regulation, legal basis and retention,
 * destinations), every recorded version's text, and the store's count of
 * records deleted at the end of a class retention. */
static void serve_policy(tg_api *api, tg_http_request *req)
{
    tg_rules_policy *p = api->rules ? tg_rules_slot_acquire(api->rules) : NULL;
    json_t *doc = json_object(), *cl = json_array(), *ds = json_array(),
           *tx = json_object();
    tg_rules_site_info si;
    tg_store_stats st;
    char *s;

    if (p) {
        tg_rules_site(p, &si);
        json_object_set_new(doc, "site",
                            json_pack("{s:s s:s s:s}", "name", si.name, "country",
                                      si.country, "region", si.region));
        json_object_set_new(doc, "version", json_string(tg_rules_policy_version(p)));
        for (size_t i = 0; i < tg_rules_n_classes(p); i++) {
            tg_rules_class_info c;
            if (tg_rules_class(p, i, &c) == 0)
                json_array_append_new(
                    cl, json_pack("{s:s s:s s:s s:s s:I}", "name", c.name, "description",
                                  c.description, "regulation", c.regulation,
                                  "legal_basis", c.legal_basis, "retention_sec",
                                  (json_int_t)c.retention_sec));
        }
        for (size_t i = 0; i < tg_rules_n_destinations(p); i++) {
            tg_rules_destination_info d;
            if (tg_rules_destination(p, i, &d) == 0)
                json_array_append_new(ds,
                                      json_pack("{s:s s:s s:s s:s}", "name", d.name,
                                                "country", d.country ? d.country : "",
                                                "region", d.region ? d.region : "",
                                                "purpose", d.purpose ? d.purpose : ""));
        }
        tg_rules_policy_unref(p);
    }
    policy_texts(api->data_dir, tx);
    json_object_set_new(doc, "classes", cl);
    json_object_set_new(doc, "destinations", ds);
    json_object_set_new(doc, "texts", tx);
    if (api->store && tg_store_get_stats(api->store, &st) == 0)
        json_object_set_new(doc, "retention_deleted",
                            json_integer((json_int_t)st.expired_records));
    {
        json_t *by = json_object();
        if (api->store && by && tg_store_expired_by_class(api->store, add_count, by) == 0)
            json_object_set_new(doc, "retention_by_class", by);
        else
            json_decref(by);
    }
    s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (s)
        tg_http_respond(req, 200, "application/json", NULL, s, strlen(s));
    else
        respond(req, 500, "out of memory\n");
    free(s);
}

/* The log's resource for the request: the path as it is (tlog-tiles), or
 * the internal path outbox_tlog.h serves for the routes that take a query
 * string; *type gets the answer's content type. */
static int audit_resource(tg_api *api, tg_http_request *req, const char *res, size_t len,
                          tg_strbuf *sb, const char **type)
{
    char internal[300], arg[256] = "";
    size_t qlen = 0;
    const char *q = tg_http_query(req, &qlen);

    *type = "application/octet-stream";
    if (len == 10 && memcmp(res, "checkpoint", 10) == 0)
        *type = "text/plain; charset=utf-8";
    if (len == 11 && memcmp(res, "checkpoints", 11) == 0) {
        if (q && tg_http_query_param(q, qlen, "from", arg, sizeof(arg)) == -2)
            return TG_EPARSE;
        snprintf(internal, sizeof(internal), "checkpoints/%s", arg[0] ? arg : "0");
        *type = "application/json";
        return api->audit_read(api->record_ctx, internal, strlen(internal), sb);
    }
    if (len == 5 && memcmp(res, "proof", 5) == 0) {
        if (!q || tg_http_query_param(q, qlen, "batch", arg, sizeof(arg)) <= 0)
            return TG_EPARSE;
        snprintf(internal, sizeof(internal), "proof/%s", arg);
        *type = "text/plain; charset=utf-8";
        return api->audit_read(api->record_ctx, internal, strlen(internal), sb);
    }
    if (len == 11 && memcmp(res, "consistency", 11) == 0) {
        char size[32];

        if (!q || tg_http_query_param(q, qlen, "old", arg, 32) <= 0 ||
            tg_http_query_param(q, qlen, "size", size, sizeof(size)) <= 0)
            return TG_EPARSE;
        snprintf(internal, sizeof(internal), "consistency/%s/%s", arg, size);
        *type = "text/plain; charset=utf-8";
        return api->audit_read(api->record_ctx, internal, strlen(internal), sb);
    }
    /* (the internal forms are not reachable by path) */
    if ((len > 12 && memcmp(res, "checkpoints/", 12) == 0) ||
        (len > 12 && memcmp(res, "consistency/", 12) == 0) ||
        (len > 6 && memcmp(res, "proof/", 6) == 0))
        return TG_EPARSE;
    return api->audit_read(api->record_ctx, res, len, sb);
}

int tg_api_audit_route(tg_api *api, tg_http_request *req, const char *path, size_t plen)
{
    const size_t pre = sizeof(AUDIT_PREFIX) - 1;
    const char *h;
    size_t hlen;
    char hdr[600];
    tg_strbuf sb = {0};
    const char *type;
    int rc;

    if (plen < pre || memcmp(path, AUDIT_PREFIX, pre) != 0)
        return 0;
    h = tg_http_header(req, "authorization", &hlen);
    snprintf(hdr, sizeof(hdr), "%.*s",
             h ? (int)(hlen < sizeof(hdr) - 1 ? hlen : sizeof(hdr) - 1) : 0, h ? h : "");
    if (!api->clients || !api->clients->n || !h ||
        !tg_access_authenticate(api->clients, hdr)) {
        tg_http_respond(req, 401, "text/plain; charset=utf-8",
                        "WWW-Authenticate: Bearer realm=\"tollgate\"\r\n",
                        "a query client's bearer token is required\n",
                        sizeof("a query client's bearer token is required\n") - 1);
        return 1;
    }
    if (plen - pre == 6 && memcmp(path + pre, "policy", 6) == 0) {
        serve_policy(api, req);
        return 1;
    }
    if (!api->audit_read) {
        respond(req, 404, "this site keeps no transparency log (it does not forward)\n");
        return 1;
    }
    rc = audit_resource(api, req, path + pre, plen - pre, &sb, &type);
    if (rc == 0 && !sb.oom)
        tg_http_respond(req, 200, type, "Cache-Control: no-cache\r\n", sb.p ? sb.p : "",
                        sb.len);
    else if (rc == TG_ENOT_FOUND || rc == TG_EPARSE)
        respond(req, 404, "no such checkpoint, tile or batch\n");
    else
        respond(req, 500, "the transparency log cannot be read\n");
    free(sb.p);
    return 1;
}
