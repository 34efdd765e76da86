/* The centre as witness: add-checkpoint, inclusion of batches, status.
 * See witness.h for the contract and the stored layout. */
#include "tg_codec.h"
#include "witness.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_audit_keys.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tollgate/v1/forward.pb-c.h"

#define STATE_VERSION 1
#define FLAG_FORK 1u
#define FLAG_KEY_CHANGED 2u
#define ORIGIN_PREFIX "tollgate.site/"
/* Leaves one inclusion request may prove. */
#define INCLUSION_MAX_LEAVES 4096

struct tg_witness {
    MDB_env *env;
    MDB_dbi db_state, db_leaves, db_batches;
    int have_dbs;
    int has_key;
    tg_audit_signer key;
    char vkey[TG_AUDIT_NAME_MAX + 80];
    uint64_t grace_ns;
};

/* One site's state as stored (witness.h). Strings are malloc'd. */
typedef struct wstate {
    unsigned flags;
    uint64_t log_size, cosigned_size, cosigned_ns, submissions, refused, fork_ns,
        fork_size;
    tg_audit_hash root;
    char *vkey, *checkpoint, *fork_cp;
} wstate;

static void wstate_free(wstate *s)
{
    free(s->vkey);
    free(s->checkpoint);
    free(s->fork_cp);
    memset(s, 0, sizeof(*s));
}

static void put_blob(tg_strbuf *b, const char *p, size_t maxlen)
{
    size_t n = p ? strlen(p) : 0;
    uint8_t l[4];

    if (n > maxlen)
        n = maxlen;
    tg_be32_put(l, (uint32_t)n);
    tg_strbuf_put(b, (const char *)l, 4);
    if (n)
        tg_strbuf_put(b, p, n);
}

static int encode_state(const wstate *s, tg_strbuf *b)
{
    uint8_t h[2 + 8 * 8 + 32];
    uint64_t f[] = {s->log_size, s->cosigned_size, s->cosigned_ns, s->submissions,
                    s->refused,  s->fork_ns,       s->fork_size,   0};
    size_t o = 2;

    h[0] = STATE_VERSION;
    h[1] = (uint8_t)s->flags;
    for (size_t i = 0; i < 8; i++, o += 8)
        tg_be64_put(h + o, f[i]);
    memcpy(h + o, s->root.b, 32);
    tg_strbuf_put(b, (const char *)h, sizeof(h));
    put_blob(b, s->vkey, 1024);
    put_blob(b, s->checkpoint, TG_AUDIT_NOTE_MAX);
    put_blob(b, s->fork_cp, TG_AUDIT_NOTE_MAX);
    return b->oom ? TG_ENOMEM : 0;
}

static int get_blob(const uint8_t *p, size_t len, size_t *off, char **out)
{
    uint32_t n;

    if (*off + 4 > len)
        return TG_ESTORE;
    n = tg_be32_get(p + *off);
    *off += 4;
    if (n > len - *off)
        return TG_ESTORE;
    *out = NULL;
    if (n) {
        if (!(*out = malloc(n + 1)))
            return TG_ENOMEM;
        memcpy(*out, p + *off, n);
        (*out)[n] = '\0';
    }
    *off += n;
    return 0;
}

static int decode_state(const uint8_t *p, size_t len, wstate *s)
{
    uint64_t *f[] = {&s->log_size, &s->cosigned_size, &s->cosigned_ns, &s->submissions,
                     &s->refused,  &s->fork_ns,       &s->fork_size};
    size_t o = 2;
    int rc;

    memset(s, 0, sizeof(*s));
    if (len < 2 + 8 * 8 + 32 || p[0] != STATE_VERSION)
        return TG_ESTORE;
    s->flags = p[1];
    for (size_t i = 0; i < 7; i++)
        *f[i] = tg_be64_get(p + o + 8 * i);
    o += 8 * 8;
    memcpy(s->root.b, p + o, 32);
    o += 32;
    if ((rc = get_blob(p, len, &o, &s->vkey)) ||
        (rc = get_blob(p, len, &o, &s->checkpoint)) ||
        (rc = get_blob(p, len, &o, &s->fork_cp))) {
        wstate_free(s);
        return rc;
    }
    return 0;
}

/* 0 with *s filled, TG_ENOT_FOUND (s zeroed), or an error. */
static int state_get(tg_witness *w, MDB_txn *txn, const char *site, wstate *s)
{
    MDB_val k = {strlen(site), (void *)site}, v;
    int rc;

    memset(s, 0, sizeof(*s));
    rc = mdb_get(txn, w->db_state, &k, &v);
    if (rc == MDB_NOTFOUND)
        return TG_ENOT_FOUND;
    if (rc)
        return TG_ESTORE;
    return decode_state(v.mv_data, v.mv_size, s);
}

