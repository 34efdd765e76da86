/* `tollgate audit verify --endpoint URL --token-file F`: online, against a
 * running site or centre.
 *
 * A site (it answers GET /api/v1/audit/checkpoint): its newest checkpoint
 * must verify with the site's key (--key), and with --witness-key carry the
 * witness's cosignature; every entry bundle and level-0 hash tile of the
 * log is fetched, the leaves rehashed and compared with the served hashes,
 * and the tree recomputed must have the checkpoint's root.
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
    for (size_t i = 0; i < n.nsigs; i++)
        cosigned |= n.sigs[i].verifier == 1;
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
    rc = 0;
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
        for (size_t j = 0; j < n.nsigs; j++)
            cosigned |= n.sigs[j].verifier == 1;
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
