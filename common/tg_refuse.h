/* Why a server refused a connection or a request, counted per server so
 * /metrics can say what an attack or an overload is costing:
 *   tollgate_refused_total{server="otlp_http",reason="per_source"} 12
 * The servers (tg_http, the gRPC receiver) and the daemons' handlers add to
 * a tg_refusals the daemon owns; the counters are atomics because the loop
 * thread counts and a worker thread formats. */
#ifndef TG_REFUSE_H
#define TG_REFUSE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum tg_refusal {
    TG_REFUSED_CONNECTIONS,            /* max_connections reached */
    TG_REFUSED_PER_SOURCE,             /* one address holds its share of them */
    TG_REFUSED_HEADER_TIMEOUT,         /* header section not complete in time */
    TG_REFUSED_BODY_TIMEOUT,           /* body (gRPC: message) not complete in time */
    TG_REFUSED_PREFACE_TIMEOUT,        /* HTTP/2: no preface in time */
    TG_REFUSED_HEADER_TOO_LARGE,       /* 431 */
    TG_REFUSED_TOO_LARGE,              /* body or message beyond its cap: 413 */
    TG_REFUSED_DECOMPRESSED_TOO_LARGE, /* beyond the size or ratio cap: 413 */
    TG_REFUSED_BUSY,                   /* server-wide buffers full: 503/429 */
    TG_REFUSED_UNAUTHORIZED,           /* refused from the headers: 401/403 */
    TG_REFUSED_MALFORMED,              /* framing errors */
    TG_REFUSED_SERVICE_NOT_ALLOWED,    /* a token sent for a service it may not: 403 */
    TG_REFUSED_COUNT
};

typedef struct tg_refusals {
    _Atomic uint64_t n[TG_REFUSED_COUNT];
} tg_refusals;

/* Counts one refusal; r may be NULL (not counted). */
void tg_refuse_count(tg_refusals *r, enum tg_refusal why);

/* Appends the tollgate_refused_total family (HELP, TYPE, one line per
 * server and reason) for n servers to buf at *len, NUL-terminated.
 * Returns 0, or TG_ENOMEM/TG_ETOO_BIG when it does not fit (buf then
 * holds what fitted, at a line boundary). */
int tg_refuse_format(char *buf, size_t cap, size_t *len, const char *const servers[],
                     const tg_refusals *const counts[], size_t n);

#endif
