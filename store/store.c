/* The store's environment and its write path: open, format check, group
 * write with map growth. Retention is in store_retention.c, reads in
 * store_read.c.
 *
 * Durability: without no_sync, mdb_txn_commit() writes the dirty pages,
 * fdatasyncs them, then writes and syncs the meta page. A write that
 * returned 0 survives a crash or power loss (given honest disk flushes). */
#include "store_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tg_err.h"
#include "tg_log.h"
#include "tg_time.h"

/* LMDB needs a few pages for its meta and database roots; below this it
 * cannot even create the named databases. */
#define MIN_MAP_SIZE (64u << 10)
/* Retries after MDB_MAP_FULL before giving up: each doubles the map. */
#define MAX_GROW_RETRIES 24

static const char *const signal_keys[TG_SIGNAL_COUNT] = {"traces", "logs", "metrics"};

void tg_store_options_default(tg_store_options *o)
{
    memset(o, 0, sizeof(*o));
    o->initial_map_size = (uint64_t)256 << 20;
    o->zstd_level = 1;
}

int tg_store__mdb_err(int rc)
{
    if (rc == 0)
        return 0;
    if (rc == ENOMEM)
        return TG_ENOMEM;
    if (rc == MDB_VERSION_MISMATCH || rc == MDB_INVALID)
        return TG_EVERSION;
    return TG_ESTORE;
}

static uint64_t wall_clock(void *ctx)
{
    (void)ctx;
    return tg_wall_ns() / 1000000000u;
}

void tg_store_set_clock(tg_store *st, tg_store_clock_fn fn, void *ctx)
{
    pthread_mutex_lock(&st->write_lock);
    st->clock = fn ? fn : wall_clock;
    st->clock_ctx = fn ? ctx : NULL;
    pthread_mutex_unlock(&st->write_lock);
}

uint64_t tg_store__now(tg_store *st)
{
    return st->clock(st->clock_ctx);
}

/* --- meta ----------------------------------------------------------------- */

static int meta_get(tg_store *st, MDB_txn *txn, const char *name, uint64_t *out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, st->db_meta, &k, &v);

    if (rc == MDB_NOTFOUND) {
        *out = 0;
        return 0;
    }
    if (rc)
        return rc;
    if (v.mv_size != 8)
        return MDB_CORRUPTED;
    *out = tg_be64_get(v.mv_data);
    return 0;
}

static int meta_put(tg_store *st, MDB_txn *txn, const char *name, uint64_t val)
{
    uint8_t buf[8];
    MDB_val k = {strlen(name), (void *)name}, v = {8, buf};

    tg_be64_put(buf, val);
    return mdb_put(txn, st->db_meta, &k, &v, 0);
}

int tg_store__meta_add(tg_store *st, MDB_txn *txn, const char *name, uint64_t delta)
{
    uint64_t cur;
    int rc = meta_get(st, txn, name, &cur);

    return rc ? rc : meta_put(st, txn, name, cur + delta);
}

/* The meta key names of the per-signal totals: "<what>.<signal>". */
static void sig_key(char *buf, size_t cap, const char *what, int sig)
{
    snprintf(buf, cap, "%s.%s", what, signal_keys[sig]);
}

int tg_store__totals_load(tg_store *st, MDB_txn *txn, tg_store_totals *t)
{
    char key[48];
    int rc;

    memset(t, 0, sizeof(*t));
    if ((rc = meta_get(st, txn, TG_STORE_META_NEXT_SEQ, &t->next_seq)) ||
        (rc = meta_get(st, txn, "records", &t->records)) ||
        (rc = meta_get(st, txn, "bytes", &t->record_bytes)) ||
        (rc = meta_get(st, txn, "raw_bytes", &t->raw_bytes)) ||
        (rc = meta_get(st, txn, "evictions", &t->evicted_records)) ||
        (rc = meta_get(st, txn, "expirations", &t->expired_records)))
        return rc;
    for (int s = 0; s < TG_SIGNAL_COUNT; s++) {
        sig_key(key, sizeof(key), "items", s);
        if ((rc = meta_get(st, txn, key, &t->items[s])))
            return rc;
        sig_key(key, sizeof(key), "evicted_items", s);
        if ((rc = meta_get(st, txn, key, &t->evicted_items[s])))
            return rc;
        sig_key(key, sizeof(key), "max_span", s);
        if ((rc = meta_get(st, txn, key, &t->max_span[s])))
            return rc;
    }
    if (t->next_seq == 0)
        t->next_seq = 1;
    return 0;
}

