/* One grammar for sizes and durations, shared by every configuration file,
 * the rules packs and the command-line flags (docs/configuration.md,
 * "Sizes and durations"). Each returns 0 or TG_EINVAL. */
#ifndef TG_UNITS_H
#define TG_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sizes in bytes: "1048576", "64MiB", "1 GB", "1.5G" (units
 * case-insensitive; a fraction is rounded down to a whole byte). */
int tg_parse_size(const char *s, uint64_t *out);
/* Durations in milliseconds: "30s", "250ms", "1h30m", "1.5h", "2w", "1y";
 * a bare number is seconds ("0" is 0). Units are case-sensitive. */
int tg_parse_duration_ms(const char *s, uint64_t *out);

/* The same, setting *why to "invalid" or "too large" on failure. */
int tg_parse_size_why(const char *s, uint64_t *out, const char **why);
int tg_parse_duration_why(const char *s, uint64_t *out, const char **why);

/* Reads decimal digits at *ps, advancing it; *overflow set past UINT64_MAX. */
int tg_parse_u64_digits(const char **ps, uint64_t *out, bool *overflow);

/* A request parameter's whole number: digits only (no sign, no space, no
 * fraction), no overflow, within [min, max]. 0 or TG_EINVAL. */
int tg_parse_u64_range(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Writes s seconds the way people read a duration at a glance: "40s",
 * "14m", "2.5h", "3.0d" (under 2 minutes in seconds, under 2 hours in
 * minutes, under 2 days in hours); a negative s as "-" (not known). */
void tg_format_duration_s(double s, char *out, size_t cap);

#endif
