/* C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint) and Ed25519 witness
 * cosignatures (c2sp.org/tlog-cosignature, cosignature/v1).
 *
 * A checkpoint is the text of a signed note:
 *
 *   <origin>\n<tree size, decimal>\n<base64 root hash>\n[<extension>\n]...
 *
 * The log signs it as a note (type 0x01, tg_audit_note_sign); a witness
 * adds a cosignature line (type 0x04) over "cosignature/v1\ntime <t>\n"
 * followed by the same text. */
#ifndef TG_AUDIT_CHECKPOINT_H
#define TG_AUDIT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "tg_audit_merkle.h"
#include "tg_audit_note.h"
#include "tg_strbuf.h"

/* Extension lines kept at most, and their bytes in all. */
#define TG_AUDIT_CHECKPOINT_EXT_MAX 1024

typedef struct tg_audit_checkpoint {
    char origin[TG_AUDIT_NAME_MAX + 1];
    uint64_t size;
    tg_audit_hash root;
    /* Extension lines, each with its newline; empty when there are none.
     * Opaque: the spec advises against them and we never write any. */
    char ext[TG_AUDIT_CHECKPOINT_EXT_MAX + 1];
    size_t ext_len;
} tg_audit_checkpoint;

/* Parses a checkpoint note text (as tg_audit_note_parse's text: ending in
 * a newline, no signatures). 0 or TG_EPARSE: fewer than three lines, an
 * empty line, an origin that is empty or over TG_AUDIT_NAME_MAX bytes, a
 * size with a leading zero or a sign or over 2^63 - 1, a root that is not
 * the standard base64 of 32 bytes, extensions over the limit. */
int tg_audit_checkpoint_parse(const char *text, size_t len, tg_audit_checkpoint *cp);

/* Appends the checkpoint's text to out. 0, TG_EINVAL (an origin that is
 * empty or holds a newline or control character) or TG_ENOMEM. */
int tg_audit_checkpoint_format(const tg_audit_checkpoint *cp, tg_strbuf *out);

/* Appends a whole signed checkpoint: its text, a blank line and the log's
 * signature line. */
int tg_audit_checkpoint_sign(const tg_audit_checkpoint *cp, const tg_audit_signer *log,
                             tg_strbuf *out);

/* Verifies a signed checkpoint against the verifiers (the log's key, and
 * witnesses' keys if any) and parses it. The note must carry a verified
 * signature from a verifier of type 0x01 named as the origin: a cosignature
 * alone does not make a checkpoint. 0, TG_EPARSE, TG_ETOO_BIG or
 * TG_EVERIFY; n (optional) receives the parsed note, with its signatures'
 * verifier indexes and cosignature timestamps. */
int tg_audit_checkpoint_open(const char *msg, size_t len, const tg_audit_verifier *vs,
                             size_t nv, tg_audit_checkpoint *cp, tg_audit_note *n);

/* Appends the witness's cosignature line over the checkpoint text
 * text[0..len) at POSIX time ts (<= 2^63 - 1). 0, TG_EINVAL (not a
 * cosigning key, or text not a checkpoint) or TG_ENOMEM. */
int tg_audit_cosign(const tg_audit_signer *witness, const char *text, size_t len,
                    uint64_t ts, tg_strbuf *out);

#endif
