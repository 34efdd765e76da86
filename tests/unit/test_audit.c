/* audit/: the transparency log library.
 *
 * The Merkle tests check the library against a naive transcription of the
 * RFC 6962 / RFC 9162 definitions (MTH, PATH, PROOF as recursive functions
 * over the leaf list, with SHA-256 called directly), for every tree size,
 * index and pair of sizes up to 64. The note, checkpoint and proof tests
 * use the examples printed in the C2SP specs where there are some, and
 * round trips, foreign keys and tampering everywhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "tg_audit.h"
#include "tg_codec.h"
#include "tg_err.h"

/* --- a naive model of RFC 6962 -------------------------------------------- */

static void sha256(const void *a, size_t al, const void *b, size_t bl, const void *c,
                   size_t cl, uint8_t out[32])
{
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    unsigned int n;

    assert_non_null(x);
    assert_int_equal(EVP_DigestInit_ex(x, EVP_sha256(), NULL), 1);
    EVP_DigestUpdate(x, a, al);
    EVP_DigestUpdate(x, b, bl);
    EVP_DigestUpdate(x, c, cl);
    EVP_DigestFinal_ex(x, out, &n);
    EVP_MD_CTX_free(x);
}

static tg_audit_hash naive_leaf(uint64_t i)
{
    char data[32];
    int n = snprintf(data, sizeof(data), "leaf %llu", (unsigned long long)i);
    uint8_t zero = 0;
    tg_audit_hash h;

    sha256(&zero, 1, data, (size_t)n, "", 0, h.b);
    return h;
}

static tg_audit_hash naive_node(tg_audit_hash l, tg_audit_hash r)
{
    uint8_t one = 1;
    tg_audit_hash h;

    sha256(&one, 1, l.b, 32, r.b, 32, h.b);
    return h;
}

