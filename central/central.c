/* tollgate central: the daemon and its handlers. Threads: the HTTP loop
 * (server.c) and libuv's workers, on which the handlers below run (the
 * route table is in server.c), a retention thread, and the main thread
 * waiting for signals (SIGTERM/SIGINT stop, SIGHUP reloads the sites
 * registry). */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "server.h"
#include "tg_arena.h"
#include "tg_codec.h"
#include "central_int.h"
#include "tg_strbuf.h"
#include "tg_central.h"
#include "tg_compress.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tg_otlp.h"
#include "tg_time.h"
#include "tg_utf8.h"
#include "tg_wire.h"
#include "ui_session.h"
#include "witness.h"
#include "tg_strbuf.h"

#define MAX_BATCH_RAW (256u << 20)
#define RETENTION_EVERY_SEC 30

/* ---- validating what a site sent ---------------------------------------------- */

static int str_ok(const char *s)
{
    return !s || tg_utf8_valid(s, strlen(s));
}

static int kvs_ok(Tollgate__V1__KeyValue **kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!str_ok(kv[i]->key))
            return 0;
        if (kv[i]->value_case == TOLLGATE__V1__KEY_VALUE__VALUE_STRING_VALUE &&
            !str_ok(kv[i]->string_value))
            return 0;
    }
    return 1;
}

/* Every string valid UTF-8 (the export is JSON) and every id well formed. */
static const char *batch_invalid(const Tollgate__V1__Batch *b)
{
    if (!str_ok(b->site) || !str_ok(b->policy_version))
        return "invalid UTF-8 in the batch header";
    for (size_t i = 0; i < b->n_spans; i++) {
        const Tollgate__V1__ServiceSpans *ss = b->spans[i];
        if (!str_ok(ss->service))
            return "invalid UTF-8 in a service name";
        for (size_t j = 0; j < ss->n_spans; j++) {
            const Tollgate__V1__SpanSummary *sp = ss->spans[j];
            if (sp->trace_id.len != 16 || sp->span_id.len != 8 ||
                (sp->parent_span_id.len != 0 && sp->parent_span_id.len != 8))
                return "malformed span id";
            if (!str_ok(sp->name) || !kvs_ok(sp->attributes, sp->n_attributes))
                return "invalid UTF-8 in a span summary";
        }
    }
    for (size_t i = 0; i < b->n_red; i++)
        if (!str_ok(b->red[i]->service) || !str_ok(b->red[i]->operation))
            return "invalid UTF-8 in a RED record";
    for (size_t i = 0; i < b->n_logs; i++)
        if (!str_ok(b->logs[i]->service) || !str_ok(b->logs[i]->template_))
            return "invalid UTF-8 in a log template";
    for (size_t i = 0; i < b->n_metrics; i++) {
        const Tollgate__V1__MetricPoint *p = b->metrics[i];
        if (!str_ok(p->service) || !str_ok(p->name) || !str_ok(p->unit) ||
            !kvs_ok(p->labels, p->n_labels))
            return "invalid UTF-8 in a metric point";
    }
    for (size_t i = 0; i < b->n_costs; i++) {
        const Tollgate__V1__CostRecord *c = b->costs[i];
        if (!str_ok(c->service) || !str_ok(c->meter) || !str_ok(c->consumed_unit) ||
            !str_ok(c->pricing_unit) || !str_ok(c->currency) || !str_ok(c->cost_model) ||
            !str_ok(c->provider) || !str_ok(c->region) || !str_ok(c->service_category) ||
            !str_ok(c->charge_category) || !str_ok(c->sku_id))
            return "invalid UTF-8 in a cost record";
    }
    for (size_t i = 0; i < b->n_sheds; i++)
        if (!str_ok(b->sheds[i]->reason))
            return "invalid UTF-8 in a shed notice";
    return NULL;
}

static int health_ok(const Tollgate__V1__SiteHealth *h)
{
    return !h || (str_ok(h->software_version) && str_ok(h->policy_version) &&
                  str_ok(h->jurisdiction));
}

