/* The site part of a plan over one record: TraceQL spanset filters over one
 * span (three-valued: a site cannot know trace-level intrinsics), and the
 * LogQL selector and pipeline over one log record. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tg_err.h"
#include "tg_plan_eval.h"

enum { ABSENT = 0, PRESENT = 1, UNKNOWN_VALUE = 2 };

static void hex(char *out, const uint8_t *id, size_t n)
{
    static const char d[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = d[id[i] >> 4];
        out[2 * i + 1] = d[id[i] & 15];
    }
    out[2 * n] = '\0';
}

static void str_val(tg_pval *out, const char *s)
{
    out->type = TG_PV_STR;
    out->s = s ? s : "";
    out->len = strlen(out->s);
}

static int resource_value(const tg_span_view *v, const char *key, tg_pval *out)
{
    if (v->resource_attr && v->resource_attr(v->ctx, key, out))
        return PRESENT;
    if (v->service && strcmp(key, "service.name") == 0) {
        str_val(out, v->service);
        return PRESENT;
    }
    return ABSENT;
}

/* The value of operand o for span v. `site_only` (for pruning) makes every
 * field but the site unknown; `scratch` holds hex ids (33 bytes). */
static int value_of(const tg_operand *o, const tg_span_view *v, const tg_trace_ctx *t,
                    const char *site_only, char *scratch, tg_pval *out)
{
    memset(out, 0, sizeof(*out));
    if (o->kind == TG_OPD_LITERAL) {
        *out = o->lit;
        return PRESENT;
    }
    if (site_only) {
        if (o->kind == TG_OPD_INTRINSIC && o->intr == TG_IN_SITE) {
            str_val(out, site_only);
            return PRESENT;
        }
        return UNKNOWN_VALUE;
    }
    if (o->kind == TG_OPD_ATTR) {
        if (o->scope != TG_SCOPE_RESOURCE && v->span_attr &&
            v->span_attr(v->ctx, o->key, out))
            return PRESENT;
        if (o->scope != TG_SCOPE_SPAN)
            return resource_value(v, o->key, out);
        return ABSENT;
    }
    switch (o->intr) {
    case TG_IN_NAME:
        str_val(out, v->name);
        return PRESENT;
    case TG_IN_STATUS:
        out->type = TG_PV_STATUS;
        out->i = v->status;
        return PRESENT;
    case TG_IN_KIND:
        out->type = TG_PV_KIND;
        out->i = v->kind;
        return PRESENT;
    case TG_IN_DURATION:
        out->type = TG_PV_DUR;
        out->i = v->end_ns > v->start_ns ? (int64_t)(v->end_ns - v->start_ns) : 0;
        return PRESENT;
    case TG_IN_STATUS_MESSAGE:
        str_val(out, v->status_message);
        return PRESENT;
    case TG_IN_SPAN_ID:
        if (!v->span_id)
            return ABSENT;
        hex(scratch, v->span_id, 8);
        str_val(out, scratch);
        return PRESENT;
    case TG_IN_TRACE_ID:
        if (!v->trace_id)
            return ABSENT;
        hex(scratch, v->trace_id, 16);
        str_val(out, scratch);
        return PRESENT;
    case TG_IN_SITE:
        if (!v->site)
            return ABSENT;
        str_val(out, v->site);
        return PRESENT;
    case TG_IN_TRACE_DURATION:
        if (!t)
            return UNKNOWN_VALUE;
        out->type = TG_PV_DUR;
        out->i = t->end_ns > t->start_ns ? (int64_t)(t->end_ns - t->start_ns) : 0;
        return PRESENT;
    case TG_IN_TRACE_ROOT_NAME:
        if (!t)
            return UNKNOWN_VALUE;
        if (!t->root)
            return ABSENT;
        str_val(out, t->root->name);
        return PRESENT;
    case TG_IN_TRACE_ROOT_SERVICE:
        if (!t)
            return UNKNOWN_VALUE;
        if (!t->root || !t->root->service)
            return ABSENT;
        str_val(out, t->root->service);
        return PRESENT;
    case TG_IN_NONE:
        break;
    }
    return ABSENT;
}

