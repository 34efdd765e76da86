/* Policy files: YAML into the policy model, with file:line:column on every
 * error.
 *
 * Merge order (docs/rules.md): files load in the order given; a file's
 * `include:` list loads first, depth-first, relative to the including file,
 * each file at most once; then the file's own content applies on top.
 * Later content wins for scalars (site fields, a class's regulation,
 * retention and description, a destination's jurisdiction, purpose,
 * unclassified handling, on_error, and each action pattern); a class's
 * `detect` blocks accumulate unless the later file says `replace: true`.
 * Within one file a key may appear once per mapping.
 *
 * The document API of libyaml gives every node its start mark; aliases are
 * refused (a document is a tree here, and refusing aliases keeps a
 * "billion laughs" file from costing anything). */
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "rules_int.h"

#define MAX_INCLUDE_DEPTH 16
#define MAX_POLICY_BYTES (4u << 20)

typedef struct seen_file {
    char *path;
    int done;
} seen_file;

typedef struct seen_list {
    seen_file *v;
    size_t n, cap;
} seen_list;

typedef struct yctx {
    tg_rules_policy *p;
    yaml_document_t *doc;
    const char *file;
    const char *dir;
    const tg_rules_options *opt;
    tg_rules_diag *err;
    unsigned char *visited;
    size_t n_nodes;
    int depth;
    seen_list *seen;
} yctx;

/* ---- helpers ------------------------------------------------------------------ */

static tg_loc loc_of(const yctx *y, const yaml_node_t *n)
{
    tg_loc l = {y->file, (unsigned)n->start_mark.line + 1, (unsigned)n->start_mark.column + 1};
    return l;
}

static int fail(const yctx *y, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(const yctx *y, const yaml_node_t *n, const char *fmt, ...)
{
    tg_loc l = loc_of(y, n);
    va_list ap;
    char msg[400];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tg_rules__set_err(y->err, &l, "%s", msg);
    return TG_ECONFIG;
}

static yaml_node_t *node_at(const yctx *y, int id)
{
    return yaml_document_get_node(y->doc, id);
}

/* Every node is visited once; a second visit means an alias. */
static int visit(yctx *y, yaml_node_t *n)
{
    size_t idx = (size_t)(n - y->doc->nodes.start);

    if (idx >= y->n_nodes)
        return fail(y, n, "internal: node out of range");
    if (y->visited[idx])
        return fail(y, n, "aliases (*name) are not supported in policy files");
    y->visited[idx] = 1;
    return 0;
}

static int want(yctx *y, yaml_node_t *n, yaml_node_type_t t, const char *what)
{
    int rc = visit(y, n);
    if (rc)
        return rc;
    if (n->type != t)
        return fail(y, n, "expected %s", what);
    return 0;
}

static const char *sdup(yctx *y, const char *s, size_t len)
{
    return tg_arena_strndup(&y->p->arena, s, len);
}

/* A scalar as a string in the policy arena. */
static int scalar(yctx *y, yaml_node_t *n, const char **out, size_t *len)
{
    int rc = want(y, n, YAML_SCALAR_NODE, "a string");
    if (rc)
        return rc;
    if (memchr(n->data.scalar.value, '\0', n->data.scalar.length))
        return fail(y, n, "NUL byte in a string");
    *out = sdup(y, (const char *)n->data.scalar.value, n->data.scalar.length);
    if (!*out)
        return TG_ENOMEM;
    if (len)
        *len = n->data.scalar.length;
    return 0;
}

static int scalar_is(const yaml_node_t *n, const char *s)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
           memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

static int parse_uint(yctx *y, yaml_node_t *n, uint64_t max, uint64_t *out)
{
    const char *s;
    char *end;
    unsigned long long v;
    int rc = scalar(y, n, &s, NULL);

    if (rc)
        return rc;
    if (!*s || *s == '-' || *s == '+')
        return fail(y, n, "expected a non-negative integer");
    v = strtoull(s, &end, 10);
    if (*end || v > max)
        return fail(y, n, "expected an integer from 0 to %llu", (unsigned long long)max);
    *out = v;
    return 0;
}

static int parse_bool(yctx *y, yaml_node_t *n, int *out)
{
    const char *s;
    int rc = scalar(y, n, &s, NULL);

    if (rc)
        return rc;
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
        *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
        *out = 0;
    else
        return fail(y, n, "expected true or false");
    return 0;
}

/* "30d", "12h", "90m", "45s", "2w", "1y"; "forever" or "0" = the store's
 * default. Seconds. */
static int parse_duration(yctx *y, yaml_node_t *n, uint64_t *out)
{
    const char *s;
    char *end;
    unsigned long long v;
    uint64_t mul;
    int rc = scalar(y, n, &s, NULL);

    if (rc)
        return rc;
    if (!strcmp(s, "forever") || !strcmp(s, "0")) {
        *out = 0;
        return 0;
    }
    if (!tg_isdigit((unsigned char)*s))
        return fail(y, n, "expected a duration such as 30d, 12h, 90m, 45s, 2w or 1y");
    v = strtoull(s, &end, 10);
    if (!strcmp(end, "s"))
        mul = 1;
    else if (!strcmp(end, "m"))
        mul = 60;
    else if (!strcmp(end, "h"))
        mul = 3600;
    else if (!strcmp(end, "d"))
        mul = 86400;
    else if (!strcmp(end, "w"))
        mul = 7 * 86400;
    else if (!strcmp(end, "y"))
        mul = 365 * 86400;
    else
        return fail(y, n, "expected a duration such as 30d, 12h, 90m, 45s, 2w or 1y");
    if (v == 0 || v > UINT64_MAX / mul / 1000)
        return fail(y, n, "duration out of range");
    *out = v * mul;
    return 0;
}

/* Iterates a mapping, checking that keys are scalars, unique and known.
 * `known` is a NULL-terminated list, or NULL for free-form keys. */
typedef int (*pair_fn)(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg);

static int each_pair(yctx *y, yaml_node_t *map, const char *const *known, pair_fn fn,
                     void *arg)
{
    yaml_node_pair_t *a;

    for (a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++) {
        yaml_node_t *k = node_at(y, a->key), *v = node_at(y, a->value);
        int rc;

        if (!k || !v)
            return TG_ECONFIG;
        rc = visit(y, k);
        if (rc)
            return rc;
        if (k->type != YAML_SCALAR_NODE)
            return fail(y, k, "mapping keys must be strings");
        for (yaml_node_pair_t *b = map->data.mapping.pairs.start; b < a; b++) {
            yaml_node_t *k2 = node_at(y, b->key);
            if (k2 && k2->type == YAML_SCALAR_NODE &&
                k2->data.scalar.length == k->data.scalar.length &&
                !memcmp(k2->data.scalar.value, k->data.scalar.value, k->data.scalar.length))
                return fail(y, k, "duplicate key '%.*s' (first at line %u)",
                            (int)k->data.scalar.length, (const char *)k->data.scalar.value,
                            (unsigned)k2->start_mark.line + 1);
        }
        if (known) {
            int ok = 0;
            char list[300] = "";
            size_t off = 0;
            for (int i = 0; known[i]; i++) {
                if (scalar_is(k, known[i]))
                    ok = 1;
                off += (size_t)snprintf(list + off, off < sizeof(list) ? sizeof(list) - off : 0,
                                        "%s%s", i ? ", " : "", known[i]);
                if (off >= sizeof(list))
                    off = sizeof(list) - 1;
            }
            if (!ok)
                return fail(y, k, "unknown key '%.*s' (expected one of: %s)",
                            (int)(k->data.scalar.length > 64 ? 64 : k->data.scalar.length),
                            (const char *)k->data.scalar.value, list);
        }
        rc = fn(y, k, v, arg);
        if (rc)
            return rc;
    }
    return 0;
}

/* A string or a list of strings. */
typedef int (*str_fn)(yctx *y, yaml_node_t *n, const char *s, size_t len, void *arg);

static int each_string(yctx *y, yaml_node_t *n, str_fn fn, void *arg)
{
    if (n->type == YAML_SCALAR_NODE) {
        const char *s;
        size_t len;
        int rc = scalar(y, n, &s, &len);
        return rc ? rc : fn(y, n, s, len, arg);
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        int rc = visit(y, n);
        if (rc)
            return rc;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            yaml_node_t *e = node_at(y, *it);
            const char *s;
            size_t len;
            if (!e)
                return TG_ECONFIG;
            rc = scalar(y, e, &s, &len);
            if (rc)
                return rc;
            rc = fn(y, e, s, len, arg);
            if (rc)
                return rc;
        }
        return 0;
    }
    visit(y, n);
    return fail(y, n, "expected a string or a list of strings");
}

