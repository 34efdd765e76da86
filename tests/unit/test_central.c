/* The central view's pieces: the sites registry, its configuration (and
 * the forwarder's), the central store (idempotency, merging, epochs,
 * retention) and the JSON-lines export. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <lmdb.h>

#include "tg_central.h"
#include "tg_err.h"
#include "tg_exphist.h"
#include "tg_fwd_config.h"
#include "tg_wire.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/tg_central_test_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text)
{
    char p[256];
    FILE *f;
    snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(p, 0600); /* token files others can read are refused */
}

static const char *path(const char *name)
{
    static char p[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof(p[i]), "%s/%s", tmpdir, name);
    return p[i];
}

/* ---- configuration ------------------------------------------------------------ */

static void test_sites_registry(void **state)
{
    tg_sites s;
    char err[512];
    const tg_site_entry *e;

    (void)state;
    write_file("fra.token", "  tok-fra-123\n");
    write_file("iad.token", "tok-iad-456");
    write_file("sites.yaml",
               "sites:\n"
               "  - name: fra\n"
               "    token_file: fra.token\n"
               "    api: \"http://127.0.0.1:9470\"\n"
               "  - {name: iad, token_file: iad.token, client_cert_cn: iad.example}\n");
    if (tg_sites_load(path("sites.yaml"), &s, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(s.n, 2);
    e = tg_sites_find(&s, "fra");
    assert_non_null(e);
    assert_string_equal(e->api, "http://127.0.0.1:9470");
    assert_true(tg_sites_token_ok(e, "tok-fra-123", 11));
    assert_false(tg_sites_token_ok(e, "tok-fra-124", 11));
    assert_false(tg_sites_token_ok(e, "tok-fra-12", 10));
    assert_false(tg_sites_token_ok(e, "", 0));
    assert_string_equal(tg_sites_find(&s, "iad")->client_cert_cn, "iad.example");
    assert_null(tg_sites_find(&s, "ord"));
    tg_sites_free(&s);

    write_file("bad1.yaml", "sites:\n  - name: fra\n    token_fil: fra.token\n");
    assert_int_equal(tg_sites_load(path("bad1.yaml"), &s, err, sizeof(err)), TG_ECONFIG);
    assert_non_null(strstr(err, "bad1.yaml:3:5: unknown key \"token_fil\" (did you mean "
                                "\"token_file\"?)"));
    write_file("bad2.yaml", "sites:\n  - name: fra\n    token_file: missing.token\n");
    assert_int_equal(tg_sites_load(path("bad2.yaml"), &s, err, sizeof(err)), TG_ECONFIG);
    assert_non_null(strstr(err, "bad2.yaml:3:17: cannot read a token"));
    write_file("bad3.yaml", "sites:\n  - name: \"fr a\"\n    token_file: fra.token\n");
    assert_int_equal(tg_sites_load(path("bad3.yaml"), &s, err, sizeof(err)), TG_ECONFIG);
    assert_non_null(strstr(err, "bad3.yaml:2:11:"));
    write_file("bad4.yaml", "sites:\n  - {name: fra, token_file: fra.token}\n"
                            "  - {name: fra, token_file: fra.token}\n");
    assert_int_equal(tg_sites_load(path("bad4.yaml"), &s, err, sizeof(err)), TG_ECONFIG);
    assert_non_null(strstr(err, "listed twice"));
}

static void test_configs(void **state)
{
    tg_central_config c;
    tg_forward_config f;
    char err[512];
    char *argv[] = {"central", "--config", NULL, "--listen", "127.0.0.1:1", NULL};

    (void)state;
    write_file("central.yaml", "listen: 0.0.0.0:9999\n"
                               "retention: {max_age: 7d, max_bytes: 1GiB}\n"
                               "status: {skew_warn: 250ms}\n");
    argv[2] = (char *)path("central.yaml");
    assert_int_equal(tg_central_config_from_args(5, argv, &c, err, sizeof(err)), 0);
    assert_string_equal(c.listen, "127.0.0.1:1"); /* flags override the file */
    assert_int_equal(c.max_age_sec, 7 * 86400);
    assert_int_equal(c.max_bytes, 1ull << 30);
    assert_int_equal(c.skew_warn_ms, 250);
    write_file("central_bad.yaml", "tls:\n  require_client_cert: true\n");
    tg_central_config_defaults(&c);
    assert_int_equal(
        tg_central_config_load(path("central_bad.yaml"), &c, err, sizeof(err)),
        TG_ECONFIG);
    assert_non_null(strstr(err, "central_bad.yaml:2:3:"));

    tg_forward_config_defaults(&f);
    {
        static const char good[] = "forward:\n  outbox:\n    max_bytes: 10MiB\n"
                                   "  retry: {initial: 1s, max: 2s}\n";
        assert_int_equal(tg_forward_config_load_buffer("f.yaml", good, strlen(good),
                                                       "forward", &f, err, sizeof(err)),
                         0);
    }
    assert_int_equal(f.outbox_max_bytes, 10u << 20);
    assert_int_equal(f.retry_max_ms, 2000);
    {
        static const char bad[] = "forward:\n  cost:\n    model: leased\n";
        assert_int_equal(tg_forward_config_load_buffer("f.yaml", bad, strlen(bad),
                                                       "forward", &f, err, sizeof(err)),
                         TG_ECONFIG);
        assert_non_null(
            strstr(err, "f.yaml:3:12: cost.model must be metered or amortised"));
    }
    {
        /* Another section of the same file is none of the forwarder's business. */
        static const char other[] = "site: fra\nforward:\n  jurisdiction: DE\n";
        assert_int_equal(tg_forward_config_load_buffer("f.yaml", other, strlen(other),
                                                       "forward", &f, err, sizeof(err)),
                         0);
        assert_string_equal(f.jurisdiction, "DE");
    }
}

/* ---- the store ------------------------------------------------------------------ */

static uint8_t *batch_blob(const char *site, uint64_t seq, double latency, size_t *len,
                           Tollgate__V1__Batch **decoded, tg_arena *a)
{
    Tollgate__V1__Batch b = TOLLGATE__V1__BATCH__INIT;
    Tollgate__V1__ServiceSpans ss = TOLLGATE__V1__SERVICE_SPANS__INIT, *ssp = &ss;
    Tollgate__V1__SpanSummary sp = TOLLGATE__V1__SPAN_SUMMARY__INIT, *spp = &sp;
    Tollgate__V1__RedRecord r = TOLLGATE__V1__RED_RECORD__INIT, *rp = &r;
    Tollgate__V1__LogTemplate l = TOLLGATE__V1__LOG_TEMPLATE__INIT, *lp = &l;
    Tollgate__V1__CostRecord c = TOLLGATE__V1__COST_RECORD__INIT, *cp = &c;
    uint8_t ids[24];
    tg_exphist h;
    tg_arena ha;
    uint8_t *out;
    size_t raw;

    for (int i = 0; i < 24; i++)
        ids[i] = (uint8_t)(seq * 31 + (uint64_t)i);
    sp.trace_id.data = ids;
    sp.trace_id.len = 16;
    sp.span_id.data = ids + 16;
    sp.span_id.len = 8;
    sp.name = "GET /";
    sp.start_offset_ns = 5;
    sp.duration_ns = 100;
    ss.service = "svc";
    ss.spans = &spp;
    ss.n_spans = 1;
    tg_arena_init(&ha, 4096, 0);
    tg_exphist_init(&h);
    tg_exphist_record(&h, latency);
    r.service = "svc";
    r.operation = "GET /";
    r.kind = 2;
    r.minute_unix = 1700000040;
    r.requests = 1;
    r.errors = 0;
    r.latency_seconds = tg_exphist_to_pb(&h, &ha);
    l.service = "svc";
    l.template_ = "done <num>";
    l.template_id = 42;
    l.minute_unix = 1700000040;
    l.count = 2;
    l.severity_number = 9;
    c.service = "svc";
    c.meter = "gpu-seconds";
    c.hour_unix = 1699999200;
    c.consumed_quantity = 10;
    c.effective_cost = 0.5;
    c.currency = "EUR";
    b.site = (char *)site;
    b.sequence = seq;
    b.base_time_unix_nano = 1700000000000000000ull;
    b.spans = &ssp;
    b.n_spans = 1;
    b.red = &rp;
    b.n_red = 1;
    b.logs = &lp;
    b.n_logs = 1;
    b.costs = &cp;
    b.n_costs = 1;
    assert_int_equal(tg_wire_pack_batch(&b, 2, 1, &out, len, &raw), 0);
    assert_int_equal(tg_wire_unpack_batch(out, *len, 1 << 20, a, decoded, NULL), 0);
    tg_arena_destroy(&ha);
    return out;
}

static int apply(tg_cstore *cs, const char *site, const uint8_t *epoch, uint64_t seq,
                 double latency, tg_cstore_result *r)
{
    tg_arena a;
    Tollgate__V1__Batch *b;
    size_t len;
    uint8_t *z;
    tg_cstore_upload u;
    int rc;

    tg_arena_init(&a, 16384, 0);
    z = batch_blob(site, seq, latency, &len, &b, &a);
    memset(&u, 0, sizeof(u));
    u.site = site;
    u.epoch = epoch;
    u.seq = seq;
    u.batch = b;
    u.zstd = z;
    u.zlen = len;
    u.version = 2;
    u.now_ns = 1800000000000000000ull;
    rc = tg_cstore_apply(cs, &u, r);
    free(z);
    tg_arena_destroy(&a);
    return rc;
}

typedef struct lines {
    json_t *v[256];
    size_t n;
} lines;

static lines export_lines(tg_cstore *cs)
{
    lines L = {{0}, 0};
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    char *p, *save = NULL;

    assert_int_equal(tg_central_export(cs, f), 0);
    fclose(f);
    for (p = strtok_r(buf, "\n", &save); p && L.n < 256;
         p = strtok_r(NULL, "\n", &save)) {
        json_error_t e;
        L.v[L.n] = json_loads(p, 0, &e);
        assert_non_null(L.v[L.n]);
        L.n++;
    }
    free(buf);
    return L;
}

static size_t count_type(const lines *L, const char *type)
{
    size_t n = 0;
    for (size_t i = 0; i < L->n; i++)
        if (strcmp(json_string_value(json_object_get(L->v[i], "type")), type) == 0)
            n++;
    return n;
}

static json_t *first_of(const lines *L, const char *type)
{
    for (size_t i = 0; i < L->n; i++)
        if (strcmp(json_string_value(json_object_get(L->v[i], "type")), type) == 0)
            return L->v[i];
    return NULL;
}

static void test_store_idempotent_and_merging(void **state)
{
    tg_cstore_options o;
    tg_cstore *cs;
    tg_cstore_result r;
    uint8_t e1[16] = {1}, e2[16] = {2};
    int err;
    lines L;
    json_t *red, *cost, *log;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.no_sync = 1;
    cs = tg_cstore_open(path("cs"), &o, &err);
    assert_non_null(cs);
    assert_int_equal(apply(cs, "fra", e1, 1, 0.1, &r), 0);
    assert_false(r.duplicate);
    assert_int_equal(apply(cs, "fra", e1, 2, 0.2, &r), 0);
    assert_int_equal(apply(cs, "fra", e1, 2, 0.2, &r), 0); /* a retry */
    assert_true(r.duplicate);
    assert_int_equal(r.last_seq, 2);
    assert_int_equal(apply(cs, "fra", e1, 1, 0.1, &r), 0); /* an old retry */
    assert_true(r.duplicate);
    assert_int_equal(apply(cs, "iad", e2, 1, 5.0, &r), 0);
    /* fra's outbox was wiped: a new epoch starts a new series at 1. */
    assert_int_equal(apply(cs, "fra", e2, 1, 0.4, &r), 0);
    assert_false(r.duplicate);

    L = export_lines(cs);
    assert_int_equal(count_type(&L, "site"), 2);
    /* fra's first epoch keeps its 1 and 2 beside the new epoch's 1 (the
     * key is (site, epoch, sequence): nothing is overwritten); iad 1. */
    assert_int_equal(count_type(&L, "batch"), 4);
    assert_int_equal(count_type(&L, "span"), 4);
    /* RED rows merge per site: fra's three batches add up, iad apart. */
    assert_int_equal(count_type(&L, "red"), 2);
    red = first_of(&L, "red");
    assert_string_equal(json_string_value(json_object_get(red, "site")), "fra");
    assert_int_equal(json_integer_value(json_object_get(red, "requests")), 3);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(red, "latencySeconds"), "count")),
                     3);
    assert_string_equal(json_string_value(json_object_get(red, "minute")),
                        "2023-11-14T22:14:00Z");
    log = first_of(&L, "log");
    assert_int_equal(json_integer_value(json_object_get(log, "count")), 6);
    assert_string_equal(json_string_value(json_object_get(log, "severityText")), "INFO");
    cost = first_of(&L, "cost");
    assert_true(json_real_value(json_object_get(cost, "ConsumedQuantity")) == 30);
    assert_true(json_real_value(json_object_get(cost, "EffectiveCost")) == 1.5);
    assert_string_equal(json_string_value(json_object_get(cost, "ChargePeriodStart")),
                        "2023-11-14T22:00:00Z");
    assert_string_equal(json_string_value(json_object_get(cost, "ChargePeriodEnd")),
                        "2023-11-14T23:00:00Z");
    assert_string_equal(json_string_value(json_object_get(cost, "BillingCurrency")),
                        "EUR");
    {
        json_t *sp = first_of(&L, "span");
        assert_int_equal(strlen(json_string_value(json_object_get(sp, "traceId"))), 32);
        assert_string_equal(json_string_value(json_object_get(sp, "startTimeUnixNano")),
                            "1700000000000000005");
    }
    for (size_t i = 0; i < L.n; i++)
        json_decref(L.v[i]);

    tg_cstore_close(cs);
}

