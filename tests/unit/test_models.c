/* Model version consistency (central/models.c, models_config.c): the
 * propagation delay after a promotion, the share of stale requests, the
 * SLO warning appearing and clearing, a stuck rollout, rules matched by
 * glob, a registry as authority, the `models:` section's errors, the
 * Prometheus families, and the rows kept in the centre's store. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "models.h"
#include "tg_central.h"
#include "tg_err.h"
#include "tg_yaml.h"

#define S(x) ((int64_t)(x)*1000000000)
#define T0 S(1780000000) /* a whole minute */

/* n requests of model/version at site, one per second from t (seconds
 * after T0), each in its own bucket at 1s resolution. */
static void serve(tg_models *m, const char *site, const char *model, const char *ver,
                  int t, int n)
{
    for (int i = 0; i < n; i++) {
        int64_t at = T0 + S(t + i);
        tg_models_obs o = {site, model, ver, tg_models_bucket(m, at), 1, at, at};
        assert_int_equal(tg_models_observe(m, &o, at), 0);
    }
}

static tg_models_config config_with(const char *match, const char *site,
                                    const char *registry, uint64_t slo_ms)
{
    tg_models_config c;

    tg_models_config_defaults(&c);
    c.resolution_ms = 1000;
    c.stuck_after_ms = 20000;
    snprintf(c.rules[0].match, sizeof(c.rules[0].match), "%s", match);
    snprintf(c.rules[0].site, sizeof(c.rules[0].site), "%s", site ? site : "");
    snprintf(c.rules[0].registry, sizeof(c.rules[0].registry), "%s",
             registry ? registry : "");
    c.rules[0].max_propagation_ms = slo_ms;
    c.n_rules = 1;
    return c;
}

static json_t *model_of(json_t *rep, const char *name)
{
    size_t i;
    json_t *x;

    json_array_foreach(json_object_get(rep, "models"), i,
                       x) if (strcmp(json_string_value(json_object_get(x, "model")),
                                     name) == 0) return x;
    fail_msg("model %s not in the report", name);
    return NULL;
}

static json_t *site_of(json_t *model, const char *site)
{
    size_t i;
    json_t *x;

    json_array_foreach(
        json_object_get(model, "sites"), i,
        x) if (strcmp(json_string_value(json_object_get(x, "site")), site) == 0) return x;
    fail_msg("site %s not in the report", site);
    return NULL;
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_non_null(v);
    return json_number_value(v);
}

static size_t warnings_matching(json_t *rep, const char *needle)
{
    size_t i, n = 0;
    json_t *w;

    json_array_foreach(json_object_get(rep, "warnings"), i, w) n +=
        strstr(json_string_value(w), needle) != NULL;
    return n;
}

/* The authority (onprem) moves to v2 at t=100; cloud keeps v1 until
 * t=130, then serves v2 only. SLO 20s. */
