/* Test-only: tampers with a COPY of a site's transparency log the way an
 * insider with write access to the data directory could, so the e2e test
 * can check that `tollgate audit verify --data` catches it.
 *
 *   tg_audit_tamper count  OUTBOX_DIR I   leaf I's record count + 1
 *   tg_audit_tamper remove OUTBOX_DIR I   leaf I deleted, later ones moved down
 *   tg_audit_tamper insert OUTBOX_DIR I   a made-up leaf put in before leaf I
 *   tg_audit_tamper resign OUTBOX_DIR     the newest checkpoint re-signed
 *                                         with another key of the same name
 *   tg_audit_tamper fork OUTBOX_DIR S     the checkpoint of size S replaced by
 *                                         one of another root, signed with the
 *                                         site's own key (OUTBOX_DIR/../audit.key):
 *                                         a site that signed two histories
 * Exit 0 done, 1 failed, 2 usage. Never run against a live site. */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_audit_checkpoint.h"
#include "tg_audit_keys.h"
#include "tg_strbuf.h"
#include "tollgate/v1/forward.pb-c.h"

static void key_of(uint64_t i, uint8_t k[8])
{
    for (int b = 7; b >= 0; b--, i >>= 8)
        k[b] = (uint8_t)i;
}

/* Leaves [from, last key] moved by +1 or -1 (copied out first: LMDB's values
 * are only valid until the next write). */
static int shift(MDB_txn *txn, MDB_dbi leaves, uint64_t from, int by)
{
    MDB_cursor *cur;
    MDB_val lk, lv;
    uint64_t n = 0;

    if (mdb_cursor_open(txn, leaves, &cur))
        return -1;
    if (mdb_cursor_get(cur, &lk, &lv, MDB_LAST) == 0 && lk.mv_size == 8)
        for (int b = 0; b < 8; b++)
            n = n << 8 | ((const uint8_t *)lk.mv_data)[b];
    mdb_cursor_close(cur);
    n++; /* one past the last key */
    for (uint64_t j = 0; j + from < n; j++) {
        uint64_t i = by > 0 ? n - 1 - j : from + j;
        uint8_t k1[8], k2[8], *copy;
        MDB_val a = {8, k1}, b = {8, k2}, v;

        key_of(i, k1);
        key_of(i + (uint64_t)by, k2);
        if (mdb_get(txn, leaves, &a, &v) || !(copy = malloc(v.mv_size)))
            return -1;
        memcpy(copy, v.mv_data, v.mv_size);
        v.mv_data = copy;
        if (mdb_put(txn, leaves, &b, &v, 0) || mdb_del(txn, leaves, &a, NULL)) {
            free(copy);
            return -1;
        }
        free(copy);
    }
    return 0;
}

static int bump_count(MDB_txn *txn, MDB_dbi leaves, uint64_t i, uint64_t at)
{
    uint8_t key[8], buf[65536];
    MDB_val k = {8, key}, v;
    Tollgate__V1__EgressRecord *e;

    key_of(i, key);
    if (mdb_get(txn, leaves, &k, &v) ||
        !(e = tollgate__v1__egress_record__unpack(NULL, v.mv_size, v.mv_data)))
        return -1;
    e->records += 1;
    v.mv_size = tollgate__v1__egress_record__pack(e, buf);
    v.mv_data = buf;
    tollgate__v1__egress_record__free_unpacked(e, NULL);
    key_of(at, key);
    return mdb_put(txn, leaves, &k, &v, 0) ? -1 : 0;
}

