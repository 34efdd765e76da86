/* The trace-id filter of one stored record: a Bloom filter of the trace ids
 * the record holds, kept under the record's sequence number in
 * `by_trace_filter`.
 *
 * Why not an index keyed by trace id: trace ids are random, so each request
 * inserted one key per distinct trace id at a random place in a B-tree that
 * grows with the store, and LMDB's copy-on-write rewrote a leaf page (and
 * its path to the root) for nearly every one of them: 450-580 KB written
 * per 70 KB request (bench_store). A filter per record is one append at the
 * end of its table, whatever the store's size. A lookup by trace id then
 * tests every record's filter (about 130 bytes each, read in key order,
 * newest records included) and confirms a hit against the record's own
 * exact list of trace ids before it decompresses anything, so a false
 * positive costs one header read.
 *
 * Layout: the filter is the whole value, m = 8 * len bits, m a multiple of
 * 64 and at least 64, about TG_TFILTER_BITS_PER_ID bits per distinct id,
 * TG_TFILTER_K probes. At 10 bits and 7 probes the false-positive rate is
 * about 0.8%. The probe positions come from the id through a 64-bit mixer,
 * so ids whose bytes are partly constant (a generator that varies only the
 * low half) still spread over the filter. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "tg_hash.h"

static void probes(const uint8_t id[16], uint64_t *h1, uint64_t *h2)
{
    uint64_t a = tg_be64_get(id), b = tg_be64_get(id + 8);

    *h1 = tg_mix64(a ^ tg_mix64(b));
    *h2 = tg_mix64(b ^ 0x9e3779b97f4a7c15ull) | 1;
}

size_t tg_store__tfilter_len(uint32_t n_ids)
{
    uint64_t bits = (uint64_t)n_ids * TG_TFILTER_BITS_PER_ID;

    bits = (bits + 63) / 64 * 64;
    if (bits < 64)
        bits = 64;
    return (size_t)(bits / 8);
}

void tg_store__tfilter_build(const uint8_t *ids, uint32_t n_ids, uint8_t *f, size_t len)
{
    uint64_t m = (uint64_t)len * 8;

    memset(f, 0, len);
    for (uint32_t i = 0; i < n_ids; i++) {
        uint64_t h1, h2;

        probes(ids + 16 * (size_t)i, &h1, &h2);
        for (int k = 0; k < TG_TFILTER_K; k++) {
            uint64_t bit = (h1 + (uint64_t)k * h2) % m;

            f[bit >> 3] |= (uint8_t)(1u << (bit & 7));
        }
    }
}

int tg_store__tfilter_may_hold(const uint8_t *f, size_t len, const uint8_t id[16])
{
    uint64_t m = (uint64_t)len * 8, h1, h2;

    if (len == 0)
        return 0;
    probes(id, &h1, &h2);
    for (int k = 0; k < TG_TFILTER_K; k++) {
        uint64_t bit = (h1 + (uint64_t)k * h2) % m;

        if (!(f[bit >> 3] & (1u << (bit & 7))))
            return 0;
    }
    return 1;
}

/* ---- region-local filters, for the blocks ------------------------------------
 *
 * A block's filter is large (about 128 KB for 100,000 ids) and a lookup
 * tests one per block: with the probes spread over the whole filter that is
 * seven pages read per block from a store not in the page cache. Here the
 * filter is cut into TG_TBLOCK_REGION-byte regions and all the probes of an
 * id fall in the one region its hash picks (a blocked Bloom filter): one
 * page per block, for a false-positive rate little above the plain
 * filter's. */

#define TG_TBLOCK_REGION 2048

static size_t region_len(size_t len)
{
    return len < TG_TBLOCK_REGION ? len : TG_TBLOCK_REGION;
}

size_t tg_store__tblock_filter_len(uint64_t n_ids)
{
    uint64_t bytes = (n_ids * TG_TFILTER_BITS_PER_ID + 7) / 8;

    if (bytes <= TG_TBLOCK_REGION)
        return tg_store__tfilter_len((uint32_t)n_ids);
    return (size_t)((bytes + TG_TBLOCK_REGION - 1) / TG_TBLOCK_REGION * TG_TBLOCK_REGION);
}

