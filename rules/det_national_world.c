/* National identifiers of the Americas and Asia-Pacific (US, BR, CA, IN,
 * CN, SG, AU) and health identifiers. Each validates its check
 * digit (or, where the format has none, its structure and embedded date).
 * A bare digit run that passes a weak checksum is a "weak" hit: it counts
 * only with a keyword nearby or in the attribute key, because a random
 * 9-digit number passes a mod-11 check one time in eleven. */
#include "det_national.h"

/* ---- United States ------------------------------------------------------------- */

static const char *const kw_ssn[] = {
    "ssn", "social security", "social_security", "socialsecurity", "sozialversicherung",
    NULL};

static int ssn_like(const tg_det_in *in, tg_groups *g, size_t *end, int *weak)
{
    static const unsigned l334[] = {3, 2, 4};

    *end = groups_at(in, "- ", g);
    if (!*end || g->nd != 9)
        return 0;
    if (layout(g, 3, l334))
        *weak = 0;
    else if (g->n == 1)
        *weak = 1;
    else
        return 0;
    return 1;
}

static int det_us_ssn(const tg_det_in *in, tg_det_hit *hit)
{
    tg_groups g;
    size_t end;
    int weak, area;

    if (!ssn_like(in, &g, &end, &weak))
        return 0;
    area = dv(g.digits[0]) * 100 + tg_2d(g.digits + 1);
    if (area == 0 || area == 666 || area >= 900 || tg_2d(g.digits + 3) == 0 ||
        !strcmp(g.digits + 5, "0000") || !strcmp(g.digits, "078051120") ||
        !strcmp(g.digits, "219099999"))
        return 0;
    return hit_set(in, hit, end, weak);
}

const tg_detector tg_det_us_ssn = {
    .name = "us_ssn",
    .summary = "US Social Security number (AAA-GG-SSSS; bare 9 digits need a keyword)",
    .validator =
        "area not 000/666/9xx, group not 00, serial not 0000, known fakes excluded",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 9,
    .max_nd = 9,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_ssn,
    .match = det_us_ssn,
};

static const char *const kw_itin[] = {"itin", "taxpayer", "tin", NULL};

static int det_us_itin(const tg_det_in *in, tg_det_hit *hit)
{
    tg_groups g;
    size_t end;
    int weak, grp;

    if (!ssn_like(in, &g, &end, &weak) || g.digits[0] != '9')
        return 0;
    grp = tg_2d(g.digits + 3);
    if (!((grp >= 50 && grp <= 65) || (grp >= 70 && grp <= 88) ||
          (grp >= 90 && grp <= 92) || (grp >= 94 && grp <= 99)))
        return 0;
    return hit_set(in, hit, end, weak);
}

const tg_detector tg_det_us_itin = {
    .name = "us_itin",
    .summary = "US Individual Taxpayer Identification Number (9XX-7X-XXXX)",
    .validator = "area 9xx, group in the IRS ranges 50-65, 70-88, 90-92, 94-99",
    .first = "9",
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 9,
    .max_nd = 9,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_itin,
    .match = det_us_itin,
};

static const char *const kw_npi[] = {"npi", "provider", "prescriber", NULL};

static int det_us_npi(const tg_det_in *in, tg_det_hit *hit)
{
    tg_groups g;
    size_t end = groups_at(in, "", &g);
    char buf[16];

    if (!end || g.nd != 10 || (g.digits[0] != '1' && g.digits[0] != '2'))
        return 0;
    memcpy(buf, "80840", 5);
    memcpy(buf + 5, g.digits, 10);
    if (!tg_luhn_ok(buf, 15))
        return 0;
    return hit_set(in, hit, end, 1);
}

const tg_detector tg_det_us_npi = {
    .name = "us_npi",
    .summary = "US National Provider Identifier (needs a keyword such as 'npi')",
    .validator = "Luhn over 80840 + the 10 digits, first digit 1 or 2",
    .first = "12",
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 10,
    .max_nd = 10,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_npi,
    .match = det_us_npi,
};

static const char *const kw_dea[] = {"dea", "registration", "prescriber", NULL};

