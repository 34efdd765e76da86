/* Reports: grouping, idle apart, counterfactual, unit economics and the
 * FOCUS export, over an on-prem and a cloud site (the models of
 * test_alloc.c, whose hour is worked out there). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tg_err.h"
#include "tg_report.h"

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
static tg_cost_site sites[2];
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
    sites[0] = (tg_cost_site){"fra", "DE", "ACME IT", "fra-dc1", &onprem};
    sites[1] = (tg_cost_site){"use1", "US", "AWS", "us-east-1", &cloud};
    return 0;
}

static tg_cost_usage rows[8];

static void fill_rows(void)
{
    rows[0] = (tg_cost_usage){
        "fra", "a", "llama", "ml", "r1", hour, TG_MEASURE_GPU_SECONDS, S(3600)};
    rows[1] = (tg_cost_usage){
        "fra", "b", "llama", "ml", "r2", hour, TG_MEASURE_GPU_SECONDS, S(1800)};
    rows[2] = (tg_cost_usage){
        "fra", "a", "llama", "ml", "r1", hour, TG_MEASURE_CPU_SECONDS, S(900)};
    rows[3] = (tg_cost_usage){
        "use1", "x", "gpt", "web", NULL, hour, TG_MEASURE_GPU_SECONDS, S(5400)};
    rows[4] = (tg_cost_usage){
        "use1", "y", "gpt", "web", NULL, hour, TG_MEASURE_GPU_SECONDS, S(1800)};
    rows[5] = (tg_cost_usage){
        "use1", "x", "gpt", "web", NULL, hour, TG_MEASURE_INPUT_TOKENS, S(2000000)};
    rows[7] = (tg_cost_usage){
        "use1", "x", "gpt", "web", NULL, hour, TG_MEASURE_INFERENCES, S(3)};
    rows[6] = (tg_cost_usage){"gone", "z", NULL, NULL, NULL, hour, TG_MEASURE_GPU_SECONDS,
                              S(1)};
}

static const tg_cost_group *find(const tg_cost_report *r, const char *site,
                                 const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->g[i].site, site) == 0 && strcmp(r->g[i].key, key) == 0)
            return &r->g[i];
    fail_msg("no group %s/%s", site, key);
    return NULL;
}

static void test_by_service_compare_region(void **state)
{
    tg_cost_report r;
    const tg_cost_group *g;
    (void)state;
    fill_rows();
    assert_int_equal(tg_cost_report_build(sites, 2, rows, 8, hour, hour + 3600,
                                          TG_BY_SERVICE, "us-east-1", &r),
                     0);
    g = find(&r, "fra", "a");
    assert_int_equal(g->effective, M(1150 + 25));
    assert_int_equal(g->billed, 0);
    assert_true(g->amortised);
    /* 1 GPU-hour at the cloud's 6.00; the CPU use has no cloud price */
    assert_true(g->has_counterfactual);
    assert_int_equal(g->counterfactual, M(600));
    assert_int_equal(find(&r, "fra", "b")->counterfactual, M(300));
    assert_int_equal(find(&r, "fra", "__idle__ gpu")->effective, M(525));
    assert_true(find(&r, "fra", "__idle__ gpu")->idle);
    assert_int_equal(find(&r, "fra", "__idle__ cpu")->effective, M(75));
    assert_int_equal(find(&r, "fra", "__shared_idle__ memory-gb-hours")->effective,
                     M(150));
    g = find(&r, "use1", "x");
    assert_int_equal(g->effective, M(675 + 600));
    assert_int_equal(g->billed, M(600 + 600));
    assert_false(g->has_counterfactual); /* the compared site itself */
    assert_int_equal(r.total_effective, M(2500 + 1500));
    assert_int_equal(r.total_idle, M(525 + 75 + 150));
    tg_cost_report_free(&r);
}

