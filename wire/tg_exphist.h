/* Base-2 exponential histograms, OpenTelemetry's layout, mergeable across
 * sites.
 *
 * Bucket i at scale s covers (2^(i*2^-s), 2^((i+1)*2^-s)]. A histogram
 * starts at the finest scale (20) and halves its resolution whenever a new
 * value would not fit in TG_EXPHIST_MAX_BUCKETS contiguous buckets, so the
 * relative error stays bounded (under 2^(2^-s) - 1) whatever the range.
 * Merging two histograms downscales the finer to the coarser scale (and
 * further if the union does not fit), then adds bucket by bucket: the
 * result is exactly what one histogram fed both value streams would hold
 * at that scale. That is what lets the centre add the RED latency of the
 * same minute from several batches, or of the same operation across
 * sites. */
#ifndef TG_EXPHIST_H
#define TG_EXPHIST_H

#include <stddef.h>
#include <stdint.h>

#include "tg_arena.h"
#include "tollgate/v1/forward.pb-c.h"

#define TG_EXPHIST_MAX_BUCKETS 160
#define TG_EXPHIST_MAX_SCALE 20
#define TG_EXPHIST_MIN_SCALE (-10)

typedef struct tg_exphist {
    int32_t scale;
    int32_t offset; /* bucket index of counts[0] */
    uint32_t n;     /* buckets in use */
    uint64_t zero_count;
    uint64_t count;
    double sum, min, max;
    uint64_t counts[TG_EXPHIST_MAX_BUCKETS];
} tg_exphist;

void tg_exphist_init(tg_exphist *h);

/* Records one value; values <= 0 (and NaN) count in the zero bucket. */
void tg_exphist_record(tg_exphist *h, double v);

/* Adds `b` into `a`. */
void tg_exphist_merge(tg_exphist *a, const tg_exphist *b);

/* The bucket index of `v` (> 0) at `scale`. */
int32_t tg_exphist_index(double v, int32_t scale);

/* Upper bound of bucket `index` at `scale`. */
double tg_exphist_upper(int32_t index, int32_t scale);

/* An estimate of quantile q in [0, 1]: the upper bound of the bucket that
 * holds it (clamped to [min, max]); 0 when empty. */
double tg_exphist_quantile(const tg_exphist *h, double q);

/* To and from the wire. to_pb allocates in the arena. from_pb validates
 * (scale range, bucket count, counts adding up) and returns TG_EPARSE on
 * nonsense from the network. */
Tollgate__V1__ExpHistogram *tg_exphist_to_pb(const tg_exphist *h, tg_arena *arena);
int tg_exphist_from_pb(const Tollgate__V1__ExpHistogram *pb, tg_exphist *h);

#endif
