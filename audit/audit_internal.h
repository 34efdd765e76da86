/* What the audit files share and nothing outside audit/ uses. */
#ifndef TG_AUDIT_INTERNAL_H
#define TG_AUDIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tg_strbuf.h"

/* SHA-256 over the concatenation of n parts. 0 or TG_ENOMEM. */
int tg_audit__sha256(const void *const *parts, const size_t *lens, size_t n,
                     uint8_t out[32]);

/* Parses s[0..len) as a decimal with no leading zero (bar "0" itself) and
 * no sign, up to 2^63 - 1. 0 or TG_EPARSE. */
int tg_audit__parse_u63(const char *s, size_t len, uint64_t *out);

/* The message a timestamped Ed25519 cosignature (tlog-cosignature, type
 * 0x04) signs: "cosignature/v1\ntime <ts>\n" followed by the note text.
 * Writes it into a heap buffer *out of *outlen bytes. 0 or TG_ENOMEM. */
int tg_audit__cosig_message(uint64_t ts, const char *text, size_t len, char **out,
                            size_t *outlen);

/* Appends the signature line "— name base64(id || sig)\n"; siglen is at
 * most 8 + 64 (a cosignature). */
void tg_audit__put_sig_line(tg_strbuf *out, const char *name, uint32_t id,
                            const uint8_t *sig, size_t siglen);

/* Appends PREFIX NAME+HHHHHHHH+BASE64(type || key): the text form of a
 * signed-note verifier key (prefix "") and of a private key. */
void tg_audit__key_text(tg_strbuf *out, const char *prefix, const char *name,
                        uint32_t key_id, uint8_t type, const uint8_t key[32]);

#endif
