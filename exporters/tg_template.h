/* Message templates: the shape of a log body or span name with its
 * variable parts replaced, so that "user 4411 paid 12.50 EUR" and "user 97
 * paid 3.10 EUR" count as one template, "user <num> paid <num> EUR".
 *
 * A word (a run of non-space bytes) is cut into pieces at '/', '=', ':',
 * ',', ';', '?', '&', '(' and ')' and brackets; each piece is kept or
 * replaced by what it looks like: <num>, <hex>, <uuid>, <ip>, <email>,
 * <url>, <*> (anything else holding a digit), and double-quoted text
 * becomes "<str>". Placeholders a view left ([REDACTED:class]) are kept.
 * The value after '=' in key=value is always replaced. This is
 * conservative on purpose: the centre sees wording, not values. */
#ifndef TG_TEMPLATE_H
#define TG_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#define TG_TEMPLATE_MAX 256

/* Writes the template of [s, s+len) into out (NUL-terminated, at most
 * cap-1 bytes, cut at a UTF-8 boundary) and returns its length. */
size_t tg_template_make(const char *s, size_t len, char *out, size_t cap);

/* FNV-1a 64 of the template. */
uint64_t tg_template_id(const char *t, size_t len);

#endif
