/* The one growable text buffer, for building responses (Prometheus
 * exposition, JSON fragments) and the values the rules engine writes.
 *
 * Its memory comes from the heap when `a` is NULL (the caller frees `p`),
 * or from the arena `a` (freed with the arena; the rules engine writes many
 * short values per request, all dropped together). Start from a zeroed
 * struct, with `a` set for an arena.
 *
 * Appends never fail visibly: an allocation failure sets `oom`, later
 * appends do nothing, and the caller checks `oom` once at the end. `p` is
 * NUL-terminated once anything has been appended, NULL before. */
#ifndef TG_STRBUF_H
#define TG_STRBUF_H

#include <stddef.h>

#include "tg_arena.h"

typedef struct tg_strbuf {
    char *p;
    size_t len, cap;
    tg_arena *a;
    int oom;
} tg_strbuf;

/* Appends the n bytes at s (which may hold NULs). */
void tg_strbuf_put(tg_strbuf *b, const char *s, size_t n);

void tg_strbuf_putc(tg_strbuf *b, char c);

void tg_strbuf_printf(tg_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends `v` (NULL is empty) escaped as a Prometheus label value. */
void tg_strbuf_label(tg_strbuf *b, const char *v);

#endif
