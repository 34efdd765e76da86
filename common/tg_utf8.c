#include "tg_utf8.h"

#include <stdint.h>
#include <string.h>

/* Protobuf-c hands strings over NUL-terminated, so the OTLP decoder wants
 * to know about a NUL in the same pass (see tg_otlp.c, decode_protobuf). */
int tg_utf8_check(const char *str, size_t len, int *nul)
{
    const unsigned char *p = (const unsigned char *)str, *end = p + len;

    while (p < end) {
        /* Attribute keys and most values are ASCII: 8 bytes at once. */
        if (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (!(w & 0x8080808080808080ULL)) {
                /* No byte has its top bit set, so a borrow into one
                 * means that byte was zero. */
                if ((w - 0x0101010101010101ULL) & 0x8080808080808080ULL)
                    *nul = 1;
                p += 8;
                continue;
            }
        }
        unsigned c = *p;
        if (c < 0x80) {
            if (c == 0)
                *nul = 1;
            p++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            if (end - p < 2 || (p[1] & 0xC0) != 0x80)
                return 0;
            p += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
                return 0;
            if (c == 0xE0 && p[1] < 0xA0) /* overlong */
                return 0;
            if (c == 0xED && p[1] > 0x9F) /* UTF-16 surrogates */
                return 0;
            p += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
                (p[3] & 0xC0) != 0x80)
                return 0;
            if (c == 0xF0 && p[1] < 0x90) /* overlong */
                return 0;
            if (c == 0xF4 && p[1] > 0x8F) /* beyond U+10FFFF */
                return 0;
            p += 4;
        } else {
            return 0; /* a continuation byte, C0/C1 (overlong) or F5..FF */
        }
    }
    return 1;
}

int tg_utf8_valid(const char *s, size_t len)
{
    int nul = 0;

    return tg_utf8_check(s, len, &nul);
}

size_t tg_utf8_seq_len(const char *s, size_t avail)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;

    if (n > avail)
        return 0;
    return tg_utf8_valid(s, n) ? n : 0;
}

size_t tg_utf8_sanitize(const char *s, size_t len, const char *repl, char *out)
{
    size_t rl = strlen(repl), o = 0;

    for (size_t i = 0; i < len;) {
        size_t n = tg_utf8_seq_len(s + i, len - i);
        if (n == 0) {
            memcpy(out + o, repl, rl);
            o += rl;
            i++;
            continue;
        }
        memcpy(out + o, s + i, n);
        o += n;
        i += n;
    }
    out[o] = '\0';
    return o;
}
