/* Contact, network and device detectors: e-mail, phone numbers, IPv4/IPv6,
 * MAC, credentials in URLs, IMEI, VIN, dates of birth, SQL literals.
 * Every scan here is bounded (an address is at most a few hundred bytes),
 * so the single pass over a value stays linear. */
#include <arpa/inet.h>
#include <string.h>

#include "rules_int.h"
#include "tg_phonelib.h"
#include "tg_codec.h"

#define DIGITS "0123456789"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define HEXCH "0123456789abcdefABCDEF"
/* every byte but hex digits and ':' (the tail of a longer address) */
#define NOT_HEXCOLON                                                                     \
    "\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16" \
    "\x17\x18\x19"                                                                       \
    "\x1a\x1b\x1c\x1d\x1e\x1f "                                                          \
    "!\"#$%&'()*+,-./;<=>?@GHIJKLMNOPQRSTUVWXYZ[\\]^_`ghijklmnopqrstuvwxyz{|}~"
/* every byte but ':', '-' and '.' followed by... (checked in the detector) */
#define NOT_SEP                                                                          \
    "\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16" \
    "\x17\x18\x19"                                                                       \
    "\x1a\x1b\x1c\x1d\x1e\x1f "                                                          \
    "!\"#$%&'()*+,/"                                                                     \
    ";<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"

/* ---- e-mail ------------------------------------------------------------------ */