static int det_us_dea(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s + in->pos;
    int a, b;

    if (in->run_end - in->pos != 9 || !strchr("ABCDEFGHJKLMPRSTUX", s[0]) ||
        !(tg_isupper((unsigned char)s[1]) || s[1] == '9'))
        return 0;
    for (int i = 2; i < 9; i++)
        if (!tg_isdigit((unsigned char)s[i]))
            return 0;
    a = dv(s[2]) + dv(s[4]) + dv(s[6]);
    b = dv(s[3]) + dv(s[5]) + dv(s[7]);
    if ((a + 2 * b) % 10 != dv(s[8]))
        return 0;
    return hit_set(in, hit, in->run_end, 1);
}

const tg_detector tg_det_us_dea = {
    .name = "us_dea",
    .summary = "US DEA registration number (needs a keyword such as 'dea')",
    .validator = "registrant letter + (d1+d3+d5 + 2*(d2+d4+d6)) mod 10",
    .first = "ABCDEFGHJKLMPRSTUX",
    .min_run = 9,
    .max_run = 9,
    .norm = TG_NORM_ALNUM_UPPER,
    .keywords = kw_dea,
    .match = det_us_dea,
};

static int mbi_alpha(unsigned char c)
{
    return tg_isupper(c) && !strchr("SLOIBZ", c);
}

static int det_us_mbi(const tg_det_in *in, tg_det_hit *hit)
{
    /* C A AN N A AN N A A N N */
    static const char shape[] = "CAMNAMNAANN";
    char b[11];
    size_t i = in->pos, end;
    int k = 0;

    if (in->run_end - in->pos == 11) {
        memcpy(b, in->s + i, 11);
        end = i + 11;
    } else if (in->run_end - in->pos == 4 && i + 13 <= in->n && in->s[i + 4] == '-' &&
               in->s[i + 8] == '-') {
        memcpy(b, in->s + i, 4);
        memcpy(b + 4, in->s + i + 5, 3);
        memcpy(b + 7, in->s + i + 9, 4);
        end = i + 13;
    } else {
        return 0;
    }
    if (!tg_right_ok(in->s, in->n, end))
        return 0;
    for (k = 0; k < 11; k++) {
        unsigned char c = (unsigned char)b[k];
        switch (shape[k]) {
        case 'C':
            if (c < '1' || c > '9')
                return 0;
            break;
        case 'N':
            if (!tg_isdigit(c))
                return 0;
            break;
        case 'A':
            if (!mbi_alpha(c))
                return 0;
            break;
        default:
            if (!mbi_alpha(c) && !tg_isdigit(c))
                return 0;
        }
    }
    return hit_set(in, hit, end, 0);
}

const tg_detector tg_det_us_mbi = {
    .name = "us_mbi",
    .summary = "US Medicare Beneficiary Identifier (1EG4-TE5-MK73)",
    .validator = "CMS character layout (no S, L, O, I, B, Z)",
    .first = "123456789",
    .runs = 0x810ULL,
    .min_nd = 1,
    .max_nd = 1,
    .norm = TG_NORM_ALNUM_UPPER,
    .match = det_us_mbi,
};

/* ---- India, Brazil, Canada
 * ------------------------------------------------------ */

static const char *const kw_aadhaar[] = {"aadhaar", "aadhar", "uidai", "uid", NULL};

static int det_in_aadhaar(const tg_det_in *in, tg_det_hit *hit)
{
    static const unsigned l444[] = {4, 4, 4};
    tg_groups g;
    size_t end = groups_at(in, " -", &g);
    int weak;

    if (!end || g.nd != 12 || g.digits[0] < '2')
        return 0;
    if (layout(&g, 3, l444))
        weak = 0;
    else if (g.n == 1)
        weak = 1;
    else
        return 0;
    if (!tg_verhoeff_ok(g.digits, 12))
        return 0;
    return hit_set(in, hit, end, weak);
}

const tg_detector tg_det_in_aadhaar = {
    .name = "in_aadhaar",
    .summary = "Indian Aadhaar number (2345 6789 0124; bare 12 digits need a keyword)",
    .validator = "first digit 2-9 + Verhoeff",
    .first = "23456789",
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 12,
    .max_nd = 12,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_aadhaar,
    .match = det_in_aadhaar,
    .whole = TG_WHOLE_CHECK,
    .country = "IN",
};

