/* Growing a heap array by doubling: the one place that does it, so every
 * list in the code grows the same way and checks the size overflow. */
#ifndef TG_ARRAY_H
#define TG_ARRAY_H

#include <stddef.h>

/* Makes room for at least `need` elements of `size` bytes in the heap
 * array *v, which has room for *cap: the capacity doubles (starting at
 * `first`), and *v and *cap are updated. Elements already there are kept;
 * new room is not zeroed. 0, or TG_ENOMEM (then *v and *cap are unchanged). */
int tg_array_reserve(void **v, size_t *cap, size_t need, size_t size, size_t first);

/* TG_ARRAY_ROOM(v, n, cap, first): room for one more element after
 * the n already in array v (typed), as tg_array_reserve. */
#define TG_ARRAY_ROOM(v, n, cap, first)                                                  \
    tg_array_reserve((void **)&(v), &(cap), (n) + 1, sizeof(*(v)), (first))

#endif
