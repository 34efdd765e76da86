/* One list of search hits from every site's: see tg_merge.h. */
#include "tg_merge.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NO_ROOT "root span not yet received"

struct hit {
    const char *trace_id;
    uint64_t start;
    json_t *obj; /* owned by the result array once placed */
};

static uint64_t get_u64(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);

    if (json_is_integer(v))
        return (uint64_t)json_integer_value(v);
    if (json_is_string(v))
        return strtoull(json_string_value(v), NULL, 10);
    return 0;
}

static int cmp_hit(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;

    if (x->start != y->start)
        return x->start > y->start ? -1 : 1;
    return strcmp(x->trace_id, y->trace_id);
}

static int has_root(const json_t *h, const char *key)
{
    const char *s = json_string_value(json_object_get(h, key));
    return s && *s && strcmp(s, NO_ROOT) != 0;
}

static void add_site(json_t *h, const char *site)
{
    json_t *sites = json_object_get(h, "sites");
    size_t i;
    json_t *s;

    if (!json_is_array(sites)) {
        sites = json_array();
        json_object_set_new(h, "sites", sites);
    }
    json_array_foreach(sites, i, s)
    {
        if (strcmp(json_string_value(s), site) == 0)
            return;
    }
    json_array_append_new(sites, json_string(site));
}

/* Folds hit `b` (another site's view of the same trace) into `a`. */
static void fold(struct hit *a, const json_t *b, const char *site)
{
    uint64_t bs = get_u64(b, "startTimeUnixNano");
    const json_t *bd = json_object_get(b, "durationMs"), *bstats;
    json_t *sets, *astats;
    const char *k;
    json_t *v;
    size_t i;

    if (bs && (!a->start || bs < a->start)) {
        a->start = bs;
        json_object_set(a->obj, "startTimeUnixNano",
                        json_object_get(b, "startTimeUnixNano"));
    }
    if (json_is_number(bd) &&
        json_number_value(bd) > json_number_value(json_object_get(a->obj, "durationMs")))
        json_object_set(a->obj, "durationMs", (json_t *)bd);
    if (!has_root(a->obj, "rootServiceName") && has_root(b, "rootServiceName")) {
        json_object_set(a->obj, "rootServiceName", json_object_get(b, "rootServiceName"));
        json_object_set(a->obj, "rootTraceName", json_object_get(b, "rootTraceName"));
    }
    sets = json_object_get(a->obj, "spanSets");
    if (!json_is_array(sets)) {
        sets = json_array();
        json_object_set_new(a->obj, "spanSets", sets);
    }
    json_array_foreach(json_object_get(b, "spanSets"), i, v)
    {
        json_array_append(sets, v);
    }
    bstats = json_object_get(b, "serviceStats");
    astats = json_object_get(a->obj, "serviceStats");
    if (json_is_object(bstats) && !json_is_object(astats)) {
        astats = json_object();
        json_object_set_new(a->obj, "serviceStats", astats);
    }
    json_object_foreach((json_t *)bstats, k, v)
    {
        json_t *mine = json_object_get(astats, k);
        if (!mine) {
            json_object_set(astats, k, v);
            continue;
        }
        /* Each site counts its own spans of the service; a service runs at
         * one site, so the larger count is the truer one (Tempo: max). */
        if (json_integer_value(json_object_get(v, "spanCount")) >
            json_integer_value(json_object_get(mine, "spanCount")))
            json_object_set(mine, "spanCount", json_object_get(v, "spanCount"));
        if (json_integer_value(json_object_get(v, "errorCount")) >
            json_integer_value(json_object_get(mine, "errorCount")))
            json_object_set(mine, "errorCount", json_object_get(v, "errorCount"));
    }
    add_site(a->obj, site);
}

json_t *tg_merge_search(const tg_merge_part *parts, size_t n, size_t limit, size_t *total)
{
    json_t *index = json_object(), *out = json_array();
    struct hit *hits = NULL;
    size_t nh = 0, cap = 0;

    if (!index || !out)
        goto fail;
    for (size_t p = 0; p < n; p++) {
        size_t i;
        const json_t *h;

        json_array_foreach(json_object_get(parts[p].answer, "traces"), i, h)
        {
            const char *id = json_string_value(json_object_get(h, "traceID"));
            json_t *slot;

            if (!id || !*id)
                continue;
            slot = json_object_get(index, id);
            if (slot) {
                fold(&hits[json_integer_value(slot)], h, parts[p].site);
                continue;
            }
            if (nh == cap) {
                struct hit *nhits;
                cap = cap ? cap * 2 : 64;
                if (!(nhits = realloc(hits, cap * sizeof(*hits))))
                    goto fail;
                hits = nhits;
            }
            hits[nh].obj = json_deep_copy(h);
            if (!hits[nh].obj)
                goto fail;
            if (!has_root(hits[nh].obj, "rootServiceName")) {
                json_object_set_new(hits[nh].obj, "rootServiceName",
                                    json_string(NO_ROOT));
                json_object_set_new(hits[nh].obj, "rootTraceName", json_string(NO_ROOT));
            }
            hits[nh].start = get_u64(h, "startTimeUnixNano");
            json_object_set_new(hits[nh].obj, "sites", json_pack("[s]", parts[p].site));
            json_object_set_new(index, id, json_integer((json_int_t)nh));
            nh++;
        }
    }
    /* trace_id points into the hit's own object, which lives until the
     * end; sort, then cut. */
    for (size_t i = 0; i < nh; i++)
        hits[i].trace_id = json_string_value(json_object_get(hits[i].obj, "traceID"));
    qsort(hits, nh, sizeof(*hits), cmp_hit);
    for (size_t i = 0; i < nh; i++) {
        if (!limit || i < limit)
            json_array_append_new(out, hits[i].obj);
        else
            json_decref(hits[i].obj);
    }
    if (total)
        *total = nh;
    free(hits);
    json_decref(index);
    return out;

fail:
    for (size_t i = 0; i < nh; i++)
        json_decref(hits[i].obj);
    free(hits);
    json_decref(index);
    json_decref(out);
    return NULL;
}
