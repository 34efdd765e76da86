/* The outbox's transparency log against real LMDB: every ledger entry is a
 * leaf written in the same transaction, the log survives reopen, its
 * checkpoints verify with the site's vkey, `audit verify --data` finds it
 * intact, and names the first broken entry once a leaf is changed or
 * removed or a checkpoint re-signed; proofs verify and a flipped bit
 * fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <lmdb.h>

#include "tg_audit_checkpoint.h"
#include "tg_audit_keys.h"
#include "tg_audit_proof.h"
#include "tg_codec.h"
#include "tg_err.h"
#include "tg_outbox.h"
#include "tg_outbox_audit.h"
#include "tg_outbox_report.h"
#include "store.h"
#include "tg_strbuf.h"
#include "tg_wire.h"
#include "cstore.h"
#include "outbox_tlog.h"
#include "witness.h"

typedef struct fx {
    char dir[64], outbox[96], vkey[96];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/tg_outbox_audit_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->outbox, sizeof(f->outbox), "%s/outbox", f->dir);
    snprintf(f->vkey, sizeof(f->vkey), "%s/audit.key.vkey", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static tg_outbox *open_ob(fx *f)
{
    tg_outbox_options o;
    tg_outbox *ob;
    int err = 0;

    memset(&o, 0, sizeof(o));
    o.no_sync = 1;
    o.site = "fra";
    o.destination = "central";
    o.destination_url = "http://centre.example";
    o.audit_key_dir = f->dir;
    ob = tg_outbox_open(f->outbox, &o, &err);
    assert_non_null(ob);
    return ob;
}

/* One batch put and its egress recorded: two transactions, one leaf. */
static void egress(tg_outbox *ob)
{
    Tollgate__V1__Batch b = TOLLGATE__V1__BATCH__INIT;
    tg_outbox_append a;
    tg_egress_tally t;
    uint64_t seq = tg_outbox_next_seq(ob);
    uint8_t *blob;
    size_t len, raw;

    b.site = "fra";
    b.sequence = seq;
    assert_int_equal(tg_wire_pack_batch(&b, 2, 1, &blob, &len, &raw), 0);
    tg_egress_tally_reset(&t);
    tg_egress_tally_add(&t, "pii.email", "redact", 3);
    memset(&a, 0, sizeof(a));
    a.seq = seq;
    a.blob = blob;
    a.len = len;
    a.raw_bytes = raw;
    a.records = 4;
    a.tally = &t;
    a.policy_version = "sha256:test";
    a.cursor = seq;
    a.now_ns = 1000 + seq;
    assert_int_equal(tg_outbox_put(ob, &a), 0);
    free(blob);
    assert_int_equal(tg_outbox_ledger_egress(ob, seq, 1, len, 2000 + seq), 0);
}

static void make_log(fx *f, int batches)
{
    tg_outbox *ob = open_ob(f);
    for (int i = 0; i < batches; i++)
        egress(ob);
    tg_outbox_close(ob);
}

static int verify(fx *f, tg_outbox_audit_result *r)
{
    return tg_outbox_audit_verify(f->outbox, f->vkey, r);
}

/* Runs fn on a write transaction of the outbox environment. */
static void
tamper(fx *f, void (*fn)(MDB_txn *txn, MDB_dbi leaves, MDB_dbi cps, void *ctx), void *ctx)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi leaves, cps;

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_set_mapsize(env, 1ull << 31), 0);
    assert_int_equal(mdb_env_open(env, f->outbox, MDB_NOTLS, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "tlog_leaves", 0, &leaves), 0);
    assert_int_equal(mdb_dbi_open(txn, "tlog_cps", 0, &cps), 0);
    fn(txn, leaves, cps, ctx);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void key_of(uint64_t i, uint8_t k[8])
{
    for (int b = 7; b >= 0; b--, i >>= 8)
        k[b] = (uint8_t)i;
}