int tg_plan_operand_value(const tg_operand *o, const tg_span_view *v,
                          const tg_trace_ctx *t, tg_pval *out)
{
    /* An id's hex is written to a per-thread buffer that the next call
     * overwrites; every other value is borrowed from the view or the plan. */
    static _Thread_local char scratch[33];

    return value_of(o, v, t, NULL, scratch, out) == PRESENT;
}

static int is_num(enum tg_pval_type t)
{
    return t == TG_PV_INT || t == TG_PV_FLOAT || t == TG_PV_DUR;
}

static int order(int c, enum tg_cmp op)
{
    switch (op) {
    case TG_CMP_EQ:
        return c == 0;
    case TG_CMP_NE:
        return c != 0;
    case TG_CMP_GT:
        return c > 0;
    case TG_CMP_GE:
        return c >= 0;
    case TG_CMP_LT:
        return c < 0;
    case TG_CMP_LE:
        return c <= 0;
    default:
        return 0;
    }
}

/* Compares two present values; mismatched types never match. */
static int compare(const tg_pval *a, const tg_pval *b, enum tg_cmp op, int ci)
{
    if (is_num(a->type) && is_num(b->type)) {
        if (a->type != TG_PV_FLOAT && b->type != TG_PV_FLOAT)
            return order((a->i > b->i) - (a->i < b->i), op);
        {
            double x = a->type == TG_PV_FLOAT ? a->f : (double)a->i;
            double y = b->type == TG_PV_FLOAT ? b->f : (double)b->i;

            if (isnan(x) || isnan(y))
                return op == TG_CMP_NE;
            return order((x > y) - (x < y), op);
        }
    }
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case TG_PV_STR: {
        size_t n = a->len < b->len ? a->len : b->len;
        int c = ci ? strncasecmp(a->s, b->s, n) : memcmp(a->s, b->s, n);

        if (c == 0)
            c = (a->len > b->len) - (a->len < b->len);
        return order(c, op);
    }
    case TG_PV_BOOL:
    case TG_PV_STATUS:
    case TG_PV_KIND:
        if (op != TG_CMP_EQ && op != TG_CMP_NE)
            return 0;
        return order((a->i != b->i), op);
    default:
        return 0;
    }
}

static int is_id(const tg_operand *o)
{
    return o->kind == TG_OPD_INTRINSIC &&
           (o->intr == TG_IN_SPAN_ID || o->intr == TG_IN_TRACE_ID);
}

static int is_nil(const tg_operand *o)
{
    return o->kind == TG_OPD_LITERAL && o->lit.type == TG_PV_NIL;
}

static enum tg_tri cmp_values(const tg_fexpr *e, const tg_pval *a, const tg_pval *b)
{
    if (e->cmp == TG_CMP_RE || e->cmp == TG_CMP_NRE) {
        int m;

        if (a->type != TG_PV_STR)
            return TG_FALSE;
        m = tg_plan_regex_match(e->re, a->s, a->len);
        if (m < 0)
            return TG_UNKNOWN; /* a match limit: keep the candidate */
        return (m == (e->cmp == TG_CMP_RE)) ? TG_TRUE : TG_FALSE;
    }
    return compare(a, b, e->cmp, is_id(&e->a) || is_id(&e->b)) ? TG_TRUE : TG_FALSE;
}

