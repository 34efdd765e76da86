/* Fuzz target: OTLP/JSON request decoding. The first byte picks the
 * signal; the rest is the JSON text.
 *
 * A decoded request re-encoded as JSON must be a fixed point (encode,
 * decode, encode gives the same text) and must pack to protobuf that
 * decodes to the same number of items. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_otlp.h"
#include "tg_otlp_json.h"

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
    tg_otlp_request req, again;
    char err[256];
    enum tg_signal sig;
    uint8_t *packed;
    size_t packed_len, len1, len2;
    char *j1, *j2;

    if (size < 1)
        return 0;
    sig = (enum tg_signal)(data[0] % TG_SIGNAL_COUNT);
    tg_arena_init(&arena, 64 * 1024, 64u << 20);
    if (tg_otlp_decode(sig, TG_ENC_JSON, data + 1, size - 1, &arena, &req, err,
                       sizeof(err)) != 0) {
        check(err[0] != '\0', "an error comes with a message");
        tg_arena_destroy(&arena);
        return 0;
    }
    j1 = tg_otlp_json_encode(req.msg, &len1);
    check(j1 != NULL, "JSON encode");
    check(tg_otlp_decode(sig, TG_ENC_JSON, (const uint8_t *)j1, len1, &arena, &again, err,
                         sizeof(err)) == 0,
          "our own JSON decodes");
    check(again.items == req.items && again.rejected == 0, "JSON round trip keeps items");
    j2 = tg_otlp_json_encode(again.msg, &len2);
    check(j2 != NULL && len1 == len2 && memcmp(j1, j2, len1) == 0,
          "JSON is a fixed point");

    check(tg_otlp_pack(&req, &arena, &packed, &packed_len) == 0, "pack");
    check(tg_otlp_decode(sig, TG_ENC_PROTOBUF, packed, packed_len, &arena, &again, err,
                         sizeof(err)) == 0,
          "packed protobuf decodes");
    check(again.items == req.items, "protobuf keeps items");
    free(j1);
    free(j2);
    tg_arena_destroy(&arena);
    return 0;
}