static int state_put(tg_witness *w, MDB_txn *txn, const char *site, const wstate *s)
{
    tg_strbuf b = {0};
    MDB_val k = {strlen(site), (void *)site}, v;
    int rc = encode_state(s, &b);

    if (rc == 0) {
        v.mv_size = b.len;
        v.mv_data = b.p;
        rc = mdb_put(txn, w->db_state, &k, &v, 0) ? TG_ESTORE : 0;
    }
    free(b.p);
    return rc;
}

tg_witness *tg_witness_open(tg_cstore *cs, const tg_witness_options *o, char *err,
                            size_t errlen)
{
    tg_witness *w = calloc(1, sizeof(*w));
    unsigned flags = o->readonly ? 0 : MDB_CREATE;
    MDB_txn *txn;
    int rc;

    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->env = tg_cstore_env(cs);
    w->grace_ns = o->grace_ns ? o->grace_ns : TG_WITNESS_GRACE_NS_DEFAULT;
    if (!o->readonly) {
        if (tg_audit_keys_open(o->data_dir, TG_WITNESS_KEY_FILE, TG_WITNESS_KEY_NAME,
                               TG_AUDIT_SIG_COSIG, &w->key, err, errlen) != 0) {
            free(w);
            return NULL;
        }
        w->has_key = 1;
        {
            tg_strbuf vb = {0};
            tg_audit_keys_vkey(&w->key, &vb);
            snprintf(w->vkey, sizeof(w->vkey), "%.*s", (int)vb.len, vb.p ? vb.p : "");
            free(vb.p);
        }
    }
    if (mdb_txn_begin(w->env, NULL, o->readonly ? MDB_RDONLY : 0, &txn) != 0) {
        snprintf(err, errlen, "cannot open the witness's tables");
        tg_witness_close(w);
        return NULL;
    }
    rc = mdb_dbi_open(txn, "witness", flags, &w->db_state);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "witness_leaves", flags, &w->db_leaves);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "batches", flags, &w->db_batches);
    if (rc == MDB_NOTFOUND && o->readonly) {
        mdb_txn_abort(txn); /* a store that never witnessed: empty status */
        return w;
    }
    if (rc || mdb_txn_commit(txn) != 0) {
        if (rc)
            mdb_txn_abort(txn);
        snprintf(err, errlen, "cannot open the witness's tables: %s", mdb_strerror(rc));
        tg_witness_close(w);
        return NULL;
    }
    w->have_dbs = 1;
    return w;
}

void tg_witness_close(tg_witness *w)
{
    if (!w)
        return;
    tg_audit_signer_clear(&w->key);
    free(w);
}

const char *tg_witness_vkey(const tg_witness *w)
{
    return w->vkey;
}

/* ---- parsing ------------------------------------------------------------- */

/* The line at *off (without its newline) in s[0..len); 0 at the end or
 * for a line with no newline. */
static int next_line(const char *s, size_t len, size_t *off, const char **line,
                     size_t *llen)
{
    const char *nl;

    if (*off >= len)
        return 0;
    nl = memchr(s + *off, '\n', len - *off);
    if (!nl)
        return 0;
    *line = s + *off;
    *llen = (size_t)(nl - *line);
    *off = (size_t)(nl - s) + 1;
    return 1;
}

/* A decimal without sign or leading zero, at most 2^63 - 1. */
static int parse_u63(const char *s, size_t n, uint64_t *out)
{
    uint64_t x = 0;

    if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
        return TG_EPARSE;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return TG_EPARSE;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    if (x > (uint64_t)INT64_MAX)
        return TG_EPARSE;
    *out = x;
    return 0;
}

static int parse_hash(const char *s, size_t n, tg_audit_hash *h)
{
    uint8_t buf[40];

    if (n != 44 || !tg_base64_canonical(s, n) ||
        tg_base64_decode(s, n, buf, sizeof(buf)) != TG_AUDIT_HASH_LEN)
        return TG_EPARSE;
    memcpy(h->b, buf, TG_AUDIT_HASH_LEN);
    return 0;
}

