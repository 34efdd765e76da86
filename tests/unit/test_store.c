/* The durable store against real LMDB in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include "store.h"
#include "store_internal.h"
#include "tg_err.h"

/* --- fixtures -------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
    tg_store *st;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/tg_store_test_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static void rm_store(const char *dir)
{
    char p[128];

    snprintf(p, sizeof(p), "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static int teardown(void **state)
{
    fixture *f = *state;

    tg_store_close(f->st);
    rm_store(f->dir);
    free(f);
    return 0;
}

static tg_store *open_store(fixture *f, const tg_store_options *o)
{
    tg_store_options def;
    int err = -1;

    if (!o) {
        tg_store_options_default(&def);
        def.no_sync = 1;
        o = &def;
    }
    f->st = tg_store_open(f->dir, o, &err);
    assert_int_equal(err, 0);
    assert_non_null(f->st);
    return f->st;
}

/* A request built by hand: payload bytes derived from `tag`, one trace id
 * per entry of `traces` (the id is 16 copies of the byte), one service. */
typedef struct test_rec {
    uint8_t ids[8][16];
    tg_slice svc[2];
    tg_otlp_index ix;
    uint8_t data[600];
    tg_store_record rec;
} test_rec;

static void make_rec(test_rec *r, enum tg_signal sig, int tag, const uint8_t *traces,
                     size_t n_traces, const char *service, uint64_t t_min, uint64_t t_max)
{
    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < n_traces; i++)
        memset(r->ids[i], traces[i], 16);
    for (size_t i = 0; i < sizeof(r->data); i++)
        r->data[i] = (uint8_t)("span payload "[i % 13] + (i % 7 == 0 ? tag : 0));
    r->data[0] = (uint8_t)tag;
    r->ix.t_min = t_min;
    r->ix.t_max = t_max;
    r->ix.items = 10 + (uint64_t)tag;
    r->ix.trace_ids = n_traces ? r->ids : NULL;
    r->ix.n_trace_ids = n_traces;
    if (service) {
        r->svc[0].ptr = service;
        r->svc[0].len = strlen(service);
        r->ix.services = r->svc;
        r->ix.n_services = 1;
    }
    r->rec.signal = sig;
    r->rec.data = r->data;
    r->rec.len = sizeof(r->data);
    r->rec.index = &r->ix;
}

/* Collects what a read visits: seqs, and the first payload byte (the tag). */
typedef struct visits {
    size_t n;
    uint64_t seq[256];
    int tag[256];
    enum tg_signal sig[256];
    size_t len[256];
    size_t stop_after;
} visits;

static int collect(void *ctx, uint64_t seq, enum tg_signal sig, const uint8_t *data,
                   size_t len)
{
    visits *v = ctx;

    if (v->n < 256) {
        v->seq[v->n] = seq;
        v->tag[v->n] = len ? data[0] : -1;
        v->sig[v->n] = sig;
        v->len[v->n] = len;
    }
    v->n++;
    return v->stop_after && v->n >= v->stop_after;
}

static size_t db_entries(tg_store *st, MDB_dbi dbi)
{
    MDB_txn *txn;
    MDB_stat ms;

    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_stat(txn, dbi, &ms), 0);
    mdb_txn_abort(txn);
    return ms.ms_entries;
}

/* --- tests ------------------------------------------------------------------ */

static void test_write_and_read_back(void **state)
{
    fixture *f = *state;
    tg_store *st = open_store(f, NULL);
    test_rec r[4];
    tg_store_record recs[4];
    uint64_t seqs[4];
    const uint8_t t_a[] = {0xaa, 0xbb}, t_b[] = {0xbb}, t_c[] = {0xcc};
    visits v;

    make_rec(&r[0], TG_SIGNAL_TRACES, 1, t_a, 2, "checkout", 1000, 2000);
    make_rec(&r[1], TG_SIGNAL_TRACES, 2, t_b, 1, "payments", 3000, 4000);
    make_rec(&r[2], TG_SIGNAL_LOGS, 3, t_a, 1, "checkout", 1500, 1600);
    make_rec(&r[3], TG_SIGNAL_TRACES, 4, t_c, 1, "checkout", 5000, 9000);
    for (int i = 0; i < 4; i++)
        recs[i] = r[i].rec;
    assert_int_equal(tg_store_write(st, recs, 4, seqs), 0);
    assert_int_equal(seqs[0], 1);
    assert_int_equal(seqs[3], 4);

    /* By trace, oldest first, across signals, with the exact payload. */
    memset(&v, 0, sizeof(v));
    uint8_t id[16];
    memset(id, 0xaa, 16);
    assert_int_equal(tg_store_get_trace(st, id, collect, &v), 0);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.tag[0], 1);
    assert_int_equal(v.sig[0], TG_SIGNAL_TRACES);
    assert_int_equal(v.len[0], sizeof(r[0].data));
    assert_int_equal(v.tag[1], 3);
    assert_int_equal(v.sig[1], TG_SIGNAL_LOGS);

    memset(&v, 0, sizeof(v));
    memset(id, 0xbb, 16);
    assert_int_equal(tg_store_get_trace(st, id, collect, &v), 0);
    assert_int_equal(v.n, 2); /* record 1 (second id) and record 2 */
    assert_int_equal(v.seq[0], seqs[0]);
    assert_int_equal(v.seq[1], seqs[1]);

    memset(&v, 0, sizeof(v));
    memset(id, 0xdd, 16);
    assert_int_equal(tg_store_get_trace(st, id, collect, &v), 0);
    assert_int_equal(v.n, 0);

    /* All traces, newest first. */
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_TRACES, NULL, 0, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.tag[0], 4);
    assert_int_equal(v.tag[1], 2);
    assert_int_equal(v.tag[2], 1);

    /* Overlap of [3500, 6000]: records 2 [3000,4000] and 4 [5000,9000]. */
    memset(&v, 0, sizeof(v));
    assert_int_equal(
        tg_store_scan(st, TG_SIGNAL_TRACES, NULL, 3500, 6000, 0, collect, &v), 0);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.tag[0], 4);
    assert_int_equal(v.tag[1], 2);

    /* A window touching only the end of record 4's range. */
    memset(&v, 0, sizeof(v));
    assert_int_equal(
        tg_store_scan(st, TG_SIGNAL_TRACES, NULL, 8000, 8500, 0, collect, &v), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.tag[0], 4);

    /* Before everything, after everything. */
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_TRACES, NULL, 1, 999, 0, collect, &v),
                     0);
    assert_int_equal(v.n, 0);
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_TRACES, NULL, 9001, 0, 0, collect, &v),
                     0);
    assert_int_equal(v.n, 0);

    /* By service, newest first, time-filtered, signal-separated. */
    memset(&v, 0, sizeof(v));
    assert_int_equal(
        tg_store_scan(st, TG_SIGNAL_TRACES, "checkout", 0, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.tag[0], 4);
    assert_int_equal(v.tag[1], 1);
    memset(&v, 0, sizeof(v));
    assert_int_equal(
        tg_store_scan(st, TG_SIGNAL_TRACES, "checkout", 0, 2500, 0, collect, &v), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.tag[0], 1);
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_LOGS, "checkout", 0, 0, 0, collect, &v),
                     0);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.tag[0], 3);
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_TRACES, "check", 0, 0, 0, collect, &v),
                     0);
    assert_int_equal(v.n, 0);
    assert_int_equal(
        tg_store_scan(st, TG_SIGNAL_METRICS, "checkout", 0, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, 0);

    /* Limit and early stop. */
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_TRACES, NULL, 0, 0, 2, collect, &v), 0);
    assert_int_equal(v.n, 2);
    memset(&v, 0, sizeof(v));
    v.stop_after = 1;
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_TRACES, NULL, 0, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, 1);

    tg_store_stats s;
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 4);
    assert_int_equal(s.raw_bytes, 4 * sizeof(r[0].data));
    assert_int_equal(s.items[TG_SIGNAL_TRACES], 11 + 12 + 14);
    assert_int_equal(s.items[TG_SIGNAL_LOGS], 13);
    assert_true(s.record_bytes > 0 && s.record_bytes < s.raw_bytes);
    assert_true(s.file_bytes > 0);
    assert_true(s.map_size >= s.file_bytes);
    assert_int_equal(s.evicted_records, 0);

    /* Index entries: a trace-id filter per record, 4 time, 4 service; the
     * old per-trace-id index stays empty. */
    assert_int_equal(db_entries(st, st->db_tfilter), 4);
    assert_int_equal(db_entries(st, st->db_trace), 0);
    assert_int_equal(db_entries(st, st->db_time), 4);
    assert_int_equal(db_entries(st, st->db_svc), 4);
}

