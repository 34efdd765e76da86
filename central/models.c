/* The model version picture (models.h): observations in, a report out.
 * Pure: no store, no clock, no sockets; the mutex only guards the state. */
#include "models.h"

#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_array.h"
#include "tg_json.h"
#include "tg_err.h"
#include "tg_units.h"

/* Bounds against a bad instrumentation that makes model names or versions
 * unbounded (they are span attribute values). */
#define MAX_SERIES 4096
#define MAX_VERSIONS 64
#define MAX_REGISTRIES TG_MODELS_MAX_RULES

typedef struct bucket {
    int64_t start_ns;
    uint64_t count;
} bucket;

typedef struct version {
    char *name;
    int64_t first_ns, last_ns;
    uint64_t count;
    bucket *b; /* sorted by start, within models.history of the newest */
    size_t nb, capb;
} version;

typedef struct series {
    char *site, *model;
    version *v;
    size_t nv, capv;
} series;

typedef struct registry {
    char path[1024];
    tg_models_registry r;
} registry;

struct tg_models {
    tg_models_config cfg;
    pthread_mutex_t mu;
    series *s;
    size_t n, cap;
    registry reg[MAX_REGISTRIES];
    size_t nreg;
    uint64_t dropped;
};

tg_models *tg_models_new(const tg_models_config *cfg)
{
    tg_models *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    m->cfg = *cfg;
    if (m->cfg.resolution_ms == 0)
        m->cfg.resolution_ms = 60000;
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

void tg_models_free(tg_models *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        for (size_t j = 0; j < m->s[i].nv; j++) {
            free(m->s[i].v[j].name);
            free(m->s[i].v[j].b);
        }
        free(m->s[i].v);
        free(m->s[i].site);
        free(m->s[i].model);
    }
    free(m->s);
    for (size_t i = 0; i < m->nreg; i++)
        tg_models_registry_free(&m->reg[i].r);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

const tg_models_config *tg_models_cfg(const tg_models *m)
{
    return &m->cfg;
}

int64_t tg_models_bucket(const tg_models *m, int64_t t_ns)
{
    int64_t w = (int64_t)m->cfg.resolution_ms * 1000000;
    int64_t q = t_ns / w;

    if (t_ns % w < 0)
        q--;
    return q * w;
}

int tg_models_set_registry(tg_models *m, const char *path, tg_models_registry *r)
{
    registry *g = NULL;

    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nreg; i++)
        if (strcmp(m->reg[i].path, path) == 0)
            g = &m->reg[i];
    if (!g && m->nreg < MAX_REGISTRIES) {
        g = &m->reg[m->nreg++];
        snprintf(g->path, sizeof(g->path), "%s", path);
    }
    if (!g) {
        pthread_mutex_unlock(&m->mu);
        return TG_ETOO_BIG;
    }
    tg_models_registry_free(&g->r);
    g->r = *r;
    r->v = NULL;
    r->n = 0;
    pthread_mutex_unlock(&m->mu);
    return 0;
}

/* ---- observing -------------------------------------------------------------------- */

static series *find_series(tg_models *m, const char *site, const char *model, int create)
{
    series *s;

    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->s[i].site, site) == 0 && strcmp(m->s[i].model, model) == 0)
            return &m->s[i];
    if (!create || m->n >= MAX_SERIES || TG_ARRAY_ROOM(m->s, m->n, m->cap, 16) != 0)
        return NULL;
    s = &m->s[m->n];
    memset(s, 0, sizeof(*s));
    s->site = strdup(site);
    s->model = strdup(model);
    if (!s->site || !s->model) {
        free(s->site);
        free(s->model);
        return NULL;
    }
    m->n++;
    return s;
}