static int local_char(unsigned char c)
{
    return tg_isalnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

/* File names such as icon@2x.png look like addresses; their "TLD" gives
 * them away. */
static int file_ext(const char *t, size_t n)
{
    static const char *const ext[] = {
        "png",  "jpg",  "jpeg", "gif", "svg",  "webp",  "ico", "bmp",  "css", "js",
        "json", "html", "htm",  "txt", "xml",  "pdf",   "md",  "yaml", "yml", "log",
        "ts",   "tsx",  "jsx",  "map", "woff", "woff2", "ttf", NULL};
    for (int i = 0; ext[i]; i++) {
        size_t m = strlen(ext[i]);
        if (m == n) {
            size_t j = 0;
            while (j < m && tg_lower((unsigned char)t[j]) == (unsigned char)ext[i][j])
                j++;
            if (j == m)
                return 1;
        }
    }
    return 0;
}

static int det_email(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    size_t at = in->pos, a = at, b, label = 0, labels = 0;

    while (a > 0 && at - a < 64 && local_char((unsigned char)s[a - 1]))
        a--;
    while (a < at && (s[a] == '.' || s[a] == '-' || s[a] == '+'))
        a++;
    if (a == at || s[at - 1] == '.')
        return 0;
    b = at + 1;
    for (;;) {
        label = b;
        while (b < in->n && b - at < 255 &&
               (tg_isalnum((unsigned char)s[b]) || s[b] == '-'))
            b++;
        if (b == label || s[label] == '-' || s[b - 1] == '-')
            return 0;
        labels++;
        if (b + 1 < in->n && s[b] == '.' && tg_isalnum((unsigned char)s[b + 1]))
            b++;
        else
            break;
    }
    if (labels < 2 || b - label < 2)
        return 0;
    for (size_t i = label; i < b; i++)
        if (!tg_isalpha((unsigned char)s[i]))
            return 0;
    if (file_ext(s + label, b - label))
        return 0;
    hit->start = a;
    hit->end = b;
    return 1;
}

const tg_detector tg_det_email = {
    .name = "email",
    .summary = "e-mail address",
    .validator = "RFC 5321 local part and domain, alphabetic TLD, not a file name",
    .first = "@",
    .prev = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-",
    .norm = TG_NORM_LOWER,
    .gen = TG_GEN_EMAIL,
    .match = det_email,
};

/* ---- phone numbers ---------------------------------------------------------------- */

static int e164_cc_ok(const char *d, unsigned nd)
{
    static const char two[] = "20273031323334363940414344454647484951525354555657"
                              "58606162636465668182848690919293949598";
    static const char zone3[] = "2122232425262935373842505967686980858788969799";
    int p2;

    if (d[0] == '1' || d[0] == '7')
        return 1;
    if (nd < 3)
        return 0;
    p2 = (d[0] - '0') * 10 + (d[1] - '0');
    for (size_t i = 0; i + 1 < sizeof(two); i += 2)
        if ((two[i] - '0') * 10 + (two[i + 1] - '0') == p2)
            return 1;
    for (size_t i = 0; i + 1 < sizeof(zone3); i += 2)
        if ((zone3[i] - '0') * 10 + (zone3[i + 1] - '0') == p2)
            return 1;
    return 0;
}

/* Digits with single separators and at most one parenthesised group. */
static size_t phone_digits(const char *s, size_t n, size_t i, char *d, unsigned *nd)
{
    int paren = 0, used_paren = 0;
    size_t last = i;

    *nd = 0;
    while (i < n && *nd < 20) {
        unsigned char c = (unsigned char)s[i];
        if (tg_isdigit(c)) {
            d[(*nd)++] = (char)c;
            i++;
            last = i;
        } else if ((c == ' ' || c == '-' || c == '.' || c == '/') && i + 1 < n &&
                   (tg_isdigit((unsigned char)s[i + 1]) ||
                    (s[i + 1] == '(' && !used_paren))) {
            i++;
        } else if (c == '(' && !used_paren && i + 1 < n &&
                   tg_isdigit((unsigned char)s[i + 1])) {
            paren = 1;
            used_paren = 1;
            i++;
        } else if (c == ')' && paren) {
            paren = 0;
            i++;
            last = i;
            if (i < n && s[i] == ' ')
                i++;
        } else {
            break;
        }
    }
    if (paren)
        return 0;
    return last;
}

static int det_e164(const tg_det_in *in, tg_det_hit *hit)
{
    char d[24];
    unsigned nd;
    size_t end;

    if (in->pos > 0 && tg_isalnum((unsigned char)in->s[in->pos - 1]))
        return 0;
    if (in->pos + 1 >= in->n || in->s[in->pos + 1] < '1' || in->s[in->pos + 1] > '9')
        return 0;
    end = phone_digits(in->s, in->n, in->pos + 1, d, &nd);
    if (!end || nd < 8 || nd > 15 || !tg_right_ok(in->s, in->n, end) ||
        !e164_cc_ok(d, nd))
        return 0;
    hit->start = in->pos;
    hit->end = end;
    return 1;
}

const tg_detector tg_det_phone_e164 = {
    .name = "phone_e164",
    .summary = "international phone number (+CC ...)",
    .validator = "ITU E.164 country code + 8..15 digits",
    .first = "+",
    .next = "123456789",
    .norm = TG_NORM_DIGITS,
    .gen = TG_GEN_PHONE,
    .match = det_e164,
};

static const char *const kw_phone[] = {"phone",   "tel",      "mobile",  "cell",
                                       "fax",     "handy",    "telefon", "call",
                                       "contact", "portable", NULL};

/* Any other national number: 8..13 digits in a phone's layout, for
 * libphonenumber to judge (tg_phonelib_valid, after the keyword gate). It
 * counts on its own only where the region is known and the number is
 * written the way people write phone numbers there: grouped, after a trunk
 * prefix ("(0174) 1234567", "073-123 45 67"); a bare run, or a number of a
 * country without a trunk prefix ("612 345 678"), needs a keyword. */
static int phone_candidate(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    char d[24];
    unsigned nd;
    size_t end;
    int formatted = 0;

    if (in->pos > 0 && tg_isalnum((unsigned char)s[in->pos - 1]))
        return 0;
    if (in->pos >= 2 && s[in->pos - 1] == '.' &&
        tg_isdigit((unsigned char)s[in->pos - 2]))
        return 0;
    end = phone_digits(s, in->n, in->pos, d, &nd);
    if (!end || nd < 8 || nd > 13 || !tg_right_ok(s, in->n, end))
        return 0;
    for (size_t i = in->pos; i < end && !formatted; i++)
        formatted = !tg_isdigit((unsigned char)s[i]);
    hit->start = in->pos;
    hit->end = end;
    hit->confirm = 1;
    hit->weak = !(in->region && formatted && (s[in->pos] == '(' || d[0] == '0'));
    return 1;
}

static int det_phone_nat(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    tg_groups g;
    size_t end;

    if (s[in->pos] == '(') {
        /* (NXX) NXX-XXXX */
        char d[24];
        unsigned nd;
        if (in->pos > 0 && tg_isalnum((unsigned char)s[in->pos - 1]))
            return 0;
        end = phone_digits(s, in->n, in->pos, d, &nd);
        if (!end || nd != 10 || d[0] < '2' || d[3] < '2' || !tg_right_ok(s, in->n, end))
            return phone_candidate(in, hit);
        hit->start = in->pos;
        hit->end = end;
        return 1;
    }
    end = tg_parse_groups(s, in->n, in->pos, " -.", &g);
    if (!end || !tg_right_ok(s, in->n, end))
        return 0;
    if (in->pos >= 2 && s[in->pos - 1] == '.' &&
        tg_isdigit((unsigned char)s[in->pos - 2]))
        return 0;
    hit->start = in->pos;
    hit->end = end;
    /* NANP 3-3-4 */
    if (g.nd == 10 && g.digits[0] >= '2' && g.digits[3] >= '2') {
        if (g.n == 3 && g.len[0] == 3 && g.len[1] == 3 && g.len[2] == 4)
            return 1;
        if (g.n == 1) {
            hit->weak = 1;
            return 1;
        }
    }
    if (g.digits[0] == '0' && g.nd >= 2 && g.digits[1] != '0') {
        /* France: 0X XX XX XX XX */
        if (g.n == 5 && g.nd == 10 && g.sep != '/') {
            int all2 = 1;
            for (unsigned i = 0; i < 5; i++)
                all2 &= g.len[i] == 2;
            if (all2)
                return 1;
        }
        /* UK mobile 07XXX XXXXXX */
        if (g.n == 2 && g.nd == 11 && g.digits[1] == '7' && g.len[0] == 5)
            return 1;
    }
    return phone_candidate(in, hit);
}

static int phone_confirm(const char *s, size_t n, const char *region)
{
    return tg_phonelib_valid(s, n, region);
}

const tg_detector tg_det_phone_national = {
    .name = "phone_national",
    .summary = "national phone number: NANP (NXX) NXX-XXXX, FR 0X XX XX XX XX, UK 07XXX "
               "XXXXXX; any other country's national format validated by libphonenumber "
               "(grouped with a trunk prefix in the site's country on its own, otherwise "
               "with a keyword)",
    .validator =
        "per-country layout; libphonenumber for the site's region (`phone.region`, "
        "`site.jurisdiction.country`), else common regions",
    .first = DIGITS "(",
    .min_nd = 8,
    .max_nd = 13,
    .deny = TG_C_UP | TG_C_LO,
    .norm = TG_NORM_DIGITS,
    .gen = TG_GEN_PHONE,
    .keywords = kw_phone,
    .match = det_phone_nat,
    .whole = TG_WHOLE_LAYOUT,
    .confirm = phone_confirm,
};

/* ---- IP addresses ------------------------------------------------------------------ */

/* Four dotted numbers are often a version: "Chrome/121.4.33.7", "v1.2.3.4",
 * "firmware 3.10.2.14". Looks at the word right before `pos` (skipping
 * blanks, ':' and '='); a capitalised product token directly before a '/'
 * ("Chrome/", "Safari/") also counts, a lower-case path segment does not
 * ("/clients/10.1.2.3"). */
static int version_context(const char *s, size_t pos)
{
    static const char *const words[] = {
        "v",         "ver",    "version", "firmware", "fw",        "build",
        "release",   "rev",    "rv",      "revision", "chrome",    "chromium",
        "firefox",   "safari", "edge",    "edg",      "opera",     "opr",
        "android",   "ios",    "windows", "kernel",   "os",        "bios",
        "driver",    "sdk",    "crios",   "fxios",    "webkit",    "applewebkit",
        "mozilla",   "gecko",  "trident", "msie",     "yabrowser", "samsungbrowser",
        "ucbrowser", NULL};
    size_t i = pos, we, ws;
    int slash = 0;

    if (i > 0 && s[i - 1] == '/') {
        slash = 1;
        i--;
    } else {
        while (
            i > 0 && pos - i < 8 &&
            (s[i - 1] == ' ' || s[i - 1] == ':' || s[i - 1] == '=' || s[i - 1] == '\t'))
            i--;
    }
    we = i;
    while (i > 0 && we - i < 24 && tg_isalpha((unsigned char)s[i - 1]))
        i--;
    ws = i;
    if (ws == we || (ws > 0 && tg_isalnum((unsigned char)s[ws - 1]) && !slash))
        return 0;
    if (slash && tg_isupper((unsigned char)s[ws]))
        return 1;
    for (int k = 0; words[k]; k++) {
        size_t m = strlen(words[k]), j = 0;
        if (m != we - ws)
            continue;
        while (j < m && tg_lower((unsigned char)s[ws + j]) == (unsigned char)words[k][j])
            j++;
        if (j == m)
            return 1;
    }
    return 0;
}

static int det_ipv4(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    tg_groups g;
    size_t end = tg_parse_groups(s, in->n, in->pos, ".", &g);
    unsigned oct[4], k = 0;

    if (!end || g.n != 4 || !tg_right_ok(s, in->n, end))
        return 0;
    if (in->pos >= 2 && s[in->pos - 1] == '.' &&
        tg_isdigit((unsigned char)s[in->pos - 2]))
        return 0;
    if (version_context(s, in->pos))
        return 0;
    for (unsigned i = 0; i < 4; i++) {
        unsigned v = 0;
        if (g.len[i] > 3 || (g.len[i] > 1 && g.digits[k] == '0'))
            return 0;
        for (unsigned j = 0; j < g.len[i]; j++)
            v = v * 10 + (unsigned)(g.digits[k++] - '0');
        if (v > 255)
            return 0;
        oct[i] = v;
    }
    /* Not a person's address: unspecified, loopback, netmasks. */
    if ((oct[0] | oct[1] | oct[2] | oct[3]) == 0 || oct[0] == 127 || oct[0] == 255)
        return 0;
    hit->start = in->pos;
    hit->end = end;
    return 1;
}

const tg_detector tg_det_ipv4 = {
    .name = "ipv4",
    .summary = "IPv4 address (not 0.0.0.0, loopback, netmasks, or a version after "
               "Chrome/, v, version, firmware)",
    .validator =
        "four octets 0..255, no leading zeros, not part of a longer dotted number",
    .first = DIGITS,
    .min_nd = 4,
    .max_nd = 12,
    .min_run = 1,
    .max_run = 3,
    .next = ".",
    .deny = TG_C_UP | TG_C_LO,
    .gen = TG_GEN_IPV4,
    .match = det_ipv4,
};

static int det_ipv6(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    size_t i = in->pos, end;
    char buf[64];
    unsigned char out[16];
    int colons = 0, groups = 0, in_group = 0;

    if (s[i] == ':') {
        if (i + 1 >= in->n || s[i + 1] != ':')
            return 0;
        if (i > 0 && (tg_ishex((unsigned char)s[i - 1]) || s[i - 1] == ':'))
            return 0;
    } else {
        if (in->run_end >= in->n || s[in->run_end] != ':')
            return 0;
        for (size_t j = in->pos; j < in->run_end; j++)
            if (!tg_ishex((unsigned char)s[j]))
                return 0;
        if (in->pos > 0 && s[in->pos - 1] == ':')
            return 0;
    }
    while (i < in->n && i - in->pos < 46) {
        unsigned char c = (unsigned char)s[i];
        if (c == ':') {
            colons++;
            in_group = 0;
        } else if (tg_ishex(c) || c == '.') {
            if (!in_group)
                groups++;
            in_group = 1;
        } else {
            break;
        }
        i++;
    }
    end = i;
    if (end > in->pos && s[end - 1] == '.')
        end--;
    if (end - in->pos >= 2 && s[end - 1] == ':' && s[end - 2] != ':')
        end--;
    if (colons < 2 || end - in->pos >= sizeof(buf) || !tg_right_ok(s, in->n, end))
        return 0;
    if (groups < 3 && s[in->pos] != ':')
        return 0;
    memcpy(buf, s + in->pos, end - in->pos);
    buf[end - in->pos] = '\0';
    if (inet_pton(AF_INET6, buf, out) != 1)
        return 0;
    {
        static const unsigned char zero[16], loop[16] = {[15] = 1};
        if (!memcmp(out, zero, 16) || !memcmp(out, loop, 16))
            return 0;
    }
    hit->start = in->pos;
    hit->end = end;
    return 1;
}

const tg_detector tg_det_ipv6 = {
    .name = "ipv6",
    .summary = "IPv6 address (not :: or ::1)",
    .validator = "inet_pton",
    .first = HEXCH ":",
    .max_run = 4,
    .next = ":",
    .prev = NOT_HEXCOLON,
    .gen = TG_GEN_IPV6,
    .match = det_ipv6,
};

/* ---- MAC ----------------------------------------------------------------------------
 */

static int det_mac(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    size_t i = in->pos, runlen = in->run_end - in->pos;
    unsigned char bytes[6];
    char sep;

    /* the tail of a longer colon- or dash-separated hex run is not a MAC */
    if (i >= 2 && (s[i - 1] == ':' || s[i - 1] == '-' || s[i - 1] == '.') &&
        tg_ishex((unsigned char)s[i - 2]))
        return 0;
    if (runlen == 2) {
        if (i + 17 > in->n)
            return 0;
        sep = s[i + 2];
        if (sep != ':' && sep != '-')
            return 0;
        for (int k = 0; k < 6; k++) {
            const char *p = s + i + 3 * k;
            if (tg_hex_decode(p, 2, &bytes[k], 1) != 1)
                return 0;
            if (k < 5 && p[2] != sep)
                return 0;
        }
        i += 17;
        if (i < in->n && (s[i] == sep || tg_ishex((unsigned char)s[i])))
            return 0;
    } else if (runlen == 4) {
        if (i + 14 > in->n)
            return 0;
        for (int k = 0; k < 3; k++) {
            const char *p = s + i + 5 * k;
            for (int j = 0; j < 4; j++)
                if (!tg_ishex((unsigned char)p[j]))
                    return 0;
            if (k < 2 && p[4] != '.')
                return 0;
        }
        memset(bytes, 0x11, sizeof(bytes));
        i += 14;
        if (i < in->n && (s[i] == '.' || tg_ishex((unsigned char)s[i])))
            return 0;
    } else {
        return 0;
    }
    if (!tg_right_ok(s, in->n, i))
        return 0;
    {
        int all0 = 1, allf = 1;
        for (int k = 0; k < 6; k++) {
            all0 &= bytes[k] == 0;
            allf &= bytes[k] == 0xff;
        }
        if (all0 || allf)
            return 0;
    }
    hit->start = in->pos;
    hit->end = i;
    return 1;
}

const tg_detector tg_det_mac_address = {
    .name = "mac_address",
    .summary = "MAC address (aa:bb:cc:dd:ee:ff, aa-bb-..., aabb.ccdd.eeff)",
    .validator = "six hex octets, one separator, not all-zero or broadcast",
    .first = HEXCH,
    .runs = 0x14ULL,
    .next = ":-.",
    .prev = NOT_SEP,
    .norm = TG_NORM_LOWER,
    .match = det_mac,
};

/* ---- credentials in URLs
 * ----------------------------------------------------------------- */

static int det_url_creds(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    size_t i = in->pos, a, colon = 0;

    if (i + 3 >= in->n || s[i + 1] != '/' || s[i + 2] != '/')
        return 0;
    a = i;
    while (a > 0 && i - a < 32 &&
           (tg_isalnum((unsigned char)s[a - 1]) || s[a - 1] == '+' || s[a - 1] == '.' ||
            s[a - 1] == '-'))
        a--;
    if (i - a < 2 || !tg_isalpha((unsigned char)s[a]))
        return 0;
    for (size_t j = i + 3; j < in->n && j - i < 512; j++) {
        unsigned char c = (unsigned char)s[j];
        if (c == '@') {
            if (!colon || colon + 1 == j)
                return 0; /* no password (an empty user with a token is one) */
            hit->start = i + 3;
            hit->end = j;
            return 1;
        }
        if (c == '/' || c == '?' || c == '#' || c == '"' || c == '<' || c == '>' ||
            (tg_cls[c] & TG_C_SPACE))
            return 0;
        if (c == ':' && !colon)
            colon = j;
    }
    return 0;
}

const tg_detector tg_det_url_credentials = {
    .name = "url_credentials",
    .summary = "user:password in a URL (scheme://user:pass@host)",
    .validator = "scheme, userinfo with a non-empty password before the host",
    .first = ":",
    .next = "/",
    .match = det_url_creds,
};

/* ---- IMEI
 * ------------------------------------------------------------------------------ */

static const char *const kw_imei[] = {"imei", "device", "handset", NULL};

static int det_imei(const tg_det_in *in, tg_det_hit *hit)
{
    static const char rbi[] = "0110303335444549505152535486919899";
    tg_groups g;
    size_t end = tg_parse_groups(in->s, in->n, in->pos, " -/", &g);
    int ok = 0;

    if (!end || g.nd != 15 || !tg_right_ok(in->s, in->n, end))
        return 0;
    for (size_t i = 0; i + 1 < sizeof(rbi); i += 2)
        ok |= rbi[i] == g.digits[0] && rbi[i + 1] == g.digits[1];
    if (!ok || !tg_luhn_ok(g.digits, 15))
        return 0;
    if (g.n == 1)
        hit->weak = 1;
    else if (!(g.n == 4 && g.len[0] == 2 && g.len[1] == 6 && g.len[2] == 6 &&
               g.len[3] == 1) &&
             !(g.n == 3 && g.len[0] == 8 && g.len[1] == 6 && g.len[2] == 1))
        return 0;
    hit->start = in->pos;
    hit->end = end;
    return 1;
}

const tg_detector tg_det_imei = {
    .name = "imei",
    .summary = "mobile device IMEI (bare 15 digits need a keyword)",
    .validator = "reporting-body prefix + Luhn",
    .first = DIGITS,
    .min_nd = 15,
    .max_nd = 15,
    .deny = TG_C_UP | TG_C_LO,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_imei,
    .match = det_imei,
};

/* ---- VIN
 * --------------------------------------------------------------------------------- */

static int vin_value(unsigned char c)
{
    static const char *const letters = "ABCDEFGHJKLMNPRSTUVWXYZ";
    static const uint8_t vals[] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                   5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9};
    if (tg_isdigit(c))
        return c - '0';
    for (int i = 0; letters[i]; i++)
        if ((unsigned char)letters[i] == c)
            return vals[i];
    return -1;
}

