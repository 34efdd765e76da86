/* Fuzz target: bounded decompression. The first byte picks the codec
 * (none, gzip, zstd, deflate); the rest is the compressed body. Output
 * must respect the limit, and whatever decompresses must survive our own
 * compress/decompress round trip unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_compress.h"
#include "tg_err.h"

#define LIMIT (1u << 20)

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_arena arena;
    enum tg_compression c;
    uint8_t *out, *z, *back;
    size_t outlen, zlen, backlen;
    int rc;

    if (size < 1)
        return 0;
    c = (enum tg_compression)(data[0] % 4);
    tg_arena_init(&arena, 64 * 1024, 8u << 20);
    rc = tg_decompress(c, data + 1, size - 1, LIMIT, &arena, &out, &outlen);
    check(rc == 0 || rc == TG_EPARSE || rc == TG_ETOO_BIG, "known error codes only");
    if (rc == 0) {
        check(outlen <= LIMIT, "limit respected");
        check(tg_compress(c, 1, out, outlen, &z, &zlen) == 0, "compress");
        check(tg_decompress(c, z, zlen, outlen, &arena, &back, &backlen) == 0,
              "round trip");
        check(backlen == outlen && memcmp(back, out, outlen) == 0, "round trip is exact");
        free(z);
    }
    tg_arena_destroy(&arena);
    return 0;
}
