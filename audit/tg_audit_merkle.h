/* RFC 6962 Merkle trees over a node store, and the tlog-tiles layout.
 *
 * Hashing (RFC 6962 section 2.1, SHA-256): a leaf is SHA-256(0x00 || data),
 * an interior node SHA-256(0x01 || left || right), the empty tree
 * SHA-256("").
 *
 * Storage: the tree is kept as its complete subtrees ("nodes"). Node
 * (level k, index i) is the hash of leaves [i * 2^k, (i + 1) * 2^k); a tree
 * of size n holds every such node with (i + 1) * 2^k <= n, and appending
 * never changes one. Anything else (the root of any size, proofs, tiles) is
 * computed from nodes read through a tg_audit_reader, so an LMDB table and
 * the in-memory tg_audit_memtree back it alike.
 *
 * A site appends leaves in the same transaction as the egress they record:
 * tg_audit_merkle_append computes the nodes that the new leaves complete
 * and hands them back for the caller to write in its own transaction. */
#ifndef TG_AUDIT_MERKLE_H
#define TG_AUDIT_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "tg_strbuf.h"

#define TG_AUDIT_HASH_LEN 32
/* Proof lengths are bounded by the tree height (64 for a uint64 size);
 * a consistency proof can need one more. */
#define TG_AUDIT_PROOF_MAX 66

typedef struct tg_audit_hash {
    uint8_t b[TG_AUDIT_HASH_LEN];
} tg_audit_hash;

typedef struct tg_audit_node {
    unsigned level;
    uint64_t index;
    tg_audit_hash hash;
} tg_audit_node;

/* Reads node (level, index) into *out. Returns 0, TG_ENOT_FOUND when the
 * store does not hold it, or another negative TG_E code. */
typedef int (*tg_audit_read_fn)(void *ctx, unsigned level, uint64_t index,
                                tg_audit_hash *out);

typedef struct tg_audit_reader {
    tg_audit_read_fn read;
    void *ctx;
} tg_audit_reader;

void tg_audit_leaf_hash(const void *data, size_t len, tg_audit_hash *out);
void tg_audit_node_hash(const tg_audit_hash *left, const tg_audit_hash *right,
                        tg_audit_hash *out);
void tg_audit_empty_hash(tg_audit_hash *out);

/* The number of nodes a tree of `size` leaves holds: 2 * size - popcount. */
uint64_t tg_audit_merkle_node_count(uint64_t size);

/* Appends the `n` leaf hashes to a tree of `size` leaves. Writes every node
 * the new leaves create (their own level-0 nodes and each interior node
 * they complete, in an order where a node follows its children) to out,
 * which holds tg_audit_merkle_node_count(size + n) -
 * tg_audit_merkle_node_count(size) entries (at most 2 * n + 64); *nout is
 * set to that count. When root is not NULL it receives the root of the
 * tree of size + n. Reads at most 64 nodes of the existing tree. */
int tg_audit_merkle_append(const tg_audit_reader *r, uint64_t size,
                           const tg_audit_hash *leaves, size_t n, tg_audit_node *out,
                           size_t *nout, tg_audit_hash *root);

/* The root hash of the first `size` leaves (MTH(D[0:size])). */
int tg_audit_merkle_root(const tg_audit_reader *r, uint64_t size, tg_audit_hash *out);

/* The inclusion proof of leaf `index` in the tree of `size` leaves (RFC
 * 9162 section 2.1.3.1), from the leaf's sibling up; *n gets its length. */
int tg_audit_merkle_inclusion(const tg_audit_reader *r, uint64_t index, uint64_t size,
                              tg_audit_hash proof[TG_AUDIT_PROOF_MAX], size_t *n);

/* The consistency proof from size `m` to size `size` (RFC 9162 section
 * 2.1.4.1); empty when m is 0 or m == size. TG_EINVAL when m > size. */
int tg_audit_merkle_consistency(const tg_audit_reader *r, uint64_t m, uint64_t size,
                                tg_audit_hash proof[TG_AUDIT_PROOF_MAX], size_t *n);

/* Verifies that `leaf` is leaf `index` of the tree of `size` leaves whose
 * root is `root` (RFC 9162 section 2.1.3.2). 0 or TG_EVERIFY. */
