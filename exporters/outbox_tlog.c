/* The outbox's transparency log: leaves, nodes and checkpoints in LMDB.
 * See outbox_tlog.h for the layout and the transaction contract. */
#include "tg_codec.h"
#include "outbox_tlog.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_audit_checkpoint.h"
#include "tg_audit_proof.h"
#include "tollgate/v1/forward.pb-c.h"
#include "tg_err.h"
#include "tg_strbuf.h"

#define META_TLOG_SIZE "tlog_size"

typedef struct node_ctx {
    tg_outbox_tlog *t;
    MDB_txn **txn;
} node_ctx;

static void put_hash_line(tg_strbuf *out, const tg_audit_hash *h);

static int lmdb_err(int rc)
{
    if (rc == MDB_NOTFOUND)
        return TG_ENOT_FOUND;
    return rc ? TG_ESTORE : 0;
}

int tg_outbox_tlog_open(tg_outbox_tlog *t, MDB_txn *txn, MDB_dbi meta)
{
    int rc;

    t->db_meta = meta;
    if ((rc = mdb_dbi_open(txn, "tlog_leaves", MDB_CREATE, &t->db_leaves)) ||
        (rc = mdb_dbi_open(txn, "tlog_nodes", MDB_CREATE, &t->db_nodes)) ||
        (rc = mdb_dbi_open(txn, "tlog_cps", MDB_CREATE, &t->db_cps)) ||
        (rc = mdb_dbi_open(txn, "tlog_cosigs", MDB_CREATE, &t->db_cosigs)))
        return lmdb_err(rc);
    return 0;
}

uint64_t tg_outbox_tlog_size(const tg_outbox_tlog *t, MDB_txn *txn)
{
    MDB_val k = {sizeof(META_TLOG_SIZE) - 1, (void *)META_TLOG_SIZE}, v;

    if (mdb_get(txn, t->db_meta, &k, &v) || v.mv_size != 8)
        return 0;
    return tg_be64_get(v.mv_data);
}

static int read_node(void *ctx, unsigned level, uint64_t index, tg_audit_hash *out)
{
    node_ctx *c = ctx;
    uint8_t key[9];
    MDB_val k = {9, key}, v;
    int rc;

    key[0] = (uint8_t)level;
    tg_be64_put(key + 1, index);
    if ((rc = mdb_get(*c->txn, c->t->db_nodes, &k, &v)))
        return lmdb_err(rc);
    if (v.mv_size != TG_AUDIT_HASH_LEN)
        return TG_ESTORE;
    memcpy(out->b, v.mv_data, TG_AUDIT_HASH_LEN);
    return 0;
}

static int store_checkpoint(tg_outbox_tlog *t, MDB_txn *txn, uint64_t size,
                            const tg_audit_hash *root)
{
    tg_audit_checkpoint cp;
    tg_strbuf sb = {0};
    uint8_t key[8];
    MDB_val k = {8, key}, v;
    int rc;

    memset(&cp, 0, sizeof(cp));
    snprintf(cp.origin, sizeof(cp.origin), "%s", t->key.name);
    cp.size = size;
    cp.root = *root;
    if ((rc = tg_audit_checkpoint_sign(&cp, &t->key, &sb)) == 0 && sb.oom)
        rc = TG_ENOMEM;
    if (rc) {
        free(sb.p);
        return rc;
    }
    tg_be64_put(key, size);
    v.mv_size = sb.len;
    v.mv_data = sb.p;
    rc = mdb_put(txn, t->db_cps, &k, &v, 0);
    free(sb.p);
    return lmdb_err(rc);
}

