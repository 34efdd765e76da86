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
 * The text is read into common/tg_yaml's tree, which gives every node its
 * position and refuses aliases and repeated keys. */
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"
#include "tg_array.h"
#include "tg_units.h"
#include "tg_yaml.h"

#define MAX_INCLUDE_DEPTH 16
#define MAX_POLICY_BYTES (4u << 20)

#include "policy_yaml.h"

/* ---- helpers ------------------------------------------------------------------ */

tg_loc tg_ry_loc(const tg_ryctx *y, const tg_ynode *n)
{
    tg_loc l = {y->file, n->line, n->col};
    return l;
}

int tg_ry_fail(const tg_ryctx *y, const tg_ynode *n, const char *fmt, ...)
{
    tg_loc l = tg_ry_loc(y, n);
    va_list ap;
    char msg[400];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tg_rules__set_err(y->err, &l, "%s", msg);
    return TG_ECONFIG;
}

int tg_ry_want(tg_ryctx *y, const tg_ynode *n, enum tg_ynode_kind t, const char *what)
{
    if (n->kind != t)
        return tg_ry_fail(y, n, "expected %s", what);
    return 0;
}

const char *tg_ry_sdup(tg_ryctx *y, const char *s, size_t len)
{
    return tg_arena_strndup(&y->p->arena, s, len);
}

/* A tg_ry_scalar as a string in the policy arena. */
int tg_ry_scalar(tg_ryctx *y, const tg_ynode *n, const char **out, size_t *len)
{
    int rc = tg_ry_want(y, n, TG_YNODE_SCALAR, "a string");

    *out = "";
    if (len)
        *len = 0;
    if (rc)
        return rc;
    if (memchr(n->str, '\0', n->len))
        return tg_ry_fail(y, n, "NUL byte in a string");
    *out = tg_ry_sdup(y, n->str, n->len);
    if (!*out)
        return TG_ENOMEM;
    if (len)
        *len = n->len;
    return 0;
}

int tg_ry_is(const tg_ynode *n, const char *s)
{
    return n->kind == TG_YNODE_SCALAR && n->len == strlen(s) &&
           memcmp(n->str, s, n->len) == 0;
}

int tg_ry_uint(tg_ryctx *y, const tg_ynode *n, uint64_t max, uint64_t *out)
{
    const char *s;
    char *end;
    unsigned long long v;
    int rc = tg_ry_scalar(y, n, &s, NULL);

    if (rc)
        return rc;
    if (!*s || *s == '-' || *s == '+')
        return tg_ry_fail(y, n, "expected a non-negative integer");
    v = strtoull(s, &end, 10);
    if (*end || v > max)
        return tg_ry_fail(y, n, "expected an integer from 0 to %llu",
                          (unsigned long long)max);
    *out = v;
    return 0;
}

int tg_ry_bool(tg_ryctx *y, const tg_ynode *n, int *out)
{
    const char *s;
    int rc = tg_ry_scalar(y, n, &s, NULL);

    if (rc)
        return rc;
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
        *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
        *out = 0;
    else
        return tg_ry_fail(y, n, "expected true or false");
    return 0;
}

/* A retention, in seconds: the one duration grammar (tg_units.h), whole
 * seconds, or "forever" (= 0, the store's own limit). */
int tg_ry_duration(tg_ryctx *y, const tg_ynode *n, uint64_t *out)
{
    const char *s;
    uint64_t ms;
    int rc = tg_ry_scalar(y, n, &s, NULL);

    if (rc)
        return rc;
    if (!strcmp(s, "forever")) {
        *out = 0;
        return 0;
    }
    if (tg_parse_duration_ms(s, &ms) != 0)
        return tg_ry_fail(y, n,
                          "expected a duration such as 30d, 12h, 90m, 45s, 2w or 1y");
    if (ms % 1000 != 0)
        return tg_ry_fail(y, n, "a retention is a whole number of seconds");
    *out = ms / 1000;
    return 0;
}

/* Iterates a mapping, checking that keys are scalars, unique and known.
 * `known` is a NULL-terminated list, or NULL for free-form keys. */