static void change_count(MDB_txn *txn, MDB_dbi leaves, MDB_dbi cps, void *ctx)
{
    uint8_t key[8], buf[4096];
    MDB_val k = {8, key}, v;
    Tollgate__V1__EgressRecord *e;

    (void)cps;
    key_of(*(uint64_t *)ctx, key);
    assert_int_equal(mdb_get(txn, leaves, &k, &v), 0);
    e = tollgate__v1__egress_record__unpack(NULL, v.mv_size, v.mv_data);
    assert_non_null(e);
    e->records += 1;
    v.mv_size = tollgate__v1__egress_record__pack(e, buf);
    v.mv_data = buf;
    tollgate__v1__egress_record__free_unpacked(e, NULL);
    assert_int_equal(mdb_put(txn, leaves, &k, &v, 0), 0);
}

static void remove_leaf(MDB_txn *txn, MDB_dbi leaves, MDB_dbi cps, void *ctx)
{
    uint8_t key[8];
    MDB_val k = {8, key};

    (void)cps;
    key_of(*(uint64_t *)ctx, key);
    assert_int_equal(mdb_del(txn, leaves, &k, NULL), 0);
}

/* Re-signs the checkpoint of size *ctx with a fresh key of the same name. */
static void resign(MDB_txn *txn, MDB_dbi leaves, MDB_dbi cps, void *ctx)
{
    uint8_t key[8], seed[32] = {7};
    MDB_val k = {8, key}, v;
    tg_audit_checkpoint cp;
    tg_audit_note n;
    tg_audit_signer s;
    tg_strbuf sb = {0};

    (void)leaves;
    key_of(*(uint64_t *)ctx, key);
    assert_int_equal(mdb_get(txn, cps, &k, &v), 0);
    assert_int_equal(tg_audit_note_parse(v.mv_data, v.mv_size, &n), 0);
    assert_int_equal(tg_audit_checkpoint_parse(n.text, n.text_len, &cp), 0);
    assert_int_equal(tg_audit_signer_init(&s, cp.origin, TG_AUDIT_SIG_ED25519, seed), 0);
    assert_int_equal(tg_audit_checkpoint_sign(&cp, &s, &sb), 0);
    v.mv_size = sb.len;
    v.mv_data = sb.p;
    assert_int_equal(mdb_put(txn, cps, &k, &v, 0), 0);
    free(sb.p);
}

static void test_leaf_per_entry_and_reopen(void **state)
{
    fx *f = *state;
    tg_outbox_stats s;
    tg_outbox_audit_result r;
    tg_outbox *ob;

    make_log(f, 3);
    ob = open_ob(f);
    tg_outbox_get_stats(ob, &s);
    assert_int_equal(s.ledger_entries, 3);
    assert_int_equal(s.tlog_size, 3);
    egress(ob);
    tg_outbox_get_stats(ob, &s);
    assert_int_equal(s.tlog_size, 4);
    assert_int_equal(s.tlog_failures, 0);
    tg_outbox_close(ob);
    assert_int_equal(verify(f, &r), 0);
    assert_int_equal(r.leaves, 4);
    assert_int_equal(r.ledger_entries, 4);
    assert_int_equal(r.checkpoints, 4); /* one signed per egress */
}

static void test_changed_leaf_named(void **state)
{
    fx *f = *state;
    tg_outbox_audit_result r;
    uint64_t idx = 2;

    make_log(f, 5);
    tamper(f, change_count, &idx);
    assert_int_equal(verify(f, &r), TG_EVERIFY);
    assert_int_equal(r.bad_index, 2);
    assert_non_null(strstr(r.what, "leaf 2 changed"));
}

static void test_removed_leaf_named(void **state)
{
    fx *f = *state;
    tg_outbox_audit_result r;
    uint64_t idx = 1;

    make_log(f, 4);
    tamper(f, remove_leaf, &idx);
    assert_int_equal(verify(f, &r), TG_EVERIFY);
    assert_int_equal(r.bad_index, 1);
    assert_non_null(strstr(r.what, "leaf 1 removed"));
}