/* ---- key matchers --------------------------------------------------------------- */

static int compile_regex(yctx *y, yaml_node_t *n, const char *s, uint32_t flags,
                         pcre2_code **out)
{
    int errcode;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, flags, &errcode, &off,
                                   y->p->ccompile);

    if (!re) {
        PCRE2_UCHAR msg[160];
        tg_loc l = loc_of(y, n);
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        if (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
            n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
            l.col++;
        l.col += (unsigned)off;
        tg_rules__set_err(y->err, &l, "bad regular expression: %s", (const char *)msg);
        return TG_ECONFIG;
    }
    /* JIT where the platform has it; the interpreter is the fallback. */
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    *out = re;
    return 0;
}

static int km_add(yctx *y, tg_kmlist *l, yaml_node_t *n, int kind, const char *s, size_t len)
{
    tg_keymatch *m;

    l->v = tg_rules__grow(&y->p->arena, l->v, sizeof(*l->v), l->n, &l->cap);
    if (!l->v)
        return TG_ENOMEM;
    m = &l->v[l->n];
    memset(m, 0, sizeof(*m));
    m->loc = loc_of(y, n);
    if (len == 0)
        return fail(y, n, "empty key pattern");
    if (kind < 0)
        kind = strpbrk(s, "*?[") ? TG_KM_GLOB : TG_KM_EXACT;
    m->kind = (uint8_t)kind;
    if (kind == TG_KM_REGEX) {
        int rc = compile_regex(y, n, s, PCRE2_UTF | PCRE2_CASELESS, &m->re);
        if (rc)
            return rc;
        m->text = s;
    } else {
        char *t = tg_arena_strndup(&y->p->arena, s, len);
        if (!t)
            return TG_ENOMEM;
        for (size_t i = 0; i < len; i++)
            t[i] = (char)tg_lower((unsigned char)t[i]);
        m->text = t;
    }
    m->len = len;
    l->n++;
    return 0;
}

typedef struct km_arg {
    tg_kmlist *l;
    int kind;
} km_arg;

static int km_str(yctx *y, yaml_node_t *n, const char *s, size_t len, void *arg)
{
    km_arg *a = arg;
    return km_add(y, a->l, n, a->kind, s, len);
}

static int km_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    km_arg a = {arg, TG_KM_EXACT};
    if (scalar_is(k, "glob"))
        a.kind = TG_KM_GLOB;
    else if (scalar_is(k, "regex"))
        a.kind = TG_KM_REGEX;
    return each_string(y, v, km_str, &a);
}

/* keys: [a, "b.*", {regex: ...}]  or  keys: {exact: [...], glob: [...], regex: [...]} */
static int parse_keys(yctx *y, yaml_node_t *n, tg_kmlist *l)
{
    static const char *const known[] = {"exact", "glob", "regex", NULL};

    if (n->type == YAML_MAPPING_NODE) {
        int rc = visit(y, n);
        return rc ? rc : each_pair(y, n, known, km_pair, l);
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        int rc = visit(y, n);
        if (rc)
            return rc;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            yaml_node_t *e = node_at(y, *it);
            if (!e)
                return TG_ECONFIG;
            if (e->type == YAML_MAPPING_NODE) {
                rc = visit(y, e);
                if (!rc)
                    rc = each_pair(y, e, known, km_pair, l);
            } else {
                km_arg a = {l, -1};
                const char *s;
                size_t len;
                rc = scalar(y, e, &s, &len);
                if (!rc)
                    rc = km_str(y, e, s, len, &a);
            }
            if (rc)
                return rc;
        }
        return 0;
    }
    {
        km_arg a = {l, -1};
        return each_string(y, n, km_str, &a);
    }
}

/* ---- classes ------------------------------------------------------------------------- */

static int class_name_ok(const char *s)
{
    if (!tg_islower((unsigned char)s[0]))
        return 0;
    for (const char *c = s; *c; c++)
        if (!tg_islower((unsigned char)*c) && !tg_isdigit((unsigned char)*c) && *c != '.' &&
            *c != '_' && *c != '-')
            return 0;
    return strlen(s) <= 64;
}

