/* tg_compress: codec names, round trips, and the bounds that keep a
 * compressed bomb or a broken stream from hurting the collector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "tg_compress.h"
#include "tg_err.h"

static tg_arena A;

static int setup(void **state)
{
    (void)state;
    tg_arena_init(&A, 64 * 1024, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tg_arena_destroy(&A);
    return 0;
}

/* Text-like data that compresses but not trivially. */
static uint8_t *sample(size_t n)
{
    static const char *words[] = {"span",        "trace",    "GET",    "/api/v1/orders",
                                  "200",         "postgres", "SELECT", "checkout",
                                  "gpu-node-17", "llama"};
    uint8_t *p = malloc(n);
    uint32_t x = 12345;
    size_t o = 0;

    assert_non_null(p);
    while (o < n) {
        x = x * 1103515245u + 12345u;
        const char *w = words[(x >> 16) % 10];
        for (size_t i = 0; w[i] && o < n; i++)
            p[o++] = (uint8_t)w[i];
        if (o < n)
            p[o++] = (uint8_t)((x >> 8) & 0xff); /* some binary noise */
    }
    return p;
}

static void test_parse_names(void **state)
{
    enum tg_compression c;
    (void)state;

    assert_int_equal(tg_compression_parse("gzip", 4, &c), 0);
    assert_int_equal(c, TG_COMP_GZIP);
    assert_int_equal(tg_compression_parse("GZip", 4, &c), 0);
    assert_int_equal(c, TG_COMP_GZIP);
    assert_int_equal(tg_compression_parse("x-gzip", 6, &c), 0);
    assert_int_equal(c, TG_COMP_GZIP);
    assert_int_equal(tg_compression_parse(" zstd ", 6, &c), 0);
    assert_int_equal(c, TG_COMP_ZSTD);
    assert_int_equal(tg_compression_parse("DEFLATE", 7, &c), 0);
    assert_int_equal(c, TG_COMP_DEFLATE);
    assert_int_equal(tg_compression_parse("identity", 8, &c), 0);
    assert_int_equal(c, TG_COMP_NONE);
    assert_int_equal(tg_compression_parse("gzipx", 4, &c),
                     0); /* length bounds the token */
    assert_int_equal(c, TG_COMP_GZIP);
    assert_int_equal(tg_compression_parse("br", 2, &c), TG_EUNSUPPORTED);
    assert_int_equal(tg_compression_parse("gzi", 3, &c), TG_EUNSUPPORTED);
    assert_int_equal(tg_compression_parse("gzip, br", 8, &c), TG_EUNSUPPORTED);
    assert_string_equal(tg_compression_name(TG_COMP_NONE), "identity");
    assert_string_equal(tg_compression_name(TG_COMP_GZIP), "gzip");
    assert_string_equal(tg_compression_name(TG_COMP_ZSTD), "zstd");
    assert_string_equal(tg_compression_name(TG_COMP_DEFLATE), "deflate");
}

static void round_trip(enum tg_compression c, size_t n, int level)
{
    uint8_t *in = sample(n), *z, *out;
    size_t zlen, outlen;

    assert_int_equal(tg_compress(c, level, in, n, &z, &zlen), 0);
    if (c != TG_COMP_NONE && n > 1000)
        assert_true(zlen < n);
    assert_int_equal(tg_decompress(c, z, zlen, n, &A, &out, &outlen), 0);
    assert_int_equal(outlen, n);
    assert_memory_equal(out, in, n);
    /* One byte less room than the output: too big. */
    if (n > 0)
        assert_int_equal(tg_decompress(c, z, zlen, n - 1, &A, &out, &outlen),
                         TG_ETOO_BIG);
    free(z);
    free(in);
}

