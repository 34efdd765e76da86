/* The centre as witness (central/witness.h): the add-checkpoint body
 * parser, cosigning and its refusals (400/403/404/409/422), persistence
 * across reopen, inclusion of batches and the status it reports. */
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
#include <lmdb.h>

#include "cstore.h"
#include "tg_audit_checkpoint.h"
#include "tg_audit_keys.h"
#include "tg_codec.h"
#include "tg_err.h"
#include "witness.h"
#include "tollgate/v1/forward.pb-c.h"

#define NOW 1800000000000000000ull

typedef struct fx {
    char dir[64];
    tg_cstore *cs;
    tg_witness *w;
    tg_audit_signer site;
    char vkey[400];
    tg_audit_memtree tree;
    uint8_t leaves[64][128];
    size_t leaf_len[64];
} fx;

static void open_witness(fx *f)
{
    tg_cstore_options o = {0};
    tg_witness_options wo = {f->dir, 0, 0};
    char err[256], p[128];
    int rc;

    o.no_sync = 1;
    snprintf(p, sizeof(p), "%s/central", f->dir);
    f->cs = tg_cstore_open(p, &o, &rc);
    assert_non_null(f->cs);
    f->w = tg_witness_open(f->cs, &wo, err, sizeof(err));
    assert_non_null(f->w);
}

static void close_witness(fx *f)
{
    tg_witness_close(f->w);
    tg_cstore_close(f->cs);
}

