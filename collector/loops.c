/* The ingest loops: see loops.h.
 *
 * Ownership: tg_loops owns every loop's receivers' servers (freed by their
 * stop), tg_ingest, counters and, for loops 1..N-1, the uv_loop_t, the
 * thread, the stop handle and the commit port (closed on the loop's own
 * thread before it exits). The caps shared by a kind's servers are freed
 * in tg_loops_destroy(), after every server is gone. */
#include "loops.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "tg_log.h"

/* How often a stopping loop looks whether its last commits came back (a
 * gRPC connection closed by the stop grace can leave one in flight). */
#define TG_LOOPS_DRAIN_POLL_MS 10

typedef struct ingest_loop {
    tg_loops *owner;
    unsigned idx;
    uv_loop_t *loop; /* the main loop for 0, else &own */
    uv_loop_t own;
    int own_open; /* own initialised (closed by the thread, or at abort) */
    pthread_t thread;
    int thread_started;
    tg_commit_port *port; /* NULL for loop 0 */
    tg_ingest *ing;
    tg_stats stats; /* loops 1..N-1; loop 0 counts in main_stats */
    tg_receivers rx;
    void *recv[TG_RECEIVERS_MAX];
    int stopping_recv;     /* receivers whose stop has not called back */
    int stop_requested;    /* loops 1..N-1: on_stop_async ran */
    uv_async_t stop_async; /* loops 1..N-1: the main loop asks it to stop */
    uv_timer_t drain_timer;
} ingest_loop;

struct tg_loops {
    tg_loops_options opt;
    unsigned n;
    ingest_loop *loops;
    const tg_stats **stats;         /* loops 1..N-1's */
    tg_collector_config *bound_cfg; /* cfg with the ports loop 0 bound */
    tg_listen_caps *caps[TG_RECEIVERS_MAX];
    uv_async_t done_async; /* a worker loop finished (main loop) */
    int done_async_open;
    _Atomic unsigned finished; /* worker loops whose thread has finished */
    int loop0_done;
    int stopping;
    void (*done)(void *ctx);
    void *done_ctx;
};

unsigned tg_loops_count(const tg_loops *l)
{
    return l->n;
}

const tg_stats *const *tg_loops_stats(const tg_loops *l, size_t *n)
{
    *n = l->n - 1;
    return l->stats;
}

/* ---- stopping ---------------------------------------------------------------- */

static void maybe_done(tg_loops *l)
{
    void (*cb)(void *);

    if (!l->stopping || !l->loop0_done || atomic_load(&l->finished) < l->n - 1 ||
        !l->done)
        return;
    cb = l->done;
    l->done = NULL;
    if (l->done_async_open)
        uv_unref((uv_handle_t *)&l->done_async);
    cb(l->done_ctx);
}

static void on_done_async(uv_async_t *h)
{
    maybe_done(h->data);
}

static void loop0_recv_stopped(void *ctx)
{
    ingest_loop *il = ctx;

    if (--il->stopping_recv > 0)
        return;
    il->owner->loop0_done = 1;
    maybe_done(il->owner);
}

static void worker_handle_closed(uv_handle_t *h)
{
    (void)h;
}

/* Worker thread: the servers are gone; once the port has nothing in flight,
 * close the last handles so uv_run() returns. */
static void on_drain_timer(uv_timer_t *t)
{
    ingest_loop *il = t->data;

    if (tg_commit_port_outstanding(il->port) > 0)
        return;
    uv_close((uv_handle_t *)&il->drain_timer, worker_handle_closed);
    uv_close((uv_handle_t *)&il->stop_async, worker_handle_closed);
    tg_commit_port_close(il->port);
    il->port = NULL;
}

static void worker_recv_stopped(void *ctx)
{
    ingest_loop *il = ctx;

    if (--il->stopping_recv > 0)
        return;
    uv_timer_init(il->loop, &il->drain_timer);
    il->drain_timer.data = il;
    uv_timer_start(&il->drain_timer, on_drain_timer, 0, TG_LOOPS_DRAIN_POLL_MS);
}

static void stop_receivers(ingest_loop *il, void (*cb)(void *))
{
    il->stopping_recv = 1; /* released below, after every stop is started */
    for (size_t i = 0; tg_receiver_list[i]; i++) {
        if (!il->recv[i])
            continue;
        il->stopping_recv++;
        tg_receiver_list[i]->stop(il->recv[i], cb, il);
        il->recv[i] = NULL;
    }
    cb(il);
}

static void on_stop_async(uv_async_t *h)
{
    ingest_loop *il = h->data;

    if (il->stop_requested)
        return;
    il->stop_requested = 1;
    stop_receivers(il, worker_recv_stopped);
}

