/* `audit verify --data`: recompute the site's log from its leaves. */
#include "tg_codec.h"
#include "tg_outbox_audit.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_audit_checkpoint.h"
#include "tg_audit_merkle.h"
#include "tg_audit_proof.h"
#include "tg_err.h"
#include "outbox_tlog.h"
#include "tollgate/v1/forward.pb-c.h"

typedef struct vctx {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi leaves, nodes, cps, ledger, meta;
    tg_audit_verifier key;
    tg_audit_memtree tree;
    tg_outbox_audit_result *r;
} vctx;

static int fail(tg_outbox_audit_result *r, uint64_t index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(tg_outbox_audit_result *r, uint64_t index, const char *fmt, ...)
{
    va_list ap;

    r->bad_index = index;
    va_start(ap, fmt);
    vsnprintf(r->what, sizeof(r->what), fmt, ap);
    va_end(ap);
    return TG_EVERIFY;
}

static int stored_leaf_node(vctx *c, uint64_t i, tg_audit_hash *out)
{
    uint8_t nk[9];
    MDB_val k = {9, nk}, v;

    nk[0] = 0;
    for (int b = 8; b >= 1; b--, i >>= 8)
        nk[b] = (uint8_t)i;
    if (mdb_get(c->txn, c->nodes, &k, &v) || v.mv_size != 32)
        return TG_ENOT_FOUND;
    memcpy(out->b, v.mv_data, 32);
    return 0;
}

/* Names what happened at leaf i, whose hash is not the log's node: a leaf
 * slipped in before the log's leaf i (the next leaf is the log's i), the
 * log's leaf i taken out (this leaf is the log's i + 1), or changed. */
static int name_mismatch(vctx *c, const tg_audit_hash *h, uint64_t n, uint64_t i)
{
    tg_audit_hash node;

    if (i + 1 < n && stored_leaf_node(c, i, &node) == 0 &&
        memcmp(node.b, h[i + 1].b, 32) == 0)
        return fail(c->r, i, "leaf %llu inserted (the log's leaf %llu follows it)",
                    (unsigned long long)i, (unsigned long long)i);
    if (stored_leaf_node(c, i + 1, &node) == 0 && memcmp(node.b, h[i].b, 32) == 0)
        return fail(c->r, i, "leaf %llu removed (the log's leaf %llu is in its place)",
                    (unsigned long long)i, (unsigned long long)i + 1);
    return fail(c->r, i, "leaf %llu changed (its hash is not the log's)",
                (unsigned long long)i);
}

static int check_leaves(vctx *c)
{
    MDB_cursor *cur;
    MDB_val k, v;
    MDB_val mk = {9, (void *)"tlog_size"}, mv;
    uint64_t n = 0, cap = 0, size = 0;
    tg_audit_hash *h = NULL;
    int rc = 0, op = MDB_FIRST;

    if (mdb_get(c->txn, c->meta, &mk, &mv) == 0 && mv.mv_size == 8)
        size = tg_be64_get(mv.mv_data);
    if (mdb_cursor_open(c->txn, c->leaves, &cur))
        return TG_ESTORE;
    while (mdb_cursor_get(cur, &k, &v, op) == 0) {
        op = MDB_NEXT;
        if (k.mv_size != 8 || tg_be64_get(k.mv_data) != n) {
            rc = fail(c->r, n, "leaf %llu removed", (unsigned long long)n);
            break;
        }
        if (n == cap) {
            tg_audit_hash *nh = realloc(h, (cap = cap ? 2 * cap : 1024) * sizeof(*h));
            if (!nh) {
                rc = TG_ENOMEM;
                break;
            }
            h = nh;
        }
        tg_audit_leaf_hash(v.mv_data, v.mv_size, &h[n++]);
    }
    mdb_cursor_close(cur);
    for (uint64_t i = 0; rc == 0 && i < n; i++) {
        tg_audit_hash node;

        if (stored_leaf_node(c, i, &node) != 0 || memcmp(node.b, h[i].b, 32) != 0)
            rc = name_mismatch(c, h, n, i);
    }
    if (rc == 0 && n > size)
        rc = fail(c->r, size, "leaf %llu inserted (beyond the log's size %llu)",
                  (unsigned long long)size, (unsigned long long)size);
    if (rc == 0 && n < size)
        rc = fail(c->r, n, "leaf %llu removed", (unsigned long long)n);
    if (rc == 0 && tg_audit_memtree_append(&c->tree, h, n))
        rc = TG_ENOMEM;
    free(h);
    c->r->leaves = n;
    return rc;
}

/* The checkpoints' Ed25519 signatures are what verify spends its time on
 * (one per tree size: ~97% of a run), and they are independent of each
 * other, so they are checked on every core: worker `nth` of `of` checks
 * every of-th checkpoint in its own read transaction and keeps the first
 * (smallest) size whose signature fails. */
#define SIG_WORKERS_MAX 64

typedef struct sig_job {
    MDB_env *env;
    MDB_dbi cps;
    const tg_audit_verifier *key;
    unsigned nth, of;
    uint64_t bad; /* UINT64_MAX: none */
    int err;
} sig_job;

static void *sig_worker(void *arg)
{
    sig_job *j = arg;
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t i = 0;
    int op = MDB_FIRST;

    j->bad = UINT64_MAX;
    if (mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn)) {
        j->err = TG_ESTORE;
        return NULL;
    }
    if (mdb_cursor_open(txn, j->cps, &cur)) {
        mdb_txn_abort(txn);
        j->err = TG_ESTORE;
        return NULL;
    }
    while (mdb_cursor_get(cur, &k, &v, op) == 0) {
        tg_audit_checkpoint cp;

        op = MDB_NEXT;
        if (i++ % j->of != j->nth)
            continue;
        if (tg_audit_checkpoint_open(v.mv_data, v.mv_size, j->key, 1, &cp, NULL) != 0) {
            j->bad = k.mv_size == 8 ? tg_be64_get(k.mv_data) : 0;
            break; /* keys ascend: the first failure is this share's smallest */
        }
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return NULL;
}

/* How many stored checkpoints are of a size below `size`. */
static uint64_t count_below(vctx *c, uint64_t size)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t n = 0;
    int op = MDB_FIRST;

    if (mdb_cursor_open(c->txn, c->cps, &cur))
        return 0;
    while (mdb_cursor_get(cur, &k, &v, op) == 0 && k.mv_size == 8 &&
           tg_be64_get(k.mv_data) < size) {
        op = MDB_NEXT;
        n++;
    }
    mdb_cursor_close(cur);
    return n;
}

