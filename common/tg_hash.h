/* Mixing 64-bit values into well-spread hashes, for the hash tables and
 * filters that key on ids chosen by clients (trace ids, names). */
#ifndef TG_HASH_H
#define TG_HASH_H

#include <stdint.h>

/* MurmurHash3's 64-bit finalizer: bijective, every input bit flips each
 * output bit with probability about 1/2. */
static inline uint64_t tg_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDULL;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ULL;
    x ^= x >> 33;
    return x;
}

#endif
