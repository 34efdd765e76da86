/* A bump-pointer arena for per-request allocations.
 *
 * OTLP decoding allocates thousands of small objects per request and frees
 * them all at once when the request ends; an arena turns that into a few
 * block allocations and one reset. Ownership: the arena owns every pointer
 * it hands out; tg_arena_reset() invalidates all of them and keeps the first
 * block for reuse, tg_arena_destroy() frees everything.
 *
 * `limit` bounds the total bytes an arena may hold: allocation beyond it
 * fails (returns NULL), which is how a decompression or decoding bomb is
 * contained. */
#ifndef TG_ARENA_H
#define TG_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct tg_arena_block tg_arena_block;

typedef struct tg_arena {
    tg_arena_block *head;  /* current block, linked to older ones */
    size_t block_size;     /* default size of a new block */
    size_t used_total;     /* bytes in all blocks */
    size_t limit;          /* 0 means unlimited */
    ProtobufCAllocator pb; /* protobuf-c allocator backed by this arena */
} tg_arena;

void tg_arena_init(tg_arena *a, size_t block_size, size_t limit);
void *tg_arena_alloc(tg_arena *a, size_t size);
void *tg_arena_calloc(tg_arena *a, size_t size);
char *tg_arena_strndup(tg_arena *a, const char *s, size_t len);
/* A copy of p[0..len) in the arena (len 0: a valid, empty allocation), or
 * NULL when out of memory. */
void *tg_arena_memdup(tg_arena *a, const void *p, size_t len);
void tg_arena_reset(tg_arena *a);
void tg_arena_destroy(tg_arena *a);

#endif
