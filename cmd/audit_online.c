/* `tollgate audit verify --endpoint URL --token-file F`: online, against a
 * running site or centre.
 *
 * A site (it answers GET /api/v1/audit/checkpoint): its newest checkpoint
 * must verify with the site's key (--key), and with --witness-key carry the
 * witness's cosignature; every entry bundle and level-0 hash tile of the
 * log is fetched, the leaves rehashed and compared with the served hashes,
 * and the tree recomputed must have the checkpoint's root. Then every
 * older checkpoint the site serves (GET /api/v1/audit/checkpoints) must
 * verify (a cosignature on it too, with --witness-key), be consistent with
 * the one before it, and have the recomputed tree's root at its size: a
 * site that signed two histories is named at the first checkpoint of the
 * other one.
 *
 * A centre (GET /api/v1/witness/status, a compliance or sre user's
 * token): every site's cosigned checkpoint must carry the site's signature
 * (the key the witness pinned, or --key for its site) and a valid
 * cosignature by --witness-key; a fork, a changed key, a gap or a batch
 * without a leaf the witness records is named. */
#include "audit_witness.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query_http.h"
#include "tg_audit_checkpoint.h"
#include "tg_audit_merkle.h"
#include "tg_audit_proof.h"
#include "tg_codec.h"
#include "tg_err.h"

#define MAX_ANSWER (64u << 20)

typedef struct online {
    const char *endpoint, *token, *ca_file;
} online;

static long get(const online *o, const char *path, const char *accept,
                tg_query_http_answer *a)
{
    char url[4096];
    tg_query_http_req r;

    snprintf(url, sizeof(url), "%s%s", o->endpoint, path);
    memset(&r, 0, sizeof(r));
    r.url = url;
    r.accept = accept;
    r.token = o->token;
    r.ca_file = o->ca_file;
    r.timeout_ms = 30000;
    r.max_body = MAX_ANSWER;
    if (tg_query_http_get(&r, a) != 0)
        return 0;
    return a->status;
}

/* The hash as a note writes it, for messages. */
static void b64_hash(const tg_audit_hash *h, char out[48])
{
    tg_base64_encode(h->b, TG_AUDIT_HASH_LEN, out);
}

/* One served checkpoint of the history against the recomputed tree and the
 * one before it (prev, NULL for the first); cp->size holds the size it was
 * served under and gets the checkpoint. 0, or 1 with `what` naming it. */
static int check_one(const tg_audit_verifier *vs, size_t nv, tg_audit_reader *rd,
                     const tg_audit_checkpoint *newest, const char *text, size_t len,
                     const tg_audit_checkpoint *prev, tg_audit_checkpoint *cp,
                     int *cosigned, char *what, size_t whatlen)
{
    tg_audit_hash proof[TG_AUDIT_PROOF_MAX], root;
    tg_audit_note n;
    char a[48], b[48];
    size_t np = 0;
    uint64_t served = cp->size; /* the size the site listed it under (in: cp->size) */

    *cosigned = 0;
    if (tg_audit_checkpoint_open(text, len, vs, nv, cp, &n) != 0) {
        snprintf(what, whatlen,
                 "signature invalid: the site's checkpoint of size %llu (as served) does "
                 "not verify",
                 (unsigned long long)served);
        return 1;
    }
    *cosigned |= tg_audit_note_signed_by(&n, 1);
    if (strcmp(cp->origin, newest->origin) != 0) {
        snprintf(what, whatlen, "the checkpoint of size %llu names another log (%s)",
                 (unsigned long long)cp->size, cp->origin);
        return 1;
    }
    /* Consistency with the one before: a proof from the served leaves must
     * link the two signed roots, or the site signed two histories. */
    if (prev && (tg_audit_merkle_consistency(rd, prev->size, cp->size, proof, &np) != 0 ||
                 tg_audit_merkle_verify_consistency(prev->size, &prev->root, cp->size,
                                                    &cp->root, proof, np) != 0)) {
        b64_hash(&cp->root, a);
        snprintf(what, whatlen,
                 "fork: the checkpoint of size %llu (root %s) is not consistent with the "
                 "checkpoint of size %llu before it",
                 (unsigned long long)cp->size, a, (unsigned long long)prev->size);
        return 1;
    }
    if (tg_audit_merkle_root(rd, cp->size, &root) != 0 ||
        memcmp(root.b, cp->root.b, TG_AUDIT_HASH_LEN) != 0) {
        b64_hash(&cp->root, a);
        b64_hash(&root, b);
        snprintf(what, whatlen,
                 "fork: the checkpoint of size %llu has root %s, the served leaves hash "
                 "to %s at that size",
                 (unsigned long long)cp->size, a, b);
        return 1;
    }
    return 0;
}

