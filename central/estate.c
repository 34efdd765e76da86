/* The estate: every site's link to the centre as figures and warnings, for
 * GET /api/v1/estate (`tollgate status`) and /metrics. */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_array.h"
#include "tg_json.h"
#include "tg_central.h"
#include "tg_strbuf.h"

#define PARTITION_MIN_SEC 15.0
#define BUDGET_WARN_SEC 3600.0

typedef struct site_view {
    char name[64];
    int registered, seen;
    char api[256];
    Tollgate__V1__CentralSite *st; /* owned copy (NULL if never seen) */
} site_view;

typedef struct collect {
    site_view *v;
    size_t n, cap;
} collect;

static site_view *add_site(collect *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].name, name) == 0)
            return &c->v[i];
    if (TG_ARRAY_ROOM(c->v, c->n, c->cap, 16))
        return NULL;
    memset(&c->v[c->n], 0, sizeof(c->v[0]));
    snprintf(c->v[c->n].name, sizeof(c->v[0].name), "%s", name);
    return &c->v[c->n++];
}

static int on_site(void *ctx, const Tollgate__V1__CentralSite *s)
{
    collect *c = ctx;
    site_view *v = add_site(c, s->name ? s->name : "");
    size_t n;
    uint8_t *buf;

    if (!v)
        return 1;
    /* Keep a copy: the store's message lives only during the callback. */
    n = tollgate__v1__central_site__get_packed_size(s);
    buf = malloc(n ? n : 1);
    if (!buf)
        return 1;
    tollgate__v1__central_site__pack(s, buf);
    v->st = tollgate__v1__central_site__unpack(NULL, n, buf);
    free(buf);
    v->seen = v->st != NULL;
    return 0;
}

static int cmp_view(const void *a, const void *b)
{
    return strcmp(((const site_view *)a)->name, ((const site_view *)b)->name);
}

static void gather(tg_cstore *cs, const tg_estate_ctx *e, collect *c)
{
    memset(c, 0, sizeof(*c));
    if (e->sites)
        for (size_t i = 0; i < e->sites->n; i++) {
            site_view *v = add_site(c, e->sites->v[i].name);
            if (v) {
                v->registered = 1;
                snprintf(v->api, sizeof(v->api), "%s", e->sites->v[i].api);
            }
        }
    if (cs)
        tg_cstore_sites(cs, on_site, c);
    if (e->sites)
        for (size_t i = 0; i < c->n; i++)
            if (tg_sites_find(e->sites, c->v[i].name))
                c->v[i].registered = 1;
    qsort(c->v, c->n, sizeof(c->v[0]), cmp_view);
}

static void release(collect *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].st)
            tollgate__v1__central_site__free_unpacked(c->v[i].st, NULL);
    free(c->v);
}

typedef struct figures {
    double contact_age; /* seconds, < 0: never */
    double oldest_age;  /* seconds of the oldest batch waiting at the site */
    double budget_left; /* < 0: not filling */
    double offset_ms, rtt_ms;
    int clock_valid;
    int partitioned;
} figures;

static void compute(const tg_estate_ctx *e, const site_view *v, figures *f)
{
    const Tollgate__V1__CentralSite *s = v->st;
    const Tollgate__V1__SiteHealth *h = s ? s->health : NULL;
    double hb =
        h && h->heartbeat_interval_ms ? (double)h->heartbeat_interval_ms / 1000 : 5;
    double limit = 3 * hb > PARTITION_MIN_SEC ? 3 * hb : PARTITION_MIN_SEC;

    memset(f, 0, sizeof(*f));
    f->contact_age = s && s->last_contact_unix_nano
                         ? ((double)e->now_ns - (double)s->last_contact_unix_nano) / 1e9
                         : -1;
    f->partitioned = f->contact_age < 0 || f->contact_age > limit;
    f->budget_left = -1;
    if (h) {
        if (h->backlog_oldest_unix_nano && s->last_contact_unix_nano)
            /* As of the last contact, plus the time since: the backlog
             * only ages while the link is down. The site's clock offset
             * is taken out of its own timestamp. */
            f->oldest_age = ((double)s->last_contact_unix_nano -
                             ((double)h->backlog_oldest_unix_nano -
                              (h->clock_valid ? (double)h->clock_offset_ns : 0))) /
                                1e9 +
                            (f->contact_age > 0 ? f->contact_age : 0);
        if (f->oldest_age < 0)
            f->oldest_age = 0;
        f->budget_left = h->budget_seconds_left;
        f->clock_valid = h->clock_valid;
        f->offset_ms = (double)h->clock_offset_ns / 1e6;
        f->rtt_ms = (double)h->clock_rtt_ns / 1e6;
    }
}

