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
