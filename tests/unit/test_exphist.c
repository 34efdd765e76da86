/* Exponential histograms: bucket math, downscaling, and merges that equal
 * one histogram fed both streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "tg_err.h"
#include "tg_exphist.h"

static void test_index_bounds(void **state)
{
    (void)state;
    /* At scale 0 the base is 2: (1,2] is bucket 0, (2,4] bucket 1. */
    assert_int_equal(tg_exphist_index(1.5, 0), 0);
    assert_int_equal(tg_exphist_index(2.0, 0), 0);
    assert_int_equal(tg_exphist_index(2.1, 0), 1);
    assert_int_equal(tg_exphist_index(0.75, 0), -1);
    /* Every value lies inside its bucket at a fine scale. */
    for (double v = 1e-6; v < 1e6; v *= 1.37) {
        int32_t i = tg_exphist_index(v, 8);
        assert_true(v <= tg_exphist_upper(i, 8) * (1 + 1e-12));
        assert_true(v > tg_exphist_upper(i - 1, 8) * (1 - 1e-12));
    }
}

static void test_record_and_quantile(void **state)
{
    tg_exphist h;

    (void)state;
    tg_exphist_init(&h);
    for (int i = 1; i <= 1000; i++)
        tg_exphist_record(&h, i / 1000.0); /* 1 ms .. 1 s */
    assert_int_equal(h.count, 1000);
    assert_true(h.n <= TG_EXPHIST_MAX_BUCKETS);
    assert_true(h.scale < TG_EXPHIST_MAX_SCALE); /* three decades forced a downscale */
    assert_true(fabs(h.sum - 500.5) < 1e-6);
    assert_true(fabs(h.min - 0.001) < 1e-12);
    assert_true(fabs(h.max - 1.0) < 1e-12);
    /* Relative error bounded by the bucket width at this scale. */
    {
        double err = exp2(ldexp(1.0, -h.scale)) - 1;
        double p50 = tg_exphist_quantile(&h, 0.5), p99 = tg_exphist_quantile(&h, 0.99);
        assert_true(fabs(p50 - 0.5) / 0.5 <= err + 1e-9);
        assert_true(fabs(p99 - 0.99) / 0.99 <= err + 1e-9);
    }
    /* Zero and negative values count in the zero bucket. */
    tg_exphist_record(&h, 0);
    tg_exphist_record(&h, -3);
    assert_int_equal(h.zero_count, 2);
    assert_int_equal(h.count, 1002);
}

static void test_merge_equals_single_stream(void **state)
{
    tg_exphist a, b, all;
    uint64_t seed = 12345;

    (void)state;
    tg_exphist_init(&a);
    tg_exphist_init(&b);
    tg_exphist_init(&all);
    for (int i = 0; i < 5000; i++) {
        double v;
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        v = exp((double)(seed >> 11) / (double)(1ull << 53) * 12 - 9); /* ~1e-4 .. 20 */
        tg_exphist_record(i % 3 ? &a : &b, v);
        tg_exphist_record(&all, v);
    }
    /* a and b may have reached different scales. */
    tg_exphist_merge(&a, &b);
    assert_int_equal(a.count, all.count);
    assert_int_equal(a.zero_count, all.zero_count);
    assert_true(fabs(a.sum - all.sum) < 1e-6 * all.sum);
    /* Bring the single stream to the merged scale and compare bucket by
     * bucket: merging into a histogram at a coarser scale downscales. */
    {
        tg_exphist y;
        tg_exphist_init(&y);
        assert_true(a.scale <= all.scale);
        y.scale = a.scale;
        tg_exphist_record(&y, 0); /* non-empty, so the merge keeps y's scale */
        tg_exphist_merge(&y, &all);
        assert_int_equal(y.scale, a.scale);
        assert_int_equal(y.offset, a.offset);
        assert_int_equal(y.n, a.n);
        assert_memory_equal(y.counts, a.counts, a.n * sizeof(uint64_t));
    }
}

static void test_pb_roundtrip_and_validation(void **state)
{
    tg_exphist h, back;
    tg_arena a;
    Tollgate__V1__ExpHistogram *pb;

    (void)state;
    tg_arena_init(&a, 4096, 0);
    tg_exphist_init(&h);
    for (int i = 1; i < 100; i++)
        tg_exphist_record(&h, i * 0.01);
    pb = tg_exphist_to_pb(&h, &a);
    assert_non_null(pb);
    assert_int_equal(tg_exphist_from_pb(pb, &back), 0);
    assert_int_equal(back.count, h.count);
    assert_int_equal(back.scale, h.scale);
    assert_memory_equal(back.counts, h.counts, h.n * sizeof(uint64_t));
    /* Counts that do not add up, a scale out of range, too many buckets. */
    pb->count++;
    assert_int_equal(tg_exphist_from_pb(pb, &back), TG_EPARSE);
    pb->count--;
    pb->scale = 99;
    assert_int_equal(tg_exphist_from_pb(pb, &back), TG_EPARSE);
    pb->scale = 0;
    pb->n_counts = TG_EXPHIST_MAX_BUCKETS + 1;
    assert_int_equal(tg_exphist_from_pb(pb, &back), TG_EPARSE);
    tg_arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_bounds),
        cmocka_unit_test(test_record_and_quantile),
        cmocka_unit_test(test_merge_equals_single_stream),
        cmocka_unit_test(test_pb_roundtrip_and_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