int tg_store__totals_save(tg_store *st, MDB_txn *txn, const tg_store_totals *t)
{
    char key[48];
    int rc;

    if ((rc = meta_put(st, txn, TG_STORE_META_NEXT_SEQ, t->next_seq)) ||
        (rc = meta_put(st, txn, "records", t->records)) ||
        (rc = meta_put(st, txn, "bytes", t->record_bytes)) ||
        (rc = meta_put(st, txn, "raw_bytes", t->raw_bytes)) ||
        (rc = meta_put(st, txn, "evictions", t->evicted_records)) ||
        (rc = meta_put(st, txn, "expirations", t->expired_records)))
        return rc;
    for (int s = 0; s < TG_SIGNAL_COUNT; s++) {
        sig_key(key, sizeof(key), "items", s);
        if ((rc = meta_put(st, txn, key, t->items[s])))
            return rc;
        sig_key(key, sizeof(key), "evicted_items", s);
        if ((rc = meta_put(st, txn, key, t->evicted_items[s])))
            return rc;
        sig_key(key, sizeof(key), "max_span", s);
        if ((rc = meta_put(st, txn, key, t->max_span[s])))
            return rc;
    }
    return 0;
}

/* --- record encoding -------------------------------------------------------- */

int tg_rec_parse(const uint8_t *v, size_t len, tg_rec_view *out)
{
    uint32_t trace_off, svc_off, payload_off, hdr;
    unsigned format;
    size_t p;

    if (len < TG_REC_HDR_LEN_V1 || tg_be32_get(v) != TG_REC_MAGIC ||
        v[6] >= TG_SIGNAL_COUNT)
        return TG_ESTORE;
    format = tg_be16_get(v + 4);
    if (format == 1)
        hdr = TG_REC_HDR_LEN_V1;
    else if (format == TG_REC_FORMAT && len >= TG_REC_HDR_LEN)
        hdr = TG_REC_HDR_LEN;
    else
        return TG_ESTORE;
    out->signal = (enum tg_signal)v[6];
    out->ingest_sec = tg_be64_get(v + 8);
    out->t_min = tg_be64_get(v + 16);
    out->t_max = tg_be64_get(v + 24);
    out->items = tg_be64_get(v + 32);
    out->raw_len = tg_be32_get(v + 40);
    out->comp_len = tg_be32_get(v + 44);
    out->n_trace = tg_be32_get(v + 48);
    out->n_svc = tg_be32_get(v + 52);
    trace_off = tg_be32_get(v + 56);
    svc_off = tg_be32_get(v + 60);
    payload_off = tg_be32_get(v + 64);
    out->cls_len = format == 1 ? 0 : tg_be32_get(v + 68);
    out->expiry_sec = format == 1 ? 0 : tg_be64_get(v + 72);
    if (trace_off != hdr || svc_off < trace_off ||
        (uint64_t)svc_off - trace_off != (uint64_t)out->n_trace * 16 ||
        payload_off < svc_off || payload_off > len ||
        payload_off - svc_off < out->cls_len ||
        (uint64_t)len - payload_off != out->comp_len)
        return TG_ESTORE;
    /* The services block must hold exactly n_svc length-prefixed names,
     * and the classification fill the rest up to the frame. */
    p = svc_off;
    for (uint32_t i = 0; i < out->n_svc; i++) {
        if (payload_off - out->cls_len - p < 2)
            return TG_ESTORE;
        p += 2 + (size_t)tg_be16_get(v + p);
        if (p > payload_off - out->cls_len)
            return TG_ESTORE;
    }
    if (p != payload_off - out->cls_len)
        return TG_ESTORE;
    out->trace_ids = v + trace_off;
    out->services = v + svc_off;
    out->cls = out->cls_len ? v + p : NULL;
    out->payload = v + payload_off;
    out->keys_end = payload_off;
    return 0;
}

size_t tg_store__svc_key(uint8_t *buf, enum tg_signal sig, const char *name, size_t len,
                         uint64_t seq)
{
    if (len > TG_STORE_SVC_KEY_MAX)
        len = TG_STORE_SVC_KEY_MAX;
    buf[0] = (uint8_t)sig;
    memcpy(buf + 1, name, len);
    buf[1 + len] = 0;
    tg_be64_put(buf + 2 + len, seq);
    return len + 10;
}