int tg_witness_parse_request(const char *body, size_t len, tg_witness_request *r)
{
    const char *line;
    size_t off = 0, ll;

    memset(r, 0, sizeof(*r));
    if (!next_line(body, len, &off, &line, &ll) || ll < 5 ||
        memcmp(line, "old ", 4) != 0 || parse_u63(line + 4, ll - 4, &r->old_size) != 0)
        return TG_EPARSE;
    for (;;) {
        if (!next_line(body, len, &off, &line, &ll))
            return TG_EPARSE;
        if (ll == 0)
            break;
        if (r->nproof == TG_AUDIT_PROOF_MAX ||
            parse_hash(line, ll, &r->proof[r->nproof]) != 0)
            return TG_EPARSE;
        r->nproof++;
    }
    if (off >= len)
        return TG_EPARSE;
    r->note = body + off;
    r->note_len = len - off;
    return 0;
}

/* ---- add-checkpoint -------------------------------------------------------- */

static void answer(tg_witness_answer *a, int status, const char *msg)
{
    a->status = status;
    a->content_type = "text/plain; charset=utf-8";
    tg_strbuf_printf(&a->body, "%s\n", msg);
}

static void answer_size(tg_witness_answer *a, uint64_t size)
{
    a->status = 409;
    a->known_size = size;
    a->content_type = "text/x.tlog.size";
    tg_strbuf_printf(&a->body, "%llu\n", (unsigned long long)size);
}

/* Opens the write transaction a request works in and reads the site's
 * state: 0 (found) or TG_ENOT_FOUND (s zeroed), with *txn open; or an
 * error, answered 503, with *txn NULL. */
static int state_begin(tg_witness *w, const char *site, MDB_txn **txn, wstate *s,
                       tg_witness_answer *a)
{
    int rc;

    memset(s, 0, sizeof(*s));
    if (mdb_txn_begin(w->env, NULL, 0, txn) != 0) {
        *txn = NULL;
        answer(a, 503, "witness store unavailable");
        return TG_ESTORE;
    }
    rc = state_get(w, *txn, site, s);
    if (rc != 0 && rc != TG_ENOT_FOUND) {
        mdb_txn_abort(*txn);
        *txn = NULL;
        answer(a, 503, "witness store unavailable");
    }
    return rc;
}

/* The note without any signature but the site's own: what the centre keeps
 * as evidence and cosigns. */
static void site_only_note(const tg_audit_note *n, const tg_audit_verifier *site,
                           tg_strbuf *out)
{
    tg_strbuf_put(out, n->text, n->text_len);
    tg_strbuf_putc(out, '\n');
    for (size_t i = 0; i < n->nsigs; i++) {
        const tg_audit_note_sig *g = &n->sigs[i];
        if (g->verifier != 0 || g->name_len != strlen(site->name))
            continue;
        tg_strbuf_put(out, "\xe2\x80\x94 ", 4);
        tg_strbuf_put(out, g->name, g->name_len);
        tg_strbuf_putc(out, ' ');
        tg_strbuf_put(out, g->b64, g->b64_len);
        tg_strbuf_putc(out, '\n');
    }
}

static void record_fork(wstate *s, const char *evidence, uint64_t size, uint64_t now_ns)
{
    char *copy = strdup(evidence);

    s->flags |= FLAG_FORK;
    s->fork_ns = now_ns;
    s->fork_size = size;
    if (copy) {
        free(s->fork_cp);
        s->fork_cp = copy;
    }
}