static version *find_version(series *s, const char *name, int create)
{
    version *v;

    for (size_t i = 0; i < s->nv; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    if (!create || s->nv >= MAX_VERSIONS || TG_ARRAY_ROOM(s->v, s->nv, s->capv, 4) != 0)
        return NULL;
    v = &s->v[s->nv];
    memset(v, 0, sizeof(*v));
    if (!(v->name = strdup(name)))
        return NULL;
    s->nv++;
    return v;
}

/* Adds count to the bucket at start (kept sorted; arrivals are mostly in
 * order, so the search runs from the end), then drops buckets older than
 * the history. */
static int add_bucket(tg_models *m, version *v, int64_t start, uint64_t count,
                      int64_t now)
{
    size_t i = v->nb;
    int64_t horizon = now - (int64_t)m->cfg.history_ms * 1000000;

    if (m->cfg.history_ms && start < horizon)
        return 0;
    while (i > 0 && v->b[i - 1].start_ns > start)
        i--;
    if (i > 0 && v->b[i - 1].start_ns == start) {
        v->b[i - 1].count += count;
    } else {
        if (TG_ARRAY_ROOM(v->b, v->nb, v->capb, 16) != 0)
            return TG_ENOMEM;
        memmove(&v->b[i + 1], &v->b[i], (v->nb - i) * sizeof(bucket));
        v->b[i].start_ns = start;
        v->b[i].count = count;
        v->nb++;
    }
    if (m->cfg.history_ms) {
        size_t k = 0;
        while (k < v->nb && v->b[k].start_ns < horizon)
            k++;
        if (k) {
            memmove(v->b, v->b + k, (v->nb - k) * sizeof(bucket));
            v->nb -= k;
        }
    }
    return 0;
}

int tg_models_observe(tg_models *m, const tg_models_obs *o, int64_t now_ns)
{
    series *s;
    version *v;
    int rc;

    if (!o->count || !o->site || !o->model || !o->version)
        return 0;
    pthread_mutex_lock(&m->mu);
    s = find_series(m, o->site, o->model, 1);
    v = s ? find_version(s, o->version, 1) : NULL;
    if (!v) {
        m->dropped += o->count;
        pthread_mutex_unlock(&m->mu);
        return 0;
    }
    if (v->count == 0 || o->first_ns < v->first_ns)
        v->first_ns = o->first_ns;
    if (v->count == 0 || o->last_ns > v->last_ns)
        v->last_ns = o->last_ns;
    v->count += o->count;
    rc = add_bucket(m, v, o->bucket_ns, o->count, now_ns);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* ---- evaluating ------------------------------------------------------------------- */

static const tg_models_rule *rule_for(const tg_models_config *c, const char *model)
{
    for (size_t i = 0; i < c->n_rules; i++)
        if (fnmatch(c->rules[i].match, model, 0) == 0)
            return &c->rules[i];
    return NULL;
}

/* A promotion: the authority's version and since when. */
typedef struct promo {
    const char *version;
    int64_t at_ns;
} promo;

static int cmp_promo(const void *a, const void *b)
{
    const promo *x = a, *y = b;
    return x->at_ns < y->at_ns ? -1 : x->at_ns > y->at_ns;
}

/* The authority's promotions of `model`, oldest first, into p (malloc'd);
 * the last is the authoritative version. */
static size_t promotions(tg_models *m, const tg_models_rule *r, const char *model,
                         promo **p)
{
    size_t n = 0;

    *p = NULL;
    if (!r)
        return 0;
    if (r->site[0]) {
        series *s = find_series(m, r->site, model, 0);
        if (!s || !s->nv || !(*p = calloc(s->nv, sizeof(promo))))
            return 0;
        for (size_t i = 0; i < s->nv; i++)
            (*p)[n++] = (promo){s->v[i].name, s->v[i].first_ns};
    } else {
        for (size_t i = 0; i < m->nreg; i++) {
            const tg_models_registry *g = &m->reg[i].r;
            if (strcmp(m->reg[i].path, r->registry) != 0)
                continue;
            if (!(*p = calloc(g->n ? g->n : 1, sizeof(promo))))
                return 0;
            for (size_t j = 0; j < g->n; j++)
                if (strcmp(g->v[j].model, model) == 0)
                    (*p)[n++] = (promo){g->v[j].version, g->v[j].promoted_at_ns};
        }
    }
    qsort(*p, n, sizeof(promo), cmp_promo);
    return n;
}

static const version *newest(const series *s)
{
    const version *best = NULL;

    for (size_t i = 0; i < s->nv; i++)
        if (!best || s->v[i].first_ns > best->first_ns)
            best = &s->v[i];
    return best;
}

/* Requests in buckets starting at or after `from` (the bucket holding it
 * included: counts are only known per bucket). */
static uint64_t count_since(const tg_models *m, const version *v, int64_t from)
{
    int64_t b0 = tg_models_bucket(m, from);
    uint64_t n = 0;

    for (size_t i = 0; i < v->nb; i++)
        if (v->b[i].start_ns >= b0)
            n += v->b[i].count;
    return n;
}

/* How long after the promotion at `at` the site first served v: counted
 * from the promotion, or from the first request the centre saw from the
 * site for this model when that came later (the centre cannot tell what a
 * site served before it was heard from), and 0 when it served v first. */
static double delay_s(const series *s, const version *v, int64_t at)
{
    int64_t from = v->first_ns;

    for (size_t i = 0; i < s->nv; i++)
        if (s->v[i].first_ns < from)
            from = s->v[i].first_ns;
    if (from < at)
        from = at;
    return v->first_ns > from ? (double)(v->first_ns - from) / 1e9 : 0;
}

static json_t *ns_json(int64_t ns)
{
    return json_integer((json_int_t)ns);
}

/* One site's row of one model. pr: the current promotion or NULL. */
static json_t *site_row(tg_models *m, const series *s, const tg_models_rule *r,
                        const promo *pr, uint64_t slo_ms, uint64_t stuck_ms, int64_t now,
                        json_t *warnings)
{
    json_t *o = json_object(), *vs = json_array();
    const version *nw = newest(s), *auth = NULL;
    int64_t latest = 0;
    uint64_t total = 0, total_since = 0, stale_since = 0, ncur = 0;
    int is_auth = r && r->site[0] && strcmp(r->site, s->site) == 0;
    int stale = 0;
    char cur_list[512] = "";

    for (size_t i = 0; i < s->nv; i++) {
        const version *v = &s->v[i];
        if (v->last_ns > latest)
            latest = v->last_ns;
        total += v->count;
        if (pr && strcmp(v->name, pr->version) == 0)
            auth = v;
    }
    for (size_t i = 0; i < s->nv; i++) {
        const version *v = &s->v[i];
        /* Current: still served after the newest version appeared (a
         * version last seen before that was replaced). */
        int current = v->last_ns >= nw->first_ns;
        json_t *x = json_object();
        json_object_set_new(x, "version", json_string(v->name));
        json_object_set_new(x, "first_seen_unix_nano", ns_json(v->first_ns));
        json_object_set_new(x, "last_seen_unix_nano", ns_json(v->last_ns));
        json_object_set_new(x, "requests", json_integer((json_int_t)v->count));
        json_object_set_new(x, "current", json_boolean(current));
        json_array_append_new(vs, x);
        if (current) {
            ncur++;
            if (pr && strcmp(v->name, pr->version) != 0 && latest >= pr->at_ns)
                stale = 1;
            if (strlen(cur_list) + strlen(v->name) + 3 < sizeof(cur_list)) {
                if (cur_list[0])
                    strncat(cur_list, ", ", sizeof(cur_list) - strlen(cur_list) - 1);
                strncat(cur_list, v->name, sizeof(cur_list) - strlen(cur_list) - 1);
            }
        }
        if (pr) {
            uint64_t k = count_since(m, v, pr->at_ns);
            total_since += k;
            if (strcmp(v->name, pr->version) != 0)
                stale_since += k;
        }
    }
    json_object_set_new(o, "site", json_string(s->site));
    json_object_set_new(o, "authority", json_boolean(is_auth));
    json_object_set_new(o, "version", json_string(nw->name));
    json_object_set_new(o, "since_unix_nano", ns_json(nw->first_ns));
    json_object_set_new(o, "last_seen_unix_nano", ns_json(latest));
    json_object_set_new(o, "requests", json_integer((json_int_t)total));
    json_object_set_new(o, "versions", vs);
    if (is_auth)
        stale = 0;
    {
        /* The share of the served version among the site's requests
         * since it appeared (from that bucket on): how far its rollout
         * at this site has gone. */
        uint64_t denom = 0, num = count_since(m, nw, nw->first_ns);
        for (size_t i = 0; i < s->nv; i++)
            denom += count_since(m, &s->v[i], nw->first_ns);
        json_object_set_new(o, "share",
                            json_real(denom ? (double)num / (double)denom : 0));
    }
    json_object_set_new(o, "stale", json_boolean(stale));
    if (pr && !is_auth) {
        double since_s = (double)(now - pr->at_ns) / 1e9;
        double share = total_since ? (double)stale_since / (double)total_since : 0;
        json_object_set_new(o, "stale_share", json_real(share));
        json_object_set_new(o, "stale_requests", json_integer((json_int_t)stale_since));
        json_object_set_new(o, "stale_seconds",
                            json_real(stale && since_s > 0 ? since_s : 0));
        if (auth) {
            json_object_set_new(o, "propagation_delay_seconds",
                                json_real(delay_s(s, auth, pr->at_ns)));
        } else {
            json_object_set_new(o, "propagation_delay_seconds", json_null());
        }
        if (stale && since_s * 1000 > (double)slo_ms) {
            char ago[32], slo[32];
            tg_format_duration_s(since_s, ago, sizeof(ago));
            tg_format_duration_s((double)slo_ms / 1000, slo, sizeof(slo));
            tg_json_appendf(
                warnings,
                "%s serves %s %s, authoritative %s since %s (SLO %s), %.0f%% of its "
                "requests",
                s->site, s->model, cur_list, pr->version, ago, slo, share * 100);
        }
    }
    {
        /* Stuck: two versions or more served side by side since the
         * newest appeared, for longer than the window. */
        double overlap = (double)(latest - nw->first_ns) / 1e9;
        int stuck = ncur >= 2 && overlap * 1000 > (double)stuck_ms;
        json_object_set_new(o, "stuck", json_boolean(stuck));
        json_object_set_new(o, "stuck_seconds", json_real(ncur >= 2 ? overlap : 0));
        if (stuck) {
            char dur[32], win[32];
            tg_format_duration_s(overlap, dur, sizeof(dur));
            tg_format_duration_s((double)stuck_ms / 1000, win, sizeof(win));
            tg_json_appendf(
                warnings, "%s serves %s in %llu versions (%s) for %s (window %s)",
                s->site, s->model, (unsigned long long)ncur, cur_list, dur, win);
        }
    }
    return o;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *tg_models_report(tg_models *m, int64_t now)
{
    json_t *root = json_object(), *models = json_array(), *warnings = json_array();
    const char **names = NULL;
    size_t nn = 0;

    if (!root || !models || !warnings)
        goto fail;
    pthread_mutex_lock(&m->mu);
    if (m->n && !(names = calloc(m->n + 1, sizeof(*names)))) {
        pthread_mutex_unlock(&m->mu);
        goto fail;
    }
    for (size_t i = 0; i < m->n; i++) {
        size_t j;
        for (j = 0; j < nn && strcmp(names[j], m->s[i].model) != 0; j++)
            ;
        if (j == nn)
            names[nn++] = m->s[i].model;
    }
    qsort(names, nn, sizeof(*names), cmp_str);
    for (size_t k = 0; k < nn; k++) {
        const char *model = names[k];
        const tg_models_rule *r = rule_for(&m->cfg, model);
        uint64_t slo = r && r->max_propagation_ms ? r->max_propagation_ms
                                                  : m->cfg.max_propagation_ms;
        uint64_t stuck =
            r && r->stuck_after_ms ? r->stuck_after_ms : m->cfg.stuck_after_ms;
        json_t *o = json_object(), *sites = json_array(), *pj = json_array();
        promo *p;
        size_t np = promotions(m, r, model, &p);
        const promo *cur = np ? &p[np - 1] : NULL;
        char auth[1100];

        if (!r)
            snprintf(auth, sizeof(auth), "none");
        else if (r->site[0])
            snprintf(auth, sizeof(auth), "site:%s", r->site);
        else
            snprintf(auth, sizeof(auth), "registry:%s", r->registry);
        json_object_set_new(o, "model", json_string(model));
        json_object_set_new(o, "authority", json_string(auth));
        json_object_set_new(o, "authoritative_version",
                            cur ? json_string(cur->version) : json_null());
        json_object_set_new(o, "promoted_at_unix_nano",
                            cur ? ns_json(cur->at_ns) : json_null());
        json_object_set_new(o, "max_propagation_seconds", json_real((double)slo / 1000));
        json_object_set_new(o, "stuck_after_seconds", json_real((double)stuck / 1000));
        for (size_t i = 0; i < np; i++) {
            json_t *x = json_object(), *d = json_object();
            json_object_set_new(x, "version", json_string(p[i].version));
            json_object_set_new(x, "at_unix_nano", ns_json(p[i].at_ns));
            for (size_t j = 0; j < m->n; j++) {
                const series *s = &m->s[j];
                const version *v;
                if (strcmp(s->model, model) != 0 ||
                    (r->site[0] && !strcmp(s->site, r->site)))
                    continue;
                v = find_version((series *)s, p[i].version, 0);
                json_object_set_new(
                    d, s->site, v ? json_real(delay_s(s, v, p[i].at_ns)) : json_null());
            }
            json_object_set_new(x, "delays", d);
            json_array_append_new(pj, x);
        }
        json_object_set_new(o, "promotions", pj);
        for (size_t j = 0; j < m->n; j++)
            if (strcmp(m->s[j].model, model) == 0 && m->s[j].nv)
                json_array_append_new(
                    sites, site_row(m, &m->s[j], r, cur, slo, stuck, now, warnings));
        json_object_set_new(o, "sites", sites);
        json_array_append_new(models, o);
        free(p);
    }
    json_object_set_new(root, "dropped_observations",
                        json_integer((json_int_t)m->dropped));
    pthread_mutex_unlock(&m->mu);
    free(names);
    json_object_set_new(root, "now_unix_nano", ns_json(now));
    json_object_set_new(root, "models", models);
    json_object_set_new(root, "warnings", warnings);
    return root;
fail:
    json_decref(root);
    json_decref(models);
    json_decref(warnings);
    return NULL;
}

/* ---- Prometheus ------------------------------------------------------------------- */

static void labels2(tg_strbuf *b, const char *site, const char *model)
{
    tg_strbuf_put(b, "{site=\"", 7);
    tg_strbuf_label(b, site);
    tg_strbuf_put(b, "\",model=\"", 9);
    tg_strbuf_label(b, model);
    tg_strbuf_putc(b, '"');
}

void tg_models_metrics(const json_t *report, tg_strbuf *b)
{
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        {"tollgate_model_authoritative_info", "gauge",
         "The authoritative version of each model, and its authority."},
        {"tollgate_model_version_info", "gauge",
         "Versions each site currently serves (1), marked when authoritative."},
        {"tollgate_model_requests_total", "counter",
         "Requests (spans carrying the model) per site, model and version."},
        {"tollgate_model_stale_seconds", "gauge",
         "Seconds since the promotion a site still serves an older version of (0: "
         "current)."},
        {"tollgate_model_stale_requests_ratio", "gauge",
         "Share of a site's requests since the last promotion served by an older "
         "version."},
        {"tollgate_model_propagation_delay_seconds", "gauge",
         "How long after the last promotion the site first served the new version."},
    };
    json_t *models = json_object_get(report, "models"), *mo;
    size_t i;

    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        tg_strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name, fam[f].help,
                         fam[f].name, fam[f].type);
        json_array_foreach(models, i, mo)
        {
            const char *model = json_string_value(json_object_get(mo, "model"));
            const char *av =
                json_string_value(json_object_get(mo, "authoritative_version"));
            json_t *sites = json_object_get(mo, "sites"), *so;
            size_t j;
            if (f == 0) {
                if (!av)
                    continue;
                tg_strbuf_printf(b, "%s{model=\"", fam[f].name);
                tg_strbuf_label(b, model);
                tg_strbuf_put(b, "\",version=\"", 11);
                tg_strbuf_label(b, av);
                tg_strbuf_put(b, "\",authority=\"", 13);
                tg_strbuf_label(b, json_string_value(json_object_get(mo, "authority")));
                tg_strbuf_put(b, "\"} 1\n", 5);
                continue;
            }
            json_array_foreach(sites, j, so)
            {
                const char *site = json_string_value(json_object_get(so, "site"));
                json_t *vs = json_object_get(so, "versions"), *vo, *x;
                size_t k;
                if (f == 1 || f == 2) {
                    json_array_foreach(vs, k, vo)
                    {
                        const char *ver =
                            json_string_value(json_object_get(vo, "version"));
                        if (f == 1 && !json_is_true(json_object_get(vo, "current")))
                            continue;
                        tg_strbuf_put(b, fam[f].name, strlen(fam[f].name));
                        labels2(b, site, model);
                        tg_strbuf_put(b, ",version=\"", 10);
                        tg_strbuf_label(b, ver);
                        if (f == 1)
                            tg_strbuf_printf(b, "\",authoritative=\"%s\"} 1\n",
                                             av && strcmp(av, ver) == 0 ? "true"
                                                                        : "false");
                        else
                            tg_strbuf_printf(b, "\"} %lld\n",
                                             (long long)json_integer_value(
                                                 json_object_get(vo, "requests")));
                    }
                    continue;
                }
                x = json_object_get(so, f == 3   ? "stale_seconds"
                                        : f == 4 ? "stale_share"
                                                 : "propagation_delay_seconds");
                if (!x || json_is_null(x))
                    continue;
                tg_strbuf_put(b, fam[f].name, strlen(fam[f].name));
                labels2(b, site, model);
                tg_strbuf_printf(b, "} %.9g\n", json_number_value(x));
            }
        }
    }
}
