/* Helpers shared by the national identifier detectors (det_national_*.c). */
#ifndef TG_DET_NATIONAL_H
#define TG_DET_NATIONAL_H

#include <string.h>

#include "rules_int.h"

#define DIGITS "0123456789"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define ALPHA UPPER "abcdefghijklmnopqrstuvwxyz"

static inline int dv(char c)
{
    return c - '0';
}

/* Parses digit groups and checks the boundary; 0 if none. */
static inline size_t groups_at(const tg_det_in *in, const char *seps, tg_groups *g)
{
    size_t end = tg_parse_groups(in->s, in->n, in->pos, seps, g);
    if (!end || !tg_right_ok(in->s, in->n, end))
        return 0;
    return end;
}

static inline int layout(const tg_groups *g, unsigned n, const unsigned *lens)
{
    if (g->n != n)
        return 0;
    for (unsigned i = 0; i < n; i++)
        if (g->len[i] != lens[i])
            return 0;
    return 1;
}

static inline int hit_set(const tg_det_in *in, tg_det_hit *hit, size_t end, int weak)
{
    hit->start = in->pos;
    hit->end = end;
    hit->weak = weak;
    return 1;
}

static inline int all_same(const char *d, int n)
{
    for (int i = 1; i < n; i++)
        if (d[i] != d[0])
            return 0;
    return 1;
}

#endif
