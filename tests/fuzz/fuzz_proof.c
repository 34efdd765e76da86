/* Fuzzes the tlog-proof file parser and verifier: never a crash, and a
 * parsed file formats back to the same bytes. The leaf checked is "leaf
 * <index>", which is what the seeds' trees hold, signed by the keys
 * in fuzz_audit_keys.h, so valid seeds verify to the end. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_audit.h"
#include "tg_codec.h"
#include "fuzz_audit_keys.h"
#include "tg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tg_audit_verifier vs[2];
    static int ready;
    const char *s = (const char *)data;
    tg_audit_proof *p = malloc(sizeof(*p));

    if (!p)
        return 0;
    if (!ready) {
        fuzz_audit_keys(vs);
        ready = 1;
    }
    if (tg_audit_proof_parse(s, size, p) == 0) {
        tg_strbuf out = {0};
        uint8_t *extra = malloc(p->extra_len + 1);
        long el = 0;
        char leaf[32];
        int ll;

        if (!extra)
            abort();
        if (p->extra)
            el = tg_base64_decode(p->extra, p->extra_len, extra, p->extra_len);
        if (el < 0 || (p->extra && el == 0))
            abort(); /* the parser let through extra data that is not base64 */
        if (tg_audit_proof_format(p->index, extra, (size_t)el, p->path, p->npath,
                                  p->checkpoint, p->checkpoint_len, &out) == 0 &&
            (out.len != size || memcmp(out.p, s, size) != 0))
            abort();
        free(out.p);
        free(extra);
        ll = snprintf(leaf, sizeof(leaf), "leaf %" PRIu64, p->index);
        (void)tg_audit_proof_verify(s, size, leaf, (size_t)ll, NULL, vs, 2, NULL, NULL);
    }
    free(p);
    return 0;
}