static size_t region_at(size_t len, uint64_t h1)
{
    size_t r = region_len(len);

    return (size_t)(tg_mix64(h1 ^ 0x2545f4914f6cdd1dull) % (len / r)) * r;
}

void tg_store__tblock_build(const uint8_t *ids, uint64_t n_ids, uint8_t *f, size_t len)
{
    uint64_t m = (uint64_t)region_len(len) * 8;

    memset(f, 0, len);
    for (uint64_t i = 0; i < n_ids; i++) {
        uint64_t h1, h2;
        uint8_t *reg;

        probes(ids + 16 * (size_t)i, &h1, &h2);
        reg = f + region_at(len, h1);
        for (int k = 0; k < TG_TFILTER_K; k++) {
            uint64_t bit = (h1 + (uint64_t)k * h2) % m;
            reg[bit >> 3] |= (uint8_t)(1u << (bit & 7));
        }
    }
}

int tg_store__tblock_may_hold(const uint8_t *f, size_t len, const uint8_t id[16])
{
    uint64_t m = (uint64_t)region_len(len) * 8, h1, h2;
    const uint8_t *reg;

    if (len == 0 || len % region_len(len))
        return len != 0; /* not a filter this code wrote: "maybe" */
    probes(id, &h1, &h2);
    reg = f + region_at(len, h1);
    for (int k = 0; k < TG_TFILTER_K; k++) {
        uint64_t bit = (h1 + (uint64_t)k * h2) % m;
        if (!(reg[bit >> 3] & (1u << (bit & 7))))
            return 0;
    }
    return 1;
}

/* ---- block filters ----------------------------------------------------------
 *
 * by_trace_block: key the first sequence of a block (8 bytes, big-endian),
 * value the last sequence (8 bytes) then a filter, as above, of every trace
 * id of the block's records. A block is closed, in the write transaction,
 * once TG_TBLOCK_RECORDS records stand after the last one, from the
 * records' own id lists (their headers, just written and still in the page
 * cache): one more append per thousand records, about 125 bytes written per
 * record of 100 trace ids. Records a retention removes leave their block a
 * little fuller than needed (a false positive costs the block's record
 * filters, never a wrong answer); a block goes once all its records have.
 * Records in no block (the newest, and a store's records from before
 * blocks existed) are tested one filter each. */

static int build_block(tg_store *st, MDB_txn *txn, MDB_cursor *rcur, uint64_t from,
                       uint64_t to)
{
    uint8_t kb[8];
    MDB_val k = {8, kb}, v;
    size_t n = 0, flen;
    int rc;

    tg_be64_put(kb, from);
    rc = mdb_cursor_get(rcur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size == 8 && tg_be64_get(k.mv_data) <= to) {
        tg_rec_view rv;

        if (tg_rec_parse(v.mv_data, v.mv_size, &rv) == 0 && rv.n_trace) {
            size_t need = (n + rv.n_trace) * 16;
            if (need > st->tblock_ids_cap) {
                size_t cap = st->tblock_ids_cap ? st->tblock_ids_cap : 65536;
                uint8_t *b;
                while (cap < need)
                    cap *= 2;
                if (!(b = realloc(st->tblock_ids, cap)))
                    return ENOMEM;
                st->tblock_ids = b;
                st->tblock_ids_cap = cap;
            }
            memcpy(st->tblock_ids + 16 * n, rv.trace_ids, 16 * (size_t)rv.n_trace);
            n += rv.n_trace;
        }
        rc = mdb_cursor_get(rcur, &k, &v, MDB_NEXT);
    }
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    flen = tg_store__tblock_filter_len(n);
    tg_be64_put(kb, from);
    k = (MDB_val){8, kb};
    v = (MDB_val){8 + flen, NULL};
    if ((rc = mdb_put(txn, st->db_tblock, &k, &v, MDB_APPEND | MDB_RESERVE)))
        return rc;
    tg_be64_put(v.mv_data, to);
    tg_store__tblock_build(st->tblock_ids, n, (uint8_t *)v.mv_data + 8, flen);
    return 0;
}