static enum tg_tri eval_cmp(const tg_fexpr *e, const tg_span_view *v,
                            const tg_trace_ctx *t, const char *site_only)
{
    char sa[33], sb[33];
    tg_pval a, b;
    int ha = value_of(&e->a, v, t, site_only, sa, &a);
    int hb = value_of(&e->b, v, t, site_only, sb, &b);

    if (ha == UNKNOWN_VALUE || hb == UNKNOWN_VALUE)
        return TG_UNKNOWN;
    /* `x = nil` asks whether x is absent, `x != nil` whether it is present. */
    if (is_nil(&e->b) || is_nil(&e->a)) {
        int present = is_nil(&e->b) ? ha == PRESENT && a.type != TG_PV_NIL
                                    : hb == PRESENT && b.type != TG_PV_NIL;

        if (e->cmp == TG_CMP_EQ)
            return present ? TG_FALSE : TG_TRUE;
        if (e->cmp == TG_CMP_NE)
            return present ? TG_TRUE : TG_FALSE;
        return TG_FALSE;
    }
    if (ha != PRESENT || hb != PRESENT)
        return TG_FALSE;
    if (a.type == TG_PV_ARRAY || b.type == TG_PV_ARRAY) {
        /* any element for the positive operators, every one for != and !~ */
        int neg = e->cmp == TG_CMP_NE || e->cmp == TG_CMP_NRE,
            left = a.type == TG_PV_ARRAY;
        const tg_pval *arr = left ? &a : &b;
        size_t k;

        if (a.type == TG_PV_ARRAY && b.type == TG_PV_ARRAY)
            return TG_FALSE;
        for (k = 0; k < arr->len; k++) {
            enum tg_tri r = left ? cmp_values(e, &arr->items[k], &b)
                                 : cmp_values(e, &a, &arr->items[k]);

            if (r == TG_UNKNOWN)
                return TG_UNKNOWN;
            if ((r == TG_TRUE) != neg)
                return neg ? TG_FALSE : TG_TRUE;
        }
        return neg ? TG_TRUE : TG_FALSE;
    }
    return cmp_values(e, &a, &b);
}

static enum tg_tri eval_fx(const tg_fexpr *e, const tg_span_view *v,
                           const tg_trace_ctx *t, const char *site_only)
{
    enum tg_tri l, r;

    switch (e->op) {
    case TG_FX_TRUE:
        return TG_TRUE;
    case TG_FX_AND:
        l = eval_fx(e->l, v, t, site_only);
        if (l == TG_FALSE)
            return TG_FALSE;
        r = eval_fx(e->r, v, t, site_only);
        if (r == TG_FALSE)
            return TG_FALSE;
        return l == TG_TRUE && r == TG_TRUE ? TG_TRUE : TG_UNKNOWN;
    case TG_FX_OR:
        l = eval_fx(e->l, v, t, site_only);
        if (l == TG_TRUE)
            return TG_TRUE;
        r = eval_fx(e->r, v, t, site_only);
        if (r == TG_TRUE)
            return TG_TRUE;
        return l == TG_FALSE && r == TG_FALSE ? TG_FALSE : TG_UNKNOWN;
    case TG_FX_NOT:
        l = eval_fx(e->l, v, t, site_only);
        return l == TG_UNKNOWN ? TG_UNKNOWN : l == TG_TRUE ? TG_FALSE : TG_TRUE;
    case TG_FX_CMP:
        return eval_cmp(e, v, t, site_only);
    case TG_FX_OPERAND: {
        char s[33];
        tg_pval a;
        int h = value_of(&e->a, v, t, site_only, s, &a);

        if (h == UNKNOWN_VALUE)
            return TG_UNKNOWN;
        return h == PRESENT && a.type == TG_PV_BOOL && a.i ? TG_TRUE : TG_FALSE;
    }
    }
    return TG_FALSE;
}

int tg_plan_eval_filter_trace(const tg_plan *p, size_t filter, const tg_span_view *v,
                              const tg_trace_ctx *t)
{
    if (p->lang != TG_PLAN_TRACEQL || filter >= p->nfilters)
        return TG_FALSE;
    return eval_fx(p->filters[filter].expr, v, t, NULL) == TG_TRUE;
}

