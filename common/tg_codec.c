#include "tg_codec.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>

#include "tg_err.h"

/* ---- base64 ---------------------------------------------------------------- */

/* EVP_EncodeBlock takes an int length; whole groups of 3 bytes per call keep
 * every call far below INT_MAX and leave padding to the last one. */
#define ENCODE_CHUNK ((size_t)3 << 20)

size_t tg_base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t tg_base64_encode(const void *in, size_t n, char *out)
{
    const unsigned char *p = in;
    size_t o = 0;

    out[0] = '\0';
    while (n > 0) {
        size_t k = n < ENCODE_CHUNK ? n : ENCODE_CHUNK;
        o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, p, (int)k);
        p += k;
        n -= k;
    }
    return o;
}

size_t tg_base64_decoded_max(size_t n)
{
    return n / 4 * 3 + 2;
}

/* EVP_DecodeBlock is not used for decoding: it takes only the standard
 * alphabet, wants the padding, trims blanks at both ends and counts the
 * padding as zero bytes, none of which is what our inputs need. */
static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

static long b64_decode(const char *s, size_t n, unsigned char *out, size_t outmax,
                       int strict)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;

    while (n > 0 && s[n - 1] == '=')
        n--;
    if (strict && n % 4 == 1)
        return TG_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int v = b64_val((unsigned char)s[i]);
        if (v < 0)
            return TG_EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outmax)
                return TG_ETOO_BIG;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)o;
}

int tg_base64_canonical(const char *s, size_t len)
{
    size_t pad = 0;
    int last;

    if (len == 0 || len % 4 != 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=') {
            pad++;
            continue;
        }
        if (pad > 0 || s[i] == '-' || s[i] == '_' || b64_val((unsigned char)s[i]) < 0)
            return 0;
    }
    if (pad > 2)
        return 0;
    last = pad > 0 ? b64_val((unsigned char)s[len - pad - 1]) : 0;
    return pad == 0 || (pad == 1 && (last & 0x3) == 0) || (pad == 2 && (last & 0xF) == 0);
}

long tg_base64_decode(const char *s, size_t n, void *out, size_t outmax)
{
    return b64_decode(s, n, out, outmax, 1);
}

long tg_base64_decode_prefix(const char *s, size_t n, void *out, size_t outmax)
{
    return b64_decode(s, n, out, outmax, 0);
}

/* ---- hex --------------------------------------------------------------------- */

/* OPENSSL_buf2hexstr writes upper case with ':' between bytes, so the
 * encoder is ours; OpenSSL's digit table serves the decoder. */
void tg_hex_encode(const void *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = in;

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int tg_hex_digit(int c)
{
    if (c < 0 || c > 0xff)
        return -1;
    return OPENSSL_hexchar2int((unsigned char)c);
}

/* Not OPENSSL_hexstr2buf_ex: it reads up to a NUL, and our input is a
 * counted slice of a larger buffer. */
long tg_hex_decode(const char *s, size_t n, void *out, size_t outmax)
{
    unsigned char *o = out;

    if (n % 2)
        return TG_EINVAL;
    if (n / 2 > outmax)
        return TG_ETOO_BIG;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = tg_hex_digit((unsigned char)s[2 * i]);
        int lo = tg_hex_digit((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return TG_EINVAL;
        o[i] = (unsigned char)(hi << 4 | lo);
    }
    return (long)(n / 2);
}