int tg_ry_each_pair(tg_ryctx *y, const tg_ynode *map, const char *const *known,
                    tg_ry_pair_fn fn, void *arg)
{
    for (size_t i = 0; i < map->n; i++) {
        const tg_ynode *k = map->keys[i], *v = map->items[i];
        int rc;

        if (known) {
            int ok = 0;
            char list[300] = "";
            size_t off = 0;
            for (int j = 0; known[j]; j++) {
                if (tg_ry_is(k, known[j]))
                    ok = 1;
                off += (size_t)snprintf(list + off,
                                        off < sizeof(list) ? sizeof(list) - off : 0,
                                        "%s%s", j ? ", " : "", known[j]);
                if (off >= sizeof(list))
                    off = sizeof(list) - 1;
            }
            if (!ok)
                return tg_ry_fail(y, k, "unknown key '%.*s' (expected one of: %s)",
                                  (int)(k->len > 64 ? 64 : k->len), k->str, list);
        }
        rc = fn(y, k, v, arg);
        if (rc)
            return rc;
    }
    return 0;
}

/* A string or a list of strings. */
int tg_ry_each_string(tg_ryctx *y, const tg_ynode *n, tg_ry_str_fn fn, void *arg)
{
    if (n->kind == TG_YNODE_SCALAR) {
        const char *s;
        size_t len;
        int rc = tg_ry_scalar(y, n, &s, &len);
        return rc ? rc : fn(y, n, s, len, arg);
    }
    if (n->kind == TG_YNODE_SEQ) {
        for (size_t it = 0; it < n->n; it++) {
            const tg_ynode *e = n->items[it];
            const char *s;
            size_t len;
            int rc = tg_ry_scalar(y, e, &s, &len);
            if (rc)
                return rc;
            rc = fn(y, e, s, len, arg);
            if (rc)
                return rc;
        }
        return 0;
    }
    return tg_ry_fail(y, n, "expected a string or a list of strings");
}

/* ---- key matchers --------------------------------------------------------------- */

