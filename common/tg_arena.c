#include "tg_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct tg_arena_block {
    tg_arena_block *prev;
    size_t size; /* usable bytes in data[] */
    size_t used;
    _Alignas(max_align_t) unsigned char data[];
};

#define TG_ARENA_ALIGN (sizeof(max_align_t))

static void *arena_pb_alloc(void *data, size_t size)
{
    return tg_arena_alloc(data, size);
}

static void arena_pb_free(void *data, void *ptr)
{
    /* Arena memory is released in bulk by tg_arena_reset(). */
    (void)data;
    (void)ptr;
}

void tg_arena_init(tg_arena *a, size_t block_size, size_t limit)
{
    memset(a, 0, sizeof(*a));
    a->block_size = block_size ? block_size : 64 * 1024;
    a->limit = limit;
    a->pb.alloc = arena_pb_alloc;
    a->pb.free = arena_pb_free;
    a->pb.allocator_data = a;
}

static tg_arena_block *arena_grow(tg_arena *a, size_t need)
{
    size_t size = a->block_size;
    tg_arena_block *b;

    if (need > size)
        size = need;
    if (a->limit && a->used_total + size > a->limit) {
        if (a->used_total + need > a->limit)
            return NULL;
        size = a->limit - a->used_total;
    }
    b = malloc(sizeof(*b) + size);
    if (!b)
        return NULL;
    b->prev = a->head;
    b->size = size;
    b->used = 0;
    a->head = b;
    a->used_total += size;
    return b;
}

void *tg_arena_alloc(tg_arena *a, size_t size)
{
    tg_arena_block *b = a->head;
    size_t off;

    if (size == 0)
        size = 1;
    if (size > SIZE_MAX - TG_ARENA_ALIGN)
        return NULL;
    if (b) {
        off = (b->used + TG_ARENA_ALIGN - 1) & ~(TG_ARENA_ALIGN - 1);
        if (off <= b->size && b->size - off >= size) {
            b->used = off + size;
            return b->data + off;
        }
    }
    b = arena_grow(a, size);
    if (!b)
        return NULL;
    b->used = size;
    return b->data;
}

void *tg_arena_calloc(tg_arena *a, size_t size)
{
    void *p = tg_arena_alloc(a, size);

    if (p)
        memset(p, 0, size);
    return p;
}

char *tg_arena_strndup(tg_arena *a, const char *s, size_t len)
{
    char *p = tg_arena_alloc(a, len + 1);

    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void *tg_arena_memdup(tg_arena *a, const void *p, size_t len)
{
    void *q = tg_arena_alloc(a, len ? len : 1);

    if (q && len)
        memcpy(q, p, len);
    return q;
}

/* Largest block a reset will keep for reuse; beyond it memory goes back. */
#define TG_ARENA_KEEP_MAX ((size_t)64 << 20)

static void free_blocks(tg_arena *a)
{
    tg_arena_block *b = a->head;

    while (b) {
        tg_arena_block *prev = b->prev;
        free(b);
        b = prev;
    }
    a->head = NULL;
    a->used_total = 0;
}

void tg_arena_reset(tg_arena *a)
{
    tg_arena_block *b = a->head;
    size_t peak = a->used_total;

    if (!b)
        return;
    if (!b->prev) {
        b->used = 0;
        return;
    }
    /* The request outgrew one block. Free them all and keep one block of
     * the peak size, so the next request of the same shape allocates
     * nothing: re-faulting fresh blocks on every request cost about 20x
     * in decode throughput (bench_decode with 64 KiB blocks). */
    free_blocks(a);
    if (peak > TG_ARENA_KEEP_MAX)
        peak = TG_ARENA_KEEP_MAX;
    if (peak > a->block_size && (!a->limit || peak <= a->limit)) {
        size_t saved = a->block_size;
        a->block_size = peak;
        arena_grow(a, 0);
        a->block_size = saved;
    }
}

void tg_arena_destroy(tg_arena *a)
{
    free_blocks(a);
}