/* Every checkpoint's signature (sig_worker, on every core) and, in order,
 * its size, its root against the recomputed tree and its consistency with
 * the one before. The failure named is the one a walk in order meets
 * first: the smallest failing size, its signature before the rest. */
static int check_checkpoints(vctx *c)
{
    tg_audit_reader rd = tg_audit_memtree_reader(&c->tree);
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t prev_size = 0, bad_sig = UINT64_MAX, checked = 0;
    uint64_t fail_size = UINT64_MAX; /* the checkpoint `first` is about */
    tg_audit_hash prev_root, root, proof[TG_AUDIT_PROOF_MAX];
    tg_outbox_audit_result first; /* the first failure in order, but signatures */
    sig_job jobs[SIG_WORKERS_MAX];
    pthread_t th[SIG_WORKERS_MAX];
    int started[SIG_WORKERS_MAX] = {0};
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned nw = ncpu < 1                 ? 1
                  : ncpu > SIG_WORKERS_MAX ? SIG_WORKERS_MAX
                                           : (unsigned)ncpu;
    int rc, frc = 0, op = MDB_FIRST;

    memset(&first, 0, sizeof(first));
    for (unsigned w = 0; w < nw; w++) {
        jobs[w] = (sig_job){c->env, c->cps, &c->key, w, nw, UINT64_MAX, 0};
        started[w] = pthread_create(&th[w], NULL, sig_worker, &jobs[w]) == 0;
    }
    tg_audit_empty_hash(&prev_root);
    if (mdb_cursor_open(c->txn, c->cps, &cur)) {
        rc = TG_ESTORE;
        goto join;
    }
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        tg_audit_checkpoint cp;
        tg_audit_note note;
        uint64_t size;
        size_t n = 0;

        op = MDB_NEXT;
        size = k.mv_size == 8 ? tg_be64_get(k.mv_data) : 0;
        fail_size = size;
        /* the signature is the workers'; a note that does not parse fails it */
        if (tg_audit_note_parse(v.mv_data, v.mv_size, &note) != 0 ||
            tg_audit_checkpoint_parse(note.text, note.text_len, &cp) != 0) {
            frc = fail(&first, size, "checkpoint of size %llu: signature invalid",
                       (unsigned long long)size);
            break;
        }
        if (cp.size != size || size > c->tree.size) {
            frc = fail(&first, size,
                       "checkpoint of size %llu: signs size %llu of %llu leaves",
                       (unsigned long long)size, (unsigned long long)cp.size,
                       (unsigned long long)c->tree.size);
            break;
        }
        if (tg_audit_merkle_root(&rd, size, &root) ||
            memcmp(root.b, cp.root.b, 32) != 0) {
            frc = fail(&first, prev_size,
                       "checkpoint of size %llu: root does not match the leaves "
                       "(a leaf in [%llu, %llu) changed, removed or inserted)",
                       (unsigned long long)size, (unsigned long long)prev_size,
                       (unsigned long long)size);
            break;
        }
        if (tg_audit_merkle_consistency(&rd, prev_size, size, proof, &n) ||
            tg_audit_merkle_verify_consistency(prev_size, &prev_root, size, &cp.root,
                                               proof, n)) {
            frc = fail(&first, size,
                       "checkpoint of size %llu: not consistent with size %llu",
                       (unsigned long long)size, (unsigned long long)prev_size);
            break;
        }
        prev_size = size;
        prev_root = cp.root;
        checked++;
        fail_size = UINT64_MAX;
    }
    mdb_cursor_close(cur);
    if (frc == 0 && rc == MDB_NOTFOUND && prev_size != c->tree.size)
        frc =
            fail(&first, prev_size, "leaf %llu inserted (no signed checkpoint holds it)",
                 (unsigned long long)prev_size);
    rc = rc == MDB_NOTFOUND || frc ? 0 : rc;
