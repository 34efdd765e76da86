/* Secret detectors: cloud and SaaS keys by their documented prefixes (with
 * the GitHub CRC32 checksum), JWTs whose header decodes, PEM private keys,
 * Authorization headers, key=value assignments of secrets, and generic
 * high-entropy tokens. A UUID, a hex digest or a trace id is never a
 * secret: the generic detector wants upper case, lower case and digits
 * mixed the way random base62/base64 text mixes them. */
#include <math.h>
#include <string.h>

#include "rules_int.h"
#include "tg_codec.h"

#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"

static int starts(const tg_det_in *in, size_t at, const char *lit)
{
    size_t m = strlen(lit);
    return at + m <= in->n && memcmp(in->s + at, lit, m) == 0;
}

static int starts_ci(const tg_det_in *in, size_t at, const char *lit)
{
    size_t m = strlen(lit);
    if (at + m > in->n)
        return 0;
    for (size_t i = 0; i < m; i++)
        if (tg_lower((unsigned char)in->s[at + i]) != (unsigned char)lit[i])
            return 0;
    return 1;
}

/* Length of the run of bytes in `set` (alnum plus `extra`) from `at`. */
static size_t span(const tg_det_in *in, size_t at, const char *extra, size_t max)
{
    size_t i = at;
    while (i < in->n && i - at < max &&
           (tg_isalnum((unsigned char)in->s[i]) || (in->s[i] && strchr(extra, in->s[i]))))
        i++;
    return i - at;
}

static int emit(const tg_det_in *in, tg_det_hit *hit, size_t start, size_t end)
{
    (void)in;
    hit->start = start;
    hit->end = end;
    return 1;
}

/* ---- AWS --------------------------------------------------------------------------- */

static int det_aws_key_id(const tg_det_in *in, tg_det_hit *hit)
{
    static const char *const pfx[] = {"AKIA", "ASIA", "ABIA", "ACCA", "AGPA",
                                      "AIDA", "AIPA", "ANPA", "ANVA", "APKA",
                                      "AROA", "ASCA", NULL};
    const char *s = in->s + in->pos;
    int ok = 0;

    if (in->run_end - in->pos != 20)
        return 0;
    for (int i = 0; pfx[i]; i++)
        ok |= memcmp(s, pfx[i], 4) == 0;
    if (!ok)
        return 0;
    for (int i = 4; i < 20; i++)
        if (!tg_isupper((unsigned char)s[i]) && !(s[i] >= '2' && s[i] <= '7'))
            return 0;
    return emit(in, hit, in->pos, in->run_end);
}

const tg_detector tg_det_aws_access_key_id = {
    .name = "aws_access_key_id",
    .summary = "AWS access key id (AKIA..., ASIA...)",
    .validator = "documented 4-letter prefix + 16 base32 characters",
    .first = "A",
    .min_run = 20,
    .max_run = 20,
    .match = det_aws_key_id,
};

static const char *const kw_aws_secret[] = {"aws_secret", "secret_access_key",
                                            "secretaccesskey", "aws secret", NULL};

static int det_aws_secret(const tg_det_in *in, tg_det_hit *hit)
{
    /* called on extended tokens: exactly 40 base64 characters, no - or _ */
    if (in->run_end - in->pos != 40)
        return 0;
    for (size_t i = in->pos; i < in->run_end; i++) {
        unsigned char c = (unsigned char)in->s[i];
        if (!tg_isalnum(c) && c != '+' && c != '/')
            return 0;
    }
    hit->weak = 1;
    return emit(in, hit, in->pos, in->run_end);
}

const tg_detector tg_det_aws_secret_key = {
    .name = "aws_secret_key",
    .summary = "AWS secret access key (40 base64 characters, needs a keyword)",
    .validator = "length 40 + mixed case and digits",
    .trig = TG_TRIG_TOKEN,
    .min_run = 40,
    .max_run = 40,
    .keywords = kw_aws_secret,
    .match = det_aws_secret,
};

/* ---- GitHub / GitLab / npm ----------------------------------------------------------
 */