static void test_compare_site_and_units(void **state)
{
    tg_cost_report r;
    tg_strbuf b = {0};
    (void)state;
    fill_rows();
    assert_int_equal(tg_cost_report_build(sites, 2, rows, 8, hour, hour + 3600,
                                          TG_BY_SERVICE, "fra", &r),
                     0);
    /* cloud use at on-prem full-utilisation rates: 21.00 / 7200 GPU-s */
    assert_int_equal(find(&r, "use1", "x")->counterfactual, M(1575));
    assert_int_equal(find(&r, "use1", "y")->counterfactual, M(525));
    tg_cost_report_json(&r, &b);
    assert_false(b.oom);
    /* fra/a: 11.75 for one GPU-hour; use1/x: 12.75 for 2M tokens = 6.375 -> 6.38 */
    assert_non_null(strstr(b.p, "\"cost_per_gpu_hour\": \"11.75\""));
    assert_non_null(strstr(b.p, "\"cost_per_million_tokens\": \"6.38\""));
    assert_non_null(strstr(b.p, "\"cost_per_million_tokens_micro\": 6375000"));
    /* 12.75 for 3 inferences: 4250.00 per 1,000; counted, never priced */
    assert_non_null(strstr(b.p, "\"cost_per_1000_inferences\": \"4250.00\""));
    free(b.p);
    tg_cost_report_free(&r);
    assert_int_equal(tg_cost_report_build(sites, 2, rows, 8, hour, hour + 3600,
                                          TG_BY_SITE, "nowhere", &r),
                     TG_ENOT_FOUND);
}

static void test_by_site_and_empty_hours(void **state)
{
    tg_cost_report r;
    (void)state;
    fill_rows();
    /* the second hour has no use: the whole capacity idles, and the cloud's
     * reservation is possibly orphaned */
    assert_int_equal(
        tg_cost_report_build(sites, 2, rows, 8, hour, hour + 7200, TG_BY_SITE, NULL, &r),
        0);
    assert_int_equal(find(&r, "fra", "fra")->effective, M(1150 + 575 + 25));
    assert_int_equal(find(&r, "fra", "__idle__ gpu")->effective, M(525 + 2100));
    assert_int_equal(find(&r, "fra", "__idle__ cpu")->effective, M(75 + 100));
    assert_int_equal(find(&r, "fra", "__shared_idle__ memory-gb-hours")->effective,
                     M(150 + 150));
    assert_int_equal(find(&r, "fra", "__shared_idle__ gpu-seconds")->effective, M(150));
    assert_true(find(&r, "use1", "__unused__ gpu-1y")->orphan);
    assert_int_equal(find(&r, "use1", "__unused__ gpu-1y")->effective, M(300));
    assert_int_equal(r.total_effective, M(2500 * 2 + 1500 + 300));
    tg_cost_report_free(&r);
}

static void test_focus_export(void **state)
{
    tg_strbuf b = {0};
    size_t lines = 0;
    (void)state;
    fill_rows();
    assert_int_equal(tg_cost_focus_export(sites, 2, rows, 8, hour, hour + 3600, 0, &b),
                     0);
    for (char *p = b.p; (p = strstr(p, "\r\n")); p += 2)
        lines++;
    /* header, fra: 3 uses + 2 idle + 1 shared idle, use1: 3 uses */
    assert_int_equal(lines, 10);
    assert_non_null(strstr(b.p, ",__idle__,false\r\n"));
    assert_null(strstr(b.p, ",gone,"));
    free(b.p);
    memset(&b, 0, sizeof b);
    assert_int_equal(tg_cost_focus_export(sites, 2, rows, 8, hour, hour + 3600, 1, &b),
                     0);
    assert_non_null(strstr(b.p, "\"EffectiveCost\":\"6.750000\""));
    assert_non_null(
        strstr(b.p, "\"BilledCost\":\"0.000000\",\"EffectiveCost\":\"11.500000\""));
    free(b.p);
}

static void test_focus_purchase(void **state)
{
    tg_strbuf b = {0};
    int64_t p;
    (void)state;
    fill_rows();
    /* a period holding the GPUs' purchase: one Purchase row, cash out, no
     * EffectiveCost (the Usage rows amortise it) */
    assert_int_equal(tg_cost_parse_date("2026-01-01", &p), 0);
    assert_int_equal(tg_cost_focus_export(sites, 1, rows, 8, p, p + 3600, 0, &b), 0);
    assert_non_null(strstr(b.p, "175200.000000,0.000000,175200.000000,175200.000000,"
                                "87600.000000,87600.000000,fra,EUR,"));
    assert_non_null(strstr(b.p, ",Purchase,,\"on-prem asset purchase, amortised"));
    assert_non_null(
        strstr(b.p, ",One-Time,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,,,,"));
    assert_non_null(strstr(b.p, ",Standard,2.000000,Unit,"));
    assert_non_null(strstr(b.p, ",purchase,false\r\n"));
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_service_compare_region),
        cmocka_unit_test(test_compare_site_and_units),
        cmocka_unit_test(test_by_site_and_empty_hours),
        cmocka_unit_test(test_focus_export),
        cmocka_unit_test(test_focus_purchase),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