static void *worker_main(void *arg)
{
    ingest_loop *il = arg;
    tg_loops *l = il->owner;

    uv_run(il->loop, UV_RUN_DEFAULT);
    uv_loop_close(il->loop);
    il->own_open = 0;
    tg_debug("ingest loop stopped", "loop=%u", il->idx);
    atomic_fetch_add(&l->finished, 1);
    uv_async_send(&l->done_async);
    return NULL;
}

void tg_loops_stop(tg_loops *l, void (*done)(void *ctx), void *ctx)
{
    if (l->stopping)
        return;
    l->stopping = 1;
    l->done = done;
    l->done_ctx = ctx;
    if (l->done_async_open)
        uv_ref((uv_handle_t *)&l->done_async);
    for (unsigned k = 1; k < l->n; k++)
        if (l->loops[k].thread_started)
            uv_async_send(&l->loops[k].stop_async);
    stop_receivers(&l->loops[0], loop0_recv_stopped);
}

/* ---- starting ---------------------------------------------------------------- */

/* Rewrites the port of "HOST:PORT" in field (TG_LOOPS_ADDR bytes). */
#define TG_LOOPS_ADDR sizeof(((tg_collector_config *)0)->otlp_grpc_listen)
_Static_assert(sizeof(((tg_collector_config *)0)->otlp_grpc_listen) ==
                   sizeof(((tg_collector_config *)0)->otlp_http_listen),
               "listen fields differ in size");

static int set_port(char *field, int port)
{
    char *colon = strrchr(field, ':');
    size_t head;
    int n;

    if (!colon || port <= 0)
        return TG_EINVAL;
    head = (size_t)(colon - field) + 1;
    n = snprintf(colon + 1, TG_LOOPS_ADDR - head, "%d", port);
    return n > 0 && (size_t)n < TG_LOOPS_ADDR - head ? 0 : TG_EINVAL;
}

static int start_receivers(tg_loops *l, ingest_loop *il, const tg_collector_config *cfg,
                           char *err, size_t errlen)
{
    int rc = 0;

    for (size_t i = 0; tg_receiver_list[i]; i++) {
        const tg_receiver_desc *d = tg_receiver_list[i];

        il->recv[i] = d->start(il->loop, cfg, &il->rx, &rc);
        if (!il->recv[i]) {
            snprintf(err, errlen, "cannot listen for %s on %s%s: %s", d->transport,
                     d->listen(cfg),
                     l->n > 1 ? " (SO_REUSEPORT, one socket per loop)" : "",
                     rc ? tg_strerror(rc) : "error");
            return rc ? rc : TG_EIO;
        }
    }
    return 0;
}

static int loop_init(tg_loops *l, unsigned k, char *err, size_t errlen)
{
    ingest_loop *il = &l->loops[k];
    tg_ingest_options io = *l->opt.ingest;

    il->owner = l;
    il->idx = k;
    if (k == 0) {
        il->loop = l->opt.main;
    } else {
        if (uv_loop_init(&il->own) != 0) {
            snprintf(err, errlen, "cannot create ingest loop %u", k);
            return TG_ENOMEM;
        }
        il->own_open = 1;
        il->loop = &il->own;
        il->port = tg_commit_port_create(l->opt.committer, il->loop);
        if (!il->port || uv_async_init(il->loop, &il->stop_async, on_stop_async) != 0) {
            snprintf(err, errlen, "cannot create ingest loop %u", k);
            return TG_ENOMEM;
        }
        il->stop_async.data = il;
    }
    io.port = il->port;
    il->ing = tg_ingest_create(l->opt.committer, k ? &il->stats : l->opt.main_stats, &io);
    if (!il->ing) {
        snprintf(err, errlen, "out of memory creating ingest loop %u", k);
        return TG_ENOMEM;
    }
    il->rx = *l->opt.rx;
    il->rx.ing = il->ing;
    il->rx.stats = k ? &il->stats : l->opt.main_stats;
    il->rx.reuseport = l->n > 1;
    for (size_t i = 0; i < TG_RECEIVERS_MAX; i++)
        il->rx.caps[i] = l->caps[i];
    return 0;
}

/* Start-up failed: stop what listens, run the worker loops to the end of
 * their handles here (no thread runs yet), free. Loop 0's servers close
 * when the caller runs the main loop. */
static void abort_start(tg_loops *l)
{
    for (unsigned k = 0; k < l->n; k++) {
        ingest_loop *il = &l->loops[k];

        for (size_t i = 0; tg_receiver_list[i]; i++)
            if (il->recv[i])
                tg_receiver_list[i]->stop(il->recv[i], NULL, NULL);
        if (k == 0 || !il->own_open)
            continue;
        if (il->port)
            tg_commit_port_close(il->port);
        if (il->stop_async.loop)
            uv_close((uv_handle_t *)&il->stop_async, worker_handle_closed);
        uv_run(il->loop, UV_RUN_DEFAULT);
        uv_loop_close(il->loop);
        il->own_open = 0;
    }
    l->stopping = 1;
    l->done = NULL;
    tg_loops_destroy(l);
}

