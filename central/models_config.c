/* The centre's `models:` section and the registry files it names
 * (models.h, docs/models.md). Read through tg_cfgtab and tg_yaml, so every
 * error names FILE:LINE:COLUMN. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"
#include "tg_cfgtab.h"
#include "tg_costmodel.h"
#include "tg_err.h"
#include "tg_units.h"
#include "tg_yaml.h"

#define F(m) TG_CFG_FIELD(tg_models_config, m)

static int load_rules(void *base, const tg_ynode *v, const char *file, char *err,
                      size_t errlen);

static const struct tg_cfg_key models_keys[] = {
    {.path = "model_keys",
     .type = TG_CFG_STRING_LIST,
     F(model_keys),
     .count_offset = offsetof(tg_models_config, n_model_keys),
     .item_size = sizeof(((tg_models_config *)0)->model_keys[0]),
     .help = "Span attributes naming the model, the first present wins "
             "(default `[gen_ai.request.model]`)."},
    {.path = "version_keys",
     .type = TG_CFG_STRING_LIST,
     F(version_keys),
     .count_offset = offsetof(tg_models_config, n_version_keys),
     .item_size = sizeof(((tg_models_config *)0)->version_keys[0]),
     .help = "Span attributes naming the version, the first present wins "
             "(default `[ml.model.version, gen_ai.response.model]`)."},
    {.path = "max_propagation",
     .type = TG_CFG_DURATION,
     .def = "15m",
     F(max_propagation_ms),
     .unit_ms = 1,
     .min = 1,
     .max = UINT64_MAX,
     .help = "SLO: how long after a promotion every site must serve the new version."},
    {.path = "stuck_after",
     .type = TG_CFG_DURATION,
     .def = "30m",
     F(stuck_after_ms),
     .unit_ms = 1,
     .min = 1,
     .max = UINT64_MAX,
     .help = "Warn when one site serves two versions side by side for longer (a stuck "
             "rollout)."},
    {.path = "resolution",
     .type = TG_CFG_DURATION,
     .def = "1m",
     F(resolution_ms),
     .unit_ms = 1,
     .min = 1000,
     .max = 86400000,
     .help = "Width of the time buckets requests are counted in (1s to 1d): the share "
             "of stale requests is exact to one bucket."},
    {.path = "history",
     .type = TG_CFG_DURATION,
     .def = "24h",
     F(history_ms),
     .unit_ms = 1,
     .min = 60000,
     .max = UINT64_MAX,
     .help = "How far back request buckets are kept in memory (the store keeps them "
             "for `retention.max_age`)."},
    {.path = "rules",
     .type = TG_CFG_CUSTOM,
     .load = load_rules,
     .type_text = "list of `{match, authority | registry, max_propagation, stuck_after}`",
     .help = "Per model name (a glob), the authoritative source: `authority: SITE` (its "
             "newest served version) or `registry: FILE` (model, version, promoted_at; "
             "reread on SIGHUP). The first match wins."},
};

static const tg_cfgtab models_table = {models_keys,
                                       sizeof(models_keys) / sizeof(models_keys[0])};

void tg_models_config_defaults(tg_models_config *c)
{
    memset(c, 0, sizeof(*c));
    tg_cfgtab_defaults(&models_table, c);
    snprintf(c->model_keys[0], sizeof(c->model_keys[0]), "gen_ai.request.model");
    c->n_model_keys = 1;
    snprintf(c->version_keys[0], sizeof(c->version_keys[0]), "ml.model.version");
    snprintf(c->version_keys[1], sizeof(c->version_keys[1]), "gen_ai.response.model");
    c->n_version_keys = 2;
}

static int load_rules(void *base, const tg_ynode *v, const char *file, char *err,
                      size_t errlen)
{
    static const char *const allowed[] = {"match",           "authority",   "registry",
                                          "max_propagation", "stuck_after", NULL};
    tg_models_config *c = base;

    if (v->kind != TG_YNODE_SEQ)
        return tg_yaml_error(err, errlen, file, v,
                             "models.rules: expected a list, found %s",
                             tg_yaml_kind_name(v));
    if (v->n > TG_MODELS_MAX_RULES)
        return tg_yaml_error(err, errlen, file, v, "models.rules: at most %d rules",
                             TG_MODELS_MAX_RULES);
    c->n_rules = 0;
    for (size_t i = 0; i < v->n; i++) {
        const tg_ynode *it = v->items[i], *x;
        tg_models_rule *r = &c->rules[c->n_rules];
        int rc;

        memset(r, 0, sizeof(*r));
        if (it->kind != TG_YNODE_MAP)
            return tg_yaml_error(err, errlen, file, it,
                                 "models.rules: each rule is a mapping, found %s",
                                 tg_yaml_kind_name(it));
        if ((rc = tg_yaml_check_keys(file, it, allowed, err, errlen)))
            return rc;
        if (!(x = tg_yaml_get(it, "match")))
            return tg_yaml_error(err, errlen, file, it,
                                 "models.rules: a rule needs `match`");
        if ((rc = tg_yaml_str(file, x, r->match, sizeof(r->match), err, errlen)))
            return rc;
        if (!r->match[0])
            return tg_yaml_error(err, errlen, file, x, "models.rules: `match` is empty");
        if ((x = tg_yaml_get(it, "authority")) &&
            (rc = tg_yaml_str(file, x, r->site, sizeof(r->site), err, errlen)))
            return rc;
        if ((x = tg_yaml_get(it, "registry")) &&
            (rc = tg_yaml_str(file, x, r->registry, sizeof(r->registry), err, errlen)))
            return rc;
        if (!r->site[0] == !r->registry[0])
            return tg_yaml_error(err, errlen, file, it,
                                 "models.rules: a rule names exactly one of `authority` "
                                 "(a site) and `registry` (a file)");
        if ((x = tg_yaml_get(it, "max_propagation")) &&
            (rc = tg_yaml_duration_ms(file, x, &r->max_propagation_ms, err, errlen)))
            return rc;
        if ((x = tg_yaml_get(it, "stuck_after")) &&
            (rc = tg_yaml_duration_ms(file, x, &r->stuck_after_ms, err, errlen)))
            return rc;
        c->n_rules++;
    }
    return 0;
}

int tg_models_config_load(tg_models_config *c, const tg_ynode *v, const char *file,
                          char *err, size_t errlen)
{
    tg_models_config tmp = *c;
    int rc;

    if (v->kind != TG_YNODE_MAP)
        return tg_yaml_error(err, errlen, file, v, "models: expected a mapping, found %s",
                             tg_yaml_kind_name(v));
    rc = tg_cfgtab_load(&models_table, &tmp, v, file, NULL, NULL, err, errlen);
    if (rc)
        return rc;
    *c = tmp;
    return 0;
}

/* promoted_at: a date ("2026-12-03" or "2026-12-03T12:00:00Z") or Unix
 * seconds. */