int tg_outbox_tlog_append(tg_outbox_tlog *t, MDB_txn *txn, const uint8_t *leaf,
                          size_t len)
{
    uint64_t size = tg_outbox_tlog_size(t, txn);
    tg_audit_node nodes[TG_AUDIT_PROOF_MAX + 2];
    tg_audit_hash lh, root;
    MDB_txn *rtxn = txn;
    node_ctx c = {t, &rtxn};
    tg_audit_reader r = {read_node, &c};
    uint8_t key[9], sz[8];
    MDB_val k, v;
    size_t n = 0;
    int rc;

    if (len > 65535)
        return TG_ETOO_BIG; /* the entry bundle format's limit */
    tg_audit_leaf_hash(leaf, len, &lh);
    if ((rc = tg_audit_merkle_append(&r, size, &lh, 1, nodes, &n, &root)))
        return rc;
    tg_be64_put(key, size);
    k.mv_size = 8;
    k.mv_data = key;
    v.mv_size = len;
    v.mv_data = (void *)leaf;
    if ((rc = mdb_put(txn, t->db_leaves, &k, &v, MDB_APPEND)))
        return lmdb_err(rc);
    for (size_t i = 0; i < n; i++) {
        key[0] = (uint8_t)nodes[i].level;
        tg_be64_put(key + 1, nodes[i].index);
        k.mv_size = 9;
        v.mv_size = TG_AUDIT_HASH_LEN;
        v.mv_data = nodes[i].hash.b;
        if ((rc = mdb_put(txn, t->db_nodes, &k, &v, 0)))
            return lmdb_err(rc);
    }
    tg_be64_put(sz, size + 1);
    k.mv_size = sizeof(META_TLOG_SIZE) - 1;
    k.mv_data = (void *)META_TLOG_SIZE;
    v.mv_size = 8;
    v.mv_data = sz;
    if ((rc = mdb_put(txn, t->db_meta, &k, &v, 0)))
        return lmdb_err(rc);
    if (t->has_key)
        return store_checkpoint(t, txn, size + 1, &root);
    return 0;
}

static int serve_entries(tg_outbox_tlog *t, MDB_txn *txn, const tg_audit_tile *tile,
                         tg_strbuf *out)
{
    for (unsigned i = 0; i < tile->width; i++) {
        uint8_t key[8];
        MDB_val k = {8, key}, v;
        int rc;

        tg_be64_put(key, tile->index * TG_AUDIT_TILE_WIDTH + i);
        if ((rc = mdb_get(txn, t->db_leaves, &k, &v)))
            return lmdb_err(rc);
        if ((rc = tg_audit_bundle_put(out, v.mv_data, v.mv_size)))
            return rc;
    }
    return 0;
}

int tg_outbox_tlog_batch_matches(const char *have, const char *want)
{
    size_t hl = strlen(have), wl = strlen(want);

    if (strcmp(have, want) == 0)
        return 1;
    return wl < hl && have[hl - wl - 1] == '/' && strcmp(have + hl - wl, want) == 0;
}

static int parse_u64(const char *p, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0 || len > 19)
        return TG_EPARSE;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return TG_EPARSE;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return 0;
}

/* "checkpoints/<from>" (see outbox_tlog.h). */
static int serve_checkpoints(tg_outbox_tlog *t, MDB_txn *txn, uint64_t from,
                             tg_strbuf *out)
{
    json_t *doc = json_object(), *arr = json_array();
    uint8_t key[8];
    MDB_cursor *cur;
    MDB_val k = {8, key}, v;
    size_t n = 0;
    char *s;
    int rc, op = MDB_SET_RANGE;

    if (!doc || !arr || json_object_set_new(doc, "checkpoints", arr)) {
        json_decref(doc);
        return TG_ENOMEM;
    }
    if ((rc = mdb_cursor_open(txn, t->db_cps, &cur))) {
        json_decref(doc);
        return lmdb_err(rc);
    }
    tg_be64_put(key, from);
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0 && k.mv_size == 8) {
        uint64_t size = tg_be64_get(k.mv_data);
        tg_strbuf note = {0};
        MDB_val cv;

        op = MDB_NEXT;
        if (n == TG_OUTBOX_TLOG_CPS_PAGE) {
            json_object_set_new(doc, "next", json_integer((json_int_t)size));
            break;
        }
        tg_strbuf_put(&note, v.mv_data, v.mv_size);
        if (mdb_get(txn, t->db_cosigs, &k, &cv) == 0)
            tg_strbuf_put(&note, cv.mv_data, cv.mv_size);
        if (note.oom ||
            json_array_append_new(arr, json_pack("{s:I s:s%}", "size", (json_int_t)size,
                                                 "checkpoint", note.p ? note.p : "",
                                                 note.len))) {
            free(note.p);
            rc = TG_ENOMEM;
            break;
        }
        free(note.p);
        n++;
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND || rc == 0)
        rc = 0;
    else if (rc != TG_ENOMEM)
        rc = lmdb_err(rc);
    if (rc == 0) {
        if (!(s = json_dumps(doc, JSON_COMPACT)))
            rc = TG_ENOMEM;
        else
            tg_strbuf_put(out, s, strlen(s));
        free(s);
    }
    json_decref(doc);
    return rc;
}