void tg_witness_add_checkpoint(tg_witness *w, const char *site, const char *pinned_vkey,
                               const char *offered_vkey, const char *body, size_t len,
                               uint64_t now_ns, tg_witness_answer *a)
{
    tg_witness_request req;
    tg_audit_note note;
    tg_audit_checkpoint cp;
    tg_audit_verifier v;
    wstate s;
    MDB_txn *txn = NULL;
    tg_strbuf site_note = {0}, cosig = {0};
    const char *key;
    char origin[TG_AUDIT_NAME_MAX + 1];
    int rc, found, dirty = 0;

    memset(a, 0, sizeof(*a));
    memset(&s, 0, sizeof(s));
    if (!w->has_key || !w->have_dbs) {
        answer(a, 503, "the witness is not available");
        return;
    }
    if (tg_witness_parse_request(body, len, &req) != 0 ||
        tg_audit_note_parse(req.note, req.note_len, &note) != 0 ||
        tg_audit_checkpoint_parse(note.text, note.text_len, &cp) != 0) {
        answer(a, 400, "malformed add-checkpoint request");
        return;
    }
    snprintf(origin, sizeof(origin), ORIGIN_PREFIX "%s", site);
    if (strcmp(cp.origin, origin) != 0) {
        answer(a, 404, "unknown origin: this site's log is " ORIGIN_PREFIX "<site>");
        return;
    }
    if (req.old_size > cp.size) {
        answer(a, 400, "old size is larger than the checkpoint's");
        return;
    }
    rc = state_begin(w, site, &txn, &s, a);
    if (rc != 0 && rc != TG_ENOT_FOUND)
        goto out;
    found = rc == 0;
    /* Which key: the registry's when it pins one, else the first one this
     * site presented (trust on first use). Another key is an alarm. */
    key = pinned_vkey && pinned_vkey[0] ? pinned_vkey : s.vkey ? s.vkey : offered_vkey;
    if (!key || tg_audit_verifier_parse(key, strlen(key), &v) != 0 ||
        v.type != TG_AUDIT_SIG_ED25519 || strcmp(v.name, origin) != 0) {
        answer(a, 403, "no usable key for this site's log (X-Tollgate-Audit-Key)");
        goto refused;
    }
    if (offered_vkey && strcmp(offered_vkey, key) != 0) {
        if (!(s.flags & FLAG_KEY_CHANGED))
            tg_error("witness: a site presented a different log key", "site=%s", site);
        s.flags |= FLAG_KEY_CHANGED;
        dirty = 1;
        answer(a, 403, "this is not the key the witness holds for this log");
        goto refused;
    }
    if (s.vkey && strcmp(s.vkey, key) != 0) {
        /* The registry pins another key than the one first trusted: the
         * registry wins, and the state shows the key in force. */
        free(s.vkey);
        s.vkey = NULL;
    }
    if (!s.vkey && !(s.vkey = strdup(key))) {
        answer(a, 503, "out of memory");
        goto out;
    }
    if (tg_audit_note_verify(&note, &v, 1) != 0) {
        answer(a, 403, "the checkpoint's signature does not verify");
        goto refused;
    }
    site_only_note(&note, &v, &site_note);
    if (site_note.oom) {
        answer(a, 503, "out of memory");
        goto out;
    }
    if (req.old_size != s.cosigned_size) {
        /* Stale (the site lost track) or, with the same size and another
         * root, a fork; either way the site retries from our size. */
        answer_size(a, s.cosigned_size);
        goto refused;
    }
    if (found && cp.size == s.cosigned_size &&
        memcmp(cp.root.b, s.root.b, TG_AUDIT_HASH_LEN) != 0) {
        tg_error(
            "witness: FORK, a signed checkpoint with another root at a cosigned size",
            "site=%s size=%llu", site, (unsigned long long)cp.size);
        record_fork(&s, site_note.p, cp.size, now_ns);
        answer_size(a, s.cosigned_size);
        goto refused;
    }
    if (found && s.cosigned_size > 0 &&
        tg_audit_merkle_verify_consistency(s.cosigned_size, &s.root, cp.size, &cp.root,
                                           req.proof, req.nproof) != 0) {
        /* The site signed a tree that does not extend the one we cosigned:
         * only a rewritten history can do that. */
        tg_error("witness: FORK, a signed checkpoint inconsistent with the cosigned one",
                 "site=%s from=%llu to=%llu", site, (unsigned long long)s.cosigned_size,
                 (unsigned long long)cp.size);
        record_fork(&s, site_note.p, cp.size, now_ns);
        answer(a, 422, "the consistency proof does not verify");
        goto refused;
    }
    if ((!found || s.cosigned_size == 0) && req.nproof != 0) {
        answer(a, 422, "a consistency proof from the empty tree must be empty");
        goto refused;
    }
    if (tg_audit_cosign(&w->key, note.text, note.text_len, now_ns / 1000000000ull,
                        &cosig) != 0 ||
        cosig.oom) {
        answer(a, 503, "cannot cosign");
        goto out;
    }
    free(s.checkpoint);
    s.checkpoint = malloc(site_note.len + cosig.len + 1);
    if (!s.checkpoint) {
        answer(a, 503, "out of memory");
        goto out;
    }
    memcpy(s.checkpoint, site_note.p, site_note.len);
    memcpy(s.checkpoint + site_note.len, cosig.p, cosig.len);
    s.checkpoint[site_note.len + cosig.len] = '\0';
    s.cosigned_size = cp.size;
    s.log_size = cp.size;
    s.root = cp.root;
    s.cosigned_ns = now_ns;
    s.submissions++;
    if (state_put(w, txn, site, &s) != 0 || mdb_txn_commit(txn) != 0) {
        txn = NULL;
        answer(a, 503, "witness store unavailable");
        goto out;
    }
    txn = NULL;
    /* Durable: now the cosignature may leave. */
    a->status = 200;
    a->content_type = "text/plain; charset=utf-8";
    tg_strbuf_put(&a->body, cosig.p, cosig.len);
    goto out;
refused:
    s.refused++;
    if (cp.size > s.log_size && a->status != 403)
        s.log_size = cp.size;
    if (found || dirty || (s.flags & FLAG_FORK)) {
        if (state_put(w, txn, site, &s) == 0 && mdb_txn_commit(txn) == 0) {
            txn = NULL;
        }
    }
out:
    if (txn)
        mdb_txn_abort(txn);
    wstate_free(&s);
    free(site_note.p);
    free(cosig.p);
}

