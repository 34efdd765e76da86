/* The site's transparency log inside the outbox's LMDB environment
 * (internal to exporters/; c2sp.org/tlog-tiles and tlog-checkpoint).
 *
 *   tlog_leaves  index(u64 BE)            -> leaf bytes (a ledger entry as
 *                                            stored: counts, ids, hashes)
 *   tlog_nodes   level(u8) index(u64 BE)  -> 32-byte node hash (RFC 6962)
 *   tlog_cps     size(u64 BE)             -> signed checkpoint note
 *   tlog_cosigs  size(u64 BE)             -> the witness's cosignature line(s)
 *                                            for the checkpoint of that size
 *   meta "tlog_size"                      -> leaves (u64 BE)
 *   meta "witness_size"                   -> the size the centre last cosigned
 *   meta "witness_incl"                   -> leaves whose inclusion the centre
 *                                            has been shown (u64 BE)
 *
 * Every ledger entry is appended as a leaf in the transaction that writes
 * it, so after a crash neither exists without the other; the checkpoint of
 * the new size is signed and stored in that transaction too. A failure
 * aborts the whole transaction: the batch does not leave (fail closed). */
#ifndef TG_OUTBOX_TLOG_H
#define TG_OUTBOX_TLOG_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_audit_merkle.h"
#include "tg_audit_note.h"
#include "tg_strbuf.h"

#define TG_OUTBOX_TLOG_KEY_FILE "audit.key"
#define TG_OUTBOX_TLOG_ORIGIN_PREFIX "tollgate.site/"

typedef struct tg_outbox_tlog {
    MDB_dbi db_leaves, db_nodes, db_cps, db_cosigs, db_meta;
    int has_key;
    tg_audit_signer key; /* origin "tollgate.site/<site>" */
} tg_outbox_tlog;

/* Opens (creating) the named dbs in txn. */
int tg_outbox_tlog_open(tg_outbox_tlog *t, MDB_txn *txn, MDB_dbi meta);

/* The tree size as txn sees it. */
uint64_t tg_outbox_tlog_size(const tg_outbox_tlog *t, MDB_txn *txn);

/* Appends one leaf, its nodes, the new size and (with a key) the signed
 * checkpoint of the new size, all in txn. 0 or a negative TG_E code. */
int tg_outbox_tlog_append(tg_outbox_tlog *t, MDB_txn *txn, const uint8_t *leaf,
                          size_t len);

/* Serves a tlog-tiles resource of the log as txn sees it into out:
 * "checkpoint" (the newest signed checkpoint), "tile/L/N[.p/W]" (hashes)
 * or "tile/entries/N[.p/W]" (an entry bundle). A partial tile narrower
 * than what the log holds is served from the stored prefix. Beyond
 * tlog-tiles, for online audits (docs/audit.md):
 *   "checkpoints/<from>"  every stored checkpoint of size >= from, oldest
 *                         first, at most TG_OUTBOX_TLOG_CPS_PAGE, as JSON
 *                         {"checkpoints": [{"size": N, "checkpoint": NOTE}],
 *                         "next": SIZE to ask from next (absent: no more)};
 *                         each NOTE with the witness's cosignature when it
 *                         has one
 *   "proof/<batch>"       a tlog-proof file (c2sp.org/tlog-proof) for the
 *                         ledger entry of that batch (tg_outbox_tlog_batch_matches)
 *                         against the newest checkpoint, computed from the
 *                         stored nodes
 *   "consistency/<old>/<size>"  the consistency proof between the trees of
 *                         those sizes (0 < old <= size <= the log's size),
 *                         one base64 hash a line, as in tlog-witness
 * 0, TG_ENOT_FOUND, TG_EPARSE (not such a path) or TG_ENOMEM. */
int tg_outbox_tlog_serve(tg_outbox_tlog *t, MDB_txn *txn, const char *path, size_t len,
                         tg_strbuf *out);

/* Whether ledger entry batch id `have` ("<site>/<epoch>/<seq>") is the
 * batch a user named `want` (the full id, or a tail of it after a '/',
 * e.g. the sequence). */
int tg_outbox_tlog_batch_matches(const char *have, const char *want);

/* At most this many checkpoints in one "checkpoints/<from>" answer. */
#define TG_OUTBOX_TLOG_CPS_PAGE 1000

/* ---- witness submission (witness_submit.c) -------------------------------- */

/* Runs fn in a read (write 0) or write transaction of the outbox's
 * environment, committing a write when fn returns 0 (outbox.c). */
struct tg_outbox;
typedef int (*tg_outbox_tlog_fn)(tg_outbox_tlog *t, MDB_txn *txn, void *ctx);
int tg_outbox_tlog_run(struct tg_outbox *ob, int write, tg_outbox_tlog_fn fn, void *ctx);

/* A stored u64 of meta ("witness_size", "witness_incl"); 0 when absent. */
uint64_t tg_outbox_tlog_meta(const tg_outbox_tlog *t, MDB_txn *txn, const char *name);
int tg_outbox_tlog_meta_put(tg_outbox_tlog *t, MDB_txn *txn, const char *name,
                            uint64_t v);

/* Appends an add-checkpoint body (c2sp.org/tlog-witness): "old <old>", the
 * consistency proof from `old` to the newest checkpoint's size, a blank
 * line and that checkpoint as the site signed it; *size gets its size.
 * TG_ENOT_FOUND with no checkpoint, TG_EINVAL when old exceeds it. */
int tg_outbox_tlog_add_request(tg_outbox_tlog *t, MDB_txn *txn, uint64_t old,
                               tg_strbuf *out, uint64_t *size);

/* Stores the witness's cosignature line(s) for the checkpoint of `size`
 * and records `size` as the cosigned size. */
int tg_outbox_tlog_cosigned(tg_outbox_tlog *t, MDB_txn *txn, uint64_t size,
                            const char *cosig, size_t len);

/* Appends an inclusion request (central/witness.h): "size <size>" and, for
 * each "egress" leaf in [from, size), at most `max` of them, "leaf <i>
 * <base64>" and its inclusion proof. *next gets the first leaf not
 * covered. */
int tg_outbox_tlog_inclusion_request(tg_outbox_tlog *t, MDB_txn *txn, uint64_t from,
                                     uint64_t size, size_t max, tg_strbuf *out,
                                     uint64_t *next);

#endif
