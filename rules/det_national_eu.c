/* National identifiers of Europe (UK, DE, FR, ES, IT, NL, PL, PT, the
 * Nordics, BE, CH, IE). Each validates its check digit (or, where the format has none,
 * its structure and embedded date). A bare digit run that passes a weak checksum is a
 * "weak" hit: it counts only with a keyword nearby or in the attribute key, because a
 * random 9-digit number passes a mod-11 check one time in eleven. */
#include "det_national.h"

/* ---- United Kingdom ------------------------------------------------------------- */

static const char *const kw_nhs[] = {"nhs", "chi", "health", "patient", NULL};

static int det_uk_nhs(const tg_det_in *in, tg_det_hit *hit)
{
    static const unsigned l334[] = {3, 3, 4};
    tg_groups g;
    size_t end = groups_at(in, " -", &g);
    int sum = 0, r, weak;

    if (!end || g.nd != 10)
        return 0;
    if (layout(&g, 3, l334))
        weak = 0;
    else if (g.n == 1)
        weak = 1;
    else
        return 0;
    /* Scotland's CHI number shares the check digit and starts with the
     * birth date (DDMMYY, so a leading 0..3): a date-shaped number is
     * common, so it counts only next to a label */
    if (g.digits[0] < '3') {
        if (tg_2d(g.digits) < 1 || tg_2d(g.digits) > 31 || tg_2d(g.digits + 2) < 1 ||
            tg_2d(g.digits + 2) > 12)
            return 0;
        weak = 1;
    }
    for (int i = 0; i < 9; i++)
        sum += dv(g.digits[i]) * (10 - i);
    r = 11 - sum % 11;
    if (r == 11)
        r = 0;
    if (r == 10 || r != dv(g.digits[9]))
        return 0;
    return hit_set(in, hit, end, weak);
}

const tg_detector tg_det_uk_nhs = {
    .name = "uk_nhs",
    .summary = "UK NHS number (943 476 5919; bare 10 digits need a keyword) and Scottish "
               "CHI number (DDMMYY + 4, with a keyword)",
    .validator = "mod-11 check digit (weights 10..2)",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 10,
    .max_nd = 10,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_nhs,
    .match = det_uk_nhs,
    .whole = TG_WHOLE_CHECK,
    .country = "GB",
};

static int det_uk_nino(const tg_det_in *in, tg_det_hit *hit)
{
    static const char *const bad[] = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"};
    const char *s = in->s;
    char b[9];
    size_t i = in->pos, end;

    if (in->run_end - in->pos == 9) {
        memcpy(b, s + i, 9);
        end = i + 9;
    } else if (in->run_end - in->pos == 2 && i + 13 <= in->n && s[i + 2] == ' ' &&
               s[i + 5] == ' ' && s[i + 8] == ' ' && s[i + 11] == ' ') {
        b[0] = s[i];
        b[1] = s[i + 1];
        memcpy(b + 2, s + i + 3, 2);
        memcpy(b + 4, s + i + 6, 2);
        memcpy(b + 6, s + i + 9, 2);
        b[8] = s[i + 12];
        end = i + 13;
    } else {
        return 0;
    }
    if (!tg_right_ok(s, in->n, end) || !tg_isupper((unsigned char)b[0]) ||
        !tg_isupper((unsigned char)b[1]) || strchr("DFIQUV", b[0]) ||
        strchr("DFIOQUV", b[1]))
        return 0;
    for (int k = 0; k < 7; k++)
        if (!strncmp(b, bad[k], 2))
            return 0;
    for (int k = 2; k < 8; k++)
        if (!tg_isdigit((unsigned char)b[k]))
            return 0;
    if (b[8] < 'A' || b[8] > 'D')
        return 0;
    return hit_set(in, hit, end, 0);
}

const tg_detector tg_det_uk_nino = {
    .name = "uk_nino",
    .summary = "UK National Insurance number (AB123456C)",
    .validator = "HMRC prefix rules + suffix A-D",
    .first = UPPER,
    .runs = 0x204ULL,
    .deny = TG_C_LO,
    .norm = TG_NORM_ALNUM_UPPER,
    .match = det_uk_nino,
};

