/* Allocation: an on-prem hour shared by measured use with idle lines, a
 * cloud hour with a reservation covering use first and an orphaned one,
 * and the counterfactuals. Every figure is worked out in the comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tg_alloc.h"
#include "tg_err.h"

#define M(cents) ((tg_money)(cents) * (TG_MONEY_SCALE / 100))
#define S(secs) ((int64_t)(secs)*TG_MONEY_SCALE)

static const char onprem_yaml[] =
    "cost_model:\n"
    "  currency: EUR\n"
    "  assets:\n"
    "    - {name: gpu, kind: gpu, count: 2, purchase_price: 87600,\n"
    "       purchase_date: 2026-01-01, lifetime: 1y, power_kw: 1}\n"
    "    - {name: cpu, kind: cpu, count: 1, purchase_price: 8760,\n"
    "       purchase_date: 2026-01-01, lifetime: 1y}\n"
    "  power: {price_kwh: 0.5}\n"
    "  facilities_per_year: 26280\n"
    "  shared_split: {gpu-seconds: 50, memory-gb-hours: 50}\n";

static const char cloud_yaml[] =
    "cost_model:\n"
    "  currency: EUR\n"
    "  price_sheets:\n"
    "    - provider: AWS\n"
    "      region: us-east-1\n"
    "      valid_from: 2026-01-01\n"
    "      skus:\n"
    "        - {sku: gpu, meter: gpu-seconds, unit: GPU-hour, price: 6}\n"
    "        - {sku: tok, meter: gen_ai-input-tokens, unit: 1M tokens, price: 3}\n"
    "      reserved:\n"
    "        - {sku: gpu-1y, meter: gpu-seconds, unit: GPU-hour, units: 1, upfront: "
    "8760,\n"
    "           hourly: 2, term: 1y}\n";

static tg_costmodel onprem, cloud;
static int64_t hour;

static int setup(void **state)
{
    char err[512] = "";
    (void)state;
    if (tg_costmodel_load_buffer("onprem.yaml", onprem_yaml, strlen(onprem_yaml),
                                 "cost_model", &onprem, err, sizeof err) ||
        tg_costmodel_load_buffer("cloud.yaml", cloud_yaml, strlen(cloud_yaml),
                                 "cost_model", &cloud, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(tg_cost_parse_date("2026-03-01T10:00:00Z", &hour), 0);
    return 0;
}

static const tg_cost_line *find(const tg_cost_line *l, int n, enum tg_line_kind kind,
                                enum tg_cost_measure measure)
{
    for (int i = 0; i < n; i++)
        if (l[i].kind == kind && l[i].measure == measure)
            return &l[i];
    return NULL;
}

static void test_onprem_hour(void **state)
{
    /* GPU capacity: 2 x 87600 / 8760 h = 20.00 plus 2 kW x 0.50 = 1.00 an
     * hour, 7200 GPU-seconds; CPU: 1.00, 3600 s; shared: 26280 / 8760 =
     * 3.00, half by GPU-seconds, half by memory (nobody). */
    const tg_cost_use uses[] = {
        {"a", "llama", "ml", "r1", TG_MEASURE_GPU_SECONDS, S(3600)},
        {"b", "llama", "ml", "r2", TG_MEASURE_GPU_SECONDS, S(1800)},
        {"a", "llama", "ml", "r1", TG_MEASURE_CPU_SECONDS, S(900)},
        {"b", "llama", "ml", "r2", TG_MEASURE_INPUT_TOKENS, S(1000)},
    };
    tg_cost_line l[16];
    tg_money sum = 0;
    int n = tg_cost_allocate(&onprem, NULL, hour, uses, 4, l, 16);
    (void)state;
    assert_int_equal(n, 7);
    assert_int_equal(l[0].effective, M(1050 + 100)); /* 21 x 3600/7200 + 1.50 x 2/3 */
    assert_int_equal(l[1].effective, M(525 + 50));
    assert_int_equal(l[2].effective, M(25)); /* 1.00 x 900/3600 */
    assert_int_equal(l[3].effective, 0);     /* tokens cost GPU time on-prem */
    for (int i = 0; i < 4; i++)
        assert_int_equal(l[i].billed, 0); /* amortised: nothing invoiced */
    assert_int_equal(find(l, n, TG_LINE_IDLE, TG_MEASURE_GPU_SECONDS)->effective, M(525));
    assert_int_equal(find(l, n, TG_LINE_IDLE, TG_MEASURE_CPU_SECONDS)->effective, M(75));
    assert_int_equal(find(l, n, TG_LINE_IDLE, TG_MEASURE_CPU_SECONDS)->asset,
                     TG_ASSET_CPU);
    assert_int_equal(
        find(l, n, TG_LINE_SHARED_IDLE, TG_MEASURE_MEMORY_GB_HOURS)->effective, M(150));
    for (int i = 0; i < n; i++)
        sum += l[i].effective;
    assert_int_equal(sum, M(2500)); /* 21 + 1 + 3: nothing lost, nothing invented */
    assert_int_equal(tg_cost_allocate(&onprem, NULL, hour, uses, 4, l, 5), TG_ETOO_BIG);
}