int tg_ry_regex(tg_ryctx *y, const tg_ynode *n, const char *s, uint32_t flags,
                pcre2_code **out)
{
    int errcode;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, flags, &errcode,
                                   &off, y->p->ccompile);

    if (!re) {
        PCRE2_UCHAR msg[160];
        tg_loc l = tg_ry_loc(y, n);
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        if (n->quoted)
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

int tg_ry_km_add(tg_ryctx *y, tg_kmlist *l, const tg_ynode *n, int kind, const char *s,
                 size_t len)
{
    tg_keymatch *m;

    l->v = tg_rules__grow(&y->p->arena, l->v, sizeof(*l->v), l->n, &l->cap);
    if (!l->v)
        return TG_ENOMEM;
    m = &l->v[l->n];
    memset(m, 0, sizeof(*m));
    m->loc = tg_ry_loc(y, n);
    if (len == 0)
        return tg_ry_fail(y, n, "empty key pattern");
    if (kind < 0)
        kind = strpbrk(s, "*?[") ? TG_KM_GLOB : TG_KM_EXACT;
    m->kind = (uint8_t)kind;
    if (kind == TG_KM_REGEX) {
        int rc = tg_ry_regex(y, n, s, PCRE2_UTF | PCRE2_CASELESS, &m->re);
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

static int km_str(tg_ryctx *y, const tg_ynode *n, const char *s, size_t len, void *arg)
{
    km_arg *a = arg;
    return tg_ry_km_add(y, a->l, n, a->kind, s, len);
}

static int km_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    km_arg a = {arg, TG_KM_EXACT};
    if (tg_ry_is(k, "glob"))
        a.kind = TG_KM_GLOB;
    else if (tg_ry_is(k, "regex"))
        a.kind = TG_KM_REGEX;
    return tg_ry_each_string(y, v, km_str, &a);
}

/* keys: [a, "b.*", {regex: ...}]  or  keys: {exact: [...], glob: [...], regex: [...]} */
int tg_ry_keys(tg_ryctx *y, const tg_ynode *n, tg_kmlist *l)
{
    static const char *const known[] = {"exact", "glob", "regex", NULL};

    if (n->kind == TG_YNODE_MAP)
        return tg_ry_each_pair(y, n, known, km_pair, l);
    if (n->kind == TG_YNODE_SEQ) {
        for (size_t it = 0; it < n->n; it++) {
            const tg_ynode *e = n->items[it];
            int rc;
            if (e->kind == TG_YNODE_MAP) {
                rc = tg_ry_each_pair(y, e, known, km_pair, l);
            } else {
                km_arg a = {l, -1};
                const char *s;
                size_t len;
                rc = tg_ry_scalar(y, e, &s, &len);
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
        return tg_ry_each_string(y, n, km_str, &a);
    }
}

/* ---- classes -------------------------------------------------------------------------
 */

static int class_name_ok(const char *s)
{
    if (!tg_islower((unsigned char)s[0]))
        return 0;
    for (const char *c = s; *c; c++)
        if (!tg_islower((unsigned char)*c) && !tg_isdigit((unsigned char)*c) &&
            *c != '.' && *c != '_' && *c != '-')
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

static int kw_str(tg_ryctx *y, const tg_ynode *n, const char *s, size_t len, void *arg)
{
    tg_valdet *vd = arg;
    size_t cap = vd->nkw;
    char *t;

    if (len == 0 || len > 64)
        return tg_ry_fail(y, n, "keywords must be 1 to 64 characters");
    /* grow both arrays in step */
    {
        size_t c1 = cap, c2 = cap;
        vd->kw = tg_rules__grow(&y->p->arena, vd->kw, sizeof(*vd->kw), vd->nkw, &c1);
        vd->kwlen =
            tg_rules__grow(&y->p->arena, vd->kwlen, sizeof(*vd->kwlen), vd->nkw, &c2);
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

static int vd_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    tg_valdet *vd = arg;
    const char *s;
    int rc;

    if (tg_ry_is(k, "builtin")) {
        if ((rc = tg_ry_scalar(y, v, &s, NULL)))
            return rc;
        if (vd->builtin >= 0 || vd->pattern)
            return tg_ry_fail(y, k, "give either builtin or pattern, not both");
        vd->builtin = tg_detector_find(s);
        if (vd->builtin < 0)
            return tg_ry_fail(y, v,
                              "unknown built-in detector '%.64s' (see docs/rules.md)", s);
    } else if (tg_ry_is(k, "pattern")) {
        if ((rc = tg_ry_scalar(y, v, &s, NULL)))
            return rc;
        if (vd->builtin >= 0 || vd->pattern)
            return tg_ry_fail(y, k, "give either builtin or pattern, not both");
        if (!*s)
            return tg_ry_fail(y, v, "empty pattern");
        if ((rc = tg_ry_regex(y, v, s, PCRE2_UTF, &vd->re)))
            return rc;
        if ((rc = tg_ry_regex(y, v, s, 0, &vd->re_bytes)))
            return rc;
        vd->pattern = s;
    } else if (tg_ry_is(k, "keywords")) {
        vd->has_kw = 1;
        if (v->kind == TG_YNODE_SEQ && v->n == 0)
            return 0; /* keywords: [] */
        return tg_ry_each_string(y, v, kw_str, vd);
    } else if (tg_ry_is(k, "context")) {
        if ((rc = tg_ry_scalar(y, v, &s, NULL)))
            return rc;
        if (!strcmp(s, "auto"))
            vd->ctx = TG_CTX_AUTO;
        else if (!strcmp(s, "always"))
            vd->ctx = TG_CTX_ALWAYS;
        else if (!strcmp(s, "never"))
            vd->ctx = TG_CTX_NEVER;
        else
            return tg_ry_fail(y, v, "context must be auto, always or never");
    } else if (tg_ry_is(k, "window")) {
        uint64_t w;
        if ((rc = tg_ry_uint(y, v, 1024, &w)))
            return rc;
        vd->window = (uint32_t)w;
    } else if (tg_ry_is(k, "keys")) {
        return tg_ry_keys(y, v, &vd->scope);
    } else if (tg_ry_is(k, "validate")) {
        if ((rc = tg_ry_scalar(y, v, &s, NULL)))
            return rc;
        if (!strcmp(s, "luhn"))
            vd->validate = TG_VAL_LUHN;
        else if (!strcmp(s, "mod97"))
            vd->validate = TG_VAL_MOD97;
        else if (!strcmp(s, "none"))
            vd->validate = TG_VAL_NONE;
        else
            return tg_ry_fail(y, v, "validate must be luhn, mod97 or none");
    }
    return 0;
}

static int add_valdet(tg_ryctx *y, tg_rule *r, const tg_ynode *e, uint16_t rule_idx)
{
    static const char *const known[] = {"builtin", "pattern", "keywords", "context",
                                        "window",  "keys",    "validate", NULL};
    tg_valdet *vd = tg_arena_calloc(&y->p->arena, sizeof(*vd));
    int rc;

    if (!vd)
        return TG_ENOMEM;
    /* owned by the rule from the start, so a later error frees its patterns */
    r->values = tg_rules__grow(&y->p->arena, r->values, sizeof(*r->values), r->n_values,
                               &r->cap_values);
    if (!r->values)
        return TG_ENOMEM;
    r->values[r->n_values++] = vd;
    vd->builtin = -1;
    vd->re_req = -1;
    vd->window = 40;
    vd->rule = rule_idx;
    vd->loc = tg_ry_loc(y, e);
    if (e->kind == TG_YNODE_SCALAR) {
        const char *s;
        if ((rc = tg_ry_scalar(y, e, &s, NULL)))
            return rc;
        vd->builtin = tg_detector_find(s);
        if (vd->builtin < 0)
            return tg_ry_fail(y, e,
                              "unknown built-in detector '%.64s' (see docs/rules.md)", s);
        return 0;
    }
    if ((rc = tg_ry_want(y, e, TG_YNODE_MAP,
                         "a detector: {builtin: NAME} or {pattern: REGEX}")))
        return rc;
    if ((rc = tg_ry_each_pair(y, e, known, vd_pair, vd)))
        return rc;
    if (vd->builtin < 0 && !vd->pattern)
        return tg_ry_fail(y, e, "a value detector needs builtin or pattern");
    if (vd->builtin >= 0 && vd->validate != TG_VAL_NONE)
        return tg_ry_fail(y, e, "validate applies to custom patterns only");
    if (vd->ctx == TG_CTX_ALWAYS && vd->builtin < 0 && !vd->has_kw)
        return tg_ry_fail(y, e, "context: always needs keywords");
    return 0;
}

static int cond_str(tg_ryctx *y, const tg_ynode *n, const char *s, size_t len, void *arg)
{
    return tg_ry_km_add(y, arg, n, -1, s, len);
}

static int when_res_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    tg_rule *r = arg;
    tg_cond_res *c;

    r->when_res = tg_rules__grow(&y->p->arena, r->when_res, sizeof(*r->when_res),
                                 r->n_when_res, &r->cap_when_res);
    if (!r->when_res)
        return TG_ENOMEM;
    c = &r->when_res[r->n_when_res++];
    memset(c, 0, sizeof(*c));
    c->key = tg_ry_sdup(y, k->str, k->len);
    if (!c->key)
        return TG_ENOMEM;
    return tg_ry_each_string(y, v, cond_str, &c->vals);
}

static int when_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    tg_rule *r = arg;
    int rc;

    r->has_when = 1;
    if (tg_ry_is(k, "service"))
        return tg_ry_each_string(y, v, cond_str, &r->when_service);
    if (tg_ry_is(k, "environment"))
        return tg_ry_each_string(y, v, cond_str, &r->when_env);
    if ((rc =
             tg_ry_want(y, v, TG_YNODE_MAP, "a mapping of resource attribute -> values")))
        return rc;
    return tg_ry_each_pair(y, v, NULL, when_res_pair, r);
}

static int detect_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    static const char *const wknown[] = {"service", "environment", "resource", NULL};
    tg_rule *r = arg;
    int rc;

    if (tg_ry_is(k, "keys"))
        return tg_ry_keys(y, v, &r->keys);
    if (tg_ry_is(k, "values")) {
        if ((rc = tg_ry_want(y, v, TG_YNODE_SEQ, "a list of value detectors")))
            return rc;
        for (size_t it = 0; it < v->n; it++) {
            const tg_ynode *e = v->items[it];
            if ((rc = add_valdet(y, r, e, (uint16_t)(r - y->p->rules))))
                return rc;
        }
        return 0;
    }
    /* when */
    if ((rc = tg_ry_want(y, v, TG_YNODE_MAP,
                         "a mapping (service, environment, resource)")))
        return rc;
    return tg_ry_each_pair(y, v, wknown, when_pair, r);
}

static int add_rule(tg_ryctx *y, const tg_ynode *blk, int cls)
{
    static const char *const known[] = {"keys", "values", "when", NULL};
    tg_rules_policy *p = y->p;
    tg_rule *r;
    int rc;

    if ((rc = tg_ry_want(y, blk, TG_YNODE_MAP, "a detect block {keys, values, when}")))
        return rc;
    if (p->n_rules >= TG_RULES_MAX_RULES)
        return tg_ry_fail(y, blk, "too many detect blocks (limit %d)",
                          TG_RULES_MAX_RULES);
    p->rules =
        tg_rules__grow(&p->arena, p->rules, sizeof(*p->rules), p->n_rules, &p->cap_rules);
    if (!p->rules)
        return TG_ENOMEM;
    r = &p->rules[p->n_rules];
    memset(r, 0, sizeof(*r));
    r->cls = (uint16_t)cls;
    r->loc = tg_ry_loc(y, blk);
    p->n_rules++;
    rc = tg_ry_each_pair(y, blk, known, detect_pair, r);
    if (rc)
        return rc;
    if (!r->keys.n && !r->n_values)
        return tg_ry_fail(y, blk, "a detect block needs keys or values");
    return 0;
}

typedef struct class_arg {
    int cls;
    const tg_ynode *detect;
    int replace;
} class_arg;

static int reg_str(tg_ryctx *y, const tg_ynode *n, const char *s, size_t len, void *arg)
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

static int class_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    class_arg *a = arg;
    tg_class *c = &y->p->classes[a->cls];

    if (tg_ry_is(k, "description"))
        return tg_ry_scalar(y, v, &c->description, NULL);
    if (tg_ry_is(k, "regulation")) {
        c->regulation = NULL;
        return tg_ry_each_string(y, v, reg_str, c);
    }
    if (tg_ry_is(k, "legal_basis"))
        return tg_ry_scalar(y, v, &c->legal_basis, NULL);
    if (tg_ry_is(k, "retention"))
        return tg_ry_duration(y, v, &c->retention);
    if (tg_ry_is(k, "redact_text"))
        return tg_ry_scalar(y, v, &c->redact_text, NULL);
    if (tg_ry_is(k, "replace"))
        return tg_ry_bool(y, v, &a->replace);
    /* detect: applied after `replace` is known */
    a->detect = v;
    return 0;
}

static int classes_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    static const char *const known[] = {"description", "regulation",  "legal_basis",
                                        "retention",   "redact_text", "detect",
                                        "replace",     NULL};
    tg_rules_policy *p = y->p;
    const char *name;
    class_arg a = {-1, NULL, 0};
    int rc;

    (void)arg;
    name = tg_ry_sdup(y, k->str, k->len);
    if (!name)
        return TG_ENOMEM;
    if (!class_name_ok(name))
        return tg_ry_fail(y, k,
                          "class names are lower case letters, digits, '.', '_' and '-', "
                          "starting with a letter (got '%.64s')",
                          name);
    if (!strcmp(name, TG_RULES_CLASS_UNCLASSIFIABLE) || !strcmp(name, "default"))
        return tg_ry_fail(y, k, "'%s' is reserved", name);
    a.cls = find_class(p, name);
    if (a.cls < 0) {
        if (p->n_classes >= TG_RULES_MAX_CLASSES - 1)
            return tg_ry_fail(y, k, "too many classes (limit %d)",
                              TG_RULES_MAX_CLASSES - 1);
        p->classes = tg_rules__grow(&p->arena, p->classes, sizeof(*p->classes),
                                    p->n_classes, &p->cap_classes);
        if (!p->classes)
            return TG_ENOMEM;
        memset(&p->classes[p->n_classes], 0, sizeof(tg_class));
        p->classes[p->n_classes].name = name;
        p->classes[p->n_classes].loc = tg_ry_loc(y, k);
        a.cls = (int)p->n_classes++;
    }
    if ((rc = tg_ry_want(y, v, TG_YNODE_MAP, "a class definition (a mapping)")))
        return rc;
    if ((rc = tg_ry_each_pair(y, v, known, class_pair, &a)))
        return rc;
    if (a.replace) {
        /* the class's earlier detect blocks no longer apply */
        for (size_t i = 0; i < p->n_rules; i++)
            if (p->rules[i].cls == a.cls)
                p->rules[i].cls = UINT16_MAX;
    }
    if (a.detect) {
        const tg_ynode *d = a.detect;
        if (d->kind == TG_YNODE_SEQ) {
            for (size_t it = 0; it < d->n; it++) {
                const tg_ynode *e = d->items[it];
                if ((rc = add_rule(y, e, a.cls)))
                    return rc;
            }
        } else if ((rc = add_rule(y, d, a.cls))) {
            return rc;
        }
    }
    return 0;
}

/* ---- files and includes
 * ---------------------------------------------------------------- */

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
                tg_rules__set_err(err, &l, "policy file larger than %u bytes",
                                  MAX_POLICY_BYTES);
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
    if (TG_ARRAY_ROOM(seen->v, seen->n, seen->cap, 8))
        return TG_ENOMEM;
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
        rc = (name && dir)
                 ? tg_rules__load_text(p, name, dir, text, len, opt, err, depth, seen)
                 : TG_ENOMEM;
    }
    free(text);
    seen->v[idx].done = 1;
    return rc;
}

