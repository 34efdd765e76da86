/* Retention, two kinds.
 *
 * Class retention: a record carrying data classes with a local retention
 * (the residency policy's `retention:`) was written with an expiry, and a
 * by_expiry key orders those records by it; every record whose expiry has
 * passed is deleted, whatever its age relative to others.
 *
 * Store retention: the store drops its oldest records, lowest seq first,
 * while it is over its size budget or they are older than the age limit.
 * Records are written in seq order with a non-decreasing ingest time, so
 * the oldest by either measure is always the first record: eviction never
 * searches. (If the wall clock steps back, a later record can be older
 * than an earlier one; it is then evicted when its predecessors are, a
 * little late.) */
#include "store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "tg_err.h"
#include "tg_log.h"

static int del_key(MDB_txn *txn, MDB_dbi dbi, const uint8_t *key, size_t len)
{
    MDB_val k = {len, (void *)key};
    int rc = mdb_del(txn, dbi, &k, NULL);

    /* The same key twice in one record's index (a duplicated trace id)
     * was one LMDB entry: the second delete finds nothing. */
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Deletes the record under the cursor and the index keys its header
 * lists. The header is copied first: the value points into pages the
 * deletes may touch. */
static int evict_current(tg_store *st, MDB_txn *txn, MDB_cursor *cur, uint64_t seq,
                         const MDB_val *val, tg_store_totals *t, size_t *keys)
{
    uint8_t kbuf[10 + TG_STORE_SVC_KEY_MAX];
    tg_rec_view rv;
    const uint8_t *sp;
    size_t keys_len;
    int rc;

    if (tg_rec_parse(val->mv_data, val->mv_size, &rv)) {
        /* Without a header the index keys cannot be found; the reads skip
         * keys whose record is gone, so dropping the record is safe. */
        tg_warn("store evicting corrupt record", "seq=%llu", (unsigned long long)seq);
        if ((rc = mdb_cursor_del(cur, 0)))
            return rc;
        t->records = t->records ? t->records - 1 : 0;
        t->record_bytes -=
            t->record_bytes < val->mv_size ? t->record_bytes : val->mv_size;
        t->evicted_records++;
        return 0;
    }
    keys_len = rv.keys_end;
    if (keys_len > st->evbuf_cap) {
        size_t cap = keys_len < 4096 ? 4096 : keys_len;
        uint8_t *b = realloc(st->evbuf, cap);
        if (!b)
            return ENOMEM;
        st->evbuf = b;
        st->evbuf_cap = cap;
    }
    memcpy(st->evbuf, val->mv_data, keys_len);
    rv.trace_ids = st->evbuf + (rv.trace_ids - (const uint8_t *)val->mv_data);
    rv.services = st->evbuf + (rv.services - (const uint8_t *)val->mv_data);
    size_t rec_len = val->mv_size;

    if ((rc = mdb_cursor_del(cur, 0)))
        return rc;
    tg_be64_put(kbuf, seq);
    if ((rc = del_key(txn, st->db_tfilter, kbuf, 8)))
        return rc;
    if (st->has_old_trace_index) /* a store written before by_trace_filter */
        for (uint32_t i = 0; i < rv.n_trace; i++) {
            memcpy(kbuf, rv.trace_ids + 16 * (size_t)i, 16);
            tg_be64_put(kbuf + 16, seq);
            if ((rc = del_key(txn, st->db_trace, kbuf, 24)))
                return rc;
        }
    kbuf[0] = (uint8_t)rv.signal;
    tg_be64_put(kbuf + 1, rv.t_min);
    tg_be64_put(kbuf + 9, seq);
    if ((rc = del_key(txn, st->db_time, kbuf, 17)))
        return rc;
    if (rv.expiry_sec) {
        tg_be64_put(kbuf, rv.expiry_sec);
        tg_be64_put(kbuf + 8, seq);
        if ((rc = del_key(txn, st->db_expiry, kbuf, 16)))
            return rc;
    }
    sp = rv.services;
    for (uint32_t i = 0; i < rv.n_svc; i++) {
        size_t sl = tg_be16_get(sp);
        size_t kl = tg_store__svc_key(kbuf, rv.signal, (const char *)sp + 2, sl, seq);
        if ((rc = del_key(txn, st->db_svc, kbuf, kl)))
            return rc;
        sp += 2 + sl;
    }

    *keys += 1 + rv.n_trace + rv.n_svc;
    t->records = t->records ? t->records - 1 : 0;
    t->record_bytes -= t->record_bytes < rec_len ? t->record_bytes : rec_len;
    t->raw_bytes -= t->raw_bytes < rv.raw_len ? t->raw_bytes : rv.raw_len;
    t->items[rv.signal] -=
        t->items[rv.signal] < rv.items ? t->items[rv.signal] : rv.items;
    t->evicted_records++;
    t->evicted_items[rv.signal] += rv.items;
    return 0;
}

static int should_evict(const tg_store *st, const tg_store_totals *t, const MDB_val *val,
                        uint64_t now)
{
    uint64_t ingest;

    if (st->opt.max_bytes && t->record_bytes > st->opt.max_bytes)
        return 1;
    if (!st->opt.max_age_sec)
        return 0;
    if (val->mv_size < TG_REC_HDR_LEN_V1)
        return 1; /* corrupt: cannot date it, drop it */
    ingest = tg_be64_get((const uint8_t *)val->mv_data + 8);
    return ingest < now && now - ingest > st->opt.max_age_sec;
}

/* Deletes every record whose class retention has ended (expiry < now: like
 * the age limit, a record is kept for exactly its retention), earliest
 * expiry first, within the batch caps. */
/* The first entry of an eviction loop's table, re-read each round (the
 * eviction deletes it): 0 with *k and *v, or with *stop set when the loop
 * is done (the table empty; or the batch cap reached, then *more set too);
 * or an MDB code (MDB_CORRUPTED for a key of another size than ksize). */
static int first_to_evict(MDB_cursor *cur, MDB_val *k, MDB_val *v, size_t n, size_t keys,
                          size_t ksize, int *stop, int *more)
{
    int rc;

    *stop = 0;
    if (n >= TG_STORE_EVICT_BATCH || keys >= TG_STORE_EVICT_KEYS) {
        *more = 1;
        *stop = 1;
        return 0;
    }
    rc = mdb_cursor_get(cur, k, v, MDB_FIRST);
    if (rc == MDB_NOTFOUND) {
        *stop = 1;
        return 0;
    }
    if (rc == 0 && k->mv_size != ksize)
        rc = MDB_CORRUPTED;
    return rc;
}

static int expire(tg_store *st, MDB_txn *txn, MDB_cursor *cur, tg_store_totals *t,
                  uint64_t now, uint64_t keep_from, size_t *n, size_t *keys, int *more)
{
    MDB_cursor *ec;
    MDB_val k, v;
    int rc;

    if ((rc = mdb_cursor_open(txn, st->db_expiry, &ec)))
        return rc;
    for (;;) {
        uint8_t skey[8];
        MDB_val sk = {8, skey};
        uint64_t expiry, seq;
        char ckey[96];
        int stop;

        if ((rc = first_to_evict(ec, &k, &v, *n, *keys, 16, &stop, more)) || stop)
            break;
        expiry = tg_be64_get(k.mv_data);
        seq = tg_be64_get((const uint8_t *)k.mv_data + 8);
        /* The records just written stay: they are being acknowledged. */
        if (expiry >= now || seq >= keep_from)
            break;
        memcpy(skey, (const uint8_t *)k.mv_data + 8, 8);
        /* the class that set the expiry, before the eviction deletes its key */
        snprintf(ckey, sizeof(ckey), "%s%.*s", TG_STORE_META_EXPIRED_CLASS,
                 v.mv_size && v.mv_size < 64 ? (int)v.mv_size : 12,
                 v.mv_size && v.mv_size < 64 ? (const char *)v.mv_data : "(unrecorded)");
        rc = mdb_cursor_get(cur, &sk, &v, MDB_SET_KEY);
        if (rc == MDB_NOTFOUND) {
            /* Its record is gone already: drop the stale key. */
            if ((rc = mdb_cursor_del(ec, 0)))
                break;
            continue;
        }
        if (rc)
            break;
        /* (A corrupt header leaves its expiry key: the next round finds
         * the record gone and drops the key.) */
        if ((rc = evict_current(st, txn, cur, seq, &v, t, keys)))
            break;
        t->expired_records++;
        if ((rc = tg_store__meta_add(st, txn, ckey, 1)))
            break;
        (*n)++;
    }
    mdb_cursor_close(ec);
    return rc;
}

int tg_store__retain(tg_store *st, MDB_txn *txn, tg_store_totals *t, uint64_t now,
                     uint64_t keep_from, size_t *evicted, int *more)
{
    MDB_cursor *cur;
    MDB_val k, v;
    size_t n = 0, keys = 0;
    int rc;

    *evicted = 0;
    *more = 0;
    if ((rc = mdb_cursor_open(txn, st->db_records, &cur)))
        return rc;
    if ((rc = expire(st, txn, cur, t, now, keep_from, &n, &keys, more)) || *more ||
        (!st->opt.max_bytes && !st->opt.max_age_sec)) {
        mdb_cursor_close(cur);
        *evicted = n;
        return rc;
    }
    for (;;) {
        uint64_t seq;
        int stop;

        if ((rc = first_to_evict(cur, &k, &v, n, keys, 8, &stop, more)) || stop)
            break;
        seq = tg_be64_get(k.mv_data);
        /* The records just written stay even if alone they exceed the
         * budget: they are acknowledged to clients as stored. */
        if (seq >= keep_from || !should_evict(st, t, &v, now))
            break;
        if ((rc = evict_current(st, txn, cur, seq, &v, t, &keys)))
            break;
        n++;
    }
    mdb_cursor_close(cur);
    *evicted = n;
    return rc;
}

int tg_store__evict_oldest(tg_store *st, uint64_t now, uint64_t floor_sec, size_t want,
                           size_t *evicted)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    tg_store_totals t;
    size_t n = 0, keys = 0, freed = 0;
    int rc;

    *evicted = 0;
    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)))
        return rc;
    if ((rc = tg_store__totals_load(st, txn, &t)) ||
        (rc = mdb_cursor_open(txn, st->db_records, &cur))) {
        mdb_txn_abort(txn);
        return rc;
    }
    while (freed < want && n < TG_STORE_EVICT_BATCH && keys < TG_STORE_EVICT_KEYS) {
        uint64_t ingest;
        size_t len;

        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc)
            break;
        if (k.mv_size != 8 || v.mv_size < TG_REC_HDR_LEN_V1) {
            rc = MDB_CORRUPTED;
            break;
        }
        /* The floor: data younger than it is never given up for room. */
        ingest = tg_be64_get((const uint8_t *)v.mv_data + 8);
        if (ingest + floor_sec > now)
            break;
        len = v.mv_size;
        if ((rc = evict_current(st, txn, cur, tg_be64_get(k.mv_data), &v, &t, &keys)))
            break;
        freed += len;
        n++;
    }
    mdb_cursor_close(cur);
    if (rc || n == 0 || (rc = tg_store__totals_save(st, txn, &t))) {
        mdb_txn_abort(txn);
        return rc;
    }
    if ((rc = mdb_txn_commit(txn)))
        return rc;
    *evicted = n;
    return 0;
}