static void cert_warning(json_t *w, const tg_estate_ctx *e, const char *which, int64_t na)
{
    double left;

    if (!na)
        return;
    left = (double)na - (double)e->now_ns / 1e9;
    if (left < 0)
        tg_json_appendf(w, "certificate expired: %s certificate expired %.1f days ago",
                        which, -left / 86400);
    else if (left < (double)e->cfg->cert_warn_sec)
        tg_json_appendf(w, "certificate expiring: %s certificate expires in %.1f days",
                        which, left / 86400);
}

/* The counters a site's row prints as they are held, by name. A field
 * that is not a uint64_t does not compile (_Generic has no other case). */
typedef struct u64_field {
    const char *name;
    size_t off;
} u64_field;

/* clang-format off */
#define SITE_U64(f) \
    {#f, _Generic(((Tollgate__V1__CentralSite *)0)->f, \
                  uint64_t: offsetof(Tollgate__V1__CentralSite, f))}
#define HEALTH_U64(f) \
    {#f, _Generic(((Tollgate__V1__SiteHealth *)0)->f, \
                  uint64_t: offsetof(Tollgate__V1__SiteHealth, f))}
static const u64_field site_u64s[] = {
    SITE_U64(last_sequence), SITE_U64(batches), SITE_U64(duplicates), SITE_U64(gaps),
    SITE_U64(spans), SITE_U64(red), SITE_U64(logs), SITE_U64(metrics), SITE_U64(costs),
    SITE_U64(bytes_wire), SITE_U64(epochs),
};
static const u64_field health_u64s[] = {
    HEALTH_U64(backlog_batches), HEALTH_U64(backlog_bytes), HEALTH_U64(backlog_records),
    HEALTH_U64(budget_bytes), HEALTH_U64(source_lag_records), HEALTH_U64(ingested_items),
    HEALTH_U64(shed_batches), HEALTH_U64(shed_records),
};
/* clang-format on */

static void put_u64s(json_t *o, const void *msg, const u64_field *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, (const char *)msg + t[i].off, sizeof(v));
        json_object_set_new(o, t[i].name, tg_json_u64(v));
    }
}

static json_t *warnings(const tg_estate_ctx *e, const site_view *v, const figures *f)
{
    json_t *w = json_array();
    const Tollgate__V1__CentralSite *s = v->st;
    const Tollgate__V1__SiteHealth *h = s ? s->health : NULL;

    if (!w)
        return NULL;
    if (!v->registered)
        tg_json_appendf(
            w, "unregistered: the store holds data from a site the registry no longer "
               "names");
    if (!s) {
        tg_json_appendf(w, "partitioned: never connected");
        return w;
    }
    if (f->partitioned)
        tg_json_appendf(w, "partitioned: no contact for %.0fs", f->contact_age);
    if (h) {
        if (f->oldest_age > (double)e->cfg->lag_warn_sec)
            tg_json_appendf(
                w,
                "lagging: oldest batch waiting at the site is %.0fs old (%llu batches, "
                "%llu bytes)",
                f->oldest_age, (unsigned long long)h->backlog_batches,
                (unsigned long long)h->backlog_bytes);
        if (f->budget_left >= 0 && f->budget_left < BUDGET_WARN_SEC)
            tg_json_appendf(
                w, "lagging: outbox budget exhausted in %.0fs at the current rate",
                f->budget_left);
        if (h->shed_batches)
            tg_json_appendf(
                w,
                "shedding: the site dropped %llu batches or span sets to stay within "
                "its outbox budget",
                (unsigned long long)h->shed_batches);
        if (f->clock_valid && fabs(f->offset_ms) > (double)e->cfg->skew_warn_ms)
            tg_json_appendf(w, "skewed: site clock is %+.3fs off the centre's",
                            f->offset_ms / 1000);
        if (h->software_version && h->software_version[0] &&
            strcmp(h->software_version, TG_VERSION) != 0)
            tg_json_appendf(w, "version mismatch: site runs tollgate %s, centre %s",
                            h->software_version, TG_VERSION);
        cert_warning(w, e, "the centre's (as the site sees it)",
                     h->server_cert_not_after);
        cert_warning(w, e, "the site's client", h->client_cert_not_after);
    }
    if (s->protocol_version && s->protocol_version != e->protocol_max)
        tg_json_appendf(w, "version mismatch: site speaks protocol %u, centre up to %u",
                        s->protocol_version, e->protocol_max);
    if (s->client_cert_not_after && (!h || !h->client_cert_not_after))
        cert_warning(w, e, "the site's client", s->client_cert_not_after);
    if (s->gaps)
        tg_json_appendf(
            w, "gaps: %llu batch sequences never arrived and were not announced as shed",
            (unsigned long long)s->gaps);
    return w;
}

