/* C2SP signed-note (c2sp.org/signed-note), with Ed25519 keys.
 *
 * A note is a text ending in a newline, a blank line, and one or more
 * signature lines "— <key name> base64(key ID[4] || signature)". A key is
 * known by its name and 4-byte ID; the ID of an Ed25519 key of signature
 * type t is SHA-256(name || 0x0A || t || pubkey)[:4]. Two types are
 * supported: 0x01, a plain Ed25519 signature over the text (how a log signs
 * its checkpoints), and 0x04, a timestamped Ed25519 cosignature
 * (c2sp.org/tlog-cosignature, how a witness cosigns them).
 *
 * Verification follows the spec: signatures from unknown keys are ignored;
 * a signature from a known key that fails rejects the whole note; a note
 * with no verified signature from a known key is rejected. */
#ifndef TG_AUDIT_NOTE_H
#define TG_AUDIT_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "tg_strbuf.h"

#define TG_AUDIT_SIG_ED25519 0x01
#define TG_AUDIT_SIG_COSIG 0x04

/* Limits this implementation applies (the spec asks for at least 16
 * signatures): a key name, the signatures in one note, one note. */
#define TG_AUDIT_NAME_MAX 255
#define TG_AUDIT_NOTE_SIGS_MAX 32
#define TG_AUDIT_NOTE_MAX (1u << 20)

/* A public key: what an auditor configures, written as a vkey
 * "<name>+<hex key ID>+base64(type || pubkey)". */
typedef struct tg_audit_verifier {
    char name[TG_AUDIT_NAME_MAX + 1];
    uint32_t key_id;
    uint8_t type; /* TG_AUDIT_SIG_ED25519 or TG_AUDIT_SIG_COSIG */
    uint8_t pub[32];
} tg_audit_verifier;

/* A private key. `seed` is the RFC 8032 private key; clear the struct
 * with tg_audit_signer_clear when done. */
typedef struct tg_audit_signer {
    char name[TG_AUDIT_NAME_MAX + 1];
    uint32_t key_id;
    uint8_t type;
    uint8_t seed[32];
    uint8_t pub[32];
} tg_audit_signer;

/* One signature line, pointing into the parsed note. */
typedef struct tg_audit_note_sig {
    const char *name;
    size_t name_len;
    uint32_t key_id;
    const char *b64; /* base64(key ID || signature) */
    size_t b64_len;
    int verifier;       /* index of the verifier that checked it, or -1 */
    uint64_t timestamp; /* of a verified cosignature; 0 otherwise */
} tg_audit_note_sig;

/* A parsed note: slices of the caller's buffer, valid while it is. */
typedef struct tg_audit_note {
    const char *text; /* includes its final newline */
    size_t text_len;
    tg_audit_note_sig sigs[TG_AUDIT_NOTE_SIGS_MAX];
    size_t nsigs;
} tg_audit_note;

/* The key ID of `pub` (32 bytes) under `name` and signature type `type`. */
uint32_t tg_audit_key_id(const char *name, uint8_t type, const uint8_t pub[32]);

/* Splits msg[0..len) into text and signature lines and checks the syntax:
 * valid UTF-8, no control character but newline, a text ending in a
 * newline, a blank line, then signature lines (at least one) with valid
 * key names and standard base64 of more than four bytes. Verifies nothing.
 * 0, TG_EPARSE or TG_ETOO_BIG (over the limits above). */
int tg_audit_note_parse(const char *msg, size_t len, tg_audit_note *n);

/* Verifies n's signatures against the `nv` verifiers and fills in each
 * signature's `verifier` and `timestamp`. 0 when at least one known key
 * verified and none failed; TG_EVERIFY otherwise. */
int tg_audit_note_verify(tg_audit_note *n, const tg_audit_verifier *vs, size_t nv);

/* 1 when a signature of n (after tg_audit_note_verify) verified under the
 * verifier at index `verifier`, else 0: "is it cosigned by the witness". */
int tg_audit_note_signed_by(const tg_audit_note *n, int verifier);

/* tg_audit_note_parse then tg_audit_note_verify. */
int tg_audit_note_open(const char *msg, size_t len, const tg_audit_verifier *vs,
                       size_t nv, tg_audit_note *n);

/* Appends the signature line "— name base64(id || sig)\n" of a type-0x01
 * signer over text[0..len) to out. 0, TG_EINVAL (a cosigning key, or text
 * not ending in a newline) or TG_ENOMEM. */
int tg_audit_note_sign(const tg_audit_signer *s, const char *text, size_t len,
                       tg_strbuf *out);

/* Appends "text\n" and one signature line per signer (type 0x01): a whole
 * signed note. */
int tg_audit_note_format(const char *text, size_t len, const tg_audit_signer *s,
                         size_t ns, tg_strbuf *out);

/* Parses a vkey. 0 or TG_EPARSE (including a key ID that does not match
 * the name and key, or an unsupported type). */
int tg_audit_verifier_parse(const char *vkey, size_t len, tg_audit_verifier *v);

/* Appends v's vkey to out (no newline). */
void tg_audit_verifier_format(const tg_audit_verifier *v, tg_strbuf *out);

/* A signer from a 32-byte seed, and its public half. 0, TG_EINVAL (a name
 * that is empty, too long, or holds a space or '+'; another type) or
 * TG_ENOMEM. */
int tg_audit_signer_init(tg_audit_signer *s, const char *name, uint8_t type,
                         const uint8_t seed[32]);
void tg_audit_signer_verifier(const tg_audit_signer *s, tg_audit_verifier *v);
void tg_audit_signer_clear(tg_audit_signer *s);

/* 1 if name is a valid key name: non-empty, at most TG_AUDIT_NAME_MAX
 * bytes, UTF-8 with no control character, Unicode space or '+'. */
int tg_audit_name_valid(const char *name, size_t len);

/* Ed25519 over msg with the signer's key into sig[64]; 0 or TG_ENOMEM. */
int tg_audit_ed25519_sign(const tg_audit_signer *s, const void *msg, size_t len,
                          uint8_t sig[64]);

#endif