tg_loops *tg_loops_start(const tg_loops_options *o, char *err, size_t errlen)
{
    tg_loops *l = calloc(1, sizeof(*l));
    int rc = 0;

    if (!l || !o->n || !(l->loops = calloc(o->n, sizeof(*l->loops))) ||
        !(l->stats = calloc(o->n, sizeof(*l->stats)))) {
        snprintf(err, errlen, "out of memory at start-up");
        if (l)
            free(l->loops);
        free(l);
        return NULL;
    }
    l->opt = *o;
    l->n = o->n;
    atomic_init(&l->finished, 0);
    if (l->n > 1) {
        for (size_t i = 0; tg_receiver_list[i]; i++)
            if (!(l->caps[i] = tg_receiver_list[i]->caps_new(o->cfg)))
                rc = TG_ENOMEM;
        if (!rc && !(l->bound_cfg = malloc(sizeof(*l->bound_cfg))))
            rc = TG_ENOMEM;
        if (!rc && uv_async_init(o->main, &l->done_async, on_done_async) != 0)
            rc = TG_ENOMEM;
        if (rc) {
            snprintf(err, errlen, "out of memory at start-up");
            abort_start(l);
            return NULL;
        }
        l->done_async.data = l;
        l->done_async_open = 1;
        uv_unref((uv_handle_t *)&l->done_async);
    }
    /* Loop 0 binds first: with port 0 in the configuration, the other
     * loops bind the port it got. */
    rc = loop_init(l, 0, err, errlen);
    if (!rc)
        rc = start_receivers(l, &l->loops[0], o->cfg, err, errlen);
    if (!rc && l->n > 1) {
        *l->bound_cfg = *o->cfg;
        for (size_t i = 0; !rc && tg_receiver_list[i]; i++) {
            const tg_receiver_desc *d = tg_receiver_list[i];
            rc = set_port((char *)d->listen(l->bound_cfg), d->port(l->loops[0].recv[i]));
            if (rc)
                snprintf(err, errlen, "cannot read the port %s bound on %s", d->transport,
                         d->listen(o->cfg));
        }
    }
    for (unsigned k = 1; !rc && k < l->n; k++) {
        rc = loop_init(l, k, err, errlen);
        if (!rc)
            rc = start_receivers(l, &l->loops[k], l->bound_cfg, err, errlen);
        l->stats[k - 1] = &l->loops[k].stats;
    }
    if (rc) {
        abort_start(l);
        return NULL;
    }
    return l;
}

int tg_loops_run(tg_loops *l)
{
    for (unsigned k = 1; k < l->n; k++) {
        ingest_loop *il = &l->loops[k];

        if (pthread_create(&il->thread, NULL, worker_main, il) != 0) {
            tg_error("cannot start an ingest loop's thread", "loop=%u", k);
            /* The loops never run count as finished for tg_loops_stop();
             * tg_loops_destroy() closes their handles. */
            atomic_fetch_add(&l->finished, l->n - k);
            return TG_ENOMEM;
        }
        il->thread_started = 1;
    }
    tg_info("ingest loops running", "loops=%u", l->n);
    return 0;
}

static void free_loops(tg_loops *l)
{
    for (size_t i = 0; i < TG_RECEIVERS_MAX; i++)
        tg_listen_caps_free(l->caps[i]);
    free(l->bound_cfg);
    free(l->stats);
    free(l->loops);
    free(l);
}

static void on_done_async_closed(uv_handle_t *h)
{
    free_loops(h->data);
}

void tg_loops_destroy(tg_loops *l)
{
    if (!l)
        return;
    for (unsigned k = 0; k < l->n; k++) {
        ingest_loop *il = &l->loops[k];

        if (il->thread_started) {
            pthread_join(il->thread, NULL);
            il->thread_started = 0;
        }
        /* A worker that was never run (tg_loops_run failed part-way):
         * close its handles here. */
        if (k && il->own_open) {
            for (size_t i = 0; tg_receiver_list[i]; i++)
                if (il->recv[i])
                    tg_receiver_list[i]->stop(il->recv[i], NULL, NULL);
            if (il->port)
                tg_commit_port_close(il->port);
            uv_close((uv_handle_t *)&il->stop_async, worker_handle_closed);
            uv_run(il->loop, UV_RUN_DEFAULT);
            uv_loop_close(il->loop);
            il->own_open = 0;
        }
        tg_ingest_destroy(il->ing);
        il->ing = NULL;
    }
    if (l->done_async_open) {
        /* Freed from the close callback: the main loop runs once more. */
        l->done_async_open = 0;
        l->done_async.data = l;
        uv_close((uv_handle_t *)&l->done_async, on_done_async_closed);
        return;
    }
    free_loops(l);
}