int tg_store__tblocks_update(tg_store *st, MDB_txn *txn, uint64_t next_seq)
{
    MDB_cursor *rcur, *bcur = NULL;
    MDB_val k, v;
    uint64_t oldest, from;
    int rc;

    if ((rc = mdb_cursor_open(txn, st->db_records, &rcur)))
        return rc;
    rc = mdb_cursor_get(rcur, &k, &v, MDB_FIRST);
    if (rc && rc != MDB_NOTFOUND)
        goto out;
    oldest = rc == 0 && k.mv_size == 8 ? tg_be64_get(k.mv_data) : next_seq;
    if ((rc = mdb_cursor_open(txn, st->db_tblock, &bcur)))
        goto out;
    while ((rc = mdb_cursor_get(bcur, &k, &v, MDB_FIRST)) == 0 && v.mv_size >= 8 &&
           tg_be64_get(v.mv_data) < oldest)
        if ((rc = mdb_cursor_del(bcur, 0)))
            goto out;
    if (rc && rc != MDB_NOTFOUND)
        goto out;
    rc = mdb_cursor_get(bcur, &k, &v, MDB_LAST);
    if (rc && rc != MDB_NOTFOUND)
        goto out;
    from = rc == 0 && v.mv_size >= 8 ? tg_be64_get(v.mv_data) + 1 : st->tblock_base;
    if (from < oldest)
        from = oldest;
    rc = next_seq > from && next_seq - from >= TG_TBLOCK_RECORDS
             ? build_block(st, txn, rcur, from, next_seq - 1)
             : 0;
out:
    if (bcur)
        mdb_cursor_close(bcur);
    mdb_cursor_close(rcur);
    return rc;
}

/* The records from..to (inclusive) whose own filter may hold id. */
static int scan_records(MDB_cursor *fcur, uint64_t from, uint64_t to,
                        const uint8_t id[16], tg_store__tfilter_visit visit, void *ctx)
{
    uint8_t kb[8];
    MDB_val k = {8, kb}, v;
    int rc, r;

    tg_be64_put(kb, from);
    for (rc = mdb_cursor_get(fcur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(fcur, &k, &v, MDB_NEXT)) {
        uint64_t seq;

        if (k.mv_size != 8 || (seq = tg_be64_get(k.mv_data)) > to)
            return 0;
        if (tg_store__tfilter_may_hold(v.mv_data, v.mv_size, id) && (r = visit(ctx, seq)))
            return r;
    }
    return rc == MDB_NOTFOUND ? 0 : tg_store__mdb_err(rc);
}

int tg_store__tfilter_lookup(tg_store *st, MDB_txn *txn, const uint8_t id[16],
                             tg_store__tfilter_visit visit, void *ctx)
{
    MDB_cursor *bcur, *fcur;
    MDB_val k, v;
    uint64_t next = 0;
    int rc, r = 0;

    if ((rc = mdb_cursor_open(txn, st->db_tblock, &bcur)))
        return tg_store__mdb_err(rc);
    if ((rc = mdb_cursor_open(txn, st->db_tfilter, &fcur))) {
        mdb_cursor_close(bcur);
        return tg_store__mdb_err(rc);
    }
    for (rc = mdb_cursor_get(bcur, &k, &v, MDB_FIRST); rc == 0 && !r;
         rc = mdb_cursor_get(bcur, &k, &v, MDB_NEXT)) {
        uint64_t first, last;

        if (k.mv_size != 8 || v.mv_size < 16)
            continue;
        first = tg_be64_get(k.mv_data);
        last = tg_be64_get(v.mv_data);
        if (first > next)
            r = scan_records(fcur, next, first - 1, id, visit, ctx);
        if (!r &&
            tg_store__tblock_may_hold((const uint8_t *)v.mv_data + 8, v.mv_size - 8, id))
            r = scan_records(fcur, first, last, id, visit, ctx);
        next = last + 1;
    }
    if (!r && rc && rc != MDB_NOTFOUND)
        r = tg_store__mdb_err(rc);
    if (!r)
        r = scan_records(fcur, next, UINT64_MAX, id, visit, ctx);
    mdb_cursor_close(fcur);
    mdb_cursor_close(bcur);
    return r;
}