static int include_str(tg_ryctx *y, const tg_ynode *n, const char *s, size_t len,
                       void *arg)
{
    char path[PATH_MAX];
    tg_loc l = tg_ry_loc(y, n);

    (void)arg;
    if (y->opt && y->opt->no_filesystem)
        return tg_ry_fail(y, n, "include is not allowed here");
    if (len == 0)
        return tg_ry_fail(y, n, "empty include path");
    if (y->depth + 1 > MAX_INCLUDE_DEPTH)
        return tg_ry_fail(y, n, "includes nested deeper than %d", MAX_INCLUDE_DEPTH);
    if (s[0] == '/')
        snprintf(path, sizeof(path), "%s", s);
    else
        snprintf(path, sizeof(path), "%s/%s", y->dir, s);
    return load_file(y->p, path, y->opt, y->err, y->depth + 1, y->seen, &l);
}

/* `phone: {region: DE}`: the country whose national format phone numbers
 * are read in (else the site's country). */
static int phone_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    const char *r;
    size_t len;
    int rc;

    (void)k;
    (void)arg;
    if ((rc = tg_ry_scalar(y, v, &r, &len)))
        return rc;
    if (len != 2 || !tg_iso_country_ok(r))
        return tg_ry_fail(y, v, "phone region '%s' is not an ISO 3166-1 alpha-2 country",
                          r);
    y->p->phone_region = r;
    return 0;
}

