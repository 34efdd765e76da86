/* C2SP signed-note: parse, verify and sign, with OpenSSL's Ed25519.
 * Written from c2sp.org/signed-note and c2sp.org/tlog-cosignature. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "audit_internal.h"
#include "tg_audit_note.h"
#include "tg_codec.h"
#include "tg_err.h"
#include "tg_utf8.h"

/* U+2014 EM DASH, then a space: how every signature line starts. */
static const char sig_prefix[] = "\xE2\x80\x94 ";
#define SIG_PREFIX_LEN 4
/* The longest signature line's base64 this parser decodes: room for the
 * largest C2SP signature type (ML-DSA-44 cosignatures, 4 + 8 + 2420 bytes)
 * with margin. */
#define SIG_B64_MAX 8192

int tg_audit__parse_u63(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
        return TG_EPARSE;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return TG_EPARSE;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return TG_EPARSE;
    *out = v;
    return 0;
}

/* Decodes standard, padded base64 only. Returns the byte count or
 * TG_EPARSE / TG_ETOO_BIG. */
static long b64_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
    long n;

    if (!tg_base64_canonical(s, len))
        return TG_EPARSE;
    n = tg_base64_decode(s, len, out, cap);
    if (n == TG_ETOO_BIG)
        return TG_ETOO_BIG;
    return n < 0 ? TG_EPARSE : n;
}

/* Length of the Unicode space (Go's unicode.IsSpace, the set the spec's
 * reference implementation refuses in key names) that starts s, or 0. */
static size_t space_len(const unsigned char *s, size_t avail)
{
    if (s[0] == ' ' || (s[0] >= 0x09 && s[0] <= 0x0D))
        return 1;
    if (avail >= 2 && s[0] == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0))
        return 2;
    if (avail >= 3 && s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80) /* U+1680 */
        return 3;
    if (avail >= 3 && s[0] == 0xE2 && s[1] == 0x80 &&
        (s[2] <= 0x8A || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF)) /* U+2000.. */
        return 3;
    if (avail >= 3 && s[0] == 0xE2 && s[1] == 0x81 && s[2] == 0x9F) /* U+205F */
        return 3;
    if (avail >= 3 && s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80) /* U+3000 */
        return 3;
    return 0;
}

int tg_audit_name_valid(const char *name, size_t len)
{
    const unsigned char *p = (const unsigned char *)name;

    if (len == 0 || len > TG_AUDIT_NAME_MAX || !tg_utf8_valid(name, len))
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == '+' || p[i] == 0x7F || space_len(p + i, len - i) > 0)
            return 0;
    }
    return 1;
}

uint32_t tg_audit_key_id(const char *name, uint8_t type, const uint8_t pub[32])
{
    static const uint8_t nl = 0x0A;
    const void *parts[4] = {name, &nl, &type, pub};
    size_t lens[4] = {strlen(name), 1, 1, 32};
    uint8_t h[32];

    if (tg_audit__sha256(parts, lens, 4, h) != 0)
        return 0;
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

static int parse_sig_line(const char *p, size_t len, tg_audit_note_sig *sig)
{
    uint8_t buf[SIG_B64_MAX / 4 * 3];
    const char *sp;
    long n;

    if (len < SIG_PREFIX_LEN || memcmp(p, sig_prefix, SIG_PREFIX_LEN) != 0)
        return TG_EPARSE;
    p += SIG_PREFIX_LEN;
    len -= SIG_PREFIX_LEN;
    sp = memchr(p, ' ', len);
    if (!sp || !tg_audit_name_valid(p, (size_t)(sp - p)))
        return TG_EPARSE;
    sig->name = p;
    sig->name_len = (size_t)(sp - p);
    sig->b64 = sp + 1;
    sig->b64_len = len - sig->name_len - 1;
    if (sig->b64_len > SIG_B64_MAX)
        return TG_ETOO_BIG;
    n = b64_decode(sig->b64, sig->b64_len, buf, sizeof(buf));
    if (n < 0)
        return (int)n;
    if (n <= 4)
        return TG_EPARSE;
    sig->key_id =
        (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
    sig->verifier = -1;
    sig->timestamp = 0;
    return 0;
}

int tg_audit_note_parse(const char *msg, size_t len, tg_audit_note *n)
{
    size_t sep, p;

    memset(n, 0, sizeof(*n));
    if (len > TG_AUDIT_NOTE_MAX)
        return TG_ETOO_BIG;
    if (len < 2 || msg[len - 1] != '\n' || !tg_utf8_valid(msg, len))
        return TG_EPARSE;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)msg[i] < 0x20 && msg[i] != '\n')
            return TG_EPARSE;
    /* The text ends at the last blank line. */
    sep = len - 1;
    while (sep > 0 && !(msg[sep] == '\n' && msg[sep - 1] == '\n'))
        sep--;
    if (sep == 0)
        return TG_EPARSE;
    n->text = msg;
    n->text_len = sep; /* up to and including the newline before the blank line */
    p = sep + 1;
    if (p >= len)
        return TG_EPARSE;
    while (p < len) {
        const char *nl = memchr(msg + p, '\n', len - p);
        size_t l = (size_t)(nl - (msg + p));
        int rc;

        if (n->nsigs == TG_AUDIT_NOTE_SIGS_MAX)
            return TG_ETOO_BIG;
        rc = parse_sig_line(msg + p, l, &n->sigs[n->nsigs]);
        if (rc != 0)
            return rc;
        n->nsigs++;
        p += l + 1;
    }
    return 0;
}