/* ---- Germany ---------------------------------------------------------------------- */

static const char *const kw_de_tax[] = {
    "steuer", "idnr", "tax", "tin", "identifikationsnummer", NULL};

static int det_de_tax(const tg_det_in *in, tg_det_hit *hit)
{
    static const unsigned l2333[] = {2, 3, 3, 3};
    tg_groups g;
    size_t end = groups_at(in, " ", &g);
    int cnt[10] = {0}, multi = 0;

    if (!end || g.nd != 11 || g.digits[0] == '0' || (g.n != 1 && !layout(&g, 4, l2333)))
        return 0;
    for (int i = 0; i < 10; i++)
        cnt[dv(g.digits[i])]++;
    for (int d = 0; d < 10; d++) {
        if (cnt[d] > 3)
            return 0;
        if (cnt[d] >= 2)
            multi++;
    }
    if (multi != 1 || !tg_mod11_10_ok(g.digits, 11))
        return 0;
    return hit_set(in, hit, end, 1);
}

const tg_detector tg_det_de_tax_id = {
    .name = "de_tax_id",
    .summary = "German tax identification number, Steuer-IdNr (needs a keyword)",
    .validator = "digit-repetition rule + ISO 7064 MOD 11,10",
    .first = "123456789",
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 11,
    .max_nd = 11,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_de_tax,
    .match = det_de_tax,
    .whole = TG_WHOLE_CHECK,
    .country = "DE",
};

static int cross_sum(int v)
{
    return v / 10 + v % 10;
}

static int det_de_svnr(const tg_det_in *in, tg_det_hit *hit)
{
    static const int w[12] = {2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1};
    const char *s = in->s;
    char b[12];
    size_t i = in->pos, end;
    int d[12], sum = 0, letter, dd, mm;

    if (in->run_end - in->pos == 12) {
        memcpy(b, s + i, 12);
        end = i + 12;
    } else if (in->run_end - in->pos == 2 && i + 15 <= in->n && s[i + 2] == ' ' &&
               s[i + 9] == ' ' && s[i + 11] == ' ') {
        memcpy(b, s + i, 2);
        memcpy(b + 2, s + i + 3, 6);
        b[8] = s[i + 10];
        memcpy(b + 9, s + i + 12, 3);
        end = i + 15;
    } else {
        return 0;
    }
    if (!tg_right_ok(s, in->n, end))
        return 0;
    for (int k = 0; k < 12; k++)
        if (k != 8 && !tg_isdigit((unsigned char)b[k]))
            return 0;
    if (!tg_isupper((unsigned char)b[8]))
        return 0;
    dd = tg_2d(b + 2);
    mm = tg_2d(b + 4);
    if (dd < 1 || dd > 31 || mm < 1 || mm > 12)
        return 0;
    letter = b[8] - 'A' + 1;
    for (int k = 0; k < 8; k++)
        d[k] = dv(b[k]);
    d[8] = letter / 10;
    d[9] = letter % 10;
    d[10] = dv(b[9]);
    d[11] = dv(b[10]);
    for (int k = 0; k < 12; k++)
        sum += cross_sum(d[k] * w[k]);
    if (sum % 10 != dv(b[11]))
        return 0;
    return hit_set(in, hit, end, 0);
}

const tg_detector tg_det_de_svnr = {
    .name = "de_svnr",
    .summary =
        "German social insurance number, Rentenversicherungsnummer (65 170839 J 003)",
    .validator = "birth date + letter + check digit (weights 2121271212121, cross sums)",
    .first = DIGITS,
    .runs = 0x1004ULL,
    .min_nd = 8,
    .max_nd = 8,
    .norm = TG_NORM_ALNUM_UPPER,
    .match = det_de_svnr,
    .whole = TG_WHOLE_CHECK,
    .country = "DE",
};

