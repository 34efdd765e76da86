/* The bearer tokens a site presents to the centre, read from a token file
 * by both sides of the link (the site's forwarder, the centre's registry). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tg_err.h"
#include "tg_wire.h"

int tg_wire_read_token(const char *path, char *out, size_t cap)
{
    FILE *fp = fopen(path, "r");
    struct stat st;
    size_t n, a = 0;

    if (!fp)
        return TG_EIO;
    /* A secret others on the host can read is no secret (ssh's rule for
     * private keys): the file itself, as opened, so a rename cannot race. */
    if (fstat(fileno(fp), &st) != 0 || (st.st_mode & (S_IRWXG | S_IRWXO))) {
        fclose(fp);
        return TG_ECONFIG;
    }
    n = fread(out, 1, cap - 1, fp);
    if (!feof(fp) && n == cap - 1) {
        fclose(fp);
        return TG_EINVAL;
    }
    fclose(fp);
    out[n] = '\0';
    while (n > 0 && isspace((unsigned char)out[n - 1]))
        out[--n] = '\0';
    while (a < n && isspace((unsigned char)out[a]))
        a++;
    memmove(out, out + a, n - a + 1);
    for (size_t i = 0; out[i]; i++)
        if ((unsigned char)out[i] < 0x21 || (unsigned char)out[i] > 0x7e)
            return TG_EINVAL; /* it goes into an HTTP header */
    return out[0] ? 0 : TG_EINVAL;
}

const char *tg_wire_token_why(int rc)
{
    switch (rc) {
    case TG_EIO:
        return "missing or unreadable";
    case TG_ECONFIG:
        return "readable by group or others: chmod 600 it";
    default:
        return "empty, too long or not printable";
    }
}
