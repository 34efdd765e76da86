/* Fuzz target: OTLP protobuf request decoding. The first byte picks the
 * signal; the rest is the body.
 *
 * Beyond "never crashes", a decoded request must survive what the
 * collector does next: index it, re-encode it as protobuf and as OTLP/JSON,
 * and decode both again to the same number of items with nothing left to
 * reject. */
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
    tg_otlp_index ix;
    char err[256];
    enum tg_signal sig;
    uint8_t *packed;
    size_t packed_len, json_len;
    char *json;

    if (size < 1)
        return 0;
    sig = (enum tg_signal)(data[0] % TG_SIGNAL_COUNT);
    tg_arena_init(&arena, 64 * 1024, 64u << 20);
    if (tg_otlp_decode(sig, TG_ENC_PROTOBUF, data + 1, size - 1, &arena, &req, err,
                       sizeof(err)) != 0) {
        check(err[0] != '\0', "an error comes with a message");
        tg_arena_destroy(&arena);
        return 0;
    }
    check(tg_otlp_index_build(&req, &arena, &ix) == 0, "index builds");
    check(ix.items == req.items, "index counts the kept items");
    check(ix.t_min <= ix.t_max, "time range ordered");

    check(tg_otlp_pack(&req, &arena, &packed, &packed_len) == 0, "pack");
    check(tg_otlp_decode(sig, TG_ENC_PROTOBUF, packed, packed_len, &arena, &again, err,
                         sizeof(err)) == 0,
          "re-encoded protobuf decodes");
    check(again.items == req.items && again.rejected == 0,
          "protobuf round trip keeps items");

    json = tg_otlp_json_encode(req.msg, &json_len);
    check(json != NULL, "JSON encode");
    check(tg_otlp_decode(sig, TG_ENC_JSON, (const uint8_t *)json, json_len, &arena,
                         &again, err, sizeof(err)) == 0,
          "our own JSON decodes");
    check(again.items == req.items && again.rejected == 0, "JSON round trip keeps items");
    free(json);
    tg_arena_destroy(&arena);
    return 0;
}