static void test_resigned_checkpoint_named(void **state)
{
    fx *f = *state;
    tg_outbox_audit_result r;
    uint64_t size = 3;

    make_log(f, 4);
    tamper(f, resign, &size);
    assert_int_equal(verify(f, &r), TG_EVERIFY);
    assert_int_equal(r.bad_index, 3);
    assert_non_null(strstr(r.what, "signature invalid"));
}

/* Writes one record expiring after `ret` s, its class named `cls`. */
static void store_put(tg_store *st, const char *cls, uint64_t ret)
{
    static const uint8_t data[64] = {1, 2, 3};
    tg_otlp_index ix;
    tg_store_record r;

    memset(&ix, 0, sizeof(ix));
    ix.t_min = 1000;
    ix.t_max = 2000;
    ix.items = 1;
    memset(&r, 0, sizeof(r));
    r.signal = TG_SIGNAL_TRACES;
    r.data = data;
    r.len = sizeof(data);
    r.index = &ix;
    r.retention_sec = ret;
    r.retention_class = cls;
    assert_int_equal(tg_store_write(st, &r, 1, NULL), 0);
}

typedef struct ret_leaves {
    int n;
    uint64_t index[8], records[8], email[8], evicted[8];
    uint64_t at; /* leaves seen */
} ret_leaves;

static int collect_retention(void *ctx, const uint8_t *leaf, size_t len)
{
    ret_leaves *r = ctx;
    Tollgate__V1__EgressRecord *e = tollgate__v1__egress_record__unpack(NULL, len, leaf);

    assert_non_null(e);
    if (strcmp(e->event, "retention") == 0 && r->n < 8) {
        r->index[r->n] = r->at;
        r->records[r->n] = e->records;
        for (size_t i = 0; i < e->n_counts; i++) {
            if (strcmp(e->counts[i]->data_class, "pii.email") == 0 &&
                strcmp(e->counts[i]->action, "expire") == 0)
                r->email[r->n] = e->counts[i]->count;
            if (strcmp(e->counts[i]->action, "evict") == 0)
                r->evicted[r->n] = e->counts[i]->count;
        }
        r->n++;
    }
    r->at++;
    tollgate__v1__egress_record__free_unpacked(e, NULL);
    return 0;
}

/* The store's deletions become "retention" leaves: one per pass that
 * deleted something (a class retention, or the store's age limit), holding
 * what was deleted since the last one, covered
 * by a signed checkpoint and verified like every leaf; a pass whose leaf
 * never committed (a crash) is caught up by the next one. */
static void test_retention_leaves(void **state)
{
    fx *f = *state;
    char sdir[128], err[256];
    tg_store_options so;
    tg_outbox_audit_result vr;
    tg_outbox_report_checkpoint cp;
    ret_leaves rl;
    tg_store *st;
    tg_outbox *ob;
    uint64_t now = (uint64_t)time(NULL);
    int appended = -1, serr = 0;

    snprintf(sdir, sizeof(sdir), "%s/store", f->dir);
    tg_store_options_default(&so);
    so.no_sync = 1;
    so.max_age_sec = 150000; /* the store's own limit, for the record without a class */
    assert_non_null(st = tg_store_open(sdir, &so, &serr));
    ob = open_ob(f);
    egress(ob);
    /* nothing deleted yet: no leaf */
    assert_int_equal(tg_outbox_log_store_retention(ob, st, 5000, &appended), 0);
    assert_int_equal(appended, 0);
    store_put(st, "pii.email", 10);
    store_put(st, "pii.email", 10);
    store_put(st, "pii.ip", 10);
    store_put(st, "pii.email", 100000);
    store_put(st, NULL, 0);
    assert_int_equal(tg_store_evict(st, now + 100), 0);
    assert_int_equal(tg_outbox_log_store_retention(ob, st, 6000, &appended), 0);
    assert_int_equal(appended, 1);
    /* the same counts again: nothing new, no leaf */
    assert_int_equal(tg_outbox_log_store_retention(ob, st, 6500, &appended), 0);
    assert_int_equal(appended, 0);
    egress(ob);
    /* a deletion whose leaf is lost to a crash (the store deleted, the
     * outbox never heard): the next pass records it */
    assert_int_equal(tg_store_evict(st, now + 200000), 0);
    tg_outbox_close(ob);
    ob = open_ob(f);
    assert_int_equal(tg_outbox_log_store_retention(ob, st, 7000, &appended), 0);
    assert_int_equal(appended, 1);
    tg_outbox_close(ob);
    tg_store_close(st);

    assert_int_equal(verify(f, &vr), 0);
    assert_int_equal(vr.leaves, 4);
    memset(&rl, 0, sizeof(rl));
    assert_int_equal(
        tg_outbox_report_read(f->outbox, collect_retention, &rl, &cp, err, sizeof(err)),
        0);
    assert_int_equal(cp.size, 4); /* a signed checkpoint covers both */
    assert_int_equal(rl.n, 2);
    assert_int_equal(rl.index[0], 1);
    assert_int_equal(rl.email[0], 2);
    assert_int_equal(rl.records[0], 3); /* 2 e-mail, 1 ip */
    assert_int_equal(rl.index[1], 3);
    assert_int_equal(rl.email[1], 1); /* only what is new */
    assert_int_equal(rl.evicted[0], 0);
    assert_int_equal(rl.evicted[1], 1); /* the age limit: "(store limits)" */
    assert_int_equal(rl.records[1], 2);
}