static int b62_val(unsigned char c)
{
    if (tg_isdigit(c))
        return c - '0';
    if (tg_isupper(c))
        return c - 'A' + 10;
    if (tg_islower(c))
        return c - 'a' + 36;
    return -1;
}

static const char *const kw_token[] = {"token", "github", "auth", "secret", NULL};

/* ghp_ / gho_ / ghu_ / ghs_ / ghr_ + 30 base62 + 6 base62 of CRC32(body). */
static int det_github(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s + in->pos;
    uint64_t want = 0;
    size_t len;

    if (starts(in, in->pos, "github_pat_")) {
        len = span(in, in->pos + 11, "_", 120);
        if (len < 70 || !tg_right_ok(in->s, in->n, in->pos + 11 + len))
            return 0;
        return emit(in, hit, in->pos, in->pos + 11 + len);
    }
    if (in->run_end - in->pos != 3 || s[0] != 'g' || s[1] != 'h' ||
        !strchr("pousr", s[2]) || !s[2] || in->pos + 4 > in->n || s[3] != '_')
        return 0;
    len = span(in, in->pos + 4, "", 37);
    if (len != 36 || !tg_right_ok(in->s, in->n, in->pos + 40))
        return 0;
    for (int i = 0; i < 6; i++)
        want = want * 62 + (uint64_t)b62_val((unsigned char)s[34 + i]);
    /* A token with a wrong checksum is still token-shaped: keep it as a
     * weak hit (a keyword such as "token" nearby makes it count). */
    hit->weak = want != tg_crc32((const unsigned char *)s + 4, 30);
    return emit(in, hit, in->pos, in->pos + 40);
}

const tg_detector tg_det_github_token = {
    .name = "github_token",
    .summary = "GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
    .validator = "prefix + length + CRC32 checksum in base62",
    .first = "g",
    .runs = 0x48ULL,
    .next = "_",
    .keywords = kw_token,
    .match = det_github,
};

static int det_gitlab(const tg_det_in *in, tg_det_hit *hit)
{
    size_t len;

    if (!starts(in, in->pos, "glpat-"))
        return 0;
    len = span(in, in->pos + 6, "_-.", 200);
    if (len < 20 || !tg_right_ok(in->s, in->n, in->pos + 6 + len))
        return 0;
    return emit(in, hit, in->pos, in->pos + 6 + len);
}

const tg_detector tg_det_gitlab_token = {
    .name = "gitlab_token",
    .summary = "GitLab personal access token (glpat-...)",
    .validator = "prefix + at least 20 token characters",
    .first = "g",
    .min_run = 5,
    .max_run = 5,
    .next = "-",
    .match = det_gitlab,
};

static int det_npm(const tg_det_in *in, tg_det_hit *hit)
{
    size_t len;

    if (in->run_end - in->pos != 3 || !starts(in, in->pos, "npm_"))
        return 0;
    len = span(in, in->pos + 4, "", 37);
    if (len != 36 || !tg_right_ok(in->s, in->n, in->pos + 40))
        return 0;
    return emit(in, hit, in->pos, in->pos + 40);
}

const tg_detector tg_det_npm_token = {
    .name = "npm_token",
    .summary = "npm access token (npm_ + 36 base62)",
    .validator = "prefix + length",
    .first = "n",
    .min_run = 3,
    .max_run = 3,
    .next = "_",
    .match = det_npm,
};

/* ---- JWT -----------------------------------------------------------------------------
 */

static int det_jwt(const tg_det_in *in, tg_det_hit *hit)
{
    unsigned char hdr[512];
    size_t a = in->pos, l1, l2, l3 = 0, end;
    long hl;

    if (!starts(in, a, "eyJ"))
        return 0;
    l1 = span(in, a, "_-", 4096);
    if (l1 < 10 || a + l1 >= in->n || in->s[a + l1] != '.')
        return 0;
    l2 = span(in, a + l1 + 1, "_-", 65536);
    if (l2 < 2 || a + l1 + 1 + l2 >= in->n || in->s[a + l1 + 1 + l2] != '.')
        return 0;
    end = a + l1 + 1 + l2 + 1;
    l3 = span(in, end, "_-", 4096);
    end += l3;
    if (!tg_right_ok(in->s, in->n, end))
        return 0;
    hl = tg_base64_decode_prefix(in->s + a, l1 < 680 ? l1 : 680, hdr, sizeof(hdr) - 1);
    if (hl < 8 || hdr[0] != '{')
        return 0;
    hdr[hl] = '\0';
    if (!strstr((char *)hdr, "\"alg\"") && !strstr((char *)hdr, "\"typ\""))
        return 0;
    return emit(in, hit, a, end);
}