/* A service is indexed unless it cannot be: a NUL inside would make its
 * by_svc key ambiguous. */
static int svc_indexable(const tg_slice *s)
{
    return s->len <= TG_STORE_SVC_MAX && (s->len == 0 || !memchr(s->ptr, 0, s->len));
}

/* Header, index keys and classification: everything before the frame. */
static size_t rec_keys_size(const tg_store_record *r)
{
    const tg_otlp_index *ix = r->index;
    size_t n = (size_t)TG_REC_HDR_LEN + ix->n_trace_ids * 16 + (r->cls ? r->cls_len : 0);

    for (size_t i = 0; i < ix->n_services; i++)
        if (svc_indexable(&ix->services[i]))
            n += 2 + ix->services[i].len;
    return n;
}

/* When a record written at `now` with `retention_sec` expires, or 0 when
 * the store's age limit (or nothing) ends it first. */
static uint64_t rec_expiry(const tg_store *st, uint64_t now, uint64_t retention_sec)
{
    if (!retention_sec || (st->opt.max_age_sec && retention_sec >= st->opt.max_age_sec))
        return 0;
    return now + retention_sec;
}

static int stage_reserve(tg_store *st, size_t n, size_t bytes)
{
    if (n > st->stage_n_cap) {
        size_t *o = realloc(st->stage_off, n * sizeof(*o));
        if (!o)
            return TG_ENOMEM;
        st->stage_off = o;
        size_t *l = realloc(st->stage_len, n * sizeof(*l));
        if (!l)
            return TG_ENOMEM;
        st->stage_len = l;
        st->stage_n_cap = n;
    }
    if (bytes > st->stage_cap) {
        size_t cap = st->stage_cap ? st->stage_cap : 1 << 20;
        while (cap < bytes)
            cap *= 2;
        uint8_t *b = realloc(st->stage, cap);
        if (!b)
            return TG_ENOMEM;
        st->stage = b;
        st->stage_cap = cap;
    }
    return 0;
}

/* Builds every record's value (header, keys, zstd frame) in st->stage
 * before any transaction starts, so compression never runs while LMDB's
 * write lock is held and a retry after map growth does not recompress. */
static int stage_records(tg_store *st, const tg_store_record *recs, size_t n,
                         uint64_t now)
{
    size_t total = 0, off = 0;
    int rc;

    for (size_t i = 0; i < n; i++) {
        const tg_store_record *r = &recs[i];
        if ((unsigned)r->signal >= TG_SIGNAL_COUNT || !r->index ||
            (r->len && !r->data && !r->zdata) || (r->zdata && !r->zlen) ||
            r->len > UINT32_MAX || ZSTD_compressBound(r->len) > UINT32_MAX ||
            r->zlen > UINT32_MAX || (r->index->n_trace_ids && !r->index->trace_ids) ||
            (r->index->n_services && !r->index->services) ||
            r->index->n_trace_ids > (UINT32_MAX - TG_REC_HDR_LEN) / 16 ||
            (r->cls_len && !r->cls) || r->cls_len > UINT32_MAX / 2)
            return TG_EINVAL;
        total += rec_keys_size(r) + (r->zdata ? r->zlen : ZSTD_compressBound(r->len));
    }
    if ((rc = stage_reserve(st, n, total)))
        return rc;

    for (size_t i = 0; i < n; i++) {
        const tg_store_record *r = &recs[i];
        const tg_otlp_index *ix = r->index;
        uint8_t *v = st->stage + off;
        size_t keys = rec_keys_size(r), p, z;
        size_t cls_len = r->cls ? r->cls_len : 0;
        uint32_t n_svc = 0;

        if (keys > UINT32_MAX)
            return TG_EINVAL;
        p = TG_REC_HDR_LEN;
        for (size_t k = 0; k < ix->n_trace_ids; k++, p += 16)
            memcpy(v + p, ix->trace_ids[k], 16);
        for (size_t k = 0; k < ix->n_services; k++) {
            const tg_slice *s = &ix->services[k];
            if (!svc_indexable(s))
                continue;
            tg_be16_put(v + p, (uint16_t)s->len);
            if (s->len)
                memcpy(v + p + 2, s->ptr, s->len);
            p += 2 + s->len;
            n_svc++;
        }
        if (cls_len)
            memcpy(v + p, r->cls, cls_len);
        if (r->zdata) {
            memcpy(v + keys, r->zdata, r->zlen);
            z = r->zlen;
        } else {
            z = ZSTD_compressCCtx(st->cctx, v + keys, ZSTD_compressBound(r->len), r->data,
                                  r->len, st->opt.zstd_level);
        }
        if (ZSTD_isError(z)) {
            tg_error("store compression failed", "err=\"%s\"", ZSTD_getErrorName(z));
            return TG_ESTORE;
        }
        tg_be32_put(v, TG_REC_MAGIC);
        tg_be16_put(v + 4, TG_REC_FORMAT);
        v[6] = (uint8_t)r->signal;
        v[7] = 0;
        tg_be64_put(v + 8, now);
        tg_be64_put(v + 16, ix->t_min);
        tg_be64_put(v + 24, ix->t_max);
        tg_be64_put(v + 32, ix->items);
        tg_be32_put(v + 40, (uint32_t)r->len);
        tg_be32_put(v + 44, (uint32_t)z);
        tg_be32_put(v + 48, (uint32_t)ix->n_trace_ids);
        tg_be32_put(v + 52, n_svc);
        tg_be32_put(v + 56, TG_REC_HDR_LEN);
        tg_be32_put(v + 60, (uint32_t)(TG_REC_HDR_LEN + ix->n_trace_ids * 16));
        tg_be32_put(v + 64, (uint32_t)keys);
        tg_be32_put(v + 68, (uint32_t)cls_len);
        tg_be64_put(v + 72, rec_expiry(st, now, r->retention_sec));
        st->stage_off[i] = off;
        st->stage_len[i] = keys + z;
        off += keys + z;
    }
    return 0;
}

