/* The centre as a witness of every site's transparency log
 * (c2sp.org/tlog-witness v1.0.0 semantics, docs/audit.md "The witness").
 *
 * A site submits each new checkpoint of its log with a consistency proof
 * from the size the centre last cosigned; the centre checks the site's
 * signature and the proof, stores the new size and root durably, and only
 * then answers with its cosignature (cosignature/v1, timestamped). It then
 * proves, leaf by leaf, that each batch it sent is in the cosigned tree, so
 * the centre can name a batch it holds that the site's log does not
 * record.
 *
 * Stored in the central store's LMDB environment (cstore.h):
 *
 *   witness         site                -> the site's witness state (below)
 *   witness_leaves  site '\0' seq(u64 BE) -> leaf index (u64 BE), time the
 *                                           inclusion was proved (u64 BE ns)
 *
 * The witness's own key is <data>/witness.key (type 0x04, name
 * TG_WITNESS_KEY_NAME), its vkey beside it for auditors.
 *
 * Threads: any; every request is one LMDB write transaction, so two
 * requests for one site are serialised. */
#ifndef TG_WITNESS_H
#define TG_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "cstore.h"
#include "tg_audit_checkpoint.h"
#include "tg_audit_merkle.h"
#include "tg_strbuf.h"

#define TG_WITNESS_KEY_FILE "witness.key"
#define TG_WITNESS_KEY_NAME "tollgate.central/witness"
/* A batch the centre holds with no leaf proved after this long is flagged. */
#define TG_WITNESS_GRACE_NS_DEFAULT (300ull * 1000000000ull)

typedef struct tg_witness tg_witness;

typedef struct tg_witness_options {
    const char *data_dir; /* where witness.key lives (created unless readonly) */
    int readonly;         /* `audit verify --central`: no key, no writes */
    uint64_t grace_ns;    /* 0: TG_WITNESS_GRACE_NS_DEFAULT */
} tg_witness_options;

/* Opens the witness over cs's environment. NULL with a message in err. */
tg_witness *tg_witness_open(tg_cstore *cs, const tg_witness_options *o, char *err,
                            size_t errlen);
void tg_witness_close(tg_witness *w);

/* The witness's public key as a vkey (NUL-terminated), "" when readonly. */
const char *tg_witness_vkey(const tg_witness *w);

/* ---- the add-checkpoint request -------------------------------------------- */

/* The body of an add-checkpoint request:
 *
 *   old <size>\n
 *   <base64 hash>\n ...        (the consistency proof, at most
 *                               TG_AUDIT_PROOF_MAX lines)
 *   \n
 *   <signed checkpoint note>
 *
 * `note` points into the caller's buffer. 0 or TG_EPARSE. */
typedef struct tg_witness_request {
    uint64_t old_size;
    tg_audit_hash proof[TG_AUDIT_PROOF_MAX];
    size_t nproof;
    const char *note;
    size_t note_len;
} tg_witness_request;

int tg_witness_parse_request(const char *body, size_t len, tg_witness_request *r);

/* What to answer. status: 200 (body: the cosignature line), 400 malformed,
 * 403 signature (or a changed key), 404 origin not this site's, 409 stale
 * or forked (known_size set; body "<size>\n", text/x.tlog.size), 422 bad
 * proof, 503 store error. */
typedef struct tg_witness_answer {
    int status;
    uint64_t known_size;
    const char *content_type;
    tg_strbuf body;
} tg_witness_answer;

/* Handles one add-checkpoint request from the authenticated `site`.
 * pinned_vkey: the registry's audit_key for the site ("" or NULL: none,
 * trust on first use); offered_vkey: the key the site sent
 * (X-Tollgate-Audit-Key), NULL if none. The new state is committed before
 * this returns 200. Free a->body.p after. */
void tg_witness_add_checkpoint(tg_witness *w, const char *site, const char *pinned_vkey,
                               const char *offered_vkey, const char *body, size_t len,
                               uint64_t now_ns, tg_witness_answer *a);

/* ---- inclusion of batches ------------------------------------------------- */

/* The body of an inclusion request, proving leaves against the size the
 * centre last cosigned:
 *
 *   size <size>\n
 *   leaf <index> <base64 leaf bytes>\n
 *   <base64 hash>\n ...        (its inclusion proof)
 *   leaf ...
 *
 * Each leaf is an EgressRecord; those of event "egress" name the batch the
 * centre should hold. Answers as tg_witness_add_checkpoint (200 "ok", 400,
 * 409 with the cosigned size when `size` is not it, 422 a proof or a leaf
 * that does not verify, 503). */
void tg_witness_inclusion(tg_witness *w, const char *site, const char *body, size_t len,
                          uint64_t now_ns, tg_witness_answer *a);

/* ---- status --------------------------------------------------------------- */

typedef struct tg_witness_status {
    char site[64];
    uint64_t log_size;      /* the newest size the site presented (verified) */
    uint64_t cosigned_size; /* the newest size cosigned */
    tg_audit_hash cosigned_root;
    uint64_t cosigned_ns; /* when; 0: never */
    uint64_t submissions, refused;
    int fork; /* a site-signed checkpoint inconsistent with a cosigned one */
    uint64_t fork_ns, fork_size;
    int key_changed;               /* a key other than the pinned one was offered */
    uint64_t leaves;               /* batches proved included */
    uint64_t batches_without_leaf; /* held past the grace period, no leaf */
    uint64_t gap;                  /* leaves proved for batches not held */
    char vkey[TG_AUDIT_NAME_MAX + 80];
    /* the cosigned checkpoint (site signature + cosignature), and the
     * fork's evidence (the refused site-signed checkpoint); malloc'd */
    char *checkpoint;
    char *fork_checkpoint;
} tg_witness_status;

typedef int (*tg_witness_status_cb)(void *ctx, const tg_witness_status *s);

/* Calls cb for every site the witness knows, in name order; counts
 * batches without a leaf (grace relative to now_ns) and gaps in one pass
 * over the store's batches. The status is valid during the call. A
 * non-zero return from cb stops and is returned. */
int tg_witness_status_foreach(tg_witness *w, uint64_t now_ns, tg_witness_status_cb cb,
                              void *ctx);

/* The JSON for GET /api/v1/witness/status (malloc'd text):
 * {"witness_key": vkey, "now_unix_nano": n, "sites": [{site, log_size,
 * cosigned_size, cosigned_root, cosigned_unix_nano, cosigned_age_seconds,
 * fork, fork_size, fork_unix_nano, key_changed, leaves, batches_without_leaf,
 * gap, submissions, refused, vkey, checkpoint, fork_checkpoint}]}. */
char *tg_witness_status_json(tg_witness *w, uint64_t now_ns);

/* Forgets proved leaves of batches below the oldest batch the centre still
 * holds for each site (retention evicted them): the leaves table stays
 * the size of the batches kept. 0 or TG_ESTORE. */
int tg_witness_retain(tg_witness *w);

/* Appends the tollgate_witness_* gauges and counters to b. */
void tg_witness_metrics(tg_witness *w, uint64_t now_ns, tg_strbuf *b);

#endif
