#include "stats.h"

const double tg_stats_commit_bounds[TG_STATS_COMMIT_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
};

void tg_stats_observe_commit(tg_stats *s, double seconds)
{
    int i;

    for (i = 0; i < TG_STATS_COMMIT_BUCKETS; i++)
        if (seconds <= tg_stats_commit_bounds[i])
            break;
    atomic_fetch_add(&s->commit_bucket[i], 1);
    atomic_fetch_add(&s->commit_count, 1);
    atomic_fetch_add(&s->commit_sum_us, (uint64_t)(seconds * 1e6));
}

/* Every field of tg_stats is an _Atomic uint64_t counter (the refusal
 * tables too), so a sum is a walk over them as one array. */
_Static_assert(sizeof(tg_stats) % sizeof(_Atomic uint64_t) == 0,
               "tg_stats holds only 64-bit counters");

void tg_stats_sum(tg_stats *dst, const tg_stats *base, const tg_stats *const *more,
                  size_t n)
{
    const size_t words = sizeof(tg_stats) / sizeof(_Atomic uint64_t);
    _Atomic uint64_t *d = (_Atomic uint64_t *)dst;
    const _Atomic uint64_t *b = (const _Atomic uint64_t *)base;

    for (size_t w = 0; w < words; w++) {
        uint64_t v = atomic_load(&b[w]);
        for (size_t i = 0; i < n; i++)
            v += atomic_load(&((const _Atomic uint64_t *)more[i])[w]);
        atomic_store(&d[w], v);
    }
}

uint64_t tg_stats_items_accepted(const tg_stats *s)
{
    uint64_t n = 0;

    for (int sig = 0; sig < TG_SIGNAL_COUNT; sig++)
        for (int t = 0; t < TG_TRANSPORT_COUNT; t++)
            n += atomic_load(&s->items_accepted[sig][t]);
    return n;
}