/* ---- France ------------------------------------------------------------------------ */

static int det_fr_nir(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    char b[16];
    size_t i = in->pos;
    int k = 0, mm;
    uint64_t num = 0;

    while (k < 15 && i < in->n) {
        unsigned char c = (unsigned char)s[i];
        if (tg_isdigit(c) || ((k == 6) && (c == 'A' || c == 'B') && b[5] == '2')) {
            b[k++] = (char)c;
            i++;
        } else if (c == ' ' && k > 0 && i + 1 < in->n &&
                   tg_isdigit((unsigned char)s[i + 1]) &&
                   (k == 1 || k == 3 || k == 5 || k == 7 || k == 10 || k == 13)) {
            i++;
        } else {
            return 0;
        }
    }
    if (k != 15 || !tg_right_ok(s, in->n, i))
        return 0;
    if (!strchr("12378", b[0]))
        return 0;
    mm = tg_2d(b + 3);
    if (mm < 1 || (mm > 12 && mm < 20))
        return 0;
    for (int j = 0; j < 13; j++) {
        int v;
        if (j == 6 && (b[6] == 'A' || b[6] == 'B')) {
            /* Corsica: 2A counts as 19, 2B as 18 */
            num = num / 10;
            v = b[6] == 'A' ? 19 : 18;
            num = num * 100 + (uint64_t)v;
            continue;
        }
        num = num * 10 + (uint64_t)dv(b[j]);
    }
    if (97 - (int)(num % 97) != tg_2d(b + 13))
        return 0;
    return hit_set(in, hit, i, 0);
}

const tg_detector tg_det_fr_nir = {
    .name = "fr_nir",
    .summary = "French social security number, NIR / INSEE (1 85 05 78 006 084 36)",
    .validator = "sex + month layout + key = 97 - (number mod 97), Corsica 2A/2B",
    .first = "12378",
    .min_nd = 5,
    .max_nd = 15,
    .norm = TG_NORM_ALNUM_UPPER,
    .match = det_fr_nir,
    .whole = TG_WHOLE_CHECK,
    .country = "FR",
};

/* ---- Spain ------------------------------------------------------------------------- */

static const char dni_letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";

static int det_es_dni(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    size_t i = in->pos, end;
    long num = 0;
    unsigned char l;

    for (int k = 0; k < 8; k++) {
        if (i + (size_t)k >= in->n || !tg_isdigit((unsigned char)s[i + k]))
            return 0;
        num = num * 10 + dv(s[i + k]);
    }
    i += 8;
    if (i < in->n && (s[i] == '-' || s[i] == ' '))
        i++;
    if (i >= in->n)
        return 0;
    l = (unsigned char)s[i];
    if (tg_islower(l))
        l = (unsigned char)(l - 32);
    end = i + 1;
    if (l != (unsigned char)dni_letters[num % 23] || !tg_right_ok(s, in->n, end))
        return 0;
    return hit_set(in, hit, end, 0);
}

const tg_detector tg_det_es_dni = {
    .name = "es_dni",
    .summary = "Spanish national identity number, DNI/NIF (12345678Z)",
    .validator = "check letter = TRWAGMYFPDXBNJZSQVHLCKE[number mod 23]",
    .first = DIGITS,
    .min_nd = 8,
    .max_nd = 8,
    .runs = 0x300ULL,
    .norm = TG_NORM_ALNUM_UPPER,
    .match = det_es_dni,
    .whole = TG_WHOLE_CHECK,
    .country = "ES",
};

static int det_es_nie(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    size_t i = in->pos + 1, end;
    long num;
    unsigned char l;

    num = s[in->pos] == 'X' ? 0 : s[in->pos] == 'Y' ? 1 : 2;
    if (i < in->n && s[i] == '-')
        i++;
    for (int k = 0; k < 7; k++) {
        if (i >= in->n || !tg_isdigit((unsigned char)s[i]))
            return 0;
        num = num * 10 + dv(s[i++]);
    }
    if (i < in->n && s[i] == '-')
        i++;
    if (i >= in->n)
        return 0;
    l = (unsigned char)s[i];
    end = i + 1;
    if (l != (unsigned char)dni_letters[num % 23] || !tg_right_ok(s, in->n, end))
        return 0;
    return hit_set(in, hit, end, 0);
}

