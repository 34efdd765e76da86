/* The web UI's sign-in sessions: a fixed-size server-side table of random
 * session ids, each naming the user who signed in and when it expires, and
 * the Cookie-header parser that finds a session id in a request.
 *
 * The cookie holds only the id (32 random bytes, hex); the user's token
 * never leaves the sign-in request. The role is not kept here: callers look
 * it up in the users file on every request, so a reload that removes a
 * user or changes a role takes effect at once. Thread-safe. */
#ifndef TG_UI_SESSION_H
#define TG_UI_SESSION_H

#include <stddef.h>
#include <stdint.h>

#define TG_UI_SESSION_ID_LEN 64 /* hex characters */
#define TG_UI_COOKIE "tg_session"

typedef struct tg_ui_sessions tg_ui_sessions;

/* A table of at most `max` live sessions, each valid for `ttl_ms` after it
 * was made. NULL when out of memory. */
tg_ui_sessions *tg_ui_sessions_new(size_t max, uint64_t ttl_ms);
void tg_ui_sessions_free(tg_ui_sessions *t);
uint64_t tg_ui_sessions_ttl_ms(const tg_ui_sessions *t);

/* Makes a session for `user` at `now_ms` and writes its id (NUL-terminated,
 * TG_UI_SESSION_ID_LEN hex characters) to id. A full table drops expired
 * sessions first, then the one closest to expiry. 0, TG_EINVAL (user name
 * empty or too long) or TG_EIO (no randomness). */
int tg_ui_session_create(tg_ui_sessions *t, const char *user, uint64_t now_ms,
                         char id[TG_UI_SESSION_ID_LEN + 1]);

/* The user of a live session (copied to user, userlen bytes), 0; or
 * TG_ENOT_FOUND for an unknown or expired id (an expired one is removed). */
int tg_ui_session_lookup(tg_ui_sessions *t, const char *id, uint64_t now_ms, char *user,
                         size_t userlen);

/* Ends a session; 0, or TG_ENOT_FOUND. */
int tg_ui_session_remove(tg_ui_sessions *t, const char *id);

/* Live sessions now (expired ones not counted). */
size_t tg_ui_sessions_count(tg_ui_sessions *t, uint64_t now_ms);

/* The value of cookie `name` in a Cookie header value ("a=1; b=2"), copied
 * NUL-terminated to out. Returns its length, or -1 when absent, empty or
 * longer than outlen - 1. Names match exactly (case-sensitive, RFC 6265);
 * the first occurrence wins. */
int tg_ui_cookie_get(const char *header, const char *name, char *out, size_t outlen);

#endif
