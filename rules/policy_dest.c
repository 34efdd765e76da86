/* Policy files, second half: destinations with their actions and
 * unclassified-data handling, HMAC keys, the site, limits. Merge rules are
 * those of policy_yaml.c: a later file overrides scalars and adds or
 * replaces action patterns one by one. */
#include <string.h>

#include "policy_yaml.h"

/* ---- actions and destinations --------------------------------------------------------
 */

static int action_kind(const char *s)
{
    const tg_action_desc *d = tg_rules__action_find(s);
    return d ? (int)d->kind : -1;
}

typedef struct spec_arg {
    tg_action_spec *a;
    int have_action;
    const tg_ynode *params[16];
    int n_params;
} spec_arg;

/* One parameter, parsed by its row in tg_action_params whatever the action
 * (parse_spec checks afterwards that it belongs to the action). */
static int spec_param(tg_ryctx *y, const tg_action_param *pa, const tg_ynode *v,
                      tg_action_spec *a)
{
    const char *s;
    uint64_t u;
    int rc;

    switch (pa->type) {
    case TG_AP_TEXT:
        if ((rc = tg_ry_scalar(y, v, &a->text, &a->text_len)))
            return rc;
        if (a->text_len > pa->max)
            return tg_ry_fail(y, v, "redaction text longer than %llu bytes",
                              (unsigned long long)pa->max);
        return 0;
    case TG_AP_KEY:
        if ((rc = tg_ry_scalar(y, v, &s, NULL)))
            return rc;
        a->key_id = s; /* resolved to an index at finalize */
        a->key_loc = tg_ry_loc(y, v);
        return 0;
    case TG_AP_CHAR:
        if ((rc = tg_ry_scalar(y, v, &s, NULL)))
            return rc;
        if (strlen(s) != 1 || tg_isalnum((unsigned char)s[0]) ||
            (unsigned char)s[0] < 0x21 || (unsigned char)s[0] > 0x7e)
            return tg_ry_fail(y, v, "mask char must be one printable ASCII symbol");
        a->mask_char = s[0];
        return 0;
    case TG_AP_UINT:
    case TG_AP_U64:
        if ((rc = tg_ry_uint(y, v, pa->max, &u)))
            return rc;
        if (u < pa->min)
            return tg_ry_fail(y, v, "%s must be positive", pa->name);
        if (pa->type == TG_AP_UINT)
            *(unsigned *)((char *)a + pa->offset) = (unsigned)u;
        else
            *(uint64_t *)((char *)a + pa->offset) = u;
        return 0;
    default:
        return tg_ry_duration(y, v, (uint64_t *)((char *)a + pa->offset));
    }
}

static int spec_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    spec_arg *sa = arg;
    tg_action_spec *a = sa->a;
    const tg_action_param *pa;
    const char *s;
    int rc;

    if (tg_ry_is(k, "action")) {
        if ((rc = tg_ry_scalar(y, v, &s, NULL)))
            return rc;
        if ((rc = action_kind(s)) < 0)
            return tg_ry_fail(
                y, v,
                "unknown action '%.32s' (pass, generalise, mask, hash, redact, drop, "
                "keep-local)",
                s);
        a->kind = (uint8_t)rc;
        sa->have_action = 1;
        return 0;
    }
    if (sa->n_params < 16)
        sa->params[sa->n_params++] = k;
    pa = tg_rules__action_param(k->str);
    return pa ? spec_param(y, pa, v, a) : tg_ry_fail(y, k, "unknown action parameter");
}