const tg_detector tg_det_jwt = {
    .name = "jwt",
    .summary = "JSON Web Token (header.payload.signature)",
    .validator = "three base64url parts, header decodes to JSON with \"alg\" or \"typ\"",
    .first = "e",
    .min_run = 10,
    .next = ".",
    .match = det_jwt,
};

/* ---- PEM private keys ----------------------------------------------------------------
 */

static int det_pem(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    size_t i = in->pos + 11, lim;

    if (!starts(in, in->pos, "-----BEGIN "))
        return 0;
    while (i < in->n && i - in->pos < 64 &&
           (tg_isupper((unsigned char)s[i]) || s[i] == ' '))
        i++;
    if (i < in->pos + 22 || !starts(in, i, "-----") ||
        !((i >= 11 && memcmp(s + i - 11, "PRIVATE KEY", 11) == 0) ||
          (i >= 17 && memcmp(s + i - 17, "PRIVATE KEY BLOCK", 17) == 0)))
        return 0;
    /* to the END line; an unterminated key runs to the end (fail closed) */
    lim = in->n - i > 65536 ? i + 65536 : in->n;
    for (size_t j = i + 5; j + 9 <= lim; j++) {
        if (s[j] == '-' && memcmp(s + j, "-----END ", 9) == 0) {
            size_t k = j + 9;
            while (k < lim && s[k] != '-')
                k++;
            while (k < lim && s[k] == '-')
                k++;
            return emit(in, hit, in->pos, k);
        }
    }
    return emit(in, hit, in->pos, lim);
}

const tg_detector tg_det_pem_private_key = {
    .name = "pem_private_key",
    .summary = "PEM private key block (RSA, EC, OpenSSH, PGP, PKCS#8)",
    .validator = "BEGIN ... PRIVATE KEY armour up to the END line",
    .first = "-",
    .next = "-",
    .match = det_pem,
};

/* ---- Authorization headers ------------------------------------------------------------
 */

static int det_bearer(const tg_det_in *in, tg_det_hit *hit)
{
    size_t i, len;

    if (in->run_end - in->pos != 6 || !starts_ci(in, in->pos, "bearer"))
        return 0;
    i = in->run_end;
    while (i < in->n && i - in->run_end < 4 && (in->s[i] == ' ' || in->s[i] == '\t'))
        i++;
    if (i == in->run_end)
        return 0;
    len = span(in, i, "._~+/-=", 8192);
    if (len < 16)
        return 0;
    {
        int dg = 0;
        for (size_t j = i; j < i + len; j++)
            dg |= tg_isdigit((unsigned char)in->s[j]) || in->s[j] == '.' ||
                  in->s[j] == '_' || in->s[j] == '-';
        if (!dg)
            return 0; /* "Bearer authenticationfailure" is prose */
    }
    return emit(in, hit, i, i + len);
}

const tg_detector tg_det_bearer_token = {
    .name = "bearer_token",
    .summary = "Bearer credentials (Authorization: Bearer <token>)",
    .validator = "scheme + token of at least 16 token68 characters",
    .first = "Bb",
    .min_run = 6,
    .max_run = 6,
    .next = " \t",
    .match = det_bearer,
};

static int det_basic(const tg_det_in *in, tg_det_hit *hit)
{
    unsigned char dec[512];
    size_t i, len;
    long dl;
    int colon = 0;

    if (in->run_end - in->pos != 5 || !starts_ci(in, in->pos, "basic"))
        return 0;
    i = in->run_end;
    while (i < in->n && i - in->run_end < 4 && in->s[i] == ' ')
        i++;
    if (i == in->run_end)
        return 0;
    len = span(in, i, "+/=", 680);
    if (len < 8)
        return 0;
    dl = tg_base64_decode_prefix(in->s + i, len, dec, sizeof(dec));
    if (dl < 3)
        return 0;
    for (long k = 0; k < dl; k++) {
        if (dec[k] == ':')
            colon = 1;
        else if (dec[k] < 0x20 || dec[k] == 0x7f)
            return 0;
    }
    if (!colon)
        return 0;
    return emit(in, hit, i, i + len);
}

