/* Model version consistency across sites (docs/models.md).
 *
 * From the span summaries the centre already receives, which model
 * versions each site serves: per site x model x version the first and last
 * time seen (span start, the site's clock), and request counts per time
 * bucket of `models.resolution`. Per model (or glob) the `models:` section
 * names the authority: a site, whose newest served version is the truth,
 * or a registry file (model, version, promoted_at). A promotion is the
 * moment the authority's version changes; for each, the centre measures
 * how long every other site took to serve the new version, the share of
 * its requests still served by older ones, and warns when a site is past
 * the model's `max_propagation` or serves two versions for longer than
 * `stuck_after` (a stuck rollout).
 *
 * Layers: models.c is the pure model (no LMDB, no HTTP, no clock: every
 * call takes `now`), so it is unit-tested alone; models_config.c reads the
 * section and the registry files; models_api.c wires it to the centre
 * (its store, the upload path, /api/v1/models, SIGHUP).
 *
 * Threads: a tg_models is guarded by its own mutex; every call may come
 * from any thread. */
#ifndef TG_MODELS_H
#define TG_MODELS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_strbuf.h"
#include "tg_yaml.h"

#define TG_MODELS_MAX_RULES 64
#define TG_MODELS_MAX_KEYS 8

/* One rule of `models.rules`: the first whose glob matches a model name
 * decides its authority and SLOs. Exactly one of site / registry is set. */
typedef struct tg_models_rule {
    char match[128];             /* fnmatch(3) glob over the model name */
    char site[64];               /* authority: this site's newest version */
    char registry[1024];         /* authority: this registry file */
    uint64_t max_propagation_ms; /* 0: the section's */
    uint64_t stuck_after_ms;     /* 0: the section's */
} tg_models_rule;

typedef struct tg_models_config {
    char model_keys[TG_MODELS_MAX_KEYS][128]; /* the first present names the model */
    size_t n_model_keys;
    char version_keys[TG_MODELS_MAX_KEYS][128]; /* the first present is the version */
    size_t n_version_keys;
    uint64_t max_propagation_ms; /* 15m */
    uint64_t stuck_after_ms;     /* 30m */
    uint64_t resolution_ms;      /* 1m: bucket width of request counts */
    uint64_t history_ms;         /* 24h: buckets kept in memory */
    tg_models_rule rules[TG_MODELS_MAX_RULES];
    size_t n_rules;
} tg_models_config;

/* The defaults: model from gen_ai.request.model, version from
 * ml.model.version or gen_ai.response.model, no rules. */
void tg_models_config_defaults(tg_models_config *c);

/* Reads the `models:` section node `v` of the file `file` into c (over
 * the defaults). 0, or TG_ECONFIG with "FILE:LINE:COLUMN: models...: why". */
int tg_models_config_load(tg_models_config *c, const tg_ynode *v, const char *file,
                          char *err, size_t errlen);

/* A registry's entries: every promotion it records. */
typedef struct tg_models_reg_entry {
    char model[128], version[128];
    int64_t promoted_at_ns;
} tg_models_reg_entry;

typedef struct tg_models_registry {
    tg_models_reg_entry *v;
    size_t n;
} tg_models_registry;

/* Reads a registry file: `models: [{model, version, promoted_at}, ...]`,
 * promoted_at as "2026-12-03T12:00:00Z" (or a date) or Unix seconds.
 * 0, or TG_ECONFIG / TG_ENOMEM with err. */
int tg_models_registry_load(const char *path, tg_models_registry *r, char *err,
                            size_t errlen);
/* The same from memory; `name` stands for the file in messages. */
int tg_models_registry_load_buffer(const char *name, const char *buf, size_t len,
                                   tg_models_registry *r, char *err, size_t errlen);
void tg_models_registry_free(tg_models_registry *r);

typedef struct tg_models tg_models;

/* NULL on allocation failure. The configuration is copied. */
tg_models *tg_models_new(const tg_models_config *cfg);
void tg_models_free(tg_models *m);

/* Replaces the registry read from `path` (one of the rules' files); the
 * registry is moved into m (r is emptied). */
int tg_models_set_registry(tg_models *m, const char *path, tg_models_registry *r);

/* One observation: `count` requests of model/version at site, the
 * earliest at first_ns and the latest at last_ns, all in one bucket
 * (bucket_ns: its start). Adding the same observation twice counts it
 * twice: the caller adds what a new batch carried, once. */
typedef struct tg_models_obs {
    const char *site, *model, *version;
    int64_t bucket_ns;
    uint64_t count;
    int64_t first_ns, last_ns;
} tg_models_obs;

/* 0 or TG_ENOMEM; an observation beyond the caps (series, versions) is
 * dropped and counted. now_ns trims buckets older than models.history. */
int tg_models_observe(tg_models *m, const tg_models_obs *o, int64_t now_ns);

/* The bucket start of a time, at the configured resolution. */
int64_t tg_models_bucket(const tg_models *m, int64_t t_ns);

/* The attribute keys (config) used to read a span's model and version. */
const tg_models_config *tg_models_cfg(const tg_models *m);

/* The whole picture at now_ns, as GET /api/v1/models answers it:
 *   {now_unix_nano, models: [{model, authority, authoritative_version,
 *    promoted_at_unix_nano, max_propagation_seconds, stuck_after_seconds,
 *    promotions: [{version, at_unix_nano, delays: {site: s|null}}],
 *    sites: [{site, authority, version, versions: [...], since_unix_nano,
 *             share, stale, stale_seconds, stale_share,
 *             propagation_delay_seconds, stuck, stuck_seconds}]}],
 *    warnings: ["..."], dropped_observations}
 * NULL on allocation failure. */
json_t *tg_models_report(tg_models *m, int64_t now_ns);

/* Appends the report's figures in Prometheus exposition. */
void tg_models_metrics(const json_t *report, tg_strbuf *b);

#endif
