/* Fuzzes the witness's add-checkpoint body parser (central/witness.h):
 * never a crash or a read past the input; a parsed body's note lies inside
 * it, ends the input, and follows the "old" line, a 45-byte line per
 * proof hash and the blank line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "witness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    tg_witness_request r;

    if (tg_witness_parse_request(s, size, &r) == 0) {
        if (r.note + r.note_len != s + size || r.note_len == 0 || r.note[-1] != '\n' ||
            r.note[-2] != '\n' || memcmp(s, "old ", 4) != 0 ||
            r.nproof > TG_AUDIT_PROOF_MAX || (size_t)(r.note - s) < 7 + 45 * r.nproof)
            abort();
    }
    return 0;
}
