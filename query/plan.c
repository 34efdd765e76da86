/* The plan's life cycle (allocation, regexes, freeing) and its printed
 * forms: canonical query text, the site part as text, and an explain JSON. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "tg_plan.h"

struct tg_regex {
    pcre2_code *code;
    pcre2_match_data *md; /* scratch: one evaluating thread per plan */
    tg_regex *next;
};

tg_plan *tg_plan_new(enum tg_plan_lang lang)
{
    tg_plan *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->lang = lang;
    /* Bounded so that a hostile query cannot take unbounded memory. */
    tg_arena_init(&p->arena, 4096, 16u << 20);
    return p;
}

void *tg_plan_alloc(tg_plan *p, size_t n)
{
    return tg_arena_calloc(&p->arena, n ? n : 1);
}

void tg_plan_free(tg_plan *p)
{
    tg_regex *re, *next;

    if (!p)
        return;
    for (re = p->regexes; re; re = next) {
        next = re->next;
        pcre2_match_data_free(re->md);
        pcre2_code_free(re->code);
        free(re);
    }
    tg_arena_destroy(&p->arena);
    free(p);
}

tg_regex *tg_plan_regex(tg_plan *p, const char *pat, size_t len, int anchored, char *why,
                        size_t whylen)
{
    uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    int ec;
    PCRE2_SIZE eo;
    tg_regex *re;

    if (anchored)
        opts |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
    re = calloc(1, sizeof(*re));
    if (!re) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    re->code = pcre2_compile((PCRE2_SPTR)pat, len, opts, &ec, &eo, NULL);
    if (!re->code) {
        PCRE2_UCHAR msg[160];

        pcre2_get_error_message(ec, msg, sizeof(msg));
        snprintf(why, whylen, "%s", (const char *)msg);
        free(re);
        return NULL;
    }
    /* JIT is an optimisation: without it (no JIT on this CPU) matching still
     * works through the interpreter. */
    (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
    re->md = pcre2_match_data_create(1, NULL);
    if (!re->md) {
        pcre2_code_free(re->code);
        free(re);
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    re->next = p->regexes;
    p->regexes = re;
    return re;
}

int tg_plan_regex_match(tg_regex *re, const char *s, size_t len)
{
    int rc =
        pcre2_match(re->code, (PCRE2_SPTR)(s ? s : ""), s ? len : 0, 0, 0, re->md, NULL);

    if (rc >= 0)
        return 1;
    return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

/* --- names ------------------------------------------------------------------ */

const char *tg_plan_cmp_name(enum tg_cmp c)
{
    static const char *const n[] = {"=", "!=", ">", ">=", "<", "<=", "=~", "!~"};

    return (unsigned)c < sizeof(n) / sizeof(n[0]) ? n[c] : "?";
}

const char *tg_plan_intrinsic_name(enum tg_intrinsic i)
{
    switch (i) {
    case TG_IN_NAME:
        return "name";
    case TG_IN_STATUS:
        return "status";
    case TG_IN_KIND:
        return "kind";
    case TG_IN_DURATION:
        return "duration";
    case TG_IN_STATUS_MESSAGE:
        return "statusMessage";
    case TG_IN_SPAN_ID:
        return "span:id";
    case TG_IN_TRACE_ID:
        return "trace:id";
    case TG_IN_SITE:
        return "site";
    case TG_IN_TRACE_DURATION:
        return "trace:duration";
    case TG_IN_TRACE_ROOT_NAME:
        return "trace:rootName";
    case TG_IN_TRACE_ROOT_SERVICE:
        return "trace:rootService";
    case TG_IN_NONE:
        break;
    }
    return "?";
}

const char *tg_plan_agg_name(enum tg_agg a)
{
    static const char *const n[] = {"count", "avg", "min", "max", "sum"};

    return (unsigned)a < sizeof(n) / sizeof(n[0]) ? n[a] : "?";
}

const char *tg_plan_status_name(int64_t s)
{
    return s == 1 ? "ok" : s == 2 ? "error" : "unset";
}

const char *tg_plan_kind_name(int64_t k)
{
    static const char *const n[] = {"unspecified", "internal", "server",
                                    "client",      "producer", "consumer"};

    return k >= 0 && k < 6 ? n[k] : "unspecified";
}

/* --- durations ---------------------------------------------------------------- */

static const struct {
    const char *name;
    int64_t ns;
} units[] = {
    {"h", 3600000000000LL}, {"m", 60000000000LL},  {"s", 1000000000LL}, {"ms", 1000000LL},
    {"us", 1000LL},         {"\xc2\xb5s", 1000LL}, {"ns", 1LL}};

int tg_plan_parse_duration(const char *s, size_t len, int64_t *ns)
{
    size_t i = 0;
    int64_t total = 0;

    if (len == 0)
        return TG_EINVAL;
    while (i < len) {
        uint64_t ip = 0, frac = 0, scale = 1;
        size_t d0 = i, u, best = 0, blen = 0;
        int64_t part;

        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (ip > (UINT64_MAX - 9) / 10)
                return TG_EINVAL;
            ip = ip * 10 + (uint64_t)(s[i++] - '0');
        }
        if (i < len && s[i] == '.') {
            i++;
            while (i < len && s[i] >= '0' && s[i] <= '9') {
                if (scale < 1000000000ULL) { /* beyond ns precision: ignored */
                    frac = frac * 10 + (uint64_t)(s[i] - '0');
                    scale *= 10;
                }
                i++;
            }
        }
        if (i == d0 || (i == d0 + 1 && s[d0] == '.'))
            return TG_EINVAL;
        for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
            size_t ul = strlen(units[u].name);

            /* longest unit that matches: "ms" before "m" */
            if (ul <= len - i && memcmp(s + i, units[u].name, ul) == 0 && ul > blen) {
                best = u;
                blen = ul;
            }
        }
        if (!blen)
            return TG_EINVAL;
        i += blen;
        if (ip > (uint64_t)INT64_MAX / (uint64_t)units[best].ns)
            return TG_EINVAL;
        part = (int64_t)ip * units[best].ns;
        part += (int64_t)((double)frac * (double)units[best].ns / (double)scale);
        if (part < 0 || total > INT64_MAX - part)
            return TG_EINVAL;
        total += part;
    }
    *ns = total;
    return 0;
}

void tg_plan_print_duration(tg_strbuf *b, int64_t ns)
{
    size_t u;

    if (ns == 0) {
        tg_strbuf_put(b, "0s", 2);
        return;
    }
    for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
        if (units[u].name[0] != '\xc2' && ns % units[u].ns == 0) {
            tg_strbuf_printf(b, "%lld%s", (long long)(ns / units[u].ns), units[u].name);
            return;
        }
}

/* --- canonical text ----------------------------------------------------------- */

static void put_str(tg_strbuf *b, const char *s, size_t len)
{
    size_t i;

    tg_strbuf_putc(b, '"');
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        switch (c) {
        case '"':
            tg_strbuf_put(b, "\\\"", 2);
            break;
        case '\\':
            tg_strbuf_put(b, "\\\\", 2);
            break;
        case '\n':
            tg_strbuf_put(b, "\\n", 2);
            break;
        case '\t':
            tg_strbuf_put(b, "\\t", 2);
            break;
        case '\r':
            tg_strbuf_put(b, "\\r", 2);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                tg_strbuf_printf(b, "\\u%04x", c);
            else
                tg_strbuf_putc(b, (char)c);
        }
    }
    tg_strbuf_putc(b, '"');
}