int tg_plan_span_candidate(const tg_plan *p, const tg_span_view *v)
{
    size_t i;

    if (p->lang != TG_PLAN_TRACEQL)
        return 0;
    for (i = 0; i < p->nsite_filters; i++)
        if (eval_fx(p->filters[i].expr, v, NULL, NULL) != TG_FALSE)
            return 1;
    return 0;
}

/* --- LogQL ----------------------------------------------------------------- */

typedef struct label {
    char *k, *v;
} label;

typedef struct labels {
    label *v;
    size_t n, cap;
    int oom;
    const tg_lstage **drops; /* the drop stages passed so far */
    size_t ndrops;
} labels;

static int dropped(const labels *L, const char *name)
{
    size_t d, k;

    for (d = 0; L && d < L->ndrops; d++)
        for (k = 0; k < L->drops[d]->nnames; k++)
            if (strcmp(L->drops[d]->names[k], name) == 0)
                return 1;
    return 0;
}

static void labels_add(labels *L, const char *k, size_t kl, const char *v, size_t vl)
{
    size_t i;
    char *kk, *vv;

    if (L->oom)
        return;
    if (L->n == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 8;
        label *nv = realloc(L->v, cap * sizeof(*nv));

        if (!nv) {
            L->oom = 1;
            return;
        }
        L->v = nv;
        L->cap = cap;
    }
    kk = malloc(kl + 1);
    vv = malloc(vl + 1);
    if (!kk || !vv) {
        free(kk);
        free(vv);
        L->oom = 1;
        return;
    }
    /* Loki's label names: anything but [A-Za-z0-9_] becomes '_'. */
    for (i = 0; i < kl; i++) {
        char c = k[i];

        kk[i] =
            ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                ? c
                : '_';
    }
    kk[kl] = '\0';
    memcpy(vv, v, vl);
    vv[vl] = '\0';
    L->v[L->n++] = (label){kk, vv};
}

static void labels_free(labels *L)
{
    size_t i;

    for (i = 0; i < L->n; i++) {
        free(L->v[i].k);
        free(L->v[i].v);
    }
    free(L->v);
    free(L->drops);
}

static void json_flatten(labels *L, json_t *o, char *prefix, size_t plen, size_t cap)
{
    const char *k;
    json_t *val;

    json_object_foreach(o, k, val)
    {
        size_t kl = strlen(k), nl = plen + (plen ? 1 : 0) + kl;
        char num[40];

        if (nl >= cap)
            continue; /* a path too long to name is skipped */
        if (plen)
            prefix[plen] = '_';
        memcpy(prefix + plen + (plen ? 1 : 0), k, kl);
        prefix[nl] = '\0';
        switch (json_typeof(val)) {
        case JSON_OBJECT:
            json_flatten(L, val, prefix, nl, cap);
            break;
        case JSON_STRING:
            labels_add(L, prefix, nl, json_string_value(val), json_string_length(val));
            break;
        case JSON_INTEGER:
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(val));
            labels_add(L, prefix, nl, num, strlen(num));
            break;
        case JSON_REAL:
            snprintf(num, sizeof(num), "%.17g", json_real_value(val));
            labels_add(L, prefix, nl, num, strlen(num));
            break;
        case JSON_TRUE:
            labels_add(L, prefix, nl, "true", 4);
            break;
        case JSON_FALSE:
            labels_add(L, prefix, nl, "false", 5);
            break;
        default: /* arrays and null are not extracted, as in Loki */
            break;
        }
        prefix[plen] = '\0';
    }
}

static void parse_json(labels *L, const char *s, size_t n)
{
    json_t *doc = json_loadb(s, n, JSON_DECODE_ANY, NULL);
    char prefix[256];

    if (!json_is_object(doc)) {
        labels_add(L, "__error__", 9, "JSONParserErr", 13);
        json_decref(doc);
        return;
    }
    prefix[0] = '\0';
    json_flatten(L, doc, prefix, 0, sizeof(prefix));
    json_decref(doc);
}