const tg_detector tg_det_basic_auth = {
    .name = "basic_auth",
    .summary = "Basic credentials (Authorization: Basic base64(user:pass))",
    .validator = "base64 that decodes to printable user:password",
    .first = "Bb",
    .min_run = 5,
    .max_run = 5,
    .next = " ",
    .match = det_basic,
};

/* ---- SaaS keys
 * ---------------------------------------------------------------------------- */

static int det_slack(const tg_det_in *in, tg_det_hit *hit)
{
    size_t len;
    int dashes = 0;

    if (in->run_end - in->pos != 4 || !starts(in, in->pos, "xox") ||
        !strchr("abposr", in->s[in->pos + 3]) || in->pos + 5 > in->n ||
        in->s[in->pos + 4] != '-')
        return 0;
    len = span(in, in->pos + 5, "-", 256);
    for (size_t i = in->pos + 5; i < in->pos + 5 + len; i++)
        dashes += in->s[i] == '-';
    if (len < 20 || dashes < 1 || !tg_right_ok(in->s, in->n, in->pos + 5 + len))
        return 0;
    return emit(in, hit, in->pos, in->pos + 5 + len);
}

const tg_detector tg_det_slack_token = {
    .name = "slack_token",
    .summary = "Slack token (xoxb-, xoxp-, xoxa-, xoxo-, xoxs-, xoxr-)",
    .validator = "prefix + dash-separated segments",
    .first = "x",
    .min_run = 4,
    .max_run = 4,
    .next = "-",
    .match = det_slack,
};

static int det_slack_hook(const tg_det_in *in, tg_det_hit *hit)
{
    size_t i, a, b;

    if (!starts(in, in->pos, "hooks.slack.com/services/"))
        return 0;
    i = in->pos + 25;
    a = span(in, i, "", 32);
    if (a < 8 || in->s[i] != 'T' || i + a >= in->n || in->s[i + a] != '/')
        return 0;
    i += a + 1;
    b = span(in, i, "", 32);
    if (b < 8 || in->s[i] != 'B' || i + b >= in->n || in->s[i + b] != '/')
        return 0;
    i += b + 1;
    a = span(in, i, "", 64);
    if (a < 16)
        return 0;
    return emit(in, hit, in->pos, i + a);
}

const tg_detector tg_det_slack_webhook = {
    .name = "slack_webhook",
    .summary = "Slack incoming-webhook URL path",
    .validator = "hooks.slack.com/services/T.../B.../secret",
    .first = "h",
    .min_run = 5,
    .max_run = 5,
    .next = ".",
    .match = det_slack_hook,
};

static int det_stripe(const tg_det_in *in, tg_det_hit *hit)
{
    size_t len, at;

    if (in->run_end - in->pos != 2 ||
        !(starts(in, in->pos, "sk_") || starts(in, in->pos, "rk_")))
        return 0;
    if (starts(in, in->pos + 3, "live_"))
        at = in->pos + 8;
    else if (starts(in, in->pos + 3, "test_"))
        at = in->pos + 8;
    else
        return 0;
    len = span(in, at, "", 256);
    if (len < 16 || !tg_right_ok(in->s, in->n, at + len))
        return 0;
    return emit(in, hit, in->pos, at + len);
}

const tg_detector tg_det_stripe_key = {
    .name = "stripe_key",
    .summary = "Stripe secret or restricted key (sk_live_, rk_live_, sk_test_)",
    .validator = "prefix + at least 16 base62 characters",
    .first = "rs",
    .min_run = 2,
    .max_run = 2,
    .next = "_",
    .match = det_stripe,
};