static void put_double(tg_strbuf *b, double f)
{
    char tmp[40];

    snprintf(tmp, sizeof(tmp), "%.17g", f);
    tg_strbuf_put(b, tmp, strlen(tmp));
    if (!strpbrk(tmp, ".eEn")) /* keep it a float when read back */
        tg_strbuf_put(b, ".0", 2);
}

static void put_value(tg_strbuf *b, const tg_pval *v)
{
    switch (v->type) {
    case TG_PV_NIL:
        tg_strbuf_put(b, "nil", 3);
        break;
    case TG_PV_STR:
        put_str(b, v->s, v->len);
        break;
    case TG_PV_INT:
        tg_strbuf_printf(b, "%lld", (long long)v->i);
        break;
    case TG_PV_FLOAT:
        put_double(b, v->f);
        break;
    case TG_PV_BOOL:
        tg_strbuf_printf(b, "%s", v->i ? "true" : "false");
        break;
    case TG_PV_DUR:
        tg_plan_print_duration(b, v->i);
        break;
    case TG_PV_STATUS:
        tg_strbuf_printf(b, "%s", tg_plan_status_name(v->i));
        break;
    case TG_PV_KIND:
        tg_strbuf_printf(b, "%s", tg_plan_kind_name(v->i));
        break;
    case TG_PV_ARRAY: /* never in a plan */
        tg_strbuf_put(b, "nil", 3);
        break;
    }
}