/* Every checkpoint the site serves (GET /api/v1/audit/checkpoints, page
 * by page) up to the newest one verified: its signature, and consistency
 * with the one before it and with the recomputed tree. */
static int verify_history(const online *o, const tg_audit_verifier *vs, size_t nv,
                          tg_audit_memtree *tree, const tg_audit_checkpoint *newest,
                          json_t *out, char *what, size_t whatlen)
{
    tg_audit_reader rd = tg_audit_memtree_reader(tree);
    tg_audit_checkpoint prev;
    uint64_t from = 1, checked = 0, cosigned = 0;
    int have_prev = 0;

    memset(&prev, 0, sizeof(prev));
    for (;;) {
        tg_query_http_answer a;
        char path[96];
        json_t *doc, *arr, *e, *next;
        size_t i;
        long st;
        int rc = 0, done = 0;

        snprintf(path, sizeof(path), "/api/v1/audit/checkpoints?from=%llu",
                 (unsigned long long)from);
        if ((st = get(o, path, "application/json", &a)) != 200) {
            snprintf(what, whatlen, "the site does not serve its checkpoints (HTTP %ld)",
                     st);
            free(a.body);
            return 2;
        }
        doc = json_loadb(a.body ? a.body : "", a.len, 0, NULL);
        free(a.body);
        arr = json_object_get(doc, "checkpoints");
        if (!json_is_array(arr)) {
            snprintf(what, whatlen, "the site's checkpoints are not what was expected");
            json_decref(doc);
            return 2;
        }
        json_array_foreach(arr, i, e)
        {
            const char *t = json_string_value(json_object_get(e, "checkpoint"));
            json_int_t size = json_integer_value(json_object_get(e, "size"));
            tg_audit_checkpoint cp;
            int cs = 0;

            if ((uint64_t)size > newest->size) {
                done = 1; /* signed after the newest was read: its leaves were not */
                break;
            }
            memset(&cp, 0, sizeof(cp));
            cp.size = (uint64_t)size;
            if (!t || (rc = check_one(
                           vs, nv, &rd, newest, t,
                           json_string_length(json_object_get(e, "checkpoint")),
                           have_prev ? &prev : NULL, &cp, &cs, what, whatlen)) != 0) {
                if (!t) {
                    snprintf(what, whatlen,
                             "the site's checkpoints are not what was expected");
                    rc = 2;
                }
                break;
            }
            if (cp.size != (uint64_t)size || (have_prev && cp.size <= prev.size)) {
                snprintf(what, whatlen,
                         "the checkpoint served as size %lld is of size %llu",
                         (long long)size, (unsigned long long)cp.size);
                rc = 1;
                break;
            }
            prev = cp;
            have_prev = 1;
            checked++;
            cosigned += cs != 0;
        }
        next = json_object_get(doc, "next");
        if (rc == 0 && !done && json_is_integer(next) &&
            (uint64_t)json_integer_value(next) > from)
            from = (uint64_t)json_integer_value(next);
        else
            done = 1;
        json_decref(doc);
        if (rc)
            return rc;
        if (done)
            break;
    }
    json_object_set_new(out, "checkpoints", json_integer((json_int_t)checked));
    json_object_set_new(out, "checkpoints_cosigned", json_integer((json_int_t)cosigned));
    /* the newest checkpoint is among them: a site that serves none is
     * hiding its history */
    if (!have_prev || prev.size != newest->size) {
        snprintf(what, whatlen,
                 "the site does not serve its checkpoint of size %llu among its "
                 "checkpoints",
                 (unsigned long long)newest->size);
        return 1;
    }
    return 0;
}