int tg_audit_merkle_verify_inclusion(const tg_audit_hash *leaf, uint64_t index,
                                     uint64_t size, const tg_audit_hash *proof, size_t n,
                                     const tg_audit_hash *root);

/* Verifies that the tree of size m with root `old_root` is a prefix of the
 * tree of size `size` with root `new_root` (RFC 9162 section 2.1.4.2).
 * m == 0 needs an empty proof, m == size an empty proof and equal roots.
 * 0 or TG_EVERIFY. */
int tg_audit_merkle_verify_consistency(uint64_t m, const tg_audit_hash *old_root,
                                       uint64_t size, const tg_audit_hash *new_root,
                                       const tg_audit_hash *proof, size_t n);

/* --- an in-memory node store --------------------------------------------- */

/* Every node of a tree, one growable array per level. For tests, for
 * `audit verify` recomputing a log from its leaves, and for small logs. */
typedef struct tg_audit_memtree {
    tg_audit_hash *levels[64];
    uint64_t len[64], cap[64];
    uint64_t size; /* leaves */
} tg_audit_memtree;

/* Appends n leaf hashes. 0 or TG_ENOMEM (the tree is unchanged then). */
int tg_audit_memtree_append(tg_audit_memtree *t, const tg_audit_hash *leaves, size_t n);
/* A reader over t, valid while t is. */
tg_audit_reader tg_audit_memtree_reader(tg_audit_memtree *t);
void tg_audit_memtree_free(tg_audit_memtree *t);

/* --- tlog-tiles ---------------------------------------------------------- */

#define TG_AUDIT_TILE_WIDTH 256
/* Longest tile path: "tile/entries/" or "tile/63/", 7 groups of "x123/"
 * for a uint64 index, ".p/255", NUL. */
#define TG_AUDIT_TILE_PATH_MAX 64

/* Tile (level L, index N) holds, for i in [0, width), the node at Merkle
 * level 8 * L and index N * 256 + i; width 256 is a full tile, less a
 * partial one. */
typedef struct tg_audit_tile {
    unsigned level;
    uint64_t index;
    unsigned width;
} tg_audit_tile;

/* The tile (level, index) as a tree of `size` leaves has it: full, or
 * partial of width floor(size / 256^level) mod 256. TG_ENOT_FOUND when the
 * tree has no hash in it (empty tiles are never served). */
int tg_audit_tile_for_size(uint64_t size, unsigned level, uint64_t index,
                           tg_audit_tile *t);

/* Writes "tile/L/x001/x234/067[.p/W]" (or, with entries set,
 * "tile/entries/x001/x234/067[.p/W]") and a NUL into buf of
 * TG_AUDIT_TILE_PATH_MAX bytes. TG_EINVAL for a level over 63 or a width
 * of 0 or over 256. */
int tg_audit_tile_path(const tg_audit_tile *t, int entries, char *buf, size_t cap);

/* Parses a path as tg_audit_tile_path writes it, refusing every other
 * spelling (leading zeros, a missing 'x', a width of 256 written as
 * partial). *entries is set to 1 for an entry bundle. */
int tg_audit_tile_parse_path(const char *path, size_t len, tg_audit_tile *t,
                             int *entries);

/* Reads the tile's hashes from r into out (t->width * 32 bytes). */
int tg_audit_tile_read(const tg_audit_reader *r, const tg_audit_tile *t, uint8_t *out);

/* The Merkle tree hash of a tile's `width` hashes (data as read above),
 * taken as leaves of their own subtree: for a full tile, the node at level
 * 8 * (L + 1) that the tile above holds. */
int tg_audit_tile_hash(const uint8_t *data, unsigned width, tg_audit_hash *out);

/* Entry bundles (tile/entries/N): each entry as a big-endian uint16 length
 * and its bytes, so a leaf's data is at most 65535 bytes. Appends one
 * entry to out: 0, TG_ETOO_BIG or TG_ENOMEM. */
int tg_audit_bundle_put(tg_strbuf *out, const void *entry, size_t len);

/* The entry of bundle b[0..len) at *off, advancing *off past it. 1 when an
 * entry was read, 0 at the end, TG_EPARSE when the bundle is cut short. */
int tg_audit_bundle_next(const uint8_t *b, size_t len, size_t *off, const uint8_t **entry,
                         size_t *elen);

#endif
