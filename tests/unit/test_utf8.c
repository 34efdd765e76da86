/* tg_utf8: the one validator, with what each former copy relied on: the
 * OTLP decoder (NUL noted in the same pass), the rules engine (PCRE2's
 * UTF mode is run only on what it accepts), the gRPC grpc-message and
 * OTLP/JSON output (bad bytes replaced one at a time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tg_utf8.h"

static void test_valid(void **state)
{
    (void)state;
    assert_true(tg_utf8_valid("", 0));
    assert_true(tg_utf8_valid("plain ascii, longer than eight bytes", 36));
    assert_true(tg_utf8_valid("\xc2\x80", 2));          /* U+0080 */
    assert_true(tg_utf8_valid("\xdf\xbf", 2));          /* U+07FF */
    assert_true(tg_utf8_valid("\xe0\xa0\x80", 3));      /* U+0800 */
    assert_true(tg_utf8_valid("\xed\x9f\xbf", 3));      /* U+D7FF */
    assert_true(tg_utf8_valid("\xee\x80\x80", 3));      /* U+E000 */
    assert_true(tg_utf8_valid("\xef\xbf\xbf", 3));      /* U+FFFF */
    assert_true(tg_utf8_valid("\xf0\x90\x80\x80", 4));  /* U+10000 */
    assert_true(tg_utf8_valid("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
    assert_true(tg_utf8_valid("a\0b", 3));              /* NUL is UTF-8 */
    assert_true(tg_utf8_valid("12345678\xc3\xa9", 10)); /* after a fast run */
    assert_true(tg_utf8_valid("caf\xc3\xa9 \xe2\x82\xac", 9));
}

static void test_invalid(void **state)
{
    static const char *const bad[] = {
        "\x80",             /* lone continuation */
        "\xbf",             /* lone continuation */
        "\xc0\xaf",         /* overlong '/' */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong */
        "\xe0\x9f\xbf",     /* overlong U+07FF */
        "\xf0\x8f\xbf\xbf", /* overlong U+FFFF */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xed\xbf\xbf",     /* surrogate U+DFFF */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80", /* past U+10FFFF */
        "\xff",
        "\xfe",
        "\xe2\x82",     /* truncated */
        "\xf0\x9f\x98", /* truncated */
        "\xc3\xa9\xc3", /* truncated at the end */
        "\xc3(",        /* bad continuation */
        "\xe2\x28\xa1", /* bad continuation */
        "abcdefgh\x80", /* after a fast run */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int nul = 0;
        assert_false(tg_utf8_valid(bad[i], strlen(bad[i])));
        assert_false(tg_utf8_check(bad[i], strlen(bad[i]), &nul));
    }
    /* a counted slice ends where it says, even inside a sequence */
    assert_false(tg_utf8_valid("\xc3\xa9", 1));
    assert_true(tg_utf8_valid("ab\xc3\xa9", 2));
}

static void test_check_notes_nul(void **state)
{
    int nul = 0;

    (void)state;
    assert_true(tg_utf8_check("no nul here, long enough", 24, &nul));
    assert_int_equal(nul, 0);
    assert_true(tg_utf8_check("ab\0", 3, &nul)); /* short tail */
    assert_int_equal(nul, 1);
    nul = 0;
    assert_true(tg_utf8_check("abcdefg\0ijklmnop", 16, &nul)); /* in a word */
    assert_int_equal(nul, 1);
    nul = 0;
    assert_true(tg_utf8_check("\xc3\xa9\0", 3, &nul));
    assert_int_equal(nul, 1);
    /* only ever set, never cleared: one flag serves a whole message */
    assert_true(tg_utf8_check("clean", 5, &nul));
    assert_int_equal(nul, 1);
}

static void test_seq_len(void **state)
{
    (void)state;
    assert_int_equal(tg_utf8_seq_len("a", 1), 1);
    assert_int_equal(tg_utf8_seq_len("\0", 1), 1);
    assert_int_equal(tg_utf8_seq_len("\xc3\xa9x", 3), 2);
    assert_int_equal(tg_utf8_seq_len("\xe2\x82\xac", 3), 3);
    assert_int_equal(tg_utf8_seq_len("\xf0\x9f\x98\x80", 4), 4);
    assert_int_equal(tg_utf8_seq_len("\xf0\x9f\x98\x80", 3), 0); /* short */
    assert_int_equal(tg_utf8_seq_len("\x80", 1), 0);
    assert_int_equal(tg_utf8_seq_len("\xc0\xaf", 2), 0);
    assert_int_equal(tg_utf8_seq_len("\xed\xa0\x80", 3), 0);
    assert_int_equal(tg_utf8_seq_len("\xf4\x90\x80\x80", 4), 0);
    assert_int_equal(tg_utf8_seq_len("\xff\x80\x80\x80", 4), 0);
    assert_int_equal(tg_utf8_seq_len("\xc3"
                                     "a",
                                     2),
                     0);
}

/* grpc-message ("?") and OTLP/JSON output (U+FFFD): one replacement per
 * byte that starts no well-formed sequence. */
static void test_sanitize(void **state)
{
    const char in[] = "ok\xff\xc3\xa9\xe2\x82 \xf0\x9f\x98\x80\xed\xa0\x80";
    char out[3 * sizeof(in) + 1];
    size_t n;

    (void)state;
    n = tg_utf8_sanitize(in, sizeof(in) - 1, "?", out);
    assert_int_equal(n, strlen(out));
    assert_string_equal(out, "ok?\xc3\xa9?? \xf0\x9f\x98\x80???");
    assert_true(tg_utf8_valid(out, n));
    /* a sequence cut by the end of the slice is bad too */
    n = tg_utf8_sanitize(in, 4, "\xef\xbf\xbd", out);
    assert_string_equal(out, "ok\xef\xbf\xbd\xef\xbf\xbd");
    assert_int_equal(n, 8);
    n = tg_utf8_sanitize(in, 5, "\xef\xbf\xbd", out);
    assert_string_equal(out, "ok\xef\xbf\xbd\xc3\xa9");
    /* valid text comes through as it was */
    n = tg_utf8_sanitize("caf\xc3\xa9", 5, "?", out);
    assert_string_equal(out, "caf\xc3\xa9");
    assert_int_equal(tg_utf8_sanitize("", 0, "?", out), 0);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),           cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_check_notes_nul), cmocka_unit_test(test_seq_len),
        cmocka_unit_test(test_sanitize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