static int det_google(const tg_det_in *in, tg_det_hit *hit)
{
    size_t len;

    if (!starts(in, in->pos, "AIza"))
        return 0;
    len = span(in, in->pos + 4, "_-", 36);
    if (len != 35 || !tg_right_ok(in->s, in->n, in->pos + 39))
        return 0;
    return emit(in, hit, in->pos, in->pos + 39);
}

const tg_detector tg_det_google_api_key = {
    .name = "google_api_key",
    .summary = "Google API key (AIza + 35 characters)",
    .validator = "prefix + exact length",
    .first = "A",
    .min_run = 4,
    .match = det_google,
};

static int det_openai(const tg_det_in *in, tg_det_hit *hit)
{
    size_t len;

    if (in->run_end - in->pos != 2 || !starts(in, in->pos, "sk-"))
        return 0;
    if (starts(in, in->pos + 3, "ant-"))
        return 0; /* Anthropic: its own detector */
    len = span(in, in->pos + 3, "_-", 256);
    if (len < 40 || !tg_right_ok(in->s, in->n, in->pos + 3 + len))
        return 0;
    /* legacy keys carry "T3BlbkFJ"; project and service keys a prefix */
    if (!memmem(in->s + in->pos, 3 + len, "T3BlbkFJ", 8) &&
        !starts(in, in->pos + 3, "proj-") && !starts(in, in->pos + 3, "svcacct-") &&
        !starts(in, in->pos + 3, "admin-"))
        return 0;
    return emit(in, hit, in->pos, in->pos + 3 + len);
}

const tg_detector tg_det_openai_api_key = {
    .name = "openai_api_key",
    .summary = "OpenAI API key (sk-proj-..., sk-...T3BlbkFJ...)",
    .validator = "prefix + marker + length",
    .first = "s",
    .min_run = 2,
    .max_run = 2,
    .next = "-",
    .match = det_openai,
};

static int det_anthropic(const tg_det_in *in, tg_det_hit *hit)
{
    size_t len;

    if (in->run_end - in->pos != 2 || !starts(in, in->pos, "sk-ant-"))
        return 0;
    len = span(in, in->pos + 7, "_-", 256);
    if (len < 40 || !tg_right_ok(in->s, in->n, in->pos + 7 + len))
        return 0;
    return emit(in, hit, in->pos, in->pos + 7 + len);
}

const tg_detector tg_det_anthropic_api_key = {
    .name = "anthropic_api_key",
    .summary = "Anthropic API key (sk-ant-...)",
    .validator = "prefix + length",
    .first = "s",
    .min_run = 2,
    .max_run = 2,
    .next = "-",
    .match = det_anthropic,
};

static int det_sendgrid(const tg_det_in *in, tg_det_hit *hit)
{
    size_t a, b;

    if (in->run_end - in->pos != 2 || !starts(in, in->pos, "SG."))
        return 0;
    a = span(in, in->pos + 3, "_-", 23);
    if (a != 22 || in->pos + 25 >= in->n || in->s[in->pos + 25] != '.')
        return 0;
    b = span(in, in->pos + 26, "_-", 44);
    if (b != 43 || !tg_right_ok(in->s, in->n, in->pos + 69))
        return 0;
    return emit(in, hit, in->pos, in->pos + 69);
}

const tg_detector tg_det_sendgrid_key = {
    .name = "sendgrid_key",
    .summary = "SendGrid API key (SG.xxx.yyy)",
    .validator = "prefix + 22 + 43 characters",
    .first = "S",
    .min_run = 2,
    .max_run = 2,
    .next = ".",
    .match = det_sendgrid,
};

/* ---- secret = value ------------------------------------------------------------------
 */

/* Triggered at '=' or ':' (rarer than words): the identifier before it must
 * end in a secret-like name (password, db.password, DB_PASSWORD,
 * client_secret, "api-key"), the value after it must not be a placeholder. */
