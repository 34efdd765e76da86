/* Reads: by trace id, by time, by service, and the store's statistics.
 *
 * Each call runs in one read transaction, under the map lock held shared
 * (see store_internal.h), and calls the visitor inside it. So a visitor
 * should be quick (a map resize waits for it), and must not write to the
 * store. It may read the store again: the nested call knows this thread
 * already holds the lock and does not take it twice (the lock prefers
 * writers, so a second shared acquisition behind a waiting resize would
 * deadlock). */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tg_err.h"
#include "tg_log.h"

/* The store whose map lock this thread holds shared, and how deeply. */
static _Thread_local const tg_store *held_store;
static _Thread_local unsigned held_depth;

static void map_rdlock(tg_store *st)
{
    if (held_store == st) {
        held_depth++;
        return;
    }
    pthread_rwlock_rdlock(&st->map_lock);
    if (!held_store) {
        held_store = st;
        held_depth = 1;
    }
}

static void map_unlock(tg_store *st)
{
    if (held_store == st) {
        if (--held_depth > 0)
            return;
        held_store = NULL;
    }
    pthread_rwlock_unlock(&st->map_lock);
}

typedef struct reader {
    tg_store *st;
    MDB_txn *txn;
    ZSTD_DCtx *dctx;
    uint8_t *buf; /* decompressed payload, grown as needed */
    size_t cap;
    tg_store_visit_cb cb;
    void *ctx;
    int stopped;
    uint64_t now; /* unix s, for class-retention expiry */
} reader;

static int reader_begin(tg_store *st, reader *r, tg_store_visit_cb cb, void *ctx)
{
    int rc;

    memset(r, 0, sizeof(*r));
    r->st = st;
    r->cb = cb;
    r->ctx = ctx;
    r->now = tg_store__now(st);
    map_rdlock(st);
    if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &r->txn))) {
        map_unlock(st);
        tg_error("store read failed", "err=\"%s\"", mdb_strerror(rc));
        return tg_store__mdb_err(rc);
    }
    return 0;
}

static void reader_end(reader *r)
{
    mdb_txn_abort(r->txn);
    map_unlock(r->st);
    ZSTD_freeDCtx(r->dctx);
    free(r->buf);
}

/* 1 if the record's services hold exactly `name` (a name too long to be
 * indexed in full shares its key range with others of the same prefix). */
static int has_service(const tg_rec_view *rv, const char *name, size_t len)
{
    const uint8_t *sp = rv->services;

    for (uint32_t i = 0; i < rv->n_svc; i++) {
        size_t sl = tg_be16_get(sp);
        if (sl == len && memcmp(sp + 2, name, len) == 0)
            return 1;
        sp += 2 + sl;
    }
    return 0;
}

/* Whether the record's header lists the trace id (its exact index). */
static int has_trace(const tg_rec_view *rv, const uint8_t id[16])
{
    for (uint32_t i = 0; i < rv->n_trace; i++)
        if (memcmp(rv->trace_ids + 16 * (size_t)i, id, 16) == 0)
            return 1;
    return 0;
}

typedef struct visit_filter {
    int signal;              /* -1: any */
    const uint8_t *trace_id; /* the record must list it (a filter's hit) */
    const char *service;     /* exact check, only for long names */
    size_t service_len;
    int check_time;
    uint64_t t_from, t_to;
} visit_filter;

/* Fetches record `seq`, filters and decompresses it, and calls the
 * visitor. Returns 1 if visited, 0 if skipped (gone or filtered out),
 * negative on error. */
