/* The Ed25519 keys a site signs its log with and a witness cosigns with,
 * kept in the data directory.
 *
 * The private key file holds one line,
 *   PRIVATE+KEY+<name>+<hex key ID>+base64(<type> || 32-byte seed)
 * (the layout Go's sumdb note signers use), mode 0600; the public vkey sits
 * beside it in "<file>.vkey" for auditors. */
#ifndef TG_AUDIT_KEYS_H
#define TG_AUDIT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "tg_audit_note.h"
#include "tg_strbuf.h"

/* Loads dir/file into s, creating a fresh key named `name` of signature
 * type `type` (TG_AUDIT_SIG_ED25519 for a log, TG_AUDIT_SIG_COSIG for a
 * witness) when the file does not exist, and (re)writes dir/file.vkey when
 * missing. An existing key must match `name` and `type`. Creation is atomic:
 * two processes racing end with the same key. Refuses a key file that
 * others may read or write (as ssh does). 0, or TG_EIO / TG_ECONFIG /
 * TG_EINVAL / TG_ENOMEM with a message naming the file in err. */
int tg_audit_keys_open(const char *dir, const char *file, const char *name, uint8_t type,
                       tg_audit_signer *s, char *err, size_t errlen);

/* Parses a private key line as above (trailing newline allowed). 0 or
 * TG_EPARSE. */
int tg_audit_keys_parse(const char *text, size_t len, tg_audit_signer *s);

/* Appends s's private key line (with its newline) to out. */
void tg_audit_keys_format(const tg_audit_signer *s, tg_strbuf *out);

/* Appends s's public vkey (no newline) to out. */
void tg_audit_keys_vkey(const tg_audit_signer *s, tg_strbuf *out);

#endif
