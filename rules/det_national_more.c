/* National identifiers of Estonia, Romania, Czechia and Slovakia, Turkey,
 * South Africa, Croatia and South Korea. Each checks its embedded birth
 * date (where it has one) and its check digit. The forms written with a
 * separator (Czech "YYMMDD/XXXX", Korean "YYMMDD-GXXXXXX") count on their
 * own; a bare digit run is weak and counts only with a keyword nearby or in
 * the attribute key, because a random run of the right length passes a
 * mod-10 or mod-11 check often enough to matter. */
#include "det_national.h"

/* Parses a bare run of exactly `nd` digits at the trigger; returns its end
 * or 0. */
static size_t bare(const tg_det_in *in, unsigned nd, tg_groups *g)
{
    size_t end = groups_at(in, "", g);
    return end && g->n == 1 && g->nd == nd ? end : 0;
}

static int yymmdd_ok(int century, const char *d)
{
    return tg_date_ok(century + tg_2d(d), tg_2d(d + 2), tg_2d(d + 4));
}

/* ---- Estonia: isikukood, GYYMMDDSSSC ------------------------------------------- */

static const char *const kw_ee[] = {"isikukood", "isikukoodi", "personal code", NULL};

static int det_ee_ik(const tg_det_in *in, tg_det_hit *hit)
{
    static const int w1[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1};
    static const int w2[10] = {3, 4, 5, 6, 7, 8, 9, 1, 2, 3};
    tg_groups g;
    size_t end = bare(in, 11, &g);
    int s = 0, c, gd;

    if (!end)
        return 0;
    gd = dv(g.digits[0]);
    if (gd < 1 || gd > 8 || !yymmdd_ok(1800 + 100 * ((gd - 1) / 2), g.digits + 1))
        return 0;
    for (int i = 0; i < 10; i++)
        s += dv(g.digits[i]) * w1[i];
    c = s % 11;
    if (c == 10) {
        s = 0;
        for (int i = 0; i < 10; i++)
            s += dv(g.digits[i]) * w2[i];
        c = s % 11;
        if (c == 10)
            c = 0;
    }
    if (c != dv(g.digits[10]))
        return 0;
    return hit_set(in, hit, end, 1);
}

const tg_detector tg_det_ee_isikukood = {
    .name = "ee_isikukood",
    .summary = "Estonian personal code, isikukood (37605030299; needs a keyword)",
    .validator = "century/sex digit + birth date + two-stage mod-11 check digit",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 11,
    .max_nd = 11,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_ee,
    .match = det_ee_ik,
    .whole = TG_WHOLE_CHECK,
    .country = "EE",
};

/* ---- Romania: CNP, SYYMMDDJJNNNC -------------------------------------------------- */

static const char *const kw_ro[] = {"cnp", "cod numeric personal", NULL};

static int det_ro_cnp(const tg_det_in *in, tg_det_hit *hit)
{
    static const int w[12] = {2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9};
    static const int century[10] = {0,    1900, 1900, 1800, 1800,
                                    2000, 2000, 1900, 1900, 1900};
    tg_groups g;
    size_t end = bare(in, 13, &g);
    int s = 0, c, sx, county;

    if (!end)
        return 0;
    sx = dv(g.digits[0]);
    county = tg_2d(g.digits + 7);
    if (sx == 0 || !yymmdd_ok(century[sx], g.digits + 1) || county < 1 ||
        (county > 52 && county != 70))
        return 0;
    for (int i = 0; i < 12; i++)
        s += dv(g.digits[i]) * w[i];
    c = s % 11;
    if (c == 10)
        c = 1;
    if (c != dv(g.digits[12]))
        return 0;
    return hit_set(in, hit, end, 1);
}

