/* Exact money: decimal text in, 128-bit products, one half-even rounding. */
#include "tg_money.h"

#include <string.h>

#include "tg_err.h"

int64_t tg_money_div_round(__int128 n, __int128 d, int *overflow)
{
    int neg = n < 0;
    unsigned __int128 un = neg ? -(unsigned __int128)n : (unsigned __int128)n;
    unsigned __int128 ud = (unsigned __int128)d;
    unsigned __int128 q = un / ud, r = un % ud;

    /* half to even: up when the remainder is over half, or exactly half
     * and the quotient is odd */
    if (r * 2 > ud || (r * 2 == ud && (q & 1)))
        q++;
    if (q > (unsigned __int128)INT64_MAX) {
        if (overflow)
            *overflow = 1;
        return 0;
    }
    return neg ? -(int64_t)q : (int64_t)q;
}

int tg_money_muldiv(int64_t a, int64_t num, int64_t den, int64_t *out)
{
    int ovf = 0;
    int64_t v;

    if (den <= 0)
        return TG_EINVAL;
    v = tg_money_div_round((__int128)a * num, den, &ovf);
    if (ovf)
        return TG_ETOO_BIG;
    *out = v;
    return 0;
}

int tg_decimal_parse(const char *s, int digits, int64_t *out)
{
    const char *p = s;
    int neg = 0, any = 0, frac = -1;
    unsigned __int128 v = 0;

    if (!s || digits < 0 || digits > 9)
        return TG_EINVAL;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    for (; *p; p++) {
        if (*p == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*p < '0' || *p > '9')
            return TG_EINVAL;
        if (frac >= 0 && ++frac > digits)
            return TG_EINVAL;
        v = v * 10 + (unsigned)(*p - '0');
        any = 1;
        if (v > (unsigned __int128)INT64_MAX)
            return TG_ETOO_BIG;
    }
    if (!any || frac == 0)
        return TG_EINVAL;
    for (int i = frac < 0 ? 0 : frac; i < digits; i++) {
        v *= 10;
        if (v > (unsigned __int128)INT64_MAX)
            return TG_ETOO_BIG;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

int tg_money_parse(const char *s, tg_money *out)
{
    return tg_decimal_parse(s, TG_MONEY_DIGITS, out);
}

static const int64_t pow10_tab[] = {1, 10, 100, 1000, 10000, 100000, 1000000};

tg_money tg_money_round_minor(tg_money m, int minor)
{
    int64_t step;

    if (minor < 0)
        minor = 0;
    if (minor >= TG_MONEY_DIGITS)
        return m;
    step = pow10_tab[TG_MONEY_DIGITS - minor];
    return tg_money_div_round(m, step, NULL) * step;
}

int tg_currency_minor(const char *code)
{
    static const char *const zero[] = {"JPY", "KRW", "ISK", "CLP", "VND", "XOF", "XAF"};
    static const char *const three[] = {"BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"};

    for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
        if (code && strcmp(code, zero[i]) == 0)
            return 0;
    for (size_t i = 0; i < sizeof(three) / sizeof(three[0]); i++)
        if (code && strcmp(code, three[i]) == 0)
            return 3;
    return 2;
}

int tg_money_format(tg_money m, int digits, char *buf, size_t len)
{
    char tmp[32];
    size_t n = 0, w = 0;
    uint64_t u, whole, frac;

    if (digits < 0)
        digits = 0;
    if (digits > TG_MONEY_DIGITS)
        digits = TG_MONEY_DIGITS;
    m = tg_money_round_minor(m, digits);
    u = m < 0 ? -(uint64_t)m : (uint64_t)m;
    whole = u / TG_MONEY_SCALE;
    frac = (u % TG_MONEY_SCALE) / (uint64_t)pow10_tab[TG_MONEY_DIGITS - digits];
    for (int i = 0; i < digits; i++, frac /= 10)
        tmp[n++] = (char)('0' + frac % 10);
    if (digits)
        tmp[n++] = '.';
    do {
        tmp[n++] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole);
    if (m < 0)
        tmp[n++] = '-';
    if (n + 1 > len)
        return -1;
    while (n)
        buf[w++] = tmp[--n];
    buf[w] = 0;
    return (int)w;
}