/* "proof/<batch>" (see outbox_tlog.h): the first entry naming the batch
 * (its egress, else its shed or rejection) against the newest checkpoint. */
static int serve_proof(tg_outbox_tlog *t, MDB_txn *txn, const char *batch, size_t blen,
                       tg_strbuf *out)
{
    tg_audit_hash path[TG_AUDIT_PROOF_MAX];
    MDB_txn *rtxn = txn;
    node_ctx c = {t, &rtxn};
    tg_audit_reader r = {read_node, &c};
    MDB_cursor *cur;
    MDB_val k, v, leaf = {0, NULL};
    uint64_t index = UINT64_MAX, size;
    uint8_t ckey[8];
    char want[256];
    size_t n = 0;
    int rc, op = MDB_FIRST;

    if (blen == 0 || blen >= sizeof(want))
        return TG_EPARSE;
    memcpy(want, batch, blen);
    want[blen] = '\0';
    if ((rc = mdb_cursor_open(txn, t->db_cps, &cur)))
        return lmdb_err(rc);
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    mdb_cursor_close(cur);
    if (rc)
        return lmdb_err(rc);
    size = tg_be64_get(k.mv_data);
    if ((rc = mdb_cursor_open(txn, t->db_leaves, &cur)))
        return lmdb_err(rc);
    while (index == UINT64_MAX && mdb_cursor_get(cur, &k, &leaf, op) == 0 &&
           k.mv_size == 8 && tg_be64_get(k.mv_data) < size) {
        Tollgate__V1__EgressRecord *e;

        op = MDB_NEXT;
        /* A matching id ends with `want`, so the packed leaf holds its
         * bytes: most leaves are passed over without decoding (this runs
         * on the API's loop thread, over the whole log). */
        if (!memmem(leaf.mv_data, leaf.mv_size, want, blen))
            continue;
        e = tollgate__v1__egress_record__unpack(NULL, leaf.mv_size, leaf.mv_data);
        if (e && e->batch_id && e->batch_id[0] && strcmp(e->event, "query") != 0 &&
            tg_outbox_tlog_batch_matches(e->batch_id, want))
            index = tg_be64_get(k.mv_data);
        if (e)
            tollgate__v1__egress_record__free_unpacked(e, NULL);
    }
    mdb_cursor_close(cur);
    if (index == UINT64_MAX)
        return TG_ENOT_FOUND;
    /* the leaf's value stays valid: this transaction writes nothing */
    if ((rc = tg_audit_merkle_inclusion(&r, index, size, path, &n)))
        return rc;
    tg_be64_put(ckey, size);
    k.mv_size = 8;
    k.mv_data = ckey;
    if ((rc = mdb_get(txn, t->db_cps, &k, &v)))
        return lmdb_err(rc);
    return tg_audit_proof_format(index, leaf.mv_data, leaf.mv_size, path, n, v.mv_data,
                                 v.mv_size, out);
}

