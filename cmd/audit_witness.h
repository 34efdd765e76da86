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

#endif
