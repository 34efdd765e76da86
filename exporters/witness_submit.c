/* The witness thread: submits the site's newest signed checkpoint to the
 * centre's witness (c2sp.org/tlog-witness add-checkpoint, central/witness.h)
 * after each new checkpoint and at least every audit.checkpoint_interval,
 * with a consistency proof from the size the centre last cosigned; stores
 * the cosignature beside the checkpoint; then proves each batch's leaf to
 * the centre (POST /api/v1/witness/inclusion).
 *
 * It has its own thread and libcurl handle, so a slow or refusing witness
 * never delays a batch. A 409 names the size the centre holds: the thread
 * retries from it at once; a 409 at the size it asked from (same size,
 * another root), a centre ahead of the log, or a 422 mean the centre has
 * cosigned a history this log does not extend: a fork, logged as an error
 * and counted (tollgate_audit_witness_forks_total). */
#include "fwd_internal.h"
#include "outbox_tlog.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_audit_keys.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tg_strbuf.h"
#include "tg_time.h"

#define MAX_ANSWER (64u << 10)
#define INCLUSION_BATCH 256
/* A round retries from the centre's size at most this many times. */
#define MAX_RETRIES 3

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    tg_strbuf *b = ud;
    size_t n = size * nmemb;

    if (b->len + n > MAX_ANSWER)
        return 0;
    tg_strbuf_put(b, ptr, n);
    return b->oom ? 0 : n;
}

void tg_fwd_witness_kick(tg_forwarder *f)
{
    pthread_mutex_lock(&f->mu);
    f->witness_kicked = 1;
    pthread_cond_signal(&f->witness_cv);
    pthread_mutex_unlock(&f->mu);
}

/* Waits for a kick, the stop, or ms. 1 if stopping. */
static int wait_kick(tg_forwarder *f, uint64_t ms)
{
    struct timespec ts;
    int stop;

    tg_wall_deadline(&ts, ms);
    pthread_mutex_lock(&f->mu);
    while (!f->stop && !f->witness_kicked)
        if (pthread_cond_timedwait(&f->witness_cv, &f->mu, &ts) == ETIMEDOUT)
            break;
    f->witness_kicked = 0;
    stop = f->stop;
    pthread_mutex_unlock(&f->mu);
    return stop;
}

static void fail(tg_forwarder *f, int fork, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(tg_forwarder *f, int fork, const char *fmt, ...)
{
    char msg[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&f->mu);
    if (fork)
        f->witness_forks++;
    else
        f->witness_errors++;
    snprintf(f->witness_error, sizeof(f->witness_error), "%s", msg);
    pthread_mutex_unlock(&f->mu);
    if (fork)
        tg_error("witness: FORK between this site's log and the centre's witness",
                 "msg=%s", msg);
    else
        tg_warn("witness submission failed", "msg=%s", msg);
}

/* POSTs body to the centre's `path`; the status (0 on a transport error)
 * and the answer in ans. */
static long post(tg_forwarder *f, CURL *c, const char *path, const tg_strbuf *body,
                 const char *vkey, tg_strbuf *ans)
{
    struct curl_slist *hdr = NULL;
    char url[1200], line[700];
    long status = 0;

    snprintf(url, sizeof(url), "%s%s", f->url, path);
    snprintf(line, sizeof(line), "Authorization: Bearer %s", f->token);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "X-Tollgate-Site: %s", f->site);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "X-Tollgate-Audit-Key: %s", vkey);
    hdr = curl_slist_append(hdr, line);
    hdr = curl_slist_append(hdr, "Content-Type: text/plain");
    hdr = curl_slist_append(hdr, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->p ? body->p : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, ans);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    return status;
}

/* ---- reading and writing the log ----------------------------------------- */

typedef struct req_ctx {
    uint64_t old, size, incl, next;
    tg_strbuf *out;
    char vkey[TG_AUDIT_NAME_MAX + 80];
    const char *cosig;
    size_t cosig_len;
} req_ctx;

static int read_state(tg_outbox_tlog *t, MDB_txn *txn, void *ctx)
{
    req_ctx *r = ctx;
    tg_strbuf vb = {0};

    if (!t->has_key)
        return TG_ENOT_FOUND;
    tg_audit_keys_vkey(&t->key, &vb);
    snprintf(r->vkey, sizeof(r->vkey), "%.*s", (int)vb.len, vb.p ? vb.p : "");
    free(vb.p);
    r->old = tg_outbox_tlog_meta(t, txn, "witness_size");
    r->incl = tg_outbox_tlog_meta(t, txn, "witness_incl");
    return 0;
}

static int build_add(tg_outbox_tlog *t, MDB_txn *txn, void *ctx)
{
    req_ctx *r = ctx;

    return tg_outbox_tlog_add_request(t, txn, r->old, r->out, &r->size);
}

static int store_cosig(tg_outbox_tlog *t, MDB_txn *txn, void *ctx)
{
    req_ctx *r = ctx;

    return tg_outbox_tlog_cosigned(t, txn, r->size, r->cosig, r->cosig_len);
}

static int set_witness_size(tg_outbox_tlog *t, MDB_txn *txn, void *ctx)
{
    return tg_outbox_tlog_meta_put(t, txn, "witness_size", ((req_ctx *)ctx)->old);
}

static int build_incl(tg_outbox_tlog *t, MDB_txn *txn, void *ctx)
{
    req_ctx *r = ctx;

    return tg_outbox_tlog_inclusion_request(t, txn, r->incl, r->old, INCLUSION_BATCH,
                                            r->out, &r->next);
}

static int set_incl(tg_outbox_tlog *t, MDB_txn *txn, void *ctx)
{
    return tg_outbox_tlog_meta_put(t, txn, "witness_incl", ((req_ctx *)ctx)->next);
}