static int det_in_pan(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s + in->pos;

    if (in->run_end - in->pos != 10)
        return 0;
    for (int k = 0; k < 5; k++)
        if (!tg_isupper((unsigned char)s[k]))
            return 0;
    for (int k = 5; k < 9; k++)
        if (!tg_isdigit((unsigned char)s[k]))
            return 0;
    if (!tg_isupper((unsigned char)s[9]) || !strchr("ABCFGHLJPTK", s[3]))
        return 0;
    return hit_set(in, hit, in->run_end, 0);
}

const tg_detector tg_det_in_pan = {
    .name = "in_pan",
    .summary = "Indian Permanent Account Number, PAN (ABCPE1234F)",
    .validator = "5 letters (4th = holder type) + 4 digits + letter",
    .first = UPPER,
    .min_run = 10,
    .max_run = 10,
    .need = TG_C_UP | TG_C_DIG,
    .deny = TG_C_LO,
    .norm = TG_NORM_ALNUM_UPPER,
    .match = det_in_pan,
};

static const char *const kw_cpf[] = {"cpf", "cadastro", NULL};

static int det_br_cpf(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s + in->pos;
    char d[11];
    size_t end;
    int weak, s1 = 0, s2 = 0;

    if (in->n - in->pos >= 14 && s[3] == '.' && s[7] == '.' && s[11] == '-') {
        int k = 0;
        for (int i = 0; i < 14; i++) {
            if (i == 3 || i == 7 || i == 11)
                continue;
            if (!tg_isdigit((unsigned char)s[i]))
                return 0;
            d[k++] = s[i];
        }
        end = in->pos + 14;
        weak = 0;
    } else {
        tg_groups g;
        end = groups_at(in, "", &g);
        if (!end || g.nd != 11)
            return 0;
        memcpy(d, g.digits, 11);
        weak = 1;
    }
    if (!tg_right_ok(in->s, in->n, end) || all_same(d, 11))
        return 0;
    for (int i = 0; i < 9; i++)
        s1 += dv(d[i]) * (10 - i);
    if ((s1 * 10) % 11 % 10 != dv(d[9]))
        return 0;
    for (int i = 0; i < 10; i++)
        s2 += dv(d[i]) * (11 - i);
    if ((s2 * 10) % 11 % 10 != dv(d[10]))
        return 0;
    return hit_set(in, hit, end, weak);
}

const tg_detector tg_det_br_cpf = {
    .name = "br_cpf",
    .summary = "Brazilian individual taxpayer number, CPF (123.456.789-09)",
    .validator = "two mod-11 check digits, not all-same digits",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 11,
    .max_nd = 11,
    .runs = 0x808ULL,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_cpf,
    .match = det_br_cpf,
    .whole = TG_WHOLE_CHECK,
    .country = "BR",
};

static const char *const kw_cnpj[] = {"cnpj", NULL};

static int det_br_cnpj(const tg_det_in *in, tg_det_hit *hit)
{
    static const int w1[12] = {5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2};
    static const int w2[13] = {6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2};
    const char *s = in->s + in->pos;
    char d[14];
    size_t end;
    int weak, s1 = 0, s2 = 0, r;

    if (in->n - in->pos >= 18 && s[2] == '.' && s[6] == '.' && s[10] == '/' &&
        s[15] == '-') {
        int k = 0;
        for (int i = 0; i < 18; i++) {
            if (i == 2 || i == 6 || i == 10 || i == 15)
                continue;
            if (!tg_isdigit((unsigned char)s[i]))
                return 0;
            d[k++] = s[i];
        }
        end = in->pos + 18;
        weak = 0;
    } else {
        tg_groups g;
        end = groups_at(in, "", &g);
        if (!end || g.nd != 14)
            return 0;
        memcpy(d, g.digits, 14);
        weak = 1;
    }
    if (!tg_right_ok(in->s, in->n, end) || all_same(d, 14))
        return 0;
    for (int i = 0; i < 12; i++)
        s1 += dv(d[i]) * w1[i];
    r = s1 % 11;
    if ((r < 2 ? 0 : 11 - r) != dv(d[12]))
        return 0;
    for (int i = 0; i < 13; i++)
        s2 += dv(d[i]) * w2[i];
    r = s2 % 11;
    if ((r < 2 ? 0 : 11 - r) != dv(d[13]))
        return 0;
    return hit_set(in, hit, end, weak);
}

