/* Phone number validation by libphonenumber, behind a C interface (the
 * library is C++; rules/phonelib.cc is the only C++ file in the project).
 *
 * The scanner finds candidates cheaply (digit groups of a phone's length);
 * only those it hands over, after their keyword gate, are parsed here, so
 * the scan rate does not depend on the library. Thread-safe: the library's
 * metadata is loaded once and read-only after. */
#ifndef TG_PHONELIB_H
#define TG_PHONELIB_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Is [s, s+n) a valid phone number? `region` is an ISO 3166-1 alpha-2
 * country ("DE") whose national format the text may be written in, or
 * NULL when the site's country is unknown: then a number in international
 * format (+CC) is judged by its own country code, and a national one is
 * valid if it is valid in one of the commonly seen regions (EU, EEA, UK,
 * North America and the larger economies). Returns 1 or 0. */
int tg_phonelib_valid(const char *s, size_t n, const char *region);

#ifdef __cplusplus
}
#endif

#endif