/* ---- the upload ------------------------------------------------------------------ */

static void reply_ack(central *c, tg_http_response *resp, uint64_t t1, uint64_t t2,
                      Tollgate__V1__UploadAck__Result result, const tg_cstore_result *res,
                      unsigned version)
{
    Tollgate__V1__UploadAck ack = TOLLGATE__V1__UPLOAD_ACK__INIT;
    uint8_t buf[256];
    size_t n;

    ack.protocol_version = version;
    ack.result = result;
    ack.last_sequence = res->last_seq;
    ack.source_cursor = res->source_cursor;
    ack.t1_unix_nano = t1;
    ack.t2_unix_nano = t2;
    ack.protocol_min = c->pmin;
    ack.protocol_max = c->pmax;
    ack.central_version = TG_VERSION;
    /* t3 as late as possible: the answer is packed and written next. */
    ack.t3_unix_nano = tg_wall_ns();
    n = tollgate__v1__upload_ack__pack(&ack, buf);
    tg_http_response_set(resp, 200, "application/x-protobuf", buf, n);
}

int tg_central_site_auth(central *c, const tg_http_request *req, const char *site,
                         tg_http_response *resp)
{
    const char *auth = tg_http_header(req, "Authorization", NULL);
    const tg_site_entry *e;
    int ok = 0, cn_ok = 1;

    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
        tg_http_response_text(resp, 401, "missing bearer token\n");
        return -1;
    }
    auth += 7;
    pthread_rwlock_rdlock(&c->sites_lock);
    e = tg_sites_find(&c->sites, site);
    if (e) {
        ok = tg_sites_token_ok(e, auth, strlen(auth));
        if (ok && e->client_cert_cn[0])
            cn_ok = strcmp(e->client_cert_cn, tg_http_client_cn(req)) == 0;
    }
    pthread_rwlock_unlock(&c->sites_lock);
    if (!ok) {
        atomic_fetch_add(&c->refused_auth, 1);
        tg_warn("upload refused: unknown site or bad token", "site=%s peer=%s", site,
                tg_http_peer(req));
        tg_http_response_text(resp, 401, "unknown site or bad token\n");
        return -1;
    }
    if (!cn_ok) {
        atomic_fetch_add(&c->refused_auth, 1);
        tg_warn("upload refused: client certificate does not match the site", "site=%s",
                site);
        tg_http_response_text(resp, 403, "client certificate does not match this site\n");
        return -1;
    }
    return 0;
}

static void bad(central *c, tg_http_response *resp, const char *why)
{
    atomic_fetch_add(&c->refused_bad, 1);
    tg_http_response_text(resp, 400, why);
}

int tg_central_site_check(const tg_http_request *req, void *data, tg_http_response *resp)
{
    central *c = data;
    const char *site = tg_http_header(req, "X-Tollgate-Site", NULL);

    if (!site || !tg_site_name_ok(site, strlen(site))) {
        tg_http_response_text(resp, 401, "missing or invalid X-Tollgate-Site\n");
        return 1;
    }
    return tg_central_site_auth(c, req, site, resp) != 0;
}

/* What a batch of zlen compressed bytes may decompress to: a small bomb
 * stops at the ratio (never below 4 MiB, so small batches of very
 * repetitive summaries still pass), a large one at MAX_BATCH_RAW. */
static size_t batch_raw_cap(const central *c, size_t zlen)
{
    return tg_decompress_cap(zlen, MAX_BATCH_RAW, c->cfg.max_decompress_ratio, 4u << 20);
}

