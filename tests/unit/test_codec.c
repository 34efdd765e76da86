/* tg_codec: the one base64 and hex codec, with the semantics each of its
 * callers relied on when it had its own copy: OTLP/JSON bytes (padded
 * output; strict input in either alphabet, padding optional), the gRPC
 * status details (padding stripped by the caller), the secret detectors
 * (a run cut short still decodes), ids and key files (lower-case hex out,
 * either case in). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tg_codec.h"
#include "tg_err.h"

static void enc(const char *in, const char *want)
{
    char out[64];
    size_t n = tg_base64_encode(in, strlen(in), out);

    assert_int_equal(n, strlen(want));
    assert_int_equal(tg_base64_encoded_len(strlen(in)), strlen(want));
    assert_string_equal(out, want);
}

static void dec(const char *in, const char *want)
{
    unsigned char out[64];
    long n = tg_base64_decode(in, strlen(in), out, sizeof(out));

    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, strlen(want));
    assert_true((size_t)n <= tg_base64_decoded_max(strlen(in)));
}

static void test_base64_rfc4648_vectors(void **state)
{
    (void)state;
    enc("", "");
    enc("f", "Zg==");
    enc("fo", "Zm8=");
    enc("foo", "Zm9v");
    enc("foob", "Zm9vYg==");
    enc("fooba", "Zm9vYmE=");
    enc("foobar", "Zm9vYmFy");
    dec("", "");
    dec("Zg==", "f");
    dec("Zm8=", "fo");
    dec("Zm9v", "foo");
    dec("Zm9vYmFy", "foobar");
}

static void test_base64_encode_binary_and_alphabet(void **state)
{
    const unsigned char bin[] = {0xfb, 0xff, 0xbf, 0x00, 0x10};
    char out[16];

    (void)state;
    /* the standard alphabet on output, never the URL-safe one */
    assert_int_equal(tg_base64_encode(bin, sizeof(bin), out), 8);
    assert_string_equal(out, "+/+/ABA=");
}

static void test_base64_decode_accepts(void **state)
{
    (void)state;
    /* padding optional, as proto3 JSON parsers accept */
    dec("Zg", "f");
    dec("Zm8", "fo");
    dec("Zm9vYg", "foob");
    /* URL-safe alphabet, and both mixed in one string */
    {
        unsigned char out[8];
        assert_int_equal(tg_base64_decode("-_-_", 4, out, sizeof(out)), 3);
        assert_memory_equal(out, "\xfb\xff\xbf", 3);
        assert_int_equal(tg_base64_decode("+_-/", 4, out, sizeof(out)), 3);
        assert_memory_equal(out, "\xfb\xff\xbf", 3);
    }
    /* a counted slice: what follows n is not read */
    {
        unsigned char out[8];
        assert_int_equal(tg_base64_decode("Zm9v!!!", 4, out, sizeof(out)), 3);
    }
}

static void test_base64_decode_refuses(void **state)
{
    unsigned char out[64];

    (void)state;
    assert_int_equal(tg_base64_decode("Zm9v!", 5, out, sizeof(out)), TG_EINVAL);
    assert_int_equal(tg_base64_decode("Zm 9v", 5, out, sizeof(out)), TG_EINVAL);
    assert_int_equal(tg_base64_decode(" Zm9v", 5, out, sizeof(out)), TG_EINVAL);
    assert_int_equal(tg_base64_decode("Zm9v\n", 5, out, sizeof(out)), TG_EINVAL);
    assert_int_equal(tg_base64_decode("Zg==Zg==", 8, out, sizeof(out)), TG_EINVAL);
    /* one character left over carries no byte: not base64 */
    assert_int_equal(tg_base64_decode("Zm9vY", 5, out, sizeof(out)), TG_EINVAL);
    assert_int_equal(tg_base64_decode("Zm9vY=", 6, out, sizeof(out)), TG_EINVAL);
    /* the output bound */
    assert_int_equal(tg_base64_decode("Zm9vYmFy", 8, out, 5), TG_ETOO_BIG);
    assert_int_equal(tg_base64_decode("Zm9vYmFy", 8, out, 6), 6);
}

static void test_base64_decode_prefix(void **state)
{
    unsigned char out[64];

    (void)state;
    /* what the complete groups of a cut-short run hold */
    assert_int_equal(tg_base64_decode_prefix("Zm9vY", 5, out, sizeof(out)), 3);
    assert_memory_equal(out, "foo", 3);
    assert_int_equal(tg_base64_decode_prefix("dXNlcjpwYXNzd29yZA", 18, out, sizeof(out)),
                     13);
    assert_memory_equal(out, "user:password", 13);
    /* still refuses what is not base64 at all */
    assert_int_equal(tg_base64_decode_prefix("dXNl=cjp", 8, out, sizeof(out)), TG_EINVAL);
    assert_int_equal(tg_base64_decode_prefix("Zm9vYmFy", 8, out, 4), TG_ETOO_BIG);
}