/* Inserts one staged record and its index keys. */
static int put_record(tg_store *st, MDB_txn *txn, const uint8_t *v, size_t len,
                      uint64_t seq, tg_store_totals *t, const char *rclass)
{
    uint8_t kbuf[10 + TG_STORE_SVC_KEY_MAX], tmax[8];
    MDB_val k, d;
    tg_rec_view rv;
    const uint8_t *sp;
    int rc;

    if (tg_rec_parse(v, len, &rv))
        return MDB_CORRUPTED; /* cannot happen: we just built it */
    tg_be64_put(kbuf, seq);
    k = (MDB_val){8, kbuf};
    d = (MDB_val){len, (void *)v};
    if ((rc = mdb_put(txn, st->db_records, &k, &d, MDB_APPEND)))
        return rc;

    if (rv.n_trace) {
        size_t flen = tg_store__tfilter_len(rv.n_trace);

        tg_be64_put(kbuf, seq);
        k = (MDB_val){8, kbuf};
        d = (MDB_val){flen, NULL};
        /* MDB_RESERVE: the filter is built in the page it will live in. */
        if ((rc = mdb_put(txn, st->db_tfilter, &k, &d, MDB_APPEND | MDB_RESERVE)))
            return rc;
        tg_store__tfilter_build(rv.trace_ids, rv.n_trace, d.mv_data, flen);
    }

    kbuf[0] = (uint8_t)rv.signal;
    tg_be64_put(kbuf + 1, rv.t_min);
    tg_be64_put(kbuf + 9, seq);
    tg_be64_put(tmax, rv.t_max);
    k = (MDB_val){17, kbuf};
    d = (MDB_val){8, tmax};
    if ((rc = mdb_put(txn, st->db_time, &k, &d, 0)))
        return rc;

    d = (MDB_val){0, NULL};
    sp = rv.services;
    for (uint32_t i = 0; i < rv.n_svc; i++) {
        size_t sl = tg_be16_get(sp);
        k.mv_size = tg_store__svc_key(kbuf, rv.signal, (const char *)sp + 2, sl, seq);
        k.mv_data = kbuf;
        if ((rc = mdb_put(txn, st->db_svc, &k, &d, 0)))
            return rc;
        sp += 2 + sl;
    }

    if (rv.expiry_sec) {
        tg_be64_put(kbuf, rv.expiry_sec);
        tg_be64_put(kbuf + 8, seq);
        k = (MDB_val){16, kbuf};
        /* the expiry key's value names the class, for the deletion count */
        d = (MDB_val){rclass ? strnlen(rclass, 63) : 0, (void *)rclass};
        if ((rc = mdb_put(txn, st->db_expiry, &k, &d, 0)))
            return rc;
    }

    t->records++;
    t->record_bytes += len;
    t->raw_bytes += rv.raw_len;
    t->items[rv.signal] += rv.items;
    if (rv.t_max > rv.t_min && rv.t_max - rv.t_min > t->max_span[rv.signal])
        t->max_span[rv.signal] = rv.t_max - rv.t_min;
    return 0;
}