static void parse_logfmt(labels *L, const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t k0, kl, v0, vl = 0;

        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        k0 = i;
        while (i < n && s[i] != '=' && s[i] != ' ' && s[i] != '\t' && s[i] != '"')
            i++;
        kl = i - k0;
        if (i < n && s[i] == '"') { /* a stray quote: skip to the next space */
            while (i < n && s[i] != ' ')
                i++;
            continue;
        }
        if (i < n && s[i] == '=') {
            i++;
            if (i < n && s[i] == '"') {
                char *buf = malloc(n - i + 1);

                i++;
                if (!buf) {
                    L->oom = 1;
                    return;
                }
                while (i < n && s[i] != '"') {
                    if (s[i] == '\\' && i + 1 < n) {
                        char c = s[i + 1];

                        buf[vl++] = c == 'n' ? '\n' : c == 't' ? '\t' : c;
                        i += 2;
                    } else {
                        buf[vl++] = s[i++];
                    }
                }
                if (i < n)
                    i++;
                if (kl)
                    labels_add(L, s + k0, kl, buf, vl);
                free(buf);
                continue;
            }
            v0 = i;
            while (i < n && s[i] != ' ' && s[i] != '\t')
                i++;
            if (kl)
                labels_add(L, s + k0, kl, s + v0, i - v0);
            continue;
        }
        if (kl)
            labels_add(L, s + k0, kl, "", 0);
        if (i == k0)
            i++;
    }
}

/* A Loki label name on an OTel attribute: `service_name` is `service.name`. */
static int attr_by_label(tg_attr_fn fn, const void *ctx, const char *name, tg_pval *out)
{
    char key[256];
    size_t i, n = strlen(name);

    if (!fn)
        return 0;
    if (fn(ctx, name, out))
        return 1;
    if (n >= sizeof(key) || !memchr(name, '_', n))
        return 0;
    for (i = 0; i <= n; i++)
        key[i] = name[i] == '_' ? '.' : name[i];
    return fn(ctx, key, out);
}

/* The text of a label; `num` holds a number turned to text. 1 when present. */
static int label_text(const tg_log_view *v, const labels *L, const char *name,
                      int stream_only, const char **s, size_t *n, char *num,
                      size_t numlen)
{
    tg_pval pv;
    size_t i;

    if (dropped(L, name))
        return 0;
    if (strcmp(name, "site") == 0 && v->site) {
        *s = v->site;
        *n = strlen(v->site);
        return 1;
    }
    if (L)
        for (i = L->n; i-- > 0;)
            if (strcmp(L->v[i].k, name) == 0) {
                *s = L->v[i].v;
                *n = strlen(L->v[i].v);
                return 1;
            }
    memset(&pv, 0, sizeof(pv));
    if ((!stream_only && attr_by_label(v->attr, v->ctx, name, &pv)) ||
        attr_by_label(v->resource_attr, v->ctx, name, &pv)) {
        switch (pv.type) {
        case TG_PV_STR:
            *s = pv.s;
            *n = pv.len;
            return 1;
        case TG_PV_INT:
        case TG_PV_DUR:
            snprintf(num, numlen, "%lld", (long long)pv.i);
            break;
        case TG_PV_FLOAT:
            snprintf(num, numlen, "%.17g", pv.f);
            break;
        case TG_PV_BOOL:
            snprintf(num, numlen, "%s", pv.i ? "true" : "false");
            break;
        default:
            num[0] = '\0';
        }
        *s = num;
        *n = strlen(num);
        return 1;
    }
    if (strcmp(name, "service_name") == 0 && v->service) {
        *s = v->service;
        *n = strlen(v->service);
        return 1;
    }
    if (!stream_only && v->severity &&
        (strcmp(name, "level") == 0 || strcmp(name, "detected_level") == 0 ||
         strcmp(name, "severity_text") == 0)) {
        *s = v->severity;
        *n = strlen(v->severity);
        return 1;
    }
    return 0;
}