static int visit_one(reader *r, uint64_t seq, const visit_filter *f)
{
    uint8_t kbuf[8];
    MDB_val k = {8, kbuf}, v;
    tg_rec_view rv;
    size_t got;
    int rc;

    tg_be64_put(kbuf, seq);
    rc = mdb_get(r->txn, r->st->db_records, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0; /* an index key whose record was evicted */
    if (rc)
        return tg_store__mdb_err(rc);
    if (tg_rec_parse(v.mv_data, v.mv_size, &rv)) {
        tg_warn("store skipping corrupt record", "seq=%llu", (unsigned long long)seq);
        return 0;
    }
    /* Past its class retention, a record is as good as deleted: reads do
     * not wait for the retention pass (at most 10 s away) to miss it. */
    if (rv.expiry_sec && rv.expiry_sec < r->now)
        return 0;
    if (f->signal >= 0 && (int)rv.signal != f->signal)
        return 0;
    if (f->check_time && (rv.t_min > f->t_to || rv.t_max < f->t_from))
        return 0;
    if (f->service && !has_service(&rv, f->service, f->service_len))
        return 0;
    if (f->trace_id && !has_trace(&rv, f->trace_id))
        return 0;

    if (!r->dctx && !(r->dctx = ZSTD_createDCtx()))
        return TG_ENOMEM;
    if (rv.raw_len > r->cap || !r->buf) {
        size_t cap = rv.raw_len ? rv.raw_len : 1;
        uint8_t *b = realloc(r->buf, cap);
        if (!b)
            return TG_ENOMEM;
        r->buf = b;
        r->cap = cap;
    }
    got = ZSTD_decompressDCtx(r->dctx, r->buf, r->cap, rv.payload, rv.comp_len);
    if (ZSTD_isError(got) || got != rv.raw_len) {
        tg_error("store record does not decompress", "seq=%llu", (unsigned long long)seq);
        return TG_ESTORE;
    }
    if (r->cb(r->ctx, seq, rv.signal, r->buf, got))
        r->stopped = 1;
    return 1;
}

/* visit_one, counting the records visited in *visited. 0 or negative. */
static int visit_seq(reader *r, uint64_t seq, const visit_filter *f, size_t *visited)
{
    int rc = visit_one(r, seq, f);

    if (rc > 0)
        (*visited)++;
    return rc < 0 ? rc : 0;
}

/* The records of a store written before by_trace_filter, from its old
 * trace-id index. */
static int get_trace_old(reader *r, const uint8_t trace_id[16], size_t *visited)
{
    const visit_filter f = {.signal = -1};
    uint8_t start[24];
    MDB_cursor *cur;
    MDB_val k = {24, start}, v;
    int rc = 0, mrc;

    if ((mrc = mdb_cursor_open(r->txn, r->st->db_trace, &cur)))
        return tg_store__mdb_err(mrc);
    memcpy(start, trace_id, 16);
    memset(start + 16, 0, 8);
    mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == 0 && !r->stopped) {
        if (k.mv_size != 24 || memcmp(k.mv_data, trace_id, 16) != 0)
            break;
        if ((rc = visit_seq(r, tg_be64_get((const uint8_t *)k.mv_data + 16), &f,
                            visited)) < 0)
            break;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && mrc && mrc != MDB_NOTFOUND)
        rc = tg_store__mdb_err(mrc);
    mdb_cursor_close(cur);
    return rc;
}

typedef struct trace_visit {
    reader *r;
    const visit_filter *f;
    size_t visited;
} trace_visit;

static int visit_candidate(void *ctx, uint64_t seq)
{
    trace_visit *tv = ctx;
    int rc = visit_seq(tv->r, seq, tv->f, &tv->visited);

    return rc < 0 ? rc : tv->r->stopped;
}

/* Every record whose trace-id filter may hold the id, oldest first
 * (store_tfilter.c: block filters, then the records' own); the record's
 * own list confirms it before anything is decompressed. */
int tg_store_get_trace(tg_store *st, const uint8_t trace_id[16], tg_store_visit_cb cb,
                       void *ctx)
{
    const visit_filter f = {.signal = -1, .trace_id = trace_id};
    trace_visit tv = {0};
    reader r;
    int rc;

    if (!st || !trace_id || !cb)
        return TG_EINVAL;
    if ((rc = reader_begin(st, &r, cb, ctx)))
        return rc;
    if (st->has_old_trace_index && (rc = get_trace_old(&r, trace_id, &tv.visited)) != 0) {
        reader_end(&r);
        return rc;
    }
    tv.r = &r;
    tv.f = &f;
    rc = tg_store__tfilter_lookup(st, r.txn, trace_id, visit_candidate, &tv);
    reader_end(&r);
    return rc < 0 ? rc : 0;
}

/* Positions `cur` on the last key <= `key` (the newest end of a range);
 * MDB_NOTFOUND if every key is greater. */
static int seek_last_le(MDB_cursor *cur, MDB_val *k, MDB_val *v)
{
    MDB_val want = *k;
    int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);

    if (rc == MDB_NOTFOUND)
        return mdb_cursor_get(cur, k, v, MDB_LAST);
    if (rc)
        return rc;
    size_t n = k->mv_size < want.mv_size ? k->mv_size : want.mv_size;
    int c = memcmp(k->mv_data, want.mv_data, n);
    if (c > 0 || (c == 0 && k->mv_size > want.mv_size))
        return mdb_cursor_get(cur, k, v, MDB_PREV);
    return 0;
}