const tg_detector tg_det_ro_cnp = {
    .name = "ro_cnp",
    .summary = "Romanian personal numeric code, CNP (1800101221144; needs a keyword)",
    .validator =
        "sex/century digit + birth date + county + weighted mod-11 (279146358279)",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 13,
    .max_nd = 13,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_ro,
    .match = det_ro_cnp,
    .whole = TG_WHOLE_CHECK,
    .country = "RO",
};

/* ---- Czechia and Slovakia: rodné číslo, YYMMDD/XXXX -------------------------------- */

static const char *const kw_cz[] = {"rodne cislo", "rodné číslo", "birth number", NULL};

static int det_cz_rc(const tg_det_in *in, tg_det_hit *hit)
{
    static const unsigned l64[] = {6, 4};
    tg_groups g;
    size_t end = groups_at(in, "/", &g);
    int weak, yy, mm, dd, year;
    long long v = 0;

    if (!end || g.nd != 10)
        return 0;
    if (layout(&g, 2, l64))
        weak = 0;
    else if (g.n == 1)
        weak = 1;
    else
        return 0;
    yy = tg_2d(g.digits);
    mm = tg_2d(g.digits + 2);
    dd = tg_2d(g.digits + 4);
    if (mm > 70)
        mm -= 70; /* women, from 2004 on */
    else if (mm > 50)
        mm -= 50; /* women */
    else if (mm > 20)
        mm -= 20;                           /* men, from 2004 on */
    year = yy < 54 ? 2000 + yy : 1900 + yy; /* ten digits: born 1954 or later */
    if (!tg_date_ok(year, mm, dd))
        return 0;
    for (int i = 0; i < 10; i++)
        v = v * 10 + dv(g.digits[i]);
    if (v % 11 != 0 && !((v / 10) % 11 == 10 && v % 10 == 0))
        return 0;
    return hit_set(in, hit, end, weak);
}

const tg_detector tg_det_cz_rodne_cislo = {
    .name = "cz_rodne_cislo",
    .summary = "Czech and Slovak birth number, rodné číslo (736028/5163; bare 10 digits "
               "need a keyword)",
    .validator = "birth date (month +50 for women, +20 from 2004) + divisible by 11",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 10,
    .max_nd = 10,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_cz,
    .match = det_cz_rc,
    .whole = TG_WHOLE_CHECK,
    .country = "CZ",
};

/* ---- Turkey: T.C. Kimlik No, 11 digits --------------------------------------------- */

static const char *const kw_tr[] = {"kimlik", "tckn", "tc kimlik", "t.c.", "tc no", NULL};

static int det_tr_tckn(const tg_det_in *in, tg_det_hit *hit)
{
    tg_groups g;
    size_t end = bare(in, 11, &g);
    int odd = 0, even = 0, d10, all = 0;

    if (!end || g.digits[0] == '0' || all_same(g.digits, 11))
        return 0;
    for (int i = 0; i < 9; i++) {
        if (i % 2 == 0)
            odd += dv(g.digits[i]);
        else
            even += dv(g.digits[i]);
    }
    d10 = ((odd * 7 - even) % 10 + 10) % 10;
    if (d10 != dv(g.digits[9]))
        return 0;
    for (int i = 0; i < 10; i++)
        all += dv(g.digits[i]);
    if (all % 10 != dv(g.digits[10]))
        return 0;
    return hit_set(in, hit, end, 1);
}

const tg_detector tg_det_tr_tckn = {
    .name = "tr_tckn",
    .summary = "Turkish identity number, T.C. Kimlik No (10000000146; needs a keyword)",
    .validator = "no leading zero + two check digits (odd*7-even mod 10, sum mod 10)",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 11,
    .max_nd = 11,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_tr,
    .match = det_tr_tckn,
    .whole = TG_WHOLE_CHECK,
    .country = "TR",
};

/* ---- South Africa: identity number, YYMMDDSSSSCAZ ---------------------------------- */

static const char *const kw_za[] = {"id number", "identity number", "rsa id", "sa id",
                                    "idnumber",  "identity no",     NULL};