void tg_central_upload(const tg_http_request *req, tg_http_response *resp, void *data)
{
    central *c = data;
    const char *site = tg_http_header(req, "X-Tollgate-Site", NULL);
    const char *pv = tg_http_header(req, "X-Tollgate-Protocol", NULL);
    uint64_t t2 = tg_http_received_ns(req);
    const uint8_t *body;
    size_t body_len;
    Tollgate__V1__Upload *up;
    Tollgate__V1__Batch *batch = NULL;
    tg_cstore_upload u;
    tg_cstore_result res;
    tg_cstore_model_row *mrows = NULL;
    size_t n_mrows = 0;
    tg_arena a;
    unsigned long version;
    char *end;
    size_t raw = 0;
    int rc;

    if (!site || !tg_site_name_ok(site, strlen(site))) {
        tg_http_response_text(resp, 401, "missing or invalid X-Tollgate-Site\n");
        return;
    }
    if (tg_central_site_auth(c, req, site, resp) != 0)
        return;
    version = pv ? strtoul(pv, &end, 10) : 0;
    if (!pv || *end || version < c->pmin || version > c->pmax) {
        snprintf(resp->headers, sizeof(resp->headers),
                 "X-Tollgate-Protocol-Supported: %u-%u\r\n", c->pmin, c->pmax);
        atomic_fetch_add(&c->refused_version, 1);
        tg_info("upload refused: protocol version", "site=%s offered=%s supported=%u-%u",
                site, pv ? pv : "none", c->pmin, c->pmax);
        tg_http_response_text(resp, 426, "unsupported protocol version\n");
        return;
    }
    tg_arena_init(&a, 256 * 1024, (size_t)MAX_BATCH_RAW + (64u << 20));
    body = tg_http_body(req, &body_len);
    up = tollgate__v1__upload__unpack(&a.pb, body_len, body);
    if (!up) {
        bad(c, resp, "malformed upload\n");
        goto out;
    }
    if (!up->site || strcmp(up->site, site) != 0 || up->epoch.len != 16 ||
        up->protocol_version != version || !health_ok(up->health)) {
        bad(c, resp, "upload does not match its headers\n");
        goto out;
    }
    if (up->batch_zstd.len) {
        const char *why;
        if (up->sequence == 0) {
            bad(c, resp, "a batch needs a sequence number\n");
            goto out;
        }
        rc = tg_wire_unpack_batch(up->batch_zstd.data, up->batch_zstd.len,
                                  batch_raw_cap(c, up->batch_zstd.len), &a, &batch, &raw);
        if (rc == TG_ETOO_BIG) {
            atomic_fetch_add(&c->refused_bad, 1);
            tg_refuse_count(&c->refusals, TG_REFUSED_DECOMPRESSED_TOO_LARGE);
            tg_http_response_text(resp, 413, "batch too large when decompressed\n");
            goto out;
        }
        if (rc) {
            bad(c, resp, "batch does not decompress or decode\n");
            goto out;
        }
        if (!batch->site || strcmp(batch->site, site) != 0 ||
            batch->sequence != up->sequence) {
            bad(c, resp, "batch does not match its upload\n");
            goto out;
        }
        if ((why = batch_invalid(batch))) {
            char msg[96];
            snprintf(msg, sizeof(msg), "%s\n", why);
            bad(c, resp, msg);
            goto out;
        }
    }
    memset(&u, 0, sizeof(u));
    u.site = site;
    u.epoch = up->epoch.data;
    u.seq = batch ? up->sequence : 0;
    u.batch = batch;
    u.zstd = up->batch_zstd.data;
    u.zlen = up->batch_zstd.len;
    u.raw_len = raw;
    u.version = (unsigned)version;
    u.health = up->health;
    u.now_ns = t2;
    u.t2_minus_t1 = (int64_t)(t2 - up->t1_unix_nano);
    u.client_cert_not_after = tg_http_client_not_after(req);
    u.client_cert_cn = tg_http_client_cn(req);
    if (batch && tg_central_models_rows(c, batch, &a, &mrows, &n_mrows) == 0) {
        u.models = mrows;
        u.n_models = n_mrows;
    }
    rc = tg_cstore_apply(c->cs, &u, &res);
    if (rc) {
        atomic_fetch_add(&c->store_errors, 1);
        tg_error("central store write failed", "site=%s err=%s", site, tg_err_name(rc));
        snprintf(resp->headers, sizeof(resp->headers), "Retry-After: 1\r\n");
        tg_http_response_text(resp, 503, "store unavailable, retry\n");
        goto out;
    }
    atomic_fetch_add(&c->invalid_records, res.invalid_records);
    if (res.refused) {
        /* 409: the site's own state (an epoch it left, a sequence it cannot
         * have reached) contradicts what the centre holds; retrying the
         * same upload can never succeed. */
        if (res.refused == TG_CSTORE_OLD_EPOCH) {
            atomic_fetch_add(&c->refused_old_epoch, 1);
            tg_http_response_text(
                resp, 409,
                "epoch retired: this site has since sent under a newer "
                "epoch; batches of an earlier epoch are not accepted\n");
        } else {
            char msg[160];
            atomic_fetch_add(&c->refused_ahead, 1);
            snprintf(msg, sizeof(msg),
                     "sequence %llu is more than the window ahead of the last (%llu)\n",
                     (unsigned long long)up->sequence, (unsigned long long)res.last_seq);
            tg_http_response_text(resp, 409, msg);
        }
        goto out;
    }
    if (batch && !res.duplicate)
        tg_central_models_applied(c, site, mrows, n_mrows);
    if (!batch) {
        atomic_fetch_add(&c->heartbeats, 1);
        reply_ack(c, resp, up->t1_unix_nano, t2,
                  TOLLGATE__V1__UPLOAD_ACK__RESULT__HEARTBEAT, &res, (unsigned)version);
    } else if (res.duplicate) {
        atomic_fetch_add(&c->duplicates, 1);
        tg_debug("duplicate batch", "site=%s seq=%llu", site,
                 (unsigned long long)up->sequence);
        reply_ack(c, resp, up->t1_unix_nano, t2,
                  TOLLGATE__V1__UPLOAD_ACK__RESULT__DUPLICATE, &res, (unsigned)version);
    } else {
        atomic_fetch_add(&c->accepted, 1);
        reply_ack(c, resp, up->t1_unix_nano, t2,
                  TOLLGATE__V1__UPLOAD_ACK__RESULT__ACCEPTED, &res, (unsigned)version);
    }
out:
    tg_arena_destroy(&a);
}