static int top_pair(tg_ryctx *y, const tg_ynode *k, const tg_ynode *v, void *arg)
{
    static const char *const sknown[] = {"name", "jurisdiction", NULL};
    static const char *const lknown[] = {"max_depth", "match_limit", "max_findings",
                                         NULL};
    int rc;

    (void)arg;
    if (tg_ry_is(k, "include"))
        return 0; /* done first */
    if (tg_ry_is(k, "version")) {
        uint64_t ver;
        if ((rc = tg_ry_uint(y, v, 1000, &ver)))
            return rc;
        if (ver != 1)
            return tg_ry_fail(
                y, v, "unsupported policy version %llu (this tollgate reads version 1)",
                (unsigned long long)ver);
        return 0;
    }
    if (tg_ry_is(k, "site")) {
        if ((rc = tg_ry_want(y, v, TG_YNODE_MAP, "a site {name, jurisdiction}")))
            return rc;
        return tg_ry_each_pair(y, v, sknown, tg_ry_site_pair, NULL);
    }
    if (tg_ry_is(k, "phone")) {
        static const char *const pknown[] = {"region", NULL};
        if ((rc = tg_ry_want(y, v, TG_YNODE_MAP, "phone {region}")))
            return rc;
        return tg_ry_each_pair(y, v, pknown, phone_pair, NULL);
    }
    if (tg_ry_is(k, "default_key")) {
        y->p->default_key_loc = tg_ry_loc(y, v);
        return tg_ry_scalar(y, v, &y->p->default_key, NULL);
    }
    if (tg_ry_is(k, "limits")) {
        if ((rc = tg_ry_want(y, v, TG_YNODE_MAP,
                             "limits {max_depth, match_limit, max_findings}")))
            return rc;
        return tg_ry_each_pair(y, v, lknown, tg_ry_limits_pair, NULL);
    }
    if ((rc = tg_ry_want(y, v, TG_YNODE_MAP, "a mapping")))
        return rc;
    if (tg_ry_is(k, "keys"))
        return tg_ry_each_pair(y, v, NULL, tg_ry_keys_pair, NULL);
    if (tg_ry_is(k, "classes"))
        return tg_ry_each_pair(y, v, NULL, classes_pair, NULL);
    return tg_ry_each_pair(y, v, NULL, tg_ry_dests_pair, NULL);
}

