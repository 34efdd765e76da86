/* tlog-proof files, written from c2sp.org/tlog-proof. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"
#include "tg_audit_proof.h"
#include "tg_codec.h"
#include "tg_err.h"

static const char magic[] = "c2sp.org/tlog-proof@v1";

/* The next line of s[*p..len) without its newline; NULL when no newline
 * ends it. */
static const char *next_line(const char *s, size_t len, size_t *p, size_t *ll)
{
    const char *line = s + *p, *nl;

    if (*p >= len)
        return NULL;
    nl = memchr(line, '\n', len - *p);
    if (!nl)
        return NULL;
    *ll = (size_t)(nl - line);
    *p += *ll + 1;
    return line;
}

int tg_audit_proof_parse(const char *s, size_t len, tg_audit_proof *pr)
{
    size_t p = 0, ll;
    const char *line;

    memset(pr, 0, sizeof(*pr));
    if (len > TG_AUDIT_NOTE_MAX)
        return TG_ETOO_BIG;
    line = next_line(s, len, &p, &ll);
    if (!line || ll != sizeof(magic) - 1 || memcmp(line, magic, ll) != 0)
        return TG_EPARSE;
    line = next_line(s, len, &p, &ll);
    if (line && ll >= 6 && memcmp(line, "extra ", 6) == 0) {
        if (!tg_base64_canonical(line + 6, ll - 6))
            return TG_EPARSE;
        pr->extra = line + 6;
        pr->extra_len = ll - 6;
        line = next_line(s, len, &p, &ll);
    }
    if (!line || ll < 6 || memcmp(line, "index ", 6) != 0 ||
        tg_audit__parse_u63(line + 6, ll - 6, &pr->index) != 0)
        return TG_EPARSE;
    for (;;) {
        uint8_t h[33];

        line = next_line(s, len, &p, &ll);
        if (!line)
            return TG_EPARSE;
        if (ll == 0)
            break;
        if (pr->npath == TG_AUDIT_PROOF_MAX)
            return TG_ETOO_BIG;
        if (ll != 44 || !tg_base64_canonical(line, ll) ||
            tg_base64_decode(line, ll, h, sizeof(h)) != TG_AUDIT_HASH_LEN)
            return TG_EPARSE;
        memcpy(pr->path[pr->npath++].b, h, TG_AUDIT_HASH_LEN);
    }
    if (p >= len)
        return TG_EPARSE;
    pr->checkpoint = s + p;
    pr->checkpoint_len = len - p;
    return 0;
}

int tg_audit_proof_format(uint64_t index, const void *extra, size_t extra_len,
                          const tg_audit_hash *path, size_t npath, const char *checkpoint,
                          size_t checkpoint_len, tg_strbuf *out)
{
    char b64[45];

    if (npath > TG_AUDIT_PROOF_MAX || index > (uint64_t)INT64_MAX ||
        checkpoint_len == 0 || checkpoint[checkpoint_len - 1] != '\n')
        return TG_EINVAL;
    tg_strbuf_put(out, magic, sizeof(magic) - 1);
    tg_strbuf_putc(out, '\n');
    if (extra_len > 0) {
        char *e = malloc(tg_base64_encoded_len(extra_len) + 1);
        if (!e)
            return TG_ENOMEM;
        tg_base64_encode(extra, extra_len, e);
        tg_strbuf_put(out, "extra ", 6);
        tg_strbuf_put(out, e, strlen(e));
        tg_strbuf_putc(out, '\n');
        free(e);
    }
    tg_strbuf_printf(out, "index %" PRIu64 "\n", index);
    for (size_t i = 0; i < npath; i++) {
        tg_base64_encode(path[i].b, TG_AUDIT_HASH_LEN, b64);
        tg_strbuf_put(out, b64, 44);
        tg_strbuf_putc(out, '\n');
    }
    tg_strbuf_putc(out, '\n');
    tg_strbuf_put(out, checkpoint, checkpoint_len);
    return out->oom ? TG_ENOMEM : 0;
}

int tg_audit_proof_verify(const char *file, size_t len, const void *leaf_data,
                          size_t leaf_len, const tg_audit_hash *leaf_hash,
                          const tg_audit_verifier *vs, size_t nv, tg_audit_checkpoint *cp,
                          tg_audit_note *n)
{
    tg_audit_proof *pr = malloc(sizeof(*pr));
    tg_audit_checkpoint *c = cp ? cp : malloc(sizeof(*c));
    tg_audit_note *note = n ? n : malloc(sizeof(*note));
    tg_audit_hash leaf;
    int rc;

    if (!pr || !c || !note) {
        rc = TG_ENOMEM;
        goto out;
    }
    rc = tg_audit_proof_parse(file, len, pr);
    if (rc == 0)
        rc =
            tg_audit_checkpoint_open(pr->checkpoint, pr->checkpoint_len, vs, nv, c, note);
    if (rc != 0)
        goto out;
    if (leaf_hash)
        leaf = *leaf_hash;
    else
        tg_audit_leaf_hash(leaf_data, leaf_len, &leaf);
    rc = tg_audit_merkle_verify_inclusion(&leaf, pr->index, c->size, pr->path, pr->npath,
                                          &c->root);
out:
    free(pr);
    if (!cp)
        free(c);
    if (!n)
        free(note);
    return rc;
}