static int det_vin(const tg_det_in *in, tg_det_hit *hit)
{
    static const uint8_t w[17] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};
    const char *s = in->s + in->pos;
    int sum = 0, letters = 0, digits = 0;
    char check;

    if (in->run_end - in->pos != 17)
        return 0;
    for (int i = 0; i < 17; i++) {
        int v = vin_value((unsigned char)s[i]);
        if (v < 0)
            return 0;
        if (tg_isdigit((unsigned char)s[i]))
            digits++;
        else
            letters++;
        sum += v * w[i];
    }
    if (!letters || digits < 3 || strchr("UZ0", s[9]))
        return 0;
    check = sum % 11 == 10 ? 'X' : (char)('0' + sum % 11);
    if (s[8] != check)
        return 0;
    hit->start = in->pos;
    hit->end = in->run_end;
    return 1;
}

const tg_detector tg_det_vin = {
    .name = "vin",
    .summary = "vehicle identification number (17 characters)",
    .validator = "ISO 3779 alphabet + North American check digit (position 9)",
    .first = DIGITS "ABCDEFGHJKLMNPRSTUVWXYZ",
    .min_run = 17,
    .max_run = 17,
    .norm = TG_NORM_ALNUM_UPPER,
    .match = det_vin,
};

/* ---- dates of birth
 * ----------------------------------------------------------------------- */