static int verify_site(const online *o, const tg_audit_verifier *vs, size_t nv,
                       const char *cp_text, size_t cp_len, json_t *out, char *what,
                       size_t whatlen)
{
    tg_audit_checkpoint cp;
    tg_audit_note n;
    tg_audit_memtree tree;
    tg_audit_reader rd;
    tg_audit_hash root;
    int cosigned = 0, rc = 1;

    memset(&tree, 0, sizeof(tree));
    if (tg_audit_checkpoint_open(cp_text, cp_len, vs, nv, &cp, &n) != 0) {
        snprintf(what, whatlen,
                 "signature invalid: the site's checkpoint does not verify");
        return 1;
    }
    cosigned |= tg_audit_note_signed_by(&n, 1);
    if (nv == 2 && !cosigned) {
        snprintf(what, whatlen,
                 "signature invalid: the checkpoint of size %llu has no cosignature by "
                 "the witness",
                 (unsigned long long)cp.size);
        return 1;
    }
    json_object_set_new(out, "origin", json_string(cp.origin));
    json_object_set_new(out, "size", json_integer((json_int_t)cp.size));
    json_object_set_new(out, "cosigned", json_boolean(cosigned));
    for (uint64_t t = 0; t * TG_AUDIT_TILE_WIDTH < cp.size; t++) {
        tg_audit_tile tile;
        tg_query_http_answer ea, ha;
        char p[TG_AUDIT_TILE_PATH_MAX], path[128];
        size_t off = 0;
        uint64_t first = tree.size;
        const uint8_t *e;
        size_t elen;
        int more;

        if (tg_audit_tile_for_size(cp.size, 0, t, &tile) != 0 ||
            tg_audit_tile_path(&tile, 1, p, sizeof(p)) != 0)
            goto out;
        snprintf(path, sizeof(path), "/api/v1/audit/%s", p);
        if (get(o, path, "application/octet-stream", &ea) != 200) {
            snprintf(what, whatlen, "the site does not serve %s (HTTP %ld)", p,
                     ea.status);
            free(ea.body);
            rc = 2;
            goto out;
        }
        while ((more = tg_audit_bundle_next((const uint8_t *)ea.body, ea.len, &off, &e,
                                            &elen)) == 1) {
            tg_audit_hash h;
            tg_audit_leaf_hash(e, elen, &h);
            if (tg_audit_memtree_append(&tree, &h, 1) != 0) {
                more = -1;
                break;
            }
        }
        free(ea.body);
        if (more != 0 || tree.size - first != tile.width) {
            snprintf(
                what, whatlen,
                "the served entry bundle %s does not hold %u entries (leaf removed or "
                "inserted)",
                p, tile.width);
            goto out;
        }
        tg_audit_tile_path(&tile, 0, p, sizeof(p));
        snprintf(path, sizeof(path), "/api/v1/audit/%s", p);
        if (get(o, path, "application/octet-stream", &ha) != 200 ||
            ha.len != (size_t)tile.width * TG_AUDIT_HASH_LEN) {
            snprintf(what, whatlen, "the site does not serve %s whole (HTTP %ld)", p,
                     ha.status);
            free(ha.body);
            rc = 2;
            goto out;
        }
        for (unsigned i = 0; i < tile.width; i++) {
            if (memcmp(ha.body + (size_t)i * TG_AUDIT_HASH_LEN,
                       tree.levels[0][first + i].b, TG_AUDIT_HASH_LEN) != 0) {
                snprintf(what, whatlen,
                         "leaf %llu changed: its entry does not hash to the log's node",
                         (unsigned long long)(first + i));
                free(ha.body);
                goto out;
            }
        }
        free(ha.body);
    }
    rd = tg_audit_memtree_reader(&tree);
    if (tg_audit_merkle_root(&rd, cp.size, &root) != 0 ||
        memcmp(root.b, cp.root.b, TG_AUDIT_HASH_LEN) != 0) {
        snprintf(
            what, whatlen,
            "the served leaves do not hash to the signed checkpoint's root (size %llu)",
            (unsigned long long)cp.size);
        goto out;
    }
    if ((rc = verify_history(o, vs, nv, &tree, &cp, out, what, whatlen)) != 0)
        goto out;
    what[0] = '\0';
out:
    tg_audit_memtree_free(&tree);
    return rc;
}

