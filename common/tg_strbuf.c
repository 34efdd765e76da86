#include "tg_strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void tg_strbuf_printf(tg_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->oom)
        return;
    for (;;) {
        size_t room = b->cap - b->len;
        size_t nc;
        char *np;

        va_start(ap, fmt);
        n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        nc = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
        np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
}

void tg_strbuf_label(tg_strbuf *b, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            tg_strbuf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            tg_strbuf_printf(b, "\\n");
        else
            tg_strbuf_printf(b, "%c", *v);
    }
}