static int plain_key(const char *k)
{
    const unsigned char *s = (const unsigned char *)k;

    /* ".5" would read back as a number */
    if (!*s || *s == '.' || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-' ||
              *s == '/' || *s == '@' || *s >= 0x80))
            return 0;
    return 1;
}

static void put_operand(tg_strbuf *b, const tg_operand *o)
{
    switch (o->kind) {
    case TG_OPD_LITERAL:
        put_value(b, &o->lit);
        break;
    case TG_OPD_INTRINSIC:
        tg_strbuf_printf(b, "%s", tg_plan_intrinsic_name(o->intr));
        break;
    case TG_OPD_ATTR:
        tg_strbuf_printf(b, "%s",
                         o->scope == TG_SCOPE_SPAN       ? "span."
                         : o->scope == TG_SCOPE_RESOURCE ? "resource."
                                                         : ".");
        if (plain_key(o->key))
            tg_strbuf_printf(b, "%s", o->key);
        else
            put_str(b, o->key, strlen(o->key));
        break;
    }
}

/* Parentheses are printed only where precedence needs them (&& over ||,
 * left to right), so the printed text never nests deeper than the query it
 * came from and always parses back within the nesting limit. */
static int fx_prec(const tg_fexpr *e)
{
    return e->op == TG_FX_OR ? 1 : e->op == TG_FX_AND ? 2 : 3;
}

static void put_fexpr(tg_strbuf *b, const tg_fexpr *e)
{
    switch (e->op) {
    case TG_FX_TRUE:
        break;
    case TG_FX_AND:
    case TG_FX_OR: {
        int pl = fx_prec(e->l) < fx_prec(e), pr = fx_prec(e->r) <= fx_prec(e);

        if (pl)
            tg_strbuf_putc(b, '(');
        put_fexpr(b, e->l);
        if (pl)
            tg_strbuf_putc(b, ')');
        tg_strbuf_printf(b, " %s ", e->op == TG_FX_AND ? "&&" : "||");
        if (pr)
            tg_strbuf_putc(b, '(');
        put_fexpr(b, e->r);
        if (pr)
            tg_strbuf_putc(b, ')');
        break;
    }
    case TG_FX_NOT:
        /* `!a = 1` reads as !(a = 1): only && and || need parentheses */
        tg_strbuf_putc(b, '!');
        if (fx_prec(e->l) < 3)
            tg_strbuf_putc(b, '(');
        put_fexpr(b, e->l);
        if (fx_prec(e->l) < 3)
            tg_strbuf_putc(b, ')');
        break;
    case TG_FX_CMP:
        put_operand(b, &e->a);
        tg_strbuf_printf(b, " %s ", tg_plan_cmp_name(e->cmp));
        put_operand(b, &e->b);
        break;
    case TG_FX_OPERAND:
        put_operand(b, &e->a);
        break;
    }
}