const tg_detector tg_det_br_cnpj = {
    .name = "br_cnpj",
    .summary = "Brazilian company number, CNPJ (12.345.678/0001-95)",
    .validator = "two weighted mod-11 check digits",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 14,
    .max_nd = 14,
    .runs = 0x4004ULL,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_cnpj,
    .match = det_br_cnpj,
};

static const char *const kw_sin[] = {"sin", "social insurance", "nas", NULL};

static int det_ca_sin(const tg_det_in *in, tg_det_hit *hit)
{
    static const unsigned l333[] = {3, 3, 3};
    tg_groups g;
    size_t end = groups_at(in, " -", &g);
    int weak;

    if (!end || g.nd != 9 || g.digits[0] == '8')
        return 0;
    if (layout(&g, 3, l333))
        weak = 0;
    else if (g.n == 1)
        weak = 1;
    else
        return 0;
    if (!tg_luhn_ok(g.digits, 9))
        return 0;
    return hit_set(in, hit, end, weak);
}

const tg_detector tg_det_ca_sin = {
    .name = "ca_sin",
    .summary = "Canadian Social Insurance Number (046 454 286)",
    .validator = "first digit not 0/8 + Luhn",
    .first = "012345679",
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 9,
    .max_nd = 9,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_sin,
    .match = det_ca_sin,
    .whole = TG_WHOLE_CHECK,
    .country = "CA",
};

/* ---- China, Singapore, Australia
 * --------------------------------- */

static int det_cn_id(const tg_det_in *in, tg_det_hit *hit)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char map[] = "10X98765432";
    const char *s = in->s + in->pos;
    int sum = 0, y;
    char last;

    if (in->run_end - in->pos != 18 || s[0] < '1' || s[0] > '8')
        return 0;
    for (int i = 0; i < 17; i++) {
        if (!tg_isdigit((unsigned char)s[i]))
            return 0;
        sum += dv(s[i]) * w[i];
    }
    last = s[17] == 'x' ? 'X' : s[17];
    y = tg_2d(s + 6) * 100 + tg_2d(s + 8);
    if (y < 1900 || y > 2099 || !tg_date_ok(y, tg_2d(s + 10), tg_2d(s + 12)) ||
        last != map[sum % 11])
        return 0;
    return hit_set(in, hit, in->run_end, 0);
}

const tg_detector tg_det_cn_resident_id = {
    .name = "cn_resident_id",
    .summary = "Chinese resident identity card number (18 characters)",
    .validator = "region + birth date + ISO 7064 MOD 11-2",
    .first = "12345678",
    .min_run = 18,
    .max_run = 18,
    .min_nd = 17,
    .max_nd = 18,
    .norm = TG_NORM_ALNUM_UPPER,
    .match = det_cn_id,
    .whole = TG_WHOLE_CHECK,
    .country = "CN",
};

static int det_sg_nric(const tg_det_in *in, tg_det_hit *hit)
{
    static const int w[7] = {2, 7, 6, 5, 4, 3, 2};
    const char *s = in->s + in->pos;
    int sum = 0;
    const char *tab;

    if (in->run_end - in->pos != 9 || !strchr("STFG", s[0]) || !s[0])
        return 0;
    for (int i = 0; i < 7; i++) {
        if (!tg_isdigit((unsigned char)s[i + 1]))
            return 0;
        sum += dv(s[i + 1]) * w[i];
    }
    if (s[0] == 'T' || s[0] == 'G')
        sum += 4;
    tab = (s[0] == 'S' || s[0] == 'T') ? "JZIHGFEDCBA" : "XWUTRQPNMLK";
    if (s[8] != tab[sum % 11])
        return 0;
    return hit_set(in, hit, in->run_end, 0);
}