/* ---- inclusion --------------------------------------------------------------- */

/* The sequence of "<site>/<epoch hex>/<seq>" when it names `site`. */
static int batch_seq(const char *id, const char *site, uint64_t *seq)
{
    size_t sl = strlen(site);
    const char *p;

    if (!id || strncmp(id, site, sl) != 0 || id[sl] != '/')
        return -1;
    p = strrchr(id + sl + 1, '/');
    if (!p)
        return -1;
    return parse_u63(p + 1, strlen(p + 1), seq);
}

static void leaf_key(uint8_t *k, const char *site, uint64_t seq)
{
    size_t n = strlen(site);

    memcpy(k, site, n);
    k[n] = 0;
    tg_be64_put(k + n + 1, seq);
}

void tg_witness_inclusion(tg_witness *w, const char *site, const char *body, size_t len,
                          uint64_t now_ns, tg_witness_answer *a)
{
    const char *line;
    size_t off = 0, ll, leaves = 0;
    uint64_t size;
    MDB_txn *txn = NULL;
    wstate s;
    int rc;

    memset(a, 0, sizeof(*a));
    memset(&s, 0, sizeof(s));
    if (!w->have_dbs) {
        answer(a, 503, "the witness is not available");
        return;
    }
    if (!next_line(body, len, &off, &line, &ll) || ll < 6 ||
        memcmp(line, "size ", 5) != 0 || parse_u63(line + 5, ll - 5, &size) != 0) {
        answer(a, 400, "malformed inclusion request");
        return;
    }
    rc = state_begin(w, site, &txn, &s, a);
    if (rc != 0 && rc != TG_ENOT_FOUND)
        goto out;
    if (rc == TG_ENOT_FOUND || size != s.cosigned_size) {
        answer_size(a, s.cosigned_size);
        goto out;
    }
    while (off < len) {
        tg_audit_hash proof[TG_AUDIT_PROOF_MAX], lh;
        size_t np = 0, dlen;
        uint64_t index, seq;
        const char *sp;
        uint8_t *data;
        long dn;
        Tollgate__V1__EgressRecord *r;

        if (!next_line(body, len, &off, &line, &ll) || ll < 7 ||
            memcmp(line, "leaf ", 5) != 0 || !(sp = memchr(line + 5, ' ', ll - 5)) ||
            parse_u63(line + 5, (size_t)(sp - line - 5), &index) != 0 || index >= size ||
            ++leaves > INCLUSION_MAX_LEAVES) {
            answer(a, 400, "malformed inclusion request");
            goto out;
        }
        dlen = ll - (size_t)(sp + 1 - line);
        data = malloc(tg_base64_decoded_max(dlen) + 1);
        if (!data) {
            answer(a, 503, "out of memory");
            goto out;
        }
        dn = tg_base64_decode(sp + 1, dlen, data, tg_base64_decoded_max(dlen) + 1);
        while (dn >= 0 && off < len &&
               !(len - off >= 5 && memcmp(body + off, "leaf ", 5) == 0)) {
            size_t o2 = off;
            if (!next_line(body, len, &o2, &line, &ll) || np == TG_AUDIT_PROOF_MAX ||
                parse_hash(line, ll, &proof[np]) != 0) {
                dn = -1;
                break;
            }
            np++;
            off = o2;
        }
        if (dn < 0) {
            free(data);
            answer(a, 400, "malformed inclusion request");
            goto out;
        }
        tg_audit_leaf_hash(data, (size_t)dn, &lh);
        if (tg_audit_merkle_verify_inclusion(&lh, index, size, proof, np, &s.root) != 0) {
            free(data);
            answer(a, 422, "an inclusion proof does not verify");
            goto out;
        }
        r = tollgate__v1__egress_record__unpack(NULL, (size_t)dn, data);
        free(data);
        if (!r) {
            answer(a, 422, "a leaf is not an egress record");
            goto out;
        }
        if (r->event && strcmp(r->event, "egress") == 0 &&
            batch_seq(r->batch_id, site, &seq) == 0) {
            uint8_t k[64 + 9], v[16];
            MDB_val kv = {strlen(site) + 9, k}, vv = {16, v};
            leaf_key(k, site, seq);
            tg_be64_put(v, index);
            tg_be64_put(v + 8, now_ns);
            if (mdb_put(txn, w->db_leaves, &kv, &vv, 0) != 0) {
                tollgate__v1__egress_record__free_unpacked(r, NULL);
                answer(a, 503, "witness store unavailable");
                goto out;
            }
        }
        tollgate__v1__egress_record__free_unpacked(r, NULL);
    }
    if (mdb_txn_commit(txn) != 0) {
        txn = NULL;
        answer(a, 503, "witness store unavailable");
        goto out;
    }
    txn = NULL;
    answer(a, 200, "ok");
out:
    if (txn)
        mdb_txn_abort(txn);
    wstate_free(&s);
}