static void put_filter(tg_strbuf *b, const tg_filter *f)
{
    if (f->expr->op == TG_FX_TRUE) {
        tg_strbuf_put(b, "{ }", 3);
        return;
    }
    tg_strbuf_put(b, "{ ", 2);
    put_fexpr(b, f->expr);
    tg_strbuf_put(b, " }", 2);
}

static const char *sset_op_text(enum tg_sset_op op)
{
    static const char *const n[] = {"", "&&", "||", ">", ">>", "<", "<<", "~"};

    return n[op];
}

static int ss_prec(const tg_sset *s)
{
    return s->op == TG_SS_FILTER ? 3 : (s->op == TG_SS_AND || s->op == TG_SS_OR) ? 1 : 2;
}

static void put_sset(tg_strbuf *b, const tg_plan *p, const tg_sset *s)
{
    int pl, pr;

    if (s->op == TG_SS_FILTER) {
        put_filter(b, &p->filters[s->filter]);
        return;
    }
    pl = ss_prec(s->l) < ss_prec(s);
    pr = ss_prec(s->r) <= ss_prec(s);
    if (pl)
        tg_strbuf_putc(b, '(');
    put_sset(b, p, s->l);
    if (pl)
        tg_strbuf_putc(b, ')');
    tg_strbuf_printf(b, " %s ", sset_op_text(s->op));
    if (pr)
        tg_strbuf_putc(b, '(');
    put_sset(b, p, s->r);
    if (pr)
        tg_strbuf_putc(b, ')');
}

static void put_stage(tg_strbuf *b, const tg_plan *p, const tg_stage *st)
{
    size_t i;

    switch (st->kind) {
    case TG_ST_AGG:
        tg_strbuf_printf(b, "%s(", tg_plan_agg_name(st->agg));
        if (st->agg != TG_AGG_COUNT)
            put_operand(b, &st->arg);
        tg_strbuf_printf(b, ") %s ", tg_plan_cmp_name(st->cmp));
        put_value(b, &st->lit);
        break;
    case TG_ST_SELECT:
        tg_strbuf_put(b, "select(", 7);
        for (i = 0; i < st->nfields; i++) {
            if (i)
                tg_strbuf_put(b, ", ", 2);
            put_operand(b, &st->fields[i]);
        }
        tg_strbuf_putc(b, ')');
        break;
    case TG_ST_BY:
        tg_strbuf_put(b, "by(", 3);
        put_operand(b, &st->arg);
        tg_strbuf_putc(b, ')');
        break;
    case TG_ST_FILTER:
        put_filter(b, &p->filters[st->filter]);
        break;
    }
}

static void put_lmatch(tg_strbuf *b, enum tg_lmatch op)
{
    static const char *const n[] = {"=", "!=", "=~", "!~"};

    tg_strbuf_printf(b, "%s", n[op]);
}

static void put_selector(tg_strbuf *b, const tg_plan *p)
{
    size_t i;

    tg_strbuf_putc(b, '{');
    for (i = 0; i < p->nsel; i++) {
        if (i)
            tg_strbuf_put(b, ", ", 2);
        tg_strbuf_printf(b, "%s", p->sel[i].name);
        put_lmatch(b, p->sel[i].op);
        put_str(b, p->sel[i].value, strlen(p->sel[i].value));
    }
    tg_strbuf_putc(b, '}');
}

static int lx_prec(const tg_lexpr *e)
{
    return e->op == TG_LX_OR ? 1 : e->op == TG_LX_AND ? 2 : 3;
}