static void test_round_trips(void **state)
{
    static const size_t sizes[] = {0, 1, 100, 70000, 3 * 1024 * 1024 + 7};
    (void)state;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        round_trip(TG_COMP_GZIP, sizes[i], 0);
        round_trip(TG_COMP_ZSTD, sizes[i], 0);
        round_trip(TG_COMP_DEFLATE, sizes[i], 0);
        round_trip(TG_COMP_NONE, sizes[i], 0);
        tg_arena_reset(&A);
    }
    round_trip(TG_COMP_GZIP, 5000, 9);
    round_trip(TG_COMP_ZSTD, 5000, 19);
    round_trip(TG_COMP_ZSTD, 5000, -5);
}

static void test_gzip_is_gzip(void **state)
{
    uint8_t *z, *out;
    size_t zlen, outlen;
    (void)state;

    assert_int_equal(tg_compress(TG_COMP_GZIP, 0, (const uint8_t *)"hello", 5, &z, &zlen),
                     0);
    assert_int_equal(z[0], 0x1f);
    assert_int_equal(z[1], 0x8b);
    /* gzip does not accept a zlib stream... */
    uint8_t *zl;
    size_t zllen;
    assert_int_equal(
        tg_compress(TG_COMP_DEFLATE, 0, (const uint8_t *)"hello", 5, &zl, &zllen), 0);
    assert_int_equal(tg_decompress(TG_COMP_GZIP, zl, zllen, 100, &A, &out, &outlen),
                     TG_EPARSE);
    /* ...and deflate accepts zlib-wrapped and raw deflate. */
    assert_int_equal(tg_decompress(TG_COMP_DEFLATE, zl, zllen, 100, &A, &out, &outlen),
                     0);
    assert_int_equal(outlen, 5);
    assert_memory_equal(out, "hello", 5);

    uint8_t raw[64];
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                     Z_OK);
    zs.next_in = (Bytef *)"raw deflate body";
    zs.avail_in = 16;
    zs.next_out = raw;
    zs.avail_out = sizeof(raw);
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t rawlen = sizeof(raw) - zs.avail_out;
    deflateEnd(&zs);
    assert_int_equal(tg_decompress(TG_COMP_DEFLATE, raw, rawlen, 100, &A, &out, &outlen),
                     0);
    assert_int_equal(outlen, 16);
    assert_memory_equal(out, "raw deflate body", 16);
    free(z);
    free(zl);
}

static void test_concatenated(void **state)
{
    uint8_t *a, *b, *out;
    size_t alen, blen, outlen;
    (void)state;

    /* Two gzip members are one stream (what `cat a.gz b.gz` gives). */
    assert_int_equal(
        tg_compress(TG_COMP_GZIP, 0, (const uint8_t *)"first,", 6, &a, &alen), 0);
    assert_int_equal(
        tg_compress(TG_COMP_GZIP, 0, (const uint8_t *)"second", 6, &b, &blen), 0);
    uint8_t *both = malloc(alen + blen);
    memcpy(both, a, alen);
    memcpy(both + alen, b, blen);
    assert_int_equal(
        tg_decompress(TG_COMP_GZIP, both, alen + blen, 100, &A, &out, &outlen), 0);
    assert_int_equal(outlen, 12);
    assert_memory_equal(out, "first,second", 12);
    /* Trailing garbage after a member is not. */
    both[alen] = 'X';
    assert_int_equal(
        tg_decompress(TG_COMP_GZIP, both, alen + blen, 100, &A, &out, &outlen),
        TG_EPARSE);
    free(a);
    free(b);
    free(both);

    /* Two zstd frames. */
    assert_int_equal(
        tg_compress(TG_COMP_ZSTD, 0, (const uint8_t *)"first,", 6, &a, &alen), 0);
    assert_int_equal(
        tg_compress(TG_COMP_ZSTD, 0, (const uint8_t *)"second", 6, &b, &blen), 0);
    both = malloc(alen + blen);
    memcpy(both, a, alen);
    memcpy(both + alen, b, blen);
    assert_int_equal(
        tg_decompress(TG_COMP_ZSTD, both, alen + blen, 100, &A, &out, &outlen), 0);
    assert_int_equal(outlen, 12);
    assert_memory_equal(out, "first,second", 12);
    free(a);
    free(b);
    free(both);
}

