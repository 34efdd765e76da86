/* What the TraceQL and LogQL parsers share (internal to query/): error
 * messages that name the column, and string literals. */
#ifndef TG_QL_H
#define TG_QL_H

#include <stddef.h>

#include "tg_plan.h"

/* Nesting deeper than this is refused, so recursion stays bounded. */
#define TG_QL_MAX_DEPTH 64

typedef struct tg_qlerr {
    const char *q; /* the query, for columns */
    char *buf;
    size_t len;
    int set; /* the first error wins: it is the one that points at the cause */
} tg_qlerr;

/* The 1-based column, in characters, of byte offset `off` of q. */
size_t tg_ql_column(const char *q, size_t off);

/* Records "column N: <fmt>" for byte offset off (first call only). Returns
 * TG_EINVAL, so a parser can `return tg_ql_error(...)`. */
int tg_ql_error(tg_qlerr *e, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads the string literal at q[*i] ('"' with Go escapes, or '`' raw) into
 * the plan's arena (NUL-terminated, *outlen without the NUL) and moves *i past
 * it. 0 or TG_EINVAL (error recorded) or TG_ENOMEM. */
int tg_ql_string(tg_plan *p, const char *q, size_t len, size_t *i, const char **out,
                 size_t *outlen, tg_qlerr *e);

/* Describes the token at q[off] for "found ..." ("'}'", "end of query"). */
void tg_ql_describe(const char *q, size_t len, size_t off, size_t end, char *buf,
                    size_t buflen);

#endif
