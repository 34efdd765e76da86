/* tg_units: the one size and duration grammar. It is the union of the
 * three it replaced, so each old grammar's forms are listed here by origin:
 * the collector's config (integers, KB/KiB units, compound durations), the
 * forwarder's and centre's configs (fractions, one-letter size units, bare
 * seconds, w and y), and the policy files' retention (s m h d w y). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tg_err.h"
#include "tg_units.h"

struct tcase {
    const char *in;
    int rc;
    uint64_t want;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void run(const struct tcase *c, size_t n, int (*fn)(const char *, uint64_t *),
                const char *what)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 12345;
        int rc = fn(c[i].in, &v);
        if (rc != c[i].rc)
            fail_msg("%s(\"%s\") = %d, want %d", what, c[i].in, rc, c[i].rc);
        if (rc == 0 && v != c[i].want)
            fail_msg("%s(\"%s\") = %llu, want %llu", what, c[i].in, (unsigned long long)v,
                     (unsigned long long)c[i].want);
        if (rc != 0 && v != 12345)
            fail_msg("%s(\"%s\") wrote its output on failure", what, c[i].in);
    }
}

static void test_size_collector_forms(void **state)
{
    static const struct tcase c[] = {
        {"0", 0, 0},
        {"512", 0, 512},
        {"512B", 0, 512},
        {"512b", 0, 512},
        {"1KB", 0, 1000},
        {"1kb", 0, 1000},
        {"1MB", 0, 1000000},
        {"1GB", 0, 1000000000ull},
        {"1TB", 0, 1000000000000ull},
        {"1KiB", 0, 1024},
        {"64MiB", 0, 64ull << 20},
        {"64 MiB", 0, 64ull << 20},
        {"2  GiB", 0, 2ull << 30},
        {"12 ", 0, 12}, /* spaces before an empty unit, as before */
        {"3TiB", 0, 3ull << 40},
        {"18446744073709551615", 0, UINT64_MAX},
        {"16777215TiB", 0, 16777215ull << 40},
    };
    (void)state;
    run(c, N(c), tg_parse_size, "tg_parse_size");
}

static void test_size_forwarder_forms(void **state)
{
    static const struct tcase c[] = {
        {"1k", 0, 1000},
        {"1K", 0, 1000},
        {"2m", 0, 2000000},
        {"3g", 0, 3000000000ull},
        {"1t", 0, 1000000000000ull},
        {"64mib", 0, 64ull << 20},
        {"1 gb", 0, 1000000000ull},
        {"1tib", 0, 1ull << 40},
        {"1.5GiB", 0, 3ull << 29},
        {"0.5KB", 0, 500},
        {"1.5 MiB", 0, 3ull << 19},
        {".5K", 0, 500},
        {"5.", 0, 5},
        {"1.5", 0, 1},  /* rounded down to a whole byte */
        {"0.1B", 0, 0}, /* likewise */
        {"1.1TiB", 0, 1209462790553ull},
        {"0.000000000000000000001TiB", 0, 0},
        {"18446744073709551.615KB", 0, UINT64_MAX},
    };
    (void)state;
    run(c, N(c), tg_parse_size, "tg_parse_size");
}

static void test_size_rejections(void **state)
{
    static const struct tcase c[] = {
        {"", TG_EINVAL, 0},
        {"MiB", TG_EINVAL, 0},
        {".", TG_EINVAL, 0},
        {"-1", TG_EINVAL, 0},
        {"+5", TG_EINVAL, 0},
        {" 12", TG_EINVAL, 0},
        {"12XB", TG_EINVAL, 0},
        {"10 GigaBytes", TG_EINVAL, 0},
        {"1 2", TG_EINVAL, 0},
        {"1.5.5", TG_EINVAL, 0},
        {"1e3", TG_EINVAL, 0},
        {"0x10", TG_EINVAL, 0},
        {"inf", TG_EINVAL, 0},
        {"18446744073709551616", TG_EINVAL, 0},    /* the number overflows */
        {"16777216TiB", TG_EINVAL, 0},             /* 2^64: the product overflows */
        {"18446744073709551.616KB", TG_EINVAL, 0}, /* the fraction tips it over */
    };
    const char *why;
    uint64_t v;

    (void)state;
    run(c, N(c), tg_parse_size, "tg_parse_size");
    assert_int_equal(tg_parse_size(NULL, &v), TG_EINVAL);
    assert_int_equal(tg_parse_size_why("16777216TiB", &v, &why), TG_EINVAL);
    assert_string_equal(why, "too large");
    assert_int_equal(tg_parse_size_why("12XB", &v, &why), TG_EINVAL);
    assert_string_equal(why, "invalid");
}