/* One add-checkpoint exchange from r->old. 1 cosigned, 0 nothing more to
 * do this round, -1 failed. `periodic`: submit even an unchanged size (a
 * fresh cosignature's timestamp says the log was seen now). */
static int submit(tg_forwarder *f, CURL *c, req_ctx *r, int periodic)
{
    for (int attempt = 0; attempt <= MAX_RETRIES; attempt++) {
        tg_strbuf body = {0}, ans = {0};
        long status;
        int rc;

        r->out = &body;
        rc = tg_outbox_tlog_run(f->outbox, 0, build_add, r);
        if (rc == TG_ENOT_FOUND) {
            free(body.p);
            return 0; /* no checkpoint yet */
        }
        if (rc == TG_EINVAL) {
            /* The centre cosigned a size beyond this log: rolled back. */
            free(body.p);
            fail(f, 1, "the witness cosigned size %llu, beyond this log",
                 (unsigned long long)r->old);
            return -1;
        }
        if (rc) {
            free(body.p);
            fail(f, 0, "cannot read the log for the witness: %s", tg_strerror(rc));
            return -1;
        }
        if (r->size == r->old && !periodic && attempt == 0) {
            free(body.p);
            return 0;
        }
        status = post(f, c, "/api/v1/witness/add-checkpoint", &body, r->vkey, &ans);
        free(body.p);
        if (status == 200 && !ans.oom && ans.len > 0) {
            r->cosig = ans.p;
            r->cosig_len = ans.len;
            rc = tg_outbox_tlog_run(f->outbox, 1, store_cosig, r);
            free(ans.p);
            if (rc) {
                fail(f, 0, "cannot store the cosignature: %s", tg_strerror(rc));
                return -1;
            }
            pthread_mutex_lock(&f->mu);
            f->witness_size = r->size;
            f->witness_cosigned_ns = tg_fwd_now_ns();
            f->witness_error[0] = '\0';
            pthread_mutex_unlock(&f->mu);
            r->old = r->size;
            return 1;
        }
        if (status == 409) {
            char *end;
            unsigned long long known;
            tg_strbuf_putc(&ans, '\0');
            known = ans.p ? strtoull(ans.p, &end, 10) : 0;
            free(ans.p);
            if (known == r->old) {
                fail(f, 1, "the witness holds another root at size %llu", known);
                return -1;
            }
            if (known > r->size) {
                fail(f, 1, "the witness cosigned size %llu, beyond this log (%llu)",
                     known, (unsigned long long)r->size);
                return -1;
            }
            tg_info("witness: retrying from the centre's size", "had=%llu centre=%llu",
                    (unsigned long long)r->old, known);
            r->old = known;
            if (tg_outbox_tlog_run(f->outbox, 1, set_witness_size, r) != 0)
                return -1;
            continue;
        }
        free(ans.p);
        if (status == 422) {
            fail(f, 1, "the witness refused the consistency proof from size %llu (422)",
                 (unsigned long long)r->old);
            return -1;
        }
        fail(f, 0, "the witness answered HTTP %ld", status);
        return -1;
    }
    return -1;
}

/* Proves the leaves of batches logged since the last proof, against the
 * cosigned size. */
static void prove_inclusion(tg_forwarder *f, CURL *c, req_ctx *r)
{
    while (r->incl < r->old) {
        tg_strbuf body = {0}, ans = {0};
        long status;

        r->out = &body;
        if (tg_outbox_tlog_run(f->outbox, 0, build_incl, r) != 0) {
            free(body.p);
            return;
        }
        status = post(f, c, "/api/v1/witness/inclusion", &body, r->vkey, &ans);
        free(body.p);
        free(ans.p);
        if (status != 200) {
            if (status != 409) /* 409: cosigned again meanwhile, next round */
                fail(f, 0, "the witness refused an inclusion proof (HTTP %ld)", status);
            return;
        }
        if (tg_outbox_tlog_run(f->outbox, 1, set_incl, r) != 0)
            return;
        r->incl = r->next;
    }
}

void *tg_fwd_witness_main(void *arg)
{
    tg_forwarder *f = arg;
    CURL *c = tg_fwd__curl_handle(f);
    uint64_t interval = f->cfg.audit_checkpoint_interval_ms, last_ok = 0;
    int backoff = 0;

    if (!c)
        return NULL;
    for (;;) {
        req_ctx r;
        uint64_t now = tg_mono_ns();
        int periodic = !last_ok || now - last_ok >= interval * 1000000ull, rc;

        memset(&r, 0, sizeof(r));
        if (tg_outbox_tlog_run(f->outbox, 0, read_state, &r) == 0) {
            pthread_mutex_lock(&f->mu);
            if (!f->witness_size)
                f->witness_size = r.old;
            pthread_mutex_unlock(&f->mu);
            if (!backoff || periodic) {
                rc = submit(f, c, &r, periodic);
                if (rc >= 0) {
                    if (rc == 1)
                        last_ok = tg_mono_ns();
                    backoff = 0;
                    prove_inclusion(f, c, &r);
                } else {
                    /* Refused or unreachable: try again at the interval,
                     * or sooner after a new checkpoint once the heartbeat
                     * interval has passed. */
                    backoff = 1;
                    last_ok = tg_mono_ns();
                }
            }
        }
        if (wait_kick(f, backoff ? f->cfg.heartbeat_interval_ms : interval))
            break;
        if (backoff &&
            tg_mono_ns() - last_ok >= f->cfg.heartbeat_interval_ms * 1000000ull)
            backoff = 0;
    }
    curl_easy_cleanup(c);
    return NULL;
}