const tg_detector tg_det_es_nie = {
    .name = "es_nie",
    .summary = "Spanish foreigner identity number, NIE (X1234567L)",
    .validator = "X/Y/Z prefix as 0/1/2 + DNI check letter",
    .first = "XYZ",
    .runs = 0x202ULL,
    .norm = TG_NORM_ALNUM_UPPER,
    .match = det_es_nie,
    .whole = TG_WHOLE_CHECK,
    .country = "ES",
};

/* ---- Italy ----------------------------------------------------------------------------
 */

static int cf_digit(unsigned char c)
{
    static const char omo[] = "LMNPQRSTUV";
    const char *p;
    if (tg_isdigit(c))
        return c - '0';
    p = strchr(omo, c);
    return p && c ? (int)(p - omo) : -1;
}

static int det_it_cf(const tg_det_in *in, tg_det_hit *hit)
{
    static const uint8_t odd[36] = {1,  0, 5, 7,  9,  13, 15, 17, 19, 21, 1,  0,
                                    5,  7, 9, 13, 15, 17, 19, 21, 2,  4,  18, 20,
                                    11, 3, 6, 8,  12, 14, 16, 10, 22, 25, 24, 23};
    char b[16];
    int sum = 0, day;

    if (in->run_end - in->pos != 16)
        return 0;
    for (int k = 0; k < 16; k++) {
        unsigned char c = (unsigned char)in->s[in->pos + k];
        b[k] = (char)(tg_islower(c) ? c - 32 : c);
    }
    for (int k = 0; k < 6; k++)
        if (!tg_isupper((unsigned char)b[k]))
            return 0;
    if (cf_digit((unsigned char)b[6]) < 0 || cf_digit((unsigned char)b[7]) < 0 ||
        !strchr("ABCDEHLMPRST", b[8]) || !b[8] || !tg_isupper((unsigned char)b[11]) ||
        !tg_isupper((unsigned char)b[15]))
        return 0;
    for (int k = 12; k < 15; k++)
        if (cf_digit((unsigned char)b[k]) < 0)
            return 0;
    if (cf_digit((unsigned char)b[9]) < 0 || cf_digit((unsigned char)b[10]) < 0)
        return 0;
    day = cf_digit((unsigned char)b[9]) * 10 + cf_digit((unsigned char)b[10]);
    if (!((day >= 1 && day <= 31) || (day >= 41 && day <= 71)))
        return 0;
    for (int k = 0; k < 15; k++) {
        unsigned char c = (unsigned char)b[k];
        int v = tg_isdigit(c) ? c - '0' : c - 'A' + 10;
        if (k % 2 == 0)
            sum += odd[v];
        else
            sum += tg_isdigit(c) ? c - '0' : c - 'A';
    }
    if (b[15] != 'A' + sum % 26)
        return 0;
    return hit_set(in, hit, in->run_end, 0);
}

const tg_detector tg_det_it_codice_fiscale = {
    .name = "it_codice_fiscale",
    .summary = "Italian fiscal code, codice fiscale (RSSMRA85T10A562S)",
    .validator = "layout with month letter and omocodia + odd/even check character",
    .first = ALPHA,
    .min_run = 16,
    .max_run = 16,
    .need = TG_C_DIG,
    .norm = TG_NORM_ALNUM_UPPER,
    .match = det_it_cf,
    .whole = TG_WHOLE_CHECK,
    .country = "IT",
};

/* ---- Netherlands, Poland, Portugal
 * ------------------------------------------------------ */

static const char *const kw_bsn[] = {"bsn", "burgerservicenummer", "sofi", NULL};

