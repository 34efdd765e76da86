/* tlog-checkpoint text and cosignature/v1, written from
 * c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"
#include "tg_audit_checkpoint.h"
#include "tg_codec.h"
#include "tg_err.h"

int tg_audit__cosig_message(uint64_t ts, const char *text, size_t len, char **out,
                            size_t *outlen)
{
    char head[64];
    int h = snprintf(head, sizeof(head), "cosignature/v1\ntime %" PRIu64 "\n", ts);
    char *m = malloc((size_t)h + len);

    if (!m)
        return TG_ENOMEM;
    memcpy(m, head, (size_t)h);
    memcpy(m + h, text, len);
    *out = m;
    *outlen = (size_t)h + len;
    return 0;
}

int tg_audit_checkpoint_parse(const char *text, size_t len, tg_audit_checkpoint *cp)
{
    const char *line[3];
    size_t ll[3], p = 0;
    uint8_t root[33];

    memset(cp, 0, sizeof(*cp));
    if (len == 0 || text[len - 1] != '\n')
        return TG_EPARSE;
    for (int i = 0; i < 3; i++) {
        const char *nl = p < len ? memchr(text + p, '\n', len - p) : NULL;
        if (!nl)
            return TG_EPARSE;
        line[i] = text + p;
        ll[i] = (size_t)(nl - line[i]);
        if (ll[i] == 0)
            return TG_EPARSE;
        p += ll[i] + 1;
    }
    if (ll[0] > TG_AUDIT_NAME_MAX)
        return TG_EPARSE;
    for (size_t i = 0; i < ll[0]; i++)
        if ((unsigned char)line[0][i] < 0x20)
            return TG_EPARSE;
    if (tg_audit__parse_u63(line[1], ll[1], &cp->size) != 0)
        return TG_EPARSE;
    /* 32 bytes are exactly 44 characters of padded base64. */
    if (ll[2] != 44 || !tg_base64_canonical(line[2], ll[2]) ||
        tg_base64_decode(line[2], ll[2], root, sizeof(root)) != TG_AUDIT_HASH_LEN)
        return TG_EPARSE;
    memcpy(cp->root.b, root, TG_AUDIT_HASH_LEN);
    memcpy(cp->origin, line[0], ll[0]);
    /* Extension lines: each non-empty. */
    if (len - p > TG_AUDIT_CHECKPOINT_EXT_MAX)
        return TG_EPARSE;
    for (size_t q = p; q < len; q++) {
        if ((unsigned char)text[q] < 0x20 && text[q] != '\n')
            return TG_EPARSE;
        if (text[q] == '\n' && (q == p || text[q - 1] == '\n'))
            return TG_EPARSE;
    }
    memcpy(cp->ext, text + p, len - p);
    cp->ext_len = len - p;
    return 0;
}

int tg_audit_checkpoint_format(const tg_audit_checkpoint *cp, tg_strbuf *out)
{
    size_t olen = strnlen(cp->origin, sizeof(cp->origin));
    char root[45];

    if (olen == 0 || olen > TG_AUDIT_NAME_MAX || cp->size > (uint64_t)INT64_MAX ||
        cp->ext_len > TG_AUDIT_CHECKPOINT_EXT_MAX ||
        (cp->ext_len > 0 && cp->ext[cp->ext_len - 1] != '\n'))
        return TG_EINVAL;
    for (size_t i = 0; i < olen; i++)
        if ((unsigned char)cp->origin[i] < 0x20)
            return TG_EINVAL;
    tg_base64_encode(cp->root.b, TG_AUDIT_HASH_LEN, root);
    tg_strbuf_printf(out, "%s\n%" PRIu64 "\n%s\n", cp->origin, cp->size, root);
    tg_strbuf_put(out, cp->ext, cp->ext_len);
    return out->oom ? TG_ENOMEM : 0;
}

int tg_audit_checkpoint_sign(const tg_audit_checkpoint *cp, const tg_audit_signer *log,
                             tg_strbuf *out)
{
    tg_strbuf text = {0};
    int rc = tg_audit_checkpoint_format(cp, &text);

    if (rc == 0)
        rc = tg_audit_note_format(text.p, text.len, log, 1, out);
    free(text.p);
    return rc;
}

int tg_audit_checkpoint_open(const char *msg, size_t len, const tg_audit_verifier *vs,
                             size_t nv, tg_audit_checkpoint *cp, tg_audit_note *n)
{
    tg_audit_note local;
    tg_audit_note *note = n ? n : &local;
    int rc = tg_audit_note_open(msg, len, vs, nv, note);

    if (rc != 0)
        return rc;
    rc = tg_audit_checkpoint_parse(note->text, note->text_len, cp);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < note->nsigs; i++) {
        int v = note->sigs[i].verifier;
        if (v >= 0 && vs[v].type == TG_AUDIT_SIG_ED25519 &&
            strcmp(vs[v].name, cp->origin) == 0)
            return 0;
    }
    return TG_EVERIFY;
}

int tg_audit_cosign(const tg_audit_signer *witness, const char *text, size_t len,
                    uint64_t ts, tg_strbuf *out)
{
    tg_audit_checkpoint cp;
    uint8_t sig[8 + 64];
    char *m;
    size_t mlen;
    int rc;

    if (witness->type != TG_AUDIT_SIG_COSIG || ts > (uint64_t)INT64_MAX ||
        tg_audit_checkpoint_parse(text, len, &cp) != 0)
        return TG_EINVAL;
    rc = tg_audit__cosig_message(ts, text, len, &m, &mlen);
    if (rc != 0)
        return rc;
    for (int i = 0; i < 8; i++)
        sig[i] = (uint8_t)(ts >> (56 - 8 * i));
    rc = tg_audit_ed25519_sign(witness, m, mlen, sig + 8);
    free(m);
    if (rc != 0)
        return rc;
    tg_audit__put_sig_line(out, witness->name, witness->key_id, sig, sizeof(sig));
    return out->oom ? TG_ENOMEM : 0;
}