/* n leaves: egress records of batches 1..n of site "fra". */
static void grow(fx *f, size_t n)
{
    for (size_t i = f->tree.size; i < n; i++) {
        Tollgate__V1__EgressRecord r = TOLLGATE__V1__EGRESS_RECORD__INIT;
        char id[64];
        tg_audit_hash h;
        snprintf(id, sizeof(id), "fra/00112233445566778899aabbccddeeff/%zu", i + 1);
        r.index = i;
        r.event = "egress";
        r.batch_id = id;
        f->leaf_len[i] = tollgate__v1__egress_record__pack(&r, f->leaves[i]);
        tg_audit_leaf_hash(f->leaves[i], f->leaf_len[i], &h);
        assert_int_equal(tg_audit_memtree_append(&f->tree, &h, 1), 0);
    }
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    uint8_t seed[32];
    tg_strbuf b = {0};

    snprintf(f->dir, sizeof(f->dir), "/tmp/tg_witness_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(
        tg_audit_signer_init(&f->site, "tollgate.site/fra", TG_AUDIT_SIG_ED25519, seed),
        0);
    tg_audit_keys_vkey(&f->site, &b);
    snprintf(f->vkey, sizeof(f->vkey), "%.*s", (int)b.len, b.p);
    free(b.p);
    open_witness(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    char cmd[128];

    close_witness(f);
    tg_audit_memtree_free(&f->tree);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* An add-checkpoint body from `old` to the tree's size; `root` (when not
 * NULL) replaces the true root, `signer` the site's key. */
static char *request(fx *f, uint64_t old, const tg_audit_hash *root,
                     const tg_audit_signer *signer, size_t *len)
{
    tg_audit_reader r = tg_audit_memtree_reader(&f->tree);
    tg_audit_hash proof[TG_AUDIT_PROOF_MAX];
    tg_audit_checkpoint cp;
    tg_strbuf b = {0};
    size_t n = 0;

    if (old <= f->tree.size)
        assert_int_equal(tg_audit_merkle_consistency(&r, old, f->tree.size, proof, &n),
                         0);
    memset(&cp, 0, sizeof(cp));
    snprintf(cp.origin, sizeof(cp.origin), "%s", signer ? signer->name : f->site.name);
    cp.size = f->tree.size;
    assert_int_equal(tg_audit_merkle_root(&r, f->tree.size, &cp.root), 0);
    if (root)
        cp.root = *root;
    tg_strbuf_printf(&b, "old %llu\n", (unsigned long long)old);
    for (size_t i = 0; i < n; i++) {
        char h[48];
        tg_base64_encode(proof[i].b, 32, h);
        tg_strbuf_printf(&b, "%s\n", h);
    }
    tg_strbuf_putc(&b, '\n');
    assert_int_equal(tg_audit_checkpoint_sign(&cp, signer ? signer : &f->site, &b), 0);
    *len = b.len;
    return b.p;
}

static int submit(fx *f, char *body, size_t len, const char *offered, uint64_t *known,
                  tg_strbuf *reply)
{
    tg_witness_answer a;
    int st;

    tg_witness_add_checkpoint(f->w, "fra", "", offered ? offered : f->vkey, body, len,
                              NOW, &a);
    free(body);
    st = a.status;
    if (known)
        *known = a.known_size;
    if (reply)
        tg_strbuf_put(reply, a.body.p, a.body.len);
    free(a.body.p);
    return st;
}

static void test_parse(void **state)
{
    tg_witness_request r;
    const char ok[] = "old 3\n"
                      "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
                      "\n"
                      "note";
    (void)state;
    assert_int_equal(tg_witness_parse_request(ok, strlen(ok), &r), 0);
    assert_int_equal(r.old_size, 3);
    assert_int_equal(r.nproof, 1);
    assert_int_equal(r.note_len, 4);
    assert_memory_equal(r.note, "note", 4);
    assert_int_equal(tg_witness_parse_request("old 0\n\nx", 8, &r), 0);
    assert_int_equal(r.nproof, 0);
    /* leading zero, sign, no blank line, no note, bad hash, short hash */
    assert_int_equal(tg_witness_parse_request("old 01\n\nx", 9, &r), TG_EPARSE);
    assert_int_equal(tg_witness_parse_request("old -1\n\nx", 9, &r), TG_EPARSE);
    assert_int_equal(tg_witness_parse_request("old 1\nx", 7, &r), TG_EPARSE);
    assert_int_equal(tg_witness_parse_request("old 1\n\n", 7, &r), TG_EPARSE);
    assert_int_equal(tg_witness_parse_request("old 1\n!!!\n\nx", 12, &r), TG_EPARSE);
    assert_int_equal(tg_witness_parse_request("old 1\nAAAA\n\nx", 13, &r), TG_EPARSE);
    assert_int_equal(tg_witness_parse_request("new 1\n\nx", 8, &r), TG_EPARSE);
}

static void test_cosign_and_conflicts(void **state)
{
    fx *f = *state;
    tg_strbuf reply = {0};
    tg_audit_verifier wv;
    tg_audit_checkpoint cp;
    tg_audit_note note;
    tg_audit_verifier vs[2];
    tg_audit_hash bogus;
    uint64_t known = 0;
    size_t len;
    char *body;

    grow(f, 3);
    body = request(f, 0, NULL, NULL, &len);
    assert_int_equal(submit(f, body, len, NULL, NULL, &reply), 200);
    /* The reply is a cosignature line that verifies with the witness's
     * vkey over the checkpoint. */
    assert_int_equal(tg_audit_verifier_parse(tg_witness_vkey(f->w),
                                             strlen(tg_witness_vkey(f->w)), &wv),
                     0);
    {
        tg_strbuf cpn = {0};
        tg_audit_reader r = tg_audit_memtree_reader(&f->tree);
        memset(&cp, 0, sizeof(cp));
        snprintf(cp.origin, sizeof(cp.origin), "tollgate.site/fra");
        cp.size = 3;
        tg_audit_merkle_root(&r, 3, &cp.root);
        assert_int_equal(tg_audit_checkpoint_sign(&cp, &f->site, &cpn), 0);
        tg_strbuf_put(&cpn, reply.p, reply.len);
        tg_audit_signer_verifier(&f->site, &vs[0]);
        vs[1] = wv;
        assert_int_equal(tg_audit_checkpoint_open(cpn.p, cpn.len, vs, 2, &cp, &note), 0);
        assert_int_equal(note.nsigs, 2);
        assert_int_equal(note.sigs[1].verifier, 1);
        assert_int_equal(note.sigs[1].timestamp, NOW / 1000000000ull);
        free(cpn.p);
    }
    free(reply.p);

    /* Stale: old 0 again, the witness knows 3. */
    grow(f, 5);
    body = request(f, 0, NULL, NULL, &len);
    assert_int_equal(submit(f, body, len, NULL, &known, NULL), 409);
    assert_int_equal(known, 3);
    /* From the right size it goes through. */
    body = request(f, 3, NULL, NULL, &len);
    assert_int_equal(submit(f, body, len, NULL, NULL, NULL), 200);

    /* Bad proof: a consistency proof for another tree. */
    body = request(f, 5, NULL, NULL, &len);
    grow(f, 8);
    free(body);
    body = request(f, 5, NULL, NULL, &len);
    {
        char *p = strchr(body, '\n') + 1; /* first proof hash: flip one bit */
        p[3] = p[3] == 'A' ? 'B' : 'A';
    }
    assert_int_equal(submit(f, body, len, NULL, NULL, NULL), 422);

    /* Bad signature: another key under the same name. */
    {
        tg_audit_signer other;
        uint8_t seed[32] = {9};
        assert_int_equal(
            tg_audit_signer_init(&other, "tollgate.site/fra", TG_AUDIT_SIG_ED25519, seed),
            0);
        body = request(f, 5, NULL, &other, &len);
        assert_int_equal(submit(f, body, len, NULL, NULL, NULL), 403);
        tg_audit_signer_clear(&other);
    }
    /* Unknown origin: another site's log. */
    {
        tg_audit_signer other;
        uint8_t seed[32] = {7};
        assert_int_equal(
            tg_audit_signer_init(&other, "tollgate.site/ber", TG_AUDIT_SIG_ED25519, seed),
            0);
        body = request(f, 5, NULL, &other, &len);
        assert_int_equal(submit(f, body, len, NULL, NULL, NULL), 404);
        tg_audit_signer_clear(&other);
    }
    /* Malformed. */
    assert_int_equal(submit(f, strdup("old x\n\n"), 7, NULL, NULL, NULL), 400);

    /* A fork: a validly signed checkpoint at the cosigned size with another
     * root. 409 with the known size, and the status flags it. */
    {
        tg_audit_memtree keep = f->tree;
        memset(&f->tree, 0, sizeof(f->tree));
        grow(f, 5);
        memset(bogus.b, 0x42, 32);
        body = request(f, 5, &bogus, NULL, &len);
        assert_int_equal(submit(f, body, len, NULL, &known, NULL), 409);
        assert_int_equal(known, 5);
        tg_audit_memtree_free(&f->tree);
        f->tree = keep;
    }
}

typedef struct seen {
    tg_witness_status s;
    int n;
    char cp[1024];
} seen;

static int on_status(void *ctx, const tg_witness_status *s)
{
    seen *x = ctx;
    x->s = *s;
    snprintf(x->cp, sizeof(x->cp), "%s", s->checkpoint ? s->checkpoint : "");
    x->s.checkpoint = NULL;
    x->s.fork_checkpoint = NULL;
    x->n++;
    return 0;
}

static void test_fork_persists(void **state)
{
    fx *f = *state;
    tg_audit_hash bogus;
    seen x;
    size_t len;
    char *body;

    grow(f, 4);
    body = request(f, 0, NULL, NULL, &len);
    assert_int_equal(submit(f, body, len, NULL, NULL, NULL), 200);
    memset(&x, 0, sizeof(x));
    tg_witness_status_foreach(f->w, NOW, on_status, &x);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.s.cosigned_size, 4);
    assert_false(x.s.fork);
    assert_non_null(strstr(x.cp, "tollgate.central/witness"));

    memset(bogus.b, 0x17, 32);
    body = request(f, 4, &bogus, NULL, &len);
    assert_int_equal(submit(f, body, len, NULL, NULL, NULL), 409);
    /* Durable: the fork and the cosigned size survive a restart. */
    close_witness(f);
    open_witness(f);
    memset(&x, 0, sizeof(x));
    tg_witness_status_foreach(f->w, NOW, on_status, &x);
    assert_int_equal(x.s.cosigned_size, 4);
    assert_true(x.s.fork);
    assert_int_equal(x.s.fork_size, 4);
    {
        char *j = tg_witness_status_json(f->w, NOW);
        assert_non_null(strstr(j, "\"fork\":true"));
        assert_non_null(strstr(j, "\"cosigned_size\":4"));
        free(j);
    }
}

