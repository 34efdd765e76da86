#include "tg_array.h"

#include <stdint.h>
#include <stdlib.h>

#include "tg_err.h"

int tg_array_reserve(void **v, size_t *cap, size_t need, size_t size, size_t first)
{
    size_t ncap = *cap ? *cap : (first ? first : 1);
    void *nv;

    if (need <= *cap)
        return 0;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return TG_ENOMEM;
        ncap *= 2;
    }
    if (size && ncap > SIZE_MAX / size)
        return TG_ENOMEM;
    if (!(nv = realloc(*v, ncap * size)))
        return TG_ENOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}