/* by_time, newest t_min first. Keys are sorted by t_min, so every key at
 * or below t_to is a candidate; the scan stops once t_min is so far
 * before t_from that no record could reach it (max_span). */
static int scan_time(reader *r, MDB_cursor *cur, enum tg_signal sig, uint64_t t_from,
                     uint64_t t_to, size_t limit, uint64_t max_span, int *mrc_out)
{
    const visit_filter f = {
        .signal = -1, .check_time = 1, .t_from = t_from, .t_to = t_to};
    uint8_t start[17];
    MDB_val k = {17, start}, v;
    size_t visited = 0;
    int rc = 0, mrc;

    start[0] = (uint8_t)sig;
    tg_be64_put(start + 1, t_to);
    tg_be64_put(start + 9, UINT64_MAX);
    mrc = seek_last_le(cur, &k, &v);
    while (mrc == 0 && !r->stopped && (!limit || visited < limit)) {
        const uint8_t *kp = k.mv_data;
        uint64_t t_min, t_max;

        if (k.mv_size != 17 || kp[0] != (uint8_t)sig)
            break;
        t_min = tg_be64_get(kp + 1);
        if (t_min < t_from && t_from - t_min > max_span)
            break;
        t_max = v.mv_size == 8 ? tg_be64_get(v.mv_data) : UINT64_MAX;
        if (t_max >= t_from) {
            if ((rc = visit_seq(r, tg_be64_get(kp + 9), &f, &visited)) < 0)
                break;
        }
        mrc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    }
    *mrc_out = mrc;
    return rc;
}

/* by_svc, newest (highest seq) first; time is checked on the header. */
static int scan_service(reader *r, MDB_cursor *cur, enum tg_signal sig,
                        const char *service, uint64_t t_from, uint64_t t_to, size_t limit,
                        int *mrc_out)
{
    uint8_t start[10 + TG_STORE_SVC_KEY_MAX];
    size_t len = strlen(service), plen;
    visit_filter f = {.signal = -1, .check_time = 1, .t_from = t_from, .t_to = t_to};
    MDB_val k, v;
    size_t visited = 0;
    int rc = 0, mrc;

    if (len > TG_STORE_SVC_KEY_MAX) {
        f.service = service;
        f.service_len = len;
    }
    k.mv_size = tg_store__svc_key(start, sig, service, len, UINT64_MAX);
    k.mv_data = start;
    plen = k.mv_size - 8;
    mrc = seek_last_le(cur, &k, &v);
    while (mrc == 0 && !r->stopped && (!limit || visited < limit)) {
        if (k.mv_size != plen + 8 || memcmp(k.mv_data, start, plen) != 0)
            break;
        if ((rc = visit_seq(r, tg_be64_get((const uint8_t *)k.mv_data + plen), &f,
                            &visited)) < 0)
            break;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    }
    *mrc_out = mrc;
    return rc;
}

int tg_store_scan(tg_store *st, enum tg_signal signal, const char *service,
                  uint64_t t_from, uint64_t t_to, size_t limit, tg_store_visit_cb cb,
                  void *ctx)
{
    MDB_cursor *cur;
    tg_store_totals t;
    reader r;
    int rc, mrc;

    if (!st || !cb || (unsigned)signal >= TG_SIGNAL_COUNT)
        return TG_EINVAL;
    if (t_to == 0)
        t_to = UINT64_MAX;
    if (t_from > t_to)
        return 0;
    if ((rc = reader_begin(st, &r, cb, ctx)))
        return rc;
    mrc = service ? 0 : tg_store__totals_load(st, r.txn, &t);
    if (!mrc)
        mrc = mdb_cursor_open(r.txn, service ? st->db_svc : st->db_time, &cur);
    if (mrc) {
        reader_end(&r);
        return tg_store__mdb_err(mrc);
    }
    if (service)
        rc = scan_service(&r, cur, signal, service, t_from, t_to, limit, &mrc);
    else
        rc = scan_time(&r, cur, signal, t_from, t_to, limit, t.max_span[signal], &mrc);
    if (rc == 0 && mrc && mrc != MDB_NOTFOUND)
        rc = tg_store__mdb_err(mrc);
    mdb_cursor_close(cur);
    reader_end(&r);
    return rc;
}