static void test_key_pinned_and_changed(void **state)
{
    fx *f = *state;
    tg_audit_signer other;
    tg_strbuf ov = {0};
    uint8_t seed[32] = {3};
    seen x;
    size_t len;
    char *body;

    grow(f, 2);
    body = request(f, 0, NULL, NULL, &len);
    assert_int_equal(submit(f, body, len, NULL, NULL, NULL), 200);
    /* Trust on first use: a later, different key is refused and flagged,
     * even with a checkpoint that key signs correctly. */
    assert_int_equal(
        tg_audit_signer_init(&other, "tollgate.site/fra", TG_AUDIT_SIG_ED25519, seed), 0);
    tg_audit_keys_vkey(&other, &ov);
    tg_strbuf_putc(&ov, '\0');
    body = request(f, 2, NULL, &other, &len);
    assert_int_equal(submit(f, body, len, ov.p, NULL, NULL), 403);
    memset(&x, 0, sizeof(x));
    tg_witness_status_foreach(f->w, NOW, on_status, &x);
    assert_true(x.s.key_changed);
    assert_int_equal(x.s.cosigned_size, 2);
    /* A key the registry pins wins over the one first trusted: the site's
     * own key is refused then, and the pinned one accepted. */
    {
        tg_witness_answer a;
        char *b2;
        size_t l2;
        grow(f, 3);
        b2 = request(f, 2, NULL, NULL, &l2);
        tg_witness_add_checkpoint(f->w, "fra", ov.p, NULL, b2, l2, NOW, &a);
        assert_int_equal(a.status, 403);
        free(a.body.p);
        free(b2);
        b2 = request(f, 2, NULL, &other, &l2);
        tg_witness_add_checkpoint(f->w, "fra", ov.p, ov.p, b2, l2, NOW, &a);
        assert_int_equal(a.status, 200);
        free(a.body.p);
        free(b2);
        memset(&x, 0, sizeof(x));
        tg_witness_status_foreach(f->w, NOW, on_status, &x);
        assert_string_equal(x.s.vkey, ov.p);
        assert_int_equal(x.s.cosigned_size, 3);
    }
    free(ov.p);
    tg_audit_signer_clear(&other);
}