static const char *const kw_dob[] = {"dob",       "birth",      "born",    "geburt",
                                     "naissance", "nacimiento", "nascita", "fodsel",
                                     "birthdate", "geb.",       NULL};

static int det_dob(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s + in->pos;
    size_t left = in->n - in->pos;
    int y = 0, m = 0, d = 0, ok = 0;

    if (left >= 10 && in->run_end - in->pos == 4 && (s[4] == '-' || s[4] == '/') &&
        s[7] == s[4]) {
        y = tg_2d(s) * 100 + tg_2d(s + 2);
        m = tg_2d(s + 5);
        d = tg_2d(s + 8);
        ok = m > 0 && d > 0;
    } else if (left >= 10 && in->run_end - in->pos == 2 &&
               (s[2] == '.' || s[2] == '/' || s[2] == '-') && s[5] == s[2]) {
        int a = tg_2d(s), b = tg_2d(s + 3);
        y = tg_2d(s + 6) * 100 + tg_2d(s + 8);
        if (a < 0 || b < 0)
            return 0;
        /* DD.MM.YYYY, or MM/DD/YYYY when the first part cannot be a day-month */
        d = a;
        m = b;
        if (s[2] == '/' && b > 12) {
            d = b;
            m = a;
        }
        ok = 1;
    }
    if (!ok || y < 1900 || y > 2030 || !tg_date_ok(y, m, d) ||
        !tg_right_ok(in->s, in->n, in->pos + 10))
        return 0;
    hit->start = in->pos;
    hit->end = in->pos + 10;
    hit->weak = 1;
    return 1;
}

