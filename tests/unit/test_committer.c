/* Group commit from a real libuv loop into a real LMDB store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "committer.h"
#include "tg_compress.h"
#include "tg_err.h"

typedef struct fixture {
    char dir[64];
    tg_store *st;
    uv_loop_t loop;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tg_store_options o;
    int err;

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/tg_commit_test_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    tg_store_options_default(&o);
    o.no_sync = 1;
    f->st = tg_store_open(f->dir, &o, &err);
    assert_non_null(f->st);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char p[128];

    /* Every handle closed: the loop must close cleanly. */
    assert_int_equal(uv_loop_close(&f->loop), 0);
    tg_store_close(f->st);
    snprintf(p, sizeof(p), "%s/data.mdb", f->dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", f->dir);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* --- helpers ---------------------------------------------------------------- */

/* Completion bookkeeping, touched only on the loop thread. */
typedef struct completions {
    int n;
    int failed;
    int last_status;
    int order[512];
    int drained;
    int completed_at_drain;
} completions;

typedef struct sub_ctx {
    completions *c;
    int id;
} sub_ctx;

static void on_commit(void *ctx, int status)
{
    sub_ctx *s = ctx;

    if (s->c->n < 512)
        s->c->order[s->c->n] = s->id;
    s->c->n++;
    s->c->last_status = status;
    if (status)
        s->c->failed++;
}

static void on_drained(void *ctx)
{
    completions *c = ctx;

    c->drained++;
    c->completed_at_drain = c->n;
}

/* Observer: counts transactions; optionally blocks the writer thread after
 * its first transaction until released, so submissions pile up and the
 * grouping becomes deterministic. */
typedef struct observer {
    _Atomic int txns;
    _Atomic int records;
    _Atomic int max_group;
    int block_first;
    sem_t entered, release;
} observer;

static void observe(void *ctx, double seconds, size_t records, size_t bytes)
{
    observer *o = ctx;

    assert_true(seconds >= 0.0);
    assert_true(bytes > 0);
    int t = atomic_fetch_add(&o->txns, 1);
    atomic_fetch_add(&o->records, (int)records);
    if ((int)records > atomic_load(&o->max_group))
        atomic_store(&o->max_group, (int)records);
    if (t == 0 && o->block_first) {
        sem_post(&o->entered);
        sem_wait(&o->release);
    }
}

static void observer_init(observer *o, int block_first)
{
    memset(o, 0, sizeof(*o));
    o->block_first = block_first;
    sem_init(&o->entered, 0, 0);
    sem_init(&o->release, 0, 0);
}

/* A request: payload of `len` bytes, tagged by `id` in its first bytes,
 * one trace id derived from id, one service. */
typedef struct test_req {
    uint8_t id[1][16];
    tg_slice svc;
    tg_otlp_index ix;
    uint8_t *data;
    tg_store_record rec;
} test_req;

static void req_make(test_req *r, int id, size_t len)
{
    memset(r, 0, sizeof(*r));
    memset(r->id[0], 0, 16);
    r->id[0][0] = (uint8_t)(id >> 8);
    r->id[0][1] = (uint8_t)id;
    r->svc = (tg_slice){"svc", 3};
    r->data = malloc(len);
    for (size_t i = 0; i < len; i++)
        r->data[i] = (uint8_t)("resource spans "[i % 15]);
    r->data[0] = (uint8_t)(id >> 8);
    r->data[1] = (uint8_t)id;
    r->ix = (tg_otlp_index){
        1000 + (uint64_t)id, 2000 + (uint64_t)id, 3, r->id, 1, &r->svc, 1};
    r->rec = (tg_store_record){TG_SIGNAL_TRACES, r->data, len, &r->ix};
}

static void req_free(test_req *r)
{
    free(r->data);
}

typedef struct found {
    int n;
    int id;
} found;

static int find_cb(void *ctx, uint64_t seq, enum tg_signal sig, const uint8_t *data,
                   size_t len)
{
    found *f = ctx;

    (void)seq;
    (void)sig;
    assert_true(len >= 2);
    f->id = (data[0] << 8) | data[1];
    f->n++;
    return 0;
}

static int stored(tg_store *st, int id)
{
    uint8_t tid[16] = {0};
    found fd = {0};

    tid[0] = (uint8_t)(id >> 8);
    tid[1] = (uint8_t)id;
    assert_int_equal(tg_store_get_trace(st, tid, find_cb, &fd), 0);
    if (fd.n == 1)
        assert_int_equal(fd.id, id);
    return fd.n;
}

/* --- tests ------------------------------------------------------------------ */

static void test_submissions_complete_and_are_durable(void **state)
{
    fixture *f = *state;
    enum { N = 100 };
    completions done = {0};
    sub_ctx ctx[N];
    observer obs;
    tg_committer *c;

    observer_init(&obs, 0);
    c = tg_committer_create(&f->loop, f->st, NULL, observe, &obs);
    assert_non_null(c);
    for (int i = 0; i < N; i++) {
        test_req r;
        req_make(&r, i, 2000 + (size_t)i);
        ctx[i] = (sub_ctx){&done, i};
        assert_int_equal(tg_committer_submit(c, &r.rec, on_commit, &ctx[i]), 0);
        /* The committer copied everything: the caller's buffers can go. */
        memset(r.data, 0xee, r.rec.len);
        req_free(&r);
    }
    /* Callbacks run only on the loop; uv_run returns once all are done
     * because the committer unreferences itself when idle. */
    assert_int_equal(done.n, 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(done.n, N);
    assert_int_equal(done.failed, 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(done.order[i], i); /* FIFO */
    assert_int_equal(tg_committer_pending_bytes(c), 0);
    assert_int_equal(atomic_load(&obs.records), N);
    assert_true(atomic_load(&obs.txns) >= 1 && atomic_load(&obs.txns) <= N);

    for (int i = 0; i < N; i++)
        assert_int_equal(stored(f->st, i), 1);
    tg_store_stats s;
    assert_int_equal(tg_store_get_stats(f->st, &s), 0);
    assert_int_equal(s.records, N);
    assert_int_equal(s.items[TG_SIGNAL_TRACES], 3 * N);

    tg_committer_drain(c, NULL, NULL);
    tg_committer_destroy(c);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void test_group_commit_batches_queued_work(void **state)
{
    fixture *f = *state;
    enum { N = 50 };
    completions done = {0};
    sub_ctx ctx[N];
    observer obs;
    tg_committer *c;
    test_req r[N];

    observer_init(&obs, 1);
    c = tg_committer_create(&f->loop, f->st, NULL, observe, &obs);
    assert_non_null(c);
    for (int i = 0; i < N; i++) {
        req_make(&r[i], i, 1000);
        ctx[i] = (sub_ctx){&done, i};
    }
    /* The first goes alone; the writer is held while 49 more queue up,
     * then it takes all 49 in one transaction. */
    assert_int_equal(tg_committer_submit(c, &r[0].rec, on_commit, &ctx[0]), 0);
    sem_wait(&obs.entered);
    for (int i = 1; i < N; i++)
        assert_int_equal(tg_committer_submit(c, &r[i].rec, on_commit, &ctx[i]), 0);
    assert_true(tg_committer_pending_bytes(c) > 49 * 1000);
    sem_post(&obs.release);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(done.n, N);
    assert_int_equal(done.failed, 0);
    assert_int_equal(atomic_load(&obs.txns), 2);
    assert_int_equal(atomic_load(&obs.max_group), N - 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(stored(f->st, i), 1);
        req_free(&r[i]);
    }
    tg_committer_drain(c, NULL, NULL);
    tg_committer_destroy(c);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void test_batch_cap(void **state)
{
    fixture *f = *state;
    enum { N = 21 };
    completions done = {0};
    sub_ctx ctx[N];
    observer obs;
    tg_committer_options o = {.max_batch_bytes = 3 * 5000};
    tg_committer *c;
    test_req r[N];

    observer_init(&obs, 1);
    c = tg_committer_create(&f->loop, f->st, &o, observe, &obs);
    for (int i = 0; i < N; i++) {
        req_make(&r[i], i, 4500); /* with its overhead, 3 fit in a batch */
        ctx[i] = (sub_ctx){&done, i};
    }
    assert_int_equal(tg_committer_submit(c, &r[0].rec, on_commit, &ctx[0]), 0);
    sem_wait(&obs.entered);
    for (int i = 1; i < N; i++)
        assert_int_equal(tg_committer_submit(c, &r[i].rec, on_commit, &ctx[i]), 0);
    sem_post(&obs.release);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(done.n, N);
    assert_int_equal(atomic_load(&obs.max_group), 3);
    assert_int_equal(atomic_load(&obs.txns), 1 + 20 / 3 + 1);
    for (int i = 0; i < N; i++)
        req_free(&r[i]);
    tg_committer_drain(c, NULL, NULL);
    tg_committer_destroy(c);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void test_busy_when_over_pending_bound(void **state)
{
    fixture *f = *state;
    completions done = {0};
    sub_ctx ctx[4];
    observer obs;
    tg_committer_options o = {.max_pending_bytes = 10000};
    tg_committer *c;
    test_req big, small, small2;

    observer_init(&obs, 1);
    c = tg_committer_create(&f->loop, f->st, &o, observe, &obs);
    req_make(&big, 1, 50000);
    req_make(&small, 2, 100);
    req_make(&small2, 3, 100);
    for (int i = 0; i < 4; i++)
        ctx[i] = (sub_ctx){&done, i};

    /* Bigger than the bound, but the committer is empty: accepted. */
    assert_int_equal(tg_committer_submit(c, &big.rec, on_commit, &ctx[0]), 0);
    sem_wait(&obs.entered); /* written; its bytes count until completion */
    assert_true(tg_committer_pending_bytes(c) >= 50000);
    /* Anything more is refused at once, and its callback never runs. */
    assert_int_equal(tg_committer_submit(c, &small.rec, on_commit, &ctx[1]), TG_EBUSY);
    sem_post(&obs.release);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(done.n, 1);
    assert_int_equal(done.order[0], 0);
    assert_int_equal(tg_committer_pending_bytes(c), 0);
    assert_int_equal(stored(f->st, 2), 0);

    /* Room again: small ones fit side by side under the bound. */
    assert_int_equal(tg_committer_submit(c, &small.rec, on_commit, &ctx[2]), 0);
    assert_int_equal(tg_committer_submit(c, &small2.rec, on_commit, &ctx[3]), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(done.n, 3);
    assert_int_equal(done.failed, 0);
    assert_int_equal(stored(f->st, 2), 1);
    assert_int_equal(stored(f->st, 3), 1);

    req_free(&big);
    req_free(&small);
    req_free(&small2);
    tg_committer_drain(c, NULL, NULL);
    tg_committer_destroy(c);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void test_drain_completes_everything(void **state)
{
    fixture *f = *state;
    enum { N = 40 };
    completions done = {0};
    sub_ctx ctx[N + 1];
    observer obs;
    tg_committer *c;
    test_req r;

    observer_init(&obs, 1);
    c = tg_committer_create(&f->loop, f->st, NULL, observe, &obs);
    req_make(&r, 0, 3000);
    for (int i = 0; i <= N; i++)
        ctx[i] = (sub_ctx){&done, i};
    assert_int_equal(tg_committer_submit(c, &r.rec, on_commit, &ctx[0]), 0);
    sem_wait(&obs.entered);
    for (int i = 1; i < N; i++) {
        r.id[0][1] = (uint8_t)i;
        r.data[1] = (uint8_t)i;
        assert_int_equal(tg_committer_submit(c, &r.rec, on_commit, &ctx[i]), 0);
    }
    tg_committer_drain(c, on_drained, &done);
    /* Draining: refused, and done_cb never runs inside drain itself. */
    assert_int_equal(tg_committer_submit(c, &r.rec, on_commit, &ctx[N]), TG_ECLOSED);
    assert_int_equal(done.drained, 0);
    sem_post(&obs.release);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(done.drained, 1);
    assert_int_equal(done.completed_at_drain, N);
    assert_int_equal(done.n, N);
    assert_int_equal(done.failed, 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(stored(f->st, i), 1);
    req_free(&r);
    tg_committer_destroy(c);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void test_drain_when_idle(void **state)
{
    fixture *f = *state;
    completions done = {0};
    tg_committer *c = tg_committer_create(&f->loop, f->st, NULL, NULL, NULL);

    assert_non_null(c);
    tg_committer_drain(c, on_drained, &done);
    assert_int_equal(done.drained, 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(done.drained, 1);
    tg_committer_destroy(c);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void test_destroy_without_drain_completes(void **state)
{
    fixture *f = *state;
    enum { N = 10 };
    completions done = {0};
    sub_ctx ctx[N];
    tg_committer *c = tg_committer_create(&f->loop, f->st, NULL, NULL, NULL);
    test_req r;

    req_make(&r, 0, 500);
    for (int i = 0; i < N; i++) {
        ctx[i] = (sub_ctx){&done, i};
        r.id[0][1] = (uint8_t)i;
        r.data[1] = (uint8_t)i;
        assert_int_equal(tg_committer_submit(c, &r.rec, on_commit, &ctx[i]), 0);
    }
    /* The writer flushes the queue before it exits; destroy runs the
     * callbacks the loop never got to. */
    tg_committer_destroy(c);
    assert_int_equal(done.n, N);
    assert_int_equal(done.failed, 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    for (int i = 0; i < N; i++)
        assert_int_equal(stored(f->st, i), 1);
    req_free(&r);
}

static void test_invalid_submission(void **state)
{
    fixture *f = *state;
    completions done = {0};
    sub_ctx ctx = {&done, 0};
    tg_committer *c = tg_committer_create(&f->loop, f->st, NULL, NULL, NULL);
    test_req r;

    req_make(&r, 0, 10);
    r.rec.signal = (enum tg_signal)9;
    assert_int_equal(tg_committer_submit(c, &r.rec, on_commit, &ctx), TG_EINVAL);
    r.rec.signal = TG_SIGNAL_LOGS;
    r.rec.index = NULL;
    assert_int_equal(tg_committer_submit(c, &r.rec, on_commit, &ctx), TG_EINVAL);
    assert_int_equal(tg_committer_pending_bytes(c), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(done.n, 0);
    req_free(&r);
    tg_committer_drain(c, NULL, NULL);
    tg_committer_destroy(c);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

/* A classification given with the record is copied at submit and stored
 * beside it, with its retention. */
typedef struct cls_seen {
    int n;
    char cls[64][16];
    uint64_t expiry[64];
} cls_seen;

static int cls_collect(void *ctx, const tg_store_item *it)
{
    cls_seen *c = ctx;

    assert_true(c->n < 64 && it->cls_len < 16);
    if (it->cls_len)
        memcpy(c->cls[c->n], it->cls, it->cls_len);
    c->cls[c->n][it->cls_len] = 0;
    c->expiry[c->n] = it->expiry_sec;
    c->n++;
    return 0;
}

static void test_classification_copied_and_stored(void **state)
{
    fixture *f = *state;
    enum { N = 20 };
    completions done = {0};
    sub_ctx ctx[N];
    cls_seen seen = {0};
    tg_committer *c = tg_committer_create(&f->loop, f->st, NULL, NULL, NULL);

    for (int i = 0; i < N; i++) {
        test_req r;
        char cls[16];
        req_make(&r, i, 500);
        ctx[i] = (sub_ctx){&done, i};
        snprintf(cls, sizeof(cls), "cls-%d", i);
        if (i % 2) {
            r.rec.cls = (const uint8_t *)cls;
            r.rec.cls_len = strlen(cls);
            r.rec.retention_sec = 60;
        }
        assert_int_equal(tg_committer_submit(c, &r.rec, on_commit, &ctx[i]), 0);
        memset(cls, 'x', sizeof(cls)); /* copied: the caller's buffer can go */
        req_free(&r);
    }
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(done.n, N);
    assert_int_equal(tg_store_read_after(f->st, 0, 0, cls_collect, &seen), 0);
    assert_int_equal(seen.n, N);
    for (int i = 0; i < N; i++) {
        char want[16] = "";
        if (i % 2)
            snprintf(want, sizeof(want), "cls-%d", i);
        assert_string_equal(seen.cls[i], want);
        assert_int_equal(seen.expiry[i] != 0, i % 2);
    }
    tg_committer_drain(c, NULL, NULL);
    tg_committer_destroy(c);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

/* A record compressed by its ingest loop: the queue holds the frame and
 * the store keeps it as is (reading it back gives the request), while the
 * queue's bound still counts the request as received, so
 * limits.max_pending_bytes means what it did. */
static void test_precompressed_record(void **state)
{
    fixture *f = *state;
    completions comp = {0};
    observer obs;
    tg_committer_options o = {.max_pending_bytes = 64 * 1024};
    tg_committer *c;
    tg_zstd_ctx *z = tg_zstd_ctx_new(1);
    tg_arena arena;
    test_req r[2];
    sub_ctx sc[2];

    observer_init(&obs, 1);
    c = tg_committer_create(&f->loop, f->st, &o, observe, &obs);
    assert_non_null(c);
    assert_non_null(z);
    tg_arena_init(&arena, 1 << 20, 0);
    for (int i = 0; i < 2; i++) {
        uint8_t *zd;
        size_t zl;

        /* 256 KiB each, very compressible: the frames are small. */
        req_make(&r[i], 700 + i, 256 * 1024);
        assert_int_equal(
            tg_zstd_ctx_compress(z, r[i].data, r[i].rec.len, &arena, &zd, &zl), 0);
        assert_true(zl < 8 * 1024);
        r[i].rec.zdata = zd;
        r[i].rec.zlen = zl;
        r[i].rec.data = NULL;
        sc[i] = (sub_ctx){&comp, 700 + i};
    }
    /* The first is taken (an empty queue takes anything) and counted as
     * the 256 KiB it was; with the writer held inside its first
     * transaction, the second is over the 64 KiB bound. */
    assert_int_equal(tg_committer_submit(c, &r[0].rec, on_commit, &sc[0]), 0);
    sem_wait(&obs.entered);
    assert_true(tg_committer_pending_bytes(c) >= 256 * 1024);
    assert_int_equal(tg_committer_submit(c, &r[1].rec, on_commit, &sc[1]), TG_EBUSY);
    sem_post(&obs.release);
    tg_committer_drain(c, on_drained, &comp);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(comp.n, 1);
    assert_int_equal(comp.failed, 0);
    assert_int_equal(stored(f->st, 700), 1);
    assert_int_equal(stored(f->st, 701), 0);
    for (int i = 0; i < 2; i++)
        req_free(&r[i]);
    tg_arena_destroy(&arena);
    tg_zstd_ctx_free(z);
    tg_committer_destroy(c);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

/* Several ingest loops on threads of their own feed one committer through
 * ports: every record is stored, and each callback runs on the thread of
 * the loop that submitted it, never on the committer's loop. */
typedef struct producer {
    tg_committer *c;
    int base, n;
    pthread_t thread, self; /* self: set by the thread itself */
    _Atomic int completed, wrong_thread, failed;
    int submit_rc;
    /* Made and closed by the test's own thread, run by the producer's:
     * libuv closes its descriptors with a raw syscall that ThreadSanitizer
     * does not see, so a loop closed on one producer thread and made again
     * on another would reuse the descriptor without an order TSan knows. */
    uv_loop_t loop;
} producer;

static void on_port_commit(void *ctx, int status)
{
    producer *p = ctx;

    if (!pthread_equal(pthread_self(), p->self))
        atomic_fetch_add(&p->wrong_thread, 1);
    if (status)
        atomic_fetch_add(&p->failed, 1);
    atomic_fetch_add(&p->completed, 1);
}

static void *producer_main(void *arg)
{
    producer *p = arg;
    tg_commit_port *port;

    p->self = pthread_self();
    port = tg_commit_port_create(p->c, &p->loop);
    for (int i = 0; port && i < p->n && !p->submit_rc; i++) {
        test_req r;
        req_make(&r, p->base + i, 2048);
        p->submit_rc = tg_committer_submit_port(p->c, port, &r.rec, on_port_commit, p);
        req_free(&r);
    }
    /* Runs until every completion came back: the port holds the loop open
     * only while something is outstanding. */
    uv_run(&p->loop, UV_RUN_DEFAULT);
    if (port && tg_commit_port_outstanding(port) != 0)
        p->submit_rc = TG_EINVAL;
    tg_commit_port_close(port);
    uv_run(&p->loop, UV_RUN_DEFAULT);
    return NULL;
}

static void test_ports_complete_on_their_own_loops(void **state)
{
    fixture *f = *state;
    enum { K = 3, M = 60 };
    producer p[K];
    completions comp = {0};
    tg_committer *c = tg_committer_create(&f->loop, f->st, NULL, NULL, NULL);
    test_req late;
    uv_loop_t other;
    tg_commit_port *port;

    assert_non_null(c);
    memset(p, 0, sizeof(p));
    for (int k = 0; k < K; k++) {
        p[k].c = c;
        p[k].base = 1000 + k * M;
        p[k].n = M;
        assert_int_equal(uv_loop_init(&p[k].loop), 0);
        assert_int_equal(pthread_create(&p[k].thread, NULL, producer_main, &p[k]), 0);
    }
    for (int k = 0; k < K; k++) {
        assert_int_equal(pthread_join(p[k].thread, NULL), 0);
        assert_int_equal(p[k].submit_rc, 0);
        assert_int_equal(uv_loop_close(&p[k].loop), 0);
        assert_int_equal(atomic_load(&p[k].completed), M);
        assert_int_equal(atomic_load(&p[k].wrong_thread), 0);
        assert_int_equal(atomic_load(&p[k].failed), 0);
    }
    for (int id = 1000; id < 1000 + K * M; id++)
        assert_int_equal(stored(f->st, id), 1);

    /* Once draining, a port is refused like the committer's own loop. */
    tg_committer_drain(c, on_drained, &comp);
    assert_int_equal(uv_loop_init(&other), 0);
    port = tg_commit_port_create(c, &other);
    assert_non_null(port);
    req_make(&late, 9999, 64);
    assert_int_equal(tg_committer_submit_port(c, port, &late.rec, on_port_commit, &p[0]),
                     TG_ECLOSED);
    req_free(&late);
    tg_commit_port_close(port);
    assert_int_equal(uv_run(&other, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&other), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(comp.drained, 1);
    tg_committer_destroy(c);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_submissions_complete_and_are_durable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_batches_queued_work, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batch_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_when_over_pending_bound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drain_completes_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_when_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_without_drain_completes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_invalid_submission, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precompressed_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ports_complete_on_their_own_loops, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_classification_copied_and_stored, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
