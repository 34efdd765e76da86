/* Character classes, checksums and small parsers the detectors share.
 * Everything here is bounded: no function reads more than a fixed number of
 * bytes past its start, so a detector never turns a scan quadratic. */
#include <string.h>
#include <zlib.h>

#include "rules_int.h"
#include "tg_codec.h"

/* Bits: 1 digit, 2 upper, 4 lower, 8 token joiner (_ - + /), 16 hex digit,
 * 32 white space. */
const uint8_t tg_cls[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  32, 32, 32, 32, 32, 0,  0, 0, 0, 0, 0, 0, 0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  32, 0,  0,  0,  0,  0, 0, 0, 0, 0, 0, 8,
    0,  8,  0,  8,  17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 0,  0, 0, 0, 0, 0, 0, 18,
    18, 18, 18, 18, 18, 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2, 2, 2, 2, 2, 2, 2,
    2,  2,  2,  0,  0,  0,  0,  8,  0,  20, 20, 20, 20, 20, 20, 4, 4, 4, 4, 4, 4, 4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  0,  0,  0, 0, 0, 0, 0, 0, 0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0, 0, 0, 0, 0, 0, 0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0, 0, 0, 0, 0, 0, 0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0, 0, 0, 0, 0, 0, 0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0, 0, 0, 0, 0, 0, 0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0, 0, 0, 0, 0, 0, 0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
};

int tg_luhn_ok(const char *d, size_t n)
{
    unsigned sum = 0;
    int dbl = 0;

    if (n < 2)
        return 0;
    for (size_t i = n; i-- > 0;) {
        unsigned v = (unsigned)(d[i] - '0');
        if (v > 9)
            return 0;
        if (dbl) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
        dbl = !dbl;
    }
    return sum % 10 == 0;
}

