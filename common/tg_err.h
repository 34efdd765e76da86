/* Error codes shared by every tollgate module.
 *
 * Functions return 0 on success or one of the negative codes below; the
 * table is an X-macro so the enum and tg_strerror() never drift apart.
 * Constructors return NULL instead and may report the code through an
 * out-parameter. */
#ifndef TG_ERR_H
#define TG_ERR_H

#include <stddef.h>

#define TG_ERR_MAP(XX)                                                                   \
    XX(NOMEM, "out of memory")                                                           \
    XX(INVAL, "invalid argument")                                                        \
    XX(IO, "input/output error")                                                         \
    XX(PARSE, "malformed input")                                                         \
    XX(UTF8, "invalid UTF-8 in a string field")                                          \
    XX(TOO_BIG, "payload exceeds the configured limit")                                  \
    XX(UNSUPPORTED, "unsupported encoding or content type")                              \
    XX(NOT_FOUND, "not found")                                                           \
    XX(BUSY, "overloaded: try again later")                                              \
    XX(CLOSED, "shutting down")                                                          \
    XX(STORE, "local store error")                                                       \
    XX(VERSION, "on-disk format version mismatch")                                       \
    XX(CONFIG, "invalid configuration")                                                  \
    XX(TIMEOUT, "timed out")                                                             \
    XX(PROTOCOL, "protocol error")                                                       \
    XX(VERIFY, "signature or proof does not verify")

enum tg_err {
    TG_OK = 0,
#define TG_ERR_ENUM(name, msg) TG_E##name,
    TG__ERR_FIRST = -1000,
    TG_ERR_MAP(TG_ERR_ENUM)
#undef TG_ERR_ENUM
};

/* A static, human-readable description of code `err` (0 or negative). */
const char *tg_strerror(int err);

/* The symbolic name ("TG_EPARSE") of `err`, for logs. */
const char *tg_err_name(int err);

/* Writes the formatted message into err[0..errlen) (nothing when err is
 * NULL or errlen 0) and returns rc: `return tg_errf(err, errlen, TG_EINVAL,
 * "...", ...)` reports and fails in one statement. */
int tg_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