static int det_assign(const tg_det_in *in, tg_det_hit *hit)
{
    static const struct {
        const char *name;
        uint8_t len;
    } names[] = {{"password", 8},       {"passwd", 6},        {"pwd", 3},
                 {"pass", 4},           {"passphrase", 10},   {"secret", 6},
                 {"apikey", 6},         {"api_key", 7},       {"api-key", 7},
                 {"token", 5},          {"access_token", 12}, {"auth_token", 10},
                 {"client_secret", 13}, {"private_key", 11}};
    static const char *const empty[] = {"null", "none",     "true", "false", "undefined",
                                        "nil",  "redacted", "xxx",  "***",   NULL};
    const char *s = in->s;
    size_t i = in->pos, e, v, vlen;
    int found = 0;
    char q = 0;

    /* back over `"password" :` to the end of the identifier */
    e = i;
    while (e > 0 && i - e < 8 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
        e--;
    if (e > 0 && (s[e - 1] == '"' || s[e - 1] == '\''))
        e--;
    if (e < 3)
        return 0;
    /* every name ends in one of these letters: most identifiers stop here */
    switch (tg_lower((unsigned char)s[e - 1])) {
    case 'd':
    case 's':
    case 't':
    case 'y':
    case 'n':
    case 'e':
        break;
    default:
        return 0;
    }
    /* compare suffixes in place: no scan back over the whole identifier */
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]) && !found; k++) {
        size_t m = names[k].len;
        unsigned char before;
        if (m > e || names[k].name[m - 1] != tg_lower((unsigned char)s[e - 1]) ||
            !starts_ci(in, e - m, names[k].name))
            continue;
        /* a whole segment: the identifier's start, or after _ . - */
        before = e - m ? (unsigned char)s[e - m - 1] : ' ';
        found = !tg_isalnum(before);
    }
    if (!found)
        return 0;
    i++;
    while (i < in->n && (s[i] == ' ' || s[i] == '\t') && i - in->pos < 64)
        i++;
    if (i < in->n && (s[i] == '"' || s[i] == '\'')) {
        q = s[i];
        i++;
    }
    v = i;
    while (i < in->n && i - v < 1024) {
        unsigned char c = (unsigned char)s[i];
        if (q ? c == (unsigned char)q
              : (tg_cls[c] & TG_C_SPACE) || c == '&' || c == ';' || c == ',' ||
                    c == '"' || c == '\'' || c == '}' || c == ']' || c == ')')
            break;
        i++;
    }
    vlen = i - v;
    if (vlen < 3 || s[v] == '$' || s[v] == '%' || s[v] == '<' || s[v] == '{' ||
        s[v] == '[')
        return 0;
    for (int k = 0; empty[k]; k++)
        if (strlen(empty[k]) == vlen && starts_ci(in, v, empty[k]))
            return 0;
    {
        int stars = 1;
        for (size_t k = v; k < v + vlen; k++)
            stars &= s[k] == '*';
        if (stars)
            return 0;
    }
    return emit(in, hit, v, v + vlen);
}

const tg_detector tg_det_secret_assignment = {
    .name = "secret_assignment",
    .summary = "value assigned to password=, secret:, api_key=, token=... in text",
    .validator = "secret-like name, '=' or ':', a non-placeholder value",
    .first = "=:",
    .prev = "dstyneDSTYNE\"' \t",
    .match = det_assign,
};

/* ---- Datadog ------------------------------------------------------------------------
 */

/* Datadog API keys are 32 and application keys 40 lower-case hex digits,
 * with no prefix: a trace id or a SHA-1 has the same shape, so a key counts
 * only next to a word that names it. */
static const char *const kw_datadog[] = {
    "datadog",    "dd api key",         "dd_api_key", "dd app key", "dd application key",
    "dd-api-key", "dd-application-key", "ddog",       NULL};

static int dd_hex(const tg_det_in *in, size_t len, tg_det_hit *hit)
{
    size_t n = in->run_end - in->pos;

    if (n != len)
        return 0;
    for (size_t i = in->pos; i < in->run_end; i++)
        if (!tg_isdigit((unsigned char)in->s[i]) && !(in->s[i] >= 'a' && in->s[i] <= 'f'))
            return 0;
    if (!emit(in, hit, in->pos, in->run_end))
        return 0;
    hit->weak = 1;
    return 1;
}

static int det_dd_api(const tg_det_in *in, tg_det_hit *hit)
{
    return dd_hex(in, 32, hit);
}

static int det_dd_app(const tg_det_in *in, tg_det_hit *hit)
{
    return dd_hex(in, 40, hit);
}

