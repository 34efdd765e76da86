#include "tg_template.h"

#include <string.h>

typedef struct outbuf {
    char *p;
    size_t len, cap; /* cap includes the NUL */
    int full;
} outbuf;

static void put(outbuf *o, const char *s, size_t n)
{
    if (o->full)
        return;
    if (o->len + n + 1 > o->cap) {
        n = o->cap - 1 - o->len;
        /* Never end inside a UTF-8 sequence. */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        o->full = 1;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(outbuf *o, const char *s)
{
    put(o, s, strlen(s));
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_delim(unsigned char c)
{
    return c == '/' || c == '=' || c == ':' || c == ',' || c == ';' || c == '?' ||
           c == '&' || c == '(' || c == ')' || c == '[' || c == ']' || c == '{' ||
           c == '}' || c == '<' || c == '>' || c == '|' || c == '"';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int looks_uuid(const char *s, size_t n)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    size_t p = 0;

    if (n != 36)
        return 0;
    for (int g = 0; g < 5; g++) {
        for (int k = 0; k < groups[g]; k++, p++)
            if (!is_hex((unsigned char)s[p]))
                return 0;
        if (g < 4 && s[p++] != '-')
            return 0;
    }
    return 1;
}

static int looks_ipv4(const char *s, size_t n)
{
    int dots = 0, digits = 0;

    for (size_t i = 0; i < n; i++) {
        if (is_digit((unsigned char)s[i])) {
            if (++digits > 3)
                return 0;
        } else if (s[i] == '.' && digits > 0) {
            dots++;
            digits = 0;
        } else {
            return 0;
        }
    }
    return dots == 3 && digits > 0;
}

static int looks_number(const char *s, size_t n)
{
    int digits = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_digit(c))
            digits++;
        else if (c != '.' && c != '-' && c != '+' && c != '_' && c != '%' &&
                 !(c == 'e' && i > 0))
            return 0;
    }
    return digits > 0;
}

static const char *classify(const char *s, size_t n)
{
    int digit = 0, hex = 1, at = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_digit(c))
            digit = 1;
        if (!is_hex(c))
            hex = 0;
        if (c == '@')
            at = 1;
    }
    if (at && n >= 3)
        return "<email>";
    if (looks_uuid(s, n))
        return "<uuid>";
    if (looks_ipv4(s, n))
        return "<ip>";
    if (looks_number(s, n))
        return "<num>";
    if (hex && digit && n >= 8)
        return "<hex>";
    /* Short identifiers such as v2, k8s, s3, ec2 are wording, not values. */
    if (digit && n <= 3 && ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return NULL;
    if (digit)
        return "<*>";
    return NULL;
}

size_t tg_template_make(const char *s, size_t len, char *out, size_t cap)
{
    outbuf o = {out, 0, cap, 0};
    int after_eq = 0;
    size_t i = 0;

    if (cap == 0)
        return 0;
    while (i < len && !o.full) {
        unsigned char c = (unsigned char)s[i];

        if (is_space(c)) {
            while (i < len && is_space((unsigned char)s[i]))
                i++;
            if (o.len > 0 && i < len)
                put(&o, " ", 1);
            after_eq = 0;
            continue;
        }
        if (c == '"') {
            size_t j = i + 1, lim = i + 1 + 512 < len ? i + 1 + 512 : len;
            while (j < lim && s[j] != '"')
                j++;
            if (j < lim) {
                puts_(&o, "\"<str>\"");
                i = j + 1;
                after_eq = 0;
                continue;
            }
            put(&o, "\"", 1);
            i++;
            continue;
        }
        if (c == '[' && len - i >= 10 && memcmp(s + i, "[REDACTED", 9) == 0) {
            size_t j = i, lim = i + 96 < len ? i + 96 : len;
            while (j < lim && s[j] != ']')
                j++;
            if (j < lim) {
                put(&o, s + i, j + 1 - i);
                i = j + 1;
                after_eq = 0;
                continue;
            }
        }
        if (is_delim(c)) {
            put(&o, s + i, 1);
            after_eq = c == '=';
            i++;
            continue;
        }
        {
            size_t j = i;
            const char *what;
            while (j < len && !is_space((unsigned char)s[j]) &&
                   !is_delim((unsigned char)s[j]))
                j++;
            /* scheme://rest is one URL up to the next space. */
            if (j + 2 < len && s[j] == ':' && s[j + 1] == '/' && s[j + 2] == '/') {
                while (j < len && !is_space((unsigned char)s[j]))
                    j++;
                puts_(&o, "<url>");
                i = j;
                after_eq = 0;
                continue;
            }
            if (after_eq) {
                puts_(&o, "<*>");
                after_eq = 0;
            } else if ((what = classify(s + i, j - i)) != NULL) {
                puts_(&o, what);
            } else {
                put(&o, s + i, j - i);
            }
            i = j;
        }
    }
    out[o.len] = '\0';
    return o.len;
}

uint64_t tg_template_id(const char *t, size_t len)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)t[i];
        h *= 1099511628211ull;
    }
    return h;
}