const tg_detector tg_det_date_of_birth = {
    .name = "date_of_birth",
    .summary = "a calendar date next to a birth keyword (dob, born, geburt...)",
    .validator = "real calendar date, year 1900..2030",
    .first = DIGITS,
    .runs = 0x14ULL,
    .next = "-/.",
    .deny = TG_C_UP | TG_C_LO,
    .gen = TG_GEN_DATE,
    .keywords = kw_dob,
    .match = det_dob,
};

/* ---- SQL literals
 * -------------------------------------------------------------------------- */

static int det_sql(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    size_t i = in->pos;

    if (s[i] == '\'') {
        i++;
        while (i < in->n && i - in->pos < 65536) {
            if (s[i] == '\\' && i + 1 < in->n) {
                i += 2;
            } else if (s[i] == '\'') {
                if (i + 1 < in->n && s[i + 1] == '\'') {
                    i += 2;
                } else {
                    hit->start = in->pos;
                    hit->end = i + 1;
                    return 1;
                }
            } else {
                i++;
            }
        }
        /* unterminated: everything after the quote is literal (fail closed) */
        hit->start = in->pos;
        hit->end = i;
        return 1;
    }
    if (in->pos > 0) {
        unsigned char p = (unsigned char)s[in->pos - 1];
        if (p == '$' || p == ':' || p == '?' || p == '@' || p == '_' || p == '"' ||
            p == '`')
            return 0;
        if (p == '.' && in->pos >= 2 && tg_isalpha((unsigned char)s[in->pos - 2]))
            return 0;
    }
    /* 0x... hex, digits[.digits][e[+-]digits] */
    if (s[i] == '0' && i + 1 < in->n && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        i += 2;
        while (i < in->n && tg_ishex((unsigned char)s[i]))
            i++;
    } else {
        while (i < in->n && tg_isdigit((unsigned char)s[i]))
            i++;
        if (i + 1 < in->n && s[i] == '.' && tg_isdigit((unsigned char)s[i + 1])) {
            i++;
            while (i < in->n && tg_isdigit((unsigned char)s[i]))
                i++;
        }
        if (i + 1 < in->n && (s[i] == 'e' || s[i] == 'E')) {
            size_t j = i + 1;
            if (j < in->n && (s[j] == '+' || s[j] == '-'))
                j++;
            if (j < in->n && tg_isdigit((unsigned char)s[j])) {
                i = j;
                while (i < in->n && tg_isdigit((unsigned char)s[i]))
                    i++;
            }
        }
    }
    if (!tg_right_ok(s, in->n, i))
        return 0;
    hit->start = in->pos;
    hit->end = i;
    return 1;
}

const tg_detector tg_det_sql_literal = {
    .name = "sql_literal",
    .summary = "string and number literals in SQL (use with keys: [db.statement, "
               "db.query.text]) so statements leave obfuscated",
    .validator = "quoted strings with '' and \\ escapes; numbers not part of names or "
                 "placeholders",
    .first = "'" DIGITS,
    .match = det_sql,
};
