/* Money as an exact integer: micro-units of one currency (1 = 0.000001 of
 * a dollar or euro), in a signed 64-bit integer, so +-9.2 trillion units
 * fit. Binary floating point never holds money: a price is read from its
 * decimal text, a cost is a product worked out in 128-bit integers and
 * rounded once, and sums are exact.
 *
 * Rounding (docs/cost.md, "Money"): every product or quotient is rounded
 * once, half to even, to the micro-unit; amounts are rounded to the
 * currency's minor unit (2 digits for USD and EUR, 0 for JPY), half to
 * even, only when shown or exported. A report's total is the sum of the
 * exact lines, rounded once, not the sum of the rounded lines. */
#ifndef TG_MONEY_H
#define TG_MONEY_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t tg_money;

#define TG_MONEY_SCALE 1000000 /* micro-units per currency unit */
#define TG_MONEY_DIGITS 6

/* A decimal amount ("12", "-0.5", "0.000003", "1e-3" is refused) into
 * micro-units. More than six fraction digits are refused rather than
 * rounded: a price list is copied exactly or not at all. 0 or TG_EINVAL
 * (bad text) / TG_ETOO_BIG (too large); *out untouched on failure. */
int tg_money_parse(const char *s, tg_money *out);

/* A non-negative decimal quantity with up to `digits` fraction digits into
 * an integer of 10^-digits units ("1.4" with 3 -> 1400). Same errors. */
int tg_decimal_parse(const char *s, int digits, int64_t *out);

/* round_half_even(a * num / den) in 128-bit arithmetic; den > 0. Returns 0,
 * or TG_ETOO_BIG when the result does not fit (out untouched). */
int tg_money_muldiv(int64_t a, int64_t num, int64_t den, int64_t *out);

/* round_half_even(n / d) for 128-bit n, d > 0: the one rounding rule. */
int64_t tg_money_div_round(__int128 n, __int128 d, int *overflow);

/* `m` rounded half to even to `minor` fraction digits (0..6), still in
 * micro-units (12.345 with 2 -> 12.34, 12.355 -> 12.36). */
tg_money tg_money_round_minor(tg_money m, int minor);

/* The minor-unit digits of an ISO 4217 code (JPY, KRW 0; BHD, KWD 3;
 * the rest 2). */
int tg_currency_minor(const char *code);

/* Writes `m` rounded to `digits` fraction digits (0..6) as a plain decimal
 * ("-12.50"); returns the length, or -1 if buf is too small. */
int tg_money_format(tg_money m, int digits, char *buf, size_t len);

#endif