int tg_store_expired_by_class(tg_store *st,
                              void (*cb)(void *ctx, const char *cls, uint64_t n),
                              void *ctx)
{
    static const char pre[] = TG_STORE_META_EXPIRED_CLASS;
    const size_t plen = sizeof(pre) - 1;
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k = {plen, (void *)pre}, v;
    int rc, op = MDB_SET_RANGE;

    if (!st || !cb)
        return TG_EINVAL;
    map_rdlock(st);
    if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) == 0) {
        if ((rc = mdb_cursor_open(txn, st->db_meta, &cur)) == 0) {
            while (mdb_cursor_get(cur, &k, &v, op) == 0 && k.mv_size > plen &&
                   memcmp(k.mv_data, pre, plen) == 0) {
                char name[96];
                op = MDB_NEXT;
                if (v.mv_size != 8 || k.mv_size - plen >= sizeof(name))
                    continue;
                snprintf(name, sizeof(name), "%.*s", (int)(k.mv_size - plen),
                         (const char *)k.mv_data + plen);
                cb(ctx, name, tg_be64_get(v.mv_data));
            }
            mdb_cursor_close(cur);
        }
        mdb_txn_abort(txn);
    }
    map_unlock(st);
    return rc ? tg_store__mdb_err(rc) : 0;
}

int tg_store_get_stats(tg_store *st, tg_store_stats *out)
{
    MDB_txn *txn;
    MDB_envinfo info;
    tg_store_totals t;
    struct stat sb;
    int rc;

    if (!st || !out)
        return TG_EINVAL;
    memset(out, 0, sizeof(*out));
    map_rdlock(st);
    if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) == 0) {
        MDB_stat ms;
        rc = tg_store__totals_load(st, txn, &t);
        if (rc == 0 && mdb_stat(txn, st->db_expiry, &ms) == 0)
            out->expiring_records = ms.ms_entries;
        mdb_txn_abort(txn);
    }
    mdb_env_info(st->env, &info);
    map_unlock(st);
    if (rc)
        return tg_store__mdb_err(rc);
    out->records = t.records;
    out->record_bytes = t.record_bytes;
    out->raw_bytes = t.raw_bytes;
    out->evicted_records = t.evicted_records;
    out->expired_records = t.expired_records;
    for (int s = 0; s < TG_SIGNAL_COUNT; s++) {
        out->items[s] = t.items[s];
        out->evicted_items[s] = t.evicted_items[s];
    }
    out->map_size = info.me_mapsize;
    out->file_bytes = stat(st->data_path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    out->map_grows = atomic_load(&st->map_grows);
    return 0;
}

int tg_store_time_range(tg_store *st, uint64_t *oldest, uint64_t *newest)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc;

    *oldest = 0;
    *newest = 0;
    if (!st)
        return TG_EINVAL;
    if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)))
        return tg_store__mdb_err(rc);
    if ((rc = mdb_cursor_open(txn, st->db_time, &cur))) {
        mdb_txn_abort(txn);
        return tg_store__mdb_err(rc);
    }
    for (unsigned sig = 0; sig < TG_SIGNAL_COUNT; sig++) {
        uint8_t lo[1] = {(uint8_t)sig}, hi[1] = {(uint8_t)(sig + 1)};
        MDB_val k = {1, lo}, v;

        /* The signal's first key holds its oldest start... */
        if (mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) == 0 && k.mv_size == 17 &&
            ((const uint8_t *)k.mv_data)[0] == sig) {
            uint64_t t = tg_be64_get((const uint8_t *)k.mv_data + 1);
            if (!*oldest || t < *oldest)
                *oldest = t;
        }
        /* ...and its last key the newest start, whose value is its end (a
         * record that started earlier and ended later is rare and short). */
        k = (MDB_val){1, hi};
        rc = sig + 1 < TG_SIGNAL_COUNT ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                                       : MDB_NOTFOUND;
        rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
                     : mdb_cursor_get(cur, &k, &v, MDB_LAST);
        if (rc == 0 && k.mv_size == 17 && ((const uint8_t *)k.mv_data)[0] == sig &&
            v.mv_size == 8) {
            uint64_t t = tg_be64_get(v.mv_data);
            if (t > *newest)
                *newest = t;
        }
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return 0;
}
