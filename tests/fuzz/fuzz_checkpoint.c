/* Fuzzes the tlog-checkpoint parser, alone and behind signature checks:
 * never a crash, and whatever parses formats back to the same bytes (one
 * spelling per checkpoint, so a changed byte is never silently equal). The
 * seeds hold checkpoints signed by the keys in fuzz_audit_keys.h, so
 * verification runs to the end on them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_audit.h"
#include "fuzz_audit_keys.h"
#include "tg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tg_audit_verifier vs[2];
    static int ready;
    const char *s = (const char *)data;
    tg_audit_checkpoint cp;
    tg_audit_note n;

    if (!ready) {
        fuzz_audit_keys(vs);
        ready = 1;
    }
    if (tg_audit_checkpoint_parse(s, size, &cp) == 0) {
        tg_strbuf out = {0};
        if (tg_audit_checkpoint_format(&cp, &out) != 0 || out.len != size ||
            memcmp(out.p, s, size) != 0)
            abort();
        free(out.p);
    }
    if (tg_audit_checkpoint_open(s, size, vs, 2, &cp, &n) == 0) {
        int log = 0;
        for (size_t i = 0; i < n.nsigs; i++)
            log |= n.sigs[i].verifier == 0;
        if (!log || strcmp(cp.origin, vs[0].name) != 0)
            abort(); /* opened without the log's signature */
    }
    return 0;
}