static int find_class(const tg_rules_policy *p, const char *name)
{
    for (size_t i = 0; i < p->n_classes; i++)
        if (!strcmp(p->classes[i].name, name))
            return (int)i;
    return -1;
}

typedef struct vd_arg {
    tg_valdet *vd;
} vd_arg;

static int kw_str(yctx *y, yaml_node_t *n, const char *s, size_t len, void *arg)
{
    tg_valdet *vd = arg;
    size_t cap = vd->nkw;
    char *t;

    if (len == 0 || len > 64)
        return fail(y, n, "keywords must be 1 to 64 characters");
    /* grow both arrays in step */
    {
        size_t c1 = cap, c2 = cap;
        vd->kw = tg_rules__grow(&y->p->arena, vd->kw, sizeof(*vd->kw), vd->nkw, &c1);
        vd->kwlen = tg_rules__grow(&y->p->arena, vd->kwlen, sizeof(*vd->kwlen), vd->nkw, &c2);
    }
    t = tg_arena_strndup(&y->p->arena, s, len);
    if (!vd->kw || !vd->kwlen || !t)
        return TG_ENOMEM;
    for (size_t i = 0; i < len; i++)
        t[i] = (char)tg_lower((unsigned char)t[i]);
    vd->kw[vd->nkw] = t;
    vd->kwlen[vd->nkw] = (uint8_t)len;
    vd->nkw++;
    return 0;
}

static int vd_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    tg_valdet *vd = arg;
    const char *s;
    int rc;

    if (scalar_is(k, "builtin")) {
        if ((rc = scalar(y, v, &s, NULL)))
            return rc;
        if (vd->builtin >= 0 || vd->pattern)
            return fail(y, k, "give either builtin or pattern, not both");
        vd->builtin = tg_detector_find(s);
        if (vd->builtin < 0)
            return fail(y, v, "unknown built-in detector '%.64s' (see docs/rules.md)", s);
    } else if (scalar_is(k, "pattern")) {
        if ((rc = scalar(y, v, &s, NULL)))
            return rc;
        if (vd->builtin >= 0 || vd->pattern)
            return fail(y, k, "give either builtin or pattern, not both");
        if (!*s)
            return fail(y, v, "empty pattern");
        if ((rc = compile_regex(y, v, s, PCRE2_UTF, &vd->re)))
            return rc;
        if ((rc = compile_regex(y, v, s, 0, &vd->re_bytes)))
            return rc;
        vd->pattern = s;
    } else if (scalar_is(k, "keywords")) {
        vd->has_kw = 1;
        if (v->type == YAML_SEQUENCE_NODE && v->data.sequence.items.start == v->data.sequence.items.top) {
            return visit(y, v); /* keywords: [] */
        }
        return each_string(y, v, kw_str, vd);
    } else if (scalar_is(k, "context")) {
        if ((rc = scalar(y, v, &s, NULL)))
            return rc;
        if (!strcmp(s, "auto"))
            vd->ctx = TG_CTX_AUTO;
        else if (!strcmp(s, "always"))
            vd->ctx = TG_CTX_ALWAYS;
        else if (!strcmp(s, "never"))
            vd->ctx = TG_CTX_NEVER;
        else
            return fail(y, v, "context must be auto, always or never");
    } else if (scalar_is(k, "window")) {
        uint64_t w;
        if ((rc = parse_uint(y, v, 1024, &w)))
            return rc;
        vd->window = (uint32_t)w;
    } else if (scalar_is(k, "keys")) {
        return parse_keys(y, v, &vd->scope);
    } else if (scalar_is(k, "validate")) {
        if ((rc = scalar(y, v, &s, NULL)))
            return rc;
        if (!strcmp(s, "luhn"))
            vd->validate = TG_VAL_LUHN;
        else if (!strcmp(s, "mod97"))
            vd->validate = TG_VAL_MOD97;
        else if (!strcmp(s, "none"))
            vd->validate = TG_VAL_NONE;
        else
            return fail(y, v, "validate must be luhn, mod97 or none");
    }
    return 0;
}

static int add_valdet(yctx *y, tg_rule *r, yaml_node_t *e, uint16_t rule_idx)
{
    static const char *const known[] = {"builtin", "pattern", "keywords", "context",
                                        "window",  "keys",    "validate", NULL};
    tg_valdet *vd = tg_arena_calloc(&y->p->arena, sizeof(*vd));
    int rc;

    if (!vd)
        return TG_ENOMEM;
    vd->builtin = -1;
    vd->re_req = -1;
    vd->window = 40;
    vd->rule = rule_idx;
    vd->loc = loc_of(y, e);
    if (e->type == YAML_SCALAR_NODE) {
        const char *s;
        if ((rc = scalar(y, e, &s, NULL)))
            return rc;
        vd->builtin = tg_detector_find(s);
        if (vd->builtin < 0)
            return fail(y, e, "unknown built-in detector '%.64s' (see docs/rules.md)", s);
    } else {
        if ((rc = want(y, e, YAML_MAPPING_NODE, "a detector: {builtin: NAME} or {pattern: REGEX}")))
            return rc;
        if ((rc = each_pair(y, e, known, vd_pair, vd)))
            return rc;
        if (vd->builtin < 0 && !vd->pattern)
            return fail(y, e, "a value detector needs builtin or pattern");
        if (vd->builtin >= 0 && vd->validate != TG_VAL_NONE)
            return fail(y, e, "validate applies to custom patterns only");
        if (vd->ctx == TG_CTX_ALWAYS && vd->builtin < 0 && !vd->has_kw)
            return fail(y, e, "context: always needs keywords");
    }
    r->values = tg_rules__grow(&y->p->arena, r->values, sizeof(*r->values), r->n_values,
                               &r->cap_values);
    if (!r->values)
        return TG_ENOMEM;
    r->values[r->n_values++] = vd;
    return 0;
}

static int cond_str(yctx *y, yaml_node_t *n, const char *s, size_t len, void *arg)
{
    return km_add(y, arg, n, -1, s, len);
}

static int when_res_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    tg_rule *r = arg;
    tg_cond_res *c;

    r->when_res = tg_rules__grow(&y->p->arena, r->when_res, sizeof(*r->when_res), r->n_when_res,
                                 &r->cap_when_res);
    if (!r->when_res)
        return TG_ENOMEM;
    c = &r->when_res[r->n_when_res++];
    memset(c, 0, sizeof(*c));
    c->key = sdup(y, (const char *)k->data.scalar.value, k->data.scalar.length);
    if (!c->key)
        return TG_ENOMEM;
    return each_string(y, v, cond_str, &c->vals);
}