/* One eviction transaction; *more is set when the batch limit was hit. */
static int evict_txn(tg_store *st, uint64_t now, int *more)
{
    MDB_txn *txn;
    tg_store_totals t;
    size_t n = 0;
    int rc, capped = 0;

    *more = 0;
    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)))
        return rc;
    if ((rc = tg_store__totals_load(st, txn, &t)) ||
        (rc = tg_store__retain(st, txn, &t, now, UINT64_MAX, &n, &capped))) {
        mdb_txn_abort(txn);
        return rc;
    }
    if (n == 0) {
        mdb_txn_abort(txn);
        return 0;
    }
    if ((rc = tg_store__totals_save(st, txn, &t)))
        mdb_txn_abort(txn);
    else
        rc = mdb_txn_commit(txn);
    *more = rc == 0 && capped;
    return rc;
}

int tg_store_evict(tg_store *st, uint64_t now_unix_sec)
{
    int rc = 0, more = 1, grows = 0;

    if (!st)
        return TG_EINVAL;
    pthread_mutex_lock(&st->write_lock);
    while (more) {
        int mrc = evict_txn(st, now_unix_sec, &more);
        if (mrc == MDB_MAP_FULL && grows++ < 8) {
            /* Deleting copies pages too (copy-on-write), so even eviction
             * can fill a map that is exactly full. */
            if ((rc = tg_store__grow(st, 0)))
                break;
            more = 1;
            continue;
        }
        if (mrc) {
            tg_error("store eviction failed", "err=\"%s\"", mdb_strerror(mrc));
            rc = tg_store__mdb_err(mrc);
            break;
        }
    }
    pthread_mutex_unlock(&st->write_lock);
    return rc;
}