static void test_site_authority_propagation(void **state)
{
    tg_models_config c = config_with("fraud-*", "onprem", NULL, 20000);
    tg_models *m = tg_models_new(&c);
    json_t *rep, *mo, *cloud;

    (void)state;
    serve(m, "onprem", "fraud-detector", "v1", 0, 100);
    serve(m, "cloud", "fraud-detector", "v1", 0, 100);
    serve(m, "onprem", "fraud-detector", "v2", 100, 60);
    /* cloud: 30 more requests of v1 after the promotion */
    serve(m, "cloud", "fraud-detector", "v1", 100, 30);

    /* t=110: stale for 10s, inside the SLO: no warning yet. */
    rep = tg_models_report(m, T0 + S(110));
    mo = model_of(rep, "fraud-detector");
    assert_string_equal(json_string_value(json_object_get(mo, "authority")),
                        "site:onprem");
    assert_string_equal(json_string_value(json_object_get(mo, "authoritative_version")),
                        "v2");
    assert_int_equal(json_integer_value(json_object_get(mo, "promoted_at_unix_nano")),
                     T0 + S(100));
    cloud = site_of(mo, "cloud");
    assert_true(json_is_true(json_object_get(cloud, "stale")));
    assert_true(json_is_null(json_object_get(cloud, "propagation_delay_seconds")));
    assert_int_equal(warnings_matching(rep, "cloud serves fraud-detector"), 0);
    assert_false(json_is_true(json_object_get(site_of(mo, "onprem"), "stale")));
    json_decref(rep);

    /* t=125: 25s since the promotion, past the 20s SLO: the warning, in
     * the words, with every request since the promotion stale. */
    rep = tg_models_report(m, T0 + S(125));
    assert_int_equal(warnings_matching(rep,
                                       "cloud serves fraud-detector v1, authoritative "
                                       "v2 since 25s (SLO 20s), 100% of its requests"),
                     1);
    cloud = site_of(model_of(rep, "fraud-detector"), "cloud");
    assert_true(num(cloud, "stale_seconds") > 24.9 && num(cloud, "stale_seconds") < 25.1);
    json_decref(rep);

    /* cloud switches at t=130 and serves v2 for 10s: delay 30s, stale
     * share 30 of 40, the warning gone. */
    serve(m, "cloud", "fraud-detector", "v2", 130, 10);
    rep = tg_models_report(m, T0 + S(140));
    mo = model_of(rep, "fraud-detector");
    cloud = site_of(mo, "cloud");
    assert_false(json_is_true(json_object_get(cloud, "stale")));
    assert_true(num(cloud, "propagation_delay_seconds") == 30.0);
    assert_true(num(cloud, "stale_share") == 0.75);
    assert_int_equal(json_integer_value(json_object_get(cloud, "stale_requests")), 30);
    assert_true(num(cloud, "stale_seconds") == 0);
    assert_string_equal(json_string_value(json_object_get(cloud, "version")), "v2");
    assert_int_equal(json_array_size(json_object_get(rep, "warnings")), 0);
    /* v2 serves all of cloud's requests since it appeared. */
    assert_true(num(cloud, "share") == 1.0);
    {
        /* Both promotions are in the history: v1 was the first version
         * the authority served, and cloud served it from the start. */
        json_t *p = json_object_get(mo, "promotions");
        assert_int_equal(json_array_size(p), 2);
        assert_true(num(json_object_get(json_array_get(p, 1), "delays"), "cloud") ==
                    30.0);
        assert_true(num(json_object_get(json_array_get(p, 0), "delays"), "cloud") == 0.0);
    }
    {
        tg_strbuf b = {0};
        tg_models_metrics(rep, &b);
        assert_false(b.oom);
        assert_non_null(strstr(b.p,
                               "tollgate_model_propagation_delay_seconds{site=\"cloud\","
                               "model=\"fraud-detector\"} 30\n"));
        assert_non_null(strstr(b.p,
                               "tollgate_model_version_info{site=\"cloud\",model=\"fraud-"
                               "detector\",version=\"v2\",authoritative=\"true\"} 1\n"));
        assert_null(strstr(b.p,
                           "tollgate_model_version_info{site=\"cloud\",model=\"fraud-"
                           "detector\",version=\"v1\""));
        assert_non_null(
            strstr(b.p, "tollgate_model_requests_total{site=\"cloud\",model=\"fraud-"
                        "detector\",version=\"v1\"} 130\n"));
        assert_non_null(
            strstr(b.p, "tollgate_model_stale_seconds{site=\"cloud\",model=\"fraud-"
                        "detector\"} 0\n"));
        assert_non_null(
            strstr(b.p, "tollgate_model_authoritative_info{model=\"fraud-detector\","
                        "version=\"v2\",authority=\"site:onprem\"} 1\n"));
        free(b.p);
    }
    json_decref(rep);
    tg_models_free(m);
}

/* Rollout: cloud serves v1 and v2 side by side; past stuck_after (20s)
 * it is a stuck rollout, and once v1 stops it is not. */
static void test_stuck_rollout(void **state)
{
    tg_models_config c = config_with("fraud-*", "onprem", NULL, 3600000);
    tg_models *m = tg_models_new(&c);
    json_t *rep, *cloud;

    (void)state;
    serve(m, "onprem", "fraud-detector", "v2", 0, 10);
    serve(m, "cloud", "fraud-detector", "v1", 0, 15);
    serve(m, "cloud", "fraud-detector", "v2", 5, 10);
    rep = tg_models_report(m, T0 + S(15));
    cloud = site_of(model_of(rep, "fraud-detector"), "cloud");
    assert_false(json_is_true(json_object_get(cloud, "stuck")));
    assert_true(json_is_true(json_object_get(cloud, "stale")));
    /* since v2 appeared at t=5: 10 of v2's and 10 of v1's requests */
    assert_true(num(cloud, "share") == 0.5);
    json_decref(rep);

    serve(m, "cloud", "fraud-detector", "v1", 15, 20);
    serve(m, "cloud", "fraud-detector", "v2", 15, 20);
    rep = tg_models_report(m, T0 + S(35));
    cloud = site_of(model_of(rep, "fraud-detector"), "cloud");
    assert_true(json_is_true(json_object_get(cloud, "stuck")));
    assert_true(num(cloud, "stuck_seconds") == 29.0);
    assert_int_equal(warnings_matching(rep, "cloud serves fraud-detector in 2 versions"),
                     1);
    json_decref(rep);

    serve(m, "cloud", "fraud-detector", "v2", 35, 5);
    serve(m, "cloud", "fraud-detector", "v3", 40, 5); /* a clean switch */
    rep = tg_models_report(m, T0 + S(45));
    cloud = site_of(model_of(rep, "fraud-detector"), "cloud");
    assert_false(json_is_true(json_object_get(cloud, "stuck")));
    assert_int_equal(warnings_matching(rep, "versions"), 0);
    json_decref(rep);
    tg_models_free(m);
}