/* ---- status ------------------------------------------------------------------- */

typedef struct site_counts {
    uint64_t leaves, without_leaf, gap, min_seq;
    int any_batch;
} site_counts;

/* Counts, for `site`, batches held past the grace period without a proved
 * leaf, leaves proved, and leaves for batches not held (above the oldest
 * batch held, so retention's evictions are not gaps). */
static void count_site(tg_witness *w, MDB_txn *txn, const char *site, uint64_t now_ns,
                       site_counts *c)
{
    size_t sl = strlen(site);
    uint8_t k0[64 + 9];
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    memset(c, 0, sizeof(*c));
    leaf_key(k0, site, 0);
    if (mdb_cursor_open(txn, w->db_batches, &cur) == 0) {
        k.mv_size = sl + 9;
        k.mv_data = k0;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            const uint8_t *kp = k.mv_data;
            Tollgate__V1__CentralBatchHeader *h;
            uint64_t seq, recv = 0;
            uint32_t hl;
            MDB_val lk = {sl + 9, (void *)kp}, lv;
            if (k.mv_size != sl + 9 || memcmp(kp, site, sl) != 0 || kp[sl] != 0)
                break;
            seq = tg_be64_get(kp + sl + 1);
            if (!c->any_batch) {
                c->min_seq = seq;
                c->any_batch = 1;
            }
            if (mdb_get(txn, w->db_leaves, &lk, &lv) == 0)
                continue;
            if (v.mv_size >= 4 && (hl = tg_be32_get(v.mv_data)) <= v.mv_size - 4 &&
                (h = tollgate__v1__central_batch_header__unpack(
                     NULL, hl, (const uint8_t *)v.mv_data + 4))) {
                recv = h->received_unix_nano;
                tollgate__v1__central_batch_header__free_unpacked(h, NULL);
            }
            if (recv + w->grace_ns < now_ns)
                c->without_leaf++;
        }
        mdb_cursor_close(cur);
    }
    if (mdb_cursor_open(txn, w->db_leaves, &cur) == 0) {
        k.mv_size = sl + 9;
        k.mv_data = k0;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            const uint8_t *kp = k.mv_data;
            MDB_val bk = {sl + 9, (void *)kp}, bv;
            if (k.mv_size != sl + 9 || memcmp(kp, site, sl) != 0 || kp[sl] != 0)
                break;
            c->leaves++;
            if (v.mv_size == 16 &&
                tg_be64_get((const uint8_t *)v.mv_data + 8) + w->grace_ns < now_ns &&
                (!c->any_batch || tg_be64_get(kp + sl + 1) >= c->min_seq) &&
                mdb_get(txn, w->db_batches, &bk, &bv) == MDB_NOTFOUND)
                c->gap++;
        }
        mdb_cursor_close(cur);
    }
}

int tg_witness_status_foreach(tg_witness *w, uint64_t now_ns, tg_witness_status_cb cb,
                              void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc, out = 0;

    if (!w->have_dbs)
        return 0;
    if (mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn) != 0)
        return TG_ESTORE;
    if (mdb_cursor_open(txn, w->db_state, &cur) != 0) {
        mdb_txn_abort(txn);
        return TG_ESTORE;
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && out == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        tg_witness_status st;
        site_counts c;
        wstate s;
        if (k.mv_size == 0 || k.mv_size >= sizeof(st.site) ||
            decode_state(v.mv_data, v.mv_size, &s) != 0)
            continue;
        memset(&st, 0, sizeof(st));
        memcpy(st.site, k.mv_data, k.mv_size);
        count_site(w, txn, st.site, now_ns, &c);
        st.log_size = s.log_size;
        st.cosigned_size = s.cosigned_size;
        st.cosigned_root = s.root;
        st.cosigned_ns = s.cosigned_ns;
        st.submissions = s.submissions;
        st.refused = s.refused;
        st.fork = !!(s.flags & FLAG_FORK);
        st.fork_ns = s.fork_ns;
        st.fork_size = s.fork_size;
        st.key_changed = !!(s.flags & FLAG_KEY_CHANGED);
        st.leaves = c.leaves;
        st.batches_without_leaf = c.without_leaf;
        st.gap = c.gap;
        snprintf(st.vkey, sizeof(st.vkey), "%s", s.vkey ? s.vkey : "");
        st.checkpoint = s.checkpoint;
        st.fork_checkpoint = s.fork_cp;
        out = cb(ctx, &st);
        wstate_free(&s);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return out;
}

