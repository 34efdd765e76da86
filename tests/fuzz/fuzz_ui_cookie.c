/* Fuzzes the web UI's Cookie header parser: any header gives -1 or a
 * value that fits the buffer, holds no ';' and is NUL-terminated at the
 * length returned; never a read or write out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ui_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[] = {1, 5, 66, 4096};
    char *h = malloc(size + 1);

    if (!h)
        return 0;
    memcpy(h, data, size);
    h[size] = '\0';
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        char *out = malloc(caps[i]);
        int n = out ? tg_ui_cookie_get(h, TG_UI_COOKIE, out, caps[i]) : -1;

        if (n >= 0 && ((size_t)n >= caps[i] || n == 0 || strlen(out) != (size_t)n ||
                       strchr(out, ';')))
            abort();
        free(out);
    }
    free(h);
    return 0;
}