const tg_detector tg_det_datadog_api_key = {
    .name = "datadog_api_key",
    .summary = "Datadog API key (32 lower-case hex digits; needs a keyword)",
    .validator = "32 hex digits next to 'datadog', 'DD_API_KEY', 'DD-API-KEY'",
    .first = DIGITS "abcdef",
    .min_run = 32,
    .max_run = 32,
    .deny = TG_C_UP,
    .keywords = kw_datadog,
    .match = det_dd_api,
};

const tg_detector tg_det_datadog_app_key = {
    .name = "datadog_app_key",
    .summary = "Datadog application key (40 lower-case hex digits; needs a keyword)",
    .validator = "40 hex digits next to 'datadog', 'DD_APP_KEY', 'DD-APPLICATION-KEY'",
    .first = DIGITS "abcdef",
    .min_run = 33,
    .max_run = 40,
    .deny = TG_C_UP,
    .keywords = kw_datadog,
    .match = det_dd_app,
};

/* ---- generic high-entropy tokens -----------------------------------------------------
 */

/* Random base62/base64 text switches between upper case, lower case and
 * digits often; identifiers and words do not. Together with Shannon
 * entropy this keeps camelCase names, paths and hex ids out. */
static int entropy_at(const tg_det_in *in, size_t pos, size_t end, tg_det_hit *hit)
{
    const unsigned char *s = (const unsigned char *)in->s + pos;
    size_t n = end - pos, trans = 0, alnum = 0;
    unsigned cnt[256] = {0};
    int prev = 0, up = 0, lo = 0, dg = 0;
    double h = 0;

    if (n < 24 || n > 512)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        int k = tg_isupper(c) ? 1 : tg_islower(c) ? 2 : tg_isdigit(c) ? 3 : 0;
        cnt[c]++;
        if (k) {
            alnum++;
            if (prev && k != prev)
                trans++;
            prev = k;
        }
        up |= k == 1;
        lo |= k == 2;
        dg |= k == 3;
    }
    if (!(up && lo && dg) || alnum * 10 < n * 8)
        return 0;
    for (int c = 0; c < 256; c++) {
        if (cnt[c]) {
            double p = (double)cnt[c] / (double)n;
            h -= p * log2(p);
        }
    }
    if (h < 4.0 || trans * 10 < alnum * 4)
        return 0;
    if (!emit(in, hit, pos, end))
        return 0;
    /* An identifier with a short word prefix (req_, id_, cus_, evt-) is how
     * services name requests and objects: random, but not a secret unless a
     * key or a word nearby says so. */
    {
        size_t k = 0;
        while (k < n && k < 9 && tg_isalpha(s[k]))
            k++;
        if (k >= 2 && k <= 8 && k < n && (s[k] == '_' || s[k] == '-'))
            hit->weak = 1;
    }
    return 1;
}

/* A URL path joins segments with '/', which base64 also uses: the first
 * segment that is a token on its own, else the whole token. */
static int det_entropy(const tg_det_in *in, tg_det_hit *hit)
{
    size_t a = in->pos;

    if (memchr(in->s + in->pos, '/', in->run_end - in->pos)) {
        for (size_t i = in->pos; i <= in->run_end; i++) {
            if (i < in->run_end && in->s[i] != '/')
                continue;
            if (i - a >= 24 && entropy_at(in, a, i, hit))
                return 1;
            a = i + 1;
        }
    }
    return entropy_at(in, in->pos, in->run_end, hit);
}

static const char *const kw_generic[] = {"secret", "token",   "key",     "password",
                                         "passwd", "auth",    "apikey",  "credential",
                                         "bearer", "session", "private", NULL};

const tg_detector tg_det_generic_secret = {
    .name = "generic_secret",
    .summary = "high-entropy token of 24+ characters (base62/base64/url-safe); a "
               "word-prefixed id (req_..., cus_...) needs a keyword",
    .validator =
        "upper+lower+digits, Shannon entropy >= 4 bits/char, class switches >= 40%",
    .trig = TG_TRIG_TOKEN,
    .min_run = 24,
    .keywords = kw_generic,
    .match = det_entropy,
};
