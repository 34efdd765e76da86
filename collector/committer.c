/* Group commit: the loop thread queues copies of requests, one writer
 * thread turns everything queued into one store transaction, and uv_async
 * brings the completions back to the loop.
 *
 * Ownership: a submission is one malloc (the struct, then its index
 * arrays, service names, data and classification) owned by the committer
 * from submit until its callback has run on the loop thread. The committer
 * itself is freed in the async handle's close callback, so the loop must
 * run once more after tg_committer_destroy(). */
#include "committer.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "tg_log.h"
#include "tg_time.h"

typedef struct tg_submission {
    struct tg_submission *next;
    tg_commit_port *port; /* NULL: completed on the committer's own loop */
    tg_store_record rec;
    tg_otlp_index index;
    char retention_class[64]; /* rec.retention_class points here */
    tg_commit_cb cb;
    void *ctx;
    size_t bytes; /* what the queue bound counts: the allocation, or for a
                     frame the request it holds */
    int status;
} tg_submission;

struct tg_committer {
    uv_loop_t *loop;
    uv_async_t async;
    tg_store *st;
    tg_committer_options opt;
    tg_commit_observer obs;
    void *obs_ctx;
    pthread_t thread;
    int thread_started;

    /* Shared with the writer thread, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    tg_submission *queue_head, *queue_tail;
    tg_submission *done_head, *done_tail;
    size_t pending_bytes; /* queued + being written */
    int stop;             /* destroy: writer exits once the queue is empty */

    /* Loop thread only (draining is read by every submitting loop). */
    size_t outstanding; /* submitted, callback not yet run */
    _Atomic int draining;
    void (*drain_cb)(void *ctx);
    void *drain_ctx;
    int referenced; /* the async handle keeps the loop alive */

    /* Writer thread only. */
    tg_store_record *batch;
    size_t batch_cap;
};

/* Another loop's door into the queue. Its done list is guarded by the
 * committer's mu (the writer appends, the port's loop takes); the rest is
 * its own loop thread's. */
struct tg_commit_port {
    tg_committer *c;
    uv_async_t async;
    tg_submission *done_head, *done_tail; /* under c->mu */
    size_t outstanding;
    int referenced;
};

static double now_sec(void)
{
    return (double)tg_mono_ns() / 1e9;
}

/* The async handle holds the loop open only while work is outstanding, so
 * an idle committer never keeps uv_run() from returning. */
static void update_ref(tg_committer *c)
{
    int want = c->outstanding > 0 || c->drain_cb != NULL;

    if (want && !c->referenced)
        uv_ref((uv_handle_t *)&c->async);
    else if (!want && c->referenced)
        uv_unref((uv_handle_t *)&c->async);
    c->referenced = want;
}

static void complete_list(tg_committer *c, tg_submission *s)
{
    while (s) {
        tg_submission *next = s->next;
        s->cb(s->ctx, s->status);
        free(s);
        c->outstanding--;
        s = next;
    }
}

/* Loop thread: run the callbacks of everything the writer finished. */
static void on_async(uv_async_t *h)
{
    tg_committer *c = h->data;
    tg_submission *done;

    pthread_mutex_lock(&c->mu);
    done = c->done_head;
    c->done_head = c->done_tail = NULL;
    pthread_mutex_unlock(&c->mu);
    complete_list(c, done);

    if (c->drain_cb && c->outstanding == 0) {
        void (*cb)(void *) = c->drain_cb;
        c->drain_cb = NULL;
        cb(c->drain_ctx);
    }
    update_ref(c);
}

static int batch_reserve(tg_committer *c, size_t n)
{
    if (n <= c->batch_cap)
        return 0;
    size_t cap = c->batch_cap ? c->batch_cap * 2 : 64;
    while (cap < n)
        cap *= 2;
    tg_store_record *b = realloc(c->batch, cap * sizeof(*b));
    if (!b)
        return TG_ENOMEM;
    c->batch = b;
    c->batch_cap = cap;
    return 0;
}