/* Rules are globs, first match wins; a model no rule names has no
 * authority and no propagation warning. */
static void test_glob_rules(void **state)
{
    tg_models_config c = config_with("fraud-*", "onprem", NULL, 1000);
    tg_models *m;
    json_t *rep;

    (void)state;
    snprintf(c.rules[1].match, sizeof(c.rules[1].match), "llm-[ab]?");
    snprintf(c.rules[1].site, sizeof(c.rules[1].site), "cloud");
    c.rules[1].max_propagation_ms = 1000;
    c.n_rules = 2;
    m = tg_models_new(&c);
    serve(m, "onprem", "fraud-detector", "v1", 0, 1);
    serve(m, "onprem", "llm-a1", "x", 6, 1);
    serve(m, "cloud", "llm-a1", "y", 5, 1);
    serve(m, "onprem", "llm-c1", "x", 0, 1);
    serve(m, "cloud", "llm-c1", "y", 5, 1);
    rep = tg_models_report(m, T0 + S(100));
    assert_string_equal(
        json_string_value(json_object_get(model_of(rep, "fraud-detector"), "authority")),
        "site:onprem");
    assert_string_equal(
        json_string_value(json_object_get(model_of(rep, "llm-a1"), "authority")),
        "site:cloud");
    assert_string_equal(
        json_string_value(json_object_get(model_of(rep, "llm-c1"), "authority")), "none");
    assert_true(
        json_is_null(json_object_get(model_of(rep, "llm-c1"), "authoritative_version")));
    /* llm-a1: onprem serves x at t=6, the authority y since t=5: past the
     * 1s SLO */
    assert_int_equal(warnings_matching(rep, "onprem serves llm-a1 x, authoritative y"),
                     1);
    assert_int_equal(warnings_matching(rep, "llm-c1"), 0);
    json_decref(rep);
    tg_models_free(m);
}

static char tmpdir[64];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A registry file: its newest promoted_at names the truth; a promotion
 * before a site first served the version counts as no delay. */
static void test_registry_authority(void **state)
{
    char reg[128], err[1400];
    tg_models_registry r = {0};
    tg_models_config c;
    tg_models *m;
    json_t *rep, *mo;

    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/tg_models_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(reg, sizeof(reg), "%s/registry.yaml", tmpdir);
    write_file(reg, "models:\n"
                    "  - {model: fraud-detector, version: v1, promoted_at: 1780000000}\n"
                    "  - {model: fraud-detector, version: v2, promoted_at: "
                    "\"2026-05-28T20:26:50Z\"}\n"
                    "  - {model: other, version: z, promoted_at: 1}\n");
    assert_int_equal(tg_models_registry_load(reg, &r, err, sizeof(err)), 0);
    assert_int_equal(r.n, 3);
    /* 2026-05-28T20:26:50Z is T0 + 10s */
    assert_int_equal(r.v[1].promoted_at_ns, T0 + S(10));
    c = config_with("fraud-*", NULL, reg, 5000);
    m = tg_models_new(&c);
    assert_int_equal(tg_models_set_registry(m, reg, &r), 0);
    assert_null(r.v);
    serve(m, "a", "fraud-detector", "v1", 0, 20);
    serve(m, "b", "fraud-detector", "v2", 8, 12);
    rep = tg_models_report(m, T0 + S(20));
    mo = model_of(rep, "fraud-detector");
    assert_string_equal(json_string_value(json_object_get(mo, "authoritative_version")),
                        "v2");
    assert_true(num(site_of(mo, "b"), "propagation_delay_seconds") == 0.0);
    assert_true(num(site_of(mo, "a"), "stale_seconds") == 10.0);
    assert_true(json_is_true(json_object_get(site_of(mo, "a"), "stale")));
    assert_int_equal(warnings_matching(rep,
                                       "a serves fraud-detector v1, authoritative v2 "
                                       "since 10s (SLO 5s), 100% of its requests"),
                     1);
    json_decref(rep);

    /* c is first heard from 3s after the promotion, serving v1, and
     * switches 4s later: the delay counts from when it was first seen. */
    serve(m, "c", "fraud-detector", "v1", 13, 4);
    serve(m, "c", "fraud-detector", "v2", 17, 1);
    rep = tg_models_report(m, T0 + S(20));
    assert_true(num(site_of(model_of(rep, "fraud-detector"), "c"),
                    "propagation_delay_seconds") == 4.0);
    json_decref(rep);

    /* A bad registry names its line and column. */
    write_file(reg, "models:\n  - {model: x, version: y, promoted_at: soon}\n");
    assert_int_equal(tg_models_registry_load(reg, &r, err, sizeof(err)), TG_ECONFIG);
    assert_non_null(strstr(err, "registry.yaml:2:41: promoted_at"));
    tg_models_free(m);
}

