/* `tollgate audit verify --data DIR --central DIR2`: the site's log against
 * a copy of the centre's store (its witness state, central/witness.h):
 *
 *   - the newest cosigned checkpoint carries a valid site signature and a
 *     valid cosignature from the witness's key;
 *   - the site's recomputed tree has that root at that size (else: a fork
 *     between site and witness);
 *   - no site-signed checkpoint the witness refused as a fork (kept as
 *     evidence) disagrees with the log (else: a fork too: the site showed
 *     the witness another history);
 *   - every batch of the site the centre holds has a leaf in the log.
 *
 * Read-only on both directories. */
#include "audit_witness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cstore.h"
#include "tg_audit_checkpoint.h"
#include "tg_codec.h"
#include "tg_err.h"
#include "tg_outbox_audit.h"
#include "witness.h"

#define KEY_MAX 4096

static int read_vkey(const char *path, tg_audit_verifier *v)
{
    FILE *f = fopen(path, "rb");
    char buf[KEY_MAX];
    size_t n;

    if (!f)
        return TG_EIO;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    return tg_audit_verifier_parse(buf, n, v);
}

typedef struct find_ctx {
    const char *site;
    int found;
    tg_witness_status st;
    char *checkpoint, *fork_cp;
} find_ctx;

static int find_site(void *ctx, const tg_witness_status *s)
{
    find_ctx *f = ctx;

    if (strcmp(s->site, f->site) != 0)
        return 0;
    f->found = 1;
    f->st = *s;
    f->checkpoint = s->checkpoint ? strdup(s->checkpoint) : NULL;
    f->fork_cp = s->fork_checkpoint ? strdup(s->fork_checkpoint) : NULL;
    return 1;
}

typedef struct batch_ctx {
    const char *site;
    tg_outbox_audit_log *log;
    uint64_t checked, missing_seq;
    int missing;
} batch_ctx;

static int check_batch(void *ctx, const char *site, uint64_t seq,
                       const Tollgate__V1__CentralBatchHeader *h, const uint8_t *zstd,
                       size_t zlen)
{
    batch_ctx *b = ctx;

    (void)h;
    (void)zstd;
    (void)zlen;
    if (strcmp(site, b->site) != 0 || b->missing)
        return 0;
    b->checked++;
    if (tg_outbox_audit_log_batch(b->log, seq) < 0) {
        b->missing = 1;
        b->missing_seq = seq;
    }
    return 0;
}

static void hash_b64(const uint8_t *h, char out[48])
{
    tg_base64_encode(h, 32, out);
}