static void test_truncated_and_corrupt(void **state)
{
    static const enum tg_compression codecs[] = {TG_COMP_GZIP, TG_COMP_ZSTD,
                                                 TG_COMP_DEFLATE};
    const size_t n = 20000;
    uint8_t *in = sample(n), *z, *out;
    size_t zlen, outlen;
    (void)state;

    for (size_t c = 0; c < 3; c++) {
        assert_int_equal(tg_compress(codecs[c], 0, in, n, &z, &zlen), 0);
        /* Every proper prefix fails cleanly. Raw deflate has no trailer,
         * so for "deflate" only cuts inside the zlib stream are checked. */
        for (size_t cut = 0; cut < zlen; cut += (cut < 64 ? 1 : 97)) {
            int rc = tg_decompress(codecs[c], z, cut, n, &A, &out, &outlen);
            if (rc != TG_EPARSE)
                fail_msg("%s cut at %zu of %zu: %d", tg_compression_name(codecs[c]), cut,
                         zlen, rc);
        }
        tg_arena_reset(&A);
        /* Flip bits in the body. */
        z[zlen / 2] ^= 0x55;
        z[zlen / 2 + 1] ^= 0xAA;
        int rc = tg_decompress(codecs[c], z, zlen, n, &A, &out, &outlen);
        assert_true(rc == TG_EPARSE || rc == TG_ETOO_BIG ||
                    (rc == 0 && memcmp(out, in, outlen < n ? outlen : n) != 0) ||
                    (rc == 0 && outlen != n));
        free(z);
    }
    static const uint8_t junk[] = "this is not compressed at all";
    assert_int_equal(
        tg_decompress(TG_COMP_GZIP, junk, sizeof(junk), 100, &A, &out, &outlen),
        TG_EPARSE);
    assert_int_equal(
        tg_decompress(TG_COMP_ZSTD, junk, sizeof(junk), 100, &A, &out, &outlen),
        TG_EPARSE);
    assert_int_equal(
        tg_decompress(TG_COMP_DEFLATE, junk, sizeof(junk), 100, &A, &out, &outlen),
        TG_EPARSE);
    free(in);
}

static void test_gzip_bomb(void **state)
{
    const size_t n = 1 << 20;
    uint8_t *zeros = calloc(1, n), *z, *out;
    size_t zlen, outlen;
    (void)state;

    assert_int_equal(tg_compress(TG_COMP_GZIP, 9, zeros, n, &z, &zlen), 0);
    assert_true(zlen <= 1100); /* ~1 KB that expands to 1 MiB */
    tg_arena_reset(&A);
    size_t before = A.used_total;
    assert_int_equal(tg_decompress(TG_COMP_GZIP, z, zlen, 256 * 1024, &A, &out, &outlen),
                     TG_ETOO_BIG);
    /* Memory stays near the limit, not near the bomb's size. */
    assert_true(A.used_total - before <= 2 * 256 * 1024 + 64 * 1024);
    free(z);
    free(zeros);
}