join:
    for (unsigned w = 0; w < nw; w++) {
        if (started[w])
            pthread_join(th[w], NULL);
        else
            sig_worker(&jobs[w]); /* no thread: its share here */
        if (jobs[w].err && !rc)
            rc = jobs[w].err;
        if (jobs[w].bad < bad_sig)
            bad_sig = jobs[w].bad;
    }
    if (rc)
        return rc;
    /* the failure the walk in order meets first (a signature before the
     * rest at the same size; the root failure names the size before it) */
    if (bad_sig != UINT64_MAX && (!frc || bad_sig <= fail_size)) {
        c->r->checkpoints = count_below(c, bad_sig);
        return fail(c->r, bad_sig, "checkpoint of size %llu: signature invalid",
                    (unsigned long long)bad_sig);
    }
    c->r->checkpoints = checked;
    if (frc) {
        c->r->bad_index = first.bad_index;
        memcpy(c->r->what, first.what, sizeof(c->r->what));
        return frc;
    }
    return 0;
}

static int check_ledger(vctx *c)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t head[32] = {0};
    uint64_t want = 0;
    int rc, op = MDB_FIRST;

    if (mdb_cursor_open(c->txn, c->ledger, &cur))
        return TG_ESTORE;
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        Tollgate__V1__EgressRecord *e;
        uint8_t *buf;
        tg_audit_hash h;
        size_t n;
        int ok;

        op = MDB_NEXT;
        e = tollgate__v1__egress_record__unpack(NULL, v.mv_size, v.mv_data);
        if (!e || e->index != want || e->entry_hash.len != 32 ||
            (want && (e->prev_hash.len != 32 || memcmp(e->prev_hash.data, head, 32)))) {
            if (e)
                tollgate__v1__egress_record__free_unpacked(e, NULL);
            rc = fail(c->r, want, "ledger entry %llu: missing, out of order or unlinked",
                      (unsigned long long)want);
            break;
        }
        memcpy(head, e->entry_hash.data, 32);
        e->entry_hash.len = 0;
        n = tollgate__v1__egress_record__get_packed_size(e);
        buf = malloc(n ? n : 1);
        ok = buf != NULL;
        if (ok) {
            tollgate__v1__egress_record__pack(e, buf);
            tg_audit_leaf_hash(buf, n, &h);
            ok = memcmp(h.b, head, 32) == 0;
        }
        free(buf);
        tollgate__v1__egress_record__free_unpacked(e, NULL);
        if (!ok) {
            rc = fail(c->r, want, "ledger entry %llu changed (hash does not match)",
                      (unsigned long long)want);
            break;
        }
        want++;
    }
    mdb_cursor_close(cur);
    c->r->ledger_entries = want;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int open_env(const char *dir, MDB_env **env, vctx *c)
{
    MDB_txn *t = NULL;
    int ok;

    *env = NULL;
    c->txn = NULL;
    ok = mdb_env_create(env) == 0 && mdb_env_set_maxdbs(*env, 8) == 0 &&
         mdb_env_open(*env, dir, MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK, 0640) == 0 &&
         mdb_txn_begin(*env, NULL, MDB_RDONLY, &t) == 0;
    ok = ok && mdb_dbi_open(t, "tlog_leaves", 0, &c->leaves) == 0 &&
         mdb_dbi_open(t, "tlog_nodes", 0, &c->nodes) == 0 &&
         mdb_dbi_open(t, "tlog_cps", 0, &c->cps) == 0 &&
         mdb_dbi_open(t, "ledger", 0, &c->ledger) == 0 &&
         mdb_dbi_open(t, "meta", 0, &c->meta) == 0;
    /* Committed, the handles serve every transaction (the signature
     * workers' too); the walk reads in a fresh one. (A commit frees the
     * transaction whatever it returns.) */
    if (ok) {
        ok = mdb_txn_commit(t) == 0;
        t = NULL;
        ok = ok && mdb_txn_begin(*env, NULL, MDB_RDONLY, &c->txn) == 0;
    }
    if (!ok) {
        if (t)
            mdb_txn_abort(t);
        c->txn = NULL;
        if (*env)
            mdb_env_close(*env);
        *env = NULL;
        return TG_ESTORE;
    }
    c->env = *env;
    return 0;
}

