/* The size and duration grammar every configuration file, policy file and
 * flag uses: "64MiB", "1 GB", "1.5GiB", "30s", "1h30m", "250ms", "2w". It
 * is the union of the three grammars it replaced (the collector's, the
 * forwarder's and centre's, the policy files' retention), so no file that
 * loaded before fails now. See docs/configuration.md, "Sizes and durations". */
#include "tg_units.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tg_err.h"

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)

int tg_parse_u64_digits(const char **ps, uint64_t *out, bool *overflow)
{
    const char *s = *ps;
    uint64_t v = 0;

    if (!isdigit((unsigned char)*s))
        return TG_EINVAL;
    for (; isdigit((unsigned char)*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            *overflow = true;
        else
            v = v * 10 + d;
    }
    *ps = s;
    *out = v;
    return 0;
}

int tg_parse_u64_range(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    bool overflow = false;
    uint64_t v;

    if (!s || tg_parse_u64_digits(&s, &v, &overflow) != 0 || *s || overflow || v < min ||
        v > max)
        return TG_EINVAL;
    *out = v;
    return 0;
}

struct unit {
    const char *name;
    uint64_t factor;
};

/* A decimal number: "12", "1.5", ".5", "5." (what the forwarder's and the
 * centre's configs read with strtod, less exponents and hex). The fraction
 * is kept exact as num/den so "1.1TiB" is not at the mercy of a double. */
struct decimal {
    uint64_t ip, num, den;
    bool overflow;
};

static int read_decimal(const char **ps, struct decimal *d)
{
    const char *s = *ps;
    bool any = false;

    d->ip = 0;
    d->num = 0;
    d->den = 1;
    d->overflow = false;
    if (isdigit((unsigned char)*s)) {
        tg_parse_u64_digits(&s, &d->ip, &d->overflow);
        any = true;
    }
    if (*s == '.') {
        s++;
        for (; isdigit((unsigned char)*s); s++) {
            any = true;
            /* Digits past the 18th cannot change a whole result. */
            if (d->den < 1000000000000000000ull) {
                d->num = d->num * 10 + (uint64_t)(*s - '0');
                d->den *= 10;
            }
        }
    }
    if (!any)
        return TG_EINVAL;
    *ps = s;
    return 0;
}

/* d x factor, rounded down; false when it passes UINT64_MAX. */
static bool scale(const struct decimal *d, uint64_t factor, uint64_t *out)
{
    unsigned __int128 v;

    if (d->overflow)
        return false;
    v = (unsigned __int128)d->ip * factor + (unsigned __int128)d->num * factor / d->den;
    if (v > UINT64_MAX)
        return false;
    *out = (uint64_t)v;
    return true;
}

static const struct unit size_units[] = {
    {"", 1},
    {"B", 1},
    {"K", 1000ull},
    {"KB", 1000ull},
    {"M", 1000000ull},
    {"MB", 1000000ull},
    {"G", 1000000000ull},
    {"GB", 1000000000ull},
    {"T", 1000000000000ull},
    {"TB", 1000000000000ull},
    {"KiB", KIB},
    {"MiB", MIB},
    {"GiB", GIB},
    {"TiB", 1024ull * GIB},
};

/* Sets *why to "invalid" or "too large" when it fails. */
int tg_parse_size_why(const char *s, uint64_t *out, const char **why)
{
    struct decimal d;

    *why = "invalid";
    if (read_decimal(&s, &d) != 0)
        return TG_EINVAL;
    while (*s == ' ')
        s++;
    for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
        if (strcasecmp(s, size_units[i].name) != 0)
            continue;
        if (!scale(&d, size_units[i].factor, out)) {
            *why = "too large";
            return TG_EINVAL;
        }
        return 0;
    }
    return TG_EINVAL;
}

int tg_parse_size(const char *s, uint64_t *out)
{
    const char *why;
    return s ? tg_parse_size_why(s, out, &why) : TG_EINVAL;
}

static const struct unit duration_units[] = {
    {"ms", 1},
    {"s", 1000},
    {"m", 60000},
    {"h", 3600000},
    {"d", 86400000},
    {"w", 7 * 86400000ull},
    {"y", 365 * 86400000ull},
};

/* "30s", "250ms", "1h30m", "1.5h"; a bare number is seconds (so "0" is 0,
 * which "0 means off" keys read naturally). */
int tg_parse_duration_why(const char *s, uint64_t *out, const char **why)
{
    uint64_t total = 0;
    struct decimal d;
    const char *p = s;

    *why = "invalid";
    if (read_decimal(&p, &d) == 0 && !*p) {
        if (!scale(&d, 1000, out)) {
            *why = "too large";
            return TG_EINVAL;
        }
        return 0;
    }
    if (!*s)
        return TG_EINVAL;
    while (*s) {
        uint64_t factor = 0, part;
        size_t best = 0;

        if (read_decimal(&s, &d) != 0)
            return TG_EINVAL;
        /* Longest unit first so "ms" is not read as "m" then "s". */
        for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
            size_t n = strlen(duration_units[i].name);
            if (n > best && strncmp(s, duration_units[i].name, n) == 0) {
                best = n;
                factor = duration_units[i].factor;
            }
        }
        if (!best)
            return TG_EINVAL;
        s += best;
        if (!scale(&d, factor, &part) || part > UINT64_MAX - total) {
            *why = "too large";
            return TG_EINVAL;
        }
        total += part;
    }
    *out = total;
    return 0;
}

int tg_parse_duration_ms(const char *s, uint64_t *out)
{
    const char *why;
    return s ? tg_parse_duration_why(s, out, &why) : TG_EINVAL;
}

void tg_format_duration_s(double s, char *out, size_t cap)
{
    if (s < 0)
        snprintf(out, cap, "-");
    else if (s < 120)
        snprintf(out, cap, "%.0fs", s);
    else if (s < 7200)
        snprintf(out, cap, "%.0fm", s / 60);
    else if (s < 172800)
        snprintf(out, cap, "%.1fh", s / 3600);
    else
        snprintf(out, cap, "%.1fd", s / 86400);
}