static int verify_centre(const char *body, size_t len, const tg_audit_verifier *site_key,
                         const tg_audit_verifier *wkey, json_t *out, char *what,
                         size_t whatlen)
{
    json_t *doc = json_loadb(body, len, 0, NULL), *sites, *s, *arr = json_array();
    size_t i;
    int rc = 0;

    sites = json_object_get(doc, "sites");
    if (!json_is_array(sites)) {
        snprintf(what, whatlen, "the centre's witness status is not what was expected");
        json_decref(doc);
        json_decref(arr);
        return 2;
    }
    json_array_foreach(sites, i, s)
    {
        const char *name = json_string_value(json_object_get(s, "site"));
        const char *cpt = json_string_value(json_object_get(s, "checkpoint"));
        const char *vk = json_string_value(json_object_get(s, "vkey"));
        tg_audit_verifier vs[2];
        tg_audit_checkpoint cp;
        tg_audit_note n;
        int cosigned = 0;

        if (!name)
            continue;
        json_array_append_new(arr,
                              json_pack("{s:s,s:O,s:O}", "site", name, "cosigned_size",
                                        json_object_get(s, "cosigned_size"), "fork",
                                        json_object_get(s, "fork")));
        if (rc)
            continue;
        if (json_is_true(json_object_get(s, "fork"))) {
            snprintf(what, whatlen,
                     "fork between site %s and witness: the site signed a checkpoint of "
                     "size %lld inconsistent with the one the witness cosigned",
                     name,
                     (long long)json_integer_value(json_object_get(s, "fork_size")));
            rc = 1;
            continue;
        }
        if (json_is_true(json_object_get(s, "key_changed"))) {
            snprintf(what, whatlen, "site %s presented another log key to the witness",
                     name);
            rc = 1;
            continue;
        }
        if (json_integer_value(json_object_get(s, "batches_without_leaf")) > 0 ||
            json_integer_value(json_object_get(s, "gap")) > 0) {
            snprintf(
                what, whatlen,
                "site %s: %lld batch(es) without a leaf, %lld logged batch(es) never "
                "received",
                name,
                (long long)json_integer_value(json_object_get(s, "batches_without_leaf")),
                (long long)json_integer_value(json_object_get(s, "gap")));
            rc = 1;
            continue;
        }
        if (!cpt || !cpt[0])
            continue; /* nothing cosigned yet */
        if (site_key && strncmp(site_key->name, "tollgate.site/", 14) == 0 &&
            strcmp(site_key->name + 14, name) == 0)
            vs[0] = *site_key;
        else if (!vk || tg_audit_verifier_parse(vk, strlen(vk), &vs[0]) != 0) {
            snprintf(what, whatlen, "site %s: the witness holds no usable key", name);
            rc = 1;
            continue;
        }
        vs[1] = *wkey;
        if (tg_audit_checkpoint_open(cpt, strlen(cpt), vs, 2, &cp, &n) != 0) {
            snprintf(what, whatlen,
                     "signature invalid: site %s's cosigned checkpoint does not verify",
                     name);
            rc = 1;
            continue;
        }
        cosigned |= tg_audit_note_signed_by(&n, 1);
        if (!cosigned) {
            snprintf(what, whatlen,
                     "signature invalid: site %s's checkpoint carries no valid "
                     "cosignature by the witness key",
                     name);
            rc = 1;
        }
    }
    json_object_set_new(out, "sites", arr);
    json_decref(doc);
    if (rc == 0)
        what[0] = '\0';
    return rc;
}

int tg_audit_online_verify(const char *endpoint, const char *token, const char *ca_file,
                           const tg_audit_verifier *site_key,
                           const tg_audit_verifier *witness_key, json_t *out, char *what,
                           size_t whatlen)
{
    online o = {endpoint, token, ca_file};
    tg_query_http_answer a;
    long st;
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    st = get(&o, "/api/v1/audit/checkpoint", "text/plain", &a);
    if (st == 200) {
        tg_audit_verifier vs[2];
        if (!site_key) {
            free(a.body);
            snprintf(what, whatlen, "a site's log needs its key (--key VKEY)");
            return 2;
        }
        vs[0] = *site_key;
        if (witness_key)
            vs[1] = *witness_key;
        json_object_set_new(out, "endpoint", json_string("site"));
        rc = verify_site(&o, vs, witness_key ? 2 : 1, a.body ? a.body : "", a.len, out,
                         what, whatlen);
        free(a.body);
        return rc;
    }
    free(a.body);
    st = get(&o, "/api/v1/witness/status", NULL, &a);
    if (st != 200) {
        snprintf(what, whatlen,
                 "%s answers neither a site's checkpoint nor the witness's status (HTTP "
                 "%ld)",
                 endpoint, st);
        free(a.body);
        return 2;
    }
    if (!witness_key) {
        free(a.body);
        snprintf(what, whatlen,
                 "a centre's cosignatures need its key (--witness-key VKEY)");
        return 2;
    }
    json_object_set_new(out, "endpoint", json_string("centre"));
    rc = verify_centre(a.body ? a.body : "", a.len, site_key, witness_key, out, what,
                       whatlen);
    free(a.body);
    return rc;
}

/* The proof's leaf (its extra data, base64) checked against the proof with
 * the site's key; cp gets the proof's checkpoint. 0 or a TG_E code. */