static void test_store_retention(void **state)
{
    tg_cstore_options o;
    tg_cstore *cs;
    tg_cstore_result r;
    tg_cstore_stats st;
    uint8_t e1[16] = {7};
    int err;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.no_sync = 1;
    o.max_bytes = 1; /* everything over budget: only what retention must drop */
    cs = tg_cstore_open(path("cs2"), &o, &err);
    assert_non_null(cs);
    for (uint64_t s = 1; s <= 5; s++)
        assert_int_equal(apply(cs, "fra", e1, s, 0.1, &r), 0);
    tg_cstore_get_stats(cs, &st);
    assert_int_equal(st.batches, 5);
    assert_int_equal(tg_cstore_retain(cs, 1800000000000000000ull), 0);
    tg_cstore_get_stats(cs, &st);
    assert_int_equal(st.batches, 0);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.evicted_batches, 5);
    /* Retention never rewinds the sequence: a late retry stays a duplicate. */
    assert_int_equal(apply(cs, "fra", e1, 3, 0.1, &r), 0);
    assert_true(r.duplicate);
    tg_cstore_close(cs);
}

/* Issue 15: a site's epoch change never overwrites or re-accepts an earlier
 * epoch's batches, and a sequence far past the last is refused. */
static void test_store_epochs_airtight(void **state)
{
    tg_cstore_options o;
    tg_cstore *cs;
    tg_cstore_result r;
    uint8_t e1[16] = {1}, e2[16] = {2}, e3[16] = {3};
    int err;
    lines L;
    json_t *site;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.no_sync = 1;
    o.seq_window = 1000;
    cs = tg_cstore_open(path("cs-epochs"), &o, &err);
    assert_non_null(cs);
    assert_int_equal(apply(cs, "fra", e1, 1, 0.1, &r), 0);
    assert_int_equal(apply(cs, "fra", e1, 2, 0.1, &r), 0);
    assert_int_equal(apply(cs, "fra", e1, 3, 0.1, &r), 0);
    /* the outbox was wiped: e2 starts at 1 */
    assert_int_equal(apply(cs, "fra", e2, 1, 0.1, &r), 0);
    assert_false(r.duplicate);
    assert_int_equal(r.refused, TG_CSTORE_OK);
    assert_true(r.epoch_changed);
    /* a replayed batch of e1, under a sequence e2 has not reached */
    assert_int_equal(apply(cs, "fra", e1, 4, 0.1, &r), 0);
    assert_int_equal(r.refused, TG_CSTORE_OLD_EPOCH);
    assert_int_equal(apply(cs, "fra", e1, 2, 0.1, &r), 0);
    assert_int_equal(r.refused, TG_CSTORE_OLD_EPOCH);
    /* e2 is still the current series */
    assert_int_equal(apply(cs, "fra", e2, 2, 0.1, &r), 0);
    assert_int_equal(r.refused, TG_CSTORE_OK);
    assert_int_equal(r.last_seq, 2);
    /* far ahead: 2^63, and one past the window */
    assert_int_equal(apply(cs, "fra", e2, 1ull << 63, 0.1, &r), 0);
    assert_int_equal(r.refused, TG_CSTORE_AHEAD);
    assert_int_equal(apply(cs, "fra", e2, 2 + 1001, 0.1, &r), 0);
    assert_int_equal(r.refused, TG_CSTORE_AHEAD);
    assert_int_equal(r.last_seq, 2);
    /* ... and the legitimate next one still goes in */
    assert_int_equal(apply(cs, "fra", e2, 3, 0.1, &r), 0);
    assert_int_equal(r.refused, TG_CSTORE_OK);
    assert_false(r.duplicate);
    /* a far-ahead first batch of a brand-new epoch is refused too */
    assert_int_equal(apply(cs, "fra", e3, 5000, 0.1, &r), 0);
    assert_int_equal(r.refused, TG_CSTORE_AHEAD);

    L = export_lines(cs);
    /* e1: 1, 2, 3; e2: 1, 2, 3 */
    assert_int_equal(count_type(&L, "batch"), 6);
    assert_int_equal(count_type(&L, "span"), 6);
    site = first_of(&L, "site");
    assert_int_equal(json_integer_value(json_object_get(site, "lastSequence")), 3);
    assert_int_equal(json_integer_value(json_object_get(site, "refusedOldEpoch")), 2);
    assert_int_equal(json_integer_value(json_object_get(site, "refusedAhead")), 3);
    assert_int_equal(json_integer_value(json_object_get(site, "gaps")), 0);
    for (size_t i = 0; i < L.n; i++)
        json_decref(L.v[i]);
    tg_cstore_close(cs);
}

