#include "tg_exphist.h"

#include <math.h>
#include <string.h>

#include "tg_err.h"

void tg_exphist_init(tg_exphist *h)
{
    memset(h, 0, sizeof(*h));
    h->scale = TG_EXPHIST_MAX_SCALE;
}

/* Floor division by 2^k for negative indexes too. */
static int32_t shift_down(int32_t idx, int32_t k)
{
    int64_t v = idx, d = (int64_t)1 << k;
    int64_t q = v / d;

    if (v % d != 0 && v < 0)
        q--;
    return (int32_t)q;
}

int32_t tg_exphist_index(double v, int32_t scale)
{
    /* Upper-inclusive buckets: an exact power of the base belongs to the
     * bucket below. The correction handles values where log2 rounds up. */
    double l = log2(v) * ldexp(1.0, scale);
    double c = ceil(l);
    int32_t idx;

    if (c > 2e9)
        c = 2e9;
    if (c < -2e9)
        c = -2e9;
    idx = (int32_t)c - 1;
    return idx;
}

double tg_exphist_upper(int32_t index, int32_t scale)
{
    return exp2((double)(index + 1) * ldexp(1.0, -scale));
}

/* Lowers the scale by `by` steps, folding buckets pairwise. */
static void downscale(tg_exphist *h, int32_t by)
{
    uint64_t tmp[TG_EXPHIST_MAX_BUCKETS];
    int32_t new_off;
    uint32_t new_n = 0;

    if (by <= 0)
        return;
    if (h->scale - by < TG_EXPHIST_MIN_SCALE)
        by = h->scale - TG_EXPHIST_MIN_SCALE;
    if (by <= 0)
        return;
    h->scale -= by;
    if (h->n == 0)
        return;
    new_off = shift_down(h->offset, by);
    memset(tmp, 0, sizeof(tmp));
    for (uint32_t i = 0; i < h->n; i++) {
        int32_t ni = shift_down(h->offset + (int32_t)i, by) - new_off;
        tmp[ni] += h->counts[i];
        if ((uint32_t)ni + 1 > new_n)
            new_n = (uint32_t)ni + 1;
    }
    memcpy(h->counts, tmp, sizeof(tmp));
    h->offset = new_off;
    h->n = new_n;
}

/* How many scale steps make [lo, hi] fit in the bucket array. */
static int32_t steps_to_fit(int32_t lo, int32_t hi)
{
    int32_t by = 0;

    while ((int64_t)hi - lo + 1 > TG_EXPHIST_MAX_BUCKETS) {
        lo = shift_down(lo, 1);
        hi = shift_down(hi, 1);
        by++;
    }
    return by;
}

/* Makes room for bucket `idx` (at the current scale), shifting the array
 * when idx falls below the offset. Caller guarantees the range fits. */
static uint64_t *slot(tg_exphist *h, int32_t idx)
{
    if (h->n == 0) {
        h->offset = idx;
        h->n = 1;
        h->counts[0] = 0;
        return &h->counts[0];
    }
    if (idx < h->offset) {
        uint32_t shift = (uint32_t)(h->offset - idx);
        memmove(h->counts + shift, h->counts, h->n * sizeof(uint64_t));
        memset(h->counts, 0, shift * sizeof(uint64_t));
        h->offset = idx;
        h->n += shift;
        return &h->counts[0];
    }
    if ((uint32_t)(idx - h->offset) >= h->n) {
        uint32_t nn = (uint32_t)(idx - h->offset) + 1;
        memset(h->counts + h->n, 0, (nn - h->n) * sizeof(uint64_t));
        h->n = nn;
    }
    return &h->counts[idx - h->offset];
}

void tg_exphist_record(tg_exphist *h, double v)
{
    int32_t idx;

    if (h->count == 0) {
        h->min = h->max = (v > 0 && isfinite(v)) ? v : 0;
    }
    h->count++;
    if (!(v > 0) || !isfinite(v)) {
        h->zero_count++;
        if (h->min > 0)
            h->min = 0;
        return;
    }
    h->sum += v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    idx = tg_exphist_index(v, h->scale);
    if (h->n > 0) {
        int32_t lo = idx < h->offset ? idx : h->offset;
        int32_t hi = h->offset + (int32_t)h->n - 1;
        int32_t by;
        if (idx > hi)
            hi = idx;
        by = steps_to_fit(lo, hi);
        if (by > 0) {
            downscale(h, by);
            idx = tg_exphist_index(v, h->scale);
        }
    }
    (*slot(h, idx))++;
}