static void serve(tg_outbox *ob, const char *path, tg_strbuf *out, int want)
{
    out->len = 0;
    assert_int_equal(tg_outbox_audit_read(ob, path, strlen(path), out), want);
}

/* What online audits read over the site API: every checkpoint (paged),
 * a batch's proof and consistency proofs, all from the stored nodes, and
 * equal to what the offline tools compute from the leaves. */
static void test_served_history_and_proofs(void **state)
{
    fx *f = *state;
    tg_outbox *ob;
    tg_strbuf sb = {0}, off = {0};
    tg_audit_verifier v;
    tg_audit_checkpoint cps[8];
    tg_audit_hash proof[TG_AUDIT_PROOF_MAX];
    char err[256], vk[512], path[128];
    json_t *doc, *arr;
    size_t i;
    FILE *kf;

    make_log(f, 6);
    assert_non_null(kf = fopen(f->vkey, "r"));
    assert_non_null(fgets(vk, sizeof(vk), kf));
    fclose(kf);
    vk[strcspn(vk, "\n")] = '\0';
    assert_int_equal(tg_audit_verifier_parse(vk, strlen(vk), &v), 0);
    ob = open_ob(f);

    /* every checkpoint, oldest first, each verifying with the site's key */
    serve(ob, "checkpoints/0", &sb, 0);
    assert_non_null(doc = json_loadb(sb.p, sb.len, 0, NULL));
    arr = json_object_get(doc, "checkpoints");
    assert_int_equal(json_array_size(arr), 6);
    assert_null(json_object_get(doc, "next"));
    for (i = 0; i < 6; i++) {
        json_t *e = json_array_get(arr, i);
        const char *t = json_string_value(json_object_get(e, "checkpoint"));
        assert_int_equal(json_integer_value(json_object_get(e, "size")),
                         (json_int_t)i + 1);
        assert_int_equal(tg_audit_checkpoint_open(t, strlen(t), &v, 1, &cps[i], NULL), 0);
        assert_int_equal(cps[i].size, i + 1);
    }
    json_decref(doc);
    serve(ob, "checkpoints/4", &sb, 0);
    assert_non_null(doc = json_loadb(sb.p, sb.len, 0, NULL));
    assert_int_equal(json_array_size(json_object_get(doc, "checkpoints")), 3);
    json_decref(doc);
    serve(ob, "checkpoints/x", &sb, TG_EPARSE);

    /* consistency proofs between every pair link their signed roots */
    for (uint64_t m = 1; m <= 6; m++)
        for (uint64_t n = m; n <= 6; n++) {
            size_t np = 0, at = 0;
            snprintf(path, sizeof(path), "consistency/%llu/%llu", (unsigned long long)m,
                     (unsigned long long)n);
            serve(ob, path, &sb, 0);
            while (at < sb.len) {
                const char *nl = memchr(sb.p + at, '\n', sb.len - at);
                assert_non_null(nl);
                assert_int_equal(tg_base64_decode(sb.p + at, (size_t)(nl - (sb.p + at)),
                                                  proof[np++].b, 33),
                                 32);
                at = (size_t)(nl + 1 - sb.p);
            }
            assert_int_equal(tg_audit_merkle_verify_consistency(
                                 m, &cps[m - 1].root, n, &cps[n - 1].root, proof, np),
                             0);
            if (m < n && np)
                assert_int_not_equal(
                    tg_audit_merkle_verify_consistency(m, &cps[n - 1].root, n,
                                                       &cps[n - 1].root, proof, np),
                    0);
        }
    serve(ob, "consistency/3/7", &sb, TG_ENOT_FOUND);
    serve(ob, "consistency/0/3", &sb, TG_ENOT_FOUND);

    /* a batch's proof, as the offline tool makes it from the leaves */
    serve(ob, "proof/3", &sb, 0);
    assert_int_equal(tg_outbox_audit_proof(f->outbox, "3", &off, err, sizeof(err)), 0);
    assert_int_equal(sb.len, off.len);
    assert_memory_equal(sb.p, off.p, sb.len);
    serve(ob, "proof/999", &sb, TG_ENOT_FOUND);
    tg_outbox_close(ob);
    free(sb.p);
    free(off.p);
}

