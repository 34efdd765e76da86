/* What `tollgate audit report --data DIR` reads from a site's data
 * directory, read-only: the transparency log's leaves and newest signed
 * checkpoint (DIR/outbox; the store's deletions are among the leaves, as
 * "retention" entries) and the policy texts the collector recorded
 * (DIR/policies/). */
#include "tg_codec.h"
#include "tg_outbox_report.h"

#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tg_audit_checkpoint.h"
#include "tg_audit_note.h"
#include "tg_err.h"

static int open_ro(const char *dir, MDB_env **env, MDB_txn **txn)
{
    *env = NULL;
    *txn = NULL;
    if (mdb_env_create(env) || mdb_env_set_maxdbs(*env, 16) ||
        mdb_env_open(*env, dir, MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK, 0640) ||
        mdb_txn_begin(*env, NULL, MDB_RDONLY, txn)) {
        if (*env)
            mdb_env_close(*env);
        *env = NULL;
        return TG_ESTORE;
    }
    return 0;
}

/* meta "witness_size" and the cosignature line stored for that size
 * (exporters/witness_submit.c): "— <key name> <base64>". */
static void witness_word(MDB_txn *txn, tg_outbox_report_checkpoint *cp)
{
    static const char dash[] = "\xe2\x80\x94 ";
    MDB_dbi meta, cosigs;
    MDB_val k = {12, (void *)"witness_size"}, v;
    uint8_t key[8];

    if (mdb_dbi_open(txn, "meta", 0, &meta) || mdb_get(txn, meta, &k, &v) ||
        v.mv_size != 8)
        return;
    cp->witness_size = tg_be64_get(v.mv_data);
    memcpy(key, v.mv_data, 8);
    k = (MDB_val){8, key};
    if (mdb_dbi_open(txn, "tlog_cosigs", 0, &cosigs) || mdb_get(txn, cosigs, &k, &v) ||
        v.mv_size < sizeof(dash) || memcmp(v.mv_data, dash, sizeof(dash) - 1) != 0)
        return;
    {
        const char *n = (const char *)v.mv_data + sizeof(dash) - 1;
        const char *e = memchr(n, ' ', v.mv_size - (sizeof(dash) - 1));
        snprintf(cp->witness_key, sizeof(cp->witness_key), "%.*s", e ? (int)(e - n) : 0,
                 n);
    }
}

int tg_outbox_report_read(const char *outbox_dir, tg_outbox_report_leaf_fn fn, void *ctx,
                          tg_outbox_report_checkpoint *cp, char *err, size_t errlen)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi leaves, cps;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint64_t n = 0;
    int rc, op = MDB_FIRST;

    memset(cp, 0, sizeof(*cp));
    if (open_ro(outbox_dir, &env, &txn)) {
        snprintf(err, errlen, "%s: not an outbox (cannot open it read-only)", outbox_dir);
        return TG_ESTORE;
    }
    if (mdb_dbi_open(txn, "tlog_leaves", 0, &leaves) ||
        mdb_dbi_open(txn, "tlog_cps", 0, &cps)) {
        snprintf(err, errlen, "%s: the outbox holds no transparency log", outbox_dir);
        rc = TG_ENOT_FOUND;
        goto out;
    }
    /* The newest checkpoint: the figures are counted from the leaves it covers. */
    if ((rc = mdb_cursor_open(txn, cps, &cur)) == 0 &&
        mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0) {
        tg_audit_note note;
        tg_audit_checkpoint c;
        const char *l3;

        rc = tg_audit_note_parse(v.mv_data, v.mv_size, &note);
        if (rc == 0)
            rc = tg_audit_checkpoint_parse(note.text, note.text_len, &c);
        if (rc) {
            snprintf(err, errlen, "%s: the newest checkpoint does not parse", outbox_dir);
            goto out;
        }
        snprintf(cp->origin, sizeof(cp->origin), "%s", c.origin);
        cp->size = c.size;
        /* the root as the note writes it: its third line */
        l3 = memchr(note.text, '\n', note.text_len);
        l3 = l3 ? memchr(l3 + 1, '\n', note.text_len - (size_t)(l3 + 1 - note.text))
                : NULL;
        if (l3) {
            const char *e =
                memchr(l3 + 1, '\n', note.text_len - (size_t)(l3 + 1 - note.text));
            snprintf(cp->root, sizeof(cp->root), "%.*s", e ? (int)(e - l3 - 1) : 0,
                     l3 + 1);
        }
    }
    if (cur)
        mdb_cursor_close(cur);
    cur = NULL;
    witness_word(txn, cp);
    if ((rc = mdb_cursor_open(txn, leaves, &cur))) {
        rc = TG_ESTORE;
        goto out;
    }
    while (fn && n < cp->size && mdb_cursor_get(cur, &k, &v, op) == 0) {
        op = MDB_NEXT;
        if ((rc = fn(ctx, v.mv_data, v.mv_size))) {
            snprintf(err, errlen, "leaf %llu: %s", (unsigned long long)n,
                     tg_strerror(rc));
            goto out;
        }
        n++;
    }
    rc = 0;
out:
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return rc;
}