int tg_audit_witness_check(const char *data_dir, const char *central_dir,
                           const char *site_vkey_file, const char *witness_vkey_file,
                           json_t *out, char *what, size_t whatlen)
{
    tg_audit_verifier vs[2];
    tg_outbox_audit_log *log = NULL;
    tg_cstore_options so;
    tg_cstore *cs = NULL;
    tg_witness *w = NULL;
    tg_witness_options wo = {central_dir, 1, 0};
    find_ctx fc;
    batch_ctx bc;
    char path[4096], err[512], wk[4096], site[64];
    int rc, result = 2;

    memset(&fc, 0, sizeof(fc));
    if (read_vkey(site_vkey_file, &vs[0]) != 0 || vs[0].type != TG_AUDIT_SIG_ED25519) {
        snprintf(what, whatlen, "cannot read the site's key %s", site_vkey_file);
        return 2;
    }
    if (strncmp(vs[0].name, "tollgate.site/", 14) != 0 ||
        snprintf(site, sizeof(site), "%s", vs[0].name + 14) >= (int)sizeof(site)) {
        snprintf(what, whatlen, "the key %s is not a tollgate site's log key",
                 site_vkey_file);
        return 2;
    }
    if (!witness_vkey_file) {
        snprintf(wk, sizeof(wk), "%s/%s.vkey", central_dir, TG_WITNESS_KEY_FILE);
        witness_vkey_file = wk;
    }
    if (read_vkey(witness_vkey_file, &vs[1]) != 0 || vs[1].type != TG_AUDIT_SIG_COSIG) {
        snprintf(what, whatlen, "cannot read the witness's key %s (--witness-key)",
                 witness_vkey_file);
        return 2;
    }
    snprintf(path, sizeof(path), "%s/outbox", data_dir);
    if (!(log = tg_outbox_audit_log_open(path, err, sizeof(err)))) {
        snprintf(what, whatlen, "%s", err);
        return 2;
    }
    memset(&so, 0, sizeof(so));
    so.readonly = 1;
    snprintf(path, sizeof(path), "%s/central", central_dir);
    if (!(cs = tg_cstore_open(path, &so, &rc)) ||
        !(w = tg_witness_open(cs, &wo, err, sizeof(err)))) {
        snprintf(what, whatlen, "cannot read the centre's store in %s", path);
        goto out;
    }
    fc.site = site;
    tg_witness_status_foreach(w, 0, find_site, &fc);
    result = 1;
    if (!fc.found || !fc.checkpoint) {
        snprintf(what, whatlen, "the witness holds no cosigned checkpoint of %s", site);
        goto out;
    }
    json_object_set_new(out, "witness_cosigned_size",
                        json_integer((json_int_t)fc.st.cosigned_size));
    {
        tg_audit_checkpoint cp;
        tg_audit_note n;
        int cosigned = 0;
        uint8_t root[32];
        char a[48], b[48];

        if (tg_audit_checkpoint_open(fc.checkpoint, strlen(fc.checkpoint), vs, 2, &cp,
                                     &n) != 0) {
            snprintf(what, whatlen,
                     "signature invalid: the witness's checkpoint of size %llu does not "
                     "verify",
                     (unsigned long long)fc.st.cosigned_size);
            goto out;
        }
        cosigned |= tg_audit_note_signed_by(&n, 1);
        if (!cosigned) {
            snprintf(what, whatlen,
                     "signature invalid: no cosignature by the witness on its checkpoint "
                     "of size %llu",
                     (unsigned long long)cp.size);
            goto out;
        }
        hash_b64(cp.root.b, a);
        if (tg_outbox_audit_log_root(log, cp.size, root) != 0) {
            snprintf(what, whatlen,
                     "fork between site and witness: the witness cosigned size %llu, the "
                     "site's log has %llu leaves",
                     (unsigned long long)cp.size,
                     (unsigned long long)tg_outbox_audit_log_size(log));
            goto out;
        }
        if (memcmp(root, cp.root.b, 32) != 0) {
            hash_b64(root, b);
            snprintf(what, whatlen,
                     "fork between site and witness: at size %llu the witness cosigned "
                     "root %s, the site's log has root %s",
                     (unsigned long long)cp.size, a, b);
            goto out;
        }
    }
    if (fc.fork_cp) {
        tg_audit_checkpoint cp;
        uint8_t root[32];
        char a[48];

        /* Evidence the site signed; one that does not verify proves nothing. */
        if (tg_audit_checkpoint_open(fc.fork_cp, strlen(fc.fork_cp), vs, 1, &cp, NULL) ==
                0 &&
            (tg_outbox_audit_log_root(log, cp.size, root) != 0 ||
             memcmp(root, cp.root.b, 32) != 0)) {
            hash_b64(cp.root.b, a);
            snprintf(what, whatlen,
                     "fork between site and witness: the site signed another checkpoint "
                     "of size %llu (root %s) that the witness refused",
                     (unsigned long long)cp.size, a);
            json_object_set_new(out, "fork_size", json_integer((json_int_t)cp.size));
            goto out;
        }
    }
    memset(&bc, 0, sizeof(bc));
    bc.site = site;
    bc.log = log;
    if (tg_cstore_batches(cs, check_batch, &bc) != 0) {
        snprintf(what, whatlen, "cannot read the centre's batches");
        result = 2;
        goto out;
    }
    json_object_set_new(out, "central_batches", json_integer((json_int_t)bc.checked));
    if (bc.missing) {
        snprintf(what, whatlen,
                 "batch %llu held by the centre has no leaf in the site's log "
                 "(leaf removed)",
                 (unsigned long long)bc.missing_seq);
        goto out;
    }
    result = 0;
    what[0] = '\0';
out:
    free(fc.checkpoint);
    free(fc.fork_cp);
    tg_witness_close(w);
    if (cs)
        tg_cstore_close(cs);
    tg_outbox_audit_log_close(log);
    return result;
}