static int when_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    tg_rule *r = arg;
    int rc;

    r->has_when = 1;
    if (scalar_is(k, "service"))
        return each_string(y, v, cond_str, &r->when_service);
    if (scalar_is(k, "environment"))
        return each_string(y, v, cond_str, &r->when_env);
    if ((rc = want(y, v, YAML_MAPPING_NODE, "a mapping of resource attribute -> values")))
        return rc;
    return each_pair(y, v, NULL, when_res_pair, r);
}

static int detect_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    static const char *const wknown[] = {"service", "environment", "resource", NULL};
    tg_rule *r = arg;
    int rc;

    if (scalar_is(k, "keys"))
        return parse_keys(y, v, &r->keys);
    if (scalar_is(k, "values")) {
        if ((rc = want(y, v, YAML_SEQUENCE_NODE, "a list of value detectors")))
            return rc;
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
             it++) {
            yaml_node_t *e = node_at(y, *it);
            if (!e)
                return TG_ECONFIG;
            if ((rc = add_valdet(y, r, e, (uint16_t)(r - y->p->rules))))
                return rc;
        }
        return 0;
    }
    /* when */
    if ((rc = want(y, v, YAML_MAPPING_NODE, "a mapping (service, environment, resource)")))
        return rc;
    return each_pair(y, v, wknown, when_pair, r);
}

static int add_rule(yctx *y, yaml_node_t *blk, int cls)
{
    static const char *const known[] = {"keys", "values", "when", NULL};
    tg_rules_policy *p = y->p;
    tg_rule *r;
    int rc;

    if ((rc = want(y, blk, YAML_MAPPING_NODE, "a detect block {keys, values, when}")))
        return rc;
    if (p->n_rules >= TG_RULES_MAX_RULES)
        return fail(y, blk, "too many detect blocks (limit %d)", TG_RULES_MAX_RULES);
    p->rules = tg_rules__grow(&p->arena, p->rules, sizeof(*p->rules), p->n_rules, &p->cap_rules);
    if (!p->rules)
        return TG_ENOMEM;
    r = &p->rules[p->n_rules];
    memset(r, 0, sizeof(*r));
    r->cls = (uint16_t)cls;
    r->loc = loc_of(y, blk);
    p->n_rules++;
    rc = each_pair(y, blk, known, detect_pair, r);
    if (rc)
        return rc;
    if (!r->keys.n && !r->n_values)
        return fail(y, blk, "a detect block needs keys or values");
    return 0;
}

typedef struct class_arg {
    int cls;
    yaml_node_t *detect;
    int replace;
} class_arg;

static int reg_str(yctx *y, yaml_node_t *n, const char *s, size_t len, void *arg)
{
    tg_class *c = arg;
    (void)n;
    if (!c->regulation || !*c->regulation) {
        c->regulation = s;
    } else {
        size_t a = strlen(c->regulation);
        char *t = tg_arena_alloc(&y->p->arena, a + len + 3);
        if (!t)
            return TG_ENOMEM;
        memcpy(t, c->regulation, a);
        memcpy(t + a, "; ", 2);
        memcpy(t + a + 2, s, len + 1);
        c->regulation = t;
    }
    return 0;
}

static int class_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    class_arg *a = arg;
    tg_class *c = &y->p->classes[a->cls];

    if (scalar_is(k, "description"))
        return scalar(y, v, &c->description, NULL);
    if (scalar_is(k, "regulation")) {
        c->regulation = NULL;
        return each_string(y, v, reg_str, c);
    }
    if (scalar_is(k, "retention"))
        return parse_duration(y, v, &c->retention);
    if (scalar_is(k, "redact_text"))
        return scalar(y, v, &c->redact_text, NULL);
    if (scalar_is(k, "replace"))
        return parse_bool(y, v, &a->replace);
    /* detect: applied after `replace` is known */
    a->detect = v;
    return 0;
}

static int classes_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    static const char *const known[] = {"description", "regulation", "retention", "redact_text",
                                        "detect",      "replace",    NULL};
    tg_rules_policy *p = y->p;
    const char *name;
    class_arg a = {-1, NULL, 0};
    int rc;

    (void)arg;
    name = sdup(y, (const char *)k->data.scalar.value, k->data.scalar.length);
    if (!name)
        return TG_ENOMEM;
    if (!class_name_ok(name))
        return fail(y, k, "class names are lower case letters, digits, '.', '_' and '-', "
                          "starting with a letter (got '%.64s')", name);
    if (!strcmp(name, TG_RULES_CLASS_UNCLASSIFIABLE) || !strcmp(name, "default"))
        return fail(y, k, "'%s' is reserved", name);
    a.cls = find_class(p, name);
    if (a.cls < 0) {
        if (p->n_classes >= TG_RULES_MAX_CLASSES - 1)
            return fail(y, k, "too many classes (limit %d)", TG_RULES_MAX_CLASSES - 1);
        p->classes = tg_rules__grow(&p->arena, p->classes, sizeof(*p->classes), p->n_classes,
                                    &p->cap_classes);
        if (!p->classes)
            return TG_ENOMEM;
        memset(&p->classes[p->n_classes], 0, sizeof(tg_class));
        p->classes[p->n_classes].name = name;
        p->classes[p->n_classes].loc = loc_of(y, k);
        a.cls = (int)p->n_classes++;
    }
    if ((rc = want(y, v, YAML_MAPPING_NODE, "a class definition (a mapping)")))
        return rc;
    if ((rc = each_pair(y, v, known, class_pair, &a)))
        return rc;
    if (a.replace) {
        /* the class's earlier detect blocks no longer apply */
        for (size_t i = 0; i < p->n_rules; i++)
            if (p->rules[i].cls == a.cls)
                p->rules[i].cls = UINT16_MAX;
    }
    if (a.detect) {
        yaml_node_t *d = a.detect;
        if (d->type == YAML_SEQUENCE_NODE) {
            if ((rc = visit(y, d)))
                return rc;
            for (yaml_node_item_t *it = d->data.sequence.items.start;
                 it < d->data.sequence.items.top; it++) {
                yaml_node_t *e = node_at(y, *it);
                if (!e)
                    return TG_ECONFIG;
                if ((rc = add_rule(y, e, a.cls)))
                    return rc;
            }
        } else if ((rc = add_rule(y, d, a.cls))) {
            return rc;
        }
    }
    return 0;
}

