/* The two keys the audit fuzz targets verify with, and their seeds are
 * signed with: a log key (32 bytes of 0x01) and a witness key (0x02). */
#ifndef FUZZ_AUDIT_KEYS_H
#define FUZZ_AUDIT_KEYS_H

#include <stdlib.h>
#include <string.h>

#include "tg_audit.h"

static void fuzz_audit_keys(tg_audit_verifier vs[2])
{
    uint8_t seed[32];
    tg_audit_signer s;

    memset(seed, 1, sizeof(seed));
    if (tg_audit_signer_init(&s, "tollgate.example/fra", TG_AUDIT_SIG_ED25519, seed) != 0)
        abort();
    tg_audit_signer_verifier(&s, &vs[0]);
    memset(seed, 2, sizeof(seed));
    if (tg_audit_signer_init(&s, "central.example/w", TG_AUDIT_SIG_COSIG, seed) != 0)
        abort();
    tg_audit_signer_verifier(&s, &vs[1]);
    tg_audit_signer_clear(&s);
}

#endif
