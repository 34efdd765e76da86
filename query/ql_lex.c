/* Lexing pieces shared by the TraceQL and LogQL parsers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tg_err.h"
#include "tg_ql.h"

size_t tg_ql_column(const char *q, size_t off)
{
    size_t i, col = 1;

    for (i = 0; i < off; i++)
        if (((unsigned char)q[i] & 0xC0) != 0x80)
            col++;
    return col;
}

int tg_ql_error(tg_qlerr *e, size_t off, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (e->set || !e->buf || !e->len) {
        e->set = 1;
        return TG_EINVAL;
    }
    e->set = 1;
    n = snprintf(e->buf, e->len, "column %zu: ", tg_ql_column(e->q, off));
    if (n > 0 && (size_t)n < e->len) {
        va_start(ap, fmt);
        vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return TG_EINVAL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int tg_ql_string(tg_plan *p, const char *q, size_t len, size_t *i, const char **out,
                 size_t *outlen, tg_qlerr *e)
{
    size_t start = *i, j = start + 1, n = 0;
    char quote = q[start];
    char *o;

    /* Decoding never grows the text, so the raw length bounds the output. */
    o = tg_plan_alloc(p, len - start + 1);
    if (!o)
        return TG_ENOMEM;
    for (;;) {
        if (j >= len)
            return tg_ql_error(e, start, "unterminated string");
        if (q[j] == quote)
            break;
        if (quote == '`' || q[j] != '\\') {
            o[n++] = q[j++];
            continue;
        }
        if (j + 1 >= len)
            return tg_ql_error(e, start, "unterminated string");
        switch (q[j + 1]) {
        case '"':
        case '\\':
        case '\'':
        case '/':
            o[n++] = q[j + 1];
            break;
        case 'n':
            o[n++] = '\n';
            break;
        case 't':
            o[n++] = '\t';
            break;
        case 'r':
            o[n++] = '\r';
            break;
        case 'a':
            o[n++] = '\a';
            break;
        case 'b':
            o[n++] = '\b';
            break;
        case 'f':
            o[n++] = '\f';
            break;
        case 'v':
            o[n++] = '\v';
            break;
        case 'x':
        case 'u':
        case 'U': {
            size_t k, digits = q[j + 1] == 'x' ? 2 : q[j + 1] == 'u' ? 4 : 8;
            unsigned long cp = 0;

            for (k = 0; k < digits; k++) {
                int h = j + 2 + k < len ? hexval(q[j + 2 + k]) : -1;

                if (h < 0)
                    return tg_ql_error(e, j, "invalid escape: expected %zu hex digits",
                                       digits);
                cp = cp * 16 + (unsigned long)h;
            }
            if (q[j + 1] == 'x') {
                o[n++] = (char)cp;
            } else {
                if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                    return tg_ql_error(e, j, "invalid escape: not a Unicode code point");
                n += put_utf8(o + n, cp);
            }
            j += digits; /* plus the 2 below */
            break;
        }
        default:
            return tg_ql_error(e, j, "invalid escape '\\%c' in string", q[j + 1]);
        }
        j += 2;
    }
    o[n] = '\0';
    *out = o;
    *outlen = n;
    *i = j + 1;
    return 0;
}

void tg_ql_describe(const char *q, size_t len, size_t off, size_t end, char *buf,
                    size_t buflen)
{
    size_t n = end > off ? end - off : 1;

    if (off >= len) {
        snprintf(buf, buflen, "end of query");
        return;
    }
    if (n > 24)
        n = 24;
    if (off + n > len)
        n = len - off;
    snprintf(buf, buflen, "'%.*s'", (int)n, q + off);
}