static void test_inclusion(void **state)
{
    fx *f = *state;
    tg_audit_reader r;
    tg_audit_hash proof[TG_AUDIT_PROOF_MAX];
    tg_witness_answer a;
    tg_strbuf b = {0};
    seen x;
    size_t len, n;
    char *body;

    grow(f, 6);
    body = request(f, 0, NULL, NULL, &len);
    assert_int_equal(submit(f, body, len, NULL, NULL, NULL), 200);
    r = tg_audit_memtree_reader(&f->tree);
    tg_strbuf_printf(&b, "size 6\n");
    for (size_t i = 0; i < 6; i++) {
        char *d = malloc(tg_base64_encoded_len(f->leaf_len[i]) + 1);
        tg_base64_encode(f->leaves[i], f->leaf_len[i], d);
        tg_strbuf_printf(&b, "leaf %zu %s\n", i, d);
        free(d);
        assert_int_equal(tg_audit_merkle_inclusion(&r, i, 6, proof, &n), 0);
        for (size_t j = 0; j < n; j++) {
            char h[48];
            tg_base64_encode(proof[j].b, 32, h);
            tg_strbuf_printf(&b, "%s\n", h);
        }
    }
    tg_witness_inclusion(f->w, "fra", b.p, b.len, NOW, &a);
    assert_int_equal(a.status, 200);
    free(a.body.p);
    /* Against a size not cosigned: 409 with the cosigned size. */
    b.p[5] = '5';
    tg_witness_inclusion(f->w, "fra", b.p, b.len, NOW, &a);
    assert_int_equal(a.status, 409);
    assert_int_equal(a.known_size, 6);
    free(a.body.p);
    /* A leaf changed: its proof fails, 422. */
    b.p[5] = '6';
    {
        char *leaf = strstr(b.p, "leaf 2 ") + 7;
        leaf[2] = leaf[2] == 'A' ? 'B' : 'A';
    }
    tg_witness_inclusion(f->w, "fra", b.p, b.len, NOW, &a);
    assert_int_equal(a.status, 422);
    free(a.body.p);
    free(b.p);
    memset(&x, 0, sizeof(x));
    tg_witness_status_foreach(f->w, NOW + TG_WITNESS_GRACE_NS_DEFAULT + 1, on_status, &x);
    assert_int_equal(x.s.leaves, 6);
    /* The centre holds none of these batches: past the grace period every
     * leaf is a gap (above no held batch). */
    assert_int_equal(x.s.gap, 6);
    assert_int_equal(x.s.batches_without_leaf, 0);

    /* The centre holds batches 4, 5 and 7 (written as the store keys them,
     * header empty: received at time 0): 7 has no leaf, 6 was logged but
     * never held (a gap); 1-3 are below the oldest held, as if evicted. */
    {
        MDB_env *env = tg_cstore_env(f->cs);
        MDB_txn *txn;
        MDB_dbi db;
        uint64_t seqs[] = {4, 5, 7};
        assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
        assert_int_equal(mdb_dbi_open(txn, "batches", 0, &db), 0);
        for (size_t i = 0; i < 3; i++) {
            uint8_t k[12] = "fra", v[4] = {0};
            MDB_val kv = {12, k}, vv = {4, v};
            k[3] = 0;
            tg_be64_put(k + 4, seqs[i]);
            assert_int_equal(mdb_put(txn, db, &kv, &vv, 0), 0);
        }
        assert_int_equal(mdb_txn_commit(txn), 0);
    }
    memset(&x, 0, sizeof(x));
    tg_witness_status_foreach(f->w, NOW + TG_WITNESS_GRACE_NS_DEFAULT + 1, on_status, &x);
    assert_int_equal(x.s.gap, 1);
    assert_int_equal(x.s.batches_without_leaf, 1);
    assert_int_equal(x.s.leaves, 6);
    /* Within the grace period neither is flagged yet. */
    memset(&x, 0, sizeof(x));
    tg_witness_status_foreach(f->w, NOW, on_status, &x);
    assert_int_equal(x.s.gap, 0);
    /* Retention forgets the leaves of batches below the oldest held. */
    assert_int_equal(tg_witness_retain(f->w), 0);
    memset(&x, 0, sizeof(x));
    tg_witness_status_foreach(f->w, NOW + TG_WITNESS_GRACE_NS_DEFAULT + 1, on_status, &x);
    assert_int_equal(x.s.leaves, 3);
    assert_int_equal(x.s.gap, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test_setup_teardown(test_cosign_and_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_persists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_pinned_and_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inclusion, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