static int ed25519_verify(const uint8_t pub[32], const void *msg, size_t len,
                          const uint8_t sig[64])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = 0;

    if (k && c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1)
        ok = EVP_DigestVerify(c, sig, 64, msg, len) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok;
}

int tg_audit_ed25519_sign(const tg_audit_signer *s, const void *msg, size_t len,
                          uint8_t sig[64])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, s->seed, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t siglen = 64;
    int ok = 0;

    if (k && c && EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1)
        ok = EVP_DigestSign(c, sig, &siglen, msg, len) == 1 && siglen == 64;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok ? 0 : TG_ENOMEM;
}

/* 1 if the signature verifies under v, 0 if not, TG_ENOMEM. */
static int check_sig(const tg_audit_note *n, tg_audit_note_sig *sig,
                     const tg_audit_verifier *v)
{
    uint8_t buf[SIG_B64_MAX / 4 * 3];
    long len = b64_decode(sig->b64, sig->b64_len, buf, sizeof(buf));
    uint64_t ts = 0;
    char *m;
    size_t mlen;
    int ok;

    if (v->type == TG_AUDIT_SIG_ED25519)
        return len == 4 + 64 && ed25519_verify(v->pub, n->text, n->text_len, buf + 4);
    if (v->type != TG_AUDIT_SIG_COSIG || len != 4 + 8 + 64)
        return 0;
    for (int i = 0; i < 8; i++)
        ts = ts << 8 | buf[4 + i];
    if (ts > (uint64_t)INT64_MAX)
        return 0;
    if (tg_audit__cosig_message(ts, n->text, n->text_len, &m, &mlen) != 0)
        return TG_ENOMEM;
    ok = ed25519_verify(v->pub, m, mlen, buf + 12);
    free(m);
    if (ok)
        sig->timestamp = ts;
    return ok;
}

int tg_audit_note_verify(tg_audit_note *n, const tg_audit_verifier *vs, size_t nv)
{
    size_t good = 0;

    for (size_t i = 0; i < n->nsigs; i++) {
        tg_audit_note_sig *sig = &n->sigs[i];

        sig->verifier = -1;
        sig->timestamp = 0;
        for (size_t j = 0; j < nv; j++) {
            if (vs[j].key_id != sig->key_id || strlen(vs[j].name) != sig->name_len ||
                memcmp(vs[j].name, sig->name, sig->name_len) != 0)
                continue;
            int ok = check_sig(n, sig, &vs[j]);
            if (ok < 0)
                return ok;
            if (!ok)
                return TG_EVERIFY; /* a known key that fails rejects the note */
            sig->verifier = (int)j;
            good++;
            break;
        }
    }
    return good > 0 ? 0 : TG_EVERIFY;
}

int tg_audit_note_open(const char *msg, size_t len, const tg_audit_verifier *vs,
                       size_t nv, tg_audit_note *n)
{
    int rc = tg_audit_note_parse(msg, len, n);

    return rc != 0 ? rc : tg_audit_note_verify(n, vs, nv);
}

void tg_audit__put_sig_line(tg_strbuf *out, const char *name, uint32_t id,
                            const uint8_t *sig, size_t siglen)
{
    uint8_t raw[4 + 8 + 64];
    char b64[sizeof(raw) / 3 * 4 + 5];

    raw[0] = (uint8_t)(id >> 24);
    raw[1] = (uint8_t)(id >> 16);
    raw[2] = (uint8_t)(id >> 8);
    raw[3] = (uint8_t)id;
    memcpy(raw + 4, sig, siglen);
    tg_base64_encode(raw, 4 + siglen, b64);
    tg_strbuf_put(out, sig_prefix, SIG_PREFIX_LEN);
    tg_strbuf_put(out, name, strlen(name));
    tg_strbuf_putc(out, ' ');
    tg_strbuf_put(out, b64, strlen(b64));
    tg_strbuf_putc(out, '\n');
}