void tg_exphist_merge(tg_exphist *a, const tg_exphist *b)
{
    tg_exphist bb;

    if (b->count == 0)
        return;
    if (a->count == 0) {
        *a = *b;
        return;
    }
    bb = *b;
    if (bb.scale > a->scale)
        downscale(&bb, bb.scale - a->scale);
    else if (a->scale > bb.scale)
        downscale(a, a->scale - bb.scale);
    if (a->n && bb.n) {
        int32_t lo = a->offset < bb.offset ? a->offset : bb.offset;
        int32_t ha = a->offset + (int32_t)a->n - 1, hb = bb.offset + (int32_t)bb.n - 1;
        int32_t by = steps_to_fit(lo, ha > hb ? ha : hb);
        if (by > 0) {
            downscale(a, by);
            downscale(&bb, by);
        }
    }
    for (uint32_t i = 0; i < bb.n; i++) {
        if (bb.counts[i])
            *slot(a, bb.offset + (int32_t)i) += bb.counts[i];
    }
    a->zero_count += bb.zero_count;
    a->sum += bb.sum;
    if (bb.min < a->min)
        a->min = bb.min;
    if (bb.max > a->max)
        a->max = bb.max;
    a->count += bb.count;
}

double tg_exphist_quantile(const tg_exphist *h, double q)
{
    uint64_t rank, seen;
    double v;

    if (h->count == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    rank = (uint64_t)ceil(q * (double)h->count);
    if (rank == 0)
        rank = 1;
    seen = h->zero_count;
    if (seen >= rank)
        return 0;
    for (uint32_t i = 0; i < h->n; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            v = tg_exphist_upper(h->offset + (int32_t)i, h->scale);
            if (v > h->max)
                v = h->max;
            if (v < h->min)
                v = h->min;
            return v;
        }
    }
    return h->max;
}

Tollgate__V1__ExpHistogram *tg_exphist_to_pb(const tg_exphist *h, tg_arena *arena)
{
    Tollgate__V1__ExpHistogram *pb = tg_arena_alloc(arena, sizeof(*pb));

    if (!pb)
        return NULL;
    tollgate__v1__exp_histogram__init(pb);
    pb->scale = h->scale;
    pb->zero_count = h->zero_count;
    pb->offset = h->offset;
    pb->count = h->count;
    pb->sum = h->sum;
    pb->min = h->min;
    pb->max = h->max;
    if (h->n) {
        pb->counts = tg_arena_alloc(arena, h->n * sizeof(uint64_t));
        if (!pb->counts)
            return NULL;
        memcpy(pb->counts, h->counts, h->n * sizeof(uint64_t));
        pb->n_counts = h->n;
    }
    return pb;
}

int tg_exphist_from_pb(const Tollgate__V1__ExpHistogram *pb, tg_exphist *h)
{
    uint64_t total;

    tg_exphist_init(h);
    if (!pb)
        return 0;
    if (pb->scale > TG_EXPHIST_MAX_SCALE || pb->scale < TG_EXPHIST_MIN_SCALE ||
        pb->n_counts > TG_EXPHIST_MAX_BUCKETS || pb->offset > 1000000000 ||
        pb->offset < -1000000000 || !isfinite(pb->sum) || !isfinite(pb->min) ||
        !isfinite(pb->max))
        return TG_EPARSE;
    total = pb->zero_count;
    for (size_t i = 0; i < pb->n_counts; i++) {
        if (pb->counts[i] > UINT64_MAX - total)
            return TG_EPARSE;
        total += pb->counts[i];
    }
    if (total != pb->count)
        return TG_EPARSE;
    h->scale = pb->scale;
    h->offset = pb->offset;
    h->n = (uint32_t)pb->n_counts;
    if (pb->n_counts)
        memcpy(h->counts, pb->counts, pb->n_counts * sizeof(uint64_t));
    h->zero_count = pb->zero_count;
    h->count = pb->count;
    h->sum = pb->sum;
    h->min = pb->min;
    h->max = pb->max;
    return 0;
}
