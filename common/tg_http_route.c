/* Routes: a daemon's endpoints as a table, and handlers that may block,
 * run on libuv's worker threads.
 *
 * A worker-thread handler reads its request while the connection is
 * PENDING: reading is stopped and no timer runs, so nothing on the loop
 * thread touches the request's buffers until the answer comes back
 * (tg_http_conn.c). The answer is sent from the loop thread, in the
 * work's completion callback. */
#include "tg_http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct route_work {
    uv_work_t w;
    tg_http_request *req;
    tg_http_work_handler fn;
    void *data;
    tg_http_response resp;
} route_work;

void tg_http_response_set(tg_http_response *resp, int status, const char *content_type,
                          const void *body, size_t len)
{
    void *b = malloc(len ? len : 1);

    free(resp->body);
    resp->body = NULL;
    resp->len = 0;
    if (!b) {
        resp->status = 503;
        resp->content_type = NULL;
        return;
    }
    if (len)
        memcpy(b, body, len);
    resp->status = status;
    resp->content_type = content_type;
    resp->body = b;
    resp->len = len;
}

void tg_http_response_text(tg_http_response *resp, int status, const char *text)
{
    tg_http_response_set(resp, status, "text/plain; charset=utf-8", text, strlen(text));
}

static void work_run(uv_work_t *w)
{
    route_work *k = w->data;

    k->fn(k->req, &k->resp, k->data);
}

static void work_done(uv_work_t *w, int status)
{
    static const char none[] = "no response\n";
    route_work *k = w->data;
    const tg_http_response *r = &k->resp;

    if (status != 0 || r->status == 0)
        tg_http_respond(k->req, 500, "text/plain; charset=utf-8", NULL, none,
                        sizeof(none) - 1);
    else
        tg_http_respond(k->req, r->status, r->content_type,
                        r->headers[0] ? r->headers : NULL, r->body, r->len);
    free(k->resp.body);
    free(k);
}

static void run_work(tg_http_request *req, tg_http_work_handler fn, void *data)
{
    static const char busy[] = "server busy\n";
    route_work *k = calloc(1, sizeof(*k));

    if (k) {
        k->w.data = k;
        k->req = req;
        k->fn = fn;
        k->data = data;
        if (uv_queue_work(req->conn->server->loop, &k->w, work_run, work_done) == 0)
            return;
        free(k);
    }
    tg_http_respond(req, 503, "text/plain; charset=utf-8", "Retry-After: 1\r\n", busy,
                    sizeof(busy) - 1);
}

static int path_matches(const tg_http_route *rt, const char *path, size_t len)
{
    size_t n = strlen(rt->path);

    if (rt->prefix)
        return len >= n && memcmp(path, rt->path, n) == 0;
    return len == n && memcmp(path, rt->path, n) == 0;
}

static int method_matches(const char *want, const char *m)
{
    return !want || strcmp(want, m) == 0 ||
           (strcmp(want, "GET") == 0 && strcmp(m, "HEAD") == 0);
}

void tg_http_dispatch(tg_http_request *req, void *router)
{
    static const char nf[] = "not found\n";
    const tg_http_router *rt = router;
    const char *m = tg_http_method(req);
    char allow[128] = "", hdr[160], body[160];
    size_t plen, alen = 0;
    const char *path = tg_http_path(req, &plen);

    for (size_t i = 0; i < rt->n; i++) {
        const tg_http_route *r = &rt->routes[i];

        if (!path_matches(r, path, plen))
            continue;
        if (method_matches(r->method, m)) {
            if (r->handler)
                r->handler(req, rt->data);
            else
                run_work(req, r->work, rt->data);
            return;
        }
        if (alen < sizeof(allow))
            alen += (size_t)snprintf(allow + alen, sizeof(allow) - alen, "%s%s",
                                     alen ? ", " : "", r->method);
    }
    if (!allow[0]) {
        tg_http_respond(req, 404, "text/plain; charset=utf-8", NULL, nf, sizeof(nf) - 1);
        return;
    }
    snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
    snprintf(body, sizeof(body), "%s only\n", allow);
    tg_http_respond(req, 405, "text/plain; charset=utf-8", hdr, body, strlen(body));
}

int tg_http_dispatch_check(const tg_http_request *req, void *router,
                           tg_http_response *resp)
{
    const tg_http_router *rt = router;
    const char *m = tg_http_method(req);
    size_t plen;
    const char *path = tg_http_path(req, &plen);

    /* The route tg_http_dispatch() will choose: the first whose path and
     * method match. */
    for (size_t i = 0; i < rt->n; i++) {
        const tg_http_route *r = &rt->routes[i];

        if (path_matches(r, path, plen) && method_matches(r->method, m))
            return r->check ? r->check(req, rt->data, resp) : 0;
    }
    return 0;
}