static int str_match(const char *s, size_t n, enum tg_cmp op, const char *want, size_t wl,
                     tg_regex *re)
{
    switch (op) {
    case TG_CMP_EQ:
        return n == wl && memcmp(s, want, n) == 0;
    case TG_CMP_NE:
        return !(n == wl && memcmp(s, want, n) == 0);
    case TG_CMP_RE:
        return tg_plan_regex_match(re, s, n) == 1;
    case TG_CMP_NRE:
        return tg_plan_regex_match(re, s, n) == 0;
    default:
        return 0;
    }
}

static int eval_lexpr(const tg_lexpr *e, const tg_log_view *v, const labels *L)
{
    const char *s = "";
    size_t n = 0;
    char num[48], tmp[64];
    int present;

    if (e->op == TG_LX_AND)
        return eval_lexpr(e->l, v, L) && eval_lexpr(e->r, v, L);
    if (e->op == TG_LX_OR)
        return eval_lexpr(e->l, v, L) || eval_lexpr(e->r, v, L);
    present = label_text(v, L, e->name, 0, &s, &n, num, sizeof(num));
    if (e->value.type == TG_PV_STR) /* an absent label reads as "" */
        return str_match(present ? s : "", present ? n : 0, e->cmp, e->value.s,
                         e->value.len, e->re);
    if (!present || n == 0 || n >= sizeof(tmp))
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    {
        tg_pval lv = {0};
        char *end;

        if (e->value.type == TG_PV_DUR) {
            lv.type = TG_PV_DUR;
            if (tg_plan_parse_duration(tmp, n, &lv.i) != 0)
                return 0;
        } else {
            lv.type = TG_PV_FLOAT;
            lv.f = strtod(tmp, &end);
            if (*end != '\0')
                return 0;
        }
        return compare(&lv, &e->value, e->cmp, 0);
    }
}

static int selector_match(const tg_plan *p, const tg_log_view *v, const char *site_only)
{
    size_t i;

    for (i = 0; i < p->nsel; i++) {
        const tg_lsel *m = &p->sel[i];
        const char *s = "";
        size_t n = 0;
        char num[48];

        if (site_only) {
            if (strcmp(m->name, "site") != 0)
                continue;
            s = site_only;
            n = strlen(site_only);
        } else if (!label_text(v, NULL, m->name, 1, &s, &n, num, sizeof(num))) {
            s = "";
            n = 0;
        }
        if (!str_match(s, n,
                       (enum tg_cmp)(m->op == TG_LM_EQ   ? TG_CMP_EQ
                                     : m->op == TG_LM_NE ? TG_CMP_NE
                                     : m->op == TG_LM_RE ? TG_CMP_RE
                                                         : TG_CMP_NRE),
                       m->value, strlen(m->value), m->re))
            return 0;
    }
    return 1;
}

int tg_plan_log_match(const tg_plan *p, const tg_log_view *v)
{
    const char *body = v->body ? v->body : "";
    size_t blen = v->body ? v->body_len : 0, i;
    labels L = {0};
    int ok = 1;

    if (p->lang != TG_PLAN_LOGQL || !p->has_selector || !selector_match(p, v, NULL))
        return 0;
    for (i = 0; ok && i < p->npipe; i++) {
        const tg_lstage *s = &p->pipe[i];

        switch (s->kind) {
        case TG_LS_LINE:
            if (s->cmp == TG_CMP_EQ || s->cmp == TG_CMP_NE) {
                int has =
                    s->text_len == 0 || memmem(body, blen, s->text, s->text_len) != NULL;

                ok = has == (s->cmp == TG_CMP_EQ);
            } else {
                int m = tg_plan_regex_match(s->re, body, blen);

                ok = s->cmp == TG_CMP_RE ? m == 1 : m == 0;
            }
            break;
        case TG_LS_JSON:
            parse_json(&L, body, blen);
            break;
        case TG_LS_LOGFMT:
            parse_logfmt(&L, body, blen);
            break;
        case TG_LS_LABEL:
            ok = eval_lexpr(s->expr, v, &L);
            break;
        case TG_LS_DROP: {
            const tg_lstage **nd = realloc(L.drops, (L.ndrops + 1) * sizeof(*nd));

            if (!nd) {
                L.oom = 1;
                break;
            }
            L.drops = nd;
            L.drops[L.ndrops++] = s; /* hidden from every later stage */
            break;
        }
        }
        if (L.oom) {
            /* Out of memory mid-pipeline: keep the record rather than drop
             * it silently; the asker's view still applies to what leaves. */
            ok = 1;
            break;
        }
    }
    labels_free(&L);
    return ok;
}