/* ---- the API ---------------------------------------------------------------------- */

static void estate_ctx(central *c, tg_estate_ctx *e)
{
    memset(e, 0, sizeof(*e));
    e->cfg = &c->cfg;
    e->sites = &c->sites;
    e->protocol_min = c->pmin;
    e->protocol_max = c->pmax;
    e->server_cert_not_after = atomic_load(&c->server_cert_not_after);
    e->now_ns = tg_wall_ns();
    e->models = c->models;
}

void tg_central_healthz(const tg_http_request *req, tg_http_response *resp, void *data)
{
    (void)req;
    (void)data;
    tg_http_response_text(resp, 200, "ok\n");
}

void tg_central_readyz(const tg_http_request *req, tg_http_response *resp, void *data)
{
    central *c = data;

    (void)req;
    tg_http_response_text(resp, c->cs ? 200 : 503, c->cs ? "ready\n" : "not ready\n");
}

/* Adds each site's witness state ("witness") and its alarms to the
 * estate's "warnings", so `tollgate status` and the UI show them. */
typedef struct estate_witness {
    json_t *sites;
    uint64_t now_ns;
} estate_witness;

static int add_witness(void *ctx, const tg_witness_status *st)
{
    estate_witness *ew = ctx;
    json_t *site = NULL, *x, *w, *warn;
    size_t i;
    char root[48], msg[200];

    json_array_foreach(ew->sites, i,
                       x) if (json_is_string(json_object_get(x, "name")) &&
                              strcmp(json_string_value(json_object_get(x, "name")),
                                     st->site) == 0) site = x;
    if (!site)
        return 0;
    tg_base64_encode(st->cosigned_root.b, TG_AUDIT_HASH_LEN, root);
    w = json_pack(
        "{s:I,s:I,s:s,s:I,s:f,s:b,s:I,s:b,s:I,s:I,s:I}", "log_size",
        (json_int_t)st->log_size, "cosigned_size", (json_int_t)st->cosigned_size,
        "cosigned_root", st->cosigned_ns ? root : "", "cosigned_unix_nano",
        (json_int_t)st->cosigned_ns, "cosigned_age_seconds",
        st->cosigned_ns && ew->now_ns > st->cosigned_ns
            ? (double)(ew->now_ns - st->cosigned_ns) / 1e9
            : (st->cosigned_ns ? 0.0 : -1.0),
        "fork", st->fork, "fork_size", (json_int_t)st->fork_size, "key_changed",
        st->key_changed, "leaves", (json_int_t)st->leaves, "batches_without_leaf",
        (json_int_t)st->batches_without_leaf, "gap", (json_int_t)st->gap);
    if (!w)
        return 0;
    json_object_set_new(site, "witness", w);
    warn = json_object_get(site, "warnings");
    if (!json_is_array(warn)) {
        warn = json_array();
        json_object_set_new(site, "warnings", warn);
    }
    if (st->fork) {
        snprintf(msg, sizeof(msg),
                 "FORK: the site signed a checkpoint of size %llu inconsistent with the "
                 "one the witness cosigned",
                 (unsigned long long)st->fork_size);
        json_array_append_new(warn, json_string(msg));
    }
    if (st->key_changed)
        json_array_append_new(
            warn, json_string("the site presented another transparency log key"));
    if (st->gap) {
        snprintf(msg, sizeof(msg), "gap: %llu logged batch(es) the centre never received",
                 (unsigned long long)st->gap);
        json_array_append_new(warn, json_string(msg));
    }
    if (st->batches_without_leaf) {
        snprintf(msg, sizeof(msg),
                 "%llu batch(es) without a leaf in a cosigned checkpoint",
                 (unsigned long long)st->batches_without_leaf);
        json_array_append_new(warn, json_string(msg));
    }
    return 0;
}