static uint64_t naive_k(uint64_t n)
{
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

/* MTH(D[a:b]) straight from RFC 6962 section 2.1. */
static tg_audit_hash naive_mth(uint64_t a, uint64_t b)
{
    tg_audit_hash h;
    uint64_t k;

    if (b == a) {
        sha256("", 0, "", 0, "", 0, h.b);
        return h;
    }
    if (b - a == 1)
        return naive_leaf(a);
    k = naive_k(b - a);
    return naive_node(naive_mth(a, a + k), naive_mth(a + k, b));
}

static void naive_path(uint64_t m, uint64_t a, uint64_t b, tg_audit_hash *out, size_t *n)
{
    uint64_t k;

    if (b - a <= 1)
        return;
    k = naive_k(b - a);
    if (m - a < k) {
        naive_path(m, a, a + k, out, n);
        out[(*n)++] = naive_mth(a + k, b);
    } else {
        naive_path(m, a + k, b, out, n);
        out[(*n)++] = naive_mth(a, a + k);
    }
}

static void naive_subproof(uint64_t m, uint64_t a, uint64_t b, int flag,
                           tg_audit_hash *out, size_t *n)
{
    uint64_t k;

    if (m == b - a) {
        if (!flag)
            out[(*n)++] = naive_mth(a, b);
        return;
    }
    k = naive_k(b - a);
    if (m <= k) {
        naive_subproof(m, a, a + k, flag, out, n);
        out[(*n)++] = naive_mth(a + k, b);
    } else {
        naive_subproof(m - k, a + k, b, 0, out, n);
        out[(*n)++] = naive_mth(a, a + k);
    }
}

#define N_MAX 64

static tg_audit_memtree *tree_of(uint64_t n)
{
    tg_audit_memtree *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    for (uint64_t i = 0; i < n; i++) {
        tg_audit_hash h = naive_leaf(i);
        assert_int_equal(tg_audit_memtree_append(t, &h, 1), 0);
    }
    return t;
}

static void free_tree(tg_audit_memtree *t)
{
    tg_audit_memtree_free(t);
    free(t);
}

/* --- Merkle ---------------------------------------------------------------- */

static void test_hash_known_answers(void **state)
{
    tg_audit_hash h;
    char hex[65];
    (void)state;

    /* SHA-256("") and SHA-256(0x00): the empty tree and the empty leaf. */
    tg_audit_empty_hash(&h);
    tg_hex_encode(h.b, 32, hex);
    assert_string_equal(
        hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    tg_audit_leaf_hash("", 0, &h);
    tg_hex_encode(h.b, 32, hex);
    assert_string_equal(
        hex, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    for (uint64_t i = 0; i < 4; i++) {
        char data[32];
        tg_audit_hash want = naive_leaf(i);
        int n = snprintf(data, sizeof(data), "leaf %llu", (unsigned long long)i);
        tg_audit_leaf_hash(data, (size_t)n, &h);
        assert_memory_equal(h.b, want.b, 32);
    }
    {
        tg_audit_hash l = naive_leaf(0), r = naive_leaf(1), want = naive_node(l, r);
        tg_audit_node_hash(&l, &r, &h);
        assert_memory_equal(h.b, want.b, 32);
        /* Order matters. */
        tg_audit_node_hash(&r, &l, &h);
        assert_memory_not_equal(h.b, want.b, 32);
    }
}

static void test_roots_match_naive(void **state)
{
    tg_audit_memtree *t = tree_of(N_MAX);
    tg_audit_reader r = tg_audit_memtree_reader(t);
    (void)state;

    for (uint64_t n = 0; n <= N_MAX; n++) {
        tg_audit_hash got, want = naive_mth(0, n);
        assert_int_equal(tg_audit_merkle_root(&r, n, &got), 0);
        assert_memory_equal(got.b, want.b, 32);
    }
    /* A root beyond the stored tree is an error, not a guess. */
    {
        tg_audit_hash got;
        assert_int_equal(tg_audit_merkle_root(&r, N_MAX + 1, &got), TG_ENOT_FOUND);
    }
    free_tree(t);
}

static void test_inclusion_every_index(void **state)
{
    tg_audit_memtree *t = tree_of(N_MAX);
    tg_audit_reader r = tg_audit_memtree_reader(t);
    (void)state;

    for (uint64_t n = 1; n <= N_MAX; n++) {
        tg_audit_hash root = naive_mth(0, n);
        for (uint64_t i = 0; i < n; i++) {
            tg_audit_hash proof[TG_AUDIT_PROOF_MAX], want[TG_AUDIT_PROOF_MAX];
            tg_audit_hash leaf = naive_leaf(i), other = naive_leaf(i + 1000);
            size_t np, nw = 0;

            assert_int_equal(tg_audit_merkle_inclusion(&r, i, n, proof, &np), 0);
            naive_path(i, 0, n, want, &nw);
            assert_int_equal(np, nw);
            if (np > 0)
                assert_memory_equal(proof, want, np * sizeof(proof[0]));
            assert_int_equal(
                tg_audit_merkle_verify_inclusion(&leaf, i, n, proof, np, &root), 0);
            /* Another leaf, another index, a short or damaged proof: no. */
            assert_int_equal(
                tg_audit_merkle_verify_inclusion(&other, i, n, proof, np, &root),
                TG_EVERIFY);
            if (n > 1)
                assert_int_equal(tg_audit_merkle_verify_inclusion(&leaf, (i + 1) % n, n,
                                                                  proof, np, &root),
                                 TG_EVERIFY);
            if (np > 0) {
                assert_int_equal(
                    tg_audit_merkle_verify_inclusion(&leaf, i, n, proof, np - 1, &root),
                    TG_EVERIFY);
                proof[np - 1].b[7] ^= 0x10;
                assert_int_equal(
                    tg_audit_merkle_verify_inclusion(&leaf, i, n, proof, np, &root),
                    TG_EVERIFY);
            }
        }
        {
            tg_audit_hash proof[TG_AUDIT_PROOF_MAX];
            size_t np;
            assert_int_equal(tg_audit_merkle_inclusion(&r, n, n, proof, &np), TG_EINVAL);
        }
    }
    free_tree(t);
}

static void test_consistency_every_pair(void **state)
{
    tg_audit_memtree *t = tree_of(N_MAX);
    tg_audit_reader r = tg_audit_memtree_reader(t);
    (void)state;

    for (uint64_t n = 1; n <= N_MAX; n++) {
        tg_audit_hash new_root = naive_mth(0, n);
        for (uint64_t m = 0; m <= n; m++) {
            tg_audit_hash proof[TG_AUDIT_PROOF_MAX], want[TG_AUDIT_PROOF_MAX];
            tg_audit_hash old_root = naive_mth(0, m);
            size_t np, nw = 0;

            assert_int_equal(tg_audit_merkle_consistency(&r, m, n, proof, &np), 0);
            if (m > 0 && m < n)
                naive_subproof(m, 0, n, 1, want, &nw);
            assert_int_equal(np, nw);
            if (np > 0)
                assert_memory_equal(proof, want, np * sizeof(proof[0]));
            assert_int_equal(
                tg_audit_merkle_verify_consistency(m, &old_root, n, &new_root, proof, np),
                0);
            if (m == 0)
                continue;
            /* A forked history: another old root, or another new one. */
            {
                tg_audit_hash fork = old_root;
                fork.b[0] ^= 1;
                assert_int_equal(
                    tg_audit_merkle_verify_consistency(m, &fork, n, &new_root, proof, np),
                    TG_EVERIFY);
                fork = new_root;
                fork.b[31] ^= 0x80;
                assert_int_equal(
                    tg_audit_merkle_verify_consistency(m, &old_root, n, &fork, proof, np),
                    TG_EVERIFY);
            }
            if (np > 0) {
                assert_int_equal(tg_audit_merkle_verify_consistency(
                                     m, &old_root, n, &new_root, proof, np - 1),
                                 TG_EVERIFY);
                proof[0].b[3] ^= 4;
                assert_int_equal(tg_audit_merkle_verify_consistency(m, &old_root, n,
                                                                    &new_root, proof, np),
                                 TG_EVERIFY);
            }
            if (m < n)
                assert_int_equal(tg_audit_merkle_verify_consistency(m + 1, &old_root, n,
                                                                    &new_root, proof, np),
                                 TG_EVERIFY);
        }
        {
            tg_audit_hash proof[TG_AUDIT_PROOF_MAX];
            size_t np;
            assert_int_equal(tg_audit_merkle_consistency(&r, n + 1, n, proof, &np),
                             TG_EINVAL);
        }
    }
    free_tree(t);
}

/* Past the exhaustive sizes: a tree of 70,000 leaves (three tile levels),
 * its root against the naive model and proofs between sampled sizes. */
static void test_large_tree_samples(void **state)
{
    static const uint64_t sizes[] = {255, 256, 257, 65535, 65536, 65537, 70000};
    tg_audit_memtree *t = tree_of(70000);
    tg_audit_reader r = tg_audit_memtree_reader(t);
    tg_audit_hash roots[7];
    (void)state;

    for (size_t i = 0; i < 7; i++) {
        tg_audit_hash want = naive_mth(0, sizes[i]);
        assert_int_equal(tg_audit_merkle_root(&r, sizes[i], &roots[i]), 0);
        assert_memory_equal(roots[i].b, want.b, 32);
    }
    for (size_t i = 0; i < 7; i++) {
        for (size_t j = i; j < 7; j++) {
            tg_audit_hash proof[TG_AUDIT_PROOF_MAX];
            size_t np;
            assert_int_equal(
                tg_audit_merkle_consistency(&r, sizes[i], sizes[j], proof, &np), 0);
            assert_int_equal(tg_audit_merkle_verify_consistency(
                                 sizes[i], &roots[i], sizes[j], &roots[j], proof, np),
                             0);
            if (i != j)
                assert_int_equal(tg_audit_merkle_verify_consistency(
                                     sizes[i], &roots[j], sizes[j], &roots[i], proof, np),
                                 TG_EVERIFY);
        }
        for (uint64_t idx = 0; idx < sizes[i]; idx += sizes[i] / 5 + 1) {
            tg_audit_hash proof[TG_AUDIT_PROOF_MAX], leaf = naive_leaf(idx);
            size_t np;
            assert_int_equal(tg_audit_merkle_inclusion(&r, idx, sizes[i], proof, &np), 0);
            assert_int_equal(tg_audit_merkle_verify_inclusion(&leaf, idx, sizes[i], proof,
                                                              np, &roots[i]),
                             0);
        }
    }
    free_tree(t);
}

/* A node store as a site's would be: a flat table the caller writes the
 * appended nodes into. */
typedef struct {
    tg_audit_node *nodes;
    size_t n, cap;
} table;

static int table_read(void *ctx, unsigned level, uint64_t index, tg_audit_hash *out)
{
    table *t = ctx;
    for (size_t i = 0; i < t->n; i++) {
        if (t->nodes[i].level == level && t->nodes[i].index == index) {
            *out = t->nodes[i].hash;
            return 0;
        }
    }
    return TG_ENOT_FOUND;
}

static void test_append_writes_exactly_the_new_nodes(void **state)
{
    static const size_t batches[] = {1, 3, 1, 8, 2, 5, 1, 16, 7, 20};
    table t = {0};
    tg_audit_reader r = {table_read, &t};
    tg_audit_memtree *mt = tree_of(N_MAX + 6);
    uint64_t size = 0;
    (void)state;

    t.cap = 2 * (N_MAX + 6);
    t.nodes = calloc(t.cap, sizeof(*t.nodes));
    assert_non_null(t.nodes);
    for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
        tg_audit_hash leaves[32], root, want;
        tg_audit_node out[2 * 32 + 64];
        size_t n = batches[b], nout;

        for (size_t i = 0; i < n; i++)
            leaves[i] = naive_leaf(size + i);
        assert_int_equal(tg_audit_merkle_append(&r, size, leaves, n, out, &nout, &root),
                         0);
        assert_int_equal(nout, tg_audit_merkle_node_count(size + n) -
                                   tg_audit_merkle_node_count(size));
        for (size_t i = 0; i < nout; i++) {
            tg_audit_hash mem;
            /* Every node is new and is the node the full tree holds. */
            assert_int_equal(table_read(&t, out[i].level, out[i].index, &mem),
                             TG_ENOT_FOUND);
            assert_int_equal(mt->levels[out[i].level] != NULL, 1);
            assert_memory_equal(out[i].hash.b, mt->levels[out[i].level][out[i].index].b,
                                32);
            assert_true(t.n < t.cap);
            t.nodes[t.n++] = out[i];
        }
        size += n;
        want = naive_mth(0, size);
        assert_memory_equal(root.b, want.b, 32);
        assert_int_equal(tg_audit_merkle_node_count(size), t.n);
    }
    assert_int_equal(size, N_MAX);
    /* Appending to a store that lacks the tree it claims fails cleanly. */
    {
        tg_audit_hash leaf = naive_leaf(0);
        tg_audit_node out[70];
        size_t nout;
        assert_int_equal(tg_audit_merkle_append(&r, size + 2, &leaf, 1, out, &nout, NULL),
                         TG_ENOT_FOUND);
    }
    free(t.nodes);
    free_tree(mt);
}

/* --- tiles ---------------------------------------------------------------- */

static void path_is(unsigned level, uint64_t index, unsigned width, int entries,
                    const char *want)
{
    tg_audit_tile t = {level, index, width}, back;
    char buf[TG_AUDIT_TILE_PATH_MAX];
    int e;

    assert_int_equal(tg_audit_tile_path(&t, entries, buf, sizeof(buf)), 0);
    assert_string_equal(buf, want);
    assert_int_equal(tg_audit_tile_parse_path(buf, strlen(buf), &back, &e), 0);
    assert_int_equal(e, entries);
    if (!entries)
        assert_int_equal(back.level, level);
    assert_true(back.index == index);
    assert_int_equal(back.width, width);
}

static void test_tile_paths(void **state)
{
    static const char *bad[] = {
        "tile/0/1234067",        "tile/0/x1/234",    "tile/00/000",
        "tile/64/000",           "tile/0/001/234",   "tile/0/x000/001",
        "tile/0/000.p/0",        "tile/0/000.p/256", "tile/0/000.p/07",
        "tile/0/000/",           "tile/0/",          "tiles/0/000",
        "tile/entries/x01/000",  "tile/0/000.p/",    "tile/-1/000",
        "tile/0/x001/x234/x067",
    };
    tg_audit_tile t;
    int e;
    (void)state;

    /* The examples in c2sp.org/tlog-tiles. */
    path_is(0, 1234067, 256, 0, "tile/0/x001/x234/067");
    path_is(0, 1234067, 256, 1, "tile/entries/x001/x234/067");
    path_is(0, 0, 256, 0, "tile/0/000");
    path_is(1, 0, 17, 0, "tile/1/000.p/17");
    path_is(0, 273, 112, 1, "tile/entries/273.p/112");
    path_is(2, 1000, 1, 0, "tile/2/x001/000.p/1");
    path_is(63, UINT64_MAX, 255, 0, "tile/63/x018/x446/x744/x073/x709/x551/615.p/255");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_not_equal(tg_audit_tile_parse_path(bad[i], strlen(bad[i]), &t, &e), 0);
    t = (tg_audit_tile){64, 0, 256};
    {
        char buf[TG_AUDIT_TILE_PATH_MAX];
        assert_int_equal(tg_audit_tile_path(&t, 0, buf, sizeof(buf)), TG_EINVAL);
        t = (tg_audit_tile){0, 0, 0};
        assert_int_equal(tg_audit_tile_path(&t, 0, buf, sizeof(buf)), TG_EINVAL);
    }
}

static void test_tiles_for_size(void **state)
{
    tg_audit_tile t;
    (void)state;

    /* "a tree of size 70,000 will be represented by 273 full level 0
     * tiles, one partial level 0 tile of width 112, one full level 1 tile,
     * one partial level 1 tile of width 17, and one partial level 2 tile of
     * width 1." */
    assert_int_equal(tg_audit_tile_for_size(70000, 0, 272, &t), 0);
    assert_int_equal(t.width, 256);
    assert_int_equal(tg_audit_tile_for_size(70000, 0, 273, &t), 0);
    assert_int_equal(t.width, 112);
    assert_int_equal(tg_audit_tile_for_size(70000, 0, 274, &t), TG_ENOT_FOUND);
    assert_int_equal(tg_audit_tile_for_size(70000, 1, 0, &t), 0);
    assert_int_equal(t.width, 256);
    assert_int_equal(tg_audit_tile_for_size(70000, 1, 1, &t), 0);
    assert_int_equal(t.width, 17);
    assert_int_equal(tg_audit_tile_for_size(70000, 2, 0, &t), 0);
    assert_int_equal(t.width, 1);
    assert_int_equal(tg_audit_tile_for_size(70000, 3, 0, &t), TG_ENOT_FOUND);
    /* "a tree of size 256 will be represented by a full level 0 tile and a
     * partial level 1 tile of width 1." */
    assert_int_equal(tg_audit_tile_for_size(256, 0, 0, &t), 0);
    assert_int_equal(t.width, 256);
    assert_int_equal(tg_audit_tile_for_size(256, 0, 1, &t), TG_ENOT_FOUND);
    assert_int_equal(tg_audit_tile_for_size(256, 1, 0, &t), 0);
    assert_int_equal(t.width, 1);
    assert_int_equal(tg_audit_tile_for_size(0, 0, 0, &t), TG_ENOT_FOUND);
}

static void test_tile_contents(void **state)
{
    const uint64_t size = 3 * 256 + 5;
    tg_audit_memtree *mt = tree_of(size);
    tg_audit_reader r = tg_audit_memtree_reader(mt);
    uint8_t *data = malloc(256 * 32);
    tg_audit_tile t;
    tg_audit_hash h, want;
    (void)state;

    assert_non_null(data);
    /* A full level-0 tile: the leaf hashes; its hash is the level-8 node,
     * MTH of its 256 leaves, and the level-1 tile holds it. */
    assert_int_equal(tg_audit_tile_for_size(size, 0, 1, &t), 0);
    assert_int_equal(tg_audit_tile_read(&r, &t, data), 0);
    for (unsigned i = 0; i < 256; i++) {
        tg_audit_hash leaf = naive_leaf(256 + i);
        assert_memory_equal(data + i * 32, leaf.b, 32);
    }
    assert_int_equal(tg_audit_tile_hash(data, 256, &h), 0);
    want = naive_mth(256, 512);
    assert_memory_equal(h.b, want.b, 32);
    /* The partial level-0 tile of width 5 hashes to MTH of its 5 leaves. */
    assert_int_equal(tg_audit_tile_for_size(size, 0, 3, &t), 0);
    assert_int_equal(t.width, 5);
    assert_int_equal(tg_audit_tile_read(&r, &t, data), 0);
    assert_int_equal(tg_audit_tile_hash(data, 5, &h), 0);
    want = naive_mth(768, 773);
    assert_memory_equal(h.b, want.b, 32);
    /* The partial level-1 tile of width 3 holds MTH of each full 256. */
    assert_int_equal(tg_audit_tile_for_size(size, 1, 0, &t), 0);
    assert_int_equal(t.width, 3);
    assert_int_equal(tg_audit_tile_read(&r, &t, data), 0);
    for (unsigned i = 0; i < 3; i++) {
        want = naive_mth(i * 256, (i + 1) * 256);
        assert_memory_equal(data + i * 32, want.b, 32);
    }
    assert_int_equal(tg_audit_tile_hash(data, 3, &h), 0);
    want = naive_mth(0, 768);
    assert_memory_equal(h.b, want.b, 32);
    t.width = 4;
    assert_int_equal(tg_audit_tile_read(&r, &t, data), TG_ENOT_FOUND);
    free(data);
    free_tree(mt);
}

static void test_entry_bundles(void **state)
{
    static char big[70000];
    tg_strbuf b = {0};
    const uint8_t *e;
    size_t off = 0, el;
    (void)state;

    assert_int_equal(tg_audit_bundle_put(&b, "leaf 0", 6), 0);
    assert_int_equal(tg_audit_bundle_put(&b, "", 0), 0);
    assert_int_equal(tg_audit_bundle_put(&b, big, 300), 0);
    assert_int_equal(tg_audit_bundle_put(&b, big, sizeof(big)), TG_ETOO_BIG);
    assert_int_equal(b.len, 2 + 6 + 2 + 2 + 300);
    assert_memory_equal(b.p, "\x00\x06leaf 0\x00\x00\x01\x2c", 12);
    assert_int_equal(tg_audit_bundle_next((uint8_t *)b.p, b.len, &off, &e, &el), 1);
    assert_int_equal(el, 6);
    assert_memory_equal(e, "leaf 0", 6);
    assert_int_equal(tg_audit_bundle_next((uint8_t *)b.p, b.len, &off, &e, &el), 1);
    assert_int_equal(el, 0);
    assert_int_equal(tg_audit_bundle_next((uint8_t *)b.p, b.len, &off, &e, &el), 1);
    assert_int_equal(el, 300);
    assert_int_equal(tg_audit_bundle_next((uint8_t *)b.p, b.len, &off, &e, &el), 0);
    /* Cut short: in a length, or in an entry. */
    off = 0;
    assert_int_equal(tg_audit_bundle_next((uint8_t *)b.p, 1, &off, &e, &el), TG_EPARSE);
    off = 0;
    assert_int_equal(tg_audit_bundle_next((uint8_t *)b.p, 7, &off, &e, &el), TG_EPARSE);
    free(b.p);
}

/* --- signed notes ---------------------------------------------------------- */

/* The verifier key and note printed in c2sp.org/signed-note. */
static const char spec_vkey[] =
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
static const char spec_note[] = "This is an example message.\n"
                                "\n"
                                "\xE2\x80\x94 example.com/foo "
                                "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1E"
                                "RYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

static void make_signer(tg_audit_signer *s, const char *name, uint8_t type, uint8_t fill)
{
    uint8_t seed[32];
    memset(seed, fill, sizeof(seed));
    assert_int_equal(tg_audit_signer_init(s, name, type, seed), 0);
}

static void test_note_spec_example(void **state)
{
    tg_audit_verifier v;
    tg_audit_note n;
    tg_strbuf out = {0};
    char *bad;
    (void)state;

    assert_int_equal(tg_audit_verifier_parse(spec_vkey, strlen(spec_vkey), &v), 0);
    assert_string_equal(v.name, "example.com/foo");
    assert_int_equal(v.key_id, 0x530d903a);
    assert_int_equal(v.type, TG_AUDIT_SIG_ED25519);
    tg_audit_verifier_format(&v, &out);
    assert_string_equal(out.p, spec_vkey);
    free(out.p);
    assert_int_equal(tg_audit_note_open(spec_note, strlen(spec_note), &v, 1, &n), 0);
    assert_int_equal(n.nsigs, 1);
    assert_int_equal(n.sigs[0].verifier, 0);
    assert_int_equal(n.text_len, strlen("This is an example message.\n"));
    /* One changed letter of the text. */
    bad = strdup(spec_note);
    bad[5] = 'I';
    assert_int_equal(tg_audit_note_open(bad, strlen(bad), &v, 1, &n), TG_EVERIFY);
    free(bad);
    /* A vkey whose ID does not belong to its key is refused. */
    {
        char k[sizeof(spec_vkey)];
        memcpy(k, spec_vkey, sizeof(k));
        k[16] = '6';
        assert_int_equal(tg_audit_verifier_parse(k, strlen(k), &v), TG_EPARSE);
    }
}

static void test_note_round_trip_and_foreign_keys(void **state)
{
    const char text[] = "tollgate.example/fra\nsome text\n\nwith an empty line\n";
    tg_audit_signer a, b, a2;
    tg_audit_verifier va, vb, va2, vs[2];
    tg_strbuf out = {0};
    tg_audit_note n;
    (void)state;

    make_signer(&a, "tollgate.example/fra", TG_AUDIT_SIG_ED25519, 1);
    make_signer(&b, "tollgate.example/iad", TG_AUDIT_SIG_ED25519, 2);
    /* Same name as a, another key. */
    make_signer(&a2, "tollgate.example/fra", TG_AUDIT_SIG_ED25519, 3);
    tg_audit_signer_verifier(&a, &va);
    tg_audit_signer_verifier(&b, &vb);
    tg_audit_signer_verifier(&a2, &va2);
    assert_int_not_equal(va.key_id, va2.key_id);

    assert_int_equal(tg_audit_note_format(text, strlen(text), &a, 1, &out), 0);
    assert_int_equal(tg_audit_note_open(out.p, out.len, &va, 1, &n), 0);
    assert_int_equal(n.text_len, strlen(text));
    assert_memory_equal(n.text, text, n.text_len);
    /* Signed by a, checked against b or a key sharing a's name: no known
     * signature, rejected. */
    assert_int_equal(tg_audit_note_open(out.p, out.len, &vb, 1, &n), TG_EVERIFY);
    assert_int_equal(tg_audit_note_open(out.p, out.len, &va2, 1, &n), TG_EVERIFY);
    /* Unknown signatures are ignored when a known one verifies. */
    assert_int_equal(tg_audit_note_sign(&b, text, strlen(text), &out), 0);
    assert_int_equal(tg_audit_note_open(out.p, out.len, &va, 1, &n), 0);
    assert_int_equal(n.nsigs, 2);
    assert_int_equal(n.sigs[1].verifier, -1);
    vs[0] = vb;
    vs[1] = va;
    assert_int_equal(tg_audit_note_open(out.p, out.len, vs, 2, &n), 0);
    assert_int_equal(n.sigs[0].verifier, 1);
    assert_int_equal(n.sigs[1].verifier, 0);
    /* A known key with the right name and ID whose signature fails rejects
     * the note, even with another good signature present. */
    va2.key_id = va.key_id;
    vs[0] = vb;
    vs[1] = va2;
    assert_int_equal(tg_audit_note_open(out.p, out.len, vs, 2, &n), TG_EVERIFY);
    /* Tampered text. */
    out.p[0] ^= 0x20;
    assert_int_equal(tg_audit_note_open(out.p, out.len, &va, 1, &n), TG_EVERIFY);
    free(out.p);
    /* Signing needs a text ending in a newline, and a plain key. */
    out = (tg_strbuf){0};
    assert_int_equal(tg_audit_note_sign(&a, "no newline", 10, &out), TG_EINVAL);
    free(out.p);
    tg_audit_signer_clear(&a);
    tg_audit_signer_clear(&b);
    tg_audit_signer_clear(&a2);
}

static void test_note_malformed(void **state)
{
    static const char *bad[] = {
        "",
        "text\n",
        "text\n\n",
        "text\n\n\xE2\x80\x94 name AAAAAAAA\n",        /* 6 bytes: fine */
        "text\n\n\xE2\x80\x94 name AAAAAA==\n",        /* 4 bytes: no signature */
        "text\n\n- name AAAAAAAA\n",                   /* not an em dash */
        "text\n\n\xE2\x80\x94 name AAAAAAAA",          /* no final newline */
        "text\n\n\xE2\x80\x94 na+me AAAAAAAA\n",       /* '+' in the name */
        "text\n\n\xE2\x80\x94  AAAAAAAA\n",            /* empty name */
        "text\n\n\xE2\x80\x94 name AAAAAAA\n",         /* not a multiple of 4 */
        "text\n\n\xE2\x80\x94 name AAAA_AAA\n",        /* URL-safe alphabet */
        "text\n\n\xE2\x80\x94 name AAAAAAB=\n",        /* non-canonical bits */
        "te\txt\n\n\xE2\x80\x94 name AAAAAAAA\n",      /* a control character */
        "text\n\n\xE2\x80\x94 name AAAAAAAA\n\n",      /* an empty signature line */
        "te\xff\n\n\xE2\x80\x94 name AAAAAAAA\n",      /* not UTF-8 */
        "text\n\n\xE2\x80\x94 n\xC2\xA0me AAAAAAAA\n", /* a Unicode space in the name */
        "text\n\n\xE2\x80\x94 name AAAAAAAA extra\n",  /* trailing field */
    };
    tg_audit_note n;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = tg_audit_note_parse(bad[i], strlen(bad[i]), &n);
        if (i == 3) {
            assert_int_equal(rc, 0);
            assert_int_equal(n.nsigs, 1);
            assert_int_equal(n.sigs[0].key_id, 0);
            continue;
        }
        if (rc != TG_EPARSE)
            fail_msg("case %zu: got %d", i, rc);
    }
}

/* --- checkpoints ----------------------------------------------------------- */

static const char spec_checkpoint[] = "example.com/behind-the-sofa\n"
                                      "20852163\n"
                                      "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

static void test_checkpoint_parse_format(void **state)
{
    static const char *bad[] = {
        "",
        "origin\n1\n",
        "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n+1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n9223372036854775808\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\next\n\nmore\n",
        "origin\n 1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=AAAA\n",
    };
    tg_audit_checkpoint cp;
    tg_strbuf out = {0};
    (void)state;

    assert_int_equal(
        tg_audit_checkpoint_parse(spec_checkpoint, strlen(spec_checkpoint), &cp), 0);
    assert_string_equal(cp.origin, "example.com/behind-the-sofa");
    assert_true(cp.size == 20852163);
    assert_int_equal(cp.ext_len, 0);
    assert_int_equal(tg_audit_checkpoint_format(&cp, &out), 0);
    assert_string_equal(out.p, spec_checkpoint);
    free(out.p);

    {
        const char with_ext[] =
            "o\n0\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nx y\nz\n";
        out = (tg_strbuf){0};
        assert_int_equal(tg_audit_checkpoint_parse(with_ext, strlen(with_ext), &cp), 0);
        assert_true(cp.size == 0);
        assert_int_equal(cp.ext_len, 6);
        assert_int_equal(tg_audit_checkpoint_format(&cp, &out), 0);
        assert_string_equal(out.p, with_ext);
        free(out.p);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tg_audit_checkpoint_parse(bad[i], strlen(bad[i]), &cp) != TG_EPARSE)
            fail_msg("case %zu parsed", i);
}

static void test_checkpoint_sign_and_cosign(void **state)
{
    tg_audit_signer log, other, witness;
    tg_audit_verifier vs[3];
    tg_audit_checkpoint cp = {0}, got;
    tg_strbuf out = {0};
    tg_audit_note n;
    (void)state;

    make_signer(&log, "tollgate.example/fra", TG_AUDIT_SIG_ED25519, 7);
    make_signer(&other, "tollgate.example/fra", TG_AUDIT_SIG_ED25519, 8);
    make_signer(&witness, "central.example/witness", TG_AUDIT_SIG_COSIG, 9);
    tg_audit_signer_verifier(&log, &vs[0]);
    tg_audit_signer_verifier(&witness, &vs[1]);
    tg_audit_signer_verifier(&other, &vs[2]);

    memcpy(cp.origin, "tollgate.example/fra", 20);
    cp.size = 42;
    cp.root = naive_mth(0, 42);
    assert_int_equal(tg_audit_checkpoint_sign(&cp, &log, &out), 0);
    assert_int_equal(tg_audit_checkpoint_open(out.p, out.len, vs, 1, &got, &n), 0);
    assert_string_equal(got.origin, cp.origin);
    assert_true(got.size == 42);
    assert_memory_equal(got.root.b, cp.root.b, 32);
    /* Signed with another key: rejected. */
    assert_int_equal(tg_audit_checkpoint_open(out.p, out.len, &vs[2], 1, &got, &n),
                     TG_EVERIFY);

    /* The witness cosigns the text; the note then carries both. */
    assert_int_equal(tg_audit_cosign(&witness, n.text, n.text_len, 1679315147, &out), 0);
    assert_int_equal(tg_audit_checkpoint_open(out.p, out.len, vs, 2, &got, &n), 0);
    assert_int_equal(n.nsigs, 2);
    assert_int_equal(n.sigs[0].verifier, 0);
    assert_int_equal(n.sigs[1].verifier, 1);
    assert_true(n.sigs[1].timestamp == 1679315147);
    /* A cosignature alone is no log signature. */
    assert_int_equal(tg_audit_checkpoint_open(out.p, out.len, &vs[1], 1, &got, &n),
                     TG_EVERIFY);
    /* Only a cosigning key cosigns, and only checkpoints. */
    assert_int_equal(
        tg_audit_cosign(&log, spec_checkpoint, strlen(spec_checkpoint), 1, &out),
        TG_EINVAL);
    assert_int_equal(tg_audit_cosign(&witness, "x\n", 2, 1, &out), TG_EINVAL);
    /* A cosignature's timestamp is signed: change one digit of it. */
    {
        tg_strbuf c = {0};
        uint8_t raw[80];
        char b64[120];
        const char *sp;
        long len;

        assert_int_equal(
            tg_audit_cosign(&witness, spec_checkpoint, strlen(spec_checkpoint), 5, &c),
            0);
        sp = strrchr(c.p, ' ');
        len = tg_base64_decode(sp + 1, strlen(sp + 1) - 1, raw, sizeof(raw));
        assert_int_equal(len, 4 + 8 + 64);
        raw[11] = 6;
        tg_base64_encode(raw, (size_t)len, b64);
        {
            tg_strbuf note = {0};
            tg_audit_checkpoint sc;
            tg_audit_signer sofa;
            tg_audit_verifier sv[2];

            make_signer(&sofa, "example.com/behind-the-sofa", TG_AUDIT_SIG_ED25519, 10);
            tg_audit_signer_verifier(&sofa, &sv[0]);
            sv[1] = vs[1];
            assert_int_equal(
                tg_audit_checkpoint_parse(spec_checkpoint, strlen(spec_checkpoint), &sc),
                0);
            assert_int_equal(tg_audit_checkpoint_sign(&sc, &sofa, &note), 0);
            tg_strbuf_put(&note, c.p, c.len);
            assert_int_equal(tg_audit_checkpoint_open(note.p, note.len, sv, 2, &sc, &n),
                             0);
            assert_true(n.sigs[1].timestamp == 5);
            memcpy(strrchr(note.p, ' ') + 1, b64, strlen(b64));
            assert_int_equal(tg_audit_checkpoint_open(note.p, note.len, sv, 2, &sc, &n),
                             TG_EVERIFY);
            free(note.p);
        }
        free(c.p);
    }
    free(out.p);
}

/* Known answers computed outside this code base (Python's `cryptography`
 * Ed25519, key IDs and messages built from the spec text): the seeds are 32
 * bytes of 0x0a (log) and 0x09 (witness). */
static void test_signature_known_answers(void **state)
{
    static const char want_log[] = "\xE2\x80\x94 example.com/behind-the-sofa "
                                   "RUfGlvDRdaDbU8c9XZXgBL9fsHn6SdcBggrasBZFIIOLlVNdmBWU1"
                                   "C34h2la7dnKTIjhFuvC5+x+3WqfnShBiYPmWwQ=\n";
    static const char want_cosig[] = "\xE2\x80\x94 central.example/witness "
                                     "hCmJewAAAABkGFDLSEwbtADY9t5XeSzDTVuiqYN5nZfoc9NQOUg"
                                     "kPYm4wwjIUL68Nczz1tpzCjnpmnRXttgqVVwOg3Wf"
                                     "E7AXqa+DAg==\n";
    static const char want_vkey[] =
        "central.example/witness+8429897b+BP0XJDhaoMdbZPt4zWAvodmR/ev3axPFjtcC6sg16fYY";
    tg_audit_signer log, witness;
    tg_strbuf out = {0};
    (void)state;

    make_signer(&log, "example.com/behind-the-sofa", TG_AUDIT_SIG_ED25519, 10);
    make_signer(&witness, "central.example/witness", TG_AUDIT_SIG_COSIG, 9);
    assert_int_equal(
        tg_audit_note_sign(&log, spec_checkpoint, strlen(spec_checkpoint), &out), 0);
    assert_string_equal(out.p, want_log);
    free(out.p);
    out = (tg_strbuf){0};
    assert_int_equal(tg_audit_cosign(&witness, spec_checkpoint, strlen(spec_checkpoint),
                                     1679315147, &out),
                     0);
    assert_string_equal(out.p, want_cosig);
    free(out.p);
    out = (tg_strbuf){0};
    tg_audit_keys_vkey(&witness, &out);
    assert_string_equal(out.p, want_vkey);
    free(out.p);
}

/* --- proof files ----------------------------------------------------------- */

static void test_proof_round_trip_and_bit_flips(void **state)
{
    const uint64_t size = 13, index = 6;
    tg_audit_memtree *mt = tree_of(size);
    tg_audit_reader r = tg_audit_memtree_reader(mt);
    tg_audit_signer log, witness;
    tg_audit_verifier vs[2];
    tg_audit_checkpoint cp = {0}, got;
    tg_audit_hash path[TG_AUDIT_PROOF_MAX], leaf = naive_leaf(index);
    tg_strbuf note = {0}, file = {0};
    tg_audit_note n;
    tg_audit_proof pr;
    size_t np, cp_text_len;
    char data[32];
    int dl = snprintf(data, sizeof(data), "leaf %llu", (unsigned long long)index);
    (void)state;

    make_signer(&log, "tollgate.example/fra", TG_AUDIT_SIG_ED25519, 11);
    make_signer(&witness, "central.example/w", TG_AUDIT_SIG_COSIG, 12);
    tg_audit_signer_verifier(&log, &vs[0]);
    tg_audit_signer_verifier(&witness, &vs[1]);
    memcpy(cp.origin, "tollgate.example/fra", 20);
    cp.size = size;
    assert_int_equal(tg_audit_merkle_root(&r, size, &cp.root), 0);
    assert_int_equal(tg_audit_checkpoint_sign(&cp, &log, &note), 0);
    cp_text_len = (size_t)(strstr(note.p, "\n\n") - note.p) + 1;
    assert_int_equal(tg_audit_cosign(&witness, note.p, cp_text_len, 1700000000, &note),
                     0);
    assert_int_equal(tg_audit_merkle_inclusion(&r, index, size, path, &np), 0);

    assert_int_equal(
        tg_audit_proof_format(index, NULL, 0, path, np, note.p, note.len, &file), 0);
    assert_int_equal(strncmp(file.p, "c2sp.org/tlog-proof@v1\nindex 6\n", 31), 0);
    assert_int_equal(tg_audit_proof_parse(file.p, file.len, &pr), 0);
    assert_true(pr.index == index);
    assert_int_equal(pr.npath, np);
    assert_null(pr.extra);
    assert_int_equal(pr.checkpoint_len, note.len);
    assert_int_equal(
        tg_audit_proof_verify(file.p, file.len, data, (size_t)dl, NULL, vs, 2, &got, &n),
        0);
    assert_true(got.size == size);
    assert_int_equal(n.sigs[1].verifier, 1);
    assert_int_equal(
        tg_audit_proof_verify(file.p, file.len, NULL, 0, &leaf, vs, 1, NULL, NULL), 0);
    /* Another leaf's data, and the witness's key alone, fail. */
    assert_int_equal(
        tg_audit_proof_verify(file.p, file.len, "leaf 7", 6, NULL, vs, 2, NULL, NULL),
        TG_EVERIFY);
    assert_int_equal(
        tg_audit_proof_verify(file.p, file.len, NULL, 0, &leaf, &vs[1], 1, NULL, NULL),
        TG_EVERIFY);
    /* Every single flipped bit anywhere in the file is caught by a verifier
     * whose policy wants the log's signature and the witness's cosignature
     * (a damaged witness line alone is an unknown signature, ignored by the
     * note rules, so the policy is what catches it). */
    for (size_t i = 0; i < file.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            file.p[i] ^= (char)(1 << bit);
            int rc =
                tg_audit_proof_verify(file.p, file.len, NULL, 0, &leaf, vs, 2, NULL, &n);
            int cosigned = 0;
            for (size_t k = 0; rc == 0 && k < n.nsigs; k++)
                cosigned |= n.sigs[k].verifier == 1;
            if (rc == 0 && cosigned)
                fail_msg("flipping bit %d of byte %zu went unnoticed: %s", bit, i,
                         file.p);
            file.p[i] ^= (char)(1 << bit);
        }
    }
    assert_int_equal(
        tg_audit_proof_verify(file.p, file.len, NULL, 0, &leaf, vs, 2, NULL, NULL), 0);
    free(file.p);

    /* With extra data: it round-trips (and is not authenticated). */
    file = (tg_strbuf){0};
    assert_int_equal(
        tg_audit_proof_format(index, "batch-17", 8, path, np, note.p, note.len, &file),
        0);
    assert_int_equal(tg_audit_proof_parse(file.p, file.len, &pr), 0);
    assert_int_equal(pr.extra_len, 12);
    assert_memory_equal(pr.extra, "YmF0Y2gtMTc=", 12);
    assert_int_equal(
        tg_audit_proof_verify(file.p, file.len, NULL, 0, &leaf, vs, 1, NULL, NULL), 0);
    free(file.p);
    {
        static const char *bad[] = {
            "c2sp.org/tlog-proof@v2\nindex 0\n\nx\n",
            "c2sp.org/tlog-proof@v1\nindex 01\n\nx\n",
            "c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\nx\n",
            "c2sp.org/tlog-proof@v1\nextra \nindex 0\n\nx\n",
            "c2sp.org/tlog-proof@v1\nindex 0\n",
            "c2sp.org/tlog-proof@v1\nindex 0\n\n",
            "c2sp.org/tlog-proof@v1\n\nindex 0\n\nx\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            if (tg_audit_proof_parse(bad[i], strlen(bad[i]), &pr) != TG_EPARSE)
                fail_msg("case %zu parsed", i);
    }
    free(note.p);
    free_tree(mt);
}

/* --- keys ------------------------------------------------------------------ */

static void test_keys_created_once(void **state)
{
    char dir[] = "/tmp/tg-audit-keys-XXXXXX", path[128], vkey[256], err[512];
    tg_audit_signer s1, s2;
    tg_audit_verifier v;
    tg_strbuf note = {0};
    tg_audit_note n;
    struct stat st;
    FILE *f;
    (void)state;

    assert_non_null(mkdtemp(dir));
    assert_int_equal(tg_audit_keys_open(dir, "log.key", "tollgate.example/fra",
                                        TG_AUDIT_SIG_ED25519, &s1, err, sizeof(err)),
                     0);
    snprintf(path, sizeof(path), "%s/log.key", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Opened again: the same key. */
    assert_int_equal(tg_audit_keys_open(dir, "log.key", "tollgate.example/fra",
                                        TG_AUDIT_SIG_ED25519, &s2, err, sizeof(err)),
                     0);
    assert_memory_equal(s1.pub, s2.pub, 32);
    assert_int_equal(s1.key_id, s2.key_id);
    /* The vkey beside it verifies what the key signs. */
    snprintf(path, sizeof(path), "%s/log.key.vkey", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(vkey, sizeof(vkey), f));
    fclose(f);
    assert_int_equal(tg_audit_verifier_parse(vkey, strcspn(vkey, "\n"), &v), 0);
    assert_int_equal(tg_audit_note_format("hello\n", 6, &s2, 1, &note), 0);
    assert_int_equal(tg_audit_note_open(note.p, note.len, &v, 1, &n), 0);
    free(note.p);
    /* Another name or type for the same file, or a file others can read. */
    assert_int_equal(tg_audit_keys_open(dir, "log.key", "tollgate.example/iad",
                                        TG_AUDIT_SIG_ED25519, &s2, err, sizeof(err)),
                     TG_ECONFIG);
    assert_non_null(strstr(err, "log.key"));
    assert_int_equal(tg_audit_keys_open(dir, "log.key", "tollgate.example/fra",
                                        TG_AUDIT_SIG_COSIG, &s2, err, sizeof(err)),
                     TG_ECONFIG);
    snprintf(path, sizeof(path), "%s/log.key", dir);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(tg_audit_keys_open(dir, "log.key", "tollgate.example/fra",
                                        TG_AUDIT_SIG_ED25519, &s2, err, sizeof(err)),
                     TG_ECONFIG);
    assert_non_null(strstr(err, "chmod 600"));
    unlink(path);
    snprintf(path, sizeof(path), "%s/log.key.vkey", dir);
    unlink(path);
    rmdir(dir);
    tg_audit_signer_clear(&s1);
    tg_audit_signer_clear(&s2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_known_answers),
        cmocka_unit_test(test_roots_match_naive),
        cmocka_unit_test(test_inclusion_every_index),
        cmocka_unit_test(test_consistency_every_pair),
        cmocka_unit_test(test_large_tree_samples),
        cmocka_unit_test(test_append_writes_exactly_the_new_nodes),
        cmocka_unit_test(test_tile_paths),
        cmocka_unit_test(test_tiles_for_size),
        cmocka_unit_test(test_tile_contents),
        cmocka_unit_test(test_entry_bundles),
        cmocka_unit_test(test_note_spec_example),
        cmocka_unit_test(test_note_round_trip_and_foreign_keys),
        cmocka_unit_test(test_note_malformed),
        cmocka_unit_test(test_checkpoint_parse_format),
        cmocka_unit_test(test_checkpoint_sign_and_cosign),
        cmocka_unit_test(test_signature_known_answers),
        cmocka_unit_test(test_proof_round_trip_and_bit_flips),
        cmocka_unit_test(test_keys_created_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