/* ---- actions and destinations -------------------------------------------------------- */

static int action_kind(const char *s)
{
    static const struct {
        const char *name;
        int kind;
    } t[] = {{"pass", TG_RULES_PASS},         {"generalise", TG_RULES_GENERALISE},
             {"generalize", TG_RULES_GENERALISE}, {"mask", TG_RULES_MASK},
             {"partial-mask", TG_RULES_MASK}, {"hash", TG_RULES_HASH},
             {"redact", TG_RULES_REDACT},     {"drop", TG_RULES_DROP},
             {"keep-local", TG_RULES_KEEP_LOCAL}, {"keep_local", TG_RULES_KEEP_LOCAL}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(s, t[i].name))
            return t[i].kind;
    return -1;
}

static void spec_defaults(tg_action_spec *a)
{
    memset(a, 0, sizeof(*a));
    a->key = -1;
    a->keep_last = 4;
    a->mask_char = '*';
    a->v4_prefix = 24;
    a->v6_prefix = 48;
    a->time_bucket = 3600;
}

typedef struct spec_arg {
    tg_action_spec *a;
    int have_action;
    yaml_node_t *params[16];
    int n_params;
} spec_arg;

static int spec_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    spec_arg *sa = arg;
    tg_action_spec *a = sa->a;
    const char *s;
    uint64_t u;
    int rc;

    if (scalar_is(k, "action")) {
        if ((rc = scalar(y, v, &s, NULL)))
            return rc;
        if ((rc = action_kind(s)) < 0)
            return fail(y, v, "unknown action '%.32s' (pass, generalise, mask, hash, redact, drop, "
                              "keep-local)", s);
        a->kind = (uint8_t)rc;
        sa->have_action = 1;
        return 0;
    }
    if (sa->n_params < 16)
        sa->params[sa->n_params++] = k;
    if (scalar_is(k, "text")) {
        if ((rc = scalar(y, v, &a->text, &a->text_len)))
            return rc;
        if (a->text_len > 256)
            return fail(y, v, "redaction text longer than 256 bytes");
        return 0;
    }
    if (scalar_is(k, "key")) {
        if ((rc = scalar(y, v, &s, NULL)))
            return rc;
        a->key_id = s; /* resolved to an index at finalize */
        a->key_loc = loc_of(y, v);
        return 0;
    }
    if (scalar_is(k, "keep_first") || scalar_is(k, "keep_last")) {
        if ((rc = parse_uint(y, v, 64, &u)))
            return rc;
        if (scalar_is(k, "keep_first"))
            a->keep_first = (unsigned)u;
        else
            a->keep_last = (unsigned)u;
        return 0;
    }
    if (scalar_is(k, "char")) {
        if ((rc = scalar(y, v, &s, NULL)))
            return rc;
        if (strlen(s) != 1 || tg_isalnum((unsigned char)s[0]) || (unsigned char)s[0] < 0x21 ||
            (unsigned char)s[0] > 0x7e)
            return fail(y, v, "mask char must be one printable ASCII symbol");
        a->mask_char = s[0];
        return 0;
    }
    if (scalar_is(k, "ipv4_prefix")) {
        if ((rc = parse_uint(y, v, 32, &u)))
            return rc;
        a->v4_prefix = (unsigned)u;
        return 0;
    }
    if (scalar_is(k, "ipv6_prefix")) {
        if ((rc = parse_uint(y, v, 128, &u)))
            return rc;
        a->v6_prefix = (unsigned)u;
        return 0;
    }
    if (scalar_is(k, "step")) {
        if ((rc = parse_uint(y, v, UINT64_MAX / 4, &u)))
            return rc;
        if (u == 0)
            return fail(y, v, "step must be positive");
        a->step = u;
        return 0;
    }
    /* time_bucket */
    return parse_duration(y, v, &a->time_bucket);
}

/* An action: "redact" or {action: redact, text: ...}. */
static int parse_spec(yctx *y, yaml_node_t *n, tg_action_spec *a)
{
    static const char *const known[] = {"action", "text", "key", "keep_first", "keep_last",
                                        "char", "ipv4_prefix", "ipv6_prefix", "step",
                                        "time_bucket", NULL};
    static const struct {
        const char *param;
        int kind;
    } owner[] = {{"text", TG_RULES_REDACT},          {"key", TG_RULES_HASH},
                 {"keep_first", TG_RULES_MASK},      {"keep_last", TG_RULES_MASK},
                 {"char", TG_RULES_MASK},            {"ipv4_prefix", TG_RULES_GENERALISE},
                 {"ipv6_prefix", TG_RULES_GENERALISE}, {"step", TG_RULES_GENERALISE},
                 {"time_bucket", TG_RULES_GENERALISE}};
    spec_arg sa;
    int rc;

    spec_defaults(a);
    a->loc = loc_of(y, n);
    if (n->type == YAML_SCALAR_NODE) {
        const char *s;
        if ((rc = scalar(y, n, &s, NULL)))
            return rc;
        if ((rc = action_kind(s)) < 0)
            return fail(y, n, "unknown action '%.32s' (pass, generalise, mask, hash, redact, drop, "
                              "keep-local)", s);
        a->kind = (uint8_t)rc;
        return 0;
    }
    if ((rc = want(y, n, YAML_MAPPING_NODE, "an action: a name or {action: NAME, ...}")))
        return rc;
    memset(&sa, 0, sizeof(sa));
    sa.a = a;
    if ((rc = each_pair(y, n, known, spec_pair, &sa)))
        return rc;
    if (!sa.have_action)
        return fail(y, n, "missing 'action'");
    a->loc = loc_of(y, n);
    for (int i = 0; i < sa.n_params; i++)
        for (size_t j = 0; j < sizeof(owner) / sizeof(owner[0]); j++)
            if (scalar_is(sa.params[i], owner[j].param) && owner[j].kind != a->kind)
                return fail(y, sa.params[i], "'%s' does not apply to action '%s'", owner[j].param,
                            tg_rules_action_name((enum tg_rules_action)a->kind));
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
    if (strlen(s) != 2 || !tg_isupper((unsigned char)s[0]) || !tg_isupper((unsigned char)s[1]))
        return 0;
    cc[0] = s[0];
    cc[1] = s[1];
    return tg_iso_country_ok(cc);
}