/* One attempt at the whole transaction; returns an MDB code so the caller
 * can tell MDB_MAP_FULL apart. */
static int write_txn(tg_store *st, size_t n, uint64_t now, uint64_t *seqs)
{
    MDB_txn *txn;
    tg_store_totals t;
    uint64_t first;
    size_t evicted = 0;
    int rc, more;

    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)))
        return rc;
    if ((rc = tg_store__totals_load(st, txn, &t)))
        goto fail;
    first = t.next_seq;
    for (size_t i = 0; i < n; i++) {
        rc = put_record(st, txn, st->stage + st->stage_off[i], st->stage_len[i],
                        t.next_seq, &t,
                        st->stage_recs ? st->stage_recs[i].retention_class : NULL);
        if (rc)
            goto fail;
        t.next_seq++;
    }
    /* A capped eviction resumes at the next write or tg_store_evict(). */
    rc = tg_store__retain(st, txn, &t, now, first, &evicted, &more);
    if (rc)
        goto fail;
    if ((rc = tg_store__tblocks_update(st, txn, t.next_seq)))
        goto fail;
    if ((rc = tg_store__totals_save(st, txn, &t)))
        goto fail;
    /* The durable point: with sync on, LMDB fsyncs data then meta here. */
    if ((rc = mdb_txn_commit(txn)))
        return rc;
    if (seqs)
        for (size_t i = 0; i < n; i++)
            seqs[i] = first + i;
    return 0;
fail:
    mdb_txn_abort(txn);
    return rc;
}

int tg_store__grow(tg_store *st, size_t need)
{
    MDB_envinfo info;
    uint64_t old, size;
    long pg = sysconf(_SC_PAGESIZE);
    int rc;

    if (pg <= 0)
        pg = 4096;
    mdb_env_info(st->env, &info);
    old = info.me_mapsize;
    size = old * 2;
    if (size < old + (uint64_t)need * 2)
        size = old + (uint64_t)need * 2;
    size = (size + (uint64_t)pg - 1) / (uint64_t)pg * (uint64_t)pg;
    if (st->opt.max_map_size && size > st->opt.max_map_size) {
        /* The operator's ceiling: full is full (on_full decides). */
        if (old >= st->opt.max_map_size)
            return TG_ETOO_BIG;
        size = st->opt.max_map_size;
    }

    pthread_rwlock_wrlock(&st->map_lock);
    rc = mdb_env_set_mapsize(st->env, (size_t)size);
    pthread_rwlock_unlock(&st->map_lock);
    if (rc) {
        tg_error("store map growth failed", "from=%llu to=%llu err=\"%s\"",
                 (unsigned long long)old, (unsigned long long)size, mdb_strerror(rc));
        return tg_store__mdb_err(rc);
    }
    atomic_fetch_add(&st->map_grows, 1);
    tg_info("store map grown", "from=%llu to=%llu", (unsigned long long)old,
            (unsigned long long)size);
    return 0;
}

static void set_failing(tg_store *st, const char *why)
{
    pthread_mutex_lock(&st->fail_mu);
    if (why)
        snprintf(st->fail_why, sizeof(st->fail_why), "%s", why);
    pthread_mutex_unlock(&st->fail_mu);
    atomic_store(&st->failing, why != NULL);
}

/* Why an MDB or errno code stops writes, for /readyz. */
static void fail_for(tg_store *st, int mrc)
{
    char why[200];

    if (mrc == ENOSPC)
        snprintf(why, sizeof(why), "disk full (writing %s)", st->data_path);
    else if (mrc == EIO)
        snprintf(why, sizeof(why), "I/O error writing or syncing %s", st->data_path);
    else
        snprintf(why, sizeof(why), "write failed: %s", mdb_strerror(mrc));
    set_failing(st, why);
}

/* The store is full (map at max_map_size, or no room on disk). With
 * evict-oldest, makes room by evicting old records (never younger than the
 * floor) and returns 1 to retry the write; else records why and returns 0. */
