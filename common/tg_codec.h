/* The one base64 and the one hex codec.
 *
 * base64: output is RFC 4648 section 4 (standard alphabet, '=' padded), the
 * form proto3 JSON writes bytes in. Input may use the standard or the
 * URL-safe alphabet (section 5), even mixed, with or without trailing '='
 * padding: OTLP/JSON producers and tokens met in telemetry use all of
 * these. Whitespace is not accepted anywhere.
 *
 * hex: output is lower case (OTLP/JSON ids, key files, digests); input may
 * be either case. Neither side knows separators. */
#ifndef TG_CODEC_H
#define TG_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* Characters in the padded encoding of n bytes, without the NUL. */
size_t tg_base64_encoded_len(size_t n);

/* Writes the padded encoding of in[0..n) and a NUL into out, which holds
 * tg_base64_encoded_len(n) + 1 bytes. Returns the characters written. */
size_t tg_base64_encode(const void *in, size_t n, char *out);

/* Most bytes that n characters of base64 decode to. */
size_t tg_base64_decoded_max(size_t n);

/* Decodes s[0..n) into out (room for outmax bytes). Returns the byte
 * count, TG_EINVAL if s is not base64 (a character outside both alphabets,
 * '=' before the end, or a lone final character that cannot carry a byte)
 * or TG_ETOO_BIG if the bytes do not fit in outmax. */
long tg_base64_decode(const char *s, size_t n, void *out, size_t outmax);

/* 1 if s[0..len) is canonical RFC 4648 section 4 base64: the standard
 * alphabet, a length that is a multiple of 4, '=' only as final padding,
 * and the bits the padding leaves over zero, so one byte string has one
 * spelling. The decoder is laxer (URL-safe alphabet, missing padding); the
 * C2SP formats of audit/ need exactly this. */
int tg_base64_canonical(const char *s, size_t len);

/* As tg_base64_decode, but a lone final character is ignored instead of
 * refused: for a run cut out of free text (a detector looking at a token),
 * where what matters is what its complete groups decode to. */
long tg_base64_decode_prefix(const char *s, size_t n, void *out, size_t outmax);

/* Writes the lower-case hex of in[0..n) and a NUL into out (2n + 1 bytes). */
void tg_hex_encode(const void *in, size_t n, char *out);

/* The value of hex digit c (either case), or -1. */
int tg_hex_digit(int c);

/* Decodes exactly the n characters s[0..n) into out (room for outmax
 * bytes). Returns n / 2, TG_EINVAL if n is odd or a character is not a hex
 * digit, or TG_ETOO_BIG if n / 2 > outmax. */
long tg_hex_decode(const char *s, size_t n, void *out, size_t outmax);

/* ---- big-endian integers: LMDB keys sort as bytes, so numbers in keys are
 * stored most significant byte first. */

static inline void tg_be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static inline uint64_t tg_be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline void tg_be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t tg_be32_get(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void tg_be16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline uint16_t tg_be16_get(const uint8_t *p)
{
    return (uint16_t)(((uint16_t)p[0] << 8) | p[1]);
}

/* ---- protobuf varints: the few messages encoded by hand (a gRPC status
 * detail, Tempo's envelope) write their lengths with this. */

/* Writes v as a base-128 varint at p (room for 10 bytes); returns its
 * length. */
static inline size_t tg_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    do {
        p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

#endif