/* An action: "redact" or {action: redact, text: ...}. */
static int parse_spec(tg_ryctx *y, const tg_ynode *n, tg_action_spec *a)
{
    const char *known[32];
    size_t nk = 0;
    spec_arg sa;
    int rc;

    known[nk++] = "action";
    for (const tg_action_param *pa = tg_action_params; pa->name && nk + 1 < 32; pa++)
        known[nk++] = pa->name;
    known[nk] = NULL;
    tg_rules__action_defaults(a);
    a->loc = tg_ry_loc(y, n);
    if (n->kind == TG_YNODE_SCALAR) {
        const char *s;
        if ((rc = tg_ry_scalar(y, n, &s, NULL)))
            return rc;
        if ((rc = action_kind(s)) < 0)
            return tg_ry_fail(
                y, n,
                "unknown action '%.32s' (pass, generalise, mask, hash, redact, drop, "
                "keep-local)",
                s);
        a->kind = (uint8_t)rc;
        return 0;
    }
    if ((rc = tg_ry_want(y, n, TG_YNODE_MAP, "an action: a name or {action: NAME, ...}")))
        return rc;
    memset(&sa, 0, sizeof(sa));
    sa.a = a;
    if ((rc = tg_ry_each_pair(y, n, known, spec_pair, &sa)))
        return rc;
    if (!sa.have_action)
        return tg_ry_fail(y, n, "missing 'action'");
    a->loc = tg_ry_loc(y, n);
    for (int i = 0; i < sa.n_params; i++) {
        const tg_action_param *pa = tg_rules__action_param(sa.params[i]->str);
        if (pa && pa->owner != a->kind)
            return tg_ry_fail(y, sa.params[i], "'%s' does not apply to action '%s'",
                              pa->name,
                              tg_rules_action_name((enum tg_rules_action)a->kind));
    }
    return 0;
}

static int find_dest(const tg_rules_policy *p, const char *name)
{
    for (size_t i = 0; i < p->n_dests; i++)
        if (!strcmp(p->dests[i].name, name))
            return (int)i;
    return -1;
}

static int country_ok(const char *s)
{
    char cc[2];
    if (strlen(s) != 2 || !tg_isupper((unsigned char)s[0]) ||
        !tg_isupper((unsigned char)s[1]))
        return 0;
    cc[0] = s[0];
    cc[1] = s[1];
    return tg_iso_country_ok(cc);
}

typedef struct juris_arg {
    const char **country, **region;
} juris_arg;

static int juris_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    juris_arg *j = arg;
    int rc;

    if (tg_ry_is(k, "country")) {
        if ((rc = tg_ry_scalar(y, v, j->country, NULL)))
            return rc;
        if (!country_ok(*j->country))
            return tg_ry_fail(
                y, v, "country must be an ISO 3166-1 alpha-2 code such as DE or US");
        return 0;
    }
    return tg_ry_scalar(y, v, j->region, NULL);
}

static int parse_juris(tg_ryctx *y, const tg_ynode *v, const char **country,
                       const char **region)
{
    static const char *const known[] = {"country", "region", NULL};
    juris_arg j = {country, region};
    int rc = tg_ry_want(y, v, TG_YNODE_MAP, "a jurisdiction {country, region}");
    return rc ? rc : tg_ry_each_pair(y, v, known, juris_pair, &j);
}

static int allow_str(tg_ryctx *y, const tg_ynode *n, const char *s, size_t len, void *arg)
{
    return tg_ry_km_add(y, arg, n, -1, s, len);
}

static int unclass_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    tg_dest *d = arg;
    const char *s;
    int rc;

    if (tg_ry_is(k, "allow_keys")) {
        d->allow_list = 1;
        if (v->kind == TG_YNODE_SEQ && v->n == 0)
            return 0;
        return tg_ry_each_string(y, v, allow_str, &d->allow);
    }
    if ((rc = tg_ry_scalar(y, v, &s, NULL)))
        return rc;
    if (!strcmp(s, "pass"))
        d->bodies = TG_BODIES_PASS;
    else if (!strcmp(s, "drop"))
        d->bodies = TG_BODIES_DROP;
    else if (!strcmp(s, "filter"))
        d->bodies = TG_BODIES_FILTER;
    else
        return tg_ry_fail(y, v, "bodies must be pass, drop or filter");
    return 0;
}

static int action_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    tg_dest *d = arg;
    const char *pat = tg_ry_sdup(y, k->str, k->len);
    tg_dest_action *da = NULL;
    int rc;

    if (!pat)
        return TG_ENOMEM;
    if (!*pat)
        return tg_ry_fail(y, k, "empty class pattern");
    for (size_t i = 0; i < d->n_actions; i++)
        if (!strcmp(d->actions[i].pattern, pat))
            da = &d->actions[i]; /* a later file overrides */
    if (!da) {
        d->actions = tg_rules__grow(&y->p->arena, d->actions, sizeof(*d->actions),
                                    d->n_actions, &d->cap_actions);
        if (!d->actions)
            return TG_ENOMEM;
        da = &d->actions[d->n_actions++];
    }
    da->pattern = pat;
    if ((rc = parse_spec(y, v, &da->spec)))
        return rc;
    da->spec.pattern = pat;
    da->spec.loc = tg_ry_loc(y, k);
    return 0;
}