static void put_lexpr(tg_strbuf *b, const tg_lexpr *e)
{
    static const char *const lcmp[] = {"=", "!=", ">", ">=", "<", "<=", "=~", "!~"};

    if (e->op == TG_LX_CMP) {
        tg_strbuf_printf(b, "%s", e->name);
        if (e->value.type == TG_PV_STR) {
            tg_strbuf_printf(b, "%s", lcmp[e->cmp]);
            put_str(b, e->value.s, e->value.len);
        } else {
            tg_strbuf_printf(b, " %s ", e->cmp == TG_CMP_EQ ? "==" : lcmp[e->cmp]);
            put_value(b, &e->value);
        }
        return;
    }
    {
        int pl = lx_prec(e->l) < lx_prec(e), pr = lx_prec(e->r) <= lx_prec(e);

        if (pl)
            tg_strbuf_putc(b, '(');
        put_lexpr(b, e->l);
        if (pl)
            tg_strbuf_putc(b, ')');
        tg_strbuf_printf(b, " %s ", e->op == TG_LX_AND ? "and" : "or");
        if (pr)
            tg_strbuf_putc(b, '(');
        put_lexpr(b, e->r);
        if (pr)
            tg_strbuf_putc(b, ')');
    }
}

static void put_log_query(tg_strbuf *b, const tg_plan *p)
{
    static const char *const lf[] = {"|=", "!=", "", "", "", "", "|~", "!~"};
    size_t i;

    put_selector(b, p);
    for (i = 0; i < p->npipe; i++) {
        const tg_lstage *s = &p->pipe[i];

        switch (s->kind) {
        case TG_LS_LINE:
            tg_strbuf_printf(b, " %s ", lf[s->cmp]);
            put_str(b, s->text, s->text_len);
            break;
        case TG_LS_JSON:
            tg_strbuf_put(b, " | json", 7);
            break;
        case TG_LS_LOGFMT:
            tg_strbuf_put(b, " | logfmt", 9);
            break;
        case TG_LS_LABEL:
            tg_strbuf_put(b, " | ", 3);
            put_lexpr(b, s->expr);
            break;
        case TG_LS_DROP: {
            size_t k;

            tg_strbuf_put(b, " | drop ", 8);
            for (k = 0; k < s->nnames; k++)
                tg_strbuf_printf(b, "%s%s", k ? ", " : "", s->names[k]);
            break;
        }
        }
    }
}

static const char *range_fn_name(enum tg_range_fn fn)
{
    static const char *const n[] = {"count_over_time", "rate", "bytes_over_time",
                                    "bytes_rate"};

    return n[fn];
}

static int mx_prec(const tg_mexpr *m)
{
    if (m->op != TG_MX_BINOP)
        return 3;
    return m->binop == '+' || m->binop == '-' ? 1 : 2;
}

static void put_mexpr(tg_strbuf *b, const tg_plan *p, const tg_mexpr *m)
{
    size_t i;

    switch (m->op) {
    case TG_MX_NUMBER:
        tg_strbuf_printf(b, "%.17g", m->number);
        break;
    case TG_MX_VECTOR:
        tg_strbuf_printf(b, "vector(%.17g)", m->number);
        break;
    case TG_MX_RANGE:
        tg_strbuf_printf(b, "%s(", range_fn_name(m->fn));
        put_log_query(b, p);
        tg_strbuf_put(b, " [", 2);
        tg_plan_print_duration(b, m->range_ns);
        tg_strbuf_put(b, "])", 2);
        break;
    case TG_MX_AGG:
        tg_strbuf_printf(b, "%s", tg_plan_agg_name(m->agg));
        if (m->nlabels || m->without) {
            tg_strbuf_printf(b, " %s (", m->without ? "without" : "by");
            for (i = 0; i < m->nlabels; i++)
                tg_strbuf_printf(b, "%s%s", i ? ", " : "", m->labels[i]);
            tg_strbuf_put(b, ") ", 2);
        }
        tg_strbuf_putc(b, '(');
        put_mexpr(b, p, m->l);
        tg_strbuf_putc(b, ')');
        break;
    case TG_MX_BINOP: {
        int pl = mx_prec(m->l) < mx_prec(m), pr = mx_prec(m->r) <= mx_prec(m);

        if (pl)
            tg_strbuf_putc(b, '(');
        put_mexpr(b, p, m->l);
        if (pl)
            tg_strbuf_putc(b, ')');
        tg_strbuf_printf(b, " %c ", m->binop);
        if (pr)
            tg_strbuf_putc(b, '(');
        put_mexpr(b, p, m->r);
        if (pr)
            tg_strbuf_putc(b, ')');
        break;
    }
    }
}

