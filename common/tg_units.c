/* The size and duration grammar every configuration file and flag uses:
 * "64MiB", "1 GB", "30s", "1h30m", "250ms". See docs/configuration.md. */
#include "tg_units.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
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

struct unit {
    const char *name;
    uint64_t factor;
};

static const struct unit size_units[] = {
    {"", 1},
    {"B", 1},
    {"KB", 1000ull},
    {"MB", 1000000ull},
    {"GB", 1000000000ull},
    {"TB", 1000000000000ull},
    {"KiB", KIB},
    {"MiB", MIB},
    {"GiB", GIB},
    {"TiB", 1024ull * GIB},
};

/* Sets *why to "invalid" or "too large" when it fails. */
int tg_parse_size_why(const char *s, uint64_t *out, const char **why)
{
    uint64_t v;
    bool overflow = false;

    *why = "invalid";
    if (tg_parse_u64_digits(&s, &v, &overflow) != 0)
        return TG_EINVAL;
    while (*s == ' ')
        s++;
    for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
        if (strcasecmp(s, size_units[i].name) != 0)
            continue;
        if (overflow || (v != 0 && size_units[i].factor > UINT64_MAX / v)) {
            *why = "too large";
            return TG_EINVAL;
        }
        *out = v * size_units[i].factor;
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
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
};

/* "30s", "250ms", "1h30m"; a bare "0" is accepted because "0 means off"
 * keys read naturally that way. */
int tg_parse_duration_why(const char *s, uint64_t *out, const char **why)
{
    uint64_t total = 0;

    *why = "invalid";
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (!*s)
        return TG_EINVAL;
    while (*s) {
        uint64_t v, factor = 0;
        bool overflow = false;
        size_t best = 0;

        if (tg_parse_u64_digits(&s, &v, &overflow) != 0)
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
        if (overflow || (v != 0 && factor > UINT64_MAX / v) ||
            v * factor > UINT64_MAX - total) {
            *why = "too large";
            return TG_EINVAL;
        }
        total += v * factor;
    }
    *out = total;
    return 0;
}

int tg_parse_duration_ms(const char *s, uint64_t *out)
{
    const char *why;
    return s ? tg_parse_duration_why(s, out, &why) : TG_EINVAL;
}