static int check_proof(const char *buf, size_t len, const tg_audit_verifier *key,
                       tg_audit_checkpoint *cp)
{
    tg_audit_proof p;
    uint8_t *leaf;
    long dn;
    int rc;

    if ((rc = tg_audit_proof_parse(buf, len, &p)) != 0)
        return rc;
    if (!p.extra || !(leaf = malloc(p.extra_len + 1)))
        return p.extra ? TG_ENOMEM : TG_EPARSE;
    dn = tg_base64_decode(p.extra, p.extra_len, leaf, p.extra_len + 1);
    rc = dn < 0
             ? TG_EPARSE
             : tg_audit_proof_verify(buf, len, leaf, (size_t)dn, NULL, key, 1, cp, NULL);
    free(leaf);
    return rc;
}

/* The site's consistency proof from `held` to `cp` (GET
 * /api/v1/audit/consistency) must link their signed roots. */
static int check_since(const online *o, const tg_audit_checkpoint *held,
                       const tg_audit_checkpoint *cp, char *what, size_t whatlen)
{
    tg_audit_hash proof[TG_AUDIT_PROOF_MAX];
    tg_query_http_answer a;
    char path[128];
    size_t n = 0, off = 0;
    long st;
    int ok;

    if (held->size > cp->size) {
        snprintf(what, whatlen,
                 "the site's newest checkpoint (size %llu) is older than the one held "
                 "(size %llu): the log was rolled back",
                 (unsigned long long)cp->size, (unsigned long long)held->size);
        return 1;
    }
    if (held->size == cp->size) {
        ok = memcmp(held->root.b, cp->root.b, TG_AUDIT_HASH_LEN) == 0;
    } else {
        snprintf(path, sizeof(path), "/api/v1/audit/consistency?old=%llu&size=%llu",
                 (unsigned long long)held->size, (unsigned long long)cp->size);
        if ((st = get(o, path, "text/plain", &a)) != 200) {
            snprintf(what, whatlen, "the site serves no consistency proof (HTTP %ld)",
                     st);
            free(a.body);
            return 2;
        }
        while (off < a.len && n < TG_AUDIT_PROOF_MAX) {
            const char *nl = memchr(a.body + off, '\n', a.len - off);
            size_t l = nl ? (size_t)(nl - (a.body + off)) : a.len - off;
            uint8_t h[40];

            if (tg_base64_decode(a.body + off, l, h, sizeof(h)) != TG_AUDIT_HASH_LEN)
                break;
            memcpy(proof[n++].b, h, TG_AUDIT_HASH_LEN);
            off += l + 1;
        }
        ok = off >= a.len &&
             tg_audit_merkle_verify_consistency(held->size, &held->root, cp->size,
                                                &cp->root, proof, n) == 0;
        free(a.body);
    }
    if (!ok) {
        snprintf(what, whatlen,
                 "fork: the site's checkpoint of size %llu is not consistent with the "
                 "checkpoint of size %llu held",
                 (unsigned long long)cp->size, (unsigned long long)held->size);
        return 1;
    }
    return 0;
}

int tg_audit_online_proof(const char *endpoint, const char *token, const char *ca_file,
                          const char *batch, const tg_audit_verifier *site_key,
                          const char *since, size_t since_len, tg_strbuf *out, char *what,
                          size_t whatlen)
{
    online o = {endpoint, token, ca_file};
    tg_query_http_answer a;
    tg_audit_checkpoint cp, held;
    char path[700], *esc;
    long st;
    int rc = 0;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (since && (!site_key || tg_audit_checkpoint_open(since, since_len, site_key, 1,
                                                        &held, NULL) != 0)) {
        snprintf(what, whatlen,
                 "signature invalid: the checkpoint held does not verify "
                 "with the site's key");
        return 1;
    }
    if (!(esc = tg_query_http_escape(batch))) {
        snprintf(what, whatlen, "out of memory");
        return 2;
    }
    snprintf(path, sizeof(path), "/api/v1/audit/proof?batch=%s", esc);
    free(esc);
    st = get(&o, path, "text/plain", &a);
    if (st == 404) {
        snprintf(what, whatlen,
                 "the site has no ledger entry for batch %s, or no signed "
                 "checkpoint holds it yet",
                 batch);
        rc = 1;
    } else if (st != 200) {
        snprintf(what, whatlen, "%s does not serve proofs (HTTP %ld)", endpoint, st);
        rc = 2;
    } else if (site_key && check_proof(a.body ? a.body : "", a.len, site_key, &cp) != 0) {
        snprintf(what, whatlen, "the proof the site served for batch %s does not verify",
                 batch);
        rc = 1;
    } else if (since) {
        rc = check_since(&o, &held, &cp, what, whatlen);
    }
    if (rc == 0)
        tg_strbuf_put(out, a.body ? a.body : "", a.len);
    free(a.body);
    return rc;
}