static void test_many_records_one_txn(void **state)
{
    fixture *f = *state;
    tg_store *st = open_store(f, NULL);
    enum { N = 500 };
    test_rec *r = calloc(N, sizeof(*r));
    tg_store_record *recs = calloc(N, sizeof(*recs));
    uint64_t *seqs = calloc(N, sizeof(*seqs));
    tg_store_stats s;
    visits v;

    assert_non_null(r);
    for (int i = 0; i < N; i++) {
        uint8_t t = (uint8_t)i;
        make_rec(&r[i], TG_SIGNAL_TRACES, i & 0x7f, &t, 1, "svc", 1000 + (uint64_t)i,
                 2000 + (uint64_t)i);
        recs[i] = r[i].rec;
    }
    assert_int_equal(tg_store_write(st, recs, N, seqs), 0);
    for (int i = 1; i < N; i++)
        assert_int_equal(seqs[i], seqs[i - 1] + 1);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, N);

    /* Trace id 0x05 is shared by records 5, 261 (i & 0xff == 5). */
    uint8_t id[16];
    memset(id, 0x05, 16);
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_get_trace(st, id, collect, &v), 0);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.seq[0], seqs[5]);
    assert_int_equal(v.seq[1], seqs[261]);

    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_TRACES, "svc", 0, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, N);
    assert_int_equal(v.seq[0], seqs[N - 1]);
    free(r);
    free(recs);
    free(seqs);
}

static void test_reopen_keeps_data(void **state)
{
    fixture *f = *state;
    tg_store *st = open_store(f, NULL);
    test_rec r;
    const uint8_t t = 0x42;
    uint64_t seq1, seq2;
    visits v;
    uint8_t id[16];

    make_rec(&r, TG_SIGNAL_LOGS, 9, &t, 1, "api", 10, 20);
    assert_int_equal(tg_store_write(st, &r.rec, 1, &seq1), 0);
    tg_store_close(st);
    f->st = NULL;

    st = open_store(f, NULL);
    memset(id, 0x42, 16);
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_get_trace(st, id, collect, &v), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.tag[0], 9);
    assert_int_equal(v.seq[0], seq1);

    /* Sequence numbers continue: never reused after a restart. */
    assert_int_equal(tg_store_write(st, &r.rec, 1, &seq2), 0);
    assert_int_equal(seq2, seq1 + 1);
    tg_store_stats s;
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 2);
    assert_int_equal(s.items[TG_SIGNAL_LOGS], 2 * 19);
}

static void test_format_mismatch(void **state)
{
    fixture *f = *state;
    tg_store *st = open_store(f, NULL);
    MDB_txn *txn;
    MDB_val k = {6, "format"}, v;
    uint8_t buf[8];
    int err = 0;

    /* The fresh store stamped its format. */
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_get(txn, st->db_meta, &k, &v), 0);
    assert_int_equal(v.mv_size, 8);
    assert_int_equal(tg_be64_get(v.mv_data), TG_STORE_FORMAT_VERSION);
    mdb_txn_abort(txn);

    /* Rewrite it as a future version through LMDB itself. */
    tg_be64_put(buf, TG_STORE_FORMAT_VERSION + 1);
    v = (MDB_val){8, buf};
    assert_int_equal(mdb_txn_begin(st->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_put(txn, st->db_meta, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    tg_store_close(st);
    f->st = NULL;

    tg_store_options o;
    tg_store_options_default(&o);
    o.no_sync = 1;
    assert_null(tg_store_open(f->dir, &o, &err));
    assert_int_equal(err, TG_EVERSION);
}

static void test_map_growth(void **state)
{
    fixture *f = *state;
    tg_store_options o;
    enum { N = 40, LEN = 100000 };
    uint8_t *data = malloc(LEN);
    tg_otlp_index ix[N];
    uint8_t ids[N][16];
    tg_store_record rec;
    tg_store_stats s;
    uint64_t seed = 1;

    tg_store_options_default(&o);
    o.no_sync = 1;
    o.initial_map_size = 64 << 10;
    tg_store *st = open_store(f, &o);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.map_size, 64 << 10);

    /* Incompressible payloads: 4 MB that must really land in the map. */
    for (int i = 0; i < N; i++) {
        for (size_t b = 0; b < LEN; b++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            data[b] = (uint8_t)(seed >> 56);
        }
        data[0] = (uint8_t)i;
        memset(&ix[i], 0, sizeof(ix[i]));
        memset(ids[i], i + 1, 16);
        ix[i].trace_ids = &ids[i];
        ix[i].n_trace_ids = 1;
        ix[i].items = 1;
        rec = (tg_store_record){TG_SIGNAL_TRACES, data, LEN, &ix[i]};
        assert_int_equal(tg_store_write(st, &rec, 1, NULL), 0);
    }
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_true(s.map_grows > 0);
    assert_true(s.map_size >= (uint64_t)N * LEN);
    assert_int_equal(s.records, N);
    for (int i = 0; i < N; i++) {
        visits v;
        memset(&v, 0, sizeof(v));
        assert_int_equal(tg_store_get_trace(st, ids[i], collect, &v), 0);
        assert_int_equal(v.n, 1);
        assert_int_equal(v.tag[0], i);
        assert_int_equal(v.len[0], LEN);
    }
    free(data);
}

/* Readers run while the writer grows the map: the map lock must keep a
 * resize from pulling the mapping out from under a read. */
typedef struct reader_arg {
    tg_store *st;
    _Atomic int stop;
    _Atomic size_t reads;
    _Atomic size_t errors; /* cmocka asserts only work on the main thread */
} reader_arg;

static int count_only(void *ctx, uint64_t seq, enum tg_signal sig, const uint8_t *data,
                      size_t len)
{
    size_t *n = ctx;
    uint64_t sum = 0;

    (void)seq;
    (void)sig;
    for (size_t i = 0; i < len; i += 512)
        sum += data[i]; /* touch the payload: it must still be mapped */
    *n += 1 + (sum & 0);
    return 0;
}

/* A visitor that reads the store again, from inside a read. */
static int nested_read(void *ctx, uint64_t seq, enum tg_signal sig, const uint8_t *data,
                       size_t len)
{
    reader_arg *a = ctx;
    size_t n = 0;
    tg_store_stats s;

    if (tg_store_scan(a->st, sig, NULL, 0, 0, 1, count_only, &n) ||
        tg_store_get_stats(a->st, &s) || n != 1 || s.records == 0 || len == 0 || !data ||
        seq == 0)
        atomic_fetch_add(&a->errors, 1);
    return 1;
}

static void *reader_main(void *p)
{
    reader_arg *a = p;
    uint8_t id[16];

    memset(id, 7, 16);
    while (!atomic_load(&a->stop)) {
        size_t n = 0;
        if (tg_store_get_trace(a->st, id, nested_read, a) ||
            tg_store_get_trace(a->st, id, count_only, &n) ||
            tg_store_scan(a->st, TG_SIGNAL_TRACES, NULL, 0, 0, 3, count_only, &n))
            atomic_fetch_add(&a->errors, 1);
        atomic_fetch_add(&a->reads, 1);
    }
    return NULL;
}

static void test_growth_with_concurrent_readers(void **state)
{
    fixture *f = *state;
    tg_store_options o;
    enum { LEN = 50000 };
    uint8_t *data = malloc(LEN);
    uint8_t id[16];
    tg_otlp_index ix = {.items = 1, .n_trace_ids = 1};
    tg_store_record rec = {TG_SIGNAL_TRACES, data, LEN, &ix};
    reader_arg a = {0};
    pthread_t th[2];
    uint64_t seed = 7;
    tg_store_stats s;

    tg_store_options_default(&o);
    o.no_sync = 1;
    o.initial_map_size = 64 << 10;
    a.st = open_store(f, &o);
    memset(id, 7, 16);
    ix.trace_ids = &id;
    for (size_t b = 0; b < LEN; b++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        data[b] = (uint8_t)(seed >> 56);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &a), 0);
    for (int i = 0; i < 60; i++) {
        assert_int_equal(tg_store_write(a.st, &rec, 1, NULL), 0);
        /* Halfway, let the readers in: the writes alone can finish before
         * a reader thread is first scheduled, and then nothing read while
         * the map grew. */
        for (int w = 0; i == 30 && w < 30000 && atomic_load(&a.reads) == 0; w++)
            usleep(1000);
    }
    atomic_store(&a.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_true(atomic_load(&a.reads) > 0);
    assert_int_equal(atomic_load(&a.errors), 0);
    assert_int_equal(tg_store_get_stats(a.st, &s), 0);
    assert_true(s.map_grows > 0);
    assert_int_equal(s.records, 60);
    f->st = a.st;
    free(data);
}

static tg_store *reopen(fixture *f, const tg_store_options *o)
{
    tg_store_close(f->st);
    f->st = NULL;
    return open_store(f, o);
}

/* Records of identical size (same payload, same key lengths) whose only
 * difference is their trace id (i) and service name ("svc-<i>"). */
static void make_uniform(test_rec *r, char *svc, size_t svc_cap, int i, uint64_t t)
{
    uint8_t id = (uint8_t)(i + 1);

    snprintf(svc, svc_cap, "svc-%02d", i);
    make_rec(r, TG_SIGNAL_TRACES, 0, &id, 1, svc, t, t + 10);
    r->ix.items = 5;
}

static size_t count_trace(tg_store *st, int i)
{
    uint8_t id[16];
    visits v;

    memset(id, i + 1, 16);
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_get_trace(st, id, collect, &v), 0);
    return v.n;
}

