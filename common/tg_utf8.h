/* The one UTF-8 validator.
 *
 * Well-formed means RFC 3629: no overlong forms, no UTF-16 surrogates
 * (U+D800..U+DFFF), nothing past U+10FFFF, no truncated sequence. NUL is
 * well-formed UTF-8; callers that hand strings on NUL-terminated ask
 * tg_utf8_check whether one is there. */
#ifndef TG_UTF8_H
#define TG_UTF8_H

#include <stddef.h>

/* 1 if s[0..len) is well-formed UTF-8, else 0. */
int tg_utf8_valid(const char *s, size_t len);

/* As tg_utf8_valid, and sets *nul to 1 (leaves it alone otherwise) when
 * s[0..len) holds a NUL byte. */
int tg_utf8_check(const char *s, size_t len, int *nul);

/* Length (1 to 4) of the well-formed sequence that starts s, of at most
 * `avail` bytes (avail > 0), or 0 if none starts there: for replacing bad
 * bytes one at a time. */
size_t tg_utf8_seq_len(const char *s, size_t avail);

/* Copies s[0..len) into out with each byte that starts no well-formed
 * sequence replaced by the text `repl` (itself well-formed: "?" where the
 * reader wants ASCII, U+FFFD in JSON), then a NUL. out holds
 * len * max(1, strlen(repl)) + 1 bytes. Returns the length written. */
size_t tg_utf8_sanitize(const char *s, size_t len, const char *repl, char *out);

#endif