int tg_audit_note_sign(const tg_audit_signer *s, const char *text, size_t len,
                       tg_strbuf *out)
{
    uint8_t sig[64];
    int rc;

    if (s->type != TG_AUDIT_SIG_ED25519 || len == 0 || text[len - 1] != '\n')
        return TG_EINVAL;
    rc = tg_audit_ed25519_sign(s, text, len, sig);
    if (rc != 0)
        return rc;
    tg_audit__put_sig_line(out, s->name, s->key_id, sig, sizeof(sig));
    return out->oom ? TG_ENOMEM : 0;
}

int tg_audit_note_format(const char *text, size_t len, const tg_audit_signer *s,
                         size_t ns, tg_strbuf *out)
{
    if (len == 0 || text[len - 1] != '\n' || ns == 0)
        return TG_EINVAL;
    tg_strbuf_put(out, text, len);
    tg_strbuf_putc(out, '\n');
    for (size_t i = 0; i < ns; i++) {
        int rc = tg_audit_note_sign(&s[i], text, len, out);
        if (rc != 0)
            return rc;
    }
    return out->oom ? TG_ENOMEM : 0;
}

int tg_audit_verifier_parse(const char *vkey, size_t len, tg_audit_verifier *v)
{
    const char *p1 = memchr(vkey, '+', len), *p2;
    uint8_t raw[33], id[4];
    size_t nlen;

    if (!p1)
        return TG_EPARSE;
    nlen = (size_t)(p1 - vkey);
    p2 = memchr(p1 + 1, '+', len - nlen - 1);
    if (!p2 || p2 - p1 - 1 != 8 || !tg_audit_name_valid(vkey, nlen))
        return TG_EPARSE;
    if (tg_hex_decode(p1 + 1, 8, id, sizeof(id)) != 4)
        return TG_EPARSE;
    if (b64_decode(p2 + 1, len - (size_t)(p2 + 1 - vkey), raw, sizeof(raw)) != 33)
        return TG_EPARSE;
    if (raw[0] != TG_AUDIT_SIG_ED25519 && raw[0] != TG_AUDIT_SIG_COSIG)
        return TG_EPARSE;
    memset(v, 0, sizeof(*v));
    memcpy(v->name, vkey, nlen);
    v->type = raw[0];
    memcpy(v->pub, raw + 1, 32);
    v->key_id =
        (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3];
    if (v->key_id != tg_audit_key_id(v->name, v->type, v->pub))
        return TG_EPARSE;
    return 0;
}

void tg_audit__key_text(tg_strbuf *out, const char *prefix, const char *name,
                        uint32_t key_id, uint8_t type, const uint8_t key[32])
{
    uint8_t raw[33];
    char b64[49];

    raw[0] = type;
    memcpy(raw + 1, key, 32);
    tg_base64_encode(raw, sizeof(raw), b64);
    tg_strbuf_printf(out, "%s%s+%08x+%s", prefix, name, (unsigned)key_id, b64);
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(b64, sizeof(b64));
}

void tg_audit_verifier_format(const tg_audit_verifier *v, tg_strbuf *out)
{
    tg_audit__key_text(out, "", v->name, v->key_id, v->type, v->pub);
}

int tg_audit_signer_init(tg_audit_signer *s, const char *name, uint8_t type,
                         const uint8_t seed[32])
{
    size_t nlen = strlen(name), publen = 32;
    EVP_PKEY *k;
    int ok;

    memset(s, 0, sizeof(*s));
    if (!tg_audit_name_valid(name, nlen) ||
        (type != TG_AUDIT_SIG_ED25519 && type != TG_AUDIT_SIG_COSIG))
        return TG_EINVAL;
    k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    ok = k && EVP_PKEY_get_raw_public_key(k, s->pub, &publen) == 1 && publen == 32;
    EVP_PKEY_free(k);
    if (!ok)
        return TG_ENOMEM;
    memcpy(s->name, name, nlen);
    s->type = type;
    memcpy(s->seed, seed, 32);
    s->key_id = tg_audit_key_id(s->name, type, s->pub);
    return 0;
}

void tg_audit_signer_verifier(const tg_audit_signer *s, tg_audit_verifier *v)
{
    memset(v, 0, sizeof(*v));
    memcpy(v->name, s->name, sizeof(v->name));
    v->key_id = s->key_id;
    v->type = s->type;
    memcpy(v->pub, s->pub, 32);
}

void tg_audit_signer_clear(tg_audit_signer *s)
{
    OPENSSL_cleanse(s, sizeof(*s));
}

int tg_audit_note_signed_by(const tg_audit_note *n, int verifier)
{
    for (size_t i = 0; i < n->nsigs; i++)
        if (n->sigs[i].verifier == verifier)
            return 1;
    return 0;
}