typedef struct fork_ctx {
    uint64_t size;
    const char *keyfile;
} fork_ctx;

/* Replaces the checkpoint of size ctx->size by one over another root,
 * signed with the site's own key: a structural failure, not a signature's. */
static void fork_cp(MDB_txn *txn, MDB_dbi leaves, MDB_dbi cps, void *ctx)
{
    fork_ctx *fc = ctx;
    uint8_t key[8];
    MDB_val k = {8, key}, v;
    tg_audit_checkpoint cp;
    tg_audit_note n;
    tg_audit_signer s;
    tg_strbuf sb = {0};
    char line[1024];
    FILE *f = fopen(fc->keyfile, "r");

    (void)leaves;
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_int_equal(tg_audit_keys_parse(line, strlen(line), &s), 0);
    key_of(fc->size, key);
    assert_int_equal(mdb_get(txn, cps, &k, &v), 0);
    assert_int_equal(tg_audit_note_parse(v.mv_data, v.mv_size, &n), 0);
    assert_int_equal(tg_audit_checkpoint_parse(n.text, n.text_len, &cp), 0);
    cp.root.b[0] ^= 1;
    assert_int_equal(tg_audit_checkpoint_sign(&cp, &s, &sb), 0);
    v.mv_size = sb.len;
    v.mv_data = sb.p;
    assert_int_equal(mdb_put(txn, cps, &k, &v, 0), 0);
    free(sb.p);
    tg_audit_signer_clear(&s);
}

/* The signatures are checked on every core, the rest in order: the failure
 * named is still the first a walk in order meets. */