static const uint8_t verhoeff_d[10][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
    {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
    {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
    {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
    {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
};
static const uint8_t verhoeff_p[8][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
    {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
    {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
    {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
};

int tg_verhoeff_ok(const char *d, size_t n)
{
    unsigned c = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)(d[n - 1 - i] - '0');
        if (v > 9)
            return 0;
        c = verhoeff_d[c][verhoeff_p[i % 8][v]];
    }
    return n > 1 && c == 0;
}

int tg_mod11_10_ok(const char *d, size_t n)
{
    unsigned p = 10;

    if (n < 2)
        return 0;
    for (size_t i = 0; i + 1 < n; i++) {
        unsigned s = ((unsigned)(d[i] - '0') + p) % 10;
        if (s == 0)
            s = 10;
        p = (2 * s) % 11;
    }
    unsigned check = 11 - p;
    if (check == 10)
        check = 0;
    return check == (unsigned)(d[n - 1] - '0');
}

int tg_date_ok(int y, int m, int d)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (y < 1800 || y > 2199 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 0;
    return 1;
}

int tg_2d(const char *p)
{
    if (!tg_isdigit((unsigned char)p[0]) || !tg_isdigit((unsigned char)p[1]))
        return -1;
    return (p[0] - '0') * 10 + (p[1] - '0');
}

int tg_right_ok(const char *s, size_t n, size_t end)
{
    return end >= n || !tg_isalnum((unsigned char)s[end]);
}

size_t tg_parse_groups(const char *s, size_t n, size_t pos, const char *seps,
                       tg_groups *g)
{
    size_t i = pos;

    memset(g, 0, sizeof(*g));
    if (i >= n || !tg_isdigit((unsigned char)s[i]))
        return 0;
    for (;;) {
        unsigned len = 0;
        while (i < n && tg_isdigit((unsigned char)s[i])) {
            if (g->nd < sizeof(g->digits) - 1)
                g->digits[g->nd] = s[i];
            g->nd++;
            len++;
            i++;
            if (g->nd > 40)
                return i; /* far too long for any detector: stop early */
        }
        if (g->n < 12)
            g->len[g->n] = len;
        g->n++;
        if (i + 1 < n && tg_isdigit((unsigned char)s[i + 1]) && g->n < 12 &&
            (g->sep == 0 || g->sep == s[i])) {
            int is_sep = 0;
            for (const char *p = seps; *p && !is_sep; p++)
                is_sep = *p == s[i];
            if (!is_sep)
                break;
            g->sep = s[i];
            i++;
            continue;
        }
        break;
    }
    g->digits[g->nd < sizeof(g->digits) - 1 ? g->nd : sizeof(g->digits) - 1] = '\0';
    return i;
}

uint32_t tg_crc32(const unsigned char *p, size_t n)
{
    return (uint32_t)crc32(0L, p, (uInt)n);
}

/* Is there a word start at s[i]? Not after a letter or digit, except at a
 * lower-to-upper case change ("userTel"). */
static int word_start(const char *s, size_t i)
{
    unsigned char p, c;

    if (i == 0)
        return 1;
    p = (unsigned char)s[i - 1];
    c = (unsigned char)s[i];
    return !tg_isalnum(p) || (tg_islower(p) && tg_isupper(c));
}

/* Is there a word end before s[i]? Not before a letter, except at a case
 * change ("telNumber"); a plural "s" that ends the word is allowed. */
static int word_end(const char *s, size_t n, size_t i)
{
    unsigned char p, c;

    if (i >= n)
        return 1;
    p = (unsigned char)s[i - 1];
    c = (unsigned char)s[i];
    if (!tg_isalpha(c) || (tg_islower(p) && tg_isupper(c)))
        return 1;
    return tg_lower(c) == 's' && (i + 1 >= n || !tg_isalpha((unsigned char)s[i + 1]));
}

static int kw_sep(unsigned char c)
{
    return c == ' ' || c == '_' || c == '-' || c == '.' || c == '/';
}

/* Matches keyword kw (lower case, m bytes) at s[i]: a separator between two
 * alphanumeric bytes of the keyword matches one separator or none in the
 * text. Returns the end in s, or 0. */
static size_t kw_at(const char *kw, size_t m, const char *s, size_t n, size_t i)
{
    size_t j = 0;

    while (j < m) {
        unsigned char k = (unsigned char)kw[j];
        if (kw_sep(k) && j > 0 && j + 1 < m && tg_isalnum((unsigned char)kw[j - 1]) &&
            tg_isalnum((unsigned char)kw[j + 1])) {
            if (i < n && kw_sep((unsigned char)s[i]))
                i++;
            j++;
            continue;
        }
        if (i >= n || tg_lower((unsigned char)s[i]) != k)
            return 0;
        i++;
        j++;
    }
    return i;
}

int tg_keywords_in(const char *const *kw, const uint8_t *kwlen, size_t nkw, const char *s,
                   size_t n)
{
    return tg_keywords_from(kw, kwlen, nkw, s, n, 0);
}

int tg_keywords_from(const char *const *kw, const uint8_t *kwlen, size_t nkw,
                     const char *s, size_t n, size_t from)
{
    /* word starts are few: find them first, then try each keyword there */
    for (size_t i = from; i < n; i++) {
        unsigned char c = tg_lower((unsigned char)s[i]);
        if (!word_start(s, i))
            continue;
        for (size_t k = 0; k < nkw; k++) {
            size_t m, e;
            if ((unsigned char)kw[k][0] != c)
                continue;
            m = kwlen ? kwlen[k] : strlen(kw[k]);
            if (m == 0 || !(e = kw_at(kw[k], m, s, n, i)))
                continue;
            /* short keywords are whole words ("tel" is not in "hotel" or
             * "telemetry"); longer ones may start a compound ("birthdate") */
            if (m >= 5 || !tg_isalnum((unsigned char)kw[k][m - 1]) || word_end(s, n, e))
                return 1;
        }
    }
    return 0;
}

/* ISO 3166-1 alpha-2, plus XK (used by IBAN for Kosovo). */
static const char iso_countries[] =
    "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ"
    "CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFO"
    "FRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJE"
    "JMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMMMNMO"
    "MPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPW"
    "PYQARERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTM"
    "TNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVIVNVUWFWSYEYTZAZMZWXK";

int tg_iso_country_ok(const char *cc)
{
    for (size_t i = 0; i + 1 < sizeof(iso_countries); i += 2)
        if (iso_countries[i] == cc[0] && iso_countries[i + 1] == cc[1])
            return 1;
    return 0;
}

int tg_url_has_escape(const char *s, size_t n)
{
    const char *p = s, *e = s + n;

    while ((p = memchr(p, '%', (size_t)(e - p))) != NULL) {
        if (e - p >= 3 && tg_hex_digit(p[1]) >= 0 && tg_hex_digit(p[2]) >= 0)
            return 1;
        p++;
    }
    return 0;
}

size_t tg_url_decode(const char *s, size_t n, char *out, uint32_t *map)
{
    size_t o = 0;
    int query = 0;

    for (size_t i = 0; i < n; i++) {
        if (map)
            map[o] = (uint32_t)i;
        if (s[i] == '%' && i + 2 < n && tg_hex_digit(s[i + 1]) >= 0 &&
            tg_hex_digit(s[i + 2]) >= 0) {
            out[o++] = (char)(tg_hex_digit(s[i + 1]) << 4 | tg_hex_digit(s[i + 2]));
            i += 2;
            continue;
        }
        if (s[i] == '?')
            query = 1;
        out[o++] = query && s[i] == '+' ? ' ' : s[i];
    }
    if (map)
        map[o] = (uint32_t)n;
    return o;
}

int tg_url_decode_nested(tg_arena *a, const char *s, size_t n, char **out, size_t *n_out,
                         uint32_t **map)
{
    char *buf = tg_arena_alloc(a, n ? n : 1);
    uint32_t *m = tg_arena_alloc(a, (n + 1) * sizeof(*m));
    size_t len;

    if (!buf || !m)
        return TG_ENOMEM;
    len = tg_url_decode(s, n, buf, m);
    for (int r = 1; r < TG_URL_ROUNDS && tg_url_has_escape(buf, len); r++) {
        char *b2 = tg_arena_alloc(a, len ? len : 1);
        uint32_t *m2 = tg_arena_alloc(a, (len + 1) * sizeof(*m2));
        size_t l2;
        if (!b2 || !m2)
            return TG_ENOMEM;
        l2 = tg_url_decode(buf, len, b2, m2);
        for (size_t i = 0; i <= l2; i++)
            m2[i] = m[m2[i]];
        buf = b2;
        m = m2;
        len = l2;
    }
    *out = buf;
    *n_out = len;
    *map = m;
    return 0;
}

void tg_url_encode(tg_strbuf *sb, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (tg_isalnum(c) || strchr("-._~*:@!$'()", c) != NULL) {
            if (c)
                tg_strbuf_put(sb, (const char *)&c, 1);
            else
                tg_strbuf_put(sb, "%00", 3);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            tg_strbuf_put(sb, e, 3);
        }
    }
}