static void test_duration_collector_forms(void **state)
{
    static const struct tcase c[] = {
        {"0", 0, 0},
        {"0s", 0, 0},
        {"250ms", 0, 250},
        {"30s", 0, 30000},
        {"5m", 0, 300000},
        {"2h", 0, 7200000},
        {"7d", 0, 604800000},
        {"1h30m", 0, 5400000},
        {"1s500ms", 0, 1500},
        {"1m1ms", 0, 60001},
        {"213503982334d", 0, 213503982334ull * 86400000ull},
        {"18446744073709551615ms", 0, UINT64_MAX},
    };
    (void)state;
    run(c, N(c), tg_parse_duration_ms, "tg_parse_duration_ms");
}

static void test_duration_forwarder_forms(void **state)
{
    static const struct tcase c[] = {
        {"30", 0, 30000}, /* a bare number is seconds */
        {"0.25", 0, 250},
        {"1.5s", 0, 1500},
        {"0.5ms", 0, 0}, /* rounded down to a whole millisecond */
        {"1.5h", 0, 5400000},
        {"2w", 0, 2 * 7 * 86400000ull},
        {"1y", 0, 365 * 86400000ull},
        {"0.5d", 0, 43200000},
        {"1h0.5m", 0, 3630000},
    };
    (void)state;
    run(c, N(c), tg_parse_duration_ms, "tg_parse_duration_ms");
}

static void test_duration_policy_forms(void **state)
{
    static const struct tcase c[] = {
        {"30d", 0, 30 * 86400000ull},   {"12h", 0, 12 * 3600000ull},
        {"90m", 0, 90 * 60000ull},      {"45s", 0, 45000},
        {"2w", 0, 14 * 86400000ull},    {"1y", 0, 365 * 86400000ull},
        {"10y", 0, 3650 * 86400000ull},
    };
    (void)state;
    run(c, N(c), tg_parse_duration_ms, "tg_parse_duration_ms");
}

static void test_duration_rejections(void **state)
{
    static const struct tcase c[] = {
        {"", TG_EINVAL, 0},
        {"s", TG_EINVAL, 0},
        {"5x", TG_EINVAL, 0},
        {"-5s", TG_EINVAL, 0},
        {"5 s", TG_EINVAL, 0},
        {"1h 30m", TG_EINVAL, 0},
        {"30S", TG_EINVAL, 0}, /* units are case-sensitive: "M" could be months */
        {"1.5.s", TG_EINVAL, 0},
        {"7 days", TG_EINVAL, 0},
        {"3 days", TG_EINVAL, 0},
        {"forever", TG_EINVAL, 0}, /* a retention keyword, not a duration */
        {"1e3s", TG_EINVAL, 0},
        {"30s5", TG_EINVAL, 0},
        {"213503982335d", TG_EINVAL, 0},             /* the product overflows */
        {"18446744073709551615ms1ms", TG_EINVAL, 0}, /* the sum overflows */
        {"99999999999999999999s", TG_EINVAL, 0},     /* the number overflows */
        {"18446744073709552", TG_EINVAL, 0},         /* bare seconds overflow in ms */
    };
    const char *why;
    uint64_t v;

    (void)state;
    run(c, N(c), tg_parse_duration_ms, "tg_parse_duration_ms");
    assert_int_equal(tg_parse_duration_ms(NULL, &v), TG_EINVAL);
    assert_int_equal(tg_parse_duration_why("213503982335d", &v, &why), TG_EINVAL);
    assert_string_equal(why, "too large");
    assert_int_equal(tg_parse_duration_why("5x", &v, &why), TG_EINVAL);
    assert_string_equal(why, "invalid");
}

static void test_format_duration(void **state)
{
    static const struct {
        double s;
        const char *want;
    } cases[] = {{-1, "-"},      {0, "0s"},        {40, "40s"},     {119, "119s"},
                 {120, "2m"},    {840, "14m"},     {7199, "120m"},  {7200, "2.0h"},
                 {9000, "2.5h"}, {172800, "2.0d"}, {259200, "3.0d"}};
    char buf[16];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tg_format_duration_s(cases[i].s, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_duration),
        cmocka_unit_test(test_size_collector_forms),
        cmocka_unit_test(test_size_forwarder_forms),
        cmocka_unit_test(test_size_rejections),
        cmocka_unit_test(test_duration_collector_forms),
        cmocka_unit_test(test_duration_forwarder_forms),
        cmocka_unit_test(test_duration_policy_forms),
        cmocka_unit_test(test_duration_rejections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