static int make_room(tg_store *st, uint64_t now, size_t staged, int mrc_full)
{
    size_t n = 0;
    int mrc = 0;
    char why[200];

    if (st->opt.on_full == TG_STORE_ON_FULL_EVICT_OLDEST) {
        mrc = tg_store__evict_oldest(st, now, st->opt.evict_floor_sec, staged * 2 + 65536,
                                     &n);
        if (mrc == MDB_MAP_FULL) {
            /* Deleting copies pages too: a map exactly full cannot even
             * evict. 4 MiB past the ceiling (at most, ever) lets it. */
            MDB_envinfo info;
            size_t room = (size_t)st->opt.max_map_size + ((size_t)4 << 20);
            mdb_env_info(st->env, &info);
            if (info.me_mapsize < room) {
                pthread_rwlock_wrlock(&st->map_lock);
                mdb_env_set_mapsize(st->env, room);
                pthread_rwlock_unlock(&st->map_lock);
            }
            mrc = tg_store__evict_oldest(st, now, st->opt.evict_floor_sec,
                                         staged * 2 + 65536, &n);
        }
        if (mrc == 0 && n > 0) {
            atomic_fetch_add(&st->full_evictions, n);
            tg_warn("store full: evicted the oldest records to make room",
                    "records=%zu floor_s=%llu", n,
                    (unsigned long long)st->opt.evict_floor_sec);
            return 1;
        }
    }
    atomic_fetch_add(&st->full_refusals, 1);
    if (mrc_full == ENOSPC)
        snprintf(why, sizeof(why), "store full: the disk holding %s is full%s",
                 st->data_path,
                 st->opt.on_full == TG_STORE_ON_FULL_EVICT_OLDEST
                     ? " and nothing is older than store.evict_floor"
                     : "; store.on_full is refuse");
    else
        snprintf(why, sizeof(why),
                 "store full: the map is at store.max_map_size (%llu bytes)%s",
                 (unsigned long long)st->opt.max_map_size,
                 st->opt.on_full == TG_STORE_ON_FULL_EVICT_OLDEST
                     ? " and nothing is older than store.evict_floor"
                     : "; store.on_full is refuse");
    set_failing(st, why);
    return 0;
}

int tg_store_write(tg_store *st, const tg_store_record *recs, size_t n, uint64_t *seqs)
{
    uint64_t now;
    size_t staged = 0;
    int rc;

    if (!st || (n && !recs))
        return TG_EINVAL;
    if (n == 0)
        return 0;
    pthread_mutex_lock(&st->write_lock);
    now = tg_store__now(st);
    st->stage_recs = recs;
    if ((rc = stage_records(st, recs, n, now)))
        goto out;
    for (size_t i = 0; i < n; i++)
        staged += st->stage_len[i];
    for (int attempt = 0, roomed = 0;; attempt++) {
        int mrc = write_txn(st, n, now, seqs);
        if (mrc == 0) {
            if (atomic_load(&st->failing))
                set_failing(st, NULL);
            rc = 0;
            break;
        }
        if (mrc != MDB_MAP_FULL && !(mrc == ENOSPC && st->opt.on_full)) {
            tg_error("store write failed", "records=%zu err=\"%s\"", n,
                     mdb_strerror(mrc));
            fail_for(st, mrc);
            rc = tg_store__mdb_err(mrc);
            break;
        }
        if (attempt == MAX_GROW_RETRIES + 16) {
            rc = TG_ESTORE;
            break;
        }
        rc = mrc == MDB_MAP_FULL ? tg_store__grow(st, staged) : TG_ETOO_BIG;
        if (rc == TG_ETOO_BIG) {
            if (roomed++ < 16 && make_room(st, now, staged, mrc))
                continue;
            rc = TG_ESTORE;
            break;
        }
        if (rc)
            break;
    }
out:
    pthread_mutex_unlock(&st->write_lock);
    return rc;
}

int tg_store_writable(tg_store *st, char *why, size_t len)
{
    if (!atomic_load(&st->failing))
        return 1;
    pthread_mutex_lock(&st->fail_mu);
    snprintf(why, len, "%s", st->fail_why);
    pthread_mutex_unlock(&st->fail_mu);
    return 0;
}