int tg_outbox_audit_proof(const char *outbox_dir, const char *batch_id, tg_strbuf *out,
                          char *err, size_t errlen)
{
    vctx c;
    MDB_env *env;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t *leaf = NULL;
    size_t leaf_len = 0, n = 0;
    uint64_t index = UINT64_MAX, size = 0;
    tg_audit_hash path[TG_AUDIT_PROOF_MAX];
    int rc, op = MDB_FIRST;

    memset(&c, 0, sizeof(c));
    if (open_env(outbox_dir, &env, &c)) {
        snprintf(err, errlen, "cannot read a transparency log in %s", outbox_dir);
        return TG_ESTORE;
    }
    if ((rc = mdb_cursor_open(c.txn, c.leaves, &cur))) {
        rc = TG_ESTORE;
        goto out;
    }
    while (mdb_cursor_get(cur, &k, &v, op) == 0) {
        tg_audit_hash h;
        Tollgate__V1__EgressRecord *e;

        op = MDB_NEXT;
        tg_audit_leaf_hash(v.mv_data, v.mv_size, &h);
        if ((rc = tg_audit_memtree_append(&c.tree, &h, 1)))
            goto out;
        if (index != UINT64_MAX)
            continue;
        e = tollgate__v1__egress_record__unpack(NULL, v.mv_size, v.mv_data);
        if (e && e->batch_id && strcmp(e->event, "query") != 0 &&
            tg_outbox_tlog_batch_matches(e->batch_id, batch_id)) {
            index = c.tree.size - 1;
            leaf = malloc(v.mv_size);
            if (!leaf) {
                tollgate__v1__egress_record__free_unpacked(e, NULL);
                rc = TG_ENOMEM;
                goto out;
            }
            memcpy(leaf, v.mv_data, v.mv_size);
            leaf_len = v.mv_size;
        }
        if (e)
            tollgate__v1__egress_record__free_unpacked(e, NULL);
    }
    mdb_cursor_close(cur);
    cur = NULL;
    if (index == UINT64_MAX) {
        snprintf(err, errlen, "no ledger entry for batch %s", batch_id);
        rc = TG_ENOT_FOUND;
        goto out;
    }
    /* The newest checkpoint: it holds every leaf written so far. */
    if (mdb_cursor_open(c.txn, c.cps, &cur) || mdb_cursor_get(cur, &k, &v, MDB_LAST) ||
        k.mv_size != 8 || (size = tg_be64_get(k.mv_data)) <= index ||
        size > c.tree.size) {
        snprintf(err, errlen, "no signed checkpoint holds batch %s yet", batch_id);
        rc = TG_ENOT_FOUND;
        goto out;
    }
    {
        tg_audit_reader rd = tg_audit_memtree_reader(&c.tree);

        if ((rc = tg_audit_merkle_inclusion(&rd, index, size, path, &n)) ||
            (rc = tg_audit_proof_format(index, leaf, leaf_len, path, n, v.mv_data,
                                        v.mv_size, out)))
            snprintf(err, errlen, "cannot make the proof: %s", tg_strerror(rc));
        else if (out->oom)
            rc = TG_ENOMEM;
    }
out:
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(c.txn);
    mdb_env_close(env);
    tg_audit_memtree_free(&c.tree);
    free(leaf);
    return rc;
}

