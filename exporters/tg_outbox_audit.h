/* Offline verification of a site's transparency log and egress ledger, as
 * `tollgate audit verify --data DIR` runs it: read-only, from the outbox's
 * LMDB environment and the site's public key (audit.key.vkey). */
#ifndef TG_OUTBOX_AUDIT_H
#define TG_OUTBOX_AUDIT_H

#include <stdint.h>

typedef struct tg_outbox_audit_result {
    uint64_t leaves, checkpoints, ledger_entries;
    uint64_t bad_index; /* the first broken leaf, checkpoint size or entry */
    char what[256];     /* what is wrong with it; empty when intact */
} tg_outbox_audit_result;

/* Verifies the log in outbox_dir against the vkey file `vkey_file`:
 * every leaf hashes to its stored node and the leaves are contiguous;
 * every stored checkpoint's signature verifies and its root is the root
 * of the leaves (so successive checkpoints are consistent, which is
 * checked with a consistency proof too); the ledger's hash chain holds.
 * 0 intact; TG_EVERIFY with r->bad_index and r->what; another TG_E code
 * (and r->what) when the directory or key cannot be read. */
int tg_outbox_audit_verify(const char *outbox_dir, const char *vkey_file,
                           tg_outbox_audit_result *r);

#include "tg_strbuf.h"

/* Appends a tlog-proof file (c2sp.org/tlog-proof) for the ledger entry of
 * batch `batch_id` (its full "<site>/<epoch>/<seq>" id, or just its
 * sequence number) to out: the entry's bytes as the proof's extra data,
 * its inclusion proof and the newest signed checkpoint that holds it.
 * 0; TG_ENOT_FOUND (no such batch, or no checkpoint holds it yet) or
 * another TG_E code, with a message in err. */
int tg_outbox_audit_proof(const char *outbox_dir, const char *batch_id, tg_strbuf *out,
                          char *err, size_t errlen);

#endif
