/* Name templates: the variable parts of names that always leave (span,
 * event and metric names, status messages, http.route, url.path,
 * rpc.method) replaced by placeholders, so the centre sees
 * "GET /accounts/{id}/statements" and "charge {num}", never the account or
 * the amount. The raw name stays at the site.
 *
 * A name is cut into tokens (runs of letters, digits, '_' and '-'; digits
 * joined by '.' or ',' are one number). A token is kept when it is wording:
 * no digit, or a word with a short version-like number ("v2", "http2",
 * "sha256", "k8s"). Otherwise it becomes {num} (digits only), {uuid},
 * {hex} (8+ hex digits), or {id} (anything else holding digits, and any
 * variable token that is a whole URL path segment). A long mixed-case run
 * without digits (a base64 id) is {id} too. Whatever a detector matched is
 * {id} in a path segment and {redacted} elsewhere, whatever its action. */
#include <string.h>

#include "rules_int.h"

static int tok_byte(unsigned char c)
{
    return tg_isalnum(c) || c == '_' || c == '-';
}

static int all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!tg_ishex((unsigned char)s[i]))
            return 0;
    return 1;
}

static int is_uuid(const char *s, size_t n)
{
    if (n != 36)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !tg_ishex((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* NULL: keep the token. */
static const char *token_kind(const char *s, size_t n, int segment)
{
    size_t digits = 0, up = 0, lo = 0, trans = 0, lead = 0;
    int prev = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int k = tg_isdigit(c) ? 1 : tg_isupper(c) ? 2 : tg_islower(c) ? 3 : 0;
        digits += k == 1;
        up += k == 2;
        lo += k == 3;
        if (k && prev && k != prev)
            trans++;
        if (k)
            prev = k;
    }
    if (digits == 0) {
        /* a base64 id has no digit now and then; words switch case rarely */
        if (n >= 20 && up >= 3 && lo >= 3 && trans * 4 >= n)
            return "{id}";
        return NULL;
    }
    if (is_uuid(s, n))
        return segment ? "{id}" : "{uuid}";
    if (digits == n || (digits + 2 >= n && tg_isdigit((unsigned char)s[0]) &&
                        tg_isdigit((unsigned char)s[n - 1]) && !up && !lo))
        return segment ? "{id}" : "{num}";
    if (n >= 8 && all_hex(s, n))
        return segment ? "{id}" : "{hex}";
    /* letters, then at most three digits (and an optional letter): wording */
    while (lead < n && tg_isalpha((unsigned char)s[lead]))
        lead++;
    if (lead >= 1 && digits <= 3) {
        size_t i = lead, d = 0;
        while (i < n && tg_isdigit((unsigned char)s[i])) {
            i++;
            d++;
        }
        if (d == digits && (i == n || (i + 1 == n && tg_isalpha((unsigned char)s[i]))))
            return NULL;
    }
    if (digits == 1 && n <= 4)
        return NULL; /* k8s, s3a */
    return "{id}";
}

/* Is [a, b) a whole path segment ('/' before it, '/', '?', '#', ';' or the
 * end after it)? */
static int whole_segment(const char *s, size_t n, size_t a, size_t b)
{
    return a > 0 && s[a - 1] == '/' &&
           (b >= n || s[b] == '/' || s[b] == '?' || s[b] == '#' || s[b] == ';' ||
            s[b] == '.');
}

size_t tg_rules__name_template(const char *s, size_t n, const tg_finding *F, size_t nf,
                               tg_strbuf *sb)
{
    size_t i = 0, f = 0, before = sb->len;

    while (i < n) {
        size_t j;
        const char *kind;

        while (f < nf && (F[f].flags & TG_F_WHOLE || F[f].end <= i))
            f++;
        if (f < nf && F[f].start <= i) {
            size_t e = F[f].end < n ? F[f].end : n;
            /* overlapping matches are one placeholder */
            for (size_t g = f + 1; g < nf && F[g].start < e; g++)
                if (!(F[g].flags & TG_F_WHOLE) && F[g].end > e)
                    e = F[g].end < n ? F[g].end : n;
            {
                const char *ph = whole_segment(s, n, i, e) ? "{id}" : "{redacted}";
                tg_strbuf_put(sb, ph, strlen(ph));
            }
            i = e;
            continue;
        }
        if (!tok_byte((unsigned char)s[i])) {
            tg_strbuf_put(sb, s + i, 1);
            i++;
            continue;
        }
        j = i;
        while (j < n && (tok_byte((unsigned char)s[j]) ||
                         ((s[j] == '.' || s[j] == ',') && j > i &&
                          tg_isdigit((unsigned char)s[j - 1]) && j + 1 < n &&
                          tg_isdigit((unsigned char)s[j + 1]))))
            j++;
        if (f < nf && F[f].start < j)
            j = F[f].start; /* a match starts inside: the token ends there */
        kind = token_kind(s + i, j - i, whole_segment(s, n, i, j));
        if (kind)
            tg_strbuf_put(sb, kind, strlen(kind));
        else
            tg_strbuf_put(sb, s + i, j - i);
        i = j;
    }
    return sb->len - before;
}

int tg_rules__name_key(const char *key)
{
    static const char *const keys[] = {"http.route", "url.path", "rpc.method",
                                       "http.target", NULL};

    for (int k = 0; key && keys[k]; k++)
        if (!strcmp(key, keys[k]))
            return 1;
    return 0;
}