int tg_plan_site_may_match(const tg_plan *p, const char *site)
{
    size_t i;

    if (p->lang == TG_PLAN_LOGQL)
        return !p->has_selector || selector_match(p, NULL, site);
    for (i = 0; i < p->nsite_filters; i++)
        if (eval_fx(p->filters[i].expr, NULL, NULL, site) != TG_FALSE)
            return 1;
    return 0;
}

static int constant(const tg_mexpr *m, double *out)
{
    double l, r;

    switch (m->op) {
    case TG_MX_NUMBER:
    case TG_MX_VECTOR:
        *out = m->number;
        return 0;
    case TG_MX_BINOP:
        if (constant(m->l, &l) || constant(m->r, &r))
            return TG_EINVAL;
        *out = m->binop == '+'   ? l + r
               : m->binop == '-' ? l - r
               : m->binop == '*' ? l * r
                                 : l / r;
        return 0;
    default:
        return TG_EINVAL;
    }
}

int tg_plan_eval_constant(const tg_plan *p, double *out)
{
    if (p->lang != TG_PLAN_LOGQL || !p->metric)
        return TG_EINVAL;
    return constant(p->metric, out);
}

/* ---- index use ------------------------------------------------------------ */

/* The service a filter's expression requires (`resource.service.name =
 * "x"`, or unscoped `.service.name`, as a conjunct), or NULL; *len its
 * length (literals need not be NUL-terminated). */
static const char *expr_service(const tg_fexpr *e, size_t *len)
{
    const char *l;

    if (!e)
        return NULL;
    if (e->op == TG_FX_AND) {
        l = expr_service(e->l, len);
        return l ? l : expr_service(e->r, len);
    }
    if (e->op != TG_FX_CMP || e->cmp != TG_CMP_EQ)
        return NULL;
    if (e->a.kind == TG_OPD_ATTR && e->a.scope != TG_SCOPE_SPAN &&
        strcmp(e->a.key, "service.name") == 0 && e->b.kind == TG_OPD_LITERAL &&
        e->b.lit.type == TG_PV_STR && e->b.lit.s) {
        *len = e->b.lit.len;
        return e->b.lit.s;
    }
    return NULL;
}

int tg_plan_service_index(const tg_plan *p, char *out, size_t cap)
{
    const char *svc = NULL, *s;
    size_t len = 0, l2;

    if (p->lang == TG_PLAN_LOGQL) {
        for (size_t i = 0; i < p->nsel; i++)
            if (p->sel[i].op == TG_LM_EQ && strcmp(p->sel[i].name, "service_name") == 0 &&
                strlen(p->sel[i].value) < cap) {
                snprintf(out, cap, "%s", p->sel[i].value);
                return 1;
            }
        return 0;
    }
    if (!p->nsite_filters)
        return 0;
    for (size_t i = 0; i < p->nsite_filters; i++) {
        if (!(s = expr_service(p->filters[i].expr, &l2)))
            return 0;
        if (svc && (l2 != len || memcmp(s, svc, len) != 0))
            return 0;
        svc = s;
        len = l2;
    }
    if (len >= cap || memchr(svc, '\0', len))
        return 0;
    memcpy(out, svc, len);
    out[len] = '\0';
    return 1;
}
