/* C2SP tlog-proof files (c2sp.org/tlog-proof): an offline-verifiable proof
 * that an entry is in a log, for `tollgate audit proof` and `audit verify
 * --proof`.
 *
 *   c2sp.org/tlog-proof@v1
 *   [extra <base64>]
 *   index <i>
 *   <base64 hash>            (the inclusion proof, leaf's sibling first)
 *   ...
 *                            (an empty line)
 *   <the signed checkpoint, verbatim, with any cosignatures> */
#ifndef TG_AUDIT_PROOF_H
#define TG_AUDIT_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "tg_audit_checkpoint.h"
#include "tg_audit_merkle.h"
#include "tg_audit_note.h"
#include "tg_strbuf.h"

/* A parsed proof file: `extra` and `checkpoint` point into the caller's
 * buffer and are valid while it is. */
typedef struct tg_audit_proof {
    uint64_t index;
    const char *extra; /* base64 text of the extra data, or NULL */
    size_t extra_len;
    tg_audit_hash path[TG_AUDIT_PROOF_MAX];
    size_t npath;
    const char *checkpoint; /* the signed checkpoint note */
    size_t checkpoint_len;
} tg_audit_proof;

/* Checks the file's syntax (not the checkpoint's: tg_audit_proof_verify
 * does). 0, TG_EPARSE or TG_ETOO_BIG (over TG_AUDIT_PROOF_MAX hashes, or
 * over TG_AUDIT_NOTE_MAX bytes). */
int tg_audit_proof_parse(const char *s, size_t len, tg_audit_proof *p);

/* Appends a proof file. `extra` (extra_len bytes, none when 0) is written
 * as base64; `checkpoint` is the signed checkpoint note. 0, TG_EINVAL or
 * TG_ENOMEM. */
int tg_audit_proof_format(uint64_t index, const void *extra, size_t extra_len,
                          const tg_audit_hash *path, size_t npath, const char *checkpoint,
                          size_t checkpoint_len, tg_strbuf *out);

/* Verifies a proof file: the checkpoint carries a valid signature by a
 * type-0x01 verifier named as its origin (tg_audit_checkpoint_open; known
 * cosignatures are checked too and reported in `n`), and the leaf (its
 * hash `leaf_hash`, or when that is NULL the RFC 6962 leaf hash of
 * leaf_data[0..leaf_len)) is at the file's index in the checkpoint's tree.
 * 0, TG_EPARSE, TG_ETOO_BIG or TG_EVERIFY. cp and n (both optional)
 * receive the checkpoint and its note. */
int tg_audit_proof_verify(const char *file, size_t len, const void *leaf_data,
                          size_t leaf_len, const tg_audit_hash *leaf_hash,
                          const tg_audit_verifier *vs, size_t nv, tg_audit_checkpoint *cp,
                          tg_audit_note *n);

#endif
