/* Refusal counters and their Prometheus family. */
#include "tg_refuse.h"

#include <inttypes.h>
#include <stdio.h>

#include "tg_err.h"

static const char *const names[TG_REFUSED_COUNT] = {
    [TG_REFUSED_CONNECTIONS] = "connections",
    [TG_REFUSED_PER_SOURCE] = "per_source",
    [TG_REFUSED_HEADER_TIMEOUT] = "header_timeout",
    [TG_REFUSED_BODY_TIMEOUT] = "body_timeout",
    [TG_REFUSED_PREFACE_TIMEOUT] = "preface_timeout",
    [TG_REFUSED_HEADER_TOO_LARGE] = "header_too_large",
    [TG_REFUSED_TOO_LARGE] = "too_large",
    [TG_REFUSED_DECOMPRESSED_TOO_LARGE] = "decompressed_too_large",
    [TG_REFUSED_BUSY] = "busy",
    [TG_REFUSED_UNAUTHORIZED] = "unauthorized",
    [TG_REFUSED_MALFORMED] = "malformed",
    [TG_REFUSED_SERVICE_NOT_ALLOWED] = "service_not_allowed",
};

void tg_refuse_count(tg_refusals *r, enum tg_refusal why)
{
    if (r && (unsigned)why < TG_REFUSED_COUNT)
        atomic_fetch_add_explicit(&r->n[why], 1, memory_order_relaxed);
}

static int put(char *buf, size_t cap, size_t *len, int n)
{
    if (n < 0 || (size_t)n >= cap - *len) {
        buf[*len] = '\0';
        return TG_ETOO_BIG;
    }
    *len += (size_t)n;
    return 0;
}

int tg_refuse_format(char *buf, size_t cap, size_t *len, const char *const servers[],
                     const tg_refusals *const counts[], size_t n)
{
    int rc;

    if (!cap || *len >= cap)
        return TG_ETOO_BIG;
    rc = put(buf, cap, len,
             snprintf(buf + *len, cap - *len,
                      "# HELP tollgate_refused_total Connections and requests refused "
                      "by a server before a handler saw them, by reason.\n"
                      "# TYPE tollgate_refused_total counter\n"));
    for (size_t i = 0; i < n && rc == 0; i++) {
        for (int r = 0; r < TG_REFUSED_COUNT && rc == 0; r++) {
            uint64_t v = counts[i] ? atomic_load(&counts[i]->n[r]) : 0;

            rc = put(
                buf, cap, len,
                snprintf(buf + *len, cap - *len,
                         "tollgate_refused_total{server=\"%s\",reason=\"%s\"} %" PRIu64
                         "\n",
                         servers[i], names[r], v));
        }
    }
    return rc;
}