static int det_za_id(const tg_det_in *in, tg_det_hit *hit)
{
    static const unsigned l6421[] = {6, 4, 2, 1};
    tg_groups g;
    size_t end = groups_at(in, " ", &g);
    int weak;

    if (!end || g.nd != 13)
        return 0;
    if (layout(&g, 4, l6421))
        weak = 0; /* "800101 5009 08 7" */
    else if (g.n == 1)
        weak = 1;
    else
        return 0;
    if (!yymmdd_ok(1900, g.digits) && !yymmdd_ok(2000, g.digits))
        return 0;
    if (g.digits[10] > '1' || !tg_luhn_ok(g.digits, 13))
        return 0;
    return hit_set(in, hit, end, weak);
}

const tg_detector tg_det_za_id = {
    .name = "za_id",
    .summary = "South African identity number (800101 5009 08 7; bare 13 digits need a "
               "keyword)",
    .validator = "birth date + citizenship digit 0/1 + Luhn",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 13,
    .max_nd = 13,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_za,
    .match = det_za_id,
    .whole = TG_WHOLE_CHECK,
    .country = "ZA",
};

/* ---- Croatia: OIB, 11 digits --------------------------------------------------------
 */

static const char *const kw_hr[] = {"oib", "osobni identifikacijski", NULL};

static int det_hr_oib(const tg_det_in *in, tg_det_hit *hit)
{
    tg_groups g;
    size_t end = bare(in, 11, &g);

    if (!end || all_same(g.digits, 11) || !tg_mod11_10_ok(g.digits, 11))
        return 0;
    return hit_set(in, hit, end, 1);
}

const tg_detector tg_det_hr_oib = {
    .name = "hr_oib",
    .summary = "Croatian personal identification number, OIB (69435151530; needs a "
               "keyword)",
    .validator = "ISO 7064 MOD 11,10 check digit",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 11,
    .max_nd = 11,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_hr,
    .match = det_hr_oib,
    .whole = TG_WHOLE_CHECK,
    .country = "HR",
};

/* ---- South Korea: resident registration number, YYMMDD-GSSSSSC ----------------------
 */

static const char *const kw_kr[] = {"rrn", "resident registration", "jumin",
                                    "주민등록번호", NULL};

static int det_kr_rrn(const tg_det_in *in, tg_det_hit *hit)
{
    static const int w[12] = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
    static const int century[10] = {1800, 1900, 1900, 2000, 2000,
                                    1900, 1900, 2000, 2000, 1800};
    static const unsigned l67[] = {6, 7};
    tg_groups g;
    size_t end = groups_at(in, "-", &g);
    int weak, s = 0;

    if (!end || g.nd != 13)
        return 0;
    if (layout(&g, 2, l67))
        weak = 0;
    else if (g.n == 1)
        weak = 1;
    else
        return 0;
    if (!yymmdd_ok(century[dv(g.digits[6])], g.digits))
        return 0;
    /* numbers issued from October 2020 carry no check digit: not found */
    for (int i = 0; i < 12; i++)
        s += dv(g.digits[i]) * w[i];
    if ((11 - s % 11) % 10 != dv(g.digits[12]))
        return 0;
    return hit_set(in, hit, end, weak);
}

const tg_detector tg_det_kr_rrn = {
    .name = "kr_rrn",
    .summary = "South Korean resident registration number (800101-1234563; bare 13 "
               "digits need a keyword)",
    .validator = "birth date + century/sex digit + weighted mod-11 check digit (issued "
                 "before Oct 2020)",
    .first = DIGITS,
    .deny = TG_C_UP | TG_C_LO,
    .min_nd = 13,
    .max_nd = 13,
    .norm = TG_NORM_DIGITS,
    .keywords = kw_kr,
    .match = det_kr_rrn,
    .whole = TG_WHOLE_CHECK,
    .country = "KR",
};
