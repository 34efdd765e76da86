/* Reading the store in commit order, for the forwarder: it tails the store
 * from a durable cursor (exporters/tg_forward.h says why). */
#include "store_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tg_err.h"
#include "tg_log.h"

/* The tail reads each record once, soon after it is written, and the map
 * is shared with the file: every page read stays mapped into the process,
 * and counted in its RSS, until the kernel wants it back (40-60 MiB after
 * ten seconds at saturation). Unmapping the pages just read leaves them in
 * the page cache; a later read faults them in again. Only for this
 * read-only, MAP_SHARED use: nothing is lost by dropping a mapping. */
static void drop_mapping(const void *p, size_t n)
{
    static long page;
    uintptr_t a, e;

    if (!page)
        page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || n == 0)
        return;
    a = (uintptr_t)p & ~(uintptr_t)(page - 1);
    e = ((uintptr_t)p + n + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
    (void)madvise((void *)a, e - a, MADV_DONTNEED);
}

int tg_store_read_after(tg_store *st, uint64_t after_seq, size_t limit,
                        tg_store_tail_cb cb, void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    uint8_t kbuf[8];
    MDB_val k = {8, kbuf}, v;
    ZSTD_DCtx *dctx = NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    int rc, mrc;

    if (!st || !cb)
        return TG_EINVAL;
    /* Not nested in another read on this thread: take the map lock
     * directly (see store_read.c for the nested case). */
    pthread_rwlock_rdlock(&st->map_lock);
    if ((mrc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))) {
        pthread_rwlock_unlock(&st->map_lock);
        return tg_store__mdb_err(mrc);
    }
    if ((mrc = mdb_cursor_open(txn, st->db_records, &cur))) {
        mdb_txn_abort(txn);
        pthread_rwlock_unlock(&st->map_lock);
        return tg_store__mdb_err(mrc);
    }
    tg_be64_put(kbuf, after_seq + 1);
    rc = 0;
    mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == 0 && (limit == 0 || n < limit)) {
        tg_rec_view rv;
        tg_store_item it;
        uint64_t seq;
        size_t got;
        int rv_stop;

        if (k.mv_size != 8)
            break;
        seq = tg_be64_get(k.mv_data);
        if (tg_rec_parse(v.mv_data, v.mv_size, &rv)) {
            tg_warn("store skipping corrupt record", "seq=%llu", (unsigned long long)seq);
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            continue;
        }
        if (!dctx && !(dctx = ZSTD_createDCtx())) {
            rc = TG_ENOMEM;
            break;
        }
        if (rv.raw_len > cap || !buf) {
            size_t nc = rv.raw_len ? rv.raw_len : 1;
            uint8_t *b = realloc(buf, nc);
            if (!b) {
                rc = TG_ENOMEM;
                break;
            }
            buf = b;
            cap = nc;
        }
        got = ZSTD_decompressDCtx(dctx, buf, cap, rv.payload, rv.comp_len);
        if (ZSTD_isError(got) || got != rv.raw_len) {
            tg_error("store record does not decompress", "seq=%llu",
                     (unsigned long long)seq);
            rc = TG_ESTORE;
            break;
        }
        n++;
        it.seq = seq;
        it.signal = rv.signal;
        it.ingest_sec = rv.ingest_sec;
        it.expiry_sec = rv.expiry_sec;
        it.data = buf;
        it.len = got;
        it.cls = rv.cls;
        it.cls_len = rv.cls_len;
        rv_stop = cb(ctx, &it);
        drop_mapping(v.mv_data, v.mv_size);
        if (rv_stop)
            break;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && mrc && mrc != MDB_NOTFOUND)
        rc = tg_store__mdb_err(mrc);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&st->map_lock);
    ZSTD_freeDCtx(dctx);
    free(buf);
    return rc;
}

uint64_t tg_store_last_seq(tg_store *st)
{
    MDB_txn *txn;
    tg_store_totals t;
    uint64_t last = 0;

    if (!st)
        return 0;
    pthread_rwlock_rdlock(&st->map_lock);
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) == 0) {
        if (tg_store__totals_load(st, txn, &t) == 0 && t.next_seq > 0)
            last = t.next_seq - 1;
        mdb_txn_abort(txn);
    }
    pthread_rwlock_unlock(&st->map_lock);
    return last;
}
