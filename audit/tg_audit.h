/* The audit library: a transparency log in the C2SP formats (RFC 6962
 * trees with tlog-tiles, signed notes, checkpoints, cosignatures, proof
 * files) and the keys that sign it. Knows nothing of LMDB, sockets or the
 * event loop: a store hands it nodes through tg_audit_reader and persists
 * what tg_audit_merkle_append returns. */
#ifndef TG_AUDIT_H
#define TG_AUDIT_H

#include "tg_audit_checkpoint.h"
#include "tg_audit_keys.h"
#include "tg_audit_merkle.h"
#include "tg_audit_note.h"
#include "tg_audit_proof.h"

#endif