typedef struct juris_arg {
    const char **country, **region;
} juris_arg;

static int juris_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    juris_arg *j = arg;
    int rc;

    if (scalar_is(k, "country")) {
        if ((rc = scalar(y, v, j->country, NULL)))
            return rc;
        if (!country_ok(*j->country))
            return fail(y, v, "country must be an ISO 3166-1 alpha-2 code such as DE or US");
        return 0;
    }
    return scalar(y, v, j->region, NULL);
}

static int parse_juris(yctx *y, yaml_node_t *v, const char **country, const char **region)
{
    static const char *const known[] = {"country", "region", NULL};
    juris_arg j = {country, region};
    int rc = want(y, v, YAML_MAPPING_NODE, "a jurisdiction {country, region}");
    return rc ? rc : each_pair(y, v, known, juris_pair, &j);
}

static int allow_str(yctx *y, yaml_node_t *n, const char *s, size_t len, void *arg)
{
    return km_add(y, arg, n, -1, s, len);
}

static int unclass_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    tg_dest *d = arg;
    const char *s;
    int rc;

    if (scalar_is(k, "allow_keys")) {
        d->allow_list = 1;
        if (v->type == YAML_SEQUENCE_NODE && v->data.sequence.items.start == v->data.sequence.items.top)
            return visit(y, v);
        return each_string(y, v, allow_str, &d->allow);
    }
    if ((rc = scalar(y, v, &s, NULL)))
        return rc;
    if (!strcmp(s, "pass"))
        d->bodies = TG_BODIES_PASS;
    else if (!strcmp(s, "drop"))
        d->bodies = TG_BODIES_DROP;
    else if (!strcmp(s, "filter"))
        d->bodies = TG_BODIES_FILTER;
    else
        return fail(y, v, "bodies must be pass, drop or filter");
    return 0;
}

static int action_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    tg_dest *d = arg;
    const char *pat = sdup(y, (const char *)k->data.scalar.value, k->data.scalar.length);
    tg_dest_action *da = NULL;
    int rc;

    if (!pat)
        return TG_ENOMEM;
    if (!*pat)
        return fail(y, k, "empty class pattern");
    for (size_t i = 0; i < d->n_actions; i++)
        if (!strcmp(d->actions[i].pattern, pat))
            da = &d->actions[i]; /* a later file overrides */
    if (!da) {
        d->actions = tg_rules__grow(&y->p->arena, d->actions, sizeof(*d->actions), d->n_actions,
                                    &d->cap_actions);
        if (!d->actions)
            return TG_ENOMEM;
        da = &d->actions[d->n_actions++];
    }
    da->pattern = pat;
    if ((rc = parse_spec(y, v, &da->spec)))
        return rc;
    da->spec.pattern = pat;
    da->spec.loc = loc_of(y, k);
    return 0;
}

static int dest_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    static const char *const uknown[] = {"allow_keys", "bodies", NULL};
    tg_dest *d = arg;
    int rc;

    if (scalar_is(k, "jurisdiction"))
        return parse_juris(y, v, &d->country, &d->region);
    if (scalar_is(k, "purpose"))
        return scalar(y, v, &d->purpose, NULL);
    if (scalar_is(k, "description"))
        return scalar(y, v, &d->description, NULL);
    if (scalar_is(k, "unclassified")) {
        d->allow_list = 0;
        d->allow.n = 0;
        d->bodies = TG_BODIES_PASS;
        if (v->type == YAML_SCALAR_NODE) {
            if ((rc = visit(y, v)))
                return rc;
            if (!scalar_is(v, "pass"))
                return fail(y, v, "unclassified must be 'pass' or {allow_keys: [...], bodies: ...}");
            return 0;
        }
        if ((rc = want(y, v, YAML_MAPPING_NODE, "'pass' or {allow_keys: [...], bodies: ...}")))
            return rc;
        return each_pair(y, v, uknown, unclass_pair, d);
    }
    if (scalar_is(k, "on_error")) {
        d->has_on_error = 1;
        if ((rc = parse_spec(y, v, &d->on_error)))
            return rc;
        if (d->on_error.kind == TG_RULES_PASS)
            return fail(y, v, "on_error cannot be pass: unclassifiable values must not leave as they are");
        d->on_error.pattern = TG_RULES_CLASS_UNCLASSIFIABLE;
        return 0;
    }
    /* actions */
    if ((rc = want(y, v, YAML_MAPPING_NODE, "a mapping of class (or glob, or default) -> action")))
        return rc;
    return each_pair(y, v, NULL, action_pair, d);
}

static int dests_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    static const char *const known[] = {"jurisdiction", "purpose",  "description",
                                        "unclassified", "on_error", "actions", NULL};
    tg_rules_policy *p = y->p;
    const char *name = sdup(y, (const char *)k->data.scalar.value, k->data.scalar.length);
    int di, rc;

    (void)arg;
    if (!name)
        return TG_ENOMEM;
    if (!*name || strlen(name) > 64 || strpbrk(name, " \t\"\\{}=,"))
        return fail(y, k, "destination names are 1 to 64 characters without spaces, quotes, "
                          "braces, '=' or ','");
    di = find_dest(p, name);
    if (di < 0) {
        if (p->n_dests >= TG_RULES_MAX_DESTS)
            return fail(y, k, "too many destinations (limit %d)", TG_RULES_MAX_DESTS);
        p->dests = tg_rules__grow(&p->arena, p->dests, sizeof(*p->dests), p->n_dests, &p->cap_dests);
        if (!p->dests)
            return TG_ENOMEM;
        memset(&p->dests[p->n_dests], 0, sizeof(tg_dest));
        p->dests[p->n_dests].name = name;
        p->dests[p->n_dests].loc = loc_of(y, k);
        di = (int)p->n_dests++;
    }
    if ((rc = want(y, v, YAML_MAPPING_NODE, "a destination definition (a mapping)")))
        return rc;
    return each_pair(y, v, known, dest_pair, &p->dests[di]);
}

/* ---- keys, site, limits ------------------------------------------------------------------ */

static int key_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    tg_hkey *hk = arg;

    if (scalar_is(k, "file"))
        return scalar(y, v, &hk->file, NULL);
    if (scalar_is(k, "env"))
        return scalar(y, v, &hk->env, NULL);
    if (scalar_is(k, "hex"))
        return scalar(y, v, &hk->hex, NULL);
    return parse_bool(y, v, &hk->create);
}

