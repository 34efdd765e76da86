/* Model versions at the centre (models.h): the picture fed from uploads,
 * persisted in the store's `models` rows with each batch, rebuilt from
 * them at start, registries reread on SIGHUP, and GET /api/v1/models. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central_int.h"
#include "models.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tg_time.h"

/* Distinct model x version x bucket rows one batch may carry; more are
 * dropped (a batch covers seconds, so a handful is the norm). */
#define MAX_ROWS_PER_BATCH 1024

static const char *attr(const Tollgate__V1__SpanSummary *sp, const char (*keys)[128],
                        size_t n)
{
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < sp->n_attributes; i++) {
            const Tollgate__V1__KeyValue *kv = sp->attributes[i];
            if (kv->value_case == TOLLGATE__V1__KEY_VALUE__VALUE_STRING_VALUE &&
                kv->string_value && kv->string_value[0] && strcmp(kv->key, keys[k]) == 0)
                return kv->string_value;
        }
    return NULL;
}

int tg_central_models_rows(central *c, const Tollgate__V1__Batch *b, tg_arena *a,
                           tg_cstore_model_row **rows, size_t *n)
{
    const tg_models_config *cfg;
    tg_cstore_model_row *r = NULL;
    size_t nr = 0;

    *rows = NULL;
    *n = 0;
    if (!c->models || !b)
        return 0;
    cfg = tg_models_cfg(c->models);
    for (size_t i = 0; i < b->n_spans; i++) {
        const Tollgate__V1__ServiceSpans *ss = b->spans[i];
        for (size_t j = 0; j < ss->n_spans; j++) {
            const Tollgate__V1__SpanSummary *sp = ss->spans[j];
            const char *model = attr(sp, cfg->model_keys, cfg->n_model_keys);
            const char *ver =
                model ? attr(sp, cfg->version_keys, cfg->n_version_keys) : NULL;
            int64_t t = (int64_t)sp->start_time_unix_nano;
            int64_t bk;
            size_t k;
            if (!ver)
                continue;
            bk = tg_models_bucket(c->models, t);
            for (k = 0; k < nr; k++)
                if (r[k].bucket_ns == bk && strcmp(r[k].model, model) == 0 &&
                    strcmp(r[k].version, ver) == 0)
                    break;
            if (k == nr) {
                if (nr == MAX_ROWS_PER_BATCH)
                    continue;
                if (!r && !(r = tg_arena_alloc(a, MAX_ROWS_PER_BATCH * sizeof(*r))))
                    return TG_ENOMEM;
                r[nr++] = (tg_cstore_model_row){.model = model,
                                                .version = ver,
                                                .bucket_ns = bk,
                                                .first_ns = t,
                                                .last_ns = t};
            }
            r[k].count++;
            if (t < r[k].first_ns)
                r[k].first_ns = t;
            if (t > r[k].last_ns)
                r[k].last_ns = t;
        }
    }
    *rows = r;
    *n = nr;
    return 0;
}

void tg_central_models_applied(central *c, const char *site,
                               const tg_cstore_model_row *rows, size_t n)
{
    int64_t now = (int64_t)tg_wall_ns();

    for (size_t i = 0; i < n && c->models; i++) {
        tg_models_obs o = {
            site,          rows[i].model,    rows[i].version, rows[i].bucket_ns,
            rows[i].count, rows[i].first_ns, rows[i].last_ns};
        if (tg_models_observe(c->models, &o, now) != 0)
            tg_warn("model versions: out of memory, an observation is lost", "site=%s",
                    site);
    }
}

static int on_row(void *ctx, const char *site, const tg_cstore_model_row *row)
{
    central *c = ctx;
    tg_models_obs o = {site,       row->model,    row->version, row->bucket_ns,
                       row->count, row->first_ns, row->last_ns};

    return tg_models_observe(c->models, &o, (int64_t)tg_wall_ns()) != 0;
}

/* Reads every registry the rules name. initial: the first failure fails. */
static int load_registries(central *c, int initial)
{
    const tg_models_config *cfg = &c->cfg.models;

    for (size_t i = 0; i < cfg->n_rules; i++) {
        const char *path = cfg->rules[i].registry;
        tg_models_registry r = {0};
        char err[1400];
        int dup = 0;
        if (!path[0])
            continue;
        for (size_t j = 0; j < i; j++)
            dup |= strcmp(cfg->rules[j].registry, path) == 0;
        if (dup)
            continue;
        if (tg_models_registry_load(path, &r, err, sizeof(err)) != 0) {
            if (initial) {
                fprintf(stderr, "tollgate central: %s\n", err);
                return TG_ECONFIG;
            }
            tg_error("model registry reload failed, keeping the previous one", "file=%s",
                     path);
            continue;
        }
        tg_info("model registry loaded", "file=%s entries=%zu", path, r.n);
        tg_models_set_registry(c->models, path, &r);
        tg_models_registry_free(&r);
    }
    return 0;
}

int tg_central_models_open(central *c)
{
    int rc;

    if (!(c->models = tg_models_new(&c->cfg.models)))
        return TG_ENOMEM;
    if ((rc = load_registries(c, 1)))
        return rc;
    if ((rc = tg_cstore_model_rows(c->cs, on_row, c)))
        return rc;
    return 0;
}

void tg_central_models_reload(central *c)
{
    if (c->models)
        load_registries(c, 0);
}

void tg_central_models_close(central *c)
{
    tg_models_free(c->models);
    c->models = NULL;
}

/* A user's or a site's token (the same callers as the cost API). */
void tg_central_models_api(const tg_http_request *req, tg_http_response *resp, void *data)
{
    central *c = data;
    json_t *r;
    char *s;

    tg_central_who who;
    int rc = tg_central_caller(c, req, 1, &who);

    if (rc != 0) {
        tg_http_response_text(resp, 401, tg_central_challenge(resp, rc));
        return;
    }
    r = c->models ? tg_models_report(c->models, (int64_t)tg_wall_ns()) : NULL;
    s = r ? json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(r);
    if (!s) {
        tg_http_response_text(resp, 500, "out of memory\n");
        return;
    }
    tg_http_response_set(resp, 200, "application/json", s, strlen(s));
    free(s);
}
