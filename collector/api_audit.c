/* The site API's transparency log routes (c2sp.org/tlog-tiles), beside
 * api.c's router:
 *
 *   GET /api/v1/audit/checkpoint              the newest signed checkpoint
 *   GET /api/v1/audit/tile/L/N[.p/W]          hash tiles
 *   GET /api/v1/audit/tile/entries/N[.p/W]    entry bundles (ledger entries)
 *
 * Entries carry counts, ids and hashes only, never a value; still, like
 * every data endpoint, a caller shows a query client's token. Reads are
 * short LMDB read transactions, answered on the loop thread. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "tg_access.h"
#include "tg_err.h"
#include "tg_strbuf.h"

#define AUDIT_PREFIX "/api/v1/audit/"

static void respond(tg_http_request *req, int status, const char *msg)
{
    tg_http_respond(req, status, "text/plain; charset=utf-8", NULL, msg, strlen(msg));
}

int tg_api_audit_route(tg_api *api, tg_http_request *req, const char *path, size_t plen)
{
    const size_t pre = sizeof(AUDIT_PREFIX) - 1;
    const char *h;
    size_t hlen;
    char hdr[600];
    tg_strbuf sb = {0};
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
    if (!api->audit_read) {
        respond(req, 404, "this site keeps no transparency log (it does not forward)\n");
        return 1;
    }
    rc = api->audit_read(api->record_ctx, path + pre, plen - pre, &sb);
    if (rc == 0 && !sb.oom)
        tg_http_respond(req, 200,
                        plen - pre == 10 ? "text/plain; charset=utf-8"
                                         : "application/octet-stream",
                        "Cache-Control: no-cache\r\n", sb.p ? sb.p : "", sb.len);
    else if (rc == TG_ENOT_FOUND || rc == TG_EPARSE)
        respond(req, 404, "no such checkpoint or tile\n");
    else
        respond(req, 500, "the transparency log cannot be read\n");
    free(sb.p);
    return 1;
}