/* A format-1 store (batches keyed site, seq) is rekeyed under its site's
 * epoch when opened, and keeps every batch. */
static void test_store_migrates_v1(void **state)
{
    const char *dir = path("cs-v1");
    tg_cstore_options o;
    tg_cstore *cs;
    tg_cstore_result r;
    uint8_t e1[16] = {7}, e2[16] = {8};
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, batches;
    MDB_cursor *cur;
    MDB_val k, v;
    int err;
    lines L;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.no_sync = 1;
    cs = tg_cstore_open(dir, &o, &err);
    assert_non_null(cs);
    assert_int_equal(apply(cs, "fra", e1, 1, 0.1, &r), 0);
    assert_int_equal(apply(cs, "fra", e1, 2, 0.1, &r), 0);
    tg_cstore_close(cs);
    /* Turn it back into format 1: strip the epoch from each batch key. */
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_set_mapsize(env, (size_t)64 << 30), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_dbi_open(txn, "batches", 0, &batches), 0);
    {
        uint8_t one[8] = {0, 0, 0, 0, 0, 0, 0, 1};
        MDB_val fk = {6, (void *)"format"}, fv = {8, one};
        assert_int_equal(mdb_put(txn, meta, &fk, &fv, 0), 0);
    }
    for (int pass = 0; pass < 2; pass++) {
        uint8_t nk[64], val[4096];
        size_t vl;
        assert_int_equal(mdb_cursor_open(txn, batches, &cur), 0);
        assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
        while (k.mv_size != 4 + 16 + 8)
            assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_NEXT), 0);
        assert_true(v.mv_size <= sizeof(val));
        memcpy(nk, k.mv_data, 4);
        memcpy(nk + 4, (uint8_t *)k.mv_data + 20, 8);
        memcpy(val, v.mv_data, v.mv_size);
        vl = v.mv_size;
        assert_int_equal(mdb_cursor_del(cur, 0), 0);
        mdb_cursor_close(cur);
        k.mv_size = 12;
        k.mv_data = nk;
        v.mv_size = vl;
        v.mv_data = val;
        assert_int_equal(mdb_put(txn, batches, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    cs = tg_cstore_open(dir, &o, &err);
    assert_non_null(cs);
    /* both batches survive, and the epoch rules hold for them */
    L = export_lines(cs);
    assert_int_equal(count_type(&L, "batch"), 2);
    assert_string_equal(
        json_string_value(json_object_get(first_of(&L, "batch"), "epoch")),
        "07000000000000000000000000000000");
    for (size_t i = 0; i < L.n; i++)
        json_decref(L.v[i]);
    assert_int_equal(apply(cs, "fra", e1, 2, 0.1, &r), 0);
    assert_true(r.duplicate);
    assert_int_equal(apply(cs, "fra", e2, 1, 0.1, &r), 0);
    assert_int_equal(apply(cs, "fra", e1, 3, 0.1, &r), 0);
    assert_int_equal(r.refused, TG_CSTORE_OLD_EPOCH);
    tg_cstore_close(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sites_registry),
        cmocka_unit_test(test_configs),
        cmocka_unit_test(test_store_idempotent_and_merging),
        cmocka_unit_test(test_store_retention),
        cmocka_unit_test(test_store_epochs_airtight),
        cmocka_unit_test(test_store_migrates_v1),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
