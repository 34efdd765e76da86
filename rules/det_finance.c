/* Payment and banking detectors: card numbers, IBAN, US routing numbers,
 * SWIFT/BIC. Each validates what the format allows (Luhn plus issuer prefix
 * plus length; ISO 13616 mod-97; ABA weighted mod-10) so that digit runs
 * that merely look right (a 13-digit millisecond timestamp) are not cards. */
#include <string.h>

#include "rules_int.h"

#define DIGITS "0123456789"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

static int prefix_n(const char *d, unsigned k)
{
    int v = 0;
    for (unsigned i = 0; i < k; i++)
        v = v * 10 + (d[i] - '0');
    return v;
}

/* Issuer identification number and length, per network: 1 a card, 2 a
 * card only next to a keyword (13-digit Visa, legacy 15-digit JCB, the
 * wide Maestro ranges: an EAN-13 or an order number passes Luhn one time
 * in ten), 0 not a card. */
static int card_iin_ok(const char *d, unsigned len)
{
    int p2 = prefix_n(d, 2), p3 = prefix_n(d, 3), p4 = prefix_n(d, 4);
    int p6 = prefix_n(d, 6);

    if (d[0] == '4')
        return len == 16 || len == 19 ? 1 : len == 13 ? 2 : 0; /* Visa */
    if ((p4 == 2131 || p4 == 1800) && len == 15)
        return 2; /* JCB, legacy */
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
        return len == 16; /* Mastercard */
    if (p2 == 34 || p2 == 37)
        return len == 15; /* American Express */
    if (p4 >= 2200 && p4 <= 2204)
        return len >= 16 && len <= 19; /* Mir */
    if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 ||
        (p6 >= 622126 && p6 <= 622925))
        return len >= 16 && len <= 19; /* Discover */
    if (p4 >= 3528 && p4 <= 3589)
        return len >= 16 && len <= 19; /* JCB */
    if ((p3 >= 300 && p3 <= 305) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39)
        return len >= 14 && len <= 19; /* Diners Club */
    if (p2 == 62)
        return len >= 16 && len <= 19; /* UnionPay */
    if (p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 ||
        p4 == 6759 || p4 == 6761 || p4 == 6762 || p4 == 6763)
        return len >= 12 && len <= 19; /* Maestro */
    if (p2 == 60 || p2 == 81 || p2 == 82 || p3 == 508)
        return len == 16; /* RuPay */
    if (p2 == 50 || (p2 >= 56 && p2 <= 69))
        return len >= 12 && len <= 19 ? 2 : 0; /* Maestro, the rest of its ranges */
    return 0;
}

static int det_card(const tg_det_in *in, tg_det_hit *hit)
{
    tg_groups g;
    size_t end = tg_parse_groups(in->s, in->n, in->pos, " -", &g);
    int iin;

    if (!end || g.nd < 12 || g.nd > 19 || !tg_right_ok(in->s, in->n, end))
        return 0;
    if (g.n > 1) {
        /* 4-4-4-4(-3), 4-6-5 (Amex), 4-6-4 (Diners) */
        if (g.n > 5 || g.len[0] != 4)
            return 0;
        for (unsigned i = 1; i + 1 < g.n; i++)
            if (g.len[i] != 4 && g.len[i] != 6)
                return 0;
        if (g.len[g.n - 1] < 1 || g.len[g.n - 1] > 6)
            return 0;
    }
    if (!(iin = card_iin_ok(g.digits, g.nd)) || !tg_luhn_ok(g.digits, g.nd))
        return 0;
    hit->start = in->pos;
    hit->end = end;
    hit->weak = iin == 2;
    return 1;
}

static const char *const kw_card[] = {"card", "pan",   "visa",    "mastercard", "maestro",
                                      "jcb",  "amex",  "credit",  "debit",      "payment",
                                      "kart", "carte", "tarjeta", "karte",      NULL};

const tg_detector tg_det_credit_card = {
    .name = "credit_card",
    .summary =
        "payment card number (PAN), plain or grouped in 4s (13-digit Visa, legacy JCB "
        "and the wide Maestro ranges with a keyword)",
    .validator = "Luhn + issuer prefix (IIN) + per-network length",
    .first = DIGITS,
    .min_nd = 12,
    .max_nd = 19,
    .deny = TG_C_UP | TG_C_LO,
    .norm = TG_NORM_DIGITS,
    .gen = TG_GEN_NONE,
    .keywords = kw_card,
    .match = det_card,
    .whole = TG_WHOLE_CHECK,
};

/* ---- IBAN ------------------------------------------------------------------ */