const tg_detector tg_det_sg_nric = {
    .name = "sg_nric",
    .summary = "Singapore NRIC / FIN (S1234567D)",
    .validator = "series letter + weighted mod-11 check letter",
    .first = "STFG",
    .min_run = 9,
    .max_run = 9,
    .norm = TG_NORM_ALNUM_UPPER,
    .match = det_sg_nric,
};

static const char *const kw_tfn[] = {"tfn", "tax file", NULL};

static int det_au_tfn(const tg_det_in *in, tg_det_hit *hit)
{
    static const int w9[9] = {1, 4, 3, 7, 5, 8, 6, 9, 10};
    static const unsigned l333[] = {3, 3, 3};
    tg_groups g;
    size_t end = groups_at(in, " -", &g);
    int sum = 0;

    if (!end || g.nd != 9 || (g.n != 1 && !layout(&g, 3, l333)))
        return 0;
    for (int i = 0; i < 9; i++)
        sum += dv(g.digits[i]) * w9[i];
    if (sum % 11 != 0 || sum == 0)
        return 0;
    return hit_set(in, hit, end, 1);
}

const tg_detector tg_det_au_tfn = {
    .name = "au_tfn",
    .summary = "Australian tax file number (needs a keyword such as 'tfn')",
    .validator = "weighted mod-11 (1,4,3,7,5,8,6,9,10)",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 9,
    .max_nd = 9,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_tfn,
    .match = det_au_tfn,
    .whole = TG_WHOLE_CHECK,
    .country = "AU",
};

static const char *const kw_medicare[] = {"medicare", NULL};

static int det_au_medicare(const tg_det_in *in, tg_det_hit *hit)
{
    static const int w[8] = {1, 3, 7, 9, 1, 3, 7, 9};
    static const unsigned l451[] = {4, 5, 1};
    tg_groups g;
    size_t end = groups_at(in, " ", &g);
    int sum = 0, weak;

    if (!end || (g.nd != 10 && g.nd != 11) || g.digits[0] < '2' || g.digits[0] > '6')
        return 0;
    if (g.nd == 10 && layout(&g, 3, l451))
        weak = 0;
    else if (g.n == 1)
        weak = 1;
    else
        return 0;
    for (int i = 0; i < 8; i++)
        sum += dv(g.digits[i]) * w[i];
    if (sum % 10 != dv(g.digits[8]) || g.digits[9] == '0')
        return 0;
    return hit_set(in, hit, end, weak);
}

const tg_detector tg_det_au_medicare = {
    .name = "au_medicare",
    .summary = "Australian Medicare card number (2123 45670 1)",
    .validator = "first digit 2-6 + weighted mod-10 (1,3,7,9) + issue number",
    .first = "23456",
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 10,
    .max_nd = 11,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_medicare,
    .match = det_au_medicare,
};

/* ---- health
 * ---------------------------------------------------------------------------- */

static const char *const kw_icd[] = {"icd", "diagnos", "dx", "condition", NULL};

static int det_icd10(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    size_t i = in->pos, end;

    if (in->run_end - in->pos != 3 || s[i] == 'U' ||
        !tg_isdigit((unsigned char)s[i + 1]) ||
        !(tg_isdigit((unsigned char)s[i + 2]) || s[i + 2] == 'A' || s[i + 2] == 'B'))
        return 0;
    end = i + 3;
    if (end + 1 < in->n && s[end] == '.' && tg_isalnum((unsigned char)s[end + 1])) {
        size_t j = end + 1;
        while (j < in->n && j - end <= 4 &&
               (tg_isdigit((unsigned char)s[j]) || tg_isupper((unsigned char)s[j])))
            j++;
        if (j - end > 5 || !tg_right_ok(s, in->n, j))
            return 0;
        end = j;
    }
    return hit_set(in, hit, end, 1);
}

const tg_detector tg_det_icd10 = {
    .name = "icd10",
    .summary = "ICD-10 diagnosis code (needs a keyword such as 'diagnosis')",
    .validator = "chapter letter + two digits + optional subcode",
    .first = "ABCDEFGHIJKLMNOPQRSTVWXYZ",
    .min_run = 3,
    .max_run = 3,
    .need = TG_C_UP | TG_C_DIG,
    .deny = TG_C_LO,
    .keywords = kw_icd,
    .match = det_icd10,
};
