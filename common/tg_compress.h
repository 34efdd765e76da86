/* Compression codecs on the OTLP paths: gzip (HTTP Content-Encoding and
 * gRPC message encoding), zstd (HTTP Content-Encoding and the store),
 * deflate. Decompression is bounded: output beyond `limit` fails with
 * TG_ETOO_BIG, so a small bomb cannot exhaust memory; truncated or corrupt
 * input fails with TG_EPARSE. */
#ifndef TG_COMPRESS_H
#define TG_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "tg_arena.h"

enum tg_compression { TG_COMP_NONE = 0, TG_COMP_GZIP, TG_COMP_ZSTD, TG_COMP_DEFLATE };

/* Map a Content-Encoding / grpc-encoding token ("gzip", "zstd",
 * "deflate", "identity", case-insensitive) to a codec; TG_EUNSUPPORTED
 * otherwise. */
int tg_compression_parse(const char *name, size_t len, enum tg_compression *out);
const char *tg_compression_name(enum tg_compression c);

/* The output limit to pass to tg_decompress() for `inlen` compressed bytes:
 * at most `limit`, and at most `max_ratio` times the input, but never below
 * `floor` (small requests of very repetitive data are legitimate). So a
 * 6 KB bomb stops at `floor` instead of at a limit sized for the largest
 * honest request, and output buffers never grow past what the ratio allows.
 * max_ratio 0: `limit` alone. */
size_t tg_decompress_cap(size_t inlen, size_t limit, uint64_t max_ratio, size_t floor);

/* Decompress into memory from the arena. */
int tg_decompress(enum tg_compression c, const uint8_t *in, size_t inlen, size_t limit,
                  tg_arena *arena, uint8_t **out, size_t *outlen);

/* Compress into a malloc'd buffer (caller frees). `level` is the codec's
 * own scale; 0 means its default. */
int tg_compress(enum tg_compression c, int level, const uint8_t *in, size_t inlen,
                uint8_t **out, size_t *outlen);

/* A zstd compression context kept for reuse (making one per call costs
 * about as much as compressing a small request). One per thread. */
typedef struct tg_zstd_ctx tg_zstd_ctx;

tg_zstd_ctx *tg_zstd_ctx_new(int level);
void tg_zstd_ctx_free(tg_zstd_ctx *z);

/* One zstd frame of `in` at the context's level, in arena memory. */
int tg_zstd_ctx_compress(tg_zstd_ctx *z, const uint8_t *in, size_t inlen, tg_arena *arena,
                         uint8_t **out, size_t *outlen);

#endif