static int det_nl_bsn(const tg_det_in *in, tg_det_hit *hit)
{
    static const unsigned l423[] = {4, 2, 3};
    tg_groups g;
    size_t end = groups_at(in, ".", &g);
    int sum = 0;

    if (!end || g.nd != 9 || (g.n != 1 && !layout(&g, 3, l423)))
        return 0;
    for (int i = 0; i < 8; i++)
        sum += dv(g.digits[i]) * (9 - i);
    sum -= dv(g.digits[8]);
    if (sum % 11 != 0 || sum == 0)
        return 0;
    return hit_set(in, hit, end, 1);
}

const tg_detector tg_det_nl_bsn = {
    .name = "nl_bsn",
    .summary = "Dutch citizen service number, BSN (needs a keyword such as 'bsn')",
    .validator = "11-proof (weights 9..2, -1)",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 9,
    .max_nd = 9,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_bsn,
    .match = det_nl_bsn,
    .whole = TG_WHOLE_CHECK,
    .country = "NL",
};

static const char *const kw_pesel[] = {"pesel", NULL};

static int det_pl_pesel(const tg_det_in *in, tg_det_hit *hit)
{
    static const int w[10] = {1, 3, 7, 9, 1, 3, 7, 9, 1, 3};
    tg_groups g;
    size_t end = groups_at(in, "", &g);
    int sum = 0, yy, mm, dd, y;

    if (!end || g.nd != 11)
        return 0;
    for (int i = 0; i < 10; i++)
        sum += dv(g.digits[i]) * w[i];
    if ((10 - sum % 10) % 10 != dv(g.digits[10]))
        return 0;
    yy = tg_2d(g.digits);
    mm = tg_2d(g.digits + 2);
    dd = tg_2d(g.digits + 4);
    if (mm > 80) {
        y = 1800 + yy;
        mm -= 80;
    } else if (mm > 60) {
        y = 2200 + yy;
        mm -= 60;
    } else if (mm > 40) {
        y = 2100 + yy;
        mm -= 40;
    } else if (mm > 20) {
        y = 2000 + yy;
        mm -= 20;
    } else {
        y = 1900 + yy;
    }
    if (!tg_date_ok(y, mm, dd))
        return 0;
    return hit_set(in, hit, end, 1);
}

const tg_detector tg_det_pl_pesel = {
    .name = "pl_pesel",
    .summary = "Polish national identification number, PESEL (needs a keyword)",
    .validator = "embedded birth date with century offsets + weighted mod-10 (1,3,7,9)",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 11,
    .max_nd = 11,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_pesel,
    .match = det_pl_pesel,
    .whole = TG_WHOLE_CHECK,
    .country = "PL",
};

static const char *const kw_nip[] = {"nip", "vat", "tax", NULL};

static int det_pl_nip(const tg_det_in *in, tg_det_hit *hit)
{
    static const int w[9] = {6, 5, 7, 2, 3, 4, 5, 6, 7};
    static const unsigned a[] = {3, 3, 2, 2}, b[] = {3, 2, 2, 3};
    tg_groups g;
    size_t end = groups_at(in, "-", &g);
    int sum = 0;

    if (!end || g.nd != 10 || (g.n != 1 && !layout(&g, 4, a) && !layout(&g, 4, b)))
        return 0;
    for (int i = 0; i < 9; i++)
        sum += dv(g.digits[i]) * w[i];
    if (sum % 11 == 10 || sum % 11 != dv(g.digits[9]))
        return 0;
    return hit_set(in, hit, end, 1);
}

const tg_detector tg_det_pl_nip = {
    .name = "pl_nip",
    .summary = "Polish tax identification number, NIP (needs a keyword)",
    .validator = "weighted mod-11 (6,5,7,2,3,4,5,6,7)",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 10,
    .max_nd = 10,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_nip,
    .match = det_pl_nip,
};

static const char *const kw_pt_nif[] = {"nif", "contribuinte", "nipc", NULL};