static void test_zstd_bombs(void **state)
{
    const size_t n = 64u << 20;
    uint8_t *zeros = calloc(1, n), *z, *out;
    size_t zlen, outlen;
    (void)state;

    /* With the content size in the frame header: refused up front. */
    assert_int_equal(tg_compress(TG_COMP_ZSTD, 0, zeros, n, &z, &zlen), 0);
    assert_true(zlen < 4096);
    tg_arena_reset(&A);
    assert_int_equal(tg_decompress(TG_COMP_ZSTD, z, zlen, 1 << 20, &A, &out, &outlen),
                     TG_ETOO_BIG);
    free(z);

    /* Streamed without a content size: stopped while decompressing. */
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(n);
    z = malloc(cap);
    ZSTD_outBuffer ob = {z, cap, 0};
    size_t r;
    for (size_t off = 0; off < n; off += 1 << 20) {
        ZSTD_inBuffer ib = {zeros + off, 1 << 20, 0};
        while (ib.pos < ib.size)
            assert_false(
                ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue)));
    }
    do {
        ZSTD_inBuffer none = {NULL, 0, 0};
        r = ZSTD_compressStream2(cc, &ob, &none, ZSTD_e_end);
        assert_false(ZSTD_isError(r));
    } while (r != 0);
    ZSTD_freeCCtx(cc);
    zlen = ob.pos;
    assert_int_equal(ZSTD_getFrameContentSize(z, zlen), ZSTD_CONTENTSIZE_UNKNOWN);
    assert_true(zlen < 4096);
    tg_arena_reset(&A);
    size_t before = A.used_total;
    assert_int_equal(tg_decompress(TG_COMP_ZSTD, z, zlen, 1 << 20, &A, &out, &outlen),
                     TG_ETOO_BIG);
    assert_true(A.used_total - before <= 3 * (1 << 20));
    /* With room for all of it, it is just data. */
    tg_arena_reset(&A);
    assert_int_equal(tg_decompress(TG_COMP_ZSTD, z, zlen, n, &A, &out, &outlen), 0);
    assert_int_equal(outlen, n);
    assert_int_equal(out[n - 1], 0);
    free(z);
    free(zeros);
}

static void test_limits_and_args(void **state)
{
    uint8_t *out;
    size_t outlen;
    (void)state;

    assert_int_equal(
        tg_decompress(TG_COMP_NONE, (const uint8_t *)"abc", 3, 3, &A, &out, &outlen), 0);
    assert_int_equal(outlen, 3);
    assert_int_equal(
        tg_decompress(TG_COMP_NONE, (const uint8_t *)"abc", 3, 2, &A, &out, &outlen),
        TG_ETOO_BIG);
    assert_int_equal(tg_decompress(TG_COMP_GZIP, NULL, 0, 10, &A, &out, &outlen),
                     TG_EPARSE);
    assert_int_equal(tg_decompress(TG_COMP_ZSTD, NULL, 0, 10, &A, &out, &outlen),
                     TG_EPARSE);
    assert_int_equal(tg_decompress(TG_COMP_GZIP, NULL, 5, 10, &A, &out, &outlen),
                     TG_EINVAL);
    assert_int_equal(tg_decompress((enum tg_compression)42, (const uint8_t *)"x", 1, 10,
                                   &A, &out, &outlen),
                     TG_EUNSUPPORTED);

    /* The arena's own limit also stops decompression. */
    tg_arena small;
    uint8_t *in = sample(100000), *z;
    size_t zlen;
    assert_int_equal(tg_compress(TG_COMP_ZSTD, 0, in, 100000, &z, &zlen), 0);
    tg_arena_init(&small, 4096, 32 * 1024);
    assert_int_equal(tg_decompress(TG_COMP_ZSTD, z, zlen, 1 << 20, &small, &out, &outlen),
                     TG_ETOO_BIG);
    tg_arena_destroy(&small);
    free(z);
    free(in);
}

/* The ratio cap: at most limit, at most ratio x input, never below the
 * floor; ratio 0 is the limit alone; no overflow near SIZE_MAX. */
static void test_decompress_cap(void **state)
{
    (void)state;
    assert_int_equal(tg_decompress_cap(6700, 256u << 20, 200, 4u << 20), 4u << 20);
    assert_int_equal(tg_decompress_cap(100000, 256u << 20, 200, 4u << 20), 20000000);
    assert_int_equal(tg_decompress_cap(10u << 20, 256u << 20, 200, 4u << 20), 256u << 20);
    assert_int_equal(tg_decompress_cap(10, 1000, 0, 4u << 20), 1000);
    assert_int_equal(tg_decompress_cap(10, 1000, 200, 4u << 20), 1000);
    assert_true(tg_decompress_cap(SIZE_MAX / 2, SIZE_MAX, 1000, 0) == SIZE_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_is_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concatenated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_and_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_bomb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zstd_bombs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_and_args, setup, teardown),
        cmocka_unit_test(test_decompress_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