static size_t count_service(tg_store *st, int i)
{
    char svc[16];
    visits v;

    snprintf(svc, sizeof(svc), "svc-%02d", i);
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_TRACES, svc, 0, 0, 0, collect, &v), 0);
    return v.n;
}

static void test_size_budget_eviction(void **state)
{
    fixture *f = *state;
    tg_store_options o;
    enum { N = 30, KEEP = 10 };
    test_rec r;
    char svc[16];
    tg_store_stats s;
    uint64_t rec_bytes, seq;
    visits v;

    tg_store_options_default(&o);
    o.no_sync = 1;
    tg_store *st = open_store(f, &o);
    make_uniform(&r, svc, sizeof(svc), 0, 100);
    assert_int_equal(tg_store_write(st, &r.rec, 1, NULL), 0);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    rec_bytes = s.record_bytes;

    /* Budget for exactly KEEP records; one write per record. */
    o.max_bytes = KEEP * rec_bytes;
    st = reopen(f, &o);
    for (int i = 1; i < N; i++) {
        make_uniform(&r, svc, sizeof(svc), i, 100 * (uint64_t)(i + 1));
        assert_int_equal(tg_store_write(st, &r.rec, 1, &seq), 0);
        assert_int_equal(seq, (uint64_t)i + 1);
    }
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, KEEP);
    assert_int_equal(s.record_bytes, KEEP * rec_bytes);
    assert_int_equal(s.evicted_records, N - KEEP);
    assert_int_equal(s.evicted_items[TG_SIGNAL_TRACES], 5 * (N - KEEP));
    assert_int_equal(s.items[TG_SIGNAL_TRACES], 5 * KEEP);
    assert_int_equal(s.raw_bytes, KEEP * sizeof(r.data));

    /* Oldest went first; their index keys went with them. */
    for (int i = 0; i < N; i++) {
        size_t want = i >= N - KEEP;
        assert_int_equal(count_trace(st, i), want);
        assert_int_equal(count_service(st, i), want);
    }
    assert_int_equal(db_entries(st, st->db_records), KEEP);
    assert_int_equal(db_entries(st, st->db_tfilter), KEEP);
    assert_int_equal(db_entries(st, st->db_time), KEEP);
    assert_int_equal(db_entries(st, st->db_svc), KEEP);
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_TRACES, NULL, 0, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, KEEP);
    assert_int_equal(v.seq[0], N);
    assert_int_equal(v.seq[KEEP - 1], N - KEEP + 1);

    /* The counters survive a restart. */
    st = reopen(f, &o);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.evicted_records, N - KEEP);
    assert_int_equal(s.records, KEEP);
}

static void test_batch_over_budget_is_kept(void **state)
{
    fixture *f = *state;
    tg_store_options o;
    enum { N = 8 };
    test_rec r[N];
    tg_store_record recs[N];
    char svc[N][16];
    tg_store_stats s;

    tg_store_options_default(&o);
    o.no_sync = 1;
    o.max_bytes = 1; /* smaller than any record */
    tg_store *st = open_store(f, &o);
    for (int i = 0; i < N; i++) {
        make_uniform(&r[i], svc[i], sizeof(svc[i]), i, 100);
        recs[i] = r[i].rec;
    }
    /* A batch is acknowledged as stored: it survives its own commit, and
     * goes (entirely) at the next one. */
    assert_int_equal(tg_store_write(st, recs, 4, NULL), 0);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 4);
    assert_int_equal(tg_store_write(st, recs + 4, 4, NULL), 0);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 4);
    assert_int_equal(s.evicted_records, 4);
    assert_int_equal(count_trace(st, 0), 0);
    assert_int_equal(count_trace(st, 7), 1);
}

typedef struct fake_clock {
    uint64_t now;
} fake_clock;

static uint64_t fake_now(void *ctx)
{
    return ((fake_clock *)ctx)->now;
}