static int keys_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    static const char *const known[] = {"file", "env", "hex", "create", NULL};
    tg_rules_policy *p = y->p;
    const char *id = sdup(y, (const char *)k->data.scalar.value, k->data.scalar.length);
    tg_hkey *hk = NULL;
    int rc, srcs;

    (void)arg;
    if (!id)
        return TG_ENOMEM;
    if (!*id || strlen(id) > 32 || strpbrk(id, ": \t"))
        return fail(y, k, "key ids are 1 to 32 characters without ':' or spaces");
    for (size_t i = 0; i < p->n_keys; i++)
        if (!strcmp(p->keys[i].id, id))
            hk = &p->keys[i];
    if (!hk) {
        p->keys = tg_rules__grow(&p->arena, p->keys, sizeof(*p->keys), p->n_keys, &p->cap_keys);
        if (!p->keys)
            return TG_ENOMEM;
        hk = &p->keys[p->n_keys++];
    }
    memset(hk, 0, sizeof(*hk));
    hk->id = id;
    hk->loc = loc_of(y, k);
    hk->base_dir = y->dir;
    if ((rc = want(y, v, YAML_MAPPING_NODE, "a key source {file|env|hex, create}")))
        return rc;
    if ((rc = each_pair(y, v, known, key_pair, hk)))
        return rc;
    srcs = !!hk->file + !!hk->env + !!hk->hex;
    if (srcs != 1)
        return fail(y, v, "a key needs exactly one of file, env or hex");
    if (hk->create && !hk->file)
        return fail(y, v, "create applies to file keys only");
    return 0;
}

static int site_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    (void)arg;
    y->p->site_loc = loc_of(y, k);
    if (scalar_is(k, "name"))
        return scalar(y, v, &y->p->site_name, NULL);
    return parse_juris(y, v, &y->p->site_country, &y->p->site_region);
}

static int limits_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    uint64_t u;
    int rc;

    (void)arg;
    if (scalar_is(k, "max_depth")) {
        if ((rc = parse_uint(y, v, 256, &u)))
            return rc;
        if (u < 4)
            return fail(y, v, "max_depth must be at least 4");
        y->p->max_depth = (uint32_t)u;
    } else if (scalar_is(k, "match_limit")) {
        if ((rc = parse_uint(y, v, 100000000, &u)))
            return rc;
        if (u < 1000)
            return fail(y, v, "match_limit must be at least 1000");
        y->p->match_limit = (uint32_t)u;
    } else {
        if ((rc = parse_uint(y, v, 100000000, &u)))
            return rc;
        if (u < 16)
            return fail(y, v, "max_findings must be at least 16");
        y->p->max_findings = (uint32_t)u;
    }
    return 0;
}

/* ---- files and includes ---------------------------------------------------------------- */

static int read_file(const char *path, char **out, size_t *len, tg_rules_diag *err)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t cap = 65536, n = 0;
    tg_loc l = {path, 0, 0};

    if (!f) {
        tg_rules__set_err(err, &l, "cannot open: %s", strerror(errno));
        return TG_EIO;
    }
    buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            char *nb;
            if (cap >= MAX_POLICY_BYTES) {
                free(buf);
                fclose(f);
                tg_rules__set_err(err, &l, "policy file larger than %u bytes", MAX_POLICY_BYTES);
                return TG_ETOO_BIG;
            }
            nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (!buf) {
        fclose(f);
        return TG_ENOMEM;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        tg_rules__set_err(err, &l, "read error");
        return TG_EIO;
    }
    fclose(f);
    *out = buf;
    *len = n;
    return 0;
}

static char *dir_of(tg_arena *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return tg_arena_strndup(a, ".", 1);
    if (slash == path)
        return tg_arena_strndup(a, "/", 1);
    return tg_arena_strndup(a, path, (size_t)(slash - path));
}

static int load_file(tg_rules_policy *p, const char *path, const tg_rules_options *opt,
                     tg_rules_diag *err, int depth, seen_list *seen, const tg_loc *from)
{
    char real[PATH_MAX];
    char *text = NULL;
    size_t len = 0, idx;
    int rc;

    if (!realpath(path, real)) {
        tg_loc l = from ? *from : (tg_loc){path, 0, 0};
        tg_rules__set_err(err, &l, "%s%s: %s", from ? "cannot include " : "", path,
                          strerror(errno));
        return TG_EIO;
    }
    for (size_t i = 0; i < seen->n; i++) {
        if (!strcmp(seen->v[i].path, real)) {
            if (seen->v[i].done)
                return 0; /* loaded once, earlier in the merge order */
            if (from) {
                tg_rules__set_err(err, from, "include cycle through %s", path);
                return TG_ECONFIG;
            }
            return 0;
        }
    }
    if (seen->n == seen->cap) {
        size_t nc = seen->cap ? seen->cap * 2 : 8;
        seen_file *nv = realloc(seen->v, nc * sizeof(*nv));
        if (!nv)
            return TG_ENOMEM;
        seen->v = nv;
        seen->cap = nc;
    }
    idx = seen->n;
    seen->v[idx].path = strdup(real);
    seen->v[idx].done = 0;
    if (!seen->v[idx].path)
        return TG_ENOMEM;
    seen->n++;
    if ((rc = read_file(path, &text, &len, err)))
        return rc;
    {
        const char *name = tg_arena_strndup(&p->arena, path, strlen(path));
        const char *dir = name ? dir_of(&p->arena, name) : NULL;
        rc = (name && dir) ? tg_rules__load_text(p, name, dir, text, len, opt, err, depth, seen)
                           : TG_ENOMEM;
    }
    free(text);
    seen->v[idx].done = 1;
    return rc;
}

static int include_str(yctx *y, yaml_node_t *n, const char *s, size_t len, void *arg)
{
    char path[PATH_MAX];
    tg_loc l = loc_of(y, n);

    (void)arg;
    if (y->opt && y->opt->no_filesystem)
        return fail(y, n, "include is not allowed here");
    if (len == 0)
        return fail(y, n, "empty include path");
    if (y->depth + 1 > MAX_INCLUDE_DEPTH)
        return fail(y, n, "includes nested deeper than %d", MAX_INCLUDE_DEPTH);
    if (s[0] == '/')
        snprintf(path, sizeof(path), "%s", s);
    else
        snprintf(path, sizeof(path), "%s/%s", y->dir, s);
    return load_file(y->p, path, y->opt, y->err, y->depth + 1, y->seen, &l);
}

