/* The cost model: loading (and refusing) cost_model sections, depreciation
 * across end of life and a mid-period purchase, power with a time-of-day
 * tariff, shared cost, price sheets changing mid-period, reservations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tg_costmodel.h"
#include "tg_err.h"

#define M(units) ((tg_money)(units)*TG_MONEY_SCALE)
#define DAY 86400LL

static const char good[] =
    "cost_model:\n"
    "  currency: EUR\n"
    "  assets:\n"
    "    - name: dgx\n"
    "      kind: gpu\n"
    "      count: 2\n"
    "      purchase_price: 36500\n"
    "      purchase_date: 2020-01-01\n"
    "      lifetime: 1y\n"
    "      power_kw: 0.7\n"
    "    - name: nodes\n"
    "      kind: cpu\n"
    "      count: 1\n"
    "      purchase_price: \"10000.00\"\n"
    "      salvage: 1000\n"
    "      purchase_date: 2020-01-01\n"
    "      lifetime: 5y\n"
    "      method: declining-balance\n"
    "  power:\n"
    "    pue: 1.4\n"
    "    price_kwh: 0.25\n"
    "    tariff:\n"
    "      - {from: 7, to: 22, price_kwh: 0.30}\n"
    "  facilities_per_year: 31536\n"
    "  operations_per_year: 0\n"
    "  shared_split: {gpu-seconds: 70, cpu-seconds: 30}\n"
    "  price_sheets:\n"
    "    - provider: AWS\n"
    "      region: us-east-1\n"
    "      currency: EUR\n"
    "      valid_from: 2026-01-01\n"
    "      valid_to: 2026-02-01\n"
    "      skus:\n"
    "        - {sku: p5, meter: gpu-seconds, unit: GPU-hour, price: 10}\n"
    "        - {sku: tok-in, meter: gen_ai-input-tokens, unit: 1M tokens, "
    "price: 3}\n"
    "      reserved:\n"
    "        - {sku: p5-1y, meter: gpu-seconds, unit: GPU-hour, units: 2,\n"
    "           upfront: 8760, hourly: 1, term: 1y}\n"
    "    - provider: AWS\n"
    "      region: us-east-1\n"
    "      valid_from: 2026-02-01\n"
    "      skus:\n"
    "        - {sku: p5, meter: gpu-seconds, unit: GPU-hour, price: 12}\n";

static tg_costmodel model;

static void load_good(void)
{
    char err[512] = "";
    int rc = tg_costmodel_load_buffer("good.yaml", good, strlen(good), "cost_model",
                                      &model, err, sizeof err);
    if (rc)
        fail_msg("load: %s", err);
}

static void test_load(void **state)
{
    (void)state;
    load_good();
    assert_string_equal(model.currency, "EUR");
    assert_int_equal(model.n_assets, 2);
    assert_int_equal(model.assets[0].kind, TG_ASSET_GPU);
    assert_int_equal(model.assets[0].purchase_price, M(36500));
    assert_int_equal(model.assets[0].lifetime_s, 365 * DAY);
    assert_int_equal(model.assets[0].power_w, 700);
    assert_int_equal(model.assets[1].method, TG_DEP_DECLINING_BALANCE);
    assert_int_equal(model.assets[1].salvage, M(1000));
    assert_int_equal(model.pue_milli, 1400);
    assert_int_equal(model.n_tariff, 1);
    assert_int_equal(model.tariff[0].price_kwh, 300000);
    assert_int_equal(model.shared_split[TG_MEASURE_GPU_SECONDS], 70);
    assert_int_equal(model.n_sheets, 2);
    assert_int_equal(model.sheets[0].n_skus, 3);
    assert_int_equal(model.sheets[0].skus[1].per_unit, 1000000);
    assert_true(model.sheets[0].skus[2].reserved);
    assert_string_equal(model.sheets[1].currency, "EUR"); /* the model's by default */
}