static void test_first_failure_in_order(void **state)
{
    fx *f = *state;
    tg_outbox_audit_result r;
    char keyfile[128];
    fork_ctx fc;
    uint64_t size;

    snprintf(keyfile, sizeof(keyfile), "%s/audit.key", f->dir);
    make_log(f, 9);
    /* a forked checkpoint at size 2 before a bad signature at 6 */
    fc = (fork_ctx){2, keyfile};
    tamper(f, fork_cp, &fc);
    size = 6;
    tamper(f, resign, &size);
    assert_int_equal(verify(f, &r), TG_EVERIFY);
    assert_non_null(strstr(r.what, "checkpoint of size 2: root does not match"));
    assert_int_equal(r.bad_index, 1);
    assert_int_equal(r.checkpoints, 1);
    /* a bad signature at 4 before a forked checkpoint at 8 */
    teardown(state);
    setup(state);
    f = *state;
    snprintf(keyfile, sizeof(keyfile), "%s/audit.key", f->dir);
    make_log(f, 9);
    size = 4;
    tamper(f, resign, &size);
    fc = (fork_ctx){8, keyfile};
    tamper(f, fork_cp, &fc);
    assert_int_equal(verify(f, &r), TG_EVERIFY);
    assert_string_equal(r.what, "checkpoint of size 4: signature invalid");
    assert_int_equal(r.bad_index, 4);
    assert_int_equal(r.checkpoints, 3);
    /* only the fork: named where it is */
    teardown(state);
    setup(state);
    f = *state;
    snprintf(keyfile, sizeof(keyfile), "%s/audit.key", f->dir);
    make_log(f, 9);
    fc = (fork_ctx){7, keyfile};
    tamper(f, fork_cp, &fc);
    assert_int_equal(verify(f, &r), TG_EVERIFY);
    assert_non_null(strstr(r.what, "checkpoint of size 7: root does not match"));
    assert_int_equal(r.checkpoints, 6);
}

static void test_proof_verifies_and_bit_flip_fails(void **state)
{
    fx *f = *state;
    tg_strbuf sb = {0};
    char err[256], vk[512];
    tg_audit_verifier v;
    tg_audit_proof p;
    tg_audit_checkpoint cp;
    uint8_t leaf[4096];
    long n;
    size_t vn;
    FILE *fp;

    make_log(f, 6);
    assert_int_equal(tg_outbox_audit_proof(f->outbox, "3", &sb, err, sizeof(err)), 0);
    fp = fopen(f->vkey, "r");
    assert_non_null(fp);
    vn = fread(vk, 1, sizeof(vk) - 1, fp);
    fclose(fp);
    while (vn && vk[vn - 1] == '\n')
        vn--;
    assert_int_equal(tg_audit_verifier_parse(vk, vn, &v), 0);
    assert_int_equal(tg_audit_proof_parse(sb.p, sb.len, &p), 0);
    n = tg_base64_decode(p.extra, p.extra_len, leaf, sizeof(leaf));
    assert_true(n > 0);
    assert_int_equal(
        tg_audit_proof_verify(sb.p, sb.len, leaf, (size_t)n, NULL, &v, 1, &cp, NULL), 0);
    assert_int_equal(cp.size, 6);
    assert_string_equal(cp.origin, "tollgate.site/fra");
    leaf[n / 2] ^= 0x01;
    assert_int_not_equal(
        tg_audit_proof_verify(sb.p, sb.len, leaf, (size_t)n, NULL, &v, 1, NULL, NULL), 0);
    free(sb.p);
    sb = (tg_strbuf){0};
    assert_int_equal(tg_outbox_audit_proof(f->outbox, "99", &sb, err, sizeof(err)),
                     TG_ENOT_FOUND);
    free(sb.p);
}

/* ---- the site and the centre's witness, round trip ------------------------ */

typedef struct wctx {
    uint64_t old, size, next;
    tg_strbuf *out;
    const char *cosig;
    size_t cosig_len;
} wctx;

static int w_add(tg_outbox_tlog *t, MDB_txn *txn, void *ctx)
{
    wctx *w = ctx;
    return tg_outbox_tlog_add_request(t, txn, w->old, w->out, &w->size);
}

static int w_store(tg_outbox_tlog *t, MDB_txn *txn, void *ctx)
{
    wctx *w = ctx;
    return tg_outbox_tlog_cosigned(t, txn, w->size, w->cosig, w->cosig_len);
}

static int w_incl(tg_outbox_tlog *t, MDB_txn *txn, void *ctx)
{
    wctx *w = ctx;
    return tg_outbox_tlog_inclusion_request(t, txn, 0, w->old, 256, w->out, &w->next);
}