static void test_age_eviction(void **state)
{
    fixture *f = *state;
    tg_store_options o;
    fake_clock clk = {1000000};
    test_rec r;
    char svc[16];
    tg_store_stats s;

    tg_store_options_default(&o);
    o.no_sync = 1;
    o.max_age_sec = 3600;
    tg_store *st = open_store(f, &o);
    tg_store_set_clock(st, fake_now, &clk);

    /* Ingested at +0, +1000, +2000, +3000 seconds. */
    for (int i = 0; i < 4; i++) {
        make_uniform(&r, svc, sizeof(svc), i, 100);
        assert_int_equal(tg_store_write(st, &r.rec, 1, NULL), 0);
        clk.now += 1000;
    }
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 4);

    /* A write at +4000 expires the record from +0, in its own txn. */
    make_uniform(&r, svc, sizeof(svc), 4, 100);
    assert_int_equal(tg_store_write(st, &r.rec, 1, NULL), 0);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 4);
    assert_int_equal(s.evicted_records, 1);
    assert_int_equal(count_trace(st, 0), 0);
    assert_int_equal(count_trace(st, 1), 1);

    /* Exactly max_age old is kept; one second more is not. */
    assert_int_equal(tg_store_evict(st, 1000000 + 1000 + 3600), 0);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 4);
    assert_int_equal(tg_store_evict(st, 1000000 + 1000 + 3601), 0);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 3);
    assert_int_equal(count_trace(st, 1), 0);
    assert_int_equal(count_trace(st, 2), 1);

    /* Far in the future everything goes, index keys included. */
    assert_int_equal(tg_store_evict(st, 1000000 + 100000), 0);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 0);
    assert_int_equal(s.record_bytes, 0);
    assert_int_equal(s.raw_bytes, 0);
    assert_int_equal(s.items[TG_SIGNAL_TRACES], 0);
    assert_int_equal(s.evicted_records, 5);
    assert_int_equal(s.evicted_items[TG_SIGNAL_TRACES], 25);
    assert_int_equal(db_entries(st, st->db_tfilter), 0);
    assert_int_equal(db_entries(st, st->db_time), 0);
    assert_int_equal(db_entries(st, st->db_svc), 0);
}

typedef struct tail_seen {
    size_t n;
    uint64_t seq[16], expiry[16], ingest[16];
    char cls[16][16];
    size_t cls_len[16];
    int tag[16];
} tail_seen;

static int tail_collect(void *ctx, const tg_store_item *it)
{
    tail_seen *t = ctx;

    if (t->n < 16) {
        t->seq[t->n] = it->seq;
        t->expiry[t->n] = it->expiry_sec;
        t->ingest[t->n] = it->ingest_sec;
        t->cls_len[t->n] = it->cls_len;
        assert_true(it->cls_len < sizeof(t->cls[0]));
        if (it->cls_len)
            memcpy(t->cls[t->n], it->cls, it->cls_len);
        assert_true(it->cls_len == 0 || it->cls != NULL);
        t->tag[t->n] = it->len ? it->data[0] : -1;
    }
    t->n++;
    return 0;
}

/* Records keep their classification beside the payload, and expire at
 * their own class retention, earliest first, whatever their seq order. */
static void test_class_retention(void **state)
{
    fixture *f = *state;
    fake_clock clk = {1000000};
    test_rec r[4];
    char svc[4][16];
    tg_store_stats s;
    tail_seen t = {0};
    const uint64_t retention[4] = {100, 0, 50, 1000};
    static const char *const cls[4] = {"cls-zero", "", "cls-two", "c3"};
    tg_store *st = open_store(f, NULL);

    tg_store_set_clock(st, fake_now, &clk);
    for (int i = 0; i < 4; i++) {
        make_uniform(&r[i], svc[i], sizeof(svc[i]), i, 100);
        r[i].data[0] = (uint8_t)(10 + i);
        r[i].rec.retention_sec = retention[i];
        r[i].rec.cls = strlen(cls[i]) ? (const uint8_t *)cls[i] : NULL;
        r[i].rec.cls_len = strlen(cls[i]);
        assert_int_equal(tg_store_write(st, &r[i].rec, 1, NULL), 0);
    }
    assert_int_equal(tg_store_read_after(st, 0, 0, tail_collect, &t), 0);
    assert_int_equal(t.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(t.tag[i], 10 + i); /* the payload is intact */
        assert_int_equal(t.cls_len[i], strlen(cls[i]));
        assert_memory_equal(t.cls[i], cls[i], strlen(cls[i]));
        assert_int_equal(t.ingest[i], 1000000);
        assert_int_equal(t.expiry[i], retention[i] ? 1000000 + retention[i] : 0);
    }
    /* the tail drops its mapping of what it read: a second read sees the
     * same records, read again from the file */
    memset(&t, 0, sizeof(t));
    assert_int_equal(tg_store_read_after(st, 0, 0, tail_collect, &t), 0);
    assert_int_equal(t.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(t.tag[i], 10 + i);
        assert_memory_equal(t.cls[i], cls[i], strlen(cls[i]));
    }
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.expiring_records, 3);

    /* Reads stop seeing a record the second its retention ends, before the
     * retention pass deletes it. */
    clk.now = 1000050;
    assert_int_equal(count_trace(st, 2), 1);
    clk.now = 1000051;
    assert_int_equal(count_trace(st, 2), 0);
    assert_int_equal(count_trace(st, 0), 1);
    clk.now = 1000000;

    /* Exactly its retention old is kept; a second more is not. */
    assert_int_equal(tg_store_evict(st, 1000050), 0);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 4);
    assert_int_equal(tg_store_evict(st, 1000051), 0);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 3);
    assert_int_equal(count_trace(st, 2), 0); /* the third, written later, went first */
    assert_int_equal(count_trace(st, 0), 1);
    assert_int_equal(s.expired_records, 1);
    assert_int_equal(s.evicted_records, 1);
    assert_int_equal(s.expiring_records, 2);

    /* A write runs the same pass: at +101 the first record goes. */
    clk.now = 1000101;
    make_uniform(&r[0], svc[0], sizeof(svc[0]), 5, 100);
    assert_int_equal(tg_store_write(st, &r[0].rec, 1, NULL), 0);
    assert_int_equal(count_trace(st, 0), 0);
    assert_int_equal(count_trace(st, 1), 1);

    /* Far later: only the records without a class retention remain, and
     * no index key of a deleted record is left behind. */
    assert_int_equal(tg_store_evict(st, 5000000), 0);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 2);
    assert_int_equal(s.expired_records, 3);
    assert_int_equal(s.expiring_records, 0);
    assert_int_equal(db_entries(st, st->db_expiry), 0);
    assert_int_equal(db_entries(st, st->db_tfilter), 2);
    assert_int_equal(db_entries(st, st->db_time), 2);
    assert_int_equal(db_entries(st, st->db_svc), 2);
    assert_int_equal(count_trace(st, 1), 1);
}

/* A class retention only ever shortens: one at or beyond the store's age
 * limit sets no expiry, and age (or size) eviction removes expiry keys too. */
typedef struct class_counts {
    char name[4][32];
    uint64_t n[4];
    size_t len;
} class_counts;

static void count_class(void *ctx, const char *cls, uint64_t n)
{
    class_counts *c = ctx;

    assert_true(c->len < 4);
    snprintf(c->name[c->len], sizeof(c->name[0]), "%s", cls);
    c->n[c->len++] = n;
}

static uint64_t class_count(const class_counts *c, const char *name)
{
    for (size_t i = 0; i < c->len; i++)
        if (strcmp(c->name[i], name) == 0)
            return c->n[i];
    return 0;
}

/* Each deletion at the end of a class retention is counted, durably, for
 * the class that set the expiry (the audit report's retention section);
 * a record written without a class name is counted as unrecorded; an age
 * eviction is not a class retention and is not counted. */