static int promoted_at(const char *file, const tg_ynode *n, int64_t *out, char *err,
                       size_t errlen)
{
    int64_t s;
    char *end;

    if (n->kind == TG_YNODE_SCALAR && n->str[0]) {
        long long v = strtoll(n->str, &end, 10);
        if (!*end && v >= 0) {
            *out = (int64_t)v * 1000000000;
            return 0;
        }
        if (tg_cost_parse_date(n->str, &s) == 0) {
            *out = s * 1000000000;
            return 0;
        }
    }
    return tg_yaml_error(err, errlen, file, n,
                         "promoted_at: expected a date such as 2026-12-03T12:00:00Z or "
                         "Unix seconds");
}

/* Reads a registry's tree (freed here); `path` names it in messages. */
static int registry_from(tg_ynode *root, const char *path, tg_models_registry *out,
                         char *err, size_t errlen)
{
    static const char *const top[] = {"models", NULL};
    static const char *const keys[] = {"model", "version", "promoted_at", NULL};
    const tg_ynode *list;
    tg_models_registry r = {0};
    int rc = 0;

    if (!root)
        return TG_ECONFIG;
    if ((rc = tg_yaml_check_keys(path, root, top, err, errlen)))
        goto out;
    list = tg_yaml_get(root, "models");
    if (!list || list->kind != TG_YNODE_SEQ) {
        rc = tg_yaml_error(err, errlen, path, list ? list : root,
                           "models: expected a list of {model, version, promoted_at}");
        goto out;
    }
    if (list->n && !(r.v = calloc(list->n, sizeof(*r.v)))) {
        rc = TG_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < list->n; i++) {
        const tg_ynode *it = list->items[i], *x;
        tg_models_reg_entry *e = &r.v[r.n];
        if (it->kind != TG_YNODE_MAP) {
            rc = tg_yaml_error(err, errlen, path, it, "models: each entry is a mapping");
            goto out;
        }
        if ((rc = tg_yaml_check_keys(path, it, keys, err, errlen)))
            goto out;
        for (size_t k = 0; k < 3; k++)
            if (!tg_yaml_get(it, keys[k])) {
                rc = tg_yaml_error(err, errlen, path, it, "models: an entry needs `%s`",
                                   keys[k]);
                goto out;
            }
        if ((rc = tg_yaml_str(path, tg_yaml_get(it, "model"), e->model, sizeof(e->model),
                              err, errlen)) ||
            (rc = tg_yaml_str(path, tg_yaml_get(it, "version"), e->version,
                              sizeof(e->version), err, errlen)))
            goto out;
        x = tg_yaml_get(it, "promoted_at");
        if ((rc = promoted_at(path, x, &e->promoted_at_ns, err, errlen)))
            goto out;
        r.n++;
    }
out:
    tg_yaml_free(root);
    if (rc) {
        tg_models_registry_free(&r);
        return rc;
    }
    *out = r;
    return 0;
}

int tg_models_registry_load(const char *path, tg_models_registry *out, char *err,
                            size_t errlen)
{
    return registry_from(tg_yaml_load_file(path, err, errlen), path, out, err, errlen);
}

int tg_models_registry_load_buffer(const char *name, const char *buf, size_t len,
                                   tg_models_registry *out, char *err, size_t errlen)
{
    return registry_from(tg_yaml_load_buffer(name, buf, len, err, errlen), name, out, err,
                         errlen);
}

void tg_models_registry_free(tg_models_registry *r)
{
    free(r->v);
    r->v = NULL;
    r->n = 0;
}