int tg_store_probe(tg_store *st)
{
    MDB_txn *txn;
    uint8_t b[8];
    MDB_val k = {5, (void *)"probe"}, v = {8, b};
    int rc;

    pthread_mutex_lock(&st->write_lock);
    tg_be64_put(b, tg_store__now(st));
    rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc == 0 && (rc = mdb_put(txn, st->db_meta, &k, &v, 0)) != 0)
        mdb_txn_abort(txn);
    else if (rc == 0)
        rc = mdb_txn_commit(txn);
    /* A probe that fits says only that the disk and fsync work: a store
     * full by its ceiling stays failing until a write gets in. */
    if (rc)
        fail_for(st, rc);
    else if (!st->opt.max_map_size || !st->fail_why[0] ||
             strncmp(st->fail_why, "store full", 10) != 0)
        set_failing(st, NULL);
    pthread_mutex_unlock(&st->write_lock);
    return tg_store__mdb_err(rc);
}

uint64_t tg_store_full_evictions(tg_store *st)
{
    return atomic_load(&st->full_evictions);
}

uint64_t tg_store_full_refusals(tg_store *st)
{
    return atomic_load(&st->full_refusals);
}

/* --- open and close -------------------------------------------------------- */

static int open_dbs(tg_store *st)
{
    MDB_txn *txn;
    MDB_stat ms;
    uint64_t format;
    int rc;

    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)))
        return tg_store__mdb_err(rc);
    if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &st->db_meta)) ||
        (rc = mdb_dbi_open(txn, "records", MDB_CREATE, &st->db_records)) ||
        (rc = mdb_dbi_open(txn, "by_trace", MDB_CREATE, &st->db_trace)) ||
        (rc = mdb_dbi_open(txn, "by_trace_filter", MDB_CREATE, &st->db_tfilter)) ||
        (rc = mdb_dbi_open(txn, "by_trace_block", MDB_CREATE, &st->db_tblock)) ||
        (rc = mdb_dbi_open(txn, "by_time", MDB_CREATE, &st->db_time)) ||
        (rc = mdb_dbi_open(txn, "by_svc", MDB_CREATE, &st->db_svc)) ||
        (rc = mdb_dbi_open(txn, "by_expiry", MDB_CREATE, &st->db_expiry)) ||
        (rc = meta_get(st, txn, TG_STORE_META_FORMAT, &format)) ||
        (rc = mdb_stat(txn, st->db_records, &ms)))
        goto fail;
    if ((format == 0 && ms.ms_entries == 0) || format == 1) {
        /* A fresh store is stamped so a future format can recognise it. A
         * format-1 store is upgraded: its records stay readable as they
         * are (no classification, no expiry); new ones are written in
         * the current format. */
        if (format == 1)
            tg_info("store format upgraded", "from=1 to=%d", TG_STORE_FORMAT_VERSION);
        if ((rc = meta_put(st, txn, TG_STORE_META_FORMAT, TG_STORE_FORMAT_VERSION)))
            goto fail;
    } else if (format != TG_STORE_FORMAT_VERSION) {
        mdb_txn_abort(txn);
        tg_error("store format mismatch", "found=%llu want=%d",
                 (unsigned long long)format, TG_STORE_FORMAT_VERSION);
        return TG_EVERSION;
    }
    if ((rc = mdb_stat(txn, st->db_trace, &ms)))
        goto fail;
    st->has_old_trace_index = ms.ms_entries > 0;
    if ((rc = meta_get(st, txn, TG_STORE_META_NEXT_SEQ, &st->tblock_base)))
        goto fail;
    if ((rc = mdb_txn_commit(txn)))
        return tg_store__mdb_err(rc);
    return 0;
fail:
    mdb_txn_abort(txn);
    tg_error("store open failed", "err=\"%s\"", mdb_strerror(rc));
    return tg_store__mdb_err(rc);
}

