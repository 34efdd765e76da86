/* tg_money: exact decimal parsing, one half-even rounding, formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tg_err.h"
#include "tg_money.h"

static void test_parse(void **state)
{
    static const struct {
        const char *in;
        int rc;
        int64_t want;
    } c[] = {
        {"12", 0, 12000000},
        {"0.5", 0, 500000},
        {"-0.5", 0, -500000},
        {"0.000003", 0, 3},
        {"98.32", 0, 98320000},
        {"+1.25", 0, 1250000},
        {"0.0000001", TG_EINVAL, 0}, /* seventh digit: refused, not rounded */
        {"1e-3", TG_EINVAL, 0},
        {"", TG_EINVAL, 0},
        {".", TG_EINVAL, 0},
        {"1.", TG_EINVAL, 0},
        {"1.2.3", TG_EINVAL, 0},
        {"abc", TG_EINVAL, 0},
        {"9223372036854.775807", 0, INT64_MAX},
        {"9223372036855", TG_ETOO_BIG, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        tg_money m = 42;
        int rc = tg_money_parse(c[i].in, &m);
        if (rc != c[i].rc)
            fail_msg("parse(\"%s\") = %d, want %d", c[i].in, rc, c[i].rc);
        if (rc == 0 && m != c[i].want)
            fail_msg("parse(\"%s\") = %lld, want %lld", c[i].in, (long long)m,
                     (long long)c[i].want);
        if (rc != 0 && m != 42)
            fail_msg("parse(\"%s\") wrote on failure", c[i].in);
    }
}

static void test_decimal(void **state)
{
    int64_t v;
    (void)state;
    assert_int_equal(tg_decimal_parse("1.4", 3, &v), 0);
    assert_int_equal(v, 1400);
    assert_int_equal(tg_decimal_parse("0.7", 3, &v), 0);
    assert_int_equal(v, 700);
    assert_int_equal(tg_decimal_parse("1.2345", 3, &v), TG_EINVAL);
}

static void test_muldiv_half_even(void **state)
{
    int64_t v;
    (void)state;
    /* 5 / 2 = 2.5 -> 2 (even); 7 / 2 = 3.5 -> 4; -5/2 -> -2; 1/3 -> 0 */
    assert_int_equal(tg_money_muldiv(5, 1, 2, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(tg_money_muldiv(7, 1, 2, &v), 0);
    assert_int_equal(v, 4);
    assert_int_equal(tg_money_muldiv(-5, 1, 2, &v), 0);
    assert_int_equal(v, -2);
    assert_int_equal(tg_money_muldiv(-7, 1, 2, &v), 0);
    assert_int_equal(v, -4);
    assert_int_equal(tg_money_muldiv(2, 1, 3, &v), 0);
    assert_int_equal(v, 1);
    /* the product (9.8e19) is past 64 bits and still exact: 98.32 x 10^12 /
     * 3.6 x 10^12 = 27.3111111... -> 27.311111 */
    assert_int_equal(tg_money_muldiv(98320000, 1000000000000LL, 3600 * 1000000000LL, &v),
                     0);
    assert_int_equal(v, 27311111);
    assert_int_equal(tg_money_muldiv(INT64_MAX, 2, 1, &v), TG_ETOO_BIG);
    assert_int_equal(tg_money_muldiv(1, 1, 0, &v), TG_EINVAL);
}

static void test_round_and_format(void **state)
{
    char buf[32];
    (void)state;
    assert_int_equal(tg_money_round_minor(12345000, 2), 12340000); /* 12.345 -> 12.34 */
    assert_int_equal(tg_money_round_minor(12355000, 2), 12360000); /* 12.355 -> 12.36 */
    assert_int_equal(tg_money_round_minor(12345001, 2), 12350000);
    assert_int_equal(tg_money_round_minor(-12345000, 2), -12340000);
    assert_int_equal(tg_money_round_minor(500000, 0), 0); /* 0.5 -> 0 */
    assert_int_equal(tg_money_round_minor(1500000, 0), 2000000);
    assert_int_equal(tg_money_format(12345000, 2, buf, sizeof buf), 5);
    assert_string_equal(buf, "12.34");
    tg_money_format(-3, 6, buf, sizeof buf);
    assert_string_equal(buf, "-0.000003");
    tg_money_format(-3, 2, buf, sizeof buf);
    assert_string_equal(buf, "0.00"); /* rounds to zero: no "-0.00" */
    tg_money_format(1000000000, 0, buf, sizeof buf);
    assert_string_equal(buf, "1000");
    tg_money_format(INT64_MIN + 1, 6, buf, sizeof buf);
    assert_string_equal(buf, "-9223372036854.775807");
    assert_int_equal(tg_money_format(12345000, 2, buf, 5), -1);
    assert_int_equal(tg_currency_minor("USD"), 2);
    assert_int_equal(tg_currency_minor("JPY"), 0);
    assert_int_equal(tg_currency_minor("KWD"), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_muldiv_half_even),
        cmocka_unit_test(test_round_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