/* "consistency/<old>/<size>" (see outbox_tlog.h). */
static int serve_consistency(tg_outbox_tlog *t, MDB_txn *txn, const char *p, size_t len,
                             tg_strbuf *out)
{
    tg_audit_hash proof[TG_AUDIT_PROOF_MAX];
    MDB_txn *rtxn = txn;
    node_ctx c = {t, &rtxn};
    tg_audit_reader r = {read_node, &c};
    const char *slash = memchr(p, '/', len);
    uint64_t old, size;
    size_t n = 0;
    int rc;

    if (!slash || parse_u64(p, (size_t)(slash - p), &old) ||
        parse_u64(slash + 1, len - (size_t)(slash + 1 - p), &size))
        return TG_EPARSE;
    if (old == 0 || old > size || size > tg_outbox_tlog_size(t, txn))
        return TG_ENOT_FOUND;
    if ((rc = tg_audit_merkle_consistency(&r, old, size, proof, &n)))
        return rc;
    for (size_t i = 0; i < n; i++)
        put_hash_line(out, &proof[i]);
    return out->oom ? TG_ENOMEM : 0;
}

int tg_outbox_tlog_serve(tg_outbox_tlog *t, MDB_txn *txn, const char *path, size_t len,
                         tg_strbuf *out)
{
    tg_audit_tile want, have;
    int entries = 0, rc;

    if (len == 10 && memcmp(path, "checkpoint", 10) == 0) {
        MDB_cursor *cur;
        MDB_val k, v;

        if ((rc = mdb_cursor_open(txn, t->db_cps, &cur)))
            return lmdb_err(rc);
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        if (rc == 0) {
            MDB_val cv;
            tg_strbuf_put(out, v.mv_data, v.mv_size);
            /* With the witness's cosignature when it has cosigned it. */
            if (mdb_get(txn, t->db_cosigs, &k, &cv) == 0)
                tg_strbuf_put(out, cv.mv_data, cv.mv_size);
        }
        mdb_cursor_close(cur);
        return lmdb_err(rc);
    }
    if (len >= 12 && memcmp(path, "checkpoints/", 12) == 0) {
        uint64_t from;

        if (parse_u64(path + 12, len - 12, &from))
            return TG_EPARSE;
        return serve_checkpoints(t, txn, from, out);
    }
    if (len > 12 && memcmp(path, "consistency/", 12) == 0)
        return serve_consistency(t, txn, path + 12, len - 12, out);
    if (len > 6 && memcmp(path, "proof/", 6) == 0) {
        rc = serve_proof(t, txn, path + 6, len - 6, out);
        return rc == 0 && out->oom ? TG_ENOMEM : rc;
    }
    if ((rc = tg_audit_tile_parse_path(path, len, &want, &entries)))
        return TG_EPARSE;
    if ((rc = tg_audit_tile_for_size(tg_outbox_tlog_size(t, txn), want.level, want.index,
                                     &have)))
        return rc;
    if (want.width > have.width || (entries && want.level != 0))
        return TG_ENOT_FOUND;
    if (entries) {
        rc = serve_entries(t, txn, &want, out);
    } else {
        uint8_t *buf = malloc((size_t)want.width * TG_AUDIT_HASH_LEN);
        MDB_txn *rtxn = txn;
        node_ctx c = {t, &rtxn};
        tg_audit_reader r = {read_node, &c};

        if (!buf)
            return TG_ENOMEM;
        rc = tg_audit_tile_read(&r, &want, buf);
        if (rc == 0)
            tg_strbuf_put(out, (const char *)buf, (size_t)want.width * TG_AUDIT_HASH_LEN);
        free(buf);
    }
    if (rc == 0 && out->oom)
        rc = TG_ENOMEM;
    return rc;
}

/* ---- witness submission ------------------------------------------------- */

uint64_t tg_outbox_tlog_meta(const tg_outbox_tlog *t, MDB_txn *txn, const char *name)
{
    MDB_val k = {strlen(name), (void *)name}, v;

    if (mdb_get(txn, t->db_meta, &k, &v) || v.mv_size != 8)
        return 0;
    return tg_be64_get(v.mv_data);
}

int tg_outbox_tlog_meta_put(tg_outbox_tlog *t, MDB_txn *txn, const char *name, uint64_t x)
{
    uint8_t b[8];
    MDB_val k = {strlen(name), (void *)name}, v = {8, b};

    tg_be64_put(b, x);
    return lmdb_err(mdb_put(txn, t->db_meta, &k, &v, 0));
}

