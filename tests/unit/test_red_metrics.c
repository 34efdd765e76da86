/* The centre's RED in Prometheus exposition: sums over minutes and
 * batches, per site, latency as cumulative le buckets, labels escaped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tg_arena.h"
#include "tg_central.h"
#include "tg_exphist.h"
#include "tg_wire.h"

static char tmpdir[64];

/* Applies one batch holding one RED row (n requests at `latency`). */
static void apply_red(tg_cstore *cs, const char *site, uint64_t seq, const char *op,
                      int64_t minute, uint64_t n, uint64_t errors, double latency)
{
    static const uint8_t epoch[16] = {1, 2, 3};
    Tollgate__V1__Batch b = TOLLGATE__V1__BATCH__INIT, *decoded;
    Tollgate__V1__RedRecord r = TOLLGATE__V1__RED_RECORD__INIT, *rp = &r;
    tg_arena a, ha;
    tg_exphist h;
    tg_cstore_upload u;
    tg_cstore_result res;
    uint8_t *z;
    size_t len, raw;

    tg_arena_init(&a, 16384, 0);
    tg_arena_init(&ha, 4096, 0);
    tg_exphist_init(&h);
    for (uint64_t i = 0; i < n; i++)
        tg_exphist_record(&h, latency);
    r.service = "checkout";
    r.operation = (char *)op;
    r.kind = 2;
    r.minute_unix = minute;
    r.requests = n;
    r.errors = errors;
    r.latency_seconds = tg_exphist_to_pb(&h, &ha);
    b.site = (char *)site;
    b.sequence = seq;
    b.base_time_unix_nano = 1700000000000000000ull;
    b.red = &rp;
    b.n_red = 1;
    assert_int_equal(tg_wire_pack_batch(&b, 2, 1, &z, &len, &raw), 0);
    assert_int_equal(tg_wire_unpack_batch(z, len, 1 << 20, &a, &decoded, NULL), 0);
    memset(&u, 0, sizeof(u));
    u.site = site;
    u.epoch = epoch;
    u.seq = seq;
    u.batch = decoded;
    u.zstd = z;
    u.zlen = len;
    u.version = 2;
    u.now_ns = 1700000100000000000ull;
    assert_int_equal(tg_cstore_apply(cs, &u, &res), 0);
    assert_int_equal(res.duplicate, 0);
    free(z);
    tg_arena_destroy(&a);
    tg_arena_destroy(&ha);
}

static void test_red_exposition(void **state)
{
    tg_cstore_options o = {.no_sync = 1};
    tg_strbuf b = {0};
    tg_cstore *cs;
    int err;
    (void)state;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/tg_red_test_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    assert_non_null(cs = tg_cstore_open(tmpdir, &o, &err));
    /* fra: minute 1 in two batches, minute 2 in a third. nyc: one. */
    apply_red(cs, "fra", 1, "GET /cart", 1700000040, 3, 1, 0.003);
    apply_red(cs, "fra", 2, "GET /cart", 1700000040, 2, 0, 0.2);
    apply_red(cs, "fra", 3, "GET /cart", 1700000100, 5, 2, 0.04);
    apply_red(cs, "nyc", 1, "GET /cart", 1700000040, 7, 0, 3.0);
    apply_red(cs, "nyc", 2, "say \"hi\"\n", 1700000040, 1, 0, 0.001);

    assert_int_equal(tg_central_red_metrics(cs, &b), 0);
    assert_non_null(b.p);
    assert_non_null(strstr(b.p, "# TYPE tollgate_red_requests_total counter\n"));
    assert_non_null(
        strstr(b.p, "tollgate_red_requests_total{site=\"fra\",service=\"checkout\","
                    "operation=\"GET /cart\",kind=\"server\"} 10\n"));
    assert_non_null(strstr(b.p,
                           "tollgate_red_errors_total{site=\"fra\",service=\"checkout\","
                           "operation=\"GET /cart\",kind=\"server\"} 3\n"));
    assert_non_null(
        strstr(b.p, "tollgate_red_requests_total{site=\"nyc\",service=\"checkout\","
                    "operation=\"GET /cart\",kind=\"server\"} 7\n"));
    /* fra's latencies: 3 x 3 ms, 5 x 40 ms, 2 x 200 ms. */
    assert_non_null(strstr(b.p,
                           "tollgate_red_latency_seconds_bucket{site=\"fra\",service="
                           "\"checkout\",operation=\"GET /cart\",kind=\"server\",le="
                           "\"0.005\"} 3\n"));
    assert_non_null(strstr(b.p,
                           "tollgate_red_latency_seconds_bucket{site=\"fra\",service="
                           "\"checkout\",operation=\"GET /cart\",kind=\"server\",le="
                           "\"0.05\"} 8\n"));
    assert_non_null(strstr(b.p,
                           "tollgate_red_latency_seconds_bucket{site=\"fra\",service="
                           "\"checkout\",operation=\"GET /cart\",kind=\"server\",le="
                           "\"0.25\"} 10\n"));
    assert_non_null(strstr(b.p,
                           "tollgate_red_latency_seconds_bucket{site=\"fra\",service="
                           "\"checkout\",operation=\"GET /cart\",kind=\"server\",le="
                           "\"+Inf\"} 10\n"));
    assert_non_null(strstr(b.p,
                           "tollgate_red_latency_seconds_count{site=\"fra\",service="
                           "\"checkout\",operation=\"GET /cart\",kind=\"server\"} 10\n"));
    /* nyc's 3 s requests sit under le=5 only. */
    assert_non_null(strstr(b.p,
                           "tollgate_red_latency_seconds_bucket{site=\"nyc\",service="
                           "\"checkout\",operation=\"GET /cart\",kind=\"server\",le="
                           "\"2.5\"} 0\n"));
    assert_non_null(strstr(b.p,
                           "tollgate_red_latency_seconds_bucket{site=\"nyc\",service="
                           "\"checkout\",operation=\"GET /cart\",kind=\"server\",le="
                           "\"5\"} 7\n"));
    /* A quote and a newline in an operation are escaped. */
    assert_non_null(strstr(b.p, "operation=\"say \\\"hi\\\"\\n\""));
    assert_non_null(strstr(b.p, "tollgate_red_series_dropped 0\n"));
    free(b.p);
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
        cmocka_unit_test(test_red_exposition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
