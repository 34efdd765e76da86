/* The estate's merged RED figures in Prometheus exposition, for a real
 * Prometheus to scrape from the centre's /metrics.
 *
 * The centre holds RED per site x service x operation x kind x minute, each
 * minute the sum of every batch that carried part of it. Prometheus wants
 * counters, so each series here is the sum over the minutes the centre
 * still holds: it only grows while retention keeps every minute, and when
 * retention drops the oldest minute the drop reads as a counter reset,
 * which rate() handles. Latency becomes a classic histogram with fixed
 * `le` bounds: each exponential bucket is counted under the first bound at
 * or above its upper edge, so a figure is off by at most one exponential
 * bucket's width (a relative error under 2^(2^-scale) - 1).
 *
 * No PromQL of our own: Prometheus computes rates and quantiles. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cstore.h"
#include "tg_array.h"
#include "tg_central.h"
#include "tg_err.h"
#include "tg_exphist.h"

/* Series beyond this many are dropped (and counted): operation names are
 * scrubbed span names and a bad instrumentation can make them unbounded. */
#define MAX_SERIES 20000

static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BOUNDS (sizeof(bounds) / sizeof(bounds[0]))

struct series {
    char *site, *service, *operation;
    uint32_t kind;
    uint64_t requests, errors;
    tg_exphist latency;
};

struct collect {
    json_t *index; /* key -> position in s */
    struct series *s;
    size_t n, cap;
    uint64_t dropped;
    int err;
};

static const char *const kind_names[] = {"unspecified", "internal", "server",
                                         "client",      "producer", "consumer"};

static int on_red(void *ctx, const char *site, const ProtobufCMessage *m)
{
    const Tollgate__V1__RedRecord *r = (const Tollgate__V1__RedRecord *)m;
    struct collect *c = ctx;
    tg_strbuf key = {0};
    json_t *slot;
    struct series *s;
    tg_exphist h;

    /* \x1f cannot appear unescaped in a label we then print, but it can in
     * a name; the key only has to be unique, and the lengths make it so. */
    tg_strbuf_printf(&key, "%zu:%s\x1f%zu:%s\x1f%zu:%s\x1f%u", strlen(site), site,
                     strlen(r->service), r->service, strlen(r->operation), r->operation,
                     r->kind);
    if (key.oom) {
        c->err = 1;
        return 1;
    }
    slot = json_object_get(c->index, key.p);
    if (slot) {
        s = &c->s[json_integer_value(slot)];
    } else {
        if (c->n >= MAX_SERIES) {
            c->dropped++;
            free(key.p);
            return 0;
        }
        if (TG_ARRAY_ROOM(c->s, c->n, c->cap, 64)) {
            free(key.p);
            c->err = 1;
            return 1;
        }
        s = &c->s[c->n];
        memset(s, 0, sizeof(*s));
        s->site = strdup(site);
        s->service = strdup(r->service);
        s->operation = strdup(r->operation);
        s->kind = r->kind;
        tg_exphist_init(&s->latency);
        json_object_set_new(c->index, key.p, json_integer((json_int_t)c->n));
        c->n++;
    }
    free(key.p);
    s->requests += r->requests;
    s->errors += r->errors;
    if (r->latency_seconds && tg_exphist_from_pb(r->latency_seconds, &h) == 0)
        tg_exphist_merge(&s->latency, &h);
    return 0;
}

static void labels(tg_strbuf *b, const struct series *s)
{
    tg_strbuf_printf(b, "{site=\"");
    tg_strbuf_label(b, s->site);
    tg_strbuf_printf(b, "\",service=\"");
    tg_strbuf_label(b, s->service);
    tg_strbuf_printf(b, "\",operation=\"");
    tg_strbuf_label(b, s->operation);
    tg_strbuf_printf(b, "\",kind=\"%s\"",
                     s->kind < 6 ? kind_names[s->kind] : "unspecified");
}

/* One counter family: the uint64_t at byte offset `field` of every series. */
static void counter(tg_strbuf *b, const char *name, const char *help,
                    const struct collect *c, size_t field)
{
    tg_strbuf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i < c->n; i++) {
        uint64_t v;

        memcpy(&v, (const char *)&c->s[i] + field, sizeof(v));
        tg_strbuf_printf(b, "%s", name);
        labels(b, &c->s[i]);
        tg_strbuf_printf(b, "} %llu\n", (unsigned long long)v);
    }
}

static void histogram(tg_strbuf *b, const struct series *s)
{
    const tg_exphist *h = &s->latency;
    uint64_t cum[N_BOUNDS] = {0};

    /* Non-positive values sit in the zero bucket: under every bound. */
    for (size_t k = 0; k < N_BOUNDS; k++)
        cum[k] = h->zero_count;
    for (uint32_t i = 0; i < h->n; i++) {
        double upper = tg_exphist_upper(h->offset + (int32_t)i, h->scale);
        for (size_t k = 0; k < N_BOUNDS; k++)
            if (upper <= bounds[k] * (1 + 1e-9))
                cum[k] += h->counts[i];
    }
    for (size_t k = 0; k < N_BOUNDS; k++) {
        tg_strbuf_printf(b, "tollgate_red_latency_seconds_bucket");
        labels(b, s);
        tg_strbuf_printf(b, ",le=\"%g\"} %llu\n", bounds[k], (unsigned long long)cum[k]);
    }
    tg_strbuf_printf(b, "tollgate_red_latency_seconds_bucket");
    labels(b, s);
    tg_strbuf_printf(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)h->count);
    tg_strbuf_printf(b, "tollgate_red_latency_seconds_sum");
    labels(b, s);
    tg_strbuf_printf(b, "} %.9g\n", h->sum);
    tg_strbuf_printf(b, "tollgate_red_latency_seconds_count");
    labels(b, s);
    tg_strbuf_printf(b, "} %llu\n", (unsigned long long)h->count);
}

int tg_central_red_metrics(tg_cstore *cs, tg_strbuf *b)
{
    struct collect c = {0};
    int rc;

    if (!(c.index = json_object()))
        return TG_ENOMEM;
    rc = tg_cstore_rows(cs, "red", on_red, &c);
    if (!rc && c.err)
        rc = TG_ENOMEM;
    if (!rc) {
        counter(b, "tollgate_red_requests_total",
                "Requests (spans) by site, service, operation and kind, over the "
                "minutes the centre holds.",
                &c, offsetof(struct series, requests));
        counter(b, "tollgate_red_errors_total", "Requests that ended in an error status.",
                &c, offsetof(struct series, errors));
        tg_strbuf_printf(b, "# HELP tollgate_red_latency_seconds Request duration.\n"
                            "# TYPE tollgate_red_latency_seconds histogram\n");
        for (size_t i = 0; i < c.n; i++)
            histogram(b, &c.s[i]);
        tg_strbuf_printf(b,
                         "# HELP tollgate_red_series_dropped Series over the %d-series "
                         "cap, not shown.\n# TYPE tollgate_red_series_dropped gauge\n"
                         "tollgate_red_series_dropped %llu\n",
                         MAX_SERIES, (unsigned long long)c.dropped);
    }
    for (size_t i = 0; i < c.n; i++) {
        free(c.s[i].site);
        free(c.s[i].service);
        free(c.s[i].operation);
    }
    free(c.s);
    json_decref(c.index);
    return rc ? rc : (b->oom ? TG_ENOMEM : 0);
}