static char *with_witness(central *c, char *body)
{
    json_t *doc = json_loads(body, 0, NULL);
    estate_witness ew;
    char *out;

    if (!doc || !c->witness) {
        json_decref(doc);
        return body;
    }
    ew.sites = json_object_get(doc, "sites");
    ew.now_ns = tg_wall_ns();
    if (json_is_array(ew.sites))
        tg_witness_status_foreach(c->witness, ew.now_ns, add_witness, &ew);
    json_object_set_new(json_object_get(doc, "central"), "witness_key",
                        json_string(tg_witness_vkey(c->witness)));
    out = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!out)
        return body;
    free(body);
    return out;
}

void tg_central_estate(const tg_http_request *req, tg_http_response *resp, void *data)
{
    central *c = data;
    tg_estate_ctx e;
    char *body;

    (void)req;
    estate_ctx(c, &e);
    pthread_rwlock_rdlock(&c->sites_lock);
    body = tg_estate_json(c->cs, &e);
    pthread_rwlock_unlock(&c->sites_lock);
    if (body)
        body = with_witness(c, body);
    if (!body) {
        tg_http_response_text(resp, 500, "out of memory\n");
        return;
    }
    tg_http_response_set(resp, 200, "application/json", body, strlen(body));
    free(body);
}

/* GET /api/v1/estate and /api/v1/status: the estate to any user of the
 * centre (the UI's /ui/api/estate signs its users in its own way). */
void tg_central_api_estate(const tg_http_request *req, tg_http_response *resp, void *data)
{
    if (tg_central_authenticate(data, req, resp))
        tg_central_estate(req, resp, data);
}