static int dest_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    static const char *const uknown[] = {"allow_keys", "bodies", NULL};
    tg_dest *d = arg;
    int rc;

    if (tg_ry_is(k, "jurisdiction"))
        return parse_juris(y, v, &d->country, &d->region);
    if (tg_ry_is(k, "purpose"))
        return tg_ry_scalar(y, v, &d->purpose, NULL);
    if (tg_ry_is(k, "description"))
        return tg_ry_scalar(y, v, &d->description, NULL);
    if (tg_ry_is(k, "unclassified")) {
        d->unclassified_loc = tg_ry_loc(y, k);
        d->allow_list = 0;
        tg_rules__kmlist_free(&d->allow);
        d->bodies = TG_BODIES_PASS;
        if (v->kind == TG_YNODE_SCALAR) {
            if (!tg_ry_is(v, "pass"))
                return tg_ry_fail(
                    y, v,
                    "unclassified must be 'pass' or {allow_keys: [...], bodies: ...}");
            return 0;
        }
        if ((rc = tg_ry_want(y, v, TG_YNODE_MAP,
                             "'pass' or {allow_keys: [...], bodies: ...}")))
            return rc;
        return tg_ry_each_pair(y, v, uknown, unclass_pair, d);
    }
    if (tg_ry_is(k, "withheld")) {
        const char *w;
        if ((rc = tg_ry_scalar(y, v, &w, NULL)))
            return rc;
        if (!strcmp(w, "skeleton"))
            d->withheld_whole = 0;
        else if (!strcmp(w, "whole"))
            d->withheld_whole = 1;
        else
            return tg_ry_fail(
                y, v,
                "withheld must be skeleton (ids, times and classes leave) or "
                "whole (nothing leaves)");
        return 0;
    }
    if (tg_ry_is(k, "names")) {
        const char *w;
        if ((rc = tg_ry_scalar(y, v, &w, NULL)))
            return rc;
        if (!strcmp(w, "template"))
            d->names_template = 1;
        else if (!strcmp(w, "raw"))
            d->names_template = 0;
        else
            return tg_ry_fail(y, v,
                              "names must be template (variable parts replaced) or raw");
        return 0;
    }
    if (tg_ry_is(k, "on_error")) {
        d->has_on_error = 1;
        if ((rc = parse_spec(y, v, &d->on_error)))
            return rc;
        if (d->on_error.kind == TG_RULES_PASS)
            return tg_ry_fail(y, v,
                              "on_error cannot be pass: unclassifiable values must not "
                              "leave as they are");
        d->on_error.pattern = TG_RULES_CLASS_UNCLASSIFIABLE;
        return 0;
    }
    /* actions */
    if ((rc = tg_ry_want(y, v, TG_YNODE_MAP,
                         "a mapping of class (or glob, or default) -> action")))
        return rc;
    return tg_ry_each_pair(y, v, NULL, action_pair, d);
}

int tg_ry_dests_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    static const char *const known[] = {"jurisdiction", "purpose",  "description",
                                        "unclassified", "on_error", "actions",
                                        "withheld",     "names",    NULL};
    tg_rules_policy *p = y->p;
    const char *name = tg_ry_sdup(y, k->str, k->len);
    int di, rc;

    (void)arg;
    if (!name)
        return TG_ENOMEM;
    if (!*name || strlen(name) > 64 || strpbrk(name, " \t\"\\{}=,"))
        return tg_ry_fail(
            y, k,
            "destination names are 1 to 64 characters without spaces, quotes, "
            "braces, '=' or ','");
    di = find_dest(p, name);
    if (di < 0) {
        if (p->n_dests >= TG_RULES_MAX_DESTS)
            return tg_ry_fail(y, k, "too many destinations (limit %d)",
                              TG_RULES_MAX_DESTS);
        p->dests = tg_rules__grow(&p->arena, p->dests, sizeof(*p->dests), p->n_dests,
                                  &p->cap_dests);
        if (!p->dests)
            return TG_ENOMEM;
        memset(&p->dests[p->n_dests], 0, sizeof(tg_dest));
        p->dests[p->n_dests].name = name;
        p->dests[p->n_dests].loc = tg_ry_loc(y, k);
        p->dests[p->n_dests].names_template = !strcmp(name, "central");
        di = (int)p->n_dests++;
    }
    if ((rc = tg_ry_want(y, v, TG_YNODE_MAP, "a destination definition (a mapping)")))
        return rc;
    return tg_ry_each_pair(y, v, known, dest_pair, &p->dests[di]);
}