static void test_class_retention_counted_by_class(void **state)
{
    fixture *f = *state;
    fake_clock clk = {1000000};
    test_rec r;
    char svc[16];
    class_counts c = {0};
    tg_store_stats s;
    static const char *const names[5] = {"pii.ip", "pii.ip", "pii.email", NULL, NULL};
    static const uint64_t ret[5] = {10, 10, 20, 10, 0};
    tg_store *st = open_store(f, NULL);

    tg_store_set_clock(st, fake_now, &clk);
    for (int i = 0; i < 5; i++) {
        make_uniform(&r, svc, sizeof(svc), i, 100);
        r.rec.retention_sec = ret[i];
        r.rec.retention_class = names[i];
        assert_int_equal(tg_store_write(st, &r.rec, 1, NULL), 0);
    }
    assert_int_equal(tg_store_expired_by_class(st, count_class, &c), 0);
    assert_int_equal(c.len, 0);
    assert_int_equal(tg_store_evict(st, 1000011), 0);
    assert_int_equal(tg_store_expired_by_class(st, count_class, &c), 0);
    assert_int_equal(class_count(&c, "pii.ip"), 2);
    assert_int_equal(class_count(&c, "(unrecorded)"), 1);
    assert_int_equal(class_count(&c, "pii.email"), 0);
    /* durable: the count survives reopening */
    tg_store_close(st);
    st = open_store(f, NULL);
    tg_store_set_clock(st, fake_now, &clk);
    assert_int_equal(tg_store_evict(st, 1000021), 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(tg_store_expired_by_class(st, count_class, &c), 0);
    assert_int_equal(c.len, 3);
    assert_int_equal(class_count(&c, "pii.ip"), 2);
    assert_int_equal(class_count(&c, "pii.email"), 1);
    assert_int_equal(class_count(&c, "(unrecorded)"), 1);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.expired_records, 4);
    assert_int_equal(s.records, 1);
}

static void test_class_retention_never_lengthens(void **state)
{
    fixture *f = *state;
    tg_store_options o;
    fake_clock clk = {1000000};
    test_rec r;
    char svc[16];
    tail_seen t = {0};

    tg_store_options_default(&o);
    o.no_sync = 1;
    o.max_age_sec = 3600;
    tg_store *st = open_store(f, &o);
    tg_store_set_clock(st, fake_now, &clk);
    make_uniform(&r, svc, sizeof(svc), 0, 100);
    r.rec.retention_sec = 7200;
    assert_int_equal(tg_store_write(st, &r.rec, 1, NULL), 0);
    make_uniform(&r, svc, sizeof(svc), 1, 100);
    r.rec.retention_sec = 3600;
    assert_int_equal(tg_store_write(st, &r.rec, 1, NULL), 0);
    make_uniform(&r, svc, sizeof(svc), 2, 100);
    r.rec.retention_sec = 60;
    assert_int_equal(tg_store_write(st, &r.rec, 1, NULL), 0);
    assert_int_equal(tg_store_read_after(st, 0, 0, tail_collect, &t), 0);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.expiry[0], 0);
    assert_int_equal(t.expiry[1], 0);
    assert_int_equal(t.expiry[2], 1000060);
    assert_int_equal(db_entries(st, st->db_expiry), 1);

    /* Age eviction of everything takes the expiry key with its record. */
    assert_int_equal(tg_store_evict(st, 1000000 + 3601), 0);
    assert_int_equal(db_entries(st, st->db_records), 0);
    assert_int_equal(db_entries(st, st->db_expiry), 0);
}

/* A store written before classifications were kept (format 1, 72-byte
 * record headers) opens, is stamped with the current format, and its
 * records read, index and evict as before. */
static void test_format1_store_upgrades(void **state)
{
    fixture *f = *state;
    tg_store_options o;
    test_rec r;
    char svc[16];
    MDB_txn *txn;
    MDB_val k, v;
    uint8_t key[8], buf[8], *old;
    size_t vlen;
    tail_seen t = {0};
    tg_store *st = open_store(f, NULL);
    int err = 0;

    make_uniform(&r, svc, sizeof(svc), 0, 100);
    r.data[0] = 42;
    assert_int_equal(tg_store_write(st, &r.rec, 1, NULL), 0);

    /* Rewrite record 1 as format 1 and the store's stamp as 1. */
    tg_be64_put(key, 1);
    k = (MDB_val){8, key};
    assert_int_equal(mdb_txn_begin(st->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_get(txn, st->db_records, &k, &v), 0);
    vlen = v.mv_size - 8;
    old = malloc(vlen);
    memcpy(old, v.mv_data, 72);
    memcpy(old + 72, (uint8_t *)v.mv_data + 80, v.mv_size - 80);
    tg_be16_put(old + 4, 1);
    tg_be32_put(old + 56, tg_be32_get(old + 56) - 8);
    tg_be32_put(old + 60, tg_be32_get(old + 60) - 8);
    tg_be32_put(old + 64, tg_be32_get(old + 64) - 8);
    tg_be32_put(old + 68, 0);
    v = (MDB_val){vlen, old};
    assert_int_equal(mdb_put(txn, st->db_records, &k, &v, 0), 0);
    tg_be64_put(buf, 1);
    k = (MDB_val){6, "format"};
    v = (MDB_val){8, buf};
    assert_int_equal(mdb_put(txn, st->db_meta, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    free(old);
    tg_store_close(st);

    tg_store_options_default(&o);
    o.no_sync = 1;
    st = f->st = tg_store_open(f->dir, &o, &err);
    assert_non_null(st);
    assert_int_equal(err, 0);
    assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_get(txn, st->db_meta, &k, &v), 0);
    assert_int_equal(tg_be64_get(v.mv_data), TG_STORE_FORMAT_VERSION);
    mdb_txn_abort(txn);

    assert_int_equal(tg_store_read_after(st, 0, 0, tail_collect, &t), 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.tag[0], 42);
    assert_int_equal(t.cls_len[0], 0);
    assert_int_equal(t.expiry[0], 0);
    assert_int_equal(count_trace(st, 0), 1);
    /* New records are written in the current format beside it. */
    make_uniform(&r, svc, sizeof(svc), 1, 100);
    r.rec.retention_sec = 10;
    assert_int_equal(tg_store_write(st, &r.rec, 1, NULL), 0);
    assert_int_equal(count_trace(st, 1), 1);
    assert_int_equal(db_entries(st, st->db_expiry), 1);
}

/* More than one eviction transaction's worth of expired records. */
static void test_evict_large_backlog(void **state)
{
    fixture *f = *state;
    tg_store_options o;
    fake_clock clk = {5000};
    enum { N = TG_STORE_EVICT_BATCH + 100 };
    uint8_t payload[32] = {1, 2, 3};
    tg_otlp_index ix = {.items = 1};
    tg_store_record *recs = calloc(N, sizeof(*recs));
    tg_store_stats s;

    tg_store_options_default(&o);
    o.no_sync = 1;
    o.max_age_sec = 10;
    tg_store *st = open_store(f, &o);
    tg_store_set_clock(st, fake_now, &clk);
    for (int i = 0; i < N; i++)
        recs[i] = (tg_store_record){TG_SIGNAL_METRICS, payload, sizeof(payload), &ix};
    assert_int_equal(tg_store_write(st, recs, N, NULL), 0);
    assert_int_equal(tg_store_evict(st, 6000), 0);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 0);
    assert_int_equal(s.evicted_records, N);
    assert_int_equal(s.evicted_items[TG_SIGNAL_METRICS], N);
    free(recs);
}

/* Records with many index keys: the key cap splits the eviction. */
static void test_evict_many_index_keys(void **state)
{
    fixture *f = *state;
    tg_store_options o;
    fake_clock clk = {5000};
    enum { N = 800, IDS = 100 }; /* 80,000 trace keys > TG_STORE_EVICT_KEYS */
    uint8_t(*ids)[16] = calloc((size_t)N * IDS, 16);
    tg_otlp_index *ix = calloc(N, sizeof(*ix));
    tg_store_record *recs = calloc(N, sizeof(*recs));
    uint8_t payload[16] = {9};
    tg_store_stats s;
    uint64_t seed = 3;

    for (size_t i = 0; i < (size_t)N * IDS; i++)
        for (int b = 0; b < 16; b++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            ids[i][b] = (uint8_t)(seed >> 56);
        }
    tg_store_options_default(&o);
    o.no_sync = 1;
    o.max_age_sec = 10;
    tg_store *st = open_store(f, &o);
    tg_store_set_clock(st, fake_now, &clk);
    for (int i = 0; i < N; i++) {
        ix[i] = (tg_otlp_index){
            .items = 2, .trace_ids = ids + (size_t)i * IDS, .n_trace_ids = IDS};
        recs[i] = (tg_store_record){TG_SIGNAL_TRACES, payload, sizeof(payload), &ix[i]};
    }
    assert_int_equal(tg_store_write(st, recs, N, NULL), 0);
    assert_int_equal(db_entries(st, st->db_tfilter), (size_t)N); /* one filter a record */

    /* A write past the age limit evicts in its own txn, up to the cap. */
    clk.now = 6000;
    assert_int_equal(tg_store_write(st, recs, 1, NULL), 0);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_true(s.evicted_records > 0 && s.evicted_records < N);
    assert_true(s.evicted_records * (IDS + 2) >= TG_STORE_EVICT_KEYS);

    /* tg_store_evict() loops until nothing is left to evict. */
    assert_int_equal(tg_store_evict(st, 6000), 0);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 1);
    assert_int_equal(s.evicted_records, N);
    assert_int_equal(s.evicted_items[TG_SIGNAL_TRACES], 2 * N);
    assert_int_equal(db_entries(st, st->db_tfilter), 1);
    free(ids);
    free(ix);
    free(recs);
}