static void test_dates(void **state)
{
    int64_t t;
    (void)state;
    assert_int_equal(tg_cost_parse_date("1970-01-01", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(tg_cost_parse_date("2026-12-03", &t), 0);
    assert_int_equal(t, 1796256000LL);
    assert_int_equal(tg_cost_parse_date("2024-02-29T12:30:00Z", &t), 0);
    assert_int_equal(t, 1709209800LL);
    assert_int_equal(tg_cost_parse_date("2023-02-29", &t), TG_EINVAL);
    assert_int_equal(tg_cost_parse_date("2023-13-01", &t), TG_EINVAL);
    assert_int_equal(tg_cost_parse_date("2023-1-01", &t), TG_EINVAL);
}

static void test_straight_line(void **state)
{
    const tg_cost_asset *a;
    int64_t p;
    (void)state;
    load_good();
    a = &model.assets[0]; /* 2 x 36500 over 365 days: 200 a day */
    p = a->purchase_time;
    assert_int_equal(tg_cost_depreciation(a, p, p + DAY), M(200));
    /* a period crossing end of life counts only the day before it */
    assert_int_equal(tg_cost_depreciation(a, p + 364 * DAY, p + 366 * DAY), M(200));
    assert_int_equal(tg_cost_depreciation(a, p + 365 * DAY, p + 400 * DAY), 0);
    /* a purchase in the middle of the period counts from the purchase */
    assert_int_equal(tg_cost_depreciation(a, p - DAY, p + DAY), M(200));
    /* the whole life adds up to the price, whatever the slicing */
    assert_int_equal(tg_cost_depreciation(a, p - 10 * DAY, p + 500 * DAY), M(73000));
    /* one hour: 200 / 24 = 8.333333... */
    assert_int_equal(tg_cost_depreciation(a, p, p + 3600), 8333333);
}

static void test_declining_balance(void **state)
{
    const tg_cost_asset *a;
    int64_t p, y = TG_COST_YEAR_S;
    (void)state;
    load_good();
    a = &model.assets[1]; /* 10000, salvage 1000, 5 years, rate 2/5 */
    p = a->purchase_time;
    assert_int_equal(tg_cost_depreciation(a, p, p + y), M(4000));
    assert_int_equal(tg_cost_depreciation(a, p + y, p + 2 * y), M(2400));
    assert_int_equal(tg_cost_depreciation(a, p + 2 * y, p + 3 * y), M(1440));
    assert_int_equal(tg_cost_depreciation(a, p + 3 * y, p + 4 * y), M(864));
    /* the last year takes the book value down to salvage: 1296 - 1000 */
    assert_int_equal(tg_cost_depreciation(a, p + 4 * y, p + 5 * y), M(296));
    assert_int_equal(tg_cost_depreciation(a, p - y, p + 7 * y), M(9000));
    /* half of year 2, and a period across the year boundary */
    assert_int_equal(tg_cost_depreciation(a, p + 2 * y, p + 2 * y + y / 2), M(720));
    assert_int_equal(tg_cost_depreciation(a, p + y - y / 2, p + y + y / 2),
                     M(2000 + 1200));
}

static void test_power_tariff(void **state)
{
    const tg_cost_asset *a;
    int64_t p;
    (void)state;
    load_good();
    a = &model.assets[0];
    p = a->purchase_time; /* a UTC midnight */
    /* 0.7 kW x 2 x PUE 1.4 = 1.96 kWh an hour; 9 h at 0.25 and 15 h at
     * 0.30 (07-22 UTC): 1.96 x 6.75 = 13.23 */
    assert_int_equal(tg_cost_power(&model, a, p, p + DAY), 13230000);
    /* one off-peak hour: 1.96 x 0.25 = 0.49; half a peak hour: 0.294 */
    assert_int_equal(tg_cost_power(&model, a, p, p + 3600), 490000);
    assert_int_equal(tg_cost_power(&model, a, p + 7 * 3600, p + 7 * 3600 + 1800), 294000);
    /* no power before purchase or after end of life */
    assert_int_equal(tg_cost_power(&model, a, p - DAY, p), 0);
    assert_int_equal(tg_cost_power(&model, a, p + 365 * DAY, p + 366 * DAY), 0);
    assert_int_equal(tg_cost_power(&model, &model.assets[1], p, p + DAY), 0); /* no kW */
}

static void test_shared_and_capacity(void **state)
{
    int64_t p;
    (void)state;
    load_good();
    p = model.assets[0].purchase_time;
    /* 31536 a year = 3.60 an hour */
    assert_int_equal(tg_cost_shared(&model, p, p + 3600), 3600000);
    assert_int_equal(tg_cost_kind_capacity(&model, TG_ASSET_GPU, p, p + 3600),
                     8333333 + 490000);
    assert_int_equal(
        tg_cost_kind_capacity_seconds(&model, TG_ASSET_GPU, p - 1800, p + 3600),
        2 * 3600);
}

static void test_sheet_change_mid_period(void **state)
{
    int64_t t0, t1;
    tg_money c;
    (void)state;
    load_good();
    assert_int_equal(tg_cost_parse_date("2026-01-31T12:00:00Z", &t0), 0);
    t1 = t0 + DAY;
    /* 48 GPU-hours over the day: half at 10.00 (January's sheet), half at
     * 12.00 (February's) = 240 + 288 */
    assert_int_equal(tg_cost_sheet_cost(&model, "us-east-1", TG_MEASURE_GPU_SECONDS,
                                        48LL * 3600 * TG_MONEY_SCALE, t0, t1, &c),
                     0);
    assert_int_equal(c, M(528));
    /* tokens are priced only by January's sheet: 2.5M tokens at 3.00/1M */
    assert_int_equal(tg_cost_sheet_cost(&model, "us-east-1", TG_MEASURE_INPUT_TOKENS,
                                        2500000LL * TG_MONEY_SCALE, t0 - DAY, t0, &c),
                     0);
    assert_int_equal(c, 7500000);
    assert_int_equal(
        tg_cost_sheet_cost(&model, "us-east-1", TG_MEASURE_INPUT_TOKENS, 1, t0, t1, &c),
        TG_ENOT_FOUND);
    assert_int_equal(
        tg_cost_sheet_cost(&model, "eu-west-1", TG_MEASURE_GPU_SECONDS, 1, t0, t1, &c),
        TG_ENOT_FOUND);
}

static void test_reserved(void **state)
{
    const tg_cost_sku *s;
    (void)state;
    load_good();
    s = &model.sheets[0].skus[2];
    /* 2 units x (8760 upfront / 8760 h + 1.00 an hour) = 4.00 an hour */
    assert_int_equal(tg_cost_reserved(s, s->start, s->start + 3600), M(4));
    assert_int_equal(tg_cost_reserved(s, s->start - 3600, s->start), 0);
    assert_int_equal(tg_cost_reserved(s, s->start + TG_COST_YEAR_S - 1800,
                                      s->start + TG_COST_YEAR_S + 3600),
                     M(2));
}

/* Replaces the first `from` in good with `to`, loads it, and expects
 * TG_ECONFIG with an error starting "bad.yaml:LINE:COL:" and holding why. */
static void expect_bad(const char *from, const char *to, const char *where,
                       const char *why)
{
    char buf[8192], err[512] = "";
    const char *at = strstr(good, from);
    size_t pre;
    int rc;

    assert_non_null(at);
    pre = (size_t)(at - good);
    memcpy(buf, good, pre);
    snprintf(buf + pre, sizeof buf - pre, "%s%s", to, at + strlen(from));
    rc = tg_costmodel_load_buffer("bad.yaml", buf, strlen(buf), "cost_model", &model, err,
                                  sizeof err);
    if (rc != TG_ECONFIG || strncmp(err, where, strlen(where)) != 0 || !strstr(err, why))
        fail_msg("replacing \"%s\": rc %d, err \"%s\"; want %s ... %s", from, rc, err,
                 where, why);
}

static void test_bad_config(void **state)
{
    (void)state;
    expect_bad("purchase_price: 36500", "purchase_price: -36500",
               "bad.yaml:7:23:", "cannot be negative");
    expect_bad("lifetime: 1y", "lifetime: 0s", "bad.yaml:9:17:", "longer than zero");
    expect_bad("kind: gpu", "kind: tpu", "bad.yaml:5:13:", "unknown value \"tpu\"");
    expect_bad("valid_from: 2026-02-01", "valid_from: 2026-01-15",
               "bad.yaml:39:7:", "overlaps the one at line 28");
    expect_bad("price: 12}", "price: -12}", "bad.yaml:43:64:", "cannot be negative");
    expect_bad("pue: 1.4", "pue: 0.9", "bad.yaml:20:", "1.0 to 10");
    expect_bad("gpu-seconds: 70", "gpu-seconds: 60", "bad.yaml:26:17:", "sum to 90");
    expect_bad("salvage: 1000", "salvage: 20000",
               "bad.yaml:15:", "exceeds purchase_price");
    expect_bad("lifetime: 5y", "lifetime: 30d", "bad.yaml:17:", "whole years");
    expect_bad("power_kw: 0.7", "power_kv: 0.7", "bad.yaml:10:", "power_kv");
    expect_bad("price: 3}", "price: 0.0000001}", "bad.yaml:", "up to 6 fraction digits");
}

/* The documented example loads, and its numbers are the ones it states. */
static void test_example_file(void **state)
{
    char err[512] = "";
    (void)state;
    if (tg_costmodel_load(TG_SOURCE_DIR "/docs/cost-model.example.yaml", "cost_model",
                          &model, err, sizeof err))
        fail_msg("example: %s", err);
    assert_int_equal(model.n_assets, 3);
    assert_int_equal(model.n_sheets, 1);
    assert_string_equal(model.sheets[0].skus[0].sku, "p5.48xlarge");
    assert_int_equal(model.sheets[0].skus[0].price, 6880000);
    assert_int_equal(model.sheets[0].skus[1].price, 50400);
    assert_int_equal(model.sheets[0].skus[5].units, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_straight_line),
        cmocka_unit_test(test_declining_balance),
        cmocka_unit_test(test_power_tariff),
        cmocka_unit_test(test_shared_and_capacity),
        cmocka_unit_test(test_sheet_change_mid_period),
        cmocka_unit_test(test_reserved),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_example_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
