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

/* A site's log read back for cross-checks against the centre's witness
 * (`audit verify --data DIR --central DIR2`): the tree recomputed from the
 * leaves and the batches their "egress" entries name. */
typedef struct tg_outbox_audit_log tg_outbox_audit_log;

/* NULL with a message in err when outbox_dir holds no readable log. */
tg_outbox_audit_log *tg_outbox_audit_log_open(const char *outbox_dir, char *err,
                                              size_t errlen);
void tg_outbox_audit_log_close(tg_outbox_audit_log *l);
uint64_t tg_outbox_audit_log_size(const tg_outbox_audit_log *l);
/* The recomputed root of the first `size` leaves into root[32]. 0 or
 * TG_ENOT_FOUND (the log is shorter). */
int tg_outbox_audit_log_root(tg_outbox_audit_log *l, uint64_t size, uint8_t root[32]);
/* The leaf index of batch `seq`'s egress entry, or -1. */
int64_t tg_outbox_audit_log_batch(const tg_outbox_audit_log *l, uint64_t seq);

#endif
