/* Internal to the policy loader: the YAML walking helpers shared by
 * policy_yaml.c (files, includes, classes) and policy_dest.c (destinations,
 * actions, keys, site, limits). Every helper reports errors with the node's
 * file, line and column and returns TG_ECONFIG (or TG_ENOMEM). */
#ifndef TG_POLICY_YAML_H
#define TG_POLICY_YAML_H

#include "rules_int.h"
#include "tg_yaml.h"

typedef struct seen_file {
    char *path;
    int done;
} seen_file;

typedef struct seen_list {
    seen_file *v;
    size_t n, cap;
} seen_list;

typedef struct tg_ryctx {
    tg_rules_policy *p;
    const char *file;
    const char *dir;
    const tg_rules_options *opt;
    tg_rules_diag *err;
    int depth;
    seen_list *seen;
} tg_ryctx;

/* ---- helpers ---------------------------------------------------------------- */

tg_loc tg_ry_loc(const tg_ryctx *y, const tg_ynode *n);
int tg_ry_fail(const tg_ryctx *y, const tg_ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int tg_ry_want(tg_ryctx *y, const tg_ynode *n, enum tg_ynode_kind t, const char *what);
const char *tg_ry_sdup(tg_ryctx *y, const char *s, size_t len);
int tg_ry_scalar(tg_ryctx *y, const tg_ynode *n, const char **out, size_t *len);
int tg_ry_is(const tg_ynode *n, const char *s);
int tg_ry_uint(tg_ryctx *y, const tg_ynode *n, uint64_t max, uint64_t *out);
int tg_ry_bool(tg_ryctx *y, const tg_ynode *n, int *out);
int tg_ry_duration(tg_ryctx *y, const tg_ynode *n, uint64_t *out);

/* Iterates a mapping (its keys are scalars and unique: the tree sees to
 * that), checking them against `known` when it is not NULL. */
typedef int (*tg_ry_pair_fn)(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v,
                             void *arg);
int tg_ry_each_pair(tg_ryctx *y, const tg_ynode *map, const char *const *known,
                    tg_ry_pair_fn fn, void *arg);
/* A string or a list of strings. */
typedef int (*tg_ry_str_fn)(tg_ryctx *y, const tg_ynode *n, const char *s, size_t len,
                            void *arg);
int tg_ry_each_string(tg_ryctx *y, const tg_ynode *n, tg_ry_str_fn fn, void *arg);

int tg_ry_regex(tg_ryctx *y, const tg_ynode *n, const char *s, uint32_t flags,
                pcre2_code **out);
/* kind < 0: exact, or glob when the text has * ? [ */
int tg_ry_km_add(tg_ryctx *y, tg_kmlist *l, const tg_ynode *n, int kind, const char *s,
                 size_t len);
int tg_ry_keys(tg_ryctx *y, const tg_ynode *n, tg_kmlist *l);

/* ---- sections (policy_dest.c) ----------------------------------------------------- */

int tg_ry_dests_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg);
int tg_ry_keys_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg);
int tg_ry_site_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg);
int tg_ry_limits_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg);

#endif