static int det_pt_nif(const tg_det_in *in, tg_det_hit *hit)
{
    tg_groups g;
    size_t end = groups_at(in, "", &g);
    int sum = 0, r;

    if (!end || g.nd != 9 || !strchr("1235689", g.digits[0]))
        return 0;
    for (int i = 0; i < 8; i++)
        sum += dv(g.digits[i]) * (9 - i);
    r = 11 - sum % 11;
    if (r >= 10)
        r = 0;
    if (r != dv(g.digits[8]))
        return 0;
    return hit_set(in, hit, end, 1);
}

const tg_detector tg_det_pt_nif = {
    .name = "pt_nif",
    .summary = "Portuguese tax number, NIF (needs a keyword such as 'nif')",
    .validator = "first-digit rule + weighted mod-11 (9..2)",
    .first = "1235689",
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 9,
    .max_nd = 9,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_pt_nif,
    .match = det_pt_nif,
    .whole = TG_WHOLE_CHECK,
    .country = "PT",
};

/* ---- Nordics --------------------------------------------------------------------------
 */

static const char *const kw_se[] = {"personnummer", "personal identity", "pnr", NULL};

static int det_se_pnr(const tg_det_in *in, tg_det_hit *hit)
{
    static const unsigned a[] = {6, 4}, b[] = {8, 4};
    tg_groups g;
    size_t end = groups_at(in, "-+", &g);
    const char *d;
    int weak, mm, dd;

    if (!end)
        return 0;
    if (layout(&g, 2, a) || layout(&g, 2, b))
        weak = 0;
    else if (g.n == 1 && (g.nd == 10 || g.nd == 12))
        weak = 1;
    else
        return 0;
    d = g.digits + (g.nd == 12 ? 2 : 0);
    if (g.nd == 12 && tg_2d(g.digits) != 18 && tg_2d(g.digits) != 19 &&
        tg_2d(g.digits) != 20)
        return 0;
    mm = tg_2d(d + 2);
    dd = tg_2d(d + 4);
    if (dd > 60)
        dd -= 60; /* coordination number */
    if (!tg_date_ok(2000, mm, dd) || !tg_luhn_ok(d, 10))
        return 0;
    return hit_set(in, hit, end, weak);
}

const tg_detector tg_det_se_personnummer = {
    .name = "se_personnummer",
    .summary = "Swedish personal identity number (YYMMDD-NNNC)",
    .validator = "birth date (coordination +60) + Luhn",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 6,
    .max_nd = 12,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_se,
    .match = det_se_pnr,
    .whole = TG_WHOLE_CHECK,
    .country = "SE",
};