void tg_central_metrics(const tg_http_request *req, tg_http_response *resp, void *data)
{
    central *c = data;
    tg_estate_ctx e;
    char *body;
    char extra[4096];
    static const char *const servers[] = {"central"};
    const tg_refusals *const counts[] = {&c->refusals};
    size_t n;
    tg_strbuf wb = {0};

    if (!tg_central_authenticate(c, req, resp))
        return;
    snprintf(extra, sizeof(extra),
             "# HELP tollgate_central_uploads_total Uploads from sites, by result.\n"
             "# TYPE tollgate_central_uploads_total counter\n"
             "tollgate_central_uploads_total{result=\"accepted\"} %llu\n"
             "tollgate_central_uploads_total{result=\"duplicate\"} %llu\n"
             "tollgate_central_uploads_total{result=\"heartbeat\"} %llu\n"
             "tollgate_central_uploads_total{result=\"unauthorized\"} %llu\n"
             "tollgate_central_uploads_total{result=\"version_refused\"} %llu\n"
             "tollgate_central_uploads_total{result=\"bad_request\"} %llu\n"
             "tollgate_central_uploads_total{result=\"store_error\"} %llu\n"
             "tollgate_central_uploads_total{result=\"old_epoch\"} %llu\n"
             "tollgate_central_uploads_total{result=\"sequence_ahead\"} %llu\n"
             "# HELP tollgate_central_invalid_records_total Aggregates refused as "
             "malformed.\n"
             "# TYPE tollgate_central_invalid_records_total counter\n"
             "tollgate_central_invalid_records_total %llu\n",
             (unsigned long long)atomic_load(&c->accepted),
             (unsigned long long)atomic_load(&c->duplicates),
             (unsigned long long)atomic_load(&c->heartbeats),
             (unsigned long long)atomic_load(&c->refused_auth),
             (unsigned long long)atomic_load(&c->refused_version),
             (unsigned long long)atomic_load(&c->refused_bad),
             (unsigned long long)atomic_load(&c->store_errors),
             (unsigned long long)atomic_load(&c->refused_old_epoch),
             (unsigned long long)atomic_load(&c->refused_ahead),
             (unsigned long long)atomic_load(&c->invalid_records));
    n = strlen(extra);
    if (n < sizeof(extra))
        (void)tg_refuse_format(extra, sizeof(extra), &n, servers, counts, 1);
    tg_strbuf_put(&wb, extra, strlen(extra));
    tg_strbuf_printf(&wb,
                     "# HELP tollgate_witness_requests_total add-checkpoint requests, by "
                     "result.\n"
                     "# TYPE tollgate_witness_requests_total counter\n"
                     "tollgate_witness_requests_total{result=\"cosigned\"} %llu\n"
                     "tollgate_witness_requests_total{result=\"conflict\"} %llu\n"
                     "tollgate_witness_requests_total{result=\"refused\"} %llu\n",
                     (unsigned long long)atomic_load(&c->witness_cosigned),
                     (unsigned long long)atomic_load(&c->witness_conflicts),
                     (unsigned long long)atomic_load(&c->witness_refused));
    if (c->witness)
        tg_witness_metrics(c->witness, tg_wall_ns(), &wb);
    estate_ctx(c, &e);
    pthread_rwlock_rdlock(&c->sites_lock);
    body = wb.oom ? NULL : tg_estate_metrics(c->cs, &e, wb.p);
    pthread_rwlock_unlock(&c->sites_lock);
    free(wb.p);
    if (!body) {
        tg_http_response_text(resp, 500, "out of memory\n");
        return;
    }
    {
        tg_strbuf b = {0};
        tg_strbuf_put(&b, body, strlen(body));
        free(body);
        tg_central_cost_metrics(c, (int64_t)(tg_wall_ns() / 1000000000ull), &b);
        if (b.oom)
            tg_http_response_text(resp, 500, "out of memory\n");
        else
            tg_http_response_set(resp, 200, "text/plain; version=0.0.4", b.p, b.len);
        free(b.p);
    }
}

/* ---- life cycle -------------------------------------------------------------------- */

static void *retention_main(void *arg)
{
    central *c = arg;

    pthread_mutex_lock(&c->ret_mu);
    while (!c->stopping) {
        struct timespec ts;
        tg_wall_deadline(&ts, RETENTION_EVERY_SEC * 1000ull);
        pthread_cond_timedwait(&c->ret_cv, &c->ret_mu, &ts);
        if (c->stopping)
            break;
        pthread_mutex_unlock(&c->ret_mu);
        if (tg_cstore_retain(c->cs, tg_wall_ns()) != 0)
            tg_warn("central retention pass failed", "dir=%s", c->cfg.data_dir);
        if (c->witness && tg_witness_retain(c->witness) != 0)
            tg_warn("witness retention pass failed", "dir=%s", c->cfg.data_dir);
        pthread_mutex_lock(&c->ret_mu);
    }
    pthread_mutex_unlock(&c->ret_mu);
    return NULL;
}

