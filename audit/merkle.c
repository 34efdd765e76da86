/* RFC 6962 / RFC 9162 Merkle trees over a node store, and tile helpers.
 * Written from RFC 9162 sections 2.1.1 to 2.1.4 and c2sp.org/tlog-tiles. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit_internal.h"
#include "tg_audit_merkle.h"
#include "tg_err.h"

/* SHA-256 fetched once: OpenSSL 3 otherwise looks the algorithm up again
 * on every EVP_DigestInit_ex with EVP_sha256(), and a log recomputed from a
 * million leaves hashes three million times. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int tg_audit__sha256(const void *const *parts, const size_t *lens, size_t n,
                     uint8_t out[32])
{
    EVP_MD_CTX *c;
    unsigned int len = 0;
    int ok;

    pthread_once(&sha256_once, sha256_fetch);
    if (!sha256_md || !(c = EVP_MD_CTX_new()))
        return TG_ENOMEM;
    ok = EVP_DigestInit_ex(c, sha256_md, NULL) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(c, parts[i], lens[i]) == 1;
    ok = ok && EVP_DigestFinal_ex(c, out, &len) == 1 && len == 32;
    EVP_MD_CTX_free(c);
    return ok ? 0 : TG_ENOMEM;
}

/* A hash that cannot be computed (OpenSSL out of memory) leaves an all-zero
 * value, which never matches a real root: verification then fails rather
 * than passing. */
void tg_audit_leaf_hash(const void *data, size_t len, tg_audit_hash *out)
{
    static const uint8_t prefix = 0x00;
    const void *parts[2] = {&prefix, data};
    size_t lens[2] = {1, len};

    if (tg_audit__sha256(parts, lens, 2, out->b) != 0)
        memset(out->b, 0, sizeof(out->b));
}

void tg_audit_node_hash(const tg_audit_hash *left, const tg_audit_hash *right,
                        tg_audit_hash *out)
{
    static const uint8_t prefix = 0x01;
    const void *parts[3] = {&prefix, left->b, right->b};
    size_t lens[3] = {1, TG_AUDIT_HASH_LEN, TG_AUDIT_HASH_LEN};
    tg_audit_hash h;

    /* out may alias left or right. */
    if (tg_audit__sha256(parts, lens, 3, h.b) != 0)
        memset(h.b, 0, sizeof(h.b));
    *out = h;
}

void tg_audit_empty_hash(tg_audit_hash *out)
{
    const void *parts[1] = {""};
    size_t lens[1] = {0};

    if (tg_audit__sha256(parts, lens, 1, out->b) != 0)
        memset(out->b, 0, sizeof(out->b));
}

uint64_t tg_audit_merkle_node_count(uint64_t size)
{
    return 2 * size - (uint64_t)__builtin_popcountll(size);
}

