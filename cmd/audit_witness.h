/* The witness cross-check of `tollgate audit verify --data DIR --central
 * DIR2` (cmd/audit_witness.c). */
#ifndef TG_AUDIT_WITNESS_H
#define TG_AUDIT_WITNESS_H

#include <jansson.h>
#include <stddef.h>

/* Checks the site's log in data_dir against the witness state in the
 * centre's data directory central_dir. witness_vkey_file NULL:
 * central_dir/witness.key.vkey. Adds figures to `out`. 0 consistent, 1
 * not (what names it: "fork between site and witness: ...", "signature
 * invalid: ...", "batch N held by the centre has no leaf ..."), 2
 * unreadable input (what says which). */
int tg_audit_witness_check(const char *data_dir, const char *central_dir,
                           const char *site_vkey_file, const char *witness_vkey_file,
                           json_t *out, char *what, size_t whatlen);

#include "tg_audit_note.h"
#include "tg_strbuf.h"

/* `audit verify --endpoint URL` (cmd/audit_online.c): a site (its log over
 * the API, checked against site_key and, when given, witness_key) or a
 * centre (its witness status, checked against witness_key; site_key, when
 * given, replaces the key the witness pinned for its site). 0, 1 (what
 * names it), 2 (bad usage or no answer). */
int tg_audit_online_verify(const char *endpoint, const char *token, const char *ca_file,
                           const tg_audit_verifier *site_key,
                           const tg_audit_verifier *witness_key, json_t *out, char *what,
                           size_t whatlen);

/* `audit proof --endpoint URL --batch ID` (cmd/audit_online.c): the site's
 * tlog-proof file for the batch's ledger entry (GET /api/v1/audit/proof)
 * appended to out. With site_key it must verify (the leaf is the proof's
 * extra data). With since (a signed checkpoint the caller held before,
 * since_len bytes; needs site_key), the proof's checkpoint must extend it:
 * the site's consistency proof between the two (GET
 * /api/v1/audit/consistency) links their roots, or they are equal at the
 * same size. 0, 1 (what names it: no such batch, a proof that does not
 * verify, a fork, a rollback), 2 (no answer). */
int tg_audit_online_proof(const char *endpoint, const char *token, const char *ca_file,
                          const char *batch, const tg_audit_verifier *site_key,
                          const char *since, size_t since_len, tg_strbuf *out, char *what,
                          size_t whatlen);

#endif