tg_store *tg_store_open(const char *dir, const tg_store_options *opt, int *err)
{
    tg_store *st;
    pthread_rwlockattr_t ra;
    unsigned flags = MDB_NOTLS;
    size_t plen;
    int rc;

    if (err)
        *err = 0;
    if (!dir) {
        if (err)
            *err = TG_EINVAL;
        return NULL;
    }
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        tg_error("store directory", "errno=%d", errno);
        if (err)
            *err = TG_EIO;
        return NULL;
    }
    st = calloc(1, sizeof(*st));
    if (!st) {
        if (err)
            *err = TG_ENOMEM;
        return NULL;
    }
    if (opt)
        st->opt = *opt;
    else
        tg_store_options_default(&st->opt);
    if (st->opt.initial_map_size == 0)
        st->opt.initial_map_size = (uint64_t)256 << 20;
    else if (st->opt.initial_map_size < MIN_MAP_SIZE)
        st->opt.initial_map_size = MIN_MAP_SIZE;
    if (st->opt.max_map_size && st->opt.max_map_size < st->opt.initial_map_size)
        st->opt.initial_map_size =
            st->opt.max_map_size < MIN_MAP_SIZE ? MIN_MAP_SIZE : st->opt.max_map_size;
    if (st->opt.zstd_level == 0)
        st->opt.zstd_level = 1;
    st->clock = wall_clock;
    atomic_init(&st->map_grows, 0);
    atomic_init(&st->full_evictions, 0);
    atomic_init(&st->full_refusals, 0);
    atomic_init(&st->failing, 0);
    pthread_mutex_init(&st->fail_mu, NULL);

    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&st->map_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&st->write_lock, NULL);

    plen = strlen(dir) + sizeof("/data.mdb");
    st->data_path = malloc(plen);
    st->cctx = ZSTD_createCCtx();
    if (!st->data_path || !st->cctx) {
        rc = TG_ENOMEM;
        goto fail;
    }
    snprintf(st->data_path, plen, "%s/data.mdb", dir);

    if (st->opt.no_sync)
        flags |= MDB_NOSYNC;
    if ((rc = mdb_env_create(&st->env))) {
        rc = tg_store__mdb_err(rc);
        goto fail;
    }
    if ((rc = mdb_env_set_maxdbs(st->env, 8)) ||
        (rc = mdb_env_set_maxreaders(st->env, 256)) ||
        (rc = mdb_env_set_mapsize(st->env, (size_t)st->opt.initial_map_size)) ||
        (rc = mdb_env_open(st->env, dir, flags, 0640))) {
        tg_error("store open failed", "err=\"%s\"", mdb_strerror(rc));
        rc = tg_store__mdb_err(rc);
        goto fail;
    }
    /* Reader slots left by a crashed process would pin old pages forever. */
    int dead = 0;
    mdb_reader_check(st->env, &dead);
    if (dead)
        tg_warn("store cleared stale readers", "count=%d", dead);
    if ((rc = open_dbs(st)))
        goto fail;
    return st;
fail:
    if (err)
        *err = rc;
    tg_store_close(st);
    return NULL;
}

int tg_store_trim_resident(tg_store *st)
{
    /* LMDB does not hand out its map address (mdb_env_info's me_mapaddr is
     * only set with MDB_FIXEDMAP), so find the data file's mappings in
     * /proc/self/maps. Once a second, a small file: cheap. */
    char line[4352], real[4096];
    FILE *f;
    int rc = 0;

    if (!st->data_path || !realpath(st->data_path, real))
        return TG_EIO;
    /* Shared: a concurrent map resize must not unmap the range under us. */
    pthread_rwlock_rdlock(&st->map_lock);
    f = fopen("/proc/self/maps", "r");
    if (!f) {
        pthread_rwlock_unlock(&st->map_lock);
        return TG_EIO;
    }
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char *path = strchr(line, '/');
        size_t n;

        if (!path || sscanf(line, "%lx-%lx", &lo, &hi) != 2)
            continue;
        n = strlen(path);
        if (n && path[n - 1] == '\n')
            path[--n] = '\0';
        if (strcmp(path, real) != 0)
            continue;
        if (madvise((void *)lo, hi - lo, MADV_DONTNEED) != 0)
            rc = TG_EIO;
    }
    fclose(f);
    pthread_rwlock_unlock(&st->map_lock);
    return rc;
}

void tg_store_close(tg_store *st)
{
    if (!st)
        return;
    if (st->env)
        mdb_env_close(st->env);
    ZSTD_freeCCtx(st->cctx);
    free(st->stage);
    free(st->stage_off);
    free(st->stage_len);
    free(st->evbuf);
    free(st->tblock_ids);
    free(st->data_path);
    pthread_mutex_destroy(&st->write_lock);
    pthread_mutex_destroy(&st->fail_mu);
    pthread_rwlock_destroy(&st->map_lock);
    free(st);
}
