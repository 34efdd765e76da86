/* The witness's routes (witness.h; docs/audit.md "The witness"):
 *
 *   POST /api/v1/witness/add-checkpoint  (also /add-checkpoint, the path
 *                                         c2sp.org/tlog-witness names)
 *   POST /api/v1/witness/inclusion       a site proves its batches' leaves
 *   GET  /api/v1/witness/status          per-site state, for users whose
 *                                        role may see audit state
 *
 * Sites authenticate as for uploads (bearer upload token and
 * X-Tollgate-Site); users with their query token. */
#include "central_int.h"
#include "witness.h"

#include <stdlib.h>
#include <string.h>

#include "tg_time.h"

/* Roles that may read the witness's state: the built-in compliance and
 * sre roles (custom roles by those names too). */
static int role_sees_audit(const char *role)
{
    return strcmp(role, "compliance") == 0 || strcmp(role, "sre") == 0;
}

static void send_answer(tg_http_response *resp, tg_witness_answer *a)
{
    if (a->body.oom)
        tg_http_response_text(resp, 503, "out of memory\n");
    else
        tg_http_response_set(resp, a->status, a->content_type, a->body.p, a->body.len);
    free(a->body.p);
}

/* The authenticated site, or NULL after answering. */
static const char *site_of(central *c, const tg_http_request *req, tg_http_response *resp)
{
    const char *site = tg_http_header(req, "X-Tollgate-Site", NULL);

    if (!site || !tg_site_name_ok(site, strlen(site))) {
        tg_http_response_text(resp, 401, "missing or invalid X-Tollgate-Site\n");
        return NULL;
    }
    if (!c->witness) {
        tg_http_response_text(resp, 503, "the witness is not available\n");
        return NULL;
    }
    if (tg_central_site_auth(c, req, site, resp) != 0)
        return NULL;
    return site;
}

void tg_central_witness_add(const tg_http_request *req, tg_http_response *resp,
                            void *data)
{
    central *c = data;
    const char *site = site_of(c, req, resp), *offered;
    const tg_site_entry *e;
    tg_witness_answer a;
    const uint8_t *body;
    size_t len;
    char pinned[512] = "";

    if (!site)
        return;
    pthread_rwlock_rdlock(&c->sites_lock);
    if ((e = tg_sites_find(&c->sites, site)))
        memcpy(pinned, e->audit_key, sizeof(pinned));
    pthread_rwlock_unlock(&c->sites_lock);
    offered = tg_http_header(req, "X-Tollgate-Audit-Key", NULL);
    body = tg_http_body(req, &len);
    tg_witness_add_checkpoint(c->witness, site, pinned, offered, (const char *)body, len,
                              tg_wall_ns(), &a);
    if (a.status == 409)
        atomic_fetch_add(&c->witness_conflicts, 1);
    else if (a.status == 200)
        atomic_fetch_add(&c->witness_cosigned, 1);
    else
        atomic_fetch_add(&c->witness_refused, 1);
    send_answer(resp, &a);
}

void tg_central_witness_inclusion(const tg_http_request *req, tg_http_response *resp,
                                  void *data)
{
    central *c = data;
    const char *site = site_of(c, req, resp);
    tg_witness_answer a;
    const uint8_t *body;
    size_t len;

    if (!site)
        return;
    body = tg_http_body(req, &len);
    tg_witness_inclusion(c->witness, site, (const char *)body, len, tg_wall_ns(), &a);
    send_answer(resp, &a);
}

void tg_central_witness_status(const tg_http_request *req, tg_http_response *resp,
                               void *data)
{
    central *c = data;
    tg_central_who who;
    char *body;
    int rc = tg_central_caller(c, req, 0, &who);

    if (rc != 0) {
        tg_http_response_text(resp, 401, tg_central_challenge(resp, rc));
        return;
    }
    if (!role_sees_audit(who.role)) {
        tg_http_response_text(resp, 403, "this role may not see audit state\n");
        return;
    }
    if (!c->witness || !(body = tg_witness_status_json(c->witness, tg_wall_ns()))) {
        tg_http_response_text(resp, 503, "the witness is not available\n");
        return;
    }
    tg_http_response_set(resp, 200, "application/json", body, strlen(body));
    free(body);
}