static void *writer_main(void *arg)
{
    tg_committer *c = arg;
    double last_trim = 0;

    pthread_mutex_lock(&c->mu);
    for (;;) {
        tg_submission *head, *last, *s;
        size_t n = 0, bytes = 0, data_bytes = 0;
        double t0, dt;
        int rc;

        while (!c->queue_head && !c->stop)
            pthread_cond_wait(&c->cond, &c->mu);
        if (!c->queue_head)
            break; /* stopping and nothing left */

        /* Take everything queued up to the batch cap, at least one. */
        head = last = c->queue_head;
        n = 1;
        bytes = head->bytes;
        while (last->next && bytes + last->next->bytes <= c->opt.max_batch_bytes) {
            last = last->next;
            bytes += last->bytes;
            n++;
        }
        c->queue_head = last->next;
        if (!c->queue_head)
            c->queue_tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&c->mu);

        rc = batch_reserve(c, n);
        if (rc == 0) {
            size_t i = 0;
            for (s = head; s; s = s->next) {
                c->batch[i++] = s->rec;
                data_bytes += s->rec.len;
            }
            t0 = now_sec();
            rc = tg_store_write(c->st, c->batch, n, NULL);
            dt = now_sec() - t0;
            if (c->obs)
                c->obs(c->obs_ctx, dt, n, data_bytes);
            /* At most ten times a second: keeps the resident set to the
             * collector's own memory (see tg_store_trim_resident). */
            if (t0 - last_trim >= 0.1) {
                tg_store_trim_resident(c->st);
                last_trim = t0;
            }
        }
        if (rc)
            tg_error("commit failed", "records=%zu bytes=%zu err=%s", n, data_bytes,
                     tg_err_name(rc));
        for (s = head; s; s = s->next)
            s->status = rc;

        pthread_mutex_lock(&c->mu);
        for (s = head; s;) {
            tg_submission *next = s->next;
            tg_commit_port *p = s->port;
            tg_submission **h = p ? &p->done_head : &c->done_head;
            tg_submission **t = p ? &p->done_tail : &c->done_tail;

            s->next = NULL;
            if (*t)
                (*t)->next = s;
            else
                *h = s;
            *t = s;
            /* Several sends before the loop runs coalesce into one call. */
            uv_async_send(p ? &p->async : &c->async);
            s = next;
        }
        c->pending_bytes -= bytes;
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

tg_committer *tg_committer_create(uv_loop_t *loop, tg_store *st,
                                  const tg_committer_options *opt, tg_commit_observer obs,
                                  void *obs_ctx)
{
    tg_committer *c;

    if (!loop || !st)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->loop = loop;
    c->st = st;
    c->obs = obs;
    c->obs_ctx = obs_ctx;
    c->opt.max_pending_bytes = (size_t)32 << 20;
    c->opt.max_batch_bytes = (size_t)16 << 20;
    if (opt && opt->max_pending_bytes)
        c->opt.max_pending_bytes = opt->max_pending_bytes;
    if (opt && opt->max_batch_bytes)
        c->opt.max_batch_bytes = opt->max_batch_bytes;
    if (pthread_mutex_init(&c->mu, NULL)) {
        free(c);
        return NULL;
    }
    if (pthread_cond_init(&c->cond, NULL)) {
        pthread_mutex_destroy(&c->mu);
        free(c);
        return NULL;
    }
    if (uv_async_init(loop, &c->async, on_async)) {
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return NULL;
    }
    c->async.data = c;
    uv_unref((uv_handle_t *)&c->async);
    if (pthread_create(&c->thread, NULL, writer_main, c)) {
        /* The handle is initialised: it can only be freed via close. */
        c->thread_started = 0;
        tg_committer_destroy(c);
        return NULL;
    }
    c->thread_started = 1;
    return c;
}

static size_t align_up(size_t n)
{
    const size_t a = alignof(max_align_t);
    return (n + a - 1) / a * a;
}

static int submit(tg_committer *c, tg_commit_port *port, const tg_store_record *rec,
                  tg_commit_cb cb, void *ctx)
{
    const tg_otlp_index *ix;
    tg_submission *s;
    size_t size, svc_bytes = 0, off, body, counted;
    uint8_t *p;

    if (!c || !rec || !rec->index || !cb || (rec->len && !rec->data && !rec->zdata) ||
        (rec->cls_len && !rec->cls) || (unsigned)rec->signal >= TG_SIGNAL_COUNT)
        return TG_EINVAL;
    if (c->draining)
        return TG_ECLOSED;
    ix = rec->index;
    if ((ix->n_trace_ids && !ix->trace_ids) || (ix->n_services && !ix->services))
        return TG_EINVAL;
    body = rec->zdata ? rec->zlen : rec->len;
    for (size_t i = 0; i < ix->n_services; i++)
        svc_bytes += ix->services[i].len;
    size = align_up(sizeof(*s)) + align_up(ix->n_services * sizeof(tg_slice)) +
           ix->n_trace_ids * 16 + svc_bytes + body + (rec->cls ? rec->cls_len : 0);

    /* The bound counts the request as received even when only its frame
     * is queued: limits.max_pending_bytes keeps its meaning (how much
     * client data may wait for the disk), and the memory it holds is at
     * most that. */
    counted = rec->zdata && rec->len > body ? size - body + rec->len : size;

    pthread_mutex_lock(&c->mu);
    /* An empty committer takes any one submission, however large, so a
     * request bigger than the bound is slow rather than refused forever. */
    if (c->pending_bytes && c->pending_bytes + counted > c->opt.max_pending_bytes) {
        pthread_mutex_unlock(&c->mu);
        return TG_EBUSY;
    }
    c->pending_bytes += counted;
    pthread_mutex_unlock(&c->mu);

    s = malloc(size);
    if (!s) {
        pthread_mutex_lock(&c->mu);
        c->pending_bytes -= counted;
        pthread_mutex_unlock(&c->mu);
        return TG_ENOMEM;
    }
    p = (uint8_t *)s;
    off = align_up(sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->index = *ix;
    s->index.services = ix->n_services ? (tg_slice *)(p + off) : NULL;
    off += align_up(ix->n_services * sizeof(tg_slice));
    s->index.trace_ids = ix->n_trace_ids ? (uint8_t(*)[16])(p + off) : NULL;
    if (ix->n_trace_ids)
        memcpy(p + off, ix->trace_ids, ix->n_trace_ids * 16);
    off += ix->n_trace_ids * 16;
    for (size_t i = 0; i < ix->n_services; i++) {
        s->index.services[i].ptr = (const char *)(p + off);
        s->index.services[i].len = ix->services[i].len;
        if (ix->services[i].len)
            memcpy(p + off, ix->services[i].ptr, ix->services[i].len);
        off += ix->services[i].len;
    }
    s->rec.signal = rec->signal;
    /* Compressed by the ingest loop: only the frame is queued (about an
     * eighteenth of the request), and the writer does not compress. */
    s->rec.len = rec->len;
    if (rec->zdata) {
        s->rec.zdata = p + off;
        s->rec.zlen = rec->zlen;
        memcpy(p + off, rec->zdata, rec->zlen);
    } else {
        s->rec.data = p + off;
        if (rec->len)
            memcpy(p + off, rec->data, rec->len);
    }
    off += body;
    if (rec->cls && rec->cls_len) {
        memcpy(p + off, rec->cls, rec->cls_len);
        s->rec.cls = p + off;
        s->rec.cls_len = rec->cls_len;
    }
    s->rec.retention_sec = rec->retention_sec;
    if (rec->retention_class) {
        snprintf(s->retention_class, sizeof(s->retention_class), "%s",
                 rec->retention_class);
        s->rec.retention_class = s->retention_class;
    }
    s->rec.index = &s->index;
    s->cb = cb;
    s->ctx = ctx;
    s->bytes = counted;
    s->port = port;

    /* The copy happens outside the lock: the writer thread never waits
     * on a memcpy of someone else's request. */
    pthread_mutex_lock(&c->mu);
    if (c->queue_tail)
        c->queue_tail->next = s;
    else
        c->queue_head = s;
    c->queue_tail = s;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

int tg_committer_submit(tg_committer *c, const tg_store_record *rec, tg_commit_cb cb,
                        void *ctx)
{
    int rc = submit(c, NULL, rec, cb, ctx);

    if (rc == 0) {
        c->outstanding++;
        update_ref(c);
    }
    return rc;
}

/* ---- ports: completions on another loop ---------------------------------- */

static void port_update_ref(tg_commit_port *p)
{
    int want = p->outstanding > 0;

    if (want && !p->referenced)
        uv_ref((uv_handle_t *)&p->async);
    else if (!want && p->referenced)
        uv_unref((uv_handle_t *)&p->async);
    p->referenced = want;
}

static void on_port_async(uv_async_t *h)
{
    tg_commit_port *p = h->data;
    tg_submission *s;

    pthread_mutex_lock(&p->c->mu);
    s = p->done_head;
    p->done_head = p->done_tail = NULL;
    pthread_mutex_unlock(&p->c->mu);
    while (s) {
        tg_submission *next = s->next;
        s->cb(s->ctx, s->status);
        free(s);
        p->outstanding--;
        s = next;
    }
    port_update_ref(p);
}

tg_commit_port *tg_commit_port_create(tg_committer *c, uv_loop_t *loop)
{
    tg_commit_port *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->c = c;
    if (uv_async_init(loop, &p->async, on_port_async)) {
        free(p);
        return NULL;
    }
    p->async.data = p;
    uv_unref((uv_handle_t *)&p->async);
    return p;
}

int tg_committer_submit_port(tg_committer *c, tg_commit_port *port,
                             const tg_store_record *rec, tg_commit_cb cb, void *ctx)
{
    int rc;

    if (!port)
        return tg_committer_submit(c, rec, cb, ctx);
    rc = submit(c, port, rec, cb, ctx);
    if (rc == 0) {
        port->outstanding++;
        port_update_ref(port);
    }
    return rc;
}

size_t tg_commit_port_outstanding(const tg_commit_port *port)
{
    return port->outstanding;
}

static void on_port_close(uv_handle_t *h)
{
    free(h->data);
}

void tg_commit_port_close(tg_commit_port *port)
{
    if (port)
        uv_close((uv_handle_t *)&port->async, on_port_close);
}

size_t tg_committer_pending_bytes(tg_committer *c)
{
    size_t n;

    pthread_mutex_lock(&c->mu);
    n = c->pending_bytes;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void tg_committer_drain(tg_committer *c, void (*done_cb)(void *ctx), void *ctx)
{
    c->draining = 1;
    c->drain_cb = done_cb;
    c->drain_ctx = ctx;
    update_ref(c);
    /* done_cb always runs from the async callback, never from inside this
     * call, even when nothing is outstanding. */
    if (done_cb)
        uv_async_send(&c->async);
}

static void on_close(uv_handle_t *h)
{
    tg_committer *c = h->data;

    free(c->batch);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void tg_committer_destroy(tg_committer *c)
{
    tg_submission *done;

    if (!c)
        return;
    c->draining = 1;
    if (c->thread_started) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_signal(&c->cond);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
        c->thread_started = 0;
    }
    /* Without a prior drain, completions may still wait for the async
     * callback that will never come: run them now, on the loop thread. */
    pthread_mutex_lock(&c->mu);
    done = c->done_head;
    c->done_head = c->done_tail = NULL;
    pthread_mutex_unlock(&c->mu);
    complete_list(c, done);
    c->drain_cb = NULL;
    uv_close((uv_handle_t *)&c->async, on_close);
}