static int resign(MDB_txn *txn, MDB_dbi cps)
{
    MDB_cursor *cur;
    MDB_val k, v;
    tg_audit_note n;
    tg_audit_checkpoint cp;
    tg_audit_signer s;
    tg_strbuf sb = {0};
    uint8_t seed[32] = {42}, key[8];
    int rc = -1;

    if (mdb_cursor_open(txn, cps, &cur))
        return -1;
    if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8 &&
        tg_audit_note_parse(v.mv_data, v.mv_size, &n) == 0 &&
        tg_audit_checkpoint_parse(n.text, n.text_len, &cp) == 0 &&
        tg_audit_signer_init(&s, cp.origin, TG_AUDIT_SIG_ED25519, seed) == 0 &&
        tg_audit_checkpoint_sign(&cp, &s, &sb) == 0 && !sb.oom) {
        memcpy(key, k.mv_data, 8);
        k.mv_data = key;
        v.mv_size = sb.len;
        v.mv_data = sb.p;
        rc = mdb_put(txn, cps, &k, &v, 0) ? -1 : 0;
    }
    mdb_cursor_close(cur);
    free(sb.p);
    return rc;
}

static int fork_at(MDB_txn *txn, MDB_dbi cps, const char *outbox, uint64_t size)
{
    char path[4200], line[1024];
    uint8_t key[8];
    MDB_val k = {8, key}, v;
    tg_audit_note n;
    tg_audit_checkpoint cp;
    tg_audit_signer s;
    tg_strbuf sb = {0};
    FILE *f;
    int rc = -1;

    snprintf(path, sizeof(path), "%s/../audit.key", outbox);
    if (!(f = fopen(path, "r")))
        return -1;
    if (!fgets(line, sizeof(line), f)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    key_of(size, key);
    if (tg_audit_keys_parse(line, strlen(line), &s) == 0 &&
        mdb_get(txn, cps, &k, &v) == 0 &&
        tg_audit_note_parse(v.mv_data, v.mv_size, &n) == 0 &&
        tg_audit_checkpoint_parse(n.text, n.text_len, &cp) == 0) {
        cp.root.b[0] ^= 1;
        if (tg_audit_checkpoint_sign(&cp, &s, &sb) == 0 && !sb.oom) {
            v.mv_size = sb.len;
            v.mv_data = sb.p;
            rc = mdb_put(txn, cps, &k, &v, 0) ? -1 : 0;
        }
    }
    tg_audit_signer_clear(&s);
    free(sb.p);
    return rc;
}

int main(int argc, char **argv)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi leaves, cps;
    uint64_t i = 0;
    int rc;

    if (argc < 3 || (strcmp(argv[1], "resign") != 0 && argc < 4)) {
        fputs("usage: tg_audit_tamper count|remove|insert OUTBOX_DIR I | resign "
              "OUTBOX_DIR | fork OUTBOX_DIR SIZE\n",
              stderr);
        return 2;
    }
    if (argc > 3)
        i = strtoull(argv[3], NULL, 10);
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) ||
        mdb_env_set_mapsize(env, 1ull << 32) ||
        mdb_env_open(env, argv[2], MDB_NOTLS, 0640) ||
        mdb_txn_begin(env, NULL, 0, &txn) ||
        mdb_dbi_open(txn, "tlog_leaves", 0, &leaves) ||
        mdb_dbi_open(txn, "tlog_cps", 0, &cps)) {
        fprintf(stderr, "tg_audit_tamper: cannot open %s\n", argv[2]);
        return 1;
    }
    if (!strcmp(argv[1], "count")) {
        rc = bump_count(txn, leaves, i, i);
    } else if (!strcmp(argv[1], "remove")) {
        uint8_t key[8];
        MDB_val k = {8, key};

        key_of(i, key);
        rc = mdb_del(txn, leaves, &k, NULL) ? -1 : shift(txn, leaves, i + 1, -1);
    } else if (!strcmp(argv[1], "insert")) {
        rc = shift(txn, leaves, i, +1);
        if (rc == 0)
            rc = bump_count(txn, leaves, i + 1, i);
    } else if (!strcmp(argv[1], "resign")) {
        rc = resign(txn, cps);
    } else if (!strcmp(argv[1], "fork")) {
        rc = fork_at(txn, cps, argv[2], i);
    } else {
        fprintf(stderr, "tg_audit_tamper: unknown mode %s\n", argv[1]);
        return 2;
    }
    if (rc || mdb_txn_commit(txn)) {
        fprintf(stderr, "tg_audit_tamper: %s failed\n", argv[1]);
        return 1;
    }
    mdb_env_close(env);
    return 0;
}