void tg_plan_print(const tg_plan *p, tg_strbuf *b)
{
    size_t i;

    if (p->lang == TG_PLAN_LOGQL) {
        if (p->metric)
            put_mexpr(b, p, p->metric);
        else
            put_log_query(b, p);
        return;
    }
    put_sset(b, p, p->root);
    for (i = 0; i < p->nstages; i++) {
        tg_strbuf_put(b, " | ", 3);
        put_stage(b, p, &p->stages[i]);
    }
    if (p->most_recent)
        tg_strbuf_put(b, " with(most_recent=true)", 23);
}

void tg_plan_print_site(const tg_plan *p, tg_strbuf *b)
{
    size_t i;

    if (p->lang == TG_PLAN_LOGQL) {
        if (p->has_selector)
            put_log_query(b, p);
        return;
    }
    for (i = 0; i < p->nsite_filters; i++) {
        if (i)
            tg_strbuf_put(b, " || ", 4);
        put_filter(b, &p->filters[i]);
    }
}

/* --- explain ------------------------------------------------------------------ */

static void put_json_text(tg_strbuf *b, const char *s, size_t len)
{
    put_str(b, s, len); /* our escapes are a subset of JSON's */
}

static void explain_filter(tg_strbuf *b, const tg_filter *f)
{
    tg_strbuf tmp = {0};

    put_filter(&tmp, f);
    tg_strbuf_put(b, "{\"filter\":", 10);
    put_json_text(b, tmp.p ? tmp.p : "", tmp.len);
    tg_strbuf_printf(b, ",\"needs_trace\":%s}", f->needs_trace ? "true" : "false");
    if (tmp.oom)
        b->oom = 1;
    free(tmp.p);
}

void tg_plan_explain(const tg_plan *p, tg_strbuf *b)
{
    tg_strbuf tmp = {0};
    size_t i;

    if (p->lang == TG_PLAN_LOGQL) {
        tg_strbuf_put(b, "{\"lang\":\"logql\",\"site\":", 23);
        if (p->has_selector) {
            put_log_query(&tmp, p);
            put_json_text(b, tmp.p ? tmp.p : "", tmp.len);
        } else {
            tg_strbuf_put(b, "null", 4);
        }
        tg_strbuf_put(b, ",\"centre\":", 10);
        free(tmp.p);
        tmp = (tg_strbuf){0};
        if (p->metric) {
            put_mexpr(&tmp, p, p->metric);
            put_json_text(b, tmp.p ? tmp.p : "", tmp.len);
        } else {
            tg_strbuf_put(b, "null", 4);
        }
        tg_strbuf_putc(b, '}');
        goto out;
    }
    tg_strbuf_put(b, "{\"lang\":\"traceql\",\"site\":[", 26);
    for (i = 0; i < p->nsite_filters; i++) {
        if (i)
            tg_strbuf_putc(b, ',');
        explain_filter(b, &p->filters[i]);
    }
    tg_strbuf_put(b, "],\"centre\":{\"spansets\":", 23);
    put_sset(&tmp, p, p->root);
    put_json_text(b, tmp.p ? tmp.p : "", tmp.len);
    tg_strbuf_put(b, ",\"pipeline\":[", 13);
    for (i = 0; i < p->nstages; i++) {
        free(tmp.p);
        tmp = (tg_strbuf){0};
        put_stage(&tmp, p, &p->stages[i]);
        if (i)
            tg_strbuf_putc(b, ',');
        put_json_text(b, tmp.p ? tmp.p : "", tmp.len);
    }
    tg_strbuf_printf(b, "],\"most_recent\":%s}}", p->most_recent ? "true" : "false");
out:
    if (tmp.oom)
        b->oom = 1;
    free(tmp.p);
}
