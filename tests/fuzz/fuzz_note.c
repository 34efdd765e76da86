/* Fuzzes the signed-note parser and verifier, and the vkey parser: never a
 * crash; a parsed note is its text, a blank line and its signature lines,
 * byte for byte; a parsed vkey formats back to itself. Seeds carry notes
 * signed by the keys in fuzz_audit_keys.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tg_audit.h"
#include "fuzz_audit_keys.h"
#include "tg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tg_audit_verifier vs[2];
    static int ready;
    const char *s = (const char *)data;
    tg_audit_note n;
    tg_audit_verifier v;

    if (!ready) {
        fuzz_audit_keys(vs);
        ready = 1;
    }
    if (tg_audit_note_parse(s, size, &n) == 0) {
        tg_strbuf out = {0};
        if (n.nsigs == 0 || n.text_len == 0 || n.text[n.text_len - 1] != '\n')
            abort();
        tg_strbuf_put(&out, n.text, n.text_len);
        tg_strbuf_putc(&out, '\n');
        for (size_t i = 0; i < n.nsigs; i++) {
            if (!tg_audit_name_valid(n.sigs[i].name, n.sigs[i].name_len))
                abort();
            tg_strbuf_put(&out, "\xE2\x80\x94 ", 4);
            tg_strbuf_put(&out, n.sigs[i].name, n.sigs[i].name_len);
            tg_strbuf_putc(&out, ' ');
            tg_strbuf_put(&out, n.sigs[i].b64, n.sigs[i].b64_len);
            tg_strbuf_putc(&out, '\n');
        }
        if (out.oom || out.len != size || memcmp(out.p, s, size) != 0)
            abort();
        free(out.p);
        (void)tg_audit_note_verify(&n, vs, 2);
    }
    if (tg_audit_verifier_parse(s, size, &v) == 0) {
        tg_strbuf out = {0};
        tg_audit_verifier_format(&v, &out);
        /* Byte for byte, but for the key ID's hex, which may be either
         * case on input: name "+" 8 hex digits "+" base64. */
        size_t nl = strlen(v.name);
        if (out.oom || out.len != size || memcmp(out.p, s, nl + 1) != 0 ||
            strncasecmp(out.p + nl + 1, s + nl + 1, 8) != 0 ||
            memcmp(out.p + nl + 9, s + nl + 9, size - nl - 9) != 0)
            abort();
        free(out.p);
    }
    return 0;
}