char *tg_estate_json(tg_cstore *cs, const tg_estate_ctx *e)
{
    json_t *root = json_object(), *sites = json_array(), *central = json_object();
    tg_cstore_stats st;
    collect c;
    char *out;

    if (!root || !sites || !central) {
        json_decref(root);
        json_decref(sites);
        json_decref(central);
        return NULL;
    }
    tg_cstore_get_stats(cs, &st);
    json_object_set_new(central, "version", json_string(TG_VERSION));
    json_object_set_new(central, "protocol_min", json_integer(e->protocol_min));
    json_object_set_new(central, "protocol_max", json_integer(e->protocol_max));
    json_object_set_new(central, "listen", json_string(e->cfg->listen));
    json_object_set_new(central, "tls", json_boolean(e->cfg->tls_cert_file[0] != 0));
    json_object_set_new(central, "mutual_tls",
                        json_boolean(e->cfg->tls_client_ca_file[0] != 0));
    json_object_set_new(central, "server_cert_not_after",
                        json_integer(e->server_cert_not_after));
    json_object_set_new(central, "now_unix_nano", tg_json_u64(e->now_ns));
    json_object_set_new(central, "batches", tg_json_u64(st.batches));
    json_object_set_new(central, "bytes", tg_json_u64(st.bytes));
    json_object_set_new(central, "red_rows", tg_json_u64(st.red_rows));
    json_object_set_new(central, "log_rows", tg_json_u64(st.log_rows));
    json_object_set_new(central, "cost_rows", tg_json_u64(st.cost_rows));
    {
        json_t *cw = json_array();
        tg_estate_ctx ec = *e;
        cert_warning(cw, &ec, "the centre's", e->server_cert_not_after);
        json_object_set_new(central, "warnings", cw);
    }
    json_object_set_new(root, "central", central);

    gather(cs, e, &c);
    for (size_t i = 0; i < c.n; i++) {
        const site_view *v = &c.v[i];
        const Tollgate__V1__CentralSite *s = v->st;
        const Tollgate__V1__SiteHealth *h = s ? s->health : NULL;
        json_t *o = json_object();
        figures f;
        compute(e, v, &f);
        json_object_set_new(o, "name", json_string(v->name));
        json_object_set_new(o, "registered", json_boolean(v->registered));
        json_object_set_new(o, "api", json_string(v->api));
        json_object_set_new(o, "partitioned", json_boolean(f.partitioned));
        json_object_set_new(o, "last_contact_age_seconds", json_real(f.contact_age));
        if (s) {
            json_object_set_new(o, "last_contact_unix_nano",
                                tg_json_u64(s->last_contact_unix_nano));
            put_u64s(o, s, site_u64s, sizeof(site_u64s) / sizeof(site_u64s[0]));
            json_object_set_new(o, "protocol_version", json_integer(s->protocol_version));
            json_object_set_new(o, "client_cert_not_after",
                                json_integer(s->client_cert_not_after
                                                 ? s->client_cert_not_after
                                                 : (h ? h->client_cert_not_after : 0)));
        }
        if (h) {
            json_object_set_new(o, "software_version", json_string(h->software_version));
            json_object_set_new(o, "policy_version", json_string(h->policy_version));
            json_object_set_new(o, "jurisdiction", json_string(h->jurisdiction));
            put_u64s(o, h, health_u64s, sizeof(health_u64s) / sizeof(health_u64s[0]));
            json_object_set_new(o, "backlog_oldest_age_seconds", json_real(f.oldest_age));
            json_object_set_new(o, "budget_seconds_left", json_real(f.budget_left));
            json_object_set_new(o, "clock_valid", json_boolean(f.clock_valid));
            json_object_set_new(o, "clock_offset_ms", json_real(f.offset_ms));
            json_object_set_new(o, "clock_rtt_ms", json_real(f.rtt_ms));
            json_object_set_new(o, "server_cert_not_after",
                                json_integer(h->server_cert_not_after));
        }
        json_object_set_new(o, "warnings", warnings(e, v, &f));
        json_array_append_new(sites, o);
    }
    release(&c);
    json_object_set_new(root, "sites", sites);
    if (e->models) {
        json_t *m = tg_models_report(e->models, (int64_t)e->now_ns);
        if (m)
            json_object_set_new(root, "models", m);
    }
    out = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(root);
    return out;
}