static int top_pair(yctx *y, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    static const char *const sknown[] = {"name", "jurisdiction", NULL};
    static const char *const lknown[] = {"max_depth", "match_limit", "max_findings", NULL};
    int rc;

    (void)arg;
    if (scalar_is(k, "include"))
        return 0; /* done first */
    if (scalar_is(k, "version")) {
        uint64_t ver;
        if ((rc = parse_uint(y, v, 1000, &ver)))
            return rc;
        if (ver != 1)
            return fail(y, v, "unsupported policy version %llu (this tollgate reads version 1)",
                        (unsigned long long)ver);
        return 0;
    }
    if (scalar_is(k, "site")) {
        if ((rc = want(y, v, YAML_MAPPING_NODE, "a site {name, jurisdiction}")))
            return rc;
        return each_pair(y, v, sknown, site_pair, NULL);
    }
    if (scalar_is(k, "default_key")) {
        y->p->default_key_loc = loc_of(y, v);
        return scalar(y, v, &y->p->default_key, NULL);
    }
    if (scalar_is(k, "limits")) {
        if ((rc = want(y, v, YAML_MAPPING_NODE, "limits {max_depth, match_limit, max_findings}")))
            return rc;
        return each_pair(y, v, lknown, limits_pair, NULL);
    }
    if ((rc = want(y, v, YAML_MAPPING_NODE, "a mapping")))
        return rc;
    if (scalar_is(k, "keys"))
        return each_pair(y, v, NULL, keys_pair, NULL);
    if (scalar_is(k, "classes"))
        return each_pair(y, v, NULL, classes_pair, NULL);
    return each_pair(y, v, NULL, dests_pair, NULL);
}

static int parse_error(const char *name, yaml_parser_t *ps, tg_rules_diag *err)
{
    tg_loc l = {name, (unsigned)ps->problem_mark.line + 1, (unsigned)ps->problem_mark.column + 1};

    if (ps->error == YAML_MEMORY_ERROR)
        return TG_ENOMEM;
    tg_rules__set_err(err, &l, "YAML: %s%s%s", ps->problem ? ps->problem : "syntax error",
                      ps->context ? " " : "", ps->context ? ps->context : "");
    return TG_ECONFIG;
}

int tg_rules__load_text(tg_rules_policy *p, const char *name, const char *dir,
                        const char *text, size_t len, const tg_rules_options *opt,
                        tg_rules_diag *err, int depth, void *seen_v)
{
    static const char *const known[] = {"version", "include", "site", "keys", "default_key",
                                        "limits", "classes", "destinations", NULL};
    yaml_parser_t ps;
    yaml_document_t doc;
    yaml_node_t *root;
    yctx y;
    int rc = 0;
    seen_list local_seen = {0};
    seen_list *seen = seen_v ? seen_v : &local_seen;

    if (len > MAX_POLICY_BYTES) {
        tg_loc l = {name, 0, 0};
        tg_rules__set_err(err, &l, "policy file larger than %u bytes", MAX_POLICY_BYTES);
        return TG_ETOO_BIG;
    }
    /* the version covers every byte that shaped the policy */
    {
        uint64_t nl = len;
        EVP_DigestUpdate(p->sha, name, strlen(name) + 1);
        EVP_DigestUpdate(p->sha, &nl, sizeof(nl));
        EVP_DigestUpdate(p->sha, text, len);
    }
    if (!yaml_parser_initialize(&ps))
        return TG_ENOMEM;
    yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
    if (!yaml_parser_load(&ps, &doc)) {
        rc = parse_error(name, &ps, err);
        yaml_parser_delete(&ps);
        return rc;
    }
    root = yaml_document_get_root_node(&doc);
    if (root) {
        /* a second document in the same file is an error, not ignored */
        yaml_document_t doc2;
        if (!yaml_parser_load(&ps, &doc2)) {
            rc = parse_error(name, &ps, err);
        } else {
            if (yaml_document_get_root_node(&doc2)) {
                tg_loc l = {name, (unsigned)doc2.start_mark.line + 1,
                            (unsigned)doc2.start_mark.column + 1};
                tg_rules__set_err(err, &l, "only one YAML document per policy file");
                rc = TG_ECONFIG;
            }
            yaml_document_delete(&doc2);
        }
    }
    yaml_parser_delete(&ps);
    if (rc || !root) {
        yaml_document_delete(&doc);
        return rc; /* an empty file is an empty policy */
    }
    memset(&y, 0, sizeof(y));
    y.p = p;
    y.doc = &doc;
    y.file = name;
    y.dir = dir;
    y.opt = opt;
    y.err = err;
    y.depth = depth;
    y.seen = seen;
    y.n_nodes = (size_t)(doc.nodes.top - doc.nodes.start);
    y.visited = calloc(y.n_nodes ? y.n_nodes : 1, 1);
    if (!y.visited) {
        yaml_document_delete(&doc);
        return TG_ENOMEM;
    }
    rc = want(&y, root, YAML_MAPPING_NODE, "a mapping at the top of the policy file");
    if (!rc) {
        /* includes first: the including file applies on top of them */
        for (yaml_node_pair_t *a = root->data.mapping.pairs.start;
             !rc && a < root->data.mapping.pairs.top; a++) {
            yaml_node_t *k = node_at(&y, a->key), *v = node_at(&y, a->value);
            if (k && v && scalar_is(k, "include"))
                rc = each_string(&y, v, include_str, NULL);
        }
    }
    if (!rc)
        rc = each_pair(&y, root, known, top_pair, NULL);
    free(y.visited);
    yaml_document_delete(&doc);
    if (seen == &local_seen) {
        for (size_t i = 0; i < local_seen.n; i++)
            free(local_seen.v[i].path);
        free(local_seen.v);
    }
    return rc;
}

int tg_rules__load_path(tg_rules_policy *p, const char *path, const tg_rules_options *opt,
                        tg_rules_diag *err, void *seen)
{
    return load_file(p, path, opt, err, 0, seen, NULL);
}

void *tg_rules__seen_new(void)
{
    return calloc(1, sizeof(seen_list));
}

void tg_rules__seen_free(void *v)
{
    seen_list *s = v;
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].path);
    free(s->v);
    free(s);
}