static int read_vkey(const char *path, tg_audit_verifier *key, tg_outbox_audit_result *r)
{
    char buf[1024];
    size_t n;
    FILE *f = fopen(path, "r");

    if (!f) {
        snprintf(r->what, sizeof(r->what), "cannot read the site's key %s", path);
        return TG_EIO;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (tg_audit_verifier_parse(buf, n, key)) {
        snprintf(r->what, sizeof(r->what), "%s is not a vkey", path);
        return TG_EPARSE;
    }
    return 0;
}

int tg_outbox_audit_verify(const char *outbox_dir, const char *vkey_file,
                           tg_outbox_audit_result *r)
{
    vctx c;
    MDB_env *env;
    int rc;

    memset(&c, 0, sizeof(c));
    memset(r, 0, sizeof(*r));
    c.r = r;
    if ((rc = read_vkey(vkey_file, &c.key, r)))
        return rc;
    if (open_env(outbox_dir, &env, &c)) {
        snprintf(r->what, sizeof(r->what), "cannot read a transparency log in %s",
                 outbox_dir);
        return TG_ESTORE;
    }
    if ((rc = check_leaves(&c)) == 0 && (rc = check_checkpoints(&c)) == 0)
        rc = check_ledger(&c);
    mdb_txn_abort(c.txn);
    mdb_env_close(env);
    tg_audit_memtree_free(&c.tree);
    return rc;
}

/* ---- the log for witness cross-checks ----------------------------------- */

struct tg_outbox_audit_log {
    tg_audit_memtree tree;
    uint64_t *seqs; /* (sequence, leaf) pairs of egress batches, by sequence */
    size_t n, cap;
};

static int seq_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

tg_outbox_audit_log *tg_outbox_audit_log_open(const char *outbox_dir, char *err,
                                              size_t errlen)
{
    tg_outbox_audit_log *l = calloc(1, sizeof(*l));
    uint64_t *pairs = NULL;
    MDB_cursor *cur = NULL;
    MDB_env *env;
    MDB_val k, v;
    vctx c;
    int op = MDB_FIRST, rc = 0;

    memset(&c, 0, sizeof(c));
    if (!l || open_env(outbox_dir, &env, &c)) {
        snprintf(err, errlen, "cannot read a transparency log in %s", outbox_dir);
        free(l);
        return NULL;
    }
    if (mdb_cursor_open(c.txn, c.leaves, &cur))
        rc = TG_ESTORE;
    while (rc == 0 && mdb_cursor_get(cur, &k, &v, op) == 0) {
        Tollgate__V1__EgressRecord *e;
        tg_audit_hash h;
        const char *p;

        op = MDB_NEXT;
        tg_audit_leaf_hash(v.mv_data, v.mv_size, &h);
        if ((rc = tg_audit_memtree_append(&l->tree, &h, 1)))
            break;
        e = tollgate__v1__egress_record__unpack(NULL, v.mv_size, v.mv_data);
        if (e && e->event && strcmp(e->event, "egress") == 0 && e->batch_id &&
            (p = strrchr(e->batch_id, '/'))) {
            if (l->n == l->cap) {
                size_t nc = l->cap ? 2 * l->cap : 64;
                uint64_t *np = realloc(pairs, nc * 2 * sizeof(*np));
                if (!np)
                    rc = TG_ENOMEM;
                else {
                    pairs = np;
                    l->cap = nc;
                }
            }
            if (rc == 0) {
                pairs[2 * l->n] = strtoull(p + 1, NULL, 10);
                pairs[2 * l->n + 1] = l->tree.size - 1;
                l->n++;
            }
        }
        if (e)
            tollgate__v1__egress_record__free_unpacked(e, NULL);
    }
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(c.txn);
    mdb_env_close(env);
    if (rc) {
        snprintf(err, errlen, "cannot read the log in %s: %s", outbox_dir,
                 tg_strerror(rc));
        free(pairs);
        tg_outbox_audit_log_close(l);
        return NULL;
    }
    /* Pairs (seq, leaf) sorted by sequence: a batch is found by bsearch. */
    if (l->n)
        qsort(pairs, l->n, 2 * sizeof(uint64_t), seq_cmp);
    l->seqs = pairs;
    return l;
}

void tg_outbox_audit_log_close(tg_outbox_audit_log *l)
{
    if (!l)
        return;
    tg_audit_memtree_free(&l->tree);
    free(l->seqs);
    free(l);
}

uint64_t tg_outbox_audit_log_size(const tg_outbox_audit_log *l)
{
    return l->tree.size;
}

int tg_outbox_audit_log_root(tg_outbox_audit_log *l, uint64_t size, uint8_t root[32])
{
    tg_audit_reader r = tg_audit_memtree_reader(&l->tree);
    tg_audit_hash h;
    int rc;

    if (size > l->tree.size)
        return TG_ENOT_FOUND;
    if ((rc = tg_audit_merkle_root(&r, size, &h)))
        return rc;
    memcpy(root, h.b, 32);
    return 0;
}

int64_t tg_outbox_audit_log_batch(const tg_outbox_audit_log *l, uint64_t seq)
{
    const uint64_t *p;

    if (!l->n)
        return -1;
    p = bsearch(&seq, l->seqs, l->n, 2 * sizeof(uint64_t), seq_cmp);
    return p ? (int64_t)p[1] : -1;
}