static int load_sites(central *c, int initial)
{
    char err[1200];
    tg_sites s = {0};

    if (!c->cfg.sites_file[0]) {
        if (initial)
            tg_warn("no sites registry (--sites): every upload will be refused",
                    "listen=%s", c->cfg.listen);
        return 0;
    }
    if (tg_sites_load(c->cfg.sites_file, &s, err, sizeof(err)) != 0) {
        if (initial)
            fprintf(stderr, "tollgate central: %s\n", err);
        else
            tg_error("sites registry reload failed, keeping the previous one", "file=%s",
                     c->cfg.sites_file);
        return -1;
    }
    pthread_rwlock_wrlock(&c->sites_lock);
    tg_sites_free(&c->sites);
    c->sites = s;
    pthread_rwlock_unlock(&c->sites_lock);
    tg_info("sites registry loaded", "file=%s sites=%zu", c->cfg.sites_file, s.n);
    return 0;
}

int tg_central_main(int argc, char **argv)
{
    static central c;
    tg_cstore_options so;
    tg_srv_options o;
    char err[1200], dir[1100];
    sigset_t set;
    pthread_t ret;
    int rc, sig;

    memset(&c, 0, sizeof(c));
    rc = tg_central_config_from_args(argc, argv, &c.cfg, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc) {
        fprintf(stderr, "tollgate central: %s\n", err);
        return 2;
    }
    tg_log_set_level_name(c.cfg.log_level);
    pthread_rwlock_init(&c.sites_lock, NULL);
    pthread_mutex_init(&c.ret_mu, NULL);
    pthread_cond_init(&c.ret_cv, NULL);
    tg_protocol_range(&c.pmin, &c.pmax);
    if (load_sites(&c, 1) != 0 || tg_central_load_users(&c, 1) != 0)
        return 2;
    c.ui_sessions = tg_ui_sessions_new(1024, c.cfg.ui_session_ttl_ms);
    /* Federated queries wait on the sites from worker threads: give the
     * pool room so a slow fan-out does not hold up uploads. */
    if (!getenv("UV_THREADPOOL_SIZE"))
        setenv("UV_THREADPOOL_SIZE", "16", 0);

    /* Signals are taken by the main thread only: block them before any
     * thread starts so every thread inherits the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (mkdir(c.cfg.data_dir, 0750) != 0 && errno != EEXIST) {
        fprintf(stderr, "tollgate central: cannot create %s: %s\n", c.cfg.data_dir,
                strerror(errno));
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s/central", c.cfg.data_dir);
    memset(&so, 0, sizeof(so));
    so.max_bytes = c.cfg.max_bytes;
    so.max_age_sec = c.cfg.max_age_sec;
    so.no_sync = c.cfg.no_sync;
    c.cs = tg_cstore_open(dir, &so, &rc);
    if (!c.cs) {
        fprintf(stderr, "tollgate central: cannot open the store in %s: %s\n", dir,
                tg_strerror(rc));
        return 1;
    }
    if ((rc = tg_central_models_open(&c)) != 0) {
        if (rc != TG_ECONFIG)
            fprintf(stderr, "tollgate central: cannot read the model versions: %s\n",
                    tg_strerror(rc));
        tg_central_models_close(&c);
        tg_cstore_close(c.cs);
        return rc == TG_ECONFIG ? 2 : 1;
    }
    {
        tg_witness_options wo = {c.cfg.data_dir, 0, 0};
        c.witness = tg_witness_open(c.cs, &wo, err, sizeof(err));
        if (!c.witness) {
            fprintf(stderr, "tollgate central: witness: %s\n", err);
            tg_central_models_close(&c);
            tg_cstore_close(c.cs);
            return 1;
        }
    }
    memset(&o, 0, sizeof(o));
    o.max_connections = c.cfg.max_connections;
    o.max_body_bytes = c.cfg.max_body_bytes;
    o.tls_cert_file = c.cfg.tls_cert_file;
    o.tls_key_file = c.cfg.tls_key_file;
    o.tls_client_ca_file = c.cfg.tls_client_ca_file;
    o.tls_require_client_cert = c.cfg.tls_require_client_cert;
    o.max_connections_per_source = c.cfg.max_conns_per_source;
    o.header_timeout_ms = c.cfg.header_timeout_ms;
    o.body_timeout_ms = c.cfg.body_timeout_ms;
    o.refusals = &c.refusals;
    c.srv = tg_srv_start(c.cfg.listen, &o, &c, err, sizeof(err));
    if (!c.srv) {
        fprintf(stderr, "tollgate central: %s\n", err);
        tg_witness_close(c.witness);
        tg_cstore_close(c.cs);
        return 1;
    }
    atomic_store(&c.server_cert_not_after, tg_srv_cert_not_after(c.srv));
    pthread_create(&ret, NULL, retention_main, &c);
    tg_info("central started",
            "listen=%s port=%d data=%s tls=%s mtls=%s protocol=%u-%u "
            "version=%s",
            c.cfg.listen, tg_srv_port(c.srv), dir, c.cfg.tls_cert_file[0] ? "on" : "off",
            c.cfg.tls_client_ca_file[0] ? "on" : "off", c.pmin, c.pmax, TG_VERSION);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            load_sites(&c, 0);
            tg_central_load_users(&c, 0);
            tg_central_models_reload(&c);
            if (c.cfg.tls_cert_file[0]) {
                if (tg_srv_reload_tls(c.srv, &o, err, sizeof(err)) == 0) {
                    atomic_store(&c.server_cert_not_after, tg_srv_cert_not_after(c.srv));
                    tg_info("certificates reloaded", "listener=central");
                } else {
                    tg_error("certificate reload failed, keeping the previous one",
                             "listener=central why=\"%s\"", err);
                }
            }
            continue;
        }
        tg_info("shutting down", "reason=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    tg_srv_stop(c.srv);
    pthread_mutex_lock(&c.ret_mu);
    c.stopping = 1;
    pthread_cond_signal(&c.ret_cv);
    pthread_mutex_unlock(&c.ret_mu);
    pthread_join(ret, NULL);
    tg_witness_close(c.witness);
    tg_central_models_close(&c);
    tg_cstore_close(c.cs);
    tg_sites_free(&c.sites);
    tg_access_free(&c.users);
    tg_ui_sessions_free(c.ui_sessions);
    tg_info("central stopped", "exit=%d", 0);
    return 0;
}

int tg_central_export_main(int argc, char **argv)
{
    tg_central_config cfg;
    tg_cstore_options so;
    tg_cstore *cs;
    char err[1200], dir[1100];
    int rc;

    rc = tg_central_config_from_args(argc, argv, &cfg, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc) {
        fprintf(stderr, "tollgate central export: %s\n", err);
        return 2;
    }
    snprintf(dir, sizeof(dir), "%s/central", cfg.data_dir);
    memset(&so, 0, sizeof(so));
    so.readonly = 1;
    cs = tg_cstore_open(dir, &so, &rc);
    if (!cs) {
        if (rc == TG_ENOT_FOUND) {
            fprintf(stderr, "tollgate central export: no central store in %s\n", dir);
            return 1;
        }
        fprintf(stderr, "tollgate central export: cannot open the store in %s: %s\n", dir,
                tg_strerror(rc));
        return 1;
    }
    rc = tg_central_export(cs, stdout);
    tg_cstore_close(cs);
    if (fflush(stdout) != 0 || rc) {
        fprintf(stderr, "tollgate central export: %s\n",
                rc ? tg_strerror(rc) : "write failed");
        return 1;
    }
    return 0;
}