int tg_witness_retain(tg_witness *w)
{
    MDB_txn *txn;
    MDB_cursor *sc = NULL, *lc = NULL, *bc = NULL;
    MDB_val k, v;
    int rc;

    if (!w->have_dbs || !w->has_key)
        return 0;
    if (mdb_txn_begin(w->env, NULL, 0, &txn) != 0)
        return TG_ESTORE;
    if (mdb_cursor_open(txn, w->db_state, &sc) ||
        mdb_cursor_open(txn, w->db_leaves, &lc) ||
        mdb_cursor_open(txn, w->db_batches, &bc)) {
        mdb_txn_abort(txn);
        return TG_ESTORE;
    }
    for (rc = mdb_cursor_get(sc, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(sc, &k, &v, MDB_NEXT)) {
        char site[64];
        uint8_t k0[64 + 9];
        size_t sl = k.mv_size;
        uint64_t oldest;
        MDB_val bk, bv, lk, lv;
        int r2;

        if (sl == 0 || sl >= sizeof(site))
            continue;
        memcpy(site, k.mv_data, sl);
        site[sl] = '\0';
        leaf_key(k0, site, 0);
        bk.mv_size = sl + 9;
        bk.mv_data = k0;
        if (mdb_cursor_get(bc, &bk, &bv, MDB_SET_RANGE) != 0 || bk.mv_size != sl + 9 ||
            memcmp(bk.mv_data, site, sl) != 0)
            continue; /* no batch held: keep every leaf */
        oldest = tg_be64_get((const uint8_t *)bk.mv_data + sl + 1);
        lk.mv_size = sl + 9;
        lk.mv_data = k0;
        for (r2 = mdb_cursor_get(lc, &lk, &lv, MDB_SET_RANGE); r2 == 0;
             r2 = mdb_cursor_get(lc, &lk, &lv, MDB_NEXT)) {
            const uint8_t *kp = lk.mv_data;
            if (lk.mv_size != sl + 9 || memcmp(kp, site, sl) != 0 ||
                tg_be64_get(kp + sl + 1) >= oldest)
                break;
            if (mdb_cursor_del(lc, 0) != 0)
                break;
        }
    }
    mdb_cursor_close(sc);
    mdb_cursor_close(lc);
    mdb_cursor_close(bc);
    return mdb_txn_commit(txn) ? TG_ESTORE : 0;
}

static void json_str(tg_strbuf *b, const char *s)
{
    tg_strbuf_putc(b, '"');
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            tg_strbuf_printf(b, "\\%c", ch);
        else if (ch == '\n')
            tg_strbuf_put(b, "\\n", 2);
        else if (ch < 0x20)
            tg_strbuf_printf(b, "\\u%04x", ch);
        else
            tg_strbuf_putc(b, (char)ch);
    }
    tg_strbuf_putc(b, '"');
}

typedef struct json_ctx {
    tg_strbuf *b;
    uint64_t now_ns;
    int n;
} json_ctx;