char *tg_estate_metrics(tg_cstore *cs, const tg_estate_ctx *e, const char *extra)
{
    static const struct {
        const char *name, *help, *type;
    } fam[] = {
        {"tollgate_central_site_up", "1 when the site was in contact recently.", "gauge"},
        {"tollgate_central_site_last_contact_age_seconds",
         "Seconds since the site's last exchange (-1: never).", "gauge"},
        {"tollgate_central_site_batches_total", "Batches received from the site.",
         "counter"},
        {"tollgate_central_site_duplicates_total", "Batches received again (retries).",
         "counter"},
        {"tollgate_central_site_gaps_total",
         "Sequences never received and not announced.", "counter"},
        {"tollgate_central_site_records_total", "Records received, by kind.", "counter"},
        {"tollgate_central_site_backlog_batches", "Batches waiting in the site's outbox.",
         "gauge"},
        {"tollgate_central_site_backlog_bytes", "Bytes waiting in the site's outbox.",
         "gauge"},
        {"tollgate_central_site_backlog_oldest_age_seconds",
         "Age of the oldest batch waiting at the site.", "gauge"},
        {"tollgate_central_site_budget_seconds_left",
         "Time until the site's outbox budget is exhausted (-1: not filling).", "gauge"},
        {"tollgate_central_site_clock_offset_seconds",
         "Site clock minus the centre's (NTP-style, four timestamps).", "gauge"},
        {"tollgate_central_site_clock_rtt_seconds",
         "Round trip of the best clock sample.", "gauge"},
        {"tollgate_central_site_cert_not_after_seconds",
         "Expiry of the link's certificates (unix time).", "gauge"},
        {"tollgate_central_site_shed_total", "Outbox sheddings the site reported.",
         "counter"},
        {"tollgate_central_site_warnings", "Warnings the estate view shows for the site.",
         "gauge"},
        {"tollgate_central_site_info", "Versions a site runs (value 1).", "gauge"},
    };
    enum {
        F_UP,
        F_AGE,
        F_BATCH,
        F_DUP,
        F_GAP,
        F_REC,
        F_BB,
        F_BBY,
        F_OLD,
        F_BUD,
        F_OFF,
        F_RTT,
        F_CERT,
        F_SHED,
        F_WARN,
        F_INFO,
        F_N
    };
    tg_strbuf b = {0};
    collect c;
    tg_cstore_stats st;

    gather(cs, e, &c);
    tg_cstore_get_stats(cs, &st);
    if (extra)
        tg_strbuf_printf(&b, "%s", extra);
    tg_strbuf_printf(
        &b,
        "# HELP tollgate_central_store_batches Batches held.\n"
        "# TYPE tollgate_central_store_batches gauge\ntollgate_central_store_batches "
        "%llu\n"
        "# HELP tollgate_central_store_bytes Batch bytes held (compressed).\n"
        "# TYPE tollgate_central_store_bytes gauge\ntollgate_central_store_bytes %llu\n"
        "# HELP tollgate_central_store_evicted_batches_total Batches removed by "
        "retention.\n"
        "# TYPE tollgate_central_store_evicted_batches_total counter\n"
        "tollgate_central_store_evicted_batches_total %llu\n"
        "# HELP tollgate_central_cert_not_after_seconds Expiry of the centre's "
        "certificate.\n"
        "# TYPE tollgate_central_cert_not_after_seconds gauge\n"
        "tollgate_central_cert_not_after_seconds %lld\n",
        (unsigned long long)st.batches, (unsigned long long)st.bytes,
        (unsigned long long)st.evicted_batches, (long long)e->server_cert_not_after);
    for (int k = 0; k < F_N; k++) {
        tg_strbuf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", fam[k].name, fam[k].help,
                         fam[k].name, fam[k].type);
        for (size_t i = 0; i < c.n; i++) {
            const site_view *v = &c.v[i];
            const Tollgate__V1__CentralSite *s = v->st;
            const Tollgate__V1__SiteHealth *h = s ? s->health : NULL;
            figures f;
            compute(e, v, &f);
#define LBL()                                                                            \
    do {                                                                                 \
        tg_strbuf_printf(&b, "%s{site=\"", fam[k].name);                                 \
        tg_strbuf_label(&b, v->name);                                                    \
        tg_strbuf_printf(&b, "\"");                                                      \
    } while (0)
            switch (k) {
            case F_UP:
                LBL();
                tg_strbuf_printf(&b, "} %d\n", !f.partitioned);
                break;
            case F_AGE:
                LBL();
                tg_strbuf_printf(&b, "} %.3f\n", f.contact_age);
                break;
            case F_BATCH:
                LBL();
                tg_strbuf_printf(&b, "} %llu\n",
                                 (unsigned long long)(s ? s->batches : 0));
                break;
            case F_DUP:
                LBL();
                tg_strbuf_printf(&b, "} %llu\n",
                                 (unsigned long long)(s ? s->duplicates : 0));
                break;
            case F_GAP:
                LBL();
                tg_strbuf_printf(&b, "} %llu\n", (unsigned long long)(s ? s->gaps : 0));
                break;
            case F_REC: {
                const char *kinds[] = {"span", "red", "log_template", "metric", "cost"};
                uint64_t vals[] = {s ? s->spans : 0, s ? s->red : 0, s ? s->logs : 0,
                                   s ? s->metrics : 0, s ? s->costs : 0};
                for (int j = 0; j < 5; j++) {
                    LBL();
                    tg_strbuf_printf(&b, ",kind=\"%s\"} %llu\n", kinds[j],
                                     (unsigned long long)vals[j]);
                }
                break;
            }
            case F_BB:
                LBL();
                tg_strbuf_printf(&b, "} %llu\n",
                                 (unsigned long long)(h ? h->backlog_batches : 0));
                break;
            case F_BBY:
                LBL();
                tg_strbuf_printf(&b, "} %llu\n",
                                 (unsigned long long)(h ? h->backlog_bytes : 0));
                break;
            case F_OLD:
                LBL();
                tg_strbuf_printf(&b, "} %.3f\n", f.oldest_age);
                break;
            case F_BUD:
                LBL();
                tg_strbuf_printf(&b, "} %.1f\n", f.budget_left);
                break;
            case F_OFF:
                LBL();
                tg_strbuf_printf(&b, "} %.6f\n",
                                 f.clock_valid ? f.offset_ms / 1000 : 0.0);
                break;
            case F_RTT:
                LBL();
                tg_strbuf_printf(&b, "} %.6f\n", f.rtt_ms / 1000);
                break;
            case F_CERT:
                LBL();
                tg_strbuf_printf(&b, ",cert=\"client\"} %lld\n",
                                 (long long)(s && s->client_cert_not_after
                                                 ? s->client_cert_not_after
                                                 : (h ? h->client_cert_not_after : 0)));
                LBL();
                tg_strbuf_printf(&b, ",cert=\"server\"} %lld\n",
                                 (long long)(h ? h->server_cert_not_after : 0));
                break;
            case F_SHED:
                LBL();
                tg_strbuf_printf(&b, "} %llu\n",
                                 (unsigned long long)(h ? h->shed_batches : 0));
                break;
            case F_WARN: {
                json_t *w = warnings(e, v, &f);
                LBL();
                tg_strbuf_printf(&b, "} %zu\n", w ? json_array_size(w) : 0);
                json_decref(w);
                break;
            }
            case F_INFO:
                LBL();
                tg_strbuf_printf(&b, ",software_version=\"");
                tg_strbuf_label(&b, h ? h->software_version : "");
                tg_strbuf_printf(&b, "\",policy_version=\"");
                tg_strbuf_label(&b, h ? h->policy_version : "");
                tg_strbuf_printf(&b, "\",protocol_version=\"%u\",jurisdiction=\"",
                                 s ? s->protocol_version : 0);
                tg_strbuf_label(&b, h ? h->jurisdiction : "");
                tg_strbuf_printf(&b, "\"} 1\n");
                break;
            }
#undef LBL
        }
    }
    release(&c);
    tg_central_red_metrics(cs, &b);
    if (e->models) {
        json_t *m = tg_models_report(e->models, (int64_t)e->now_ns);
        if (m)
            tg_models_metrics(m, &b);
        json_decref(m);
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p ? b.p : strdup("");
}