/* A real OTLP request, packed with protobuf-c, survives the round trip. */
static int unpack_check(void *ctx, uint64_t seq, enum tg_signal sig, const uint8_t *data,
                        size_t len)
{
    int *ok = ctx;
    tg_otlp_traces_req *req;

    (void)seq;
    assert_int_equal(sig, TG_SIGNAL_TRACES);
    req =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            NULL, len, data);
    assert_non_null(req);
    assert_int_equal(req->n_resource_spans, 1);
    assert_int_equal(req->resource_spans[0]->n_scope_spans, 1);
    assert_int_equal(req->resource_spans[0]->scope_spans[0]->n_spans, 1);
    assert_string_equal(req->resource_spans[0]->scope_spans[0]->spans[0]->name, "GET /");
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
        req, NULL);
    (*ok)++;
    return 0;
}

static void test_real_protobuf_round_trip(void **state)
{
    fixture *f = *state;
    tg_store *st = open_store(f, NULL);
    Opentelemetry__Proto__Trace__V1__Span span =
        OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    tg_otlp_traces_req req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    Opentelemetry__Proto__Trace__V1__Span *spans[1] = {&span};
    Opentelemetry__Proto__Trace__V1__ScopeSpans *sss[1] = {&ss};
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rss[1] = {&rs};
    uint8_t tid[16], sid[8], *buf;
    size_t len;
    int ok = 0;

    for (int i = 0; i < 16; i++)
        tid[i] = (uint8_t)(0x10 + i);
    memset(sid, 0x33, 8);
    span.trace_id = (ProtobufCBinaryData){16, tid};
    span.span_id = (ProtobufCBinaryData){8, sid};
    span.name = "GET /";
    span.start_time_unix_nano = 1700000000000000000ull;
    span.end_time_unix_nano = 1700000000500000000ull;
    ss.spans = spans;
    ss.n_spans = 1;
    rs.scope_spans = sss;
    rs.n_scope_spans = 1;
    req.resource_spans = rss;
    req.n_resource_spans = 1;
    len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            &req);
    buf = malloc(len);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req,
                                                                                   buf);

    uint8_t(*ids)[16] = &tid;
    tg_slice svc = {"frontend", 8};
    tg_otlp_index ix = {
        span.start_time_unix_nano, span.end_time_unix_nano, 1, ids, 1, &svc, 1};
    tg_store_record rec = {TG_SIGNAL_TRACES, buf, len, &ix};
    assert_int_equal(tg_store_write(st, &rec, 1, NULL), 0);
    free(buf);

    assert_int_equal(tg_store_get_trace(st, tid, unpack_check, &ok), 0);
    assert_int_equal(ok, 1);
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_TRACES, "frontend",
                                   1700000000400000000ull, 0, 0, unpack_check, &ok),
                     0);
    assert_int_equal(ok, 2);
}

static void test_long_and_odd_service_names(void **state)
{
    fixture *f = *state;
    tg_store *st = open_store(f, NULL);
    enum { L = TG_STORE_SVC_KEY_MAX + 50 };
    char a[L + 1], b[L + 1];
    tg_slice svc_a = {a, L}, svc_b = {b, L}, both[2] = {{"x\0y", 3}, {"", 0}};
    tg_otlp_index ia = {.services = &svc_a, .n_services = 1};
    tg_otlp_index ib = {.services = &svc_b, .n_services = 1};
    tg_otlp_index ic = {.services = both, .n_services = 2};
    uint8_t payload[4] = {1};
    tg_store_record recs[3] = {{TG_SIGNAL_LOGS, payload, 4, &ia},
                               {TG_SIGNAL_LOGS, payload, 4, &ib},
                               {TG_SIGNAL_LOGS, payload, 4, &ic}};
    uint64_t seqs[3];
    visits v;

    /* Two names that differ only after the indexed prefix. */
    memset(a, 'n', L);
    memcpy(b, a, L);
    b[L - 1] = 'm';
    a[L] = b[L] = 0;
    assert_int_equal(tg_store_write(st, recs, 3, seqs), 0);

    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_LOGS, a, 0, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.seq[0], seqs[0]);
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_LOGS, b, 0, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.seq[0], seqs[1]);

    /* A name with a NUL inside is not indexed; the empty name is. */
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_LOGS, "x", 0, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, 0);
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_LOGS, "", 0, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.seq[0], seqs[2]);
}

/* The per-record trace-id filter: every id it was built from is found;
 * ids it was not built from are found about as rarely as 10 bits and 7
 * probes per id promise (0.8%), also when only half of each id varies. */
static void test_trace_filter(void **state)
{
    enum { N = 100, PROBES = 100000 };
    static uint8_t ids[N][16];
    uint8_t f[256], other[16];
    size_t len = tg_store__tfilter_len(N), fp = 0;
    uint64_t seed = 12345;

    (void)state;
    assert_int_equal(len % 8, 0);
    assert_true(len * 8 >= (size_t)N * TG_TFILTER_BITS_PER_ID);
    assert_true(len <= sizeof(f));
    assert_int_equal(tg_store__tfilter_len(0), 8);
    for (int i = 0; i < N; i++) {
        memset(ids[i], 0x42, 8); /* a constant high half */
        for (int b = 8; b < 16; b++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            ids[i][b] = (uint8_t)(seed >> 56);
        }
    }
    tg_store__tfilter_build(&ids[0][0], N, f, len);
    for (int i = 0; i < N; i++)
        assert_true(tg_store__tfilter_may_hold(f, len, ids[i]));
    for (int p = 0; p < PROBES; p++) {
        memset(other, 0x42, 8);
        for (int b = 8; b < 16; b++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            other[b] = (uint8_t)(seed >> 56);
        }
        fp += (size_t)tg_store__tfilter_may_hold(f, len, other);
    }
    assert_true(fp < PROBES / 50); /* under 2%, expected about 0.8% */
    assert_false(tg_store__tfilter_may_hold(f, 0, ids[0]));
}