static int site_json(void *ctx, const tg_witness_status *s)
{
    json_ctx *j = ctx;
    tg_strbuf *b = j->b;
    char root[48];

    tg_base64_encode(s->cosigned_root.b, TG_AUDIT_HASH_LEN, root);
    tg_strbuf_printf(b, "%s{\"site\":", j->n++ ? "," : "");
    json_str(b, s->site);
    tg_strbuf_printf(
        b,
        ",\"log_size\":%llu,\"cosigned_size\":%llu,\"cosigned_root\":\"%s\","
        "\"cosigned_unix_nano\":%llu,\"cosigned_age_seconds\":%.3f,"
        "\"fork\":%s,\"fork_size\":%llu,\"fork_unix_nano\":%llu,"
        "\"key_changed\":%s,\"leaves\":%llu,\"batches_without_leaf\":%llu,"
        "\"gap\":%llu,\"submissions\":%llu,\"refused\":%llu,\"vkey\":",
        (unsigned long long)s->log_size, (unsigned long long)s->cosigned_size,
        s->cosigned_ns ? root : "", (unsigned long long)s->cosigned_ns,
        s->cosigned_ns && j->now_ns > s->cosigned_ns
            ? (double)(j->now_ns - s->cosigned_ns) / 1e9
            : (s->cosigned_ns ? 0.0 : -1.0),
        s->fork ? "true" : "false", (unsigned long long)s->fork_size,
        (unsigned long long)s->fork_ns, s->key_changed ? "true" : "false",
        (unsigned long long)s->leaves, (unsigned long long)s->batches_without_leaf,
        (unsigned long long)s->gap, (unsigned long long)s->submissions,
        (unsigned long long)s->refused);
    json_str(b, s->vkey);
    tg_strbuf_put(b, ",\"checkpoint\":", 14);
    json_str(b, s->checkpoint ? s->checkpoint : "");
    tg_strbuf_put(b, ",\"fork_checkpoint\":", 19);
    json_str(b, s->fork_checkpoint ? s->fork_checkpoint : "");
    tg_strbuf_putc(b, '}');
    return 0;
}

char *tg_witness_status_json(tg_witness *w, uint64_t now_ns)
{
    tg_strbuf b = {0};
    json_ctx j = {&b, now_ns, 0};

    tg_strbuf_put(&b, "{\"witness_key\":", 15);
    json_str(&b, w->vkey);
    tg_strbuf_printf(&b, ",\"now_unix_nano\":%llu,\"sites\":[",
                     (unsigned long long)now_ns);
    if (tg_witness_status_foreach(w, now_ns, site_json, &j) != 0 || b.oom) {
        free(b.p);
        return NULL;
    }
    tg_strbuf_put(&b, "]}\n", 3);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

typedef struct metrics_ctx {
    tg_witness_status *v;
    size_t n, cap;
} metrics_ctx;

static const struct {
    const char *name, *help;
} gauges[] = {
    {"tollgate_witness_log_size", "Newest tree size the site presented to the witness."},
    {"tollgate_witness_cosigned_size", "Tree size of the newest cosigned checkpoint."},
    {"tollgate_witness_cosigned_age_seconds",
     "Age of the newest cosigned checkpoint (-1: never)."},
    {"tollgate_witness_fork",
     "1 if the site signed a checkpoint inconsistent with one the "
     "witness cosigned."},
    {"tollgate_witness_key_changed", "1 if the site presented another log key."},
    {"tollgate_witness_leaves", "Batches proved included in the site's log."},
    {"tollgate_witness_batches_without_leaf",
     "Batches held past the grace period with no leaf in a cosigned checkpoint."},
    {"tollgate_witness_gap", "Leaves proved for batches the centre does not hold."},
    {"tollgate_witness_refused",
     "add-checkpoint requests refused (stale, fork, bad proof "
     "or signature)."},
};

/* Keeps the figures (not the notes) of every site: one pass over the store
 * per scrape. */
static int collect(void *ctx, const tg_witness_status *s)
{
    metrics_ctx *m = ctx;

    if (m->n == m->cap) {
        size_t nc = m->cap ? 2 * m->cap : 16;
        tg_witness_status *nv = realloc(m->v, nc * sizeof(*nv));
        if (!nv)
            return TG_ENOMEM;
        m->v = nv;
        m->cap = nc;
    }
    m->v[m->n] = *s;
    m->v[m->n].checkpoint = NULL;
    m->v[m->n].fork_checkpoint = NULL;
    m->n++;
    return 0;
}

void tg_witness_metrics(tg_witness *w, uint64_t now_ns, tg_strbuf *b)
{
    metrics_ctx m = {NULL, 0, 0};

    tg_witness_status_foreach(w, now_ns, collect, &m);
    for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++) {
        tg_strbuf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", gauges[i].name,
                         gauges[i].help, gauges[i].name);
        for (size_t j = 0; j < m.n; j++) {
            const tg_witness_status *s = &m.v[j];
            double v[] = {
                (double)s->log_size,
                (double)s->cosigned_size,
                s->cosigned_ns
                    ? (double)(now_ns > s->cosigned_ns ? now_ns - s->cosigned_ns : 0) /
                          1e9
                    : -1.0,
                s->fork,
                s->key_changed,
                (double)s->leaves,
                (double)s->batches_without_leaf,
                (double)s->gap,
                (double)s->refused};
            tg_strbuf_printf(b, "%s{site=\"", gauges[i].name);
            tg_strbuf_label(b, s->site);
            tg_strbuf_printf(b, "\"} %.6g\n", v[i]);
        }
    }
    free(m.v);
}
