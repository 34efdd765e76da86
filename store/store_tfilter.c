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