static int det_fi_hetu(const tg_det_in *in, tg_det_hit *hit)
{
    static const char check[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";
    const char *s = in->s + in->pos;
    long num = 0;
    int century, dd, mm, yy, z;

    if (in->n - in->pos < 11)
        return 0;
    for (int k = 0; k < 6; k++)
        if (!tg_isdigit((unsigned char)s[k]))
            return 0;
    switch (s[6]) {
    case '+':
        century = 1800;
        break;
    case '-':
    case 'Y':
    case 'X':
    case 'W':
    case 'V':
    case 'U':
        century = 1900;
        break;
    case 'A':
    case 'B':
    case 'C':
    case 'D':
    case 'E':
    case 'F':
        century = 2000;
        break;
    default:
        return 0;
    }
    for (int k = 7; k < 10; k++)
        if (!tg_isdigit((unsigned char)s[k]))
            return 0;
    dd = tg_2d(s);
    mm = tg_2d(s + 2);
    yy = tg_2d(s + 4);
    if (!tg_date_ok(century + yy, mm, dd))
        return 0;
    z = dv(s[7]) * 100 + tg_2d(s + 8);
    if (z < 2)
        return 0;
    for (int k = 0; k < 6; k++)
        num = num * 10 + dv(s[k]);
    num = num * 1000 + z;
    if (s[10] != check[num % 31] || !tg_right_ok(in->s, in->n, in->pos + 11))
        return 0;
    return hit_set(in, hit, in->pos + 11, 0);
}

const tg_detector tg_det_fi_hetu = {
    .name = "fi_hetu",
    .summary = "Finnish personal identity code, HETU (131052-308T)",
    .validator = "birth date + century sign + mod-31 check character",
    .first = DIGITS,
    .min_nd = 6,
    .max_nd = 10, /* "131052-3080": a digit check character joins the token */
    .runs = 0x840ULL,
    .norm = TG_NORM_ALNUM_UPPER,
    .match = det_fi_hetu,
    .whole = TG_WHOLE_CHECK,
    .country = "FI",
};

static const char *const kw_no[] = {"fodselsnummer", "fødselsnummer", "fnr",
                                    "personnummer", NULL};

static int det_no_fnr(const tg_det_in *in, tg_det_hit *hit)
{
    static const int w1[9] = {3, 7, 6, 1, 8, 9, 4, 5, 2};
    static const int w2[10] = {5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
    static const unsigned l65[] = {6, 5};
    tg_groups g;
    size_t end = groups_at(in, " ", &g);
    int s1 = 0, s2 = 0, k1, k2, dd, mm;

    if (!end || g.nd != 11 || (g.n != 1 && !layout(&g, 2, l65)))
        return 0;
    dd = tg_2d(g.digits);
    mm = tg_2d(g.digits + 2);
    if (dd > 40)
        dd -= 40; /* D-number */
    if (mm > 40)
        mm -= 40; /* H-number */
    if (!tg_date_ok(2000, mm, dd))
        return 0;
    for (int i = 0; i < 9; i++)
        s1 += dv(g.digits[i]) * w1[i];
    k1 = 11 - s1 % 11;
    if (k1 == 11)
        k1 = 0;
    if (k1 == 10 || k1 != dv(g.digits[9]))
        return 0;
    for (int i = 0; i < 10; i++)
        s2 += dv(g.digits[i]) * w2[i];
    k2 = 11 - s2 % 11;
    if (k2 == 11)
        k2 = 0;
    if (k2 == 10 || k2 != dv(g.digits[10]))
        return 0;
    return hit_set(in, hit, end, 1);
}

const tg_detector tg_det_no_fnr = {
    .name = "no_fnr",
    .summary = "Norwegian national identity number, fodselsnummer (needs a keyword)",
    .validator = "birth date (D/H numbers) + two mod-11 check digits",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 11,
    .max_nd = 11,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_no,
    .match = det_no_fnr,
    .whole = TG_WHOLE_CHECK,
    .country = "NO",
};

static const char *const kw_cpr[] = {"cpr", "personnummer", NULL};

static int det_dk_cpr(const tg_det_in *in, tg_det_hit *hit)
{
    static const unsigned l64[] = {6, 4};
    tg_groups g;
    size_t end = groups_at(in, "-", &g);

    if (!end || g.nd != 10 || (g.n != 1 && !layout(&g, 2, l64)))
        return 0;
    if (!tg_date_ok(2000, tg_2d(g.digits + 2), tg_2d(g.digits)))
        return 0;
    return hit_set(in, hit, end, 1);
}

const tg_detector tg_det_dk_cpr = {
    .name = "dk_cpr",
    .summary =
        "Danish personal identification number, CPR (needs a keyword such as 'cpr')",
    .validator = "birth date DDMMYY (no mandatory check digit since 2007)",
    .first = "0123",
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 10,
    .max_nd = 10,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_cpr,
    .match = det_dk_cpr,
};

/* ---- Belgium, Switzerland, Ireland --------------------------------------------------
 */

static const char *const kw_nrn[] = {
    "rijksregister", "registre national", "nrn", "insz", "niss", NULL};

static int det_be_nrn(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s + in->pos;
    char d[11];
    size_t end;
    int weak, mm;
    long base;

    if (in->n - in->pos >= 15 && s[2] == '.' && s[5] == '.' && s[8] == '-' &&
        s[12] == '.') {
        int k = 0;
        for (int i = 0; i < 15; i++) {
            if (i == 2 || i == 5 || i == 8 || i == 12)
                continue;
            if (!tg_isdigit((unsigned char)s[i]))
                return 0;
            d[k++] = s[i];
        }
        end = in->pos + 15;
        weak = 0;
    } else {
        tg_groups g;
        end = groups_at(in, "", &g);
        if (!end || g.nd != 11)
            return 0;
        memcpy(d, g.digits, 11);
        weak = 1;
    }
    if (!tg_right_ok(in->s, in->n, end))
        return 0;
    mm = tg_2d(d + 2);
    if (!((mm <= 12) || (mm >= 20 && mm <= 32) || (mm >= 40 && mm <= 52)) ||
        tg_2d(d + 4) > 31)
        return 0;
    base = 0;
    for (int i = 0; i < 9; i++)
        base = base * 10 + dv(d[i]);
    if (97 - base % 97 != tg_2d(d + 9) && 97 - (2000000000L + base) % 97 != tg_2d(d + 9))
        return 0;
    return hit_set(in, hit, end, weak);
}

const tg_detector tg_det_be_nrn = {
    .name = "be_nrn",
    .summary = "Belgian national register number (85.07.30-033.28)",
    .validator = "birth date + check = 97 - (number mod 97), 2000+ variant",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 11,
    .max_nd = 11,
    .runs = 0x804ULL,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_nrn,
    .match = det_be_nrn,
    .whole = TG_WHOLE_CHECK,
    .country = "BE",
};

static int det_ch_ahv(const tg_det_in *in, tg_det_hit *hit)
{
    static const unsigned l3442[] = {3, 4, 4, 2};
    tg_groups g;
    size_t end = groups_at(in, ".", &g);
    int sum = 0;

    if (!end || g.nd != 13 || strncmp(g.digits, "756", 3) != 0 ||
        (g.n != 1 && !layout(&g, 4, l3442)))
        return 0;
    for (int i = 0; i < 12; i++)
        sum += dv(g.digits[i]) * (i % 2 ? 3 : 1);
    if ((10 - sum % 10) % 10 != dv(g.digits[12]))
        return 0;
    return hit_set(in, hit, end, 0);
}

const tg_detector tg_det_ch_ahv = {
    .name = "ch_ahv",
    .summary = "Swiss social security number, AHV/AVS (756.1234.5678.97)",
    .validator = "prefix 756 + EAN-13 check digit",
    .first = "7",
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 13,
    .max_nd = 13,
    .norm = TG_NORM_DIGITS,
    .match = det_ch_ahv,
    .whole = TG_WHOLE_CHECK,
    .country = "CH",
};

static int det_ie_pps(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s + in->pos;
    size_t len = in->run_end - in->pos;
    int sum = 0, r;
    char want;

    if (len != 8 && len != 9)
        return 0;
    for (int i = 0; i < 7; i++) {
        if (!tg_isdigit((unsigned char)s[i]))
            return 0;
        sum += dv(s[i]) * (8 - i);
    }
    if (!tg_isupper((unsigned char)s[7]))
        return 0;
    if (len == 9) {
        if (s[8] == 'W')
            ;
        else if (s[8] >= 'A' && s[8] <= 'I')
            sum += (s[8] - 'A' + 1) * 9;
        else
            return 0;
    }
    r = sum % 23;
    want = r == 0 ? 'W' : (char)('A' + r - 1);
    if (s[7] != want)
        return 0;
    return hit_set(in, hit, in->run_end, 0);
}

const tg_detector tg_det_ie_pps = {
    .name = "ie_pps",
    .summary = "Irish Personal Public Service number, PPSN (1234567TW)",
    .validator = "weighted mod-23 check letter",
    .first = DIGITS,
    .min_run = 8,
    .max_run = 9,
    .min_nd = 7,
    .max_nd = 7,
    .norm = TG_NORM_ALNUM_UPPER,
    .match = det_ie_pps,
    .whole = TG_WHOLE_CHECK,
    .country = "IE",
};