static const struct {
    char cc[3];
    uint8_t len;
} iban_len[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28},
    {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24},
    {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18},
    {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23},
    {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
    {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24},
    {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15},
    {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22},
    {"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
    {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22},
    {"VG", 24}, {"XK", 20},
};

static unsigned iban_length(const char *cc)
{
    for (size_t i = 0; i < sizeof(iban_len) / sizeof(iban_len[0]); i++)
        if (iban_len[i].cc[0] == cc[0] && iban_len[i].cc[1] == cc[1])
            return iban_len[i].len;
    return 0;
}

static unsigned mod97_step(unsigned rem, unsigned char c)
{
    if (tg_isdigit(c))
        return (rem * 10 + (unsigned)(c - '0')) % 97;
    return (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
}

/* ISO 13616: move the first four characters to the end, letters count as
 * 10..35, the number mod 97 must be 1. */
int tg_iban_mod97_ok(const char *b, size_t len)
{
    unsigned rem = 0;

    for (size_t i = 4; i < len; i++)
        rem = mod97_step(rem, (unsigned char)b[i]);
    for (size_t i = 0; i < 4; i++)
        rem = mod97_step(rem, (unsigned char)b[i]);
    return rem == 1;
}

static int det_iban(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    size_t i = in->pos;
    char buf[40];
    unsigned want, k = 0;
    int spaced;

    if (in->pos + 4 > in->n || !tg_isupper((unsigned char)s[i + 1]) ||
        !tg_isdigit((unsigned char)s[i + 2]) || !tg_isdigit((unsigned char)s[i + 3]))
        return 0;
    want = iban_length(s + i);
    if (!want)
        return 0;
    spaced = in->run_end - in->pos == 4;
    while (k < want) {
        unsigned char c;
        if (i >= in->n)
            return 0;
        c = (unsigned char)s[i];
        if (tg_isdigit(c) || tg_isupper(c)) {
            buf[k++] = (char)c;
            i++;
        } else if (spaced && c == ' ' && k % 4 == 0 && i + 1 < in->n &&
                   tg_isalnum((unsigned char)s[i + 1])) {
            i++;
        } else {
            return 0;
        }
    }
    if (!tg_right_ok(s, in->n, i) || !tg_iban_mod97_ok(buf, want))
        return 0;
    hit->start = in->pos;
    hit->end = i;
    return 1;
}

const tg_detector tg_det_iban = {
    .name = "iban",
    .summary = "International Bank Account Number, plain or grouped in 4s",
    .validator = "ISO 13616 country length + mod-97",
    .first = UPPER,
    .need = TG_C_UP | TG_C_DIG,
    .deny = TG_C_LO,
    .runs = 0x7ffff8010ULL,
    .norm = TG_NORM_ALNUM_UPPER,
    .match = det_iban,
};

/* ---- US ABA routing number -------------------------------------------------- */

static const char *const kw_aba[] = {"routing", "aba", "rtn", "transit", NULL};

static int det_aba(const tg_det_in *in, tg_det_hit *hit)
{
    tg_groups g;
    size_t end = tg_parse_groups(in->s, in->n, in->pos, "", &g);
    const char *d = g.digits;
    int p2, sum;

    if (!end || g.nd != 9 || !tg_right_ok(in->s, in->n, end))
        return 0;
    p2 = prefix_n(d, 2);
    if (!(p2 <= 12 || (p2 >= 21 && p2 <= 32) || (p2 >= 61 && p2 <= 72) || p2 == 80))
        return 0;
    sum = 3 * ((d[0] - '0') + (d[3] - '0') + (d[6] - '0')) +
          7 * ((d[1] - '0') + (d[4] - '0') + (d[7] - '0')) +
          ((d[2] - '0') + (d[5] - '0') + (d[8] - '0'));
    if (sum % 10 != 0 || sum == 0)
        return 0;
    hit->start = in->pos;
    hit->end = end;
    hit->weak = 1;
    return 1;
}

const tg_detector tg_det_aba_routing = {
    .name = "aba_routing",
    .summary = "US ABA bank routing number (needs a keyword such as 'routing')",
    .validator = "Federal Reserve prefix + weighted mod-10 (3,7,1)",
    .first = DIGITS,
    .min_nd = 9,
    .max_nd = 9,
    .deny = TG_C_UP | TG_C_LO,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_aba,
    .match = det_aba,
};

/* ---- SWIFT / BIC -------------------------------------------------------------- */

static const char *const kw_bic[] = {"swift", "bic", NULL};

static int det_bic(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s + in->pos;
    size_t len = in->run_end - in->pos;

    if (len != 8 && len != 11)
        return 0;
    for (int i = 0; i < 6; i++)
        if (!tg_isupper((unsigned char)s[i]))
            return 0;
    for (size_t i = 6; i < len; i++)
        if (!tg_isupper((unsigned char)s[i]) && !tg_isdigit((unsigned char)s[i]))
            return 0;
    if (!tg_iso_country_ok(s + 4))
        return 0;
    hit->start = in->pos;
    hit->end = in->run_end;
    hit->weak = 1;
    return 1;
}

const tg_detector tg_det_swift_bic = {
    .name = "swift_bic",
    .summary = "SWIFT/BIC bank identifier (needs a keyword such as 'swift' or 'bic')",
    .validator = "ISO 9362 layout + ISO 3166 country",
    .first = UPPER,
    .runs = 0x900ULL,
    .norm = TG_NORM_ALNUM_UPPER,
    .keywords = kw_bic,
    .match = det_bic,
};