static int w_meta(tg_outbox_tlog *t, MDB_txn *txn, void *ctx)
{
    ((wctx *)ctx)->old = tg_outbox_tlog_meta(t, txn, "witness_size");
    return 0;
}

static int w_leaves(void *ctx, const tg_witness_status *s)
{
    *(uint64_t *)ctx = s->leaves;
    return 0;
}

/* What the site's witness thread sends, answered by the real witness: the
 * cosignature is stored beside the checkpoint and served with it, the next
 * request goes from the cosigned size, and the batches' leaves are proved. */
static void test_witness_round_trip(void **state)
{
    fx *f = *state;
    tg_outbox *ob = open_ob(f);
    tg_cstore_options co = {0};
    tg_witness_options wo = {f->dir, 0, 0};
    tg_witness_answer a;
    tg_outbox_audit_result r;
    tg_strbuf body = {0}, cp = {0};
    char vkey[512], err[256], cdir[128];
    uint64_t leaves = 0;
    tg_cstore *cs;
    tg_witness *w;
    wctx c;
    FILE *kf;
    int rc;

    kf = fopen(f->vkey, "r");
    assert_non_null(kf);
    assert_non_null(fgets(vkey, sizeof(vkey), kf));
    fclose(kf);
    vkey[strcspn(vkey, "\n")] = '\0';
    co.no_sync = 1;
    snprintf(cdir, sizeof(cdir), "%s/central", f->dir);
    cs = tg_cstore_open(cdir, &co, &rc);
    assert_non_null(cs);
    w = tg_witness_open(cs, &wo, err, sizeof(err));
    assert_non_null(w);

    for (int i = 0; i < 3; i++)
        egress(ob);
    memset(&c, 0, sizeof(c));
    c.out = &body;
    assert_int_equal(tg_outbox_tlog_run(ob, 0, w_add, &c), 0);
    assert_int_equal(c.size, 3);
    tg_witness_add_checkpoint(w, "fra", "", vkey, body.p, body.len, 1000000000000ull, &a);
    assert_int_equal(a.status, 200);
    c.cosig = a.body.p;
    c.cosig_len = a.body.len;
    assert_int_equal(tg_outbox_tlog_run(ob, 1, w_store, &c), 0);
    free(a.body.p);
    assert_int_equal(tg_outbox_audit_read(ob, "checkpoint", 10, &cp), 0);
    assert_non_null(strstr(cp.p, "\n\xe2\x80\x94 tollgate.central/witness "));

    /* Two more batches: the request goes from the stored cosigned size. */
    egress(ob);
    egress(ob);
    assert_int_equal(tg_outbox_tlog_run(ob, 0, w_meta, &c), 0);
    assert_int_equal(c.old, 3);
    body.len = 0;
    assert_int_equal(tg_outbox_tlog_run(ob, 0, w_add, &c), 0);
    assert_true(strncmp(body.p, "old 3\n", 6) == 0);
    tg_witness_add_checkpoint(w, "fra", "", vkey, body.p, body.len, 2000000000000ull, &a);
    assert_int_equal(a.status, 200);
    free(a.body.p);
    c.old = 5;
    body.len = 0;
    assert_int_equal(tg_outbox_tlog_run(ob, 0, w_incl, &c), 0);
    assert_int_equal(c.next, 5);
    tg_witness_inclusion(w, "fra", body.p, body.len, 2000000000000ull, &a);
    assert_int_equal(a.status, 200);
    free(a.body.p);
    tg_witness_status_foreach(w, 2000000000000ull, w_leaves, &leaves);
    assert_int_equal(leaves, 5);

    free(body.p);
    free(cp.p);
    tg_witness_close(w);
    tg_cstore_close(cs);
    tg_outbox_close(ob);
    /* The stored cosignatures do not disturb the offline verification. */
    assert_int_equal(verify(f, &r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_leaf_per_entry_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_witness_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_leaf_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_failure_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_served_history_and_proofs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_leaf_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resigned_checkpoint_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proof_verifies_and_bit_flip_fails, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