/* A block's region-local filter: every id it was built with answers
 * "maybe", and ids it was not built with rarely do. */
static void test_trace_block_filter(void **state)
{
    enum { N = 100000, PROBES = 200000 };
    uint8_t *ids = malloc((size_t)N * 16), other[16], *f;
    size_t len = tg_store__tblock_filter_len(N), fp = 0;
    uint64_t seed = 99;

    (void)state;
    assert_non_null(ids);
    assert_int_equal(len % 2048, 0);
    assert_true(len * 8 >= (size_t)N * TG_TFILTER_BITS_PER_ID);
    assert_int_equal(tg_store__tblock_filter_len(10), tg_store__tfilter_len(10));
    for (size_t i = 0; i < (size_t)N * 16; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (uint8_t)(seed >> 56);
    }
    assert_non_null(f = malloc(len));
    tg_store__tblock_build(ids, N, f, len);
    for (size_t i = 0; i < N; i++)
        assert_true(tg_store__tblock_may_hold(f, len, ids + 16 * i));
    for (int p = 0; p < PROBES; p++) {
        for (int b = 0; b < 16; b++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            other[b] = (uint8_t)(seed >> 56);
        }
        fp += (size_t)tg_store__tblock_may_hold(f, len, other);
    }
    assert_true(fp < PROBES / 50); /* under 2%, expected about 1% */
    free(f);
    free(ids);
}

/* Records with one trace id each, id i = (i, ~i) big-endian, and every
 * 500th also holding the shared id `common` (0x5a...). */
static void write_block_records(tg_store *st, int from, int n)
{
    enum { BATCH = 100 };
    static test_rec recs[BATCH];
    static tg_store_record rr[BATCH];
    static uint8_t ids[BATCH][2][16];

    for (int b = 0; b < n; b += BATCH) {
        int m = n - b < BATCH ? n - b : BATCH;
        for (int j = 0; j < m; j++) {
            int i = from + b + j;
            make_rec(&recs[j], TG_SIGNAL_TRACES, i & 0x7f, NULL, 0, "svc", 100, 110);
            tg_be64_put(ids[j][0], (uint64_t)i);
            tg_be64_put(ids[j][0] + 8, ~(uint64_t)i);
            memset(ids[j][1], 0x5a, 16);
            recs[j].ix.trace_ids = ids[j];
            recs[j].ix.n_trace_ids = i % 500 == 0 ? 2 : 1;
            rr[j] = recs[j].rec;
        }
        assert_int_equal(tg_store_write(st, rr, (size_t)m, NULL), 0);
    }
}

static size_t visits_of(tg_store *st, int i, visits *v)
{
    uint8_t id[16];

    tg_be64_put(id, (uint64_t)i);
    tg_be64_put(id + 8, ~(uint64_t)i);
    memset(v, 0, sizeof(*v));
    assert_int_equal(tg_store_get_trace(st, id, collect, v), 0);
    return v->n;
}

/* Lookups by trace id go through the block filters: every id found in its
 * one record, whether its record is in a closed block, in the open tail,
 * or written across a restart; a shared id in every record that holds it,
 * oldest first; blocks dropped once their records are all evicted. */
static void test_trace_blocks(void **state)
{
    fixture *f = *state;
    tg_store_options o;
    uint8_t common[16];
    tg_store_stats s;
    visits v;
    enum { N = 2600 };

    tg_store_options_default(&o);
    o.no_sync = 1;
    tg_store *st = open_store(f, &o);
    write_block_records(st, 0, 1500);
    st = reopen(f, &o); /* mid-block: the restart's own base */
    write_block_records(st, 1500, N - 1500);
    /* 1..1100 closed after the 11th write; after the restart, 1501..2600. */
    assert_int_equal(db_entries(st, st->db_tblock), 2);
    for (int i = 0; i < N; i++) {
        assert_int_equal(visits_of(st, i, &v), 1);
        assert_int_equal(v.seq[0], (uint64_t)i + 1);
    }
    assert_int_equal(visits_of(st, N + 7, &v), 0);
    memset(common, 0x5a, 16);
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_get_trace(st, common, collect, &v), 0);
    assert_int_equal(v.n, N / 500 + (N % 500 != 0));
    for (size_t k = 0; k < v.n; k++)
        assert_int_equal(v.seq[k], 500 * k + 1);

    /* A budget of one record: the next write evicts all the others, and
     * their blocks go with them. */
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    o.max_bytes = s.record_bytes / s.records;
    st = reopen(f, &o);
    write_block_records(st, N, 1);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 1);
    assert_int_equal(db_entries(st, st->db_tblock), 0);
    assert_int_equal(visits_of(st, 5, &v), 0);
    assert_int_equal(visits_of(st, N, &v), 1);
    assert_int_equal(v.seq[0], (uint64_t)N + 1);
}

/* A store written before the filters had a by_trace key per trace id and
 * record: its records are still found by trace id, and evicting them
 * removes those keys too. */
static void test_old_trace_index_still_read(void **state)
{
    fixture *f = *state;
    tg_store_options o;
    tg_store *st;
    const uint8_t t_a[] = {0xaa};
    test_rec r;
    uint64_t seq;
    uint8_t id[16], key[24];
    MDB_txn *txn;
    MDB_val k = {8, key}, d = {0, NULL};
    visits v;

    tg_store_options_default(&o);
    o.max_age_sec = 10;
    st = open_store(f, &o);
    make_rec(&r, TG_SIGNAL_TRACES, 1, t_a, 1, "checkout", 1000, 2000);
    assert_int_equal(tg_store_write(st, &r.rec, 1, &seq), 0);
    /* Make it look as the old code wrote it: no filter, an index key. */
    assert_int_equal(mdb_txn_begin(st->env, NULL, 0, &txn), 0);
    tg_be64_put(key, seq);
    assert_int_equal(mdb_del(txn, st->db_tfilter, &k, NULL), 0);
    memset(key, 0xaa, 16);
    tg_be64_put(key + 16, seq);
    k = (MDB_val){24, key};
    assert_int_equal(mdb_put(txn, st->db_trace, &k, &d, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    st->has_old_trace_index = 1;

    memset(id, 0xaa, 16);
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_get_trace(st, id, collect, &v), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.seq[0], seq);

    assert_int_equal(tg_store_evict(st, (uint64_t)time(NULL) + 3600), 0);
    assert_int_equal(db_entries(st, st->db_records), 0);
    assert_int_equal(db_entries(st, st->db_trace), 0);
}

static void test_invalid_arguments(void **state)
{
    fixture *f = *state;
    tg_store *st = open_store(f, NULL);
    tg_otlp_index ix = {0};
    uint8_t payload[4] = {0};
    tg_store_record good = {TG_SIGNAL_TRACES, payload, 4, &ix};
    tg_store_record recs[2] = {good, {(enum tg_signal)7, payload, 4, &ix}};
    tg_store_record noindex = {TG_SIGNAL_TRACES, payload, 4, NULL};
    tg_store_stats s;

    /* A bad record fails the whole batch: nothing is written. */
    assert_int_equal(tg_store_write(st, recs, 2, NULL), TG_EINVAL);
    assert_int_equal(tg_store_write(st, &noindex, 1, NULL), TG_EINVAL);
    assert_int_equal(tg_store_get_stats(st, &s), 0);
    assert_int_equal(s.records, 0);
    assert_int_equal(tg_store_write(st, NULL, 0, NULL), 0);
    assert_int_equal(tg_store_scan(st, (enum tg_signal)3, NULL, 0, 0, 0, collect, NULL),
                     TG_EINVAL);

    /* Empty payload, no index keys at all: still a record. */
    tg_store_record empty = {TG_SIGNAL_METRICS, NULL, 0, &ix};
    visits v;
    assert_int_equal(tg_store_write(st, &empty, 1, NULL), 0);
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_METRICS, NULL, 0, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.len[0], 0);
}

