/* A growable text buffer for building responses (Prometheus exposition,
 * JSON fragments). Appends never fail visibly: an allocation failure sets
 * `oom`, later appends do nothing, and the caller checks `oom` once at the
 * end. The caller owns `p` (free it). */
#ifndef TG_STRBUF_H
#define TG_STRBUF_H

#include <stddef.h>

typedef struct tg_strbuf {
    char *p; /* NUL-terminated when len > 0 */
    size_t len, cap;
    int oom;
} tg_strbuf;

void tg_strbuf_printf(tg_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends `v` (NULL is empty) escaped as a Prometheus label value. */
void tg_strbuf_label(tg_strbuf *b, const char *v);

#endif
