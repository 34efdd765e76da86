#include "tg_strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for `need` more bytes and the NUL. Returns 0, or -1 with
 * `oom` set. An arena cannot grow a block in place, so the text moves. */
static int reserve(tg_strbuf *b, size_t need)
{
    size_t nc;
    char *np;

    if (b->oom)
        return -1;
    if (b->len + need + 1 <= b->cap)
        return 0;
    nc = b->cap ? b->cap * 2 : b->a ? 64 : 4096;
    while (nc < b->len + need + 1)
        nc *= 2;
    if (b->a) {
        np = tg_arena_alloc(b->a, nc);
        if (np && b->len)
            memcpy(np, b->p, b->len);
    } else {
        np = realloc(b->p, nc);
    }
    if (!np) {
        b->oom = 1;
        return -1;
    }
    b->p = np;
    b->cap = nc;
    return 0;
}

void tg_strbuf_put(tg_strbuf *b, const char *s, size_t n)
{
    if (n == 0 || reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void tg_strbuf_putc(tg_strbuf *b, char c)
{
    tg_strbuf_put(b, &c, 1);
}

void tg_strbuf_printf(tg_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->oom)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if (b->p && (size_t)n < b->cap - b->len) {
        b->len += (size_t)n;
        return;
    }
    if (n == 0 || reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void tg_strbuf_label(tg_strbuf *b, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"') {
            tg_strbuf_putc(b, '\\');
            tg_strbuf_putc(b, *v);
        } else if (*v == '\n') {
            tg_strbuf_put(b, "\\n", 2);
        } else {
            tg_strbuf_putc(b, *v);
        }
    }
}