/* kB of `path` resident in this process, from /proc/self/smaps. */
static long mapped_kb(const char *path)
{
    char line[4352], real[4096];
    FILE *f = fopen("/proc/self/smaps", "r");
    long kb = 0;
    int in = 0;

    assert_non_null(realpath(path, real));
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        long v;
        /* Every mapping's header line starts a new mapping, with a path or
         * without (anonymous, e.g. a sanitizer's shadow right after the
         * file's map): only the file's own lines count. */
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            char *p = strchr(line, '/');
            if (p)
                p[strcspn(p, "\n")] = '\0';
            in = p && strcmp(p, real) == 0;
        } else if (in && sscanf(line, "Rss: %ld kB", &v) == 1) {
            kb += v;
        }
    }
    fclose(f);
    return kb;
}

static void test_trim_resident(void **state)
{
    fixture *f = *state;
    tg_store *st = open_store(f, NULL);
    test_rec *r = calloc(200, sizeof(*r));
    tg_store_record recs[200];
    uint8_t traces[8];
    visits v;
    char path[128];
    long before, after;

    for (int i = 0; i < 200; i++) {
        for (int k = 0; k < 8; k++)
            traces[k] = (uint8_t)(i * 8 + k);
        make_rec(&r[i], TG_SIGNAL_TRACES, i, traces, 8, "svc", 1000 + (uint64_t)i, 2000);
        recs[i] = r[i].rec;
    }
    assert_int_equal(tg_store_write(st, recs, 200, NULL), 0);
    memset(&v, 0, sizeof(v));
    /* Reading touches the pages through LMDB's shared file mapping. */
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_TRACES, NULL, 0, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, 200);
    snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
    before = mapped_kb(path);
    assert_true(before > 0);
    assert_int_equal(tg_store_trim_resident(st), 0);
    after = mapped_kb(path);
    assert_true(after < before);
    assert_true(after < before);
    assert_true(after <= 16);
    /* The data is still there: pages fault back in from the page cache. */
    memset(&v, 0, sizeof(v));
    assert_int_equal(tg_store_scan(st, TG_SIGNAL_TRACES, NULL, 0, 0, 0, collect, &v), 0);
    assert_int_equal(v.n, 200);
    free(r);
}

/* Issue 15 part 5: a store whose map is at store.max_map_size is full.
 * refuse: the write fails and the store says why until a write gets in;
 * evict-oldest: the oldest records make room, never one younger than the
 * floor, and each eviction is counted. */
static int write_random(tg_store *st, int i, uint64_t *seed)
{
    enum { LEN = 50000 };
    static uint8_t data[LEN];
    static uint8_t ids[16];
    tg_otlp_index ix;
    tg_store_record rec;

    for (size_t b = 0; b < LEN; b++) {
        *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
        data[b] = (uint8_t)(*seed >> 56);
    }
    memset(&ix, 0, sizeof(ix));
    memset(ids, i + 1, 16);
    ix.trace_ids = &ids;
    ix.n_trace_ids = 1;
    ix.items = 1;
    rec = (tg_store_record){TG_SIGNAL_TRACES, data, LEN, &ix};
    return tg_store_write(st, &rec, 1, NULL);
}

static void test_full_refuse_and_evict_oldest(void **state)
{
    fixture *f = *state;
    tg_store_options o;
    fake_clock clk = {(uint64_t)time(NULL)}; /* the first records carry the wall clock */
    uint64_t seed = 7;
    char why[256];
    int i, rc = 0;

    tg_store_options_default(&o);
    o.no_sync = 1;
    o.initial_map_size = 256 << 10;
    o.max_map_size = 1 << 20;
    tg_store *st = open_store(f, &o);
    assert_int_equal(tg_store_writable(st, why, sizeof(why)), 1);
    for (i = 0; i < 100 && (rc = write_random(st, i, &seed)) == 0; i++)
        ;
    assert_int_not_equal(rc, 0);
    assert_true(i > 5 && i < 30); /* about 1 MiB of 50 KB records */
    assert_int_equal(tg_store_writable(st, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "store full: the map is at store.max_map_size (1048576"));
    assert_int_equal(tg_store_full_refusals(st), 1);
    assert_int_equal(tg_store_full_evictions(st), 0);
    /* A probe fits in a full map, but the store stays full for data. */
    tg_store_probe(st);
    assert_int_equal(tg_store_writable(st, why, sizeof(why)), 0);
    tg_store_close(st);
    f->st = NULL;

    /* evict-oldest with a floor of an hour: everything is younger. */
    o.on_full = TG_STORE_ON_FULL_EVICT_OLDEST;
    o.evict_floor_sec = 3600;
    st = open_store(f, &o);
    tg_store_set_clock(st, fake_now, &clk);
    assert_int_not_equal(write_random(st, 200, &seed), 0);
    assert_int_equal(tg_store_writable(st, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "nothing is older than store.evict_floor"));
    assert_int_equal(tg_store_full_evictions(st), 0);

    /* Each write two hours after the last: the older records may go, and
     * every write gets in. */
    for (i = 0; i < 40; i++) {
        clk.now += 7200;
        assert_int_equal(write_random(st, 300 + i, &seed), 0);
    }
    assert_true(tg_store_full_evictions(st) > 20);
    assert_int_equal(tg_store_writable(st, why, sizeof(why)), 1);
    /* A burst within the hour: it fills the store, and then it is refused
     * rather than any record of the burst evicted. */
    {
        tg_store_stats s;
        uint64_t before = tg_store_full_evictions(st);
        size_t burst = 0;
        clk.now += 7200;
        while (burst < 100 && write_random(st, 400, &seed) == 0)
            burst++;
        assert_true(burst > 5 && burst < 100);
        assert_int_equal(tg_store_writable(st, why, sizeof(why)), 0);
        assert_non_null(strstr(why, "nothing is older than store.evict_floor"));
        assert_int_equal(tg_store_get_stats(st, &s), 0);
        assert_true(s.records >= burst);
        assert_true(tg_store_full_evictions(st) > before); /* the older ones went */
        assert_true(s.map_size <= (1 << 20) + (4 << 20));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim_resident, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_records_one_txn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_refuse_and_evict_oldest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_growth_with_concurrent_readers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_size_budget_eviction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_over_budget_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_age_eviction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evict_large_backlog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evict_many_index_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_protobuf_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_and_odd_service_names, setup, teardown),
        cmocka_unit_test(test_trace_filter),
        cmocka_unit_test_setup_teardown(test_old_trace_index_still_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_class_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_class_retention_counted_by_class, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_class_retention_never_lengthens, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_format1_store_upgrades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trace_blocks, setup, teardown),
        cmocka_unit_test(test_trace_block_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
