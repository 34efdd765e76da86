/* Read-only access to what a site's data directory holds for the audit
 * report (`tollgate audit report --data DIR`, docs/audit.md). */
#ifndef TG_OUTBOX_REPORT_H
#define TG_OUTBOX_REPORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct tg_outbox_report_checkpoint {
    char origin[256];
    uint64_t size; /* 0: the log has no checkpoint yet */
    char root[64]; /* base64, as the note writes it */
    /* The witness's word as the site stored it: the size it last cosigned
     * (0: none) and the key name on that cosignature line. */
    uint64_t witness_size;
    char witness_key[128];
} tg_outbox_report_checkpoint;

/* Called with each leaf in index order (fn NULL: the checkpoint only); a non-zero return
 * stops the walk and is returned. */
typedef int (*tg_outbox_report_leaf_fn)(void *ctx, const uint8_t *leaf, size_t len);

/* Reads the newest signed checkpoint of the log in outbox_dir into cp and
 * calls fn with each leaf it covers (leaves beyond it are not counted: no
 * signature vouches for them yet). Signatures are not checked here: run
 * tg_outbox_audit_verify for that. 0; TG_ESTORE / TG_ENOT_FOUND (no
 * outbox, no log) or fn's code, with a message in err. */
int tg_outbox_report_read(const char *outbox_dir, tg_outbox_report_leaf_fn fn, void *ctx,
                          tg_outbox_report_checkpoint *cp, char *err, size_t errlen);

#endif
