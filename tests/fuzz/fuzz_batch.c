/* Fuzzes what the centre does with a batch from the network: bounded zstd
 * decompression, protobuf decoding, time normalisation for every protocol
 * version, protocol 3's references (tables, ids, hashes), histogram
 * validation and merging. The input
 * is taken as raw protobuf and as a zstd frame. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_arena.h"
#include "tg_err.h"
#include "tg_exphist.h"
#include "tg_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const Tollgate__V1__Batch *b)
{
    tg_exphist acc, h;

    tg_exphist_init(&acc);
    for (size_t i = 0; i < b->n_red; i++) {
        if (tg_exphist_from_pb(b->red[i]->latency_seconds, &h) == 0) {
            tg_exphist_merge(&acc, &h);
            (void)tg_exphist_quantile(&acc, 0.99);
        }
    }
    for (size_t i = 0; i < b->n_metrics; i++)
        if (b->metrics[i]->exp && tg_exphist_from_pb(b->metrics[i]->exp, &h) == 0)
            tg_exphist_merge(&acc, &h);
    if (acc.n > TG_EXPHIST_MAX_BUCKETS)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_arena a;
    Tollgate__V1__Batch *b;
    uint8_t *z;
    size_t zl;

    tg_arena_init(&a, 64 * 1024, 64u << 20);
    b = tollgate__v1__batch__unpack(&a.pb, size, data);
    if (b) {
        exercise(b);
        /* Re-encoding a decoded batch in every version must round-trip. */
        for (unsigned v = 1; v <= TG_PROTOCOL_MAX; v++) {
            uint8_t *out;
            size_t ol, rl;
            Tollgate__V1__Batch *back;
            tg_arena t;
            if (tg_wire_pack_batch(b, v, 1, &out, &ol, &rl) != 0)
                continue;
            tg_arena_init(&t, 64 * 1024, 0);
            /* protobuf-c re-emits unknown fields as they came (field
             * number 0 included), which it then refuses: only what decodes
             * again is compared. */
            if (tg_wire_unpack_batch(out, ol, 64u << 20, &t, &back, NULL) == 0 &&
                (back->n_spans != b->n_spans || back->n_red != b->n_red))
                abort();
            tg_arena_destroy(&t);
            free(out);
        }
    }
    tg_arena_reset(&a);
    /* The same bytes as a zstd frame from the network, bounded. */
    if (tg_wire_unpack_batch(data, size, 1u << 20, &a, &b, NULL) == 0)
        exercise(b);
    if (tg_zstd_compress(data, size, 1, &z, &zl) == 0) {
        tg_arena_reset(&a);
        if (tg_wire_unpack_batch(z, zl, 1u << 20, &a, &b, NULL) == 0)
            exercise(b);
        free(z);
    }
    tg_arena_destroy(&a);
    return 0;
}