/* The largest power of two strictly below n (n >= 2): RFC 9162's k. */
static uint64_t split_point(uint64_t n)
{
    return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* The root of a tree given its complete subtrees (frontier[k] valid for
 * each bit k set in size): fold from the smallest, rightmost one. */
static void fold_frontier(const tg_audit_hash *frontier, uint64_t size,
                          tg_audit_hash *root)
{
    int have = 0;

    if (size == 0) {
        tg_audit_empty_hash(root);
        return;
    }
    for (unsigned k = 0; k < 64; k++) {
        if (!(size >> k & 1))
            continue;
        if (!have)
            *root = frontier[k];
        else
            tg_audit_node_hash(&frontier[k], root, root);
        have = 1;
    }
}

/* Loads the complete subtrees of a tree of `size` leaves: for each bit k
 * set, node (k, (size >> k) - 1). */
static int load_frontier(const tg_audit_reader *r, uint64_t size,
                         tg_audit_hash frontier[64])
{
    for (unsigned k = 0; k < 64; k++) {
        if (!(size >> k & 1))
            continue;
        int rc = r->read(r->ctx, k, (size >> k) - 1, &frontier[k]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int tg_audit_merkle_append(const tg_audit_reader *r, uint64_t size,
                           const tg_audit_hash *leaves, size_t n, tg_audit_node *out,
                           size_t *nout, tg_audit_hash *root)
{
    tg_audit_hash frontier[64];
    size_t o = 0;
    int rc;

    if (size + n < size || size + n > (uint64_t)INT64_MAX)
        return TG_EINVAL;
    rc = load_frontier(r, size, frontier);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++, size++) {
        tg_audit_hash cur = leaves[i];
        unsigned level = 0;
        uint64_t index = size;

        out[o++] = (tg_audit_node){0, index, cur};
        /* An odd index is a right child: its left sibling is the frontier
         * node of that level, and the pair completes their parent. */
        while (index & 1) {
            tg_audit_node_hash(&frontier[level], &cur, &cur);
            level++;
            index >>= 1;
            out[o++] = (tg_audit_node){level, index, cur};
        }
        frontier[level] = cur;
    }
    *nout = o;
    if (root)
        fold_frontier(frontier, size, root);
    return 0;
}

/* MTH(D[a:b]) where a is a multiple of a power of two no smaller than
 * b - a, as every range in RFC 9162's recursions is: [a, b) then splits
 * into aligned complete subtrees, one per bit of b - a, largest first. */
static int range_hash(const tg_audit_reader *r, uint64_t a, uint64_t b,
                      tg_audit_hash *out)
{
    tg_audit_hash parts[64];
    unsigned np = 0;
    uint64_t len = b - a, pos = a;

    if (len == 0) {
        tg_audit_empty_hash(out);
        return 0;
    }
    for (int k = 63; k >= 0; k--) {
        if (!(len >> k & 1))
            continue;
        int rc = r->read(r->ctx, (unsigned)k, pos >> k, &parts[np++]);
        if (rc != 0)
            return rc;
        pos += (uint64_t)1 << k;
    }
    *out = parts[np - 1];
    for (unsigned i = np - 1; i-- > 0;)
        tg_audit_node_hash(&parts[i], out, out);
    return 0;
}

int tg_audit_merkle_root(const tg_audit_reader *r, uint64_t size, tg_audit_hash *out)
{
    return range_hash(r, 0, size, out);
}

/* PATH(m, D[a:b]), appended deepest first. */
static int path(const tg_audit_reader *r, uint64_t m, uint64_t a, uint64_t b,
                tg_audit_hash *proof, size_t *n)
{
    uint64_t k;
    int rc;

    if (b - a <= 1)
        return 0;
    k = split_point(b - a);
    if (m < a + k) {
        rc = path(r, m, a, a + k, proof, n);
        if (rc == 0)
            rc = range_hash(r, a + k, b, &proof[(*n)++]);
    } else {
        rc = path(r, m, a + k, b, proof, n);
        if (rc == 0)
            rc = range_hash(r, a, a + k, &proof[(*n)++]);
    }
    return rc;
}

int tg_audit_merkle_inclusion(const tg_audit_reader *r, uint64_t index, uint64_t size,
                              tg_audit_hash proof[TG_AUDIT_PROOF_MAX], size_t *n)
{
    *n = 0;
    if (index >= size)
        return TG_EINVAL;
    return path(r, index, 0, size, proof, n);
}

/* SUBPROOF(m, D[a:b], complete), appended deepest first. */
static int subproof(const tg_audit_reader *r, uint64_t m, uint64_t a, uint64_t b,
                    int complete, tg_audit_hash *proof, size_t *n)
{
    uint64_t k;
    int rc;

    if (m == b - a) {
        if (complete)
            return 0;
        return range_hash(r, a, b, &proof[(*n)++]);
    }
    k = split_point(b - a);
    if (m <= k) {
        rc = subproof(r, m, a, a + k, complete, proof, n);
        if (rc == 0)
            rc = range_hash(r, a + k, b, &proof[(*n)++]);
    } else {
        rc = subproof(r, m - k, a + k, b, 0, proof, n);
        if (rc == 0)
            rc = range_hash(r, a, a + k, &proof[(*n)++]);
    }
    return rc;
}

int tg_audit_merkle_consistency(const tg_audit_reader *r, uint64_t m, uint64_t size,
                                tg_audit_hash proof[TG_AUDIT_PROOF_MAX], size_t *n)
{
    *n = 0;
    if (m > size)
        return TG_EINVAL;
    if (m == 0 || m == size)
        return 0;
    return subproof(r, m, 0, size, 1, proof, n);
}

static int hash_eq(const tg_audit_hash *a, const tg_audit_hash *b)
{
    return memcmp(a->b, b->b, TG_AUDIT_HASH_LEN) == 0;
}

int tg_audit_merkle_verify_inclusion(const tg_audit_hash *leaf, uint64_t index,
                                     uint64_t size, const tg_audit_hash *proof, size_t n,
                                     const tg_audit_hash *root)
{
    uint64_t fn = index, sn;
    tg_audit_hash h = *leaf;

    if (index >= size || n > TG_AUDIT_PROOF_MAX)
        return TG_EVERIFY;
    sn = size - 1;
    for (size_t i = 0; i < n; i++) {
        if (sn == 0)
            return TG_EVERIFY;
        if ((fn & 1) || fn == sn) {
            tg_audit_node_hash(&proof[i], &h, &h);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            tg_audit_node_hash(&h, &proof[i], &h);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && hash_eq(&h, root) ? 0 : TG_EVERIFY;
}

int tg_audit_merkle_verify_consistency(uint64_t m, const tg_audit_hash *old_root,
                                       uint64_t size, const tg_audit_hash *new_root,
                                       const tg_audit_hash *proof, size_t n)
{
    uint64_t fn, sn;
    tg_audit_hash fr, sr;
    size_t i = 0;

    if (m > size || n > TG_AUDIT_PROOF_MAX)
        return TG_EVERIFY;
    if (m == 0)
        return n == 0 ? 0 : TG_EVERIFY;
    if (m == size)
        return n == 0 && hash_eq(old_root, new_root) ? 0 : TG_EVERIFY;
    if (n == 0)
        return TG_EVERIFY;
    /* When m is a power of two its root is a node of the new tree and the
     * proof starts above it: the old root stands in as the first element. */
    if ((m & (m - 1)) == 0) {
        fr = sr = *old_root;
    } else {
        fr = sr = proof[0];
        i = 1;
    }
    fn = m - 1;
    sn = size - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; i < n; i++) {
        if (sn == 0)
            return TG_EVERIFY;
        if ((fn & 1) || fn == sn) {
            tg_audit_node_hash(&proof[i], &fr, &fr);
            tg_audit_node_hash(&proof[i], &sr, &sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            tg_audit_node_hash(&sr, &proof[i], &sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && hash_eq(&fr, old_root) && hash_eq(&sr, new_root) ? 0 : TG_EVERIFY;
}

/* --- in-memory store ------------------------------------------------------ */

static int mem_read(void *ctx, unsigned level, uint64_t index, tg_audit_hash *out)
{
    tg_audit_memtree *t = ctx;

    if (level >= 64 || index >= t->len[level])
        return TG_ENOT_FOUND;
    *out = t->levels[level][index];
    return 0;
}

tg_audit_reader tg_audit_memtree_reader(tg_audit_memtree *t)
{
    return (tg_audit_reader){mem_read, t};
}

int tg_audit_memtree_append(tg_audit_memtree *t, const tg_audit_hash *leaves, size_t n)
{
    uint64_t size = t->size + n;

    if (size < t->size || size > (uint64_t)INT64_MAX)
        return TG_EINVAL;
    /* Room first, so a failure leaves the tree as it was. */
    for (unsigned k = 0; k < 64 && (size >> k) > 0; k++) {
        uint64_t want = size >> k;
        if (want <= t->cap[k])
            continue;
        uint64_t cap = t->cap[k] ? t->cap[k] : 16;
        while (cap < want)
            cap *= 2;
        tg_audit_hash *p = realloc(t->levels[k], cap * sizeof(*p));
        if (!p)
            return TG_ENOMEM;
        t->levels[k] = p;
        t->cap[k] = cap;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t index = t->size++;
        unsigned level = 0;
        tg_audit_hash cur = leaves[i];

        t->levels[0][t->len[0]++] = cur;
        while (index & 1) {
            tg_audit_node_hash(&t->levels[level][index - 1], &cur, &cur);
            level++;
            index >>= 1;
            t->levels[level][t->len[level]++] = cur;
        }
    }
    return 0;
}

void tg_audit_memtree_free(tg_audit_memtree *t)
{
    for (unsigned k = 0; k < 64; k++)
        free(t->levels[k]);
    memset(t, 0, sizeof(*t));
}

/* --- tiles ---------------------------------------------------------------- */

int tg_audit_tile_for_size(uint64_t size, unsigned level, uint64_t index,
                           tg_audit_tile *t)
{
    uint64_t count; /* hashes at Merkle level 8 * level */

    if (level > 63)
        return TG_EINVAL;
    count = 8 * level < 64 ? size >> (8 * level) : 0;
    t->level = level;
    t->index = index;
    if (index < count / TG_AUDIT_TILE_WIDTH) {
        t->width = TG_AUDIT_TILE_WIDTH;
        return 0;
    }
    if (index == count / TG_AUDIT_TILE_WIDTH && count % TG_AUDIT_TILE_WIDTH != 0) {
        t->width = (unsigned)(count % TG_AUDIT_TILE_WIDTH);
        return 0;
    }
    return TG_ENOT_FOUND;
}

int tg_audit_tile_path(const tg_audit_tile *t, int entries, char *buf, size_t cap)
{
    char groups[8][4];
    unsigned ng = 0;
    uint64_t n = t->index;
    size_t o;
    int w;

    if (t->level > 63 || t->width == 0 || t->width > TG_AUDIT_TILE_WIDTH)
        return TG_EINVAL;
    do {
        snprintf(groups[ng++], sizeof(groups[0]), "%03u", (unsigned)(n % 1000));
        n /= 1000;
    } while (n > 0);
    if (entries)
        w = snprintf(buf, cap, "tile/entries/");
    else
        w = snprintf(buf, cap, "tile/%u/", t->level);
    if (w < 0 || (size_t)w >= cap)
        return TG_ETOO_BIG;
    o = (size_t)w;
    while (ng-- > 0) {
        w = snprintf(buf + o, cap - o, ng > 0 ? "x%s/" : "%s", groups[ng]);
        if (w < 0 || (size_t)w >= cap - o)
            return TG_ETOO_BIG;
        o += (size_t)w;
    }
    if (t->width < TG_AUDIT_TILE_WIDTH) {
        w = snprintf(buf + o, cap - o, ".p/%u", t->width);
        if (w < 0 || (size_t)w >= cap - o)
            return TG_ETOO_BIG;
    }
    return 0;
}

/* A decimal of 1 to `maxd` digits with no leading zero, up to `max`. */
static int parse_small(const char *s, size_t len, unsigned maxd, unsigned max,
                       unsigned *out)
{
    unsigned v = 0;

    if (len == 0 || len > maxd || (len > 1 && s[0] == '0'))
        return TG_EPARSE;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return TG_EPARSE;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return TG_EPARSE;
    *out = v;
    return 0;
}

int tg_audit_tile_parse_path(const char *path, size_t len, tg_audit_tile *t, int *entries)
{
    const char *p = path, *end = path + len, *slash;
    uint64_t index = 0;
    unsigned groups = 0;

    if (len < 5 || memcmp(p, "tile/", 5) != 0)
        return TG_EPARSE;
    p += 5;
    slash = memchr(p, '/', (size_t)(end - p));
    if (!slash)
        return TG_EPARSE;
    if (slash - p == 7 && memcmp(p, "entries", 7) == 0) {
        *entries = 1;
        t->level = 0;
    } else {
        *entries = 0;
        if (parse_small(p, (size_t)(slash - p), 2, 63, &t->level) != 0)
            return TG_EPARSE;
    }
    p = slash + 1;
    /* "x123/" groups, then a final "123". */
    for (;;) {
        int x = p < end && *p == 'x';
        const char *d = p + x;
        if (end - d < 3)
            return TG_EPARSE;
        for (int i = 0; i < 3; i++)
            if (d[i] < '0' || d[i] > '9')
                return TG_EPARSE;
        unsigned g = (unsigned)((d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0'));
        if (++groups > 7 || index > (UINT64_MAX - g) / 1000)
            return TG_EPARSE;
        index = index * 1000 + g;
        p = d + 3;
        if (!x)
            break;
        if (p >= end || *p != '/')
            return TG_EPARSE;
        p++;
    }
    /* A leading group of zeros ("x000/001") is not a spelling
     * tg_audit_tile_path writes; a lone "000" (index 0) is. */
    {
        uint64_t lead = index;
        for (unsigned i = 1; i < groups; i++)
            lead /= 1000;
        if (groups > 1 && lead == 0)
            return TG_EPARSE;
    }
    t->index = index;
    t->width = TG_AUDIT_TILE_WIDTH;
    if (p == end)
        return 0;
    if (end - p < 4 || memcmp(p, ".p/", 3) != 0)
        return TG_EPARSE;
    p += 3;
    if (parse_small(p, (size_t)(end - p), 3, TG_AUDIT_TILE_WIDTH - 1, &t->width) != 0 ||
        t->width == 0)
        return TG_EPARSE;
    return 0;
}

int tg_audit_tile_read(const tg_audit_reader *r, const tg_audit_tile *t, uint8_t *out)
{
    unsigned level = 8 * t->level;

    if (level >= 64 || t->width == 0 || t->width > TG_AUDIT_TILE_WIDTH ||
        t->index > (UINT64_MAX >> level) / TG_AUDIT_TILE_WIDTH)
        return TG_EINVAL;
    for (unsigned i = 0; i < t->width; i++) {
        tg_audit_hash h;
        int rc = r->read(r->ctx, level, t->index * TG_AUDIT_TILE_WIDTH + i, &h);
        if (rc != 0)
            return rc;
        memcpy(out + (size_t)i * TG_AUDIT_HASH_LEN, h.b, TG_AUDIT_HASH_LEN);
    }
    return 0;
}

int tg_audit_tile_hash(const uint8_t *data, unsigned width, tg_audit_hash *out)
{
    tg_audit_hash frontier[64];

    if (width == 0 || width > TG_AUDIT_TILE_WIDTH)
        return TG_EINVAL;
    for (unsigned i = 0; i < width; i++) {
        tg_audit_hash cur;
        unsigned level = 0, index = i;

        memcpy(cur.b, data + (size_t)i * TG_AUDIT_HASH_LEN, TG_AUDIT_HASH_LEN);
        while (index & 1) {
            tg_audit_node_hash(&frontier[level], &cur, &cur);
            level++;
            index >>= 1;
        }
        frontier[level] = cur;
    }
    fold_frontier(frontier, width, out);
    return 0;
}

int tg_audit_bundle_put(tg_strbuf *out, const void *entry, size_t len)
{
    if (len > 0xFFFF)
        return TG_ETOO_BIG;
    tg_strbuf_putc(out, (char)(len >> 8));
    tg_strbuf_putc(out, (char)(len & 0xFF));
    tg_strbuf_put(out, entry, len);
    return out->oom ? TG_ENOMEM : 0;
}

int tg_audit_bundle_next(const uint8_t *b, size_t len, size_t *off, const uint8_t **entry,
                         size_t *elen)
{
    size_t n;

    if (*off == len)
        return 0;
    if (len - *off < 2)
        return TG_EPARSE;
    n = (size_t)b[*off] << 8 | b[*off + 1];
    if (len - *off - 2 < n)
        return TG_EPARSE;
    *entry = b + *off + 2;
    *elen = n;
    *off += 2 + n;
    return 1;
}