/* The `models:` section through the centre's configuration. */
static void test_config(void **state)
{
    char path[128], err[1400];
    tg_central_config c;

    (void)state;
    snprintf(path, sizeof(path), "%s/central.yaml", tmpdir);
    write_file(path,
               "models:\n"
               "  version_keys: [ml.model.version]\n"
               "  max_propagation: 10m\n"
               "  resolution: 5s\n"
               "  rules:\n"
               "    - {match: \"fraud-*\", authority: onprem, max_propagation: 2m}\n"
               "    - {match: \"*\", registry: /etc/reg.yaml}\n");
    tg_central_config_defaults(&c);
    assert_int_equal(c.models.n_model_keys, 1);
    assert_int_equal(c.models.max_propagation_ms, 15 * 60000);
    assert_int_equal(tg_central_config_load(path, &c, err, sizeof(err)), 0);
    assert_int_equal(c.models.n_version_keys, 1);
    assert_string_equal(c.models.model_keys[0], "gen_ai.request.model");
    assert_int_equal(c.models.max_propagation_ms, 600000);
    assert_int_equal(c.models.resolution_ms, 5000);
    assert_int_equal(c.models.n_rules, 2);
    assert_string_equal(c.models.rules[0].site, "onprem");
    assert_int_equal(c.models.rules[0].max_propagation_ms, 120000);
    assert_string_equal(c.models.rules[1].registry, "/etc/reg.yaml");

    write_file(path, "models:\n  rules:\n    - {match: x, authority: a, registry: b}\n");
    assert_int_equal(tg_central_config_load(path, &c, err, sizeof(err)), TG_ECONFIG);
    assert_non_null(
        strstr(err, "central.yaml:3:7: models.rules: a rule names exactly one"));
    write_file(path, "models:\n  max_propagation: soon\n");
    assert_int_equal(tg_central_config_load(path, &c, err, sizeof(err)), TG_ECONFIG);
    assert_non_null(strstr(err, "central.yaml:2:20: max_propagation"));
    write_file(path, "models:\n  rules:\n    - {match: x, authorty: a}\n");
    assert_int_equal(tg_central_config_load(path, &c, err, sizeof(err)), TG_ECONFIG);
    assert_non_null(strstr(err, "central.yaml:3:18:"));
}

static int on_row(void *ctx, const char *site, const tg_cstore_model_row *row)
{
    uint64_t *n = ctx;
    assert_string_equal(site, "cloud");
    assert_string_equal(row->model, "m");
    assert_string_equal(row->version, "v1");
    assert_int_equal(row->bucket_ns, T0);
    assert_int_equal(row->first_ns, T0 + 1);
    assert_int_equal(row->last_ns, T0 + 9);
    *n += row->count;
    return 0;
}

/* Rows merge in the store with their batch, and only with a new batch. */
static void test_store_rows(void **state)
{
    static const uint8_t epoch[16] = {7};
    char dir[128];
    tg_cstore_options so = {.no_sync = 1};
    tg_cstore *cs;
    Tollgate__V1__Batch b = TOLLGATE__V1__BATCH__INIT;
    tg_cstore_model_row rows[2] = {{"m", "v1", T0, 2, T0 + 5, T0 + 9},
                                   {"m", "v1", T0, 1, T0 + 1, T0 + 1}};
    tg_cstore_upload u = {.site = "cloud", .epoch = epoch, .batch = &b, .now_ns = 1};
    tg_cstore_result res;
    uint64_t n = 0;
    int rc;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/store", tmpdir);
    cs = tg_cstore_open(dir, &so, &rc);
    assert_non_null(cs);
    b.site = "cloud";
    u.models = rows;
    u.n_models = 2;
    u.seq = b.sequence = 1;
    assert_int_equal(tg_cstore_apply(cs, &u, &res), 0);
    assert_int_equal(tg_cstore_apply(cs, &u, &res), 0); /* a duplicate adds nothing */
    assert_true(res.duplicate);
    assert_int_equal(tg_cstore_model_rows(cs, on_row, &n), 0);
    assert_int_equal(n, 3);
    tg_cstore_close(cs);
    {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
        assert_int_equal(system(cmd), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_site_authority_propagation),
        cmocka_unit_test(test_stuck_rollout),
        cmocka_unit_test(test_glob_rules),
        cmocka_unit_test(test_registry_authority),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_store_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