static void test_base64_round_trip(void **state)
{
    unsigned char in[300], back[300];
    char text[401];

    (void)state;
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (unsigned char)(i * 7 + 3);
    for (size_t n = 0; n <= sizeof(in); n += 1 + n / 4) {
        size_t t = tg_base64_encode(in, n, text);
        assert_int_equal(t, tg_base64_encoded_len(n));
        assert_int_equal(tg_base64_decode(text, t, back, sizeof(back)), n);
        assert_memory_equal(in, back, n);
        /* unpadded, as grpc-status-details-bin is sent */
        while (t > 0 && text[t - 1] == '=')
            t--;
        assert_int_equal(tg_base64_decode(text, t, back, sizeof(back)), n);
        assert_memory_equal(in, back, n);
    }
}

static void test_base64_canonical(void **state)
{
    (void)state;
    assert_true(tg_base64_canonical("Zm9vYmFy", 8));
    assert_true(tg_base64_canonical("Zm8=", 4));
    assert_true(tg_base64_canonical("Zg==", 4));
    assert_true(tg_base64_canonical("+/+/", 4));
    assert_false(tg_base64_canonical("", 0));
    assert_false(tg_base64_canonical("Zm8", 3));  /* padding missing */
    assert_false(tg_base64_canonical("-_-_", 4)); /* URL-safe alphabet */
    assert_false(tg_base64_canonical("Zg=a", 4)); /* '=' not at the end */
    assert_false(tg_base64_canonical("Z===", 4)); /* too much padding */
    assert_false(tg_base64_canonical("Zm9=", 4)); /* leftover bits set: 'fo' is Zm8= */
    assert_false(tg_base64_canonical("Zh==", 4)); /* leftover bits set: 'f' is Zg== */
    assert_false(tg_base64_canonical("Zm 9", 4));
}

static void test_hex_encode(void **state)
{
    const unsigned char id[] = {0x00, 0x01, 0xab, 0xcd, 0xef, 0xff};
    char out[13];

    (void)state;
    memset(out, 'x', sizeof(out));
    tg_hex_encode(id, sizeof(id), out);
    assert_string_equal(out, "0001abcdefff");
    tg_hex_encode(id, 0, out);
    assert_string_equal(out, "");
}

static void test_hex_digit(void **state)
{
    (void)state;
    assert_int_equal(tg_hex_digit('0'), 0);
    assert_int_equal(tg_hex_digit('9'), 9);
    assert_int_equal(tg_hex_digit('a'), 10);
    assert_int_equal(tg_hex_digit('F'), 15);
    assert_int_equal(tg_hex_digit('g'), -1);
    assert_int_equal(tg_hex_digit('G'), -1);
    assert_int_equal(tg_hex_digit(':'), -1);
    assert_int_equal(tg_hex_digit(' '), -1);
    assert_int_equal(tg_hex_digit(0), -1);
    assert_int_equal(tg_hex_digit(0xc1), -1);
    assert_int_equal(tg_hex_digit(-1), -1);
}

static void test_hex_decode(void **state)
{
    unsigned char out[16];

    (void)state;
    assert_int_equal(tg_hex_decode("0001aBcDeFfF", 12, out, sizeof(out)), 6);
    assert_memory_equal(out, "\x00\x01\xab\xcd\xef\xff", 6);
    assert_int_equal(tg_hex_decode("", 0, out, sizeof(out)), 0);
    /* a counted slice */
    assert_int_equal(tg_hex_decode("abzz", 2, out, sizeof(out)), 1);
    assert_int_equal(out[0], 0xab);
    assert_int_equal(tg_hex_decode("abc", 3, out, sizeof(out)), TG_EINVAL);
    assert_int_equal(tg_hex_decode("abzz", 4, out, sizeof(out)), TG_EINVAL);
    assert_int_equal(tg_hex_decode("ab:cd", 5, out, sizeof(out)), TG_EINVAL);
    assert_int_equal(tg_hex_decode("ab cd ", 6, out, sizeof(out)), TG_EINVAL);
    assert_int_equal(tg_hex_decode("abcdef", 6, out, 2), TG_ETOO_BIG);
    /* round trip of a trace id */
    {
        const char *id = "5b8efff798038103d269b633813fc60c";
        char back[33];
        assert_int_equal(tg_hex_decode(id, 32, out, 16), 16);
        tg_hex_encode(out, 16, back);
        assert_string_equal(back, id);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648_vectors),
        cmocka_unit_test(test_base64_encode_binary_and_alphabet),
        cmocka_unit_test(test_base64_decode_accepts),
        cmocka_unit_test(test_base64_decode_refuses),
        cmocka_unit_test(test_base64_decode_prefix),
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_base64_canonical),
        cmocka_unit_test(test_hex_encode),
        cmocka_unit_test(test_hex_digit),
        cmocka_unit_test(test_hex_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