static void test_onprem_over_reported(void **state)
{
    /* 3 x 3600 GPU-seconds reported against 7200 of capacity: shares scale
     * down to the capacity and no idle line is left */
    const tg_cost_use uses[] = {
        {"a", NULL, NULL, NULL, TG_MEASURE_GPU_SECONDS, S(3600)},
        {"b", NULL, NULL, NULL, TG_MEASURE_GPU_SECONDS, S(7200)},
    };
    tg_cost_line l[16];
    int n = tg_cost_allocate(&onprem, NULL, hour, uses, 2, l, 16);
    (void)state;
    assert_int_equal(l[0].effective, M(700 + 50));
    assert_int_equal(l[1].effective, M(1400 + 100));
    assert_null(find(l, n, TG_LINE_IDLE, TG_MEASURE_GPU_SECONDS));
}

static void test_cloud_hour(void **state)
{
    /* one reserved GPU (8760 upfront over a year = 1.00 an hour, plus 2.00
     * an hour) covers 3600 of the 7200 GPU-seconds; the rest is on demand
     * at 6.00 a GPU-hour */
    const tg_cost_use uses[] = {
        {"x", "gpt", "web", NULL, TG_MEASURE_GPU_SECONDS, S(5400)},
        {"y", "gpt", "web", NULL, TG_MEASURE_GPU_SECONDS, S(1800)},
        {"x", "gpt", "web", NULL, TG_MEASURE_INPUT_TOKENS, S(2000000)},
    };
    tg_cost_line l[16];
    int n = tg_cost_allocate(&cloud, "us-east-1", hour, uses, 3, l, 16);
    (void)state;
    assert_int_equal(n, 3); /* the reservation is fully used: no unused line */
    assert_int_equal(l[0].effective, M(225 + 450)); /* 3.00 x 3/4 + 2700 s on demand */
    assert_int_equal(l[0].billed, M(150 + 450)); /* the hourly fee's share, not upfront */
    assert_int_equal(l[0].list, M(900));         /* 1.5 GPU-hours at list */
    assert_int_equal(l[1].effective, M(75 + 150));
    assert_int_equal(l[1].billed, M(50 + 150));
    assert_int_equal(l[2].effective, M(600)); /* 2M tokens at 3.00 */
    assert_int_equal(l[2].billed, M(600));
}

static void test_cloud_orphan(void **state)
{
    const tg_cost_use uses[] = {
        {"x", NULL, NULL, NULL, TG_MEASURE_INPUT_TOKENS, S(1000000)},
    };
    tg_cost_line l[16];
    const tg_cost_line *u;
    int n = tg_cost_allocate(&cloud, "us-east-1", hour, uses, 1, l, 16);
    (void)state;
    assert_int_equal(n, 2);
    u = find(l, n, TG_LINE_UNUSED, TG_MEASURE_GPU_SECONDS);
    assert_non_null(u);
    assert_true(u->orphan);
    assert_string_equal(u->sku->sku, "gpu-1y");
    assert_int_equal(u->effective, M(300));
    assert_int_equal(u->billed, M(200));
    /* a region without a sheet leaves use unpriced, and says so */
    n = tg_cost_allocate(&cloud, "eu-west-1", hour, uses, 1, l, 16);
    assert_int_equal(n, 1);
    assert_true(l[0].unpriced);
}

static void test_counterfactual(void **state)
{
    const tg_cost_use gpu = {"a", NULL, NULL, NULL, TG_MEASURE_GPU_SECONDS, S(5400)};
    const tg_cost_use mem = {"a", NULL, NULL, NULL, TG_MEASURE_MEMORY_GB_HOURS, S(1)};
    tg_money c;
    (void)state;
    /* cloud use at on-prem rates: 21.00 / 7200 s x 5400 s = 15.75 */
    assert_int_equal(tg_cost_counterfactual_onprem(&onprem, hour, &gpu, &c), 0);
    assert_int_equal(c, M(1575));
    /* on-prem use at the cloud sheet: 1.5 GPU-hours x 6.00 */
    assert_int_equal(tg_cost_counterfactual_cloud(&cloud, "us-east-1", hour, &gpu, &c),
                     0);
    assert_int_equal(c, M(900));
    assert_int_equal(tg_cost_counterfactual_onprem(&onprem, hour, &mem, &c),
                     TG_ENOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_onprem_hour),
        cmocka_unit_test(test_onprem_over_reported),
        cmocka_unit_test(test_cloud_hour),
        cmocka_unit_test(test_cloud_orphan),
        cmocka_unit_test(test_counterfactual),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