/* The tree's failure in the policy's words: a repeated key is named as
 * written, and a second document is pointed at its "---". */
static int parse_error(const char *name, const tg_yaml_failure *f, tg_rules_diag *err)
{
    tg_loc l = {name, f->line, f->col};

    switch (f->kind) {
    case TG_YAML_FAIL_DUPLICATE:
        tg_rules__set_err(err, &l, "duplicate key '%s' (first at line %u)", f->key,
                          f->first_line);
        break;
    case TG_YAML_FAIL_EXTRA_DOC:
        l.line = f->doc_line;
        l.col = f->doc_col;
        tg_rules__set_err(err, &l, "only one YAML document per policy file");
        break;
    case TG_YAML_FAIL_ALIAS:
        tg_rules__set_err(err, &l, "aliases (*name) are not supported in policy files");
        break;
    default:
        tg_rules__set_err(err, &l, "%s", f->message);
    }
    return TG_ECONFIG;
}

int tg_rules__load_text(tg_rules_policy *p, const char *name, const char *dir,
                        const char *text, size_t len, const tg_rules_options *opt,
                        tg_rules_diag *err, int depth, void *seen_v)
{
    static const char *const known[] = {
        "version", "include", "site",         "keys",  "default_key",
        "limits",  "classes", "destinations", "phone", NULL};
    tg_yaml_failure fail;
    tg_ynode *root;
    tg_ryctx y;
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
        tg_strbuf_printf(&p->text, "# ---- %s\n", name);
        tg_strbuf_put(&p->text, text, len);
        if (len && text[len - 1] != '\n')
            tg_strbuf_putc(&p->text, '\n');
    }
    root = tg_yaml_parse(text, len, &fail);
    if (!root)
        return parse_error(name, &fail, err);
    memset(&y, 0, sizeof(y));
    y.p = p;
    y.file = name;
    y.dir = dir;
    y.opt = opt;
    y.err = err;
    y.depth = depth;
    y.seen = seen;
    rc = tg_ry_want(&y, root, TG_YNODE_MAP, "a mapping at the top of the policy file");
    if (!rc) {
        /* includes first: the including file applies on top of them */
        for (size_t i = 0; !rc && i < root->n; i++) {
            if (tg_ry_is(root->keys[i], "include"))
                rc = tg_ry_each_string(&y, root->items[i], include_str, NULL);
        }
    }
    if (!rc)
        rc = tg_ry_each_pair(&y, root, known, top_pair, NULL);
    tg_yaml_free(root);
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