static void put_hash_line(tg_strbuf *out, const tg_audit_hash *h)
{
    char b64[48];

    tg_base64_encode(h->b, TG_AUDIT_HASH_LEN, b64);
    tg_strbuf_printf(out, "%s\n", b64);
}

int tg_outbox_tlog_add_request(tg_outbox_tlog *t, MDB_txn *txn, uint64_t old,
                               tg_strbuf *out, uint64_t *size)
{
    tg_audit_hash proof[TG_AUDIT_PROOF_MAX];
    MDB_txn *rtxn = txn;
    node_ctx c = {t, &rtxn};
    tg_audit_reader r = {read_node, &c};
    MDB_cursor *cur;
    MDB_val k, v;
    size_t n = 0;
    int rc;

    if ((rc = mdb_cursor_open(txn, t->db_cps, &cur)))
        return lmdb_err(rc);
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (rc) {
        mdb_cursor_close(cur);
        return lmdb_err(rc);
    }
    *size = tg_be64_get(k.mv_data);
    if (old > *size) {
        mdb_cursor_close(cur);
        return TG_EINVAL;
    }
    rc = tg_audit_merkle_consistency(&r, old, *size, proof, &n);
    if (rc == 0) {
        tg_strbuf_printf(out, "old %llu\n", (unsigned long long)old);
        for (size_t i = 0; i < n; i++)
            put_hash_line(out, &proof[i]);
        tg_strbuf_putc(out, '\n');
        tg_strbuf_put(out, v.mv_data, v.mv_size);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && out->oom)
        rc = TG_ENOMEM;
    return rc;
}

int tg_outbox_tlog_cosigned(tg_outbox_tlog *t, MDB_txn *txn, uint64_t size,
                            const char *cosig, size_t len)
{
    uint8_t key[8];
    MDB_val k = {8, key}, v = {len, (void *)cosig};
    int rc;

    tg_be64_put(key, size);
    if ((rc = mdb_put(txn, t->db_cosigs, &k, &v, 0)))
        return lmdb_err(rc);
    return tg_outbox_tlog_meta_put(t, txn, "witness_size", size);
}

int tg_outbox_tlog_inclusion_request(tg_outbox_tlog *t, MDB_txn *txn, uint64_t from,
                                     uint64_t size, size_t max, tg_strbuf *out,
                                     uint64_t *next)
{
    MDB_txn *rtxn = txn;
    node_ctx c = {t, &rtxn};
    tg_audit_reader r = {read_node, &c};
    size_t done = 0;
    uint64_t i;

    tg_strbuf_printf(out, "size %llu\n", (unsigned long long)size);
    for (i = from; i < size && done < max; i++) {
        tg_audit_hash proof[TG_AUDIT_PROOF_MAX];
        Tollgate__V1__EgressRecord *e;
        uint8_t key[8];
        MDB_val k = {8, key}, v;
        size_t n = 0;
        char *b64;
        int rc, egress;

        tg_be64_put(key, i);
        if ((rc = mdb_get(txn, t->db_leaves, &k, &v)))
            return lmdb_err(rc);
        e = tollgate__v1__egress_record__unpack(NULL, v.mv_size, v.mv_data);
        egress = e && e->event && strcmp(e->event, "egress") == 0;
        if (e)
            tollgate__v1__egress_record__free_unpacked(e, NULL);
        if (!egress)
            continue;
        if ((rc = tg_audit_merkle_inclusion(&r, i, size, proof, &n)))
            return rc;
        if (!(b64 = malloc(tg_base64_encoded_len(v.mv_size) + 1)))
            return TG_ENOMEM;
        tg_base64_encode(v.mv_data, v.mv_size, b64);
        tg_strbuf_printf(out, "leaf %llu %s\n", (unsigned long long)i, b64);
        free(b64);
        for (size_t j = 0; j < n; j++)
            put_hash_line(out, &proof[j]);
        done++;
    }
    *next = i;
    return out->oom ? TG_ENOMEM : 0;
}