/* ---- keys, site, limits
 * ------------------------------------------------------------------ */

static int key_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    tg_hkey *hk = arg;

    if (tg_ry_is(k, "file"))
        return tg_ry_scalar(y, v, &hk->file, NULL);
    if (tg_ry_is(k, "env"))
        return tg_ry_scalar(y, v, &hk->env, NULL);
    if (tg_ry_is(k, "hex"))
        return tg_ry_scalar(y, v, &hk->hex, NULL);
    return tg_ry_bool(y, v, &hk->create);
}

int tg_ry_keys_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    static const char *const known[] = {"file", "env", "hex", "create", NULL};
    tg_rules_policy *p = y->p;
    const char *id = tg_ry_sdup(y, k->str, k->len);
    tg_hkey *hk = NULL;
    int rc, srcs;

    (void)arg;
    if (!id)
        return TG_ENOMEM;
    if (!*id || strlen(id) > 32 || strpbrk(id, ": \t"))
        return tg_ry_fail(y, k, "key ids are 1 to 32 characters without ':' or spaces");
    for (size_t i = 0; i < p->n_keys; i++)
        if (!strcmp(p->keys[i].id, id))
            hk = &p->keys[i];
    if (!hk) {
        p->keys =
            tg_rules__grow(&p->arena, p->keys, sizeof(*p->keys), p->n_keys, &p->cap_keys);
        if (!p->keys)
            return TG_ENOMEM;
        hk = &p->keys[p->n_keys++];
    }
    memset(hk, 0, sizeof(*hk));
    hk->id = id;
    hk->loc = tg_ry_loc(y, k);
    hk->base_dir = y->dir;
    if ((rc = tg_ry_want(y, v, TG_YNODE_MAP, "a key source {file|env|hex, create}")))
        return rc;
    if ((rc = tg_ry_each_pair(y, v, known, key_pair, hk)))
        return rc;
    srcs = !!hk->file + !!hk->env + !!hk->hex;
    if (srcs != 1)
        return tg_ry_fail(y, v, "a key needs exactly one of file, env or hex");
    if (hk->create && !hk->file)
        return tg_ry_fail(y, v, "create applies to file keys only");
    return 0;
}

int tg_ry_site_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    (void)arg;
    y->p->site_loc = tg_ry_loc(y, k);
    if (tg_ry_is(k, "name"))
        return tg_ry_scalar(y, v, &y->p->site_name, NULL);
    return parse_juris(y, v, &y->p->site_country, &y->p->site_region);
}

int tg_ry_limits_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    uint64_t u;
    int rc;

    (void)arg;
    if (tg_ry_is(k, "max_depth")) {
        if ((rc = tg_ry_uint(y, v, 256, &u)))
            return rc;
        if (u < 4)
            return tg_ry_fail(y, v, "max_depth must be at least 4");
        y->p->max_depth = (uint32_t)u;
    } else if (tg_ry_is(k, "match_limit")) {
        if ((rc = tg_ry_uint(y, v, 100000000, &u)))
            return rc;
        if (u < 1000)
            return tg_ry_fail(y, v, "match_limit must be at least 1000");
        y->p->match_limit = (uint32_t)u;
    } else {
        if ((rc = tg_ry_uint(y, v, 100000000, &u)))
            return rc;
        if (u < 16)
            return tg_ry_fail(y, v, "max_findings must be at least 16");
        y->p->max_findings = (uint32_t)u;
    }
    return 0;
}
